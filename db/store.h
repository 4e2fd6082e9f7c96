/* The PostgreSQL implementation of the domain's store interface (domain/store.h). */
#ifndef DB_STORE_H
#define DB_STORE_H

#include "db/pool.h"
#include "domain/store.h"

/* pool is borrowed and must outlive the store. Free with orch_store_free. */
orch_store_t *db_store_new(db_pool_t *pool);
/* The heartbeat age past which ListReplicas shows a replica as LOST: the takeover threshold
 * the scheduler uses (--replica-dead-ms). ORCH_REPLICA_DEAD_AFTER_MS until set. */
void db_store_set_replica_dead_ms(orch_store_t *st, int ms);

#endif
