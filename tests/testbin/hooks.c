/* What the environment asks of orchestratord-test (testbin.h): the test workflows, the
 * broken fixture, and the engine hooks (domain/engine/worker.h) that hold a step or a group
 * commit, or bend a group commit, so that a test can see a race. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/log.h"
#include "tests/testbin/testbin.h"

orch_wf_entry_t *orch_testbin_workflows_new(void)
{
    const char *versions = getenv("ORCH_TEST_WORKFLOW_VERSIONS");
    const char *broken = getenv("ORCH_TEST_BROKEN_FIXTURE");
    size_t cap = 2, n = 0;
    orch_wf_entry_t *out;

    for (const orch_wf_entry_t *e = orch_wf_testing_all; e->def; e++)
        cap++;
    out = orch_calloc(cap, sizeof(*out)); /* zeroed: the {0} end is already there */
    if (getenv("ORCH_TEST_WORKFLOWS")) {
        if (!versions)
            versions = "1,2";
        for (const orch_wf_entry_t *e = orch_wf_testing_all; e->def; e++) {
            if (strcmp(e->def->name, "test_versioned") == 0 &&
                !strchr(versions, '0' + e->def->version))
                continue;
            out[n++] = *e;
        }
    }
    if (broken && *broken && orch_broken_fixture_workflow(broken))
        out[n++] = *orch_broken_fixture_workflow(broken);
    return out;
}

void orch_testbin_catalog_extend(orch_catalog_t *cat)
{
    if (getenv("ORCH_TEST_BROKEN_FIXTURE"))
        orch_broken_fixture_catalog(getenv("ORCH_TEST_BROKEN_FIXTURE"), cat);
}

/* The hooks' settings, read once from the environment. */
typedef struct test_hooks {
    const char *hold_step; /* ORCH_TEST_HOLD_STEP: hold this step ("*": any) before commit */
    int hold_ms;           /* ORCH_TEST_HOLD_MS: for this long (default 60000) */
    int hold_group_ms;     /* ORCH_TEST_HOLD_GROUP_COMMIT_MS */
    int hold_handoff_ms;   /* ORCH_TEST_HOLD_HANDOFF_MS */
    atomic_int fail_one;   /* ORCH_TEST_GROUP_COMMIT_FAIL_ONE, until it fired */
} test_hooks_t;

static test_hooks_t settings;
static orch_engine_hooks_t hooks;

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

/* ORCH_TEST_HOLD_STEP: sleeps in 20 ms slices, so that a stop interrupts the hold. */
static void hold_step(void *arg, const char *process_id, const char *key,
                      const atomic_int *stopping)
{
    const test_hooks_t *h = arg;
    int64_t until;
    if (!h->hold_step || (strcmp(h->hold_step, "*") != 0 && strcmp(h->hold_step, key) != 0))
        return;
    until = orch_now_ms() + h->hold_ms;
    orch_warn("engine", "test hook: holding step %s of process %s for %d ms before its commit", key,
              process_id, h->hold_ms);
    while (!atomic_load(stopping) && orch_now_ms() < until)
        sleep_ms(20);
}

/* ORCH_TEST_GROUP_COMMIT_FAIL_ONE and ORCH_TEST_HOLD_GROUP_COMMIT_MS (n >= 2 here). */
static void bend_group_flush(void *arg, orch_step_commit_t *parts, size_t n)
{
    test_hooks_t *h = arg;
    int how = atomic_exchange(&h->fail_one, 0);
    if (how == 1) {
        orch_warn("engine",
                  "test hook: group commit of %zu steps: process %s sent with a wrong lease "
                  "token",
                  n, parts[0].process_id);
        parts[0].lease_token += 1000000;
    } else if (how == 2) {
        /* A step name past the schema's 255 characters: an SQL error in that part alone. */
        static char name[301];
        memset(name, 'x', sizeof(name) - 1);
        orch_warn("engine",
                  "test hook: group commit of %zu steps: process %s sent with an SQL error", n,
                  parts[0].process_id);
        parts[0].step_name = name;
    }
    if (h->hold_group_ms > 0) {
        orch_warn("engine",
                  "test hook: holding group commit of %zu steps for %d ms before its "
                  "round trip",
                  n, h->hold_group_ms);
        sleep_ms(h->hold_group_ms);
    }
}

/* ORCH_TEST_HOLD_HANDOFF_MS: StartProcess waits between its commit and the hand-off. */
static void hold_handoff(void *arg, const char *process_id)
{
    const test_hooks_t *h = arg;
    orch_warn("engine", "test hook: holding the hand-off of process %s for %d ms", process_id,
              h->hold_handoff_ms);
    sleep_ms(h->hold_handoff_ms);
}

const orch_engine_hooks_t *orch_testbin_engine_hooks(void)
{
    const char *v;
    settings.hold_step = getenv("ORCH_TEST_HOLD_STEP");
    v = getenv("ORCH_TEST_HOLD_MS");
    settings.hold_ms = v ? atoi(v) : 60000;
    v = getenv("ORCH_TEST_HOLD_GROUP_COMMIT_MS");
    settings.hold_group_ms = v ? atoi(v) : 0;
    v = getenv("ORCH_TEST_HOLD_HANDOFF_MS");
    settings.hold_handoff_ms = v ? atoi(v) : 0;
    /* ORCH_TEST_GROUP_COMMIT_FAIL_ONE: "sql" = one part fails with an SQL error, anything
     * else = with a lost fence. */
    v = getenv("ORCH_TEST_GROUP_COMMIT_FAIL_ONE");
    atomic_store(&settings.fail_one, v ? (strcmp(v, "sql") == 0 ? 2 : 1) : 0);
    v = getenv("ORCH_TEST_GROUP_COMMIT_MIN");
    hooks = (orch_engine_hooks_t){
        .arg = &settings,
        .before_commit = settings.hold_step ? hold_step : NULL,
        .before_group_flush =
            settings.hold_group_ms > 0 || atomic_load(&settings.fail_one) ? bend_group_flush : NULL,
        .before_handoff = settings.hold_handoff_ms > 0 ? hold_handoff : NULL,
        .group_min = v ? atoi(v) : 0,
        .no_callback_sweep = getenv("ORCH_TEST_NO_CALLBACK_SWEEP") != NULL,
    };
    if (settings.hold_step || settings.hold_group_ms || settings.hold_handoff_ms ||
        hooks.group_min || atomic_load(&settings.fail_one))
        orch_warn("engine", "test hooks are set (ORCH_TEST_*): not for production");
    return &hooks;
}
