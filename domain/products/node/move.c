/* move_node, the modify workflow to copy (docs/AUTHORING.md): two pages, three steps. */
#include "domain/engine/authoring.h"
#include "domain/products/node/node.h"

static const orch_form_field_t site_page[] = {
    {.name = "site_id", .title = "New site", .type = ORCH_FORM_INTEGER, .required = true},
    {0},
};
static const orch_form_field_t role_page[] = {
    {.name = "role_id", .title = "Role at the new site", .type = ORCH_FORM_INTEGER},
    {0},
};
static const orch_form_t move_form = {
    .pages = ORCH_FORM_PAGES({"Where the node goes", site_page}, {"Its role there", role_page})};

static orch_step_result_t keep_old_site(orch_step_ctx_t *ctx, json_t *state)
{
    return ORCH_LOAD_FIELDS(ctx, state, "old_", "site_id", "role_id");
}

static orch_step_result_t save_site(orch_step_ctx_t *ctx, json_t *state)
{
    return ORCH_SAVE_FIELDS(ctx, state, "site_id", "role_id");
}

static const orch_step_def_t move_steps[] = {
    ORCH_STEP("keep_old_site", "Record the site it leaves", keep_old_site),
    ORCH_STEP("save_site", "Store the new site and role", save_site),
    ORCH_PUSH_CONFIG_REMOTE_STEP("Push the node configuration"),
    ORCH_STEPS_END,
};
const orch_workflow_def_t orch_wf_move_node = {
    ORCH_LIFECYCLE_WORKFLOW(MODIFY, "move_node", "Move node to another site", move_steps),
    .form = &move_form,
};
