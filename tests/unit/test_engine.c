/* Unit tests of the engine's pure parts: registry checks, step kinds, back-off, state
 * merging, version and key matching. No store: the runner is driven directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/engine/engine.h"

static orch_step_result_t ok_a(orch_step_ctx_t *ctx, json_t *state)
{
    (void)ctx;
    json_object_set_new(state, "scribble", json_true()); /* must not leak into the state */
    return orch_step_ok(json_pack("{s:i, s:s}", "a", 1, "shared", "new"));
}

static orch_step_result_t fail_b(orch_step_ctx_t *ctx, json_t *state)
{
    (void)state;
    return orch_step_fail("B_FAILED", json_pack("{s:i}", "attempt", ctx->attempt), "b failed");
}

static orch_step_result_t wait_c(orch_step_ctx_t *ctx, json_t *state)
{
    (void)ctx;
    (void)state;
    return orch_step_wait("NOT_YET", NULL, "not yet");
}

static orch_step_result_t abort_d(orch_step_ctx_t *ctx, json_t *state)
{
    (void)ctx;
    (void)state;
    return orch_step_abort("stop here");
}

static orch_step_result_t bad_changes(orch_step_ctx_t *ctx, json_t *state)
{
    (void)ctx;
    (void)state;
    return orch_step_ok(json_string("not an object"));
}

static orch_step_result_t slow(orch_step_ctx_t *ctx, json_t *state)
{
    (void)state;
    while (!orch_step_ctx_expired(ctx))
        ;
    return orch_step_ok(NULL);
}

static bool has_a(const json_t *state)
{
    return orch_state_int(state, "a", 0) == 1;
}

static const orch_step_def_t group_children[] = {
    ORCH_STEP("x", "X", ok_a),
    ORCH_STEP("y", "Y", ok_a),
    ORCH_STEPS_END,
};

static const orch_step_def_t steps_v1[] = {
    ORCH_STEP("a", "A", ok_a),
    ORCH_STEP("b", "B", fail_b),
    ORCH_RETRY_STEP("c", "C", wait_c, 3, 100, 1000),
    ORCH_CONDITIONAL("cond", "Cond", has_a, "state.a == 1", ok_a),
    ORCH_GROUP("g", "Group", group_children),
    ORCH_STEP("d", "D", abort_d),
    ORCH_STEP("bad", "Bad", bad_changes),
    {.key = "slow", .name = "Slow", .kind = ORCH_KIND_STEP, .fn = slow, .timeout_ms = 20},
    ORCH_DONE,
    ORCH_STEPS_END,
};

static const orch_step_def_t steps_v2[] = {
    ORCH_STEP("a", "A", ok_a),
    ORCH_STEP("new_in_v2", "New", ok_a),
    ORCH_DONE,
    ORCH_STEPS_END,
};

static const orch_workflow_def_t wf_v1 = {"wf",     "test", ORCH_TARGET_SYSTEM, true, 1,
                                          steps_v1, NULL,   ORCH_LC_NONE,       NULL, NULL,
                                          NULL,     NULL};
static const orch_workflow_def_t wf_v2 = {"wf",     "test", ORCH_TARGET_SYSTEM, true, 2,
                                          steps_v2, NULL,   ORCH_LC_NONE,       NULL, NULL,
                                          NULL,     NULL};

static orch_registry_t *reg(void)
{
    orch_registry_t *r = orch_registry_new();
    orch_error_t err;
    orch_error_init(&err);
    assert_int_equal(orch_registry_add(r, &wf_v1, &err), ORCH_OK);
    assert_int_equal(orch_registry_add(r, &wf_v2, &err), ORCH_OK);
    return r;
}

static const orch_leaf_t *leaf(const orch_workflow_t *w, const char *key)
{
    for (size_t i = 0; i < w->nleaves; i++)
        if (strcmp(w->leaves[i].key, key) == 0)
            return &w->leaves[i];
    fail_msg("no leaf %s", key);
    return NULL;
}

static void run(const orch_workflow_t *w, const char *key, const json_t *state, int attempt,
                orch_outcome_t *out)
{
    orch_step_ctx_t ctx;
    const orch_leaf_t *l = leaf(w, key);
    memset(&ctx, 0, sizeof(ctx));
    ctx.process_id = "p";
    ctx.step_key = key;
    ctx.ctx.deadline_ms = orch_now_ms() + (l->def->timeout_ms ? l->def->timeout_ms : 10000);
    orch_runner_run(w, l, &ctx, state, attempt, out);
}

static void registry_flattens_groups_and_versions(void **st)
{
    orch_registry_t *r = reg();
    const orch_workflow_t *w1 = orch_registry_find(r, "wf", 1);
    (void)st;
    assert_non_null(w1);
    assert_int_equal(orch_registry_latest(r, "wf")->def->version, 2);
    assert_null(orch_registry_find(r, "wf", 3));
    assert_int_equal(w1->ntop, 9);
    assert_int_equal(w1->nleaves, 10);
    assert_string_equal(w1->leaves[4].key, "g.x");
    assert_string_equal(w1->leaves[4].parent->key, "g");
    assert_non_null(strstr(w1->steps_json, "\"children\""));
    assert_non_null(strstr(w1->steps_json, "\"key\":\"g.y\""));
    assert_int_equal(strlen(w1->digest), 16);
    orch_registry_free(r);
}

static void registry_refuses_bad_declarations(void **st)
{
    static const orch_step_def_t dup[] = {ORCH_STEP("a", "A", ok_a), ORCH_STEP("a", "A2", ok_a),
                                          ORCH_DONE, ORCH_STEPS_END};
    static const orch_step_def_t no_end[] = {ORCH_STEP("a", "A", ok_a), ORCH_STEPS_END};
    static const orch_step_def_t bad_key[] = {ORCH_STEP("Bad Key", "A", ok_a), ORCH_DONE,
                                              ORCH_STEPS_END};
    static const orch_step_def_t no_pred[] = {
        {.key = "c", .name = "C", .kind = ORCH_KIND_CONDITIONAL, .fn = ok_a},
        ORCH_DONE,
        ORCH_STEPS_END};
    /* Only an input step may require a role. */
    static const orch_step_def_t role_on_step[] = {
        {.key = "a", .name = "A", .kind = ORCH_KIND_STEP, .fn = ok_a, .required_role = "noc"},
        ORCH_DONE,
        ORCH_STEPS_END};
    const orch_workflow_def_t defs[] = {
        {"w1", "", ORCH_TARGET_SYSTEM, true, 1, dup, NULL, ORCH_LC_NONE, NULL, NULL, NULL, NULL},
        {"w2", "", ORCH_TARGET_SYSTEM, true, 1, no_end, NULL, ORCH_LC_NONE, NULL, NULL, NULL, NULL},
        {"w3", "", ORCH_TARGET_SYSTEM, true, 1, bad_key, NULL, ORCH_LC_NONE, NULL, NULL, NULL,
         NULL},
        {"w4", "", ORCH_TARGET_SYSTEM, true, 1, no_pred, NULL, ORCH_LC_NONE, NULL, NULL, NULL,
         NULL},
        {"w5", "", ORCH_TARGET_SYSTEM, true, 0, steps_v2, NULL, ORCH_LC_NONE, NULL, NULL, NULL,
         NULL},
        {"w6", "", ORCH_TARGET_SYSTEM, true, 1, steps_v2, NULL, ORCH_LC_NONE, "Change Manager",
         NULL, NULL, NULL},
        {"w7", "", ORCH_TARGET_SYSTEM, true, 1, role_on_step, NULL, ORCH_LC_NONE, NULL, NULL, NULL,
         NULL},
    };
    orch_registry_t *r = orch_registry_new();
    orch_error_t err;
    (void)st;
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        orch_error_init(&err);
        assert_int_equal(orch_registry_add(r, &defs[i], &err), ORCH_FAILED_PRECONDITION);
        assert_string_equal(err.reason, "WORKFLOW_INVALID");
    }
    orch_error_init(&err);
    assert_int_equal(orch_registry_add(r, &wf_v1, &err), ORCH_OK);
    assert_int_equal(orch_registry_add(r, &wf_v1, &err), ORCH_FAILED_PRECONDITION);
    assert_int_equal(orch_registry_count(r), 1);
    orch_registry_free(r);
}

static void next_step_matches_by_key(void **st)
{
    orch_registry_t *r = reg();
    const orch_workflow_t *w1 = orch_registry_find(r, "wf", 1);
    const orch_workflow_t *w2 = orch_registry_find(r, "wf", 2);
    const char *done1[] = {"a", "b", "c", "cond", "g.x"};
    const char *done2[] = {"new_in_v2", "a"}; /* order of the log does not matter */
    const char *foreign[] = {"b", "zzz"};     /* keys of another version are ignored */
    (void)st;
    assert_string_equal(orch_runner_next(w1, NULL, 0)->key, "a");
    assert_string_equal(orch_runner_next(w1, done1, 5)->key, "g.y");
    assert_string_equal(orch_runner_next(w2, done2, 2)->key, "done");
    assert_string_equal(orch_runner_next(w2, foreign, 2)->key, "a");
    {
        const char *all[] = {"a", "new_in_v2", "done"};
        assert_null(orch_runner_next(w2, all, 3));
    }
    orch_registry_free(r);
}

static void success_merges_state_shallowly(void **st)
{
    orch_registry_t *r = reg();
    const orch_workflow_t *w = orch_registry_find(r, "wf", 1);
    json_t *state = json_pack("{s:s, s:{s:i}}", "shared", "old", "keep", "n", 1);
    orch_outcome_t o;
    (void)st;
    run(w, "a", state, 0, &o);
    assert_string_equal(o.step_status, "success");
    assert_string_equal(o.process_status, "running");
    assert_true(o.runnable);
    assert_int_equal(o.next_run_delay_ms, 0);
    assert_string_equal(orch_state_str(o.state, "shared", ""), "new");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o.state, "keep"), "n")), 1);
    assert_null(json_object_get(o.state, "scribble"));
    assert_int_equal(json_object_size(o.delta), 2);
    assert_string_equal(orch_state_str(state, "shared", ""), "old"); /* input unchanged */
    orch_outcome_cleanup(&o);
    json_decref(state);
    orch_registry_free(r);
}

static void failure_keeps_state_and_error(void **st)
{
    orch_registry_t *r = reg();
    const orch_workflow_t *w = orch_registry_find(r, "wf", 1);
    json_t *state = json_pack("{s:i}", "a", 1);
    orch_outcome_t o;
    (void)st;
    run(w, "b", state, 2, &o);
    assert_string_equal(o.step_status, "failed");
    assert_string_equal(o.process_status, "failed");
    assert_false(o.runnable);
    assert_int_equal(o.retry_count, 3);
    assert_true(json_equal(o.state, state));
    assert_string_equal(orch_state_str(o.error, "reason", ""), "B_FAILED");
    assert_string_equal(orch_state_str(o.error, "message", ""), "b failed");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(o.error, "details"), "attempt")), 2);
    orch_outcome_cleanup(&o);
    /* Not an object: a failure, not a crash. */
    run(w, "bad", state, 0, &o);
    assert_string_equal(o.step_status, "failed");
    assert_string_equal(orch_state_str(o.error, "reason", ""), "STEP_BAD_RESULT");
    orch_outcome_cleanup(&o);
    json_decref(state);
    orch_registry_free(r);
}

static void retry_step_backs_off_then_fails(void **st)
{
    orch_registry_t *r = reg();
    const orch_workflow_t *w = orch_registry_find(r, "wf", 1);
    json_t *state = json_object();
    orch_outcome_t o;
    (void)st;
    run(w, "c", state, 0, &o);
    assert_string_equal(o.step_status, "waiting");
    assert_string_equal(o.process_status, "waiting");
    assert_true(o.runnable);
    assert_int_equal(o.next_run_delay_ms, 100);
    assert_int_equal(o.retry_count, 1);
    orch_outcome_cleanup(&o);
    run(w, "c", state, 1, &o);
    assert_int_equal(o.next_run_delay_ms, 200);
    orch_outcome_cleanup(&o);
    run(w, "c", state, 2, &o); /* the third attempt of three */
    assert_string_equal(o.step_status, "failed");
    assert_false(o.runnable);
    orch_outcome_cleanup(&o);
    json_decref(state);
    orch_registry_free(r);
}

static void backoff_is_exponential_and_capped(void **st)
{
    (void)st;
    assert_int_equal(orch_backoff_ms(100, 1000, 0), 100);
    assert_int_equal(orch_backoff_ms(100, 1000, 3), 800);
    assert_int_equal(orch_backoff_ms(100, 1000, 4), 1000);
    assert_int_equal(orch_backoff_ms(100, 1000, 60), 1000);
    assert_int_equal(orch_backoff_ms(0, 0, 0), 1000);
    assert_int_equal(orch_backoff_ms(0, 0, 30), 300000);
}

static void conditional_skips_when_false(void **st)
{
    orch_registry_t *r = reg();
    const orch_workflow_t *w = orch_registry_find(r, "wf", 1);
    json_t *yes = json_pack("{s:i}", "a", 1), *no = json_object();
    orch_outcome_t o;
    (void)st;
    run(w, "cond", no, 0, &o);
    assert_string_equal(o.step_status, "skipped");
    assert_true(o.runnable);
    assert_int_equal(json_object_size(o.delta), 0);
    orch_outcome_cleanup(&o);
    run(w, "cond", yes, 0, &o);
    assert_string_equal(o.step_status, "success");
    orch_outcome_cleanup(&o);
    json_decref(yes);
    json_decref(no);
    orch_registry_free(r);
}

static void done_abort_and_timeout(void **st)
{
    orch_registry_t *r = reg();
    const orch_workflow_t *w = orch_registry_find(r, "wf", 1);
    json_t *state = json_pack("{s:i}", "a", 1);
    orch_outcome_t o;
    (void)st;
    run(w, "done", state, 0, &o);
    assert_string_equal(o.step_status, "complete");
    assert_string_equal(o.process_status, "completed");
    assert_true(o.finished);
    assert_false(o.runnable);
    orch_outcome_cleanup(&o);
    run(w, "d", state, 0, &o);
    assert_string_equal(o.step_status, "abort");
    assert_string_equal(o.process_status, "aborted");
    assert_true(o.finished);
    orch_outcome_cleanup(&o);
    run(w, "slow", state, 0, &o);
    assert_string_equal(o.step_status, "failed");
    assert_string_equal(orch_state_str(o.error, "reason", ""), "STEP_TIMEOUT");
    orch_outcome_cleanup(&o);
    json_decref(state);
    orch_registry_free(r);
}

/* Each lifecycle wrapper puts its standard steps around the author's, in this order. */
static void lifecycle_wrappers_wrap_the_author_steps(void **st)
{
    static const orch_step_def_t author[] = {ORCH_STEP("a", "A", ok_a), ORCH_STEP("b", "B", ok_a),
                                             ORCH_STEPS_END};
    static const struct {
        orch_lifecycle_t lc;
        const char *name;
        const char *keys[8];
    } cases[] = {
        {ORCH_LC_CREATE, "lc_create", {"a", "b", "set_status_active", "resync", "done"}},
        {ORCH_LC_MODIFY, "lc_modify", {"unsync", "a", "b", "resync", "done"}},
        {ORCH_LC_VALIDATE, "lc_validate", {"unsync", "a", "b", "resync", "done"}},
        {ORCH_LC_RECONCILE, "lc_reconcile", {"unsync", "a", "b", "resync", "done"}},
        {ORCH_LC_TERMINATE,
         "lc_terminate",
         {"unsync", "a", "b", "set_status_terminated", "resync", "done"}},
        {ORCH_LC_TASK, "lc_task", {"a", "b", "done"}},
    };
    static orch_workflow_def_t defs[sizeof(cases) / sizeof(cases[0])];
    orch_registry_t *r = orch_registry_new();
    orch_error_t err;
    (void)st;
    orch_error_init(&err);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const orch_workflow_t *w;
        size_t n = 0;
        memset(&defs[i], 0, sizeof(defs[i]));
        defs[i].name = cases[i].name;
        defs[i].description = "lifecycle test";
        defs[i].target = cases[i].lc == ORCH_LC_CREATE      ? ORCH_TARGET_CREATE
                         : cases[i].lc == ORCH_LC_TERMINATE ? ORCH_TARGET_TERMINATE
                         : cases[i].lc == ORCH_LC_TASK      ? ORCH_TARGET_SYSTEM
                         : cases[i].lc == ORCH_LC_MODIFY    ? ORCH_TARGET_MODIFY
                                                            : ORCH_TARGET_VALIDATE;
        defs[i].is_task = cases[i].lc == ORCH_LC_TASK;
        defs[i].version = 1;
        defs[i].steps = author;
        defs[i].lifecycle = cases[i].lc;
        if (orch_registry_add(r, &defs[i], &err) != ORCH_OK)
            fail_msg("%s: %s", cases[i].name, err.message);
        w = orch_registry_find(r, cases[i].name, 1);
        assert_non_null(w);
        while (cases[i].keys[n])
            n++;
        if (w->nleaves != n)
            fail_msg("%s: %zu steps, want %zu", cases[i].name, w->nleaves, n);
        for (size_t k = 0; k < n; k++)
            if (strcmp(w->leaves[k].key, cases[i].keys[k]) != 0)
                fail_msg("%s: step %zu is %s, want %s", cases[i].name, k, w->leaves[k].key,
                         cases[i].keys[k]);
        assert_int_equal(w->ntop, n);
    }
    orch_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_flattens_groups_and_versions),
        cmocka_unit_test(registry_refuses_bad_declarations),
        cmocka_unit_test(next_step_matches_by_key),
        cmocka_unit_test(success_merges_state_shallowly),
        cmocka_unit_test(failure_keeps_state_and_error),
        cmocka_unit_test(retry_step_backs_off_then_fails),
        cmocka_unit_test(backoff_is_exponential_and_capped),
        cmocka_unit_test(conditional_skips_when_false),
        cmocka_unit_test(done_abort_and_timeout),
        cmocka_unit_test(lifecycle_wrappers_wrap_the_author_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
