/* The runner: which step comes next (by key), running one step and turning its result into
 * the outcome the store commits (statuses, merged state, delta, error, back-off). Pure: no
 * store, no threads, so every rule here is unit-tested directly. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/engine/engine.h"

const orch_leaf_t *orch_runner_next(const orch_workflow_t *wf, const char *const *done,
                                    size_t ndone)
{
    for (size_t i = 0; i < wf->nleaves; i++) {
        bool found = false;
        if (wf->leaves[i].branch)
            continue; /* run by the branch processes */
        for (size_t j = 0; j < ndone && !found; j++)
            found = strcmp(done[j], wf->leaves[i].key) == 0;
        if (!found)
            return &wf->leaves[i];
    }
    return NULL;
}

const orch_leaf_t *orch_runner_next_in_branch(const orch_workflow_t *wf, const char *branch_key,
                                              const char *const *done, size_t ndone)
{
    for (size_t i = 0; i < wf->nleaves; i++) {
        bool found = false;
        if (!wf->leaves[i].branch_key || strcmp(wf->leaves[i].branch_key, branch_key) != 0)
            continue;
        for (size_t j = 0; j < ndone && !found; j++)
            found = strcmp(done[j], wf->leaves[i].key) == 0;
        if (!found)
            return &wf->leaves[i];
    }
    return NULL;
}

const orch_leaf_t *orch_parallel_leaf(const orch_workflow_t *wf, const char *key)
{
    for (size_t i = 0; key && i < wf->nleaves; i++)
        if (!wf->leaves[i].branch && wf->leaves[i].def->kind == ORCH_KIND_PARALLEL &&
            strcmp(wf->leaves[i].key, key) == 0)
            return &wf->leaves[i];
    return NULL;
}

int64_t orch_backoff_ms(int base_ms, int max_ms, int attempt)
{
    int64_t d = base_ms > 0 ? base_ms : 1000, cap = max_ms > 0 ? max_ms : 300000;
    for (int i = 0; i < attempt && d < cap; i++)
        d *= 2;
    return d < cap ? d : cap;
}

json_t *orch_state_merge(const json_t *state, const json_t *changes)
{
    json_t *s = json_is_object(state) ? json_deep_copy(state) : json_object();
    if (json_is_object(changes))
        json_object_update(s, (json_t *)changes);
    return s;
}

void orch_outcome_cleanup(orch_outcome_t *o)
{
    json_decref(o->state);
    json_decref(o->delta);
    json_decref(o->error);
    memset(o, 0, sizeof(*o));
}

static json_t *error_json(const orch_step_result_t *r)
{
    json_t *e = json_pack("{s:s, s:s}", "reason", r->reason[0] ? r->reason : "STEP_FAILED",
                          "message", r->message ? r->message : "");
    json_object_set_new(e, "details", r->details ? json_incref(r->details) : json_object());
    return e;
}

void orch_runner_run(const orch_workflow_t *wf, const orch_leaf_t *leaf, orch_step_ctx_t *ctx,
                     const json_t *state, int attempt, orch_outcome_t *out)
{
    const orch_step_def_t *def = leaf->def;
    orch_step_result_t r = {0};
    json_t *work;

    (void)wf;
    memset(out, 0, sizeof(*out));
    ctx->attempt = attempt;
    ctx->def = def;
    switch (def->kind) {
    case ORCH_KIND_DONE:
        out->step_status = "complete";
        out->process_status = "completed";
        out->finished = true;
        out->state = json_deep_copy(state);
        out->delta = json_object();
        return;
    case ORCH_KIND_ABORT:
        out->step_status = "abort";
        out->process_status = "aborted";
        out->finished = true;
        out->state = json_deep_copy(state);
        out->delta = json_object();
        return;
    case ORCH_KIND_INPUT:
        /* Suspends with the step's form; ResumeProcess commits the answers as this step's
         * success row. */
        out->step_status = "suspend";
        out->process_status = "suspended";
        out->state = json_deep_copy(state);
        out->delta = json_object();
        return;
    case ORCH_KIND_CALLBACK:
        if (ctx->remote || !def->fn) {
            /* A remote step given to a step worker: it waits for the worker's answer (the
             * engine writes the task; the answer commits this step's success row). */
            out->step_status = "awaiting_callback";
            out->process_status = "awaiting_callback";
            out->state = json_deep_copy(state);
            out->delta = json_object();
            return;
        }
        /* fall through - the callback action (a remote step's fall-back) */
    default:
        if (def->kind == ORCH_KIND_CONDITIONAL && !def->pred(state)) {
            orch_step_log(ORCH_LOG_INFO, ctx, "skipped: condition %s is false",
                          def->condition ? def->condition : "(predicate)");
            r = orch_step_skip();
            break;
        }
        /* The step gets its own copy: whatever it does to it, the committed state is the
         * old state plus the changes it returned. */
        work = json_deep_copy(state);
        r = def->fn(ctx, work);
        json_decref(work);
        if (r.outcome != ORCH_STEP_FAIL && orch_ctx_remaining_ms(&ctx->ctx) <= 0 &&
            !orch_ctx_cancelled(&ctx->ctx)) {
            int ms = def->timeout_ms ? def->timeout_ms : ORCH_STEP_TIMEOUT_DEFAULT_MS;
            orch_step_result_cleanup(&r);
            r = orch_step_fail("STEP_TIMEOUT", NULL, "step %s overran its time-out of %d ms",
                               leaf->key, ms);
        }
        break;
    }

    switch (r.outcome) {
    case ORCH_STEP_SUCCESS:
        if (r.changes && !json_is_object(r.changes)) {
            orch_step_result_cleanup(&r);
            r = orch_step_fail("STEP_BAD_RESULT", NULL,
                               "step %s returned changes that are not a JSON object", leaf->key);
            goto failed;
        }
        if (def->kind == ORCH_KIND_CALLBACK) {
            /* The action handed the token out: wait for DeliverCallback. */
            out->step_status = "awaiting_callback";
            out->process_status = "awaiting_callback";
            out->state = orch_state_merge(state, r.changes);
            out->delta = r.changes ? json_incref(r.changes) : json_object();
            break;
        }
        out->step_status = "success";
        out->process_status = "running";
        out->runnable = true;
        out->state = orch_state_merge(state, r.changes);
        out->delta = r.changes ? json_incref(r.changes) : json_object();
        break;
    case ORCH_STEP_SKIP:
        out->step_status = "skipped";
        out->process_status = "running";
        out->runnable = true;
        out->state = json_deep_copy(state);
        out->delta = json_object();
        break;
    case ORCH_STEP_WAIT:
        /* A retry step that ran out of attempts fails instead of waiting again. */
        if (def->kind == ORCH_KIND_RETRY && def->max_attempts > 0 &&
            attempt + 1 >= def->max_attempts)
            goto failed;
        out->step_status = "waiting";
        out->process_status = "waiting";
        out->runnable = true;
        out->retry_count = attempt + 1;
        out->next_run_delay_ms = orch_backoff_ms(def->backoff_ms, def->backoff_max_ms, attempt);
        out->state = json_deep_copy(state);
        out->delta = json_object();
        out->error = error_json(&r);
        break;
    case ORCH_STEP_FAIL:
        if (def->kind == ORCH_KIND_RETRY &&
            (def->max_attempts == 0 || attempt + 1 < def->max_attempts)) {
            out->step_status = "waiting";
            out->process_status = "waiting";
            out->runnable = true;
            out->retry_count = attempt + 1;
            out->next_run_delay_ms = orch_backoff_ms(def->backoff_ms, def->backoff_max_ms, attempt);
            out->state = json_deep_copy(state);
            out->delta = json_object();
            out->error = error_json(&r);
            break;
        }
    failed:
        out->step_status = "failed";
        out->process_status = "failed";
        out->retry_count = attempt + 1;
        out->state = json_deep_copy(state);
        out->delta = json_object();
        out->error = error_json(&r);
        break;
    case ORCH_STEP_ABORT:
        out->step_status = "abort";
        out->process_status = "aborted";
        out->finished = true;
        out->state = json_deep_copy(state);
        out->delta = json_object();
        out->error = error_json(&r);
        break;
    }
    if (out->step_status && strcmp(out->step_status, "success") == 0)
        out->retry_count = 0;
    if (out->step_status && strcmp(out->step_status, "skipped") == 0)
        out->retry_count = 0;
    orch_step_result_cleanup(&r);
}
