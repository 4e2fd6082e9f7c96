/* The request context handed from the transport to the domain and the store: when the
 * caller stops caring (deadline) and whether it has gone away (cancelled). The store uses
 * it to cancel a query in PostgreSQL instead of letting it run on for nobody. */
#ifndef ORCH_CTX_H
#define ORCH_CTX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef struct orch_ctx {
    int64_t deadline_ms;         /* CLOCK_MONOTONIC milliseconds; 0 = no deadline */
    const atomic_int *cancelled; /* non-zero once the caller went away; may be NULL */
    const char *actor;           /* who acts (user or system name), for audit; may be NULL */
} orch_ctx_t;

static inline int64_t orch_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before the deadline: INT64_MAX without one, <= 0 once it passed. */
static inline int64_t orch_ctx_remaining_ms(const orch_ctx_t *ctx)
{
    if (!ctx || ctx->deadline_ms == 0)
        return INT64_MAX;
    return ctx->deadline_ms - orch_now_ms();
}

static inline bool orch_ctx_cancelled(const orch_ctx_t *ctx)
{
    return ctx && ctx->cancelled && atomic_load(ctx->cancelled) != 0;
}

#endif
