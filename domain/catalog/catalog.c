/* The in-memory catalogue: registration, validation (reference resolution), look-ups and
 * the paged, filtered product list. Products and blocks are kept sorted by name so that
 * listing is a stable walk and look-up by name a binary search. */
#include "catalog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../filter.h"
#include "../ids.h"
#include "../page.h"
#include "../store.h"
#include "base/alloc.h"

struct orch_catalog {
    orch_product_t *products;
    size_t nproducts, cap_products;
    orch_block_t *blocks;
    size_t nblocks, cap_blocks;
    orch_resource_type_t *rtypes;
    size_t nrtypes;
    bool validated;
    pthread_rwlock_t lock;  /* guards product status and description */
    pthread_mutex_t change; /* orch_catalog_change_lock */
};

orch_catalog_t *orch_catalog_new(void)
{
    orch_catalog_t *cat = orch_calloc(1, sizeof(*cat));
    pthread_rwlock_init(&cat->lock, NULL);
    pthread_mutex_init(&cat->change, NULL);
    return cat;
}

void orch_catalog_free(orch_catalog_t *cat)
{
    if (!cat)
        return;
    for (size_t i = 0; i < cat->nproducts; i++) {
        free(cat->products[i].blocks);
        free(cat->products[i].description);
    }
    for (size_t i = 0; i < cat->nblocks; i++)
        free(cat->blocks[i].child_blocks);
    free(cat->products);
    free(cat->blocks);
    free(cat->rtypes);
    pthread_rwlock_destroy(&cat->lock);
    pthread_mutex_destroy(&cat->change);
    free(cat);
}

void orch_catalog_add_block(orch_catalog_t *cat, const orch_block_def_t *def)
{
    orch_assert(!cat->validated);
    if (cat->nblocks == cat->cap_blocks) {
        cat->cap_blocks = cat->cap_blocks ? cat->cap_blocks * 2 : 16;
        cat->blocks = orch_realloc(cat->blocks, cat->cap_blocks * sizeof(*cat->blocks));
    }
    memset(&cat->blocks[cat->nblocks], 0, sizeof(orch_block_t));
    cat->blocks[cat->nblocks].def = def;
    cat->blocks[cat->nblocks].status = ORCH_PRODUCT_ACTIVE;
    cat->nblocks++;
}

void orch_catalog_add_block_from(orch_catalog_t *cat, const orch_block_def_t *def,
                                 const char *symbol, const char *file)
{
    orch_block_t *b;
    orch_catalog_add_block(cat, def);
    b = &cat->blocks[cat->nblocks - 1];
    snprintf(b->symbol, sizeof(b->symbol), "%s", symbol ? symbol : "");
    b->file = file;
}

void orch_catalog_add_product_from(orch_catalog_t *cat, const orch_product_def_t *def,
                                   const char *symbol, const char *file)
{
    orch_product_t *p;
    orch_catalog_add_product(cat, def);
    p = &cat->products[cat->nproducts - 1];
    snprintf(p->symbol, sizeof(p->symbol), "%s", symbol ? symbol : "");
    p->file = file;
}

void orch_catalog_add_product(orch_catalog_t *cat, const orch_product_def_t *def)
{
    orch_assert(!cat->validated);
    if (cat->nproducts == cat->cap_products) {
        cat->cap_products = cat->cap_products ? cat->cap_products * 2 : 16;
        cat->products = orch_realloc(cat->products, cat->cap_products * sizeof(*cat->products));
    }
    memset(&cat->products[cat->nproducts], 0, sizeof(orch_product_t));
    cat->products[cat->nproducts].def = def;
    cat->products[cat->nproducts].status = def->status ? def->status : ORCH_PRODUCT_ACTIVE;
    cat->products[cat->nproducts].description = orch_strdup(def->description);
    cat->nproducts++;
}

static int cmp_block(const void *a, const void *b)
{
    return strcmp(((const orch_block_t *)a)->def->name, ((const orch_block_t *)b)->def->name);
}

static int cmp_product(const void *a, const void *b)
{
    return strcmp(((const orch_product_t *)a)->def->name, ((const orch_product_t *)b)->def->name);
}

static int cmp_block_key(const void *key, const void *elem)
{
    return strcmp(key, ((const orch_block_t *)elem)->def->name);
}

static int cmp_product_key(const void *key, const void *elem)
{
    return strcmp(key, ((const orch_product_t *)elem)->def->name);
}

const orch_block_t *orch_catalog_find_block(const orch_catalog_t *cat, const char *name)
{
    if (!name)
        return NULL;
    return bsearch(name, cat->blocks, cat->nblocks, sizeof(orch_block_t), cmp_block_key);
}

const orch_block_t *orch_catalog_find_block_id(const orch_catalog_t *cat, const char *id)
{
    for (size_t i = 0; id && i < cat->nblocks; i++)
        if (strcmp(cat->blocks[i].id, id) == 0)
            return &cat->blocks[i];
    return NULL;
}

size_t orch_catalog_nresource_types(const orch_catalog_t *cat)
{
    return cat->nrtypes;
}

orch_resource_type_t *orch_catalog_resource_type_at(orch_catalog_t *cat, size_t i)
{
    return i < cat->nrtypes ? &cat->rtypes[i] : NULL;
}

static int cmp_rtype_key(const void *key, const void *elem)
{
    return strcmp(key, ((const orch_resource_type_t *)elem)->name);
}

orch_resource_type_t *orch_catalog_find_resource_type(orch_catalog_t *cat, const char *name)
{
    if (!name)
        return NULL;
    return bsearch(name, cat->rtypes, cat->nrtypes, sizeof(orch_resource_type_t), cmp_rtype_key);
}

static int cmp_rtype(const void *a, const void *b)
{
    return strcmp(((const orch_resource_type_t *)a)->name, ((const orch_resource_type_t *)b)->name);
}

/* One entry per distinct field name; a name used with two types is a definition error. */
static orch_err_t collect_resource_types(orch_catalog_t *cat, orch_error_t *err);

const orch_product_t *orch_catalog_find_product(const orch_catalog_t *cat, const char *name)
{
    if (!name)
        return NULL;
    return bsearch(name, cat->products, cat->nproducts, sizeof(orch_product_t), cmp_product_key);
}

const orch_product_t *orch_catalog_find_product_id(const orch_catalog_t *cat, const char *id)
{
    for (size_t i = 0; id && i < cat->nproducts; i++)
        if (strcmp(cat->products[i].id, id) == 0)
            return &cat->products[i];
    return NULL;
}

/* Depth-first walk collecting each reachable block once; detects cycles via the stack. */
static orch_err_t collect_blocks(orch_product_t *p, const orch_block_t *b,
                                 const orch_block_t **stack, size_t depth, orch_error_t *err)
{
    for (size_t i = 0; i < depth; i++)
        if (stack[i] == b)
            return orch_error_set(err, ORCH_FAILED_PRECONDITION, "CATALOG_INVALID",
                                  "product '%s': product block '%s' contains itself", p->def->name,
                                  b->def->name);
    if (depth >= 32)
        return orch_error_set(err, ORCH_FAILED_PRECONDITION, "CATALOG_INVALID",
                              "product '%s': product blocks nested deeper than 32", p->def->name);
    stack[depth] = b;
    for (size_t i = 0; i < p->nblocks; i++)
        if (p->blocks[i] == b)
            goto children;
    p->blocks = orch_realloc(p->blocks, (p->nblocks + 1) * sizeof(*p->blocks));
    p->blocks[p->nblocks++] = b;
children:
    for (size_t i = 0; i < b->nchildren; i++) {
        orch_err_t rc = collect_blocks(p, b->child_blocks[i], stack, depth + 1, err);
        if (rc)
            return rc;
    }
    return ORCH_OK;
}

#define invalid(err, ...)                                                                          \
    orch_error_set((err), ORCH_FAILED_PRECONDITION, "CATALOG_INVALID", __VA_ARGS__)

orch_err_t orch_catalog_validate(orch_catalog_t *cat, orch_error_t *err)
{
    const orch_block_t *stack[33];

    qsort(cat->blocks, cat->nblocks, sizeof(orch_block_t), cmp_block);
    qsort(cat->products, cat->nproducts, sizeof(orch_product_t), cmp_product);
    for (size_t i = 0; i < cat->nblocks; i++) {
        orch_block_t *b = &cat->blocks[i];
        const orch_block_def_t *d = b->def;
        if (!d->name || !*d->name)
            return invalid(err, "a product block has no name%s%s%s", "", "", "");
        if (i > 0 && strcmp(cat->blocks[i - 1].def->name, d->name) == 0)
            return invalid(err, "product block '%s' is defined twice%s%s", d->name, "", "");
        b->nfields = 0;
        for (const orch_field_def_t *f = d->fields; f && f->name; f++) {
            for (const orch_field_def_t *g = d->fields; g != f; g++)
                if (strcmp(g->name, f->name) == 0)
                    return invalid(err, "product block '%s': field '%s' is defined twice%s",
                                   d->name, f->name, "");
            if (f->type == ORCH_FIELD_UNSPECIFIED)
                return invalid(err, "product block '%s': field '%s' has no type%s", d->name,
                               f->name, "");
            b->nfields++;
        }
        b->nchildren = 0;
        for (const orch_child_def_t *c = d->children; c && c->name; c++)
            b->nchildren++;
        free(b->child_blocks);
        b->child_blocks = orch_calloc(b->nchildren ? b->nchildren : 1, sizeof(orch_block_t *));
    }
    /* Children resolve only after sorting, since pointers into the array move with it. */
    for (size_t i = 0; i < cat->nblocks; i++) {
        orch_block_t *b = &cat->blocks[i];
        for (size_t j = 0; j < b->nchildren; j++) {
            const orch_child_def_t *c = &b->def->children[j];
            b->child_blocks[j] = orch_catalog_find_block(cat, c->block);
            if (!b->child_blocks[j])
                return invalid(err, "product block '%s': child '%s' names unknown block '%s'",
                               b->def->name, c->name, c->block);
            if (c->min_count < 0 || c->max_count < 1 || c->min_count > c->max_count)
                return invalid(err,
                               "product block '%s': child '%s' needs 0 <= min_count <= "
                               "max_count and max_count >= 1%s",
                               b->def->name, c->name, "");
        }
    }
    for (size_t i = 0; i < cat->nproducts; i++) {
        orch_product_t *p = &cat->products[i];
        const orch_product_def_t *d = p->def;
        orch_err_t rc;
        if (!d->name || !*d->name)
            return invalid(err, "a product has no name%s%s%s", "", "", "");
        if (i > 0 && strcmp(cat->products[i - 1].def->name, d->name) == 0)
            return invalid(err, "product '%s' is defined twice%s%s", d->name, "", "");
        p->root = orch_catalog_find_block(cat, d->root_block);
        if (!p->root)
            return invalid(err, "product '%s': root block '%s' is not defined%s", d->name,
                           d->root_block ? d->root_block : "(none)", "");
        p->nfixed = 0;
        for (const orch_fixed_input_t *f = d->fixed_inputs; f && f->name; f++)
            p->nfixed++;
        p->nworkflows = 0;
        for (const orch_workflow_ref_t *w = d->workflows; w && w->name; w++)
            p->nworkflows++;
        free(p->blocks);
        p->blocks = NULL;
        p->nblocks = 0;
        rc = collect_blocks(p, p->root, stack, 0, err);
        if (rc)
            return rc;
    }
    {
        orch_err_t rc = collect_resource_types(cat, err);
        if (rc)
            return rc;
    }
    cat->validated = true;
    return ORCH_OK;
}

static orch_err_t collect_resource_types(orch_catalog_t *cat, orch_error_t *err)
{
    size_t n = 0;
    for (size_t i = 0; i < cat->nblocks; i++)
        n += cat->blocks[i].nfields;
    free(cat->rtypes);
    cat->rtypes = orch_calloc(n ? n : 1, sizeof(*cat->rtypes));
    cat->nrtypes = 0;
    for (size_t i = 0; i < cat->nblocks; i++) {
        const orch_block_def_t *d = cat->blocks[i].def;
        for (size_t j = 0; j < cat->blocks[i].nfields; j++) {
            const orch_field_def_t *f = &d->fields[j];
            orch_resource_type_t *found = NULL;
            for (size_t k = 0; k < cat->nrtypes && !found; k++)
                if (strcmp(cat->rtypes[k].name, f->name) == 0)
                    found = &cat->rtypes[k];
            if (found) {
                if (found->type != f->type)
                    return invalid(err,
                                   "field '%s' of product block '%s' is declared as %s here "
                                   "and as another type elsewhere",
                                   f->name, d->name, orch_field_type_name(f->type));
                continue;
            }
            cat->rtypes[cat->nrtypes].name = f->name;
            cat->rtypes[cat->nrtypes].description = f->description ? f->description : "";
            cat->rtypes[cat->nrtypes].type = f->type;
            cat->nrtypes++;
        }
    }
    qsort(cat->rtypes, cat->nrtypes, sizeof(*cat->rtypes), cmp_rtype);
    return ORCH_OK;
}

size_t orch_catalog_nproducts(const orch_catalog_t *cat)
{
    return cat->nproducts;
}

size_t orch_catalog_nblocks(const orch_catalog_t *cat)
{
    return cat->nblocks;
}

orch_product_t *orch_catalog_product_at(orch_catalog_t *cat, size_t i)
{
    return i < cat->nproducts ? &cat->products[i] : NULL;
}

orch_block_t *orch_catalog_block_at(orch_catalog_t *cat, size_t i)
{
    return i < cat->nblocks ? &cat->blocks[i] : NULL;
}

void orch_catalog_change_lock(orch_catalog_t *cat)
{
    pthread_mutex_lock(&cat->change);
}

void orch_catalog_change_unlock(orch_catalog_t *cat)
{
    pthread_mutex_unlock(&cat->change);
}

void orch_catalog_product_attrs(const orch_catalog_t *cat, const orch_product_t *p,
                                orch_product_status_t *status, char *desc, size_t desclen)
{
    pthread_rwlock_rdlock((pthread_rwlock_t *)&cat->lock);
    if (status)
        *status = p->status;
    if (desc)
        snprintf(desc, desclen, "%s", p->description ? p->description : "");
    pthread_rwlock_unlock((pthread_rwlock_t *)&cat->lock);
}

void orch_catalog_product_apply(orch_catalog_t *cat, const orch_product_t *cp,
                                orch_product_status_t status, const char *description,
                                int64_t end_time_us)
{
    /* The catalogue owns its products; cp is const only for the readers' sake. */
    orch_product_t *p = (orch_product_t *)cp;
    char *old = NULL;
    pthread_rwlock_wrlock(&cat->lock);
    if (status)
        p->status = status;
    if (description) {
        old = p->description;
        p->description = orch_strdup(description);
    }
    p->end_time_us = end_time_us;
    pthread_rwlock_unlock(&cat->lock);
    free(old);
}

orch_err_t orch_catalog_update_product(const orch_catalog_t *cat, struct orch_store *st,
                                       struct orch_tx *tx, const orch_product_t *p,
                                       const char *description, orch_product_status_t status,
                                       int64_t *end_time_us, orch_error_t *err)
{
    orch_err_t rc;
    long live = 0;

    (void)cat;
    if (description && strlen(description) > 2000)
        return orch_error_invalid(err, "product.description", "is longer than 2000 characters");
    rc = st->catalog->product_lock(st, tx, NULL, p->id, err);
    if (rc)
        return rc;
    if (status == ORCH_PRODUCT_END_OF_LIFE) {
        rc = st->catalog->product_count_live(st, tx, NULL, p->id, &live, err);
        if (rc)
            return rc;
        if (live > 0)
            return orch_error_set(err, ORCH_FAILED_PRECONDITION, "PRODUCT_IN_USE",
                                  "product '%s' cannot reach end of life while %ld "
                                  "subscription%s of it %s not terminated",
                                  p->def->name, live, live == 1 ? "" : "s",
                                  live == 1 ? "is" : "are");
    }
    return st->catalog->product_set(st, tx, NULL, p->id, description, status, end_time_us, err);
}

static const char *status_names[] = {"", "active", "pre production", "phase out", "end of life"};

const char *orch_product_status_name(orch_product_status_t s)
{
    return (unsigned)s <= ORCH_PRODUCT_END_OF_LIFE ? status_names[s] : "";
}

orch_product_status_t orch_product_status_parse(const char *s)
{
    for (int i = 1; i <= ORCH_PRODUCT_END_OF_LIFE; i++)
        if (s && strcmp(s, status_names[i]) == 0)
            return (orch_product_status_t)i;
    return ORCH_PRODUCT_STATUS_UNSPECIFIED;
}

const char *orch_workflow_target_name(orch_workflow_target_t t)
{
    static const char *names[] = {"",         "CREATE",    "MODIFY", "TERMINATE",
                                  "VALIDATE", "RECONCILE", "SYSTEM"};
    return (unsigned)t <= ORCH_TARGET_SYSTEM ? names[t] : "";
}

const char *orch_field_type_name(orch_field_type_t t)
{
    static const char *names[] = {"", "string", "integer", "boolean", "uuid", "ip_prefix"};
    return (unsigned)t <= ORCH_FIELD_IP_PREFIX ? names[t] : "";
}

/* A generic page over one of the catalogue's name-ordered arrays. The position in the
 * token is the name of the last item returned: stable even if items are added between
 * pages. get reads a field for the filter; name gives the sort key. */
typedef struct pager {
    const void *base;
    size_t count, size;
    orch_filter_get_fn get;
    const char *(*name)(const void *item);
    const char *const *fields;
} pager_t;

static orch_err_t page_items(orch_catalog_t *cat, const pager_t *pg, const char *filter,
                             int page_size, const char *page_token, const void ***out, size_t *n,
                             size_t *total, char **next_token, orch_error_t *err)
{
    orch_filter_t *f = NULL;
    char *pos = NULL;
    const void **page = NULL;
    size_t matched = 0, count = 0, last = 0;
    int size;
    orch_err_t rc;

    *out = NULL;
    *n = *total = 0;
    *next_token = NULL;
    rc = orch_page_size(page_size, &size, err);
    if (rc)
        goto out;
    rc = orch_filter_parse(filter, pg->fields, &f, err);
    if (rc)
        goto out;
    rc = orch_page_token_parse(page_token, filter ? filter : "", &pos, err);
    if (rc)
        goto out;
    page = orch_calloc((size_t)size, sizeof(*page));
    pthread_rwlock_rdlock(&cat->lock);
    for (size_t i = 0; i < pg->count; i++) {
        const void *item = (const char *)pg->base + i * pg->size;
        if (!orch_filter_match(f, pg->get, item))
            continue;
        matched++;
        if (pos && strcmp(pg->name(item), pos) <= 0)
            continue;
        if (count < (size_t)size) {
            page[count++] = item;
            last = matched;
        }
    }
    pthread_rwlock_unlock(&cat->lock);
    if (count == (size_t)size && matched > last)
        *next_token = orch_page_token_make(filter ? filter : "", pg->name(page[count - 1]));
    *out = page;
    page = NULL;
    *n = count;
    *total = matched;
out:
    free(page);
    free(pos);
    orch_filter_free(f);
    return rc;
}

/* Filter getters run under the catalogue's read lock, so they may read run-time fields. */
static const char *product_get(const void *obj, const char *field)
{
    const orch_product_t *p = obj;
    if (strcmp(field, "name") == 0)
        return p->def->name;
    if (strcmp(field, "description") == 0)
        return p->description;
    if (strcmp(field, "product_type") == 0)
        return p->def->product_type;
    if (strcmp(field, "tag") == 0)
        return p->def->tag;
    if (strcmp(field, "status") == 0)
        return orch_product_status_name(p->status);
    if (strcmp(field, "product_id") == 0)
        return p->id;
    return NULL;
}

static const char *product_name(const void *obj)
{
    return ((const orch_product_t *)obj)->def->name;
}

static const char *block_get(const void *obj, const char *field)
{
    const orch_block_t *b = obj;
    if (strcmp(field, "name") == 0)
        return b->def->name;
    if (strcmp(field, "description") == 0)
        return b->def->description;
    if (strcmp(field, "tag") == 0)
        return b->def->tag;
    if (strcmp(field, "status") == 0)
        return orch_product_status_name(b->status);
    if (strcmp(field, "product_block_id") == 0)
        return b->id;
    return NULL;
}

static const char *block_name(const void *obj)
{
    return ((const orch_block_t *)obj)->def->name;
}

static const char *rtype_get(const void *obj, const char *field)
{
    const orch_resource_type_t *r = obj;
    if (strcmp(field, "resource_type") == 0)
        return r->name;
    if (strcmp(field, "description") == 0)
        return r->description;
    if (strcmp(field, "resource_type_id") == 0)
        return r->id;
    return NULL;
}

static const char *rtype_name(const void *obj)
{
    return ((const orch_resource_type_t *)obj)->name;
}

static const char *const product_fields[] = {
    "name", "description", "product_type", "tag", "status", "product_id", NULL};
static const char *const block_fields[] = {"name",   "description",      "tag",
                                           "status", "product_block_id", NULL};
static const char *const rtype_fields[] = {"resource_type", "description", "resource_type_id",
                                           NULL};

orch_err_t orch_catalog_list_products(orch_catalog_t *cat, const char *filter, int page_size,
                                      const char *page_token, const orch_product_t ***out,
                                      size_t *n, size_t *total, char **next_token,
                                      orch_error_t *err)
{
    pager_t pg = {cat->products, cat->nproducts, sizeof(orch_product_t),
                  product_get,   product_name,   product_fields};
    return page_items(cat, &pg, filter, page_size, page_token, (const void ***)out, n, total,
                      next_token, err);
}

orch_err_t orch_catalog_list_blocks(orch_catalog_t *cat, const char *filter, int page_size,
                                    const char *page_token, const orch_block_t ***out, size_t *n,
                                    size_t *total, char **next_token, orch_error_t *err)
{
    pager_t pg = {cat->blocks, cat->nblocks, sizeof(orch_block_t),
                  block_get,   block_name,   block_fields};
    return page_items(cat, &pg, filter, page_size, page_token, (const void ***)out, n, total,
                      next_token, err);
}

orch_err_t orch_catalog_list_resource_types(orch_catalog_t *cat, const char *filter, int page_size,
                                            const char *page_token,
                                            const orch_resource_type_t ***out, size_t *n,
                                            size_t *total, char **next_token, orch_error_t *err)
{
    pager_t pg = {cat->rtypes, cat->nrtypes, sizeof(orch_resource_type_t),
                  rtype_get,   rtype_name,   rtype_fields};
    return page_items(cat, &pg, filter, page_size, page_token, (const void ***)out, n, total,
                      next_token, err);
}

orch_err_t orch_catalog_get_block(const orch_catalog_t *cat, const char *id, const char *name,
                                  const char *id_field, const orch_block_t **out, orch_error_t *err)
{
    *out = NULL;
    if (id && *id) {
        orch_err_t rc = orch_uuid_check(id, id_field, err);
        if (rc)
            return rc;
        *out = orch_catalog_find_block_id(cat, id);
        if (!*out)
            return orch_error_set(err, ORCH_NOT_FOUND, "PRODUCT_BLOCK_NOT_FOUND",
                                  "no product block has id %s", id);
        return ORCH_OK;
    }
    if (name && *name) {
        *out = orch_catalog_find_block(cat, name);
        if (!*out)
            return orch_error_set(err, ORCH_NOT_FOUND, "PRODUCT_BLOCK_NOT_FOUND",
                                  "no product block is named '%.200s'", name);
        return ORCH_OK;
    }
    return orch_error_invalid(err, id_field, "give a product_block_id or a name");
}

orch_err_t orch_catalog_get_product(const orch_catalog_t *cat, const char *id, const char *name,
                                    const char *id_field, const orch_product_t **out,
                                    orch_error_t *err)
{
    *out = NULL;
    if (id && *id) {
        orch_err_t rc = orch_uuid_check(id, id_field, err);
        if (rc)
            return rc;
        *out = orch_catalog_find_product_id(cat, id);
        if (!*out)
            return orch_error_set(err, ORCH_NOT_FOUND, "PRODUCT_NOT_FOUND", "no product has id %s",
                                  id);
        return ORCH_OK;
    }
    if (name && *name) {
        *out = orch_catalog_find_product(cat, name);
        if (!*out)
            return orch_error_set(err, ORCH_NOT_FOUND, "PRODUCT_NOT_FOUND",
                                  "no product is named '%.200s'", name);
        return ORCH_OK;
    }
    return orch_error_invalid(err, id_field, "give a product_id or a name");
}
