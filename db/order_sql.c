/* Orderings and keyset pages for List calls (db/order_sql.h). */
#include "db/order_sql.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

/* The separator between a position's values, and the escape that lets a value hold it. */
#define SEP '\x1f'
#define ESC '\\'

static const db_sort_column_t *find(const db_sort_column_t *cols, const char *name, size_t len)
{
    for (const db_sort_column_t *c = cols; c->field; c++)
        if (strlen(c->field) == len && strncmp(c->field, name, len) == 0)
            return c;
    return NULL;
}

static orch_err_t unknown(const db_sort_column_t *cols, const char *name, size_t len,
                          orch_error_t *err)
{
    char known[256] = "";
    size_t used = 0;
    for (const db_sort_column_t *c = cols; c->field && used < sizeof(known); c++)
        used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s", used ? ", " : "",
                                 c->field);
    return orch_error_invalid(err, "order_by", "cannot order by '%.*s'; use %s", (int)len, name,
                              known);
}

static orch_err_t parse(const char *text, const db_sort_column_t *cols, db_order_t *o,
                        orch_error_t *err)
{
    const char *p = text;
    size_t used = 0;

    o->n = 0;
    o->canonical[0] = '\0';
    for (;;) {
        const char *name, *dir;
        size_t nlen, dlen;
        const db_sort_column_t *c;
        bool desc = false;

        while (isspace((unsigned char)*p))
            p++;
        name = p;
        while (*p && (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_'))
            p++;
        nlen = (size_t)(p - name);
        while (isspace((unsigned char)*p))
            p++;
        dir = p;
        while (isalpha((unsigned char)*p))
            p++;
        dlen = (size_t)(p - dir);
        while (isspace((unsigned char)*p))
            p++;
        if (nlen == 0 || (*p && *p != ','))
            return orch_error_invalid(err, "order_by",
                                      "'%.64s' is not an ordering: write fields separated by "
                                      "commas, each optionally followed by \"desc\" (e.g. "
                                      "\"start_time desc, description\")",
                                      text);
        if (dlen == 4 && strncmp(dir, "desc", 4) == 0)
            desc = true;
        else if (dlen != 0 && !(dlen == 3 && strncmp(dir, "asc", 3) == 0))
            return orch_error_invalid(err, "order_by",
                                      "'%.*s' after '%.*s' is not a direction: write \"desc\", "
                                      "\"asc\" or nothing",
                                      (int)dlen, dir, (int)nlen, name);
        c = find(cols, name, nlen);
        if (!c)
            return unknown(cols, name, nlen, err);
        for (int i = 0; i < o->n; i++)
            if (o->keys[i] == c)
                return orch_error_invalid(err, "order_by", "'%s' is named twice", c->field);
        if (o->n == DB_ORDER_MAX_KEYS)
            return orch_error_invalid(err, "order_by", "order by at most %d fields",
                                      DB_ORDER_MAX_KEYS);
        o->keys[o->n] = c;
        o->desc[o->n++] = desc;
        used += (size_t)snprintf(o->canonical + used, sizeof(o->canonical) - used, "%s%s %s",
                                 used ? ", " : "", c->field, desc ? "desc" : "asc");
        if (used >= sizeof(o->canonical))
            used = sizeof(o->canonical) - 1;
        if (!*p)
            return ORCH_OK;
        p++; /* the comma */
    }
}

orch_err_t db_order_parse(const char *order_by, const char *default_order,
                          const db_sort_column_t *cols, const char *id_sql, db_order_t *out,
                          orch_error_t *err)
{
    const char *text = order_by;
    memset(out, 0, sizeof(*out));
    out->id_sql = id_sql;
    while (text && isspace((unsigned char)*text))
        text++;
    if (!text || !*text)
        text = default_order;
    if (strlen(text) > 512)
        return orch_error_invalid(err, "order_by", "is too long (at most 512 characters)");
    return parse(text, cols, out, err);
}

void db_order_select(db_sql_t *q, const db_order_t *o)
{
    for (int i = 0; i < o->n; i++)
        db_sql_append(q, ", (%s)::text", o->keys[i]->sql);
}

/* Splits position into at most max values (unescaped, in place). Returns how many, or -1. */
static int split(char *position, char **vals, int max)
{
    int n = 0;
    char *r = position, *w = position;
    vals[n++] = w;
    while (*r) {
        if (*r == ESC) {
            if (r[1] == 's')
                *w++ = SEP;
            else if (r[1] == ESC)
                *w++ = ESC;
            else
                return -1;
            r += 2;
        } else if (*r == SEP) {
            *w++ = '\0';
            r++;
            if (n == max)
                return -1;
            vals[n++] = w;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return n;
}

orch_err_t db_order_after(db_sql_t *q, const db_order_t *o, const char *position, orch_error_t *err)
{
    char *copy = orch_strdup(position), *vals[DB_ORDER_MAX_KEYS + 1];
    int params[DB_ORDER_MAX_KEYS + 1], nv = split(copy, vals, DB_ORDER_MAX_KEYS + 1);
    bool same = true;

    if (nv != o->n + 1) {
        free(copy);
        return orch_error_invalid(err, "page_token", "does not fit this list's ordering");
    }
    for (int i = 0; i < nv; i++)
        params[i] = db_sql_param(q, vals[i]);
    free(copy);
    for (int i = 1; i < o->n; i++)
        same = same && o->desc[i] == o->desc[0];
    if (same) {
        /* One direction: a row comparison, which an index on (keys..., id) serves. */
        db_sql_append(q, " AND ((");
        for (int i = 0; i < o->n; i++)
            db_sql_append(q, "%s, ", o->keys[i]->sql);
        db_sql_append(q, "%s) %s (", o->id_sql, o->desc[0] ? "<" : ">");
        for (int i = 0; i < o->n; i++)
            db_sql_append(q, "$%d::%s, ", params[i], o->keys[i]->cast);
        db_sql_append(q, "$%d::uuid))", params[o->n]);
        return ORCH_OK;
    }
    /* Mixed directions: (k1 after v1) OR (k1 = v1 AND k2 after v2) OR ... OR (all equal AND
     * id after the id). */
    db_sql_append(q, " AND (");
    for (int i = 0; i <= o->n; i++) {
        bool desc = i < o->n ? o->desc[i] : o->desc[0];
        db_sql_append(q, "%s(", i ? " OR " : "");
        for (int j = 0; j < i; j++)
            db_sql_append(q, "%s = $%d::%s AND ", o->keys[j]->sql, params[j], o->keys[j]->cast);
        db_sql_append(q, "%s %s $%d::%s)", i < o->n ? o->keys[i]->sql : o->id_sql, desc ? "<" : ">",
                      params[i], i < o->n ? o->keys[i]->cast : "uuid");
    }
    db_sql_append(q, ")");
    return ORCH_OK;
}

void db_order_by(db_sql_t *q, const db_order_t *o)
{
    db_sql_append(q, " ORDER BY ");
    for (int i = 0; i < o->n; i++)
        db_sql_append(q, "%s %s, ", o->keys[i]->sql, o->desc[i] ? "DESC" : "ASC");
    db_sql_append(q, "%s %s", o->id_sql, o->n && o->desc[0] ? "DESC" : "ASC");
}

orch_err_t db_order_page(db_sql_t *q, const db_order_t *o, const char *position, int limit,
                         orch_error_t *err)
{
    if (position) {
        orch_err_t rc = db_order_after(q, o, position, err);
        if (rc)
            return rc;
    }
    db_order_by(q, o);
    db_sql_append(q, " LIMIT %d", limit + 1);
    return ORCH_OK;
}

char *db_order_position(const db_order_t *o, const char *const *values, const char *id)
{
    size_t cap = strlen(id) + 1, w = 0;
    char *out;
    for (int i = 0; i < o->n; i++)
        cap += strlen(values[i]) * 2 + 1;
    out = orch_malloc(cap);
    for (int i = 0; i <= o->n; i++) {
        const char *v = i < o->n ? values[i] : id;
        if (i)
            out[w++] = SEP;
        for (; *v; v++) {
            if (*v == SEP || *v == ESC) {
                out[w++] = ESC;
                out[w++] = *v == SEP ? 's' : ESC;
            } else {
                out[w++] = *v;
            }
        }
    }
    out[w] = '\0';
    return out;
}
