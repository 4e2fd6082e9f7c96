/* WatchProcess and WatchProcesses: server streams of process events read from PostgreSQL,
 * so a watcher that reconnects to any replica with the last sequence (or cursor) it saw
 * gets exactly what it missed, then live events.
 *
 * One hub thread per replica serves every watcher: it is woken by NOTIFY
 * orch_process_events (srv_watch_notify), by a watcher whose send queue drained, and by a
 * one-second poll as fallback; it reads the next events of each watcher whose queue is
 * empty (lazy production: a slow reader never makes the server buffer its backlog) and
 * queues them. A single-process stream ends by itself after completed or aborted. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "domain/alloc.h"
#include "domain/ids.h"
#include "domain/log.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "server/app.h"
#include "server/rpc/codec.h"
#include "server/services/pbconv.h"
#include "server/services/services.h"
#include "server/services/subpb.h"

#define WATCH_BATCH 100
#define WATCH_MAX_DEFAULT 10000           /* watchers per replica (--max-watchers) */
#define WATCH_MAX_PER_CLIENT_DEFAULT 1000 /* --max-watchers-per-client */
/* A watcher that has not taken its queued events for this long is ended, told where to
 * resume; until then it is simply caught up from the tables when it reads again. */
#define WATCH_STALL_MS_DEFAULT 30000

typedef struct watcher {
    srv_call_t *call;
    bool single;       /* one process or subscription (by sequence), else many processes */
    bool subscription; /* a subscription's change events */
    char process_id[37];
    int64_t last_seq;   /* single: last sequence queued */
    char *filter;       /* multi */
    char cursor[64];    /* multi: last cursor queued */
    char client[192];   /* who watches: "user:alice", "api_token:bot", or "ipv4:10.0.0.7" */
    atomic_bool queued; /* messages are waiting to be sent */
    _Atomic int64_t queued_since_ms; /* when queued last became true */
    atomic_bool more;                /* there may be more to read */
    bool done;                       /* finished: nothing more will be queued (hub only) */
    bool closed;                     /* the call is over (hub lock) */
    bool serving; /* the hub is reading for it (hub lock): closed must not free it */
    struct watcher *next;
} watcher_t;

struct srv_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    watcher_t *list;
    int count;
    bool wake, stop;
    int stall_ms;
    int max_total, max_per_client;
    pthread_t thread;
    srv_app_t *app;
};

/* ---- event -> message ---------------------------------------------------------------- */

static int enum_value(const ProtobufCEnumDescriptor *d, const char *prefix, const char *s)
{
    char name[96];
    size_t o = 0;
    const ProtobufCEnumValue *v;
    if (!s)
        return 0;
    o = (size_t)snprintf(name, sizeof(name), "%s", prefix);
    for (; *s && o + 1 < sizeof(name); s++)
        name[o++] = (*s >= 'a' && *s <= 'z') ? (char)(*s - 32) : *s == ' ' ? '_' : *s;
    name[o] = '\0';
    v = protobuf_c_enum_descriptor_get_value_by_name(d, name);
    return v ? v->value : 0;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

/* Fills ev (a stack message) from the row; memory from arena. */
static void event_to_pb(orch_arena_t *a, const orch_event_t *e, Orchestrator__V1__ProcessEvent *ev)
{
    orchestrator__v1__process_event__init(ev);
    ev->event_time = srv_codec_timestamp(a, e->time_us);
    ev->process_id = orch_arena_strdup(a, e->process_id);
    ev->sequence = e->sequence;
    ev->cursor = orch_arena_strdup(a, e->cursor);
    if (strcmp(e->kind, "step_committed") == 0) {
        Orchestrator__V1__ProcessStep *st = orch_arena_alloc(a, sizeof(*st));
        orchestrator__v1__process_step__init(st);
        st->key = orch_arena_strdup(a, jstr(e->payload, "step_key"));
        st->name = orch_arena_strdup(a, jstr(e->payload, "name"));
        st->status = enum_value(&orchestrator__v1__step_status__descriptor, "STEP_STATUS_",
                                jstr(e->payload, "status"));
        st->state_delta = srv_codec_struct_from_json(a, json_object_get(e->payload, "state_delta"));
        st->end_time = srv_codec_timestamp(a, e->time_us);
        st->branch = orch_arena_strdup(a, jstr(e->payload, "branch")); /* parallel branches */
        if (*st->branch && strchr(st->key, '/')) { /* "<parallel>/<branch>/<step>" */
            size_t n = (size_t)(strchr(st->key, '/') - st->key);
            st->parent_key = orch_arena_strndup(a, st->key, n);
        }
        ev->kind = ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_STEP;
        ev->payload_case = ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_STEP;
        ev->step = st;
    } else if (strcmp(e->kind, "callback_progress") == 0) {
        Orchestrator__V1__CallbackProgress *cp = orch_arena_alloc(a, sizeof(*cp));
        orchestrator__v1__callback_progress__init(cp);
        cp->step_key = orch_arena_strdup(a, jstr(e->payload, "step_key"));
        cp->message = orch_arena_strdup(a, jstr(e->payload, "message"));
        cp->progress = srv_codec_struct_from_json(a, json_object_get(e->payload, "progress"));
        ev->kind = ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_CALLBACK_PROGRESS;
        ev->payload_case = ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_CALLBACK_PROGRESS;
        ev->callback_progress = cp;
    } else {
        /* status_changed, process_created and any kind this build does not know yet: a
         * status change, so that sequences stay contiguous for every client. */
        Orchestrator__V1__ProcessStatusChange *sc = orch_arena_alloc(a, sizeof(*sc));
        orchestrator__v1__process_status_change__init(sc);
        sc->old_status = enum_value(&orchestrator__v1__process_status__descriptor,
                                    "PROCESS_STATUS_", jstr(e->payload, "old_status"));
        sc->new_status = enum_value(
            &orchestrator__v1__process_status__descriptor, "PROCESS_STATUS_",
            strcmp(e->kind, "process_created") == 0 ? "created" : jstr(e->payload, "new_status"));
        sc->step_key = orch_arena_strdup(a, jstr(e->payload, "step_key"));
        if (json_object_get(e->payload, "reason")) {
            Orchestrator__V1__ProcessError *pe = orch_arena_alloc(a, sizeof(*pe));
            orchestrator__v1__process_error__init(pe);
            pe->reason = orch_arena_strdup(a, jstr(e->payload, "reason"));
            pe->message = orch_arena_strdup(a, jstr(e->payload, "message"));
            sc->error = pe;
        }
        ev->kind = ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_STATUS_CHANGED;
        ev->payload_case = ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_STATUS_CHANGE;
        ev->status_change = sc;
    }
}

static void sub_event_to_pb(orch_arena_t *a, const orch_event_t *e,
                            Orchestrator__V1__SubscriptionEvent *ev)
{
    orchestrator__v1__subscription_event__init(ev);
    ev->event_time = srv_codec_timestamp(a, e->time_us);
    ev->subscription_id = orch_arena_strdup(a, e->process_id);
    ev->sequence = e->sequence;
    if (strcmp(e->kind, "status_changed") == 0) {
        Orchestrator__V1__SubscriptionStatusChange *sc = orch_arena_alloc(a, sizeof(*sc));
        orchestrator__v1__subscription_status_change__init(sc);
        sc->old_status = enum_value(&orchestrator__v1__subscription_status__descriptor,
                                    "SUBSCRIPTION_STATUS_", jstr(e->payload, "old_status"));
        sc->new_status = enum_value(&orchestrator__v1__subscription_status__descriptor,
                                    "SUBSCRIPTION_STATUS_", jstr(e->payload, "new_status"));
        ev->kind =
            ORCHESTRATOR__V1__SUBSCRIPTION_EVENT_KIND__SUBSCRIPTION_EVENT_KIND_STATUS_CHANGED;
        ev->payload_case = ORCHESTRATOR__V1__SUBSCRIPTION_EVENT__PAYLOAD_STATUS_CHANGE;
        ev->status_change = sc;
    } else if (strcmp(e->kind, "locked") == 0 || strcmp(e->kind, "unlocked") == 0) {
        Orchestrator__V1__SubscriptionSyncChange *sy = orch_arena_alloc(a, sizeof(*sy));
        orchestrator__v1__subscription_sync_change__init(sy);
        sy->in_sync = strcmp(e->kind, "unlocked") == 0;
        ev->kind = sy->in_sync
                       ? ORCHESTRATOR__V1__SUBSCRIPTION_EVENT_KIND__SUBSCRIPTION_EVENT_KIND_UNLOCKED
                       : ORCHESTRATOR__V1__SUBSCRIPTION_EVENT_KIND__SUBSCRIPTION_EVENT_KIND_LOCKED;
        ev->payload_case = ORCHESTRATOR__V1__SUBSCRIPTION_EVENT__PAYLOAD_SYNC_CHANGE;
        ev->sync_change = sy;
    } else if (strcmp(e->kind, "fields_changed") == 0) {
        Orchestrator__V1__SubscriptionFieldsChange *fc = orch_arena_alloc(a, sizeof(*fc));
        orchestrator__v1__subscription_fields_change__init(fc);
        ev->kind =
            ORCHESTRATOR__V1__SUBSCRIPTION_EVENT_KIND__SUBSCRIPTION_EVENT_KIND_FIELDS_CHANGED;
        ev->payload_case = ORCHESTRATOR__V1__SUBSCRIPTION_EVENT__PAYLOAD_FIELDS_CHANGE;
        ev->fields_change = fc;
    } else if (strcmp(e->kind, "metadata_changed") == 0) {
        ev->kind =
            ORCHESTRATOR__V1__SUBSCRIPTION_EVENT_KIND__SUBSCRIPTION_EVENT_KIND_METADATA_CHANGED;
    } else {
        ev->kind =
            ORCHESTRATOR__V1__SUBSCRIPTION_EVENT_KIND__SUBSCRIPTION_EVENT_KIND_DESCRIPTION_CHANGED;
    }
}

static bool is_final(const orch_event_t *e)
{
    const char *st = jstr(e->payload, "new_status");
    return strcmp(e->kind, "status_changed") == 0 &&
           (strcmp(st, "completed") == 0 || strcmp(st, "aborted") == 0);
}

/* ---- the hub -------------------------------------------------------------------------- */

static void hub_wake(struct srv_watch *h)
{
    pthread_mutex_lock(&h->mu);
    h->wake = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

void srv_watch_notify(void *arg, const char *channel, const char *payload)
{
    struct srv_watch *h = arg;
    (void)channel;
    (void)payload;
    pthread_mutex_lock(&h->mu);
    for (watcher_t *w = h->list; w; w = w->next)
        atomic_store(&w->more, true);
    h->wake = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

/* Reads and queues the next events of w. Hub thread only; w is referenced. */
/* Do two watchers read the same rows next (same stream position)? */
static bool same_position(const watcher_t *a, const watcher_t *b)
{
    if (a->single != b->single || a->subscription != b->subscription)
        return false;
    if (a->single)
        return a->last_seq == b->last_seq && strcmp(a->process_id, b->process_id) == 0;
    return strcmp(a->cursor, b->cursor) == 0 && strcmp(a->filter, b->filter) == 0;
}

/* Queues the events read for w's position (w->done when its stream ended). */
static void deliver(watcher_t *w, const orch_event_t *evs, size_t n, const char *cursor)
{
    bool final = false;
    for (size_t i = 0; i < n; i++) {
        orch_arena_t *a = orch_arena_new();
        Orchestrator__V1__ProcessEvent ev;
        Orchestrator__V1__SubscriptionEvent sev;
        const ProtobufCMessage *msg;
        if (w->subscription) {
            sub_event_to_pb(a, &evs[i], &sev);
            msg = &sev.base;
        } else {
            event_to_pb(a, &evs[i], &ev);
            msg = &ev.base;
        }
        if (!atomic_exchange(&w->queued, true))
            atomic_store(&w->queued_since_ms, orch_now_ms());
        if (srv_stream_send(w->call, msg) < 0) {
            orch_arena_free(a);
            w->done = true;
            return;
        }
        orch_arena_free(a);
        if (w->single) {
            w->last_seq = evs[i].sequence;
            if (!w->subscription && is_final(&evs[i])) {
                final = true;
                break;
            }
        }
    }
    if (!w->single)
        snprintf(w->cursor, sizeof(w->cursor), "%s", cursor);
    if (n == WATCH_BATCH)
        atomic_store(&w->more, true);
    if (final) {
        srv_stream_finish(w->call, NULL);
        w->done = true;
    }
}

/* Reads once for the watchers work[0..n) that stand at the same position (so a thousand
 * watchers of one process cost one query, not a thousand), and queues the rows to each.
 * Hub thread only; the calls are referenced. */
static void serve_group(struct srv_watch *h, watcher_t **work, int n)
{
    orch_store_t *st = h->app->store;
    watcher_t *w = work[0];
    orch_event_t *evs = NULL;
    size_t nev = 0;
    char cursor[64];
    orch_error_t err;
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 10000};
    orch_err_t rc;

    orch_error_init(&err);
    snprintf(cursor, sizeof(cursor), "%s", w->cursor);
    for (int i = 0; i < n; i++)
        atomic_store(&work[i]->more, false);
    if (w->subscription)
        rc = st->ops->sub_events_after(st, &ctx, w->process_id, w->last_seq, WATCH_BATCH, &evs,
                                       &nev, &err);
    else if (w->single)
        rc = st->ops->events_after(st, &ctx, w->process_id, w->last_seq, WATCH_BATCH, &evs, &nev,
                                   &err);
    else
        rc = st->ops->events_global(st, &ctx, w->filter, w->cursor, WATCH_BATCH, &evs, &nev, cursor,
                                    &err);
    if (rc) {
        /* The database is away: try again at the next wake; the streams stay open. */
        for (int i = 0; i < n; i++)
            atomic_store(&work[i]->more, true);
        return;
    }
    for (int i = 0; i < n; i++)
        deliver(work[i], evs, nev, cursor);
    orch_events_free(evs, nev);
}

static void *hub_main(void *arg)
{
    struct srv_watch *h = arg;
    for (;;) {
        watcher_t **work = NULL;
        int nwork = 0;
        struct timespec until;

        pthread_mutex_lock(&h->mu);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        while (!h->wake && !h->stop)
            if (pthread_cond_timedwait(&h->cv, &h->mu, &until) != 0)
                break;
        if (h->stop) {
            pthread_mutex_unlock(&h->mu);
            break;
        }
        h->wake = false;
        /* The poll fallback marks everyone; a notification already did. */
        work = orch_calloc((size_t)h->count + 1, sizeof(*work));
        for (watcher_t *w = h->list; w; w = w->next) {
            if (!w->closed && !w->done && atomic_load(&w->queued) &&
                orch_now_ms() - atomic_load(&w->queued_since_ms) > h->stall_ms) {
                orch_error_t err;
                orch_error_init(&err);
                if (w->single)
                    orch_error_set(&err, ORCH_RESOURCE_EXHAUSTED, "WATCHER_TOO_SLOW",
                                   "this watcher did not read for %d ms; reconnect with "
                                   "after_sequence set to the last sequence you received "
                                   "(at most %lld)",
                                   h->stall_ms, (long long)w->last_seq);
                else
                    orch_error_set(&err, ORCH_RESOURCE_EXHAUSTED, "WATCHER_TOO_SLOW",
                                   "this watcher did not read for %d ms; reconnect with "
                                   "after_cursor set to the last cursor you received",
                                   h->stall_ms);
                srv_call_cancel(w->call, &err);
                w->done = true;
                continue;
            }
            if (w->closed || w->done || atomic_load(&w->queued) || !atomic_load(&w->more))
                continue;
            w->serving = true;
            srv_call_ref(w->call);
            work[nwork++] = w;
        }
        pthread_mutex_unlock(&h->mu);
        /* Group the watchers by position and read once per group. */
        for (int i = 0; i < nwork; i++) {
            watcher_t **group;
            int ng = 0;
            if (!work[i])
                continue;
            group = orch_calloc((size_t)(nwork - i), sizeof(*group));
            for (int j = i; j < nwork; j++) {
                if (work[j] && same_position(work[i], work[j])) {
                    group[ng++] = work[j];
                    if (j != i)
                        work[j] = NULL;
                }
            }
            serve_group(h, group, ng);
            for (int k = 0; k < ng; k++) {
                watcher_t *w = group[k];
                srv_call_t *call = w->call;
                bool gone;
                pthread_mutex_lock(&h->mu);
                w->serving = false;
                gone = w->closed;
                pthread_mutex_unlock(&h->mu);
                if (gone) {
                    free(w->filter);
                    free(w);
                }
                srv_call_unref(call);
            }
            work[i] = NULL;
            free(group);
        }
        free(work);
    }
    return NULL;
}

struct srv_watch *srv_watch_new(srv_app_t *app, int stall_ms, int max_total, int max_per_client)
{
    struct srv_watch *h = orch_calloc(1, sizeof(*h));
    h->app = app;
    h->stall_ms = stall_ms > 0 ? stall_ms : WATCH_STALL_MS_DEFAULT;
    h->max_total = max_total > 0 ? max_total : WATCH_MAX_DEFAULT;
    h->max_per_client = max_per_client > 0 ? max_per_client : WATCH_MAX_PER_CLIENT_DEFAULT;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    pthread_create(&h->thread, NULL, hub_main, h);
    return h;
}

void srv_watch_stop(struct srv_watch *h)
{
    bool join;
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    join = !h->stop;
    h->stop = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    if (join)
        pthread_join(h->thread, NULL);
}

void srv_watch_free(struct srv_watch *h)
{
    if (!h)
        return;
    srv_watch_stop(h);
    orch_assert(h->list == NULL); /* every stream closed before the server stopped */
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

int srv_watch_count(struct srv_watch *h)
{
    int n;
    pthread_mutex_lock(&h->mu);
    n = h->count;
    pthread_mutex_unlock(&h->mu);
    return n;
}

/* ---- the calls ------------------------------------------------------------------------ */

/* Who a watcher belongs to, for the per-client limit: the token's identity when the call
 * was authenticated, else the peer's address without its port (one client opening many
 * connections is still one client). */
static void client_of(srv_call_t *call, char *out, size_t cap)
{
    const char *kind = srv_call_actor_kind(call), *name = srv_call_actor_name(call);
    if (strcmp(kind, "peer") == 0) {
        const char *colon = strrchr(name, ':');
        size_t n = colon && colon != strchr(name, ':') ? (size_t)(colon - name) : strlen(name);
        snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), name);
    } else {
        snprintf(out, cap, "%s:%s", kind, name);
    }
}

static orch_err_t add_watcher(srv_call_t *call, watcher_t *w, orch_error_t *err)
{
    srv_app_t *app = srv_call_app(call);
    struct srv_watch *h = app->watch;
    int mine = 0;

    client_of(call, w->client, sizeof(w->client));
    pthread_mutex_lock(&h->mu);
    for (watcher_t *o = h->list; o && h->count < h->max_total; o = o->next)
        mine += !o->closed && strcmp(o->client, w->client) == 0;
    if (h->count >= h->max_total || mine >= h->max_per_client) {
        bool all = h->count >= h->max_total;
        int max = all ? h->max_total : h->max_per_client;
        pthread_mutex_unlock(&h->mu);
        free(w->filter);
        free(w);
        if (all)
            orch_error_set(err, ORCH_RESOURCE_EXHAUSTED, "TOO_MANY_WATCHERS",
                           "this replica serves %d watchers already (--max-watchers); retry "
                           "later or elsewhere",
                           max);
        else
            orch_error_set(err, ORCH_RESOURCE_EXHAUSTED, "TOO_MANY_WATCHERS_FOR_CLIENT",
                           "this client has %d watch streams open on this replica already "
                           "(--max-watchers-per-client); close one first",
                           max);
        err->retry_after_ms = 1000;
        return ORCH_RESOURCE_EXHAUSTED;
    }
    w->call = call;
    srv_call_ref(call);
    srv_call_set_data(call, w);
    atomic_store(&w->more, true);
    w->next = h->list;
    h->list = w;
    h->count++;
    h->wake = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return ORCH_OK;
}

static orch_err_t watch_process_start(srv_call_t *call, const ProtobufCMessage *reqm,
                                      orch_error_t *err)
{
    const Orchestrator__V1__WatchProcessRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    orch_store_t *st = app->store;
    watcher_t *w;
    orch_tx_t *tx = NULL;
    orch_process_t *p = NULL;
    int64_t seq = 0;
    orch_err_t rc;

    rc = orch_uuid_check(req->process_id, "process_id", err);
    if (rc)
        return rc;
    if (req->after_sequence < 0)
        return orch_error_invalid(err, "after_sequence", "must be 0 or a sequence seen before");
    /* The snapshot and its sequence come from one consistent read. */
    rc = st->ops->tx_begin(st, srv_call_ctx(call), &tx, err);
    if (!rc)
        rc = st->ops->tx_snapshot(tx, err);
    if (!rc)
        rc = st->ops->events_seq(st, tx, srv_call_ctx(call), req->process_id, &seq, err);
    if (!rc)
        rc = st->ops->process_get(st, tx, srv_call_ctx(call), req->process_id, false, &p, err);
    st->ops->tx_rollback(tx);
    if (rc)
        goto out;
    if (req->after_sequence > seq) {
        rc = orch_error_invalid(err, "after_sequence",
                                "%lld is past the last event of this process (%lld)",
                                (long long)req->after_sequence, (long long)seq);
        goto out;
    }
    w = orch_calloc(1, sizeof(*w));
    w->single = true;
    snprintf(w->process_id, sizeof(w->process_id), "%s", req->process_id);
    w->last_seq = req->after_sequence ? req->after_sequence : seq;
    if (req->after_sequence == 0) {
        Orchestrator__V1__ProcessEvent ev = ORCHESTRATOR__V1__PROCESS_EVENT__INIT;
        Orchestrator__V1__ProcessSnapshot snap = ORCHESTRATOR__V1__PROCESS_SNAPSHOT__INIT;
        snap.process = srv_process_to_pb(call, p, false);
        ev.kind = ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_SNAPSHOT;
        /* The snapshot is as of the process's last change (PostgreSQL's clock). */
        ev.event_time = srv_codec_timestamp(srv_call_arena(call), p->update_us);
        ev.process_id = (char *)req->process_id;
        ev.sequence = seq;
        ev.cursor = "";
        ev.payload_case = ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_SNAPSHOT;
        ev.snapshot = &snap;
        atomic_store(&w->queued, true);
        atomic_store(&w->queued_since_ms, orch_now_ms());
        srv_stream_send(call, &ev.base);
    }
    /* A finished process with nothing after the point asked for: the stream is complete. */
    if ((strcmp(p->status, "completed") == 0 || strcmp(p->status, "aborted") == 0) &&
        w->last_seq >= seq) {
        srv_stream_finish(call, NULL);
        w->done = true;
    }
    rc = add_watcher(call, w, err);
out:
    orch_process_free(p);
    return rc;
}

static orch_err_t watch_processes_start(srv_call_t *call, const ProtobufCMessage *reqm,
                                        orch_error_t *err)
{
    const Orchestrator__V1__WatchProcessesRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    orch_store_t *st = app->store;
    orch_event_t *evs = NULL;
    size_t n = 0;
    watcher_t *w;
    char cursor[64];
    orch_err_t rc;

    /* A first read with limit 0 checks the filter and cursor and fixes the starting point. */
    rc = st->ops->events_global(st, srv_call_ctx(call), req->filter, req->after_cursor, 0, &evs, &n,
                                cursor, err);
    orch_events_free(evs, n);
    if (rc)
        return rc;
    w = orch_calloc(1, sizeof(*w));
    w->filter = orch_strdup(req->filter);
    snprintf(w->cursor, sizeof(w->cursor), "%s",
             req->after_cursor && *req->after_cursor ? req->after_cursor : cursor);
    return add_watcher(call, w, err);
}

static orch_err_t watch_subscription_start(srv_call_t *call, const ProtobufCMessage *reqm,
                                           orch_error_t *err)
{
    const Orchestrator__V1__WatchSubscriptionRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    orch_store_t *st = app->store;
    orch_subscription_t *sub = NULL;
    orch_tx_t *tx = NULL;
    int64_t seq = 0;
    watcher_t *w;
    orch_err_t rc;

    rc = orch_uuid_check(req->subscription_id, "subscription_id", err);
    if (rc)
        return rc;
    if (req->after_sequence < 0)
        return orch_error_invalid(err, "after_sequence", "must be 0 or a sequence seen before");
    rc = st->ops->tx_begin(st, srv_call_ctx(call), &tx, err);
    if (!rc)
        rc = st->ops->tx_snapshot(tx, err);
    if (!rc)
        rc = st->ops->sub_events_seq(st, tx, srv_call_ctx(call), req->subscription_id, &seq, err);
    if (!rc && req->after_sequence == 0)
        rc = st->ops->sub_load(st, tx, srv_call_ctx(call), app->catalog, req->subscription_id,
                               false, &sub, err);
    st->ops->tx_rollback(tx);
    if (rc)
        goto out;
    if (req->after_sequence > seq) {
        rc = orch_error_invalid(err, "after_sequence",
                                "%lld is past the last event of this subscription (%lld)",
                                (long long)req->after_sequence, (long long)seq);
        goto out;
    }
    w = orch_calloc(1, sizeof(*w));
    w->single = w->subscription = true;
    snprintf(w->process_id, sizeof(w->process_id), "%s", req->subscription_id);
    w->last_seq = req->after_sequence ? req->after_sequence : seq;
    if (sub) {
        Orchestrator__V1__SubscriptionEvent ev = ORCHESTRATOR__V1__SUBSCRIPTION_EVENT__INIT;
        ev.kind = ORCHESTRATOR__V1__SUBSCRIPTION_EVENT_KIND__SUBSCRIPTION_EVENT_KIND_SNAPSHOT;
        ev.event_time = srv_codec_timestamp(srv_call_arena(call), sub->update_time_us);
        ev.subscription_id = (char *)req->subscription_id;
        ev.sequence = seq;
        ev.version = sub->version;
        ev.payload_case = ORCHESTRATOR__V1__SUBSCRIPTION_EVENT__PAYLOAD_SNAPSHOT;
        ev.snapshot = srv_subscription_to_pb(srv_call_arena(call), sub, true);
        atomic_store(&w->queued, true);
        atomic_store(&w->queued_since_ms, orch_now_ms());
        srv_stream_send(call, &ev.base);
    }
    rc = add_watcher(call, w, err);
out:
    orch_subscription_free(sub);
    return rc;
}

static void watch_drained(srv_call_t *call)
{
    srv_app_t *app = srv_call_app(call);
    watcher_t *w = srv_call_data(call);
    atomic_store(&w->queued, false);
    if (atomic_load(&w->more))
        hub_wake(app->watch);
}

static void watch_closed(srv_call_t *call)
{
    srv_app_t *app = srv_call_app(call);
    struct srv_watch *h = app->watch;
    watcher_t *w = srv_call_data(call), **pp;
    bool can_free;

    pthread_mutex_lock(&h->mu);
    for (pp = &h->list; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            h->count--;
            break;
        }
    }
    /* The hub may be reading for w right now; then it frees w when it is done. */
    w->closed = true;
    can_free = !w->serving;
    pthread_mutex_unlock(&h->mu);
    srv_call_set_data(call, NULL);
    if (can_free) {
        free(w->filter);
        free(w);
    }
    srv_call_unref(call);
}

static const srv_stream_ops_t watch_process_ops = {
    .start = watch_process_start,
    .drained = watch_drained,
    .closed = watch_closed,
};

static const srv_stream_ops_t watch_processes_ops = {
    .start = watch_processes_start,
    .drained = watch_drained,
    .closed = watch_closed,
};

static const srv_stream_ops_t watch_subscription_ops = {
    .start = watch_subscription_start,
    .drained = watch_drained,
    .closed = watch_closed,
};

const srv_method_t srv_watch_methods[] = {
    {&orchestrator__v1__subscription_service__descriptor, "WatchSubscription", NULL,
     SRV_ROLE_READER, &watch_subscription_ops},
    {&orchestrator__v1__process_service__descriptor, "WatchProcess", NULL, SRV_ROLE_READER,
     &watch_process_ops},
    {&orchestrator__v1__process_service__descriptor, "WatchProcesses", NULL, SRV_ROLE_READER,
     &watch_processes_ops},
    {0},
};
