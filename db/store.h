/* The PostgreSQL implementation of the domain's store interface (domain/store.h). */
#ifndef DB_STORE_H
#define DB_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "db/pool.h"
#include "domain/store.h"

/* pool is borrowed and must outlive the store. Free with orch_store_free. */
orch_store_t *db_store_new(db_pool_t *pool);
/* The heartbeat age past which ListReplicas shows a replica as LOST: the takeover threshold
 * the scheduler uses (--replica-dead-ms). ORCH_REPLICA_DEAD_AFTER_MS until set. */
void db_store_set_replica_dead_ms(orch_store_t *st, int ms);
/* Opens every connection of the pool now and compiles the engine's step commit on each
 * (db_pool_warm): a burst of work right after start, or on connections the pool never
 * needed before, then waits neither for new sessions nor for PL/pgSQL compiling and
 * planning orch_commit_steps, 10-20 ms a session. Returns the connections open. */
int db_store_warm(orch_store_t *st);

/* StartProcess's creates outside a unit of work (st->procs->create_grouped): transactions
 * run and creates that shared one with others, since start (/metrics). */
void db_store_start_stats(orch_store_t *st, unsigned long *batches, unsigned long *batched);

/* Told which subscriptions a unit of work changes: with changing = true when it first
 * touches one (a saved tree, its metadata or customer descriptions, or a subscription a
 * saved tree uses, whose in_use_by changes), and with changing = false for all of them once
 * it ended (commit or not: a failed COMMIT may still have committed). Called on the thread
 * of the unit of work, ids borrowed for the call. The replica's read cache serves none of
 * them meanwhile and drops them at the end, so a read here sees a change as soon as it is
 * committed. Set before the store is used; fn NULL = nobody is told. */
typedef void (*db_sub_changed_fn)(void *arg, const char *const *ids, size_t n, bool changing);
void db_store_on_sub_changed(orch_store_t *st, db_sub_changed_fn fn, void *arg);

#endif
