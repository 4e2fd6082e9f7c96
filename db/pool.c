/* The connection pool: a mutex, a condition variable and a fixed array of slots.
 * Connecting happens outside the mutex so a slow or absent database never blocks threads
 * that only want to release. */
#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/alloc.h"
#include "domain/log.h"

static atomic_ulong statements_sent;

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

static void notice_quiet(void *arg, const char *msg)
{
    (void)arg;
    orch_debug("db", "notice: %s", msg);
}

/* Opens a connection with a connect timeout and the settings every session needs. */
static orch_err_t connect_slot(db_pool_t *p, db_conn_t *c, orch_error_t *err)
{
    /* Parallel query costs more to start than it saves on the small, indexed reads of an
     * OLTP service (bench/subscriptions.sh measured the worker start-up dominating). */
    const char *keys[] = {"dbname", "connect_timeout", "application_name", "options", NULL};
    const char *vals[] = {p->conninfo, "5", "orchestratord", "-c max_parallel_workers_per_gather=0",
                          NULL};

    if (c->pg)
        PQfinish(c->pg);
    c->prepared = 0;
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
    PQsetNoticeProcessor(c->pg, notice_quiet, NULL);
    return ORCH_OK;
}

orch_err_t db_pool_acquire(db_pool_t *p, const orch_ctx_t *ctx, int timeout_ms,
                           db_conn_t **out, orch_error_t *err)
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
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
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
    *out = &s->conn;
    return ORCH_OK;
}

void db_pool_release(db_pool_t *p, db_conn_t *c)
{
    slot_t *s = (slot_t *)c; /* conn is the first member of its slot */

    if (!c)
        return;
    c->ctx = NULL;
    if (c->pg && !c->broken &&
        (PQtransactionStatus(c->pg) == PQTRANS_INTRANS ||
         PQtransactionStatus(c->pg) == PQTRANS_INERROR)) {
        /* A borrower that failed mid-transaction: roll back so the slot is clean. */
        PGresult *r = PQexec(c->pg, "ROLLBACK");
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            c->broken = true;
        PQclear(r);
    }
    if (c->pg && (c->broken || PQstatus(c->pg) != CONNECTION_OK ||
                  PQtransactionStatus(c->pg) != PQTRANS_IDLE)) {
        /* A broken connection is not safe to hand out again. */
        PQfinish(c->pg);
        c->pg = NULL;
        c->prepared = 0;
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

    if (!msg) {
        snprintf(pgmsg, sizeof(pgmsg), "%s", c && c->pg ? PQerrorMessage(c->pg) : "no connection");
        pgmsg[strcspn(pgmsg, "\n")] = '\0';
        msg = pgmsg;
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
static PGresult *run(db_conn_t *c, const char *sql, int n, const char *const *params,
                     orch_err_t *why)
{
    PGresult *last = NULL, *r;
    bool cancel_sent = false;
    int ok;

    *why = ORCH_OK;
    atomic_fetch_add(&statements_sent, 1);
    if (n >= 0)
        ok = PQsendQueryParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
    else
        ok = PQsendQuery(c->pg, sql);
    if (!ok)
        return NULL;
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
            return NULL;
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
