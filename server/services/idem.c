/* Idempotency: SHA-256 (OpenSSL's libcrypto, already in the process through gRPC) of the
 * request packed without its request_id, and the store's request_ids claim. */
#include "server/services/idem.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/ids.h"
#include "server/app.h"
#include "server/rpc/codec.h"

static void body_hash(const ProtobufCMessage *req, unsigned char out[32])
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(req->descriptor, "request_id");
    char **slot = NULL, *saved = NULL;
    size_t n;
    uint8_t *buf;
    unsigned int len = 32;

    /* The request is the call's own decoded copy: blank the id while hashing. */
    if (f && f->type == PROTOBUF_C_TYPE_STRING) {
        slot = (char **)((char *)req + f->offset);
        saved = *slot;
        *slot = (char *)protobuf_c_empty_string;
    }
    n = protobuf_c_message_get_packed_size(req);
    buf = orch_malloc(n ? n : 1);
    protobuf_c_message_pack(req, buf);
    if (slot)
        *slot = saved;
    EVP_Digest(buf, n, out, &len, EVP_sha256(), NULL);
    free(buf);
}

orch_err_t srv_idem_begin(srv_call_t *call, const ProtobufCMessage *req, const char *request_id,
                          srv_idem_t *idem, orch_error_t *err)
{
    srv_app_t *app = srv_call_app(call);
    orch_store_t *st = app->store;
    unsigned char hash[32], *resp = NULL;
    size_t len = 0;
    orch_idem_t state;
    orch_err_t rc;

    memset(idem, 0, sizeof(*idem));
    idem->req = req;
    if (request_id && *request_id) {
        rc = orch_uuid_check(request_id, "request_id", err);
        if (rc)
            return rc;
        idem->request_id = request_id;
    }
    rc = st->ops->tx_begin(st, srv_call_ctx(call), &idem->tx, err);
    if (rc || !idem->request_id)
        return rc;
    body_hash(req, hash);
    rc = st->ops->idem_claim(idem->tx, request_id, srv_call_path(call), hash, &state, &resp, &len,
                             err);
    if (rc)
        goto fail;
    if (state == ORCH_IDEM_MISMATCH) {
        rc = orch_error_set(err, ORCH_FAILED_PRECONDITION, "REQUEST_ID_REUSED",
                            "request_id %s was already used for a different request; use a new "
                            "id for a new request",
                            request_id);
        goto fail;
    }
    if (state == ORCH_IDEM_REPLAY) {
        ProtobufCAllocator alloc;
        srv_codec_arena_allocator(&alloc, srv_call_arena(call));
        idem->replay = protobuf_c_message_unpack(srv_call_output(call), &alloc, len, resp);
        free(resp);
        st->ops->tx_rollback(idem->tx);
        idem->tx = NULL;
        if (!idem->replay)
            return orch_error_set(err, ORCH_INTERNAL, NULL,
                                  "the stored answer for request_id %s cannot be read", request_id);
        return ORCH_OK;
    }
    return ORCH_OK;
fail:
    free(resp);
    st->ops->tx_rollback(idem->tx);
    idem->tx = NULL;
    return rc;
}

/* What an admin call acted on: the request's first "*_id" string field (request_id aside),
 * looking one message deep (UpdateProduct's product.product_id). "" when none. */
static const char *target_of(const ProtobufCMessage *m, int depth)
{
    const ProtobufCMessageDescriptor *d = m ? m->descriptor : NULL;
    for (unsigned i = 0; d && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *at = (const char *)m + f->offset;
        size_t len = strlen(f->name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            continue;
        if (f->type == PROTOBUF_C_TYPE_STRING && len > 3 && strcmp(f->name + len - 3, "_id") == 0 &&
            strcmp(f->name, "request_id") != 0) {
            const char *v = *(const char *const *)at;
            if (v && *v)
                return v;
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth == 0) {
            const char *v = target_of(*(const ProtobufCMessage *const *)at, 1);
            if (*v)
                return v;
        }
    }
    return "";
}

orch_err_t srv_idem_commit(srv_call_t *call, srv_idem_t *idem, const ProtobufCMessage *resp,
                           orch_error_t *err)
{
    srv_app_t *app = srv_call_app(call);
    orch_store_t *st = app->store;
    orch_err_t rc = ORCH_OK;
    orch_tx_t *tx = idem->tx;
    const ProtobufCMethodDescriptor *md = srv_call_method(call);

    idem->tx = NULL;
    if (srv_call_method_flags(call) & SRV_ROLE_ADMIN) {
        rc = st->ops->admin_action_record(tx, srv_call_actor_kind(call), srv_call_actor_name(call),
                                          md ? md->name : srv_call_path(call),
                                          target_of(idem->req, 0), idem->request_id, err);
        if (rc) {
            st->ops->tx_rollback(tx);
            return rc;
        }
    }
    if (idem->request_id) {
        size_t n = protobuf_c_message_get_packed_size(resp);
        uint8_t *buf = orch_malloc(n ? n : 1);
        protobuf_c_message_pack(resp, buf);
        rc = st->ops->idem_record(tx, idem->request_id, buf, n, err);
        free(buf);
        if (rc) {
            st->ops->tx_rollback(tx);
            return rc;
        }
    }
    return st->ops->tx_commit(tx, err);
}

void srv_idem_abort(srv_call_t *call, srv_idem_t *idem)
{
    srv_app_t *app = srv_call_app(call);
    app->store->ops->tx_rollback(idem->tx);
    idem->tx = NULL;
}
