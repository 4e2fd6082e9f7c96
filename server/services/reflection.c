/* grpc.reflection.v1 and v1alpha ServerReflectionInfo: lets grpcurl, Postman and other
 * tools discover and call the API without the .proto files. The descriptor set of the
 * contract, health and reflection (with every import) is embedded at build time; this file
 * walks its wire form directly (FileDescriptorSet -> FileDescriptorProto names, packages,
 * dependencies and symbols), so no descriptor.proto code is needed. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "server/app.h"
#include "server/services/services.h"

typedef struct {
    const char *name;
    const char *data;
    size_t len;
} orch_embedded_file_t;

extern const orch_embedded_file_t orch_reflection_set[];

typedef struct span {
    const uint8_t *p;
    size_t n;
} span_t;

typedef struct rfile {
    span_t bytes; /* the serialized FileDescriptorProto */
    char *name, *package;
    char **deps, **symbols, **services;
    size_t ndeps, nsymbols, nservices;
} rfile_t;

static rfile_t *files;
static size_t nfiles;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ---- wire walking ------------------------------------------------------------------- */

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int sh = 0; sh < 64 && *p < end; sh += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << sh;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

/* Next field of a message: number, wire type, and for length-delimited fields its span. */
static int next_field(const uint8_t **p, const uint8_t *end, unsigned *num, span_t *val)
{
    uint64_t key, n;
    if (*p >= end || varint(p, end, &key))
        return -1;
    *num = (unsigned)(key >> 3);
    val->p = NULL;
    val->n = 0;
    switch (key & 7) {
    case 0:
        return varint(p, end, &n);
    case 1:
        if (end - *p < 8)
            return -1;
        *p += 8;
        return 0;
    case 5:
        if (end - *p < 4)
            return -1;
        *p += 4;
        return 0;
    case 2:
        if (varint(p, end, &n) || n > (uint64_t)(end - *p))
            return -1;
        val->p = *p;
        val->n = (size_t)n;
        *p += n;
        return 0;
    default:
        return -1;
    }
}

static char *span_str(span_t s)
{
    return orch_strndup((const char *)s.p, s.n);
}

static void add(char ***arr, size_t *n, char *s)
{
    *arr = orch_realloc(*arr, (*n + 1) * sizeof(char *));
    (*arr)[(*n)++] = s;
}

/* The name (field 1) of a descriptor message. */
static char *name_of(span_t m)
{
    const uint8_t *p = m.p, *end = m.p + m.n;
    unsigned num;
    span_t v;
    while (next_field(&p, end, &num, &v) == 0)
        if (num == 1 && v.p)
            return span_str(v);
    return orch_strdup("");
}

/* A DescriptorProto: its own symbol, nested messages (3) and enums (4). */
static void add_message(rfile_t *f, const char *scope, span_t m)
{
    const uint8_t *p = m.p, *end = m.p + m.n;
    char *name = name_of(m), *full = orch_asprintf("%s%s%s", scope, *scope ? "." : "", name);
    unsigned num;
    span_t v;
    free(name);
    add(&f->symbols, &f->nsymbols, full);
    while (next_field(&p, end, &num, &v) == 0) {
        if (num == 3 && v.p)
            add_message(f, full, v);
        else if (num == 4 && v.p) {
            char *e = name_of(v);
            add(&f->symbols, &f->nsymbols, orch_asprintf("%s.%s", full, e));
            free(e);
        }
    }
}

static void parse_file(rfile_t *f, span_t bytes)
{
    const uint8_t *p, *end = bytes.p + bytes.n;
    unsigned num;
    span_t v;

    f->bytes = bytes;
    f->name = orch_strdup("");
    f->package = orch_strdup("");
    for (p = bytes.p; next_field(&p, end, &num, &v) == 0;) {
        if (num == 1 && v.p) {
            free(f->name);
            f->name = span_str(v);
        } else if (num == 2 && v.p) {
            free(f->package);
            f->package = span_str(v);
        } else if (num == 3 && v.p) {
            add(&f->deps, &f->ndeps, span_str(v));
        }
    }
    for (p = bytes.p; next_field(&p, end, &num, &v) == 0;) {
        if (!v.p)
            continue;
        if (num == 4) {
            add_message(f, f->package, v);
        } else if (num == 5) {
            char *e = name_of(v);
            add(&f->symbols, &f->nsymbols, orch_asprintf("%s.%s", f->package, e));
            free(e);
        } else if (num == 6) {
            const uint8_t *q = v.p, *qend = v.p + v.n;
            char *svc = name_of(v), *full = orch_asprintf("%s.%s", f->package, svc);
            unsigned mnum;
            span_t mv;
            free(svc);
            add(&f->symbols, &f->nsymbols, orch_strdup(full));
            add(&f->services, &f->nservices, orch_strdup(full));
            while (next_field(&q, qend, &mnum, &mv) == 0) {
                if (mnum == 2 && mv.p) {
                    char *m = name_of(mv);
                    add(&f->symbols, &f->nsymbols, orch_asprintf("%s.%s", full, m));
                    free(m);
                }
            }
            free(full);
        }
    }
}

static void load(void)
{
    const orch_embedded_file_t *set = &orch_reflection_set[0];
    const uint8_t *p = (const uint8_t *)set->data, *end = p + set->len;
    unsigned num;
    span_t v;

    while (next_field(&p, end, &num, &v) == 0) {
        if (num != 1 || !v.p)
            continue;
        files = orch_realloc(files, (nfiles + 1) * sizeof(*files));
        memset(&files[nfiles], 0, sizeof(*files));
        parse_file(&files[nfiles++], v);
    }
}

static const rfile_t *by_name(const char *name)
{
    for (size_t i = 0; i < nfiles; i++)
        if (strcmp(files[i].name, name) == 0)
            return &files[i];
    return NULL;
}

static const rfile_t *by_symbol(const char *sym)
{
    for (size_t i = 0; i < nfiles; i++)
        for (size_t j = 0; j < files[i].nsymbols; j++)
            if (strcmp(files[i].symbols[j], sym) == 0)
                return &files[i];
    return NULL;
}

/* f and its transitive dependencies, each once, dependencies first. */
static void collect(const rfile_t *f, const rfile_t **out, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        if (out[i] == f)
            return;
    for (size_t i = 0; i < f->ndeps; i++) {
        const rfile_t *d = by_name(f->deps[i]);
        if (d)
            collect(d, out, n);
    }
    out[(*n)++] = f;
}

/* ---- the stream ----------------------------------------------------------------------- */

static orch_err_t refl_start(srv_call_t *call, const ProtobufCMessage *req, orch_error_t *err)
{
    (void)call;
    (void)req;
    (void)err;
    pthread_once(&once, load);
    return ORCH_OK;
}

/* Both versions share the wire format: the request is re-read as v1 and the answer built
 * as v1, which encodes byte for byte as v1alpha. */
static orch_err_t refl_message(srv_call_t *call, const ProtobufCMessage *msg, orch_error_t *err)
{
    Grpc__Reflection__V1__ServerReflectionRequest *req;
    Grpc__Reflection__V1__ServerReflectionResponse resp =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
    Grpc__Reflection__V1__FileDescriptorResponse fdr =
        GRPC__REFLECTION__V1__FILE_DESCRIPTOR_RESPONSE__INIT;
    Grpc__Reflection__V1__ListServiceResponse lsr =
        GRPC__REFLECTION__V1__LIST_SERVICE_RESPONSE__INIT;
    Grpc__Reflection__V1__ErrorResponse er = GRPC__REFLECTION__V1__ERROR_RESPONSE__INIT;
    Grpc__Reflection__V1__ServiceResponse *svcs = NULL, **svcp = NULL;
    ProtobufCBinaryData *blobs = NULL;
    const rfile_t **found = NULL;
    size_t n = 0, len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = orch_malloc(len ? len : 1);
    const rfile_t *f = NULL;

    protobuf_c_message_pack(msg, buf);
    req = grpc__reflection__v1__server_reflection_request__unpack(NULL, len, buf);
    free(buf);
    if (!req)
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, "MALFORMED_REQUEST",
                              "not a ServerReflectionRequest");
    resp.valid_host = req->host;
    resp.original_request = req;
    switch (req->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES: {
        size_t total = 0, k = 0;
        for (size_t i = 0; i < nfiles; i++)
            total += files[i].nservices;
        svcs = orch_calloc(total + 1, sizeof(*svcs));
        svcp = orch_calloc(total + 1, sizeof(*svcp));
        for (size_t i = 0; i < nfiles; i++)
            for (size_t j = 0; j < files[i].nservices; j++) {
                grpc__reflection__v1__service_response__init(&svcs[k]);
                svcs[k].name = files[i].services[j];
                svcp[k] = &svcs[k];
                k++;
            }
        lsr.n_service = k;
        lsr.service = svcp;
        resp.message_response_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
        resp.list_services_response = &lsr;
        break;
    }
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        f = by_name(req->file_by_filename);
        goto files;
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        f = by_symbol(req->file_containing_symbol);
    files:
        if (!f) {
            er.error_code = 5; /* NOT_FOUND */
            er.error_message = "no such file or symbol is served here";
            break;
        }
        found = orch_calloc(nfiles + 1, sizeof(*found));
        collect(f, found, &n);
        blobs = orch_calloc(n + 1, sizeof(*blobs));
        for (size_t i = 0; i < n; i++) {
            blobs[i].data = (uint8_t *)found[i]->bytes.p;
            blobs[i].len = found[i]->bytes.n;
        }
        fdr.n_file_descriptor_proto = n;
        fdr.file_descriptor_proto = blobs;
        resp.message_response_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
        resp.file_descriptor_response = &fdr;
        break;
    default:
        /* Extensions: proto3 has none to report. */
        er.error_code = 12; /* UNIMPLEMENTED */
        er.error_message = "extensions are not used by this API";
        break;
    }
    if (er.error_code) { /* the answer is the error the case above set */
        resp.message_response_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
        resp.error_response = &er;
    }
    srv_stream_send(call, &resp.base);
    free(svcs);
    free(svcp);
    free(blobs);
    free(found);
    grpc__reflection__v1__server_reflection_request__free_unpacked(req, NULL);
    return ORCH_OK;
}

static void refl_closed(srv_call_t *call)
{
    (void)call;
}

static const srv_stream_ops_t refl_ops = {
    .start = refl_start,
    .closed = refl_closed,
    .message = refl_message,
};

const srv_method_t srv_reflection_methods[] = {
    {&grpc__reflection__v1__server_reflection__descriptor, "ServerReflectionInfo", NULL,
     SRV_METHOD_PUBLIC, &refl_ops},
    {&grpc__reflection__v1alpha__server_reflection__descriptor, "ServerReflectionInfo", NULL,
     SRV_METHOD_PUBLIC, &refl_ops},
    {0},
};
