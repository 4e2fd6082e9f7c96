/* The Node product's workflows, on the authoring API (docs/AUTHORING.md):
 *
 * - create_node: its start form asks customer_id, node_name, role_id, type_id, site_id,
 *   optional node_description and ipv6 (default true). It creates the subscription, allocates
 *   inventory (IMS, NRM) and IPAM loopbacks from the simulated inventory in the step's unit of
 *   work. Version 2 (the one new processes start) is wrapped in the create lifecycle (status
 *   active, resync, done come from the wrapper) and pushes the node's configuration through a
 *   remote step, as the reference's create_node installs its config. Version 1 activated the
 *   subscription itself; it stays registered so processes started on it finish on it.
 * - modify_node (name, description; the configuration pushed again), terminate_node (the
 *   node decommissioned), validate_node. The lifecycle wrappers (engine.h) add the lock,
 *   status and unlock steps: these are the business steps only. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/engine/authoring.h"
#include "domain/forms/forms.h"
#include "domain/products/node/node.h"
#include "domain/products/products.h"

char *orch_node_description(const orch_subscription_t *node)
{
    const char *type = orch_sub_fixed_input(node, "node_type");
    return orch_asprintf("node %s (%s)", orch_sub_str_or(node, "node_name", "unnamed"),
                         type ? type : node->product->def->name);
}

/* ---- create_node ---------------------------------------------------------------------------- */

static orch_step_result_t check_input(orch_step_ctx_t *ctx, json_t *state)
{
    const char *product_id = orch_state_str(state, "product_id", NULL);
    const char *name = orch_state_str(state, "node_name", "");

    if (!product_id || !*product_id)
        return orch_step_invalid(NULL, "a node product is required (product_id)");
    if (ctx->catalog) {
        const orch_product_t *p = orch_catalog_find_product_id(ctx->catalog, product_id);
        if (!p || strcmp(p->def->product_type, "Node") != 0)
            return orch_step_invalid(NULL, "product %s is not a node product", product_id);
    }
    if (!*name || strlen(name) > 255)
        return orch_step_invalid("node_name", "node_name must be 1-255 characters");
    if (!*orch_state_str(state, "customer_id", ""))
        return orch_step_invalid("customer_id", "customer_id is required");
    for (const char *const *f = (const char *const[]){"role_id", "type_id", "site_id", NULL}; *f;
         f++)
        if (!json_is_integer(json_object_get(state, *f)))
            return orch_step_invalid(*f, "%s must be an integer", *f);
    return orch_step_ok_str("node_status", "provisioning");
}

static orch_step_result_t create_subscription(orch_step_ctx_t *ctx, json_t *state)
{
    orch_step_result_t failed;
    orch_error_t err;
    orch_subscription_t *sub = ORCH_SUB_NEW(ctx, state, &failed, "node_name", "role_id", "type_id",
                                            "site_id", "node_status", "node_description");
    if (!sub)
        return failed;
    orch_error_init(&err);
    orch_sub_set_status(sub, ORCH_SUB_PROVISIONING, &err);
    /* Described as people meet it in lists and in the node choices of other forms. */
    return orch_step_sub_finish(ctx, sub, &err, orch_node_description);
}

ORCH_ALLOCATE_STEP_FN(allocate_ims, "ims_node", "ims_id")
ORCH_ALLOCATE_STEP_FN(allocate_nrm, "nrm_node", "nrm_id")
ORCH_ALLOCATE_STEP_FN(allocate_ipv4, "ipv4_loopback", "ipv4_ipam_id")
ORCH_ALLOCATE_STEP_FN(allocate_ipv6, "ipv6_loopback", "ipv6_ipam_id")

static bool wants_ipv6(const json_t *state)
{
    return orch_state_bool(state, "ipv6", true);
}

/* What the allocations gave (0 for an address not allocated: the fields are required). */
static orch_err_t store_ids(orch_subscription_t *sub, const json_t *state, orch_error_t *err)
{
    if (orch_sub_set_int(sub, "ims_id", orch_state_int(state, "ims_id", 0), err) ||
        orch_sub_set_int(sub, "nrm_id", orch_state_int(state, "nrm_id", 0), err) ||
        orch_sub_set_int(sub, "ipv4_ipam_id", orch_state_int(state, "ipv4_ipam_id", 0), err) ||
        orch_sub_set_int(sub, "ipv6_ipam_id", orch_state_int(state, "ipv6_ipam_id", 0), err))
        return err->code;
    return ORCH_OK;
}

/* The ids, and the node carries traffic. */
static orch_err_t store_active(orch_subscription_t *sub, const json_t *state, orch_error_t *err)
{
    if (store_ids(sub, state, err) || orch_sub_set_str(sub, "node_status", "active", err))
        return err->code;
    return ORCH_OK;
}

/* Version 1's last step: also active and in sync (it has no create lifecycle). */
static orch_err_t store_activated(orch_subscription_t *sub, const json_t *state, orch_error_t *err)
{
    if (store_active(sub, state, err) || orch_sub_set_status(sub, ORCH_SUB_ACTIVE, err))
        return err->code;
    sub->in_sync = true;
    return ORCH_OK;
}

/* r, or when it succeeded, node_status active in the state. */
static orch_step_result_t now_active(orch_step_result_t r)
{
    return r.outcome == ORCH_STEP_SUCCESS ? orch_step_ok_str("node_status", "active") : r;
}

static orch_step_result_t activate_subscription(orch_step_ctx_t *ctx, json_t *state)
{
    return now_active(orch_step_edit(ctx, state, store_activated));
}

static orch_step_result_t save_ids(orch_step_ctx_t *ctx, json_t *state)
{
    return orch_step_edit(ctx, state, store_ids);
}

/* After the configuration push answered: the node carries traffic. */
static orch_step_result_t activate_node(orch_step_ctx_t *ctx, json_t *state)
{
    return now_active(orch_step_edit(ctx, state, store_active));
}

static const orch_step_def_t allocate_steps[] = {
    ORCH_ALLOCATE_STEP("ims", "Allocate the IMS node id", allocate_ims),
    ORCH_ALLOCATE_STEP("nrm", "Allocate the NRM node id", allocate_nrm),
    ORCH_ALLOCATE_STEP("ipv4", "Allocate the IPv4 loopback", allocate_ipv4),
    ORCH_CONDITIONAL("ipv6", "Allocate the IPv6 loopback", wants_ipv6, "state.ipv6 != false",
                     allocate_ipv6),
    ORCH_STEPS_END,
};

/* What store_ids reads: the steps built on it (activate_subscription, save_ids,
 * activate_node) read these state keys. */
#define STORE_IDS_READS                                                                            \
    ORCH_KEYS("subscription_id", "ims_id", "nrm_id", "ipv4_ipam_id", "ipv6_ipam_id")

/* Both versions of create_node begin the same: the input checked, the subscription created,
 * the inventory allocated. One list (and one of their state keys) serves both, so a change to
 * the common start cannot reach one version only. */
#define CREATE_NODE_FIRST_STEPS                                                                    \
    ORCH_STEP("check_input", "Check the input", check_input),                                      \
        ORCH_STEP("create_subscription", "Create the subscription", create_subscription),          \
        ORCH_GROUP("allocate", "Allocate inventory and addresses", allocate_steps)
#define CREATE_NODE_FIRST_IO                                                                       \
    {"check_input",                                                                                \
     ORCH_KEYS("product_id", "customer_id", "node_name", "role_id", "type_id", "site_id"),         \
     ORCH_KEYS("node_status")},                                                                    \
        {"create_subscription",                                                                    \
         ORCH_KEYS("product_id", "customer_id", "node_name", "role_id", "type_id", "site_id",      \
                   "node_description"),                                                            \
         ORCH_KEYS("subscription_id")},                                                            \
        {"allocate.ims", ORCH_NO_KEYS, ORCH_KEYS("ims_id")},                                       \
        {"allocate.nrm", ORCH_NO_KEYS, ORCH_KEYS("nrm_id")},                                       \
        {"allocate.ipv4", ORCH_NO_KEYS, ORCH_KEYS("ipv4_ipam_id")},                                \
    {                                                                                              \
        "allocate.ipv6", ORCH_KEYS("ipv6"), ORCH_KEYS("ipv6_ipam_id")                              \
    }

static const orch_step_def_t create_node_steps[] = {
    CREATE_NODE_FIRST_STEPS,
    ORCH_STEP("activate_subscription", "Activate the subscription", activate_subscription),
    ORCH_DONE,
    ORCH_STEPS_END,
};

/* A node's place in the inventory (netbox): role, device type and site are ids (>= 0), each
 * asked alike. */
#define NETBOX_ID_FIELD(name_, title_)                                                             \
    {                                                                                              \
        .name = (name_), .title = (title_), .type = ORCH_FORM_INTEGER, .required = true,           \
        .has_min = true, .min = 0                                                                  \
    }

/* The start form: one page (the steps are those of version 1, unchanged). */
static const orch_form_field_t create_node_fields[] = {
    ORCH_FORM_CUSTOMER_FIELD,
    {.name = "node_name",
     .title = "Node name",
     .type = ORCH_FORM_STRING,
     .required = true,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 255},
    NETBOX_ID_FIELD("role_id", "Role"),
    NETBOX_ID_FIELD("type_id", "Device type"),
    NETBOX_ID_FIELD("site_id", "Site"),
    ORCH_FORM_DESCRIPTION_FIELD("node_description"),
    ORCH_FORM_BOOL_FIELD("ipv6", "Allocate an IPv6 loopback", "true"),
    {0},
};
static const orch_form_t create_node_form = {.pages =
                                                 ORCH_FORM_PAGES({"The node", create_node_fields})};

/* The state keys each step reads and writes, checked at start-up (domain/engine/lint.h). */
static const orch_step_io_t create_node_io[] = {
    CREATE_NODE_FIRST_IO,
    {"activate_subscription", STORE_IDS_READS, ORCH_KEYS("node_status")},
    {0},
};

/* What both versions of create_node are: one workflow, one start form, one product. */
#define CREATE_NODE_WORKFLOW                                                                       \
    .name = "create_node", .description = "Create node", .target = ORCH_TARGET_CREATE,             \
    .form = &create_node_form, .product_type = "Node", .blocks = ORCH_KEYS("NodeBlock")

static const orch_workflow_def_t orch_wf_create_node = {
    CREATE_NODE_WORKFLOW,
    .version = 1,
    .steps = create_node_steps,
    .io = create_node_io,
};

static const orch_step_def_t create_node_v2_steps[] = {
    CREATE_NODE_FIRST_STEPS,
    ORCH_STEP("save_ids", "Store the inventory ids and addresses", save_ids),
    ORCH_PUSH_CONFIG_REMOTE_STEP("Push the node configuration"),
    ORCH_STEP("activate_node", "Mark the node active", activate_node),
    ORCH_STEPS_END,
};

static const orch_step_io_t create_node_v2_io[] = {
    CREATE_NODE_FIRST_IO,
    {"save_ids", STORE_IDS_READS, ORCH_NO_KEYS},
    {"push_config", ORCH_NO_KEYS, ORCH_KEYS("config_push")},
    {"activate_node", STORE_IDS_READS, ORCH_KEYS("node_status")},
    {0},
};

static const orch_workflow_def_t orch_wf_create_node_v2 = {
    CREATE_NODE_WORKFLOW,          .version = 2,
    .steps = create_node_v2_steps, .io = create_node_v2_io,
    .lifecycle = ORCH_LC_CREATE,
};

/* ---- modify_node, terminate_node, validate_node --------------------------------------------- */

static const orch_form_field_t modify_node_fields[] = {
    {.name = "node_name",
     .title = "Node name",
     .type = ORCH_FORM_STRING,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 255,
     .pattern = "[a-z0-9][a-z0-9.-]*"},
    ORCH_FORM_DESCRIPTION_FIELD("node_description"),
    {0},
};
static const orch_form_t modify_node_form = {
    .pages = ORCH_FORM_PAGES({"Change the node", modify_node_fields})};

static orch_err_t edit_node(orch_subscription_t *sub, const json_t *state, orch_error_t *err)
{
    const char *name = orch_state_str(state, "node_name", NULL);
    const char *desc = orch_state_str(state, "node_description", NULL);
    char *label;
    orch_err_t rc;
    if (name && orch_sub_set_str(sub, "node_name", name, err))
        return err->code;
    if (desc && orch_sub_set_str(sub, "node_description", desc, err))
        return err->code;
    /* A renamed node is described by its new name. */
    label = orch_node_description(sub);
    rc = orch_sub_set_description(sub, label, err);
    free(label);
    return rc;
}

static orch_step_result_t update_node(orch_step_ctx_t *ctx, json_t *state)
{
    return orch_step_edit(ctx, state, edit_node);
}

static orch_step_result_t decommission_node(orch_step_ctx_t *ctx, json_t *state)
{
    return ORCH_SET_VALUES(ctx, state, ORCH_STR("node_status", "decommissioned"));
}

static const orch_step_def_t modify_node_steps[] = {
    ORCH_STEP("update_node", "Update the node", update_node),
    ORCH_PUSH_CONFIG_REMOTE_STEP("Push the node configuration"),
    ORCH_STEPS_END,
};
static const orch_step_def_t terminate_node_steps[] = {
    ORCH_STEP("decommission_node", "Decommission the node", decommission_node),
    ORCH_STEPS_END,
};

/* The state keys of the node steps, checked at start-up (domain/engine/lint.h). */
static const orch_step_io_t modify_node_io[] = {
    {"update_node", ORCH_KEYS("subscription_id", "node_name", "node_description"), ORCH_NO_KEYS},
    {"push_config", ORCH_NO_KEYS, ORCH_KEYS("config_push")},
    {0},
};
static const orch_step_io_t terminate_node_io[] = {
    {"decommission_node", ORCH_KEYS("subscription_id"), ORCH_NO_KEYS},
    {0},
};

static const orch_workflow_def_t orch_wf_modify_node = {
    ORCH_LIFECYCLE_WORKFLOW(MODIFY, "modify_node", "Modify node", modify_node_steps),
    .form = &modify_node_form,
    .io = modify_node_io,
    .product_type = "Node",
    .blocks = ORCH_KEYS("NodeBlock"),
};
static const orch_workflow_def_t orch_wf_terminate_node = {
    ORCH_LIFECYCLE_WORKFLOW(TERMINATE, "terminate_node", "Terminate node", terminate_node_steps),
    .io = terminate_node_io,
    .product_type = "Node",
    .blocks = ORCH_KEYS("NodeBlock"),
};
static const orch_workflow_def_t orch_wf_validate_node = {
    ORCH_VALIDATE_WORKFLOW("validate_node", "Validate node"),
    .product_type = "Node",
};

const orch_product_module_t orch_product_module_node = {
    ORCH_EXAMPLE_MODULE("node", orch_node_blocks, orch_node_products,
                        ORCH_WF_ENTRY(orch_wf_create_node), ORCH_WF_ENTRY(orch_wf_create_node_v2),
                        ORCH_WF_ENTRY(orch_wf_modify_node), ORCH_WF_ENTRY(orch_wf_terminate_node),
                        ORCH_WF_ENTRY(orch_wf_validate_node), ORCH_WF_ENTRY(orch_wf_move_node)),
};
