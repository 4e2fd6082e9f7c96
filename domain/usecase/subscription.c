/* The subscription changes a client may ask for directly (a workflow changes the rest):
 * in sync, metadata, customer descriptions. Each one runs on the locked subscription in its
 * own unit of work. */
#include <string.h>

#include "domain/ids.h"
#include "domain/usecase/usecase.h"

/* The subscription's own change: edits sub (locked in u); save: store it afterwards. */
typedef orch_err_t (*sub_change_fn)(orch_uow_t *u, orch_subscription_t *sub, const void *arg,
                                    orch_error_t *err);

static orch_err_t change(const orch_uc_t *uc, orch_caller_t *caller, const char *id,
                         int64_t version, bool save, sub_change_fn fn, const void *arg,
                         orch_subscription_t **out, orch_error_t *err)
{
    orch_store_t *st = uc->store;
    orch_subscription_t *sub = NULL;
    orch_uow_t u = {0};
    orch_err_t rc;

    *out = NULL;
    rc = orch_uuid_check(id, "subscription_id", err);
    if (!rc)
        rc = orch_uow_begin(uc, caller, &u, err);
    if (rc || caller->replayed)
        return rc;
    rc = st->subs->load(st, u.tx, caller->ctx, uc->catalog, id, true, &sub, err);
    if (!rc && version && version != sub->version)
        rc = orch_error_set(err, ORCH_ABORTED, "VERSION_CONFLICT",
                            "subscription %s is at version %lld, not %lld; read it again and "
                            "retry",
                            id, (long long)sub->version, (long long)version);
    if (!rc)
        rc = fn(&u, sub, arg, err);
    if (!rc && save)
        rc = st->subs->save(st, u.tx, NULL, sub, err);
    if (!rc) {
        *out = sub; /* the answer is encoded from it at commit */
        rc = orch_uow_commit(&u, err);
        if (rc)
            *out = NULL;
    }
    orch_uow_abort(&u);
    if (rc)
        orch_subscription_free(sub);
    return rc;
}

static orch_err_t do_in_sync(orch_uow_t *u, orch_subscription_t *sub, const void *arg,
                             orch_error_t *err)
{
    long n = 0;
    orch_err_t rc;
    (void)arg;
    if (sub->in_sync)
        return ORCH_OK;
    rc = u->uc->store->subs->count_unfinished(u->uc->store, u->tx, NULL, sub->id, &n, err);
    if (rc)
        return rc;
    if (n > 0)
        return orch_error_set(err, ORCH_FAILED_PRECONDITION, "SUBSCRIPTION_LOCKED_BY_PROCESS",
                              "subscription %s is locked by %ld unfinished process%s; finish or "
                              "abort %s first",
                              sub->id, n, n == 1 ? "" : "es", n == 1 ? "it" : "them");
    sub->in_sync = true;
    return ORCH_OK;
}

orch_err_t orch_uc_subscription_set_in_sync(const orch_uc_t *uc, orch_caller_t *caller,
                                            const char *subscription_id, int64_t version,
                                            orch_subscription_t **out, orch_error_t *err)
{
    return change(uc, caller, subscription_id, version, true, do_in_sync, NULL, out, err);
}

static orch_err_t do_metadata(orch_uow_t *u, orch_subscription_t *sub, const void *arg,
                              orch_error_t *err)
{
    json_t *meta = json_deep_copy(arg);
    int64_t ver = sub->metadata_version;
    orch_err_t rc =
        u->uc->store->subs->set_metadata(u->uc->store, u->tx, NULL, sub->id, meta, &ver, err);
    if (!rc) {
        json_decref(sub->metadata);
        sub->metadata = meta;
        sub->metadata_version = ver;
    } else {
        json_decref(meta);
    }
    return rc;
}

orch_err_t orch_uc_subscription_set_metadata(const orch_uc_t *uc, orch_caller_t *caller,
                                             const char *subscription_id, int64_t version,
                                             const json_t *metadata, orch_subscription_t **out,
                                             orch_error_t *err)
{
    return change(uc, caller, subscription_id, version, false, do_metadata, metadata, out, err);
}

static orch_err_t check_cd_input(const char *sub_id, const char *customer_id,
                                 const char *description, bool need_desc, orch_error_t *err)
{
    orch_err_t rc = orch_uuid_check(sub_id, "subscription_id", err);
    if (rc)
        return rc;
    if (!customer_id || !*customer_id || strlen(customer_id) > 255)
        return orch_error_invalid(err, "customer_id", "must be 1 to 255 characters");
    if (need_desc && (!description || !*description || strlen(description) > 2000))
        return orch_error_invalid(err, "description", "must be 1 to 2000 characters");
    return ORCH_OK;
}

orch_err_t orch_uc_customer_description_change(const orch_uc_t *uc, orch_caller_t *caller,
                                               orch_cd_op_t op, const char *subscription_id,
                                               const char *customer_id, const char *description,
                                               int64_t version, orch_customer_description_t *out,
                                               orch_error_t *err)
{
    orch_store_t *st = uc->store;
    orch_uow_t u = {0};
    orch_err_t rc;

    memset(out, 0, sizeof(*out));
    rc = check_cd_input(subscription_id, customer_id, description, op != ORCH_CD_DELETE, err);
    if (!rc)
        rc = orch_uow_begin(uc, caller, &u, err);
    if (rc || caller->replayed)
        return rc;
    if (op == ORCH_CD_CREATE)
        rc = st->subs->cd_create(st, u.tx, NULL, subscription_id, customer_id, description, out,
                                 err);
    else if (op == ORCH_CD_UPDATE)
        rc = st->subs->cd_update(st, u.tx, NULL, subscription_id, customer_id, description, version,
                                 out, err);
    else
        rc = st->subs->cd_delete(st, u.tx, NULL, subscription_id, customer_id, version, err);
    if (!rc)
        rc = orch_uow_commit(&u, err);
    orch_uow_abort(&u);
    if (rc)
        orch_customer_description_cleanup(out);
    return rc;
}

orch_err_t orch_uc_customer_description_get(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                            const char *subscription_id, const char *customer_id,
                                            orch_customer_description_t *out, orch_error_t *err)
{
    orch_err_t rc = check_cd_input(subscription_id, customer_id, NULL, false, err);
    memset(out, 0, sizeof(*out));
    if (rc)
        return rc;
    return uc->store->subs->cd_get(uc->store, NULL, ctx, subscription_id, customer_id, out, err);
}
