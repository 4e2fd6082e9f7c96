/* The subscription read cache (domain/subcache.h): one mutex, a chained hash table of
 * entries by id, a second one from each related id to the entries that name it, and a
 * doubly linked LRU list. Critical sections are a lookup and a copy of a few kilobytes. */
#include "domain/subcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"

#define ID_LEN 36

typedef struct entry entry_t;

/* "entry e names rel": one per related id of an entry, chained in the rel table. */
typedef struct rel_node {
    char id[ID_LEN + 1];
    entry_t *e;
    struct rel_node *next;
} rel_node_t;

struct entry {
    char id[ID_LEN + 1];
    char stamp[33];
    entry_t *next;                /* hash chain */
    entry_t *lru_prev, *lru_next; /* most recent at the head */
    rel_node_t *rels;             /* nrels nodes, owned */
    size_t nrels;
    void *bytes[ORCH_SUBCACHE_VIEWS]; /* owned */
    size_t len[ORCH_SUBCACHE_VIEWS];
    size_t cost; /* what it counts against the bound */
};

struct orch_subcache {
    pthread_mutex_t mu;
    size_t max_bytes, bytes, entries;
    size_t nbuckets; /* a power of two, for both tables */
    entry_t **buckets;
    rel_node_t **rel_buckets;
    entry_t *lru_head, *lru_tail;
    bool live;
    /* Ids a unit of work of this replica is changing, with how many (orch_subcache_changing):
     * few at a time, so a plain array. */
    struct pending {
        char id[ID_LEN + 1];
        int n;
    } * pending;
    size_t npending, cappending;
    uint64_t epoch; /* +1 at every drop: a put with an older ticket is refused */
    uint64_t hits, misses, drops, refused, went_live;
};

/* A bucket for an id: FNV-1a (ids are short, so its byte loop is cheap), its high bits folded
 * into the low ones that pick the bucket. */
static size_t hash_id(const char *s)
{
    uint64_t h = orch_fnv1a(s);
    return (size_t)(h ^ (h >> 29));
}

orch_subcache_t *orch_subcache_new(size_t max_bytes)
{
    orch_subcache_t *c = orch_calloc(1, sizeof(*c));
    size_t want = max_bytes / 2048;
    pthread_mutex_init(&c->mu, NULL);
    c->max_bytes = max_bytes;
    c->nbuckets = 1024;
    while (c->nbuckets < want && c->nbuckets < ((size_t)1 << 22))
        c->nbuckets <<= 1;
    c->buckets = orch_calloc(c->nbuckets, sizeof(*c->buckets));
    c->rel_buckets = orch_calloc(c->nbuckets, sizeof(*c->rel_buckets));
    return c;
}

static struct pending *pending_find(orch_subcache_t *c, const char *id)
{
    for (size_t i = 0; i < c->npending; i++)
        if (strcmp(c->pending[i].id, id) == 0)
            return &c->pending[i];
    return NULL;
}

static void lru_unlink(orch_subcache_t *c, entry_t *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        c->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        c->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_head(orch_subcache_t *c, entry_t *e)
{
    e->lru_prev = NULL;
    e->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

static entry_t *find(orch_subcache_t *c, const char *id)
{
    for (entry_t *e = c->buckets[hash_id(id) & (c->nbuckets - 1)]; e; e = e->next)
        if (strcmp(e->id, id) == 0)
            return e;
    return NULL;
}

/* Unlinks e from every structure and frees it. */
static void remove_entry(orch_subcache_t *c, entry_t *e)
{
    entry_t **pp = &c->buckets[hash_id(e->id) & (c->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    for (size_t i = 0; i < e->nrels; i++) {
        rel_node_t **rp = &c->rel_buckets[hash_id(e->rels[i].id) & (c->nbuckets - 1)];
        while (*rp != &e->rels[i])
            rp = &(*rp)->next;
        *rp = e->rels[i].next;
    }
    lru_unlink(c, e);
    c->bytes -= e->cost;
    c->entries--;
    for (int v = 0; v < ORCH_SUBCACHE_VIEWS; v++)
        free(e->bytes[v]);
    free(e->rels);
    free(e);
}

static void drop_all_locked(orch_subcache_t *c)
{
    while (c->lru_head)
        remove_entry(c, c->lru_head);
    c->epoch++;
}

void orch_subcache_free(orch_subcache_t *c)
{
    if (!c)
        return;
    drop_all_locked(c);
    free(c->buckets);
    free(c->rel_buckets);
    free(c->pending);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void orch_subcache_set_live(orch_subcache_t *c, bool live)
{
    pthread_mutex_lock(&c->mu);
    drop_all_locked(c);
    c->went_live += live;
    c->live = live;
    pthread_mutex_unlock(&c->mu);
}

uint64_t orch_subcache_ticket(orch_subcache_t *c)
{
    uint64_t t;
    pthread_mutex_lock(&c->mu);
    t = c->epoch;
    pthread_mutex_unlock(&c->mu);
    return t;
}

bool orch_subcache_get(orch_subcache_t *c, const char *id, orch_subcache_view_t view,
                       void *(*alloc)(void *alloc_arg, size_t len), void *alloc_arg, void **bytes,
                       size_t *len, char *stamp)
{
    entry_t *e;
    bool hit = false;

    *bytes = NULL;
    *len = 0;
    pthread_mutex_lock(&c->mu);
    e = c->live && !(c->npending && pending_find(c, id)) ? find(c, id) : NULL;
    if (e && e->bytes[view]) {
        *len = e->len[view];
        *bytes = alloc(alloc_arg, *len ? *len : 1);
        memcpy(*bytes, e->bytes[view], *len);
        if (stamp)
            memcpy(stamp, e->stamp, 33);
        if (c->lru_head != e) {
            lru_unlink(c, e);
            lru_push_head(c, e);
        }
        c->hits++;
        hit = true;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

bool orch_subcache_put(orch_subcache_t *c, uint64_t ticket, const char *id, const char *stamp,
                       const char *const *related, size_t nrelated,
                       const void *const bytes[ORCH_SUBCACHE_VIEWS],
                       const size_t len[ORCH_SUBCACHE_VIEWS])
{
    entry_t *e, *old;
    size_t cost = sizeof(entry_t) + nrelated * sizeof(rel_node_t);
    void *kept[ORCH_SUBCACHE_VIEWS] = {0};
    size_t kept_len[ORCH_SUBCACHE_VIEWS] = {0};

    if (strlen(id) != ID_LEN || strlen(stamp) > 32)
        return false;
    for (int v = 0; v < ORCH_SUBCACHE_VIEWS; v++)
        cost += bytes[v] ? len[v] : 0;
    pthread_mutex_lock(&c->mu);
    bool busy = c->npending && pending_find(c, id);
    for (size_t i = 0; i < nrelated && c->npending && !busy; i++)
        busy = pending_find(c, related[i]) != NULL;
    if (!c->live || ticket != c->epoch || cost > c->max_bytes || busy) {
        c->refused++;
        pthread_mutex_unlock(&c->mu);
        return false;
    }
    old = find(c, id);
    /* The same version with the other view already kept: keep it too. */
    if (old && strcmp(old->stamp, stamp) == 0)
        for (int v = 0; v < ORCH_SUBCACHE_VIEWS; v++)
            if (!bytes[v] && old->bytes[v]) {
                kept[v] = old->bytes[v];
                kept_len[v] = old->len[v];
                old->bytes[v] = NULL;
                old->cost -= kept_len[v];
                c->bytes -= kept_len[v];
                cost += kept_len[v];
            }
    if (old)
        remove_entry(c, old);
    while (c->bytes + cost > c->max_bytes && c->lru_tail)
        remove_entry(c, c->lru_tail);
    e = orch_calloc(1, sizeof(*e));
    memcpy(e->id, id, ID_LEN + 1);
    memcpy(e->stamp, stamp, strlen(stamp) + 1);
    e->cost = cost;
    for (int v = 0; v < ORCH_SUBCACHE_VIEWS; v++) {
        if (kept[v]) {
            e->bytes[v] = kept[v];
            e->len[v] = kept_len[v];
            continue;
        }
        if (!bytes[v])
            continue;
        e->bytes[v] = orch_malloc(len[v] ? len[v] : 1);
        memcpy(e->bytes[v], bytes[v], len[v]);
        e->len[v] = len[v];
    }
    e->rels = orch_calloc(nrelated ? nrelated : 1, sizeof(rel_node_t));
    for (size_t i = 0; i < nrelated; i++) {
        rel_node_t *r = &e->rels[e->nrels];
        size_t b;
        if (strlen(related[i]) != ID_LEN)
            continue;
        memcpy(r->id, related[i], ID_LEN + 1);
        r->e = e;
        b = hash_id(r->id) & (c->nbuckets - 1);
        r->next = c->rel_buckets[b];
        c->rel_buckets[b] = r;
        e->nrels++;
    }
    {
        size_t b = hash_id(id) & (c->nbuckets - 1);
        e->next = c->buckets[b];
        c->buckets[b] = e;
    }
    lru_push_head(c, e);
    c->bytes += cost;
    c->entries++;
    pthread_mutex_unlock(&c->mu);
    return true;
}

static void drop_one_locked(orch_subcache_t *c, const char *id)
{
    entry_t *e = find(c, id);
    rel_node_t *r;
    if (e) {
        remove_entry(c, e);
        c->drops++;
    }
    /* Entries that name id: restart after each removal (it unlinks nodes of this chain). */
    for (;;) {
        for (r = c->rel_buckets[hash_id(id) & (c->nbuckets - 1)]; r; r = r->next)
            if (strcmp(r->id, id) == 0)
                break;
        if (!r)
            break;
        remove_entry(c, r->e);
        c->drops++;
    }
}

void orch_subcache_changing(orch_subcache_t *c, const char *const *ids, size_t n, bool changing)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n; i++) {
        struct pending *p = pending_find(c, ids[i]);
        if (strlen(ids[i]) != ID_LEN)
            continue;
        if (changing) {
            if (!p) {
                if (c->npending == c->cappending) {
                    c->cappending = c->cappending ? c->cappending * 2 : 16;
                    c->pending = orch_realloc(c->pending, c->cappending * sizeof(*c->pending));
                }
                p = &c->pending[c->npending++];
                memcpy(p->id, ids[i], ID_LEN + 1);
                p->n = 0;
            }
            p->n++;
        } else {
            drop_one_locked(c, ids[i]);
            if (p && --p->n == 0)
                *p = c->pending[--c->npending];
        }
    }
    c->epoch++;
    pthread_mutex_unlock(&c->mu);
}

void orch_subcache_drop(orch_subcache_t *c, const char *const *ids, size_t n)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n; i++)
        drop_one_locked(c, ids[i]);
    c->epoch++; /* also when nothing was cached: a fill may be reading it right now */
    pthread_mutex_unlock(&c->mu);
}

void orch_subcache_drop_all(orch_subcache_t *c)
{
    pthread_mutex_lock(&c->mu);
    c->drops += c->entries;
    drop_all_locked(c);
    pthread_mutex_unlock(&c->mu);
}

static bool hex_or_dash(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') ||
           ch == '-';
}

void orch_subcache_drop_payload(orch_subcache_t *c, const char *payload)
{
    const char *p = payload;
    size_t nids = 0;

    if (!p || !*p) {
        orch_subcache_drop_all(c);
        return;
    }
    pthread_mutex_lock(&c->mu);
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        size_t idlen = 0;
        while (idlen < n && hex_or_dash(p[idlen]))
            idlen++;
        if (idlen == ID_LEN && (idlen == n || p[idlen] == ':')) {
            char id[ID_LEN + 1];
            for (size_t i = 0; i < ID_LEN; i++)
                id[i] = (p[i] >= 'A' && p[i] <= 'F') ? (char)(p[i] - 'A' + 'a') : p[i];
            id[ID_LEN] = '\0';
            drop_one_locked(c, id);
            nids++;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    c->epoch++;
    if (nids == 0) { /* not a payload we understand: assume anything changed */
        c->drops += c->entries;
        drop_all_locked(c);
    }
    pthread_mutex_unlock(&c->mu);
}

void orch_subcache_stats(orch_subcache_t *c, orch_subcache_stats_t *out)
{
    pthread_mutex_lock(&c->mu);
    out->entries = c->entries;
    out->bytes = c->bytes;
    out->max_bytes = c->max_bytes;
    out->hits = c->hits;
    out->misses = c->misses;
    out->drops = c->drops;
    out->refused_puts = c->refused;
    out->went_live = c->went_live;
    pthread_mutex_unlock(&c->mu);
}
