/* Forms: rendering pages as JSON Schema and validating answers (docs/FORMS.md). */
#include "domain/forms/forms.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/ids.h"

#define MAX_SAFE 9007199254740992.0 /* 2^53 */

const orch_form_page_t *orch_form_page_at(const orch_form_t *form, const orch_form_env_t *env,
                                          size_t index, const json_t *answers)
{
    if (!form)
        return NULL;
    if (form->next)
        return form->next(env, index, answers);
    for (size_t i = 0; form->pages && form->pages[i].fields; i++)
        if (i == index)
            return &form->pages[i];
    return NULL;
}

/* ---- choices ----------------------------------------------------------------------------------
 */

/* A choice's label: the label given when it is a non-empty string, else the value as text,
 * so that a person never chooses among blanks (new reference). */
static json_t *choice_label(const json_t *label, const json_t *value)
{
    if (json_is_string(label) && json_string_length(label) > 0)
        return json_incref((json_t *)label);
    if (json_is_string(value))
        return json_incref((json_t *)value);
    {
        char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
        json_t *out = json_string(text ? text : "?");
        free(text);
        return out;
    }
}

/* The field's choices as a JSON array of {"value", "label"} (new reference). */
static json_t *choices_of(const orch_form_field_t *f, const orch_form_env_t *env,
                          const json_t *answers)
{
    json_t *out = json_array(), *raw = NULL;
    size_t i;
    json_t *v;
    if (f->choices)
        for (const char *const *c = f->choices; *c; c++)
            json_array_append_new(out, json_pack("{s:s, s:s}", "value", *c, "label", *c));
    if (f->choices_fn)
        raw = f->choices_fn(env, answers);
    json_array_foreach(raw, i, v)
    {
        const json_t *value =
            json_is_object(v) && json_object_get(v, "value") ? json_object_get(v, "value") : v;
        const json_t *label = value == v ? NULL : json_object_get(v, "label");
        json_array_append_new(
            out, json_pack("{s:O, s:o}", "value", value, "label", choice_label(label, value)));
    }
    json_decref(raw);
    return out;
}

static bool in_choices(const json_t *choices, const json_t *v)
{
    size_t i;
    json_t *c;
    json_array_foreach(choices, i,
                       c) if (json_equal(json_object_get(c, "value"), (json_t *)v)) return true;
    return false;
}

/* ---- schema -----------------------------------------------------------------------------------
 */

static json_t *field_schema(const orch_form_field_t *f, const orch_form_env_t *env,
                            const json_t *answers);

static json_t *object_schema(const orch_form_field_t *fields, const orch_form_env_t *env,
                             const json_t *answers)
{
    json_t *o = json_pack("{s:s}", "type", "object"), *props = json_object(), *req = json_array();
    for (const orch_form_field_t *f = fields; f && f->name; f++) {
        json_object_set_new(props, f->name, field_schema(f, env, answers));
        if (f->required && !f->default_json && f->type != ORCH_FORM_LABEL)
            json_array_append_new(req, json_string(f->name));
    }
    json_object_set_new(o, "properties", props);
    json_object_set_new(o, "required", req);
    json_object_set_new(o, "additionalProperties", json_false());
    return o;
}

/* The bounds of both list kinds (a multi choice: values; a list: items) in a schema: the
 * counts list_in_bounds checks when the answers come back. */
static void list_bounds_schema(json_t *s, const orch_form_field_t *f)
{
    if (f->has_min)
        json_object_set_new(s, "minItems", json_integer(f->min));
    if (f->has_max)
        json_object_set_new(s, "maxItems", json_integer(f->max));
}

static json_t *field_schema(const orch_form_field_t *f, const orch_form_env_t *env,
                            const json_t *answers)
{
    json_t *s = json_object(), *choices;
    switch (f->type) {
    case ORCH_FORM_STRING:
        json_object_set_new(s, "type", json_string("string"));
        if (f->has_min)
            json_object_set_new(s, "minLength", json_integer(f->min));
        if (f->has_max)
            json_object_set_new(s, "maxLength", json_integer(f->max));
        if (f->pattern)
            json_object_set_new(s, "pattern", json_sprintf("^(%s)$", f->pattern));
        break;
    case ORCH_FORM_INTEGER:
        json_object_set_new(s, "type", json_string("integer"));
        json_object_set_new(s, "minimum", json_integer(f->has_min ? f->min : -(1LL << 53)));
        json_object_set_new(s, "maximum", json_integer(f->has_max ? f->max : (1LL << 53)));
        break;
    case ORCH_FORM_BOOLEAN:
        json_object_set_new(s, "type", json_string("boolean"));
        break;
    case ORCH_FORM_UUID:
        json_object_set_new(s, "type", json_string("string"));
        json_object_set_new(s, "format", json_string("uuid"));
        break;
    case ORCH_FORM_CHOICE:
    case ORCH_FORM_MULTI_CHOICE: {
        json_t *en = json_array(), *labels = json_array(), *c, *target = s;
        size_t i;
        choices = choices_of(f, env, answers);
        json_array_foreach(choices, i, c)
        {
            json_array_append(en, json_object_get(c, "value"));
            json_array_append(labels, json_object_get(c, "label"));
        }
        json_decref(choices);
        if (f->type == ORCH_FORM_MULTI_CHOICE) {
            json_object_set_new(s, "type", json_string("array"));
            json_object_set_new(s, "uniqueItems", json_true());
            list_bounds_schema(s, f);
            target = json_object();
            json_object_set_new(s, "items", target);
        }
        json_object_set_new(target, "enum", en);
        json_object_set_new(target, "x-orch-enum-labels", labels);
        json_object_set_new(s, "x-orch-widget",
                            json_string(f->type == ORCH_FORM_CHOICE ? "select" : "multiselect"));
        break;
    }
    case ORCH_FORM_OBJECT:
        json_decref(s);
        s = object_schema(f->fields, env, answers);
        break;
    case ORCH_FORM_LIST:
        json_object_set_new(s, "type", json_string("array"));
        if (f->fields && f->fields[0].name)
            json_object_set_new(s, "items", field_schema(&f->fields[0], env, answers));
        list_bounds_schema(s, f);
        break;
    case ORCH_FORM_LABEL:
        json_object_set_new(s, "type", json_string("null"));
        json_object_set_new(s, "readOnly", json_true());
        json_object_set_new(s, "x-orch-widget", json_string("label"));
        break;
    }
    if (f->title)
        json_object_set_new(s, "title", json_string(f->title));
    if (f->description)
        json_object_set_new(s, "description", json_string(f->description));
    if (f->default_json) {
        json_t *d = json_loads(f->default_json, JSON_DECODE_ANY, NULL);
        if (d)
            json_object_set_new(s, "default", d);
    }
    if (f->read_only)
        json_object_set_new(s, "readOnly", json_true());
    if (f->secret) {
        json_object_set_new(s, "writeOnly", json_true());
        json_object_set_new(s, "x-orch-widget", json_string("password"));
    }
    if (f->widget)
        json_object_set_new(s, "x-orch-widget", json_string(f->widget));
    return s;
}

json_t *orch_form_page_schema(const orch_form_page_t *page, const orch_form_env_t *env,
                              size_t index, const json_t *answers)
{
    json_t *s = object_schema(page->fields, env, answers);
    json_object_set_new(s, "$schema", json_string("https://json-schema.org/draft/2020-12/schema"));
    if (page->title)
        json_object_set_new(s, "title", json_string(page->title));
    json_object_set_new(s, "x-orch-page", json_integer((json_int_t)index));
    return s;
}

/* ---- validation -------------------------------------------------------------------------------
 */

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool pattern_ok(const char *pattern, const char *s)
{
    regex_t re;
    char *anchored = orch_asprintf("^(%s)$", pattern);
    bool ok = false;
    if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) == 0) {
        ok = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
    }
    free(anchored);
    return ok;
}

typedef struct vstate {
    const orch_form_env_t *env;
    const json_t *answers;
    orch_error_t *err;
    size_t n;
} vstate_t;

static void bad(vstate_t *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bad(vstate_t *v, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    orch_error_vadd_violation(v->err, path, fmt, ap); /* no err: counted only */
    va_end(ap);
    v->n++;
}

static const char *label_of(const orch_form_field_t *f)
{
    return f->title ? f->title : f->name;
}

static json_t *validate_value(vstate_t *v, const orch_form_field_t *f, const json_t *in,
                              const char *path, json_t **masked);

/* Validates an object of fields; returns the clean object (and *masked). */
static json_t *validate_object(vstate_t *v, const orch_form_field_t *fields, const json_t *in,
                               const char *path, json_t **masked)
{
    json_t *clean = json_object(), *mask = json_object();
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)in, k, val)
    {
        bool known = false;
        for (const orch_form_field_t *f = fields; f && f->name && !known; f++)
            known = strcmp(f->name, k) == 0;
        if (!known) {
            char *p = orch_asprintf("%s.%s", path, k);
            bad(v, p, "%s is not a field of this form", k);
            free(p);
        }
    }
    for (const orch_form_field_t *f = fields; f && f->name; f++) {
        const json_t *x = json_object_get(in, f->name);
        char *p = orch_asprintf("%s.%s", path, f->name);
        json_t *m = NULL, *c;
        if (f->type == ORCH_FORM_LABEL) {
            free(p);
            continue;
        }
        if (!x || json_is_null(x)) {
            json_t *d = f->default_json ? json_loads(f->default_json, JSON_DECODE_ANY, NULL) : NULL;
            if (d) {
                json_object_set(clean, f->name, d);
                json_object_set_new(mask, f->name, f->secret ? json_string(ORCH_SECRET_MASK) : d);
                if (f->secret)
                    json_decref(d);
            } else if (f->required) {
                bad(v, p, "%s is required", label_of(f));
            }
            free(p);
            continue;
        }
        if (f->read_only) {
            json_t *d =
                f->default_json ? json_loads(f->default_json, JSON_DECODE_ANY, NULL) : json_null();
            if (!json_equal(d, (json_t *)x))
                bad(v, p, "%s is read-only and cannot be changed", label_of(f));
            json_decref(d);
        }
        c = validate_value(v, f, x, p, &m);
        if (c) {
            json_object_set_new(clean, f->name, c);
            json_object_set_new(mask, f->name, f->secret ? json_string(ORCH_SECRET_MASK) : m);
            if (f->secret)
                json_decref(m);
        }
        free(p);
    }
    *masked = mask;
    return clean;
}

/* Text: its length in characters within min and max, matching the pattern if any. */
static json_t *validate_string(vstate_t *v, const orch_form_field_t *f, const json_t *in,
                               const char *path)
{
    size_t len;

    if (!json_is_string(in)) {
        bad(v, path, "%s must be text", label_of(f));
        return NULL;
    }
    len = utf8_len(json_string_value(in));
    if (f->has_min && (long long)len < f->min) {
        bad(v, path, "%s must be at least %lld characters long", label_of(f), f->min);
        return NULL;
    }
    if (f->has_max && (long long)len > f->max) {
        bad(v, path, "%s must be at most %lld characters long", label_of(f), f->max);
        return NULL;
    }
    if (f->pattern && !pattern_ok(f->pattern, json_string_value(in))) {
        bad(v, path, "%s does not have the expected form (%s)", label_of(f), f->pattern);
        return NULL;
    }
    return json_incref((json_t *)in);
}

/* A whole number, exact in a double (JavaScript clients), within min and max. A real is
 * refused with the reason that fits it. */
static json_t *validate_integer(vstate_t *v, const orch_form_field_t *f, const json_t *in,
                                const char *path)
{
    json_int_t i;

    if (json_is_real(in)) {
        double d = json_real_value(in);
        if (d > MAX_SAFE || d < -MAX_SAFE)
            bad(v, path, "%s is too large: whole numbers are exact only up to 2^53", label_of(f));
        else if (d != (double)(long long)d)
            bad(v, path, "%s must be a whole number, not %g", label_of(f), d);
        else
            bad(v, path, "%s must be a whole number", label_of(f));
        return NULL;
    }
    if (!json_is_integer(in)) {
        bad(v, path, "%s must be a whole number", label_of(f));
        return NULL;
    }
    i = json_integer_value(in);
    if ((double)i > MAX_SAFE || (double)i < -MAX_SAFE) {
        bad(v, path, "%s is too large: whole numbers are exact only up to 2^53", label_of(f));
        return NULL;
    }
    if ((f->has_min && i < f->min) || (f->has_max && i > f->max)) {
        if (f->has_min && f->has_max)
            bad(v, path, "%s must be between %lld and %lld", label_of(f), f->min, f->max);
        else if (f->has_min)
            bad(v, path, "%s must be at least %lld", label_of(f), f->min);
        else
            bad(v, path, "%s must be at most %lld", label_of(f), f->max);
        return NULL;
    }
    return json_integer(i);
}

/* One of the choices offered (which may depend on the environment and earlier answers). */
static json_t *validate_choice(vstate_t *v, const orch_form_field_t *f, const json_t *in,
                               const char *path)
{
    json_t *choices = choices_of(f, v->env, v->answers);
    bool ok = in_choices(choices, in);

    if (!ok)
        bad(v, path, "%s: choose one of the %zu offered values", label_of(f),
            json_array_size(choices));
    json_decref(choices);
    return ok ? json_incref((json_t *)in) : NULL;
}

/* A list of distinct offered choices, as many as min and max allow. */
/* The rule both list kinds share (a multi choice: values; a list: items): in is an array
 * whose length is within the field's min and max. false, with the violation added, when not. */
static bool list_in_bounds(vstate_t *v, const orch_form_field_t *f, const json_t *in,
                           const char *path, bool choices)
{
    size_t n;

    if (!json_is_array(in)) {
        if (choices)
            bad(v, path, "%s must be a list of choices", label_of(f));
        else
            bad(v, path, "%s must be a list", label_of(f));
        return false;
    }
    n = json_array_size(in);
    if ((f->has_min && (long long)n < f->min) || (f->has_max && (long long)n > f->max)) {
        long long lo = f->has_min ? f->min : 0, hi = f->has_max ? f->max : (long long)n;
        if (choices)
            bad(v, path, "%s: choose between %lld and %lld values", label_of(f), lo, hi);
        else
            bad(v, path, "%s must have between %lld and %lld items", label_of(f), lo, hi);
        return false;
    }
    return true;
}

static json_t *validate_multi_choice(vstate_t *v, const orch_form_field_t *f, const json_t *in,
                                     const char *path)
{
    size_t i;
    json_t *x, *choices;

    if (!list_in_bounds(v, f, in, path, true))
        return NULL;
    choices = choices_of(f, v->env, v->answers);
    json_array_foreach((json_t *)in, i, x)
    {
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup = dup || json_equal(json_array_get(in, j), x);
        if (dup || !in_choices(choices, x)) {
            char *p = orch_asprintf("%s[%zu]", path, i);
            bad(v, p,
                dup ? "%s: each value may be chosen once" : "%s: not one of the offered values",
                label_of(f));
            free(p);
            json_decref(choices);
            return NULL;
        }
    }
    json_decref(choices);
    return json_incref((json_t *)in);
}

/* A nested object: its own fields, validated as a page's are. */
static json_t *validate_nested(vstate_t *v, const orch_form_field_t *f, const json_t *in,
                               const char *path, json_t **masked)
{
    size_t before = v->n;
    json_t *out;

    if (!json_is_object(in)) {
        bad(v, path, "%s must be an object", label_of(f));
        return NULL;
    }
    out = validate_object(v, f->fields, in, path, masked);
    if (v->n != before) {
        json_decref(out);
        json_decref(*masked);
        *masked = NULL;
        return NULL;
    }
    return out;
}

/* A list of items of the field's one item field, as many as min and max allow; each item
 * is masked as that field says. */
static json_t *validate_list(vstate_t *v, const orch_form_field_t *f, const json_t *in,
                             const char *path, json_t **masked)
{
    const orch_form_field_t *item = &f->fields[0];
    size_t i, before = v->n;
    json_t *x, *out, *mask;

    if (!list_in_bounds(v, f, in, path, false))
        return NULL;
    out = json_array();
    mask = json_array();
    json_array_foreach((json_t *)in, i, x)
    {
        char *p = orch_asprintf("%s[%zu]", path, i);
        json_t *m = NULL, *c = validate_value(v, item, x, p, &m);
        free(p);
        if (c) {
            json_array_append_new(out, c);
            json_array_append_new(mask, item->secret ? json_string(ORCH_SECRET_MASK) : m);
            if (item->secret)
                json_decref(m);
        }
    }
    if (v->n != before) {
        json_decref(out);
        json_decref(mask);
        return NULL;
    }
    *masked = mask;
    return out;
}

/* One answer checked against its field: the clean value (new reference), or NULL after
 * recording why in v. *masked gets the value as logs and events may show it. */
static json_t *validate_value(vstate_t *v, const orch_form_field_t *f, const json_t *in,
                              const char *path, json_t **masked)
{
    json_t *out = NULL;

    *masked = NULL;
    switch (f->type) {
    case ORCH_FORM_STRING:
        out = validate_string(v, f, in, path);
        break;
    case ORCH_FORM_INTEGER:
        out = validate_integer(v, f, in, path);
        break;
    case ORCH_FORM_BOOLEAN:
        if (json_is_boolean(in))
            out = json_incref((json_t *)in);
        else
            bad(v, path, "%s must be true or false", label_of(f));
        break;
    case ORCH_FORM_UUID:
        if (json_is_string(in) && orch_uuid_valid(json_string_value(in)))
            out = json_incref((json_t *)in);
        else
            bad(v, path, "%s must be a lower-case UUID", label_of(f));
        break;
    case ORCH_FORM_CHOICE:
        out = validate_choice(v, f, in, path);
        break;
    case ORCH_FORM_MULTI_CHOICE:
        out = validate_multi_choice(v, f, in, path);
        break;
    case ORCH_FORM_OBJECT:
        return validate_nested(v, f, in, path, masked);
    case ORCH_FORM_LIST:
        return validate_list(v, f, in, path, masked);
    case ORCH_FORM_LABEL:
        return NULL;
    }
    if (out)
        *masked = json_incref(out);
    return out;
}

size_t orch_form_validate_page(const orch_form_page_t *page, const orch_form_env_t *env,
                               const json_t *answers, const json_t *input, const char *path,
                               json_t **clean, json_t **masked, orch_error_t *err)
{
    vstate_t v = {env, answers, err, 0};
    json_t *empty = NULL;
    *clean = *masked = NULL;
    if (input && !json_is_object(input)) {
        bad(&v, path, "the answers to a page must be an object");
        return v.n;
    }
    if (!input)
        input = empty = json_object();
    *clean = validate_object(&v, page->fields, input, path, masked);
    json_decref(empty);
    return v.n;
}

json_t *orch_json_deep_merge(const json_t *a, const json_t *b)
{
    json_t *out;
    const char *k;
    json_t *v;
    if (!json_is_object(a) || !json_is_object(b))
        return json_deep_copy(b ? b : a);
    out = json_deep_copy(a);
    json_object_foreach((json_t *)b, k, v)
    {
        json_t *old = json_object_get(out, k);
        json_object_set_new(out, k,
                            json_is_object(old) && json_is_object(v) ? orch_json_deep_merge(old, v)
                                                                     : json_deep_copy(v));
    }
    return out;
}

static bool is_mask(const json_t *j)
{
    return json_is_string(j) && strcmp(json_string_value(j), ORCH_SECRET_MASK) == 0;
}

bool orch_json_has_mask(const json_t *j)
{
    const char *k;
    json_t *v;
    size_t i;
    if (is_mask(j))
        return true;
    if (json_is_object(j)) {
        json_object_foreach((json_t *)j, k, v)
        {
            if (orch_json_has_mask(v))
                return true;
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            if (orch_json_has_mask(v))
                return true;
        }
    }
    return false;
}

json_t *orch_form_secrets(const json_t *answers, const json_t *masked)
{
    json_t *out = NULL, *m;
    const char *k;
    if (!json_is_object(answers) || !json_is_object(masked))
        return NULL;
    json_object_foreach((json_t *)masked, k, m)
    {
        const json_t *a = json_object_get(answers, k);
        json_t *sub = NULL;
        if (!a || json_equal((json_t *)a, m))
            continue;
        if (json_is_object(a) && json_is_object(m))
            sub = orch_form_secrets(a, m);
        else if (is_mask(m) || (json_is_array(m) && orch_json_has_mask(m)))
            sub = json_deep_copy(a);
        if (!sub)
            continue;
        if (!out)
            out = json_object();
        json_object_set_new(out, k, sub);
    }
    return out;
}

void orch_json_mask_like(json_t *target, const json_t *overlay)
{
    const char *k;
    json_t *o;
    if (!json_is_object(target) || !json_is_object(overlay))
        return;
    json_object_foreach((json_t *)overlay, k, o)
    {
        json_t *t = json_object_get(target, k);
        if (!t)
            continue;
        if (json_is_object(t) && json_is_object(o))
            orch_json_mask_like(t, o);
        else
            json_object_set_new(target, k, json_string(ORCH_SECRET_MASK));
    }
}

void orch_form_result_cleanup(orch_form_result_t *r)
{
    json_decref(r->answers);
    json_decref(r->masked);
    json_decref(r->next_page);
    memset(r, 0, sizeof(*r));
}

orch_err_t orch_form_run(const orch_form_t *form, const orch_form_env_t *env,
                         const json_t *const *inputs, size_t n, const char *name,
                         orch_form_result_t *out, orch_error_t *err)
{
    size_t i, bad_total = 0;
    memset(out, 0, sizeof(*out));
    out->answers = json_object();
    out->masked = json_object();
    for (i = 0;; i++) {
        const orch_form_page_t *page = orch_form_page_at(form, env, i, out->answers);
        json_t *clean = NULL, *masked = NULL, *t;
        char path[64];
        if (!page) {
            if (i < n) {
                snprintf(path, sizeof(path), "%s[%zu]", name, i);
                orch_error_add_violation(err, path, "this form has only %zu page%s", i,
                                         i == 1 ? "" : "s");
                bad_total++;
            }
            break;
        }
        if (i >= n) {
            if (bad_total)
                break;
            out->next_page = orch_form_page_schema(page, env, i, out->answers);
            out->page_index = i;
            out->page_title = page->title;
            return ORCH_OK;
        }
        snprintf(path, sizeof(path), "%s[%zu]", name, i);
        bad_total +=
            orch_form_validate_page(page, env, out->answers, inputs[i], path, &clean, &masked, err);
        if (clean && !bad_total && form->check) {
            json_t *all = orch_json_deep_merge(out->answers, clean);
            bad_total += form->check(env, i, all, path, err);
            json_decref(all);
        }
        if (clean) {
            t = orch_json_deep_merge(out->answers, clean);
            json_decref(out->answers);
            out->answers = t;
            t = orch_json_deep_merge(out->masked, masked);
            json_decref(out->masked);
            out->masked = t;
        }
        json_decref(clean);
        json_decref(masked);
        /* A later page may depend on this one: stop at the first page with errors. */
        if (bad_total)
            break;
    }
    if (bad_total) {
        char first[512];
        snprintf(first, sizeof(first), "%s",
                 err->nviolations ? err->violations[0].description : "invalid answers");
        orch_error_set(err, ORCH_INVALID_ARGUMENT, "FORM_INVALID", "%zu answer%s %s wrong: %s",
                       bad_total, bad_total == 1 ? "" : "s", bad_total == 1 ? "is" : "are", first);
        return ORCH_INVALID_ARGUMENT;
    }
    out->complete = true;
    return ORCH_OK;
}
