/* Catalogue synchronisation: makes the database hold the catalogue defined in code.
 * Everything runs in one transaction under an advisory lock, so replicas starting together
 * synchronise one after the other and the second finds nothing to do. Additions are
 * logged; removals are left alone (catalogue drift is refused elsewhere, not here). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "db/store_internal.h"
#include "domain/engine/lint.h"
#include "domain/ids.h"

#define SYNC_LOCK_KEY "7318004190002"

/* The columns a block's or a product's upsert returns first: its id, status and creation
 * time, and whether the statement inserted the row (xmax = 0) rather than updated it. */
#define UPSERTED(id_col) "RETURNING " id_col ", status, " US("create_time") ", (xmax = 0)"

/* Reads UPSERTED's columns of res's one row into the catalogue object's fields, and logs
 * an object the database did not hold before. */
static void read_upserted(PGresult *res, const char *what, const char *name,
                          char id[ORCH_UUID_LEN + 1], orch_product_status_t *status,
                          int64_t *create_time_us)
{
    snprintf(id, ORCH_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
    *status = orch_product_status_parse(PQgetvalue(res, 0, 1));
    *create_time_us = db__llv(res, 0, 2);
    if (db__boolv(res, 0, 3))
        orch_info("catalog", "added %s '%s'", what, name);
}

static orch_err_t sync_block(db_conn_t *c, orch_block_t *b, orch_error_t *err)
{
    const orch_block_def_t *d = b->def;
    PGresult *res = NULL;
    orch_err_t rc;
    const char *p[5];

    p[0] = d->name;
    p[1] = d->description ? d->description : "";
    p[2] = d->tag ? d->tag : "";
    // clang-format off
    rc = db_execp(c,
             "INSERT INTO product_blocks (name, description, tag) VALUES ($1, $2, $3) "
             "ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, "
             "tag = EXCLUDED.tag " UPSERTED("product_block_id"),
             3, p, &res, err);
    // clang-format on
    if (rc)
        return rc;
    read_upserted(res, "product block", d->name, b->id, &b->status, &b->create_time_us);
    PQclear(res);

    for (size_t i = 0; i < b->nfields; i++) {
        const orch_field_def_t *f = &d->fields[i];
        p[0] = f->name;
        p[1] = f->description ? f->description : "";
        rc = db_execp(c,
                      "INSERT INTO resource_types (resource_type, description) VALUES ($1, $2) "
                      "ON CONFLICT (resource_type) DO NOTHING",
                      2, p, NULL, err);
        if (rc)
            return rc;
        p[0] = b->id;
        p[1] = f->name;
        p[2] = orch_field_type_name(f->type);
        p[3] = f->required ? "true" : "false";
        p[4] = f->is_list ? "true" : "false";
        rc = db_execp(c,
                      "INSERT INTO product_block_resource_types "
                      "(product_block_id, resource_type_id, field_type, required, is_list) "
                      "SELECT $1, resource_type_id, $3, $4, $5 FROM resource_types "
                      "WHERE resource_type = $2 "
                      "ON CONFLICT (product_block_id, resource_type_id) DO UPDATE SET "
                      "field_type = EXCLUDED.field_type, required = EXCLUDED.required, "
                      "is_list = EXCLUDED.is_list",
                      5, p, NULL, err);
        if (rc)
            return rc;
    }
    return ORCH_OK;
}

static orch_err_t sync_relations(db_conn_t *c, const orch_block_t *b, orch_error_t *err)
{
    for (size_t i = 0; i < b->nchildren; i++) {
        const orch_child_def_t *ch = &b->def->children[i];
        const char *p[6] = {b->id,
                            ch->name,
                            b->child_blocks[i]->id,
                            DB_INT(ch->min_count),
                            DB_INT(ch->max_count),
                            ch->foreign ? "true" : "false"};
        orch_err_t rc;

        rc =
            db_execp(c,
                     "INSERT INTO product_block_relations "
                     "(parent_id, attribute, child_id, min_count, max_count, foreign_owned) "
                     "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (parent_id, attribute) DO UPDATE "
                     "SET child_id = EXCLUDED.child_id, min_count = EXCLUDED.min_count, "
                     "max_count = EXCLUDED.max_count, foreign_owned = EXCLUDED.foreign_owned",
                     6, p, NULL, err);
        if (rc)
            return rc;
    }
    return ORCH_OK;
}

static orch_err_t sync_product(db_conn_t *c, orch_product_t *pr, orch_error_t *err)
{
    const orch_product_def_t *d = pr->def;
    PGresult *res = NULL;
    orch_err_t rc;
    const char *p[6];

    p[0] = d->name;
    p[1] = d->description ? d->description : "";
    p[2] = d->product_type ? d->product_type : "";
    p[3] = d->tag ? d->tag : "";
    p[4] = orch_product_status_name(pr->status);
    p[5] = pr->root->id;
    /* Status and description in the database win over the code's: operators change them at
     * run time (UpdateProduct); the code gives only their first values. */
    // clang-format off
    rc = db_execp(c,
             "INSERT INTO products (name, description, product_type, tag, status, "
             "root_product_block_id) VALUES ($1, $2, $3, $4, $5, $6) "
             "ON CONFLICT (name) DO UPDATE SET "
             "product_type = EXCLUDED.product_type, tag = EXCLUDED.tag, "
             "root_product_block_id = EXCLUDED.root_product_block_id "
             UPSERTED("product_id") ", " US("end_time") ", description",
             6, p, &res, err);
    // clang-format on
    if (rc)
        return rc;
    read_upserted(res, "product", d->name, pr->id, &pr->status, &pr->create_time_us);
    pr->end_time_us = db__llv(res, 0, 4);
    free(pr->description);
    pr->description = orch_strdup(PQgetvalue(res, 0, 5));
    PQclear(res);

    for (size_t i = 0; i < pr->nfixed; i++) {
        p[0] = pr->id;
        p[1] = d->fixed_inputs[i].name;
        p[2] = d->fixed_inputs[i].value;
        rc = db_execp(c,
                      "INSERT INTO fixed_inputs (product_id, name, value) VALUES ($1, $2, $3) "
                      "ON CONFLICT (product_id, name) DO UPDATE SET value = EXCLUDED.value",
                      3, p, NULL, err);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < pr->nworkflows; i++) {
        const orch_workflow_ref_t *w = &d->workflows[i];
        p[0] = w->name;
        p[1] = orch_workflow_target_name(w->target);
        p[2] = w->description ? w->description : "";
        p[3] = pr->id;
        rc = db_execp(c,
                      "WITH w AS (INSERT INTO workflows (name, target, description) "
                      "VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET "
                      "description = EXCLUDED.description RETURNING workflow_id) "
                      "INSERT INTO products_workflows (product_id, workflow_id) "
                      "SELECT $4, workflow_id FROM w ON CONFLICT DO NOTHING",
                      4, p, NULL, err);
        if (rc)
            return rc;
    }
    return ORCH_OK;
}

static const orch_field_def_t *code_field(const orch_block_t *b, const char *name)
{
    for (size_t i = 0; b && i < b->nfields; i++)
        if (strcmp(b->def->fields[i].name, name) == 0)
            return &b->def->fields[i];
    return NULL;
}

/* Catalogue drift: compares what the database holds with the code before applying the code.
 * A field removed or retyped in code while live subscriptions hold values for it, or a
 * product dropped from code while it has live subscriptions, stops start-up with a message
 * naming them: a migration must convert or remove that data first. Drift that touches no
 * live data is applied and logged. */
static orch_err_t check_drift(db_conn_t *c, orch_catalog_t *cat, orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc;

    /* The live values of a field are counted only for a field that drifts: counting every
     * field's values on every start reads the whole value table (minutes at a million
     * subscriptions). */
    rc = db_exec(c,
                 "SELECT b.name, rt.resource_type, bt.field_type, b.product_block_id, "
                 "rt.resource_type_id "
                 "FROM product_block_resource_types bt "
                 "JOIN product_blocks b USING (product_block_id) "
                 "JOIN resource_types rt USING (resource_type_id) ORDER BY 1, 2",
                 &res, err);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *block = PQgetvalue(res, i, 0), *field = PQgetvalue(res, i, 1);
        const char *dbtype = PQgetvalue(res, i, 2);
        const orch_block_t *b = orch_catalog_find_block(cat, block);
        const orch_field_def_t *f = b ? code_field(b, field) : NULL;
        const char *codetype = f ? orch_field_type_name(f->type) : NULL;
        PGresult *use = NULL;
        const char *pu[2] = {PQgetvalue(res, i, 3), PQgetvalue(res, i, 4)};
        char users[512] = "";
        long live;

        if (b && f && strcmp(codetype, dbtype) == 0)
            continue;
        rc = db_execp(c,
                      "SELECT count(*), coalesce(string_agg(DISTINCT pr.name, ', '), '') "
                      "FROM subscription_instance_values v "
                      "JOIN subscription_instances si USING (subscription_instance_id) "
                      "JOIN subscriptions s USING (subscription_id) "
                      "JOIN products pr ON pr.product_id = s.product_id "
                      "WHERE si.product_block_id = $1 AND v.resource_type_id = $2 "
                      "AND s.status <> 'terminated'",
                      2, pu, &use, err);
        if (rc)
            break;
        live = atol(PQgetvalue(use, 0, 0));
        snprintf(users, sizeof(users), "%s", PQgetvalue(use, 0, 1));
        PQclear(use);
        if (live > 0) {
            /* Name the definition in code ("blocks[0] (domain/catalog/example.c)"), as the
             * start-up checks do, so the author knows where to look. */
            char where[256] = "";
            if (b && b->symbol[0])
                snprintf(where, sizeof(where), "%s (%s): ", b->symbol,
                         orch_lint_source_path(b->file));
            if (b && f)
                rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "CATALOG_DRIFT",
                                    "%sproduct '%s', block '%s': field '%s' changed type from "
                                    "%s to %s in code, but %ld live subscription value%s use "
                                    "it; add a migration that converts them",
                                    where, users, block, field, dbtype, codetype, live,
                                    live == 1 ? "" : "s");
            else
                rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "CATALOG_DRIFT",
                                    "%sproduct '%s', block '%s': field '%s' was removed from "
                                    "the code, but %ld live subscription value%s use it; add "
                                    "a migration that removes or moves them",
                                    where, users, block, field, live, live == 1 ? "" : "s");
            break;
        }
        if (b && !f) {
            const char *p[2] = {PQgetvalue(res, i, 3), PQgetvalue(res, i, 4)};
            orch_warn("catalog", "block '%s': field '%s' is no longer defined; removing it", block,
                      field);
            rc = db_execp(c,
                          "DELETE FROM product_block_resource_types "
                          "WHERE product_block_id = $1 AND resource_type_id = $2",
                          2, p, NULL, err);
            if (rc)
                break;
        } else if (b) {
            orch_warn("catalog", "block '%s': field '%s' changes type from %s to %s", block, field,
                      dbtype, codetype);
        }
    }
    PQclear(res);
    if (rc)
        return rc;

    /* Products the code no longer defines. */
    rc = db_exec(c,
                 "SELECT p.name, (SELECT count(*) FROM subscriptions s "
                 "  WHERE s.product_id = p.product_id AND s.status <> 'terminated') "
                 "FROM products p ORDER BY 1",
                 &res, err);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *name = PQgetvalue(res, i, 0);
        long live = atol(PQgetvalue(res, i, 1));
        if (orch_catalog_find_product(cat, name))
            continue;
        if (live > 0) {
            rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "CATALOG_DRIFT",
                                "product '%s' is no longer defined in code, but %ld live "
                                "subscription%s of it exist; terminate them or add a migration",
                                name, live, live == 1 ? "" : "s");
            break;
        }
        orch_warn("catalog",
                  "product '%s' is no longer defined in code; it stays in the "
                  "database with no subscriptions",
                  name);
    }
    PQclear(res);
    return rc;
}

static orch_err_t load_resource_type_ids(db_conn_t *c, orch_catalog_t *cat, orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc =
        db_exec(c, "SELECT resource_type, resource_type_id FROM resource_types", &res, err);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        orch_resource_type_t *r = orch_catalog_find_resource_type(cat, PQgetvalue(res, i, 0));
        if (r)
            snprintf(r->id, sizeof(r->id), "%s", PQgetvalue(res, i, 1));
    }
    PQclear(res);
    return ORCH_OK;
}

orch_err_t db__catalog_sync(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            orch_catalog_t *cat, orch_error_t *err)
{
    db__no_tx(tx);
    db_conn_ref_t r = {0};
    orch_err_t rc;
    size_t i;

    rc = db__conn_get(st, NULL, ctx, &r, err);
    if (rc)
        return rc;
    rc = db_exec(r.c, "BEGIN", NULL, err);
    if (!rc)
        rc = db_exec(r.c, "SELECT pg_advisory_xact_lock(" SYNC_LOCK_KEY ")", NULL, err);
    if (!rc)
        rc = check_drift(r.c, cat, err);
    for (i = 0; !rc && i < orch_catalog_nblocks(cat); i++)
        rc = sync_block(r.c, orch_catalog_block_at(cat, i), err);
    for (i = 0; !rc && i < orch_catalog_nblocks(cat); i++)
        rc = sync_relations(r.c, orch_catalog_block_at(cat, i), err);
    for (i = 0; !rc && i < orch_catalog_nproducts(cat); i++)
        rc = sync_product(r.c, orch_catalog_product_at(cat, i), err);
    if (!rc)
        rc = load_resource_type_ids(r.c, cat, err);
    if (!rc)
        rc = db_exec(r.c, "COMMIT", NULL, err);
    if (rc && r.c->pg)
        PQclear(PQexec(r.c->pg, "ROLLBACK"));
    db__conn_put(&r);
    return rc;
}
