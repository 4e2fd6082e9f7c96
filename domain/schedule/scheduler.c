/* The scheduler / takeover thread (see scheduler.h). */
#include "domain/schedule/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "domain/usecase/usecase.h"

struct orch_scheduler {
    orch_uc_t uc; /* the use cases' parts: a due schedule starts its process through them */
    orch_store_t *store;
    char replica_id[37];
    int tick_ms;
    int dead_after_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static void *scheduler_main(void *arg)
{
    orch_scheduler_t *s = arg;
    int64_t next_takeover = 0;
    bool defaults_done = false;

    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        orch_error_t err;
        orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 10000};
        struct timespec until;
        int n = 0;

        pthread_mutex_unlock(&s->mu);
        if (!defaults_done) {
            orch_error_init(&err);
            if (s->store->schedules->load_defaults(s->store, NULL, &ctx, s->replica_id, &err))
                orch_warn("schedule", "cannot load the default schedule: %s", err.message);
            else
                defaults_done = true;
        }
        if (orch_now_ms() >= next_takeover) {
            orch_error_init(&err);
            if (s->store->engine->takeover(s->store, NULL, &ctx, s->replica_id, s->dead_after_ms,
                                           &n, &err))
                orch_warn("engine", "takeover check failed: %s", err.message);
            else if (n)
                orch_warn("engine", "took over %d process%s of replicas silent for over %d ms", n,
                          n == 1 ? "" : "es", s->dead_after_ms);
            next_takeover = orch_now_ms() + 1000;
        }
        orch_error_init(&err);
        if (orch_uc_schedule_fire_due(&s->uc, &ctx, s->replica_id, 20, &n, &err))
            orch_warn("schedule", "firing due schedules failed: %s", err.message);
        pthread_mutex_lock(&s->mu);
        orch_clock_after_us(&until, CLOCK_MONOTONIC, (int64_t)s->tick_ms * 1000);
        while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

orch_scheduler_t *orch_scheduler_start(const orch_uc_t *uc, const char *replica_id, int tick_ms,
                                       int dead_after_ms)
{
    orch_scheduler_t *s = orch_calloc(1, sizeof(*s));
    pthread_condattr_t ca;
    s->uc = *uc;
    s->store = uc->store;
    snprintf(s->replica_id, sizeof(s->replica_id), "%s", replica_id);
    s->tick_ms = tick_ms < 20 ? 20 : tick_ms;
    s->dead_after_ms = dead_after_ms > 0 ? dead_after_ms : ORCH_REPLICA_DEAD_AFTER_MS;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0) {
        orch_err("schedule", "cannot start the scheduler thread");
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
        return NULL;
    }
    return s;
}

void orch_scheduler_stop(orch_scheduler_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
