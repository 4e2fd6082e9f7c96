/* Arena: a list of chunks; allocations above a quarter chunk get a chunk of their own so
 * that a large request does not waste the tail of a shared one. */
#include "arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define ARENA_CHUNK 8192
/* The first chunk is small and shares one allocation with the arena: a long-lived call (an
 * idle watch stream) keeps a few strings in its arena (a WatchProcesses request: 80 bytes),
 * and ten thousand of them should hold neither 8 KiB nor 1 KiB each. Chunks then grow
 * 256 -> 1,024 -> 8,192 bytes, so a unary call still takes at most one malloc per 8 KiB. */
#define ARENA_FIRST_CHUNK 256
#define ARENA_SECOND_CHUNK 1024

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} chunk_t;

struct orch_arena {
    chunk_t *head;
    size_t total;
    _Alignas(16) unsigned char first[]; /* a chunk_t of ARENA_FIRST_CHUNK, never freed alone */
};

orch_arena_t *orch_arena_new(void)
{
    orch_arena_t *a = orch_malloc(sizeof(orch_arena_t) + sizeof(chunk_t) + ARENA_FIRST_CHUNK);
    chunk_t *c = (chunk_t *)a->first;
    c->next = NULL;
    c->used = 0;
    c->cap = ARENA_FIRST_CHUNK;
    a->head = c;
    a->total = 0;
    return a;
}

void orch_arena_free(orch_arena_t *a)
{
    if (!a)
        return;
    for (chunk_t *c = a->head, *next; c; c = next) {
        next = c->next;
        if (c != (chunk_t *)a->first)
            free(c);
    }
    free(a);
}

static chunk_t *chunk_new(size_t cap)
{
    chunk_t *c = orch_malloc(sizeof(chunk_t) + cap);
    c->next = NULL;
    c->used = 0;
    c->cap = cap;
    return c;
}

void *orch_arena_alloc(orch_arena_t *a, size_t n)
{
    chunk_t *c = a->head;
    void *p;

    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    a->total += n;
    if (n > ARENA_CHUNK / 4) {
        chunk_t *big = chunk_new(n);
        big->used = n;
        /* Behind the head, so the head's free space stays usable. */
        big->next = c->next;
        c->next = big;
        memset(big->data, 0, n);
        return big->data;
    }
    if (c->cap - c->used < n) {
        c = chunk_new(c->cap < ARENA_SECOND_CHUNK && n <= ARENA_SECOND_CHUNK ? ARENA_SECOND_CHUNK
                                                                             : ARENA_CHUNK);
        c->next = a->head;
        a->head = c;
    }
    p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *orch_arena_strndup(orch_arena_t *a, const char *s, size_t n)
{
    char *p = orch_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *orch_arena_grow(orch_arena_t *a, void *v, size_t n, size_t *cap, size_t need, size_t elem,
                      size_t min)
{
    size_t c = *cap ? *cap : min;
    void *p;
    if (need <= *cap)
        return v;
    while (c < need)
        c *= 2;
    p = orch_arena_alloc(a, c * elem);
    if (n)
        memcpy(p, v, n * elem);
    *cap = c;
    return p;
}

char *orch_arena_strdup(orch_arena_t *a, const char *s)
{
    return orch_arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

char *orch_arena_printf(orch_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    char *tmp, *p;

    va_start(ap, fmt);
    tmp = orch_vasprintf(fmt, ap);
    va_end(ap);
    p = orch_arena_strdup(a, tmp);
    free(tmp);
    return p;
}

size_t orch_arena_used(const orch_arena_t *a)
{
    return a->total;
}
