/* ListSubscriptions from the replica's read cache (domain/subcache.h): two real servers on
 * one database, one with the cache (the default) and one without (--subscription-cache-mb=0),
 * and an inventory written through the store (nodes, ports on them, a core link and L2VPNs
 * over the ports, customer descriptions):
 *  - a BASIC page carries no block tree, no domain_model and no metadata, and carries the
 *    relations (in tree order, as GetSubscription's full tree gives them) and the customer
 *    descriptions;
 *  - a page served partly from memory and partly loaded is, byte for byte, the page the
 *    server without a cache loads whole, in both views, CACHED and STRONG, page after page;
 *  - a change made through the replica is in its next list at once;
 *  - the store's ops under it: any number of subscriptions in one statement, FULL or BASIC,
 *    with their stamps; no count when the first page holds every match.
 * The cache's hit counter (metrics) proves which pages came partly from memory. */
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
#include "orchestrator/v1/subscriptions.pb-c.h"

#define SVC "/orchestrator.v1.SubscriptionService/"
#define NSUBS 10

typedef struct world {
    harness_server_t cached, nocache;
    int metrics; /* the cached server's /metrics port */
    db_pool_t *pool;
    orch_store_t *store;
    orch_catalog_t *cat;
    char node[3][37], port[4][37], link[37], l2vpn[2][37];
} world_t;

static void msleep(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

static void must(orch_err_t rc, const orch_error_t *err)
{
    if (rc)
        fail_msg("%s: %s", orch_err_name(rc), err->message);
}

static orch_subscription_t *new_sub(world_t *w, const char *product, const char *customer)
{
    orch_subscription_t *s = NULL;
    orch_error_t err;
    orch_error_init(&err);
    must(orch_subscription_new_from_product(orch_catalog_find_product(w->cat, product), customer,
                                            &s, &err),
         &err);
    return s;
}

static void activate_and_save(world_t *w, orch_subscription_t *s, char *id_out)
{
    orch_tx_t *tx = NULL;
    orch_error_t err;
    orch_error_init(&err);
    must(orch_sub_set_status(s, ORCH_SUB_ACTIVE, &err), &err);
    s->in_sync = true;
    must(w->store->uow->begin(w->store, NULL, &tx, &err), &err);
    must(w->store->subs->save(w->store, tx, NULL, s, &err), &err);
    must(w->store->uow->commit(tx, &err), &err);
    snprintf(id_out, 37, "%s", s->id);
    orch_subscription_free(s);
}

#define SET_STR(s, path, v) must(orch_sub_set_str((s), (path), (v), &err), &err)
#define SET_INT(s, path, v) must(orch_sub_set_int((s), (path), (v), &err), &err)
#define SET_BOOL(s, path, v) must(orch_sub_set_bool((s), (path), (v), &err), &err)

static void root_of(world_t *w, const char *sub_id, char out[37])
{
    orch_subscription_t *s = NULL;
    orch_error_t err;
    orch_error_init(&err);
    must(w->store->subs->load(w->store, NULL, NULL, w->cat, sub_id, false, &s, &err), &err);
    snprintf(out, 37, "%s", s->root->id);
    orch_subscription_free(s);
}

/* Three nodes; four ports (port i on node i % 3); a core link whose ports are on nodes 0
 * and 1; two L2VPNs, L2VPN v over ports v and v + 1. */
static void seed(world_t *w)
{
    orch_error_t err;
    char root[37];

    orch_error_init(&err);
    for (int i = 0; i < 3; i++) {
        orch_subscription_t *s = new_sub(w, i < 2 ? "node Cisco" : "node Nokia", "acme");
        char name[64];
        snprintf(name, sizeof(name), "rtr-%d", i);
        SET_INT(s, "role_id", 1);
        SET_INT(s, "type_id", 2);
        SET_INT(s, "site_id", 3 + i);
        SET_STR(s, "node_status", "active");
        SET_STR(s, "node_name", name);
        SET_INT(s, "ims_id", 100 + i);
        SET_INT(s, "nrm_id", 200 + i);
        SET_INT(s, "ipv4_ipam_id", 300 + i);
        SET_INT(s, "ipv6_ipam_id", 400 + i);
        must(orch_sub_set_description(s, "a node", &err), &err);
        activate_and_save(w, s, w->node[i]);
    }
    for (int i = 0; i < 4; i++) {
        orch_subscription_t *s = new_sub(w, i < 3 ? "port 10G" : "port 100G", "acme");
        char name[32];
        root_of(w, w->node[i % 3], root);
        snprintf(name, sizeof(name), "xe-0/0/%d", i);
        SET_STR(s, "port_name", name);
        SET_STR(s, "port_type", "10GBASE-LR");
        SET_STR(s, "port_mode", "tagged");
        SET_BOOL(s, "auto_negotiation", false);
        SET_BOOL(s, "lldp", true);
        SET_BOOL(s, "enabled", true);
        SET_INT(s, "ims_id", 500 + i);
        SET_INT(s, "nrm_id", 600 + i);
        must(orch_sub_set_reference(s, "node", w->node[i % 3], root, &err), &err);
        must(orch_sub_set_description(s, "a port", &err), &err);
        activate_and_save(w, s, w->port[i]);
    }
    {
        orch_subscription_t *s = new_sub(w, "core link 10G", "globex");
        SET_INT(s, "ims_id", 700);
        SET_INT(s, "ipv6_prefix_ipam_id", 701);
        SET_INT(s, "nrm_id", 702);
        SET_BOOL(s, "under_maintenance", false);
        for (int i = 0; i < 2; i++) {
            char path[64];
            /* ports[0] on node 1, ports[1] on node 0: tree order is not id order */
            root_of(w, w->node[1 - i], root);
            snprintf(path, sizeof(path), "ports[%d].port_name", i);
            SET_STR(s, path, "et-0/0/0");
            snprintf(path, sizeof(path), "ports[%d].enabled", i);
            SET_BOOL(s, path, true);
            snprintf(path, sizeof(path), "ports[%d].ims_id", i);
            SET_INT(s, path, 710 + i);
            snprintf(path, sizeof(path), "ports[%d].ipv6_ipam_id", i);
            SET_INT(s, path, 720 + i);
            snprintf(path, sizeof(path), "ports[%d].node", i);
            must(orch_sub_set_reference(s, path, w->node[1 - i], root, &err), &err);
        }
        activate_and_save(w, s, w->link);
    }
    for (int v = 0; v < 2; v++) {
        orch_subscription_t *s = new_sub(w, "l2vpn", "acme");
        SET_INT(s, "speed", 1000);
        SET_BOOL(s, "speed_policer", true);
        SET_INT(s, "ims_id", 800 + v);
        SET_INT(s, "nrm_id", 900 + v);
        for (int i = 0; i < 2; i++) {
            char path[64];
            root_of(w, w->port[v + 1 - i], root);
            snprintf(path, sizeof(path), "saps[%d].vlan", i);
            SET_INT(s, path, 100 + i);
            snprintf(path, sizeof(path), "saps[%d].port", i);
            must(orch_sub_set_reference(s, path, w->port[v + 1 - i], root, &err), &err);
        }
        must(orch_sub_set_description(s, v == 0 ? "vpn one" : "vpn two", &err), &err);
        activate_and_save(w, s, w->l2vpn[v]);
    }
}

/* A number from the cached server's /metrics (a series without labels). */
static long metric(world_t *w, const char *name)
{
    static char out[262144];
    char key[128];
    const char *p;
    assert_int_equal(harness_http_get(w->metrics, "/metrics", out, sizeof(out)), 200);
    snprintf(key, sizeof(key), "\n%s ", name);
    p = strstr(out, key);
    return p ? atol(p + strlen(key)) : -1;
}

static long hits(world_t *w)
{
    return metric(w, "orch_subscription_cache_hits");
}

static void call(harness_server_t *s, const char *method, const ProtobufCMessage *req,
                 const ProtobufCMessageDescriptor *out, ProtobufCMessage **resp)
{
    cli_status_t st = {0};
    *resp = NULL;
    cli_call_unary(s->ch, method, req, out, 10000, resp, &st);
    if (st.code != 0)
        fail_msg("%s: %d %s", method, st.code, st.message);
    cli_status_cleanup(&st);
}

static void describe(harness_server_t *s, const char *id, const char *customer, const char *text)
{
    Orchestrator__V1__CreateCustomerDescriptionRequest r =
        ORCHESTRATOR__V1__CREATE_CUSTOMER_DESCRIPTION_REQUEST__INIT;
    ProtobufCMessage *resp;
    r.subscription_id = (char *)id;
    r.customer_id = (char *)customer;
    r.description = (char *)text;
    call(s, SVC "CreateCustomerDescription", &r.base,
         &orchestrator__v1__customer_description__descriptor, &resp);
    protobuf_c_message_free_unpacked(resp, NULL);
}

static Orchestrator__V1__Subscription *get(harness_server_t *s, const char *id,
                                           Orchestrator__V1__SubscriptionView view);

/* Returns once the cached server has heard every NOTIFY of the changes made so far: it
 * keeps node 1, another server changes node 1, and the cached server's answer shows the
 * change only once that change's NOTIFY, which comes after every earlier one on its LISTEN
 * connection, has dropped the entry. Then no late NOTIFY can drop what a test puts in. */
static void fence(world_t *w)
{
    const Orchestrator__V1__SubscriptionView full =
        ORCHESTRATOR__V1__SUBSCRIPTION_VIEW__SUBSCRIPTION_VIEW_FULL;
    Orchestrator__V1__Subscription *s;
    int waited = 0;
    for (;;) {
        long before = hits(w);
        protobuf_c_message_free_unpacked(&get(&w->cached, w->node[1], full)->base, NULL);
        if (hits(w) > before)
            break;
        if (++waited > 400)
            fail_msg("node 1 never came from memory");
        msleep(50);
    }
    describe(&w->nocache, w->node[1], "fence", "fence");
    for (waited = 0;; waited++) {
        size_t n;
        s = get(&w->cached, w->node[1], full);
        n = s->n_customer_descriptions;
        protobuf_c_message_free_unpacked(&s->base, NULL);
        if (n == 1)
            break;
        if (waited > 400)
            fail_msg("the cached server never heard the change of node 1");
        msleep(50);
    }
}

static int setup(void **state)
{
    world_t *w = calloc(1, sizeof(*w));
    char maddr[64];
    orch_error_t err;
    int waited = 0;

    w->metrics = harness_free_port();
    snprintf(maddr, sizeof(maddr), "127.0.0.1:%d", w->metrics);
    harness_server_start(&w->cached, NULL, (const char *const[]){"--metrics-listen", maddr, NULL});
    harness_server_start(&w->nocache, w->cached.dbname,
                         (const char *const[]){"--subscription-cache-mb=0", NULL});
    w->pool = db_pool_new(w->cached.conninfo, 2);
    w->store = db_store_new(w->pool);
    w->cat = orch_catalog_new();
    orch_catalog_load_example(w->cat);
    orch_error_init(&err);
    must(orch_catalog_validate(w->cat, &err), &err);
    must(w->store->catalog->sync(w->store, NULL, NULL, w->cat, &err), &err);
    seed(w);
    describe(&w->nocache, w->l2vpn[0], "c2", "the second customer's vpn");
    describe(&w->nocache, w->l2vpn[0], "c1", "the first customer's vpn");
    describe(&w->nocache, w->port[1], "c1", "a port of mine");
    /* The cache serves once its LISTEN connection is up. */
    while (metric(w, "orch_subscription_cache_live") < 1) {
        if (++waited > 400)
            fail_msg("the cache never went live");
        msleep(50);
    }
    fence(w);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world_t *w = *state;
    assert_int_equal(harness_server_stop(&w->cached), 0);
    assert_int_equal(harness_server_stop(&w->nocache), 0);
    orch_store_free(w->store);
    db_pool_free(w->pool);
    orch_catalog_free(w->cat);
    harness_db_drop(w->cached.dbname);
    free(w);
    return 0;
}

static Orchestrator__V1__ListSubscriptionsResponse *list(harness_server_t *s,
                                                         Orchestrator__V1__SubscriptionView view,
                                                         bool strong, int size, const char *token)
{
    Orchestrator__V1__ListSubscriptionsRequest req =
        ORCHESTRATOR__V1__LIST_SUBSCRIPTIONS_REQUEST__INIT;
    ProtobufCMessage *resp;
    req.view = view;
    req.page_size = size;
    req.page_token = (char *)(token ? token : "");
    if (strong)
        req.consistency = ORCHESTRATOR__V1__READ_CONSISTENCY__READ_CONSISTENCY_STRONG;
    call(s, SVC "ListSubscriptions", &req.base,
         &orchestrator__v1__list_subscriptions_response__descriptor, &resp);
    return (Orchestrator__V1__ListSubscriptionsResponse *)resp;
}

static Orchestrator__V1__Subscription *get(harness_server_t *s, const char *id,
                                           Orchestrator__V1__SubscriptionView view)
{
    Orchestrator__V1__GetSubscriptionRequest req = ORCHESTRATOR__V1__GET_SUBSCRIPTION_REQUEST__INIT;
    ProtobufCMessage *resp;
    req.subscription_id = (char *)id;
    req.view = view;
    call(s, SVC "GetSubscription", &req.base, &orchestrator__v1__subscription__descriptor, &resp);
    return (Orchestrator__V1__Subscription *)resp;
}

/* The encoding of m: equal encodings, equal messages, field by field (protobuf-c packs
 * fields in number order, repeated ones in order). Caller frees. */
static uint8_t *packed(const ProtobufCMessage *m, size_t *len)
{
    uint8_t *buf;
    *len = protobuf_c_message_get_packed_size(m);
    buf = malloc(*len ? *len : 1);
    protobuf_c_message_pack(m, buf);
    return buf;
}

static void assert_same_message(const ProtobufCMessage *a, const ProtobufCMessage *b,
                                const char *what)
{
    size_t la, lb;
    uint8_t *pa = packed(a, &la), *pb = packed(b, &lb);
    if (la != lb || memcmp(pa, pb, la) != 0)
        fail_msg("%s: the answers differ (%zu and %zu bytes)", what, la, lb);
    free(pa);
    free(pb);
}

/* Every page of the listing on s and on the server without a cache, compared subscription
 * by subscription, then whole (token, total). */
static void assert_same_listing(world_t *w, Orchestrator__V1__SubscriptionView view, bool strong,
                                int size)
{
    char *token = strdup("");
    size_t seen = 0;
    do {
        Orchestrator__V1__ListSubscriptionsResponse *a =
            list(&w->cached, view, strong, size, token);
        Orchestrator__V1__ListSubscriptionsResponse *b =
            list(&w->nocache, view, strong, size, token);
        assert_int_equal(a->n_subscriptions, b->n_subscriptions);
        for (size_t i = 0; i < a->n_subscriptions; i++) {
            assert_string_equal(a->subscriptions[i]->subscription_id,
                                b->subscriptions[i]->subscription_id);
            assert_same_message(&a->subscriptions[i]->base, &b->subscriptions[i]->base,
                                a->subscriptions[i]->subscription_id);
        }
        assert_int_equal(a->total_size, NSUBS);
        assert_false(a->total_size_is_estimate);
        assert_same_message(&a->base, &b->base, "the page");
        seen += a->n_subscriptions;
        free(token);
        token = strdup(a->next_page_token);
        protobuf_c_message_free_unpacked(&a->base, NULL);
        protobuf_c_message_free_unpacked(&b->base, NULL);
    } while (*token);
    free(token);
    assert_int_equal(seen, NSUBS);
}

static const Orchestrator__V1__Subscription *
find(const Orchestrator__V1__ListSubscriptionsResponse *r, const char *id)
{
    for (size_t i = 0; i < r->n_subscriptions; i++)
        if (strcmp(r->subscriptions[i]->subscription_id, id) == 0)
            return r->subscriptions[i];
    fail_msg("%s is not on the page", id);
    return NULL;
}

static void assert_ids(char **got, size_t n, const char *const *want, size_t nwant)
{
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got[i], want[i]);
}

/* BASIC: no tree, no domain_model, no metadata; relations in the order the full tree gives
 * them, customer descriptions by customer. The same from either server, loaded or cached. */
static void basic_page_has_relations_and_no_tree(void **state)
{
    world_t *w = *state;
    harness_server_t *servers[2] = {&w->nocache, &w->cached};

    for (int round = 0; round < 3; round++) {
        Orchestrator__V1__ListSubscriptionsResponse *r = list(
            servers[round ? 1 : 0],
            ORCHESTRATOR__V1__SUBSCRIPTION_VIEW__SUBSCRIPTION_VIEW_UNSPECIFIED, false, 50, NULL);
        const Orchestrator__V1__Subscription *s;
        assert_int_equal(r->n_subscriptions, NSUBS);
        for (size_t i = 0; i < r->n_subscriptions; i++) {
            s = r->subscriptions[i];
            assert_null(s->root_instance);
            assert_null(s->domain_model);
            assert_null(s->metadata);
            assert_non_null(s->product);
            assert_int_equal(s->status,
                             ORCHESTRATOR__V1__SUBSCRIPTION_STATUS__SUBSCRIPTION_STATUS_ACTIVE);
            /* The relations of the full tree, in its order. */
            {
                Orchestrator__V1__Subscription *f =
                    get(&w->nocache, s->subscription_id,
                        ORCHESTRATOR__V1__SUBSCRIPTION_VIEW__SUBSCRIPTION_VIEW_FULL);
                assert_ids(s->depends_on_subscription_ids, s->n_depends_on_subscription_ids,
                           (const char *const *)f->depends_on_subscription_ids,
                           f->n_depends_on_subscription_ids);
                assert_ids(s->in_use_by_subscription_ids, s->n_in_use_by_subscription_ids,
                           (const char *const *)f->in_use_by_subscription_ids,
                           f->n_in_use_by_subscription_ids);
                assert_int_equal(s->n_customer_descriptions, f->n_customer_descriptions);
                protobuf_c_message_free_unpacked(&f->base, NULL);
            }
        }
        s = find(r, w->link);
        assert_ids(s->depends_on_subscription_ids, s->n_depends_on_subscription_ids,
                   (const char *const[]){w->node[1], w->node[0]}, 2);
        s = find(r, w->l2vpn[0]);
        assert_ids(s->depends_on_subscription_ids, s->n_depends_on_subscription_ids,
                   (const char *const[]){w->port[1], w->port[0]}, 2);
        assert_int_equal(s->n_customer_descriptions, 2);
        assert_string_equal(s->customer_descriptions[0]->customer_id, "c1");
        assert_string_equal(s->customer_descriptions[0]->description, "the first customer's vpn");
        assert_string_equal(s->customer_descriptions[1]->customer_id, "c2");
        s = find(r, w->port[1]);
        assert_int_equal(s->n_in_use_by_subscription_ids, 2); /* both L2VPNs */
        assert_int_equal(s->n_customer_descriptions, 1);
        assert_string_equal(s->customer_descriptions[0]->description, "a port of mine");
        s = find(r, w->node[0]);
        assert_int_equal(s->n_in_use_by_subscription_ids, 3); /* ports 0 and 3, the link */
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
}

/* Some subscriptions in memory (by GetSubscription, in one view or the other), the rest not:
 * the pages equal the server without a cache's, in both views, CACHED and STRONG. */
static void partly_cached_equals_all_loaded(void **state)
{
    world_t *w = *state;
    const Orchestrator__V1__SubscriptionView basic =
        ORCHESTRATOR__V1__SUBSCRIPTION_VIEW__SUBSCRIPTION_VIEW_BASIC;
    const Orchestrator__V1__SubscriptionView full =
        ORCHESTRATOR__V1__SUBSCRIPTION_VIEW__SUBSCRIPTION_VIEW_FULL;
    long before;

    protobuf_c_message_free_unpacked(&get(&w->cached, w->l2vpn[0], basic)->base, NULL);
    protobuf_c_message_free_unpacked(&get(&w->cached, w->node[0], basic)->base, NULL);
    protobuf_c_message_free_unpacked(&get(&w->cached, w->port[1], full)->base, NULL);
    protobuf_c_message_free_unpacked(&get(&w->cached, w->link, full)->base, NULL);

    before = hits(w);
    assert_same_listing(w, basic, false, 3);
    assert_int_equal(hits(w) - before, 2); /* the two kept in BASIC; the rest loaded */
    before = hits(w);
    assert_same_listing(w, full, false, 4);
    assert_int_equal(hits(w) - before, 3); /* the two kept in FULL, and node 1 (the fence) */

    /* Now every one is in memory in both views: whole pages from memory, still equal. */
    before = hits(w);
    assert_same_listing(w, basic, false, 50);
    assert_same_listing(w, full, true, 50);
    assert_int_equal(hits(w) - before, 2 * NSUBS);
    assert_same_listing(w, basic, true, 7);
}

/* A change made through the cached server is in its next list, though the subscription's
 * page was in memory. */
static void list_sees_change_on_same_replica(void **state)
{
    world_t *w = *state;
    const Orchestrator__V1__SubscriptionView basic =
        ORCHESTRATOR__V1__SUBSCRIPTION_VIEW__SUBSCRIPTION_VIEW_BASIC;
    Orchestrator__V1__ListSubscriptionsResponse *r;
    long before;

    protobuf_c_message_free_unpacked(&list(&w->cached, basic, false, 50, NULL)->base, NULL);
    before = hits(w);
    r = list(&w->cached, basic, false, 50, NULL);
    assert_int_equal(hits(w) - before, NSUBS); /* all in memory */
    assert_int_equal(find(r, w->node[2])->n_customer_descriptions, 0);
    protobuf_c_message_free_unpacked(&r->base, NULL);

    describe(&w->cached, w->node[2], "c9", "my node");
    r = list(&w->cached, basic, false, 50, NULL);
    assert_int_equal(find(r, w->node[2])->n_customer_descriptions, 1);
    assert_string_equal(find(r, w->node[2])->customer_descriptions[0]->description, "my node");
    protobuf_c_message_free_unpacked(&r->base, NULL);
    assert_same_listing(w, basic, false, 50);
}

/* The store's ops under the lists: get_many reads any number of subscriptions, FULL or
 * BASIC, in ONE statement, with the stamps st->subs->stamp gives; list_ids needs no count
 * when the first page holds every match, and STRONG's stamps cost one more statement. */
static void store_ops_statements(void **state)
{
    world_t *w = *state;
    orch_store_t *st = w->store;
    const char *ids[NSUBS + 1];
    orch_subscription_t *full[NSUBS + 1], *basic[NSUBS + 1];
    char stamps[NSUBS + 1][33], bstamps[NSUBS + 1][33], one[33];
    orch_sub_query_t q = {0};
    orch_sub_id_page_t page;
    orch_error_t err;
    unsigned long before;
    size_t n = 0;

    orch_error_init(&err);
    for (int i = 0; i < 3; i++)
        ids[n++] = w->node[i];
    for (int i = 0; i < 4; i++)
        ids[n++] = w->port[i];
    ids[n++] = w->link;
    ids[n++] = w->l2vpn[0];
    ids[n++] = "00000000-0000-4000-8000-000000000000"; /* none has it */
    before = db_statements_sent();
    must(st->subs->get_many(st, NULL, NULL, w->cat, ids, n, true, full, stamps, &err), &err);
    assert_int_equal(db_statements_sent() - before, 1);
    before = db_statements_sent();
    must(st->subs->get_many(st, NULL, NULL, w->cat, ids, n, false, basic, bstamps, &err), &err);
    assert_int_equal(db_statements_sent() - before, 1);
    assert_null(full[n - 1]);
    assert_null(basic[n - 1]);
    assert_string_equal(stamps[n - 1], "");
    for (size_t i = 0; i + 1 < n; i++) {
        orch_subscription_t *alone = NULL;
        orch_sub_link_t *a, *b;
        size_t na, nb;
        json_t *ja, *jb;
        must(st->subs->stamp(st, NULL, NULL, ids[i], one, &err), &err);
        assert_string_equal(stamps[i], one);
        assert_string_equal(bstamps[i], one);
        /* FULL: the tree a load of it alone gives. */
        must(st->subs->load(st, NULL, NULL, w->cat, ids[i], false, &alone, &err), &err);
        ja = orch_sub_to_json(alone);
        jb = orch_sub_to_json(full[i]);
        assert_true(json_equal(ja, jb));
        json_decref(ja);
        json_decref(jb);
        /* BASIC: the same relations, no field values, no metadata. */
        a = orch_sub_depends_on(alone, &na);
        b = orch_sub_depends_on(basic[i], &nb);
        assert_int_equal(na, nb);
        for (size_t k = 0; k < na; k++)
            assert_string_equal(a[k].subscription_id, b[k].subscription_id);
        free(a);
        free(b);
        assert_int_equal(basic[i]->nin_use_by, alone->nin_use_by);
        assert_int_equal(basic[i]->ncustomer_descriptions, alone->ncustomer_descriptions);
        assert_int_equal(basic[i]->version, alone->version);
        for (size_t f = 0; f < basic[i]->root->block->nfields; f++)
            assert_int_equal(basic[i]->root->values[f].n, 0);
        orch_subscription_free(alone);
        orch_subscription_free(full[i]);
        orch_subscription_free(basic[i]);
    }

    q.page_size = 50; /* every match on the first page: no count */
    before = db_statements_sent();
    must(st->subs->list_ids(st, NULL, NULL, &q, false, &page, &err), &err);
    assert_int_equal(db_statements_sent() - before, 1);
    assert_int_equal(page.n, NSUBS);
    assert_int_equal(page.total, NSUBS);
    assert_null(page.next_token);
    orch_sub_id_page_cleanup(&page);
    before = db_statements_sent();
    must(st->subs->list_ids(st, NULL, NULL, &q, true, &page, &err), &err);
    assert_int_equal(db_statements_sent() - before, 2);
    for (size_t i = 0; i < page.n; i++) {
        must(st->subs->stamp(st, NULL, NULL, page.ids[i], one, &err), &err);
        assert_string_equal(page.stamps[i], one);
    }
    orch_sub_id_page_cleanup(&page);
    q.page_size = 4; /* more follow: the count */
    before = db_statements_sent();
    must(st->subs->list_ids(st, NULL, NULL, &q, false, &page, &err), &err);
    assert_int_equal(db_statements_sent() - before, 2);
    assert_int_equal(page.n, 4);
    assert_int_equal(page.total, NSUBS);
    assert_non_null(page.next_token);
    orch_sub_id_page_cleanup(&page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(basic_page_has_relations_and_no_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(partly_cached_equals_all_loaded, setup, teardown),
        cmocka_unit_test_setup_teardown(list_sees_change_on_same_replica, setup, teardown),
        cmocka_unit_test_setup_teardown(store_ops_statements, setup, teardown),
    };
    return cmocka_run_group_tests_name("ListSubscriptions from the read cache", tests, NULL, NULL);
}
