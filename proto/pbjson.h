/* google.protobuf.Struct and Value <-> JSON (jansson): the one converter orchctl (client/) and
 * the server's codec (server/rpc/) share, built beside the generated code in orch_pbjson. */
#ifndef ORCH_PROTO_PBJSON_H
#define ORCH_PROTO_PBJSON_H

#include <jansson.h>

#include "google/protobuf/struct.pb-c.h"

/* A Struct built from a JSON object (NULL or not an object: an empty Struct), every part of
 * it drawn from al, whose alloc must never return NULL (orch_malloc, an arena). Owned as al
 * says: google__protobuf__struct__free_unpacked(s, al) frees a malloc'ed one, an arena's
 * goes with the arena. */
Google__Protobuf__Struct *pbjson_struct_from_json(ProtobufCAllocator *al, const json_t *obj);

/* The same for any JSON value (NULL: a null Value). Integers become numbers (doubles). */
Google__Protobuf__Value *pbjson_value_from_json(ProtobufCAllocator *al, const json_t *v);

/* A new reference (caller decrefs) to the JSON of s (NULL: an empty object) or v (NULL: null).
 * Numbers come back as integers when they are whole and within 2^53, else as reals. */
json_t *pbjson_json_from_struct(const Google__Protobuf__Struct *s);
json_t *pbjson_json_from_value(const Google__Protobuf__Value *v);

#endif
