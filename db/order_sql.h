/* The shared ordering of List calls: an order_by text ("start_time desc, description") parsed
 * against a list's sortable columns into SQL ORDER BY keys, and keyset paging over them (the
 * sort values of a page's last row plus the row's unique id; no OFFSET). Every List that
 * orders by more than its id uses it, so order_by means the same everywhere. */
#ifndef DB_ORDER_SQL_H
#define DB_ORDER_SQL_H

#include <stdbool.h>

#include "base/errors.h"
#include "db/sql.h"

/* One sortable field of a list. */
typedef struct db_sort_column {
    const char *field; /* name in order_by, e.g. "start_time" */
    /* SQL expression that is never NULL (coalesce a nullable column to a value that sorts
     * where NULL should), so that the keyset comparison "after (v1, v2, id)" is exact. */
    const char *sql;
    const char *cast; /* the type its text form is cast back to: "timestamptz", "text" */
} db_sort_column_t;

#define DB_ORDER_MAX_KEYS 5

/* A parsed ordering: keys in order, then the id column that breaks ties (in the direction
 * of the first key). */
typedef struct db_order {
    const db_sort_column_t *keys[DB_ORDER_MAX_KEYS]; /* borrowed from the column table */
    bool desc[DB_ORDER_MAX_KEYS];
    int n;
    const char *id_sql; /* borrowed: the unique tie-breaker, e.g. "s.subscription_id" */
    /* The normal form ("start_time desc, description asc"): two spellings of one ordering
     * share it, so a page token binds to the ordering, not to its spelling. */
    char canonical[256];
} db_order_t;

/* Parses order_by (NULL or blank: default_order, which must parse) against cols (ended by a
 * row with field == NULL): comma-separated fields, each optionally followed by "asc" or
 * "desc". id_sql names the tie-breaker (uuid). INVALID_ARGUMENT on "order_by" for an unknown
 * field (the message lists the known ones), a field named twice, more than
 * DB_ORDER_MAX_KEYS fields, or anything else that is not such a list. */
orch_err_t db_order_parse(const char *order_by, const char *default_order,
                          const db_sort_column_t *cols, const char *id_sql, db_order_t *out,
                          orch_error_t *err);

/* Appends ", (key1)::text, (key2)::text, ..." for a SELECT list: the values a page's last
 * row gives to db_order_position. */
void db_order_select(db_sql_t *q, const db_order_t *o);

/* Appends " AND (<the row comes after position>)" with the position's values as
 * parameters. position is what db_order_position made. INVALID_ARGUMENT on "page_token"
 * when it does not fit the ordering. */
orch_err_t db_order_after(db_sql_t *q, const db_order_t *o, const char *position,
                          orch_error_t *err);

/* Appends " ORDER BY key1 DESC, key2 ASC, ..., id DESC". */
void db_order_by(db_sql_t *q, const db_order_t *o);

/* Ends a keyset page's statement: the rows after position (db_order_after; NULL from the
 * start), in order, at most limit + 1 of them, the one more telling whether more follow.
 * Errors as db_order_after. */
orch_err_t db_order_page(db_sql_t *q, const db_order_t *o, const char *position, int limit,
                         orch_error_t *err);

/* The position after a row: its o->n key values (text, as db_order_select gave them) and
 * its id. Any byte may occur in a value. Caller frees. */
char *db_order_position(const db_order_t *o, const char *const *values, const char *id);

#endif
