/* The workflow engine over gRPC against real PostgreSQL: create_node to completion with its
 * audit log and allocations; a failing step retried to success with identical failures
 * collapsed; waits with back-off; abort while a step runs; idempotent start on two replicas
 * at once; pause / resume with work in flight; versions across restarts; step time-out; and
 * the SIGKILL crash test (exactly one committed row per step key, exactly one allocation). */
#include <ctype.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"
#include "orchestrator/v1/engine.pb-c.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "orchestrator/v1/products.pb-c.h"
#include "orchestrator/v1/workflows.pb-c.h"

#define PS "/orchestrator.v1.ProcessService/"
#define ES "/orchestrator.v1.EngineService/"
#define WS "/orchestrator.v1.WorkflowService/"

typedef Orchestrator__V1__Process process_t;

static void msleep(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

static void env_reset(void)
{
    setenv("ORCH_TEST_WORKFLOWS", "1", 1);
    unsetenv("ORCH_TEST_HOLD_STEP");
    unsetenv("ORCH_TEST_HOLD_MS");
    unsetenv("ORCH_TEST_WORKFLOW_VERSIONS");
}

static PGconn *db_connect(const char *dbname)
{
    char ci[512];
    PGconn *c;
    harness_conninfo(dbname, ci);
    c = PQconnectdb(ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    return c;
}

/* One integer from a query. */
static long long scalar(const char *dbname, const char *fmt, ...)
{
    char q[2048];
    va_list ap;
    PGconn *c = db_connect(dbname);
    PGresult *r;
    long long v;
    va_start(ap, fmt);
    vsnprintf(q, sizeof(q), fmt, ap);
    va_end(ap);
    r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", q, PQerrorMessage(c));
    v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

static const char *product_id(harness_server_t *s, const char *name, char *out)
{
    Orchestrator__V1__GetProductRequest req = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    req.key_case = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_NAME;
    req.name = (char *)name;
    cli_call_unary(s->ch, "/orchestrator.v1.ProductService/GetProduct", &req.base,
                   &orchestrator__v1__product__descriptor, 5000, &resp, &st);
    assert_int_equal(st.code, 0);
    snprintf(out, 64, "%s", ((Orchestrator__V1__Product *)resp)->product_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    return out;
}

/* StartProcess; inputs: a JSON object as text or NULL. Returns the code; *id gets the
 * process id on success (64 bytes). */
static int start(harness_server_t *s, const char *workflow, const char *inputs, const char *product,
                 const char *request_id, char *id, int *outcome, cli_status_t *st)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    Google__Protobuf__Struct *page = NULL;
    ProtobufCMessage *resp = NULL;
    json_t *j = inputs ? json_loads(inputs, 0, NULL) : NULL;

    req.workflow_name = (char *)workflow;
    req.product_id = (char *)(product ? product : "");
    req.request_id = (char *)(request_id ? request_id : "");
    if (j) {
        /* A Struct of the JSON object's values (strings, integers, booleans). */
        const char *k;
        json_t *v;
        size_t n = json_object_size(j), i = 0;
        page = calloc(1, sizeof(*page));
        google__protobuf__struct__init(page);
        page->n_fields = n;
        page->fields = calloc(n + 1, sizeof(*page->fields));
        json_object_foreach(j, k, v)
        {
            Google__Protobuf__Struct__FieldsEntry *e = calloc(1, sizeof(*e));
            Google__Protobuf__Value *val = calloc(1, sizeof(*val));
            google__protobuf__struct__fields_entry__init(e);
            google__protobuf__value__init(val);
            e->key = (char *)k;
            if (json_is_string(v)) {
                val->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
                val->string_value = (char *)json_string_value(v);
            } else if (json_is_boolean(v)) {
                val->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
                val->bool_value = json_is_true(v);
            } else {
                val->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
                val->number_value = json_number_value(v);
            }
            e->value = val;
            page->fields[i++] = e;
        }
        req.n_user_inputs = 1;
        req.user_inputs = &page;
    }
    cli_call_unary(s->ch, PS "StartProcess", &req.base,
                   &orchestrator__v1__start_process_response__descriptor, 10000, &resp, st);
    if (resp) {
        Orchestrator__V1__StartProcessResponse *r = (void *)resp;
        snprintf(id, 64, "%s", r->process->process_id);
        if (outcome)
            *outcome = r->outcome;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    if (page) {
        for (size_t i = 0; i < page->n_fields; i++) {
            free(page->fields[i]->value);
            free(page->fields[i]);
        }
        free(page->fields);
        free(page);
    }
    json_decref(j);
    return st->code;
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

/* The nth audit row (pending steps are left out) of key, or NULL. */
static const Orchestrator__V1__ProcessStep *step(const process_t *p, const char *key, int nth);

/* Polls until the process has status (or its last step key is key when key != NULL). */
static process_t *wait_for(harness_server_t *s, const char *id,
                           Orchestrator__V1__ProcessStatus status, const char *key, int ms)
{
    int64_t until = (int64_t)time(NULL) * 1000 + ms;
    for (;;) {
        process_t *p = get(s, id);
        if (key ? strcmp(p->last_step_key, key) == 0 : p->status == status)
            return p;
        if ((int64_t)time(NULL) * 1000 > until)
            fail_msg("process %s: status %d, last step '%s'; waited for %d / '%s'", id, p->status,
                     p->last_step_key, status, key ? key : "");
        protobuf_c_message_free_unpacked(&p->base, NULL);
        msleep(100);
    }
}

static const Orchestrator__V1__ProcessStep *step(const process_t *p, const char *key, int nth)
{
    for (size_t i = 0; i < p->n_steps; i++)
        if (p->steps[i]->step_id[0] && strcmp(p->steps[i]->key, key) == 0 && nth-- == 0)
            return p->steps[i];
    return NULL;
}

static int action(harness_server_t *s, const char *method, ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *d, ProtobufCMessage **out, cli_status_t *st)
{
    ProtobufCMessage *resp = NULL;
    cli_call_unary(s->ch, method, req, d, 10000, &resp, st);
    if (out)
        *out = resp;
    else if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return st->code;
}

static int retry(harness_server_t *s, const char *id)
{
    Orchestrator__V1__RetryProcessRequest req = ORCHESTRATOR__V1__RETRY_PROCESS_REQUEST__INIT;
    cli_status_t st = {0};
    int code;
    req.process_id = (char *)id;
    code = action(s, PS "RetryProcess", &req.base,
                  &orchestrator__v1__retry_process_response__descriptor, NULL, &st);
    cli_status_cleanup(&st);
    return code;
}

static const char *node_inputs = "{\"customer_id\": \"acme\", \"node_name\": \"ams-r1\", "
                                 "\"role_id\": 1, \"type_id\": 2, \"site_id\": 3}";

static void create_node_to_completion(void **state)
{
    harness_server_t s;
    cli_status_t st = {0};
    char pid[64], id[64];
    process_t *p;
    /* Version 2: the author's steps, the configuration push (answered at once without a
     * simulated provisioning system: skipped), then the create wrapper's steps. */
    static const char *const keys[] = {
        "check_input",   "create_subscription", "allocate.ims", "allocate.nrm",
        "allocate.ipv4", "allocate.ipv6",       "save_ids",     "push_config",
        "activate_node", "set_status_active",   "resync",       "done"};
    const size_t nkeys = sizeof(keys) / sizeof(keys[0]);
    (void)state;

    env_reset();
    harness_server_start(&s, NULL, NULL);
    product_id(&s, "node Cisco", pid);

    /* Bad requests are named, nothing is created. */
    assert_int_equal(start(&s, "create_node", node_inputs, NULL, NULL, id, NULL, &st), 3);
    assert_string_equal(st.violations[0].field, "product_id");
    cli_status_cleanup(&st);
    assert_int_equal(start(&s, "no_such_workflow", NULL, NULL, NULL, id, NULL, &st), 5);
    assert_string_equal(st.reason, "WORKFLOW_NOT_FOUND");
    cli_status_cleanup(&st);

    assert_int_equal(start(&s, "create_node", node_inputs, pid, NULL, id, NULL, &st), 0);
    cli_status_cleanup(&st);
    p = wait_for(&s, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED, NULL, 20000);
    assert_int_equal(p->n_steps, nkeys);
    assert_int_equal(p->workflow->version, 2);
    for (size_t i = 0; i < nkeys; i++) {
        assert_string_equal(p->steps[i]->key, keys[i]);
        assert_int_equal(p->steps[i]->status,
                         i == nkeys - 1 ? ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_COMPLETE
                         : i == 7       ? ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_SKIPPED
                                        : ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_SUCCESS);
        assert_non_null(p->steps[i]->start_time);
        assert_non_null(p->steps[i]->end_time);
        assert_non_null(p->steps[i]->executed_by);
    }
    assert_string_equal(step(p, "allocate.ipv4", 0)->parent_key, "allocate");
    assert_int_equal(step(p, "allocate.ims", 0)->kind,
                     ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_RETRY);
    assert_int_equal(p->steps_done, p->steps_total);
    assert_int_equal(p->n_subscription_ids, 1);
    assert_string_equal(p->customer_id, "acme");
    assert_non_null(p->end_time);
    assert_int_equal(scalar(s.dbname,
                            "SELECT count(*) FROM subscriptions WHERE subscription_id = '%s' "
                            "AND status = 'active' AND in_sync",
                            p->subscription_ids[0]),
                     1);
    assert_int_equal(scalar(s.dbname,
                            "SELECT count(*) FROM inventory_allocations WHERE owner = "
                            "'%s'",
                            id),
                     4);
    assert_int_equal(scalar(s.dbname,
                            "SELECT count(*) FROM subscription_instances i JOIN "
                            "subscription_instance_values v USING (subscription_instance_id) "
                            "JOIN resource_types r USING (resource_type_id) WHERE "
                            "i.subscription_id = '%s' AND r.resource_type = 'node_status' "
                            "AND v.value = 'active'",
                            p->subscription_ids[0]),
                     1);
    /* The audit log events: created, running, 12 steps, completed. */
    assert_int_equal(
        scalar(s.dbname, "SELECT count(*) FROM process_events WHERE process_id = '%s'", id), 15);
    protobuf_c_message_free_unpacked(&p->base, NULL);

    /* The workflow and its steps, with keys and kinds. */
    {
        Orchestrator__V1__GetWorkflowRequest req = ORCHESTRATOR__V1__GET_WORKFLOW_REQUEST__INIT;
        Orchestrator__V1__Workflow *w = NULL;
        req.key_case = ORCHESTRATOR__V1__GET_WORKFLOW_REQUEST__KEY_NAME;
        req.name = "create_node";
        assert_int_equal(action(&s, WS "GetWorkflow", &req.base,
                                &orchestrator__v1__workflow__descriptor, (ProtobufCMessage **)&w,
                                &st),
                         0);
        cli_status_cleanup(&st);
        /* Both versions, the latest first: version 1 stays for processes started on it. */
        assert_int_equal(w->latest_version, 2);
        assert_int_equal(w->n_versions, 2);
        assert_int_equal(w->versions[0]->version, 2);
        assert_int_equal(w->versions[0]->n_steps, 9);
        assert_int_equal(w->versions[0]->steps[4]->kind,
                         ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_CALLBACK);
        assert_string_equal(w->versions[0]->steps[6]->key, "set_status_active");
        assert_int_equal(w->versions[1]->version, 1);
        assert_int_equal(w->versions[1]->n_steps, 5);
        for (size_t v = 0; v < 2; v++) {
            assert_int_equal(w->versions[v]->steps[2]->kind,
                             ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_GROUP);
            assert_string_equal(w->versions[v]->steps[2]->steps[3]->key, "allocate.ipv6");
            assert_int_equal(w->versions[v]->steps[2]->steps[3]->kind,
                             ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_CONDITIONAL);
            assert_int_equal(w->versions[v]->replica_count, 1);
        }
        assert_true(w->n_products >= 4);
        protobuf_c_message_free_unpacked(&w->base, NULL);
    }
    /* Listing by workflow, with a filter error named. */
    {
        Orchestrator__V1__ListProcessesRequest req = ORCHESTRATOR__V1__LIST_PROCESSES_REQUEST__INIT;
        Orchestrator__V1__ListProcessesResponse *r = NULL;
        req.filter = "workflow = \"create_node\" AND status = \"completed\"";
        assert_int_equal(action(&s, PS "ListProcesses", &req.base,
                                &orchestrator__v1__list_processes_response__descriptor,
                                (ProtobufCMessage **)&r, &st),
                         0);
        cli_status_cleanup(&st);
        assert_int_equal(r->n_processes, 1);
        assert_int_equal(r->total_size, 1);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        req.filter = "colour = \"red\"";
        assert_int_equal(action(&s, PS "ListProcesses", &req.base,
                                &orchestrator__v1__list_processes_response__descriptor, NULL, &st),
                         3);
        assert_string_equal(st.violations[0].field, "filter");
        cli_status_cleanup(&st);
    }
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

static void failing_step_retried_to_success(void **state)
{
    harness_server_t s;
    cli_status_t st = {0};
    char id[64], id2[64], id3[64];
    process_t *p;
    const Orchestrator__V1__ProcessStep *f;
    (void)state;

    env_reset();
    harness_server_start(&s, NULL, NULL);
    assert_int_equal(start(&s, "test_flaky", "{\"fail_times\": 2, \"wait_times\": 2}", NULL, NULL,
                           id, NULL, &st),
                     0);
    cli_status_cleanup(&st);
    p = wait_for(&s, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_FAILED, NULL, 10000);
    assert_string_equal(p->last_step_key, "flaky");
    assert_string_equal(p->error->reason, "FLAKY");
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(retry(&s, id), 0);
    msleep(300);
    p = wait_for(&s, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_FAILED, NULL, 10000);
    /* Two identical failures: one row with a retry count. */
    f = step(p, "flaky", 0);
    assert_non_null(f);
    assert_int_equal(f->status, ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_FAILED);
    assert_int_equal(f->retry_count, 1);
    assert_null(step(p, "flaky", 1));
    assert_string_equal(f->error->message, "the flaky step failed as asked");
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(retry(&s, id), 0);
    p = wait_for(&s, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED, NULL, 15000);
    assert_int_equal(step(p, "flaky", 1)->status,
                     ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_SUCCESS);
    /* The retry step waited twice with back-off: one collapsed waiting row, then success. */
    assert_int_equal(step(p, "waiting", 0)->status,
                     ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_WAITING);
    assert_int_equal(step(p, "waiting", 0)->retry_count, 1);
    assert_int_equal(step(p, "waiting", 1)->status,
                     ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_SUCCESS);
    assert_string_equal(step(p, "finish.b", 0)->parent_key, "finish");
    assert_int_equal(step(p, "maybe", 0)->status,
                     ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_SUCCESS);
    assert_int_equal(scalar(s.dbname,
                            "SELECT count(*) FROM process_steps WHERE process_id = '%s' AND "
                            "status = 'success' AND step_key = 'flaky'",
                            id),
                     1);
    protobuf_c_message_free_unpacked(&p->base, NULL);

    /* A false condition skips its step. */
    assert_int_equal(start(&s, "test_flaky", "{\"skip_maybe\": true}", NULL, NULL, id2, NULL, &st),
                     0);
    cli_status_cleanup(&st);
    p = wait_for(&s, id2, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED, NULL, 10000);
    assert_int_equal(step(p, "maybe", 0)->status,
                     ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_SKIPPED);
    protobuf_c_message_free_unpacked(&p->base, NULL);

    /* A step that overruns its time-out fails the process. */
    assert_int_equal(start(&s, "test_timeout", NULL, NULL, NULL, id3, NULL, &st), 0);
    cli_status_cleanup(&st);
    p = wait_for(&s, id3, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_FAILED, NULL, 15000);
    assert_string_equal(p->error->reason, "STEP_TIMEOUT");
    protobuf_c_message_free_unpacked(&p->base, NULL);

    /* Counts, then delete of a finished task. */
    {
        Orchestrator__V1__GetProcessStatusCountsRequest req =
            ORCHESTRATOR__V1__GET_PROCESS_STATUS_COUNTS_REQUEST__INIT;
        Orchestrator__V1__GetProcessStatusCountsResponse *r = NULL;
        Orchestrator__V1__DeleteProcessRequest d = ORCHESTRATOR__V1__DELETE_PROCESS_REQUEST__INIT;
        req.filter = "is_task = true";
        assert_int_equal(action(&s, PS "GetProcessStatusCounts", &req.base,
                                &orchestrator__v1__get_process_status_counts_response__descriptor,
                                (ProtobufCMessage **)&r, &st),
                         0);
        cli_status_cleanup(&st);
        assert_int_equal(r->n_process_counts, 0);
        assert_int_equal(r->n_task_counts, 2); /* completed 2, failed 1 */
        protobuf_c_message_free_unpacked(&r->base, NULL);
        d.process_id = id2;
        assert_int_equal(action(&s, PS "DeleteProcess", &d.base,
                                &orchestrator__v1__delete_process_response__descriptor, NULL, &st),
                         0);
        cli_status_cleanup(&st);
        assert_int_equal(
            scalar(s.dbname, "SELECT count(*) FROM processes WHERE process_id = '%s'", id2), 0);
        /* Its history goes with it (migration 0020's trigger, where a cascade was). */
        assert_int_equal(
            scalar(s.dbname,
                   "SELECT (SELECT count(*) FROM process_steps WHERE process_id = "
                   "'%s') + (SELECT count(*) FROM process_events WHERE process_id = "
                   "'%s') + (SELECT count(*) FROM input_states WHERE process_id = '%s')",
                   id2, id2, id2),
            0);
    }
    /* BulkResume retries the failed task. */
    {
        Orchestrator__V1__BulkResumeRequest req = ORCHESTRATOR__V1__BULK_RESUME_REQUEST__INIT;
        Orchestrator__V1__BulkResumeResponse *r = NULL;
        req.filter = "workflow = \"test_timeout\"";
        assert_int_equal(action(&s, PS "BulkResume", &req.base,
                                &orchestrator__v1__bulk_resume_response__descriptor,
                                (ProtobufCMessage **)&r, &st),
                         0);
        cli_status_cleanup(&st);
        assert_int_equal(r->resumed_count, 1);
        assert_string_equal(r->resumed_process_ids[0], id3);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

static void abort_while_step_runs(void **state)
{
    harness_server_t s;
    cli_status_t st = {0};
    char id[64];
    process_t *p;
    Orchestrator__V1__AbortProcessRequest req = ORCHESTRATOR__V1__ABORT_PROCESS_REQUEST__INIT;
    Orchestrator__V1__AbortProcessResponse *r = NULL;
    (void)state;

    env_reset();
    setenv("ORCH_TEST_HOLD_STEP", "hold_v2", 1);
    setenv("ORCH_TEST_HOLD_MS", "2500", 1);
    harness_server_start(&s, NULL, NULL);
    assert_int_equal(start(&s, "test_versioned", NULL, NULL, NULL, id, NULL, &st), 0);
    cli_status_cleanup(&st);
    p = wait_for(&s, id, 0, "second_v2", 10000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    msleep(300); /* hold_v2 now runs, held before its commit */
    req.process_id = id;
    req.reason = "changed my mind";
    assert_int_equal(action(&s, PS "AbortProcess", &req.base,
                            &orchestrator__v1__abort_process_response__descriptor,
                            (ProtobufCMessage **)&r, &st),
                     0);
    cli_status_cleanup(&st);
    assert_int_equal(r->process->status, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_ABORTED);
    assert_int_equal(r->outcome, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    msleep(3000); /* the held step tries to commit, and is refused */
    p = get(&s, id);
    assert_int_equal(p->status, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_ABORTED);
    assert_string_equal(p->last_step_key, "aborted_by");
    assert_null(step(p, "hold_v2", 0));
    assert_int_equal(step(p, "aborted_by", 0)->status,
                     ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_ABORT);
    assert_string_equal(step(p, "aborted_by", 0)->error->message, "changed my mind");
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(scalar(s.dbname,
                            "SELECT count(*) FROM process_steps WHERE process_id = '%s' "
                            "AND step_key = 'hold_v2'",
                            id),
                     0);
    /* Again: already applied. */
    assert_int_equal(action(&s, PS "AbortProcess", &req.base,
                            &orchestrator__v1__abort_process_response__descriptor,
                            (ProtobufCMessage **)&r, &st),
                     0);
    cli_status_cleanup(&st);
    assert_int_equal(r->outcome, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

typedef struct starter {
    harness_server_t *s;
    char id[64];
    int code, outcome;
} starter_t;

static void *start_thread(void *arg)
{
    starter_t *t = arg;
    cli_status_t st = {0};
    t->code = start(t->s, "test_flaky", NULL, NULL, "0b9a7c1e-5d3f-4e2a-9b8c-7d6e5f4a3b2c", t->id,
                    &t->outcome, &st);
    cli_status_cleanup(&st);
    return NULL;
}

static void idempotent_start_on_two_replicas(void **state)
{
    harness_server_t a, b;
    starter_t ta, tb;
    pthread_t pa, pb;
    (void)state;

    env_reset();
    harness_server_start(&a, NULL, NULL);
    harness_server_start(&b, a.dbname, NULL);
    memset(&ta, 0, sizeof(ta));
    memset(&tb, 0, sizeof(tb));
    ta.s = &a;
    tb.s = &b;
    pthread_create(&pa, NULL, start_thread, &ta);
    pthread_create(&pb, NULL, start_thread, &tb);
    pthread_join(pa, NULL);
    pthread_join(pb, NULL);
    assert_int_equal(ta.code, 0);
    assert_int_equal(tb.code, 0);
    assert_string_equal(ta.id, tb.id);
    assert_int_equal(ta.outcome + tb.outcome, 3); /* one APPLIED (1), one ALREADY (2) */
    assert_int_equal(scalar(a.dbname, "SELECT count(*) FROM processes"), 1);
    assert_int_equal(harness_server_stop(&b), 0);
    assert_int_equal(harness_server_stop(&a), 0);
    harness_db_drop(a.dbname);
}

static int engine_call(harness_server_t *s, const char *method, Orchestrator__V1__EngineState *out)
{
    Orchestrator__V1__GetEngineStatusRequest req =
        ORCHESTRATOR__V1__GET_ENGINE_STATUS_REQUEST__INIT;
    Orchestrator__V1__EngineStatus *r = NULL;
    cli_status_t st = {0};
    int code = action(s, method, &req.base, &orchestrator__v1__engine_status__descriptor,
                      (ProtobufCMessage **)&r, &st);
    cli_status_cleanup(&st);
    if (r) {
        *out = r->state;
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    return code;
}

static void pause_and_resume_with_work_in_flight(void **state)
{
    harness_server_t s;
    cli_status_t st = {0};
    char id[64], id2[64];
    Orchestrator__V1__EngineState es = 0;
    long long rows;
    process_t *p;
    (void)state;

    env_reset();
    harness_server_start(&s, NULL, NULL);
    assert_int_equal(start(&s, "test_flaky", "{\"wait_times\": 12}", NULL, NULL, id, NULL, &st), 0);
    cli_status_cleanup(&st);
    p = wait_for(&s, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_WAITING, NULL, 10000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(engine_call(&s, ES "PauseEngine", &es), 0);
    assert_true(es == ORCHESTRATOR__V1__ENGINE_STATE__ENGINE_STATE_PAUSING ||
                es == ORCHESTRATOR__V1__ENGINE_STATE__ENGINE_STATE_PAUSED);
    msleep(1000);
    assert_int_equal(engine_call(&s, ES "GetEngineStatus", &es), 0);
    assert_int_equal(es, ORCHESTRATOR__V1__ENGINE_STATE__ENGINE_STATE_PAUSED);
    /* Nothing moves while paused, and starts are refused. */
    rows = scalar(s.dbname,
                  "SELECT sum(retry_count + 1) FROM process_steps WHERE process_id = '%s'", id);
    msleep(1200);
    assert_int_equal(
        scalar(s.dbname, "SELECT sum(retry_count + 1) FROM process_steps WHERE process_id = '%s'",
               id),
        rows);
    assert_int_equal(start(&s, "test_flaky", NULL, NULL, NULL, id2, NULL, &st), 14);
    assert_string_equal(st.reason, "ENGINE_PAUSED");
    cli_status_cleanup(&st);
    assert_int_equal(engine_call(&s, ES "ResumeEngine", &es), 0);
    assert_int_equal(es, ORCHESTRATOR__V1__ENGINE_STATE__ENGINE_STATE_RUNNING);
    /* It continues where it stopped (back-off capped at 400 ms). */
    p = wait_for(&s, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED, NULL, 30000);
    assert_int_equal(step(p, "waiting", 0)->retry_count, 11);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

static void versions_across_restarts(void **state)
{
    harness_server_t s;
    cli_status_t st = {0};
    char id[64], id2[64], db[64];
    process_t *p;
    (void)state;

    /* Started on version 1, held after its first step, then the server stops. */
    env_reset();
    setenv("ORCH_TEST_WORKFLOW_VERSIONS", "1", 1);
    setenv("ORCH_TEST_HOLD_STEP", "hold_v1", 1);
    harness_server_start(&s, NULL, NULL);
    snprintf(db, sizeof(db), "%s", s.dbname);
    assert_int_equal(start(&s, "test_versioned", NULL, NULL, NULL, id, NULL, &st), 0);
    cli_status_cleanup(&st);
    p = wait_for(&s, id, 0, "first", 10000);
    assert_int_equal(p->workflow->version, 1);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    msleep(300);
    assert_int_equal(harness_server_stop(&s), 0);

    /* A build with versions 1 and 2 finishes it on version 1, by key. */
    env_reset();
    harness_server_start(&s, db, NULL);
    p = wait_for(&s, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED, NULL, 15000);
    assert_int_equal(p->workflow->version, 1);
    assert_non_null(step(p, "hold_v1", 0));
    assert_non_null(step(p, "last_v1", 0));
    assert_null(step(p, "second_v2", 0));
    protobuf_c_message_free_unpacked(&p->base, NULL);
    /* New starts take the latest version. */
    assert_int_equal(start(&s, "test_versioned", NULL, NULL, NULL, id2, NULL, &st), 0);
    cli_status_cleanup(&st);
    p = wait_for(&s, id2, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED, NULL, 15000);
    assert_int_equal(p->workflow->version, 2);
    assert_non_null(step(p, "second_v2", 0));
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(harness_server_stop(&s), 0);

    /* Version 1 held again; then only version 2 is left: the process fails clearly. */
    env_reset();
    setenv("ORCH_TEST_WORKFLOW_VERSIONS", "1", 1);
    setenv("ORCH_TEST_HOLD_STEP", "hold_v1", 1);
    harness_server_start(&s, db, NULL);
    assert_int_equal(start(&s, "test_versioned", NULL, NULL, NULL, id, NULL, &st), 0);
    cli_status_cleanup(&st);
    p = wait_for(&s, id, 0, "first", 10000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    msleep(300);
    assert_int_equal(harness_server_stop(&s), 0);
    env_reset();
    setenv("ORCH_TEST_WORKFLOW_VERSIONS", "2", 1);
    harness_server_start(&s, db, NULL);
    p = wait_for(&s, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_FAILED, NULL, 15000);
    assert_string_equal(p->error->reason, "WORKFLOW_VERSION_UNAVAILABLE");
    assert_non_null(strstr(p->error->message, "version 1 of workflow test_versioned"));
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(db);
}

static void sigkill_after_allocation(void **state)
{
    harness_server_t a, b;
    cli_status_t st = {0};
    char pid[64], id[64], db[64];
    const char *const args[] = {"--lease-ms=2000", NULL};
    process_t *p;
    (void)state;

    env_reset();
    setenv("ORCH_TEST_HOLD_STEP", "allocate.ipv4", 1);
    harness_server_start(&a, NULL, args);
    snprintf(db, sizeof(db), "%s", a.dbname);
    product_id(&a, "node Nokia", pid);
    assert_int_equal(start(&a, "create_node", node_inputs, pid, NULL, id, NULL, &st), 0);
    cli_status_cleanup(&st);
    p = wait_for(&a, id, 0, "allocate.nrm", 10000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    msleep(500); /* ipv4 allocated inside the step's unit of work, held before the commit */
    kill(a.pid, SIGKILL);
    harness_server_stop(&a); /* reaps it, closes the channel */

    env_reset();
    harness_server_start(&b, db, args);
    p = wait_for(&b, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED, NULL, 20000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    /* Exactly one committed row per step key, exactly one allocation per pool. */
    assert_int_equal(scalar(db,
                            "SELECT count(*) FROM (SELECT step_key FROM process_steps WHERE "
                            "process_id = '%s' AND status IN ('success', 'skipped', "
                            "'complete') GROUP BY step_key HAVING count(*) > 1) d",
                            id),
                     0);
    assert_int_equal(scalar(db,
                            "SELECT count(DISTINCT step_key) FROM process_steps WHERE "
                            "process_id = '%s'",
                            id),
                     12);
    assert_int_equal(scalar(db, "SELECT count(*) FROM inventory_allocations WHERE pool = "
                                "'ipv4_loopback'"),
                     1);
    assert_int_equal(scalar(db, "SELECT count(*) FROM inventory_allocations"), 4);
    assert_int_equal(scalar(db, "SELECT count(*) FROM subscriptions"), 1);
    /* Taken over (a second lease), and run in stretches: one claim each, not one per step
     * (issue 17), so far fewer claims than its 12 steps. */
    assert_true(scalar(db, "SELECT claim_count FROM processes WHERE process_id = '%s'", id) >= 2);
    assert_true(scalar(db, "SELECT claim_count FROM processes WHERE process_id = '%s'", id) < 12);
    assert_int_equal(harness_server_stop(&b), 0);
    harness_db_drop(db);
}

/* GetProcessStatusCounts for (is_task, status), or 0 when it lists none; filter "" reads the
 * counts migration 0024's triggers keep. */
static long long rpc_count(harness_server_t *s, const char *filter, bool is_task,
                           const char *status)
{
    Orchestrator__V1__GetProcessStatusCountsRequest req =
        ORCHESTRATOR__V1__GET_PROCESS_STATUS_COUNTS_REQUEST__INIT;
    Orchestrator__V1__GetProcessStatusCountsResponse *r = NULL;
    cli_status_t st = {0};
    long long n = 0;
    char name[64];

    snprintf(name, sizeof(name), "PROCESS_STATUS_%s", status);
    for (char *c = name; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    req.filter = (char *)filter;
    assert_int_equal(action(s, PS "GetProcessStatusCounts", &req.base,
                            &orchestrator__v1__get_process_status_counts_response__descriptor,
                            (ProtobufCMessage **)&r, &st),
                     0);
    cli_status_cleanup(&st);
    {
        size_t m = is_task ? r->n_task_counts : r->n_process_counts;
        Orchestrator__V1__ProcessStatusCount **c = is_task ? r->task_counts : r->process_counts;
        for (size_t i = 0; i < m; i++) {
            const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
                &orchestrator__v1__process_status__descriptor, (int)c[i]->status);
            assert_non_null(v);
            assert_true(c[i]->count > 0); /* statuses with no process are left out */
            if (strcmp(v->name, name) == 0)
                n = c[i]->count;
        }
    }
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return n;
}

/* Every (is_task, status) the unfiltered counts give equals a count of the rows (the
 * filtered path counts the rows too); returns the number of processes counted. */
static long long counts_match_rows(harness_server_t *s)
{
    static const char *const statuses[] = {
        "created",           "running",   "suspended", "waiting",
        "awaiting_callback", "aborted",   "failed",    "api_unavailable",
        "inconsistent_data", "completed", "resumed",   NULL,
    };
    long long total = 0;
    for (int t = 0; t < 2; t++)
        for (int i = 0; statuses[i]; i++) {
            long long rows = scalar(s->dbname,
                                    "SELECT count(*) FROM processes WHERE parent_process_id "
                                    "IS NULL AND is_task = %s AND last_status = '%s'",
                                    t ? "true" : "false", statuses[i]);
            long long kept = rpc_count(s, "", t == 1, statuses[i]);
            if (kept != rows)
                fail_msg("is_task %d, %s: %lld counted, %lld rows", t, statuses[i], kept, rows);
            assert_int_equal(
                rpc_count(s, t ? "is_task = true" : "is_task = false", t == 1, statuses[i]), rows);
            total += rows;
        }
    return total;
}

/* The unfiltered counts (GetProcessStatusCounts, /metrics) come from the counts that
 * migration 0024's triggers keep, not from the processes table: through the engine's own
 * changes (creates, batches of starts, claims, completions, failures, an abort while a step
 * runs, parallel branches, which are not counted, a delete), through any other writer's
 * (SQL here, in sets and rolled back), after the heartbeat folded the deltas, and from a
 * database that held processes before the migration. */
static void status_counts_kept_by_triggers(void **state)
{
    harness_server_t s;
    cli_status_t st = {0};
    char pid[64], id[64], held[64], db[64];
    process_t *p;
    (void)state;

    env_reset();
    setenv("ORCH_TEST_HOLD_STEP", "hold_v2", 1);
    setenv("ORCH_TEST_HOLD_MS", "2500", 1);
    harness_server_start(&s, NULL, NULL);
    snprintf(db, sizeof(db), "%s", s.dbname);
    product_id(&s, "node Nokia", pid);
    assert_int_equal(start(&s, "create_node", node_inputs, pid, NULL, id, NULL, &st), 0);
    cli_status_cleanup(&st);
    p = wait_for(&s, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED, NULL, 20000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(start(&s, "test_timeout", NULL, NULL, NULL, id, NULL, &st), 0);
    cli_status_cleanup(&st);
    p = wait_for(&s, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_FAILED, NULL, 15000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(start(&s, "test_parallel", NULL, NULL, NULL, id, NULL, &st), 0);
    cli_status_cleanup(&st);
    p = wait_for(&s, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED, NULL, 20000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_true(scalar(db, "SELECT count(*) FROM processes WHERE parent_process_id IS NOT NULL") >
                0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(start(&s, "bench_noop_3", NULL, NULL, NULL, id, NULL, &st), 0);
        cli_status_cleanup(&st);
    }
    p = wait_for(&s, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED, NULL, 15000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    {
        Orchestrator__V1__DeleteProcessRequest d = ORCHESTRATOR__V1__DELETE_PROCESS_REQUEST__INIT;
        d.process_id = id;
        assert_int_equal(action(&s, PS "DeleteProcess", &d.base,
                                &orchestrator__v1__delete_process_response__descriptor, NULL, &st),
                         0);
        cli_status_cleanup(&st);
    }
    /* Aborted while its step runs (held, its commit refused after the abort). */
    assert_int_equal(start(&s, "test_versioned", NULL, NULL, NULL, held, NULL, &st), 0);
    cli_status_cleanup(&st);
    p = wait_for(&s, held, 0, "second_v2", 10000);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(counts_match_rows(&s), 6); /* one running, as the rows say */
    {
        Orchestrator__V1__AbortProcessRequest req = ORCHESTRATOR__V1__ABORT_PROCESS_REQUEST__INIT;
        req.process_id = held;
        req.reason = "counted";
        assert_int_equal(action(&s, PS "AbortProcess", &req.base,
                                &orchestrator__v1__abort_process_response__descriptor, NULL, &st),
                         0);
        cli_status_cleanup(&st);
    }
    msleep(3000); /* the held step tries to commit, and is refused */
    assert_int_equal(counts_match_rows(&s), 6);
    assert_int_equal(rpc_count(&s, "", true, "aborted"), 1);

    /* Other writers: a set in one statement, a change, a delete, and a change rolled back. */
    assert_int_equal(
        scalar(db, "INSERT INTO processes (workflow_id, workflow_version, last_status, runnable, "
                   "next_run_time) SELECT (SELECT workflow_id FROM workflows WHERE name = "
                   "'create_node'), 1, 'suspended', false, NULL FROM generate_series(1, 5); "
                   "UPDATE processes SET last_status = 'failed' WHERE process_id = (SELECT "
                   "process_id FROM processes WHERE last_status = 'suspended' LIMIT 1); "
                   "DELETE FROM processes WHERE process_id = (SELECT process_id FROM processes "
                   "WHERE last_status = 'suspended' LIMIT 1); "
                   "SELECT count(*) FROM processes WHERE last_status = 'suspended'"),
        3);
    /* (A string of statements is one transaction: the ROLLBACK gets its own.) */
    assert_int_equal(scalar(db, "BEGIN; UPDATE processes SET last_status = 'aborted' WHERE "
                                "last_status = 'suspended'; ROLLBACK; SELECT count(*) FROM "
                                "processes WHERE last_status = 'suspended'"),
                     3);
    assert_int_equal(counts_match_rows(&s), 10);
    assert_int_equal(rpc_count(&s, "", false, "suspended"), 3);

    /* The heartbeat folds the deltas into the counts; the answer stays. */
    {
        int64_t until = (int64_t)time(NULL) * 1000 + 10000;
        while (scalar(db, "SELECT count(*) FROM process_status_deltas") != 0) {
            if ((int64_t)time(NULL) * 1000 > until)
                fail_msg("the deltas were not folded within 10 s");
            msleep(100);
        }
    }
    assert_int_equal(scalar(db, "SELECT sum(n) FROM process_status_counts"), 10);
    assert_int_equal(counts_match_rows(&s), 10);
    /* The answer is the kept counts, not a count of the rows. */
    scalar(db, "UPDATE process_status_counts SET n = n + 1000 WHERE is_task AND status = "
               "'completed'; SELECT 1");
    assert_int_equal(rpc_count(&s, "", true, "completed"),
                     1000 + rpc_count(&s, "is_task = true", true, "completed"));
    scalar(db, "UPDATE process_status_counts SET n = n - 1000 WHERE is_task AND status = "
               "'completed'; SELECT 1");
    assert_int_equal(harness_server_stop(&s), 0);

    /* A database that held processes before the migration: its counts start from them. */
    scalar(db, "DROP TRIGGER processes_count_status ON processes; DROP TRIGGER "
               "processes_count_created ON processes; DROP TRIGGER processes_count_deleted ON "
               "processes; DROP FUNCTION processes_count_status(), processes_count_set(), "
               "orch_process_status_fold(); DROP VIEW "
               "process_status_totals; DROP TABLE process_status_counts, process_status_deltas; "
               "DELETE FROM schema_migrations WHERE version = 24; SELECT 1");
    env_reset();
    harness_server_start(&s, db, NULL);
    assert_int_equal(scalar(db, "SELECT count(*) FROM process_status_deltas"), 0);
    assert_int_equal(scalar(db, "SELECT sum(n) FROM process_status_counts"), 10);
    assert_int_equal(counts_match_rows(&s), 10);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(db);
}

/* One ListProcesses page of 20: its length, total_size and total_size_is_estimate in *total
 * and *estimate; token (1024 bytes): the page token in, the next one out. */
static size_t list_page(harness_server_t *s, const char *filter, char *token, long *total,
                        bool *estimate)
{
    Orchestrator__V1__ListProcessesRequest req = ORCHESTRATOR__V1__LIST_PROCESSES_REQUEST__INIT;
    Orchestrator__V1__ListProcessesResponse *r = NULL;
    cli_status_t st = {0};
    size_t n;
    req.filter = (char *)filter;
    req.page_size = 20;
    req.page_token = token;
    assert_int_equal(action(s, PS "ListProcesses", &req.base,
                            &orchestrator__v1__list_processes_response__descriptor,
                            (ProtobufCMessage **)&r, &st),
                     0);
    cli_status_cleanup(&st);
    n = r->n_processes;
    *total = r->total_size;
    *estimate = r->total_size_is_estimate;
    snprintf(token, 1024, "%s", r->next_page_token);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return n;
}

/* ListProcesses counts what its filter matches exactly up to 10,000 and says "estimate"
 * past that (the contract's total_size_is_estimate): a count never reads a million rows for
 * a page of 20. A first page that holds every match needs no count at all. */
static void process_list_counts_past_ten_thousand(void **state)
{
    harness_server_t s;
    char token[1024] = "";
    long total;
    bool estimate;
    (void)state;

    env_reset();
    harness_server_start(&s, NULL, (const char *const[]){"--workers", "0", NULL});
    assert_int_equal(scalar(s.dbname,
                            "INSERT INTO processes (workflow_id, workflow_version, last_status, "
                            "runnable, next_run_time, is_task, end_time) SELECT (SELECT "
                            "workflow_id FROM workflows WHERE name = 'bench_noop_3'), 1, CASE "
                            "WHEN g <= 30 THEN 'failed' ELSE 'completed' END, false, NULL, true, "
                            "now() FROM generate_series(1, 10050) g; ANALYZE processes; SELECT "
                            "count(*) FROM processes"),
                     10050);
    /* Past 10,000: the planner's estimate, on every page. */
    assert_int_equal(list_page(&s, "", token, &total, &estimate), 20);
    assert_true(estimate);
    assert_true(total > 10000 && total < 20000);
    assert_int_equal(list_page(&s, "", token, &total, &estimate), 20);
    assert_true(estimate);
    /* 30 failed: exact, on both pages. */
    token[0] = '\0';
    assert_int_equal(list_page(&s, "status = \"failed\"", token, &total, &estimate), 20);
    assert_int_equal(total, 30);
    assert_false(estimate);
    assert_int_equal(list_page(&s, "status = \"failed\"", token, &total, &estimate), 10);
    assert_int_equal(total, 30);
    assert_false(estimate);
    assert_string_equal(token, "");
    /* One page holds them all: its length. */
    token[0] = '\0';
    assert_int_equal(
        list_page(&s, "status = \"failed\" AND note : \"x\"", token, &total, &estimate), 0);
    assert_int_equal(total, 0);
    assert_false(estimate);
    scalar(s.dbname, "UPDATE processes SET note = 'x' WHERE process_id IN (SELECT process_id FROM "
                     "processes WHERE last_status = 'failed' LIMIT 5); SELECT 1");
    assert_int_equal(
        list_page(&s, "status = \"failed\" AND note : \"x\"", token, &total, &estimate), 5);
    assert_int_equal(total, 5);
    assert_false(estimate);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_node_to_completion),
        cmocka_unit_test(failing_step_retried_to_success),
        cmocka_unit_test(abort_while_step_runs),
        cmocka_unit_test(idempotent_start_on_two_replicas),
        cmocka_unit_test(pause_and_resume_with_work_in_flight),
        cmocka_unit_test(versions_across_restarts),
        cmocka_unit_test(sigkill_after_allocation),
        cmocka_unit_test(status_counts_kept_by_triggers),
        cmocka_unit_test(process_list_counts_past_ten_thousand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
