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

/* A whole number as a text parameter (libpq sends every parameter as text), written into
 * buf and returned. DB_INT(v) gives it a buffer of its own, a compound literal that lives
 * until the end of the enclosing block, so it may stand in a parameter array used within
 * that block: (const char *[]){id, DB_INT(version)}. One helper instead of a char buffer
 * and an snprintf beside every statement that takes a number. */
typedef struct db_int_text {
    char s[24]; /* INT64_MIN is 20 characters */
} db_int_text_t;
const char *db_int_text(db_int_text_t *buf, long long v);
#define DB_INT(v) db_int_text(&(db_int_text_t){{0}}, (long long)(v))

#endif
