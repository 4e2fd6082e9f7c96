/* The server as infrastructure sees it: health Check and Watch, readiness following the
 * database, drain with a stream open, limits on what a client may send. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <libpq-fe.h>

#include "grpc/health/v1/health.pb-c.h"
#include "harness.h"
#include "orchestrator/v1/products.pb-c.h"
#include "proxy.h"

#define CHECK "/grpc.health.v1.Health/Check"
#define WATCH "/grpc.health.v1.Health/Watch"
#define LIST "/orchestrator.v1.ProductService/ListProducts"
#define SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define UNKNOWN GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN

static int check(harness_server_t *s, const char *service, int *code)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    int status = -1;

    req.service = (char *)service;
    *code = cli_call_unary(s->ch, CHECK, &req.base,
                           &grpc__health__v1__health_check_response__descriptor, 2000, &resp, &st);
    if (resp) {
        status = ((Grpc__Health__V1__HealthCheckResponse *)resp)->status;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    cli_status_cleanup(&st);
    return status;
}

/* Next Watch message's status, or -1 if none within wait_ms / the stream ended. */
static int watch_next(cli_stream_t *w, int wait_ms)
{
    ProtobufCMessage *m = NULL;
    int status;
    if (cli_stream_next(w, &grpc__health__v1__health_check_response__descriptor, wait_ms, &m) != 1)
        return -1;
    status = ((Grpc__Health__V1__HealthCheckResponse *)m)->status;
    protobuf_c_message_free_unpacked(m, NULL);
    return status;
}

static cli_stream_t *watch(harness_server_t *s, const char *service)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)service;
    return cli_stream_open(s->ch, WATCH, &req.base, 0);
}

static void health_check_services(void **state)
{
    harness_server_t s;
    int code;
    (void)state;

    /* With the mesh-friendly connection settings the Helm chart passes. */
    harness_server_start(&s, NULL,
                         (const char *const[]){"--keepalive-time-ms", "10000",
                                               "--max-connection-age-ms", "600000", NULL});
    assert_int_equal(check(&s, "", &code), SERVING);
    assert_int_equal(check(&s, "liveness", &code), SERVING);
    assert_int_equal(check(&s, "orchestrator.v1.ProductService", &code), SERVING);
    assert_int_equal(check(&s, "no.such.Service", &code), -1);
    assert_int_equal(code, 5); /* NOT_FOUND */
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

static void drain_with_watch_open(void **state)
{
    harness_server_t s;
    cli_stream_t *ready, *unknown;
    cli_status_t st;
    pid_t pid;
    int status = 0;
    (void)state;

    harness_server_start(&s, NULL, NULL);
    ready = watch(&s, "");
    unknown = watch(&s, "no.such.Service");
    assert_int_equal(watch_next(ready, 5000), SERVING);
    assert_int_equal(watch_next(unknown, 5000), UNKNOWN);
    /* Nothing changes: no message. */
    assert_int_equal(watch_next(ready, 300), -1);

    /* SIGTERM: the watcher sees NOT_SERVING, then its stream ends with UNAVAILABLE, and the
     * server exits 0 well within its grace. */
    pid = s.pid;
    kill(pid, SIGTERM);
    assert_int_equal(watch_next(ready, 5000), NOT_SERVING);
    assert_int_equal(watch_next(ready, 5000), -1);
    cli_stream_close(ready, &st);
    assert_int_equal(st.code, 14); /* UNAVAILABLE */
    assert_string_equal(st.reason, "SERVER_DRAINING");
    cli_status_cleanup(&st);
    cli_stream_close(unknown, &st);
    cli_status_cleanup(&st);
    status = harness_server_stop(&s);
    assert_int_equal(status, 0);
    harness_db_drop(s.dbname);
}

static int wait_for_status(harness_server_t *s, int want, int max_ms)
{
    int code;
    for (int waited = 0; waited <= max_ms; waited += 100) {
        if (check(s, "", &code) == want)
            return waited;
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    return -1;
}

static void readiness_follows_the_database(void **state)
{
    char sock[256], url[512], db[64];
    harness_server_t s;
    test_proxy_t *px;
    cli_stream_t *w;
    cli_status_t st;
    int code, took;
    ProtobufCMessage *resp = NULL;
    Orchestrator__V1__ListProductsRequest lreq = ORCHESTRATOR__V1__LIST_PRODUCTS_REQUEST__INIT;
    (void)state;

    snprintf(sock, sizeof(sock), "%s/.s.PGSQL.%s", getenv("ORCH_TEST_PGHOST"),
             getenv("ORCH_TEST_PGPORT"));
    px = test_proxy_start(sock);
    harness_db_create(db);
    snprintf(url, sizeof(url), "host=127.0.0.1 port=%d user=%s dbname=%s", test_proxy_port(px),
             getenv("ORCH_TEST_PGUSER"), db);
    harness_server_start(&s, db, (const char *const[]){"--database-url", url, NULL});
    w = watch(&s, "");
    assert_int_equal(watch_next(w, 5000), SERVING);

    /* With no client traffic, readiness turns NOT_SERVING within 5 s of losing PostgreSQL,
     * while liveness stays SERVING and the catalogue is still served. */
    test_proxy_set_up(px, false);
    took = wait_for_status(&s, NOT_SERVING, 5000);
    assert_true(took >= 0);
    assert_int_equal(watch_next(w, 1000), NOT_SERVING);
    assert_int_equal(check(&s, "liveness", &code), SERVING);
    assert_int_equal(cli_call_unary(s.ch, LIST, &lreq.base,
                                    &orchestrator__v1__list_products_response__descriptor, 5000,
                                    &resp, &st),
                     0);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    /* A call that needs the database gets UNAVAILABLE, reason DATABASE_UNAVAILABLE, with a
     * retry delay. */
    {
        Orchestrator__V1__UpdateProductRequest ureq =
            ORCHESTRATOR__V1__UPDATE_PRODUCT_REQUEST__INIT;
        Orchestrator__V1__Product p = ORCHESTRATOR__V1__PRODUCT__INIT;
        Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
        char *paths[] = {"description"};
        ProtobufCMessage *r2 = NULL;
        Orchestrator__V1__ListProductsResponse *l = NULL;
        lreq.page_size = 1;
        cli_call_unary(s.ch, LIST, &lreq.base,
                       &orchestrator__v1__list_products_response__descriptor, 5000,
                       (ProtobufCMessage **)&l, &st);
        cli_status_cleanup(&st);
        p.product_id = l->products[0]->product_id;
        p.description = "x";
        mask.n_paths = 1;
        mask.paths = paths;
        ureq.product = &p;
        ureq.update_mask = &mask;
        cli_call_unary(s.ch, "/orchestrator.v1.ProductService/UpdateProduct", &ureq.base,
                       &orchestrator__v1__product__descriptor, 10000, &r2, &st);
        assert_null(r2);
        assert_int_equal(st.code, 14);
        assert_string_equal(st.reason, "DATABASE_UNAVAILABLE");
        assert_true(st.retry_delay_ms > 0);
        cli_status_cleanup(&st);
        protobuf_c_message_free_unpacked(&l->base, NULL);
    }

    /* And SERVING within 5 s of its return, without a restart. */
    test_proxy_set_up(px, true);
    took = wait_for_status(&s, SERVING, 5000);
    assert_true(took >= 0);
    assert_int_equal(watch_next(w, 1000), SERVING);
    cli_stream_close(w, &st);
    cli_status_cleanup(&st);

    assert_int_equal(harness_server_stop(&s), 0);
    test_proxy_stop(px);
    harness_db_drop(db);
}

static void limits(void **state)
{
    harness_server_t s;
    Orchestrator__V1__ListProductsRequest req = ORCHESTRATOR__V1__LIST_PRODUCTS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    char *big;
    (void)state;

    harness_server_start(&s, NULL, (const char *const[]){"--max-message-bytes", "65536", NULL});
    /* A message over the limit: RESOURCE_EXHAUSTED. */
    big = malloc(100000);
    memset(big, 'a', 99999);
    big[99999] = '\0';
    req.filter = big;
    cli_call_unary(s.ch, LIST, &req.base, &orchestrator__v1__list_products_response__descriptor,
                   5000, &resp, &st);
    assert_null(resp);
    assert_int_equal(st.code, 8);
    cli_status_cleanup(&st);
    /* A string over its field's limit: INVALID_ARGUMENT naming the field. */
    big[5000] = '\0';
    cli_call_unary(s.ch, LIST, &req.base, &orchestrator__v1__list_products_response__descriptor,
                   5000, &resp, &st);
    assert_null(resp);
    assert_int_equal(st.code, 3);
    assert_int_equal(st.nviolations, 1);
    assert_string_equal(st.violations[0].field, "filter");
    cli_status_cleanup(&st);
    free(big);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);

    /* With the default message limit: a repeated field over 10,000 elements and a string
     * over 64 KiB are INVALID_ARGUMENT naming the field. */
    harness_server_start(&s, NULL, NULL);
    {
        Orchestrator__V1__UpdateProductRequest ureq =
            ORCHESTRATOR__V1__UPDATE_PRODUCT_REQUEST__INIT;
        Orchestrator__V1__Product p = ORCHESTRATOR__V1__PRODUCT__INIT;
        Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
        char **paths = calloc(10001, sizeof(char *));
        for (int i = 0; i < 10001; i++)
            paths[i] = "description";
        mask.n_paths = 10001;
        mask.paths = paths;
        p.product_id = "00000000-0000-4000-8000-000000000000";
        ureq.product = &p;
        ureq.update_mask = &mask;
        cli_call_unary(s.ch, "/orchestrator.v1.ProductService/UpdateProduct", &ureq.base,
                       &orchestrator__v1__product__descriptor, 10000, &resp, &st);
        assert_int_equal(st.code, 3);
        assert_string_equal(st.violations[0].field, "update_mask.paths");
        cli_status_cleanup(&st);
        mask.n_paths = 1;
        big = malloc(70000);
        memset(big, 'd', 69999);
        big[69999] = '\0';
        p.description = big;
        cli_call_unary(s.ch, "/orchestrator.v1.ProductService/UpdateProduct", &ureq.base,
                       &orchestrator__v1__product__descriptor, 10000, &resp, &st);
        assert_int_equal(st.code, 3);
        assert_string_equal(st.violations[0].field, "product.description");
        cli_status_cleanup(&st);
        free(big);
        free(paths);
    }
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

static void health_only_port(void **state)
{
    harness_server_t s;
    char addr[64], port[16];
    cli_channel_t *hc;
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    Orchestrator__V1__ListProductsRequest lreq = ORCHESTRATOR__V1__LIST_PRODUCTS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    (void)state;

    snprintf(port, sizeof(port), "%d", harness_free_port());
    snprintf(addr, sizeof(addr), "127.0.0.1:%s", port);
    harness_server_start(&s, NULL, (const char *const[]){"--health-listen", addr, NULL});
    hc = cli_channel_new(addr, NULL);
    assert_int_equal(cli_call_unary(hc, CHECK, &req.base,
                                    &grpc__health__v1__health_check_response__descriptor, 5000,
                                    &resp, &st),
                     0);
    assert_int_equal(((Grpc__Health__V1__HealthCheckResponse *)resp)->status, SERVING);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    /* Only health is served there. */
    cli_call_unary(hc, LIST, &lreq.base, &orchestrator__v1__list_products_response__descriptor,
                   5000, &resp, &st);
    assert_int_equal(st.code, 12);
    cli_status_cleanup(&st);
    cli_channel_free(hc);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

/* Runs orchestratord to completion (it must exit by itself) and captures its log. */
static int run_server(const char *dbname, const char *extra, char *out, size_t cap)
{
    char ci[512], addr[64];
    harness_conninfo(dbname, ci);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", harness_free_port());
    return harness_run((const char *const[]){harness_server_bin(), "--listen", addr,
                                             "--database-url", ci, extra ? extra : "--threads",
                                             extra ? "--threads" : "2", "2", NULL},
                       out, cap);
}

static void catalogue_drift_stops_start_up(void **state)
{
    static char out[1 << 16];
    harness_server_t s;
    char db[64];
    (void)state;

    harness_server_start(&s, NULL, NULL);
    snprintf(db, sizeof(db), "%s", s.dbname);
    assert_int_equal(harness_server_stop(&s), 0);

    /* The database knows a NodeBlock field the code does not (as if the code removed it),
     * and a live subscription holds a value for it. */
    harness_scalar(db, "INSERT INTO resource_types (resource_type) VALUES ('legacy_serial')");
    harness_scalar(db,
                   "INSERT INTO product_block_resource_types (product_block_id, resource_type_id) "
                   "SELECT product_block_id, resource_type_id FROM product_blocks, resource_types "
                   "WHERE name = 'NodeBlock' AND resource_type = 'legacy_serial'");
    harness_scalar(db,
                   "INSERT INTO subscriptions (subscription_id, product_id, customer_id, status) "
                   "SELECT '22222222-2222-4222-8222-222222222222', product_id, 'acme', 'active' "
                   "FROM products WHERE name = 'node Cisco'");
    harness_scalar(db,
                   "INSERT INTO subscription_instances (subscription_instance_id, subscription_id, "
                   "product_block_id) SELECT '33333333-3333-4333-8333-333333333333', "
                   "'22222222-2222-4222-8222-222222222222', product_block_id FROM product_blocks "
                   "WHERE name = 'NodeBlock'");
    harness_scalar(db, "INSERT INTO subscription_instance_values (subscription_instance_id, "
                       "resource_type_id, value) SELECT '33333333-3333-4333-8333-333333333333', "
                       "resource_type_id, 'SN123' FROM resource_types WHERE resource_type = "
                       "'legacy_serial'");
    assert_int_not_equal(run_server(db, "--migrate=auto", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "legacy_serial"));
    assert_non_null(strstr(out, "NodeBlock"));
    assert_non_null(strstr(out, "node "));

    /* A retyped field in use is refused the same way. */
    harness_scalar(db, "DELETE FROM subscription_instance_values WHERE value = 'SN123'");
    harness_scalar(db, "UPDATE product_block_resource_types SET field_type = 'integer' "
                       "WHERE resource_type_id = (SELECT resource_type_id FROM resource_types "
                       "WHERE resource_type = 'node_name')");
    harness_scalar(db,
                   "INSERT INTO subscription_instance_values (subscription_instance_id, "
                   "resource_type_id, value) SELECT '33333333-3333-4333-8333-333333333333', "
                   "resource_type_id, '42' FROM resource_types WHERE resource_type = 'node_name'");
    assert_int_not_equal(run_server(db, "--migrate=auto", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "node_name"));
    assert_non_null(strstr(out, "changed type from integer to string"));

    /* Once a migration dealt with the data (here: by hand), start-up applies the drift. */
    harness_scalar(db, "DELETE FROM subscription_instance_values WHERE value = '42'");
    harness_server_start(&s, db, NULL);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(db);
}

static void command_line(void **state)
{
    static char out[1 << 16];
    char db[64];
    (void)state;

    assert_int_equal(
        harness_run((const char *const[]){harness_server_bin(), "--help", NULL}, out, sizeof(out)),
        0);
    assert_non_null(strstr(out, "ORCH_DATABASE_URL"));
    assert_non_null(strstr(out, "--grace"));
    assert_int_equal(harness_run((const char *const[]){harness_server_bin(), "--version", NULL},
                                 out, sizeof(out)),
                     0);
    assert_non_null(strstr(out, "orchestratord "));
    assert_int_equal(
        harness_run((const char *const[]){harness_server_bin(), "--bogus", NULL}, out, sizeof(out)),
        2);
    assert_int_equal(
        harness_run((const char *const[]){harness_server_bin(), "--threads", "zero", NULL}, out,
                    sizeof(out)),
        2);
    assert_non_null(strstr(out, "--threads"));

    /* --migrate only: migrates and exits 0; the dump masks the password; JSON log lines. */
    harness_db_create(db);
    {
        char ci[600];
        harness_conninfo(db, ci);
        strcat(ci, " password=hunter2");
        assert_int_equal(
            harness_run((const char *const[]){harness_server_bin(), "--database-url", ci,
                                              "--migrate", "only", "--log-format", "json", NULL},
                        out, sizeof(out)),
            0);
    }
    assert_null(strstr(out, "hunter2"));
    assert_non_null(strstr(out, "password=*******"));
    assert_true(strncmp(out, "{\"time\":\"", 9) == 0);
    assert_non_null(strstr(out, "\"level\":\"info\""));
    harness_db_drop(db);
}

static void metrics_endpoint(void **state)
{
    static char out[1 << 17];
    harness_server_t s;
    char addr[64];
    int port = harness_free_port();
    Orchestrator__V1__ListProductsRequest req = ORCHESTRATOR__V1__LIST_PRODUCTS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    (void)state;

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    harness_server_start(&s, NULL, (const char *const[]){"--metrics-listen", addr, NULL});
    for (int i = 0; i < 3; i++) {
        cli_call_unary(s.ch, LIST, &req.base, &orchestrator__v1__list_products_response__descriptor,
                       5000, &resp, &st);
        protobuf_c_message_free_unpacked(resp, NULL);
        cli_status_cleanup(&st);
    }
    req.filter = "nope = 1";
    cli_call_unary(s.ch, LIST, &req.base, &orchestrator__v1__list_products_response__descriptor,
                   5000, &resp, &st);
    cli_status_cleanup(&st);
    /* A call is counted when it is over on the server; give the close a moment. */
    for (int i = 0; i < 50; i++) {
        assert_int_equal(harness_http_get(port, "/metrics", out, sizeof(out)), 200);
        if (strstr(out, "code=\"INVALID_ARGUMENT\"} 1"))
            break;
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    assert_non_null(strstr(out, "orch_rpc_total{method=\"/orchestrator.v1.ProductService/"
                                "ListProducts\",code=\"OK\"} 3"));
    assert_non_null(strstr(out, "orch_rpc_total{method=\"/orchestrator.v1.ProductService/"
                                "ListProducts\",code=\"INVALID_ARGUMENT\"} 1"));
    assert_non_null(strstr(out, "orch_rpc_duration_seconds_count{method=\"/orchestrator.v1."
                                "ProductService/ListProducts\"} 4"));
    assert_non_null(strstr(out, "# TYPE orch_rpc_duration_seconds histogram"));
    assert_non_null(strstr(out, "orch_db_pool_connections "));
    assert_int_equal(harness_http_get(port, "/other", out, sizeof(out)), 404);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_check_services),
        cmocka_unit_test(drain_with_watch_open),
        cmocka_unit_test(readiness_follows_the_database),
        cmocka_unit_test(limits),
        cmocka_unit_test(health_only_port),
        cmocka_unit_test(catalogue_drift_stops_start_up),
        cmocka_unit_test(command_line),
        cmocka_unit_test(metrics_endpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
