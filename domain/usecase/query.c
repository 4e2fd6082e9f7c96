/* The reads: what GetProcess, the lists, the streams' snapshots and catch-up reads ask of
 * the store. No unit of work and no rule beyond the store's own checks; a consistent
 * snapshot where an answer pairs a record with its event sequence. */
#include <stdlib.h>
#include <string.h>

#include "domain/engine/engine.h"

#include "domain/usecase/usecase.h"

orch_err_t orch_uc_process_get(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *process_id,
                               bool full, orch_process_t **out, orch_error_t *err)
{
    orch_err_t rc;

    *out = NULL;
    rc = orch_process_id_check(process_id, err);
    if (rc)
        return rc;
    return uc->store->procs->get(uc->store, NULL, ctx, process_id, full, out, err);
}

orch_err_t orch_uc_process_list(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                const orch_process_query_t *q, bool full, orch_process_page_t *page,
                                orch_error_t *err)
{
    orch_store_t *st = uc->store;
    orch_err_t rc = st->procs->list(st, NULL, ctx, q, page, err);
    /* The list gives the basic rows; the full view reads each process with its log. */
    for (size_t i = 0; !rc && full && i < page->n; i++) {
        orch_process_t *p = NULL;
        rc = st->procs->get(st, NULL, ctx, page->items[i]->id, true, &p, err);
        if (!rc) {
            orch_process_free(page->items[i]);
            page->items[i] = p;
        }
    }
    if (rc)
        orch_process_page_cleanup(page);
    return rc;
}

orch_err_t orch_uc_process_status_counts(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                         const char *filter, orch_status_count_t **out, size_t *n,
                                         orch_error_t *err)
{
    return uc->store->procs->status_counts(uc->store, NULL, ctx, filter, out, n, err);
}

void orch_uc_process_pending(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *process_id,
                             json_t **callback, json_t **task)
{
    orch_error_t e;
    *callback = *task = NULL;
    if (!uc->store)
        return;
    orch_error_init(&e);
    if (uc->store->procs->callback_pending(uc->store, NULL, ctx, process_id, callback, &e))
        *callback = NULL;
    orch_error_init(&e);
    if (uc->store->workers->task_pending(uc->store, NULL, ctx, process_id, task, &e))
        *task = NULL;
}

bool orch_uc_process_form_page(const orch_uc_t *uc, const orch_ctx_t *ctx, const orch_process_t *p,
                               const char *step_key, json_t **schema, const char **title)
{
    const orch_workflow_t *wf =
        uc->registry ? orch_registry_find(uc->registry, p->workflow_name, p->version) : NULL;
    const orch_leaf_t *leaf = NULL;
    const orch_form_page_t *page = NULL;
    json_t *answers;

    *schema = NULL;
    *title = NULL;
    for (size_t i = 0; wf && step_key && i < wf->nleaves; i++)
        if (strcmp(wf->leaves[i].key, step_key) == 0)
            leaf = &wf->leaves[i];
    if (!leaf || leaf->def->kind != ORCH_KIND_INPUT || !leaf->def->form)
        return false;
    {
        orch_form_env_t env = {uc->store, NULL, ctx, uc->catalog, orch_process_current_state(p)};
        answers = json_object();
        page = orch_form_page_at(leaf->def->form, &env, 0, answers);
        if (page) {
            *schema = orch_form_page_schema(page, &env, 0, answers);
            *title = page->title;
        }
        json_decref(answers);
    }
    return page != NULL;
}

/* Begins a unit of work that reads one snapshot, so that an object and the sequence of its
 * last event agree: a watch that starts from them misses no event and sees none twice. The
 * caller rolls tx back (it only reads). */
static orch_err_t snapshot_begin(orch_store_t *st, const orch_ctx_t *ctx, orch_tx_t **tx,
                                 orch_error_t *err)
{
    orch_err_t rc = st->uow->begin(st, ctx, tx, err);
    return rc ? rc : st->uow->snapshot(*tx, err);
}

orch_err_t orch_uc_process_snapshot(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                    const char *process_id, int64_t *seq, orch_process_t **out,
                                    orch_error_t *err)
{
    orch_store_t *st = uc->store;
    orch_tx_t *tx = NULL;
    orch_err_t rc = snapshot_begin(st, ctx, &tx, err);
    *out = NULL;
    if (!rc)
        rc = st->procs->events_seq(st, tx, ctx, process_id, seq, err);
    if (!rc)
        rc = st->procs->get(st, tx, ctx, process_id, false, out, err);
    st->uow->rollback(tx);
    return rc;
}

orch_err_t orch_uc_subscription_snapshot(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                         const char *subscription_id, bool load, int64_t *seq,
                                         orch_subscription_t **out, orch_error_t *err)
{
    orch_store_t *st = uc->store;
    orch_tx_t *tx = NULL;
    orch_err_t rc = snapshot_begin(st, ctx, &tx, err);
    *out = NULL;
    if (!rc)
        rc = st->subs->events_seq(st, tx, ctx, subscription_id, seq, err);
    if (!rc && load)
        rc = st->subs->load(st, tx, ctx, uc->catalog, subscription_id, false, out, err);
    st->uow->rollback(tx);
    return rc;
}

orch_err_t orch_uc_events_after(const orch_uc_t *uc, const orch_ctx_t *ctx, bool subscription,
                                const char *id, int64_t after, int limit, orch_event_t **out,
                                size_t *n, orch_error_t *err)
{
    orch_store_t *st = uc->store;
    if (subscription)
        return st->subs->events_after(st, NULL, ctx, id, after, limit, out, n, err);
    return st->procs->events_after(st, NULL, ctx, id, after, limit, out, n, err);
}

orch_err_t orch_uc_events_global(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *filter,
                                 const char *cursor, int limit, orch_event_t **out, size_t *n,
                                 char out_cursor[64], orch_error_t *err)
{
    return uc->store->procs->events_global(uc->store, NULL, ctx, filter, cursor, limit, out, n,
                                           out_cursor, err);
}

orch_err_t orch_uc_subscription_load(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                     const char *subscription_id, orch_subscription_t **out,
                                     orch_error_t *err)
{
    return uc->store->subs->load(uc->store, NULL, ctx, uc->catalog, subscription_id, false, out,
                                 err);
}

orch_err_t orch_uc_subscription_get(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                    const char *subscription_id, orch_subscription_t **out,
                                    char stamp[33], orch_error_t *err)
{
    return uc->store->subs->get(uc->store, NULL, ctx, uc->catalog, subscription_id, out, stamp,
                                err);
}

orch_err_t orch_uc_subscription_stamp(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                      const char *subscription_id, char stamp[33],
                                      orch_error_t *err)
{
    return uc->store->subs->stamp(uc->store, NULL, ctx, subscription_id, stamp, err);
}

orch_err_t orch_uc_subscription_list(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                     const orch_sub_query_t *q, orch_sub_page_t *page,
                                     orch_error_t *err)
{
    return uc->store->subs->list(uc->store, NULL, ctx, uc->catalog, q, page, err);
}

orch_err_t orch_uc_subscription_list_ids(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                         const orch_sub_query_t *q, bool strong,
                                         orch_sub_id_page_t *page, orch_error_t *err)
{
    return uc->store->subs->list_ids(uc->store, NULL, ctx, q, strong, page, err);
}

orch_err_t orch_uc_subscription_get_many(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                         const char *const *ids, size_t n, bool full,
                                         orch_subscription_t **out, char (*stamps)[33],
                                         orch_error_t *err)
{
    return uc->store->subs->get_many(uc->store, NULL, ctx, uc->catalog, ids, n, full, out, stamps,
                                     err);
}

orch_err_t orch_uc_engine_status(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                 orch_engine_status_t *out, orch_error_t *err)
{
    return uc->store->engine->status(uc->store, NULL, ctx, out, err);
}

orch_err_t orch_uc_replica_list(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *filter,
                                int page_size, const char *page_token, orch_replica_page_t *out,
                                orch_error_t *err)
{
    return uc->store->engine->replica_list(uc->store, NULL, ctx, filter, page_size, page_token, out,
                                           err);
}

orch_err_t orch_uc_schedule_list(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                 const orch_schedule_query_t *q, orch_schedule_page_t *out,
                                 orch_error_t *err)
{
    return uc->store->schedules->list(uc->store, NULL, ctx, q, out, err);
}

orch_err_t orch_uc_admin_action_list(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *method,
                                     const char *target, int64_t before_id, int limit,
                                     orch_admin_action_t **out, size_t *n, orch_error_t *err)
{
    return uc->store->audit->list(uc->store, NULL, ctx, method, target, before_id, limit, out, n,
                                  err);
}

orch_err_t orch_uc_workflow_list(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *filter,
                                 int page_size, const char *page_token, orch_wf_info_t ***out,
                                 size_t *n, long *total, char **next_token, orch_error_t *err)
{
    return uc->store->catalog->workflow_list(uc->store, NULL, ctx, filter, page_size, page_token,
                                             out, n, total, next_token, err);
}

orch_err_t orch_uc_workflow_get(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *id,
                                const char *name, orch_wf_info_t **out, orch_error_t *err)
{
    return uc->store->catalog->workflow_get(uc->store, NULL, ctx, id, name, out, err);
}
