/* The Subscription message of a domain subscription, shared by subscriptions.c and the
 * WatchSubscription stream. */
#ifndef SRV_SUBPB_H
#define SRV_SUBPB_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "domain/subscription/subscription.h"
#include "orchestrator/v1/subscriptions.pb-c.h"

/* Built in the arena; full: with metadata, the instance tree and the domain model. */
Orchestrator__V1__Subscription *srv_subscription_to_pb(orch_arena_t *a,
                                                       const orch_subscription_t *sub, bool full);

/* The same message's encoding, written straight from the tree (GetSubscription's miss path):
 * equal, byte for byte, to packing srv_subscription_to_pb's message. The bytes (*len of them)
 * are in the arena. */
void *srv_subscription_encode(orch_arena_t *a, const orch_subscription_t *sub, bool full,
                              size_t *len);

/* A protobuf varint, minimal, at out (room for 10 bytes); returns its length. For answers
 * written from encodings kept before (ListSubscriptions' page). */
size_t srv_pb_varint(uint8_t *out, uint64_t v);

#endif
