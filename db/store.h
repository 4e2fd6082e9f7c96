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

/* Told, after a unit of work ends (commit or not: a failed COMMIT may still have
 * committed), which subscriptions it changed: saved trees, metadata, customer descriptions,
 * and the subscriptions a saved tree uses (their in_use_by changed). Called on the thread
 * that ended the unit of work, ids borrowed for the call. The replica's read cache drops
 * them, so that a read here after the change returns sees it. Set before the store is
 * used; fn NULL = nobody is told. */
typedef void (*db_sub_changed_fn)(void *arg, const char *const *ids, size_t n);
void db_store_on_sub_changed(orch_store_t *st, db_sub_changed_fn fn, void *arg);

#endif
