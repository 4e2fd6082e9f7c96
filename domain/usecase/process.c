/* The actions on an existing process: resume (answers to an input step, or a retry), retry,
 * abort, delete, note, bulk resume and the callbacks of external systems. Each one is a unit
 * of work with its rules: the pause switch, the role the process's workflow requires, the
 * input step's form and role. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/engine/engine.h"
#include "domain/ids.h"
#include "domain/usecase/usecase.h"

void orch_action_res_cleanup(orch_action_res_t *r)
{
    if (!r)
        return;
    orch_form_result_cleanup(&r->form);
    orch_process_free(r->process);
    for (size_t i = 0; i < r->nids; i++)
        free(r->ids[i]);
    free(r->ids);
    memset(r, 0, sizeof(*r));
}

/* How every action on one process starts: its id checked, a free text (field, when given)
 * held to max characters, the unit of work begun. The caller returns at once on an error or
 * a replay (caller->replayed). */
static orch_err_t action_begin(const orch_uc_t *uc, orch_caller_t *caller, const char *process_id,
                               const char *field, const char *text, size_t max, orch_uow_t *u,
                               orch_error_t *err)
{
    orch_err_t rc = orch_process_id_check(process_id, err);
    if (!rc && text && strlen(text) > max)
        rc = orch_error_invalid(err, field, "a %s has at most %zu characters", field, max);
    if (!rc)
        rc = orch_uow_begin(uc, caller, u, err);
    return rc;
}

/* The process as it now reads in u, for the answer. */
static orch_err_t reread(orch_uow_t *u, const char *id, orch_action_res_t *res, orch_error_t *err)
{
    orch_store_t *st = u->uc->store;
    orch_process_free(res->process);
    res->process = NULL;
    return st->procs->get(st, u->tx, u->caller->ctx, id, false, &res->process, err);
}

/* The role the process's workflow version requires, checked in u (after the process row is
 * locked or before it is changed). */
static orch_err_t check_process_role(orch_uow_t *u, const char *process_id, orch_error_t *err)
{
    orch_store_t *st = u->uc->store;
    orch_process_t *p = NULL;
    const orch_workflow_t *wf;
    char what[300];
    orch_err_t rc;
    if (u->caller->admin)
        return ORCH_OK; /* holds every role: spare the lookup */
    rc = st->procs->get(st, u->tx, u->caller->ctx, process_id, false, &p, err);
    if (rc)
        return rc;
    wf = orch_registry_find(u->uc->registry, p->workflow_name, p->version);
    if (wf && wf->def->required_role) {
        snprintf(what, sizeof(what), "workflow %s", wf->def->name);
        rc = orch_caller_need_role(u->caller, wf->def->required_role, what, err);
    }
    orch_process_free(p);
    return rc;
}

/* Ends u: commits when rc is OK (the answer is stored with it), else rolls back. */
static orch_err_t finish(orch_uow_t *u, orch_err_t rc, orch_error_t *err)
{
    if (!rc)
        rc = orch_uow_commit(u, err);
    orch_uow_abort(u);
    return rc;
}

/* The answers to the input step the process is suspended at: its form (validated like a
 * start form, stored with who gave them, deep-merged into the state) and its role. */
static orch_err_t answer_input(orch_uow_t *u, const char *process_id, const char *last,
                               const json_t *const *inputs, size_t ninputs, orch_action_res_t *res,
                               orch_error_t *err)
{
    orch_store_t *st = u->uc->store;
    orch_process_t *p = NULL;
    const orch_workflow_t *wf;
    const orch_leaf_t *leaf;
    json_t *merged = NULL, *overlay = NULL;
    orch_form_env_t env = {st, u->tx, u->caller->ctx, u->uc->catalog, NULL};
    char what[400];
    orch_err_t rc = st->procs->get(st, u->tx, u->caller->ctx, process_id, true, &p, err);
    if (rc)
        return rc;
    wf = orch_registry_find(u->uc->registry, p->workflow_name, p->version);
    leaf = orch_workflow_leaf(wf, last);
    if (!leaf || leaf->def->kind != ORCH_KIND_INPUT || !leaf->def->form) {
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "PROCESS_NOT_RESUMABLE",
                            "process %s is suspended at %s, which this server cannot resume",
                            process_id, last);
        goto out;
    }
    snprintf(what, sizeof(what), "step %s of workflow %s", leaf->key, wf->def->name);
    rc = orch_caller_need_role(u->caller, leaf->def->required_role, what, err);
    if (rc)
        goto out;
    env.context = orch_process_current_state(p);
    rc = orch_form_run(leaf->def->form, &env, inputs, ninputs, "user_inputs", &res->form, err);
    if (rc || !res->form.complete)
        goto out;
    merged = orch_json_deep_merge(orch_process_current_state(p), res->form.masked);
    rc = st->procs->resume_input(st, u->tx, NULL, process_id, leaf->key, leaf->def->name,
                                 res->form.masked, merged, res->form.masked,
                                 orch_caller_actor(u->caller), err);
    /* The secret answers go to the store's secret table, apart from the audit log. */
    overlay = rc ? NULL : orch_form_secrets(res->form.answers, res->form.masked);
    if (overlay)
        rc = st->procs->secrets_put(st, u->tx, NULL, process_id, leaf->key, overlay, err);
out:
    json_decref(overlay);
    json_decref(merged);
    orch_process_free(p);
    return rc;
}

static bool retriable(const char *status)
{
    return strcmp(status, "failed") == 0 || strcmp(status, "waiting") == 0 ||
           strcmp(status, "api_unavailable") == 0 || strcmp(status, "inconsistent_data") == 0 ||
           strcmp(status, "awaiting_callback") == 0;
}

orch_err_t orch_uc_process_resume(const orch_uc_t *uc, orch_caller_t *caller,
                                  const char *process_id, const json_t *const *inputs,
                                  size_t ninputs, orch_action_res_t *res, orch_error_t *err)
{
    orch_store_t *st = uc->store;
    orch_uow_t u = {0};
    char status[32], last[256];
    orch_err_t rc;

    memset(res, 0, sizeof(*res));
    rc = action_begin(uc, caller, process_id, NULL, NULL, 0, &u, err);
    if (rc || caller->replayed)
        return rc;
    rc = orch_uow_refuse_if_paused(&u, err);
    if (!rc)
        rc = st->procs->lock(st, u.tx, NULL, process_id, status, last, err);
    if (!rc)
        rc = check_process_role(&u, process_id, err);
    if (rc)
        return finish(&u, rc, err);
    if (strcmp(status, "suspended") == 0) {
        rc = answer_input(&u, process_id, last, inputs, ninputs, res, err);
        if (!rc && !res->form.complete) {
            orch_uow_abort(&u); /* more pages: nothing changed, request_id not used */
            return ORCH_OK;
        }
    } else if (retriable(status)) {
        /* awaiting_callback: the callback step's action runs again with a new token (the
         * external system lost the request); the old token stops working. */
        if (ninputs)
            rc = orch_error_invalid(err, "user_inputs", "process %s is %s, not waiting for input",
                                    process_id, status);
        else
            rc = st->procs->retry(st, u.tx, NULL, process_id, orch_caller_actor(caller), err);
    } else {
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "PROCESS_NOT_RESUMABLE",
                            "process %s is %s; only suspended, failed, waiting, "
                            "awaiting_callback, api_unavailable and inconsistent_data "
                            "processes can be resumed",
                            process_id, status);
    }
    if (!rc)
        rc = reread(&u, process_id, res, err);
    res->created = !rc;
    return finish(&u, rc, err);
}

orch_err_t orch_uc_process_retry(const orch_uc_t *uc, orch_caller_t *caller, const char *process_id,
                                 const char *const *branches, size_t n, orch_action_res_t *res,
                                 orch_error_t *err)
{
    orch_store_t *st = uc->store;
    orch_uow_t u = {0};
    bool handled = false;
    orch_err_t rc;

    memset(res, 0, sizeof(*res));
    rc = orch_process_id_check(process_id, err);
    for (size_t i = 0; !rc && i < n; i++)
        if (!branches[i] || !*branches[i] || strlen(branches[i]) > 100)
            rc = orch_error_invalid(err, "branches", "a branch name has 1-100 characters");
    if (!rc)
        rc = orch_uow_begin(uc, caller, &u, err);
    if (rc || caller->replayed)
        return rc;
    rc = orch_uow_refuse_if_paused(&u, err);
    if (!rc)
        rc = check_process_role(&u, process_id, err);
    /* A process that failed at a parallel step re-runs only its failed branches (those
     * named, or all of them). A repeat (client retry, or the same retry at another replica)
     * waits for the first on the process row and then answers ALREADY_APPLIED. */
    if (!rc)
        rc = st->procs->retry_branches(st, u.tx, NULL, process_id, orch_caller_actor(caller),
                                       branches, n, &handled, &res->already, err);
    if (!rc && !handled && n)
        rc = orch_error_invalid(err, "branches",
                                "process %s did not fail at a parallel step; retry it without "
                                "branches",
                                process_id);
    if (!rc && !handled)
        rc = st->procs->retry_once(st, u.tx, NULL, process_id, orch_caller_actor(caller),
                                   &res->already, err);
    if (!rc)
        rc = reread(&u, process_id, res, err);
    return finish(&u, rc, err);
}

orch_err_t orch_uc_process_abort(const orch_uc_t *uc, orch_caller_t *caller, const char *process_id,
                                 const char *reason, orch_action_res_t *res, orch_error_t *err)
{
    orch_uow_t u = {0};
    orch_err_t rc;

    memset(res, 0, sizeof(*res));
    rc = action_begin(uc, caller, process_id, "reason", reason, 2000, &u, err);
    if (rc || caller->replayed)
        return rc;
    rc = check_process_role(&u, process_id, err);
    if (!rc)
        rc = uc->store->procs->abort(uc->store, u.tx, NULL, process_id, reason,
                                     orch_caller_actor(caller), &res->already, err);
    if (!rc)
        rc = reread(&u, process_id, res, err);
    return finish(&u, rc, err);
}

orch_err_t orch_uc_process_delete(const orch_uc_t *uc, orch_caller_t *caller,
                                  const char *process_id, orch_action_res_t *res, orch_error_t *err)
{
    orch_uow_t u = {0};
    orch_err_t rc;

    memset(res, 0, sizeof(*res));
    rc = action_begin(uc, caller, process_id, NULL, NULL, 0, &u, err);
    if (rc || caller->replayed)
        return rc;
    rc = uc->store->procs->remove(uc->store, u.tx, NULL, process_id, err);
    return finish(&u, rc, err);
}

orch_err_t orch_uc_process_set_note(const orch_uc_t *uc, orch_caller_t *caller,
                                    const char *process_id, const char *note,
                                    orch_action_res_t *res, orch_error_t *err)
{
    orch_uow_t u = {0};
    orch_err_t rc;

    memset(res, 0, sizeof(*res));
    rc = action_begin(uc, caller, process_id, "note", note, 5000, &u, err);
    if (rc || caller->replayed)
        return rc;
    rc = uc->store->procs->set_note(uc->store, u.tx, NULL, process_id, note, err);
    if (!rc)
        rc = reread(&u, process_id, res, err);
    return finish(&u, rc, err);
}

orch_err_t orch_uc_process_bulk_resume(const orch_uc_t *uc, orch_caller_t *caller,
                                       const char *filter, orch_action_res_t *res,
                                       orch_error_t *err)
{
    orch_uow_t u = {0};
    orch_err_t rc;

    memset(res, 0, sizeof(*res));
    rc = orch_uow_begin(uc, caller, &u, err);
    if (rc || caller->replayed)
        return rc;
    rc = orch_uow_refuse_if_paused(&u, err);
    if (!rc)
        rc = uc->store->procs->bulk_resume(uc->store, u.tx, NULL, filter, orch_caller_actor(caller),
                                           &res->ids, &res->nids, err);
    return finish(&u, rc, err);
}

static orch_err_t check_token(const char *process_id, const char *token, orch_error_t *err)
{
    orch_err_t rc = orch_process_id_check(process_id, err);
    if (rc)
        return rc;
    if (!token || strlen(token) != 64)
        return orch_error_set(err, ORCH_PERMISSION_DENIED, "CALLBACK_TOKEN_INVALID",
                              "the callback token is not valid for this process");
    return ORCH_OK;
}

orch_err_t orch_uc_callback_deliver(const orch_uc_t *uc, orch_caller_t *caller,
                                    const char *process_id, const char *token, const json_t *result,
                                    orch_action_res_t *res, orch_error_t *err)
{
    orch_uow_t u = {0};
    orch_err_t rc;

    memset(res, 0, sizeof(*res));
    rc = check_token(process_id, token, err);
    if (!rc)
        rc = orch_uow_begin(uc, caller, &u, err);
    if (rc || caller->replayed)
        return rc;
    rc = uc->store->procs->callback_deliver(uc->store, u.tx, NULL, process_id, token, result,
                                            "callback", &res->already, res->status, err);
    return finish(&u, rc, err);
}

orch_err_t orch_uc_callback_progress(const orch_uc_t *uc, orch_caller_t *caller,
                                     const char *process_id, const char *token, const char *message,
                                     const json_t *progress, orch_error_t *err)
{
    orch_uow_t u = {0};
    orch_err_t rc = check_token(process_id, token, err);
    if (!rc && message && strlen(message) > 2000)
        rc = orch_error_invalid(err, "message",
                                "a progress message has at most 2000 "
                                "characters");
    if (!rc)
        rc = orch_uow_begin(uc, caller, &u, err);
    if (rc || caller->replayed)
        return rc;
    rc = uc->store->procs->callback_progress(uc->store, u.tx, NULL, process_id, token, message,
                                             progress, err);
    return finish(&u, rc, err);
}
