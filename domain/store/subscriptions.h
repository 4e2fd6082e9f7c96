/* The store's table of subscriptions, reached as st->subs (db/store_subscription.c,
 * store_events.c): their trees, metadata, customer descriptions and change events.
 * Calling convention (domain/store.h): every op takes (st, tx, ctx, ..., err); the heading
 * of each group says whether its ops need a unit of work, take one or none, or run on their
 * own. */
#ifndef ORCH_STORE_SUBSCRIPTIONS_H
#define ORCH_STORE_SUBSCRIPTIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ctx.h"
#include "base/errors.h"
#include "domain/catalog/catalog.h"
#include "domain/events.h"
#include "domain/subscription/subscription.h"

typedef struct orch_store orch_store_t;
typedef struct orch_tx orch_tx_t;

/* A page request of ListSubscriptions. */
typedef struct orch_sub_query {
    const char *filter;     /* AIP-160 over the fields of docs/API.md */
    const char *query;      /* full-text search (websearch syntax); NULL/"" = none */
    const char *order_by;   /* "create_time" (default), "start_time", "end_time",
                               "customer_id", "description", "status"; " desc" reverses */
    int page_size;          /* already clamped */
    const char *page_token; /* from a previous page */
    /* true: each subscription's whole tree (FULL). false: what the BASIC view shows, read
     * without the trees' field values, the blocks of other subscriptions and the metadata:
     * the tree holds its blocks and references (so orch_sub_depends_on is right) but no
     * values; read fields only from a full load. */
    bool full;
    /* true: the caller reads no total (a task that walks every page): no count is run, and
     * total is the page's length. */
    bool no_total;
} orch_sub_query_t;

/* One page of subscriptions. Caller frees with orch_sub_page_cleanup. */
typedef struct orch_sub_page {
    orch_subscription_t **items;
    size_t n;
    char *next_token; /* NULL on the last page */
    long total;
    bool total_is_estimate;
} orch_sub_page_t;

void orch_sub_page_cleanup(orch_sub_page_t *page);

/* One page of ListSubscriptions as ids, in the page's order, without the subscriptions
 * (list_ids below). Caller frees with orch_sub_id_page_cleanup. */
typedef struct orch_sub_id_page {
    char (*ids)[ORCH_UUID_LEN + 1];
    char (*stamps)[33]; /* each one's stamp when asked for (as st->subs->stamp); else NULL */
    size_t n;
    char *next_token; /* NULL on the last page */
    long total;
    bool total_is_estimate;
} orch_sub_id_page_t;

void orch_sub_id_page_cleanup(orch_sub_id_page_t *page);

typedef struct orch_sub_store {
    /* ---- In a unit of work (tx required) ---- */
    /* Saves sub in tx: the row (optimistic lock on sub->version: ABORTED VERSION_CONFLICT
     * when someone else saved since it was loaded; version 0 = insert), its owned
     * instances, values and relations (orphans deleted), its search text. On success
     * sub->version and its times are the stored ones. */
    orch_err_t (*save)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                       orch_subscription_t *sub, orch_error_t *err);
    /* Processes of the subscription that are not tasks and not finished (completed or
     * aborted): they hold its lock. */
    orch_err_t (*count_unfinished)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                                   const char *subscription_id, long *n, orch_error_t *err);
    /* Replaces metadata when *version matches (ABORTED VERSION_CONFLICT otherwise); *version
     * becomes the new one. */
    orch_err_t (*set_metadata)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *subscription_id, const json_t *metadata,
                               int64_t *version, orch_error_t *err);
    /* Customer descriptions (cd_get below): upsert-free create (ALREADY_EXISTS), versioned
     * update and delete (version 0 = any). *out: caller frees with
     * orch_customer_description_cleanup. */
    orch_err_t (*cd_create)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *subscription_id, const char *customer_id,
                            const char *description, orch_customer_description_t *out,
                            orch_error_t *err);
    orch_err_t (*cd_update)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *subscription_id, const char *customer_id,
                            const char *description, int64_t version,
                            orch_customer_description_t *out, orch_error_t *err);
    orch_err_t (*cd_delete)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                            const char *subscription_id, const char *customer_id, int64_t version,
                            orch_error_t *err);

    /* ---- With or without a unit of work (tx NULL: alone, on a pooled connection) ---- */
    /* Reads one subscription with its whole tree, the blocks of other subscriptions it
     * references, its metadata, customer descriptions and users, in a fixed number of
     * statements whatever the tree's size; for_update (with a tx) locks the row until tx
     * ends. NOT_FOUND if absent. */
    orch_err_t (*load)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                       const orch_catalog_t *cat, const char *subscription_id, bool for_update,
                       orch_subscription_t **out, orch_error_t *err);
    /* The subscription's change events, as st->procs's for a process (orch_event_t.process_id
     * holds the subscription id): its last event sequence (NOT_FOUND SUBSCRIPTION_NOT_FOUND),
     * read in the snapshot of st->uow->snapshot with a tx. */
    orch_err_t (*events_seq)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                             const char *subscription_id, int64_t *seq, orch_error_t *err);

    /* ---- On their own (tx NULL) ---- */
    /* The read path of GetSubscription: load without a unit of work, in one statement, that also
     * gives the subscription's stamp (32 hex digits and a NUL): a digest of everything its answer
     * shows that can change. Equal stamps, equal answers. NOT_FOUND SUBSCRIPTION_NOT_FOUND. */
    orch_err_t (*get)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                      const orch_catalog_t *cat, const char *subscription_id,
                      orch_subscription_t **out, char stamp[33], orch_error_t *err);
    /* Only the stamp, in one indexed round trip (consistency = STRONG). NOT_FOUND
     * SUBSCRIPTION_NOT_FOUND. */
    orch_err_t (*stamp)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                        const char *subscription_id, char stamp[33], orch_error_t *err);
    /* Several subscriptions by id in ONE statement, each with its stamp (as get): out[i]
     * and stamps[i] for ids[i]; out[i] NULL (stamps[i] "") for an id that does not exist.
     * full false: the BASIC load (orch_sub_query_t.full). out[i]: caller frees each with
     * orch_subscription_free. */
    orch_err_t (*get_many)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                           const orch_catalog_t *cat, const char *const *ids, size_t n, bool full,
                           orch_subscription_t **out, char (*stamps)[33], orch_error_t *err);
    /* The ids of a page of ListSubscriptions (its count, then the keyset page: the
     * statements of list without the load), with each one's stamp when with_stamps. q->full
     * is not used. page: caller cleans up with orch_sub_id_page_cleanup. */
    orch_err_t (*list_ids)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                           const orch_sub_query_t *q, bool with_stamps, orch_sub_id_page_t *page,
                           orch_error_t *err);
    /* A page of ListSubscriptions: list_ids, then get_many of its ids (q->full).
     * page: caller cleans up with orch_sub_page_cleanup. */
    orch_err_t (*list)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                       const orch_catalog_t *cat, const orch_sub_query_t *q, orch_sub_page_t *page,
                       orch_error_t *err);
    /* A customer description. NOT_FOUND if absent. */
    orch_err_t (*cd_get)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                         const char *subscription_id, const char *customer_id,
                         orch_customer_description_t *out, orch_error_t *err);
    /* Up to limit change events with sequence > after, in order. *out: caller frees with
     * orch_events_free. */
    orch_err_t (*events_after)(orch_store_t *st, orch_tx_t *tx, const orch_ctx_t *ctx,
                               const char *subscription_id, int64_t after, int limit,
                               orch_event_t **out, size_t *n, orch_error_t *err);
} orch_sub_store_t;

#endif
