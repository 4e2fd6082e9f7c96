/* The workflows this build ships: the example catalogue's (create_node) and, when the
 * environment sets ORCH_TEST_WORKFLOWS, small test workflows and tasks used by the
 * integration tests (flaky steps, retries, versions). */
#ifndef ORCH_WORKFLOWS_H
#define ORCH_WORKFLOWS_H

#include "domain/engine/engine.h"

/* create_node: version 1 (its own activation step, kept for processes in flight) and
 * version 2 (the create wrapper and a callback step for the configuration push). */
extern const orch_workflow_def_t orch_wf_create_node, orch_wf_create_node_v2;

/* The callback step's action that stands for the provisioning system (lifecycle.c): with
 * ORCH_SIM_CALLBACK_DIR set it writes the token to <dir>/<process_id>.<step_key>, without
 * it the system answers at once (the step is skipped). */
orch_step_result_t orch_wf_push_config(orch_step_ctx_t *ctx, json_t *state);

/* The one-line descriptions the example's subscriptions carry, which people meet in lists
 * and in the choice labels of forms (lifecycle.c; caller frees): "node ams-01 (Cisco)" from
 * the node's name and its product's node_type, and "port ams-01 1/1/1 10G" from the name of
 * the port's node, its port_name and its product's speed. */
char *orch_wf_node_description(const orch_subscription_t *node);
char *orch_wf_port_description(const orch_subscription_t *port, const char *node_name);

/* The lifecycle of the example catalogue (lifecycle.c). */
extern const orch_workflow_def_t orch_wf_modify_note;
extern const orch_workflow_def_t orch_wf_modify_node, orch_wf_terminate_node, orch_wf_validate_node;
extern const orch_workflow_def_t orch_wf_create_port, orch_wf_modify_port, orch_wf_terminate_port,
    orch_wf_validate_port;
extern const orch_workflow_def_t orch_wf_create_l2vpn, orch_wf_modify_l2vpn,
    orch_wf_terminate_l2vpn, orch_wf_validate_l2vpn, orch_wf_reconcile_l2vpn;
extern const orch_workflow_def_t orch_wf_create_core_link, orch_wf_modify_core_link,
    orch_wf_terminate_core_link, orch_wf_validate_core_link;
/* All of the above with their symbols, {0}-terminated (registered by
 * orch_workflows_register_all). */
extern const orch_wf_entry_t orch_wf_lifecycle_all[];
/* create_node (node.c), likewise. */
extern const orch_wf_entry_t orch_wf_node_all[];
/* The test workflows below (testing.c), likewise. */
extern const orch_wf_entry_t orch_wf_testing_all[];

/* Test workflows: test_flaky (a task), test_versioned v1 and v2, test_timeout, test_secret,
 * test_guarded. */
extern const orch_workflow_def_t orch_wf_test_flaky;
extern const orch_workflow_def_t orch_wf_test_versioned_v1;
extern const orch_workflow_def_t orch_wf_test_versioned_v2;
extern const orch_workflow_def_t orch_wf_test_timeout;
extern const orch_workflow_def_t orch_wf_test_secret;
extern const orch_workflow_def_t orch_wf_test_guarded;
/* Two parallel branches whose step reads the start form's secret. */
extern const orch_workflow_def_t orch_wf_test_parallel_secret;

/* Every workflow orch_workflows_register_all registers, in that order, with its symbol:
 * create_node, the tasks, the lifecycle; with ORCH_TEST_WORKFLOWS set the test workflows
 * (test_versioned in the versions of ORCH_TEST_WORKFLOW_VERSIONS, "1,2" by default); with
 * ORCH_TEST_BROKEN_FIXTURE set the broken workflow of that name (broken.c). Sets *out
 * (caller frees with free()) and returns the count. */
size_t orch_workflows_list(orch_wf_entry_t **out);

/* Test fixtures of the start-up checks (broken.c): each is one mistake, chosen by name with
 * ORCH_TEST_BROKEN_FIXTURE. The workflow part (or NULL), the catalogue part (adds a broken
 * product to cat, or nothing), and the symbol the check must name (NULL: unknown name). */
const orch_wf_entry_t *orch_broken_fixture_workflow(const char *name);
void orch_broken_fixture_catalog(const char *name, orch_catalog_t *cat);
const char *orch_broken_fixture_symbol(const char *name);
/* Three parallel branches joined (one can be made to fail: state.fail_branch_c). */
extern const orch_workflow_def_t orch_wf_test_parallel;
/* Benchmark tasks of no-op steps (bench/run.sh): bench_noop_10 and bench_noop_3. */
extern const orch_workflow_def_t orch_wf_bench_noop_10;
extern const orch_workflow_def_t orch_wf_bench_noop_3;
extern const orch_workflow_def_t orch_wf_test_long_50;
/* bench_noop_100 (99 no-ops and done, state {}) and bench_grow_100 (each step adds about
 * 1 KiB to the state): a step's cost against the process's length (bench/run.sh). */
extern const orch_workflow_def_t orch_wf_bench_noop_100;
/* Remote steps: test_remote (one step of test.remote, no fall-back) and bench_remote_noop
 * (bench_noop_3 with its second step of bench.noop). */
extern const orch_workflow_def_t orch_wf_test_remote;
extern const orch_workflow_def_t orch_wf_bench_remote_noop;
extern const orch_workflow_def_t orch_wf_bench_grow_100;

#endif
