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
    va_start(ap, fmt);
    orch_vappendf(&q->text, &q->len, &q->cap, fmt, ap);
    va_end(ap);
}

const char *db_int_text(db_int_text_t *buf, long long v)
{
    snprintf(buf->s, sizeof(buf->s), "%lld", v);
    return buf->s;
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
