/* The offered-workflow rules. Order matters: a wrong status is the first thing to fix,
 * then the lock, then the users. */
#include "offered.h"

#include <stdio.h>
#include <string.h>

static void block(orch_sub_offer_t *o, const char *reason, const char *msg)
{
    o->allowed = false;
    o->reason = reason;
    snprintf(o->message, sizeof(o->message), "%s", msg);
}

void orch_sub_offer(const orch_subscription_t *sub, const char *workflow,
                    orch_workflow_target_t target, bool is_task, orch_sub_offer_t *out)
{
    bool note = workflow && strcmp(workflow, "modify_note") == 0;
    bool live_user = false;

    memset(out, 0, sizeof(*out));
    out->allowed = true;
    switch (target) {
    case ORCH_TARGET_CREATE:
        block(out, "INVALID_STATUS_FOR_TARGET",
              "create workflows make new subscriptions; this one exists already");
        return;
    case ORCH_TARGET_MODIFY:
    case ORCH_TARGET_VALIDATE:
    case ORCH_TARGET_RECONCILE:
        if (note ? sub->status == ORCH_SUB_TERMINATED : sub->status != ORCH_SUB_ACTIVE) {
            char msg[256];
            snprintf(msg, sizeof(msg), "the subscription is %s; this workflow needs it %s",
                     orch_sub_status_name(sub->status), note ? "not terminated" : "active");
            block(out, "INVALID_STATUS_FOR_TARGET", msg);
            return;
        }
        break;
    case ORCH_TARGET_TERMINATE:
        if (sub->status != ORCH_SUB_ACTIVE && sub->status != ORCH_SUB_PROVISIONING) {
            char msg[256];
            snprintf(msg, sizeof(msg),
                     "the subscription is %s; terminate needs it active or provisioning",
                     orch_sub_status_name(sub->status));
            block(out, "INVALID_STATUS_FOR_TARGET", msg);
            return;
        }
        break;
    default:
        break;
    }
    if (!sub->in_sync && !note && !is_task && target != ORCH_TARGET_RECONCILE) {
        block(out, "SUBSCRIPTION_NOT_IN_SYNC",
              "the subscription is locked (not in sync) by a running or failed workflow");
        return;
    }
    if (target == ORCH_TARGET_TERMINATE) {
        for (size_t i = 0; i < sub->nin_use_by; i++)
            live_user = live_user || sub->in_use_by[i].status != ORCH_SUB_TERMINATED;
        if (live_user) {
            char msg[256];
            size_t n = 0;
            for (size_t i = 0; i < sub->nin_use_by; i++)
                n += sub->in_use_by[i].status != ORCH_SUB_TERMINATED;
            snprintf(msg, sizeof(msg), "%zu live subscription%s use%s this one; terminate %s first",
                     n, n == 1 ? "" : "s", n == 1 ? "s" : "", n == 1 ? "it" : "them");
            block(out, "IN_USE_BY_OTHER_SUBSCRIPTIONS", msg);
        }
    }
}
