/* RegisterWorkflow as one domain operation, and the workflows registered as data that a
 * replica runs: every stored definition compiled into the replica's registry at start, and
 * each new one when any replica registers it (NOTIFY orch_workflow_definitions), so it runs
 * everywhere without a restart (docs/WORKFLOWS-AS-DATA.md).
 *
 *     orch_wfdefs_t *defs = orch_wfdefs_new(store, catalog, registry);
 *     orch_wfdefs_load_all(defs, &err);          // before the engine registers the replica
 *     ... orch_engine_start(...);
 *     orch_wfdefs_set_replica(defs, orch_engine_replica_id(engine));
 *     db_listener_subscribe(listener, "orch_workflow_definitions", orch_wfdefs_notify, defs);
 *     ...
 *     orch_workflow_register(defs, &req, &res, &err);   // a handler's one domain call
 */
#ifndef ORCH_USECASE_WORKFLOW_REGISTER_H
#define ORCH_USECASE_WORKFLOW_REGISTER_H

#include <jansson.h>
#include <stdbool.h>

#include "base/errors.h"
#include "domain/catalog/catalog.h"
#include "domain/engine/engine.h"
#include "domain/store.h"

typedef struct orch_wfdefs orch_wfdefs_t;

/* Borrows st, cat and reg (which must outlive it; reg is added to). */
orch_wfdefs_t *orch_wfdefs_new(orch_store_t *st, orch_catalog_t *cat, orch_registry_t *reg);
/* After the registry's users stopped; NULL ok. */
void orch_wfdefs_free(orch_wfdefs_t *w);
/* Compiles every stored definition not in the registry yet into it (and, once the replica
 * is known, claims their versions for it). A definition that no longer compiles (the
 * catalogue lost its product, say) is logged and left out. */
orch_err_t orch_wfdefs_load_all(orch_wfdefs_t *w, orch_error_t *err);
/* The replica whose claim gets the versions loaded from now on (replica_id copied). */
void orch_wfdefs_set_replica(orch_wfdefs_t *w, const char *replica_id);
/* LISTEN callback of orch_workflow_definitions: "<name>:<version>" loads that one, NULL (a
 * reconnect) loads whatever is missing. */
void orch_wfdefs_notify(void *arg, const char *channel, const char *payload);

typedef struct orch_wf_register_req {
    const json_t *definition; /* borrowed: the definition (definition.h) */
    const char *actor_kind;   /* who registers it, for the admin audit log */
    const char *actor_name;
    const char *method; /* the audit row's method ("RegisterWorkflow") */
} orch_wf_register_req_t;

typedef struct orch_wf_register_res {
    char name[101];
    int version;  /* the version new processes start with */
    bool created; /* false: identical to the latest version, which stays */
    char digest[17];
    /* Live replicas that could not run the new version yet when the answer was sent (it
     * waits a few seconds for them); -1 = not known. */
    long replicas_missing;
} orch_wf_register_res_t;

/* Checks the definition (INVALID_ARGUMENT WORKFLOW_DEFINITION_INVALID with one violation
 * per mistake, start-up checks included; STEP_KIND_CHANGED when a key of the previous version
 * changes kind; FAILED_PRECONDITION WORKFLOW_IN_CODE when a server has the name compiled
 * in), then, unless it equals the latest version, stores it as the next version with an
 * admin audit row in one unit of work and makes it runnable here at once; other replicas
 * follow on the NOTIFY, and the answer waits a few seconds for every live one to run it.
 * Processes already running keep their version. */
orch_err_t orch_workflow_register(orch_wfdefs_t *w, const orch_wf_register_req_t *req,
                                  orch_wf_register_res_t *res, orch_error_t *err);

#endif
