/* Unit tests of the codec and the status mapping: round trips, malformed bytes, UTF-8,
 * size limits, and the google.rpc.Status details a client decodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <grpc/byte_buffer.h>

#include "google/protobuf/struct.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "orchestrator/v1/products.pb-c.h"
#include "server/rpc/codec.h"
#include "server/rpc/status.h"

static void round_trip(void **state)
{
    Orchestrator__V1__ListProductsRequest req = ORCHESTRATOR__V1__LIST_PRODUCTS_REQUEST__INIT;
    orch_arena_t *a = orch_arena_new();
    ProtobufCAllocator alloc;
    ProtobufCMessage *out;
    orch_error_t err;
    grpc_byte_buffer *bb;
    (void)state;

    req.page_size = 7;
    req.filter = "name : \"caf\xc3\xa9\"";
    bb = srv_codec_pack(&req.base);
    srv_codec_arena_allocator(&alloc, a);
    orch_error_init(&err);
    assert_int_equal(srv_codec_unpack(bb, &orchestrator__v1__list_products_request__descriptor,
                                      &alloc, 1024, &out, &err),
                     ORCH_OK);
    assert_int_equal(((Orchestrator__V1__ListProductsRequest *)out)->page_size, 7);
    assert_string_equal(((Orchestrator__V1__ListProductsRequest *)out)->filter, req.filter);
    /* Over the limit. */
    assert_int_equal(srv_codec_unpack(bb, &orchestrator__v1__list_products_request__descriptor,
                                      &alloc, 4, &out, &err),
                     ORCH_RESOURCE_EXHAUSTED);
    grpc_byte_buffer_destroy(bb);
    /* An empty payload is the default message. */
    assert_int_equal(srv_codec_unpack(NULL, &orchestrator__v1__list_products_request__descriptor,
                                      &alloc, 1024, &out, &err),
                     ORCH_OK);
    orch_arena_free(a);
}

static grpc_byte_buffer *raw(const void *p, size_t n)
{
    grpc_slice s = grpc_slice_from_copied_buffer(p, n);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static void malformed_and_bad_utf8(void **state)
{
    /* Field 3 (filter), length 10, but only 2 bytes follow. */
    const unsigned char truncated[] = {0x1a, 0x0a, 'a', 'b'};
    /* Field 2 (name) of GetProductRequest = "\xff\xfe". */
    const unsigned char bad_utf8[] = {0x12, 0x02, 0xff, 0xfe};
    orch_arena_t *a = orch_arena_new();
    ProtobufCAllocator alloc;
    ProtobufCMessage *out;
    orch_error_t err;
    grpc_byte_buffer *bb;
    (void)state;

    srv_codec_arena_allocator(&alloc, a);
    bb = raw(truncated, sizeof(truncated));
    orch_error_init(&err);
    assert_int_equal(srv_codec_unpack(bb, &orchestrator__v1__list_products_request__descriptor,
                                      &alloc, 1024, &out, &err),
                     ORCH_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "orchestrator.v1.ListProductsRequest"));
    grpc_byte_buffer_destroy(bb);

    bb = raw(bad_utf8, sizeof(bad_utf8));
    orch_error_init(&err);
    assert_int_equal(srv_codec_unpack(bb, &orchestrator__v1__get_product_request__descriptor,
                                      &alloc, 1024, &out, &err),
                     ORCH_INVALID_ARGUMENT);
    assert_string_equal(err.violations[0].field, "name");
    grpc_byte_buffer_destroy(bb);
    orch_arena_free(a);
}

static void status_details_decode(void **state)
{
    orch_error_t err;
    grpc_slice s;
    Google__Rpc__Status *st;
    Google__Rpc__ErrorInfo *info;
    Google__Rpc__BadRequest *bad;
    (void)state;

    orch_error_init(&err);
    orch_error_invalid(&err, "page_token", "is not a token this service issued");
    s = srv_status_details(&err);
    st = google__rpc__status__unpack(NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    assert_non_null(st);
    assert_int_equal(st->code, GRPC_STATUS_INVALID_ARGUMENT);
    assert_int_equal(st->n_details, 2);
    assert_string_equal(st->details[0]->type_url, "type.googleapis.com/google.rpc.ErrorInfo");
    info = google__rpc__error_info__unpack(NULL, st->details[0]->value.len,
                                           st->details[0]->value.data);
    assert_string_equal(info->domain, "orchestrator.v1");
    assert_string_equal(info->reason, "INVALID_ARGUMENT");
    assert_string_equal(st->details[1]->type_url, "type.googleapis.com/google.rpc.BadRequest");
    bad = google__rpc__bad_request__unpack(NULL, st->details[1]->value.len,
                                           st->details[1]->value.data);
    assert_int_equal(bad->n_field_violations, 1);
    assert_string_equal(bad->field_violations[0]->field, "page_token");
    google__rpc__bad_request__free_unpacked(bad, NULL);
    google__rpc__error_info__free_unpacked(info, NULL);
    google__rpc__status__free_unpacked(st, NULL);
    grpc_slice_unref(s);

    assert_int_equal(srv_status_code(ORCH_NOT_FOUND), GRPC_STATUS_NOT_FOUND);
    assert_int_equal(srv_status_code(ORCH_UNAVAILABLE), GRPC_STATUS_UNAVAILABLE);
    assert_int_equal(srv_status_code(ORCH_FAILED_PRECONDITION), GRPC_STATUS_FAILED_PRECONDITION);
}

static void timestamps(void **state)
{
    orch_arena_t *a = orch_arena_new();
    Google__Protobuf__Timestamp *ts;
    (void)state;
    assert_null(srv_codec_timestamp(a, 0));
    ts = srv_codec_timestamp(a, 1700000000123456LL);
    assert_int_equal(ts->seconds, 1700000000);
    assert_int_equal(ts->nanos, 123456000);
    ts = srv_codec_timestamp(a, -1);
    assert_int_equal(ts->seconds, -1);
    assert_int_equal(ts->nanos, 999999000);
    orch_arena_free(a);
}

/* Value{struct_value: Struct{fields: {"a": <inner>}}}, depth times. */
static grpc_byte_buffer *nested_value(int depth)
{
    Google__Protobuf__Value *vals = calloc((size_t)depth + 1, sizeof(*vals));
    Google__Protobuf__Struct *structs = calloc((size_t)depth, sizeof(*structs));
    Google__Protobuf__Struct__FieldsEntry *entries = calloc((size_t)depth, sizeof(*entries));
    Google__Protobuf__Struct__FieldsEntry **eptrs = calloc((size_t)depth, sizeof(*eptrs));
    grpc_byte_buffer *bb;

    google__protobuf__value__init(&vals[depth]);
    vals[depth].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
    vals[depth].number_value = 1;
    for (int i = depth - 1; i >= 0; i--) {
        google__protobuf__struct__fields_entry__init(&entries[i]);
        entries[i].key = "a";
        entries[i].value = &vals[i + 1];
        eptrs[i] = &entries[i];
        google__protobuf__struct__init(&structs[i]);
        structs[i].n_fields = 1;
        structs[i].fields = &eptrs[i];
        google__protobuf__value__init(&vals[i]);
        vals[i].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
        vals[i].struct_value = &structs[i];
    }
    bb = srv_codec_pack(&vals[0].base);
    free(vals);
    free(structs);
    free(entries);
    free(eptrs);
    return bb;
}

static void nesting_and_size_limits(void **state)
{
    orch_arena_t *a = orch_arena_new();
    ProtobufCAllocator alloc;
    ProtobufCMessage *out;
    orch_error_t err;
    grpc_byte_buffer *bb;
    Orchestrator__V1__ListProductsRequest req = ORCHESTRATOR__V1__LIST_PRODUCTS_REQUEST__INIT;
    char *big;
    (void)state;

    srv_codec_arena_allocator(&alloc, a);
    /* 20 Struct levels (60 messages deep) pass; 1000 are refused before decoding. */
    bb = nested_value(20);
    orch_error_init(&err);
    assert_int_equal(
        srv_codec_unpack(bb, &google__protobuf__value__descriptor, &alloc, 1 << 20, &out, &err),
        ORCH_OK);
    grpc_byte_buffer_destroy(bb);
    bb = nested_value(1000);
    orch_error_init(&err);
    assert_int_equal(
        srv_codec_unpack(bb, &google__protobuf__value__descriptor, &alloc, 1 << 20, &out, &err),
        ORCH_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "nests deeper"));
    grpc_byte_buffer_destroy(bb);

    /* A string over 64 KiB is refused naming its field. */
    big = malloc(70000);
    memset(big, 'x', 69999);
    big[69999] = '\0';
    req.page_token = big;
    bb = srv_codec_pack(&req.base);
    orch_error_init(&err);
    assert_int_equal(srv_codec_unpack(bb, &orchestrator__v1__list_products_request__descriptor,
                                      &alloc, 1 << 20, &out, &err),
                     ORCH_INVALID_ARGUMENT);
    assert_string_equal(err.violations[0].field, "page_token");
    grpc_byte_buffer_destroy(bb);
    free(big);
    orch_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(malformed_and_bad_utf8),
        cmocka_unit_test(status_details_decode),
        cmocka_unit_test(timestamps),
        cmocka_unit_test(nesting_and_size_limits),
    };
    int rc;
    grpc_init();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    grpc_shutdown();
    return rc;
}
