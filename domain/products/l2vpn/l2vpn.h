/* The L2VPN example product (a module of domain/products/, products.h): a layer 2 virtual
 * circuit between service access points on customer ports. The catalogue part (catalog.c)
 * and the workflows (workflows.c). */
#ifndef ORCH_PRODUCTS_L2VPN_H
#define ORCH_PRODUCTS_L2VPN_H

#include "domain/catalog/catalog.h"

/* SAPBlock and VirtualCircuitBlock, and the l2vpn product, {0}-terminated. */
extern const orch_block_def_t orch_l2vpn_blocks[];
extern const orch_product_def_t orch_l2vpn_products[];

#endif
