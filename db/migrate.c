/* Migration runner. Each file is applied in its own transaction together with its row in
 * schema_migrations, so a crash mid-way leaves either the whole file or none of it.
 *
 * A file whose first line is "-- orch:no-transaction" runs outside a transaction instead,
 * one statement at a time (CREATE INDEX CONCURRENTLY cannot run inside one); its row in
 * schema_migrations is written after its last statement. Such a file must be idempotent
 * (IF NOT EXISTS, OR REPLACE): a crash half-way runs it again from the top. A concurrent
 * index build that failed leaves an INVALID index behind, which IF NOT EXISTS would keep:
 * before such a file runs, the invalid indexes it names are dropped. */
#include "migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/log.h"
#include "db/sql.h"

typedef struct {
    const char *name;
    const char *data;
    size_t len;
} orch_embedded_file_t;

extern const orch_embedded_file_t orch_migrations[];

/* Arbitrary but fixed: every replica must use the same key. */
#define MIGRATE_LOCK_KEY "7318004190001"

int db_migrate_mode_parse(const char *s, db_migrate_mode_t *out)
{
    if (strcmp(s, "auto") == 0)
        *out = DB_MIGRATE_AUTO;
    else if (strcmp(s, "only") == 0)
        *out = DB_MIGRATE_ONLY;
    else if (strcmp(s, "check") == 0)
        *out = DB_MIGRATE_CHECK;
    else
        return -1;
    return 0;
}

int db_migrate_latest(void)
{
    int n = 0;
    while (orch_migrations[n].name)
        n++;
    return n;
}

#define NO_TX_MARKER "-- orch:no-transaction"

/* The next statement of sql from *pos (NULL at the end), without its ';'. Knows quotes,
 * dollar quotes and comments, which is all a migration file holds. Caller frees. */
static char *next_statement(const char *sql, size_t len, size_t *pos)
{
    size_t i = *pos, start;
    bool text = false;

    while (i < len) {
        if (sql[i] == '-' && i + 1 < len && sql[i + 1] == '-') {
            while (i < len && sql[i] != '\n')
                i++;
        } else if (sql[i] == ' ' || sql[i] == '\n' || sql[i] == '\t' || sql[i] == '\r' ||
                   sql[i] == ';') {
            i++;
        } else {
            break;
        }
    }
    start = i;
    while (i < len && sql[i] != ';') {
        if (sql[i] == '-' && i + 1 < len && sql[i + 1] == '-') {
            while (i < len && sql[i] != '\n')
                i++;
            continue;
        }
        if (sql[i] == '\'' || sql[i] == '"') {
            char q = sql[i++];
            while (i < len && sql[i] != q)
                i++;
            i++;
            text = true;
            continue;
        }
        if (sql[i] == '$') { /* $tag$ ... $tag$ */
            size_t t = i + 1;
            while (t < len && (sql[t] == '_' || (sql[t] >= 'a' && sql[t] <= 'z') ||
                               (sql[t] >= 'A' && sql[t] <= 'Z')))
                t++;
            if (t < len && sql[t] == '$') {
                size_t taglen = t - i + 1;
                const char *end = NULL;
                for (size_t k = t + 1; k + taglen <= len; k++)
                    if (memcmp(sql + k, sql + i, taglen) == 0) {
                        end = sql + k;
                        break;
                    }
                i = end ? (size_t)(end - sql) + taglen : len;
                text = true;
                continue;
            }
        }
        i++;
        text = true;
    }
    *pos = i < len ? i + 1 : len;
    return text ? orch_strndup(sql + start, i - start) : NULL;
}

/* Runs a no-transaction file (see the top of this file). */
static orch_err_t migrate_no_tx(db_conn_t *c, const char *data, size_t len, orch_error_t *err)
{
    orch_err_t rc = ORCH_OK;
    size_t pos = 0;
    char *stmt;
    const char *p = data;

    /* Invalid leftovers of this file's concurrent builds. */
    while ((p = strstr(p, "CONCURRENTLY IF NOT EXISTS ")) != NULL && !rc) {
        char name[64];
        size_t n = 0;
        p += strlen("CONCURRENTLY IF NOT EXISTS ");
        while (n < sizeof(name) - 1 &&
               (p[n] == '_' || (p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9')))
            n++;
        memcpy(name, p, n);
        name[n] = '\0';
        {
            const char *params[1] = {name};
            PGresult *res = NULL;
            rc =
                db_execp(c,
                         "SELECT 1 FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid "
                         "WHERE x.relname = $1 AND x.relnamespace = current_schema()::regnamespace "
                         "AND NOT i.indisvalid",
                         1, params, &res, err);
            if (!rc && PQntuples(res) > 0) {
                char *drop = orch_asprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", name);
                orch_warn("migrate", "dropping index %s, left invalid by a failed build", name);
                rc = db_exec(c, drop, NULL, err);
                free(drop);
            }
            PQclear(res);
        }
    }
    while (!rc && (stmt = next_statement(data, len, &pos)) != NULL) {
        rc = db_exec(c, stmt, NULL, err);
        free(stmt);
    }
    return rc;
}

/* "0003_something.sql" -> 3 */
static int file_version(const char *name)
{
    return atoi(name);
}

orch_err_t db_migrate(db_pool_t *pool, db_migrate_mode_t mode, int *applied, orch_error_t *err)
{
    db_conn_t *c = NULL;
    PGresult *res = NULL;
    orch_err_t rc;
    bool locked = false;

    *applied = 0;
    rc = db_pool_acquire(pool, NULL, 10000, &c, err);
    if (rc)
        goto out;
    /* Polled, not waited for: a session blocked in pg_advisory_lock holds a snapshot for as
     * long as it waits, and CREATE INDEX CONCURRENTLY in the session holding the lock waits
     * for every older snapshot to go: the two would deadlock. */
    for (int tries = 0; !locked; tries++) {
        rc = db_exec(c, "SELECT pg_try_advisory_lock(" MIGRATE_LOCK_KEY ")", &res, err);
        if (rc)
            goto out;
        locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        res = NULL;
        if (!locked) {
            if (tries % 50 == 0)
                orch_info("migrate", "another replica is migrating; waiting for it");
            nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
        }
    }
    rc = db_exec(c,
                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " version integer PRIMARY KEY, name text NOT NULL,"
                 " applied_time timestamptz NOT NULL DEFAULT now())",
                 NULL, err);
    if (rc)
        goto out;
    for (int i = 0; orch_migrations[i].name; i++) {
        const orch_embedded_file_t *m = &orch_migrations[i];
        const char *params[2] = {DB_INT(file_version(m->name)), m->name};
        char *sql;

        rc =
            db_execp(c, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, params, &res, err);
        if (rc)
            goto out;
        if (PQntuples(res) > 0) {
            PQclear(res);
            res = NULL;
            continue;
        }
        PQclear(res);
        res = NULL;
        if (mode == DB_MIGRATE_CHECK) {
            rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "MIGRATION_PENDING",
                                "migration %s has not been applied; run orchestratord "
                                "--migrate=only (or --migrate=auto) first",
                                m->name);
            goto out;
        }
        orch_info("migrate", "applying %s", m->name);
        if (m->len >= strlen(NO_TX_MARKER) &&
            memcmp(m->data, NO_TX_MARKER, strlen(NO_TX_MARKER)) == 0) {
            rc = migrate_no_tx(c, m->data, m->len, err);
            if (!rc)
                rc = db_exec(c, "BEGIN", NULL, err);
        } else {
            rc = db_exec(c, "BEGIN", NULL, err);
            if (rc)
                goto out;
            sql = orch_strndup(m->data, m->len);
            rc = db_exec(c, sql, NULL, err);
            free(sql);
        }
        if (!rc)
            rc = db_execp(c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
                          params, NULL, err);
        if (!rc)
            rc = db_exec(c, "COMMIT", NULL, err);
        if (rc) {
            orch_err("migrate", "%s failed: %s", m->name, err ? err->message : "");
            PQclear(PQexec(c->pg, "ROLLBACK"));
            goto out;
        }
        (*applied)++;
    }
out:
    if (locked && c && c->pg)
        PQclear(PQexec(c->pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
    PQclear(res);
    db_pool_release(pool, c);
    return rc;
}
