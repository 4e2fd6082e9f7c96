/* Filter tree -> SQL. Values always travel as parameters, cast to the column's type. */
#include "db/filter_sql.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/filter.h"
#include "domain/ids.h"

static const db_filter_column_t *column(const db_filter_column_t *cols, const char *field)
{
    for (const db_filter_column_t *c = cols; c->field; c++)
        if (strcmp(c->field, field) == 0)
            return c;
    return NULL;
}

static const char *sql_op(orch_filter_op_t op)
{
    switch (op) {
    case ORCH_FILTER_EQ:
        return "=";
    case ORCH_FILTER_NE:
        return "<>";
    case ORCH_FILTER_LT:
        return "<";
    case ORCH_FILTER_LE:
        return "<=";
    case ORCH_FILTER_GT:
        return ">";
    case ORCH_FILTER_GE:
        return ">=";
    case ORCH_FILTER_HAS:
        break;
    }
    return "=";
}

static bool is_int(const char *v)
{
    char *end;
    if (!*v)
        return false;
    (void)strtoll(v, &end, 10);
    return *end == '\0';
}

/* A light RFC 3339 check; PostgreSQL parses the value itself. */
static bool is_time(const char *v)
{
    return strlen(v) >= 20 && v[4] == '-' && v[7] == '-' && (v[10] == 'T' || v[10] == 't');
}

static orch_err_t bad(orch_error_t *err, const char *field, const char *value, const char *why)
{
    return orch_error_invalid(err, "filter", "field '%s': '%.64s' %s", field, value, why);
}

/* `id = "1a2b3c4d*"`: the ids that start with those hex digits (hyphens optional), as the
 * range of every UUID with that start, "BETWEEN 1a2b3c4d-0000-... AND 1a2b3c4d-ffff-...":
 * one range scan of the id's index, where LIKE on its text could use none. */
static orch_err_t uuid_prefix(const db_filter_column_t *c, const char *field, const char *value,
                              orch_filter_op_t op, db_sql_t *q, orch_error_t *err)
{
    char hex[33], lo[37], hi[37];
    size_t n = 0, len = strlen(value) - 1; /* without the '*' */
    int plo, phi;

    for (size_t i = 0; i < len; i++) {
        char ch = value[i];
        if (ch == '-')
            continue;
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')) || n == 32)
            return bad(err, field, value,
                       "is not the start of a lower-case UUID followed by '*' (e.g. "
                       "\"1a2b3c4d*\")");
        hex[n++] = ch;
    }
    if (n == 0)
        return bad(err, field, value, "needs at least one hex digit before '*'");
    if (op != ORCH_FILTER_EQ && op != ORCH_FILTER_NE)
        return bad(err, field, value, "can only be compared with = or !=");
    for (size_t i = 0, h = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            lo[i] = hi[i] = '-';
            continue;
        }
        lo[i] = h < n ? hex[h] : '0';
        hi[i] = h < n ? hex[h] : 'f';
        h++;
    }
    lo[36] = hi[36] = '\0';
    plo = db_sql_param(q, lo);
    phi = db_sql_param(q, hi);
    if (op == ORCH_FILTER_NE)
        db_sql_append(q, "(NOT (%s BETWEEN $%d::uuid AND $%d::uuid))", c->sql, plo, phi);
    else
        db_sql_append(q, "(%s BETWEEN $%d::uuid AND $%d::uuid)", c->sql, plo, phi);
    return ORCH_OK;
}

/* `column op $n`, the value a parameter cast to the column's SQL type (cast "" = text). */
static orch_err_t compare(const db_filter_column_t *c, const char *value, orch_filter_op_t op,
                          const char *cast, db_sql_t *q)
{
    int p = db_sql_param(q, value);
    db_sql_append(q, "(%s %s $%d%s)", c->sql, sql_op(op), p, cast);
    return ORCH_OK;
}

static bool is_equality(orch_filter_op_t op)
{
    return op == ORCH_FILTER_EQ || op == ORCH_FILTER_NE;
}

/* `field: value`: the text contains value, case-insensitively; "*" matches any text. */
static orch_err_t contains(const db_filter_column_t *c, const char *value, db_sql_t *q)
{
    /* Escape LIKE's wildcards: ':' means "contains", literally. */
    char *esc = orch_malloc(strlen(value) * 2 + 3), *o = esc;
    int p;

    *o++ = '%';
    for (const char *v = value; *v; v++) {
        if (*v == '%' || *v == '_' || *v == '\\')
            *o++ = '\\';
        *o++ = *v;
    }
    *o++ = '%';
    *o = '\0';
    p = db_sql_param(q, strcmp(value, "*") == 0 ? "%" : esc);
    free(esc);
    db_sql_append(q, "(%s ILIKE $%d)", c->sql, p);
    return ORCH_OK;
}

/* A template (a DB_COL_MATCH column's sql, or a column's eq_sql) with every "$?" replaced
 * by the value's parameter. */
static orch_err_t match_template(const char *tmpl, const char *value, db_sql_t *q)
{
    char num[16];
    int p = db_sql_param(q, value);

    snprintf(num, sizeof(num), "$%d", p);
    db_sql_append(q, "(");
    for (const char *s = tmpl; *s;) {
        const char *hole = strstr(s, "$?");
        size_t k = hole ? (size_t)(hole - s) : strlen(s);
        db_sql_append(q, "%.*s%s", (int)k, s, hole ? num : "");
        s += k + (hole ? 2 : 0);
    }
    db_sql_append(q, ")");
    return ORCH_OK;
}

/* A DB_COL_ENUM value must be one of the column's choices; the error lists them. */
static orch_err_t check_choice(const db_filter_column_t *c, const char *field, const char *value,
                               orch_error_t *err)
{
    bool ok = false;
    char list[256] = "", why[320];

    for (const char *const *ch = c->choices; ch && *ch; ch++) {
        ok = ok || strcmp(*ch, value) == 0;
        if (strlen(list) + strlen(*ch) + 3 < sizeof(list)) {
            if (*list)
                strcat(list, ", ");
            strcat(list, *ch);
        }
    }
    if (ok)
        return ORCH_OK;
    snprintf(why, sizeof(why), "is not one of: %s", list);
    return bad(err, field, value, why);
}

static bool is_bool(const char *v)
{
    return strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
}

/* How a value is checked and compared, per column type, for the types whose comparison is
 * the plain `sql op $n<cast>`: one row each instead of one hand-written case each, so that
 * the check, its message and the cast of a type stand together. valid NULL: any value
 * (ENUM checks its choices apart); eq_only: only = and != make sense. */
typedef struct {
    bool (*valid)(const char *value);
    const char *why; /* what a value failing valid is not */
    bool eq_only;
    const char *cast;
} typed_compare_t;

static const typed_compare_t typed[] = {
    [DB_COL_INT] = {is_int, "is not a whole number", false, "::bigint"},
    [DB_COL_BOOL] = {is_bool, "is not true or false", true, "::boolean"},
    [DB_COL_TIME] = {is_time, "is not an RFC 3339 time such as 2026-01-31T12:00:00Z", false,
                     "::timestamptz"},
    [DB_COL_UUID] = {orch_uuid_valid, "is not a lower-case UUID", true, "::uuid"},
    [DB_COL_ENUM] = {NULL, NULL, true, ""},
};

/* One comparison `field op value`: the value checked against the column's type, then the
 * SQL condition. */
static orch_err_t compile_comparison(const orch_filter_node_t *n, const db_filter_column_t *cols,
                                     db_sql_t *q, orch_error_t *err)
{
    const char *field = orch_filter_node_field(n), *value = orch_filter_node_value(n);
    orch_filter_op_t op = orch_filter_node_op(n);
    const db_filter_column_t *c = column(cols, field);
    orch_err_t rc;

    orch_assert(c != NULL); /* the parser only accepts known fields */
    if (op == ORCH_FILTER_HAS && c->type != DB_COL_TEXT)
        return bad(err, field, value, "cannot be matched with ':' (only text fields can)");
    switch (c->type) {
    case DB_COL_TEXT:
        if (op == ORCH_FILTER_HAS)
            return contains(c, value, q);
        if (op == ORCH_FILTER_EQ && c->eq_sql)
            return match_template(c->eq_sql, value, q);
        return compare(c, value, op, "", q);
    case DB_COL_MATCH:
        if (op != ORCH_FILTER_EQ)
            return bad(err, field, value, "can only be compared with =");
        return match_template(c->sql, value, q);
    case DB_COL_UUID:
        if (*value && value[strlen(value) - 1] == '*')
            return uuid_prefix(c, field, value, op, q, err);
        break;
    case DB_COL_ENUM:
        rc = check_choice(c, field, value, err);
        if (rc)
            return rc;
        break;
    case DB_COL_INT:
    case DB_COL_BOOL:
    case DB_COL_TIME:
        break;
    }
    const typed_compare_t *t = &typed[c->type];
    if (t->valid && !t->valid(value))
        return bad(err, field, value, t->why);
    if (t->eq_only && !is_equality(op))
        return bad(err, field, value, "can only be compared with = or !=");
    return compare(c, value, op, t->cast, q);
}

/* A node of the filter tree: AND and OR of two subtrees, NOT of one (an unknown, NULL,
 * comparison counts as false under NOT), or a comparison. */
static orch_err_t compile(const orch_filter_node_t *n, const db_filter_column_t *cols, db_sql_t *q,
                          orch_error_t *err)
{
    orch_err_t rc;

    switch (orch_filter_node_kind(n)) {
    case ORCH_FILTER_AND:
    case ORCH_FILTER_OR:
        db_sql_append(q, "(");
        rc = compile(orch_filter_node_left(n), cols, q, err);
        if (rc)
            return rc;
        db_sql_append(q, orch_filter_node_kind(n) == ORCH_FILTER_AND ? " AND " : " OR ");
        rc = compile(orch_filter_node_right(n), cols, q, err);
        if (rc)
            return rc;
        db_sql_append(q, ")");
        return ORCH_OK;
    case ORCH_FILTER_NOT:
        db_sql_append(q, "NOT coalesce(");
        rc = compile(orch_filter_node_left(n), cols, q, err);
        if (rc)
            return rc;
        db_sql_append(q, ", false)");
        return ORCH_OK;
    case ORCH_FILTER_CMP:
        break;
    }
    return compile_comparison(n, cols, q, err);
}

orch_err_t db_filter_compile(const char *filter, const db_filter_column_t *cols, db_sql_t *q,
                             orch_error_t *err)
{
    const char *names[64];
    orch_filter_t *f = NULL;
    orch_err_t rc;
    int n = 0;

    for (const db_filter_column_t *c = cols; c->field && n < 63; c++)
        names[n++] = c->field;
    names[n] = NULL;
    rc = orch_filter_parse(filter, names, &f, err);
    if (rc)
        return rc;
    if (orch_filter_root(f)) {
        db_sql_append(q, " AND (");
        rc = compile(orch_filter_root(f), cols, q, err);
        db_sql_append(q, ")");
        if (!rc && q->overflow)
            rc = orch_error_invalid(err, "filter", "has more than %d values", DB_SQL_MAX_PARAMS);
    }
    orch_filter_free(f);
    return rc;
}
