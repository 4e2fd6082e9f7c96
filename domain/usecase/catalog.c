/* Catalogue updates: a product's description and status, in the database and in this
 * replica's catalogue together. */
#include "domain/usecase/usecase.h"

orch_err_t orch_uc_product_update(const orch_uc_t *uc, orch_caller_t *caller,
                                  const orch_product_t *p, const char *description,
                                  orch_product_status_t status, orch_error_t *err)
{
    orch_uow_t u = {0};
    int64_t end_time_us = 0;
    orch_err_t rc = orch_uow_begin(uc, caller, &u, err);
    if (rc || caller->replayed)
        return rc;
    /* Refused at end of life while live subscriptions exist (catalog.c). */
    rc = orch_catalog_update_product(uc->catalog, uc->store, u.tx, p, description, status,
                                     &end_time_us, err);
    if (rc) {
        orch_uow_abort(&u);
        return rc;
    }
    /* The answer (stored for repeats) shows the product as it will be committed. Apply and
     * commit under the change lock, so that a concurrent refresh cannot bring back older
     * values over ours. */
    orch_catalog_change_lock(uc->catalog);
    orch_catalog_product_apply(uc->catalog, p, status, description, end_time_us);
    rc = orch_uow_commit(&u, err);
    orch_catalog_change_unlock(uc->catalog);
    if (rc) {
        /* Not committed: bring the in-memory product back to what the database holds. */
        orch_error_t ignore;
        orch_error_init(&ignore);
        uc->store->catalog->refresh(uc->store, NULL, NULL, uc->catalog, &ignore);
    }
    return rc;
}
