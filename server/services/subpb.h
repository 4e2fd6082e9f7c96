/* The Subscription message of a domain subscription, shared by subscriptions.c and the
 * WatchSubscription stream. */
#ifndef SRV_SUBPB_H
#define SRV_SUBPB_H

#include "base/arena.h"
#include "domain/subscription/subscription.h"
#include "orchestrator/v1/subscriptions.pb-c.h"

/* Built in the arena; full: with metadata, the instance tree and the domain model. */
Orchestrator__V1__Subscription *srv_subscription_to_pb(orch_arena_t *a,
                                                       const orch_subscription_t *sub, bool full);

#endif
