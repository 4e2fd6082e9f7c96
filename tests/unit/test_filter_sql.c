/* Unit tests of the shared filter compiler: SQL text and parameters, and value errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "db/filter_sql.h"

static const char *const statuses[] = {"initial", "active", "terminated", NULL};
static const db_filter_column_t cols[] = {
    {"status", "s.status", DB_COL_ENUM, statuses},
    {"customer_id", "s.customer_id", DB_COL_TEXT, NULL},
    {"in_sync", "s.in_sync", DB_COL_BOOL, NULL},
    {"start_time", "s.start_time", DB_COL_TIME, NULL},
    {"version", "s.version", DB_COL_INT, NULL},
    {"product_id", "s.product_id", DB_COL_UUID, NULL},
    {NULL, NULL, 0, NULL},
};

static void compiles_to_parameterised_sql(void **state)
{
    db_sql_t q;
    orch_error_t err;
    (void)state;

    db_sql_init(&q);
    orch_error_init(&err);
    assert_int_equal(db_filter_compile("status = active AND (customer_id : \"ac%me\" OR NOT "
                                       "in_sync = true) AND version >= 3",
                                       cols, &q, &err),
                     ORCH_OK);
    assert_string_equal(q.text, " AND ((((s.status = $1) AND ((s.customer_id ILIKE $2) OR NOT "
                                "coalesce((s.in_sync = $3::boolean), false))) AND "
                                "(s.version >= $4::bigint)))");
    assert_int_equal(q.nparams, 4);
    assert_string_equal(q.params[0], "active");
    assert_string_equal(q.params[1], "%ac\\%me%");
    assert_string_equal(q.params[2], "true");
    assert_string_equal(q.params[3], "3");
    db_sql_cleanup(&q);

    db_sql_init(&q);
    assert_int_equal(db_filter_compile("", cols, &q, &err), ORCH_OK);
    assert_string_equal(q.text, "");
    db_sql_cleanup(&q);
}

static void values_must_fit_their_column(void **state)
{
    const char *bad[] = {
        "status = running", "version = 1.5", "in_sync = yes", "start_time > yesterday",
        "product_id = 123", "version : 3",   "nope = 1"};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        db_sql_t q;
        orch_error_t err;
        db_sql_init(&q);
        orch_error_init(&err);
        assert_int_equal(db_filter_compile(bad[i], cols, &q, &err), ORCH_INVALID_ARGUMENT);
        assert_string_equal(err.violations[0].field, "filter");
        db_sql_cleanup(&q);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compiles_to_parameterised_sql),
        cmocka_unit_test(values_must_fit_their_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
