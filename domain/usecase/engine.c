/* The engine's pause switch: PauseEngine and ResumeEngine. */
#include "domain/usecase/usecase.h"

orch_err_t orch_uc_engine_set_paused(const orch_uc_t *uc, orch_caller_t *caller, bool paused,
                                     orch_engine_status_t *out, orch_error_t *err)
{
    orch_store_t *st = uc->store;
    orch_uow_t u = {0};
    orch_err_t rc = orch_uow_begin(uc, caller, &u, err);
    if (rc || caller->replayed)
        return rc;
    rc = st->engine->set_paused(st, u.tx, NULL, paused, orch_caller_actor(caller), err);
    if (!rc)
        rc = st->engine->status(st, u.tx, NULL, out, err);
    if (!rc)
        rc = orch_uow_commit(&u, err);
    orch_uow_abort(&u);
    return rc;
}
