/* The audit log of administrative actions (admin_actions, migration 0010): a row appended in
 * the unit of work of each admin call, and the newest-first list EngineService shows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "db/store_internal.h"

/* Column values are capped by the table's checks: clip rather than fail the action. */
static void clip(char *out, size_t cap, const char *s)
{
    snprintf(out, cap, "%s", s ? s : "");
}

orch_err_t db__admin_action_record(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *actor_kind, const char *actor_name,
                                   const char *method, const char *target, const char *request_id,
                                   orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    char kind[33], name[256], m[256], t[256], rid[65];
    clip(kind, sizeof(kind), actor_kind);
    clip(name, sizeof(name), actor_name);
    clip(m, sizeof(m), method);
    clip(t, sizeof(t), target);
    clip(rid, sizeof(rid), request_id);
    return db_execp(tx->conn,
                    "INSERT INTO admin_actions (actor_kind, actor_name, method, target, "
                    "request_id) VALUES ($1, $2, $3, $4, $5)",
                    5, (const char *[]){kind, name, m, t, rid}, NULL, err);
}

orch_err_t db__admin_action_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 const char *method, const char *target, int64_t before_id,
                                 int limit, orch_admin_action_t **out, size_t *n, orch_error_t *err)
{
    db__no_tx(tx);
    PGresult *res = NULL;
    orch_err_t rc;

    *out = NULL;
    *n = 0;
    // clang-format off
    rc = db__query(st, NULL, ctx,
                  "SELECT action_id, " US("action_time") ", actor_kind, actor_name, method, "
                  "target, request_id FROM admin_actions WHERE ($1::bigint = 0 OR action_id < "
                  "$1::bigint) AND ($2 = '' OR method = $2) AND ($3 = '' OR target = $3) "
                  "ORDER BY action_id DESC LIMIT $4::int",
                  4, (const char *[]){DB_INT(before_id > 0 ? before_id : 0), method ? method : "",
                                      target ? target : "", DB_INT(limit > 0 ? limit : 50)},
                  &res, err);
    // clang-format on
    if (!rc && PQntuples(res) > 0) {
        *n = (size_t)PQntuples(res);
        *out = orch_calloc(*n, sizeof(**out));
        for (size_t i = 0; i < *n; i++) {
            orch_admin_action_t *a = &(*out)[i];
            a->id = db__llv(res, (int)i, 0);
            a->time_us = db__llv(res, (int)i, 1);
            a->actor_kind = orch_strdup(PQgetvalue(res, (int)i, 2));
            a->actor_name = orch_strdup(PQgetvalue(res, (int)i, 3));
            a->method = orch_strdup(PQgetvalue(res, (int)i, 4));
            a->target = orch_strdup(PQgetvalue(res, (int)i, 5));
            a->request_id = orch_strdup(PQgetvalue(res, (int)i, 6));
        }
    }
    PQclear(res);
    return rc;
}
