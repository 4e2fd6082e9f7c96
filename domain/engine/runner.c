/* The runner: which step comes next (by key), running one step and turning its result into
 * the outcome the store commits (statuses, merged state, delta, error, back-off). Pure: no
 * store, no threads, so every rule here is unit-tested directly. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/engine/engine.h"

/* The first leaf of one line whose key is not in done: the main line when branch_key is NULL
 * (a branch's leaves are run by the branch processes), else the branch branch_key. done is
 * nearly always the line's leaves in order, so each leaf is first compared with the done key
 * after the last one matched: a step costs O(leaves), not O(leaves x done), which grew with
 * the process's length (12% of the server's CPU in a 100-step workflow). A key out of that
 * order is searched for in all of done, as before. */
static const orch_leaf_t *first_not_done(const orch_workflow_t *wf, const char *branch_key,
                                         const char *const *done, size_t ndone)
{
    size_t at = 0; /* done[at]: the key expected next */
    for (size_t i = 0; i < wf->nleaves; i++) {
        const orch_leaf_t *l = &wf->leaves[i];
        bool on_line =
            branch_key ? l->branch_key && strcmp(l->branch_key, branch_key) == 0 : !l->branch;
        bool found = false;
        if (!on_line)
            continue;
        if (at < ndone && strcmp(done[at], l->key) == 0) {
            at++;
            continue;
        }
        for (size_t j = 0; j < ndone && !found; j++)
            if (strcmp(done[j], l->key) == 0) {
                found = true;
                at = j + 1;
            }
        if (!found)
            return l;
    }
    return NULL;
}

const orch_leaf_t *orch_runner_next(const orch_workflow_t *wf, const char *const *done,
                                    size_t ndone)
{
    return first_not_done(wf, NULL, done, ndone);
}

const orch_leaf_t *orch_runner_next_in_branch(const orch_workflow_t *wf, const char *branch_key,
                                              const char *const *done, size_t ndone)
{
    return first_not_done(wf, branch_key, done, ndone);
}

const orch_leaf_t *orch_workflow_leaf(const orch_workflow_t *wf, const char *key)
{
    for (size_t i = 0; wf && i < wf->nleaves; i++)
        if (strcmp(wf->leaves[i].key, key) == 0)
            return &wf->leaves[i];
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

/* Shallow: the new state shares the values it did not change with the old one (counted
 * references), so a step costs what it changed, not the size of the state. Nothing
 * changes a state's values in place: a step gets its state const, and masking works on a
 * deep copy (orch_json_deep_merge) or on the step's own changes. */
json_t *orch_state_merge(const json_t *state, const json_t *changes)
{
    json_t *s = json_is_object(state) ? json_copy((json_t *)state) : json_object();
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

/* An outcome that leaves the state as it was. */
static void outcome_unchanged(orch_outcome_t *out, const char *step_status,
                              const char *process_status, const json_t *state)
{
    out->step_status = step_status;
    out->process_status = process_status;
    out->state = json_deep_copy(state);
    out->delta = json_object();
}

/* The kinds that decide without running code: done, abort, an input step (suspends with
 * its form; ResumeProcess commits the answers as this step's success row) and a remote
 * step (waits for its step worker's answer). true when out is filled. */
static bool settle_without_running(const orch_step_def_t *def, const orch_step_ctx_t *ctx,
                                   const json_t *state, orch_outcome_t *out)
{
    switch (def->kind) {
    case ORCH_KIND_DONE:
        outcome_unchanged(out, "complete", "completed", state);
        out->finished = true;
        return true;
    case ORCH_KIND_ABORT:
        outcome_unchanged(out, "abort", "aborted", state);
        out->finished = true;
        return true;
    case ORCH_KIND_INPUT:
        outcome_unchanged(out, "suspend", "suspended", state);
        return true;
    case ORCH_KIND_CALLBACK:
        /* A remote step given to a step worker: the engine writes the task; the answer
         * commits this step's success row. Otherwise the callback action runs (a remote
         * step's fall-back). */
        if (ctx->remote || !def->fn) {
            outcome_unchanged(out, "awaiting_callback", "awaiting_callback", state);
            return true;
        }
        return false;
    default:
        return false;
    }
}

/* Runs the step's function (a conditional step whose condition is false is skipped) on a
 * copy of state; a success or skip past the step's time-out becomes STEP_TIMEOUT. */
static orch_step_result_t run_step(const orch_leaf_t *leaf, orch_step_ctx_t *ctx,
                                   const json_t *state)
{
    const orch_step_def_t *def = leaf->def;
    orch_step_result_t r;
    json_t *work;

    if (def->kind == ORCH_KIND_CONDITIONAL && !def->pred(state)) {
        orch_step_log(ORCH_LOG_INFO, ctx, "skipped: condition %s is false",
                      def->condition ? def->condition : "(predicate)");
        return orch_step_skip();
    }
    /* The step gets its own copy: whatever it does to it, the committed state is the old
     * state plus the changes it returned. */
    work = json_deep_copy(state);
    r = def->fn(ctx, work);
    json_decref(work);
    if (r.outcome != ORCH_STEP_FAIL && orch_ctx_remaining_ms(&ctx->ctx) <= 0 &&
        !orch_ctx_cancelled(&ctx->ctx)) {
        int ms = def->timeout_ms ? def->timeout_ms : ORCH_STEP_TIMEOUT_DEFAULT_MS;
        orch_step_result_cleanup(&r);
        r = orch_step_fail("STEP_TIMEOUT", NULL, "step %s overran its time-out of %d ms", leaf->key,
                           ms);
    }
    return r;
}

/* The step waits to run again after a back-off that grows with attempt. */
static void outcome_waiting(const orch_step_def_t *def, const json_t *state, int attempt,
                            const orch_step_result_t *r, orch_outcome_t *out)
{
    outcome_unchanged(out, "waiting", "waiting", state);
    out->runnable = true;
    out->retry_count = attempt + 1;
    out->next_run_delay_ms = orch_backoff_ms(def->backoff_ms, def->backoff_max_ms, attempt);
    out->error = error_json(r);
}

static void outcome_failed(const json_t *state, int attempt, const orch_step_result_t *r,
                           orch_outcome_t *out)
{
    outcome_unchanged(out, "failed", "failed", state);
    out->retry_count = attempt + 1;
    out->error = error_json(r);
}

/* A step's success: its changes merged into the state (a callback action's too, which
 * then waits for DeliverCallback). Changes that are not an object fail the step. */
static void outcome_success(const orch_leaf_t *leaf, const json_t *state, int attempt,
                            orch_step_result_t *r, orch_outcome_t *out)
{
    if (r->changes && !json_is_object(r->changes)) {
        orch_step_result_cleanup(r);
        *r = orch_step_fail("STEP_BAD_RESULT", NULL,
                            "step %s returned changes that are not a JSON object", leaf->key);
        outcome_failed(state, attempt, r, out);
        return;
    }
    if (leaf->def->kind == ORCH_KIND_CALLBACK) {
        /* The action handed the token out: wait for DeliverCallback. */
        out->step_status = "awaiting_callback";
        out->process_status = "awaiting_callback";
    } else {
        out->step_status = "success";
        out->process_status = "running";
        out->runnable = true;
    }
    out->state = orch_state_merge(state, r->changes);
    out->delta = r->changes ? json_incref(r->changes) : json_object();
}

/* The outcome of a step's result. A retry step waits after a failure while it has attempts
 * left; a wait past its last attempt fails instead. */
static void outcome_of(const orch_leaf_t *leaf, const json_t *state, int attempt,
                       orch_step_result_t *r, orch_outcome_t *out)
{
    const orch_step_def_t *def = leaf->def;
    bool retry = def->kind == ORCH_KIND_RETRY;

    switch (r->outcome) {
    case ORCH_STEP_SUCCESS:
        outcome_success(leaf, state, attempt, r, out);
        break;
    case ORCH_STEP_SKIP:
        outcome_unchanged(out, "skipped", "running", state);
        out->runnable = true;
        break;
    case ORCH_STEP_WAIT:
        if (retry && def->max_attempts > 0 && attempt + 1 >= def->max_attempts)
            outcome_failed(state, attempt, r, out);
        else
            outcome_waiting(def, state, attempt, r, out);
        break;
    case ORCH_STEP_FAIL:
        if (retry && (def->max_attempts == 0 || attempt + 1 < def->max_attempts))
            outcome_waiting(def, state, attempt, r, out);
        else
            outcome_failed(state, attempt, r, out);
        break;
    case ORCH_STEP_ABORT:
        outcome_unchanged(out, "abort", "aborted", state);
        out->finished = true;
        out->error = error_json(r);
        break;
    }
}

void orch_runner_run(const orch_workflow_t *wf, const orch_leaf_t *leaf, orch_step_ctx_t *ctx,
                     const json_t *state, int attempt, orch_outcome_t *out)
{
    orch_step_result_t r;

    (void)wf;
    memset(out, 0, sizeof(*out));
    ctx->attempt = attempt;
    ctx->def = leaf->def;
    if (leaf->def->when && !leaf->def->when(leaf->def, state)) {
        orch_step_log(ORCH_LOG_INFO, ctx, "skipped: condition %s does not hold",
                      leaf->def->condition ? leaf->def->condition : "(when)");
        outcome_unchanged(out, "skipped", "running", state);
        out->runnable = true;
        return;
    }
    if (settle_without_running(leaf->def, ctx, state, out))
        return;
    r = run_step(leaf, ctx, state);
    outcome_of(leaf, state, attempt, &r, out);
    orch_step_result_cleanup(&r);
}
