/* One thread per replica for the work that any live replica may do for all of them: fire
 * due schedules (exactly once across replicas: see docs/SCHEMA.md; each start through the
 * StartProcess use case, domain/usecase/schedule.c) and take over the
 * processes of replicas that stopped heartbeating. Loads the default schedule at start when
 * this is the database's first replica. Uses only the store interface and the use cases. */
#ifndef ORCH_SCHEDULE_SCHEDULER_H
#define ORCH_SCHEDULE_SCHEDULER_H

#include "domain/store.h"

struct orch_uc;

typedef struct orch_scheduler orch_scheduler_t;

/* tick_ms: how often due schedules are looked for (takeover runs every 1 s at most).
 * dead_after_ms: a replica whose heartbeat is older is dead and its processes are taken
 * over (<= 0: ORCH_REPLICA_DEAD_AFTER_MS). uc copied (its parts borrowed: they outlive the
 * scheduler); replica_id copied. NULL when the thread cannot start; else errors are logged
 * and retried. */
orch_scheduler_t *orch_scheduler_start(const struct orch_uc *uc, const char *replica_id,
                                       int tick_ms, int dead_after_ms);
/* Stops and joins the thread (a firing in progress finishes or rolls back). NULL ok. */
void orch_scheduler_stop(orch_scheduler_t *s);

#endif
