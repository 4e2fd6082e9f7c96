/* The L2VPN product's workflows, on the authoring API (docs/AUTHORING.md): create_l2vpn (SAPs
 * on ports), modify_l2vpn (the speed; the configuration pushed again), terminate_l2vpn,
 * validate_l2vpn, reconcile_l2vpn (the configuration pushed again). The lifecycle wrappers
 * (engine.h) add the lock, status and unlock steps: these are the business steps only. */
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "domain/engine/authoring.h"
#include "domain/forms/forms.h"
#include "domain/products/l2vpn/l2vpn.h"
#include "domain/products/products.h"

/* ---- create_l2vpn --------------------------------------------------------------------------- */

ORCH_SUBSCRIPTION_CHOICES_FN(port_choices, "Port")

/* The service speed, asked alike when the L2VPN is created and when it is changed. */
#define SPEED_FIELD ORCH_FORM_INT_FIELD("speed", "Speed (Mbit/s)", 1, 400000)

static const orch_form_field_t l2vpn_fields[] = {
    ORCH_FORM_CUSTOMER_FIELD,
    {.name = "ports",
     .title = "Ports (service access points)",
     .type = ORCH_FORM_MULTI_CHOICE,
     .required = true,
     .has_min = true,
     .min = 2,
     .has_max = true,
     .max = 8,
     .choices_fn = port_choices},
    ORCH_FORM_INT_FIELD("vlan", "VLAN", 0, 4095),
    SPEED_FIELD,
    ORCH_FORM_BOOL_FIELD("speed_policer", "Police at the speed", "false"),
    {0},
};
static const orch_form_t create_l2vpn_form = {.pages =
                                                  ORCH_FORM_PAGES({"The L2VPN", l2vpn_fields})};

/* SAP i (saps[i]): the VLAN on port. */
static orch_err_t add_sap(orch_subscription_t *sub, size_t i, const orch_subscription_t *port,
                          long long vlan, orch_error_t *err)
{
    char path[64];
    size_t idx = 0;
    snprintf(path, sizeof(path), "saps[%zu].port", i);
    if (orch_sub_count(sub, "saps", &idx, err) ||
        (idx <= i && orch_sub_add_child(sub, "saps", &idx, err)) ||
        orch_sub_set_reference(sub, path, port->id, port->root->id, err))
        return err->code;
    snprintf(path, sizeof(path), "saps[%zu].vlan", i);
    return orch_sub_set_int(sub, path, vlan, err);
}

/* label with ", ams-01 1/1/1" (the first without the comma) for port: the description grows
 * to "l2vpn vlan 100: ams-01 1/1/1, rtm-01 1/1/2". Frees label; caller frees the result. */
static char *describe_sap(char *label, size_t i, const orch_subscription_t *port)
{
    char *out = orch_asprintf("%s%s %s %s", label, i ? "," : "",
                              orch_sub_str_or(port, "node.node_name", "?"),
                              orch_sub_str_or(port, "port_name", "?"));
    free(label);
    return out;
}

static orch_step_result_t create_subscription(orch_step_ctx_t *ctx, json_t *state)
{
    long long vlan = orch_state_int(state, "vlan", 0);
    orch_step_result_t r;
    orch_error_t err;
    orch_subscription_t *sub = orch_step_sub_new(ctx, state, NULL, &r);
    char *label = orch_asprintf("l2vpn vlan %lld:", vlan);
    size_t i;
    json_t *v;

    if (!sub)
        goto out;
    orch_error_init(&err);
    if (orch_sub_set_int(sub, "speed", orch_state_int(state, "speed", 0), &err) ||
        orch_sub_set_bool(sub, "speed_policer", orch_state_bool(state, "speed_policer", 0), &err))
        goto built;
    json_array_foreach(json_object_get(state, "ports"), i, v)
    {
        orch_subscription_t *port = orch_step_sub_load(ctx, json_string_value(v), &r);
        orch_err_t rc;
        if (!port) {
            orch_subscription_free(sub);
            goto out;
        }
        rc = add_sap(sub, i, port, vlan, &err);
        label = describe_sap(label, i, port);
        orch_subscription_free(port);
        if (rc)
            goto built;
    }
    orch_sub_set_description(sub, label, &err);
built:
    r = orch_step_sub_finish(ctx, sub, &err, NULL);
out:
    free(label);
    return r;
}

ORCH_ALLOCATE_STEP_FN(allocate_vc_ims, "ims_vc", "ims_id")
ORCH_ALLOCATE_STEP_FN(allocate_vc_nrm, "nrm_vc", "nrm_id")

static const orch_step_def_t create_l2vpn_steps[] = {
    ORCH_STEP("create_subscription", "Create the subscription", create_subscription),
    ORCH_ALLOCATE_STEP("allocate_ims", "Allocate the IMS circuit id", allocate_vc_ims),
    ORCH_ALLOCATE_STEP("allocate_nrm", "Allocate the NRM circuit id", allocate_vc_nrm),
    ORCH_STEP("save_ids", "Store the inventory ids", orch_step_save_inventory_ids),
    ORCH_PUSH_CONFIG_STEP("Push the service configuration"),
    ORCH_STEPS_END,
};
static const orch_workflow_def_t orch_wf_create_l2vpn = {
    ORCH_LIFECYCLE_WORKFLOW(CREATE, "create_l2vpn", "Create L2VPN", create_l2vpn_steps),
    .form = &create_l2vpn_form,
};

/* ---- modify, terminate, validate, reconcile ------------------------------------------------- */

static const orch_form_field_t modify_l2vpn_fields[] = {
    SPEED_FIELD,
    {0},
};
static const orch_form_t modify_l2vpn_form = {
    .pages = ORCH_FORM_PAGES({"Change the L2VPN", modify_l2vpn_fields})};

static orch_step_result_t update_speed(orch_step_ctx_t *ctx, json_t *state)
{
    return ORCH_SAVE_FIELDS(ctx, state, "speed");
}

static const orch_step_def_t modify_l2vpn_steps[] = {
    ORCH_STEP("update_speed", "Update the speed", update_speed),
    ORCH_PUSH_CONFIG_STEP("Push the service configuration"),
    ORCH_STEPS_END,
};
static const orch_step_def_t terminate_l2vpn_steps[] = {
    ORCH_STEP("remove_service", "Remove the service from the network",
              orch_step_sim_remove_service),
    ORCH_STEPS_END,
};
static const orch_step_def_t reconcile_l2vpn_steps[] = {
    ORCH_PUSH_CONFIG_STEP("Push the service configuration again"),
    ORCH_STEPS_END,
};
static const orch_workflow_def_t orch_wf_modify_l2vpn = {
    ORCH_LIFECYCLE_WORKFLOW(MODIFY, "modify_l2vpn", "Modify L2VPN", modify_l2vpn_steps),
    .form = &modify_l2vpn_form,
};
static const orch_workflow_def_t orch_wf_terminate_l2vpn = {
    ORCH_LIFECYCLE_WORKFLOW(TERMINATE, "terminate_l2vpn", "Terminate L2VPN", terminate_l2vpn_steps),
};
static const orch_workflow_def_t orch_wf_validate_l2vpn = {
    ORCH_VALIDATE_WORKFLOW("validate_l2vpn", "Validate L2VPN"),
};
static const orch_workflow_def_t orch_wf_reconcile_l2vpn = {
    ORCH_LIFECYCLE_WORKFLOW(RECONCILE, "reconcile_l2vpn", "Reconcile an L2VPN with the network",
                            reconcile_l2vpn_steps),
};

const orch_product_module_t orch_product_module_l2vpn = {
    ORCH_EXAMPLE_MODULE(
        "l2vpn", orch_l2vpn_blocks, orch_l2vpn_products, ORCH_WF_ENTRY(orch_wf_create_l2vpn),
        ORCH_WF_ENTRY(orch_wf_modify_l2vpn), ORCH_WF_ENTRY(orch_wf_terminate_l2vpn),
        ORCH_WF_ENTRY(orch_wf_validate_l2vpn), ORCH_WF_ENTRY(orch_wf_reconcile_l2vpn)),
};
