/* StartProcess's create in PostgreSQL: the process, its initial input and its first events
 * in one statement. Outside a unit of work, the creates of concurrent StartProcess calls
 * share one transaction (one round trip, one WAL flush, one pass of the NOTIFY queue's
 * lock), as the engine's step commits do (issue 17): under load every start was a durable
 * transaction of its own, and those commits, serialized by PostgreSQL's NOTIFY lock through
 * their WAL flush, made the start-to-completed tail. docs/SCHEMA.md, "Grouped starts". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "db/sql.h"
#include "db/store_internal.h"

/* At most this many creates in one transaction: a bound on what one failed create makes the
 * others wait for (the batch runs again one by one) and on the pipeline's size. */
#define START_BATCH_MAX 32

/* One statement: the process (with its state on the row), its initial input and its first
 * event. Leased ($7 set): created running its first step under a lease of this replica,
 * exactly as a claim plus process_step_begin would leave it, so no other replica takes it
 * and the creator hands it to a local worker at commit. Else runnable for anyone, and the
 * workers are woken at commit. */
// clang-format off
#define CREATE_SQL                                                                                 \
    "WITH p AS (INSERT INTO processes (workflow_id, workflow_version, product_id, " \
    "  created_by, note, is_task, last_event_sequence, state, last_status, lease_owner, " \
    "  lease_token, lease_expires_time, next_run_time, claim_count, running_step_key, " \
    "  running_step_name, deadline_time, next_step_key, next_step_name, " \
    "  next_step_timeout_ms) " \
    "  SELECT w.workflow_id, $2, $3, $4, $5, w.is_task, CASE WHEN $7::uuid IS NULL THEN 1 " \
    "  ELSE 2 END, coalesce($6::jsonb, '{}'), CASE WHEN $7::uuid IS NULL THEN 'created' " \
    "  ELSE 'running' END, $7::uuid, CASE WHEN $7::uuid IS NULL THEN 0 ELSE 1 END, " \
    "  CASE WHEN $7::uuid IS NOT NULL THEN now() + least($8::interval, $11::interval) END, " \
    "  CASE WHEN $7::uuid IS NOT NULL THEN now() + least($8::interval, $11::interval) " \
    "  ELSE now() END, CASE WHEN $7::uuid IS NULL THEN 0 ELSE 1 END, " \
    "  CASE WHEN $7::uuid IS NOT NULL THEN $9 END, CASE WHEN $7::uuid IS NOT NULL THEN $10 " \
    "  END, " \
    "  CASE WHEN $7::uuid IS NOT NULL THEN now() + $11::interval END, $9, $10, $12::int " \
    "  FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.workflow_id AND " \
    "  v.version = $2 WHERE w.name = $1 AND NOT ($13::boolean AND (SELECT paused FROM " \
    "  engine_settings)) RETURNING *), " \
    "i AS (INSERT INTO input_states (process_id, input_type, inputs, given_by) " \
    "  SELECT process_id, 'initial_state', coalesce($6::jsonb, '{}'), $4 FROM p), " \
    "e AS (INSERT INTO process_events (process_id, sequence, kind, payload) " \
    "  SELECT process_id, 1, 'process_created', jsonb_build_object('workflow', $1::text, " \
    "  'version', $2::int) FROM p UNION ALL " \
    "  SELECT process_id, 2, 'status_changed', jsonb_build_object('old_status', 'created', " \
    "  'new_status', 'running', 'step_key', $9::text) FROM p WHERE $7::uuid IS NOT NULL) " \
    "SELECT " PROCESS_COLS_CREATED ", now()::text, CASE WHEN $7::uuid IS NULL AND " \
    "  p.process_id IS NOT NULL THEN pg_notify('orch_engine', '') END, g.paused " \
    "FROM engine_settings g LEFT JOIN p ON true LEFT JOIN workflows w ON w.workflow_id = " \
    "  p.workflow_id LEFT JOIN workflow_versions v ON v.workflow_id = p.workflow_id AND " \
    "  v.version = p.workflow_version"
// clang-format on

/* The statement's parameters for one create, with the text they point at. */
typedef struct create_args {
    char lease_iv[64], step_iv[64];
    db_int_text_t version, timeout;
    char *input; /* owned */
    const char *p[13];
} create_args_t;

static void create_args_fill(create_args_t *a, const orch_process_new_t *np)
{
    const orch_process_lease_t *l = np->lease;
    const orch_process_lease_t *f = l ? l : np->first; /* the first step, when known */

    memset(a, 0, sizeof(*a));
    a->input = np->initial_state ? json_dumps(np->initial_state, JSON_COMPACT) : NULL;
    if (l) {
        db__ms_interval(a->lease_iv, sizeof(a->lease_iv), l->lease_ms);
        db__ms_interval(a->step_iv, sizeof(a->step_iv), l->timeout_ms);
    }
    a->p[0] = np->workflow;
    a->p[1] = db_int_text(&a->version, np->version);
    a->p[2] = np->product_id;
    a->p[3] = np->created_by;
    a->p[4] = np->note && *np->note ? np->note : NULL;
    a->p[5] = a->input ? a->input : "{}";
    a->p[6] = l ? l->owner : NULL;
    a->p[7] = l ? a->lease_iv : NULL;
    a->p[8] = f ? f->step_key : NULL;
    a->p[9] = f ? f->step_name : NULL;
    a->p[10] = l ? a->step_iv : NULL;
    a->p[11] = f ? db_int_text(&a->timeout, f->timeout_ms > 0 ? f->timeout_ms : 300000) : NULL;
    a->p[12] = np->refuse_if_paused ? "true" : "false";
}

/* What the statement answered, for np: the id, the lease's token and start, the process. */
static orch_err_t create_answer(PGresult *res, const orch_process_new_t *np, char *process_id,
                                orch_error_t *err)
{
    orch_process_lease_t *l = np->lease;

    if (PQntuples(res) == 1 && PQgetisnull(res, 0, 0) && np->refuse_if_paused &&
        db__boolv(res, 0, NPROCESS_COLS + 2))
        return orch_error_set(err, ORCH_UNAVAILABLE, "ENGINE_PAUSED",
                              "the engine is paused; start again after ResumeEngine");
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        return orch_error_set(err, ORCH_NOT_FOUND, "WORKFLOW_VERSION_NOT_FOUND",
                              "version %d of workflow %s is not registered", np->version,
                              np->workflow);
    snprintf(process_id, 37, "%s", PQgetvalue(res, 0, 0));
    if (l) {
        l->token = db__llv(res, 0, 22); /* PROCESS_COLS' p.lease_token */
        snprintf(l->step_started, sizeof(l->step_started), "%s", PQgetvalue(res, 0, NPROCESS_COLS));
    }
    if (np->out)
        *np->out = db__row_to_process(res, 0);
    return ORCH_OK;
}

/* One create on c: in c's unit of work, or as a transaction of its own outside one. */
static orch_err_t create_one(db_conn_t *c, const orch_process_new_t *np, char *process_id,
                             orch_error_t *err)
{
    create_args_t a;
    PGresult *res = NULL;
    orch_err_t rc;

    process_id[0] = '\0';
    create_args_fill(&a, np);
    db_rt_kind(DB_RT_START);
    rc = db_execp(c, CREATE_SQL, 13, a.p, &res, err);
    if (!rc)
        rc = create_answer(res, np, process_id, err);
    if (rc)
        process_id[0] = '\0';
    PQclear(res);
    free(a.input);
    return rc;
}

orch_err_t db__process_create(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const orch_process_new_t *np, char *process_id, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    return create_one(tx->conn, np, process_id, err);
}

/* ---- grouped starts ------------------------------------------------------------------------ */

/* A create waiting in the group (on its caller's stack). */
struct db_start_req {
    const orch_process_new_t *np;
    const orch_ctx_t *ctx;
    char *process_id;
    orch_error_t *err; /* the caller's */
    orch_err_t rc;
    bool done;
    db_start_req_t *next;
};

void db__start_group_init(db_start_group_t *g)
{
    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->tail = &g->head;
}

void db__start_group_destroy(db_start_group_t *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

/* The creates r[0..n) in one transaction on c (BEGIN, the n, COMMIT: one round trip, the
 * statement prepared within it the first time). False when it failed as a whole (nothing
 * committed; *err says why). */
static bool create_together(db_conn_t *c, db_start_req_t **r, int n, orch_error_t *err)
{
    create_args_t *a = orch_calloc((size_t)n, sizeof(*a));
    const char *const **params = orch_calloc((size_t)n, sizeof(*params));
    PGresult **res = orch_calloc((size_t)n, sizeof(*res));
    orch_err_t rc;

    for (int i = 0; i < n; i++) {
        create_args_fill(&a[i], r[i]->np);
        params[i] = a[i].p;
    }
    db_rt_kind(DB_RT_START);
    rc = db_execp_batch(c, CREATE_SQL, 13, params, n, res, err);
    for (int i = 0; i < n; i++) {
        if (!rc) {
            r[i]->process_id[0] = '\0';
            r[i]->rc = create_answer(res[i], r[i]->np, r[i]->process_id, r[i]->err);
        }
        PQclear(res[i]);
        free(a[i].input);
    }
    free(a);
    free(params);
    free(res);
    return rc == ORCH_OK;
}

/* Runs the batch r[0..n) in one transaction. When that fails as a whole (one create's SQL
 * error, or the connection), each runs again alone, so that only the one at fault fails,
 * with its own error, and the others commit. */
static void run_batch(db_store_t *s, db_start_req_t **r, int n)
{
    db_conn_ref_t ref;
    orch_ctx_t ctx = {0};
    orch_error_t err;
    orch_err_t rc;

    orch_error_init(&err);
    /* The batch runs until the last of its callers' deadlines, and runs whoever of them goes
     * away: one caller's cancellation must not fail the others' creates. */
    for (int i = 0; i < n; i++) {
        int64_t d = r[i]->ctx ? r[i]->ctx->deadline_ms : 0;
        if (i == 0 || d == 0 || (ctx.deadline_ms && d > ctx.deadline_ms))
            ctx.deadline_ms = d;
    }
    rc = db__conn_get(&s->base, NULL, &ctx, &ref, &err);
    for (int i = 0; rc && i < n; i++) {
        r[i]->rc = rc;
        *r[i]->err = err;
    }
    if (rc)
        return;
    atomic_fetch_add(&s->starts.batches, 1);
    if (n > 1)
        atomic_fetch_add(&s->starts.batched, (unsigned long)n);
    if (!create_together(ref.c, r, n, &err)) {
        if (n > 1 && !ref.c->broken)
            orch_debug("db", "a batch of %d creates failed (%s); each alone", n, err.message);
        for (int i = 0; i < n; i++) {
            if (n > 1 && !ref.c->broken && create_together(ref.c, &r[i], 1, r[i]->err))
                continue;
            if (n == 1 || ref.c->broken)
                *r[i]->err = err; /* its own error, or the connection's, which is everyone's */
            r[i]->rc = r[i]->err->code ? r[i]->err->code : ORCH_INTERNAL;
        }
    }
    db__conn_put(&ref);
}

orch_err_t db__process_create_grouped(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                      const orch_process_new_t *np, char *process_id,
                                      orch_error_t *err)
{
    db__no_tx(tx);
    db_store_t *s = (db_store_t *)st;
    db_start_group_t *g = &s->starts;
    db_start_req_t me = {.np = np, .ctx = ctx, .process_id = process_id, .err = err};

    process_id[0] = '\0';
    pthread_mutex_lock(&g->mu);
    *g->tail = &me;
    g->tail = &me.next;
    /* Leader and followers: while one caller runs a batch, the others queue; when it is
     * done, one of them takes the whole queue. A start alone runs at once, as before. */
    while (!me.done) {
        if (g->leading) {
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        db_start_req_t *batch[START_BATCH_MAX];
        int n = 0;
        g->leading = true;
        while (g->head && n < START_BATCH_MAX) {
            batch[n++] = g->head;
            g->head = g->head->next;
        }
        if (!g->head)
            g->tail = &g->head;
        pthread_mutex_unlock(&g->mu);
        run_batch(s, batch, n);
        pthread_mutex_lock(&g->mu);
        for (int i = 0; i < n; i++)
            batch[i]->done = true;
        g->leading = false;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    return me.rc;
}

void db_store_start_stats(orch_store_t *st, unsigned long *batches, unsigned long *batched)
{
    db_store_t *s = (db_store_t *)st;
    *batches = atomic_load(&s->starts.batches);
    *batched = atomic_load(&s->starts.batched);
}
