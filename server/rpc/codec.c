/* Packing and unpacking through protobuf-c, with the checks protobuf-c leaves to us. */
#include "server/rpc/codec.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void *arena_alloc(void *data, size_t size)
{
    return orch_arena_alloc(data, size);
}

static void arena_noop_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

void srv_codec_arena_allocator(ProtobufCAllocator *out, orch_arena_t *arena)
{
    out->alloc = arena_alloc;
    out->free = arena_noop_free;
    out->allocator_data = arena;
}

orch_err_t srv_codec_unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc,
                            ProtobufCAllocator *alloc, size_t max_bytes, ProtobufCMessage **out,
                            orch_error_t *err)
{
    grpc_byte_buffer_reader reader;
    grpc_slice slice = grpc_empty_slice();
    char path[256];

    *out = NULL;
    if (bb) {
        if (grpc_byte_buffer_length(bb) > max_bytes)
            return orch_error_set(err, ORCH_RESOURCE_EXHAUSTED, "MESSAGE_TOO_LARGE",
                                  "the request is larger than the limit of %zu bytes", max_bytes);
        if (!grpc_byte_buffer_reader_init(&reader, bb))
            return orch_error_set(err, ORCH_INVALID_ARGUMENT, "MALFORMED_REQUEST",
                                  "the request payload could not be read (bad compression?)");
        slice = grpc_byte_buffer_reader_readall(&reader);
        grpc_byte_buffer_reader_destroy(&reader);
    }
    *out = protobuf_c_message_unpack(desc, alloc, GRPC_SLICE_LENGTH(slice),
                                     GRPC_SLICE_START_PTR(slice));
    grpc_slice_unref(slice);
    if (!*out)
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, "MALFORMED_REQUEST",
                              "the request is not a valid %s message", desc->name);
    if (srv_codec_check_utf8(*out, path, sizeof(path)) != 0) {
        *out = NULL;
        return orch_error_invalid(err, path, "is not valid UTF-8");
    }
    return ORCH_OK;
}

grpc_byte_buffer *srv_codec_pack(const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    grpc_slice s = grpc_slice_malloc(n);
    grpc_byte_buffer *bb;

    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static bool utf8_valid(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s;
        int n;
        unsigned cp;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (int i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i] & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        s += n + 1;
    }
    return true;
}

static int check_msg(const ProtobufCMessage *msg, char *path, size_t len, size_t used);

static int check_field(const ProtobufCFieldDescriptor *f, const void *member, char *path,
                       size_t len, size_t used, long index)
{
    size_t u = used;
    if (index >= 0)
        u += (size_t)snprintf(path + u, len - u, "%s%s[%ld]", used ? "." : "", f->name, index);
    else
        u += (size_t)snprintf(path + u, len - u, "%s%s", used ? "." : "", f->name);
    if (u >= len)
        u = len - 1;
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        const char *s = *(char *const *)member;
        if (s && !utf8_valid((const unsigned char *)s))
            return -1;
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member;
        if (sub && check_msg(sub, path, len, u) != 0)
            return -1;
    }
    path[used] = '\0';
    return 0;
}

static int check_msg(const ProtobufCMessage *msg, char *path, size_t len, size_t used)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)msg;
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *)(base + f->quantifier_offset);
            if (which != f->id)
                continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            char *const *arr = *(char *const *const *)(base + f->offset);
            for (size_t j = 0; j < n; j++)
                if (check_field(f, &arr[j], path, len, used, (long)j) != 0)
                    return -1;
        } else if (check_field(f, base + f->offset, path, len, used, -1) != 0) {
            return -1;
        }
    }
    return 0;
}

int srv_codec_check_utf8(const ProtobufCMessage *msg, char *path, size_t pathlen)
{
    path[0] = '\0';
    return check_msg(msg, path, pathlen, 0);
}

Google__Protobuf__Timestamp *srv_codec_timestamp(orch_arena_t *arena, int64_t us)
{
    Google__Protobuf__Timestamp *ts;
    if (us == 0)
        return NULL;
    ts = orch_arena_alloc(arena, sizeof(*ts));
    google__protobuf__timestamp__init(ts);
    ts->seconds = us / 1000000;
    ts->nanos = (int32_t)(us % 1000000) * 1000;
    if (ts->nanos < 0) {
        ts->seconds--;
        ts->nanos += 1000000000;
    }
    return ts;
}
