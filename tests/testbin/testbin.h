/* The test library of orchestratord-test (issue 18): the test workflows (testing.c), the
 * broken fixtures of the start-up checks (broken.c) and the engine's test hooks (hooks.c),
 * each chosen by an ORCH_TEST_* environment variable. Linked into the test binary
 * (tests/testbin/main.c) and unit tests only, never into orchestratord: its strings are
 * checked for ORCH_TEST_ by tests/structure/layering.py and test_checks_it.
 *
 * The environment it reads:
 *   ORCH_TEST_WORKFLOWS          register the test workflows below
 *   ORCH_TEST_WORKFLOW_VERSIONS  the versions of test_versioned ("1,2" by default), so that
 *                                a test can start a replica that lacks one
 *   ORCH_TEST_BROKEN_FIXTURE     add the broken fixture of that name (its workflow or product)
 *   ORCH_TEST_HOLD_STEP          hold this step ("*": any) before its commit ...
 *   ORCH_TEST_HOLD_MS            ... for this long (default 60000)
 *   ORCH_TEST_NO_CALLBACK_SWEEP  the heartbeat fails no expired callback
 *   ORCH_TEST_HOLD_GROUP_COMMIT_MS  a group commit of >= 2 steps waits this long before its
 *                                round trip (its "holding group commit" log line)
 *   ORCH_TEST_GROUP_COMMIT_MIN   the first group commit waits (up to 5 s) for this many steps
 *   ORCH_TEST_GROUP_COMMIT_FAIL_ONE  the first group commit of >= 2 steps sends its first
 *                                part with a wrong lease token (once) */
#ifndef ORCH_TESTBIN_H
#define ORCH_TESTBIN_H

#include "domain/catalog/catalog.h"
#include "domain/engine/engine.h"
#include "domain/engine/worker.h"

/* The workflows the environment asks for: the test workflows (ORCH_TEST_WORKFLOWS, with
 * test_versioned in the versions of ORCH_TEST_WORKFLOW_VERSIONS), then the broken fixture's
 * workflow (ORCH_TEST_BROKEN_FIXTURE). {0}-terminated, never NULL; caller frees with free(). */
orch_wf_entry_t *orch_testbin_workflows_new(void);
/* Adds the broken fixture's product (ORCH_TEST_BROKEN_FIXTURE) to cat, if it has one. */
void orch_testbin_catalog_extend(orch_catalog_t *cat);
/* The engine hooks of the environment (ORCH_TEST_HOLD_*, ORCH_TEST_GROUP_COMMIT_*,
 * ORCH_TEST_NO_CALLBACK_SWEEP), read once; logs a warning when any is set. Static storage. */
const orch_engine_hooks_t *orch_testbin_engine_hooks(void);

/* All the test workflows below with their symbols, {0}-terminated. */
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
/* Three parallel branches joined (one can be made to fail: state.fail_branch_c). */
extern const orch_workflow_def_t orch_wf_test_parallel;
/* Benchmark tasks of no-op steps (bench/run.sh): bench_noop_10 and bench_noop_3. */
extern const orch_workflow_def_t orch_wf_bench_noop_10;
extern const orch_workflow_def_t orch_wf_bench_noop_3;
extern const orch_workflow_def_t orch_wf_test_long_50;
/* bench_noop_100 (99 no-ops and done, state {}) and bench_grow_100 (each step adds about
 * 1 KiB to the state): a step's cost against the process's length (bench/run.sh). */
extern const orch_workflow_def_t orch_wf_bench_noop_100;
extern const orch_workflow_def_t orch_wf_bench_grow_100;
/* Remote steps: test_remote (one step of test.remote, no fall-back) and bench_remote_noop
 * (bench_noop_3 with its second step of bench.noop). */
extern const orch_workflow_def_t orch_wf_test_remote;
extern const orch_workflow_def_t orch_wf_test_remote_secret;
extern const orch_workflow_def_t orch_wf_bench_remote_noop;

/* Test fixtures of the start-up checks (broken.c): each is one mistake, chosen by name. The
 * workflow part (or NULL), the catalogue part (adds a broken product to cat, or nothing),
 * and the symbol the check must name (NULL: unknown name). */
const orch_wf_entry_t *orch_broken_fixture_workflow(const char *name);
void orch_broken_fixture_catalog(const char *name, orch_catalog_t *cat);
const char *orch_broken_fixture_symbol(const char *name);

#endif
