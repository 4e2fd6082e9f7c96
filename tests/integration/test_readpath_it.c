/* The subscription read path with two real replicas on one database: B keeps what it served
 * in memory (domain/subcache.h) and listens for changes through a proxy the test can pause
 * or cut, so the order of "A changes" and "B hears of it" is forced, never timed:
 *  - a change made on A is seen on B: a read on B with STRONG is never stale; one without
 *    it is stale only until B's NOTIFY arrives (held back by the paused proxy, then let go);
 *    a change of a subscription another one shows (a node under its port) counts too;
 *  - a NOTIFY lost while B's LISTEN connection is down leaves nothing stale behind;
 *  - a modify workflow run by B is seen by B's next read at once, with B's NOTIFY held;
 *  - ListSubscriptions on B follows the same rules for each subscription on its page.
 * The cache's hit counter (metrics) proves the reads before a change came from memory. */
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "db/migrate.h"
#include "db/pool.h"
#include "db/store.h"
#include "domain/catalog/catalog.h"
#include "domain/store.h"
#include "harness.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "orchestrator/v1/subscriptions.pb-c.h"
#include "proxy.h"

#define SS "/orchestrator.v1.SubscriptionService/"
#define PS "/orchestrator.v1.ProcessService/"

typedef struct world {
    char db[64];
    harness_server_t a, b;
    int b_metrics;
    test_proxy_t *px; /* B's LISTEN connection goes through it */
    db_pool_t *pool;  /* the test's own writer: a third replica without a cache */
    orch_store_t *store;
    orch_catalog_t *cat;
    char node[37], port[37];
} world_t;

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

static void must(orch_err_t rc, const orch_error_t *err)
{
    if (rc)
        fail_msg("%s: %s", orch_err_name(rc), err->message);
}

#define SET_STR(s, path, v) must(orch_sub_set_str((s), (path), (v), &err), &err)
#define SET_INT(s, path, v) must(orch_sub_set_int((s), (path), (v), &err), &err)
#define SET_BOOL(s, path, v) must(orch_sub_set_bool((s), (path), (v), &err), &err)

static void save(world_t *w, orch_subscription_t *s)
{
    orch_tx_t *tx = NULL;
    orch_error_t err;
    orch_error_init(&err);
    must(w->store->uow->begin(w->store, NULL, &tx, &err), &err);
    must(w->store->subs->save(w->store, tx, NULL, s, &err), &err);
    must(w->store->uow->commit(tx, &err), &err);
}

/* A node and a port on it, active and in sync, written through the store. */
static void seed(world_t *w)
{
    orch_subscription_t *s = NULL;
    orch_error_t err;
    char root[37];

    orch_error_init(&err);
    must(orch_subscription_new_from_product(orch_catalog_find_product(w->cat, "node Cisco"), "acme",
                                            &s, &err),
         &err);
    SET_INT(s, "role_id", 1);
    SET_INT(s, "type_id", 2);
    SET_INT(s, "site_id", 3);
    SET_STR(s, "node_status", "active");
    SET_STR(s, "node_name", "rtr-before");
    SET_INT(s, "ims_id", 100);
    SET_INT(s, "nrm_id", 200);
    SET_INT(s, "ipv4_ipam_id", 300);
    SET_INT(s, "ipv6_ipam_id", 400);
    must(orch_sub_set_status(s, ORCH_SUB_ACTIVE, &err), &err);
    s->in_sync = true;
    save(w, s);
    snprintf(w->node, sizeof(w->node), "%s", s->id);
    snprintf(root, sizeof(root), "%s", s->root->id);
    orch_subscription_free(s);

    must(orch_subscription_new_from_product(orch_catalog_find_product(w->cat, "port 10G"), "acme",
                                            &s, &err),
         &err);
    SET_STR(s, "port_name", "xe-0/0/1");
    SET_STR(s, "port_type", "10GBASE-LR");
    SET_STR(s, "port_mode", "tagged");
    SET_BOOL(s, "auto_negotiation", false);
    SET_BOOL(s, "lldp", true);
    SET_BOOL(s, "enabled", true);
    SET_INT(s, "ims_id", 500);
    SET_INT(s, "nrm_id", 600);
    must(orch_sub_set_reference(s, "node", w->node, root, &err), &err);
    must(orch_sub_set_status(s, ORCH_SUB_ACTIVE, &err), &err);
    s->in_sync = true;
    save(w, s);
    snprintf(w->port, sizeof(w->port), "%s", s->id);
    orch_subscription_free(s);
}

/* Renames the node through the store (the test process as a replica of its own). */
static void rename_node(world_t *w, const char *name)
{
    orch_subscription_t *s = NULL;
    orch_tx_t *tx = NULL;
    orch_error_t err;
    orch_error_init(&err);
    must(w->store->uow->begin(w->store, NULL, &tx, &err), &err);
    must(w->store->subs->load(w->store, tx, NULL, w->cat, w->node, true, &s, &err), &err);
    SET_STR(s, "node_name", name);
    must(w->store->subs->save(w->store, tx, NULL, s, &err), &err);
    must(w->store->uow->commit(tx, &err), &err);
    orch_subscription_free(s);
}

static int setup(void **state)
{
    world_t *w = calloc(1, sizeof(*w));
    char sock[256], url[512], ci[512], maddr[64];
    orch_error_t err;

    snprintf(sock, sizeof(sock), "%s/.s.PGSQL.%s", getenv("ORCH_TEST_PGHOST"),
             getenv("ORCH_TEST_PGPORT"));
    w->px = test_proxy_start(sock);
    harness_db_create(w->db);
    snprintf(url, sizeof(url), "host=127.0.0.1 port=%d user=%s dbname=%s", test_proxy_port(w->px),
             getenv("ORCH_TEST_PGUSER"), w->db);
    /* A runs no steps: a workflow's commit is B's own in the third test. */
    harness_server_start(&w->a, w->db, (const char *const[]){"--workers=0", NULL});
    w->b_metrics = harness_free_port();
    snprintf(maddr, sizeof(maddr), "127.0.0.1:%d", w->b_metrics);
    harness_server_start(
        &w->b, w->db,
        (const char *const[]){"--listen-database-url", url, "--metrics-listen", maddr, NULL});
    harness_conninfo(w->db, ci);
    w->pool = db_pool_new(ci, 2);
    w->store = db_store_new(w->pool);
    w->cat = orch_catalog_new();
    orch_catalog_load_example(w->cat);
    orch_error_init(&err);
    must(orch_catalog_validate(w->cat, &err), &err);
    must(w->store->catalog->sync(w->store, NULL, NULL, w->cat, &err), &err);
    seed(w);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world_t *w = *state;
    assert_int_equal(harness_server_stop(&w->a), 0);
    assert_int_equal(harness_server_stop(&w->b), 0);
    orch_store_free(w->store);
    db_pool_free(w->pool);
    orch_catalog_free(w->cat);
    test_proxy_stop(w->px);
    harness_db_drop(w->db);
    free(w);
    return 0;
}

static Orchestrator__V1__Subscription *get(harness_server_t *s, const char *id, bool strong)
{
    Orchestrator__V1__GetSubscriptionRequest req = ORCHESTRATOR__V1__GET_SUBSCRIPTION_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    req.subscription_id = (char *)id;
    if (strong)
        req.consistency = ORCHESTRATOR__V1__READ_CONSISTENCY__READ_CONSISTENCY_STRONG;
    cli_call_unary(s->ch, SS "GetSubscription", &req.base,
                   &orchestrator__v1__subscription__descriptor, 10000, &resp, &st);
    if (st.code != 0)
        fail_msg("GetSubscription %s: %d %s", id, st.code, st.message);
    cli_status_cleanup(&st);
    return (Orchestrator__V1__Subscription *)resp;
}

/* The description customer "c1" gave the subscription, "" when none. */
static char *c1_description(harness_server_t *s, const char *id, bool strong, char out[64])
{
    Orchestrator__V1__Subscription *sub = get(s, id, strong);
    out[0] = '\0';
    for (size_t i = 0; i < sub->n_customer_descriptions; i++)
        if (strcmp(sub->customer_descriptions[i]->customer_id, "c1") == 0)
            snprintf(out, 64, "%s", sub->customer_descriptions[i]->description);
    protobuf_c_message_free_unpacked(&sub->base, NULL);
    return out;
}

/* The node_name the port's tree shows for its node. */
static char *port_node_name(harness_server_t *s, const char *port, bool strong, char out[64])
{
    Orchestrator__V1__Subscription *sub = get(s, port, strong);
    Orchestrator__V1__SubscriptionInstance *root = sub->root_instance;
    out[0] = '\0';
    for (size_t i = 0; root && i < root->n_children; i++) {
        Orchestrator__V1__SubscriptionInstance *n = root->children[i]->instance;
        if (strcmp(root->children[i]->attribute, "node") != 0)
            continue;
        for (size_t k = 0; k < n->n_values; k++)
            if (strcmp(n->values[k]->name, "node_name") == 0 && n->values[k]->n_values == 1)
                snprintf(out, 64, "%s", n->values[k]->values[0]);
    }
    protobuf_c_message_free_unpacked(&sub->base, NULL);
    return out;
}

static void describe(harness_server_t *s, const char *id, const char *text, bool create)
{
    cli_status_t st = {0};
    ProtobufCMessage *resp = NULL;
    if (create) {
        Orchestrator__V1__CreateCustomerDescriptionRequest r =
            ORCHESTRATOR__V1__CREATE_CUSTOMER_DESCRIPTION_REQUEST__INIT;
        r.subscription_id = (char *)id;
        r.customer_id = "c1";
        r.description = (char *)text;
        cli_call_unary(s->ch, SS "CreateCustomerDescription", &r.base,
                       &orchestrator__v1__customer_description__descriptor, 10000, &resp, &st);
    } else {
        Orchestrator__V1__UpdateCustomerDescriptionRequest r =
            ORCHESTRATOR__V1__UPDATE_CUSTOMER_DESCRIPTION_REQUEST__INIT;
        r.subscription_id = (char *)id;
        r.customer_id = "c1";
        r.description = (char *)text;
        cli_call_unary(s->ch, SS "UpdateCustomerDescription", &r.base,
                       &orchestrator__v1__customer_description__descriptor, 10000, &resp, &st);
    }
    if (st.code != 0)
        fail_msg("customer description: %d %s", st.code, st.message);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
}

/* A number from B's /metrics (a series without labels). */
static long b_metric(world_t *w, const char *name)
{
    static char out[262144];
    char key[128];
    const char *p;
    assert_int_equal(harness_http_get(w->b_metrics, "/metrics", out, sizeof(out)), 200);
    snprintf(key, sizeof(key), "\n%s ", name);
    p = strstr(out, key);
    return p ? atol(p + strlen(key)) : -1;
}

/* B's count of reads answered from memory. */
static long b_hits(world_t *w)
{
    return b_metric(w, "orch_subscription_cache_hits");
}

/* Waits until B answers id from memory (its LISTEN connection is up: the cache is live),
 * and checks that the next read is a hit. */
static void wait_cached(world_t *w, const char *id)
{
    int64_t start = now_ms();
    for (;;) {
        long before = b_hits(w);
        protobuf_c_message_free_unpacked(&get(&w->b, id, false)->base, NULL);
        if (b_hits(w) > before)
            return;
        if (now_ms() - start > 20000)
            fail_msg("B never answered %s from memory", id);
        msleep(50);
    }
}

static void a_change_seen_on_b(void **state)
{
    world_t *w = *state;
    char got[64];
    int64_t start;

    describe(&w->a, w->node, "first", true);
    wait_cached(w, w->node);
    assert_string_equal(c1_description(&w->b, w->node, false, got), "first");

    /* B hears nothing from now on; A changes the node. */
    test_proxy_set_paused(w->px, true);
    describe(&w->a, w->node, "second", false);
    assert_string_equal(c1_description(&w->a, w->node, false, got), "second");
    /* STRONG on B: never stale. */
    assert_string_equal(c1_description(&w->b, w->node, true, got), "second");
    describe(&w->a, w->node, "third", false);
    /* Without STRONG, B answers from memory: stale, since its NOTIFY is held back. */
    {
        long before = b_hits(w);
        assert_string_equal(c1_description(&w->b, w->node, false, got), "second");
        assert_true(b_hits(w) > before);
    }
    assert_string_equal(c1_description(&w->b, w->node, true, got), "third");
    describe(&w->a, w->node, "fourth", false);
    assert_string_equal(c1_description(&w->b, w->node, false, got), "third");

    /* A change to the node shows in its port's tree: STRONG sees it at once, the cached
     * port stays as it was until the NOTIFY. */
    wait_cached(w, w->port);
    assert_string_equal(port_node_name(&w->b, w->port, false, got), "rtr-before");
    rename_node(w, "rtr-after");
    assert_string_equal(port_node_name(&w->b, w->port, false, got), "rtr-before");
    assert_string_equal(port_node_name(&w->b, w->port, true, got), "rtr-after");
    rename_node(w, "rtr-later");
    assert_string_equal(port_node_name(&w->b, w->port, false, got), "rtr-after");

    /* Let the NOTIFYs through: B drops what changed and answers the latest from then on. */
    test_proxy_set_paused(w->px, false);
    start = now_ms();
    while (strcmp(c1_description(&w->b, w->node, false, got), "fourth") != 0 ||
           strcmp(port_node_name(&w->b, w->port, false, got), "rtr-later") != 0) {
        if (now_ms() - start > 20000)
            fail_msg("B still answers the old subscriptions after the NOTIFYs were let through");
        msleep(20);
    }
    for (int i = 0; i < 20; i++) {
        assert_string_equal(c1_description(&w->b, w->node, false, got), "fourth");
        assert_string_equal(port_node_name(&w->b, w->port, false, got), "rtr-later");
    }
}

/* The description customer "c1" gave id, as the first page of ListSubscriptions on s
 * (BASIC, filtered to id) shows it; "" when none. */
static char *listed_c1_description(harness_server_t *s, const char *id, bool strong, char out[64])
{
    Orchestrator__V1__ListSubscriptionsRequest req =
        ORCHESTRATOR__V1__LIST_SUBSCRIPTIONS_REQUEST__INIT;
    Orchestrator__V1__ListSubscriptionsResponse *r = NULL;
    cli_status_t st = {0};
    char filter[128];
    snprintf(filter, sizeof(filter), "subscription_id = \"%s\"", id);
    req.filter = filter;
    if (strong)
        req.consistency = ORCHESTRATOR__V1__READ_CONSISTENCY__READ_CONSISTENCY_STRONG;
    cli_call_unary(s->ch, SS "ListSubscriptions", &req.base,
                   &orchestrator__v1__list_subscriptions_response__descriptor, 10000,
                   (ProtobufCMessage **)&r, &st);
    if (st.code != 0)
        fail_msg("ListSubscriptions %s: %d %s", id, st.code, st.message);
    cli_status_cleanup(&st);
    assert_int_equal(r->n_subscriptions, 1);
    assert_null(r->subscriptions[0]->root_instance);
    out[0] = '\0';
    for (size_t i = 0; i < r->subscriptions[0]->n_customer_descriptions; i++)
        if (strcmp(r->subscriptions[0]->customer_descriptions[i]->customer_id, "c1") == 0)
            snprintf(out, 64, "%s", r->subscriptions[0]->customer_descriptions[i]->description);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return out;
}

/* ListSubscriptions on B follows GetSubscription's rules for each subscription it shows:
 * from memory one NOTIFY behind, never stale with STRONG. */
static void list_on_b_strong_never_stale(void **state)
{
    world_t *w = *state;
    char got[64];
    int64_t start;

    describe(&w->a, w->node, "first", true);
    /* Until B's list of the node comes from memory (its cache is live and keeps it). */
    start = now_ms();
    for (;;) {
        long before = b_hits(w);
        assert_string_equal(listed_c1_description(&w->b, w->node, false, got), "first");
        if (b_hits(w) > before)
            break;
        if (now_ms() - start > 20000)
            fail_msg("B never listed %s from memory", w->node);
        msleep(50);
    }

    test_proxy_set_paused(w->px, true);
    describe(&w->a, w->node, "second", false);
    {
        long before = b_hits(w);
        assert_string_equal(listed_c1_description(&w->b, w->node, false, got), "first");
        assert_true(b_hits(w) > before); /* stale, from memory: B has not heard yet */
    }
    assert_string_equal(listed_c1_description(&w->b, w->node, true, got), "second");
    /* STRONG kept what it read: the next CACHED list shows it too. */
    assert_string_equal(listed_c1_description(&w->b, w->node, false, got), "second");
    describe(&w->a, w->node, "third", false);
    assert_string_equal(listed_c1_description(&w->b, w->node, true, got), "third");

    test_proxy_set_paused(w->px, false);
    describe(&w->a, w->node, "fourth", false);
    start = now_ms();
    while (strcmp(listed_c1_description(&w->b, w->node, false, got), "fourth") != 0) {
        if (now_ms() - start > 20000)
            fail_msg("B still lists the old node after the NOTIFYs were let through");
        msleep(20);
    }
}

static void notify_lost_while_reconnecting(void **state)
{
    world_t *w = *state;
    char got[64];
    int64_t start;

    long connects;

    describe(&w->a, w->node, "before", true);
    wait_cached(w, w->node);
    assert_string_equal(c1_description(&w->b, w->node, false, got), "before");
    connects = b_metric(w, "orch_subscription_cache_live");
    assert_true(connects >= 1);

    /* B's LISTEN connection is cut and cannot come back: the NOTIFY of A's change is lost
     * for B. (Until B notices the cut, a read on B may still be stale: it is one NOTIFY
     * behind, the bound of the documented consistency.) */
    test_proxy_set_up(w->px, false);
    describe(&w->a, w->node, "while away", false); /* committed, NOTIFY sent: lost for B */
    test_proxy_set_up(w->px, true);
    /* B notices, reconnects (back-off at most 2 s) and goes live again. */
    start = now_ms();
    while (b_metric(w, "orch_subscription_cache_live") <= connects) {
        if (now_ms() - start > 20000)
            fail_msg("B did not reconnect its LISTEN connection");
        msleep(20);
    }
    /* From then on B never answers the entry from before the lost NOTIFY, and it answers
     * from memory again. */
    {
        long before = b_hits(w);
        for (int i = 0; i < 5; i++)
            assert_string_equal(c1_description(&w->b, w->node, false, got), "while away");
        assert_true(b_hits(w) > before);
    }
}

static void modify_workflow_seen_on_same_replica(void **state)
{
    world_t *w = *state;
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    Google__Protobuf__Struct page = GOOGLE__PROTOBUF__STRUCT__INIT, *pages[1] = {&page};
    Google__Protobuf__Struct__FieldsEntry e = GOOGLE__PROTOBUF__STRUCT__FIELDS_ENTRY__INIT,
                                          *es[1] = {&e};
    Google__Protobuf__Value v = GOOGLE__PROTOBUF__VALUE__INIT;
    Orchestrator__V1__StartProcessResponse *r = NULL;
    Orchestrator__V1__Subscription *sub;
    cli_status_t st = {0};
    char pid[64];
    int64_t start;

    wait_cached(w, w->node);
    sub = get(&w->b, w->node, false);
    assert_string_equal(sub->note, "");
    protobuf_c_message_free_unpacked(&sub->base, NULL);
    /* B hears no NOTIFY: only its own store can tell its cache. */
    test_proxy_set_paused(w->px, true);
    v.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
    v.string_value = "changed by a workflow";
    e.key = "note";
    e.value = &v;
    page.n_fields = 1;
    page.fields = es;
    req.workflow_name = "modify_note";
    req.subscription_id = w->node;
    req.n_user_inputs = 1;
    req.user_inputs = pages;
    cli_call_unary(w->b.ch, PS "StartProcess", &req.base,
                   &orchestrator__v1__start_process_response__descriptor, 10000,
                   (ProtobufCMessage **)&r, &st);
    if (st.code != 0 || !r->process)
        fail_msg("StartProcess modify_note: %d %s", st.code, st.message);
    snprintf(pid, sizeof(pid), "%s", r->process->process_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);
    start = now_ms();
    while (harness_scalar(w->db,
                          "SELECT count(*) FROM processes WHERE process_id = '%s' "
                          "AND last_status = 'completed'",
                          pid) != 1) {
        if (now_ms() - start > 30000)
            fail_msg("modify_note did not complete");
        msleep(50);
    }
    /* Committed (only B runs steps): B's next read sees the note. */
    sub = get(&w->b, w->node, false);
    assert_string_equal(sub->note, "changed by a workflow");
    assert_true(sub->in_sync);
    protobuf_c_message_free_unpacked(&sub->base, NULL);
    test_proxy_set_paused(w->px, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_change_seen_on_b, setup, teardown),
        cmocka_unit_test_setup_teardown(list_on_b_strong_never_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(notify_lost_while_reconnecting, setup, teardown),
        cmocka_unit_test_setup_teardown(modify_workflow_seen_on_same_replica, setup, teardown),
    };
    return cmocka_run_group_tests_name("subscription read path", tests, NULL, NULL);
}
