/* The codec: protobuf-c messages <-> gRPC byte buffers, UTF-8 checks of decoded strings,
 * and the small conversions every service needs (timestamps). */
#ifndef SRV_CODEC_H
#define SRV_CODEC_H

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "domain/arena.h"
#include "domain/errors.h"
#include "google/protobuf/timestamp.pb-c.h"

/* A protobuf-c allocator drawing from arena (frees are no-ops). Caller-owned struct. */
void srv_codec_arena_allocator(ProtobufCAllocator *out, orch_arena_t *arena);

/* Decodes bb (may be NULL: an empty message) as desc, with memory from alloc. A payload
 * over max_bytes is RESOURCE_EXHAUSTED; bytes that do not decode, or strings that are not
 * UTF-8, are INVALID_ARGUMENT with a sentence naming the message type (and the field). */
orch_err_t srv_codec_unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc,
                            ProtobufCAllocator *alloc, size_t max_bytes, ProtobufCMessage **out,
                            orch_error_t *err);

/* Encodes msg; caller destroys the buffer with grpc_byte_buffer_destroy. */
grpc_byte_buffer *srv_codec_pack(const ProtobufCMessage *msg);

/* Checks every string field of msg, recursively, for valid UTF-8; on failure writes the
 * field path (e.g. "user_inputs[1].name") into path and returns -1. */
int srv_codec_check_utf8(const ProtobufCMessage *msg, char *path, size_t pathlen);

/* A Timestamp in the arena from microseconds since the epoch; NULL for 0 (unset). */
Google__Protobuf__Timestamp *srv_codec_timestamp(orch_arena_t *arena, int64_t us);

#endif
