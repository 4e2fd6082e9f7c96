/* Small helpers every store_*.c file shares: reading column values, running a built
 * statement, and borrowing a connection for a call made outside a unit of work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "db/store_internal.h"
#include "domain/page.h"

char *db__dupv(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : orch_strdup(PQgetvalue(res, row, col));
}

long long db__llv(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool db__boolv(PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

char *db__jtext(const json_t *j)
{
    /* orch_strdup: a NULL stands for an empty object, without making one to dump. */
    return j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : orch_strdup("{}");
}

orch_err_t db__execq(db_conn_t *c, db_sql_t *q, PGresult **res, orch_error_t *err)
{
    if (q->overflow)
        return orch_error_invalid(err, "filter", "the filter has too many values");
    return db_execp(c, q->text, q->nparams, (const char *const *)q->params, res, err);
}

orch_err_t db__count(db_conn_t *c, const db_sql_t *rows, long cap, long long *total, bool *estimate,
                     orch_error_t *err)
{
    PGresult *res = NULL;
    char *sql;
    orch_err_t rc;

    *total = 0;
    *estimate = false;
    if (rows->overflow)
        return orch_error_invalid(err, "filter", "the filter has too many values");
    sql = cap > 0
              ? orch_asprintf("SELECT count(*) FROM (SELECT 1 %s LIMIT %ld) t", rows->text, cap + 1)
              : orch_asprintf("SELECT count(*) %s", rows->text);
    rc = db_execp(c, sql, rows->nparams, (const char *const *)rows->params, &res, err);
    free(sql);
    if (rc)
        goto out;
    *total = db__llv(res, 0, 0);
    if (cap <= 0 || *total <= cap)
        goto out;
    PQclear(res);
    res = NULL;
    sql = orch_asprintf("EXPLAIN (FORMAT JSON) SELECT 1 %s", rows->text);
    rc = db_execp(c, sql, rows->nparams, (const char *const *)rows->params, &res, err);
    free(sql);
    if (rc)
        goto out;
    {
        const char *plan = strstr(PQgetvalue(res, 0, 0), "\"Plan Rows\":");
        long long est = plan ? atoll(plan + 12) : 0;
        *total = est > cap ? est : cap + 1;
        *estimate = true;
    }
out:
    PQclear(res);
    return rc;
}

orch_err_t db__list_begin(db_list_t *l, const char *name, const char *filter, const char *order,
                          const char *page_token, orch_error_t *err)
{
    db_sql_init(&l->q);
    db_sql_init(&l->cq);
    l->binding = order ? orch_asprintf("%s|%s|%s", name, filter ? filter : "", order)
                       : orch_asprintf("%s|%s", name, filter ? filter : "");
    return orch_page_token_parse(page_token, l->binding, &l->pos, err);
}

orch_err_t db__list_filter(db_list_t *l, const char *filter, const db_filter_column_t *cols,
                           orch_error_t *err)
{
    orch_err_t rc = db_filter_compile(filter, cols, &l->q, err);
    return rc ? rc : db_filter_compile(filter, cols, &l->cq, err);
}

orch_err_t db__list_run(db_list_t *l, orch_store_t *st, const orch_ctx_t *ctx, int page_size,
                        orch_error_t *err)
{
    orch_err_t rc = db__conn_get(st, NULL, ctx, &l->r, err);
    if (rc)
        return rc;
    rc = db__execq(l->r.c, &l->q, &l->res, err);
    if (rc)
        return rc;
    int rows = PQntuples(l->res);
    l->take = rows > page_size ? page_size : rows;
    l->more = rows > page_size && l->take > 0;
    /* A first page with nothing after it is the whole list: its length is the count. */
    if (!l->pos && !l->more) {
        l->total = l->take;
        return ORCH_OK;
    }
    return db__count(l->r.c, &l->cq, l->count_cap, &l->total, &l->total_is_estimate, err);
}

void db__list_cleanup(db_list_t *l)
{
    PQclear(l->res);
    db__conn_put(&l->r);
    db_sql_cleanup(&l->q);
    db_sql_cleanup(&l->cq);
    free(l->pos);
    free(l->binding);
    memset(l, 0, sizeof(*l));
}

orch_err_t db__list_keyset(db_list_t *l, const char *sort, const char *id, int page_size,
                           orch_error_t *err)
{
    if (l->pos) {
        char *sep = strchr(l->pos, '\x1f');
        if (!sep)
            return orch_error_invalid(err, "page_token", "the page token does not fit this list");
        *sep = '\0';
        db_sql_append(&l->q, " AND (%s, %s) > ($%d::timestamptz, $%d::uuid)", sort, id,
                      db_sql_param(&l->q, l->pos), db_sql_param(&l->q, sep + 1));
    }
    db_sql_append(&l->q, " ORDER BY %s, %s LIMIT %d", sort, id, page_size + 1);
    return ORCH_OK;
}

char *db__keyset_token(PGresult *res, int row, int tcol, const char *binding)
{
    char *p = orch_asprintf("%s\x1f%s", PQgetvalue(res, row, tcol), PQgetvalue(res, row, 0));
    char *token = orch_page_token_make(binding, p);
    free(p);
    return token;
}

char *db__order_token(PGresult *res, int row, int kcol, const db_order_t *o, const char *id,
                      const char *binding)
{
    const char *vals[DB_ORDER_MAX_KEYS];
    for (int k = 0; k < o->n; k++)
        vals[k] = PQgetvalue(res, row, kcol + k);
    char *p = db_order_position(o, vals, id);
    char *token = orch_page_token_make(binding, p);
    free(p);
    return token;
}

orch_err_t db__exec_one(db_conn_t *c, const char *sql, int n, const char *const *params, bool *one,
                        orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc = db_execp(c, sql, n, params, &res, err);
    *one = !rc && strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return rc;
}

orch_err_t db__exec_ll(db_conn_t *c, const char *sql, int n, const char *const *params,
                       long long *v, orch_error_t *err)
{
    PGresult *res = NULL;
    orch_err_t rc = db_execp(c, sql, n, params, &res, err);
    *v = !rc && PQntuples(res) > 0 ? db__llv(res, 0, 0) : 0;
    PQclear(res);
    return rc;
}

orch_err_t db__conn_get(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, db_conn_ref_t *r,
                        orch_error_t *err)
{
    r->s = (db_store_t *)st;
    r->borrowed = tx == NULL;
    r->c = NULL;
    if (tx) {
        r->c = tx->conn;
        return ORCH_OK;
    }
    return db_pool_acquire(r->s->pool, ctx, DB_ACQUIRE_TIMEOUT_MS, &r->c, err);
}

void db__conn_put(db_conn_ref_t *r)
{
    if (r->borrowed && r->c)
        db_pool_release(r->s->pool, r->c);
    r->c = NULL;
}

orch_err_t db__query(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx, const char *sql, int n,
                     const char *const *params, PGresult **res, orch_error_t *err)
{
    db_conn_ref_t r;
    orch_err_t rc = db__conn_get(st, tx, ctx, &r, err);
    if (!rc)
        rc = db_execp(r.c, sql, n, params, res, err);
    db__conn_put(&r);
    return rc;
}

void db__ms_interval(char *buf, size_t len, long long ms)
{
    snprintf(buf, len, "%lld milliseconds", ms < 0 ? 0 : ms);
}
