/* The standard steps of the lifecycle wrappers (engine.h, orch_lifecycle_t): lock and
 * unlock the subscription of state.subscription_id, and set its lifecycle status. Each loads
 * the subscription for update in the step's unit of work and saves it there, so the change
 * commits with the step's audit row or not at all. */
#include <stdlib.h>
#include <string.h>

#include "domain/engine/engine.h"
#include "domain/subscription/subscription.h"

typedef orch_err_t (*sub_change_fn)(orch_step_ctx_t *ctx, orch_subscription_t *sub,
                                    orch_error_t *err, orch_step_result_t *refuse);

static orch_step_result_t with_subscription(orch_step_ctx_t *ctx, const json_t *state,
                                            sub_change_fn change, json_t *changes)
{
    orch_subscription_t *sub = NULL;
    orch_step_result_t r = {0};
    orch_error_t err;
    const char *id = orch_state_str(state, "subscription_id", NULL);

    orch_error_init(&err);
    if (!id || !*id) {
        json_decref(changes);
        return orch_step_fail("NO_SUBSCRIPTION", NULL,
                              "the state has no subscription_id for step %s", ctx->step_key);
    }
    if (!ctx->store || !ctx->catalog) {
        json_decref(changes);
        return orch_step_fail("NO_STORE", NULL, "step %s needs the store", ctx->step_key);
    }
    if (ctx->store->subs->load(ctx->store, ctx->tx, &ctx->ctx, ctx->catalog, id, true, &sub,
                               &err)) {
        json_decref(changes);
        return orch_step_fail_error(&err);
    }
    r.outcome = ORCH_STEP_SUCCESS;
    if (change(ctx, sub, &err, &r)) {
        json_decref(changes);
        r = orch_step_fail_error(&err);
        goto out;
    }
    if (r.outcome != ORCH_STEP_SUCCESS) {
        json_decref(changes);
        goto out;
    }
    if (ctx->store->subs->save(ctx->store, ctx->tx, NULL, sub, &err)) {
        json_decref(changes);
        r = orch_step_fail_error(&err);
        goto out;
    }
    orch_step_ctx_link_subscription(ctx, sub->id);
    r = orch_step_ok(changes);
out:
    orch_subscription_free(sub);
    return r;
}

static orch_err_t do_unsync(orch_step_ctx_t *ctx, orch_subscription_t *sub, orch_error_t *err,
                            orch_step_result_t *refuse)
{
    (void)ctx;
    (void)err;
    if (!sub->in_sync) {
        *refuse =
            orch_step_fail("SUBSCRIPTION_NOT_IN_SYNC", NULL,
                           "subscription %s is locked (not in sync) by another workflow", sub->id);
        return ORCH_OK;
    }
    sub->in_sync = false;
    return ORCH_OK;
}

/* Reconcile exists to bring a subscription that drifted (or a failed workflow left locked)
 * back in sync, so it is offered out of sync and takes the lock whatever its state. */
static orch_err_t do_unsync_any(orch_step_ctx_t *ctx, orch_subscription_t *sub, orch_error_t *err,
                                orch_step_result_t *refuse)
{
    (void)ctx;
    (void)err;
    (void)refuse;
    sub->in_sync = false;
    return ORCH_OK;
}

static orch_err_t do_resync(orch_step_ctx_t *ctx, orch_subscription_t *sub, orch_error_t *err,
                            orch_step_result_t *refuse)
{
    (void)ctx;
    (void)err;
    (void)refuse;
    sub->in_sync = true;
    return ORCH_OK;
}

static orch_err_t do_active(orch_step_ctx_t *ctx, orch_subscription_t *sub, orch_error_t *err,
                            orch_step_result_t *refuse)
{
    (void)ctx;
    (void)refuse;
    return orch_sub_set_status(sub, ORCH_SUB_ACTIVE, err);
}

static orch_err_t do_terminated(orch_step_ctx_t *ctx, orch_subscription_t *sub, orch_error_t *err,
                                orch_step_result_t *refuse)
{
    (void)ctx;
    (void)refuse;
    return orch_sub_set_status(sub, ORCH_SUB_TERMINATED, err);
}

orch_step_result_t orch_lc_unsync(orch_step_ctx_t *ctx, json_t *state)
{
    return with_subscription(ctx, state, do_unsync, json_pack("{s:b}", "__locked", 1));
}

orch_step_result_t orch_lc_unsync_reconcile(orch_step_ctx_t *ctx, json_t *state)
{
    return with_subscription(ctx, state, do_unsync_any, json_pack("{s:b}", "__locked", 1));
}

orch_step_result_t orch_lc_resync(orch_step_ctx_t *ctx, json_t *state)
{
    return with_subscription(ctx, state, do_resync, json_pack("{s:b}", "__locked", 0));
}

orch_step_result_t orch_lc_set_status_active(orch_step_ctx_t *ctx, json_t *state)
{
    return with_subscription(ctx, state, do_active,
                             json_pack("{s:s}", "subscription_status", "active"));
}

orch_step_result_t orch_lc_set_status_terminated(orch_step_ctx_t *ctx, json_t *state)
{
    return with_subscription(ctx, state, do_terminated,
                             json_pack("{s:s}", "subscription_status", "terminated"));
}
