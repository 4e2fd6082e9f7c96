/* Step workers in PostgreSQL (migration 0015): remote steps' tasks, written by the engine in
 * the step's unit of work, claimed for a connected worker with FOR UPDATE SKIP LOCKED under a
 * lease, and answered once, fenced by the attempt token (only its SHA-256 is stored). An
 * answer changes the process under its row lock and bumps lease_token like a callback. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "db/step_sql.h"
#include "db/store_internal.h"
#include "domain/forms/forms.h"

#define MS(param) "(" param "::bigint * interval '1 millisecond')"

orch_err_t db__worker_task_create(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                  const orch_task_spec_t *t, bool only_if_served, bool *created,
                                  orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    orch_err_t rc;

    *created = false;
    /* Data-modifying CTEs run whether or not they are read: the earlier open task of the step
     * (a retried step) is cancelled, so its worker's answer is refused. */
    // clang-format off
    rc = db_execp(
        tx->conn,
        "WITH old AS (UPDATE worker_tasks SET status = 'cancelled', token_hash = NULL, "
        "  lease_expires_time = NULL, end_time = now() WHERE process_id = $1 AND step_key = $2 "
        "  AND status IN ('pending', 'delivered') RETURNING 1), "
        "ins AS (INSERT INTO worker_tasks (process_id, step_key, step_name, task_type, "
        "  needs_secrets, max_attempts, backoff_ms, backoff_max_ms, deadline_time) "
        "  SELECT $1, $2, $3, $4, $5::boolean, $6, $7, $8, now() + " MS("$9") " "
        "  WHERE NOT $10::boolean OR EXISTS (SELECT 1 FROM step_workers w WHERE "
        "    $4 = ANY (w.task_types) AND w.expire_time > now()) RETURNING task_id) "
        "SELECT task_id, pg_notify('orch_worker_tasks', $4) FROM ins",
        10,
        (const char *[]){t->process_id, t->step_key, t->step_name, t->task_type,
                         t->needs_secrets ? "true" : "false", DB_INT(t->max_attempts),
                         DB_INT(t->backoff_ms), DB_INT(t->backoff_max_ms), DB_INT(t->timeout_ms),
                         only_if_served ? "true" : "false"},
        &res, err);
    // clang-format on
    if (!rc)
        *created = PQntuples(res) == 1;
    PQclear(res);
    return rc;
}

orch_err_t db__worker_connect(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const char *worker_id, const char *identity, const char *name,
                              const char *replica_id, const char *const *types, size_t ntypes,
                              int capacity, int expire_ms, orch_error_t *err)
{
    db__no_tx(tx);
    json_t *arr = json_array();
    char *ta = NULL;
    orch_err_t rc;

    for (size_t i = 0; i < ntypes; i++)
        json_array_append_new(arr, json_string(types[i]));
    ta = db__jtext(arr);
    // clang-format off
    rc = db__query(st, NULL, ctx,
                  "WITH i AS (INSERT INTO step_workers (worker_id, identity, name, replica_id, "
                  "task_types, capacity, expire_time) SELECT $1, $2, $3, $4, array(SELECT "
                  "jsonb_array_elements_text($5::jsonb)), $6, now() + " MS("$7") " RETURNING 1) "
                  "SELECT pg_notify('orch_engine', 'workers') FROM i",
                  7, (const char *[]){worker_id, identity, name, replica_id, ta, DB_INT(capacity),
                                      DB_INT(expire_ms)}, NULL,
                  err);
    // clang-format on
    json_decref(arr);
    free(ta);
    return rc;
}

orch_err_t db__worker_disconnect(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 const char *worker_id, orch_error_t *err)
{
    db__no_tx(tx);
    return db__query(st, NULL, ctx, "DELETE FROM step_workers WHERE worker_id = $1", 1,
                     (const char *[]){worker_id}, NULL, err);
}

orch_err_t db__worker_heartbeat(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *worker_id, int lease_ms, int expire_ms, bool *connected,
                                int *renewed, int64_t *lease_expires_us, orch_error_t *err)
{
    db__no_tx(tx);
    PGresult *res = NULL;
    orch_err_t rc;

    *connected = false;
    *renewed = 0;
    *lease_expires_us = 0;
    /* A worker whose stream ended (a graceful stop) still renews the tasks it finishes. */
    // clang-format off
    rc = db__query(st, NULL, ctx,
                  "WITH w AS (UPDATE step_workers SET heartbeat_time = now(), expire_time = "
                  "  now() + " MS("$3") " WHERE worker_id = $1 RETURNING 1), "
                  "t AS (UPDATE worker_tasks SET lease_expires_time = now() + " MS("$2") " "
                  "  WHERE worker_id = $1 AND status = 'delivered' RETURNING 1) "
                  "SELECT (SELECT count(*) FROM w), (SELECT count(*) FROM t), "
                  US("now() + " MS("$2")),
                  3, (const char *[]){worker_id, DB_INT(lease_ms), DB_INT(expire_ms)}, &res, err);
    // clang-format on
    if (!rc) {
        *connected = atoi(PQgetvalue(res, 0, 0)) > 0;
        *renewed = atoi(PQgetvalue(res, 0, 1));
        *lease_expires_us = db__llv(res, 0, 2);
        if (!*connected && *renewed == 0)
            rc = orch_error_set(err, ORCH_NOT_FOUND, "WORKER_NOT_FOUND",
                                "no worker %s is connected or holds a task; open StreamTasks "
                                "again",
                                worker_id);
    }
    PQclear(res);
    return rc;
}

orch_err_t db__worker_claim(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *worker_id, int lease_ms, int max, orch_worker_task_t *out,
                            size_t *n, bool *alive, orch_error_t *err)
{
    db__no_tx(tx);
    db_conn_ref_t r = {0};
    PGresult *res = NULL;
    orch_err_t rc;

    *n = 0;
    *alive = false;
    rc = db__conn_get(st, NULL, ctx, &r, err);
    if (rc)
        return rc;
    /* The token: 64 hex digits of a hash of two random UUIDs (244 random bits), handed out
     * once; only its own hash is kept. The first row always comes back (alive). */
    // clang-format off
    rc = db_execp(
        r.c,
        "WITH w AS (SELECT name, task_types, capacity FROM step_workers WHERE worker_id = $1 "
        "  AND expire_time > now()), "
        "busy AS (SELECT count(*) AS n FROM worker_tasks WHERE worker_id = $1 AND "
        "  status = 'delivered' AND lease_expires_time > now()), "
        "c AS (SELECT t.task_id, encode(sha256(convert_to(gen_random_uuid()::text || "
        "  gen_random_uuid()::text, 'UTF8')), 'hex') AS tok FROM worker_tasks t "
        "  JOIN processes p ON p.process_id = t.process_id AND p.last_status = "
        "  'awaiting_callback' "
        "  WHERE t.task_type = ANY ((SELECT task_types FROM w)::text[]) AND "
        "  ((t.status = 'pending' AND t.available_time <= now()) OR (t.status = 'delivered' "
        "   AND t.lease_expires_time < now() AND t.attempt < t.max_attempts)) "
        "  AND t.deadline_time > now() "
        "  AND NOT coalesce((SELECT bool_or(paused) FROM engine_settings), false) "
        "  ORDER BY t.available_time "
        "  LIMIT (SELECT greatest(0, least($3::int, w.capacity - busy.n)) FROM w, busy) "
        "  FOR UPDATE OF t SKIP LOCKED), "
        "u AS (UPDATE worker_tasks t SET status = 'delivered', attempt = t.attempt + 1, "
        "  token_hash = " TOKEN_HASH("c.tok") ", worker_id = $1, worker_name = "
        "  (SELECT name FROM w), lease_expires_time = now() + " MS("$2") " FROM c "
        "  WHERE t.task_id = c.task_id RETURNING t.task_id, t.process_id, t.step_key, "
        "  t.step_name, t.task_type, t.attempt, c.tok, t.needs_secrets, "
        "  " US("t.deadline_time") " AS deadline_us, " US("t.lease_expires_time") " AS lease_us) "
        "SELECT a.alive, u.task_id, u.process_id, u.step_key, u.step_name, u.task_type, "
        "  u.attempt, u.tok, u.needs_secrets, u.deadline_us, u.lease_us, "
        "  (SELECT name FROM workflows f WHERE f.workflow_id = p.workflow_id), "
        "  orch_state_of(p.process_id, p.state, p.state_lag)::text "
        "FROM (SELECT count(*) AS alive FROM w) a LEFT JOIN (u JOIN processes p USING "
        "  (process_id)) ON true",
        3, (const char *[]){worker_id, DB_INT(lease_ms), DB_INT(max)}, &res, err);
    // clang-format on
    if (rc)
        goto out;
    *alive = PQntuples(res) > 0 && atoi(PQgetvalue(res, 0, 0)) > 0;
    for (int i = 0; i < PQntuples(res) && *n < (size_t)max; i++) {
        orch_worker_task_t *t = &out[*n];
        json_t *secrets = NULL;
        if (PQgetisnull(res, i, 1))
            continue;
        memset(t, 0, sizeof(*t));
        snprintf(t->task_id, sizeof(t->task_id), "%s", PQgetvalue(res, i, 1));
        snprintf(t->process_id, sizeof(t->process_id), "%s", PQgetvalue(res, i, 2));
        snprintf(t->step_key, sizeof(t->step_key), "%s", PQgetvalue(res, i, 3));
        snprintf(t->step_name, sizeof(t->step_name), "%s", PQgetvalue(res, i, 4));
        snprintf(t->task_type, sizeof(t->task_type), "%s", PQgetvalue(res, i, 5));
        t->attempt = atoi(PQgetvalue(res, i, 6));
        snprintf(t->token, sizeof(t->token), "%s", PQgetvalue(res, i, 7));
        t->deadline_us = db__llv(res, i, 9);
        t->lease_expires_us = db__llv(res, i, 10);
        snprintf(t->workflow, sizeof(t->workflow), "%s", PQgetvalue(res, i, 11));
        t->state = json_loads(PQgetvalue(res, i, 12), 0, NULL);
        if (!json_is_object(t->state)) {
            json_decref(t->state);
            t->state = json_object();
        }
        (*n)++;
        /* Secret answers only for a step that declared it needs them; the stored state has
         * them masked. */
        if (db__boolv(res, i, 8)) {
            orch_error_t e2;
            orch_error_init(&e2);
            if (db__process_secrets_get(st, NULL, ctx, t->process_id, &secrets, &e2) == ORCH_OK &&
                secrets) {
                json_t *m = orch_json_deep_merge(t->state, secrets);
                json_decref(t->state);
                t->state = m;
            }
            json_decref(secrets);
            t->secrets_included = true;
        }
    }
out:
    PQclear(res);
    db__conn_put(&r);
    return rc;
}

/* Locks the task and checks the answer's token: NOT_FOUND for a task that never existed,
 * FAILED_PRECONDITION TASK_ATTEMPT_STALE for anything but the current attempt's token.
 * process_id, step_key (256), *attempt, *max_attempts, backoff (ms) filled on success. */
/* A locked task as an answer reads it. */
typedef struct task_row {
    char process_id[37], step_key[256];
    int attempt, max_attempts, backoff_ms, backoff_max_ms;
} task_row_t;

static orch_err_t task_lock(orch_tx_t *tx, const orch_task_answer_t *a, task_row_t *t,
                            orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc;
    // clang-format off
    rc = db_execp(tx->conn,
                  "SELECT status, coalesce(token_hash = " TOKEN_HASH("$2") ", false), process_id, "
                  "step_key, attempt, max_attempts, backoff_ms, backoff_max_ms FROM worker_tasks "
                  "WHERE task_id = $1 FOR UPDATE",
                  2, (const char *[]){a->task_id, a->token}, &res, err);
    // clang-format on
    if (rc)
        goto out;
    if (PQntuples(res) != 1) {
        rc = orch_error_set(err, ORCH_NOT_FOUND, "TASK_NOT_FOUND", "no task has id %s", a->task_id);
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "delivered") != 0 || PQgetvalue(res, 0, 1)[0] != 't') {
        const char *st = PQgetvalue(res, 0, 0);
        rc = orch_error_set(
            err, ORCH_FAILED_PRECONDITION, "TASK_ATTEMPT_STALE",
            "the attempt token is not the current attempt of task %s (%s); the answer changes "
            "nothing",
            a->task_id,
            strcmp(st, "done") == 0        ? "it was answered already"
            : strcmp(st, "failed") == 0    ? "the process failed at it"
            : strcmp(st, "cancelled") == 0 ? "the step was run again or the process moved on"
            : strcmp(st, "pending") == 0   ? "its attempt ended; it waits for a worker again"
                                           : "a later attempt was delivered to another worker");
        goto out;
    }
    snprintf(t->process_id, sizeof(t->process_id), "%s", PQgetvalue(res, 0, 2));
    snprintf(t->step_key, sizeof(t->step_key), "%s", PQgetvalue(res, 0, 3));
    t->attempt = atoi(PQgetvalue(res, 0, 4));
    t->max_attempts = atoi(PQgetvalue(res, 0, 5));
    t->backoff_ms = atoi(PQgetvalue(res, 0, 6));
    t->backoff_max_ms = atoi(PQgetvalue(res, 0, 7));
out:
    PQclear(res);
    return rc;
}

/* The process of a locked task, locked and awaiting it. */
static orch_err_t process_awaiting(orch_tx_t *tx, const char *task_id, const char *process_id,
                                   char *status, orch_error_t *err)
{
    orch_err_t rc = db__process_lock_row(tx, process_id, status, NULL, NULL, err);
    if (!rc && strcmp(status, "awaiting_callback") != 0) {
        /* Aborted (say) while the worker worked: the task is over (the heartbeat's sweep
         * cancels it; this transaction is rolled back with the refusal). */
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "TASK_ATTEMPT_STALE",
                            "process %s is %s and no longer waits for task %s; the answer changes "
                            "nothing",
                            process_id, status, task_id);
    }
    return rc;
}

/* How CompleteTask and FailTask begin: a unit of work (*tx, the caller ends it), the task
 * locked and fenced by the answer's token (*t), its process still awaiting it. */
static orch_err_t answer_begin(orch_store_t *st, const orch_ctx_t *ctx, const orch_task_answer_t *a,
                               orch_tx_t **tx, task_row_t *t, char *status, orch_error_t *err)
{
    orch_err_t rc = db__tx_begin(st, ctx, tx, err);
    if (!rc)
        rc = task_lock(*tx, a, t, err);
    if (!rc)
        rc = process_awaiting(*tx, a->task_id, t->process_id, status, err);
    return rc;
}

/* The delta a worker returned, as JSON text, with every key that holds a secret answer of
 * the process masked, as the engine masks an in-process step's delta (worker.c): a worker
 * that got the secrets (ORCH_REMOTE_STEP_SECRETS) and echoes one, or computes one under a
 * secret's name, never puts it in the state, the audit row or an event. Sets *out (owned by
 * the caller, freed with free()). */
static orch_err_t masked_delta(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *process_id, const json_t *delta, char **out,
                               orch_error_t *err)
{
    json_t *secrets = NULL, *copy = NULL;
    orch_err_t rc = db__process_secrets_get(st, tx, ctx, process_id, &secrets, err);

    if (rc)
        return rc;
    if (secrets && delta) {
        copy = json_deep_copy(delta);
        orch_assert(copy != NULL); /* jansson's only failure here is out of memory */
        orch_json_mask_like(copy, secrets);
    }
    *out = db__jtext(copy ? copy : delta);
    json_decref(copy);
    json_decref(secrets);
    return ORCH_OK;
}

orch_err_t db__worker_task_complete(orch_store_t *st, orch_tx_t *outer, const orch_ctx_t *ctx,
                                    const orch_task_answer_t *a, char *status, orch_error_t *err)
{
    db__no_tx(outer);
    orch_tx_t *tx = NULL;
    PGresult *res = NULL;
    task_row_t tr;
    char *delta = NULL;
    orch_err_t rc;

    status[0] = '\0';
    rc = answer_begin(st, ctx, a, &tx, &tr, status, err);
    if (!rc)
        rc = masked_delta(st, tx, ctx, tr.process_id, a->delta, &delta, err);
    if (rc)
        goto out;
    // clang-format off
    rc = db_execp(
        tx->conn,
        "WITH t AS (UPDATE worker_tasks SET status = 'done', token_hash = NULL, "
        "  lease_expires_time = NULL, end_time = now(), executed_by = $3 || coalesce('/' || "
        "  worker_name, '') WHERE task_id = $1 RETURNING process_id, step_key, step_name, "
        "  executed_by), "
        "u AS (UPDATE processes p SET last_status = 'resumed', runnable = true, "
        "  next_run_time = now(), lease_owner = NULL, lease_expires_time = NULL, "
        "  lease_token = p.lease_token + 1, deadline_time = NULL, last_step = t.step_name, "
        "  last_step_key = t.step_key, retry_count = 0, update_time = now(), "
        "  last_event_sequence = p.last_event_sequence + 2 FROM t WHERE p.process_id = "
        "  t.process_id RETURNING p.process_id, p.last_event_sequence, "
        "  orch_state_of(p.process_id, p.state, p.state_lag) || $2::jsonb "
        "  AS state, t.step_key, t.step_name, t.executed_by), "
        "s AS (INSERT INTO process_steps (process_id, sequence, step_key, name, status, state, "
        "  state_delta, executed_by) SELECT u.process_id, " DB_NEXT_STEP_SEQ("u.process_id") ", "
        "  u.step_key, u.step_name, 'success', u.state, $2::jsonb, u.executed_by FROM u) "
        "INSERT INTO process_events (process_id, sequence, kind, payload) "
        "SELECT process_id, last_event_sequence - 1, 'step_committed', jsonb_build_object("
        "  'step_key', step_key, 'name', step_name, 'status', 'success', 'state_delta', "
        "  $2::jsonb) FROM u UNION ALL "
        "SELECT process_id, last_event_sequence, 'status_changed', jsonb_build_object("
        "  'old_status', 'awaiting_callback', 'new_status', 'resumed', 'actor', executed_by) "
        "FROM u RETURNING 1",
        3, (const char *[]){a->task_id, delta, a->executed_by}, &res, err);
    // clang-format on
    if (!rc)
        rc = db_exec(tx->conn,
                     "SELECT pg_notify('orch_engine', ''), pg_notify('orch_worker_tasks', '')",
                     NULL, err);
out:
    if (tx) /* one exit: commits when every step went well, else rolls back */
        rc = db__tx_end(tx, rc, err);
    if (!rc)
        snprintf(status, 32, "resumed");
    PQclear(res);
    free(delta);
    return rc;
}

/* Fails the process at the locked task (status failed, a failed audit row, an event). */
static orch_err_t fail_process(orch_tx_t *tx, const char *task_id, const char *actor,
                               const char *reason, const char *message, const json_t *details,
                               orch_error_t *err)
{
    json_t *fd = json_pack("{s:s, s:s, s:O}", "reason", reason, "message", message, "details",
                           details ? details : json_object());
    char *fds = db__jtext(fd);
    // clang-format off
    orch_err_t rc = db_execp(
        tx->conn,
        "WITH t AS (UPDATE worker_tasks SET status = 'failed', token_hash = NULL, "
        "  lease_expires_time = NULL, end_time = now(), executed_by = $2 || coalesce('/' || "
        "  worker_name, ''), last_error = $4::jsonb WHERE task_id = $1 RETURNING process_id, "
        "  step_key, step_name, executed_by), "
        "u AS (UPDATE processes p SET last_status = 'failed', runnable = false, "
        "  next_run_time = NULL, lease_owner = NULL, lease_expires_time = NULL, "
        "  lease_token = p.lease_token + 1, deadline_time = NULL, "
        "  retry_count = p.retry_count + 1, last_step = t.step_name, last_step_key = "
        "  t.step_key, failed_reason = $3, failed_details = $4::jsonb, update_time = now(), "
        "  last_event_sequence = p.last_event_sequence + 1 FROM t WHERE p.process_id = "
        "  t.process_id AND p.last_status = 'awaiting_callback' RETURNING p.process_id, "
        "  p.last_event_sequence, orch_state_of(p.process_id, p.state, p.state_lag) AS state, "
        "  t.step_key, t.step_name, t.executed_by), "
        "s AS (INSERT INTO process_steps (process_id, sequence, step_key, name, status, state, "
        "  error, executed_by) SELECT u.process_id, " DB_NEXT_STEP_SEQ("u.process_id") ", "
        "  u.step_key, u.step_name, 'failed', u.state, $4::jsonb, u.executed_by FROM u) "
        "INSERT INTO process_events (process_id, sequence, kind, payload) "
        "SELECT process_id, last_event_sequence, 'status_changed', jsonb_build_object("
        "  'old_status', 'awaiting_callback', 'new_status', 'failed', 'reason', $5::text, "
        "  'step_key', step_key, 'actor', executed_by) FROM u RETURNING 1",
        5, (const char *[]){task_id, actor, message, fds, reason}, NULL, err);
    // clang-format on
    json_decref(fd);
    free(fds);
    return rc;
}

orch_err_t db__worker_task_fail(orch_store_t *st, orch_tx_t *outer, const orch_ctx_t *ctx,
                                const orch_task_answer_t *a, bool *will_retry, int64_t *next_us,
                                char *status, orch_error_t *err)
{
    db__no_tx(outer);
    orch_tx_t *tx = NULL;
    PGresult *res = NULL;
    task_row_t tr;
    orch_err_t rc;

    *will_retry = false;
    *next_us = 0;
    status[0] = '\0';
    rc = answer_begin(st, ctx, a, &tx, &tr, status, err);
    if (rc)
        goto out;
    if (a->retryable && tr.attempt < tr.max_attempts) {
        /* Back to pending after the step's back-off: backoff_ms * 2^(attempt - 1), capped. */
        json_t *le =
            json_pack("{s:s, s:s, s:O, s:s}", "reason", a->reason, "message", a->message, "details",
                      a->details ? a->details : json_object(), "by", a->executed_by);
        char *les = db__jtext(le);
        long long delay = tr.backoff_ms;
        for (int i = 1; i < tr.attempt && delay < tr.backoff_max_ms; i++)
            delay *= 2;
        if (delay > tr.backoff_max_ms)
            delay = tr.backoff_max_ms;
        /* The failed attempt is audited like an in-process step's retryable failure: a
         * 'waiting' step row with the error and the worker's identity, and its
         * step_committed event; the process itself keeps waiting for the task. */
        // clang-format off
        rc = db_execp(
            tx->conn,
            "WITH t AS (UPDATE worker_tasks SET status = 'pending', token_hash = NULL, "
            "  lease_expires_time = NULL, worker_id = NULL, last_error = $2::jsonb, "
            "  available_time = now() + " MS("$3") " WHERE task_id = $1 "
            "  RETURNING process_id, step_key, step_name, available_time, "
            "  $4 || coalesce('/' || worker_name, '') AS executed_by), "
            "u AS (UPDATE processes p SET last_event_sequence = p.last_event_sequence + 1, "
            "  update_time = now() FROM t WHERE p.process_id = t.process_id "
            "  RETURNING p.process_id, p.last_event_sequence, "
            "  orch_state_of(p.process_id, p.state, p.state_lag) AS state, t.step_key, "
            "  t.step_name, t.executed_by), "
            "s AS (INSERT INTO process_steps (process_id, sequence, step_key, name, status, state, "
            "  error, executed_by) SELECT u.process_id, " DB_NEXT_STEP_SEQ("u.process_id") ", "
            "  u.step_key, u.step_name, 'waiting', u.state, $2::jsonb, u.executed_by FROM u), "
            "e AS (INSERT INTO process_events (process_id, sequence, kind, payload) "
            "  SELECT process_id, last_event_sequence, 'step_committed', jsonb_build_object("
            "  'step_key', step_key, 'name', step_name, 'status', 'waiting', 'state_delta', "
            "  '{}'::jsonb, 'error', $2::jsonb) FROM u) "
            "SELECT " US("available_time") " FROM t",
            4, (const char *[]){a->task_id, les, DB_INT(delay), a->executed_by}, &res, err);
        // clang-format on
        json_decref(le);
        free(les);
        if (!rc) {
            *will_retry = true;
            *next_us = db__llv(res, 0, 0);
        }
    } else {
        rc = fail_process(tx, a->task_id, a->executed_by, a->reason, a->message, a->details, err);
        if (!rc)
            snprintf(status, 32, "failed");
    }
out:
    if (tx) /* one exit: commits when every step went well, else rolls back */
        rc = db__tx_end(tx, rc, err);
    PQclear(res);
    return rc;
}

orch_err_t db__worker_task_progress(orch_store_t *st, orch_tx_t *outer, const orch_ctx_t *ctx,
                                    const orch_task_answer_t *a, const char *message,
                                    const json_t *progress, int lease_ms, int64_t *lease_expires_us,
                                    orch_error_t *err)
{
    db__no_tx(outer);
    orch_tx_t *tx = NULL;
    PGresult *res = NULL;
    task_row_t tr;
    char *pg = db__jtext(progress);
    orch_err_t rc;

    *lease_expires_us = 0;
    rc = db__tx_begin(st, ctx, &tx, err);
    if (rc)
        goto out;
    rc = task_lock(tx, a, &tr, err);
    if (rc)
        goto out;
    // clang-format off
    rc = db_execp(
        tx->conn,
        "WITH t AS (UPDATE worker_tasks SET progress = $3::jsonb, progress_message = left($2, "
        "  2000), progress_time = now(), lease_expires_time = now() + " MS("$4") " WHERE "
        "  task_id = $1 RETURNING process_id, step_key, " US("lease_expires_time") " AS l), "
        "u AS (UPDATE processes p SET last_event_sequence = p.last_event_sequence + 1, "
        "  update_time = now() FROM t WHERE p.process_id = t.process_id "
        "  RETURNING p.process_id, p.last_event_sequence, t.step_key), "
        "e AS (INSERT INTO process_events (process_id, sequence, kind, payload) "
        "  SELECT process_id, last_event_sequence, 'callback_progress', jsonb_build_object("
        "  'step_key', step_key, 'message', $2::text, 'progress', $3::jsonb) FROM u) "
        "SELECT l FROM t",
        4, (const char *[]){a->task_id, message ? message : "", pg, DB_INT(lease_ms)}, &res, err);
    // clang-format on
    if (!rc && PQntuples(res) == 1)
        *lease_expires_us = db__llv(res, 0, 0);
out:
    if (tx) /* one exit: commits when every step went well, else rolls back */
        rc = db__tx_end(tx, rc, err);
    PQclear(res);
    free(pg);
    return rc;
}

orch_err_t db__worker_task_sweep(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 int *nfailed, json_t **served, orch_error_t *err)
{
    db__no_tx(tx);
    PGresult *res = NULL;
    orch_err_t rc;

    *nfailed = 0;
    *served = NULL;
    db_rt_kind(DB_RT_SWEEP);
    /* One statement (the heartbeat's round trips are counted): open tasks whose process
     * moved on (aborted, say) are over; workers whose heartbeat expired long ago (their
     * replica died) are forgotten; a task past its deadline, or whose last attempt's lease
     * ran out, fails its process. The sets are disjoint (awaiting_callback or not). */
    // clang-format off
    rc = db__query(
        st, NULL, ctx,
        "WITH cx AS (UPDATE worker_tasks t SET status = 'cancelled', token_hash = NULL, "
        "  lease_expires_time = NULL, end_time = now() FROM processes p WHERE "
        "  p.process_id = t.process_id AND t.status IN ('pending', 'delivered') AND "
        "  p.last_status <> 'awaiting_callback' RETURNING 1), "
        "dw AS (DELETE FROM step_workers WHERE expire_time < now() - interval '10 minutes' "
        "  RETURNING 1), "
        "x AS (SELECT t.task_id, CASE WHEN t.deadline_time <= now() THEN 'WORKER_TASK_TIMEOUT' "
        "  ELSE 'WORKER_ATTEMPTS_EXHAUSTED' END AS reason, CASE WHEN t.deadline_time <= now() "
        "  THEN 'No worker answered step ' || t.step_key || ' before its deadline' ELSE "
        "  'Step ' || t.step_key || ' was delivered ' || t.attempt || ' times and no worker "
        "answered within its lease' END AS msg FROM worker_tasks t JOIN processes p ON "
        "  p.process_id = t.process_id AND p.last_status = 'awaiting_callback' "
        "  WHERE t.status IN ('pending', 'delivered') AND (t.deadline_time <= now() OR "
        "  (t.status = 'delivered' AND t.lease_expires_time < now() AND t.attempt >= "
        "  t.max_attempts)) LIMIT 100 FOR UPDATE OF t SKIP LOCKED), "
        "t AS (UPDATE worker_tasks w SET status = 'failed', token_hash = NULL, "
        "  lease_expires_time = NULL, end_time = now(), executed_by = 'engine', last_error = "
        "  jsonb_build_object('reason', x.reason, 'message', x.msg, 'details', '{}'::jsonb) "
        "  FROM x WHERE w.task_id = x.task_id RETURNING w.process_id, w.step_key, w.step_name, "
        "  w.last_error, x.reason, x.msg), "
        "u AS (UPDATE processes p SET last_status = 'failed', runnable = false, "
        "  next_run_time = NULL, lease_owner = NULL, lease_expires_time = NULL, "
        "  lease_token = p.lease_token + 1, deadline_time = NULL, "
        "  retry_count = p.retry_count + 1, last_step = t.step_name, last_step_key = "
        "  t.step_key, failed_reason = t.msg, failed_details = t.last_error, update_time = "
        "  now(), last_event_sequence = p.last_event_sequence + 1 FROM t WHERE p.process_id = "
        "  t.process_id AND p.last_status = 'awaiting_callback' RETURNING p.process_id, "
        "  p.last_event_sequence, orch_state_of(p.process_id, p.state, p.state_lag) AS state, "
        "  t.step_key, t.step_name, t.last_error, t.reason), "
        "s AS (INSERT INTO process_steps (process_id, sequence, step_key, name, status, state, "
        "  error, executed_by) SELECT u.process_id, " DB_NEXT_STEP_SEQ("u.process_id") ", "
        "  u.step_key, u.step_name, 'failed', u.state, u.last_error, 'engine' FROM u), "
        "e AS (INSERT INTO process_events (process_id, sequence, kind, payload) "
        "  SELECT process_id, last_event_sequence, 'status_changed', jsonb_build_object("
        "  'old_status', 'awaiting_callback', 'new_status', 'failed', 'reason', reason, "
        "  'step_key', step_key) FROM u RETURNING 1) "
        "SELECT (SELECT count(*) FROM e), (SELECT coalesce(jsonb_agg(DISTINCT t), '[]') FROM "
        "  step_workers w, unnest(w.task_types) t WHERE w.expire_time > now())::text",
        0, NULL, &res, err);
    // clang-format on
    if (!rc) {
        *nfailed = atoi(PQgetvalue(res, 0, 0));
        *served = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    }
    PQclear(res);
    return rc;
}

orch_err_t db__worker_task_pending(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *process_id, json_t **out, orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc;

    *out = NULL;
    // clang-format off
    rc = db__query(st, tx, ctx,
                  "SELECT t.task_type, t.status, t.attempt, coalesce(t.worker_name, ''), "
                  US("t.create_time") ", " US("t.deadline_time") ", "
                  US("t.lease_expires_time") ", coalesce(t.progress_message, ''), "
                  "EXISTS (SELECT 1 FROM step_workers w WHERE t.task_type = ANY (w.task_types) "
                  "AND w.expire_time > now()), t.step_key, t.max_attempts, "
                  "coalesce(t.last_error->>'message', '') FROM worker_tasks t "
                  "WHERE t.process_id = $1 AND t.status IN ('pending', 'delivered') "
                  "ORDER BY t.create_time DESC LIMIT 1",
                  1, (const char *[]){process_id}, &res, err);
    // clang-format on
    if (!rc && PQntuples(res) == 1)
        *out = json_pack("{s:s, s:s, s:i, s:s, s:I, s:I, s:I, s:s, s:b, s:s, s:i, s:s}",
                         "task_type", PQgetvalue(res, 0, 0), "status", PQgetvalue(res, 0, 1),
                         "attempt", atoi(PQgetvalue(res, 0, 2)), "worker", PQgetvalue(res, 0, 3),
                         "create_us", (json_int_t)db__llv(res, 0, 4), "deadline_us",
                         (json_int_t)db__llv(res, 0, 5), "lease_us", (json_int_t)db__llv(res, 0, 6),
                         "progress_message", PQgetvalue(res, 0, 7), "served", db__boolv(res, 0, 8),
                         "step_key", PQgetvalue(res, 0, 9), "max_attempts",
                         atoi(PQgetvalue(res, 0, 10)), "last_error", PQgetvalue(res, 0, 11));
    PQclear(res);
    return rc;
}
