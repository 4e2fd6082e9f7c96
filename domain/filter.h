/* List filters: the subset of Google AIP-160 that every List of the API accepts.
 *
 *   expr       := term { OR term }            (OR binds tighter than AND, as in AIP-160)
 *   and        := or_expr { [AND] or_expr }    (juxtaposition means AND)
 *   unary      := [NOT | -] primary
 *   primary    := ( expr ) | field op value
 *   op         := = | != | < | <= | > | >= | :     (":" is "has": case-insensitive substring)
 *   value      := "quoted string" | bare-word
 *
 * A field must be one the list declares. Values compare as numbers when both sides are
 * numbers, as RFC 3339 times when both sides are times, otherwise as strings. Parse errors
 * are INVALID_ARGUMENT with a violation on "filter" giving the character offset. */
#ifndef ORCH_FILTER_H
#define ORCH_FILTER_H

#include <stdbool.h>

#include "base/errors.h"

typedef struct orch_filter orch_filter_t; /* opaque parsed filter */

/* Looks up a field of obj; returns its value as a string (borrowed), or NULL if unset. */
typedef const char *(*orch_filter_get_fn)(const void *obj, const char *field);

/* Parses text (NULL or blank = match everything) against the NULL-terminated list of
 * allowed field names. *out: caller frees with orch_filter_free. */
orch_err_t orch_filter_parse(const char *text, const char *const *fields, orch_filter_t **out,
                             orch_error_t *err);
void orch_filter_free(orch_filter_t *f);

bool orch_filter_match(const orch_filter_t *f, orch_filter_get_fn get, const void *obj);

/* Read-only access to the parsed tree, for compilers (db/filter_sql.c turns it into SQL). */
typedef enum {
    ORCH_FILTER_AND,
    ORCH_FILTER_OR,
    ORCH_FILTER_NOT,
    ORCH_FILTER_CMP
} orch_filter_kind_t;
typedef enum {
    ORCH_FILTER_EQ,
    ORCH_FILTER_NE,
    ORCH_FILTER_LT,
    ORCH_FILTER_LE,
    ORCH_FILTER_GT,
    ORCH_FILTER_GE,
    ORCH_FILTER_HAS,
} orch_filter_op_t;
typedef struct orch_filter_node orch_filter_node_t;

/* NULL when the filter matches everything. Borrowed from f. */
const orch_filter_node_t *orch_filter_root(const orch_filter_t *f);
orch_filter_kind_t orch_filter_node_kind(const orch_filter_node_t *n);
const orch_filter_node_t *orch_filter_node_left(const orch_filter_node_t *n);  /* AND, OR, NOT */
const orch_filter_node_t *orch_filter_node_right(const orch_filter_node_t *n); /* AND, OR */
orch_filter_op_t orch_filter_node_op(const orch_filter_node_t *n);             /* CMP */
const char *orch_filter_node_field(const orch_filter_node_t *n);               /* CMP */
const char *orch_filter_node_value(const orch_filter_node_t *n);               /* CMP */

#endif
