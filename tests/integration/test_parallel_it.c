/* Parallel branches over gRPC against real PostgreSQL (test_parallel: prepare -> parallel
 * "fan" with branches a (work, second), b (work), c (work, flaky) -> after -> done):
 * - the join of three branches run concurrently on two replicas (asserted from the audit
 *   log: the three 300 ms steps overlap), each branch's result merged under its name, the
 *   branches shown in GetProcess and in WatchProcess, the graph drawn;
 * - a failing branch fails the join while the others' committed steps are kept; RetryProcess
 *   re-runs only that branch (every other branch step appears once in the audit log);
 * - a replica SIGKILLed in the middle of a branch step: another replica finishes the branch,
 *   every step committed once;
 * - AbortProcess while branches run ends them too;
 * - many joins at once on two replicas: none is missed, no step runs twice. */
#include <jansson.h>
#include <libpq-fe.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "orchestrator/v1/workflows.pb-c.h"

#define PS "/orchestrator.v1.ProcessService/"
#define WS "/orchestrator.v1.WorkflowService/"
#define ST(x) ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_##x
#define SS(x) ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_##x

typedef Orchestrator__V1__Process process_t;

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
    unsetenv("ORCH_TEST_WORKFLOW_VERSIONS");
}

/* One integer from a query on the test database. */
static long long scalar(const char *dbname, const char *fmt, ...)
{
    char q[4096], ci[512];
    va_list ap;
    PGconn *c;
    PGresult *r;
    long long v;
    harness_conninfo(dbname, ci);
    c = PQconnectdb(ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    va_start(ap, fmt);
    vsnprintf(q, sizeof(q), fmt, ap);
    va_end(ap);
    r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", q, PQerrorMessage(c));
    v = PQgetisnull(r, 0, 0)            ? -1
        : PQgetvalue(r, 0, 0)[0] == 't' ? 1
        : PQgetvalue(r, 0, 0)[0] == 'f' ? 0
                                        : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

/* StartProcess of test_parallel with integer inputs (NULL-terminated name/value pairs). */
static void start(harness_server_t *s, char *id, ...)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    Google__Protobuf__Struct page = GOOGLE__PROTOBUF__STRUCT__INIT, *pages[1] = {&page};
    Google__Protobuf__Struct__FieldsEntry entries[4], *ep[4];
    Google__Protobuf__Value vals[4];
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    va_list ap;
    const char *k;

    va_start(ap, id);
    while ((k = va_arg(ap, const char *)) && page.n_fields < 4) {
        size_t i = page.n_fields++;
        google__protobuf__struct__fields_entry__init(&entries[i]);
        google__protobuf__value__init(&vals[i]);
        entries[i].key = (char *)k;
        vals[i].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
        vals[i].number_value = va_arg(ap, int);
        entries[i].value = &vals[i];
        ep[i] = &entries[i];
    }
    va_end(ap);
    page.fields = ep;
    req.workflow_name = "test_parallel";
    req.n_user_inputs = 1;
    req.user_inputs = pages;
    cli_call_unary(s->ch, PS "StartProcess", &req.base,
                   &orchestrator__v1__start_process_response__descriptor, 10000, &resp, &st);
    if (st.code != 0)
        fail_msg("StartProcess: %d %s", st.code, st.message ? st.message : "");
    snprintf(id, 64, "%s", ((Orchestrator__V1__StartProcessResponse *)resp)->process->process_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
}

static process_t *get(harness_server_t *s, const char *id)
{
    Orchestrator__V1__GetProcessRequest req = ORCHESTRATOR__V1__GET_PROCESS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    req.process_id = (char *)id;
    cli_call_unary(s->ch, PS "GetProcess", &req.base, &orchestrator__v1__process__descriptor, 5000,
                   &resp, &st);
    if (st.code != 0)
        fail_msg("GetProcess %s: %d %s", id, st.code, st.message ? st.message : "");
    cli_status_cleanup(&st);
    return (process_t *)resp;
}

static process_t *wait_for(harness_server_t *s, const char *id,
                           Orchestrator__V1__ProcessStatus status, int ms)
{
    int64_t until = now_ms() + ms;
    for (;;) {
        process_t *p = get(s, id);
        if (p->status == status)
            return p;
        if (now_ms() > until)
            fail_msg("process %s: status %d, last step '%s'; waited for %d", id, p->status,
                     p->last_step_key, status);
        protobuf_c_message_free_unpacked(&p->base, NULL);
        msleep(100);
    }
}

/* The audit row (not a pending step) of key with status, or NULL. */
static const Orchestrator__V1__ProcessStep *row(const process_t *p, const char *key,
                                                Orchestrator__V1__StepStatus status)
{
    for (size_t i = 0; i < p->n_steps; i++)
        if (p->steps[i]->step_id[0] && strcmp(p->steps[i]->key, key) == 0 &&
            p->steps[i]->status == status)
            return p->steps[i];
    return NULL;
}

static const Google__Protobuf__Value *field(const Google__Protobuf__Struct *s, const char *k)
{
    for (size_t i = 0; s && i < s->n_fields; i++)
        if (strcmp(s->fields[i]->key, k) == 0)
            return s->fields[i]->value;
    return NULL;
}

/* state.<branch>.<key> as a string ("" when absent). */
static const char *branch_str(const process_t *p, const char *branch, const char *key)
{
    const Google__Protobuf__Value *b = field(p->current_state, branch), *v;
    if (!b || b->kind_case != GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE)
        return "";
    v = field(b->struct_value, key);
    return v && v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE ? v->string_value : "";
}

/* RetryProcess with branch names; returns the code, *outcome the ActionOutcome. */
static int retry(harness_server_t *s, const char *id, const char *branch, int *outcome,
                 cli_status_t *st)
{
    Orchestrator__V1__RetryProcessRequest req = ORCHESTRATOR__V1__RETRY_PROCESS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    char *names[1] = {(char *)branch};
    req.process_id = (char *)id;
    if (branch) {
        req.n_branches = 1;
        req.branches = names;
    }
    cli_call_unary(s->ch, PS "RetryProcess", &req.base,
                   &orchestrator__v1__retry_process_response__descriptor, 10000, &resp, st);
    if (resp) {
        if (outcome)
            *outcome = ((Orchestrator__V1__RetryProcessResponse *)resp)->outcome;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return st->code;
}

/* Committed (success/skipped/complete) rows per step key of the process and its branches
 * that appear more than once: must be 0. */
#define DUPLICATES                                                                                 \
    "SELECT count(*) FROM (SELECT s.step_key FROM process_steps s JOIN processes p USING "         \
    "(process_id) WHERE (p.process_id = '%s' OR p.parent_process_id = '%s') AND s.status IN "      \
    "('success', 'skipped', 'complete') GROUP BY s.step_key HAVING count(*) > 1) d"
/* Rows of one step key (with status) of the process and its branches. */
#define ROWS                                                                                       \
    "SELECT count(*) FROM process_steps s JOIN processes p USING (process_id) WHERE "              \
    "(p.process_id = '%s' OR p.parent_process_id = '%s') AND s.step_key = '%s' AND "               \
    "s.status = '%s'"

static void join_of_three_concurrent_branches(void **state)
{
    harness_server_t a, b;
    char id[64], db[64];
    const char *const args[] = {"--workers=3", NULL};
    Orchestrator__V1__WatchProcessRequest wr = ORCHESTRATOR__V1__WATCH_PROCESS_REQUEST__INIT;
    cli_stream_t *w;
    cli_status_t st = {0};
    bool seen[3] = {false, false, false}, join_seen = false;
    process_t *p;
    (void)state;

    env_reset();
    harness_server_start(&a, NULL, args);
    snprintf(db, sizeof(db), "%s", a.dbname);
    harness_server_start(&b, db, args);
    start(&a, id, NULL);

    /* The stream of the whole process shows each branch's steps with their branch. */
    wr.process_id = id;
    wr.after_sequence = 1;
    w = cli_stream_open(b.ch, PS "WatchProcess", &wr.base, 30000);
    for (;;) {
        ProtobufCMessage *m = NULL;
        Orchestrator__V1__ProcessEvent *ev;
        if (cli_stream_next(w, &orchestrator__v1__process_event__descriptor, 20000, &m) != 1)
            break;
        ev = (Orchestrator__V1__ProcessEvent *)m;
        if (ev->payload_case == ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_STEP) {
            const char *k = ev->step->key, *br = ev->step->branch;
            if (strncmp(k, "fan/", 4) == 0) {
                assert_int_equal(strlen(br), 1);
                assert_true(br[0] >= 'a' && br[0] <= 'c');
                assert_int_equal(k[4], br[0]); /* "fan/<branch>/<step>" */
                assert_string_equal(ev->step->parent_key, "fan");
                seen[br[0] - 'a'] = true;
            } else {
                assert_string_equal(br, "");
                if (strcmp(k, "fan") == 0)
                    join_seen = true;
            }
        }
        protobuf_c_message_free_unpacked(m, NULL);
    }
    cli_stream_close(w, &st);
    assert_int_equal(st.code, 0);
    cli_status_cleanup(&st);
    assert_true(seen[0] && seen[1] && seen[2] && join_seen);

    p = wait_for(&a, id, ST(COMPLETED), 20000);
    /* Each branch's result merged under its name: the same keys kept apart. */
    assert_string_equal(branch_str(p, "a", "step"), "fan/a/work");
    assert_string_equal(branch_str(p, "a", "second"), "done");
    assert_string_equal(branch_str(p, "b", "step"), "fan/b/work");
    assert_string_equal(branch_str(p, "c", "step"), "fan/c/work");
    assert_string_equal(branch_str(p, "c", "work"), "done");
    assert_non_null(field(p->current_state, "joined"));
    /* GetProcess: branch rows with their branch and parallel step; the join row. */
    {
        const Orchestrator__V1__ProcessStep *s = row(p, "fan/b/work", SS(SUCCESS));
        assert_non_null(s);
        assert_string_equal(s->branch, "b");
        assert_string_equal(s->parent_key, "fan");
        s = row(p, "fan/c/flaky", SS(SUCCESS));
        assert_non_null(s);
        assert_string_equal(s->branch, "c");
        s = row(p, "fan", SS(SUCCESS));
        assert_non_null(s);
        assert_int_equal(s->kind, ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_PARALLEL);
        assert_string_equal(s->branch, "");
        assert_non_null(row(p, "after", SS(SUCCESS)));
        for (size_t i = 0; i < p->n_steps; i++)
            assert_true(p->steps[i]->step_id[0]); /* completed: nothing pending */
    }
    protobuf_c_message_free_unpacked(&p->base, NULL);

    /* Concurrency from the audit log: the three 300 ms steps overlap in time (one after the
     * other they would span at least 900 ms). */
    assert_int_equal(scalar(db,
                            "SELECT count(*) FROM process_steps s JOIN processes b USING "
                            "(process_id) WHERE b.parent_process_id = '%s' AND s.step_key "
                            "LIKE 'fan/%%/work' AND s.status = 'success'",
                            id),
                     3);
    assert_int_equal(scalar(db,
                            "SELECT max(s.start_time) < min(s.end_time) FROM process_steps s "
                            "JOIN processes b USING (process_id) WHERE b.parent_process_id "
                            "= '%s' AND s.step_key LIKE 'fan/%%/work'",
                            id),
                     1);
    assert_true(scalar(db,
                       "SELECT (extract(epoch FROM max(s.end_time) - min(s.start_time)) * "
                       "1000)::bigint FROM process_steps s JOIN processes b USING "
                       "(process_id) WHERE b.parent_process_id = '%s' AND s.step_key LIKE "
                       "'fan/%%/work'",
                       id) < 900);
    assert_int_equal(scalar(db, DUPLICATES, id, id), 0);
    assert_int_equal(scalar(db,
                            "SELECT count(*) FROM processes WHERE parent_process_id = '%s' "
                            "AND last_status = 'completed'",
                            id),
                     3);
    {
        /* The branch processes are not listed as processes of their own. */
        Orchestrator__V1__ListProcessesRequest lr = ORCHESTRATOR__V1__LIST_PROCESSES_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        lr.filter = "workflow = \"test_parallel\"";
        cli_call_unary(a.ch, PS "ListProcesses", &lr.base,
                       &orchestrator__v1__list_processes_response__descriptor, 5000, &resp, &st);
        assert_int_equal(st.code, 0);
        cli_status_cleanup(&st);
        assert_int_equal(((Orchestrator__V1__ListProcessesResponse *)resp)->total_size, 1);
        assert_string_equal(
            ((Orchestrator__V1__ListProcessesResponse *)resp)->processes[0]->process_id, id);
        protobuf_c_message_free_unpacked(resp, NULL);
    }

    /* The graph draws the parallel step: branch nodes, "branch" and "join" edges. */
    {
        Orchestrator__V1__GetWorkflowGraphRequest gr =
            ORCHESTRATOR__V1__GET_WORKFLOW_GRAPH_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        Orchestrator__V1__WorkflowGraph *g;
        int branch_node = 0, branch_edges = 0, join_edges = 0;
        gr.key_case = ORCHESTRATOR__V1__GET_WORKFLOW_GRAPH_REQUEST__KEY_NAME;
        gr.name = "test_parallel";
        cli_call_unary(a.ch, WS "GetWorkflowGraph", &gr.base,
                       &orchestrator__v1__workflow_graph__descriptor, 5000, &resp, &st);
        assert_int_equal(st.code, 0);
        cli_status_cleanup(&st);
        g = (Orchestrator__V1__WorkflowGraph *)resp;
        for (size_t i = 0; i < g->n_nodes; i++)
            if (strcmp(g->nodes[i]->node_id, "fan/c/flaky") == 0) {
                assert_string_equal(g->nodes[i]->parent_node_id, "fan");
                assert_string_equal(g->nodes[i]->branch, "c");
                branch_node++;
            }
        for (size_t i = 0; i < g->n_edges; i++) {
            if (strncmp(g->edges[i]->label, "branch ", 7) == 0) {
                assert_string_equal(g->edges[i]->source_node_id, "fan");
                branch_edges++;
            }
            if (strcmp(g->edges[i]->label, "join") == 0) {
                assert_string_equal(g->edges[i]->target_node_id, "after");
                join_edges++;
            }
        }
        assert_int_equal(branch_node, 1);
        assert_int_equal(branch_edges, 3);
        assert_int_equal(join_edges, 3);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    assert_int_equal(harness_server_stop(&b), 0);
    assert_int_equal(harness_server_stop(&a), 0);
    harness_db_drop(db);
}

static void failed_branch_retried_alone(void **state)
{
    harness_server_t s;
    char id[64], db[64];
    cli_status_t st = {0};
    int outcome = 0;
    process_t *p;
    (void)state;

    env_reset();
    harness_server_start(&s, NULL, NULL);
    snprintf(db, sizeof(db), "%s", s.dbname);
    start(&s, id, "fail_branch_c", 1, "branch_sleep_ms", 50, NULL);
    p = wait_for(&s, id, ST(FAILED), 20000);
    /* The join failed naming branch c; the other branches' committed work is kept. */
    assert_string_equal(p->last_step_key, "fan");
    assert_non_null(p->error);
    assert_string_equal(p->error->reason, "PARALLEL_BRANCH_FAILED");
    assert_non_null(strstr(p->error->message, "branch c"));
    assert_non_null(row(p, "fan/a/work", SS(SUCCESS)));
    assert_non_null(row(p, "fan/a/second", SS(SUCCESS)));
    assert_non_null(row(p, "fan/b/work", SS(SUCCESS)));
    assert_non_null(row(p, "fan/c/work", SS(SUCCESS)));
    assert_non_null(row(p, "fan/c/flaky", SS(FAILED)));
    assert_string_equal(row(p, "fan/c/flaky", SS(FAILED))->branch, "c");
    assert_non_null(row(p, "fan", SS(FAILED)));
    assert_null(row(p, "after", SS(SUCCESS)));
    protobuf_c_message_free_unpacked(&p->base, NULL);

    /* Only failed branches can be named. */
    assert_int_equal(retry(&s, id, "a", NULL, &st), 3);
    assert_string_equal(st.violations[0].field, "branches");
    cli_status_cleanup(&st);
    assert_int_equal(retry(&s, id, "nope", NULL, &st), 3);
    cli_status_cleanup(&st);
    assert_int_equal(retry(&s, id, "", NULL, &st), 3);
    cli_status_cleanup(&st);
    {
        /* A branch process is retried through its parent. */
        char branch_id[64];
        PGconn *c;
        PGresult *r;
        char ci[512];
        harness_conninfo(db, ci);
        c = PQconnectdb(ci);
        r = PQexecParams(c,
                         "SELECT process_id FROM processes WHERE parent_process_id = $1 AND "
                         "branch_key = 'fan/c'",
                         1, NULL, (const char *[]){id}, NULL, NULL, 0);
        assert_int_equal(PQntuples(r), 1);
        snprintf(branch_id, sizeof(branch_id), "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        PQfinish(c);
        assert_int_equal(retry(&s, branch_id, NULL, NULL, &st), 9);
        assert_string_equal(st.reason, "PROCESS_NOT_RETRIABLE");
        assert_non_null(strstr(st.message, id));
        cli_status_cleanup(&st);
    }

    assert_int_equal(retry(&s, id, "c", &outcome, &st), 0);
    assert_int_equal(outcome, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED);
    cli_status_cleanup(&st);
    p = wait_for(&s, id, ST(COMPLETED), 20000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    /* The branches that had completed never ran again; c ran from its failed step. */
    assert_int_equal(scalar(db, ROWS, id, id, "fan/a/work", "success"), 1);
    assert_int_equal(scalar(db, ROWS, id, id, "fan/a/second", "success"), 1);
    assert_int_equal(scalar(db, ROWS, id, id, "fan/b/work", "success"), 1);
    assert_int_equal(scalar(db, ROWS, id, id, "fan/c/work", "success"), 1);
    assert_int_equal(scalar(db, ROWS, id, id, "fan/c/flaky", "failed"), 1);
    assert_int_equal(scalar(db, ROWS, id, id, "fan/c/flaky", "success"), 1);
    assert_int_equal(scalar(db, ROWS, id, id, "fan", "failed"), 1);
    assert_int_equal(scalar(db, ROWS, id, id, "fan", "success"), 1);
    assert_int_equal(scalar(db, ROWS, id, id, "after", "success"), 1);
    assert_int_equal(scalar(db,
                            "SELECT count(*) FROM process_steps s JOIN processes b USING "
                            "(process_id) WHERE b.parent_process_id = '%s'",
                            id),
                     6);
    assert_int_equal(scalar(db, DUPLICATES, id, id), 0);
    /* A repeat of the retry changes nothing and says so. */
    assert_int_equal(retry(&s, id, "c", &outcome, &st), 0);
    assert_int_equal(outcome, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED);
    cli_status_cleanup(&st);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(db);
}

static void retry_without_names_reruns_every_failed_branch(void **state)
{
    harness_server_t s;
    char id[64], db[64];
    cli_status_t st = {0};
    process_t *p;
    (void)state;

    env_reset();
    harness_server_start(&s, NULL, NULL);
    snprintf(db, sizeof(db), "%s", s.dbname);
    start(&s, id, "fail_branch_c", 1, "branch_sleep_ms", 20, NULL);
    p = wait_for(&s, id, ST(FAILED), 20000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(retry(&s, id, NULL, NULL, &st), 0);
    cli_status_cleanup(&st);
    p = wait_for(&s, id, ST(COMPLETED), 20000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(scalar(db, ROWS, id, id, "fan/a/work", "success"), 1);
    assert_int_equal(scalar(db, ROWS, id, id, "fan/c/flaky", "success"), 1);
    assert_int_equal(scalar(db, DUPLICATES, id, id), 0);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(db);
}

/* BulkResume (the plain resume path: the parent runnable again) re-runs the failed branches
 * when the process reaches its join again; the completed ones stay as they are. */
static void bulk_resume_reruns_failed_branches(void **state)
{
    harness_server_t s;
    char id[64], db[64];
    cli_status_t st = {0};
    Orchestrator__V1__BulkResumeRequest req = ORCHESTRATOR__V1__BULK_RESUME_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    process_t *p;
    (void)state;

    env_reset();
    harness_server_start(&s, NULL, NULL);
    snprintf(db, sizeof(db), "%s", s.dbname);
    start(&s, id, "fail_branch_c", 1, "branch_sleep_ms", 20, NULL);
    p = wait_for(&s, id, ST(FAILED), 20000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    req.filter = "workflow:test_parallel";
    cli_call_unary(s.ch, PS "BulkResume", &req.base,
                   &orchestrator__v1__bulk_resume_response__descriptor, 10000, &resp, &st);
    assert_int_equal(st.code, 0);
    assert_int_equal(((Orchestrator__V1__BulkResumeResponse *)resp)->resumed_count, 1);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    p = wait_for(&s, id, ST(COMPLETED), 20000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(scalar(db, ROWS, id, id, "fan/b/work", "success"), 1);
    assert_int_equal(scalar(db, ROWS, id, id, "fan/c/flaky", "success"), 1);
    assert_int_equal(scalar(db, ROWS, id, id, "fan", "failed"), 1);
    assert_int_equal(scalar(db, DUPLICATES, id, id), 0);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(db);
}

static void sigkill_in_a_branch(void **state)
{
    harness_server_t a, b;
    char id[64], db[64];
    const char *const args[] = {"--lease-ms=2000", "--workers=3", NULL};
    process_t *p;
    int64_t until;
    (void)state;

    env_reset();
    /* Replica A holds branch b's step after it ran, before its commit. */
    setenv("ORCH_TEST_HOLD_STEP", "fan/b/work", 1);
    harness_server_start(&a, NULL, args);
    snprintf(db, sizeof(db), "%s", a.dbname);
    start(&a, id, "branch_sleep_ms", 100, NULL);
    until = now_ms() + 15000;
    while (scalar(db,
                  "SELECT count(*) FROM processes WHERE parent_process_id = '%s' AND "
                  "branch_key = 'fan/b' AND running_step_key = 'fan/b/work'",
                  id) != 1 ||
           scalar(db,
                  "SELECT count(*) FROM processes WHERE parent_process_id = '%s' AND "
                  "last_status = 'completed'",
                  id) != 2) {
        if (now_ms() > until)
            fail_msg("branch b never reached its held step");
        msleep(100);
    }
    msleep(300); /* in the hold, past the step itself */
    kill(a.pid, SIGKILL);
    harness_server_stop(&a); /* reaps it */

    env_reset();
    harness_server_start(&b, db, args);
    p = wait_for(&b, id, ST(COMPLETED), 30000);
    assert_string_equal(branch_str(p, "b", "step"), "fan/b/work");
    protobuf_c_message_free_unpacked(&p->base, NULL);
    /* Every step committed once; branch b's step was finished by the other replica. */
    assert_int_equal(scalar(db, DUPLICATES, id, id), 0);
    assert_int_equal(scalar(db, ROWS, id, id, "fan/b/work", "success"), 1);
    assert_int_equal(scalar(db,
                            "SELECT (SELECT executed_by FROM process_steps s JOIN processes "
                            "b USING (process_id) WHERE b.parent_process_id = '%s' AND "
                            "s.step_key = 'fan/b/work') <> (SELECT executed_by FROM "
                            "process_steps WHERE process_id = '%s' AND step_key = 'prepare')",
                            id, id),
                     1);
    assert_true(scalar(db,
                       "SELECT claim_count FROM processes WHERE parent_process_id = '%s' AND "
                       "branch_key = 'fan/b'",
                       id) >= 2);
    assert_int_equal(scalar(db, ROWS, id, id, "fan", "success"), 1);
    assert_int_equal(harness_server_stop(&b), 0);
    harness_db_drop(db);
}

static void abort_ends_running_branches(void **state)
{
    harness_server_t s;
    char id[64], db[64];
    cli_status_t st = {0};
    Orchestrator__V1__AbortProcessRequest req = ORCHESTRATOR__V1__ABORT_PROCESS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    process_t *p;
    int64_t until;
    (void)state;

    env_reset();
    harness_server_start(&s, NULL, NULL);
    snprintf(db, sizeof(db), "%s", s.dbname);
    start(&s, id, "branch_sleep_ms", 3000, NULL);
    until = now_ms() + 10000;
    while (scalar(db, "SELECT count(*) FROM processes WHERE parent_process_id = '%s'", id) != 3) {
        if (now_ms() > until)
            fail_msg("the branches never started");
        msleep(50);
    }
    req.process_id = id;
    cli_call_unary(s.ch, PS "AbortProcess", &req.base,
                   &orchestrator__v1__abort_process_response__descriptor, 10000, &resp, &st);
    assert_int_equal(st.code, 0);
    cli_status_cleanup(&st);
    protobuf_c_message_free_unpacked(resp, NULL);
    p = get(&s, id);
    assert_int_equal(p->status, ST(ABORTED));
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(scalar(db,
                            "SELECT count(*) FROM processes WHERE parent_process_id = '%s' "
                            "AND last_status = 'aborted' AND NOT runnable",
                            id),
                     3);
    msleep(3500); /* the running branch steps' commits are refused */
    assert_int_equal(scalar(db,
                            "SELECT count(*) FROM process_steps s JOIN processes b USING "
                            "(process_id) WHERE b.parent_process_id = '%s' AND s.status = "
                            "'success'",
                            id),
                     0);
    p = get(&s, id);
    assert_int_equal(p->status, ST(ABORTED));
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(db);
}

/* Many joins at once on two replicas: branches settling at the same moment never leave a
 * parent waiting (the race the trigger's lock order closes), and no step runs twice. */
static void many_joins_at_once(void **state)
{
    harness_server_t a, b;
    char ids[12][64], db[64];
    const char *const args[] = {"--workers=4", NULL};
    (void)state;

    env_reset();
    harness_server_start(&a, NULL, args);
    snprintf(db, sizeof(db), "%s", a.dbname);
    harness_server_start(&b, db, args);
    for (int i = 0; i < 12; i++)
        start(i % 2 ? &a : &b, ids[i], "branch_sleep_ms", 0, NULL);
    for (int i = 0; i < 12; i++) {
        process_t *p = wait_for(i % 2 ? &b : &a, ids[i], ST(COMPLETED), 60000);
        protobuf_c_message_free_unpacked(&p->base, NULL);
        assert_int_equal(scalar(db, DUPLICATES, ids[i], ids[i]), 0);
        assert_int_equal(scalar(db, ROWS, ids[i], ids[i], "fan", "success"), 1);
    }
    assert_int_equal(scalar(db, "SELECT count(*) FROM processes WHERE parent_process_id IS NOT "
                                "NULL AND last_status = 'completed'"),
                     36);
    assert_int_equal(harness_server_stop(&b), 0);
    assert_int_equal(harness_server_stop(&a), 0);
    harness_db_drop(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(join_of_three_concurrent_branches),
        cmocka_unit_test(failed_branch_retried_alone),
        cmocka_unit_test(retry_without_names_reruns_every_failed_branch),
        cmocka_unit_test(bulk_resume_reruns_failed_branches),
        cmocka_unit_test(sigkill_in_a_branch),
        cmocka_unit_test(abort_ends_running_branches),
        cmocka_unit_test(many_joins_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
