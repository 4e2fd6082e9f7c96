/* The Port product's workflows, on the authoring API (docs/AUTHORING.md): create_port (two
 * pages: the node, then a free port of that node), modify_port, terminate_port (an input
 * step: a person confirms the cable is out), validate_port. The lifecycle wrappers
 * (engine.h) add the lock, status and unlock steps: these are the business steps only. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/engine/authoring.h"
#include "domain/forms/forms.h"
#include "domain/products/port/port.h"
#include "domain/products/products.h"

char *orch_port_description(const orch_subscription_t *port, const char *node_name)
{
    char speed[32];
    orch_sub_speed_text(port, speed, sizeof(speed));
    return orch_asprintf("port %s %s%s", node_name && *node_name ? node_name : "unnamed",
                         orch_sub_str_or(port, "port_name", "?"), speed);
}

/* ---- create_port ---------------------------------------------------------------------------- */

ORCH_SUBSCRIPTION_CHOICES_FN(node_choices, "Node")

/* "1/1/N" with N in 1..8 (the simulation's interfaces): N, else 0. */
static int port_number(const char *name)
{
    if (name && strncmp(name, "1/1/", 4) == 0 && name[4] >= '1' && name[4] <= '8' && !name[5])
        return name[4] - '0';
    return 0;
}

/* The node's interfaces (1/1/1 .. 1/1/8 in the simulation) not used by a live port. */
static json_t *free_ports(const orch_form_env_t *env, const json_t *answers)
{
    json_t *out = json_array();
    bool used[9] = {0};
    orch_subscription_t *node =
        orch_form_sub_load(env, orch_state_str(answers, "node_subscription_id", NULL));
    if (!node)
        return out;
    for (size_t i = 0; i < node->nin_use_by; i++) {
        orch_subscription_t *user = orch_form_sub_load(env, node->in_use_by[i].subscription_id);
        if (user && user->status != ORCH_SUB_TERMINATED &&
            strcmp(user->product->def->product_type, "Port") == 0)
            used[port_number(orch_sub_str_or(user, "port_name", NULL))] = true;
        orch_subscription_free(user);
    }
    for (int p = 1; p <= 8; p++)
        if (!used[p])
            json_array_append_new(out, json_sprintf("1/1/%d", p));
    orch_subscription_free(node);
    return out;
}

static const char *const port_modes[] = {"tagged", "untagged", "link_member", NULL};

static const orch_form_field_t port_page1[] = {
    ORCH_FORM_CUSTOMER_FIELD,
    ORCH_FORM_CHOICE_FIELD("node_subscription_id", "Node", node_choices),
    {0},
};
static const orch_form_field_t port_page2[] = {
    {.name = "info",
     .title = "Only the free interfaces of the chosen node are offered",
     .type = ORCH_FORM_LABEL},
    ORCH_FORM_CHOICE_FIELD("port_name", "Interface", free_ports),
    {.name = "port_type",
     .title = "Interface type",
     .type = ORCH_FORM_STRING,
     .default_json = "\"10GBASE-LR\"",
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 64},
    {.name = "port_mode",
     .title = "Mode",
     .type = ORCH_FORM_CHOICE,
     .required = true,
     .choices = port_modes,
     .default_json = "\"tagged\""},
    ORCH_FORM_DESCRIPTION_FIELD("port_description"),
    ORCH_FORM_BOOL_FIELD("auto_negotiation", "Auto negotiation", "false"),
    ORCH_FORM_BOOL_FIELD("lldp", "LLDP", "true"),
    {0},
};
static const orch_form_t create_port_form = {
    .pages = ORCH_FORM_PAGES({"Choose the node", port_page1}, {"Choose the port", port_page2})};

/* The port's description (orch_port_description) with node_name for its node's name: set
 * when the port is created and again when it changes, as the node may have been renamed. */
static orch_err_t describe_port(orch_subscription_t *sub, const char *node_name, orch_error_t *err)
{
    char *label = orch_port_description(sub, node_name);
    orch_err_t rc = orch_sub_set_description(sub, label, err);
    free(label);
    return rc;
}

/* The port's fields from the start form, on the chosen node, and its description. */
static orch_err_t fill_port(orch_subscription_t *sub, const json_t *state,
                            const orch_subscription_t *node, orch_error_t *err)
{
    const char *desc = orch_state_str(state, "port_description", NULL);
    if (orch_sub_set_str(sub, "port_name", orch_state_str(state, "port_name", ""), err) ||
        orch_sub_set_str(sub, "port_type", orch_state_str(state, "port_type", ""), err) ||
        orch_sub_set_str(sub, "port_mode", orch_state_str(state, "port_mode", ""), err) ||
        orch_sub_set_bool(sub, "auto_negotiation", orch_state_bool(state, "auto_negotiation", 0),
                          err) ||
        orch_sub_set_bool(sub, "lldp", orch_state_bool(state, "lldp", 1), err) ||
        orch_sub_set_bool(sub, "enabled", true, err) ||
        (desc && orch_sub_set_str(sub, "port_description", desc, err)) ||
        orch_sub_set_reference(sub, "node", node->id, node->root->id, err))
        return err->code;
    return describe_port(sub, orch_sub_str_or(node, "node_name", NULL), err);
}

static orch_step_result_t create_subscription(orch_step_ctx_t *ctx, json_t *state)
{
    orch_step_result_t failed;
    orch_error_t err;
    orch_subscription_t *sub = orch_step_sub_new(ctx, state, NULL, &failed);
    orch_subscription_t *node =
        sub ? orch_step_sub_load(ctx, orch_state_str(state, "node_subscription_id", ""), &failed)
            : NULL;
    if (!node) {
        orch_subscription_free(sub);
        return failed;
    }
    orch_error_init(&err);
    fill_port(sub, state, node, &err);
    orch_subscription_free(node);
    return orch_step_sub_finish(ctx, sub, &err, NULL);
}

ORCH_ALLOCATE_STEP_FN(allocate_ims, "ims_port", "ims_id")
ORCH_ALLOCATE_STEP_FN(allocate_nrm, "nrm_port", "nrm_id")

static const orch_step_def_t create_port_steps[] = {
    ORCH_STEP("create_subscription", "Create the subscription", create_subscription),
    ORCH_ALLOCATE_STEP("allocate_ims", "Allocate the IMS port id", allocate_ims),
    ORCH_ALLOCATE_STEP("allocate_nrm", "Allocate the NRM port id", allocate_nrm),
    ORCH_STEP("save_ids", "Store the inventory ids", orch_step_save_inventory_ids),
    ORCH_PUSH_CONFIG_REMOTE_STEP("Push the port configuration"),
    ORCH_STEPS_END,
};
static const orch_workflow_def_t orch_wf_create_port = {
    ORCH_LIFECYCLE_WORKFLOW(CREATE, "create_port", "Create port", create_port_steps),
    .form = &create_port_form,
};

/* ---- modify_port, terminate_port, validate_port --------------------------------------------- */

static const orch_form_field_t modify_port_fields[] = {
    ORCH_FORM_DESCRIPTION_FIELD("port_description"),
    ORCH_FORM_BOOL_FIELD("enabled", "Administratively up", "true"),
    {0},
};
static const orch_form_t modify_port_form = {
    .pages = ORCH_FORM_PAGES({"Change the port", modify_port_fields})};

static orch_err_t edit_port(orch_subscription_t *sub, const json_t *state, orch_error_t *err)
{
    const char *desc = orch_state_str(state, "port_description", NULL);
    if (desc && orch_sub_set_str(sub, "port_description", desc, err))
        return err->code;
    if (orch_sub_set_bool(sub, "enabled", orch_state_bool(state, "enabled", true), err))
        return err->code;
    /* The node may have been renamed since: describe the port by its node's name now. */
    return describe_port(sub, orch_sub_str_or(sub, "node.node_name", NULL), err);
}

static orch_step_result_t update_port(orch_step_ctx_t *ctx, json_t *state)
{
    return orch_step_edit(ctx, state, edit_port);
}

/* The person on site confirms the cable is out before the port is released. */
static const char *const yes[] = {"yes", NULL};
static const orch_form_field_t confirm_fields[] = {
    {.name = "cable_removed",
     .title = "The cable is removed from the port",
     .type = ORCH_FORM_CHOICE,
     .required = true,
     .choices = yes},
    {.name = "ticket",
     .title = "Change ticket",
     .type = ORCH_FORM_STRING,
     .required = true,
     .pattern = "[A-Z]+-[0-9]+"},
    {0},
};
static const orch_form_t confirm_form = {
    .pages = ORCH_FORM_PAGES({"Confirm the removal", confirm_fields})};

static orch_step_result_t shut_port(orch_step_ctx_t *ctx, json_t *state)
{
    return ORCH_SET_VALUES(ctx, state, ORCH_BOOL("enabled", false));
}

static const orch_step_def_t modify_port_steps[] = {
    ORCH_STEP("update_port", "Update the port", update_port),
    ORCH_STEPS_END,
};
static const orch_step_def_t terminate_port_steps[] = {
    ORCH_STEP("shut_port", "Shut the port", shut_port),
    ORCH_INPUT_STEP("confirm_removal", "Confirm the cable is removed", &confirm_form),
    ORCH_STEPS_END,
};
static const orch_workflow_def_t orch_wf_modify_port = {
    ORCH_LIFECYCLE_WORKFLOW(MODIFY, "modify_port", "Modify port", modify_port_steps),
    .form = &modify_port_form,
};
/* The confirmation's answers are kept for the record (the audit log): the input step's own
 * reads say so, or the start-up checks would report them as read by no step. */
static const orch_step_io_t terminate_port_io[] = {
    {"shut_port", ORCH_KEYS("subscription_id"), ORCH_NO_KEYS},
    {"confirm_removal", ORCH_KEYS("cable_removed", "ticket"), ORCH_NO_KEYS},
    {0},
};
static const orch_workflow_def_t orch_wf_terminate_port = {
    ORCH_LIFECYCLE_WORKFLOW(TERMINATE, "terminate_port", "Terminate port", terminate_port_steps),
    .io = terminate_port_io,
    .product_type = "Port",
    .blocks = ORCH_KEYS("PortBlock"),
};
static const orch_workflow_def_t orch_wf_validate_port = {
    ORCH_VALIDATE_WORKFLOW("validate_port", "Validate port"),
};

const orch_product_module_t orch_product_module_port = {
    ORCH_EXAMPLE_MODULE("port", orch_port_blocks, orch_port_products,
                        ORCH_WF_ENTRY(orch_wf_create_port), ORCH_WF_ENTRY(orch_wf_modify_port),
                        ORCH_WF_ENTRY(orch_wf_terminate_port),
                        ORCH_WF_ENTRY(orch_wf_validate_port)),
};
