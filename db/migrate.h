/* Schema migrations: the SQL files of db/migrations/, embedded in the binary, applied in
 * order under a PostgreSQL advisory lock (so that replicas starting together migrate once)
 * and recorded in schema_migrations. */
#ifndef DB_MIGRATE_H
#define DB_MIGRATE_H

#include "base/errors.h"
#include "db/pool.h"

typedef enum {
    DB_MIGRATE_AUTO,  /* apply pending migrations, then serve */
    DB_MIGRATE_ONLY,  /* apply pending migrations, then exit (a Kubernetes Job) */
    DB_MIGRATE_CHECK, /* refuse to start while a migration is pending */
} db_migrate_mode_t;

/* "auto" | "only" | "check"; -1 if unknown. */
int db_migrate_mode_parse(const char *s, db_migrate_mode_t *out);

/* Applies (or, in CHECK mode, verifies) the migrations; *applied = how many were applied.
 * FAILED_PRECONDITION in CHECK mode when one is pending. */
orch_err_t db_migrate(db_pool_t *pool, db_migrate_mode_t mode, int *applied, orch_error_t *err);

/* Number of embedded migrations (the schema version this binary expects). */
int db_migrate_latest(void);

#endif
