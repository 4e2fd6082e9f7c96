/* Migration runner. Each file is applied in its own transaction together with its row in
 * schema_migrations, so a crash mid-way leaves either the whole file or none of it. */
#include "migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/log.h"

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
    rc = db_exec(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", NULL, err);
    if (rc)
        goto out;
    locked = true;
    rc = db_exec(c,
                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " version integer PRIMARY KEY, name text NOT NULL,"
                 " applied_time timestamptz NOT NULL DEFAULT now())",
                 NULL, err);
    if (rc)
        goto out;
    for (int i = 0; orch_migrations[i].name; i++) {
        const orch_embedded_file_t *m = &orch_migrations[i];
        char ver[16];
        const char *params[2] = {ver, m->name};
        char *sql;

        snprintf(ver, sizeof(ver), "%d", file_version(m->name));
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
        rc = db_exec(c, "BEGIN", NULL, err);
        if (rc)
            goto out;
        sql = strndup(m->data, m->len);
        rc = db_exec(c, sql, NULL, err);
        free(sql);
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
