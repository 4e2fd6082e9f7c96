/* Test workflows, registered only when ORCH_TEST_WORKFLOWS is set (integration tests):
 * a step that fails a given number of times, a retry step that waits a given number of
 * times, a group, a conditional; two versions of one workflow with different step keys;
 * a step that overruns its time-out; steps reading secret answers; roles required by a
 * workflow and by an input step; three parallel branches joined (test_parallel). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/engine/engine.h"
#include "domain/forms/forms.h"
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
    {"hang", "Hang", ORCH_KIND_STEP, hang, NULL, NULL, NULL, 1000, 0, 0, 0, NULL, NULL, 0, NULL,
     NULL},
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

const orch_wf_entry_t orch_wf_testing_all[] = {
    ORCH_WF_ENTRY(orch_wf_test_flaky),        ORCH_WF_ENTRY(orch_wf_test_timeout),
    ORCH_WF_ENTRY(orch_wf_test_versioned_v1), ORCH_WF_ENTRY(orch_wf_test_versioned_v2),
    ORCH_WF_ENTRY(orch_wf_test_secret),       ORCH_WF_ENTRY(orch_wf_test_guarded),
    ORCH_WF_ENTRY(orch_wf_test_parallel),     ORCH_WF_ENTRY(orch_wf_bench_noop_10),
    ORCH_WF_ENTRY(orch_wf_bench_noop_3),      ORCH_WF_ENTRY(orch_wf_test_parallel_secret),
    ORCH_WF_ENTRY(orch_wf_test_long_50),      {0},
};
