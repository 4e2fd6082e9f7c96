/* The built-in tasks (always registered). The default schedule starts three of them: resume
 * waiting tasks, clean up old tasks and expired request ids, validate the product catalogue.
 * Two more run when started or scheduled by hand: validate every active subscription (the
 * ids that fail are recorded in the state), fail processes whose callback deadline passed. */
#ifndef ORCH_WORKFLOWS_TASKS_H
#define ORCH_WORKFLOWS_TASKS_H

#include "domain/engine/engine.h"

extern const orch_workflow_def_t orch_wf_task_resume_workflows;
extern const orch_workflow_def_t orch_wf_task_clean_up_tasks;
extern const orch_workflow_def_t orch_wf_task_validate_products;
extern const orch_workflow_def_t orch_wf_task_validate_subscriptions;    /* version 1 */
extern const orch_workflow_def_t orch_wf_task_validate_subscriptions_v2; /* its own time-out */
extern const orch_workflow_def_t orch_wf_task_fail_timed_out_callbacks;

/* The five, with their symbols ({0}-terminated; validate subscriptions twice, versions 1
 * and 2). */
extern const orch_wf_entry_t orch_wf_tasks_all[];

/* Registers the five tasks. */
orch_err_t orch_workflows_register_tasks(orch_registry_t *r, orch_error_t *err);

#endif
