/* The built-in tasks over gRPC against real PostgreSQL, each started by StartProcess (the
 * workflow name, no product) on data prepared with the API and direct SQL, and checked to do
 * its job: resume a waiting task, delete an old completed task, validate the product
 * catalogue, report an active subscription whose required value was deleted, and fail a
 * process whose awaited callback passed its deadline. */
#include <jansson.h>
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "domain/arena.h"
#include "harness.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "orchestrator/v1/products.pb-c.h"
#include "server/rpc/codec.h"

#define PS "/orchestrator.v1.ProcessService/"

typedef Orchestrator__V1__Process process_t;

static harness_server_t S;
static char cbdir[256];

static void msleep(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

/* Runs a statement (or a query whose first value is returned as an integer, 0 if none). */
static long long sql(const char *fmt, ...)
{
    char q[2048], ci[512];
    va_list ap;
    PGconn *c;
    PGresult *r;
    long long v = 0;
    va_start(ap, fmt);
    vsnprintf(q, sizeof(q), fmt, ap);
    va_end(ap);
    harness_conninfo(S.dbname, ci);
    c = PQconnectdb(ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", q, PQerrorMessage(c));
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

static const char *product_id(const char *name, char *out)
{
    Orchestrator__V1__GetProductRequest req = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    req.key_case = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_NAME;
    req.name = (char *)name;
    cli_call_unary(S.ch, "/orchestrator.v1.ProductService/GetProduct", &req.base,
                   &orchestrator__v1__product__descriptor, 5000, &resp, &st);
    assert_int_equal(st.code, 0);
    snprintf(out, 64, "%s", ((Orchestrator__V1__Product *)resp)->product_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    return out;
}

/* StartProcess; pages: a JSON array of objects as text. The process id into id. */
static void start_ok(const char *workflow, const char *product, const char *subscription,
                     const char *pages, char *id)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    orch_arena_t *a = orch_arena_new();
    json_t *arr = json_loads(pages ? pages : "[]", 0, NULL);
    ProtobufCMessage *resp = NULL;
    Orchestrator__V1__StartProcessResponse *r;
    cli_status_t st = {0};
    assert_true(json_is_array(arr));
    req.workflow_name = (char *)workflow;
    req.product_id = (char *)(product ? product : "");
    req.subscription_id = (char *)(subscription ? subscription : "");
    req.n_user_inputs = json_array_size(arr);
    req.user_inputs = orch_arena_alloc(a, (req.n_user_inputs + 1) * sizeof(void *));
    for (size_t i = 0; i < req.n_user_inputs; i++)
        req.user_inputs[i] = srv_codec_struct_from_json(a, json_array_get(arr, i));
    cli_call_unary(S.ch, PS "StartProcess", &req.base,
                   &orchestrator__v1__start_process_response__descriptor, 10000, &resp, &st);
    if (st.code != 0)
        fail_msg("StartProcess %s: %d %s", workflow, st.code, st.message);
    r = (Orchestrator__V1__StartProcessResponse *)resp;
    assert_int_equal(r->result_case, ORCHESTRATOR__V1__START_PROCESS_RESPONSE__RESULT_PROCESS);
    snprintf(id, 64, "%s", r->process->process_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    json_decref(arr);
    orch_arena_free(a);
}

static process_t *get(const char *id)
{
    Orchestrator__V1__GetProcessRequest req = ORCHESTRATOR__V1__GET_PROCESS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    req.process_id = (char *)id;
    cli_call_unary(S.ch, PS "GetProcess", &req.base, &orchestrator__v1__process__descriptor, 5000,
                   &resp, &st);
    if (st.code != 0)
        fail_msg("GetProcess %s: %d %s", id, st.code, st.message);
    cli_status_cleanup(&st);
    return (process_t *)resp;
}

static process_t *wait_status(const char *id, Orchestrator__V1__ProcessStatus status)
{
    for (int i = 0; i < 300; i++) {
        process_t *p = get(id);
        if (p->status == status)
            return p;
        if (i == 299)
            fail_msg("process %s: status %d, last step %s (%s); waited for %d", id, p->status,
                     p->last_step_key, p->error ? p->error->message : "", status);
        protobuf_c_message_free_unpacked(&p->base, NULL);
        msleep(100);
    }
    return NULL;
}

/* Runs a built-in task to completion; its final state (caller decrefs). */
static json_t *run_task(const char *workflow)
{
    char id[64];
    process_t *p;
    json_t *state;
    start_ok(workflow, NULL, NULL, "[]", id);
    p = wait_status(id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED);
    state = srv_codec_json_from_struct(p->current_state);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_non_null(state);
    return state;
}

static double state_num(const json_t *state, const char *key)
{
    const json_t *v = json_object_get(state, key);
    if (!json_is_number(v))
        fail_msg("state has no number %s", key);
    return json_number_value(v);
}

/* Plays the provisioning system: delivers the token its push_config step wrote to cbdir. */
static void deliver_push(const char *id)
{
    Orchestrator__V1__DeliverCallbackRequest req =
        ORCHESTRATOR__V1__DELIVER_CALLBACK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    char path[512], tok[80] = "";
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s.push_config", cbdir, id);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(tok, sizeof(tok), f));
    fclose(f);
    req.process_id = (char *)id;
    req.callback_token = tok;
    cli_call_unary(S.ch, PS "DeliverCallback", &req.base,
                   &orchestrator__v1__deliver_callback_response__descriptor, 5000, &resp, &st);
    if (st.code != 0)
        fail_msg("DeliverCallback %s: %d %s", id, st.code, st.message);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
}

static void create_node(const char *name, char *sub)
{
    char pid[64], id[64], pages[512];
    process_t *p;
    json_t *state;
    snprintf(pages, sizeof(pages),
             "[{\"customer_id\": \"acme\", \"node_name\": \"%s\", \"role_id\": 1, "
             "\"type_id\": 2, \"site_id\": 3}]",
             name);
    start_ok("create_node", product_id("node Nokia", pid), NULL, pages, id);
    p = wait_status(id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_AWAITING_CALLBACK);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    deliver_push(id);
    p = wait_status(id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED);
    state = srv_codec_json_from_struct(p->current_state);
    snprintf(sub, 64, "%s", json_string_value(json_object_get(state, "subscription_id")));
    json_decref(state);
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

static int setup(void **state)
{
    (void)state;
    snprintf(cbdir, sizeof(cbdir), "/tmp/orch-tasks-cb-%d", (int)getpid());
    mkdir(cbdir, 0700);
    setenv("ORCH_SIM_CALLBACK_DIR", cbdir, 1);
    /* The task under test fails timed-out callbacks: the heartbeat's own sweep would race
     * it for the same rows. */
    setenv("ORCH_TEST_NO_CALLBACK_SWEEP", "1", 1);
    harness_server_start(&S, NULL, NULL);
    unsetenv("ORCH_TEST_NO_CALLBACK_SWEEP");
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    assert_int_equal(harness_server_stop(&S), 0);
    harness_db_drop(S.dbname);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", cbdir);
    if (system(cmd) != 0)
        return 0;
    return 0;
}

/* A task set waiting by SQL is resumed and runs again. */
static void resume_workflows(void **st)
{
    char id[64];
    json_t *state;
    process_t *p;
    (void)st;
    start_ok("task_validate_products", NULL, NULL, "[]", id);
    p = wait_status(id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    sql("DELETE FROM process_steps WHERE process_id = '%s' AND step_key = 'done'", id);
    sql("UPDATE processes SET last_status = 'waiting', runnable = false, next_run_time = NULL, "
        "end_time = NULL WHERE process_id = '%s'",
        id);
    state = run_task("task_resume_workflows");
    assert_true(state_num(state, "resumed_count") >= 1);
    json_decref(state);
    p = wait_status(id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED);
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

/* A completed task that ended long ago is deleted; a recent one stays. */
static void clean_up_tasks(void **st)
{
    char old[64], recent[64];
    json_t *state;
    process_t *p;
    (void)st;
    start_ok("task_validate_products", NULL, NULL, "[]", old);
    p = wait_status(old, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    start_ok("task_validate_products", NULL, NULL, "[]", recent);
    p = wait_status(recent, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    sql("UPDATE processes SET start_time = now() - interval '30 days', end_time = now() - "
        "interval '30 days' WHERE process_id = '%s'",
        old);
    state = run_task("task_clean_up_tasks");
    assert_true(state_num(state, "deleted_tasks") >= 1);
    json_decref(state);
    assert_int_equal(sql("SELECT count(*) FROM processes WHERE process_id = '%s'", old), 0);
    assert_int_equal(sql("SELECT count(*) FROM processes WHERE process_id = '%s'", recent), 1);
}

static void validate_products(void **st)
{
    json_t *state = run_task("task_validate_products");
    (void)st;
    assert_true(state_num(state, "products_checked") >= 1);
    json_decref(state);
}

static char node_a[64], node_b[64];

/* An active node whose required node_name value is deleted by SQL is reported. */
static void validate_subscriptions(void **st)
{
    json_t *state, *invalid;
    bool found_b = false, found_a = false;
    (void)st;
    create_node("ams-r1", node_a);
    create_node("fra-r1", node_b);
    state = run_task("task_validate_subscriptions");
    assert_int_equal(json_array_size(json_object_get(state, "invalid_subscriptions")), 0);
    assert_true(state_num(state, "subscriptions_checked") >= 2);
    json_decref(state);

    sql("DELETE FROM subscription_instance_values v USING subscription_instances i, "
        "resource_types r WHERE v.subscription_instance_id = i.subscription_instance_id AND "
        "i.subscription_id = '%s' AND v.resource_type_id = r.resource_type_id AND "
        "r.resource_type = 'node_name'",
        node_b);
    state = run_task("task_validate_subscriptions");
    invalid = json_object_get(state, "invalid_subscriptions");
    for (size_t i = 0; i < json_array_size(invalid); i++) {
        const char *s = json_string_value(json_array_get(invalid, i));
        found_b |= s && strcmp(s, node_b) == 0;
        found_a |= s && strcmp(s, node_a) == 0;
    }
    if (!found_b)
        fail_msg("node %s not reported: %s", node_b, json_dumps(state, 0));
    assert_false(found_a);
    assert_true(
        json_is_string(json_object_get(json_object_get(state, "validation_errors"), node_b)));
    json_decref(state);
}

/* A process awaiting a callback whose deadline was moved into the past is failed. */
static void fail_timed_out_callbacks(void **st)
{
    char id[64];
    json_t *state;
    process_t *p;
    (void)st;
    start_ok("modify_node", NULL, node_a, "[{\"node_description\": \"core router\"}]", id);
    p = wait_status(id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_AWAITING_CALLBACK);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    state = run_task("task_fail_timed_out_callbacks");
    assert_int_equal((int)state_num(state, "failed_callbacks"), 0);
    json_decref(state);
    p = get(id);
    assert_int_equal(p->status, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_AWAITING_CALLBACK);
    protobuf_c_message_free_unpacked(&p->base, NULL);

    assert_int_equal(
        sql("WITH u AS (UPDATE callbacks SET create_time = now() - interval '2 hours', "
            "expire_time = now() - interval '1 "
            "hour' WHERE process_id = '%s' RETURNING 1) SELECT count(*) FROM u",
            id),
        1);
    state = run_task("task_fail_timed_out_callbacks");
    assert_int_equal((int)state_num(state, "failed_callbacks"), 1);
    json_decref(state);
    p = wait_status(id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_FAILED);
    assert_non_null(p->error);
    if (!strstr(p->error->message, "arrived before its deadline"))
        fail_msg("failed reason: %s", p->error->message);
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resume_workflows),         cmocka_unit_test(clean_up_tasks),
        cmocka_unit_test(validate_products),        cmocka_unit_test(validate_subscriptions),
        cmocka_unit_test(fail_timed_out_callbacks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
