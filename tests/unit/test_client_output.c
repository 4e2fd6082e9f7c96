/* Unit tests of orchctl's output formats: what a user reads in a table and what a script
 * reads in the JSON (field names, enum names, timestamps, oneofs, maps, bad UTF-8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "google/rpc/error_details.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "orchestrator/v1/products.pb-c.h"
#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs the table printer into a string; caller frees. */
static char *table_text(const cli_table_t *t, int indent)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    cli_table_print(t, f, indent);
    fclose(f);
    return buf;
}

static void test_table_aligns_columns_without_trailing_blanks(void **state)
{
    (void)state;
    const char *h[] = {"NAME", "TAG", "ID"};
    cli_table_t *t = cli_table_new(3, h);
    const char *r1[] = {"node Cisco", "NODE", "1"};
    const char *r2[] = {"ü", "", ""};
    const char *r3[] = {"x", NULL, "3"};
    cli_table_add_row(t, r1);
    cli_table_add_row(t, r2);
    cli_table_add_row(t, r3);
    assert_int_equal(cli_table_rows(t), 3);
    char *s = table_text(t, 2);
    assert_string_equal(s, "  NAME        TAG   ID\n"
                           "  node Cisco  NODE  1\n"
                           "  ü\n" /* two empty trailing cells: no padding */
                           "  x                 3\n");
    free(s);
    cli_table_free(t);
    cli_table_free(NULL);
}

static void test_enum_names_are_lower_case_short_names(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(cli_enum_name(&orchestrator__v1__product_status__descriptor,
                                      ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_ACTIVE, buf,
                                      sizeof(buf)),
                        "active");
    assert_string_equal(cli_enum_name(&orchestrator__v1__product_status__descriptor,
                                      ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_PHASE_OUT,
                                      buf, sizeof(buf)),
                        "phase_out");
    assert_string_equal(cli_enum_name(&orchestrator__v1__field_type__descriptor,
                                      ORCHESTRATOR__V1__FIELD_TYPE__FIELD_TYPE_IP_PREFIX, buf,
                                      sizeof(buf)),
                        "ip_prefix");
    /* No prefix to strip. */
    assert_string_equal(
        cli_enum_name(&grpc__health__v1__health_check_response__serving_status__descriptor,
                      GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING, buf,
                      sizeof(buf)),
        "not_serving");
    /* A value from a newer server prints as its number. */
    assert_string_equal(
        cli_enum_name(&orchestrator__v1__product_status__descriptor, 42, buf, sizeof(buf)), "42");
}

static void test_timestamps_are_rfc3339_utc(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(cli_format_timestamp(1714564800, 0, buf, sizeof(buf)),
                        "2024-05-01T12:00:00Z");
    assert_string_equal(cli_format_timestamp(1714564800, 250000000, buf, sizeof(buf)),
                        "2024-05-01T12:00:00.250Z");
    assert_string_equal(cli_format_timestamp(0, 1000, buf, sizeof(buf)),
                        "1970-01-01T00:00:00.000001Z");
}

static void test_product_json_uses_proto_names(void **state)
{
    (void)state;
    Orchestrator__V1__Product p = ORCHESTRATOR__V1__PRODUCT__INIT;
    Orchestrator__V1__FixedInput fi = ORCHESTRATOR__V1__FIXED_INPUT__INIT;
    Orchestrator__V1__FixedInput *fis[] = {&fi};
    Orchestrator__V1__ProductBlockField fld = ORCHESTRATOR__V1__PRODUCT_BLOCK_FIELD__INIT;
    Orchestrator__V1__ProductBlockField *flds[] = {&fld};
    char *choices[] = {"core", "edge"};
    Orchestrator__V1__ProductBlock blk = ORCHESTRATOR__V1__PRODUCT_BLOCK__INIT;
    Orchestrator__V1__ProductBlock *blks[] = {&blk};
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    char bad_utf8[] = {'a', (char)0xff, 'b', '\0'};

    p.product_id = "6f1c6b8e-5e4e-4c3b-9d7e-0a1b2c3d4e5f";
    p.name = "node Cisco";
    p.description = bad_utf8;
    p.status = ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_PRE_PRODUCTION;
    fi.name = "vendor";
    fi.value = "Cisco";
    p.n_fixed_inputs = 1;
    p.fixed_inputs = fis;
    fld.name = "role";
    fld.type = ORCHESTRATOR__V1__FIELD_TYPE__FIELD_TYPE_STRING;
    fld.required = 1;
    fld.n_choices = 2;
    fld.choices = choices;
    blk.name = "NodeBlock";
    blk.n_fields = 1;
    blk.fields = flds;
    p.n_product_blocks = 1;
    p.product_blocks = blks;
    ts.seconds = 1714564800;
    p.create_time = &ts;

    json_t *j = cli_json_from_message(&p.base);
    assert_string_equal(json_string_value(json_object_get(j, "product_id")), p.product_id);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "pre_production");
    assert_string_equal(json_string_value(json_object_get(j, "description")), "a\xEF\xBF\xBD"
                                                                              "b");
    assert_string_equal(json_string_value(json_object_get(j, "create_time")),
                        "2024-05-01T12:00:00Z");
    assert_true(json_is_null(json_object_get(j, "end_time")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "fixed_inputs"), 0), "value")),
                        "Cisco");
    json_t *f = json_array_get(
        json_object_get(json_array_get(json_object_get(j, "product_blocks"), 0), "fields"), 0);
    assert_string_equal(json_string_value(json_object_get(f, "type")), "string");
    assert_true(json_is_true(json_object_get(f, "required")));
    assert_true(json_is_false(json_object_get(f, "is_list")));
    assert_int_equal(json_array_size(json_object_get(f, "choices")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "workflows")), 0);
    json_decref(j);
}

static void test_oneof_shows_only_the_set_member(void **state)
{
    (void)state;
    Orchestrator__V1__GetProductRequest req = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__INIT;
    req.key_case = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_NAME;
    req.name = "node Cisco";
    json_t *j = cli_json_from_message(&req.base);
    assert_int_equal(json_object_size(j), 1);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "node Cisco");
    json_decref(j);
}

static void test_maps_and_durations(void **state)
{
    (void)state;
    Google__Rpc__ErrorInfo info = GOOGLE__RPC__ERROR_INFO__INIT;
    Google__Rpc__ErrorInfo__MetadataEntry e = GOOGLE__RPC__ERROR_INFO__METADATA_ENTRY__INIT;
    Google__Rpc__ErrorInfo__MetadataEntry *es[] = {&e};
    e.key = "field";
    e.value = "page_token";
    info.reason = "INVALID_PAGE_TOKEN";
    info.n_metadata = 1;
    info.metadata = es;
    json_t *j = cli_json_from_message(&info.base);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "metadata"), "field")),
                        "page_token");
    json_decref(j);

    Google__Rpc__RetryInfo ri = GOOGLE__RPC__RETRY_INFO__INIT;
    Google__Protobuf__Duration d = GOOGLE__PROTOBUF__DURATION__INIT;
    d.seconds = 1;
    d.nanos = 500000000;
    ri.retry_delay = &d;
    j = cli_json_from_message(&ri.base);
    assert_string_equal(json_string_value(json_object_get(j, "retry_delay")), "1.500s");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_aligns_columns_without_trailing_blanks),
        cmocka_unit_test(test_enum_names_are_lower_case_short_names),
        cmocka_unit_test(test_timestamps_are_rfc3339_utc),
        cmocka_unit_test(test_product_json_uses_proto_names),
        cmocka_unit_test(test_oneof_shows_only_the_set_member),
        cmocka_unit_test(test_maps_and_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
