/* Units of work and request-id idempotency. A transaction holds one pooled connection from
 * begin to commit/rollback; every store call that takes a tx runs on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "db/store_internal.h"

orch_err_t db__tx_begin(orch_store_t *st, const orch_ctx_t *ctx, orch_tx_t **out, orch_error_t *err)
{
    db_store_t *s = (db_store_t *)st;
    orch_tx_t *tx;
    db_conn_t *c = NULL;
    orch_err_t rc;

    *out = NULL;
    rc = db_pool_acquire(s->pool, ctx, DB_ACQUIRE_TIMEOUT_MS, &c, err);
    if (rc)
        return rc;
    /* BEGIN travels with the first statement (db/pool.c): one round trip less per unit of
     * work. */
    c->begin_pending = true;
    tx = orch_calloc(1, sizeof(*tx));
    tx->store = s;
    tx->conn = c;
    *out = tx;
    return ORCH_OK;
}

orch_err_t db__tx_begin_lazy(orch_store_t *st, const orch_ctx_t *ctx, orch_tx_t **out,
                             orch_error_t *err)
{
    return db__tx_begin(st, ctx, out, err); /* every unit of work begins lazily */
}

bool db__tx_used(const orch_tx_t *tx)
{
    return tx && !tx->conn->begin_pending;
}

void db__tx_changed(orch_tx_t *tx, const char *subscription_id)
{
    for (size_t i = 0; i < tx->nchanged; i++)
        if (strcmp(tx->changed[i], subscription_id) == 0)
            return;
    if (tx->nchanged == tx->capchanged) {
        tx->capchanged = tx->capchanged ? tx->capchanged * 2 : 4;
        tx->changed = orch_realloc(tx->changed, tx->capchanged * sizeof(char *));
    }
    tx->changed[tx->nchanged++] = orch_strdup(subscription_id);
    if (tx->store->sub_changed)
        tx->store->sub_changed(tx->store->sub_changed_arg, &subscription_id, 1, true);
}

void db__tx_changed_flush(orch_tx_t *tx)
{
    if (tx->nchanged && tx->store->sub_changed)
        tx->store->sub_changed(tx->store->sub_changed_arg, (const char *const *)tx->changed,
                               tx->nchanged, false);
    for (size_t i = 0; i < tx->nchanged; i++)
        free(tx->changed[i]);
    free(tx->changed);
    tx->changed = NULL;
    tx->nchanged = tx->capchanged = 0;
}

orch_err_t db__tx_commit(orch_tx_t *tx, orch_error_t *err)
{
    /* Nothing to send when nothing ran, or when the COMMIT went with the last statement
     * (db__tx_commit_with_next). */
    orch_err_t rc = tx->conn->begin_pending || tx->conn->ended
                        ? ORCH_OK
                        : db_exec(tx->conn, "COMMIT", NULL, err);
    db_pool_release(tx->store->pool, tx->conn); /* rolls back if COMMIT failed */
    /* After COMMIT: a read that starts now sees the change, and finds no cached copy. */
    db__tx_changed_flush(tx);
    free(tx);
    return rc;
}

void db__tx_commit_with_next(orch_tx_t *tx)
{
    tx->conn->commit_after = true;
}

void db__tx_rollback(orch_tx_t *tx)
{
    if (!tx)
        return;
    db_pool_release(tx->store->pool, tx->conn); /* rolls back an open transaction */
    db__tx_changed_flush(tx); /* nothing changed; a spurious drop costs one reload */
    free(tx);
}

orch_err_t db__tx_end(orch_tx_t *tx, orch_err_t rc, orch_error_t *err)
{
    if (!rc)
        return db__tx_commit(tx, err);
    db__tx_rollback(tx);
    return rc;
}

static void hex32(const unsigned char h[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

orch_err_t db__idem_claim(orch_tx_t *tx, const char *request_id, const char *method,
                          const unsigned char hash[32], orch_idem_t *state,
                          unsigned char **response, size_t *len, orch_error_t *err)
{
    PGresult *res = NULL;
    char hx[65];
    const char *p[3];
    bool one;
    orch_err_t rc;

    *state = ORCH_IDEM_NEW;
    *response = NULL;
    *len = 0;
    hex32(hash, hx);
    p[0] = request_id;
    p[1] = method;
    p[2] = hx;
    /* A concurrent duplicate blocks on the primary key until the first transaction ends;
     * then it either inserts (the first rolled back) or sees the stored row. */
    rc = db__exec_one(tx->conn,
                      "INSERT INTO request_ids (request_id, method, request_hash) "
                      "VALUES ($1, $2, decode($3, 'hex')) ON CONFLICT (request_id) DO NOTHING",
                      3, p, &one, err);
    if (rc || one)
        return rc;
    rc = db_execp(tx->conn,
                  "SELECT method = $2 AND request_hash = decode($3, 'hex'), "
                  "encode(coalesce(response, ''::bytea), 'hex') "
                  "FROM request_ids WHERE request_id = $1",
                  3, p, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return orch_error_set(err, ORCH_ABORTED, "CONCURRENT_UPDATE",
                              "request_id %s is being used by a concurrent request; retry",
                              request_id);
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        *state = ORCH_IDEM_MISMATCH;
    } else {
        const char *h = PQgetvalue(res, 0, 1);
        size_t n = strlen(h) / 2;
        *response = orch_malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++) {
            unsigned v;
            sscanf(h + 2 * i, "%2x", &v);
            (*response)[i] = (unsigned char)v;
        }
        *len = n;
        *state = ORCH_IDEM_REPLAY;
    }
    PQclear(res);
    return ORCH_OK;
}

orch_err_t db__idem_record(orch_tx_t *tx, const char *request_id, const unsigned char *response,
                           size_t len, orch_error_t *err)
{
    char *hx = orch_malloc(len * 2 + 1);
    const char *p[2] = {request_id, hx};
    orch_err_t rc;

    for (size_t i = 0; i < len; i++)
        snprintf(hx + 2 * i, 3, "%02x", response[i]);
    hx[len * 2] = '\0';
    rc = db_execp(tx->conn,
                  "UPDATE request_ids SET grpc_code = 0, response = decode($2, 'hex') "
                  "WHERE request_id = $1",
                  2, p, NULL, err);
    free(hx);
    return rc;
}
