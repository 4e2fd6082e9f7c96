/* The transport's side of a use-case call (ucall.h): SHA-256 (OpenSSL's libcrypto, already
 * in the process through gRPC) of the request packed without its request_id, the caller's
 * roles, and the packing and unpacking of stored answers. */
#include "server/services/ucall.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "orchestrator/v1/common.pb-c.h"
#include "server/app.h"
#include "server/rpc/auth.h"
#include "server/rpc/codec.h"

orch_uc_t srv_app_uc(srv_app_t *app)
{
    return (orch_uc_t){app->store, app->catalog, app->registry, app->engine};
}

orch_uc_t srv_uc(srv_call_t *call)
{
    return srv_app_uc(srv_call_app(call));
}

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

static bool has_role(const void *arg, const char *role)
{
    srv_call_t *call = (srv_call_t *)arg;
    return srv_auth_has_role(srv_call_roles(call), srv_call_extra_roles(call), role);
}

/* The unit of work's request for the answer to store: built once, packed. */
static orch_err_t answer(void *arg, unsigned char **buf, size_t *len, orch_error_t *err)
{
    srv_ucall_t *u = arg;
    (void)err;
    if (!u->resp)
        u->resp = u->encode(u->call, u->res);
    *len = protobuf_c_message_get_packed_size(u->resp);
    *buf = orch_malloc(*len ? *len : 1);
    protobuf_c_message_pack(u->resp, *buf);
    return ORCH_OK;
}

void srv_ucall_init(srv_ucall_t *u, srv_call_t *call, const ProtobufCMessage *req,
                    const char *request_id, srv_encode_fn encode, void *res)
{
    const ProtobufCMethodDescriptor *md = srv_call_method(call);
    const char *name = srv_call_actor_name(call);
    memset(u, 0, sizeof(*u));
    u->call = call;
    u->uc = srv_uc(call);
    u->encode = encode;
    u->res = res;
    u->caller.ctx = srv_call_ctx(call);
    u->caller.actor = name && *name ? name : "anonymous";
    u->caller.admin = (srv_call_roles(call) & SRV_ROLE_ADMIN) != 0;
    u->caller.has_role = has_role;
    u->caller.role_arg = call;
    u->caller.request_id = request_id && *request_id ? request_id : NULL;
    u->caller.method = srv_call_path(call);
    if (u->caller.request_id)
        body_hash(req, u->caller.hash);
    u->caller.answer = answer;
    u->caller.answer_arg = u;
    if (srv_call_method_flags(call) & SRV_ROLE_ADMIN) {
        u->caller.audit_kind = srv_call_actor_kind(call);
        u->caller.audit_name = srv_call_actor_name(call);
        u->caller.audit_method = md ? md->name : srv_call_path(call);
        u->caller.audit_target = target_of(req, 0);
    }
}

/* Sets m's field "outcome" (an ActionOutcome), where the message has one. */
static void set_outcome(ProtobufCMessage *m, Orchestrator__V1__ActionOutcome outcome)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "outcome");
    if (f && f->type == PROTOBUF_C_TYPE_ENUM && f->label != PROTOBUF_C_LABEL_REPEATED)
        *(int *)((char *)m + f->offset) = outcome;
}

ProtobufCMessage *srv_applied_answer(srv_call_t *call, const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = orch_arena_alloc(srv_call_arena(call), desc->sizeof_message);
    protobuf_c_message_init(desc, m);
    set_outcome(m, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED);
    return m;
}

/* A repeat's first answer, decoded in the call's arena, marked ALREADY_APPLIED. */
static orch_err_t replay(srv_ucall_t *u, ProtobufCMessage **respm, orch_error_t *err)
{
    ProtobufCAllocator alloc;
    ProtobufCMessage *m;
    srv_codec_arena_allocator(&alloc, srv_call_arena(u->call));
    m = protobuf_c_message_unpack(srv_call_output(u->call), &alloc, u->caller.replay_len,
                                  u->caller.replay);
    if (!m)
        return orch_error_set(err, ORCH_INTERNAL, NULL,
                              "the stored answer for request_id %s cannot be read",
                              u->caller.request_id);
    set_outcome(m, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED);
    *respm = m;
    return ORCH_OK;
}

orch_err_t srv_ucall_end(srv_ucall_t *u, orch_err_t rc, ProtobufCMessage **respm, orch_error_t *err)
{
    *respm = NULL;
    if (!rc && u->caller.replayed)
        rc = replay(u, respm, err);
    else if (!rc)
        *respm = u->resp ? u->resp : u->encode(u->call, u->res);
    orch_caller_cleanup(&u->caller);
    return rc;
}
