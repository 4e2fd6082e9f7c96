/* Parallel branches in PostgreSQL: reading a parent's branch processes under its fenced row
 * lock (the join), starting / re-running / parking them, and RetryProcess of a process that
 * failed at a parallel step. The trigger of migration 0008 wakes a parked parent when its
 * last branch settles; docs/SCHEMA.md and that migration give the protocol. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "db/store_internal.h"

#define SETTLED "('completed', 'failed', 'api_unavailable', 'inconsistent_data', 'aborted')"
#define FAILED "('failed', 'api_unavailable', 'inconsistent_data', 'aborted')"

static json_t *objv(PGresult *res, int row, int col)
{
    json_t *j = PQgetisnull(res, row, col)
                    ? NULL
                    : json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        j = json_object();
    }
    return j;
}

static orch_err_t lease_lost(orch_error_t *err, const char *process_id)
{
    return orch_error_set(err, ORCH_ABORTED, "LEASE_LOST",
                          "process %s was taken over, aborted or timed out while its parallel "
                          "step was joined",
                          process_id);
}

orch_err_t db__branch_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                           const char *process_id, int64_t lease_token, const char *parallel_key,
                           orch_branch_row_t **rows, size_t *n, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    orch_err_t rc;

    *rows = NULL;
    *n = 0;
    /* The lock in a statement of its own: the next statement's snapshot then sees every
     * branch commit that took this lock before us (see 0008_parallel.sql). */
    rc = db_execp(tx->conn,
                  "SELECT 1 FROM processes WHERE process_id = $1 AND lease_token = $2 FOR UPDATE",
                  2, (const char *[]){process_id, DB_INT(lease_token)}, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return lease_lost(err, process_id);
    }
    PQclear(res);
    rc = db_execp(tx->conn,
                  "SELECT b.process_id, split_part(b.branch_key, '/', 2), b.last_status, "
                  "(SELECT inputs FROM input_states i WHERE i.process_id = b.process_id AND "
                  " i.input_type = 'initial_state' ORDER BY input_time LIMIT 1), "
                  "(SELECT state FROM process_steps s WHERE s.process_id = b.process_id "
                  " ORDER BY sequence DESC LIMIT 1), b.failed_reason, b.failed_details "
                  "FROM processes b WHERE b.parent_process_id = $1 "
                  "AND split_part(b.branch_key, '/', 1) = $2 ORDER BY b.branch_key",
                  2, (const char *[]){process_id, parallel_key}, &res, err);
    if (rc)
        return rc;
    *rows = orch_calloc((size_t)PQntuples(res) + 1, sizeof(**rows));
    for (int i = 0; i < PQntuples(res); i++) {
        orch_branch_row_t *b = &(*rows)[(*n)++];
        snprintf(b->process_id, sizeof(b->process_id), "%s", PQgetvalue(res, i, 0));
        b->name = db__dupv(res, i, 1);
        b->status = db__dupv(res, i, 2);
        b->initial = objv(res, i, 3);
        b->final = PQgetisnull(res, i, 4) ? json_incref(b->initial) : objv(res, i, 4);
        b->failed_reason = db__dupv(res, i, 5);
        b->failed_details = PQgetisnull(res, i, 6) ? NULL : objv(res, i, 6);
    }
    PQclear(res);
    return ORCH_OK;
}

/* Makes the parent runnable at once (the join) when every branch of parallel_key has
 * settled already, and wakes the engines. */
static orch_err_t join_if_settled(orch_tx_t *tx, const char *process_id, const char *parallel_key,
                                  orch_error_t *err)
{
    orch_err_t rc = db_execp(tx->conn,
                             "UPDATE processes p SET runnable = true, next_run_time = now() "
                             "WHERE p.process_id = $1 AND NOT EXISTS (SELECT 1 FROM processes b "
                             "WHERE b.parent_process_id = $1 AND split_part(b.branch_key, '/', "
                             "1) = $2 AND b.last_status NOT IN " SETTLED ")",
                             2, (const char *[]){process_id, parallel_key}, NULL, err);
    if (!rc)
        rc = db_exec(tx->conn, "SELECT pg_notify('orch_engine', '')", NULL, err);
    return rc;
}

/* Re-runs the failed branches of parallel_key named in names (a PostgreSQL array literal):
 * from their failed step, with a new fencing token. *count: how many. */
static orch_err_t rerun(orch_tx_t *tx, const char *process_id, const char *parallel_key,
                        const char *names, long *count, orch_error_t *err)
{
    long long n = 0;
    orch_err_t rc = db__exec_ll(
        tx->conn,
        "WITH u AS (UPDATE processes p SET last_status = 'resumed', runnable = true, "
        "  next_run_time = now(), lease_owner = NULL, lease_expires_time = NULL, "
        "  lease_token = p.lease_token + 1, deadline_time = NULL, running_step_key = NULL, "
        "  running_step_name = NULL, failed_reason = NULL, failed_details = NULL, "
        "  end_time = NULL, update_time = now() "
        "  WHERE p.parent_process_id = $1 AND split_part(p.branch_key, '/', 1) = $2 "
        "  AND split_part(p.branch_key, '/', 2) = ANY ($3::text[]) "
        "  AND p.last_status IN " FAILED " RETURNING 1) SELECT count(*) FROM u",
        3, (const char *[]){process_id, parallel_key, names}, &n, err);
    *count = (long)n;
    return rc;
}

orch_err_t db__branch_start(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *process_id, int64_t lease_token, const char *parallel_key,
                            const char *const *create, size_t ncreate, const json_t *state,
                            const char *const *rerun_names, size_t nrerun, const char *actor,
                            orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    char *input = json_dumps(state ? state : json_object(), JSON_COMPACT);
    char *names = NULL, *created = db__array(create, ncreate);
    orch_err_t rc = ORCH_OK;

    for (size_t i = 0; i < ncreate && !rc; i++) {
        char *bk = orch_asprintf("%s/%s", parallel_key, create[i]);
        rc = db_execp(tx->conn,
                      "WITH b AS (INSERT INTO processes (workflow_id, workflow_version, "
                      "  parent_process_id, branch_key, product_id, created_by, is_task, "
                      "  assignee, state) SELECT workflow_id, workflow_version, process_id, $2, "
                      "  product_id, created_by, is_task, assignee, $3::jsonb FROM processes WHERE "
                      "  process_id = $1 ON CONFLICT (parent_process_id, branch_key) WHERE "
                      "  parent_process_id IS NOT NULL DO NOTHING RETURNING process_id) "
                      "INSERT INTO input_states (process_id, input_type, inputs, given_by) "
                      "SELECT process_id, 'initial_state', $3::jsonb, $4 FROM b",
                      4, (const char *[]){process_id, bk, input, actor}, NULL, err);
        free(bk);
    }
    if (!rc && nrerun) {
        long count = 0;
        names = db__array(rerun_names, nrerun);
        rc = rerun(tx, process_id, parallel_key, names, &count, err);
    }
    /* Park: running, waiting for the join; fenced on the claim's token. */
    if (!rc) {
        rc = db_execp(
            tx->conn,
            "WITH o AS (SELECT last_status FROM processes WHERE process_id = $1), "
            "u AS (UPDATE processes p SET last_status = 'running', runnable = false, "
            "  next_run_time = NULL, lease_owner = NULL, lease_expires_time = NULL, "
            "  deadline_time = NULL, running_step_key = NULL, running_step_name = NULL, "
            "  failed_reason = NULL, failed_details = NULL, update_time = now(), "
            "  last_event_sequence = p.last_event_sequence + 1 "
            "  WHERE p.process_id = $1 AND p.lease_token = $2 "
            "  RETURNING p.process_id, p.last_event_sequence) "
            "INSERT INTO process_events (process_id, sequence, kind, payload) "
            "SELECT u.process_id, u.last_event_sequence, 'status_changed', jsonb_build_object("
            "  'old_status', (SELECT last_status FROM o), 'new_status', 'running', "
            "  'step_key', $3::text, 'branches_started', to_jsonb($4::text[]), "
            "  'branches_rerun', to_jsonb($5::text[])) FROM u RETURNING 1",
            5,
            (const char *[]){process_id, DB_INT(lease_token), parallel_key, created,
                             names ? names : "{}"},
            &res, err);
        if (!rc && PQntuples(res) != 1)
            rc = lease_lost(err, process_id);
        PQclear(res);
        res = NULL;
    }
    /* Every branch settled already (e.g. nothing to re-run): runnable at once. */
    if (!rc)
        rc = join_if_settled(tx, process_id, parallel_key, err);
    free(names);
    free(created);
    free(input);
    return rc;
}

/* Locks the process row of a retry and reads its status and last step key (status and key
 * hold 32 and 256 bytes). A branch cannot be retried on its own. */
static orch_err_t retry_lock_process(orch_tx_t *tx, const char *process_id, char *status, char *key,
                                     orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc;

    rc = db_execp(tx->conn,
                  "SELECT last_status, coalesce(last_step_key, ''), parent_process_id, "
                  "branch_key FROM processes WHERE process_id = $1 FOR UPDATE",
                  1, (const char *[]){process_id}, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) != 1)
        rc = orch_error_set(err, ORCH_NOT_FOUND, "PROCESS_NOT_FOUND", "no process has id %s",
                            process_id);
    else if (!PQgetisnull(res, 0, 2))
        /* A branch on its own would complete without its parent noticing. */
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "PROCESS_NOT_RETRIABLE",
                            "process %s is branch %s of process %s: retry that process (with "
                            "branches to pick this one)",
                            process_id, PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 2));
    if (!rc) {
        snprintf(status, 32, "%s", PQgetvalue(res, 0, 0));
        snprintf(key, 256, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return rc;
}

/* A process that has not failed: *already when it is a repeat of a branch retry (the
 * process has not failed again since). */
static orch_err_t retry_was_done(orch_tx_t *tx, const char *process_id, bool *already,
                                 orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc;

    rc = db_execp(tx->conn,
                  "SELECT EXISTS (SELECT 1 FROM process_events e WHERE e.process_id = $1 "
                  "AND e.kind = 'status_changed' AND e.payload ? 'retried_branches' AND "
                  "NOT EXISTS (SELECT 1 FROM process_events f WHERE f.process_id = $1 AND "
                  "f.kind = 'status_changed' AND f.sequence > e.sequence AND "
                  "f.payload->>'new_status' IN ('failed', 'api_unavailable', "
                  "'inconsistent_data')))",
                  1, (const char *[]){process_id}, &res, err);
    if (!rc && db__boolv(res, 0, 0))
        *already = true;
    PQclear(res);
    return rc;
}

/* The branches to re-run, as an array literal in *arr (caller frees): the names asked for,
 * each of which must name a failed branch of the step in res (rows: name, failed?), or
 * every failed one when none is named. */
static orch_err_t retry_pick_branches(PGresult *res, const char *key, const char *const *names,
                                      size_t n, char **arr, orch_error_t *err)
{
    const char **all;
    size_t na = 0;

    *arr = NULL;
    for (size_t i = 0; i < n; i++) {
        int j;
        for (j = 0; j < PQntuples(res); j++)
            if (strcmp(PQgetvalue(res, j, 0), names[i]) == 0)
                break;
        if (j == PQntuples(res))
            return orch_error_invalid(
                err, "branches", "parallel step %s has no branch named '%.100s'", key, names[i]);
        if (PQgetvalue(res, j, 1)[0] != 't')
            return orch_error_invalid(err, "branches",
                                      "branch %.100s of parallel step %s did not fail; retry "
                                      "only failed branches",
                                      names[i], key);
    }
    if (n) {
        *arr = db__array(names, n);
        return ORCH_OK;
    }
    all = orch_calloc((size_t)PQntuples(res) + 1, sizeof(*all));
    for (int j = 0; j < PQntuples(res); j++)
        if (db__boolv(res, j, 1))
            all[na++] = PQgetvalue(res, j, 0);
    *arr = db__array(all, na);
    free(all);
    return ORCH_OK;
}

/* The parent runs again, waiting at its parallel step for the re-run branches (arr), with
 * a status_changed event naming them. */
static orch_err_t retry_resume_parent(orch_tx_t *tx, const char *process_id, const char *actor,
                                      const char *key, const char *arr, orch_error_t *err)
{
    orch_err_t rc;

    rc = db_execp(
        tx->conn,
        "WITH u AS (UPDATE processes p SET last_status = 'running', runnable = false, "
        "  next_run_time = NULL, lease_owner = NULL, lease_expires_time = NULL, "
        "  lease_token = p.lease_token + 1, deadline_time = NULL, running_step_key = NULL, "
        "  running_step_name = NULL, failed_reason = NULL, failed_details = NULL, "
        "  update_time = now(), last_event_sequence = p.last_event_sequence + 1 "
        "  WHERE p.process_id = $1 RETURNING p.process_id, p.last_event_sequence) "
        "INSERT INTO process_events (process_id, sequence, kind, payload) "
        "SELECT process_id, last_event_sequence, 'status_changed', jsonb_build_object("
        "  'old_status', 'failed', 'new_status', 'running', 'actor', $2::text, "
        "  'step_key', $3::text, 'retried_branches', to_jsonb($4::text[])) FROM u",
        4, (const char *[]){process_id, actor, key, arr}, NULL, err);
    /* Nothing left to re-run (every branch completed since): the join at once. */
    if (!rc)
        rc = join_if_settled(tx, process_id, key, err);
    return rc;
}

orch_err_t db__process_retry_branches(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                      const char *process_id, const char *actor,
                                      const char *const *names, size_t n, bool *handled,
                                      bool *already, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    char status[32], key[256];
    char *arr = NULL;
    long count = 0;
    orch_err_t rc;

    *handled = false;
    *already = false;
    rc = retry_lock_process(tx, process_id, status, key, err);
    if (rc)
        return rc;
    if (strcmp(status, "failed") != 0) {
        rc = retry_was_done(tx, process_id, already, err);
        *handled = *already;
        return rc;
    }
    /* The branches of the parallel step the process failed at. */
    rc = db_execp(tx->conn,
                  "SELECT split_part(branch_key, '/', 2), last_status IN " FAILED " FROM "
                  "processes WHERE parent_process_id = $1 AND split_part(branch_key, '/', 1) = "
                  "$2 ORDER BY branch_key",
                  2, (const char *[]){process_id, key}, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) == 0)
        goto out; /* not failed at a parallel step: the plain retry */
    *handled = true;
    rc = retry_pick_branches(res, key, names, n, &arr, err);
    if (rc)
        goto out;
    rc = rerun(tx, process_id, key, arr, &count, err);
    if (rc)
        goto out;
    rc = retry_resume_parent(tx, process_id, actor, key, arr, err);
out:
    PQclear(res);
    free(arr);
    return rc;
}
