/* grpc.health.v1.Health: service "" is readiness (NOT_SERVING while the database is
 * unreachable or the server drains); "liveness" reflects only the process; the name of a
 * served orchestrator service answers like "". Anything else is NOT_FOUND, per the
 * health-checking protocol. */
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "server/app.h"
#include "server/services/services.h"

static orch_err_t health_check(srv_call_t *call, const ProtobufCMessage *reqm,
                               ProtobufCMessage **respm, orch_error_t *err)
{
    const Grpc__Health__V1__HealthCheckRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    Grpc__Health__V1__HealthCheckResponse *resp;
    bool ready = !atomic_load(&app->draining) && atomic_load(&app->db_ok);
    const char *svc = req->service ? req->service : "";

    resp = orch_arena_alloc(srv_call_arena(call), sizeof(*resp));
    grpc__health__v1__health_check_response__init(resp);
    if (strcmp(svc, "liveness") == 0) {
        resp->status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    } else if (strcmp(svc, "") == 0 || strcmp(svc, "orchestrator.v1.ProductService") == 0) {
        resp->status = ready ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                             : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    } else {
        return orch_error_set(err, ORCH_NOT_FOUND, "SERVICE_NOT_FOUND",
                              "no health status is kept for service '%.100s'", svc);
    }
    *respm = &resp->base;
    return ORCH_OK;
}

const srv_method_t srv_health_methods[] = {
    {&grpc__health__v1__health__descriptor, "Check", health_check, SRV_METHOD_PUBLIC},
    {0},
};
