/* Workflows as data (definition.h): the JSON of a definition checked field by field and
 * turned into an orch_workflow_def_t whose every string, step, form and parameter lives in
 * the definition's arena, then the start-up checks of lint.c run on it. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/hash.h"
#include "domain/engine/authoring.h"
#include "domain/engine/definition.h"
#include "domain/engine/lint.h"
#include "domain/forms/forms.h"
#include "domain/subscription/subscription.h"

#define DEF_MAX_STEPS 200
#define DEF_MAX_FIELDS 100
#define DEF_MAX_DEPTH 4 /* nesting of form objects and lists */

struct orch_definition {
    orch_arena_t *arena; /* everything below, and what wf points into */
    orch_workflow_def_t wf;
    char *text; /* canonical JSON (arena) */
    char digest[17];
    const char **products; /* arena; nproducts */
    size_t nproducts;
    json_t *owned; /* JSON values the built-in steps keep (an array) */
    /* Product records changed by orch_definition_offer (arena): what they point to. */
};

/* The parameters of a built-in step, found from the step's definition (ctx->def) in the
 * process-wide table below: a step function gets no argument of its own. */
typedef struct builtin builtin_t;
typedef orch_step_result_t (*bi_fn)(const builtin_t *b, orch_step_ctx_t *ctx, json_t *state);
struct builtin {
    bi_fn run;                 /* what the step does */
    const char *description;   /* create_subscription */
    const char *const *fields; /* create_subscription, set_fields: "path=key", NULL-ended */
    orch_sub_status_t status;  /* set_status */
    json_t *values;            /* set: owned by the definition (freed with it) */
    const char *when_field;    /* "when": a state key, dotted for nested objects */
    json_t *when_equals;       /* NULL = truthy */
};

/* What one compile collects: problems under the prefix, the arena it allocates from. */
typedef struct cc {
    orch_lifecycle_t lifecycle; /* the standard steps wrapped around the list */
    orch_arena_t *a;
    orch_definition_t *d;
    orch_error_t *err;
    const char *prefix;
    size_t nproblems;
    json_t *owned; /* JSON values built-ins keep (an array; freed with the definition) */
} cc_t;

static void problem(cc_t *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(cc_t *c, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    orch_error_vadd_violation(c->err, path, fmt, ap);
    va_end(ap);
    c->nproblems++;
}

/* A string member: NULL when absent; a problem when present but not a string or too long. */
static const char *str_member(cc_t *c, const json_t *o, const char *name, const char *path,
                              size_t max)
{
    json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v) || strlen(json_string_value(v)) > max) {
        problem(c, orch_arena_printf(c->a, "%s.%s", path, name),
                "must be a string of at most %zu characters", max);
        return NULL;
    }
    return orch_arena_strdup(c->a, json_string_value(v));
}

static int int_member(cc_t *c, const json_t *o, const char *name, const char *path, long long min,
                      long long max)
{
    json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        problem(c, orch_arena_printf(c->a, "%s.%s", path, name),
                "must be an integer from %lld to %lld", min, max);
        return 0;
    }
    return (int)json_integer_value(v);
}

/* ---- forms from JSON Schema ------------------------------------------------------------------ */

static orch_form_field_t *schema_fields(cc_t *c, const json_t *schema, const char *path, int depth);

/* The JSON Schema bounds lo_key and hi_key of p that are integers (minLength / maxLength of a
 * string, minimum / maximum of an integer, minItems / maxItems of an array) as f's min and
 * max: the three kinds of field with limits read them alike, under their own names. */
static void schema_bounds(orch_form_field_t *f, const json_t *p, const char *lo_key,
                          const char *hi_key)
{
    const json_t *lo = json_object_get(p, lo_key), *hi = json_object_get(p, hi_key);
    if (json_is_integer(lo))
        f->has_min = true, f->min = json_integer_value(lo);
    if (json_is_integer(hi))
        f->has_max = true, f->max = json_integer_value(hi);
}

/* One property of an object schema as a form field. */
static void schema_field(cc_t *c, orch_form_field_t *f, const char *name, const json_t *p,
                         bool required, const char *path, int depth)
{
    const char *type = json_string_value(json_object_get(p, "type"));
    json_t *en = json_object_get(p, "enum"), *dflt = json_object_get(p, "default");

    f->name = orch_arena_strdup(c->a, name);
    f->title = str_member(c, p, "title", path, 255);
    f->description = str_member(c, p, "description", path, 2000);
    f->required = required;
    f->read_only = json_is_true(json_object_get(p, "readOnly"));
    f->secret = json_is_true(json_object_get(p, "writeOnly")) ||
                json_is_true(json_object_get(p, "x-secret"));
    f->widget = str_member(c, p, "x-orch-widget", path, 64);
    if (dflt) {
        char *t = json_dumps(dflt, JSON_COMPACT | JSON_ENCODE_ANY);
        f->default_json = orch_arena_strdup(c->a, t);
        free(t);
    }
    if (!orch_key_valid(name))
        problem(c, path, "a field name is 1-100 of [a-z0-9_]");
    if (json_is_array(en)) {
        const char **ch = orch_arena_alloc(c->a, (json_array_size(en) + 1) * sizeof(*ch));
        size_t i, n = 0;
        json_t *v;
        json_array_foreach(en, i, v)
        {
            if (json_is_string(v))
                ch[n++] = orch_arena_strdup(c->a, json_string_value(v));
            else
                problem(c, orch_arena_printf(c->a, "%s.enum[%zu]", path, i), "choices are strings");
        }
        f->type = ORCH_FORM_CHOICE;
        f->choices = ch;
        return;
    }
    if (!type) {
        problem(c, orch_arena_printf(c->a, "%s.type", path),
                "a field needs a type: string, integer, boolean, object or array");
        return;
    }
    if (strcmp(type, "string") == 0) {
        const char *fmt = json_string_value(json_object_get(p, "format"));
        f->type = fmt && strcmp(fmt, "uuid") == 0 ? ORCH_FORM_UUID : ORCH_FORM_STRING;
        f->pattern = str_member(c, p, "pattern", path, 1000);
        schema_bounds(f, p, "minLength", "maxLength");
    } else if (strcmp(type, "integer") == 0) {
        f->type = ORCH_FORM_INTEGER;
        schema_bounds(f, p, "minimum", "maximum");
    } else if (strcmp(type, "boolean") == 0) {
        f->type = ORCH_FORM_BOOLEAN;
    } else if (strcmp(type, "object") == 0) {
        f->type = ORCH_FORM_OBJECT;
        if (depth >= DEF_MAX_DEPTH)
            problem(c, path, "forms nest at most %d deep", DEF_MAX_DEPTH);
        else
            f->fields = schema_fields(c, p, path, depth + 1);
    } else if (strcmp(type, "array") == 0) {
        json_t *items = json_object_get(p, "items");
        json_t *ien = json_object_get(items, "enum");
        schema_bounds(f, p, "minItems", "maxItems");
        if (json_is_array(ien)) {
            orch_form_field_t tmp = {0};
            schema_field(c, &tmp, name, items, false, orch_arena_printf(c->a, "%s.items", path),
                         depth + 1);
            f->type = ORCH_FORM_MULTI_CHOICE;
            f->choices = tmp.choices;
        } else if (json_is_object(items) && depth < DEF_MAX_DEPTH) {
            orch_form_field_t *item = orch_arena_alloc(c->a, 2 * sizeof(*item));
            schema_field(c, item, "item", items, false, orch_arena_printf(c->a, "%s.items", path),
                         depth + 1);
            f->type = ORCH_FORM_LIST;
            f->fields = item;
        } else {
            problem(c, orch_arena_printf(c->a, "%s.items", path),
                    "an array field needs items: an enum (several choices) or a schema");
        }
    } else {
        problem(c, orch_arena_printf(c->a, "%s.type", path),
                "type '%s' is not one of string, integer, boolean, object, array", type);
    }
}

static orch_form_field_t *schema_fields(cc_t *c, const json_t *schema, const char *path, int depth)
{
    json_t *props = json_object_get(schema, "properties"),
           *req = json_object_get(schema, "required");
    orch_form_field_t *fields;
    const char *name;
    json_t *p;
    size_t n = 0;

    if (!json_is_object(props) || json_object_size(props) == 0 ||
        json_object_size(props) > DEF_MAX_FIELDS) {
        problem(c, orch_arena_printf(c->a, "%s.properties", path),
                "a form is an object schema with 1-%d properties", DEF_MAX_FIELDS);
        return NULL;
    }
    fields = orch_arena_alloc(c->a, (json_object_size(props) + 1) * sizeof(*fields));
    json_object_foreach(props, name, p)
    {
        bool required = false;
        size_t i;
        json_t *r;
        json_array_foreach(req, i, r) required |=
            json_is_string(r) && strcmp(json_string_value(r), name) == 0;
        if (!json_is_object(p)) {
            problem(c, orch_arena_printf(c->a, "%s.properties.%s", path, name),
                    "a property is a schema object");
            continue;
        }
        schema_field(c, &fields[n++], name, p, required,
                     orch_arena_printf(c->a, "%s.properties.%s", path, name), depth);
    }
    return fields;
}

/* A one-page form from an object schema (its title is the page's). */
static const orch_form_t *schema_form(cc_t *c, const json_t *schema, const char *path)
{
    orch_form_page_t *pages;
    orch_form_t *form;
    if (!json_is_object(schema)) {
        problem(c, path, "a form is a JSON Schema object");
        return NULL;
    }
    pages = orch_arena_alloc(c->a, 2 * sizeof(*pages));
    pages[0].title = str_member(c, schema, "title", path, 255);
    if (!pages[0].title)
        pages[0].title = "Input";
    pages[0].fields = schema_fields(c, schema, path, 0);
    if (!pages[0].fields)
        return NULL;
    form = orch_arena_alloc(c->a, sizeof(*form));
    form->pages = pages;
    return form;
}

/* ---- built-in steps -------------------------------------------------------------------------- */

/* Every compiled definition's built-in steps: step definition -> parameters. Entries come
 * with orch_definition_compile and go with orch_definition_free. A step is known by its key
 * string's address, which is its own (the arena's): the registry runs a copy of the step
 * definition when it wraps the standard steps around the list, but the copy points to the
 * same key. */
typedef struct bi_entry {
    const orch_step_def_t *def;
    const builtin_t *b;
    const orch_definition_t *owner;
} bi_entry_t;
static struct {
    pthread_mutex_t mu;
    bi_entry_t *v;
    size_t n;
} g_bi = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};

static void bi_register(const orch_step_def_t *def, const builtin_t *b,
                        const orch_definition_t *owner)
{
    pthread_mutex_lock(&g_bi.mu);
    g_bi.v = orch_realloc(g_bi.v, (g_bi.n + 1) * sizeof(*g_bi.v));
    g_bi.v[g_bi.n++] = (bi_entry_t){def, b, owner};
    pthread_mutex_unlock(&g_bi.mu);
}

static void bi_forget(const orch_definition_t *owner)
{
    pthread_mutex_lock(&g_bi.mu);
    for (size_t i = 0; i < g_bi.n;)
        if (g_bi.v[i].owner == owner)
            g_bi.v[i] = g_bi.v[--g_bi.n];
        else
            i++;
    if (!g_bi.n) {
        free(g_bi.v);
        g_bi.v = NULL;
    }
    pthread_mutex_unlock(&g_bi.mu);
}

static bool bi_when(const builtin_t *b, const json_t *state);

/* The parameters of a compiled step (a built-in's, or a conditional step's condition);
 * NULL when it has none. */
static const builtin_t *bi_find(const orch_step_def_t *def)
{
    const builtin_t *b = NULL;
    pthread_mutex_lock(&g_bi.mu);
    for (size_t i = 0; i < g_bi.n && !b; i++)
        if (def && g_bi.v[i].def->key == def->key)
            b = g_bi.v[i].b;
    pthread_mutex_unlock(&g_bi.mu);
    return b;
}

/* orch_step_def_t.when of a step with a "when": the engine asks it before the step runs
 * (and before a task step's task is written), whatever the step's kind. */
static bool def_when(const orch_step_def_t *def, const json_t *state)
{
    const builtin_t *b = bi_find(def);
    return !b || !b->when_field || bi_when(b, state);
}

/* The step function of every built-in step: its parameters, its condition, then its work. */
static orch_step_result_t bi_run(orch_step_ctx_t *ctx, json_t *state)
{
    const builtin_t *b = bi_find(ctx->def);
    if (!b)
        return orch_step_fail("STEP_UNKNOWN", NULL, "step %s has no built-in action here",
                              ctx->step_key);
    if (b->when_field && !bi_when(b, state)) {
        orch_step_log(ORCH_LOG_INFO, ctx, "skipped: state.%s does not hold", b->when_field);
        return orch_step_skip();
    }
    return b->run(b, ctx, state);
}

static orch_step_result_t bi_set(const builtin_t *b, orch_step_ctx_t *ctx, json_t *state)
{
    (void)ctx;
    (void)state;
    return orch_step_ok(b->values ? json_deep_copy(b->values) : NULL);
}

static orch_step_result_t bi_create_subscription(const builtin_t *b, orch_step_ctx_t *ctx,
                                                 json_t *state)
{
    static const char *const none[] = {NULL};
    return orch_step_create_subscription(ctx, state, b->description, b->fields ? b->fields : none);
}

static orch_step_result_t bi_set_fields(const builtin_t *b, orch_step_ctx_t *ctx, json_t *state)
{
    static const char *const none[] = {NULL};
    return orch_step_save_fields(ctx, state, b->fields ? b->fields : none);
}

static orch_step_result_t bi_unsync(const builtin_t *b, orch_step_ctx_t *ctx, json_t *state)
{
    (void)b;
    return orch_lc_unsync(ctx, state);
}

static orch_step_result_t bi_resync(const builtin_t *b, orch_step_ctx_t *ctx, json_t *state)
{
    (void)b;
    return orch_lc_resync(ctx, state);
}

static orch_step_result_t bi_set_status(const builtin_t *b, orch_step_ctx_t *ctx, json_t *state)
{
    orch_step_result_t failed = {0};
    orch_subscription_t *sub = orch_step_sub_open(ctx, state, &failed);
    orch_error_t err;
    if (!sub)
        return failed;
    orch_error_init(&err);
    if (orch_sub_set_status(sub, b->status, &err)) {
        orch_subscription_free(sub);
        return orch_step_fail_error(&err);
    }
    return orch_step_sub_save(
        ctx, sub, json_pack("{s:s}", "subscription_status", orch_sub_status_name(b->status)));
}

/* A state value by dotted path, or NULL. */
static const json_t *state_path(const json_t *state, const char *path)
{
    char buf[256];
    const json_t *v = state;
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *save = NULL, *t = strtok_r(buf, ".", &save); t && v; t = strtok_r(NULL, ".", &save))
        v = json_object_get(v, t);
    return v;
}

static bool bi_when(const builtin_t *b, const json_t *state)
{
    const json_t *v = state_path(state, b->when_field);
    if (b->when_equals)
        return v && json_equal((json_t *)v, b->when_equals);
    if (!v || json_is_null(v) || json_is_false(v))
        return false;
    if (json_is_string(v))
        return *json_string_value(v) != '\0';
    if (json_is_number(v))
        return json_number_value(v) != 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    return true;
}

/* ---- steps ----------------------------------------------------------------------------------- */

typedef struct io_acc {
    orch_step_io_t *v; /* arena */
    size_t n, cap;
    bool declared; /* a step declared reads or writes itself */
} io_acc_t;

static void io_add(cc_t *c, io_acc_t *io, const char *key, const char *const *reads,
                   const char *const *writes)
{
    /* one more, and room for the {0} that ends the list */
    io->v = orch_arena_grow(c->a, io->v, io->n, &io->cap, io->n + 2, sizeof(*io->v), 16);
    io->v[io->n++] = (orch_step_io_t){key, reads, writes};
}

/* A JSON array of strings as a NULL-terminated list; NULL (with a problem) when it is not. */
static const char *const *str_list(cc_t *c, const json_t *arr, const char *path)
{
    const char **out;
    size_t i, n = 0;
    json_t *v;
    if (!json_is_array(arr) || json_array_size(arr) > DEF_MAX_FIELDS) {
        problem(c, path, "must be a list of at most %d state keys", DEF_MAX_FIELDS);
        return NULL;
    }
    out = orch_arena_alloc(c->a, (json_array_size(arr) + 1) * sizeof(*out));
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || !*json_string_value(v))
            problem(c, orch_arena_printf(c->a, "%s[%zu]", path, i), "must be a state key");
        else
            out[n++] = orch_arena_strdup(c->a, json_string_value(v));
    }
    return out;
}

/* "fields": {"<subscription path>": "<state key>"} as the authoring helpers' "path=key"
 * list; the state keys go to *reads. */
static const char *const *field_list(cc_t *c, const json_t *fields, const char *path,
                                     const char *const **reads)
{
    const char **out, **rd;
    const char *k;
    json_t *v;
    size_t n = 0;
    if (!json_is_object(fields) || json_object_size(fields) == 0 ||
        json_object_size(fields) > DEF_MAX_FIELDS) {
        problem(c, path, "must map 1-%d subscription field paths to the state keys of their values",
                DEF_MAX_FIELDS);
        return NULL;
    }
    out = orch_arena_alloc(c->a, (json_object_size(fields) + 1) * sizeof(*out));
    rd = orch_arena_alloc(c->a, (json_object_size(fields) + 2) * sizeof(*rd));
    json_object_foreach((json_t *)fields, k, v)
    {
        if (!json_is_string(v) || !*json_string_value(v) || strchr(json_string_value(v), '=') ||
            strchr(k, '=') || !*k) {
            problem(c, orch_arena_printf(c->a, "%s.%s", path, k),
                    "must be the state key that holds the field's value");
            continue;
        }
        rd[n] = orch_arena_strdup(c->a, json_string_value(v));
        out[n++] = orch_arena_printf(c->a, "%s=%s", k, json_string_value(v));
    }
    *reads = rd;
    return out;
}

static const char *const *keys1(cc_t *c, const char *k)
{
    const char **v = orch_arena_alloc(c->a, 2 * sizeof(*v));
    v[0] = k;
    return v;
}

static const char *const NO_KEYS_[] = {NULL};

static void compile_steps(cc_t *c, const json_t *steps, const char *path, bool in_branch,
                          const char *key_prefix, io_acc_t *io, orch_step_def_t **out);

/* A task step: a remote step (ORCH_REMOTE_STEP) that step workers of task_type run. */
static void compile_task(cc_t *c, const json_t *s, const char *path, const json_t *retry,
                         orch_step_def_t *d)
{
    d->kind = ORCH_KIND_CALLBACK;
    d->task_type = str_member(c, s, "task_type", path, 255);
    if (!d->task_type || !*d->task_type)
        problem(c, orch_arena_printf(c->a, "%s.task_type", path),
                "a task step names the task type its step workers serve");
    d->needs_secrets = json_is_true(json_object_get(s, "secrets"));
    /* ORCH_REMOTE_STEP's policy unless the definition gives one. */
    d->max_attempts = 5;
    d->backoff_ms = 1000;
    d->backoff_max_ms = 300000;
    d->callback_timeout_ms = d->timeout_ms ? d->timeout_ms : 600000;
    d->timeout_ms = 0;
    if (json_is_object(retry)) {
        const char *rp = orch_arena_printf(c->a, "%s.retry", path);
        int v;
        if ((v = int_member(c, retry, "max_attempts", rp, 1, 100)))
            d->max_attempts = v;
        if ((v = int_member(c, retry, "backoff_ms", rp, 1, 86400000)))
            d->backoff_ms = v;
        if ((v = int_member(c, retry, "backoff_max_ms", rp, 1, 86400000)))
            d->backoff_max_ms = v;
    }
}

/* A parallel step's branches (their steps compiled like the main line's). false: refused. */
static bool compile_parallel(cc_t *c, const json_t *s, const char *path, bool in_branch,
                             const char *key, io_acc_t *io, orch_step_def_t *d)
{
    json_t *bs = json_object_get(s, "branches");
    orch_branch_def_t *branches;
    size_t i;
    json_t *br;
    d->kind = ORCH_KIND_PARALLEL;
    if (in_branch) {
        problem(c, orch_arena_printf(c->a, "%s.kind", path), "parallel steps do not nest");
        return false;
    }
    if (!json_is_array(bs) || json_array_size(bs) == 0 || json_array_size(bs) > 32) {
        problem(c, orch_arena_printf(c->a, "%s.branches", path),
                "a parallel step has 1-32 branches, each {\"name\", \"steps\"}");
        return false;
    }
    branches = orch_arena_alloc(c->a, (json_array_size(bs) + 1) * sizeof(*branches));
    json_array_foreach(bs, i, br)
    {
        const char *bp = orch_arena_printf(c->a, "%s.branches[%zu]", path, i);
        orch_step_def_t *bsteps = NULL;
        branches[i].name = str_member(c, br, "name", bp, 100);
        if (!branches[i].name)
            branches[i].name = "";
        compile_steps(c, json_object_get(br, "steps"), orch_arena_printf(c->a, "%s.steps", bp),
                      true, orch_arena_printf(c->a, "%s/%s/", key, branches[i].name), io, &bsteps);
        branches[i].steps = bsteps;
    }
    d->branches = branches;
    return true;
}

/* A built-in step's parameters, and the state keys it is known to touch. false: kind is
 * no built-in step. */
static bool compile_builtin(cc_t *c, const json_t *s, const char *path, const char *kind,
                            builtin_t *b, const char *const **reads, const char *const **writes)
{
    if (strcmp(kind, "set") == 0) {
        json_t *values = json_object_get(s, "values");
        const char **w;
        const char *k;
        json_t *v;
        size_t n = 0;
        b->run = bi_set;
        if (!json_is_object(values)) {
            problem(c, orch_arena_printf(c->a, "%s.values", path),
                    "a set step merges an object of values into the state");
        } else {
            b->values = json_deep_copy(values);
            json_array_append_new(c->owned, b->values);
            w = orch_arena_alloc(c->a, (json_object_size(values) + 1) * sizeof(*w));
            json_object_foreach(values, k, v) w[n++] = orch_arena_strdup(c->a, k);
            *writes = w;
        }
    } else if (strcmp(kind, "create_subscription") == 0) {
        const char *const *rd = NO_KEYS_;
        b->run = bi_create_subscription;
        b->description = str_member(c, s, "subscription_description", path, 2000);
        if (json_object_get(s, "fields"))
            b->fields = field_list(c, json_object_get(s, "fields"),
                                   orch_arena_printf(c->a, "%s.fields", path), &rd);
        *reads = rd;
        *writes = keys1(c, "subscription_id");
    } else if (strcmp(kind, "set_fields") == 0) {
        b->run = bi_set_fields;
        b->fields = field_list(c, json_object_get(s, "fields"),
                               orch_arena_printf(c->a, "%s.fields", path), reads);
        *writes = NO_KEYS_;
    } else if (strcmp(kind, "set_status") == 0) {
        const char *st = str_member(c, s, "status", path, 32);
        b->run = bi_set_status;
        b->status = orch_sub_status_parse(st);
        if (b->status == ORCH_SUB_STATUS_UNSPECIFIED)
            problem(c, orch_arena_printf(c->a, "%s.status", path),
                    "a lifecycle status: initial, provisioning, active, migrating, disabled or "
                    "terminated");
        *reads = keys1(c, "subscription_id");
        *writes = keys1(c, "subscription_status");
    } else if (strcmp(kind, "unsync") == 0 || strcmp(kind, "resync") == 0) {
        b->run = strcmp(kind, "unsync") == 0 ? bi_unsync : bi_resync;
        *reads = keys1(c, "subscription_id");
        *writes = keys1(c, "__locked");
    } else {
        return false;
    }
    return true;
}

/* "when": any step's condition but a parallel, done or abort step's; "retry": a built-in
 * step's retry policy. */
static void compile_modifiers(cc_t *c, const json_t *when, const json_t *retry, const char *path,
                              bool builtin, builtin_t *b, orch_step_def_t *d)
{
    if (when) {
        const char *wp = orch_arena_printf(c->a, "%s.when", path);
        if (d->kind == ORCH_KIND_PARALLEL || d->kind == ORCH_KIND_DONE ||
            d->kind == ORCH_KIND_ABORT)
            problem(c, wp, "a parallel, done or abort step cannot be conditional");
        else if (!json_is_object(when) || !json_is_string(json_object_get(when, "field")))
            problem(c, wp, "must be {\"field\": \"<state key>\", \"equals\": <value>?}");
        else {
            b->when_field =
                orch_arena_strdup(c->a, json_string_value(json_object_get(when, "field")));
            if (json_object_get(when, "equals")) {
                b->when_equals = json_deep_copy(json_object_get(when, "equals"));
                json_array_append_new(c->owned, b->when_equals);
            }
            /* The engine asks def_when before the step runs (a C conditional's predicate
             * gets no parameters, so this is a hook of its own); shown with its condition. */
            d->when = def_when;
            d->condition = orch_arena_printf(c->a, "state.%s%s", b->when_field,
                                             b->when_equals ? " equals the given value" : "");
        }
    }
    if (retry && builtin) {
        const char *rp = orch_arena_printf(c->a, "%s.retry", path);
        d->kind = ORCH_KIND_RETRY;
        if (!json_is_object(retry))
            problem(c, rp, "must be {\"max_attempts\", \"backoff_ms\", \"backoff_max_ms\"}");
        else {
            d->max_attempts = int_member(c, retry, "max_attempts", rp, 0, 100);
            d->backoff_ms = int_member(c, retry, "backoff_ms", rp, 0, 86400000);
            d->backoff_max_ms = int_member(c, retry, "backoff_max_ms", rp, 0, 86400000);
        }
    }
}

/* One step. Its declared (or known) state keys go to io under its leaf key. */
static void compile_step(cc_t *c, const json_t *s, const char *path, bool in_branch,
                         const char *key_prefix, io_acc_t *io, orch_step_def_t *d)
{
    const char *kind, *key;
    const char *const *reads = NULL, *const *writes = NULL;
    builtin_t *b = orch_arena_alloc(c->a, sizeof(*b));
    json_t *when = json_object_get(s, "when"), *retry = json_object_get(s, "retry");
    bool builtin = true;

    if (!json_is_object(s)) {
        problem(c, path, "a step is an object with a key and a kind");
        return;
    }
    kind = str_member(c, s, "kind", path, 64);
    key = str_member(c, s, "key", path, 100);
    if (!kind) {
        problem(c, orch_arena_printf(c->a, "%s.kind", path),
                "a step needs a kind: task, input, callback, parallel, done, abort, set, "
                "create_subscription, set_fields, set_status, unsync or resync");
        return;
    }
    if (!key && (strcmp(kind, "done") == 0 || strcmp(kind, "abort") == 0))
        key = kind;
    if (!orch_key_valid(key)) {
        problem(c, orch_arena_printf(c->a, "%s.key", path),
                "a step needs a stable key of 1-100 of [a-z0-9_]");
        return;
    }
    d->key = key;
    d->name = str_member(c, s, "name", path, 255);
    if (!d->name)
        d->name = key;
    d->description = str_member(c, s, "description", path, 2000);
    d->timeout_ms = int_member(c, s, "timeout_ms", path, 0, 86400000);
    d->kind = ORCH_KIND_STEP;
    d->fn = bi_run;

    if (strcmp(kind, "task") == 0) {
        builtin = false;
        compile_task(c, s, path, retry, d);
    } else if (strcmp(kind, "input") == 0) {
        builtin = false;
        d->kind = ORCH_KIND_INPUT;
        d->form =
            schema_form(c, json_object_get(s, "form"), orch_arena_printf(c->a, "%s.form", path));
        d->required_role = str_member(c, s, "role", path, 63);
    } else if (strcmp(kind, "callback") == 0) {
        builtin = false;
        d->kind = ORCH_KIND_CALLBACK;
        d->fn = orch_step_sim_callback;
        d->callback_timeout_ms = d->timeout_ms;
        d->timeout_ms = 0;
    } else if (strcmp(kind, "parallel") == 0) {
        builtin = false;
        if (!compile_parallel(c, s, path, in_branch, key, io, d))
            return;
    } else if (strcmp(kind, "done") == 0 || strcmp(kind, "abort") == 0) {
        builtin = false;
        d->kind = strcmp(kind, "done") == 0 ? ORCH_KIND_DONE : ORCH_KIND_ABORT;
    } else if (!compile_builtin(c, s, path, kind, b, &reads, &writes)) {
        problem(c, orch_arena_printf(c->a, "%s.kind", path),
                "unknown step kind '%s' (task, input, callback, parallel, done, abort, set, "
                "create_subscription, set_fields, set_status, unsync, resync)",
                kind);
        return;
    }

    if (!builtin && d->fn == bi_run)
        d->fn = NULL; /* a task step without a function waits for its worker */
    compile_modifiers(c, when, retry, path, builtin, b, d);
    if (builtin || d->when)
        bi_register(d, b, c->d);
    /* The step's own declarations win over what a built-in is known to touch. */
    if (json_object_get(s, "reads")) {
        reads = str_list(c, json_object_get(s, "reads"), orch_arena_printf(c->a, "%s.reads", path));
        io->declared = true;
    }
    if (json_object_get(s, "writes")) {
        writes =
            str_list(c, json_object_get(s, "writes"), orch_arena_printf(c->a, "%s.writes", path));
        io->declared = true;
    }
    if (d->kind == ORCH_KIND_INPUT && !writes)
        writes = NO_KEYS_; /* its answers are known from its form */
    if (reads || writes)
        io_add(c, io, orch_arena_printf(c->a, "%s%s", key_prefix, key), reads, writes);
}

/* A key the target's standard steps use: exactly those expand_lifecycle (workflow.c) adds for
 * this lifecycle, so a create workflow may still name a step of its own "unsync". */
static bool std_key(const cc_t *c, const char *key)
{
    const char *keys[4] = {"done"};
    size_t n = 1;
    switch (c->lifecycle) {
    case ORCH_LC_NONE:
        return false;
    case ORCH_LC_CREATE:
        keys[n++] = "set_status_active";
        keys[n++] = "resync";
        break;
    case ORCH_LC_MODIFY:
    case ORCH_LC_VALIDATE:
    case ORCH_LC_RECONCILE:
        keys[n++] = "unsync";
        keys[n++] = "resync";
        break;
    case ORCH_LC_TERMINATE:
        keys[n++] = "unsync";
        keys[n++] = "set_status_terminated";
        keys[n++] = "resync";
        break;
    case ORCH_LC_TASK:
        break;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], key) == 0)
            return true;
    return false;
}

static void compile_steps(cc_t *c, const json_t *steps, const char *path, bool in_branch,
                          const char *key_prefix, io_acc_t *io, orch_step_def_t **out)
{
    orch_step_def_t *defs;
    size_t i;
    json_t *s;
    if (!json_is_array(steps) || json_array_size(steps) == 0 ||
        json_array_size(steps) > DEF_MAX_STEPS) {
        problem(c, path, "must be a list of 1-%d steps", DEF_MAX_STEPS);
        *out = NULL;
        return;
    }
    defs = orch_arena_alloc(c->a, (json_array_size(steps) + 1) * sizeof(*defs));
    json_array_foreach(steps, i, s)
    {
        const char *sp = orch_arena_printf(c->a, "%s[%zu]", path, i);
        compile_step(c, s, sp, in_branch, key_prefix, io, &defs[i]);
        /* Every key used twice, each named where it comes again (the checks of lint.c stop
         * at the first). */
        for (size_t j = 0; defs[i].key && j < i; j++)
            if (defs[j].key && strcmp(defs[j].key, defs[i].key) == 0) {
                problem(c, orch_arena_printf(c->a, "%s.key", sp),
                        "step key %s is used twice (by %s[%zu] too)", defs[i].key, path, j);
                break;
            }
        if (!in_branch && defs[i].key && std_key(c, defs[i].key))
            problem(c, orch_arena_printf(c->a, "%s.key", sp),
                    "step key %s is one of the standard steps this target adds (set "
                    "\"standard_steps\": false to write them yourself)",
                    defs[i].key);
    }
    *out = defs;
}

/* ---- the whole definition -------------------------------------------------------------------- */

char *orch_definition_canonical(const json_t *def, char digest[17])
{
    char *t = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);
    if (!t)
        t = orch_strdup("{}");
    snprintf(digest, 17, "%016llx", (unsigned long long)orch_fnv1a(t));
    return t;
}

static bool target_parse(const char *t, orch_workflow_def_t *wf)
{
    static const struct {
        const char *name;
        orch_workflow_target_t target;
        orch_lifecycle_t lc;
    } map[] = {
        {"create", ORCH_TARGET_CREATE, ORCH_LC_CREATE},
        {"modify", ORCH_TARGET_MODIFY, ORCH_LC_MODIFY},
        {"terminate", ORCH_TARGET_TERMINATE, ORCH_LC_TERMINATE},
        {"validate", ORCH_TARGET_VALIDATE, ORCH_LC_VALIDATE},
        {"reconcile", ORCH_TARGET_RECONCILE, ORCH_LC_RECONCILE},
        {"task", ORCH_TARGET_SYSTEM, ORCH_LC_TASK},
    };
    for (size_t i = 0; t && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(t, map[i].name) == 0) {
            wf->target = map[i].target;
            wf->lifecycle = map[i].lc;
            wf->is_task = map[i].target == ORCH_TARGET_SYSTEM;
            return true;
        }
    return false;
}

/* The path of the step a lint problem is about: the step whose key the message names. */
static const char *lint_field(cc_t *c, const json_t *steps, const orch_lint_problem_t *p)
{
    size_t i, found = (size_t)-1;
    json_t *s;
    bool dup = strcmp(p->check, "step-key-duplicate") == 0;
    json_array_foreach(steps, i, s)
    {
        const char *k = json_string_value(json_object_get(s, "key"));
        char a[140], b[140];
        if (!k)
            continue;
        snprintf(a, sizeof(a), "step %s ", k);
        snprintf(b, sizeof(b), "step key %s ", k);
        if (strstr(p->message, a) || strstr(p->message, b)) {
            found = i;
            if (!dup)
                break; /* a duplicate is named where it is used the second time */
        }
    }
    if (found == (size_t)-1)
        return orch_arena_printf(c->a, "%s.steps", c->prefix);
    return orch_arena_printf(c->a, "%s.steps[%zu]%s", c->prefix, found, dup ? ".key" : "");
}

static void run_lint(cc_t *c, orch_definition_t *d, const json_t *steps)
{
    orch_wf_entry_t e = {&d->wf, d->wf.name, ""};
    orch_lint_report_t rep;
    orch_lint(&e, 1, NULL, &rep);
    for (size_t i = 0; i < rep.n; i++)
        if (rep.items[i].severity == ORCH_LINT_ERROR)
            problem(c, lint_field(c, steps, &rep.items[i]), "%s [%s]", rep.items[i].message,
                    rep.items[i].check);
    orch_lint_report_cleanup(&rep);
}

orch_err_t orch_definition_compile(const json_t *def, int version, orch_catalog_t *cat,
                                   const char *field_prefix, orch_definition_t **out,
                                   orch_error_t *err)
{
    orch_definition_t *d = orch_calloc(1, sizeof(*d));
    cc_t c = {.err = err, .prefix = field_prefix ? field_prefix : "definition"};
    const char *p, *target;
    json_t *products, *steps, *form;
    orch_step_def_t *sdefs = NULL;
    io_acc_t io = {0};
    char *text;

    *out = NULL;
    d->arena = c.a = orch_arena_new();
    c.d = d;
    c.owned = json_array();
    p = c.prefix;
    if (!json_is_object(def)) {
        problem(&c, p, "a definition is a JSON object");
        goto out;
    }
    d->wf.name = str_member(&c, def, "name", p, 100);
    if (!orch_key_valid(d->wf.name))
        problem(&c, orch_arena_printf(c.a, "%s.name", p),
                "a workflow needs a name of 1-100 of [a-z0-9_]");
    d->wf.description = str_member(&c, def, "description", p, 2000);
    if (!d->wf.description)
        d->wf.description = d->wf.name ? d->wf.name : "";
    d->wf.version = version;
    d->wf.required_role = str_member(&c, def, "required_role", p, 63);
    target = str_member(&c, def, "target", p, 32);
    if (!target_parse(target, &d->wf))
        problem(&c, orch_arena_printf(c.a, "%s.target", p),
                "one of create, modify, terminate, validate, reconcile, task");
    if (json_is_false(json_object_get(def, "standard_steps")))
        d->wf.lifecycle = ORCH_LC_NONE;

    products = json_object_get(def, "products");
    if (products && (!json_is_array(products) || json_array_size(products) > 100)) {
        problem(&c, orch_arena_printf(c.a, "%s.products", p), "a list of product names");
    } else if (products) {
        size_t i;
        json_t *v;
        d->products = orch_arena_alloc(c.a, (json_array_size(products) + 1) * sizeof(char *));
        json_array_foreach(products, i, v)
        {
            const char *name = json_string_value(v);
            if (!name || (cat && !orch_catalog_find_product(cat, name))) {
                problem(&c, orch_arena_printf(c.a, "%s.products[%zu]", p, i),
                        "no product is named '%s'", name ? name : "");
                continue;
            }
            d->products[d->nproducts++] = orch_arena_strdup(c.a, name);
        }
    }
    if (!d->wf.is_task && d->wf.target != ORCH_TARGET_UNSPECIFIED && !json_array_size(products))
        problem(&c, orch_arena_printf(c.a, "%s.products", p),
                "a %s workflow is offered by at least one product", target);

    form = json_object_get(def, "form");
    if (form)
        d->wf.form = schema_form(&c, form, orch_arena_printf(c.a, "%s.form", p));
    c.lifecycle = d->wf.lifecycle;
    steps = json_object_get(def, "steps");
    compile_steps(&c, steps, orch_arena_printf(c.a, "%s.steps", p), false, "", &io, &sdefs);
    d->wf.steps = sdefs;
    /* What steps read and write is checked where it can be known: when a step declares it,
     * or the start input is a form (otherwise the start input may hold any key). */
    if (io.declared || d->wf.form) {
        io_add(&c, &io, NULL, NULL, NULL); /* the {0} end */
        d->wf.io = io.v;
    }
    if (c.nproblems)
        goto out;
    run_lint(&c, d, steps);
    if (c.nproblems)
        goto out;
    text = orch_definition_canonical(def, d->digest);
    d->text = orch_arena_strdup(c.a, text);
    free(text);
    *out = d;
    d = NULL;
out:
    if (d) {
        bi_forget(d);
        json_decref(c.owned);
        orch_arena_free(d->arena);
        free(d);
        orch_error_set(err, ORCH_INVALID_ARGUMENT, "WORKFLOW_DEFINITION_INVALID",
                       "the workflow definition has %zu mistake%s (see the field violations)",
                       c.nproblems, c.nproblems == 1 ? "" : "s");
        return ORCH_INVALID_ARGUMENT;
    }
    (*out)->owned = c.owned;
    return ORCH_OK;
}

void orch_definition_free(orch_definition_t *d)
{
    if (!d)
        return;
    bi_forget(d);
    json_decref(d->owned);
    orch_arena_free(d->arena);
    free(d);
}

const orch_workflow_def_t *orch_definition_workflow(const orch_definition_t *d)
{
    return &d->wf;
}

const char *orch_definition_text(const orch_definition_t *d)
{
    return d->text;
}

const char *orch_definition_digest(const orch_definition_t *d)
{
    return d->digest;
}

const char *const *orch_definition_products(const orch_definition_t *d, size_t *n)
{
    *n = d->nproducts;
    return d->products;
}

/* Every step key of a definition with its kind ("par/branch/key" inside branches). */
static void kinds_of(const json_t *steps, const char *prefix, json_t *out)
{
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s)
    {
        const char *kind = json_string_value(json_object_get(s, "kind"));
        const char *key = json_string_value(json_object_get(s, "key"));
        char *full;
        size_t j;
        json_t *b;
        if (!key && kind && (strcmp(kind, "done") == 0 || strcmp(kind, "abort") == 0))
            key = kind;
        if (!key || !kind)
            continue;
        full = orch_asprintf("%s%s", prefix, key);
        json_object_set_new(out, full, json_string(kind));
        json_array_foreach(json_object_get(s, "branches"), j, b)
        {
            char *bp = orch_asprintf("%s/%s/", full, json_string_value(json_object_get(b, "name")));
            kinds_of(json_object_get(b, "steps"), bp, out);
            free(bp);
        }
        free(full);
    }
}

size_t orch_definition_check_kinds(const json_t *prev, const json_t *next, const char *field_prefix,
                                   orch_error_t *err)
{
    json_t *old = json_object(), *cur = json_object();
    const char *key;
    json_t *kind;
    size_t n = 0;
    kinds_of(json_object_get(prev, "steps"), "", old);
    kinds_of(json_object_get(next, "steps"), "", cur);
    json_object_foreach(cur, key, kind)
    {
        json_t *was = json_object_get(old, key);
        size_t i, at = 0;
        json_t *s;
        if (!was || json_equal(was, kind))
            continue;
        json_array_foreach(json_object_get(next, "steps"), i, s)
        {
            const char *k = json_string_value(json_object_get(s, "key"));
            if (k && strncmp(key, k, strlen(k)) == 0 && (!key[strlen(k)] || key[strlen(k)] == '/'))
                at = i; /* the step, or the parallel step that holds it */
        }
        {
            char field[128];
            snprintf(field, sizeof(field), "%s.steps[%zu].kind", field_prefix, at);
            orch_error_add_violation(err, field,
                                     "step key %s was a %s step in the earlier version and cannot "
                                     "become a %s step: give the new step a new key",
                                     key, json_string_value(was), json_string_value(kind));
        }
        n++;
    }
    json_decref(old);
    json_decref(cur);
    if (n)
        orch_error_set(err, ORCH_INVALID_ARGUMENT, "STEP_KIND_CHANGED",
                       "%zu step key%s changed kind (a key names one step for ever)", n,
                       n == 1 ? "" : "s");
    return n;
}

void orch_definition_offer(orch_definition_t *d, orch_catalog_t *cat)
{
    orch_catalog_change_lock(cat);
    for (size_t i = 0; i < d->nproducts; i++) {
        orch_product_t *p = NULL;
        orch_product_def_t *nd;
        orch_workflow_ref_t *refs;
        size_t n = 0;
        bool has = false;
        for (size_t k = 0; k < orch_catalog_nproducts(cat) && !p; k++)
            if (strcmp(orch_catalog_product_at(cat, k)->def->name, d->products[i]) == 0)
                p = orch_catalog_product_at(cat, k);
        if (!p)
            continue;
        for (const orch_workflow_ref_t *w = p->def->workflows; w && w->name; w++, n++)
            has |= strcmp(w->name, d->wf.name) == 0;
        if (has)
            continue;
        /* A new list with the workflow appended, published by swapping the product's
         * definition: readers see the old list or the new one, never a torn one; the old
         * one stays valid (static data, or the arena of an earlier definition). */
        refs = orch_arena_alloc(d->arena, (n + 2) * sizeof(*refs));
        if (n)
            memcpy(refs, p->def->workflows, n * sizeof(*refs));
        refs[n] = (orch_workflow_ref_t){d->wf.name, d->wf.target, d->wf.description};
        nd = orch_arena_alloc(d->arena, sizeof(*nd));
        *nd = *p->def;
        nd->workflows = refs;
        __atomic_store_n(&p->def, nd, __ATOMIC_RELEASE);
        __atomic_store_n(&p->nworkflows, n + 1, __ATOMIC_RELEASE);
    }
    orch_catalog_change_unlock(cat);
}
