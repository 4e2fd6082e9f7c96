/* Test workflows, in the test binary orchestratord-test alone, which registers them when
 * ORCH_TEST_WORKFLOWS is set (integration tests and benchmarks):
 * a step that fails a given number of times, a retry step that waits a given number of
 * times, a group, a conditional; two versions of one workflow with different step keys;
 * a step that overruns its time-out; steps reading secret answers; roles required by a
 * workflow and by an input step; three parallel branches joined (test_parallel). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/engine/engine.h"
#include "domain/forms/forms.h"
#include "tests/testbin/testbin.h"

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
    return orch_step_ok(
        json_pack("{s:s, s:i}", ctx->step_key, "done", "ran_on_version", ctx->workflow_version));
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
    {.key = "hang", .name = "Hang", .kind = ORCH_KIND_STEP, .fn = hang, .timeout_ms = 1000},
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

/* ---- test_secret: secret answers reach the steps, never the audit log -------------------- */

/* A fingerprint a test can recompute: proves the step saw the real value, not the mask. */
static long long fingerprint(const char *s)
{
    unsigned long long h = 7;
    for (; *s; s++)
        h = (h * 31 + (unsigned char)*s) % 1000003;
    return (long long)h;
}

static orch_step_result_t use_key(orch_step_ctx_t *ctx, json_t *state)
{
    const char *key = orch_state_str(state, "api_key", "");
    (void)ctx;
    /* Echoing the secret under its own name is masked before the commit. */
    return orch_step_ok(json_pack("{s:I, s:I, s:s}", "key_length", (json_int_t)strlen(key),
                                  "key_fingerprint", (json_int_t)fingerprint(key), "api_key", key));
}

static orch_step_result_t use_pin(orch_step_ctx_t *ctx, json_t *state)
{
    const char *pin = orch_state_str(state, "pin", "");
    (void)ctx;
    return orch_step_ok(json_pack("{s:I, s:I}", "pin_length", (json_int_t)strlen(pin),
                                  "pin_fingerprint", (json_int_t)fingerprint(pin)));
}

static const orch_form_field_t secret_start_fields[] = {
    {.name = "username", .title = "User", .type = ORCH_FORM_STRING, .required = true},
    {.name = "api_key",
     .title = "API key",
     .type = ORCH_FORM_STRING,
     .required = true,
     .secret = true,
     .has_min = true,
     .min = 8},
    {0},
};
static const orch_form_page_t secret_start_pages[] = {{"Credentials", secret_start_fields}, {0}};
static const orch_form_t secret_start_form = {.pages = secret_start_pages};

static const orch_form_field_t secret_pin_fields[] = {
    {.name = "pin", .title = "PIN", .type = ORCH_FORM_STRING, .required = true, .secret = true},
    {0},
};
static const orch_form_page_t secret_pin_pages[] = {{"The PIN", secret_pin_fields}, {0}};
static const orch_form_t secret_pin_form = {.pages = secret_pin_pages};

static const orch_step_def_t secret_steps[] = {
    ORCH_STEP("use_key", "Use the API key", use_key),
    ORCH_INPUT_STEP("ask_pin", "Ask the PIN", &secret_pin_form),
    ORCH_STEP("use_pin", "Use the PIN", use_pin),
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_test_secret = {
    .name = "test_secret",
    .description = "Test task whose steps read secret answers",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = secret_steps,
    .form = &secret_start_form,
};

/* ---- test_guarded: a workflow and an input step that require roles of their own --------- */

static const orch_form_field_t approve_fields[] = {
    {.name = "approved", .title = "Approved", .type = ORCH_FORM_BOOLEAN, .required = true},
    {0},
};
static const orch_form_page_t approve_pages[] = {{"Approval", approve_fields}, {0}};
static const orch_form_t approve_form = {.pages = approve_pages};

static const orch_step_def_t guarded_steps[] = {
    ORCH_STEP("prepare", "Prepare", prepare),
    ORCH_INPUT_STEP_ROLE("approve", "Approve the change", &approve_form, "approver"),
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_test_guarded = {
    .name = "test_guarded",
    .description = "Test task that change managers start and approvers approve",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = guarded_steps,
    .required_role = "change_manager",
};

/* ---- test_parallel: three branches joined --------------------------------------------------- */

/* Sleeps state.branch_sleep_ms (300 by default; it stops when told), then reports. Every
 * branch returns the same keys: the join keeps them apart under the branch names. */
static orch_step_result_t branch_work(orch_step_ctx_t *ctx, json_t *state)
{
    int64_t until = orch_now_ms() + orch_state_int(state, "branch_sleep_ms", 300);
    while (orch_now_ms() < until && !orch_step_ctx_expired(ctx))
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    return orch_step_ok(json_pack("{s:s, s:s}", "work", "done", "step", ctx->step_key));
}

static orch_step_result_t branch_second(orch_step_ctx_t *ctx, json_t *state)
{
    (void)ctx;
    return orch_step_ok(json_pack("{s:s}", "second", orch_state_str(state, "work", "missing")));
}

/* Fails while the branch process made fewer than state.fail_branch_c attempts. */
static orch_step_result_t branch_flaky(orch_step_ctx_t *ctx, json_t *state)
{
    if (ctx->attempt < orch_state_int(state, "fail_branch_c", 0))
        return orch_step_fail("BRANCH_FLAKY", NULL, "branch c failed as asked (attempt %d)",
                              ctx->attempt + 1);
    return orch_step_ok(json_pack("{s:i}", "flaky_attempts", ctx->attempt + 1));
}

/* After the join: every branch's result is in the state under its name. */
static orch_step_result_t after_join(orch_step_ctx_t *ctx, json_t *state)
{
    const char *names[] = {"a", "b", "c"};
    (void)ctx;
    for (size_t i = 0; i < 3; i++)
        if (!json_is_object(json_object_get(state, names[i])))
            return orch_step_fail("JOIN_MISSING", NULL, "branch %s's result is not in the state",
                                  names[i]);
    return orch_step_ok(json_pack("{s:b}", "joined", 1));
}

static const orch_step_def_t branch_a_steps[] = {
    ORCH_STEP("work", "Work (a)", branch_work),
    ORCH_STEP("second", "Second (a)", branch_second),
    ORCH_STEPS_END,
};
static const orch_step_def_t branch_b_steps[] = {
    ORCH_STEP("work", "Work (b)", branch_work),
    ORCH_STEPS_END,
};
static const orch_step_def_t branch_c_steps[] = {
    ORCH_STEP("work", "Work (c)", branch_work),
    ORCH_STEP("flaky", "Flaky (c)", branch_flaky),
    ORCH_STEPS_END,
};
static const orch_branch_def_t fan_branches[] = {
    {"a", branch_a_steps},
    {"b", branch_b_steps},
    {"c", branch_c_steps},
    ORCH_BRANCHES_END,
};
static const orch_step_def_t parallel_steps[] = {
    ORCH_STEP("prepare", "Prepare", prepare),
    ORCH_PARALLEL("fan", "Fan out", fan_branches),
    ORCH_STEP("after", "After the join", after_join),
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_test_parallel = {
    .name = "test_parallel",
    .description = "Test task: three parallel branches joined",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = parallel_steps,
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
    ORCH_STEP("n1", "No-op 1", noop),
    ORCH_STEP("n2", "No-op 2", noop),
    ORCH_STEP("n3", "No-op 3", noop),
    ORCH_STEP("n4", "No-op 4", noop),
    ORCH_STEP("n5", "No-op 5", noop),
    ORCH_STEP("n6", "No-op 6", noop),
    ORCH_STEP("n7", "No-op 7", noop),
    ORCH_STEP("n8", "No-op 8", noop),
    ORCH_STEP("n9", "No-op 9", noop),
    ORCH_DONE,
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

/* ---- remote steps (docs/WORKERS.md): test_remote waits for a step worker of test.remote
 * (no fall-back); bench_remote_noop is bench_noop_3 with its second step remote, of type
 * bench.noop (bench/workers.sh). ---------------------------------------------------------- */

static const orch_step_def_t remote_steps[] = {
    ORCH_REMOTE_STEP("work", "Remote work", "test.remote"),
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_test_remote = {
    .name = "test_remote",
    .description = "Test task: one step a step worker of test.remote does",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = remote_steps,
};

/* test_remote_secret: the start form's secret reaches a step worker of an
 * ORCH_REMOTE_STEP_SECRETS step unmasked and one of a plain remote step masked; whatever a
 * worker returns under a secret's name is masked before the commit (interop_python_workers). */
static const orch_step_def_t remote_secret_steps[] = {
    ORCH_REMOTE_STEP("plain", "Remote work without the secrets", "test.remote_plain"),
    ORCH_REMOTE_STEP_SECRETS("work", "Remote work with the secrets", "test.remote_secret"),
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_test_remote_secret = {
    .name = "test_remote_secret",
    .description = "Test task: step workers and the start form's secret answer",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = remote_secret_steps,
    .form = &secret_start_form,
};

static const orch_step_def_t remote_noop_steps[] = {
    ORCH_STEP("n1", "No-op 1", noop),
    ORCH_REMOTE_STEP("n2", "Remote no-op", "bench.noop"),
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_bench_remote_noop = {
    .name = "bench_remote_noop",
    .description = "Benchmark task: bench_noop_3 with its second step done by a step worker",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = remote_noop_steps,
};

/* ---- test_parallel_secret: a branch's step reads the start form's secret ------------------ */

static const orch_step_def_t secret_branch_steps[] = {
    ORCH_STEP("use_key", "Use the API key", use_key),
    ORCH_STEPS_END,
};
static const orch_branch_def_t secret_branches[] = {
    {"a", secret_branch_steps},
    {"b", secret_branch_steps},
    ORCH_BRANCHES_END,
};
static const orch_step_def_t parallel_secret_steps[] = {
    ORCH_PARALLEL("fan", "Fan out", secret_branches),
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_test_parallel_secret = {
    .name = "test_parallel_secret",
    .description = "Test task whose parallel branches read a secret answer",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = parallel_secret_steps,
    .form = &secret_start_form,
};

/* ---- test_long_50: the engine hot path (issue 17) ------------------------------------------ */

/* Fifty steps (49 no-ops and the final done): one claim runs them all, in stretches. */
static const orch_step_def_t long_50_steps[] = {
    ORCH_STEP("l01", "Long 01", noop),
    ORCH_STEP("l02", "Long 02", noop),
    ORCH_STEP("l03", "Long 03", noop),
    ORCH_STEP("l04", "Long 04", noop),
    ORCH_STEP("l05", "Long 05", noop),
    ORCH_STEP("l06", "Long 06", noop),
    ORCH_STEP("l07", "Long 07", noop),
    ORCH_STEP("l08", "Long 08", noop),
    ORCH_STEP("l09", "Long 09", noop),
    ORCH_STEP("l10", "Long 10", noop),
    ORCH_STEP("l11", "Long 11", noop),
    ORCH_STEP("l12", "Long 12", noop),
    ORCH_STEP("l13", "Long 13", noop),
    ORCH_STEP("l14", "Long 14", noop),
    ORCH_STEP("l15", "Long 15", noop),
    ORCH_STEP("l16", "Long 16", noop),
    ORCH_STEP("l17", "Long 17", noop),
    ORCH_STEP("l18", "Long 18", noop),
    ORCH_STEP("l19", "Long 19", noop),
    ORCH_STEP("l20", "Long 20", noop),
    ORCH_STEP("l21", "Long 21", noop),
    ORCH_STEP("l22", "Long 22", noop),
    ORCH_STEP("l23", "Long 23", noop),
    ORCH_STEP("l24", "Long 24", noop),
    ORCH_STEP("l25", "Long 25", noop),
    ORCH_STEP("l26", "Long 26", noop),
    ORCH_STEP("l27", "Long 27", noop),
    ORCH_STEP("l28", "Long 28", noop),
    ORCH_STEP("l29", "Long 29", noop),
    ORCH_STEP("l30", "Long 30", noop),
    ORCH_STEP("l31", "Long 31", noop),
    ORCH_STEP("l32", "Long 32", noop),
    ORCH_STEP("l33", "Long 33", noop),
    ORCH_STEP("l34", "Long 34", noop),
    ORCH_STEP("l35", "Long 35", noop),
    ORCH_STEP("l36", "Long 36", noop),
    ORCH_STEP("l37", "Long 37", noop),
    ORCH_STEP("l38", "Long 38", noop),
    ORCH_STEP("l39", "Long 39", noop),
    ORCH_STEP("l40", "Long 40", noop),
    ORCH_STEP("l41", "Long 41", noop),
    ORCH_STEP("l42", "Long 42", noop),
    ORCH_STEP("l43", "Long 43", noop),
    ORCH_STEP("l44", "Long 44", noop),
    ORCH_STEP("l45", "Long 45", noop),
    ORCH_STEP("l46", "Long 46", noop),
    ORCH_STEP("l47", "Long 47", noop),
    ORCH_STEP("l48", "Long 48", noop),
    ORCH_STEP("l49", "Long 49", noop),
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_test_long_50 = {
    .name = "test_long_50",
    .description = "Test task: fifty steps that do nothing (the engine's hot path)",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = long_50_steps,
};

/* ---- bench_noop_100 and bench_grow_100: the cost of a step against the process's length ---- */

/* bench/run.sh compares their steps/s with bench_noop_10's: a step of a long process should
 * cost what a step of a short one costs (issue 17). bench_noop_100: 99 no-ops and the final
 * done, state {}. bench_grow_100: each of its 99 steps adds a key of its own holding a
 * 1,000-character string, so the state grows by about 1 KiB per step (about 100 KiB at the
 * end). */
static const orch_step_def_t noop_100_steps[] = {
    ORCH_STEP("n1", "No-op 1", noop),
    ORCH_STEP("n2", "No-op 2", noop),
    ORCH_STEP("n3", "No-op 3", noop),
    ORCH_STEP("n4", "No-op 4", noop),
    ORCH_STEP("n5", "No-op 5", noop),
    ORCH_STEP("n6", "No-op 6", noop),
    ORCH_STEP("n7", "No-op 7", noop),
    ORCH_STEP("n8", "No-op 8", noop),
    ORCH_STEP("n9", "No-op 9", noop),
    ORCH_STEP("n10", "No-op 10", noop),
    ORCH_STEP("n11", "No-op 11", noop),
    ORCH_STEP("n12", "No-op 12", noop),
    ORCH_STEP("n13", "No-op 13", noop),
    ORCH_STEP("n14", "No-op 14", noop),
    ORCH_STEP("n15", "No-op 15", noop),
    ORCH_STEP("n16", "No-op 16", noop),
    ORCH_STEP("n17", "No-op 17", noop),
    ORCH_STEP("n18", "No-op 18", noop),
    ORCH_STEP("n19", "No-op 19", noop),
    ORCH_STEP("n20", "No-op 20", noop),
    ORCH_STEP("n21", "No-op 21", noop),
    ORCH_STEP("n22", "No-op 22", noop),
    ORCH_STEP("n23", "No-op 23", noop),
    ORCH_STEP("n24", "No-op 24", noop),
    ORCH_STEP("n25", "No-op 25", noop),
    ORCH_STEP("n26", "No-op 26", noop),
    ORCH_STEP("n27", "No-op 27", noop),
    ORCH_STEP("n28", "No-op 28", noop),
    ORCH_STEP("n29", "No-op 29", noop),
    ORCH_STEP("n30", "No-op 30", noop),
    ORCH_STEP("n31", "No-op 31", noop),
    ORCH_STEP("n32", "No-op 32", noop),
    ORCH_STEP("n33", "No-op 33", noop),
    ORCH_STEP("n34", "No-op 34", noop),
    ORCH_STEP("n35", "No-op 35", noop),
    ORCH_STEP("n36", "No-op 36", noop),
    ORCH_STEP("n37", "No-op 37", noop),
    ORCH_STEP("n38", "No-op 38", noop),
    ORCH_STEP("n39", "No-op 39", noop),
    ORCH_STEP("n40", "No-op 40", noop),
    ORCH_STEP("n41", "No-op 41", noop),
    ORCH_STEP("n42", "No-op 42", noop),
    ORCH_STEP("n43", "No-op 43", noop),
    ORCH_STEP("n44", "No-op 44", noop),
    ORCH_STEP("n45", "No-op 45", noop),
    ORCH_STEP("n46", "No-op 46", noop),
    ORCH_STEP("n47", "No-op 47", noop),
    ORCH_STEP("n48", "No-op 48", noop),
    ORCH_STEP("n49", "No-op 49", noop),
    ORCH_STEP("n50", "No-op 50", noop),
    ORCH_STEP("n51", "No-op 51", noop),
    ORCH_STEP("n52", "No-op 52", noop),
    ORCH_STEP("n53", "No-op 53", noop),
    ORCH_STEP("n54", "No-op 54", noop),
    ORCH_STEP("n55", "No-op 55", noop),
    ORCH_STEP("n56", "No-op 56", noop),
    ORCH_STEP("n57", "No-op 57", noop),
    ORCH_STEP("n58", "No-op 58", noop),
    ORCH_STEP("n59", "No-op 59", noop),
    ORCH_STEP("n60", "No-op 60", noop),
    ORCH_STEP("n61", "No-op 61", noop),
    ORCH_STEP("n62", "No-op 62", noop),
    ORCH_STEP("n63", "No-op 63", noop),
    ORCH_STEP("n64", "No-op 64", noop),
    ORCH_STEP("n65", "No-op 65", noop),
    ORCH_STEP("n66", "No-op 66", noop),
    ORCH_STEP("n67", "No-op 67", noop),
    ORCH_STEP("n68", "No-op 68", noop),
    ORCH_STEP("n69", "No-op 69", noop),
    ORCH_STEP("n70", "No-op 70", noop),
    ORCH_STEP("n71", "No-op 71", noop),
    ORCH_STEP("n72", "No-op 72", noop),
    ORCH_STEP("n73", "No-op 73", noop),
    ORCH_STEP("n74", "No-op 74", noop),
    ORCH_STEP("n75", "No-op 75", noop),
    ORCH_STEP("n76", "No-op 76", noop),
    ORCH_STEP("n77", "No-op 77", noop),
    ORCH_STEP("n78", "No-op 78", noop),
    ORCH_STEP("n79", "No-op 79", noop),
    ORCH_STEP("n80", "No-op 80", noop),
    ORCH_STEP("n81", "No-op 81", noop),
    ORCH_STEP("n82", "No-op 82", noop),
    ORCH_STEP("n83", "No-op 83", noop),
    ORCH_STEP("n84", "No-op 84", noop),
    ORCH_STEP("n85", "No-op 85", noop),
    ORCH_STEP("n86", "No-op 86", noop),
    ORCH_STEP("n87", "No-op 87", noop),
    ORCH_STEP("n88", "No-op 88", noop),
    ORCH_STEP("n89", "No-op 89", noop),
    ORCH_STEP("n90", "No-op 90", noop),
    ORCH_STEP("n91", "No-op 91", noop),
    ORCH_STEP("n92", "No-op 92", noop),
    ORCH_STEP("n93", "No-op 93", noop),
    ORCH_STEP("n94", "No-op 94", noop),
    ORCH_STEP("n95", "No-op 95", noop),
    ORCH_STEP("n96", "No-op 96", noop),
    ORCH_STEP("n97", "No-op 97", noop),
    ORCH_STEP("n98", "No-op 98", noop),
    ORCH_STEP("n99", "No-op 99", noop),
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_bench_noop_100 = {
    .name = "bench_noop_100",
    .description = "Benchmark task: a hundred steps that do nothing",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = noop_100_steps,
};

/* One step's kilobyte: its own key (the step key, so no step overwrites another's) with a
 * 1,000-character string. */
static orch_step_result_t grow(orch_step_ctx_t *ctx, json_t *state)
{
    char kib[1001];
    (void)state;
    memset(kib, 'x', sizeof(kib) - 1);
    kib[sizeof(kib) - 1] = '\0';
    return orch_step_ok(json_pack("{s:s}", ctx->step_key, kib));
}

static const orch_step_def_t grow_100_steps[] = {
    ORCH_STEP("g1", "Grow 1", grow),
    ORCH_STEP("g2", "Grow 2", grow),
    ORCH_STEP("g3", "Grow 3", grow),
    ORCH_STEP("g4", "Grow 4", grow),
    ORCH_STEP("g5", "Grow 5", grow),
    ORCH_STEP("g6", "Grow 6", grow),
    ORCH_STEP("g7", "Grow 7", grow),
    ORCH_STEP("g8", "Grow 8", grow),
    ORCH_STEP("g9", "Grow 9", grow),
    ORCH_STEP("g10", "Grow 10", grow),
    ORCH_STEP("g11", "Grow 11", grow),
    ORCH_STEP("g12", "Grow 12", grow),
    ORCH_STEP("g13", "Grow 13", grow),
    ORCH_STEP("g14", "Grow 14", grow),
    ORCH_STEP("g15", "Grow 15", grow),
    ORCH_STEP("g16", "Grow 16", grow),
    ORCH_STEP("g17", "Grow 17", grow),
    ORCH_STEP("g18", "Grow 18", grow),
    ORCH_STEP("g19", "Grow 19", grow),
    ORCH_STEP("g20", "Grow 20", grow),
    ORCH_STEP("g21", "Grow 21", grow),
    ORCH_STEP("g22", "Grow 22", grow),
    ORCH_STEP("g23", "Grow 23", grow),
    ORCH_STEP("g24", "Grow 24", grow),
    ORCH_STEP("g25", "Grow 25", grow),
    ORCH_STEP("g26", "Grow 26", grow),
    ORCH_STEP("g27", "Grow 27", grow),
    ORCH_STEP("g28", "Grow 28", grow),
    ORCH_STEP("g29", "Grow 29", grow),
    ORCH_STEP("g30", "Grow 30", grow),
    ORCH_STEP("g31", "Grow 31", grow),
    ORCH_STEP("g32", "Grow 32", grow),
    ORCH_STEP("g33", "Grow 33", grow),
    ORCH_STEP("g34", "Grow 34", grow),
    ORCH_STEP("g35", "Grow 35", grow),
    ORCH_STEP("g36", "Grow 36", grow),
    ORCH_STEP("g37", "Grow 37", grow),
    ORCH_STEP("g38", "Grow 38", grow),
    ORCH_STEP("g39", "Grow 39", grow),
    ORCH_STEP("g40", "Grow 40", grow),
    ORCH_STEP("g41", "Grow 41", grow),
    ORCH_STEP("g42", "Grow 42", grow),
    ORCH_STEP("g43", "Grow 43", grow),
    ORCH_STEP("g44", "Grow 44", grow),
    ORCH_STEP("g45", "Grow 45", grow),
    ORCH_STEP("g46", "Grow 46", grow),
    ORCH_STEP("g47", "Grow 47", grow),
    ORCH_STEP("g48", "Grow 48", grow),
    ORCH_STEP("g49", "Grow 49", grow),
    ORCH_STEP("g50", "Grow 50", grow),
    ORCH_STEP("g51", "Grow 51", grow),
    ORCH_STEP("g52", "Grow 52", grow),
    ORCH_STEP("g53", "Grow 53", grow),
    ORCH_STEP("g54", "Grow 54", grow),
    ORCH_STEP("g55", "Grow 55", grow),
    ORCH_STEP("g56", "Grow 56", grow),
    ORCH_STEP("g57", "Grow 57", grow),
    ORCH_STEP("g58", "Grow 58", grow),
    ORCH_STEP("g59", "Grow 59", grow),
    ORCH_STEP("g60", "Grow 60", grow),
    ORCH_STEP("g61", "Grow 61", grow),
    ORCH_STEP("g62", "Grow 62", grow),
    ORCH_STEP("g63", "Grow 63", grow),
    ORCH_STEP("g64", "Grow 64", grow),
    ORCH_STEP("g65", "Grow 65", grow),
    ORCH_STEP("g66", "Grow 66", grow),
    ORCH_STEP("g67", "Grow 67", grow),
    ORCH_STEP("g68", "Grow 68", grow),
    ORCH_STEP("g69", "Grow 69", grow),
    ORCH_STEP("g70", "Grow 70", grow),
    ORCH_STEP("g71", "Grow 71", grow),
    ORCH_STEP("g72", "Grow 72", grow),
    ORCH_STEP("g73", "Grow 73", grow),
    ORCH_STEP("g74", "Grow 74", grow),
    ORCH_STEP("g75", "Grow 75", grow),
    ORCH_STEP("g76", "Grow 76", grow),
    ORCH_STEP("g77", "Grow 77", grow),
    ORCH_STEP("g78", "Grow 78", grow),
    ORCH_STEP("g79", "Grow 79", grow),
    ORCH_STEP("g80", "Grow 80", grow),
    ORCH_STEP("g81", "Grow 81", grow),
    ORCH_STEP("g82", "Grow 82", grow),
    ORCH_STEP("g83", "Grow 83", grow),
    ORCH_STEP("g84", "Grow 84", grow),
    ORCH_STEP("g85", "Grow 85", grow),
    ORCH_STEP("g86", "Grow 86", grow),
    ORCH_STEP("g87", "Grow 87", grow),
    ORCH_STEP("g88", "Grow 88", grow),
    ORCH_STEP("g89", "Grow 89", grow),
    ORCH_STEP("g90", "Grow 90", grow),
    ORCH_STEP("g91", "Grow 91", grow),
    ORCH_STEP("g92", "Grow 92", grow),
    ORCH_STEP("g93", "Grow 93", grow),
    ORCH_STEP("g94", "Grow 94", grow),
    ORCH_STEP("g95", "Grow 95", grow),
    ORCH_STEP("g96", "Grow 96", grow),
    ORCH_STEP("g97", "Grow 97", grow),
    ORCH_STEP("g98", "Grow 98", grow),
    ORCH_STEP("g99", "Grow 99", grow),
    ORCH_DONE,
    ORCH_STEPS_END,
};

const orch_workflow_def_t orch_wf_bench_grow_100 = {
    .name = "bench_grow_100",
    .description = "Benchmark task: a hundred steps, each adding about 1 KiB to the state",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = grow_100_steps,
};

const orch_wf_entry_t orch_wf_testing_all[] = {
    ORCH_WF_ENTRY(orch_wf_test_flaky),
    ORCH_WF_ENTRY(orch_wf_test_timeout),
    ORCH_WF_ENTRY(orch_wf_test_versioned_v1),
    ORCH_WF_ENTRY(orch_wf_test_versioned_v2),
    ORCH_WF_ENTRY(orch_wf_test_secret),
    ORCH_WF_ENTRY(orch_wf_test_guarded),
    ORCH_WF_ENTRY(orch_wf_test_parallel),
    ORCH_WF_ENTRY(orch_wf_bench_noop_10),
    ORCH_WF_ENTRY(orch_wf_bench_noop_3),
    ORCH_WF_ENTRY(orch_wf_test_parallel_secret),
    ORCH_WF_ENTRY(orch_wf_test_long_50),
    ORCH_WF_ENTRY(orch_wf_bench_noop_100),
    ORCH_WF_ENTRY(orch_wf_bench_grow_100),
    ORCH_WF_ENTRY(orch_wf_test_remote),
    ORCH_WF_ENTRY(orch_wf_bench_remote_noop),
    ORCH_WF_ENTRY(orch_wf_test_remote_secret),
    {0},
};
