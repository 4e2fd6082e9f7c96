/* orchestrator.v1.EngineService (engine core): the global pause switch and its state. The
 * switch is a row in PostgreSQL, so every replica answers the same. Replicas and schedules
 * come with a later issue and stay unregistered. */
#include <stdlib.h>
#include <string.h>

#include "orchestrator/v1/engine.pb-c.h"
#include "server/app.h"
#include "server/rpc/codec.h"
#include "server/services/idem.h"
#include "server/services/services.h"

static Orchestrator__V1__EngineStatus *status_pb(orch_arena_t *a, const orch_engine_status_t *s)
{
    Orchestrator__V1__EngineStatus *pb = orch_arena_alloc(a, sizeof(*pb));
    orchestrator__v1__engine_status__init(pb);
    pb->state = !s->paused       ? ORCHESTRATOR__V1__ENGINE_STATE__ENGINE_STATE_RUNNING
                : s->running > 0 ? ORCHESTRATOR__V1__ENGINE_STATE__ENGINE_STATE_PAUSING
                                 : ORCHESTRATOR__V1__ENGINE_STATE__ENGINE_STATE_PAUSED;
    pb->running_step_count = s->running;
    pb->update_time = srv_codec_timestamp(a, s->update_us);
    if (s->updated_by[0]) {
        pb->updated_by = orch_arena_alloc(a, sizeof(*pb->updated_by));
        orchestrator__v1__actor__init(pb->updated_by);
        pb->updated_by->kind = ORCHESTRATOR__V1__ACTOR__KIND__KIND_USER;
        pb->updated_by->name = orch_arena_strdup(a, s->updated_by);
    }
    pb->replica_count = s->replicas;
    return pb;
}

static orch_err_t get_status(srv_call_t *call, const ProtobufCMessage *reqm,
                             ProtobufCMessage **respm, orch_error_t *err)
{
    srv_app_t *app = srv_call_app(call);
    orch_engine_status_t s;
    orch_err_t rc;
    (void)reqm;
    rc = app->store->ops->engine_status(app->store, NULL, srv_call_ctx(call), &s, err);
    if (rc)
        return rc;
    *respm = &status_pb(srv_call_arena(call), &s)->base;
    return ORCH_OK;
}

static orch_err_t set_paused(srv_call_t *call, const ProtobufCMessage *reqm, const char *rid,
                             bool paused, ProtobufCMessage **respm, orch_error_t *err)
{
    srv_app_t *app = srv_call_app(call);
    const char *actor = srv_call_actor_name(call);
    orch_engine_status_t s;
    srv_idem_t idem = {0};
    orch_err_t rc = srv_idem_begin(call, reqm, rid, &idem, err);
    if (rc)
        return rc;
    if (idem.replay) {
        *respm = idem.replay;
        return ORCH_OK;
    }
    rc = app->store->ops->engine_set_paused(idem.tx, paused, actor && *actor ? actor : "anonymous",
                                            err);
    if (!rc)
        rc = app->store->ops->engine_status(app->store, idem.tx, NULL, &s, err);
    if (rc) {
        srv_idem_abort(call, &idem);
        return rc;
    }
    *respm = &status_pb(srv_call_arena(call), &s)->base;
    rc = srv_idem_commit(call, &idem, *respm, err);
    if (rc)
        *respm = NULL;
    return rc;
}

static orch_err_t pause_engine(srv_call_t *call, const ProtobufCMessage *reqm,
                               ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__PauseEngineRequest *req = (const void *)reqm;
    return set_paused(call, reqm, req->request_id, true, respm, err);
}

static orch_err_t resume_engine(srv_call_t *call, const ProtobufCMessage *reqm,
                                ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__ResumeEngineRequest *req = (const void *)reqm;
    return set_paused(call, reqm, req->request_id, false, respm, err);
}

const srv_method_t srv_engine_methods[] = {
    {&orchestrator__v1__engine_service__descriptor, "GetEngineStatus", get_status, SRV_ROLE_READER,
     NULL},
    {&orchestrator__v1__engine_service__descriptor, "PauseEngine", pause_engine, SRV_ROLE_ADMIN,
     NULL},
    {&orchestrator__v1__engine_service__descriptor, "ResumeEngine", resume_engine, SRV_ROLE_ADMIN,
     NULL},
    {0},
};
