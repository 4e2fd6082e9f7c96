/* Integration test harness: a fresh database per test on the throwaway cluster that the
 * test command started (ORCH_TEST_PGHOST / ORCH_TEST_PGPORT / ORCH_TEST_PGUSER), and the
 * real orchestratord started with posix_spawn (never fork after grpc_init), stopped with
 * SIGTERM, its exit status checked. */
#ifndef TEST_HARNESS_H
#define TEST_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "channel.h"

typedef struct harness_server {
    pid_t pid;
    int port;
    char addr[64];
    char dbname[64];
    char conninfo[512];
    char log_path[512];
    cli_channel_t *ch;
} harness_server_t;

/* Creates a fresh database; name written to out (64 bytes). Fails the test on error. */
void harness_db_create(char *out);
void harness_db_drop(const char *name);
/* conninfo for a database on the test cluster (out: 512 bytes). */
void harness_conninfo(const char *dbname, char *out);

/* Runs one SQL statement (printf format) on dbname and returns the first column of its first
 * row as a number (0 when there is no row). Fails the test on a SQL error. */
long long harness_scalar(const char *dbname, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Starts orchestratord on a free port against dbname (created if dbname is NULL), waits
 * until health Check answers SERVING (30 s), and opens a channel to it. extra_args: a
 * NULL-terminated list of extra flags, or NULL. */
void harness_server_start(harness_server_t *s, const char *dbname, const char *const *extra_args);
/* SIGTERM, waits up to 20 s; returns the exit status (or -1 if killed / timed out). Closes
 * the channel. Keeps the database. */
int harness_server_stop(harness_server_t *s);
/* Does a line of the server's log (s->log_path) hold needle? */
bool harness_log_has(const harness_server_t *s, const char *needle);
/* Waits up to ms for such a line; harness_log_has's answer at the end. */
bool harness_wait_log(const harness_server_t *s, const char *needle, int ms);

/* SIGKILL (a crash, as a fault test injects it), reaped without printing its log. Closes
 * the channel. Keeps the database. */
void harness_server_kill(harness_server_t *s);

/* Runs a program with args (argv[0] = path) and captures stdout+stderr into out (cap bytes,
 * NUL-terminated). Returns its exit status, or -1. Uses posix_spawn. */
int harness_run(const char *const *argv, char *out, size_t cap);

/* GET http://127.0.0.1:port<path>; the body into out (cap bytes). Returns the HTTP status,
 * or -1. */
int harness_http_get(int port, const char *path, char *out, size_t cap);

/* A TCP port that is free on 127.0.0.1 right now. */
int harness_free_port(void);

/* Path of the built binaries (compile-time definitions). The server the tests run is the
 * test binary orchestratord-test (the daemon with the test workflows and the ORCH_TEST_*
 * hooks, tests/testbin/); the production orchestratord is named for the checks on it. */
const char *harness_server_bin(void);
const char *harness_production_server_bin(void);
const char *harness_orchctl_bin(void);

#endif
