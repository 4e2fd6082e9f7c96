/* The connection pool: a mutex, a condition variable and a fixed array of slots.
 * Connecting happens outside the mutex so a slow or absent database never blocks threads
 * that only want to release. */
#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/hash.h"
#include "base/log.h"

static atomic_ulong statements_sent;
static atomic_ulong round_trips;

unsigned long db_round_trips(void)
{
    return atomic_load(&round_trips);
}

static atomic_ulong round_trips_by_kind[DB_RT_KINDS];
/* The kind the calling thread's next round trip counts under; -1 = none given. */
static _Thread_local int next_kind = -1;

static const char *const kind_names[DB_RT_KINDS] = {
    [DB_RT_OTHER] = "other",         [DB_RT_START] = "start",
    [DB_RT_CLAIM] = "claim",         [DB_RT_STEP_COMMIT] = "step_commit",
    [DB_RT_HEARTBEAT] = "heartbeat", [DB_RT_SWEEP] = "sweep",
    [DB_RT_WATCH] = "watch",         [DB_RT_SCHEDULE] = "schedule",
    [DB_RT_HEALTH] = "health",       [DB_RT_LISTEN] = "listen",
};

void db_rt_kind(db_rt_kind_t kind)
{
    next_kind = (int)kind;
}

const char *db_rt_kind_name(db_rt_kind_t kind)
{
    return kind >= 0 && kind < DB_RT_KINDS ? kind_names[kind] : "other";
}

unsigned long db_round_trips_of(db_rt_kind_t kind)
{
    return kind >= 0 && kind < DB_RT_KINDS ? atomic_load(&round_trips_by_kind[kind]) : 0;
}

/* ORCH_DEBUG_ROUND_TRIPS set: each round trip is also counted by its kind and the first 60
 * characters of its statement, printed to stderr at exit (a measurement aid: bench/README.md,
 * issue 17). */
#define RT_DEBUG_MAX 256
static struct {
    char what[80];
    unsigned long n;
} rt_debug[RT_DEBUG_MAX];
static int rt_debug_n;
static atomic_int rt_debug_on = -1; /* -1: the environment not read yet */
static pthread_mutex_t rt_debug_mu = PTHREAD_MUTEX_INITIALIZER;

static void rt_debug_print(void)
{
    pthread_mutex_lock(&rt_debug_mu);
    for (int i = 0; i < rt_debug_n; i++)
        fprintf(stderr, "round-trips %8lu %s\n", rt_debug[i].n, rt_debug[i].what);
    pthread_mutex_unlock(&rt_debug_mu);
}

static void rt_debug_note(int kind, const char *what)
{
    char key[80];
    int i;
    snprintf(key, sizeof(key), "%-11s %.60s", kind_names[kind], what ? what : "?");
    for (char *k = key; *k; k++)
        if (*k == '\n' || *k == '\t')
            *k = ' ';
    pthread_mutex_lock(&rt_debug_mu);
    for (i = 0; i < rt_debug_n && strcmp(rt_debug[i].what, key) != 0; i++)
        ;
    if (i == rt_debug_n && i < RT_DEBUG_MAX) {
        snprintf(rt_debug[i].what, sizeof(rt_debug[i].what), "%s", key);
        rt_debug_n++;
    }
    if (i < RT_DEBUG_MAX)
        rt_debug[i].n++;
    pthread_mutex_unlock(&rt_debug_mu);
}

/* Is ORCH_DEBUG_ROUND_TRIPS set? (Read once; the first reader registers the report.) */
static bool rt_debugging(void)
{
    int on = atomic_load(&rt_debug_on);
    if (on < 0) {
        on = getenv("ORCH_DEBUG_ROUND_TRIPS") ? 1 : 0;
        if (atomic_exchange(&rt_debug_on, on) < 0 && on)
            atexit(rt_debug_print);
    }
    return on != 0;
}

/* Counts a round trip of c (NULL: the LISTEN connection's) under its kind. */
static void rt_note(db_conn_t *c, const char *what)
{
    int kind = next_kind;

    if (kind >= 0) {
        next_kind = -1;
        if (c)
            c->rt_kind = kind;
    } else {
        kind = c ? c->rt_kind : DB_RT_LISTEN;
    }
    atomic_fetch_add(&round_trips, 1);
    atomic_fetch_add(&round_trips_by_kind[kind], 1);
    if (rt_debugging())
        rt_debug_note(kind, what);
}

void db_round_trip_count(void)
{
    next_kind = DB_RT_LISTEN;
    rt_note(NULL, "LISTEN");
}

unsigned long db_statements_sent(void)
{
    return atomic_load(&statements_sent);
}

typedef struct slot {
    db_conn_t conn;
    bool in_use;
} slot_t;

struct db_pool {
    char *conninfo;
    int size;
    slot_t *slots;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* ---- prepared statements ------------------------------------------------------------------
 * One open-addressing table per connection, keyed by the statement's text. A text is counted
 * on its first run and prepared on its second, so the one-off texts of ad-hoc filters never
 * take a prepared slot; when the table fills, the entries seen once are dropped. Prepared
 * statements are session state: the table goes with the connection (a reconnect starts
 * empty). */
#define DB_STMTS 512

typedef struct db_stmt {
    uint64_t hash; /* 0 = empty slot */
    char *sql;     /* owned copy, compared on a hash match */
    int runs;
    int gen; /* bumped when PostgreSQL drops or invalidates it: a new name */
    bool prepared;
} db_stmt_t;

struct db_stmts {
    db_stmt_t slot[DB_STMTS];
    int used;
};

static void stmts_free(struct db_stmts *t)
{
    if (!t)
        return;
    for (int i = 0; i < DB_STMTS; i++)
        free(t->slot[i].sql);
    free(t);
}

/* Drops what was seen only once (not prepared): room for the statements that repeat. */
static void stmts_sweep(struct db_stmts *t)
{
    db_stmt_t keep[DB_STMTS];
    int n = 0;
    for (int i = 0; i < DB_STMTS; i++) {
        if (t->slot[i].hash && t->slot[i].prepared)
            keep[n++] = t->slot[i];
        else
            free(t->slot[i].sql);
    }
    memset(t->slot, 0, sizeof(t->slot));
    t->used = 0;
    for (int i = 0; i < n; i++) {
        int j = (int)(keep[i].hash % DB_STMTS);
        while (t->slot[j].hash)
            j = (j + 1) % DB_STMTS;
        t->slot[j] = keep[i];
        t->used++;
    }
}

/* The entry of sql (created, counted), or NULL when the table has no room. */
static db_stmt_t *stmts_find(db_conn_t *c, const char *sql)
{
    uint64_t h = orch_hash_text(sql);
    int j;
    if (!c->stmts)
        c->stmts = orch_calloc(1, sizeof(*c->stmts));
    if (c->stmts->used >= DB_STMTS * 3 / 4)
        stmts_sweep(c->stmts);
    if (c->stmts->used >= DB_STMTS * 3 / 4)
        return NULL; /* full of prepared statements: run the rest unprepared */
    for (j = (int)(h % DB_STMTS); c->stmts->slot[j].hash; j = (j + 1) % DB_STMTS)
        if (c->stmts->slot[j].hash == h && strcmp(c->stmts->slot[j].sql, sql) == 0)
            return &c->stmts->slot[j];
    c->stmts->slot[j].hash = h;
    c->stmts->slot[j].sql = orch_strdup(sql);
    c->stmts->used++;
    return &c->stmts->slot[j];
}

static void stmt_name(const db_stmt_t *s, char *out, size_t cap)
{
    snprintf(out, cap, "o%016llx_%d", (unsigned long long)s->hash, s->gen);
}

static void conn_forget_statements(db_conn_t *c)
{
    stmts_free(c->stmts);
    c->stmts = NULL;
}

/* Process-wide: every pool of the process serves one database the same way. */
static atomic_bool prepare_off;

void db_pool_set_prepare(db_pool_t *pool, bool on)
{
    (void)pool;
    atomic_store(&prepare_off, !on);
}

/* Ends c's open or failed transaction at once (one round trip, counted as what); a ROLLBACK
 * that fails leaves c broken, never handed out again. */
static void rollback_now(db_conn_t *c, const char *what)
{
    PGresult *r = PQexec(c->pg, "ROLLBACK");
    rt_note(c, what);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        c->broken = true;
    PQclear(r);
}

/* The slots of two statements sent together. A lookup may sweep the table, which moves
 * the slots a pointer from an earlier lookup points to: so room for both is made first,
 * and neither lookup sweeps. */
static void stmts_for_two(db_conn_t *c, const char *a, const char *b, db_stmt_t **sa,
                          db_stmt_t **sb)
{
    *sa = *sb = NULL;
    if (atomic_load(&prepare_off))
        return;
    if (!c->stmts)
        c->stmts = orch_calloc(1, sizeof(*c->stmts));
    if (c->stmts->used + 2 >= DB_STMTS * 3 / 4)
        stmts_sweep(c->stmts);
    if (c->stmts->used + 2 >= DB_STMTS * 3 / 4)
        return; /* full of prepared statements: run both unprepared */
    *sa = stmts_find(c, a);
    *sb = stmts_find(c, b);
}

/* The statement slot a parameterised statement runs from, or NULL to run it unprepared. */
static db_stmt_t *stmt_for(db_conn_t *c, const char *sql)
{
    return atomic_load(&prepare_off) ? NULL : stmts_find(c, sql);
}

db_pool_t *db_pool_new(const char *conninfo, int size)
{
    db_pool_t *p = orch_calloc(1, sizeof(*p));
    pthread_condattr_t ca;

    p->conninfo = orch_strdup(conninfo);
    p->size = size < 1 ? 1 : size;
    p->slots = orch_calloc((size_t)p->size, sizeof(slot_t));
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    return p;
}

void db_pool_free(db_pool_t *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->size; i++) {
        orch_assert(!p->slots[i].in_use);
        if (p->slots[i].conn.pg)
            PQfinish(p->slots[i].conn.pg);
        conn_forget_statements(&p->slots[i].conn);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->slots);
    free(p->conninfo);
    free(p);
}

int db_pool_in_use(db_pool_t *p, int *size)
{
    int n = 0;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->size; i++)
        n += p->slots[i].in_use;
    pthread_mutex_unlock(&p->mu);
    if (size)
        *size = p->size;
    return n;
}

const char *db_pool_conninfo(const db_pool_t *p)
{
    return p->conninfo;
}

/* Notices go to the debug log. A FATAL that PostgreSQL sends just before it ends a session
 * (idle_in_transaction_session_timeout, a terminated backend) reaches libpq outside any
 * query and comes here too: its SQLSTATE is kept, so that the next statement's failure on
 * the closed connection says why (db_error_from_result). */
static void notice_keep(void *arg, const PGresult *res)
{
    db_conn_t *c = arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    orch_debug("db", "notice: %s", PQresultErrorMessage(res));
    if (sev && state && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))
        snprintf(c->fatal_state, sizeof(c->fatal_state), "%s", state);
}

/* Opens a connection with a connect timeout and the settings every session needs. */
static orch_err_t connect_slot(db_pool_t *p, db_conn_t *c, orch_error_t *err)
{
    /* Parallel query costs more to start than it saves on the small, indexed reads of an
     * OLTP service (bench/subscriptions.sh measured the worker start-up dominating). JIT
     * likewise: once a statement's estimated cost passes jit_above_cost (the create
     * statement's did when autovacuum first analysed process_steps), PostgreSQL compiled
     * it on every execution, 30-40 ms for a statement that runs in 0.8 ms, and steps/s
     * fell from ~2,500 to ~300 a few seconds into a run (bench/README.md, sixth pass). */
    const char *keys[] = {"dbname", "connect_timeout", "application_name", "options", NULL};
    const char *vals[] = {p->conninfo, "5", "orchestratord",
                          "-c max_parallel_workers_per_gather=0 -c jit=off", NULL};

    if (c->pg)
        PQfinish(c->pg);
    conn_forget_statements(c);
    c->broken = false;
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c->pg));
        msg[strcspn(msg, "\n")] = '\0';
        PQfinish(c->pg);
        c->pg = NULL;
        orch_error_set(err, ORCH_UNAVAILABLE, "DATABASE_UNAVAILABLE",
                       "the database cannot be reached: %s", msg);
        if (err)
            err->retry_after_ms = 1000;
        return ORCH_UNAVAILABLE;
    }
    c->fatal_state[0] = '\0';
    PQsetNoticeReceiver(c->pg, notice_keep, c);
    return ORCH_OK;
}

int db_pool_warm(db_pool_t *p, const char *sql)
{
    db_conn_t **held = orch_calloc((size_t)p->size, sizeof(*held));
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 10000};
    int n = 0;
    orch_error_t err;

    while (n < p->size) {
        orch_error_init(&err);
        if (db_pool_acquire(p, &ctx, 1000, &held[n], &err))
            break;
        n++;
    }
    for (int i = 0; i < n && sql; i++) {
        orch_error_init(&err);
        if (db_exec(held[i], sql, NULL, &err))
            orch_warn("db", "warming a connection: %s", err.message);
    }
    for (int i = 0; i < n; i++)
        db_pool_release(p, held[i]);
    free(held);
    return n;
}

orch_err_t db_pool_acquire(db_pool_t *p, const orch_ctx_t *ctx, int timeout_ms, db_conn_t **out,
                           orch_error_t *err)
{
    struct timespec deadline;
    slot_t *s = NULL;
    orch_err_t rc;
    int64_t left = orch_ctx_remaining_ms(ctx);
    bool by_ctx = false;

    *out = NULL;
    if (left <= 0)
        return orch_error_set(err, ORCH_DEADLINE_EXCEEDED, NULL,
                              "the deadline passed before the database was reached");
    if (left < timeout_ms) {
        timeout_ms = (int)left;
        by_ctx = true;
    }
    orch_clock_after_us(&deadline, CLOCK_MONOTONIC, (int64_t)timeout_ms * 1000);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        /* Prefer a slot that is already connected. */
        for (int i = 0; i < p->size && !s; i++)
            if (!p->slots[i].in_use && p->slots[i].conn.pg)
                s = &p->slots[i];
        for (int i = 0; i < p->size && !s; i++)
            if (!p->slots[i].in_use)
                s = &p->slots[i];
        if (s)
            break;
        if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&p->mu);
            if (by_ctx)
                return orch_error_set(err, ORCH_DEADLINE_EXCEEDED, NULL,
                                      "the deadline passed while waiting for a database "
                                      "connection");
            orch_error_set(err, ORCH_UNAVAILABLE, "DATABASE_BUSY",
                           "no database connection became free within %d ms", timeout_ms);
            if (err)
                err->retry_after_ms = 200;
            return ORCH_UNAVAILABLE;
        }
    }
    s->in_use = true;
    pthread_mutex_unlock(&p->mu);

    if (!s->conn.pg || PQstatus(s->conn.pg) != CONNECTION_OK) {
        rc = connect_slot(p, &s->conn, err);
        if (rc) {
            db_pool_release(p, &s->conn);
            return rc;
        }
    }
    s->conn.ctx = ctx;
    s->conn.rt_kind = DB_RT_OTHER;
    *out = &s->conn;
    return ORCH_OK;
}

void db_pool_release(db_pool_t *p, db_conn_t *c)
{
    slot_t *s = (slot_t *)c; /* conn is the first member of its slot */

    if (!c)
        return;
    c->ctx = NULL;
    c->begin_pending = false; /* an untouched lazy unit of work: nothing to end */
    c->commit_after = false;
    c->ended = false;
    if (c->pg && !c->broken &&
        (PQtransactionStatus(c->pg) == PQTRANS_INTRANS ||
         PQtransactionStatus(c->pg) == PQTRANS_INERROR)) {
        rollback_now(c, "ROLLBACK (release)"); /* a borrower that failed mid-transaction */
    }
    c->rt_kind = DB_RT_OTHER;
    next_kind = -1; /* a kind given for a call that made no round trip */
    if (c->pg && (c->broken || PQstatus(c->pg) != CONNECTION_OK ||
                  PQtransactionStatus(c->pg) != PQTRANS_IDLE)) {
        /* A broken connection is not safe to hand out again. */
        PQfinish(c->pg);
        c->pg = NULL;
        conn_forget_statements(c);
        c->broken = false;
    }
    pthread_mutex_lock(&p->mu);
    s->in_use = false;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

orch_err_t db_error_from_result(db_conn_t *c, PGresult *res, const char *what, orch_error_t *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char pgmsg[256];

    if (!state && c && c->fatal_state[0])
        state = c->fatal_state; /* what the server said as it closed the session */

    if (!msg) {
        snprintf(pgmsg, sizeof(pgmsg), "%s", c && c->pg ? PQerrorMessage(c->pg) : "no connection");
        pgmsg[strcspn(pgmsg, "\n")] = '\0';
        msg = pgmsg;
    }
    if (state && strcmp(state, "25P03") == 0) {
        /* idle_in_transaction_session_timeout (set by the step commit of a unit of work,
         * db__process_commit_steps): PostgreSQL ended the session and rolled the
         * transaction back before this statement ran, so nothing of it was committed. */
        if (c)
            c->broken = true;
        orch_error_set(err, ORCH_UNAVAILABLE, "DATABASE_UNAVAILABLE",
                       "the transaction was not committed: PostgreSQL ended it, idle longer "
                       "than the lease, before %s ran (%s)",
                       what, msg);
        if (err)
            err->retry_after_ms = 1000;
        return ORCH_UNAVAILABLE;
    }
    if (c && (!c->pg || PQstatus(c->pg) != CONNECTION_OK || !state ||
              strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)) {
        /* Connection exceptions and admin shutdown: the database went away under us. */
        c->broken = true;
        orch_error_set(err, ORCH_UNAVAILABLE, "DATABASE_UNAVAILABLE",
                       "the database became unavailable during %s: %s", what, msg);
        if (err)
            err->retry_after_ms = 1000;
        return ORCH_UNAVAILABLE;
    }
    if (strcmp(state, "57014") == 0)
        return orch_error_set(err, ORCH_DEADLINE_EXCEEDED, NULL,
                              "%s was cancelled because its deadline passed", what);
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
        orch_error_set(err, ORCH_ABORTED, "CONCURRENT_UPDATE",
                       "%s conflicted with a concurrent change; retry", what);
        if (err)
            err->retry_after_ms = 50;
        return ORCH_ABORTED;
    }
    if (strcmp(state, "23505") == 0)
        return orch_error_set(err, ORCH_ALREADY_EXISTS, NULL, "%s: %s", what, msg);
    if (strncmp(state, "23", 2) == 0)
        return orch_error_set(err, ORCH_FAILED_PRECONDITION, NULL, "%s: %s", what, msg);
    if (strcmp(state, "22P02") == 0 || strncmp(state, "22", 2) == 0)
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL, "%s: %s", what, msg);
    orch_err("db", "%s failed: SQLSTATE %s: %s", what, state, msg);
    return orch_error_set(err, ORCH_INTERNAL, "DATABASE_ERROR", "%s failed (SQLSTATE %s)", what,
                          state);
}

/* Sends a query and waits for its result while watching the borrower's deadline and
 * cancellation; on either, asks PostgreSQL to cancel the query and then collects the
 * (error) result, which keeps the connection in sync and usable. Returns the last result
 * (NULL if the connection failed). *why is set when we cancelled. */
static PGresult *wait_result(db_conn_t *c, orch_err_t *why);

/* PostgreSQL dropped or invalidated a prepared statement (a pooler's DISCARD, a migration
 * that changed a table under it): use a new name from the next run on. */
static void stmt_check(db_stmt_t *s, PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (s && state && (strcmp(state, "26000") == 0 || strcmp(state, "0A000") == 0)) {
        s->prepared = false;
        s->runs = 0;
        s->gen++;
    }
}

/* The parts of a pipeline around one statement (run_pipelined). */
enum {
    PIPE_BEGIN = 1,   /* BEGIN before it: a lazy unit of work's first statement */
    PIPE_GENERIC = 2, /* plan_cache_mode force_generic_plan, enable_seqscan off (LOCAL) */
    PIPE_COMMIT = 4,  /* COMMIT after it: the unit of work's last statement */
};

/* One statement of a pipeline and the parts around it (run_pipeline). */
typedef struct pipe_stmt {
    db_stmt_t *s; /* its prepared-statement slot, or NULL */
    const char *sql;
    int n;
    const char *const *params;
    int parts;
    bool prepare; /* prepared in this pipeline */
    int first;    /* the index of its first query in the pipeline */
    int mine;     /* the index of the statement's own query */
    int last;     /* one past its last query */
    PGresult *out;
} pipe_stmt_t;

/* Queues p's queries (BEGIN, SET LOCAL, prepare, the statement, COMMIT as asked); *q is the
 * pipeline's query count so far. False when libpq refused. */
static bool pipe_send(db_conn_t *c, pipe_stmt_t *p, int *q)
{
    char name[48];
    int ok = 1;

    p->prepare = p->s && !p->s->prepared && p->s->runs + 1 >= 2;
    if (p->s && !p->s->prepared)
        p->s->runs++;
    atomic_fetch_add(&statements_sent, 1);
    p->first = *q;
    if (p->parts & PIPE_BEGIN) {
        ok = PQsendQueryParams(c->pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
        (*q)++;
    }
    if (ok && (p->parts & PIPE_GENERIC)) {
        /* Planned once for every later run, and planned on whatever the statistics say at
         * that moment: a table analysed nearly empty would be read sequentially by the plan
         * for as long as it is kept. Every generic statement finds its rows by key. */
        ok = PQsendQueryParams(c->pg,
                               "SELECT set_config('plan_cache_mode', 'force_generic_plan', true), "
                               "set_config('enable_seqscan', 'off', true)",
                               0, NULL, NULL, NULL, NULL, 0);
        (*q)++;
    }
    if (ok && p->s && (p->prepare || p->s->prepared))
        stmt_name(p->s, name, sizeof(name));
    if (ok && p->prepare) {
        ok = PQsendPrepare(c->pg, name, p->sql, p->n, NULL);
        (*q)++;
    }
    p->mine = *q;
    if (ok)
        ok = p->s && (p->prepare || p->s->prepared)
                 ? PQsendQueryPrepared(c->pg, name, p->n, p->params, NULL, NULL, 0)
                 : PQsendQueryParams(c->pg, p->sql, p->n, NULL, p->params, NULL, NULL, 0);
    (*q)++;
    if (ok && (p->parts & PIPE_COMMIT)) {
        ok = PQsendQueryParams(c->pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
        (*q)++;
    }
    p->last = *q;
    return ok;
}

/* Takes result i (of the query numbered i in the pipeline) for p: keeps the statement's own
 * result, or the first error among p's queries. */
static void pipe_take(pipe_stmt_t *p, int i, PGresult *r)
{
    if (p->prepare && i == p->mine - 1) {
        if (PQresultStatus(r) == PGRES_COMMAND_OK)
            p->s->prepared = true;
        else
            stmt_check(p->s, r);
    }
    if ((p->out && PQresultStatus(p->out) == PGRES_FATAL_ERROR) ||
        (i != p->mine && PQresultStatus(r) != PGRES_FATAL_ERROR)) {
        PQclear(r);
        return;
    }
    PQclear(p->out);
    p->out = r;
}

/* The statements with the parts asked for around each, sent as one libpq pipeline: one
 * round trip. PIPE_BEGIN alone leaves the transaction open (a lazy unit of work). BEGIN |
 * GENERIC | COMMIT: the statement is the whole transaction, under plan_cache_mode
 * force_generic_plan (db_execp_generic). COMMIT: the unit of work ends with it
 * (db_conn_t.commit_after). After an error PostgreSQL skips the rest of the pipeline (its
 * results say PGRES_PIPELINE_ABORTED): a COMMIT after it does not run, and the transaction
 * stays aborted for the release's ROLLBACK. Each p[i].out gets its statement's result, or
 * its first error (a failed COMMIT's included); false when the connection failed (then
 * every out is NULL and the connection is broken). */
static bool run_pipeline(db_conn_t *c, pipe_stmt_t *p, int np, orch_err_t *why)
{
    PGresult *r;
    int queries = 0, k = 0;

    if (!PQenterPipelineMode(c->pg))
        return false;
    if (rt_debugging()) {
        /* The pipeline's shape in the report; built only then (this is every step's path). */
        char what[80];
        snprintf(what, sizeof(what), "%s%s%s%s%s", p[0].parts & PIPE_BEGIN ? "B+" : "",
                 p[0].parts & PIPE_GENERIC ? "G+" : "", p[0].parts & PIPE_COMMIT ? "C+" : "",
                 np > 1 ? "2+" : "", p[0].sql);
        rt_note(c, what);
    } else {
        rt_note(c, NULL);
    }
    for (int i = 0; i < np; i++)
        if (!pipe_send(c, &p[i], &queries))
            goto broken;
    if (!PQpipelineSync(c->pg))
        goto broken;
    /* One result (then NULL) per query, then the sync's. */
    for (int i = 0; i < queries; i++) {
        r = wait_result(c, why);
        if (!r)
            goto broken;
        while (k < np - 1 && i >= p[k].last)
            k++;
        pipe_take(&p[k], i, r);
    }
    r = wait_result(c, why); /* PGRES_PIPELINE_SYNC */
    PQclear(r);
    if (!PQexitPipelineMode(c->pg))
        c->broken = true;
    for (int i = 0; i < np; i++)
        if (p[i].s && p[i].s->prepared && p[i].out && PQresultStatus(p[i].out) == PGRES_FATAL_ERROR)
            stmt_check(p[i].s, p[i].out);
    return true;
broken:
    c->broken = true;
    for (int i = 0; i < np; i++) {
        PQclear(p[i].out);
        p[i].out = NULL;
    }
    return false;
}

/* One statement in a pipeline (run_pipeline): its result, or the first error; NULL when the
 * connection failed. */
static PGresult *run_pipelined(db_conn_t *c, db_stmt_t *s, const char *sql, int n,
                               const char *const *params, int parts, orch_err_t *why)
{
    pipe_stmt_t p = {.s = s, .sql = sql, .n = n, .params = params, .parts = parts};
    return run_pipeline(c, &p, 1, why) ? p.out : NULL;
}

static PGresult *run(db_conn_t *c, const char *sql, int n, const char *const *params,
                     orch_err_t *why)
{
    db_stmt_t *s = NULL;
    char name[48];
    PGresult *r;
    int ok;

    *why = ORCH_OK;
    /* A statement after the unit of work's COMMIT would run outside it: a caller's bug. */
    orch_assert(!c->ended);
    if (n >= 0)
        s = stmt_for(c, sql);
    if (c->commit_after && n >= 0) {
        /* The unit of work's last statement: COMMIT travels with it (and BEGIN, when it is
         * also the first), in one round trip. */
        int parts = PIPE_COMMIT | (c->begin_pending ? PIPE_BEGIN : 0);
        c->begin_pending = c->commit_after = false;
        r = run_pipelined(c, s, sql, n, params, parts, why);
        c->ended =
            r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
        return r;
    }
    c->commit_after = false; /* plain SQL: its own round trip, COMMIT in the next */
    if (c->begin_pending) {
        /* A lazy unit of work's first statement: BEGIN travels with it, in one round trip. */
        c->begin_pending = false;
        if (n < 0) {
            /* Plain SQL: one simple-protocol string (the last result is the statement's). */
            char *both = orch_asprintf("BEGIN; %s", sql);
            atomic_fetch_add(&statements_sent, 1);
            rt_note(c, both);
            ok = PQsendQuery(c->pg, both);
            free(both);
            return ok ? wait_result(c, why) : NULL;
        }
        return run_pipelined(c, s, sql, n, params, PIPE_BEGIN, why);
    }
    if (s && !s->prepared && ++s->runs >= 2) {
        /* Seen before: prepare it (one extra round trip, once per session). */
        stmt_name(s, name, sizeof(name));
        rt_note(c, "(prepare)");
        if (!PQsendPrepare(c->pg, name, sql, n, NULL))
            return NULL;
        r = wait_result(c, why);
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
            stmt_check(s, r);
            return r; /* the statement's own error (syntax, aborted transaction, ...) */
        }
        PQclear(r);
        s->prepared = true;
    }
    atomic_fetch_add(&statements_sent, 1);
    rt_note(c, sql);
    if (s && s->prepared) {
        stmt_name(s, name, sizeof(name));
        ok = PQsendQueryPrepared(c->pg, name, n, params, NULL, NULL, 0);
    } else if (n >= 0) {
        ok = PQsendQueryParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
    } else {
        ok = PQsendQuery(c->pg, sql);
    }
    if (!ok) {
        (void)PQisBusy(c->pg); /* parses what the server sent before it closed, if anything */
        return NULL;
    }
    r = wait_result(c, why);
    if (s && s->prepared && r && PQresultStatus(r) == PGRES_FATAL_ERROR)
        stmt_check(s, r);
    return r;
}

/* Waits for the result of what was sent, watching the borrower's deadline and
 * cancellation. */
static PGresult *wait_result(db_conn_t *c, orch_err_t *why)
{
    PGresult *last = NULL, *r;
    bool cancel_sent = false;

    while (PQisBusy(c->pg)) {
        struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};
        int64_t left = orch_ctx_remaining_ms(c->ctx);
        int wait = 100;

        if (!cancel_sent && (left <= 0 || orch_ctx_cancelled(c->ctx))) {
            char ebuf[256];
            PGcancel *pc = PQgetCancel(c->pg);
            *why = left <= 0 ? ORCH_DEADLINE_EXCEEDED : ORCH_CANCELLED;
            if (!pc || !PQcancel(pc, ebuf, sizeof(ebuf))) {
                PQfreeCancel(pc);
                c->broken = true;
                return NULL;
            }
            PQfreeCancel(pc);
            cancel_sent = true;
        }
        if (!cancel_sent && left < wait)
            wait = (int)(left > 0 ? left : 0);
        if (pfd.fd < 0)
            return NULL;
        if (poll(&pfd, 1, cancel_sent ? 1000 : wait) < 0 && errno != EINTR)
            return NULL;
        if (!PQconsumeInput(c->pg))
            break; /* the connection failed: PQgetResult below hands over its error, with
                      what the server said before it closed (a FATAL's SQLSTATE, such as
                      25P03 after idle_in_transaction_session_timeout) when it said it */
    }
    while ((r = PQgetResult(c->pg)) != NULL) {
        if (last && PQresultStatus(last) == PGRES_FATAL_ERROR) {
            PQclear(r); /* keep the first error */
            continue;
        }
        PQclear(last);
        last = r;
    }
    return last;
}

static orch_err_t check(db_conn_t *c, PGresult *r, orch_err_t why, PGresult **res,
                        orch_error_t *err)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    orch_err_t rc;

    if (res)
        *res = NULL;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (res)
            *res = r;
        else
            PQclear(r);
        return ORCH_OK;
    }
    if (why == ORCH_CANCELLED) {
        rc = orch_error_set(err, ORCH_CANCELLED, NULL,
                            "the caller went away; its database query was cancelled");
    } else {
        rc = db_error_from_result(c, r, "a database query", err);
        if (why == ORCH_DEADLINE_EXCEEDED && rc != ORCH_UNAVAILABLE)
            rc = orch_error_set(err, ORCH_DEADLINE_EXCEEDED, NULL,
                                "the deadline passed while the database was working (waiting "
                                "for a lock?); the query was cancelled");
    }
    PQclear(r);
    return rc;
}

orch_err_t db_execp_generic(db_conn_t *c, const char *sql, int nparams, const char *const *params,
                            PGresult **res, orch_error_t *err)
{
    orch_err_t why;
    PGresult *r;

    if (c->begin_pending || PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        r = run(c, sql, nparams, params, &why); /* in a unit of work: as it is */
    } else {
        why = ORCH_OK;
        r = run_pipelined(c, stmt_for(c, sql), sql, nparams, params,
                          PIPE_BEGIN | PIPE_GENERIC | PIPE_COMMIT, &why);
    }
    return check(c, r, why, res, err);
}

orch_err_t db_execp_then_generic(db_conn_t *c, const char *sql, int nparams,
                                 const char *const *params, PGresult **res, orch_error_t *err,
                                 const char *sql2, int nparams2, const char *const *params2,
                                 PGresult **res2)
{
    orch_err_t why = ORCH_OK, rc;
    pipe_stmt_t p[2] = {
        {.sql = sql, .n = nparams, .params = params, .parts = PIPE_BEGIN | PIPE_COMMIT},
        {.sql = sql2,
         .n = nparams2,
         .params = params2,
         .parts = PIPE_BEGIN | PIPE_GENERIC | PIPE_COMMIT},
    };

    *res2 = NULL;
    orch_assert(!c->begin_pending && !c->ended && PQtransactionStatus(c->pg) == PQTRANS_IDLE);
    stmts_for_two(c, sql, sql2, &p[0].s, &p[1].s);
    (void)run_pipeline(c, p, 2, &why);
    if (!c->broken && PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
        /* sql failed inside its BEGIN: end that transaction, as a lone statement's failure
         * would have, so the caller may use the connection again (a retry). */
        rollback_now(c, "ROLLBACK (after a failed pipeline)");
    }
    rc = check(c, p[0].out, why, res, err);
    if (!rc && p[1].out &&
        (PQresultStatus(p[1].out) == PGRES_TUPLES_OK ||
         PQresultStatus(p[1].out) == PGRES_COMMAND_OK)) {
        *res2 = p[1].out;
    } else {
        if (!rc && p[1].out)
            orch_debug("db", "the statement sent after another failed: %s",
                       PQresultErrorMessage(p[1].out));
        PQclear(p[1].out);
    }
    return rc;
}

orch_err_t db_execp_batch(db_conn_t *c, const char *sql, int nparams,
                          const char *const *const *params, int n, PGresult **res,
                          orch_error_t *err)
{
    orch_err_t why = ORCH_OK, rc = ORCH_OK;
    pipe_stmt_t *p = orch_calloc((size_t)n, sizeof(*p));
    db_stmt_t *s;
    int bad = -1;

    orch_assert(n >= 1 && !c->begin_pending && !c->ended &&
                PQtransactionStatus(c->pg) == PQTRANS_IDLE);
    s = stmt_for(c, sql);
    for (int i = 0; i < n; i++) {
        /* Only the first may prepare the statement (its name must not be prepared twice in
         * one pipeline); the others run it prepared when it already is, else unnamed; all
         * unnamed when the pool prepares nothing (--db-prepare off: s is NULL). */
        p[i] = (pipe_stmt_t){.s = s && (i == 0 || s->prepared) ? s : NULL,
                             .sql = sql,
                             .n = nparams,
                             .params = params[i]};
    }
    p[0].parts |= PIPE_BEGIN;
    p[n - 1].parts |= PIPE_COMMIT;
    (void)run_pipeline(c, p, n, &why);
    if (!c->broken && PQtransactionStatus(c->pg) == PQTRANS_INERROR)
        rollback_now(c, "ROLLBACK (after a failed batch)");
    /* After the first error PostgreSQL skipped the rest: that one is the batch's error. */
    for (int i = 0; i < n && bad < 0; i++)
        if (!p[i].out || (PQresultStatus(p[i].out) != PGRES_TUPLES_OK &&
                          PQresultStatus(p[i].out) != PGRES_COMMAND_OK))
            bad = i;
    if (bad >= 0) {
        rc = check(c, p[bad].out, why, NULL, err);
        p[bad].out = NULL; /* check cleared it */
    }
    for (int i = 0; i < n; i++) {
        if (rc)
            PQclear(p[i].out);
        res[i] = rc ? NULL : p[i].out;
    }
    free(p);
    return rc;
}

orch_err_t db_exec(db_conn_t *c, const char *sql, PGresult **res, orch_error_t *err)
{
    orch_err_t why;
    PGresult *r = run(c, sql, -1, NULL, &why);
    return check(c, r, why, res, err);
}

orch_err_t db_execp(db_conn_t *c, const char *sql, int nparams, const char *const *params,
                    PGresult **res, orch_error_t *err)
{
    orch_err_t why;
    PGresult *r = run(c, sql, nparams, params, &why);
    return check(c, r, why, res, err);
}
