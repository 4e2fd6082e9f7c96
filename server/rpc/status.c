/* Building google.rpc.Status from an orch_error_t. */
#include "server/rpc/status.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

grpc_status_code srv_status_code(orch_err_t code)
{
    switch (code) {
    case ORCH_OK:
        return GRPC_STATUS_OK;
    case ORCH_INVALID_ARGUMENT:
        return GRPC_STATUS_INVALID_ARGUMENT;
    case ORCH_NOT_FOUND:
        return GRPC_STATUS_NOT_FOUND;
    case ORCH_ALREADY_EXISTS:
        return GRPC_STATUS_ALREADY_EXISTS;
    case ORCH_FAILED_PRECONDITION:
        return GRPC_STATUS_FAILED_PRECONDITION;
    case ORCH_ABORTED:
        return GRPC_STATUS_ABORTED;
    case ORCH_UNAUTHENTICATED:
        return GRPC_STATUS_UNAUTHENTICATED;
    case ORCH_PERMISSION_DENIED:
        return GRPC_STATUS_PERMISSION_DENIED;
    case ORCH_RESOURCE_EXHAUSTED:
        return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case ORCH_DEADLINE_EXCEEDED:
        return GRPC_STATUS_DEADLINE_EXCEEDED;
    case ORCH_CANCELLED:
        return GRPC_STATUS_CANCELLED;
    case ORCH_UNAVAILABLE:
        return GRPC_STATUS_UNAVAILABLE;
    case ORCH_UNIMPLEMENTED:
        return GRPC_STATUS_UNIMPLEMENTED;
    case ORCH_INTERNAL:
    case ORCH__ERR_MAX:
        break;
    }
    return GRPC_STATUS_INTERNAL;
}

/* Packs msg into an Any with the type.googleapis.com prefix; the Any points at buf. */
static void pack_any(Google__Protobuf__Any *any, const ProtobufCMessage *msg, uint8_t **buf,
                     char **url)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    *buf = orch_malloc(n);
    protobuf_c_message_pack(msg, *buf);
    *url = orch_asprintf("type.googleapis.com/%s", msg->descriptor->name);
    google__protobuf__any__init(any);
    any->type_url = *url;
    any->value.data = *buf;
    any->value.len = n;
}

grpc_slice srv_status_details(const orch_error_t *err)
{
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    Google__Rpc__ErrorInfo info = GOOGLE__RPC__ERROR_INFO__INIT;
    Google__Rpc__ErrorInfo__MetadataEntry meta, *metap = &meta;
    Google__Rpc__BadRequest bad = GOOGLE__RPC__BAD_REQUEST__INIT;
    Google__Rpc__BadRequest__FieldViolation fv[ORCH_ERROR_MAX_VIOLATIONS];
    Google__Rpc__BadRequest__FieldViolation *fvp[ORCH_ERROR_MAX_VIOLATIONS];
    Google__Rpc__RetryInfo retry = GOOGLE__RPC__RETRY_INFO__INIT;
    Google__Protobuf__Duration delay = GOOGLE__PROTOBUF__DURATION__INIT;
    Google__Protobuf__Any anys[3], *anyp[3];
    uint8_t *bufs[3] = {0};
    char *urls[3] = {0};
    size_t n = 0, len;
    grpc_slice out;

    st.code = (int32_t)srv_status_code(err->code);
    st.message = (char *)err->message;
    info.reason = (char *)(err->reason[0] ? err->reason : orch_err_reason(err->code));
    info.domain = SRV_ERROR_DOMAIN;
    if (err->meta_key[0]) {
        google__rpc__error_info__metadata_entry__init(&meta);
        meta.key = (char *)err->meta_key;
        meta.value = (char *)err->meta_value;
        info.n_metadata = 1;
        info.metadata = &metap;
    }
    pack_any(&anys[n], &info.base, &bufs[n], &urls[n]);
    n++;
    if (err->nviolations) {
        for (size_t i = 0; i < err->nviolations; i++) {
            google__rpc__bad_request__field_violation__init(&fv[i]);
            fv[i].field = (char *)err->violations[i].field;
            fv[i].description = (char *)err->violations[i].description;
            fvp[i] = &fv[i];
        }
        bad.n_field_violations = err->nviolations;
        bad.field_violations = fvp;
        pack_any(&anys[n], &bad.base, &bufs[n], &urls[n]);
        n++;
    }
    if (err->retry_after_ms > 0) {
        delay.seconds = err->retry_after_ms / 1000;
        delay.nanos = (err->retry_after_ms % 1000) * 1000000;
        retry.retry_delay = &delay;
        pack_any(&anys[n], &retry.base, &bufs[n], &urls[n]);
        n++;
    }
    for (size_t i = 0; i < n; i++)
        anyp[i] = &anys[i];
    st.n_details = n;
    st.details = anyp;
    len = google__rpc__status__get_packed_size(&st);
    out = grpc_slice_malloc(len);
    google__rpc__status__pack(&st, GRPC_SLICE_START_PTR(out));
    for (size_t i = 0; i < n; i++) {
        free(bufs[i]);
        free(urls[i]);
    }
    return out;
}
