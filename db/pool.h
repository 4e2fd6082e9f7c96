/* A fixed-size pool of libpq connections shared by all threads. Connections are opened
 * lazily and re-opened after a failure, so losing PostgreSQL is not fatal: callers get
 * UNAVAILABLE (DATABASE_UNAVAILABLE) until it returns. */
#ifndef DB_POOL_H
#define DB_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "base/ctx.h"
#include "base/errors.h"

typedef struct db_pool db_pool_t;

/* A borrowed connection; belongs to the pool, valid until db_pool_release. */
typedef struct db_conn {
    PGconn *pg;
    struct db_stmts *stmts; /* statements prepared on this session (owned; NULL = none) */
    bool broken;            /* set by callers on connection-level errors */
    const orch_ctx_t *ctx;  /* the borrower's context: deadline and cancellation */
    bool begin_pending;     /* a lazy unit of work: BEGIN goes out before the next query */
    bool commit_after;      /* the next parameterised statement is its unit of work's last:
                               COMMIT goes out with it, in the same round trip (db/pool.c) */
    bool ended;             /* that COMMIT went through: the unit of work is over, and no
                               statement may follow it on this loan */
    int rt_kind;            /* the kind (db_rt_kind_t) its round trips count under, from the
                               first tagged one of this loan (db_rt_kind) */
    char fatal_state[6];    /* the SQLSTATE of a FATAL the server sent outside any query
                               before it closed the session ("" = none; db/pool.c) */
} db_conn_t;

/* conninfo: libpq keyword/value string or URI (copied). size >= 1. */
db_pool_t *db_pool_new(const char *conninfo, int size);
/* Prepared statements (on by default): a parameterised statement run a second time on a
 * connection is prepared there (named after a hash of its text) and executed by name from
 * then on, so PostgreSQL parses and plans it once per session instead of every time. Off:
 * for poolers in transaction mode (PgBouncer < 1.21), where a session's statements do not
 * follow it. Before the pool is used. */
void db_pool_set_prepare(db_pool_t *pool, bool on);
void db_pool_free(db_pool_t *pool); /* all connections must be released; NULL ok */

/* Waits up to timeout_ms (less if ctx's deadline is nearer) for a free connection and makes
 * sure it is connected. UNAVAILABLE when none becomes free or the database cannot be
 * reached; DEADLINE_EXCEEDED when ctx's deadline passes first. Every query run on the
 * connection until release honours ctx (may be NULL): when its deadline passes or its
 * caller cancels, the query is cancelled in PostgreSQL and the connection stays usable. */
orch_err_t db_pool_acquire(db_pool_t *pool, const orch_ctx_t *ctx, int timeout_ms, db_conn_t **out,
                           orch_error_t *err);
/* Returns a connection. One left inside a transaction is rolled back; a broken one is
 * closed so the next acquire reconnects. */
void db_pool_release(db_pool_t *pool, db_conn_t *conn);

/* Opens every connection of the pool now, and runs sql (NULL: none) on each, so that the
 * first calls under load neither wait for a new session nor pay for compiling and
 * planning the statements that sql touched (a session does both once). Errors are
 * logged, not returned: the pool still opens what it lacks on demand. Returns how many
 * connections are open. */
int db_pool_warm(db_pool_t *pool, const char *sql);

const char *db_pool_conninfo(const db_pool_t *pool);

/* Connections lent out right now, and the pool's size (metrics). */
int db_pool_in_use(db_pool_t *pool, int *size);

/* Statements sent by this process so far (all pools): a test counts them to prove that a
 * load takes a fixed number whatever the data's size. */
unsigned long db_statements_sent(void);
/* Database round trips made by this process so far (every query, prepare, BEGIN and
 * ROLLBACK sent through this file and the LISTEN connection; a multi-statement string is
 * one). Exported as orch_db_round_trips_total. */
unsigned long db_round_trips(void);
/* Counts one round trip made outside this file (db/listen.c), as DB_RT_LISTEN. */
void db_round_trip_count(void);

/* What a round trip was for, for orch_db_round_trips_by_kind_total (their sum is
 * db_round_trips). A store function names its kind with db_rt_kind before its first
 * statement; untagged round trips count as "other". */
typedef enum {
    DB_RT_OTHER,       /* RPC reads and writes, registration, migrations, ... */
    DB_RT_START,       /* StartProcess's create (and the COMMIT of its unit of work) */
    DB_RT_CLAIM,       /* an idle worker's claim */
    DB_RT_STEP_COMMIT, /* step commits (group commits) and showing a step running */
    DB_RT_HEARTBEAT,   /* the replica's heartbeat with its lease renewals */
    DB_RT_SWEEP,       /* deadline, callback, worker-task and lost-replica sweeps */
    DB_RT_WATCH,       /* event reads: the watch streams' (and ListEvents') */
    DB_RT_SCHEDULE,    /* the scheduler's check for due schedules */
    DB_RT_HEALTH,      /* health checks (SELECT 1) */
    DB_RT_LISTEN,      /* LISTEN on the notification connection */
    DB_RT_KINDS
} db_rt_kind_t;
/* The kind of the calling thread's next round trip. That round trip tags its connection's
 * loan, so the loan's later round trips (the COMMIT or ROLLBACK of a unit of work
 * included) count under the same kind; a release forgets both. */
void db_rt_kind(db_rt_kind_t kind);
const char *db_rt_kind_name(db_rt_kind_t kind);
unsigned long db_round_trips_of(db_rt_kind_t kind);

/* Runs sql (no parameters) and checks for PGRES_COMMAND_OK / TUPLES_OK; on failure sets err
 * via db_error_from_result and marks the connection broken when it is. Caller PQclears a
 * non-NULL *res (pass NULL to discard). */
orch_err_t db_exec(db_conn_t *c, const char *sql, PGresult **res, orch_error_t *err);
/* The same with text parameters (NULL = SQL NULL). */
orch_err_t db_execp(db_conn_t *c, const char *sql, int nparams, const char *const *params,
                    PGresult **res, orch_error_t *err);
/* db_execp for a statement PostgreSQL would plan afresh on nearly every call: run in a
 * transaction of its own under plan_cache_mode force_generic_plan (BEGIN, SET LOCAL, the
 * statement, COMMIT in one pipeline: one round trip), so the session keeps one plan. Only
 * outside a unit of work (in one, it runs as db_execp). PostgreSQL chooses per call between
 * a plan for the values at hand and the plan it keeps, comparing with the average cost of
 * the plans it made for values: on a table that keeps growing (process_events) that
 * average lags behind, and the kept plan never wins. The plan is made with enable_seqscan
 * off: it is kept, and statistics of a nearly empty table would make it read the table
 * sequentially however large it grows. */
orch_err_t db_execp_generic(db_conn_t *c, const char *sql, int nparams, const char *const *params,
                            PGresult **res, orch_error_t *err);

/* Two statements in one round trip, each a transaction of its own: sql as db_execp outside
 * a unit of work would run it (its result and error as db_execp gives them), then sql2 as
 * db_execp_generic would. sql2 runs only when sql committed; *res2 gets its result when it
 * ran and succeeded, else NULL (its failure is no error of the call: the caller treats NULL
 * as "nothing"). Outside a unit of work only. Caller PQclears both. */
orch_err_t db_execp_then_generic(db_conn_t *c, const char *sql, int nparams,
                                 const char *const *params, PGresult **res, orch_error_t *err,
                                 const char *sql2, int nparams2, const char *const *params2,
                                 PGresult **res2);

/* The same statement n times (params[i] for the ith) in one transaction and one round
 * trip: BEGIN, the n, COMMIT, as one pipeline. Outside a unit of work only. All or nothing:
 * when one fails, PostgreSQL skips the rest and nothing is committed; the call returns the
 * first one's error and every res[i] is NULL (the caller runs them alone to tell which).
 * Else res[i] gets the ith result (caller PQclears each). */
orch_err_t db_execp_batch(db_conn_t *c, const char *sql, int nparams,
                          const char *const *const *params, int n, PGresult **res,
                          orch_error_t *err);

/* Translates a failed result (or a NULL one) into a project error: the single place where
 * SQLSTATE becomes orch_err_t. what: a few words naming the operation. */
orch_err_t db_error_from_result(db_conn_t *c, PGresult *res, const char *what, orch_error_t *err);

#endif
