/* Scale-out in PostgreSQL: the replicas list (ListReplicas), the takeover of a dead
 * replica's processes, and the retry that recognises a repeat. docs/SCHEMA.md has the
 * protocols; every time is PostgreSQL's clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "db/filter_sql.h"
#include "db/sql.h"
#include "db/store_internal.h"
#include "domain/page.h"

/* The state ListReplicas shows; LOST past the takeover threshold (--replica-dead-ms). A
 * format: the threshold is the one number in it. */
#define REPLICA_STATE_FMT                                                                          \
    "(CASE WHEN r.stop_time IS NOT NULL THEN 'stopped' WHEN r.draining THEN 'draining' "           \
    "WHEN r.heartbeat_time < now() - interval '%d milliseconds' THEN 'lost' ELSE 'serving' END)"

static const char *const replica_states[] = {"serving", "draining", "lost", "stopped", NULL};

static const db_filter_column_t replica_cols_template[] = {
    {"state", NULL, DB_COL_ENUM, replica_states, NULL}, /* the state expression, set per call */
    {"hostname", "r.hostname", DB_COL_TEXT, NULL, NULL},
    {"build_version", "r.build_version", DB_COL_TEXT, NULL, NULL},
    {"heartbeat_time", "r.heartbeat_time", DB_COL_TIME, NULL, NULL},
    {"start_time", "r.start_time", DB_COL_TIME, NULL, NULL},
    {NULL, NULL, 0, NULL, NULL},
};

orch_err_t db__replica_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *filter, int page_size, const char *page_token,
                            orch_replica_page_t *out, orch_error_t *err)
{
    db__no_tx(tx);
    db_store_t *s = (db_store_t *)st;
    db_list_t l = {0};
    bool dflt = !filter || !*filter;
    db_filter_column_t replica_cols[sizeof(replica_cols_template) / sizeof(*replica_cols_template)];
    char state_sql[512];
    orch_err_t rc;

    memset(out, 0, sizeof(*out));
    snprintf(state_sql, sizeof(state_sql), REPLICA_STATE_FMT, s->replica_dead_ms);
    memcpy(replica_cols, replica_cols_template, sizeof(replica_cols));
    replica_cols[0].sql = state_sql;
    rc = db__list_begin(&l, "replicas", filter, NULL, page_token, err);
    if (rc)
        goto out;
    // clang-format off
    db_sql_append(&l.q,
                  "SELECT r.replica_id, r.hostname, coalesce(r.listen_address, ''), "
                  "r.build_version, %s, " US("r.start_time") ", "
                  US("r.heartbeat_time") ", r.worker_threads, (SELECT count(*) FROM processes p "
                  "WHERE p.lease_owner = r.replica_id AND p.lease_expires_time > now()), "
                  "(SELECT string_agg(w.name || '@' || rv.version, ',' ORDER BY w.name, "
                  "rv.version) FROM replica_workflow_versions rv JOIN workflows w USING "
                  "(workflow_id) WHERE rv.replica_id = r.replica_id), r.start_time::text "
                  "FROM replicas r WHERE true",
                  state_sql);
    // clang-format on
    db_sql_append(&l.cq, "FROM replicas r WHERE true");
    if (dflt) {
        db_sql_append(&l.q, " AND r.heartbeat_time > now() - interval '24 hours'");
        db_sql_append(&l.cq, " AND r.heartbeat_time > now() - interval '24 hours'");
    }
    rc = db__list_filter(&l, filter, replica_cols, err);
    if (rc)
        goto out;
    rc = db__list_keyset(&l, "r.start_time", "r.replica_id", page_size, err);
    if (rc)
        goto out;
    rc = db__list_run(&l, st, ctx, page_size, err);
    out->total = (long)l.total;
    if (rc)
        goto out;
    out->items = orch_calloc((size_t)l.take + 1, sizeof(*out->items));
    for (int i = 0; i < l.take; i++) {
        orch_replica_t *r = &out->items[out->n++];
        char *versions = db__dupv(l.res, i, 9);
        snprintf(r->id, sizeof(r->id), "%s", PQgetvalue(l.res, i, 0));
        r->hostname = db__dupv(l.res, i, 1);
        r->address = db__dupv(l.res, i, 2);
        r->build = db__dupv(l.res, i, 3);
        snprintf(r->state, sizeof(r->state), "%s", PQgetvalue(l.res, i, 4));
        r->start_us = db__llv(l.res, i, 5);
        r->heartbeat_us = db__llv(l.res, i, 6);
        r->workers = (int)db__llv(l.res, i, 7);
        r->running = (int)db__llv(l.res, i, 8);
        if (versions) {
            char *save = NULL;
            for (char *t = strtok_r(versions, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                r->versions = orch_realloc(r->versions, (r->nversions + 1) * sizeof(char *));
                r->versions[r->nversions++] = orch_strdup(t);
            }
            free(versions);
        }
    }
    if (l.more)
        out->next_token = db__keyset_token(l.res, l.take - 1, 10, l.binding);
out:
    db__list_cleanup(&l);
    if (rc)
        orch_replica_page_cleanup(out);
    return rc;
}

orch_err_t db__engine_takeover(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *replica_id, int dead_after_ms, int *taken,
                               orch_error_t *err)
{
    db__no_tx(tx);
    db_conn_ref_t r = {0};
    char iv[64];
    long long n = 0;
    orch_err_t rc;

    *taken = 0;
    snprintf(iv, sizeof(iv), "%d milliseconds", dead_after_ms);
    rc = db__conn_get(st, NULL, ctx, &r, err);
    if (rc)
        return rc;
    db_rt_kind(DB_RT_SWEEP);
    /* Row locks with SKIP LOCKED: replicas doing this at once split the rows; once a row is
     * taken its lease_owner is NULL, so nobody takes it twice. The token moves on, so the
     * dead replica (should it come back) has every commit refused. */
    rc = db__exec_ll(
        r.c,
        "WITH dead AS (SELECT replica_id FROM replicas WHERE replica_id <> $1 AND "
        "  stop_time IS NULL AND heartbeat_time < now() - $2::interval), "
        "t AS (SELECT process_id FROM processes WHERE lease_owner IN (SELECT replica_id FROM "
        "  dead) FOR UPDATE SKIP LOCKED), "
        "u AS (UPDATE processes p SET lease_owner = NULL, lease_expires_time = NULL, "
        "  next_run_time = now(), lease_token = p.lease_token + 1, deadline_time = NULL, "
        "  running_step_key = NULL, running_step_name = NULL, update_time = now() "
        "  FROM t WHERE p.process_id = t.process_id AND p.lease_owner IS NOT NULL "
        "  RETURNING p.process_id) "
        "SELECT count(*) FROM u",
        2, (const char *[]){replica_id, iv}, &n, err);
    *taken = (int)n;
    if (!rc && *taken)
        rc = db_exec(r.c, "SELECT pg_notify('orch_engine', '')", NULL, err);
    db__conn_put(&r);
    return rc;
}

orch_err_t db__process_retry_once(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                  const char *process_id, const char *actor, bool *already,
                                  orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    orch_err_t rc;

    *already = false;
    /* The row lock first, in a statement of its own: a concurrent retry (any replica) waits
     * here until the first one committed; the next statement's snapshot then sees what it
     * did (a subquery of the locking statement would still read the old snapshot). */
    rc = db_execp(tx->conn, "SELECT 1 FROM processes WHERE process_id = $1 FOR UPDATE", 1,
                  (const char *[]){process_id}, NULL, err);
    if (rc)
        return rc;
    rc = db_execp(tx->conn,
                  "SELECT last_status IN ('failed', 'waiting', 'api_unavailable', "
                  "'inconsistent_data'), EXISTS (SELECT 1 FROM process_events e WHERE "
                  "e.process_id = p.process_id AND e.kind = 'status_changed' AND "
                  "e.payload->>'new_status' = 'resumed' AND e.payload->>'old_status' IN "
                  "('failed', 'waiting', 'api_unavailable', 'inconsistent_data') AND NOT EXISTS "
                  "(SELECT 1 FROM process_events f WHERE f.process_id = p.process_id AND "
                  "f.kind = 'status_changed' AND f.sequence > e.sequence AND "
                  "f.payload->>'new_status' IN ('failed', 'api_unavailable', "
                  "'inconsistent_data'))) FROM processes p WHERE p.process_id = $1",
                  1, (const char *[]){process_id}, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 'f' && PQgetvalue(res, 0, 1)[0] == 't') {
        *already = true;
        PQclear(res);
        return ORCH_OK;
    }
    PQclear(res);
    return db__process_retry(st, tx, ctx, process_id, actor, err);
}
