/* orchctl health: one grpc.health.v1.Health/Check call. */
#include "cmd.h"
#include "output.h"

#include "grpc/health/v1/health.pb-c.h"

#include <ctype.h>
#include <stdio.h>

#define HEALTH_METHOD "/grpc.health.v1.Health/Check"

int cli_cmd_health(cli_ctx_t *ctx, const cli_args_t *args)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    int err = 0;
    const char *service = cli_args_get(args, "service");

    if (service)
        req.service = (char *)service;
    if (cli_call_unary(cli_ctx_channel(ctx), HEALTH_METHOD, &req.base,
                       &grpc__health__v1__health_check_response__descriptor, ctx->timeout_ms, &resp,
                       &st) != 0) {
        err = cli_report_status(&st);
        goto out;
    }
    const Grpc__Health__V1__HealthCheckResponse *h =
        (const Grpc__Health__V1__HealthCheckResponse *)resp;
    if (ctx->json) {
        err = cli_output(ctx, resp, NULL);
    } else {
        char name[64];
        cli_enum_name(&grpc__health__v1__health_check_response__serving_status__descriptor,
                      h->status, name, sizeof(name));
        for (char *p = name; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        printf("%s\n", name);
    }
    if (!err && h->status != GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING)
        err = h->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
                  ? CLI_EXIT_UNAVAILABLE
                  : CLI_EXIT_ERROR;

out:
    cli_status_cleanup(&st);
    cli_msg_free(resp);
    return err;
}
