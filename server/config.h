/* orchestratord's configuration: one table of {flag, env var, type, default, help, secret}
 * that drives parsing (flags override ORCH_* environment), --help and the start-up dump
 * (secrets masked). */
#ifndef SRV_CONFIG_H
#define SRV_CONFIG_H

#include <stdbool.h>

typedef struct srv_settings {
    char *listen;
    char *health_listen;
    char *metrics_listen;
    char *database_url;
    int threads;
    int pool_size;
    char *db_prepare; /* "on" / "off" */
    char *migrate;
    char *log_level;
    char *log_format;
    int grace_seconds;
    int max_message_bytes;
    int keepalive_time_ms;
    int max_connection_age_ms;
    int db_check_ms;
    int watch_stall_ms;
    int max_concurrent_streams; /* per HTTP/2 connection */
    int max_watchers, max_watchers_per_client;
    int watch_backlog_events;
    int watch_backlog_bytes;
    int watch_read_interval_ms; /* the watch hub reads at most once per this (0 = at once) */
    int workers;                /* engine worker threads */
    int stretches_per_worker;   /* processes one worker holds at once */
    int lease_ms;               /* process lease */
    int poll_ms;                /* idle workers' polling fallback */
    int replica_dead_ms;        /* heartbeat age past which a replica is lost and taken over */
    /* step workers (docs/WORKERS.md) */
    int worker_lease_ms;         /* a delivered task's lease */
    int worker_heartbeat_ms;     /* the heartbeat interval workers are told */
    int worker_poll_ms;          /* how often the hub looks for leases that ran out */
    int worker_max_result_bytes; /* an answer's state delta as JSON, at most */
    /* security (docs/SECURITY.md) */
    char *tls_cert;      /* PEM certificate chain; "" = plaintext */
    char *tls_key;       /* PEM private key */
    char *tls_client_ca; /* PEM CA bundle; set = mutual TLS */
    char *auth;          /* "on" or "off" */
    char *jwt_secret_file;
    char *jwt_public_key_file;
    char *jwt_issuer;
    char *jwt_audience;
    char *api_tokens_file;
    /* the subscription read cache (domain/subcache.h) */
    int subscription_cache_mb; /* 0 = off */
    char *listen_database_url; /* LISTEN's own connection string; "" = database_url */
} srv_settings_t;

typedef enum { SRV_CONFIG_RUN, SRV_CONFIG_EXIT_OK, SRV_CONFIG_EXIT_USAGE } srv_config_result_t;

/* Fills s from defaults, the environment and argv (in that order of precedence, last wins).
 * Prints --help / --version itself and says so through the result; prints a usage error
 * to stderr for a bad flag or value. */
srv_config_result_t srv_config_load(srv_settings_t *s, int argc, char **argv);
void srv_config_cleanup(srv_settings_t *s);
/* Logs every setting at info level, secrets (passwords in the database URL) masked. */
void srv_config_dump(const srv_settings_t *s);

#endif
