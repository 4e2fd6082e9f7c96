/* The Port product's catalogue part (port.h): a port on a node (a reference to the node's
 * subscription), one product per speed. */
#include "domain/products/port/port.h"
#include "domain/products/products.h"

static const char *const port_mode_choices[] = {"tagged", "untagged", "link_member", NULL};

static const orch_field_def_t port_fields[] = {
    {"port_name", ORCH_FIELD_STRING, true, false, "Interface name on the node", NULL},
    {"port_type", ORCH_FIELD_STRING, true, false, "Interface type, e.g. 10GBASE-LR", NULL},
    {"port_description", ORCH_FIELD_STRING, false, false, "Interface description", NULL},
    {"port_mode", ORCH_FIELD_STRING, true, false, "tagged, untagged or link_member",
     port_mode_choices},
    {"auto_negotiation", ORCH_FIELD_BOOLEAN, true, false, "Auto negotiation enabled", NULL},
    {"lldp", ORCH_FIELD_BOOLEAN, true, false, "LLDP enabled", NULL},
    {"enabled", ORCH_FIELD_BOOLEAN, true, false, "Administratively up", NULL},
    ORCH_FIELD_IMS_ID,
    ORCH_FIELD_NRM_ID,
    {0},
};

const orch_block_def_t orch_port_blocks[] = {
    {"PortBlock", "A customer-facing port on a node", "PORT", port_fields,
     ORCH_CHILDREN(ORCH_CHILD_ON_NODE)},
    {0},
};

static const orch_workflow_ref_t port_workflows[] = {
    ORCH_PRODUCT_WORKFLOW_REFS("port", "port"),
    {0},
};

const orch_product_def_t orch_port_products[] = {
    {"port 10G", "10 Gbit/s customer port", "Port", "PORT", ORCH_PRODUCT_ACTIVE, "PortBlock",
     ORCH_FIXED_INPUTS({"speed", "10000"}), port_workflows},
    {"port 100G", "100 Gbit/s customer port", "Port", "PORT", ORCH_PRODUCT_ACTIVE, "PortBlock",
     ORCH_FIXED_INPUTS({"speed", "100000"}), port_workflows},
    {0},
};
