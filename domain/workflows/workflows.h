/* The workflows this build ships: the example catalogue's (create_node, its lifecycle, the
 * tasks). The test workflows and the broken fixtures of the start-up checks are not here:
 * they live in the test binary's library (tests/testbin/testbin.h). */
#ifndef ORCH_WORKFLOWS_H
#define ORCH_WORKFLOWS_H

#include "domain/engine/engine.h"

/* The callback step's action that stands for the provisioning system (lifecycle.c): with
 * ORCH_SIM_CALLBACK_DIR set it writes the token to <dir>/<process_id>.<step_key>, without
 * it the system answers at once (the step is skipped). An example integration, not a test
 * hook: it stays in the production binary, as the example catalogue does. */
orch_step_result_t orch_wf_push_config(orch_step_ctx_t *ctx, json_t *state);

/* The lifecycle of the example catalogue (lifecycle.c). */
extern const orch_workflow_def_t orch_wf_modify_note;
extern const orch_workflow_def_t orch_wf_create_l2vpn, orch_wf_modify_l2vpn,
    orch_wf_terminate_l2vpn, orch_wf_validate_l2vpn, orch_wf_reconcile_l2vpn;
/* All of the above with their symbols, {0}-terminated (registered by
 * orch_workflows_register_all). */
extern const orch_wf_entry_t orch_wf_lifecycle_all[];
/* Every workflow orch_workflows_register_all registers, in that order, with its symbol:
 * create_node, the tasks, the lifecycle, the product modules' workflows, then extra
 * ({0}-terminated; NULL: none). Sets *out (caller frees with free()) and returns the
 * count. */
size_t orch_workflows_list(const orch_wf_entry_t *extra, orch_wf_entry_t **out);

#endif
