/* Schedules in PostgreSQL: create / update / delete / list, the exactly-once firing
 * protocol of docs/SCHEMA.md (schedule_runs primary key + FOR UPDATE SKIP LOCKED, all in one
 * transaction with the task process), the default schedule, and the tasks' clean-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "db/filter_sql.h"
#include "db/sql.h"
#include "db/store_internal.h"
#include "domain/page.h"
#include "domain/schedule/cron.h"

/* A parameter in microseconds since the epoch as a timestamptz (NULL stays NULL). */
#define TS(p) "(timestamptz 'epoch' + (" p ")::bigint * interval '1 microsecond')"

static const char *const kinds[] = {"", "interval", "cron", "once"};

// clang-format off
#define SCHEDULE_COLS                                                                          \
    "s.schedule_id, s.name, w.name, s.user_inputs::text, s.kind, s.interval_seconds, "         \
    US("s.start_time") ", s.cron_expression, " US("s.run_at") ", s.enabled, "                  \
    US("s.next_run_time") ", " US("s.last_run_time") ", (SELECT sr.process_id FROM "           \
    "schedule_runs sr WHERE sr.schedule_id = s.schedule_id ORDER BY sr.due_time DESC LIMIT 1), " \
    "s.version, s.created_by, " US("s.create_time") ", " US("s.update_time") ", s.last_error"
// clang-format on
#define SCHEDULE_FROM " FROM schedules s JOIN workflows w ON w.workflow_id = s.workflow_id "
#define NSCHEDULE_COLS 18

static void row_to_schedule(PGresult *res, int i, orch_schedule_t *s)
{
    const char *kind = PQgetvalue(res, i, 4);
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", PQgetvalue(res, i, 0));
    s->name = db__dupv(res, i, 1);
    s->workflow = db__dupv(res, i, 2);
    s->user_inputs = json_loads(PQgetvalue(res, i, 3), 0, NULL);
    if (!json_is_object(s->user_inputs)) {
        json_decref(s->user_inputs);
        s->user_inputs = json_object();
    }
    s->kind = strcmp(kind, "cron") == 0   ? ORCH_SCHEDULE_CRON
              : strcmp(kind, "once") == 0 ? ORCH_SCHEDULE_ONCE
                                          : ORCH_SCHEDULE_INTERVAL;
    s->interval_s = (int)db__llv(res, i, 5);
    s->start_us = db__llv(res, i, 6);
    s->cron = db__dupv(res, i, 7);
    s->run_at_us = db__llv(res, i, 8);
    s->enabled = db__boolv(res, i, 9);
    s->next_run_us = db__llv(res, i, 10);
    s->last_run_us = db__llv(res, i, 11);
    snprintf(s->last_process_id, sizeof(s->last_process_id), "%s", PQgetvalue(res, i, 12));
    s->version = db__llv(res, i, 13);
    s->created_by = db__dupv(res, i, 14);
    s->create_us = db__llv(res, i, 15);
    s->update_us = db__llv(res, i, 16);
    s->last_error = db__dupv(res, i, 17);
}

static orch_err_t db_now_us(db_conn_t *c, int64_t *now, orch_error_t *err)
{
    long long us;
    // clang-format off
    orch_err_t rc = db__exec_ll(c, "SELECT " US("now()"), 0, NULL, &us, err);
    // clang-format on
    *now = us;
    return rc;
}

/* The first due time from now on (creation, or a changed trigger). */
static int64_t first_due(const orch_schedule_t *s, int64_t now)
{
    if (s->kind == ORCH_SCHEDULE_ONCE)
        return s->run_at_us;
    return orch_schedule_due_after(s, s->start_us ? s->start_us : now, now);
}

orch_err_t db__schedule_get(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *schedule_id, bool for_update, orch_schedule_t *out,
                            orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc;

    memset(out, 0, sizeof(*out));
    rc = db__query(st, tx, ctx,
                   for_update ? "SELECT " SCHEDULE_COLS SCHEDULE_FROM
                                "WHERE s.schedule_id = $1 FOR UPDATE OF s"
                              : "SELECT " SCHEDULE_COLS SCHEDULE_FROM "WHERE s.schedule_id = $1",
                   1, (const char *[]){schedule_id}, &res, err);
    if (!rc && PQntuples(res) != 1)
        rc = orch_error_set(err, ORCH_NOT_FOUND, "SCHEDULE_NOT_FOUND", "no schedule has id %s",
                            schedule_id);
    if (!rc)
        row_to_schedule(res, 0, out);
    PQclear(res);
    return rc;
}

static orch_err_t check_workflow(db_conn_t *c, const char *name, orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc = db_execp(c, "SELECT 1 FROM workflows WHERE name = $1 AND delete_time IS NULL",
                             1, (const char *[]){name}, &res, err);
    if (!rc && PQntuples(res) != 1)
        rc = orch_error_set(err, ORCH_NOT_FOUND, "WORKFLOW_NOT_FOUND", "no workflow is named %s",
                            name);
    PQclear(res);
    return rc;
}

static orch_err_t name_taken(orch_error_t *err, const char *name)
{
    return orch_error_set(err, ORCH_ALREADY_EXISTS, "SCHEDULE_NAME_TAKEN",
                          "another schedule is named '%.200s'", name);
}

/* The parameters of the settable columns: $1 name, $2 workflow, $3 kind, $4 interval,
 * $5 start, $6 cron, $7 run_at, $8 inputs, $9 enabled, $10 next run. */
typedef struct params {
    char interval[16], start[32], run_at[32], next[32];
    char *inputs;
    const char *p[10];
} params_t;

static void params_fill(params_t *pp, const orch_schedule_t *s, int64_t next)
{
    bool enabled = s->enabled && next != 0;
    snprintf(pp->interval, sizeof(pp->interval), "%d", s->interval_s);
    snprintf(pp->start, sizeof(pp->start), "%lld", (long long)s->start_us);
    snprintf(pp->run_at, sizeof(pp->run_at), "%lld", (long long)s->run_at_us);
    snprintf(pp->next, sizeof(pp->next), "%lld", (long long)next);
    pp->inputs = json_dumps(s->user_inputs ? s->user_inputs : json_object(), JSON_COMPACT);
    pp->p[0] = s->name;
    pp->p[1] = s->workflow;
    pp->p[2] = kinds[s->kind];
    pp->p[3] = s->kind == ORCH_SCHEDULE_INTERVAL ? pp->interval : NULL;
    pp->p[4] = s->kind == ORCH_SCHEDULE_INTERVAL && s->start_us ? pp->start : NULL;
    pp->p[5] = s->kind == ORCH_SCHEDULE_CRON ? s->cron : NULL;
    pp->p[6] = s->kind == ORCH_SCHEDULE_ONCE ? pp->run_at : NULL;
    pp->p[7] = pp->inputs ? pp->inputs : "{}";
    pp->p[8] = enabled ? "true" : "false";
    pp->p[9] = next ? pp->next : NULL;
}

/* After a write, s becomes the schedule as stored: the database fills in its id, times and
 * version, which the caller answers with. */
static orch_err_t read_back(orch_tx_t *tx, const char *id, orch_schedule_t *s, orch_error_t *err)
{
    orch_schedule_cleanup(s);
    return db__schedule_get(NULL, tx, NULL, id, false, s, err);
}

orch_err_t db__schedule_insert(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               orch_schedule_t *s, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    params_t pp = {0};
    int64_t now = 0;
    char id[37] = "";
    orch_err_t rc = check_workflow(tx->conn, s->workflow, err);
    if (!rc)
        rc = db_now_us(tx->conn, &now, err);
    if (rc)
        return rc;
    params_fill(&pp, s, first_due(s, now));
    {
        const char *p[11];
        memcpy(p, pp.p, sizeof(pp.p));
        p[10] = s->created_by;
        // clang-format off
        rc = db_execp(tx->conn,
                      "INSERT INTO schedules (name, workflow_id, kind, interval_seconds, "
                      "start_time, cron_expression, run_at, user_inputs, enabled, next_run_time, "
                      "created_by) SELECT $1, w.workflow_id, $3, $4::int, " TS("$5") ", $6, "
                      TS("$7") ", $8::jsonb, $9::boolean, " TS("$10") ", $11 FROM workflows w "
                      "WHERE w.name = $2 ON CONFLICT (name) DO NOTHING RETURNING schedule_id",
                      11, p, &res, err);
        // clang-format on
    }
    free(pp.inputs);
    if (rc)
        return rc;
    if (PQntuples(res) != 1)
        rc = name_taken(err, s->name);
    else
        snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc ? rc : read_back(tx, id, s, err);
}

orch_err_t db__schedule_update(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               orch_schedule_t *s, bool retime, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    params_t pp = {0};
    int64_t now = 0, next;
    char id[37];
    orch_err_t rc = check_workflow(tx->conn, s->workflow, err);
    if (!rc)
        rc = db_now_us(tx->conn, &now, err);
    if (rc)
        return rc;
    next = retime || !s->next_run_us ? first_due(s, now) : s->next_run_us;
    params_fill(&pp, s, next);
    snprintf(id, sizeof(id), "%s", s->id);
    {
        const char *p[12];
        memcpy(p, pp.p, sizeof(pp.p));
        p[10] = id;
        p[11] = DB_INT(s->version);
        // clang-format off
        rc = db_execp(tx->conn,
                      "UPDATE schedules SET name = $1, workflow_id = (SELECT workflow_id FROM "
                      "workflows WHERE name = $2), kind = $3, interval_seconds = $4::int, "
                      "start_time = " TS("$5") ", cron_expression = $6, run_at = " TS("$7") ", "
                      "user_inputs = $8::jsonb, enabled = $9::boolean, next_run_time = " TS("$10")
                      ", version = version + 1, update_time = now() "
                      "WHERE schedule_id = $11 AND version = $12 RETURNING schedule_id",
                      12, p, &res, err);
        // clang-format on
    }
    free(pp.inputs);
    if (rc == ORCH_ALREADY_EXISTS)
        return name_taken(err, s->name);
    if (rc)
        return rc;
    if (PQntuples(res) != 1)
        rc = orch_error_set(err, ORCH_ABORTED, "VERSION_CONFLICT",
                            "schedule %s changed since version %lld was read; read it again", id,
                            (long long)s->version);
    PQclear(res);
    return rc ? rc : read_back(tx, id, s, err);
}

orch_err_t db__schedule_delete(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *schedule_id, int64_t version, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    orch_err_t rc;
    rc = db_execp(tx->conn,
                  "WITH d AS (DELETE FROM schedules WHERE schedule_id = $1 AND ($2::bigint = 0 "
                  "OR version = $2::bigint) RETURNING 1) SELECT (SELECT count(*) FROM d), "
                  "(SELECT count(*) FROM schedules WHERE schedule_id = $1)",
                  2, (const char *[]){schedule_id, DB_INT(version)}, &res, err);
    if (rc)
        return rc;
    if (db__llv(res, 0, 0) != 1)
        rc = db__llv(res, 0, 1)
                 ? orch_error_set(err, ORCH_ABORTED, "VERSION_CONFLICT",
                                  "schedule %s is not at version %lld; read it again", schedule_id,
                                  (long long)version)
                 : orch_error_set(err, ORCH_NOT_FOUND, "SCHEDULE_NOT_FOUND",
                                  "no schedule has id %s", schedule_id);
    PQclear(res);
    return rc;
}

static const char *const kind_choices[] = {"interval", "cron", "once", NULL};

static const db_filter_column_t schedule_cols[] = {
    {"name", "s.name", DB_COL_TEXT, NULL, NULL},
    {"workflow_name", "w.name", DB_COL_TEXT, NULL, NULL},
    {"enabled", "s.enabled", DB_COL_BOOL, NULL, NULL},
    {"kind", "s.kind", DB_COL_ENUM, kind_choices, NULL},
    {"next_run_time", "s.next_run_time", DB_COL_TIME, NULL, NULL},
    {"last_run_time", "s.last_run_time", DB_COL_TIME, NULL, NULL},
    {NULL, NULL, 0, NULL, NULL},
};

#define SORT_KEY "coalesce(s.next_run_time, 'infinity'::timestamptz)"

orch_err_t db__schedule_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const orch_schedule_query_t *qy, orch_schedule_page_t *out,
                             orch_error_t *err)
{
    db__no_tx(tx);
    db_list_t l = {0};
    orch_err_t rc;

    memset(out, 0, sizeof(*out));
    rc = db__list_begin(&l, "schedules", qy->filter, NULL, qy->page_token, err);
    if (rc)
        goto out;
    db_sql_append(&l.q,
                  "SELECT " SCHEDULE_COLS ", (" SORT_KEY ")::text" SCHEDULE_FROM "WHERE true");
    db_sql_append(&l.cq, SCHEDULE_FROM "WHERE true");
    rc = db__list_filter(&l, qy->filter, schedule_cols, err);
    if (rc)
        goto out;
    rc = db__list_keyset(&l, SORT_KEY, "s.schedule_id", qy->page_size, err);
    if (rc)
        goto out;
    rc = db__list_run(&l, st, ctx, qy->page_size, err);
    out->total = (long)l.total;
    if (rc)
        goto out;
    out->items = orch_calloc((size_t)l.take + 1, sizeof(*out->items));
    for (int i = 0; i < l.take; i++)
        row_to_schedule(l.res, i, &out->items[out->n++]);
    if (l.more)
        out->next_token = db__keyset_token(l.res, l.take - 1, NSCHEDULE_COLS, l.binding);
out:
    db__list_cleanup(&l);
    if (rc)
        orch_schedule_page_cleanup(out);
    return rc;
}

orch_err_t db__schedule_any_due(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, bool *due,
                                orch_error_t *err)
{
    db__no_tx(tx);
    PGresult *res = NULL;
    orch_err_t rc;

    *due = false;
    db_rt_kind(DB_RT_SCHEDULE);
    rc = db__query(
        st, NULL, ctx,
        "SELECT EXISTS (SELECT 1 FROM schedules WHERE enabled AND next_run_time <= now())", 0, NULL,
        &res, err);
    *due = !rc && PQntuples(res) == 1 && db__boolv(res, 0, 0);
    PQclear(res);
    return rc;
}

/* The claim: the first due schedule nobody else is firing, locked for the rest of tx, and
 * its due time's exactly-once record (a second firing of it is impossible). A savepoint
 * then marks where the start begins, so a refused start can be undone alone. */
orch_err_t db__schedule_claim_due(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                  const char *replica_id, orch_schedule_t *out, int64_t *now_us,
                                  bool *found, bool *fresh, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    orch_err_t rc;

    memset(out, 0, sizeof(*out));
    *found = *fresh = false;
    *now_us = 0;
    // clang-format off
    rc = db_exec(tx->conn,
                 "SELECT " SCHEDULE_COLS ", " US("now()") ", (SELECT paused FROM engine_settings)"
                 SCHEDULE_FROM "WHERE s.enabled AND s.next_run_time <= now() "
                 "ORDER BY s.next_run_time LIMIT 1 FOR UPDATE OF s SKIP LOCKED",
                 &res, err);
    // clang-format on
    if (rc)
        return rc;
    if (PQntuples(res) != 1 || db__boolv(res, 0, NSCHEDULE_COLS + 1)) {
        PQclear(res);
        return ORCH_OK; /* nothing due, or paused: starts wait for ResumeEngine */
    }
    row_to_schedule(res, 0, out);
    *now_us = db__llv(res, 0, NSCHEDULE_COLS);
    PQclear(res);
    res = NULL;
    *found = true;
    rc = db_execp(tx->conn,
                  "INSERT INTO schedule_runs (schedule_id, due_time, fired_by) SELECT "
                  "schedule_id, next_run_time, $2 FROM schedules WHERE schedule_id = $1 "
                  "ON CONFLICT DO NOTHING RETURNING 1",
                  2, (const char *[]){out->id, replica_id}, &res, err);
    if (!rc)
        *fresh = PQntuples(res) == 1;
    PQclear(res);
    if (!rc && *fresh)
        rc = db_exec(tx->conn, "SAVEPOINT schedule_start", NULL, err);
    if (rc)
        orch_schedule_cleanup(out);
    return rc;
}

orch_err_t db__schedule_record_run(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const orch_schedule_t *s, int64_t now_us, const char *process_id,
                                   const char *error, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    int64_t anchor, next;
    orch_err_t rc = ORCH_OK;

    /* A refused start may have written (or failed a statement): undo it, keep the claim. */
    if (error)
        rc = db_exec(tx->conn, "ROLLBACK TO SAVEPOINT schedule_start", NULL, err);
    if (!rc && (process_id || error))
        rc = db_execp(tx->conn,
                      "UPDATE schedule_runs SET process_id = $2, error = $3 WHERE schedule_id = "
                      "$1 AND due_time = (SELECT next_run_time FROM schedules WHERE schedule_id = "
                      "$1)",
                      3, (const char *[]){s->id, process_id, error}, NULL, err);
    if (rc)
        return rc;
    anchor = s->kind == ORCH_SCHEDULE_INTERVAL && s->start_us ? s->start_us : s->next_run_us;
    next = orch_schedule_next_after_fire(s, anchor, s->next_run_us, now_us);
    // clang-format off
    rc = db_execp(tx->conn,
                  "UPDATE schedules SET last_run_time = next_run_time, next_run_time = " TS("$2")
                  ", enabled = enabled AND $2 IS NOT NULL, update_time = now(), last_error = "
                  "CASE WHEN $3::text IS NOT NULL THEN $3 WHEN $4::boolean THEN NULL ELSE "
                  "last_error END WHERE schedule_id = $1",
                  4, (const char *[]){s->id, next ? DB_INT(next) : NULL, error,
                                      process_id ? "true" : "false"},
                  NULL, err);
    // clang-format on
    if (!rc)
        orch_info("schedule", "'%s' fired%s: process %s%s%s (next due %s)", s->name,
                  process_id || error ? "" : " before (due time already recorded)",
                  process_id ? process_id : "-", error ? ", refused: " : "", error ? error : "",
                  next ? "set" : "none");
    return rc;
}

/* The reference's default schedule. */
static const struct {
    const char *name, *workflow, *kind, *cron;
    int interval_s;
    bool enabled;
} defaults[] = {
    {"resume waiting processes", "task_resume_workflows", "interval", NULL, 3600, true},
    {"clean up tasks", "task_clean_up_tasks", "interval", NULL, 6 * 3600, true},
    {"validate products", "task_validate_products", "cron", "0 3 * * *", 0, true},
};

orch_err_t db__schedule_load_defaults(orch_store_t *st, orch_tx_t *outer, const orch_ctx_t *ctx,
                                      const char *replica_id, orch_error_t *err)
{
    db__no_tx(outer);
    orch_tx_t *tx = NULL;
    int64_t now = 0;
    orch_err_t rc = db__tx_begin(st, ctx, &tx, err);
    if (rc)
        return rc;
    rc = db_now_us(tx->conn, &now, err);
    for (size_t i = 0; !rc && i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        orch_schedule_t s = {.kind = defaults[i].cron ? ORCH_SCHEDULE_CRON : ORCH_SCHEDULE_INTERVAL,
                             .interval_s = defaults[i].interval_s,
                             .cron = (char *)defaults[i].cron};
        /* Only the first replica this database ever had loads them (replica rows are
         * history), so a default an operator deleted stays deleted. */
        // clang-format off
        rc = db_execp(tx->conn,
                      "INSERT INTO schedules (name, workflow_id, kind, interval_seconds, "
                      "cron_expression, enabled, next_run_time, created_by) SELECT $1, "
                      "w.workflow_id, $3, CASE WHEN $3 = 'interval' THEN $4::int END, $5, "
                      "$6::boolean, " TS("$7") ", 'system' FROM workflows w WHERE w.name = $2 "
                      "AND NOT EXISTS (SELECT 1 FROM replicas r, replicas me WHERE "
                      "me.replica_id = $8 AND (r.start_time, r.replica_id) < (me.start_time, "
                      "me.replica_id)) ON CONFLICT (name) DO NOTHING",
                      8,
                      (const char *[]){defaults[i].name, defaults[i].workflow, defaults[i].kind,
                                       DB_INT(defaults[i].interval_s), defaults[i].cron,
                                       defaults[i].enabled ? "true" : "false",
                                       DB_INT(first_due(&s, now)), replica_id},
                      NULL, err);
        // clang-format on
    }
    if (rc) {
        db__tx_rollback(tx);
        return rc;
    }
    return db__tx_commit(tx, err);
}

orch_err_t db__tasks_clean_up(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              long older_than_s, long *n, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    char age[32];
    long long deleted;
    orch_err_t rc;
    snprintf(age, sizeof(age), "%ld seconds", older_than_s < 0 ? 0 : older_than_s);
    rc = db__exec_ll(tx->conn,
                     "WITH d AS (DELETE FROM processes WHERE is_task AND parent_process_id IS "
                     "NULL AND last_status IN ('completed', 'aborted') AND end_time < now() - "
                     "$1::interval RETURNING 1) SELECT count(*) FROM d",
                     1, (const char *[]){age}, &deleted, err);
    *n = (long)deleted;
    if (!rc)
        rc = db_exec(tx->conn, "DELETE FROM request_ids WHERE expire_time < now()", NULL, err);
    return rc;
}
