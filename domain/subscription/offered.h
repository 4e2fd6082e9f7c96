/* Which workflows a subscription offers right now, with the reason for each one it does
 * not, after orchestrator-core's rules: modify/validate/reconcile need an active
 * subscription, terminate an active or provisioning one; everything but modify_note,
 * reconcile and tasks needs it in sync; terminate also needs no live user. */
#ifndef ORCH_SUB_OFFERED_H
#define ORCH_SUB_OFFERED_H

#include <stdbool.h>
#include <stddef.h>

#include "subscription.h"

typedef struct orch_sub_offer {
    bool allowed;
    const char *reason; /* static UPPER_SNAKE reason when blocked, else NULL */
    char message[256];  /* the same in a sentence */
} orch_sub_offer_t;

/* is_task: the workflow is a task (no lifecycle rules apply but the status one). */
void orch_sub_offer(const orch_subscription_t *sub, const char *workflow,
                    orch_workflow_target_t target, bool is_task, orch_sub_offer_t *out);

#endif
