/* The built-in tasks of the default schedule (see tasks.h). Each works through the step's
 * unit of work, so what it changes commits with its audit row or not at all. */
#include "domain/workflows/tasks.h"

#include "domain/store.h"
#include "domain/subscription/subscription.h"

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
    if (ctx->store->procs->bulk_resume(ctx->store, ctx->tx, NULL, "status = \"waiting\"",
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
    if (ctx->store->procs->tasks_clean_up(ctx->store, ctx->tx, NULL, hours * 3600, &n, &err))
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

/* Loads every active subscription, a page at a time, and validates its tree; the ids that
 * fail are recorded in the state with their reasons. It reads every tree in one step:
 * 955,000 active subscriptions took 262 s here, and the default step time-out (5 minutes)
 * failed it a little past a million. Six hours cover about 80 million. */
#define VALIDATE_SUBSCRIPTIONS_TIMEOUT_MS (6 * 3600 * 1000)
static orch_step_result_t validate_subscriptions(orch_step_ctx_t *ctx, json_t *state)
{
    json_t *invalid = json_array(), *errors = json_object();
    char *token = NULL;
    json_int_t checked = 0;
    orch_error_t err;
    (void)state;
    if (!ctx->store || !ctx->catalog)
        return orch_step_ok(json_pack("{s:I, s:o, s:o}", "subscriptions_checked", checked,
                                      "invalid_subscriptions", invalid, "validation_errors",
                                      errors));
    do {
        orch_sub_query_t q = {0};
        orch_sub_page_t page = {0};
        orch_error_init(&err);
        q.filter = "status = \"active\"";
        q.page_size = 500;
        q.page_token = token;
        q.full = true;
        q.no_total = true;
        if (ctx->store->subs->list(ctx->store, NULL, &ctx->ctx, ctx->catalog, &q, &page, &err)) {
            free(token);
            json_decref(invalid);
            json_decref(errors);
            orch_sub_page_cleanup(&page);
            return orch_step_fail_error(&err);
        }
        for (size_t i = 0; i < page.n; i++) {
            orch_error_t verr;
            orch_error_init(&verr);
            checked++;
            if (orch_sub_validate(page.items[i], &verr)) {
                json_array_append_new(invalid, json_string(page.items[i]->id));
                json_object_set_new(errors, page.items[i]->id, json_string(verr.message));
            }
        }
        free(token);
        token = page.next_token ? strdup(page.next_token) : NULL;
        orch_sub_page_cleanup(&page);
    } while (token);
    if (json_array_size(invalid) > 0)
        orch_step_log(ORCH_LOG_WARN, ctx, "%zu of %lld active subscriptions are invalid",
                      json_array_size(invalid), (long long)checked);
    return orch_step_ok(json_pack("{s:I, s:o, s:o}", "subscriptions_checked", checked,
                                  "invalid_subscriptions", invalid, "validation_errors", errors));
}

/* Fails the processes whose awaited callback passed its deadline (CALLBACK_TIMEOUT). */
static orch_step_result_t fail_timed_out(orch_step_ctx_t *ctx, json_t *state)
{
    int n = 0;
    orch_error_t err;
    (void)state;
    if (!ctx->store)
        return orch_step_ok(json_pack("{s:i}", "failed_callbacks", 0));
    orch_error_init(&err);
    if (ctx->store->procs->callback_fail_expired(ctx->store, NULL, &ctx->ctx, &n, &err))
        return orch_step_fail_error(&err);
    return orch_step_ok(json_pack("{s:i}", "failed_callbacks", n));
}

/* A built-in task: a system workflow of one step and then done. The step is the rest of the
 * arguments: an initializer's commas need no parentheses. */
#define TASK_WORKFLOW_VERSION(version_, name_, description_, ...)                                  \
    {                                                                                              \
        .name = (name_), .description = (description_), .target = ORCH_TARGET_SYSTEM,              \
        .is_task = true, .version = (version_),                                                    \
        .steps = (const orch_step_def_t[]){__VA_ARGS__, ORCH_DONE, ORCH_STEPS_END},                \
    }
#define TASK_WORKFLOW(name_, description_, ...)                                                    \
    TASK_WORKFLOW_VERSION(1, name_, description_, __VA_ARGS__)

const orch_workflow_def_t orch_wf_task_resume_workflows =
    TASK_WORKFLOW("task_resume_workflows", "Resume waiting tasks",
                  ORCH_STEP("resume_waiting", "Resume waiting tasks", resume_waiting));

const orch_workflow_def_t orch_wf_task_clean_up_tasks = TASK_WORKFLOW(
    "task_clean_up_tasks", "Clean up old tasks",
    ORCH_STEP("clean_up", "Delete old finished tasks and expired request ids", clean_up));

const orch_workflow_def_t orch_wf_task_validate_products = TASK_WORKFLOW(
    "task_validate_products", "Validate products",
    ORCH_STEP("validate_products", "Validate the product catalogue", validate_products));

/* Version 1 ran its step under the default time-out; the processes started on it finish on
 * it. Version 2, which new processes start on, gives the step its own. */
const orch_workflow_def_t orch_wf_task_validate_subscriptions =
    TASK_WORKFLOW("task_validate_subscriptions", "Validate subscriptions",
                  ORCH_STEP("validate_subscriptions", "Validate every active subscription",
                            validate_subscriptions));
const orch_workflow_def_t orch_wf_task_validate_subscriptions_v2 =
    TASK_WORKFLOW_VERSION(2, "task_validate_subscriptions", "Validate subscriptions",
                          {.key = "validate_subscriptions",
                           .name = "Validate every active subscription",
                           .kind = ORCH_KIND_STEP,
                           .fn = validate_subscriptions,
                           .timeout_ms = VALIDATE_SUBSCRIPTIONS_TIMEOUT_MS});

const orch_workflow_def_t orch_wf_task_fail_timed_out_callbacks =
    TASK_WORKFLOW("task_fail_timed_out_callbacks", "Fail timed-out callbacks",
                  ORCH_STEP("fail_timed_out_callbacks",
                            "Fail processes whose callback deadline passed", fail_timed_out));

const orch_wf_entry_t orch_wf_tasks_all[] = {
    ORCH_WF_ENTRY(orch_wf_task_resume_workflows),
    ORCH_WF_ENTRY(orch_wf_task_clean_up_tasks),
    ORCH_WF_ENTRY(orch_wf_task_validate_products),
    ORCH_WF_ENTRY(orch_wf_task_validate_subscriptions),
    ORCH_WF_ENTRY(orch_wf_task_validate_subscriptions_v2),
    ORCH_WF_ENTRY(orch_wf_task_fail_timed_out_callbacks),
    {0},
};

orch_err_t orch_workflows_register_tasks(orch_registry_t *r, orch_error_t *err)
{
    orch_err_t rc = ORCH_OK;
    for (const orch_wf_entry_t *e = orch_wf_tasks_all; !rc && e->def; e++)
        rc = orch_registry_add_entry(r, *e, err);
    return rc;
}
