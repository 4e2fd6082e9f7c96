/* What orchctl's handlers share: one call with error reporting, output in JSON or text,
 * List calls walked page by page through their descriptors, argument parsing, and JSON
 * files read into google.protobuf.Struct. */
#include "cmd.h"
#include "output.h"

#include "base/alloc.h"
#include "google/protobuf/struct.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "orchestrator/v1/common.pb-c.h"
#include "proto/pbjson.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A server that keeps handing out page tokens must not keep us looping forever. */
#define LIST_MAX_PAGES 10000

int cli_call(cli_ctx_t *ctx, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp)
{
    cli_status_t st = {0};
    int err = 0;
    if (cli_call_unary(cli_ctx_channel(ctx), method, req, resp_desc, ctx->timeout_ms, resp, &st) !=
        0)
        err = cli_report_call(&st, method);
    cli_status_cleanup(&st);
    return err;
}

int cli_output(const cli_ctx_t *ctx, const ProtobufCMessage *msg,
               void (*text)(const ProtobufCMessage *msg))
{
    if (ctx->json || !text) {
        json_t *j = cli_json_from_message(msg);
        int rc = 0;
        if (ctx->json)
            rc = cli_json_print(j, stdout);
        else
            cli_print_json_text(j, stdout, 0);
        json_decref(j);
        return rc ? CLI_EXIT_ERROR : CLI_EXIT_OK;
    }
    text(msg);
    return CLI_EXIT_OK;
}

/* ---- messages by field name ---- */

static const ProtobufCFieldDescriptor *field(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    orch_assert(f != NULL);
    return f;
}

const void *cli_msg_field(const ProtobufCMessage *m, const char *name)
{
    return (const char *)m + field(m, name)->offset;
}

void cli_msg_set_string(ProtobufCMessage *m, const char *name, const char *value)
{
    const ProtobufCFieldDescriptor *f = field(m, name);
    orch_assert(f->type == PROTOBUF_C_TYPE_STRING);
    char *v = (char *)value;
    memcpy((char *)m + f->offset, &v, sizeof(v));
}

void cli_msg_set_int32(ProtobufCMessage *m, const char *name, int value)
{
    const ProtobufCFieldDescriptor *f = field(m, name);
    orch_assert(f->type == PROTOBUF_C_TYPE_INT32);
    int32_t v = value;
    memcpy((char *)m + f->offset, &v, sizeof(v));
}

static const char *msg_get_string(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f = field(m, name);
    const char *v;
    memcpy(&v, (const char *)m + f->offset, sizeof(v));
    return v ? v : "";
}

/* ---- lists ---- */

static const char *opt_if_any(const cli_args_t *args, const char *name)
{
    return cli_args_has(args, name) ? cli_args_get(args, name) : NULL;
}

int cli_list_fetch(cli_ctx_t *ctx, const cli_args_t *args, const char *method,
                   ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                   const char *items, cli_list_t *out)
{
    const char *page_size = opt_if_any(args, "page-size");
    const char *filter = opt_if_any(args, "filter");
    const char *token = opt_if_any(args, "page-token");
    bool follow = !page_size || opt_if_any(args, "all");
    const ProtobufCFieldDescriptor *itf =
        protobuf_c_message_descriptor_get_field_by_name(resp_desc, items);
    int err;

    orch_assert(itf && itf->label == PROTOBUF_C_LABEL_REPEATED &&
                itf->type == PROTOBUF_C_TYPE_MESSAGE);
    memset(out, 0, sizeof(*out));
    if (page_size) {
        long long v;
        if ((err = cli_parse_int("--page-size", page_size, 1, 500000, &v)))
            return err;
        cli_msg_set_int32(req, "page_size", (int)v);
    }
    if (filter)
        cli_msg_set_string(req, "filter", filter);
    if (token)
        cli_msg_set_string(req, "page_token", token);
    for (;;) {
        ProtobufCMessage *page = NULL;
        if (out->npages == LIST_MAX_PAGES) {
            fprintf(stderr, "error: stopped after %d pages: the server keeps sending page tokens\n",
                    LIST_MAX_PAGES);
            return CLI_EXIT_ERROR;
        }
        if ((err = cli_call(ctx, method, req, resp_desc, &page)))
            return err;
        out->pages = orch_realloc(out->pages, (out->npages + 1) * sizeof(*out->pages));
        out->pages[out->npages++] = page;
        size_t n;
        ProtobufCMessage **arr;
        memcpy(&n, (const char *)page + itf->quantifier_offset, sizeof(n));
        memcpy(&arr, (const char *)page + itf->offset, sizeof(arr));
        out->items = orch_realloc(out->items, (out->nitems + n + 1) * sizeof(*out->items));
        for (size_t i = 0; i < n; i++)
            out->items[out->nitems++] = arr[i];
        const char *next = msg_get_string(page, "next_page_token");
        if (!*next)
            break;
        if (!follow) {
            fprintf(stderr, "more results: --page-token %s\n", next);
            break;
        }
        if (strcmp(next, msg_get_string(req, "page_token")) == 0) {
            fprintf(stderr, "error: the server sent the same page token twice\n");
            return CLI_EXIT_ERROR;
        }
        cli_msg_set_string(req, "page_token", next); /* borrowed from the kept page */
    }
    return 0;
}

int cli_list_print_json(const cli_list_t *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < l->nitems; i++)
        json_array_append_new(arr, cli_json_from_message(l->items[i]));
    int rc = cli_json_print(arr, stdout);
    json_decref(arr);
    return rc ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

int cli_list_show(const cli_ctx_t *ctx, cli_list_t *l, int err, size_t ncols,
                  const char *const *headers,
                  void (*add_row)(cli_table_t *t, const ProtobufCMessage *item))
{
    if (!err && ctx->json) {
        err = cli_list_print_json(l);
    } else if (!err) {
        cli_table_t *t = cli_table_new(ncols, headers);
        for (size_t i = 0; i < l->nitems; i++)
            add_row(t, l->items[i]);
        cli_table_print(t, stdout, 0);
        cli_table_free(t);
    }
    cli_list_free(l);
    return err;
}

int cli_list_run(cli_ctx_t *ctx, const cli_args_t *args, ProtobufCMessage *req, const char *method,
                 const ProtobufCMessageDescriptor *resp_desc, const char *items, size_t ncols,
                 const char *const *headers,
                 void (*add_row)(cli_table_t *t, const ProtobufCMessage *item))
{
    cli_list_t l;
    int err = cli_list_fetch(ctx, args, method, req, resp_desc, items, &l);
    return cli_list_show(ctx, &l, err, ncols, headers, add_row);
}

int cli_call_print(cli_ctx_t *ctx, const char *method, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *resp_desc,
                   void (*text)(const ProtobufCMessage *msg))
{
    ProtobufCMessage *resp = NULL;
    int err = cli_call(ctx, method, req, resp_desc, &resp);
    if (!err)
        err = cli_output(ctx, resp, text);
    cli_msg_free(resp);
    return err;
}

const char *cli_outcome_note(int outcome)
{
    return outcome == ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED
               ? " (already done: same request id)"
               : "";
}

int cli_call_confirm(cli_ctx_t *ctx, const char *method, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_desc, const char *fmt, ...)
{
    ProtobufCMessage *resp = NULL;
    int err = cli_call(ctx, method, req, resp_desc, &resp);
    if (!err && ctx->json) {
        err = cli_output(ctx, resp, NULL);
    } else if (!err) {
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("%s\n", cli_outcome_note(*(const int *)cli_msg_field(resp, "outcome")));
    }
    cli_msg_free(resp);
    return err;
}

char *cli_request_id(const cli_args_t *args)
{
    const char *rid = cli_args_get(args, "request-id");
    return (char *)(rid ? rid : protobuf_c_empty_string);
}

int cli_args_version(const cli_args_t *args, long long *version)
{
    const char *s = cli_args_get(args, "version");
    *version = 0;
    return s ? cli_parse_int("--version", s, 1, INT64_MAX, version) : 0;
}

void cli_msg_free(ProtobufCMessage *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

void cli_list_free(cli_list_t *l)
{
    for (size_t i = 0; i < l->npages; i++)
        protobuf_c_message_free_unpacked(l->pages[i], NULL);
    free(l->pages);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* ---- arguments ---- */

bool cli_is_uuid(const char *s)
{
    static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
        if (pattern[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return s[sizeof(pattern) - 1] == '\0';
}

const char *cli_id(const char *s, char *buf)
{
    if (!cli_is_uuid(s))
        return s;
    for (size_t i = 0; i < 37; i++)
        buf[i] = (char)tolower((unsigned char)s[i]);
    return buf;
}

int cli_parse_int(const char *opt, const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return cli_usage_error("%s wants an integer from %lld to %lld, not '%s'", opt, min, max, s);
    *out = v;
    return 0;
}

int cli_parse_enum(const char *opt, const ProtobufCEnumDescriptor *desc, const char *s, int *value)
{
    if (cli_enum_parse(desc, s, value) == 0 && *value != 0)
        return 0;
    char *choices = cli_enum_choices(desc);
    int err = cli_usage_error("%s wants one of %s, not '%s'", opt, choices, s);
    free(choices);
    return err;
}

const char *cli_ts(const Google__Protobuf__Timestamp *ts, char *buf, size_t size)
{
    if (!ts)
        return "-";
    return cli_format_timestamp((long long)ts->seconds, ts->nanos, buf, size);
}

/* JSON -> google.protobuf.Struct by proto/pbjson.c, malloc'ed through orch_malloc (which never
 * returns NULL) so that free_unpacked with the default allocator frees it. */
static void *struct_alloc(void *data, size_t size)
{
    (void)data;
    return orch_malloc(size);
}

static void struct_free(void *data, void *p)
{
    (void)data;
    free(p);
}

int cli_read_struct(const char *opt, const char *spec, Google__Protobuf__Struct **out)
{
    json_error_t jerr;
    json_t *j;
    const char *p = spec;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '{')
        j = json_loads(spec, JSON_REJECT_DUPLICATES, &jerr);
    else if (strcmp(spec, "-") == 0)
        j = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
    else
        j = json_load_file(spec, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return cli_usage_error("%s %s: %s (line %d, column %d)", opt, *p == '{' ? "(inline)" : spec,
                               jerr.text, jerr.line, jerr.column);
    if (!json_is_object(j)) {
        json_decref(j);
        return cli_usage_error("%s %s: wants a JSON object ({...})", opt,
                               *p == '{' ? "(inline)" : spec);
    }
    ProtobufCAllocator al = {struct_alloc, struct_free, NULL};
    *out = pbjson_struct_from_json(&al, j);
    json_decref(j);
    return 0;
}
