/* The daemon (server/daemon.h): reads the configuration, migrates the database,
 * synchronises the catalogue, serves gRPC until SIGINT/SIGTERM, then drains and exits 0.
 * Only wiring here: orch_daemon_main is the list of steps, each a function below. */
#include <errno.h>
#include <fcntl.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/metrics.h"
#include "db/listen.h"
#include "db/migrate.h"
#include "db/pool.h"
#include "db/store.h"
#include "domain/catalog/catalog.h"
#include "domain/engine/lint.h"
#include "domain/engine/worker.h"
#include "domain/products/products.h"
#include "domain/schedule/scheduler.h"
#include "domain/subcache.h"
#include "domain/usecase/usecase.h"
#include "domain/usecase/workflow_register.h"
#include "domain/workflows/workflows.h"
#include "server/app.h"
#include "server/config.h"
#include "server/daemon.h"
#include "server/metrics_http.h"
#include "server/rpc/auth.h"
#include "server/rpc/tls.h"
#include "server/services/services.h"

/* The readiness watchdog: pings the database so that health "" follows it even when no
 * client traffic would notice an outage. */
typedef struct watchdog {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    int interval_ms;
    srv_app_t *app;
} watchdog_t;

static void *watchdog_main(void *arg)
{
    watchdog_t *wd = arg;
    pthread_mutex_lock(&wd->mu);
    while (!wd->stop) {
        struct timespec until;
        orch_error_t err;
        int ok;

        pthread_mutex_unlock(&wd->mu);
        orch_error_init(&err);
        /* A ping that cannot finish in 2 s counts as down. */
        orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 2000};
        ok = wd->app->store->uow->ping(wd->app->store, &ctx, &err) == ORCH_OK;
        orch_debug("health", "database ping: %s", ok ? "ok" : err.message);
        if (ok != atomic_load(&wd->app->db_ok)) {
            if (ok)
                orch_info("health", "database reachable again: ready");
            else
                orch_warn("health", "database unreachable: not ready (%s)", err.message);
        }
        if (ok != atomic_exchange(&wd->app->db_ok, ok))
            srv_health_publish(wd->app);
        pthread_mutex_lock(&wd->mu);
        orch_clock_after_us(&until, CLOCK_MONOTONIC, (int64_t)wd->interval_ms * 1000);
        while (!wd->stop && pthread_cond_timedwait(&wd->cv, &wd->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&wd->mu);
    return NULL;
}

/* False: its thread did not start (nothing to stop then). */
static bool watchdog_start(watchdog_t *wd, srv_app_t *app, int interval_ms)
{
    pthread_condattr_t ca;
    memset(wd, 0, sizeof(*wd));
    wd->app = app;
    wd->interval_ms = interval_ms;
    pthread_mutex_init(&wd->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wd->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&wd->thread, NULL, watchdog_main, wd) != 0) {
        pthread_cond_destroy(&wd->cv);
        pthread_mutex_destroy(&wd->mu);
        return false;
    }
    return true;
}

static void watchdog_stop(watchdog_t *wd)
{
    pthread_mutex_lock(&wd->mu);
    wd->stop = true;
    pthread_cond_signal(&wd->cv);
    pthread_mutex_unlock(&wd->mu);
    pthread_join(wd->thread, NULL);
    pthread_cond_destroy(&wd->cv);
    pthread_mutex_destroy(&wd->mu);
}

static int stop_pipe[2] = {-1, -1};

static void on_stop_signal(int sig)
{
    unsigned char b = (unsigned char)sig;
    int saved = errno;
    if (write(stop_pipe[1], &b, 1) < 0) {
        /* Nothing safe to do here: a full pipe already holds a stop request. */
    }
    errno = saved;
}

static int stop_pipe_init(void)
{
    struct sigaction sa;
    if (pipe(stop_pipe) != 0)
        return -1;
    fcntl(stop_pipe[1], F_SETFL, O_NONBLOCK);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* reload the authentication keys */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* Blocks until SIGINT, SIGTERM or SIGHUP arrives; returns its number. */
static int stop_pipe_wait(void)
{
    unsigned char b = 0;
    while (read(stop_pipe[0], &b, 1) != 1)
        ;
    return b;
}

/* Another replica changed a product (or we reconnected and may have missed it). */
static void on_catalog_changed(void *arg, const char *channel, const char *payload)
{
    srv_app_t *app = arg;
    orch_error_t err;
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 5000};
    (void)channel;
    (void)payload;
    if (app->subcache) /* the answers show product names and block definitions */
        orch_subcache_drop_all(app->subcache);
    orch_error_init(&err);
    if (app->store->catalog->refresh(app->store, NULL, &ctx, app->catalog, &err))
        orch_warn("catalog", "cannot refresh the catalogue: %s", err.message);
}

/* The store's word on a unit of work of this replica: what it changes, and when it ended. */
static void on_sub_changed(void *arg, const char *const *ids, size_t n, bool changing)
{
    orch_subcache_changing(arg, ids, n, changing);
}

/* orch_subscription_changes (migration 0014): the ids any replica changed. The cache is
 * served only while this connection listens: lost, nothing is served; back, it starts
 * empty, since what was sent meanwhile is lost. */
static void on_sub_notify(void *arg, db_listen_event_t ev, const char *payload)
{
    if (ev == DB_LISTEN_NOTIFY)
        orch_subcache_drop_payload(arg, payload);
    else
        orch_subcache_set_live(arg, ev == DB_LISTEN_CONNECTED);
}

static void collect_subcache(void *arg)
{
    orch_subcache_stats_t st;
    orch_subcache_stats(arg, &st);
    orch_metrics_set("orch_subscription_cache_entries", "", (double)st.entries);
    orch_metrics_set("orch_subscription_cache_bytes", "", (double)st.bytes);
    orch_metrics_set("orch_subscription_cache_hits", "", (double)st.hits);
    orch_metrics_set("orch_subscription_cache_misses", "", (double)st.misses);
    orch_metrics_set("orch_subscription_cache_drops", "", (double)st.drops);
    orch_metrics_set("orch_subscription_cache_live", "", (double)st.went_live);
}

static void collect_pool(void *arg)
{
    int size = 0, used = db_pool_in_use(arg, &size);
    orch_metrics_set("orch_db_pool_connections_in_use", "", used);
    orch_metrics_set("orch_db_pool_connections", "", size);
    orch_metrics_set("orch_db_round_trips_total", "", (double)db_round_trips());
    for (int k = 0; k < DB_RT_KINDS; k++) {
        char labels[48];
        snprintf(labels, sizeof(labels), "kind=\"%s\"", db_rt_kind_name((db_rt_kind_t)k));
        orch_metrics_set("orch_db_round_trips_by_kind_total", labels,
                         (double)db_round_trips_of((db_rt_kind_t)k));
    }
}

/* Processes by status and task-ness, from the database at each scrape: the counts that
 * migration 0024's triggers keep, a few rows however many processes there are. */
static void collect_processes(void *arg)
{
    srv_app_t *app = arg;
    orch_status_count_t *counts = NULL;
    size_t n = 0;
    orch_error_t err;
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 2000};

    orch_error_init(&err);
    if (app->store->procs->status_counts(app->store, NULL, &ctx, "", &counts, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            char labels[96];
            snprintf(labels, sizeof(labels), "status=\"%s\",is_task=\"%s\"", counts[i].status,
                     counts[i].is_task ? "true" : "false");
            orch_metrics_set("orch_processes", labels, (double)counts[i].count);
        }
    }
    free(counts);
    {
        unsigned long batches = 0, batched = 0;
        db_store_start_stats(app->store, &batches, &batched);
        orch_metrics_set("orch_start_batches_total", "", (double)batches);
        orch_metrics_set("orch_start_batched_total", "", (double)batched);
    }
    if (app->watch)
        orch_metrics_set("orch_watchers", "", srv_watch_count(app->watch));
}

static void metrics_describe_all(void)
{
    orch_metrics_describe("orch_rpc_total", ORCH_METRIC_COUNTER,
                          "Finished RPCs by method and status");
    orch_metrics_describe("orch_rpc_duration_seconds", ORCH_METRIC_HISTOGRAM,
                          "RPC duration by method (whole stream for streaming calls)");
    orch_metrics_describe("orch_db_pool_connections_in_use", ORCH_METRIC_GAUGE,
                          "Database connections lent out");
    orch_metrics_describe("orch_db_pool_connections", ORCH_METRIC_GAUGE,
                          "Database connections in the pool");
    orch_metrics_describe("orch_processes", ORCH_METRIC_GAUGE,
                          "Processes by status (all replicas: read from the database)");
    orch_metrics_describe("orch_watchers", ORCH_METRIC_GAUGE,
                          "Open WatchProcess/WatchProcesses/WatchSubscription streams here");
    orch_metrics_describe("orch_steps_total", ORCH_METRIC_COUNTER,
                          "Steps committed by this replica, by workflow and step status");
    orch_metrics_describe("orch_step_duration_seconds", ORCH_METRIC_HISTOGRAM,
                          "Claim to commit of one step, by workflow");
    orch_metrics_describe("orch_process_claims_total", ORCH_METRIC_COUNTER,
                          "Processes claimed by this replica's workers (one per stretch started "
                          "from a claim or a StartProcess hand-off, not one per step)");
    orch_metrics_describe("orch_step_commits_refused_total", ORCH_METRIC_COUNTER,
                          "Step commits refused because the lease had moved on (fencing)");
    orch_metrics_describe("orch_db_round_trips_total", ORCH_METRIC_COUNTER,
                          "Database round trips this replica made (every query, prepare, BEGIN, "
                          "ROLLBACK and LISTEN; a batch or multi-statement string is one)");
    orch_metrics_describe("orch_db_round_trips_by_kind_total", ORCH_METRIC_COUNTER,
                          "orch_db_round_trips_total by what they were for (start, claim, "
                          "step_commit, heartbeat, sweep, watch, schedule, health, listen, "
                          "other); the kinds sum to the total");
    orch_metrics_describe("orch_process_handoffs_total", ORCH_METRIC_COUNTER,
                          "New processes StartProcess handed to an idle local worker (also "
                          "counted in orch_process_claims_total)");
    orch_metrics_describe("orch_start_batches_total", ORCH_METRIC_COUNTER,
                          "Transactions that created the processes of StartProcess calls "
                          "(several calls at the same moment share one)");
    orch_metrics_describe("orch_start_batched_total", ORCH_METRIC_COUNTER,
                          "Processes created in a transaction shared with other StartProcess "
                          "calls");
    orch_metrics_describe("orch_claim_batches_total", ORCH_METRIC_COUNTER,
                          "Claim statements that returned at least one process");
    orch_metrics_describe("orch_group_commit_batches_total", ORCH_METRIC_COUNTER,
                          "Step commits sent by the group committer (one transaction each)");
    orch_metrics_describe("orch_group_commit_steps_total", ORCH_METRIC_COUNTER,
                          "Steps committed through the group committer");
    orch_metrics_describe("orch_group_commit_size", ORCH_METRIC_HISTOGRAM,
                          "Steps per group commit");
    orch_metrics_describe("orch_stretch_yields_total", ORCH_METRIC_COUNTER,
                          "Stretches that yielded to the local list after their step or time "
                          "bound");
    orch_metrics_describe("orch_subscription_cache_entries", ORCH_METRIC_GAUGE,
                          "Subscriptions this replica keeps encoded for GetSubscription");
    orch_metrics_describe("orch_subscription_cache_bytes", ORCH_METRIC_GAUGE,
                          "Memory they take (--subscription-cache-mb bounds it)");
    orch_metrics_describe("orch_subscription_cache_hits", ORCH_METRIC_GAUGE,
                          "GetSubscription answered from memory since start");
    orch_metrics_describe("orch_subscription_cache_misses", ORCH_METRIC_GAUGE,
                          "GetSubscription read from the database since start");
    orch_metrics_describe("orch_subscription_cache_drops", ORCH_METRIC_GAUGE,
                          "Entries dropped because they changed, since start");
    orch_metrics_describe("orch_subscription_cache_live", ORCH_METRIC_GAUGE,
                          "Times the cache went live (its LISTEN connection connected), since "
                          "start; it serves nothing while that connection is down");
}

/* A process may be waiting for a worker: wake this replica's engine. */
static void on_engine_work(void *arg, const char *channel, const char *payload)
{
    (void)channel;
    orch_engine_notify(*(orch_engine_t **)arg, payload);
}

/* The start-up checks (domain/engine/lint.h) of the workflows registered (the shipped ones
 * and extra): one line per problem naming the C symbol that holds it; false when any is an
 * error (the server then refuses to start). */
static bool check_definitions(orch_catalog_t *cat, const orch_wf_entry_t *extra)
{
    orch_wf_entry_t *wfs = NULL;
    size_t n = orch_workflows_list(extra, &wfs);
    orch_lint_report_t rep;
    bool ok;

    orch_lint(wfs, n, cat, &rep);
    for (size_t i = 0; i < rep.n; i++) {
        char *line = orch_lint_format(&rep.items[i]);
        if (rep.items[i].severity == ORCH_LINT_ERROR)
            orch_err("check", "%s", line);
        else
            orch_warn("check", "%s", line);
        free(line);
    }
    ok = rep.nerrors == 0;
    if (!ok)
        orch_err("main",
                 "refusing to start: %zu error%s in the workflow and product "
                 "definitions (see the lines above)",
                 rep.nerrors, rep.nerrors == 1 ? "" : "s");
    else
        orch_info("main", "start-up checks: %zu workflows, %zu products, %zu warning%s", n,
                  orch_catalog_nproducts(cat), rep.nwarnings, rep.nwarnings == 1 ? "" : "s");
    orch_lint_report_cleanup(&rep);
    free(wfs);
    return ok;
}

/* Migrations wait for the database for a while: in Kubernetes the server often starts
 * before PostgreSQL is ready. */
static orch_err_t migrate_with_retry(db_pool_t *pool, db_migrate_mode_t mode, orch_error_t *err)
{
    int applied = 0;
    orch_err_t rc;
    for (int attempt = 0;; attempt++) {
        orch_error_init(err);
        rc = db_migrate(pool, mode, &applied, err);
        if (rc != ORCH_UNAVAILABLE || attempt >= 30)
            break;
        if (attempt == 0)
            orch_warn("main", "waiting for the database: %s", err->message);
        nanosleep(&(struct timespec){1, 0}, NULL);
    }
    if (!rc)
        orch_info("main", "schema at version %d (%d migration%s applied)", db_migrate_latest(),
                  applied, applied == 1 ? "" : "s");
    return rc;
}

/* Everything the daemon owns, from start to exit; on orch_daemon_main's stack. */
typedef struct daemon {
    srv_settings_t cfg;
    const orch_daemon_extras_t *x; /* never NULL (an empty one for orchestratord) */
    srv_app_t app;
    db_pool_t *pool;
    db_listener_t *listener;
    orch_registry_t *registry;
    orch_engine_t *engine;
    orch_scheduler_t *scheduler;
    srv_metrics_http_t *metrics;
    orch_catalog_t *cat;
    srv_server_t *srv, *health_srv;
    srv_auth_t *auth;
    srv_auth_live_t *auth_live; /* the keys calls are checked with (rotated by SIGHUP) */
    srv_auth_config_t auth_cfg;
    struct grpc_server_credentials *tls_creds;
    db_migrate_mode_t mode;
    watchdog_t wd;
    bool wd_running, grpc_up;
} daemon_t;

/* Security first: a wrong key file should stop the server before it touches the database.
 * False: it cannot start (logged). */
static bool setup_security(daemon_t *d)
{
    srv_settings_t *cfg = &d->cfg;
    orch_error_t err;
    orch_error_init(&err);
    d->auth_cfg = (srv_auth_config_t){.jwt_secret_file = cfg->jwt_secret_file,
                                      .jwt_public_key_file = cfg->jwt_public_key_file,
                                      .jwt_issuer = cfg->jwt_issuer,
                                      .jwt_audience = cfg->jwt_audience,
                                      .api_tokens_file = cfg->api_tokens_file,
                                      .clock_skew_s = -1};
    if (strcmp(cfg->auth, "on") == 0 && srv_auth_new(&d->auth_cfg, &d->auth, &err)) {
        orch_err("main", "cannot set up authentication: %s", err.message);
        return false;
    }
    if (cfg->tls_cert[0] && srv_tls_check(&(srv_tls_config_t){.cert_file = cfg->tls_cert,
                                                              .key_file = cfg->tls_key,
                                                              .client_ca_file = cfg->tls_client_ca},
                                          &err)) {
        orch_err("main", "cannot set up TLS: %s", err.message);
        return false;
    }
    if (d->auth) {
        orch_info("main", "authentication on: %s (SIGHUP reloads the key and token files)",
                  srv_auth_describe(d->auth));
        d->auth_live = srv_auth_live_new(d->auth); /* owns auth from here */
        d->auth = NULL;
    } else
        orch_warn("main",
                  "authentication is OFF (--auth=off): anyone who reaches %s may call "
                  "every method, admin ones included; for local development only",
                  cfg->listen);
    return true;
}

/* The definitions in code next, before the database is touched: a broken build changes
 * nothing there. The catalogue, validated, and the start-up checks. */
static bool load_catalogue(daemon_t *d)
{
    orch_error_t err;
    d->cat = orch_catalog_new();
    orch_catalog_load_example(d->cat);
    orch_products_load(d->cat); /* the product modules of domain/products/ */
    if (d->x->catalog_extend)
        d->x->catalog_extend(d->cat);
    orch_error_init(&err);
    if (orch_catalog_validate(d->cat, &err)) {
        orch_err("main", "cannot load the product catalogue: %s", err.message);
        return false;
    }
    return check_definitions(d->cat, d->x->workflows);
}

/* The pool and the schema (migrated as --migrate says). */
static bool open_database(daemon_t *d)
{
    orch_error_t err;
    db_migrate_mode_parse(d->cfg.migrate, &d->mode);
    d->pool = db_pool_new(d->cfg.database_url, d->cfg.pool_size);
    db_pool_set_prepare(d->pool, strcmp(d->cfg.db_prepare, "on") == 0);
    if (migrate_with_retry(d->pool, d->mode, &err)) {
        orch_err("main", "cannot migrate the database: %s", err.message);
        return false;
    }
    return true;
}

/* The store, its read cache, and the catalogue synchronised with the database. */
static bool open_store(daemon_t *d)
{
    srv_app_t *app = &d->app;
    orch_error_t err;
    app->store = db_store_new(d->pool);
    db_store_set_replica_dead_ms(app->store, d->cfg.replica_dead_ms);
    if (d->cfg.subscription_cache_mb > 0) {
        app->subcache = orch_subcache_new((size_t)d->cfg.subscription_cache_mb << 20);
        db_store_on_sub_changed(app->store, on_sub_changed, app->subcache);
    }
    orch_error_init(&err);
    if (app->store->catalog->sync(app->store, NULL, NULL, d->cat, &err)) {
        orch_err("main", "cannot load the product catalogue: %s", err.message);
        return false;
    }
    app->catalog = d->cat;
    orch_info("main", "database: %d connections open", db_store_warm(app->store));
    atomic_store(&app->db_ok, 1);
    orch_info("main", "catalogue: %zu products, %zu product blocks", orch_catalog_nproducts(d->cat),
              orch_catalog_nblocks(d->cat));
    return true;
}

/* The metrics, and their HTTP endpoint when --metrics-listen asks for one. */
static bool start_metrics(daemon_t *d)
{
    orch_error_t err;
    metrics_describe_all();
    orch_metrics_add_collector(collect_pool, d->pool);
    orch_metrics_add_collector(collect_processes, &d->app);
    if (d->app.subcache)
        orch_metrics_add_collector(collect_subcache, d->app.subcache);
    if (d->cfg.metrics_listen[0]) {
        orch_error_init(&err);
        if (srv_metrics_http_start(d->cfg.metrics_listen, &d->metrics, &err)) {
            orch_err("main", "%s", err.message);
            return false;
        }
        orch_info("main", "metrics on http://%s/metrics", d->cfg.metrics_listen);
    }
    return true;
}

/* The workflows registered, the engine's threads, and the scheduler (due schedules and the
 * takeover of dead replicas' processes). */
static bool start_engine(daemon_t *d)
{
    const orch_engine_hooks_t *hooks = NULL;
    char host[256] = "unknown";
    orch_error_t err;
    d->registry = orch_registry_new();
    orch_error_init(&err);
    if (orch_workflows_register_all(d->registry, d->x->workflows, &err)) {
        orch_err("main", "cannot register the workflows: %s", err.message);
        return false;
    }
    d->app.registry = d->registry;
    /* The workflows registered as data, before the engine registers this replica's versions
     * (theirs go with the compiled ones). */
    d->app.wfdefs = orch_wfdefs_new(d->app.store, d->cat, d->registry);
    orch_error_init(&err);
    if (orch_wfdefs_load_all(d->app.wfdefs, &err))
        orch_warn("main", "cannot load the workflows registered as data: %s", err.message);
    gethostname(host, sizeof(host) - 1);
    if (d->x->engine_hooks)
        hooks = d->x->engine_hooks();
    orch_error_init(&err);
    if (orch_engine_start(
            &(orch_engine_config_t){.store = d->app.store,
                                    .catalog = d->cat,
                                    .registry = d->registry,
                                    .workers = d->cfg.workers,
                                    .lease_ms = d->cfg.lease_ms,
                                    .poll_ms = d->cfg.poll_ms,
                                    .stretches_per_worker = d->cfg.stretches_per_worker,
                                    .hostname = host,
                                    .build = "",
                                    .address = d->cfg.listen,
                                    .hooks = hooks},
            &d->engine, &err)) {
        orch_err("main", "cannot start the workflow engine: %s", err.message);
        return false;
    }
    d->app.engine = d->engine;
    orch_wfdefs_set_replica(d->app.wfdefs, orch_engine_replica_id(d->engine));
    d->scheduler =
        orch_scheduler_start(&(orch_uc_t){d->app.store, d->app.catalog, d->app.registry, d->engine},
                             orch_engine_replica_id(d->engine), 200, d->cfg.replica_dead_ms);
    return true;
}

/* The watch hub, the step workers' hub, and the LISTEN connection that feeds them, the
 * engine, the catalogue and the read cache. */
static bool start_listener(daemon_t *d)
{
    srv_settings_t *cfg = &d->cfg;
    srv_app_t *app = &d->app;
    d->listener =
        db_listener_new(cfg->listen_database_url[0] ? cfg->listen_database_url : cfg->database_url);
    if (app->subcache)
        db_listener_subscribe_payload(d->listener, "orch_subscription_changes", on_sub_notify,
                                      app->subcache);
    db_listener_subscribe(d->listener, "orch_catalog", on_catalog_changed, app);
    db_listener_subscribe(d->listener, "orch_engine", on_engine_work, &d->engine);
    /* Also called when it connects: one registered between the load above and the LISTEN. */
    db_listener_subscribe(d->listener, "orch_workflow_definitions", orch_wfdefs_notify,
                          app->wfdefs);
    app->watch = srv_watch_new(
        app, &(srv_watch_config_t){cfg->watch_stall_ms, cfg->max_watchers,
                                   cfg->max_watchers_per_client, cfg->watch_backlog_events,
                                   cfg->watch_backlog_bytes, cfg->watch_read_interval_ms});
    db_listener_subscribe(d->listener, "orch_process_events", srv_watch_notify, app->watch);
    db_listener_subscribe(d->listener, "orch_subscription_events", srv_watch_notify, app->watch);
    app->workers = srv_workers_new(app, d->engine ? orch_engine_replica_id(d->engine) : NULL,
                                   cfg->worker_lease_ms, cfg->worker_heartbeat_ms,
                                   cfg->worker_poll_ms, cfg->worker_max_result_bytes);
    db_listener_subscribe(d->listener, "orch_worker_tasks", srv_workers_notify, app->workers);
    /* Without its thread no notification arrives: no wake-ups, no pause, no watch events. */
    return db_listener_start(d->listener) == ORCH_OK;
}

/* gRPC itself, and the TLS credentials when --tls-cert asks for them. */
static bool start_grpc(daemon_t *d)
{
    srv_settings_t *cfg = &d->cfg;
    orch_error_t err;
    grpc_init();
    d->grpc_up = true;
    if (cfg->tls_cert[0]) {
        orch_error_init(&err);
        if (srv_tls_credentials_new(&(srv_tls_config_t){.cert_file = cfg->tls_cert,
                                                        .key_file = cfg->tls_key,
                                                        .client_ca_file = cfg->tls_client_ca},
                                    &d->tls_creds, &err)) {
            orch_err("main", "cannot set up TLS: %s", err.message);
            return false;
        }
        orch_info("main", "TLS on %s%s", cfg->listen,
                  cfg->tls_client_ca[0] ? " with client certificates required (mutual TLS)" : "");
    } else {
        orch_info("main", "plaintext gRPC on %s (no --tls-cert)", cfg->listen);
    }
    return true;
}

/* The gRPC servers: the health-only port (if any), then the main one with every service. */
static bool start_servers(daemon_t *d)
{
    srv_settings_t *cfg = &d->cfg;
    orch_error_t err;
    d->app.health = srv_health_new();
    d->srv = srv_server_new(&(srv_config_t){.listen = cfg->listen,
                                            .threads = cfg->threads,
                                            .max_message_bytes = cfg->max_message_bytes,
                                            .keepalive_time_ms = cfg->keepalive_time_ms,
                                            .max_connection_age_ms = cfg->max_connection_age_ms,
                                            .max_concurrent_streams = cfg->max_concurrent_streams,
                                            .app = &d->app,
                                            .auth = d->auth_live ? srv_auth_live_check : NULL,
                                            .auth_data = d->auth_live,
                                            .credentials = d->tls_creds});
    srv_server_add_methods(d->srv, srv_health_methods);
    srv_server_add_methods(d->srv, srv_product_methods);
    srv_server_add_methods(d->srv, srv_subscription_methods);
    srv_server_add_methods(d->srv, srv_process_methods);
    srv_server_add_methods(d->srv, srv_workflow_methods);
    srv_server_add_methods(d->srv, srv_engine_methods);
    srv_server_add_methods(d->srv, srv_schedule_methods);
    srv_server_add_methods(d->srv, srv_watch_methods);
    srv_server_add_methods(d->srv, srv_reflection_methods);
    srv_server_add_methods(d->srv, srv_worker_methods);
    srv_server_add_methods(d->srv, srv_definition_methods);
    orch_error_init(&err);
    /* The health-only port first: once the main port answers, so does the probes' port (a
     * client that saw the main port serving never finds the other one closed). */
    if (cfg->health_listen[0]) {
        d->health_srv = srv_server_new(&(srv_config_t){
            .listen = cfg->health_listen, .threads = 1, .max_message_bytes = 4096, .app = &d->app});
        srv_server_add_methods(d->health_srv, srv_health_methods);
        if (srv_server_start(d->health_srv, &err)) {
            orch_err("main", "health port: %s", err.message);
            return false;
        }
        orch_info("main", "health checks also on %s", cfg->health_listen);
    }
    if (srv_server_start(d->srv, &err)) {
        orch_err("main", "%s", err.message);
        if (d->health_srv)
            srv_server_shutdown(d->health_srv, 0);
        return false;
    }
    return true;
}

/* The readiness watchdog, once the servers answer. False: its thread did not start (the
 * servers are shut down again). */
static bool start_watchdog(daemon_t *d)
{
    if (!watchdog_start(&d->wd, &d->app, d->cfg.db_check_ms)) {
        orch_err("main", "cannot start the readiness watchdog's thread");
        srv_server_shutdown(d->srv, 0);
        if (d->health_srv)
            srv_server_shutdown(d->health_srv, 0);
        return false;
    }
    d->wd_running = true;
    orch_info("main", "serving on %s", d->cfg.listen);
    return true;
}

/* Serves until SIGINT or SIGTERM (returned); SIGHUP reloads the authentication keys. */
static int wait_for_stop(daemon_t *d)
{
    orch_error_t err;
    int sig;
    while ((sig = stop_pipe_wait()) == SIGHUP) {
        if (!d->auth_live) {
            orch_info("main", "SIGHUP: authentication is off, no keys to reload");
            continue;
        }
        orch_error_init(&err);
        if (srv_auth_live_reload(d->auth_live, &d->auth_cfg, &err))
            orch_warn("main", "SIGHUP: keys not reloaded, the running ones stay: %s", err.message);
    }
    return sig;
}

/* The drain: not ready, claim nothing more; steps running now roll back and their leases
 * are released, so another replica continues them at once; calls get the grace. */
static void drain(daemon_t *d, int sig)
{
    orch_info("main", "%s: draining (grace %d s)", sig == SIGINT ? "SIGINT" : "SIGTERM",
              d->cfg.grace_seconds);
    atomic_store(&d->app.draining, 1);
    srv_health_publish(&d->app);
    db_listener_free(d->listener); /* its callbacks wake the engine: gone first */
    d->listener = NULL;
    orch_scheduler_stop(d->scheduler);
    d->scheduler = NULL;
    orch_engine_stop(d->engine);
    d->engine = NULL;
    srv_watch_stop(d->app.watch);
    srv_workers_stop(d->app.workers);
    srv_server_shutdown(d->srv, d->cfg.grace_seconds * 1000);
    if (d->health_srv)
        srv_server_shutdown(d->health_srv, 1000);
    orch_info("main", "stopped");
}

/* Frees whatever was started, in the order that keeps every callback's target alive. */
static void teardown(daemon_t *d)
{
    if (d->wd_running)
        watchdog_stop(&d->wd);
    db_listener_free(d->listener);
    orch_scheduler_stop(d->scheduler);
    orch_engine_stop(d->engine);
    srv_metrics_http_stop(d->metrics);
    srv_watch_stop(d->app.watch);
    srv_workers_stop(d->app.workers);
    srv_server_free(d->srv);
    srv_server_free(d->health_srv);
    srv_health_free(d->app.health);
    srv_watch_free(d->app.watch); /* after the listener that calls into it */
    srv_workers_free(d->app.workers);
    if (d->tls_creds)
        grpc_server_credentials_release(d->tls_creds);
    srv_auth_free(d->auth);
    srv_auth_live_free(d->auth_live);
    if (d->grpc_up)
        grpc_shutdown();
    orch_store_free(d->app.store);
    orch_subcache_free(d->app.subcache); /* after the listener, the server and the store */
    orch_registry_free(d->registry);
    orch_catalog_free(d->cat);
    /* Last: the registry's workflows and the catalogue's offered lists point into it. */
    orch_wfdefs_free(d->app.wfdefs);
    db_pool_free(d->pool);
    srv_config_cleanup(&d->cfg);
}

/* The stop signals only write their number to a pipe that the daemon waits on: whatever
 * thread the kernel picks to deliver them (gRPC's own threads do not all keep an inherited
 * mask), the handler is async-signal-safe and the process is never killed mid-drain. */
static bool setup_signals(void)
{
    if (stop_pipe_init() != 0) {
        orch_err("main", "cannot set up signal handling");
        return false;
    }
    return true;
}

int orch_daemon_main(int argc, char **argv, const orch_daemon_extras_t *extras)
{
    static const orch_daemon_extras_t none = {0};
    daemon_t d;
    int status = 1;

    memset(&d, 0, sizeof(d));
    d.x = extras ? extras : &none;
    switch (srv_config_load(&d.cfg, argc, argv)) {
    case SRV_CONFIG_RUN:
        break;
    case SRV_CONFIG_EXIT_OK:
        srv_config_cleanup(&d.cfg);
        return 0;
    case SRV_CONFIG_EXIT_USAGE:
        srv_config_cleanup(&d.cfg);
        return 2;
    }
    if (!setup_signals())
        goto out;
    srv_config_dump(&d.cfg);
    if (!setup_security(&d) || !load_catalogue(&d) || !open_database(&d))
        goto out;
    if (d.mode == DB_MIGRATE_ONLY) {
        status = 0;
        goto out;
    }
    if (!open_store(&d) || !start_metrics(&d) || !start_engine(&d) || !start_listener(&d))
        goto out;
    if (!start_grpc(&d) || !start_servers(&d) || !start_watchdog(&d))
        goto out;
    drain(&d, wait_for_stop(&d));
    status = 0;
out:
    teardown(&d);
    return status;
}
