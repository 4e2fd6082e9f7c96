/* orchestratord-test: orchestratord (server/daemon.h) with the test library added: the test
 * workflows, the broken fixtures and the engine hooks, each chosen by its ORCH_TEST_*
 * variable (testbin.h). The integration tests and the benchmarks run this binary; the
 * production one carries none of it. */
#include <stdlib.h>

#include "server/daemon.h"
#include "tests/testbin/testbin.h"

int main(int argc, char **argv)
{
    orch_wf_entry_t *workflows = orch_testbin_workflows_new();
    int status = orch_daemon_main(argc, argv,
                                  &(orch_daemon_extras_t){
                                      .workflows = workflows,
                                      .catalog_extend = orch_testbin_catalog_extend,
                                      .engine_hooks = orch_testbin_engine_hooks,
                                  });
    free(workflows);
    return status;
}
