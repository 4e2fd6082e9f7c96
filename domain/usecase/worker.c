/* The step workers' calls (StepWorkerService): each is one unit of work of the store's own
 * (db/store_workers.c), fenced by the worker's id or the attempt token, so they pass through
 * no request id. Here so that the transport reaches the store only through use cases. */
#include "domain/usecase/usecase.h"

orch_err_t orch_uc_worker_connect(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *worker_id,
                                  const char *identity, const char *name, const char *replica_id,
                                  const char *const *types, size_t ntypes, int capacity,
                                  int expire_ms, orch_error_t *err)
{
    return uc->store->workers->connect(uc->store, NULL, ctx, worker_id, identity, name, replica_id,
                                       types, ntypes, capacity, expire_ms, err);
}

orch_err_t orch_uc_worker_disconnect(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                     const char *worker_id, orch_error_t *err)
{
    return uc->store->workers->disconnect(uc->store, NULL, ctx, worker_id, err);
}

orch_err_t orch_uc_worker_heartbeat(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                    const char *worker_id, int lease_ms, int expire_ms,
                                    bool *connected, int *renewed, int64_t *lease_expires_us,
                                    orch_error_t *err)
{
    return uc->store->workers->heartbeat(uc->store, NULL, ctx, worker_id, lease_ms, expire_ms,
                                         connected, renewed, lease_expires_us, err);
}

orch_err_t orch_uc_worker_claim(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *worker_id,
                                int lease_ms, int max, orch_worker_task_t *out, size_t *n,
                                bool *alive, orch_error_t *err)
{
    return uc->store->workers->claim(uc->store, NULL, ctx, worker_id, lease_ms, max, out, n, alive,
                                     err);
}

orch_err_t orch_uc_task_complete(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                 const orch_task_answer_t *a, char *status, orch_error_t *err)
{
    return uc->store->workers->task_complete(uc->store, NULL, ctx, a, status, err);
}

orch_err_t orch_uc_task_fail(const orch_uc_t *uc, const orch_ctx_t *ctx,
                             const orch_task_answer_t *a, bool *will_retry, int64_t *next_us,
                             char *status, orch_error_t *err)
{
    return uc->store->workers->task_fail(uc->store, NULL, ctx, a, will_retry, next_us, status, err);
}

orch_err_t orch_uc_task_progress(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                 const orch_task_answer_t *a, const char *message,
                                 const json_t *progress, int lease_ms, int64_t *lease_expires_us,
                                 orch_error_t *err)
{
    return uc->store->workers->task_progress(uc->store, NULL, ctx, a, message, progress, lease_ms,
                                             lease_expires_us, err);
}
