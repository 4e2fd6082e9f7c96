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

/* A unit of work: one database transaction. A workflow step's commit, the subscription
 * changes it saves and the idempotency record of the call that caused it all share one, so
 * they commit together or not at all. Owned by whoever began it until commit/rollback,
 * which free it. Not thread-safe: one thread at a time. */
typedef struct orch_tx orch_tx_t;

/* What a request_id claim found (see idem_claim). */
typedef enum {
    ORCH_IDEM_NEW,      /* first time: do the work, then idem_record */
    ORCH_IDEM_REPLAY,   /* done before with the same body: answer the stored response */
    ORCH_IDEM_MISMATCH, /* used before with another method or body: refuse */
} orch_idem_t;

typedef struct orch_store_ops {
    void (*free)(orch_store_t *st);
    /* Is the database reachable right now? */
    orch_err_t (*ping)(orch_store_t *st, const orch_ctx_t *ctx, orch_error_t *err);
    /* Makes the database hold the catalogue (idempotent, safe with concurrent replicas),
     * and fills in the catalogue's ids and times from it. */
    orch_err_t (*catalog_sync)(orch_store_t *st, const orch_ctx_t *ctx, orch_catalog_t *cat,
                               orch_error_t *err);
    /* Re-reads what may change at run time (product status, description, end time) into
     * the catalogue, e.g. after another replica changed it. */
    orch_err_t (*catalog_refresh)(orch_store_t *st, const orch_ctx_t *ctx, orch_catalog_t *cat,
                                  orch_error_t *err);

    /* Units of work. commit and rollback free tx (commit also on failure). */
    orch_err_t (*tx_begin)(orch_store_t *st, const orch_ctx_t *ctx, orch_tx_t **tx,
                           orch_error_t *err);
    orch_err_t (*tx_commit)(orch_tx_t *tx, orch_error_t *err);
    void (*tx_rollback)(orch_tx_t *tx); /* NULL ok */

    /* Idempotency of state-changing calls. idem_claim records request_id for (method, hash)
     * inside tx; a concurrent duplicate waits until tx ends. On REPLAY, *response is the
     * stored answer (caller frees). idem_record stores the answer before commit. */
    orch_err_t (*idem_claim)(orch_tx_t *tx, const char *request_id, const char *method,
                             const unsigned char hash[32], orch_idem_t *state,
                             unsigned char **response, size_t *len, orch_error_t *err);
    orch_err_t (*idem_record)(orch_tx_t *tx, const char *request_id,
                              const unsigned char *response, size_t len, orch_error_t *err);

    /* Products. product_lock takes the product's row lock for the rest of tx (NOT_FOUND if
     * absent); product_count_live counts its subscriptions that are not terminated;
     * product_set writes description (NULL = keep) and status (UNSPECIFIED = keep) and
     * wakes the other replicas to refresh; *end_time_us gets the product's end time after it. */
    orch_err_t (*product_lock)(orch_tx_t *tx, const char *product_id, orch_error_t *err);
    orch_err_t (*product_count_live)(orch_tx_t *tx, const char *product_id, long *count,
                                     orch_error_t *err);
    orch_err_t (*product_set)(orch_tx_t *tx, const char *product_id, const char *description,
                              orch_product_status_t status, int64_t *end_time_us,
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
