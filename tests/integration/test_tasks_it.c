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

#include "orch_kit.h"

/* One server for the group, driven through the test kit (tests/kit/orch_kit.h). */
static kit_t *K;

/* Runs a statement (or a query whose first value is returned as an integer, 0 if none) on
 * the kit's database. */
#define sql(...) harness_scalar(kit_server(K)->dbname, __VA_ARGS__)

/* Starts a task; its process id into id. */
static void start_task(const char *workflow, char *id)
{
    kit_start_task(K, workflow, NULL);
    snprintf(id, 64, "%s", kit_process_id(K));
}

/* Waits for process id to reach status. */
static void wait_status(const char *id, const char *status)
{
    kit_use_process(K, id);
    kit_wait(K, status);
}

/* Runs a built-in task to completion; its final state (caller decrefs). */
static json_t *run_task(const char *workflow)
{
    kit_start_task(K, workflow, NULL);
    kit_wait(K, "completed");
    return json_deep_copy(json_object_get(kit_process(K), "current_state"));
}

static double state_num(const json_t *state, const char *key)
{
    const json_t *v = json_object_get(state, key);
    if (!json_is_number(v))
        fail_msg("state has no number %s", key);
    return json_number_value(v);
}

static void create_node(const char *name, char *sub)
{
    char pages[512];
    snprintf(pages, sizeof(pages),
             "[{\"customer_id\": \"acme\", \"node_name\": \"%s\", \"role_id\": 1, "
             "\"type_id\": 2, \"site_id\": 3}]",
             name);
    kit_create(K, "create_node", "node Nokia", pages);
    kit_callback(K, NULL); /* the configuration push */
    kit_wait(K, "completed");
    snprintf(sub, 64, "%s", kit_subscription_id(K));
}

static int setup(void **state)
{
    (void)state;
    /* The task under test fails timed-out callbacks: the heartbeat's own sweep would race
     * it for the same rows. */
    setenv("ORCH_TEST_NO_CALLBACK_SWEEP", "1", 1);
    K = kit_new(NULL);
    unsetenv("ORCH_TEST_NO_CALLBACK_SWEEP");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kit_free(K);
    return 0;
}

/* A task set waiting by SQL is resumed and runs again. */
static void resume_workflows(void **st)
{
    char id[64];
    json_t *state;
    (void)st;
    start_task("task_validate_products", id);
    wait_status(id, "completed");
    sql("DELETE FROM process_steps WHERE process_id = '%s' AND step_key = 'done'", id);
    sql("UPDATE processes SET last_status = 'waiting', runnable = false, next_run_time = NULL, "
        "end_time = NULL WHERE process_id = '%s'",
        id);
    state = run_task("task_resume_workflows");
    assert_true(state_num(state, "resumed_count") >= 1);
    json_decref(state);
    wait_status(id, "completed");
}

/* A completed task that ended long ago is deleted; a recent one stays. */
static void clean_up_tasks(void **st)
{
    char old[64], recent[64];
    json_t *state;
    (void)st;
    start_task("task_validate_products", old);
    wait_status(old, "completed");
    start_task("task_validate_products", recent);
    wait_status(recent, "completed");
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
    /* It starts on version 2, whose step has its own time-out: every tree in one step took
     * longer than the default 5 minutes a little past a million subscriptions. */
    assert_int_equal(sql("SELECT (v.steps->0->>'timeout_ms')::bigint FROM processes p JOIN "
                         "workflow_versions v ON v.workflow_id = p.workflow_id AND v.version = "
                         "p.workflow_version WHERE p.process_id = '%s' AND v.version = 2",
                         kit_process_id(K)),
                     6 * 3600 * 1000);

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
    (void)st;
    kit_use_subscription(K, node_a);
    kit_start(K, "modify_node", "[{\"node_description\": \"core router\"}]");
    snprintf(id, sizeof(id), "%s", kit_process_id(K));
    wait_status(id, "awaiting_callback");
    state = run_task("task_fail_timed_out_callbacks");
    assert_int_equal((int)state_num(state, "failed_callbacks"), 0);
    json_decref(state);
    kit_use_process(K, id);
    assert_string_equal(json_string_value(json_object_get(kit_process(K), "status")),
                        "awaiting_callback");

    assert_int_equal(
        sql("WITH u AS (UPDATE callbacks SET create_time = now() - interval '2 hours', "
            "expire_time = now() - interval '1 "
            "hour' WHERE process_id = '%s' RETURNING 1) SELECT count(*) FROM u",
            id),
        1);
    state = run_task("task_fail_timed_out_callbacks");
    assert_int_equal((int)state_num(state, "failed_callbacks"), 1);
    json_decref(state);
    wait_status(id, "failed");
    {
        const char *m =
            json_string_value(json_object_get(json_object_get(kit_process(K), "error"), "message"));
        if (!m || !strstr(m, "arrived before its deadline"))
            fail_msg("failed reason: %s", m ? m : "(none)");
    }
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
