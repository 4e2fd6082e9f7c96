/* Packing and unpacking through protobuf-c, with the checks protobuf-c leaves to us. */
#include "server/rpc/codec.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "proto/pbjson.h"

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
    const char *why = NULL;

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
    if (srv_codec_check_depth(GRPC_SLICE_START_PTR(slice), GRPC_SLICE_LENGTH(slice), desc,
                              SRV_MAX_NESTING) != 0) {
        grpc_slice_unref(slice);
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, "MALFORMED_REQUEST",
                              "the request is not a valid %s message, or nests deeper than %d "
                              "levels",
                              desc->name, SRV_MAX_NESTING);
    }
    *out = protobuf_c_message_unpack(desc, alloc, GRPC_SLICE_LENGTH(slice),
                                     GRPC_SLICE_START_PTR(slice));
    grpc_slice_unref(slice);
    if (!*out)
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, "MALFORMED_REQUEST",
                              "the request is not a valid %s message", desc->name);
    if (srv_codec_check(*out, path, sizeof(path), &why) != 0) {
        *out = NULL;
        return orch_error_invalid(err, path, "%s", why);
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

static int check_msg(const ProtobufCMessage *msg, char *path, size_t len, size_t used,
                     const char **why);

static int check_field(const ProtobufCFieldDescriptor *f, const void *member, char *path,
                       size_t len, size_t used, long index, const char **why)
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
        if (s && strlen(s) > SRV_MAX_STRING_BYTES) {
            *why = "is longer than 65536 bytes";
            return -1;
        }
        if (s && !utf8_valid((const unsigned char *)s)) {
            *why = "is not valid UTF-8";
            return -1;
        }
    } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
        const ProtobufCBinaryData *b = member;
        if (b->len > SRV_MAX_STRING_BYTES) {
            *why = "is longer than 65536 bytes";
            return -1;
        }
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member;
        if (sub && check_msg(sub, path, len, u, why) != 0)
            return -1;
    }
    path[used] = '\0';
    return 0;
}

static int check_msg(const ProtobufCMessage *msg, char *path, size_t len, size_t used,
                     const char **why)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)msg;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *)(base + f->quantifier_offset);
            if (which != f->id)
                continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            if (n > SRV_MAX_REPEATED) {
                snprintf(path + used, len - used, "%s%s", used ? "." : "", f->name);
                *why = "has more than 10000 elements";
                return -1;
            }
            if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE &&
                f->type != PROTOBUF_C_TYPE_BYTES)
                continue;
            const char *arr = *(const char *const *)(base + f->offset);
            size_t elem =
                f->type == PROTOBUF_C_TYPE_BYTES ? sizeof(ProtobufCBinaryData) : sizeof(void *);
            for (size_t j = 0; j < n; j++)
                if (check_field(f, arr + j * elem, path, len, used, (long)j, why) != 0)
                    return -1;
        } else if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE ||
                   f->type == PROTOBUF_C_TYPE_BYTES) {
            if (check_field(f, base + f->offset, path, len, used, -1, why) != 0)
                return -1;
        }
    }
    return 0;
}

int srv_codec_check(const ProtobufCMessage *msg, char *path, size_t pathlen, const char **why)
{
    path[0] = '\0';
    *why = "";
    return check_msg(msg, path, pathlen, 0, why);
}

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

int srv_codec_check_depth(const uint8_t *data, size_t len, const ProtobufCMessageDescriptor *desc,
                          int max_depth)
{
    const uint8_t *p = data, *end = data + len;

    if (max_depth < 0)
        return -1;
    while (p < end) {
        uint64_t key, n;
        if (read_varint(&p, end, &key) != 0)
            return -1;
        /* Field numbers are 1 .. 2^29 - 1. protobuf-c refuses a 0 only when the key is one
         * byte, and keeps an over-long one (80 00) as an unknown field that it then
         * re-encodes as the invalid 00: refuse both here. */
        if (key >> 3 == 0 || key >> 3 > 536870911u)
            return -1;
        switch (key & 7) {
        case 0:
            if (read_varint(&p, end, &n) != 0)
                return -1;
            break;
        case 1:
            if (end - p < 8)
                return -1;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return -1;
            p += 4;
            break;
        case 2: {
            const ProtobufCFieldDescriptor *f;
            if (read_varint(&p, end, &n) != 0 || n > (uint64_t)(end - p))
                return -1;
            f = key >> 3 <= UINT32_MAX
                    ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3))
                    : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                srv_codec_check_depth(p, (size_t)n, f->descriptor, max_depth - 1) != 0)
                return -1;
            p += n;
            break;
        }
        default:
            return -1; /* groups (3, 4) are not used by proto3 */
        }
    }
    return 0;
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

/* The conversions are proto/pbjson.c's, shared with orchctl; the server builds in the arena. */
Google__Protobuf__Value *srv_codec_value_from_json(orch_arena_t *a, const json_t *v)
{
    ProtobufCAllocator al;
    srv_codec_arena_allocator(&al, a);
    return pbjson_value_from_json(&al, v);
}

Google__Protobuf__Struct *srv_codec_struct_from_json(orch_arena_t *a, const json_t *obj)
{
    ProtobufCAllocator al;
    srv_codec_arena_allocator(&al, a);
    return pbjson_struct_from_json(&al, obj);
}

json_t *srv_codec_json_from_value(const Google__Protobuf__Value *v)
{
    return pbjson_json_from_value(v);
}

json_t *srv_codec_json_from_struct(const Google__Protobuf__Struct *s)
{
    return pbjson_json_from_struct(s);
}

/* Where a field of m lives; *count (when asked) gets the offset of a repeated field's count. */
static void *field_at(ProtobufCMessage *m, const char *name, size_t *count)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    orch_assert(f != NULL);
    if (count)
        *count = f->quantifier_offset;
    return (char *)m + f->offset;
}

void *srv_codec_field(ProtobufCMessage *m, const char *name)
{
    return field_at(m, name, NULL);
}

void *srv_codec_oneof_field(ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    orch_assert(f != NULL && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF));
    *(uint32_t *)((char *)m + f->quantifier_offset) = f->id; /* as protobuf-c sets a case */
    return (char *)m + f->offset;
}

ProtobufCMessage *srv_codec_message_new(orch_arena_t *arena, const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = orch_arena_alloc(arena, desc->sizeof_message);
    protobuf_c_message_init(desc, m);
    return m;
}

ProtobufCMessage *srv_codec_list_response(orch_arena_t *arena,
                                          const ProtobufCMessageDescriptor *desc, const char *field,
                                          ProtobufCMessage **items, size_t n, const char *next,
                                          int32_t total)
{
    ProtobufCMessage *m = srv_codec_message_new(arena, desc);
    size_t count_at = 0;
    *(ProtobufCMessage ***)field_at(m, field, &count_at) = items;
    *(size_t *)((char *)m + count_at) = n;
    *(char **)field_at(m, "next_page_token", NULL) = orch_arena_strdup(arena, next);
    *(int32_t *)field_at(m, "total_size", NULL) = total;
    return m;
}
