/* Project errors -> gRPC status codes and google.rpc.Status details (ErrorInfo with domain
 * "orchestrator.v1", BadRequest for field violations, RetryInfo when retrying helps). The
 * only place that knows both orch_err_t and grpc_status_code. */
#ifndef SRV_STATUS_H
#define SRV_STATUS_H

#include <grpc/grpc.h>
#include <grpc/status.h>

#include "base/errors.h"

#define SRV_ERROR_DOMAIN "orchestrator.v1"

grpc_status_code srv_status_code(orch_err_t code);

/* The serialised google.rpc.Status for err, for the grpc-status-details-bin trailer.
 * Caller unrefs the slice. */
grpc_slice srv_status_details(const orch_error_t *err);

#endif
