/* The PostgreSQL implementation of the domain's store interface (domain/store.h). */
#ifndef DB_STORE_H
#define DB_STORE_H

#include "db/pool.h"
#include "domain/store.h"

/* pool is borrowed and must outlive the store. Free with orch_store_free. */
orch_store_t *db_store_new(db_pool_t *pool);

#endif
