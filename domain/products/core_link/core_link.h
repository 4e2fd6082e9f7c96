/* The CoreLink example product (a module of domain/products/, products.h): a link between two
 * nodes in the core. The catalogue part (catalog.c) and the workflows (workflows.c). */
#ifndef ORCH_PRODUCTS_CORE_LINK_H
#define ORCH_PRODUCTS_CORE_LINK_H

#include "domain/catalog/catalog.h"

/* CorePortBlock and CoreLinkBlock, and the core link products (10G, 100G), {0}-terminated. */
extern const orch_block_def_t orch_core_link_blocks[];
extern const orch_product_def_t orch_core_link_products[];

#endif
