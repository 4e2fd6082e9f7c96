/* What orchctl's command handlers share: the run context built from the global options, the
 * parsed arguments of one command, exit codes, and error reporting. orchctl.c holds the
 * command table that drives parsing and help; cmd_*.c hold the handlers. */
#ifndef CLI_CMD_H
#define CLI_CMD_H

#include "channel.h"

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
    cli_channel_t *channel; /* created on first use by cli_ctx_channel */
} cli_ctx_t;

/* The channel to ctx->server, created on first use; owned by ctx (main frees it). */
cli_channel_t *cli_ctx_channel(cli_ctx_t *ctx);

#define CLI_MAX_OPTS 8

/* One command option: "--name METAVAR" or, with metavar NULL, a flag "--name". */
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
    const char *values[CLI_MAX_OPTS]; /* per option: its value, "" for a set flag, or NULL */
} cli_args_t;

/* The value of option name ("" for a set flag), or NULL if not given. Aborts on a name the
 * command's table does not have: that is a bug in the table or the handler. */
const char *cli_args_get(const cli_args_t *args, const char *name);

/* Prints "error: " + the formatted text to stderr; returns CLI_EXIT_USAGE, for handlers that
 * find a bad argument value. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a failed call's status to stderr ("error: NOT_FOUND: message", field violations,
 * reason, retry delay) and returns the exit code for its status code. */
int cli_report_status(const cli_status_t *st);

/* The exit code for a grpc_status_code. */
int cli_exit_for_code(int code);

/* Handlers: return a cli_exit_t. */
int cli_cmd_product_list(cli_ctx_t *ctx, const cli_args_t *args);
int cli_cmd_product_get(cli_ctx_t *ctx, const cli_args_t *args);
int cli_cmd_health(cli_ctx_t *ctx, const cli_args_t *args);

#endif
