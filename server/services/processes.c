/* orchestrator.v1.ProcessService (engine core): start, read, list, retry, abort, delete,
 * note, status counts and bulk resume. decode -> store / engine registry -> encode. Resume
 * with forms, callbacks and watches come with later issues and stay unregistered. */
#include <stdlib.h>
#include <string.h>

#include "domain/engine/engine.h"
#include "domain/ids.h"
#include "domain/page.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "server/app.h"
#include "server/rpc/codec.h"
#include "server/services/idem.h"
#include "server/services/pbconv.h"
#include "server/services/services.h"

#define NEW(arena, T) ((T *)orch_arena_alloc((arena), sizeof(T)))
#define NEWV(arena, T, n) ((T **)orch_arena_alloc((arena), ((n) ? (n) : 1) * sizeof(T *)))

static const char *const status_names[] = {
    "",       "created", "running",           "suspended", "waiting",   "awaiting_callback",
    "aborted", "failed", "api_unavailable", "inconsistent_data", "completed", "resumed"};
static const char *const step_status_names[] = {"",      "success", "skipped", "suspend",
                                                "waiting", "awaiting_callback", "failed",
                                                "abort", "complete"};

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
    ps->kind = leaf ? (Orchestrator__V1__StepKind)leaf->def->kind
           : strcmp(s->key, "aborted_by") == 0 ? ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_ABORT
                                              : ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_STEP;
    ps->parent_key = orch_arena_strdup(a, leaf && leaf->parent ? leaf->parent->key : "");
    return ps;
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
        size_t cap = p->nsteps + (wf ? wf->nleaves : 0), n = 0;
        bool finished = strcmp(p->status, "completed") == 0 || strcmp(p->status, "aborted") == 0;
        pb->steps = NEWV(a, Orchestrator__V1__ProcessStep, cap);
        for (size_t i = 0; i < p->nsteps; i++)
            pb->steps[n++] = step_pb(a, wf, &p->steps[i], true);
        for (size_t i = 0; wf && !finished && i < wf->nleaves; i++) {
            const orch_leaf_t *l = &wf->leaves[i];
            bool done = false;
            Orchestrator__V1__ProcessStep *ps;
            for (size_t j = 0; j < p->nsteps && !done; j++)
                done = strcmp(p->steps[j].key, l->key) == 0 &&
                       (strcmp(p->steps[j].status, "success") == 0 ||
                        strcmp(p->steps[j].status, "skipped") == 0 ||
                        strcmp(p->steps[j].status, "complete") == 0);
            if (done)
                continue;
            ps = NEW(a, Orchestrator__V1__ProcessStep);
            orchestrator__v1__process_step__init(ps);
            ps->step_id = "";
            ps->key = orch_arena_strdup(a, l->key);
            ps->name = orch_arena_strdup(a, l->def->name);
            ps->status = ORCHESTRATOR__V1__STEP_STATUS__STEP_STATUS_PENDING;
            ps->kind = (Orchestrator__V1__StepKind)l->def->kind;
            ps->parent_key = orch_arena_strdup(a, l->parent ? l->parent->key : "");
            pb->steps[n++] = ps;
        }
        pb->n_steps = n;
    }
    pb->current_state = srv_codec_struct_from_json(a, orch_process_current_state(p));
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
    orch_err_t rc = app->store->ops->process_get(app->store, tx, srv_call_ctx(call), id, false,
                                                 &p, err);
    if (rc)
        return rc;
    *out = srv_process_to_pb(call, p, false);
    orch_process_free(p);
    return ORCH_OK;
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

static orch_err_t start_process(srv_call_t *call, const ProtobufCMessage *reqm,
                                ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__StartProcessRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    orch_arena_t *a = srv_call_arena(call);
    Orchestrator__V1__StartProcessResponse *resp;
    const orch_workflow_t *wf;
    json_t *state = NULL;
    char id[37];
    srv_idem_t idem = {0};
    orch_err_t rc;

    if (!req->workflow_name || !*req->workflow_name)
        return orch_error_invalid(err, "workflow_name", "a workflow name is required");
    wf = orch_registry_latest(app->registry, req->workflow_name);
    if (!wf)
        return orch_error_set(err, ORCH_NOT_FOUND, "WORKFLOW_NOT_FOUND",
                              "no workflow named '%.200s' can be started on this server",
                              req->workflow_name);
    if (req->n_user_inputs > 1)
        return orch_error_invalid(err, "user_inputs",
                                  "this workflow takes its input as one page (the initial "
                                  "state); multi-page forms are not available yet");
    if (req->note && strlen(req->note) > 5000)
        return orch_error_invalid(err, "note", "a note has at most 5000 characters");
    if (req->product_id && *req->product_id) {
        rc = orch_uuid_check(req->product_id, "product_id", err);
        if (rc)
            return rc;
        if (!orch_catalog_find_product_id(app->catalog, req->product_id))
            return orch_error_set(err, ORCH_NOT_FOUND, "PRODUCT_NOT_FOUND",
                                  "no product has id %s", req->product_id);
    } else if (wf->def->target == ORCH_TARGET_CREATE) {
        return orch_error_invalid(err, "product_id",
                                  "a create workflow needs the product to create");
    }
    if (req->subscription_id && *req->subscription_id) {
        rc = orch_uuid_check(req->subscription_id, "subscription_id", err);
        if (rc)
            return rc;
    }
    state = req->n_user_inputs ? srv_codec_json_from_struct(req->user_inputs[0]) : json_object();
    if (!json_is_object(state)) {
        json_decref(state);
        state = json_object();
    }
    if (req->product_id && *req->product_id)
        json_object_set_new(state, "product_id", json_string(req->product_id));
    if (req->subscription_id && *req->subscription_id)
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
    rc = refuse_if_paused(call, idem.tx, err);
    if (!rc) {
        orch_process_new_t np = {
            .workflow = wf->def->name,
            .version = wf->def->version,
            .product_id = req->product_id && *req->product_id ? req->product_id : NULL,
            .created_by = actor_of(call),
            .note = req->note,
            .initial_state = state,
        };
        rc = app->store->ops->process_create(idem.tx, &np, id, err);
    }
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
out:
    json_decref(state);
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
    rc = app->store->ops->process_get(app->store, NULL, srv_call_ctx(call), req->process_id,
                                      full, &p, err);
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
    orch_err_t rc = check_id(req->process_id, err);
    if (rc)
        return rc;
    if (req->n_branches)
        return orch_error_invalid(err, "branches", "this process has no parallel branches");
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
        rc = app->store->ops->process_retry(idem.tx, req->process_id, actor_of(call), err);
    if (!rc)
        rc = basic(call, idem.tx, req->process_id, &resp->process, err);
    if (rc) {
        srv_idem_abort(call, &idem);
        return rc;
    }
    resp->outcome = ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED;
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
    {&orchestrator__v1__process_service__descriptor, "StartProcess", start_process, 0, NULL},
    {&orchestrator__v1__process_service__descriptor, "GetProcess", get_process, 0, NULL},
    {&orchestrator__v1__process_service__descriptor, "ListProcesses", list_processes, 0, NULL},
    {&orchestrator__v1__process_service__descriptor, "RetryProcess", retry_process, 0, NULL},
    {&orchestrator__v1__process_service__descriptor, "AbortProcess", abort_process, 0, NULL},
    {&orchestrator__v1__process_service__descriptor, "DeleteProcess", delete_process, 0, NULL},
    {&orchestrator__v1__process_service__descriptor, "UpdateProcessNote", update_note, 0, NULL},
    {&orchestrator__v1__process_service__descriptor, "GetProcessStatusCounts", status_counts, 0,
     NULL},
    {&orchestrator__v1__process_service__descriptor, "BulkResume", bulk_resume, 0, NULL},
    {0},
};
