/* Unit tests of the shared filter compiler (SQL text and parameters, value errors, the id
 * prefix range) and of the shared ordering (parsing, keyset SQL, positions, page ends). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/filter_sql.h"
#include "db/order_sql.h"

static const char *const statuses[] = {"initial", "active", "terminated", NULL};
static const db_filter_column_t cols[] = {
    {"status", "s.status", DB_COL_ENUM, statuses, NULL},
    {"customer_id", "s.customer_id", DB_COL_TEXT, NULL, NULL},
    {"in_sync", "s.in_sync", DB_COL_BOOL, NULL, NULL},
    {"start_time", "s.start_time", DB_COL_TIME, NULL, NULL},
    {"version", "s.version", DB_COL_INT, NULL, NULL},
    {"product_id", "s.product_id", DB_COL_UUID, NULL, NULL},
    {"product", "p.name", DB_COL_TEXT, NULL,
     "s.product_id = (SELECT product_id FROM products WHERE name = $?)"},
    {NULL, NULL, 0, NULL, NULL},
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

/* A column's eq_sql replaces `=` only; the other operators compare its sql. */
static void equality_may_have_its_own_sql(void **state)
{
    db_sql_t q;
    orch_error_t err;
    (void)state;

    db_sql_init(&q);
    orch_error_init(&err);
    assert_int_equal(db_filter_compile("product = \"port 10G\" AND NOT product != x AND product : "
                                       "port AND product < y",
                                       cols, &q, &err),
                     ORCH_OK);
    assert_string_equal(q.text, " AND (((((s.product_id = (SELECT product_id FROM products WHERE "
                                "name = $1)) AND NOT coalesce((p.name <> $2), false)) AND "
                                "(p.name ILIKE $3)) AND (p.name < $4)))");
    assert_int_equal(q.nparams, 4);
    assert_string_equal(q.params[0], "port 10G");
    assert_string_equal(q.params[1], "x");
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

static void id_prefix_is_a_range(void **state)
{
    db_sql_t q;
    orch_error_t err;
    (void)state;
    db_sql_init(&q);
    orch_error_init(&err);
    assert_int_equal(db_filter_compile("product_id = \"1a2b3c4d5*\"", cols, &q, &err), ORCH_OK);
    assert_string_equal(q.text, " AND ((s.product_id BETWEEN $1::uuid AND $2::uuid))");
    assert_string_equal(q.params[0], "1a2b3c4d-5000-0000-0000-000000000000");
    assert_string_equal(q.params[1], "1a2b3c4d-5fff-ffff-ffff-ffffffffffff");
    db_sql_cleanup(&q);
    db_sql_init(&q);
    assert_int_equal(db_filter_compile("product_id != \"1a2b3c4d-5e*\"", cols, &q, &err), ORCH_OK);
    assert_string_equal(q.text, " AND ((NOT (s.product_id BETWEEN $1::uuid AND $2::uuid)))");
    assert_string_equal(q.params[0], "1a2b3c4d-5e00-0000-0000-000000000000");
    db_sql_cleanup(&q);
}

static const db_sort_column_t sorts[] = {
    {"start_time", "coalesce(s.start_time, 'infinity'::timestamptz)", "timestamptz"},
    {"description", "s.description", "text"},
    {"status", "s.status", "text"},
    {NULL, NULL, NULL},
};

static void orderings_parse_to_one_normal_form(void **state)
{
    db_order_t o;
    orch_error_t err;
    const char *bad[] = {"colour",
                         "start_time up",
                         "description,",
                         ", status",
                         "status status",
                         "status, status desc",
                         "start_time desc description",
                         "Status"};
    (void)state;
    orch_error_init(&err);
    assert_int_equal(db_order_parse(NULL, "start_time desc", sorts, "s.id", &o, &err), ORCH_OK);
    assert_string_equal(o.canonical, "start_time desc");
    assert_int_equal(db_order_parse("  ", "start_time desc", sorts, "s.id", &o, &err), ORCH_OK);
    assert_string_equal(o.canonical, "start_time desc");
    assert_int_equal(
        db_order_parse(" start_time  desc ,description asc,status", NULL, sorts, "s.id", &o, &err),
        ORCH_OK);
    assert_int_equal(o.n, 3);
    assert_string_equal(o.canonical, "start_time desc, description asc, status asc");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        orch_error_init(&err);
        assert_int_equal(db_order_parse(bad[i], "start_time desc", sorts, "s.id", &o, &err),
                         ORCH_INVALID_ARGUMENT);
        assert_string_equal(err.violations[0].field, "order_by");
    }
    orch_error_init(&err);
    db_order_parse("colour", NULL, sorts, "s.id", &o, &err);
    assert_non_null(strstr(err.violations[0].description, "start_time, description, status"));
}

static void keyset_follows_each_direction(void **state)
{
    db_order_t o;
    orch_error_t err;
    db_sql_t q;
    char *pos;
    const char *vals[2] = {"infinity", "a\x1f\\b"};
    (void)state;
    orch_error_init(&err);

    /* One direction: a row comparison. */
    assert_int_equal(
        db_order_parse("start_time desc, description desc", NULL, sorts, "s.id", &o, &err),
        ORCH_OK);
    pos = db_order_position(&o, vals, "7d1c0a4e-0000-4000-8000-000000000000");
    db_sql_init(&q);
    assert_int_equal(db_order_after(&q, &o, pos, &err), ORCH_OK);
    assert_string_equal(q.text, " AND ((coalesce(s.start_time, 'infinity'::timestamptz), "
                                "s.description, s.id) < ($1::timestamptz, $2::text, $3::uuid))");
    /* Values come back exactly, separator and escape included. */
    assert_string_equal(q.params[0], "infinity");
    assert_string_equal(q.params[1], "a\x1f\\b");
    assert_string_equal(q.params[2], "7d1c0a4e-0000-4000-8000-000000000000");
    db_sql_cleanup(&q);
    db_sql_init(&q);
    db_order_by(&q, &o);
    assert_string_equal(q.text, " ORDER BY coalesce(s.start_time, 'infinity'::timestamptz) DESC, "
                                "s.description DESC, s.id DESC");
    db_sql_cleanup(&q);

    /* Mixed: each key its own way, the id the first key's way. */
    assert_int_equal(db_order_parse("start_time desc, description", NULL, sorts, "s.id", &o, &err),
                     ORCH_OK);
    db_sql_init(&q);
    assert_int_equal(db_order_after(&q, &o, pos, &err), ORCH_OK);
    assert_string_equal(q.text,
                        " AND ((coalesce(s.start_time, 'infinity'::timestamptz) < $1::timestamptz) "
                        "OR (coalesce(s.start_time, 'infinity'::timestamptz) = $1::timestamptz AND "
                        "s.description > $2::text) OR (coalesce(s.start_time, "
                        "'infinity'::timestamptz) = $1::timestamptz AND s.description = $2::text "
                        "AND s.id < $3::uuid))");
    db_sql_cleanup(&q);

    /* A position of another ordering does not fit. */
    assert_int_equal(db_order_parse("status", NULL, sorts, "s.id", &o, &err), ORCH_OK);
    db_sql_init(&q);
    assert_int_equal(db_order_after(&q, &o, pos, &err), ORCH_INVALID_ARGUMENT);
    assert_string_equal(err.violations[0].field, "page_token");
    db_sql_cleanup(&q);
    free(pos);
}

static void page_ends_after_position_in_order(void **state)
{
    db_order_t o;
    orch_error_t err;
    db_sql_t q;
    char *pos;
    const char *vals[1] = {"active"};
    (void)state;
    orch_error_init(&err);
    assert_int_equal(db_order_parse("status desc", NULL, sorts, "s.id", &o, &err), ORCH_OK);

    /* The first page: order and one row more than asked, no position. */
    db_sql_init(&q);
    assert_int_equal(db_order_page(&q, &o, NULL, 20, &err), ORCH_OK);
    assert_string_equal(q.text, " ORDER BY s.status DESC, s.id DESC LIMIT 21");
    assert_int_equal(q.nparams, 0);
    db_sql_cleanup(&q);

    /* A later page: after the position first. */
    pos = db_order_position(&o, vals, "7d1c0a4e-0000-4000-8000-000000000000");
    db_sql_init(&q);
    assert_int_equal(db_order_page(&q, &o, pos, 20, &err), ORCH_OK);
    assert_string_equal(q.text, " AND ((s.status, s.id) < ($1::text, $2::uuid)) ORDER BY s.status "
                                "DESC, s.id DESC LIMIT 21");
    db_sql_cleanup(&q);

    /* A position that does not fit stops it before the ORDER BY. */
    assert_int_equal(db_order_parse("start_time, status", NULL, sorts, "s.id", &o, &err), ORCH_OK);
    db_sql_init(&q);
    assert_int_equal(db_order_page(&q, &o, pos, 20, &err), ORCH_INVALID_ARGUMENT);
    assert_string_equal(err.violations[0].field, "page_token");
    assert_null(strstr(q.text, "ORDER BY"));
    db_sql_cleanup(&q);
    free(pos);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compiles_to_parameterised_sql),
        cmocka_unit_test(equality_may_have_its_own_sql),
        cmocka_unit_test(values_must_fit_their_column),
        cmocka_unit_test(id_prefix_is_a_range),
        cmocka_unit_test(orderings_parse_to_one_normal_form),
        cmocka_unit_test(keyset_follows_each_direction),
        cmocka_unit_test(page_ends_after_position_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
