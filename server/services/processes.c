/* orchestrator.v1.ProcessService: start, read, list, resume, retry, abort, delete, note,
 * status counts, bulk resume and the callbacks of external systems. Each handler decodes,
 * makes one use-case call (domain/usecase/) and encodes; the rules live in the use case. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/engine/engine.h"
#include "domain/forms/forms.h"
#include "domain/ids.h"
#include "domain/page.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "server/app.h"
#include "server/rpc/codec.h"
#include "server/services/pbconv.h"
#include "server/services/services.h"
#include "server/services/ucall.h"

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
    ac = SRV_NEW(a, Orchestrator__V1__Actor);
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
    pe = SRV_NEW(a, Orchestrator__V1__ProcessError);
    orchestrator__v1__process_error__init(pe);
    pe->reason = orch_arena_strdup(a, orch_state_str(e, "reason", ""));
    pe->message = orch_arena_strdup(a, message ? message : orch_state_str(e, "message", ""));
    details = json_object_get(e, "details");
    if (json_is_object(details))
        pe->details = srv_codec_struct_from_json(a, details);
    return pe;
}

static Orchestrator__V1__ProcessStep *step_pb(orch_arena_t *a, const orch_workflow_t *wf,
                                              const orch_process_step_t *s, bool with_state)
{
    Orchestrator__V1__ProcessStep *ps = SRV_NEW(a, Orchestrator__V1__ProcessStep);
    const orch_leaf_t *leaf = orch_workflow_leaf(wf, s->key);
    orchestrator__v1__process_step__init(ps);
    ps->step_id = orch_arena_strdup(a, s->step_id);
    ps->key = orch_arena_strdup(a, s->key);
    ps->name = orch_arena_strdup(a, s->name);
    ps->status = step_status_to_pb(s->status);
    ps->state_delta = srv_codec_struct_from_json(a, s->delta);
    if (with_state)
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
    orch_uc_t uc = srv_app_uc(app);
    json_t *schema = NULL;
    const char *title = NULL;
    Orchestrator__V1__FormPage *fp = NULL;
    if (orch_uc_process_form_page(&uc, ctx, p, step_key, &schema, &title))
        fp = form_page_pb(a, schema, 0, title);
    json_decref(schema);
    return fp;
}

/* The steps of a DELTAS or FULL view (with_state: FULL): the process's own audit rows with
 * its branches' rows merged in, both in commit order, then the steps still to come (not for
 * a finished process). */
static void steps_pb(orch_arena_t *a, const orch_workflow_t *wf, const orch_process_t *p,
                     bool with_state, Orchestrator__V1__Process *pb)
{
    size_t cap = p->nsteps + p->nbranch_steps + (wf ? wf->nleaves : 0), n = 0, bi = 0;
    bool finished = strcmp(p->status, "completed") == 0 || strcmp(p->status, "aborted") == 0;
    pb->steps = SRV_NEWV(a, Orchestrator__V1__ProcessStep, cap);
    for (size_t i = 0; i < p->nsteps; i++) {
        while (bi < p->nbranch_steps && p->branch_steps[bi].end_us <= p->steps[i].end_us)
            pb->steps[n++] = step_pb(a, wf, &p->branch_steps[bi++], with_state);
        pb->steps[n++] = step_pb(a, wf, &p->steps[i], with_state);
    }
    while (bi < p->nbranch_steps)
        pb->steps[n++] = step_pb(a, wf, &p->branch_steps[bi++], with_state);
    for (size_t i = 0; wf && !finished && i < wf->nleaves; i++) {
        const orch_leaf_t *l = &wf->leaves[i];
        Orchestrator__V1__ProcessStep *ps;
        if (p->branch_key && (!l->branch_key || strcmp(l->branch_key, p->branch_key) != 0))
            continue; /* a branch process shows its own branch's steps */
        if (l->branch ? leaf_done(l, p->branch_steps, p->nbranch_steps) ||
                            (p->branch_key && leaf_done(l, p->steps, p->nsteps))
                      : leaf_done(l, p->steps, p->nsteps))
            continue;
        ps = SRV_NEW(a, Orchestrator__V1__ProcessStep);
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

/* The callback an awaiting_callback process waits for (the store's JSON of it). */
static Orchestrator__V1__PendingCallback *callback_pb(orch_arena_t *a, const json_t *cb)
{
    Orchestrator__V1__PendingCallback *pc = SRV_NEW(a, Orchestrator__V1__PendingCallback);
    orchestrator__v1__pending_callback__init(pc);
    pc->step_key = orch_arena_strdup(a, orch_state_str(cb, "step_key", ""));
    pc->create_time = srv_codec_timestamp(a, orch_state_int(cb, "create_us", 0));
    pc->deadline_time = srv_codec_timestamp(a, orch_state_int(cb, "expire_us", 0));
    pc->last_progress = srv_codec_struct_from_json(a, json_object_get(cb, "progress"));
    pc->last_progress_message = orch_arena_strdup(a, orch_state_str(cb, "progress_message", ""));
    pc->last_progress_time = srv_codec_timestamp(a, orch_state_int(cb, "progress_us", 0));
    return pc;
}

/* The worker task an awaiting_callback process waits for, with why it still waits. */
static Orchestrator__V1__PendingTask *task_pb(orch_arena_t *a, const json_t *t)
{
    Orchestrator__V1__PendingTask *pt = SRV_NEW(a, Orchestrator__V1__PendingTask);
    const char *type = orch_state_str(t, "task_type", "");
    const char *st = orch_state_str(t, "status", "");
    orchestrator__v1__pending_task__init(pt);
    pt->step_key = orch_arena_strdup(a, orch_state_str(t, "step_key", ""));
    pt->task_type = orch_arena_strdup(a, type);
    pt->status = orch_arena_strdup(a, st);
    pt->attempt = (int32_t)orch_state_int(t, "attempt", 0);
    pt->max_attempts = (int32_t)orch_state_int(t, "max_attempts", 0);
    pt->worker = orch_arena_strdup(a, orch_state_str(t, "worker", ""));
    pt->served = orch_state_bool(t, "served", false);
    if (strcmp(st, "delivered") == 0)
        pt->waiting_reason =
            orch_arena_printf(a, "worker %s runs it (attempt %d)", pt->worker, (int)pt->attempt);
    else if (!pt->served)
        pt->waiting_reason = orch_arena_printf(
            a, "no worker serving %s is connected; the process goes on when one is", type);
    else
        pt->waiting_reason = orch_arena_printf(a, "waiting for a free worker of %s", type);
    pt->create_time = srv_codec_timestamp(a, orch_state_int(t, "create_us", 0));
    pt->deadline_time = srv_codec_timestamp(a, orch_state_int(t, "deadline_us", 0));
    pt->lease_expire_time = srv_codec_timestamp(a, orch_state_int(t, "lease_us", 0));
    pt->last_progress_message = orch_arena_strdup(a, orch_state_str(t, "progress_message", ""));
    pt->last_error_message = orch_arena_strdup(a, orch_state_str(t, "last_error", ""));
    return pt;
}

Orchestrator__V1__Process *srv_process_basic_pb(orch_arena_t *a, const orch_process_t *p)
{
    Orchestrator__V1__Process *pb = SRV_NEW(a, Orchestrator__V1__Process);
    Orchestrator__V1__WorkflowRef *wr = SRV_NEW(a, Orchestrator__V1__WorkflowRef);

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
    return pb;
}

/* Builds a Process in the call's arena; DELTAS and FULL add steps (log + pending), the
 * current state, and what a suspended or awaiting process waits for. */
Orchestrator__V1__Process *srv_process_to_pb(srv_call_t *call, const orch_process_t *p,
                                             srv_process_view_t view)
{
    orch_arena_t *a = srv_call_arena(call);
    srv_app_t *app = srv_call_app(call);
    Orchestrator__V1__Process *pb = srv_process_basic_pb(a, p);
    const orch_workflow_t *wf;

    if (view == SRV_PROCESS_BASIC)
        return pb;
    wf = app->registry ? orch_registry_find(app->registry, p->workflow_name, p->version) : NULL;
    steps_pb(a, wf, p, view == SRV_PROCESS_FULL, pb);
    pb->current_state = srv_codec_struct_from_json(a, orch_process_current_state(p));
    if (strcmp(p->status, "suspended") == 0 && p->last_step_key)
        pb->form = srv_process_form_pb(app, a, srv_call_ctx(call), p, p->last_step_key);
    if (strcmp(p->status, "awaiting_callback") == 0 && app->store) {
        orch_uc_t uc = srv_uc(call);
        json_t *cb = NULL, *task = NULL;
        orch_uc_process_pending(&uc, srv_call_ctx(call), p->id, &cb, &task);
        if (cb)
            pb->pending_callback = callback_pb(a, cb);
        if (task)
            pb->pending_task = task_pb(a, task);
        json_decref(cb);
        json_decref(task);
    }
    return pb;
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
    Orchestrator__V1__FormPage *fp = SRV_NEW(a, Orchestrator__V1__FormPage);
    orchestrator__v1__form_page__init(fp);
    fp->form = srv_codec_struct_from_json(a, schema);
    fp->page_index = (int32_t)index;
    fp->title = orch_arena_strdup(a, title ? title : "");
    return fp;
}

static Orchestrator__V1__ActionOutcome outcome_of(bool already)
{
    return already ? ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED
                   : ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED;
}

/* What StartProcess and ResumeProcess answer alike (their messages differ in name only): a
 * desc message whose oneof result holds the next form page while the form goes on, else the
 * process, applied. */
static ProtobufCMessage *page_or_process_pb(srv_call_t *call,
                                            const ProtobufCMessageDescriptor *desc, bool created,
                                            const orch_form_result_t *form,
                                            const orch_process_t *process)
{
    orch_arena_t *a = srv_call_arena(call);
    ProtobufCMessage *m = srv_codec_message_new(a, desc);
    if (!created) {
        *(Orchestrator__V1__FormPage **)srv_codec_oneof_field(m, "next_page") =
            form_page_pb(a, form->next_page, form->page_index, form->page_title);
        return m;
    }
    *(Orchestrator__V1__Process **)srv_codec_oneof_field(m, "process") =
        srv_process_to_pb(call, process, SRV_PROCESS_BASIC);
    *(Orchestrator__V1__ActionOutcome *)srv_codec_field(m, "outcome") =
        ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED;
    return m;
}

static ProtobufCMessage *start_pb(srv_call_t *call, void *resv)
{
    const orch_start_res_t *res = resv;
    return page_or_process_pb(call, &orchestrator__v1__start_process_response__descriptor,
                              res->created, &res->form, res->process);
}

/* StartProcess: the start use case (domain/usecase/process_start.c) holds every rule. */
SRV_UNARY_HANDLER(start_process, Orchestrator__V1__StartProcessRequest)
{
    json_t **inputs = inputs_json(req->user_inputs, req->n_user_inputs);
    orch_start_req_t sr = {req->workflow_name,
                           req->product_id,
                           req->subscription_id,
                           req->note,
                           (const json_t *const *)inputs,
                           req->n_user_inputs};
    orch_start_res_t res = {0};
    srv_ucall_t u;
    orch_err_t rc;

    srv_ucall_init(&u, call, reqm, req->request_id, start_pb, &res);
    rc = orch_uc_process_start(&u.uc, &u.caller, &sr, &res, err);
    rc = srv_ucall_end(&u, rc, respm, err);
    orch_start_res_cleanup(&res);
    inputs_free(inputs, req->n_user_inputs);
    return rc;
}

/* The end of every action handler: the answer (or the error) through the use-case call, and
 * the action's result freed. */
static orch_err_t action_end(srv_ucall_t *u, orch_err_t rc, orch_action_res_t *res,
                             ProtobufCMessage **respm, orch_error_t *err)
{
    rc = srv_ucall_end(u, rc, respm, err);
    orch_action_res_cleanup(res);
    return rc;
}

static ProtobufCMessage *resume_pb(srv_call_t *call, void *resv)
{
    const orch_action_res_t *res = resv;
    return page_or_process_pb(call, &orchestrator__v1__resume_process_response__descriptor,
                              res->created, &res->form, res->process);
}

/* ResumeProcess: a suspended input step gets its answers; a failed or waiting process is
 * retried; a process awaiting a callback has the callback step's action run again. */
SRV_UNARY_HANDLER(resume_process, Orchestrator__V1__ResumeProcessRequest)
{
    json_t **inputs = inputs_json(req->user_inputs, req->n_user_inputs);
    orch_action_res_t res = {0};
    srv_ucall_t u;
    orch_err_t rc;

    srv_ucall_init(&u, call, reqm, req->request_id, resume_pb, &res);
    rc = orch_uc_process_resume(&u.uc, &u.caller, req->process_id, (const json_t *const *)inputs,
                                req->n_user_inputs, &res, err);
    rc = action_end(&u, rc, &res, respm, err);
    inputs_free(inputs, req->n_user_inputs);
    return rc;
}

static ProtobufCMessage *deliver_pb(srv_call_t *call, void *resv)
{
    const orch_action_res_t *res = resv;
    Orchestrator__V1__DeliverCallbackResponse *resp =
        SRV_NEW(srv_call_arena(call), Orchestrator__V1__DeliverCallbackResponse);
    orchestrator__v1__deliver_callback_response__init(resp);
    resp->status = status_to_pb(res->status);
    resp->outcome = outcome_of(res->already);
    return &resp->base;
}

/* DeliverCallback: authorised by the step's token alone; delivered once. */
SRV_UNARY_HANDLER(deliver_callback, Orchestrator__V1__DeliverCallbackRequest)
{
    json_t *result = req->result ? srv_codec_json_from_struct(req->result) : NULL;
    orch_action_res_t res = {0};
    srv_ucall_t u;
    orch_err_t rc;

    if (!json_is_object(result)) {
        json_decref(result);
        result = json_object();
    }
    srv_ucall_init(&u, call, reqm, req->request_id, deliver_pb, &res);
    rc = orch_uc_callback_deliver(&u.uc, &u.caller, req->process_id, req->callback_token, result,
                                  &res, err);
    rc = action_end(&u, rc, &res, respm, err);
    json_decref(result);
    return rc;
}

static ProtobufCMessage *progress_pb(srv_call_t *call, void *resv)
{
    (void)resv;
    return srv_applied_answer(call,
                              &orchestrator__v1__report_callback_progress_response__descriptor);
}

SRV_UNARY_HANDLER(report_progress, Orchestrator__V1__ReportCallbackProgressRequest)
{
    json_t *progress = req->progress ? srv_codec_json_from_struct(req->progress) : json_object();
    srv_ucall_t u;
    orch_err_t rc;

    srv_ucall_init(&u, call, reqm, req->request_id, progress_pb, NULL);
    rc = orch_uc_callback_progress(&u.uc, &u.caller, req->process_id, req->callback_token,
                                   req->message, progress, err);
    rc = srv_ucall_end(&u, rc, respm, err);
    json_decref(progress);
    return rc;
}

/* The request's view, dflt when unset; INVALID_ARGUMENT for a number the proto lacks (a
 * newer client's view is not silently served as another). */
static orch_err_t process_view(Orchestrator__V1__ProcessView v, srv_process_view_t dflt,
                               srv_process_view_t *out, orch_error_t *err)
{
    switch (v) {
    case ORCHESTRATOR__V1__PROCESS_VIEW__PROCESS_VIEW_UNSPECIFIED:
        *out = dflt;
        return ORCH_OK;
    case ORCHESTRATOR__V1__PROCESS_VIEW__PROCESS_VIEW_BASIC:
        *out = SRV_PROCESS_BASIC;
        return ORCH_OK;
    case ORCHESTRATOR__V1__PROCESS_VIEW__PROCESS_VIEW_DELTAS:
        *out = SRV_PROCESS_DELTAS;
        return ORCH_OK;
    case ORCHESTRATOR__V1__PROCESS_VIEW__PROCESS_VIEW_FULL:
        *out = SRV_PROCESS_FULL;
        return ORCH_OK;
    default:
        return orch_error_invalid(err, "view", "must be BASIC, DELTAS or FULL (or unset)");
    }
}

SRV_UNARY_HANDLER(get_process, Orchestrator__V1__GetProcessRequest)
{
    orch_uc_t uc = srv_uc(call);
    orch_process_t *p = NULL;
    srv_process_view_t view = SRV_PROCESS_BASIC;
    orch_err_t rc = process_view(req->view, SRV_PROCESS_FULL, &view, err);
    if (rc)
        return rc;
    rc = orch_uc_process_get(&uc, srv_call_ctx(call), req->process_id, view != SRV_PROCESS_BASIC,
                             &p, err);
    if (rc)
        return rc;
    *respm = &srv_process_to_pb(call, p, view)->base;
    orch_process_free(p);
    return ORCH_OK;
}

SRV_UNARY_HANDLER(list_processes, Orchestrator__V1__ListProcessesRequest)
{
    orch_uc_t uc = srv_uc(call);
    orch_arena_t *a = srv_call_arena(call);
    ProtobufCMessage **items;
    orch_process_page_t page = {0};
    orch_process_query_t q = {req->filter, req->order_by, req->page_token, 0};
    srv_process_view_t view = SRV_PROCESS_BASIC;
    orch_err_t rc = process_view(req->view, SRV_PROCESS_BASIC, &view, err);
    if (rc)
        return rc;
    rc = orch_page_size(req->page_size, &q.page_size, err);
    if (rc)
        return rc;
    if (view != SRV_PROCESS_BASIC && q.page_size > 50)
        q.page_size = 50; /* these views carry steps and states: keep pages small */
    rc = orch_uc_process_list(&uc, srv_call_ctx(call), &q, view != SRV_PROCESS_BASIC, &page, err);
    if (rc)
        return rc;
    items = SRV_NEWV(a, ProtobufCMessage, page.n);
    for (size_t i = 0; i < page.n; i++)
        items[i] = &srv_process_to_pb(call, page.items[i], view)->base;
    *respm =
        srv_codec_list_response(a, &orchestrator__v1__list_processes_response__descriptor,
                                "processes", items, page.n, page.next_token, (int32_t)page.total);
    ((Orchestrator__V1__ListProcessesResponse *)*respm)->total_size_is_estimate =
        page.total_is_estimate;
    orch_process_page_cleanup(&page);
    return ORCH_OK;
}

/* RetryProcess and AbortProcess answer alike (their messages differ in name only): the
 * process after the action, and whether it had been done already. */
static ProtobufCMessage *process_outcome_pb(srv_call_t *call,
                                            const ProtobufCMessageDescriptor *desc,
                                            const orch_action_res_t *res)
{
    ProtobufCMessage *m = srv_codec_message_new(srv_call_arena(call), desc);
    *(Orchestrator__V1__Process **)srv_codec_field(m, "process") =
        srv_process_to_pb(call, res->process, SRV_PROCESS_BASIC);
    *(Orchestrator__V1__ActionOutcome *)srv_codec_field(m, "outcome") = outcome_of(res->already);
    return m;
}

static ProtobufCMessage *retry_pb(srv_call_t *call, void *resv)
{
    return process_outcome_pb(call, &orchestrator__v1__retry_process_response__descriptor, resv);
}

SRV_UNARY_HANDLER(retry_process, Orchestrator__V1__RetryProcessRequest)
{
    orch_action_res_t res = {0};
    srv_ucall_t u;
    orch_err_t rc;

    srv_ucall_init(&u, call, reqm, req->request_id, retry_pb, &res);
    rc = orch_uc_process_retry(&u.uc, &u.caller, req->process_id,
                               (const char *const *)req->branches, req->n_branches, &res, err);
    return action_end(&u, rc, &res, respm, err);
}

static ProtobufCMessage *abort_pb(srv_call_t *call, void *resv)
{
    return process_outcome_pb(call, &orchestrator__v1__abort_process_response__descriptor, resv);
}

SRV_UNARY_HANDLER(abort_process, Orchestrator__V1__AbortProcessRequest)
{
    orch_action_res_t res = {0};
    srv_ucall_t u;
    orch_err_t rc;

    srv_ucall_init(&u, call, reqm, req->request_id, abort_pb, &res);
    rc = orch_uc_process_abort(&u.uc, &u.caller, req->process_id, req->reason, &res, err);
    return action_end(&u, rc, &res, respm, err);
}

static ProtobufCMessage *delete_pb(srv_call_t *call, void *resv)
{
    (void)resv;
    return srv_applied_answer(call, &orchestrator__v1__delete_process_response__descriptor);
}

SRV_UNARY_HANDLER(delete_process, Orchestrator__V1__DeleteProcessRequest)
{
    orch_action_res_t res = {0};
    srv_ucall_t u;
    orch_err_t rc;

    srv_ucall_init(&u, call, reqm, req->request_id, delete_pb, &res);
    rc = orch_uc_process_delete(&u.uc, &u.caller, req->process_id, &res, err);
    return action_end(&u, rc, &res, respm, err);
}

static ProtobufCMessage *note_pb(srv_call_t *call, void *resv)
{
    const orch_action_res_t *res = resv;
    return &srv_process_to_pb(call, res->process, SRV_PROCESS_BASIC)->base;
}

SRV_UNARY_HANDLER(update_note, Orchestrator__V1__UpdateProcessNoteRequest)
{
    orch_action_res_t res = {0};
    srv_ucall_t u;
    orch_err_t rc;

    srv_ucall_init(&u, call, reqm, req->request_id, note_pb, &res);
    rc = orch_uc_process_set_note(&u.uc, &u.caller, req->process_id, req->note, &res, err);
    return action_end(&u, rc, &res, respm, err);
}

SRV_UNARY_HANDLER(status_counts, Orchestrator__V1__GetProcessStatusCountsRequest)
{
    orch_uc_t uc = srv_uc(call);
    orch_arena_t *a = srv_call_arena(call);
    Orchestrator__V1__GetProcessStatusCountsResponse *resp;
    orch_status_count_t *c = NULL;
    size_t n = 0;
    orch_err_t rc =
        orch_uc_process_status_counts(&uc, srv_call_ctx(call), req->filter, &c, &n, err);
    if (rc)
        return rc;
    resp = SRV_NEW(a, Orchestrator__V1__GetProcessStatusCountsResponse);
    orchestrator__v1__get_process_status_counts_response__init(resp);
    resp->process_counts = SRV_NEWV(a, Orchestrator__V1__ProcessStatusCount, n);
    resp->task_counts = SRV_NEWV(a, Orchestrator__V1__ProcessStatusCount, n);
    for (size_t i = 0; i < n; i++) {
        Orchestrator__V1__ProcessStatusCount *sc = SRV_NEW(a, Orchestrator__V1__ProcessStatusCount);
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

static ProtobufCMessage *bulk_pb(srv_call_t *call, void *resv)
{
    const orch_action_res_t *res = resv;
    orch_arena_t *a = srv_call_arena(call);
    Orchestrator__V1__BulkResumeResponse *resp = SRV_NEW(a, Orchestrator__V1__BulkResumeResponse);
    orchestrator__v1__bulk_resume_response__init(resp);
    resp->resumed_count = (int32_t)res->nids;
    resp->n_resumed_process_ids = res->nids;
    resp->resumed_process_ids = orch_arena_alloc(a, (res->nids + 1) * sizeof(char *));
    for (size_t i = 0; i < res->nids; i++)
        resp->resumed_process_ids[i] = orch_arena_strdup(a, res->ids[i]);
    return &resp->base;
}

SRV_UNARY_HANDLER(bulk_resume, Orchestrator__V1__BulkResumeRequest)
{
    orch_action_res_t res = {0};
    srv_ucall_t u;
    orch_err_t rc;

    srv_ucall_init(&u, call, reqm, req->request_id, bulk_pb, &res);
    rc = orch_uc_process_bulk_resume(&u.uc, &u.caller, req->filter, &res, err);
    return action_end(&u, rc, &res, respm, err);
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
