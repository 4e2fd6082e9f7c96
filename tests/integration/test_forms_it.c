/* Forms, people and external systems over gRPC against real PostgreSQL: the two-page port
 * form (next_page, then the process), invalid answers with one violation per field, a
 * callback step (progress, a wrong token refused, the right one, a second delivery acting
 * once), an input step suspended then resumed (bad then good answers, a second resume acting
 * once), the subscription lock refusing a second workflow while modify_note still runs, a
 * port used by a live L2VPN that cannot be terminated, SetSubscriptionInSync refused while an
 * input step holds the lock, the life of a core link between two nodes (node B = node A
 * refused; its nodes cannot be terminated while it lives), and the life of two nodes, a port
 * on each and an L2VPN across them through create / modify / validate / terminate. */
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

#include "base/arena.h"
#include "orch_kit.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "orchestrator/v1/products.pb-c.h"
#include "orchestrator/v1/subscriptions.pb-c.h"
#include "output.h"
#include "server/rpc/codec.h"

#define PS "/orchestrator.v1.ProcessService/"
#define SS "/orchestrator.v1.SubscriptionService/"

typedef Orchestrator__V1__Process process_t;

/* One server for the group, through the test kit (tests/kit/orch_kit.h): its waits, its
 * callbacks; the raw calls below test the protocol itself (pages, violations, tokens). */
static kit_t *K;
static Orchestrator__V1__Subscription *get_sub(const char *id);

static const char *product_id(const char *name, char *out)
{
    Orchestrator__V1__GetProductRequest req = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    req.key_case = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_NAME;
    req.name = (char *)name;
    cli_call_unary(kit_server(K)->ch, "/orchestrator.v1.ProductService/GetProduct", &req.base,
                   &orchestrator__v1__product__descriptor, 5000, &resp, &st);
    assert_int_equal(st.code, 0);
    snprintf(out, 64, "%s", ((Orchestrator__V1__Product *)resp)->product_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    return out;
}

/* StartProcess with pages (a JSON array of objects, as text). Returns the response (NULL on
 * error, *st has the status). */
static Orchestrator__V1__StartProcessResponse *start(const char *workflow, const char *product,
                                                     const char *subscription, const char *pages,
                                                     cli_status_t *st)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    orch_arena_t *a = orch_arena_new();
    json_t *arr = json_loads(pages ? pages : "[]", 0, NULL);
    ProtobufCMessage *resp = NULL;
    assert_true(json_is_array(arr));
    req.workflow_name = (char *)workflow;
    req.product_id = (char *)(product ? product : "");
    req.subscription_id = (char *)(subscription ? subscription : "");
    req.n_user_inputs = json_array_size(arr);
    req.user_inputs = orch_arena_alloc(a, (req.n_user_inputs + 1) * sizeof(void *));
    for (size_t i = 0; i < req.n_user_inputs; i++)
        req.user_inputs[i] = srv_codec_struct_from_json(a, json_array_get(arr, i));
    memset(st, 0, sizeof(*st));
    cli_call_unary(kit_server(K)->ch, PS "StartProcess", &req.base,
                   &orchestrator__v1__start_process_response__descriptor, 10000, &resp, st);
    json_decref(arr);
    orch_arena_free(a);
    return (Orchestrator__V1__StartProcessResponse *)resp;
}

/* Starts and expects a process; its id into id. */
static void start_ok(const char *workflow, const char *product, const char *subscription,
                     const char *pages, char *id)
{
    cli_status_t st;
    Orchestrator__V1__StartProcessResponse *r = start(workflow, product, subscription, pages, &st);
    if (st.code != 0)
        fail_msg("StartProcess %s: %d %s", workflow, st.code, st.message);
    assert_int_equal(r->result_case, ORCHESTRATOR__V1__START_PROCESS_RESPONSE__RESULT_PROCESS);
    snprintf(id, 64, "%s", r->process->process_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);
}

static process_t *get(const char *id)
{
    Orchestrator__V1__GetProcessRequest req = ORCHESTRATOR__V1__GET_PROCESS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    req.process_id = (char *)id;
    cli_call_unary(kit_server(K)->ch, PS "GetProcess", &req.base,
                   &orchestrator__v1__process__descriptor, 5000, &resp, &st);
    if (st.code != 0)
        fail_msg("GetProcess %s: %d %s", id, st.code, st.message);
    cli_status_cleanup(&st);
    return (process_t *)resp;
}

/* Waits through the kit (which fails at once, with the process's steps, when the process
 * rests in another status); the process as it is then (caller frees). */
static process_t *wait_status(const char *id, Orchestrator__V1__ProcessStatus status)
{
    char name[64];
    cli_enum_name(&orchestrator__v1__process_status__descriptor, (int)status, name, sizeof(name));
    kit_use_process(K, id);
    kit_wait(K, name);
    return get(id);
}

static void wait_done(const char *id)
{
    kit_use_process(K, id);
    kit_wait(K, "completed");
}

static const char *state_str(const process_t *p, const char *key, char *out)
{
    json_t *j = srv_codec_json_from_struct(p->current_state);
    snprintf(out, 64, "%s",
             json_is_string(json_object_get(j, key)) ? json_string_value(json_object_get(j, key))
                                                     : "");
    json_decref(j);
    return out;
}

/* The token the simulated provisioning system got for the step. */
static void token_of(const char *id, const char *step, char *out)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s.%s", kit_callback_dir(K), id, step);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(out, 80, f));
    fclose(f);
}

static int deliver(const char *id, const char *token, const char *result, const char *request_id,
                   int *outcome)
{
    Orchestrator__V1__DeliverCallbackRequest req = ORCHESTRATOR__V1__DELIVER_CALLBACK_REQUEST__INIT;
    orch_arena_t *a = orch_arena_new();
    json_t *j = json_loads(result ? result : "{}", 0, NULL);
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    int code;
    req.process_id = (char *)id;
    req.callback_token = (char *)token;
    req.result = srv_codec_struct_from_json(a, j);
    req.request_id = (char *)(request_id ? request_id : "");
    cli_call_unary(kit_server(K)->ch, PS "DeliverCallback", &req.base,
                   &orchestrator__v1__deliver_callback_response__descriptor, 5000, &resp, &st);
    if (resp && outcome)
        *outcome = ((Orchestrator__V1__DeliverCallbackResponse *)resp)->outcome;
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    code = st.code;
    cli_status_cleanup(&st);
    json_decref(j);
    orch_arena_free(a);
    return code;
}

/* Waits for the callback step of id and delivers its token. */
static void complete_callback(const char *id)
{
    kit_use_process(K, id);
    kit_callback(K, "{\"pushed\": true}");
}

static int resume(const char *id, const char *pages, const char *request_id, int *outcome,
                  cli_status_t *st)
{
    Orchestrator__V1__ResumeProcessRequest req = ORCHESTRATOR__V1__RESUME_PROCESS_REQUEST__INIT;
    orch_arena_t *a = orch_arena_new();
    json_t *arr = json_loads(pages, 0, NULL);
    ProtobufCMessage *resp = NULL;
    req.process_id = (char *)id;
    req.request_id = (char *)(request_id ? request_id : "");
    req.n_user_inputs = json_array_size(arr);
    req.user_inputs = orch_arena_alloc(a, (req.n_user_inputs + 1) * sizeof(void *));
    for (size_t i = 0; i < req.n_user_inputs; i++)
        req.user_inputs[i] = srv_codec_struct_from_json(a, json_array_get(arr, i));
    memset(st, 0, sizeof(*st));
    cli_call_unary(kit_server(K)->ch, PS "ResumeProcess", &req.base,
                   &orchestrator__v1__resume_process_response__descriptor, 5000, &resp, st);
    if (resp && outcome)
        *outcome = ((Orchestrator__V1__ResumeProcessResponse *)resp)->outcome;
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    json_decref(arr);
    orch_arena_free(a);
    return st->code;
}

static bool has_violation(const cli_status_t *st, const char *field)
{
    for (size_t i = 0; i < st->nviolations; i++)
        if (strcmp(st->violations[i].field, field) == 0)
            return true;
    return false;
}

/* create_node through its one-page form; the subscription id into sub. */
static void create_node(const char *name, char *sub)
{
    char pid[64], id[64], pages[512];
    process_t *p;
    snprintf(pages, sizeof(pages),
             "[{\"customer_id\": \"acme\", \"node_name\": \"%s\", \"role_id\": 1, "
             "\"type_id\": 2, \"site_id\": 3}]",
             name);
    start_ok("create_node", product_id("node Nokia", pid), NULL, pages, id);
    complete_callback(id);
    wait_done(id);
    p = get(id);
    state_str(p, "subscription_id", sub);
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

/* The two-page port form: page 1 alone gives page 2 with only the free ports. */
static void create_port(const char *node_sub, const char *port, char *sub, char *process)
{
    char pid[64], pages[512];
    product_id("port 10G", pid);
    snprintf(pages, sizeof(pages),
             "[{\"customer_id\": \"acme\", \"node_subscription_id\": \"%s\"}, "
             "{\"port_name\": \"%s\", \"port_mode\": \"tagged\"}]",
             node_sub, port);
    start_ok("create_port", pid, NULL, pages, process);
    complete_callback(process);
    wait_done(process);
    {
        process_t *p = get(process);
        state_str(p, "subscription_id", sub);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
}

static int setup(void **state)
{
    (void)state;
    setenv("ORCH_TEST_WORKFLOWS", "1", 1); /* test_secret */
    K = kit_new(NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kit_free(K);
    return 0;
}

static char node_a[64], node_b[64], port_a[64], port_b[64], l2vpn[64];

static void port_form_pages(void **state)
{
    char pid[64], id[64], pages[512], tok[80];
    cli_status_t st;
    Orchestrator__V1__StartProcessResponse *r;
    json_t *form, *choices;
    (void)state;

    create_node("ams-r1", node_a);
    create_node("fra-r1", node_b);
    product_id("port 10G", pid);

    /* No answers: page 0, the node, with both nodes offered. */
    r = start("create_port", pid, NULL, "[]", &st);
    assert_int_equal(st.code, 0);
    assert_int_equal(r->result_case, ORCHESTRATOR__V1__START_PROCESS_RESPONSE__RESULT_NEXT_PAGE);
    assert_int_equal(r->next_page->page_index, 0);
    form = srv_codec_json_from_struct(r->next_page->form);
    choices = json_object_get(
        json_object_get(json_object_get(form, "properties"), "node_subscription_id"), "enum");
    assert_int_equal(json_array_size(choices), 2);
    json_decref(form);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);

    /* Page 1 answered: page 2 offers the node's free ports. */
    snprintf(pages, sizeof(pages),
             "[{\"customer_id\": \"acme\", \"node_subscription_id\": \"%s\"}]", node_a);
    r = start("create_port", pid, NULL, pages, &st);
    assert_int_equal(st.code, 0);
    assert_int_equal(r->result_case, ORCHESTRATOR__V1__START_PROCESS_RESPONSE__RESULT_NEXT_PAGE);
    assert_int_equal(r->next_page->page_index, 1);
    form = srv_codec_json_from_struct(r->next_page->form);
    choices =
        json_object_get(json_object_get(json_object_get(form, "properties"), "port_name"), "enum");
    assert_int_equal(json_array_size(choices), 8);
    json_decref(form);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);

    /* Invalid answers: one violation per wrong field, with its path. */
    snprintf(pages, sizeof(pages),
             "[{\"customer_id\": \"acme\", \"node_subscription_id\": \"%s\"}, "
             "{\"port_name\": \"9/9/9\", \"port_mode\": \"sideways\", \"lldp\": 3, "
             "\"colour\": \"red\"}]",
             node_a);
    r = start("create_port", pid, NULL, pages, &st);
    assert_null(r);
    assert_int_equal(st.code, 3);
    assert_true(has_violation(&st, "user_inputs[1].port_name"));
    assert_true(has_violation(&st, "user_inputs[1].port_mode"));
    assert_true(has_violation(&st, "user_inputs[1].lldp"));
    assert_true(has_violation(&st, "user_inputs[1].colour"));
    assert_int_equal(st.nviolations, 4);
    cli_status_cleanup(&st);

    /* A node that is not offered. */
    r = start("create_port", pid, NULL,
              "[{\"customer_id\": \"acme\", \"node_subscription_id\": "
              "\"00000000-0000-4000-8000-000000000000\"}]",
              &st);
    assert_int_equal(st.code, 3);
    assert_true(has_violation(&st, "user_inputs[0].node_subscription_id"));
    cli_status_cleanup(&st);

    /* Complete: the process; its callback step waits for the provisioning system. */
    snprintf(pages, sizeof(pages),
             "[{\"customer_id\": \"acme\", \"node_subscription_id\": \"%s\"}, "
             "{\"port_name\": \"1/1/1\", \"port_mode\": \"tagged\"}]",
             node_a);
    start_ok("create_port", pid, NULL, pages, id);
    {
        process_t *p =
            wait_status(id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_AWAITING_CALLBACK);
        assert_non_null(p->pending_callback);
        assert_string_equal(p->pending_callback->step_key, "push_config");
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
    token_of(id, "push_config", tok);
    {
        /* Progress for watchers. */
        Orchestrator__V1__ReportCallbackProgressRequest req =
            ORCHESTRATOR__V1__REPORT_CALLBACK_PROGRESS_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        cli_status_t ps = {0};
        process_t *p;
        req.process_id = id;
        req.callback_token = tok;
        req.message = "pushing config 3/7";
        cli_call_unary(kit_server(K)->ch, PS "ReportCallbackProgress", &req.base,
                       &orchestrator__v1__report_callback_progress_response__descriptor, 5000,
                       &resp, &ps);
        assert_int_equal(ps.code, 0);
        protobuf_c_message_free_unpacked(resp, NULL);
        cli_status_cleanup(&ps);
        p = get(id);
        assert_string_equal(p->pending_callback->last_progress_message, "pushing config 3/7");
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
    /* A wrong token is refused and changes nothing. */
    assert_int_equal(deliver(id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                             NULL, NULL, NULL),
                     7);
    {
        process_t *p = get(id);
        assert_int_equal(p->status,
                         ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_AWAITING_CALLBACK);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
    /* The provisioning system lost the request: an operator resumes the process, the push
     * runs again with a new token and the old one stops working. Answers are refused: the
     * process waits for a system, not a person. */
    {
        char old_tok[80];
        int o = 0;
        cli_status_t rs;
        process_t *p;
        snprintf(old_tok, sizeof(old_tok), "%s", tok);
        assert_int_equal(resume(id, "[{\"pushed\": true}]", NULL, NULL, &rs), 3);
        assert_true(has_violation(&rs, "user_inputs"));
        cli_status_cleanup(&rs);
        assert_int_equal(resume(id, "[]", NULL, &o, &rs), 0);
        cli_status_cleanup(&rs);
        assert_int_equal(o, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED);
        p = wait_status(id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_AWAITING_CALLBACK);
        assert_string_equal(p->pending_callback->step_key, "push_config");
        protobuf_c_message_free_unpacked(&p->base, NULL);
        token_of(id, "push_config", tok);
        assert_string_not_equal(tok, old_tok);
        assert_int_equal(deliver(id, old_tok, "{\"pushed\": true}", NULL, NULL), 7);
    }
    /* The right one, twice: acts once. */
    {
        int o1 = 0, o2 = 0;
        assert_int_equal(deliver(id, tok, "{\"pushed\": true}", NULL, &o1), 0);
        assert_int_equal(deliver(id, tok, "{\"pushed\": true}", NULL, &o2), 0);
        assert_int_equal(o1, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED);
        assert_int_equal(o2, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED);
    }
    wait_done(id);
    {
        process_t *p = get(id);
        size_t pushed = 0;
        state_str(p, "subscription_id", port_a);
        for (size_t i = 0; i < p->n_steps; i++)
            pushed += strcmp(p->steps[i]->key, "push_config") == 0 &&
                      p->steps[i]->status == ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_SUCCESS;
        assert_int_equal(pushed, 1);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }

    /* The port taken is no longer offered on that node. */
    r = start("create_port", pid, NULL, pages, &st);
    assert_int_equal(st.code, 3);
    assert_true(has_violation(&st, "user_inputs[1].port_name"));
    cli_status_cleanup(&st);
}

static void l2vpn_and_lock(void **state)
{
    char pid[64], id[64], id2[64], pages[512];
    cli_status_t st;
    Orchestrator__V1__StartProcessResponse *r;
    (void)state;

    create_port(node_b, "1/1/2", port_b, id);
    product_id("l2vpn", pid);
    snprintf(pages, sizeof(pages),
             "[{\"customer_id\": \"acme\", \"ports\": [\"%s\", \"%s\"], \"vlan\": 100, "
             "\"speed\": 1000}]",
             port_a, port_b);
    start_ok("create_l2vpn", pid, NULL, pages, id);
    complete_callback(id);
    wait_done(id);
    {
        process_t *p = get(id);
        state_str(p, "subscription_id", l2vpn);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }

    /* A port used by a live L2VPN cannot be terminated (checked before anything). */
    r = start("terminate_port", NULL, port_a, "[]", &st);
    assert_null(r);
    assert_int_equal(st.code, 9);
    assert_string_equal(st.reason, "IN_USE_BY_OTHER_SUBSCRIPTIONS");
    cli_status_cleanup(&st);

    /* modify_l2vpn locks the subscription while it waits for its callback; a second
     * workflow is refused, modify_note still runs. */
    start_ok("modify_l2vpn", NULL, l2vpn, "[{\"speed\": 2000}]", id);
    {
        process_t *p =
            wait_status(id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_AWAITING_CALLBACK);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
    r = start("validate_l2vpn", NULL, l2vpn, "[]", &st);
    assert_null(r);
    assert_int_equal(st.code, 9);
    assert_string_equal(st.reason, "SUBSCRIPTION_NOT_IN_SYNC");
    cli_status_cleanup(&st);
    start_ok("modify_note", NULL, l2vpn, "[{\"note\": \"maintenance on friday\"}]", id2);
    wait_done(id2);
    complete_callback(id);
    wait_done(id);
    start_ok("validate_l2vpn", NULL, l2vpn, "[]", id);
    wait_done(id);
    start_ok("reconcile_l2vpn", NULL, l2vpn, "[]", id);
    complete_callback(id);
    wait_done(id);
    /* Reconcile is for a subscription that drifted: it runs out of sync too, and leaves the
     * subscription in sync. */
    {
        char ci[512], q[256];
        PGconn *c;
        harness_conninfo(kit_server(K)->dbname, ci);
        c = PQconnectdb(ci);
        snprintf(q, sizeof(q),
                 "UPDATE subscriptions SET in_sync = false WHERE subscription_id = '%s'", l2vpn);
        PQclear(PQexec(c, q));
        PQfinish(c);
        start_ok("reconcile_l2vpn", NULL, l2vpn, "[]", id);
        complete_callback(id);
        wait_done(id);
        {
            Orchestrator__V1__Subscription *sub = get_sub(l2vpn);
            assert_true(sub->in_sync);
            protobuf_c_message_free_unpacked(&sub->base, NULL);
        }
    }
}

static Orchestrator__V1__Subscription *get_sub(const char *id)
{
    Orchestrator__V1__GetSubscriptionRequest req = ORCHESTRATOR__V1__GET_SUBSCRIPTION_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    req.subscription_id = (char *)id;
    cli_call_unary(kit_server(K)->ch, SS "GetSubscription", &req.base,
                   &orchestrator__v1__subscription__descriptor, 5000, &resp, &st);
    if (st.code != 0)
        fail_msg("GetSubscription %s: %d %s", id, st.code, st.message);
    cli_status_cleanup(&st);
    return (Orchestrator__V1__Subscription *)resp;
}

/* The first value under key anywhere in j (depth first), or NULL. */
static json_t *find_key(json_t *j, const char *key)
{
    const char *k;
    json_t *v, *hit;
    size_t i;
    if (json_is_object(j)) {
        if ((hit = json_object_get(j, key)))
            return hit;
        json_object_foreach(j, k, v) if ((hit = find_key(v, key))) return hit;
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) if ((hit = find_key(v, key))) return hit;
    }
    return NULL;
}

static bool maintenance_of(const char *sub)
{
    Orchestrator__V1__Subscription *s = get_sub(sub);
    json_t *dm = srv_codec_json_from_struct(s->domain_model);
    json_t *v = find_key(dm, "under_maintenance");
    bool on;
    assert_true(json_is_boolean(v));
    on = json_is_true(v);
    json_decref(dm);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    return on;
}

/* A core link 10G between two nodes of its own: the two-page form (node B = node A refused,
 * naming node B), the IPv6 prefix from the simulated IPAM, both nodes in use (neither can be
 * terminated while the link lives), the maintenance toggle, validate, terminate, and then
 * the nodes can go. */
static void core_link_life(void **state)
{
    char pid[64], id[64], pages[768], na[64], nb[64], link[64];
    cli_status_t st;
    Orchestrator__V1__StartProcessResponse *r;
    json_t *form;
    (void)state;

    create_node("ams-c1", na);
    create_node("fra-c1", nb);
    product_id("core link 10G", pid);

    /* Page 1 answered: page 2 asks an interface on each node. */
    snprintf(pages, sizeof(pages),
             "[{\"customer_id\": \"acme\", \"node_a_subscription_id\": \"%s\", "
             "\"node_b_subscription_id\": \"%s\"}]",
             na, nb);
    r = start("create_core_link", pid, NULL, pages, &st);
    assert_int_equal(st.code, 0);
    assert_int_equal(r->result_case, ORCHESTRATOR__V1__START_PROCESS_RESPONSE__RESULT_NEXT_PAGE);
    assert_int_equal(r->next_page->page_index, 1);
    form = srv_codec_json_from_struct(r->next_page->form);
    assert_non_null(json_object_get(json_object_get(form, "properties"), "port_a_name"));
    assert_non_null(json_object_get(json_object_get(form, "properties"), "port_b_name"));
    json_decref(form);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);

    /* The same node twice: one violation, on node B; nothing is created. */
    snprintf(pages, sizeof(pages),
             "[{\"customer_id\": \"acme\", \"node_a_subscription_id\": \"%s\", "
             "\"node_b_subscription_id\": \"%s\"}, "
             "{\"port_a_name\": \"1/2/1\", \"port_b_name\": \"1/2/1\"}]",
             na, na);
    r = start("create_core_link", pid, NULL, pages, &st);
    assert_null(r);
    assert_int_equal(st.code, 3);
    assert_true(has_violation(&st, "user_inputs[0].node_b_subscription_id"));
    assert_int_equal(st.nviolations, 1);
    cli_status_cleanup(&st);

    /* Complete: the link, its prefix allocated, its callback delivered. */
    snprintf(pages, sizeof(pages),
             "[{\"customer_id\": \"acme\", \"node_a_subscription_id\": \"%s\", "
             "\"node_b_subscription_id\": \"%s\"}, "
             "{\"port_a_name\": \"1/2/1\", \"port_b_name\": \"1/2/1\"}]",
             na, nb);
    start_ok("create_core_link", pid, NULL, pages, id);
    complete_callback(id);
    wait_done(id);
    {
        process_t *p = get(id);
        json_t *j = srv_codec_json_from_struct(p->current_state);
        state_str(p, "subscription_id", link);
        assert_true(json_integer_value(json_object_get(j, "ipv6_prefix_ipam_id")) > 0);
        json_decref(j);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
    {
        Orchestrator__V1__Subscription *s = get_sub(link);
        size_t found = 0;
        assert_int_equal(s->status,
                         ORCHESTRATOR__V1__SUBSCRIPTION_STATUS__SUBSCRIPTION_STATUS_ACTIVE);
        assert_true(s->in_sync);
        for (size_t i = 0; i < s->n_depends_on_subscription_ids; i++)
            found += strcmp(s->depends_on_subscription_ids[i], na) == 0 ||
                     strcmp(s->depends_on_subscription_ids[i], nb) == 0;
        assert_int_equal(found, 2);
        protobuf_c_message_free_unpacked(&s->base, NULL);
    }
    assert_false(maintenance_of(link));

    /* Neither node can be terminated while the link lives. */
    for (int i = 0; i < 2; i++) {
        r = start("terminate_node", NULL, i ? nb : na, "[]", &st);
        assert_null(r);
        assert_int_equal(st.code, 9);
        assert_string_equal(st.reason, "IN_USE_BY_OTHER_SUBSCRIPTIONS");
        cli_status_cleanup(&st);
    }

    /* Modify: the maintenance toggle (with its configuration push); validate. */
    start_ok("modify_core_link", NULL, link, "[{\"under_maintenance\": true}]", id);
    complete_callback(id);
    wait_done(id);
    assert_true(maintenance_of(link));
    start_ok("modify_core_link", NULL, link, "[{\"under_maintenance\": false}]", id);
    complete_callback(id);
    wait_done(id);
    assert_false(maintenance_of(link));
    start_ok("validate_core_link", NULL, link, "[]", id);
    wait_done(id);

    /* Terminate the link, then its nodes can go. */
    start_ok("terminate_core_link", NULL, link, "[]", id);
    wait_done(id);
    {
        Orchestrator__V1__Subscription *s = get_sub(link);
        assert_int_equal(s->status,
                         ORCHESTRATOR__V1__SUBSCRIPTION_STATUS__SUBSCRIPTION_STATUS_TERMINATED);
        protobuf_c_message_free_unpacked(&s->base, NULL);
    }
    start_ok("terminate_node", NULL, na, "[]", id);
    wait_done(id);
    start_ok("terminate_node", NULL, nb, "[]", id);
    wait_done(id);
}

/* The fingerprint test_secret's steps compute (tests/testbin/testing.c). */
static long long fingerprint(const char *s)
{
    unsigned long long h = 7;
    for (; *s; s++)
        h = (h * 31 + (unsigned char)*s) % 1000003;
    return (long long)h;
}

static long long state_int(const process_t *p, const char *key)
{
    json_t *j = srv_codec_json_from_struct(p->current_state);
    long long v = (long long)json_number_value(json_object_get(j, key));
    json_decref(j);
    return v;
}

/* Nowhere in the audit log, the events or the answers' record of the process. */
static void assert_nowhere(const char *id, const char *secret)
{
    assert_int_equal(harness_scalar(kit_server(K)->dbname,
                                    "SELECT count(*) FROM process_steps WHERE process_id = '%s' "
                                    "AND (state::text LIKE '%%%s%%' OR "
                                    "state_delta::text LIKE '%%%s%%')",
                                    id, secret, secret),
                     0);
    assert_int_equal(harness_scalar(kit_server(K)->dbname,
                                    "SELECT count(*) FROM input_states WHERE process_id = '%s' "
                                    "AND inputs::text LIKE '%%%s%%'",
                                    id, secret),
                     0);
    assert_int_equal(harness_scalar(kit_server(K)->dbname,
                                    "SELECT count(*) FROM process_events WHERE process_id = '%s' "
                                    "AND payload::text LIKE '%%%s%%'",
                                    id, secret),
                     0);
}

/* Secret answers: the steps read the real values (start form and input step), the audit
 * log, the events and GetProcess show "***", a step echoing a secret has it masked, and
 * the values are forgotten when the process completes. */
static void secret_answers_reach_steps_only(void **state)
{
    const char *key = "correct-horse-battery", *pin = "pin-8472-zz";
    char id[64], pages[256], answer[128];
    cli_status_t st;
    process_t *p;
    json_t *j;
    (void)state;

    snprintf(pages, sizeof(pages), "[{\"username\": \"ops\", \"api_key\": \"%s\"}]", key);
    start_ok("test_secret", NULL, NULL, pages, id);
    p = wait_status(id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_SUSPENDED);
    assert_string_equal(p->last_step_key, "ask_pin");
    assert_int_equal(state_int(p, "key_length"), (long long)strlen(key));
    assert_int_equal(state_int(p, "key_fingerprint"), fingerprint(key));
    j = srv_codec_json_from_struct(p->current_state);
    assert_string_equal(json_string_value(json_object_get(j, "api_key")), "***");
    assert_string_equal(json_string_value(json_object_get(j, "username")), "ops");
    json_decref(j);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(harness_scalar(kit_server(K)->dbname,
                                    "SELECT count(*) FROM process_secrets WHERE process_id = '%s'",
                                    id),
                     1);
    assert_nowhere(id, key);

    snprintf(answer, sizeof(answer), "[{\"pin\": \"%s\"}]", pin);
    assert_int_equal(resume(id, answer, NULL, NULL, &st), 0);
    cli_status_cleanup(&st);
    wait_done(id);
    p = get(id);
    assert_int_equal(state_int(p, "pin_length"), (long long)strlen(pin));
    assert_int_equal(state_int(p, "pin_fingerprint"), fingerprint(pin));
    /* The start form's secret still reached the later step's state as the mask only. */
    j = srv_codec_json_from_struct(p->current_state);
    assert_string_equal(json_string_value(json_object_get(j, "pin")), "***");
    assert_string_equal(json_string_value(json_object_get(j, "api_key")), "***");
    json_decref(j);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_nowhere(id, key);
    assert_nowhere(id, pin);
    /* Completed: nothing is kept. */
    assert_int_equal(harness_scalar(kit_server(K)->dbname,
                                    "SELECT count(*) FROM process_secrets WHERE process_id = '%s'",
                                    id),
                     0);
}

/* A parallel branch is a process of its own: its step still gets the secret answers of the
 * process it belongs to, and what it returns is masked the same way. */
static void secret_answers_reach_branches(void **state)
{
    const char *key = "branch-secret-7731";
    char id[64], pages[256];
    process_t *p;
    json_t *j;
    (void)state;

    snprintf(pages, sizeof(pages), "[{\"username\": \"ops\", \"api_key\": \"%s\"}]", key);
    start_ok("test_parallel_secret", NULL, NULL, pages, id);
    wait_done(id);
    p = get(id);
    j = srv_codec_json_from_struct(p->current_state);
    for (const char *const *b = (const char *const[]){"a", "b", NULL}; *b; b++) {
        const json_t *r = json_object_get(j, *b);
        if (!json_is_object(r))
            fail_msg("branch %s's result is not in the state", *b);
        assert_int_equal((long long)json_number_value(json_object_get(r, "key_length")),
                         (long long)strlen(key));
        assert_int_equal((long long)json_number_value(json_object_get(r, "key_fingerprint")),
                         fingerprint(key));
    }
    json_decref(j);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    /* Neither the parent's nor the branches' audit rows hold it. */
    assert_int_equal(harness_scalar(kit_server(K)->dbname,
                                    "SELECT count(*) FROM process_steps s JOIN processes p "
                                    "USING (process_id) WHERE (p.process_id = '%s' OR "
                                    "p.parent_process_id = '%s') AND (s.state::text LIKE "
                                    "'%%%s%%' OR s.state_delta::text LIKE '%%%s%%')",
                                    id, id, key, key),
                     0);
    assert_int_equal(harness_scalar(kit_server(K)->dbname,
                                    "SELECT count(*) FROM process_events e JOIN processes p "
                                    "USING (process_id) WHERE (p.process_id = '%s' OR "
                                    "p.parent_process_id = '%s') AND e.payload::text LIKE "
                                    "'%%%s%%'",
                                    id, id, key),
                     0);
}

static void input_step_and_terminations(void **state)
{
    char id[64], rid[40] = "6f1c2b1e-7a3d-4c55-9b0e-0d3f4a5b6c7d";
    cli_status_t st;
    int o1 = 0, o2 = 0;
    process_t *p;
    (void)state;

    /* The L2VPN first, then its ports can go. */
    start_ok("terminate_l2vpn", NULL, l2vpn, "[]", id);
    wait_done(id);

    start_ok("terminate_port", NULL, port_a, "[]", id);
    p = wait_status(id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_SUSPENDED);
    assert_non_null(p->form);
    assert_string_equal(p->last_step_key, "confirm_removal");
    protobuf_c_message_free_unpacked(&p->base, NULL);
    /* While it waits for a person the subscription stays locked: forcing it in sync is
     * refused. */
    {
        Orchestrator__V1__SetSubscriptionInSyncRequest req =
            ORCHESTRATOR__V1__SET_SUBSCRIPTION_IN_SYNC_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        Orchestrator__V1__Subscription *s;
        req.subscription_id = port_a;
        memset(&st, 0, sizeof(st));
        cli_call_unary(kit_server(K)->ch, SS "SetSubscriptionInSync", &req.base,
                       &orchestrator__v1__subscription__descriptor, 5000, &resp, &st);
        assert_null(resp);
        assert_int_equal(st.code, 9);
        assert_string_equal(st.reason, "SUBSCRIPTION_LOCKED_BY_PROCESS");
        cli_status_cleanup(&st);
        s = get_sub(port_a);
        assert_false(s->in_sync);
        protobuf_c_message_free_unpacked(&s->base, NULL);
    }
    /* Bad answers: refused field by field, nothing changes. */
    assert_int_equal(
        resume(id, "[{\"cable_removed\": \"no\", \"ticket\": \"chg 1\"}]", NULL, NULL, &st), 3);
    assert_true(has_violation(&st, "user_inputs[0].cable_removed"));
    assert_true(has_violation(&st, "user_inputs[0].ticket"));
    cli_status_cleanup(&st);
    /* Good answers, sent twice with the same request_id, and once more without: one resume. */
    assert_int_equal(
        resume(id, "[{\"cable_removed\": \"yes\", \"ticket\": \"CHG-42\"}]", rid, &o1, &st), 0);
    cli_status_cleanup(&st);
    assert_int_equal(
        resume(id, "[{\"cable_removed\": \"yes\", \"ticket\": \"CHG-42\"}]", rid, &o2, &st), 0);
    cli_status_cleanup(&st);
    assert_int_equal(o1, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED);
    assert_int_equal(o2, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED);
    wait_done(id);
    assert_int_equal(
        resume(id, "[{\"cable_removed\": \"yes\", \"ticket\": \"CHG-42\"}]", NULL, NULL, &st), 9);
    cli_status_cleanup(&st);
    p = get(id);
    {
        size_t confirmed = 0;
        for (size_t i = 0; i < p->n_steps; i++)
            confirmed += strcmp(p->steps[i]->key, "confirm_removal") == 0 &&
                         p->steps[i]->status == ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_SUCCESS;
        assert_int_equal(confirmed, 1);
    }
    protobuf_c_message_free_unpacked(&p->base, NULL);

    /* Node modify (form + callback) and validate, then terminate everything left. */
    start_ok("modify_node", NULL, node_a, "[{\"node_description\": \"core router\"}]", id);
    complete_callback(id);
    wait_done(id);
    start_ok("validate_node", NULL, node_a, "[]", id);
    wait_done(id);
    start_ok("modify_port", NULL, port_b, "[{\"port_description\": \"uplink\"}]", id);
    wait_done(id);
    start_ok("validate_port", NULL, port_b, "[]", id);
    wait_done(id);
    start_ok("terminate_port", NULL, port_b, "[]", id);
    p = wait_status(id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_SUSPENDED);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(
        resume(id, "[{\"cable_removed\": \"yes\", \"ticket\": \"CHG-43\"}]", NULL, NULL, &st), 0);
    cli_status_cleanup(&st);
    wait_done(id);
    start_ok("terminate_node", NULL, node_a, "[]", id);
    wait_done(id);
    start_ok("terminate_node", NULL, node_b, "[]", id);
    wait_done(id);
    /* A terminated subscription offers nothing more. */
    assert_null(start("modify_node", NULL, node_b, "[{}]", &st));
    assert_int_equal(st.code, 9);
    cli_status_cleanup(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(port_form_pages),
        cmocka_unit_test(l2vpn_and_lock),
        cmocka_unit_test(core_link_life),
        cmocka_unit_test(input_step_and_terminations),
        cmocka_unit_test(secret_answers_reach_steps_only),
        cmocka_unit_test(secret_answers_reach_branches),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
