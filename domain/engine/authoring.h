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

#endif
