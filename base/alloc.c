/* The one place where allocation failure is handled: by logging and aborting. */
#include "alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *orch_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *orch_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        oom(count * size);
    return p;
}

void *orch_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *orch_strdup(const char *s)
{
    return orch_strndup(s ? s : "", s ? strlen(s) : 0);
}

char *orch_strndup(const char *s, size_t n)
{
    char *p = orch_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void orch_vappendf(char **s, size_t *len, size_t *cap, const char *fmt, va_list ap)
{
    va_list ap2;
    size_t need;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    need = *len + (size_t)n + 1;
    if (need > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < need)
            c *= 2;
        *s = orch_realloc(*s, c);
        *cap = c;
    }
    vsnprintf(*s + *len, *cap - *len, fmt, ap);
    *len += (size_t)n;
}

void orch_buf_printf(orch_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    orch_vappendf(&b->s, &b->len, &b->cap, fmt, ap);
    va_end(ap);
}

char *orch_vasprintf(const char *fmt, va_list ap)
{
    char *s = NULL;
    size_t len = 0, cap = 0;
    orch_vappendf(&s, &len, &cap, fmt, ap);
    return s ? s : orch_strdup("");
}

char *orch_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = orch_vasprintf(fmt, ap);
    va_end(ap);
    return p;
}

void orch__assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "fatal: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
