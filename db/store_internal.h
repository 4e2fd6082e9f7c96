/* Shared inside db/: the store object and helpers used by the store_*.c files. */
#ifndef DB_STORE_INTERNAL_H
#define DB_STORE_INTERNAL_H

#include "db/pool.h"
#include "domain/store.h"

typedef struct db_store {
    orch_store_t base; /* first: the domain sees only this */
    db_pool_t *pool;
} db_store_t;

#define DB_ACQUIRE_TIMEOUT_MS 5000

orch_err_t db__catalog_sync(orch_store_t *st, const orch_ctx_t *ctx, orch_catalog_t *cat,
                           orch_error_t *err);

/* "2026-11-27 18:19:50.123456+00" -> microseconds since the epoch; 0 for NULL/empty. */
long long db__parse_time(const char *s);

#endif
