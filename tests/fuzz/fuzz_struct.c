/* libFuzzer target: JSON <-> google.protobuf.Struct, the conversion behind subscription
 * metadata, process state, form answers and every JSON document the API carries. The first
 * byte picks the direction:
 *   even: the rest is a Struct as it comes off the wire: srv_codec_unpack (with its depth,
 *         UTF-8 and limit checks) -> JSON -> Struct -> pack -> unpack -> JSON;
 *   odd:  the rest is JSON text: json_loadb -> Value/Struct -> pack -> srv_codec_unpack ->
 *         JSON, as a server response built from stored JSON and read back by a client.
 * Both round trips must give the same document twice (after the first conversion has
 * normalised numbers), and a message within the nesting limit must be accepted. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_struct: %s\n", what);
    abort();
}

/* Decodes len bytes as desc through the server's codec; NULL when refused. */
static ProtobufCMessage *unpack(orch_arena_t *arena, const ProtobufCMessageDescriptor *desc,
                                const uint8_t *bytes, size_t len)
{
    ProtobufCAllocator alloc;
    ProtobufCMessage *msg = NULL;
    grpc_slice slice = grpc_slice_from_copied_buffer((const char *)bytes, len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    orch_error_t err;
    orch_err_t rc;

    grpc_slice_unref(slice);
    orch_error_init(&err);
    srv_codec_arena_allocator(&alloc, arena);
    rc = srv_codec_unpack(bb, desc, &alloc, 4u * 1024u * 1024u, &msg, &err);
    grpc_byte_buffer_destroy(bb);
    if (rc && (rc != ORCH_INVALID_ARGUMENT || msg))
        fail("srv_codec_unpack failed with an unexpected code");
    return rc ? NULL : msg;
}

static uint8_t *pack(const ProtobufCMessage *msg, size_t *len)
{
    uint8_t *buf;
    *len = protobuf_c_message_get_packed_size(msg);
    buf = malloc(*len ? *len : 1);
    if (!buf || protobuf_c_message_pack(msg, buf) != *len)
        fail("protobuf_c_message_pack wrote a different size");
    return buf;
}

/* Message nesting of a JSON value once converted: a Value, plus a Struct and a FieldsEntry
 * per object level, or a ListValue per array level. */
static int nesting(const json_t *v)
{
    int max = 0, d;
    const char *key;
    json_t *e;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, e) if ((d = nesting(e)) > max) max = d;
        return 3 + max;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, e) if ((d = nesting(e)) > max) max = d;
        return 2 + max;
    }
    return 1;
}

static void from_wire(const uint8_t *data, size_t size)
{
    orch_arena_t *arena = orch_arena_new();
    Google__Protobuf__Struct *s, *s2, *s3;
    json_t *a, *b;
    uint8_t *buf;
    size_t len;

    s = (Google__Protobuf__Struct *)unpack(arena, &google__protobuf__struct__descriptor, data,
                                           size);
    if (s) {
        a = srv_codec_json_from_struct(s);
        s2 = srv_codec_struct_from_json(arena, a);
        buf = pack(&s2->base, &len);
        s3 = (Google__Protobuf__Struct *)unpack(arena, &google__protobuf__struct__descriptor, buf,
                                                len);
        if (!s3)
            fail("a Struct rebuilt from an accepted one is refused");
        b = srv_codec_json_from_struct(s3);
        if (!json_equal(a, b))
            fail("Struct -> JSON -> Struct -> wire -> Struct changed the document");
        json_decref(a);
        json_decref(b);
        free(buf);
    }
    orch_arena_free(arena);
}

static void from_json(const uint8_t *data, size_t size)
{
    orch_arena_t *arena = orch_arena_new();
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
    Google__Protobuf__Value *v, *v2;
    json_t *a, *b;
    uint8_t *buf;
    size_t len;

    if (!doc)
        goto out;
    /* Objects also go through the Struct entry point, as metadata does. */
    if (json_is_object(doc)) {
        Google__Protobuf__Struct *s = srv_codec_struct_from_json(arena, doc);
        a = srv_codec_json_from_struct(s);
        json_decref(a);
    }
    v = srv_codec_value_from_json(arena, doc);
    a = srv_codec_json_from_value(v);
    buf = pack(&v->base, &len);
    v2 = (Google__Protobuf__Value *)unpack(arena, &google__protobuf__value__descriptor, buf, len);
    if (!v2) {
        /* Refused: only because it nests deeper than the limit. */
        if (nesting(doc) <= SRV_MAX_NESTING)
            fail("a Value within the nesting limit was refused");
    } else {
        b = srv_codec_json_from_value(v2);
        if (!json_equal(a, b))
            fail("JSON -> Value -> wire -> Value -> JSON changed the document");
        json_decref(b);
    }
    json_decref(a);
    free(buf);
out:
    json_decref(doc);
    orch_arena_free(arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        from_json(data + 1, size - 1);
    else
        from_wire(data + 1, size - 1);
    return 0;
}
