/* orchestrator.v1.ProcessService (engine core): start, read, list, retry, abort, delete,
 * note, status counts and bulk resume. decode -> store / engine registry -> encode. Resume
 * with forms, callbacks and watches come with later issues and stay unregistered. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/engine/engine.h"
#include "domain/engine/worker.h"
#include "domain/forms/forms.h"
#include "domain/ids.h"
#include "domain/page.h"
#include "domain/subscription/offered.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "server/app.h"
#include "server/rpc/auth.h"
#include "server/rpc/codec.h"
#include "server/services/idem.h"
#include "server/services/pbconv.h"
#include "server/services/services.h"

#define NEW(arena, T) ((T *)orch_arena_alloc((arena), sizeof(T)))
#define NEWV(arena, T, n) ((T **)orch_arena_alloc((arena), ((n) ? (n) : 1) * sizeof(T *)))

static const char *const status_names[] = {
    "",        "created", "running",         "suspended",         "waiting",   "awaiting_callback",
    "aborted", "failed",  "api_unavailable", "inconsistent_data", "completed", "resumed"};
static const char *const step_status_names[] = {"",        "success", "skipped",
                                                "suspend", "waiting", "awaiting_callback",
                                                "failed",  "abort",   "complete"};

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 1; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return 0;
}

static Orchestrator__V1__ProcessStatus status_to_pb(const char *s)
{
    return (Orchestrator__V1__ProcessStatus)name_index(
        status_names, sizeof(status_names) / sizeof(status_names[0]), s);
}

static Orchestrator__V1__StepStatus step_status_to_pb(const char *s)
{
    return (Orchestrator__V1__StepStatus)name_index(
        step_status_names, sizeof(step_status_names) / sizeof(step_status_names[0]), s);
}

static Orchestrator__V1__Actor *actor_pb(orch_arena_t *a, const char *name)
{
    Orchestrator__V1__Actor *ac;
    if (!name || !*name)
        return NULL;
    ac = NEW(a, Orchestrator__V1__Actor);
    orchestrator__v1__actor__init(ac);
    ac->name = orch_arena_strdup(a, name);
    ac->kind = orch_uuid_valid(name) ? ORCHESTRATOR__V1__ACTOR__KIND__KIND_SYSTEM
                                     : ORCHESTRATOR__V1__ACTOR__KIND__KIND_USER;
    return ac;
}

static Orchestrator__V1__ProcessError *error_pb(orch_arena_t *a, const json_t *e,
                                                const char *message)
{
    Orchestrator__V1__ProcessError *pe;
    const json_t *details;
    if (!e && !message)
        return NULL;
    pe = NEW(a, Orchestrator__V1__ProcessError);
    orchestrator__v1__process_error__init(pe);
    pe->reason = orch_arena_strdup(a, orch_state_str(e, "reason", ""));
    pe->message = orch_arena_strdup(a, message ? message : orch_state_str(e, "message", ""));
    details = json_object_get(e, "details");
    if (json_is_object(details))
        pe->details = srv_codec_struct_from_json(a, details);
    return pe;
}

static const orch_leaf_t *find_leaf(const orch_workflow_t *wf, const char *key)
{
    for (size_t i = 0; wf && i < wf->nleaves; i++)
        if (strcmp(wf->leaves[i].key, key) == 0)
            return &wf->leaves[i];
    return NULL;
}

static Orchestrator__V1__ProcessStep *step_pb(orch_arena_t *a, const orch_workflow_t *wf,
                                              const orch_process_step_t *s, bool full)
{
    Orchestrator__V1__ProcessStep *ps = NEW(a, Orchestrator__V1__ProcessStep);
    const orch_leaf_t *leaf = find_leaf(wf, s->key);
    orchestrator__v1__process_step__init(ps);
    ps->step_id = orch_arena_strdup(a, s->step_id);
    ps->key = orch_arena_strdup(a, s->key);
    ps->name = orch_arena_strdup(a, s->name);
    ps->status = step_status_to_pb(s->status);
    ps->state_delta = srv_codec_struct_from_json(a, s->delta);
    if (full)
        ps->state = srv_codec_struct_from_json(a, s->state);
    ps->start_time = srv_codec_timestamp(a, s->start_us);
    ps->end_time = srv_codec_timestamp(a, s->end_us);
    ps->executed_by = actor_pb(a, s->executed_by);
    ps->retry_count = s->retry_count;
    ps->error = s->error ? error_pb(a, s->error, NULL) : NULL;
    ps->kind = leaf                                ? (Orchestrator__V1__StepKind)leaf->def->kind
               : strcmp(s->key, "aborted_by") == 0 ? ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_ABORT
                                                   : ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_STEP;
    ps->parent_key = orch_arena_strdup(a, leaf && leaf->parent ? leaf->parent->key : "");
    ps->branch = orch_arena_strdup(a, s->branch              ? s->branch
                                      : leaf && leaf->branch ? leaf->branch
                                                             : "");
    return ps;
}

/* Is leaf done (success, skipped, complete) in the audit rows steps? */
static bool leaf_done(const orch_leaf_t *l, const orch_process_step_t *steps, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (strcmp(steps[j].key, l->key) == 0 &&
            (strcmp(steps[j].status, "success") == 0 || strcmp(steps[j].status, "skipped") == 0 ||
             strcmp(steps[j].status, "complete") == 0))
            return true;
    return false;
}

static Orchestrator__V1__FormPage *form_page_pb(orch_arena_t *a, const json_t *schema, size_t index,
                                                const char *title);

Orchestrator__V1__FormPage *srv_process_form_pb(srv_app_t *app, orch_arena_t *a,
                                                const orch_ctx_t *ctx, const orch_process_t *p,
                                                const char *step_key)
{
    const orch_workflow_t *wf =
        app->registry ? orch_registry_find(app->registry, p->workflow_name, p->version) : NULL;
    const orch_leaf_t *leaf = step_key ? find_leaf(wf, step_key) : NULL;
    Orchestrator__V1__FormPage *fp = NULL;

    if (leaf && leaf->def->kind == ORCH_KIND_INPUT && leaf->def->form) {
        orch_form_env_t env = {app->store, NULL, ctx, app->catalog, orch_process_current_state(p)};
        json_t *answers = json_object();
        const orch_form_page_t *page = orch_form_page_at(leaf->def->form, &env, 0, answers);
        if (page) {
            json_t *schema = orch_form_page_schema(page, &env, 0, answers);
            fp = form_page_pb(a, schema, 0, page->title);
            json_decref(schema);
        }
        json_decref(answers);
    }
    return fp;
}

/* Builds a Process in the arena; full adds steps (log + pending) and the current state. */
Orchestrator__V1__Process *srv_process_to_pb(srv_call_t *call, const orch_process_t *p, bool full)
{
    orch_arena_t *a = srv_call_arena(call);
    srv_app_t *app = srv_call_app(call);
    Orchestrator__V1__Process *pb = NEW(a, Orchestrator__V1__Process);
    Orchestrator__V1__WorkflowRef *wr = NEW(a, Orchestrator__V1__WorkflowRef);
    const orch_workflow_t *wf =
        app->registry ? orch_registry_find(app->registry, p->workflow_name, p->version) : NULL;

    orchestrator__v1__process__init(pb);
    orchestrator__v1__workflow_ref__init(wr);
    wr->workflow_id = orch_arena_strdup(a, p->workflow_id);
    wr->name = orch_arena_strdup(a, p->workflow_name);
    wr->version = p->version;
    wr->target = (Orchestrator__V1__WorkflowTarget)srv_target_from_name(p->target);
    wr->is_task = p->is_task;
    pb->process_id = orch_arena_strdup(a, p->id);
    pb->workflow = wr;
    pb->status = status_to_pb(p->status);
    pb->is_task = p->is_task;
    pb->last_step = orch_arena_strdup(a, p->last_step);
    pb->last_step_key = orch_arena_strdup(a, p->last_step_key);
    pb->assignee = orch_arena_strdup(a, p->assignee);
    pb->created_by = actor_pb(a, p->created_by);
    pb->note = orch_arena_strdup(a, p->note);
    if (p->failed_reason)
        pb->error = error_pb(a, p->failed_details, p->failed_reason);
    pb->start_time = srv_codec_timestamp(a, p->start_us);
    pb->update_time = srv_codec_timestamp(a, p->update_us);
    pb->end_time = srv_codec_timestamp(a, p->end_us);
    pb->next_run_time = srv_codec_timestamp(a, p->next_run_us);
    pb->product_id = orch_arena_strdup(a, p->product_id);
    pb->n_subscription_ids = p->nsubscriptions;
    pb->subscription_ids = orch_arena_alloc(a, (p->nsubscriptions + 1) * sizeof(char *));
    for (size_t i = 0; i < p->nsubscriptions; i++)
        pb->subscription_ids[i] = orch_arena_strdup(a, p->subscription_ids[i]);
    pb->customer_id = orch_arena_strdup(a, p->customer_id);
    pb->steps_done = p->steps_done;
    pb->steps_total = p->steps_total;
    if (!full)
        return pb;
    {
        size_t cap = p->nsteps + p->nbranch_steps + (wf ? wf->nleaves : 0), n = 0, bi = 0;
        bool finished = strcmp(p->status, "completed") == 0 || strcmp(p->status, "aborted") == 0;
        pb->steps = NEWV(a, Orchestrator__V1__ProcessStep, cap);
        /* The process's own rows with its branches' rows merged in, both in commit order. */
        for (size_t i = 0; i < p->nsteps; i++) {
            while (bi < p->nbranch_steps && p->branch_steps[bi].end_us <= p->steps[i].end_us)
                pb->steps[n++] = step_pb(a, wf, &p->branch_steps[bi++], true);
            pb->steps[n++] = step_pb(a, wf, &p->steps[i], true);
        }
        while (bi < p->nbranch_steps)
            pb->steps[n++] = step_pb(a, wf, &p->branch_steps[bi++], true);
        for (size_t i = 0; wf && !finished && i < wf->nleaves; i++) {
            const orch_leaf_t *l = &wf->leaves[i];
            Orchestrator__V1__ProcessStep *ps;
            if (p->branch_key && (!l->branch_key || strcmp(l->branch_key, p->branch_key) != 0))
                continue; /* a branch process shows its own branch's steps */
            if (l->branch ? leaf_done(l, p->branch_steps, p->nbranch_steps) ||
                                (p->branch_key && leaf_done(l, p->steps, p->nsteps))
                          : leaf_done(l, p->steps, p->nsteps))
                continue;
            ps = NEW(a, Orchestrator__V1__ProcessStep);
            orchestrator__v1__process_step__init(ps);
            ps->step_id = "";
            ps->key = orch_arena_strdup(a, l->key);
            ps->name = orch_arena_strdup(a, l->def->name);
            ps->status = ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_PENDING;
            ps->kind = (Orchestrator__V1__StepKind)l->def->kind;
            ps->parent_key = orch_arena_strdup(a, l->parent ? l->parent->key : "");
            ps->branch = orch_arena_strdup(a, l->branch ? l->branch : "");
            pb->steps[n++] = ps;
        }
        pb->n_steps = n;
    }
    pb->current_state = srv_codec_struct_from_json(a, orch_process_current_state(p));
    if (strcmp(p->status, "suspended") == 0 && p->last_step_key)
        pb->form = srv_process_form_pb(app, a, srv_call_ctx(call), p, p->last_step_key);
    if (strcmp(p->status, "awaiting_callback") == 0 && app->store) {
        json_t *cb = NULL;
        orch_error_t e2;
        orch_error_init(&e2);
        if (!app->store->ops->callback_pending(app->store, NULL, srv_call_ctx(call), p->id, &cb,
                                               &e2) &&
            cb) {
            Orchestrator__V1__PendingCallback *pc = NEW(a, Orchestrator__V1__PendingCallback);
            orchestrator__v1__pending_callback__init(pc);
            pc->step_key = orch_arena_strdup(a, orch_state_str(cb, "step_key", ""));
            pc->create_time = srv_codec_timestamp(a, orch_state_int(cb, "create_us", 0));
            pc->deadline_time = srv_codec_timestamp(a, orch_state_int(cb, "expire_us", 0));
            pc->last_progress = srv_codec_struct_from_json(a, json_object_get(cb, "progress"));
            pc->last_progress_message =
                orch_arena_strdup(a, orch_state_str(cb, "progress_message", ""));
            pc->last_progress_time = srv_codec_timestamp(a, orch_state_int(cb, "progress_us", 0));
            pb->pending_callback = pc;
        }
        json_decref(cb);
        cb = NULL;
        orch_error_init(&e2);
        if (!app->store->ops->worker_task_pending(app->store, NULL, srv_call_ctx(call), p->id, &cb,
                                                  &e2) &&
            cb) {
            Orchestrator__V1__PendingTask *pt = NEW(a, Orchestrator__V1__PendingTask);
            const char *type = orch_state_str(cb, "task_type", "");
            const char *st = orch_state_str(cb, "status", "");
            orchestrator__v1__pending_task__init(pt);
            pt->step_key = orch_arena_strdup(a, orch_state_str(cb, "step_key", ""));
            pt->task_type = orch_arena_strdup(a, type);
            pt->status = orch_arena_strdup(a, st);
            pt->attempt = (int32_t)orch_state_int(cb, "attempt", 0);
            pt->max_attempts = (int32_t)orch_state_int(cb, "max_attempts", 0);
            pt->worker = orch_arena_strdup(a, orch_state_str(cb, "worker", ""));
            pt->served = orch_state_bool(cb, "served", false);
            if (strcmp(st, "delivered") == 0)
                pt->waiting_reason = orch_arena_printf(a, "worker %s runs it (attempt %d)",
                                                       pt->worker, (int)pt->attempt);
            else if (!pt->served)
                pt->waiting_reason = orch_arena_printf(
                    a, "no worker serving %s is connected; the process goes on when one is", type);
            else
                pt->waiting_reason = orch_arena_printf(a, "waiting for a free worker of %s", type);
            pt->create_time = srv_codec_timestamp(a, orch_state_int(cb, "create_us", 0));
            pt->deadline_time = srv_codec_timestamp(a, orch_state_int(cb, "deadline_us", 0));
            pt->lease_expire_time = srv_codec_timestamp(a, orch_state_int(cb, "lease_us", 0));
            pt->last_progress_message =
                orch_arena_strdup(a, orch_state_str(cb, "progress_message", ""));
            pt->last_error_message = orch_arena_strdup(a, orch_state_str(cb, "last_error", ""));
            pb->pending_task = pt;
        }
        json_decref(cb);
    }
    return pb;
}

static const char *actor_of(srv_call_t *call)
{
    const char *n = srv_call_actor_name(call);
    return n && *n ? n : "anonymous";
}

static orch_err_t check_id(const char *id, orch_error_t *err)
{
    if (!id || !*id)
        return orch_error_invalid(err, "process_id", "a process id is required");
    return orch_uuid_check(id, "process_id", err);
}

/* Reads the process (BASIC) in tx, for answers. */
static orch_err_t basic(srv_call_t *call, orch_tx_t *tx, const char *id,
                        Orchestrator__V1__Process **out, orch_error_t *err)
{
    srv_app_t *app = srv_call_app(call);
    orch_process_t *p = NULL;
    orch_err_t rc =
        app->store->ops->process_get(app->store, tx, srv_call_ctx(call), id, false, &p, err);
    if (rc)
        return rc;
    *out = srv_process_to_pb(call, p, false);
    orch_process_free(p);
    return ORCH_OK;
}

/* A workflow, or the input step about to be answered, may require a role of its own
 * (engine.h required_role): PERMISSION_DENIED MISSING_ROLE naming it. */
static orch_err_t check_role(srv_call_t *call, const char *role, const char *what,
                             orch_error_t *err)
{
    if (srv_auth_has_role(srv_call_roles(call), srv_call_extra_roles(call), role))
        return ORCH_OK;
    return orch_error_set(err, ORCH_PERMISSION_DENIED, "MISSING_ROLE",
                          "%s needs the role '%s', which the token does not hold", what, role);
}

/* The role check of an action on an existing process (resume, retry, abort): the role its
 * workflow version requires. Run inside tx, after the process row is locked or before it
 * is changed. */
static orch_err_t check_process_role(srv_call_t *call, orch_tx_t *tx, const char *process_id,
                                     orch_error_t *err)
{
    srv_app_t *app = srv_call_app(call);
    orch_process_t *p = NULL;
    const orch_workflow_t *wf;
    char what[300];
    orch_err_t rc;
    if (srv_call_roles(call) & SRV_ROLE_ADMIN)
        return ORCH_OK; /* holds every role: spare the lookup */
    rc = app->store->ops->process_get(app->store, tx, srv_call_ctx(call), process_id, false, &p,
                                      err);
    if (rc)
        return rc;
    wf = orch_registry_find(app->registry, p->workflow_name, p->version);
    if (wf && wf->def->required_role) {
        snprintf(what, sizeof(what), "workflow %s", wf->def->name);
        rc = check_role(call, wf->def->required_role, what, err);
    }
    orch_process_free(p);
    return rc;
}

static orch_err_t refuse_if_paused(srv_call_t *call, orch_tx_t *tx, orch_error_t *err)
{
    srv_app_t *app = srv_call_app(call);
    orch_engine_status_t es;
    orch_err_t rc = app->store->ops->engine_status(app->store, tx, NULL, &es, err);
    if (rc)
        return rc;
    if (es.paused)
        return orch_error_set(err, ORCH_UNAVAILABLE, "ENGINE_PAUSED",
                              "the engine is paused; start again after ResumeEngine");
    return ORCH_OK;
}

/* Does the product list this workflow (the catalogue's workflows of the product)? */
static bool product_offers(const orch_product_t *p, const char *workflow)
{
    for (const orch_workflow_ref_t *w = p && p->def ? p->def->workflows : NULL; w && w->name; w++)
        if (strcmp(w->name, workflow) == 0)
            return true;
    return false;
}

static bool is_note(const orch_workflow_t *wf)
{
    return strcmp(wf->def->name, "modify_note") == 0;
}

/* The user_inputs as JSON objects (caller frees each and the array). */
static json_t **inputs_json(Google__Protobuf__Struct **in, size_t n)
{
    json_t **out = orch_calloc(n + 1, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = srv_codec_json_from_struct(in[i]);
    return out;
}

static void inputs_free(json_t **in, size_t n)
{
    for (size_t i = 0; in && i < n; i++)
        json_decref(in[i]);
    free(in);
}

static Orchestrator__V1__FormPage *form_page_pb(orch_arena_t *a, const json_t *schema, size_t index,
                                                const char *title)
{
    Orchestrator__V1__FormPage *fp = NEW(a, Orchestrator__V1__FormPage);
    orchestrator__v1__form_page__init(fp);
    fp->form = srv_codec_struct_from_json(a, schema);
    fp->page_index = (int32_t)index;
    fp->title = orch_arena_strdup(a, title ? title : "");
    return fp;
}

/* The checks of a start on a subscription, before any form and again under its lock:
 * the product lists the workflow and the subscription offers it (offered.h). */
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

/* The secret answers of a complete form go to the store's secret table, in the unit of work
 * that records the (masked) answers; the engine hands them to the steps. */
static orch_err_t keep_secrets(srv_app_t *app, orch_tx_t *tx, const char *process_id,
                               const char *step_key, const orch_form_result_t *fr,
                               orch_error_t *err)
{
    json_t *overlay = orch_form_secrets(fr->answers, fr->masked);
    orch_err_t rc = ORCH_OK;
    if (overlay)
        rc = app->store->ops->process_secrets_put(tx, process_id, step_key, overlay, err);
    json_decref(overlay);
    return rc;
}

static orch_err_t start_process(srv_call_t *call, const ProtobufCMessage *reqm,
                                ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__StartProcessRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    orch_arena_t *a = srv_call_arena(call);
    Orchestrator__V1__StartProcessResponse *resp;
    const orch_workflow_t *wf;
    const orch_product_t *product = NULL;
    orch_subscription_t *sub = NULL;
    json_t *state = NULL, **inputs = NULL, *context = NULL;
    orch_form_result_t fr = {0};
    bool has_sub = req->subscription_id && *req->subscription_id;
    char id[37];
    srv_idem_t idem = {0};
    orch_process_lease_t lease = {0};
    bool reserved = false; /* an idle local worker is promised the new process */
    orch_err_t rc;

    if (!req->workflow_name || !*req->workflow_name)
        return orch_error_invalid(err, "workflow_name", "a workflow name is required");
    wf = orch_registry_latest(app->registry, req->workflow_name);
    if (!wf)
        return orch_error_set(err, ORCH_NOT_FOUND, "WORKFLOW_NOT_FOUND",
                              "no workflow named '%.200s' can be started on this server",
                              req->workflow_name);
    if (wf->def->required_role) {
        char what[300];
        snprintf(what, sizeof(what), "workflow %s", wf->def->name);
        rc = check_role(call, wf->def->required_role, what, err);
        if (rc)
            return rc;
    }
    if (!wf->def->form && req->n_user_inputs > 1)
        return orch_error_invalid(err, "user_inputs",
                                  "this workflow has no form: it takes its input as one page "
                                  "(the initial state)");
    if (req->note && strlen(req->note) > 5000)
        return orch_error_invalid(err, "note", "a note has at most 5000 characters");
    if (req->request_id && *req->request_id) {
        /* A repeat (its first answer lost with a replica or a connection) gets that answer,
         * before the checks below: they judge the world the first start changed (a
         * terminate's subscription is terminated now). The claim is taken again below. */
        rc = srv_idem_begin(call, reqm, req->request_id, &idem, err);
        if (rc)
            return rc;
        if (idem.replay) {
            resp = (Orchestrator__V1__StartProcessResponse *)idem.replay;
            resp->outcome = ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED;
            *respm = idem.replay;
            return ORCH_OK;
        }
        srv_idem_abort(call, &idem);
    }
    if (req->product_id && *req->product_id) {
        rc = orch_uuid_check(req->product_id, "product_id", err);
        if (rc)
            return rc;
        product = orch_catalog_find_product_id(app->catalog, req->product_id);
        if (!product)
            return orch_error_set(err, ORCH_NOT_FOUND, "PRODUCT_NOT_FOUND", "no product has id %s",
                                  req->product_id);
        if (wf->def->target == ORCH_TARGET_CREATE && product->def->workflows &&
            product->def->workflows[0].name && !product_offers(product, wf->def->name))
            return orch_error_set(err, ORCH_FAILED_PRECONDITION, "WORKFLOW_NOT_FOR_PRODUCT",
                                  "product %s does not offer workflow %s", product->def->name,
                                  wf->def->name);
    } else if (wf->def->target == ORCH_TARGET_CREATE) {
        return orch_error_invalid(err, "product_id",
                                  "a create workflow needs the product to create");
    }
    if (has_sub) {
        rc = orch_uuid_check(req->subscription_id, "subscription_id", err);
        if (rc)
            return rc;
        if (wf->def->target == ORCH_TARGET_CREATE)
            return orch_error_invalid(err, "subscription_id",
                                      "a create workflow makes a new subscription; give the "
                                      "product instead");
        /* Permission and lock checks come before any form. */
        rc = app->store->ops->sub_load(app->store, NULL, srv_call_ctx(call), app->catalog,
                                       req->subscription_id, false, &sub, err);
        if (!rc)
            rc = check_offer(wf, sub, err);
        if (rc)
            goto out;
    } else if (!wf->def->is_task && wf->def->lifecycle != ORCH_LC_NONE &&
               wf->def->target != ORCH_TARGET_CREATE) {
        return orch_error_invalid(err, "subscription_id",
                                  "workflow %s works on a subscription: give its id",
                                  wf->def->name);
    }

    if (wf->def->form) {
        orch_form_env_t env = {app->store, NULL, srv_call_ctx(call), app->catalog, NULL};
        context = json_object();
        if (product)
            json_object_set_new(context, "product_id", json_string(product->id));
        if (sub) {
            json_object_set_new(context, "subscription_id", json_string(sub->id));
            json_object_set_new(context, "customer_id", json_string(sub->customer_id));
        }
        env.context = context;
        inputs = inputs_json(req->user_inputs, req->n_user_inputs);
        rc = orch_form_run(wf->def->form, &env, (const json_t *const *)inputs, req->n_user_inputs,
                           "user_inputs", &fr, err);
        if (rc)
            goto out;
        if (!fr.complete) {
            /* More answers are needed: nothing is created, the request_id is not used. */
            resp = NEW(a, Orchestrator__V1__StartProcessResponse);
            orchestrator__v1__start_process_response__init(resp);
            resp->result_case = ORCHESTRATOR__V1__START_PROCESS_RESPONSE__RESULT_NEXT_PAGE;
            resp->next_page = form_page_pb(a, fr.next_page, fr.page_index, fr.page_title);
            *respm = &resp->base;
            goto out;
        }
        /* Secret answers never reach the database, the streams or the logs. */
        state = json_deep_copy(fr.masked);
    } else {
        state =
            req->n_user_inputs ? srv_codec_json_from_struct(req->user_inputs[0]) : json_object();
        if (!json_is_object(state)) {
            json_decref(state);
            state = json_object();
        }
    }
    if (req->product_id && *req->product_id)
        json_object_set_new(state, "product_id", json_string(req->product_id));
    if (has_sub)
        json_object_set_new(state, "subscription_id", json_string(req->subscription_id));

    rc = srv_idem_begin(call, reqm, req->request_id, &idem, err);
    if (rc)
        goto out;
    if (idem.replay) {
        resp = (Orchestrator__V1__StartProcessResponse *)idem.replay;
        resp->outcome = ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED;
        *respm = idem.replay;
        goto out;
    }
    /* A paused engine refuses the start: checked by the create statement itself (one round
     * trip less), so the subscription checks below come first. */
    rc = ORCH_OK;
    if (sub && !is_note(wf) && !wf->def->is_task) {
        /* The lock: under the subscription's row lock, no other unfinished workflow of it;
         * the new process is linked in the same transaction, so a concurrent second start
         * waits here and is then refused. */
        long busy = 0;
        orch_subscription_free(sub);
        sub = NULL;
        rc = app->store->ops->sub_load(app->store, idem.tx, srv_call_ctx(call), app->catalog,
                                       req->subscription_id, true, &sub, err);
        if (!rc)
            rc = check_offer(wf, sub, err);
        if (!rc)
            rc = app->store->ops->sub_count_unfinished(idem.tx, sub->id, &busy, err);
        if (!rc && busy > 0)
            rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "SUBSCRIPTION_NOT_IN_SYNC",
                                "subscription %s is locked by %ld unfinished workflow%s", sub->id,
                                busy, busy == 1 ? "" : "s");
    }
    if (!rc) {
        /* With an idle worker here, the process is created leased to this replica, its first
         * step shown running, and handed to that worker at commit: no claim, no poll, and no
         * other replica can take it meanwhile. Else it is created for anyone. */
        const orch_leaf_t *first = orch_runner_next(wf, NULL, 0);
        orch_process_new_t np = {
            .workflow = wf->def->name,
            .version = wf->def->version,
            .product_id = req->product_id && *req->product_id ? req->product_id : NULL,
            .created_by = actor_of(call),
            .note = req->note,
            .initial_state = state,
            .refuse_if_paused = true,
        };
        if (first && first->def->kind == ORCH_KIND_PARALLEL)
            first = NULL; /* a fork is never shown running: the worker runs it at once */
        if (first) {
            lease.step_key = first->key;
            lease.step_name = first->def->name;
            lease.timeout_ms =
                first->def->timeout_ms > 0 ? first->def->timeout_ms : ORCH_STEP_TIMEOUT_DEFAULT_MS;
            np.first = &lease;
        }
        if (first && orch_engine_reserve(app->engine)) {
            reserved = true;
            lease.owner = orch_engine_replica_id(app->engine);
            lease.step_key = first->key;
            lease.step_name = first->def->name;
            lease.timeout_ms =
                first->def->timeout_ms > 0 ? first->def->timeout_ms : ORCH_STEP_TIMEOUT_DEFAULT_MS;
            lease.lease_ms = orch_engine_lease_ms(app->engine);
            np.lease = &lease;
        }
        rc = app->store->ops->process_create(idem.tx, &np, id, err);
    }
    if (!rc && fr.complete)
        rc = keep_secrets(app, idem.tx, id, "", &fr, err);
    if (!rc && sub)
        rc = app->store->ops->process_link_subscription(idem.tx, id, sub->id, err);
    resp = NEW(a, Orchestrator__V1__StartProcessResponse);
    orchestrator__v1__start_process_response__init(resp);
    if (!rc)
        rc = basic(call, idem.tx, id, &resp->process, err);
    if (rc) {
        srv_idem_abort(call, &idem);
        goto out;
    }
    resp->result_case = ORCHESTRATOR__V1__START_PROCESS_RESPONSE__RESULT_PROCESS;
    resp->outcome = ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED;
    *respm = &resp->base;
    rc = srv_idem_commit(call, &idem, *respm, err);
    if (rc)
        *respm = NULL;
    else if (reserved) {
        orch_engine_handoff(app->engine, id, wf->def->name, wf->def->version, lease.token,
                            lease.step_started, state);
        reserved = false;
    }
out:
    if (reserved)
        orch_engine_unreserve(app->engine); /* not created: whatever it held expires */
    orch_subscription_free(sub);
    orch_form_result_cleanup(&fr);
    inputs_free(inputs, req->n_user_inputs);
    json_decref(context);
    json_decref(state);
    return rc;
}

/* ResumeProcess: a suspended input step gets its answers (validated like a start form,
 * stored with who gave them, deep-merged into the state); a failed or waiting process is
 * retried; a process awaiting a callback has the callback step's action run again. Under the
 * process's row lock, so a second resume finds it resumed already. */
static orch_err_t resume_process(srv_call_t *call, const ProtobufCMessage *reqm,
                                 ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__ResumeProcessRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    orch_arena_t *a = srv_call_arena(call);
    Orchestrator__V1__ResumeProcessResponse *resp;
    srv_idem_t idem = {0};
    char status[32], last[256];
    orch_process_t *p = NULL;
    json_t **inputs = NULL, *merged = NULL;
    orch_form_result_t fr = {0};
    orch_err_t rc = check_id(req->process_id, err);
    if (rc)
        return rc;
    rc = srv_idem_begin(call, reqm, req->request_id, &idem, err);
    if (rc)
        return rc;
    if (idem.replay) {
        resp = (Orchestrator__V1__ResumeProcessResponse *)idem.replay;
        resp->outcome = ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED;
        *respm = idem.replay;
        return ORCH_OK;
    }
    resp = NEW(a, Orchestrator__V1__ResumeProcessResponse);
    orchestrator__v1__resume_process_response__init(resp);
    rc = refuse_if_paused(call, idem.tx, err);
    if (!rc)
        rc = app->store->ops->process_lock(idem.tx, req->process_id, status, last, err);
    if (!rc)
        rc = check_process_role(call, idem.tx, req->process_id, err);
    if (rc)
        goto fail;
    if (strcmp(status, "suspended") == 0) {
        const orch_workflow_t *wf;
        const orch_leaf_t *leaf;
        orch_form_env_t env = {app->store, idem.tx, srv_call_ctx(call), app->catalog, NULL};
        rc = app->store->ops->process_get(app->store, idem.tx, srv_call_ctx(call), req->process_id,
                                          true, &p, err);
        if (rc)
            goto fail;
        wf = orch_registry_find(app->registry, p->workflow_name, p->version);
        leaf = find_leaf(wf, last);
        if (!leaf || leaf->def->kind != ORCH_KIND_INPUT || !leaf->def->form) {
            rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "PROCESS_NOT_RESUMABLE",
                                "process %s is suspended at %s, which this server cannot "
                                "resume",
                                req->process_id, last);
            goto fail;
        }
        if (leaf->def->required_role) {
            char what[400];
            snprintf(what, sizeof(what), "step %s of workflow %s", leaf->key, wf->def->name);
            rc = check_role(call, leaf->def->required_role, what, err);
            if (rc)
                goto fail;
        }
        env.context = orch_process_current_state(p);
        inputs = inputs_json(req->user_inputs, req->n_user_inputs);
        rc = orch_form_run(leaf->def->form, &env, (const json_t *const *)inputs, req->n_user_inputs,
                           "user_inputs", &fr, err);
        if (rc)
            goto fail;
        if (!fr.complete) {
            srv_idem_abort(call, &idem);
            resp->result_case = ORCHESTRATOR__V1__RESUME_PROCESS_RESPONSE__RESULT_NEXT_PAGE;
            resp->next_page = form_page_pb(a, fr.next_page, fr.page_index, fr.page_title);
            *respm = &resp->base;
            goto out;
        }
        merged = orch_json_deep_merge(orch_process_current_state(p), fr.masked);
        rc = app->store->ops->process_resume_input(idem.tx, req->process_id, leaf->key,
                                                   leaf->def->name, fr.masked, merged, fr.masked,
                                                   actor_of(call), err);
        if (!rc)
            rc = keep_secrets(app, idem.tx, req->process_id, leaf->key, &fr, err);
    } else if (strcmp(status, "failed") == 0 || strcmp(status, "waiting") == 0 ||
               strcmp(status, "api_unavailable") == 0 || strcmp(status, "inconsistent_data") == 0 ||
               strcmp(status, "awaiting_callback") == 0) {
        /* awaiting_callback: the callback step's action runs again with a new token (the
         * external system lost the request); the old token stops working. */
        if (req->n_user_inputs) {
            rc = orch_error_invalid(err, "user_inputs", "process %s is %s, not waiting for input",
                                    req->process_id, status);
            goto fail;
        }
        rc = app->store->ops->process_retry(idem.tx, req->process_id, actor_of(call), err);
    } else {
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "PROCESS_NOT_RESUMABLE",
                            "process %s is %s; only suspended, failed, waiting, "
                            "awaiting_callback, api_unavailable and inconsistent_data "
                            "processes can be resumed",
                            req->process_id, status);
    }
    if (!rc)
        rc = basic(call, idem.tx, req->process_id, &resp->process, err);
    if (rc)
        goto fail;
    resp->result_case = ORCHESTRATOR__V1__RESUME_PROCESS_RESPONSE__RESULT_PROCESS;
    resp->outcome = ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED;
    *respm = &resp->base;
    rc = srv_idem_commit(call, &idem, *respm, err);
    if (rc)
        *respm = NULL;
    goto out;
fail:
    srv_idem_abort(call, &idem);
out:
    orch_process_free(p);
    orch_form_result_cleanup(&fr);
    inputs_free(inputs, req->n_user_inputs);
    json_decref(merged);
    return rc;
}

static orch_err_t check_token(const char *token, orch_error_t *err)
{
    if (!token || strlen(token) != 64)
        return orch_error_set(err, ORCH_PERMISSION_DENIED, "CALLBACK_TOKEN_INVALID",
                              "the callback token is not valid for this process");
    return ORCH_OK;
}

/* DeliverCallback: authorised by the step's token alone; delivered once. */
static orch_err_t deliver_callback(srv_call_t *call, const ProtobufCMessage *reqm,
                                   ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__DeliverCallbackRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    Orchestrator__V1__DeliverCallbackResponse *resp;
    srv_idem_t idem = {0};
    char status[32] = "";
    bool already = false;
    json_t *result = NULL;
    orch_err_t rc = check_id(req->process_id, err);
    if (!rc)
        rc = check_token(req->callback_token, err);
    if (rc)
        return rc;
    rc = srv_idem_begin(call, reqm, req->request_id, &idem, err);
    if (rc)
        return rc;
    if (idem.replay) {
        resp = (Orchestrator__V1__DeliverCallbackResponse *)idem.replay;
        resp->outcome = ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED;
        *respm = idem.replay;
        return ORCH_OK;
    }
    result = req->result ? srv_codec_json_from_struct(req->result) : json_object();
    if (!json_is_object(result)) {
        json_decref(result);
        result = json_object();
    }
    rc = app->store->ops->callback_deliver(idem.tx, req->process_id, req->callback_token, result,
                                           "callback", &already, status, err);
    json_decref(result);
    if (rc) {
        srv_idem_abort(call, &idem);
        return rc;
    }
    resp = NEW(srv_call_arena(call), Orchestrator__V1__DeliverCallbackResponse);
    orchestrator__v1__deliver_callback_response__init(resp);
    resp->status = status_to_pb(status);
    resp->outcome = already ? ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED
                            : ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED;
    *respm = &resp->base;
    rc = srv_idem_commit(call, &idem, *respm, err);
    if (rc)
        *respm = NULL;
    return rc;
}

static orch_err_t report_progress(srv_call_t *call, const ProtobufCMessage *reqm,
                                  ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__ReportCallbackProgressRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    Orchestrator__V1__ReportCallbackProgressResponse *resp;
    srv_idem_t idem = {0};
    json_t *progress = NULL;
    orch_err_t rc = check_id(req->process_id, err);
    if (!rc)
        rc = check_token(req->callback_token, err);
    if (rc)
        return rc;
    if (req->message && strlen(req->message) > 2000)
        return orch_error_invalid(err, "message",
                                  "a progress message has at most 2000 "
                                  "characters");
    rc = srv_idem_begin(call, reqm, req->request_id, &idem, err);
    if (rc)
        return rc;
    if (idem.replay) {
        resp = (Orchestrator__V1__ReportCallbackProgressResponse *)idem.replay;
        resp->outcome = ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED;
        *respm = idem.replay;
        return ORCH_OK;
    }
    progress = req->progress ? srv_codec_json_from_struct(req->progress) : json_object();
    rc = app->store->ops->callback_progress(idem.tx, req->process_id, req->callback_token,
                                            req->message, progress, err);
    json_decref(progress);
    if (rc) {
        srv_idem_abort(call, &idem);
        return rc;
    }
    resp = NEW(srv_call_arena(call), Orchestrator__V1__ReportCallbackProgressResponse);
    orchestrator__v1__report_callback_progress_response__init(resp);
    resp->outcome = ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED;
    *respm = &resp->base;
    rc = srv_idem_commit(call, &idem, *respm, err);
    if (rc)
        *respm = NULL;
    return rc;
}

static orch_err_t get_process(srv_call_t *call, const ProtobufCMessage *reqm,
                              ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__GetProcessRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    orch_process_t *p = NULL;
    bool full = req->view != ORCHESTRATOR__V1__PROCESS_VIEW__PROCESS_VIEW_BASIC;
    orch_err_t rc = check_id(req->process_id, err);
    if (rc)
        return rc;
    rc = app->store->ops->process_get(app->store, NULL, srv_call_ctx(call), req->process_id, full,
                                      &p, err);
    if (rc)
        return rc;
    *respm = &srv_process_to_pb(call, p, full)->base;
    orch_process_free(p);
    return ORCH_OK;
}

static orch_err_t list_processes(srv_call_t *call, const ProtobufCMessage *reqm,
                                 ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__ListProcessesRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    orch_arena_t *a = srv_call_arena(call);
    Orchestrator__V1__ListProcessesResponse *resp;
    orch_process_page_t page = {0};
    orch_process_query_t q = {req->filter, req->order_by, req->page_token, 0};
    bool full = req->view == ORCHESTRATOR__V1__PROCESS_VIEW__PROCESS_VIEW_FULL;
    orch_err_t rc = orch_page_size(req->page_size, &q.page_size, err);
    if (rc)
        return rc;
    if (full && q.page_size > 50)
        q.page_size = 50; /* full views carry every state: keep pages small */
    rc = app->store->ops->process_list(app->store, srv_call_ctx(call), &q, &page, err);
    if (rc)
        return rc;
    if (full) {
        /* The list gives the basic rows; the full view reads each process with its log. */
        for (size_t i = 0; i < page.n && !rc; i++) {
            orch_process_t *p = NULL;
            rc = app->store->ops->process_get(app->store, NULL, srv_call_ctx(call),
                                              page.items[i]->id, true, &p, err);
            if (!rc) {
                orch_process_free(page.items[i]);
                page.items[i] = p;
            }
        }
        if (rc)
            goto out;
    }
    resp = NEW(a, Orchestrator__V1__ListProcessesResponse);
    orchestrator__v1__list_processes_response__init(resp);
    resp->n_processes = page.n;
    resp->processes = NEWV(a, Orchestrator__V1__Process, page.n);
    for (size_t i = 0; i < page.n; i++)
        resp->processes[i] = srv_process_to_pb(call, page.items[i], full);
    resp->next_page_token = orch_arena_strdup(a, page.next_token);
    resp->total_size = (int32_t)page.total;
    *respm = &resp->base;
out:
    orch_process_page_cleanup(&page);
    return rc;
}

static orch_err_t retry_process(srv_call_t *call, const ProtobufCMessage *reqm,
                                ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__RetryProcessRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    Orchestrator__V1__RetryProcessResponse *resp;
    srv_idem_t idem = {0};
    bool already = false, handled = false;
    orch_err_t rc = check_id(req->process_id, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < req->n_branches; i++)
        if (!req->branches[i] || !*req->branches[i] || strlen(req->branches[i]) > 100)
            return orch_error_invalid(err, "branches", "a branch name has 1-100 characters");
    rc = srv_idem_begin(call, reqm, req->request_id, &idem, err);
    if (rc)
        return rc;
    if (idem.replay) {
        resp = (Orchestrator__V1__RetryProcessResponse *)idem.replay;
        resp->outcome = ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED;
        *respm = idem.replay;
        return ORCH_OK;
    }
    resp = NEW(srv_call_arena(call), Orchestrator__V1__RetryProcessResponse);
    orchestrator__v1__retry_process_response__init(resp);
    rc = refuse_if_paused(call, idem.tx, err);
    if (!rc)
        rc = check_process_role(call, idem.tx, req->process_id, err);
    /* A repeat (client retry, or the same retry at another replica) waits for the first on
     * the process row and then answers ALREADY_APPLIED instead of NOT_RETRIABLE. */
    /* A process that failed at a parallel step re-runs only its failed branches (those
     * named, or all of them). */
    if (!rc)
        rc = app->store->ops->process_retry_branches(idem.tx, req->process_id, actor_of(call),
                                                     (const char *const *)req->branches,
                                                     req->n_branches, &handled, &already, err);
    if (!rc && !handled && req->n_branches)
        rc = orch_error_invalid(err, "branches",
                                "process %s did not fail at a parallel step; retry it without "
                                "branches",
                                req->process_id);
    if (!rc && !handled)
        rc = app->store->ops->process_retry_once(idem.tx, req->process_id, actor_of(call), &already,
                                                 err);
    if (!rc)
        rc = basic(call, idem.tx, req->process_id, &resp->process, err);
    if (rc) {
        srv_idem_abort(call, &idem);
        return rc;
    }
    resp->outcome = already ? ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED
                            : ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED;
    *respm = &resp->base;
    rc = srv_idem_commit(call, &idem, *respm, err);
    if (rc)
        *respm = NULL;
    return rc;
}

static orch_err_t abort_process(srv_call_t *call, const ProtobufCMessage *reqm,
                                ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__AbortProcessRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    Orchestrator__V1__AbortProcessResponse *resp;
    srv_idem_t idem = {0};
    bool already = false;
    orch_err_t rc = check_id(req->process_id, err);
    if (rc)
        return rc;
    if (req->reason && strlen(req->reason) > 2000)
        return orch_error_invalid(err, "reason", "a reason has at most 2000 characters");
    rc = srv_idem_begin(call, reqm, req->request_id, &idem, err);
    if (rc)
        return rc;
    if (idem.replay) {
        resp = (Orchestrator__V1__AbortProcessResponse *)idem.replay;
        resp->outcome = ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED;
        *respm = idem.replay;
        return ORCH_OK;
    }
    resp = NEW(srv_call_arena(call), Orchestrator__V1__AbortProcessResponse);
    orchestrator__v1__abort_process_response__init(resp);
    rc = check_process_role(call, idem.tx, req->process_id, err);
    if (!rc)
        rc = app->store->ops->process_abort(idem.tx, req->process_id, req->reason, actor_of(call),
                                            &already, err);
    if (!rc)
        rc = basic(call, idem.tx, req->process_id, &resp->process, err);
    if (rc) {
        srv_idem_abort(call, &idem);
        return rc;
    }
    resp->outcome = already ? ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED
                            : ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED;
    *respm = &resp->base;
    rc = srv_idem_commit(call, &idem, *respm, err);
    if (rc)
        *respm = NULL;
    return rc;
}

static orch_err_t delete_process(srv_call_t *call, const ProtobufCMessage *reqm,
                                 ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__DeleteProcessRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    Orchestrator__V1__DeleteProcessResponse *resp;
    srv_idem_t idem = {0};
    orch_err_t rc = check_id(req->process_id, err);
    if (rc)
        return rc;
    rc = srv_idem_begin(call, reqm, req->request_id, &idem, err);
    if (rc)
        return rc;
    if (idem.replay) {
        resp = (Orchestrator__V1__DeleteProcessResponse *)idem.replay;
        resp->outcome = ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED;
        *respm = idem.replay;
        return ORCH_OK;
    }
    rc = app->store->ops->process_delete(idem.tx, req->process_id, err);
    if (rc) {
        srv_idem_abort(call, &idem);
        return rc;
    }
    resp = NEW(srv_call_arena(call), Orchestrator__V1__DeleteProcessResponse);
    orchestrator__v1__delete_process_response__init(resp);
    resp->outcome = ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED;
    *respm = &resp->base;
    rc = srv_idem_commit(call, &idem, *respm, err);
    if (rc)
        *respm = NULL;
    return rc;
}

static orch_err_t update_note(srv_call_t *call, const ProtobufCMessage *reqm,
                              ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__UpdateProcessNoteRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    Orchestrator__V1__Process *p = NULL;
    srv_idem_t idem = {0};
    orch_err_t rc = check_id(req->process_id, err);
    if (rc)
        return rc;
    if (req->note && strlen(req->note) > 5000)
        return orch_error_invalid(err, "note", "a note has at most 5000 characters");
    rc = srv_idem_begin(call, reqm, req->request_id, &idem, err);
    if (rc)
        return rc;
    if (idem.replay) {
        *respm = idem.replay;
        return ORCH_OK;
    }
    rc = app->store->ops->process_set_note(idem.tx, req->process_id, req->note, err);
    if (!rc)
        rc = basic(call, idem.tx, req->process_id, &p, err);
    if (rc) {
        srv_idem_abort(call, &idem);
        return rc;
    }
    *respm = &p->base;
    rc = srv_idem_commit(call, &idem, *respm, err);
    if (rc)
        *respm = NULL;
    return rc;
}

static orch_err_t status_counts(srv_call_t *call, const ProtobufCMessage *reqm,
                                ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__GetProcessStatusCountsRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    orch_arena_t *a = srv_call_arena(call);
    Orchestrator__V1__GetProcessStatusCountsResponse *resp;
    orch_status_count_t *c = NULL;
    size_t n = 0;
    orch_err_t rc = app->store->ops->process_status_counts(app->store, srv_call_ctx(call),
                                                           req->filter, &c, &n, err);
    if (rc)
        return rc;
    resp = NEW(a, Orchestrator__V1__GetProcessStatusCountsResponse);
    orchestrator__v1__get_process_status_counts_response__init(resp);
    resp->process_counts = NEWV(a, Orchestrator__V1__ProcessStatusCount, n);
    resp->task_counts = NEWV(a, Orchestrator__V1__ProcessStatusCount, n);
    for (size_t i = 0; i < n; i++) {
        Orchestrator__V1__ProcessStatusCount *sc = NEW(a, Orchestrator__V1__ProcessStatusCount);
        orchestrator__v1__process_status_count__init(sc);
        sc->status = status_to_pb(c[i].status);
        sc->count = c[i].count;
        if (c[i].is_task)
            resp->task_counts[resp->n_task_counts++] = sc;
        else
            resp->process_counts[resp->n_process_counts++] = sc;
    }
    free(c);
    *respm = &resp->base;
    return ORCH_OK;
}

static orch_err_t bulk_resume(srv_call_t *call, const ProtobufCMessage *reqm,
                              ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__BulkResumeRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    orch_arena_t *a = srv_call_arena(call);
    Orchestrator__V1__BulkResumeResponse *resp;
    srv_idem_t idem = {0};
    char **ids = NULL;
    size_t n = 0;
    orch_err_t rc = srv_idem_begin(call, reqm, req->request_id, &idem, err);
    if (rc)
        return rc;
    if (idem.replay) {
        *respm = idem.replay;
        return ORCH_OK;
    }
    rc = refuse_if_paused(call, idem.tx, err);
    if (!rc)
        rc = app->store->ops->process_bulk_resume(idem.tx, req->filter, actor_of(call), &ids, &n,
                                                  err);
    if (rc) {
        srv_idem_abort(call, &idem);
        goto out;
    }
    resp = NEW(a, Orchestrator__V1__BulkResumeResponse);
    orchestrator__v1__bulk_resume_response__init(resp);
    resp->resumed_count = (int32_t)n;
    resp->n_resumed_process_ids = n;
    resp->resumed_process_ids = orch_arena_alloc(a, (n + 1) * sizeof(char *));
    for (size_t i = 0; i < n; i++)
        resp->resumed_process_ids[i] = orch_arena_strdup(a, ids[i]);
    *respm = &resp->base;
    rc = srv_idem_commit(call, &idem, *respm, err);
    if (rc)
        *respm = NULL;
out:
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

const srv_method_t srv_process_methods[] = {
    {&orchestrator__v1__process_service__descriptor, "StartProcess", start_process,
     SRV_ROLE_OPERATOR, NULL},
    {&orchestrator__v1__process_service__descriptor, "GetProcess", get_process, SRV_ROLE_READER,
     NULL},
    {&orchestrator__v1__process_service__descriptor, "ListProcesses", list_processes,
     SRV_ROLE_READER, NULL},
    {&orchestrator__v1__process_service__descriptor, "RetryProcess", retry_process,
     SRV_ROLE_OPERATOR, NULL},
    {&orchestrator__v1__process_service__descriptor, "AbortProcess", abort_process,
     SRV_ROLE_OPERATOR, NULL},
    {&orchestrator__v1__process_service__descriptor, "DeleteProcess", delete_process,
     SRV_ROLE_ADMIN, NULL},
    {&orchestrator__v1__process_service__descriptor, "UpdateProcessNote", update_note,
     SRV_ROLE_OPERATOR, NULL},
    {&orchestrator__v1__process_service__descriptor, "GetProcessStatusCounts", status_counts,
     SRV_ROLE_READER, NULL},
    {&orchestrator__v1__process_service__descriptor, "BulkResume", bulk_resume, SRV_ROLE_OPERATOR,
     NULL},
    {&orchestrator__v1__process_service__descriptor, "ResumeProcess", resume_process,
     SRV_ROLE_OPERATOR, NULL},
    {&orchestrator__v1__process_service__descriptor, "DeliverCallback", deliver_callback,
     SRV_METHOD_CALLBACK, NULL},
    {&orchestrator__v1__process_service__descriptor, "ReportCallbackProgress", report_progress,
     SRV_METHOD_CALLBACK, NULL},
    {0},
};
