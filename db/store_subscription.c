/* Subscriptions in PostgreSQL: load (a fixed number of set-based statements for any number
 * of subscriptions and any tree size), save (the same, with arrays), list (the shared filter
 * compiler, full-text search, keyset pages), metadata and customer descriptions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "db/filter_sql.h"
#include "db/order_sql.h"
#include "db/sql.h"
#include "db/store_internal.h"
#include "domain/page.h"

/* A PostgreSQL array literal of texts: {"a","b\"c",NULL}. Caller frees. */
char *db__array(const char *const *items, size_t n)
{
    size_t cap = 3, o = 0;
    char *out;
    for (size_t i = 0; i < n; i++)
        cap += items[i] ? strlen(items[i]) * 2 + 3 : 5;
    out = orch_malloc(cap);
    out[o++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            out[o++] = ',';
        if (!items[i]) {
            memcpy(out + o, "NULL", 4);
            o += 4;
            continue;
        }
        out[o++] = '"';
        for (const char *c = items[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                out[o++] = '\\';
            out[o++] = *c;
        }
        out[o++] = '"';
    }
    out[o++] = '}';
    out[o] = '\0';
    return out;
}

/* ---- load --------------------------------------------------------------------------- */

/* The instances a tree shows: its own, and the foreign ones its own point at directly. */
#define INST_OF(EQ)                                                                                \
    "SELECT si.subscription_id AS for_sub, si.subscription_instance_id AS id, "                    \
    "si.subscription_id AS owner, si.product_block_id, si.label "                                  \
    "FROM subscription_instances si WHERE si.subscription_id " EQ " "                              \
    "UNION ALL "                                                                                   \
    "SELECT p.subscription_id, c.subscription_instance_id, c.subscription_id, "                    \
    "c.product_block_id, c.label FROM subscription_instance_relations r "                          \
    "JOIN subscription_instances p ON p.subscription_instance_id = r.in_use_by_id "                \
    "JOIN subscription_instances c ON c.subscription_instance_id = r.depends_on_id "               \
    "WHERE p.subscription_id " EQ " AND c.subscription_id <> p.subscription_id"

static int find_index(const char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return (int)i;
    return -1;
}

/* The stamp of a subscription: a digest of everything its GetSubscription answer shows
 * that can change: its own version (every save), its metadata's version, its customer
 * descriptions (id and version each), the live subscriptions that use it (ids), and the
 * versions of the subscriptions it uses (their blocks appear in its tree). Equal stamps,
 * equal answers: the read cache (domain/subcache.h) compares them for consistency = STRONG.
 * Every part is an index lookup by subscription id. s: the subscriptions row's alias. */
// clang-format off
#define STAMP(s)                                                                                   \
    "md5(concat_ws('|', " s ".version, "                                                           \
    "(SELECT m.version FROM subscription_metadata m WHERE m.subscription_id = " s ".subscription_id), " \
    "(SELECT string_agg(cd.customer_description_id::text || ':' || cd.version, ',' "              \
    "  ORDER BY cd.customer_description_id) FROM subscription_customer_descriptions cd "          \
    "  WHERE cd.subscription_id = " s ".subscription_id), "                                        \
    "(SELECT string_agg(d.subscription_id::text, ',' ORDER BY d.subscription_id) "                 \
    "  FROM subscription_dependencies d JOIN subscriptions u ON u.subscription_id = d.subscription_id " \
    "  WHERE d.depends_on_id = " s ".subscription_id AND u.status <> 'terminated'), "              \
    "(SELECT string_agg(d.depends_on_id::text || ':' || u.version, ',' ORDER BY d.depends_on_id) " \
    "  FROM subscription_dependencies d JOIN subscriptions u ON u.subscription_id = d.depends_on_id " \
    "  WHERE d.subscription_id = " s ".subscription_id)))"

/* The whole of every subscription of $1 in ONE statement (one round trip, one snapshot): one
 * row per thing, its kind in column 0, the subscription it belongs to in column 1, text
 * columns after (the widest, the subscription row, has 16). Kinds: 0 subscription (with
 * metadata and stamp), 1 instance (own and directly referenced foreign ones), 2 field value,
 * 3 relation, 4 customer description, 5 live user (in_use_by). Sorted by kind, customer
 * descriptions by customer_id (column 4 of kind 4), as the API lists them, users by status
 * and id (columns 4 and 3 of kind 5): every load, of one subscription or of a page, gives
 * them in one order, so an answer kept in memory and one loaded anew agree. Who uses it:
 * live users only. A terminated subscription keeps its tree (and so its relation rows, for
 * the record), but it no longer holds what it used: the node of a terminated port is free
 * to go. EQ: the condition on a subscription id column, "= $1" or "= ANY($1)". */
#define N2 "NULL, NULL"
#define N4 N2 ", " N2
#define N8 N4 ", " N4
/* The two pieces both loads below share, so that the full and the BASIC view give the same
 * columns for a subscription (kind 0, up to its metadata) and its customer descriptions
 * (kind 4). */
#define SUB_ROW_SELECT \
    "SELECT 0, s.subscription_id::text, s.product_id::text, s.customer_id, s.description, " \
    "s.note, s.status, s.in_sync::text, s.version::text, " US("s.start_time") "::text, " \
    US("s.end_time") "::text, " US("s.create_time") "::text, " US("s.update_time") "::text, "
#define CD_ROWS(EQ) \
    "UNION ALL SELECT 4, cd.subscription_id::text, cd.customer_description_id::text, " \
    "cd.customer_id, cd.description, cd.version::text, " US("cd.create_time") "::text, " \
    US("cd.update_time") "::text, " N8 " FROM subscription_customer_descriptions cd " \
    "WHERE cd.subscription_id " EQ " "
#define LOAD_SQL(EQ)                                                                                \
    "WITH inst AS MATERIALIZED (" INST_OF(EQ) ") " \
    SUB_ROW_SELECT \
    "m.metadata::text, coalesce(m.version, 0)::text, " STAMP("s") " " \
    "FROM subscriptions s LEFT JOIN subscription_metadata m USING (subscription_id) " \
    "WHERE s.subscription_id " EQ " " \
    "UNION ALL SELECT 1, inst.for_sub::text, inst.id::text, inst.owner::text, " \
    "inst.product_block_id::text, inst.label, " N8 ", " N2 " FROM inst " \
    "UNION ALL SELECT 2, inst.for_sub::text, v.subscription_instance_id::text, rt.resource_type, " \
    "v.list_order::text, v.value, " N8 ", " N2 " FROM inst " \
    "JOIN subscription_instance_values v ON v.subscription_instance_id = inst.id " \
    "JOIN resource_types rt USING (resource_type_id) " \
    "UNION ALL SELECT 3, p.subscription_id::text, r.in_use_by_id::text, r.attribute, " \
    "r.order_id::text, r.depends_on_id::text, c.subscription_id::text, " N8 ", NULL " \
    "FROM subscription_instance_relations r " \
    "JOIN subscription_instances p ON p.subscription_instance_id = r.in_use_by_id " \
    "JOIN subscription_instances c ON c.subscription_instance_id = r.depends_on_id " \
    "WHERE p.subscription_id " EQ " " \
    CD_ROWS(EQ) \
    "UNION ALL SELECT 5, d.depends_on_id::text, d.subscription_id::text, u.status, " N4 ", " N8 \
    " FROM subscription_dependencies d JOIN subscriptions u USING (subscription_id) " \
    "WHERE d.depends_on_id " EQ " AND u.status <> 'terminated' " \
    "ORDER BY 1, 4, 3"
/* What the BASIC view shows (scalar attributes, relations, customer descriptions), in one
 * statement of the same shape: kinds 0 (without metadata), 1 (own instances only), 3, 4 and
 * 5. The own instances and relations give the tree's blocks and references, so the
 * subscriptions it uses come out in tree order (orch_sub_depends_on) as from a full load;
 * the field values, the blocks of other subscriptions and the metadata, most of a full
 * load's rows, are not read. The stamp is STAMP's, to the byte (the same subscription has one
 * stamp whichever view is kept), computed for the whole page at once: the users and the
 * subscriptions used are read once (live, rel) and serve both their rows and the stamp,
 * where STAMP's correlated subplans would read them again per subscription (3,617 buffers
 * instead of 6,675 for a first page of 50 L2VPNs at a million, a third less time). */
#define LOAD_BASIC_SQL(EQ)                                                                          \
    "WITH inst AS MATERIALIZED (SELECT si.subscription_id, si.subscription_instance_id, " \
    "si.product_block_id, si.label FROM subscription_instances si " \
    "WHERE si.subscription_id " EQ "), " \
    "rel AS MATERIALIZED (SELECT p.subscription_id AS sub, r.in_use_by_id, r.attribute, " \
    "r.order_id, r.depends_on_id, c.subscription_id AS child_sub FROM inst p " \
    "JOIN subscription_instance_relations r ON r.in_use_by_id = p.subscription_instance_id " \
    "JOIN subscription_instances c ON c.subscription_instance_id = r.depends_on_id), " \
    "live AS MATERIALIZED (SELECT us.used, us.user_id, u.status FROM (SELECT DISTINCT " \
    "c.subscription_id AS used, p.subscription_id AS user_id FROM inst c " \
    "JOIN subscription_instance_relations r ON r.depends_on_id = c.subscription_instance_id " \
    "JOIN subscription_instances p ON p.subscription_instance_id = r.in_use_by_id " \
    "WHERE p.subscription_id <> c.subscription_id) us " \
    "JOIN subscriptions u ON u.subscription_id = us.user_id WHERE u.status <> 'terminated'), " \
    "users_of AS (SELECT l.used, string_agg(l.user_id::text, ',' ORDER BY l.user_id) AS ids " \
    "FROM live l GROUP BY l.used), " \
    "deps_of AS (SELECT d.sub, string_agg(d.child_sub::text || ':' || u.version, ',' " \
    "ORDER BY d.child_sub) AS vs FROM (SELECT DISTINCT rel.sub, rel.child_sub FROM rel " \
    "WHERE rel.child_sub <> rel.sub) d JOIN subscriptions u ON u.subscription_id = d.child_sub " \
    "GROUP BY d.sub) " \
    SUB_ROW_SELECT \
    "NULL, '0', md5(concat_ws('|', s.version, " \
    "(SELECT m.version FROM subscription_metadata m WHERE m.subscription_id = s.subscription_id), " \
    "(SELECT string_agg(cd.customer_description_id::text || ':' || cd.version, ',' " \
    "  ORDER BY cd.customer_description_id) FROM subscription_customer_descriptions cd " \
    "  WHERE cd.subscription_id = s.subscription_id), uo.ids, dof.vs)) " \
    "FROM subscriptions s LEFT JOIN users_of uo ON uo.used = s.subscription_id " \
    "LEFT JOIN deps_of dof ON dof.sub = s.subscription_id WHERE s.subscription_id " EQ " " \
    "UNION ALL SELECT 1, inst.subscription_id::text, inst.subscription_instance_id::text, " \
    "inst.subscription_id::text, inst.product_block_id::text, inst.label, " N8 ", " N2 \
    " FROM inst " \
    "UNION ALL SELECT 3, rel.sub::text, rel.in_use_by_id::text, rel.attribute, " \
    "rel.order_id::text, rel.depends_on_id::text, rel.child_sub::text, " N8 ", NULL FROM rel " \
    CD_ROWS(EQ) \
    "UNION ALL SELECT 5, l.used::text, l.user_id::text, l.status, " N4 ", " N8 " FROM live l " \
    "ORDER BY 1, 4, 3"
/* One subscription: "= $1" plans once per session (a generic plan). "= ANY($1)" runs under
 * a generic plan too (db_execp_generic): PostgreSQL would plan it again for every array,
 * 8-17 ms at a million subscriptions for a page of 50, and its plan for the values ran
 * slower than the generic one (bench/README.md, "The million"). */
static const char load_one_sql[] = LOAD_SQL("= $1::uuid");
static const char load_many_sql[] = LOAD_SQL("= ANY($1::uuid[])");
static const char load_basic_sql[] = LOAD_BASIC_SQL("= ANY($1::uuid[])");
// clang-format on

/* One row of a load (its kind in column 0, its subscription in 1) into b; a subscription row
 * (kind 0) also gives its stamp when stamp is not NULL (33 bytes). */
static void apply_row(orch_sub_builder_t *b, PGresult *res, int r, int kind, char *stamp)
{
#define V(col) PQgetvalue(res, r, (col))
#define VN(col) (PQgetisnull(res, r, (col)) ? NULL : PQgetvalue(res, r, (col)))
    if (kind == 0) {
        orch_sub_row_t row;
        json_t *meta = NULL;
        memset(&row, 0, sizeof(row));
        row.subscription_id = V(1);
        row.product_id = V(2);
        row.customer_id = V(3);
        row.description = V(4);
        row.note = VN(5);
        row.status = V(6);
        row.in_sync = strcmp(V(7), "true") == 0;
        row.version = atoll(V(8));
        row.start_time_us = atoll(V(9));
        row.end_time_us = atoll(V(10));
        row.create_time_us = atoll(V(11));
        row.update_time_us = atoll(V(12));
        orch_sub_builder_subscription(b, &row);
        if (VN(13))
            meta = json_loads(V(13), 0, NULL);
        orch_sub_builder_metadata_take(b, meta, atoll(V(14)));
        if (stamp) {
            size_t len = strnlen(V(15), 32);
            memcpy(stamp, V(15), len);
            stamp[len] = '\0';
        }
    } else if (kind == 1) {
        orch_sub_builder_instance(b, V(2), V(3), V(4), VN(5));
    } else if (kind == 2) {
        orch_sub_builder_value(b, V(2), V(3), atoi(V(4)), V(5));
    } else if (kind == 3) {
        orch_sub_builder_relation(b, V(2), V(3), atoi(V(4)), V(5), V(6));
    } else if (kind == 4) {
        orch_customer_description_t cd;
        memset(&cd, 0, sizeof(cd));
        snprintf(cd.id, sizeof(cd.id), "%s", V(2));
        cd.customer_id = V(3);
        cd.description = V(4);
        cd.version = atoll(V(5));
        cd.create_time_us = atoll(V(6));
        cd.update_time_us = atoll(V(7));
        orch_sub_builder_customer_description(b, &cd);
    } else {
        orch_sub_builder_in_use_by(b, V(2), V(3));
    }
#undef V
#undef VN
}

/* Loads every subscription of ids (n of them) in one statement (two when for_update: the
 * row locks come first, so that the tree read after them is the one the lock protects);
 * full false: the BASIC load (LOAD_BASIC_SQL). out[i] is NULL for an id that does not
 * exist; stamps (n slots, may be NULL) get each one's stamp. */
static orch_err_t load_many(db_conn_t *c, const orch_catalog_t *cat, const char *const *ids,
                            size_t n, bool full, bool for_update, orch_subscription_t **out,
                            char (*stamps)[33], orch_error_t *err)
{
    orch_sub_builder_t **b = orch_calloc(n ? n : 1, sizeof(*b));
    bool *found = orch_calloc(n ? n : 1, sizeof(*found));
    char *arr = db__array(ids, n);
    const char *p[1] = {arr};
    int *owner = NULL, *kinds;
    PGresult *res = NULL;
    orch_err_t rc;

    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        b[i] = orch_sub_builder_new(cat);
        if (stamps)
            stamps[i][0] = '\0';
    }
    if (for_update) {
        rc = db_execp(c,
                      "SELECT 1 FROM subscriptions WHERE subscription_id = ANY($1::uuid[]) "
                      "ORDER BY subscription_id FOR UPDATE",
                      1, p, NULL, err);
        if (rc)
            goto out;
    }
    if (full && n == 1) {
        p[0] = ids[0];
        rc = db_execp(c, load_one_sql, 1, p, &res, err);
    } else {
        rc = db_execp_generic(c, full ? load_many_sql : load_basic_sql, 1, p, &res, err);
    }
    if (rc)
        goto out;
    /* Which subscription each row is for and its kind (read once), then the rows kind by
     * kind: the builder wants the subscription before its instances, instances before
     * values and relations. */
    owner = orch_calloc(2 * (size_t)PQntuples(res) + 1, sizeof(int));
    kinds = owner + PQntuples(res);
    for (int r = 0; r < PQntuples(res); r++) {
        owner[r] = find_index(ids, n, PQgetvalue(res, r, 1));
        kinds[r] = atoi(PQgetvalue(res, r, 0));
    }
    for (int kind = 0; kind <= 5; kind++) {
        for (int r = 0; r < PQntuples(res); r++) {
            int i = owner[r];
            if (i < 0 || kinds[r] != kind)
                continue;
            if (kind == 0)
                found[i] = true;
            apply_row(b[i], res, r, kind, stamps ? stamps[i] : NULL);
        }
    }

    for (size_t i = 0; i < n; i++) {
        if (!found[i])
            continue;
        rc = orch_sub_builder_finish(b[i], &out[i], err);
        if (rc)
            goto out;
    }
out:
    if (rc)
        for (size_t i = 0; i < n; i++) {
            orch_subscription_free(out[i]);
            out[i] = NULL;
        }
    for (size_t i = 0; i < n; i++)
        orch_sub_builder_free(b[i]);
    PQclear(res);
    free(owner);
    free(b);
    free(found);
    free(arr);
    return rc;
}

/* The NOT_FOUND of a subscription id no row has. */
static orch_err_t sub_not_found(orch_error_t *err, const char *subscription_id)
{
    return orch_error_set(err, ORCH_NOT_FOUND, "SUBSCRIPTION_NOT_FOUND",
                          "no subscription has id %s", subscription_id);
}

/* One whole subscription (load_many for one id) on tx's connection or a borrowed one;
 * NOT_FOUND when no row has the id. stamps: NULL, or one stamp filled for it. */
static orch_err_t load_one(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                           const orch_catalog_t *cat, const char *subscription_id, bool for_update,
                           orch_subscription_t **out, char (*stamps)[33], orch_error_t *err)
{
    db_conn_ref_t r;
    const char *ids[1] = {subscription_id};
    orch_err_t rc;

    *out = NULL;
    rc = db__conn_get(st, tx, ctx, &r, err);
    if (rc)
        return rc;
    rc = load_many(r.c, cat, ids, 1, true, for_update, out, stamps, err);
    db__conn_put(&r);
    if (!rc && !*out)
        rc = sub_not_found(err, subscription_id);
    return rc;
}

orch_err_t db__sub_load(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                        const orch_catalog_t *cat, const char *subscription_id, bool for_update,
                        orch_subscription_t **out, orch_error_t *err)
{
    return load_one(st, tx, ctx, cat, subscription_id, for_update, out, NULL, err);
}

orch_err_t db__sub_get(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                       const orch_catalog_t *cat, const char *subscription_id,
                       orch_subscription_t **out, char stamp[33], orch_error_t *err)
{
    db__no_tx(tx);
    char stamps[1][33];
    orch_err_t rc;

    stamp[0] = '\0';
    rc = load_one(st, NULL, ctx, cat, subscription_id, false, out, stamps, err);
    if (!rc)
        memcpy(stamp, stamps[0], 33);
    return rc;
}

orch_err_t db__sub_get_many(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const orch_catalog_t *cat, const char *const *ids, size_t n, bool full,
                            orch_subscription_t **out, char (*stamps)[33], orch_error_t *err)
{
    db__no_tx(tx);
    db_conn_ref_t r;
    orch_err_t rc;

    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        stamps[i][0] = '\0';
    }
    if (n == 0)
        return ORCH_OK;
    rc = db__conn_get(st, NULL, ctx, &r, err);
    if (rc)
        return rc;
    rc = load_many(r.c, cat, ids, n, full, false, out, stamps, err);
    db__conn_put(&r);
    return rc;
}

orch_err_t db__sub_stamp(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                         const char *subscription_id, char stamp[33], orch_error_t *err)
{
    db__no_tx(tx);
    PGresult *res = NULL;
    const char *p[1] = {subscription_id};
    orch_err_t rc;

    stamp[0] = '\0';
    rc = db__query(st, NULL, ctx,
                   "SELECT " STAMP("s") " FROM subscriptions s WHERE s.subscription_id = $1", 1, p,
                   &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) == 1)
        snprintf(stamp, 33, "%s", PQgetvalue(res, 0, 0));
    else
        rc = sub_not_found(err, subscription_id);
    PQclear(res);
    return rc;
}

/* ---- save --------------------------------------------------------------------------- */

/* The subscription's change events for WatchSubscription, in the save's transaction: one
 * per kind of change, numbered under the row lock the save holds. */
static orch_err_t write_events(db_conn_t *c, const orch_subscription_t *sub, const char *old_status,
                               bool old_in_sync, bool attrs_changed, bool fields_changed,
                               orch_error_t *err)
{
    const char *kinds[5], *payloads[5];
    char *pl[5] = {0}, *ka = NULL, *pa = NULL, n[24];
    const char *new_status = orch_sub_status_name(sub->status);
    size_t k = 0;
    orch_err_t rc = ORCH_OK;

    if (strcmp(old_status, new_status) != 0) {
        pl[k] = orch_asprintf("{\"old_status\": \"%s\", \"new_status\": \"%s\"}", old_status,
                              new_status);
        kinds[k] = "status_changed";
        payloads[k] = pl[k];
        k++;
    }
    if (!*old_status ? !sub->in_sync : old_in_sync != sub->in_sync) {
        kinds[k] = sub->in_sync ? "unlocked" : "locked";
        payloads[k++] = sub->in_sync ? "{\"in_sync\": true}" : "{\"in_sync\": false}";
    }
    if (fields_changed) {
        kinds[k] = "fields_changed";
        payloads[k++] = "{}";
    }
    if (attrs_changed && *old_status) {
        kinds[k] = "description_changed";
        payloads[k++] = "{}";
    }
    if (k == 0)
        return ORCH_OK;
    ka = db__array(kinds, k);
    pa = db__array(payloads, k);
    snprintf(n, sizeof(n), "%zu", k);
    {
        const char *p[4] = {sub->id, n, ka, pa};
        rc = db_execp(
            c,
            "WITH u AS (UPDATE subscriptions SET last_event_sequence = "
            "  last_event_sequence + $2::int WHERE subscription_id = $1 "
            "  RETURNING last_event_sequence) "
            "INSERT INTO subscription_events (subscription_id, sequence, kind, payload) "
            "SELECT $1, u.last_event_sequence - $2::int + e.ord, e.kind, e.payload "
            "FROM u, unnest($3::text[], $4::jsonb[]) WITH ORDINALITY AS e(kind, payload, ord)",
            4, p, NULL, err);
    }
    for (size_t i = 0; i < k; i++)
        free(pl[i]);
    free(ka);
    free(pa);
    return rc;
}

/* What the subscriptions row held before the save, for the change events: status "" and
 * attrs_changed true when the save inserted it. */
typedef struct sub_before {
    char status[32];
    bool in_sync;
    bool attrs_changed;
} sub_before_t;

/* Row i of a tree's instances, values or relations as the text cells of one table row;
 * num is the row's own room for a number it shows as text. */
typedef void (*row_cells_fn)(const orch_sub_flat_t *flat, size_t i, const char **cells,
                             db_int_text_t *num);

#define ROW_CELLS_MAX 4 /* the widest table: values and relations */

/* n rows of ncols cells (cells gives row i) as ncols PostgreSQL array literals, one per
 * column, in out[0..ncols): the form in which one statement takes any number of rows
 * ($1::uuid[], ... with unnest), so a save costs the same round trips whatever the tree's
 * size. Caller frees with free_arrays. */
static void rows_to_arrays(const orch_sub_flat_t *flat, size_t n, int ncols, row_cells_fn cells,
                           char **out)
{
    const char **cols = orch_calloc(n * (size_t)ncols + 1, sizeof(char *));
    db_int_text_t *nums = orch_calloc(n + 1, sizeof(*nums));
    const char *row[ROW_CELLS_MAX];

    orch_assert(ncols <= ROW_CELLS_MAX);
    for (size_t i = 0; i < n; i++) {
        cells(flat, i, row, &nums[i]);
        for (int k = 0; k < ncols; k++)
            cols[(size_t)k * n + i] = row[k];
    }
    for (int k = 0; k < ncols; k++)
        out[k] = db__array(cols + (size_t)k * n, n);
    free(nums);
    free(cols);
}

static void free_arrays(char **a, int n)
{
    for (int k = 0; k < n; k++) {
        free(a[k]);
        a[k] = NULL;
    }
}

/* Inserts the subscriptions row (version 0) or updates it if it is still at sub->version,
 * and gives sub the row's new version and times. before gets what the row held. */
static orch_err_t save_row(db_conn_t *c, orch_subscription_t *sub, sub_before_t *before,
                           orch_error_t *err)
{
    PGresult *res = NULL;
    const char *p[10] = {sub->id,
                         sub->product->id,
                         sub->customer_id,
                         sub->description ? sub->description : "",
                         sub->note,
                         orch_sub_status_name(sub->status),
                         sub->in_sync ? "true" : "false",
                         DB_INT(sub->version),
                         DB_INT(sub->start_time_us),
                         DB_INT(sub->end_time_us)};
    orch_err_t rc;

    /* Times: start/end come from the domain's lifecycle, as "set or not"; their values
     * are PostgreSQL's clock at the first save that sets them. */
    // clang-format off
    if (sub->version == 0)
        rc = db_execp(c,
                      "INSERT INTO subscriptions (subscription_id, product_id, customer_id, "
                      "description, note, status, in_sync, version, start_time, end_time) "
                      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bigint + 1, "
                      "CASE WHEN $9::bigint > 0 THEN now() END, "
                      "CASE WHEN $10::bigint > 0 THEN now() END) "
                      "RETURNING version, " US("start_time") ", " US("end_time") ", "
                      US("create_time") ", " US("update_time") ", NULL, NULL, true",
                      10, p, &res, err);
    else
        rc = db_execp(c,
                      "UPDATE subscriptions s SET customer_id = $3, description = $4, "
                      "note = $5, status = $6, in_sync = $7, version = s.version + 1, "
                      "start_time = CASE WHEN $9::bigint = 0 THEN NULL "
                      "  ELSE coalesce(s.start_time, now()) END, "
                      "end_time = CASE WHEN $10::bigint = 0 THEN NULL "
                      "  ELSE coalesce(s.end_time, now()) END, update_time = now() "
                      "FROM (SELECT status, in_sync, description, note, customer_id "
                      "  FROM subscriptions WHERE subscription_id = $1) o "
                      "WHERE s.subscription_id = $1 AND s.version = $8 AND s.product_id = $2 "
                      "RETURNING s.version, " US("s.start_time") ", " US("s.end_time") ", "
                      US("s.create_time") ", " US("s.update_time") ", o.status, o.in_sync, "
                      "(o.description <> $4 OR o.note IS DISTINCT FROM $5 "
                      "  OR o.customer_id <> $3)",
                      10, p, &res, err);
    // clang-format on
    if (rc)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return orch_error_set(err, ORCH_ABORTED, "VERSION_CONFLICT",
                              "subscription %s was changed by someone else since version %lld "
                              "was read; load it again and retry",
                              sub->id, (long long)sub->version);
    }
    snprintf(before->status, sizeof(before->status), "%s", PQgetvalue(res, 0, 5));
    before->in_sync = db__boolv(res, 0, 6);
    before->attrs_changed = db__boolv(res, 0, 7);
    if (sub->version == 0) {
        char *meta = json_dumps(sub->metadata, JSON_COMPACT);
        const char *pm[2] = {sub->id, meta ? meta : "{}"};
        rc = db_execp(c,
                      "INSERT INTO subscription_metadata (subscription_id, metadata) "
                      "VALUES ($1, $2::jsonb)",
                      2, pm, NULL, err);
        free(meta);
        if (rc) {
            PQclear(res);
            return rc;
        }
        sub->metadata_version = 1;
    }
    sub->version = db__llv(res, 0, 0);
    sub->start_time_us = db__llv(res, 0, 1);
    sub->end_time_us = db__llv(res, 0, 2);
    sub->create_time_us = db__llv(res, 0, 3);
    sub->update_time_us = db__llv(res, 0, 4);
    PQclear(res);
    return ORCH_OK;
}

static void instance_row(const orch_sub_flat_t *flat, size_t i, const char **cells,
                         db_int_text_t *num)
{
    (void)num;
    cells[0] = flat->instances[i].id;
    cells[1] = flat->instances[i].block->id;
    cells[2] = flat->instances[i].label;
}

/* Upserts every owned instance, then empties their values and relations (written again
 * after) and drops the instances the tree no longer has. A block still referenced by
 * another subscription refuses to go (foreign key). */
static orch_err_t save_instances(db_conn_t *c, const orch_subscription_t *sub,
                                 const orch_sub_flat_t *flat, orch_error_t *err)
{
    char *a[3];
    const char *p[4];
    orch_err_t rc;

    rows_to_arrays(flat, flat->ninstances, 3, instance_row, a);
    p[0] = sub->id;
    p[1] = a[0];
    p[2] = a[1];
    p[3] = a[2];
    rc = db_execp(c,
                  "INSERT INTO subscription_instances (subscription_instance_id, "
                  "subscription_id, product_block_id, label) "
                  "SELECT i, $1, b, l FROM unnest($2::uuid[], $3::uuid[], $4::text[]) "
                  "AS t(i, b, l) ON CONFLICT (subscription_instance_id) DO UPDATE SET "
                  "label = EXCLUDED.label, update_time = now() "
                  "WHERE subscription_instances.subscription_id = EXCLUDED.subscription_id",
                  4, p, NULL, err);
    if (!rc)
        rc = db_execp(c,
                      "DELETE FROM subscription_instance_relations r USING subscription_instances "
                      "si WHERE r.in_use_by_id = si.subscription_instance_id "
                      "AND si.subscription_id = $1",
                      1, p, NULL, err);
    if (!rc)
        rc = db_execp(c,
                      "DELETE FROM subscription_instance_values v USING subscription_instances "
                      "si WHERE v.subscription_instance_id = si.subscription_instance_id "
                      "AND si.subscription_id = $1",
                      1, p, NULL, err);
    if (!rc) {
        const char *pd[2] = {sub->id, a[0]};
        rc = db_execp(c,
                      "DELETE FROM subscription_instances WHERE subscription_id = $1 "
                      "AND NOT (subscription_instance_id = ANY($2::uuid[]))",
                      2, pd, NULL, err);
        if (rc == ORCH_FAILED_PRECONDITION)
            rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "IN_USE_BY_OTHER_SUBSCRIPTIONS",
                                "a block removed from subscription %s is still used by "
                                "another subscription",
                                sub->id);
    }
    free_arrays(a, 3);
    return rc;
}

/* A value: its instance, resource type, position and value. */
static void value_row(const orch_sub_flat_t *flat, size_t i, const char **cells, db_int_text_t *num)
{
    cells[0] = flat->values[i].instance_id;
    cells[1] = flat->values[i].resource_type;
    cells[2] = db_int_text(num, flat->values[i].position);
    cells[3] = flat->values[i].value;
}

/* A reference: the instance that uses, its attribute, position and the instance used. */
static void relation_row(const orch_sub_flat_t *flat, size_t i, const char **cells,
                         db_int_text_t *num)
{
    cells[0] = flat->relations[i].parent_id;
    cells[1] = flat->relations[i].attribute;
    cells[2] = db_int_text(num, flat->relations[i].position);
    cells[3] = flat->relations[i].child_id;
}

/* Inserts n rows of four columns, read by row, with sql, which takes them as the arrays
 * $1..$4. */
static orch_err_t insert_rows(db_conn_t *c, const orch_sub_flat_t *flat, size_t n, row_cells_fn row,
                              const char *sql, orch_error_t *err)
{
    char *a[4];
    rows_to_arrays(flat, n, 4, row, a);
    orch_err_t rc = db_execp(c, sql, 4, (const char *const *)a, NULL, err);
    free_arrays(a, 4);
    return rc;
}

/* Inserts the field values of every owned instance. */
static orch_err_t save_values(db_conn_t *c, const orch_sub_flat_t *flat, orch_error_t *err)
{
    return insert_rows(
        c, flat, flat->nvalues, value_row,
        "INSERT INTO subscription_instance_values (subscription_instance_id, "
        "resource_type_id, list_order, value) "
        "SELECT t.i, rt.resource_type_id, t.o, t.v "
        "FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[]) AS t(i, r, o, v) "
        "JOIN resource_types rt ON rt.resource_type = t.r",
        err);
}

/* Inserts the references of every owned instance (to its own blocks and to other
 * subscriptions' blocks). */
static orch_err_t save_relations(db_conn_t *c, const orch_subscription_t *sub,
                                 const orch_sub_flat_t *flat, orch_error_t *err)
{
    orch_err_t rc = insert_rows(c, flat, flat->nrelations, relation_row,
                                "INSERT INTO subscription_instance_relations (in_use_by_id, "
                                "attribute, order_id, depends_on_id) "
                                "SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], "
                                "$4::uuid[])",
                                err);
    if (rc == ORCH_FAILED_PRECONDITION)
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "REFERENCE_NOT_FOUND",
                            "subscription %s references a block that does not exist", sub->id);
    return rc;
}

/* What a reference says it points at: the instance, its subscription and its block. */
static void reference_row(const orch_sub_flat_t *flat, size_t i, const char **cells,
                          db_int_text_t *num)
{
    (void)num;
    cells[0] = flat->relations[i].child_id;
    cells[1] = flat->relations[i].child_subscription_id;
    cells[2] = flat->relations[i].child_block->id;
}

/* A reference must point at a block of the owner and type the tree says. */
static orch_err_t check_references(db_conn_t *c, const orch_subscription_t *sub,
                                   const orch_sub_flat_t *flat, orch_error_t *err)
{
    char *a[3];
    PGresult *res = NULL;
    orch_err_t rc;

    rows_to_arrays(flat, flat->nrelations, 3, reference_row, a);
    {
        const char *p[3] = {a[0], a[1], a[2]};
        rc = db_execp(c,
                      "SELECT t.c FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS t(c, o, b) "
                      "LEFT JOIN subscription_instances si ON si.subscription_instance_id = t.c "
                      "WHERE si.subscription_id IS DISTINCT FROM t.o "
                      "OR si.product_block_id IS DISTINCT FROM t.b LIMIT 1",
                      3, p, &res, err);
    }
    free_arrays(a, 3);
    if (rc)
        return rc;
    if (PQntuples(res) > 0)
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "REFERENCE_INVALID",
                            "subscription %s references block %s, which is not a block of "
                            "the owner and type given",
                            sub->id, PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

/* Recomputes the full-text search column; *changed tells whether any field value (which it
 * is made of) changed. */
static orch_err_t update_search_text(db_conn_t *c, const orch_subscription_t *sub, bool *changed,
                                     orch_error_t *err)
{
    PGresult *res = NULL;
    const char *p[1] = {sub->id};
    orch_err_t rc;

    *changed = false;
    rc = db_execp(c,
                  "UPDATE subscriptions s SET search_text = subscription_search_text($1) "
                  "FROM (SELECT search_text FROM subscriptions WHERE subscription_id = $1) o "
                  "WHERE s.subscription_id = $1 "
                  "RETURNING o.search_text IS DISTINCT FROM s.search_text",
                  1, p, &res, err);
    if (rc)
        return rc;
    *changed = db__boolv(res, 0, 0);
    PQclear(res);
    return ORCH_OK;
}

orch_err_t db__sub_save(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                        orch_subscription_t *sub, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    db_conn_t *c = tx->conn;
    orch_sub_flat_t flat;
    sub_before_t before = {"", false, false};
    bool fields_changed = false;
    orch_err_t rc;

    orch_sub_flatten(sub, &flat);
    /* The read caches drop it when tx ends, and the subscriptions it now uses (their
     * in_use_by gains it; the ones it stops using list it already, see domain/subcache.h). */
    db__tx_changed(tx, sub->id);
    for (size_t i = 0; i < flat.nrelations; i++)
        if (strcmp(flat.relations[i].child_subscription_id, sub->id) != 0)
            db__tx_changed(tx, flat.relations[i].child_subscription_id);

    rc = save_row(c, sub, &before, err);
    if (!rc)
        rc = save_instances(c, sub, &flat, err);
    if (!rc)
        rc = save_values(c, &flat, err);
    if (!rc)
        rc = save_relations(c, sub, &flat, err);
    if (!rc)
        rc = check_references(c, sub, &flat, err);
    if (!rc)
        rc = update_search_text(c, sub, &fields_changed, err);
    if (!rc)
        rc = write_events(c, sub, before.status, before.in_sync, before.attrs_changed,
                          fields_changed, err);
    orch_sub_flat_cleanup(&flat);
    return rc;
}

/* ---- list --------------------------------------------------------------------------- */

static const char *const sub_statuses[] = {"initial",  "provisioning", "active", "migrating",
                                           "disabled", "terminated",   NULL};

static const db_filter_column_t sub_columns[] = {
    {"subscription_id", "s.subscription_id", DB_COL_UUID, NULL, NULL},
    {"status", "s.status", DB_COL_ENUM, sub_statuses, NULL},
    /* `product = "port 10G"` compares s.product_id with the product of that name, a scalar
     * subquery PostgreSQL runs once (an InitPlan), so subscriptions_product_status_start_cover
     * (0019) gives a page in the default order; compared through the join (p.name = $n) no
     * index does, and a status filter walks ~150,000 entries at a million (issue 20). names
     * are unique; an unknown one gives NULL, which matches nothing, as p.name = $n does. The
     * comparison is the same (products.name's collation, the value as text). */
    {"product", "p.name", DB_COL_TEXT, NULL,
     "s.product_id = (SELECT pn.product_id FROM products pn WHERE pn.name = $?)"},
    {"product_id", "s.product_id", DB_COL_UUID, NULL, NULL},
    {"tag", "p.tag", DB_COL_TEXT, NULL, NULL},
    {"product_type", "p.product_type", DB_COL_TEXT, NULL, NULL},
    {"customer_id", "s.customer_id", DB_COL_TEXT, NULL, NULL},
    {"description", "s.description", DB_COL_TEXT, NULL, NULL},
    {"note", "s.note", DB_COL_TEXT, NULL, NULL},
    {"in_sync", "s.in_sync", DB_COL_BOOL, NULL, NULL},
    {"start_time", "s.start_time", DB_COL_TIME, NULL, NULL},
    {"end_time", "s.end_time", DB_COL_TIME, NULL, NULL},
    {"create_time", "s.create_time", DB_COL_TIME, NULL, NULL},
    {"update_time", "s.update_time", DB_COL_TIME, NULL, NULL},
    {"version", "s.version", DB_COL_INT, NULL, NULL},
    /* A customer's own description of it (migration 0014 indexes the text). */
    {"customer_description",
     "EXISTS (SELECT 1 FROM subscription_customer_descriptions cd "
     "WHERE cd.subscription_id = s.subscription_id AND cd.description = $?)",
     DB_COL_MATCH, NULL, NULL},
    /* A field of one of its own blocks has this value (0014 indexes a 200-character
     * prefix; the whole value is compared after it). */
    {"field_value",
     "EXISTS (SELECT 1 FROM subscription_instance_values v JOIN subscription_instances i "
     "USING (subscription_instance_id) WHERE i.subscription_id = s.subscription_id "
     "AND left(v.value, 200) = left($?, 200) AND v.value = $?)",
     DB_COL_MATCH, NULL, NULL},
    {NULL, NULL, 0, NULL, NULL},
};

/* Sort keys (db/order_sql.h). start_time and end_time are unset before a subscription
 * starts or ends: such a subscription sorts as if the time were still to come (after every
 * set time ascending, before them descending), which an expression index of migration 0012
 * serves for the default order. status sorts in lifecycle order. */
static const db_sort_column_t sub_orders[] = {
    {"start_time", "coalesce(s.start_time, 'infinity'::timestamptz)", "timestamptz"},
    {"end_time", "coalesce(s.end_time, 'infinity'::timestamptz)", "timestamptz"},
    {"create_time", "s.create_time", "timestamptz"},
    {"update_time", "s.update_time", "timestamptz"},
    {"description", "s.description", "text"},
    {"customer_id", "s.customer_id", "text"},
    {"status",
     "array_position('{initial,provisioning,active,migrating,disabled,terminated}'::text[], "
     "s.status)",
     "int"},
    {"product", "p.name", "text"},
    {"tag", "p.tag", "text"},
    {NULL, NULL, NULL},
};

/* The FROM and WHERE clauses of a listing (filter and full-text query), with their
 * parameters. */
static orch_err_t list_where(const orch_sub_query_t *q, db_sql_t *where, orch_error_t *err)
{
    orch_err_t rc;

    db_sql_append(where, "FROM subscriptions s JOIN products p USING (product_id) WHERE true");
    rc = db_filter_compile(q->filter, sub_columns, where, err);
    if (rc)
        return rc;
    if (q->query && *q->query) {
        int n = db_sql_param(where, q->query);
        db_sql_append(where, " AND s.search_vector @@ websearch_to_tsquery('simple', $%d)", n);
    }
    return ORCH_OK;
}

/* The ids of one page: keyset on (sort keys, id) after pos (NULL = from the start), one
 * more row than asked to know if more follow; then page->next_token (bound to binding).
 * page->ids gets page_size ids at most, page->n their number; *more whether more follow. */
static orch_err_t list_page_ids(db_conn_t *c, const db_sql_t *where, const db_order_t *order,
                                const char *pos, const char *binding, int limit,
                                orch_sub_id_page_t *page, bool *more, orch_error_t *err)
{
    db_sql_t sql;
    PGresult *res = NULL;
    orch_err_t rc = ORCH_OK;
    int rows, take;

    *more = false;
    db_sql_init(&sql);
    db_sql_append(&sql, "SELECT s.subscription_id");
    db_order_select(&sql, order);
    db_sql_append(&sql, " %s", where->text);
    for (int i = 0; i < where->nparams; i++) /* the same numbers: sql had none before */
        db_sql_param(&sql, where->params[i]);
    rc = db_order_page(&sql, order, pos, limit, err);
    if (rc)
        goto out;
    if (sql.overflow) {
        rc = orch_error_invalid(err, "filter", "has too many values");
        goto out;
    }
    rc = db_execp(c, sql.text, sql.nparams, (const char *const *)sql.params, &res, err);
    if (rc)
        goto out;
    rows = PQntuples(res);
    take = rows > limit ? limit : rows;
    page->ids = orch_calloc((size_t)take + 1, sizeof(*page->ids));
    for (int i = 0; i < take; i++)
        snprintf(page->ids[i], sizeof(page->ids[i]), "%s", PQgetvalue(res, i, 0));
    page->n = (size_t)take;
    if (rows > limit) {
        *more = true;
        page->next_token = db__order_token(res, take - 1, 1, order, page->ids[take - 1], binding);
    }
out:
    PQclear(res);
    db_sql_cleanup(&sql);
    return rc;
}

/* The stamps of the page's subscriptions, in one indexed statement (consistency STRONG).
 * One deleted since the page was read keeps "". */
static orch_err_t list_stamps(db_conn_t *c, orch_sub_id_page_t *page, orch_error_t *err)
{
    const char **ids = orch_calloc(page->n + 1, sizeof(char *));
    char *arr;
    const char *p[1];
    PGresult *res = NULL;
    orch_err_t rc;

    page->stamps = orch_calloc(page->n + 1, sizeof(*page->stamps));
    if (page->n == 0) {
        free(ids);
        return ORCH_OK;
    }
    for (size_t i = 0; i < page->n; i++)
        ids[i] = page->ids[i];
    arr = db__array(ids, page->n);
    p[0] = arr;
    rc = db_execp_generic(
        c,
        "SELECT s.subscription_id::text, " STAMP("s") " FROM subscriptions s "
                                                      "WHERE s.subscription_id = ANY($1::uuid[])",
        1, p, &res, err);
    for (int r = 0; !rc && r < PQntuples(res); r++) {
        int i = find_index(ids, page->n, PQgetvalue(res, r, 0));
        if (i >= 0)
            snprintf(page->stamps[i], sizeof(page->stamps[i]), "%s", PQgetvalue(res, r, 1));
    }
    PQclear(res);
    free(arr);
    free(ids);
    return rc;
}

/* The page's ids on c: the page statement, then the count. A first page that holds every
 * match needs no count: its length is the exact total. */
static orch_err_t list_ids_on(db_conn_t *c, const orch_sub_query_t *q, bool with_stamps,
                              orch_sub_id_page_t *page, orch_error_t *err)
{
    db_sql_t where;
    db_order_t order;
    char *binding = NULL, *pos = NULL;
    bool more = false;
    orch_err_t rc;

    memset(page, 0, sizeof(*page));
    db_sql_init(&where);
    rc = db_order_parse(q->order_by, "start_time desc", sub_orders, "s.subscription_id", &order,
                        err);
    if (rc)
        goto out;
    binding = orch_asprintf("%s\n%s\n%s", q->filter ? q->filter : "", q->query ? q->query : "",
                            order.canonical);
    rc = orch_page_token_parse(q->page_token, binding, &pos, err);
    if (rc)
        goto out;
    rc = list_where(q, &where, err);
    if (rc)
        goto out;
    rc = list_page_ids(c, &where, &order, pos, binding, q->page_size, page, &more, err);
    if (rc)
        goto out;
    if ((!pos && !more) || q->no_total)
        page->total = (long)page->n;
    else {
        long long total = 0;
        rc = db__count(c, &where, DB_COUNT_EXACT_UP_TO, &total, &page->total_is_estimate, err);
        page->total = (long)total;
    }
    if (!rc && with_stamps)
        rc = list_stamps(c, page, err);
out:
    if (rc)
        orch_sub_id_page_cleanup(page);
    db_sql_cleanup(&where);
    free(binding);
    free(pos);
    return rc;
}

orch_err_t db__sub_list_ids(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const orch_sub_query_t *q, bool with_stamps, orch_sub_id_page_t *page,
                            orch_error_t *err)
{
    db__no_tx(tx);
    db_conn_ref_t r = {0};
    orch_err_t rc;

    memset(page, 0, sizeof(*page));
    rc = db__conn_get(st, NULL, ctx, &r, err);
    if (rc)
        return rc;
    rc = list_ids_on(r.c, q, with_stamps, page, err);
    db__conn_put(&r);
    return rc;
}

orch_err_t db__sub_list(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                        const orch_catalog_t *cat, const orch_sub_query_t *q, orch_sub_page_t *page,
                        orch_error_t *err)
{
    db__no_tx(tx);
    db_conn_ref_t r = {0};
    orch_sub_id_page_t ip;
    const char **ids = NULL;
    orch_err_t rc;

    memset(page, 0, sizeof(*page));
    memset(&ip, 0, sizeof(ip));
    rc = db__conn_get(st, NULL, ctx, &r, err);
    if (rc)
        return rc;
    rc = list_ids_on(r.c, q, false, &ip, err);
    if (rc)
        goto out;
    page->total = ip.total;
    page->total_is_estimate = ip.total_is_estimate;
    page->next_token = ip.next_token;
    ip.next_token = NULL;
    /* The subscriptions themselves, in one statement for the page. */
    ids = orch_calloc(ip.n + 1, sizeof(char *));
    for (size_t i = 0; i < ip.n; i++)
        ids[i] = ip.ids[i];
    page->n = ip.n;
    page->items = orch_calloc(ip.n + 1, sizeof(orch_subscription_t *));
    rc = load_many(r.c, cat, ids, page->n, q->full, false, page->items, NULL, err);
    if (!rc) {
        /* A row deleted between the two reads leaves a hole: close it. */
        size_t k = 0;
        for (size_t i = 0; i < page->n; i++)
            if (page->items[i])
                page->items[k++] = page->items[i];
        page->n = k;
    }
out:
    if (rc)
        orch_sub_page_cleanup(page);
    orch_sub_id_page_cleanup(&ip);
    free(ids);
    db__conn_put(&r);
    return rc;
}

/* ---- the rest ----------------------------------------------------------------------- */

orch_err_t db__sub_count_unfinished(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                    const char *subscription_id, long *n, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    const char *p[1] = {subscription_id};
    long long count = 0;
    orch_err_t rc =
        db__exec_ll(tx->conn,
                    "SELECT count(*) FROM processes_subscriptions ps "
                    "JOIN processes pr USING (process_id) WHERE ps.subscription_id = $1 "
                    "AND NOT pr.is_task AND pr.last_status NOT IN ('completed', 'aborted')",
                    1, p, &count, err);
    *n = (long)count;
    return rc;
}

orch_err_t db__sub_set_metadata(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                const char *subscription_id, const json_t *metadata,
                                int64_t *version, orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    char *meta = json_dumps(metadata, JSON_COMPACT);
    const char *p[3] = {subscription_id, meta ? meta : "{}", DB_INT(*version)};
    orch_err_t rc;

    db__tx_changed(tx, subscription_id);
    rc = db_execp(tx->conn,
                  "UPDATE subscription_metadata SET metadata = $2::jsonb, version = version + 1, "
                  "update_time = now() WHERE subscription_id = $1 AND version = $3 "
                  "RETURNING version",
                  3, p, &res, err);
    free(meta);
    if (rc)
        return rc;
    if (PQntuples(res) != 1)
        rc = orch_error_set(err, ORCH_ABORTED, "VERSION_CONFLICT",
                            "the metadata of subscription %s changed since version %lld; read it "
                            "again and retry",
                            subscription_id, (long long)*version);
    else
        *version = db__llv(res, 0, 0);
    PQclear(res);
    return rc;
}

static void cd_from_row(PGresult *res, orch_customer_description_t *out)
{
    snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(res, 0, 0));
    out->customer_id = orch_strdup(PQgetvalue(res, 0, 1));
    out->description = orch_strdup(PQgetvalue(res, 0, 2));
    out->version = db__llv(res, 0, 3);
    out->create_time_us = db__llv(res, 0, 4);
    out->update_time_us = db__llv(res, 0, 5);
}

// clang-format off
#define CD_COLS                                                                                \
    "customer_description_id, customer_id, description, version, " US("create_time") ", " US(  \
        "update_time")
// clang-format on

orch_err_t db__cd_create(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                         const char *subscription_id, const char *customer_id,
                         const char *description, orch_customer_description_t *out,
                         orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    const char *p[3] = {subscription_id, customer_id, description};
    orch_err_t rc;
    db__tx_changed(tx, subscription_id);
    rc = db_execp(tx->conn,
                  "INSERT INTO subscription_customer_descriptions (subscription_id, "
                  "customer_id, description) VALUES ($1, $2, $3) RETURNING " CD_COLS,
                  3, p, &res, err);
    memset(out, 0, sizeof(*out));
    if (rc == ORCH_ALREADY_EXISTS)
        return orch_error_set(err, ORCH_ALREADY_EXISTS, "CUSTOMER_DESCRIPTION_EXISTS",
                              "customer %s already has a description of subscription %s; "
                              "update it instead",
                              customer_id, subscription_id);
    if (rc == ORCH_FAILED_PRECONDITION)
        return sub_not_found(err, subscription_id);
    if (rc)
        return rc;
    cd_from_row(res, out);
    PQclear(res);
    return ORCH_OK;
}

orch_err_t db__cd_get(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                      const char *subscription_id, const char *customer_id,
                      orch_customer_description_t *out, orch_error_t *err)
{
    db__no_tx(tx);
    PGresult *res = NULL;
    const char *p[2] = {subscription_id, customer_id};
    orch_err_t rc;

    memset(out, 0, sizeof(*out));
    rc = db__query(st, NULL, ctx,
                   "SELECT " CD_COLS " FROM subscription_customer_descriptions "
                   "WHERE subscription_id = $1 AND customer_id = $2",
                   2, p, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) == 1)
        cd_from_row(res, out);
    else
        rc = orch_error_set(err, ORCH_NOT_FOUND, "CUSTOMER_DESCRIPTION_NOT_FOUND",
                            "customer %s has no description of subscription %s", customer_id,
                            subscription_id);
    PQclear(res);
    return rc;
}

orch_err_t db__cd_update(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                         const char *subscription_id, const char *customer_id,
                         const char *description, int64_t version, orch_customer_description_t *out,
                         orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    PGresult *res = NULL;
    const char *p[4] = {subscription_id, customer_id, description, DB_INT(version)};
    orch_err_t rc;

    memset(out, 0, sizeof(*out));
    db__tx_changed(tx, subscription_id);
    rc = db_execp(tx->conn,
                  "UPDATE subscription_customer_descriptions SET description = $3, "
                  "version = version + 1, update_time = now() "
                  "WHERE subscription_id = $1 AND customer_id = $2 AND ($4 = 0 OR version = $4) "
                  "RETURNING " CD_COLS,
                  4, p, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) == 1) {
        cd_from_row(res, out);
        PQclear(res);
        return ORCH_OK;
    }
    PQclear(res);
    rc = db_execp(tx->conn,
                  "SELECT version FROM subscription_customer_descriptions "
                  "WHERE subscription_id = $1 AND customer_id = $2",
                  2, p, &res, err);
    if (rc)
        return rc;
    if (PQntuples(res) == 0)
        rc = orch_error_set(err, ORCH_NOT_FOUND, "CUSTOMER_DESCRIPTION_NOT_FOUND",
                            "customer %s has no description of subscription %s", customer_id,
                            subscription_id);
    else
        rc = orch_error_set(err, ORCH_ABORTED, "VERSION_CONFLICT",
                            "the description is at version %s, not %lld; read it again and retry",
                            PQgetvalue(res, 0, 0), (long long)version);
    PQclear(res);
    return rc;
}

orch_err_t db__cd_delete(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                         const char *subscription_id, const char *customer_id, int64_t version,
                         orch_error_t *err)
{
    db__in_tx(st, tx, ctx);
    orch_customer_description_t cur;
    const char *p[3] = {subscription_id, customer_id, DB_INT(version)};
    bool one;
    orch_err_t rc;

    db__tx_changed(tx, subscription_id);
    rc = db__exec_one(tx->conn,
                      "DELETE FROM subscription_customer_descriptions WHERE subscription_id = $1 "
                      "AND customer_id = $2 AND ($3 = 0 OR version = $3)",
                      3, p, &one, err);
    if (rc || one)
        return rc;
    /* Nothing deleted: absent, or another version. */
    memset(&cur, 0, sizeof(cur));
    rc = db__cd_update(st, tx, ctx, subscription_id, customer_id, "", -1, &cur, err);
    orch_customer_description_cleanup(&cur);
    return rc;
}
