/* modify_note: every product's workflow to change a subscription's free-text note (also of a
 * subscription out of sync: it has no lifecycle, so it takes no lock), written on the
 * authoring API like the product modules of domain/products/. */
#include "domain/engine/authoring.h"
#include "domain/forms/forms.h"
#include "domain/workflows/workflows.h"

static const orch_form_field_t note_fields[] = {
    {.name = "note",
     .title = "Note",
     .type = ORCH_FORM_STRING,
     .required = true,
     .has_max = true,
     .max = 5000,
     .widget = "textarea"},
    {0},
};
static const orch_form_t note_form = {
    .pages = ORCH_FORM_PAGES({"The subscription's note", note_fields})};

static orch_err_t set_note(orch_subscription_t *sub, const json_t *state, orch_error_t *err)
{
    return orch_sub_set_note(sub, orch_state_str(state, "note", ""), err);
}

static orch_step_result_t store_note(orch_step_ctx_t *ctx, json_t *state)
{
    return orch_step_edit(ctx, state, set_note);
}

static const orch_step_def_t modify_note_steps[] = {
    ORCH_STEP("store_note", "Store the note", store_note),
    ORCH_DONE,
    ORCH_STEPS_END,
};
const orch_workflow_def_t orch_wf_modify_note = {
    .name = "modify_note",
    .description = "Modify the note of a subscription",
    .target = ORCH_TARGET_MODIFY,
    .version = 1,
    .steps = modify_note_steps,
    .form = &note_form,
    .lifecycle = ORCH_LC_NONE,
};

const orch_wf_entry_t orch_wf_note_all[] = {ORCH_WF_ENTRY(orch_wf_modify_note), {0}};
