/* The completion-queue loop and the per-call state machine.
 *
 * Tags: every tag handed to the core points at a tag_t whose kind says what completed.
 *
 * Two sets of threads. Unary calls come through one completion queue that every unary
 * thread waits on: a call goes to whichever thread is free, so a handler that waits for
 * the database (a row lock, say) delays no other call. Their slots are posted again after
 * the handler answers (slot_fired). Streaming and generic calls come through one queue per
 * stream thread, their slots posted again before the handler runs, and each such call is
 * only ever touched by the thread of its queue (and, for sends, by threads that hold its mu).
 *
 * A call object lives until its batches (RECV_CLOSE_ON_SERVER and the sends) have
 * completed. On the shared queue a unary call's close can complete on another thread while
 * its handler still runs: the handler then finishes the close when it returns (phase). */
#include "server/rpc/server.h"

#include <grpc/byte_buffer.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/metrics.h"
#include "server/rpc/codec.h"
#include "server/rpc/status.h"

typedef enum { TAG_SLOT, TAG_GENERIC, TAG_CALL_OP, TAG_CALL_SEND, TAG_CALL_RECV } tag_kind_t;

typedef struct tag {
    tag_kind_t kind;
    void *owner;
} tag_t;

/* srv_call_t.phase: the handler runs (set from the start), the close completed. */
enum { PHASE_HANDLING = 1, PHASE_CLOSED = 2 };

typedef struct method_entry {
    srv_method_t m;
    char *path;
    const ProtobufCMethodDescriptor *md;
    const ProtobufCMessageDescriptor *input, *output;
    void *handle; /* from grpc_server_register_method */
} method_entry_t;

typedef struct worker worker_t;

/* A posted request for one registered method on one queue. */
typedef struct slot {
    tag_t tag;
    worker_t *w;
    const method_entry_t *me;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
} slot_t;

/* A posted request for any unregistered method. */
typedef struct gslot {
    tag_t tag;
    worker_t *w;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
} gslot_t;

/* Bytes packed once and shared among streams: every send wraps the same refcounted slice
 * in a byte buffer of its own, so a thousand watchers of one event hold one copy. */
struct srv_packed {
    grpc_slice slice;
    atomic_int refs;
    char label[64]; /* the sender's name for this message (a sequence, a cursor) */
};

typedef struct qmsg {
    grpc_byte_buffer *bb;
    srv_packed_t *packed; /* a reference, or NULL for a message packed for this call */
    size_t bytes;
    struct qmsg *next;
} qmsg_t;

/* Refs: the handler holds one while it runs, the RECV_CLOSE batch one, every send batch
 * one, the stream registry one, and a streaming handler one per srv_call_ref. */
struct srv_call {
    tag_t close_tag, send_tag, recv_tag;
    grpc_byte_buffer *recv_bb; /* client streaming: the message being received */
    atomic_int refs;
    pthread_mutex_t mu; /* guards the send side below */
    worker_t *w;
    srv_server_t *srv;
    const method_entry_t *me; /* NULL for a generic (unknown method) call */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    int cancelled;    /* written by the core when RECV_CLOSE completes */
    atomic_int over;  /* the call has ended (close completed) */
    atomic_int phase; /* PHASE_*: who finishes the close (call_close_done, call_handle) */
    atomic_int gone;  /* for orch_ctx_t: the client cancelled or the deadline passed */
    orch_ctx_t ctx;
    orch_arena_t *arena;
    void *data;
    const char *actor_kind, *actor_name;
    unsigned roles;
    const char *extra_roles; /* own role names, in the arena; NULL = none */
    int64_t start_ms;        /* for the latency histogram */
    /* A started stream's x-request-id, kept when its request metadata was let go (see
     * release_request); NULL: read it from md. */
    const char *kept_request_id;
    /* A unary answer already encoded (srv_call_respond_encoded), in the arena; NULL = none. */
    const void *encoded;
    size_t encoded_len;
    /* send side */
    qmsg_t *qhead, *qtail;
    size_t qlen, qbytes; /* queued and in flight */
    grpc_byte_buffer *inflight;
    srv_packed_t *inflight_packed;
    size_t inflight_bytes;
    size_t hinted_bytes; /* sent with the write-buffer hint since the last send without it */
    char last_label[64]; /* label of the last shared message whose send completed */
    /* when a message's send last completed: the reader took it (or, hinted, chttp2 did:
     * at most SRV_HINTED_MAX past the reader's window) */
    int64_t last_sent_ms;
    bool sending, md_sent, status_queued, status_sent, started_stream;
    /* NULL: OK. An orch_error_t is 6.8 KiB (its violations), so a call holds one only once it
     * ends with an error: ten thousand idle watch streams should not carry theirs. */
    orch_error_t *status;
    grpc_metadata *trailing; /* the rich-details trailer, allocated with an error status */
    size_t ntrailing;
    /* live-stream registry of the server (for drain) */
    struct srv_call *rnext, *rprev;
    bool registered;
};

struct worker {
    srv_server_t *srv;
    grpc_completion_queue *cq;
    pthread_t thread;
    bool running; /* thread started (and to be joined) */
    int index;
};

struct srv_server {
    srv_config_t cfg;
    char *listen;
    grpc_server *server;
    /* workers[0, nstream): a queue each (streams, generic calls); workers[nstream,
     * nworkers): the unary threads, all on unary_cq. */
    worker_t *workers;
    int nstream, nworkers;
    grpc_completion_queue *unary_cq;
    method_entry_t *methods;
    size_t nmethods, cap_methods;
    int port;
    bool started, ever_started;
    atomic_bool draining;
    atomic_int live_slots;
    pthread_mutex_t streams_mu;
    srv_call_t *streams; /* open streaming calls */
};

/* ---- call ------------------------------------------------------------------------- */

orch_arena_t *srv_call_arena(srv_call_t *call)
{
    return call->arena;
}

void *srv_call_app(srv_call_t *call)
{
    return call->srv->cfg.app;
}

srv_server_t *srv_call_server(srv_call_t *call)
{
    return call->srv;
}

void srv_call_respond_encoded(srv_call_t *call, const void *bytes, size_t len)
{
    call->encoded = bytes;
    call->encoded_len = len;
}

void srv_call_set_data(srv_call_t *call, void *data)
{
    call->data = data;
}

void *srv_call_data(srv_call_t *call)
{
    return call->data;
}

bool srv_call_is_over(srv_call_t *call)
{
    return atomic_load(&call->over) != 0;
}

int64_t srv_stream_last_sent_ms(srv_call_t *call)
{
    int64_t t;
    pthread_mutex_lock(&call->mu);
    t = call->last_sent_ms;
    pthread_mutex_unlock(&call->mu);
    return t;
}

size_t srv_stream_pending(srv_call_t *call)
{
    size_t n;
    pthread_mutex_lock(&call->mu);
    n = call->qlen + (call->inflight ? 1 : 0);
    pthread_mutex_unlock(&call->mu);
    return n;
}

const char *srv_call_metadata(srv_call_t *call, const char *key)
{
    for (size_t i = 0; i < call->md.count; i++) {
        const grpc_metadata *m = &call->md.metadata[i];
        if (GRPC_SLICE_LENGTH(m->key) == strlen(key) &&
            memcmp(GRPC_SLICE_START_PTR(m->key), key, strlen(key)) == 0)
            return orch_arena_strndup(call->arena, (const char *)GRPC_SLICE_START_PTR(m->value),
                                      GRPC_SLICE_LENGTH(m->value));
    }
    return NULL;
}

int64_t srv_call_remaining_ms(const srv_call_t *call)
{
    gpr_timespec now, d;
    if (gpr_time_cmp(call->deadline, gpr_inf_future(call->deadline.clock_type)) == 0)
        return INT64_MAX;
    d = gpr_convert_clock_type(call->deadline, GPR_CLOCK_MONOTONIC);
    now = gpr_now(GPR_CLOCK_MONOTONIC);
    return gpr_time_to_millis(gpr_time_sub(d, now));
}

const orch_ctx_t *srv_call_ctx(srv_call_t *call)
{
    return &call->ctx;
}

void srv_call_set_actor(srv_call_t *call, const char *kind, const char *name)
{
    call->actor_kind = orch_arena_strdup(call->arena, kind);
    call->actor_name = orch_arena_strdup(call->arena, name);
    call->ctx.actor = call->actor_name;
}

const char *srv_call_actor_kind(srv_call_t *call)
{
    return call->actor_kind ? call->actor_kind : "peer";
}

const char *srv_call_actor_name(srv_call_t *call)
{
    if (!call->actor_name) {
        char *peer = grpc_call_get_peer(call->call);
        srv_call_set_actor(call, "peer", peer ? peer : "unknown");
        gpr_free(peer);
    }
    return call->actor_name;
}

void srv_call_set_roles(srv_call_t *call, unsigned roles)
{
    call->roles = roles;
}

unsigned srv_call_roles(srv_call_t *call)
{
    return call->roles;
}

void srv_call_set_extra_roles(srv_call_t *call, const char *extra)
{
    call->extra_roles = orch_arena_strdup(call->arena, extra ? extra : "");
}

const char *srv_call_extra_roles(srv_call_t *call)
{
    return call->extra_roles ? call->extra_roles : "";
}

const char *srv_call_path(srv_call_t *call)
{
    return call->me ? call->me->path : "";
}

const ProtobufCMethodDescriptor *srv_call_method(srv_call_t *call)
{
    return call->me ? call->me->md : NULL;
}

unsigned srv_call_method_flags(srv_call_t *call)
{
    return call->me ? call->me->m.flags : 0;
}

const ProtobufCMessageDescriptor *srv_call_output(srv_call_t *call)
{
    return call->me ? call->me->output : NULL;
}

static srv_call_t *call_new(worker_t *w, const method_entry_t *me)
{
    srv_call_t *c = orch_calloc(1, sizeof(*c));
    c->close_tag.kind = TAG_CALL_OP;
    c->close_tag.owner = c;
    c->send_tag.kind = TAG_CALL_SEND;
    c->recv_tag.kind = TAG_CALL_RECV;
    c->recv_tag.owner = c;
    c->send_tag.owner = c;
    c->w = w;
    c->srv = w->srv;
    c->me = me;
    c->arena = orch_arena_new();
    c->start_ms = orch_now_ms();
    atomic_init(&c->refs, 1);
    atomic_init(&c->phase, PHASE_HANDLING);
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

/* After the request arrived: the deadline and cancellation the domain will see. */
static void call_init_ctx(srv_call_t *c)
{
    int64_t left = srv_call_remaining_ms(c);
    c->ctx.deadline_ms = left == INT64_MAX ? 0 : orch_now_ms() + (left > 0 ? left : 0);
    if (c->ctx.deadline_ms == 0 && left != INT64_MAX)
        c->ctx.deadline_ms = 1; /* already past */
    c->ctx.cancelled = &c->gone;
}

void srv_call_ref(srv_call_t *c)
{
    atomic_fetch_add(&c->refs, 1);
}

void srv_call_unref(srv_call_t *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    if (c->call)
        grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->md);
    if (c->payload)
        grpc_byte_buffer_destroy(c->payload);
    if (c->recv_bb)
        grpc_byte_buffer_destroy(c->recv_bb);
    free(c->status);
    if (c->inflight)
        grpc_byte_buffer_destroy(c->inflight);
    srv_packed_unref(c->inflight_packed);
    for (qmsg_t *q = c->qhead, *next; q; q = next) {
        next = q->next;
        grpc_byte_buffer_destroy(q->bb);
        srv_packed_unref(q->packed);
        free(q);
    }
    for (size_t i = 0; i < c->ntrailing; i++) {
        grpc_slice_unref(c->trailing[i].key);
        grpc_slice_unref(c->trailing[i].value);
    }
    free(c->trailing);
    pthread_mutex_destroy(&c->mu);
    orch_arena_free(c->arena);
    free(c);
}

/* Starts RECV_CLOSE_ON_SERVER: its completion tells us the call is over (and whether the
 * client cancelled it or its deadline passed). */
static void call_start_close(srv_call_t *c)
{
    grpc_op op = {0};
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->cancelled;
    srv_call_ref(c);
    if (grpc_call_start_batch(c->call, &op, 1, &c->close_tag, NULL) != GRPC_CALL_OK) {
        orch_err("rpc", "could not start RECV_CLOSE_ON_SERVER");
        atomic_store(&c->over, 1);
        srv_call_unref(c);
    }
}

/* The call's status becomes err (NULL: OK). c->mu, or before the call is shared. */
static void set_status(srv_call_t *c, const orch_error_t *err)
{
    if (!err || err->code == ORCH_OK) {
        free(c->status);
        c->status = NULL;
        return;
    }
    if (!c->status)
        c->status = orch_malloc(sizeof(*c->status));
    *c->status = *err;
}

static orch_err_t status_code(const srv_call_t *c)
{
    return c->status ? c->status->code : ORCH_OK;
}

/* Fills the status op (and the rich-details trailer) from c->status. */
static void status_op(srv_call_t *c, grpc_op *op, grpc_slice *details)
{
    grpc_status_code code = srv_status_code(status_code(c));
    if (code != GRPC_STATUS_OK) {
        if (!c->trailing)
            c->trailing = orch_calloc(1, sizeof(*c->trailing));
        c->trailing[0].key = grpc_slice_from_static_string("grpc-status-details-bin");
        c->trailing[0].value = srv_status_details(c->status);
        c->ntrailing = 1;
        *details = grpc_slice_from_copied_string(
            c->status->message[0] ? c->status->message : orch_strerror(c->status->code));
    } else {
        *details = grpc_empty_slice();
    }
    op->op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    op->data.send_status_from_server.status = code;
    op->data.send_status_from_server.status_details = details;
    op->data.send_status_from_server.trailing_metadata_count = c->ntrailing;
    op->data.send_status_from_server.trailing_metadata = c->trailing;
}

/* Bytes a stream may send with the write-buffer hint in a row (see pump_locked): several
 * events of a burst in one write, and no more than that past a stalled reader's window. */
#define SRV_HINTED_MAX 8192

/* With c->mu held and no send in flight: starts the next send (a queued message, else the
 * queued status). Returns true if the queue is empty and nothing was started. */
static bool pump_locked(srv_call_t *c)
{
    grpc_op ops[3];
    size_t n = 0;
    grpc_slice details = grpc_empty_slice();
    bool with_status = false;

    if (c->sending || c->status_sent)
        return false;
    memset(ops, 0, sizeof(ops));
    if (!c->md_sent) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->md_sent = true;
    }
    if (c->qhead) {
        qmsg_t *q = c->qhead;
        c->qhead = q->next;
        if (!c->qhead)
            c->qtail = NULL;
        c->qlen--;
        c->inflight = q->bb;
        c->inflight_packed = q->packed;
        c->inflight_bytes = q->bytes;
        free(q);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = c->inflight;
        /* A stream's backlog goes out in one write: with another message queued behind this
         * one, chttp2 may keep it buffered and complete the send at once; the last queued
         * message (or the status) carries no hint and writes them all. Never the hint on
         * the last one: nothing would flush it (GRPC-CORE-NOTES). 1,000 watchers:
         * sendmsg 90,283 -> 33,326 per 150,000 deliveries (bench/README.md, issue 19).
         * chttp2 completes a hinted send before the peer's flow-control window has room for
         * it, so a reader that stopped would take a whole burst into gRPC's buffers, beside
         * the queue the watch backlog bounds: at most SRV_HINTED_MAX bytes go hinted in a
         * row, then a message without the hint waits for the window. */
        if (c->qhead && !c->status_queued &&
            c->hinted_bytes + c->inflight_bytes <= SRV_HINTED_MAX) {
            ops[n].flags = GRPC_WRITE_BUFFER_HINT;
            c->hinted_bytes += c->inflight_bytes;
        } else {
            c->hinted_bytes = 0;
        }
        n++;
        /* The last message and the status can share a batch (a unary reply is one). */
        if (!c->qhead && c->status_queued) {
            status_op(c, &ops[n++], &details);
            c->status_sent = with_status = true;
        }
    } else if (c->status_queued) {
        status_op(c, &ops[n++], &details);
        c->status_sent = with_status = true;
    } else if (n == 0) {
        return true;
    }
    c->sending = true;
    srv_call_ref(c);
    if (grpc_call_start_batch(c->call, ops, n, &c->send_tag, NULL) != GRPC_CALL_OK) {
        orch_err("rpc", "could not start a send batch");
        c->sending = false;
        atomic_fetch_sub(&c->refs, 1); /* never the last: the caller holds one */
    }
    if (with_status)
        grpc_slice_unref(details);
    return false;
}

srv_packed_t *srv_packed_new(const ProtobufCMessage *msg, const char *label)
{
    srv_packed_t *p = orch_calloc(1, sizeof(*p));
    size_t n = protobuf_c_message_get_packed_size(msg);
    p->slice = grpc_slice_malloc(n);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(p->slice));
    atomic_init(&p->refs, 1);
    snprintf(p->label, sizeof(p->label), "%s", label ? label : "");
    return p;
}

void srv_packed_ref(srv_packed_t *p)
{
    atomic_fetch_add(&p->refs, 1);
}

void srv_packed_unref(srv_packed_t *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    grpc_slice_unref(p->slice);
    free(p);
}

size_t srv_packed_size(const srv_packed_t *p)
{
    return GRPC_SLICE_LENGTH(p->slice);
}

/* Queues q (taking it) unless the call is over or finishing. */
static int enqueue(srv_call_t *c, qmsg_t *q, size_t *queued_bytes)
{
    int len;
    pthread_mutex_lock(&c->mu);
    if (c->status_queued || atomic_load(&c->over)) {
        pthread_mutex_unlock(&c->mu);
        grpc_byte_buffer_destroy(q->bb);
        srv_packed_unref(q->packed);
        free(q);
        return -1;
    }
    if (c->qtail)
        c->qtail->next = q;
    else
        c->qhead = q;
    c->qtail = q;
    c->qbytes += q->bytes;
    len = (int)++c->qlen + (c->inflight ? 1 : 0);
    pump_locked(c);
    if (queued_bytes)
        *queued_bytes = c->qbytes;
    pthread_mutex_unlock(&c->mu);
    return len;
}

int srv_stream_send(srv_call_t *c, const ProtobufCMessage *msg)
{
    qmsg_t *q;

    if (atomic_load(&c->over))
        return -1;
    q = orch_calloc(1, sizeof(*q));
    q->bb = srv_codec_pack(msg);
    q->bytes = grpc_byte_buffer_length(q->bb);
    return enqueue(c, q, NULL);
}

int srv_stream_send_packed(srv_call_t *c, srv_packed_t *p, size_t *queued_bytes)
{
    qmsg_t *q;

    if (queued_bytes)
        *queued_bytes = 0;
    if (atomic_load(&c->over))
        return -1;
    q = orch_calloc(1, sizeof(*q));
    q->bb = grpc_raw_byte_buffer_create(&p->slice, 1); /* refs the slice, no copy */
    srv_packed_ref(p);
    q->packed = p;
    q->bytes = GRPC_SLICE_LENGTH(p->slice);
    return enqueue(c, q, queued_bytes);
}

void srv_stream_finish_now(srv_call_t *c, const orch_error_t *err, const char *fallback_label)
{
    pthread_mutex_lock(&c->mu);
    if (c->status_queued) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    /* What is in flight reaches the client before the status; the rest is dropped. */
    for (qmsg_t *q = c->qhead, *next; q; q = next) {
        next = q->next;
        c->qbytes -= q->bytes;
        grpc_byte_buffer_destroy(q->bb);
        srv_packed_unref(q->packed);
        free(q);
    }
    c->qhead = c->qtail = NULL;
    c->qlen = 0;
    set_status(c, err);
    if (c->status && c->status->meta_key[0]) {
        const char *last = c->inflight_packed && c->inflight_packed->label[0]
                               ? c->inflight_packed->label
                           : c->last_label[0] ? c->last_label
                                              : fallback_label;
        snprintf(c->status->meta_value, sizeof(c->status->meta_value), "%s", last ? last : "");
    }
    c->status_queued = true;
    pump_locked(c);
    pthread_mutex_unlock(&c->mu);
}

void srv_call_cancel(srv_call_t *c, const orch_error_t *err)
{
    char msg[600];
    pthread_mutex_lock(&c->mu);
    c->status_queued = c->status_sent = true; /* nothing more goes out through the queue */
    set_status(c, err);
    pthread_mutex_unlock(&c->mu);
    snprintf(msg, sizeof(msg), "%s: %s", err->reason[0] ? err->reason : orch_err_name(err->code),
             err->message);
    grpc_call_cancel_with_status(c->call, srv_status_code(err->code), msg, NULL);
}

void srv_stream_finish(srv_call_t *c, const orch_error_t *err)
{
    pthread_mutex_lock(&c->mu);
    if (!c->status_queued) {
        c->status_queued = true;
        set_status(c, err);
        pump_locked(c);
    }
    pthread_mutex_unlock(&c->mu);
}

static void registry_add(srv_call_t *c)
{
    srv_server_t *srv = c->srv;
    srv_call_ref(c);
    pthread_mutex_lock(&srv->streams_mu);
    c->rnext = srv->streams;
    if (srv->streams)
        srv->streams->rprev = c;
    srv->streams = c;
    c->registered = true;
    pthread_mutex_unlock(&srv->streams_mu);
}

static void registry_remove(srv_call_t *c)
{
    srv_server_t *srv = c->srv;
    bool was;
    pthread_mutex_lock(&srv->streams_mu);
    was = c->registered;
    if (was) {
        if (c->rprev)
            c->rprev->rnext = c->rnext;
        else
            srv->streams = c->rnext;
        if (c->rnext)
            c->rnext->rprev = c->rprev;
        c->registered = false;
    }
    pthread_mutex_unlock(&srv->streams_mu);
    if (was)
        srv_call_unref(c);
}

/* A send batch completed (on the call's worker thread). */
static void call_send_done(srv_call_t *c, bool ok)
{
    bool drained;
    pthread_mutex_lock(&c->mu);
    c->sending = false;
    if (c->inflight) {
        grpc_byte_buffer_destroy(c->inflight);
        c->inflight = NULL;
        c->qbytes -= c->inflight_bytes;
        c->inflight_bytes = 0;
        if (ok)
            c->last_sent_ms = orch_now_ms();
    }
    if (c->inflight_packed) {
        if (ok && c->inflight_packed->label[0])
            memcpy(c->last_label, c->inflight_packed->label, sizeof(c->last_label));
        srv_packed_unref(c->inflight_packed);
        c->inflight_packed = NULL;
    }
    if (!ok) {
        /* The call is broken (client gone): nothing more will be sent. */
        c->status_queued = c->status_sent = true;
    }
    drained = pump_locked(c);
    pthread_mutex_unlock(&c->mu);
    if (drained && c->started_stream && !atomic_load(&c->over) && c->me->m.stream->drained)
        c->me->m.stream->drained(c);
    srv_call_unref(c);
}

/* The caller's x-request-id (not the idempotency request_id), for log correlation. */
static const char *correlation_id(srv_call_t *c)
{
    const char *id = c->kept_request_id ? c->kept_request_id : srv_call_metadata(c, "x-request-id");
    return id ? id : "-";
}

/* A stream may stay open for hours (a watcher): once it started, its request's bytes (already
 * unpacked into the arena) and its metadata array go; the access log keeps x-request-id. */
static void release_request(srv_call_t *c)
{
    c->kept_request_id = correlation_id(c);
    grpc_metadata_array_destroy(&c->md);
    grpc_metadata_array_init(&c->md);
    if (c->payload) {
        grpc_byte_buffer_destroy(c->payload);
        c->payload = NULL;
    }
}

/* One count per finished call by method and status, and its duration; one access-log line
 * at debug level (info for failures the server caused). */
static void call_record(srv_call_t *c)
{
    char labels[300];
    const char *method = c->me ? c->me->path : "unknown";
    const char *code =
        c->cancelled && !c->status_sent ? "CANCELLED" : orch_err_name(status_code(c));
    snprintf(labels, sizeof(labels), "method=\"%s\",code=\"%s\"", method, code);
    orch_metrics_add("orch_rpc_total", labels, 1);
    snprintf(labels, sizeof(labels), "method=\"%s\"", method);
    orch_metrics_observe("orch_rpc_duration_seconds", labels,
                         (double)(orch_now_ms() - c->start_ms) / 1000.0);
    if (status_code(c) == ORCH_INTERNAL || status_code(c) == ORCH_UNAVAILABLE)
        orch_warn("rpc", "%s %s %lld ms correlation_id=%s: %s", method, code,
                  (long long)(orch_now_ms() - c->start_ms), correlation_id(c), c->status->message);
    else
        orch_debug("rpc", "%s %s %lld ms correlation_id=%s", method, code,
                   (long long)(orch_now_ms() - c->start_ms), correlation_id(c));
}

/* The call is over for good: its record, the stream's end, the close batch's reference. */
static void call_close_finish(srv_call_t *c)
{
    call_record(c);
    atomic_store(&c->over, 1);
    if (c->started_stream) {
        registry_remove(c);
        if (c->me->m.stream->closed)
            c->me->m.stream->closed(c);
    }
    srv_call_unref(c);
}

/* RECV_CLOSE completed. The handler sees the cancellation at once (ctx.cancelled); the rest
 * waits for the handler to return when it still runs (on another thread of the unary
 * queue), since it reads what the handler writes. */
static void call_close_done(srv_call_t *c)
{
    atomic_store(&c->gone, 1);
    if (atomic_fetch_or(&c->phase, PHASE_CLOSED) & PHASE_HANDLING)
        return;
    call_close_finish(c);
}

/* Unary: initial metadata, the response (if any) and the status in one batch. */
static void call_finish_unary(srv_call_t *c, const ProtobufCMessage *resp, const orch_error_t *err)
{
    pthread_mutex_lock(&c->mu);
    set_status(c, err);
    if ((resp || c->encoded) && !err) {
        qmsg_t *q = orch_calloc(1, sizeof(*q));
        if (resp) {
            q->bb = srv_codec_pack(resp);
        } else {
            grpc_slice s = grpc_slice_from_copied_buffer(c->encoded, c->encoded_len);
            q->bb = grpc_raw_byte_buffer_create(&s, 1);
            grpc_slice_unref(s);
        }
        c->qhead = c->qtail = q;
        c->qlen = 1;
    }
    c->status_queued = true;
    /* One batch: SEND_INITIAL_METADATA + SEND_MESSAGE, then the status after it. */
    pump_locked(c);
    pthread_mutex_unlock(&c->mu);
}

/* Client streaming: asks for the next request message. */
static void call_start_recv(srv_call_t *c)
{
    grpc_op op = {0};
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_bb;
    c->recv_bb = NULL;
    srv_call_ref(c);
    if (grpc_call_start_batch(c->call, &op, 1, &c->recv_tag, NULL) != GRPC_CALL_OK)
        srv_call_unref(c);
}

/* A request message arrived (or, with none, the client half-closed). */
static void call_recv_done(srv_call_t *c, bool ok)
{
    const srv_stream_ops_t *ops = c->me->m.stream;
    orch_error_t err;

    orch_error_init(&err);
    if (!ok || atomic_load(&c->over)) {
        srv_call_unref(c);
        return;
    }
    if (!c->recv_bb) {
        if (ops->half_close)
            ops->half_close(c);
        else
            srv_stream_finish(c, NULL);
    } else {
        orch_arena_t *a = orch_arena_new();
        ProtobufCAllocator alloc;
        ProtobufCMessage *msg = NULL;
        orch_err_t rc;
        srv_codec_arena_allocator(&alloc, a);
        rc = srv_codec_unpack(c->recv_bb, c->me->input, &alloc,
                              (size_t)c->srv->cfg.max_message_bytes, &msg, &err);
        grpc_byte_buffer_destroy(c->recv_bb);
        c->recv_bb = NULL;
        if (!rc)
            rc = ops->message(c, msg, &err);
        orch_arena_free(a);
        if (rc)
            srv_stream_finish(c, &err);
        else
            call_start_recv(c);
    }
    srv_call_unref(c);
}

static void call_handle(srv_call_t *c)
{
    const method_entry_t *me = c->me;
    ProtobufCAllocator alloc;
    ProtobufCMessage *req = NULL, *resp = NULL;
    orch_error_t err;
    orch_err_t rc;

    orch_error_init(&err);
    call_init_ctx(c);
    call_start_close(c);
    if (!me) {
        orch_error_set(&err, ORCH_UNIMPLEMENTED, "METHOD_NOT_FOUND",
                       "this server does not implement that method");
        call_finish_unary(c, NULL, &err);
        goto out;
    }
    /* Without authentication everyone holds every role. */
    c->roles = SRV_ROLE_READER | SRV_ROLE_OPERATOR | SRV_ROLE_ADMIN;
    c->extra_roles = NULL;
    if (c->srv->cfg.auth && !(me->m.flags & SRV_METHOD_PUBLIC)) {
        rc = c->srv->cfg.auth(c->srv->cfg.auth_data, c, me->m.flags, &err);
        if (rc) {
            orch_debug("rpc", "%s refused: %s", me->path, err.message);
            call_finish_unary(c, NULL, &err);
            goto out;
        }
    }
    srv_codec_arena_allocator(&alloc, c->arena);
    if (me->m.stream && me->m.stream->message)
        rc = ORCH_OK; /* requests arrive one by one after start */
    else
        rc = srv_codec_unpack(c->payload, me->input, &alloc, (size_t)c->srv->cfg.max_message_bytes,
                              &req, &err);
    if (!rc && atomic_load(&c->srv->draining) && !(me->m.flags & SRV_METHOD_PUBLIC)) {
        rc = orch_error_set(&err, ORCH_UNAVAILABLE, "SERVER_DRAINING",
                            "this server is shutting down; retry on another replica");
        err.retry_after_ms = 100;
    }
    if (!rc && me->m.stream) {
        registry_add(c);
        rc = me->m.stream->start(c, req, &err);
        if (rc) {
            registry_remove(c);
        } else {
            c->started_stream = true;
            release_request(c);
            /* Headers go out at once, so a client sees the stream open even before the
             * first message (a watcher of quiet processes). */
            pthread_mutex_lock(&c->mu);
            pump_locked(c);
            pthread_mutex_unlock(&c->mu);
            if (me->m.stream->message)
                call_start_recv(c);
            /* The close may already have completed on this thread's queue: it is handled
             * after we return, and will see started_stream. */
            goto out;
        }
    } else if (!rc) {
        rc = me->m.unary(c, req, &resp, &err);
    }
    if (rc) {
        if (!err.code)
            orch_error_set(&err, rc, NULL, "%s", orch_strerror(rc));
        orch_debug("rpc", "%s -> %s: %s", me->path, orch_err_name(err.code), err.message);
        call_finish_unary(c, NULL, &err);
    } else {
        orch_assert(resp != NULL || c->encoded != NULL);
        orch_assert(!resp || resp->descriptor == me->output);
        call_finish_unary(c, resp, NULL);
    }
out:
    if (atomic_fetch_and(&c->phase, ~PHASE_HANDLING) & PHASE_CLOSED)
        call_close_finish(c); /* the close completed while the handler ran */
    srv_call_unref(c);
}

/* ---- slots ------------------------------------------------------------------------ */

static bool slot_post(slot_t *s)
{
    grpc_call_error e;
    s->call = NULL;
    s->payload = NULL;
    grpc_metadata_array_init(&s->md);
    e = grpc_server_request_registered_call(s->w->srv->server, s->me->handle, &s->call,
                                            &s->deadline, &s->md, &s->payload, s->w->cq, s->w->cq,
                                            &s->tag);
    if (e != GRPC_CALL_OK) {
        if (!atomic_load(&s->w->srv->draining))
            orch_err("rpc", "cannot post a request slot for %s (grpc_call_error %d)", s->me->path,
                     (int)e);
        grpc_metadata_array_destroy(&s->md);
        return false;
    }
    return true;
}

static bool gslot_post(gslot_t *g)
{
    grpc_call_error e;
    g->call = NULL;
    grpc_call_details_init(&g->details);
    grpc_metadata_array_init(&g->md);
    e = grpc_server_request_call(g->w->srv->server, &g->call, &g->details, &g->md, g->w->cq,
                                 g->w->cq, &g->tag);
    if (e != GRPC_CALL_OK) {
        grpc_call_details_destroy(&g->details);
        grpc_metadata_array_destroy(&g->md);
        return false;
    }
    return true;
}

/* Posts s again for the next call of its method; frees it when the server drains. */
static void slot_repost(slot_t *s)
{
    srv_server_t *srv = s->w->srv;
    if (atomic_load(&srv->draining) || !slot_post(s)) {
        free(s);
        atomic_fetch_sub(&srv->live_slots, 1);
    }
}

static void slot_fired(slot_t *s, bool ok)
{
    srv_server_t *srv = s->w->srv;
    srv_call_t *c;
    bool stream;

    if (!ok) {
        /* The server is shutting down: the slot will not be used again. */
        grpc_metadata_array_destroy(&s->md);
        if (s->payload)
            grpc_byte_buffer_destroy(s->payload);
        if (s->call)
            grpc_call_unref(s->call);
        free(s);
        atomic_fetch_sub(&srv->live_slots, 1);
        return;
    }
    stream = s->me->m.stream != NULL;
    c = call_new(s->w, s->me);
    c->call = s->call;
    c->deadline = s->deadline;
    c->md = s->md;
    c->payload = s->payload;
    /* A stream's handler only starts it: its slot is posted again at once. A unary handler
     * holds this thread until it answers (the database), so its slot comes back only then:
     * the slots on the shared unary queue are as many as the threads free to take a call,
     * and gRPC keeps a call no slot is posted for until one is. (With a queue per thread,
     * gRPC offered every call of a connection to that connection's queue first: one channel's
     * calls, of every method, queued behind the one thread waiting for the database while
     * the others idled.) */
    if (stream)
        slot_repost(s);
    call_handle(c);
    if (!stream)
        slot_repost(s);
}

static void gslot_fired(gslot_t *g, bool ok)
{
    srv_server_t *srv = g->w->srv;
    srv_call_t *c;

    if (!ok) {
        grpc_call_details_destroy(&g->details);
        grpc_metadata_array_destroy(&g->md);
        if (g->call)
            grpc_call_unref(g->call);
        free(g);
        atomic_fetch_sub(&srv->live_slots, 1);
        return;
    }
    {
        /* A client-streaming method of ours, or an unknown one (UNIMPLEMENTED). */
        const method_entry_t *me = NULL;
        size_t len = GRPC_SLICE_LENGTH(g->details.method);
        for (size_t i = 0; i < srv->nmethods && !me; i++)
            if (!srv->methods[i].handle && strlen(srv->methods[i].path) == len &&
                memcmp(srv->methods[i].path, GRPC_SLICE_START_PTR(g->details.method), len) == 0)
                me = &srv->methods[i];
        c = call_new(g->w, me);
    }
    c->call = g->call;
    c->deadline = g->details.deadline;
    c->md = g->md;
    if (!c->me)
        orch_debug("rpc", "unknown method %.*s", (int)GRPC_SLICE_LENGTH(g->details.method),
                   (const char *)GRPC_SLICE_START_PTR(g->details.method));
    grpc_call_details_destroy(&g->details);
    if (atomic_load(&srv->draining) || !gslot_post(g)) {
        free(g);
        atomic_fetch_sub(&srv->live_slots, 1);
    }
    call_handle(c);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        tag_t *t;
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        t = ev.tag;
        switch (t->kind) {
        case TAG_SLOT:
            slot_fired((slot_t *)t, ev.success != 0);
            break;
        case TAG_GENERIC:
            gslot_fired((gslot_t *)t, ev.success != 0);
            break;
        case TAG_CALL_OP:
            call_close_done(t->owner);
            break;
        case TAG_CALL_SEND:
            call_send_done(t->owner, ev.success != 0);
            break;
        case TAG_CALL_RECV:
            call_recv_done(t->owner, ev.success != 0);
            break;
        }
    }
    return NULL;
}

/* ---- server ----------------------------------------------------------------------- */

/* Appends an integer channel argument to chargs (args has room for it). */
static void arg_int(grpc_channel_args *chargs, grpc_arg *args, char *key, int value)
{
    grpc_arg *a = &args[chargs->num_args++];
    a->type = GRPC_ARG_INTEGER;
    a->key = key;
    a->value.integer = value;
}

srv_server_t *srv_server_new(const srv_config_t *cfg)
{
    srv_server_t *srv = orch_calloc(1, sizeof(*srv));
    grpc_arg args[7];
    grpc_channel_args chargs;

    srv->cfg = *cfg;
    pthread_mutex_init(&srv->streams_mu, NULL);
    srv->listen = orch_strdup(cfg->listen);
    srv->cfg.listen = srv->listen;
    if (srv->cfg.threads < 1)
        srv->cfg.threads = 4;
    if (srv->cfg.slots_per_method < 1)
        srv->cfg.slots_per_method = 8;
    if (srv->cfg.max_message_bytes < 1024)
        srv->cfg.max_message_bytes = 4 * 1024 * 1024;
    chargs.num_args = 0;
    arg_int(&chargs, args, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, srv->cfg.max_message_bytes);
    arg_int(&chargs, args, GRPC_ARG_ALLOW_REUSEPORT, 0);
    /* Behind Envoy/Istio: keepalive pings and a maximum connection age let the mesh spread
     * long-lived HTTP/2 connections over new replicas. */
    if (srv->cfg.keepalive_time_ms > 0) {
        arg_int(&chargs, args, GRPC_ARG_KEEPALIVE_TIME_MS, srv->cfg.keepalive_time_ms);
        arg_int(&chargs, args, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    }
    if (srv->cfg.max_connection_age_ms > 0) {
        arg_int(&chargs, args, GRPC_ARG_MAX_CONNECTION_AGE_MS, srv->cfg.max_connection_age_ms);
        arg_int(&chargs, args, GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 30000);
    }
    /* A bound on one connection's open calls: a client cannot make the server hold more
     * than this many streams through one connection (the rest wait in the client). */
    if (srv->cfg.max_concurrent_streams > 0)
        arg_int(&chargs, args, GRPC_ARG_MAX_CONCURRENT_STREAMS, srv->cfg.max_concurrent_streams);
    chargs.args = args;
    srv->server = grpc_server_create(&chargs, NULL);
    /* Streams mostly wait; their threads start them and pump their sends: half as many. */
    srv->nstream = srv->cfg.threads > 1 ? (srv->cfg.threads + 1) / 2 : 1;
    srv->nworkers = srv->nstream + srv->cfg.threads;
    srv->workers = orch_calloc((size_t)srv->nworkers, sizeof(worker_t));
    srv->unary_cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(srv->server, srv->unary_cq, NULL);
    for (int i = 0; i < srv->nworkers; i++) {
        srv->workers[i].srv = srv;
        srv->workers[i].index = i;
        if (i < srv->nstream) {
            srv->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
            grpc_server_register_completion_queue(srv->server, srv->workers[i].cq, NULL);
        } else {
            srv->workers[i].cq = srv->unary_cq;
        }
    }
    return srv;
}

void srv_server_add_methods(srv_server_t *srv, const srv_method_t *methods)
{
    orch_assert(!srv->started);
    for (const srv_method_t *m = methods; m->name; m++) {
        const ProtobufCMethodDescriptor *md = NULL;
        method_entry_t *e;
        for (unsigned i = 0; i < m->service->n_methods; i++)
            if (strcmp(m->service->methods[i].name, m->name) == 0)
                md = &m->service->methods[i];
        orch_assert(md != NULL && (m->unary != NULL) != (m->stream != NULL));
        if (srv->nmethods == srv->cap_methods) {
            srv->cap_methods = srv->cap_methods ? srv->cap_methods * 2 : 16;
            srv->methods = orch_realloc(srv->methods, srv->cap_methods * sizeof(*srv->methods));
        }
        e = &srv->methods[srv->nmethods++];
        e->m = *m;
        e->path = orch_asprintf("/%s/%s", m->service->name, m->name);
        e->md = md;
        e->input = md->input;
        e->output = md->output;
        /* Client-streaming methods arrive through the generic slots, which read no payload
         * (the core's registered-method matching did not deliver GRPC_SRM_PAYLOAD_NONE
         * methods in 1.51); the others are registered and get their request with the call. */
        if (m->stream && m->stream->message) {
            e->handle = NULL;
        } else {
            e->handle = grpc_server_register_method(srv->server, e->path, NULL,
                                                    GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
            orch_assert(e->handle != NULL);
        }
    }
}

/* Posts n request slots of method me on w's queue. */
static void slots_add(worker_t *w, const method_entry_t *me, int n)
{
    for (int k = 0; k < n; k++) {
        slot_t *s = orch_calloc(1, sizeof(*s));
        s->tag.kind = TAG_SLOT;
        s->tag.owner = s;
        s->w = w;
        s->me = me;
        atomic_fetch_add(&w->srv->live_slots, 1);
        if (!slot_post(s)) {
            atomic_fetch_sub(&w->srv->live_slots, 1);
            free(s);
        }
    }
}

orch_err_t srv_server_start(srv_server_t *srv, orch_error_t *err)
{
    grpc_server_credentials *creds =
        srv->cfg.credentials ? srv->cfg.credentials : grpc_insecure_server_credentials_create();
    bool failed = false;

    srv->port = grpc_server_add_http2_port(srv->server, srv->listen, creds);
    if (!srv->cfg.credentials)
        grpc_server_credentials_release(creds);
    if (srv->port <= 0)
        return orch_error_set(err, ORCH_UNAVAILABLE, "LISTEN_FAILED",
                              "cannot listen on %s (address in use or invalid)", srv->listen);
    grpc_server_start(srv->server);
    srv->started = srv->ever_started = true;
    for (int i = 0; i < srv->nworkers; i++) {
        worker_t *w = &srv->workers[i];
        bool unary = i >= srv->nstream;
        for (size_t j = 0; j < srv->nmethods; j++) {
            /* Client-streaming methods are served through the generic slots. */
            if (srv->methods[j].handle && (srv->methods[j].m.stream == NULL) == unary)
                /* A unary method has one slot per unary thread (busy while its handler
                 * runs, slot_fired); a stream's slot is back before its next call can
                 * come. */
                slots_add(w, &srv->methods[j], unary ? 1 : srv->cfg.slots_per_method);
        }
        for (int k = 0; k < 2 && !unary; k++) {
            gslot_t *g = orch_calloc(1, sizeof(*g));
            g->tag.kind = TAG_GENERIC;
            g->tag.owner = g;
            g->w = w;
            atomic_fetch_add(&srv->live_slots, 1);
            if (!gslot_post(g)) {
                atomic_fetch_sub(&srv->live_slots, 1);
                free(g);
            }
        }
        w->running = pthread_create(&w->thread, NULL, worker_main, w) == 0;
        if (!w->running)
            failed = true;
    }
    if (failed) {
        /* The slots are posted and the port is open: shut down as after a drain (the
         * queues of the threads that did not start are served on this one meanwhile). */
        srv_server_shutdown(srv, 0);
        return orch_error_set(err, ORCH_INTERNAL, "THREAD_FAILED",
                              "cannot start the server threads for %s", srv->listen);
    }
    return ORCH_OK;
}

int srv_server_port(const srv_server_t *srv)
{
    return srv->port;
}

bool srv_server_draining(const srv_server_t *srv)
{
    return atomic_load(&srv->draining);
}

void srv_server_shutdown(srv_server_t *srv, int grace_ms)
{
    grpc_completion_queue *pluck;
    grpc_event ev;
    int tag_dummy;

    if (!srv->started || atomic_exchange(&srv->draining, true))
        return;
    /* Long streams would hold the drain for the whole grace: end them now, telling the
     * client to go elsewhere. */
    {
        orch_error_t err;
        orch_error_init(&err);
        orch_error_set(&err, ORCH_UNAVAILABLE, "SERVER_DRAINING",
                       "this server is shutting down; reconnect to another replica");
        err.retry_after_ms = 100;
        pthread_mutex_lock(&srv->streams_mu);
        for (srv_call_t *c = srv->streams; c; c = c->rnext)
            srv_stream_finish(c, &err);
        pthread_mutex_unlock(&srv->streams_mu);
    }
    pluck = grpc_completion_queue_create_for_pluck(NULL);
    grpc_server_shutdown_and_notify(srv->server, pluck, &tag_dummy);
    ev = grpc_completion_queue_pluck(
        pluck, &tag_dummy,
        gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(grace_ms, GPR_TIMESPAN)),
        NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) {
        orch_warn("rpc", "calls still running after %d ms grace: cancelling them", grace_ms);
        grpc_server_cancel_all_calls(srv->server);
        ev = grpc_completion_queue_pluck(pluck, &tag_dummy, gpr_inf_future(GPR_CLOCK_REALTIME),
                                         NULL);
    }
    grpc_completion_queue_shutdown(pluck);
    /* A pluck queue must be drained with pluck (next is for next-queues only). */
    while (grpc_completion_queue_pluck(pluck, &tag_dummy, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
               .type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(pluck);
    for (int i = 0; i < srv->nstream; i++)
        grpc_completion_queue_shutdown(srv->workers[i].cq);
    grpc_completion_queue_shutdown(srv->unary_cq);
    /* A thread that did not start has its queue drained here (the shared one returns
     * GRPC_QUEUE_SHUTDOWN at once once drained). */
    for (int i = 0; i < srv->nworkers; i++) {
        if (srv->workers[i].running)
            pthread_join(srv->workers[i].thread, NULL);
        else
            worker_main(&srv->workers[i]); /* no thread of its own: drained here */
        srv->workers[i].running = false;
    }
    srv->started = false;
}

void srv_server_free(srv_server_t *srv)
{
    if (!srv)
        return;
    orch_assert(!srv->started);
    if (!srv->ever_started) {
        /* The queues were registered but never served: shut them down and drain here. */
        for (int i = 0; i <= srv->nstream; i++) {
            grpc_completion_queue *cq = i < srv->nstream ? srv->workers[i].cq : srv->unary_cq;
            grpc_completion_queue_shutdown(cq);
            while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
                   GRPC_QUEUE_SHUTDOWN)
                ;
        }
    }
    grpc_server_destroy(srv->server);
    for (int i = 0; i < srv->nstream; i++)
        grpc_completion_queue_destroy(srv->workers[i].cq);
    grpc_completion_queue_destroy(srv->unary_cq);
    for (size_t i = 0; i < srv->nmethods; i++)
        free(srv->methods[i].path);
    if (atomic_load(&srv->live_slots) != 0)
        orch_warn("rpc", "%d request slots were not returned", atomic_load(&srv->live_slots));
    pthread_mutex_destroy(&srv->streams_mu);
    free(srv->methods);
    free(srv->workers);
    free(srv->listen);
    free(srv);
}
