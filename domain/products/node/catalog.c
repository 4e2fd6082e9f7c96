/* The Node product's catalogue part (node.h): a network node (router or switch), one product
 * per vendor, told apart by the node_type fixed input. */
#include "domain/products/node/node.h"
#include "domain/products/products.h"

static const char *const node_status_choices[] = {"provisioning", "active", "planned",
                                                  "decommissioned", NULL};

static const orch_field_def_t node_fields[] = {
    {"role_id", ORCH_FIELD_INTEGER, true, false, "Role of the node in the network (netbox role id)",
     NULL},
    {"type_id", ORCH_FIELD_INTEGER, true, false, "Device type id", NULL},
    {"site_id", ORCH_FIELD_INTEGER, true, false, "Site the node is installed at", NULL},
    {"node_status", ORCH_FIELD_STRING, true, false, "Operational status of the node",
     node_status_choices},
    {"node_name", ORCH_FIELD_STRING, true, false, "Unique host name of the node", NULL},
    {"node_description", ORCH_FIELD_STRING, false, false, "Free text description", NULL},
    ORCH_FIELD_IMS_ID,
    ORCH_FIELD_NRM_ID,
    {"ipv4_ipam_id", ORCH_FIELD_INTEGER, true, false, "IPAM id of the IPv4 loopback", NULL},
    {"ipv6_ipam_id", ORCH_FIELD_INTEGER, true, false, "IPAM id of the IPv6 loopback", NULL},
    {0},
};

const orch_block_def_t orch_node_blocks[] = {
    {"NodeBlock", "A network node (router or switch)", "NODE", node_fields, NULL},
    {0},
};

static const orch_workflow_ref_t node_workflows[] = {
    ORCH_PRODUCT_WORKFLOW_REFS("node", "node"),
    {"move_node", ORCH_TARGET_MODIFY, "Move node to another site"},
    {0},
};

const orch_product_def_t orch_node_products[] = {
    {"node Cisco", "Cisco network node", "Node", "NODE", ORCH_PRODUCT_ACTIVE, "NodeBlock",
     ORCH_FIXED_INPUTS({"node_type", "Cisco"}), node_workflows},
    {"node Nokia", "Nokia network node", "Node", "NODE", ORCH_PRODUCT_ACTIVE, "NodeBlock",
     ORCH_FIXED_INPUTS({"node_type", "Nokia"}), node_workflows},
    {"node Cumulus", "Cumulus Linux network node", "Node", "NODE", ORCH_PRODUCT_ACTIVE, "NodeBlock",
     ORCH_FIXED_INPUTS({"node_type", "Cumulus"}), node_workflows},
    {"node FRR", "FRRouting network node", "Node", "NODE", ORCH_PRODUCT_ACTIVE, "NodeBlock",
     ORCH_FIXED_INPUTS({"node_type", "FRR"}), node_workflows},
    {0},
};
