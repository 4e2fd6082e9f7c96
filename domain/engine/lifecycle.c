/* The standard steps of the lifecycle wrappers (engine.h, orch_lifecycle_t): lock and
 * unlock the subscription of state.subscription_id, and set its lifecycle status. Each loads
 * the subscription for update in the step's unit of work and saves it there, so the change
 * commits with the step's audit row or not at all. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "domain/engine/engine.h"
#include "domain/subscription/subscription.h"

/* What a lifecycle step does to the subscription: one row per step below. */
typedef struct lc_change {
    bool refuse_locked;       /* refuse when another workflow holds the lock (not in sync) */
    int in_sync;              /* the new in_sync, 0 or 1; -1 leaves it */
    orch_sub_status_t status; /* the new lifecycle status; 0 leaves it */
} lc_change_t;

static const lc_change_t LC_LOCK = {true, 0, 0};
/* Reconcile exists to bring a subscription that drifted (or a failed workflow left locked)
 * back in sync, so it is offered out of sync and takes the lock whatever its state. */
static const lc_change_t LC_LOCK_ANY = {false, 0, 0};
static const lc_change_t LC_UNLOCK = {false, 1, 0};
static const lc_change_t LC_ACTIVE = {false, -1, ORCH_SUB_ACTIVE};
static const lc_change_t LC_TERMINATED = {false, -1, ORCH_SUB_TERMINATED};

/* Applies ch to sub in the step's unit of work. The state change the step reports:
 * __locked for the lock, subscription_status for a status. */
static orch_step_result_t with_subscription(orch_step_ctx_t *ctx, const json_t *state,
                                            const lc_change_t *ch)
{
    orch_subscription_t *sub = NULL;
    orch_step_result_t r;
    orch_error_t err;
    const char *id = orch_state_str(state, "subscription_id", NULL);

    orch_error_init(&err);
    if (!id || !*id)
        return orch_step_fail("NO_SUBSCRIPTION", NULL,
                              "the state has no subscription_id for step %s", ctx->step_key);
    if (!ctx->store || !ctx->catalog)
        return orch_step_fail("NO_STORE", NULL, "step %s needs the store", ctx->step_key);
    if (ctx->store->subs->load(ctx->store, ctx->tx, &ctx->ctx, ctx->catalog, id, true, &sub, &err))
        return orch_step_fail_error(&err);
    if (ch->refuse_locked && !sub->in_sync) {
        r = orch_step_fail("SUBSCRIPTION_NOT_IN_SYNC", NULL,
                           "subscription %s is locked (not in sync) by another workflow", sub->id);
        goto out;
    }
    if (ch->in_sync >= 0)
        sub->in_sync = ch->in_sync;
    if ((ch->status && orch_sub_set_status(sub, ch->status, &err)) ||
        ctx->store->subs->save(ctx->store, ctx->tx, NULL, sub, &err)) {
        r = orch_step_fail_error(&err);
        goto out;
    }
    orch_step_ctx_link_subscription(ctx, sub->id);
    r = orch_step_ok(ch->in_sync >= 0 ? json_pack("{s:b}", "__locked", !ch->in_sync)
                                      : json_pack("{s:s}", "subscription_status",
                                                  orch_sub_status_name(ch->status)));
out:
    orch_subscription_free(sub);
    return r;
}

orch_step_result_t orch_lc_unsync(orch_step_ctx_t *ctx, json_t *state)
{
    return with_subscription(ctx, state, &LC_LOCK);
}

orch_step_result_t orch_lc_unsync_reconcile(orch_step_ctx_t *ctx, json_t *state)
{
    return with_subscription(ctx, state, &LC_LOCK_ANY);
}

orch_step_result_t orch_lc_resync(orch_step_ctx_t *ctx, json_t *state)
{
    return with_subscription(ctx, state, &LC_UNLOCK);
}

orch_step_result_t orch_lc_set_status_active(orch_step_ctx_t *ctx, json_t *state)
{
    return with_subscription(ctx, state, &LC_ACTIVE);
}

orch_step_result_t orch_lc_set_status_terminated(orch_step_ctx_t *ctx, json_t *state)
{
    return with_subscription(ctx, state, &LC_TERMINATED);
}
