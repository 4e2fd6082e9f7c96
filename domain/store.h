/* The storage interface of the domain: a table of functions (like Redis's ConnectionType),
 * so that the domain never sees SQL. db/ implements it with PostgreSQL. Every function is
 * thread-safe and reports failures as project errors (UNAVAILABLE with reason
 * DATABASE_UNAVAILABLE when the database cannot be reached). */
#ifndef ORCH_STORE_H
#define ORCH_STORE_H

#include "catalog/catalog.h"
#include "ctx.h"
#include "errors.h"

typedef struct orch_store orch_store_t;

typedef struct orch_store_ops {
    void (*free)(orch_store_t *st);
    /* Is the database reachable right now? */
    orch_err_t (*ping)(orch_store_t *st, const orch_ctx_t *ctx, orch_error_t *err);
    /* Makes the database hold the catalogue (idempotent, safe with concurrent replicas),
     * and fills in the catalogue's ids and times from it. */
    orch_err_t (*catalog_sync)(orch_store_t *st, const orch_ctx_t *ctx, orch_catalog_t *cat,
                               orch_error_t *err);
} orch_store_ops_t;

struct orch_store {
    const orch_store_ops_t *ops;
};

static inline void orch_store_free(orch_store_t *st)
{
    if (st)
        st->ops->free(st);
}

#endif
