/* Schedule records and due-time arithmetic (see schedule.h). */
#include "domain/schedule/schedule.h"

#include <stdlib.h>
#include <string.h>

#include "domain/schedule/cron.h"

void orch_schedule_cleanup(orch_schedule_t *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->workflow);
    free(s->cron);
    free(s->created_by);
    free(s->last_error);
    json_decref(s->user_inputs);
    memset(s, 0, sizeof(*s));
}

void orch_schedule_page_cleanup(orch_schedule_page_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        orch_schedule_cleanup(&p->items[i]);
    free(p->items);
    free(p->next_token);
    memset(p, 0, sizeof(*p));
}

void orch_replica_page_cleanup(orch_replica_page_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        orch_replica_t *r = &p->items[i];
        free(r->hostname);
        free(r->address);
        free(r->build);
        for (size_t j = 0; j < r->nversions; j++)
            free(r->versions[j]);
        free(r->versions);
    }
    free(p->items);
    free(p->next_token);
    memset(p, 0, sizeof(*p));
}

int64_t orch_schedule_due_after(const orch_schedule_t *s, int64_t anchor_us, int64_t after_us)
{
    switch (s->kind) {
    case ORCH_SCHEDULE_INTERVAL: {
        int64_t step = (int64_t)s->interval_s * 1000000LL, k;
        if (step <= 0)
            return 0;
        if (after_us < anchor_us)
            return anchor_us;
        k = (after_us - anchor_us) / step + 1;
        return anchor_us + k * step;
    }
    case ORCH_SCHEDULE_CRON: {
        orch_cron_t c;
        int64_t after_s, n;
        if (!s->cron || orch_cron_parse(s->cron, "cron", &c, NULL) != ORCH_OK)
            return 0;
        after_s = after_us >= 0 ? after_us / 1000000LL : (after_us - 999999) / 1000000LL;
        n = orch_cron_next(&c, after_s);
        return n < 0 ? 0 : n * 1000000LL;
    }
    case ORCH_SCHEDULE_ONCE:
        return s->run_at_us > after_us ? s->run_at_us : 0;
    }
    return 0;
}

int64_t orch_schedule_next_after_fire(const orch_schedule_t *s, int64_t anchor_us, int64_t fired_us,
                                      int64_t now_us)
{
    int64_t next = orch_schedule_due_after(s, anchor_us, fired_us);
    if (s->kind == ORCH_SCHEDULE_ONCE)
        return 0;
    if (next && next < now_us - ORCH_SCHEDULE_CATCH_UP_US)
        next = orch_schedule_due_after(s, anchor_us, now_us - ORCH_SCHEDULE_CATCH_UP_US);
    return next;
}
