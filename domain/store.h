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
    orch_err_t (*events_seq)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *process_id, int64_t *seq, orch_error_t *err);
    orch_err_t (*events_after)(orch_store_t *st, const orch_ctx_t *ctx, const char *process_id,
                               int64_t after, int limit, orch_event_t **out, size_t *n,
                               orch_error_t *err);
    orch_err_t (*events_global)(orch_store_t *st, const orch_ctx_t *ctx, const char *filter,
                                const char *cursor, int limit, orch_event_t **out, size_t *n,
                                char out_cursor[64], orch_error_t *err);

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
    /* Creates a process with its initial input and first event; wakes the workers at commit.
     * NOT_FOUND WORKFLOW_VERSION_NOT_FOUND when the version is not registered.
     * process_id: 37 bytes. */
    orch_err_t (*process_create)(orch_tx_t *tx, const orch_process_new_t *p, char *process_id,
                                 orch_error_t *err);
    /* One process; full = with the audit log and initial input. tx may be NULL. NOT_FOUND
     * PROCESS_NOT_FOUND. *out: caller frees with orch_process_free. */
    orch_err_t (*process_get)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const char *process_id, bool full, orch_process_t **out,
                              orch_error_t *err);
    /* ListProcesses (filter, order_by, keyset page token). page: caller cleans up. */
    orch_err_t (*process_list)(orch_store_t *st, const orch_ctx_t *ctx,
                               const orch_process_query_t *q, orch_process_page_t *page,
                               orch_error_t *err);
    /* Counts per (is_task, status) of processes matching filter. *out: caller frees. */
    orch_err_t (*process_status_counts)(orch_store_t *st, const orch_ctx_t *ctx, const char *filter,
                                        orch_status_count_t **out, size_t *n, orch_error_t *err);
    /* Retry from the failed step (failed, api_unavailable, inconsistent_data, waiting), or
     * run the callback step's action again (awaiting_callback: its undelivered tokens stop
     * working): resumed and runnable now. FAILED_PRECONDITION PROCESS_NOT_RETRIABLE
     * otherwise. */
    orch_err_t (*process_retry)(orch_tx_t *tx, const char *process_id, const char *actor,
                                orch_error_t *err);
    /* Abort: aborted, lease token moved on (a running step's commit is refused), an "aborted
     * by" audit row. FAILED_PRECONDITION PROCESS_FINISHED for completed/aborted ones;
     * *already = true (no change) for an aborted one. */
    orch_err_t (*process_abort)(orch_tx_t *tx, const char *process_id, const char *reason,
                                const char *actor, bool *already, orch_error_t *err);
    /* Deletes a task with its log. FAILED_PRECONDITION PROCESS_NOT_A_TASK for a workflow. */
    orch_err_t (*process_delete)(orch_tx_t *tx, const char *process_id, orch_error_t *err);
    orch_err_t (*process_set_note)(orch_tx_t *tx, const char *process_id, const char *note,
                                   orch_error_t *err);
    /* Resumes every failed / waiting / api_unavailable / inconsistent_data task matching
     * filter. *ids: caller frees each and the array. */
    orch_err_t (*process_bulk_resume)(orch_tx_t *tx, const char *filter, const char *actor,
                                      char ***ids, size_t *n, orch_error_t *err);
    orch_err_t (*engine_status)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                orch_engine_status_t *out, orch_error_t *err);
    orch_err_t (*engine_set_paused)(orch_tx_t *tx, bool paused, const char *actor,
                                    orch_error_t *err);

    /* ---- Forms, people and external systems (db/store_forms.c) ---- */
    /* Locks the process row for the rest of tx; status: its last_status (32 bytes),
     * last_step_key (256 bytes, "" = none). NOT_FOUND PROCESS_NOT_FOUND. */
    orch_err_t (*process_lock)(orch_tx_t *tx, const char *process_id, char *status,
                               char *last_step_key, orch_error_t *err);
    /* Links a process to a subscription (idempotent). */
    orch_err_t (*process_link_subscription)(orch_tx_t *tx, const char *process_id,
                                            const char *subscription_id, orch_error_t *err);
    /* Commits a suspended input step's answers (under the lock of process_lock): the
     * input_states row (masked inputs, given_by), the step's success row (state, delta,
     * executed_by = actor), status resumed and runnable, events. FAILED_PRECONDITION
     * PROCESS_NOT_SUSPENDED unless the process is suspended at step_key. */
    orch_err_t (*process_resume_input)(orch_tx_t *tx, const char *process_id, const char *step_key,
                                       const char *step_name, const json_t *masked_inputs,
                                       const json_t *state, const json_t *delta, const char *actor,
                                       orch_error_t *err);
    /* Secret answers (forms.h, orch_form_secrets): keeps one form's overlay apart from the
     * audit log; step_key "" for the start form, else the input step (given again for the
     * same step, it replaces the earlier one). Forgotten when the process completes or is
     * aborted. */
    orch_err_t (*process_secrets_put)(orch_tx_t *tx, const char *process_id, const char *step_key,
                                      const json_t *overlay, orch_error_t *err);
    /* The process's overlays deep-merged in the order given; *out = NULL when it has none.
     * For the engine only: no RPC ever returns them. tx may be NULL. */
    orch_err_t (*process_secrets_get)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                      const char *process_id, json_t **out, orch_error_t *err);
    /* A callback step's token (only its SHA-256 is stored), with its expiry (0 = none). */
    orch_err_t (*callback_create)(orch_tx_t *tx, const char *process_id, const char *step_key,
                                  const char *token, int timeout_ms, orch_error_t *err);
    /* Delivers once: the callback row, the step's success row with state || result, status
     * resumed and runnable, events. PERMISSION_DENIED CALLBACK_TOKEN_INVALID for a token
     * the process never had; *already = true (no change) for one delivered before;
     * FAILED_PRECONDITION PROCESS_NOT_AWAITING_CALLBACK when the process moved on. status
     * (32 bytes): the process status after it. */
    orch_err_t (*callback_deliver)(orch_tx_t *tx, const char *process_id, const char *token,
                                   const json_t *result, const char *actor, bool *already,
                                   char *status, orch_error_t *err);
    /* Records progress of an undelivered callback and a callback_progress event (payload:
     * step_key, message, progress). PERMISSION_DENIED CALLBACK_TOKEN_INVALID otherwise. */
    orch_err_t (*callback_progress)(orch_tx_t *tx, const char *process_id, const char *token,
                                    const char *message, const json_t *progress, orch_error_t *err);
    /* Fails processes awaiting a callback past its expiry (reason CALLBACK_TIMEOUT), with a
     * failed audit row; *n: how many. */
    orch_err_t (*callback_fail_expired)(orch_store_t *st, const orch_ctx_t *ctx, int *n,
                                        orch_error_t *err);
    /* The undelivered callback of an awaiting_callback process as
     * {step_key, create_us, expire_us, progress, progress_message, progress_us}, or *out =
     * NULL. tx may be NULL. */
    orch_err_t (*callback_pending)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *process_id, json_t **out, orch_error_t *err);

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
    /* process_retry that tells a repeat: *already = true (nothing changed) when the process is
     * no longer retriable because an earlier retry already resumed it after its last failure. */
    orch_err_t (*process_retry_once)(orch_tx_t *tx, const char *process_id, const char *actor,
                                     bool *already, orch_error_t *err);
    /* The clean-up task: deletes finished tasks that ended more than older_than_s ago and
     * expired request ids. *n: tasks deleted. */
    orch_err_t (*tasks_clean_up)(orch_tx_t *tx, long older_than_s, long *n, orch_error_t *err);

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
    /* RetryProcess of a process that failed at a parallel step, for the branches named
     * (n = 0: every failed one): they run again from their failed step, the others are left
     * as they are, the process waits for the join (running). *handled = false (nothing
     * done) when the process did not fail at a parallel step. *already = true when every
     * branch named was re-run already and has not failed again. INVALID_ARGUMENT naming
     * "branches" for a name that is not a failed branch; FAILED_PRECONDITION
     * PROCESS_NOT_RETRIABLE for a branch process (retry its parent). */
    orch_err_t (*process_retry_branches)(orch_tx_t *tx, const char *process_id, const char *actor,
                                         const char *const *names, size_t n, bool *handled,
                                         bool *already, orch_error_t *err);

    /* ---- Workflows as data (db/store_definitions.c; migration 0017) ---- */
} orch_store_ops_t;

/* The store handle: one table per aggregate, filled by the implementation (db_store_new). */
struct orch_store {
    const orch_store_ops_t *ops;
    const orch_catalog_store_t *catalog;
    const orch_sub_store_t *subs;
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
