/* The use cases of the domain: one function per operation a client (or the scheduler) can
 * ask for. Each one opens its unit of work (uow.c), applies every rule of the operation,
 * writes through the store and commits; the transport around it only decodes, checks the
 * caller's method role, calls one function here and encodes (docs/ARCHITECTURE.md).
 *
 * Names read orch_uc_<object>_<verb>. Every function returns a project error with its
 * sentence in err; out-parameters are cleared on entry. A use case may be called from any
 * thread; it holds nothing across calls. */
#ifndef ORCH_USECASE_H
#define ORCH_USECASE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "domain/forms/forms.h"
#include "domain/store.h"

struct orch_registry;
struct orch_engine;

/* What every use case works with: the parts main.c wired. Borrowed; passed by pointer. */
typedef struct orch_uc {
    orch_store_t *store;
    orch_catalog_t *catalog;
    const struct orch_registry *registry; /* the workflow versions this replica runs */
    struct orch_engine *engine;           /* NULL: no local hand-off of new processes */
} orch_uc_t;

/* Who calls, and under which request id: the one road of idempotency. The transport fills
 * it (server/services/ucall.c); the scheduler fills its own. Everything borrowed for the
 * call, except the out-fields. */
typedef struct orch_caller {
    const orch_ctx_t *ctx; /* deadline; NULL = none */
    const char *actor;     /* created_by / executed_by; NULL = "anonymous" */
    bool admin;            /* holds every role (the admin role, or the scheduler) */
    /* Does the caller hold role (a workflow's or an input step's required_role)? NULL =
     * only admin does. */
    bool (*has_role)(const void *arg, const char *role);
    const void *role_arg;

    /* Idempotency: with a request_id (a lower-case UUID, checked by orch_uow_begin), the
     * claim of (method, hash), the change and the stored answer commit together; a repeat
     * gets the first answer (replayed) and changes nothing. */
    const char *request_id; /* NULL/"" = none */
    const char *method;     /* the scope of request ids (the RPC path) */
    unsigned char hash[32]; /* the request body without its request_id */
    /* The answer to store with request_id, encoded by the transport from the use case's
     * result just before the commit. *buf: malloc'ed, freed by the unit of work. */
    orch_err_t (*answer)(void *arg, unsigned char **buf, size_t *len, orch_error_t *err);
    void *answer_arg;
    /* The audit log of admin calls: when audit_method is set, the change records one row
     * (kind, name, method, target) in its own unit of work. */
    const char *audit_kind, *audit_name, *audit_method, *audit_target;

    /* Out: this call was a repeat; replay/replay_len is the stored answer (owned by the
     * caller struct: free with orch_caller_cleanup). Nothing was changed. */
    bool replayed;
    unsigned char *replay;
    size_t replay_len;
} orch_caller_t;

void orch_caller_cleanup(orch_caller_t *c); /* frees the replay; NULL ok */
/* actor, or "anonymous". */
const char *orch_caller_actor(const orch_caller_t *c);
/* PERMISSION_DENIED MISSING_ROLE naming what needs role unless the caller holds it. */
orch_err_t orch_caller_need_role(const orch_caller_t *c, const char *role, const char *what,
                                 orch_error_t *err);

/* ---- The unit of work (uow.c) ------------------------------------------------------------ */

/* One transaction and the idempotency record of the call that opened it. Caller-owned; ends
 * with orch_uow_commit or orch_uow_abort (both safe after the other). */
typedef struct orch_uow {
    const orch_uc_t *uc;
    orch_caller_t *caller;
    orch_tx_t *tx; /* NULL after the end, or on a replay */
    bool alone;    /* orch_uow_go_alone ended it: its one write ran on its own */
} orch_uow_t;

/* Opens the unit of work and claims caller->request_id: INVALID_ARGUMENT when it is not a
 * lower-case UUID, FAILED_PRECONDITION REQUEST_ID_REUSED when it came with another method or
 * body. On a repeat, caller->replayed is set, the unit of work is closed already and the use
 * case returns at once (ORCH_OK). */
orch_err_t orch_uow_begin(const orch_uc_t *uc, orch_caller_t *caller, orch_uow_t *u,
                          orch_error_t *err);
/* Records the admin action and the answer (caller->answer), then commits: the records
 * exist if and only if the change committed. On failure everything is rolled back. */
orch_err_t orch_uow_commit(orch_uow_t *u, orch_error_t *err);
/* Called just before a use case's last store call, which must run a single statement: when
 * orch_uow_commit will write nothing of its own (no admin action, no answer to record), the
 * COMMIT goes out with that statement, one round trip for both (st->uow->commit_with_next);
 * orch_uow_commit is still called after it, and abort still undoes a failed one. */
void orch_uow_last_write_next(orch_uow_t *u);
/* Called instead, before a use case's only write when that write can run on its own, in a
 * transaction the store may share with other callers' (st->procs->create_grouped): when
 * orch_uow_commit would write nothing of its own (no admin action, no answer to record),
 * ends the unit of work (nothing written; what it read was read) and returns true, and the
 * caller makes the write on its own; orch_uow_commit then has nothing left to do. False:
 * the unit of work goes on, and the write goes in it. */
bool orch_uow_go_alone(orch_uow_t *u);
void orch_uow_abort(orch_uow_t *u);
/* UNAVAILABLE ENGINE_PAUSED when the pause switch is on (read in u's transaction). */
orch_err_t orch_uow_refuse_if_paused(orch_uow_t *u, orch_error_t *err);

/* ---- Processes (process_start.c, process.c) ---------------------------------------------- */

/* StartProcess. Borrowed. */
typedef struct orch_start_req {
    const char *workflow_name;
    const char *product_id;      /* NULL/"" = none (required by a create workflow) */
    const char *subscription_id; /* NULL/"" = none (required by a workflow on one) */
    const char *note;            /* NULL = none; at most 5000 characters */
    const json_t *const *inputs; /* the form's pages (objects), in order */
    size_t ninputs;
} orch_start_req_t;

/* What a start gave. Caller cleans up with orch_start_res_cleanup. */
typedef struct orch_start_res {
    bool created;            /* false: the form needs more pages, see form */
    orch_form_result_t form; /* next_page, page_index, page_title when !created */
    orch_process_t *process; /* the new process (basic view) when created */
} orch_start_res_t;
void orch_start_res_cleanup(orch_start_res_t *r);

/* Starts a process: picks the workflow (latest version here), checks its role, the product
 * and the subscription (offered, in sync, not locked by another unfinished workflow), runs
 * the start form, refuses while the engine is paused, creates the process (handed to an
 * idle local worker at commit when there is one), keeps the secret answers and links the
 * subscription. One unit of work, the subscription loaded once. */
orch_err_t orch_uc_process_start(const orch_uc_t *uc, orch_caller_t *caller,
                                 const orch_start_req_t *req, orch_start_res_t *res,
                                 orch_error_t *err);
/* The same rules inside a unit of work the caller owns (the scheduler's): nothing is
 * committed or handed off. A refusal leaves u's transaction usable when
 * orch_uc_start_refusal(rc) says so. */
orch_err_t orch_uc_process_start_in(orch_uow_t *u, const orch_start_req_t *req,
                                    orch_start_res_t *res, orch_error_t *err);
/* Is rc a start refused by a rule (before anything was written), not a failure? */
bool orch_uc_start_refusal(orch_err_t rc);

/* What an action on one process gave. Caller cleans up with orch_action_res_cleanup. */
typedef struct orch_action_res {
    bool already;            /* it had been done before: nothing changed */
    bool created;            /* ResumeProcess: false when the form needs more pages */
    orch_form_result_t form; /* next page when !created */
    orch_process_t *process; /* the process after it (basic view); NULL for delete */
    char status[32];         /* DeliverCallback: the process status after it */
    char **ids;              /* BulkResume: the processes resumed */
    size_t nids;
} orch_action_res_t;
void orch_action_res_cleanup(orch_action_res_t *r);

/* ResumeProcess: a suspended input step gets its answers (the step's form and role), a
 * failed / waiting / awaiting_callback one is retried. Under the process's row lock. */
orch_err_t orch_uc_process_resume(const orch_uc_t *uc, orch_caller_t *caller,
                                  const char *process_id, const json_t *const *inputs,
                                  size_t ninputs, orch_action_res_t *res, orch_error_t *err);
/* RetryProcess (branches: only these failed branches of a parallel step; n = 0: all). */
orch_err_t orch_uc_process_retry(const orch_uc_t *uc, orch_caller_t *caller, const char *process_id,
                                 const char *const *branches, size_t n, orch_action_res_t *res,
                                 orch_error_t *err);
orch_err_t orch_uc_process_abort(const orch_uc_t *uc, orch_caller_t *caller, const char *process_id,
                                 const char *reason, orch_action_res_t *res, orch_error_t *err);
orch_err_t orch_uc_process_delete(const orch_uc_t *uc, orch_caller_t *caller,
                                  const char *process_id, orch_action_res_t *res,
                                  orch_error_t *err);
orch_err_t orch_uc_process_set_note(const orch_uc_t *uc, orch_caller_t *caller,
                                    const char *process_id, const char *note,
                                    orch_action_res_t *res, orch_error_t *err);
orch_err_t orch_uc_process_bulk_resume(const orch_uc_t *uc, orch_caller_t *caller,
                                       const char *filter, orch_action_res_t *res,
                                       orch_error_t *err);
/* DeliverCallback / ReportCallbackProgress: authorised by the step's token. */
orch_err_t orch_uc_callback_deliver(const orch_uc_t *uc, orch_caller_t *caller,
                                    const char *process_id, const char *token, const json_t *result,
                                    orch_action_res_t *res, orch_error_t *err);
orch_err_t orch_uc_callback_progress(const orch_uc_t *uc, orch_caller_t *caller,
                                     const char *process_id, const char *token, const char *message,
                                     const json_t *progress, orch_error_t *err);

/* ---- Subscriptions (subscription.c) ------------------------------------------------------ */

/* SetSubscriptionInSync (refused while an unfinished process holds it) and
 * UpdateSubscriptionMetadata, on the locked subscription at version (0 = any). *out: the
 * subscription after it (caller frees with orch_subscription_free). */
orch_err_t orch_uc_subscription_set_in_sync(const orch_uc_t *uc, orch_caller_t *caller,
                                            const char *subscription_id, int64_t version,
                                            orch_subscription_t **out, orch_error_t *err);
orch_err_t orch_uc_subscription_set_metadata(const orch_uc_t *uc, orch_caller_t *caller,
                                             const char *subscription_id, int64_t version,
                                             const json_t *metadata, orch_subscription_t **out,
                                             orch_error_t *err);
typedef enum { ORCH_CD_CREATE, ORCH_CD_UPDATE, ORCH_CD_DELETE } orch_cd_op_t;
/* Customer descriptions. *out: caller cleans up (orch_customer_description_cleanup). */
orch_err_t orch_uc_customer_description_change(const orch_uc_t *uc, orch_caller_t *caller,
                                               orch_cd_op_t op, const char *subscription_id,
                                               const char *customer_id, const char *description,
                                               int64_t version, orch_customer_description_t *out,
                                               orch_error_t *err);

/* ---- The catalogue, the engine, schedules (catalog.c, engine.c, schedule.c) ------------- */

/* UpdateProduct: description (NULL = keep) and status (UNSPECIFIED = keep); the in-memory
 * catalogue shows the change exactly when it committed. */
orch_err_t orch_uc_product_update(const orch_uc_t *uc, orch_caller_t *caller,
                                  const orch_product_t *p, const char *description,
                                  orch_product_status_t status, orch_error_t *err);
/* PauseEngine / ResumeEngine; *out: the status after it. */
orch_err_t orch_uc_engine_set_paused(const orch_uc_t *uc, orch_caller_t *caller, bool paused,
                                     orch_engine_status_t *out, orch_error_t *err);

/* The fields of an UpdateSchedule (mask) and their new values in s. */
typedef struct orch_schedule_patch {
    bool name, workflow, inputs, trigger, enabled;
    int64_t version; /* the version read (optimistic lock) */
} orch_schedule_patch_t;
/* CreateSchedule: s is filled in (id, version, times). */
orch_err_t orch_uc_schedule_create(const orch_uc_t *uc, orch_caller_t *caller, orch_schedule_t *s,
                                   orch_error_t *err);
/* UpdateSchedule: the fields named by patch are taken from s into the stored schedule,
 * which then replaces s. */
orch_err_t orch_uc_schedule_update(const orch_uc_t *uc, orch_caller_t *caller,
                                   const orch_schedule_patch_t *patch, orch_schedule_t *s,
                                   orch_error_t *err);
orch_err_t orch_uc_schedule_delete(const orch_uc_t *uc, orch_caller_t *caller,
                                   const char *schedule_id, int64_t version, orch_error_t *err);
/* The scheduler's tick: fires up to max due schedules, each in its own unit of work,
 * starting each one's process through orch_uc_process_start_in (the rules of
 * StartProcess, as the admin "schedule <name>"). A start refused by a rule is recorded on
 * the schedule (its last error) and the schedule moves on to its next due time. *fired:
 * how many fired (started or refused). */
orch_err_t orch_uc_schedule_fire_due(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                     const char *replica_id, int max, int *fired,
                                     orch_error_t *err);

/* ---- Step workers (worker.c): each answer is its own unit of work in the store ---------- */

orch_err_t orch_uc_worker_connect(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *worker_id,
                                  const char *identity, const char *name, const char *replica_id,
                                  const char *const *types, size_t ntypes, int capacity,
                                  int expire_ms, orch_error_t *err);
orch_err_t orch_uc_worker_disconnect(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                     const char *worker_id, orch_error_t *err);
orch_err_t orch_uc_worker_heartbeat(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                    const char *worker_id, int lease_ms, int expire_ms,
                                    bool *connected, int *renewed, int64_t *lease_expires_us,
                                    orch_error_t *err);
orch_err_t orch_uc_worker_claim(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *worker_id,
                                int lease_ms, int max, orch_worker_task_t *out, size_t *n,
                                bool *alive, orch_error_t *err);
orch_err_t orch_uc_task_complete(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                 const orch_task_answer_t *a, char *status, orch_error_t *err);
orch_err_t orch_uc_task_fail(const orch_uc_t *uc, const orch_ctx_t *ctx,
                             const orch_task_answer_t *a, bool *will_retry, int64_t *next_us,
                             char *status, orch_error_t *err);
orch_err_t orch_uc_task_progress(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                 const orch_task_answer_t *a, const char *message,
                                 const json_t *progress, int lease_ms, int64_t *lease_expires_us,
                                 orch_error_t *err);

/* ---- Reads (query.c): no unit of work, no rules beyond what the store checks ------------- */

/* One process; INVALID_ARGUMENT first when process_id is missing or not an id
 * (orch_process_id_check, as every action on a process). */
orch_err_t orch_uc_process_get(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *process_id,
                               bool full, orch_process_t **out, orch_error_t *err);
/* The full view's pages: every process read with its log when full. */
orch_err_t orch_uc_process_list(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                const orch_process_query_t *q, bool full, orch_process_page_t *page,
                                orch_error_t *err);
orch_err_t orch_uc_process_status_counts(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                         const char *filter, orch_status_count_t **out, size_t *n,
                                         orch_error_t *err);
/* What an awaiting_callback process waits for: its pending callback and its worker task
 * (each NULL when none; caller decrefs). Best effort: read errors give NULLs. */
void orch_uc_process_pending(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *process_id,
                             json_t **callback, json_t **task);
/* The first page of the form of p's input step step_key (what a suspended process waits
 * for): true with *schema (JSON Schema, caller decrefs) and *title (borrowed from the
 * workflow), false when that step has no form here. */
bool orch_uc_process_form_page(const orch_uc_t *uc, const orch_ctx_t *ctx, const orch_process_t *p,
                               const char *step_key, json_t **schema, const char **title);
/* A process (basic) and its last event sequence from one consistent snapshot. */
orch_err_t orch_uc_process_snapshot(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                    const char *process_id, int64_t *seq, orch_process_t **out,
                                    orch_error_t *err);
/* A subscription's last change sequence and (load: with) the subscription, from one
 * snapshot; *out NULL when !load. */
orch_err_t orch_uc_subscription_snapshot(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                         const char *subscription_id, bool load, int64_t *seq,
                                         orch_subscription_t **out, orch_error_t *err);
orch_err_t orch_uc_events_after(const orch_uc_t *uc, const orch_ctx_t *ctx, bool subscription,
                                const char *id, int64_t after, int limit, orch_event_t **out,
                                size_t *n, orch_error_t *err);
orch_err_t orch_uc_events_global(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *filter,
                                 const char *cursor, int limit, orch_event_t **out, size_t *n,
                                 char out_cursor[64], orch_error_t *err);
orch_err_t orch_uc_subscription_load(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                     const char *subscription_id, orch_subscription_t **out,
                                     orch_error_t *err);
orch_err_t orch_uc_subscription_get(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                    const char *subscription_id, orch_subscription_t **out,
                                    char stamp[33], orch_error_t *err);
orch_err_t orch_uc_subscription_stamp(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                      const char *subscription_id, char stamp[33],
                                      orch_error_t *err);
orch_err_t orch_uc_subscription_list(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                     const orch_sub_query_t *q, orch_sub_page_t *page,
                                     orch_error_t *err);
/* ListSubscriptions from a replica's read cache: the page's ids (with their stamps when
 * strong), then only the subscriptions the cache does not have, in one statement, with
 * their stamps (st->subs->list_ids, get_many; domain/store/subscriptions.h). */
orch_err_t orch_uc_subscription_list_ids(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                         const orch_sub_query_t *q, bool strong,
                                         orch_sub_id_page_t *page, orch_error_t *err);
orch_err_t orch_uc_subscription_get_many(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                         const char *const *ids, size_t n, bool full,
                                         orch_subscription_t **out, char (*stamps)[33],
                                         orch_error_t *err);
orch_err_t orch_uc_customer_description_get(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                            const char *subscription_id, const char *customer_id,
                                            orch_customer_description_t *out, orch_error_t *err);
orch_err_t orch_uc_engine_status(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                 orch_engine_status_t *out, orch_error_t *err);
orch_err_t orch_uc_replica_list(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *filter,
                                int page_size, const char *page_token, orch_replica_page_t *out,
                                orch_error_t *err);
orch_err_t orch_uc_schedule_list(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                 const orch_schedule_query_t *q, orch_schedule_page_t *out,
                                 orch_error_t *err);
orch_err_t orch_uc_admin_action_list(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *method,
                                     const char *target, int64_t before_id, int limit,
                                     orch_admin_action_t **out, size_t *n, orch_error_t *err);
orch_err_t orch_uc_workflow_list(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *filter,
                                 int page_size, const char *page_token, orch_wf_info_t ***out,
                                 size_t *n, long *total, char **next_token, orch_error_t *err);
orch_err_t orch_uc_workflow_get(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *id,
                                const char *name, orch_wf_info_t **out, orch_error_t *err);

#endif
