/* Shared inside db/: the store object and helpers used by the store_*.c files. */
#ifndef DB_STORE_INTERNAL_H
#define DB_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "base/alloc.h"
#include "db/filter_sql.h"
#include "db/order_sql.h"
#include "db/pool.h"
#include "db/sql.h"
#include "db/store.h"
#include "domain/store.h"

/* StartProcess's creates outside a unit of work, grouped (store_start.c). */
typedef struct db_start_req db_start_req_t;
typedef struct db_start_group {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    db_start_req_t *head, **tail; /* waiting, in arrival order */
    bool leading;                 /* a caller runs a batch */
    atomic_ulong batches;         /* transactions run (a create alone included) */
    atomic_ulong batched;         /* creates that shared one with others */
} db_start_group_t;
void db__start_group_init(db_start_group_t *g);
void db__start_group_destroy(db_start_group_t *g);

typedef struct db_store {
    orch_store_t base; /* first: the domain sees only this */
    db_start_group_t starts;
    db_pool_t *pool;
    int replica_dead_ms; /* ListReplicas shows LOST past it (db_store_set_replica_dead_ms) */
    db_sub_changed_fn sub_changed; /* db_store_on_sub_changed; NULL = none */
    void *sub_changed_arg;
} db_store_t;

struct orch_tx {
    db_store_t *store;
    db_conn_t *conn; /* held from begin to commit/rollback */
    /* Subscriptions this unit of work changed (owned copies), told to
     * store->sub_changed when it ends: db__tx_changed, db__tx_changed_flush. */
    char **changed;
    size_t nchanged, capchanged;
};

/* Notes that tx changes a subscription (duplicates are skipped), telling
 * store->sub_changed the first time. */
void db__tx_changed(orch_tx_t *tx, const char *subscription_id);
/* Tells store->sub_changed what tx changed and forgets it; called when tx ends. A commit
 * path other than db__tx_commit must call it after its COMMIT. */
void db__tx_changed_flush(orch_tx_t *tx);

#define DB_ACQUIRE_TIMEOUT_MS 5000

/* ---- a process's columns, as GetProcess, ListProcesses and the create read them
 * (store_process.c, store_start.c) ---- */
// clang-format off
#define PROCESS_COLS_OWN                                                                       \
    "p.process_id, p.workflow_id, w.name, w.target, p.workflow_version, p.is_task, "          \
    "p.last_status, p.last_step, p.last_step_key, p.assignee, p.created_by, p.note, "          \
    "p.failed_reason, p.failed_details, " US("p.start_time") ", " US("p.update_time") ", "     \
    US("p.end_time") ", CASE WHEN p.runnable THEN " US("p.next_run_time") " END, "             \
    "p.product_id, p.retry_count, v.top_level_steps, p.runnable, p.lease_token, "
#define PROCESS_COLS_TAIL "coalesce(p.parent_process_id::text, ''), p.branch_key"
#define PROCESS_COLS                                                                           \
    PROCESS_COLS_OWN                                                                           \
    "(SELECT string_agg(ps.subscription_id::text, ',' ORDER BY ps.create_time, "               \
    "ps.subscription_id) FROM processes_subscriptions ps WHERE ps.process_id = p.process_id), " \
    "(SELECT s.customer_id FROM processes_subscriptions ps JOIN subscriptions s USING "        \
    "(subscription_id) WHERE ps.process_id = p.process_id ORDER BY ps.create_time LIMIT 1), "  \
    "(SELECT count(DISTINCT split_part(x.step_key, '.', 1)) FROM process_steps x WHERE "      \
    "x.process_id = p.process_id AND x.status IN ('success', 'skipped', 'complete')), "    \
    PROCESS_COLS_TAIL
/* The same columns for a process the statement creates: it has no subscriptions and no
 * steps yet, so the three looks at them are constants, not subqueries (a subquery's plan,
 * kept by the session, read process_steps sequentially on stale statistics). */
#define PROCESS_COLS_CREATED PROCESS_COLS_OWN "NULL, NULL, 0, " PROCESS_COLS_TAIL
// clang-format on
#define PROCESS_FROM                                                                               \
    " FROM processes p JOIN workflows w ON w.workflow_id = p.workflow_id "                         \
    "JOIN workflow_versions v ON v.workflow_id = p.workflow_id AND v.version = "                   \
    "p.workflow_version "
#define NPROCESS_COLS 28
/* A process from a row of PROCESS_COLS (or PROCESS_COLS_CREATED). Caller frees. */
orch_process_t *db__row_to_process(PGresult *res, int i);

/* The calling convention of domain/store/ (see domain/store.h), checked as the first line of
 * every op. An op that runs in the caller's unit of work needs one, of this store; its ctx is
 * not used, the unit of work's connection keeps the context it began with. */
static inline void db__in_tx(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx)
{
    orch_assert(tx != NULL && &tx->store->base == st);
    (void)ctx;
}
/* An op that runs on its own connection (or its own transactions) is never given a unit of
 * work: what it writes would not be part of it. */
static inline void db__no_tx(const orch_tx_t *tx)
{
    orch_assert(tx == NULL);
}

/* ---- helpers shared by the store_*.c files (store_util.c) ----------------------------- */

/* The values a process's status (processes.last_status) and a workflow's target take, for the
 * ENUM filter columns of the process lists and of the event stream; NULL-terminated
 * (store_process.c). */
extern const char *const db__process_statuses[];
extern const char *const db__workflow_targets[];

/* SQL text: a timestamptz column as microseconds since the epoch, 0 for NULL. */
#define US(col) "coalesce((extract(epoch FROM " col ") * 1000000)::bigint, 0)"
/* SQL text: the hash a callback or task token is kept as (only the hash is stored). */
#define TOKEN_HASH(param) "sha256(convert_to(" param "::text, 'UTF8'))"

/* A column value: an owned copy (caller frees), NULL for SQL NULL. */
char *db__dupv(PGresult *res, int row, int col);
/* A column value as a number, 0 for SQL NULL. */
long long db__llv(PGresult *res, int row, int col);
/* "1500 milliseconds" for an interval parameter (a negative ms as 0). */
void db__ms_interval(char *buf, size_t len, long long ms);
/* A boolean column: true only for a non-NULL 't'. */
bool db__boolv(PGresult *res, int row, int col);
/* JSON as compact text for a parameter, "{}" for NULL. Caller frees. */
char *db__jtext(const json_t *j);
/* Runs a built statement on c; refuses one whose builder overflowed (too many filter values)
 * with ORCH_INVALID_ARGUMENT on "filter". *res as db_execp. */
orch_err_t db__execq(db_conn_t *c, db_sql_t *q, PGresult **res, orch_error_t *err);

/* A connection for one store call: tx's own, or one borrowed from the pool for the call.
 * db__conn_get fills r (on failure r->c stays NULL); db__conn_put gives a borrowed one back
 * and may be called on a failed or already put r. */
typedef struct db_conn_ref {
    db_store_t *s;
    db_conn_t *c;
    bool borrowed;
} db_conn_ref_t;
orch_err_t db__conn_get(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, db_conn_ref_t *r,
                        orch_error_t *err);
void db__conn_put(db_conn_ref_t *r);
/* The lists whose tables grow without bound (processes, subscriptions) count exactly up to
 * this many matches, and give the planner's estimate past it (total_size_is_estimate). */
#define DB_COUNT_EXACT_UP_TO 10000
/* How many rows `rows` (a list's "FROM ... WHERE ...", with its parameters) gives: exactly
 * when cap is 0; otherwise exactly up to cap and the planner's estimate past it (*estimate
 * true), so that a count never reads a million rows to say "more than 10,000". */
orch_err_t db__count(db_conn_t *c, const db_sql_t *rows, long cap, long long *total, bool *estimate,
                     orch_error_t *err);
/* Keyset pages ordered by (a time, a uuid) hold the position "<time>\x1f<uuid>" in their
 * token. db__keyset_token makes the next token from row of res (the time at column tcol,
 * the id at column 0); caller frees. db__list_keyset (below) pages a list so. */
char *db__keyset_token(PGresult *res, int row, int tcol, const char *binding);
/* Pages in a client's order (db/order_sql.h) hold db_order_position in their token.
 * db__order_token makes the next token from row of res: the o->n key values at columns kcol
 * onwards (as db_order_select put them) and id; caller frees. */
char *db__order_token(PGresult *res, int row, int kcol, const db_order_t *o, const char *id,
                      const char *binding);
/* One paged list (ListProcesses, ListSchedules, ListReplicas, ListWorkflows): the page
 * statement q and its count cq, built side by side from one filter and run on one borrowed
 * connection. The lists differ in their columns, order and rows; this holds the paging they
 * share, so that it is written (and fixed) once. A zeroed db_list_t may be cleaned up. */
typedef struct db_list {
    db_sql_t q;      /* the page (ending in LIMIT page_size + 1) */
    db_sql_t cq;     /* the rows the count reads: the page's "FROM ... WHERE ..." */
    long count_cap;  /* db__count's cap: 0 counts exactly (the short lists) */
    char *binding;   /* what the page token is bound to; owned */
    char *pos;       /* the position the page token holds; NULL on the first page */
    db_conn_ref_t r; /* borrowed by db__list_run until db__list_cleanup */
    PGresult *res;   /* the page's rows, from db__list_run */
    long long total; /* the count (the page's length on a first and only page) */
    bool total_is_estimate;
    int take;  /* the rows of res that make the page */
    bool more; /* there is a row past the page: the next token comes from row take - 1 */
} db_list_t;
/* Starts both statements empty and reads page_token into pos. A token is bound to the list
 * (name), its filter (NULL: none) and, for a list in a client's order, that order's
 * canonical text (NULL for a list in a fixed order): one that does not fit is refused with
 * INVALID_ARGUMENT, so a token never pages another list, filter or order. */
orch_err_t db__list_begin(db_list_t *l, const char *name, const char *filter, const char *order,
                          const char *page_token, orch_error_t *err);
/* Adds filter's conditions on cols to both statements. */
orch_err_t db__list_filter(db_list_t *l, const char *filter, const db_filter_column_t *cols,
                           orch_error_t *err);
/* Ends l's page statement for keyset paging on (sort, id) (sort: a time expression, id: a
 * uuid column): the condition past the page token's position, when there is one, then
 * ORDER BY sort, id LIMIT page_size + 1. The condition and the order name the same keys,
 * so they are given once. INVALID_ARGUMENT on page_token when its position does not fit. */
orch_err_t db__list_keyset(db_list_t *l, const char *sort, const char *id, int page_size,
                           orch_error_t *err);
/* Borrows a connection from st's pool and runs the count and then the page; fills total,
 * res, take and more. */
orch_err_t db__list_run(db_list_t *l, orch_store_t *st, const orch_ctx_t *ctx, int page_size,
                        orch_error_t *err);
void db__list_cleanup(db_list_t *l);
/* Runs one parameterised statement that changes rows; *one: it changed exactly one. */
orch_err_t db__exec_one(db_conn_t *c, const char *sql, int n, const char *const *params, bool *one,
                        orch_error_t *err);
/* Runs one parameterised statement that answers a number (a count, a value it RETURNING):
 * *v is the first column of the first row, 0 when no row comes back or it is NULL. */
orch_err_t db__exec_ll(db_conn_t *c, const char *sql, int n, const char *const *params,
                       long long *v, orch_error_t *err);
/* Runs one parameterised statement (db_execp) on tx's connection, or, when tx is NULL, on one
 * borrowed from st's pool for the statement alone. */
orch_err_t db__query(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, const char *sql, int n,
                     const char *const *params, PGresult **res, orch_error_t *err);

orch_err_t db__tx_begin(orch_store_t *st, const orch_ctx_t *ctx, orch_tx_t **out,
                        orch_error_t *err);
orch_err_t db__tx_begin_lazy(orch_store_t *st, const orch_ctx_t *ctx, orch_tx_t **out,
                             orch_error_t *err);
bool db__tx_used(const orch_tx_t *tx);
orch_err_t db__process_commit_steps(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                    const orch_step_commit_t *parts, size_t n,
                                    orch_commit_result_t *res, orch_error_t *err);
orch_err_t db__process_commit_steps_claim(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                          const orch_step_commit_t *parts, size_t n,
                                          orch_commit_result_t *res, orch_claim_req_t *cl,
                                          orch_error_t *err);
orch_err_t db__tx_commit(orch_tx_t *tx, orch_error_t *err);
void db__tx_commit_with_next(orch_tx_t *tx);
void db__tx_rollback(orch_tx_t *tx);
/* Ends tx either way: commits it when rc is ORCH_OK, else rolls it back and returns rc. */
orch_err_t db__tx_end(orch_tx_t *tx, orch_err_t rc, orch_error_t *err);
orch_err_t db__idem_claim(orch_tx_t *tx, const char *request_id, const char *method,
                          const unsigned char hash[32], orch_idem_t *state,
                          unsigned char **response, size_t *len, orch_error_t *err);
orch_err_t db__idem_record(orch_tx_t *tx, const char *request_id, const unsigned char *response,
                           size_t len, orch_error_t *err);
orch_err_t db__product_lock(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *product_id, orch_error_t *err);
orch_err_t db__product_count_live(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                  const char *product_id, long *count, orch_error_t *err);
orch_err_t db__product_set(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                           const char *product_id, const char *description,
                           orch_product_status_t status, int64_t *end_time_us, orch_error_t *err);
orch_err_t db__catalog_refresh(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               orch_catalog_t *cat, orch_error_t *err);

/* store_events.c */
orch_err_t db__tx_snapshot(orch_tx_t *tx, orch_error_t *err);
orch_err_t db__events_seq(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                          const char *process_id, int64_t *seq, orch_error_t *err);
orch_err_t db__events_after(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *process_id, int64_t after, int limit, orch_event_t **out,
                            size_t *n, orch_error_t *err);
orch_err_t db__events_global(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *filter, const char *cursor, int limit, orch_event_t **out,
                             size_t *n, char out_cursor[64], orch_error_t *err);

orch_err_t db__sub_events_seq(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const char *subscription_id, int64_t *seq, orch_error_t *err);
orch_err_t db__sub_events_after(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *subscription_id, int64_t after, int limit,
                                orch_event_t **out, size_t *n, orch_error_t *err);

/* store_subscription.c */
char *db__array(const char *const *items, size_t n);
orch_err_t db__sub_load(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                        const orch_catalog_t *cat, const char *subscription_id, bool for_update,
                        orch_subscription_t **out, orch_error_t *err);
orch_err_t db__sub_get(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                       const orch_catalog_t *cat, const char *subscription_id,
                       orch_subscription_t **out, char stamp[33], orch_error_t *err);
orch_err_t db__sub_stamp(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                         const char *subscription_id, char stamp[33], orch_error_t *err);
orch_err_t db__sub_save(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                        orch_subscription_t *sub, orch_error_t *err);
orch_err_t db__sub_get_many(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const orch_catalog_t *cat, const char *const *ids, size_t n, bool full,
                            orch_subscription_t **out, char (*stamps)[33], orch_error_t *err);
orch_err_t db__sub_list_ids(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const orch_sub_query_t *q, bool with_stamps, orch_sub_id_page_t *page,
                            orch_error_t *err);
orch_err_t db__sub_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                        const orch_catalog_t *cat, const orch_sub_query_t *q, orch_sub_page_t *page,
                        orch_error_t *err);
orch_err_t db__sub_count_unfinished(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                    const char *subscription_id, long *n, orch_error_t *err);
orch_err_t db__sub_set_metadata(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *subscription_id, const json_t *metadata,
                                int64_t *version, orch_error_t *err);
orch_err_t db__cd_create(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                         const char *subscription_id, const char *customer_id,
                         const char *description, orch_customer_description_t *out,
                         orch_error_t *err);
orch_err_t db__cd_get(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                      const char *subscription_id, const char *customer_id,
                      orch_customer_description_t *out, orch_error_t *err);
orch_err_t db__cd_update(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                         const char *subscription_id, const char *customer_id,
                         const char *description, int64_t version, orch_customer_description_t *out,
                         orch_error_t *err);
orch_err_t db__cd_delete(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                         const char *subscription_id, const char *customer_id, int64_t version,
                         orch_error_t *err);

/* store_parallel.c: parallel branches */
orch_err_t db__branch_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                           const char *process_id, int64_t lease_token, const char *parallel_key,
                           orch_branch_row_t **rows, size_t *n, orch_error_t *err);
orch_err_t db__branch_start(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *process_id, int64_t lease_token, const char *parallel_key,
                            const char *const *create, size_t ncreate, const json_t *state,
                            const char *const *rerun, size_t nrerun, const char *actor,
                            orch_error_t *err);
orch_err_t db__process_retry_branches(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                      const char *process_id, const char *actor,
                                      const char *const *names, size_t n, bool *handled,
                                      bool *already, orch_error_t *err);

/* store_process.c: the workflow engine */
orch_err_t db__engine_register(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *hostname, const char *build, const char *address,
                               int workers, const orch_wf_reg_t *wfs, size_t nwfs, char *replica_id,
                               bool *tail_ok, orch_error_t *err);
orch_err_t db__engine_heartbeat(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *replica_id, int lease_ms, const char (*held)[37],
                                size_t nheld, bool *paused, bool *tail_ok, orch_error_t *err);
orch_err_t db__engine_stop(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                           const char *replica_id, orch_error_t *err);
orch_err_t db__process_claim(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *replica_id, int lease_ms, int max, orch_claim_t *out,
                             size_t *n, orch_error_t *err);
orch_err_t db__process_step_begin(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                  orch_claim_t *c, const char *step_key, const char *step_name,
                                  int timeout_ms, bool *paused, orch_error_t *err);
orch_err_t db__process_commit_step(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const orch_step_commit_t *c, orch_error_t *err);
orch_err_t db__process_release(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const orch_claim_t *c, orch_error_t *err);
orch_err_t db__process_create(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const orch_process_new_t *np, char *process_id, orch_error_t *err);
orch_err_t db__process_create_grouped(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                      const orch_process_new_t *np, char *process_id,
                                      orch_error_t *err);
orch_err_t db__process_get(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                           const char *process_id, bool full, orch_process_t **out,
                           orch_error_t *err);
orch_err_t db__process_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const orch_process_query_t *qy, orch_process_page_t *page,
                            orch_error_t *err);
orch_err_t db__process_status_counts(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                     const char *filter, orch_status_count_t **out, size_t *n,
                                     orch_error_t *err);
orch_err_t db__process_retry(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *process_id, const char *actor, orch_error_t *err);
orch_err_t db__process_abort(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *process_id, const char *reason, const char *actor,
                             bool *already, orch_error_t *err);
orch_err_t db__process_delete(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const char *process_id, orch_error_t *err);
orch_err_t db__process_set_note(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *process_id, const char *note, orch_error_t *err);
orch_err_t db__process_bulk_resume(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *filter, const char *actor, char ***ids, size_t *n,
                                   orch_error_t *err);
orch_err_t db__engine_status(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             orch_engine_status_t *out, orch_error_t *err);
orch_err_t db__engine_set_paused(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 bool paused, const char *actor, orch_error_t *err);
orch_err_t db__workflow_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *filter, int page_size, const char *page_token,
                             orch_wf_info_t ***out, size_t *n, long *total, char **next_token,
                             orch_error_t *err);
orch_err_t db__workflow_get(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, const char *id,
                            const char *name, orch_wf_info_t **out, orch_error_t *err);
orch_err_t db__inventory_allocate(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                  const char *pool, const char *owner, long long *value,
                                  orch_error_t *err);

/* store_forms.c: input steps and callbacks */
/* Locks a process row (FOR UPDATE) and reads its status (32 bytes), and when asked its last
 * step key (256 bytes) and whether it is a task; NOT_FOUND when there is none. */
orch_err_t db__process_lock_row(orch_tx_t *tx, const char *process_id, char *status,
                                char *last_step_key, bool *is_task, orch_error_t *err);
orch_err_t db__process_lock(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *process_id, char *status, char *last_step_key,
                            orch_error_t *err);
orch_err_t db__process_link_subscription(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                         const char *process_id, const char *subscription_id,
                                         orch_error_t *err);
orch_err_t db__process_resume_input(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                    const char *process_id, const char *step_key,
                                    const char *step_name, const json_t *masked_inputs,
                                    const json_t *state, const json_t *delta, const char *actor,
                                    orch_error_t *err);
orch_err_t db__process_secrets_put(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *process_id, const char *step_key,
                                   const json_t *overlay, orch_error_t *err);
orch_err_t db__process_secrets_get(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *process_id, json_t **out, orch_error_t *err);
orch_err_t db__admin_action_record(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *actor_kind, const char *actor_name,
                                   const char *method, const char *target, const char *request_id,
                                   orch_error_t *err);
orch_err_t db__admin_action_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 const char *method, const char *target, int64_t before_id,
                                 int limit, orch_admin_action_t **out, size_t *n,
                                 orch_error_t *err);
orch_err_t db__callback_create(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *process_id, const char *step_key, const char *token,
                               int timeout_ms, orch_error_t *err);
orch_err_t db__callback_deliver(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *process_id, const char *token, const json_t *result,
                                const char *actor, bool *already, char *status, orch_error_t *err);
orch_err_t db__callback_progress(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 const char *process_id, const char *token, const char *message,
                                 const json_t *progress, orch_error_t *err);
orch_err_t db__callback_fail_expired(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, int *n,
                                     orch_error_t *err);
orch_err_t db__callback_pending(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *process_id, json_t **out, orch_error_t *err);

orch_err_t db__catalog_sync(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            orch_catalog_t *cat, orch_error_t *err);

/* store_replica.c, store_schedule.c: scale-out */
orch_err_t db__replica_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *filter, int page_size, const char *page_token,
                            orch_replica_page_t *out, orch_error_t *err);
orch_err_t db__engine_takeover(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *replica_id, int dead_after_ms, int *taken,
                               orch_error_t *err);
orch_err_t db__process_retry_once(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                  const char *process_id, const char *actor, bool *already,
                                  orch_error_t *err);
orch_err_t db__schedule_get(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *schedule_id, bool for_update, orch_schedule_t *out,
                            orch_error_t *err);
orch_err_t db__schedule_insert(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               orch_schedule_t *s, orch_error_t *err);
orch_err_t db__schedule_update(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               orch_schedule_t *s, bool retime, orch_error_t *err);
orch_err_t db__schedule_delete(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *schedule_id, int64_t version, orch_error_t *err);
orch_err_t db__schedule_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const orch_schedule_query_t *q, orch_schedule_page_t *out,
                             orch_error_t *err);
orch_err_t db__schedule_any_due(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, bool *due,
                                orch_error_t *err);
orch_err_t db__schedule_claim_due(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                  const char *replica_id, orch_schedule_t *out, int64_t *now_us,
                                  bool *found, bool *fresh, orch_error_t *err);
orch_err_t db__schedule_record_run(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const orch_schedule_t *s, int64_t now_us, const char *process_id,
                                   const char *error, orch_error_t *err);
orch_err_t db__schedule_load_defaults(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                      const char *replica_id, orch_error_t *err);
orch_err_t db__tasks_clean_up(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              long older_than_s, long *n, orch_error_t *err);

/* "2026-11-27 18:19:50.123456+00" -> microseconds since the epoch; 0 for NULL/empty. */
long long db__parse_time(const char *s);

/* store_workers.c: step workers' tasks */
orch_err_t db__worker_task_create(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                  const orch_task_spec_t *t, bool only_if_served, bool *created,
                                  orch_error_t *err);
orch_err_t db__worker_connect(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                              const char *worker_id, const char *identity, const char *name,
                              const char *replica_id, const char *const *types, size_t ntypes,
                              int capacity, int expire_ms, orch_error_t *err);
orch_err_t db__worker_disconnect(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 const char *worker_id, orch_error_t *err);
orch_err_t db__worker_heartbeat(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *worker_id, int lease_ms, int expire_ms, bool *connected,
                                int *renewed, int64_t *lease_expires_us, orch_error_t *err);
orch_err_t db__worker_claim(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *worker_id, int lease_ms, int max, orch_worker_task_t *out,
                            size_t *n, bool *alive, orch_error_t *err);
orch_err_t db__worker_task_complete(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                    const orch_task_answer_t *a, char *status, orch_error_t *err);
orch_err_t db__worker_task_fail(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const orch_task_answer_t *a, bool *will_retry, int64_t *next_us,
                                char *status, orch_error_t *err);
orch_err_t db__worker_task_progress(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                    const orch_task_answer_t *a, const char *message,
                                    const json_t *progress, int lease_ms, int64_t *lease_expires_us,
                                    orch_error_t *err);
orch_err_t db__worker_task_sweep(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 int *nfailed, json_t **served, orch_error_t *err);
orch_err_t db__worker_task_pending(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *process_id, json_t **out, orch_error_t *err);

/* store_definitions.c: workflows as data */
orch_err_t db__wfdef_lock(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, const char *name,
                          int *max_version, char **prev, char prev_digest[65], bool *in_code,
                          orch_error_t *err);
orch_err_t db__wfdef_insert(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const orch_wf_reg_t *reg, const char *definition, const char *digest,
                            const char *const *products, size_t nproducts, const char *actor,
                            orch_error_t *err);
orch_err_t db__wfdef_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, const char *name,
                          int version, orch_wfdef_row_t **out, size_t *n, orch_error_t *err);
orch_err_t db__wfdef_replica_add(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 const char *replica_id, const char *name, int version,
                                 orch_error_t *err);
orch_err_t db__wfdef_replicas_missing(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                      const char *name, int version, long *missing,
                                      orch_error_t *err);

#endif
