/* The store's views of a subscription: the flat rows it saves with set-based statements,
 * and the builder that assembles a subscription from the rows it loads, in any order,
 * checking every row against the catalogue (a mismatch is an INTERNAL error: stored data
 * that the code no longer describes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "internal.h"

/* Grows an array of n elements of size bytes so that one more fits (doubling). */
static void *grow(void *p, size_t n, size_t size)
{
    if (n == 0 || (n & (n - 1)) == 0)
        p = orch_realloc(p, (n ? 2 * n : 4) * size);
    return p;
}
#define PUSH(arr, n) ((arr) = grow((arr), (n), sizeof(*(arr))), &(arr)[(n)++])

/* ---- Flatten ----------------------------------------------------------------------------- */

static void flatten_inst(const orch_instance_t *in, orch_sub_flat_t *f)
{
    const orch_block_def_t *d = in->block->def;
    orch_sub_flat_instance_t *fi = PUSH(f->instances, f->ninstances);

    fi->id = in->id;
    fi->block = in->block;
    fi->label = in->label;
    for (size_t i = 0; i < in->block->nfields; i++)
        for (size_t j = 0; j < in->values[i].n; j++) {
            orch_sub_flat_value_t *v = PUSH(f->values, f->nvalues);
            v->instance_id = in->id;
            v->resource_type = d->fields[i].name;
            v->position = (int)j;
            v->value = in->values[i].items[j];
        }
    for (size_t i = 0; i < in->block->nchildren; i++)
        for (size_t j = 0; j < in->children[i].n; j++) {
            const orch_instance_t *c = in->children[i].items[j];
            orch_sub_flat_relation_t *r = PUSH(f->relations, f->nrelations);
            r->parent_id = in->id;
            r->attribute = d->children[i].name;
            r->position = (int)j;
            r->child_id = c->id;
            r->child_subscription_id = c->subscription_id;
            r->child_block = in->block->child_blocks[i];
            if (!c->foreign)
                flatten_inst(c, f);
        }
}

void orch_sub_flatten(const orch_subscription_t *sub, orch_sub_flat_t *out)
{
    memset(out, 0, sizeof(*out));
    flatten_inst(sub->root, out);
}

void orch_sub_flat_cleanup(orch_sub_flat_t *flat)
{
    if (!flat)
        return;
    free(flat->instances);
    free(flat->values);
    free(flat->relations);
    memset(flat, 0, sizeof(*flat));
}

/* ---- Builder ----------------------------------------------------------------------------- */

typedef struct inst_row {
    char id[ORCH_UUID_LEN + 1], owner[ORCH_UUID_LEN + 1];
    char *block, *label;
    bool has_parent, used;
} inst_row_t;

typedef struct value_row {
    char id[ORCH_UUID_LEN + 1];
    char *resource_type, *value;
    int position;
    bool used;
} value_row_t;

typedef struct rel_row {
    char parent[ORCH_UUID_LEN + 1], child[ORCH_UUID_LEN + 1], child_owner[ORCH_UUID_LEN + 1];
    char *attribute;
    int position;
    bool used;
} rel_row_t;

struct orch_sub_builder {
    const orch_catalog_t *cat;
    /* The rows' strings: copied here rather than one malloc each (a load copies every row
     * and frees it a moment later), freed with the builder. */
    orch_arena_t *mem;
    bool have_sub;
    char sub_id[ORCH_UUID_LEN + 1];
    char *product, *customer_id, *description, *note, *status;
    bool in_sync;
    int64_t version, start_time_us, end_time_us, create_time_us, update_time_us;
    inst_row_t *insts;
    size_t ninsts;
    value_row_t *values;
    size_t nvalues;
    rel_row_t *rels;
    size_t nrels;
    json_t *metadata;
    int64_t metadata_version;
    orch_customer_description_t *cds;
    size_t ncds;
    orch_sub_link_t *users;
    size_t nusers;
    char bad[256]; /* the first malformed row, reported by finish */
    bool finished;
};

orch_sub_builder_t *orch_sub_builder_new(const orch_catalog_t *cat)
{
    orch_sub_builder_t *b = orch_calloc(1, sizeof(*b));
    b->cat = cat;
    b->mem = orch_arena_new();
    return b;
}

void orch_sub_builder_free(orch_sub_builder_t *b)
{
    if (!b)
        return;
    orch_arena_free(b->mem);
    free(b->insts);
    free(b->values);
    free(b->rels);
    free(b->cds);
    free(b->users);
    json_decref(b->metadata);
    free(b);
}

/* A row's string in the builder's memory; NULL stays NULL. */
static char *keep(orch_sub_builder_t *b, const char *s)
{
    return s ? orch_arena_strndup(b->mem, s, strlen(s)) : NULL;
}

/* Copies at most an id's length of id (NULL: "") into dst. */
static void id_copy(char dst[ORCH_UUID_LEN + 1], const char *id)
{
    size_t n = id ? strnlen(id, ORCH_UUID_LEN) : 0;
    memcpy(dst, id ? id : "", n);
    dst[n] = '\0';
}

/* Copies an id, remembering the first one that is not a UUID. */
static void copy_id(orch_sub_builder_t *b, char dst[ORCH_UUID_LEN + 1], const char *id,
                    const char *what)
{
    if (!orch_uuid_valid(id) && !b->bad[0])
        snprintf(b->bad, sizeof(b->bad), "%s '%.40s' is not a lower-case UUID", what,
                 id ? id : "(null)");
    id_copy(dst, id);
}

void orch_sub_builder_subscription(orch_sub_builder_t *b, const orch_sub_row_t *row)
{
    if (b->have_sub && !b->bad[0])
        snprintf(b->bad, sizeof(b->bad), "two subscription rows");
    b->have_sub = true;
    copy_id(b, b->sub_id, row->subscription_id, "subscription id");
    b->product = orch_arena_strdup(b->mem, row->product_id);
    b->customer_id = orch_arena_strdup(b->mem, row->customer_id);
    b->description = orch_arena_strdup(b->mem, row->description);
    b->note = keep(b, row->note);
    b->status = orch_arena_strdup(b->mem, row->status);
    b->in_sync = row->in_sync;
    b->version = row->version;
    b->start_time_us = row->start_time_us;
    b->end_time_us = row->end_time_us;
    b->create_time_us = row->create_time_us;
    b->update_time_us = row->update_time_us;
}

void orch_sub_builder_instance(orch_sub_builder_t *b, const char *instance_id,
                               const char *subscription_id, const char *block, const char *label)
{
    inst_row_t *r = PUSH(b->insts, b->ninsts);
    memset(r, 0, sizeof(*r));
    copy_id(b, r->id, instance_id, "instance id");
    copy_id(b, r->owner, subscription_id, "owner subscription id");
    r->block = orch_arena_strdup(b->mem, block);
    r->label = keep(b, label);
}

void orch_sub_builder_value(orch_sub_builder_t *b, const char *instance_id,
                            const char *resource_type, int position, const char *value)
{
    value_row_t *r = PUSH(b->values, b->nvalues);
    memset(r, 0, sizeof(*r));
    copy_id(b, r->id, instance_id, "value of instance id");
    r->resource_type = orch_arena_strdup(b->mem, resource_type);
    r->value = keep(b, value);
    r->position = position;
}

void orch_sub_builder_relation(orch_sub_builder_t *b, const char *parent_id, const char *attribute,
                               int position, const char *child_id,
                               const char *child_subscription_id)
{
    rel_row_t *r = PUSH(b->rels, b->nrels);
    memset(r, 0, sizeof(*r));
    copy_id(b, r->parent, parent_id, "relation parent id");
    copy_id(b, r->child, child_id, "relation child id");
    copy_id(b, r->child_owner, child_subscription_id, "relation child owner id");
    r->attribute = orch_arena_strdup(b->mem, attribute);
    r->position = position;
}

void orch_sub_builder_metadata_take(orch_sub_builder_t *b, json_t *metadata, int64_t version)
{
    json_decref(b->metadata);
    b->metadata = metadata;
    if (metadata && !json_is_object(metadata) && !b->bad[0])
        snprintf(b->bad, sizeof(b->bad), "metadata is not a JSON object");
    b->metadata_version = version;
}

void orch_sub_builder_metadata(orch_sub_builder_t *b, const json_t *metadata, int64_t version)
{
    json_t *copy = metadata ? json_deep_copy(metadata) : NULL;
    if (metadata && !copy && !b->bad[0])
        snprintf(b->bad, sizeof(b->bad), "metadata is not a JSON object");
    orch_sub_builder_metadata_take(b, copy, version);
}

void orch_sub_builder_customer_description(orch_sub_builder_t *b,
                                           const orch_customer_description_t *cd)
{
    orch_customer_description_t *c = PUSH(b->cds, b->ncds);
    *c = *cd;
    copy_id(b, c->id, cd->id, "customer description id");
    c->customer_id = orch_arena_strdup(b->mem, cd->customer_id);
    c->description = orch_arena_strdup(b->mem, cd->description);
}

void orch_sub_builder_in_use_by(orch_sub_builder_t *b, const char *subscription_id,
                                const char *status)
{
    orch_sub_link_t *l = PUSH(b->users, b->nusers);
    copy_id(b, l->subscription_id, subscription_id, "in_use_by subscription id");
    l->status = orch_sub_status_parse(status);
    if (status && !l->status && !b->bad[0])
        snprintf(b->bad, sizeof(b->bad), "in_use_by status '%.40s' is unknown", status);
}

/* ---- Finishing: sorting, then one recursive walk from the root ----------------------------- */

static int cmp_inst(const void *a, const void *b)
{
    return strcmp(((const inst_row_t *)a)->id, ((const inst_row_t *)b)->id);
}

static int cmp_value(const void *a, const void *b)
{
    const value_row_t *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    if (!c)
        c = strcmp(x->resource_type, y->resource_type);
    return c ? c : (x->position > y->position) - (x->position < y->position);
}

static int cmp_rel(const void *a, const void *b)
{
    const rel_row_t *x = a, *y = b;
    int c = strcmp(x->parent, y->parent);
    if (!c)
        c = strcmp(x->attribute, y->attribute);
    return c ? c : (x->position > y->position) - (x->position < y->position);
}

static inst_row_t *find_inst(orch_sub_builder_t *b, const char *id)
{
    inst_row_t key;
    if (!b->ninsts)
        return NULL;
    id_copy(key.id, id);
    return bsearch(&key, b->insts, b->ninsts, sizeof(*b->insts), cmp_inst);
}

/* First row in a sorted array whose id field equals id (lower bound), or n. */
#define LOWER_BOUND(arr, n, field, key, out)                                                       \
    do {                                                                                           \
        size_t lo_ = 0, hi_ = (n);                                                                 \
        while (lo_ < hi_) {                                                                        \
            size_t mid_ = lo_ + (hi_ - lo_) / 2;                                                   \
            if (strcmp((arr)[mid_].field, (key)) < 0)                                              \
                lo_ = mid_ + 1;                                                                    \
            else                                                                                   \
                hi_ = mid_;                                                                        \
        }                                                                                          \
        (out) = lo_;                                                                               \
    } while (0)

static bool block_is(const orch_block_t *blk, const char *s)
{
    return (blk->id[0] && strcmp(blk->id, s) == 0) || strcmp(blk->def->name, s) == 0;
}

#define internal(err, ...) orch_error_set((err), ORCH_INTERNAL, NULL, __VA_ARGS__)

static orch_err_t attach_values(orch_sub_builder_t *b, orch_instance_t *in, orch_error_t *err)
{
    size_t i;
    LOWER_BOUND(b->values, b->nvalues, id, in->id, i);
    for (; i < b->nvalues && strcmp(b->values[i].id, in->id) == 0; i++) {
        value_row_t *v = &b->values[i];
        int fx = orch__field_index(in->block, v->resource_type, strlen(v->resource_type));
        const orch_field_def_t *f = fx < 0 ? NULL : &in->block->def->fields[fx];
        size_t fi = (size_t)fx;
        char *canon, why[256];
        if (!f)
            return internal(err,
                            "stored instance %s (%s) has a value for '%s', which is not a "
                            "field of that block",
                            in->id, in->block->def->name, v->resource_type);
        if (v->position != (int)in->values[fi].n || (!f->is_list && v->position != 0))
            return internal(err,
                            "stored instance %s (%s): field '%s' has a value at position "
                            "%d out of order",
                            in->id, in->block->def->name, f->name, v->position);
        if (!orch__value_canon(f, v->value, &canon, why, sizeof(why)))
            return internal(err, "stored instance %s (%s): field '%s': %s", in->id,
                            in->block->def->name, f->name, why);
        orch__values_push(&in->values[fi], canon);
        v->used = true;
    }
    return ORCH_OK;
}

static orch_err_t build(orch_sub_builder_t *b, inst_row_t *row, const orch_block_t *block,
                        int depth, orch_instance_t **out, orch_error_t *err);

static orch_err_t attach_children(orch_sub_builder_t *b, orch_instance_t *in, int depth,
                                  orch_error_t *err)
{
    size_t i;
    LOWER_BOUND(b->rels, b->nrels, parent, in->id, i);
    for (; i < b->nrels && strcmp(b->rels[i].parent, in->id) == 0; i++) {
        rel_row_t *r = &b->rels[i];
        int cx = orch__child_index(in->block, r->attribute, strlen(r->attribute));
        const orch_child_def_t *c = cx < 0 ? NULL : &in->block->def->children[cx];
        size_t ci = (size_t)cx;
        const orch_block_t *expect;
        inst_row_t *crow;
        const char *owner;
        orch_instance_t *child = NULL;
        orch_err_t rc;

        if (!c)
            return internal(err,
                            "stored instance %s (%s) has a child '%s', which that block "
                            "does not declare",
                            in->id, in->block->def->name, r->attribute);
        if (r->position != (int)in->children[ci].n || in->children[ci].n >= (size_t)c->max_count)
            return internal(err,
                            "stored instance %s (%s): child '%s' at position %d is out of "
                            "order or beyond the %d allowed",
                            in->id, in->block->def->name, c->name, r->position, c->max_count);
        expect = in->block->child_blocks[ci];
        crow = find_inst(b, r->child);
        owner = crow ? crow->owner : r->child_owner;
        if (crow && r->child_owner[0] && strcmp(crow->owner, r->child_owner) != 0)
            return internal(err, "stored relation %s.%s[%d]: instance %s belongs to %s, not %s",
                            in->id, c->name, r->position, r->child, crow->owner, r->child_owner);
        if (c->foreign != (strcmp(owner, in->subscription_id) != 0))
            return internal(err, "stored instance %s (%s): child '%s' %s", in->id,
                            in->block->def->name, c->name,
                            c->foreign ? "must belong to another subscription"
                                       : "must belong to the same subscription");
        if (crow && !block_is(expect, crow->block))
            return internal(err, "stored instance %s is a '%s', but %s.%s holds %s", crow->id,
                            crow->block, in->block->def->name, c->name, expect->def->name);
        if (crow) {
            rc = build(b, crow, expect, depth + 1, &child, err);
            if (rc)
                return rc;
        } else if (strcmp(owner, b->sub_id) == 0) {
            return internal(err,
                            "stored instance %s (%s): child '%s' is instance %s, which "
                            "was not loaded",
                            in->id, in->block->def->name, c->name, r->child);
        } else {
            child = orch__inst_new(expect, owner, r->child, true);
        }
        orch__children_push(&in->children[ci], child);
        r->used = true;
    }
    return ORCH_OK;
}

static orch_err_t build(orch_sub_builder_t *b, inst_row_t *row, const orch_block_t *block,
                        int depth, orch_instance_t **out, orch_error_t *err)
{
    bool foreign = strcmp(row->owner, b->sub_id) != 0;
    orch_instance_t *in = NULL;
    orch_err_t rc;

    *out = NULL;
    if (depth > ORCH_SUB_DEPTH_MAX)
        return internal(err, "stored instance %s is nested deeper than %d (a cycle?)", row->id,
                        ORCH_SUB_DEPTH_MAX);
    if (!foreign && row->used)
        return internal(err, "stored instance %s appears twice in the tree of subscription %s",
                        row->id, b->sub_id);
    row->used = true;
    in = orch__inst_new(block, row->owner, row->id, foreign);
    in->loaded = true;
    in->label = row->label ? orch_strdup(row->label) : NULL;
    rc = attach_values(b, in, err);
    if (!rc)
        rc = attach_children(b, in, depth, err);
    if (rc)
        orch__inst_free(in);
    else
        *out = in;
    return rc;
}

/* Rows left over after the walk: a problem unless they belong to an instance of another
 * subscription that nothing here refers to (the store may load a little too much). */
static bool ignorable(orch_sub_builder_t *b, const char *id)
{
    inst_row_t *r = find_inst(b, id);
    return r && strcmp(r->owner, b->sub_id) != 0 && !r->used;
}

static orch_err_t check_leftovers(orch_sub_builder_t *b, orch_error_t *err)
{
    for (size_t i = 0; i < b->ninsts; i++)
        if (!b->insts[i].used && strcmp(b->insts[i].owner, b->sub_id) == 0)
            return internal(err,
                            "stored instance %s of subscription %s is not reachable from "
                            "its root block",
                            b->insts[i].id, b->sub_id);
    for (size_t i = 0; i < b->nvalues; i++)
        if (!b->values[i].used && !ignorable(b, b->values[i].id))
            return internal(err,
                            "stored value '%s' belongs to instance %s, which is not in the "
                            "tree of subscription %s",
                            b->values[i].resource_type, b->values[i].id, b->sub_id);
    for (size_t i = 0; i < b->nrels; i++)
        if (!b->rels[i].used && !ignorable(b, b->rels[i].parent))
            return internal(err,
                            "stored relation %s.%s[%d] does not fit the tree of "
                            "subscription %s",
                            b->rels[i].parent, b->rels[i].attribute, b->rels[i].position,
                            b->sub_id);
    return ORCH_OK;
}

orch_err_t orch_sub_builder_finish(orch_sub_builder_t *b, orch_subscription_t **out,
                                   orch_error_t *err)
{
    const orch_product_t *product;
    orch_subscription_t *sub = NULL;
    inst_row_t *root = NULL;
    orch_sub_status_t status;
    orch_err_t rc = ORCH_OK;

    *out = NULL;
    if (b->finished)
        return internal(err, "a subscription builder is finished once");
    b->finished = true;
    if (b->bad[0])
        return internal(err, "stored subscription data: %s", b->bad);
    if (!b->have_sub)
        return internal(err, "no subscription row was given");
    product = orch_uuid_valid(b->product) ? orch_catalog_find_product_id(b->cat, b->product) : NULL;
    if (!product)
        product = orch_catalog_find_product(b->cat, b->product);
    if (!product)
        return internal(err,
                        "subscription %s is of product '%s', which the catalogue does not "
                        "have",
                        b->sub_id, b->product);
    status = orch_sub_status_parse(b->status);
    if (!status)
        return internal(err, "subscription %s has unknown status '%s'", b->sub_id, b->status);

    /* (qsort and bsearch must not see the NULL of an empty array.) */
    if (b->ninsts)
        qsort(b->insts, b->ninsts, sizeof(*b->insts), cmp_inst);
    if (b->nvalues)
        qsort(b->values, b->nvalues, sizeof(*b->values), cmp_value);
    if (b->nrels)
        qsort(b->rels, b->nrels, sizeof(*b->rels), cmp_rel);
    for (size_t i = 0; i < b->ninsts; i++) {
        b->insts[i].has_parent = b->insts[i].used = false;
        if (i > 0 && strcmp(b->insts[i - 1].id, b->insts[i].id) == 0)
            return internal(err, "stored instance %s was given twice", b->insts[i].id);
    }
    for (size_t i = 0; i < b->nvalues; i++)
        b->values[i].used = false;
    for (size_t i = 0; i < b->nrels; i++) {
        inst_row_t *p = find_inst(b, b->rels[i].parent), *c = find_inst(b, b->rels[i].child);
        b->rels[i].used = false;
        if (p && c && strcmp(p->owner, b->sub_id) == 0)
            c->has_parent = true;
    }
    for (size_t i = 0; i < b->ninsts; i++) {
        if (b->insts[i].has_parent || strcmp(b->insts[i].owner, b->sub_id) != 0)
            continue;
        if (root)
            return internal(err, "subscription %s has two root instances (%s and %s)", b->sub_id,
                            root->id, b->insts[i].id);
        root = &b->insts[i];
    }
    if (!root)
        return internal(err, "subscription %s has no root instance", b->sub_id);
    if (!block_is(product->root, root->block))
        return internal(err,
                        "subscription %s: root instance %s is a '%s', but product '%s' "
                        "has root block %s",
                        b->sub_id, root->id, root->block, product->def->name,
                        product->root->def->name);

    sub = orch__sub_alloc(product);
    snprintf(sub->id, sizeof(sub->id), "%s", b->sub_id);
    rc = build(b, root, product->root, 1, &sub->root, err);
    if (rc)
        goto out;
    rc = check_leftovers(b, err);
    if (rc)
        goto out;
    free(sub->customer_id);
    free(sub->description);
    sub->customer_id = orch_strdup(b->customer_id);
    sub->description = orch_strdup(b->description);
    sub->note = b->note ? orch_strdup(b->note) : NULL;
    sub->status = status;
    sub->in_sync = b->in_sync;
    sub->version = b->version;
    sub->start_time_us = b->start_time_us;
    sub->end_time_us = b->end_time_us;
    sub->create_time_us = b->create_time_us;
    sub->update_time_us = b->update_time_us;
    if (b->metadata) {
        /* Handed over, not copied: a builder is finished once. */
        json_decref(sub->metadata);
        sub->metadata = b->metadata;
        b->metadata = NULL;
    }
    sub->metadata_version = b->metadata_version;
    if (b->ncds) {
        sub->customer_descriptions = orch_calloc(b->ncds, sizeof(*sub->customer_descriptions));
        for (size_t i = 0; i < b->ncds; i++) {
            sub->customer_descriptions[i] = b->cds[i];
            sub->customer_descriptions[i].customer_id = orch_strdup(b->cds[i].customer_id);
            sub->customer_descriptions[i].description = orch_strdup(b->cds[i].description);
        }
        sub->ncustomer_descriptions = b->ncds;
    }
    orch_sub_set_in_use_by(sub, b->users, b->nusers);
    *out = sub;
    sub = NULL;
out:
    orch_subscription_free(sub);
    return rc;
}
