/* orchctl: the command-line client of the orchestrator. Two tables, the global options and
 * the commands {noun, verb, usage, help, options, handler}, drive argument parsing and every
 * level of --help; the handlers live in cmd_*.c. */
#include "cmd.h"
#include "output.h"

#include "domain/alloc.h"

#include <errno.h>
#include <grpc/status.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CLI_DEFAULT_SERVER "127.0.0.1:50051"

typedef struct cli_command {
    const char *noun;
    const char *verb;  /* NULL: the noun alone is the command */
    const char *usage; /* what follows "orchctl NOUN VERB" */
    const char *summary;
    const char *help; /* more lines for the command's --help, or NULL */
    size_t min_args, max_args;
    cli_opt_t opts[CLI_MAX_OPTS];
    int (*handler)(cli_ctx_t *ctx, const cli_args_t *args);
} cli_command_t;

typedef struct cli_noun {
    const char *name;
    const char *summary;
} cli_noun_t;

static const cli_noun_t nouns[] = {
    {"product", "The product catalogue: products, their blocks and workflows"},
    {"health", "Ask the server whether it is serving"},
};

static const cli_command_t commands[] = {
    {
        .noun = "product",
        .verb = "list",
        .usage = "[--filter EXPR] [--page-size N] [--page-token TOKEN] [--all]",
        .summary = "List products (all pages by default)",
        .help = "Prints a table NAME, TYPE, TAG, STATUS, ID, or with --json an array of "
                "products.\n"
                "Without --page-size every page is fetched. With --page-size N only one page "
                "of N is\nprinted (the next page token goes to stderr), unless --all is given "
                "too.\nFilter fields: name, description, product_type, tag, status, e.g.\n"
                "  --filter 'tag = \"NODE\" AND status = \"active\"'   --filter 'name : "
                "\"Cisco\"'",
        .opts = {{"filter", "EXPR", "AIP-160 filter expression"},
                 {"page-size", "N", "Products per request (server default 50, max 500)"},
                 {"page-token", "TOKEN", "Start at this page (from a previous run)"},
                 {"all", NULL,
                  "Follow next_page_token to the end (the default without "
                  "--page-size)"}},
        .handler = cli_cmd_product_list,
    },
    {
        .noun = "product",
        .verb = "get",
        .usage = "NAME_OR_ID",
        .summary = "Show one product with its blocks and workflows",
        .help = "NAME_OR_ID is a product id (a UUID, any case) or an exact product name such "
                "as\n\"node Cisco\" (quote names with spaces).",
        .min_args = 1,
        .max_args = 1,
        .handler = cli_cmd_product_get,
    },
    {
        .noun = "health",
        .usage = "[--service NAME]",
        .summary = "Check the server's health (grpc.health.v1)",
        .help = "Prints SERVING, NOT_SERVING, UNKNOWN or SERVICE_UNKNOWN. Exit code 0 only "
                "when\nSERVING; 5 when NOT_SERVING or unreachable.",
        .opts = {{"service", "NAME", "Service to ask about (default: the whole server)"}},
        .handler = cli_cmd_health,
    },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum { GOPT_SERVER, GOPT_TOKEN, GOPT_TIMEOUT, GOPT_JSON, GOPT_HELP, GOPT_COUNT };

typedef struct cli_global_opt {
    const char *name;
    const char *metavar; /* NULL: flag */
    const char *env;
    const char *help;
} cli_global_opt_t;

static const cli_global_opt_t global_opts[GOPT_COUNT] = {
    [GOPT_SERVER] = {"server", "ADDR", "ORCH_SERVER",
                     "Server address (default " CLI_DEFAULT_SERVER ")"},
    [GOPT_TOKEN] = {"token", "TOKEN", "ORCH_TOKEN", "Bearer token sent with every call"},
    [GOPT_TIMEOUT] = {"timeout", "SECONDS", NULL, "Deadline of each call (default 30)"},
    [GOPT_JSON] = {"json", NULL, NULL, "Print JSON instead of text"},
    [GOPT_HELP] = {"help", NULL, NULL, "Show help (also after a noun or a command)"},
};

/* ---- shared helpers declared in cmd.h ---- */

cli_channel_t *cli_ctx_channel(cli_ctx_t *ctx)
{
    if (!ctx->channel) {
        cli_channel_opts_t opts = {.token = ctx->token};
        ctx->channel = cli_channel_new(ctx->server, &opts);
        orch_assert(ctx->channel != NULL); /* main checked the address is not empty */
    }
    return ctx->channel;
}

const char *cli_args_get(const cli_args_t *args, const char *name)
{
    for (size_t i = 0; i < CLI_MAX_OPTS && args->opts[i].name; i++)
        if (strcmp(args->opts[i].name, name) == 0)
            return args->values[i];
    orch_assert(!"option missing from the command table");
    return NULL;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

int cli_exit_for_code(int code)
{
    switch (code) {
    case GRPC_STATUS_OK:
        return CLI_EXIT_OK;
    case GRPC_STATUS_NOT_FOUND:
        return CLI_EXIT_NOT_FOUND;
    case GRPC_STATUS_INVALID_ARGUMENT:
    case GRPC_STATUS_FAILED_PRECONDITION:
    case GRPC_STATUS_ALREADY_EXISTS:
    case GRPC_STATUS_ABORTED:
    case GRPC_STATUS_PERMISSION_DENIED:
    case GRPC_STATUS_UNAUTHENTICATED:
    case GRPC_STATUS_OUT_OF_RANGE:
        return CLI_EXIT_REFUSED;
    case GRPC_STATUS_UNAVAILABLE:
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        return CLI_EXIT_UNAVAILABLE;
    default:
        return CLI_EXIT_ERROR;
    }
}

int cli_report_status(const cli_status_t *st)
{
    const char *msg = st->message ? st->message : "";
    fprintf(stderr, "error: %s%s%s\n", cli_status_code_name(st->code), *msg ? ": " : "", msg);
    for (size_t i = 0; i < st->nviolations; i++)
        fprintf(stderr, "  %s: %s\n", st->violations[i].field, st->violations[i].description);
    if (st->reason && *st->reason)
        fprintf(stderr, "  reason: %s%s%s%s\n", st->reason, st->domain && *st->domain ? " (" : "",
                st->domain ? st->domain : "", st->domain && *st->domain ? ")" : "");
    if (st->retry_delay_ms >= 0)
        fprintf(stderr, "  retry after: %lld ms\n", st->retry_delay_ms);
    return cli_exit_for_code(st->code);
}

/* ---- help ---- */

static bool noun_has_verbs(const char *noun)
{
    for (size_t i = 0; i < NELEM(commands); i++)
        if (strcmp(commands[i].noun, noun) == 0 && commands[i].verb)
            return true;
    return false;
}

static void print_global_options(FILE *out)
{
    fputs("Global options:\n", out);
    size_t w = 0;
    for (size_t i = 0; i < GOPT_COUNT; i++) {
        const cli_global_opt_t *g = &global_opts[i];
        size_t l = strlen(g->name) + 2 + (g->metavar ? strlen(g->metavar) + 1 : 0);
        if (l > w)
            w = l;
    }
    for (size_t i = 0; i < GOPT_COUNT; i++) {
        const cli_global_opt_t *g = &global_opts[i];
        char *opt =
            orch_asprintf("--%s%s%s", g->name, g->metavar ? " " : "", g->metavar ? g->metavar : "");
        fprintf(out, "  %-*s  %s", (int)w, opt, g->help);
        if (g->env)
            fprintf(out, " [env %s]", g->env);
        fputc('\n', out);
        free(opt);
    }
}

static void print_exit_codes(FILE *out)
{
    fputs("Exit codes: 0 success, 1 other error, 2 usage error, 3 not found, 4 refused by the\n"
          "server (invalid argument, precondition, exists, aborted, permission, auth, range),\n"
          "5 unavailable (unreachable, deadline exceeded).\n",
          out);
}

static void print_top_help(FILE *out)
{
    fputs("Usage: orchctl [GLOBAL OPTIONS] NOUN [VERB] [ARGS] [OPTIONS]\n\n"
          "orchctl talks to an orchestrator server over gRPC.\n\nCommands:\n",
          out);
    size_t w = 0;
    for (size_t i = 0; i < NELEM(commands); i++) {
        size_t l = strlen(commands[i].noun) + (commands[i].verb ? strlen(commands[i].verb) + 1 : 0);
        if (l > w)
            w = l;
    }
    for (size_t i = 0; i < NELEM(commands); i++) {
        const cli_command_t *c = &commands[i];
        char *name = orch_asprintf("%s%s%s", c->noun, c->verb ? " " : "", c->verb ? c->verb : "");
        fprintf(out, "  %-*s  %s\n", (int)w, name, c->summary);
        free(name);
    }
    fputc('\n', out);
    print_global_options(out);
    fputc('\n', out);
    print_exit_codes(out);
    fputs("Run 'orchctl NOUN --help' or 'orchctl NOUN VERB --help' for more.\n", out);
}

static void print_noun_help(FILE *out, const cli_noun_t *n)
{
    fprintf(out, "Usage: orchctl %s VERB [ARGS] [OPTIONS]\n\n%s.\n\nVerbs:\n", n->name, n->summary);
    size_t w = 0;
    for (size_t i = 0; i < NELEM(commands); i++)
        if (strcmp(commands[i].noun, n->name) == 0 && commands[i].verb &&
            strlen(commands[i].verb) > w)
            w = strlen(commands[i].verb);
    for (size_t i = 0; i < NELEM(commands); i++)
        if (strcmp(commands[i].noun, n->name) == 0 && commands[i].verb)
            fprintf(out, "  %-*s  %s\n", (int)w, commands[i].verb, commands[i].summary);
    fprintf(out,
            "\nRun 'orchctl %s VERB --help' for a verb's options; 'orchctl --help' for the\n"
            "global options.\n",
            n->name);
}

static void print_command_help(FILE *out, const cli_command_t *c)
{
    fprintf(out, "Usage: orchctl %s%s%s %s\n\n%s.\n", c->noun, c->verb ? " " : "",
            c->verb ? c->verb : "", c->usage, c->summary);
    if (c->help)
        fprintf(out, "\n%s\n", c->help);
    if (c->opts[0].name) {
        fputs("\nOptions:\n", out);
        size_t w = 0;
        for (size_t i = 0; i < CLI_MAX_OPTS && c->opts[i].name; i++) {
            const cli_opt_t *o = &c->opts[i];
            size_t l = strlen(o->name) + 2 + (o->metavar ? strlen(o->metavar) + 1 : 0);
            if (l > w)
                w = l;
        }
        for (size_t i = 0; i < CLI_MAX_OPTS && c->opts[i].name; i++) {
            const cli_opt_t *o = &c->opts[i];
            char *s = orch_asprintf("--%s%s%s", o->name, o->metavar ? " " : "",
                                    o->metavar ? o->metavar : "");
            fprintf(out, "  %-*s  %s\n", (int)w, s, o->help);
            free(s);
        }
    }
    fputs("\n", out);
    print_global_options(out);
}

/* ---- parsing ---- */

static const cli_noun_t *find_noun(const char *name)
{
    for (size_t i = 0; i < NELEM(nouns); i++)
        if (strcmp(nouns[i].name, name) == 0)
            return &nouns[i];
    return NULL;
}

static const cli_command_t *find_command(const char *noun, const char *verb)
{
    for (size_t i = 0; i < NELEM(commands); i++) {
        const cli_command_t *c = &commands[i];
        if (strcmp(c->noun, noun) != 0)
            continue;
        if ((!verb && !c->verb) || (verb && c->verb && strcmp(c->verb, verb) == 0))
            return c;
    }
    return NULL;
}

/* Parses "--timeout SECONDS": a positive number of seconds, at most a day. */
static int parse_timeout(const char *s, int *ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 86400)
        return cli_usage_error("--timeout wants a number of seconds in (0, 86400], not '%s'", s);
    *ms = (int)(v * 1000);
    if (*ms < 1)
        *ms = 1;
    return 0;
}

int main(int argc, char **argv)
{
    cli_ctx_t ctx = {0};
    const char *gvals[GOPT_COUNT] = {0};
    const char **pos = orch_calloc((size_t)argc + 1, sizeof(*pos));
    size_t npos = 0;
    const cli_noun_t *noun = NULL;
    const cli_command_t *cmd = NULL;
    cli_args_t args = {0};
    int err = 0;
    bool help = false, only_positional = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            /* A positional: the noun, then the verb if the noun has verbs, then arguments. */
            if (!noun) {
                noun = find_noun(a);
                if (!noun) {
                    err = err ? err : cli_usage_error("unknown command '%s'", a);
                    continue;
                }
                if (!noun_has_verbs(noun->name))
                    cmd = find_command(noun->name, NULL);
            } else if (!cmd) {
                cmd = find_command(noun->name, a);
                if (!cmd) {
                    err = err ? err : cli_usage_error("unknown verb '%s %s'", noun->name, a);
                }
            } else {
                pos[npos++] = a;
            }
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_positional = true;
            continue;
        }
        if (strcmp(a, "-h") == 0) {
            help = true;
            continue;
        }
        if (a[1] != '-') {
            err = err ? err : cli_usage_error("unknown option '%s'", a);
            continue;
        }
        /* --name or --name=value */
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const char *metavar = NULL;
        const char **slot = NULL;
        bool found = false;
        for (size_t g = 0; g < GOPT_COUNT && !found; g++)
            if (strlen(global_opts[g].name) == nlen &&
                strncmp(global_opts[g].name, name, nlen) == 0) {
                found = true;
                metavar = global_opts[g].metavar;
                slot = &gvals[g];
            }
        for (size_t o = 0; cmd && o < CLI_MAX_OPTS && cmd->opts[o].name && !found; o++)
            if (strlen(cmd->opts[o].name) == nlen && strncmp(cmd->opts[o].name, name, nlen) == 0) {
                found = true;
                metavar = cmd->opts[o].metavar;
                slot = &args.values[o];
            }
        if (!found) {
            err = err ? err : cli_usage_error("unknown option '--%.*s'", (int)nlen, name);
            continue;
        }
        if (!metavar) {
            if (eq)
                err =
                    err ? err : cli_usage_error("option '--%.*s' takes no value", (int)nlen, name);
            *slot = "";
        } else if (eq) {
            *slot = eq + 1;
        } else if (i + 1 < argc) {
            *slot = argv[++i];
        } else {
            err = err ? err : cli_usage_error("option '--%s' needs a value (%s)", name, metavar);
        }
    }
    if (gvals[GOPT_HELP])
        help = true;

    if (help) {
        if (cmd)
            print_command_help(stdout, cmd);
        else if (noun)
            print_noun_help(stdout, noun);
        else
            print_top_help(stdout);
        err = CLI_EXIT_OK;
        goto out;
    }
    if (err)
        goto usage_hint;
    if (!noun) {
        print_top_help(stderr);
        err = CLI_EXIT_USAGE;
        goto out;
    }
    if (!cmd) {
        print_noun_help(stderr, noun);
        err = CLI_EXIT_USAGE;
        goto out;
    }
    if (npos < cmd->min_args || npos > cmd->max_args) {
        if (npos < cmd->min_args)
            err = cli_usage_error("missing argument: orchctl %s %s %s", cmd->noun,
                                  cmd->verb ? cmd->verb : "", cmd->usage);
        else
            err = cli_usage_error("unexpected argument '%s'", pos[cmd->max_args]);
        goto usage_hint;
    }

    ctx.server = gvals[GOPT_SERVER] ? gvals[GOPT_SERVER] : getenv("ORCH_SERVER");
    if (!ctx.server || !*ctx.server)
        ctx.server = gvals[GOPT_SERVER] ? "" : CLI_DEFAULT_SERVER;
    if (!*ctx.server) {
        err = cli_usage_error("--server wants an address such as " CLI_DEFAULT_SERVER);
        goto out;
    }
    ctx.token = gvals[GOPT_TOKEN] ? gvals[GOPT_TOKEN] : getenv("ORCH_TOKEN");
    if (ctx.token && !*ctx.token)
        ctx.token = NULL;
    if (gvals[GOPT_TIMEOUT] && (err = parse_timeout(gvals[GOPT_TIMEOUT], &ctx.timeout_ms)))
        goto out;
    ctx.json = gvals[GOPT_JSON] != NULL;

    args.pos = pos;
    args.npos = npos;
    args.opts = cmd->opts;
    err = cmd->handler(&ctx, &args);
    goto out;

usage_hint:
    if (cmd)
        fprintf(stderr, "Run 'orchctl %s%s%s --help' for usage.\n", cmd->noun, cmd->verb ? " " : "",
                cmd->verb ? cmd->verb : "");
    else if (noun)
        fprintf(stderr, "Run 'orchctl %s --help' for usage.\n", noun->name);
    else
        fputs("Run 'orchctl --help' for usage.\n", stderr);
out:
    cli_channel_free(ctx.channel);
    free(pos);
    if (fflush(stdout) != 0 && err == 0)
        err = CLI_EXIT_ERROR;
    return err;
}
