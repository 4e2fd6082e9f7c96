/* orchctl: the command-line client of the orchestrator. Two tables, the global options and
 * the commands {noun, verb, usage, help, options, handler}, drive argument parsing and every
 * level of --help; the handlers live in cmd_*.c. */
#include "cmd.h"
#include "output.h"

#include "base/alloc.h"

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
    {"product-block", "The building blocks of products"},
    {"resource-type", "The scalar field names product blocks carry"},
    {"subscription", "Subscriptions: what customers hold, and the operator actions on them"},
    {"process", "Processes: runs of workflows and tasks"},
    {"workflow", "Workflows and tasks, registered in code or as data"},
    {"engine", "The engine: the global pause switch and the server replicas"},
    {"schedule", "Schedules that start tasks at due times"},
    {"health", "Ask the server whether it is serving"},
    {"generate", "Write code: a new product module from a JSON design (no server needed)"},
    {"help", "Show help, or the whole command reference as Markdown"},
};

/* The options every List command shares. */
#define LIST_OPTS(what, fields)                                                                    \
    {"filter", "EXPR", "AIP-160 filter over " fields},                                             \
        {"page-size", "N", what " per request (server default 50, max 500)"},                      \
        {"page-token", "TOKEN", "Start at this page (from a previous run)"},                       \
    {                                                                                              \
        "all", NULL, "Follow next_page_token to the end (the default without --page-size)"         \
    }
#define LIST_USAGE "[--filter EXPR] [--page-size N] [--page-token TOKEN] [--all]"
#define LIST_HELP                                                                                  \
    "Without --page-size every page is fetched. With --page-size N only one page of N is\n"        \
    "printed (the next page token goes to stderr), unless --all is given too."
#define REQUEST_ID_OPT                                                                             \
    {                                                                                              \
        "request-id", "UUID", "Idempotency key (lower-case UUID): a repeat gets the first answer"  \
    }

/* The trigger options of schedule create and update, all read by one function
 * (sched_trigger in cmd_engine.c). */
#define TRIGGER_OPTS                                                                               \
    {"every", "DURATION", "Fire at this interval"},                                                \
        {"cron", "EXPR", "Fire on this cron expression"},                                          \
        {"at", "TIME", "Fire once at this time"},                                                  \
    {                                                                                              \
        "start", "TIME", "With --every: the first run"                                             \
    }

/* How a subscription argument may be written (cli_subscription_arg). */
#define SUB_ARG_HELP                                                                               \
    "SUBSCRIPTION is a subscription id, or its start (at least 8 characters) when exactly\n"       \
    "one id begins so; when several do, orchctl lists them and exits with 2."

static int cli_cmd_help(cli_ctx_t *ctx, const cli_args_t *args);

static const cli_command_t commands[] = {
    /* ---- product ---- */
    {
        .noun = "product",
        .verb = "list",
        .usage = LIST_USAGE,
        .summary = "List products (all pages by default)",
        .help = "Prints a table NAME, TYPE, TAG, STATUS, ID, or with --json an array of "
                "products.\n" LIST_HELP "\nFor example:\n"
                "  --filter 'tag = \"NODE\" AND status = \"active\"'   --filter 'name : "
                "\"Cisco\"'",
        .opts = {LIST_OPTS("Products", "name, description, product_type, tag, status")},
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
        .noun = "product",
        .verb = "update",
        .usage = "NAME_OR_ID [--description TEXT] [--status STATUS] [--request-id UUID]",
        .summary = "Change a product's description and/or status (admin)",
        .help = "Only the description and the status of a product can change; the rest comes "
                "from the\ncatalogue in code. Prints the product as stored. Setting end_of_life "
                "while live\nsubscriptions of the product exist is refused (PRODUCT_IN_USE).",
        .min_args = 1,
        .max_args = 1,
        .opts = {{"description", "TEXT", "The new description"},
                 {"status", "STATUS", "active, pre_production, phase_out or end_of_life"},
                 REQUEST_ID_OPT},
        .handler = cli_cmd_product_update,
    },
    {
        .noun = "product-block",
        .verb = "list",
        .usage = LIST_USAGE,
        .summary = "List product blocks",
        .help = "Prints a table NAME, TAG, STATUS, FIELDS, CHILDREN, ID.\n" LIST_HELP,
        .opts = {LIST_OPTS("Blocks", "name, description, tag, status")},
        .handler = cli_cmd_product_block_list,
    },
    {
        .noun = "product-block",
        .verb = "get",
        .usage = "NAME_OR_ID",
        .summary = "Show one product block with its fields and children",
        .min_args = 1,
        .max_args = 1,
        .handler = cli_cmd_product_block_get,
    },
    {
        .noun = "resource-type",
        .verb = "list",
        .usage = LIST_USAGE,
        .summary = "List resource types",
        .help = "Prints a table RESOURCE TYPE, DESCRIPTION, ID.\n" LIST_HELP,
        .opts = {LIST_OPTS("Resource types", "resource_type, description")},
        .handler = cli_cmd_resource_type_list,
    },
    /* ---- subscription ---- */
    {
        .noun = "subscription",
        .verb = "list",
        .usage = "[--filter EXPR] [--query TEXT] [--order-by FIELDS] [--view basic|full] "
                 "[--page-size N] [--page-token TOKEN] [--all]",
        .summary = "List and search subscriptions",
        .help =
            "Prints a table ID, PRODUCT, CUSTOMER, STATUS, IN SYNC, START, DESCRIPTION.\n" LIST_HELP
            "\nFor example:\n"
            "  --filter 'tag = \"PORT\" AND status = \"active\"'   --filter 'in_sync = "
            "false'\n"
            "  --query '\"core link\" -test'   --order-by 'start_time desc, description'",
        .opts = {LIST_OPTS("Subscriptions",
                           "subscription_id, status, product_id, product, tag, product_type, "
                           "customer_id, description, in_sync, note, start_time, end_time, "
                           "create_time, update_time"),
                 {"query", "TEXT", "Full-text search (words, \"phrases\", OR, -word)"},
                 {"order-by", "FIELDS",
                  "start_time, end_time, create_time, update_time, description, customer_id, "
                  "status, product, tag; each optionally desc, comma-separated (default "
                  "start_time desc)"},
                 {"view", "VIEW", "basic (default) or full"}},
        .handler = cli_cmd_subscription_list,
    },
    {
        .noun = "subscription",
        .verb = "get",
        .usage = "SUBSCRIPTION [--view basic|full]",
        .summary = "Show one subscription with its block tree",
        .help = "The text view shows the attributes, the customer descriptions, the metadata and "
                "the\ntree of block instances, each block indented under its parent with its "
                "field values.\nForeign blocks (owned by another subscription) are marked and "
                "not expanded.\n" SUB_ARG_HELP,
        .min_args = 1,
        .max_args = 1,
        .opts = {{"view", "VIEW", "full (default) or basic (no tree, no metadata)"}},
        .handler = cli_cmd_subscription_get,
    },
    {
        .noun = "subscription",
        .verb = "workflows",
        .usage = "SUBSCRIPTION [--filter EXPR]",
        .summary = "The workflows of a subscription, allowed or blocked with the reason",
        .help =
            "Prints a table WORKFLOW, TARGET, ALLOWED, REASON, DESCRIPTION; the reason is "
            "an\nErrorInfo reason such as SUBSCRIPTION_NOT_IN_SYNC, with its sentence.\n" SUB_ARG_HELP,
        .min_args = 1,
        .max_args = 1,
        .opts = {{"filter", "EXPR", "AIP-160 filter over name, target, allowed, is_task"}},
        .handler = cli_cmd_subscription_workflows,
    },
    {
        .noun = "subscription",
        .verb = "set-in-sync",
        .usage = "SUBSCRIPTION [--version N] [--request-id UUID]",
        .summary = "Unlock a subscription: mark it in sync again (admin)",
        .help = "Refused (SUBSCRIPTION_HAS_UNFINISHED_PROCESS) while a workflow of it is "
                "unfinished.\n" SUB_ARG_HELP,
        .min_args = 1,
        .max_args = 1,
        .opts = {{"version", "N", "Expected current version (default: do not check)"},
                 REQUEST_ID_OPT},
        .handler = cli_cmd_subscription_set_in_sync,
    },
    {
        .noun = "subscription",
        .verb = "metadata",
        .usage = "SUBSCRIPTION --set FILE.json [--version N] [--request-id UUID]",
        .summary = "Replace a subscription's metadata",
        .help = "FILE.json holds one JSON object (\"-\" reads stdin; an argument starting with "
                "'{' is the\nJSON itself); {} clears the metadata. Without --version the "
                "current version is read\nfirst.\n" SUB_ARG_HELP,
        .min_args = 1,
        .max_args = 1,
        .opts = {{"set", "FILE.json", "The new metadata (required)"},
                 {"version", "N", "Expected current version (default: the current one)"},
                 REQUEST_ID_OPT},
        .handler = cli_cmd_subscription_metadata,
    },
    {
        .noun = "subscription",
        .verb = "description get",
        .usage = "SUBSCRIPTION CUSTOMER",
        .summary = "Show a customer's description (alias) of a subscription",
        .help = SUB_ARG_HELP,
        .min_args = 2,
        .max_args = 2,
        .handler = cli_cmd_subscription_description_get,
    },
    {
        .noun = "subscription",
        .verb = "description set",
        .usage = "SUBSCRIPTION CUSTOMER TEXT [--version N] [--request-id UUID]",
        .summary = "Create or change a customer's description of a subscription",
        .help = "Creates the description when the customer has none; otherwise changes it, at "
                "the\n--version given or at the current one.\n" SUB_ARG_HELP,
        .min_args = 3,
        .max_args = 3,
        .opts = {{"version", "N", "Expected current version of the description"}, REQUEST_ID_OPT},
        .handler = cli_cmd_subscription_description_set,
    },
    {
        .noun = "subscription",
        .verb = "description delete",
        .usage = "SUBSCRIPTION CUSTOMER [--version N] [--request-id UUID]",
        .summary = "Delete a customer's description of a subscription",
        .help = SUB_ARG_HELP,
        .min_args = 2,
        .max_args = 2,
        .opts = {{"version", "N", "Expected current version (default: do not check)"},
                 REQUEST_ID_OPT},
        .handler = cli_cmd_subscription_description_delete,
    },
    {
        .noun = "subscription",
        .verb = "watch",
        .usage = "SUBSCRIPTION [--after-sequence N]",
        .summary = "Follow a subscription's changes live (a line per event)",
        .help = "Prints a snapshot, then one line per change (status, lock, fields, metadata,\n"
                "descriptions); with --json one JSON object per line. Runs until the "
                "subscription is\ndeleted, the server ends the stream, or Ctrl-C; --timeout "
                "bounds it.\n" SUB_ARG_HELP,
        .min_args = 1,
        .max_args = 1,
        .opts = {{"after-sequence", "N", "Replay every event after sequence N (no snapshot)"}},
        .handler = cli_cmd_subscription_watch,
    },
    /* ---- process ---- */
    {
        .noun = "process",
        .verb = "start",
        .usage = "WORKFLOW [--product PRODUCT] [--subscription SUBSCRIPTION] "
                 "[--input PAGE.json]... [--note TEXT] [--request-id UUID] [--watch]",
        .summary = "Start a workflow or task",
        .help =
            "Each --input is one form page's answers, in order: a JSON file, \"-\" for "
            "stdin, or\nthe JSON object itself. When the answers are incomplete the server "
            "answers with the\nnext form page: on a terminal orchctl asks for it field by field; "
            "otherwise it\nprints it and exits with 4 (nothing was created): add one more "
            "--input and run again.\nCreate workflows take --product, the others --subscription. "
            "With --watch, follows the\nprocess until it completes or is aborted.\n"
            "WORKFLOW is a workflow name or id; PRODUCT a product name or id (--product \"node "
            "Cisco\").\n" SUB_ARG_HELP,
        .min_args = 1,
        .max_args = 1,
        .opts = {{"product", "PRODUCT", "The product, by name or id (create workflows)"},
                 {"subscription", "SUBSCRIPTION",
                  "The subscription, by id or its start (modify, terminate, ...)"},
                 {"input", "PAGE.json...", "Answers to one form page (repeat for more pages)"},
                 {"note", "TEXT", "Initial operator note"},
                 REQUEST_ID_OPT,
                 {"watch", NULL, "Then follow the process like 'process watch'"}},
        .handler = cli_cmd_process_start,
    },
    {
        .noun = "process",
        .verb = "get",
        .usage = "ID [--view basic|deltas|full]",
        .summary = "Show one process with its steps",
        .help = "The text view shows the attributes, the error, the pending form or callback, "
                "and the\nsteps (the audit log, then the pending steps) as a table.",
        .min_args = 1,
        .max_args = 1,
        .opts = {{"view", "VIEW",
                  "full (default), deltas (each step's delta, not its whole state: for long "
                  "processes) or basic (no steps, no state)"}},
        .handler = cli_cmd_process_get,
    },
    {
        .noun = "process",
        .verb = "list",
        .usage = "[--filter EXPR] [--order-by FIELDS] [--page-size N] [--page-token TOKEN] "
                 "[--all]",
        .summary = "List processes",
        .help = "Prints a table ID, WORKFLOW, STATUS, LAST STEP, STEPS, STARTED, "
                "SUBSCRIPTION.\n" LIST_HELP "\nFor example:\n"
                "  --filter 'status = \"failed\"'   --filter 'status=failed AND is_task = "
                "false'\n"
                "  --order-by 'update_time desc'",
        .opts = {LIST_OPTS("Processes",
                           "process_id, status, workflow, workflow_version, target, is_task, "
                           "subscription_id, product_id, customer_id, created_by, assignee, "
                           "last_step, note, start_time, update_time, end_time"),
                 {"order-by", "FIELDS",
                  "start_time, update_time, end_time, status, workflow "
                  "(each optionally \" desc\")"}},
        .handler = cli_cmd_process_list,
    },
    {
        .noun = "process",
        .verb = "resume",
        .usage = "ID [--input PAGE.json]... [--request-id UUID]",
        .summary = "Resume a suspended, waiting or failed process",
        .help = "For a suspended input step, --input gives the answers to its form (one per "
                "page);\nwhen more pages are needed the next one is printed and the exit code "
                "is 4.",
        .min_args = 1,
        .max_args = 1,
        .opts = {{"input", "PAGE.json...", "Answers to one form page (repeat for more pages)"},
                 REQUEST_ID_OPT},
        .handler = cli_cmd_process_resume,
    },
    {
        .noun = "process",
        .verb = "retry",
        .usage = "ID [--branch NAME]... [--request-id UUID]",
        .summary = "Retry a failed process from its failed step",
        .min_args = 1,
        .max_args = 1,
        .opts = {{"branch", "NAME...", "Parallel steps: retry only this failed branch (repeat)"},
                 REQUEST_ID_OPT},
        .handler = cli_cmd_process_retry,
    },
    {
        .noun = "process",
        .verb = "abort",
        .usage = "ID [--reason TEXT] [--request-id UUID]",
        .summary = "Abort an unfinished process",
        .min_args = 1,
        .max_args = 1,
        .opts = {{"reason", "TEXT", "Why, for the audit log"}, REQUEST_ID_OPT},
        .handler = cli_cmd_process_abort,
    },
    {
        .noun = "process",
        .verb = "delete",
        .usage = "ID [--request-id UUID]",
        .summary = "Delete a finished task process and its audit log (admin)",
        .min_args = 1,
        .max_args = 1,
        .opts = {REQUEST_ID_OPT},
        .handler = cli_cmd_process_delete,
    },
    {
        .noun = "process",
        .verb = "note",
        .usage = "ID TEXT [--request-id UUID]",
        .summary = "Replace a process's operator note (\"\" clears it)",
        .min_args = 2,
        .max_args = 2,
        .opts = {REQUEST_ID_OPT},
        .handler = cli_cmd_process_note,
    },
    {
        .noun = "process",
        .verb = "counts",
        .usage = "[--filter EXPR]",
        .summary = "Count processes per status, workflows and tasks apart",
        .opts = {{"filter", "EXPR", "The 'process list' filter"}},
        .handler = cli_cmd_process_counts,
    },
    {
        .noun = "process",
        .verb = "bulk-resume",
        .usage = "[--filter EXPR] [--request-id UUID]",
        .summary = "Resume every failed, waiting or api_unavailable task matching a filter",
        .help = "is_task = true is always added to the filter. Prints the tasks resumed and the "
                "ones\nthat could not be, with the reason.",
        .opts = {{"filter", "EXPR", "The 'process list' filter (default: every resumable task)"},
                 REQUEST_ID_OPT},
        .handler = cli_cmd_process_bulk_resume,
    },
    {
        .noun = "process",
        .verb = "watch",
        .usage = "[ID] [--after-sequence N] [--filter EXPR] [--after-cursor CURSOR]",
        .summary = "Follow a process live (or, without ID, every process matching --filter)",
        .help = "With an ID on a terminal: a live progress bar (steps done / total, current "
                "step,\nelapsed time) and a line per status change. Piped, or with --json: one "
                "JSON event\nper line. With an ID it exits when the process completes (exit 0) or "
                "is aborted\n(exit 1). Without an ID it runs until Ctrl-C or --timeout.",
        .max_args = 1,
        .opts = {{"after-sequence", "N", "With ID: replay every event after sequence N"},
                 {"filter", "EXPR",
                  "Without ID: status, workflow, target, is_task, "
                  "subscription_id, customer_id, product_id"},
                 {"after-cursor", "CURSOR", "Without ID: replay every event after this cursor"}},
        .handler = cli_cmd_process_watch,
    },
    {
        .noun = "process",
        .verb = "callback deliver",
        .usage = "ID CALLBACK_TOKEN [--result FILE.json] [--request-id UUID]",
        .summary = "Deliver an external system's result to a callback step",
        .help = "Authorised by the callback token alone (the one the step handed out). Prints "
                "the\nprocess status after the callback.",
        .min_args = 2,
        .max_args = 2,
        .opts = {{"result", "FILE.json", "The result (a JSON object; default {})"}, REQUEST_ID_OPT},
        .handler = cli_cmd_process_callback_deliver,
    },
    {
        .noun = "process",
        .verb = "callback progress",
        .usage = "ID CALLBACK_TOKEN MESSAGE [--progress FILE.json] [--request-id UUID]",
        .summary = "Report an external system's progress on a callback step",
        .min_args = 3,
        .max_args = 3,
        .opts = {{"progress", "FILE.json", "Structured progress (a JSON object)"}, REQUEST_ID_OPT},
        .handler = cli_cmd_process_callback_progress,
    },
    /* ---- workflow ---- */
    {
        .noun = "workflow",
        .verb = "list",
        .usage = LIST_USAGE,
        .summary = "List workflows and tasks",
        .help = "Prints a table NAME, TARGET, TASK, VERSION, PRODUCTS, DESCRIPTION.\n" LIST_HELP
                "\nFor example: --filter 'target = \"CREATE\" AND tag = \"NODE\"'",
        .opts = {LIST_OPTS("Workflows",
                           "name, description, target, is_task, product, product_id, tag")},
        .handler = cli_cmd_workflow_list,
    },
    {
        .noun = "workflow",
        .verb = "get",
        .usage = "NAME_OR_ID",
        .summary = "Show one workflow with every version and its steps",
        .min_args = 1,
        .max_args = 1,
        .handler = cli_cmd_workflow_get,
    },
    {
        .noun = "workflow",
        .verb = "graph",
        .usage = "NAME_OR_ID [--version N] [--dot | --svg FILE]",
        .summary = "Show the step graph of a workflow version",
        .help = "Prints the nodes and the edges; --dot prints a Graphviz digraph instead, in\n"
                "which the points where a process waits stand out: input steps (a person\n"
                "answers a form) are yellow parallelograms, callback steps (an external system\n"
                "calls back) blue hexagons; conditional steps are diamonds with their condition\n"
                "and a dashed edge for the skip; groups and parallel branches are boxed\n"
                "clusters. --svg FILE runs Graphviz `dot -Tsvg` (- for stdout; ORCH_DOT names\n"
                "another dot program); without Graphviz it says so and exits with 1.",
        .min_args = 1,
        .max_args = 1,
        .opts = {{"version", "N", "The version (default: the latest)"},
                 {"dot", NULL, "Print Graphviz dot"},
                 {"svg", "FILE", "Draw an SVG with Graphviz dot into FILE (- for stdout)"}},
        .handler = cli_cmd_workflow_graph,
    },
    {
        .noun = "workflow",
        .verb = "register",
        .usage = "FILE.json|FILE.yaml|-",
        .summary = "Register a workflow given as data (admin)",
        .help = "Sends the definition in FILE (JSON, or YAML when the name ends in .yaml or\n"
                ".yml; - reads JSON from stdin) to RegisterWorkflow and prints the version it\n"
                "got: the next one when the definition changed, the same one when it did not\n"
                "(\"unchanged\"). A mistake prints one line per field. See\n"
                "docs/WORKFLOWS-AS-DATA.md.",
        .min_args = 1,
        .max_args = 1,
        .handler = cli_cmd_workflow_register,
    },
    /* ---- generate ---- */
    {
        .noun = "generate",
        .verb = "product",
        .usage = "SPEC.json [--root DIR] [--dry-run]",
        .summary = "Write a product module (catalogue, four workflows, forms, test) from a design",
        .help = "Writes domain/products/NAME/catalog.c (regenerated while its first line says\n"
                "GENERATED), domain/products/NAME/workflows.c and tests/products/test_NAME_it.c\n"
                "(written only when absent: never overwritten), and db/migrations/NNNN_NAME.sql\n"
                "when the design has \"migration\". Talks to no server. docs/AUTHORING.md\n"
                "describes the design file.",
        .min_args = 1,
        .max_args = 1,
        .opts = {{"root", "DIR", "The repository to write into (default: .)"},
                 {"dry-run", NULL, "Only report what would be written"}},
        .handler = cli_cmd_generate_product,
    },
    /* ---- engine ---- */
    {
        .noun = "engine",
        .verb = "status",
        .usage = "",
        .summary = "Show the pause switch, running steps and replicas",
        .handler = cli_cmd_engine_status,
    },
    {
        .noun = "engine",
        .verb = "pause",
        .usage = "[--request-id UUID]",
        .summary = "Pause the engine on every replica (admin)",
        .help = "New starts and resumes are refused (UNAVAILABLE ENGINE_PAUSED); running "
                "processes stop\nbefore their next step. Prints the state (pausing or paused).",
        .opts = {REQUEST_ID_OPT},
        .handler = cli_cmd_engine_pause,
    },
    {
        .noun = "engine",
        .verb = "resume",
        .usage = "[--request-id UUID]",
        .summary = "Resume the engine on every replica (admin)",
        .opts = {REQUEST_ID_OPT},
        .handler = cli_cmd_engine_resume,
    },
    {
        .noun = "engine",
        .verb = "replicas",
        .usage = LIST_USAGE,
        .summary = "List the server replicas sharing the database",
        .help = "Prints a table ID, HOST, ADDRESS, STATE, WORKERS, RUNNING, HEARTBEAT, "
                "VERSION.\nWithout --filter: the replicas seen in the last 24 hours.\n" LIST_HELP,
        .opts = {LIST_OPTS("Replicas",
                           "state, hostname, build_version, heartbeat_time, start_time")},
        .handler = cli_cmd_engine_replicas,
    },
    {
        .noun = "engine",
        .verb = "audit",
        .usage = "[--method RPC] [--target ID] [--page-size N] [--page-token TOKEN] [--all]",
        .summary = "List the administrative actions, newest first (admin)",
        .help = "Prints a table ID, TIME, ACTOR, METHOD, TARGET: every call that needs the "
                "admin role\n(engine pause/resume, product updates, set-in-sync, schedules, "
                "process deletions),\nrecorded when it committed.\n" LIST_HELP,
        .opts = {{"method", "RPC", "Only this RPC's actions, e.g. UpdateProduct"},
                 {"target", "ID", "Only actions on this id"},
                 {"page-size", "N", "Actions per request (server default 50, max 500)"},
                 {"page-token", "TOKEN", "Start at this page (from a previous run)"},
                 {"all", NULL,
                  "Follow next_page_token to the end (the default without "
                  "--page-size)"}},
        .handler = cli_cmd_engine_audit,
    },
    /* ---- schedule ---- */
    {
        .noun = "schedule",
        .verb = "list",
        .usage = LIST_USAGE,
        .summary = "List schedules",
        .help =
            "Prints a table NAME, WORKFLOW, TRIGGER, ENABLED, NEXT RUN, LAST RUN, ID.\n" LIST_HELP,
        .opts = {LIST_OPTS("Schedules", "name, workflow_name, enabled, kind, next_run_time, "
                                        "last_run_time")},
        .handler = cli_cmd_schedule_list,
    },
    {
        .noun = "schedule",
        .verb = "create",
        .usage = "NAME WORKFLOW (--every DURATION | --cron EXPR | --at TIME) [--start TIME] "
                 "[--input FILE.json] [--disabled] [--request-id UUID]",
        .summary = "Create a schedule that starts a task (admin)",
        .help = "DURATION is seconds or a number with s, m, h or d (\"90s\", \"15m\", \"1d\"); "
                "TIME is\nRFC 3339 (\"2024-06-01T03:00:00Z\"); cron is five fields in UTC "
                "(\"0 3 * * *\").\nWORKFLOW is the task's name or id.",
        .min_args = 2,
        .max_args = 2,
        .opts = {TRIGGER_OPTS,
                 {"input", "FILE.json", "The task's initial state (a JSON object)"},
                 {"disabled", NULL, "Create it disabled"},
                 REQUEST_ID_OPT},
        .handler = cli_cmd_schedule_create,
    },
    {
        .noun = "schedule",
        .verb = "update",
        .usage = "ID --version N [--name NAME] [--workflow WORKFLOW] [--every DURATION | --cron "
                 "EXPR | --at TIME] [--start TIME] [--input FILE.json] [--enable | --disable] "
                 "[--request-id UUID]",
        .summary = "Change a schedule (admin)",
        .help = "Only the fields given change; a new trigger replaces the old one.",
        .min_args = 1,
        .max_args = 1,
        .opts = {{"version", "N", "Expected current version (required)"},
                 {"name", "NAME", "New name"},
                 {"workflow", "WORKFLOW", "New task to start (name or id)"},
                 TRIGGER_OPTS,
                 {"input", "FILE.json", "New initial state (a JSON object)"},
                 {"enable", NULL, "Enable it"},
                 {"disable", NULL, "Disable it"},
                 REQUEST_ID_OPT},
        .handler = cli_cmd_schedule_update,
    },
    {
        .noun = "schedule",
        .verb = "delete",
        .usage = "ID [--version N] [--request-id UUID]",
        .summary = "Delete a schedule (admin)",
        .min_args = 1,
        .max_args = 1,
        .opts = {{"version", "N", "Expected current version (default: do not check)"},
                 REQUEST_ID_OPT},
        .handler = cli_cmd_schedule_delete,
    },
    /* ---- health, help ---- */
    {
        .noun = "health",
        .usage = "[--service NAME]",
        .summary = "Check the server's health (grpc.health.v1)",
        .help = "Prints SERVING, NOT_SERVING, UNKNOWN or SERVICE_UNKNOWN. Exit code 0 only "
                "when\nSERVING; 5 when NOT_SERVING or unreachable.",
        .opts = {{"service", "NAME", "Service to ask about (default: the whole server)"}},
        .handler = cli_cmd_health,
    },
    {
        .noun = "help",
        .usage = "[NOUN [VERB]] [--markdown]",
        .summary = "Show help; --markdown prints the whole command reference",
        .help = "'orchctl help NOUN VERB' is 'orchctl NOUN VERB --help'. --markdown prints the "
                "reference\nof every command, generated from the same table as --help "
                "(docs/ORCHCTL.md has it).",
        .max_args = 3,
        .opts = {{"markdown", NULL, "Print the command reference as Markdown"}},
        .handler = cli_cmd_help,
    },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum {
    GOPT_SERVER,
    GOPT_TOKEN,
    GOPT_TLS_CA,
    GOPT_TLS_CERT,
    GOPT_TLS_KEY,
    GOPT_TIMEOUT,
    GOPT_JSON,
    GOPT_HELP,
    GOPT_COUNT
};

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
    [GOPT_TLS_CA] = {"tls-ca", "FILE", "ORCH_TLS_CA",
                     "Use TLS; verify the server with this PEM CA bundle"},
    [GOPT_TLS_CERT] = {"tls-cert", "FILE", "ORCH_CLIENT_TLS_CERT",
                       "Client certificate for mutual TLS (with --tls-key)"},
    [GOPT_TLS_KEY] = {"tls-key", "FILE", "ORCH_CLIENT_TLS_KEY", "Private key of --tls-cert"},
    [GOPT_TIMEOUT] = {"timeout", "SECONDS", NULL, "Deadline of each call (default 30)"},
    [GOPT_JSON] = {"json", NULL, NULL, "Print JSON instead of text"},
    [GOPT_HELP] = {"help", NULL, NULL, "Show help (also after a noun or a command)"},
};

/* ---- shared helpers declared in cmd.h ---- */

cli_channel_t *cli_ctx_channel(cli_ctx_t *ctx)
{
    if (!ctx->channel) {
        cli_channel_opts_t opts = {.token = ctx->token,
                                   .tls_ca_file = ctx->tls_ca,
                                   .tls_cert_file = ctx->tls_cert,
                                   .tls_key_file = ctx->tls_key};
        char why[256] = "";
        ctx->channel = cli_channel_new_ex(ctx->server, &opts, why, sizeof(why));
        if (!ctx->channel) {
            /* main checked the address is not empty: a TLS file is missing or bad. */
            cli_usage_error("%s", why[0] ? why : "cannot set up the channel");
            fflush(stdout);
            exit(CLI_EXIT_USAGE);
        }
    }
    return ctx->channel;
}

static int opt_index(const cli_args_t *args, const char *name)
{
    for (size_t i = 0; i < CLI_MAX_OPTS && args->opts[i].name; i++)
        if (strcmp(args->opts[i].name, name) == 0)
            return (int)i;
    return -1;
}

const char *cli_args_get(const cli_args_t *args, const char *name)
{
    int i = opt_index(args, name);
    orch_assert(i >= 0 && "option missing from the command table");
    return args->values[i];
}

const char *const *cli_args_list(const cli_args_t *args, const char *name, size_t *n)
{
    int i = opt_index(args, name);
    orch_assert(i >= 0 && "option missing from the command table");
    *n = args->nlists[i];
    return args->lists[i];
}

bool cli_args_has(const cli_args_t *args, const char *name)
{
    return opt_index(args, name) >= 0;
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
    case GRPC_STATUS_UNIMPLEMENTED:
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

int cli_report_call(const cli_status_t *st, const char *method)
{
    if (st->code != GRPC_STATUS_UNIMPLEMENTED)
        return cli_report_status(st);
    fprintf(stderr,
            "error: UNIMPLEMENTED: this server does not implement %s\n"
            "  (the server is older than this orchctl, or the feature has not landed yet)\n",
            *method == '/' ? method + 1 : method);
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

static char *opt_text(const char *name, const char *metavar)
{
    return orch_asprintf("--%s%s%s", name, metavar ? " " : "", metavar ? metavar : "");
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
        char *opt = opt_text(g->name, g->metavar);
        fprintf(out, "  %-*s  %s", (int)w, opt, g->help);
        if (g->env)
            fprintf(out, " [env %s]", g->env);
        fputc('\n', out);
        free(opt);
    }
}

static const char exit_codes_text[] =
    "Exit codes: 0 success, 1 other error, 2 usage error, 3 not found, 4 refused by the\n"
    "server (invalid argument, precondition, exists, aborted, permission, auth, range,\n"
    "not implemented), 5 unavailable (unreachable, deadline exceeded).\n";

static char *command_name(const cli_command_t *c)
{
    return orch_asprintf("%s%s%s", c->noun, c->verb ? " " : "", c->verb ? c->verb : "");
}

static void print_top_help(FILE *out)
{
    fputs("Usage: orchctl [GLOBAL OPTIONS] NOUN [VERB] [ARGS] [OPTIONS]\n\n"
          "orchctl talks to an orchestrator server over gRPC.\n\nCommands:\n",
          out);
    size_t w = 0;
    for (size_t i = 0; i < NELEM(commands); i++) {
        char *name = command_name(&commands[i]);
        if (strlen(name) > w)
            w = strlen(name);
        free(name);
    }
    for (size_t i = 0; i < NELEM(commands); i++) {
        char *name = command_name(&commands[i]);
        fprintf(out, "  %-*s  %s\n", (int)w, name, commands[i].summary);
        free(name);
    }
    fputc('\n', out);
    print_global_options(out);
    fputc('\n', out);
    fputs(exit_codes_text, out);
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

/* Usage, summary, help text and options of one command (no global options). */
static void print_command_body(FILE *out, const cli_command_t *c)
{
    char *name = command_name(c);
    fprintf(out, "Usage: orchctl %s%s%s\n\n%s.\n", name, *c->usage ? " " : "", c->usage,
            c->summary);
    free(name);
    if (c->help)
        fprintf(out, "\n%s\n", c->help);
    if (c->opts[0].name) {
        fputs("\nOptions:\n", out);
        size_t w = 0;
        for (size_t i = 0; i < CLI_MAX_OPTS && c->opts[i].name; i++) {
            char *o = opt_text(c->opts[i].name, c->opts[i].metavar);
            if (strlen(o) > w)
                w = strlen(o);
            free(o);
        }
        for (size_t i = 0; i < CLI_MAX_OPTS && c->opts[i].name; i++) {
            char *o = opt_text(c->opts[i].name, c->opts[i].metavar);
            fprintf(out, "  %-*s  %s\n", (int)w, o, c->opts[i].help);
            free(o);
        }
    }
}

static void print_command_help(FILE *out, const cli_command_t *c)
{
    print_command_body(out, c);
    fputs("\n", out);
    print_global_options(out);
}

/* The command reference as Markdown, between markers that docs/ORCHCTL.md keeps verbatim
 * (client/update_docs.cmake splices it in; an integration test compares). */
static void print_markdown(FILE *out)
{
    fputs("<!-- BEGIN GENERATED: orchctl help --markdown (from the command table in "
          "client/orchctl.c) -->\n"
          "## Command reference\n\n"
          "### Global options\n\n"
          "| Option | Environment | Meaning |\n"
          "|--------|-------------|---------|\n",
          out);
    for (size_t i = 0; i < GOPT_COUNT; i++) {
        const cli_global_opt_t *g = &global_opts[i];
        char *o = opt_text(g->name, g->metavar);
        fprintf(out, "| `%s` | %s%s%s | %s |\n", o, g->env ? "`" : "", g->env ? g->env : "",
                g->env ? "`" : "", g->help);
        free(o);
    }
    fputs("\n### Commands\n\n| Command | What it does |\n|---------|--------------|\n", out);
    for (size_t i = 0; i < NELEM(commands); i++) {
        char *name = command_name(&commands[i]);
        fprintf(out, "| [`orchctl %s`](#orchctl-", name);
        for (const char *p = name; *p; p++)
            fputc(*p == ' ' ? '-' : *p, out);
        fprintf(out, ") | %s |\n", commands[i].summary);
        free(name);
    }
    for (size_t i = 0; i < NELEM(commands); i++) {
        char *name = command_name(&commands[i]);
        fprintf(out, "\n### orchctl %s\n\n```text\n", name);
        print_command_body(out, &commands[i]);
        fputs("```\n", out);
        free(name);
    }
    fprintf(out, "\n### Exit codes\n\n```text\n%s```\n<!-- END GENERATED -->\n", exit_codes_text);
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

/* Whether verb is the first words of a longer verb of noun ("description" of
 * "description get"). */
static bool verb_prefix(const char *noun, const char *verb)
{
    size_t n = strlen(verb);
    for (size_t i = 0; i < NELEM(commands); i++) {
        const cli_command_t *c = &commands[i];
        if (strcmp(c->noun, noun) == 0 && c->verb && strncmp(c->verb, verb, n) == 0 &&
            c->verb[n] == ' ')
            return true;
    }
    return false;
}

/* orchctl help [NOUN [VERB...]] [--markdown] */
static int cli_cmd_help(cli_ctx_t *ctx, const cli_args_t *args)
{
    (void)ctx;
    if (cli_args_get(args, "markdown")) {
        print_markdown(stdout);
        return CLI_EXIT_OK;
    }
    if (args->npos == 0) {
        print_top_help(stdout);
        return CLI_EXIT_OK;
    }
    const cli_noun_t *n = find_noun(args->pos[0]);
    if (!n)
        return cli_usage_error("unknown command '%s'", args->pos[0]);
    if (args->npos == 1) {
        const cli_command_t *c = noun_has_verbs(n->name) ? NULL : find_command(n->name, NULL);
        if (c)
            print_command_help(stdout, c);
        else
            print_noun_help(stdout, n);
        return CLI_EXIT_OK;
    }
    char *verb = orch_strdup(args->pos[1]);
    for (size_t i = 2; i < args->npos; i++) {
        char *v = orch_asprintf("%s %s", verb, args->pos[i]);
        free(verb);
        verb = v;
    }
    const cli_command_t *c = find_command(n->name, verb);
    int err = CLI_EXIT_OK;
    if (c)
        print_command_help(stdout, c);
    else
        err = cli_usage_error("unknown verb '%s %s'", n->name, verb);
    free(verb);
    return err;
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

static bool is_repeat(const cli_opt_t *o)
{
    size_t n = o->metavar ? strlen(o->metavar) : 0;
    return n > 3 && strcmp(o->metavar + n - 3, "...") == 0;
}

/* The command line as parsed: noun, command, their arguments and options, and the first
 * usage error met (parsing goes on after one, so that --help still works; only the first
 * is printed). */
typedef struct cmdline {
    const char *gvals[GOPT_COUNT]; /* global options, borrowed from argv */
    const char **pos;              /* the command's positional arguments (owned array) */
    size_t npos;
    const cli_noun_t *noun;
    const cli_command_t *cmd;
    char *partial_verb; /* the first words of a verb of several words (owned) */
    cli_args_t args;    /* the command's options; args.lists owned */
    bool help, only_positional;
    int err;
} cmdline_t;

/* A positional: the noun, then the verb if the noun has verbs (word by word, for a verb of
 * several words), then the command's arguments. */
static void take_positional(cmdline_t *cl, const char *a)
{
    char *verb;

    if (!cl->noun) {
        cl->noun = find_noun(a);
        if (!cl->noun) {
            if (!cl->err)
                cl->err = cli_usage_error("unknown command '%s'", a);
            return;
        }
        if (!noun_has_verbs(cl->noun->name))
            cl->cmd = find_command(cl->noun->name, NULL);
        return;
    }
    if (cl->cmd) {
        cl->pos[cl->npos++] = a;
        return;
    }
    verb = cl->partial_verb ? orch_asprintf("%s %s", cl->partial_verb, a) : orch_strdup(a);
    free(cl->partial_verb);
    cl->partial_verb = NULL;
    cl->cmd = find_command(cl->noun->name, verb);
    if (cl->cmd) {
        free(verb);
    } else if (verb_prefix(cl->noun->name, verb)) {
        cl->partial_verb = verb;
    } else {
        if (!cl->err)
            cl->err = cli_usage_error("unknown verb '%s %s'", cl->noun->name, verb);
        free(verb);
    }
}

/* "--name" or "--name=value" (or "--name value"): a global option or one of the command
 * known so far. A repeat option ("VALUE...") keeps every value. Returns the index of the
 * last argument it used. */
static int take_option(cmdline_t *cl, int argc, char **argv, int i)
{
    const char *name = argv[i] + 2, *eq = strchr(name, '='), *metavar = NULL, **slot = NULL;
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    const cli_command_t *cmd = cl->cmd;
    int cmd_opt = -1;
    bool found = false;

    for (size_t g = 0; g < GOPT_COUNT && !found; g++)
        if (strlen(global_opts[g].name) == nlen && strncmp(global_opts[g].name, name, nlen) == 0) {
            found = true;
            metavar = global_opts[g].metavar;
            slot = &cl->gvals[g];
        }
    for (size_t o = 0; cmd && o < CLI_MAX_OPTS && cmd->opts[o].name && !found; o++)
        if (strlen(cmd->opts[o].name) == nlen && strncmp(cmd->opts[o].name, name, nlen) == 0) {
            found = true;
            metavar = cmd->opts[o].metavar;
            slot = &cl->args.values[o];
            cmd_opt = (int)o;
        }
    if (!found) {
        if (!cl->err)
            cl->err = cli_usage_error("unknown option '--%.*s'", (int)nlen, name);
        return i;
    }
    if (!metavar) {
        if (eq && !cl->err)
            cl->err = cli_usage_error("option '--%.*s' takes no value", (int)nlen, name);
        *slot = "";
    } else if (eq) {
        *slot = eq + 1;
    } else if (i + 1 < argc) {
        *slot = argv[++i];
    } else {
        if (!cl->err)
            cl->err = cli_usage_error("option '--%s' needs a value (%s)", name, metavar);
        return i;
    }
    if (metavar && cmd_opt >= 0 && is_repeat(&cmd->opts[cmd_opt])) {
        size_t n = cl->args.nlists[cmd_opt];
        cl->args.lists[cmd_opt] = orch_realloc(cl->args.lists[cmd_opt], (n + 1) * sizeof(char *));
        cl->args.lists[cmd_opt][n] = *slot;
        cl->args.nlists[cmd_opt] = n + 1;
    }
    return i;
}

static void parse_command_line(cmdline_t *cl, int argc, char **argv)
{
    memset(cl, 0, sizeof(*cl));
    cl->pos = orch_calloc((size_t)argc + 1, sizeof(*cl->pos));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cl->only_positional || a[0] != '-' || a[1] == '\0')
            take_positional(cl, a);
        else if (strcmp(a, "--") == 0)
            cl->only_positional = true;
        else if (strcmp(a, "-h") == 0)
            cl->help = true;
        else if (a[1] == '-')
            i = take_option(cl, argc, argv, i);
        else if (!cl->err)
            cl->err = cli_usage_error("unknown option '%s'", a); /* "-x" */
    }
    if (cl->gvals[GOPT_HELP])
        cl->help = true;
}

static void cmdline_cleanup(cmdline_t *cl)
{
    for (size_t i = 0; i < CLI_MAX_OPTS; i++)
        free(cl->args.lists[i]);
    free(cl->partial_verb);
    free(cl->pos);
}

/* --help: of the command, the noun or orchctl, whichever the line got to. */
static int print_help(const cmdline_t *cl)
{
    if (cl->cmd)
        print_command_help(stdout, cl->cmd);
    else if (cl->noun)
        print_noun_help(stdout, cl->noun);
    else
        print_top_help(stdout);
    return CLI_EXIT_OK;
}

/* After a usage error: where the usage of what was typed is. */
static void print_usage_hint(const cmdline_t *cl)
{
    if (cl->cmd) {
        char *cname = command_name(cl->cmd);
        fprintf(stderr, "Run 'orchctl %s --help' for usage.\n", cname);
        free(cname);
    } else if (cl->noun) {
        fprintf(stderr, "Run 'orchctl %s --help' for usage.\n", cl->noun->name);
    } else {
        fputs("Run 'orchctl --help' for usage.\n", stderr);
    }
}

/* 0 when the line names a whole command with as many arguments as it takes; otherwise
 * the usage exit code, after saying what is missing or wrong. */
static int check_command_line(const cmdline_t *cl)
{
    const cli_command_t *cmd = cl->cmd;
    int err;

    if (cl->err) {
        print_usage_hint(cl);
        return cl->err;
    }
    if (!cl->noun) {
        print_top_help(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!cmd) {
        if (cl->partial_verb)
            cli_usage_error("incomplete command '%s %s'", cl->noun->name, cl->partial_verb);
        print_noun_help(stderr, cl->noun);
        return CLI_EXIT_USAGE;
    }
    if (cl->npos >= cmd->min_args && cl->npos <= cmd->max_args)
        return 0;
    if (cl->npos < cmd->min_args) {
        char *cname = command_name(cmd);
        err = cli_usage_error("missing argument: orchctl %s %s", cname, cmd->usage);
        free(cname);
    } else {
        err = cli_usage_error("unexpected argument '%s'", cl->pos[cmd->max_args]);
    }
    print_usage_hint(cl);
    return err;
}

/* An option, else its environment variable; "" counts as not set. */
static const char *setting(const cmdline_t *cl, int opt, const char *env)
{
    const char *v = cl->gvals[opt] ? cl->gvals[opt] : getenv(env);
    return v && *v ? v : NULL;
}

/* Where and how to connect: server, token, TLS files, the calls' deadline, output. */
static int connection_settings(const cmdline_t *cl, cli_ctx_t *ctx)
{
    ctx->server = cl->gvals[GOPT_SERVER] ? cl->gvals[GOPT_SERVER] : getenv("ORCH_SERVER");
    if (!ctx->server || !*ctx->server)
        ctx->server = cl->gvals[GOPT_SERVER] ? "" : CLI_DEFAULT_SERVER;
    if (!*ctx->server)
        return cli_usage_error("--server wants an address such as " CLI_DEFAULT_SERVER);
    ctx->token = setting(cl, GOPT_TOKEN, "ORCH_TOKEN");
    ctx->tls_ca = setting(cl, GOPT_TLS_CA, "ORCH_TLS_CA");
    ctx->tls_cert = setting(cl, GOPT_TLS_CERT, "ORCH_CLIENT_TLS_CERT");
    ctx->tls_key = setting(cl, GOPT_TLS_KEY, "ORCH_CLIENT_TLS_KEY");
    if (!ctx->tls_cert != !ctx->tls_key)
        return cli_usage_error("--tls-cert and --tls-key go together");
    if (cl->gvals[GOPT_TIMEOUT]) {
        int err = parse_timeout(cl->gvals[GOPT_TIMEOUT], &ctx->timeout_ms);
        if (err)
            return err;
    }
    ctx->json = cl->gvals[GOPT_JSON] != NULL;
    return 0;
}

int main(int argc, char **argv)
{
    cmdline_t cl;
    cli_ctx_t ctx = {0};
    int err;

    parse_command_line(&cl, argc, argv);
    if (cl.help) {
        err = print_help(&cl);
        goto out;
    }
    err = check_command_line(&cl);
    if (!err)
        err = connection_settings(&cl, &ctx);
    if (!err) {
        cl.args.pos = cl.pos;
        cl.args.npos = cl.npos;
        cl.args.opts = cl.cmd->opts;
        err = cl.cmd->handler(&ctx, &cl.args);
    }
out:
    cli_channel_free(ctx.channel);
    cmdline_cleanup(&cl);
    if (fflush(stdout) != 0 && err == 0)
        err = CLI_EXIT_ERROR;
    return err;
}
