/* Input steps and callbacks in PostgreSQL: the answers of a suspended input step committed
 * as its success row with the input_states record; callback tokens (SHA-256 only), delivery
 * once, progress events, and the time-out sweep. Every change of a process happens under
 * its row lock and bumps lease_token, so a stale worker cannot write over it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "db/step_sql.h"
#include "db/store_internal.h"
#include "domain/forms/forms.h"

static orch_err_t token_invalid(orch_error_t *err)
{
    return orch_error_set(err, ORCH_PERMISSION_DENIED, "CALLBACK_TOKEN_INVALID",
                          "the callback token is not valid for this process");
}

orch_err_t db__process_lock_row(orch_tx_t *tx, const char *process_id, char *status,
                                char *last_step_key, bool *is_task, orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc = db_execp(tx->conn,
                             "SELECT last_status, coalesce(last_step_key, ''), is_task FROM "
                             "processes WHERE process_id = $1 FOR UPDATE",
                             1, (const char *[]){process_id}, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return orch_error_set(err, ORCH_NOT_FOUND, "PROCESS_NOT_FOUND", "no process has id %s",
                              process_id);
    }
    snprintf(status, 32, "%s", PQgetvalue(res, 0, 0));
    if (last_step_key)
        snprintf(last_step_key, 256, "%s", PQgetvalue(res, 0, 1));
    if (is_task)
        *is_task = db__boolv(res, 0, 2);
    PQclear(res);
    return ORCH_OK;
}

orch_err_t db__process_lock(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *process_id, char *status, char *last_step_key,
                            orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    return db__process_lock_row(tx, process_id, status, last_step_key, NULL, err);
}

orch_err_t db__process_link_subscription(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                         const char *process_id, const char *subscription_id,
                                         orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    return db_execp(tx->conn,
                    "INSERT INTO processes_subscriptions (process_id, subscription_id) VALUES "
                    "($1, $2) ON CONFLICT DO NOTHING",
                    2, (const char *[]){process_id, subscription_id}, NULL, err);
}

orch_err_t db__process_resume_input(orch_store_t *store, orch_tx_t *tx, const orch_ctx_t *ctx,
                                    const char *process_id, const char *step_key,
                                    const char *step_name, const json_t *masked_inputs,
                                    const json_t *state, const json_t *delta, const char *actor,
                                    orch_error_t *err)
{
    db__in_tx(store, tx, ctx);
    char status[32], last[256];
    char *in = db__jtext(masked_inputs), *st = db__jtext(state), *dl = db__jtext(delta);
    orch_err_t rc = db__process_lock_row(tx, process_id, status, last, NULL, err);
    if (rc)
        goto out;
    if (strcmp(status, "suspended") != 0 || strcmp(last, step_key) != 0) {
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "PROCESS_NOT_SUSPENDED",
                            "process %s is %s, not suspended at input step %s", process_id, status,
                            step_key);
        goto out;
    }
    // clang-format off
    rc = db_execp(
        tx->conn,
        "WITH u AS (UPDATE processes p SET last_status = 'resumed', runnable = true, "
        "  next_run_time = now(), lease_owner = NULL, lease_expires_time = NULL, "
        "  lease_token = p.lease_token + 1, deadline_time = NULL, last_step = $3, "
        "  last_step_key = $2, retry_count = 0, failed_reason = NULL, failed_details = NULL, "
        "  update_time = now(), last_event_sequence = p.last_event_sequence + 2 "
        "  WHERE process_id = $1 RETURNING process_id, last_event_sequence), "
        "i AS (INSERT INTO input_states (process_id, input_type, step_key, inputs, given_by) "
        "  SELECT $1, 'user_input', $2, $4::jsonb, $7 FROM u), "
        "s AS (INSERT INTO process_steps (process_id, sequence, step_key, name, status, state, "
        "  state_delta, executed_by) SELECT $1, " DB_NEXT_STEP_SEQ("$1") ", "
        "  $2, $3, 'success', $5::jsonb, $6::jsonb, $7 FROM u) "
        "INSERT INTO process_events (process_id, sequence, kind, payload) "
        "SELECT process_id, last_event_sequence - 1, 'step_committed', jsonb_build_object("
        "  'step_key', $2::text, 'name', $3::text, 'status', 'success', 'state_delta', "
        "  $6::jsonb) FROM u UNION ALL "
        "SELECT process_id, last_event_sequence, 'status_changed', jsonb_build_object("
        "  'old_status', 'suspended', 'new_status', 'resumed', 'actor', $7::text) FROM u",
        7, (const char *[]){process_id, step_key, step_name, in, st, dl, actor}, NULL, err);
    // clang-format on
    if (!rc)
        rc = db_exec(tx->conn, "SELECT pg_notify('orch_engine', '')", NULL, err);
out:
    free(in);
    free(st);
    free(dl);
    return rc;
}

orch_err_t db__process_secrets_put(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *process_id, const char *step_key,
                                   const json_t *overlay, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    char *text = db__jtext(overlay);
    orch_err_t rc =
        db_execp(tx->conn,
                 "INSERT INTO process_secrets (process_id, step_key, secrets) "
                 "VALUES ($1, $2, $3::jsonb) ON CONFLICT (process_id, step_key) DO "
                 "UPDATE SET secrets = EXCLUDED.secrets, create_time = now()",
                 3, (const char *[]){process_id, step_key ? step_key : "", text}, NULL, err);
    /* The text held secrets: clear it before giving the memory back. */
    memset(text, 0, strlen(text));
    free(text);
    return rc;
}

orch_err_t db__process_secrets_get(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *process_id, json_t **out, orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc;

    *out = NULL;
    rc = db__query(st, tx, ctx,
                   "SELECT secrets::text FROM process_secrets WHERE process_id = $1 "
                   "ORDER BY create_time, step_key",
                   1, (const char *[]){process_id}, &res, err);
    for (int i = 0; !rc && i < PQntuples(res); i++) {
        json_t *o = json_loads(PQgetvalue(res, i, 0), 0, NULL), *m;
        if (!json_is_object(o)) {
            json_decref(o);
            continue;
        }
        m = *out ? orch_json_deep_merge(*out, o) : json_incref(o);
        json_decref(*out);
        json_decref(o);
        *out = m;
    }
    PQclear(res);
    return rc;
}

orch_err_t db__callback_create(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *process_id, const char *step_key, const char *token,
                               int timeout_ms, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    orch_err_t rc;
    /* An earlier token of the same step (a retried step) stops working. */
    rc = db_execp(tx->conn,
                  "DELETE FROM callbacks WHERE process_id = $1 AND step_key = $2 AND "
                  "delivered_time IS NULL",
                  2, (const char *[]){process_id, step_key}, NULL, err);
    // clang-format off
    if (!rc)
        rc = db_execp(tx->conn,
                      "INSERT INTO callbacks (process_id, step_key, token_hash, expire_time) "
                      "VALUES ($1, $2, " TOKEN_HASH("$3") ", CASE WHEN $4::bigint > 0 THEN "
                      "now() + $4::bigint * interval '1 millisecond' END)",
                      4, (const char *[]){process_id, step_key, token,
                                          DB_INT(timeout_ms > 0 ? timeout_ms : 0)}, NULL, err);
    // clang-format on
    return rc;
}

orch_err_t db__callback_deliver(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *process_id, const char *token, const json_t *result,
                                const char *actor, bool *already, char *status, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    char key[256], name[256];
    char *rs = db__jtext(result);
    orch_err_t rc;

    *already = false;
    rc = db__process_lock_row(tx, process_id, status, NULL, NULL, err);
    if (rc)
        goto out;
    // clang-format off
    rc = db_execp(tx->conn,
                  "SELECT c.step_key, c.delivered_time IS NOT NULL, coalesce(p.running_step_name, "
                  "p.last_step, c.step_key) FROM callbacks c JOIN processes p USING "
                  "(process_id) WHERE c.process_id = $1 AND c.token_hash = " TOKEN_HASH("$2"),
                  2, (const char *[]){process_id, token}, &res, err);
    // clang-format on
    if (rc)
        goto out;
    if (PQntuples(res) != 1) {
        rc = token_invalid(err);
        goto out;
    }
    if (db__boolv(res, 0, 1)) {
        *already = true;
        goto out;
    }
    snprintf(key, sizeof(key), "%s", PQgetvalue(res, 0, 0));
    snprintf(name, sizeof(name), "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    res = NULL;
    if (strcmp(status, "awaiting_callback") != 0) {
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "PROCESS_NOT_AWAITING_CALLBACK",
                            "process %s is %s and no longer waits for this callback", process_id,
                            status);
        goto out;
    }
    // clang-format off
    rc = db_execp(
        tx->conn,
        "WITH c AS (UPDATE callbacks SET delivered_time = now(), result = $3::jsonb, "
        "  delivered_by = $4 WHERE process_id = $1 AND token_hash = " TOKEN_HASH("$2") " AND "
        "  delivered_time IS NULL RETURNING step_key), "
        "st AS (SELECT " DB_LAST_STATE("$1") " || $3::jsonb AS state), "
        "u AS (UPDATE processes p SET last_status = 'resumed', runnable = true, "
        "  next_run_time = now(), lease_owner = NULL, lease_expires_time = NULL, "
        "  lease_token = p.lease_token + 1, deadline_time = NULL, last_step = $5, "
        "  last_step_key = $6, retry_count = 0, update_time = now(), "
        "  last_event_sequence = p.last_event_sequence + 2 FROM c WHERE p.process_id = $1 "
        "  RETURNING p.process_id, p.last_event_sequence), "
        "s AS (INSERT INTO process_steps (process_id, sequence, step_key, name, status, state, "
        "  state_delta, executed_by) SELECT $1, " DB_NEXT_STEP_SEQ("$1") ", "
        "  $6, $5, 'success', st.state, $3::jsonb, $4 FROM u, st) "
        "INSERT INTO process_events (process_id, sequence, kind, payload) "
        "SELECT process_id, last_event_sequence - 1, 'step_committed', jsonb_build_object("
        "  'step_key', $6::text, 'name', $5::text, 'status', 'success', 'state_delta', "
        "  $3::jsonb) FROM u UNION ALL "
        "SELECT process_id, last_event_sequence, 'status_changed', jsonb_build_object("
        "  'old_status', 'awaiting_callback', 'new_status', 'resumed', 'actor', $4::text) "
        "FROM u RETURNING 1",
        6, (const char *[]){process_id, token, rs, actor, name, key}, &res, err);
    // clang-format on
    if (rc)
        goto out;
    if (PQntuples(res) == 0) {
        rc = token_invalid(err);
        goto out;
    }
    snprintf(status, 32, "resumed");
    rc = db_exec(tx->conn, "SELECT pg_notify('orch_engine', '')", NULL, err);
out:
    PQclear(res);
    free(rs);
    return rc;
}

orch_err_t db__callback_progress(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 const char *process_id, const char *token, const char *message,
                                 const json_t *progress, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    char *pg = db__jtext(progress);
    // clang-format off
    orch_err_t rc = db_execp(
        tx->conn,
        "WITH c AS (UPDATE callbacks SET progress = $4::jsonb, progress_message = left($3, "
        "  2000), progress_time = now() WHERE process_id = $1 AND token_hash = "
        TOKEN_HASH("$2") " AND delivered_time IS NULL RETURNING step_key), "
        "u AS (UPDATE processes p SET last_event_sequence = p.last_event_sequence + 1, "
        "  update_time = now() FROM c WHERE p.process_id = $1 "
        "  RETURNING p.process_id, p.last_event_sequence, c.step_key) "
        "INSERT INTO process_events (process_id, sequence, kind, payload) "
        "SELECT process_id, last_event_sequence, 'callback_progress', jsonb_build_object("
        "  'step_key', step_key, 'message', $3::text, 'progress', $4::jsonb) FROM u RETURNING 1",
        4, (const char *[]){process_id, token, message ? message : "", pg}, &res, err);
    // clang-format on
    if (!rc && PQntuples(res) == 0)
        rc = token_invalid(err);
    PQclear(res);
    free(pg);
    return rc;
}

orch_err_t db__callback_fail_expired(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, int *n,
                                     orch_error_t *err)
{
    db__no_tx(tx);
    PGresult *res = NULL;
    orch_err_t rc;

    *n = 0;
    db_rt_kind(DB_RT_SWEEP);
    // clang-format off
    rc = db__query(
        st, NULL, ctx,
        "WITH t AS (SELECT process_id, min(step_key) AS step_key FROM callbacks WHERE "
        "  delivered_time IS NULL AND expire_time < now() GROUP BY process_id), "
        "u AS (UPDATE processes p SET last_status = 'failed', runnable = false, "
        "  next_run_time = NULL, lease_owner = NULL, lease_expires_time = NULL, "
        "  lease_token = p.lease_token + 1, deadline_time = NULL, "
        "  retry_count = p.retry_count + 1, last_step_key = t.step_key, "
        "  failed_reason = 'No callback for step ' || t.step_key || "
        "    ' arrived before its deadline', "
        "  failed_details = jsonb_build_object('reason', 'CALLBACK_TIMEOUT', 'message', "
        "    'No callback for step ' || t.step_key || ' arrived before its deadline', "
        "    'details', jsonb_build_object('step_key', t.step_key)), "
        "  update_time = now(), last_event_sequence = p.last_event_sequence + 1 "
        "  FROM t WHERE p.process_id = t.process_id AND p.last_status = 'awaiting_callback' "
        "  RETURNING p.process_id, p.last_event_sequence, t.step_key, p.failed_reason, "
        "  p.failed_details, coalesce(p.last_step, t.step_key) AS name), "
        "s AS (INSERT INTO process_steps (process_id, sequence, step_key, name, status, state, "
        "  error, executed_by) SELECT u.process_id, " DB_NEXT_STEP_SEQ("u.process_id") ", "
        "  u.step_key, u.name, 'failed', " DB_LAST_STATE("u.process_id") ", u.failed_details, "
        "  'engine' FROM u) "
        "INSERT INTO process_events (process_id, sequence, kind, payload) "
        "SELECT process_id, last_event_sequence, 'status_changed', jsonb_build_object("
        "  'old_status', 'awaiting_callback', 'new_status', 'failed', 'reason', "
        "  'CALLBACK_TIMEOUT', 'step_key', step_key) FROM u RETURNING 1",
        0, NULL, &res, err);
    // clang-format on
    if (!rc)
        *n = PQntuples(res);
    PQclear(res);
    return rc;
}

orch_err_t db__callback_pending(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *process_id, json_t **out, orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc;

    *out = NULL;
    // clang-format off
    rc = db__query(st, tx, ctx,
                  "SELECT step_key, " US("create_time") ", " US("expire_time") ", "
                  "coalesce(progress, '{}'::jsonb)::text, coalesce(progress_message, ''), "
                  US("progress_time") " FROM callbacks WHERE process_id = $1 AND "
                  "delivered_time IS NULL ORDER BY create_time DESC LIMIT 1",
                  1, (const char *[]){process_id}, &res, err);
    // clang-format on
    if (!rc && PQntuples(res) == 1) {
        json_t *pg = json_loads(PQgetvalue(res, 0, 3), 0, NULL);
        *out = json_pack("{s:s, s:I, s:I, s:o, s:s, s:I}", "step_key", PQgetvalue(res, 0, 0),
                         "create_us", (json_int_t)db__llv(res, 0, 1), "expire_us",
                         (json_int_t)db__llv(res, 0, 2), "progress", pg ? pg : json_object(),
                         "progress_message", PQgetvalue(res, 0, 4), "progress_us",
                         (json_int_t)db__llv(res, 0, 5));
    }
    PQclear(res);
    return rc;
}
