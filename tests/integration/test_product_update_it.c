/* UpdateProduct and the rest of the catalogue's RPCs, over gRPC against real PostgreSQL:
 * updates survive restarts and reach other replicas, request_id idempotency, end of life
 * refused while subscriptions live, deadlines that reach the database. */
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

#include "harness.h"
#include "orchestrator/v1/products.pb-c.h"

#define GET "/orchestrator.v1.ProductService/GetProduct"
#define UPDATE "/orchestrator.v1.ProductService/UpdateProduct"

static Orchestrator__V1__Product *get(harness_server_t *s, const char *name)
{
    Orchestrator__V1__GetProductRequest req = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    req.key_case = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_NAME;
    req.name = (char *)name;
    cli_call_unary(s->ch, GET, &req.base, &orchestrator__v1__product__descriptor, 5000, &resp, &st);
    assert_int_equal(st.code, 0);
    cli_status_cleanup(&st);
    return (Orchestrator__V1__Product *)resp;
}

/* UpdateProduct on product id with the given mask paths; returns the status code. */
static int update(harness_server_t *s, const char *id, const char *description,
                  Orchestrator__V1__ProductStatus status, const char *paths, const char *request_id,
                  int timeout_ms, Orchestrator__V1__Product **out, cli_status_t *st)
{
    Orchestrator__V1__UpdateProductRequest req = ORCHESTRATOR__V1__UPDATE_PRODUCT_REQUEST__INIT;
    Orchestrator__V1__Product p = ORCHESTRATOR__V1__PRODUCT__INIT;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char buf[128], *list[4];
    ProtobufCMessage *resp = NULL;
    size_t n = 0;

    snprintf(buf, sizeof(buf), "%s", paths);
    for (char *tok = strtok(buf, ","); tok && n < 4; tok = strtok(NULL, ","))
        list[n++] = tok;
    mask.n_paths = n;
    mask.paths = list;
    p.product_id = (char *)id;
    p.description = (char *)(description ? description : "");
    p.status = status;
    req.product = &p;
    req.update_mask = &mask;
    req.request_id = (char *)(request_id ? request_id : "");
    cli_call_unary(s->ch, UPDATE, &req.base, &orchestrator__v1__product__descriptor, timeout_ms,
                   &resp, st);
    if (out)
        *out = (Orchestrator__V1__Product *)resp;
    else if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return st->code;
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

static void sql(PGconn *c, const char *q)
{
    PGresult *r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", q, PQerrorMessage(c));
    PQclear(r);
}

static void description_survives_restart_and_reaches_other_replicas(void **state)
{
    harness_server_t a, b;
    Orchestrator__V1__Product *p, *q;
    cli_status_t st;
    char id[64], db[64];
    bool seen = false;
    (void)state;

    harness_server_start(&a, NULL, NULL);
    snprintf(db, sizeof(db), "%s", a.dbname);
    harness_server_start(&b, db, NULL);
    p = get(&a, "node Nokia");
    snprintf(id, sizeof(id), "%s", p->product_id);
    protobuf_c_message_free_unpacked(&p->base, NULL);

    assert_int_equal(update(&a, id, "Nokia 7750 SR", 0, "description", NULL, 5000, &q, &st), 0);
    assert_string_equal(q->description, "Nokia 7750 SR");
    protobuf_c_message_free_unpacked(&q->base, NULL);
    cli_status_cleanup(&st);

    /* Replica b learns of it through NOTIFY, without a restart. */
    for (int i = 0; i < 50 && !seen; i++) {
        p = get(&b, "node Nokia");
        seen = strcmp(p->description, "Nokia 7750 SR") == 0;
        protobuf_c_message_free_unpacked(&p->base, NULL);
        if (!seen)
            nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    assert_true(seen);
    assert_int_equal(harness_server_stop(&b), 0);

    /* The database's value wins over the code's at the next start. */
    assert_int_equal(harness_server_stop(&a), 0);
    harness_server_start(&a, db, NULL);
    p = get(&a, "node Nokia");
    assert_string_equal(p->description, "Nokia 7750 SR");
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(harness_server_stop(&a), 0);
    harness_db_drop(db);
}

static void request_id_idempotency(void **state)
{
    harness_server_t s;
    Orchestrator__V1__Product *p, *q;
    cli_status_t st;
    char id[64];
    const char *rid = "5f0c3e9a-1b2d-4c6e-8a7f-0123456789ab";
    (void)state;

    harness_server_start(&s, NULL, NULL);
    p = get(&s, "port 10G");
    snprintf(id, sizeof(id), "%s", p->product_id);
    protobuf_c_message_free_unpacked(&p->base, NULL);

    assert_int_equal(update(&s, id, "first", 0, "description", rid, 5000, NULL, &st), 0);
    cli_status_cleanup(&st);
    assert_int_equal(update(&s, id, "second", 0, "description", NULL, 5000, NULL, &st), 0);
    cli_status_cleanup(&st);
    /* The repeat answers the first answer and changes nothing. */
    assert_int_equal(update(&s, id, "first", 0, "description", rid, 5000, &q, &st), 0);
    assert_string_equal(q->description, "first");
    protobuf_c_message_free_unpacked(&q->base, NULL);
    cli_status_cleanup(&st);
    p = get(&s, "port 10G");
    assert_string_equal(p->description, "second");
    protobuf_c_message_free_unpacked(&p->base, NULL);
    /* The same id with another body is refused. */
    assert_int_equal(update(&s, id, "third", 0, "description", rid, 5000, NULL, &st), 9);
    assert_string_equal(st.reason, "REQUEST_ID_REUSED");
    cli_status_cleanup(&st);
    /* A malformed id is named. */
    assert_int_equal(update(&s, id, "x", 0, "description", "not-a-uuid", 5000, NULL, &st), 3);
    assert_string_equal(st.violations[0].field, "request_id");
    cli_status_cleanup(&st);
    /* A bad mask is named. */
    assert_int_equal(update(&s, id, "x", 0, "name", NULL, 5000, NULL, &st), 3);
    assert_string_equal(st.violations[0].field, "update_mask");
    cli_status_cleanup(&st);
    assert_int_equal(update(&s, id, "x", 0, "", NULL, 5000, NULL, &st), 3);
    cli_status_cleanup(&st);
    assert_int_equal(update(&s, "00000000-0000-4000-8000-000000000000", "x", 0, "description", NULL,
                            5000, NULL, &st),
                     5);
    cli_status_cleanup(&st);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

static void end_of_life_refused_while_subscriptions_live(void **state)
{
    harness_server_t s;
    Orchestrator__V1__Product *p, *q;
    cli_status_t st;
    char id[64], q1[512];
    PGconn *c;
    (void)state;

    harness_server_start(&s, NULL, NULL);
    p = get(&s, "l2vpn");
    snprintf(id, sizeof(id), "%s", p->product_id);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    c = db_connect(s.dbname);
    snprintf(q1, sizeof(q1),
             "INSERT INTO subscriptions (subscription_id, product_id, customer_id, status) "
             "VALUES ('11111111-1111-4111-8111-111111111111', '%s', 'acme', 'active')",
             id);
    sql(c, q1);

    assert_int_equal(update(&s, id, NULL,
                            ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_END_OF_LIFE, "status",
                            NULL, 5000, NULL, &st),
                     9);
    assert_string_equal(st.reason, "PRODUCT_IN_USE");
    assert_non_null(strstr(st.message, "l2vpn"));
    cli_status_cleanup(&st);
    /* Phase out is fine. */
    assert_int_equal(update(&s, id, NULL,
                            ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_PHASE_OUT, "status",
                            NULL, 5000, NULL, &st),
                     0);
    cli_status_cleanup(&st);

    sql(c, "UPDATE subscriptions SET status = 'terminated', end_time = now() "
           "WHERE subscription_id = '11111111-1111-4111-8111-111111111111'");
    assert_int_equal(update(&s, id, NULL,
                            ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_END_OF_LIFE, "status",
                            NULL, 5000, &q, &st),
                     0);
    assert_int_equal(q->status, ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_END_OF_LIFE);
    assert_non_null(q->end_time);
    protobuf_c_message_free_unpacked(&q->base, NULL);
    cli_status_cleanup(&st);
    PQfinish(c);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

static void deadline_reaches_the_database(void **state)
{
    harness_server_t s;
    Orchestrator__V1__Product *p;
    cli_status_t st;
    char id[64], other[64], q1[256];
    PGconn *c;
    PGresult *r;
    struct timespec t0, t1;
    long ms;
    (void)state;

    /* One pooled connection: if the blocked call kept it, nothing else could run. */
    harness_server_start(&s, NULL, (const char *const[]){"--pool-size", "1", NULL});
    p = get(&s, "node FRR");
    snprintf(id, sizeof(id), "%s", p->product_id);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    p = get(&s, "node Cumulus");
    snprintf(other, sizeof(other), "%s", p->product_id);
    protobuf_c_message_free_unpacked(&p->base, NULL);

    c = db_connect(s.dbname);
    sql(c, "BEGIN");
    snprintf(q1, sizeof(q1), "SELECT 1 FROM products WHERE product_id = '%s' FOR UPDATE", id);
    sql(c, q1);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(update(&s, id, "blocked", 0, "description", NULL, 1000, NULL, &st), 4);
    cli_status_cleanup(&st);
    /* While the lock is still held, the pool's only connection is back and usable. */
    assert_int_equal(update(&s, other, "not blocked", 0, "description", NULL, 5000, NULL, &st), 0);
    cli_status_cleanup(&st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms < 4000);
    /* And nothing of ours still waits on the lock in PostgreSQL. */
    r = PQexec(c, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                  "AND wait_event_type = 'Lock' AND application_name = 'orchestratord'");
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    sql(c, "ROLLBACK");
    PQfinish(c);
    p = get(&s, "node FRR");
    assert_string_not_equal(p->description, "blocked");
    protobuf_c_message_free_unpacked(&p->base, NULL);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

static void blocks_and_resource_types(void **state)
{
    harness_server_t s;
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    Orchestrator__V1__ListProductBlocksRequest lb =
        ORCHESTRATOR__V1__LIST_PRODUCT_BLOCKS_REQUEST__INIT;
    Orchestrator__V1__GetProductBlockRequest gb = ORCHESTRATOR__V1__GET_PRODUCT_BLOCK_REQUEST__INIT;
    Orchestrator__V1__ListResourceTypesRequest lr =
        ORCHESTRATOR__V1__LIST_RESOURCE_TYPES_REQUEST__INIT;
    Orchestrator__V1__ListProductBlocksResponse *blocks;
    Orchestrator__V1__ListResourceTypesResponse *rts;
    (void)state;

    harness_server_start(&s, NULL, NULL);
    assert_int_equal(cli_call_unary(s.ch, "/orchestrator.v1.ProductService/ListProductBlocks",
                                    &lb.base,
                                    &orchestrator__v1__list_product_blocks_response__descriptor,
                                    5000, &resp, &st),
                     0);
    blocks = (void *)resp;
    assert_int_equal(blocks->total_size, 6);
    assert_true(strlen(blocks->product_blocks[0]->product_block_id) == 36);
    gb.key_case = ORCHESTRATOR__V1__GET_PRODUCT_BLOCK_REQUEST__KEY_PRODUCT_BLOCK_ID;
    gb.product_block_id = blocks->product_blocks[0]->product_block_id;
    cli_status_cleanup(&st);
    {
        ProtobufCMessage *b = NULL;
        assert_int_equal(cli_call_unary(s.ch, "/orchestrator.v1.ProductService/GetProductBlock",
                                        &gb.base, &orchestrator__v1__product_block__descriptor,
                                        5000, &b, &st),
                         0);
        assert_string_equal(((Orchestrator__V1__ProductBlock *)b)->name,
                            blocks->product_blocks[0]->name);
        protobuf_c_message_free_unpacked(b, NULL);
        cli_status_cleanup(&st);
    }
    protobuf_c_message_free_unpacked(resp, NULL);

    lr.filter = "resource_type : ipam";
    assert_int_equal(cli_call_unary(s.ch, "/orchestrator.v1.ProductService/ListResourceTypes",
                                    &lr.base,
                                    &orchestrator__v1__list_resource_types_response__descriptor,
                                    5000, &resp, &st),
                     0);
    rts = (void *)resp;
    assert_int_equal(rts->total_size, 3); /* ipv4/ipv6_ipam_id, ipv6_prefix_ipam_id */
    for (size_t i = 0; i < rts->n_resource_types; i++)
        assert_int_equal(strlen(rts->resource_types[i]->resource_type_id), 36);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(description_survives_restart_and_reaches_other_replicas),
        cmocka_unit_test(request_id_idempotency),
        cmocka_unit_test(end_of_life_refused_while_subscriptions_live),
        cmocka_unit_test(deadline_reaches_the_database),
        cmocka_unit_test(blocks_and_resource_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
