/* The store's table of the catalogue, reached as st->catalog: products (db/store_product.c,
 * store_catalog.c), workflows and their versions registered as data (store_process.c,
 * store_definitions.c; migration 0017), and the example products' inventory.
 * Calling convention (domain/store.h): every op takes (st, tx, ctx, ..., err); the heading
 * of each group says whether its ops need a unit of work, take one or none, or run on their
 * own. */
#ifndef ORCH_STORE_CATALOG_H
#define ORCH_STORE_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/ctx.h"
#include "base/errors.h"
#include "domain/catalog/catalog.h"
#include "domain/process.h"

typedef struct orch_store orch_store_t;
typedef struct orch_tx orch_tx_t;

/* A workflow version registered as data (migration 0017). Owned strings: free an array with
 * orch_wfdef_rows_free. */
typedef struct orch_wfdef_row {
    char *name;
    int version;
    char *definition; /* JSON text */
} orch_wfdef_row_t;
static inline void orch_wfdef_rows_free(orch_wfdef_row_t *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].name);
        free(rows[i].definition);
    }
    free(rows);
}

typedef struct orch_catalog_store {
    /* ---- In a unit of work (tx required) ---- */
    /* Takes the product's row lock for the rest of tx (NOT_FOUND if absent). */
    orch_err_t (*product_lock)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *product_id, orch_error_t *err);
    /* Counts the product's subscriptions that are not terminated. */
    orch_err_t (*product_count_live)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                     const char *product_id, long *count, orch_error_t *err);
    /* Writes description (NULL = keep) and status (UNSPECIFIED = keep) and wakes the other
     * replicas to refresh; *end_time_us gets the product's end time after it. */
    orch_err_t (*product_set)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const char *product_id, const char *description,
                              orch_product_status_t status, int64_t *end_time_us,
                              orch_error_t *err);
    /* Holds the registration lock of name until tx ends and reads what is there: the
     * highest version of name (0 = none), the latest version registered as data (its
     * definition as JSON text, caller frees, and digest; NULL / "" when none) and whether a
     * version of name is compiled into a server rather than registered as data. */
    orch_err_t (*wfdef_lock)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *name, int *max_version, char **prev, char prev_digest[65],
                             bool *in_code, orch_error_t *err);
    /* Writes the workflow (created, or its description and target updated), the version's
     * steps (reg), the definition (JSON text, digest, who registered it), the products
     * offering it; NOTIFY orch_workflow_definitions "<name>:<version>" at commit. */
    orch_err_t (*wfdef_insert)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const orch_wf_reg_t *reg, const char *definition, const char *digest,
                               const char *const *products, size_t nproducts, const char *actor,
                               orch_error_t *err);
    /* The simulated inventory / IPAM of the example workflows: the next free value of pool
     * ("ims_node", "nrm_node", "ipv4_loopback", "ipv6_loopback") taken for owner in tx, so a
     * rolled-back step leaks nothing. *value: the number allocated. */
    orch_err_t (*inventory_allocate)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                     const char *pool, const char *owner, long long *value,
                                     orch_error_t *err);

    /* ---- On their own (tx NULL) ---- */
    /* Makes the database hold the catalogue (idempotent, safe with concurrent replicas),
     * and fills in the catalogue's ids and times from it. */
    orch_err_t (*sync)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, orch_catalog_t *cat,
                       orch_error_t *err);
    /* Re-reads what may change at run time (product status, description, end time) into
     * the catalogue, e.g. after another replica changed it. */
    orch_err_t (*refresh)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                          orch_catalog_t *cat, orch_error_t *err);
    /* Workflows from the database (name order, keyset pages; filter over name, description,
     * target, is_task). ListWorkflows carries only the latest version of each. */
    orch_err_t (*workflow_list)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *filter, int page_size, const char *page_token,
                                orch_wf_info_t ***out, size_t *n, long *total, char **next_token,
                                orch_error_t *err);
    /* By id or name: every version, newest first. NOT_FOUND WORKFLOW_NOT_FOUND. */
    orch_err_t (*workflow_get)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *id, const char *name, orch_wf_info_t **out,
                               orch_error_t *err);
    /* Versions registered as data, by name and version: all (name NULL), or name's version
     * (0 = all of name's). *out: caller frees with orch_wfdef_rows_free. */
    orch_err_t (*wfdef_list)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *name, int version, orch_wfdef_row_t **out, size_t *n,
                             orch_error_t *err);
    /* The replica runs name's version from now on (replica_workflow_versions; idempotent). */
    orch_err_t (*wfdef_replica_add)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                    const char *replica_id, const char *name, int version,
                                    orch_error_t *err);
    /* How many live replicas (heartbeating, not stopped or draining) cannot run name's
     * version yet. */
    orch_err_t (*wfdef_replicas_missing)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                         const char *name, int version, long *missing,
                                         orch_error_t *err);
} orch_catalog_store_t;

#endif
