/* The store's table of step workers and their tasks, reached as st->workers
 * (db/store_workers.c; migration 0015, docs/WORKERS.md).
 * Calling convention (domain/store.h): every op takes (st, tx, ctx, ..., err); the heading
 * of each group says whether its ops need a unit of work, take one or none, or run on their
 * own. */
#ifndef ORCH_STORE_WORKERS_H
#define ORCH_STORE_WORKERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ctx.h"
#include "base/errors.h"

typedef struct orch_store orch_store_t;
typedef struct orch_tx orch_tx_t;

/* A remote step's task as the engine writes it. Borrowed. */
typedef struct orch_task_spec {
    const char *process_id, *step_key, *step_name, *task_type;
    bool needs_secrets; /* deliver the secret answers with the state */
    int max_attempts;   /* deliveries at most (> 0) */
    int backoff_ms;     /* a retryable failure's first delay (> 0) */
    int backoff_max_ms; /* its cap (> 0) */
    int timeout_ms;     /* the step fails when no answer came by then (> 0) */
} orch_task_spec_t;

/* A task claimed for a worker. Caller cleans up with orch_worker_task_cleanup. */
typedef struct orch_worker_task {
    char task_id[37], process_id[37];
    char step_key[256], step_name[256], task_type[256], workflow[256];
    int attempt;    /* 1 for the first delivery */
    char token[65]; /* the attempt token (only its hash is stored) */
    json_t *state;  /* owned: the state now, with the secrets when secrets_included */
    bool secrets_included;
    int64_t deadline_us, lease_expires_us;
} orch_worker_task_t;
void orch_worker_task_cleanup(orch_worker_task_t *t);

/* A worker's answer to a task. Borrowed. */
typedef struct orch_task_answer {
    const char *task_id, *token;
    const char *executed_by; /* who answers: the audit row's executed_by */
    const json_t *delta;     /* complete: a JSON object merged into the state */
    /* fail: */
    bool retryable;
    const char *reason, *message;
    const json_t *details; /* may be NULL */
} orch_task_answer_t;

typedef struct orch_worker_store {
    /* ---- In a unit of work (tx required) ---- */
    /* Writes a remote step's task in the step's unit of work (earlier open tasks of the same
     * step are cancelled) and notifies orch_worker_tasks. only_if_served: only when a live
     * worker serves the type; *created says whether it was written. */
    orch_err_t (*task_create)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const orch_task_spec_t *spec, bool only_if_served, bool *created,
                              orch_error_t *err);

    /* ---- With or without a unit of work (tx NULL: alone, on a pooled connection) ---- */
    /* The open task of a process as {task_type, status, attempt, worker, create_us,
     * deadline_us, lease_us, progress_message, served}, or *out = NULL. */
    orch_err_t (*task_pending)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *process_id, json_t **out, orch_error_t *err);

    /* ---- On their own (tx NULL) ---- */
    /* A worker's stream opened on replica_id (live for expire_ms without a heartbeat), and
     * closed. */
    orch_err_t (*connect)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                          const char *worker_id, const char *identity, const char *name,
                          const char *replica_id, const char *const *types, size_t ntypes,
                          int capacity, int expire_ms, orch_error_t *err);
    orch_err_t (*disconnect)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *worker_id, orch_error_t *err);
    /* Renews the worker (expire_ms) and the leases of the tasks delivered to it (lease_ms).
     * *connected: its stream is open somewhere; NOT_FOUND WORKER_NOT_FOUND when it is
     * neither connected nor holds a task. */
    orch_err_t (*heartbeat)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *worker_id, int lease_ms, int expire_ms, bool *connected,
                            int *renewed, int64_t *lease_expires_us, orch_error_t *err);
    /* Claims up to max tasks of the worker's types, within its free capacity (its capacity
     * minus the tasks it holds), unless the engine is paused: pending ones whose time has
     * come and delivered ones whose lease ran out with attempts left. Each gets attempt + 1
     * and a new token. *alive = false (nothing claimed) when the worker's heartbeat expired.
     * out: max entries; *n filled. */
    orch_err_t (*claim)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                        const char *worker_id, int lease_ms, int max, orch_worker_task_t *out,
                        size_t *n, bool *alive, orch_error_t *err);
    /* The answers, each in its own transaction, fenced by the attempt token: NOT_FOUND
     * TASK_NOT_FOUND for a task that never existed, FAILED_PRECONDITION TASK_ATTEMPT_STALE
     * for a token that is not the current attempt's (a late or repeated answer; nothing
     * changes). complete: the step's success row (state || delta), process resumed. fail:
     * retryable with attempts left puts it back (pending after the back-off,
     * *will_retry, *next_us); otherwise the process fails at the step. status (32 bytes):
     * the process status after it. */
    orch_err_t (*task_complete)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const orch_task_answer_t *a, char *status, orch_error_t *err);
    orch_err_t (*task_fail)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const orch_task_answer_t *a, bool *will_retry, int64_t *next_us,
                            char *status, orch_error_t *err);
    /* Progress of the current attempt: recorded (a callback_progress event) and its lease
     * renewed. */
    orch_err_t (*task_progress)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const orch_task_answer_t *a, const char *message,
                                const json_t *progress, int lease_ms, int64_t *lease_expires_us,
                                orch_error_t *err);
    /* Fails the processes whose task passed its deadline (WORKER_TASK_TIMEOUT) or whose
     * last attempt's lease ran out (WORKER_ATTEMPTS_EXHAUSTED), cancels the tasks of
     * processes that moved on (aborted), forgets workers long expired. *nfailed: how many;
     * *served: the task types live workers serve now, a JSON array of strings (caller
     * decrefs). One round trip (the heartbeat's are counted). */
    orch_err_t (*task_sweep)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, int *nfailed,
                             json_t **served, orch_error_t *err);
} orch_worker_store_t;

#endif
