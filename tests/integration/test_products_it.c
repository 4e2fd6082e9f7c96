/* ProductService end to end: the real orchestratord on a fresh database, over gRPC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "orchestrator/v1/products.pb-c.h"

#define LIST "/orchestrator.v1.ProductService/ListProducts"
#define GET "/orchestrator.v1.ProductService/GetProduct"

static harness_server_t srv;

static int setup(void **state)
{
    (void)state;
    harness_server_start(&srv, NULL, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    /* Every test ends with a clean drain: SIGTERM must give exit status 0. */
    assert_int_equal(harness_server_stop(&srv), 0);
    harness_db_drop(srv.dbname);
    return 0;
}

static Orchestrator__V1__ListProductsResponse *list(const char *filter, int size, const char *token,
                                                    cli_status_t *st)
{
    Orchestrator__V1__ListProductsRequest req = ORCHESTRATOR__V1__LIST_PRODUCTS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    req.filter = (char *)(filter ? filter : "");
    req.page_size = size;
    req.page_token = (char *)(token ? token : "");
    memset(st, 0, sizeof(*st));
    cli_call_unary(srv.ch, LIST, &req.base, &orchestrator__v1__list_products_response__descriptor,
                   10000, &resp, st);
    return (Orchestrator__V1__ListProductsResponse *)resp;
}

static bool has_violation(const cli_status_t *st, const char *field)
{
    for (size_t i = 0; i < st->nviolations; i++)
        if (strcmp(st->violations[i].field, field) == 0)
            return true;
    return false;
}

static void walking_pages_returns_each_product_once(void **state)
{
    (void)state;
    for (int size = 1; size <= 3; size++) {
        char seen[32][64];
        size_t nseen = 0;
        char *token = NULL;
        int pages = 0;
        do {
            cli_status_t st;
            Orchestrator__V1__ListProductsResponse *r = list(NULL, size, token, &st);
            assert_int_equal(st.code, 0);
            assert_non_null(r);
            assert_int_equal(r->total_size, 9);
            assert_true(r->n_products <= (size_t)size);
            for (size_t i = 0; i < r->n_products; i++) {
                for (size_t j = 0; j < nseen; j++)
                    assert_string_not_equal(seen[j], r->products[i]->name);
                assert_true(nseen < 32);
                snprintf(seen[nseen++], 64, "%s", r->products[i]->name);
            }
            free(token);
            token = r->next_page_token[0] ? strdup(r->next_page_token) : NULL;
            protobuf_c_message_free_unpacked(&r->base, NULL);
            cli_status_cleanup(&st);
            assert_true(++pages <= 10);
        } while (token);
        assert_int_equal(nseen, 9);
    }
}

static void bad_page_tokens_name_page_token(void **state)
{
    cli_status_t st;
    Orchestrator__V1__ListProductsResponse *r = list("tag = NODE", 1, NULL, &st);
    char *token, *tampered;
    (void)state;

    assert_non_null(r);
    assert_int_equal(r->total_size, 4);
    token = strdup(r->next_page_token);
    assert_true(strlen(token) > 8);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);

    /* The same token with another filter. */
    r = list("tag = PORT", 1, token, &st);
    assert_null(r);
    assert_int_equal(st.code, 3); /* INVALID_ARGUMENT */
    assert_true(has_violation(&st, "page_token"));
    assert_string_equal(st.domain, "orchestrator.v1");
    cli_status_cleanup(&st);

    /* A tampered token. */
    tampered = strdup(token);
    tampered[5] = tampered[5] == 'x' ? 'y' : 'x';
    r = list("tag = NODE", 1, tampered, &st);
    assert_null(r);
    assert_int_equal(st.code, 3);
    assert_true(has_violation(&st, "page_token"));
    cli_status_cleanup(&st);

    /* Garbage. */
    r = list(NULL, 1, "garbage!", &st);
    assert_null(r);
    assert_int_equal(st.code, 3);
    assert_true(has_violation(&st, "page_token"));
    cli_status_cleanup(&st);

    /* The untouched token still works. */
    r = list("tag = NODE", 1, token, &st);
    assert_non_null(r);
    assert_int_equal(r->n_products, 1);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);
    free(token);
    free(tampered);
}

static void filters_and_page_size(void **state)
{
    cli_status_t st;
    Orchestrator__V1__ListProductsResponse *r;
    (void)state;

    r = list("product_type = Port OR name = l2vpn", 0, NULL, &st);
    assert_non_null(r);
    assert_int_equal(r->n_products, 3);
    assert_string_equal(r->next_page_token, "");
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);

    r = list("status = \"active\" AND name : cisco", 0, NULL, &st);
    assert_non_null(r);
    assert_int_equal(r->n_products, 1);
    assert_string_equal(r->products[0]->name, "node Cisco");
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);

    r = list("tag = (", 0, NULL, &st);
    assert_null(r);
    assert_int_equal(st.code, 3);
    assert_true(has_violation(&st, "filter"));
    assert_non_null(strstr(st.message, "offset"));
    cli_status_cleanup(&st);

    r = list(NULL, -5, NULL, &st);
    assert_null(r);
    assert_int_equal(st.code, 3);
    assert_true(has_violation(&st, "page_size"));
    cli_status_cleanup(&st);

    /* Above the maximum is clamped, not refused. */
    r = list(NULL, 100000, NULL, &st);
    assert_non_null(r);
    assert_int_equal(r->n_products, 9);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);
}

static Orchestrator__V1__Product *get(const char *id, const char *name, cli_status_t *st)
{
    Orchestrator__V1__GetProductRequest req = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    if (id) {
        req.key_case = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_PRODUCT_ID;
        req.product_id = (char *)id;
    } else if (name) {
        req.key_case = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_NAME;
        req.name = (char *)name;
    }
    memset(st, 0, sizeof(*st));
    cli_call_unary(srv.ch, GET, &req.base, &orchestrator__v1__product__descriptor, 10000, &resp,
                   st);
    return (Orchestrator__V1__Product *)resp;
}

static void get_product_by_name_and_id(void **state)
{
    cli_status_t st;
    Orchestrator__V1__Product *p = get(NULL, "node Cisco", &st), *q;
    bool has_node_block = false;
    (void)state;

    assert_non_null(p);
    assert_string_equal(p->tag, "NODE");
    assert_int_equal(p->status, ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_ACTIVE);
    assert_int_equal(p->n_fixed_inputs, 1);
    assert_string_equal(p->fixed_inputs[0]->name, "node_type");
    assert_string_equal(p->fixed_inputs[0]->value, "Cisco");
    assert_string_equal(p->root_product_block, "NodeBlock");
    for (size_t i = 0; i < p->n_product_blocks; i++)
        has_node_block |= strcmp(p->product_blocks[i]->name, "NodeBlock") == 0 &&
                          p->product_blocks[i]->n_fields == 10;
    assert_true(has_node_block);
    assert_true(p->n_workflows >= 4);
    assert_non_null(p->create_time);
    assert_true(p->create_time->seconds > 1700000000);
    cli_status_cleanup(&st);

    q = get(p->product_id, NULL, &st);
    assert_non_null(q);
    assert_string_equal(q->name, "node Cisco");
    protobuf_c_message_free_unpacked(&q->base, NULL);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    cli_status_cleanup(&st);
}

static void get_product_errors(void **state)
{
    cli_status_t st;
    (void)state;

    assert_null(get("6b1c0a8e-7d2f-4e3a-9b5c-1d2e3f4a5b6c", NULL, &st));
    assert_int_equal(st.code, 5); /* NOT_FOUND */
    assert_string_equal(st.reason, "PRODUCT_NOT_FOUND");
    cli_status_cleanup(&st);

    assert_null(get("not-a-uuid", NULL, &st));
    assert_int_equal(st.code, 3);
    assert_true(has_violation(&st, "product_id"));
    cli_status_cleanup(&st);

    /* Upper case is not the canonical form. */
    assert_null(get("6B1C0A8E-7D2F-4E3A-9B5C-1D2E3F4A5B6C", NULL, &st));
    assert_int_equal(st.code, 3);
    cli_status_cleanup(&st);

    assert_null(get(NULL, "node Juniper", &st));
    assert_int_equal(st.code, 5);
    cli_status_cleanup(&st);

    assert_null(get(NULL, NULL, &st));
    assert_int_equal(st.code, 3);
    cli_status_cleanup(&st);
}

static void hostile_transport_input(void **state)
{
    const unsigned char truncated[] = {0x1a, 0x0a, 'a', 'b'};
    const unsigned char bad_utf8[] = {0x12, 0x02, 0xff, 0xfe};
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    (void)state;

    cli_call_unary_raw(srv.ch, LIST, truncated, sizeof(truncated),
                       &orchestrator__v1__list_products_response__descriptor, 5000, &resp, &st);
    assert_null(resp);
    assert_int_equal(st.code, 3);
    cli_status_cleanup(&st);

    memset(&st, 0, sizeof(st));
    cli_call_unary_raw(srv.ch, GET, bad_utf8, sizeof(bad_utf8),
                       &orchestrator__v1__product__descriptor, 5000, &resp, &st);
    assert_null(resp);
    assert_int_equal(st.code, 3);
    assert_true(has_violation(&st, "name"));
    cli_status_cleanup(&st);

    /* An unknown method is UNIMPLEMENTED at once, not a hang until the deadline. */
    memset(&st, 0, sizeof(st));
    cli_call_unary_raw(srv.ch, "/orchestrator.v1.ProductService/NoSuchMethod", "", 0,
                       &orchestrator__v1__product__descriptor, 5000, &resp, &st);
    assert_int_equal(st.code, 12);
    cli_status_cleanup(&st);

    /* The server is still fine. */
    assert_non_null(resp = (ProtobufCMessage *)get(NULL, "l2vpn", &st));
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
}

static void restart_keeps_ids_and_migrates_once(void **state)
{
    cli_status_t st;
    Orchestrator__V1__Product *p = get(NULL, "port 10G", &st), *q;
    char id[64], db[64];
    (void)state;

    assert_non_null(p);
    snprintf(id, sizeof(id), "%s", p->product_id);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    cli_status_cleanup(&st);
    snprintf(db, sizeof(db), "%s", srv.dbname);
    assert_int_equal(harness_server_stop(&srv), 0);
    harness_server_start(&srv, db, (const char *const[]){"--migrate", "check", NULL});
    q = get(id, NULL, &st);
    assert_non_null(q);
    assert_string_equal(q->name, "port 10G");
    protobuf_c_message_free_unpacked(&q->base, NULL);
    cli_status_cleanup(&st);
}

static void orchctl_lists_and_gets(void **state)
{
    static char out[65536];
    const char *bin = harness_orchctl_bin();
    (void)state;

    assert_int_equal(
        harness_run((const char *const[]){bin, "--server", srv.addr, "product", "list", NULL}, out,
                    sizeof(out)),
        0);
    assert_non_null(strstr(out, "NAME"));
    assert_non_null(strstr(out, "node Cisco"));
    assert_non_null(strstr(out, "core link 100G"));

    assert_int_equal(harness_run((const char *const[]){bin, "--server", srv.addr, "product", "list",
                                                       "--json", NULL},
                                 out, sizeof(out)),
                     0);
    assert_int_equal(out[0], '[');
    assert_non_null(strstr(out, "\"name\": \"l2vpn\"") ? (void *)1
                                                       : strstr(out, "\"name\":\"l2vpn\""));

    assert_int_equal(harness_run((const char *const[]){bin, "--server", srv.addr, "product", "get",
                                                       "node Cisco", NULL},
                                 out, sizeof(out)),
                     0);
    assert_non_null(strstr(out, "node_type"));
    assert_non_null(strstr(out, "NodeBlock"));

    /* Exit codes: not found 3, refused 4, usage 2, unavailable 5. */
    assert_int_equal(harness_run((const char *const[]){bin, "--server", srv.addr, "product", "get",
                                                       "node Juniper", NULL},
                                 out, sizeof(out)),
                     3);
    assert_non_null(strstr(out, "NOT_FOUND"));
    assert_int_equal(harness_run((const char *const[]){bin, "--server", srv.addr, "product", "list",
                                                       "--filter", "colour = red", NULL},
                                 out, sizeof(out)),
                     4);
    assert_non_null(strstr(out, "filter"));
    assert_int_equal(
        harness_run((const char *const[]){bin, "product", "frobnicate", NULL}, out, sizeof(out)),
        2);
    assert_int_equal(harness_run((const char *const[]){bin, "--server", "127.0.0.1:1", "--timeout",
                                                       "2", "product", "list", NULL},
                                 out, sizeof(out)),
                     5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(walking_pages_returns_each_product_once, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_page_tokens_name_page_token, setup, teardown),
        cmocka_unit_test_setup_teardown(filters_and_page_size, setup, teardown),
        cmocka_unit_test_setup_teardown(get_product_by_name_and_id, setup, teardown),
        cmocka_unit_test_setup_teardown(get_product_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_transport_input, setup, teardown),
        cmocka_unit_test_setup_teardown(restart_keeps_ids_and_migrates_once, setup, teardown),
        cmocka_unit_test_setup_teardown(orchctl_lists_and_gets, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
