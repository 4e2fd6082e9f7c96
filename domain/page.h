/* Opaque page tokens. A token carries a position and a hash of the filter and order it
 * was made for, with a check value, so that a tampered token or one reused with another
 * filter is refused (INVALID_ARGUMENT on "page_token") instead of silently giving a wrong
 * page. Tokens are not secrets: the check detects edits, it does not authenticate. */
#ifndef ORCH_PAGE_H
#define ORCH_PAGE_H

#include <stdint.h>

#include "base/errors.h"

#define ORCH_PAGE_SIZE_DEFAULT 50
#define ORCH_PAGE_SIZE_MAX 500

/* Clamps a requested page size: 0 -> default, > max -> max, < 0 -> INVALID_ARGUMENT. */
orch_err_t orch_page_size(int requested, int *out, orch_error_t *err);

/* binding: the filter text and order the token is valid for. Caller frees the result. */
char *orch_page_token_make(const char *binding, const char *position);

/* Empty or NULL token -> *position = NULL (first page). Otherwise verifies and returns the
 * position (caller frees). */
orch_err_t orch_page_token_parse(const char *token, const char *binding, char **position,
                                 orch_error_t *err);

#endif
