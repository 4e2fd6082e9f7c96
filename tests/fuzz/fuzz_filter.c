/* libFuzzer target: List filters. The input is filter text as a client sends it (the
 * "filter" field of every List request). It goes through the AIP-160 parser, the in-memory
 * matcher the catalogue lists use, and the SQL compiler of db/ over a column table with
 * every column type (pure: no database needed).
 *
 * Invariants beyond "no crash, no leak, no UB": refusals are INVALID_ARGUMENT with a
 * violation on "filter"; the parser and the compiler agree on what parses; and the compiled
 * SQL is built from our text only: every client value travels as a parameter, so the SQL
 * never contains a quote, a semicolon or a comment. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/filter_sql.h"
#include "db/sql.h"
#include "domain/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const statuses[] = {"created", "running", "failed", "completed", NULL};

/* One column of each type, as the stores declare them (db/store_*.c). */
static const db_filter_column_t cols[] = {
    {"process_id", "p.process_id", DB_COL_UUID, NULL, NULL},
    {"status", "p.last_status", DB_COL_ENUM, statuses, NULL},
    {"workflow", "w.name", DB_COL_TEXT, NULL, NULL},
    {"workflow_version", "p.workflow_version", DB_COL_INT, NULL, NULL},
    {"is_task", "p.is_task", DB_COL_BOOL, NULL, NULL},
    {"start_time", "p.start_time", DB_COL_TIME, NULL, NULL},
    {"customer_id", "coalesce(s.customer_id, s.description)", DB_COL_TEXT, NULL, NULL},
    {NULL, NULL, 0, NULL, NULL},
};

static const char *const fields[] = {"process_id", "status",     "workflow",    "workflow_version",
                                     "is_task",    "start_time", "customer_id", NULL};

/* An object for orch_filter_match: fixed values of every kind the matcher compares. */
static const char *get(const void *obj, const char *field)
{
    (void)obj;
    if (strcmp(field, "process_id") == 0)
        return "0b3f8a52-6c0e-4c8e-9d1f-3a2b1c0d9e8f";
    if (strcmp(field, "status") == 0)
        return "running";
    if (strcmp(field, "workflow") == 0)
        return "create_node";
    if (strcmp(field, "workflow_version") == 0)
        return "3";
    if (strcmp(field, "start_time") == 0)
        return "2026-01-31T12:00:00.5+01:00";
    if (strcmp(field, "is_task") == 0)
        return "false";
    return NULL; /* customer_id: unset */
}

static void check_refusal(orch_err_t rc, const orch_error_t *err, const char *who)
{
    if (rc != ORCH_INVALID_ARGUMENT || err->nviolations < 1 ||
        strcmp(err->violations[0].field, "filter") != 0 || !err->message[0]) {
        fprintf(stderr, "fuzz_filter: %s refused with %d (%s)\n", who, rc, err->message);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    orch_filter_t *f = NULL;
    orch_error_t err;
    orch_err_t rc, rc2;
    db_sql_t q;

    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';

    orch_error_init(&err);
    rc = orch_filter_parse(text, fields, &f, &err);
    if (rc)
        check_refusal(rc, &err, "orch_filter_parse");
    else
        (void)orch_filter_match(f, get, NULL);
    orch_filter_free(f);

    orch_error_init(&err);
    db_sql_init(&q);
    db_sql_append(&q, "SELECT 1 FROM processes p WHERE true");
    rc2 = db_filter_compile(text, cols, &q, &err);
    if (rc2) {
        check_refusal(rc2, &err, "db_filter_compile");
        /* The compiler refuses more than the parser only for values that do not fit their
         * column ("field 'x': ...") and for too many values. */
        if (!rc && strncmp(err.violations[0].description, "field '", 7) != 0 &&
            strncmp(err.violations[0].description, "has more than", 13) != 0) {
            fprintf(stderr, "fuzz_filter: compiler refused what the parser took: %s\n",
                    err.message);
            abort();
        }
    } else {
        if (rc) {
            fprintf(stderr, "fuzz_filter: compiler took what the parser refused\n");
            abort();
        }
        if (strpbrk(q.text, "'\";\\") || strstr(q.text, "--") || strstr(q.text, "/*")) {
            fprintf(stderr, "fuzz_filter: client text reached the SQL: %s\n", q.text);
            abort();
        }
        if (q.nparams > DB_SQL_MAX_PARAMS) {
            fprintf(stderr, "fuzz_filter: %d parameters\n", q.nparams);
            abort();
        }
    }
    db_sql_cleanup(&q);
    free(text);
    return 0;
}
