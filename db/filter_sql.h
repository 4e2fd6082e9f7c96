/* The shared filter compiler: a parsed AIP-160 filter (domain/filter.h) into a
 * parameterised SQL condition over a list's columns. Every List that reads PostgreSQL uses
 * it, so the grammar means the same everywhere. */
#ifndef DB_FILTER_SQL_H
#define DB_FILTER_SQL_H

#include "base/errors.h"
#include "db/sql.h"

typedef enum {
    DB_COL_TEXT,  /* = != < <= > >= and ":" (case-insensitive substring) */
    DB_COL_INT,   /* comparisons; the value must be an integer */
    DB_COL_BOOL,  /* = != with true/false */
    DB_COL_TIME,  /* comparisons with an RFC 3339 time */
    DB_COL_UUID,  /* = != with a lower-case UUID, or its start and "*": "1a2b3c4d*" */
    DB_COL_ENUM,  /* = != with one of the column's values (choices) */
    DB_COL_MATCH, /* = only: sql is a whole condition, every "$?" in it the value (text) */
} db_col_type_t;

typedef struct db_filter_column {
    const char *field; /* name in the filter, e.g. "status" */
    const char *sql;   /* SQL expression, e.g. "s.status" */
    db_col_type_t type;
    const char *const *choices; /* DB_COL_ENUM: NULL-terminated allowed values */
    /* DB_COL_TEXT, optional (NULL: none): the whole condition for `field = value` in place of
     * "sql = $n", every "$?" in it the value (text), e.g. a foreign key compared with a
     * scalar subquery that an index on it can use. It must mean exactly "sql = value"; the
     * other operators still compare sql. */
    const char *eq_sql;
} db_filter_column_t;

/* Parses filter (NULL/blank: nothing appended) against the columns (terminated by a row
 * with field == NULL) and appends " AND (<condition>)" to q, with its values as parameters.
 * INVALID_ARGUMENT with a violation on "filter" for a syntax error (with its offset), an
 * unknown field, or a value that does not fit its column. */
orch_err_t db_filter_compile(const char *filter, const db_filter_column_t *cols, db_sql_t *q,
                             orch_error_t *err);

#endif
