/* The built-in tasks of the default schedule (see tasks.h). Each works through the step's
 * unit of work, so what it changes commits with its audit row or not at all. */
#include "domain/workflows/tasks.h"

#include <stdlib.h>
#include <string.h>

static orch_step_result_t resume_waiting(orch_step_ctx_t *ctx, json_t *state)
{
    char **ids = NULL;
    size_t n = 0;
    orch_error_t err;
    (void)state;
    if (!ctx->store || !ctx->tx)
        return orch_step_ok(json_pack("{s:i}", "resumed_count", 0));
    orch_error_init(&err);
    if (ctx->store->ops->process_bulk_resume(ctx->tx, "status = \"waiting\"",
                                             "task_resume_workflows", &ids, &n, &err))
        return orch_step_fail_error(&err);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return orch_step_ok(json_pack("{s:i}", "resumed_count", (int)n));
}

static orch_step_result_t clean_up(orch_step_ctx_t *ctx, json_t *state)
{
    long n = 0;
    long hours = (long)orch_state_int(state, "older_than_hours", 7 * 24);
    orch_error_t err;
    if (!ctx->store || !ctx->tx)
        return orch_step_ok(json_pack("{s:i}", "deleted_tasks", 0));
    orch_error_init(&err);
    if (ctx->store->ops->tasks_clean_up(ctx->tx, hours * 3600, &n, &err))
        return orch_step_fail_error(&err);
    return orch_step_ok(json_pack("{s:I}", "deleted_tasks", (json_int_t)n));
}

static orch_step_result_t validate_products(orch_step_ctx_t *ctx, json_t *state)
{
    size_t n = ctx->catalog ? orch_catalog_nproducts(ctx->catalog) : 0;
    (void)state;
    if (ctx->catalog && n == 0)
        return orch_step_fail("NO_PRODUCTS", NULL, "the product catalogue is empty");
    return orch_step_ok(json_pack("{s:I}", "products_checked", (json_int_t)n));
}

static const orch_step_def_t resume_steps[] = {
    ORCH_STEP("resume_waiting", "Resume waiting tasks", resume_waiting),
    ORCH_DONE,
    ORCH_STEPS_END,
};

static const orch_step_def_t clean_up_steps[] = {
    ORCH_STEP("clean_up", "Delete old finished tasks and expired request ids", clean_up),
    ORCH_DONE,
    ORCH_STEPS_END,
};

static const orch_step_def_t validate_steps[] = {
    ORCH_STEP("validate_products", "Validate the product catalogue", validate_products),
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_task_resume_workflows = {
    .name = "task_resume_workflows",
    .description = "Resume waiting tasks",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = resume_steps,
};

const orch_workflow_def_t orch_wf_task_clean_up_tasks = {
    .name = "task_clean_up_tasks",
    .description = "Clean up old tasks",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = clean_up_steps,
};

const orch_workflow_def_t orch_wf_task_validate_products = {
    .name = "task_validate_products",
    .description = "Validate products",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = validate_steps,
};

orch_err_t orch_workflows_register_tasks(orch_registry_t *r, orch_error_t *err)
{
    orch_err_t rc = orch_registry_add(r, &orch_wf_task_resume_workflows, err);
    if (!rc)
        rc = orch_registry_add(r, &orch_wf_task_clean_up_tasks, err);
    if (!rc)
        rc = orch_registry_add(r, &orch_wf_task_validate_products, err);
    return rc;
}
