/* The connection pool's prepared statements against real PostgreSQL: a statement that
 * repeats is prepared once per connection and run by name; one-off texts are not; a
 * statement PostgreSQL invalidates (its table changed shape) fails once and is prepared
 * again under a new name; --db-prepare=off prepares nothing; a costly statement is never
 * JIT-compiled on a pool's connection. */
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "db/pool.h"
#include "harness.h"

static char db[64];

static long long one(db_conn_t *c, const char *sql)
{
    PGresult *r = NULL;
    orch_error_t err;
    long long v;
    orch_error_init(&err);
    if (db_execp(c, sql, 0, NULL, &r, &err) != ORCH_OK)
        fail_msg("%s: %s", sql, err.message);
    v = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    return v;
}

static long long prepared_here(db_conn_t *c)
{
    PGresult *r = PQexec(c->pg, "SELECT count(*) FROM pg_prepared_statements");
    long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static db_pool_t *pool_on(bool prepare)
{
    char ci[512];
    db_pool_t *p;
    harness_conninfo(db, ci);
    p = db_pool_new(ci, 1);
    db_pool_set_prepare(p, prepare);
    return p;
}

static void repeats_are_prepared_once(void **state)
{
    db_pool_t *p = pool_on(true);
    db_conn_t *c = NULL;
    orch_error_t err;
    (void)state;
    orch_error_init(&err);
    assert_int_equal(db_pool_acquire(p, NULL, 5000, &c, &err), ORCH_OK);
    /* First run: counted, not prepared; second: prepared and run by name; then reused. */
    assert_int_equal(one(c, "SELECT 41 + 1"), 42);
    assert_int_equal(prepared_here(c), 0);
    assert_int_equal(one(c, "SELECT 41 + 1"), 42);
    assert_int_equal(prepared_here(c), 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(one(c, "SELECT 41 + 1"), 42);
    assert_int_equal(prepared_here(c), 1);
    /* Parameters go with the execution. */
    {
        PGresult *r = NULL;
        for (int i = 0; i < 3; i++) {
            char v[16];
            snprintf(v, sizeof(v), "%d", i * 10);
            assert_int_equal(db_execp(c, "SELECT $1::int + 1", 1, (const char *[]){v}, &r, &err),
                             ORCH_OK);
            assert_int_equal(strtoll(PQgetvalue(r, 0, 0), NULL, 10), i * 10 + 1);
            PQclear(r);
        }
    }
    assert_int_equal(prepared_here(c), 2);
    /* One-off texts (ad-hoc filters) take no prepared slot. */
    for (int i = 0; i < 50; i++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SELECT %d", i);
        assert_int_equal(one(c, sql), i);
    }
    assert_int_equal(prepared_here(c), 2);
    /* A statement error stays the statement's error. */
    assert_int_not_equal(db_execp(c, "SELECT 1/0", 0, NULL, NULL, &err), ORCH_OK);
    orch_error_init(&err);
    assert_int_not_equal(db_execp(c, "SELECT 1/0", 0, NULL, NULL, &err), ORCH_OK);
    db_pool_release(p, c);
    db_pool_free(p);
}

static void invalidated_statement_is_prepared_again(void **state)
{
    db_pool_t *p = pool_on(true);
    db_conn_t *c = NULL;
    orch_error_t err;
    PGresult *r = NULL;
    (void)state;
    harness_scalar(db, "CREATE TABLE shape (a int)");
    harness_scalar(db, "INSERT INTO shape VALUES (7)");
    orch_error_init(&err);
    assert_int_equal(db_pool_acquire(p, NULL, 5000, &c, &err), ORCH_OK);
    assert_int_equal(one(c, "SELECT * FROM shape"), 7);
    assert_int_equal(one(c, "SELECT * FROM shape"), 7); /* prepared now */
    /* Another session changes the table's shape under the prepared statement. */
    harness_scalar(db, "ALTER TABLE shape ADD COLUMN b int");
    orch_error_init(&err);
    if (db_execp(c, "SELECT * FROM shape", 0, NULL, &r, &err) == ORCH_OK) {
        /* Some versions re-plan silently: then it simply works. */
        assert_int_equal(PQnfields(r), 2);
        PQclear(r);
    }
    /* From the next run on it works, under a new name. */
    assert_int_equal(one(c, "SELECT * FROM shape"), 7);
    assert_int_equal(one(c, "SELECT * FROM shape"), 7);
    db_pool_release(p, c);
    db_pool_free(p);
}

static void off_prepares_nothing(void **state)
{
    db_pool_t *p = pool_on(false);
    db_conn_t *c = NULL;
    orch_error_t err;
    (void)state;
    orch_error_init(&err);
    assert_int_equal(db_pool_acquire(p, NULL, 5000, &c, &err), ORCH_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(one(c, "SELECT 41 + 1"), 42);
    assert_int_equal(prepared_here(c), 0);
    db_pool_release(p, c);
    db_pool_free(p);
    db_pool_set_prepare(NULL, true);
}

/* Whether EXPLAIN of sql on pg says PostgreSQL would JIT-compile it. */
static bool plans_jit(PGconn *pg, const char *sql)
{
    char *q = orch_asprintf("EXPLAIN %s", sql);
    PGresult *r = PQexec(pg, q);
    bool jit = false;
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    for (int i = 0; i < PQntuples(r); i++)
        jit |= strncmp(PQgetvalue(r, i, 0), "JIT:", 4) == 0;
    PQclear(r);
    free(q);
    return jit;
}

/* Once a statement's estimated cost passed jit_above_cost, PostgreSQL compiled it on every
 * execution: 30-40 ms for the create statement that runs in 0.8 ms, once autovacuum's
 * statistics had raised its estimate (bench/README.md, issue 17 sixth pass). A pool's
 * connections have JIT off; a plain connection to the same database shows the statement
 * would be compiled there, where the server has JIT at all. */
static void costly_statement_is_not_compiled(void **state)
{
    const char *costly = "SELECT count(*) FROM generate_series(1, 1000) a, "
                         "generate_series(1, 1000) b, generate_series(1, 1000) c";
    db_pool_t *p = pool_on(true);
    db_conn_t *c = NULL;
    orch_error_t err;
    char ci[512];
    PGconn *plain;
    PGresult *r;
    (void)state;
    orch_error_init(&err);
    assert_int_equal(db_pool_acquire(p, NULL, 5000, &c, &err), ORCH_OK);
    assert_false(plans_jit(c->pg, costly));
    harness_conninfo(db, ci);
    plain = PQconnectdb(ci);
    assert_int_equal(PQstatus(plain), CONNECTION_OK);
    r = PQexec(plain, "SELECT pg_jit_available()");
    if (strcmp(PQgetvalue(r, 0, 0), "t") == 0)
        assert_true(plans_jit(plain, costly));
    else
        print_message("PostgreSQL here has no JIT provider: only the pool's side is checked\n");
    PQclear(r);
    PQfinish(plain);
    db_pool_release(p, c);
    db_pool_free(p);
}

/* db_pool_warm opens every connection at once (not the one a lone caller would reuse) and
 * runs its statement on each: the sessions exist before any load, each has run it. */
static void warm_opens_every_connection(void **state)
{
    char ci[512];
    db_pool_t *p;
    db_conn_t *c[3] = {0};
    orch_error_t err;
    (void)state;
    harness_conninfo(db, ci);
    p = db_pool_new(ci, 3);
    assert_int_equal(db_pool_warm(p, "SELECT set_config('application_name', 'warmed', false)"), 3);
    assert_int_equal(harness_scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE "
                                        "datname = current_database() AND application_name = "
                                        "'warmed'"),
                     3);
    /* And they are the pool's: three acquires reuse them, opening nothing more. */
    for (int i = 0; i < 3; i++) {
        orch_error_init(&err);
        assert_int_equal(db_pool_acquire(p, NULL, 5000, &c[i], &err), ORCH_OK);
        assert_int_equal(one(c[i], "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                   "current_database() AND application_name = 'warmed' AND "
                                   "pid = pg_backend_pid()"),
                         1);
    }
    for (int i = 0; i < 3; i++)
        db_pool_release(p, c[i]);
    db_pool_free(p);
}

static int setup(void **state)
{
    (void)state;
    harness_db_create(db);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_db_drop(db);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(repeats_are_prepared_once),
        cmocka_unit_test(invalidated_statement_is_prepared_again),
        cmocka_unit_test(off_prepares_nothing),
        cmocka_unit_test(costly_statement_is_not_compiled),
        cmocka_unit_test(warm_opens_every_connection),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
