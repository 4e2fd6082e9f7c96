/* Run-time changes to products (status, description) and the refresh that brings another
 * replica's changes into this replica's in-memory catalogue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "db/store_internal.h"

/* Replicas LISTEN on this channel and refresh their catalogue when it fires. */
#define CATALOG_CHANNEL "orch_catalog"

orch_err_t db__product_lock(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *product_id, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    const char *p[1] = {product_id};
    orch_err_t rc = db_execp(tx->conn, "SELECT 1 FROM products WHERE product_id = $1 FOR UPDATE", 1,
                             p, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) == 0)
        rc = orch_error_set(err, ORCH_NOT_FOUND, "PRODUCT_NOT_FOUND", "no product has id %s",
                            product_id);
    PQclear(res);
    return rc;
}

orch_err_t db__product_count_live(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                  const char *product_id, long *count, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    long long n;
    orch_err_t rc = db__exec_ll(tx->conn,
                                "SELECT count(*) FROM subscriptions WHERE product_id = $1 "
                                "AND status <> 'terminated'",
                                1, (const char *[]){product_id}, &n, err);
    *count = (long)n;
    return rc;
}

orch_err_t db__product_set(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                           const char *product_id, const char *description,
                           orch_product_status_t status, int64_t *end_time_us, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    const char *p[3] = {product_id, description, status ? orch_product_status_name(status) : NULL};
    orch_err_t rc =
        db_execp(tx->conn,
                 "UPDATE products SET description = coalesce($2, description), "
                 "status = coalesce($3, status), "
                 "end_time = CASE WHEN $3 IS NULL THEN end_time WHEN $3 = 'end of life' "
                 "THEN coalesce(end_time, now()) ELSE NULL END "
                 "WHERE product_id = $1 "
                 "RETURNING coalesce((extract(epoch FROM end_time) * 1000000)::bigint, 0)",
                 3, p, &res, err);
    *end_time_us = 0;
    if (rc)
        return rc;
    if (PQntuples(res) == 1)
        *end_time_us = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return db_exec(tx->conn, "NOTIFY " CATALOG_CHANNEL, NULL, err);
}

orch_err_t db__catalog_refresh(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               orch_catalog_t *cat, orch_error_t *err)
{
    db__no_tx(tx);
    db_store_t *s = (db_store_t *)st;
    db_conn_t *c = NULL;
    PGresult *res = NULL;
    orch_err_t rc;

    rc = db_pool_acquire(s->pool, ctx, DB_ACQUIRE_TIMEOUT_MS, &c, err);
    if (rc)
        return rc;
    /* Read and apply under the change lock: see orch_catalog_change_lock. */
    orch_catalog_change_lock(cat);
    rc = db_exec(c,
                 "SELECT product_id, status, description, "
                 "coalesce((extract(epoch FROM end_time) * 1000000)::bigint, 0) FROM products",
                 &res, err);
    if (!rc) {
        for (int i = 0; i < PQntuples(res); i++) {
            const orch_product_t *p = orch_catalog_find_product_id(cat, PQgetvalue(res, i, 0));
            if (p)
                orch_catalog_product_apply(cat, p, orch_product_status_parse(PQgetvalue(res, i, 1)),
                                           PQgetvalue(res, i, 2), atoll(PQgetvalue(res, i, 3)));
        }
    }
    orch_catalog_change_unlock(cat);
    PQclear(res);
    db_pool_release(s->pool, c);
    return rc;
}
