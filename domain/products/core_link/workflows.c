/* The CoreLink product's workflows, on the authoring API (docs/AUTHORING.md): create_core_link
 * (two pages: nodes A and B, refused when they are the same, then an interface on each; the
 * IPv6 prefix and the ends' ids from the simulated IPAM / inventory), modify_core_link (the
 * maintenance toggle), terminate_core_link, validate_core_link. The lifecycle wrappers
 * (engine.h) add the lock, status and unlock steps: these are the business steps only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/engine/authoring.h"
#include "domain/forms/forms.h"
#include "domain/products/core_link/core_link.h"
#include "domain/products/products.h"

/* "core link ams-01 1/1/1 <-> rtm-01 1/1/2 10G" from the two nodes' names. Caller frees. */
static char *core_link_description(const orch_subscription_t *link, const char *node_a,
                                   const char *node_b)
{
    char speed[32];
    orch_sub_speed_text(link, speed, sizeof(speed));
    return orch_asprintf("core link %s %s <-> %s %s%s", node_a,
                         orch_sub_str_or(link, "ports[0].port_name", "?"), node_b,
                         orch_sub_str_or(link, "ports[1].port_name", "?"), speed);
}

/* ---- create_core_link ----------------------------------------------------------------------- */

ORCH_SUBSCRIPTION_CHOICES_FN(node_choices, "Node")

/* Page 1 across its fields: the link joins two different nodes. */
static size_t distinct_nodes(const orch_form_env_t *env, size_t index, const json_t *answers,
                             const char *path, orch_error_t *err)
{
    return orch_form_check_different(env, index, answers, path, err, 0, "node_a_subscription_id",
                                     "node_b_subscription_id",
                                     "Node B must be another node than node A: a core link "
                                     "joins two nodes");
}

static const orch_form_field_t core_link_page1[] = {
    ORCH_FORM_CUSTOMER_FIELD,
    ORCH_FORM_CHOICE_FIELD("node_a_subscription_id", "Node A", node_choices),
    ORCH_FORM_CHOICE_FIELD("node_b_subscription_id", "Node B", node_choices),
    {0},
};
/* The interface on one end: the same field for node A and node B. */
#define INTERFACE_FIELD(name_, title_)                                                             \
    {                                                                                              \
        .name = (name_), .title = (title_), .type = ORCH_FORM_STRING, .required = true,            \
        .has_min = true, .min = 1, .has_max = true, .max = 64, .pattern = "[0-9]+/[0-9]+/[0-9]+"   \
    }
static const orch_form_field_t core_link_page2[] = {
    INTERFACE_FIELD("port_a_name", "Interface on node A"),
    INTERFACE_FIELD("port_b_name", "Interface on node B"),
    {0},
};
static const orch_form_t create_core_link_form = {
    .pages = ORCH_FORM_PAGES({"Choose the two nodes", core_link_page1},
                             {"Choose the interfaces", core_link_page2}),
    .check = distinct_nodes};

/* End i of the link (ports[i]): on node, with the interface the form named, up. */
static orch_err_t fill_end(orch_subscription_t *sub, size_t i, const orch_subscription_t *node,
                           const char *port_name, orch_error_t *err)
{
    char path[64];
    size_t idx = 0;
    if (orch_sub_count(sub, "ports", &idx, err) ||
        (idx <= i && orch_sub_add_child(sub, "ports", &idx, err)))
        return err->code;
    snprintf(path, sizeof(path), "ports[%zu].node", i);
    if (orch_sub_set_reference(sub, path, node->id, node->root->id, err))
        return err->code;
    snprintf(path, sizeof(path), "ports[%zu].port_name", i);
    if (orch_sub_set_str(sub, path, port_name, err))
        return err->code;
    snprintf(path, sizeof(path), "ports[%zu].enabled", i);
    return orch_sub_set_bool(sub, path, true, err);
}

static orch_step_result_t create_subscription(orch_step_ctx_t *ctx, json_t *state)
{
    static const char *const keys[2][2] = {{"node_a_subscription_id", "port_a_name"},
                                           {"node_b_subscription_id", "port_b_name"}};
    orch_subscription_t *sub, *node[2] = {NULL, NULL};
    orch_step_result_t r;
    orch_error_t err;
    char *label;

    if (strcmp(orch_state_str(state, keys[0][0], ""), orch_state_str(state, keys[1][0], "")) == 0)
        return orch_step_invalid(keys[1][0], "a core link joins two different nodes");
    sub = orch_step_sub_new(ctx, state, NULL, &r);
    if (!sub)
        return r;
    orch_error_init(&err);
    if (orch_sub_set_bool(sub, "under_maintenance", false, &err))
        goto built;
    for (size_t i = 0; i < 2; i++) {
        node[i] = orch_step_sub_load(ctx, orch_state_str(state, keys[i][0], ""), &r);
        if (!node[i]) {
            orch_subscription_free(sub);
            goto out;
        }
        if (fill_end(sub, i, node[i], orch_state_str(state, keys[i][1], ""), &err))
            goto built;
    }
    label = core_link_description(sub, orch_sub_str_or(node[0], "node_name", "?"),
                                  orch_sub_str_or(node[1], "node_name", "?"));
    orch_sub_set_description(sub, label, &err);
    free(label);
built:
    r = orch_step_sub_finish(ctx, sub, &err, NULL);
out:
    orch_subscription_free(node[0]);
    orch_subscription_free(node[1]);
    return r;
}

ORCH_ALLOCATE_STEP_FN(allocate_link_ims, "ims_core_link", "ims_id")
ORCH_ALLOCATE_STEP_FN(allocate_link_nrm, "nrm_core_link", "nrm_id")
ORCH_ALLOCATE_STEP_FN(allocate_link_prefix, "ipv6_core_prefix", "ipv6_prefix_ipam_id")

/* Both ends: an IMS id and an interface address each, in the step's unit of work. */
static orch_step_result_t allocate_link_ports(orch_step_ctx_t *ctx, json_t *state)
{
    orch_step_result_t r = ORCH_ALLOCATE_ALL(
        ctx, state, "ims_core_port", "port_a_ims_id", "ims_core_port", "port_b_ims_id",
        "ipv6_core_interface", "port_a_ipv6_ipam_id", "ipv6_core_interface", "port_b_ipv6_ipam_id");
    if (r.outcome == ORCH_STEP_SUCCESS)
        orch_step_log(ORCH_LOG_INFO, ctx, "allocated the interface ids of both ends");
    return r;
}

static orch_step_result_t save_link_ids(orch_step_ctx_t *ctx, json_t *state)
{
    return ORCH_SAVE_FIELDS(
        ctx, state, "ims_id", "nrm_id", "ipv6_prefix_ipam_id", "ports[0].ims_id=port_a_ims_id",
        "ports[0].ipv6_ipam_id=port_a_ipv6_ipam_id", "ports[1].ims_id=port_b_ims_id",
        "ports[1].ipv6_ipam_id=port_b_ipv6_ipam_id");
}

static const orch_step_def_t create_core_link_steps[] = {
    ORCH_STEP("create_subscription", "Create the subscription", create_subscription),
    ORCH_ALLOCATE_STEP("allocate_ims", "Allocate the IMS link id", allocate_link_ims),
    ORCH_ALLOCATE_STEP("allocate_nrm", "Allocate the NRM link id", allocate_link_nrm),
    ORCH_ALLOCATE_STEP("allocate_ipv6_prefix", "Allocate the link's IPv6 prefix",
                       allocate_link_prefix),
    ORCH_ALLOCATE_STEP("allocate_ports", "Allocate the ids of both ends", allocate_link_ports),
    ORCH_STEP("save_ids", "Store the inventory and IPAM ids", save_link_ids),
    ORCH_PUSH_CONFIG_STEP("Push the link configuration"),
    ORCH_STEPS_END,
};
static const orch_workflow_def_t orch_wf_create_core_link = {
    ORCH_LIFECYCLE_WORKFLOW(CREATE, "create_core_link", "Create core link", create_core_link_steps),
    .form = &create_core_link_form,
};

/* ---- modify_core_link, terminate_core_link, validate_core_link ------------------------------ */

static const orch_form_field_t modify_core_link_fields[] = {
    {.name = "under_maintenance",
     .title = "Drained for maintenance",
     .type = ORCH_FORM_BOOLEAN,
     .required = true},
    {0},
};
static const orch_form_t modify_core_link_form = {
    .pages = ORCH_FORM_PAGES({"Change the core link", modify_core_link_fields})};

static orch_step_result_t update_maintenance(orch_step_ctx_t *ctx, json_t *state)
{
    return ORCH_SAVE_FIELDS(ctx, state, "under_maintenance");
}

/* Drains the link and shuts both ends before it is released. */
static orch_step_result_t shut_link(orch_step_ctx_t *ctx, json_t *state)
{
    return ORCH_SET_VALUES(ctx, state, ORCH_BOOL("under_maintenance", true),
                           ORCH_BOOL("ports[0].enabled", false),
                           ORCH_BOOL("ports[1].enabled", false));
}

static const orch_step_def_t modify_core_link_steps[] = {
    ORCH_STEP("update_maintenance", "Update the maintenance state", update_maintenance),
    ORCH_PUSH_CONFIG_STEP("Push the link configuration"),
    ORCH_STEPS_END,
};
static const orch_step_def_t terminate_core_link_steps[] = {
    ORCH_STEP("shut_link", "Drain the link and shut both ends", shut_link),
    ORCH_STEP("remove_service", "Remove the link from the network", orch_step_sim_remove_service),
    ORCH_STEPS_END,
};
static const orch_workflow_def_t orch_wf_modify_core_link = {
    ORCH_LIFECYCLE_WORKFLOW(MODIFY, "modify_core_link", "Modify core link", modify_core_link_steps),
    .form = &modify_core_link_form,
};
static const orch_workflow_def_t orch_wf_terminate_core_link = {
    ORCH_LIFECYCLE_WORKFLOW(TERMINATE, "terminate_core_link", "Terminate core link",
                            terminate_core_link_steps),
};
static const orch_workflow_def_t orch_wf_validate_core_link = {
    ORCH_VALIDATE_WORKFLOW("validate_core_link", "Validate core link"),
};

const orch_product_module_t orch_product_module_core_link = {
    ORCH_EXAMPLE_MODULE(
        "core_link", orch_core_link_blocks, orch_core_link_products,
        ORCH_WF_ENTRY(orch_wf_create_core_link), ORCH_WF_ENTRY(orch_wf_modify_core_link),
        ORCH_WF_ENTRY(orch_wf_terminate_core_link), ORCH_WF_ENTRY(orch_wf_validate_core_link)),
};
