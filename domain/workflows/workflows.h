/* The workflows this build ships: the example catalogue's (create_node) and, when the
 * environment sets ORCH_TEST_WORKFLOWS, small test workflows and tasks used by the
 * integration tests (flaky steps, retries, versions). */
#ifndef ORCH_WORKFLOWS_H
#define ORCH_WORKFLOWS_H

#include "domain/engine/engine.h"

extern const orch_workflow_def_t orch_wf_create_node;

/* Test workflows: test_flaky (a task), test_versioned v1 and v2, test_timeout. */
extern const orch_workflow_def_t orch_wf_test_flaky;
extern const orch_workflow_def_t orch_wf_test_versioned_v1;
extern const orch_workflow_def_t orch_wf_test_versioned_v2;
extern const orch_workflow_def_t orch_wf_test_timeout;

#endif
