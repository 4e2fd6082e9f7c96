/* orchctl workflow list / get / graph: orchestrator.v1.WorkflowService. */
#include "cmd.h"
#include "output.h"

#include "domain/alloc.h"
#include "orchestrator/v1/workflows.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define SVC "/orchestrator.v1.WorkflowService/"

typedef Orchestrator__V1__Workflow workflow_t;

static const char *wenum(const ProtobufCEnumDescriptor *d, int v, char *buf, size_t size)
{
    return cli_enum_name(d, v, buf, size);
}

int cli_cmd_workflow_list(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__ListWorkflowsRequest req = ORCHESTRATOR__V1__LIST_WORKFLOWS_REQUEST__INIT;
    cli_list_t l;
    int err =
        cli_list_fetch(ctx, args, SVC "ListWorkflows", &req.base,
                       &orchestrator__v1__list_workflows_response__descriptor, "workflows", &l);
    if (!err && ctx->json)
        err = cli_list_print_json(&l);
    else if (!err) {
        const char *h[] = {"NAME", "TARGET", "TASK", "VERSION", "PRODUCTS", "DESCRIPTION"};
        cli_table_t *t = cli_table_new(6, h);
        for (size_t i = 0; i < l.nitems; i++) {
            const workflow_t *w = (const workflow_t *)l.items[i];
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
            const char *row[] = {w->name,
                                 wenum(&orchestrator__v1__workflow_target__descriptor, w->target,
                                       target, sizeof(target)),
                                 w->is_task ? "yes" : "no",
                                 version,
                                 products,
                                 w->description};
            cli_table_add_row(t, row);
            free(products);
        }
        cli_table_print(t, stdout, 0);
        cli_table_free(t);
    }
    cli_list_free(&l);
    return err;
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

/* A workflow key argument: a UUID is an id, anything else a name. */
#define SET_KEY(req, prefix, arg, idbuf)                                                           \
    do {                                                                                           \
        if (cli_is_uuid(arg)) {                                                                    \
            (req).key_case = prefix##_WORKFLOW_ID;                                                 \
            (req).workflow_id = (char *)cli_id(arg, idbuf);                                        \
        } else {                                                                                   \
            (req).key_case = prefix##_NAME;                                                        \
            (req).name = (char *)(arg);                                                            \
        }                                                                                          \
    } while (0)

int cli_cmd_workflow_get(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__GetWorkflowRequest req = ORCHESTRATOR__V1__GET_WORKFLOW_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    char id[37];
    SET_KEY(req, ORCHESTRATOR__V1__GET_WORKFLOW_REQUEST__KEY, args->pos[0], id);
    int err =
        cli_call(ctx, SVC "GetWorkflow", &req.base, &orchestrator__v1__workflow__descriptor, &resp);
    if (!err)
        err = cli_output(ctx, resp, print_workflow);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return err;
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

/* A dot identifier: quoted, with quotes and backslashes escaped. */
static void dot_id(const char *s)
{
    fputc('"', stdout);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', stdout);
        fputc(*s, stdout);
    }
    fputc('"', stdout);
}

static void print_dot(const Orchestrator__V1__WorkflowGraph *g)
{
    printf("digraph ");
    dot_id(g->workflow ? g->workflow->name : "workflow");
    printf(" {\n  rankdir=TB;\n  node [shape=box];\n");
    for (size_t i = 0; i < g->n_nodes; i++) {
        char kind[64];
        const Orchestrator__V1__WorkflowGraphNode *n = g->nodes[i];
        char *label = orch_asprintf(
            "%s\\n(%s)", n->name,
            wenum(&orchestrator__v1__step_kind__descriptor, n->kind, kind, sizeof(kind)));
        printf("  ");
        dot_id(n->node_id);
        printf(" [label=\"");
        for (const char *p = label; *p; p++) {
            if (*p == '"')
                fputc('\\', stdout);
            fputc(*p, stdout);
        }
        printf("\"];\n");
        free(label);
    }
    for (size_t i = 0; i < g->n_edges; i++) {
        const Orchestrator__V1__WorkflowGraphEdge *e = g->edges[i];
        printf("  ");
        dot_id(e->source_node_id);
        printf(" -> ");
        dot_id(e->target_node_id);
        if (*e->label) {
            printf(" [label=");
            dot_id(e->label);
            printf("]");
        }
        printf(";\n");
    }
    printf("}\n");
}

int cli_cmd_workflow_graph(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__GetWorkflowGraphRequest req =
        ORCHESTRATOR__V1__GET_WORKFLOW_GRAPH_REQUEST__INIT;
    const char *version = cli_args_get(args, "version");
    ProtobufCMessage *resp = NULL;
    char id[37];
    long long v = 0;
    int err;
    if (version && (err = cli_parse_int("--version", version, 1, 2147483647, &v)))
        return err;
    SET_KEY(req, ORCHESTRATOR__V1__GET_WORKFLOW_GRAPH_REQUEST__KEY, args->pos[0], id);
    req.version = (int)v;
    err = cli_call(ctx, SVC "GetWorkflowGraph", &req.base,
                   &orchestrator__v1__workflow_graph__descriptor, &resp);
    if (!err && cli_args_get(args, "dot") && !ctx->json)
        print_dot((const Orchestrator__V1__WorkflowGraph *)resp);
    else if (!err)
        err = cli_output(ctx, resp, print_graph);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return err;
}
