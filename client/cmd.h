/* What orchctl's command handlers share: the run context built from the global options, the
 * parsed arguments of one command, exit codes, and error reporting. orchctl.c holds the
 * command table that drives parsing and help; cmd_*.c hold the handlers. */
#ifndef CLI_CMD_H
#define CLI_CMD_H

#include "channel.h"
#include "output.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Process exit codes; docs/ORCHCTL.md lists them for users. */
typedef enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,       /* anything not below */
    CLI_EXIT_USAGE = 2,       /* bad command line */
    CLI_EXIT_NOT_FOUND = 3,   /* NOT_FOUND */
    CLI_EXIT_REFUSED = 4,     /* the server refused the request as asked */
    CLI_EXIT_UNAVAILABLE = 5, /* UNAVAILABLE, DEADLINE_EXCEEDED; also health not serving */
} cli_exit_t;

/* The global options of one run, and the channel made from them. */
typedef struct cli_ctx {
    const char *server; /* borrowed from argv or the environment */
    const char *token;  /* NULL: no authorization metadata */
    int timeout_ms;     /* 0: the channel's default (30 s) */
    bool json;
    const char *tls_ca;   /* PEM CA bundle: use TLS and verify the server with it */
    const char *tls_cert; /* client certificate and key, for mutual TLS */
    const char *tls_key;
    cli_channel_t *channel; /* created on first use by cli_ctx_channel */
} cli_ctx_t;

/* The channel to ctx->server, created on first use; owned by ctx (main frees it). */
cli_channel_t *cli_ctx_channel(cli_ctx_t *ctx);

#define CLI_MAX_OPTS 12

/* One command option: "--name METAVAR" or, with metavar NULL, a flag "--name". A metavar
 * ending in "..." marks an option that may be given more than once (cli_args_list has every
 * value). */
typedef struct cli_opt {
    const char *name; /* without the dashes */
    const char *metavar;
    const char *help;
} cli_opt_t;

/* The parsed arguments of one command; all strings borrowed from argv. */
typedef struct cli_args {
    const char *const *pos; /* positional arguments after noun and verb */
    size_t npos;
    const cli_opt_t *opts;            /* the command's option table */
    const char *values[CLI_MAX_OPTS]; /* per option: its (last) value, "" for a set flag, or NULL */
    const char **lists[CLI_MAX_OPTS]; /* per repeat option: every value, in order */
    size_t nlists[CLI_MAX_OPTS];
} cli_args_t;

/* The value of option name ("" for a set flag), or NULL if not given. Aborts on a name the
 * command's table does not have: that is a bug in the table or the handler. */
const char *cli_args_get(const cli_args_t *args, const char *name);
/* Every value of a repeat option, in order (*n of them; NULL when none). */
const char *const *cli_args_list(const cli_args_t *args, const char *name, size_t *n);
/* Whether the command's table has option name at all. */
bool cli_args_has(const cli_args_t *args, const char *name);

/* Prints "error: " + the formatted text to stderr; returns CLI_EXIT_USAGE, for handlers that
 * find a bad argument value. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a failed call's status to stderr ("error: NOT_FOUND: message", field violations,
 * reason, retry delay) and returns the exit code for its status code. */
int cli_report_status(const cli_status_t *st);
/* The same for a call of method ("/orchestrator.v1.X/Y"): UNIMPLEMENTED is reported as
 * "this server does not implement orchestrator.v1.X/Y" (exit code: refused). */
int cli_report_call(const cli_status_t *st, const char *method);

/* The exit code for a grpc_status_code. */
int cli_exit_for_code(int code);

/* ---- shared by the handlers (cmd_common.c) ---- */

/* One unary call with ctx's channel and deadline. On failure reports it (cli_report_call)
 * and returns the exit code; on success *resp is the response (caller frees with
 * protobuf_c_message_free_unpacked) and the result is 0. */
int cli_call(cli_ctx_t *ctx, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp);

/* Prints msg as JSON with --json, else with text(msg), or, when text is NULL, as the
 * generic "key: value" view. Returns an exit code. */
int cli_output(const cli_ctx_t *ctx, const ProtobufCMessage *msg,
               void (*text)(const ProtobufCMessage *msg));

/* The pages of a List call and the items of all of them. */
typedef struct cli_list {
    ProtobufCMessage **pages;
    size_t npages;
    const ProtobufCMessage **items;
    size_t nitems;
} cli_list_t;

/* Runs a List RPC: req is the request with its own fields set; page_size, page_token and
 * filter are taken from the options --page-size, --page-token, --filter (those the command
 * has). Without --page-size every page is fetched; with it one page, unless --all. items is
 * the repeated field of the response to collect. Returns an exit code (errors reported). */
int cli_list_fetch(cli_ctx_t *ctx, const cli_args_t *args, const char *method,
                   ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                   const char *items, cli_list_t *out);
/* What a list command prints: the items as one JSON array with --json, else a table of
 * ncols columns (headers) to which add_row adds each item's row. Frees l; returns err (the
 * fetch's exit code) or the printing's. */
int cli_list_show(const cli_ctx_t *ctx, cli_list_t *l, int err, size_t ncols,
                  const char *const *headers,
                  void (*add_row)(cli_table_t *t, const ProtobufCMessage *item));
/* The body of every list command: cli_list_fetch with req (its own fields set), then
 * cli_list_show of the items in a table of ncols columns. Returns an exit code. */
int cli_list_run(cli_ctx_t *ctx, const cli_args_t *args, ProtobufCMessage *req, const char *method,
                 const ProtobufCMessageDescriptor *resp_desc, const char *items, size_t ncols,
                 const char *const *headers,
                 void (*add_row)(cli_table_t *t, const ProtobufCMessage *item));
/* Prints the items as one JSON array. Returns an exit code. */
int cli_list_print_json(const cli_list_t *l);
void cli_list_free(cli_list_t *l);

/* A unary call whose answer is printed: cli_call, then cli_output with text. Returns an
 * exit code (errors reported). */
int cli_call_print(cli_ctx_t *ctx, const char *method, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *resp_desc,
                   void (*text)(const ProtobufCMessage *msg));
/* " (already done: same request id)" for an ActionOutcome of ALREADY_APPLIED (the request id
 * was seen before, nothing was done again), else "": how every confirmation line ends. */
const char *cli_outcome_note(int outcome);
/* An action confirmed by one line: cli_call, then the answer as JSON with --json, else the
 * line fmt... and cli_outcome_note of the answer's "outcome" field. Returns an exit code
 * (errors reported). */
int cli_call_confirm(cli_ctx_t *ctx, const char *method, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_desc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* --request-id for a request's request_id (borrowed from args), or the empty string when
 * it is not given. */
char *cli_request_id(const cli_args_t *args);
/* --version N, the version of a record that a change or delete expects (the server refuses it
 * when someone changed the record since): 1 to INT64_MAX, 0 when not given. One parse for
 * every command that takes it, so they accept and reject the same values. Returns 0 or
 * CLI_EXIT_USAGE (reported). */
int cli_args_version(const cli_args_t *args, long long *version);
/* Frees a message unpacked with the default allocator; NULL does nothing. */
void cli_msg_free(ProtobufCMessage *m);
/* Sets a string / int32 / int64 field of a message by its .proto name (value borrowed). */
void cli_msg_set_string(ProtobufCMessage *m, const char *field, const char *value);
void cli_msg_set_int32(ProtobufCMessage *m, const char *field, int value);
/* Where field (its .proto name) lives in m, borrowed with m; a name m lacks aborts. */
const void *cli_msg_field(const ProtobufCMessage *m, const char *field);

/* 8-4-4-4-12 hex digits, any case. */
bool cli_is_uuid(const char *s);
/* s lower-cased into buf (37 bytes) when it is UUID-shaped; otherwise s itself (the server
 * names the bad field). */
const char *cli_id(const char *s, char *buf);
/* Sets the key oneof of a request that names a thing by id or by name (GetWorkflow,
 * GetWorkflowGraph, GetProduct, GetProductBlock): a UUID-shaped arg is the id, lower-cased
 * into idbuf (37 bytes) as ids are on the wire; anything else is the name (borrowed). prefix
 * is the oneof's case prefix (ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY), ID_CASE the id
 * case's suffix (PRODUCT_ID) and id_member the id field (product_id). */
#define CLI_SET_KEY(req, prefix, ID_CASE, id_member, arg, idbuf)                                   \
    do {                                                                                           \
        if (cli_is_uuid(arg)) {                                                                    \
            (req).key_case = prefix##_##ID_CASE;                                                   \
            (req).id_member = (char *)cli_id((arg), (idbuf));                                      \
        } else {                                                                                   \
            (req).key_case = prefix##_NAME;                                                        \
            (req).name = (char *)(arg);                                                            \
        }                                                                                          \
    } while (0)

/* ---- names and id prefixes (cmd_resolve.c) ---- */

/* A product argument: an id (any case) as is, lower-cased into buf; a name is looked up
 * with GetProduct and its id written into buf. *id is buf or arg (borrowed), not const so
 * that id may be a request's id field. Returns 0, or the exit code of the failed call
 * (reported: NOT_FOUND for an unknown name). */
int cli_product_arg(cli_ctx_t *ctx, const char *arg, char buf[37], char **id);
/* A workflow argument: a name as is; an id (any case) is looked up with GetWorkflow. *name:
 * caller frees. Returns 0 or the exit code of the failed call (reported). */
int cli_workflow_arg(cli_ctx_t *ctx, const char *arg, char **name);
/* A subscription argument: an id (any case), or the start of one (at least 8 hex digits,
 * with the hyphens where the id has them) that exactly one subscription
 * has. The server resolves a start in one call (ListSubscriptions with the filter
 * `subscription_id = "<start>*"`). *id is buf or arg (borrowed), not const so that id may be
 * a request's subscription_id field. Returns 0; CLI_EXIT_USAGE
 * when the start is shorter than 8 or several ids begin so (the candidates are listed on
 * stderr); CLI_EXIT_NOT_FOUND when none does. Anything that is neither is passed on as is,
 * so the server names the bad field. */
int cli_subscription_arg(cli_ctx_t *ctx, const char *arg, char buf[37], char **id);

/* Parses an integer option value in [min, max]; on error prints a usage error naming the
 * option and returns CLI_EXIT_USAGE. */
int cli_parse_int(const char *opt, const char *s, long long min, long long max, long long *out);
/* Parses an enum option value (cli_enum_parse); the error lists the choices. */
int cli_parse_enum(const char *opt, const ProtobufCEnumDescriptor *desc, const char *s, int *value);

/* Reads a JSON object for a google.protobuf.Struct from spec: a file name, "-" for stdin,
 * or the JSON text itself when spec starts with '{'. *out is malloc'ed (free with
 * protobuf_c_message_free_unpacked(&(*out)->base, NULL)). On error prints it and returns
 * CLI_EXIT_USAGE. */
struct Google__Protobuf__Struct;
int cli_read_struct(const char *opt, const char *spec, struct Google__Protobuf__Struct **out);

/* A Timestamp as RFC 3339, or "-" when unset. */
struct Google__Protobuf__Timestamp;
const char *cli_ts(const struct Google__Protobuf__Timestamp *ts, char *buf, size_t size);

/* ---- handlers: return a cli_exit_t ---- */
#define CLI_HANDLER(name) int name(cli_ctx_t *ctx, const cli_args_t *args)
CLI_HANDLER(cli_cmd_product_list);
CLI_HANDLER(cli_cmd_product_get);
CLI_HANDLER(cli_cmd_product_update);
CLI_HANDLER(cli_cmd_product_block_list);
CLI_HANDLER(cli_cmd_product_block_get);
CLI_HANDLER(cli_cmd_resource_type_list);
CLI_HANDLER(cli_cmd_health);

CLI_HANDLER(cli_cmd_subscription_list);
CLI_HANDLER(cli_cmd_subscription_get);
CLI_HANDLER(cli_cmd_subscription_workflows);
CLI_HANDLER(cli_cmd_subscription_set_in_sync);
CLI_HANDLER(cli_cmd_subscription_metadata);
CLI_HANDLER(cli_cmd_subscription_description_get);
CLI_HANDLER(cli_cmd_subscription_description_set);
CLI_HANDLER(cli_cmd_subscription_description_delete);
CLI_HANDLER(cli_cmd_subscription_watch);

CLI_HANDLER(cli_cmd_process_start);
CLI_HANDLER(cli_cmd_process_get);
CLI_HANDLER(cli_cmd_process_list);
CLI_HANDLER(cli_cmd_process_resume);
CLI_HANDLER(cli_cmd_process_retry);
CLI_HANDLER(cli_cmd_process_abort);
CLI_HANDLER(cli_cmd_process_delete);
CLI_HANDLER(cli_cmd_process_note);
CLI_HANDLER(cli_cmd_process_counts);
CLI_HANDLER(cli_cmd_process_bulk_resume);
CLI_HANDLER(cli_cmd_process_watch);
CLI_HANDLER(cli_cmd_process_callback_deliver);
CLI_HANDLER(cli_cmd_process_callback_progress);

CLI_HANDLER(cli_cmd_workflow_list);
CLI_HANDLER(cli_cmd_workflow_get);
CLI_HANDLER(cli_cmd_workflow_graph);
CLI_HANDLER(cli_cmd_workflow_register);
CLI_HANDLER(cli_cmd_generate_product);

CLI_HANDLER(cli_cmd_engine_status);
CLI_HANDLER(cli_cmd_engine_pause);
CLI_HANDLER(cli_cmd_engine_resume);
CLI_HANDLER(cli_cmd_engine_replicas);
CLI_HANDLER(cli_cmd_engine_audit);
CLI_HANDLER(cli_cmd_schedule_list);
CLI_HANDLER(cli_cmd_schedule_create);
CLI_HANDLER(cli_cmd_schedule_update);
CLI_HANDLER(cli_cmd_schedule_delete);

#endif
