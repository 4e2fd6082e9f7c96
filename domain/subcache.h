/* The read cache of subscriptions: each replica keeps the answers it has served, already
 * encoded (opaque bytes to this module), keyed by subscription id and checked by stamp (a
 * digest of everything the answer shows: st->subs->get, domain/store/subscriptions.h),
 * within a memory bound, least recently used out first. Thread-safe; knows nothing of gRPC
 * or SQL.
 *
 * Consistency. An entry is dropped when its subscription changes: by this replica's store
 * right after the unit of work ends, and by every replica when the database's NOTIFY naming
 * the subscription arrives. A change to X also drops every entry that shows X: those that
 * use X (their tree shows X's blocks) and those X uses (their in_use_by lists X), from the
 * related ids given at put. On this replica a subscription being changed is not served
 * from memory from the moment its unit of work first touches it until the drop after it
 * ends (orch_subcache_changing), so no reader that already sees the commit can meet the
 * entry from before it. While the notification connection is down nothing is served
 * (orch_subcache_set_live): a NOTIFY lost meanwhile cannot leave a stale entry, and on
 * reconnect everything is dropped. A fill races with a drop by the ticket: a put whose read
 * began before any drop since is refused, so a tree read before a change is never stored
 * after the change's drop.
 *
 * GetSubscription and ListSubscriptions both read it (server/services/subscriptions.c): a
 * list takes the page's ids from the database and only the subscriptions missing here are
 * read, in one statement, and put under a ticket taken before that read, as a Get's miss. */
#ifndef ORCH_SUBCACHE_H
#define ORCH_SUBCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default bound (--subscription-cache-mb): 256 MiB, about 100,000 port-sized trees with
 * both encodings (see bench/README.md for the measured size per entry). */
#define ORCH_SUBCACHE_DEFAULT_MB 256

typedef struct orch_subcache orch_subcache_t;

/* The encodings kept per entry. */
typedef enum {
    ORCH_SUBCACHE_FULL = 0,
    ORCH_SUBCACHE_BASIC = 1,
    ORCH_SUBCACHE_VIEWS
} orch_subcache_view_t;

typedef struct orch_subcache_stats {
    size_t entries, bytes, max_bytes;
    uint64_t hits, misses, drops, refused_puts;
    uint64_t went_live; /* times it became live: the notification connection (re)connected */
} orch_subcache_stats_t;

/* max_bytes = 0: disabled (every get misses, every put is refused). Starts not live. */
orch_subcache_t *orch_subcache_new(size_t max_bytes);
void orch_subcache_free(orch_subcache_t *c); /* NULL ok */

/* Live: the notifications that drop entries are being heard. Going live or not live drops
 * everything; while not live nothing is served or stored. */
void orch_subcache_set_live(orch_subcache_t *c, bool live);

/* Taken before reading from the database what a later put stores. */
uint64_t orch_subcache_ticket(orch_subcache_t *c);

/* A hit copies the view's bytes into memory from alloc(alloc_arg, len) (called under the
 * cache's lock; must not call back into the cache) and, if stamp is not NULL, the entry's
 * stamp (33 bytes). Returns false on a miss (*bytes NULL, *len 0). */
bool orch_subcache_get(orch_subcache_t *c, const char *id, orch_subcache_view_t view,
                       void *(*alloc)(void *alloc_arg, size_t len), void *alloc_arg, void **bytes,
                       size_t *len, char *stamp);

/* Stores (or replaces) id's entry: copies of stamp (32 hex digits), of the related ids
 * (the subscriptions it uses and those that use it) and of each view's bytes (NULL: that
 * view is not given; an entry with the same stamp keeps the one it has). Refused
 * (false) when the cache is disabled or not live, when anything was dropped since ticket
 * was taken, or when the entry alone exceeds the bound. */
bool orch_subcache_put(orch_subcache_t *c, uint64_t ticket, const char *id, const char *stamp,
                       const char *const *related, size_t nrelated,
                       const void *const bytes[ORCH_SUBCACHE_VIEWS],
                       const size_t len[ORCH_SUBCACHE_VIEWS]);

/* This replica's units of work: changing = true when one is about to change id (its
 * transaction is open), false when it ended (committed or not), which drops id's entry and
 * those related to it. Calls pair up; while any is open for id, id is neither served from
 * memory nor stored. */
void orch_subcache_changing(orch_subcache_t *c, const char *const *ids, size_t n, bool changing);

/* Drops the entries of ids and every entry related to one of them. */
void orch_subcache_drop(orch_subcache_t *c, const char *const *ids, size_t n);
/* Drops everything (e.g. an empty NOTIFY payload: "something changed"). */
void orch_subcache_drop_all(orch_subcache_t *c);

/* Drops the ids listed in a NOTIFY payload: ids separated by commas, each optionally
 * followed by ':' and anything up to the next comma ("<id>:<lo>-<hi>,<id>..." works).
 * An empty or NULL payload, or one without a single well-formed id, drops everything. */
void orch_subcache_drop_payload(orch_subcache_t *c, const char *payload);

void orch_subcache_stats(orch_subcache_t *c, orch_subcache_stats_t *out);

#endif
