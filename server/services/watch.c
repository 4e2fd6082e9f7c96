/* WatchProcess, WatchProcesses and WatchSubscription: server streams of events read from
 * PostgreSQL, so a watcher that reconnects to any replica with the last sequence (or cursor)
 * it saw gets exactly what it missed, then live events.
 *
 * One hub thread per replica serves every watcher. Watchers of one process (or
 * subscription) share a feed, found by id in a hash table: a NOTIFY naming the process
 * (srv_watch_notify) makes the hub read the feed's new events once, pack each
 * once, and queue the same bytes to every watcher standing right before them. The
 * WatchProcesses streams share one read of every process's events, matched in memory
 * against each stream's filter (compiled once). A watcher that is behind (it resumed from
 * an old point) catches up from the tables lazily, one read per group at the same
 * position, when its queue is empty. A live watcher whose queue passes the backlog bound
 * is ended with RESOURCE_EXHAUSTED WATCHER_TOO_SLOW and the point to resume after; it
 * loses nothing, since resuming replays from the tables. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/metrics.h"
#include "domain/event_filter.h"
#include "domain/ids.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "server/app.h"
#include "server/rpc/codec.h"
#include "server/services/pbconv.h"
#include "server/services/services.h"
#include "server/services/subpb.h"
#include "server/services/ucall.h"

#define WATCH_BATCH 100                   /* events per read, at most the backlog bound */
#define WATCH_MAX_DEFAULT 10000           /* watchers per replica (--max-watchers) */
#define WATCH_MAX_PER_CLIENT_DEFAULT 1000 /* --max-watchers-per-client */
/* A watcher that has not taken its queued events for this long is ended, told where to
 * resume (--watch-stall-ms). */
#define WATCH_STALL_MS_DEFAULT 30000
/* A live watcher with more than this queued is ended the same way (--watch-backlog-events,
 * --watch-backlog-bytes). */
#define WATCH_BACKLOG_EVENTS_DEFAULT 1000
#define WATCH_BACKLOG_BYTES_DEFAULT (4u << 20)

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

static bool is_suspend(const orch_event_t *e)
{
    return strcmp(e->kind, "status_changed") == 0 &&
           strcmp(jstr(e->payload, "new_status"), "suspended") == 0;
}

/* ---- the hub's tables ----------------------------------------------------------------- */

static uint64_t hash_str(const char *s, bool salt)
{
    uint64_t h = salt ? 0x9e3779b97f4a7c15ULL : 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* A chained hash table of nodes that start with a hnext pointer and a key. Grown by
 * doubling when it holds more nodes than buckets, so lookups stay O(1). */
typedef struct hnode {
    struct hnode *hnext;
} hnode_t;

typedef struct htab {
    hnode_t **b;
    size_t nb, n;
} htab_t;

static void htab_grow(htab_t *t, uint64_t (*hash)(const hnode_t *))
{
    size_t nb = t->nb ? t->nb * 2 : 64;
    hnode_t **b = orch_calloc(nb, sizeof(*b));
    for (size_t i = 0; i < t->nb; i++) {
        for (hnode_t *x = t->b[i], *next; x; x = next) {
            next = x->hnext;
            x->hnext = b[hash(x) & (nb - 1)];
            b[hash(x) & (nb - 1)] = x;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
}

static void htab_add(htab_t *t, hnode_t *x, uint64_t (*hash)(const hnode_t *))
{
    if (t->n + 1 > t->nb)
        htab_grow(t, hash);
    x->hnext = t->b[hash(x) & (t->nb - 1)];
    t->b[hash(x) & (t->nb - 1)] = x;
    t->n++;
}

static void htab_del(htab_t *t, hnode_t *x, uint64_t (*hash)(const hnode_t *))
{
    for (hnode_t **pp = &t->b[hash(x) & (t->nb - 1)]; *pp; pp = &(*pp)->hnext) {
        if (*pp == x) {
            *pp = x->hnext;
            t->n--;
            return;
        }
    }
}

typedef struct watcher watcher_t;

/* The watchers of one process (or subscription), and how far the hub has read it: every
 * event of it is read once per replica and packed once, then queued to every watcher
 * standing right before it. */
typedef struct feed {
    hnode_t h;
    char id[37];
    bool subscription;
    bool dirty;      /* there may be events after head (on the dirty list) */
    int busy;        /* the hub is reading for it without the lock: do not free */
    int64_t head;    /* the highest sequence read so far */
    watcher_t *list; /* its watchers */
    int n;
    struct feed *dnext;
} feed_t;

static uint64_t feed_hash(const hnode_t *x)
{
    const feed_t *f = (const feed_t *)x;
    return hash_str(f->id, f->subscription);
}

/* One client's open streams, for the per-client limit without a walk of every watcher. */
typedef struct client {
    hnode_t h;
    int n;
    char name[];
} client_t;

static uint64_t client_hash(const hnode_t *x)
{
    return hash_str(((const client_t *)x)->name, false);
}

typedef struct cursor {
    int64_t tx, id;
} cursor_t;

static int cursor_cmp(cursor_t a, cursor_t b)
{
    return a.tx != b.tx ? (a.tx < b.tx ? -1 : 1) : a.id != b.id ? (a.id < b.id ? -1 : 1) : 0;
}

static bool cursor_parse(const char *s, cursor_t *c)
{
    long long tx, id;
    char extra;
    if (!s || sscanf(s, "%lld:%lld%c", &tx, &id, &extra) != 2)
        return false;
    c->tx = tx;
    c->id = id;
    return true;
}

/* One stream. Everything here is under the hub lock. */
struct watcher {
    srv_call_t *call;
    feed_t *feed;               /* single: its process or subscription */
    client_t *client;           /* for the per-client count */
    int64_t last_seq;           /* single: the last sequence queued (or covered by the snapshot) */
    orch_event_filter_t *match; /* multi: the filter, compiled once */
    char *filter;               /* multi: its text, for catch-up reads */
    cursor_t cursor;            /* multi: everything up to here was queued or did not match */
    int64_t start_seq;          /* single: where it started (resume point before any event) */
    cursor_t start_cursor;      /* multi: the same */
    int64_t queued_since_ms;    /* when its queue last became non-empty; 0 = empty */
    int busy;                   /* the hub holds it without the lock */
    bool single, subscription;
    bool done;              /* nothing more will be queued */
    bool closed;            /* the call is over: whoever drops busy to 0 frees it */
    bool ready;             /* on the catch-up list */
    watcher_t *prev, *next; /* in its feed, or in the multi list */
    watcher_t *rnext;       /* catch-up list */
};

struct srv_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    htab_t feeds, clients;
    feed_t *dirty; /* feeds to read */
    watcher_t *multi;
    int nmulti;
    cursor_t ghead; /* multi: how far the shared read went (valid when nmulti > 0) */
    bool gdirty;
    watcher_t *ready; /* watchers behind their feed whose queue is empty */
    int count;
    bool wake, stop;
    int stall_ms, max_total, max_per_client, backlog_events;
    size_t backlog_bytes;
    int read_interval_ms; /* a pass starts at most once per this (--watch-read-interval-ms) */
    int64_t last_pass_ms; /* when the last pass took its work */
    int64_t last_stall_check_ms;
    pthread_t thread;
    bool started; /* the hub thread runs (pthread_create succeeded) */
    srv_app_t *app;
};

static feed_t *feed_find(struct srv_watch *h, const char *id, bool subscription)
{
    feed_t key;
    if (!h->feeds.nb)
        return NULL;
    snprintf(key.id, sizeof(key.id), "%s", id);
    key.subscription = subscription;
    for (hnode_t *x = h->feeds.b[feed_hash(&key.h) & (h->feeds.nb - 1)]; x; x = x->hnext) {
        feed_t *f = (feed_t *)x;
        if (f->subscription == subscription && strcmp(f->id, id) == 0)
            return f;
    }
    return NULL;
}

static void feed_mark(struct srv_watch *h, feed_t *f)
{
    if (!f->dirty) {
        f->dirty = true;
        f->dnext = h->dirty;
        h->dirty = f;
    }
    h->wake = true;
}

/* Frees f once nobody watches it and the hub is not reading it. Hub lock. */
static void feed_maybe_free(struct srv_watch *h, feed_t *f)
{
    if (f->n > 0 || f->busy > 0 || f->dirty)
        return;
    htab_del(&h->feeds, &f->h, feed_hash);
    free(f);
}

static void watcher_free(watcher_t *w)
{
    orch_event_filter_free(w->match);
    free(w->filter);
    free(w);
}

/* Frees w when the call is over and the hub holds it nowhere. Hub lock. */
static void watcher_release(watcher_t *w)
{
    if (w->closed && w->busy == 0 && !w->ready)
        watcher_free(w);
}

/* Ends w now with RESOURCE_EXHAUSTED WATCHER_TOO_SLOW and where to resume. Hub lock. */
static void too_slow(struct srv_watch *h, watcher_t *w, const char *why)
{
    orch_error_t err;
    char fallback[64];
    orch_error_init(&err);
    orch_error_set(&err, ORCH_RESOURCE_EXHAUSTED, "WATCHER_TOO_SLOW",
                   "this watcher fell behind (%s); reconnect with %s set to the ErrorInfo "
                   "metadata %s",
                   why, w->single ? "after_sequence" : "after_cursor",
                   w->single ? "resume_after_sequence" : "resume_after_cursor");
    snprintf(err.meta_key, sizeof(err.meta_key), "%s",
             w->single ? "resume_after_sequence" : "resume_after_cursor");
    if (w->single)
        snprintf(fallback, sizeof(fallback), "%lld", (long long)w->start_seq);
    else
        snprintf(fallback, sizeof(fallback), "%lld:%lld", (long long)w->start_cursor.tx,
                 (long long)w->start_cursor.id);
    srv_stream_finish_now(w->call, &err, fallback);
    w->done = true;
    orch_metrics_add("orch_watch_too_slow_total", "", 1);
    (void)h;
}

/* Queues p to w, ending w when its backlog passes the bound. Returns false when nothing
 * more should go to w. Hub lock. */
static bool queue_to(struct srv_watch *h, watcher_t *w, srv_packed_t *p)
{
    size_t bytes = 0;
    int n = srv_stream_send_packed(w->call, p, &bytes);
    if (n < 0) {
        w->done = true;
        return false;
    }
    if (!w->queued_since_ms)
        w->queued_since_ms = orch_now_ms();
    if (n > h->backlog_events || bytes > h->backlog_bytes) {
        char why[96];
        snprintf(why, sizeof(why), "%d events or %zu bytes waiting to be read",
                 n > h->backlog_events ? n : h->backlog_events, bytes);
        too_slow(h, w, why);
        return false;
    }
    return true;
}

static void ready_add(struct srv_watch *h, watcher_t *w)
{
    if (w->ready || w->done || w->closed || w->queued_since_ms)
        return;
    w->ready = true;
    w->rnext = h->ready;
    h->ready = w;
    h->wake = true;
}

static bool single_behind(const watcher_t *w)
{
    return w->last_seq < w->feed->head;
}

static bool multi_behind(const struct srv_watch *h, const watcher_t *w)
{
    return cursor_cmp(w->cursor, h->ghead) < 0;
}

/* Hands the events evs[0..n) of feed f (contiguous sequences, packed once in pk) to every
 * watcher of f standing right before one of them: each gets the part it has not seen, in
 * order, and nothing before a gap (it catches up from the tables instead). Hub lock. */
static void feed_deliver(struct srv_watch *h, feed_t *f, const orch_event_t *evs, srv_packed_t **pk,
                         size_t n)
{
    if (n > 0 && evs[n - 1].sequence > f->head)
        f->head = evs[n - 1].sequence;
    for (watcher_t *w = f->list; w; w = w->next) {
        if (w->done)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (evs[i].sequence <= w->last_seq)
                continue;
            if (evs[i].sequence != w->last_seq + 1)
                break;
            if (!queue_to(h, w, pk[i]))
                break;
            w->last_seq = evs[i].sequence;
            if (!w->subscription && is_final(&evs[i])) {
                srv_stream_finish(w->call, NULL);
                w->done = true;
                break;
            }
        }
        if (!w->done && single_behind(w))
            ready_add(h, w);
    }
}

/* The same for the shared read of every process's events (WatchProcesses), read after
 * `from`: each live watcher gets the events after its cursor that its filter matches. */
static void multi_deliver(struct srv_watch *h, cursor_t from, const orch_event_t *evs,
                          srv_packed_t **pk, size_t n, cursor_t to)
{
    /* Each event's cursor parsed once, not once per watcher. */
    cursor_t *cs = orch_calloc(n + 1, sizeof(*cs));
    for (size_t i = 0; i < n; i++)
        cursor_parse(evs[i].cursor, &cs[i]);
    for (watcher_t *w = h->multi; w; w = w->next) {
        if (w->done)
            continue;
        if (cursor_cmp(w->cursor, from) < 0) {
            /* Behind: it catches up with its own filter. It may have joined while this
             * read was in flight, when it was not behind the head then (no stream left,
             * so the head restarted at its cursor): this read moves the head past it, and
             * nothing else would wake it. */
            ready_add(h, w);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (cursor_cmp(cs[i], w->cursor) <= 0)
                continue;
            if (orch_event_filter_match(w->match, evs[i].fields) && !queue_to(h, w, pk[i]))
                break;
            w->cursor = cs[i];
        }
        if (!w->done && cursor_cmp(w->cursor, to) < 0)
            w->cursor = to;
    }
    if (cursor_cmp(to, h->ghead) > 0)
        h->ghead = to;
    free(cs);
}

/* ---- reading (hub thread, without the lock) -------------------------------------------- */

static void count_read(const char *what, size_t rows)
{
    char labels[32];
    snprintf(labels, sizeof(labels), "read=\"%s\"", what);
    orch_metrics_add("orch_watch_queries_total", labels, 1);
    orch_metrics_add("orch_watch_event_rows_total", labels, (double)rows);
}

/* The form page a suspended process asks for, packed into the status events that suspend
 * it: one process read per such event and replica, shared by every watcher. */
static Orchestrator__V1__FormPage *suspend_form(struct srv_watch *h, orch_arena_t *a,
                                                const orch_event_t *e)
{
    orch_uc_t uc = srv_app_uc(h->app);
    orch_process_t *p = NULL;
    orch_error_t err;
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 10000};
    Orchestrator__V1__FormPage *fp = NULL;

    orch_error_init(&err);
    count_read("form", 0);
    if (orch_uc_process_get(&uc, &ctx, e->process_id, true, &p, &err) == ORCH_OK)
        fp = srv_process_form_pb(h->app, a, &ctx, p, jstr(e->payload, "step_key"));
    orch_process_free(p);
    return fp;
}

/* Packs each event once; label is what a stream ended early resumes after. */
static srv_packed_t **pack_all(struct srv_watch *h, const orch_event_t *evs, size_t n,
                               bool subscription, bool by_cursor)
{
    srv_packed_t **pk = orch_calloc(n + 1, sizeof(*pk));
    for (size_t i = 0; i < n; i++) {
        orch_arena_t *a = orch_arena_new();
        char label[64];
        if (by_cursor)
            snprintf(label, sizeof(label), "%s", evs[i].cursor);
        else
            snprintf(label, sizeof(label), "%lld", (long long)evs[i].sequence);
        if (subscription) {
            Orchestrator__V1__SubscriptionEvent sev;
            sub_event_to_pb(a, &evs[i], &sev);
            pk[i] = srv_packed_new(&sev.base, label);
        } else {
            Orchestrator__V1__ProcessEvent ev;
            event_to_pb(a, &evs[i], &ev);
            if (is_suspend(&evs[i]))
                ev.status_change->form = suspend_form(h, a, &evs[i]);
            pk[i] = srv_packed_new(&ev.base, label);
        }
        orch_arena_free(a);
    }
    orch_metrics_add("orch_watch_events_packed_total", "", (double)n);
    return pk;
}

static void unpack_all(srv_packed_t **pk, size_t n)
{
    for (size_t i = 0; pk && i < n; i++)
        srv_packed_unref(pk[i]);
    free(pk);
}

/* Reads up to WATCH_BATCH events of f after `after` and hands them out. */
static void feed_read(struct srv_watch *h, feed_t *f, int64_t after, const char *what)
{
    orch_uc_t uc = srv_app_uc(h->app);
    orch_event_t *evs = NULL;
    size_t n = 0;
    srv_packed_t **pk = NULL;
    orch_error_t err;
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 10000};
    orch_err_t rc;

    orch_error_init(&err);
    rc =
        orch_uc_events_after(&uc, &ctx, f->subscription, f->id, after, WATCH_BATCH, &evs, &n, &err);
    count_read(what, rc ? 0 : n);
    if (!rc)
        pk = pack_all(h, evs, n, f->subscription, false);
    pthread_mutex_lock(&h->mu);
    f->busy--;
    if (rc) {
        /* The database is away: the poll tries again; the streams stay open. */
        feed_mark(h, f);
    } else {
        feed_deliver(h, f, evs, pk, n);
        if (n == WATCH_BATCH)
            feed_mark(h, f);
    }
    feed_maybe_free(h, f);
    pthread_mutex_unlock(&h->mu);
    unpack_all(pk, n);
    orch_events_free(evs, n);
}

/* The shared read of every process's events after `from`, for the WatchProcesses streams. */
static void multi_read(struct srv_watch *h, cursor_t from)
{
    orch_uc_t uc = srv_app_uc(h->app);
    orch_event_t *evs = NULL;
    size_t n = 0;
    srv_packed_t **pk = NULL;
    char cur[64], out[64] = "";
    cursor_t to = from;
    orch_error_t err;
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 10000};
    orch_err_t rc;

    orch_error_init(&err);
    snprintf(cur, sizeof(cur), "%lld:%lld", (long long)from.tx, (long long)from.id);
    rc = orch_uc_events_global(&uc, &ctx, "", cur, WATCH_BATCH, &evs, &n, out, &err);
    count_read("all", rc ? 0 : n);
    if (!rc) {
        pk = pack_all(h, evs, n, false, true);
        cursor_parse(out, &to);
    }
    pthread_mutex_lock(&h->mu);
    if (rc || n == WATCH_BATCH) {
        h->gdirty = true;
        h->wake = true;
    }
    if (!rc && h->nmulti > 0)
        multi_deliver(h, from, evs, pk, n, to);
    pthread_mutex_unlock(&h->mu);
    unpack_all(pk, n);
    orch_events_free(evs, n);
}

/* Catch-up of WatchProcesses streams behind the shared read, one read per group of
 * streams with the same filter at the same cursor. ws[0..n) are held (busy). */
static void multi_catch_up(struct srv_watch *h, watcher_t **ws, size_t n, cursor_t head)
{
    orch_uc_t uc = srv_app_uc(h->app);
    orch_event_t *evs = NULL;
    size_t nev = 0;
    srv_packed_t **pk = NULL;
    char cur[64], out[64] = "";
    orch_error_t err;
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 10000};
    orch_err_t rc;

    orch_error_init(&err);
    snprintf(cur, sizeof(cur), "%lld:%lld", (long long)ws[0]->cursor.tx,
             (long long)ws[0]->cursor.id);
    rc = orch_uc_events_global(&uc, &ctx, ws[0]->filter, cur, WATCH_BATCH, &evs, &nev, out, &err);
    count_read("catch_up_all", rc ? 0 : nev);
    if (!rc)
        pk = pack_all(h, evs, nev, false, true);
    pthread_mutex_lock(&h->mu);
    for (size_t k = 0; k < n; k++) {
        watcher_t *w = ws[k];
        w->busy--;
        if (!rc && !w->done && !w->closed) {
            for (size_t i = 0; i < nev; i++) {
                cursor_t c = {0, 0};
                cursor_parse(evs[i].cursor, &c);
                if (cursor_cmp(c, w->cursor) <= 0)
                    continue;
                if (!queue_to(h, w, pk[i]))
                    break;
                w->cursor = c;
            }
            /* A short read saw everything its filter matches up to the shared head. */
            if (!w->done && nev < WATCH_BATCH && cursor_cmp(w->cursor, head) < 0)
                w->cursor = head;
            if (!w->done && multi_behind(h, w))
                ready_add(h, w);
        }
        watcher_release(w);
    }
    pthread_mutex_unlock(&h->mu);
    unpack_all(pk, nev);
    orch_events_free(evs, nev);
}

/* ---- the hub thread ------------------------------------------------------------------- */

/* Marks every feed (and the shared read) to be read: after a reconnect of the listener, or
 * a notification without a payload. Hub lock. */
static void mark_all(struct srv_watch *h, bool subscriptions)
{
    for (size_t i = 0; i < h->feeds.nb; i++)
        for (hnode_t *x = h->feeds.b[i]; x; x = x->hnext)
            if (((feed_t *)x)->subscription == subscriptions)
                feed_mark(h, (feed_t *)x);
    if (!subscriptions && h->nmulti > 0)
        h->gdirty = true;
    h->wake = true;
}

/* NOTIFY orch_process_events / orch_subscription_events. The payload (docs/ARCHITECTURE.md,
 * "What a NOTIFY carries") lists "<id>:<first>-<last>" per process or subscription whose
 * events one statement inserted, comma-separated; empty means "read everything new". Only
 * the feeds named, and only when they have not read that far, are read. */
void srv_watch_notify(void *arg, const char *channel, const char *payload)
{
    struct srv_watch *h = arg;
    bool subs = channel && strcmp(channel, "orch_subscription_events") == 0;
    pthread_mutex_lock(&h->mu);
    if (!payload || !*payload) {
        mark_all(h, subs);
    } else {
        const char *p = payload;
        if (!subs && h->nmulti > 0)
            h->gdirty = true;
        while (*p) {
            char id[37];
            long long lo, hi;
            int used = 0;
            if (sscanf(p, "%36[0-9a-f-]:%lld-%lld%n", id, &lo, &hi, &used) != 3) {
                mark_all(h, subs); /* a payload this build does not know: read everything */
                break;
            }
            feed_t *f = feed_find(h, id, subs);
            if (f && f->head < hi)
                feed_mark(h, f);
            p += used;
            if (*p == ',')
                p++;
        }
    }
    h->wake = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

/* Whether w has had messages waiting, and taken none of them, for longer than stall_ms: a
 * reader that keeps taking messages is not stalled even when its queue never empties (a
 * busy stream). Hub lock. */
static bool stalled(const struct srv_watch *h, watcher_t *w, int64_t now)
{
    int64_t since = w->queued_since_ms, sent;
    if (w->done || !since || now - since <= h->stall_ms)
        return false;
    sent = srv_stream_last_sent_ms(w->call);
    return now - (sent > since ? sent : since) > h->stall_ms;
}

/* Ends the streams whose reader took nothing for stall_ms. Hub lock; once a second. */
static void stall_check(struct srv_watch *h)
{
    int64_t now = orch_now_ms();
    char why[64];
    snprintf(why, sizeof(why), "it read nothing for %d ms", h->stall_ms);
    if (now - h->last_stall_check_ms < 1000)
        return;
    h->last_stall_check_ms = now;
    for (size_t i = 0; i < h->feeds.nb; i++)
        for (hnode_t *x = h->feeds.b[i]; x; x = x->hnext)
            for (watcher_t *w = ((feed_t *)x)->list; w; w = w->next)
                if (stalled(h, w, now))
                    too_slow(h, w, why);
    for (watcher_t *w = h->multi; w; w = w->next)
        if (stalled(h, w, now))
            too_slow(h, w, why);
}

typedef struct catchup {
    feed_t *feed;
    watcher_t *w;
    int64_t pos;
} catchup_t;

static int catchup_cmp(const void *x, const void *y)
{
    const catchup_t *a = x, *b = y;
    int c;
    if (a->feed != b->feed)
        return (uintptr_t)a->feed < (uintptr_t)b->feed ? -1 : 1;
    if (a->feed)
        return a->pos < b->pos ? -1 : a->pos > b->pos;
    c = strcmp(a->w->filter, b->w->filter);
    return c ? c : cursor_cmp(a->w->cursor, b->w->cursor);
}

/* Waits, when the last pass started less than read_interval_ms ago, for the rest of that
 * interval. Under load a NOTIFY comes with every commit (a thousand a second and more), and
 * each pass costs a database round trip and a statement: this way the NOTIFYs of a burst
 * share one read, and a lone event, whose last pass is long past, is read at once. A
 * watcher waits at most the interval more (default 5 ms, docs/ARCHITECTURE.md). Hub lock. */
static void pace(struct srv_watch *h)
{
    int64_t due = h->last_pass_ms + h->read_interval_ms, now = orch_now_ms();
    struct timespec until;

    if (h->read_interval_ms <= 0 || now >= due)
        return;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)(due - now) * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    while (!h->stop && pthread_cond_timedwait(&h->cv, &h->mu, &until) == 0)
        ;
}

/* Waits for work (a wake-up, paced), or a second: true when the second passed with none.
 * Hub lock. */
static bool hub_wait(struct srv_watch *h)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    while (!h->wake && !h->stop)
        if (pthread_cond_timedwait(&h->cv, &h->mu, &until) != 0)
            return true;
    pace(h);
    return false;
}

static void *hub_main(void *arg)
{
    struct srv_watch *h = arg;
    for (;;) {
        feed_t **feeds = NULL;
        int64_t *after = NULL;
        size_t nfeeds = 0, ncu = 0, cap = 0;
        catchup_t *cu = NULL;
        bool global = false;
        cursor_t gfrom = {0, 0};
        bool timed_out = false;

        pthread_mutex_lock(&h->mu);
        timed_out = hub_wait(h);
        if (h->stop) {
            pthread_mutex_unlock(&h->mu);
            break;
        }
        h->wake = false;
        h->last_pass_ms = orch_now_ms();
        stall_check(h);
        /* Take the work: the feeds to read, the shared read, the streams to catch up. */
        for (feed_t *f = h->dirty; f; f = f->dnext)
            cap++;
        feeds = orch_calloc(cap + 1, sizeof(*feeds));
        after = orch_calloc(cap + 1, sizeof(*after));
        for (feed_t *f = h->dirty, *next; f; f = next) {
            next = f->dnext;
            f->dirty = false;
            if (f->n == 0) {
                feed_maybe_free(h, f);
                continue;
            }
            f->busy++;
            feeds[nfeeds] = f;
            after[nfeeds++] = f->head;
        }
        h->dirty = NULL;
        /* The shared read stops below the oldest transaction in flight (pg_snapshot_xmin):
         * events committed behind one that was still open when it last read are read by a
         * later pass. That transaction may end without a NOTIFY of its own (a claim, a
         * subscription save), so a quiet second reads again: the one-second fallback. */
        if ((h->gdirty || timed_out) && h->nmulti > 0) {
            global = true;
            gfrom = h->ghead;
        }
        h->gdirty = false;
        cap = 0;
        for (watcher_t *w = h->ready; w; w = w->rnext)
            cap++;
        cu = orch_calloc(cap + 1, sizeof(*cu));
        for (watcher_t *w = h->ready, *next; w; w = next) {
            next = w->rnext;
            w->ready = false;
            if (w->closed) {
                watcher_release(w);
                continue;
            }
            if (w->done || w->queued_since_ms)
                continue;
            if (w->single ? !single_behind(w) : !multi_behind(h, w))
                continue;
            if (w->single) {
                cu[ncu].feed = w->feed;
                cu[ncu].pos = w->last_seq;
            } else {
                w->busy++;
            }
            cu[ncu++].w = w;
        }
        h->ready = NULL;
        qsort(cu, ncu, sizeof(*cu), catchup_cmp);
        /* One read per feed position (single) or per filter and cursor (multi). */
        {
            size_t o = 0;
            for (size_t i = 0; i < ncu; i++) {
                if (o > 0 && catchup_cmp(&cu[o - 1], &cu[i]) == 0 && cu[i].feed)
                    continue;
                if (cu[i].feed)
                    cu[i].feed->busy++;
                cu[o++] = cu[i];
            }
            ncu = o;
        }
        pthread_mutex_unlock(&h->mu);

        for (size_t i = 0; i < nfeeds; i++)
            feed_read(h, feeds[i], after[i], "feed");
        if (global)
            multi_read(h, gfrom);
        for (size_t i = 0; i < ncu;) {
            if (cu[i].feed) {
                feed_read(h, cu[i].feed, cu[i].pos, "catch_up");
                i++;
            } else {
                watcher_t **ws = orch_calloc(ncu - i + 1, sizeof(*ws));
                size_t n = 0, j = i;
                cursor_t head;
                for (; j < ncu && !cu[j].feed && catchup_cmp(&cu[i], &cu[j]) == 0; j++)
                    ws[n++] = cu[j].w;
                pthread_mutex_lock(&h->mu);
                head = h->ghead;
                pthread_mutex_unlock(&h->mu);
                multi_catch_up(h, ws, n, head);
                free(ws);
                i = j;
            }
        }
        free(cu);
        free(feeds);
        free(after);
    }
    return NULL;
}

struct srv_watch *srv_watch_new(srv_app_t *app, const srv_watch_config_t *cfg)
{
    struct srv_watch *h = orch_calloc(1, sizeof(*h));
    h->app = app;
    h->stall_ms = cfg->stall_ms > 0 ? cfg->stall_ms : WATCH_STALL_MS_DEFAULT;
    h->max_total = cfg->max_total > 0 ? cfg->max_total : WATCH_MAX_DEFAULT;
    h->max_per_client =
        cfg->max_per_client > 0 ? cfg->max_per_client : WATCH_MAX_PER_CLIENT_DEFAULT;
    h->backlog_events =
        cfg->backlog_events > 0 ? cfg->backlog_events : WATCH_BACKLOG_EVENTS_DEFAULT;
    h->backlog_bytes =
        cfg->backlog_bytes > 0 ? (size_t)cfg->backlog_bytes : WATCH_BACKLOG_BYTES_DEFAULT;
    h->read_interval_ms = cfg->read_interval_ms > 0 ? cfg->read_interval_ms : 0;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (pthread_create(&h->thread, NULL, hub_main, h) == 0) {
        h->started = true;
    } else {
        /* No hub, no events: the watch calls are refused (UNAVAILABLE), the rest serves. */
        orch_err("watch", "cannot start the watch hub thread: watch streams are refused");
        h->stop = true;
    }
    return h;
}

void srv_watch_stop(struct srv_watch *h)
{
    bool join;
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    join = !h->stop && h->started;
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
    orch_assert(h->count == 0); /* every stream closed before the server stopped */
    for (watcher_t *w = h->ready, *next; w; w = next) {
        next = w->rnext;
        w->ready = false;
        watcher_release(w); /* closed while waiting for a catch-up that never ran */
    }
    /* Feeds left only by reads that never ran (the hub stopped first). */
    for (size_t i = 0; i < h->feeds.nb; i++)
        for (hnode_t *x = h->feeds.b[i], *next; x; x = next) {
            next = x->hnext;
            free(x);
        }
    free(h->feeds.b);
    free(h->clients.b);
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

static client_t *client_find(struct srv_watch *h, const char *name)
{
    if (!h->clients.nb)
        return NULL;
    for (hnode_t *x = h->clients.b[hash_str(name, false) & (h->clients.nb - 1)]; x; x = x->hnext)
        if (strcmp(((client_t *)x)->name, name) == 0)
            return (client_t *)x;
    return NULL;
}

/* Registers w (taken) for call; feed_id: the process or subscription of a single stream. */
static orch_err_t add_watcher(srv_call_t *call, watcher_t *w, const char *feed_id,
                              orch_error_t *err)
{
    srv_app_t *app = srv_call_app(call);
    struct srv_watch *h = app->watch;
    char name[192];
    client_t *c;

    client_of(call, name, sizeof(name));
    pthread_mutex_lock(&h->mu);
    if (!h->started) {
        pthread_mutex_unlock(&h->mu);
        watcher_free(w);
        return orch_error_set(err, ORCH_UNAVAILABLE, "WATCH_UNAVAILABLE",
                              "this replica serves no watch streams now; retry elsewhere");
    }
    c = client_find(h, name);
    if (h->count >= h->max_total || (c && c->n >= h->max_per_client)) {
        bool all = h->count >= h->max_total;
        int max = all ? h->max_total : h->max_per_client;
        pthread_mutex_unlock(&h->mu);
        watcher_free(w);
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
    if (!c) {
        c = orch_calloc(1, sizeof(*c) + strlen(name) + 1);
        strcpy(c->name, name);
        htab_add(&h->clients, &c->h, client_hash);
    }
    c->n++;
    w->client = c;
    w->call = call;
    srv_call_ref(call);
    srv_call_set_data(call, w);
    if (w->single) {
        feed_t *f = feed_find(h, feed_id, w->subscription);
        if (!f) {
            f = orch_calloc(1, sizeof(*f));
            snprintf(f->id, sizeof(f->id), "%s", feed_id);
            f->subscription = w->subscription;
            f->head = w->last_seq;
            htab_add(&h->feeds, &f->h, feed_hash);
            /* Events may have committed between the snapshot and now, their NOTIFY gone
             * (nobody watched). A feed that existed took every NOTIFY: a watcher behind
             * its head catches up (below), one ahead waits for the next NOTIFY. */
            feed_mark(h, f);
        }
        w->feed = f;
        w->next = f->list;
        if (f->list)
            f->list->prev = w;
        f->list = w;
        f->n++;
        if (!w->done && single_behind(w))
            ready_add(h, w);
    } else {
        if (h->nmulti == 0)
            h->ghead = w->cursor;
        w->next = h->multi;
        if (h->multi)
            h->multi->prev = w;
        h->multi = w;
        h->nmulti++;
        h->gdirty = true;
        if (multi_behind(h, w))
            ready_add(h, w);
    }
    h->count++;
    h->wake = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return ORCH_OK;
}

/* The start of a watch of one process or one subscription (WatchProcess,
 * WatchSubscription): both take an id and an after_sequence that is 0 (begin with a
 * snapshot at the last event) or a sequence of that stream seen before. The rules are
 * written once so that a client meets the same answers on either stream. */
static orch_err_t single_args_check(const char *id, const char *id_field, int64_t after,
                                    orch_error_t *err)
{
    orch_err_t rc = orch_uuid_check(id, id_field, err);
    if (rc)
        return rc;
    if (after < 0)
        return orch_error_invalid(err, "after_sequence", "must be 0 or a sequence seen before");
    return ORCH_OK;
}

/* A watcher of one stream ("process", "subscription": what the refusal names) whose last
 * event is seq, starting after after (0: at seq); INVALID_ARGUMENT when after is past seq.
 * *out: the caller's until add_watcher takes it. */
static orch_err_t single_watcher_new(const char *what, int64_t after, int64_t seq, watcher_t **out,
                                     orch_error_t *err)
{
    *out = NULL;
    if (after > seq)
        return orch_error_invalid(err, "after_sequence",
                                  "%lld is past the last event of this %s (%lld)", (long long)after,
                                  what, (long long)seq);
    *out = orch_calloc(1, sizeof(**out));
    (*out)->single = true;
    (*out)->last_seq = (*out)->start_seq = after ? after : seq;
    return ORCH_OK;
}

static orch_err_t watch_process_start(srv_call_t *call, const ProtobufCMessage *reqm,
                                      orch_error_t *err)
{
    const Orchestrator__V1__WatchProcessRequest *req = (const void *)reqm;
    orch_uc_t uc = srv_uc(call);
    watcher_t *w;
    orch_process_t *p = NULL;
    int64_t seq = 0;
    orch_err_t rc;

    rc = single_args_check(req->process_id, "process_id", req->after_sequence, err);
    if (rc)
        return rc;
    /* The snapshot and its sequence come from one consistent read. */
    rc = orch_uc_process_snapshot(&uc, srv_call_ctx(call), req->process_id, &seq, &p, err);
    if (rc)
        goto out;
    rc = single_watcher_new("process", req->after_sequence, seq, &w, err);
    if (rc)
        goto out;
    if (req->after_sequence == 0) {
        /* Built in an arena of its own and packed at once: the call's arena would keep the
         * ~1 KiB message for as long as the watcher stays. */
        orch_arena_t *scratch = orch_arena_new();
        Orchestrator__V1__ProcessEvent ev = ORCHESTRATOR__V1__PROCESS_EVENT__INIT;
        Orchestrator__V1__ProcessSnapshot snap = ORCHESTRATOR__V1__PROCESS_SNAPSHOT__INIT;
        snap.process = srv_process_basic_pb(scratch, p);
        ev.kind = ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_SNAPSHOT;
        /* The snapshot is as of the process's last change (PostgreSQL's clock). */
        ev.event_time = srv_codec_timestamp(scratch, p->update_us);
        ev.process_id = (char *)req->process_id;
        ev.sequence = seq;
        ev.cursor = "";
        ev.payload_case = ORCHESTRATOR__V1__PROCESS_EVENT__PAYLOAD_SNAPSHOT;
        ev.snapshot = &snap;
        w->queued_since_ms = orch_now_ms();
        srv_stream_send(call, &ev.base);
        orch_arena_free(scratch);
    }
    /* A finished process with nothing after the point asked for: the stream is complete. */
    if ((strcmp(p->status, "completed") == 0 || strcmp(p->status, "aborted") == 0) &&
        w->last_seq >= seq) {
        srv_stream_finish(call, NULL);
        w->done = true;
    }
    rc = add_watcher(call, w, req->process_id, err);
out:
    orch_process_free(p);
    return rc;
}

static orch_err_t watch_processes_start(srv_call_t *call, const ProtobufCMessage *reqm,
                                        orch_error_t *err)
{
    const Orchestrator__V1__WatchProcessesRequest *req = (const void *)reqm;
    orch_uc_t uc = srv_uc(call);
    orch_event_t *evs = NULL;
    orch_event_filter_t *match = NULL;
    size_t n = 0;
    watcher_t *w;
    char cursor[64];
    orch_err_t rc;

    /* A first read with limit 0 checks the filter and cursor and fixes the starting point. */
    rc = orch_uc_events_global(&uc, srv_call_ctx(call), req->filter, req->after_cursor, 0, &evs, &n,
                               cursor, err);
    orch_events_free(evs, n);
    if (!rc)
        rc = orch_event_filter_new(req->filter, &match, err);
    if (rc)
        return rc;
    w = orch_calloc(1, sizeof(*w));
    w->filter = orch_strdup(req->filter ? req->filter : "");
    w->match = match;
    if (!cursor_parse(req->after_cursor && *req->after_cursor ? req->after_cursor : cursor,
                      &w->cursor))
        cursor_parse(cursor, &w->cursor);
    w->start_cursor = w->cursor;
    return add_watcher(call, w, NULL, err);
}

static orch_err_t watch_subscription_start(srv_call_t *call, const ProtobufCMessage *reqm,
                                           orch_error_t *err)
{
    const Orchestrator__V1__WatchSubscriptionRequest *req = (const void *)reqm;
    orch_uc_t uc = srv_uc(call);
    orch_subscription_t *sub = NULL;
    int64_t seq = 0;
    watcher_t *w;
    orch_err_t rc;

    rc = single_args_check(req->subscription_id, "subscription_id", req->after_sequence, err);
    if (rc)
        return rc;
    rc = orch_uc_subscription_snapshot(&uc, srv_call_ctx(call), req->subscription_id,
                                       req->after_sequence == 0, &seq, &sub, err);
    if (rc)
        goto out;
    rc = single_watcher_new("subscription", req->after_sequence, seq, &w, err);
    if (rc)
        goto out;
    w->subscription = true;
    if (sub) {
        /* As WatchProcess's snapshot: packed at once, its arena freed after. */
        orch_arena_t *scratch = orch_arena_new();
        Orchestrator__V1__SubscriptionEvent ev = ORCHESTRATOR__V1__SUBSCRIPTION_EVENT__INIT;
        ev.kind = ORCHESTRATOR__V1__SUBSCRIPTION_EVENT_KIND__SUBSCRIPTION_EVENT_KIND_SNAPSHOT;
        ev.event_time = srv_codec_timestamp(scratch, sub->update_time_us);
        ev.subscription_id = (char *)req->subscription_id;
        ev.sequence = seq;
        ev.version = sub->version;
        ev.payload_case = ORCHESTRATOR__V1__SUBSCRIPTION_EVENT__PAYLOAD_SNAPSHOT;
        ev.snapshot = srv_subscription_to_pb(scratch, sub, true);
        w->queued_since_ms = orch_now_ms();
        srv_stream_send(call, &ev.base);
        orch_arena_free(scratch);
    }
    rc = add_watcher(call, w, req->subscription_id, err);
out:
    orch_subscription_free(sub);
    return rc;
}

/* The send queue is empty: a stream behind its feed catches up (lazily, so a slow reader
 * of history never makes the server buffer it). */
static void watch_drained(srv_call_t *call)
{
    srv_app_t *app = srv_call_app(call);
    struct srv_watch *h = app->watch;
    watcher_t *w;

    pthread_mutex_lock(&h->mu);
    w = srv_call_data(call);
    /* The hub may have queued to w between the queue emptying and this callback taking the
     * hub lock (the hub queues under it): then w is not drained, and "queued since" stays
     * (the stall check and the catch-up must not see an empty queue). */
    if (w && !w->closed && srv_stream_pending(call) == 0) {
        w->queued_since_ms = 0;
        if (!w->done && (w->single ? single_behind(w) : multi_behind(h, w))) {
            ready_add(h, w);
            pthread_cond_signal(&h->cv);
        }
    }
    pthread_mutex_unlock(&h->mu);
}

static void watch_closed(srv_call_t *call)
{
    srv_app_t *app = srv_call_app(call);
    struct srv_watch *h = app->watch;
    watcher_t *w;

    pthread_mutex_lock(&h->mu);
    w = srv_call_data(call);
    srv_call_set_data(call, NULL);
    if (w->next)
        w->next->prev = w->prev;
    if (w->single) {
        feed_t *f = w->feed;
        if (w->prev)
            w->prev->next = w->next;
        else
            f->list = w->next;
        f->n--;
        feed_maybe_free(h, f);
        w->feed = NULL;
    } else {
        if (w->prev)
            w->prev->next = w->next;
        else
            h->multi = w->next;
        h->nmulti--;
    }
    if (--w->client->n == 0) {
        htab_del(&h->clients, &w->client->h, client_hash);
        free(w->client);
    }
    w->client = NULL;
    h->count--;
    w->closed = true;
    watcher_release(w);
    pthread_mutex_unlock(&h->mu);
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
