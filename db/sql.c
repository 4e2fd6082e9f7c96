/* The SQL builder. */
#include "db/sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

void db_sql_init(db_sql_t *q)
{
    memset(q, 0, sizeof(*q));
    q->cap = 256;
    q->text = orch_malloc(q->cap);
    q->text[0] = '\0';
}

void db_sql_cleanup(db_sql_t *q)
{
    for (int i = 0; i < q->nparams; i++)
        free(q->params[i]);
    free(q->text);
    memset(q, 0, sizeof(*q));
}

void db_sql_append(db_sql_t *q, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    while (q->len + (size_t)n + 1 > q->cap) {
        q->cap *= 2;
        q->text = orch_realloc(q->text, q->cap);
    }
    va_start(ap, fmt);
    vsnprintf(q->text + q->len, q->cap - q->len, fmt, ap);
    va_end(ap);
    q->len += (size_t)n;
}

int db_sql_param(db_sql_t *q, const char *value)
{
    if (q->nparams >= DB_SQL_MAX_PARAMS) {
        q->overflow = 1;
        return 0;
    }
    q->params[q->nparams] = value ? orch_strdup(value) : NULL;
    return ++q->nparams;
}
