/* The Port example product (a module of domain/products/, products.h): a customer-facing
 * port on a node. The catalogue part (catalog.c) and the workflows (workflows.c). */
#ifndef ORCH_PRODUCTS_PORT_H
#define ORCH_PRODUCTS_PORT_H

#include "domain/catalog/catalog.h"
#include "domain/subscription/subscription.h"

/* PortBlock, and the port products (10G, 100G), {0}-terminated. */
extern const orch_block_def_t orch_port_blocks[];
extern const orch_product_def_t orch_port_products[];

/* "port ams-01 1/1/1 10G" from the name of the port's node, its port_name and its product's
 * speed: what people see in lists and in the port choices of other forms (caller frees). */
char *orch_port_description(const orch_subscription_t *port, const char *node_name);

#endif
