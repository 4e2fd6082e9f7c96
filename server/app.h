/* What the services share: the parts main.c wires together and hands to every handler
 * through srv_call_app(). Borrowed by handlers; owned by main. */
#ifndef SRV_APP_H
#define SRV_APP_H

#include <stdatomic.h>

#include "domain/catalog/catalog.h"
#include "domain/store.h"
#include "server/rpc/server.h"

typedef struct srv_app {
    orch_catalog_t *catalog;
    orch_store_t *store;
    /* Readiness as last seen by the database watchdog in main.c (1 = reachable). */
    atomic_int db_ok;
    /* Set when a drain starts: readiness goes NOT_SERVING before calls are refused. */
    atomic_int draining;
    /* Open health Watch streams (services/health.c). */
    struct srv_health *health;
    /* Process watchers and their hub thread (services/watch.c). */
    struct srv_watch *watch;
    /* The workflow versions this replica runs (domain/engine), read-only after start. */
    const struct orch_registry *registry;
    /* This replica's engine (domain/engine/worker.h): StartProcess hands a new process to
     * an idle worker of it. NULL when not running. */
    struct orch_engine *engine;
    /* The subscriptions this replica has served, encoded (domain/subcache.h); NULL = off. */
    struct orch_subcache *subcache;
    /* Step workers' sessions and their hub thread (services/workers.c); NULL = none. */
    struct srv_workers *workers;
    /* The workflows registered as data (domain/usecase/workflow_register.h); NULL = none. */
    struct orch_wfdefs *wfdefs;
} srv_app_t;

/* Health watchers: created before the server starts, freed after it stopped. */
struct srv_health *srv_health_new(void);
void srv_health_free(struct srv_health *h);
/* The process-watch hub: started before the server, freed after it stopped (every stream
 * closed). srv_watch_notify is the LISTEN callback for orch_process_events and
 * orch_subscription_events (payload: "<id>:<first>-<last>,...", ""/NULL = read everything). */
typedef struct srv_watch_config {
    int stall_ms;            /* --watch-stall-ms */
    int max_total;           /* --max-watchers */
    int max_per_client;      /* --max-watchers-per-client */
    int backlog_events;      /* --watch-backlog-events */
    long long backlog_bytes; /* --watch-backlog-bytes */
    int read_interval_ms;    /* --watch-read-interval-ms (0 = read at once) */
} srv_watch_config_t;
struct srv_watch *srv_watch_new(srv_app_t *app, const srv_watch_config_t *cfg);
void srv_watch_free(struct srv_watch *h);
/* Stops the hub thread (no more sends); the drain then ends the streams. NULL ok. */
void srv_watch_stop(struct srv_watch *h);
void srv_watch_notify(void *arg, const char *channel, const char *payload);
int srv_watch_count(struct srv_watch *h);

/* The step workers' hub (services/workers.c): started before the server, stopped before
 * the drain (no more tasks sent; this replica's workers are forgotten) and freed after the
 * server stopped. Tasks are claimed for a worker for lease_ms, renewed by its heartbeats
 * (every heartbeat_ms; three missed end its stream); poll_ms bounds how late a lease that
 * ran out is noticed; max_result_bytes caps an answer's state delta as JSON.
 * srv_workers_notify is the LISTEN callback for orch_worker_tasks. */
typedef struct srv_workers srv_workers_t;
srv_workers_t *srv_workers_new(srv_app_t *app, const char *replica_id, int lease_ms,
                               int heartbeat_ms, int poll_ms, int max_result_bytes);
void srv_workers_stop(srv_workers_t *w); /* NULL ok */
void srv_workers_free(srv_workers_t *w); /* NULL ok */
void srv_workers_notify(void *arg, const char *channel, const char *payload);
int srv_workers_count(srv_workers_t *w);

/* Readiness may have changed (database, drain): tell every Watch stream whose status did. */
void srv_health_publish(srv_app_t *app);

#endif
