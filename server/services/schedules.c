/* orchestrator.v1.EngineService, scale-out part: ListReplicas and the schedules' create /
 * update / delete / list. decode and validate -> one use case (domain/usecase/schedule.c) ->
 * encode. The pause switch lives in engine.c; the firing of schedules in
 * domain/schedule/scheduler.c, through the StartProcess use case. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/engine/engine.h"
#include "domain/ids.h"
#include "domain/page.h"
#include "domain/schedule/cron.h"
#include "orchestrator/v1/engine.pb-c.h"
#include "server/app.h"
#include "server/rpc/codec.h"
#include "server/services/services.h"
#include "server/services/ucall.h"

#define MAX_INTERVAL_S (366 * 24 * 3600)

static const char *actor_of(srv_call_t *call)
{
    const char *n = srv_call_actor_name(call);
    return n && *n ? n : "anonymous";
}

/* ---- replicas ----------------------------------------------------------------------------------
 */

static Orchestrator__V1__ReplicaState replica_state_pb(const char *s)
{
    return strcmp(s, "serving") == 0    ? ORCHESTRATOR__V1__REPLICA_STATE__REPLICA_STATE_SERVING
           : strcmp(s, "draining") == 0 ? ORCHESTRATOR__V1__REPLICA_STATE__REPLICA_STATE_DRAINING
           : strcmp(s, "lost") == 0     ? ORCHESTRATOR__V1__REPLICA_STATE__REPLICA_STATE_LOST
           : strcmp(s, "stopped") == 0  ? ORCHESTRATOR__V1__REPLICA_STATE__REPLICA_STATE_STOPPED
                                       : ORCHESTRATOR__V1__REPLICA_STATE__REPLICA_STATE_UNSPECIFIED;
}

SRV_UNARY_HANDLER(list_replicas, Orchestrator__V1__ListReplicasRequest)
{
    orch_uc_t uc = srv_uc(call);
    orch_arena_t *a = srv_call_arena(call);
    ProtobufCMessage **items;
    orch_replica_page_t page = {0};
    int size = 0;
    orch_err_t rc = orch_page_size(req->page_size, &size, err);
    if (rc)
        return rc;
    rc = orch_uc_replica_list(&uc, srv_call_ctx(call), req->filter, size, req->page_token, &page,
                              err);
    if (rc)
        return rc;
    items = SRV_NEWV(a, ProtobufCMessage, page.n);
    for (size_t i = 0; i < page.n; i++) {
        const orch_replica_t *r = &page.items[i];
        Orchestrator__V1__Replica *pb = SRV_NEW(a, Orchestrator__V1__Replica);
        orchestrator__v1__replica__init(pb);
        pb->replica_id = orch_arena_strdup(a, r->id);
        pb->hostname = orch_arena_strdup(a, r->hostname ? r->hostname : "");
        pb->address = orch_arena_strdup(a, r->address ? r->address : "");
        pb->build_version = orch_arena_strdup(a, r->build ? r->build : "");
        pb->state = replica_state_pb(r->state);
        pb->start_time = srv_codec_timestamp(a, r->start_us);
        pb->heartbeat_time = srv_codec_timestamp(a, r->heartbeat_us);
        pb->worker_count = r->workers;
        pb->running_step_count = r->running;
        pb->n_workflow_versions = r->nversions;
        pb->workflow_versions =
            orch_arena_alloc(a, (r->nversions ? r->nversions : 1) * sizeof(char *));
        for (size_t j = 0; j < r->nversions; j++)
            pb->workflow_versions[j] = orch_arena_strdup(a, r->versions[j]);
        items[i] = &pb->base;
    }
    *respm =
        srv_codec_list_response(a, &orchestrator__v1__list_replicas_response__descriptor,
                                "replicas", items, page.n, page.next_token, (int32_t)page.total);
    orch_replica_page_cleanup(&page);
    return ORCH_OK;
}

/* ---- schedules ---------------------------------------------------------------------------------
 */

static Orchestrator__V1__Schedule *schedule_pb(orch_arena_t *a, const orch_schedule_t *s)
{
    Orchestrator__V1__Schedule *pb = SRV_NEW(a, Orchestrator__V1__Schedule);
    orchestrator__v1__schedule__init(pb);
    pb->schedule_id = orch_arena_strdup(a, s->id);
    pb->name = orch_arena_strdup(a, s->name ? s->name : "");
    pb->workflow_name = orch_arena_strdup(a, s->workflow ? s->workflow : "");
    pb->user_inputs = srv_codec_struct_from_json(a, s->user_inputs);
    switch (s->kind) {
    case ORCH_SCHEDULE_INTERVAL:
        pb->trigger_case = ORCHESTRATOR__V1__SCHEDULE__TRIGGER_INTERVAL;
        pb->interval = SRV_NEW(a, Orchestrator__V1__IntervalTrigger);
        orchestrator__v1__interval_trigger__init(pb->interval);
        pb->interval->interval = SRV_NEW(a, Google__Protobuf__Duration);
        google__protobuf__duration__init(pb->interval->interval);
        pb->interval->interval->seconds = s->interval_s;
        pb->interval->start_time = srv_codec_timestamp(a, s->start_us);
        break;
    case ORCH_SCHEDULE_CRON:
        pb->trigger_case = ORCHESTRATOR__V1__SCHEDULE__TRIGGER_CRON;
        pb->cron = SRV_NEW(a, Orchestrator__V1__CronTrigger);
        orchestrator__v1__cron_trigger__init(pb->cron);
        pb->cron->expression = orch_arena_strdup(a, s->cron ? s->cron : "");
        break;
    case ORCH_SCHEDULE_ONCE:
        pb->trigger_case = ORCHESTRATOR__V1__SCHEDULE__TRIGGER_ONCE;
        pb->once = SRV_NEW(a, Orchestrator__V1__OneOffTrigger);
        orchestrator__v1__one_off_trigger__init(pb->once);
        pb->once->run_time = srv_codec_timestamp(a, s->run_at_us);
        break;
    }
    pb->enabled = s->enabled;
    pb->next_run_time = srv_codec_timestamp(a, s->next_run_us);
    pb->last_run_time = srv_codec_timestamp(a, s->last_run_us);
    pb->last_process_id = orch_arena_strdup(a, s->last_process_id);
    pb->version = s->version;
    if (s->created_by && *s->created_by) {
        pb->created_by = SRV_NEW(a, Orchestrator__V1__Actor);
        orchestrator__v1__actor__init(pb->created_by);
        pb->created_by->name = orch_arena_strdup(a, s->created_by);
        pb->created_by->kind = strcmp(s->created_by, "system") == 0
                                   ? ORCHESTRATOR__V1__ACTOR__KIND__KIND_SYSTEM
                                   : ORCHESTRATOR__V1__ACTOR__KIND__KIND_USER;
    }
    pb->create_time = srv_codec_timestamp(a, s->create_us);
    pb->update_time = srv_codec_timestamp(a, s->update_us);
    pb->last_error = orch_arena_strdup(a, s->last_error ? s->last_error : "");
    return pb;
}

static int64_t ts_us(const Google__Protobuf__Timestamp *t)
{
    return t ? (int64_t)t->seconds * 1000000LL + t->nanos / 1000 : 0;
}

/* Takes the trigger of pb into s, adding a violation per wrong field. */
static void take_trigger(const Orchestrator__V1__Schedule *pb, orch_schedule_t *s,
                         orch_error_t *err)
{
    free(s->cron);
    s->cron = NULL;
    s->interval_s = 0;
    s->start_us = 0;
    s->run_at_us = 0;
    switch (pb->trigger_case) {
    case ORCHESTRATOR__V1__SCHEDULE__TRIGGER_INTERVAL: {
        const Google__Protobuf__Duration *d = pb->interval ? pb->interval->interval : NULL;
        s->kind = ORCH_SCHEDULE_INTERVAL;
        if (!d)
            orch_error_add_violation(err, "schedule.interval.interval",
                                     "an interval is required, e.g. \"3600s\"");
        else if (d->seconds < 1 || d->nanos != 0 || d->seconds > MAX_INTERVAL_S)
            orch_error_add_violation(err, "schedule.interval.interval",
                                     "the interval must be a whole number of seconds from 1 s "
                                     "to 366 days");
        else
            s->interval_s = (int)d->seconds;
        s->start_us = pb->interval ? ts_us(pb->interval->start_time) : 0;
        break;
    }
    case ORCHESTRATOR__V1__SCHEDULE__TRIGGER_CRON: {
        orch_cron_t c;
        orch_error_t cerr;
        const char *expr = pb->cron ? pb->cron->expression : "";
        s->kind = ORCH_SCHEDULE_CRON;
        orch_error_init(&cerr);
        if (orch_cron_parse(expr, "schedule.cron.expression", &c, &cerr))
            orch_error_add_violation(err, cerr.violations[0].field, "%s",
                                     cerr.violations[0].description);
        else
            s->cron = orch_strdup(expr);
        break;
    }
    case ORCHESTRATOR__V1__SCHEDULE__TRIGGER_ONCE:
        s->kind = ORCH_SCHEDULE_ONCE;
        s->run_at_us = pb->once ? ts_us(pb->once->run_time) : 0;
        if (!s->run_at_us)
            orch_error_add_violation(err, "schedule.once.run_time",
                                     "the time to run at is required");
        break;
    default:
        orch_error_add_violation(err, "schedule.trigger",
                                 "say when it fires: interval, cron or once");
        break;
    }
}

static void take_name(srv_app_t *app, const Orchestrator__V1__Schedule *pb, bool name,
                      bool workflow, orch_schedule_t *s, orch_error_t *err)
{
    if (name) {
        size_t len = pb->name ? strlen(pb->name) : 0;
        if (len == 0 || len > 255)
            orch_error_add_violation(err, "schedule.name",
                                     "a name of 1 to 255 characters is required");
        free(s->name);
        s->name = orch_strdup(pb->name ? pb->name : "");
    }
    if (workflow) {
        if (!pb->workflow_name || !*pb->workflow_name)
            orch_error_add_violation(err, "schedule.workflow_name",
                                     "the workflow (task) to start is required");
        else if (!orch_registry_latest(app->registry, pb->workflow_name))
            orch_error_add_violation(err, "schedule.workflow_name",
                                     "no workflow named '%.200s' can be started",
                                     pb->workflow_name);
        free(s->workflow);
        s->workflow = orch_strdup(pb->workflow_name ? pb->workflow_name : "");
    }
}

static orch_err_t violations(orch_error_t *err)
{
    if (!err->nviolations)
        return ORCH_OK;
    return orch_error_set(err, ORCH_INVALID_ARGUMENT,
                          strcmp(err->violations[0].field, "schedule.cron.expression") == 0
                              ? "INVALID_CRON_EXPRESSION"
                              : NULL,
                          "%s: %s", err->violations[0].field, err->violations[0].description);
}

static void take_inputs(const Orchestrator__V1__Schedule *pb, orch_schedule_t *s)
{
    json_decref(s->user_inputs);
    s->user_inputs = pb->user_inputs ? srv_codec_json_from_struct(pb->user_inputs) : NULL;
    if (!json_is_object(s->user_inputs)) {
        json_decref(s->user_inputs);
        s->user_inputs = json_object();
    }
}

static ProtobufCMessage *schedule_answer(srv_call_t *call, void *res)
{
    return &schedule_pb(srv_call_arena(call), res)->base;
}

SRV_UNARY_HANDLER(create_schedule, Orchestrator__V1__CreateScheduleRequest)
{
    srv_app_t *app = srv_call_app(call);
    const Orchestrator__V1__Schedule *pb = req->schedule;
    orch_schedule_t s = {0};
    srv_ucall_t u;
    orch_err_t rc;

    if (!pb)
        return orch_error_invalid(err, "schedule", "the schedule to create is required");
    take_name(app, pb, true, true, &s, err);
    take_trigger(pb, &s, err);
    take_inputs(pb, &s);
    s.enabled = pb->enabled;
    s.created_by = orch_strdup(actor_of(call));
    rc = violations(err);
    if (rc)
        goto out;
    srv_ucall_init(&u, call, reqm, req->request_id, schedule_answer, &s);
    rc = orch_uc_schedule_create(&u.uc, &u.caller, &s, err);
    rc = srv_ucall_end(&u, rc, respm, err);
out:
    orch_schedule_cleanup(&s);
    return rc;
}

static orch_err_t check_schedule_id(const char *id, const char *field, orch_error_t *err)
{
    if (!id || !*id)
        return orch_error_invalid(err, field, "a schedule id is required");
    return orch_uuid_check(id, field, err);
}

SRV_UNARY_HANDLER(update_schedule, Orchestrator__V1__UpdateScheduleRequest)
{
    srv_app_t *app = srv_call_app(call);
    const Orchestrator__V1__Schedule *pb = req->schedule;
    orch_schedule_patch_t patch = {0};
    orch_schedule_t s = {0};
    srv_ucall_t u;
    orch_err_t rc;

    if (!pb)
        return orch_error_invalid(err, "schedule", "the schedule to change is required");
    rc = check_schedule_id(pb->schedule_id, "schedule.schedule_id", err);
    if (rc)
        return rc;
    if (pb->version < 1)
        return orch_error_invalid(err, "schedule.version",
                                  "the version you read is required (optimistic locking)");
    if (!req->update_mask || req->update_mask->n_paths == 0)
        return orch_error_invalid(err, "update_mask",
                                  "name the fields to change: name, workflow_name, user_inputs, "
                                  "interval, cron, once, enabled");
    for (size_t i = 0; i < req->update_mask->n_paths; i++) {
        const char *p = req->update_mask->paths[i];
        if (strcmp(p, "name") == 0)
            patch.name = true;
        else if (strcmp(p, "workflow_name") == 0)
            patch.workflow = true;
        else if (strcmp(p, "user_inputs") == 0)
            patch.inputs = true;
        else if (strcmp(p, "enabled") == 0)
            patch.enabled = true;
        else if (strcmp(p, "interval") == 0 || strcmp(p, "cron") == 0 || strcmp(p, "once") == 0)
            patch.trigger = true;
        else
            return orch_error_invalid(err, "update_mask",
                                      "'%.64s' cannot be changed; use name, workflow_name, "
                                      "user_inputs, interval, cron, once or enabled",
                                      p);
    }
    /* The new values of the fields named, checked before anything is read. */
    snprintf(s.id, sizeof(s.id), "%s", pb->schedule_id);
    take_name(app, pb, patch.name, patch.workflow, &s, err);
    if (patch.trigger)
        take_trigger(pb, &s, err);
    if (patch.inputs)
        take_inputs(pb, &s);
    s.enabled = pb->enabled;
    patch.version = pb->version;
    rc = violations(err);
    if (rc)
        goto out;
    srv_ucall_init(&u, call, reqm, req->request_id, schedule_answer, &s);
    rc = orch_uc_schedule_update(&u.uc, &u.caller, &patch, &s, err);
    rc = srv_ucall_end(&u, rc, respm, err);
out:
    orch_schedule_cleanup(&s);
    return rc;
}

static ProtobufCMessage *delete_answer(srv_call_t *call, void *res)
{
    (void)res;
    return srv_applied_answer(call, &orchestrator__v1__delete_schedule_response__descriptor);
}

SRV_UNARY_HANDLER(delete_schedule, Orchestrator__V1__DeleteScheduleRequest)
{
    srv_ucall_t u;
    orch_err_t rc = check_schedule_id(req->schedule_id, "schedule_id", err);
    if (rc)
        return rc;
    if (req->version < 0)
        return orch_error_invalid(err, "version", "a version is 0 (any) or positive");
    srv_ucall_init(&u, call, reqm, req->request_id, delete_answer, NULL);
    rc = orch_uc_schedule_delete(&u.uc, &u.caller, req->schedule_id, req->version, err);
    return srv_ucall_end(&u, rc, respm, err);
}

SRV_UNARY_HANDLER(list_schedules, Orchestrator__V1__ListSchedulesRequest)
{
    orch_uc_t uc = srv_uc(call);
    orch_arena_t *a = srv_call_arena(call);
    ProtobufCMessage **items;
    orch_schedule_page_t page = {0};
    orch_schedule_query_t q = {req->filter, req->page_token, 0};
    orch_err_t rc = orch_page_size(req->page_size, &q.page_size, err);
    if (rc)
        return rc;
    rc = orch_uc_schedule_list(&uc, srv_call_ctx(call), &q, &page, err);
    if (rc)
        return rc;
    items = SRV_NEWV(a, ProtobufCMessage, page.n);
    for (size_t i = 0; i < page.n; i++)
        items[i] = &schedule_pb(a, &page.items[i])->base;
    *respm =
        srv_codec_list_response(a, &orchestrator__v1__list_schedules_response__descriptor,
                                "schedules", items, page.n, page.next_token, (int32_t)page.total);
    orch_schedule_page_cleanup(&page);
    return ORCH_OK;
}

/* ListAdminActions: newest first, keyset pages on action_id; the token is bound to the
 * method and target asked for, so it cannot be replayed against another query. */
SRV_UNARY_HANDLER(list_admin_actions, Orchestrator__V1__ListAdminActionsRequest)
{
    orch_uc_t uc = srv_uc(call);
    orch_arena_t *a = srv_call_arena(call);
    Orchestrator__V1__ListAdminActionsResponse *resp;
    orch_admin_action_t *items = NULL;
    size_t n = 0;
    int size = 0;
    int64_t before = 0;
    char *binding = NULL, *pos = NULL;
    orch_err_t rc = orch_page_size(req->page_size, &size, err);
    if (rc)
        return rc;
    if (req->method && strlen(req->method) > 255)
        return orch_error_invalid(err, "method", "a method name has at most 255 characters");
    if (req->target && strlen(req->target) > 255)
        return orch_error_invalid(err, "target", "a target has at most 255 characters");
    binding = orch_asprintf("admin_actions|%s|%s", req->method ? req->method : "",
                            req->target ? req->target : "");
    if (req->page_token && *req->page_token) {
        rc = orch_page_token_parse(req->page_token, binding, &pos, err);
        if (rc)
            goto out;
        before = strtoll(pos, NULL, 10);
    }
    /* One more than a page: whether there is a next page. */
    rc = orch_uc_admin_action_list(&uc, srv_call_ctx(call), req->method, req->target, before,
                                   size + 1, &items, &n, err);
    if (rc)
        goto out;
    resp = SRV_NEW(a, Orchestrator__V1__ListAdminActionsResponse);
    orchestrator__v1__list_admin_actions_response__init(resp);
    resp->n_actions = n > (size_t)size ? (size_t)size : n;
    resp->actions = orch_arena_alloc(a, (resp->n_actions + 1) * sizeof(*resp->actions));
    for (size_t i = 0; i < resp->n_actions; i++) {
        Orchestrator__V1__AdminAction *pb = SRV_NEW(a, Orchestrator__V1__AdminAction);
        orchestrator__v1__admin_action__init(pb);
        pb->action_id = items[i].id;
        pb->action_time = srv_codec_timestamp(a, items[i].time_us);
        pb->actor = SRV_NEW(a, Orchestrator__V1__Actor);
        orchestrator__v1__actor__init(pb->actor);
        pb->actor->name = orch_arena_strdup(a, items[i].actor_name);
        pb->actor->kind = strcmp(items[i].actor_kind, "user") == 0
                              ? ORCHESTRATOR__V1__ACTOR__KIND__KIND_USER
                          : strcmp(items[i].actor_kind, "api_token") == 0
                              ? ORCHESTRATOR__V1__ACTOR__KIND__KIND_API_TOKEN
                              : ORCHESTRATOR__V1__ACTOR__KIND__KIND_PEER;
        pb->method = orch_arena_strdup(a, items[i].method);
        pb->target = orch_arena_strdup(a, items[i].target);
        pb->request_id = orch_arena_strdup(a, items[i].request_id);
        resp->actions[i] = pb;
    }
    resp->next_page_token = "";
    if (n > (size_t)size) {
        char p[32];
        char *tok;
        snprintf(p, sizeof(p), "%lld", (long long)items[size - 1].id);
        tok = orch_page_token_make(binding, p);
        resp->next_page_token = orch_arena_strdup(a, tok);
        free(tok);
    }
    *respm = &resp->base;
out:
    orch_admin_actions_free(items, n);
    free(binding);
    free(pos);
    return rc;
}

const srv_method_t srv_schedule_methods[] = {
    {&orchestrator__v1__engine_service__descriptor, "ListReplicas", list_replicas, SRV_ROLE_READER,
     NULL},
    {&orchestrator__v1__engine_service__descriptor, "CreateSchedule", create_schedule,
     SRV_ROLE_ADMIN, NULL},
    {&orchestrator__v1__engine_service__descriptor, "UpdateSchedule", update_schedule,
     SRV_ROLE_ADMIN, NULL},
    {&orchestrator__v1__engine_service__descriptor, "DeleteSchedule", delete_schedule,
     SRV_ROLE_ADMIN, NULL},
    {&orchestrator__v1__engine_service__descriptor, "ListSchedules", list_schedules,
     SRV_ROLE_READER, NULL},
    {&orchestrator__v1__engine_service__descriptor, "ListAdminActions", list_admin_actions,
     SRV_ROLE_ADMIN, NULL},
    {0},
};
