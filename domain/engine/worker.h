/* The engine's threads in one replica: N workers that claim runnable processes (woken by
 * orch_engine_wake, with polling as the fallback) or get them handed over by StartProcess,
 * run each in a stretch of steps under one lease, committing every step fenced in one round
 * trip (steps of several processes share one through the group committer); and one
 * heartbeat thread that renews the leases held, fails steps that overran their time-out and
 * processes whose version no replica has. Uses only the store interface. */
#ifndef ORCH_ENGINE_WORKER_H
#define ORCH_ENGINE_WORKER_H

#include "domain/engine/engine.h"

typedef struct orch_engine orch_engine_t;

/* Hooks a program embedding the engine may set, to slow it down or bend it where a test
 * needs a race made visible. orchestratord sets none; the test binary orchestratord-test
 * (tests/testbin/) sets them from its environment. Every field is optional (NULL or 0:
 * nothing happens); together they cost the hot path one pointer test per step and per
 * group commit. */
typedef struct orch_engine_hooks {
    void *arg; /* passed to the calls below */
    /* After a step ran, before its commit (its unit of work still open): may sleep, and
     * returns early once *stopping is set. */
    void (*before_commit)(void *arg, const char *process_id, const char *step_key,
                          const atomic_int *stopping);
    /* Before the round trip of a group commit of n >= 2 steps: may sleep, or change the
     * parts (a wrong lease token, say). */
    void (*before_group_flush)(void *arg, orch_step_commit_t *parts, size_t n);
    /* The first group commit waits (up to 5 s) until this many steps are queued (<= 1: no
     * wait). */
    int group_min;
    /* Before StartProcess hands a committed process to the worker promised it: may sleep
     * (the promised worker must wait for it, whatever wakes it meanwhile). */
    void (*before_handoff)(void *arg, const char *process_id);
    /* The heartbeat leaves callbacks past their deadline alone. */
    bool no_callback_sweep;
} orch_engine_hooks_t;

typedef struct orch_engine_config {
    orch_store_t *store;                    /* borrowed; outlives the engine */
    const orch_catalog_t *catalog;          /* borrowed */
    const orch_registry_t *registry;        /* borrowed */
    int workers;                            /* threads; 0 = register only, run nothing */
    int lease_ms;                           /* lease length (renewed every lease_ms / 3) */
    int poll_ms;                            /* idle workers look anyway this often */
    int stretches_per_worker;               /* processes a worker holds and steps in turn,
                                             * committing their steps together; 0 = 8 */
    const char *hostname, *build, *address; /* for the replicas row; copied */
    const orch_engine_hooks_t *hooks;       /* NULL: none; copied */
} orch_engine_config_t;

/* Registers the replica and its workflow versions (FAILED_PRECONDITION
 * WORKFLOW_VERSION_MISMATCH when the database has other steps for a version) and starts the
 * threads. *out: stop and free with orch_engine_stop. */
orch_err_t orch_engine_start(const orch_engine_config_t *cfg, orch_engine_t **out,
                             orch_error_t *err);
/* Wakes idle workers (work may be waiting). Thread-safe; cheap; NULL ok. */
void orch_engine_wake(orch_engine_t *e);
/* A notification on the engine's channel: payload "paused"/"running" sets the pause switch
 * the workers read before every step (migration 0011's trigger sends it); any other payload
 * (or NULL, after a reconnect) only wakes. Thread-safe; NULL ok. */
void orch_engine_notify(orch_engine_t *e, const char *payload);

/* The hand-off of a new process (no claim, no poll): orch_engine_reserve promises it an idle
 * worker (false: none idle, paused or stopping: create it unleased, for anyone); the caller
 * then creates it leased to this replica (orch_process_lease_t with
 * orch_engine_replica_id and orch_engine_lease_ms) and, once that committed, hands it over
 * with orch_engine_handoff, or gives the promise back with orch_engine_unreserve when the
 * create failed. Thread-safe; e may be NULL (reserve is then false). */
bool orch_engine_reserve(orch_engine_t *e);
void orch_engine_unreserve(orch_engine_t *e);
int orch_engine_lease_ms(const orch_engine_t *e);
/* state: copied. step_started: the first step's start as the create wrote it. */
void orch_engine_handoff(orch_engine_t *e, const char *process_id, const char *workflow,
                         int version, int64_t lease_token, const char *step_started,
                         const json_t *state);
/* The replica id (lower-case UUID) registered at start. */
const char *orch_engine_replica_id(const orch_engine_t *e);
/* Stops claiming, interrupts running steps (their units of work roll back), joins the
 * threads, releases every lease the replica holds, marks it stopped and frees. NULL ok. */
void orch_engine_stop(orch_engine_t *e);

#endif
