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
    const char *p[3] = {product_id, description, status ? orch_product_status_name(status) : NULL};
    long long end_us = 0;
    orch_err_t rc =
        db__exec_ll(tx->conn,
                    "UPDATE products SET description = coalesce($2, description), "
                    "status = coalesce($3, status), "
                    "end_time = CASE WHEN $3 IS NULL THEN end_time WHEN $3 = 'end of life' "
                    "THEN coalesce(end_time, now()) ELSE NULL END "
                    "WHERE product_id = $1 "
                    "RETURNING " US("end_time"),
                    3, p, &end_us, err);
    *end_time_us = end_us;
    return rc ? rc : db_exec(tx->conn, "NOTIFY " CATALOG_CHANNEL, NULL, err);
}

orch_err_t db__catalog_refresh(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               orch_catalog_t *cat, orch_error_t *err)
{
    db__no_tx(tx);
    db_conn_ref_t r = {0};
    PGresult *res = NULL;
    orch_err_t rc;

    rc = db__conn_get(st, NULL, ctx, &r, err);
    if (rc)
        return rc;
    /* Read and apply under the change lock: see orch_catalog_change_lock. */
    orch_catalog_change_lock(cat);
    rc = db_exec(r.c, "SELECT product_id, status, description, " US("end_time") " FROM products",
                 &res, err);
    if (!rc) {
        for (int i = 0; i < PQntuples(res); i++) {
            const orch_product_t *p = orch_catalog_find_product_id(cat, PQgetvalue(res, i, 0));
            if (p)
                orch_catalog_product_apply(cat, p, orch_product_status_parse(PQgetvalue(res, i, 1)),
                                           PQgetvalue(res, i, 2), db__llv(res, i, 3));
        }
    }
    orch_catalog_change_unlock(cat);
    PQclear(res);
    db__conn_put(&r);
    return rc;
}
