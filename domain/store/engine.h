/* The store's table of the workflow engine, reached as st->engine (db/store_process.c,
 * store_parallel.c, store_replica.c; protocols in docs/SCHEMA.md): replicas, the claim and
 * commit of steps, parallel branches and the pause switch.
 * Calling convention (domain/store.h): every op takes (st, tx, ctx, ..., err); the heading
 * of each group says whether its ops need a unit of work, take one or none, or run on their
 * own. */
#ifndef ORCH_STORE_ENGINE_H
#define ORCH_STORE_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ctx.h"
#include "base/errors.h"
#include "domain/process.h"
#include "domain/schedule/schedule.h"

typedef struct orch_store orch_store_t;
typedef struct orch_tx orch_tx_t;

/* The claim that goes with a group commit (commit_steps_claim). */
typedef struct orch_claim_req {
    const char *replica_id;
    int lease_ms;
    int max;           /* up to this many processes */
    orch_claim_t *out; /* max entries: n of them filled (the caller cleans each up) */
    size_t n;
} orch_claim_req_t;

typedef struct orch_engine_store {
    /* ---- In a unit of work (tx required) ---- */
    /* Sets the pause switch (engine_settings; its trigger tells every replica). */
    orch_err_t (*set_paused)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, bool paused,
                             const char *actor, orch_error_t *err);
    /* Commits one step's outcome in tx (which already holds the step's own changes): the
     * fenced process update, the audit row (an identical repeated failure of the last row
     * bumps its retry_count instead), linked subscriptions and the events.
     * ABORTED LEASE_LOST when the lease moved on: the caller must roll tx back. */
    orch_err_t (*commit_step)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const orch_step_commit_t *c, orch_error_t *err);
    /* Parallel branches. Locks the claimed parent process for the rest of tx, fenced on lease_token
     * (ABORTED LEASE_LOST when it moved on), and then reads the branch processes of its parallel
     * step parallel_key (so every branch commit that settled before is seen). *rows: caller
     * frees with orch_branch_rows_free. */
    orch_err_t (*branch_list)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const char *process_id, int64_t lease_token, const char *parallel_key,
                              orch_branch_row_t **rows, size_t *n, orch_error_t *err);
    /* Under that lock: creates the branch processes named in create (each starting from
     * state), re-runs the settled-but-failed branches named in rerun, and parks the parent
     * (running, not runnable, no lease) until its last branch settles (the migration 0008
     * trigger wakes it then; at once when every branch has settled already). */
    orch_err_t (*branch_start)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *process_id, int64_t lease_token,
                               const char *parallel_key, const char *const *create, size_t ncreate,
                               const json_t *state, const char *const *rerun, size_t nrerun,
                               const char *actor, orch_error_t *err);

    /* ---- With or without a unit of work (tx NULL: alone, on a pooled connection) ---- */
    /* The pause switch (who set it, when), the processes holding a live lease and the
     * replicas heartbeating. */
    orch_err_t (*status)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                         orch_engine_status_t *out, orch_error_t *err);
    /* Commits the steps of n processes in one round trip (orch_commit_steps, migration
     * 0011), each part in its own subtransaction: a lost fence or an SQL error fails that
     * part only (res[i].ok false), the rest commits. tx NULL: one transaction of its own (a
     * group commit); else inside tx, which holds the step's own writes (the caller rolls tx
     * back when res[0] is not ok). Returns an error only when the statement itself failed
     * (then nothing committed). res: n entries. */
    orch_err_t (*commit_steps)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const orch_step_commit_t *parts, size_t n, orch_commit_result_t *res,
                               orch_error_t *err);
    /* commit_steps (tx NULL) and then, in the same round trip, claim as claim would (cl: its
     * arguments and answer), for the workers whose stretches the batch ends. The claim is a
     * transaction of its own that runs only when the commit statement succeeded; its failure
     * is no error (cl->n 0). NULL in a store without it. */
    orch_err_t (*commit_steps_claim)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                     const orch_step_commit_t *parts, size_t n,
                                     orch_commit_result_t *res, orch_claim_req_t *cl,
                                     orch_error_t *err);

    /* ---- On their own (tx NULL) ---- */
    /* Registers this replica (hostname, pid, build, address, workers) and the workflow
     * versions it can run: workflows rows, workflow_versions (FAILED_PRECONDITION
     * WORKFLOW_VERSION_MISMATCH when a stored digest differs) and replica_workflow_versions.
     * replica_id (37 bytes) gets the new replica's id. *tail_ok: may a step in the middle of
     * a stretch be committed without its state (as its delta)? Only while every live replica
     * reads the state tail: a replica of a release before it would take the lagging row's
     * state for the current one (0023; false until the store says so). */
    orch_err_t (*register_replica)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *hostname, const char *build, const char *address,
                                   int workers, const orch_wf_reg_t *wfs, size_t nwfs,
                                   char *replica_id, bool *tail_ok, orch_error_t *err);
    /* Heartbeat and housekeeping, every few seconds per replica: heartbeat_time, renews the
     * leases this replica holds (never past a step's deadline_time), fails processes whose
     * step overran its deadline and due processes whose version no live replica has.
     * held: the processes this replica's workers hold in memory (running or waiting in its
     * local list); only their leases are renewed. *paused: the pause switch as read now;
     * *tail_ok: as register_replica's, as read now. */
    orch_err_t (*heartbeat)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *replica_id, int lease_ms, const char (*held)[37],
                            size_t nheld, bool *paused, bool *tail_ok, orch_error_t *err);
    /* Clean stop: draining/stop_time, releases every lease held, forgets its versions. */
    orch_err_t (*stop)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                       const char *replica_id, orch_error_t *err);
    /* Takes over the processes leased by replicas whose heartbeat is older than dead_after_ms
     * (not this one): lease cleared, lease_token + 1, next_run_time = now(), each exactly once
     * whatever the number of replicas doing it (row locks, SKIP LOCKED). *taken: how many. */
    orch_err_t (*takeover)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                           const char *replica_id, int dead_after_ms, int *taken,
                           orch_error_t *err);
    /* ListReplicas: filter over state, hostname, build_version, heartbeat_time, start_time
     * (NULL/"" = replicas seen in the last 24 hours), ordered by start_time; keyset pages. */
    orch_err_t (*replica_list)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *filter, int page_size, const char *page_token,
                               orch_replica_page_t *out, orch_error_t *err);
    /* Claims up to max runnable, due processes of versions this replica has, unless the
     * engine is paused (FOR UPDATE SKIP LOCKED; lease of lease_ms), in one statement that
     * also returns each one's state, done keys, retry count and branch (orch_claim_t: the
     * caller cleans each up with orch_claim_cleanup). */
    orch_err_t (*claim)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                        const char *replica_id, int lease_ms, int max, orch_claim_t *out, size_t *n,
                        orch_error_t *err);
    /* Before a step runs: deadline_time = now() + timeout_ms, the running step's key and
     * name, status running (fenced on lease_token: ABORTED LEASE_LOST when moved on);
     * c->step_started gets the database's clock. *paused: the engine is paused (nothing
     * changed then). */
    orch_err_t (*step_begin)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             orch_claim_t *c, const char *step_key, const char *step_name,
                             int timeout_ms, bool *paused, orch_error_t *err);
    /* Gives a claimed process back without a step (stopping, paused): runnable now. */
    orch_err_t (*release)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                          const orch_claim_t *c, orch_error_t *err);
} orch_engine_store_t;

#endif
