/* orchestrator.v1.WorkflowService: the workflows and versions registered in the database,
 * their steps with keys and kinds, and the step graph of one version. */
#include <stdlib.h>
#include <string.h>

#include "domain/engine/engine.h"
#include "domain/ids.h"
#include "domain/page.h"
#include "orchestrator/v1/workflows.pb-c.h"
#include "server/app.h"
#include "server/rpc/codec.h"
#include "server/services/pbconv.h"
#include "server/services/services.h"
#include "server/services/ucall.h"

int srv_target_from_name(const char *name)
{
    static const char *const names[] = {"",         "CREATE",    "MODIFY", "TERMINATE",
                                        "VALIDATE", "RECONCILE", "SYSTEM"};
    for (int i = 1; name && i < 7; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return 0;
}

Orchestrator__V1__ProductRef *srv_product_ref_pb(orch_arena_t *a, const char *id, const char *name,
                                                 const char *product_type, const char *tag)
{
    Orchestrator__V1__ProductRef *r = SRV_NEW(a, Orchestrator__V1__ProductRef);
    orchestrator__v1__product_ref__init(r);
    r->product_id = orch_arena_strdup(a, id);
    r->name = orch_arena_strdup(a, name);
    r->product_type = orch_arena_strdup(a, product_type);
    r->tag = orch_arena_strdup(a, tag);
    return r;
}

static Orchestrator__V1__StepKind kind_from_name(const char *k)
{
    static const struct {
        const char *name;
        Orchestrator__V1__StepKind kind;
    } map[] = {
        {"step", ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_STEP},
        {"retry_step", ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_RETRY},
        {"conditional", ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_CONDITIONAL},
        {"step_group", ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_GROUP},
        {"input_step", ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_INPUT},
        {"callback_step", ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_CALLBACK},
        {"parallel", ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_PARALLEL},
        {"done", ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_DONE},
        {"abort", ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_ABORT},
    };
    for (size_t i = 0; k && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].name, k) == 0)
            return map[i].kind;
    return ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_UNSPECIFIED;
}

static Orchestrator__V1__WorkflowStep *step_pb(orch_arena_t *a, const json_t *s)
{
    Orchestrator__V1__WorkflowStep *ws = SRV_NEW(a, Orchestrator__V1__WorkflowStep);
    const json_t *children = json_object_get(s, "children");
    json_int_t timeout = json_integer_value(json_object_get(s, "timeout_ms"));
    orchestrator__v1__workflow_step__init(ws);
    ws->key = orch_arena_strdup(a, json_string_value(json_object_get(s, "key")));
    ws->name = orch_arena_strdup(a, json_string_value(json_object_get(s, "name")));
    ws->kind = kind_from_name(json_string_value(json_object_get(s, "kind")));
    ws->description = orch_arena_strdup(a, json_string_value(json_object_get(s, "description")));
    ws->condition = orch_arena_strdup(a, json_string_value(json_object_get(s, "condition")));
    ws->required_role =
        orch_arena_strdup(a, json_string_value(json_object_get(s, "required_role")));
    if (timeout > 0) {
        ws->timeout = SRV_NEW(a, Google__Protobuf__Duration);
        google__protobuf__duration__init(ws->timeout);
        ws->timeout->seconds = timeout / 1000;
        ws->timeout->nanos = (int32_t)(timeout % 1000) * 1000000;
    }
    ws->n_steps = json_array_size(children);
    ws->steps = SRV_NEWV(a, Orchestrator__V1__WorkflowStep, ws->n_steps);
    for (size_t i = 0; i < ws->n_steps; i++)
        ws->steps[i] = step_pb(a, json_array_get(children, i));
    {
        const json_t *branches = json_object_get(s, "branches"); /* parallel steps */
        ws->n_branches = json_array_size(branches);
        ws->branches = SRV_NEWV(a, Orchestrator__V1__WorkflowBranch, ws->n_branches);
        for (size_t i = 0; i < ws->n_branches; i++) {
            const json_t *b = json_array_get(branches, i);
            const json_t *steps = json_object_get(b, "steps");
            Orchestrator__V1__WorkflowBranch *wb = SRV_NEW(a, Orchestrator__V1__WorkflowBranch);
            orchestrator__v1__workflow_branch__init(wb);
            wb->name = orch_arena_strdup(a, json_string_value(json_object_get(b, "name")));
            wb->n_steps = json_array_size(steps);
            wb->steps = SRV_NEWV(a, Orchestrator__V1__WorkflowStep, wb->n_steps);
            for (size_t j = 0; j < wb->n_steps; j++)
                wb->steps[j] = step_pb(a, json_array_get(steps, j));
            ws->branches[i] = wb;
        }
    }
    return ws;
}

static Orchestrator__V1__Workflow *workflow_pb(srv_call_t *call, const orch_wf_info_t *w)
{
    orch_arena_t *a = srv_call_arena(call);
    srv_app_t *app = srv_call_app(call);
    const orch_workflow_t *reg = orch_registry_latest(app->registry, w->name);
    Orchestrator__V1__Workflow *pb = SRV_NEW(a, Orchestrator__V1__Workflow);
    orchestrator__v1__workflow__init(pb);
    pb->required_role =
        orch_arena_strdup(a, reg && reg->def->required_role ? reg->def->required_role : "");
    pb->workflow_id = orch_arena_strdup(a, w->id);
    pb->name = orch_arena_strdup(a, w->name);
    pb->description = orch_arena_strdup(a, w->description);
    pb->target = (Orchestrator__V1__WorkflowTarget)srv_target_from_name(w->target);
    pb->is_task = w->is_task;
    pb->latest_version = w->nversions ? w->versions[0].version : 0;
    pb->create_time = srv_codec_timestamp(a, w->create_us);
    pb->n_versions = w->nversions;
    pb->versions = SRV_NEWV(a, Orchestrator__V1__WorkflowVersion, w->nversions);
    for (size_t i = 0; i < w->nversions; i++) {
        Orchestrator__V1__WorkflowVersion *v = SRV_NEW(a, Orchestrator__V1__WorkflowVersion);
        json_t *steps = json_loads(w->versions[i].steps_json, 0, NULL);
        orchestrator__v1__workflow_version__init(v);
        v->version = w->versions[i].version;
        v->create_time = srv_codec_timestamp(a, w->versions[i].create_us);
        v->replica_count = w->versions[i].replica_count;
        v->n_steps = json_array_size(steps);
        v->steps = SRV_NEWV(a, Orchestrator__V1__WorkflowStep, v->n_steps);
        for (size_t j = 0; j < v->n_steps; j++)
            v->steps[j] = step_pb(a, json_array_get(steps, j));
        json_decref(steps);
        pb->versions[i] = v;
    }
    pb->n_products = w->nproducts;
    pb->products = SRV_NEWV(a, Orchestrator__V1__ProductRef, w->nproducts);
    for (size_t i = 0; i < w->nproducts; i++)
        pb->products[i] = srv_product_ref_pb(a, w->products[i].id, w->products[i].name,
                                             w->products[i].product_type, w->products[i].tag);
    return pb;
}

SRV_UNARY_HANDLER(list_workflows, Orchestrator__V1__ListWorkflowsRequest)
{
    orch_uc_t uc = srv_uc(call);
    orch_arena_t *a = srv_call_arena(call);
    ProtobufCMessage **pbs;
    orch_wf_info_t **items = NULL;
    size_t n = 0;
    long total = 0;
    char *next = NULL;
    int size;
    orch_err_t rc = orch_page_size(req->page_size, &size, err);
    if (rc)
        return rc;
    rc = orch_uc_workflow_list(&uc, srv_call_ctx(call), req->filter, size, req->page_token, &items,
                               &n, &total, &next, err);
    if (rc)
        return rc;
    pbs = SRV_NEWV(a, ProtobufCMessage, n);
    for (size_t i = 0; i < n; i++) {
        pbs[i] = &workflow_pb(call, items[i])->base;
        orch_wf_info_free(items[i]);
    }
    free(items);
    *respm = srv_codec_list_response(a, &orchestrator__v1__list_workflows_response__descriptor,
                                     "workflows", pbs, n, next, (int32_t)total);
    free(next);
    return ORCH_OK;
}

static orch_err_t load(srv_call_t *call, int key_case, const char *id, const char *name,
                       orch_wf_info_t **out, orch_error_t *err)
{
    orch_uc_t uc = srv_uc(call);
    if (key_case == 1) {
        orch_err_t rc;
        if (!id || !*id)
            return orch_error_invalid(err, "workflow_id", "a workflow id is required");
        rc = orch_uuid_check(id, "workflow_id", err);
        if (rc)
            return rc;
        return orch_uc_workflow_get(&uc, srv_call_ctx(call), id, NULL, out, err);
    }
    if (key_case != 2 || !name || !*name)
        return orch_error_invalid(err, "name", "give a workflow id or name");
    return orch_uc_workflow_get(&uc, srv_call_ctx(call), NULL, name, out, err);
}

SRV_UNARY_HANDLER(get_workflow, Orchestrator__V1__GetWorkflowRequest)
{
    orch_wf_info_t *w = NULL;
    orch_err_t rc = load(call, (int)req->key_case, req->workflow_id, req->name, &w, err);
    if (rc)
        return rc;
    *respm = &workflow_pb(call, w)->base;
    orch_wf_info_free(w);
    return ORCH_OK;
}

typedef struct graph {
    orch_arena_t *a;
    Orchestrator__V1__WorkflowGraphNode **nodes;
    Orchestrator__V1__WorkflowGraphEdge **edges;
    size_t nn, ne, cap;
} graph_t;

static void add_node(graph_t *g, const Orchestrator__V1__WorkflowStep *s, const char *parent,
                     const char *branch)
{
    Orchestrator__V1__WorkflowGraphNode *n = SRV_NEW(g->a, Orchestrator__V1__WorkflowGraphNode);
    orchestrator__v1__workflow_graph_node__init(n);
    n->node_id = s->key;
    n->name = s->name;
    n->kind = s->kind;
    n->parent_node_id = (char *)(parent ? parent : "");
    n->branch = (char *)(branch ? branch : "");
    if (g->nn < g->cap)
        g->nodes[g->nn++] = n;
}

static void add_edge(graph_t *g, const char *from, const char *to, const char *label)
{
    Orchestrator__V1__WorkflowGraphEdge *e = SRV_NEW(g->a, Orchestrator__V1__WorkflowGraphEdge);
    orchestrator__v1__workflow_graph_edge__init(e);
    e->source_node_id = (char *)from;
    e->target_node_id = (char *)to;
    e->label = (char *)label;
    if (g->ne < g->cap)
        g->edges[g->ne++] = e;
}

SRV_UNARY_HANDLER(get_graph, Orchestrator__V1__GetWorkflowGraphRequest)
{
    orch_arena_t *a = srv_call_arena(call);
    orch_wf_info_t *w = NULL;
    Orchestrator__V1__Workflow *wp;
    Orchestrator__V1__WorkflowVersion *v = NULL;
    Orchestrator__V1__WorkflowGraph *g;
    Orchestrator__V1__WorkflowRef *ref;
    graph_t gr = {.a = a};
    const char *prev = NULL;
    orch_err_t rc;

    if (req->version < 0)
        return orch_error_invalid(err, "version", "a version is 1 or more (0 = latest)");
    rc = load(call, (int)req->key_case, req->workflow_id, req->name, &w, err);
    if (rc)
        return rc;
    wp = workflow_pb(call, w);
    orch_wf_info_free(w);
    for (size_t i = 0; i < wp->n_versions && !v; i++)
        if (req->version == 0 || wp->versions[i]->version == req->version)
            v = wp->versions[i];
    if (!v)
        return orch_error_set(err, ORCH_NOT_FOUND, "WORKFLOW_VERSION_NOT_FOUND",
                              "workflow %s has no version %d", wp->name, req->version);
    gr.cap = 2;
    for (size_t i = 0; i < v->n_steps; i++) {
        gr.cap += 2 * (1 + v->steps[i]->n_steps) + 2;
        for (size_t b = 0; b < v->steps[i]->n_branches; b++)
            gr.cap += 2 * v->steps[i]->branches[b]->n_steps + 4;
    }
    gr.nodes = SRV_NEWV(a, Orchestrator__V1__WorkflowGraphNode, gr.cap);
    gr.edges = SRV_NEWV(a, Orchestrator__V1__WorkflowGraphEdge, gr.cap);
    for (size_t i = 0; i < v->n_steps; i++) {
        Orchestrator__V1__WorkflowStep *s = v->steps[i];
        Orchestrator__V1__WorkflowStep *ps = i ? v->steps[i - 1] : NULL;
        add_node(&gr, s, NULL, NULL);
        if (ps && ps->kind == ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_PARALLEL) {
            /* The join: from the last step of every branch of the parallel step before. */
            for (size_t b = 0; b < ps->n_branches; b++) {
                const Orchestrator__V1__WorkflowBranch *br = ps->branches[b];
                add_edge(&gr, br->n_steps ? br->steps[br->n_steps - 1]->key : ps->key, s->key,
                         "join");
            }
        } else if (prev) {
            add_edge(&gr, prev, s->key, "");
        }
        if (s->kind == ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_GROUP) {
            const char *cprev = s->key;
            for (size_t j = 0; j < s->n_steps; j++) {
                add_node(&gr, s->steps[j], s->key, NULL);
                add_edge(&gr, cprev, s->steps[j]->key, "");
                cprev = s->steps[j]->key;
            }
        }
        if (s->kind == ORCHESTRATOR__V1__STEP_KIND__STEP_KIND_PARALLEL) {
            for (size_t b = 0; b < s->n_branches; b++) {
                const Orchestrator__V1__WorkflowBranch *br = s->branches[b];
                const char *cprev = s->key;
                for (size_t j = 0; j < br->n_steps; j++) {
                    add_node(&gr, br->steps[j], s->key, br->name);
                    add_edge(&gr, cprev, br->steps[j]->key,
                             j == 0 ? orch_arena_printf(a, "branch %s", br->name) : "");
                    cprev = br->steps[j]->key;
                }
            }
        }
        prev = s->key;
    }
    g = SRV_NEW(a, Orchestrator__V1__WorkflowGraph);
    orchestrator__v1__workflow_graph__init(g);
    ref = SRV_NEW(a, Orchestrator__V1__WorkflowRef);
    orchestrator__v1__workflow_ref__init(ref);
    ref->workflow_id = wp->workflow_id;
    ref->name = wp->name;
    ref->version = v->version;
    ref->target = wp->target;
    ref->is_task = wp->is_task;
    g->workflow = ref;
    g->n_nodes = gr.nn;
    g->nodes = gr.nodes;
    g->n_edges = gr.ne;
    g->edges = gr.edges;
    *respm = &g->base;
    return ORCH_OK;
}

const srv_method_t srv_workflow_methods[] = {
    {&orchestrator__v1__workflow_service__descriptor, "ListWorkflows", list_workflows,
     SRV_ROLE_READER, NULL},
    {&orchestrator__v1__workflow_service__descriptor, "GetWorkflow", get_workflow, SRV_ROLE_READER,
     NULL},
    {&orchestrator__v1__workflow_service__descriptor, "GetWorkflowGraph", get_graph,
     SRV_ROLE_READER, NULL},
    {0},
};
