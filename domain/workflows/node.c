/* create_node: its start form asks customer_id, node_name, role_id, type_id, site_id,
 * optional node_description and ipv6 (default true). It creates the subscription,
 * allocates inventory (IMS, NRM) and IPAM loopbacks from the simulated inventory in the
 * step's unit of work, and activates the subscription.
 *
 * Version 2 (the one new processes start) is wrapped in the create lifecycle (status
 * active, resync, done come from the wrapper) and pushes the node's configuration through a
 * callback step, as the reference's create_node installs its config. Version 1 activated
 * the subscription itself; it stays registered so processes started on it finish on it. */
#include <stdlib.h>
#include <string.h>

#include "domain/engine/authoring.h"
#include "domain/engine/engine.h"
#include "domain/forms/forms.h"
#include "domain/subscription/subscription.h"
#include "domain/workflows/workflows.h"

static orch_step_result_t check_input(orch_step_ctx_t *ctx, json_t *state)
{
    const char *product_id = orch_state_str(state, "product_id", NULL);
    const orch_product_t *p = NULL;
    const char *name = orch_state_str(state, "node_name", "");

    if (!product_id || !*product_id)
        return orch_step_fail("INVALID_INPUT", NULL, "a node product is required (product_id)");
    if (ctx->catalog) {
        p = orch_catalog_find_product_id(ctx->catalog, product_id);
        if (!p || strcmp(p->def->product_type, "Node") != 0)
            return orch_step_fail("INVALID_INPUT", NULL, "product %s is not a node product",
                                  product_id);
    }
    if (!*name || strlen(name) > 255)
        return orch_step_fail("INVALID_INPUT", json_pack("{s:s}", "field", "node_name"),
                              "node_name must be 1-255 characters");
    if (!*orch_state_str(state, "customer_id", ""))
        return orch_step_fail("INVALID_INPUT", json_pack("{s:s}", "field", "customer_id"),
                              "customer_id is required");
    for (const char *const *f = (const char *const[]){"role_id", "type_id", "site_id", NULL}; *f;
         f++)
        if (!json_is_integer(json_object_get(state, *f)))
            return orch_step_fail("INVALID_INPUT", json_pack("{s:s}", "field", *f),
                                  "%s must be an integer", *f);
    return orch_step_ok(json_pack("{s:s}", "node_status", "provisioning"));
}

static orch_step_result_t create_subscription(orch_step_ctx_t *ctx, json_t *state)
{
    orch_subscription_t *sub = NULL;
    orch_error_t err;
    orch_step_result_t r;
    const orch_product_t *p;
    const char *desc = orch_state_str(state, "node_description", NULL);
    char *label = NULL;

    orch_error_init(&err);
    if (!ctx->store || !ctx->catalog)
        return orch_step_fail("NO_STORE", NULL, "create_subscription needs the store");
    p = orch_catalog_find_product_id(ctx->catalog, orch_state_str(state, "product_id", ""));
    if (!p)
        return orch_step_fail("INVALID_INPUT", NULL, "the product is gone");
    if (orch_subscription_new_from_product(p, orch_state_str(state, "customer_id", ""), &sub,
                                           &err) ||
        orch_sub_set_str(sub, "node_name", orch_state_str(state, "node_name", ""), &err) ||
        orch_sub_set_int(sub, "role_id", orch_state_int(state, "role_id", 0), &err) ||
        orch_sub_set_int(sub, "type_id", orch_state_int(state, "type_id", 0), &err) ||
        orch_sub_set_int(sub, "site_id", orch_state_int(state, "site_id", 0), &err) ||
        orch_sub_set_str(sub, "node_status", "provisioning", &err) ||
        (desc && orch_sub_set_str(sub, "node_description", desc, &err)) ||
        orch_sub_set_status(sub, ORCH_SUB_PROVISIONING, &err)) {
        r = orch_step_fail_error(&err);
        goto out;
    }
    /* What people see in lists and in the node choices of other forms. */
    label = orch_wf_node_description(sub);
    if (orch_sub_set_description(sub, label, &err) ||
        ctx->store->ops->sub_save(ctx->tx, sub, &err)) {
        r = orch_step_fail_error(&err);
        goto out;
    }
    orch_step_ctx_link_subscription(ctx, sub->id);
    r = orch_step_ok(json_pack("{s:s}", "subscription_id", sub->id));
out:
    free(label);
    orch_subscription_free(sub);
    return r;
}

static orch_step_result_t allocate_ims(orch_step_ctx_t *ctx, json_t *state)
{
    (void)state;
    return orch_step_allocate(ctx, "ims_node", "ims_id");
}

static orch_step_result_t allocate_nrm(orch_step_ctx_t *ctx, json_t *state)
{
    (void)state;
    return orch_step_allocate(ctx, "nrm_node", "nrm_id");
}

static orch_step_result_t allocate_ipv4(orch_step_ctx_t *ctx, json_t *state)
{
    (void)state;
    return orch_step_allocate(ctx, "ipv4_loopback", "ipv4_ipam_id");
}

static orch_step_result_t allocate_ipv6(orch_step_ctx_t *ctx, json_t *state)
{
    (void)state;
    return orch_step_allocate(ctx, "ipv6_loopback", "ipv6_ipam_id");
}

static bool wants_ipv6(const json_t *state)
{
    return orch_state_bool(state, "ipv6", true);
}

/* Loads the node subscription for update and stores what the allocations gave; with
 * node_status also that; with activate, active and in sync (version 1's last step). */
static orch_step_result_t store_node(orch_step_ctx_t *ctx, const json_t *state,
                                     const char *node_status, bool activate)
{
    orch_subscription_t *sub = NULL;
    orch_error_t err;
    orch_step_result_t r;

    orch_error_init(&err);
    if (!ctx->store || !ctx->catalog)
        return orch_step_fail("NO_STORE", NULL, "step %s needs the store", ctx->step_key);
    if (ctx->store->ops->sub_load(ctx->store, ctx->tx, &ctx->ctx, ctx->catalog,
                                  orch_state_str(state, "subscription_id", ""), true, &sub, &err) ||
        orch_sub_set_int(sub, "ims_id", orch_state_int(state, "ims_id", 0), &err) ||
        orch_sub_set_int(sub, "nrm_id", orch_state_int(state, "nrm_id", 0), &err) ||
        orch_sub_set_int(sub, "ipv4_ipam_id", orch_state_int(state, "ipv4_ipam_id", 0), &err) ||
        orch_sub_set_int(sub, "ipv6_ipam_id", orch_state_int(state, "ipv6_ipam_id", 0), &err) ||
        (node_status && orch_sub_set_str(sub, "node_status", node_status, &err)) ||
        (activate && orch_sub_set_status(sub, ORCH_SUB_ACTIVE, &err))) {
        r = orch_step_fail_error(&err);
        goto out;
    }
    if (activate)
        sub->in_sync = true;
    if (ctx->store->ops->sub_save(ctx->tx, sub, &err)) {
        r = orch_step_fail_error(&err);
        goto out;
    }
    orch_step_ctx_link_subscription(ctx, sub->id);
    r = orch_step_ok(node_status ? json_pack("{s:s}", "node_status", node_status) : NULL);
out:
    orch_subscription_free(sub);
    return r;
}

static orch_step_result_t activate_subscription(orch_step_ctx_t *ctx, json_t *state)
{
    return store_node(ctx, state, "active", true);
}

static orch_step_result_t save_ids(orch_step_ctx_t *ctx, json_t *state)
{
    return store_node(ctx, state, NULL, false);
}

/* After the configuration push answered: the node carries traffic. */
static orch_step_result_t activate_node(orch_step_ctx_t *ctx, json_t *state)
{
    return store_node(ctx, state, "active", false);
}

static const orch_step_def_t allocate_steps[] = {
    ORCH_RETRY_STEP("ims", "Allocate the IMS node id", allocate_ims, 5, 500, 10000),
    ORCH_RETRY_STEP("nrm", "Allocate the NRM node id", allocate_nrm, 5, 500, 10000),
    ORCH_RETRY_STEP("ipv4", "Allocate the IPv4 loopback", allocate_ipv4, 5, 500, 10000),
    ORCH_CONDITIONAL("ipv6", "Allocate the IPv6 loopback", wants_ipv6, "state.ipv6 != false",
                     allocate_ipv6),
    ORCH_STEPS_END,
};

static const orch_step_def_t create_node_steps[] = {
    ORCH_STEP("check_input", "Check the input", check_input),
    ORCH_STEP("create_subscription", "Create the subscription", create_subscription),
    ORCH_GROUP("allocate", "Allocate inventory and addresses", allocate_steps),
    ORCH_STEP("activate_subscription", "Activate the subscription", activate_subscription),
    ORCH_DONE,
    ORCH_STEPS_END,
};

/* The start form: one page (the steps are those of version 1, unchanged). */
static const orch_form_field_t create_node_fields[] = {
    {.name = "customer_id",
     .title = "Customer",
     .type = ORCH_FORM_STRING,
     .required = true,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 255},
    {.name = "node_name",
     .title = "Node name",
     .type = ORCH_FORM_STRING,
     .required = true,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 255},
    {.name = "role_id",
     .title = "Role",
     .type = ORCH_FORM_INTEGER,
     .required = true,
     .has_min = true,
     .min = 0},
    {.name = "type_id",
     .title = "Device type",
     .type = ORCH_FORM_INTEGER,
     .required = true,
     .has_min = true,
     .min = 0},
    {.name = "site_id",
     .title = "Site",
     .type = ORCH_FORM_INTEGER,
     .required = true,
     .has_min = true,
     .min = 0},
    {.name = "node_description",
     .title = "Description",
     .type = ORCH_FORM_STRING,
     .has_max = true,
     .max = 2000},
    {.name = "ipv6",
     .title = "Allocate an IPv6 loopback",
     .type = ORCH_FORM_BOOLEAN,
     .default_json = "true"},
    {0},
};
static const orch_form_page_t create_node_pages[] = {{"The node", create_node_fields}, {0}};
static const orch_form_t create_node_form = {.pages = create_node_pages};

/* The state keys each step reads and writes, checked at start-up (domain/engine/lint.h). */
static const orch_step_io_t create_node_io[] = {
    {"check_input",
     ORCH_KEYS("product_id", "customer_id", "node_name", "role_id", "type_id", "site_id"),
     ORCH_KEYS("node_status")},
    {"create_subscription",
     ORCH_KEYS("product_id", "customer_id", "node_name", "role_id", "type_id", "site_id",
               "node_description"),
     ORCH_KEYS("subscription_id")},
    {"allocate.ims", ORCH_NO_KEYS, ORCH_KEYS("ims_id")},
    {"allocate.nrm", ORCH_NO_KEYS, ORCH_KEYS("nrm_id")},
    {"allocate.ipv4", ORCH_NO_KEYS, ORCH_KEYS("ipv4_ipam_id")},
    {"allocate.ipv6", ORCH_KEYS("ipv6"), ORCH_KEYS("ipv6_ipam_id")},
    {"activate_subscription",
     ORCH_KEYS("subscription_id", "ims_id", "nrm_id", "ipv4_ipam_id", "ipv6_ipam_id"),
     ORCH_KEYS("node_status")},
    {0},
};

const orch_workflow_def_t orch_wf_create_node = {
    .io = create_node_io,
    .product_type = "Node",
    .blocks = ORCH_KEYS("NodeBlock"),
    .form = &create_node_form,
    .name = "create_node",
    .description = "Create node",
    .target = ORCH_TARGET_CREATE,
    .is_task = false,
    .version = 1,
    .steps = create_node_steps,
};

static const orch_step_def_t create_node_v2_steps[] = {
    ORCH_STEP("check_input", "Check the input", check_input),
    ORCH_STEP("create_subscription", "Create the subscription", create_subscription),
    ORCH_GROUP("allocate", "Allocate inventory and addresses", allocate_steps),
    ORCH_STEP("save_ids", "Store the inventory ids and addresses", save_ids),
    ORCH_REMOTE_STEP_FALLBACK("push_config", "Push the node configuration", "network.push_config",
                              orch_wf_push_config, 600000),
    ORCH_STEP("activate_node", "Mark the node active", activate_node),
    ORCH_STEPS_END,
};

static const orch_step_io_t create_node_v2_io[] = {
    {"check_input",
     ORCH_KEYS("product_id", "customer_id", "node_name", "role_id", "type_id", "site_id"),
     ORCH_KEYS("node_status")},
    {"create_subscription",
     ORCH_KEYS("product_id", "customer_id", "node_name", "role_id", "type_id", "site_id",
               "node_description"),
     ORCH_KEYS("subscription_id")},
    {"allocate.ims", ORCH_NO_KEYS, ORCH_KEYS("ims_id")},
    {"allocate.nrm", ORCH_NO_KEYS, ORCH_KEYS("nrm_id")},
    {"allocate.ipv4", ORCH_NO_KEYS, ORCH_KEYS("ipv4_ipam_id")},
    {"allocate.ipv6", ORCH_KEYS("ipv6"), ORCH_KEYS("ipv6_ipam_id")},
    {"save_ids", ORCH_KEYS("subscription_id", "ims_id", "nrm_id", "ipv4_ipam_id", "ipv6_ipam_id"),
     ORCH_NO_KEYS},
    {"push_config", ORCH_NO_KEYS, ORCH_KEYS("config_push")},
    {"activate_node",
     ORCH_KEYS("subscription_id", "ims_id", "nrm_id", "ipv4_ipam_id", "ipv6_ipam_id"),
     ORCH_KEYS("node_status")},
    {0},
};

const orch_workflow_def_t orch_wf_create_node_v2 = {
    .io = create_node_v2_io,
    .product_type = "Node",
    .blocks = ORCH_KEYS("NodeBlock"),
    .form = &create_node_form,
    .name = "create_node",
    .description = "Create node",
    .target = ORCH_TARGET_CREATE,
    .version = 2,
    .steps = create_node_v2_steps,
    .lifecycle = ORCH_LC_CREATE,
};
const orch_wf_entry_t orch_wf_node_all[] = {
    ORCH_WF_ENTRY(orch_wf_create_node), ORCH_WF_ENTRY(orch_wf_create_node_v2), {0}};
