/* The built-in tasks the default schedule starts (always registered): resume waiting tasks,
 * clean up old tasks and expired request ids, validate the product catalogue. */
#ifndef ORCH_WORKFLOWS_TASKS_H
#define ORCH_WORKFLOWS_TASKS_H

#include "domain/engine/engine.h"

extern const orch_workflow_def_t orch_wf_task_resume_workflows;
extern const orch_workflow_def_t orch_wf_task_clean_up_tasks;
extern const orch_workflow_def_t orch_wf_task_validate_products;

/* Registers the three tasks. */
orch_err_t orch_workflows_register_tasks(orch_registry_t *r, orch_error_t *err);

#endif
