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

#include "errors.h"

typedef struct orch_filter orch_filter_t; /* opaque parsed filter */

/* Looks up a field of obj; returns its value as a string (borrowed), or NULL if unset. */
typedef const char *(*orch_filter_get_fn)(const void *obj, const char *field);

/* Parses text (NULL or blank = match everything) against the NULL-terminated list of
 * allowed field names. *out: caller frees with orch_filter_free. */
orch_err_t orch_filter_parse(const char *text, const char *const *fields, orch_filter_t **out,
                             orch_error_t *err);
void orch_filter_free(orch_filter_t *f);

bool orch_filter_match(const orch_filter_t *f, orch_filter_get_fn get, const void *obj);

#endif
