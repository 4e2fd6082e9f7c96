/* A small SQL builder: statement text plus positional text parameters, so that every query
 * assembled from user input (filters, orderings, pages) stays parameterised. */
#ifndef DB_SQL_H
#define DB_SQL_H

#include <stddef.h>

#define DB_SQL_MAX_PARAMS 64

typedef struct db_sql {
    char *text; /* owned */
    size_t len, cap;
    char *params[DB_SQL_MAX_PARAMS]; /* owned copies; NULL = SQL NULL */
    int nparams;
    int overflow; /* too many parameters: the builder refuses further ones */
} db_sql_t;

void db_sql_init(db_sql_t *q);
void db_sql_cleanup(db_sql_t *q);
void db_sql_append(db_sql_t *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds a parameter (copied) and returns its number ($n), or 0 past DB_SQL_MAX_PARAMS. */
int db_sql_param(db_sql_t *q, const char *value);

#endif
