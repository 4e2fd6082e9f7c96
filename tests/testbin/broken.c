/* Broken fixtures of the start-up checks (domain/engine/lint.h), compiled into the test
 * binary orchestratord-test (like testing.c) and used only when ORCH_TEST_BROKEN_FIXTURE
 * names one: each holds exactly one mistake, so that tests/integration/test_checks_it.c can
 * start the server with it and see it refuse, naming the symbol below ("unoffered" is a
 * warning: the server starts). */
#include <string.h>

#include "domain/engine/engine.h"
#include "domain/forms/forms.h"
#include "tests/testbin/testbin.h"

static orch_step_result_t noop(orch_step_ctx_t *ctx, json_t *state)
{
    (void)ctx;
    (void)state;
    return orch_step_ok(NULL);
}

/* step-key-duplicate */
static const orch_step_def_t dup_key_steps[] = {
    ORCH_STEP("reserve", "Reserve", noop),
    ORCH_STEP("reserve", "Reserve again", noop),
    ORCH_DONE,
    ORCH_STEPS_END,
};
const orch_workflow_def_t orch_wf_broken_dup_key = {
    .name = "broken_dup_key",
    .description = "Broken: a key used twice",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = dup_key_steps,
};

/* step-key-missing */
static const orch_step_def_t missing_key_steps[] = {
    ORCH_STEP("reserve", "Reserve", noop),
    ORCH_STEP(NULL, "A step without a key", noop),
    ORCH_DONE,
    ORCH_STEPS_END,
};
const orch_workflow_def_t orch_wf_broken_missing_key = {
    .name = "broken_missing_key",
    .description = "Broken: a step without a key",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = missing_key_steps,
};

/* workflow-invalid: no final done step */
static const orch_step_def_t no_done_steps[] = {
    ORCH_STEP("reserve", "Reserve", noop),
    ORCH_STEPS_END,
};
const orch_workflow_def_t orch_wf_broken_no_done = {
    .name = "broken_no_done",
    .description = "Broken: no done step",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = no_done_steps,
};

/* form-field-unread: the form asks "colour", no step reads it */
static const orch_form_field_t unread_fields[] = {
    {.name = "size", .title = "Size", .type = ORCH_FORM_INTEGER, .required = true},
    {.name = "colour", .title = "Colour", .type = ORCH_FORM_STRING},
    {0},
};
static const orch_form_page_t unread_pages[] = {{"Sizes", unread_fields}, {0}};
static const orch_form_t unread_form = {.pages = unread_pages};
static const orch_step_def_t io_steps[] = {
    ORCH_STEP("reserve", "Reserve", noop),
    ORCH_DONE,
    ORCH_STEPS_END,
};
static const orch_step_io_t unread_io[] = {
    {"reserve", ORCH_KEYS("size"), ORCH_KEYS("reserved")},
    {0},
};
const orch_workflow_def_t orch_wf_broken_unread_field = {
    .name = "broken_unread_field",
    .description = "Broken: a form field nobody reads",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = io_steps,
    .form = &unread_form,
    .io = unread_io,
};

/* state-key-unwritten: reads "vlan", nothing writes it */
static const orch_step_io_t unwritten_io[] = {
    {"reserve", ORCH_KEYS("size", "vlan"), ORCH_KEYS("reserved")},
    {0},
};
static const orch_form_field_t size_fields[] = {
    {.name = "size", .title = "Size", .type = ORCH_FORM_INTEGER, .required = true},
    {0},
};
static const orch_form_page_t size_pages[] = {{"Size", size_fields}, {0}};
static const orch_form_t size_form = {.pages = size_pages};
const orch_workflow_def_t orch_wf_broken_unwritten_key = {
    .name = "broken_unwritten_key",
    .description = "Broken: reads a key nothing writes",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = io_steps,
    .form = &size_form,
    .io = unwritten_io,
};

/* io-unknown-step: declares keys of a step "resrve" (a typo) */
static const orch_step_io_t typo_io[] = {
    {"resrve", ORCH_NO_KEYS, ORCH_KEYS("reserved")},
    {0},
};
const orch_workflow_def_t orch_wf_broken_io_typo = {
    .name = "broken_io_typo",
    .description = "Broken: declares keys of a missing step",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = io_steps,
    .io = typo_io,
};

/* workflow-unknown-product */
const orch_workflow_def_t orch_wf_broken_unknown_product = {
    .name = "broken_unknown_product",
    .description = "Broken: for a product type nobody has",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = io_steps,
    .product_type = "Firewall",
};

/* workflow-unknown-block */
const orch_workflow_def_t orch_wf_broken_unknown_block = {
    .name = "broken_unknown_block",
    .description = "Broken: changes a block nobody defines",
    .target = ORCH_TARGET_SYSTEM,
    .is_task = true,
    .version = 1,
    .steps = io_steps,
    .blocks = ORCH_KEYS("NodeBlock", "FirewallBlock"),
};

/* product-missing-workflow: no terminate and no validate workflow */
static const orch_workflow_ref_t incomplete_workflows[] = {
    {"create_node", ORCH_TARGET_CREATE, "Create node"},
    {"modify_node", ORCH_TARGET_MODIFY, "Modify node"},
    {0},
};
const orch_product_def_t orch_broken_product_incomplete = {
    "broken incomplete",
    "Broken: no terminate or validate workflow",
    "Node",
    "NODE",
    ORCH_PRODUCT_ACTIVE,
    "NodeBlock",
    NULL,
    incomplete_workflows,
};

/* product-unknown-workflow: lists "create_firewall", which nobody registers */
static const orch_workflow_ref_t unknown_workflows[] = {
    {"create_firewall", ORCH_TARGET_CREATE, "Create firewall"},
    {"modify_node", ORCH_TARGET_MODIFY, "Modify node"},
    {"terminate_node", ORCH_TARGET_TERMINATE, "Terminate node"},
    {"validate_node", ORCH_TARGET_VALIDATE, "Validate node"},
    {0},
};
const orch_product_def_t orch_broken_product_unknown_workflow = {
    "broken unknown workflow",
    "Broken: lists an unregistered workflow",
    "Node",
    "NODE",
    ORCH_PRODUCT_ACTIVE,
    "NodeBlock",
    NULL,
    unknown_workflows,
};

/* product-workflow-mismatch: terminate_node listed as its validate workflow */
static const orch_workflow_ref_t mismatch_workflows[] = {
    {"create_node", ORCH_TARGET_CREATE, "Create node"},
    {"modify_node", ORCH_TARGET_MODIFY, "Modify node"},
    {"terminate_node", ORCH_TARGET_TERMINATE, "Terminate node"},
    {"terminate_node", ORCH_TARGET_VALIDATE, "Validate node"},
    {0},
};
const orch_product_def_t orch_broken_product_mismatch = {
    "broken mismatch",
    "Broken: a workflow listed under another target",
    "Node",
    "NODE",
    ORCH_PRODUCT_ACTIVE,
    "NodeBlock",
    NULL,
    mismatch_workflows,
};

/* workflow-unoffered (a warning: the server starts): a modify workflow no product lists */
const orch_workflow_def_t orch_wf_broken_unoffered = {
    .name = "broken_unoffered",
    .description = "Broken: offered by no product",
    .target = ORCH_TARGET_MODIFY,
    .version = 1,
    .steps = io_steps,
};

typedef struct fixture {
    const char *name;
    orch_wf_entry_t wf;                /* .def NULL: none */
    const orch_product_def_t *product; /* NULL: none */
    const char *symbol;                /* what the check names */
} fixture_t;

#define WF(name, sym)                                                                              \
    {                                                                                              \
        name, ORCH_WF_ENTRY(sym), NULL, #sym                                                       \
    }
#define PRODUCT(name, sym)                                                                         \
    {                                                                                              \
        name, {NULL, NULL, NULL}, &(sym), #sym                                                     \
    }

static const fixture_t fixtures[] = {
    // clang-format off
    WF("dup_key", orch_wf_broken_dup_key),
    WF("missing_key", orch_wf_broken_missing_key),
    WF("no_done", orch_wf_broken_no_done),
    WF("unread_field", orch_wf_broken_unread_field),
    WF("unwritten_key", orch_wf_broken_unwritten_key),
    WF("io_typo", orch_wf_broken_io_typo),
    WF("unknown_product", orch_wf_broken_unknown_product),
    WF("unknown_block", orch_wf_broken_unknown_block),
    PRODUCT("product_incomplete", orch_broken_product_incomplete),
    PRODUCT("product_unknown_workflow", orch_broken_product_unknown_workflow),
    PRODUCT("product_mismatch", orch_broken_product_mismatch),
    WF("unoffered", orch_wf_broken_unoffered),
    {NULL, {NULL, NULL, NULL}, NULL, NULL},
};
// clang-format on

static const fixture_t *find(const char *name)
{
    for (const fixture_t *f = fixtures; name && f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

const orch_wf_entry_t *orch_broken_fixture_workflow(const char *name)
{
    const fixture_t *f = find(name);
    return f && f->wf.def ? &f->wf : NULL;
}

void orch_broken_fixture_catalog(const char *name, orch_catalog_t *cat)
{
    const fixture_t *f = find(name);
    if (f && f->product)
        orch_catalog_add_product_from(cat, f->product, f->symbol, __FILE__);
}

const char *orch_broken_fixture_symbol(const char *name)
{
    const fixture_t *f = find(name);
    return f ? f->symbol : NULL;
}
