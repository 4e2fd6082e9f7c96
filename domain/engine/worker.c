/* Engine threads. A worker claims processes (several in one statement when it is idle, the
 * extras waiting in this replica's local list under their leases) or gets one handed over by
 * StartProcess, and runs it in a stretch: step after step under the one lease, with the
 * state, done keys and retry count in memory (the truth while it holds the lease: nothing it
 * wrote is read back), each step committed in one round trip that also shows the next step
 * running. A stretch ends at a wait (input, callback, retry back-off, parallel fork, the end),
 * a pause, a lost fence or stop, and yields to the back of the local list after
 * STRETCH_MAX_STEPS steps or STRETCH_MAX_MS. A worker holds several stretches at once and
 * runs their next steps in turn (run_stretches), unless a step may take long. Step commits
 * without writes of their own go through the replica's group committer: a worker's round
 * and the steps ready at the same moment share one transaction (one WAL flush). The
 * heartbeat thread renews the leases held in memory.
 * docs/ARCHITECTURE.md (Threads) has the design and its bounds. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/metrics.h"
#include "domain/engine/join.h"
#include "domain/engine/step_speed.h"
#include "domain/engine/worker.h"
#include "domain/forms/forms.h"
#include "domain/ids.h"

/* A stretch yields (to the back of the local list, keeping its lease) after this many
 * steps or milliseconds, whichever comes first, so that the processes claimed together do
 * not wait behind one long process. */
#define STRETCH_MAX_STEPS 32
#define STRETCH_MAX_MS 250
/* A worker claims for itself and for the replica's other idle workers (at most this many)
 * in one statement; the extras go to the local list, where those idle workers take them at
 * once. It never claims more than the idle workers can start, so a process is not held
 * here while another replica could run it. */
#define CLAIM_BATCH_MAX 16
/* A group commit holds at most this many steps. */
#define GROUP_COMMIT_MAX 64
/* A leader waits at most this long (microseconds) for the other workers of the replica that
 * are in a stretch but not yet queued: their step is usually a moment from its commit, and
 * waiting pairs the commits instead of alternating them. A lone stretch never waits. */
#define GROUP_COMMIT_GATHER_US 300
/* A worker holds at most this many processes at once unless the configuration says
 * otherwise (orch_engine_config_t.stretches_per_worker). */
#define STRETCHES_PER_WORKER_DEFAULT 8
/* A step whose own code ran under this many microseconds the last time is "fast": the other
 * stretches of its worker wait for it with their commits queued (run_stretches). */
#define FAST_STEP_US 1000
/* A step whose own code ran this long or longer the last time is "long": when no other
 * worker of the replica is free, the processes its worker holds go back to the database
 * before it runs (yield_others). Far above FAST_STEP_US, so that a fast step the machine
 * delayed once is not taken for a network call. */
#define LONG_STEP_US 100000
/* Room in the step speed table beyond the leaves registered at start (workflows registered
 * as data later). */
#define STEP_SPEED_SPARE 256

/* A process this replica holds under a lease, in the local list or in a worker's hands. */
typedef struct job {
    orch_claim_t c;
    bool announced; /* its next step is already shown running (running_step_key, deadline) */
    struct job *next;
} job_t;

/* One part waiting in the group committer. */
typedef struct gc_wait {
    orch_step_commit_t part;
    orch_commit_result_t res;
    orch_err_t rc;
    orch_error_t err;
    bool done;
    struct gc_wait *next;
} gc_wait_t;

struct orch_engine {
    orch_engine_config_t cfg;
    char *hostname, *build, *address;
    char replica_id[37];
    atomic_int stopping;
    atomic_bool paused; /* the pause switch as NOTIFY and the heartbeat last told us */
    /* May a step in the middle of a stretch be committed as its delta? Not while a replica
     * of a release before the state tail is live (as registration and the heartbeat last
     * read it): it would take the lagging row's state for the current one. */
    atomic_bool tail_ok;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned wakeups;           /* bumped by orch_engine_wake, under mu */
    int64_t next_due_ms;        /* a process this replica parked becomes due then (0 = none) */
    job_t *ready, **ready_tail; /* the local list (FIFO), under mu */
    size_t nready;
    int nidle;           /* workers waiting for work, under mu */
    int reserved;        /* workers promised to a StartProcess in flight, under mu (more than
                          * nidle while a woken promised worker waits for its hand-off) */
    int claiming;        /* of them, claimed for by another worker's claim in flight, under mu */
    int stretches;       /* processes one worker holds at once */
    char (*holding)[37]; /* per worker, stretches slots: the processes it holds ("" = none),
                          * under mu */
    pthread_t *threads;
    struct worker_arg *args;
    int nthreads;
    pthread_t heartbeat;
    bool heartbeat_started;
    /* The group committer. */
    pthread_mutex_t gc_mu;
    pthread_cond_t gc_cv;
    bool gc_flushing;
    gc_wait_t *gc_queue, **gc_tail;
    size_t gc_n;
    atomic_int active; /* workers in a stretch (running a step or committing one) */
    atomic_int held;   /* the stretches those workers hold */
    atomic_int slow;   /* workers running a step that may take long (run_stretches) */
    /* The wake counter as it was before the last claim that came back empty, and when: until
     * it moves (a NOTIFY) or the poll interval passes, another claim would find nothing
     * either, so a worker whose stretch ended goes idle without one. Under mu. */
    unsigned empty_seen;
    int64_t empty_at_ms; /* 0 = no such claim */
    /* The task types live step workers serve, as the heartbeat's sweep last read them (a
     * JSON array; NULL before the first): a remote step with a fall-back runs it at once,
     * without a round trip, when its type is not among them. Under served_mu. */
    pthread_mutex_t served_mu;
    json_t *served;
    /* How long each step's own code (its run and settle, not the commit) took when it last
     * ran here: the next time, the worker's other stretches wait for it with their commits
     * queued only if it took under FAST_STEP_US. */
    orch_step_speeds_t *speeds;
    orch_engine_hooks_t hooks;     /* the embedding program's (worker.h); zero: none */
    atomic_bool group_min_pending; /* hooks.group_min: the first batch has not formed yet */
};

typedef struct worker_arg {
    orch_engine_t *e;
    int index;
} worker_arg_t;

static void deadline_in(struct timespec *ts, int ms)
{
    orch_clock_after_us(ts, CLOCK_MONOTONIC, (int64_t)ms * 1000);
}

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

/* Sleeps up to ms, or until woken (wake = true), work is in the local list, or stopping.
 * seen: the wake counter as the caller read it BEFORE it looked for work, so a wake-up that
 * came while it looked (its claim came back empty) is not lost. Called with mu held; returns
 * with it held; true when the time ran out. */
static bool idle_locked(orch_engine_t *e, int ms, bool wake, unsigned seen)
{
    struct timespec until;
    bool timed_out = false;
    /* A back-off this replica set ends sooner than the poll: look again then. */
    if (e->next_due_ms) {
        int64_t left = e->next_due_ms - orch_now_ms();
        if (left < ms) {
            ms = left > 0 ? (int)left : 0;
            e->next_due_ms = 0;
        }
    }
    deadline_in(&until, ms);
    e->nidle++;
    while (!atomic_load(&e->stopping) && !e->ready && (!wake || seen == e->wakeups))
        if (pthread_cond_timedwait(&e->cv, &e->mu, &until) == ETIMEDOUT) {
            timed_out = true;
            break;
        }
    e->nidle--;
    /* reserved is not clamped to nidle here: a promised worker that a broadcast woke before
     * its hand-off came is still promised (worker_main waits for the hand-off rather than
     * claim), or this replica would hold a process no worker is free to run. */
    return timed_out;
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

void orch_engine_notify(orch_engine_t *e, const char *payload)
{
    if (!e)
        return;
    /* The pause switch travels as the payload (migration 0011); anything else, or a
     * reconnect (NULL), is a hint that work may be waiting. */
    if (payload && strcmp(payload, "workers") == 0) {
        /* A step worker connected somewhere (db/store_workers.c): until the next heartbeat
         * reads the served task types again, the database decides. */
        pthread_mutex_lock(&e->served_mu);
        json_decref(e->served);
        e->served = NULL;
        pthread_mutex_unlock(&e->served_mu);
        return;
    }
    if (payload && strcmp(payload, "paused") == 0)
        atomic_store(&e->paused, true);
    else if (payload && strcmp(payload, "running") == 0)
        atomic_store(&e->paused, false);
    orch_engine_wake(e);
}

const char *orch_engine_replica_id(const orch_engine_t *e)
{
    return e->replica_id;
}

/* Puts a job at the back of the local list and wakes a worker for it. */
static void ready_push(orch_engine_t *e, job_t *j)
{
    pthread_mutex_lock(&e->mu);
    j->next = NULL;
    *e->ready_tail = j;
    e->ready_tail = &j->next;
    e->nready++;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

/* Under mu. */
static job_t *ready_pop_locked(orch_engine_t *e)
{
    job_t *j = e->ready;
    if (!j)
        return NULL;
    e->ready = j->next;
    if (!e->ready)
        e->ready_tail = &e->ready;
    e->nready--;
    j->next = NULL;
    return j;
}

static void job_free(job_t *j)
{
    if (!j)
        return;
    orch_claim_cleanup(&j->c);
    free(j);
}

bool orch_engine_reserve(orch_engine_t *e)
{
    bool ok = false;
    if (!e || atomic_load(&e->stopping) || atomic_load(&e->paused))
        return false;
    pthread_mutex_lock(&e->mu);
    if (e->nidle - e->reserved - (int)e->nready - e->claiming > 0) {
        e->reserved++;
        ok = true;
    } else
        orch_debug("engine", "no idle worker for a new process (%d idle, %d promised, %zu waiting)",
                   e->nidle, e->reserved, e->nready);
    pthread_mutex_unlock(&e->mu);
    return ok;
}

void orch_engine_unreserve(orch_engine_t *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    if (e->reserved > 0)
        e->reserved--;
    pthread_mutex_unlock(&e->mu);
}

int orch_engine_lease_ms(const orch_engine_t *e)
{
    return e->cfg.lease_ms;
}

void orch_engine_handoff(orch_engine_t *e, const char *process_id, const char *workflow,
                         int version, int64_t lease_token, const char *step_started,
                         const json_t *state)
{
    job_t *j;
    if (e->hooks.before_handoff)
        e->hooks.before_handoff(e->hooks.arg, process_id);
    j = orch_calloc(1, sizeof(*j));
    snprintf(j->c.process_id, sizeof(j->c.process_id), "%s", process_id);
    snprintf(j->c.workflow, sizeof(j->c.workflow), "%s", workflow);
    j->c.version = version;
    j->c.lease_token = lease_token;
    snprintf(j->c.status, sizeof(j->c.status), "running");
    snprintf(j->c.step_started, sizeof(j->c.step_started), "%s", step_started);
    j->c.state = json_is_object(state) ? json_deep_copy(state) : json_object();
    j->c.done = orch_calloc(1, sizeof(char *));
    j->announced = true; /* created running its first step */
    orch_metrics_add("orch_process_claims_total", "", 1);
    orch_metrics_add("orch_process_handoffs_total", "", 1);
    pthread_mutex_lock(&e->mu);
    if (e->reserved > 0)
        e->reserved--;
    pthread_mutex_unlock(&e->mu);
    ready_push(e, j);
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

/* Does a live step worker serve type, as the heartbeat last saw? (true before the first
 * heartbeat: the database decides then.) */
static bool type_served(orch_engine_t *e, const char *type)
{
    bool yes = false;
    size_t i;
    json_t *v;
    pthread_mutex_lock(&e->served_mu);
    if (!e->served) {
        yes = true;
    } else {
        json_array_foreach(e->served, i, v)
        {
            if (json_is_string(v) && strcmp(json_string_value(v), type) == 0)
                yes = true;
        }
    }
    pthread_mutex_unlock(&e->served_mu);
    return yes;
}

/* ---- the group committer ----------------------------------------------------------------- */

static void claimed_push(orch_engine_t *e, orch_claim_req_t *cl, unsigned seen);

/* How many processes to claim with a batch: one for each stretch it ends (the worker looks
 * for work next), and one for each free place in the workers' hands (run_stretches) unless
 * a claim found nothing since the last wake-up, less what the local list and the
 * StartProcess promises cover already; none while stopping or paused, or from a store
 * without commit_steps_claim. */
static int flush_claim_want(orch_engine_t *e, const orch_step_commit_t *parts, size_t n,
                            unsigned *seen)
{
    int want = 0, ending = 0;
    if (!e->cfg.store->engine->commit_steps_claim || atomic_load(&e->stopping) ||
        atomic_load(&e->paused))
        return 0;
    for (size_t i = 0; i < n; i++)
        ending += parts[i].mode == ORCH_COMMIT_RELEASE;
    pthread_mutex_lock(&e->mu);
    if (e->empty_at_ms && e->empty_seen == e->wakeups)
        want = ending;
    else
        want = e->nthreads * e->stretches - (atomic_load(&e->held) - ending);
    want -= (int)e->nready + e->reserved;
    *seen = e->wakeups; /* before the claim looks, as in worker_main */
    pthread_mutex_unlock(&e->mu);
    return want < CLAIM_BATCH_MAX ? want : CLAIM_BATCH_MAX;
}

/* Sends one batch (the leader's thread, gc_mu not held), with the claim for the stretches
 * it ends in the same round trip: a worker whose process reaches its end or a wait finds
 * its next one in the local list, with no claim of its own. */
static void group_flush(orch_engine_t *e, gc_wait_t *batch, size_t n)
{
    orch_step_commit_t *parts = orch_calloc(n, sizeof(*parts));
    orch_commit_result_t *res = orch_calloc(n, sizeof(*res));
    orch_claim_req_t cl = {.replica_id = e->replica_id, .lease_ms = e->cfg.lease_ms};
    orch_error_t err;
    orch_err_t rc;
    size_t i = 0, ok = 0;
    unsigned seen = 0;

    for (gc_wait_t *w = batch; w && i < n; w = w->next)
        parts[i++] = w->part;
    if (n >= 2 && e->hooks.before_group_flush)
        e->hooks.before_group_flush(e->hooks.arg, parts, n);
    orch_error_init(&err);
    cl.max = flush_claim_want(e, parts, n, &seen);
    if (cl.max > 0) {
        cl.out = orch_calloc((size_t)cl.max, sizeof(*cl.out));
        rc = e->cfg.store->engine->commit_steps_claim(e->cfg.store, NULL, NULL, parts, n, res, &cl,
                                                      &err);
        if (!rc || cl.n)
            claimed_push(e, &cl, seen); /* a claim that came back is ours whatever the commit */
        for (size_t k = 0; k < cl.n; k++)
            orch_claim_cleanup(&cl.out[k]); /* what claimed_push did not take */
        free(cl.out);
    } else {
        rc = e->cfg.store->engine->commit_steps(e->cfg.store, NULL, NULL, parts, n, res, &err);
    }
    i = 0;
    for (gc_wait_t *w = batch; w && i < n; w = w->next, i++) {
        w->rc = rc;
        w->err = err;
        w->res = res[i];
        if (!rc && res[i].ok)
            ok++;
    }
    orch_metrics_add("orch_group_commit_batches_total", "", 1);
    orch_metrics_add("orch_group_commit_steps_total", "", (double)ok);
    orch_metrics_observe("orch_group_commit_size", "", (double)n);
    free(parts);
    free(res);
}

/* Commits the steps of one worker's round (ws[0..nw-1], nw >= 1, none with writes of its
 * own) through the group committer, and returns when all are done (each ws[i]'s rc, res and
 * err). When no batch is in flight they go at once (a lone process never waits); otherwise
 * they join the steps that arrive while the flush is in flight, and one of the waiting
 * workers sends them all in one round trip (one transaction, one WAL flush) when that flush
 * ends. */
static void group_commit(orch_engine_t *e, gc_wait_t **ws, size_t nw)
{
    pthread_mutex_lock(&e->gc_mu);
    for (size_t i = 0; i < nw; i++) {
        ws[i]->done = false;
        ws[i]->next = NULL;
        *e->gc_tail = ws[i];
        e->gc_tail = &ws[i]->next;
    }
    e->gc_n += nw;
    pthread_cond_broadcast(&e->gc_cv);
    /* Batches leave the queue in order: the last part done is all of them done. */
    while (!ws[nw - 1]->done) {
        gc_wait_t *batch, **cut;
        size_t n = 0;
        if (e->gc_flushing) {
            pthread_cond_wait(&e->gc_cv, &e->gc_mu);
            continue;
        }
        if (atomic_load(&e->group_min_pending)) {
            /* The hook's minimum batch (worker.h): wait a while for it. */
            struct timespec until;
            deadline_in(&until, 5000);
            while (e->gc_n < (size_t)e->hooks.group_min && !atomic_load(&e->stopping) &&
                   !ws[nw - 1]->done && !e->gc_flushing)
                if (pthread_cond_timedwait(&e->gc_cv, &e->gc_mu, &until) == ETIMEDOUT)
                    break;
            atomic_store(&e->group_min_pending, false);
            if (e->gc_flushing || ws[nw - 1]->done)
                continue;
        }
        if (e->gc_n < (size_t)atomic_load(&e->active)) {
            /* Gather: other stretches are a step away from their commit. */
            struct timespec until;
            orch_clock_after_us(&until, CLOCK_MONOTONIC, GROUP_COMMIT_GATHER_US);
            while (e->gc_n < (size_t)atomic_load(&e->active) && !e->gc_flushing &&
                   !ws[nw - 1]->done)
                if (pthread_cond_timedwait(&e->gc_cv, &e->gc_mu, &until) == ETIMEDOUT)
                    break;
            if (e->gc_flushing || ws[nw - 1]->done)
                continue;
        }
        /* Lead: take the queue (up to GROUP_COMMIT_MAX; the rest forms the next batch). */
        batch = e->gc_queue;
        cut = &e->gc_queue;
        while (*cut && n < GROUP_COMMIT_MAX) {
            cut = &(*cut)->next;
            n++;
        }
        e->gc_queue = *cut;
        *cut = NULL;
        if (!e->gc_queue)
            e->gc_tail = &e->gc_queue;
        e->gc_n -= n;
        e->gc_flushing = true;
        pthread_mutex_unlock(&e->gc_mu);
        group_flush(e, batch, n);
        pthread_mutex_lock(&e->gc_mu);
        for (gc_wait_t *x = batch; x; x = x->next)
            x->done = true;
        e->gc_flushing = false;
        pthread_cond_broadcast(&e->gc_cv);
    }
    pthread_mutex_unlock(&e->gc_mu);
}

/* ---- a stretch ------------------------------------------------------------------------------ */

/* Gives a held process back (runnable now, lease cleared). Until the release lands (or the
 * token moved on) the lease is ours and the heartbeat renews it: nothing else would run the
 * process. So retry it while the database is away, backing off, as long as this replica
 * runs. */
static void give_back(orch_engine_t *e, const orch_claim_t *c)
{
    orch_store_t *st = e->cfg.store;
    orch_error_t err;
    for (int backoff = 100;; backoff = backoff < 2000 ? backoff * 2 : 2000) {
        orch_error_init(&err);
        if (!st->engine->release(st, NULL, NULL, c, &err))
            break;
        orch_warn("engine", "process %s: cannot give it back (%s)%s", c->process_id, err.message,
                  atomic_load(&e->stopping) ? "" : "; trying again");
        for (int slept = 0; slept < backoff && !atomic_load(&e->stopping); slept += 20)
            sleep_ms(20);
        if (atomic_load(&e->stopping))
            break;
    }
    /* Runnable again: a worker of ours looks at once (the claim knows whether the engine is
     * paused; a release sends no NOTIFY). */
    orch_engine_wake(e);
}

/* The next leaf after the keys done (and also_done, when not NULL): a parallel branch runs
 * its branch's leaves only (domain/engine/join.h). */
static const orch_leaf_t *next_leaf(const orch_workflow_t *wf, const orch_claim_t *c,
                                    const char *also_done)
{
    const char **done = orch_calloc(c->ndone + 2, sizeof(*done));
    size_t n = 0;
    const orch_leaf_t *leaf;
    for (size_t i = 0; i < c->ndone; i++)
        done[n++] = c->done[i];
    if (also_done)
        done[n++] = also_done;
    leaf = c->branch_key ? orch_runner_next_in_branch(wf, c->branch_key, done, n)
                         : orch_runner_next(wf, done, n);
    free(done);
    return leaf;
}

static bool step_done(const char *status)
{
    return status && (strcmp(status, "success") == 0 || strcmp(status, "skipped") == 0 ||
                      strcmp(status, "complete") == 0);
}

static void set_holding(orch_engine_t *e, int wi, const char *process_id)
{
    pthread_mutex_lock(&e->mu);
    snprintf(e->holding[wi], 37, "%s", process_id ? process_id : "");
    pthread_mutex_unlock(&e->mu);
}

/* A stretch in progress: the held process and what this stretch read once for all its
 * steps. On the worker's stack; j becomes NULL once the job went back to the local list. */
typedef struct stretch {
    orch_engine_t *e;
    int wi; /* its slot in e->holding */
    job_t *j;
    orch_claim_t *c; /* &j->c */
    const orch_workflow_t *wf;
    json_t *secrets; /* the process's secret overlay, read once per stretch */
    bool secrets_read;
    int64_t t_start;
    int nsteps;
} stretch_t;

/* One step of a stretch, from its choice to its commit. On the worker's stack. */
typedef struct step {
    const orch_leaf_t *leaf, *next;
    orch_tx_t *tx;
    orch_outcome_t o;
    orch_step_ctx_t sctx;
    orch_step_commit_t cm;
    orch_commit_result_t res;
    orch_commit_mode_t mode;
    int timeout;
    int64_t t0;
} step_t;

/* The step to run next, or false when the stretch ends here: stopping or paused (the
 * process is given back), a parallel fork (run by orch_parallel_run), or no step left. */
static bool step_pick(stretch_t *s, step_t *p)
{
    orch_engine_t *e = s->e;
    orch_claim_t *c = s->c;
    if (atomic_load(&e->stopping) || atomic_load(&e->paused)) {
        give_back(e, c);
        return false;
    }
    p->leaf = next_leaf(s->wf, c, NULL);
    if (p->leaf && p->leaf->def->kind == ORCH_KIND_PARALLEL) {
        orch_process_t proc;
        memset(&proc, 0, sizeof(proc));
        proc.initial_state = c->state; /* borrowed: orch_process_current_state reads it */
        proc.retry_count = c->retry_count;
        orch_parallel_run(e->cfg.store, e->replica_id, c, s->wf, p->leaf, &proc);
        return false;
    }
    if (!p->leaf) {
        orch_warn("engine", "process %s has no step left but is runnable; giving it back",
                  c->process_id);
        give_back(e, c);
        return false;
    }
    p->timeout =
        p->leaf->def->timeout_ms > 0 ? p->leaf->def->timeout_ms : ORCH_STEP_TIMEOUT_DEFAULT_MS;
    return true;
}

/* Shows the step running, unless the claim or the previous commit already did, and reads
 * the secret answers once per stretch. False: the stretch ends (given back when the lease
 * is still ours). */
static bool step_announce(stretch_t *s, step_t *p)
{
    orch_engine_t *e = s->e;
    orch_store_t *st = e->cfg.store;
    orch_claim_t *c = s->c;
    orch_error_t err;
    if (!s->j->announced) {
        /* The first step of a stretch from a claim: shown running in a round trip of its
         * own (later steps are shown by the previous step's commit). */
        bool paused = false;
        orch_error_init(&err);
        if (st->engine->step_begin(st, NULL, NULL, c, p->leaf->key, p->leaf->def->name, p->timeout,
                                   &paused, &err)) {
            orch_info("engine", "process %s: %s", c->process_id, err.message);
            /* Anything but a lost lease (the database went away, say) leaves our lease
             * in place, which the heartbeat would renew: give it back. */
            if (strcmp(err.reason, "LEASE_LOST") != 0)
                give_back(e, c);
            return false;
        }
        if (paused) {
            atomic_store(&e->paused, true);
            give_back(e, c);
            return false;
        }
        s->j->announced = true;
    }
    /* Secret answers are "***" in the stored state: a step gets the real values (kept
     * apart by the store, under the top-level process: a parallel branch reads its
     * parent's), and what it returns is masked again before the commit. */
    if (!s->secrets_read && orch_json_has_mask(c->state)) {
        orch_error_init(&err);
        if (st->procs->secrets_get(st, NULL, NULL, c->parent_id[0] ? c->parent_id : c->process_id,
                                   &s->secrets, &err)) {
            orch_warn("engine", "process %s: cannot read its secret answers: %s", c->process_id,
                      err.message);
            give_back(e, c);
            return false;
        }
        s->secrets_read = true;
    }
    return true;
}

/* A remote step: the task goes to a step worker (with the step's commit, in its unit of
 * work), unless the step has a fall-back and no live worker serves the type. False: the
 * task could not be written (the unit of work is rolled back, the process given back). */
static bool step_hand_to_worker(stretch_t *s, step_t *p)
{
    orch_engine_t *e = s->e;
    orch_store_t *st = e->cfg.store;
    orch_claim_t *c = s->c;
    const orch_step_def_t *d = p->leaf->def;
    orch_task_spec_t spec = {
        .process_id = c->process_id,
        .step_key = p->leaf->key,
        .step_name = d->name,
        .task_type = d->task_type,
        .needs_secrets = d->needs_secrets,
        .max_attempts = d->max_attempts > 0 ? d->max_attempts : 5,
        .backoff_ms = d->backoff_ms > 0 ? d->backoff_ms : 1000,
        .backoff_max_ms = d->backoff_max_ms > 0 ? d->backoff_max_ms : 300000,
        .timeout_ms = d->callback_timeout_ms > 0 ? d->callback_timeout_ms : 600000,
    };
    bool created = false;
    orch_error_t err;
    orch_error_init(&err);
    if (d->fn && !type_served(e, d->task_type)) {
        /* No live worker serves it (as of the last heartbeat): the fall-back runs. */
    } else if (st->workers->task_create(st, p->tx, NULL, &spec, d->fn != NULL, &created, &err)) {
        orch_warn("engine", "process %s: cannot write the task of step %s: %s", c->process_id,
                  p->leaf->key, err.message);
        st->uow->rollback(p->tx);
        give_back(e, c);
        return false;
    }
    p->sctx.remote = created;
    if (created)
        orch_debug("engine", "process %s: step %s goes to a worker of %s", c->process_id,
                   p->leaf->key, d->task_type);
    return true;
}

/* The step's condition, asked of the state the runner will give the step (with the secret
 * answers), so that the task is written exactly when the runner runs the step. */
static bool step_when_holds(const stretch_t *s, const orch_step_def_t *d)
{
    json_t *unmasked;
    bool holds;
    if (!d->when)
        return true;
    if (!s->secrets)
        return d->when(d, s->c->state);
    unmasked = orch_json_deep_merge(s->c->state, s->secrets);
    holds = d->when(d, unmasked);
    json_decref(unmasked);
    return holds;
}

/* Opens the step's unit of work and its context. False: the stretch ends (given back). */
static bool step_open(stretch_t *s, step_t *p)
{
    orch_engine_t *e = s->e;
    orch_store_t *st = e->cfg.store;
    orch_claim_t *c = s->c;
    orch_error_t err;
    /* The unit of work runs without the step's deadline, so that the commit of a step
     * that overran can still record its failure; the step itself gets the deadline. It
     * begins only when the step first writes through the store. */
    orch_error_init(&err);
    if (st->uow->begin_lazy(st, NULL, &p->tx, &err)) {
        orch_warn("engine", "process %s: %s", c->process_id, err.message);
        give_back(e, c);
        return false;
    }
    memset(&p->sctx, 0, sizeof(p->sctx));
    p->sctx.process_id = c->process_id;
    p->sctx.step_key = p->leaf->key;
    p->sctx.step_name = p->leaf->def->name;
    p->sctx.workflow = c->workflow;
    p->sctx.workflow_version = c->version;
    p->sctx.ctx = (orch_ctx_t){.deadline_ms = orch_now_ms() + p->timeout,
                               .cancelled = &e->stopping,
                               .actor = e->replica_id};
    p->sctx.store = st;
    p->sctx.tx = p->tx;
    p->sctx.catalog = e->cfg.catalog;
    if (p->leaf->def->kind == ORCH_KIND_CALLBACK)
        new_callback_token(p->sctx.callback_token);
    /* A remote step whose condition does not hold writes no task: the runner skips it. */
    if (p->leaf->def->kind == ORCH_KIND_CALLBACK && p->leaf->def->task_type &&
        step_when_holds(s, p->leaf->def))
        return step_hand_to_worker(s, p);
    return true;
}

/* Runs the step's action on the state with the secrets, and masks what it returns. */
static void step_run(stretch_t *s, step_t *p)
{
    orch_claim_t *c = s->c;
    json_t *unmasked = NULL; /* the state with the secrets, for the step only */
    orch_debug("engine", "process %s: running step %s (attempt %d)", c->process_id, p->leaf->key,
               c->retry_count);
    if (s->secrets)
        unmasked = orch_json_deep_merge(c->state, s->secrets);
    orch_runner_run(s->wf, p->leaf, &p->sctx, unmasked ? unmasked : c->state, c->retry_count,
                    &p->o);
    json_decref(unmasked);
    if (s->secrets) {
        json_t *masked;
        orch_json_mask_like(p->o.delta, s->secrets);
        masked = orch_state_merge(c->state, p->o.delta);
        json_decref(p->o.state);
        p->o.state = masked;
    }
    if (c->branch_key && p->o.step_status &&
        (strcmp(p->o.step_status, "success") == 0 || strcmp(p->o.step_status, "skipped") == 0)) {
        /* The branch's last step: the branch process completes (which may wake the
         * join). */
        if (!next_leaf(s->wf, c, p->leaf->key)) {
            p->o.process_status = "completed";
            p->o.runnable = false;
            p->o.finished = true;
        }
    }
}

/* A step that ran but will not commit: its writes rolled back, its outcome dropped, the
 * process given back to run again. */
static void step_abandon(stretch_t *s, step_t *p)
{
    s->e->cfg.store->uow->rollback(p->tx);
    orch_outcome_cleanup(&p->o);
    give_back(s->e, s->c);
}

/* The step's own writes before its commit: the callback it waits for. False: the stretch
 * ends (stopping, or the callback not stored; rolled back and given back). */
static bool step_settle(stretch_t *s, step_t *p)
{
    orch_engine_t *e = s->e;
    orch_store_t *st = e->cfg.store;
    orch_claim_t *c = s->c;
    if (e->hooks.before_commit)
        e->hooks.before_commit(e->hooks.arg, c->process_id, p->leaf->key, &e->stopping);
    if (atomic_load(&e->stopping)) {
        orch_info("engine", "process %s: stopping; step %s rolled back", c->process_id,
                  p->leaf->key);
        step_abandon(s, p);
        return false;
    }
    if (p->o.step_status && strcmp(p->o.step_status, "awaiting_callback") == 0 && !p->sctx.remote) {
        orch_error_t err;
        orch_error_init(&err);
        if (st->procs->callback_create(st, p->tx, NULL, c->process_id, p->leaf->key,
                                       p->sctx.callback_token, p->leaf->def->callback_timeout_ms,
                                       &err)) {
            orch_warn("engine", "process %s: cannot store the callback of step %s: %s",
                      c->process_id, p->leaf->key, err.message);
            step_abandon(s, p);
            return false;
        }
    }
    memset(p->sctx.callback_token, 0, sizeof(p->sctx.callback_token));
    return true;
}

/* What the commit says: whether the stretch goes on (mode) and the step to show running. */
static void step_plan_commit(stretch_t *s, step_t *p)
{
    orch_engine_t *e = s->e;
    orch_claim_t *c = s->c;
    const orch_outcome_t *o = &p->o;
    const orch_leaf_t *show;
    p->mode = ORCH_COMMIT_RELEASE;
    p->next = NULL;
    /* Does the stretch go on? Only to a step that can run now, while not paused. */
    if (o->runnable && o->next_run_delay_ms <= 0 && o->process_status &&
        strcmp(o->process_status, "running") == 0 && !atomic_load(&e->paused) &&
        !atomic_load(&e->stopping)) {
        p->next = next_leaf(s->wf, c, step_done(o->step_status) ? p->leaf->key : NULL);
        if (p->next && p->next->def->kind != ORCH_KIND_PARALLEL &&
            s->nsteps + 1 < STRETCH_MAX_STEPS && orch_now_ms() - s->t_start < STRETCH_MAX_MS)
            p->mode = ORCH_COMMIT_NEXT;
        else if (p->next)
            p->mode = ORCH_COMMIT_KEEP;
    }
    /* The step a claim would show running next (not a parallel one), for the row. */
    if (!p->next && o->runnable && o->process_status)
        p->next = next_leaf(s->wf, c, step_done(o->step_status) ? p->leaf->key : NULL);
    show = p->next && p->next->def->kind != ORCH_KIND_PARALLEL ? p->next : NULL;
    p->cm = (orch_step_commit_t){
        .process_id = c->process_id,
        .lease_token = c->lease_token,
        .old_status = c->status,
        .step_key = p->leaf->key,
        .step_name = p->leaf->def->name,
        .step_status = o->step_status,
        /* In the middle of a stretch the state stays in memory and the step writes its
         * delta; a part that goes part by part (an error, a link, a branch) carries it. */
        .state = p->mode == ORCH_COMMIT_NEXT && !o->error && !p->sctx.nlinked && !c->branch_key &&
                         atomic_load(&e->tail_ok)
                     ? NULL
                     : o->state,
        .delta = o->delta,
        .error = o->error,
        .start_time = c->step_started,
        .process_status = o->process_status,
        .runnable = o->runnable,
        .finished = o->finished,
        .next_run_delay_ms = o->next_run_delay_ms,
        .retry_count = o->retry_count,
        .executed_by = e->replica_id,
        .subscriptions = (const char(*)[37])p->sctx.linked_subscriptions,
        .nsubscriptions = p->sctx.nlinked,
        .mode = p->mode,
        .next_key = show ? show->key : NULL,
        .next_name = show ? show->def->name : NULL,
        .next_timeout_ms = show ? (show->def->timeout_ms > 0 ? show->def->timeout_ms
                                                             : ORCH_STEP_TIMEOUT_DEFAULT_MS)
                                : 0,
        .lease_ms = e->cfg.lease_ms,
    };
}

/* The step wrote through the store: its commit goes in its own transaction with those
 * writes (a lost fence rolls all of them back). */
static orch_err_t step_commit_alone(stretch_t *s, step_t *p, orch_error_t *err)
{
    orch_store_t *st = s->e->cfg.store;
    orch_err_t rc = st->engine->commit_steps(st, p->tx, NULL, &p->cm, 1, &p->res, err);
    if (!rc && p->res.ok)
        rc = st->uow->commit(p->tx, err);
    else
        st->uow->rollback(p->tx);
    p->tx = NULL;
    return rc;
}

/* What the step's commit (rc, err, p->res) means for the stretch. False: not committed (the
 * stretch ends; the process is given back unless the lease moved on). */
static bool step_committed(stretch_t *s, step_t *p, orch_err_t rc, const orch_error_t *err)
{
    orch_engine_t *e = s->e;
    orch_claim_t *c = s->c;
    if (!rc && p->res.ok)
        return true;
    if (!rc && p->res.lease_lost) {
        char ml[300];
        snprintf(ml, sizeof(ml), "workflow=\"%s\"", c->workflow);
        orch_metrics_add("orch_step_commits_refused_total", ml, 1);
        orch_info("engine",
                  "process %s (%s): step %s not committed: process %s was taken over, "
                  "aborted or timed out while its step ran; the stretch ends",
                  c->process_id, c->workflow, p->leaf->key, c->process_id);
    } else {
        /* The database went away, or an SQL error in this step's part: the lease is
         * still ours. Whether or not a failed COMMIT landed, the release (same
         * token) is safe: it only clears a lease still held by that token. */
        orch_warn("engine", "process %s: commit of step %s failed: %s", c->process_id, p->leaf->key,
                  rc ? err->message : p->res.reason);
        give_back(e, c);
    }
    orch_outcome_cleanup(&p->o);
    return false;
}

/* After the commit: what was written becomes the truth in memory. True: the stretch runs
 * its next step; false: it ends (or the job went to the back of the local list: s->j is
 * then NULL). */
static bool step_advance(stretch_t *s, step_t *p)
{
    orch_engine_t *e = s->e;
    orch_claim_t *c = s->c;
    const orch_outcome_t *o = &p->o;
    bool go_on = false;
    char ml[300];
    snprintf(ml, sizeof(ml), "workflow=\"%s\",status=\"%s\"", c->workflow, o->step_status);
    orch_metrics_add("orch_steps_total", ml, 1);
    snprintf(ml, sizeof(ml), "workflow=\"%s\"", c->workflow);
    orch_metrics_observe("orch_step_duration_seconds", ml,
                         (double)(orch_now_ms() - p->t0) / 1000.0);
    orch_info("engine", "process %s (%s): step %s %s -> %s", c->process_id, c->workflow,
              p->leaf->key, o->step_status, o->process_status);
    if (step_done(o->step_status)) {
        c->done = orch_realloc(c->done, (c->ndone + 1) * sizeof(char *));
        c->done[c->ndone++] = orch_strdup(p->leaf->key);
    }
    json_decref(c->state);
    c->state = json_incref(o->state);
    c->retry_count = o->retry_count;
    snprintf(c->status, sizeof(c->status), "%s", o->process_status);
    s->j->announced = p->mode == ORCH_COMMIT_NEXT && !p->res.paused;
    snprintf(c->step_started, sizeof(c->step_started), "%s",
             s->j->announced ? p->res.step_started : "");
    if (o->runnable && o->next_run_delay_ms > 0) {
        int64_t due = orch_now_ms() + o->next_run_delay_ms + 5;
        pthread_mutex_lock(&e->mu);
        if (!e->next_due_ms || due < e->next_due_ms)
            e->next_due_ms = due;
        pthread_mutex_unlock(&e->mu);
    }
    s->nsteps++;
    if (p->res.paused) {
        /* Paused elsewhere: the commit gave the process back. */
        atomic_store(&e->paused, true);
        orch_info("engine", "process %s: the engine is paused; the stretch ends", c->process_id);
    } else if (p->mode == ORCH_COMMIT_NEXT) {
        go_on = true;
    } else if (p->mode == ORCH_COMMIT_KEEP) {
        if (p->next && p->next->def->kind == ORCH_KIND_PARALLEL) {
            go_on = true;
        } else {
            /* Yield: to the back of the local list, lease kept. */
            orch_metrics_add("orch_stretch_yields_total", "", 1);
            set_holding(e, s->wi, NULL);
            ready_push(e, s->j);
            s->j = NULL;
        }
    }
    orch_outcome_cleanup(&p->o);
    return go_on;
}

/* The step after its choice, up to its planned commit: shown running, run, its own writes
 * settled. False: the stretch ends. */
static bool step_prepare(stretch_t *s, step_t *p)
{
    struct timespec t0, t1;
    if (!step_announce(s, p) || !step_open(s, p))
        return false;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    step_run(s, p);
    if (!step_settle(s, p))
        return false;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    orch_step_speeds_note(s->e->speeds, p->leaf,
                          (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
                              (t1.tv_nsec - t0.tv_nsec) / 1000);
    step_plan_commit(s, p);
    return true;
}

/* ---- a worker's round of stretches ---------------------------------------------------------- */

/* One of the stretches a worker holds at once (see run_stretches). */
typedef struct slot {
    bool used;
    bool queued; /* its step waits in the round's group commit */
    stretch_t s;
    step_t p;
    gc_wait_t w;
} slot_t;

/* Starts holding j in slot k of worker wi. False: j was given back and freed. */
static bool stretch_begin(orch_engine_t *e, int wi, slot_t *x, int k, job_t *j)
{
    memset(x, 0, sizeof(*x));
    x->s = (stretch_t){
        .e = e,
        .wi = wi * e->stretches + k,
        .j = j,
        .c = &j->c,
        .wf = orch_registry_find(e->cfg.registry, j->c.workflow, j->c.version),
        .t_start = orch_now_ms(),
    };
    if (!x->s.wf) {
        orch_warn("engine", "process %s: version %d of %s is not registered here; giving it back",
                  j->c.process_id, j->c.version, j->c.workflow);
        give_back(e, &j->c);
        job_free(j);
        return false;
    }
    set_holding(e, x->s.wi, j->c.process_id);
    x->used = true;
    atomic_fetch_add(&e->held, 1);
    return true;
}

static void stretch_end(slot_t *x)
{
    atomic_fetch_sub(&x->s.e->held, 1);
    set_holding(x->s.e, x->s.wi, NULL);
    json_decref(x->s.secrets);
    job_free(x->s.j);
    memset(x, 0, sizeof(*x));
}

/* Another process from the local list for a worker that holds some already, unless an idle
 * worker would take it: steps run side by side on threads before they share a commit. */
static job_t *take_another(orch_engine_t *e)
{
    job_t *j = NULL;
    pthread_mutex_lock(&e->mu);
    if (!atomic_load(&e->stopping) && e->nready > (size_t)e->nidle)
        j = ready_pop_locked(e);
    pthread_mutex_unlock(&e->mu);
    return j;
}

/* Lets go of the worker's stretches but sl[keep] while sl[keep] runs a step that may take
 * long: to the local list, leases kept, where another worker takes them at its next round
 * (or at once when idle). But when the step was long (LONG_STEP_US) when it last ran here
 * and no other worker of the replica is free of such a step, back to the database, where
 * any replica may claim them, so that nothing held here waits long while another replica
 * could run it. A step not known yet (the first run of each step on a replica), or only a
 * little slow, only goes local: giving back costs a round trip and a claim each, more than
 * a short wait. Returns how many. */
static int yield_others(orch_engine_t *e, slot_t *sl, int n, int keep, bool known_long)
{
    int moved = 0;
    bool local = !known_long || e->nthreads - atomic_load(&e->slow) > 1;
    for (int i = 0; i < n; i++) {
        slot_t *x = &sl[i];
        if (i == keep || !x->used)
            continue;
        if (local) {
            set_holding(e, x->s.wi, NULL);
            ready_push(e, x->s.j);
            x->s.j = NULL;
        } else {
            give_back(e, x->s.c);
        }
        stretch_end(x);
        moved++;
    }
    return moved;
}

/* Sends the round's queued steps as one group commit and carries each stretch on (or ends
 * it). ws: room for n pointers, the caller's (allocated once per run_stretches, not per
 * round). Returns how many stretches ended. */
static int round_commit(orch_engine_t *e, slot_t *sl, gc_wait_t **ws, int n)
{
    size_t nw = 0;
    int ended = 0;
    for (int i = 0; i < n; i++)
        if (sl[i].used && sl[i].queued) {
            sl[i].w = (gc_wait_t){.part = sl[i].p.cm};
            orch_error_init(&sl[i].w.err);
            ws[nw++] = &sl[i].w;
        }
    if (nw)
        group_commit(e, ws, nw);
    for (int i = 0; i < n; i++) {
        slot_t *x = &sl[i];
        if (!x->used || !x->queued)
            continue;
        x->queued = false;
        x->p.res = x->w.res;
        if (!step_committed(&x->s, &x->p, x->w.rc, &x->w.err) || !step_advance(&x->s, &x->p)) {
            stretch_end(x);
            ended++;
        }
    }
    return ended;
}

/* Runs j and, while the local list has processes no idle worker is waiting for, up to
 * e->stretches held processes at once, each a stretch (see the file comment). A round runs
 * the next step of each in turn and commits those without writes of their own together,
 * one group commit for the round: the worker does not wait for one process's commit before
 * it runs another's step, and the batch grows with the load. A step whose own code took
 * FAST_STEP_US or more when it last ran (or that never ran here) does not keep the queued
 * commits waiting: they go before it runs, and the worker's other stretches go to the other
 * workers (yield_others). Takes j. */
static void run_stretches(orch_engine_t *e, int wi, job_t *j)
{
    int n = e->stretches, held = 0;
    slot_t *sl = orch_calloc((size_t)n, sizeof(*sl));
    gc_wait_t **ws = orch_calloc((size_t)n, sizeof(*ws)); /* round_commit's */
    orch_store_t *st = e->cfg.store;

    atomic_fetch_add(&e->active, 1);
    held += stretch_begin(e, wi, &sl[0], 0, j);
    while (held > 0) {
        int nq = 0;
        for (int i = 0; i < n; i++)
            if (!sl[i].used && (j = take_another(e)) != NULL)
                held += stretch_begin(e, wi, &sl[i], i, j);
        for (int i = 0; i < n && held > 0; i++) {
            slot_t *x = &sl[i];
            step_t *p = &x->p;
            orch_error_t err;
            orch_err_t rc;
            bool slow, ready;
            int64_t us;
            if (!x->used)
                continue;
            memset(p, 0, sizeof(*p));
            p->t0 = orch_now_ms();
            if (!step_pick(&x->s, p)) {
                stretch_end(x);
                held--;
                continue;
            }
            us = orch_step_speeds_get(e->speeds, p->leaf);
            slow = us < 0 || us >= FAST_STEP_US;
            if (slow && held > 1) {
                /* It may take long: nothing waits for it. */
                if (nq)
                    held -= round_commit(e, sl, ws, n);
                nq = 0;
                held -= yield_others(e, sl, n, i, us >= LONG_STEP_US);
            }
            if (slow)
                atomic_fetch_add(&e->slow, 1);
            ready = step_prepare(&x->s, p);
            if (slow)
                atomic_fetch_sub(&e->slow, 1);
            if (!ready) {
                stretch_end(x);
                held--;
                continue;
            }
            if (!st->uow->used(p->tx)) {
                st->uow->rollback(p->tx); /* untouched: no round trip */
                p->tx = NULL;
                x->queued = true;
                nq++;
                continue;
            }
            orch_error_init(&err);
            rc = step_commit_alone(&x->s, p, &err);
            if (!step_committed(&x->s, p, rc, &err) || !step_advance(&x->s, p)) {
                stretch_end(x);
                held--;
            }
        }
        if (nq)
            held -= round_commit(e, sl, ws, n);
    }
    atomic_fetch_sub(&e->active, 1);
    free(ws);
    free(sl);
}

static job_t *job_from_claim(orch_claim_t *c)
{
    job_t *j = orch_calloc(1, sizeof(*j));
    j->c = *c; /* takes the owned fields */
    memset(c, 0, sizeof(*c));
    return j;
}

/* The claim showed a step running (from the row's next_step_key): if it is the one this
 * worker computes, the stretch starts without a round trip of its own; else (the row was
 * stale) st->engine->step_begin shows the right one. */
static void take_announcement(orch_engine_t *e, job_t *j)
{
    const orch_workflow_t *wf;
    const orch_leaf_t *leaf;
    if (!j->c.announced[0])
        return;
    wf = orch_registry_find(e->cfg.registry, j->c.workflow, j->c.version);
    leaf = wf ? next_leaf(wf, &j->c, NULL) : NULL;
    j->announced = leaf && strcmp(leaf->key, j->c.announced) == 0;
}

/* The processes claimed with a group commit go to the local list, where the workers whose
 * stretches that batch ended find them. An empty answer counts as a worker's empty claim:
 * until a wake-up after seen (a NOTIFY) or the poll, no idle worker looks again. */
static void claimed_push(orch_engine_t *e, orch_claim_req_t *cl, unsigned seen)
{
    if (cl->n == 0) {
        pthread_mutex_lock(&e->mu);
        e->empty_seen = seen;
        e->empty_at_ms = orch_now_ms();
        pthread_mutex_unlock(&e->mu);
        return;
    }
    /* The claim passed the pause switch in the database: not paused now. */
    atomic_store(&e->paused, false);
    orch_metrics_add("orch_process_claims_total", "", (double)cl->n);
    orch_metrics_add("orch_claim_batches_total", "", 1);
    for (size_t i = 0; i < cl->n; i++) {
        job_t *j = job_from_claim(&cl->out[i]);
        take_announcement(e, j);
        ready_push(e, j);
    }
    cl->n = 0;
}

/* A claim made for other workers is over: they count for themselves again (and those that
 * waited for it look again). */
static void claim_over(orch_engine_t *e, int others)
{
    pthread_mutex_lock(&e->mu);
    e->claiming -= others;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static void *worker_main(void *arg)
{
    worker_arg_t *wa = arg;
    orch_engine_t *e = wa->e;
    int batch = e->cfg.workers < CLAIM_BATCH_MAX ? e->cfg.workers : CLAIM_BATCH_MAX;
    orch_claim_t *claims;

    if (batch < 1)
        batch = 1;
    claims = orch_calloc((size_t)batch, sizeof(*claims));
    while (!atomic_load(&e->stopping)) {
        job_t *j;
        unsigned seen;
        size_t n = 0;
        int want;
        orch_err_t rc;
        orch_error_t err;

        pthread_mutex_lock(&e->mu);
        j = ready_pop_locked(e);
        /* The wake counter before looking: a NOTIFY that comes while the claim runs makes
         * the idle wait below return at once. */
        seen = e->wakeups;
        if (j) {
            pthread_mutex_unlock(&e->mu);
            run_stretches(e, wa->index, j);
            continue;
        }
        if (e->empty_at_ms && e->empty_seen == e->wakeups &&
            orch_now_ms() - e->empty_at_ms < e->cfg.poll_ms) {
            /* Nothing came since a claim found nothing: wait for a wake-up or the poll. */
            if (idle_locked(e, (int)(e->cfg.poll_ms - (orch_now_ms() - e->empty_at_ms)), true,
                            e->empty_seen) ||
                e->empty_seen != e->wakeups)
                e->empty_at_ms = 0; /* polled or woken: look in the table */
            pthread_mutex_unlock(&e->mu);
            continue;
        }
        /* For itself and the idle workers nothing is promised to yet, and no other worker's
         * claim is already claiming for: two workers woken together must not both claim for
         * each other, or the replica holds processes no worker is free to run (they would
         * wait behind the running stretches, leased, while another replica could run them). */
        want = 1 + e->nidle - e->reserved - (int)e->nready - e->claiming;
        if (want < 1 && (e->claiming > 0 || e->reserved > 0)) {
            /* A claim in flight counts this worker in, or a StartProcess in flight was
             * promised it: wait for what they bring (briefly: a claim may find less than it
             * asked for; a StartProcess that fails gives its promise back). */
            (void)idle_locked(e, 20, false, seen);
            pthread_mutex_unlock(&e->mu);
            continue;
        }
        if (want > batch)
            want = batch;
        if (want < 1)
            want = 1;
        e->claiming += want - 1;
        pthread_mutex_unlock(&e->mu);
        orch_error_init(&err);
        rc = e->cfg.store->engine->claim(e->cfg.store, NULL, NULL, e->replica_id, e->cfg.lease_ms,
                                         want, claims, &n, &err);
        if (rc) {
            orch_warn("engine", "claim failed: %s", err.message);
            claim_over(e, want - 1);
            pthread_mutex_lock(&e->mu);
            (void)idle_locked(e, e->cfg.poll_ms, false, seen);
            pthread_mutex_unlock(&e->mu);
            continue;
        }
        if (n == 0) {
            claim_over(e, want - 1);
            pthread_mutex_lock(&e->mu);
            e->empty_seen = seen;
            e->empty_at_ms = orch_now_ms();
            if (idle_locked(e, e->cfg.poll_ms, true, seen) || e->empty_seen != e->wakeups)
                e->empty_at_ms = 0; /* polled or woken: look in the table */
            pthread_mutex_unlock(&e->mu);
            continue;
        }
        /* The claim passed the pause switch in the database: not paused now. */
        atomic_store(&e->paused, false);
        orch_metrics_add("orch_process_claims_total", "", (double)n);
        orch_metrics_add("orch_claim_batches_total", "", 1);
        for (size_t i = 1; i < n; i++) {
            j = job_from_claim(&claims[i]);
            take_announcement(e, j);
            ready_push(e, j);
        }
        claim_over(e, want - 1); /* after the pushes: what it brought is in nready now */
        j = job_from_claim(&claims[0]);
        take_announcement(e, j);
        run_stretches(e, wa->index, j);
    }
    free(claims);
    return NULL;
}

/* The heartbeat's sleep: up to ms, or until stopping. */
static void nap(orch_engine_t *e, int ms)
{
    struct timespec until;
    deadline_in(&until, ms);
    pthread_mutex_lock(&e->mu);
    while (!atomic_load(&e->stopping))
        if (pthread_cond_timedwait(&e->cv, &e->mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&e->mu);
}

/* The heartbeat's answer to "may steps be written as deltas?", said in the log when it
 * changes: an operator rolling out a release sees when the replicas of the one before are
 * gone. */
static void tail_switch(orch_engine_t *e, bool ok)
{
    if (atomic_exchange(&e->tail_ok, ok) == ok)
        return;
    if (ok)
        orch_info("engine", "every live replica reads the state tail: steps in the middle of a "
                            "stretch are written as deltas");
    else
        orch_info("engine", "a replica of an earlier release is live: every step writes its "
                            "state whole until it is gone");
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
        char(*held)[37];
        size_t nheld = 0;
        bool paused = false, tail_ok = false;

        /* What this replica holds in memory: the workers' processes and the local list. */
        pthread_mutex_lock(&e->mu);
        held =
            orch_calloc((size_t)e->nthreads * (size_t)e->stretches + e->nready + 1, sizeof(*held));
        for (int i = 0; i < e->nthreads * e->stretches; i++)
            if (e->holding[i][0])
                memcpy(held[nheld++], e->holding[i], 37);
        for (job_t *j = e->ready; j; j = j->next)
            memcpy(held[nheld++], j->c.process_id, 37);
        pthread_mutex_unlock(&e->mu);
        orch_error_init(&err);
        if (e->cfg.store->engine->heartbeat(e->cfg.store, NULL, &ctx, e->replica_id,
                                            e->cfg.lease_ms, (const char(*)[37])held, nheld,
                                            &paused, &tail_ok, &err)) {
            orch_warn("engine", "heartbeat failed: %s", err.message);
        } else {
            atomic_store(&e->paused, paused); /* in case a notification was lost */
            tail_switch(e, tail_ok);
        }
        free(held);
        {
            int nfailed = 0;
            json_t *served = NULL;
            orch_error_init(&err);
            if (e->cfg.store->workers->task_sweep(e->cfg.store, NULL, &ctx, &nfailed, &served,
                                                  &err)) {
                orch_warn("engine", "worker task sweep failed: %s", err.message);
            } else {
                if (nfailed)
                    orch_info("engine", "%d process%s failed: no worker answered in time", nfailed,
                              nfailed == 1 ? "" : "es");
                pthread_mutex_lock(&e->served_mu);
                json_decref(e->served);
                e->served = json_is_array(served) ? json_incref(served) : json_array();
                pthread_mutex_unlock(&e->served_mu);
            }
            json_decref(served);
        }
        if (!e->hooks.no_callback_sweep) {
            int nfailed = 0;
            orch_error_init(&err);
            if (e->cfg.store->procs->callback_fail_expired(e->cfg.store, NULL, &ctx, &nfailed,
                                                           &err))
                orch_warn("engine", "callback time-out sweep failed: %s", err.message);
            else if (nfailed)
                orch_info("engine", "%d process%s failed: no callback before the deadline", nfailed,
                          nfailed == 1 ? "" : "es");
        }
        nap(e, every);
    }
    return NULL;
}

/* Destroys what orch_engine_start set up and frees e: the end of orch_engine_stop, once its
 * threads are joined, and of a start whose replica could not be registered (no thread yet,
 * the arrays and served still NULL). */
static void engine_free(orch_engine_t *e)
{
    pthread_mutex_destroy(&e->mu);
    pthread_mutex_destroy(&e->gc_mu);
    pthread_mutex_destroy(&e->served_mu);
    orch_step_speeds_free(e->speeds);
    pthread_cond_destroy(&e->cv);
    pthread_cond_destroy(&e->gc_cv);
    json_decref(e->served);
    free(e->threads);
    free(e->holding);
    free(e->args);
    free(e->hostname);
    free(e->build);
    free(e->address);
    free(e);
}

orch_err_t orch_engine_start(const orch_engine_config_t *cfg, orch_engine_t **out,
                             orch_error_t *err)
{
    orch_engine_t *e = orch_calloc(1, sizeof(*e));
    size_t n = orch_registry_count(cfg->registry);
    orch_wf_reg_t *regs = orch_calloc(n + 1, sizeof(*regs));
    pthread_condattr_t ca;
    bool tail_ok = false;
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
    if (cfg->hooks)
        e->hooks = *cfg->hooks;
    e->cfg.hooks = NULL; /* the copy above is the one read */
    atomic_store(&e->group_min_pending, e->hooks.group_min > 1);
    e->ready_tail = &e->ready;
    e->gc_tail = &e->gc_queue;
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->gc_mu, NULL);
    pthread_mutex_init(&e->served_mu, NULL);
    {
        size_t nleaves = STEP_SPEED_SPARE;
        for (size_t i = 0; i < n; i++)
            nleaves += orch_registry_at(cfg->registry, i)->nleaves;
        e->speeds = orch_step_speeds_new(nleaves);
    }
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->cv, &ca);
    pthread_cond_init(&e->gc_cv, &ca);
    pthread_condattr_destroy(&ca);
    for (size_t i = 0; i < n; i++) {
        const orch_workflow_t *w = orch_registry_at(cfg->registry, i);
        regs[i] = (orch_wf_reg_t){
            w->def->name,    w->def->description, orch_workflow_target_name(w->def->target),
            w->def->is_task, w->def->version,     w->steps_json,
            w->digest};
    }
    rc = cfg->store->engine->register_replica(cfg->store, NULL, NULL, e->hostname, e->build,
                                              e->address, cfg->workers, regs, n, e->replica_id,
                                              &tail_ok, err);
    free(regs);
    if (rc) {
        engine_free(e);
        return rc;
    }
    /* Quiet in the common case (every replica reads the tail); said when one does not. */
    atomic_store(&e->tail_ok, true);
    tail_switch(e, tail_ok);
    orch_info("engine", "replica %s: %zu workflow version%s, %d worker%s", e->replica_id, n,
              n == 1 ? "" : "s", cfg->workers, cfg->workers == 1 ? "" : "s");
    e->threads = orch_calloc((size_t)(cfg->workers > 0 ? cfg->workers : 1), sizeof(pthread_t));
    e->stretches =
        cfg->stretches_per_worker > 0 ? cfg->stretches_per_worker : STRETCHES_PER_WORKER_DEFAULT;
    e->holding = orch_calloc((size_t)(cfg->workers > 0 ? cfg->workers : 1) * (size_t)e->stretches,
                             sizeof(*e->holding));
    e->args = orch_calloc((size_t)(cfg->workers > 0 ? cfg->workers : 1), sizeof(*e->args));
    if (pthread_create(&e->heartbeat, NULL, heartbeat_main, e) == 0)
        e->heartbeat_started = true;
    pthread_mutex_lock(&e->mu);
    for (int i = 0; i < cfg->workers; i++) {
        e->args[e->nthreads] = (worker_arg_t){e, e->nthreads};
        if (pthread_create(&e->threads[e->nthreads], NULL, worker_main, &e->args[e->nthreads]) == 0)
            e->nthreads++;
    }
    pthread_mutex_unlock(&e->mu);
    /* A replica without its heartbeat is taken for dead by the others, and one with fewer
     * workers than configured is not what the operator asked for: refuse to run either. */
    if (!e->heartbeat_started || e->nthreads < cfg->workers) {
        int started = e->nthreads;
        bool heartbeat = e->heartbeat_started;
        orch_engine_stop(e); /* joins what started, releases the leases, frees e */
        return orch_error_set(err, ORCH_INTERNAL, "ENGINE_THREADS",
                              "cannot start the engine's threads (heartbeat %s, %d of %d "
                              "workers): the system refused new threads",
                              heartbeat ? "started" : "not started", started, cfg->workers);
    }
    *out = e;
    return ORCH_OK;
}

void orch_engine_stop(orch_engine_t *e)
{
    orch_error_t err;
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 5000};
    job_t *j;
    if (!e)
        return;
    atomic_store(&e->stopping, 1);
    orch_engine_wake(e);
    pthread_mutex_lock(&e->gc_mu);
    pthread_cond_broadcast(&e->gc_cv);
    pthread_mutex_unlock(&e->gc_mu);
    for (int i = 0; i < e->nthreads; i++)
        pthread_join(e->threads[i], NULL);
    if (e->heartbeat_started)
        pthread_join(e->heartbeat, NULL);
    /* What waited in the local list is released with every other lease below. */
    while ((j = ready_pop_locked(e)) != NULL)
        job_free(j);
    orch_error_init(&err);
    if (e->cfg.store->engine->stop(e->cfg.store, NULL, &ctx, e->replica_id, &err))
        orch_warn("engine", "cannot release this replica's leases: %s", err.message);
    else
        orch_info("engine", "replica %s stopped; its leases are released", e->replica_id);
    engine_free(e);
}
