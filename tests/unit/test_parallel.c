/* Unit tests of parallel branches' pure parts: the registry's checks of parallel steps (each
 * refusal named), the leaves and stored step list they give, which leaf comes next on the
 * main line and in a branch, what a branch changed, and the join (merge under the branch
 * names, or the failure naming the failed branches). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/engine/engine.h"
#include "domain/forms/forms.h"

static orch_step_result_t ok(orch_step_ctx_t *ctx, json_t *state)
{
    (void)ctx;
    (void)state;
    return orch_step_ok(NULL);
}

static bool yes(const json_t *state)
{
    (void)state;
    return true;
}

static const orch_step_def_t two_steps[] = {
    ORCH_STEP("work", "Work", ok),
    ORCH_RETRY_STEP("again", "Again", ok, 3, 10, 100),
    ORCH_STEPS_END,
};
static const orch_step_def_t one_step[] = {
    ORCH_CONDITIONAL("work", "Work", yes, "always", ok),
    ORCH_STEPS_END,
};
static const orch_branch_def_t good_branches[] = {
    {"left", two_steps},
    {"right", one_step},
    ORCH_BRANCHES_END,
};
static const orch_step_def_t good_steps[] = {
    ORCH_STEP("first", "First", ok),
    ORCH_PARALLEL("fan", "Fan out", good_branches),
    ORCH_STEP("last", "Last", ok),
    ORCH_DONE,
    ORCH_STEPS_END,
};

static orch_workflow_def_t wf_def(const orch_step_def_t *steps)
{
    orch_workflow_def_t d = {.name = "par",
                             .description = "Parallel",
                             .target = ORCH_TARGET_SYSTEM,
                             .is_task = true,
                             .version = 1,
                             .steps = steps};
    return d;
}

/* Registers steps; returns the error reason ("" when accepted). */
static const char *add(orch_registry_t *r, const orch_workflow_def_t *d, orch_error_t *err)
{
    orch_error_init(err);
    if (orch_registry_add(r, d, err) == ORCH_OK)
        return "";
    assert_int_equal(err->code, ORCH_FAILED_PRECONDITION);
    return err->reason;
}

static void registry_accepts_and_flattens(void **state)
{
    orch_registry_t *r = orch_registry_new();
    orch_workflow_def_t d = wf_def(good_steps);
    const orch_workflow_t *w;
    orch_error_t err;
    static const char *const keys[] = {"first",          "fan",  "fan/left/work", "fan/left/again",
                                       "fan/right/work", "last", "done"};
    json_t *steps;
    (void)state;

    assert_string_equal(add(r, &d, &err), "");
    w = orch_registry_find(r, "par", 1);
    assert_int_equal(w->nleaves, 7);
    assert_int_equal(w->ntop, 4);
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(w->leaves[i].key, keys[i]);
    assert_null(w->leaves[1].branch);
    assert_int_equal(w->leaves[1].def->kind, ORCH_KIND_PARALLEL);
    assert_string_equal(w->leaves[3].branch, "left");
    assert_string_equal(w->leaves[3].branch_key, "fan/left");
    assert_ptr_equal(w->leaves[3].parent, &good_steps[1]);
    assert_string_equal(w->leaves[4].branch, "right");
    assert_ptr_equal(orch_parallel_leaf(w, "fan"), &w->leaves[1]);
    assert_null(orch_parallel_leaf(w, "first"));
    assert_null(orch_parallel_leaf(w, "fan/left/work"));

    /* The stored step list: branches as an ordered array, full keys. */
    steps = json_loads(w->steps_json, 0, NULL);
    assert_int_equal(json_array_size(steps), 4);
    {
        json_t *fan = json_array_get(steps, 1), *bs = json_object_get(fan, "branches");
        assert_string_equal(json_string_value(json_object_get(fan, "kind")), "parallel");
        assert_int_equal(json_array_size(bs), 2);
        assert_string_equal(json_string_value(json_object_get(json_array_get(bs, 0), "name")),
                            "left");
        assert_string_equal(
            json_string_value(json_object_get(
                json_array_get(json_object_get(json_array_get(bs, 1), "steps"), 0), "key")),
            "fan/right/work");
    }
    json_decref(steps);
    orch_registry_free(r);
}

static void runner_next_main_line_and_branches(void **state)
{
    orch_registry_t *r = orch_registry_new();
    orch_workflow_def_t d = wf_def(good_steps);
    const orch_workflow_t *w;
    orch_error_t err;
    const char *done[4];
    (void)state;

    assert_string_equal(add(r, &d, &err), "");
    w = orch_registry_find(r, "par", 1);
    /* The main line never runs branch leaves: after first comes the parallel step itself,
     * and after the join the step after it. */
    done[0] = "first";
    assert_string_equal(orch_runner_next(w, done, 1)->key, "fan");
    done[1] = "fan";
    assert_string_equal(orch_runner_next(w, done, 2)->key, "last");
    /* A branch runs its own leaves only, in order, by key. */
    assert_string_equal(orch_runner_next_in_branch(w, "fan/left", NULL, 0)->key, "fan/left/work");
    done[0] = "fan/left/work";
    assert_string_equal(orch_runner_next_in_branch(w, "fan/left", done, 1)->key, "fan/left/again");
    done[1] = "fan/left/again";
    assert_null(orch_runner_next_in_branch(w, "fan/left", done, 2));
    assert_string_equal(orch_runner_next_in_branch(w, "fan/right", done, 2)->key, "fan/right/work");
    assert_null(orch_runner_next_in_branch(w, "fan/nope", NULL, 0));
    orch_registry_free(r);
}

static const orch_step_def_t group_with_parallel_children[] = {
    ORCH_PARALLEL("inner", "Inner", good_branches),
    ORCH_STEPS_END,
};
static const orch_step_def_t parallel_in_group[] = {
    ORCH_GROUP("g", "Group", group_with_parallel_children),
    ORCH_DONE,
    ORCH_STEPS_END,
};
static const orch_step_def_t nested_parallel_steps[] = {
    ORCH_PARALLEL("inner", "Inner", good_branches),
    ORCH_STEPS_END,
};
static const orch_branch_def_t nesting_branches[] = {
    {"outer", nested_parallel_steps},
    ORCH_BRANCHES_END,
};
static const orch_step_def_t parallel_in_branch[] = {
    ORCH_PARALLEL("fan", "Fan", nesting_branches),
    ORCH_DONE,
    ORCH_STEPS_END,
};
static const orch_branch_def_t duplicate_branches[] = {
    {"same", one_step},
    {"same", two_steps},
    ORCH_BRANCHES_END,
};
static const orch_step_def_t duplicate_names[] = {
    ORCH_PARALLEL("fan", "Fan", duplicate_branches),
    ORCH_DONE,
    ORCH_STEPS_END,
};
static const orch_branch_def_t bad_name_branches[] = {
    {"Bad-Name", one_step},
    ORCH_BRANCHES_END,
};
static const orch_step_def_t bad_name[] = {
    ORCH_PARALLEL("fan", "Fan", bad_name_branches),
    ORCH_DONE,
    ORCH_STEPS_END,
};
static const orch_step_def_t no_steps[] = {ORCH_STEPS_END};
static const orch_branch_def_t empty_branches[] = {
    {"empty", no_steps},
    ORCH_BRANCHES_END,
};
static const orch_step_def_t empty_branch[] = {
    ORCH_PARALLEL("fan", "Fan", empty_branches),
    ORCH_DONE,
    ORCH_STEPS_END,
};
static const orch_branch_def_t none[] = {ORCH_BRANCHES_END};
static const orch_step_def_t no_branches[] = {
    ORCH_PARALLEL("fan", "Fan", none),
    ORCH_DONE,
    ORCH_STEPS_END,
};
static const orch_step_def_t null_branches[] = {
    ORCH_PARALLEL("fan", "Fan", NULL),
    ORCH_DONE,
    ORCH_STEPS_END,
};
static const orch_form_t a_form = {0};
static const orch_step_def_t input_steps[] = {
    ORCH_INPUT_STEP("ask", "Ask", &a_form),
    ORCH_STEPS_END,
};
static const orch_branch_def_t input_branches[] = {
    {"asks", input_steps},
    ORCH_BRANCHES_END,
};
static const orch_step_def_t input_in_branch[] = {
    ORCH_PARALLEL("fan", "Fan", input_branches),
    ORCH_DONE,
    ORCH_STEPS_END,
};
static const orch_step_def_t done_steps[] = {
    ORCH_DONE,
    ORCH_STEPS_END,
};
static const orch_branch_def_t done_branches[] = {
    {"ends", done_steps},
    ORCH_BRANCHES_END,
};
static const orch_step_def_t done_in_branch[] = {
    ORCH_PARALLEL("fan", "Fan", done_branches),
    ORCH_DONE,
    ORCH_STEPS_END,
};
static const orch_step_def_t bad_key_steps[] = {
    ORCH_STEP("Not/Ok", "Bad key", ok),
    ORCH_STEPS_END,
};
static const orch_branch_def_t bad_key_branches[] = {
    {"b", bad_key_steps},
    ORCH_BRANCHES_END,
};
static const orch_step_def_t bad_key_in_branch[] = {
    ORCH_PARALLEL("fan", "Fan", bad_key_branches),
    ORCH_DONE,
    ORCH_STEPS_END,
};
static const orch_step_def_t twice_steps[] = {
    ORCH_STEP("work", "Work", ok),
    ORCH_STEP("work", "Work again", ok),
    ORCH_STEPS_END,
};
static const orch_branch_def_t twice_branches[] = {
    {"b", twice_steps},
    ORCH_BRANCHES_END,
};
static const orch_step_def_t key_twice_in_branch[] = {
    ORCH_PARALLEL("fan", "Fan", twice_branches),
    ORCH_DONE,
    ORCH_STEPS_END,
};

static void registry_refusals_are_named(void **state)
{
    static const struct {
        const orch_step_def_t *steps;
        const char *reason, *words;
    } cases[] = {
        {parallel_in_group, "PARALLEL_NESTED", "inner"},
        {parallel_in_branch, "PARALLEL_NESTED", "do not nest"},
        {duplicate_names, "PARALLEL_BRANCH_NAME", "two branches named same"},
        {bad_name, "PARALLEL_BRANCH_NAME", "Bad-Name"},
        {empty_branch, "PARALLEL_BRANCH_EMPTY", "branch empty"},
        {no_branches, "PARALLEL_BRANCHES_MISSING", "fan"},
        {null_branches, "PARALLEL_BRANCHES_MISSING", "fan"},
        {input_in_branch, "PARALLEL_BRANCH_STEP", "input_step"},
        {done_in_branch, "PARALLEL_BRANCH_STEP", "done"},
        {bad_key_in_branch, "WORKFLOW_INVALID", "Not/Ok"},
        {key_twice_in_branch, "WORKFLOW_INVALID", "fan/b/work is used twice"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        orch_registry_t *r = orch_registry_new();
        orch_workflow_def_t d = wf_def(cases[i].steps);
        orch_error_t err;
        const char *reason = add(r, &d, &err);
        if (strcmp(reason, cases[i].reason) != 0 || !strstr(err.message, cases[i].words))
            fail_msg("case %zu: %s '%s'; expected %s with '%s'", i, reason, err.message,
                     cases[i].reason, cases[i].words);
        assert_int_equal(orch_registry_count(r), 0);
        orch_registry_free(r);
    }
}

static void branch_result_and_settled(void **state)
{
    json_t *initial = json_pack("{s:i, s:s, s:{s:i}}", "n", 1, "same", "x", "obj", "k", 1);
    json_t *final =
        json_pack("{s:i, s:s, s:{s:i}, s:b}", "n", 2, "same", "x", "obj", "k", 1, "added", 1);
    json_t *r = orch_branch_result(initial, final);
    (void)state;
    assert_int_equal(json_object_size(r), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "n")), 2);
    assert_true(json_is_true(json_object_get(r, "added")));
    json_decref(r);
    r = orch_branch_result(initial, NULL);
    assert_int_equal(json_object_size(r), 0);
    json_decref(r);
    json_decref(initial);
    json_decref(final);

    assert_true(orch_branch_settled("completed"));
    assert_true(orch_branch_settled("failed"));
    assert_true(orch_branch_settled("aborted"));
    assert_true(orch_branch_settled("inconsistent_data"));
    assert_false(orch_branch_settled("running"));
    assert_false(orch_branch_settled("waiting"));
    assert_false(orch_branch_settled("resumed"));
    assert_false(orch_branch_settled("created"));
    assert_false(orch_branch_settled(NULL));
}

static void join_merges_under_branch_names(void **state)
{
    orch_registry_t *r = orch_registry_new();
    orch_workflow_def_t d = wf_def(good_steps);
    orch_error_t err;
    const orch_workflow_t *w;
    json_t *st = json_pack("{s:i, s:s}", "before", 1, "work", "untouched");
    json_t *lf = json_pack("{s:i, s:s, s:i}", "before", 1, "work", "left done", "extra", 7);
    json_t *rf = json_pack("{s:i, s:s}", "before", 1, "work", "right done");
    orch_branch_run_t runs[2] = {
        {"left", "completed", st, lf, NULL, NULL},
        {"right", "completed", st, rf, NULL, NULL},
    };
    orch_outcome_t out;
    (void)state;

    assert_string_equal(add(r, &d, &err), "");
    w = orch_registry_find(r, "par", 1);
    orch_parallel_join(orch_parallel_leaf(w, "fan"), runs, 2, st, 0, &out);
    assert_string_equal(out.step_status, "success");
    assert_string_equal(out.process_status, "running");
    assert_true(out.runnable);
    assert_null(out.error);
    /* The same key of two branches kept apart, the state before untouched. */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out.state, "left"), "work")),
        "left done");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out.state, "right"), "work")),
        "right done");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(out.state, "left"), "extra")), 7);
    assert_null(json_object_get(json_object_get(out.state, "left"), "before"));
    assert_string_equal(json_string_value(json_object_get(out.state, "work")), "untouched");
    assert_int_equal(json_object_size(out.delta), 2);
    orch_outcome_cleanup(&out);

    json_decref(st);
    json_decref(lf);
    json_decref(rf);
    orch_registry_free(r);
}

static void join_fails_naming_failed_branches(void **state)
{
    orch_registry_t *r = orch_registry_new();
    orch_workflow_def_t d = wf_def(good_steps);
    orch_error_t err;
    const orch_workflow_t *w;
    json_t *st = json_pack("{s:i}", "before", 1);
    json_t *det = json_pack("{s:s}", "reason", "IPAM_FULL");
    orch_branch_run_t runs[3] = {
        {"left", "failed", st, st, "the pool is full", det},
        {"mid", "completed", st, st, NULL, NULL},
        {"right", "aborted", st, st, NULL, NULL},
    };
    orch_outcome_t out;
    json_t *errors;
    (void)state;

    assert_string_equal(add(r, &d, &err), "");
    w = orch_registry_find(r, "par", 1);
    orch_parallel_join(orch_parallel_leaf(w, "fan"), runs, 3, st, 2, &out);
    assert_string_equal(out.step_status, "failed");
    assert_string_equal(out.process_status, "failed");
    assert_false(out.runnable);
    assert_false(out.finished);
    assert_int_equal(out.retry_count, 3);
    assert_true(json_equal(out.state, st)); /* nothing merged */
    assert_int_equal(json_object_size(out.delta), 0);
    assert_string_equal(json_string_value(json_object_get(out.error, "reason")),
                        "PARALLEL_BRANCH_FAILED");
    assert_non_null(
        strstr(json_string_value(json_object_get(out.error, "message")), "branches left, right"));
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(out.error, "details"), "failed")), 2);
    errors = json_object_get(json_object_get(out.error, "details"), "errors");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(errors, "left"), "reason")), "IPAM_FULL");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(errors, "left"), "message")),
        "the pool is full");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(errors, "right"), "reason")), "ABORTED");
    assert_null(json_object_get(errors, "mid"));
    orch_outcome_cleanup(&out);
    json_decref(st);
    json_decref(det);
    orch_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_accepts_and_flattens),
        cmocka_unit_test(runner_next_main_line_and_branches),
        cmocka_unit_test(registry_refusals_are_named),
        cmocka_unit_test(branch_result_and_settled),
        cmocka_unit_test(join_merges_under_branch_names),
        cmocka_unit_test(join_fails_naming_failed_branches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
