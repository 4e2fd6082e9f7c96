/* orchctl product list / get: calls to orchestrator.v1.ProductService printed as tables, a
 * detail view, or JSON. */
#include "cmd.h"
#include "output.h"

#include "base/alloc.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "orchestrator/v1/products.pb-c.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define LIST_METHOD "/orchestrator.v1.ProductService/ListProducts"
#define GET_METHOD "/orchestrator.v1.ProductService/GetProduct"

/* A server that keeps handing out page tokens must not keep us looping forever. */
#define LIST_MAX_PAGES 10000

typedef Orchestrator__V1__ListProductsResponse list_resp_t;
typedef Orchestrator__V1__Product product_t;

static const char *status_text(int v, char *buf, size_t size)
{
    return cli_enum_name(&orchestrator__v1__product_status__descriptor, v, buf, size);
}

/* ---- list ---- */

static void print_product_table(list_resp_t *const *pages, size_t npages)
{
    const char *headers[] = {"NAME", "TYPE", "TAG", "STATUS", "ID"};
    cli_table_t *t = cli_table_new(5, headers);
    for (size_t p = 0; p < npages; p++)
        for (size_t i = 0; i < pages[p]->n_products; i++) {
            const product_t *pr = pages[p]->products[i];
            char st[64];
            const char *row[] = {pr->name, pr->product_type, pr->tag,
                                 status_text(pr->status, st, sizeof(st)), pr->product_id};
            cli_table_add_row(t, row);
        }
    cli_table_print(t, stdout, 0);
    cli_table_free(t);
}

static int print_product_json_array(list_resp_t *const *pages, size_t npages)
{
    json_t *arr = json_array();
    for (size_t p = 0; p < npages; p++)
        for (size_t i = 0; i < pages[p]->n_products; i++)
            json_array_append_new(arr, cli_json_from_message(&pages[p]->products[i]->base));
    int rc = cli_json_print(arr, stdout);
    json_decref(arr);
    return rc ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

static int parse_page_size(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > INT_MAX)
        return cli_usage_error("--page-size wants a positive integer, not '%s'", s);
    *out = (int)v;
    return 0;
}

int cli_cmd_product_list(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__ListProductsRequest req = ORCHESTRATOR__V1__LIST_PRODUCTS_REQUEST__INIT;
    list_resp_t **pages = NULL;
    size_t npages = 0;
    cli_status_t st = {0};
    int err = 0;
    const char *page_size = cli_args_get(args, "page-size");
    const char *filter = cli_args_get(args, "filter");
    const char *token = cli_args_get(args, "page-token");
    /* Without --page-size the user wants the whole catalogue; with it, one page, unless
     * --all says otherwise. */
    bool follow = !page_size || cli_args_get(args, "all");

    if (page_size && (err = parse_page_size(page_size, &req.page_size)))
        goto out;
    if (filter)
        req.filter = (char *)filter;
    if (token)
        req.page_token = (char *)token;

    for (;;) {
        ProtobufCMessage *resp = NULL;
        if (npages == LIST_MAX_PAGES) {
            fprintf(stderr,
                    "error: stopped after %d pages: the server keeps sending "
                    "page tokens\n",
                    LIST_MAX_PAGES);
            err = CLI_EXIT_ERROR;
            goto out;
        }
        if (cli_call_unary(cli_ctx_channel(ctx), LIST_METHOD, &req.base,
                           &orchestrator__v1__list_products_response__descriptor, ctx->timeout_ms,
                           &resp, &st) != 0) {
            err = cli_report_status(&st);
            goto out;
        }
        cli_status_cleanup(&st);
        pages = orch_realloc(pages, (npages + 1) * sizeof(*pages));
        list_resp_t *page = (list_resp_t *)resp;
        pages[npages++] = page;
        const char *next = page->next_page_token;
        if (!next || !*next)
            break;
        if (!follow) {
            fprintf(stderr, "more products: --page-token %s\n", next);
            break;
        }
        if (strcmp(next, req.page_token) == 0) {
            fprintf(stderr, "error: the server sent the same page token twice\n");
            err = CLI_EXIT_ERROR;
            goto out;
        }
        req.page_token = page->next_page_token; /* borrowed from the kept page */
    }

    if (ctx->json)
        err = print_product_json_array(pages, npages);
    else
        print_product_table(pages, npages);

out:
    cli_status_cleanup(&st);
    for (size_t i = 0; i < npages; i++)
        protobuf_c_message_free_unpacked(&pages[i]->base, NULL);
    free(pages);
    return err;
}

/* ---- get ---- */

static const char *yes_no(protobuf_c_boolean b)
{
    return b ? "yes" : "no";
}

static void print_block(const Orchestrator__V1__ProductBlock *b, bool root)
{
    char st[64];
    printf("\n  %s%s  [tag %s, %s]\n", b->name, root ? " (root)" : "", *b->tag ? b->tag : "-",
           status_text(b->status, st, sizeof(st)));
    if (*b->description)
        printf("    %s\n", b->description);
    if (b->n_fields) {
        const char *h[] = {"FIELD", "TYPE", "REQUIRED", "LIST", "CHOICES"};
        cli_table_t *t = cli_table_new(5, h);
        for (size_t i = 0; i < b->n_fields; i++) {
            const Orchestrator__V1__ProductBlockField *f = b->fields[i];
            char type[64];
            size_t cap = 1;
            for (size_t c = 0; c < f->n_choices; c++)
                cap += strlen(f->choices[c]) + 2;
            char *choices = orch_malloc(cap);
            choices[0] = '\0';
            for (size_t c = 0; c < f->n_choices; c++) {
                if (c)
                    strcat(choices, ", ");
                strcat(choices, f->choices[c]);
            }
            const char *row[] = {f->name,
                                 cli_enum_name(&orchestrator__v1__field_type__descriptor, f->type,
                                               type, sizeof(type)),
                                 yes_no(f->required), yes_no(f->is_list), choices};
            cli_table_add_row(t, row);
            free(choices);
        }
        cli_table_print(t, stdout, 4);
        cli_table_free(t);
    }
    if (b->n_children) {
        const char *h[] = {"CHILD", "BLOCK", "COUNT", "FOREIGN"};
        cli_table_t *t = cli_table_new(4, h);
        for (size_t i = 0; i < b->n_children; i++) {
            const Orchestrator__V1__ProductBlockChild *c = b->children[i];
            char count[48];
            snprintf(count, sizeof(count), "%d..%d", c->min_count, c->max_count);
            const char *row[] = {c->name, c->product_block, count, yes_no(c->foreign)};
            cli_table_add_row(t, row);
        }
        cli_table_print(t, stdout, 4);
        cli_table_free(t);
    }
}

static void print_product(const product_t *p)
{
    char st[64], created[64], ended[64];
    const char *rows[][2] = {
        {"Name:", p->name},
        {"ID:", p->product_id},
        {"Type:", p->product_type},
        {"Tag:", p->tag},
        {"Status:", status_text(p->status, st, sizeof(st))},
        {"Description:", p->description},
        {"Root block:", p->root_product_block},
        {"Created:", cli_ts(p->create_time, created, sizeof(created))},
        {"Ended:", cli_ts(p->end_time, ended, sizeof(ended))},
    };
    cli_print_fields(rows, sizeof(rows) / sizeof(rows[0]), stdout);

    printf("\nFixed inputs:%s\n", p->n_fixed_inputs ? "" : " none");
    if (p->n_fixed_inputs) {
        const char *fh[] = {"NAME", "VALUE"};
        cli_table_t *t = cli_table_new(2, fh);
        for (size_t i = 0; i < p->n_fixed_inputs; i++) {
            const char *row[] = {p->fixed_inputs[i]->name, p->fixed_inputs[i]->value};
            cli_table_add_row(t, row);
        }
        cli_table_print(t, stdout, 2);
        cli_table_free(t);
    }

    printf("\nProduct blocks:%s\n", p->n_product_blocks ? "" : " none");
    for (size_t i = 0; i < p->n_product_blocks; i++)
        print_block(p->product_blocks[i],
                    strcmp(p->product_blocks[i]->name, p->root_product_block) == 0);

    printf("\nWorkflows:%s\n", p->n_workflows ? "" : " none");
    if (p->n_workflows) {
        const char *wh[] = {"NAME", "TARGET", "DESCRIPTION"};
        cli_table_t *t = cli_table_new(3, wh);
        for (size_t i = 0; i < p->n_workflows; i++) {
            const Orchestrator__V1__ProductWorkflow *w = p->workflows[i];
            char target[64];
            const char *row[] = {w->name,
                                 cli_enum_name(&orchestrator__v1__workflow_target__descriptor,
                                               w->target, target, sizeof(target)),
                                 w->description};
            cli_table_add_row(t, row);
        }
        cli_table_print(t, stdout, 2);
        cli_table_free(t);
    }
}

int cli_cmd_product_get(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__GetProductRequest req = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__INIT;
    const char *key = args->pos[0];
    char id[37];
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    int err = 0;

    if (!*key)
        return cli_usage_error("product get wants a product name or id, not ''");
    CLI_SET_KEY(req, ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY, PRODUCT_ID, product_id, key, id);
    if (cli_call_unary(cli_ctx_channel(ctx), GET_METHOD, &req.base,
                       &orchestrator__v1__product__descriptor, ctx->timeout_ms, &resp, &st) != 0) {
        err = cli_report_status(&st);
        goto out;
    }
    if (ctx->json) {
        err = cli_output(ctx, resp, NULL);
    } else {
        print_product((const product_t *)resp);
    }

out:
    cli_status_cleanup(&st);
    cli_msg_free(resp);
    return err;
}

/* ---- update ---- */

#define UPDATE_METHOD "/orchestrator.v1.ProductService/UpdateProduct"

static void print_product_msg(const ProtobufCMessage *m)
{
    print_product((const product_t *)m);
}

int cli_cmd_product_update(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__UpdateProductRequest req = ORCHESTRATOR__V1__UPDATE_PRODUCT_REQUEST__INIT;
    Orchestrator__V1__Product p = ORCHESTRATOR__V1__PRODUCT__INIT;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    const char *description = cli_args_get(args, "description");
    const char *status = cli_args_get(args, "status");
    char *paths[2];
    char id[37];
    int err = 0, st_value = 0;

    if (!description && !status)
        return cli_usage_error("product update wants --description and/or --status");
    if (status && (err = cli_parse_enum("--status", &orchestrator__v1__product_status__descriptor,
                                        status, &st_value)))
        return err;
    /* UpdateProduct takes the id only: a name is looked up first. */
    if ((err = cli_product_arg(ctx, args->pos[0], id, &p.product_id)))
        return err;
    if (description) {
        p.description = (char *)description;
        paths[mask.n_paths++] = "description";
    }
    if (status) {
        p.status = (Orchestrator__V1__ProductStatus)st_value;
        paths[mask.n_paths++] = "status";
    }
    mask.paths = paths;
    req.product = &p;
    req.update_mask = &mask;
    req.request_id = cli_request_id(args);
    return cli_call_print(ctx, UPDATE_METHOD, &req.base, &orchestrator__v1__product__descriptor,
                          print_product_msg);
}

/* ---- product blocks and resource types ---- */

static const char *const product_block_list_headers[] = {"NAME",   "TAG",      "STATUS",
                                                         "FIELDS", "CHILDREN", "ID"};

/* A row of the product block list table. */
static void product_block_list_row(cli_table_t *t, const ProtobufCMessage *item)
{
    const Orchestrator__V1__ProductBlock *b = (const Orchestrator__V1__ProductBlock *)item;
    char st[64], nf[24], nc[24];
    snprintf(nf, sizeof(nf), "%zu", b->n_fields);
    snprintf(nc, sizeof(nc), "%zu", b->n_children);
    const char *row[] = {b->name, b->tag, status_text(b->status, st, sizeof(st)),
                         nf,      nc,     b->product_block_id};
    cli_table_add_row(t, row);
}

int cli_cmd_product_block_list(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__ListProductBlocksRequest req =
        ORCHESTRATOR__V1__LIST_PRODUCT_BLOCKS_REQUEST__INIT;
    return cli_list_run(ctx, args, &req.base, "/orchestrator.v1.ProductService/ListProductBlocks",
                        &orchestrator__v1__list_product_blocks_response__descriptor,
                        "product_blocks", 6, product_block_list_headers, product_block_list_row);
}

static void print_block_msg(const ProtobufCMessage *m)
{
    const Orchestrator__V1__ProductBlock *b = (const Orchestrator__V1__ProductBlock *)m;
    char c[64], e[64];
    printf("ID:       %s\nCreated:  %s\nEnded:    %s\n", b->product_block_id,
           cli_ts(b->create_time, c, sizeof(c)), cli_ts(b->end_time, e, sizeof(e)));
    print_block(b, false);
}

int cli_cmd_product_block_get(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__GetProductBlockRequest req =
        ORCHESTRATOR__V1__GET_PRODUCT_BLOCK_REQUEST__INIT;
    char id[37];
    CLI_SET_KEY(req, ORCHESTRATOR__V1__GET_PRODUCT_BLOCK_REQUEST__KEY, PRODUCT_BLOCK_ID,
                product_block_id, args->pos[0], id);
    return cli_call_print(ctx, "/orchestrator.v1.ProductService/GetProductBlock", &req.base,
                          &orchestrator__v1__product_block__descriptor, print_block_msg);
}

static const char *const resource_type_list_headers[] = {"RESOURCE TYPE", "DESCRIPTION", "ID"};

/* A row of the resource type list table. */
static void resource_type_list_row(cli_table_t *t, const ProtobufCMessage *item)
{
    const Orchestrator__V1__ResourceType *r = (const Orchestrator__V1__ResourceType *)item;
    const char *row[] = {r->resource_type, r->description, r->resource_type_id};
    cli_table_add_row(t, row);
}

int cli_cmd_resource_type_list(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__ListResourceTypesRequest req =
        ORCHESTRATOR__V1__LIST_RESOURCE_TYPES_REQUEST__INIT;
    return cli_list_run(ctx, args, &req.base, "/orchestrator.v1.ProductService/ListResourceTypes",
                        &orchestrator__v1__list_resource_types_response__descriptor,
                        "resource_types", 3, resource_type_list_headers, resource_type_list_row);
}
