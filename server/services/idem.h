/* Request-id idempotency for the state-changing calls of every service, on top of the
 * store's units of work: the claim of the request_id, the handler's changes and the stored
 * answer commit in one transaction, so a repeat (client retry, another replica) gets the
 * first answer and never repeats the change. */
#ifndef SRV_IDEM_H
#define SRV_IDEM_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "domain/store.h"
#include "server/rpc/server.h"

typedef struct srv_idem {
    orch_tx_t *tx;               /* the unit of work for the handler's changes */
    const char *request_id;      /* borrowed from the request; NULL when none was given */
    ProtobufCMessage *replay;    /* set when this is a repeat: answer it (in the call's arena) */
    const ProtobufCMessage *req; /* the request (borrowed): the target of an admin action */
} srv_idem_t;

/* Begins the unit of work and, when request_id is set, claims it for this method and
 * request body (INVALID_ARGUMENT if it is not a lower-case UUID; FAILED_PRECONDITION
 * REQUEST_ID_REUSED if it came with another body). On a repeat, ->replay is the decoded
 * first answer and the unit of work is already closed. req must be the decoded request;
 * its request_id field is left out of the body's hash. */
orch_err_t srv_idem_begin(srv_call_t *call, const ProtobufCMessage *req, const char *request_id,
                          srv_idem_t *idem, orch_error_t *err);
/* Stores resp as the answer (when a request_id was given), records an admin call (a method
 * that needs the admin role) in the audit log of admin actions, and commits: the record
 * exists if and only if the change committed. */
orch_err_t srv_idem_commit(srv_call_t *call, srv_idem_t *idem, const ProtobufCMessage *resp,
                           orch_error_t *err);
/* Rolls back (after a failed handler); safe to call twice. */
void srv_idem_abort(srv_call_t *call, srv_idem_t *idem);

#endif
