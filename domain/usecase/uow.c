/* The unit of work of a use case and the one road of request-id idempotency: every
 * state-changing call opens its transaction here, claims its request id here and commits
 * here with its stored answer and, for an admin call, its audit row. */
#include <stdlib.h>
#include <string.h>

#include "domain/ids.h"
#include "domain/usecase/usecase.h"

void orch_caller_cleanup(orch_caller_t *c)
{
    if (!c)
        return;
    free(c->replay);
    c->replay = NULL;
    c->replay_len = 0;
}

const char *orch_caller_actor(const orch_caller_t *c)
{
    return c && c->actor && *c->actor ? c->actor : "anonymous";
}

orch_err_t orch_caller_need_role(const orch_caller_t *c, const char *role, const char *what,
                                 orch_error_t *err)
{
    if (!role || c->admin || (c->has_role && c->has_role(c->role_arg, role)))
        return ORCH_OK;
    return orch_error_set(err, ORCH_PERMISSION_DENIED, "MISSING_ROLE",
                          "%s needs the role '%s', which the token does not hold", what, role);
}

orch_err_t orch_uow_begin(const orch_uc_t *uc, orch_caller_t *caller, orch_uow_t *u,
                          orch_error_t *err)
{
    orch_store_t *st = uc->store;
    const char *rid = caller->request_id && *caller->request_id ? caller->request_id : NULL;
    unsigned char *resp = NULL;
    size_t len = 0;
    orch_idem_t state;
    orch_err_t rc;

    memset(u, 0, sizeof(*u));
    u->uc = uc;
    u->caller = caller;
    caller->replayed = false;
    if (rid) {
        rc = orch_uuid_check(rid, "request_id", err);
        if (rc)
            return rc;
    }
    rc = st->uow->begin(st, caller->ctx, &u->tx, err);
    if (rc || !rid)
        return rc;
    rc = st->uow->idem_claim(u->tx, rid, caller->method ? caller->method : "", caller->hash, &state,
                             &resp, &len, err);
    if (!rc && state == ORCH_IDEM_MISMATCH)
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "REQUEST_ID_REUSED",
                            "request_id %s was already used for a different request; use a new "
                            "id for a new request",
                            rid);
    if (rc) {
        free(resp);
        orch_uow_abort(u);
        return rc;
    }
    if (state == ORCH_IDEM_REPLAY) {
        /* A repeat (its first answer lost with a replica or a connection): that answer, and
         * nothing judged again, since the first call changed the world it would judge. */
        orch_caller_cleanup(caller);
        caller->replay = resp;
        caller->replay_len = len;
        caller->replayed = true;
        orch_uow_abort(u);
    }
    return ORCH_OK;
}

/* Does orch_uow_commit write the call's answer (request_id) or admin action? */
static bool commit_writes(const orch_caller_t *c)
{
    return c->audit_method || (c->request_id && *c->request_id && c->answer);
}

/* The next store call is the unit of work's last one (a single statement): its COMMIT goes
 * with it. */
static void commit_with_next(orch_uow_t *u)
{
    if (u->tx && u->uc->store->uow->commit_with_next)
        u->uc->store->uow->commit_with_next(u->tx);
}

void orch_uow_last_write_next(orch_uow_t *u)
{
    if (!commit_writes(u->caller))
        commit_with_next(u);
}

bool orch_uow_go_alone(orch_uow_t *u)
{
    if (!u->tx || commit_writes(u->caller))
        return false;
    u->uc->store->uow->rollback(u->tx);
    u->tx = NULL;
    u->alone = true;
    return true;
}

orch_err_t orch_uow_commit(orch_uow_t *u, orch_error_t *err)
{
    orch_store_t *st = u->uc->store;
    orch_caller_t *c = u->caller;
    orch_tx_t *tx = u->tx;
    unsigned char *buf = NULL;
    size_t len = 0;
    orch_err_t rc = ORCH_OK;

    if (!tx)
        return u->alone
                   ? ORCH_OK
                   : orch_error_set(err, ORCH_INTERNAL, NULL, "the unit of work has ended already");
    if (c->audit_method && !(c->request_id && *c->request_id && c->answer))
        commit_with_next(u); /* the admin action is the last write */
    u->tx = NULL;
    if (c->audit_method)
        rc = st->audit->record(st, tx, NULL, c->audit_kind ? c->audit_kind : "",
                               c->audit_name ? c->audit_name : "", c->audit_method,
                               c->audit_target ? c->audit_target : "",
                               c->request_id && *c->request_id ? c->request_id : NULL, err);
    if (!rc && c->request_id && *c->request_id && c->answer) {
        rc = c->answer(c->answer_arg, &buf, &len, err);
        if (!rc && st->uow->commit_with_next)
            st->uow->commit_with_next(tx); /* the answer is the last write */
        if (!rc)
            rc = st->uow->idem_record(tx, c->request_id, buf, len, err);
        free(buf);
    }
    if (rc) {
        st->uow->rollback(tx);
        return rc;
    }
    return st->uow->commit(tx, err);
}

void orch_uow_abort(orch_uow_t *u)
{
    if (u && u->tx) {
        u->uc->store->uow->rollback(u->tx);
        u->tx = NULL;
    }
}

orch_err_t orch_uow_refuse_if_paused(orch_uow_t *u, orch_error_t *err)
{
    orch_store_t *st = u->uc->store;
    orch_engine_status_t es;
    orch_err_t rc = st->engine->status(st, u->tx, NULL, &es, err);
    if (rc)
        return rc;
    if (es.paused)
        return orch_error_set(err, ORCH_UNAVAILABLE, "ENGINE_PAUSED",
                              "the engine is paused; start again after ResumeEngine");
    return ORCH_OK;
}
