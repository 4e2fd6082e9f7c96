/* Engine threads: claim -> load -> run one step -> fenced commit, and the heartbeat. One
 * step per claim keeps the protocol simple: after each commit the process is claimable
 * again (usually by the same worker at once), so the pause switch and the version filter of
 * the claim apply before every step. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/alloc.h"
#include "domain/engine/join.h"
#include "domain/engine/worker.h"
#include "domain/forms/forms.h"
#include "domain/ids.h"
#include "domain/metrics.h"

struct orch_engine {
    orch_engine_config_t cfg;
    char *hostname, *build, *address;
    char replica_id[37];
    atomic_int stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned wakeups;    /* bumped by orch_engine_wake, under mu */
    int64_t next_due_ms; /* a process this replica parked becomes due then (0 = none) */
    pthread_t *threads;
    int nthreads;
    pthread_t heartbeat;
    bool heartbeat_started;
    /* Test hook: the heartbeat leaves timed-out callbacks to the built-in task, so a test
     * of that task is not raced by it (ORCH_TEST_NO_CALLBACK_SWEEP). */
    bool no_callback_sweep;
    /* Test hook: hold this step ("*": every step) after it ran, before its commit
     * (ORCH_TEST_HOLD_STEP). */
    const char *hold_step;
    int hold_ms;
};

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Sleeps up to ms, or until woken (wake = true) or stopping. */
static void idle(orch_engine_t *e, int ms, bool wake)
{
    struct timespec until;
    unsigned seen;
    pthread_mutex_lock(&e->mu);
    /* A back-off this replica set ends sooner than the poll: look again then. */
    if (e->next_due_ms) {
        int64_t left = e->next_due_ms - orch_now_ms();
        if (left < ms) {
            ms = left > 0 ? (int)left : 0;
            e->next_due_ms = 0;
        }
    }
    deadline_in(&until, ms);
    seen = e->wakeups;
    while (!atomic_load(&e->stopping) && (!wake || seen == e->wakeups))
        if (pthread_cond_timedwait(&e->cv, &e->mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&e->mu);
}

void orch_engine_wake(orch_engine_t *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    e->wakeups++;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

const char *orch_engine_replica_id(const orch_engine_t *e)
{
    return e->replica_id;
}

static void hold(orch_engine_t *e, const char *process_id, const char *key)
{
    int64_t until = orch_now_ms() + e->hold_ms;
    orch_warn("engine", "test hook: holding step %s of process %s for %d ms before its commit", key,
              process_id, e->hold_ms);
    while (!atomic_load(&e->stopping) && orch_now_ms() < until)
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
}

/* A callback token: 64 hex digits from two random (v4) UUIDs, 244 random bits. */
static void new_callback_token(char out[65])
{
    char a[ORCH_UUID_LEN + 1], b[ORCH_UUID_LEN + 1];
    size_t n = 0;
    orch_uuid_new(a);
    orch_uuid_new(b);
    for (const char *p = a; *p; p++)
        if (*p != '-')
            out[n++] = *p;
    for (const char *p = b; *p; p++)
        if (*p != '-')
            out[n++] = *p;
    out[n] = '\0';
}

/* Runs the next step of a claimed process and commits it (or gives the process back). */
static void run_claimed(orch_engine_t *e, orch_claim_t *c)
{
    orch_store_t *st = e->cfg.store;
    orch_ctx_t ctx = {.cancelled = &e->stopping, .actor = e->replica_id};
    orch_process_t *p = NULL;
    const orch_workflow_t *wf;
    const orch_leaf_t *leaf;
    const char **done = NULL;
    size_t ndone = 0;
    orch_tx_t *tx = NULL;
    orch_outcome_t out = {0};
    orch_step_ctx_t sctx;
    orch_error_t err;
    json_t *secrets = NULL;  /* the process's secret overlay, or NULL */
    json_t *unmasked = NULL; /* the state with the secrets, for the step only */
    bool paused = false, ran = false;
    int timeout;
    int64_t t0 = orch_now_ms();

    orch_error_init(&err);
    wf = orch_registry_find(e->cfg.registry, c->workflow, c->version);
    if (!wf || st->ops->process_get(st, NULL, NULL, c->process_id, true, &p, &err)) {
        orch_warn("engine", "process %s: cannot load (%s); giving it back", c->process_id,
                  wf ? err.message : "version not registered here");
        goto release;
    }
    done = orch_calloc(p->nsteps + 1, sizeof(*done));
    for (size_t i = 0; i < p->nsteps; i++)
        if (strcmp(p->steps[i].status, "success") == 0 ||
            strcmp(p->steps[i].status, "skipped") == 0 ||
            strcmp(p->steps[i].status, "complete") == 0)
            done[ndone++] = p->steps[i].key;
    /* A parallel branch runs its branch's leaves only (domain/engine/join.h). */
    leaf = p->branch_key ? orch_runner_next_in_branch(wf, p->branch_key, done, ndone)
                         : orch_runner_next(wf, done, ndone);
    if (leaf && leaf->def->kind == ORCH_KIND_PARALLEL) {
        orch_parallel_run(st, e->replica_id, c, wf, leaf, p);
        goto out;
    }
    if (!leaf) {
        orch_warn("engine", "process %s has no step left but is runnable; giving it back",
                  c->process_id);
        goto release;
    }
    timeout = leaf->def->timeout_ms > 0 ? leaf->def->timeout_ms : ORCH_STEP_TIMEOUT_DEFAULT_MS;
    orch_error_init(&err);
    if (st->ops->process_step_begin(st, NULL, c, leaf->key, leaf->def->name, timeout, &paused,
                                    &err)) {
        orch_info("engine", "process %s: %s", c->process_id, err.message);
        /* Anything but a lost lease (the database went away, say) leaves our lease in place,
         * which the heartbeat would renew: give it back. */
        if (strcmp(err.reason, "LEASE_LOST") != 0)
            goto release;
        goto out;
    }
    if (paused)
        goto release;
    /* The unit of work runs without the step's deadline, so that the commit of a step that
     * overran can still record its failure; the step itself gets the deadline. */
    orch_error_init(&err);
    if (st->ops->tx_begin(st, NULL, &tx, &err)) {
        orch_warn("engine", "process %s: %s", c->process_id, err.message);
        goto release;
    }
    memset(&sctx, 0, sizeof(sctx));
    sctx.process_id = c->process_id;
    sctx.step_key = leaf->key;
    sctx.step_name = leaf->def->name;
    sctx.workflow = c->workflow;
    sctx.workflow_version = c->version;
    sctx.ctx = (orch_ctx_t){
        .deadline_ms = orch_now_ms() + timeout, .cancelled = &e->stopping, .actor = e->replica_id};
    sctx.store = st;
    sctx.tx = tx;
    sctx.catalog = e->cfg.catalog;
    if (leaf->def->kind == ORCH_KIND_CALLBACK)
        new_callback_token(sctx.callback_token);
    orch_debug("engine", "process %s: running step %s (attempt %d)", c->process_id, leaf->key,
               p->retry_count);
    /* Secret answers are "***" in the stored state: a step gets the real values (kept apart
     * by the store, under the top-level process: a parallel branch reads its parent's), and
     * what it returns is masked again before the commit. */
    if (orch_json_has_mask(orch_process_current_state(p))) {
        orch_error_init(&err);
        if (st->ops->process_secrets_get(
                st, tx, NULL, p->parent_id[0] ? p->parent_id : c->process_id, &secrets, &err)) {
            orch_warn("engine", "process %s: cannot read its secret answers: %s", c->process_id,
                      err.message);
            goto release;
        }
        if (secrets)
            unmasked = orch_json_deep_merge(orch_process_current_state(p), secrets);
    }
    orch_runner_run(wf, leaf, &sctx, unmasked ? unmasked : orch_process_current_state(p),
                    p->retry_count, &out);
    ran = true;
    if (secrets) {
        json_t *masked;
        orch_json_mask_like(out.delta, secrets);
        masked = orch_state_merge(orch_process_current_state(p), out.delta);
        json_decref(out.state);
        out.state = masked;
    }
    if (p->branch_key && out.step_status &&
        (strcmp(out.step_status, "success") == 0 || strcmp(out.step_status, "skipped") == 0)) {
        /* The branch's last step: the branch process completes (which may wake the join). */
        done[ndone] = leaf->key;
        if (!orch_runner_next_in_branch(wf, p->branch_key, done, ndone + 1)) {
            out.process_status = "completed";
            out.runnable = false;
            out.finished = true;
        }
    }
    if (e->hold_step && (strcmp(e->hold_step, "*") == 0 || strcmp(e->hold_step, leaf->key) == 0))
        hold(e, c->process_id, leaf->key);
    if (atomic_load(&e->stopping)) {
        orch_info("engine", "process %s: stopping; step %s rolled back", c->process_id, leaf->key);
        goto release;
    }
    if (out.step_status && strcmp(out.step_status, "awaiting_callback") == 0) {
        orch_error_init(&err);
        if (st->ops->callback_create(tx, c->process_id, leaf->key, sctx.callback_token,
                                     leaf->def->callback_timeout_ms, &err)) {
            orch_warn("engine", "process %s: cannot store the callback of step %s: %s",
                      c->process_id, leaf->key, err.message);
            goto release;
        }
    }
    memset(sctx.callback_token, 0, sizeof(sctx.callback_token));
    {
        orch_step_commit_t cm = {
            .process_id = c->process_id,
            .lease_token = c->lease_token,
            .old_status = c->status,
            .step_key = leaf->key,
            .step_name = leaf->def->name,
            .step_status = out.step_status,
            .state = out.state,
            .delta = out.delta,
            .error = out.error,
            .start_time = c->step_started,
            .process_status = out.process_status,
            .runnable = out.runnable,
            .finished = out.finished,
            .next_run_delay_ms = out.next_run_delay_ms,
            .retry_count = out.retry_count,
            .executed_by = e->replica_id,
            .subscriptions = (const char(*)[37])sctx.linked_subscriptions,
            .nsubscriptions = sctx.nlinked,
        };
        orch_error_init(&err);
        if (st->ops->process_commit_step(tx, &cm, &err)) {
            char ml[300];
            snprintf(ml, sizeof(ml), "workflow=\"%s\"", c->workflow);
            orch_metrics_add("orch_step_commits_refused_total", ml, 1);
            orch_info("engine", "process %s (%s): step %s not committed: %s", c->process_id,
                      c->workflow, leaf->key, err.message);
            st->ops->tx_rollback(tx);
            tx = NULL;
            if (strcmp(err.reason, "LEASE_LOST") != 0)
                goto release; /* e.g. the connection died: the lease is still ours */
            goto out;
        }
        orch_error_init(&err);
        if (st->ops->tx_commit(tx, &err)) {
            tx = NULL;
            orch_warn("engine", "process %s: commit of step %s failed: %s", c->process_id,
                      leaf->key, err.message);
            /* Whether or not the commit landed, the release (same token) is safe: it only
             * clears a lease still held, and a later claim's token makes it a no-op. */
            goto release;
        }
        tx = NULL;
        if (out.runnable && out.next_run_delay_ms > 0) {
            int64_t due = orch_now_ms() + out.next_run_delay_ms + 5;
            pthread_mutex_lock(&e->mu);
            if (!e->next_due_ms || due < e->next_due_ms)
                e->next_due_ms = due;
            pthread_mutex_unlock(&e->mu);
        }
        {
            char ml[300];
            snprintf(ml, sizeof(ml), "workflow=\"%s\",status=\"%s\"", c->workflow, out.step_status);
            orch_metrics_add("orch_steps_total", ml, 1);
            snprintf(ml, sizeof(ml), "workflow=\"%s\"", c->workflow);
            orch_metrics_observe("orch_step_duration_seconds", ml,
                                 (double)(orch_now_ms() - t0) / 1000.0);
        }
        orch_info("engine", "process %s (%s): step %s %s -> %s", c->process_id, c->workflow,
                  leaf->key, out.step_status, out.process_status);
    }
    goto out;
release:
    (void)ran;
    st->ops->tx_rollback(tx);
    tx = NULL;
    /* Until the release lands (or the token moved on) the lease is ours and the heartbeat
     * renews it: nothing else would run the process. So retry it while the database is
     * away, backing off, as long as this replica runs. */
    for (int backoff = 100;; backoff = backoff < 2000 ? backoff * 2 : 2000) {
        orch_error_init(&err);
        if (!st->ops->process_release(st, NULL, c, &err))
            break;
        orch_warn("engine", "process %s: cannot give it back (%s)%s", c->process_id, err.message,
                  atomic_load(&e->stopping) ? "" : "; trying again");
        for (int slept = 0; slept < backoff && !atomic_load(&e->stopping); slept += 20)
            nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
        if (atomic_load(&e->stopping))
            break;
    }
out:
    (void)ctx;
    st->ops->tx_rollback(tx);
    orch_outcome_cleanup(&out);
    json_decref(unmasked);
    json_decref(secrets);
    free(done);
    orch_process_free(p);
}

static void *worker_main(void *arg)
{
    orch_engine_t *e = arg;
    while (!atomic_load(&e->stopping)) {
        orch_claim_t c;
        size_t n = 0;
        orch_error_t err;
        orch_error_init(&err);
        if (e->cfg.store->ops->process_claim(e->cfg.store, NULL, e->replica_id, e->cfg.lease_ms, 1,
                                             &c, &n, &err)) {
            orch_warn("engine", "claim failed: %s", err.message);
            idle(e, e->cfg.poll_ms, false);
            continue;
        }
        if (n == 0) {
            idle(e, e->cfg.poll_ms, true);
            continue;
        }
        orch_metrics_add("orch_process_claims_total", "", 1);
        run_claimed(e, &c);
    }
    return NULL;
}

static void *heartbeat_main(void *arg)
{
    orch_engine_t *e = arg;
    int every = e->cfg.lease_ms / 3;
    if (every > 1000)
        every = 1000;
    if (every < 50)
        every = 50;
    while (!atomic_load(&e->stopping)) {
        orch_error_t err;
        orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 5000};
        orch_error_init(&err);
        if (e->cfg.store->ops->engine_heartbeat(e->cfg.store, &ctx, e->replica_id, e->cfg.lease_ms,
                                                &err))
            orch_warn("engine", "heartbeat failed: %s", err.message);
        if (!e->no_callback_sweep) {
            int nfailed = 0;
            orch_error_init(&err);
            if (e->cfg.store->ops->callback_fail_expired(e->cfg.store, &ctx, &nfailed, &err))
                orch_warn("engine", "callback time-out sweep failed: %s", err.message);
            else if (nfailed)
                orch_info("engine", "%d process%s failed: no callback before the deadline", nfailed,
                          nfailed == 1 ? "" : "es");
        }
        idle(e, every, false);
    }
    return NULL;
}

orch_err_t orch_engine_start(const orch_engine_config_t *cfg, orch_engine_t **out,
                             orch_error_t *err)
{
    orch_engine_t *e = orch_calloc(1, sizeof(*e));
    size_t n = orch_registry_count(cfg->registry);
    orch_wf_reg_t *regs = orch_calloc(n + 1, sizeof(*regs));
    pthread_condattr_t ca;
    const char *hold_ms = getenv("ORCH_TEST_HOLD_MS");
    orch_err_t rc;

    *out = NULL;
    e->cfg = *cfg;
    e->hostname = orch_strdup(cfg->hostname);
    e->build = orch_strdup(cfg->build);
    e->address = orch_strdup(cfg->address);
    if (e->cfg.lease_ms < 100)
        e->cfg.lease_ms = 100;
    if (e->cfg.poll_ms < 10)
        e->cfg.poll_ms = 10;
    e->hold_step = getenv("ORCH_TEST_HOLD_STEP");
    e->no_callback_sweep = getenv("ORCH_TEST_NO_CALLBACK_SWEEP") != NULL;
    e->hold_ms = hold_ms ? atoi(hold_ms) : 60000;
    pthread_mutex_init(&e->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->cv, &ca);
    pthread_condattr_destroy(&ca);
    for (size_t i = 0; i < n; i++) {
        const orch_workflow_t *w = orch_registry_at(cfg->registry, i);
        regs[i] = (orch_wf_reg_t){
            w->def->name,    w->def->description, orch_workflow_target_name(w->def->target),
            w->def->is_task, w->def->version,     w->steps_json,
            w->digest};
    }
    rc = cfg->store->ops->engine_register(cfg->store, NULL, e->hostname, e->build, e->address,
                                          cfg->workers, regs, n, e->replica_id, err);
    free(regs);
    if (rc) {
        pthread_mutex_destroy(&e->mu);
        pthread_cond_destroy(&e->cv);
        free(e->hostname);
        free(e->build);
        free(e->address);
        free(e);
        return rc;
    }
    orch_info("engine", "replica %s: %zu workflow version%s, %d worker%s", e->replica_id, n,
              n == 1 ? "" : "s", cfg->workers, cfg->workers == 1 ? "" : "s");
    if (pthread_create(&e->heartbeat, NULL, heartbeat_main, e) == 0)
        e->heartbeat_started = true;
    e->threads = orch_calloc((size_t)(cfg->workers > 0 ? cfg->workers : 1), sizeof(pthread_t));
    for (int i = 0; i < cfg->workers; i++)
        if (pthread_create(&e->threads[e->nthreads], NULL, worker_main, e) == 0)
            e->nthreads++;
    *out = e;
    return ORCH_OK;
}

void orch_engine_stop(orch_engine_t *e)
{
    orch_error_t err;
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 5000};
    if (!e)
        return;
    atomic_store(&e->stopping, 1);
    orch_engine_wake(e);
    for (int i = 0; i < e->nthreads; i++)
        pthread_join(e->threads[i], NULL);
    if (e->heartbeat_started)
        pthread_join(e->heartbeat, NULL);
    orch_error_init(&err);
    if (e->cfg.store->ops->engine_stop(e->cfg.store, &ctx, e->replica_id, &err))
        orch_warn("engine", "cannot release this replica's leases: %s", err.message);
    else
        orch_info("engine", "replica %s stopped; its leases are released", e->replica_id);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e->threads);
    free(e->hostname);
    free(e->build);
    free(e->address);
    free(e);
}
