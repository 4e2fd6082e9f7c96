/* Registration of the workflows this build ships (see workflows.h). The versions of
 * test_versioned come from ORCH_TEST_WORKFLOW_VERSIONS ("1,2" by default) so a test can
 * start a replica that lacks one. */
#include <stdlib.h>
#include <string.h>

#include "domain/engine/engine.h"
#include "domain/workflows/tasks.h"
#include "domain/workflows/workflows.h"

orch_err_t orch_workflows_register_all(orch_registry_t *r, orch_error_t *err)
{
    const char *versions = getenv("ORCH_TEST_WORKFLOW_VERSIONS");
    orch_err_t rc = orch_registry_add(r, &orch_wf_create_node, err);
    if (!rc)
        rc = orch_workflows_register_tasks(r, err);
    for (size_t i = 0; !rc && orch_wf_lifecycle_all[i]; i++)
        rc = orch_registry_add(r, orch_wf_lifecycle_all[i], err);
    if (rc || !getenv("ORCH_TEST_WORKFLOWS"))
        return rc;
    if (!versions)
        versions = "1,2";
    if (!rc)
        rc = orch_registry_add(r, &orch_wf_test_flaky, err);
    if (!rc)
        rc = orch_registry_add(r, &orch_wf_test_timeout, err);
    if (!rc)
        rc = orch_registry_add(r, &orch_wf_bench_noop_10, err);
    if (!rc)
        rc = orch_registry_add(r, &orch_wf_bench_noop_3, err);
    if (!rc && strchr(versions, '1'))
        rc = orch_registry_add(r, &orch_wf_test_versioned_v1, err);
    if (!rc && strchr(versions, '2'))
        rc = orch_registry_add(r, &orch_wf_test_versioned_v2, err);
    return rc;
}
