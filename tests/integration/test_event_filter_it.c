/* The watch hub's in-memory WatchProcesses matcher (domain/event_filter.c) against the SQL
 * compiler (db/filter_sql.c through events_global): the same filters over the same events,
 * read from real PostgreSQL, must select the same events. Filters are generated for every
 * field, operator and value seen, plus NOT, AND and OR around them, so a field compared
 * differently by the two (NULLs, case, byte order) fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "db/pool.h"
#include "db/store.h"
#include "domain/event_filter.h"
#include "domain/store.h"
#include "harness.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "orchestrator/v1/products.pb-c.h"

#define PS "/orchestrator.v1.ProcessService/"

static Google__Protobuf__Value *str(const char *v)
{
    Google__Protobuf__Value *x = calloc(1, sizeof(*x));
    google__protobuf__value__init(x);
    x->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
    x->string_value = (char *)v;
    return x;
}

static Google__Protobuf__Value *num(double v)
{
    Google__Protobuf__Value *x = calloc(1, sizeof(*x));
    google__protobuf__value__init(x);
    x->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
    x->number_value = v;
    return x;
}

/* Starts workflow with one input page of n string/number fields; returns the process id. */
static void start(harness_server_t *s, const char *workflow, const char *product,
                  const char *const *keys, Google__Protobuf__Value **vals, int n, char *id)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    Google__Protobuf__Struct page = GOOGLE__PROTOBUF__STRUCT__INIT, *pp = &page;
    Google__Protobuf__Struct__FieldsEntry e[8], *ep[8];
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    for (int i = 0; i < n; i++) {
        google__protobuf__struct__fields_entry__init(&e[i]);
        e[i].key = (char *)keys[i];
        e[i].value = vals[i];
        ep[i] = &e[i];
    }
    page.n_fields = (size_t)n;
    page.fields = ep;
    req.workflow_name = (char *)workflow;
    req.product_id = (char *)(product ? product : "");
    req.n_user_inputs = 1;
    req.user_inputs = &pp;
    cli_call_unary(s->ch, PS "StartProcess", &req.base,
                   &orchestrator__v1__start_process_response__descriptor, 10000, &resp, &st);
    if (st.code != 0)
        fail_msg("StartProcess %s: %s", workflow, st.message);
    snprintf(id, 64, "%s", ((Orchestrator__V1__StartProcessResponse *)resp)->process->process_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    for (int i = 0; i < n; i++)
        free(vals[i]);
}

static void product_id(harness_server_t *s, const char *name, char *out)
{
    Orchestrator__V1__GetProductRequest req = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    req.key_case = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_NAME;
    req.name = (char *)name;
    cli_call_unary(s->ch, "/orchestrator.v1.ProductService/GetProduct", &req.base,
                   &orchestrator__v1__product__descriptor, 5000, &resp, &st);
    assert_int_equal(st.code, 0);
    snprintf(out, 64, "%s", ((Orchestrator__V1__Product *)resp)->product_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
}

static void start_node(harness_server_t *s, const char *pid, const char *customer, const char *name,
                       char *id)
{
    static const char *const keys[] = {"customer_id", "node_name", "role_id", "type_id", "site_id"};
    Google__Protobuf__Value *vals[5] = {str(customer), str(name), num(1), num(2), num(3)};
    start(s, "create_node", pid, keys, vals, 5, id);
}

/* Waits until process id rests (no new event for a second, or 30 s). */
static void settle(harness_server_t *s, const char *id)
{
    for (long long seq = -1, stable = 0, i = 0; stable < 10 && i < 300; i++) {
        long long now = harness_scalar(
            s->dbname, "SELECT last_event_sequence FROM processes WHERE process_id = '%s'", id);
        stable = now == seq ? stable + 1 : 0;
        seq = now;
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
}

/* The cursors the SQL compiler selects for filter, or -1 when it refuses the filter. */
static long sql_select(orch_store_t *st, const char *filter, char (*out)[64], size_t cap)
{
    orch_event_t *evs = NULL;
    size_t n = 0;
    char cur[64];
    orch_error_t err;
    orch_ctx_t ctx = {.deadline_ms = 0};
    orch_error_init(&err);
    if (st->procs->events_global(st, NULL, &ctx, filter, "0:0", 10000, &evs, &n, cur, &err))
        return -1;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++)
        snprintf(out[i], 64, "%s", evs[i].cursor);
    orch_events_free(evs, n);
    return (long)n;
}

static void matcher_equals_sql(void **state)
{
    static char sql[4096][64];
    harness_server_t s;
    char pid[64], id[4][64], ci[512];
    db_pool_t *pool;
    orch_store_t *st;
    orch_event_t *all = NULL;
    size_t nall = 0;
    char cur[64];
    orch_error_t err;
    orch_ctx_t ctx = {.deadline_ms = 0};
    char **values = NULL;
    size_t nvalues = 0;
    int checked = 0, refused = 0;
    static const char *const ops[] = {"=", "!=", "<", "<=", ">", ">=", ":"};
    (void)state;

    setenv("ORCH_TEST_WORKFLOWS", "1", 1);
    harness_server_start(&s, NULL, NULL);
    unsetenv("ORCH_TEST_WORKFLOWS");
    product_id(&s, "node FRR", pid);
    start_node(&s, pid, "acme", "n1", id[0]);
    start_node(&s, pid, "ACME-Beta", "n2", id[1]);
    {
        static const char *const keys[] = {"username", "api_key"};
        Google__Protobuf__Value *vals[2] = {str("ops"), str("correct-horse-battery")};
        start(&s, "test_secret", NULL, keys, vals, 2, id[2]); /* suspends; no subscription */
    }
    for (int i = 0; i < 3; i++)
        settle(&s, id[i]);

    harness_conninfo(s.dbname, ci);
    pool = db_pool_new(ci, 2);
    st = db_store_new(pool);
    orch_error_init(&err);
    assert_int_equal(
        st->procs->events_global(st, NULL, &ctx, "", "0:0", 10000, &all, &nall, cur, &err), 0);
    assert_true(nall >= 10);
    /* Every value any field takes, plus a few that match nothing or only by case. */
    values = calloc(nall * 8 + 8, sizeof(*values));
    for (size_t i = 0; i < nall; i++) {
        const char *k;
        json_t *v;
        json_object_foreach(all[i].fields, k, v)
        {
            bool seen = false;
            if (!json_is_string(v))
                continue;
            for (size_t j = 0; j < nvalues && !seen; j++)
                seen = strcmp(values[j], json_string_value(v)) == 0;
            if (!seen)
                values[nvalues++] = strdup(json_string_value(v));
        }
    }
    values[nvalues++] = strdup("acme");
    values[nvalues++] = strdup("Acme");
    values[nvalues++] = strdup("beta");
    values[nvalues++] = strdup("create");
    values[nvalues++] = strdup("*");

    for (const char *const *f = orch_event_filter_fields; *f; f++) {
        for (size_t o = 0; o < sizeof(ops) / sizeof(*ops); o++) {
            for (size_t v = 0; v < nvalues; v++) {
                char filters[4][512];
                snprintf(filters[0], 512, "%s %s \"%s\"", *f, ops[o], values[v]);
                snprintf(filters[1], 512, "NOT %s %s \"%s\"", *f, ops[o], values[v]);
                snprintf(filters[2], 512, "%s %s \"%s\" OR is_task = true", *f, ops[o], values[v]);
                snprintf(filters[3], 512, "%s %s \"%s\" AND NOT status = \"suspended\"", *f, ops[o],
                         values[v]);
                for (int k = 0; k < 4; k++) {
                    orch_event_filter_t *m = NULL;
                    long n = sql_select(st, filters[k], sql, 4096), j = 0;
                    if (n < 0) {
                        refused++; /* a value the field's type refuses: INVALID_ARGUMENT */
                        continue;
                    }
                    assert_int_equal(orch_event_filter_new(filters[k], &m, &err), 0);
                    for (size_t i = 0; i < nall; i++) {
                        bool in_sql = j < n && strcmp(sql[j], all[i].cursor) == 0;
                        bool in_mem = orch_event_filter_match(m, all[i].fields);
                        if (in_sql != in_mem) {
                            char *fj = json_dumps(all[i].fields, JSON_SORT_KEYS);
                            fail_msg("filter [%s] on event %s %s: SQL %s, in memory %s", filters[k],
                                     all[i].cursor, fj, in_sql ? "matches" : "does not",
                                     in_mem ? "matches" : "does not");
                        }
                        j += in_sql;
                    }
                    assert_int_equal(j, n);
                    orch_event_filter_free(m);
                    checked++;
                }
            }
        }
    }
    print_message("%d filters agreed over %zu events (%d refused by both field types)\n", checked,
                  nall, refused);
    assert_true(checked > 500);
    for (size_t v = 0; v < nvalues; v++)
        free(values[v]);
    free(values);
    orch_events_free(all, nall);
    orch_store_free(st);
    db_pool_free(pool);
    assert_int_equal(harness_server_stop(&s), 0);
    harness_db_drop(s.dbname);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matcher_equals_sql),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
