/* Starting a process: the one use case behind StartProcess and the scheduler, so a start
 * obeys the same rules whoever asks (the workflow's role, the product and the subscription
 * offering it, the start form, the pause switch, the subscription's lock). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/engine/engine.h"
#include "domain/engine/worker.h"
#include "domain/ids.h"
#include "domain/subscription/offered.h"
#include "domain/usecase/usecase.h"

void orch_start_res_cleanup(orch_start_res_t *r)
{
    if (!r)
        return;
    orch_form_result_cleanup(&r->form);
    orch_process_free(r->process);
    memset(r, 0, sizeof(*r));
}

bool orch_uc_start_refusal(orch_err_t rc)
{
    return rc == ORCH_FAILED_PRECONDITION || rc == ORCH_INVALID_ARGUMENT || rc == ORCH_NOT_FOUND ||
           rc == ORCH_PERMISSION_DENIED;
}

static bool set(const char *s)
{
    return s && *s;
}

/* Does the product list this workflow (the catalogue's workflows of the product)? */
static bool product_offers(const orch_product_t *p, const char *workflow)
{
    for (const orch_workflow_ref_t *w = p && p->def ? p->def->workflows : NULL; w && w->name; w++)
        if (strcmp(w->name, workflow) == 0)
            return true;
    return false;
}

/* The checks of a start on a subscription: the product lists the workflow and the
 * subscription offers it now (offered.h: in sync, status, in use by others). */
static orch_err_t check_offer(const orch_workflow_t *wf, const orch_subscription_t *sub,
                              orch_error_t *err)
{
    orch_sub_offer_t offer;
    if (!wf->def->is_task && !product_offers(sub->product, wf->def->name))
        return orch_error_set(err, ORCH_FAILED_PRECONDITION, "WORKFLOW_NOT_FOR_PRODUCT",
                              "product %s does not offer workflow %s", sub->product->def->name,
                              wf->def->name);
    orch_sub_offer(sub, wf->def->name, wf->def->target, wf->def->is_task, &offer);
    if (!offer.allowed)
        return orch_error_set(err, ORCH_FAILED_PRECONDITION, offer.reason, "%s: %s", wf->def->name,
                              offer.message);
    return ORCH_OK;
}

/* The request alone (nothing read): the workflow, its role, the inputs' shape, the note. */
static orch_err_t check_request(const orch_uc_t *uc, const orch_caller_t *caller,
                                const orch_start_req_t *req, const orch_workflow_t **wf,
                                orch_error_t *err)
{
    char what[300];
    orch_err_t rc;
    if (!set(req->workflow_name))
        return orch_error_invalid(err, "workflow_name", "a workflow name is required");
    *wf = orch_registry_latest(uc->registry, req->workflow_name);
    if (!*wf)
        return orch_error_set(err, ORCH_NOT_FOUND, "WORKFLOW_NOT_FOUND",
                              "no workflow named '%.200s' can be started on this server",
                              req->workflow_name);
    snprintf(what, sizeof(what), "workflow %s", (*wf)->def->name);
    rc = orch_caller_need_role(caller, (*wf)->def->required_role, what, err);
    if (rc)
        return rc;
    if (!(*wf)->def->form && req->ninputs > 1)
        return orch_error_invalid(err, "user_inputs",
                                  "this workflow has no form: it takes its input as one page "
                                  "(the initial state)");
    if (req->note && strlen(req->note) > 5000)
        return orch_error_invalid(err, "note", "a note has at most 5000 characters");
    return ORCH_OK;
}

/* The product and the subscription the workflow works on, as the request names them. */
static orch_err_t check_target(const orch_uc_t *uc, const orch_workflow_t *wf,
                               const orch_start_req_t *req, const orch_product_t **product,
                               orch_error_t *err)
{
    const orch_workflow_def_t *d = wf->def;
    orch_err_t rc;
    *product = NULL;
    if (set(req->product_id)) {
        rc = orch_uuid_check(req->product_id, "product_id", err);
        if (rc)
            return rc;
        *product = orch_catalog_find_product_id(uc->catalog, req->product_id);
        if (!*product)
            return orch_error_set(err, ORCH_NOT_FOUND, "PRODUCT_NOT_FOUND", "no product has id %s",
                                  req->product_id);
        if (d->target == ORCH_TARGET_CREATE && (*product)->def->workflows &&
            (*product)->def->workflows[0].name && !product_offers(*product, d->name))
            return orch_error_set(err, ORCH_FAILED_PRECONDITION, "WORKFLOW_NOT_FOR_PRODUCT",
                                  "product %s does not offer workflow %s", (*product)->def->name,
                                  d->name);
    } else if (d->target == ORCH_TARGET_CREATE) {
        return orch_error_invalid(err, "product_id",
                                  "a create workflow needs the product to create");
    }
    if (set(req->subscription_id)) {
        rc = orch_uuid_check(req->subscription_id, "subscription_id", err);
        if (rc)
            return rc;
        if (d->target == ORCH_TARGET_CREATE)
            return orch_error_invalid(err, "subscription_id",
                                      "a create workflow makes a new subscription; give the "
                                      "product instead");
    } else if (!d->is_task && d->lifecycle != ORCH_LC_NONE && d->target != ORCH_TARGET_CREATE) {
        return orch_error_invalid(err, "subscription_id",
                                  "workflow %s works on a subscription: give its id", d->name);
    }
    return ORCH_OK;
}

/* Does a start of wf lock the subscription (no other unfinished workflow on it)? Tasks and
 * the note workflow do not. */
static bool takes_lock(const orch_workflow_t *wf)
{
    return !wf->def->is_task && strcmp(wf->def->name, "modify_note") != 0;
}

/* The subscription, read once in u: locked (FOR UPDATE) when the start takes its lock, so a
 * concurrent second start waits here and is then refused; and offering the workflow. */
static orch_err_t load_subscription(orch_uow_t *u, const orch_workflow_t *wf, const char *id,
                                    orch_subscription_t **sub, orch_error_t *err)
{
    orch_store_t *st = u->uc->store;
    bool lock = takes_lock(wf);
    orch_err_t rc = st->subs->load(st, u->tx, u->caller->ctx, u->uc->catalog, id, lock, sub, err);
    if (!rc)
        rc = check_offer(wf, *sub, err);
    return rc;
}

/* The lock itself, checked after the form (which may still ask for pages): no other
 * unfinished workflow holds the subscription. */
static orch_err_t check_unlocked(orch_uow_t *u, const orch_workflow_t *wf,
                                 const orch_subscription_t *sub, orch_error_t *err)
{
    long busy = 0;
    orch_err_t rc;
    if (!sub || !takes_lock(wf))
        return ORCH_OK;
    rc = u->uc->store->subs->count_unfinished(u->uc->store, u->tx, NULL, sub->id, &busy, err);
    if (!rc && busy > 0)
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "SUBSCRIPTION_NOT_IN_SYNC",
                            "subscription %s is locked by %ld unfinished workflow%s", sub->id, busy,
                            busy == 1 ? "" : "s");
    return rc;
}

/* The initial state: the form's masked answers (secret answers never reach the database,
 * the streams or the logs), or the one page as given; *state NULL when the form needs more
 * pages (res->form names the next). */
static orch_err_t initial_state(orch_uow_t *u, const orch_workflow_t *wf,
                                const orch_start_req_t *req, const orch_product_t *product,
                                const orch_subscription_t *sub, orch_start_res_t *res,
                                json_t **state, orch_error_t *err)
{
    orch_err_t rc = ORCH_OK;
    *state = NULL;
    if (wf->def->form) {
        json_t *context = json_object();
        orch_form_env_t env = {u->uc->store, u->tx, u->caller->ctx, u->uc->catalog, context};
        if (product)
            json_object_set_new(context, "product_id", json_string(product->id));
        if (sub) {
            json_object_set_new(context, "subscription_id", json_string(sub->id));
            json_object_set_new(context, "customer_id", json_string(sub->customer_id));
        }
        rc = orch_form_run(wf->def->form, &env, req->inputs, req->ninputs, "user_inputs",
                           &res->form, err);
        json_decref(context);
        if (rc || !res->form.complete)
            return rc;
        *state = json_deep_copy(res->form.masked);
    } else {
        *state = req->ninputs && json_is_object(req->inputs[0]) ? json_deep_copy(req->inputs[0])
                                                                : json_object();
    }
    if (set(req->product_id))
        json_object_set_new(*state, "product_id", json_string(req->product_id));
    if (set(req->subscription_id))
        json_object_set_new(*state, "subscription_id", json_string(req->subscription_id));
    return ORCH_OK;
}

/* The step a new process shows running; NULL for none or a fork (never shown running: the
 * worker runs it at once). */
static const orch_leaf_t *first_step(const orch_workflow_t *wf)
{
    const orch_leaf_t *first = orch_runner_next(wf, NULL, 0);
    return first && first->def->kind != ORCH_KIND_PARALLEL ? first : NULL;
}

/* The first step's lease: shown running from the create on; with reserve, leased to this
 * replica for the idle worker promised it. */
static void first_lease(const orch_uc_t *uc, const orch_workflow_t *wf, bool reserve,
                        orch_process_lease_t *lease, orch_process_new_t *np)
{
    const orch_leaf_t *first = first_step(wf);
    if (!first)
        return;
    lease->step_key = first->key;
    lease->step_name = first->def->name;
    lease->timeout_ms =
        first->def->timeout_ms > 0 ? first->def->timeout_ms : ORCH_STEP_TIMEOUT_DEFAULT_MS;
    np->first = lease;
    if (reserve) {
        lease->owner = orch_engine_replica_id(uc->engine);
        lease->lease_ms = orch_engine_lease_ms(uc->engine);
        np->lease = lease;
    }
}

/* The writes: the process (the create statement refuses while the engine is paused, and
 * answers the process as it reads), its secret answers, its subscription link (then the
 * process is read again, with it). own: u is this start's own unit of work, which ends
 * after these writes; when the create is the only one, its COMMIT goes with it. */
static orch_err_t create(orch_uow_t *u, const orch_workflow_t *wf, const orch_start_req_t *req,
                         const orch_subscription_t *sub, const json_t *state,
                         orch_process_lease_t *lease, bool reserve, bool own, orch_start_res_t *res,
                         orch_error_t *err)
{
    orch_store_t *st = u->uc->store;
    orch_process_new_t np = {
        .workflow = wf->def->name,
        .version = wf->def->version,
        .product_id = set(req->product_id) ? req->product_id : NULL,
        .created_by = orch_caller_actor(u->caller),
        .note = req->note,
        .initial_state = state,
        .refuse_if_paused = true,
        .out = sub ? NULL : &res->process, /* with a subscription: read after the link */
    };
    json_t *overlay =
        res->form.complete ? orch_form_secrets(res->form.answers, res->form.masked) : NULL;
    char id[37];
    orch_err_t rc;

    first_lease(u->uc, wf, reserve, lease, &np);
    if (own && !overlay && !sub && st->procs->create_grouped && orch_uow_go_alone(u))
        /* The create is the start's only write: it shares its transaction (and WAL flush)
         * with the creates of other starts at the same moment. */
        rc = st->procs->create_grouped(st, NULL, u->caller->ctx, &np, id, err);
    else {
        if (own && !overlay && !sub)
            orch_uow_last_write_next(u); /* one round trip for the create and its COMMIT */
        rc = st->procs->create(st, u->tx, NULL, &np, id, err);
    }
    if (!rc && overlay)
        rc = st->procs->secrets_put(st, u->tx, NULL, id, "", overlay, err);
    json_decref(overlay);
    if (!rc && sub)
        rc = st->procs->link_subscription(st, u->tx, NULL, id, sub->id, err);
    if (!rc && !res->process)
        rc = st->procs->get(st, u->tx, u->caller->ctx, id, false, &res->process, err);
    if (!rc)
        res->created = true;
    return rc;
}

/* The start in u, after the request's own checks; *state gets the initial state. reserved:
 * NULL = create the process for any replica, in a unit of work the caller goes on with; else
 * u is the start's own, and just before the create an idle worker of this replica is
 * promised the process when there is one (*reserved says so; the caller hands the process
 * over after its commit, or gives the promise back). */
static orch_err_t start_in(orch_uow_t *u, const orch_workflow_t *wf, const orch_start_req_t *req,
                           orch_process_lease_t *lease, bool *reserved, orch_start_res_t *res,
                           json_t **state, orch_error_t *err)
{
    const orch_product_t *product = NULL;
    orch_subscription_t *sub = NULL;
    orch_err_t rc = check_target(u->uc, wf, req, &product, err);
    if (!rc && set(req->subscription_id))
        rc = load_subscription(u, wf, req->subscription_id, &sub, err);
    if (!rc)
        rc = initial_state(u, wf, req, product, sub, res, state, err);
    if (!rc && *state)
        rc = check_unlocked(u, wf, sub, err);
    if (!rc && *state && reserved)
        *reserved = first_step(wf) && orch_engine_reserve(u->uc->engine);
    if (!rc && *state)
        rc = create(u, wf, req, sub, *state, lease, reserved && *reserved, reserved != NULL, res,
                    err);
    orch_subscription_free(sub);
    return rc;
}

orch_err_t orch_uc_process_start_in(orch_uow_t *u, const orch_start_req_t *req,
                                    orch_start_res_t *res, orch_error_t *err)
{
    const orch_workflow_t *wf = NULL;
    orch_process_lease_t lease = {0};
    json_t *state = NULL;
    orch_err_t rc;

    memset(res, 0, sizeof(*res));
    rc = check_request(u->uc, u->caller, req, &wf, err);
    if (!rc)
        rc = start_in(u, wf, req, &lease, NULL, res, &state, err);
    if (!rc && !res->created)
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "FORM_INCOMPLETE",
                            "workflow %s asks for more answers than the inputs give (next page: "
                            "%s)",
                            wf->def->name, res->form.page_title ? res->form.page_title : "?");
    json_decref(state);
    return rc;
}

orch_err_t orch_uc_process_start(const orch_uc_t *uc, orch_caller_t *caller,
                                 const orch_start_req_t *req, orch_start_res_t *res,
                                 orch_error_t *err)
{
    const orch_workflow_t *wf = NULL;
    orch_process_lease_t lease = {0};
    orch_uow_t u = {0};
    json_t *state = NULL;
    bool reserved = false; /* an idle local worker is promised the new process */
    orch_err_t rc;

    memset(res, 0, sizeof(*res));
    rc = check_request(uc, caller, req, &wf, err);
    if (!rc)
        rc = orch_uow_begin(uc, caller, &u, err);
    if (rc || caller->replayed)
        return rc;
    /* With an idle worker here, the process is created leased to this replica and handed to
     * that worker at commit: no claim, no poll, and no other replica can take it meanwhile. */
    rc = start_in(&u, wf, req, &lease, &reserved, res, &state, err);
    if (!rc && !res->created) {
        orch_uow_abort(&u); /* more pages are needed: nothing created, request_id not used */
        goto out;
    }
    if (!rc)
        rc = orch_uow_commit(&u, err);
    if (!rc && reserved) {
        orch_engine_handoff(uc->engine, res->process->id, wf->def->name, wf->def->version,
                            lease.token, lease.step_started, state);
        reserved = false;
    }
out:
    orch_uow_abort(&u);
    if (reserved)
        orch_engine_unreserve(uc->engine); /* not created: whatever it held expires */
    json_decref(state);
    if (rc) {
        orch_process_free(res->process);
        res->process = NULL;
        res->created = false;
    }
    return rc;
}
