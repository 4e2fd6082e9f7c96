/* Unit tests of workflows as data (domain/engine/definition.h): a definition compiles into a
 * workflow the registry takes, with the target's standard steps; every mistake is one field
 * violation (the start-up checks' included); built-in steps run with their parameters and
 * conditions; a key that changes kind between versions is named; the canonical text ignores
 * key order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "domain/catalog/catalog.h"
#include "domain/engine/definition.h"
#include "domain/engine/engine.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("bad fixture JSON: %s", e.text);
    return j;
}

static orch_catalog_t *example(void)
{
    orch_catalog_t *cat = orch_catalog_new();
    orch_error_t err;
    orch_catalog_load_example(cat);
    orch_error_init(&err);
    assert_int_equal(orch_catalog_validate(cat, &err), ORCH_OK);
    return cat;
}

static bool has_violation(const orch_error_t *err, const char *field)
{
    for (size_t i = 0; i < err->nviolations; i++)
        if (strcmp(err->violations[i].field, field) == 0)
            return true;
    return false;
}

static void test_good_modify_compiles_with_standard_steps(void **state)
{
    orch_catalog_t *cat = example();
    json_t *def = J("{\"name\": \"audit\", \"target\": \"modify\", \"products\": [\"node Nokia\"],"
                    " \"form\": {\"type\": \"object\", \"properties\": {\"reason\": {\"type\":"
                    " \"string\"}}},"
                    " \"steps\": [{\"key\": \"check\", \"kind\": \"task\", \"task_type\": \"a.b\","
                    "  \"reads\": [\"reason\"], \"writes\": [\"ok\"]},"
                    " {\"key\": \"save\", \"kind\": \"set_fields\", \"fields\":"
                    "  {\"node_description\": \"reason\"}}]}");
    orch_definition_t *d = NULL;
    orch_registry_t *r = orch_registry_new();
    orch_error_t err;
    const orch_workflow_t *w;
    (void)state;

    orch_error_init(&err);
    assert_int_equal(orch_definition_compile(def, 3, cat, "definition", &d, &err), ORCH_OK);
    assert_int_equal(orch_registry_add(r, orch_definition_workflow(d), &err), ORCH_OK);
    w = orch_registry_find(r, "audit", 3);
    assert_non_null(w);
    assert_int_equal(w->nleaves, 5); /* unsync, check, save, resync, done */
    assert_string_equal(w->leaves[0].key, "unsync");
    assert_string_equal(w->leaves[1].key, "check");
    assert_int_equal(w->leaves[1].def->kind, ORCH_KIND_CALLBACK);
    assert_string_equal(w->leaves[1].def->task_type, "a.b");
    assert_null(w->leaves[1].def->fn); /* waits for its worker: no fall-back */
    assert_string_equal(w->leaves[4].key, "done");
    orch_registry_free(r);
    orch_definition_free(d);
    json_decref(def);
    orch_catalog_free(cat);
}

static void test_every_mistake_is_one_violation(void **state)
{
    orch_catalog_t *cat = example();
    json_t *def = J("{\"name\": \"broken\", \"target\": \"modify\", \"products\": [\"nope\"],"
                    " \"steps\": [{\"key\": \"push\", \"kind\": \"task\"},"
                    " {\"key\": \"save\", \"kind\": \"set\", \"values\": {}},"
                    " {\"key\": \"save\", \"kind\": \"set\", \"values\": {}},"
                    " {\"key\": \"x\", \"kind\": \"telepathy\"}]}");
    orch_definition_t *d = NULL;
    orch_error_t err;
    (void)state;

    orch_error_init(&err);
    assert_int_equal(orch_definition_compile(def, 1, cat, "definition", &d, &err),
                     ORCH_INVALID_ARGUMENT);
    assert_null(d);
    assert_string_equal(err.reason, "WORKFLOW_DEFINITION_INVALID");
    assert_int_equal(err.nviolations, 4);
    assert_true(has_violation(&err, "definition.products[0]"));
    assert_true(has_violation(&err, "definition.steps[0].task_type"));
    assert_true(has_violation(&err, "definition.steps[2].key"));
    assert_true(has_violation(&err, "definition.steps[3].kind"));
    json_decref(def);
    orch_catalog_free(cat);
}

static void test_lint_problems_are_violations(void **state)
{
    /* A step reads a key nothing writes, and a form field no step reads: the start-up checks
     * of lint.c, each a violation on the step it is about. */
    json_t *def = J("{\"name\": \"t\", \"target\": \"task\","
                    " \"form\": {\"type\": \"object\", \"properties\": {\"a\": {\"type\":"
                    " \"string\"}, \"unused\": {\"type\": \"string\"}}},"
                    " \"steps\": [{\"key\": \"one\", \"kind\": \"task\", \"task_type\": \"x\","
                    "  \"reads\": [\"a\", \"missing\"], \"writes\": []}]}");
    orch_definition_t *d = NULL;
    orch_error_t err;
    (void)state;

    orch_error_init(&err);
    assert_int_equal(orch_definition_compile(def, 1, NULL, "definition", &d, &err),
                     ORCH_INVALID_ARGUMENT);
    assert_int_equal(err.nviolations, 2);
    assert_true(has_violation(&err, "definition.steps[0]"));
    assert_true(strstr(err.violations[0].description, "missing") ||
                strstr(err.violations[1].description, "missing"));
    assert_true(strstr(err.violations[0].description, "unused") ||
                strstr(err.violations[1].description, "unused"));
    json_decref(def);
}

static void test_builtin_set_and_when_run(void **state)
{
    json_t *def = J("{\"name\": \"t\", \"target\": \"task\", \"steps\": ["
                    " {\"key\": \"a\", \"kind\": \"set\", \"values\": {\"n\": 3}},"
                    " {\"key\": \"b\", \"kind\": \"set\", \"values\": {\"b\": true},"
                    "  \"when\": {\"field\": \"n\", \"equals\": 3}},"
                    " {\"key\": \"c\", \"kind\": \"set\", \"values\": {\"c\": true},"
                    "  \"when\": {\"field\": \"nested.flag\"}}]}");
    orch_definition_t *d = NULL;
    orch_registry_t *r = orch_registry_new();
    orch_error_t err;
    const orch_workflow_t *w;
    json_t *st = json_object();
    (void)state;

    orch_error_init(&err);
    assert_int_equal(orch_definition_compile(def, 1, NULL, "definition", &d, &err), ORCH_OK);
    assert_int_equal(orch_registry_add(r, orch_definition_workflow(d), &err), ORCH_OK);
    w = orch_registry_find(r, "t", 1);
    for (size_t i = 0; i < 3; i++) {
        orch_step_ctx_t ctx = {.process_id = "p", .step_key = w->leaves[i].key};
        orch_outcome_t o;
        ctx.ctx.deadline_ms = orch_now_ms() + 10000;
        orch_runner_run(w, &w->leaves[i], &ctx, st, 0, &o);
        assert_string_equal(o.step_status, i == 2 ? "skipped" : "success");
        json_decref(st);
        st = json_incref(o.state);
        orch_outcome_cleanup(&o);
    }
    assert_int_equal(json_integer_value(json_object_get(st, "n")), 3);
    assert_true(json_is_true(json_object_get(st, "b")));
    assert_null(json_object_get(st, "c"));
    json_decref(st);
    orch_registry_free(r);
    orch_definition_free(d);
    json_decref(def);
}

static void test_kind_change_is_named(void **state)
{
    json_t *v1 = J("{\"steps\": [{\"key\": \"a\", \"kind\": \"task\"}, {\"key\": \"b\","
                   " \"kind\": \"set\"}]}");
    json_t *v2 = J("{\"steps\": [{\"key\": \"a\", \"kind\": \"task\"}, {\"key\": \"b\","
                   " \"kind\": \"input\"}, {\"key\": \"c\", \"kind\": \"set\"}]}");
    orch_error_t err;
    (void)state;
    orch_error_init(&err);
    assert_int_equal(orch_definition_check_kinds(v1, v2, "definition", &err), 1);
    assert_string_equal(err.reason, "STEP_KIND_CHANGED");
    assert_true(has_violation(&err, "definition.steps[1].kind"));
    orch_error_init(&err);
    assert_int_equal(orch_definition_check_kinds(v1, v1, "definition", &err), 0);
    json_decref(v1);
    json_decref(v2);
}

static void test_canonical_ignores_key_order(void **state)
{
    json_t *a = J("{\"name\": \"x\", \"steps\": [{\"key\": \"k\", \"kind\": \"done\"}]}");
    json_t *b = J("{\"steps\": [{\"kind\": \"done\", \"key\": \"k\"}], \"name\": \"x\"}");
    char da[17], db[17];
    char *ta = orch_definition_canonical(a, da), *tb = orch_definition_canonical(b, db);
    (void)state;
    assert_string_equal(ta, tb);
    assert_string_equal(da, db);
    free(ta);
    free(tb);
    json_decref(a);
    json_decref(b);
}

/* Only the keys the target's standard steps add are refused: a create workflow may name a step
 * "unsync" (create adds no unsync step), not "resync" (it does). */
static void test_only_the_targets_standard_keys_are_taken(void **state)
{
    orch_catalog_t *cat = example();
    json_t *ok = J("{\"name\": \"mk\", \"target\": \"create\", \"products\": [\"node Nokia\"],"
                   " \"steps\": [{\"key\": \"unsync\", \"kind\": \"set\", \"values\": {}}]}");
    json_t *bad = J("{\"name\": \"mk\", \"target\": \"create\", \"products\": [\"node Nokia\"],"
                    " \"steps\": [{\"key\": \"resync\", \"kind\": \"set\", \"values\": {}}]}");
    orch_definition_t *d = NULL;
    orch_error_t err;
    (void)state;

    orch_error_init(&err);
    assert_int_equal(orch_definition_compile(ok, 1, cat, "definition", &d, &err), ORCH_OK);
    orch_definition_free(d);
    d = NULL;
    orch_error_init(&err);
    assert_int_equal(orch_definition_compile(bad, 1, cat, "definition", &d, &err),
                     ORCH_INVALID_ARGUMENT);
    assert_true(has_violation(&err, "definition.steps[0].key"));
    assert_null(d);
    json_decref(ok);
    json_decref(bad);
    orch_catalog_free(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_modify_compiles_with_standard_steps),
        cmocka_unit_test(test_every_mistake_is_one_violation),
        cmocka_unit_test(test_lint_problems_are_violations),
        cmocka_unit_test(test_builtin_set_and_when_run),
        cmocka_unit_test(test_kind_change_is_named),
        cmocka_unit_test(test_canonical_ignores_key_order),
        cmocka_unit_test(test_only_the_targets_standard_keys_are_taken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
