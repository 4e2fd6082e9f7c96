/* libFuzzer target: request handling up to the handler. The first input byte picks one RPC
 * of the server's dispatch tables (every method of every service, in table order); the rest
 * is that RPC's request body as it arrives off the wire. It runs what the server runs before
 * any handler: srv_codec_unpack (size limit, wire-depth walk, protobuf-c decode, UTF-8 and
 * length checks) into a per-call arena, then what handlers do with the Structs they are
 * given (Struct -> JSON -> Struct).
 *
 * Invariants checked beyond "no crash, no leak, no UB": a request that decodes re-encodes to
 * bytes that decode and re-encode to the same bytes, and a Struct survives the JSON round
 * trip unchanged. */
#include <grpc/byte_buffer.h>
#include <grpc/slice.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "server/rpc/codec.h"
#include "server/services/services.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* As the server: the default --max-message-bytes. */
#define FUZZ_MAX_MESSAGE_BYTES (4u * 1024u * 1024u)

static const srv_method_t *const tables[] = {
    srv_health_methods,   srv_product_methods, srv_subscription_methods, srv_process_methods,
    srv_workflow_methods, srv_engine_methods,  srv_watch_methods,        srv_worker_methods,
};

static const ProtobufCMessageDescriptor *inputs[256];
static size_t ninputs;

/* Lists the RPCs; FUZZ_LIST_METHODS=1 prints "index path" lines, which is how the seed
 * corpus's first bytes were chosen (tests/fuzz/seeds.sh). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *list = getenv("FUZZ_LIST_METHODS");
    (void)argc;
    (void)argv;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (const srv_method_t *m = tables[t]; m->name; m++) {
            const ProtobufCMethodDescriptor *md =
                protobuf_c_service_descriptor_get_method_by_name(m->service, m->name);
            if (!md || ninputs == 256)
                abort();
            if (list)
                printf("%zu /%s/%s %s\n", ninputs, m->service->name, m->name, md->input->name);
            inputs[ninputs++] = md->input;
        }
    }
    if (list)
        exit(0);
    return 0;
}

/* Struct -> JSON -> Struct -> JSON: both JSON documents must be equal. */
static void struct_round_trip(const Google__Protobuf__Struct *s)
{
    orch_arena_t *arena = orch_arena_new();
    json_t *a = srv_codec_json_from_struct(s);
    Google__Protobuf__Struct *s2 = srv_codec_struct_from_json(arena, a);
    json_t *b = srv_codec_json_from_struct(s2);
    if (!json_equal(a, b)) {
        fprintf(stderr, "fuzz_request: Struct -> JSON -> Struct changed the document\n");
        abort();
    }
    json_decref(a);
    json_decref(b);
    orch_arena_free(arena);
}

/* Calls struct_round_trip on every Struct field of msg, at any depth (Structs inside Structs
 * are covered by the outermost one). */
static void walk(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    if (d == &google__protobuf__struct__descriptor) {
        struct_round_trip((const Google__Protobuf__Struct *)msg);
        return;
    }
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)msg;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t j = 0; j < n; j++)
                walk(arr[j]);
        } else {
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);
            if (sub)
                walk(sub);
        }
    }
}

/* Decodes body as desc the way the server does; NULL when refused. */
static ProtobufCMessage *unpack(orch_arena_t *arena, const ProtobufCMessageDescriptor *desc,
                                const uint8_t *body, size_t len, bool null_when_empty)
{
    ProtobufCAllocator alloc;
    ProtobufCMessage *msg = NULL;
    grpc_byte_buffer *bb = NULL;
    orch_error_t err;
    orch_err_t rc;

    orch_error_init(&err);
    srv_codec_arena_allocator(&alloc, arena);
    /* An empty body may arrive as a NULL payload or as an empty buffer. */
    if (len > 0 || !null_when_empty) {
        grpc_slice slice = grpc_slice_from_copied_buffer((const char *)body, len);
        bb = grpc_raw_byte_buffer_create(&slice, 1);
        grpc_slice_unref(slice);
    }
    rc = srv_codec_unpack(bb, desc, &alloc, FUZZ_MAX_MESSAGE_BYTES, &msg, &err);
    if (bb)
        grpc_byte_buffer_destroy(bb);
    if (rc != ORCH_OK) {
        /* Refusals are INVALID_ARGUMENT or RESOURCE_EXHAUSTED with a sentence, nothing else. */
        if ((rc != ORCH_INVALID_ARGUMENT && rc != ORCH_RESOURCE_EXHAUSTED) || msg ||
            !err.message[0]) {
            fprintf(stderr, "fuzz_request: unexpected refusal %d (%s)\n", rc, err.message);
            abort();
        }
        return NULL;
    }
    return msg;
}

static uint8_t *pack(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (!buf || protobuf_c_message_pack(msg, buf) != *len)
        abort();
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ProtobufCMessageDescriptor *desc;
    orch_arena_t *arena;
    ProtobufCMessage *msg, *again;
    uint8_t *b1, *b2;
    size_t n1, n2;

    if (size < 1)
        return 0;
    desc = inputs[data[0] % ninputs];
    arena = orch_arena_new();
    msg = unpack(arena, desc, data + 1, size - 1, data[0] & 0x80);
    if (msg) {
        walk(msg);
        /* What was accepted once is accepted again, and encodes stably. */
        b1 = pack(msg, &n1);
        again = unpack(arena, desc, b1, n1, false);
        if (!again) {
            fprintf(stderr, "fuzz_request: a re-encoded %s was refused\n", desc->name);
            abort();
        }
        b2 = pack(again, &n2);
        if (n1 != n2 || memcmp(b1, b2, n1) != 0) {
            fprintf(stderr, "fuzz_request: %s does not re-encode stably\n", desc->name);
            abort();
        }
        free(b1);
        free(b2);
    }
    orch_arena_free(arena);
    return 0;
}
