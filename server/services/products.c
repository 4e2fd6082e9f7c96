/* orchestrator.v1.ProductService: decode -> domain catalogue (reads) or the UpdateProduct use
 * case (domain/usecase/catalog.c) -> encode. */
#include <stdlib.h>
#include <string.h>

#include "orchestrator/v1/products.pb-c.h"
#include "server/app.h"
#include "server/rpc/codec.h"
#include "server/services/services.h"
#include "server/services/ucall.h"

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

static char *s(orch_arena_t *a, const char *str)
{
    return orch_arena_strdup(a, str);
}

static Orchestrator__V1__ProductBlock *block_to_pb(orch_arena_t *a, const orch_block_t *b)
{
    Orchestrator__V1__ProductBlock *pb = SRV_NEW(a, Orchestrator__V1__ProductBlock);
    orchestrator__v1__product_block__init(pb);
    const orch_block_def_t *d = b->def;

    pb->product_block_id = s(a, b->id);
    pb->name = s(a, d->name);
    pb->description = s(a, d->description);
    pb->tag = s(a, d->tag);
    pb->status = status_to_pb(b->status);
    pb->create_time = srv_codec_timestamp(a, b->create_time_us);
    pb->n_fields = b->nfields;
    pb->fields = SRV_NEWV(a, Orchestrator__V1__ProductBlockField, b->nfields);
    for (size_t i = 0; i < b->nfields; i++) {
        const orch_field_def_t *f = &d->fields[i];
        Orchestrator__V1__ProductBlockField *pf = SRV_NEW(a, Orchestrator__V1__ProductBlockField);
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
    pb->children = SRV_NEWV(a, Orchestrator__V1__ProductBlockChild, b->nchildren);
    for (size_t i = 0; i < b->nchildren; i++) {
        const orch_child_def_t *c = &d->children[i];
        Orchestrator__V1__ProductBlockChild *pc = SRV_NEW(a, Orchestrator__V1__ProductBlockChild);
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
    Orchestrator__V1__Product *pb = SRV_NEW(a, Orchestrator__V1__Product);
    orchestrator__v1__product__init(pb);
    const orch_product_def_t *d = p->def;

    orch_product_status_t status;
    char desc[2048];

    orch_catalog_product_attrs(cat, p, &status, desc, sizeof(desc));
    pb->product_id = s(a, p->id);
    pb->name = s(a, d->name);
    pb->description = s(a, desc);
    pb->product_type = s(a, d->product_type);
    pb->tag = s(a, d->tag);
    pb->status = status_to_pb(status);
    pb->root_product_block = s(a, p->root->def->name);
    pb->create_time = srv_codec_timestamp(a, p->create_time_us);
    pb->end_time = srv_codec_timestamp(a, p->end_time_us);
    pb->n_fixed_inputs = p->nfixed;
    pb->fixed_inputs = SRV_NEWV(a, Orchestrator__V1__FixedInput, p->nfixed);
    for (size_t i = 0; i < p->nfixed; i++) {
        Orchestrator__V1__FixedInput *fi = SRV_NEW(a, Orchestrator__V1__FixedInput);
        orchestrator__v1__fixed_input__init(fi);
        fi->name = s(a, d->fixed_inputs[i].name);
        fi->value = s(a, d->fixed_inputs[i].value);
        pb->fixed_inputs[i] = fi;
    }
    pb->n_product_blocks = p->nblocks;
    pb->product_blocks = SRV_NEWV(a, Orchestrator__V1__ProductBlock, p->nblocks);
    for (size_t i = 0; i < p->nblocks; i++)
        pb->product_blocks[i] = block_to_pb(a, p->blocks[i]);
    pb->n_workflows = p->nworkflows;
    pb->workflows = SRV_NEWV(a, Orchestrator__V1__ProductWorkflow, p->nworkflows);
    for (size_t i = 0; i < p->nworkflows; i++) {
        Orchestrator__V1__ProductWorkflow *w = SRV_NEW(a, Orchestrator__V1__ProductWorkflow);
        orchestrator__v1__product_workflow__init(w);
        w->name = s(a, d->workflows[i].name);
        w->target = target_to_pb(d->workflows[i].target);
        w->description = s(a, d->workflows[i].description);
        pb->workflows[i] = w;
    }
    return pb;
}

SRV_UNARY_HANDLER(get_product, Orchestrator__V1__GetProductRequest)
{
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

static orch_product_status_t status_from_pb(Orchestrator__V1__ProductStatus s)
{
    switch (s) {
    case ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_ACTIVE:
        return ORCH_PRODUCT_ACTIVE;
    case ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_PRE_PRODUCTION:
        return ORCH_PRODUCT_PRE_PRODUCTION;
    case ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_PHASE_OUT:
        return ORCH_PRODUCT_PHASE_OUT;
    case ORCHESTRATOR__V1__PRODUCT_STATUS__PRODUCT_STATUS_END_OF_LIFE:
        return ORCH_PRODUCT_END_OF_LIFE;
    default:
        return ORCH_PRODUCT_STATUS_UNSPECIFIED;
    }
}

/* The answer of UpdateProduct: the product as the catalogue shows it after the change. */
typedef struct product_answer {
    const orch_catalog_t *catalog;
    const orch_product_t *product;
} product_answer_t;

static ProtobufCMessage *product_pb(srv_call_t *call, void *res)
{
    const product_answer_t *up = res;
    return &product_to_pb(srv_call_arena(call), up->catalog, up->product)->base;
}

/* UpdateProduct: description and status through an update mask, idempotent with request_id,
 * refused at end of life while live subscriptions exist. */
SRV_UNARY_HANDLER(update_product, Orchestrator__V1__UpdateProductRequest)
{
    srv_app_t *app = srv_call_app(call);
    const orch_product_t *p = NULL;
    const char *description = NULL;
    orch_product_status_t status = ORCH_PRODUCT_STATUS_UNSPECIFIED;
    product_answer_t up;
    srv_ucall_t u;
    orch_err_t rc;

    if (!req->product)
        return orch_error_invalid(err, "product", "the product to change is required");
    if (!req->update_mask || req->update_mask->n_paths == 0)
        return orch_error_invalid(err, "update_mask",
                                  "name the fields to change: \"description\" and/or \"status\"");
    for (size_t i = 0; i < req->update_mask->n_paths; i++) {
        const char *path = req->update_mask->paths[i];
        if (strcmp(path, "description") == 0) {
            description = req->product->description;
        } else if (strcmp(path, "status") == 0) {
            status = status_from_pb(req->product->status);
            if (!status)
                return orch_error_invalid(err, "product.status",
                                          "give a status: active, pre production, phase out "
                                          "or end of life");
        } else {
            return orch_error_invalid(err, "update_mask",
                                      "'%.64s' cannot be changed; only \"description\" and "
                                      "\"status\" can",
                                      path);
        }
    }
    rc = orch_catalog_get_product(app->catalog, req->product->product_id, NULL,
                                  "product.product_id", &p, err);
    if (rc)
        return rc;
    up.catalog = app->catalog;
    up.product = p;
    srv_ucall_init(&u, call, reqm, req->request_id, product_pb, &up);
    rc = orch_uc_product_update(&u.uc, &u.caller, p, description, status, err);
    return srv_ucall_end(&u, rc, respm, err);
}

SRV_UNARY_HANDLER(get_product_block, Orchestrator__V1__GetProductBlockRequest)
{
    srv_app_t *app = srv_call_app(call);
    const orch_block_t *b = NULL;
    const char *id = NULL, *name = NULL;
    orch_err_t rc;

    if (req->key_case == ORCHESTRATOR__V1__GET_PRODUCT_BLOCK_REQUEST__KEY_PRODUCT_BLOCK_ID)
        id = req->product_block_id && *req->product_block_id ? req->product_block_id : "";
    else if (req->key_case == ORCHESTRATOR__V1__GET_PRODUCT_BLOCK_REQUEST__KEY_NAME)
        name = req->name;
    if (id && !*id)
        return orch_error_invalid(err, "product_block_id", "an id is required");
    rc = orch_catalog_get_block(app->catalog, id, name, "product_block_id", &b, err);
    if (rc)
        return rc;
    *respm = &block_to_pb(srv_call_arena(call), b)->base;
    return ORCH_OK;
}

/* ---- the three catalogue lists ------------------------------------------------------- */

/* Which catalogue list a handler pages through. */
typedef enum list_kind { LIST_PRODUCTS, LIST_BLOCKS, LIST_RESOURCE_TYPES } list_kind_t;

static ProtobufCMessage *product_item(orch_arena_t *a, const orch_catalog_t *cat, const void *item)
{
    return &product_to_pb(a, cat, item)->base;
}

static ProtobufCMessage *block_item(orch_arena_t *a, const orch_catalog_t *cat, const void *item)
{
    (void)cat;
    return &block_to_pb(a, item)->base;
}

static ProtobufCMessage *resource_type_item(orch_arena_t *a, const orch_catalog_t *cat,
                                            const void *item)
{
    const orch_resource_type_t *t = item;
    Orchestrator__V1__ResourceType *r = SRV_NEW(a, Orchestrator__V1__ResourceType);
    (void)cat;
    orchestrator__v1__resource_type__init(r);
    r->resource_type_id = s(a, t->id);
    r->resource_type = s(a, t->name);
    r->description = s(a, t->description);
    return &r->base;
}

/* What every List* handler of this service does: page through the catalogue list kind with
 * the request's filter, page size and token, and answer a resp_desc message whose repeated
 * field items holds each item as a message (srv_codec_list_response). */
static orch_err_t list_page(srv_call_t *call, list_kind_t kind, const char *filter,
                            int32_t page_size, const char *page_token,
                            const ProtobufCMessageDescriptor *resp_desc, const char *items,
                            ProtobufCMessage **respm, orch_error_t *err)
{
    srv_app_t *app = srv_call_app(call);
    orch_arena_t *a = srv_call_arena(call);
    const void **page = NULL; /* the catalogue's items, borrowed; the array is ours */
    size_t n = 0, total = 0;
    char *next = NULL;
    ProtobufCMessage *(*to_pb)(orch_arena_t *, const orch_catalog_t *, const void *);
    ProtobufCMessage **arr;
    orch_err_t rc;

    switch (kind) {
    case LIST_PRODUCTS:
        to_pb = product_item;
        rc = orch_catalog_list_products(app->catalog, filter, page_size, page_token,
                                        (const orch_product_t ***)&page, &n, &total, &next, err);
        break;
    case LIST_BLOCKS:
        to_pb = block_item;
        rc = orch_catalog_list_blocks(app->catalog, filter, page_size, page_token,
                                      (const orch_block_t ***)&page, &n, &total, &next, err);
        break;
    default:
        to_pb = resource_type_item;
        rc = orch_catalog_list_resource_types(app->catalog, filter, page_size, page_token,
                                              (const orch_resource_type_t ***)&page, &n, &total,
                                              &next, err);
        break;
    }
    if (rc)
        goto out;
    arr = SRV_NEWV(a, ProtobufCMessage, n);
    for (size_t i = 0; i < n; i++)
        arr[i] = to_pb(a, app->catalog, page[i]);
    *respm = srv_codec_list_response(a, resp_desc, items, arr, n, next, (int32_t)total);
out:
    free(page);
    free(next);
    return rc;
}

SRV_UNARY_HANDLER(list_products, Orchestrator__V1__ListProductsRequest)
{
    return list_page(call, LIST_PRODUCTS, req->filter, req->page_size, req->page_token,
                     &orchestrator__v1__list_products_response__descriptor, "products", respm, err);
}

SRV_UNARY_HANDLER(list_product_blocks, Orchestrator__V1__ListProductBlocksRequest)
{
    return list_page(call, LIST_BLOCKS, req->filter, req->page_size, req->page_token,
                     &orchestrator__v1__list_product_blocks_response__descriptor, "product_blocks",
                     respm, err);
}

SRV_UNARY_HANDLER(list_resource_types, Orchestrator__V1__ListResourceTypesRequest)
{
    return list_page(call, LIST_RESOURCE_TYPES, req->filter, req->page_size, req->page_token,
                     &orchestrator__v1__list_resource_types_response__descriptor, "resource_types",
                     respm, err);
}

const srv_method_t srv_product_methods[] = {
    {&orchestrator__v1__product_service__descriptor, "ListProducts", list_products, SRV_ROLE_READER,
     NULL},
    {&orchestrator__v1__product_service__descriptor, "GetProduct", get_product, SRV_ROLE_READER,
     NULL},
    {&orchestrator__v1__product_service__descriptor, "UpdateProduct", update_product,
     SRV_ROLE_ADMIN, NULL},
    {&orchestrator__v1__product_service__descriptor, "ListProductBlocks", list_product_blocks,
     SRV_ROLE_READER, NULL},
    {&orchestrator__v1__product_service__descriptor, "GetProductBlock", get_product_block,
     SRV_ROLE_READER, NULL},
    {&orchestrator__v1__product_service__descriptor, "ListResourceTypes", list_resource_types,
     SRV_ROLE_READER, NULL},
    {0},
};
