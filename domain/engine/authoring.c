/* The authoring short-hands (authoring.h): subscription fields by name, fixed inputs,
 * inventory, the simulated external system, steps not written yet. */
#include "domain/engine/authoring.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"

/* "path=key" -> path (copied into buf) and key; "name" -> both name. */
static const char *split_field(const char *spec, char *path, size_t cap)
{
    const char *eq = strchr(spec, '=');
    size_t n = eq ? (size_t)(eq - spec) : strlen(spec);
    if (n >= cap)
        n = cap - 1;
    memcpy(path, spec, n);
    path[n] = '\0';
    return eq ? eq + 1 : spec;
}

/* Sets one field from a JSON value by its type; absent / null leaves it alone. */
static orch_err_t set_from_json(orch_subscription_t *sub, const char *path, const json_t *v,
                                orch_error_t *err)
{
    if (!v || json_is_null(v))
        return ORCH_OK;
    if (json_is_string(v))
        return orch_sub_set_str(sub, path, json_string_value(v), err);
    if (json_is_integer(v))
        return orch_sub_set_int(sub, path, (int64_t)json_integer_value(v), err);
    if (json_is_boolean(v))
        return orch_sub_set_bool(sub, path, json_is_true(v), err);
    return orch_error_invalid(err, path,
                              "the state's value for %s is not a string, integer or boolean", path);
}

static orch_err_t set_fields(orch_subscription_t *sub, const json_t *state,
                             const char *const *fields, orch_error_t *err)
{
    for (size_t i = 0; fields && fields[i]; i++) {
        char path[256];
        const char *key = split_field(fields[i], path, sizeof(path));
        if (set_from_json(sub, path, json_object_get(state, key), err))
            return err->code;
    }
    return ORCH_OK;
}

static bool has_store(const orch_step_ctx_t *ctx)
{
    return ctx->store && ctx->catalog;
}

static orch_step_result_t no_store(const orch_step_ctx_t *ctx)
{
    return orch_step_fail("NO_STORE", NULL, "step %s needs the store (run it in a server)",
                          ctx->step_key ? ctx->step_key : "?");
}

orch_step_result_t orch_step_create_subscription(orch_step_ctx_t *ctx, const json_t *state,
                                                 const char *description, const char *const *fields)
{
    orch_subscription_t *sub = NULL;
    orch_error_t err;
    orch_step_result_t r;
    const orch_product_t *p;

    orch_error_init(&err);
    if (!has_store(ctx))
        return no_store(ctx);
    p = orch_catalog_find_product_id(ctx->catalog, orch_state_str(state, "product_id", ""));
    if (!p)
        return orch_step_fail("INVALID_INPUT", NULL,
                              "the state has no product_id of a known product");
    if (orch_subscription_new_from_product(p, orch_state_str(state, "customer_id", ""), &sub,
                                           &err) ||
        set_fields(sub, state, fields, &err) ||
        orch_sub_set_description(sub, description && *description ? description : p->def->name,
                                 &err) ||
        ctx->store->subs->save(ctx->store, ctx->tx, NULL, sub, &err)) {
        r = orch_step_fail_error(&err);
        goto out;
    }
    orch_step_ctx_link_subscription(ctx, sub->id);
    r = orch_step_ok(json_pack("{s:s}", "subscription_id", sub->id));
out:
    orch_subscription_free(sub);
    return r;
}

/* The subscription id loaded through the step's unit of work (for update: locked until the
 * step commits), or NULL with *failed set. Both orch_step_sub_open and orch_step_sub_load. */
static orch_subscription_t *load_sub(orch_step_ctx_t *ctx, const char *id, bool for_update,
                                     orch_step_result_t *failed)
{
    orch_subscription_t *sub = NULL;
    orch_error_t err;

    orch_error_init(&err);
    if (!has_store(ctx)) {
        *failed = no_store(ctx);
        return NULL;
    }
    if (ctx->store->subs->load(ctx->store, ctx->tx, &ctx->ctx, ctx->catalog, id, for_update, &sub,
                               &err)) {
        *failed = orch_step_fail_error(&err);
        return NULL;
    }
    return sub;
}

orch_subscription_t *orch_step_sub_open(orch_step_ctx_t *ctx, const json_t *state,
                                        orch_step_result_t *failed)
{
    const char *id = orch_state_str(state, "subscription_id", NULL);

    if (!has_store(ctx)) {
        *failed = no_store(ctx);
        return NULL;
    }
    if (!id || !*id) {
        *failed = orch_step_fail("NO_SUBSCRIPTION", NULL,
                                 "the state has no subscription_id for step %s", ctx->step_key);
        return NULL;
    }
    return load_sub(ctx, id, true, failed);
}

orch_step_result_t orch_step_sub_save(orch_step_ctx_t *ctx, orch_subscription_t *sub,
                                      json_t *changes)
{
    orch_error_t err;
    orch_step_result_t r;

    orch_error_init(&err);
    if (!sub) {
        json_decref(changes);
        return orch_step_fail("NO_SUBSCRIPTION", NULL, "step %s has no subscription to save",
                              ctx->step_key);
    }
    if (ctx->store->subs->save(ctx->store, ctx->tx, NULL, sub, &err)) {
        json_decref(changes);
        r = orch_step_fail_error(&err);
    } else {
        orch_step_ctx_link_subscription(ctx, sub->id);
        r = orch_step_ok(changes);
    }
    orch_subscription_free(sub);
    return r;
}

/* What a write helper does to the subscription it opened: change it from the state and arg. */
typedef orch_err_t (*change_fn)(orch_subscription_t *sub, const json_t *state, const void *arg,
                                orch_error_t *err);

/* The open / change / save sequence of every helper that writes the subscription
 * state.subscription_id (save fields, edit, set values, validate): one place frees it on a
 * failure and saves it, with changes (stolen; dropped on a failure), on success. */
static orch_step_result_t change_and_save(orch_step_ctx_t *ctx, const json_t *state,
                                          change_fn change, const void *arg, json_t *changes)
{
    orch_step_result_t failed;
    orch_error_t err;
    orch_subscription_t *sub = orch_step_sub_open(ctx, state, &failed);

    if (!sub) {
        json_decref(changes);
        return failed;
    }
    orch_error_init(&err);
    if (change(sub, state, arg, &err)) {
        json_decref(changes);
        orch_subscription_free(sub);
        return orch_step_fail_error(&err);
    }
    return orch_step_sub_save(ctx, sub, changes);
}

static orch_err_t change_fields(orch_subscription_t *sub, const json_t *state, const void *fields,
                                orch_error_t *err)
{
    return set_fields(sub, state, fields, err);
}

orch_step_result_t orch_step_save_fields(orch_step_ctx_t *ctx, const json_t *state,
                                         const char *const *fields)
{
    return change_and_save(ctx, state, change_fields, fields, NULL);
}

orch_step_result_t orch_step_check_subscription(orch_step_ctx_t *ctx, json_t *state)
{
    orch_step_result_t failed;
    orch_error_t err;
    orch_subscription_t *sub = orch_step_sub_open(ctx, state, &failed);

    if (!sub)
        return failed;
    orch_error_init(&err);
    if (orch_sub_validate(sub, &err)) {
        orch_subscription_free(sub);
        return orch_step_fail_error(&err);
    }
    orch_subscription_free(sub); /* read only: nothing to save */
    return orch_step_ok(json_pack("{s:b}", "valid", 1));
}

/* One field's value as JSON: its type from the catalogue definition of its block. */
static json_t *field_json(const orch_subscription_t *sub, const char *path)
{
    orch_error_t err;
    const char *s = NULL;
    int64_t i = 0;
    bool b = false, set = false;

    orch_error_init(&err);
    if (orch_sub_is_set(sub, path, &set, &err) || !set)
        return json_null();
    orch_error_init(&err);
    if (orch_sub_get_str(sub, path, &s, &err) == 0 && s)
        return json_string(s);
    orch_error_init(&err);
    if (orch_sub_get_int(sub, path, &i, &err) == 0)
        return json_integer((json_int_t)i);
    orch_error_init(&err);
    if (orch_sub_get_bool(sub, path, &b, &err) == 0)
        return json_boolean(b);
    return json_null();
}

orch_step_result_t orch_step_load_fields(orch_step_ctx_t *ctx, const json_t *state,
                                         const char *prefix, const char *const *fields)
{
    orch_subscription_t *sub = NULL;
    orch_error_t err;
    json_t *out;
    const char *id = orch_state_str(state, "subscription_id", "");

    orch_error_init(&err);
    if (!has_store(ctx))
        return no_store(ctx);
    if (ctx->store->subs->load(ctx->store, ctx->tx, &ctx->ctx, ctx->catalog, id, false, &sub, &err))
        return orch_step_fail_error(&err);
    out = json_object();
    for (size_t i = 0; fields && fields[i]; i++) {
        char path[256], key[320];
        const char *name = split_field(fields[i], path, sizeof(path));
        snprintf(key, sizeof(key), "%s%s", prefix ? prefix : "", name);
        json_object_set_new(out, key, field_json(sub, path));
    }
    orch_subscription_free(sub);
    return orch_step_ok(out);
}

const char *orch_step_fixed_input(orch_step_ctx_t *ctx, const json_t *state, const char *name,
                                  const char *dflt)
{
    const orch_product_t *p = NULL;
    const char *pid = orch_state_str(state, "product_id", NULL);

    if (!ctx->catalog)
        return dflt;
    if (pid && *pid)
        p = orch_catalog_find_product_id(ctx->catalog, pid);
    if (!p && ctx->store) {
        orch_subscription_t *sub = NULL;
        orch_error_t err;
        orch_error_init(&err);
        if (ctx->store->subs->load(ctx->store, ctx->tx, &ctx->ctx, ctx->catalog,
                                   orch_state_str(state, "subscription_id", ""), false, &sub,
                                   &err) == 0)
            p = sub->product; /* borrowed from the catalogue, which outlives sub */
        orch_subscription_free(sub);
    }
    if (!p || !p->def->fixed_inputs)
        return dflt;
    for (const orch_fixed_input_t *fi = p->def->fixed_inputs; fi->name; fi++)
        if (strcmp(fi->name, name) == 0)
            return fi->value;
    return dflt;
}

long long orch_step_fixed_input_int(orch_step_ctx_t *ctx, const json_t *state, const char *name,
                                    long long dflt)
{
    const char *v = orch_step_fixed_input(ctx, state, name, NULL);
    char *end = NULL;
    long long n;
    if (!v || !*v)
        return dflt;
    n = strtoll(v, &end, 10);
    return end && *end == '\0' ? n : dflt;
}

orch_step_result_t orch_step_allocate(orch_step_ctx_t *ctx, const char *pool, const char *state_key)
{
    orch_error_t err;
    long long v = 0;
    orch_error_init(&err);
    if (!ctx->store)
        return no_store(ctx);
    if (ctx->store->catalog->inventory_allocate(ctx->store, ctx->tx, NULL, pool, ctx->process_id,
                                                &v, &err))
        return orch_step_wait(err.reason, NULL, "%s allocation failed: %s", pool, err.message);
    return orch_step_ok(json_pack("{s:I}", state_key, (json_int_t)v));
}

orch_step_result_t orch_step_sim_callback(orch_step_ctx_t *ctx, json_t *state)
{
    const char *dir = getenv("ORCH_SIM_CALLBACK_DIR");
    char path[1024];
    int fd;
    (void)state;
    if (!dir || !*dir) {
        orch_step_log(ORCH_LOG_INFO, ctx, "simulated external system answered at once");
        return orch_step_skip();
    }
    snprintf(path, sizeof(path), "%s/%s.%s", dir, ctx->process_id, ctx->step_key);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, ctx->callback_token, strlen(ctx->callback_token)) < 0) {
        if (fd >= 0)
            close(fd);
        return orch_step_fail("EXTERNAL_SYSTEM_UNAVAILABLE", NULL,
                              "the simulated external system cannot be reached (%s)", path);
    }
    close(fd);
    orch_step_log(ORCH_LOG_INFO, ctx,
                  "request handed to the external system; waiting for its "
                  "callback");
    return orch_step_ok(NULL);
}

orch_step_result_t orch_step_todo(orch_step_ctx_t *ctx, json_t *state)
{
    (void)state;
    orch_step_log(ORCH_LOG_WARN, ctx, "step %s is not written yet (TODO): skipped", ctx->step_key);
    return orch_step_skip();
}

/* ---- results -------------------------------------------------------------------------------- */

orch_step_result_t orch_step_ok_str(const char *key, const char *value)
{
    return orch_step_ok(json_pack("{s:s}", key, value));
}

orch_step_result_t orch_step_ok_bool(const char *key, bool value)
{
    return orch_step_ok(json_pack("{s:b}", key, value));
}

orch_step_result_t orch_step_invalid(const char *field, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    return orch_step_fail("INVALID_INPUT", field ? json_pack("{s:s}", "field", field) : NULL, "%s",
                          message);
}

/* ---- subscriptions built by hand ------------------------------------------------------------ */

orch_subscription_t *orch_step_sub_new(orch_step_ctx_t *ctx, const json_t *state,
                                       const char *const *fields, orch_step_result_t *failed)
{
    orch_subscription_t *sub = NULL;
    orch_error_t err;
    const orch_product_t *p;

    orch_error_init(&err);
    if (!has_store(ctx)) {
        *failed = no_store(ctx);
        return NULL;
    }
    p = orch_catalog_find_product_id(ctx->catalog, orch_state_str(state, "product_id", ""));
    if (!p) {
        *failed = orch_step_fail("INVALID_INPUT", NULL, "the product is gone");
        return NULL;
    }
    if (orch_subscription_new_from_product(p, orch_state_str(state, "customer_id", ""), &sub,
                                           &err) ||
        set_fields(sub, state, fields, &err)) {
        *failed = orch_step_fail_error(&err);
        orch_subscription_free(sub);
        return NULL;
    }
    return sub;
}

orch_step_result_t orch_step_sub_create(orch_step_ctx_t *ctx, orch_subscription_t *sub,
                                        orch_describe_fn describe)
{
    orch_error_t err;
    orch_step_result_t r;
    char *label = describe ? describe(sub) : NULL;

    orch_error_init(&err);
    if ((label && orch_sub_set_description(sub, label, &err)) ||
        ctx->store->subs->save(ctx->store, ctx->tx, NULL, sub, &err)) {
        r = orch_step_fail_error(&err);
    } else {
        orch_step_ctx_link_subscription(ctx, sub->id);
        r = orch_step_ok_str("subscription_id", sub->id);
    }
    free(label);
    orch_subscription_free(sub);
    return r;
}

orch_step_result_t orch_step_sub_finish(orch_step_ctx_t *ctx, orch_subscription_t *sub,
                                        const orch_error_t *built, orch_describe_fn describe)
{
    if (built->code) {
        orch_subscription_free(sub);
        return orch_step_fail_error(built);
    }
    return orch_step_sub_create(ctx, sub, describe);
}

orch_subscription_t *orch_step_sub_load(orch_step_ctx_t *ctx, const char *id,
                                        orch_step_result_t *failed)
{
    return load_sub(ctx, id ? id : "", false, failed);
}

/* arg: the orch_sub_edit_fn (a function pointer does not travel as a void pointer). */
static orch_err_t change_edit(orch_subscription_t *sub, const json_t *state, const void *arg,
                              orch_error_t *err)
{
    const orch_sub_edit_fn *edit = arg;
    return (*edit)(sub, state, err);
}

orch_step_result_t orch_step_edit(orch_step_ctx_t *ctx, const json_t *state, orch_sub_edit_fn edit)
{
    return change_and_save(ctx, state, change_edit, &edit, NULL);
}

static orch_err_t set_value(orch_subscription_t *sub, const orch_value_t *v, orch_error_t *err)
{
    switch (v->type) {
    case ORCH_VALUE_STR:
        return orch_sub_set_str(sub, v->path, v->s, err);
    case ORCH_VALUE_INT:
        return orch_sub_set_int(sub, v->path, (int64_t)v->i, err);
    case ORCH_VALUE_BOOL:
        return orch_sub_set_bool(sub, v->path, v->b, err);
    }
    return orch_error_invalid(err, v->path, "value of %s has no type", v->path);
}

static orch_err_t change_values(orch_subscription_t *sub, const json_t *state, const void *arg,
                                orch_error_t *err)
{
    (void)state; /* fixed values: the state is not read */
    for (const orch_value_t *v = arg; v && v->path; v++)
        if (set_value(sub, v, err))
            return err->code;
    return ORCH_OK;
}

orch_step_result_t orch_step_set_values(orch_step_ctx_t *ctx, const json_t *state,
                                        const orch_value_t *values)
{
    return change_and_save(ctx, state, change_values, values, NULL);
}

static orch_err_t change_validate(orch_subscription_t *sub, const json_t *state, const void *arg,
                                  orch_error_t *err)
{
    (void)state;
    (void)arg;
    return orch_sub_validate(sub, err);
}

orch_step_result_t orch_step_validate_subscription(orch_step_ctx_t *ctx, json_t *state)
{
    return change_and_save(ctx, state, change_validate, NULL, json_pack("{s:b}", "valid", 1));
}

const orch_step_def_t orch_validate_subscription_steps[] = {
    ORCH_STEP("validate_subscription", "Check the subscription", orch_step_validate_subscription),
    ORCH_STEPS_END,
};
const orch_step_io_t orch_validate_subscription_io[] = {
    {"validate_subscription", ORCH_KEYS("subscription_id"), ORCH_KEYS("valid")},
    {0},
};

/* ---- reading a subscription ----------------------------------------------------------------- */

const char *orch_sub_str_or(const orch_subscription_t *sub, const char *path, const char *dflt)
{
    const char *v = NULL;
    orch_error_t err;
    orch_error_init(&err);
    return orch_sub_get_str(sub, path, &v, &err) == ORCH_OK && v && *v ? v : dflt;
}

const char *orch_sub_fixed_input(const orch_subscription_t *sub, const char *name)
{
    for (const orch_fixed_input_t *fi = sub->product->def->fixed_inputs; fi && fi->name; fi++)
        if (strcmp(fi->name, name) == 0)
            return fi->value;
    return NULL;
}

void orch_sub_speed_text(const orch_subscription_t *sub, char *out, size_t size)
{
    const char *v = orch_sub_fixed_input(sub, "speed");
    long long mbit = v ? atoll(v) : 0;
    if (mbit <= 0)
        snprintf(out, size, "%s", "");
    else if (mbit % 1000 == 0)
        snprintf(out, size, " %lldG", mbit / 1000);
    else
        snprintf(out, size, " %lldM", mbit);
}

/* ---- inventory and simulated systems -------------------------------------------------------- */

orch_step_result_t orch_step_allocate_step(orch_step_ctx_t *ctx, const json_t *state,
                                           const char *pool, const char *state_key)
{
    (void)state; /* a step's signature; the allocation is the process's, not the state's */
    return orch_step_allocate(ctx, pool, state_key);
}

orch_step_result_t orch_step_save_inventory_ids(orch_step_ctx_t *ctx, json_t *state)
{
    return ORCH_SAVE_FIELDS(ctx, state, "ims_id", "nrm_id");
}

orch_step_result_t orch_step_allocate_all(orch_step_ctx_t *ctx, const json_t *state,
                                          const char *const *pool_key_pairs)
{
    json_t *out = json_object();
    (void)state;
    for (size_t i = 0; pool_key_pairs[i] && pool_key_pairs[i + 1]; i += 2) {
        orch_step_result_t r = orch_step_allocate(ctx, pool_key_pairs[i], pool_key_pairs[i + 1]);
        if (r.outcome != ORCH_STEP_SUCCESS) {
            json_decref(out);
            return r;
        }
        json_object_update(out, r.changes);
        json_decref(r.changes);
    }
    return orch_step_ok(out);
}

orch_step_result_t orch_step_push_config(orch_step_ctx_t *ctx, json_t *state)
{
    orch_step_result_t r = orch_step_sim_callback(ctx, state);
    if (r.outcome == ORCH_STEP_SUCCESS) {
        json_decref(r.changes);
        r.changes = json_pack("{s:s}", "config_push", "requested");
    }
    return r;
}

orch_step_result_t orch_step_sim_remove_service(orch_step_ctx_t *ctx, json_t *state)
{
    (void)state;
    orch_step_log(ORCH_LOG_INFO, ctx, "service removed from the network (simulated)");
    return orch_step_ok_bool("service_removed", true);
}

/* ---- forms ---------------------------------------------------------------------------------- */

/* A subscription as a choice label: its description, or, when it has none (made before
 * descriptions were given, or by hand), its product's name and the start of its id. Never
 * empty. Caller frees. */
static char *choice_label(const orch_subscription_t *sub)
{
    if (sub->description && *sub->description)
        return orch_strdup(sub->description);
    return orch_asprintf("%s %.8s", sub->product->def->name, sub->id);
}

json_t *orch_form_subscription_choices(const orch_form_env_t *env, const json_t *answers,
                                       const char *product_type)
{
    json_t *out = json_array();
    orch_sub_page_t page = {0};
    orch_error_t err;
    char filter[128];
    orch_sub_query_t q = {0};
    (void)answers; /* the choices do not depend on earlier pages */
    if (!env || !env->store || !env->catalog)
        return out;
    snprintf(filter, sizeof(filter), "product_type = \"%s\" AND status = \"active\"", product_type);
    q.filter = filter;
    q.page_size = 500;
    orch_error_init(&err);
    if (env->store->subs->list(env->store, NULL, env->ctx, env->catalog, &q, &page, &err) == 0)
        for (size_t i = 0; i < page.n; i++) {
            char *label = choice_label(page.items[i]);
            json_array_append_new(
                out, json_pack("{s:s, s:s}", "value", page.items[i]->id, "label", label));
            free(label);
        }
    orch_sub_page_cleanup(&page);
    return out;
}

orch_subscription_t *orch_form_sub_load(const orch_form_env_t *env, const char *id)
{
    orch_subscription_t *sub = NULL;
    orch_error_t err;
    if (!env || !env->store || !env->catalog || !id)
        return NULL;
    orch_error_init(&err);
    if (env->store->subs->load(env->store, env->tx, env->ctx, env->catalog, id, false, &sub, &err))
        return NULL;
    return sub;
}

size_t orch_form_check_different(const orch_form_env_t *env, size_t index, const json_t *answers,
                                 const char *path, orch_error_t *err, size_t page,
                                 const char *key_a, const char *key_b, const char *message)
{
    char field[96];
    (void)env; /* a form check's signature; the rule reads the answers only */
    if (index != page ||
        strcmp(orch_state_str(answers, key_a, ""), orch_state_str(answers, key_b, "")) != 0)
        return 0;
    snprintf(field, sizeof(field), "%s.%s", path, key_b);
    if (err)
        orch_error_add_violation(err, field, "%s", message);
    return 1;
}
