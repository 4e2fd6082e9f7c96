/* Allocation wrappers: out-of-memory logs and aborts here, so callers never check NULL. */
#ifndef ORCH_ALLOC_H
#define ORCH_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *orch_malloc(size_t n) __attribute__((returns_nonnull, malloc));
void *orch_calloc(size_t count, size_t size) __attribute__((returns_nonnull, malloc));
void *orch_realloc(void *p, size_t n) __attribute__((returns_nonnull));
char *orch_strdup(const char *s) __attribute__((returns_nonnull, malloc)); /* NULL -> "" */
char *orch_strndup(const char *s, size_t n) __attribute__((returns_nonnull, malloc));
/* printf into a new string; caller frees. */
char *orch_asprintf(const char *fmt, ...) __attribute__((returns_nonnull, format(printf, 1, 2)));
char *orch_vasprintf(const char *fmt, va_list ap)
    __attribute__((returns_nonnull, format(printf, 1, 0)));
/* Appends printf output to a growable string: *s (NULL for a new one, caller frees) holds
 * *len bytes and a NUL within *cap bytes, and grows as needed. */
void orch_vappendf(char **s, size_t *len, size_t *cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* A growable string built by printf appends: {0} is empty; s is NULL until the first
 * append, then holds len bytes and a NUL. The owner frees s with free(). */
typedef struct orch_buf {
    char *s;
    size_t len, cap;
} orch_buf_t;
void orch_buf_printf(orch_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Broken invariant: log file and line, abort. Never used for bad input. */
#define orch_assert(cond) ((cond) ? (void)0 : orch__assert_fail(#cond, __FILE__, __LINE__))
void orch__assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

#endif
