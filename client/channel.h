/* A connection to an orchestrator server and one blocking unary call over it, on the gRPC
 * core API, with the server's rich error details (google.rpc.Status) decoded for the caller.
 * orchctl and the integration tests use it. */
#ifndef CLI_CHANNEL_H
#define CLI_CHANNEL_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

/* A channel to one server. Opaque; thread-safe: any number of threads may run calls on one
 * channel at once. */
typedef struct cli_channel cli_channel_t;

typedef struct cli_channel_opts {
    const char *token; /* if non-NULL, sent as "authorization: Bearer <token>" metadata */
    /* TLS: the channel uses TLS when tls is true or any file below is set. Files are PEM and
     * read by cli_channel_new. */
    bool tls;
    const char *tls_ca_file;     /* CA bundle to verify the server (NULL: the system roots) */
    const char *tls_cert_file;   /* client certificate chain, for mutual TLS (with key) */
    const char *tls_key_file;    /* client private key */
    const char *tls_server_name; /* expected name in the server certificate, if not the
                                    target's host (tests: "localhost") */
} cli_channel_opts_t;

/* Creates a channel to target ("127.0.0.1:50051", "localhost:50051", "unix:/path"),
 * plaintext unless opts asks for TLS; opts may be NULL, and is copied. Calls grpc_init()
 * (which is refcounted). Connection happens lazily on the first call, so this does not fail
 * on an unreachable server (a failed TLS handshake shows as UNAVAILABLE on the call);
 * returns NULL if target is NULL or empty, or if a TLS file cannot be read (see
 * cli_channel_new_ex for the reason). Caller frees with cli_channel_free. */
cli_channel_t *cli_channel_new(const char *target, const cli_channel_opts_t *opts);

/* Same, and on failure writes a sentence naming the cause into errbuf (errlen bytes). */
cli_channel_t *cli_channel_new_ex(const char *target, const cli_channel_opts_t *opts, char *errbuf,
                                  size_t errlen);

/* Frees the channel and calls grpc_shutdown(). NULL does nothing. No call may be running on
 * the channel. */
void cli_channel_free(cli_channel_t *ch);

/* One google.rpc.BadRequest.FieldViolation. */
typedef struct cli_violation {
    char *field;
    char *description;
} cli_violation_t;

/* The outcome of a call. All strings are owned by the struct and freed by
 * cli_status_cleanup. */
typedef struct cli_status {
    int code;      /* grpc_status_code; 0 = OK */
    char *message; /* status message (may be ""; never NULL after a call) */
    char *reason;  /* google.rpc.ErrorInfo.reason from grpc-status-details-bin, or NULL */
    char *domain;  /* ErrorInfo.domain or NULL */
    cli_violation_t *violations; /* google.rpc.BadRequest field violations, all of them */
    size_t nviolations;
    long long retry_delay_ms; /* google.rpc.RetryInfo, -1 if absent */
    /* ErrorInfo.metadata as "key=value" lines (a watcher's resume_after_sequence or
     * resume_after_cursor), or NULL when it had none. */
    char *metadata;
} cli_status_t;

/* Frees the members and leaves the struct zeroed (retry_delay_ms = -1). Safe on a zeroed
 * struct and safe to call twice. */
void cli_status_cleanup(cli_status_t *st);

/* The canonical name of a grpc_status_code ("NOT_FOUND"), or "UNKNOWN_CODE" for a value
 * out of range. Static string. */
const char *cli_status_code_name(int code);

/* One unary call. method is the full path, e.g. "/orchestrator.v1.ProductService/ListProducts".
 * Returns st->code. On OK, *resp is the unpacked response (caller frees with
 * protobuf_c_message_free_unpacked(*resp, NULL)); otherwise *resp is NULL. A response that
 * does not decode gives code 13 (INTERNAL) with a message. timeout_ms <= 0 means 30 s.
 *
 * *resp and *st are overwritten on entry, not freed: st must be zeroed or cleaned up (with
 * cli_status_cleanup) before it is passed again, or its old strings leak. Transport failures
 * come back as a status too (UNAVAILABLE for an unreachable server, DEADLINE_EXCEEDED). */
int cli_call_unary(cli_channel_t *ch, const char *method, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                   ProtobufCMessage **resp, cli_status_t *st);

/* Same, but sends raw request bytes as given (for tests sending malformed payloads).
 * req_bytes may be NULL when req_len is 0 (an empty message). */
int cli_call_unary_raw(cli_channel_t *ch, const char *method, const void *req_bytes, size_t req_len,
                       const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                       ProtobufCMessage **resp, cli_status_t *st);

/* A server-streaming call: open sends the request; next receives one message at a time;
 * close ends the call (cancelling it if the server has not finished) and reports the final
 * status. One thread per stream. */
typedef struct cli_stream cli_stream_t;

/* timeout_ms <= 0: no deadline. Never NULL. */
cli_stream_t *cli_stream_open(cli_channel_t *ch, const char *method, const ProtobufCMessage *req,
                              int timeout_ms);
/* 1: *msg received (caller frees with protobuf_c_message_free_unpacked); 0: the stream
 * ended (see cli_stream_close for its status); -1: nothing within wait_ms (the stream stays
 * usable). */
int cli_stream_next(cli_stream_t *s, const ProtobufCMessageDescriptor *desc, int wait_ms,
                    ProtobufCMessage **msg);
/* Ends the stream (cancels it when still open) and fills st with the final status. */
void cli_stream_close(cli_stream_t *s, cli_status_t *st);

#endif
