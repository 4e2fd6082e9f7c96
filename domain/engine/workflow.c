/* Workflow definitions and the registry of workflow versions: checks a declaration once at
 * start-up, flattens groups into keyed leaves, and renders the step list stored in
 * workflow_versions (with its digest). Also the step-result helpers authors call. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "domain/engine/engine.h"

/* ---- Step results -----------------------------------------------------------------------------
 */

orch_step_result_t orch_step_ok(json_t *changes)
{
    orch_step_result_t r = {.outcome = ORCH_STEP_SUCCESS, .changes = changes};
    return r;
}

orch_step_result_t orch_step_skip(void)
{
    orch_step_result_t r = {.outcome = ORCH_STEP_SKIP};
    return r;
}

orch_step_result_t orch_step_result(orch_step_outcome_t outcome, const char *reason,
                                    json_t *details, const char *fmt, ...)
{
    orch_step_result_t r = {.outcome = outcome, .details = details};
    char buf[2048];
    va_list ap;
    snprintf(r.reason, sizeof(r.reason), "%s", reason && *reason ? reason : "STEP_FAILED");
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    r.message = orch_strdup(buf);
    return r;
}

orch_step_result_t orch_step_fail_error(const orch_error_t *err)
{
    json_t *details = NULL;
    if (err->nviolations) {
        details = json_object();
        for (size_t i = 0; i < err->nviolations; i++)
            json_object_set_new(details, err->violations[i].field,
                                json_string(err->violations[i].description));
    }
    return orch_step_fail(err->reason, details, "%s", err->message);
}

void orch_step_result_cleanup(orch_step_result_t *r)
{
    json_decref(r->changes);
    json_decref(r->details);
    free(r->message);
    r->changes = r->details = NULL;
    r->message = NULL;
}

/* ---- Context helpers --------------------------------------------------------------------------
 */

bool orch_step_ctx_expired(const orch_step_ctx_t *ctx)
{
    return orch_ctx_cancelled(&ctx->ctx) || orch_ctx_remaining_ms(&ctx->ctx) <= 0;
}

void orch_step_ctx_link_subscription(orch_step_ctx_t *ctx, const char *subscription_id)
{
    for (size_t i = 0; i < ctx->nlinked; i++)
        if (strcmp(ctx->linked_subscriptions[i], subscription_id) == 0)
            return;
    if (ctx->nlinked < sizeof(ctx->linked_subscriptions) / sizeof(ctx->linked_subscriptions[0]))
        snprintf(ctx->linked_subscriptions[ctx->nlinked++], 37, "%s", subscription_id);
}

void orch_step_log(orch_log_level_t level, const orch_step_ctx_t *ctx, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    if (level < orch__log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    orch__log(level, "step", "process %s step %s: %s", ctx->process_id, ctx->step_key, buf);
}

const char *orch_state_str(const json_t *state, const char *key, const char *dflt)
{
    json_t *v = json_object_get(state, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

long long orch_state_int(const json_t *state, const char *key, long long dflt)
{
    json_t *v = json_object_get(state, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

bool orch_state_bool(const json_t *state, const char *key, bool dflt)
{
    json_t *v = json_object_get(state, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* ---- The registry -----------------------------------------------------------------------------
 */

/* Workflows registered as data are added while workers look others up: the item array is
 * guarded by mu (the workflows themselves never move once added). */
struct orch_registry {
    orch_workflow_t **items;
    size_t n;
    pthread_mutex_t mu;
};

orch_registry_t *orch_registry_new(void)
{
    orch_registry_t *r = orch_calloc(1, sizeof(orch_registry_t));
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void workflow_free(orch_workflow_t *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nleaves; i++) {
        free(w->leaves[i].key);
        free(w->leaves[i].branch_key);
    }
    free(w->leaves);
    free(w->steps_json);
    free(w->owned);
    free(w);
}

/* A lifecycle workflow's definition with the standard steps around the author's, in one
 * allocation (the def, then the steps). NULL when def has no lifecycle. */
static orch_workflow_def_t *expand_lifecycle(const orch_workflow_def_t *d)
{
    static const orch_step_def_t unsync =
        ORCH_STEP("unsync", "Lock the subscription (unsync)", orch_lc_unsync);
    static const orch_step_def_t unsync_any =
        ORCH_STEP("unsync", "Lock the subscription (unsync)", orch_lc_unsync_reconcile);
    static const orch_step_def_t resync =
        ORCH_STEP("resync", "Unlock the subscription (resync)", orch_lc_resync);
    static const orch_step_def_t active =
        ORCH_STEP("set_status_active", "Set the subscription active", orch_lc_set_status_active);
    static const orch_step_def_t terminated = ORCH_STEP(
        "set_status_terminated", "Set the subscription terminated", orch_lc_set_status_terminated);
    static const orch_step_def_t done = ORCH_DONE;
    const orch_step_def_t *pre[2] = {0}, *post[4] = {0};
    size_t npre = 0, npost = 0, nauthor = 0, n = 0;
    orch_workflow_def_t *out;
    orch_step_def_t *steps;

    switch (d->lifecycle) {
    case ORCH_LC_NONE:
        return NULL;
    case ORCH_LC_CREATE:
        post[npost++] = &active;
        post[npost++] = &resync;
        break;
    case ORCH_LC_MODIFY:
    case ORCH_LC_VALIDATE:
        pre[npre++] = &unsync;
        post[npost++] = &resync;
        break;
    case ORCH_LC_RECONCILE:
        pre[npre++] = &unsync_any;
        post[npost++] = &resync;
        break;
    case ORCH_LC_TERMINATE:
        pre[npre++] = &unsync;
        post[npost++] = &terminated;
        post[npost++] = &resync;
        break;
    case ORCH_LC_TASK:
        break;
    }
    post[npost++] = &done;
    for (const orch_step_def_t *s = d->steps; s && (s->key || s->name); s++)
        nauthor++;
    out = orch_calloc(1, sizeof(*out) + (npre + nauthor + npost + 1) * sizeof(orch_step_def_t));
    steps = (orch_step_def_t *)(out + 1);
    *out = *d;
    for (size_t i = 0; i < npre; i++)
        steps[n++] = *pre[i];
    for (size_t i = 0; i < nauthor; i++)
        steps[n++] = d->steps[i];
    for (size_t i = 0; i < npost; i++)
        steps[n++] = *post[i];
    out->steps = steps;
    return out;
}

void orch_registry_free(orch_registry_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        workflow_free(r->items[i]);
    free(r->items);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

bool orch_key_valid(const char *k)
{
    if (!k || !*k || strlen(k) > 100)
        return false;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

/* A required role: a built-in role or one of the organisation's own, 1-63 of [a-z0-9_.-]
 * (the names tokens carry; server/rpc/auth.c reads them the same way). */
static bool role_ok(const char *r)
{
    if (!r || !*r || strlen(r) > 63)
        return false;
    for (const char *p = r; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
              *p == '-'))
            return false;
    return true;
}

static const char *kind_name(orch_step_kind_t k)
{
    switch (k) {
    case ORCH_KIND_STEP:
        return "step";
    case ORCH_KIND_RETRY:
        return "retry_step";
    case ORCH_KIND_CONDITIONAL:
        return "conditional";
    case ORCH_KIND_GROUP:
        return "step_group";
    case ORCH_KIND_INPUT:
        return "input_step";
    case ORCH_KIND_CALLBACK:
        return "callback_step";
    case ORCH_KIND_PARALLEL:
        return "parallel";
    case ORCH_KIND_DONE:
        return "done";
    case ORCH_KIND_ABORT:
        return "abort";
    }
    return "step";
}

static json_t *step_json(const orch_step_def_t *s, const char *key)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s}", "key", key, "name", s->name, "kind", kind_name(s->kind));
    if (s->timeout_ms)
        json_object_set_new(o, "timeout_ms", json_integer(s->timeout_ms));
    if (s->description)
        json_object_set_new(o, "description", json_string(s->description));
    if (s->condition)
        json_object_set_new(o, "condition", json_string(s->condition));
    if (s->callback_timeout_ms)
        json_object_set_new(o, "callback_timeout_ms", json_integer(s->callback_timeout_ms));
    if (s->required_role)
        json_object_set_new(o, "required_role", json_string(s->required_role));
    if (s->kind == ORCH_KIND_GROUP) {
        json_t *c = json_array();
        for (const orch_step_def_t *ch = s->children; ch->key; ch++) {
            char *ck = orch_asprintf("%s.%s", key, ch->key);
            json_array_append_new(c, step_json(ch, ck));
            free(ck);
        }
        json_object_set_new(o, "children", c);
    }
    if (s->kind == ORCH_KIND_PARALLEL) {
        /* An array (not an object keyed by name): jsonb would reorder the branches. */
        json_t *bs = json_array();
        for (const orch_branch_def_t *b = s->branches; b->name; b++) {
            json_t *steps = json_array();
            for (const orch_step_def_t *ch = b->steps; ch->key; ch++) {
                char *ck = orch_asprintf("%s/%s/%s", key, b->name, ch->key);
                json_array_append_new(steps, step_json(ch, ck));
                free(ck);
            }
            json_array_append_new(bs, json_pack("{s:s, s:o}", "name", b->name, "steps", steps));
        }
        json_object_set_new(o, "branches", bs);
    }
    return o;
}

static orch_leaf_t *add_leaf(orch_workflow_t *w, const orch_step_def_t *def,
                             const orch_step_def_t *parent, char *key, size_t top)
{
    w->leaves = orch_realloc(w->leaves, (w->nleaves + 1) * sizeof(*w->leaves));
    w->leaves[w->nleaves] = (orch_leaf_t){key, def, parent, top, NULL, NULL};
    return &w->leaves[w->nleaves++];
}

/* A declaration that cannot be registered: FAILED_PRECONDITION with reason, and a message
 * that names the workflow and its version before what is wrong ("workflow NAME vN: ..."),
 * as every check of a declaration does, so the start-up error says which one to fix. */
static orch_err_t def_invalid(orch_error_t *err, const orch_workflow_def_t *d, const char *reason,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static orch_err_t def_invalid(orch_error_t *err, const orch_workflow_def_t *d, const char *reason,
                              const char *fmt, ...)
{
    char what[sizeof(((orch_error_t *)0)->message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return orch_error_set(err, ORCH_FAILED_PRECONDITION, reason, "workflow %s v%d: %s", d->name,
                          d->version, what);
}

static orch_err_t check_step(const orch_workflow_def_t *d, const orch_step_def_t *s, bool nested,
                             orch_error_t *err)
{
    if (!orch_key_valid(s->key))
        return def_invalid(err, d, "WORKFLOW_INVALID", "step key '%s' must be 1-100 of [a-z0-9_]",
                           s->key ? s->key : "");
    if (!s->name || !*s->name)
        return def_invalid(err, d, "WORKFLOW_INVALID", "step %s has no name", s->key);
    if (s->required_role && (s->kind != ORCH_KIND_INPUT || !role_ok(s->required_role)))
        return def_invalid(
            err, d, "WORKFLOW_INVALID",
            "step %s: only an input step may require a role, named by 1-63 of [a-z0-9_.-] ('%s')",
            s->key, s->required_role);
    switch (s->kind) {
    case ORCH_KIND_STEP:
    case ORCH_KIND_RETRY:
        if (!s->fn)
            goto nofn;
        break;
    case ORCH_KIND_CONDITIONAL:
        if (!s->fn)
            goto nofn;
        if (!s->pred)
            return def_invalid(err, d, "WORKFLOW_INVALID", "conditional step %s has no predicate",
                               s->key);
        break;
    case ORCH_KIND_INPUT:
        if (!s->form)
            return def_invalid(err, d, "WORKFLOW_INVALID", "input step %s has no form", s->key);
        break;
    case ORCH_KIND_CALLBACK:
        /* A remote step needs no function: without a fall-back it waits for a worker. */
        if (!s->fn && !s->task_type)
            goto nofn;
        if (s->task_type && (!*s->task_type || strlen(s->task_type) > 255))
            return def_invalid(err, d, "WORKFLOW_INVALID",
                               "remote step %s has an empty or too long task type", s->key);
        break;
    case ORCH_KIND_PARALLEL:
        if (nested)
            return def_invalid(err, d, "PARALLEL_NESTED",
                               "parallel step %s cannot be inside a group or a branch "
                               "(parallel steps do not nest)",
                               s->key);
        if (!s->branches || !s->branches[0].name)
            return def_invalid(err, d, "PARALLEL_BRANCHES_MISSING",
                               "parallel step %s needs at least one branch", s->key);
        break;
    case ORCH_KIND_GROUP:
        if (nested || !s->children || !s->children[0].key)
            return def_invalid(err, d, "WORKFLOW_INVALID",
                               "step group %s needs children (and groups do not nest)", s->key);
        break;
    case ORCH_KIND_DONE:
    case ORCH_KIND_ABORT:
        if (nested)
            return def_invalid(err, d, "WORKFLOW_INVALID", "%s cannot be inside a group", s->key);
        break;
    default:
        return def_invalid(err, d, "WORKFLOW_INVALID", "step %s has an unknown kind", s->key);
    }
    return ORCH_OK;
nofn:
    return def_invalid(err, d, "WORKFLOW_INVALID", "step %s has no function", s->key);
}

/* A parallel step's branches: names well formed and unique, steps present and of a kind a
 * branch can run (plain, retry, conditional); then their leaves, keyed
 * "parallel/branch/step", after the parallel step's own leaf. */
static orch_err_t add_branches(orch_workflow_t *w, const orch_workflow_def_t *d,
                               const orch_step_def_t *s, orch_error_t *err)
{
    for (const orch_branch_def_t *b = s->branches; b->name || b->steps; b++) {
        if (!orch_key_valid(b->name))
            return def_invalid(err, d, "PARALLEL_BRANCH_NAME",
                               "parallel step %s: branch name '%s' must be 1-100 of [a-z0-9_]",
                               s->key, b->name ? b->name : "");
        for (const orch_branch_def_t *o = s->branches; o < b; o++)
            if (strcmp(o->name, b->name) == 0)
                return def_invalid(err, d, "PARALLEL_BRANCH_NAME",
                                   "parallel step %s has two branches named %s", s->key, b->name);
        if (!b->steps || !(b->steps[0].key || b->steps[0].name))
            return def_invalid(err, d, "PARALLEL_BRANCH_EMPTY",
                               "branch %s of parallel step %s has no steps", b->name, s->key);
        for (const orch_step_def_t *c = b->steps; c->key || c->name; c++) {
            orch_leaf_t *l;
            orch_err_t rc;
            if (c->kind == ORCH_KIND_PARALLEL)
                return def_invalid(err, d, "PARALLEL_NESTED",
                                   "branch %s of parallel step %s holds parallel step %s "
                                   "(parallel steps do not nest)",
                                   b->name, s->key, c->key ? c->key : "");
            if (c->kind != ORCH_KIND_STEP && c->kind != ORCH_KIND_RETRY &&
                c->kind != ORCH_KIND_CONDITIONAL)
                return def_invalid(
                    err, d, "PARALLEL_BRANCH_STEP",
                    "branch %s of parallel step %s: step %s is a %s; branches hold plain, retry "
                    "and conditional steps only",
                    b->name, s->key, c->key ? c->key : "", kind_name(c->kind));
            rc = check_step(d, c, true, err);
            if (rc)
                return rc;
            l = add_leaf(w, c, s, orch_asprintf("%s/%s/%s", s->key, b->name, c->key), w->ntop);
            l->branch = b->name;
            l->branch_key = orch_asprintf("%s/%s", s->key, b->name);
        }
    }
    return ORCH_OK;
}

orch_err_t orch_registry_add(orch_registry_t *r, const orch_workflow_def_t *d, orch_error_t *err)
{
    orch_workflow_t *w = NULL;
    json_t *arr = NULL;
    const orch_step_def_t *last = NULL;
    orch_err_t rc = ORCH_OK;

    if (!d->name || !orch_key_valid(d->name) || d->version < 1 || !d->steps)
        return orch_error_set(err, ORCH_FAILED_PRECONDITION, "WORKFLOW_INVALID",
                              "workflow '%s': a name of [a-z0-9_], a version >= 1 and steps "
                              "are required",
                              d->name ? d->name : "");
    if (orch_registry_find(r, d->name, d->version))
        return orch_error_set(err, ORCH_FAILED_PRECONDITION, "WORKFLOW_INVALID",
                              "workflow %s v%d is registered twice", d->name, d->version);
    /* (Checked again under the lock below: two threads may add one version at once.) */
    if (d->required_role && !role_ok(d->required_role))
        return def_invalid(err, d, "WORKFLOW_INVALID",
                           "required role '%s' must be 1-63 of [a-z0-9_.-]", d->required_role);
    w = orch_calloc(1, sizeof(*w));
    w->owned = expand_lifecycle(d);
    if (w->owned)
        d = w->owned;
    w->def = d;
    arr = json_array();
    for (const orch_step_def_t *s = d->steps; s->key || s->name; s++, w->ntop++) {
        rc = check_step(d, s, false, err);
        if (rc)
            goto out;
        if (s->kind == ORCH_KIND_GROUP) {
            for (const orch_step_def_t *c = s->children; c->key || c->name; c++) {
                rc = check_step(d, c, true, err);
                if (rc)
                    goto out;
                add_leaf(w, c, s, orch_asprintf("%s.%s", s->key, c->key), w->ntop);
            }
        } else {
            add_leaf(w, s, NULL, orch_strdup(s->key), w->ntop);
            if (s->kind == ORCH_KIND_PARALLEL) {
                rc = add_branches(w, d, s, err);
                if (rc)
                    goto out;
            }
        }
        /* After the checks: the rendering walks the children and branches. */
        json_array_append_new(arr, step_json(s, s->key));
        last = s;
    }
    if (!last || (last->kind != ORCH_KIND_DONE && last->kind != ORCH_KIND_ABORT)) {
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "WORKFLOW_INVALID",
                            "workflow %s v%d must end with a done or abort step", d->name,
                            d->version);
        goto out;
    }
    for (size_t i = 0; i < w->nleaves; i++)
        for (size_t j = i + 1; j < w->nleaves; j++)
            if (strcmp(w->leaves[i].key, w->leaves[j].key) == 0) {
                rc = def_invalid(err, d, "WORKFLOW_INVALID", "step key %s is used twice",
                                 w->leaves[i].key);
                goto out;
            }
    w->steps_json = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    snprintf(w->digest, sizeof(w->digest), "%016llx",
             (unsigned long long)orch_fnv1a(w->steps_json));
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n && !rc; i++)
        if (r->items[i]->def->version == d->version && strcmp(r->items[i]->def->name, d->name) == 0)
            rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "WORKFLOW_INVALID",
                                "workflow %s v%d is registered twice", d->name, d->version);
    if (!rc) {
        r->items = orch_realloc(r->items, (r->n + 1) * sizeof(*r->items));
        r->items[r->n++] = w;
        w = NULL;
    }
    pthread_mutex_unlock(&r->mu);
out:
    json_decref(arr);
    workflow_free(w);
    return rc;
}

orch_err_t orch_registry_add_entry(orch_registry_t *r, orch_wf_entry_t e, orch_error_t *err)
{
    orch_err_t rc = orch_registry_add(r, e.def, err);
    if (rc) {
        if (err && e.symbol) {
            /* Prefixed in place: the message keeps what fits. */
            size_t len = strlen(e.symbol) + 2, have = strlen(err->message);
            if (len < sizeof(err->message)) {
                if (have + len >= sizeof(err->message))
                    have = sizeof(err->message) - len - 1;
                memmove(err->message + len, err->message, have);
                err->message[len + have] = '\0';
                memcpy(err->message, e.symbol, len - 2);
                memcpy(err->message + len - 2, ": ", 2);
            }
        }
        return rc;
    }
    pthread_mutex_lock(&r->mu);
    for (size_t i = r->n; i-- > 0;)
        if (r->items[i]->def->version == e.def->version &&
            strcmp(r->items[i]->def->name, e.def->name) == 0) {
            r->items[i]->symbol = e.symbol;
            r->items[i]->file = e.file;
            break;
        }
    pthread_mutex_unlock(&r->mu);
    return ORCH_OK;
}

/* The lookups take the lock through a cast: a const registry is one the caller does not
 * change, and the lock is not part of what it reads. */
static pthread_mutex_t *reg_mu(const orch_registry_t *r)
{
    return (pthread_mutex_t *)&r->mu;
}

const orch_workflow_t *orch_registry_find(const orch_registry_t *r, const char *name, int version)
{
    const orch_workflow_t *found = NULL;
    pthread_mutex_lock(reg_mu(r));
    for (size_t i = 0; i < r->n && !found; i++)
        if (r->items[i]->def->version == version && strcmp(r->items[i]->def->name, name) == 0)
            found = r->items[i];
    pthread_mutex_unlock(reg_mu(r));
    return found;
}

const orch_workflow_t *orch_registry_latest(const orch_registry_t *r, const char *name)
{
    const orch_workflow_t *best = NULL;
    pthread_mutex_lock(reg_mu(r));
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->items[i]->def->name, name) == 0 &&
            (!best || r->items[i]->def->version > best->def->version))
            best = r->items[i];
    pthread_mutex_unlock(reg_mu(r));
    return best;
}

size_t orch_registry_count(const orch_registry_t *r)
{
    size_t n;
    pthread_mutex_lock(reg_mu(r));
    n = r->n;
    pthread_mutex_unlock(reg_mu(r));
    return n;
}

const orch_workflow_t *orch_registry_at(const orch_registry_t *r, size_t i)
{
    const orch_workflow_t *w;
    pthread_mutex_lock(reg_mu(r));
    w = i < r->n ? r->items[i] : NULL;
    pthread_mutex_unlock(reg_mu(r));
    return w;
}
