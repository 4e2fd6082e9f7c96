/* How long each step took when it last ran on this replica: the worker decides by it whether
 * the other processes it holds may wait for a step (domain/engine/worker.c, run_stretches).
 *
 * Keyed by the step's leaf (a pointer, never dereferenced). Sized at creation for the leaves
 * the replica has: every leaf it notes keeps its slot, so a step measured long is not
 * forgotten because another step's key fell on its slot (a direct-mapped table did that,
 * as the heap layout decided, and certainly past 256 leaves: the replica then took a known
 * long step for an unknown one). Thread-safe. */
#ifndef ORCH_DOMAIN_ENGINE_STEP_SPEED_H
#define ORCH_DOMAIN_ENGINE_STEP_SPEED_H

#include <stddef.h>
#include <stdint.h>

typedef struct orch_step_speeds orch_step_speeds_t;

/* Room for max_keys keys (the leaves of the registered workflows) at most half full. Free
 * with orch_step_speeds_free. */
orch_step_speeds_t *orch_step_speeds_new(size_t max_keys);
void orch_step_speeds_free(orch_step_speeds_t *t);

/* Remembers us for key (its last run: replaces what was there). More keys than max_keys:
 * the table stays correct but may forget the oldest in a full run of slots. */
void orch_step_speeds_note(orch_step_speeds_t *t, const void *key, int64_t us);

/* The last us noted for key; -1 when none. */
int64_t orch_step_speeds_get(orch_step_speeds_t *t, const void *key);

#endif
