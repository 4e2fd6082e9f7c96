/* The example catalogue's lifecycle workflows with forms, input and callback steps:
 * modify_note (every product, also out of sync); node modify / terminate / validate; port
 * create (two pages: the node, then a free port of that node) / modify / terminate (an input
 * step: a person confirms the cable is out) / validate; l2vpn create (SAPs on ports) /
 * modify / terminate / validate / reconcile; core link create (two pages: nodes A and B,
 * refused when they are the same, then an interface on each; the IPv6 prefix and the ends'
 * ids from the simulated IPAM / inventory) / modify (maintenance toggle) / terminate /
 * validate. The lifecycle wrappers (engine.h) add the
 * lock, status and unlock steps: these are the business steps only.
 *
 * The configuration push stands for an external provisioning system: a callback step hands
 * it the token. The simulated system is a directory: with ORCH_SIM_CALLBACK_DIR set, the
 * token is written to <dir>/<process_id>.<step_key> (mode 0600) for whoever plays the system
 * (the integration tests) to DeliverCallback; without it the system answers at once (the
 * step is skipped, nothing waits). ORCH_SIM_CALLBACK_DIR is an example integration, like the
 * example catalogue itself, not a test hook: it stays in the production binary, while the
 * ORCH_TEST_* hooks live in the test binary alone (tests/testbin/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/engine/authoring.h"
#include "domain/engine/engine.h"
#include "domain/forms/forms.h"
#include "domain/subscription/subscription.h"
#include "domain/workflows/workflows.h"

/* ---- shared helpers ------------------------------------------------------------------------- */

typedef orch_err_t (*edit_fn)(orch_step_ctx_t *ctx, const json_t *state, orch_subscription_t *sub,
                              orch_error_t *err);

/* Loads state.subscription_id (or the id under key) for update, lets edit change it, saves. */
static orch_step_result_t edit_subscription(orch_step_ctx_t *ctx, const json_t *state, edit_fn edit,
                                            json_t *changes)
{
    orch_subscription_t *sub = NULL;
    orch_error_t err;
    orch_step_result_t r;
    orch_error_init(&err);
    if (!ctx->store || !ctx->catalog) {
        json_decref(changes);
        return orch_step_fail("NO_STORE", NULL, "step %s needs the store", ctx->step_key);
    }
    if (ctx->store->ops->sub_load(ctx->store, ctx->tx, &ctx->ctx, ctx->catalog,
                                  orch_state_str(state, "subscription_id", ""), true, &sub, &err) ||
        edit(ctx, state, sub, &err) || ctx->store->ops->sub_save(ctx->tx, sub, &err)) {
        json_decref(changes);
        r = orch_step_fail_error(&err);
    } else {
        orch_step_ctx_link_subscription(ctx, sub->id);
        r = orch_step_ok(changes);
    }
    orch_subscription_free(sub);
    return r;
}

/* The configuration push: a remote step of task type "network.push_config" for nodes and
 * ports (a step worker pushes it, docs/WORKERS.md); with no worker connected, and for the
 * other products, the simulated external system of authoring.h hands the token over and the
 * state records that the push was requested. Shared with create_node (node.c). */
orch_step_result_t orch_wf_push_config(orch_step_ctx_t *ctx, json_t *state)
{
    orch_step_result_t r = orch_step_sim_callback(ctx, state);
    if (r.outcome == ORCH_STEP_SUCCESS) {
        json_decref(r.changes);
        r.changes = json_pack("{s:s}", "config_push", "requested");
    }
    return r;
}

/* ---- descriptions ---------------------------------------------------------------------- */


/* A text field by path, or dflt when it is unset or cannot be read. */
static const char *field_or(const orch_subscription_t *sub, const char *path, const char *dflt)
{
    const char *v = NULL;
    orch_error_t err;
    orch_error_init(&err);
    return orch_sub_get_str(sub, path, &v, &err) == ORCH_OK && v && *v ? v : dflt;
}


/* A subscription as a choice label: its description, or, when it has none (made before
 * descriptions were given, or by hand), its product's name and the start of its id. Never
 * empty. Caller frees. */
static char *choice_label(const orch_subscription_t *sub)
{
    if (sub->description && *sub->description)
        return orch_strdup(sub->description);
    return orch_asprintf("%s %.8s", sub->product->def->name, sub->id);
}

/* Active subscriptions of a product type as choices {value: id, label: description}. */
static json_t *subscriptions_of(const orch_form_env_t *env, const char *product_type)
{
    json_t *out = json_array();
    orch_sub_page_t page = {0};
    orch_error_t err;
    char filter[128];
    orch_sub_query_t q = {0};
    if (!env || !env->store || !env->catalog)
        return out;
    snprintf(filter, sizeof(filter), "product_type = \"%s\" AND status = \"active\"", product_type);
    q.filter = filter;
    q.page_size = 500;
    orch_error_init(&err);
    if (env->store->ops->sub_list(env->store, env->ctx, env->catalog, &q, &page, &err) == 0)
        for (size_t i = 0; i < page.n; i++) {
            char *label = choice_label(page.items[i]);
            json_array_append_new(
                out, json_pack("{s:s, s:s}", "value", page.items[i]->id, "label", label));
            free(label);
        }
    orch_sub_page_cleanup(&page);
    return out;
}

/* ---- modify_note ---------------------------------------------------------------------------- */

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
static const orch_form_page_t note_pages[] = {{"The subscription's note", note_fields}, {0}};
static const orch_form_t note_form = {.pages = note_pages};

static orch_err_t set_note(orch_step_ctx_t *ctx, const json_t *state, orch_subscription_t *sub,
                           orch_error_t *err)
{
    (void)ctx;
    return orch_sub_set_note(sub, orch_state_str(state, "note", ""), err);
}

static orch_step_result_t store_note(orch_step_ctx_t *ctx, json_t *state)
{
    return edit_subscription(ctx, state, set_note, NULL);
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

/* ---- validate (every product) ---- */

/* Validate: the subscription's tree is what its status requires. */
static orch_err_t check_tree(orch_step_ctx_t *ctx, const json_t *state, orch_subscription_t *sub,
                             orch_error_t *err)
{
    (void)ctx;
    (void)state;
    return orch_sub_validate(sub, err);
}

static orch_step_result_t validate_subscription(orch_step_ctx_t *ctx, json_t *state)
{
    return edit_subscription(ctx, state, check_tree, json_pack("{s:b}", "valid", 1));
}

static const orch_step_def_t validate_steps[] = {
    ORCH_STEP("validate_subscription", "Check the subscription", validate_subscription),
    ORCH_STEPS_END,
};

/* ---- shared by l2vpn and core link ---- */

static orch_err_t store_ids(orch_step_ctx_t *ctx, const json_t *state, orch_subscription_t *sub,
                            orch_error_t *err)
{
    (void)ctx;
    if (orch_sub_set_int(sub, "ims_id", orch_state_int(state, "ims_id", 0), err) ||
        orch_sub_set_int(sub, "nrm_id", orch_state_int(state, "nrm_id", 0), err))
        return err->code;
    return ORCH_OK;
}

static orch_step_result_t save_ids(orch_step_ctx_t *ctx, json_t *state)
{
    return edit_subscription(ctx, state, store_ids, NULL);
}

/* ---- l2vpn ---------------------------------------------------------------------------------- */

static json_t *port_choices(const orch_form_env_t *env, const json_t *answers)
{
    (void)answers;
    return subscriptions_of(env, "Port");
}

static const orch_form_field_t l2vpn_fields[] = {
    {.name = "customer_id",
     .title = "Customer",
     .type = ORCH_FORM_STRING,
     .required = true,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 255},
    {.name = "ports",
     .title = "Ports (service access points)",
     .type = ORCH_FORM_MULTI_CHOICE,
     .required = true,
     .has_min = true,
     .min = 2,
     .has_max = true,
     .max = 8,
     .choices_fn = port_choices},
    {.name = "vlan",
     .title = "VLAN",
     .type = ORCH_FORM_INTEGER,
     .required = true,
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 4095},
    {.name = "speed",
     .title = "Speed (Mbit/s)",
     .type = ORCH_FORM_INTEGER,
     .required = true,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 400000},
    {.name = "speed_policer",
     .title = "Police at the speed",
     .type = ORCH_FORM_BOOLEAN,
     .default_json = "false"},
    {0},
};
static const orch_form_page_t l2vpn_pages[] = {{"The L2VPN", l2vpn_fields}, {0}};
static const orch_form_t create_l2vpn_form = {.pages = l2vpn_pages};

/* "l2vpn vlan 100: ams-01 1/1/1, rtm-01 1/1/2": the VLAN and each SAP's node and port, from
 * the port subscriptions (their node's name is loaded with them). Caller frees. */
static char *l2vpn_description(orch_step_ctx_t *ctx, const json_t *state, const json_t *ports)
{
    size_t i, used, cap = 256;
    json_t *v;
    char *out = orch_malloc(cap);

    used =
        (size_t)snprintf(out, cap, "l2vpn vlan %lld:", (long long)orch_state_int(state, "vlan", 0));
    json_array_foreach(ports, i, v)
    {
        orch_subscription_t *port = NULL;
        orch_error_t err;
        char *part;
        size_t n;
        orch_error_init(&err);
        if (ctx->store->ops->sub_load(ctx->store, ctx->tx, &ctx->ctx, ctx->catalog,
                                      json_string_value(v), false, &port, &err))
            continue;
        part = orch_asprintf("%s %s %s", i ? "," : "", field_or(port, "node.node_name", "?"),
                             field_or(port, "port_name", "?"));
        n = strlen(part);
        if (used + n + 1 > cap) {
            cap = (used + n + 1) * 2;
            out = orch_realloc(out, cap);
        }
        memcpy(out + used, part, n + 1);
        used += n;
        free(part);
        orch_subscription_free(port);
    }
    return out;
}

static orch_step_result_t create_l2vpn_subscription(orch_step_ctx_t *ctx, json_t *state)
{
    orch_subscription_t *sub = NULL;
    char *label = NULL;
    orch_error_t err;
    orch_step_result_t r;
    const orch_product_t *p;
    const json_t *ports = json_object_get(state, "ports");
    size_t i;
    json_t *v;

    orch_error_init(&err);
    if (!ctx->store || !ctx->catalog)
        return orch_step_fail("NO_STORE", NULL, "create_subscription needs the store");
    p = orch_catalog_find_product_id(ctx->catalog, orch_state_str(state, "product_id", ""));
    if (!p)
        return orch_step_fail("INVALID_INPUT", NULL, "the product is gone");
    if (orch_subscription_new_from_product(p, orch_state_str(state, "customer_id", ""), &sub,
                                           &err) ||
        orch_sub_set_int(sub, "speed", orch_state_int(state, "speed", 0), &err) ||
        orch_sub_set_bool(sub, "speed_policer", orch_state_bool(state, "speed_policer", 0), &err))
        goto failed;
    json_array_foreach(ports, i, v)
    {
        orch_subscription_t *port = NULL;
        size_t idx = 0;
        char path[64];
        if (ctx->store->ops->sub_load(ctx->store, ctx->tx, &ctx->ctx, ctx->catalog,
                                      json_string_value(v), false, &port, &err))
            goto failed;
        snprintf(path, sizeof(path), "saps[%zu].port", i);
        if (orch_sub_count(sub, "saps", &idx, &err) ||
            (idx <= i && orch_sub_add_child(sub, "saps", &idx, &err)) ||
            orch_sub_set_reference(sub, path, port->id, port->root->id, &err)) {
            orch_subscription_free(port);
            goto failed;
        }
        orch_subscription_free(port);
        snprintf(path, sizeof(path), "saps[%zu].vlan", i);
        if (orch_sub_set_int(sub, path, orch_state_int(state, "vlan", 0), &err))
            goto failed;
    }
    label = l2vpn_description(ctx, state, ports);
    if (orch_sub_set_description(sub, label, &err) || ctx->store->ops->sub_save(ctx->tx, sub, &err))
        goto failed;
    orch_step_ctx_link_subscription(ctx, sub->id);
    r = orch_step_ok(json_pack("{s:s}", "subscription_id", sub->id));
    free(label);
    orch_subscription_free(sub);
    return r;
failed:
    r = orch_step_fail_error(&err);
    free(label);
    orch_subscription_free(sub);
    return r;
}

static orch_step_result_t allocate_vc_ims(orch_step_ctx_t *ctx, json_t *state)
{
    (void)state;
    return orch_step_allocate(ctx, "ims_vc", "ims_id");
}

static orch_step_result_t allocate_vc_nrm(orch_step_ctx_t *ctx, json_t *state)
{
    (void)state;
    return orch_step_allocate(ctx, "nrm_vc", "nrm_id");
}

static const orch_step_def_t create_l2vpn_steps[] = {
    ORCH_STEP("create_subscription", "Create the subscription", create_l2vpn_subscription),
    ORCH_RETRY_STEP("allocate_ims", "Allocate the IMS circuit id", allocate_vc_ims, 5, 500, 10000),
    ORCH_RETRY_STEP("allocate_nrm", "Allocate the NRM circuit id", allocate_vc_nrm, 5, 500, 10000),
    ORCH_STEP("save_ids", "Store the inventory ids", save_ids),
    ORCH_CALLBACK_STEP("push_config", "Push the service configuration", orch_wf_push_config,
                       600000),
    ORCH_STEPS_END,
};
const orch_workflow_def_t orch_wf_create_l2vpn = {
    .name = "create_l2vpn",
    .description = "Create L2VPN",
    .target = ORCH_TARGET_CREATE,
    .version = 1,
    .steps = create_l2vpn_steps,
    .form = &create_l2vpn_form,
    .lifecycle = ORCH_LC_CREATE,
};

static const orch_form_field_t modify_l2vpn_fields[] = {
    {.name = "speed",
     .title = "Speed (Mbit/s)",
     .type = ORCH_FORM_INTEGER,
     .required = true,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 400000},
    {0},
};
static const orch_form_page_t modify_l2vpn_pages[] = {{"Change the L2VPN", modify_l2vpn_fields},
                                                      {0}};
static const orch_form_t modify_l2vpn_form = {.pages = modify_l2vpn_pages};

static orch_err_t edit_speed(orch_step_ctx_t *ctx, const json_t *state, orch_subscription_t *sub,
                             orch_error_t *err)
{
    (void)ctx;
    return orch_sub_set_int(sub, "speed", orch_state_int(state, "speed", 1), err);
}

static orch_step_result_t update_speed(orch_step_ctx_t *ctx, json_t *state)
{
    return edit_subscription(ctx, state, edit_speed, NULL);
}

static orch_step_result_t remove_service(orch_step_ctx_t *ctx, json_t *state)
{
    (void)state;
    orch_step_log(ORCH_LOG_INFO, ctx, "service removed from the network (simulated)");
    return orch_step_ok(json_pack("{s:b}", "service_removed", 1));
}

static const orch_step_def_t modify_l2vpn_steps[] = {
    ORCH_STEP("update_speed", "Update the speed", update_speed),
    ORCH_CALLBACK_STEP("push_config", "Push the service configuration", orch_wf_push_config,
                       600000),
    ORCH_STEPS_END,
};
static const orch_step_def_t terminate_l2vpn_steps[] = {
    ORCH_STEP("remove_service", "Remove the service from the network", remove_service),
    ORCH_STEPS_END,
};
static const orch_step_def_t reconcile_l2vpn_steps[] = {
    ORCH_CALLBACK_STEP("push_config", "Push the service configuration again", orch_wf_push_config,
                       600000),
    ORCH_STEPS_END,
};
const orch_workflow_def_t orch_wf_modify_l2vpn = {
    .name = "modify_l2vpn",
    .description = "Modify L2VPN",
    .target = ORCH_TARGET_MODIFY,
    .version = 1,
    .steps = modify_l2vpn_steps,
    .form = &modify_l2vpn_form,
    .lifecycle = ORCH_LC_MODIFY,
};
const orch_workflow_def_t orch_wf_terminate_l2vpn = {
    .name = "terminate_l2vpn",
    .description = "Terminate L2VPN",
    .target = ORCH_TARGET_TERMINATE,
    .version = 1,
    .steps = terminate_l2vpn_steps,
    .lifecycle = ORCH_LC_TERMINATE,
};
const orch_workflow_def_t orch_wf_validate_l2vpn = {
    .name = "validate_l2vpn",
    .description = "Validate L2VPN",
    .target = ORCH_TARGET_VALIDATE,
    .version = 1,
    .steps = validate_steps,
    .lifecycle = ORCH_LC_VALIDATE,
};
const orch_workflow_def_t orch_wf_reconcile_l2vpn = {
    .name = "reconcile_l2vpn",
    .description = "Reconcile an L2VPN with the network",
    .target = ORCH_TARGET_RECONCILE,
    .version = 1,
    .steps = reconcile_l2vpn_steps,
    .lifecycle = ORCH_LC_RECONCILE,
};

const orch_wf_entry_t orch_wf_lifecycle_all[] = {ORCH_WF_ENTRY(orch_wf_modify_note),

                                                 ORCH_WF_ENTRY(orch_wf_create_l2vpn),
                                                 ORCH_WF_ENTRY(orch_wf_modify_l2vpn),
                                                 ORCH_WF_ENTRY(orch_wf_terminate_l2vpn),
                                                 ORCH_WF_ENTRY(orch_wf_validate_l2vpn),
                                                 ORCH_WF_ENTRY(orch_wf_reconcile_l2vpn),

                                                 {0}};
