/* The store's table of processes, reached as st->procs (db/store_process.c, store_forms.c,
 * store_events.c, store_parallel.c, store_replica.c): a process's record and what an
 * operator, a form or a callback does to it, and its events. How the engine runs one is
 * st->engine's (domain/store/engine.h).
 * Calling convention (domain/store.h): every op takes (st, tx, ctx, ..., err); the heading
 * of each group says whether its ops need a unit of work, take one or none, or run on their
 * own. */
#ifndef ORCH_STORE_PROCESSES_H
#define ORCH_STORE_PROCESSES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ctx.h"
#include "base/errors.h"
#include "domain/events.h"
#include "domain/process.h"

typedef struct orch_store orch_store_t;
typedef struct orch_tx orch_tx_t;

typedef struct orch_process_store {
    /* ---- In a unit of work (tx required) ---- */
    /* Creates a process with its initial input and first event; wakes the workers at commit.
     * NOT_FOUND WORKFLOW_VERSION_NOT_FOUND when the version is not registered.
     * process_id: 37 bytes. */
    orch_err_t (*create)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                         const orch_process_new_t *p, char *process_id, orch_error_t *err);
    /* Abort: aborted, lease token moved on (a running step's commit is refused), an "aborted
     * by" audit row. FAILED_PRECONDITION PROCESS_FINISHED for completed/aborted ones;
     * *already = true (no change) for an aborted one. */
    orch_err_t (*abort)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                        const char *process_id, const char *reason, const char *actor,
                        bool *already, orch_error_t *err);
    /* Deletes a task with its log. FAILED_PRECONDITION PROCESS_NOT_A_TASK for a workflow. */
    orch_err_t (*remove)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                         const char *process_id, orch_error_t *err);
    /* Sets the process's note. */
    orch_err_t (*set_note)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                           const char *process_id, const char *note, orch_error_t *err);
    /* Resumes every failed / waiting / api_unavailable / inconsistent_data task matching
     * filter. *ids: caller frees each and the array. */
    orch_err_t (*bulk_resume)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const char *filter, const char *actor, char ***ids, size_t *n,
                              orch_error_t *err);
    /* Locks the process row for the rest of tx; status: its last_status (32 bytes),
     * last_step_key (256 bytes, "" = none). NOT_FOUND PROCESS_NOT_FOUND. */
    orch_err_t (*lock)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                       const char *process_id, char *status, char *last_step_key,
                       orch_error_t *err);
    /* Links a process to a subscription (idempotent). */
    orch_err_t (*link_subscription)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                    const char *process_id, const char *subscription_id,
                                    orch_error_t *err);
    /* Commits a suspended input step's answers (under the lock of lock): the
     * input_states row (masked inputs, given_by), the step's success row (state, delta,
     * executed_by = actor), status resumed and runnable, events. FAILED_PRECONDITION
     * PROCESS_NOT_SUSPENDED unless the process is suspended at step_key. */
    orch_err_t (*resume_input)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *process_id, const char *step_key, const char *step_name,
                               const json_t *masked_inputs, const json_t *state,
                               const json_t *delta, const char *actor, orch_error_t *err);
    /* Secret answers (forms.h, orch_form_secrets): keeps one form's overlay apart from the
     * audit log; step_key "" for the start form, else the input step (given again for the
     * same step, it replaces the earlier one). Forgotten when the process completes or is
     * aborted. */
    orch_err_t (*secrets_put)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const char *process_id, const char *step_key, const json_t *overlay,
                              orch_error_t *err);
    /* A callback step's token (only its SHA-256 is stored), with its expiry (0 = none). */
    orch_err_t (*callback_create)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                  const char *process_id, const char *step_key, const char *token,
                                  int timeout_ms, orch_error_t *err);
    /* Delivers once: the callback row, the step's success row with state || result, status
     * resumed and runnable, events. PERMISSION_DENIED CALLBACK_TOKEN_INVALID for a token
     * the process never had; *already = true (no change) for one delivered before;
     * FAILED_PRECONDITION PROCESS_NOT_AWAITING_CALLBACK when the process moved on. status
     * (32 bytes): the process status after it. */
    orch_err_t (*callback_deliver)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *process_id, const char *token, const json_t *result,
                                   const char *actor, bool *already, char *status,
                                   orch_error_t *err);
    /* Records progress of an undelivered callback and a callback_progress event (payload:
     * step_key, message, progress). PERMISSION_DENIED CALLBACK_TOKEN_INVALID otherwise. */
    orch_err_t (*callback_progress)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                    const char *process_id, const char *token, const char *message,
                                    const json_t *progress, orch_error_t *err);
    /* The clean-up task: deletes finished tasks that ended more than older_than_s ago and
     * expired request ids. *n: tasks deleted. */
    orch_err_t (*tasks_clean_up)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 long older_than_s, long *n, orch_error_t *err);

    /* ---- With or without a unit of work (tx NULL: alone, on a pooled connection) ---- */
    /* One process; full = with the audit log and initial input. NOT_FOUND
     * PROCESS_NOT_FOUND. *out: caller frees with orch_process_free. */
    orch_err_t (*get)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                      const char *process_id, bool full, orch_process_t **out, orch_error_t *err);
    /* The process's overlays deep-merged in the order given; *out = NULL when it has none.
     * For the engine only: no RPC ever returns them. */
    orch_err_t (*secrets_get)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const char *process_id, json_t **out, orch_error_t *err);
    /* The undelivered callback of an awaiting_callback process as
     * {step_key, create_us, expire_us, progress, progress_message, progress_us}, or *out =
     * NULL. */
    orch_err_t (*callback_pending)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *process_id, json_t **out, orch_error_t *err);
    /* Streams. The process's last event sequence (NOT_FOUND PROCESS_NOT_FOUND); with a tx
     * made a snapshot by st->uow->snapshot first, what the snapshot holds. */
    orch_err_t (*events_seq)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *process_id, int64_t *seq, orch_error_t *err);

    /* ---- On their own (tx NULL) ---- */
    /* create as a transaction of its own, which it may share with the creates of other
     * callers that run at the same moment (one COMMIT, one WAL flush for all): it returns
     * once that transaction committed. A create that fails fails alone. NULL when the
     * store does not group: the caller creates in a unit of work of its own. */
    orch_err_t (*create_grouped)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 const orch_process_new_t *p, char *process_id, orch_error_t *err);
    /* Retry from the failed step (failed, api_unavailable, inconsistent_data, waiting), or
     * run the callback step's action again (awaiting_callback: its undelivered tokens stop
     * working): resumed and runnable now. FAILED_PRECONDITION PROCESS_NOT_RETRIABLE
     * otherwise. */
    orch_err_t (*retry)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                        const char *process_id, const char *actor, orch_error_t *err);
    /* retry that tells a repeat: *already = true (nothing changed) when the process is
     * no longer retriable because an earlier retry already resumed it after its last failure. */
    orch_err_t (*retry_once)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *process_id, const char *actor, bool *already,
                             orch_error_t *err);
    /* RetryProcess of a process that failed at a parallel step, for the branches named
     * (n = 0: every failed one): they run again from their failed step, the others are left
     * as they are, the process waits for the join (running). *handled = false (nothing
     * done) when the process did not fail at a parallel step. *already = true when every
     * branch named was re-run already and has not failed again. INVALID_ARGUMENT naming
     * "branches" for a name that is not a failed branch; FAILED_PRECONDITION
     * PROCESS_NOT_RETRIABLE for a branch process (retry its parent). */
    orch_err_t (*retry_branches)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 const char *process_id, const char *actor,
                                 const char *const *names, size_t n, bool *handled, bool *already,
                                 orch_error_t *err);
    /* ListProcesses (filter, order_by, keyset page token). page: caller cleans up. */
    orch_err_t (*list)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                       const orch_process_query_t *q, orch_process_page_t *page, orch_error_t *err);
    /* Counts per (is_task, status) of processes matching filter. *out: caller frees. */
    orch_err_t (*status_counts)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *filter, orch_status_count_t **out, size_t *n,
                                orch_error_t *err);
    /* Fails processes awaiting a callback past its expiry (reason CALLBACK_TIMEOUT), with a
     * failed audit row; *n: how many. */
    orch_err_t (*callback_fail_expired)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                        int *n, orch_error_t *err);
    /* Up to limit events of one process with sequence > after, in order. *out: caller
     * frees with orch_events_free. */
    orch_err_t (*events_after)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *process_id, int64_t after, int limit, orch_event_t **out,
                               size_t *n, orch_error_t *err);
    /* Up to limit events after cursor (NULL/"" = from now: *out_cursor gets the starting
     * point) of processes matching filter (the ListProcesses grammar), in the global order,
     * never past a transaction still in flight; *out_cursor = the last one's. *out: caller
     * frees with orch_events_free. */
    orch_err_t (*events_global)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *filter, const char *cursor, int limit,
                                orch_event_t **out, size_t *n, char out_cursor[64],
                                orch_error_t *err);
} orch_process_store_t;

#endif
