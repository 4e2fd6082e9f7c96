/* The store's table of the audit log of admin calls (db/store_audit.c), reached as st->audit.
 * Calling convention (domain/store.h): every op takes (st, tx, ctx, ..., err); the group
 * heading above each op says whether it needs a unit of work, takes one or none, or runs on
 * its own. */
#ifndef ORCH_STORE_AUDIT_H
#define ORCH_STORE_AUDIT_H

#include <stdint.h>

#include "base/ctx.h"
#include "base/errors.h"
#include "domain/process.h"

typedef struct orch_store orch_store_t;
typedef struct orch_tx orch_tx_t;

typedef struct orch_audit_store {
    /* ---- In a unit of work (tx required) ---- */
    /* One row in tx, the unit of work of the change it records. */
    orch_err_t (*record)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                         const char *actor_kind, const char *actor_name, const char *method,
                         const char *target, const char *request_id, orch_error_t *err);

    /* ---- On their own (tx NULL) ---- */
    /* Newest first: at most limit actions with id < before_id (0 = from the newest), only
     * of method / target when non-empty. *out: caller frees with orch_admin_actions_free. */
    orch_err_t (*list)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, const char *method,
                       const char *target, int64_t before_id, int limit, orch_admin_action_t **out,
                       size_t *n, orch_error_t *err);
} orch_audit_store_t;

#endif
