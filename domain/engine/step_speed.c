/* Open addressing with linear probing, never more than half full for the keys it was sized
 * for: a lookup ends at the key or at an empty slot within a few probes. */
#include "domain/engine/step_speed.h"

#include <pthread.h>
#include <stdlib.h>

#include "base/alloc.h"

typedef struct {
    const void *key; /* NULL: empty */
    int64_t us;
} slot_t;

struct orch_step_speeds {
    pthread_mutex_t mu;
    size_t mask; /* slots - 1 (a power of two) */
    slot_t *slots;
};

/* Pointers to structs in arrays differ in their low bits by the struct's size: a
 * multiplicative hash spreads them over every slot. */
static size_t home(const orch_step_speeds_t *t, const void *key)
{
    uint64_t h = (uint64_t)(uintptr_t)key * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & t->mask;
}

orch_step_speeds_t *orch_step_speeds_new(size_t max_keys)
{
    orch_step_speeds_t *t = orch_calloc(1, sizeof(*t));
    size_t n = 64;
    while (n < 2 * max_keys)
        n *= 2;
    t->mask = n - 1;
    t->slots = orch_calloc(n, sizeof(*t->slots));
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void orch_step_speeds_free(orch_step_speeds_t *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t->slots);
    free(t);
}

void orch_step_speeds_note(orch_step_speeds_t *t, const void *key, int64_t us)
{
    size_t i = home(t, key);
    pthread_mutex_lock(&t->mu);
    /* The key's slot or the first empty one after its home; a run of full slots as long as
     * the table (more keys than it was sized for) replaces the one at home. */
    for (size_t n = 0; n <= t->mask; n++) {
        slot_t *s = &t->slots[(i + n) & t->mask];
        if (s->key == key || !s->key) {
            s->key = key;
            s->us = us;
            pthread_mutex_unlock(&t->mu);
            return;
        }
    }
    t->slots[i].key = key;
    t->slots[i].us = us;
    pthread_mutex_unlock(&t->mu);
}

int64_t orch_step_speeds_get(orch_step_speeds_t *t, const void *key)
{
    size_t i = home(t, key);
    int64_t us = -1;
    pthread_mutex_lock(&t->mu);
    for (size_t n = 0; n <= t->mask; n++) {
        const slot_t *s = &t->slots[(i + n) & t->mask];
        if (!s->key)
            break;
        if (s->key == key) {
            us = s->us;
            break;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return us;
}
