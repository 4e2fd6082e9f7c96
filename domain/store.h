/* The storage interface of the domain, split by aggregate (like Redis's ConnectionType, one
 * table of functions per kind of record), so that the domain never sees SQL. db/ implements
 * it with PostgreSQL. This header is the umbrella: the store handle, the unit of work and
 * the tables, one header each under domain/store/:
 *
 *   st->catalog    store/catalog.h        products, workflows, workflow definitions, inventory
 *   st->subs       store/subscriptions.h  subscriptions, customer descriptions, their events
 *   st->procs      store/processes.h      processes: records, forms, callbacks, events, retries
 *   st->engine     store/engine.h         replicas, claims, step commits, parallel branches
 *   st->workers    store/workers.h        step workers and their tasks
 *   st->schedules  store/schedules.h      schedules and their firing
 *   st->audit      store/audit.h          the audit log of admin calls
 *
 * Calling convention of every table under domain/store/, stated once here and named at the
 * top of each header: an op takes (orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
 * its own arguments..., orch_error_t *err) and returns 0 or the error it also wrote to err.
 * - st: the store the table was reached from (st->subs->save(st, ...)).
 * - tx: the unit of work it runs in. Each header groups its ops by what they accept:
 *   "in a unit of work" ops need a tx (they read or write as part of the caller's
 *   transaction, which commits them with the rest); "with or without a unit of work" ops run
 *   alone on a pooled connection when tx is NULL; "on their own" ops need tx NULL (they take a
 *   pooled connection for the call, or run transactions of their own that must never wait
 *   for the caller's). A misuse is a broken invariant and aborts (db__in_tx, db__no_tx).
 * - ctx: the deadline and cancellation of an op run without a tx (NULL = none). A unit of
 *   work keeps the context it began with, so with a tx ctx is not used (pass NULL, or the
 *   context at hand, which is the unit of work's).
 * The unit of work's own functions (st->uow, below) are the exception: they make or end a
 * tx, so begin, begin_lazy and ping take (st, ctx) and the others the tx they act on.
 *
 * Every function is thread-safe and reports failures as project errors (UNAVAILABLE with
 * reason DATABASE_UNAVAILABLE when the database cannot be reached). */
#ifndef ORCH_STORE_H
#define ORCH_STORE_H

#include <jansson.h>
#include <stdlib.h>

#include "base/ctx.h"
#include "base/errors.h"
#include "catalog/catalog.h"
#include "events.h"
#include "process.h"
#include "schedule/schedule.h"
#include "store/audit.h"
#include "store/catalog.h"
#include "store/engine.h"
#include "store/processes.h"
#include "store/schedules.h"
#include "store/subscriptions.h"
#include "store/workers.h"
#include "subscription/subscription.h"

typedef struct orch_store orch_store_t;

/* A unit of work: one database transaction. A workflow step's commit, the subscription
 * changes it saves and the idempotency record of the call that caused it all share one, so
 * they commit together or not at all. Owned by whoever began it until commit/rollback,
 * which free it. Not thread-safe: one thread at a time. */
typedef struct orch_tx orch_tx_t;

/* What a request_id claim found (see idem_claim). */
typedef enum {
    ORCH_IDEM_NEW,      /* first time: do the work, then idem_record */
    ORCH_IDEM_REPLAY,   /* done before with the same body: answer the stored response */
    ORCH_IDEM_MISMATCH, /* used before with another method or body: refuse */
} orch_idem_t;

/* The unit of work's own functions and the store's health, reached as st->uow. They make or
 * end a tx, so they are the one exception to the convention: begin, begin_lazy and ping
 * take (st, ctx), the others the tx they act on. */
typedef struct orch_uow_store {
    /* Is the database reachable right now? */
    orch_err_t (*ping)(orch_store_t *st, const orch_ctx_t *ctx, orch_error_t *err);

    /* Units of work. commit and rollback free tx (commit also on failure). BEGIN goes out
     * with the first statement (one round trip for both), so an untouched unit of work costs
     * none. ctx governs every statement of the unit of work. */
    orch_err_t (*begin)(orch_store_t *st, const orch_ctx_t *ctx, orch_tx_t **tx, orch_error_t *err);
    orch_err_t (*commit)(orch_tx_t *tx, orch_error_t *err);
    void (*rollback)(orch_tx_t *tx); /* NULL ok */
    /* The next store call is tx's last and runs a single statement: its COMMIT goes out
     * with it, in the same round trip, and commit then sends nothing. If that statement
     * fails, nothing is committed and commit or rollback ends tx as usual. May be NULL (a
     * store without it commits in a round trip of its own). */
    void (*commit_with_next)(orch_tx_t *tx);
    /* The same as begin, named for callers that rely on its laziness (the engine opens one
     * per step and uses used to see whether the step wrote through the store). */
    orch_err_t (*begin_lazy)(orch_store_t *st, const orch_ctx_t *ctx, orch_tx_t **tx,
                             orch_error_t *err);
    /* Whether anything ran in tx (a lazy one: whether BEGIN was sent). */
    bool (*used)(const orch_tx_t *tx);
    /* Makes tx a read-only repeatable-read snapshot (call it first): the reads of a stream's
     * start (events_seq and the record) then agree. */
    orch_err_t (*snapshot)(orch_tx_t *tx, orch_error_t *err);

    /* Idempotency of state-changing calls. idem_claim records request_id for (method, hash)
     * inside tx; a concurrent duplicate waits until tx ends. On REPLAY, *response is the
     * stored answer (caller frees). idem_record stores the answer before commit. */
    orch_err_t (*idem_claim)(orch_tx_t *tx, const char *request_id, const char *method,
                             const unsigned char hash[32], orch_idem_t *state,
                             unsigned char **response, size_t *len, orch_error_t *err);
    orch_err_t (*idem_record)(orch_tx_t *tx, const char *request_id, const unsigned char *response,
                              size_t len, orch_error_t *err);
} orch_uow_store_t;

/* The store handle: the unit of work and one table per aggregate, filled by the
 * implementation (db_store_new). The tables are the store's whole interface: a call reads
 * st->TABLE->op(st, ...), so a grep for "->subs->" finds every use of the subscriptions'. */
struct orch_store {
    void (*free)(orch_store_t *st); /* orch_store_free's */
    const orch_uow_store_t *uow;
    const orch_catalog_store_t *catalog;
    const orch_sub_store_t *subs;
    const orch_process_store_t *procs;
    const orch_engine_store_t *engine;
    const orch_worker_store_t *workers;
    const orch_schedule_store_t *schedules;
    const orch_audit_store_t *audit;
};

static inline void orch_store_free(orch_store_t *st)
{
    if (st)
        st->free(st);
}

#endif
