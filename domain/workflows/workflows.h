/* The workflows this build ships: the example catalogue's (create_node) and, when the
 * environment sets ORCH_TEST_WORKFLOWS, small test workflows and tasks used by the
 * integration tests (flaky steps, retries, versions). */
#ifndef ORCH_WORKFLOWS_H
#define ORCH_WORKFLOWS_H

#include "domain/engine/engine.h"

extern const orch_workflow_def_t orch_wf_create_node;

/* The lifecycle of the example catalogue (lifecycle.c). */
extern const orch_workflow_def_t orch_wf_modify_note;
extern const orch_workflow_def_t orch_wf_modify_node, orch_wf_terminate_node,
    orch_wf_validate_node;
extern const orch_workflow_def_t orch_wf_create_port, orch_wf_modify_port,
    orch_wf_terminate_port, orch_wf_validate_port;
extern const orch_workflow_def_t orch_wf_create_l2vpn, orch_wf_modify_l2vpn,
    orch_wf_terminate_l2vpn, orch_wf_validate_l2vpn, orch_wf_reconcile_l2vpn;
extern const orch_workflow_def_t orch_wf_create_core_link, orch_wf_modify_core_link,
    orch_wf_terminate_core_link, orch_wf_validate_core_link;
/* All of the above, NULL-terminated (registered by orch_workflows_register_all). */
extern const orch_workflow_def_t *const orch_wf_lifecycle_all[];

/* Test workflows: test_flaky (a task), test_versioned v1 and v2, test_timeout. */
extern const orch_workflow_def_t orch_wf_test_flaky;
extern const orch_workflow_def_t orch_wf_test_versioned_v1;
extern const orch_workflow_def_t orch_wf_test_versioned_v2;
extern const orch_workflow_def_t orch_wf_test_timeout;
/* Benchmark tasks of no-op steps (bench/run.sh): bench_noop_10 and bench_noop_3. */
extern const orch_workflow_def_t orch_wf_bench_noop_10;
extern const orch_workflow_def_t orch_wf_bench_noop_3;

#endif
