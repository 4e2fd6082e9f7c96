/* The start-up checks in the real server: each broken fixture (tests/testbin/broken.c,
 * chosen with ORCH_TEST_BROKEN_FIXTURE) makes the test binary orchestratord-test exit
 * non-zero with one log line naming the C symbol, before it touches the database; the
 * shipped definitions pass; catalogue drift against the database names the block's symbol;
 * and the production orchestratord carries none of the test code (issue 18). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "harness.h"

static char out[1 << 16];

static PGresult *db_query(const char *dbname, const char *q)
{
    char ci[512];
    PGconn *c;
    PGresult *r;
    harness_conninfo(dbname, ci);
    c = PQconnectdb(ci);
    r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", q, PQerrorMessage(c));
    PQfinish(c);
    return r;
}

static void db_sql(const char *dbname, const char *q)
{
    PQclear(db_query(dbname, q));
}

static long db_count(const char *dbname, const char *q)
{
    PGresult *r = db_query(dbname, q);
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* Runs the server binary bin until it exits by itself; its log in out. */
static int run_binary(const char *bin, const char *dbname, const char *mode)
{
    char ci[512], addr[64];
    harness_conninfo(dbname, ci);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", harness_free_port());
    return harness_run((const char *const[]){bin, "--listen", addr, "--database-url", ci,
                                             "--auth=off", mode, NULL},
                       out, sizeof(out));
}

/* Runs the test binary (orchestratord-test) until it exits by itself; its log in out. */
static int run_server(const char *dbname, const char *mode)
{
    return run_binary(harness_server_bin(), dbname, mode);
}

static void shipped_definitions_pass(void **state)
{
    char db[64];
    (void)state;
    unsetenv("ORCH_TEST_BROKEN_FIXTURE");
    harness_db_create(db);
    /* --migrate=only exits after migrating: the checks ran before it. */
    assert_int_equal(run_server(db, "--migrate=only"), 0);
    assert_non_null(strstr(out, "start-up checks: "));
    assert_null(strstr(out, " error "));
    assert_null(strstr(out, "[form-field-unread]"));
    /* Warnings are logged, and the server starts. */
    setenv("ORCH_TEST_BROKEN_FIXTURE", "unoffered", 1);
    assert_int_equal(run_server(db, "--migrate=only"), 0);
    assert_non_null(strstr(out, "warn  check: orch_wf_broken_unoffered "
                                "(tests/testbin/broken.c): workflow broken_unoffered (MODIFY) "
                                "is registered but no product lists it"));
    assert_non_null(strstr(out, "start-up checks: "));
    assert_non_null(strstr(out, "1 warning\n"));
    /* An unknown fixture name registers nothing. */
    setenv("ORCH_TEST_BROKEN_FIXTURE", "no_such_fixture", 1);
    assert_int_equal(run_server(db, "--migrate=only"), 0);
    unsetenv("ORCH_TEST_BROKEN_FIXTURE");
    harness_db_drop(db);
}

static void each_broken_fixture_refuses_to_start(void **state)
{
    static const struct {
        const char *fixture, *symbol, *check;
    } cases[] = {
        {"dup_key", "orch_wf_broken_dup_key", "step-key-duplicate"},
        {"missing_key", "orch_wf_broken_missing_key", "step-key-missing"},
        {"no_done", "orch_wf_broken_no_done", "workflow-invalid"},
        {"unread_field", "orch_wf_broken_unread_field", "form-field-unread"},
        {"unwritten_key", "orch_wf_broken_unwritten_key", "state-key-unwritten"},
        {"io_typo", "orch_wf_broken_io_typo", "io-unknown-step"},
        {"unknown_product", "orch_wf_broken_unknown_product", "workflow-unknown-product"},
        {"unknown_block", "orch_wf_broken_unknown_block", "workflow-unknown-block"},
        {"product_incomplete", "orch_broken_product_incomplete", "product-missing-workflow"},
        {"product_unknown_workflow", "orch_broken_product_unknown_workflow",
         "product-unknown-workflow"},
        {"product_mismatch", "orch_broken_product_mismatch", "product-workflow-mismatch"},
    };
    char db[64];
    (void)state;
    harness_db_create(db);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[256];
        setenv("ORCH_TEST_BROKEN_FIXTURE", cases[i].fixture, 1);
        /* Serving mode: without the refusal this would not exit (the test would time out). */
        assert_int_not_equal(run_server(db, "--migrate=auto"), 0);
        unsetenv("ORCH_TEST_BROKEN_FIXTURE");
        print_message("%s:\n%s", cases[i].fixture,
                      strstr(out, "check:") ? strstr(out, "check:") : out);
        /* One line naming the symbol and its file, with the check's id. */
        snprintf(line, sizeof(line), "check: %s (tests/testbin/broken.c): ", cases[i].symbol);
        assert_non_null(strstr(out, line));
        snprintf(line, sizeof(line), "[%s]", cases[i].check);
        assert_non_null(strstr(out, line));
        assert_non_null(strstr(out, "refusing to start: 1 error in the workflow and product "
                                    "definitions"));
        /* Refused before the database was touched. */
        assert_null(strstr(out, "schema at version"));
    }
    assert_int_equal(db_count(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 0);
    harness_db_drop(db);
}

static void catalogue_drift_names_the_block(void **state)
{
    harness_server_t s;
    char db[64];
    (void)state;
    unsetenv("ORCH_TEST_BROKEN_FIXTURE");
    harness_server_start(&s, NULL, NULL);
    snprintf(db, sizeof(db), "%s", s.dbname);
    assert_int_equal(harness_server_stop(&s), 0);

    /* The database says NodeBlock.node_name is an integer, and a live subscription holds
     * one: the code (a string) drifted from the data. */
    db_sql(db, "UPDATE product_block_resource_types SET field_type = 'integer' "
               "WHERE resource_type_id = (SELECT resource_type_id FROM resource_types "
               "WHERE resource_type = 'node_name')");
    db_sql(db, "INSERT INTO subscriptions (subscription_id, product_id, customer_id, status) "
               "SELECT '22222222-2222-4222-8222-222222222222', product_id, 'acme', 'active' "
               "FROM products WHERE name = 'node Cisco'");
    db_sql(db, "INSERT INTO subscription_instances (subscription_instance_id, subscription_id, "
               "product_block_id) SELECT '33333333-3333-4333-8333-333333333333', "
               "'22222222-2222-4222-8222-222222222222', product_block_id FROM product_blocks "
               "WHERE name = 'NodeBlock'");
    db_sql(db, "INSERT INTO subscription_instance_values (subscription_instance_id, "
               "resource_type_id, value) SELECT '33333333-3333-4333-8333-333333333333', "
               "resource_type_id, '42' FROM resource_types WHERE resource_type = 'node_name'");
    assert_int_not_equal(run_server(db, "--migrate=auto"), 0);
    print_message("%s", strstr(out, "catalogue") ? strstr(out, "catalogue") : out);
    assert_non_null(strstr(out, "cannot load the product catalogue: blocks[0] "
                                "(domain/catalog/example.c): product 'node Cisco', block "
                                "'NodeBlock': field 'node_name' changed type"));
    harness_db_drop(db);
}

/* The production binary carries no test code (issue 18): none of the ORCH_TEST_ variables,
 * test workflows or benchmark tasks is in it (as `strings` would find them), and it ignores
 * a broken fixture that the test binary would register. */
static void production_binary_has_no_test_code(void **state)
{
    static const char *const needles[] = {"ORCH_TEST_", "bench_noop_10", "test_versioned",
                                          "orch_wf_broken_", NULL};
    FILE *f = fopen(harness_production_server_bin(), "rb");
    char *bin;
    long size;
    char db[64];
    (void)state;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    bin = malloc((size_t)size);
    assert_non_null(bin);
    assert_int_equal(fread(bin, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    for (const char *const *n = needles; *n; n++)
        if (memmem(bin, (size_t)size, *n, strlen(*n)))
            fail_msg("%s carries test code: \"%s\" is in it", harness_production_server_bin(), *n);
    free(bin);

    harness_db_create(db);
    setenv("ORCH_TEST_BROKEN_FIXTURE", "unoffered", 1);
    assert_int_equal(run_binary(harness_production_server_bin(), db, "--migrate=only"), 0);
    unsetenv("ORCH_TEST_BROKEN_FIXTURE");
    assert_non_null(strstr(out, "start-up checks: "));
    assert_null(strstr(out, "orch_wf_broken_unoffered"));
    assert_null(strstr(out, "test hook"));
    harness_db_drop(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_definitions_pass),
        cmocka_unit_test(each_broken_fixture_refuses_to_start),
        cmocka_unit_test(catalogue_drift_names_the_block),
        cmocka_unit_test(production_binary_has_no_test_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
