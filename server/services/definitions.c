/* orchestrator.v1.WorkflowService.RegisterWorkflow: a workflow given as data
 * (docs/WORKFLOWS-AS-DATA.md). decode -> orch_workflow_register (domain/usecase) -> encode;
 * the admin role is checked by the dispatch table. */
#include <stdlib.h>
#include <string.h>

#include "domain/usecase/workflow_register.h"
#include "orchestrator/v1/workflows.pb-c.h"
#include "server/app.h"
#include "server/rpc/codec.h"
#include "server/services/services.h"

SRV_UNARY_HANDLER(register_workflow, Orchestrator__V1__RegisterWorkflowRequest)
{
    srv_app_t *app = srv_call_app(call);
    orch_arena_t *a = srv_call_arena(call);
    Orchestrator__V1__RegisterWorkflowResponse *resp;
    orch_wf_register_res_t res;
    json_t *def;
    orch_err_t rc;

    if (!app->wfdefs)
        return orch_error_set(err, ORCH_UNAVAILABLE, "ENGINE_NOT_RUNNING",
                              "this server runs no workflow engine");
    if (!req->definition)
        return orch_error_invalid(err, "definition", "a workflow definition is required");
    def = srv_codec_json_from_struct(req->definition);
    rc = orch_workflow_register(app->wfdefs,
                                &(orch_wf_register_req_t){.definition = def,
                                                          .actor_kind = srv_call_actor_kind(call),
                                                          .actor_name = srv_call_actor_name(call),
                                                          .method = "RegisterWorkflow"},
                                &res, err);
    json_decref(def);
    if (rc)
        return rc;
    resp = orch_arena_alloc(a, sizeof(*resp));
    orchestrator__v1__register_workflow_response__init(resp);
    resp->name = orch_arena_strdup(a, res.name);
    resp->version = res.version;
    resp->created = res.created;
    resp->digest = orch_arena_strdup(a, res.digest);
    resp->replicas_pending = (int32_t)res.replicas_missing;
    *respm = &resp->base;
    return ORCH_OK;
}

const srv_method_t srv_definition_methods[] = {
    {&orchestrator__v1__workflow_service__descriptor, "RegisterWorkflow", register_workflow,
     SRV_ROLE_ADMIN, NULL},
    {0},
};
