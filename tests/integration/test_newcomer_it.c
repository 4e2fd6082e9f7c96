/* What a newcomer meets after the README, over gRPC against the real server and with the
 * real orchctl binary: the example workflows describe what they create in words a person
 * recognises ("node ams-01 (Cisco)", "port ams-01 1/1/1 10G", core links, L2VPNs), and the
 * choices of their forms carry those words as labels, never blanks; a renamed node is
 * described by its new name; a terminated port no longer counts as using its node, which can
 * then be terminated; orchctl takes product and workflow names and ids, and a subscription's
 * id or its start (one match: used; several: listed, exit 2; none: exit 3); and orchctl's own
 * help example of an ordering works. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/pool.h"
#include "db/store.h"
#include "domain/catalog/catalog.h"
#include "domain/store.h"
#include "orch_kit.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "orchestrator/v1/subscriptions.pb-c.h"

#define SS "/orchestrator.v1.SubscriptionService/"

static kit_t *K;
static char out[1 << 18];

/* ---- helpers ---- */

/* Runs orchctl --server ADDR --timeout 20 ARGS... (NULL-terminated); output in out. */
static int run(const char *first, ...)
{
    const char *argv[32];
    size_t n = 0;
    va_list ap;
    argv[n++] = harness_orchctl_bin();
    argv[n++] = "--server";
    argv[n++] = kit_server(K)->addr;
    argv[n++] = "--timeout";
    argv[n++] = "20";
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        assert_true(n < 31);
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    return harness_run(argv, out, sizeof(out));
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

static void assert_description(const char *id, const char *want)
{
    Orchestrator__V1__Subscription *s = get_sub(id);
    if (strcmp(s->description, want) != 0)
        fail_msg("subscription %s is described as '%s', not '%s'", id, s->description, want);
    protobuf_c_message_free_unpacked(&s->base, NULL);
}

/* A completed create_node; its subscription id into sub. */
static void create_node(const char *product, const char *name, char *sub)
{
    char page[256];
    snprintf(page, sizeof(page),
             "{\"customer_id\": \"acme\", \"node_name\": \"%s\", \"role_id\": 1, "
             "\"type_id\": 2, \"site_id\": 3}",
             name);
    kit_create(K, "create_node", product, page);
    kit_callback(K, NULL);
    kit_wait(K, "completed");
    snprintf(sub, 37, "%s", kit_subscription_id(K));
}

static void create_port(const char *product, const char *node, const char *port, char *sub)
{
    char pages[512];
    snprintf(pages, sizeof(pages),
             "[{\"customer_id\": \"acme\", \"node_subscription_id\": \"%s\"}, "
             "{\"port_name\": \"%s\", \"port_mode\": \"tagged\"}]",
             node, port);
    kit_create(K, "create_port", product, pages);
    kit_callback(K, NULL);
    kit_wait(K, "completed");
    snprintf(sub, 37, "%s", kit_subscription_id(K));
}

/* The label a form page offers for value at field (a choice or a multi-choice), asserting
 * that no label of the field is empty. NULL when value is not offered. */
static const char *label_for(const json_t *page, const char *field, const char *value)
{
    const json_t *f = json_object_get(json_object_get(page, "properties"), field), *en, *labels;
    const char *found = NULL;
    size_t i;
    json_t *v;
    assert_non_null(f);
    if (json_object_get(f, "items"))
        f = json_object_get(f, "items");
    en = json_object_get(f, "enum");
    labels = json_object_get(f, "x-orch-enum-labels");
    assert_int_equal(json_array_size(en), json_array_size(labels));
    assert_true(json_array_size(en) > 0);
    json_array_foreach(en, i, v)
    {
        const char *label = json_string_value(json_array_get(labels, i));
        assert_non_null(label);
        if (!*label)
            fail_msg("field %s offers %s with an empty label", field, json_string_value(v));
        if (strcmp(json_string_value(v), value) == 0)
            found = label;
    }
    return found;
}

static void assert_label(const json_t *page, const char *field, const char *value, const char *want)
{
    const char *label = label_for(page, field, value);
    if (!label)
        fail_msg("field %s does not offer %s", field, value);
    if (strcmp(label, want) != 0)
        fail_msg("field %s offers %s as '%s', not '%s'", field, value, label, want);
}

/* ---- the example workflows describe what they make ---- */

static char node_ams[37], node_rtm[37], port_ams[37], port_rtm[37], l2vpn[37], link[37];

static void descriptions_and_choice_labels(void **state)
{
    const json_t *page;
    char pages[512];
    (void)state;

    create_node("node Cisco", "ams-01", node_ams);
    assert_description(node_ams, "node ams-01 (Cisco)");
    create_node("node Nokia", "rtm-01", node_rtm);
    assert_description(node_rtm, "node rtm-01 (Nokia)");

    /* The port form: its node choices are labelled with the nodes' descriptions. */
    kit_create(K, "create_port", "port 10G", "[]");
    page = kit_page(K);
    assert_non_null(page);
    assert_label(page, "node_subscription_id", node_ams, "node ams-01 (Cisco)");
    assert_label(page, "node_subscription_id", node_rtm, "node rtm-01 (Nokia)");
    create_port("port 10G", node_ams, "1/1/1", port_ams);
    assert_description(port_ams, "port ams-01 1/1/1 10G");
    create_port("port 100G", node_rtm, "1/1/2", port_rtm);
    assert_description(port_rtm, "port rtm-01 1/1/2 100G");

    /* The L2VPN form's port choices, and the L2VPN's own description. */
    kit_create(K, "create_l2vpn", "l2vpn", "[]");
    page = kit_page(K);
    assert_non_null(page);
    assert_label(page, "ports", port_ams, "port ams-01 1/1/1 10G");
    assert_label(page, "ports", port_rtm, "port rtm-01 1/1/2 100G");
    snprintf(pages, sizeof(pages),
             "{\"customer_id\": \"acme\", \"ports\": [\"%s\", \"%s\"], \"vlan\": 100, "
             "\"speed\": 1000}",
             port_ams, port_rtm);
    kit_create(K, "create_l2vpn", "l2vpn", pages);
    kit_callback(K, NULL);
    kit_wait(K, "completed");
    snprintf(l2vpn, sizeof(l2vpn), "%s", kit_subscription_id(K));
    assert_description(l2vpn, "l2vpn vlan 100: ams-01 1/1/1, rtm-01 1/1/2");

    /* The core link form: node A and node B are labelled too. */
    kit_create(K, "create_core_link", "core link 10G", "[]");
    page = kit_page(K);
    assert_label(page, "node_a_subscription_id", node_ams, "node ams-01 (Cisco)");
    assert_label(page, "node_b_subscription_id", node_rtm, "node rtm-01 (Nokia)");
    snprintf(pages, sizeof(pages),
             "[{\"customer_id\": \"acme\", \"node_a_subscription_id\": \"%s\", "
             "\"node_b_subscription_id\": \"%s\"}, {\"port_a_name\": \"2/1/1\", "
             "\"port_b_name\": \"2/1/3\"}]",
             node_ams, node_rtm);
    kit_create(K, "create_core_link", "core link 10G", pages);
    kit_callback(K, NULL);
    kit_wait(K, "completed");
    snprintf(link, sizeof(link), "%s", kit_subscription_id(K));
    assert_description(link, "core link ams-01 2/1/1 <-> rtm-01 2/1/3 10G");

    /* A renamed node is described by its new name; a port of it, once modified, too. */
    kit_use_subscription(K, node_ams);
    kit_start(K, "modify_node", "{\"node_name\": \"ams-02\"}");
    kit_callback(K, NULL);
    kit_wait(K, "completed");
    assert_description(node_ams, "node ams-02 (Cisco)");
    kit_use_subscription(K, port_ams);
    kit_start(K, "modify_port", "{\"port_description\": \"uplink\"}");
    kit_wait(K, "completed");
    assert_description(port_ams, "port ams-02 1/1/1 10G");
    kit_use_subscription(K, node_ams);
    kit_start(K, "modify_node", "{\"node_description\": \"core router\"}");
    kit_callback(K, NULL);
    kit_wait(K, "completed");
    assert_description(node_ams, "node ams-02 (Cisco)");

    /* A subscription without a description (made by hand, or before there were any) is
     * still offered with a label a person can read. */
    assert_int_equal(harness_scalar(kit_server(K)->dbname,
                                    "WITH u AS (UPDATE subscriptions SET description = '' "
                                    "WHERE subscription_id = '%s' RETURNING 1) "
                                    "SELECT count(*) FROM u",
                                    node_rtm),
                     1);
    kit_create(K, "create_port", "port 10G", "[]");
    page = kit_page(K);
    {
        char want[64];
        snprintf(want, sizeof(want), "node Nokia %.8s", node_rtm);
        assert_label(page, "node_subscription_id", node_rtm, want);
    }
}

/* ---- a terminated port leaves its node ---- */

static size_t count_id(char **ids, size_t n, const char *id)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += strcmp(ids[i], id) == 0;
    return k;
}

/* Whether ListSubscriptionWorkflows offers the terminate workflow as allowed; the reason
 * when not. */
static bool terminate_allowed(const char *id, char *reason, size_t size)
{
    Orchestrator__V1__ListSubscriptionWorkflowsRequest req =
        ORCHESTRATOR__V1__LIST_SUBSCRIPTION_WORKFLOWS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    int found = 0;
    bool allowed = false;
    req.subscription_id = (char *)id;
    cli_call_unary(kit_server(K)->ch, SS "ListSubscriptionWorkflows", &req.base,
                   &orchestrator__v1__list_subscription_workflows_response__descriptor, 5000, &resp,
                   &st);
    assert_int_equal(st.code, 0);
    {
        Orchestrator__V1__ListSubscriptionWorkflowsResponse *r = (void *)resp;
        for (size_t i = 0; i < r->n_workflows; i++) {
            if (strcmp(r->workflows[i]->workflow->name, "terminate_node") != 0)
                continue;
            found++;
            allowed = r->workflows[i]->allowed;
            snprintf(reason, size, "%s", r->workflows[i]->blocked_reason);
        }
    }
    assert_int_equal(found, 1);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    return allowed;
}

static void terminated_port_leaves_its_node(void **state)
{
    char node[37], port[37], reason[64];
    Orchestrator__V1__Subscription *s;
    (void)state;

    create_node("node FRR", "lon-01", node);
    create_port("port 10G", node, "1/1/4", port);
    s = get_sub(node);
    assert_int_equal(s->n_in_use_by_subscription_ids, 1);
    assert_string_equal(s->in_use_by_subscription_ids[0], port);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    assert_false(terminate_allowed(node, reason, sizeof(reason)));
    assert_string_equal(reason, "IN_USE_BY_OTHER_SUBSCRIPTIONS");

    kit_use_subscription(K, port);
    kit_start(K, "terminate_port", "[]");
    kit_wait(K, "suspended");
    kit_answer_page(K, "{\"cable_removed\": \"yes\", \"ticket\": \"CHG-7\"}");
    kit_wait(K, "completed");
    kit_assert_sub(K, "status", "\"terminated\"");

    /* The node: nobody uses it any more, over gRPC and in orchctl's view. */
    s = get_sub(node);
    assert_int_equal(count_id(s->in_use_by_subscription_ids, s->n_in_use_by_subscription_ids, port),
                     0);
    assert_int_equal(s->n_in_use_by_subscription_ids, 0);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    assert_int_equal(run("subscription", "get", node, "--view", "basic", NULL), 0);
    assert_null(strstr(out, port));
    /* The terminated port still records what it was on. */
    s = get_sub(port);
    assert_int_equal(s->n_depends_on_subscription_ids, 1);
    assert_string_equal(s->depends_on_subscription_ids[0], node);
    protobuf_c_message_free_unpacked(&s->base, NULL);

    /* So the node may go now. */
    assert_true(terminate_allowed(node, reason, sizeof(reason)));
    kit_use_subscription(K, node);
    kit_start(K, "terminate_node", "[]");
    kit_wait(K, "completed");
    kit_assert_sub(K, "status", "\"terminated\"");
}

/* ---- orchctl: names, ids and the start of ids ---- */

/* Two subscriptions whose ids begin alike, written through the store as a migration or an
 * import would. */
static void seed_twins(const char *id1, const char *id2)
{
    db_pool_t *pool = db_pool_new(kit_server(K)->conninfo, 1);
    orch_store_t *store = db_store_new(pool);
    orch_catalog_t *cat = orch_catalog_new();
    orch_error_t err;
    orch_ctx_t *none = NULL;
    const char *ids[2] = {id1, id2};

    orch_catalog_load_example(cat);
    orch_error_init(&err);
    assert_int_equal(orch_catalog_validate(cat, &err), 0);
    assert_int_equal(store->catalog->sync(store, NULL, none, cat, &err), 0);
    for (int i = 0; i < 2; i++) {
        orch_subscription_t *s = NULL;
        orch_tx_t *tx = NULL;
        assert_int_equal(orch_subscription_new_from_product(
                             orch_catalog_find_product(cat, "node Cumulus"), "initech", &s, &err),
                         0);
        snprintf(s->id, sizeof(s->id), "%s", ids[i]);
        assert_int_equal(orch_sub_set_description(s, i ? "twin two" : "twin one", &err), 0);
        assert_int_equal(store->uow->begin(store, NULL, &tx, &err), 0);
        if (store->subs->save(store, tx, NULL, s, &err))
            fail_msg("%s", err.message);
        assert_int_equal(store->uow->commit(tx, &err), 0);
        orch_subscription_free(s);
    }
    orch_store_free(store);
    db_pool_free(pool);
    orch_catalog_free(cat);
}

static void orchctl_names_and_id_starts(void **state)
{
    static const char twin1[] = "abcdef01-0000-4000-8000-000000000001";
    static const char twin2[] = "abcdef01-0000-4000-8000-000000000002";
    char node[37], start[16], pid[64], wid[37], upper[37];
    json_t *j;
    (void)state;

    /* A product by name: the command the README's newcomer types. */
    assert_int_equal(run("process", "start", "create_node", "--product", "node Cisco", "--input",
                         "{\"customer_id\": \"acme\", \"node_name\": \"par-01\", \"role_id\": 1, "
                         "\"type_id\": 2, \"site_id\": 3}",
                         NULL),
                     0);
    assert_int_equal(sscanf(out, "Process %36s started", pid), 1);
    kit_use_process(K, pid);
    kit_callback(K, NULL);
    kit_wait(K, "completed");
    snprintf(node, sizeof(node), "%s", kit_state_str(K, "subscription_id"));
    assert_description(node, "node par-01 (Cisco)");
    assert_int_equal(
        run("process", "start", "create_node", "--product", "node Juniper", "--input", "{}", NULL),
        3);
    assert_non_null(strstr(out, "NOT_FOUND"));

    /* A workflow by id, a product by an upper-case id. */
    assert_int_equal(run("--json", "workflow", "get", "create_node", NULL), 0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    snprintf(wid, sizeof(wid), "%s", json_string_value(json_object_get(j, "workflow_id")));
    json_decref(j);
    assert_int_equal(run("--json", "product", "get", "node Nokia", NULL), 0);
    j = json_loads(out, 0, NULL);
    snprintf(upper, sizeof(upper), "%s", json_string_value(json_object_get(j, "product_id")));
    json_decref(j);
    for (char *c = upper; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    assert_int_equal(run("process", "start", wid, "--product", upper, "--input",
                         "{\"customer_id\": \"acme\", \"node_name\": \"par-02\", \"role_id\": 1, "
                         "\"type_id\": 2, \"site_id\": 3}",
                         NULL),
                     0);
    assert_int_equal(sscanf(out, "Process %36s started", pid), 1);
    kit_use_process(K, pid);
    kit_callback(K, NULL);
    kit_wait(K, "completed");
    assert_description(kit_state_str(K, "subscription_id"), "node par-02 (Nokia)");

    /* A subscription by the start of its id, in a command and in an option. */
    snprintf(start, sizeof(start), "%.8s", node);
    assert_int_equal(run("subscription", "get", start, NULL), 0);
    assert_non_null(strstr(out, node));
    assert_non_null(strstr(out, "node par-01 (Cisco)"));
    snprintf(start, sizeof(start), "%.13s", node);
    assert_int_equal(run("--json", "subscription", "workflows", start, NULL), 0);
    assert_non_null(strstr(out, "modify_note"));
    snprintf(start, sizeof(start), "%.8s", node);
    assert_int_equal(run("process", "start", "modify_note", "--subscription", start, "--input",
                         "{\"note\": \"found by the start of its id\"}", NULL),
                     0);
    assert_int_equal(sscanf(out, "Process %36s started", pid), 1);
    kit_use_process(K, pid);
    kit_wait(K, "completed");
    kit_use_subscription(K, node);
    kit_assert_sub(K, "note", "\"found by the start of its id\"");

    /* Several ids begin alike: orchctl lists them and exits with 2; more of it decides. */
    seed_twins(twin1, twin2);
    assert_int_equal(run("subscription", "get", "abcdef01", NULL), 2);
    assert_non_null(strstr(out, twin1));
    assert_non_null(strstr(out, twin2));
    assert_non_null(strstr(out, "twin one"));
    assert_int_equal(run("subscription", "set-in-sync", "ABCDEF01-0000", NULL), 2);
    assert_int_equal(run("process", "start", "modify_note", "--subscription", "abcdef01", "--input",
                         "{\"note\": \"x\"}", NULL),
                     2);
    assert_non_null(strstr(out, twin2));
    assert_int_equal(
        run("--json", "subscription", "get", "abcdef01-0000-4000-8000-00000000000", NULL), 2);
    assert_int_equal(
        run("--json", "subscription", "get", "ABCDEF01-0000-4000-8000-0000000000", NULL), 2);
    assert_int_equal(run("--json", "subscription", "get", twin2, NULL), 0);
    assert_non_null(strstr(out, "twin two"));
    /* Too short to be sure of; no id begins so; not an id at all. */
    assert_int_equal(run("subscription", "get", "abcdef0", NULL), 2);
    assert_non_null(strstr(out, "8 characters"));
    assert_int_equal(run("subscription", "get", "abcdef02", NULL), 3);
    assert_non_null(strstr(out, "abcdef02"));
    assert_int_equal(run("subscription", "get", "not-an-id", NULL), 4);
    assert_non_null(strstr(out, "subscription_id"));
}

static void orchctl_help_example_orders(void **state)
{
    (void)state;
    assert_int_equal(
        run("subscription", "list", "--order-by", "start_time desc, description", NULL), 0);
    assert_non_null(strstr(out, "node par-01 (Cisco)"));
    assert_int_equal(run("--json", "subscription", "list", "--order-by", "product desc, tag",
                         "--filter", "update_time > \"2000-01-01T00:00:00Z\"", NULL),
                     0);
    assert_int_equal(run("subscription", "list", "--order-by", "colour", NULL), 4);
    assert_non_null(strstr(out, "order_by"));
}

/* The process list shares the ordering code (db/order_sql.c): in pages of one, an ordering
 * by workflow name then newest first gives every process once, in that order. */
static void process_list_orders_and_pages(void **state)
{
    Orchestrator__V1__ListProcessesRequest req = ORCHESTRATOR__V1__LIST_PROCESSES_REQUEST__INIT;
    char seen[64][37], last_wf[64] = "", *token = NULL;
    int64_t last_start = 0;
    size_t n = 0;
    int total = -1;
    (void)state;

    req.order_by = "workflow, start_time desc";
    req.page_size = 1;
    do {
        ProtobufCMessage *resp = NULL;
        cli_status_t st = {0};
        Orchestrator__V1__ListProcessesResponse *r;
        req.page_token = token ? token : "";
        cli_call_unary(kit_server(K)->ch, "/orchestrator.v1.ProcessService/ListProcesses",
                       &req.base, &orchestrator__v1__list_processes_response__descriptor, 5000,
                       &resp, &st);
        if (st.code != 0)
            fail_msg("ListProcesses: %s", st.message);
        r = (void *)resp;
        total = r->total_size;
        for (size_t i = 0; i < r->n_processes; i++) {
            const Orchestrator__V1__Process *p = r->processes[i];
            int64_t start = p->start_time->seconds * 1000000 + p->start_time->nanos / 1000;
            int c = strcmp(last_wf, p->workflow->name);
            assert_true(c <= 0);
            if (c == 0)
                assert_true(start <= last_start);
            snprintf(last_wf, sizeof(last_wf), "%s", p->workflow->name);
            last_start = start;
            for (size_t j = 0; j < n; j++)
                assert_string_not_equal(seen[j], p->process_id);
            assert_true(n < 64);
            snprintf(seen[n++], 37, "%s", p->process_id);
        }
        free(token);
        token = r->next_page_token[0] ? strdup(r->next_page_token) : NULL;
        protobuf_c_message_free_unpacked(resp, NULL);
        cli_status_cleanup(&st);
    } while (token);
    assert_true(n > 10);
    assert_int_equal((int)n, total);
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
        cmocka_unit_test(descriptions_and_choice_labels),
        cmocka_unit_test(terminated_port_leaves_its_node),
        cmocka_unit_test(orchctl_names_and_id_starts),
        cmocka_unit_test(orchctl_help_example_orders),
        cmocka_unit_test(process_list_orders_and_pages),
    };
    return cmocka_run_group_tests_name("what a newcomer meets", tests, setup, teardown);
}
