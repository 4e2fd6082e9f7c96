/* The store's table of schedules (db/store_schedule.c), reached as st->schedules.
 * Calling convention (domain/store.h): every op takes (st, tx, ctx, ..., err); the heading
 * of each group says whether its ops need a unit of work, take one or none, or run on their
 * own. */
#ifndef ORCH_STORE_SCHEDULES_H
#define ORCH_STORE_SCHEDULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ctx.h"
#include "base/errors.h"
#include "domain/schedule/schedule.h"

typedef struct orch_store orch_store_t;
typedef struct orch_tx orch_tx_t;

typedef struct orch_schedule_store {
    /* ---- In a unit of work (tx required) ---- */
    /* Fills in s->id, version, times and next run (ALREADY_EXISTS SCHEDULE_NAME_TAKEN;
     * NOT_FOUND WORKFLOW_NOT_FOUND). */
    orch_err_t (*insert)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, orch_schedule_t *s,
                         orch_error_t *err);
    /* Writes every settable field when s->version matches (ABORTED VERSION_CONFLICT
     * otherwise); retime = recompute next_run_time from now(); s is refreshed. */
    orch_err_t (*update)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, orch_schedule_t *s,
                         bool retime, orch_error_t *err);
    /* version 0 = any. */
    orch_err_t (*remove)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                         const char *schedule_id, int64_t version, orch_error_t *err);
    /* The firing of schedules (docs/SCHEMA.md), in the scheduler's unit of work; the start
     * itself is the StartProcess use case's (domain/usecase/schedule.c).
     * claim_due: the first due schedule nobody else is firing (row lock, SKIP LOCKED), unless
     * the engine is paused, and the exactly-once record of its due time; *found = false when
     * none; *fresh = false when that due time fired before (only advance it). *now_us: the
     * database's clock. out: caller cleans up. What tx writes after it (the start) can be
     * undone by record_run.
     * record_run: the run's outcome and the next due time. error != NULL: the start was
     * refused: what it wrote since the claim is undone, the run and the schedule record why;
     * else process_id (NULL = none) is the run's and the last error is cleared. */
    orch_err_t (*claim_due)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *replica_id, orch_schedule_t *out, int64_t *now_us,
                            bool *found, bool *fresh, orch_error_t *err);
    orch_err_t (*record_run)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const orch_schedule_t *s, int64_t now_us, const char *process_id,
                             const char *error, orch_error_t *err);

    /* ---- With or without a unit of work (tx NULL: alone, on a pooled connection) ---- */
    /* for_update (with a tx) locks the row for the rest of tx. NOT_FOUND
     * SCHEDULE_NOT_FOUND. */
    orch_err_t (*get)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                      const char *schedule_id, bool for_update, orch_schedule_t *out,
                      orch_error_t *err);

    /* ---- On their own (tx NULL) ---- */
    orch_err_t (*list)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                       const orch_schedule_query_t *q, orch_schedule_page_t *out,
                       orch_error_t *err);
    /* Is any schedule due (one autocommit look: most ticks find none)? */
    orch_err_t (*any_due)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, bool *due,
                          orch_error_t *err);
    /* Loads the default schedules when replica_id is the first replica this database ever
     * had (never again, so an operator's deletion sticks). */
    orch_err_t (*load_defaults)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *replica_id, orch_error_t *err);
} orch_schedule_store_t;

#endif
