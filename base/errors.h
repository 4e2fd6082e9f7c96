/* The project's error codes and the error detail that travels beside them.
 *
 * Every function that can fail returns an orch_err_t (0 is ORCH_OK) and, when given an
 * orch_error_t, fills it with a sentence a person understands, an UPPER_SNAKE reason from
 * docs/API.md and, for bad input, one violation per wrong field. server/rpc/status.c maps
 * these to gRPC status codes and google.rpc details; nothing else does. */
#ifndef ORCH_ERRORS_H
#define ORCH_ERRORS_H

#include <stdarg.h>
#include <stddef.h>

/* X(name, default reason, text) */
#define ORCH_ERRNO_MAP(X)                                                                          \
    X(OK, "", "ok")                                                                                \
    X(INVALID_ARGUMENT, "INVALID_ARGUMENT", "invalid argument")                                    \
    X(NOT_FOUND, "NOT_FOUND", "not found")                                                         \
    X(ALREADY_EXISTS, "ALREADY_EXISTS", "already exists")                                          \
    X(FAILED_PRECONDITION, "FAILED_PRECONDITION", "failed precondition")                           \
    X(ABORTED, "ABORTED", "aborted")                                                               \
    X(UNAUTHENTICATED, "UNAUTHENTICATED", "unauthenticated")                                       \
    X(PERMISSION_DENIED, "PERMISSION_DENIED", "permission denied")                                 \
    X(RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED", "resource exhausted")                              \
    X(DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", "deadline exceeded")                                 \
    X(CANCELLED, "CANCELLED", "cancelled")                                                         \
    X(UNAVAILABLE, "DATABASE_UNAVAILABLE", "unavailable")                                          \
    X(UNIMPLEMENTED, "UNIMPLEMENTED", "unimplemented")                                             \
    X(INTERNAL, "INTERNAL", "internal error")

typedef enum {
#define ORCH__ERR_ENUM(name, reason, text) ORCH_##name,
    ORCH_ERRNO_MAP(ORCH__ERR_ENUM)
#undef ORCH__ERR_ENUM
        ORCH__ERR_MAX
} orch_err_t;

#define ORCH_ERROR_MAX_VIOLATIONS 16

typedef struct orch_violation {
    char field[128];       /* path of the wrong field, e.g. "page_token" */
    char description[256]; /* why it is wrong, in words */
} orch_violation_t;

/* Caller-owned; orch_error_init() before first use. Fixed size so that it can live on
 * the stack of any handler without allocation. */
typedef struct orch_error {
    orch_err_t code;
    char reason[64];   /* UPPER_SNAKE reason; defaults from ORCH_ERRNO_MAP */
    char message[512]; /* one sentence for a person */
    orch_violation_t violations[ORCH_ERROR_MAX_VIOLATIONS];
    size_t nviolations;
    int retry_after_ms; /* >0: a RetryInfo is sent */
    /* One ErrorInfo metadata entry when meta_key is set (a watcher's resume point:
     * "resume_after_sequence" or "resume_after_cursor"). */
    char meta_key[32];
    char meta_value[64];
} orch_error_t;

void orch_error_init(orch_error_t *e);

/* Sets code, reason (NULL = the default for code) and message; returns code so that a
 * caller can write `return orch_error_set(e, ...)`. e may be NULL. */
orch_err_t orch_error_set(orch_error_t *e, orch_err_t code, const char *reason, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));

/* Adds one field violation (silently dropped past ORCH_ERROR_MAX_VIOLATIONS; e may be NULL). */
void orch_error_add_violation(orch_error_t *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void orch_error_vadd_violation(orch_error_t *e, const char *field, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Shorthand: INVALID_ARGUMENT with one violation whose description is also the message
 * ("field: description"), its reason reason (NULL: INVALID_ARGUMENT, as orch_error_invalid
 * gives; a module with a reason of its own, such as INVALID_CRON_EXPRESSION, names it). */
orch_err_t orch_error_invalid_as(orch_error_t *e, const char *reason, const char *field,
                                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define orch_error_invalid(e, field, ...) orch_error_invalid_as((e), NULL, (field), __VA_ARGS__)

const char *orch_err_name(orch_err_t code);   /* "NOT_FOUND" */
const char *orch_err_reason(orch_err_t code); /* default reason */
const char *orch_strerror(orch_err_t code);   /* "not found" */

#endif
