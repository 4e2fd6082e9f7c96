/* The engine's threads in one replica: N workers that claim runnable processes (woken by
 * orch_engine_wake, with polling as the fallback), run one step each under a lease and
 * commit it fenced; and one heartbeat thread that renews the replica's leases, fails steps
 * that overran their time-out and processes whose version no replica has. Uses only the
 * store interface. */
#ifndef ORCH_ENGINE_WORKER_H
#define ORCH_ENGINE_WORKER_H

#include "domain/engine/engine.h"

typedef struct orch_engine orch_engine_t;

typedef struct orch_engine_config {
    orch_store_t *store;                    /* borrowed; outlives the engine */
    const orch_catalog_t *catalog;          /* borrowed */
    const orch_registry_t *registry;        /* borrowed */
    int workers;                            /* threads; 0 = register only, run nothing */
    int lease_ms;                           /* lease length (renewed every lease_ms / 3) */
    int poll_ms;                            /* idle workers look anyway this often */
    const char *hostname, *build, *address; /* for the replicas row; copied */
} orch_engine_config_t;

/* Registers the replica and its workflow versions (FAILED_PRECONDITION
 * WORKFLOW_VERSION_MISMATCH when the database has other steps for a version) and starts the
 * threads. *out: stop and free with orch_engine_stop. */
orch_err_t orch_engine_start(const orch_engine_config_t *cfg, orch_engine_t **out,
                             orch_error_t *err);
/* Wakes idle workers (work may be waiting). Thread-safe; cheap; NULL ok. */
void orch_engine_wake(orch_engine_t *e);
/* The replica id (lower-case UUID) registered at start. */
const char *orch_engine_replica_id(const orch_engine_t *e);
/* Stops claiming, interrupts running steps (their units of work roll back), joins the
 * threads, releases every lease the replica holds, marks it stopped and frees. NULL ok. */
void orch_engine_stop(orch_engine_t *e);

#endif
