/* The codec: protobuf-c messages <-> gRPC byte buffers, UTF-8 checks of decoded strings,
 * and the small conversions every service needs (timestamps). */
#ifndef SRV_CODEC_H
#define SRV_CODEC_H

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/errors.h"
#include <jansson.h>

#include "google/protobuf/struct.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

/* Limits on what a client may send, checked on every request before any handler sees it:
 * message nesting (a Struct inside a Struct counts two levels), the length of any one
 * string, the number of elements of any one repeated field. Fields may have lower limits
 * of their own, checked by their handlers. */
#define SRV_MAX_NESTING 64
#define SRV_MAX_STRING_BYTES 65536
#define SRV_MAX_REPEATED 10000

/* A message struct of type T from the arena, not yet initialised (the caller runs its
 * __init); it lives until the arena is freed. */
#define SRV_NEW(arena, T) ((T *)orch_arena_alloc((arena), sizeof(T)))
/* An arena array of n pointers to T for a repeated field; room for one when n is 0, so that
 * it is never NULL. */
#define SRV_NEWV(arena, T, n) ((T **)orch_arena_alloc((arena), ((n) ? (n) : 1) * sizeof(T *)))

/* A new message of descriptor desc in the arena, initialised; and where its field name lives
 * (a desc without it aborts: the code and its .proto disagree). For answers that several
 * methods shape alike but whose message types differ. */
ProtobufCMessage *srv_codec_message_new(orch_arena_t *arena,
                                        const ProtobufCMessageDescriptor *desc);
void *srv_codec_field(ProtobufCMessage *m, const char *name);
/* The same for a member of a oneof, which it also makes the oneof's case (a field that is not
 * in a oneof aborts). */
void *srv_codec_oneof_field(ProtobufCMessage *m, const char *name);

/* A List*Response of descriptor desc from the arena: its repeated message field `field`
 * holds the n messages items (an arena array; protobuf-c reads a repeated message field as
 * ProtobufCMessage pointers), next_page_token a copy of next (NULL: "") and total_size
 * total. The caller sets any other field. A desc without those fields aborts (the service
 * and its .proto disagree). */
ProtobufCMessage *srv_codec_list_response(orch_arena_t *arena,
                                          const ProtobufCMessageDescriptor *desc, const char *field,
                                          ProtobufCMessage **items, size_t n, const char *next,
                                          int32_t total);

/* A protobuf-c allocator drawing from arena (frees are no-ops). Caller-owned struct. */
void srv_codec_arena_allocator(ProtobufCAllocator *out, orch_arena_t *arena);

/* Decodes bb (may be NULL: an empty message) as desc, with memory from alloc. A payload
 * over max_bytes is RESOURCE_EXHAUSTED; bytes that do not decode, nesting deeper than
 * SRV_MAX_NESTING, strings that are not UTF-8 or longer than SRV_MAX_STRING_BYTES, and
 * repeated fields longer than SRV_MAX_REPEATED are INVALID_ARGUMENT with a sentence naming
 * the message type or the field. */
orch_err_t srv_codec_unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc,
                            ProtobufCAllocator *alloc, size_t max_bytes, ProtobufCMessage **out,
                            orch_error_t *err);

/* Encodes msg; caller destroys the buffer with grpc_byte_buffer_destroy. */
grpc_byte_buffer *srv_codec_pack(const ProtobufCMessage *msg);

/* Checks every string field of msg, recursively, for valid UTF-8 and the limits above; on
 * failure writes the field path (e.g. "user_inputs[1].name") into path, a reason into why,
 * and returns -1. */
int srv_codec_check(const ProtobufCMessage *msg, char *path, size_t pathlen, const char **why);

/* Walks the wire form of a desc message without decoding it and fails (-1) when message
 * fields nest deeper than max_depth or the bytes are malformed: protobuf-c's decoder
 * recurses without a limit, so this runs first. */
int srv_codec_check_depth(const uint8_t *data, size_t len, const ProtobufCMessageDescriptor *desc,
                          int max_depth);

/* JSON <-> google.protobuf.Struct / Value. to_struct builds in the arena from a JSON object
 * (NULL or not an object: an empty Struct). from_struct returns a new reference (caller
 * decrefs); numbers come back as reals, or integers when they are whole and within 2^53. */
Google__Protobuf__Struct *srv_codec_struct_from_json(orch_arena_t *arena, const json_t *obj);
Google__Protobuf__Value *srv_codec_value_from_json(orch_arena_t *arena, const json_t *v);
json_t *srv_codec_json_from_struct(const Google__Protobuf__Struct *s);
json_t *srv_codec_json_from_value(const Google__Protobuf__Value *v);

/* A Timestamp in the arena from microseconds since the epoch; NULL for 0 (unset). */
Google__Protobuf__Timestamp *srv_codec_timestamp(orch_arena_t *arena, int64_t us);

#endif
