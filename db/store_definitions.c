/* Workflows as data in PostgreSQL (migration 0017): the registration of a definition as a
 * workflow version (workflows, workflow_versions, workflow_definitions, products_workflows in
 * the caller's unit of work, under a per-name transaction lock), the definitions every
 * replica loads, and a replica's claim to run a version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "db/store_internal.h"

orch_err_t db__wfdef_lock(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, const char *name,
                          int *max_version, char **prev, char prev_digest[65], bool *in_code,
                          orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    orch_err_t rc;

    *max_version = 0;
    *prev = NULL;
    prev_digest[0] = '\0';
    *in_code = false;
    /* Two registrations of one name (any replica) take turns: the second sees the first's
     * version and compares with it. */
    rc = db_execp(tx->conn, "SELECT pg_advisory_xact_lock(hashtext('orch_workflow:' || $1))", 1,
                  (const char *[]){name}, NULL, err);
    if (rc)
        return rc;
    rc = db_execp(tx->conn,
                  "SELECT coalesce((SELECT max(v.version) FROM workflow_versions v "
                  "  WHERE v.workflow_id = w.workflow_id), 0), d.definition::text, d.digest, "
                  "  EXISTS (SELECT 1 FROM workflow_versions v WHERE v.workflow_id = "
                  "    w.workflow_id AND NOT EXISTS (SELECT 1 FROM workflow_definitions x "
                  "    WHERE x.workflow_id = v.workflow_id AND x.version = v.version)) "
                  "FROM workflows w LEFT JOIN LATERAL (SELECT definition, digest FROM "
                  "  workflow_definitions x WHERE x.workflow_id = w.workflow_id "
                  "  ORDER BY x.version DESC LIMIT 1) d ON true WHERE w.name = $1",
                  1, (const char *[]){name}, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) == 1) {
        *max_version = atoi(PQgetvalue(res, 0, 0));
        if (!PQgetisnull(res, 0, 1)) {
            *prev = orch_strdup(PQgetvalue(res, 0, 1));
            snprintf(prev_digest, 65, "%s", PQgetvalue(res, 0, 2));
        }
        *in_code = db__boolv(res, 0, 3);
    }
    PQclear(res);
    return ORCH_OK;
}

orch_err_t db__wfdef_insert(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const orch_wf_reg_t *reg, const char *definition, const char *digest,
                            const char *const *products, size_t nproducts, const char *actor,
                            orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    char who[256];
    char *names = db__array(products, nproducts);
    orch_err_t rc;

    const char *ver = DB_INT(reg->version);
    snprintf(who, sizeof(who), "%s", actor ? actor : "");
    rc = db_execp(tx->conn,
                  "INSERT INTO workflows (name, target, description, is_task) "
                  "VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET "
                  "target = EXCLUDED.target, description = EXCLUDED.description, "
                  "is_task = EXCLUDED.is_task",
                  4,
                  (const char *[]){reg->name, reg->target, reg->description ? reg->description : "",
                                   reg->is_task ? "true" : "false"},
                  NULL, err);
    if (!rc)
        rc = db_execp(tx->conn,
                      "INSERT INTO workflow_versions (workflow_id, version, steps, steps_digest) "
                      "SELECT workflow_id, $2, $3::jsonb, $4 FROM workflows WHERE name = $1",
                      4, (const char *[]){reg->name, ver, reg->steps_json, reg->digest}, NULL, err);
    if (!rc)
        rc = db_execp(tx->conn,
                      "INSERT INTO workflow_definitions (workflow_id, version, definition, "
                      "digest, registered_by) SELECT workflow_id, $2, $3::jsonb, $4, $5 "
                      "FROM workflows WHERE name = $1",
                      5, (const char *[]){reg->name, ver, definition, digest, who}, NULL, err);
    if (!rc && nproducts)
        rc = db_execp(tx->conn,
                      "INSERT INTO products_workflows (product_id, workflow_id) "
                      "SELECT p.product_id, w.workflow_id FROM products p, workflows w "
                      "WHERE w.name = $1 AND p.name = ANY($2::text[]) ON CONFLICT DO NOTHING",
                      2, (const char *[]){reg->name, names}, NULL, err);
    free(names);
    return rc;
}

orch_err_t db__wfdef_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, const char *name,
                          int version, orch_wfdef_row_t **out, size_t *n, orch_error_t *err)
{
    db__no_tx(tx);
    PGresult *res = NULL;
    orch_err_t rc;

    *out = NULL;
    *n = 0;
    rc = db__query(st, NULL, ctx,
                   "SELECT w.name, d.version, d.definition::text FROM workflow_definitions d "
                   "JOIN workflows w USING (workflow_id) WHERE ($1 = '' OR w.name = $1) AND "
                   "($2::int = 0 OR d.version = $2::int) ORDER BY w.name, d.version",
                   2, (const char *[]){name ? name : "", DB_INT(version)}, &res, err);
    if (!rc && PQntuples(res) > 0) {
        *n = (size_t)PQntuples(res);
        *out = orch_calloc(*n, sizeof(**out));
        for (size_t i = 0; i < *n; i++) {
            (*out)[i].name = orch_strdup(PQgetvalue(res, (int)i, 0));
            (*out)[i].version = atoi(PQgetvalue(res, (int)i, 1));
            (*out)[i].definition = orch_strdup(PQgetvalue(res, (int)i, 2));
        }
    }
    PQclear(res);
    return rc;
}

orch_err_t db__wfdef_replica_add(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                 const char *replica_id, const char *name, int version,
                                 orch_error_t *err)
{
    db__no_tx(tx);
    orch_err_t rc;

    rc = db__query(st, NULL, ctx,
                   "INSERT INTO replica_workflow_versions (replica_id, workflow_id, version) "
                   "SELECT $1, workflow_id, $3 FROM workflows WHERE name = $2 "
                   "ON CONFLICT DO NOTHING",
                   3, (const char *[]){replica_id, name, DB_INT(version)}, NULL, err);
    return rc;
}

orch_err_t db__wfdef_replicas_missing(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                      const char *name, int version, long *missing,
                                      orch_error_t *err)
{
    db__no_tx(tx);
    PGresult *res = NULL;
    orch_err_t rc;

    *missing = 0;
    /* Live as the claim's version sweep counts them (store_process.c ALIVE). */
    rc = db__query(st, NULL, ctx,
                   "SELECT count(*) FROM replicas r WHERE r.stop_time IS NULL AND NOT r.draining "
                   "AND r.heartbeat_time > now() - interval '15 seconds' AND NOT EXISTS "
                   "(SELECT 1 FROM replica_workflow_versions rv JOIN workflows w USING "
                   "(workflow_id) WHERE rv.replica_id = r.replica_id AND w.name = $1 AND "
                   "rv.version = $2::int)",
                   2, (const char *[]){name, DB_INT(version)}, &res, err);
    if (!rc)
        *missing = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return rc;
}
