/* Loading and registering the product modules (products.h). */
#include "domain/products/products.h"

#include <stdio.h>

void orch_products_load(orch_catalog_t *cat)
{
    for (size_t m = 0; orch_product_modules[m]; m++) {
        const orch_product_module_t *mod = orch_product_modules[m];
        if (mod->example)
            continue;
        for (size_t i = 0; mod->blocks && mod->blocks[i].name; i++)
            orch_catalog_add_block(cat, &mod->blocks[i]);
        for (size_t i = 0; mod->products && mod->products[i].name; i++)
            orch_catalog_add_product(cat, &mod->products[i]);
    }
}

/* err, which the registry set, prefixed with the module's name. */
static orch_err_t module_failed(const orch_product_module_t *mod, orch_error_t *err, orch_err_t rc)
{
    char reason[64], message[512];
    snprintf(reason, sizeof(reason), "%s", err->reason);
    snprintf(message, sizeof(message), "%s", err->message);
    return orch_error_set(err, rc, reason, "product module %s: %s", mod->name, message);
}

orch_err_t orch_products_register(orch_registry_t *r, orch_error_t *err)
{
    for (size_t m = 0; orch_product_modules[m]; m++) {
        const orch_product_module_t *mod = orch_product_modules[m];
        for (size_t i = 0; mod->workflows && mod->workflows[i]; i++) {
            orch_err_t rc = orch_registry_add(r, mod->workflows[i], err);
            if (rc)
                return module_failed(mod, err, rc);
        }
        for (size_t i = 0; mod->entries && mod->entries[i].def; i++) {
            orch_err_t rc = orch_registry_add_entry(r, mod->entries[i], err);
            if (rc)
                return module_failed(mod, err, rc);
        }
    }
    return ORCH_OK;
}
