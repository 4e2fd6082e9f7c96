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
    orch_product_module_core_link, orch_product_module_l2vpn;
static const orch_product_module_t *const modules[] = {
    &orch_product_module_node, &orch_product_module_port, &orch_product_module_core_link,
    &orch_product_module_l2vpn, NULL};

void orch_catalog_load_example(orch_catalog_t *cat)
{
    char symbol[32];
    size_t nb = 0, np = 0;
    for (size_t m = 0; modules[m]; m++)
        for (const orch_block_def_t *b = modules[m]->blocks; b && b->name; b++) {
            snprintf(symbol, sizeof(symbol), "blocks[%zu]", nb++);
            orch_catalog_add_block_from(cat, b, symbol, __FILE__);
        }
    for (size_t m = 0; modules[m]; m++)
        for (const orch_product_def_t *p = modules[m]->products; p && p->name; p++) {
            snprintf(symbol, sizeof(symbol), "products[%zu]", np++);
            orch_catalog_add_product_from(cat, p, symbol, __FILE__);
        }
}
