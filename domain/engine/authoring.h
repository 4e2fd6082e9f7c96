/* Short-hands for workflow authors (docs/AUTHORING.md): steps that read and write the
 * subscription's fields by name, read a product's fixed inputs, allocate from the inventory,
 * call the simulated external system, and mark a step as not written yet. Each is one line
 * in a step instead of a load / change / save / link sequence:
 *
 *     static orch_step_result_t create_subscription(orch_step_ctx_t *ctx, json_t *state)
 *     {
 *         return ORCH_CREATE_SUBSCRIPTION(ctx, state, orch_state_str(state, "name", ""),
 *                                         "name", "rule_set", "max_sessions");
 *     }
 *     static orch_step_result_t update_firewall(orch_step_ctx_t *ctx, json_t *state)
 *     {
 *         return ORCH_SAVE_FIELDS(ctx, state, "rule_set", "max_sessions");
 *     }
 *
 * Field lists name a subscription path and the state key of its value: "max_sessions" is
 * both; "ports[0].port_name=port_a" takes state.port_a. A state key that is absent or null
 * leaves the field alone; the value's JSON type picks the setter (string, integer, boolean)
 * and the catalogue checks it, so a wrong type fails the step naming the path.
 *
 * All of these load and save through ctx->tx: what they change commits with the step's
 * audit row or not at all. Outside a server (ctx->store NULL) they fail NO_STORE. */
#ifndef ORCH_ENGINE_AUTHORING_H
#define ORCH_ENGINE_AUTHORING_H

#include <jansson.h>
#include <stdbool.h>

#include "domain/engine/engine.h"
#include "domain/forms/forms.h"
#include "domain/subscription/subscription.h"

/* Creates a subscription of the product state.product_id for state.customer_id, sets fields
 * (NULL-terminated list, see above) from the state, sets the description (NULL or "" = the
 * product's name), saves it and links it to the process. Returns ok with
 * {"subscription_id": id}, as the CREATE lifecycle expects. */
orch_step_result_t orch_step_create_subscription(orch_step_ctx_t *ctx, const json_t *state,
                                                 const char *description,
                                                 const char *const *fields);
#define ORCH_CREATE_SUBSCRIPTION(ctx, state, description, ...)                                     \
    orch_step_create_subscription((ctx), (state), (description),                                   \
                                  (const char *const[]){__VA_ARGS__, NULL})

/* Sets fields of the subscription state.subscription_id from the state and saves it. */
orch_step_result_t orch_step_save_fields(orch_step_ctx_t *ctx, const json_t *state,
                                         const char *const *fields);
#define ORCH_SAVE_FIELDS(ctx, state, ...)                                                          \
    orch_step_save_fields((ctx), (state), (const char *const[]){__VA_ARGS__, NULL})

/* The subscription's current field values (as committed before this step) copied into the
 * state: ok with {"<prefix><key>": value} for each listed field ("path=key" names the key).
 * Unset fields become null. A modify workflow uses it to compare old and new values. */
orch_step_result_t orch_step_load_fields(orch_step_ctx_t *ctx, const json_t *state,
                                         const char *prefix, const char *const *fields);
#define ORCH_LOAD_FIELDS(ctx, state, prefix, ...)                                                  \
    orch_step_load_fields((ctx), (state), (prefix), (const char *const[]){__VA_ARGS__, NULL})

/* For steps that need more than fields: the subscription state.subscription_id loaded for
 * update (NULL, with *failed set to the failure to return, when it cannot be loaded), then
 * orch_step_sub_save, which saves, links, frees it and returns ok with changes (stolen) or
 * the failure. Between the two, use the orch_sub_* functions of subscription.h. */
orch_subscription_t *orch_step_sub_open(orch_step_ctx_t *ctx, const json_t *state,
                                        orch_step_result_t *failed);
orch_step_result_t orch_step_sub_save(orch_step_ctx_t *ctx, orch_subscription_t *sub,
                                      json_t *changes);

/* A step that checks the subscription state.subscription_id against the catalogue and its
 * lifecycle status (orch_sub_validate): ok with {"valid": true}, or the failure naming the
 * field. Usable as a validate workflow's step function as is. */
orch_step_result_t orch_step_check_subscription(orch_step_ctx_t *ctx, json_t *state);

/* A fixed input of the product (state.product_id, or the product of state.subscription_id):
 * its value as text (static, from the catalogue), or dflt when the product has none by that
 * name. The integer form parses it. */
const char *orch_step_fixed_input(orch_step_ctx_t *ctx, const json_t *state, const char *name,
                                  const char *dflt);
long long orch_step_fixed_input_int(orch_step_ctx_t *ctx, const json_t *state, const char *name,
                                    long long dflt);

/* The next number of an inventory pool (created on first use), taken for this process in
 * the step's unit of work; ok with {state_key: n}, or WAIT naming the pool. */
orch_step_result_t orch_step_allocate(orch_step_ctx_t *ctx, const char *pool,
                                      const char *state_key);

/* A CALLBACK step's action for an external system that does not exist yet: with
 * ORCH_SIM_CALLBACK_DIR set, the token goes to <dir>/<process_id>.<step_key> (mode 0600)
 * for whoever plays the system (the test kit's kit_callback, or a person with orchctl
 * process callback deliver) and the process waits; without it the system "answers at once"
 * (the step is skipped). */
orch_step_result_t orch_step_sim_callback(orch_step_ctx_t *ctx, json_t *state);

/* A step not written yet: logs "step KEY is not written yet (TODO)" and returns skip, so
 * the audit log shows it skipped and a test can assert exactly that. */
orch_step_result_t orch_step_todo(orch_step_ctx_t *ctx, json_t *state);

/* ---- Results without JSON plumbing ------------------------------------------------------ */

/* ok with one change: {key: value}. */
orch_step_result_t orch_step_ok_str(const char *key, const char *value);
orch_step_result_t orch_step_ok_bool(const char *key, bool value);
/* A failure INVALID_INPUT naming the input field at fault (details {"field": field}; NULL:
 * none), as a step that checks its input reports it. */
orch_step_result_t orch_step_invalid(const char *field, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- Subscriptions a step builds by hand ------------------------------------------------ */

/* A new subscription (in memory, not saved) of the product state.product_id for
 * state.customer_id, with fields (NULL-terminated list, as above) set from the state; NULL,
 * with *failed set, when it cannot be made. Set the rest with the orch_sub_* functions, then
 * orch_step_sub_create. */
orch_subscription_t *orch_step_sub_new(orch_step_ctx_t *ctx, const json_t *state,
                                       const char *const *fields, orch_step_result_t *failed);
#define ORCH_SUB_NEW(ctx, state, failed, ...)                                                      \
    orch_step_sub_new((ctx), (state), (const char *const[]){__VA_ARGS__, NULL}, (failed))

/* Sets sub's description to describe(sub) (NULL: keep it; caller of describe frees what it
 * returns), saves the new sub, links it to the process and frees it; ok with
 * {"subscription_id": id}, as the CREATE lifecycle expects. */
typedef char *(*orch_describe_fn)(const orch_subscription_t *sub);
orch_step_result_t orch_step_sub_create(orch_step_ctx_t *ctx, orch_subscription_t *sub,
                                        orch_describe_fn describe);

/* The one exit of a step that builds a subscription by hand: built holds the first error of
 * the orch_sub_* calls that filled sub (orch_error_init'ed, code 0 when none failed). With
 * an error, sub is freed and the step fails with it; else as orch_step_sub_create. Takes sub
 * either way, so the step needs no failure label of its own. */
orch_step_result_t orch_step_sub_finish(orch_step_ctx_t *ctx, orch_subscription_t *sub,
                                        const orch_error_t *built, orch_describe_fn describe);

/* Another subscription (a node a port is on, the ports of a circuit), read only: NULL, with
 * *failed set, when it cannot be loaded. The caller frees it (orch_subscription_free). */
orch_subscription_t *orch_step_sub_load(orch_step_ctx_t *ctx, const char *id,
                                        orch_step_result_t *failed);

/* An edit of the subscription state.subscription_id: loaded for update, edit changes it
 * (from the state), saved and linked to the process. ok with no changes, or the failure. */
typedef orch_err_t (*orch_sub_edit_fn)(orch_subscription_t *sub, const json_t *state,
                                       orch_error_t *err);
orch_step_result_t orch_step_edit(orch_step_ctx_t *ctx, const json_t *state, orch_sub_edit_fn edit);

/* Fixed values for fields, whatever the state holds: ORCH_SET_VALUES(ctx, state,
 * ORCH_BOOL("enabled", false), ORCH_STR("node_status", "decommissioned")) sets them on the
 * subscription state.subscription_id and saves it, as orch_step_edit. */
typedef enum { ORCH_VALUE_STR = 1, ORCH_VALUE_INT, ORCH_VALUE_BOOL } orch_value_type_t;
typedef struct orch_value {
    const char *path;
    orch_value_type_t type;
    const char *s;
    long long i;
    bool b;
} orch_value_t;
#define ORCH_STR(path_, v_)                                                                        \
    {                                                                                              \
        .path = (path_), .type = ORCH_VALUE_STR, .s = (v_)                                         \
    }
#define ORCH_INT(path_, v_)                                                                        \
    {                                                                                              \
        .path = (path_), .type = ORCH_VALUE_INT, .i = (v_)                                         \
    }
#define ORCH_BOOL(path_, v_)                                                                       \
    {                                                                                              \
        .path = (path_), .type = ORCH_VALUE_BOOL, .b = (v_)                                        \
    }
orch_step_result_t orch_step_set_values(orch_step_ctx_t *ctx, const json_t *state,
                                        const orch_value_t *values);
#define ORCH_SET_VALUES(ctx, state, ...)                                                           \
    orch_step_set_values((ctx), (state), (const orch_value_t[]){__VA_ARGS__, {0}})

/* orch_step_check_subscription, but the subscription is loaded for update, saved and linked
 * to the process, as a validate workflow of the example products does: ok with
 * {"valid": true}. */
orch_step_result_t orch_step_validate_subscription(orch_step_ctx_t *ctx, json_t *state);

/* ---- Workflow definitions --------------------------------------------------------------- */

/* The members every product workflow wrapped in a lifecycle (engine.h) starts with: its
 * target and its lifecycle are the same kind (CREATE, MODIFY, TERMINATE, VALIDATE,
 * RECONCILE), said once here so the two cannot disagree; version 1. Further members follow:
 *
 *     static const orch_workflow_def_t modify_port = {
 *         ORCH_LIFECYCLE_WORKFLOW(MODIFY, "modify_port", "Modify port", modify_port_steps),
 *         .form = &modify_port_form,
 *     };
 */
#define ORCH_LIFECYCLE_WORKFLOW(kind_, name_, description_, steps_)                                \
    .name = (name_), .description = (description_), .target = ORCH_TARGET_##kind_,                 \
    .lifecycle = ORCH_LC_##kind_, .version = 1, .steps = (steps_)

/* The members of the validate workflow of a product whose check is
 * orch_step_validate_subscription alone, as in the four example products: one step
 * "validate_subscription", with its state keys. Further members may follow:
 *
 *     static const orch_workflow_def_t validate_port = {
 *         ORCH_VALIDATE_WORKFLOW("validate_port", "Validate port"),
 *     };
 */
extern const orch_step_def_t orch_validate_subscription_steps[];
extern const orch_step_io_t orch_validate_subscription_io[];
#define ORCH_VALIDATE_WORKFLOW(name_, description_)                                                \
    ORCH_LIFECYCLE_WORKFLOW(VALIDATE, name_, description_, orch_validate_subscription_steps),      \
        .io = orch_validate_subscription_io

/* ---- Reading a subscription ------------------------------------------------------------- */

/* A text field by path, or dflt when it is unset or cannot be read. */
const char *orch_sub_str_or(const orch_subscription_t *sub, const char *path, const char *dflt);
/* A fixed input of the subscription's product ("node_type", "speed"), or NULL. */
const char *orch_sub_fixed_input(const orch_subscription_t *sub, const char *name);
/* The product's speed fixed input (Mbit/s) as people write it, with a leading space:
 * " 10G", " 500M"; "" when the product has none. */
void orch_sub_speed_text(const orch_subscription_t *sub, char *out, size_t size);

/* ---- More inventory and simulated systems ----------------------------------------------- */

/* A step that is one allocation: ORCH_ALLOCATE_STEP_FN(allocate_ims, "ims_node", "ims_id")
 * defines the step function allocate_ims (orch_step_allocate). */
orch_step_result_t orch_step_allocate_step(orch_step_ctx_t *ctx, const json_t *state,
                                           const char *pool, const char *state_key);
#define ORCH_ALLOCATE_STEP_FN(fn_, pool_, state_key_)                                              \
    static orch_step_result_t fn_(orch_step_ctx_t *ctx, json_t *state)                             \
    {                                                                                              \
        return orch_step_allocate_step(ctx, state, (pool_), (state_key_));                         \
    }
/* An allocation step with the inventory's retry policy: a pool that is briefly locked or
 * empty is asked again, 5 attempts, back-off 0.5 s doubling to 10 s. Every allocation of the
 * example products uses it, so the policy is written once:
 *     ORCH_ALLOCATE_STEP("allocate_ims", "Allocate the IMS port id", allocate_ims), */
#define ORCH_ALLOCATE_STEP(key_, name_, fn_) ORCH_RETRY_STEP(key_, name_, fn_, 5, 500, 10000)
/* A ready step that stores state.ims_id and state.nrm_id (the example products' inventory
 * ids, allocated by earlier steps) in the subscription: ORCH_SAVE_FIELDS of the two. */
orch_step_result_t orch_step_save_inventory_ids(orch_step_ctx_t *ctx, json_t *state);
/* Several allocations in one step, in order: pairs of pool and state key, NULL-terminated;
 * ok with every {state_key: n}, or the first WAIT. */
orch_step_result_t orch_step_allocate_all(orch_step_ctx_t *ctx, const json_t *state,
                                          const char *const *pool_key_pairs);
#define ORCH_ALLOCATE_ALL(ctx, state, ...)                                                         \
    orch_step_allocate_all((ctx), (state), (const char *const[]){__VA_ARGS__, NULL})

/* The configuration push of the example products: orch_step_sim_callback, and when the
 * request is handed over the state records {"config_push": "requested"}. */
orch_step_result_t orch_step_push_config(orch_step_ctx_t *ctx, json_t *state);
/* The push as a step: key "push_config", a callback the network answers within 10 minutes;
 * the _REMOTE form hands it to a step worker serving "network.push_config" when one is
 * connected (ORCH_REMOTE_STEP_FALLBACK), else runs it here. Every example product pushes
 * its configuration with one of the two, so the key, the task type and the deadline are
 * written once. */
#define ORCH_PUSH_CONFIG_STEP(name_)                                                               \
    ORCH_CALLBACK_STEP("push_config", (name_), orch_step_push_config, 600000)
#define ORCH_PUSH_CONFIG_REMOTE_STEP(name_)                                                        \
    ORCH_REMOTE_STEP_FALLBACK("push_config", (name_), "network.push_config",                       \
                              orch_step_push_config, 600000)
/* The simulated network removes the service: logged, ok with {"service_removed": true}. */
orch_step_result_t orch_step_sim_remove_service(orch_step_ctx_t *ctx, json_t *state);

/* ---- Forms ------------------------------------------------------------------------------ */

/* Active subscriptions of a product type as choices {value: id, label: description} (a
 * subscription without description: its product's name and the start of its id). Empty
 * without a store. ORCH_SUBSCRIPTION_CHOICES_FN(node_choices, "Node") defines the form's
 * choices function node_choices. */
json_t *orch_form_subscription_choices(const orch_form_env_t *env, const json_t *answers,
                                       const char *product_type);
#define ORCH_SUBSCRIPTION_CHOICES_FN(fn_, product_type_)                                           \
    static json_t *fn_(const orch_form_env_t *env, const json_t *answers)                          \
    {                                                                                              \
        return orch_form_subscription_choices(env, answers, (product_type_));                      \
    }
/* The customer every create form of the example products asks first (the state key the
 * create helpers read, ORCH_CREATE_SUBSCRIPTION): a form field initializer. */
#define ORCH_FORM_CUSTOMER_FIELD                                                                   \
    {                                                                                              \
        .name = "customer_id", .title = "Customer", .type = ORCH_FORM_STRING, .required = true,    \
        .has_min = true, .min = 1, .has_max = true, .max = 255                                     \
    }
/* An optional free-text description field (up to 2000 characters) named name_: the create
 * and modify forms of the example products ask it alike. */
#define ORCH_FORM_DESCRIPTION_FIELD(name_)                                                         \
    {                                                                                              \
        .name = (name_), .title = "Description", .type = ORCH_FORM_STRING, .has_max = true,        \
        .max = 2000                                                                                \
    }
/* Form fields by kind, one line each in a field table instead of one line per member:
 * a boolean with its default (JSON text "true" / "false"), a required choice among the values
 * of a choices function (ORCH_SUBSCRIPTION_CHOICES_FN), a required integer in [min_, max_]. */
#define ORCH_FORM_BOOL_FIELD(name_, title_, default_json_)                                         \
    {                                                                                              \
        .name = (name_), .title = (title_), .type = ORCH_FORM_BOOLEAN,                             \
        .default_json = (default_json_)                                                            \
    }
#define ORCH_FORM_CHOICE_FIELD(name_, title_, choices_fn_)                                         \
    {                                                                                              \
        .name = (name_), .title = (title_), .type = ORCH_FORM_CHOICE, .required = true,            \
        .choices_fn = (choices_fn_)                                                                \
    }
#define ORCH_FORM_INT_FIELD(name_, title_, min_, max_)                                             \
    {                                                                                              \
        .name = (name_), .title = (title_), .type = ORCH_FORM_INTEGER, .required = true,           \
        .has_min = true, .min = (min_), .has_max = true, .max = (max_)                             \
    }
/* A subscription a form reads (read only; NULL when there is no store or it cannot be
 * loaded). The caller frees it. */
orch_subscription_t *orch_form_sub_load(const orch_form_env_t *env, const char *id);
/* A form check (orch_form_t.check) body: on page `page`, the answers key_a and key_b must
 * differ, else one violation on key_b with message. Returns the number of violations. */
size_t orch_form_check_different(const orch_form_env_t *env, size_t index, const json_t *answers,
                                 const char *path, orch_error_t *err, size_t page,
                                 const char *key_a, const char *key_b, const char *message);

#endif
