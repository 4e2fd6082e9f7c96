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
 *   work keeps the context it began with, so with a tx ctx is not used (callers pass NULL).
 * The unit of work's own functions (st->uow, below) are the exception: they make or end a
 * tx, so begin takes (st, ctx) and the others the tx they act on.
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

typedef struct orch_store_ops {
    void (*free)(orch_store_t *st);
    /* Is the database reachable right now? */
    orch_err_t (*ping)(orch_store_t *st, const orch_ctx_t *ctx, orch_error_t *err);

    /* Units of work. commit and rollback free tx (commit also on failure). BEGIN goes out
     * with the first statement (one round trip for both), so an untouched unit of work costs
     * none. */
    orch_err_t (*tx_begin)(orch_store_t *st, const orch_ctx_t *ctx, orch_tx_t **tx,
                           orch_error_t *err);
    orch_err_t (*tx_commit)(orch_tx_t *tx, orch_error_t *err);
    void (*tx_rollback)(orch_tx_t *tx); /* NULL ok */
    /* The same as tx_begin, named for callers that rely on its laziness (the engine opens
     * one per step and uses tx_used to see whether the step wrote through the store). */
    orch_err_t (*tx_begin_lazy)(orch_store_t *st, const orch_ctx_t *ctx, orch_tx_t **tx,
                                orch_error_t *err);
    /* Whether anything ran in tx (a lazy one: whether BEGIN was sent). */
    bool (*tx_used)(const orch_tx_t *tx);

    /* Idempotency of state-changing calls. idem_claim records request_id for (method, hash)
     * inside tx; a concurrent duplicate waits until tx ends. On REPLAY, *response is the
     * stored answer (caller frees). idem_record stores the answer before commit. */
    orch_err_t (*idem_claim)(orch_tx_t *tx, const char *request_id, const char *method,
                             const unsigned char hash[32], orch_idem_t *state,
                             unsigned char **response, size_t *len, orch_error_t *err);
    orch_err_t (*idem_record)(orch_tx_t *tx, const char *request_id, const unsigned char *response,
                              size_t len, orch_error_t *err);

    /* Streams. tx_snapshot makes tx a read-only repeatable-read snapshot (call it first).
     * events_seq: the process's last event sequence (NOT_FOUND PROCESS_NOT_FOUND).
     * events_after: up to limit events of one process with sequence > after, in order.
     * events_global: up to limit events after cursor (NULL/"" = from now: *out_cursor gets
     * the starting point) of processes matching filter (the ListProcesses grammar), in the
     * global order, never past a transaction still in flight; *out_cursor = the last one's.
     * *out arrays: caller frees with orch_events_free. */
    orch_err_t (*tx_snapshot)(orch_tx_t *tx, orch_error_t *err);

    /* ---- The workflow engine (db/store_process.c; protocols in docs/SCHEMA.md) ---- */
    /* Registers this replica (hostname, pid, build, address, workers) and the workflow
     * versions it can run: workflows rows, workflow_versions (FAILED_PRECONDITION
     * WORKFLOW_VERSION_MISMATCH when a stored digest differs) and replica_workflow_versions.
     * replica_id (37 bytes) gets the new replica's id. */
    orch_err_t (*engine_register)(orch_store_t *st, const orch_ctx_t *ctx, const char *hostname,
                                  const char *build, const char *address, int workers,
                                  const orch_wf_reg_t *wfs, size_t nwfs, char *replica_id,
                                  orch_error_t *err);
    /* Heartbeat and housekeeping, every few seconds per replica: heartbeat_time, renews the
     * leases this replica holds (never past a step's deadline_time), fails processes whose
     * step overran its deadline and due processes whose version no live replica has. */
    /* held: the processes this replica's workers hold in memory (running or waiting in its
     * local list); only their leases are renewed. *paused: the pause switch as read now. */
    orch_err_t (*engine_heartbeat)(orch_store_t *st, const orch_ctx_t *ctx, const char *replica_id,
                                   int lease_ms, const char (*held)[37], size_t nheld, bool *paused,
                                   orch_error_t *err);
    /* Clean stop: draining/stop_time, releases every lease held, forgets its versions. */
    orch_err_t (*engine_stop)(orch_store_t *st, const orch_ctx_t *ctx, const char *replica_id,
                              orch_error_t *err);
    /* Claims up to max runnable, due processes of versions this replica has, unless the
     * engine is paused (FOR UPDATE SKIP LOCKED; lease of lease_ms), in one statement that
     * also returns each one's state, done keys, retry count and branch (orch_claim_t: the
     * caller cleans each up with orch_claim_cleanup). */
    orch_err_t (*process_claim)(orch_store_t *st, const orch_ctx_t *ctx, const char *replica_id,
                                int lease_ms, int max, orch_claim_t *out, size_t *n,
                                orch_error_t *err);
    /* Before a step runs: deadline_time = now() + timeout_ms, the running step's key and
     * name, status running (fenced on lease_token: ABORTED LEASE_LOST when moved on);
     * c->step_started gets the database's clock. *paused: the engine is paused (nothing
     * changed then). */
    orch_err_t (*process_step_begin)(orch_store_t *st, const orch_ctx_t *ctx, orch_claim_t *c,
                                     const char *step_key, const char *step_name, int timeout_ms,
                                     bool *paused, orch_error_t *err);
    /* Commits one step's outcome in tx (which already holds the step's own changes): the
     * fenced process update, the audit row (an identical repeated failure of the last row
     * bumps its retry_count instead), linked subscriptions and the events.
     * ABORTED LEASE_LOST when the lease moved on: the caller must roll tx back. */
    orch_err_t (*process_commit_step)(orch_tx_t *tx, const orch_step_commit_t *c,
                                      orch_error_t *err);
    /* Commits the steps of n processes in one round trip (orch_commit_steps, migration
     * 0011), each part in its own subtransaction: a lost fence or an SQL error fails that
     * part only (res[i].ok false), the rest commits. tx NULL: one transaction of its own (a
     * group commit); else inside tx, which holds the step's own writes (the caller rolls tx
     * back when res[0] is not ok). Returns an error only when the statement itself failed
     * (then nothing committed). res: n entries. */
    orch_err_t (*process_commit_steps)(orch_store_t *st, orch_tx_t *tx,
                                       const orch_step_commit_t *parts, size_t n,
                                       orch_commit_result_t *res, orch_error_t *err);
    /* Gives a claimed process back without a step (stopping, paused): runnable now. */
    orch_err_t (*process_release)(orch_store_t *st, const orch_ctx_t *ctx, const orch_claim_t *c,
                                  orch_error_t *err);
    orch_err_t (*engine_status)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                orch_engine_status_t *out, orch_error_t *err);
    orch_err_t (*engine_set_paused)(orch_tx_t *tx, bool paused, const char *actor,
                                    orch_error_t *err);

    /* ---- Forms, people and external systems (db/store_forms.c) ---- */

    /* ---- Scale-out: replicas, takeover, schedules (db/store_replica.c, store_schedule.c) ---- */
    /* ListReplicas: filter over state, hostname, build_version, heartbeat_time, start_time
     * (NULL/"" = replicas seen in the last 24 hours), ordered by start_time; keyset pages. */
    orch_err_t (*replica_list)(orch_store_t *st, const orch_ctx_t *ctx, const char *filter,
                               int page_size, const char *page_token, orch_replica_page_t *out,
                               orch_error_t *err);
    /* Takes over the processes leased by replicas whose heartbeat is older than dead_after_ms
     * (not this one): lease cleared, lease_token + 1, next_run_time = now(), each exactly once
     * whatever the number of replicas doing it (row locks, SKIP LOCKED). *taken: how many. */
    orch_err_t (*engine_takeover)(orch_store_t *st, const orch_ctx_t *ctx, const char *replica_id,
                                  int dead_after_ms, int *taken, orch_error_t *err);

    /* ---- Parallel branches (db/store_parallel.c; protocol in docs/SCHEMA.md) ---- */
    /* Locks the claimed parent process for the rest of tx, fenced on lease_token (ABORTED
     * LEASE_LOST when it moved on), and then reads the branch processes of its parallel
     * step parallel_key (so every branch commit that settled before is seen). *rows: caller
     * frees with orch_branch_rows_free. */
    orch_err_t (*branch_list)(orch_tx_t *tx, const char *process_id, int64_t lease_token,
                              const char *parallel_key, orch_branch_row_t **rows, size_t *n,
                              orch_error_t *err);
    /* Under that lock: creates the branch processes named in create (each starting from
     * state), re-runs the settled-but-failed branches named in rerun, and parks the parent
     * (running, not runnable, no lease) until its last branch settles (the migration 0008
     * trigger wakes it then; at once when every branch has settled already). */
    orch_err_t (*branch_start)(orch_tx_t *tx, const char *process_id, int64_t lease_token,
                               const char *parallel_key, const char *const *create, size_t ncreate,
                               const json_t *state, const char *const *rerun, size_t nrerun,
                               const char *actor, orch_error_t *err);

    /* ---- Workflows as data (db/store_definitions.c; migration 0017) ---- */
} orch_store_ops_t;

/* The store handle: one table per aggregate, filled by the implementation (db_store_new). */
struct orch_store {
    const orch_store_ops_t *ops;
    const orch_catalog_store_t *catalog;
    const orch_sub_store_t *subs;
    const orch_process_store_t *procs;
    const orch_worker_store_t *workers;
    const orch_schedule_store_t *schedules;
    const orch_audit_store_t *audit;
};

static inline void orch_store_free(orch_store_t *st)
{
    if (st)
        st->ops->free(st);
}

#endif
