/* The gRPC server on the C core: one completion queue and one thread per worker,
 * registered methods with pre-posted request slots, generic slots that answer
 * UNIMPLEMENTED, and a per-call state machine that decodes, runs the handler and encodes.
 *
 * Handlers run on the worker thread that received the call and may block (database calls),
 * which is why there are more workers than cores. Everything a handler allocates for the
 * call comes from the call's arena, freed when the call ends. */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/ctx.h"
#include "base/errors.h"

typedef struct srv_server srv_server_t;
typedef struct srv_call srv_call_t;

/* A unary handler: req is the decoded request (borrowed, in the call's arena). On success it
 * sets *resp to a message it built in the call's arena (srv_call_arena) and returns ORCH_OK;
 * otherwise it fills err and returns its code. A handler that holds the answer already
 * encoded calls srv_call_respond_encoded instead and leaves *resp NULL. */
typedef orch_err_t (*srv_unary_fn)(srv_call_t *call, const ProtobufCMessage *req,
                                   ProtobufCMessage **resp, orch_error_t *err);

/* Opens the definition of a unary handler fn_ (an srv_unary_fn) whose body reads the decoded
 * request typed, as `req` (a const req_type_ *): the signature and the cast that every
 * handler would otherwise write again. The body also has call, reqm (the request untyped,
 * for srv_ucall_init), respm and err, as in srv_unary_fn:
 *
 *     SRV_UNARY_HANDLER(get_process, Orchestrator__V1__GetProcessRequest)
 *     {
 *         ... req->process_id ...
 *     }
 */
#define SRV_UNARY_HANDLER(fn_, req_type_)                                                          \
    static orch_err_t fn_##_typed(srv_call_t *call, const req_type_ *req,                          \
                                  __attribute__((unused)) const ProtobufCMessage *reqm,            \
                                  ProtobufCMessage **respm, orch_error_t *err);                    \
    static orch_err_t fn_(srv_call_t *call, const ProtobufCMessage *reqm,                          \
                          ProtobufCMessage **respm, orch_error_t *err)                             \
    {                                                                                              \
        return fn_##_typed(call, (const req_type_ *)reqm, reqm, respm, err);                       \
    }                                                                                              \
    static orch_err_t fn_##_typed(srv_call_t *call, const req_type_ *req,                          \
                                  __attribute__((unused)) const ProtobufCMessage *reqm,            \
                                  ProtobufCMessage **respm, orch_error_t *err)

/* A server-streaming method. Messages are produced lazily: the handler sends what it has,
 * and is told through `drained` when the send queue is empty, so a slow reader never makes
 * the server buffer a whole stream. */
typedef struct srv_stream_ops {
    /* Called once, on the call's worker thread, with the decoded request. An error ends the
     * call with that status. Otherwise the handler may send at once, and may keep the call
     * (srv_call_ref) to send later from another thread. */
    orch_err_t (*start)(srv_call_t *call, const ProtobufCMessage *req, orch_error_t *err);
    /* The send queue became empty and the call is still open: produce more if there is
     * more. May be NULL. Runs on the call's worker thread. */
    void (*drained)(srv_call_t *call);
    /* The call is over (status sent, client cancelled, deadline passed or the server
     * drained): drop every reference to it that other threads hold. Called exactly once,
     * if start succeeded. */
    void (*closed)(srv_call_t *call);
    /* Client streaming (bidi): set for methods whose requests arrive as a stream. start
     * then gets req == NULL; message is called for each request, in order, on the call's
     * worker thread (msg lives until it returns); an error ends the call with it. When the
     * client half-closes, half_close is called (NULL: finish with OK). */
    orch_err_t (*message)(srv_call_t *call, const ProtobufCMessage *msg, orch_error_t *err);
    void (*half_close)(srv_call_t *call);
} srv_stream_ops_t;

/* Method flags. The role a method needs is one of the SRV_ROLE_* flags; a method with none
 * needs admin, so that a forgotten flag fails closed. */
enum {
    SRV_METHOD_PUBLIC = 1 << 0,   /* no authentication (health, reflection) */
    SRV_ROLE_READER = 1 << 1,     /* list, get, watch */
    SRV_ROLE_OPERATOR = 1 << 2,   /* start, resume, retry, abort workflows */
    SRV_ROLE_ADMIN = 1 << 3,      /* pause the engine, change products and schedules, ... */
    SRV_METHOD_CALLBACK = 1 << 4, /* authorised by a callback token in the request instead */
    SRV_ROLE_WORKER = 1 << 5,     /* step workers: receive tasks (state, maybe secrets), answer */
};

/* One row of a service's dispatch table: adding an RPC is one row plus its handler. */
typedef struct srv_method {
    const ProtobufCServiceDescriptor *service;
    const char *name;   /* method name as in the .proto, e.g. "ListProducts" */
    srv_unary_fn unary; /* exactly one of unary and stream */
    unsigned flags;
    const srv_stream_ops_t *stream;
} srv_method_t;

/* Authentication and authorisation, called for every method that is not SRV_METHOD_PUBLIC
 * before its request is decoded: returns UNAUTHENTICATED or PERMISSION_DENIED (with a
 * sentence naming the missing role) to refuse, and may record who calls with
 * srv_call_set_actor. NULL = everyone may call everything (authentication off). */
typedef orch_err_t (*srv_auth_fn)(void *auth_data, srv_call_t *call, unsigned method_flags,
                                  orch_error_t *err);

typedef struct srv_config {
    const char *listen;         /* "127.0.0.1:50051" */
    int threads;                /* threads for unary calls, on one shared queue; streams and
                                 * generic calls get (threads + 1) / 2 more, a queue each */
    int slots_per_method;       /* request slots per streaming method per stream queue (a
                                 * unary method has one per unary thread: slot_fired) */
    int max_message_bytes;      /* inbound message limit */
    int keepalive_time_ms;      /* HTTP/2 pings to idle clients; 0 = the core's default */
    int max_connection_age_ms;  /* close connections after this (re-balancing); 0 = never */
    int max_concurrent_streams; /* per connection (HTTP/2 SETTINGS); 0 = the core's default */
    void *app;                  /* handed to handlers through srv_call_app() */
    srv_auth_fn auth;           /* NULL: no authentication */
    void *auth_data;
    /* TLS: NULL = plaintext. Borrowed until srv_server_start returns (the core keeps its own
     * reference); the caller releases it. */
    struct grpc_server_credentials *credentials;
} srv_config_t;

/* Creates the server (not yet listening). cfg strings are copied. */
srv_server_t *srv_server_new(const srv_config_t *cfg);
/* Registers a table terminated by a row with name == NULL. Before srv_server_start only.
 * Aborts on a method that its service descriptor does not declare (a programming error). */
void srv_server_add_methods(srv_server_t *srv, const srv_method_t *methods);
/* Binds and starts the workers. UNAVAILABLE if the address cannot be bound. */
orch_err_t srv_server_start(srv_server_t *srv, orch_error_t *err);
/* The port actually bound (useful with port 0). */
int srv_server_port(const srv_server_t *srv);
/* Graceful drain: stop taking new calls, let calls in flight finish for up to grace_ms,
 * then cancel the rest, stop the workers. Idempotent. */
void srv_server_shutdown(srv_server_t *srv, int grace_ms);
bool srv_server_draining(const srv_server_t *srv);
void srv_server_free(srv_server_t *srv); /* after shutdown; NULL ok */

/* Call accessors for handlers. */
orch_arena_t *srv_call_arena(srv_call_t *call);
void *srv_call_app(srv_call_t *call);
srv_server_t *srv_call_server(srv_call_t *call);
/* Value of a request metadata key (lower-case), copied into the arena; NULL if absent. */
const char *srv_call_metadata(srv_call_t *call, const char *key);
/* Milliseconds until the client's deadline (INT64_MAX when none). */
int64_t srv_call_remaining_ms(const srv_call_t *call);
/* A context for the domain and the store: the call's deadline and cancellation. Borrowed
 * until the handler returns. */
const struct orch_ctx *srv_call_ctx(srv_call_t *call);

/* The method being served: its path ("/pkg.Service/Method"), and its descriptors. */
const char *srv_call_path(srv_call_t *call);
const ProtobufCMethodDescriptor *srv_call_method(srv_call_t *call);
/* The method's flags (SRV_ROLE_* and SRV_METHOD_*), 0 for an unknown method. */
unsigned srv_call_method_flags(srv_call_t *call);
const ProtobufCMessageDescriptor *srv_call_output(srv_call_t *call);

/* Who is calling: set by the auth hook ("user", "alice"), else the peer address with kind
 * "peer". Strings live in the call's arena. */
void srv_call_set_actor(srv_call_t *call, const char *kind, const char *name);
const char *srv_call_actor_kind(srv_call_t *call);
const char *srv_call_actor_name(srv_call_t *call);
/* The roles the caller holds (SRV_ROLE_* bits), as set by the auth hook; all when off. */
void srv_call_set_roles(srv_call_t *call, unsigned roles);
unsigned srv_call_roles(srv_call_t *call);
/* The caller's own role names ("noc,change_manager"; copied into the call's arena) as set
 * by the auth hook; "" when none or when authentication is off (then the caller is admin,
 * which holds every role). */
void srv_call_set_extra_roles(srv_call_t *call, const char *extra);
const char *srv_call_extra_roles(srv_call_t *call);

/* Thread-safe reference counting, for handlers that keep a streaming call. */
void srv_call_ref(srv_call_t *call);
void srv_call_unref(srv_call_t *call);
/* Per-call handler data (a streaming handler's state). */
void srv_call_set_data(srv_call_t *call, void *data);
/* A unary handler's answer as the encoded bytes of the method's output message (borrowed
 * until the handler returns: the arena is fine); the handler returns ORCH_OK, *resp NULL. */
void srv_call_respond_encoded(srv_call_t *call, const void *bytes, size_t len);
void *srv_call_data(srv_call_t *call);

/* Streaming, thread-safe. srv_stream_send packs msg at once (the caller keeps ownership)
 * and queues it; returns the queue length after queueing, or -1 when the call is over or
 * finishing. srv_stream_finish queues the final status (err NULL = OK) behind the
 * messages already queued; later sends are refused. */
int srv_stream_send(srv_call_t *call, const ProtobufCMessage *msg);
void srv_stream_finish(srv_call_t *call, const orch_error_t *err);

/* A message packed once and sent on many streams: the bytes are shared and
 * reference-counted, never copied per stream. label (may be NULL) names the message for
 * srv_stream_finish_now. _new returns one reference; the last _unref frees (NULL ok). */
typedef struct srv_packed srv_packed_t;
srv_packed_t *srv_packed_new(const ProtobufCMessage *msg, const char *label);
void srv_packed_ref(srv_packed_t *p);
void srv_packed_unref(srv_packed_t *p);
size_t srv_packed_size(const srv_packed_t *p);
/* Like srv_stream_send with shared bytes (takes its own reference to p). *queued_bytes
 * (may be NULL) gets the bytes queued and in flight after queueing. */
int srv_stream_send_packed(srv_call_t *call, srv_packed_t *p, size_t *queued_bytes);
/* Ends the stream now: drops the queued messages (the one in flight still arrives) and
 * sends err as the status. When err->meta_key is set, its value becomes the label of the
 * last shared message the client gets (in flight, else the last sent), else
 * fallback_label: where a client resumes without a gap or a repeat. */
void srv_stream_finish_now(srv_call_t *call, const orch_error_t *err, const char *fallback_label);
bool srv_call_is_over(srv_call_t *call);
/* Messages queued or in flight on a stream now (a `drained` callback may run after a new
 * send was queued: it checks). */
size_t srv_stream_pending(srv_call_t *call);
/* When a message's send on the stream last completed (orch_now_ms; 0: never): a reader that
 * takes its messages is not stalled, even if its queue never empties. */
int64_t srv_stream_last_sent_ms(srv_call_t *call);
/* Ends the call at once with err's code and message, dropping whatever is still queued
 * (a stream whose reader stopped reading). Thread-safe. */
void srv_call_cancel(srv_call_t *call, const orch_error_t *err);

#endif
