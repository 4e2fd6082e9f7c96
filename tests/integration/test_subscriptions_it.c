/* Subscriptions end to end. A seeded inventory (nodes, ports on them, a core link, L2VPNs
 * spanning ports) is written through the domain API and the PostgreSQL store in this
 * process, then read over gRPC from the real server: listed, filtered, searched, paged;
 * trees and relations intact; offered workflows follow the rules; operator calls. Also the
 * store alone: fixed statement counts for any tree size, version conflicts. */
#include <libpq-fe.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/migrate.h"
#include "db/pool.h"
#include "db/store.h"
#include "domain/catalog/catalog.h"
#include "domain/store.h"
#include "harness.h"
#include "orchestrator/v1/subscriptions.pb-c.h"

#define SVC "/orchestrator.v1.SubscriptionService/"

typedef struct world {
    harness_server_t srv;
    db_pool_t *pool;
    orch_store_t *store;
    orch_catalog_t *cat;
    char node[3][37], port[4][37], link[37], l2vpn[2][37];
} world_t;

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

/* The id of the root instance of a saved subscription. */
static void root_of(world_t *w, const char *sub_id, char out[37])
{
    orch_subscription_t *s = NULL;
    orch_error_t err;
    orch_error_init(&err);
    must(w->store->subs->load(w->store, NULL, NULL, w->cat, sub_id, false, &s, &err), &err);
    snprintf(out, 37, "%s", s->root->id);
    orch_subscription_free(s);
}

static void seed(world_t *w)
{
    orch_error_t err;
    const char *nodes[3] = {"node Cisco", "node Cisco", "node Nokia"};
    char root[37];

    orch_error_init(&err);
    for (int i = 0; i < 3; i++) {
        orch_subscription_t *s = new_sub(w, nodes[i], i < 2 ? "acme" : "globex");
        char name[64];
        snprintf(name, sizeof(name), i == 0 ? "rtr-ams-unique01" : "rtr-%d", i);
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
            root_of(w, w->node[i], root);
            snprintf(path, sizeof(path), "ports[%d].port_name", i);
            SET_STR(s, path, "et-0/0/0");
            snprintf(path, sizeof(path), "ports[%d].enabled", i);
            SET_BOOL(s, path, true);
            snprintf(path, sizeof(path), "ports[%d].ims_id", i);
            SET_INT(s, path, 710 + i);
            snprintf(path, sizeof(path), "ports[%d].ipv6_ipam_id", i);
            SET_INT(s, path, 720 + i);
            snprintf(path, sizeof(path), "ports[%d].node", i);
            must(orch_sub_set_reference(s, path, w->node[i], root, &err), &err);
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
            root_of(w, w->port[v + i], root);
            snprintf(path, sizeof(path), "saps[%d].vlan", i);
            SET_INT(s, path, 100 + i);
            snprintf(path, sizeof(path), "saps[%d].port", i);
            must(orch_sub_set_reference(s, path, w->port[v + i], root, &err), &err);
        }
        must(orch_sub_set_description(s, v == 0 ? "vpn between amsterdam and paris" : "vpn two",
                                      &err),
             &err);
        activate_and_save(w, s, w->l2vpn[v]);
    }
}

static int setup(void **state)
{
    world_t *w = calloc(1, sizeof(*w));
    orch_error_t err;
    orch_ctx_t *none = NULL;

    harness_server_start(&w->srv, NULL, NULL);
    w->pool = db_pool_new(w->srv.conninfo, 2);
    w->store = db_store_new(w->pool);
    w->cat = orch_catalog_new();
    orch_catalog_load_example(w->cat);
    orch_error_init(&err);
    must(orch_catalog_validate(w->cat, &err), &err);
    must(w->store->catalog->sync(w->store, NULL, none, w->cat, &err), &err);
    seed(w);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world_t *w = *state;
    assert_int_equal(harness_server_stop(&w->srv), 0);
    orch_store_free(w->store);
    db_pool_free(w->pool);
    orch_catalog_free(w->cat);
    harness_db_drop(w->srv.dbname);
    free(w);
    return 0;
}

static Orchestrator__V1__ListSubscriptionsResponse *list(world_t *w, const char *filter,
                                                         const char *query, const char *order,
                                                         int size, const char *token,
                                                         cli_status_t *st)
{
    Orchestrator__V1__ListSubscriptionsRequest req =
        ORCHESTRATOR__V1__LIST_SUBSCRIPTIONS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    req.filter = (char *)(filter ? filter : "");
    req.query = (char *)(query ? query : "");
    req.order_by = (char *)(order ? order : "");
    req.page_size = size;
    req.page_token = (char *)(token ? token : "");
    cli_call_unary(w->srv.ch, SVC "ListSubscriptions", &req.base,
                   &orchestrator__v1__list_subscriptions_response__descriptor, 10000, &resp, st);
    return (void *)resp;
}

static int count(world_t *w, const char *filter, const char *query)
{
    cli_status_t st;
    Orchestrator__V1__ListSubscriptionsResponse *r = list(w, filter, query, NULL, 500, NULL, &st);
    int n;
    if (!r)
        fail_msg("filter '%s' query '%s': %s", filter, query, st.message);
    n = (int)r->n_subscriptions;
    assert_int_equal(r->total_size, n);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);
    return n;
}

static void list_filter_search_and_page(void **state)
{
    world_t *w = *state;
    const char *orders[] = {NULL, "create_time desc", "customer_id", "start_time desc",
                            "description"};

    assert_int_equal(count(w, NULL, NULL), 10);
    assert_int_equal(count(w, "product : \"port\"", NULL), 4);
    assert_int_equal(count(w, "tag = PORT AND status = active", NULL), 4);
    assert_int_equal(count(w, "customer_id = globex", NULL), 2);
    assert_int_equal(count(w, "product_type = L2vpn OR product_type = CoreLink", NULL), 3);
    assert_int_equal(count(w, "NOT customer_id = acme", NULL), 2);
    assert_int_equal(count(w, "in_sync = true AND start_time > 2020-01-01T00:00:00Z", NULL), 10);
    assert_int_equal(count(w, "status = terminated", NULL), 0);
    /* A term found only in one block's field value. */
    assert_int_equal(count(w, NULL, "rtr-ams-unique01"), 1);
    assert_int_equal(count(w, NULL, "amsterdam"), 1);
    assert_int_equal(count(w, "tag = NODE", "rtr-ams-unique01"), 1);
    assert_int_equal(count(w, "tag = PORT", "rtr-ams-unique01"), 0);

    for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
        for (int size = 1; size <= 3; size++) {
            char seen[16][37], *token = NULL;
            size_t n = 0;
            int pages = 0;
            do {
                cli_status_t st;
                Orchestrator__V1__ListSubscriptionsResponse *r =
                    list(w, NULL, NULL, orders[o], size, token, &st);
                assert_non_null(r);
                for (size_t i = 0; i < r->n_subscriptions; i++) {
                    for (size_t j = 0; j < n; j++)
                        assert_string_not_equal(seen[j], r->subscriptions[i]->subscription_id);
                    assert_true(n < 16);
                    snprintf(seen[n++], 37, "%s", r->subscriptions[i]->subscription_id);
                }
                free(token);
                token = r->next_page_token[0] ? strdup(r->next_page_token) : NULL;
                protobuf_c_message_free_unpacked(&r->base, NULL);
                cli_status_cleanup(&st);
                assert_true(++pages <= 12);
            } while (token);
            assert_int_equal(n, 10);
        }
    }
}

/* `product = name` compares the product id with that of the product of that name (a
 * subquery an index serves, issue 20): it still lists exactly that product's subscriptions,
 * none for a name no product has (also under NOT and !=, as the comparison with the name
 * did), and compares the name exactly. */
static void product_filter_by_name(void **state)
{
    world_t *w = *state;
    cli_status_t st;
    Orchestrator__V1__ListSubscriptionsResponse *r =
        list(w, "product = \"port 10G\"", NULL, NULL, 500, NULL, &st);

    assert_non_null(r);
    assert_int_equal(r->n_subscriptions, 3);
    for (size_t i = 0; i < r->n_subscriptions; i++)
        assert_string_equal(r->subscriptions[i]->product->name, "port 10G");
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);

    assert_int_equal(count(w, "product = \"port 100G\"", NULL), 1);
    assert_int_equal(count(w, "product = \"port 10G\" AND status = active", NULL), 3);
    assert_int_equal(count(w, "product = \"port 10G\" OR product = l2vpn", NULL), 5);
    assert_int_equal(count(w, "product != \"port 10G\"", NULL), 7);
    assert_int_equal(count(w, "NOT product = \"port 10G\"", NULL), 7);
    assert_int_equal(count(w, "product = \"PORT 10G\"", NULL), 0);
    assert_int_equal(count(w, "product = \"no such product\"", NULL), 0);
    assert_int_equal(count(w, "NOT product = \"no such product\"", NULL), 10);
    assert_int_equal(count(w, "product != \"no such product\"", NULL), 10);
}

static void bad_list_input(void **state)
{
    world_t *w = *state;
    cli_status_t st;
    Orchestrator__V1__ListSubscriptionsResponse *r;
    char *token;

    r = list(w, "status = runing", NULL, NULL, 0, NULL, &st);
    assert_null(r);
    assert_int_equal(st.code, 3);
    assert_string_equal(st.violations[0].field, "filter");
    assert_non_null(strstr(st.violations[0].description, "active"));
    cli_status_cleanup(&st);
    r = list(w, "status = (", NULL, NULL, 0, NULL, &st);
    assert_int_equal(st.code, 3);
    assert_non_null(strstr(st.message, "offset"));
    cli_status_cleanup(&st);
    r = list(w, NULL, NULL, "colour", 0, NULL, &st);
    assert_int_equal(st.code, 3);
    assert_string_equal(st.violations[0].field, "order_by");
    cli_status_cleanup(&st);
    /* A token bound to another filter or order. */
    r = list(w, "tag = PORT", NULL, NULL, 1, NULL, &st);
    token = strdup(r->next_page_token);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);
    r = list(w, "tag = NODE", NULL, NULL, 1, token, &st);
    assert_int_equal(st.code, 3);
    assert_string_equal(st.violations[0].field, "page_token");
    cli_status_cleanup(&st);
    r = list(w, "tag = PORT", NULL, "customer_id", 1, token, &st);
    assert_int_equal(st.code, 3);
    cli_status_cleanup(&st);
    free(token);
}

static Orchestrator__V1__Subscription *
get_as(world_t *w, const char *id, Orchestrator__V1__ReadConsistency consistency, cli_status_t *st)
{
    Orchestrator__V1__GetSubscriptionRequest req = ORCHESTRATOR__V1__GET_SUBSCRIPTION_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    req.subscription_id = (char *)id;
    req.consistency = consistency;
    cli_call_unary(w->srv.ch, SVC "GetSubscription", &req.base,
                   &orchestrator__v1__subscription__descriptor, 10000, &resp, st);
    return (void *)resp;
}

static Orchestrator__V1__Subscription *get(world_t *w, const char *id, cli_status_t *st)
{
    return get_as(w, id, ORCHESTRATOR__V1__READ_CONSISTENCY__READ_CONSISTENCY_UNSPECIFIED, st);
}

static void tree_and_relations_intact(void **state)
{
    world_t *w = *state;
    cli_status_t st;
    Orchestrator__V1__Subscription *v = get(w, w->l2vpn[0], &st), *p;
    Orchestrator__V1__SubscriptionInstance *root;
    int saps = 0;

    assert_non_null(v);
    assert_int_equal(v->status, ORCHESTRATOR__V1__SUBSCRIPTION_STATUS__SUBSCRIPTION_STATUS_ACTIVE);
    assert_string_equal(v->product->name, "l2vpn");
    assert_non_null(v->start_time);
    root = v->root_instance;
    assert_string_equal(root->product_block, "VirtualCircuitBlock");
    for (size_t i = 0; i < root->n_children; i++) {
        Orchestrator__V1__SubscriptionInstance *sap = root->children[i]->instance;
        assert_string_equal(root->children[i]->attribute, "saps");
        assert_int_equal(root->children[i]->position, saps);
        assert_string_equal(sap->product_block, "SAPBlock");
        assert_int_equal(sap->n_children, 1);
        assert_true(sap->children[0]->foreign);
        assert_string_equal(sap->children[0]->instance->owner_subscription_id, w->port[saps]);
        saps++;
    }
    assert_int_equal(saps, 2);
    assert_int_equal(v->n_depends_on_subscription_ids, 2);
    assert_non_null(v->domain_model);
    assert_true(v->domain_model->n_fields > 5);
    protobuf_c_message_free_unpacked(&v->base, NULL);
    cli_status_cleanup(&st);

    /* The port knows its user and its node. */
    p = get(w, w->port[1], &st);
    assert_non_null(p);
    assert_int_equal(p->n_in_use_by_subscription_ids, 2);
    assert_int_equal(p->n_depends_on_subscription_ids, 1);
    assert_string_equal(p->depends_on_subscription_ids[0], w->node[1]);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    cli_status_cleanup(&st);

    assert_null(get(w, "9a6e0b5c-1111-4222-8333-444455556666", &st));
    assert_int_equal(st.code, 5);
    cli_status_cleanup(&st);
    assert_null(get(w, "nope", &st));
    assert_int_equal(st.code, 3);
    assert_string_equal(st.violations[0].field, "subscription_id");
    cli_status_cleanup(&st);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_value_str(const void *a, const void *b)
{
    const Google__Protobuf__Value *x = *(Google__Protobuf__Value *const *)a;
    const Google__Protobuf__Value *y = *(Google__Protobuf__Value *const *)b;
    return strcmp(x->string_value, y->string_value);
}

/* The encoding of a Subscription (caller frees), its users sorted, so that the answers are
 * compared as encodings whatever order a load gave the users in (the load orders them by
 * status and id now; it once ordered them by status only). qsort is not given an empty
 * list: its base may be NULL then. */
static uint8_t *packed(ProtobufCMessage *m, size_t *len)
{
    Orchestrator__V1__Subscription *sub = (void *)m;
    uint8_t *b;
    if (sub->n_in_use_by_subscription_ids > 1)
        qsort(sub->in_use_by_subscription_ids, sub->n_in_use_by_subscription_ids, sizeof(char *),
              cmp_str);
    for (size_t i = 0; sub->domain_model && i < sub->domain_model->n_fields; i++) {
        Google__Protobuf__Struct__FieldsEntry *e = sub->domain_model->fields[i];
        if (strcmp(e->key, "in_use_by_ids") == 0 && e->value->list_value &&
            e->value->list_value->n_values > 1)
            qsort(e->value->list_value->values, e->value->list_value->n_values,
                  sizeof(Google__Protobuf__Value *), cmp_value_str);
    }
    *len = protobuf_c_message_get_packed_size(m);
    b = malloc(*len ? *len : 1);
    assert_non_null(b);
    protobuf_c_message_pack(m, b);
    return b;
}

static uint8_t *get_packed(harness_server_t *srv, const char *id,
                           Orchestrator__V1__SubscriptionView view, size_t *len)
{
    Orchestrator__V1__GetSubscriptionRequest req = ORCHESTRATOR__V1__GET_SUBSCRIPTION_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    uint8_t *b;
    req.subscription_id = (char *)id;
    req.view = view;
    cli_call_unary(srv->ch, SVC "GetSubscription", &req.base,
                   &orchestrator__v1__subscription__descriptor, 10000, &resp, &st);
    if (!resp)
        fail_msg("GetSubscription %s: %s", id, st.message);
    cli_status_cleanup(&st);
    b = packed(resp, len);
    protobuf_c_message_free_unpacked(resp, NULL);
    return b;
}

/* One answer whatever the path: GetSubscription on a miss (encoded straight from the tree,
 * server/services/subenc.c), from the cache, on a replica without the cache, and each
 * subscription as ListSubscriptions gives it (the message-tree encoder,
 * srv_subscription_to_pb): a port in use with its node, a node, an L2VPN, a core link, FULL
 * and BASIC. */
static void answers_equal_in_every_path(void **state)
{
    world_t *w = *state;
    const char *const nocache[] = {"--subscription-cache-mb", "0", NULL};
    const char *ids[] = {w->port[1], w->node[1], w->l2vpn[0], w->link};
    const Orchestrator__V1__SubscriptionView views[] = {
        ORCHESTRATOR__V1__SUBSCRIPTION_VIEW__SUBSCRIPTION_VIEW_FULL,
        ORCHESTRATOR__V1__SUBSCRIPTION_VIEW__SUBSCRIPTION_VIEW_BASIC};
    harness_server_t off;

    harness_server_start(&off, w->srv.dbname, nocache);
    for (size_t v = 0; v < 2; v++) {
        Orchestrator__V1__ListSubscriptionsRequest req =
            ORCHESTRATOR__V1__LIST_SUBSCRIPTIONS_REQUEST__INIT;
        Orchestrator__V1__ListSubscriptionsResponse *r;
        ProtobufCMessage *resp = NULL;
        cli_status_t st;
        req.page_size = 100;
        req.view = views[v];
        cli_call_unary(w->srv.ch, SVC "ListSubscriptions", &req.base,
                       &orchestrator__v1__list_subscriptions_response__descriptor, 10000, &resp,
                       &st);
        assert_int_equal(st.code, 0);
        cli_status_cleanup(&st);
        r = (void *)resp;
        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
            ProtobufCMessage *item = NULL;
            uint8_t *want, *got[3];
            size_t nwant, ngot[3];
            for (size_t k = 0; k < r->n_subscriptions; k++)
                if (strcmp(r->subscriptions[k]->subscription_id, ids[i]) == 0)
                    item = &r->subscriptions[k]->base;
            assert_non_null(item);
            want = packed(item, &nwant);
            got[0] = get_packed(&off, ids[i], views[v], &ngot[0]);    /* a miss */
            got[1] = get_packed(&w->srv, ids[i], views[v], &ngot[1]); /* a miss or kept */
            got[2] = get_packed(&w->srv, ids[i], views[v], &ngot[2]); /* kept */
            for (int k = 0; k < 3; k++) {
                if (ngot[k] != nwant || memcmp(got[k], want, nwant) != 0)
                    fail_msg("%s (%s view), path %d: %zu bytes, ListSubscriptions' %zu differ",
                             ids[i], v ? "BASIC" : "FULL", k, ngot[k], nwant);
                free(got[k]);
            }
            free(want);
        }
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    assert_int_equal(harness_server_stop(&off), 0);
}

static Orchestrator__V1__SubscriptionWorkflow *
find_wf(Orchestrator__V1__ListSubscriptionWorkflowsResponse *r, const char *name)
{
    for (size_t i = 0; i < r->n_workflows; i++)
        if (strcmp(r->workflows[i]->workflow->name, name) == 0)
            return r->workflows[i];
    fail_msg("workflow %s not offered", name);
    return NULL;
}

static Orchestrator__V1__ListSubscriptionWorkflowsResponse *workflows(world_t *w, const char *id)
{
    Orchestrator__V1__ListSubscriptionWorkflowsRequest req =
        ORCHESTRATOR__V1__LIST_SUBSCRIPTION_WORKFLOWS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    req.subscription_id = (char *)id;
    cli_call_unary(w->srv.ch, SVC "ListSubscriptionWorkflows", &req.base,
                   &orchestrator__v1__list_subscription_workflows_response__descriptor, 10000,
                   &resp, &st);
    assert_int_equal(st.code, 0);
    cli_status_cleanup(&st);
    return (void *)resp;
}

static void sql(world_t *w, const char *q)
{
    PGconn *c = PQconnectdb(w->srv.conninfo);
    PGresult *r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", q, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static void offered_workflows_follow_the_rules(void **state)
{
    world_t *w = *state;
    Orchestrator__V1__ListSubscriptionWorkflowsResponse *r = workflows(w, w->port[1]);
    Orchestrator__V1__SubscriptionWorkflow *t = find_wf(r, "terminate_port");
    char q[256];

    assert_false(t->allowed);
    assert_string_equal(t->blocked_reason, "IN_USE_BY_OTHER_SUBSCRIPTIONS");
    assert_int_equal(t->n_blocking_subscription_ids, 2);
    assert_true(find_wf(r, "modify_port")->allowed);
    assert_true(find_wf(r, "validate_port")->allowed);
    assert_false(find_wf(r, "create_port")->allowed);
    assert_string_equal(find_wf(r, "create_port")->blocked_reason, "INVALID_STATUS_FOR_TARGET");
    /* Grouped by target: create first. */
    assert_string_equal(r->workflows[0]->workflow->name, "create_port");
    protobuf_c_message_free_unpacked(&r->base, NULL);

    /* A port nobody uses may be terminated. */
    r = workflows(w, w->port[3]);
    assert_true(find_wf(r, "terminate_port")->allowed);
    protobuf_c_message_free_unpacked(&r->base, NULL);

    /* Locked: only modify_note remains. */
    snprintf(q, sizeof(q), "UPDATE subscriptions SET in_sync = false WHERE subscription_id = '%s'",
             w->port[3]);
    sql(w, q);
    r = workflows(w, w->port[3]);
    assert_string_equal(find_wf(r, "modify_port")->blocked_reason, "SUBSCRIPTION_NOT_IN_SYNC");
    assert_string_equal(find_wf(r, "terminate_port")->blocked_reason, "SUBSCRIPTION_NOT_IN_SYNC");
    assert_true(find_wf(r, "modify_note")->allowed);
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void operator_calls(void **state)
{
    world_t *w = *state;
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    Orchestrator__V1__Subscription *s;
    char q[256];
    int64_t version;

    /* Unlock (set in sync) with a version; a stale version is ABORTED VERSION_CONFLICT. The
     * lock is written here as another replica's save would (the version bumped), and read back
     * with STRONG: the server may hold this subscription in its read cache from the tests
     * before, and a read without STRONG may be stale until its NOTIFY arrives. */
    snprintf(q, sizeof(q),
             "UPDATE subscriptions SET in_sync = false, version = version + 1 WHERE "
             "subscription_id = '%s'",
             w->node[2]);
    sql(w, q);
    s = get_as(w, w->node[2], ORCHESTRATOR__V1__READ_CONSISTENCY__READ_CONSISTENCY_STRONG, &st);
    assert_false(s->in_sync);
    version = s->version;
    protobuf_c_message_free_unpacked(&s->base, NULL);
    cli_status_cleanup(&st);
    {
        Orchestrator__V1__SetSubscriptionInSyncRequest req =
            ORCHESTRATOR__V1__SET_SUBSCRIPTION_IN_SYNC_REQUEST__INIT;
        req.subscription_id = w->node[2];
        req.version = version + 5;
        cli_call_unary(w->srv.ch, SVC "SetSubscriptionInSync", &req.base,
                       &orchestrator__v1__subscription__descriptor, 10000, &resp, &st);
        assert_int_equal(st.code, 10);
        assert_string_equal(st.reason, "VERSION_CONFLICT");
        cli_status_cleanup(&st);
        req.version = version;
        cli_call_unary(w->srv.ch, SVC "SetSubscriptionInSync", &req.base,
                       &orchestrator__v1__subscription__descriptor, 10000, &resp, &st);
        assert_int_equal(st.code, 0);
        assert_true(((Orchestrator__V1__Subscription *)resp)->in_sync);
        assert_int_equal(((Orchestrator__V1__Subscription *)resp)->version, version + 1);
        protobuf_c_message_free_unpacked(resp, NULL);
        cli_status_cleanup(&st);
    }
    /* Metadata: replace with its version. */
    {
        Orchestrator__V1__UpdateSubscriptionMetadataRequest req =
            ORCHESTRATOR__V1__UPDATE_SUBSCRIPTION_METADATA_REQUEST__INIT;
        Google__Protobuf__Struct meta = GOOGLE__PROTOBUF__STRUCT__INIT;
        Google__Protobuf__Struct__FieldsEntry e = GOOGLE__PROTOBUF__STRUCT__FIELDS_ENTRY__INIT,
                                              *ep = &e;
        Google__Protobuf__Value v = GOOGLE__PROTOBUF__VALUE__INIT;
        v.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
        v.string_value = "rack 12";
        e.key = "location";
        e.value = &v;
        meta.n_fields = 1;
        meta.fields = &ep;
        req.subscription_id = w->node[0];
        req.metadata = &meta;
        cli_call_unary(w->srv.ch, SVC "UpdateSubscriptionMetadata", &req.base,
                       &orchestrator__v1__subscription__descriptor, 10000, &resp, &st);
        assert_int_equal(st.code, 0);
        s = (void *)resp;
        assert_int_equal(s->metadata->n_fields, 1);
        assert_string_equal(s->metadata->fields[0]->value->string_value, "rack 12");
        protobuf_c_message_free_unpacked(resp, NULL);
        cli_status_cleanup(&st);
        req.version = 99;
        cli_call_unary(w->srv.ch, SVC "UpdateSubscriptionMetadata", &req.base,
                       &orchestrator__v1__subscription__descriptor, 10000, &resp, &st);
        assert_int_equal(st.code, 10);
        cli_status_cleanup(&st);
    }
    /* Customer descriptions: create, duplicate, get, stale update, delete. */
    {
        Orchestrator__V1__CreateCustomerDescriptionRequest c =
            ORCHESTRATOR__V1__CREATE_CUSTOMER_DESCRIPTION_REQUEST__INIT;
        Orchestrator__V1__GetCustomerDescriptionRequest g =
            ORCHESTRATOR__V1__GET_CUSTOMER_DESCRIPTION_REQUEST__INIT;
        Orchestrator__V1__UpdateCustomerDescriptionRequest u =
            ORCHESTRATOR__V1__UPDATE_CUSTOMER_DESCRIPTION_REQUEST__INIT;
        Orchestrator__V1__DeleteCustomerDescriptionRequest d =
            ORCHESTRATOR__V1__DELETE_CUSTOMER_DESCRIPTION_REQUEST__INIT;
        c.subscription_id = g.subscription_id = u.subscription_id = d.subscription_id = w->port[0];
        c.customer_id = g.customer_id = u.customer_id = d.customer_id = "acme";
        c.description = "our uplink";
        cli_call_unary(w->srv.ch, SVC "CreateCustomerDescription", &c.base,
                       &orchestrator__v1__customer_description__descriptor, 10000, &resp, &st);
        assert_int_equal(st.code, 0);
        assert_int_equal(((Orchestrator__V1__CustomerDescription *)resp)->version, 1);
        protobuf_c_message_free_unpacked(resp, NULL);
        cli_status_cleanup(&st);
        cli_call_unary(w->srv.ch, SVC "CreateCustomerDescription", &c.base,
                       &orchestrator__v1__customer_description__descriptor, 10000, &resp, &st);
        assert_int_equal(st.code, 6);
        cli_status_cleanup(&st);
        u.description = "our main uplink";
        u.version = 7;
        cli_call_unary(w->srv.ch, SVC "UpdateCustomerDescription", &u.base,
                       &orchestrator__v1__customer_description__descriptor, 10000, &resp, &st);
        assert_int_equal(st.code, 10);
        cli_status_cleanup(&st);
        u.version = 1;
        cli_call_unary(w->srv.ch, SVC "UpdateCustomerDescription", &u.base,
                       &orchestrator__v1__customer_description__descriptor, 10000, &resp, &st);
        assert_int_equal(st.code, 0);
        protobuf_c_message_free_unpacked(resp, NULL);
        cli_status_cleanup(&st);
        cli_call_unary(w->srv.ch, SVC "GetCustomerDescription", &g.base,
                       &orchestrator__v1__customer_description__descriptor, 10000, &resp, &st);
        assert_int_equal(st.code, 0);
        assert_string_equal(((Orchestrator__V1__CustomerDescription *)resp)->description,
                            "our main uplink");
        protobuf_c_message_free_unpacked(resp, NULL);
        cli_status_cleanup(&st);
        s = get(w, w->port[0], &st);
        assert_int_equal(s->n_customer_descriptions, 1);
        protobuf_c_message_free_unpacked(&s->base, NULL);
        cli_status_cleanup(&st);
        cli_call_unary(w->srv.ch, SVC "DeleteCustomerDescription", &d.base,
                       &orchestrator__v1__delete_customer_description_response__descriptor, 10000,
                       &resp, &st);
        assert_int_equal(st.code, 0);
        protobuf_c_message_free_unpacked(resp, NULL);
        cli_status_cleanup(&st);
        cli_call_unary(w->srv.ch, SVC "GetCustomerDescription", &g.base,
                       &orchestrator__v1__customer_description__descriptor, 10000, &resp, &st);
        assert_int_equal(st.code, 5);
        cli_status_cleanup(&st);
        c.customer_id = "";
        cli_call_unary(w->srv.ch, SVC "CreateCustomerDescription", &c.base,
                       &orchestrator__v1__customer_description__descriptor, 10000, &resp, &st);
        assert_int_equal(st.code, 3);
        assert_string_equal(st.violations[0].field, "customer_id");
        cli_status_cleanup(&st);
    }
}

static void watch_subscription_changes(void **state)
{
    world_t *w = *state;
    Orchestrator__V1__WatchSubscriptionRequest req =
        ORCHESTRATOR__V1__WATCH_SUBSCRIPTION_REQUEST__INIT;
    cli_stream_t *ws;
    ProtobufCMessage *m = NULL;
    Orchestrator__V1__SubscriptionEvent *ev;
    orch_subscription_t *sub = NULL;
    orch_tx_t *tx = NULL;
    orch_error_t err;
    int64_t snap_seq;
    int kinds[8], n = 0;
    cli_status_t st;

    req.subscription_id = w->node[1];
    ws = cli_stream_open(w->srv.ch, SVC "WatchSubscription", &req.base, 30000);
    assert_int_equal(
        cli_stream_next(ws, &orchestrator__v1__subscription_event__descriptor, 5000, &m), 1);
    ev = (void *)m;
    assert_int_equal(ev->kind,
                     ORCHESTRATOR__V1__SUBSCRIPTION_EVENT_KIND__SUBSCRIPTION_EVENT_KIND_SNAPSHOT);
    assert_string_equal(ev->snapshot->subscription_id, w->node[1]);
    snap_seq = ev->sequence;
    protobuf_c_message_free_unpacked(m, NULL);

    /* A workflow-like change through the store: locked, new field value, new description. */
    orch_error_init(&err);
    must(w->store->subs->load(w->store, NULL, NULL, w->cat, w->node[1], false, &sub, &err), &err);
    sub->in_sync = false;
    must(orch_sub_set_str(sub, "node_name", "renamed-node", &err), &err);
    must(orch_sub_set_description(sub, "renamed", &err), &err);
    must(w->store->uow->begin(w->store, NULL, &tx, &err), &err);
    must(w->store->subs->save(w->store, tx, NULL, sub, &err), &err);
    must(w->store->uow->commit(tx, &err), &err);
    orch_subscription_free(sub);

    while (n < 3 &&
           cli_stream_next(ws, &orchestrator__v1__subscription_event__descriptor, 5000, &m) == 1) {
        ev = (void *)m;
        assert_int_equal(ev->sequence, snap_seq + n + 1);
        kinds[n++] = ev->kind;
        protobuf_c_message_free_unpacked(m, NULL);
    }
    assert_int_equal(n, 3);
    assert_int_equal(kinds[0],
                     ORCHESTRATOR__V1__SUBSCRIPTION_EVENT_KIND__SUBSCRIPTION_EVENT_KIND_LOCKED);
    assert_int_equal(
        kinds[1],
        ORCHESTRATOR__V1__SUBSCRIPTION_EVENT_KIND__SUBSCRIPTION_EVENT_KIND_FIELDS_CHANGED);
    assert_int_equal(
        kinds[2],
        ORCHESTRATOR__V1__SUBSCRIPTION_EVENT_KIND__SUBSCRIPTION_EVENT_KIND_DESCRIPTION_CHANGED);
    cli_stream_close(ws, &st);
    cli_status_cleanup(&st);

    /* Reconnecting after the snapshot's sequence replays exactly those three. */
    req.after_sequence = snap_seq;
    ws = cli_stream_open(w->srv.ch, SVC "WatchSubscription", &req.base, 30000);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            cli_stream_next(ws, &orchestrator__v1__subscription_event__descriptor, 5000, &m), 1);
        assert_int_equal(((Orchestrator__V1__SubscriptionEvent *)m)->kind, kinds[i]);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    cli_stream_close(ws, &st);
    cli_status_cleanup(&st);
}

/* One SetSubscriptionInSync, for a subscription whose version is read first; the answer's
 * status code. */
typedef struct in_sync_call {
    world_t *w;
    const char *id;
    int64_t version;
    int code;
} in_sync_call_t;

static void *set_in_sync(void *arg)
{
    in_sync_call_t *a = arg;
    Orchestrator__V1__SetSubscriptionInSyncRequest req =
        ORCHESTRATOR__V1__SET_SUBSCRIPTION_IN_SYNC_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    req.subscription_id = (char *)a->id;
    req.version = a->version;
    cli_call_unary(a->w->srv.ch, SVC "SetSubscriptionInSync", &req.base,
                   &orchestrator__v1__subscription__descriptor, 30000, &resp, &st);
    a->code = st.code;
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    return NULL;
}

static int64_t version_of(world_t *w, const char *id)
{
    cli_status_t st;
    Orchestrator__V1__Subscription *s = get(w, id, &st);
    int64_t v;
    if (!s)
        fail_msg("GetSubscription %s: %s", id, st.message);
    v = s->version;
    protobuf_c_message_free_unpacked(&s->base, NULL);
    cli_status_cleanup(&st);
    return v;
}

/* How many of this database's sessions wait for a lock (on c, which may be in a
 * transaction). */
static int lock_waiters(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                            "current_database() AND wait_event_type = 'Lock'");
    int n;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("pg_stat_activity: %s", PQerrorMessage(c));
    n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* Calls of one channel (one HTTP/2 connection: how a client calls) run side by side: while
 * one SetSubscriptionInSync waits for a row lock this test holds, a second one on the same
 * channel, for another subscription, is answered. The server once posted every method's
 * request slots before handling, so gRPC queued every call of a connection behind the
 * thread that had its first (server/rpc/server.c, slot_fired): the second call waited for
 * the lock too, and ran out its deadline. Calls of other methods on that channel are
 * answered too. */
static void one_channel_calls_side_by_side(void **state)
{
    world_t *w = *state;
    in_sync_call_t blocked = {.w = w, .id = w->node[0]}, free_ = {.w = w, .id = w->node[1]};
    pthread_t t;
    char q[256];
    PGconn *c = PQconnectdb(w->srv.conninfo);
    PGresult *r;

    assert_int_equal(PQstatus(c), CONNECTION_OK);
    snprintf(q, sizeof(q),
             "UPDATE subscriptions SET in_sync = false WHERE subscription_id IN ('%s', '%s')",
             w->node[0], w->node[1]);
    sql(w, q);
    blocked.version = version_of(w, w->node[0]);
    free_.version = version_of(w, w->node[1]);
    snprintf(q, sizeof(q),
             "BEGIN; SELECT 1 FROM subscriptions WHERE subscription_id = '%s' FOR UPDATE",
             w->node[0]);
    r = PQexec(c, q);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    assert_int_equal(pthread_create(&t, NULL, set_in_sync, &blocked), 0);
    for (int i = 0; lock_waiters(c) < 1; i++) {
        if (i > 1000)
            fail_msg("the first call never waited for the row lock");
        nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
    }
    set_in_sync(&free_); /* the same channel, another subscription */
    assert_int_equal(free_.code, 0);
    /* Calls of other methods on that channel: they must not queue behind the thread that
     * waits for the lock either (each method once had a slot on every thread's queue, and
     * gRPC offers a call to its connection's queue first). */
    for (int i = 0; i < 8; i++) {
        cli_status_t st;
        Orchestrator__V1__Subscription *got = get(w, w->node[1], &st);
        if (!got)
            fail_msg("GetSubscription beside a call waiting for a lock: %d %s", st.code,
                     st.message);
        protobuf_c_message_free_unpacked(&got->base, NULL);
        cli_status_cleanup(&st);
        assert_true(count(w, "", "") > 0);
    }
    assert_int_equal(lock_waiters(c), 1); /* the first is still waiting */
    r = PQexec(c, "ROLLBACK");
    PQclear(r);
    PQfinish(c);
    pthread_join(t, NULL);
    assert_int_equal(blocked.code, 0);
}

/* ---- the store alone ---------------------------------------------------------------- */

static const orch_field_def_t leaf_fields[] = {
    {"leaf_name", ORCH_FIELD_STRING, true, false, "", NULL}, {0}};
static const orch_field_def_t bulk_fields[] = {
    {"bulk_name", ORCH_FIELD_STRING, true, false, "", NULL}, {0}};
static const orch_child_def_t bulk_children[] = {{"leaves", "LeafBlock", 0, 100, false}, {0}};
static const orch_block_def_t leaf_block = {"LeafBlock", "", "LEAF", leaf_fields, NULL};
static const orch_block_def_t bulk_block = {"BulkBlock", "", "BULK", bulk_fields, bulk_children};
static const orch_product_def_t bulk_product = {
    "bulk", "", "Bulk", "BULK", ORCH_PRODUCT_ACTIVE, "BulkBlock", NULL, NULL};

static void statements_fixed_and_versions_checked(void **state)
{
    char db[64], ci[512], ids[2][37];
    db_pool_t *pool;
    orch_store_t *st;
    orch_catalog_t *cat = orch_catalog_new();
    orch_error_t err;
    int applied;
    unsigned long counts[2];
    (void)state;

    harness_db_create(db);
    harness_conninfo(db, ci);
    pool = db_pool_new(ci, 2);
    st = db_store_new(pool);
    orch_catalog_load_example(cat);
    orch_catalog_add_block(cat, &leaf_block);
    orch_catalog_add_block(cat, &bulk_block);
    orch_catalog_add_product(cat, &bulk_product);
    orch_error_init(&err);
    must(db_migrate(pool, DB_MIGRATE_AUTO, &applied, &err), &err);
    must(orch_catalog_validate(cat, &err), &err);
    must(st->catalog->sync(st, NULL, NULL, cat, &err), &err);

    for (int k = 0; k < 2; k++) {
        int leaves = k == 0 ? 0 : 49; /* trees of 1 and of 50 blocks */
        orch_subscription_t *s = NULL, *back = NULL;
        orch_tx_t *tx = NULL;
        unsigned long before;
        must(orch_subscription_new_from_product(orch_catalog_find_product(cat, "bulk"), "c", &s,
                                                &err),
             &err);
        must(orch_sub_set_str(s, "bulk_name", "b", &err), &err);
        for (int i = 0; i < leaves; i++) {
            char path[32];
            size_t idx;
            must(orch_sub_add_child(s, "leaves", &idx, &err), &err);
            snprintf(path, sizeof(path), "leaves[%zu].leaf_name", idx);
            must(orch_sub_set_str(s, path, "leaf", &err), &err);
        }
        must(st->uow->begin(st, NULL, &tx, &err), &err);
        before = db_statements_sent();
        must(st->subs->save(st, tx, NULL, s, &err), &err);
        counts[k] = db_statements_sent() - before;
        must(st->uow->commit(tx, &err), &err);
        snprintf(ids[k], 37, "%s", s->id);
        orch_subscription_free(s);
        /* Load: count the statements. */
        before = db_statements_sent();
        must(st->subs->load(st, NULL, NULL, cat, ids[k], false, &back, &err), &err);
        counts[k] = counts[k] * 1000 + (db_statements_sent() - before);
        {
            size_t n = 0;
            must(orch_sub_count(back, "leaves", &n, &err), &err);
            assert_int_equal(n, (size_t)leaves);
        }
        orch_subscription_free(back);
    }
    /* The same number of statements (save * 1000 + load) for 1 and for 50 blocks, and a
     * load is ONE statement: one round trip whatever the tree. */
    assert_int_equal(counts[0], counts[1]);
    assert_int_equal(counts[0] % 1000, 1);

    /* The read path: the tree and its stamp in one statement, the stamp alone in one; a
     * load for update takes its row lock first: two. The 50-block tree. */
    {
        orch_subscription_t *back = NULL;
        orch_tx_t *tx = NULL;
        char stamp[33], again[33];
        unsigned long before = db_statements_sent();
        must(st->subs->get(st, NULL, NULL, cat, ids[1], &back, stamp, &err), &err);
        assert_int_equal(db_statements_sent() - before, 1);
        assert_int_equal(strlen(stamp), 32);
        orch_subscription_free(back);
        before = db_statements_sent();
        must(st->subs->stamp(st, NULL, NULL, ids[1], again, &err), &err);
        assert_int_equal(db_statements_sent() - before, 1);
        assert_string_equal(stamp, again);
        must(st->uow->begin(st, NULL, &tx, &err), &err);
        before = db_statements_sent();
        must(st->subs->load(st, tx, NULL, cat, ids[1], true, &back, &err), &err);
        assert_int_equal(db_statements_sent() - before, 2);
        /* A save changes the stamp. */
        must(orch_sub_set_str(back, "bulk_name", "renamed", &err), &err);
        must(st->subs->save(st, tx, NULL, back, &err), &err);
        must(st->uow->commit(tx, &err), &err);
        orch_subscription_free(back);
        must(st->subs->stamp(st, NULL, NULL, ids[1], again, &err), &err);
        assert_string_not_equal(stamp, again);
        orch_error_init(&err);
        assert_int_equal(
            st->subs->stamp(st, NULL, NULL, "00000000-0000-4000-8000-000000000000", again, &err),
            ORCH_NOT_FOUND);
        orch_error_init(&err);
    }

    /* Two writers from the same version: the second is ABORTED VERSION_CONFLICT. */
    {
        orch_subscription_t *a = NULL, *b = NULL;
        orch_tx_t *tx = NULL;
        must(st->subs->load(st, NULL, NULL, cat, ids[1], false, &a, &err), &err);
        must(st->subs->load(st, NULL, NULL, cat, ids[1], false, &b, &err), &err);
        must(orch_sub_set_str(a, "bulk_name", "from a", &err), &err);
        must(orch_sub_set_str(b, "bulk_name", "from b", &err), &err);
        must(st->uow->begin(st, NULL, &tx, &err), &err);
        must(st->subs->save(st, tx, NULL, a, &err), &err);
        must(st->uow->commit(tx, &err), &err);
        must(st->uow->begin(st, NULL, &tx, &err), &err);
        orch_error_init(&err);
        assert_int_equal(st->subs->save(st, tx, NULL, b, &err), ORCH_ABORTED);
        assert_string_equal(err.reason, "VERSION_CONFLICT");
        st->uow->rollback(tx);
        orch_subscription_free(a);
        orch_subscription_free(b);
    }
    orch_store_free(st);
    db_pool_free(pool);
    orch_catalog_free(cat);
    harness_db_drop(db);
}

int main(void)
{
    const struct CMUnitTest world_tests[] = {
        cmocka_unit_test(list_filter_search_and_page),
        cmocka_unit_test(product_filter_by_name),
        cmocka_unit_test(bad_list_input),
        cmocka_unit_test(tree_and_relations_intact),
        cmocka_unit_test(answers_equal_in_every_path),
        cmocka_unit_test(offered_workflows_follow_the_rules),
        cmocka_unit_test(operator_calls),
        cmocka_unit_test(watch_subscription_changes),
        cmocka_unit_test(one_channel_calls_side_by_side),
    };
    const struct CMUnitTest store_tests[] = {
        cmocka_unit_test(statements_fixed_and_versions_checked),
    };
    int rc = cmocka_run_group_tests_name("subscriptions over gRPC", world_tests, setup, teardown);
    rc |= cmocka_run_group_tests_name("subscription store", store_tests, NULL, NULL);
    return rc;
}
