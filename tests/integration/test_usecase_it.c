/* The use cases of issue 18 over gRPC against real PostgreSQL: one rule, one road.
 *  - a node subscription out of sync (in_sync = false) refuses StartProcess of modify_node
 *    with SUBSCRIPTION_NOT_IN_SYNC, and a schedule that starts the same workflow on it is
 *    refused by the same rule: the run records why (schedule_runs.error, Schedule.last_error),
 *    no process is created and the schedule moves on; once the subscription is in sync
 *    again, a scheduled start goes through the same use case and starts the process (linked
 *    to the subscription, created by "schedule <name>"), clearing nothing it should not;
 *  - a start on a subscription with a request_id is applied once: the repeat answers
 *    ALREADY_APPLIED with the same process (although the first start now holds the
 *    subscription's lock), the same id with another body is REQUEST_ID_REUSED, and a start
 *    whose form still needs pages does not use its request_id. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/arena.h"
#include "orch_kit.h"
#include "orchestrator/v1/engine.pb-c.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "server/rpc/codec.h"

#define PS "/orchestrator.v1.ProcessService/"
#define ES "/orchestrator.v1.EngineService/"

static kit_t *K;

#define sql(...) harness_scalar(kit_server(K)->dbname, __VA_ARGS__)

static void msleep(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* create_node through its form and its configuration push; the subscription id into sub. */
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

/* StartProcess of workflow on subscription with pages (a JSON array as text) and request_id
 * (NULL = none). The response (caller frees; NULL on error, *st has the status). */
static Orchestrator__V1__StartProcessResponse *start(const char *workflow, const char *sub,
                                                     const char *pages, const char *request_id,
                                                     cli_status_t *st)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    orch_arena_t *a = orch_arena_new();
    json_t *arr = json_loads(pages, 0, NULL);
    ProtobufCMessage *resp = NULL;
    assert_true(json_is_array(arr));
    req.workflow_name = (char *)workflow;
    req.subscription_id = (char *)sub;
    req.request_id = (char *)(request_id ? request_id : "");
    req.n_user_inputs = json_array_size(arr);
    req.user_inputs = orch_arena_alloc(a, (req.n_user_inputs + 1) * sizeof(void *));
    for (size_t i = 0; i < req.n_user_inputs; i++)
        req.user_inputs[i] = srv_codec_struct_from_json(a, json_array_get(arr, i));
    cli_status_cleanup(st);
    cli_call_unary(kit_server(K)->ch, PS "StartProcess", &req.base,
                   &orchestrator__v1__start_process_response__descriptor, 10000, &resp, st);
    json_decref(arr);
    orch_arena_free(a);
    return (Orchestrator__V1__StartProcessResponse *)resp;
}

/* A once schedule of workflow with user_inputs (a JSON object as text), due in a second. */
static void create_schedule(const char *name, const char *workflow, const char *inputs)
{
    Orchestrator__V1__CreateScheduleRequest req = ORCHESTRATOR__V1__CREATE_SCHEDULE_REQUEST__INIT;
    Orchestrator__V1__Schedule sc = ORCHESTRATOR__V1__SCHEDULE__INIT;
    Orchestrator__V1__OneOffTrigger once = ORCHESTRATOR__V1__ONE_OFF_TRIGGER__INIT;
    Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    orch_arena_t *a = orch_arena_new();
    json_t *j = json_loads(inputs, 0, NULL);
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};

    assert_true(json_is_object(j));
    at.seconds = (int64_t)time(NULL) + 1;
    once.run_time = &at;
    sc.name = (char *)name;
    sc.workflow_name = (char *)workflow;
    sc.user_inputs = srv_codec_struct_from_json(a, j);
    sc.enabled = true;
    sc.trigger_case = ORCHESTRATOR__V1__SCHEDULE__TRIGGER_ONCE;
    sc.once = &once;
    req.schedule = &sc;
    cli_call_unary(kit_server(K)->ch, ES "CreateSchedule", &req.base,
                   &orchestrator__v1__schedule__descriptor, 10000, &resp, &st);
    if (st.code != 0)
        fail_msg("CreateSchedule %s: %d %s", name, st.code, st.message);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    json_decref(j);
    orch_arena_free(a);
}

/* The schedule named name as ListSchedules shows it (caller frees the response *all). */
static Orchestrator__V1__Schedule *find_schedule(const char *name,
                                                 Orchestrator__V1__ListSchedulesResponse **all)
{
    Orchestrator__V1__ListSchedulesRequest req = ORCHESTRATOR__V1__LIST_SCHEDULES_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    req.page_size = 100;
    cli_call_unary(kit_server(K)->ch, ES "ListSchedules", &req.base,
                   &orchestrator__v1__list_schedules_response__descriptor, 10000, &resp, &st);
    assert_int_equal(st.code, 0);
    cli_status_cleanup(&st);
    *all = (Orchestrator__V1__ListSchedulesResponse *)resp;
    for (size_t i = 0; i < (*all)->n_schedules; i++)
        if (strcmp((*all)->schedules[i]->name, name) == 0)
            return (*all)->schedules[i];
    fail_msg("no schedule named %s", name);
    return NULL;
}

/* Waits (15 s) until the schedule named name has run once. */
static void wait_run(const char *name)
{
    for (int i = 0; i < 150; i++) {
        if (sql("SELECT count(*) FROM schedule_runs r JOIN schedules s USING (schedule_id) "
                "WHERE s.name = '%s'",
                name) > 0)
            return;
        msleep(100);
    }
    fail_msg("schedule %s never ran", name);
}

static void scheduled_start_obeys_the_start_rules(void **state)
{
    char sub[64], inputs[256];
    cli_status_t st = {0};
    Orchestrator__V1__StartProcessResponse *r;
    Orchestrator__V1__ListSchedulesResponse *all = NULL;
    Orchestrator__V1__Schedule *s;
    (void)state;

    create_node("sched-node", sub);
    sql("UPDATE subscriptions SET in_sync = false WHERE subscription_id = '%s'", sub);

    /* StartProcess is refused by the in-sync rule. */
    r = start("modify_node", sub, "[{\"node_name\": \"renamed\"}]", NULL, &st);
    assert_null(r);
    assert_int_equal(st.code, 9); /* FAILED_PRECONDITION */
    assert_non_null(st.reason);
    assert_string_equal(st.reason, "SUBSCRIPTION_NOT_IN_SYNC");

    /* The same start by a schedule: refused by the same rule, and the run says why. */
    snprintf(inputs, sizeof(inputs), "{\"subscription_id\": \"%s\", \"node_name\": \"renamed\"}",
             sub);
    create_schedule("rename while out of sync", "modify_node", inputs);
    wait_run("rename while out of sync");
    assert_int_equal(sql("SELECT count(*) FROM schedule_runs r JOIN schedules s USING "
                         "(schedule_id) WHERE s.name = 'rename while out of sync' AND "
                         "r.process_id IS NULL AND r.error LIKE 'SUBSCRIPTION_NOT_IN_SYNC: %%'"),
                     1);
    assert_int_equal(sql("SELECT count(*) FROM processes WHERE created_by LIKE 'schedule %%'"), 0);
    assert_int_equal(sql("SELECT count(*) FROM processes_subscriptions WHERE subscription_id = "
                         "'%s'",
                         sub),
                     1); /* only its create_node */
    s = find_schedule("rename while out of sync", &all);
    assert_true(strncmp(s->last_error, "SUBSCRIPTION_NOT_IN_SYNC: ", 26) == 0);
    assert_string_equal(s->last_process_id, "");
    assert_false(s->enabled); /* a once schedule moved on: it does not retry every tick */
    protobuf_c_message_free_unpacked(&all->base, NULL);

    /* In sync again: the scheduled start goes through and is linked like any start. */
    sql("UPDATE subscriptions SET in_sync = true WHERE subscription_id = '%s'", sub);
    create_schedule("rename in sync", "modify_node", inputs);
    wait_run("rename in sync");
    assert_int_equal(sql("SELECT count(*) FROM schedule_runs r JOIN schedules s USING "
                         "(schedule_id) WHERE s.name = 'rename in sync' AND r.process_id IS NOT "
                         "NULL AND r.error IS NULL"),
                     1);
    assert_int_equal(sql("SELECT count(*) FROM processes p JOIN processes_subscriptions ps USING "
                         "(process_id) WHERE p.created_by = 'schedule rename in sync' AND "
                         "ps.subscription_id = '%s'",
                         sub),
                     1);
    s = find_schedule("rename in sync", &all);
    assert_string_equal(s->last_error, "");
    assert_string_not_equal(s->last_process_id, "");
    kit_use_process(K, s->last_process_id);
    protobuf_c_message_free_unpacked(&all->base, NULL);
    kit_callback(K, NULL); /* the configuration push */
    kit_wait(K, "completed");
    kit_use_subscription(K, sub);
    kit_assert_sub(K, "node_name", "\"renamed\"");
    cli_status_cleanup(&st);
}

static void start_with_request_id_is_applied_once(void **state)
{
    const char *rid = "6f1c2b1e-0d4a-4c1b-9a57-3f8e2d7c6b5a";
    const char *rid2 = "0b9e6c2d-5a41-4f3e-8d27-1c6a9e4b7f30";
    char sub[64], first[64];
    cli_status_t st = {0};
    Orchestrator__V1__StartProcessResponse *r;
    (void)state;

    create_node("replay-node", sub);
    r = start("modify_node", sub, "[{\"node_name\": \"replayed\"}]", rid, &st);
    if (!r)
        fail_msg("StartProcess: %d %s", st.code, st.message);
    assert_int_equal(r->outcome, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED);
    snprintf(first, sizeof(first), "%s", r->process->process_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);

    /* The repeat gets the first answer, before any rule judges the world the first start
     * changed: the subscription is now locked by that process. */
    r = start("modify_node", sub, "[{\"node_name\": \"replayed\"}]", rid, &st);
    if (!r)
        fail_msg("repeated StartProcess: %d %s", st.code, st.message);
    assert_int_equal(r->outcome, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED);
    assert_string_equal(r->process->process_id, first);
    protobuf_c_message_free_unpacked(&r->base, NULL);

    /* The same id with another body is refused. */
    r = start("modify_node", sub, "[{\"node_name\": \"other\"}]", rid, &st);
    assert_null(r);
    assert_int_equal(st.code, 9);
    assert_string_equal(st.reason, "REQUEST_ID_REUSED");
    assert_int_equal(sql("SELECT count(*) FROM processes_subscriptions WHERE subscription_id = "
                         "'%s'",
                         sub),
                     2); /* create_node and one modify_node */
    kit_use_process(K, first);
    kit_callback(K, NULL);
    kit_wait(K, "completed");

    /* A start whose form still needs a page creates nothing and leaves its id unused: the
     * same id then starts with the whole form. */
    r = start("modify_node", sub, "[]", rid2, &st);
    if (!r)
        fail_msg("StartProcess without pages: %d %s", st.code, st.message);
    assert_int_equal(r->result_case, ORCHESTRATOR__V1__START_PROCESS_RESPONSE__RESULT_NEXT_PAGE);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    r = start("modify_node", sub, "[{\"node_name\": \"paged\"}]", rid2, &st);
    if (!r)
        fail_msg("StartProcess with its page: %d %s", st.code, st.message);
    assert_int_equal(r->outcome, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED);
    kit_use_process(K, r->process->process_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    kit_callback(K, NULL);
    kit_wait(K, "completed");
    cli_status_cleanup(&st);
}

static int setup(void **state)
{
    (void)state;
    K = kit_new(NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kit_free(K);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scheduled_start_obeys_the_start_rules),
        cmocka_unit_test(start_with_request_id_is_applied_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
