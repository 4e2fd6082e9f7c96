/* The CoreLink product's catalogue part (core_link.h): two ends (CorePortBlock), each on a
 * node (a reference to the node's subscription), one product per speed. */
#include "domain/products/core_link/core_link.h"
#include "domain/products/products.h"

static const orch_field_def_t core_port_fields[] = {
    {"port_name", ORCH_FIELD_STRING, true, false, "Interface name on the node", NULL},
    {"enabled", ORCH_FIELD_BOOLEAN, true, false, "Administratively up", NULL},
    ORCH_FIELD_IMS_ID,
    {"ipv6_ipam_id", ORCH_FIELD_INTEGER, true, false, "IPAM id of the interface address", NULL},
    {0},
};

static const orch_field_def_t core_link_fields[] = {
    ORCH_FIELD_IMS_ID,
    {"ipv6_prefix_ipam_id", ORCH_FIELD_INTEGER, true, false, "IPAM id of the link's IPv6 prefix",
     NULL},
    ORCH_FIELD_NRM_ID,
    {"under_maintenance", ORCH_FIELD_BOOLEAN, true, false, "Link drained for maintenance", NULL},
    {0},
};

const orch_block_def_t orch_core_link_blocks[] = {
    {"CorePortBlock", "One end of a core link", "CORE_PORT", core_port_fields,
     ORCH_CHILDREN(ORCH_CHILD_ON_NODE)},
    {"CoreLinkBlock", "A link between two nodes in the core", "CORE_LINK", core_link_fields,
     ORCH_CHILDREN({"ports", "CorePortBlock", 2, 2, false})},
    {0},
};

static const orch_workflow_ref_t core_link_workflows[] = {
    ORCH_PRODUCT_WORKFLOW_REFS("core_link", "core link"),
    {0},
};

const orch_product_def_t orch_core_link_products[] = {
    {"core link 10G", "10 Gbit/s core link", "CoreLink", "CORE_LINK", ORCH_PRODUCT_ACTIVE,
     "CoreLinkBlock", ORCH_FIXED_INPUTS({"speed", "10000"}), core_link_workflows},
    {"core link 100G", "100 Gbit/s core link", "CoreLink", "CORE_LINK", ORCH_PRODUCT_ACTIVE,
     "CoreLinkBlock", ORCH_FIXED_INPUTS({"speed", "100000"}), core_link_workflows},
    {0},
};
