/* The transport's side of a use-case call: the domain's caller (who calls, with which
 * roles, under which request_id and body hash), the answer the unit of work stores for a
 * request_id, and a repeat's stored answer turned back into a message (its outcome
 * ALREADY_APPLIED). Every state-changing handler reads:
 *
 *     srv_ucall_init(&u, call, reqm, req->request_id, encode_fn, &res);
 *     rc = orch_uc_<object>_<verb>(&u.uc, &u.caller, ..., &res, err);
 *     rc = srv_ucall_end(&u, rc, respm, err);
 *
 * and a read builds only the use-case parts (srv_uc). */
#ifndef SRV_UCALL_H
#define SRV_UCALL_H

#include <protobuf-c/protobuf-c.h>

#include "domain/usecase/usecase.h"
#include "server/rpc/server.h"

/* The use cases' parts of this server (borrowed from the app), for a call or a hub thread. */
struct srv_app;
orch_uc_t srv_uc(srv_call_t *call);
orch_uc_t srv_app_uc(struct srv_app *app);

/* Builds the answer from the use case's result, in the call's arena. NULL = out of
 * memory is impossible (the arena aborts), so never NULL. */
typedef ProtobufCMessage *(*srv_encode_fn)(srv_call_t *call, void *res);

typedef struct srv_ucall {
    srv_call_t *call;
    orch_uc_t uc;
    orch_caller_t caller;
    srv_encode_fn encode;
    void *res;
    ProtobufCMessage *resp; /* the answer, once built (stored for a request_id at commit) */
} srv_ucall_t;

/* Fills u for a call of req (the decoded request: its body, without its request_id, is the
 * idempotency hash; its first "*_id" field is an admin action's target). request_id:
 * borrowed from req (NULL/"" = none). res: the use case's result, read by encode. */
void srv_ucall_init(srv_ucall_t *u, srv_call_t *call, const ProtobufCMessage *req,
                    const char *request_id, srv_encode_fn encode, void *res);
/* After the use case returned rc: its error, or the replayed first answer (outcome
 * ALREADY_APPLIED where the message has one), or the answer built from res. Frees what u
 * holds. */
orch_err_t srv_ucall_end(srv_ucall_t *u, orch_err_t rc, ProtobufCMessage **respm,
                         orch_error_t *err);

/* The answer of an action whose response says only that it was done (DeleteProcess,
 * DeleteSchedule, ReportCallbackProgress, DeleteCustomerDescription): a message of desc, in
 * the call's arena, with outcome APPLIED. One builder for all of them, as replay marks a
 * repeat's answer ALREADY_APPLIED for all of them. */
ProtobufCMessage *srv_applied_answer(srv_call_t *call, const ProtobufCMessageDescriptor *desc);

#endif
