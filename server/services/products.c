/* orchestrator.v1.ProductService: decode -> domain catalogue -> encode. */
#include <stdlib.h>
#include <string.h>

#include "orchestrator/v1/products.pb-c.h"
#include "server/app.h"
#include "server/rpc/codec.h"
#include "server/services/services.h"

static Orchestrator__V1__ProductStatus status_to_pb(orch_product_status_t s)
{
    switch (s) {
    case ORCH_PRODUCT_ACTIVE:
        return ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_ACTIVE;
    case ORCH_PRODUCT_PRE_PRODUCTION:
        return ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_PRE_PRODUCTION;
    case ORCH_PRODUCT_PHASE_OUT:
        return ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_PHASE_OUT;
    case ORCH_PRODUCT_END_OF_LIFE:
        return ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_END_OF_LIFE;
    default:
        return ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_UNSPECIFIED;
    }
}

/* The domain enums are declared in the same order as the proto enums. */
static Orchestrator__V1__FieldType field_type_to_pb(orch_field_type_t t)
{
    return (Orchestrator__V1__FieldType)t;
}

static Orchestrator__V1__WorkflowTarget target_to_pb(orch_workflow_target_t t)
{
    return (Orchestrator__V1__WorkflowTarget)t;
}

#define NEW(arena, T) ((T *)orch_arena_alloc((arena), sizeof(T)))
#define NEWV(arena, T, n) ((T **)orch_arena_alloc((arena), ((n) ? (n) : 1) * sizeof(T *)))

static char *s(orch_arena_t *a, const char *str)
{
    return orch_arena_strdup(a, str);
}

static Orchestrator__V1__ProductBlock *block_to_pb(orch_arena_t *a, const orch_block_t *b)
{
    Orchestrator__V1__ProductBlock *pb = NEW(a, Orchestrator__V1__ProductBlock);
    orchestrator__v1__product_block__init(pb);
    const orch_block_def_t *d = b->def;

    pb->product_block_id = s(a, b->id);
    pb->name = s(a, d->name);
    pb->description = s(a, d->description);
    pb->tag = s(a, d->tag);
    pb->status = status_to_pb(b->status);
    pb->create_time = srv_codec_timestamp(a, b->create_time_us);
    pb->n_fields = b->nfields;
    pb->fields = NEWV(a, Orchestrator__V1__ProductBlockField, b->nfields);
    for (size_t i = 0; i < b->nfields; i++) {
        const orch_field_def_t *f = &d->fields[i];
        Orchestrator__V1__ProductBlockField *pf = NEW(a, Orchestrator__V1__ProductBlockField);
        orchestrator__v1__product_block_field__init(pf);
        size_t nc = 0;
        pf->name = s(a, f->name);
        pf->type = field_type_to_pb(f->type);
        pf->required = f->required;
        pf->is_list = f->is_list;
        pf->description = s(a, f->description);
        while (f->choices && f->choices[nc])
            nc++;
        pf->n_choices = nc;
        pf->choices = orch_arena_alloc(a, (nc ? nc : 1) * sizeof(char *));
        for (size_t j = 0; j < nc; j++)
            pf->choices[j] = s(a, f->choices[j]);
        pb->fields[i] = pf;
    }
    pb->n_children = b->nchildren;
    pb->children = NEWV(a, Orchestrator__V1__ProductBlockChild, b->nchildren);
    for (size_t i = 0; i < b->nchildren; i++) {
        const orch_child_def_t *c = &d->children[i];
        Orchestrator__V1__ProductBlockChild *pc = NEW(a, Orchestrator__V1__ProductBlockChild);
        orchestrator__v1__product_block_child__init(pc);
        pc->name = s(a, c->name);
        pc->product_block = s(a, c->block);
        pc->min_count = c->min_count;
        pc->max_count = c->max_count;
        pc->foreign = c->foreign;
        pb->children[i] = pc;
    }
    return pb;
}

static Orchestrator__V1__Product *product_to_pb(orch_arena_t *a, const orch_catalog_t *cat,
                                                const orch_product_t *p)
{
    Orchestrator__V1__Product *pb = NEW(a, Orchestrator__V1__Product);
    orchestrator__v1__product__init(pb);
    const orch_product_def_t *d = p->def;

    pb->product_id = s(a, p->id);
    pb->name = s(a, d->name);
    pb->description = s(a, d->description);
    pb->product_type = s(a, d->product_type);
    pb->tag = s(a, d->tag);
    pb->status = status_to_pb(orch_catalog_product_status(cat, p));
    pb->root_product_block = s(a, p->root->def->name);
    pb->create_time = srv_codec_timestamp(a, p->create_time_us);
    pb->end_time = srv_codec_timestamp(a, p->end_time_us);
    pb->n_fixed_inputs = p->nfixed;
    pb->fixed_inputs = NEWV(a, Orchestrator__V1__FixedInput, p->nfixed);
    for (size_t i = 0; i < p->nfixed; i++) {
        Orchestrator__V1__FixedInput *fi = NEW(a, Orchestrator__V1__FixedInput);
        orchestrator__v1__fixed_input__init(fi);
        fi->name = s(a, d->fixed_inputs[i].name);
        fi->value = s(a, d->fixed_inputs[i].value);
        pb->fixed_inputs[i] = fi;
    }
    pb->n_product_blocks = p->nblocks;
    pb->product_blocks = NEWV(a, Orchestrator__V1__ProductBlock, p->nblocks);
    for (size_t i = 0; i < p->nblocks; i++)
        pb->product_blocks[i] = block_to_pb(a, p->blocks[i]);
    pb->n_workflows = p->nworkflows;
    pb->workflows = NEWV(a, Orchestrator__V1__ProductWorkflow, p->nworkflows);
    for (size_t i = 0; i < p->nworkflows; i++) {
        Orchestrator__V1__ProductWorkflow *w = NEW(a, Orchestrator__V1__ProductWorkflow);
        orchestrator__v1__product_workflow__init(w);
        w->name = s(a, d->workflows[i].name);
        w->target = target_to_pb(d->workflows[i].target);
        w->description = s(a, d->workflows[i].description);
        pb->workflows[i] = w;
    }
    return pb;
}

static orch_err_t list_products(srv_call_t *call, const ProtobufCMessage *reqm,
                                ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__ListProductsRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    orch_arena_t *a = srv_call_arena(call);
    Orchestrator__V1__ListProductsResponse *resp;
    const orch_product_t **page = NULL;
    size_t n = 0, total = 0;
    char *next = NULL;
    orch_err_t rc;

    rc = orch_catalog_list_products(app->catalog, req->filter, req->page_size, req->page_token,
                                    &page, &n, &total, &next, err);
    if (rc)
        goto out;
    resp = NEW(a, Orchestrator__V1__ListProductsResponse);
    orchestrator__v1__list_products_response__init(resp);
    resp->n_products = n;
    resp->products = NEWV(a, Orchestrator__V1__Product, n);
    for (size_t i = 0; i < n; i++)
        resp->products[i] = product_to_pb(a, app->catalog, page[i]);
    resp->next_page_token = s(a, next);
    resp->total_size = (int32_t)total;
    *respm = &resp->base;
out:
    free(page);
    free(next);
    return rc;
}

static orch_err_t get_product(srv_call_t *call, const ProtobufCMessage *reqm,
                              ProtobufCMessage **respm, orch_error_t *err)
{
    const Orchestrator__V1__GetProductRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    const orch_product_t *p = NULL;
    const char *id = NULL, *name = NULL;
    orch_err_t rc;

    if (req->key_case == ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_PRODUCT_ID)
        id = req->product_id;
    else if (req->key_case == ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_NAME)
        name = req->name;
    if (req->key_case == ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_PRODUCT_ID && (!id || !*id))
        return orch_error_invalid(err, "product_id", "an id is required");
    if (req->key_case == ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_NAME && (!name || !*name))
        return orch_error_invalid(err, "name", "a product name is required");
    rc = orch_catalog_get_product(app->catalog, id, name, "product_id", &p, err);
    if (rc)
        return rc;
    *respm = &product_to_pb(srv_call_arena(call), app->catalog, p)->base;
    return ORCH_OK;
}

const srv_method_t srv_product_methods[] = {
    {&orchestrator__v1__product_service__descriptor, "ListProducts", list_products, 0, NULL},
    {&orchestrator__v1__product_service__descriptor, "GetProduct", get_product, 0, NULL},
    {0},
};
