/* orchestrator.v1.EngineService (engine core): the global pause switch and its state,
 * through the use cases (domain/usecase/engine.c). The switch is a row in PostgreSQL, so every
 * replica answers the same. Replicas and schedules are in schedules.c. */
#include <stdlib.h>
#include <string.h>

#include "orchestrator/v1/engine.pb-c.h"
#include "server/app.h"
#include "server/rpc/codec.h"
#include "server/services/services.h"
#include "server/services/ucall.h"

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
    orch_uc_t uc = srv_uc(call);
    orch_engine_status_t s;
    orch_err_t rc;
    (void)reqm;
    rc = orch_uc_engine_status(&uc, srv_call_ctx(call), &s, err);
    if (rc)
        return rc;
    *respm = &status_pb(srv_call_arena(call), &s)->base;
    return ORCH_OK;
}

static ProtobufCMessage *set_paused_pb(srv_call_t *call, void *res)
{
    return &status_pb(srv_call_arena(call), res)->base;
}

static orch_err_t set_paused(srv_call_t *call, const ProtobufCMessage *reqm, const char *rid,
                             bool paused, ProtobufCMessage **respm, orch_error_t *err)
{
    orch_engine_status_t s;
    srv_ucall_t u;
    orch_err_t rc;
    srv_ucall_init(&u, call, reqm, rid, set_paused_pb, &s);
    rc = orch_uc_engine_set_paused(&u.uc, &u.caller, paused, &s, err);
    return srv_ucall_end(&u, rc, respm, err);
}

SRV_UNARY_HANDLER(pause_engine, Orchestrator__V1__PauseEngineRequest)
{
    return set_paused(call, reqm, req->request_id, true, respm, err);
}

SRV_UNARY_HANDLER(resume_engine, Orchestrator__V1__ResumeEngineRequest)
{
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
