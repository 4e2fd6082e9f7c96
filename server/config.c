/* The configuration table and its three uses: parse, help, dump. */
#include "server/config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"

#ifndef ORCH_VERSION
#define ORCH_VERSION "0.0.0"
#endif

typedef enum { T_STR, T_INT } opt_type_t;

typedef struct opt {
    const char *flag; /* without "--" */
    const char *env;
    opt_type_t type;
    const char *def;
    size_t offset;
    int min, max; /* for T_INT */
    const char *help;
    bool secret;
} opt_t;

#define OFF(f) offsetof(srv_settings_t, f)

static const opt_t opts[] = {
    {"listen", "ORCH_LISTEN", T_STR, "127.0.0.1:50051", OFF(listen), 0, 0,
     "address:port to serve gRPC on", false},
    {"health-listen", "ORCH_HEALTH_LISTEN", T_STR, "", OFF(health_listen), 0, 0,
     "optional plaintext address:port serving only grpc.health.v1 (for probes when the main "
     "port needs client certificates)",
     false},
    {"metrics-listen", "ORCH_METRICS_LISTEN", T_STR, "", OFF(metrics_listen), 0, 0,
     "optional host:port serving Prometheus metrics at /metrics over plain HTTP", false},
    {"database-url", "ORCH_DATABASE_URL", T_STR, "dbname=orchestrator", OFF(database_url), 0, 0,
     "PostgreSQL connection string (libpq keyword/value or URI)", true},
    {"threads", "ORCH_THREADS", T_INT, "8", OFF(threads), 1, 256,
     "gRPC threads for unary calls, sharing one queue (handlers block on the database: "
     "more than cores); streams get (threads + 1) / 2 more",
     false},
    {"db-prepare", "ORCH_DB_PREPARE", T_STR, "on", OFF(db_prepare), 0, 0,
     "on: statements that repeat are prepared once per connection; off: for a pooler in "
     "transaction mode",
     false},
    {"pool-size", "ORCH_POOL_SIZE", T_INT, "8", OFF(pool_size), 1, 1000,
     "database connections in the pool", false},
    {"migrate", "ORCH_MIGRATE", T_STR, "auto", OFF(migrate), 0, 0,
     "auto: migrate then serve; only: migrate then exit; check: refuse a pending migration", false},
    {"log-level", "ORCH_LOG_LEVEL", T_STR, "info", OFF(log_level), 0, 0,
     "debug, info, warn or error", false},
    {"log-format", "ORCH_LOG_FORMAT", T_STR, "text", OFF(log_format), 0, 0,
     "text or json (one JSON object per line)", false},
    {"grace", "ORCH_GRACE", T_INT, "10", OFF(grace_seconds), 0, 3600,
     "seconds calls in flight may take to finish on SIGTERM", false},
    {"max-message-bytes", "ORCH_MAX_MESSAGE_BYTES", T_INT, "4194304", OFF(max_message_bytes), 1024,
     64 * 1024 * 1024, "largest request message accepted", false},
    {"keepalive-time-ms", "ORCH_KEEPALIVE_TIME_MS", T_INT, "0", OFF(keepalive_time_ms), 0, 86400000,
     "HTTP/2 keepalive ping interval to clients (0: the gRPC default)", false},
    {"max-connection-age-ms", "ORCH_MAX_CONNECTION_AGE_MS", T_INT, "0", OFF(max_connection_age_ms),
     0, 2147483647, "close client connections after this age so meshes re-balance (0: never)",
     false},
    {"max-concurrent-streams", "ORCH_MAX_CONCURRENT_STREAMS", T_INT, "2000",
     OFF(max_concurrent_streams), 1, 1000000,
     "calls (streams) one HTTP/2 connection may have open at once; more wait in the client", false},
    {"max-watchers", "ORCH_MAX_WATCHERS", T_INT, "10000", OFF(max_watchers), 1, 1000000,
     "watch streams this replica serves in all (more: RESOURCE_EXHAUSTED)", false},
    {"max-watchers-per-client", "ORCH_MAX_WATCHERS_PER_CLIENT", T_INT, "1000",
     OFF(max_watchers_per_client), 1, 1000000,
     "watch streams of one client (its token's identity, else its address)", false},
    {"watch-stall-ms", "ORCH_WATCH_STALL_MS", T_INT, "30000", OFF(watch_stall_ms), 100, 3600000,
     "a watch stream whose reader takes nothing for this long is ended (RESOURCE_EXHAUSTED)",
     false},
    {"watch-backlog-events", "ORCH_WATCH_BACKLOG_EVENTS", T_INT, "1000", OFF(watch_backlog_events),
     100, 1000000,
     "events queued to one live watch stream before it is ended (RESOURCE_EXHAUSTED "
     "WATCHER_TOO_SLOW, with where to resume)",
     false},
    {"watch-read-interval-ms", "ORCH_WATCH_READ_INTERVAL_MS", T_INT, "5",
     OFF(watch_read_interval_ms), 0, 1000,
     "the watch hub reads new events at most once per this many ms: the NOTIFYs of a burst "
     "share one read (0 = read on every NOTIFY)",
     false},
    {"watch-backlog-bytes", "ORCH_WATCH_BACKLOG_BYTES", T_INT, "4194304", OFF(watch_backlog_bytes),
     65536, 1073741824, "bytes queued to one live watch stream before it is ended the same way",
     false},
    {"subscription-cache-mb", "ORCH_SUBSCRIPTION_CACHE_MB", T_INT, "256",
     OFF(subscription_cache_mb), 0, 1048576,
     "memory for the subscriptions this replica keeps encoded for GetSubscription, least "
     "recently used out first (0: off; 256 MiB hold about 100,000 port-sized trees)",
     false},
    {"listen-database-url", "ORCH_LISTEN_DATABASE_URL", T_STR, "", OFF(listen_database_url), 0, 0,
     "connection string of the one LISTEN session (unset: --database-url); set it when "
     "--database-url is a pooler in transaction mode, where LISTEN does not work",
     true},
    {"db-check-ms", "ORCH_DB_CHECK_MS", T_INT, "1000", OFF(db_check_ms), 100, 60000,
     "how often readiness checks the database", false},
    {"workers", "ORCH_WORKERS", T_INT, "2", OFF(workers), 0, 256,
     "engine worker threads running workflow steps (0: this replica runs no steps)", false},
    {"stretches-per-worker", "ORCH_STRETCHES_PER_WORKER", T_INT, "8", OFF(stretches_per_worker), 1,
     64,
     "processes one engine worker holds at once: it runs their next steps in turn and commits "
     "them together (1: one process at a time)",
     false},
    {"lease-ms", "ORCH_LEASE_MS", T_INT, "30000", OFF(lease_ms), 500, 3600000,
     "lease of a running process; a dead replica's processes are taken over after it", false},
    {"poll-ms", "ORCH_POLL_MS", T_INT, "2000", OFF(poll_ms), 10, 600000,
     "how often idle workers look for work when no notification woke them", false},
    {"replica-dead-ms", "ORCH_REPLICA_DEAD_MS", T_INT, "4500", OFF(replica_dead_ms), 2000, 3600000,
     "a replica whose heartbeat (every second) is older than this is lost: the live replicas "
     "take its processes over without waiting for the leases to expire",
     false},
    {"worker-lease-ms", "ORCH_WORKER_LEASE_MS", T_INT, "30000", OFF(worker_lease_ms), 200, 3600000,
     "lease of a task delivered to a step worker, renewed by its heartbeats; when it runs out "
     "the task goes to another worker",
     false},
    {"worker-heartbeat-ms", "ORCH_WORKER_HEARTBEAT_MS", T_INT, "5000", OFF(worker_heartbeat_ms), 50,
     600000, "how often step workers send heartbeats; three missed end the worker's stream", false},
    {"worker-poll-ms", "ORCH_WORKER_POLL_MS", T_INT, "1000", OFF(worker_poll_ms), 10, 600000,
     "how often the step-worker hub looks for tasks whose lease ran out or whose back-off "
     "ended (new tasks wake it at once)",
     false},
    {"worker-max-result-bytes", "ORCH_WORKER_MAX_RESULT_BYTES", T_INT, "1048576",
     OFF(worker_max_result_bytes), 1024, 67108864,
     "a step worker's state delta as JSON, at most (more: INVALID_ARGUMENT RESULT_TOO_LARGE)",
     false},
    {"tls-cert", "ORCH_TLS_CERT", T_STR, "", OFF(tls_cert), 0, 0,
     "PEM certificate chain for TLS on --listen (with --tls-key); unset: plaintext", false},
    {"tls-key", "ORCH_TLS_KEY", T_STR, "", OFF(tls_key), 0, 0, "PEM private key of --tls-cert",
     false},
    {"tls-client-ca", "ORCH_TLS_CLIENT_CA", T_STR, "", OFF(tls_client_ca), 0, 0,
     "PEM CA bundle: require client certificates signed by it (mutual TLS)", false},
    {"auth", "ORCH_AUTH", T_STR, "off", OFF(auth), 0, 0,
     "on: every call but health needs a bearer token (JWT or API token); off: anyone may "
     "call anything (local development only; logs a warning)",
     false},
    {"jwt-secret-file", "ORCH_JWT_SECRET_FILE", T_STR, "", OFF(jwt_secret_file), 0, 0,
     "file holding the HS256 shared secret (32 bytes or more)", false},
    {"jwt-public-key-file", "ORCH_JWT_PUBLIC_KEY_FILE", T_STR, "", OFF(jwt_public_key_file), 0, 0,
     "PEM public key verifying JWTs: RSA for RS256, EC P-256 for ES256", false},
    {"jwt-issuer", "ORCH_JWT_ISSUER", T_STR, "", OFF(jwt_issuer), 0, 0,
     "required \"iss\" of JWTs (unset: any issuer)", false},
    {"jwt-audience", "ORCH_JWT_AUDIENCE", T_STR, "", OFF(jwt_audience), 0, 0,
     "required \"aud\" of JWTs (unset: any audience)", false},
    {"api-tokens-file", "ORCH_API_TOKENS_FILE", T_STR, "", OFF(api_tokens_file), 0, 0,
     "static API tokens, one \"sha256-hex role name\" per line", false},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void usage(FILE *out)
{
    fprintf(out, "usage: orchestratord [options]\n\n"
                 "Serves the orchestrator gRPC API on PostgreSQL. Every option can also be\n"
                 "set through its environment variable; a flag wins over the environment.\n\n");
    for (size_t i = 0; i < NOPTS; i++)
        fprintf(out, "  --%-18s %-4s %s\n  %-20s      env %s, default %s\n", opts[i].flag,
                opts[i].type == T_INT ? "N" : "STR", opts[i].help, "", opts[i].env, opts[i].def);
    fprintf(out, "  --%-18s      print the version and exit\n", "version");
    fprintf(out, "  --%-18s      print this help and exit\n", "help");
}

static int set_value(srv_settings_t *s, const opt_t *o, const char *v, const char *origin)
{
    char *base = (char *)s;
    if (o->type == T_STR) {
        char **dst = (char **)(base + o->offset);
        free(*dst);
        *dst = orch_strdup(v);
        return 0;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < o->min || n > o->max) {
        fprintf(stderr,
                "orchestratord: %s for --%s must be a whole number from %d to %d, not "
                "'%s'\n",
                origin, o->flag, o->min, o->max, v);
        return -1;
    }
    *(int *)(base + o->offset) = (int)n;
    return 0;
}

srv_config_result_t srv_config_load(srv_settings_t *s, int argc, char **argv)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < NOPTS; i++)
        if (set_value(s, &opts[i], opts[i].def, "the default") != 0)
            return SRV_CONFIG_EXIT_USAGE;
    for (size_t i = 0; i < NOPTS; i++) {
        const char *v = getenv(opts[i].env);
        if (v && set_value(s, &opts[i], v, opts[i].env) != 0)
            return SRV_CONFIG_EXIT_USAGE;
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a], *val = NULL;
        const opt_t *o = NULL;
        size_t n;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return SRV_CONFIG_EXIT_OK;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("orchestratord %s\n", ORCH_VERSION);
            return SRV_CONFIG_EXIT_OK;
        }
        if (strncmp(arg, "--", 2) != 0)
            goto bad;
        arg += 2;
        n = strcspn(arg, "=");
        for (size_t i = 0; i < NOPTS; i++)
            if (strlen(opts[i].flag) == n && strncmp(opts[i].flag, arg, n) == 0)
                o = &opts[i];
        if (!o)
            goto bad;
        if (arg[n] == '=')
            val = arg + n + 1;
        else if (a + 1 < argc)
            val = argv[++a];
        else {
            fprintf(stderr, "orchestratord: --%s needs a value\n", o->flag);
            return SRV_CONFIG_EXIT_USAGE;
        }
        if (set_value(s, o, val, "the value") != 0)
            return SRV_CONFIG_EXIT_USAGE;
        continue;
    bad:
        fprintf(stderr, "orchestratord: unknown option '%s' (see --help)\n", argv[a]);
        return SRV_CONFIG_EXIT_USAGE;
    }
    if (strcmp(s->migrate, "auto") && strcmp(s->migrate, "only") && strcmp(s->migrate, "check")) {
        fprintf(stderr, "orchestratord: --migrate must be auto, only or check\n");
        return SRV_CONFIG_EXIT_USAGE;
    }
    if (strcmp(s->db_prepare, "on") && strcmp(s->db_prepare, "off")) {
        fprintf(stderr, "orchestratord: --db-prepare must be on or off\n");
        return SRV_CONFIG_EXIT_USAGE;
    }
    if (strcmp(s->auth, "on") && strcmp(s->auth, "off")) {
        fprintf(stderr, "orchestratord: --auth must be on or off\n");
        return SRV_CONFIG_EXIT_USAGE;
    }
    if (strcmp(s->auth, "on") == 0 && !s->jwt_secret_file[0] && !s->jwt_public_key_file[0] &&
        !s->api_tokens_file[0]) {
        fprintf(stderr, "orchestratord: --auth=on needs a way to verify tokens: "
                        "--jwt-secret-file, --jwt-public-key-file or --api-tokens-file\n");
        return SRV_CONFIG_EXIT_USAGE;
    }
    if (!s->tls_cert[0] != !s->tls_key[0]) {
        fprintf(stderr, "orchestratord: TLS needs both --tls-cert and --tls-key\n");
        return SRV_CONFIG_EXIT_USAGE;
    }
    if (s->tls_client_ca[0] && !s->tls_cert[0]) {
        fprintf(stderr, "orchestratord: --tls-client-ca (mutual TLS) needs --tls-cert and "
                        "--tls-key\n");
        return SRV_CONFIG_EXIT_USAGE;
    }
    if (orch_log_set_level(s->log_level) != 0) {
        fprintf(stderr, "orchestratord: --log-level must be debug, info, warn or error\n");
        return SRV_CONFIG_EXIT_USAGE;
    }
    if (orch_log_set_format(s->log_format) != 0) {
        fprintf(stderr, "orchestratord: --log-format must be text or json\n");
        return SRV_CONFIG_EXIT_USAGE;
    }
    return SRV_CONFIG_RUN;
}

void srv_config_cleanup(srv_settings_t *s)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (opts[i].type == T_STR) {
            char **p = (char **)((char *)s + opts[i].offset);
            free(*p);
            *p = NULL;
        }
}

/* Masks password=... in keyword/value form and user:password@ in URIs. */
static char *mask_secret(const char *v)
{
    char *out = orch_strdup(v), *p;
    if ((p = strstr(out, "password=")) != NULL) {
        for (p += 9; *p && *p != ' '; p++)
            *p = '*';
    }
    if ((p = strstr(out, "://")) != NULL) {
        char *at = strchr(p + 3, '@'), *colon = strchr(p + 3, ':');
        if (at && colon && colon < at)
            for (char *q = colon + 1; q < at; q++)
                *q = '*';
    }
    return out;
}

void srv_config_dump(const srv_settings_t *s)
{
    for (size_t i = 0; i < NOPTS; i++) {
        const char *base = (const char *)s;
        if (opts[i].type == T_INT) {
            orch_info("config", "%s = %d", opts[i].flag, *(const int *)(base + opts[i].offset));
        } else {
            const char *v = *(char *const *)(base + opts[i].offset);
            char *m = opts[i].secret ? mask_secret(v) : NULL;
            orch_info("config", "%s = %s", opts[i].flag, m ? m : v);
            free(m);
        }
    }
}
