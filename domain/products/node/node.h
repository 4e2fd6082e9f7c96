/* The Node example product (a module of domain/products/, products.h): the catalogue part
 * (catalog.c) and the workflows (workflows.c) that share it. */
#ifndef ORCH_PRODUCTS_NODE_H
#define ORCH_PRODUCTS_NODE_H

#include "domain/catalog/catalog.h"
#include "domain/engine/engine.h"
#include "domain/subscription/subscription.h"

/* NodeBlock, and the four node products (Cisco, Nokia, Cumulus, FRR), {0}-terminated. */
extern const orch_block_def_t orch_node_blocks[];
extern const orch_product_def_t orch_node_products[];

/* "node ams-01 (Cisco)" from the node's name and its product's node_type: what people see in
 * lists and in the node choices of other forms (caller frees). */
char *orch_node_description(const orch_subscription_t *node);

/* move_node (move.c): a node moved to another site, the model modify workflow of
 * docs/AUTHORING.md. */
extern const orch_workflow_def_t orch_wf_move_node;

#endif
