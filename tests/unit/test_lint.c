/* Unit tests of the start-up checks (domain/engine/lint.h): the shipped workflows and the
 * example catalogue pass with no error and no warning; each check has a broken fixture,
 * defined here, that provokes it and is named by its C symbol; what cannot be known (an
 * undeclared step) is not reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "domain/catalog/catalog.h"
#include "domain/engine/engine.h"
#include "domain/engine/lint.h"
#include "domain/forms/forms.h"
#include "domain/workflows/workflows.h"
#include "tests/testbin/testbin.h"

/* orch_workflows_list with what orchestratord-test adds for the environment as it is now
 * (ORCH_TEST_WORKFLOWS, ORCH_TEST_BROKEN_FIXTURE: tests/testbin/testbin.h). */
static size_t testbin_workflows_list(orch_wf_entry_t **out)
{
    orch_wf_entry_t *extra = orch_testbin_workflows_new();
    size_t n = orch_workflows_list(extra, out);
    free(extra);
    return n;
}

/* ---- fixtures: a small catalogue and its workflows ------------------------------------------ */

static orch_step_result_t noop(orch_step_ctx_t *ctx, json_t *state)
{
    (void)ctx;
    (void)state;
    return orch_step_ok(NULL);
}

static bool always(const json_t *state)
{
    (void)state;
    return true;
}

static const orch_field_def_t widget_fields[] = {
    {"size", ORCH_FIELD_INTEGER, true, false, "Size", NULL},
    {0},
};
static const orch_block_def_t widget_block = {"WidgetBlock", "A widget", "WIDGET", widget_fields,
                                              NULL};

static const orch_step_def_t one_step[] = {ORCH_STEP("work", "Work", noop), ORCH_STEPS_END};
static const orch_step_def_t one_step_done[] = {ORCH_STEP("work", "Work", noop), ORCH_DONE,
                                                ORCH_STEPS_END};

/* A clean lifecycle: create / modify / terminate / validate of product type Widget. */
static const orch_form_field_t size_fields[] = {
    {.name = "size", .title = "Size", .type = ORCH_FORM_INTEGER, .required = true},
    {.name = "note", .title = "Only for people", .type = ORCH_FORM_LABEL},
    {0},
};
static const orch_form_page_t size_pages[] = {{"Size", size_fields}, {0}};
static const orch_form_t size_form = {.pages = size_pages};
static const orch_step_io_t create_io[] = {
    {"work", ORCH_KEYS("product_id", "size"), ORCH_KEYS("subscription_id")},
    {0},
};
static const orch_step_io_t sub_io[] = {
    {"work", ORCH_KEYS("subscription_id"), ORCH_NO_KEYS},
    {0},
};
const orch_workflow_def_t wf_create_widget = {
    .name = "create_widget",
    .target = ORCH_TARGET_CREATE,
    .version = 1,
    .steps = one_step,
    .lifecycle = ORCH_LC_CREATE,
    .form = &size_form,
    .io = create_io,
    .product_type = "Widget",
    .blocks = ORCH_KEYS("WidgetBlock"),
};
const orch_workflow_def_t wf_modify_widget = {
    .name = "modify_widget",
    .target = ORCH_TARGET_MODIFY,
    .version = 1,
    .steps = one_step,
    .lifecycle = ORCH_LC_MODIFY,
    .io = sub_io,
    .product_type = "Widget",
};
const orch_workflow_def_t wf_terminate_widget = {
    .name = "terminate_widget",
    .target = ORCH_TARGET_TERMINATE,
    .version = 1,
    .steps = one_step,
    .lifecycle = ORCH_LC_TERMINATE,
};
const orch_workflow_def_t wf_validate_widget = {
    .name = "validate_widget",
    .target = ORCH_TARGET_VALIDATE,
    .version = 1,
    .steps = one_step,
    .lifecycle = ORCH_LC_VALIDATE,
};

static const orch_workflow_ref_t widget_refs[] = {
    {"create_widget", ORCH_TARGET_CREATE, "Create"},
    {"modify_widget", ORCH_TARGET_MODIFY, "Modify"},
    {"terminate_widget", ORCH_TARGET_TERMINATE, "Terminate"},
    {"validate_widget", ORCH_TARGET_VALIDATE, "Validate"},
    {0},
};
static const orch_product_def_t widget_product = {"widget", "A widget",          "Widget",
                                                  "WIDGET", ORCH_PRODUCT_ACTIVE, "WidgetBlock",
                                                  NULL,     widget_refs};

#define LIFECYCLE_ENTRIES                                                                          \
    ORCH_WF_ENTRY(wf_create_widget), ORCH_WF_ENTRY(wf_modify_widget),                              \
        ORCH_WF_ENTRY(wf_terminate_widget), ORCH_WF_ENTRY(wf_validate_widget)

/* A catalogue of the widget and, when extra is not NULL, one more product. */
static orch_catalog_t *catalog_with(const orch_product_def_t *extra, const char *symbol)
{
    orch_catalog_t *cat = orch_catalog_new();
    orch_error_t err;
    ORCH_CATALOG_ADD_BLOCK(cat, widget_block);
    ORCH_CATALOG_ADD_PRODUCT(cat, widget_product);
    if (extra)
        orch_catalog_add_product_from(cat, extra, symbol, __FILE__);
    orch_error_init(&err);
    assert_int_equal(orch_catalog_validate(cat, &err), ORCH_OK);
    return cat;
}

/* Runs the checks over the widget lifecycle plus the entries given. */
static void lint_with(const orch_wf_entry_t *extra, size_t nextra, orch_catalog_t *cat,
                      orch_lint_report_t *rep)
{
    const orch_wf_entry_t base[] = {LIFECYCLE_ENTRIES};
    size_t nbase = sizeof(base) / sizeof(base[0]);
    orch_wf_entry_t *all = calloc(nbase + nextra, sizeof(*all));
    memcpy(all, base, sizeof(base));
    if (nextra)
        memcpy(all + nbase, extra, nextra * sizeof(*extra));
    orch_lint(all, nbase + nextra, cat, rep);
    free(all);
}

/* The problem of that check naming symbol whose message contains text, or NULL. */
static const orch_lint_problem_t *find(const orch_lint_report_t *rep, const char *check,
                                       const char *symbol, const char *text)
{
    for (size_t i = 0; i < rep->n; i++)
        if (strcmp(rep->items[i].check, check) == 0 && strcmp(rep->items[i].symbol, symbol) == 0 &&
            (!text || strstr(rep->items[i].message, text)))
            return &rep->items[i];
    return NULL;
}

static void print_report(const orch_lint_report_t *rep)
{
    for (size_t i = 0; i < rep->n; i++) {
        char *line = orch_lint_format(&rep->items[i]);
        print_message("  %s\n", line);
        free(line);
    }
}

/* ---- the shipped definitions pass ----------------------------------------------------------- */

static void shipped_definitions_pass(void **st)
{
    orch_catalog_t *cat = orch_catalog_new();
    orch_wf_entry_t *wfs = NULL;
    orch_lint_report_t rep;
    orch_error_t err;
    size_t n;
    (void)st;

    orch_catalog_load_example(cat);
    orch_error_init(&err);
    assert_int_equal(orch_catalog_validate(cat, &err), ORCH_OK);
    unsetenv("ORCH_TEST_BROKEN_FIXTURE");
    setenv("ORCH_TEST_WORKFLOWS", "1", 1);
    n = testbin_workflows_list(&wfs);
    unsetenv("ORCH_TEST_WORKFLOWS");
    assert_true(n >= 23);
    orch_lint(wfs, n, cat, &rep);
    print_report(&rep);
    assert_int_equal(rep.nerrors, 0);
    assert_int_equal(rep.nwarnings, 0);
    /* Every shipped entry knows its symbol and file. */
    for (size_t i = 0; i < n; i++) {
        assert_non_null(wfs[i].symbol);
        assert_true(strncmp(wfs[i].symbol, "orch_wf_", 8) == 0);
        bool testing = false;
        for (const orch_wf_entry_t *t = orch_wf_testing_all; t->def; t++)
            testing = testing || t->def == wfs[i].def;
        /* The shipped ones in domain/workflows/ (the built-in tasks, modify_note) or in their
         * product's module under domain/products/ (issue 21), the test binary's in
         * tests/testbin/. */
        const char *src = orch_lint_source_path(wfs[i].file);
        if (testing)
            assert_non_null(strstr(src, "tests/testbin/"));
        else
            assert_true(strstr(src, "domain/workflows/") || strstr(src, "domain/products/"));
    }
    /* The products know theirs. */
    assert_string_equal(orch_catalog_find_product(cat, "node Cisco")->symbol, "products[0]");
    assert_string_equal(orch_lint_source_path(orch_catalog_find_product(cat, "node Cisco")->file),
                        "domain/catalog/example.c");
    orch_lint_report_cleanup(&rep);
    free(wfs);
    orch_catalog_free(cat);
}

/* Each broken fixture of the test binary (tests/testbin/broken.c) is one error naming its
 * symbol. */
static void server_fixtures_provoke_their_check(void **st)
{
    static const char *const names[] = {"dup_key",
                                        "missing_key",
                                        "no_done",
                                        "unread_field",
                                        "unwritten_key",
                                        "io_typo",
                                        "unknown_product",
                                        "unknown_block",
                                        "product_incomplete",
                                        "product_unknown_workflow",
                                        "product_mismatch",
                                        NULL};
    (void)st;
    for (const char *const *name = names; *name; name++) {
        orch_catalog_t *cat = orch_catalog_new();
        orch_wf_entry_t *wfs = NULL;
        orch_lint_report_t rep;
        orch_error_t err;
        size_t n;
        const char *symbol = orch_broken_fixture_symbol(*name);

        assert_non_null(symbol);
        orch_catalog_load_example(cat);
        orch_broken_fixture_catalog(*name, cat);
        orch_error_init(&err);
        assert_int_equal(orch_catalog_validate(cat, &err), ORCH_OK);
        setenv("ORCH_TEST_BROKEN_FIXTURE", *name, 1);
        n = testbin_workflows_list(&wfs);
        unsetenv("ORCH_TEST_BROKEN_FIXTURE");
        orch_lint(wfs, n, cat, &rep);
        print_message("%s:\n", *name);
        print_report(&rep);
        assert_int_equal(rep.nerrors, 1);
        assert_string_equal(rep.items[0].symbol, symbol);
        assert_string_equal(rep.items[0].file, "tests/testbin/broken.c");
        orch_lint_report_cleanup(&rep);
        free(wfs);
        orch_catalog_free(cat);
    }
    /* The one warning fixture: no error. */
    {
        orch_catalog_t *cat = orch_catalog_new();
        orch_wf_entry_t *wfs = NULL;
        orch_lint_report_t rep;
        orch_error_t err;
        size_t n;
        orch_catalog_load_example(cat);
        orch_error_init(&err);
        assert_int_equal(orch_catalog_validate(cat, &err), ORCH_OK);
        setenv("ORCH_TEST_BROKEN_FIXTURE", "unoffered", 1);
        n = testbin_workflows_list(&wfs);
        unsetenv("ORCH_TEST_BROKEN_FIXTURE");
        orch_lint(wfs, n, cat, &rep);
        print_report(&rep);
        assert_int_equal(rep.nerrors, 0);
        assert_int_equal(rep.nwarnings, 1);
        assert_string_equal(rep.items[0].symbol, "orch_wf_broken_unoffered");
        assert_string_equal(rep.items[0].check, "workflow-unoffered");
        orch_lint_report_cleanup(&rep);
        free(wfs);
        orch_catalog_free(cat);
    }
    assert_null(orch_broken_fixture_symbol("no_such_fixture"));
    assert_null(orch_broken_fixture_workflow("no_such_fixture"));
}

static void widget_fixture_is_clean(void **st)
{
    orch_catalog_t *cat = catalog_with(NULL, NULL);
    orch_lint_report_t rep;
    (void)st;
    lint_with(NULL, 0, cat, &rep);
    print_report(&rep);
    assert_int_equal(rep.n, 0);
    orch_lint_report_cleanup(&rep);
    orch_catalog_free(cat);
}

/* ---- step keys ------------------------------------------------------------------------------ */

static const orch_step_def_t dup_steps[] = {ORCH_STEP("a", "A", noop),
                                            ORCH_STEP("b", "B", noop),
                                            ORCH_STEP("a", "A again", noop),
                                            ORCH_STEP("b", "B again", noop),
                                            ORCH_DONE,
                                            ORCH_STEPS_END};
const orch_workflow_def_t wf_dup_keys = {.name = "dup_keys",
                                         .target = ORCH_TARGET_SYSTEM,
                                         .is_task = true,
                                         .version = 1,
                                         .steps = dup_steps};
/* "resync" is a key the MODIFY lifecycle adds. */
static const orch_step_def_t resync_steps[] = {ORCH_STEP("resync", "My resync", noop),
                                               ORCH_STEPS_END};
const orch_workflow_def_t wf_dup_standard = {.name = "dup_standard",
                                             .target = ORCH_TARGET_MODIFY,
                                             .version = 1,
                                             .steps = resync_steps,
                                             .lifecycle = ORCH_LC_MODIFY};
static const orch_step_def_t group_children[] = {ORCH_STEP("x", "X", noop),
                                                 ORCH_STEP("x", "X again", noop),
                                                 ORCH_STEP(NULL, "No key", noop), ORCH_STEPS_END};
static const orch_step_def_t group_steps[] = {ORCH_STEP(NULL, "Nameless", noop),
                                              ORCH_GROUP("g", "G", group_children), ORCH_DONE,
                                              ORCH_STEPS_END};
const orch_workflow_def_t wf_group_keys = {.name = "group_keys",
                                           .target = ORCH_TARGET_SYSTEM,
                                           .is_task = true,
                                           .version = 1,
                                           .steps = group_steps};

static void step_keys(void **st)
{
    const orch_wf_entry_t extra[] = {ORCH_WF_ENTRY(wf_dup_keys), ORCH_WF_ENTRY(wf_dup_standard),
                                     ORCH_WF_ENTRY(wf_group_keys)};
    orch_lint_report_t rep;
    (void)st;
    lint_with(extra, 3, NULL, &rep);
    print_report(&rep);
    /* All of them, not only the first (the registry stops there). */
    assert_non_null(find(&rep, "step-key-duplicate", "wf_dup_keys", "step key a is used twice"));
    assert_non_null(find(&rep, "step-key-duplicate", "wf_dup_keys", "step key b is used twice"));
    assert_non_null(find(&rep, "step-key-duplicate", "wf_dup_standard", "the lifecycle adds"));
    assert_non_null(find(&rep, "step-key-duplicate", "wf_group_keys", "g.x is used twice"));
    assert_non_null(find(&rep, "step-key-missing", "wf_group_keys", "step 1 (\"Nameless\")"));
    assert_non_null(find(&rep, "step-key-missing", "wf_group_keys", "of group g"));
    assert_int_equal(rep.nerrors, 6);
    assert_string_equal(rep.items[0].file, "tests/unit/test_lint.c");
    orch_lint_report_cleanup(&rep);
}

/* ---- what the registry refuses -------------------------------------------------------------- */

static const orch_step_def_t no_fn_steps[] = {ORCH_STEP("a", "A", NULL), ORCH_DONE, ORCH_STEPS_END};
const orch_workflow_def_t wf_no_fn = {.name = "no_fn",
                                      .target = ORCH_TARGET_SYSTEM,
                                      .is_task = true,
                                      .version = 1,
                                      .steps = no_fn_steps};
const orch_workflow_def_t wf_no_done = {.name = "no_done",
                                        .target = ORCH_TARGET_SYSTEM,
                                        .is_task = true,
                                        .version = 1,
                                        .steps = one_step};
const orch_workflow_def_t wf_twice_a = {.name = "twice",
                                        .target = ORCH_TARGET_SYSTEM,
                                        .is_task = true,
                                        .version = 1,
                                        .steps = one_step_done};
const orch_workflow_def_t wf_twice_b = {.name = "twice",
                                        .target = ORCH_TARGET_SYSTEM,
                                        .is_task = true,
                                        .version = 1,
                                        .steps = one_step_done};
static const orch_step_def_t bad_key_steps[] = {ORCH_STEP("Bad Key", "A", noop), ORCH_DONE,
                                                ORCH_STEPS_END};
const orch_workflow_def_t wf_bad_key = {.name = "bad_key",
                                        .target = ORCH_TARGET_SYSTEM,
                                        .is_task = true,
                                        .version = 1,
                                        .steps = bad_key_steps};

static void registry_refusals(void **st)
{
    const orch_wf_entry_t extra[] = {ORCH_WF_ENTRY(wf_no_fn), ORCH_WF_ENTRY(wf_no_done),
                                     ORCH_WF_ENTRY(wf_twice_a), ORCH_WF_ENTRY(wf_twice_b),
                                     ORCH_WF_ENTRY(wf_bad_key)};
    orch_lint_report_t rep;
    orch_registry_t *r = orch_registry_new();
    orch_error_t err;
    (void)st;
    lint_with(extra, 5, NULL, &rep);
    print_report(&rep);
    assert_non_null(find(&rep, "workflow-invalid", "wf_no_fn", "has no function"));
    assert_non_null(find(&rep, "workflow-invalid", "wf_no_done", "must end with a done"));
    assert_non_null(find(&rep, "workflow-invalid", "wf_twice_b", "registered twice"));
    assert_null(find(&rep, "workflow-invalid", "wf_twice_a", NULL));
    assert_non_null(find(&rep, "workflow-invalid", "wf_bad_key", "[a-z0-9_]"));
    assert_int_equal(rep.nerrors, 4);
    orch_lint_report_cleanup(&rep);

    /* Registration by entry: the error starts with the symbol; the entry is remembered. */
    orch_error_init(&err);
    assert_int_equal(orch_registry_add_entry(r, (orch_wf_entry_t)ORCH_WF_ENTRY(wf_no_done), &err),
                     ORCH_FAILED_PRECONDITION);
    assert_true(strncmp(err.message, "wf_no_done: workflow no_done", 28) == 0);
    orch_error_init(&err);
    assert_int_equal(orch_registry_add_entry(r, (orch_wf_entry_t)ORCH_WF_ENTRY(wf_twice_a), &err),
                     ORCH_OK);
    assert_string_equal(orch_registry_find(r, "twice", 1)->symbol, "wf_twice_a");
    orch_registry_free(r);
}

/* ---- declared state keys -------------------------------------------------------------------- */

static const orch_step_def_t three_steps[] = {
    ORCH_STEP("first", "First", noop), ORCH_CONDITIONAL("second", "Second", always, "always", noop),
    ORCH_STEP("third", "Third", noop), ORCH_DONE, ORCH_STEPS_END};
/* third reads "vlan" (nobody writes it) and "port" (written by third itself only, too late),
 * second reads "speed" (written by first: fine). */
static const orch_step_io_t unwritten_io[] = {
    {"first", ORCH_NO_KEYS, ORCH_KEYS("speed")},
    {"second", ORCH_KEYS("speed"), ORCH_NO_KEYS},
    {"third", ORCH_KEYS("vlan", "speed"), ORCH_KEYS("port")},
    {0},
};
const orch_workflow_def_t wf_unwritten = {.name = "unwritten",
                                          .target = ORCH_TARGET_SYSTEM,
                                          .is_task = true,
                                          .version = 1,
                                          .steps = three_steps,
                                          .io = unwritten_io};
/* A key read before the step that writes it. */
static const orch_step_io_t late_io[] = {
    {"first", ORCH_KEYS("port"), ORCH_NO_KEYS},
    {"second", ORCH_NO_KEYS, ORCH_NO_KEYS},
    {"third", ORCH_NO_KEYS, ORCH_KEYS("port")},
    {0},
};
const orch_workflow_def_t wf_late = {.name = "late",
                                     .target = ORCH_TARGET_SYSTEM,
                                     .is_task = true,
                                     .version = 1,
                                     .steps = three_steps,
                                     .io = late_io};
/* second declares nothing: what third reads may come from it, so nothing is reported. */
static const orch_step_io_t unknown_io[] = {
    {"first", ORCH_NO_KEYS, ORCH_NO_KEYS},
    {"third", ORCH_KEYS("vlan"), ORCH_NO_KEYS},
    {0},
};
const orch_workflow_def_t wf_unknowable = {.name = "unknowable",
                                           .target = ORCH_TARGET_SYSTEM,
                                           .is_task = true,
                                           .version = 1,
                                           .steps = three_steps,
                                           .io = unknown_io};
/* A create whose steps all declare their writes, none of them subscription_id: the
 * lifecycle's set_status_active cannot find the subscription. */
static const orch_step_io_t no_sub_io[] = {
    {"work", ORCH_KEYS("product_id"), ORCH_KEYS("widget_id")},
    {0},
};
const orch_workflow_def_t wf_create_no_sub = {.name = "create_no_sub",
                                              .target = ORCH_TARGET_CREATE,
                                              .version = 1,
                                              .steps = one_step,
                                              .lifecycle = ORCH_LC_CREATE,
                                              .io = no_sub_io};
/* Keys of a step that does not exist. */
static const orch_step_io_t typo_io[] = {
    {"frist", ORCH_NO_KEYS, ORCH_NO_KEYS},
    {0},
};
const orch_workflow_def_t wf_io_typo = {.name = "io_typo",
                                        .target = ORCH_TARGET_SYSTEM,
                                        .is_task = true,
                                        .version = 1,
                                        .steps = three_steps,
                                        .io = typo_io};

static void state_keys(void **st)
{
    const orch_wf_entry_t extra[] = {ORCH_WF_ENTRY(wf_unwritten), ORCH_WF_ENTRY(wf_late),
                                     ORCH_WF_ENTRY(wf_unknowable), ORCH_WF_ENTRY(wf_create_no_sub),
                                     ORCH_WF_ENTRY(wf_io_typo)};
    orch_lint_report_t rep;
    (void)st;
    lint_with(extra, 5, NULL, &rep);
    print_report(&rep);
    assert_non_null(
        find(&rep, "state-key-unwritten", "wf_unwritten", "step third reads state key 'vlan'"));
    assert_null(find(&rep, "state-key-unwritten", "wf_unwritten", "'speed'"));
    assert_non_null(
        find(&rep, "state-key-unwritten", "wf_late", "step first reads state key 'port'"));
    assert_null(find(&rep, "state-key-unwritten", "wf_unknowable", NULL));
    assert_non_null(find(&rep, "state-key-unwritten", "wf_create_no_sub",
                         "step set_status_active (a standard step of the lifecycle) reads "
                         "state key 'subscription_id'"));
    assert_non_null(find(&rep, "io-unknown-step", "wf_io_typo", "step frist"));
    /* set_status_active and resync both read it. */
    assert_int_equal(rep.nerrors, 5);
    orch_lint_report_cleanup(&rep);
}

/* ---- form fields ---------------------------------------------------------------------------- */

static const orch_form_field_t colour_fields[] = {
    {.name = "size", .title = "Size", .type = ORCH_FORM_INTEGER},
    {.name = "colour", .title = "Colour", .type = ORCH_FORM_STRING},
    {0},
};
static const orch_form_page_t colour_pages[] = {
    {"Page 1", size_fields}, {"Page 2", colour_fields}, {0}};
static const orch_form_t colour_form = {.pages = colour_pages};
static const orch_form_field_t confirm_fields[] = {
    {.name = "ticket", .title = "Ticket", .type = ORCH_FORM_STRING},
    {.name = "confirmed", .title = "Confirmed", .type = ORCH_FORM_BOOLEAN},
    {0},
};
static const orch_form_page_t confirm_pages[] = {{"Confirm", confirm_fields}, {0}};
static const orch_form_t confirm_form = {.pages = confirm_pages};
static const orch_step_def_t input_steps[] = {
    ORCH_STEP("first", "First", noop), ORCH_INPUT_STEP("confirm", "Confirm", &confirm_form),
    ORCH_STEP("third", "Third", noop), ORCH_DONE, ORCH_STEPS_END};
/* colour (start form, page 2) and confirmed (input step) are read by nobody. */
static const orch_step_io_t unread_io[] = {
    {"first", ORCH_KEYS("size"), ORCH_NO_KEYS},
    {"third", ORCH_KEYS("ticket"), ORCH_NO_KEYS},
    {0},
};
const orch_workflow_def_t wf_unread = {.name = "unread",
                                       .target = ORCH_TARGET_SYSTEM,
                                       .is_task = true,
                                       .version = 1,
                                       .steps = input_steps,
                                       .form = &colour_form,
                                       .io = unread_io};
/* The same, with the unread answers kept for the record by the input step, colour read by
 * third: clean. */
static const orch_step_io_t record_io[] = {
    {"first", ORCH_KEYS("size"), ORCH_NO_KEYS},
    {"confirm", ORCH_KEYS("confirmed"), ORCH_NO_KEYS},
    {"third", ORCH_KEYS("ticket", "colour"), ORCH_NO_KEYS},
    {0},
};
const orch_workflow_def_t wf_recorded = {.name = "recorded",
                                         .target = ORCH_TARGET_SYSTEM,
                                         .is_task = true,
                                         .version = 1,
                                         .steps = input_steps,
                                         .form = &colour_form,
                                         .io = record_io};
/* third declares no reads: it may read anything, so nothing is reported. */
static const orch_step_io_t partial_io[] = {
    {"first", ORCH_KEYS("size"), ORCH_NO_KEYS},
    {0},
};
const orch_workflow_def_t wf_partial = {.name = "partial",
                                        .target = ORCH_TARGET_SYSTEM,
                                        .is_task = true,
                                        .version = 1,
                                        .steps = input_steps,
                                        .form = &colour_form,
                                        .io = partial_io};
/* No declarations at all: nothing is checked. */
const orch_workflow_def_t wf_undeclared = {.name = "undeclared",
                                           .target = ORCH_TARGET_SYSTEM,
                                           .is_task = true,
                                           .version = 1,
                                           .steps = input_steps,
                                           .form = &colour_form};

static void form_fields(void **st)
{
    const orch_wf_entry_t extra[] = {ORCH_WF_ENTRY(wf_unread), ORCH_WF_ENTRY(wf_recorded),
                                     ORCH_WF_ENTRY(wf_partial), ORCH_WF_ENTRY(wf_undeclared)};
    orch_lint_report_t rep;
    (void)st;
    lint_with(extra, 4, NULL, &rep);
    print_report(&rep);
    assert_non_null(find(&rep, "form-field-unread", "wf_unread",
                         "field 'colour' of the start form is read by no step"));
    assert_non_null(find(&rep, "form-field-unread", "wf_unread",
                         "field 'confirmed' of the form of input step confirm"));
    /* Labels carry no value. */
    assert_null(find(&rep, "form-field-unread", "wf_unread", "'note'"));
    assert_int_equal(rep.nerrors, 2);
    orch_lint_report_cleanup(&rep);
}

/* ---- products and references ---------------------------------------------------------------- */

const orch_workflow_def_t wf_for_firewall = {.name = "for_firewall",
                                             .target = ORCH_TARGET_SYSTEM,
                                             .is_task = true,
                                             .version = 1,
                                             .steps = one_step_done,
                                             .product_type = "Firewall",
                                             .blocks = ORCH_KEYS("WidgetBlock", "FirewallBlock")};
const orch_workflow_def_t wf_modify_unoffered = {.name = "modify_unoffered",
                                                 .target = ORCH_TARGET_MODIFY,
                                                 .version = 1,
                                                 .steps = one_step,
                                                 .lifecycle = ORCH_LC_MODIFY};

static void references(void **st)
{
    const orch_wf_entry_t extra[] = {ORCH_WF_ENTRY(wf_for_firewall),
                                     ORCH_WF_ENTRY(wf_modify_unoffered)};
    orch_catalog_t *cat = catalog_with(NULL, NULL);
    orch_lint_report_t rep;
    (void)st;
    lint_with(extra, 2, cat, &rep);
    print_report(&rep);
    assert_non_null(find(&rep, "workflow-unknown-product", "wf_for_firewall", "'Firewall'"));
    assert_non_null(find(&rep, "workflow-unknown-block", "wf_for_firewall", "'FirewallBlock'"));
    assert_null(find(&rep, "workflow-unknown-block", "wf_for_firewall", "'WidgetBlock'"));
    assert_int_equal(rep.nerrors, 2);
    /* A lifecycle workflow nobody offers is a warning: the server starts. */
    assert_non_null(find(&rep, "workflow-unoffered", "wf_modify_unoffered", "no product"));
    assert_int_equal(rep.nwarnings, 1);
    assert_int_equal(rep.items[rep.n - 1].severity, ORCH_LINT_WARNING);
    orch_lint_report_cleanup(&rep);
    orch_catalog_free(cat);
}

static const orch_workflow_ref_t half_refs[] = {
    {"create_widget", ORCH_TARGET_CREATE, "Create"},
    {"modify_widget", ORCH_TARGET_MODIFY, "Modify"},
    {0},
};
static const orch_product_def_t half_product = {
    "half widget", "", "Widget", "WIDGET", ORCH_PRODUCT_ACTIVE, "WidgetBlock", NULL, half_refs};
static const orch_workflow_ref_t wrong_refs[] = {
    {"create_widget", ORCH_TARGET_CREATE, "Create"},
    {"modify_widget", ORCH_TARGET_MODIFY, "Modify"},
    {"terminate_widget", ORCH_TARGET_TERMINATE, "Terminate"},
    {"modify_widget", ORCH_TARGET_VALIDATE, "Validate (wrong target)"},
    {"create_gadget", ORCH_TARGET_CREATE, "Not registered"},
    {0},
};
/* Another product type than the workflows declare. */
static const orch_product_def_t wrong_product = {
    "gadget", "", "Gadget", "GADGET", ORCH_PRODUCT_ACTIVE, "WidgetBlock", NULL, wrong_refs};

static void products(void **st)
{
    orch_catalog_t *cat = catalog_with(&half_product, "half_product");
    orch_lint_report_t rep;
    (void)st;
    lint_with(NULL, 0, cat, &rep);
    print_report(&rep);
    assert_non_null(find(&rep, "product-missing-workflow", "half_product",
                         "product 'half widget' has no TERMINATE, VALIDATE workflow"));
    assert_int_equal(rep.nerrors, 1);
    orch_lint_report_cleanup(&rep);
    orch_catalog_free(cat);

    cat = catalog_with(&wrong_product, "wrong_product");
    lint_with(NULL, 0, cat, &rep);
    print_report(&rep);
    assert_non_null(find(&rep, "product-unknown-workflow", "wrong_product", "'create_gadget'"));
    assert_non_null(find(&rep, "product-workflow-mismatch", "wrong_product",
                         "'modify_widget' as VALIDATE, but wf_modify_widget defines it as "
                         "MODIFY"));
    assert_non_null(find(&rep, "product-workflow-mismatch", "wrong_product",
                         "'create_widget', which wf_create_widget declares for product type "
                         "Widget"));
    /* create_widget and modify_widget (twice) declare Widget; terminate_widget declares none. */
    assert_int_equal(rep.nerrors, 5);
    orch_lint_report_cleanup(&rep);
    orch_catalog_free(cat);
}

/* ---- formatting ----------------------------------------------------------------------------- */

static void format_line(void **st)
{
    orch_lint_problem_t p = {ORCH_LINT_ERROR, "step-key-duplicate", "orch_wf_x",
                             "domain/workflows/x.c", "workflow x v1: step key a is used twice"};
    char *line = orch_lint_format(&p);
    (void)st;
    assert_string_equal(line, "orch_wf_x (domain/workflows/x.c): workflow x v1: step key a is "
                              "used twice [step-key-duplicate]");
    free(line);
    assert_string_equal(orch_lint_source_path("/elsewhere/domain/a/b.c"), "domain/a/b.c");
    assert_string_equal(orch_lint_source_path("plain.c"), "plain.c");
    assert_string_equal(orch_lint_source_path(NULL), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_definitions_pass),
        cmocka_unit_test(server_fixtures_provoke_their_check),
        cmocka_unit_test(widget_fixture_is_clean),
        cmocka_unit_test(step_keys),
        cmocka_unit_test(registry_refusals),
        cmocka_unit_test(state_keys),
        cmocka_unit_test(form_fields),
        cmocka_unit_test(references),
        cmocka_unit_test(products),
        cmocka_unit_test(format_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
