/* orchctl workflow list / get / graph / register: orchestrator.v1.WorkflowService. */
#include "cmd.h"
#include "output.h"

#include <jansson.h>
#include <yaml.h>

#include "base/alloc.h"
#include "orchestrator/v1/workflows.pb-c.h"

#include <errno.h>
#include <protobuf-c/protobuf-c.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define SVC "/orchestrator.v1.WorkflowService/"

typedef Orchestrator__V1__Workflow workflow_t;

static const char *wenum(const ProtobufCEnumDescriptor *d, int v, char *buf, size_t size)
{
    return cli_enum_name(d, v, buf, size);
}

static const char *const workflow_list_headers[] = {"NAME",    "TARGET",   "TASK",
                                                    "VERSION", "PRODUCTS", "DESCRIPTION"};

/* A row of the workflow list table. */
static void workflow_list_row(cli_table_t *t, const ProtobufCMessage *item)
{
    const workflow_t *w = (const workflow_t *)item;
    char target[64], version[24];
    snprintf(version, sizeof(version), "%d", w->latest_version);
    /* At most two names, so that the table stays readable. */
    char *products = orch_strdup("");
    for (size_t k = 0; k < w->n_products && k < 2; k++) {
        char *p = orch_asprintf("%s%s%s", products, k ? ", " : "", w->products[k]->name);
        free(products);
        products = p;
    }
    if (w->n_products > 2) {
        char *p = orch_asprintf("%s, +%zu", products, w->n_products - 2);
        free(products);
        products = p;
    }
    const char *row[] = {
        w->name,
        wenum(&orchestrator__v1__workflow_target__descriptor, w->target, target, sizeof(target)),
        w->is_task ? "yes" : "no",
        version,
        products,
        w->description};
    cli_table_add_row(t, row);
    free(products);
}

int cli_cmd_workflow_list(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__ListWorkflowsRequest req = ORCHESTRATOR__V1__LIST_WORKFLOWS_REQUEST__INIT;
    return cli_list_run(ctx, args, &req.base, SVC "ListWorkflows",
                        &orchestrator__v1__list_workflows_response__descriptor, "workflows", 6,
                        workflow_list_headers, workflow_list_row);
}

static void print_steps(Orchestrator__V1__WorkflowStep *const *steps, size_t n, int indent)
{
    for (size_t i = 0; i < n; i++) {
        const Orchestrator__V1__WorkflowStep *s = steps[i];
        char kind[64];
        printf("%*s%-*s  %-11s  %s", indent, "", 28 - indent > 0 ? 28 - indent : 1, s->key,
               wenum(&orchestrator__v1__step_kind__descriptor, s->kind, kind, sizeof(kind)),
               s->name);
        if (*s->condition)
            printf("  [if %s]", s->condition);
        if (*s->required_role)
            printf("  [role %s]", s->required_role);
        fputc('\n', stdout);
        print_steps(s->steps, s->n_steps, indent + 2);
        for (size_t b = 0; b < s->n_branches; b++) {
            printf("%*sbranch %s:\n", indent + 2, "", s->branches[b]->name);
            print_steps(s->branches[b]->steps, s->branches[b]->n_steps, indent + 4);
        }
    }
}

static void print_workflow(const ProtobufCMessage *m)
{
    const workflow_t *w = (const workflow_t *)m;
    char target[64], created[64];
    printf("Name:         %s\nID:           %s\nDescription:  %s\nTarget:       %s%s\n"
           "Latest:       version %d\nCreated:      %s\n",
           w->name, w->workflow_id, w->description,
           wenum(&orchestrator__v1__workflow_target__descriptor, w->target, target, sizeof(target)),
           w->is_task ? " (task)" : "", w->latest_version,
           cli_ts(w->create_time, created, sizeof(created)));
    if (w->n_products) {
        printf("Products:    ");
        for (size_t i = 0; i < w->n_products; i++)
            printf("%s %s", i ? "," : "", w->products[i]->name);
        fputc('\n', stdout);
    }
    for (size_t v = 0; v < w->n_versions; v++) {
        const Orchestrator__V1__WorkflowVersion *ver = w->versions[v];
        char c[64];
        printf("\nVersion %d (registered %s, %d replica(s) can run it):\n", ver->version,
               cli_ts(ver->create_time, c, sizeof(c)), ver->replica_count);
        print_steps(ver->steps, ver->n_steps, 2);
    }
}

int cli_cmd_workflow_get(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__GetWorkflowRequest req = ORCHESTRATOR__V1__GET_WORKFLOW_REQUEST__INIT;
    char id[37];
    CLI_SET_KEY(req, ORCHESTRATOR__V1__GET_WORKFLOW_REQUEST__KEY, WORKFLOW_ID, workflow_id,
                args->pos[0], id);
    return cli_call_print(ctx, SVC "GetWorkflow", &req.base,
                          &orchestrator__v1__workflow__descriptor, print_workflow);
}

static void print_graph(const ProtobufCMessage *m)
{
    const Orchestrator__V1__WorkflowGraph *g = (const Orchestrator__V1__WorkflowGraph *)m;
    if (g->workflow)
        printf("Workflow %s version %d\n\n", g->workflow->name, g->workflow->version);
    const char *nh[] = {"NODE", "KIND", "NAME", "PARENT", "BRANCH"};
    cli_table_t *t = cli_table_new(5, nh);
    for (size_t i = 0; i < g->n_nodes; i++) {
        const Orchestrator__V1__WorkflowGraphNode *n = g->nodes[i];
        char kind[64];
        const char *row[] = {
            n->node_id,
            wenum(&orchestrator__v1__step_kind__descriptor, n->kind, kind, sizeof(kind)), n->name,
            n->parent_node_id, n->branch};
        cli_table_add_row(t, row);
    }
    cli_table_print(t, stdout, 0);
    cli_table_free(t);
    printf("\nEdges:\n");
    for (size_t i = 0; i < g->n_edges; i++) {
        const Orchestrator__V1__WorkflowGraphEdge *e = g->edges[i];
        printf("  %s -> %s%s%s%s\n", e->source_node_id, e->target_node_id, *e->label ? "  [" : "",
               e->label, *e->label ? "]" : "");
    }
}

/* ---- Graphviz ------------------------------------------------------------------------------ */

typedef Orchestrator__V1__WorkflowGraphNode gnode_t;
typedef Orchestrator__V1__WorkflowGraphEdge gedge_t;

/* A dot string: quoted, with quotes and backslashes escaped; "\n" stays a dot line break. */
static void dot_str(FILE *f, const char *s, bool keep_newlines)
{
    fputc('"', f);
    for (; *s; s++) {
        if (keep_newlines && s[0] == '\\' && s[1] == 'n') {
            fputs("\\n", f);
            s++;
            continue;
        }
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*s, f);
    }
    fputc('"', f);
}

static const gnode_t *graph_node(const Orchestrator__V1__WorkflowGraph *g, const char *id)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i]->node_id, id) == 0)
            return g->nodes[i];
    return NULL;
}

/* The condition of each conditional step, by key, from GetWorkflow (the graph does not
 * carry it). Best effort: without it the diamond shows no condition. */
static const char *step_condition(Orchestrator__V1__WorkflowStep *const *steps, size_t n,
                                  const char *key)
{
    for (size_t i = 0; i < n; i++) {
        const char *c;
        if (strcmp(steps[i]->key, key) == 0)
            return steps[i]->condition;
        if ((c = step_condition(steps[i]->steps, steps[i]->n_steps, key)))
            return c;
        for (size_t b = 0; b < steps[i]->n_branches; b++)
            if ((c = step_condition(steps[i]->branches[b]->steps, steps[i]->branches[b]->n_steps,
                                    key)))
                return c;
    }
    return NULL;
}

/* How a step kind looks: the points where a process stops and waits for someone (INPUT: a
 * person answers a form; CALLBACK: an external system calls back) stand out by shape and
 * colour, as do decisions (CONDITIONAL), parallel branches and the ends. */
static void dot_node(FILE *f, const gnode_t *n, const char *condition)
{
    const char *attrs = "shape=box, style=rounded", *what = NULL;
    char *label;
    switch (n->kind) {
    case ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_RETRY:
        attrs = "shape=box, style=rounded, peripheries=2";
        what = "retry step: waits and retries on error";
        break;
    case ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_CONDITIONAL:
        attrs = "shape=diamond";
        what = "conditional";
        break;
    case ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_GROUP:
        attrs = "shape=tab";
        what = "group";
        break;
    case ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_INPUT:
        attrs = "shape=parallelogram, style=filled, fillcolor=\"#fff2a8\"";
        what = "INPUT: waits for a person to answer a form";
        break;
    case ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_CALLBACK:
        attrs = "shape=hexagon, style=filled, fillcolor=\"#cfe2ff\"";
        what = "CALLBACK: waits for an external system";
        break;
    case ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_PARALLEL:
        attrs = "shape=trapezium";
        what = "parallel: branches run at once, joined when all are done";
        break;
    case ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_DONE:
        attrs = "shape=doublecircle";
        break;
    case ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_ABORT:
        attrs = "shape=octagon, style=filled, fillcolor=\"#f8d7da\"";
        break;
    default:
        break;
    }
    if (condition && *condition)
        label = orch_asprintf("%s\n(%s)\nif %s", n->name, what, condition);
    else if (what)
        label = orch_asprintf("%s\n(%s)", n->name, what);
    else
        label = orch_asprintf("%s", n->name);
    fprintf(f, "    ");
    dot_str(f, n->node_id, false);
    fprintf(f, " [%s, label=", attrs);
    dot_str(f, label, false);
    fprintf(f, "];\n");
    free(label);
}

/* The cluster of a GROUP's children or of one branch of a PARALLEL step. */
static void dot_cluster(FILE *f, const Orchestrator__V1__WorkflowGraph *g, const gnode_t *parent,
                        const char *branch, Orchestrator__V1__WorkflowVersion *ver, int *ncluster)
{
    char *title =
        *branch ? orch_asprintf("branch %s", branch) : orch_asprintf("group %s", parent->name);
    fprintf(f, "  subgraph cluster_%d {\n    style=dashed; label=", (*ncluster)++);
    dot_str(f, title, false);
    fprintf(f, ";\n");
    free(title);
    for (size_t i = 0; i < g->n_nodes; i++) {
        const gnode_t *n = g->nodes[i];
        if (strcmp(n->parent_node_id, parent->node_id) == 0 && strcmp(n->branch, branch) == 0)
            dot_node(f, n, ver ? step_condition(ver->steps, ver->n_steps, n->node_id) : NULL);
    }
    fprintf(f, "  }\n");
}

/* The last child of a GROUP, for the edge that leaves it, or NULL. */
static const gnode_t *last_child(const Orchestrator__V1__WorkflowGraph *g, const gnode_t *n)
{
    const gnode_t *last = NULL;
    if (n->kind != ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_GROUP)
        return NULL;
    for (size_t i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i]->parent_node_id, n->node_id) == 0)
            last = g->nodes[i];
    return last;
}

static void dot_edge(FILE *f, const char *from, const char *to, const char *label,
                     const char *style)
{
    fprintf(f, "  ");
    dot_str(f, from, false);
    fprintf(f, " -> ");
    dot_str(f, to, false);
    if (*label || style) {
        fprintf(f, " [");
        if (*label) {
            fprintf(f, "label=");
            dot_str(f, label, false);
        }
        if (style)
            fprintf(f, "%s%s", *label ? ", " : "", style);
        fprintf(f, "]");
    }
    fprintf(f, ";\n");
}

/* The graph as a Graphviz digraph. ver (may be NULL) gives the conditions' text. */
static void print_dot(FILE *f, const Orchestrator__V1__WorkflowGraph *g,
                      Orchestrator__V1__WorkflowVersion *ver)
{
    int ncluster = 0;
    bool server_conditions = false;
    const char **from; /* per edge: where it is drawn from */
    fprintf(f, "digraph ");
    dot_str(f, g->workflow ? g->workflow->name : "workflow", false);
    fprintf(f, " {\n  rankdir=TB;\n  node [fontname=\"Helvetica\"];\n"
               "  edge [fontname=\"Helvetica\", fontsize=10];\n");
    if (g->workflow) {
        char *title = orch_asprintf("%s v%d", g->workflow->name, g->workflow->version);
        fprintf(f, "  labelloc=t; label=");
        dot_str(f, title, false);
        fprintf(f, ";\n");
        free(title);
    }
    /* Top-level steps, then each group's and branch's cluster. */
    for (size_t i = 0; i < g->n_nodes; i++)
        if (!*g->nodes[i]->parent_node_id)
            dot_node(f, g->nodes[i],
                     ver ? step_condition(ver->steps, ver->n_steps, g->nodes[i]->node_id) : NULL);
    for (size_t i = 0; i < g->n_nodes; i++) {
        const gnode_t *n = g->nodes[i];
        bool seen = false;
        if (!*n->parent_node_id)
            continue;
        /* One cluster per (parent, branch), at its first node. */
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(g->nodes[j]->parent_node_id, n->parent_node_id) == 0 &&
                   strcmp(g->nodes[j]->branch, n->branch) == 0;
        if (!seen && graph_node(g, n->parent_node_id))
            dot_cluster(f, g, graph_node(g, n->parent_node_id), n->branch, ver, &ncluster);
    }
    for (size_t i = 0; i < g->n_edges; i++)
        if (strncmp(g->edges[i]->label, "condition", 9) == 0)
            server_conditions = true;
    /* The edges as drawn: a group's successor follows its last child, not the group's
     * header. */
    from = orch_calloc(g->n_edges ? g->n_edges : 1, sizeof(*from));
    for (size_t i = 0; i < g->n_edges; i++) {
        const gedge_t *e = g->edges[i];
        const gnode_t *src = graph_node(g, e->source_node_id);
        const gnode_t *dst = graph_node(g, e->target_node_id);
        const gnode_t *last = src ? last_child(g, src) : NULL;
        from[i] = e->source_node_id;
        if (last && dst && strcmp(dst->parent_node_id, src->node_id) != 0)
            from[i] = last->node_id;
        dot_edge(f, from[i], e->target_node_id,
                 !server_conditions && !*e->label && dst &&
                         dst->kind == ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_CONDITIONAL
                     ? "condition true"
                     : e->label,
                 strcmp(e->label, "condition false") == 0 ? "style=dashed" : NULL);
    }
    /* A conditional step runs or is skipped: draw the skip (dashed) when the server did not,
     * from its predecessor to its successor. */
    for (size_t i = 0; i < g->n_edges && !server_conditions; i++) {
        const gnode_t *dst = graph_node(g, g->edges[i]->target_node_id);
        if (!dst || *g->edges[i]->label ||
            dst->kind != ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_CONDITIONAL)
            continue;
        for (size_t k = 0; k < g->n_edges; k++)
            if (strcmp(from[k], dst->node_id) == 0)
                dot_edge(f, from[i], g->edges[k]->target_node_id, "condition false: skipped",
                         "style=dashed");
    }
    free(from);
    fprintf(f, "}\n");
}

/* Runs `dot -Tsvg -o path` (ORCH_DOT overrides the program) and feeds it text. Returns an
 * exit code; the error is reported here. */
static int draw_svg(const char *text, size_t len, const char *path)
{
    const char *prog = getenv("ORCH_DOT");
    const char *argv[] = {prog && *prog ? prog : "dot", "-Tsvg", "-o", path, NULL};
    posix_spawn_file_actions_t fa;
    int fds[2], status = 0, rc;
    pid_t pid;
    size_t off = 0;

    if (strcmp(path, "-") == 0)
        argv[2] = NULL; /* to stdout */
    if (pipe(fds) != 0)
        return fprintf(stderr, "error: cannot draw the SVG: %s\n", strerror(errno)), CLI_EXIT_ERROR;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    if (rc != 0) {
        close(fds[1]);
        if (rc == ENOENT)
            fprintf(stderr,
                    "error: cannot draw the SVG: Graphviz is not installed ('%s' is not on "
                    "the PATH). Install it (Debian/Ubuntu: apt-get install graphviz), or print "
                    "the graph with --dot and draw it elsewhere.\n",
                    argv[0]);
        else
            fprintf(stderr, "error: cannot draw the SVG: cannot run '%s': %s\n", argv[0],
                    strerror(rc));
        return CLI_EXIT_ERROR;
    }
    /* dot may exit early (a bad output path): its stdin closing must not kill orchctl. */
    signal(SIGPIPE, SIG_IGN);
    while (off < len) {
        ssize_t w = write(fds[1], text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fds[1]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || off < len) {
        fprintf(stderr, "error: cannot draw the SVG: '%s' failed (exit status %d)%s\n", argv[0],
                WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                strcmp(path, "-") ? "; is the output path writable?" : "");
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

/* The conditions' text: GetWorkflow of the same key (best effort). Caller frees *resp. */
static Orchestrator__V1__WorkflowVersion *fetch_version(cli_ctx_t *ctx, const char *key,
                                                        int version, ProtobufCMessage **resp)
{
    Orchestrator__V1__GetWorkflowRequest req = ORCHESTRATOR__V1__GET_WORKFLOW_REQUEST__INIT;
    const workflow_t *w;
    cli_status_t st = {0};
    char id[37];
    int rc;
    *resp = NULL;
    CLI_SET_KEY(req, ORCHESTRATOR__V1__GET_WORKFLOW_REQUEST__KEY, WORKFLOW_ID, workflow_id, key,
                id);
    rc = cli_call_unary(cli_ctx_channel(ctx), SVC "GetWorkflow", &req.base,
                        &orchestrator__v1__workflow__descriptor, ctx->timeout_ms, resp, &st);
    cli_status_cleanup(&st); /* silent: the picture is drawn without the conditions' text */
    if (rc != 0 || !*resp)
        return NULL;
    w = (const workflow_t *)*resp;
    for (size_t i = 0; i < w->n_versions; i++)
        if (w->versions[i]->version == version)
            return w->versions[i];
    return NULL;
}

int cli_cmd_workflow_graph(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__GetWorkflowGraphRequest req =
        ORCHESTRATOR__V1__GET_WORKFLOW_GRAPH_REQUEST__INIT;
    const char *version = cli_args_get(args, "version");
    const char *svg = cli_args_get(args, "svg");
    ProtobufCMessage *resp = NULL, *wresp = NULL;
    char id[37];
    long long v = 0;
    int err;
    if (version && (err = cli_parse_int("--version", version, 1, 2147483647, &v)))
        return err;
    CLI_SET_KEY(req, ORCHESTRATOR__V1__GET_WORKFLOW_GRAPH_REQUEST__KEY, WORKFLOW_ID, workflow_id,
                args->pos[0], id);
    req.version = (int)v;
    if (svg && !*svg)
        return cli_usage_error("--svg needs a file name (or - for stdout)");
    err = cli_call(ctx, SVC "GetWorkflowGraph", &req.base,
                   &orchestrator__v1__workflow_graph__descriptor, &resp);
    if (!err && (svg || (cli_args_get(args, "dot") && !ctx->json))) {
        const Orchestrator__V1__WorkflowGraph *g = (const Orchestrator__V1__WorkflowGraph *)resp;
        Orchestrator__V1__WorkflowVersion *ver =
            fetch_version(ctx, args->pos[0], g->workflow ? g->workflow->version : 0, &wresp);
        if (svg) {
            char *text = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&text, &len);
            print_dot(f, g, ver);
            fclose(f);
            err = draw_svg(text, len, svg);
            free(text);
        } else {
            print_dot(stdout, g, ver);
        }
    } else if (!err) {
        err = cli_output(ctx, resp, print_graph);
    }
    cli_msg_free(resp);
    if (wresp)
        protobuf_c_message_free_unpacked(wresp, NULL);
    return err;
}

/* ---- register: a definition from JSON or YAML ---------------------------------------------- */

/* A YAML node as JSON: plain scalars are typed as YAML 1.2's core schema types them (null,
 * true/false, integers, reals), quoted ones stay strings. NULL on a structure JSON lacks. */
static json_t *yaml_node_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
    json_t *out = NULL;
    if (!n || depth > 64)
        return NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE: {
        const char *v = (const char *)n->data.scalar.value;
        char *end;
        if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
            return json_stringn(v, n->data.scalar.length);
        if (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0)
            return json_null();
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
            return json_boolean(strcmp(v, "true") == 0);
        errno = 0;
        long long i = strtoll(v, &end, 10);
        if (!*end && !errno)
            return json_integer(i);
        double d = strtod(v, &end);
        if (!*end && !errno)
            return json_real(d);
        return json_stringn(v, n->data.scalar.length);
    }
    case YAML_SEQUENCE_NODE:
        out = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            json_t *v = yaml_node_json(doc, yaml_document_get_node(doc, *it), depth + 1);
            if (!v) {
                json_decref(out);
                return NULL;
            }
            json_array_append_new(out, v);
        }
        return out;
    case YAML_MAPPING_NODE:
        out = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            json_t *v = yaml_node_json(doc, yaml_document_get_node(doc, p->value), depth + 1);
            if (!k || k->type != YAML_SCALAR_NODE || !v) {
                json_decref(v);
                json_decref(out);
                return NULL;
            }
            json_object_set_new(out, (const char *)k->data.scalar.value, v);
        }
        return out;
    default:
        return NULL;
    }
}

/* The YAML file path as JSON text (caller frees), or NULL after printing why. */
static char *yaml_file_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    yaml_parser_t parser;
    yaml_document_t doc;
    json_t *j = NULL;
    char *text = NULL;
    if (!f) {
        fprintf(stderr, "orchctl: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        fprintf(stderr, "orchctl: %s: line %zu: %s\n", path, parser.problem_mark.line + 1,
                parser.problem ? parser.problem : "not YAML");
    } else {
        j = yaml_node_json(&doc, yaml_document_get_root_node(&doc), 0);
        if (!json_is_object(j))
            fprintf(stderr, "orchctl: %s: a definition is a mapping (an object)\n", path);
        else
            text = json_dumps(j, JSON_COMPACT);
        yaml_document_delete(&doc);
    }
    json_decref(j);
    yaml_parser_delete(&parser);
    fclose(f);
    return text;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

static void print_registered(const ProtobufCMessage *m)
{
    const Orchestrator__V1__RegisterWorkflowResponse *r =
        (const Orchestrator__V1__RegisterWorkflowResponse *)m;
    printf("%s version %d %s\n", r->name, r->version,
           r->created ? "registered" : "unchanged (identical to the latest version)");
    if (r->replicas_pending > 0)
        printf("(%d live replica%s could not run it yet: %s load it when they can)\n",
               r->replicas_pending, r->replicas_pending == 1 ? "" : "s",
               r->replicas_pending == 1 ? "it will" : "they will");
}

int cli_cmd_workflow_register(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__RegisterWorkflowRequest req =
        ORCHESTRATOR__V1__REGISTER_WORKFLOW_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    const char *file = args->pos[0];
    char *yaml = NULL;
    int err;

    if (ends_with(file, ".yaml") || ends_with(file, ".yml")) {
        yaml = yaml_file_json(file);
        if (!yaml)
            return CLI_EXIT_USAGE;
    }
    /* JSON text starting with '{' is taken as it is (cli_read_struct). */
    err = cli_read_struct("FILE", yaml ? yaml : file, &req.definition);
    free(yaml);
    if (err)
        return err;
    err = cli_call(ctx, SVC "RegisterWorkflow", &req.base,
                   &orchestrator__v1__register_workflow_response__descriptor, &resp);
    if (!err)
        err = cli_output(ctx, resp, print_registered);
    cli_msg_free(resp);
    protobuf_c_message_free_unpacked(&req.definition->base, NULL);
    return err;
}
