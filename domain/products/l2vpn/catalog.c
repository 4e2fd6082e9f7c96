/* The L2VPN product's catalogue part (l2vpn.h): a virtual circuit over 2 to 8 service access
 * points, each a VLAN on a port (a reference to the port's subscription). */
#include "domain/products/l2vpn/l2vpn.h"
#include "domain/products/products.h"

static const orch_field_def_t sap_fields[] = {
    {"vlan", ORCH_FIELD_INTEGER, true, false, "VLAN id on the port (0 for untagged)", NULL},
    {"ims_id", ORCH_FIELD_INTEGER, false, false, "Inventory (IMS) id", NULL},
    {0},
};

static const orch_field_def_t vc_fields[] = {
    {"speed", ORCH_FIELD_INTEGER, true, false, "Service speed in Mbit/s", NULL},
    {"speed_policer", ORCH_FIELD_BOOLEAN, true, false, "Police traffic at the service speed", NULL},
    ORCH_FIELD_IMS_ID,
    ORCH_FIELD_NRM_ID,
    {0},
};

const orch_block_def_t orch_l2vpn_blocks[] = {
    {"SAPBlock", "Service access point: a port and a VLAN", "SAP", sap_fields,
     ORCH_CHILDREN({"port", "PortBlock", 1, 1, true})},
    {"VirtualCircuitBlock", "An L2 virtual circuit between service access points", "VC", vc_fields,
     ORCH_CHILDREN({"saps", "SAPBlock", 2, 8, false})},
    {0},
};

static const orch_workflow_ref_t l2vpn_workflows[] = {
    ORCH_PRODUCT_WORKFLOW_REFS("l2vpn", "L2VPN"),
    {"reconcile_l2vpn", ORCH_TARGET_RECONCILE, "Reconcile an L2VPN with the network"},
    {0},
};

const orch_product_def_t orch_l2vpn_products[] = {
    {"l2vpn", "Layer 2 VPN between customer ports", "L2vpn", "L2VPN", ORCH_PRODUCT_ACTIVE,
     "VirtualCircuitBlock", NULL, l2vpn_workflows},
    {0},
};
