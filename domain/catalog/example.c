/* The example catalogue shipped with the service, after orchestrator-core's example
 * orchestrator: nodes, ports, core links and L2VPNs. Each is a product module of
 * domain/products/ (its catalogue part, workflows and forms); this file loads their blocks
 * and products in the catalogue's order, so a tool or test that wants the example catalogue
 * alone (without other modules) calls orch_catalog_load_example. Workflows are attached by
 * name; the engine registers their code. */
#include <stdio.h>

#include "catalog.h"
#include "domain/products/products.h"

/* The example products' modules (each marked .example, so orch_products_load leaves their
 * catalogue part to this file), in the catalogue's order. */
extern const orch_product_module_t orch_product_module_node, orch_product_module_port,
    orch_product_module_core_link;
static const orch_product_module_t *const modules[] = {
    &orch_product_module_node, &orch_product_module_port, &orch_product_module_core_link, NULL};

#define F(n, t, req, desc)                                                                         \
    {                                                                                              \
        n, t, req, false, desc, NULL                                                               \
    }
#define REQ true
#define OPT false

static const orch_field_def_t sap_fields[] = {
    F("vlan", ORCH_FIELD_INTEGER, REQ, "VLAN id on the port (0 for untagged)"),
    F("ims_id", ORCH_FIELD_INTEGER, OPT, "Inventory (IMS) id"),
    {0},
};

static const orch_child_def_t sap_children[] = {
    {"port", "PortBlock", 1, 1, true},
    {0},
};

static const orch_field_def_t vc_fields[] = {
    F("speed", ORCH_FIELD_INTEGER, REQ, "Service speed in Mbit/s"),
    F("speed_policer", ORCH_FIELD_BOOLEAN, REQ, "Police traffic at the service speed"),
    F("ims_id", ORCH_FIELD_INTEGER, REQ, "Inventory (IMS) id"),
    F("nrm_id", ORCH_FIELD_INTEGER, REQ, "Network resource manager id"),
    {0},
};

static const orch_child_def_t vc_children[] = {
    {"saps", "SAPBlock", 2, 8, false},
    {0},
};

static const orch_block_def_t blocks[] = {
    {"SAPBlock", "Service access point: a port and a VLAN", "SAP", sap_fields, sap_children},
    {"VirtualCircuitBlock", "An L2 virtual circuit between service access points", "VC", vc_fields,
     vc_children},
};

#define LIFECYCLE(kind, what)                                                                      \
    {"create_" kind, ORCH_TARGET_CREATE, "Create " what},                                          \
        {"modify_" kind, ORCH_TARGET_MODIFY, "Modify " what},                                      \
        {"terminate_" kind, ORCH_TARGET_TERMINATE, "Terminate " what},                             \
        {"validate_" kind, ORCH_TARGET_VALIDATE, "Validate " what},                                \
    {                                                                                              \
        "modify_note", ORCH_TARGET_MODIFY, "Modify the note of a subscription"                     \
    }

static const orch_workflow_ref_t l2vpn_workflows[] = {
    // clang-format off
    LIFECYCLE("l2vpn", "L2VPN"),
    {"reconcile_l2vpn", ORCH_TARGET_RECONCILE, "Reconcile an L2VPN with the network"},
    {0}};
// clang-format on

static const orch_product_def_t products[] = {
    {"l2vpn", "Layer 2 VPN between customer ports", "L2vpn", "L2VPN", ORCH_PRODUCT_ACTIVE,
     "VirtualCircuitBlock", NULL, l2vpn_workflows},
};

void orch_catalog_load_example(orch_catalog_t *cat)
{
    char symbol[32];
    size_t nb = 0, np = 0;
    for (size_t m = 0; modules[m]; m++)
        for (const orch_block_def_t *b = modules[m]->blocks; b && b->name; b++) {
            snprintf(symbol, sizeof(symbol), "blocks[%zu]", nb++);
            orch_catalog_add_block_from(cat, b, symbol, __FILE__);
        }
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
        snprintf(symbol, sizeof(symbol), "blocks[%zu]", nb++);
        orch_catalog_add_block_from(cat, &blocks[i], symbol, __FILE__);
    }
    for (size_t m = 0; modules[m]; m++)
        for (const orch_product_def_t *p = modules[m]->products; p && p->name; p++) {
            snprintf(symbol, sizeof(symbol), "products[%zu]", np++);
            orch_catalog_add_product_from(cat, p, symbol, __FILE__);
        }
    for (size_t i = 0; i < sizeof(products) / sizeof(products[0]); i++) {
        snprintf(symbol, sizeof(symbol), "products[%zu]", np++);
        orch_catalog_add_product_from(cat, &products[i], symbol, __FILE__);
    }
}
