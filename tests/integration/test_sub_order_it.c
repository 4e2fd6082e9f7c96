/* ListSubscriptions does what subscriptions.proto documents, over gRPC against the real
 * server: every documented order_by field, ascending and descending, several of them
 * together (mixed directions too), the default "start_time desc", subscriptions that have
 * not started or ended (NULL times) among the others, ties broken by the id, and paging
 * through it all with keyset tokens in pages of 1, 3 and 7 without a row repeated or missed;
 * a token stays bound to its ordering; every documented filter field, including the id's
 * prefix form `subscription_id = "1a2b3c4d*"`. The expected orders come from PostgreSQL
 * itself, written independently with NULLS FIRST / LAST instead of the server's keys. */
#include <libpq-fe.h>
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
#include "harness.h"
#include "orchestrator/v1/subscriptions.pb-c.h"

#define SVC "/orchestrator.v1.SubscriptionService/"
#define NNODES 14
#define NPORTS 6
#define NSUBS (NNODES + NPORTS)

typedef struct world {
    harness_server_t srv;
    db_pool_t *pool;
    orch_store_t *store;
    orch_catalog_t *cat;
    PGconn *db;
    char ids[NSUBS][37];
} world_t;

static world_t *W;

static void must(orch_err_t rc, const orch_error_t *err)
{
    if (rc)
        fail_msg("%s: %s", orch_err_name(rc), err->message);
}

/* ---- seeding through the domain and the store ---- */

static orch_subscription_t *node(world_t *w, int i)
{
    static const char *const products[] = {"node Cisco", "node Nokia", "node FRR", "node Cumulus"};
    static const char *const descriptions[] = {"alpha", "bravo", "charlie"};
    orch_subscription_t *s = NULL;
    orch_error_t err;
    char name[32];
    orch_error_init(&err);
    must(orch_subscription_new_from_product(orch_catalog_find_product(w->cat, products[i % 4]),
                                            i % 2 ? "globex" : "acme", &s, &err),
         &err);
    snprintf(name, sizeof(name), "rtr-%02d", i);
    must(orch_sub_set_int(s, "role_id", 1, &err), &err);
    must(orch_sub_set_int(s, "type_id", 2, &err), &err);
    must(orch_sub_set_int(s, "site_id", i, &err), &err);
    must(orch_sub_set_str(s, "node_status", "active", &err), &err);
    must(orch_sub_set_str(s, "node_name", name, &err), &err);
    must(orch_sub_set_int(s, "ims_id", 100 + i, &err), &err);
    must(orch_sub_set_int(s, "nrm_id", 200 + i, &err), &err);
    must(orch_sub_set_int(s, "ipv4_ipam_id", 300 + i, &err), &err);
    must(orch_sub_set_int(s, "ipv6_ipam_id", 400 + i, &err), &err);
    must(orch_sub_set_description(s, descriptions[i % 3], &err), &err);
    if (i % 4 == 1)
        must(orch_sub_set_note(s, "rack swap pending", &err), &err);
    return s;
}

static orch_subscription_t *port(world_t *w, int i, const orch_subscription_t *on)
{
    orch_subscription_t *s = NULL;
    orch_error_t err;
    char name[32];
    orch_error_init(&err);
    must(orch_subscription_new_from_product(
             orch_catalog_find_product(w->cat, i % 2 ? "port 100G" : "port 10G"), "acme", &s, &err),
         &err);
    snprintf(name, sizeof(name), "1/1/%d", i + 1);
    must(orch_sub_set_str(s, "port_name", name, &err), &err);
    must(orch_sub_set_str(s, "port_type", "10GBASE-LR", &err), &err);
    must(orch_sub_set_str(s, "port_mode", "tagged", &err), &err);
    must(orch_sub_set_bool(s, "auto_negotiation", false, &err), &err);
    must(orch_sub_set_bool(s, "lldp", true, &err), &err);
    must(orch_sub_set_bool(s, "enabled", true, &err), &err);
    must(orch_sub_set_int(s, "ims_id", 500 + i, &err), &err);
    must(orch_sub_set_int(s, "nrm_id", 600 + i, &err), &err);
    must(orch_sub_set_reference(s, "node", on->id, on->root->id, &err), &err);
    must(orch_sub_set_description(s, i % 2 ? "delta" : "alpha", &err), &err);
    return s;
}

/* Saves subs[from, to) in one transaction: they share now(), so their start (or end) times
 * tie, and the id has to break the tie. */
static void save_together(world_t *w, orch_subscription_t **subs, int from, int to)
{
    orch_tx_t *tx = NULL;
    orch_error_t err;
    orch_error_init(&err);
    must(w->store->uow->begin(w->store, NULL, &tx, &err), &err);
    for (int i = from; i < to; i++)
        must(w->store->subs->save(w->store, tx, NULL, subs[i], &err), &err);
    must(w->store->uow->commit(tx, &err), &err);
}

static void seed(world_t *w)
{
    orch_subscription_t *subs[NSUBS];
    orch_error_t err;
    orch_error_init(&err);

    for (int i = 0; i < NNODES; i++)
        subs[i] = node(w, i);
    for (int i = 0; i < NPORTS; i++)
        subs[NNODES + i] = port(w, i, subs[i]);
    /* Everything is created initial (no start time); nodes 0..NPORTS-1 carry the ports. */
    for (int i = 0; i < NSUBS; i++)
        save_together(w, subs, i, i + 1);
    /* Activated three at a time (equal start times), except every fifth node, which stays
     * initial (start_time NULL). */
    for (int i = 0; i < NSUBS; i += 3) {
        int to = i + 3 < NSUBS ? i + 3 : NSUBS, k = 0;
        orch_subscription_t *batch[3];
        for (int j = i; j < to; j++) {
            if (j < NNODES && j % 5 == 4)
                continue;
            must(orch_sub_set_status(subs[j], ORCH_SUB_ACTIVE, &err), &err);
            subs[j]->in_sync = true;
            batch[k++] = subs[j];
        }
        save_together(w, batch, 0, k);
    }
    /* Two pairs of unused nodes terminated together (equal end times), one node alone. */
    {
        int term[5] = {7, 8, 10, 11, 13}, k = 0;
        orch_subscription_t *batch[5];
        for (int t = 0; t < 5; t++) {
            must(orch_sub_set_status(subs[term[t]], ORCH_SUB_TERMINATED, &err), &err);
            batch[k++] = subs[term[t]];
        }
        save_together(w, batch, 0, 2);
        save_together(w, batch, 2, 4);
        save_together(w, batch, 4, 5);
    }
    for (int i = 0; i < NSUBS; i++) {
        snprintf(w->ids[i], 37, "%s", subs[i]->id);
        orch_subscription_free(subs[i]);
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
    w->db = PQconnectdb(w->srv.conninfo);
    assert_int_equal(PQstatus(w->db), CONNECTION_OK);
    W = w;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world_t *w = *state;
    PQfinish(w->db);
    assert_int_equal(harness_server_stop(&w->srv), 0);
    orch_store_free(w->store);
    db_pool_free(w->pool);
    orch_catalog_free(w->cat);
    harness_db_drop(w->srv.dbname);
    free(w);
    return 0;
}

/* ---- calls ---- */

static Orchestrator__V1__ListSubscriptionsResponse *
list(const char *filter, const char *order, int size, const char *token, cli_status_t *st)
{
    Orchestrator__V1__ListSubscriptionsRequest req =
        ORCHESTRATOR__V1__LIST_SUBSCRIPTIONS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    req.filter = (char *)(filter ? filter : "");
    req.order_by = (char *)(order ? order : "");
    req.page_size = size;
    req.page_token = (char *)(token ? token : "");
    memset(st, 0, sizeof(*st));
    cli_call_unary(W->srv.ch, SVC "ListSubscriptions", &req.base,
                   &orchestrator__v1__list_subscriptions_response__descriptor, 10000, &resp, st);
    return (void *)resp;
}

/* Every id the list gives for filter and order in pages of size, in order; asserts that no
 * id comes twice and that every page agrees on total_size. Returns how many (<= cap). */
static size_t walk(const char *filter, const char *order, int size, char (*out)[37], size_t cap)
{
    char *token = NULL;
    size_t n = 0;
    int pages = 0, total = -1;
    do {
        cli_status_t st;
        Orchestrator__V1__ListSubscriptionsResponse *r = list(filter, order, size, token, &st);
        if (!r)
            fail_msg("order '%s' filter '%s' page %d: %s", order ? order : "", filter ? filter : "",
                     pages, st.message);
        assert_true((int)r->n_subscriptions <= size);
        if (total >= 0)
            assert_int_equal(r->total_size, total);
        total = r->total_size;
        for (size_t i = 0; i < r->n_subscriptions; i++) {
            for (size_t j = 0; j < n; j++)
                if (strcmp(out[j], r->subscriptions[i]->subscription_id) == 0)
                    fail_msg("order '%s', pages of %d: %s comes twice", order ? order : "", size,
                             out[j]);
            assert_true(n < cap);
            snprintf(out[n++], 37, "%s", r->subscriptions[i]->subscription_id);
        }
        free(token);
        token = r->next_page_token[0] ? strdup(r->next_page_token) : NULL;
        protobuf_c_message_free_unpacked(&r->base, NULL);
        cli_status_cleanup(&st);
        assert_true(++pages <= NSUBS + 2);
    } while (token);
    assert_int_equal((int)n, total);
    return n;
}

/* The ids PostgreSQL gives for "SELECT ... ORDER BY <sql>" (optionally WHERE <where>). */
static size_t expected(const char *where, const char *order_sql, char (*out)[37], size_t cap)
{
    char q[1024];
    PGresult *r;
    size_t n;
    snprintf(q, sizeof(q),
             "SELECT s.subscription_id FROM subscriptions s JOIN products p USING (product_id) "
             "WHERE %s ORDER BY %s",
             where ? where : "true", order_sql);
    r = PQexec(W->db, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", q, PQerrorMessage(W->db));
    n = (size_t)PQntuples(r);
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++)
        snprintf(out[i], 37, "%s", PQgetvalue(r, (int)i, 0));
    PQclear(r);
    return n;
}

/* The documented fields, and what each means in plain SQL (NULL times: not yet, so last
 * ascending and first descending; status in lifecycle order). */
static const struct {
    const char *field, *asc, *desc;
} fields[] = {
    {"start_time", "s.start_time ASC NULLS LAST", "s.start_time DESC NULLS FIRST"},
    {"end_time", "s.end_time ASC NULLS LAST", "s.end_time DESC NULLS FIRST"},
    {"create_time", "s.create_time ASC", "s.create_time DESC"},
    {"update_time", "s.update_time ASC", "s.update_time DESC"},
    {"description", "s.description ASC", "s.description DESC"},
    {"customer_id", "s.customer_id ASC", "s.customer_id DESC"},
    {"status",
     "CASE s.status WHEN 'initial' THEN 1 WHEN 'provisioning' THEN 2 WHEN 'active' THEN 3 "
     "WHEN 'migrating' THEN 4 WHEN 'disabled' THEN 5 ELSE 6 END ASC",
     "CASE s.status WHEN 'initial' THEN 1 WHEN 'provisioning' THEN 2 WHEN 'active' THEN 3 "
     "WHEN 'migrating' THEN 4 WHEN 'disabled' THEN 5 ELSE 6 END DESC"},
    {"product", "p.name ASC", "p.name DESC"},
    {"tag", "p.tag ASC", "p.tag DESC"},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const char *sql_of(const char *field, bool desc)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (strcmp(fields[i].field, field) == 0)
            return desc ? fields[i].desc : fields[i].asc;
    fail_msg("no field %s", field);
    return NULL;
}

/* order_by as orchctl users write it, e.g. {"start_time desc", "description"}: the list in
 * pages of 1, 3 and 7 is exactly PostgreSQL's order, ties broken by the id in the first
 * field's direction. */
static void check_order(const char *order_by, const char *const *parts, size_t nparts)
{
    char want[NSUBS][37], got[NSUBS][37], sql[1024] = "";
    size_t nwant, used = 0;
    bool first_desc = false;

    for (size_t i = 0; i < nparts; i++) {
        char name[32] = "", dir[8] = "";
        sscanf(parts[i], "%31s %7s", name, dir);
        if (i == 0)
            first_desc = strcmp(dir, "desc") == 0;
        used += (size_t)snprintf(sql + used, sizeof(sql) - used, "%s, ",
                                 sql_of(name, strcmp(dir, "desc") == 0));
    }
    snprintf(sql + used, sizeof(sql) - used, "s.subscription_id %s", first_desc ? "DESC" : "ASC");
    nwant = expected(NULL, sql, want, NSUBS);
    assert_int_equal(nwant, NSUBS);
    for (int size = 1; size <= 7; size += size == 1 ? 2 : 4) {
        size_t n = walk(NULL, order_by, size, got, NSUBS);
        assert_int_equal(n, nwant);
        for (size_t i = 0; i < n; i++)
            if (strcmp(got[i], want[i]) != 0)
                fail_msg("order_by '%s', pages of %d: row %zu is %s, PostgreSQL says %s",
                         order_by ? order_by : "(default)", size, i, got[i], want[i]);
    }
}

static void every_documented_field_both_ways(void **state)
{
    (void)state;
    for (size_t i = 0; i < NFIELDS; i++) {
        char asc[64], desc[64];
        const char *p1[1] = {asc}, *p2[1] = {desc};
        snprintf(asc, sizeof(asc), "%s", fields[i].field);
        snprintf(desc, sizeof(desc), "%s desc", fields[i].field);
        check_order(asc, p1, 1);
        check_order(desc, p2, 1);
        /* "asc" written out is the same ordering. */
        snprintf(asc, sizeof(asc), "%s asc", fields[i].field);
        check_order(asc, p1, 1);
    }
}

static void default_is_start_time_desc(void **state)
{
    const char *parts[1] = {"start_time desc"};
    char got[NSUBS][37];
    char q[256];
    (void)state;
    check_order(NULL, parts, 1);
    check_order("", parts, 1);
    /* What that means for a person: the not yet started first, then the latest start. */
    assert_int_equal(walk(NULL, NULL, 500, got, NSUBS), NSUBS);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM subscriptions WHERE subscription_id = '%s' AND "
             "start_time IS NULL",
             got[0]);
    assert_int_equal(harness_scalar(W->srv.dbname, "%s", q), 1);
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM subscriptions WHERE start_time > (SELECT start_time FROM "
             "subscriptions WHERE subscription_id = '%s')",
             got[NSUBS - 1]);
    assert_true(harness_scalar(W->srv.dbname, "%s", q) > 0);
}

static void several_fields_and_mixed_directions(void **state)
{
    static const struct {
        const char *order_by;
        const char *parts[4];
    } cases[] = {
        /* orchctl's own help example. */
        {"start_time desc, description", {"start_time desc", "description"}},
        {"start_time desc,description", {"start_time desc", "description"}},
        {"description, start_time desc", {"description", "start_time desc"}},
        {"description desc, customer_id desc", {"description desc", "customer_id desc"}},
        {"tag, product desc, end_time", {"tag", "product desc", "end_time"}},
        {"status desc, end_time desc, description",
         {"status desc", "end_time desc", "description"}},
        {"customer_id, status, description desc, update_time",
         {"customer_id", "status", "description desc", "update_time"}},
        {"  product ,  create_time desc ", {"product", "create_time desc"}},
        {"end_time asc, start_time", {"end_time", "start_time"}},
    };
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t n = 0;
        while (n < 4 && cases[c].parts[n])
            n++;
        check_order(cases[c].order_by, cases[c].parts, n);
    }
}

static void tokens_stay_with_their_ordering(void **state)
{
    cli_status_t st;
    Orchestrator__V1__ListSubscriptionsResponse *r;
    char *token;
    (void)state;

    r = list(NULL, "start_time desc, description", 2, NULL, &st);
    assert_non_null(r);
    token = strdup(r->next_page_token);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);
    /* Another ordering: refused. */
    static const char *const others[] = {"start_time desc", "description, start_time desc",
                                         "start_time desc, description desc", "start_time", ""};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        assert_null(list(NULL, others[i], 2, token, &st));
        assert_int_equal(st.code, 3);
        assert_string_equal(st.violations[0].field, "page_token");
        cli_status_cleanup(&st);
    }
    /* The same ordering spelled differently: accepted. */
    r = list(NULL, "start_time  desc ,description asc", 2, token, &st);
    assert_non_null(r);
    assert_int_equal(r->n_subscriptions, 2);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);
    free(token);

    /* Bad orderings name order_by and say what is allowed. */
    static const char *const bad[] = {"colour",           "start_time sideways",
                                      "description, ,",   "description description",
                                      "tag, tag desc",    "start_time desc; drop table x",
                                      "a, b, c, d, e, f", "product_id"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(list(NULL, bad[i], 2, NULL, &st));
        assert_int_equal(st.code, 3);
        assert_string_equal(st.violations[0].field, "order_by");
        cli_status_cleanup(&st);
    }
    assert_null(list(NULL, "colour", 2, NULL, &st));
    assert_non_null(strstr(st.violations[0].description, "start_time"));
    assert_non_null(strstr(st.violations[0].description, "tag"));
    cli_status_cleanup(&st);
}

/* The filter gives exactly the rows PostgreSQL gives for where, in the default order. */
static void check_filter(const char *filter, const char *where)
{
    char want[NSUBS][37], got[NSUBS][37];
    size_t nwant = expected(where, "s.start_time DESC NULLS FIRST, s.subscription_id DESC", want,
                            NSUBS),
           n = walk(filter, NULL, 4, got, NSUBS);
    if (n != nwant)
        fail_msg("filter '%s': %zu rows, PostgreSQL says %zu", filter, n, nwant);
    assert_true(nwant > 0 && nwant < NSUBS); /* the filter really filters */
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got[i], want[i]);
}

static void every_documented_filter_field(void **state)
{
    char f[256], w[256], t[64], prefix[16];
    PGresult *r;
    (void)state;

    snprintf(f, sizeof(f), "subscription_id = \"%s\"", W->ids[3]);
    snprintf(w, sizeof(w), "s.subscription_id = '%s'", W->ids[3]);
    check_filter(f, w);
    check_filter("status = terminated", "s.status = 'terminated'");
    check_filter("status != active", "s.status <> 'active'");
    r = PQexec(W->db, "SELECT product_id FROM products WHERE name = 'node Nokia'");
    snprintf(f, sizeof(f), "product_id = \"%s\"", PQgetvalue(r, 0, 0));
    snprintf(w, sizeof(w), "s.product_id = '%s'", PQgetvalue(r, 0, 0));
    PQclear(r);
    check_filter(f, w);
    check_filter("product = \"port 100G\"", "p.name = 'port 100G'");
    check_filter("product : \"node\"", "p.name LIKE '%node%'");
    check_filter("tag = PORT", "p.tag = 'PORT'");
    check_filter("product_type = Node", "p.product_type = 'Node'");
    check_filter("customer_id = globex", "s.customer_id = 'globex'");
    check_filter("description = bravo", "s.description = 'bravo'");
    check_filter("description : \"lph\"", "s.description LIKE '%lph%'");
    check_filter("in_sync = false", "NOT s.in_sync");
    check_filter("note : rack", "s.note LIKE '%rack%'");
    /* Times: split the rows at a time they really have. */
    r = PQexec(W->db, "SELECT to_char(min(start_time) AT TIME ZONE 'UTC', "
                      "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM subscriptions "
                      "WHERE start_time > (SELECT min(start_time) FROM subscriptions)");
    snprintf(t, sizeof(t), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    snprintf(f, sizeof(f), "start_time >= \"%s\"", t);
    snprintf(w, sizeof(w), "s.start_time >= '%s'", t);
    check_filter(f, w);
    r = PQexec(W->db, "SELECT to_char(max(end_time) AT TIME ZONE 'UTC', "
                      "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM subscriptions");
    snprintf(t, sizeof(t), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    snprintf(f, sizeof(f), "end_time < \"%s\"", t);
    snprintf(w, sizeof(w), "s.end_time < '%s'", t);
    check_filter(f, w);
    r = PQexec(W->db, "SELECT to_char(create_time AT TIME ZONE 'UTC', "
                      "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM subscriptions "
                      "ORDER BY create_time OFFSET 5 LIMIT 1");
    snprintf(t, sizeof(t), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    snprintf(f, sizeof(f), "create_time > \"%s\"", t);
    snprintf(w, sizeof(w), "s.create_time > '%s'", t);
    check_filter(f, w);
    /* update_time: the terminated ones changed last. */
    r = PQexec(W->db, "SELECT to_char(min(update_time) AT TIME ZONE 'UTC', "
                      "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM subscriptions "
                      "WHERE status = 'terminated'");
    snprintf(t, sizeof(t), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    snprintf(f, sizeof(f), "update_time >= \"%s\"", t);
    snprintf(w, sizeof(w), "s.update_time >= '%s'", t);
    check_filter(f, w);
    snprintf(f, sizeof(f), "update_time < \"%s\" AND tag = NODE", t);
    snprintf(w, sizeof(w), "s.update_time < '%s' AND p.tag = 'NODE'", t);
    check_filter(f, w);

    /* The start of an id, as orchctl sends it: one match, with or without the hyphen. */
    snprintf(prefix, sizeof(prefix), "%.8s", W->ids[5]);
    snprintf(f, sizeof(f), "subscription_id = \"%s*\"", prefix);
    snprintf(w, sizeof(w), "s.subscription_id::text LIKE '%s%%'", prefix);
    check_filter(f, w);
    snprintf(f, sizeof(f), "subscription_id = \"%.13s*\"", W->ids[5]);
    snprintf(w, sizeof(w), "s.subscription_id::text LIKE '%.13s%%'", W->ids[5]);
    check_filter(f, w);
    snprintf(f, sizeof(f), "subscription_id = \"%.8s%.4s*\"", W->ids[5], W->ids[5] + 9);
    check_filter(f, w);
    /* A short start matches several; != excludes them. */
    snprintf(f, sizeof(f), "subscription_id = \"%.1s*\"", W->ids[5]);
    snprintf(w, sizeof(w), "s.subscription_id::text LIKE '%.1s%%'", W->ids[5]);
    check_filter(f, w);
    snprintf(f, sizeof(f), "subscription_id != \"%.1s*\"", W->ids[5]);
    snprintf(w, sizeof(w), "s.subscription_id::text NOT LIKE '%.1s%%'", W->ids[5]);
    if (harness_scalar(W->srv.dbname, "SELECT count(*) FROM subscriptions s WHERE %s", w) > 0)
        check_filter(f, w);

    /* What is not the start of an id is refused, naming the filter. */
    {
        static const char *const bad[] = {
            "subscription_id = \"*\"",
            "subscription_id = \"xyz*\"",
            "subscription_id = \"ABCDEF12*\"",
            "subscription_id > \"abc*\"",
            "subscription_id = \"0123456789abcdef0123456789abcdef0*\"",
            "update_time > yesterday"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            cli_status_t st;
            assert_null(list(bad[i], NULL, 2, NULL, &st));
            if (st.code != 3)
                fail_msg("filter '%s': status %d, not INVALID_ARGUMENT", bad[i], st.code);
            assert_string_equal(st.violations[0].field, "filter");
            cli_status_cleanup(&st);
        }
    }
}

/* A page may end on a subscription with the longest description there is, in characters
 * of several bytes: its token still works. */
static void long_values_in_tokens(void **state)
{
    const char *parts[2] = {"description desc", "customer_id"};
    (void)state;
    assert_int_equal(harness_scalar(W->srv.dbname,
                                    "WITH u AS (UPDATE subscriptions SET description = "
                                    "repeat(E'\\u20ac', 1999) || E'\\x1f' "
                                    "WHERE subscription_id = '%s' RETURNING 1) "
                                    "SELECT count(*) FROM u",
                                    W->ids[2]),
                     1);
    check_order("description desc, customer_id", parts, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_documented_field_both_ways),
        cmocka_unit_test(default_is_start_time_desc),
        cmocka_unit_test(several_fields_and_mixed_directions),
        cmocka_unit_test(tokens_stay_with_their_ordering),
        cmocka_unit_test(every_documented_filter_field),
        cmocka_unit_test(long_values_in_tokens),
    };
    return cmocka_run_group_tests_name("subscription orderings and filters over gRPC", tests, setup,
                                       teardown);
}
