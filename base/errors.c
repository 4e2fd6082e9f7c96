/* Error codes, their names and the error detail builder. */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name, *reason, *text;
} err_table[] = {
#define ORCH__ERR_ROW(name, reason, text) {#name, reason, text},
    ORCH_ERRNO_MAP(ORCH__ERR_ROW)
#undef ORCH__ERR_ROW
};

void orch_error_init(orch_error_t *e)
{
    memset(e, 0, sizeof(*e));
}

const char *orch_err_name(orch_err_t code)
{
    return (unsigned)code < ORCH__ERR_MAX ? err_table[code].name : "UNKNOWN";
}

const char *orch_err_reason(orch_err_t code)
{
    return (unsigned)code < ORCH__ERR_MAX ? err_table[code].reason : "INTERNAL";
}

const char *orch_strerror(orch_err_t code)
{
    return (unsigned)code < ORCH__ERR_MAX ? err_table[code].text : "unknown error";
}

orch_err_t orch_error_set(orch_error_t *e, orch_err_t code, const char *reason, const char *fmt,
                          ...)
{
    va_list ap;

    if (!e)
        return code;
    e->code = code;
    snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : orch_err_reason(code));
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return code;
}

void orch_error_vadd_violation(orch_error_t *e, const char *field, const char *fmt, va_list ap)
{
    orch_violation_t *v;

    if (!e || e->nviolations >= ORCH_ERROR_MAX_VIOLATIONS)
        return;
    v = &e->violations[e->nviolations++];
    snprintf(v->field, sizeof(v->field), "%s", field);
    vsnprintf(v->description, sizeof(v->description), fmt, ap);
}

void orch_error_add_violation(orch_error_t *e, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    orch_error_vadd_violation(e, field, fmt, ap);
    va_end(ap);
}

orch_err_t orch_error_invalid_as(orch_error_t *e, const char *reason, const char *field,
                                 const char *fmt, ...)
{
    va_list ap;
    char buf[256];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (!e)
        return ORCH_INVALID_ARGUMENT;
    orch_error_add_violation(e, field, "%s", buf);
    return orch_error_set(e, ORCH_INVALID_ARGUMENT, reason, "%s: %s", field, buf);
}
