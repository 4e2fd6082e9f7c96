/* The worker's side of a parallel step (inside the engine only): start the branches, or join
 * them, or park the parent until the last branch settles. */
#ifndef ORCH_ENGINE_JOIN_H
#define ORCH_ENGINE_JOIN_H

#include "domain/engine/engine.h"

/* Runs the parallel step leaf of the claimed top-level process p in one unit of work under
 * the parent's fenced row lock: creates the branch processes not started yet; or, every
 * branch settled, re-runs the failed ones when the process was resumed (bulk resume) or
 * commits the join (orch_parallel_join); else parks it. Errors are logged; a lost lease
 * rolls back. */
void orch_parallel_run(orch_store_t *st, const char *replica_id, orch_claim_t *c,
                       const orch_workflow_t *wf, const orch_leaf_t *leaf, const orch_process_t *p);

#endif
