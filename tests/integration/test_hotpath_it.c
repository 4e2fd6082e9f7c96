/* The engine's hot path (issue 17) against real PostgreSQL: a 50-step process runs on one
 * claim; a fence lost in the middle of a stretch stops it with nothing committed twice; a
 * pause set on another replica stops a stretch before its next step; a group commit with one
 * failed fence commits the others; a process started next to an idle worker runs without a
 * poll; and bench_noop_10 costs at most one database round trip per committed step, every
 * round trip of the replica counted (/metrics). Counts, never times. */
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"
#include "orchestrator/v1/engine.pb-c.h"
#include "orchestrator/v1/processes.pb-c.h"

#define PS "/orchestrator.v1.ProcessService/"
#define ES "/orchestrator.v1.EngineService/"

static void msleep(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void env_reset(void)
{
    setenv("ORCH_TEST_WORKFLOWS", "1", 1);
    unsetenv("ORCH_TEST_HOLD_STEP");
    unsetenv("ORCH_TEST_HOLD_MS");
    unsetenv("ORCH_TEST_GROUP_COMMIT_MIN");
    unsetenv("ORCH_TEST_GROUP_COMMIT_FAIL_ONE");
    unsetenv("ORCH_TEST_HOLD_GROUP_COMMIT_MS");
}

/* One integer from a query, on the test's own connection (not counted by the server). */
static long long scalar(const char *dbname, const char *fmt, ...)
{
    char q[2048], ci[512];
    va_list ap;
    PGconn *c;
    PGresult *r;
    long long v;
    va_start(ap, fmt);
    vsnprintf(q, sizeof(q), fmt, ap);
    va_end(ap);
    harness_conninfo(dbname, ci);
    c = PQconnectdb(ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", q, PQerrorMessage(c));
    v = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    PQfinish(c);
    return v;
}

/* Waits (polling the database directly, so the server's counters stay clean) until the
 * query gives want; fails after ms. */
static void wait_scalar(const char *db, long long want, int ms, const char *q)
{
    int64_t until = now_ms() + ms;
    long long v;
    while ((v = scalar(db, "%s", q)) != want) {
        if (now_ms() > until)
            fail_msg("waited %d ms for %lld from: %s (last: %lld)", ms, want, q, v);
        msleep(20);
    }
}

static void start(harness_server_t *s, const char *workflow, char *id)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    req.workflow_name = (char *)workflow;
    cli_call_unary(s->ch, PS "StartProcess", &req.base,
                   &orchestrator__v1__start_process_response__descriptor, 10000, &resp, &st);
    if (st.code != 0)
        fail_msg("StartProcess %s: %d %s", workflow, st.code, st.message ? st.message : "");
    snprintf(id, 64, "%s", ((Orchestrator__V1__StartProcessResponse *)resp)->process->process_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
}

static int call(harness_server_t *s, const char *method, ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    int code;
    cli_call_unary(s->ch, method, req, d, 10000, &resp, &st);
    code = st.code;
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    return code;
}

static int engine(harness_server_t *s, const char *method)
{
    Orchestrator__V1__GetEngineStatusRequest req =
        ORCHESTRATOR__V1__GET_ENGINE_STATUS_REQUEST__INIT;
    return call(s, method, &req.base, &orchestrator__v1__engine_status__descriptor);
}

/* A counter or gauge without labels from /metrics (0 when absent). */
static double metric(int port, const char *name)
{
    static char out[1 << 18];
    char needle[256];
    const char *p;
    assert_int_equal(harness_http_get(port, "/metrics", out, sizeof(out)), 200);
    snprintf(needle, sizeof(needle), "\n%s ", name);
    p = strstr(out, needle);
    return p ? strtod(p + strlen(needle), NULL) : 0;
}

/* The sum of a counter's series with any labels matching a label filter (e.g.
 * "workflow=\"bench_noop_10\"") from /metrics. */
static double metric_sum(int port, const char *name, const char *label)
{
    static char out[1 << 18];
    char needle[256];
    double sum = 0;
    assert_int_equal(harness_http_get(port, "/metrics", out, sizeof(out)), 200);
    snprintf(needle, sizeof(needle), "\n%s{", name);
    for (const char *p = strstr(out, needle); p; p = strstr(p + 1, needle)) {
        const char *end = strchr(p + strlen(needle), '}');
        if (!end)
            break;
        if (!label || memmem(p, (size_t)(end - p), label, strlen(label)))
            sum += strtod(end + 1, NULL);
    }
    return sum;
}

/* metric_sum once it has reached want (10 s at most): a worker counts a step after its
 * commit returns, so the database can show a process completed a moment before the counter
 * shows its last step. */
static double metric_sum_reaching(int port, const char *name, const char *label, double want)
{
    int64_t until = now_ms() + 10000;
    double v;
    while ((v = metric_sum(port, name, label)) < want && now_ms() < until)
        msleep(10);
    return v;
}

static void assert_steps_once(const char *db)
{
    assert_int_equal(scalar(db, "SELECT count(*) FROM (SELECT process_id, step_key FROM "
                                "process_steps WHERE status IN ('success', 'skipped', "
                                "'complete') GROUP BY 1, 2 HAVING count(*) > 1) d"),
                     0);
}

static void metrics_args(char *addr, int *port)
{
    *port = harness_free_port();
    snprintf(addr, 64, "127.0.0.1:%d", *port);
}

/* 50 steps, one claim: the stretch keeps the lease from the first step to the last (it
 * yields to the local list on the way, which is no claim). */
static void fifty_steps_one_claim(void **state)
{
    harness_server_t s;
    char id[64], addr[64], q[256];
    int port;
    double claims0;
    (void)state;

    env_reset();
    metrics_args(addr, &port);
    harness_server_start(&s, NULL, (const char *const[]){"--metrics-listen", addr, NULL});
    claims0 = metric(port, "orch_process_claims_total");
    start(&s, "test_long_50", id);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_status = "
             "'completed'",
             id);
    wait_scalar(s.dbname, 1, 20000, q);
    assert_int_equal(
        scalar(s.dbname, "SELECT count(*) FROM process_steps WHERE process_id = '%s'", id), 50);
    assert_steps_once(s.dbname);
    assert_int_equal((long long)(metric(port, "orch_process_claims_total") - claims0), 1);
    assert_int_equal(
        scalar(s.dbname, "SELECT claim_count FROM processes WHERE process_id = '%s'", id), 1);
    assert_int_equal(
        (long long)metric_sum_reaching(port, "orch_steps_total", "workflow=\"test_long_50\"", 50),
        50);
    /* The row's state columns followed: 50 keys done, sequence 50. */
    assert_int_equal(scalar(s.dbname,
                            "SELECT cardinality(done_keys) * 1000 + step_seq FROM processes "
                            "WHERE process_id = '%s'",
                            id),
                     50050);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* An abort in the middle of a stretch bumps the lease token while step l10 is held before
 * its commit: that commit is refused, the stretch stops, and nothing is committed twice. */
static void fence_lost_mid_stretch(void **state)
{
    harness_server_t s;
    char id[64], q[256];
    Orchestrator__V1__AbortProcessRequest req = ORCHESTRATOR__V1__ABORT_PROCESS_REQUEST__INIT;
    (void)state;

    env_reset();
    setenv("ORCH_TEST_HOLD_STEP", "l10", 1);
    setenv("ORCH_TEST_HOLD_MS", "2000", 1);
    harness_server_start(&s, NULL, NULL);
    start(&s, "test_long_50", id);
    /* l01..l09 committed; l10 shown running (set by l09's commit) and held. */
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_step_key = 'l09' "
             "AND running_step_key = 'l10'",
             id);
    wait_scalar(s.dbname, 1, 10000, q);
    req.process_id = id;
    req.reason = "fence test";
    assert_int_equal(call(&s, PS "AbortProcess", &req.base,
                          &orchestrator__v1__abort_process_response__descriptor),
                     0);
    /* The held commit comes and is refused. */
    {
        int64_t until = now_ms() + 10000;
        while (!harness_log_has(&s, "step l10 not committed")) {
            if (now_ms() > until)
                fail_msg("the held step's commit was not refused");
            msleep(50);
        }
    }
    assert_int_equal(scalar(s.dbname,
                            "SELECT count(*) FROM process_steps WHERE process_id = '%s' AND "
                            "step_key LIKE 'l%%'",
                            id),
                     9);
    assert_int_equal(scalar(s.dbname,
                            "SELECT count(*) FROM process_steps WHERE process_id = '%s' AND "
                            "step_key IN ('l10', 'l11')",
                            id),
                     0);
    assert_int_equal(scalar(s.dbname,
                            "SELECT count(*) FROM processes WHERE process_id = '%s' AND "
                            "last_status = 'aborted' AND lease_owner IS NULL",
                            id),
                     1);
    assert_steps_once(s.dbname);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* The heartbeat renews the leases of what this replica holds; a row locked right then (in
 * the engine, a group commit of that process) is left to that commit. It used to wait for
 * the row instead, and deadlocked against group commits that held the rows in another
 * order. Here another session holds the row of a process the replica holds for longer than
 * two heartbeats: the heartbeats go on regardless, and the process completes once the row
 * is free. */
static void heartbeat_skips_locked_rows(void **state)
{
    harness_server_t s;
    char id[64], q[256], ci[512];
    PGconn *c;
    PGresult *r;
    long long before;
    (void)state;

    env_reset();
    setenv("ORCH_TEST_HOLD_STEP", "l10", 1);
    setenv("ORCH_TEST_HOLD_MS", "5000", 1);
    harness_server_start(&s, NULL, NULL);
    start(&s, "test_long_50", id);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND running_step_key = "
             "'l10' AND lease_owner IS NOT NULL",
             id);
    wait_scalar(s.dbname, 1, 10000, q);
    harness_conninfo(s.dbname, ci);
    c = PQconnectdb(ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    snprintf(q, sizeof(q), "BEGIN; SELECT 1 FROM processes WHERE process_id = '%s' FOR UPDATE", id);
    r = PQexec(c, q);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    before = scalar(s.dbname, "SELECT (extract(epoch FROM max(heartbeat_time)) * 1000)::bigint "
                              "FROM replicas WHERE stop_time IS NULL");
    msleep(2500); /* the heartbeat comes every second */
    assert_true(scalar(s.dbname, "SELECT (extract(epoch FROM max(heartbeat_time)) * 1000)::bigint "
                                 "FROM replicas WHERE stop_time IS NULL") >= before + 1000);
    r = PQexec(c, "ROLLBACK");
    PQclear(r);
    PQfinish(c);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_status = "
             "'completed'",
             id);
    wait_scalar(s.dbname, 1, 20000, q);
    assert_steps_once(s.dbname);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* A replica claims only processes of workflow versions it runs (replica_workflow_versions):
 * the claim's version check, written so that its plan never depends on the statistics
 * (db/store_process.c), must still leave another version's process alone. X is started on a
 * replica without workers and moved to a version no replica runs; Y, started on a replica
 * with workers, completes while its poll (every 100 ms) claims nothing of X. X ends as the
 * version sweep ends it, failed with WORKFLOW_VERSION_UNAVAILABLE, never claimed, no step
 * run. */
static void claim_only_known_versions(void **state)
{
    harness_server_t a, s;
    char x[64], y[64], q[512];
    (void)state;

    env_reset();
    harness_server_start(&a, NULL, (const char *const[]){"--workers", "0", NULL});
    start(&a, "bench_noop_10", x);
    snprintf(q, sizeof(q),
             "INSERT INTO workflow_versions (workflow_id, version, steps, steps_digest) "
             "SELECT workflow_id, 99, steps, 'another build' FROM workflow_versions v "
             "WHERE (v.workflow_id, v.version) = (SELECT workflow_id, workflow_version FROM "
             "processes WHERE process_id = '%s') RETURNING 1",
             x);
    assert_int_equal(scalar(a.dbname, "%s", q), 1);
    snprintf(q, sizeof(q),
             "UPDATE processes SET workflow_version = 99 WHERE process_id = '%s' AND runnable "
             "AND lease_owner IS NULL RETURNING 1",
             x);
    assert_int_equal(scalar(a.dbname, "%s", q), 1);
    harness_server_start(&s, a.dbname, (const char *const[]){"--poll-ms", "100", NULL});
    start(&s, "bench_noop_10", y);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_status = "
             "'completed'",
             y);
    wait_scalar(s.dbname, 1, 20000, q);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_status = 'failed' "
             "AND failed_details->>'reason' = 'WORKFLOW_VERSION_UNAVAILABLE'",
             x);
    wait_scalar(s.dbname, 1, 20000, q);
    msleep(300); /* three more polls */
    assert_int_equal(
        scalar(s.dbname, "SELECT claim_count FROM processes WHERE process_id = '%s'", x), 0);
    assert_int_equal(
        scalar(s.dbname, "SELECT count(*) FROM process_steps WHERE process_id = '%s'", x), 0);
    assert_steps_once(s.dbname);
    assert_int_equal(harness_server_stop(&s), 0);
    assert_int_equal(harness_server_stop(&a), 0);
    harness_db_drop(s.dbname);
}

/* Pause set through replica B while A's stretch holds step l05: l05 (in flight) commits,
 * its commit's answer carries the switch, and l06 never starts. The staleness bound: at most
 * the one step in flight when the pause committed. */
static void pause_on_other_replica_stops_stretch(void **state)
{
    harness_server_t a, b;
    char id[64], q[256];
    (void)state;

    env_reset();
    /* The pause must land while l05 is held: 6 s leaves room for a loaded machine (at 2 s,
     * a load of 15 let l05 commit and the stretch run on before the PauseEngine call). */
    setenv("ORCH_TEST_HOLD_STEP", "l05", 1);
    setenv("ORCH_TEST_HOLD_MS", "6000", 1);
    harness_server_start(&a, NULL, NULL);
    env_reset();
    harness_server_start(&b, a.dbname, (const char *const[]){"--workers", "0", NULL});
    start(&a, "test_long_50", id);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_step_key = 'l04' "
             "AND running_step_key = 'l05'",
             id);
    wait_scalar(a.dbname, 1, 10000, q);
    assert_int_equal(engine(&b, ES "PauseEngine"), 0);
    /* l05's commit lands and gives the process back: no lease, nothing running. */
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_step_key = 'l05' "
             "AND lease_owner IS NULL AND running_step_key IS NULL AND runnable",
             id);
    wait_scalar(a.dbname, 1, 20000, q);
    msleep(300); /* were anything still to run, it would show by now */
    assert_int_equal(scalar(a.dbname,
                            "SELECT count(*) FROM process_steps WHERE process_id = '%s' AND "
                            "step_key = 'l06'",
                            id),
                     0);
    assert_true(harness_log_has(&a, "the engine is paused; the stretch ends"));
    assert_int_equal(engine(&b, ES "ResumeEngine"), 0);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_status = "
             "'completed'",
             id);
    wait_scalar(a.dbname, 1, 20000, q);
    assert_steps_once(a.dbname);
    assert_int_equal(
        scalar(a.dbname, "SELECT count(*) FROM process_steps WHERE process_id = '%s'", id), 50);
    assert_int_equal(harness_server_stop(&b), 0);
    assert_int_equal(harness_server_stop(&a), 0);
    harness_db_drop(a.dbname);
}

/* The first group commit gathers two processes' first steps; the hook sends the first part
 * with a wrong lease token. The other part commits (its process runs to the end) while the
 * failed one has nothing committed; after its lease expires it is taken again and completes,
 * every step once. */
static void group_commit_one_fence_fails(void **state)
{
    harness_server_t s;
    char a[64], b[64], addr[64], q[512], needle[256];
    const char *failed, *other;
    int port;
    (void)state;

    env_reset();
    setenv("ORCH_TEST_GROUP_COMMIT_MIN", "2", 1);
    setenv("ORCH_TEST_GROUP_COMMIT_FAIL_ONE", "1", 1);
    metrics_args(addr, &port);
    harness_server_start(&s, NULL,
                         (const char *const[]){"--metrics-listen", addr, "--workers", "2",
                                               "--lease-ms", "2000", NULL});
    start(&s, "bench_noop_3", a);
    start(&s, "bench_noop_3", b);
    {
        int64_t until = now_ms() + 10000;
        for (;;) {
            snprintf(needle, sizeof(needle), "group commit of 2 steps: process %s", a);
            if (harness_log_has(&s, needle)) {
                failed = a;
                other = b;
                break;
            }
            snprintf(needle, sizeof(needle), "group commit of 2 steps: process %s", b);
            if (harness_log_has(&s, needle)) {
                failed = b;
                other = a;
                break;
            }
            if (now_ms() > until)
                fail_msg("no group commit of two steps");
            msleep(20);
        }
    }
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_status = "
             "'completed'",
             other);
    wait_scalar(s.dbname, 1, 10000, q);
    snprintf(needle, sizeof(needle), "process %s (bench_noop_3): step n1 not committed", failed);
    {
        int64_t until = now_ms() + 10000;
        while (!harness_log_has(&s, needle)) {
            if (now_ms() > until)
                fail_msg("the failed part's worker did not see its fence fail");
            msleep(20);
        }
    }
    /* The other one is done, and the failed one has nothing: its part was rolled back. Its
     * lease (2 s) has not expired yet unless the machine stalled; the row shows it. */
    assert_int_equal(scalar(s.dbname,
                            "SELECT count(*) FROM process_steps WHERE process_id = '%s' AND "
                            "(SELECT claim_count FROM processes WHERE process_id = '%s') = 1",
                            failed, failed),
                     0);
    assert_int_equal(
        scalar(s.dbname, "SELECT count(*) FROM process_steps WHERE process_id = '%s'", other), 3);
    assert_int_equal((long long)metric_sum(port, "orch_step_commits_refused_total", NULL), 1);
    assert_true(metric(port, "orch_group_commit_batches_total") >= 1);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_status = "
             "'completed'",
             failed);
    wait_scalar(s.dbname, 1, 20000, q);
    assert_int_equal(
        scalar(s.dbname, "SELECT count(*) FROM process_steps WHERE process_id = '%s'", failed), 3);
    assert_steps_once(s.dbname);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* Group commit, an SQL error in one part: the batch goes first with no subtransaction (the
 * common case pays for none), fails as a whole, and goes again with each part contained.
 * The other part commits; the failed one's step is not committed, its process is given
 * back and later completes, with every step once. */
static void group_commit_one_sql_error(void **state)
{
    harness_server_t s;
    char a[64], b[64], q[512], needle[256];
    const char *failed = NULL, *other = NULL;
    (void)state;

    env_reset();
    setenv("ORCH_TEST_GROUP_COMMIT_MIN", "2", 1);
    setenv("ORCH_TEST_GROUP_COMMIT_FAIL_ONE", "sql", 1);
    harness_server_start(&s, NULL,
                         (const char *const[]){"--workers", "2", "--lease-ms", "2000", NULL});
    start(&s, "bench_noop_3", a);
    start(&s, "bench_noop_3", b);
    {
        int64_t until = now_ms() + 10000;
        while (!failed) {
            snprintf(needle, sizeof(needle), "process %s sent with an SQL error", a);
            if (harness_log_has(&s, needle))
                failed = a, other = b;
            snprintf(needle, sizeof(needle), "process %s sent with an SQL error", b);
            if (!failed && harness_log_has(&s, needle))
                failed = b, other = a;
            if (!failed && now_ms() > until)
                fail_msg("no group commit of two steps");
            msleep(20);
        }
    }
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_status = "
             "'completed'",
             other);
    wait_scalar(s.dbname, 1, 10000, q);
    assert_true(harness_log_has(&s, "once more, each part contained"));
    snprintf(needle, sizeof(needle), "process %s: commit of step n1 failed", failed);
    assert_true(harness_log_has(&s, needle));
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_status = "
             "'completed'",
             failed);
    wait_scalar(s.dbname, 1, 20000, q);
    assert_int_equal(
        scalar(s.dbname, "SELECT count(*) FROM process_steps WHERE process_id = '%s'", failed), 3);
    assert_int_equal(
        scalar(s.dbname, "SELECT count(*) FROM process_steps WHERE process_id = '%s'", other), 3);
    assert_steps_once(s.dbname);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* With the poll at ten minutes, a process started next to an idle worker is handed to it in
 * memory at commit: it completes (far sooner than any poll), counted as a hand-off. */
static void started_process_runs_without_poll(void **state)
{
    harness_server_t s;
    char id[64], addr[64], q[256];
    int port;
    (void)state;

    env_reset();
    metrics_args(addr, &port);
    harness_server_start(
        &s, NULL, (const char *const[]){"--metrics-listen", addr, "--poll-ms", "600000", NULL});
    msleep(200); /* the workers' first (empty) claims are done: they are idle */
    start(&s, "bench_noop_3", id);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_status = "
             "'completed'",
             id);
    wait_scalar(s.dbname, 1, 10000, q);
    assert_int_equal((long long)metric(port, "orch_process_handoffs_total"), 1);
    /* Created leased to this replica: one lease in all, never claimed from the table. */
    assert_int_equal(
        scalar(s.dbname, "SELECT claim_count FROM processes WHERE process_id = '%s'", id), 1);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* One worker, eight processes: it holds several at once and runs their steps in turn, so
 * their commits share group commits (before, one worker's batches held one step each, as
 * they still do with --stretches-per-worker 1). */
static double steps_per_batch(int stretches)
{
    harness_server_t s;
    char id[64], addr[64], arg[16];
    int port;
    double steps, batches;

    env_reset();
    metrics_args(addr, &port);
    snprintf(arg, sizeof(arg), "%d", stretches);
    harness_server_start(&s, NULL,
                         (const char *const[]){"--metrics-listen", addr, "--workers", "1",
                                               "--stretches-per-worker", arg, NULL});
    for (int i = 0; i < 8; i++)
        start(&s, "bench_noop_10", id);
    wait_scalar(s.dbname, 8, 20000,
                "SELECT count(*) FROM processes WHERE workflow_id = (SELECT workflow_id FROM "
                "workflows WHERE name = 'bench_noop_10') AND last_status = 'completed'");
    steps = metric_sum_reaching(port, "orch_steps_total", "workflow=\"bench_noop_10\"", 80);
    assert_int_equal((long long)steps, 80);
    steps = metric(port, "orch_group_commit_steps_total");
    batches = metric(port, "orch_group_commit_batches_total");
    assert_int_equal((long long)steps, 80);
    assert_steps_once(s.dbname);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
    return steps / batches;
}

static void one_worker_commits_processes_together(void **state)
{
    double together, alone;
    (void)state;
    together = steps_per_batch(8);
    alone = steps_per_batch(1);
    print_message("steps per group commit, one worker, 8 processes: %.2f holding 8, %.2f "
                  "holding 1\n",
                  together, alone);
    assert_true(together >= 2.0);
    assert_true(alone == 1.0);
}

/* Starts test_long_50 on s (its l30 held by the hook) and, while it runs its first 29
 * steps, 10-step processes beside it, so that its worker holds some when it reaches l30;
 * then requires all of those to complete while l30 is still held. */
static void others_finish_beside_held_step(harness_server_t *s)
{
    char slow[64], id[64], q[256];
    long long started = 0;
    start(s, "test_long_50", slow);
    snprintf(q, sizeof(q), "SELECT count(*) FROM process_steps WHERE process_id = '%s'", slow);
    while (started < 60 && (started < 4 || scalar(s->dbname, "%s", q) < 29)) {
        start(s, "bench_noop_10", id);
        started++;
    }
    wait_scalar(s->dbname, started, 20000,
                "SELECT count(*) FROM processes WHERE workflow_id = (SELECT workflow_id FROM "
                "workflows WHERE name = 'bench_noop_10') AND last_status = 'completed'");
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM process_steps WHERE process_id = '%s' AND step_key = 'l30'",
             slow);
    assert_int_equal(scalar(s->dbname, "%s", q), 0);
    assert_steps_once(s->dbname);
}

/* A step that may take long holds no other process: before it runs (its speed unknown, or
 * slow when it last ran), its worker commits what it queued and gives the processes it
 * holds back to the local list, where the other worker runs them (l30 held 6 s). */
static void slow_step_holds_no_other_process(void **state)
{
    harness_server_t s;
    (void)state;

    env_reset();
    setenv("ORCH_TEST_HOLD_STEP", "l30", 1);
    setenv("ORCH_TEST_HOLD_MS", "6000", 1);
    harness_server_start(&s, NULL, (const char *const[]){"--workers", "2", NULL});
    others_finish_beside_held_step(&s);
    assert_int_equal(harness_server_stop(&s), 0);
    env_reset();
    harness_db_drop(s.dbname);
}

/* The same with one worker on replica A, on a step A has seen to be slow: no other worker
 * of A is free to take what it holds, so before the step it gives those processes back to
 * the database, where replica B (which runs nothing else) claims and completes them. Kept
 * in A's local list under A's leases, they would wait the whole hold. A first process runs
 * l30 once (held 6 s, as in the test before: 3 s was once too short for the 60 others to
 * finish under a parallel ctest on a cold cluster) so that A knows it is slow; a step never
 * seen only goes local. */
static void slow_step_gives_processes_to_other_replicas(void **state)
{
    harness_server_t a, b;
    char first[64];
    (void)state;

    env_reset();
    setenv("ORCH_TEST_HOLD_STEP", "l30", 1);
    setenv("ORCH_TEST_HOLD_MS", "6000", 1);
    harness_server_start(&a, NULL, (const char *const[]){"--workers", "1", NULL});
    env_reset();
    start(&a, "test_long_50", first);
    wait_scalar(a.dbname, 1, 20000, "SELECT count(*) FROM process_steps WHERE step_key = 'l30'");
    harness_server_start(&b, a.dbname,
                         (const char *const[]){"--workers", "2", "--poll-ms", "50", NULL});
    others_finish_beside_held_step(&a);
    assert_int_equal(harness_server_stop(&b), 0);
    assert_int_equal(harness_server_stop(&a), 0);
    harness_db_drop(a.dbname);
}

/* The set-based group commit (migration 0021) writes what orch_commit_part writes. Pairs of
 * fresh processes, leased alike, get the same parts: one of each pair through the batch
 * statement (isolate false), the other part by part (isolate true, each part in
 * orch_commit_part). Their answers, process rows, audit rows and events must be equal but
 * for ids and times (times: set or not alike, and within seconds of each other). The parts
 * cover every mode (next, keep, release), a status change, a back-off, the end, a
 * suspension, a lost fence, an error (which goes part by part in both) and a paused engine
 * (where "next" becomes "release"). */
#define CMP_TIMES                                                                                  \
    "ARRAY['process_id', 'start_time', 'update_time', 'end_time', 'next_run_time', "               \
    "'lease_expires_time', 'deadline_time']"
#define CMP_NEAR(col) "cmp_near(pa." col ", pb." col ")"

/* Commits the parts of the pairs chosen by where, in variant order, to side ("a" or "b")
 * of each pair; the answers go to table ans_<side><round>, the number of orch_commit_part
 * calls to calls_<side><round>. */
static void commit_round(const char *db, const char *side, int round, bool isolate,
                         const char *where)
{
    assert_true(scalar(db,
                       "BEGIN; SET LOCAL track_functions = 'pl'; "
                       "CREATE TABLE ans_%s%d AS SELECT row_number() OVER () AS i, r.* FROM "
                       "orch_commit_steps((SELECT jsonb_agg(v.part || jsonb_build_object("
                       "'pid', c.%s, 'tok', p.lease_token - CASE WHEN v.stale THEN 1 ELSE 0 "
                       "END) ORDER BY c.v) FROM cmp_pairs c JOIN cmp_variants v USING (v) JOIN "
                       "processes p ON p.process_id = c.%s WHERE %s), %s) r; "
                       "CREATE TABLE calls_%s%d AS SELECT coalesce((SELECT calls FROM "
                       "pg_stat_xact_user_functions WHERE funcname = 'orch_commit_part'), 0) "
                       "AS n; COMMIT; SELECT count(*) FROM ans_%s%d",
                       side, round, side, side, where, isolate ? "true" : "false", side, round,
                       side, round) > 0);
}

/* Rows of the two rounds' answers that differ between the sides (a: set-based, b: part by
 * part). */
static long long answers_differ(const char *db, int round)
{
    return scalar(db,
                  "SELECT count(*) FROM ans_a%d a FULL JOIN ans_b%d b USING (i) WHERE (a.ok, "
                  "a.reason, a.event_sequence, a.paused, a.lease_token, a.step_started IS "
                  "NULL) IS DISTINCT FROM (b.ok, b.reason, b.event_sequence, b.paused, "
                  "b.lease_token, b.step_started IS NULL)",
                  round, round);
}

static void set_based_commit_matches_per_part(void **state)
{
    harness_server_t s;
    char id[64], db[64];
    (void)state;

    env_reset();
    harness_server_start(&s, NULL, (const char *const[]){"--workers", "0", NULL});
    for (int i = 0; i < 18; i++)
        start(&s, "bench_noop_10", id);
    assert_int_equal(harness_server_stop(&s), 0);
    snprintf(db, sizeof(db), "%s", s.dbname);
    assert_int_equal(
        scalar(db, "CREATE TABLE cmp_pairs AS SELECT (rn - 1) / 2 AS v, "
                   "max(process_id::text) FILTER (WHERE rn %% 2 = 1)::uuid AS a, "
                   "max(process_id::text) FILTER (WHERE rn %% 2 = 0)::uuid AS b FROM (SELECT "
                   "process_id, row_number() OVER (ORDER BY start_time, process_id) AS rn FROM "
                   "processes) x GROUP BY 1; SELECT count(*) FROM cmp_pairs"),
        9);
    scalar(db, "UPDATE processes SET last_status = 'running', runnable = true, lease_owner = "
               "'00000000-0000-0000-0000-000000000001', lease_expires_time = now() + "
               "interval '1 hour', lease_token = lease_token + 1; SELECT 1");
    /* Two times are alike when both are unset, or both set within seconds. */
    scalar(db, "CREATE FUNCTION cmp_near(a timestamptz, b timestamptz) RETURNS boolean "
               "LANGUAGE sql AS $$ SELECT (a IS NULL) = (b IS NULL) AND coalesce(abs(extract("
               "epoch FROM a - b)) < 5, true) $$; SELECT 1");
    /* v 0-6 commit with the engine running, v 7-8 with it paused. */
    assert_int_equal(
        scalar(db, "CREATE TABLE cmp_variants AS SELECT v, (jsonb_build_object('old_status', "
                   "'running', 'name', 'No-op 1', 'key', 'n1', 'state', '{\"a\": 1}'::jsonb, "
                   "'delta', '{\"a\": 1}'::jsonb, 'error', NULL, 'finished', false, 'delay_ms', 0, "
                   "'retry', 0, 'by', 'r1', 'subs', '[]'::jsonb, 'lease_ms', 30000, 'start', "
                   "'2026-01-01T00:00:00Z', 'next_key', 'n2', 'next_name', 'No-op 2', "
                   "'next_timeout_ms', 60000) || x.o) AS part, v = 5 AS stale FROM (VALUES "
                   "(0, '{\"status\": \"running\", \"step_status\": \"success\", \"runnable\": "
                   "true, \"mode\": \"next\"}'::jsonb), "
                   "(1, '{\"status\": \"running\", \"step_status\": \"success\", \"runnable\": "
                   "true, \"mode\": \"keep\"}'), "
                   "(2, '{\"status\": \"waiting\", \"step_status\": \"waiting\", \"runnable\": "
                   "true, \"mode\": \"release\", \"delay_ms\": 500, \"retry\": 1}'), "
                   "(3, '{\"status\": \"completed\", \"step_status\": \"complete\", \"runnable\": "
                   "false, \"finished\": true, \"mode\": \"release\", \"next_key\": null}'), "
                   "(4, '{\"status\": \"suspended\", \"step_status\": \"suspend\", \"runnable\": "
                   "false, \"mode\": \"release\"}'), "
                   "(5, '{\"status\": \"running\", \"step_status\": \"success\", \"runnable\": "
                   "true, \"mode\": \"next\"}'), "
                   "(6, '{\"status\": \"failed\", \"step_status\": \"failed\", \"runnable\": "
                   "false, \"mode\": \"release\", \"error\": {\"message\": \"boom\", \"class\": "
                   "\"X\"}}'), "
                   "(7, '{\"status\": \"running\", \"step_status\": \"success\", \"runnable\": "
                   "true, \"mode\": \"next\"}'), "
                   "(8, '{\"status\": \"running\", \"step_status\": \"skipped\", \"runnable\": "
                   "true, \"mode\": \"keep\"}')) x(v, o); SELECT count(*) FROM cmp_variants"),
        9);
    commit_round(db, "a", 1, false, "c.v <= 6");
    commit_round(db, "b", 1, true, "c.v <= 6");
    scalar(db, "UPDATE engine_settings SET paused = true; SELECT 1");
    commit_round(db, "a", 2, false, "c.v >= 7");
    commit_round(db, "b", 2, true, "c.v >= 7");
    /* Set-based: only the lost fence (tried again part by part) and the error went through
     * orch_commit_part; part by part: every one. */
    assert_int_equal(scalar(db, "SELECT n FROM calls_a1"), 2);
    assert_int_equal(scalar(db, "SELECT n FROM calls_b1"), 7);
    assert_int_equal(scalar(db, "SELECT n FROM calls_a2"), 0);
    assert_int_equal(scalar(db, "SELECT n FROM calls_b2"), 2);
    /* The answers, in the parts' order. */
    assert_int_equal(scalar(db, "SELECT count(*) FROM ans_a1"), 7);
    assert_int_equal(scalar(db, "SELECT count(*) FROM ans_a1 WHERE reason = 'LEASE_LOST'"), 1);
    assert_int_equal(answers_differ(db, 1), 0);
    assert_int_equal(answers_differ(db, 2), 0);
    /* The rows: the process rows, the audit rows and the events. */
    assert_int_equal(
        scalar(
            db,
            "SELECT count(*) FROM cmp_pairs c JOIN processes pa ON pa.process_id = c.a JOIN "
            "processes pb ON pb.process_id = c.b WHERE (to_jsonb(pa) - " CMP_TIMES
            ") IS DISTINCT FROM (to_jsonb(pb) - " CMP_TIMES
            ") OR NOT (" CMP_NEAR("update_time") " AND " CMP_NEAR("end_time") " AND " CMP_NEAR(
                "next_run_time") " AND " CMP_NEAR("lease_expires_time") " AND " CMP_NEAR("deadline_time") ")"),
        0);
    assert_int_equal(
        scalar(db, "SELECT count(*) FROM cmp_pairs c WHERE (SELECT jsonb_agg(to_jsonb(x) - "
                   "ARRAY['step_id', 'process_id', 'start_time', 'end_time'] ORDER BY "
                   "x.sequence) FROM process_steps x WHERE x.process_id = c.a) IS DISTINCT "
                   "FROM (SELECT jsonb_agg(to_jsonb(x) - ARRAY['step_id', 'process_id', "
                   "'start_time', 'end_time'] ORDER BY x.sequence) FROM process_steps x WHERE "
                   "x.process_id = c.b)"),
        0);
    assert_int_equal(
        scalar(db, "SELECT count(*) FROM cmp_pairs c WHERE (SELECT jsonb_agg(to_jsonb(x) - "
                   "ARRAY['event_id', 'tx_id', 'process_id', 'event_time'] ORDER BY "
                   "x.sequence) FROM process_events x WHERE x.process_id = c.a) IS DISTINCT "
                   "FROM (SELECT jsonb_agg(to_jsonb(x) - ARRAY['event_id', 'tx_id', "
                   "'process_id', 'event_time'] ORDER BY x.sequence) FROM process_events x "
                   "WHERE x.process_id = c.b)"),
        0);
    /* Something was written: the eight parts with their fence wrote an audit row each. */
    assert_int_equal(scalar(db, "SELECT count(*) FROM process_steps x JOIN cmp_pairs c ON "
                                "x.process_id = c.a"),
                     8);
    assert_int_equal(scalar(db, "SELECT count(*) FROM process_events x JOIN cmp_pairs c ON "
                                "x.process_id = c.a"),
                     scalar(db, "SELECT count(*) FROM process_events x JOIN cmp_pairs c ON "
                                "x.process_id = c.b"));
    harness_db_drop(db);
}

/* How many keys the JSON object a query gives has. */
#define NKEYS(expr) "(SELECT count(*) FROM jsonb_object_keys(" expr "))"

/* Starts bench_grow_100 on s (ORCH_TEST_HOLD_STEP=g50 set) and waits until its first 49
 * steps are committed: held in the middle of its stretch. */
static void grow_to_held_step(harness_server_t *s, char *id)
{
    char q[256];
    start(s, "bench_grow_100", id);
    snprintf(q, sizeof(q), "SELECT count(*) FROM process_steps WHERE process_id = '%s'", id);
    wait_scalar(s->dbname, 49, 20000, q);
}

/* A step in the middle of a stretch writes its delta, not the whole state (0022): the
 * process row keeps the state it had and lags, and the audit rows hold deltas. A replica
 * killed in the middle of such a stretch leaves the process so; the replica that takes it
 * over reads its state folded (the row's and the deltas after it) and finishes it with
 * every step's kilobyte. GetProcess, before the kill, shows each step's state and the
 * current state whole. Were the claim to read the row's state alone, the keys of the first
 * 49 steps would be lost. */
static void mid_stretch_state_survives_crash(void **state)
{
    harness_server_t a, b;
    char id[64], q[512];
    Orchestrator__V1__GetProcessRequest req = ORCHESTRATOR__V1__GET_PROCESS_REQUEST__INIT;
    Orchestrator__V1__Process *p = NULL;
    cli_status_t st = {0};
    (void)state;

    env_reset();
    setenv("ORCH_TEST_HOLD_STEP", "g50", 1);
    harness_server_start(&a, NULL,
                         (const char *const[]){"--workers", "1", "--lease-ms", "2000", NULL});
    grow_to_held_step(&a, id);
    /* The 49 steps are committed; the row lags behind them. */
    assert_int_equal(scalar(a.dbname,
                            "SELECT count(*) FROM processes WHERE process_id = '%s' AND "
                            "state_lag AND " NKEYS("state") " < 49",
                            id),
                     1);
    assert_true(scalar(a.dbname,
                       "SELECT count(*) FROM process_steps WHERE process_id = '%s' AND state "
                       "IS NULL",
                       id) > 0);
    assert_int_equal(scalar(a.dbname, "SELECT " NKEYS("orch_process_state('%s')"), id), 49);
    /* GetProcess, from the deltas: each step's state holds the keys of the steps up to it,
     * and the current state those of all 49. */
    req.process_id = id;
    req.view = ORCHESTRATOR__V1__PROCESS_VIEW__PROCESS_VIEW_FULL;
    cli_call_unary(a.ch, PS "GetProcess", &req.base, &orchestrator__v1__process__descriptor, 10000,
                   (ProtobufCMessage **)&p, &st);
    if (st.code != 0)
        fail_msg("GetProcess: %d %s", st.code, st.message ? st.message : "");
    assert_non_null(p->current_state);
    assert_int_equal(p->current_state->n_fields, 49);
    {
        size_t grow = 0;
        for (size_t i = 0; i < p->n_steps; i++) {
            const Orchestrator__V1__ProcessStep *ps = p->steps[i];
            if (strncmp(ps->key, "g", 1) != 0 || !ps->step_id[0])
                continue;
            grow++;
            assert_int_equal(ps->state->n_fields, atoi(ps->key + 1));
            assert_int_equal(ps->state_delta->n_fields, 1);
        }
        assert_int_equal(grow, 49);
    }
    protobuf_c_message_free_unpacked(&p->base, NULL);
    cli_status_cleanup(&st);
    harness_server_kill(&a);

    unsetenv("ORCH_TEST_HOLD_STEP");
    harness_server_start(&b, a.dbname,
                         (const char *const[]){"--workers", "1", "--lease-ms", "2000", NULL});
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_status = "
             "'completed'",
             id);
    wait_scalar(b.dbname, 1, 30000, q);
    assert_steps_once(b.dbname);
    /* The row's state at the end is whole: 99 keys of 1,000 characters each. */
    assert_int_equal(scalar(b.dbname,
                            "SELECT count(*) FROM processes p, jsonb_each_text(p.state) e WHERE "
                            "p.process_id = '%s' AND NOT p.state_lag AND length(e.value) = 1000",
                            id),
                     99);
    assert_int_equal(harness_server_stop(&b), 0);
    harness_db_drop(b.dbname);
}

/* A rolling upgrade across the state tail (0023). While a replica of a release before it is
 * live (engine_protocol 0: a row as such a release inserts it), the others write every
 * step's state whole; once it stopped, deltas again (both said in the log). A row that lags
 * when such a replica takes it over (its claim reads processes.state, nothing else) is
 * folded as its lease changes hands: it reads the whole state. */
static void earlier_release_sees_whole_states(void **state)
{
    harness_server_t a;
    char p1[64], p2[64], old[64];
    (void)state;

    env_reset();
    setenv("ORCH_TEST_HOLD_STEP", "g50", 1);
    harness_server_start(&a, NULL,
                         (const char *const[]){"--workers", "2", "--lease-ms", "2000", NULL});
    /* A replica of the earlier release: it does not know engine_protocol (0). Its heartbeat
     * is kept ahead of the clock so that it stays live for the whole test. */
    snprintf(old, sizeof(old), "%s", "6f1d3a52-0000-4000-8000-000000000001");
    assert_int_equal(scalar(a.dbname,
                            "WITH i AS (INSERT INTO replicas (replica_id, hostname, "
                            "build_version, heartbeat_time) VALUES ('%s', 'old', 'before-0023', "
                            "now() + interval '1 hour') RETURNING 1) SELECT count(*) FROM i",
                            old),
                     1);
    assert_true(harness_wait_log(&a, "a replica of an earlier release is live", 10000));

    grow_to_held_step(&a, p1);
    /* Whole states: every audit row holds its state, and the row has all 49 keys. */
    assert_int_equal(scalar(a.dbname,
                            "SELECT count(*) FROM process_steps WHERE process_id = '%s' AND "
                            "state IS NULL",
                            p1),
                     0);
    assert_int_equal(scalar(a.dbname,
                            "SELECT count(*) FROM processes WHERE process_id = '%s' AND NOT "
                            "state_lag AND " NKEYS("state") " = 49",
                            p1),
                     1);

    /* The earlier release is gone: deltas again. */
    assert_int_equal(scalar(a.dbname,
                            "WITH u AS (UPDATE replicas SET stop_time = now() WHERE "
                            "replica_id = '%s' RETURNING 1) SELECT count(*) FROM u",
                            old),
                     1);
    assert_true(harness_wait_log(&a, "every live replica reads the state tail", 10000));
    grow_to_held_step(&a, p2);
    assert_int_equal(scalar(a.dbname,
                            "SELECT count(*) FROM processes WHERE process_id = '%s' AND "
                            "state_lag AND " NKEYS("state") " < 49",
                            p2),
                     1);
    assert_true(scalar(a.dbname,
                       "SELECT count(*) FROM process_steps WHERE process_id = '%s' AND state "
                       "IS NULL",
                       p2) > 0);
    harness_server_kill(&a);

    /* The earlier release's claim, as it was written: lease_owner and token set, and
     * p.state read back as the current state. It reads all 49 keys, and the row no longer
     * lags. */
    assert_int_equal(scalar(a.dbname,
                            "WITH u AS (UPDATE processes p SET lease_owner = '%s', "
                            "lease_token = p.lease_token + 1 WHERE p.process_id = '%s' "
                            "RETURNING p.state, p.state_lag) "
                            "SELECT " NKEYS("u.state") " FROM u WHERE NOT u.state_lag",
                            old, p2),
                     49);
    /* The earlier release's current state when it fails or aborts a process: the newest
     * audit row's state, else the initial input. All 49 keys there too. */
    assert_int_equal(scalar(a.dbname,
                            "SELECT " NKEYS("coalesce((SELECT state FROM process_steps x WHERE "
                                            "x.process_id = '%s' ORDER BY sequence DESC LIMIT 1), "
                                            "'{}')"),
                            p2),
                     49);
    /* And this release reads it as it did. */
    assert_int_equal(scalar(a.dbname, "SELECT " NKEYS("orch_process_state('%s')"), p2), 49);
    harness_db_drop(a.dbname);
}

/* GetProcess of a long process: FULL repeats the whole state on every step (bench_grow_100:
 * 100 steps, a kilobyte more each, ~5 MB, past a client's 4 MiB receive limit); the DELTAS
 * view gives every step with its delta and no state, and the current state whole, in a
 * fraction of that. A view number the proto lacks is refused, naming the field. */
static void long_process_reads_in_deltas_view(void **state)
{
    harness_server_t s;
    char id[64], q[256];
    Orchestrator__V1__GetProcessRequest req = ORCHESTRATOR__V1__GET_PROCESS_REQUEST__INIT;
    Orchestrator__V1__ListProcessesRequest lreq = ORCHESTRATOR__V1__LIST_PROCESSES_REQUEST__INIT;
    Orchestrator__V1__Process *p = NULL;
    Orchestrator__V1__ListProcessesResponse *l = NULL;
    cli_status_t st = {0};
    size_t grow = 0;
    (void)state;

    env_reset();
    harness_server_start(&s, NULL, (const char *const[]){"--workers", "1", NULL});
    start(&s, "bench_grow_100", id);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM processes WHERE process_id = '%s' AND last_status = "
             "'completed'",
             id);
    wait_scalar(s.dbname, 1, 60000, q);

    req.process_id = id;
    req.view = ORCHESTRATOR__V1__PROCESS_VIEW__PROCESS_VIEW_DELTAS;
    cli_call_unary(s.ch, PS "GetProcess", &req.base, &orchestrator__v1__process__descriptor, 10000,
                   (ProtobufCMessage **)&p, &st);
    if (st.code != 0)
        fail_msg("GetProcess DELTAS: %d %s", st.code, st.message ? st.message : "");
    assert_int_equal(p->current_state->n_fields, 99);
    for (size_t i = 0; i < p->n_steps; i++) {
        const Orchestrator__V1__ProcessStep *ps = p->steps[i];
        assert_null(ps->state);
        if (strncmp(ps->key, "g", 1) != 0)
            continue;
        grow++;
        assert_int_equal(ps->state_delta->n_fields, 1);
    }
    assert_int_equal(grow, 99);
    /* The whole answer is the 99 kilobytes of the state twice (the deltas and the current
     * state) and the steps' attributes: well under FULL's ~5 MB. */
    assert_true(protobuf_c_message_get_packed_size(&p->base) < 400 * 1024);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    p = NULL;
    cli_status_cleanup(&st);

    /* The same view in a listing. */
    lreq.view = ORCHESTRATOR__V1__PROCESS_VIEW__PROCESS_VIEW_DELTAS;
    cli_call_unary(s.ch, PS "ListProcesses", &lreq.base,
                   &orchestrator__v1__list_processes_response__descriptor, 10000,
                   (ProtobufCMessage **)&l, &st);
    if (st.code != 0)
        fail_msg("ListProcesses DELTAS: %d %s", st.code, st.message ? st.message : "");
    assert_int_equal(l->n_processes, 1);
    assert_true(l->processes[0]->n_steps >= 99);
    assert_null(l->processes[0]->steps[0]->state);
    assert_int_equal(l->processes[0]->current_state->n_fields, 99);
    protobuf_c_message_free_unpacked(&l->base, NULL);
    cli_status_cleanup(&st);

    /* A view this server does not know. */
    req.view = (Orchestrator__V1__ProcessView)9;
    cli_call_unary(s.ch, PS "GetProcess", &req.base, &orchestrator__v1__process__descriptor, 10000,
                   (ProtobufCMessage **)&p, &st);
    assert_int_equal(st.code, 3); /* INVALID_ARGUMENT */
    assert_null(p);
    assert_int_equal(st.nviolations, 1);
    assert_string_equal(st.violations[0].field, "view");
    cli_status_cleanup(&st);
    lreq.view = (Orchestrator__V1__ProcessView)9;
    cli_call_unary(s.ch, PS "ListProcesses", &lreq.base,
                   &orchestrator__v1__list_processes_response__descriptor, 10000,
                   (ProtobufCMessage **)&l, &st);
    assert_int_equal(st.code, 3); /* INVALID_ARGUMENT */
    cli_status_cleanup(&st);

    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* Parts without their state (what the engine sends in the middle of a stretch) read alike
 * whichever way they are written: set-based, the row keeps its state and lags and the audit
 * rows hold deltas; part by part (isolate), the state is folded from the row and written
 * whole. Then a part without its state that releases (the engine was paused, so 'next'
 * became 'release') writes the state whole on both sides. */
static void stateless_parts_fold_alike(void **state)
{
    harness_server_t s;
    char id[64], db[64];
    static const char *const rounds[] = {"{\"k1\": 1}", "{\"k2\": 2}", "{\"k1\": 3}"};
    (void)state;

    env_reset();
    harness_server_start(&s, NULL, (const char *const[]){"--workers", "0", NULL});
    start(&s, "bench_noop_10", id);
    start(&s, "bench_noop_10", id);
    assert_int_equal(harness_server_stop(&s), 0);
    snprintf(db, sizeof(db), "%s", s.dbname);
    scalar(db, "UPDATE processes SET last_status = 'running', runnable = true, lease_owner = "
               "'00000000-0000-0000-0000-000000000001', lease_expires_time = now() + "
               "interval '1 hour', lease_token = lease_token + 1, state = '{\"base\": 0}'; "
               "CREATE TABLE side AS SELECT process_id, row_number() OVER (ORDER BY "
               "process_id) = 1 AS set_based FROM processes; SELECT 1");
    for (int r = 0; r < 3; r++) {
        if (r == 2)
            scalar(db, "UPDATE engine_settings SET paused = true; SELECT 1");
        for (int set_based = 1; set_based >= 0; set_based--)
            assert_int_equal(
                scalar(db,
                       "SELECT count(*) FROM orch_commit_steps((SELECT jsonb_agg("
                       "jsonb_build_object('pid', p.process_id, 'tok', p.lease_token, "
                       "'old_status', 'running', 'status', 'running', 'key', 'n%d', 'name', "
                       "'No-op', 'step_status', 'success', 'delta', '%s'::jsonb, 'runnable', "
                       "true, 'finished', false, 'delay_ms', 0, 'retry', 0, 'by', 'r1', "
                       "'subs', '[]'::jsonb, 'mode', 'next', 'lease_ms', 30000, 'next_key', "
                       "'n%d', 'next_name', 'No-op', 'next_timeout_ms', 60000)) FROM "
                       "processes p JOIN side USING (process_id) WHERE side.set_based = %s), "
                       "%s) WHERE ok",
                       r + 1, rounds[r], r + 2, set_based ? "true" : "false",
                       set_based ? "false" : "true"),
                1);
        if (r == 1) {
            /* Set-based: the row lags and two audit rows hold deltas only; part by part:
             * whole. Both read {"base": 0, "k1": 1, "k2": 2}. */
            assert_int_equal(scalar(db, "SELECT count(*) FROM processes JOIN side USING "
                                        "(process_id) WHERE state_lag = set_based AND state = "
                                        "CASE WHEN set_based THEN '{\"base\": 0}' ELSE "
                                        "'{\"base\": 0, \"k1\": 1, \"k2\": 2}' END::jsonb"),
                             2);
            assert_int_equal(scalar(db, "SELECT count(*) FROM process_steps JOIN side USING "
                                        "(process_id) WHERE (state IS NULL) = set_based"),
                             4);
        }
        assert_int_equal(scalar(db, "SELECT count(DISTINCT orch_process_state(process_id)) FROM "
                                    "processes"),
                         1);
    }
    /* The release wrote the state whole on both sides, merged in order (k1 last set to 3). */
    assert_int_equal(scalar(db, "SELECT count(*) FROM processes WHERE NOT state_lag AND state = "
                                "'{\"base\": 0, \"k1\": 3, \"k2\": 2}' AND lease_owner IS NULL"),
                     2);
    assert_int_equal(scalar(db, "SELECT count(*) FROM process_steps WHERE sequence = 3 AND "
                                "state = '{\"base\": 0, \"k1\": 3, \"k2\": 2}'"),
                     2);
    harness_db_drop(db);
}

/* A StartProcess call on a channel of its own, from a thread: its status code. With boom,
 * its input carries the key the test's trigger refuses. */
typedef struct starter {
    const char *addr;
    bool boom;
    int code;
} starter_t;

static void *start_thread(void *arg)
{
    starter_t *t = arg;
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    Google__Protobuf__Struct in = GOOGLE__PROTOBUF__STRUCT__INIT;
    Google__Protobuf__Struct__FieldsEntry f = GOOGLE__PROTOBUF__STRUCT__FIELDS_ENTRY__INIT;
    Google__Protobuf__Struct__FieldsEntry *fp = &f;
    Google__Protobuf__Struct *inputs[1] = {&in};
    Google__Protobuf__Value v = GOOGLE__PROTOBUF__VALUE__INIT;
    cli_channel_t *ch = cli_channel_new(t->addr, NULL);
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};

    req.workflow_name = "bench_noop_3";
    if (t->boom) {
        v.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
        v.bool_value = true;
        f.key = "boom";
        f.value = &v;
        in.n_fields = 1;
        in.fields = &fp;
        req.n_user_inputs = 1;
        req.user_inputs = inputs;
    }
    cli_call_unary(ch, PS "StartProcess", &req.base,
                   &orchestrator__v1__start_process_response__descriptor, 20000, &resp, &st);
    t->code = st.code;
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    cli_channel_free(ch);
    return NULL;
}

/* StartProcess calls at the same moment share one transaction for their creates (one WAL
 * flush): while the first create waits on a lock the test holds, ten more calls queue in the
 * server, and when it is let go they are created by one transaction, not ten; /metrics
 * counts 2 transactions and 10 creates that shared one. One of the ten fails in PostgreSQL
 * (a trigger of the test refuses its input): the shared transaction fails, each create runs
 * again alone, and only that one fails, with its own error. prepare: --db-prepare (off: for
 * a pooler, no statement is prepared; the batch runs them unnamed). */
static void starts_grouped(const char *prepare)
{
    harness_server_t s;
    char addr[64], ci[512];
    int mport = harness_free_port();
    starter_t t[11];
    pthread_t th[11];
    PGconn *lock;
    PGresult *r;

    env_reset();
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", mport);
    /* Threads enough for the eleven calls to be in their handlers at once. */
    harness_server_start(&s, NULL,
                         (const char *const[]){"--metrics-listen", addr, "--workers", "0",
                                               "--threads", "16", "--db-prepare", prepare, NULL});
    scalar(s.dbname,
           "CREATE FUNCTION test_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF "
           "NEW.inputs ? 'boom' THEN RAISE EXCEPTION 'boom' USING ERRCODE = 'check_violation'; "
           "END IF; RETURN NEW; END $$; CREATE TRIGGER test_boom BEFORE INSERT ON input_states "
           "FOR EACH ROW EXECUTE FUNCTION test_boom(); SELECT 1");
    /* Every create reads the pause switch: with its row locked, the first create waits. */
    harness_conninfo(s.dbname, ci);
    lock = PQconnectdb(ci);
    assert_int_equal(PQstatus(lock), CONNECTION_OK);
    r = PQexec(lock, "BEGIN; LOCK TABLE engine_settings IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    for (int i = 0; i < 11; i++) {
        t[i] = (starter_t){.addr = s.addr, .boom = i == 5, .code = -1};
        pthread_create(&th[i], NULL, start_thread, &t[i]);
        if (i == 0)
            wait_scalar(s.dbname, 1, 10000,
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO processes%'");
    }
    /* The ten are in the server's queue, not in PostgreSQL: one create waits there. */
    msleep(1000);
    assert_int_equal(scalar(s.dbname, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                      "current_database() AND wait_event_type = 'Lock' AND "
                                      "query LIKE "
                                      "'%%INSERT INTO processes%%'"),
                     1);
    r = PQexec(lock, "ROLLBACK");
    PQclear(r);
    PQfinish(lock);
    for (int i = 0; i < 11; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 11; i++)
        if (i == 5)
            assert_int_not_equal(t[i].code, 0);
        else
            assert_int_equal(t[i].code, 0);
    assert_int_equal(scalar(s.dbname, "SELECT count(*) FROM processes"), 10);
    assert_int_equal((long long)metric(mport, "orch_start_batches_total"), 2);
    assert_int_equal((long long)metric(mport, "orch_start_batched_total"), 10);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

static void starts_share_a_transaction(void **state)
{
    (void)state;
    starts_grouped("on");
}

static void starts_share_a_transaction_unprepared(void **state)
{
    (void)state;
    starts_grouped("off");
}

/* Every database round trip of the replica that runs the steps (claims, commits,
 * heartbeats, sweeps, the scheduler's ticks, the scrapes), divided by the steps it committed:
 * at most one for bench_noop_10 on one replica with two workers. The processes are started
 * through a second replica without workers, so that the ratio is the engine's (a
 * StartProcess costs its own round trips wherever it runs; the single-replica figure
 * with them is printed too). */
static void round_trips_per_step(void **state)
{
    harness_server_t api, eng;
    char id[64], addr[64];
    int port;
    const int nproc = 40;
    double rt0, rt1, st0, st1;
    (void)state;

    env_reset();
    harness_server_start(&api, NULL, (const char *const[]){"--workers", "0", NULL});
    metrics_args(addr, &port);
    harness_server_start(&eng, api.dbname,
                         (const char *const[]){"--metrics-listen", addr, "--workers", "2", NULL});
    msleep(300); /* its start-up's round trips (migrations, registration) are behind it */
    rt0 = metric(port, "orch_db_round_trips_total");
    st0 = metric_sum(port, "orch_steps_total", NULL);
    /* Each start wakes the engine replica through NOTIFY; it claims and runs. */
    for (int i = 0; i < nproc; i++)
        start(&api, "bench_noop_10", id);
    wait_scalar(api.dbname, nproc, 60000,
                "SELECT count(*) FROM processes WHERE last_status = 'completed'");
    st1 = metric_sum_reaching(port, "orch_steps_total", NULL, st0 + nproc * 10);
    rt1 = metric(port, "orch_db_round_trips_total");
    print_message("bench_noop_10, engine replica: %.0f round trips for %.0f steps (%.3f per "
                  "step); %.0f group commits of %.0f steps, %.0f claims in %.0f statements\n",
                  rt1 - rt0, st1 - st0, (rt1 - rt0) / (st1 - st0),
                  metric(port, "orch_group_commit_batches_total"),
                  metric(port, "orch_group_commit_steps_total"),
                  metric(port, "orch_process_claims_total"),
                  metric(port, "orch_claim_batches_total"));
    assert_int_equal((long long)(st1 - st0), nproc * 10);
    assert_true(rt1 - rt0 <= st1 - st0);
    assert_steps_once(api.dbname);
    assert_int_equal(harness_server_stop(&eng), 0);
    assert_int_equal(harness_server_stop(&api), 0);
    harness_db_drop(api.dbname);
}

/* The same load on one replica that also serves the StartProcess calls, for the record
 * (printed; StartProcess's own round trips make it depend on how the starts overlap the
 * steps). */
static void round_trips_one_replica(void **state)
{
    harness_server_t s;
    char id[64], addr[64];
    int port;
    const int nproc = 40;
    double rt0, rt1, st0, st1;
    (void)state;

    env_reset();
    metrics_args(addr, &port);
    harness_server_start(&s, NULL,
                         (const char *const[]){"--metrics-listen", addr, "--workers", "2", NULL});
    for (int i = 0; i < 10; i++) /* warm-up: statements are prepared on their second run */
        start(&s, "bench_noop_10", id);
    wait_scalar(s.dbname, 10, 60000,
                "SELECT count(*) FROM processes WHERE last_status = 'completed'");
    st0 = metric_sum_reaching(port, "orch_steps_total", NULL, 10 * 10);
    rt0 = metric(port, "orch_db_round_trips_total");
    for (int i = 0; i < nproc; i++)
        start(&s, "bench_noop_10", id);
    wait_scalar(s.dbname, nproc + 10, 60000,
                "SELECT count(*) FROM processes WHERE last_status = 'completed'");
    st1 = metric_sum_reaching(port, "orch_steps_total", NULL, st0 + nproc * 10);
    rt1 = metric(port, "orch_db_round_trips_total");
    print_message("bench_noop_10, one replica with its StartProcess calls: %.0f round trips for "
                  "%.0f steps (%.3f per step)\n",
                  rt1 - rt0, st1 - st0, (rt1 - rt0) / (st1 - st0));
    assert_int_equal((long long)(st1 - st0), nproc * 10);
    assert_steps_once(s.dbname);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* StartProcess of a workflow with no form, subscription or request_id writes one statement:
 * BEGIN, the create and COMMIT go in one round trip (kind "start"), and the kinds of
 * orch_db_round_trips_by_kind_total add up to orch_db_round_trips_total. */
static void start_one_round_trip(void **state)
{
    harness_server_t s;
    char id[64], addr[64];
    int port;
    const int nproc = 20;
    double st0, st1;
    (void)state;

    env_reset();
    metrics_args(addr, &port);
    harness_server_start(&s, NULL,
                         (const char *const[]){"--metrics-listen", addr, "--workers", "0", NULL});
    start(&s, "bench_noop_10", id); /* warm-up: the create is prepared on its second run */
    start(&s, "bench_noop_10", id);
    st0 = metric_sum(port, "orch_db_round_trips_by_kind_total", "kind=\"start\"");
    for (int i = 0; i < nproc; i++)
        start(&s, "bench_noop_10", id);
    st1 = metric_sum(port, "orch_db_round_trips_by_kind_total", "kind=\"start\"");
    print_message("%d starts: %.0f round trips of kind start\n", nproc, st1 - st0);
    assert_int_equal((long long)(st1 - st0), nproc);
    assert_int_equal(
        scalar(s.dbname, "SELECT count(*) FROM processes WHERE last_status = 'created'"),
        nproc + 2);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* orch_db_round_trips_total and the sum of orch_db_round_trips_by_kind_total, from one
 * scrape. */
static void round_trips_and_kinds(int port, double *total, double *kinds)
{
    static char out[1 << 18];
    const char *needle = "\norch_db_round_trips_by_kind_total{", *p;
    assert_int_equal(harness_http_get(port, "/metrics", out, sizeof(out)), 200);
    p = strstr(out, "\norch_db_round_trips_total ");
    assert_non_null(p);
    *total = strtod(p + strlen("\norch_db_round_trips_total "), NULL);
    *kinds = 0;
    for (p = strstr(out, needle); p; p = strstr(p + 1, needle)) {
        const char *end = strchr(p + strlen(needle), '}');
        assert_non_null(end);
        *kinds += strtod(end + 1, NULL);
    }
}

/* A worker whose process ends finds its next one claimed by its own last step commit, in the
 * same round trip: with a backlog waiting, the replica's workers make next to no claims of
 * their own (kind "claim") for the processes they claim. */
static void claims_ride_with_commits(void **state)
{
    harness_server_t api, eng;
    char id[64], addr[64];
    int port;
    const int nproc = 20;
    double claims, claim_rt, tot, kinds;
    (void)state;

    env_reset();
    harness_server_start(&api, NULL, (const char *const[]){"--workers", "0", NULL});
    for (int i = 0; i < nproc; i++) /* the backlog, before any worker runs */
        start(&api, "bench_noop_10", id);
    metrics_args(addr, &port);
    harness_server_start(&eng, api.dbname,
                         (const char *const[]){"--metrics-listen", addr, "--workers", "2", NULL});
    wait_scalar(api.dbname, nproc, 60000,
                "SELECT count(*) FROM processes WHERE last_status = 'completed'");
    claims = metric(port, "orch_process_claims_total");
    claim_rt = metric_sum(port, "orch_db_round_trips_by_kind_total", "kind=\"claim\"");
    round_trips_and_kinds(port, &tot, &kinds);
    print_message("%.0f processes claimed; %.0f claim round trips of their own; round trips "
                  "%.0f, by kind %.0f\n",
                  claims, claim_rt, tot, kinds);
    assert_int_equal((long long)claims, nproc);
    /* The first claims (the workers start idle) and one after an empty answer at most. */
    assert_true(claim_rt <= 4);
    /* One scrape: the kinds add up to the total (counted one after the other, so a round
     * trip in flight may show in one and not yet in the other). */
    assert_true(kinds >= tot - 2 && kinds <= tot + 2);
    assert_steps_once(api.dbname);
    assert_int_equal(harness_server_stop(&eng), 0);
    assert_int_equal(harness_server_stop(&api), 0);
    harness_db_drop(api.dbname);
}

/* Rows the hot tables gave to sequential scans, once every session of the database but the
 * test's has ended (a session reports its counts when it ends; idle, it may hold them for
 * seconds). */
static long long hot_seq_rows(const char *db)
{
    wait_scalar(db, 0, 30000,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                "pid <> pg_backend_pid()");
    msleep(300); /* the last one's report, sent as it exited */
    return scalar(db, "SELECT sum(seq_tup_read) FROM pg_stat_user_tables WHERE relname IN "
                      "('processes', 'process_steps', 'process_events', 'input_states')");
}

/* The hot path does not depend on how fresh the statistics are. Tables analysed while empty
 * (a new deployment, or a VACUUM after a purge) and filling faster than autovacuum analyses
 * them again made the plans the sessions keep (the foreign-key checks of every audit row
 * and event, the commit function's statements, the generic plans, the create's look at
 * steps a new process cannot have) read them sequentially: each step read the whole
 * processes table, ~1,400 rows a step here, and steps/s fell as it grew (bench/README.md,
 * issue 17 sixth pass). Here autovacuum is off for the hot tables after one VACUUM ANALYZE
 * of them empty; 200 processes of 10 steps then read a few thousand rows sequentially at
 * most (the timers' statements), not millions. */
static void stale_statistics_scan_nothing(void **state)
{
    harness_server_t api, eng;
    char id[64], db[64];
    const int nproc = 200;
    long long before, after;
    (void)state;

    env_reset();
    harness_server_start(&api, NULL, (const char *const[]){"--workers", "0", NULL}); /* migrates */
    snprintf(db, sizeof(db), "%s", api.dbname); /* the stop forgets it */
    assert_int_equal(harness_server_stop(&api), 0);
    harness_scalar(db, "ALTER TABLE processes SET (autovacuum_enabled = off)");
    harness_scalar(db, "ALTER TABLE process_steps SET (autovacuum_enabled = off)");
    harness_scalar(db, "ALTER TABLE process_events SET (autovacuum_enabled = off)");
    harness_scalar(db, "ALTER TABLE input_states SET (autovacuum_enabled = off)");
    harness_scalar(db, "VACUUM ANALYZE processes, process_steps, process_events, input_states");
    before = hot_seq_rows(db);
    harness_server_start(&api, db, (const char *const[]){"--workers", "0", NULL});
    harness_server_start(&eng, db, (const char *const[]){"--workers", "2", NULL});
    for (int i = 0; i < nproc; i++)
        start(&api, "bench_noop_10", id);
    wait_scalar(db, nproc, 120000,
                "SELECT count(*) FROM processes WHERE last_status = 'completed'");
    assert_steps_once(db);
    assert_int_equal(harness_server_stop(&eng), 0);
    assert_int_equal(harness_server_stop(&api), 0);
    after = hot_seq_rows(db);
    print_message("%d processes of 10 steps on statistics of empty tables: %lld rows read by "
                  "sequential scans of the hot tables\n",
                  nproc, after - before);
    assert_true(after - before <= 20000);
    harness_db_drop(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fifty_steps_one_claim),
        cmocka_unit_test(fence_lost_mid_stretch),
        cmocka_unit_test(heartbeat_skips_locked_rows),
        cmocka_unit_test(claim_only_known_versions),
        cmocka_unit_test(pause_on_other_replica_stops_stretch),
        cmocka_unit_test(group_commit_one_fence_fails),
        cmocka_unit_test(group_commit_one_sql_error),
        cmocka_unit_test(started_process_runs_without_poll),
        cmocka_unit_test(round_trips_per_step),
        cmocka_unit_test(round_trips_one_replica),
        cmocka_unit_test(start_one_round_trip),
        cmocka_unit_test(claims_ride_with_commits),
        cmocka_unit_test(stale_statistics_scan_nothing),
        cmocka_unit_test(one_worker_commits_processes_together),
        cmocka_unit_test(slow_step_holds_no_other_process),
        cmocka_unit_test(slow_step_gives_processes_to_other_replicas),
        cmocka_unit_test(set_based_commit_matches_per_part),
        cmocka_unit_test(mid_stretch_state_survives_crash),
        cmocka_unit_test(earlier_release_sees_whole_states),
        cmocka_unit_test(long_process_reads_in_deltas_view),
        cmocka_unit_test(stateless_parts_fold_alike),
        cmocka_unit_test(starts_share_a_transaction),
        cmocka_unit_test(starts_share_a_transaction_unprepared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
