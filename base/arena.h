/* A region allocator: many small allocations, freed all at once. One RPC's request,
 * response and temporary strings live in one arena that the call owns and frees when it
 * ends, so handlers never free piecemeal. Not thread-safe: one owner at a time. */
#ifndef ORCH_ARENA_H
#define ORCH_ARENA_H

#include <stddef.h>

typedef struct orch_arena orch_arena_t;

orch_arena_t *orch_arena_new(void);
void orch_arena_free(orch_arena_t *a); /* frees every allocation; NULL ok */

/* Zeroed, 16-byte aligned, never NULL (aborts on out-of-memory); lives until arena_free. */
void *orch_arena_alloc(orch_arena_t *a, size_t n);
char *orch_arena_strdup(orch_arena_t *a, const char *s); /* NULL -> "" */
char *orch_arena_strndup(orch_arena_t *a, const char *s, size_t n);
char *orch_arena_printf(orch_arena_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A growable array in the arena: v (NULL when empty) holds n elements of elem bytes within
 * room for *cap. Returns v when it has room for need elements, else a copy of its n elements
 * in a new array whose *cap is min (when 0) doubled until need fits. The old array stays in
 * the arena until it is freed, so for arrays built within one call (an encoder's buffers, a
 * definition's lists), never for ones that grow without end. */
void *orch_arena_grow(orch_arena_t *a, void *v, size_t n, size_t *cap, size_t need, size_t elem,
                      size_t min);

/* Bytes handed out so far (for limits). */
size_t orch_arena_used(const orch_arena_t *a);

#endif
