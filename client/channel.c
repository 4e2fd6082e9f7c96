/* The client side of one unary gRPC call on the core API: a pluck completion queue per call,
 * one batch with every op, and the google.rpc.Status details of a failed call decoded from
 * the grpc-status-details-bin trailer. */
#include "channel.h"

#include "base/alloc.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

#include <errno.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_DEFAULT_TIMEOUT_MS 30000

struct cli_channel {
    grpc_channel *channel;
    char *authorization; /* "Bearer <token>", or NULL */
};

/* A PEM file as a string (caller frees), or NULL with the reason in errbuf. */
static char *read_pem(const char *path, const char *what, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n = 0, got, cap = 1024 * 1024;

    if (!f) {
        snprintf(errbuf, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    buf = orch_malloc(cap + 1);
    while (n <= cap && (got = fread(buf + n, 1, cap + 1 - n, f)) > 0)
        n += got;
    fclose(f);
    if (n > cap || n == 0) {
        snprintf(errbuf, errlen, "%s %s is empty or larger than 1 MiB", what, path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* TLS channel credentials from opts, or NULL with the reason in errbuf. */
static grpc_channel_credentials *tls_credentials(const cli_channel_opts_t *opts, char *errbuf,
                                                 size_t errlen)
{
    char *ca = NULL, *cert = NULL, *key = NULL;
    grpc_ssl_pem_key_cert_pair pair;
    grpc_channel_credentials *creds = NULL;

    if (!opts->tls_cert_file != !opts->tls_key_file) {
        snprintf(errbuf, errlen, "a client certificate needs both its file and its key file");
        return NULL;
    }
    if (opts->tls_ca_file && !(ca = read_pem(opts->tls_ca_file, "TLS CA file", errbuf, errlen)))
        goto out;
    if (opts->tls_cert_file &&
        (!(cert = read_pem(opts->tls_cert_file, "TLS certificate", errbuf, errlen)) ||
         !(key = read_pem(opts->tls_key_file, "TLS key", errbuf, errlen))))
        goto out;
    pair.private_key = key;
    pair.cert_chain = cert;
    creds = grpc_ssl_credentials_create_ex(ca, cert ? &pair : NULL, NULL, NULL);
    if (!creds)
        snprintf(errbuf, errlen, "gRPC refused the TLS files");
out:
    free(ca);
    free(cert);
    free(key);
    return creds;
}

cli_channel_t *cli_channel_new_ex(const char *target, const cli_channel_opts_t *opts, char *errbuf,
                                  size_t errlen)
{
    grpc_channel_credentials *creds;
    grpc_arg argv[2];
    grpc_channel_args args = {0, argv};
    char dummy[8];

    if (!errbuf || errlen == 0) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    errbuf[0] = '\0';
    if (!target || !*target) {
        snprintf(errbuf, errlen, "no server address");
        return NULL;
    }
    grpc_init();
    if (opts && (opts->tls || opts->tls_ca_file || opts->tls_cert_file || opts->tls_key_file)) {
        creds = tls_credentials(opts, errbuf, errlen);
        if (!creds) {
            grpc_shutdown();
            return NULL;
        }
        if (opts->tls_server_name) {
            argv[args.num_args].type = GRPC_ARG_STRING;
            argv[args.num_args].key = GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
            argv[args.num_args].value.string = (char *)opts->tls_server_name;
            args.num_args++;
        }
    } else {
        creds = grpc_insecure_credentials_create();
    }
    /* One connection per channel: the core would otherwise share a connection between
     * channels to the same address, and a client that opens N channels (the load generator,
     * a test of one connection's limits) means N connections. */
    argv[args.num_args].type = GRPC_ARG_INTEGER;
    argv[args.num_args].key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
    argv[args.num_args].value.integer = 1;
    args.num_args++;
    cli_channel_t *ch = orch_calloc(1, sizeof(*ch));
    ch->channel = grpc_channel_create(target, creds, &args);
    grpc_channel_credentials_release(creds);
    if (opts && opts->token)
        ch->authorization = orch_asprintf("Bearer %s", opts->token);
    return ch;
}

cli_channel_t *cli_channel_new(const char *target, const cli_channel_opts_t *opts)
{
    return cli_channel_new_ex(target, opts, NULL, 0);
}

void cli_channel_free(cli_channel_t *ch)
{
    if (!ch)
        return;
    grpc_channel_destroy(ch->channel);
    free(ch->authorization);
    free(ch);
    grpc_shutdown();
}

const char *cli_status_code_name(int code)
{
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if (code < 0 || (size_t)code >= sizeof(names) / sizeof(names[0]))
        return "UNKNOWN_CODE";
    return names[code];
}

void cli_status_cleanup(cli_status_t *st)
{
    if (!st)
        return;
    free(st->message);
    free(st->reason);
    free(st->domain);
    free(st->metadata);
    for (size_t i = 0; i < st->nviolations; i++) {
        free(st->violations[i].field);
        free(st->violations[i].description);
    }
    free(st->violations);
    memset(st, 0, sizeof(*st));
    st->retry_delay_ms = -1;
}

static void status_set(cli_status_t *st, int code, const char *message)
{
    st->code = code;
    free(st->message);
    st->message = orch_strdup(message);
}

/* The part of an Any type_url after its last '/', e.g. "google.rpc.ErrorInfo". */
static const char *any_type_name(const char *type_url)
{
    const char *slash = type_url ? strrchr(type_url, '/') : NULL;
    return slash ? slash + 1 : (type_url ? type_url : "");
}

static void status_add_detail(cli_status_t *st, const Google__Protobuf__Any *any)
{
    const char *type = any_type_name(any->type_url);
    const uint8_t *data = any->value.data;
    size_t len = any->value.len;

    /* Details we cannot decode are skipped: they are extra information, and the status code
     * and message already say what happened. */
    if (strcmp(type, "google.rpc.ErrorInfo") == 0) {
        Google__Rpc__ErrorInfo *info = google__rpc__error_info__unpack(NULL, len, data);
        if (info && !st->reason) {
            st->reason = orch_strdup(info->reason);
            st->domain = orch_strdup(info->domain);
            for (size_t i = 0; i < info->n_metadata; i++) {
                char *line = orch_asprintf("%s%s=%s\n", st->metadata ? st->metadata : "",
                                           info->metadata[i]->key, info->metadata[i]->value);
                free(st->metadata);
                st->metadata = line;
            }
        }
        if (info)
            google__rpc__error_info__free_unpacked(info, NULL);
    } else if (strcmp(type, "google.rpc.BadRequest") == 0) {
        Google__Rpc__BadRequest *br = google__rpc__bad_request__unpack(NULL, len, data);
        if (!br)
            return;
        if (br->n_field_violations > 0) {
            st->violations =
                orch_realloc(st->violations,
                             (st->nviolations + br->n_field_violations) * sizeof(*st->violations));
            for (size_t i = 0; i < br->n_field_violations; i++) {
                cli_violation_t *v = &st->violations[st->nviolations++];
                v->field = orch_strdup(br->field_violations[i]->field);
                v->description = orch_strdup(br->field_violations[i]->description);
            }
        }
        google__rpc__bad_request__free_unpacked(br, NULL);
    } else if (strcmp(type, "google.rpc.RetryInfo") == 0) {
        Google__Rpc__RetryInfo *ri = google__rpc__retry_info__unpack(NULL, len, data);
        if (ri && ri->retry_delay && ri->retry_delay->seconds >= 0 && ri->retry_delay->nanos >= 0)
            st->retry_delay_ms =
                (long long)ri->retry_delay->seconds * 1000 + ri->retry_delay->nanos / 1000000;
        if (ri)
            google__rpc__retry_info__free_unpacked(ri, NULL);
    }
}

/* Decodes the grpc-status-details-bin trailer, if any, into st. */
static void status_add_details(cli_status_t *st, const grpc_metadata_array *trailing)
{
    for (size_t i = 0; i < trailing->count; i++) {
        const grpc_metadata *md = &trailing->metadata[i];
        if (grpc_slice_str_cmp(md->key, "grpc-status-details-bin") != 0)
            continue;
        Google__Rpc__Status *rs = google__rpc__status__unpack(NULL, GRPC_SLICE_LENGTH(md->value),
                                                              GRPC_SLICE_START_PTR(md->value));
        if (!rs)
            continue;
        if (st->message[0] == '\0' && rs->message && rs->message[0])
            status_set(st, st->code, rs->message);
        for (size_t j = 0; j < rs->n_details; j++)
            status_add_detail(st, rs->details[j]);
        google__rpc__status__free_unpacked(rs, NULL);
    }
}

/* Unpacks the response message; false if it does not decode. */
static bool unpack_response(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc,
                            ProtobufCMessage **resp)
{
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, bb))
        return false;
    grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    *resp =
        protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    return *resp != NULL;
}

/* Runs the call with the request already in a byte buffer (which this takes over). */
static int call_unary(cli_channel_t *ch, const char *method, grpc_byte_buffer *req_bb,
                      const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                      ProtobufCMessage **resp, cli_status_t *st)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice method_slice = grpc_slice_from_copied_string(method);
    gpr_timespec deadline = gpr_time_add(
        gpr_now(GPR_CLOCK_MONOTONIC),
        gpr_time_from_millis(timeout_ms > 0 ? timeout_ms : CLI_DEFAULT_TIMEOUT_MS, GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               method_slice, NULL, deadline, NULL);
    grpc_slice_unref(method_slice);

    /* Everything the batch points to lives on this stack frame until the pluck returns. */
    grpc_metadata auth_md;
    memset(&auth_md, 0, sizeof(auth_md));
    if (ch->authorization) {
        auth_md.key = grpc_slice_from_static_string("authorization");
        auth_md.value = grpc_slice_from_static_string(ch->authorization);
    }
    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_byte_buffer *resp_bb = NULL;
    grpc_status_code code = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    const char *error_string = NULL;

    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = ch->authorization ? 1 : 0;
    ops[0].data.send_initial_metadata.metadata = ch->authorization ? &auth_md : NULL;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req_bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &resp_bb;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &code;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.error_string = &error_string;

    void *tag = &ops; /* any unique address */
    grpc_call_error cerr = grpc_call_start_batch(call, ops, 6, tag, NULL);
    if (cerr != GRPC_CALL_OK) {
        /* Not reachable with a well-formed batch; report it rather than abort. */
        char *msg = orch_asprintf("grpc_call_start_batch failed (%d)", (int)cerr);
        status_set(st, GRPC_STATUS_INTERNAL, msg);
        free(msg);
        goto out;
    }
    grpc_event ev = grpc_completion_queue_pluck(cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type != GRPC_OP_COMPLETE || !ev.success) {
        status_set(st, GRPC_STATUS_INTERNAL, "the call's batch did not complete");
        goto out;
    }

    char *msg = grpc_slice_to_c_string(details);
    status_set(st, (int)code, msg);
    gpr_free(msg);
    if (code != GRPC_STATUS_OK) {
        status_add_details(st, &trailing_md);
        /* A failure made by the client library (e.g. no connection) may carry its cause only
         * in error_string; keep the status message as is when it has one. */
        goto out;
    }
    if (!resp_bb) {
        status_set(st, GRPC_STATUS_INTERNAL, "the server sent OK without a response message");
        goto out;
    }
    if (!unpack_response(resp_bb, resp_desc, resp)) {
        char *m = orch_asprintf("the response does not decode as %s", resp_desc->name);
        status_set(st, GRPC_STATUS_INTERNAL, m);
        free(m);
    }

out:
    if (!st->message)
        st->message = orch_strdup("");
    if (error_string)
        gpr_free((void *)error_string);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    if (resp_bb)
        grpc_byte_buffer_destroy(resp_bb);
    grpc_byte_buffer_destroy(req_bb);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    /* A pluck queue is drained by plucking until it reports shutdown. */
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    return st->code;
}

/* Clears the out-parameters, as every call does on entry. */
static void clear_outputs(ProtobufCMessage **resp, cli_status_t *st)
{
    *resp = NULL;
    memset(st, 0, sizeof(*st));
    st->retry_delay_ms = -1;
}

int cli_call_unary(cli_channel_t *ch, const char *method, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                   ProtobufCMessage **resp, cli_status_t *st)
{
    clear_outputs(resp, st);
    size_t len = protobuf_c_message_get_packed_size(req);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(req, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return call_unary(ch, method, bb, resp_desc, timeout_ms, resp, st);
}

int cli_call_unary_raw(cli_channel_t *ch, const char *method, const void *req_bytes, size_t req_len,
                       const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                       ProtobufCMessage **resp, cli_status_t *st)
{
    clear_outputs(resp, st);
    grpc_slice slice = grpc_slice_from_copied_buffer(req_len ? req_bytes : "", req_len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return call_unary(ch, method, bb, resp_desc, timeout_ms, resp, st);
}

/* ---- server streaming ------------------------------------------------------------- */

struct cli_stream {
    grpc_call *call;
    grpc_completion_queue *cq;
    grpc_metadata auth_md;
    grpc_metadata_array initial_md, trailing_md;
    grpc_byte_buffer *req_bb, *recv_bb;
    grpc_status_code code;
    grpc_slice details;
    const char *error_string;
    bool recv_pending, ended, status_done, md_received;
    int start_tag, recv_tag, status_tag;
};

cli_stream_t *cli_stream_open(cli_channel_t *ch, const char *method, const ProtobufCMessage *req,
                              int timeout_ms)
{
    cli_stream_t *s = orch_calloc(1, sizeof(*s));
    grpc_slice method_slice = grpc_slice_from_copied_string(method);
    gpr_timespec deadline = timeout_ms > 0
                                ? gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                               gpr_time_from_millis(timeout_ms, GPR_TIMESPAN))
                                : gpr_inf_future(GPR_CLOCK_MONOTONIC);
    size_t len = protobuf_c_message_get_packed_size(req);
    grpc_slice slice = grpc_slice_malloc(len);
    grpc_op ops[3];

    s->cq = grpc_completion_queue_create_for_pluck(NULL);
    s->call = grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, s->cq,
                                       method_slice, NULL, deadline, NULL);
    grpc_slice_unref(method_slice);
    protobuf_c_message_pack(req, GRPC_SLICE_START_PTR(slice));
    s->req_bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    grpc_metadata_array_init(&s->initial_md);
    grpc_metadata_array_init(&s->trailing_md);
    s->details = grpc_empty_slice();
    if (ch->authorization) {
        s->auth_md.key = grpc_slice_from_static_string("authorization");
        s->auth_md.value = grpc_slice_from_copied_string(ch->authorization);
    }
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = ch->authorization ? 1 : 0;
    ops[0].data.send_initial_metadata.metadata = ch->authorization ? &s->auth_md : NULL;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = s->req_bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    /* Initial metadata is received with the first message: waiting for it here would block
     * until the server sends something. */
    grpc_call_start_batch(s->call, ops, 3, &s->start_tag, NULL);
    grpc_completion_queue_pluck(s->cq, &s->start_tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    /* The status batch runs from the start, so an error status is seen even with no
     * message. */
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &s->trailing_md;
    ops[0].data.recv_status_on_client.status = &s->code;
    ops[0].data.recv_status_on_client.status_details = &s->details;
    ops[0].data.recv_status_on_client.error_string = &s->error_string;
    grpc_call_start_batch(s->call, ops, 1, &s->status_tag, NULL);
    return s;
}

int cli_stream_next(cli_stream_t *s, const ProtobufCMessageDescriptor *desc, int wait_ms,
                    ProtobufCMessage **msg)
{
    grpc_event ev;
    *msg = NULL;
    if (s->ended)
        return 0;
    if (!s->recv_pending) {
        grpc_op op[2];
        size_t nops = 0;
        memset(op, 0, sizeof(op));
        if (!s->md_received) {
            op[nops].op = GRPC_OP_RECV_INITIAL_METADATA;
            op[nops].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
            nops++;
            s->md_received = true;
        }
        op[nops].op = GRPC_OP_RECV_MESSAGE;
        op[nops].data.recv_message.recv_message = &s->recv_bb;
        nops++;
        s->recv_bb = NULL;
        if (grpc_call_start_batch(s->call, op, nops, &s->recv_tag, NULL) != GRPC_CALL_OK) {
            s->ended = true;
            return 0;
        }
        s->recv_pending = true;
    }
    ev = grpc_completion_queue_pluck(
        s->cq, &s->recv_tag,
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(wait_ms, GPR_TIMESPAN)),
        NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT)
        return -1;
    s->recv_pending = false;
    if (!ev.success || !s->recv_bb) {
        s->ended = true;
        return 0;
    }
    if (!unpack_response(s->recv_bb, desc, msg)) {
        grpc_byte_buffer_destroy(s->recv_bb);
        s->recv_bb = NULL;
        s->ended = true;
        return 0;
    }
    grpc_byte_buffer_destroy(s->recv_bb);
    s->recv_bb = NULL;
    return 1;
}

void cli_stream_close(cli_stream_t *s, cli_status_t *st)
{
    char *msg;

    memset(st, 0, sizeof(*st));
    st->retry_delay_ms = -1;
    if (!s->ended || s->recv_pending)
        grpc_call_cancel(s->call, NULL);
    if (s->recv_pending) {
        grpc_completion_queue_pluck(s->cq, &s->recv_tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (s->recv_bb)
            grpc_byte_buffer_destroy(s->recv_bb);
    }
    grpc_completion_queue_pluck(s->cq, &s->status_tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    msg = grpc_slice_to_c_string(s->details);
    status_set(st, (int)s->code, msg);
    gpr_free(msg);
    if (s->code != GRPC_STATUS_OK)
        status_add_details(st, &s->trailing_md);
    if (!st->message)
        st->message = orch_strdup("");
    if (s->error_string)
        gpr_free((void *)s->error_string);
    grpc_slice_unref(s->details);
    if (s->auth_md.value.refcount)
        grpc_slice_unref(s->auth_md.value);
    grpc_metadata_array_destroy(&s->initial_md);
    grpc_metadata_array_destroy(&s->trailing_md);
    grpc_byte_buffer_destroy(s->req_bb);
    grpc_call_unref(s->call);
    grpc_completion_queue_shutdown(s->cq);
    while (
        grpc_completion_queue_pluck(s->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
        GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(s->cq);
    free(s);
}
