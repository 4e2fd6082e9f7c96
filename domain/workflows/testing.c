/* Test workflows, registered only when ORCH_TEST_WORKFLOWS is set (integration tests):
 * a step that fails a given number of times, a retry step that waits a given number of
 * times, a group, a conditional; two versions of one workflow with different step keys;
 * a step that overruns its time-out. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/engine/engine.h"
#include "domain/workflows/workflows.h"

static orch_step_result_t prepare(orch_step_ctx_t *ctx, json_t *state)
{
    (void)ctx;
    (void)state;
    return orch_step_ok(json_pack("{s:b}", "prepared", 1));
}

/* Fails identically while fewer than state.fail_times attempts were made. */
static orch_step_result_t flaky(orch_step_ctx_t *ctx, json_t *state)
{
    if (ctx->attempt < orch_state_int(state, "fail_times", 0))
        return orch_step_fail("FLAKY", json_pack("{s:s}", "hint", "retry me"),
                              "the flaky step failed as asked");
    return orch_step_ok(json_pack("{s:i}", "flaky_attempts", ctx->attempt + 1));
}

static orch_step_result_t waiting(orch_step_ctx_t *ctx, json_t *state)
{
    if (ctx->attempt < orch_state_int(state, "wait_times", 0))
        return orch_step_wait("NOT_YET", NULL, "not ready yet");
    return orch_step_ok(json_pack("{s:i}", "wait_attempts", ctx->attempt + 1));
}

static orch_step_result_t part_a(orch_step_ctx_t *ctx, json_t *state)
{
    (void)ctx;
    (void)state;
    return orch_step_ok(json_pack("{s:s}", "a", "done"));
}

static orch_step_result_t part_b(orch_step_ctx_t *ctx, json_t *state)
{
    (void)ctx;
    return orch_step_ok(json_pack("{s:s}", "b", orch_state_str(state, "a", "missing")));
}

static bool not_skipped(const json_t *state)
{
    return !orch_state_bool(state, "skip_maybe", false);
}

static orch_step_result_t maybe(orch_step_ctx_t *ctx, json_t *state)
{
    (void)ctx;
    (void)state;
    return orch_step_ok(json_pack("{s:b}", "maybe_ran", 1));
}

static const orch_step_def_t finish_steps[] = {
    ORCH_STEP("a", "Part A", part_a),
    ORCH_STEP("b", "Part B", part_b),
    ORCH_STEPS_END,
};

static const orch_step_def_t flaky_steps[] = {
    ORCH_STEP("prepare", "Prepare", prepare),
    ORCH_STEP("flaky", "Flaky step", flaky),
    ORCH_RETRY_STEP("waiting", "Wait until ready", waiting, 0, 100, 400),
    ORCH_GROUP("finish", "Finish", finish_steps),
    ORCH_CONDITIONAL("maybe", "Maybe", not_skipped, "state.skip_maybe != true", maybe),
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_test_flaky = {
    .name = "test_flaky",
    .description = "Test task: fails, waits, groups, conditions",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = flaky_steps,
};

static orch_step_result_t mark(orch_step_ctx_t *ctx, json_t *state)
{
    (void)state;
    return orch_step_ok(json_pack("{s:s, s:i}", ctx->step_key, "done", "ran_on_version",
                                  ctx->workflow_version));
}

static const orch_step_def_t v1_steps[] = {
    ORCH_STEP("first", "First", mark),
    ORCH_STEP("hold_v1", "Hold (v1)", mark),
    ORCH_STEP("last_v1", "Last (v1)", mark),
    ORCH_DONE,
    ORCH_STEPS_END,
};

static const orch_step_def_t v2_steps[] = {
    ORCH_STEP("first", "First", mark),
    ORCH_STEP("second_v2", "Second (v2)", mark),
    ORCH_STEP("hold_v2", "Hold (v2)", mark),
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_test_versioned_v1 = {
    .name = "test_versioned",
    .description = "Test workflow with two versions",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = v1_steps,
};

const orch_workflow_def_t orch_wf_test_versioned_v2 = {
    .name = "test_versioned",
    .description = "Test workflow with two versions",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 2,
    .steps = v2_steps,
};

/* Never finishes on its own: overruns its 1 s time-out (it stops when told). */
static orch_step_result_t hang(orch_step_ctx_t *ctx, json_t *state)
{
    (void)state;
    while (!orch_step_ctx_expired(ctx))
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    return orch_step_ok(NULL);
}

static const orch_step_def_t timeout_steps[] = {
    {"hang", "Hang", ORCH_KIND_STEP, hang, NULL, NULL, NULL, 1000, 0, 0, 0, NULL, NULL, 0},
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_test_timeout = {
    .name = "test_timeout",
    .description = "Test task whose step overruns its time-out",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = timeout_steps,
};

/* Benchmark workflows (bench/run.sh): steps that do nothing, so a run measures what the
 * engine and the database cost per committed step. bench_noop_10 has 10 steps (9 no-ops
 * and the final done), bench_noop_3 has 3. */
static orch_step_result_t noop(orch_step_ctx_t *ctx, json_t *state)
{
    (void)ctx;
    (void)state;
    return orch_step_ok(NULL);
}

static const orch_step_def_t noop_10_steps[] = {
    ORCH_STEP("n1", "No-op 1", noop), ORCH_STEP("n2", "No-op 2", noop),
    ORCH_STEP("n3", "No-op 3", noop), ORCH_STEP("n4", "No-op 4", noop),
    ORCH_STEP("n5", "No-op 5", noop), ORCH_STEP("n6", "No-op 6", noop),
    ORCH_STEP("n7", "No-op 7", noop), ORCH_STEP("n8", "No-op 8", noop),
    ORCH_STEP("n9", "No-op 9", noop), ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_bench_noop_10 = {
    .name = "bench_noop_10",
    .description = "Benchmark task: ten steps that do nothing",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = noop_10_steps,
};

static const orch_step_def_t noop_3_steps[] = {
    ORCH_STEP("n1", "No-op 1", noop),
    ORCH_STEP("n2", "No-op 2", noop),
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_bench_noop_3 = {
    .name = "bench_noop_3",
    .description = "Benchmark task: three steps that do nothing",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = noop_3_steps,
};
