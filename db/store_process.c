/* The workflow engine in PostgreSQL: replicas and their workflow versions, the claim /
 * lease / fencing protocol, the fenced step commit with its audit row and events, the
 * process reads and lists, the operator actions (retry, abort, delete, note, bulk resume),
 * the global pause switch and the simulated inventory. docs/SCHEMA.md has the protocols. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "db/filter_sql.h"
#include "db/json_out.h"
#include "db/order_sql.h"
#include "db/sql.h"
#include "db/step_sql.h"
#include "db/store_internal.h"
#include "domain/page.h"

/* A replica is alive while it heartbeats (every second or so) and has not stopped. */
#define ALIVE(r)                                                                                   \
    "(" r ".stop_time IS NULL AND " r ".heartbeat_time > now() - interval '15 seconds')"

/* ---- helpers --------------------------------------------------------------------------------- */

static json_t *jsonv(PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, NULL);
}

static char *json_text(const json_t *j)
{
    return j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

/* ---- replicas and versions ------------------------------------------------------------------- */

/* The engine protocol this build speaks (replicas.engine_protocol, 0023): 1, it reads a
 * process's state through orch_state_of (the row's state and the deltas after it, 0022). */
#define DB_ENGINE_PROTOCOL "1"
/* May steps be committed as deltas? Only while no live replica (ALIVE) speaks an earlier
 * protocol: one of a release before the state tail would resume, fail or abort a lagging
 * process from a stale state. */
#define TAIL_OK                                                                                    \
    "NOT EXISTS (SELECT 1 FROM replicas o WHERE o.engine_protocol < " DB_ENGINE_PROTOCOL           \
    " AND " ALIVE("o") ")"

orch_err_t db__engine_register(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *hostname, const char *build, const char *address,
                               int workers, const orch_wf_reg_t *wfs, size_t nwfs, char *replica_id,
                               bool *tail_ok, orch_error_t *err)
{
    db__no_tx(tx);
    db_conn_ref_t r;
    PGresult *res = NULL;
    orch_err_t rc;

    replica_id[0] = '\0';
    *tail_ok = false;
    rc = db__conn_get(st, NULL, ctx, &r, err);
    if (rc)
        return rc;
    rc = db_exec(r.c, "BEGIN", NULL, err);
    if (rc)
        goto out;
    {
        const char *p[5] = {hostname, DB_INT(getpid()), build, address, DB_INT(workers)};
        rc = db_execp(
            r.c,
            "INSERT INTO replicas (hostname, pid, build_version, listen_address, "
            "worker_threads, engine_protocol) VALUES ($1, $2, $3, $4, $5, " DB_ENGINE_PROTOCOL
            ") RETURNING replica_id, " TAIL_OK,
            5, p, &res, err);
        if (rc)
            goto out;
        snprintf(replica_id, 37, "%s", PQgetvalue(res, 0, 0));
        *tail_ok = db__boolv(res, 0, 1);
        PQclear(res);
        res = NULL;
    }
    for (size_t i = 0; i < nwfs; i++) {
        const orch_wf_reg_t *w = &wfs[i];
        const char *ver = DB_INT(w->version);
        const char *p[7] = {w->name,
                            w->target,
                            w->description ? w->description : "",
                            w->is_task ? "true" : "false",
                            ver,
                            w->steps_json,
                            w->digest};
        rc = db_execp(r.c,
                      "INSERT INTO workflows (name, target, description, is_task) "
                      "VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                      4, p, NULL, err);
        if (rc)
            goto out;
        rc = db_execp(r.c,
                      "INSERT INTO workflow_versions (workflow_id, version, steps, steps_digest) "
                      "SELECT workflow_id, $2, $3::jsonb, $4 FROM workflows WHERE name = $1 "
                      "ON CONFLICT DO NOTHING",
                      4, (const char *[]){w->name, ver, w->steps_json, w->digest}, NULL, err);
        if (rc)
            goto out;
        rc = db_execp(r.c,
                      "SELECT v.steps_digest = $3 FROM workflow_versions v JOIN workflows w "
                      "USING (workflow_id) WHERE w.name = $1 AND v.version = $2",
                      3, (const char *[]){w->name, ver, w->digest}, &res, err);
        if (rc)
            goto out;
        if (PQntuples(res) != 1 || !db__boolv(res, 0, 0)) {
            rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "WORKFLOW_VERSION_MISMATCH",
                                "version %d of workflow %s is registered in the database with "
                                "other steps than this build has; give the changed workflow a "
                                "new version",
                                w->version, w->name);
            goto out;
        }
        PQclear(res);
        res = NULL;
        rc = db_execp(r.c,
                      "INSERT INTO replica_workflow_versions (replica_id, workflow_id, version) "
                      "SELECT $3, workflow_id, $2 FROM workflows WHERE name = $1",
                      3, (const char *[]){w->name, ver, replica_id}, NULL, err);
        if (rc)
            goto out;
    }
    rc = db_exec(r.c, "COMMIT", NULL, err);
out:
    PQclear(res);
    if (rc)
        replica_id[0] = '\0';
    db__conn_put(&r); /* rolls back an open transaction */
    return rc;
}

orch_err_t db__engine_heartbeat(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *replica_id, int lease_ms, const char (*held)[37],
                                size_t nheld, bool *paused, bool *tail_ok, orch_error_t *err)
{
    db__no_tx(tx);
    db_conn_ref_t r;
    PGresult *res = NULL;
    char iv[64];
    char *ids = NULL;
    orch_err_t rc;

    *paused = false;
    *tail_ok = false;
    db__ms_interval(iv, sizeof(iv), lease_ms);
    {
        const char **v = orch_calloc(nheld + 1, sizeof(*v));
        for (size_t i = 0; i < nheld; i++)
            v[i] = held[i];
        ids = db__array(v, nheld);
        free(v);
    }
    db_rt_kind(DB_RT_HEARTBEAT);
    rc = db__conn_get(st, NULL, ctx, &r, err);
    if (rc)
        goto out;
    /* The heartbeat, the pause switch (refreshing the engine's memory of it even when a
     * notification was lost), the fold of the process status counts' deltas (migration 0024; one
     * replica at a time, the others skip it), and the renewal of what we hold, in one round trip:
     * never past a step's deadline (a hung step loses its lease there), and only the processes our
     * workers hold in memory: a claim whose answer was lost with its connection (no worker of ours
     * knows it) must end with its first lease, not live as long as we do. A row locked right now is
     * skipped: it is one of ours being committed, and that commit renews or ends its lease itself.
     * Waiting for it instead deadlocked against a group commit holding the same rows in another
     * order (PostgreSQL's "deadlock detected", found only after deadlock_timeout, a second in which
     * neither side moved). */
    rc = db_execp(r.c,
                  "WITH h AS (UPDATE replicas SET heartbeat_time = now() WHERE replica_id = $1), "
                  "k AS (SELECT process_id FROM processes WHERE lease_owner = $1 "
                  "AND lease_expires_time > now() AND process_id = ANY ($3::uuid[]) "
                  "FOR UPDATE SKIP LOCKED), "
                  "l AS (UPDATE processes p SET lease_expires_time = least(now() + $2::interval, "
                  "coalesce(p.deadline_time, 'infinity')), next_run_time = least(now() + "
                  "$2::interval, coalesce(p.deadline_time, 'infinity')) "
                  "FROM k WHERE p.process_id = k.process_id) "
                  "SELECT paused, " TAIL_OK ", orch_process_status_fold() FROM engine_settings",
                  3, (const char *[]){replica_id, iv, ids}, &res, err);
    if (rc)
        goto out;
    *paused = PQntuples(res) == 1 && db__boolv(res, 0, 0);
    *tail_ok = PQntuples(res) == 1 && db__boolv(res, 0, 1);
    PQclear(res);
    res = NULL;
    /* Steps that overran their time-out: failed, by whichever replica sees it first, with
     * a failed audit row for the step that was running. */
    db_rt_kind(DB_RT_SWEEP);
    // clang-format off
    rc = db_exec(
        r.c,
        "WITH t AS (SELECT process_id FROM processes WHERE deadline_time < now() AND runnable "
        "  FOR UPDATE SKIP LOCKED), "
        "u AS (UPDATE processes p SET last_status = 'failed', runnable = false, "
        "  next_run_time = NULL, lease_owner = NULL, lease_expires_time = NULL, "
        "  lease_token = p.lease_token + 1, deadline_time = NULL, retry_count = p.retry_count + 1, "
        "  failed_reason = 'Step ' || coalesce(p.running_step_key, '?') || "
        "    ' overran its time-out', "
        "  failed_details = jsonb_build_object('reason', 'STEP_TIMEOUT'), update_time = now(), "
        "  last_event_sequence = p.last_event_sequence + 1 "
        "  FROM t WHERE p.process_id = t.process_id "
        "  RETURNING p.process_id, p.running_step_key, p.running_step_name, "
        "    p.last_event_sequence, p.failed_reason), "
        "s AS (INSERT INTO process_steps (process_id, sequence, step_key, name, status, state, "
        "  error, executed_by) SELECT u.process_id, " DB_NEXT_STEP_SEQ("u.process_id") ", "
        "  coalesce(u.running_step_key, 'unknown'), coalesce(u.running_step_name, 'unknown'), "
        "  'failed', " DB_LAST_STATE("u.process_id") ", "
        "  jsonb_build_object('reason', 'STEP_TIMEOUT', 'message', u.failed_reason, "
        "  'details', '{}'::jsonb), 'engine' FROM u) "
        "INSERT INTO process_events (process_id, sequence, kind, payload) "
        "SELECT process_id, last_event_sequence, 'status_changed', jsonb_build_object("
        "'old_status', 'running', 'new_status', 'failed', 'step_key', running_step_key) FROM u; "
    /* ... and, in the same round trip (one simple-protocol string), due processes whose
     * workflow version no live replica has: failed with a clear reason (the claim query of
     * every replica skips them). */
        "WITH t AS (SELECT p.process_id FROM processes p WHERE p.runnable "
        "  AND p.next_run_time <= now() - interval '1 second' AND NOT EXISTS (SELECT 1 FROM "
        "  replica_workflow_versions rv JOIN replicas r USING (replica_id) WHERE "
        "  rv.workflow_id = p.workflow_id AND rv.version = p.workflow_version AND " ALIVE("r") ") "
        "  FOR UPDATE OF p SKIP LOCKED), "
        "u AS (UPDATE processes p SET last_status = 'failed', runnable = false, "
        "  next_run_time = NULL, lease_owner = NULL, lease_expires_time = NULL, "
        "  lease_token = p.lease_token + 1, deadline_time = NULL, update_time = now(), "
        "  failed_reason = 'No running replica has version ' || p.workflow_version || "
        "  ' of workflow ' || (SELECT name FROM workflows w WHERE w.workflow_id = p.workflow_id) "
        "  || ', which this process started with; deploy a build that registers it and retry', "
        "  failed_details = jsonb_build_object('reason', 'WORKFLOW_VERSION_UNAVAILABLE', "
        "  'version', p.workflow_version), "
        "  last_event_sequence = p.last_event_sequence + 1 "
        "  FROM t WHERE p.process_id = t.process_id "
        "  RETURNING p.process_id, p.last_event_sequence) "
        "INSERT INTO process_events (process_id, sequence, kind, payload) "
        "SELECT process_id, last_event_sequence, 'status_changed', jsonb_build_object("
        "'new_status', 'failed', 'reason', 'WORKFLOW_VERSION_UNAVAILABLE') FROM u",
        NULL, err);
    // clang-format on
out:
    PQclear(res);
    db__conn_put(&r);
    free(ids);
    return rc;
}

orch_err_t db__engine_stop(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                           const char *replica_id, orch_error_t *err)
{
    db__no_tx(tx);
    db_conn_ref_t r;
    const char *p[1] = {replica_id};
    orch_err_t rc = db__conn_get(st, NULL, ctx, &r, err);
    if (rc)
        return rc;
    rc = db_execp(r.c,
                  "UPDATE replicas SET draining = true, stop_time = now() WHERE replica_id = $1", 1,
                  p, NULL, err);
    if (!rc)
        rc = db_execp(r.c,
                      "UPDATE processes SET lease_owner = NULL, lease_expires_time = NULL, "
                      "next_run_time = now(), lease_token = lease_token + 1, deadline_time = "
                      "NULL, running_step_key = NULL, running_step_name = NULL "
                      "WHERE lease_owner = $1",
                      1, p, NULL, err);
    if (!rc)
        rc = db_execp(r.c, "DELETE FROM replica_workflow_versions WHERE replica_id = $1", 1, p,
                      NULL, err);
    if (!rc)
        rc = db_exec(r.c, "SELECT pg_notify('orch_engine', '')", NULL, err);
    db__conn_put(&r);
    return rc;
}

/* ---- claim, step, commit --------------------------------------------------------------------- */

/* "{a,b}" (a text[] as PostgreSQL prints it, keys are plain identifiers with dots) into
 * an array; *out: owned strings. */
static void parse_keys(const char *txt, char ***out, size_t *n)
{
    size_t cap = 8;
    *out = orch_calloc(cap, sizeof(char *));
    *n = 0;
    if (!txt || *txt != '{')
        return;
    txt++;
    while (*txt && *txt != '}') {
        char buf[512];
        size_t len = 0;
        bool quoted = *txt == '"';
        if (quoted)
            txt++;
        while (*txt && (quoted ? *txt != '"' : (*txt != ',' && *txt != '}'))) {
            if (quoted && *txt == '\\' && txt[1])
                txt++;
            if (len + 1 < sizeof(buf))
                buf[len++] = *txt;
            txt++;
        }
        if (quoted && *txt == '"')
            txt++;
        buf[len] = '\0';
        if (*n + 1 >= cap) {
            cap *= 2;
            *out = orch_realloc(*out, cap * sizeof(char *));
        }
        (*out)[(*n)++] = orch_strdup(buf);
        if (*txt == ',')
            txt++;
    }
}

static const char CLAIM_SQL[] =
    "WITH c AS (SELECT ctid AS tid, process_id, last_status AS old_status, "
    "       next_step_key IS NOT NULL AS "
    "       known, now() + make_interval(secs => coalesce(next_step_timeout_ms, 0) / "
    "       1000.0) AS deadline FROM processes "
    "       WHERE runnable AND next_run_time <= now() "
    "         AND (deadline_time IS NULL OR deadline_time > now()) "
    "         AND EXISTS (SELECT 1 FROM replica_workflow_versions v "
    "               WHERE v.replica_id = $1 AND v.workflow_id = processes.workflow_id "
    "                 AND v.version = processes.workflow_version OFFSET 0) "
    "         AND NOT (SELECT paused FROM engine_settings) "
    "       ORDER BY next_run_time LIMIT $3 FOR UPDATE SKIP LOCKED), "
    "u AS (UPDATE processes p SET lease_owner = $1, lease_token = p.lease_token + 1, "
    "  lease_expires_time = CASE WHEN c.known THEN least(now() + $2::interval, c.deadline) "
    "    ELSE now() + $2::interval END, "
    "  next_run_time = CASE WHEN c.known THEN least(now() + $2::interval, c.deadline) "
    "    ELSE now() + $2::interval END, "
    "  claim_count = p.claim_count + 1, update_time = now(), "
    "  running_step_key = CASE WHEN c.known THEN p.next_step_key END, "
    "  running_step_name = CASE WHEN c.known THEN p.next_step_name END, "
    "  deadline_time = CASE WHEN c.known THEN c.deadline ELSE p.deadline_time END, "
    "  last_status = CASE WHEN c.known THEN 'running' ELSE p.last_status END, "
    "  last_event_sequence = p.last_event_sequence + CASE WHEN c.known AND "
    "    c.old_status <> 'running' THEN 1 ELSE 0 END "
    "FROM c WHERE p.ctid = c.tid "
    "RETURNING p.process_id, p.lease_token, (SELECT name FROM workflows w WHERE "
    "  w.workflow_id = p.workflow_id), p.workflow_version, c.old_status, "
    "  orch_state_of(p.process_id, p.state, p.state_lag)::text, "
    "  p.done_keys::text, p.retry_count, coalesce(p.parent_process_id::text, ''), "
    "  p.branch_key, CASE WHEN c.known THEN p.running_step_key END AS announced, "
    "  clock_timestamp()::text, p.last_event_sequence, c.known), "
    "e AS (INSERT INTO process_events (process_id, sequence, kind, payload) "
    "  SELECT process_id, last_event_sequence, 'status_changed', jsonb_build_object("
    "  'old_status', old_status, 'new_status', 'running', 'step_key', announced) "
    "  FROM u WHERE known AND old_status <> 'running') "
    "SELECT * FROM u";

/* The processes a claim's answer (CLAIM_SQL) holds, into out[*n...], at most max. */
static void claim_rows(PGresult *res, int max, orch_claim_t *out, size_t *n)
{
    for (int i = 0; i < PQntuples(res) && i < max; i++) {
        orch_claim_t *c = &out[(*n)++];
        memset(c, 0, sizeof(*c));
        snprintf(c->process_id, sizeof(c->process_id), "%s", PQgetvalue(res, i, 0));
        c->lease_token = db__llv(res, i, 1);
        snprintf(c->workflow, sizeof(c->workflow), "%s", PQgetvalue(res, i, 2));
        c->version = (int)db__llv(res, i, 3);
        snprintf(c->status, sizeof(c->status), "%s", PQgetvalue(res, i, 4));
        c->state = jsonv(res, i, 5);
        if (!json_is_object(c->state)) {
            json_decref(c->state);
            c->state = json_object();
        }
        parse_keys(PQgetvalue(res, i, 6), &c->done, &c->ndone);
        c->retry_count = (int)db__llv(res, i, 7);
        snprintf(c->parent_id, sizeof(c->parent_id), "%s", PQgetvalue(res, i, 8));
        c->branch_key = db__dupv(res, i, 9);
        if (!PQgetisnull(res, i, 10)) {
            snprintf(c->announced, sizeof(c->announced), "%s", PQgetvalue(res, i, 10));
            snprintf(c->step_started, sizeof(c->step_started), "%s", PQgetvalue(res, i, 11));
            snprintf(c->status, sizeof(c->status), "running");
        }
    }
}

orch_err_t db__process_claim(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *replica_id, int lease_ms, int max, orch_claim_t *out,
                             size_t *n, orch_error_t *err)
{
    db__no_tx(tx);
    db_conn_ref_t r;
    PGresult *res = NULL;
    char iv[64];
    orch_err_t rc;

    *n = 0;
    db__ms_interval(iv, sizeof(iv), lease_ms);
    db_rt_kind(DB_RT_CLAIM);
    rc = db__conn_get(st, NULL, ctx, &r, err);
    if (rc)
        return rc;
    /* Everything the worker needs for the whole stretch comes back here: it never reads
     * the process again while it holds the lease. */
    /* When the row knows the next step (next_step_key, left by the engine's last commit),
     * the claim also shows it running, with its deadline and the status change, as
     * process_step_begin would: the stretch's first step costs no round trip of its own.
     *
     * Its plan must not depend on the table's statistics. On a young or fast-growing table
     * (a new deployment, a burst of starts) they say most rows are runnable, and PostgreSQL
     * then hashed the replica's versions against a sequential scan of every process, sorted,
     * and joined the update back with another sequential scan: 3 ms a claim on a table of a
     * few thousand rows, growing with it (bench/README.md, issue 17's fourth pass). So the
     * version check is a correlated EXISTS that PostgreSQL cannot turn into a join (OFFSET
     * 0): the candidates come from processes_claim in next_run_time order and stop at the
     * LIMIT. And the update finds each locked row by its ctid (a TID scan, whatever the
     * estimate): a row locked FOR UPDATE keeps its ctid until this statement updates it. A
     * row whose newest version came after this statement's snapshot is locked but not
     * updated, so it is not claimed this time; the next claim takes it. */
    rc = db_execp_generic(r.c, CLAIM_SQL, 3, (const char *[]){replica_id, iv, DB_INT(max)}, &res,
                          err);
    if (rc)
        goto out;
    claim_rows(res, max, out, n);
out:
    PQclear(res);
    db__conn_put(&r);
    return rc;
}

static orch_err_t lease_lost(orch_error_t *err, const char *process_id)
{
    return orch_error_set(err, ORCH_ABORTED, "LEASE_LOST",
                          "process %s was taken over, aborted or timed out while its step ran",
                          process_id);
}

orch_err_t db__process_step_begin(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                  orch_claim_t *c, const char *step_key, const char *step_name,
                                  int timeout_ms, bool *paused, orch_error_t *err)
{
    db__no_tx(tx);
    PGresult *res = NULL;
    char iv[64];
    orch_err_t rc;

    *paused = false;
    db__ms_interval(iv, sizeof(iv), timeout_ms);
    db_rt_kind(DB_RT_STEP_COMMIT);
    /* The pause switch is read in the same statement: a paused engine changes nothing. The
     * status change to running is an event of its own. */
    rc = db__query(
        st, NULL, ctx,
        "WITH u AS (UPDATE processes SET deadline_time = now() + $3::interval, "
        "  running_step_key = $4, running_step_name = $5, last_status = 'running', "
        "  update_time = now(), last_event_sequence = last_event_sequence + "
        "  CASE WHEN last_status <> 'running' THEN 1 ELSE 0 END "
        "  WHERE process_id = $1 AND lease_token = $2 AND NOT (SELECT paused FROM "
        "  engine_settings) RETURNING process_id, last_event_sequence), "
        "e AS (INSERT INTO process_events (process_id, sequence, kind, payload) "
        "  SELECT process_id, last_event_sequence, 'status_changed', jsonb_build_object("
        "  'old_status', $6::text, 'new_status', 'running', 'step_key', $4::text) FROM u "
        "  WHERE $6 <> 'running') "
        "SELECT (SELECT count(*) FROM u), (SELECT paused FROM engine_settings), "
        "  clock_timestamp()::text",
        6,
        (const char *[]){c->process_id, DB_INT(c->lease_token), iv, step_key, step_name, c->status},
        &res, err);
    if (rc)
        goto out;
    if (db__llv(res, 0, 0) != 1) {
        if (db__boolv(res, 0, 1))
            *paused = true;
        else
            rc = lease_lost(err, c->process_id);
        goto out;
    }
    snprintf(c->step_started, sizeof(c->step_started), "%s", PQgetvalue(res, 0, 2));
    snprintf(c->status, sizeof(c->status), "running");
out:
    PQclear(res);
    return rc;
}

/* Where a committed step's events go: the process's own stream, or for a parallel branch
 * the top-level process's stream with the branch named in the payload. seq is the last
 * sequence number the commit reserved there. */
typedef struct event_target {
    const char *process_id; /* c->process_id or parent */
    char parent[37];
    char branch[256];
    long long seq;
    bool status_changed; /* a status_changed event too (never for a branch) */
} event_target_t;

/* The fence: 0 rows = the lease moved on (abort, takeover, time-out). It also takes the
 * row lock that orders this process's events, and reserves their sequence numbers in t. */
static orch_err_t commit_process_row(orch_tx_t *tx, const orch_step_commit_t *c, const char *tok,
                                     char *error, event_target_t *t, orch_error_t *err)
{
    PGresult *res = NULL;
    char iv[64];
    const char *fdetails = c->error && strcmp(c->process_status, "failed") == 0 ? error : NULL;
    const json_t *msg = c->error ? json_object_get(c->error, "message") : NULL;
    orch_err_t rc;

    db__ms_interval(iv, sizeof(iv), c->next_run_delay_ms);
    {
        const char *p[12] = {c->process_id,
                             tok,
                             c->process_status,
                             c->step_name,
                             c->step_key,
                             c->runnable ? "true" : "false",
                             iv,
                             DB_INT(c->retry_count),
                             c->finished ? "true" : "false",
                             fdetails && json_is_string(msg) ? json_string_value(msg) : NULL,
                             fdetails,
                             DB_INT(t->status_changed ? 2 : 1)};
        rc = db_execp(tx->conn,
                      "UPDATE processes SET last_status = $3, last_step = $4, last_step_key = $5, "
                      "runnable = $6, next_run_time = CASE WHEN $6 THEN now() + $7::interval END, "
                      "lease_owner = NULL, lease_expires_time = NULL, deadline_time = NULL, "
                      "running_step_key = NULL, running_step_name = NULL, retry_count = $8, "
                      "end_time = CASE WHEN $9 THEN now() END, failed_reason = left($10, 10000), "
                      "failed_details = $11::jsonb, update_time = now(), "
                      "last_event_sequence = last_event_sequence + CASE WHEN parent_process_id "
                      "IS NULL THEN $12::int ELSE 0 END "
                      "WHERE process_id = $1 AND lease_token = $2 RETURNING last_event_sequence, "
                      "parent_process_id, split_part(branch_key, '/', 2)",
                      12, p, &res, err);
    }
    if (rc)
        goto out;
    if (PQntuples(res) != 1) {
        rc = lease_lost(err, c->process_id);
        goto out;
    }
    t->seq = db__llv(res, 0, 0);
    if (PQgetisnull(res, 0, 1))
        goto out;
    /* A parallel branch: its step event goes to the top-level process's stream (branch
     * named in the payload), its status changes stay its own business (the join reports
     * them); lock order branch row, then parent row, as in migration 0008. */
    snprintf(t->parent, sizeof(t->parent), "%s", PQgetvalue(res, 0, 1));
    snprintf(t->branch, sizeof(t->branch), "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    res = NULL;
    t->status_changed = false;
    rc = db_execp(tx->conn,
                  "UPDATE processes SET last_event_sequence = last_event_sequence + 1 "
                  "WHERE process_id = $1 RETURNING last_event_sequence",
                  1, (const char *[]){t->parent}, &res, err);
    if (rc)
        goto out;
    t->seq = PQntuples(res) == 1 ? db__llv(res, 0, 0) : 0;
    t->process_id = t->parent;
out:
    PQclear(res);
    return rc;
}

/* The step's audit row. An identical repeat of the last failure collapses into its row. */
static orch_err_t commit_step_row(orch_tx_t *tx, const orch_step_commit_t *c, const char *tok,
                                  const char *state, const char *delta, const char *error,
                                  orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc;

    if (c->error) {
        const char *p[5] = {c->process_id, c->step_key, c->step_status, error, tok};
        rc = db_execp(tx->conn,
                      "UPDATE process_steps SET retry_count = retry_count + 1, end_time = "
                      "clock_timestamp(), lease_token = $5 WHERE step_id = (SELECT step_id FROM "
                      "process_steps WHERE process_id = $1 ORDER BY sequence DESC LIMIT 1) "
                      "AND step_key = $2 AND status = $3 AND status IN ('failed', 'waiting') "
                      "AND error = $4::jsonb RETURNING step_id",
                      5, p, &res, err);
        if (rc)
            return rc;
        if (PQntuples(res) > 0) {
            PQclear(res);
            return ORCH_OK;
        }
        PQclear(res);
    }
    {
        const char *p[10] = {c->process_id, c->step_key, c->step_name,  c->step_status, state,
                             delta,         error,       c->start_time, c->executed_by, tok};
        rc = db_execp(tx->conn,
                      "INSERT INTO process_steps (process_id, sequence, step_key, name, status, "
                      "state, state_delta, error, start_time, executed_by, lease_token) "
                      "SELECT $1, coalesce(max(sequence), 0) + 1, $2, $3, $4, $5::jsonb, "
                      "$6::jsonb, $7::jsonb, least(coalesce($8::timestamptz, now()), "
                      "clock_timestamp()), $9, $10 FROM process_steps WHERE process_id = $1",
                      10, p, NULL, err);
    }
    return rc;
}

/* The subscriptions the step touched, linked to the process (once each). */
static orch_err_t commit_subscription_links(orch_tx_t *tx, const orch_step_commit_t *c,
                                            orch_error_t *err)
{
    for (size_t i = 0; i < c->nsubscriptions; i++) {
        orch_err_t rc =
            db_execp(tx->conn,
                     "INSERT INTO processes_subscriptions (process_id, subscription_id) "
                     "VALUES ($1, $2) ON CONFLICT DO NOTHING",
                     2, (const char *[]){c->process_id, c->subscriptions[i]}, NULL, err);
        if (rc)
            return rc;
    }
    return ORCH_OK;
}

/* The step_committed event, then the status_changed one when the status changed, at the
 * sequence numbers commit_process_row reserved. */
static orch_err_t commit_events(orch_tx_t *tx, const orch_step_commit_t *c, const event_target_t *t,
                                const char *delta, orch_error_t *err)
{
    orch_err_t rc;

    {
        const char *pe[7] = {t->process_id,  DB_INT(t->seq - (t->status_changed ? 1 : 0)),
                             c->step_key,    c->step_name,
                             c->step_status, delta,
                             t->branch};
        rc = db_execp(tx->conn,
                      "INSERT INTO process_events (process_id, sequence, kind, payload) VALUES "
                      "($1, $2::bigint, 'step_committed', jsonb_build_object('step_key', $3::text, "
                      "'name', $4::text, 'status', $5::text, 'state_delta', $6::jsonb) || "
                      "CASE WHEN $7::text = '' THEN '{}'::jsonb ELSE jsonb_build_object('branch', "
                      "$7::text) END)",
                      7, pe, NULL, err);
    }
    if (rc || !t->status_changed)
        return rc;
    {
        const char *p[8] = {t->process_id,  DB_INT(t->seq), c->step_key,   c->step_name,
                            c->step_status, delta,          c->old_status, c->process_status};
        rc = db_execp(tx->conn,
                      "INSERT INTO process_events (process_id, sequence, kind, payload) "
                      "VALUES ($1, $2::bigint, 'status_changed', jsonb_build_object("
                      "'old_status', $7::text, 'new_status', $8::text, 'step_key', $3::text, "
                      "'name', $4::text, 'step_status', $5::text, 'delta', $6::jsonb))",
                      8, p, NULL, err);
    }
    return rc;
}

orch_err_t db__process_commit_step(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const orch_step_commit_t *c, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    char *state = json_text(c->state), *delta = json_text(c->delta), *error = json_text(c->error);
    event_target_t t;
    orch_err_t rc;

    memset(&t, 0, sizeof(t));
    t.process_id = c->process_id;
    t.status_changed = strcmp(c->old_status, c->process_status) != 0;
    const char *tok = DB_INT(c->lease_token);
    db_rt_kind(DB_RT_STEP_COMMIT);
    rc = commit_process_row(tx, c, tok, error, &t, err);
    if (!rc)
        rc = commit_step_row(tx, c, tok, state, delta, error, err);
    if (!rc)
        rc = commit_subscription_links(tx, c, err);
    if (!rc)
        rc = commit_events(tx, c, &t, delta, err);
    if (!rc && c->runnable)
        rc = db_exec(tx->conn, "SELECT pg_notify('orch_engine', '')", NULL, err);
    free(state);
    free(delta);
    free(error);
    return rc;
}

static const char *const commit_modes[] = {"release", "keep", "next"};

/* Whether a step commit failed in PostgreSQL's execution of it (an SQL error: the
 * statement ran and was rolled back) rather than on the way there (the database away, the
 * deadline passed), which no retry on this connection would mend. */
static bool commit_sql_error(orch_err_t rc)
{
    return rc && rc != ORCH_UNAVAILABLE && rc != ORCH_DEADLINE_EXCEEDED && rc != ORCH_CANCELLED;
}

/* The parts of a step commit as orch_commit_steps reads them (a JSON array; caller frees). */
static char *commit_text(const orch_step_commit_t *parts, size_t n)
{
    json_t *arr = json_array();
    char *text;

    for (size_t i = 0; i < n; i++) {
        const orch_step_commit_t *c = &parts[i];
        json_t *subs = json_array();
        json_t *o;
        for (size_t k = 0; k < c->nsubscriptions; k++)
            json_array_append_new(subs, json_string(c->subscriptions[k]));
        o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:O, s:O, s:b, s:b, s:I, s:i, "
                      "s:s, s:o, s:s, s:i}",
                      "pid", c->process_id, "tok", (json_int_t)c->lease_token, "old_status",
                      c->old_status, "status", c->process_status, "key", c->step_key, "name",
                      c->step_name, "step_status", c->step_status, "delta",
                      c->delta ? (json_t *)c->delta : json_null(), "error",
                      c->error ? (json_t *)c->error : json_null(), "runnable", c->runnable,
                      "finished", c->finished, "delay_ms",
                      (json_int_t)(c->next_run_delay_ms > 0 ? c->next_run_delay_ms : 0), "retry",
                      c->retry_count, "by", c->executed_by ? c->executed_by : "", "subs", subs,
                      "mode", commit_modes[c->mode], "lease_ms", c->lease_ms);
        orch_assert(o != NULL);
        /* No state: a step in the middle of a stretch, written as its delta (0022). */
        if (c->state)
            json_object_set(o, "state", (json_t *)c->state);
        if (c->start_time && *c->start_time)
            json_object_set_new(o, "start", json_string(c->start_time));
        if (c->next_key) {
            json_object_set_new(o, "next_key", json_string(c->next_key));
            json_object_set_new(o, "next_name", json_string(c->next_name));
            json_object_set_new(o, "next_timeout_ms", json_integer(c->next_timeout_ms));
        }
        json_array_append_new(arr, o);
    }
    {
        /* json_dumps' text, written without its walk of each string code point by code
         * point: a kilobyte a step was 17% of the server's CPU in bench_grow_100. */
        db_json_out_t out = {0};
        db_json_out_value(&out, arr);
        text = db_json_out_take(&out);
    }
    json_decref(arr);
    return text;
}

/* res[0..n) from orch_commit_steps' answer. */
static orch_err_t commit_answer(PGresult *pr, size_t n, orch_commit_result_t *res,
                                orch_error_t *err)
{
    if ((size_t)PQntuples(pr) != n) {
        return orch_error_set(err, ORCH_INTERNAL, "DATABASE_ERROR",
                              "the step commit answered %d rows for %zu steps", PQntuples(pr), n);
    }
    for (size_t i = 0; i < n; i++) {
        res[i].ok = db__boolv(pr, (int)i, 0);
        if (!res[i].ok) {
            snprintf(res[i].reason, sizeof(res[i].reason), "%s", PQgetvalue(pr, (int)i, 1));
            res[i].lease_lost = strcmp(res[i].reason, "LEASE_LOST") == 0;
        }
        res[i].event_sequence = db__llv(pr, (int)i, 2);
        res[i].paused = db__boolv(pr, (int)i, 3);
        snprintf(res[i].step_started, sizeof(res[i].step_started), "%s", PQgetvalue(pr, (int)i, 5));
    }
    return ORCH_OK;
}

/* commit_steps, and with cl (tx NULL) the claim that goes with it (commit_steps_claim). */
static orch_err_t commit_steps(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const orch_step_commit_t *parts, size_t n, orch_commit_result_t *res,
                               orch_claim_req_t *cl, orch_error_t *err)
{
    db_conn_ref_t r;
    PGresult *pr = NULL, *cr = NULL;
    char *text = NULL, iv[64];
    orch_err_t rc;

    db_rt_kind(DB_RT_STEP_COMMIT);
    memset(res, 0, n * sizeof(*res));
    text = commit_text(parts, n);
    rc = db__conn_get(st, tx, ctx, &r, err);
    if (rc)
        goto out;
    if (tx && parts[0].lease_ms > 0) {
        /* Inside a step's own transaction the fence passes here, and from then on this
         * transaction holds the process row until the COMMIT that follows. Should the
         * replica freeze in between (SIGSTOP, a paused VM), every other replica's claim
         * would skip the row (FOR UPDATE SKIP LOCKED) for as long as it stays frozen, and
         * the lease it stopped renewing would never be taken over. So the rest of this
         * transaction may idle for the lease at most: then PostgreSQL ends the session,
         * which rolls it back (the COMMIT fails with SQLSTATE 25P03, db_error_from_result)
         * and frees the row for the takeover the lease promises. A live replica sends its
         * COMMIT at once. */
        rc = db_execp(r.c,
                      "SELECT ok, reason, event_sequence, paused, lease_token, step_started "
                      "FROM orch_commit_steps($1::jsonb, false), set_config("
                      "'idle_in_transaction_session_timeout', $2, true)",
                      2, (const char *[]){text, DB_INT(parts[0].lease_ms)}, &pr, err);
    } else if (cl) {
        /* The claim for the workers whose stretch this batch ends, in the same round trip,
         * after the commit (a transaction of its own: it runs only when the commit
         * committed, and its failure fails no step). */
        db__ms_interval(iv, sizeof(iv), cl->lease_ms);
        rc = db_execp_then_generic(
            r.c,
            "SELECT ok, reason, event_sequence, paused, lease_token, step_started "
            "FROM orch_commit_steps($1::jsonb, false)",
            1, (const char *[]){text}, &pr, err, CLAIM_SQL, 3,
            (const char *[]){cl->replica_id, iv, DB_INT(cl->max)}, &cr);
        if (cr)
            claim_rows(cr, cl->max, cl->out, &cl->n);
    } else {
        rc = db_execp(r.c,
                      "SELECT ok, reason, event_sequence, paused, lease_token, step_started "
                      "FROM orch_commit_steps($1::jsonb, false)",
                      1, (const char *[]){text}, &pr, err);
    }
    if (!(tx && parts[0].lease_ms > 0)) {
        /* An SQL error in one part failed the batch, and nothing of it was written: again,
         * each part in a subtransaction of its own, so only that part fails (migration
         * 0018). Rare, so the common batch pays for no subtransaction. */
        if (commit_sql_error(rc)) {
            orch_warn("db",
                      "a step commit of %zu part(s) failed (%s); once more, each part "
                      "contained",
                      n, err->message);
            orch_error_init(err);
            rc = db_execp(r.c,
                          "SELECT ok, reason, event_sequence, paused, lease_token, "
                          "step_started FROM orch_commit_steps($1::jsonb, true)",
                          1, (const char *[]){text}, &pr, err);
        }
    }
    if (tx && commit_sql_error(rc)) {
        /* The step's own unit of work (one part): the error failed it, which the caller
         * rolls back with the step's writes; the part's answer says why. */
        res[0].ok = false;
        snprintf(res[0].reason, sizeof(res[0].reason), "%.*s", (int)sizeof(res[0].reason) - 1,
                 err->message);
        orch_error_init(err);
        rc = ORCH_OK;
        goto out;
    }
    if (rc)
        goto out;
    rc = commit_answer(pr, n, res, err);
out:
    PQclear(pr);
    PQclear(cr);
    db__conn_put(&r);
    free(text);
    return rc;
}

orch_err_t db__process_commit_steps(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                    const orch_step_commit_t *parts, size_t n,
                                    orch_commit_result_t *res, orch_error_t *err)
{
    return commit_steps(st, tx, ctx, parts, n, res, NULL, err);
}

orch_err_t db__process_commit_steps_claim(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                          const orch_step_commit_t *parts, size_t n,
                                          orch_commit_result_t *res, orch_claim_req_t *cl,
                                          orch_error_t *err)
{
    db__no_tx(tx);
    cl->n = 0;
    return commit_steps(st, NULL, ctx, parts, n, res, cl, err);
}

orch_err_t db__process_release(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const orch_claim_t *c, orch_error_t *err)
{
    db__no_tx(tx);
    db_rt_kind(DB_RT_STEP_COMMIT);
    /* Only while still leased: after a commit whose answer was lost (it landed, the lease
     * is cleared) this must not touch the parked process (a callback's deadline_time). */
    return db__query(st, NULL, ctx,
                     "UPDATE processes SET lease_owner = NULL, lease_expires_time = NULL, "
                     "next_run_time = now(), deadline_time = NULL, running_step_key = NULL, "
                     "running_step_name = NULL WHERE process_id = $1 AND lease_token = $2 "
                     "AND lease_owner IS NOT NULL",
                     2, (const char *[]){c->process_id, DB_INT(c->lease_token)}, NULL, err);
}

/* ---- create and read ------------------------------------------------------------------------- */

orch_process_t *db__row_to_process(PGresult *res, int i)
{
    orch_process_t *p = orch_calloc(1, sizeof(*p));
    char *subs;
    snprintf(p->id, sizeof(p->id), "%s", PQgetvalue(res, i, 0));
    snprintf(p->workflow_id, sizeof(p->workflow_id), "%s", PQgetvalue(res, i, 1));
    p->workflow_name = db__dupv(res, i, 2);
    p->target = db__dupv(res, i, 3);
    p->version = (int)db__llv(res, i, 4);
    p->is_task = db__boolv(res, i, 5);
    p->status = db__dupv(res, i, 6);
    p->last_step = db__dupv(res, i, 7);
    p->last_step_key = db__dupv(res, i, 8);
    p->assignee = db__dupv(res, i, 9);
    p->created_by = db__dupv(res, i, 10);
    p->note = db__dupv(res, i, 11);
    p->failed_reason = db__dupv(res, i, 12);
    p->failed_details = jsonv(res, i, 13);
    p->start_us = db__llv(res, i, 14);
    p->update_us = db__llv(res, i, 15);
    p->end_us = db__llv(res, i, 16);
    p->next_run_us = db__llv(res, i, 17);
    snprintf(p->product_id, sizeof(p->product_id), "%s", PQgetvalue(res, i, 18));
    p->retry_count = (int)db__llv(res, i, 19);
    p->steps_total = (int)db__llv(res, i, 20);
    p->runnable = db__boolv(res, i, 21);
    p->lease_token = db__llv(res, i, 22);
    subs = db__dupv(res, i, 23);
    if (subs) {
        for (char *tok = strtok(subs, ","); tok; tok = strtok(NULL, ",")) {
            p->subscription_ids =
                orch_realloc(p->subscription_ids, (p->nsubscriptions + 1) * sizeof(char *));
            p->subscription_ids[p->nsubscriptions++] = orch_strdup(tok);
        }
        free(subs);
    }
    p->customer_id = db__dupv(res, i, 24);
    p->steps_done = (int)db__llv(res, i, 25);
    if (p->steps_done > p->steps_total)
        p->steps_done = p->steps_total;
    snprintf(p->parent_id, sizeof(p->parent_id), "%s", PQgetvalue(res, i, 26));
    p->branch_key = db__dupv(res, i, 27);
    return p;
}

/* The process_steps columns fill_step reads, in its order, of the table as t ("s." or ""):
 * a process's own steps and its branches' steps are read with this one list. */
// clang-format off
#define STEP_COLS(t)                                                                               \
    t "step_id, " t "sequence, " t "step_key, " t "name, " t "status, " t "state, " t              \
    "state_delta, " t "error, " US(t "start_time") ", " US(t "end_time") ", " t "executed_by, "    \
    t "retry_count"
// clang-format on

/* One audit row from the columns STEP_COLS lists. A row committed in the middle of a
 * stretch holds its delta only (0022): its state is the one before (before, NULL for none)
 * merged with it, shallow, as the engine merged it. */
static void fill_step(PGresult *res, int r, orch_process_step_t *s, const json_t *before)
{
    snprintf(s->step_id, sizeof(s->step_id), "%s", PQgetvalue(res, r, 0));
    s->sequence = (int)db__llv(res, r, 1);
    s->key = db__dupv(res, r, 2);
    s->name = db__dupv(res, r, 3);
    s->status = db__dupv(res, r, 4);
    s->state = jsonv(res, r, 5);
    s->delta = jsonv(res, r, 6);
    s->error = jsonv(res, r, 7);
    s->start_us = db__llv(res, r, 8);
    s->end_us = db__llv(res, r, 9);
    s->executed_by = db__dupv(res, r, 10);
    s->retry_count = (int)db__llv(res, r, 11);
    if (!s->delta)
        s->delta = json_object();
    if (!s->state) {
        s->state = json_is_object(before) ? json_copy((json_t *)before) : json_object();
        json_object_update(s->state, s->delta);
    }
}

static orch_err_t load_steps(db_conn_t *c, orch_process_t *p, orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc;
    const char *prm[1] = {p->id};

    rc = db_execp(c,
                  "SELECT inputs FROM input_states WHERE process_id = $1 AND input_type = "
                  "'initial_state' ORDER BY input_time LIMIT 1",
                  1, prm, &res, err);
    if (rc)
        return rc;
    p->initial_state = PQntuples(res) ? jsonv(res, 0, 0) : NULL;
    if (!json_is_object(p->initial_state)) {
        json_decref(p->initial_state);
        p->initial_state = json_object();
    }
    PQclear(res);
    // clang-format off
    rc = db_execp(c,
                  "SELECT " STEP_COLS("") " FROM process_steps WHERE process_id = $1 "
                  "ORDER BY sequence",
                  1, prm, &res, err);
    // clang-format on
    if (rc)
        return rc;
    p->nsteps = (size_t)PQntuples(res);
    p->steps = orch_calloc(p->nsteps ? p->nsteps : 1, sizeof(*p->steps));
    for (size_t i = 0; i < p->nsteps; i++)
        fill_step(res, (int)i, &p->steps[i], i ? p->steps[i - 1].state : p->initial_state);
    PQclear(res);
    if (p->branch_key)
        return ORCH_OK;
    /* A top-level process: its parallel branches' audit rows too, in commit order. */
    // clang-format off
    rc = db_execp(c,
                  "SELECT " STEP_COLS("s.") ", split_part(b.branch_key, '/', 2) "
                  "FROM processes b JOIN process_steps s ON s.process_id = b.process_id "
                  "WHERE b.parent_process_id = $1 ORDER BY s.end_time, s.step_id",
                  1, prm, &res, err);
    // clang-format on
    if (rc)
        return rc;
    p->nbranch_steps = (size_t)PQntuples(res);
    p->branch_steps = orch_calloc(p->nbranch_steps + 1, sizeof(*p->branch_steps));
    for (size_t i = 0; i < p->nbranch_steps; i++) {
        fill_step(res, (int)i, &p->branch_steps[i], NULL); /* a branch's rows are full */
        p->branch_steps[i].branch = db__dupv(res, (int)i, 12);
    }
    PQclear(res);
    return ORCH_OK;
}

orch_err_t db__process_get(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                           const char *process_id, bool full, orch_process_t **out,
                           orch_error_t *err)
{
    db_conn_ref_t r;
    PGresult *res = NULL;
    orch_process_t *p = NULL;
    orch_err_t rc;

    *out = NULL;
    rc = db__conn_get(st, tx, ctx, &r, err);
    if (rc)
        return rc;
    rc = db_execp(r.c, "SELECT " PROCESS_COLS PROCESS_FROM "WHERE p.process_id = $1", 1,
                  (const char *[]){process_id}, &res, err);
    if (rc)
        goto out;
    if (PQntuples(res) != 1) {
        rc = orch_error_set(err, ORCH_NOT_FOUND, "PROCESS_NOT_FOUND", "no process has id %s",
                            process_id);
        goto out;
    }
    p = db__row_to_process(res, 0);
    if (full) {
        rc = load_steps(r.c, p, err);
        if (rc)
            goto out;
    }
    *out = p;
    p = NULL;
out:
    orch_process_free(p);
    PQclear(res);
    db__conn_put(&r);
    return rc;
}

/* ---- lists ------------------------------------------------------------------------------------
 */

const char *const db__process_statuses[] = {
    "created", "running",         "suspended",         "waiting",   "awaiting_callback", "aborted",
    "failed",  "api_unavailable", "inconsistent_data", "completed", "resumed",           NULL};
const char *const db__workflow_targets[] = {"CREATE",    "MODIFY", "TERMINATE", "VALIDATE",
                                            "RECONCILE", "SYSTEM", NULL};

static const db_filter_column_t process_cols[] = {
    {"process_id", "p.process_id", DB_COL_UUID, NULL, NULL},
    {"status", "p.last_status", DB_COL_ENUM, db__process_statuses, NULL},
    {"workflow", "w.name", DB_COL_TEXT, NULL, NULL},
    {"workflow_version", "p.workflow_version", DB_COL_INT, NULL, NULL},
    {"target", "w.target", DB_COL_ENUM, db__workflow_targets, NULL},
    {"is_task", "p.is_task", DB_COL_BOOL, NULL, NULL},
    {"subscription_id",
     "(SELECT ps.subscription_id FROM processes_subscriptions ps WHERE ps.process_id = "
     "p.process_id ORDER BY ps.create_time LIMIT 1)",
     DB_COL_UUID, NULL, NULL},
    {"product_id", "p.product_id", DB_COL_UUID, NULL, NULL},
    {"customer_id",
     "(SELECT s.customer_id FROM processes_subscriptions ps JOIN subscriptions s USING "
     "(subscription_id) WHERE ps.process_id = p.process_id ORDER BY ps.create_time LIMIT 1)",
     DB_COL_TEXT, NULL, NULL},
    {"created_by", "coalesce(p.created_by, '')", DB_COL_TEXT, NULL, NULL},
    {"assignee", "p.assignee", DB_COL_TEXT, NULL, NULL},
    {"last_step", "coalesce(p.last_step, '')", DB_COL_TEXT, NULL, NULL},
    {"note", "coalesce(p.note, '')", DB_COL_TEXT, NULL, NULL},
    {"start_time", "p.start_time", DB_COL_TIME, NULL, NULL},
    {"update_time", "p.update_time", DB_COL_TIME, NULL, NULL},
    {"end_time", "p.end_time", DB_COL_TIME, NULL, NULL},
    {NULL, NULL, 0, NULL, NULL},
};

/* Sort keys (db/order_sql.h); an unfinished process has no end_time and sorts as if it
 * ended in the future. */
static const db_sort_column_t sortable[] = {
    {"start_time", "p.start_time", "timestamptz"},
    {"update_time", "p.update_time", "timestamptz"},
    {"end_time", "coalesce(p.end_time, 'infinity'::timestamptz)", "timestamptz"},
    {"status", "p.last_status", "text"},
    {"workflow", "w.name", "text"},
    {NULL, NULL, NULL},
};

orch_err_t db__process_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const orch_process_query_t *qy, orch_process_page_t *page,
                            orch_error_t *err)
{
    db__no_tx(tx);
    db_list_t l = {0};
    db_order_t order;
    orch_err_t rc;

    memset(page, 0, sizeof(*page));
    rc = db_order_parse(qy->order_by, "start_time desc", sortable, "p.process_id", &order, err);
    if (rc)
        goto out;
    rc = db__list_begin(&l, "processes", qy->filter, order.canonical, qy->page_token, err);
    if (rc)
        goto out;
    db_sql_append(&l.q, "SELECT " PROCESS_COLS);
    db_order_select(&l.q, &order);
    db_sql_append(&l.q, PROCESS_FROM "WHERE p.parent_process_id IS NULL");
    db_sql_append(&l.cq, PROCESS_FROM "WHERE p.parent_process_id IS NULL");
    l.count_cap = DB_COUNT_EXACT_UP_TO;
    rc = db__list_filter(&l, qy->filter, process_cols, err);
    if (rc)
        goto out;
    rc = db_order_page(&l.q, &order, l.pos, qy->page_size, err);
    if (rc)
        goto out;
    rc = db__list_run(&l, st, ctx, qy->page_size, err);
    page->total = l.total;
    page->total_is_estimate = l.total_is_estimate;
    if (rc)
        goto out;
    page->items = orch_calloc(l.take ? (size_t)l.take : 1, sizeof(orch_process_t *));
    for (int i = 0; i < l.take; i++)
        page->items[page->n++] = db__row_to_process(l.res, i);
    if (l.more)
        page->next_token = db__order_token(l.res, l.take - 1, NPROCESS_COLS, &order,
                                           PQgetvalue(l.res, l.take - 1, 0), l.binding);
out:
    db__list_cleanup(&l);
    if (rc)
        orch_process_page_cleanup(page);
    return rc;
}

orch_err_t db__process_status_counts(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                     const char *filter, orch_status_count_t **out, size_t *n,
                                     orch_error_t *err)
{
    db__no_tx(tx);
    db_conn_ref_t r = {0};
    PGresult *res = NULL;
    db_sql_t q;
    orch_err_t rc;

    *out = NULL;
    *n = 0;
    db_sql_init(&q);
    if (!filter || !*filter) {
        /* All of them: the counts the triggers of migration 0024 keep, a few rows however
         * many processes there are. A filter needs the rows themselves. */
        db_sql_append(&q, "SELECT is_task, status, n FROM process_status_totals ORDER BY 1, 2");
    } else {
        db_sql_append(&q, "SELECT p.is_task, p.last_status, count(*)" PROCESS_FROM
                          "WHERE p.parent_process_id IS NULL");
        rc = db_filter_compile(filter, process_cols, &q, err);
        if (rc)
            goto out;
        db_sql_append(&q, " GROUP BY 1, 2 ORDER BY 1, 2");
    }
    rc = db__conn_get(st, NULL, ctx, &r, err);
    if (rc)
        goto out;
    rc = db__execq(r.c, &q, &res, err);
    if (rc)
        goto out;
    *out = orch_calloc((size_t)PQntuples(res) + 1, sizeof(**out));
    for (int i = 0; i < PQntuples(res); i++) {
        orch_status_count_t *c = &(*out)[(*n)++];
        c->is_task = db__boolv(res, i, 0);
        snprintf(c->status, sizeof(c->status), "%s", PQgetvalue(res, i, 1));
        c->count = (long)db__llv(res, i, 2);
    }
out:
    PQclear(res);
    db__conn_put(&r);
    db_sql_cleanup(&q);
    return rc;
}

/* ---- operator actions ------------------------------------------------------------------------ */

#define RESUME_SET                                                                                 \
    "last_status = 'resumed', runnable = true, next_run_time = now(), lease_owner = NULL, "        \
    "lease_expires_time = NULL, lease_token = p.lease_token + 1, deadline_time = NULL, "           \
    "running_step_key = NULL, running_step_name = NULL, failed_reason = NULL, "                    \
    "failed_details = NULL, update_time = now(), last_event_sequence = "                           \
    "p.last_event_sequence + 1 "

orch_err_t db__process_retry(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *process_id, const char *actor, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    char status[32];
    orch_err_t rc = db__process_lock_row(tx, process_id, status, NULL, NULL, err);
    if (rc)
        return rc;
    if (strcmp(status, "failed") != 0 && strcmp(status, "api_unavailable") != 0 &&
        strcmp(status, "inconsistent_data") != 0 && strcmp(status, "waiting") != 0 &&
        strcmp(status, "awaiting_callback") != 0)
        return orch_error_set(err, ORCH_FAILED_PRECONDITION, "PROCESS_NOT_RETRIABLE",
                              "process %s is %s; only failed, waiting, awaiting_callback, "
                              "api_unavailable and inconsistent_data processes can be retried",
                              process_id, status);
    /* Awaiting a callback: the external system lost the request (or never got it). The
     * callback step's action runs again with a new token; the old one stops working now. */
    if (strcmp(status, "awaiting_callback") == 0 &&
        (rc = db_execp(tx->conn,
                       "DELETE FROM callbacks WHERE process_id = $1 AND delivered_time IS NULL", 1,
                       (const char *[]){process_id}, NULL, err)))
        return rc;
    rc = db_execp(tx->conn,
                  "WITH u AS (UPDATE processes p SET " RESUME_SET "WHERE process_id = $1 "
                  "RETURNING process_id, last_event_sequence) "
                  "INSERT INTO process_events (process_id, sequence, kind, payload) SELECT "
                  "process_id, last_event_sequence, 'status_changed', jsonb_build_object("
                  "'old_status', $2::text, 'new_status', 'resumed', 'actor', $3::text) FROM u",
                  3, (const char *[]){process_id, status, actor}, NULL, err);
    if (!rc)
        rc = db_exec(tx->conn, "SELECT pg_notify('orch_engine', '')", NULL, err);
    return rc;
}

orch_err_t db__process_abort(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *process_id, const char *reason, const char *actor,
                             bool *already, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    char status[32], name[300];
    orch_err_t rc;

    *already = false;
    /* A parent's branches before the parent: the lock order of branch commits (0008). */
    rc = db_execp(tx->conn,
                  "SELECT 1 FROM processes WHERE parent_process_id = $1 ORDER BY process_id "
                  "FOR UPDATE",
                  1, (const char *[]){process_id}, NULL, err);
    if (rc)
        return rc;
    rc = db__process_lock_row(tx, process_id, status, NULL, NULL, err);
    if (rc)
        return rc;
    if (strcmp(status, "aborted") == 0) {
        *already = true;
        return ORCH_OK;
    }
    if (strcmp(status, "completed") == 0)
        return orch_error_set(err, ORCH_FAILED_PRECONDITION, "PROCESS_FINISHED",
                              "process %s has completed and cannot be aborted", process_id);
    snprintf(name, sizeof(name), "Aborted by %.250s", actor && *actor ? actor : "unknown");
    /* The token moves on: a step running now has its commit refused. */
    rc = db_execp(
        tx->conn,
        "WITH u AS (UPDATE processes p SET last_status = 'aborted', runnable = false, "
        "  next_run_time = NULL, lease_owner = NULL, lease_expires_time = NULL, "
        "  lease_token = p.lease_token + 1, deadline_time = NULL, running_step_key = NULL, "
        "  running_step_name = NULL, end_time = now(), update_time = now(), "
        "  last_step = $3, last_step_key = 'aborted_by', "
        "  last_event_sequence = p.last_event_sequence + 2 WHERE process_id = $1 "
        "  RETURNING process_id, last_event_sequence), "
        "s AS (INSERT INTO process_steps (process_id, sequence, step_key, name, status, state, "
        "  error, executed_by) SELECT $1, " DB_NEXT_STEP_SEQ(
            "$1") ", 'aborted_by', $3, 'abort', "
                  "  " DB_LAST_STATE(
                      "$1") ", jsonb_build_object('reason', "
                            "  'ABORTED', 'message', $2::text, 'details', '{}'::jsonb), $4 FROM u) "
                            "INSERT INTO process_events (process_id, sequence, kind, payload) "
                            "SELECT process_id, last_event_sequence - 1, 'step_committed', jsonb_build_object("
                            "  'step_key', 'aborted_by', 'name', $3::text, 'status', 'abort') FROM u UNION ALL "
                            "SELECT process_id, last_event_sequence, 'status_changed', jsonb_build_object("
                            "  'old_status', $5::text, 'new_status', 'aborted', 'actor', $4::text) FROM u",
        5, (const char *[]){process_id, reason ? reason : "", name, actor, status}, NULL, err);
    /* Its unfinished parallel branches end with it (a running branch step's commit is
     * refused: the token moves on). */
    if (!rc)
        rc = db_execp(tx->conn,
                      "UPDATE processes p SET last_status = 'aborted', runnable = false, "
                      "next_run_time = NULL, lease_owner = NULL, lease_expires_time = NULL, "
                      "lease_token = p.lease_token + 1, deadline_time = NULL, "
                      "running_step_key = NULL, running_step_name = NULL, end_time = now(), "
                      "update_time = now() WHERE p.parent_process_id = $1 AND p.last_status "
                      "NOT IN ('completed', 'aborted')",
                      1, (const char *[]){process_id}, NULL, err);
    return rc;
}

orch_err_t db__process_delete(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const char *process_id, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    char status[32];
    bool is_task = false;
    orch_err_t rc = db__process_lock_row(tx, process_id, status, NULL, &is_task, err);
    if (rc)
        return rc;
    if (!is_task)
        return orch_error_set(err, ORCH_FAILED_PRECONDITION, "PROCESS_NOT_A_TASK",
                              "process %s is a workflow; only tasks can be deleted", process_id);
    if (strcmp(status, "running") == 0 || strcmp(status, "created") == 0 ||
        strcmp(status, "resumed") == 0)
        return orch_error_set(err, ORCH_FAILED_PRECONDITION, "PROCESS_RUNNING",
                              "task %s is %s; abort it first", process_id, status);
    return db_execp(tx->conn, "DELETE FROM processes WHERE process_id = $1", 1,
                    (const char *[]){process_id}, NULL, err);
}

orch_err_t db__process_set_note(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *process_id, const char *note, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    orch_err_t rc =
        db_execp(tx->conn,
                 "UPDATE processes SET note = $2, update_time = now() WHERE "
                 "process_id = $1 RETURNING process_id",
                 2, (const char *[]){process_id, note && *note ? note : NULL}, &res, err);
    if (!rc && PQntuples(res) != 1)
        rc = orch_error_set(err, ORCH_NOT_FOUND, "PROCESS_NOT_FOUND", "no process has id %s",
                            process_id);
    PQclear(res);
    return rc;
}

orch_err_t db__process_bulk_resume(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *filter, const char *actor, char ***ids, size_t *n,
                                   orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    db_sql_t q;
    int pa;
    orch_err_t rc;

    *ids = NULL;
    *n = 0;
    db_sql_init(&q);
    pa = db_sql_param(&q, actor);
    db_sql_append(&q, "WITH t AS (SELECT p.process_id, p.last_status" PROCESS_FROM
                      "WHERE p.parent_process_id IS NULL AND p.is_task AND p.last_status IN "
                      "('failed', 'waiting', 'api_unavailable', 'inconsistent_data')");
    rc = db_filter_compile(filter, process_cols, &q, err);
    if (rc)
        goto out;
    db_sql_append(&q,
                  " FOR UPDATE OF p SKIP LOCKED), u AS (UPDATE processes p SET " RESUME_SET
                  "FROM t WHERE p.process_id = t.process_id RETURNING p.process_id, "
                  "p.last_event_sequence, t.last_status), "
                  "e AS (INSERT INTO process_events (process_id, sequence, kind, payload) "
                  "SELECT process_id, last_event_sequence, 'status_changed', "
                  "jsonb_build_object('old_status', last_status, 'new_status', 'resumed', "
                  "'actor', $%d::text) FROM u) SELECT process_id FROM u ORDER BY 1",
                  pa);
    rc = db__execq(tx->conn, &q, &res, err);
    if (rc)
        goto out;
    *ids = orch_calloc((size_t)PQntuples(res) + 1, sizeof(char *));
    for (int i = 0; i < PQntuples(res); i++)
        (*ids)[(*n)++] = orch_strdup(PQgetvalue(res, i, 0));
    if (*n)
        rc = db_exec(tx->conn, "SELECT pg_notify('orch_engine', '')", NULL, err);
out:
    PQclear(res);
    db_sql_cleanup(&q);
    return rc;
}

/* ---- the pause switch -------------------------------------------------------------------------
 */

orch_err_t db__engine_status(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             orch_engine_status_t *out, orch_error_t *err)
{
    db_conn_ref_t r;
    PGresult *res = NULL;
    orch_err_t rc;

    memset(out, 0, sizeof(*out));
    rc = db__conn_get(st, tx, ctx, &r, err);
    if (rc)
        return rc;
    // clang-format off
    rc = db_exec(r.c,
                 "SELECT paused, coalesce(updated_by, ''), " US("update_time") ", "
                 "(SELECT count(*) FROM processes WHERE lease_owner IS NOT NULL AND "
                 "lease_expires_time > now() AND lease_owner IN (SELECT replica_id FROM "
                 "replicas x WHERE x.stop_time IS NULL AND x.heartbeat_time > now() - "
                 "interval '4500 milliseconds')), (SELECT count(*) FROM replicas r WHERE "
                 ALIVE("r") ") FROM engine_settings",
                 &res, err);
    // clang-format on
    if (!rc && PQntuples(res) == 1) {
        out->paused = db__boolv(res, 0, 0);
        snprintf(out->updated_by, sizeof(out->updated_by), "%s", PQgetvalue(res, 0, 1));
        out->update_us = db__llv(res, 0, 2);
        out->running = (int)db__llv(res, 0, 3);
        out->replicas = (int)db__llv(res, 0, 4);
    }
    PQclear(res);
    db__conn_put(&r);
    return rc;
}

orch_err_t db__engine_set_paused(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 bool paused, const char *actor, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    orch_err_t rc = db_execp(tx->conn,
                             "UPDATE engine_settings SET paused = $1, updated_by = $2, "
                             "update_time = now()",
                             2, (const char *[]){paused ? "true" : "false", actor}, NULL, err);
    if (!rc && !paused)
        rc = db_exec(tx->conn, "SELECT pg_notify('orch_engine', '')", NULL, err);
    return rc;
}

/* ---- workflows --------------------------------------------------------------------------------
 */

static const db_filter_column_t workflow_cols[] = {
    {"name", "w.name", DB_COL_TEXT, NULL, NULL},
    {"description", "w.description", DB_COL_TEXT, NULL, NULL},
    {"target", "w.target", DB_COL_ENUM, db__workflow_targets, NULL},
    {"is_task", "w.is_task", DB_COL_BOOL, NULL, NULL},
    {NULL, NULL, 0, NULL, NULL},
};

/* A workflow's versions, newest first, each with the count of live replicas that run it. */
// clang-format off
#define WF_VERSIONS_SQL                                                                            \
    "SELECT v.version, v.steps::text, " US("v.registered_time") ", (SELECT count(*) "              \
    "FROM replica_workflow_versions rv JOIN replicas r USING (replica_id) WHERE "                  \
    "rv.workflow_id = v.workflow_id AND rv.version = v.version AND " ALIVE("r") ") "               \
    "FROM workflow_versions v WHERE v.workflow_id = $1 ORDER BY v.version DESC"
// clang-format on

static orch_err_t wf_fill(db_conn_t *c, orch_wf_info_t *w, bool all_versions, orch_error_t *err)
{
    PGresult *res = NULL;
    const char *p[1] = {w->id};
    /* A list shows only the latest version; one workflow shows them all. */
    orch_err_t rc =
        db_execp(c, all_versions ? WF_VERSIONS_SQL : WF_VERSIONS_SQL " LIMIT 1", 1, p, &res, err);
    if (rc)
        return rc;
    w->nversions = (size_t)PQntuples(res);
    w->versions = orch_calloc(w->nversions + 1, sizeof(*w->versions));
    for (size_t i = 0; i < w->nversions; i++) {
        w->versions[i].version = (int)db__llv(res, (int)i, 0);
        w->versions[i].steps_json = db__dupv(res, (int)i, 1);
        w->versions[i].create_us = db__llv(res, (int)i, 2);
        w->versions[i].replica_count = (int)db__llv(res, (int)i, 3);
    }
    PQclear(res);
    rc = db_execp(c,
                  "SELECT p.product_id, p.name, p.product_type, p.tag FROM products_workflows "
                  "pw JOIN products p USING (product_id) WHERE pw.workflow_id = $1 ORDER BY "
                  "p.name",
                  1, p, &res, err);
    if (rc)
        return rc;
    w->nproducts = (size_t)PQntuples(res);
    w->products = orch_calloc(w->nproducts + 1, sizeof(*w->products));
    for (size_t i = 0; i < w->nproducts; i++) {
        snprintf(w->products[i].id, 37, "%s", PQgetvalue(res, (int)i, 0));
        w->products[i].name = db__dupv(res, (int)i, 1);
        w->products[i].product_type = db__dupv(res, (int)i, 2);
        w->products[i].tag = db__dupv(res, (int)i, 3);
    }
    PQclear(res);
    return ORCH_OK;
}

static orch_wf_info_t *row_to_wf(PGresult *res, int i)
{
    orch_wf_info_t *w = orch_calloc(1, sizeof(*w));
    snprintf(w->id, sizeof(w->id), "%s", PQgetvalue(res, i, 0));
    w->name = db__dupv(res, i, 1);
    w->description = db__dupv(res, i, 2);
    w->target = db__dupv(res, i, 3);
    w->is_task = db__boolv(res, i, 4);
    w->create_us = db__llv(res, i, 5);
    return w;
}

// clang-format off
#define WF_COLS                                                                                \
    "SELECT w.workflow_id, w.name, w.description, w.target, w.is_task, " US("w.create_time")  \
    " FROM workflows w WHERE w.delete_time IS NULL"
// clang-format on

orch_err_t db__workflow_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *filter, int page_size, const char *page_token,
                             orch_wf_info_t ***out, size_t *n, long *total, char **next_token,
                             orch_error_t *err)
{
    db__no_tx(tx);
    db_list_t l = {0};
    orch_err_t rc;

    *out = NULL;
    *n = 0;
    *total = 0;
    *next_token = NULL;
    rc = db__list_begin(&l, "workflows", filter, NULL, page_token, err);
    if (rc)
        goto out;
    db_sql_append(&l.q, WF_COLS);
    db_sql_append(&l.cq, "FROM workflows w WHERE w.delete_time IS NULL");
    rc = db__list_filter(&l, filter, workflow_cols, err);
    if (rc)
        goto out;
    if (l.pos)
        db_sql_append(&l.q, " AND w.name > $%d", db_sql_param(&l.q, l.pos));
    db_sql_append(&l.q, " ORDER BY w.name LIMIT %d", page_size + 1);
    rc = db__list_run(&l, st, ctx, page_size, err);
    *total = (long)l.total;
    if (rc)
        goto out;
    *out = orch_calloc((size_t)l.take + 1, sizeof(orch_wf_info_t *));
    for (int i = 0; i < l.take; i++) {
        (*out)[(*n)++] = row_to_wf(l.res, i);
        rc = wf_fill(l.r.c, (*out)[i], false, err);
        if (rc)
            goto out;
    }
    if (l.more)
        *next_token = orch_page_token_make(l.binding, PQgetvalue(l.res, l.take - 1, 1));
out:
    if (rc) {
        for (size_t i = 0; i < *n; i++)
            orch_wf_info_free((*out)[i]);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    db__list_cleanup(&l);
    return rc;
}

orch_err_t db__workflow_get(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, const char *id,
                            const char *name, orch_wf_info_t **out, orch_error_t *err)
{
    db__no_tx(tx);
    db_conn_ref_t r;
    PGresult *res = NULL;
    orch_err_t rc;

    *out = NULL;
    rc = db__conn_get(st, NULL, ctx, &r, err);
    if (rc)
        return rc;
    rc = db_execp(r.c, id ? WF_COLS " AND w.workflow_id = $1" : WF_COLS " AND w.name = $1", 1,
                  (const char *[]){id ? id : name}, &res, err);
    if (rc)
        goto out;
    if (PQntuples(res) != 1) {
        rc = orch_error_set(err, ORCH_NOT_FOUND, "WORKFLOW_NOT_FOUND", "no workflow %s %s",
                            id ? "has id" : "is named", id ? id : name);
        goto out;
    }
    *out = row_to_wf(res, 0);
    rc = wf_fill(r.c, *out, true, err);
    if (rc) {
        orch_wf_info_free(*out);
        *out = NULL;
    }
out:
    PQclear(res);
    db__conn_put(&r);
    return rc;
}

/* ---- the simulated inventory ------------------------------------------------------------------
 */

orch_err_t db__inventory_allocate(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                  const char *pool, const char *owner, long long *value,
                                  orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    return db__exec_ll(tx->conn,
                       "WITH p AS (INSERT INTO inventory_pools (pool, next_value) VALUES ($1, 2) "
                       "ON CONFLICT (pool) DO UPDATE SET next_value = inventory_pools.next_value "
                       "+ 1 RETURNING next_value - 1 AS v) "
                       "INSERT INTO inventory_allocations (pool, value, owner) SELECT $1, v, $2 "
                       "FROM p RETURNING value",
                       2, (const char *[]){pool, owner}, value, err);
}
