/* The integration harness. Failures here fail the test with a message naming the cause,
 * since a harness that silently skips would let every test pass. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "grpc/health/v1/health.pb-c.h"

extern char **environ;

/* Servers still running, so that a test failing half-way (cmocka jumps out of it) does not
 * leave orchestratord processes behind: they are killed when the test program exits. */
#define MAX_LIVE 64
static pid_t live[MAX_LIVE];

static void kill_live(void)
{
    for (int i = 0; i < MAX_LIVE; i++) {
        if (live[i] > 0) {
            kill(live[i], SIGKILL);
            waitpid(live[i], NULL, 0);
            live[i] = 0;
        }
    }
}

static void live_add(pid_t pid)
{
    static bool registered;
    if (!registered) {
        atexit(kill_live);
        registered = true;
    }
    for (int i = 0; i < MAX_LIVE; i++) {
        if (live[i] == 0) {
            live[i] = pid;
            return;
        }
    }
}

static void live_remove(pid_t pid)
{
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i] == pid)
            live[i] = 0;
}

const char *harness_server_bin(void)
{
    return ORCH_SERVER_BIN;
}

const char *harness_production_server_bin(void)
{
    return ORCH_PRODUCTION_SERVER_BIN;
}

const char *harness_orchctl_bin(void)
{
    return ORCH_ORCHCTL_BIN;
}

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set: run the integration tests through scripts/test.sh, which "
                 "starts a throwaway PostgreSQL",
                 name);
    return v;
}

void harness_conninfo(const char *dbname, char *out)
{
    snprintf(out, 512, "host=%s port=%s user=%s dbname=%s", env_or_fail("ORCH_TEST_PGHOST"),
             env_or_fail("ORCH_TEST_PGPORT"), env_or_fail("ORCH_TEST_PGUSER"), dbname);
}

long long harness_scalar(const char *dbname, const char *fmt, ...)
{
    char q[4096], ci[512];
    va_list ap;
    PGconn *c;
    PGresult *r;
    long long v = 0;
    va_start(ap, fmt);
    vsnprintf(q, sizeof(q), fmt, ap);
    va_end(ap);
    harness_conninfo(dbname, ci);
    c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to %s: %s", dbname, PQerrorMessage(c));
    r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", q, PQerrorMessage(c));
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

static void admin_exec(const char *sql)
{
    char ci[512];
    PGconn *c;
    PGresult *r;

    harness_conninfo("postgres", ci);
    c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot reach the test PostgreSQL (%s): %s", ci, PQerrorMessage(c));
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

void harness_db_create(char *out)
{
    static int counter;
    char sql[128];
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, 64, "orch_t_%d_%d_%ld", (int)getpid(), ++counter, ts.tv_nsec % 100000);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", out);
    admin_exec(sql);
}

void harness_db_drop(const char *name)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    admin_exec(sql);
}

/* A port the kernel says is free right now. */
int harness_free_port(void)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        fail_msg("cannot find a free port: %s", strerror(errno));
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Does something accept TCP connections on 127.0.0.1:port? Polled before the first gRPC
 * call, because a channel that fails to connect backs off for seconds. */
static bool port_open(int port)
{
    struct sockaddr_in a = {0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool health_serving(cli_channel_t *ch)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    bool ok = false;

    if (cli_call_unary(ch, "/grpc.health.v1.Health/Check", &req.base,
                       &grpc__health__v1__health_check_response__descriptor, 1000, &resp,
                       &st) == 0) {
        ok = ((Grpc__Health__V1__HealthCheckResponse *)resp)->status ==
             GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    cli_status_cleanup(&st);
    return ok;
}

static void print_log_tail(const char *path)
{
    char line[1024];
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    fprintf(stderr, "---- %s ----\n", path);
    while (fgets(line, sizeof(line), f))
        fputs(line, stderr);
    fclose(f);
}

bool harness_log_has(const harness_server_t *s, const char *needle)
{
    char line[4096];
    bool found = false;
    FILE *f = fopen(s->log_path, "r");
    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

bool harness_wait_log(const harness_server_t *s, const char *needle, int ms)
{
    struct timespec start, now, tick = {0, 20 * 1000000L};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (harness_log_has(s, needle))
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >= ms)
            return false;
        nanosleep(&tick, NULL);
    }
}

/* Spawns the server on a port free a moment ago and waits until it serves. True when it
 * does; false when it exited because another process took the port in between (the test
 * command's suites share the machine's ports: a concurrent one, or a test at -j2). Health
 * alone cannot tell: the other process may be another test's orchestratord, which answers
 * SERVING on that port while this one exits. The server's own "serving on" line can. */
static bool server_spawn(harness_server_t *s, const char *logdir, const char *const *extra)
{
    const char *argv[32];
    posix_spawn_file_actions_t fa;
    char serving[96];
    int n = 0, status;
    struct timespec start, now;

    s->port = harness_free_port();
    snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%d", s->port);
    snprintf(s->log_path, sizeof(s->log_path), "%s/orchestratord-%s-%d.log", logdir, s->dbname,
             s->port);
    snprintf(serving, sizeof(serving), "serving on %s", s->addr);

    argv[n++] = harness_server_bin();
    argv[n++] = "--listen";
    argv[n++] = s->addr;
    argv[n++] = "--database-url";
    argv[n++] = s->conninfo;
    argv[n++] = "--threads";
    argv[n++] = "4";
    argv[n++] = "--log-level";
    argv[n++] = "debug";
    for (int i = 0; extra && extra[i] && n < 30; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, s->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&s->pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0)
        fail_msg("cannot start %s: %s", argv[0], strerror(errno));
    posix_spawn_file_actions_destroy(&fa);
    live_add(s->pid);

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            live_remove(s->pid);
            s->pid = 0;
            cli_channel_free(s->ch);
            s->ch = NULL;
            if (harness_log_has(s, "cannot listen on"))
                return false;
            print_log_tail(s->log_path);
            fail_msg("orchestratord exited during start-up (status %d)", status);
        }
        if (!s->ch && port_open(s->port))
            s->ch = cli_channel_new(s->addr, NULL);
        if (s->ch && health_serving(s->ch) && harness_log_has(s, serving))
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 30) {
            print_log_tail(s->log_path);
            fail_msg("orchestratord did not become ready within 30 s");
        }
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
}

void harness_server_start(harness_server_t *s, const char *dbname, const char *const *extra)
{
    const char *logdir = getenv("ORCH_TEST_LOG_DIR");

    memset(s, 0, sizeof(*s));
    if (dbname)
        snprintf(s->dbname, sizeof(s->dbname), "%s", dbname);
    else
        harness_db_create(s->dbname);
    harness_conninfo(s->dbname, s->conninfo);
    if (!logdir || !*logdir)
        logdir = "/tmp";
    mkdir(logdir, 0755);
    for (int attempt = 1; !server_spawn(s, logdir, extra); attempt++) {
        if (attempt == 3) {
            print_log_tail(s->log_path);
            fail_msg("orchestratord found no free port in 3 attempts");
        }
        fprintf(stderr, "harness: port %d was taken before orchestratord bound it; again\n",
                s->port);
    }
}

int harness_server_stop(harness_server_t *s)
{
    int status = 0;
    struct timespec start, now;

    cli_channel_free(s->ch);
    s->ch = NULL;
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 20) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            live_remove(s->pid);
            print_log_tail(s->log_path);
            s->pid = 0;
            return -1;
        }
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    live_remove(s->pid);
    s->pid = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        print_log_tail(s->log_path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void harness_server_kill(harness_server_t *s)
{
    cli_channel_free(s->ch);
    s->ch = NULL;
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    live_remove(s->pid);
    s->pid = 0;
}

int harness_run(const char *const *argv, char *out, size_t cap)
{
    char path[] = "/tmp/orch-harness-XXXXXX";
    int fd = mkostemp(path, O_CLOEXEC), status;
    posix_spawn_file_actions_t fa;
    pid_t pid;
    ssize_t got;

    if (fd < 0)
        fail_msg("mkstemp: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    posix_spawn_file_actions_adddup2(&fa, fd, 2);
    if (posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0)
        fail_msg("cannot run %s", argv[0]);
    posix_spawn_file_actions_destroy(&fa);
    waitpid(pid, &status, 0);
    lseek(fd, 0, SEEK_SET);
    got = read(fd, out, cap - 1);
    out[got > 0 ? got : 0] = '\0';
    close(fd);
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int harness_http_get(int port, const char *path, char *out, size_t cap)
{
    struct sockaddr_in a = {0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = -1;
    char req[256];
    size_t got = 0;
    ssize_t n;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    out[0] = '\0';
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (write(fd, req, strlen(req)) < 0) {
        close(fd);
        return -1;
    }
    while (got + 1 < cap && (n = read(fd, out + got, cap - 1 - got)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(fd);
    if (sscanf(out, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    {
        char *body = strstr(out, "\r\n\r\n");
        if (body)
            memmove(out, body + 4, strlen(body + 4) + 1);
    }
    return status;
}
