/* Streaming workflow progress: WatchProcess and WatchProcesses over gRPC against real
 * PostgreSQL, with create_node running on the engine. A watcher gets a snapshot, then every
 * event with contiguous sequences until the process completes; one that reconnects, to the
 * same replica or another, with the last sequence or cursor it saw gets exactly what it
 * missed. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "harness.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "orchestrator/v1/products.pb-c.h"

#define PS "/orchestrator.v1.ProcessService/"

typedef Orchestrator__V1__ProcessEvent event_t;

static void product_id(harness_server_t *s, const char *name, char *out)
{
    Orchestrator__V1__GetProductRequest req = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    req.key_case = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_NAME;
    req.name = (char *)name;
    cli_call_unary(s->ch, "/orchestrator.v1.ProductService/GetProduct", &req.base,
                   &orchestrator__v1__product__descriptor, 5000, &resp, &st);
    assert_int_equal(st.code, 0);
    snprintf(out, 64, "%s", ((Orchestrator__V1__Product *)resp)->product_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
}

static Google__Protobuf__Value *num(double v)
{
    Google__Protobuf__Value *x = calloc(1, sizeof(*x));
    google__protobuf__value__init(x);
    x->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
    x->number_value = v;
    return x;
}

static Google__Protobuf__Value *str(const char *v)
{
    Google__Protobuf__Value *x = calloc(1, sizeof(*x));
    google__protobuf__value__init(x);
    x->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
    x->string_value = (char *)v;
    return x;
}

/* Starts create_node for a node called name; the process id into id. */
static void start_node(harness_server_t *s, const char *pid, const char *name, char *id)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    Google__Protobuf__Struct page = GOOGLE__PROTOBUF__STRUCT__INIT, *pp = &page;
    Google__Protobuf__Struct__FieldsEntry e[5], *ep[5];
    const char *keys[5] = {"customer_id", "node_name", "role_id", "type_id", "site_id"};
    Google__Protobuf__Value *vals[5] = {str("acme"), str(name), num(1), num(2), num(3)};
    ProtobufCMessage *resp = NULL;
    cli_status_t st;

    for (int i = 0; i < 5; i++) {
        google__protobuf__struct__fields_entry__init(&e[i]);
        e[i].key = (char *)keys[i];
        e[i].value = vals[i];
        ep[i] = &e[i];
    }
    page.n_fields = 5;
    page.fields = ep;
    req.workflow_name = "create_node";
    req.product_id = (char *)pid;
    req.n_user_inputs = 1;
    req.user_inputs = &pp;
    cli_call_unary(s->ch, PS "StartProcess", &req.base,
                   &orchestrator__v1__start_process_response__descriptor, 10000, &resp, &st);
    if (st.code != 0)
        fail_msg("StartProcess: %s", st.message);
    snprintf(id, 64, "%s", ((Orchestrator__V1__StartProcessResponse *)resp)->process->process_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    for (int i = 0; i < 5; i++)
        free(vals[i]);
}

static cli_stream_t *watch(harness_server_t *s, const char *id, int64_t after)
{
    Orchestrator__V1__WatchProcessRequest req = ORCHESTRATOR__V1__WATCH_PROCESS_REQUEST__INIT;
    req.process_id = (char *)id;
    req.after_sequence = after;
    return cli_stream_open(s->ch, PS "WatchProcess", &req.base, 60000);
}

/* Reads a whole stream (until it ends or 30 s pass): events into out (max), the final
 * status code into *code. */
static size_t drain_stream(cli_stream_t *w, event_t **out, size_t max, int *code)
{
    size_t n = 0;
    cli_status_t st;
    for (;;) {
        ProtobufCMessage *m = NULL;
        int r = cli_stream_next(w, &orchestrator__v1__process_event__descriptor, 30000, &m);
        if (r != 1)
            break;
        if (n < max)
            out[n++] = (event_t *)m;
        else
            protobuf_c_message_free_unpacked(m, NULL);
    }
    cli_stream_close(w, &st);
    *code = st.code;
    cli_status_cleanup(&st);
    return n;
}

static void free_events(event_t **ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&ev[i]->base, NULL);
}

static void watch_to_completion_and_reconnect(void **state)
{
    harness_server_t a, b;
    char pid[64], id[64];
    event_t *ev[64], *again[64], *other[64];
    size_t n, m, k;
    int code;
    (void)state;

    harness_server_start(&a, NULL, NULL);
    harness_server_start(&b, a.dbname, (const char *const[]){"--workers", "0", NULL});
    product_id(&a, "node Cisco", pid);
    start_node(&a, pid, "ams-r1", id);

    /* Snapshot first, then contiguous events, ending with completed; the stream then ends
     * by itself with OK. */
    n = drain_stream(watch(&a, id, 0), ev, 64, &code);
    assert_int_equal(code, 0);
    assert_true(n >= 4);
    assert_int_equal(ev[0]->kind,
                     ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_SNAPSHOT);
    assert_non_null(ev[0]->snapshot->process);
    for (size_t i = 1; i < n; i++)
        assert_int_equal(ev[i]->sequence, ev[i - 1]->sequence + 1);
    assert_int_equal(ev[n - 1]->kind,
                     ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_STATUS_CHANGED);
    assert_int_equal(ev[n - 1]->status_change->new_status,
                     ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED);

    /* From the beginning (after 0 would be a snapshot): after 1, on the other replica. */
    m = drain_stream(watch(&b, id, 1), again, 64, &code);
    assert_int_equal(code, 0);
    assert_true(m >= 3);
    assert_int_equal(again[0]->sequence, 2);
    for (size_t i = 1; i < m; i++)
        assert_int_equal(again[i]->sequence, again[i - 1]->sequence + 1);
    assert_int_equal(again[m - 1]->sequence, ev[n - 1]->sequence);

    /* A reconnect in the middle gets exactly the rest: no gap, no duplicate. */
    k = drain_stream(watch(&a, id, again[1]->sequence), other, 64, &code);
    assert_int_equal(code, 0);
    assert_int_equal(k, m - 2);
    for (size_t i = 0; i < k; i++) {
        assert_int_equal(other[i]->sequence, again[i + 2]->sequence);
        assert_int_equal(other[i]->kind, again[i + 2]->kind);
    }
    free_events(other, k);

    /* Nothing after the last one of a finished process: ends at once. */
    k = drain_stream(watch(&b, id, ev[n - 1]->sequence), other, 64, &code);
    assert_int_equal(code, 0);
    assert_int_equal(k, 0);

    /* Bad input. */
    k = drain_stream(watch(&a, id, ev[n - 1]->sequence + 5), other, 64, &code);
    assert_int_equal(code, 3);
    k = drain_stream(watch(&a, "0b4e6d7c-3f1a-4c2e-9d8b-5a6f7e8d9c0b", 0), other, 64, &code);
    assert_int_equal(code, 5);
    k = drain_stream(watch(&a, "nope", 0), other, 64, &code);
    assert_int_equal(code, 3);

    free_events(ev, n);
    free_events(again, m);
    assert_int_equal(harness_server_stop(&b), 0);
    assert_int_equal(harness_server_stop(&a), 0);
    harness_db_drop(a.dbname);
}

static void watch_many_processes(void **state)
{
    harness_server_t s;
    char pid[64], id1[64], id2[64], cursor[64];
    Orchestrator__V1__WatchProcessesRequest req = ORCHESTRATOR__V1__WATCH_PROCESSES_REQUEST__INIT;
    event_t *ev[128], *again[128];
    size_t n = 0, m;
    int done = 0, code;
    cli_stream_t *w;
    (void)state;

    harness_server_start(&s, NULL, NULL);
    product_id(&s, "node Nokia", pid);
    req.filter = "workflow = \"create_node\"";
    w = cli_stream_open(s.ch, PS "WatchProcesses", &req.base, 60000);
    /* Let the stream start before the processes do. */
    {
        ProtobufCMessage *none = NULL;
        if (cli_stream_next(w, &orchestrator__v1__process_event__descriptor, 300, &none) != -1) {
            cli_status_t st;
            cli_stream_close(w, &st);
            fail_msg("WatchProcesses ended at once: %d %s", st.code, st.message);
        }
    }
    start_node(&s, pid, "n1", id1);
    start_node(&s, pid, "n2", id2);
    while (done < 2 && n < 128) {
        ProtobufCMessage *m1 = NULL;
        if (cli_stream_next(w, &orchestrator__v1__process_event__descriptor, 30000, &m1) != 1)
            break;
        ev[n] = (event_t *)m1;
        if (ev[n]->kind ==
                ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_STATUS_CHANGED &&
            ev[n]->status_change->new_status ==
                ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED)
            done++;
        n++;
    }
    {
        cli_status_t st;
        cli_stream_close(w, &st);
        cli_status_cleanup(&st);
    }
    assert_int_equal(done, 2);
    /* Per process, sequences are contiguous from 1. */
    for (int p = 0; p < 2; p++) {
        const char *id = p ? id2 : id1;
        int64_t expect = 1;
        for (size_t i = 0; i < n; i++)
            if (strcmp(ev[i]->process_id, id) == 0)
                assert_int_equal(ev[i]->sequence, expect++);
        assert_true(expect > 3);
    }
    /* Reconnecting with a cursor from the middle gives exactly the rest. */
    snprintf(cursor, sizeof(cursor), "%s", ev[n / 2]->cursor);
    req.after_cursor = cursor;
    w = cli_stream_open(s.ch, PS "WatchProcesses", &req.base, 60000);
    for (m = 0; m < n - n / 2 - 1; m++) {
        ProtobufCMessage *m1 = NULL;
        assert_int_equal(
            cli_stream_next(w, &orchestrator__v1__process_event__descriptor, 10000, &m1), 1);
        again[m] = (event_t *)m1;
        assert_string_equal(again[m]->cursor, ev[n / 2 + 1 + m]->cursor);
        assert_int_equal(again[m]->sequence, ev[n / 2 + 1 + m]->sequence);
    }
    {
        ProtobufCMessage *none = NULL;
        cli_status_t st;
        assert_int_equal(
            cli_stream_next(w, &orchestrator__v1__process_event__descriptor, 500, &none), -1);
        cli_stream_close(w, &st);
        cli_status_cleanup(&st);
    }
    free_events(again, m);
    free_events(ev, n);

    /* Bad cursor and bad filter. */
    req.after_cursor = "garbage";
    m = drain_stream(cli_stream_open(s.ch, PS "WatchProcesses", &req.base, 5000), again, 1, &code);
    assert_int_equal(code, 3);
    req.after_cursor = "";
    req.filter = "colour = red";
    m = drain_stream(cli_stream_open(s.ch, PS "WatchProcesses", &req.base, 5000), again, 1, &code);
    assert_int_equal(code, 3);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* Many watchers of one running process on one replica all receive every event. */
/* The value of one series on /metrics (0 when absent). */
static double metric(int port, const char *series)
{
    static char out[1 << 18];
    const char *p;
    assert_int_equal(harness_http_get(port, "/metrics", out, sizeof(out)), 200);
    p = strstr(out, series);
    while (p && p > out && p[-1] != '\n')
        p = strstr(p + 1, series);
    return p ? atof(p + strlen(series)) : 0;
}

/* A thousand watchers of one process: each gets every event once, in order, and the hub
 * read each event row once for all of them (the statement counter on /metrics). */
static void thousand_watchers(void **state)
{
    harness_server_t s;
    char pid[64], id[64], addr[64];
    const char *env = getenv("ORCH_TEST_WATCHERS");
    int nw = env ? atoi(env) : 1000, complete = 0, port = harness_free_port();
    cli_stream_t **w;
    int64_t *last, first = -1;
    bool *done;
    double rows;
    (void)state;

    /* Hold one step long enough to open every stream while the process runs. */
    setenv("ORCH_TEST_HOLD_STEP", "allocate.ipv4", 1);
    setenv("ORCH_TEST_HOLD_MS", "6000", 1);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    harness_server_start(&s, NULL, (const char *const[]){"--metrics-listen", addr, NULL});
    unsetenv("ORCH_TEST_HOLD_STEP");
    unsetenv("ORCH_TEST_HOLD_MS");
    product_id(&s, "node FRR", pid);
    start_node(&s, pid, "many", id);
    /* Wait until the process stands in the held step (no new event for 700 ms), so every
     * stream starts from the same snapshot. */
    for (long long seq = -1, stable = 0; stable < 7;) {
        long long now = harness_scalar(
            s.dbname, "SELECT last_event_sequence FROM processes WHERE process_id = '%s'", id);
        stable = now == seq ? stable + 1 : 0;
        seq = now;
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    w = calloc((size_t)nw, sizeof(*w));
    last = calloc((size_t)nw, sizeof(*last));
    done = calloc((size_t)nw, sizeof(*done));
    for (int i = 0; i < nw; i++)
        w[i] = watch(&s, id, 0);
    /* Round robin until every stream ended by itself (or 60 s passed). */
    for (int round = 0; complete < nw && round < 600; round++) {
        for (int i = 0; i < nw; i++) {
            ProtobufCMessage *m = NULL;
            int r;
            if (done[i])
                continue;
            while ((r = cli_stream_next(w[i], &orchestrator__v1__process_event__descriptor,
                                        round == 0 ? 50 : 1, &m)) == 1) {
                event_t *e = (event_t *)m;
                if (e->kind == ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_SNAPSHOT) {
                    /* Every stream opened while the step was held: one starting point. */
                    if (first < 0)
                        first = e->sequence;
                    if (e->sequence != first)
                        fail_msg("watcher %d started at %lld, the first at %lld: the held "
                                 "step ended before every stream was open",
                                 i, (long long)e->sequence, (long long)first);
                } else if (e->sequence != last[i] + 1)
                    fail_msg("watcher %d: sequence %lld after %lld", i, (long long)e->sequence,
                             (long long)last[i]);
                last[i] = e->sequence;
                protobuf_c_message_free_unpacked(m, NULL);
            }
            if (r == 0) {
                done[i] = true;
                complete++;
            }
        }
    }
    assert_int_equal(complete, nw);
    for (int i = 0; i < nw; i++) {
        cli_status_t st;
        cli_stream_close(w[i], &st);
        assert_int_equal(st.code, 0);
        assert_int_equal(last[i], last[0]);
        cli_status_cleanup(&st);
    }
    assert_true(last[0] >= 5);
    /* Each event after the common starting point was read from PostgreSQL exactly once for
     * the thousand streams: no catch-up read, no second read of a range. */
    rows = metric(port, "orch_watch_event_rows_total{read=\"feed\"} ") +
           metric(port, "orch_watch_event_rows_total{read=\"catch_up\"} ");
    assert_int_equal((long long)rows, (long long)(last[0] - first));
    assert_int_equal((long long)metric(port, "orch_watch_events_packed_total "),
                     (long long)(last[0] - first));
    free(w);
    free(last);
    free(done);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* ---- the trap: a lower cursor that commits after a higher one ------------------------ */

static PGconn *pg_open(const char *dbname)
{
    char ci[512];
    PGconn *c;
    harness_conninfo(dbname, ci);
    c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect %s: %s", ci, PQerrorMessage(c));
    return c;
}

static void pg_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

/* Inserts a synthetic callback_progress event for process id at sequence seq. */
static void pg_insert_event(PGconn *c, const char *id, const char *seq)
{
    const char *p[2] = {id, seq};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO process_events (process_id, sequence, kind, payload) "
                               "VALUES ($1::uuid, $2::bigint, 'callback_progress', '{}')",
                               2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("insert event: %s", PQerrorMessage(c));
    PQclear(r);
}

static void parse_cursor(const char *cur, long long *tx, long long *id)
{
    if (sscanf(cur, "%lld:%lld", tx, id) != 2)
        fail_msg("cursor %s is not <tx_id>:<event_id>", cur);
}

static bool cursor_less(const char *x, const char *y)
{
    long long xt, xi, yt, yi;
    parse_cursor(x, &xt, &xi);
    parse_cursor(y, &yt, &yi);
    return xt < yt || (xt == yt && xi < yi);
}

static void expect_nothing(cli_stream_t *w, int ms, const char *when)
{
    ProtobufCMessage *m = NULL;
    int r = cli_stream_next(w, &orchestrator__v1__process_event__descriptor, ms, &m);
    if (r == 1) {
        event_t *e = (event_t *)m;
        fail_msg("%s: got an event of %s seq %lld cursor %s", when, e->process_id,
                 (long long)e->sequence, e->cursor);
    }
    assert_int_equal(r, -1); /* -1: nothing yet, the stream is still open */
}

static event_t *expect_event(cli_stream_t *w, int ms)
{
    ProtobufCMessage *m = NULL;
    int r = cli_stream_next(w, &orchestrator__v1__process_event__descriptor, ms, &m);
    if (r != 1)
        fail_msg("expected an event, got %d", r);
    return (event_t *)m;
}

/* Transaction A inserts an event (lower tx_id) and stays open; B inserts a later one and
 * commits. A WatchProcesses reader must not hand out B (its cursor would pass A's for
 * ever); when A commits it gets A then B, each once, cursors increasing. */
static void watch_processes_late_commit_trap(void **state)
{
    harness_server_t s;
    char pid[64], id1[64], id2[64], filter[256], start_cursor[64], a_cursor[64];
    Orchestrator__V1__WatchProcessesRequest req = ORCHESTRATOR__V1__WATCH_PROCESSES_REQUEST__INIT;
    PGconn *ca, *cb;
    PGresult *r;
    cli_stream_t *w;
    event_t *ea, *eb;
    (void)state;

    /* No workers: the processes exist and stay created, so only our events flow. */
    harness_server_start(&s, NULL, (const char *const[]){"--workers", "0", NULL});
    product_id(&s, "node Cisco", pid);
    start_node(&s, pid, "trap-a", id1);
    start_node(&s, pid, "trap-b", id2);
    snprintf(filter, sizeof(filter), "process_id = \"%s\" OR process_id = \"%s\"", id1, id2);

    ca = pg_open(s.dbname);
    cb = pg_open(s.dbname);
    /* Start after every event that exists (all committed: the starts returned). */
    r = PQexec(ca, "SELECT coalesce(max(tx_id::text::bigint), 0)::text || ':' || "
                   "coalesce(max(event_id), 0)::text FROM process_events");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    snprintf(start_cursor, sizeof(start_cursor), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);

    req.filter = filter;
    req.after_cursor = start_cursor;
    w = cli_stream_open(s.ch, PS "WatchProcesses", &req.base, 60000);
    expect_nothing(w, 500, "before any synthetic event");

    /* A: lower tx_id, lower event_id, left open. */
    pg_ok(ca, "BEGIN");
    pg_insert_event(ca, id1, "1000001");
    /* B: higher tx_id and event_id, committed first. */
    pg_ok(cb, "BEGIN");
    pg_insert_event(cb, id2, "1000002");
    pg_ok(cb, "COMMIT");
    /* B is committed and notified, but below A's open transaction nothing may pass. */
    expect_nothing(w, 1200, "while A's lower cursor is still open");

    pg_ok(ca, "COMMIT");
    ea = expect_event(w, 5000);
    eb = expect_event(w, 5000);
    assert_string_equal(ea->process_id, id1);
    assert_int_equal(ea->sequence, 1000001);
    assert_int_equal(ea->kind,
                     ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_CALLBACK_PROGRESS);
    assert_string_equal(eb->process_id, id2);
    assert_int_equal(eb->sequence, 1000002);
    assert_true(cursor_less(start_cursor, ea->cursor));
    assert_true(cursor_less(ea->cursor, eb->cursor));
    expect_nothing(w, 500, "after A and B");
    {
        cli_status_t st;
        cli_stream_close(w, &st);
        cli_status_cleanup(&st);
    }

    /* Reconnecting with A's cursor gives exactly B. */
    snprintf(a_cursor, sizeof(a_cursor), "%s", ea->cursor);
    req.after_cursor = a_cursor;
    w = cli_stream_open(s.ch, PS "WatchProcesses", &req.base, 60000);
    {
        event_t *again = expect_event(w, 5000);
        cli_status_t st;
        assert_string_equal(again->process_id, id2);
        assert_int_equal(again->sequence, 1000002);
        assert_string_equal(again->cursor, eb->cursor);
        protobuf_c_message_free_unpacked(&again->base, NULL);
        expect_nothing(w, 500, "after B on reconnect");
        cli_stream_close(w, &st);
        cli_status_cleanup(&st);
    }

    protobuf_c_message_free_unpacked(&ea->base, NULL);
    protobuf_c_message_free_unpacked(&eb->base, NULL);
    PQfinish(ca);
    PQfinish(cb);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* Transaction A takes a transaction id and stays open, inserting no event; B inserts an event
 * and commits. The shared read may not pass A's open id, so it reads nothing then; when A
 * ends it sends no NOTIFY (it wrote no event: a claim, a subscription save). The reader must
 * still get B (the hub's one-second fallback reads again), or it would wait for the next
 * event of any process, which may never come. */
static void watch_processes_quiet_commit_releases(void **state)
{
    harness_server_t s;
    char pid[64], id1[64], filter[256], start_cursor[64];
    Orchestrator__V1__WatchProcessesRequest req = ORCHESTRATOR__V1__WATCH_PROCESSES_REQUEST__INIT;
    PGconn *ca, *cb;
    PGresult *r;
    cli_stream_t *w;
    event_t *eb;
    (void)state;

    harness_server_start(&s, NULL, (const char *const[]){"--workers", "0", NULL});
    product_id(&s, "node Cisco", pid);
    start_node(&s, pid, "quiet-a", id1);
    snprintf(filter, sizeof(filter), "process_id = \"%s\"", id1);
    ca = pg_open(s.dbname);
    cb = pg_open(s.dbname);
    r = PQexec(ca, "SELECT coalesce(max(tx_id::text::bigint), 0)::text || ':' || "
                   "coalesce(max(event_id), 0)::text FROM process_events");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    snprintf(start_cursor, sizeof(start_cursor), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    req.filter = filter;
    req.after_cursor = start_cursor;
    w = cli_stream_open(s.ch, PS "WatchProcesses", &req.base, 60000);
    expect_nothing(w, 500, "before any synthetic event");

    pg_ok(ca, "BEGIN");
    pg_ok(ca, "SELECT pg_current_xact_id()"); /* an id, and no event */
    pg_ok(cb, "BEGIN");
    pg_insert_event(cb, id1, "1000001");
    pg_ok(cb, "COMMIT");
    expect_nothing(w, 1200, "while A's transaction is still open");
    pg_ok(ca, "COMMIT"); /* no event, so no NOTIFY */
    eb = expect_event(w, 5000);
    assert_string_equal(eb->process_id, id1);
    assert_int_equal(eb->sequence, 1000001);
    {
        cli_status_t st;
        cli_stream_close(w, &st);
        cli_status_cleanup(&st);
    }
    protobuf_c_message_free_unpacked(&eb->base, NULL);
    PQfinish(ca);
    PQfinish(cb);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* What a NOTIFY on orch_process_events carries (migration 0013): a statement that inserted
 * events names each process and its sequence range; one that inserted none sends nothing (an
 * empty payload means "read everything": every hub would read every feed). NOTIFYs arrive in
 * commit order, so a marker sent after the statements tells that nothing else came. */
static void notify_names_what_was_inserted(void **state)
{
    harness_server_t s;
    char pid[64], id[64], want[128], sql[512];
    PGconn *l, *c;
    bool marker = false, named = false;
    (void)state;

    harness_server_start(&s, NULL, NULL);
    product_id(&s, "node FRR", pid);
    start_node(&s, pid, "notify", id);
    l = pg_open(s.dbname);
    c = pg_open(s.dbname);
    pg_ok(l, "LISTEN orch_process_events");
    pg_ok(l, "LISTEN orch_test_marker");
    pg_ok(c, "INSERT INTO process_events (process_id, sequence, kind, payload) "
             "SELECT process_id, 1, 'callback_progress', '{}' FROM processes WHERE false");
    snprintf(sql, sizeof(sql),
             "INSERT INTO process_events (process_id, sequence, kind, payload) VALUES "
             "('%s', 1000001, 'callback_progress', '{}'), "
             "('%s', 1000002, 'callback_progress', '{}')",
             id, id);
    pg_ok(c, sql);
    pg_ok(c, "NOTIFY orch_test_marker");
    snprintf(want, sizeof(want), "%s:1000001-1000002", id);
    for (int round = 0; !marker && round < 100; round++) { /* up to 10 s */
        PGnotify *n;
        struct pollfd pfd = {PQsocket(l), POLLIN, 0};
        poll(&pfd, 1, 100);
        if (!PQconsumeInput(l))
            fail_msg("listener: %s", PQerrorMessage(l));
        while ((n = PQnotifies(l)) != NULL) {
            if (strcmp(n->relname, "orch_test_marker") == 0) {
                marker = true;
            } else {
                /* The engine's own statements (the process runs) name it too; none may be
                 * empty, and ours must be there. */
                if (!n->extra[0])
                    fail_msg("a NOTIFY with an empty payload (a statement with no row?)");
                named = named || strcmp(n->extra, want) == 0;
            }
            PQfreemem(n);
        }
    }
    assert_true(marker);
    assert_true(named);
    PQfinish(l);
    PQfinish(c);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* The metrics endpoint after a workflow ran: the counters match what the stream showed. */
static void metrics_after_a_workflow(void **state)
{
    static char out[1 << 17];
    harness_server_t s;
    char pid[64], id[64], addr[64], line[256];
    int port = harness_free_port(), code, steps = 0;
    event_t *ev[64];
    size_t n;
    (void)state;

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    harness_server_start(&s, NULL, (const char *const[]){"--metrics-listen", addr, NULL});
    product_id(&s, "node Cisco", pid);
    start_node(&s, pid, "metered", id);
    /* From the first event on, so that every committed step is seen. */
    n = drain_stream(watch(&s, id, 1), ev, 64, &code);
    assert_int_equal(code, 0);
    for (size_t i = 0; i < n; i++)
        steps += ev[i]->kind == ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_STEP &&
                 ev[i]->step->status == ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_SUCCESS;
    free_events(ev, n);
    assert_true(steps >= 3);
    snprintf(line, sizeof(line),
             "orch_steps_total{workflow=\"create_node\",status=\"success\"} %d\n", steps);
    /* A worker counts a step after its commit returns, and the stream may deliver the last
     * one before that: wait for the count (5 s at most), then check the rest. */
    for (int i = 0; i < 100; i++) {
        assert_int_equal(harness_http_get(port, "/metrics", out, sizeof(out)), 200);
        if (strstr(out, line))
            break;
        nanosleep(&(struct timespec){0, 50000000L}, NULL);
    }
    if (!strstr(out, line))
        fail_msg("expected '%s' in the metrics", line);
    assert_non_null(strstr(out, "orch_processes{status=\"completed\",is_task=\"false\"} 1\n"));
    assert_non_null(strstr(out, "orch_step_duration_seconds_count{workflow=\"create_node\"}"));
    assert_non_null(strstr(out, "orch_process_claims_total "));
    assert_non_null(strstr(out, "orch_rpc_total{method=\"/orchestrator.v1.ProcessService/"
                                "StartProcess\",code=\"OK\"} 1"));
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* While both replicas run steps, a watcher on A cut after event k reconnects to B with
 * after_sequence = k: the two streams together are every event exactly once, and their step
 * events are exactly the process's audit log. */
static void reconnect_while_steps_commit(void **state)
{
    harness_server_t a, b;
    char pid[64], id[64];
    event_t *first[64], *rest[64];
    size_t n1 = 0, n2;
    int code, step_events = 0;
    cli_stream_t *w;
    ProtobufCMessage *m = NULL;
    Orchestrator__V1__GetProcessRequest greq = ORCHESTRATOR__V1__GET_PROCESS_REQUEST__INIT;
    Orchestrator__V1__Process *p;
    cli_status_t st;
    size_t audit = 0;
    (void)state;

    /* Every step is held a little so the process is still running when we switch. */
    setenv("ORCH_TEST_HOLD_STEP", "allocate.ipv4", 1);
    setenv("ORCH_TEST_HOLD_MS", "1500", 1);
    harness_server_start(&a, NULL, NULL);
    harness_server_start(&b, a.dbname, NULL);
    unsetenv("ORCH_TEST_HOLD_STEP");
    unsetenv("ORCH_TEST_HOLD_MS");
    product_id(&a, "node Cumulus", pid);
    start_node(&a, pid, "switch-over", id);
    /* From sequence 1 on (the process's creation): every later event, no snapshot. */
    w = watch(&a, id, 1);
    while (n1 < 3 &&
           cli_stream_next(w, &orchestrator__v1__process_event__descriptor, 10000, &m) == 1)
        first[n1++] = (event_t *)m;
    cli_stream_close(w, &st);
    cli_status_cleanup(&st);
    assert_int_equal(n1, 3);
    assert_int_equal(first[0]->sequence, 2);
    /* Cut after event k = the last one received; continue on the other replica. */
    n2 = drain_stream(watch(&b, id, first[n1 - 1]->sequence), rest, 64, &code);
    assert_int_equal(code, 0);
    assert_true(n2 >= 1);
    assert_int_equal(rest[0]->sequence, first[n1 - 1]->sequence + 1);
    for (size_t i = 1; i < n2; i++)
        assert_int_equal(rest[i]->sequence, rest[i - 1]->sequence + 1);
    assert_int_equal(rest[n2 - 1]->status_change->new_status,
                     ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED);
    /* The step events of both streams (after the snapshot) against the audit log. */
    greq.process_id = id;
    cli_call_unary(a.ch, PS "GetProcess", &greq.base, &orchestrator__v1__process__descriptor, 5000,
                   &m, &st);
    assert_int_equal(st.code, 0);
    p = (Orchestrator__V1__Process *)m;
    for (size_t i = 0; i < p->n_steps; i++)
        audit += p->steps[i]->step_id[0] != '\0';
    for (size_t i = 0; i < n1; i++)
        step_events +=
            first[i]->kind == ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_STEP;
    for (size_t i = 0; i < n2; i++)
        step_events +=
            rest[i]->kind == ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_STEP;
    assert_int_equal((size_t)step_events, audit);
    protobuf_c_message_free_unpacked(m, NULL);
    cli_status_cleanup(&st);
    free_events(first, n1);
    free_events(rest, n2);
    assert_int_equal(harness_server_stop(&b), 0);
    assert_int_equal(harness_server_stop(&a), 0);
    harness_db_drop(a.dbname);
}

/* ---- a slow watcher, its resume point, and the form of a suspension ------------------- */

static void close_watch(cli_stream_t *w);

/* Starts test_secret, which suspends at its input step ask_pin; the process id into id. */
static void start_secret(harness_server_t *s, char *id)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    Google__Protobuf__Struct page = GOOGLE__PROTOBUF__STRUCT__INIT, *pp = &page;
    Google__Protobuf__Struct__FieldsEntry e[2], *ep[2];
    Google__Protobuf__Value *vals[2] = {str("ops"), str("correct-horse-battery")};
    const char *keys[2] = {"username", "api_key"};
    ProtobufCMessage *resp = NULL;
    cli_status_t st;

    for (int i = 0; i < 2; i++) {
        google__protobuf__struct__fields_entry__init(&e[i]);
        e[i].key = (char *)keys[i];
        e[i].value = vals[i];
        ep[i] = &e[i];
    }
    page.n_fields = 2;
    page.fields = ep;
    req.workflow_name = "test_secret";
    req.n_user_inputs = 1;
    req.user_inputs = &pp;
    cli_call_unary(s->ch, PS "StartProcess", &req.base,
                   &orchestrator__v1__start_process_response__descriptor, 10000, &resp, &st);
    if (st.code != 0)
        fail_msg("StartProcess: %s", st.message);
    snprintf(id, 64, "%s", ((Orchestrator__V1__StartProcessResponse *)resp)->process->process_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    for (int i = 0; i < 2; i++)
        free(vals[i]);
}

/* Appends n callback_progress events of about 16 KB to process id in one transaction, as the
 * engine writes them (sequence from last_event_sequence under the row lock); the last
 * sequence is returned. */
static int64_t pg_add_events(PGconn *c, const char *id, int n)
{
    char ns[16];
    const char *p[2] = {id, ns};
    PGresult *r;
    int64_t last;
    snprintf(ns, sizeof(ns), "%d", n);
    r = PQexecParams(c,
                     "WITH u AS (UPDATE processes SET last_event_sequence = last_event_sequence + "
                     "$2::int WHERE process_id = $1::uuid RETURNING last_event_sequence) "
                     "INSERT INTO process_events (process_id, sequence, kind, payload) "
                     "SELECT $1::uuid, u.last_event_sequence - $2::int + g, 'callback_progress', "
                     "jsonb_build_object('step_key', 'ask_pin', 'message', repeat('x', 16000)) "
                     "FROM u, generate_series(1, $2::int) g RETURNING sequence",
                     2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("add events: %s", PQerrorMessage(c));
    last = atoll(PQgetvalue(r, PQntuples(r) - 1, 0));
    PQclear(r);
    return last;
}

/* Reads w until its last sequence is `until` (or it ends, or 30 s pass); every sequence
 * must follow the one before. Returns the last sequence read. */
static int64_t read_until(cli_stream_t *w, int64_t last, int64_t until, const char *who)
{
    for (int idle = 0; last < until && idle < 300;) {
        ProtobufCMessage *m = NULL;
        int r = cli_stream_next(w, &orchestrator__v1__process_event__descriptor, 100, &m);
        if (r == 0)
            break;
        if (r == -1) {
            idle++;
            continue;
        }
        if (((event_t *)m)->sequence != last + 1)
            fail_msg("%s: sequence %lld after %lld", who, (long long)((event_t *)m)->sequence,
                     (long long)last);
        last = ((event_t *)m)->sequence;
        protobuf_c_message_free_unpacked(m, NULL);
    }
    return last;
}

/* A suspension event carries the form page the process waits for. A watcher that stops
 * reading is ended with RESOURCE_EXHAUSTED WATCHER_TOO_SLOW and the sequence to resume
 * after (the last one it received), while the others receive every event; resuming with
 * that sequence on another replica misses nothing. */
static void slow_watcher_resumes_elsewhere(void **state)
{
    enum { READERS = 4, BATCHES = 30, PER_BATCH = 50 };
    harness_server_t a, b;
    char id[64], expect[64];
    cli_stream_t *early, *slow, *readers[READERS], *again;
    int64_t start, last[READERS], end = 0, got, resume;
    bool suspended = false;
    cli_status_t st;
    PGconn *pg;
    (void)state;

    setenv("ORCH_TEST_WORKFLOWS", "1", 1);
    harness_server_start(&a, NULL, (const char *const[]){"--watch-backlog-events", "300", NULL});
    harness_server_start(
        &b, a.dbname,
        (const char *const[]){"--workers", "0", "--watch-backlog-events", "300", NULL});
    unsetenv("ORCH_TEST_WORKFLOWS");
    start_secret(&a, id);

    /* From right after the creation: the catch-up read reaches the suspension. */
    early = watch(&a, id, 1);
    while (!suspended) {
        event_t *e = expect_event(early, 10000);
        if (e->kind == ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_STATUS_CHANGED &&
            e->status_change->new_status ==
                ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_SUSPENDED) {
            suspended = true;
            assert_string_equal(e->status_change->step_key, "ask_pin");
            assert_non_null(e->status_change->form);
            assert_string_equal(e->status_change->form->title, "The PIN");
            assert_non_null(e->status_change->form->form);
        }
        protobuf_c_message_free_unpacked(&e->base, NULL);
    }
    close_watch(early);

    /* The slow watcher reads its snapshot, then nothing more. */
    slow = watch(&a, id, 0);
    {
        event_t *e = expect_event(slow, 10000);
        assert_int_equal(e->kind,
                         ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_SNAPSHOT);
        start = e->sequence;
        protobuf_c_message_free_unpacked(&e->base, NULL);
    }
    for (int i = 0; i < READERS; i++) {
        event_t *e;
        readers[i] = watch(&a, id, 0);
        e = expect_event(readers[i], 10000);
        assert_int_equal(e->sequence, start);
        last[i] = start;
        protobuf_c_message_free_unpacked(&e->base, NULL);
    }
    pg = pg_open(a.dbname);
    for (int k = 0; k < BATCHES; k++) {
        end = pg_add_events(pg, id, PER_BATCH);
        for (int i = 0; i < READERS; i++) {
            last[i] = read_until(readers[i], last[i], end, "reader");
            assert_int_equal(last[i], end);
        }
    }
    PQfinish(pg);
    assert_int_equal(end, start + BATCHES * PER_BATCH);

    /* The slow one: what it got is contiguous, then the status says where to resume. */
    got = read_until(slow, start, end, "slow watcher");
    cli_stream_close(slow, &st);
    assert_int_equal(st.code, 8); /* RESOURCE_EXHAUSTED */
    assert_string_equal(st.reason, "WATCHER_TOO_SLOW");
    assert_true(got < end);
    snprintf(expect, sizeof(expect), "resume_after_sequence=%lld\n", (long long)got);
    assert_non_null(st.metadata);
    assert_string_equal(st.metadata, expect);
    resume = got;
    cli_status_cleanup(&st);

    /* The readers were not disturbed: still open (nothing pending, no status). */
    for (int i = 0; i < READERS; i++) {
        expect_nothing(readers[i], 50, "a reader after the slow one was ended");
        close_watch(readers[i]);
    }

    /* Resuming on the other replica: exactly the rest. */
    again = watch(&b, id, resume);
    assert_int_equal(read_until(again, resume, end, "resumed watcher"), end);
    expect_nothing(again, 200, "after the last event");
    close_watch(again);

    assert_int_equal(harness_server_stop(&b), 0);
    assert_int_equal(harness_server_stop(&a), 0);
    harness_db_drop(a.dbname);
}

/* A WatchProcesses stream on ch that is open (nothing within 300 ms), or NULL when it ended
 * at once; its status then into st. */
static cli_stream_t *open_watch(cli_channel_t *ch, cli_status_t *st)
{
    Orchestrator__V1__WatchProcessesRequest req = ORCHESTRATOR__V1__WATCH_PROCESSES_REQUEST__INIT;
    ProtobufCMessage *m = NULL;
    cli_stream_t *w;
    memset(st, 0, sizeof(*st));
    req.filter = "workflow = \"create_node\"";
    w = cli_stream_open(ch, PS "WatchProcesses", &req.base, 60000);
    if (cli_stream_next(w, &orchestrator__v1__process_event__descriptor, 300, &m) == -1)
        return w;
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    cli_stream_close(w, st);
    return NULL;
}

static void close_watch(cli_stream_t *w)
{
    cli_status_t st;
    cli_stream_close(w, &st);
    cli_status_cleanup(&st);
}

/* Watch streams per client and in all are bounded (RESOURCE_EXHAUSTED, a reason of each and
 * a retry hint); a closed stream frees its place; one connection's open calls are bounded
 * (the call past the bound waits in the client, another connection is served). */
static void watcher_and_stream_limits(void **state)
{
    harness_server_t s;
    cli_stream_t *w[3];
    cli_status_t st;
    (void)state;

    harness_server_start(
        &s, NULL, (const char *const[]){"--max-watchers-per-client=2", "--max-watchers=100", NULL});
    w[0] = open_watch(s.ch, &st);
    assert_non_null(w[0]);
    w[1] = open_watch(s.ch, &st);
    assert_non_null(w[1]);
    assert_null(open_watch(s.ch, &st));
    assert_int_equal(st.code, 8);
    assert_string_equal(st.reason, "TOO_MANY_WATCHERS_FOR_CLIENT");
    assert_true(st.retry_delay_ms > 0);
    cli_status_cleanup(&st);
    /* A closed stream frees its place (the hub notices the end asynchronously). */
    close_watch(w[1]);
    w[1] = NULL;
    for (int i = 0; i < 50 && !w[1]; i++) {
        w[1] = open_watch(s.ch, &st);
        cli_status_cleanup(&st);
    }
    assert_non_null(w[1]);
    close_watch(w[0]);
    close_watch(w[1]);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);

    harness_server_start(
        &s, NULL, (const char *const[]){"--max-watchers-per-client=100", "--max-watchers=2", NULL});
    w[0] = open_watch(s.ch, &st);
    w[1] = open_watch(s.ch, &st);
    assert_non_null(w[0]);
    assert_non_null(w[1]);
    assert_null(open_watch(s.ch, &st));
    assert_int_equal(st.code, 8);
    assert_string_equal(st.reason, "TOO_MANY_WATCHERS");
    cli_status_cleanup(&st);
    close_watch(w[0]);
    close_watch(w[1]);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);

    harness_server_start(&s, NULL, (const char *const[]){"--max-concurrent-streams=2", NULL});
    w[0] = open_watch(s.ch, &st);
    w[1] = open_watch(s.ch, &st);
    assert_non_null(w[0]);
    assert_non_null(w[1]);
    {
        Orchestrator__V1__ListProductsRequest req = ORCHESTRATOR__V1__LIST_PRODUCTS_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        cli_channel_t *other = cli_channel_new(s.addr, NULL);
        /* A third call on the full connection waits (here until its deadline)... */
        assert_int_equal(
            cli_call_unary(s.ch, "/orchestrator.v1.ProductService/ListProducts", &req.base,
                           &orchestrator__v1__list_products_response__descriptor, 1500, &resp, &st),
            4);
        cli_status_cleanup(&st);
        /* ...while another connection is served. */
        assert_int_equal(
            cli_call_unary(other, "/orchestrator.v1.ProductService/ListProducts", &req.base,
                           &orchestrator__v1__list_products_response__descriptor, 5000, &resp, &st),
            0);
        cli_status_cleanup(&st);
        protobuf_c_message_free_unpacked(resp, NULL);
        cli_channel_free(other);
    }
    close_watch(w[0]);
    close_watch(w[1]);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(watch_to_completion_and_reconnect),
        cmocka_unit_test(watch_many_processes),
        cmocka_unit_test(watch_processes_late_commit_trap),
        cmocka_unit_test(watch_processes_quiet_commit_releases),
        cmocka_unit_test(thousand_watchers),
        cmocka_unit_test(notify_names_what_was_inserted),
        cmocka_unit_test(metrics_after_a_workflow),
        cmocka_unit_test(reconnect_while_steps_commit),
        cmocka_unit_test(watcher_and_stream_limits),
        cmocka_unit_test(slow_watcher_resumes_elsewhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
