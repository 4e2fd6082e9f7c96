/* Reading process events for streams. Per process, sequences are contiguous and assigned
 * under the process row's lock, so "sequence > k" misses nothing. Across processes the
 * order is (tx_id, event_id), read only below the oldest transaction still in flight
 * (pg_snapshot_xmin), so an event that commits late is never skipped by a cursor that
 * already moved past a later one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "db/filter_sql.h"
#include "db/sql.h"
#include "db/store_internal.h"

#define EV_COLS                                                                                    \
    "e.process_id, e.sequence, e.kind, "                                                           \
    "(extract(epoch FROM e.event_time) * 1000000)::bigint, e.payload::text, "                      \
    "e.tx_id::text || ':' || e.event_id::text"

/* fields: the filter columns read after EV_COLS (events_global), else NULL. */
static orch_err_t rows_to_events(PGresult *res, const db_filter_column_t *fields,
                                 orch_event_t **out, size_t *n)
{
    int rows = PQntuples(res);
    *out = orch_calloc((size_t)rows + 1, sizeof(orch_event_t));
    for (int i = 0; i < rows; i++) {
        orch_event_t *e = &(*out)[i];
        snprintf(e->process_id, sizeof(e->process_id), "%s", PQgetvalue(res, i, 0));
        e->sequence = db__llv(res, i, 1);
        snprintf(e->kind, sizeof(e->kind), "%s", PQgetvalue(res, i, 2));
        e->time_us = db__llv(res, i, 3);
        e->payload = json_loads(PQgetvalue(res, i, 4), 0, NULL);
        if (!e->payload)
            e->payload = json_object();
        snprintf(e->cursor, sizeof(e->cursor), "%s", PQgetvalue(res, i, 5));
        if (fields) {
            e->fields = json_object();
            for (int f = 0; fields[f].field; f++)
                json_object_set_new(e->fields, fields[f].field,
                                    PQgetisnull(res, i, 6 + f)
                                        ? json_null()
                                        : json_string(PQgetvalue(res, i, 6 + f)));
        }
    }
    *n = (size_t)rows;
    return ORCH_OK;
}

orch_err_t db__tx_snapshot(orch_tx_t *tx, orch_error_t *err)
{
    return db_exec(tx->conn, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", NULL,
                   err);
}

/* The last event sequence of one process or subscription (table: processes or
 * subscriptions, key: its id column), in tx when given. */
static orch_err_t last_seq(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, const char *sql,
                           const char *id, const char *reason, const char *what, int64_t *seq,
                           orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc;

    *seq = 0;
    rc = db__query(st, tx, ctx, sql, 1, (const char *[]){id}, &res, err);
    if (!rc && PQntuples(res) != 1)
        rc = orch_error_set(err, ORCH_NOT_FOUND, reason, "no %s has id %s", what, id);
    if (!rc)
        *seq = db__llv(res, 0, 0);
    PQclear(res);
    return rc;
}

/* Up to limit events after sequence `after`, in order, read with sql ($1 id, $2 after,
 * $3 limit, columns as EV_COLS). `after` goes in as (SELECT $2), for the reason given in
 * db__events_global: one plan kept per session instead of one made per read. */
static orch_err_t events_after(orch_store_t *st, const orch_ctx_t *ctx, const char *sql,
                               const char *id, int64_t after, int limit, orch_event_t **out,
                               size_t *n, orch_error_t *err)
{
    PGresult *res = NULL;
    const char *p[3] = {id, DB_INT(after), DB_INT(limit)};
    orch_err_t rc;

    *out = NULL;
    *n = 0;
    db_rt_kind(DB_RT_WATCH);
    rc = db__query(st, NULL, ctx, sql, 3, p, &res, err);
    if (!rc)
        rc = rows_to_events(res, NULL, out, n);
    PQclear(res);
    return rc;
}

orch_err_t db__events_seq(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                          const char *process_id, int64_t *seq, orch_error_t *err)
{
    return last_seq(st, tx, ctx, "SELECT last_event_sequence FROM processes WHERE process_id = $1",
                    process_id, "PROCESS_NOT_FOUND", "process", seq, err);
}

orch_err_t db__events_after(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *process_id, int64_t after, int limit, orch_event_t **out,
                            size_t *n, orch_error_t *err)
{
    db__no_tx(tx);
    return events_after(st, ctx,
                        "SELECT " EV_COLS " FROM process_events e WHERE e.process_id = $1 "
                        "AND e.sequence > (SELECT $2::bigint) ORDER BY e.sequence LIMIT $3::int",
                        process_id, after, limit, out, n, err);
}

static const db_filter_column_t ev_cols[] = {
    {"process_id", "p.process_id", DB_COL_UUID, NULL, NULL},
    {"status", "p.last_status", DB_COL_ENUM, db__process_statuses, NULL},
    /* Text in byte order, as the watch hub's in-memory matcher compares (event_filter.h). */
    {"workflow", "p.workflow_name COLLATE \"C\"", DB_COL_TEXT, NULL, NULL},
    {"target", "p.workflow_target", DB_COL_ENUM, db__workflow_targets, NULL},
    {"is_task", "p.is_task", DB_COL_BOOL, NULL, NULL},
    {"product_id", "p.product_id", DB_COL_UUID, NULL, NULL},
    {"subscription_id", "p.subscription_id", DB_COL_UUID, NULL, NULL},
    {"customer_id", "p.customer_id COLLATE \"C\"", DB_COL_TEXT, NULL, NULL},
    {NULL, NULL, 0, NULL, NULL},
};

orch_err_t db__events_global(orch_store_t *st, orch_tx_t *outer, const orch_ctx_t *ctx,
                             const char *filter, const char *cursor, int limit, orch_event_t **out,
                             size_t *n, char out_cursor[64], orch_error_t *err)
{
    db__no_tx(outer);
    db_conn_ref_t r = {0};
    db_sql_t q;
    PGresult *res = NULL;
    long long tx = 0, id = 0;
    orch_err_t rc;

    *out = NULL;
    *n = 0;
    db_sql_init(&q);
    if (cursor && *cursor) {
        char extra;
        if (sscanf(cursor, "%lld:%lld%c", &tx, &id, &extra) != 2 || tx < 0 || id < 0) {
            rc = orch_error_invalid(err, "after_cursor",
                                    "is not a cursor this service issued; use the cursor of an "
                                    "event unchanged");
            goto out;
        }
    }
    db_rt_kind(DB_RT_WATCH);
    rc = db__conn_get(st, NULL, ctx, &r, err);
    if (rc)
        goto out;
    if (!cursor || !*cursor) {
        /* From now: below the oldest transaction in flight everything is settled. */
        rc = db_exec(r.c, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1", &res,
                     err);
        if (rc)
            goto out;
        tx = db__llv(res, 0, 0);
        id = 9223372036854775807LL;
        PQclear(res);
        res = NULL;
    }
    snprintf(out_cursor, 64, "%lld:%lld", tx, id);
    {
        int ptx = db_sql_param(&q, DB_INT(tx)), pid = db_sql_param(&q, DB_INT(id));
        /* The process's filterable fields come along, so the watch hub can match every
         * stream's filter in memory against one read. The process is looked up per event
         * row (a LATERAL that OFFSET 0 keeps from being flattened, so PostgreSQL memoizes
         * it per process, subscription and customer included): joined plainly, the
         * planner hashes the whole processes table, hot with the engine's updates, for the
         * few dozen events a NOTIFY brings; the hub runs this for every NOTIFY, and that
         * hash was 28% of PostgreSQL's time in the engine bench (bench/README.md). The
         * cursor goes in as (SELECT $n), a value the planner cannot look into, and the
         * statement runs under a generic plan (db_execp_generic): planned afresh on every
         * call, as PostgreSQL did, it cost 0.4-0.5 ms, five to ten times what running it
         * costs; the generic plan is the same index scan. */
        db_sql_append(&q, "SELECT " EV_COLS);
        for (const db_filter_column_t *f = ev_cols; f->field; f++)
            db_sql_append(&q, ", (%s)::text", f->sql);
        db_sql_append(&q,
                      " FROM process_events e CROSS JOIN LATERAL (SELECT x.process_id, "
                      "x.last_status, x.is_task, x.product_id, w.name AS workflow_name, "
                      "w.target AS workflow_target, ps.subscription_id, s.customer_id "
                      "FROM processes x JOIN workflows w ON w.workflow_id = x.workflow_id "
                      "LEFT JOIN LATERAL (SELECT y.subscription_id FROM "
                      "processes_subscriptions y WHERE y.process_id = x.process_id "
                      "ORDER BY y.create_time LIMIT 1) ps ON true LEFT JOIN subscriptions s "
                      "ON s.subscription_id = ps.subscription_id "
                      "WHERE x.process_id = e.process_id OFFSET 0) p "
                      "WHERE (e.tx_id, e.event_id) > ((SELECT $%d::text::xid8), "
                      "(SELECT $%d::bigint)) "
                      "AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())",
                      ptx, pid);
    }
    rc = db_filter_compile(filter, ev_cols, &q, err);
    if (rc)
        goto out;
    db_sql_append(&q, " ORDER BY e.tx_id, e.event_id LIMIT %d", limit);
    rc = db_execp_generic(r.c, q.text, q.nparams, (const char *const *)q.params, &res, err);
    if (rc)
        goto out;
    rc = rows_to_events(res, ev_cols, out, n);
    if (!rc && *n > 0)
        snprintf(out_cursor, 64, "%s", (*out)[*n - 1].cursor);
out:
    PQclear(res);
    db__conn_put(&r);
    db_sql_cleanup(&q);
    return rc;
}

orch_err_t db__sub_events_seq(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const char *subscription_id, int64_t *seq, orch_error_t *err)
{
    return last_seq(st, tx, ctx,
                    "SELECT last_event_sequence FROM subscriptions WHERE subscription_id = $1",
                    subscription_id, "SUBSCRIPTION_NOT_FOUND", "subscription", seq, err);
}

orch_err_t db__sub_events_after(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *subscription_id, int64_t after, int limit,
                                orch_event_t **out, size_t *n, orch_error_t *err)
{
    db__no_tx(tx);
    return events_after(st, ctx,
                        "SELECT e.subscription_id, e.sequence, e.kind, "
                        "(extract(epoch FROM e.event_time) * 1000000)::bigint, e.payload::text, "
                        "e.tx_id::text || ':' || e.event_id::text FROM subscription_events e "
                        "WHERE e.subscription_id = $1 AND e.sequence > (SELECT $2::bigint) "
                        "ORDER BY e.sequence LIMIT $3::int",
                        subscription_id, after, limit, out, n, err);
}
