/* A subscription as JSON: the document process state holds and GetSubscription shows as its
 * domain model, given once as a walk of events (orch_sub_model_walk) that the jansson tree here
 * and the server's protobuf encoder both follow; and its inverse, which feeds the same builder
 * as the store so that both loads apply the same checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

/* Keys of an instance object that are not fields or children. */
static const char *const meta_keys[] = {"subscription_instance_id", "owner_subscription_id", "name",
                                        "label", NULL};

static bool is_meta_key(const char *k)
{
    for (const char *const *m = meta_keys; *m; m++)
        if (strcmp(*m, k) == 0)
            return true;
    return false;
}

/* jansson returns NULL only when out of memory (our texts are checked UTF-8): abort there,
 * as orch_malloc does. */
static void put(json_t *o, const char *key, json_t *v)
{
    orch_assert(v && json_object_set_new(o, key, v) == 0);
}

/* ---- The model as events ----------------------------------------------------------------- */

static void emit_str(const orch_sub_model_sink_t *k, void *ud, const char *key, const char *s)
{
    k->key(ud, key);
    if (s)
        k->string(ud, s);
    else
        k->null(ud);
}

static void emit_int(const orch_sub_model_sink_t *k, void *ud, const char *key, int64_t v)
{
    k->key(ud, key);
    k->integer(ud, v);
}

static void emit_time(const orch_sub_model_sink_t *k, void *ud, const char *key, int64_t us)
{
    char buf[48];
    k->key(ud, key);
    if (!us) {
        k->null(ud);
        return;
    }
    orch__time_format(us, buf, sizeof(buf));
    k->string(ud, buf);
}

static void emit_value(const orch_sub_model_sink_t *k, void *ud, const orch_field_def_t *f,
                       const char *text)
{
    switch (f->type) {
    case ORCH_FIELD_INTEGER:
        k->integer(ud, strtoll(text, NULL, 10));
        break;
    case ORCH_FIELD_BOOLEAN:
        k->boolean(ud, strcmp(text, "true") == 0);
        break;
    default:
        k->string(ud, text);
    }
}

static void emit_inst(const orch_sub_model_sink_t *k, void *ud, const orch_instance_t *in)
{
    const orch_block_def_t *d = in->block->def;

    k->begin_object(ud);
    emit_str(k, ud, "subscription_instance_id", in->id);
    emit_str(k, ud, "owner_subscription_id", in->subscription_id);
    emit_str(k, ud, "name", d->name);
    if (in->foreign && !in->loaded) {
        k->end_object(ud);
        return;
    }
    emit_str(k, ud, "label", in->label);
    for (size_t i = 0; i < in->block->nfields; i++) {
        const orch_values_t *v = &in->values[i];
        k->key(ud, d->fields[i].name);
        if (d->fields[i].is_list) {
            k->begin_array(ud);
            for (size_t j = 0; j < v->n; j++)
                emit_value(k, ud, &d->fields[i], v->items[j]);
            k->end_array(ud);
        } else if (v->n) {
            emit_value(k, ud, &d->fields[i], v->items[0]);
        } else {
            k->null(ud);
        }
    }
    for (size_t i = 0; i < in->block->nchildren; i++) {
        const orch_children_t *c = &in->children[i];
        k->key(ud, d->children[i].name);
        if (d->children[i].max_count > 1) {
            k->begin_array(ud);
            for (size_t j = 0; j < c->n; j++)
                emit_inst(k, ud, c->items[j]);
            k->end_array(ud);
        } else if (c->n) {
            emit_inst(k, ud, c->items[0]);
        } else {
            k->null(ud);
        }
    }
    k->end_object(ud);
}

void orch_sub_model_walk(const orch_subscription_t *sub, const orch_sub_model_sink_t *k, void *ud)
{
    orch_sub_link_t *links;
    size_t n;

    k->begin_object(ud);
    emit_str(k, ud, "subscription_id", sub->id);
    k->key(ud, "product");
    k->begin_object(ud);
    emit_str(k, ud, "product_id", sub->product->id);
    emit_str(k, ud, "name", sub->product->def->name);
    emit_str(k, ud, "product_type", sub->product->def->product_type);
    emit_str(k, ud, "tag", sub->product->def->tag);
    k->end_object(ud);
    emit_str(k, ud, "customer_id", sub->customer_id);
    emit_str(k, ud, "description", sub->description);
    emit_str(k, ud, "note", sub->note);
    emit_str(k, ud, "status", orch_sub_status_name(sub->status));
    k->key(ud, "in_sync");
    k->boolean(ud, sub->in_sync);
    emit_time(k, ud, "start_time", sub->start_time_us);
    emit_time(k, ud, "end_time", sub->end_time_us);
    emit_time(k, ud, "create_time", sub->create_time_us);
    emit_time(k, ud, "update_time", sub->update_time_us);
    emit_int(k, ud, "version", sub->version);
    k->key(ud, "metadata");
    k->json(ud, sub->metadata);
    emit_int(k, ud, "metadata_version", sub->metadata_version);
    k->key(ud, "customer_descriptions");
    k->begin_array(ud);
    for (size_t i = 0; i < sub->ncustomer_descriptions; i++) {
        const orch_customer_description_t *cd = &sub->customer_descriptions[i];
        k->begin_object(ud);
        emit_str(k, ud, "customer_description_id", cd->id);
        emit_str(k, ud, "customer_id", cd->customer_id);
        emit_str(k, ud, "description", cd->description);
        emit_int(k, ud, "version", cd->version);
        emit_time(k, ud, "create_time", cd->create_time_us);
        emit_time(k, ud, "update_time", cd->update_time_us);
        k->end_object(ud);
    }
    k->end_array(ud);
    k->key(ud, "in_use_by_ids");
    k->begin_array(ud);
    for (size_t i = 0; i < sub->nin_use_by; i++)
        k->string(ud, sub->in_use_by[i].subscription_id);
    k->end_array(ud);
    links = orch_sub_depends_on(sub, &n);
    k->key(ud, "depends_on_ids");
    k->begin_array(ud);
    for (size_t i = 0; i < n; i++)
        k->string(ud, links[i].subscription_id);
    k->end_array(ud);
    free(links);
    k->key(ud, "block");
    emit_inst(k, ud, sub->root);
    k->end_object(ud);
}

/* Whether the keys of every instance object differ: the four fixed ones, the field names and
 * the child names of its block. The catalogue does not enforce it; when they collide, a JSON
 * object keeps the first key's place and the last value, which only a real object can do. */
/* Key i of an instance object of block b: the four fixed keys, then fields, then children. */
static const char *inst_key(const orch_block_t *b, size_t i)
{
    if (i < 4)
        return meta_keys[i];
    i -= 4;
    return i < b->nfields ? b->def->fields[i].name : b->def->children[i - b->nfields].name;
}

static bool block_keys_unique(const orch_block_t *b)
{
    size_t n = 4 + b->nfields + b->nchildren;
    for (size_t i = 0; i < n; i++) {
        const char *x = inst_key(b, i);
        for (size_t j = i + 1; j < n; j++) {
            const char *y = inst_key(b, j);
            if (x[0] == y[0] && strcmp(x, y) == 0)
                return false;
        }
    }
    return true;
}

/* The blocks already found fine in this walk: a tree repeats a few blocks many times. */
typedef struct seen {
    const orch_block_t *b[16];
    size_t n;
} seen_t;

static bool inst_keys_unique(const orch_instance_t *in, int depth, seen_t *seen)
{
    size_t k = 0;
    if (depth > ORCH_SUB_DEPTH_MAX + 1)
        return false;
    if (in->foreign && !in->loaded)
        return true;
    while (k < seen->n && seen->b[k] != in->block)
        k++;
    if (k == seen->n) {
        if (!block_keys_unique(in->block))
            return false;
        if (seen->n < sizeof(seen->b) / sizeof(seen->b[0]))
            seen->b[seen->n++] = in->block;
    }
    for (size_t i = 0; i < in->block->nchildren; i++)
        for (size_t j = 0; j < in->children[i].n; j++)
            if (!inst_keys_unique(in->children[i].items[j], depth + 1, seen))
                return false;
    return true;
}

bool orch_sub_model_keys_unique(const orch_subscription_t *sub)
{
    seen_t seen = {.n = 0};
    return inst_keys_unique(sub->root, 0, &seen);
}

/* ---- The model as a jansson tree --------------------------------------------------------- */

/* The containers open while walking and the key the next value goes under. */
typedef struct jsink {
    json_t *stack[2 * ORCH_SUB_DEPTH_MAX + 8];
    int top; /* -1: nothing open */
    const char *key;
    json_t *root;
} jsink_t;

static void j_add(jsink_t *s, json_t *v)
{
    orch_assert(v);
    if (s->top < 0) {
        s->root = v;
        return;
    }
    if (json_is_object(s->stack[s->top]))
        put(s->stack[s->top], s->key, v);
    else
        orch_assert(json_array_append_new(s->stack[s->top], v) == 0);
}

static void j_open(jsink_t *s, json_t *c)
{
    j_add(s, c);
    orch_assert(s->top + 1 < (int)(sizeof(s->stack) / sizeof(s->stack[0])));
    s->stack[++s->top] = c;
}

static void j_begin_object(void *ud)
{
    j_open(ud, json_object());
}
static void j_begin_array(void *ud)
{
    j_open(ud, json_array());
}
static void j_end(void *ud)
{
    ((jsink_t *)ud)->top--;
}
static void j_key(void *ud, const char *key)
{
    ((jsink_t *)ud)->key = key;
}
static void j_string(void *ud, const char *s)
{
    j_add(ud, json_string(s));
}
static void j_integer(void *ud, int64_t v)
{
    j_add(ud, json_integer(v));
}
static void j_boolean(void *ud, bool v)
{
    j_add(ud, json_boolean(v));
}
static void j_null(void *ud)
{
    j_add(ud, json_null());
}
static void j_json(void *ud, const json_t *v)
{
    j_add(ud, json_deep_copy(v));
}

json_t *orch_sub_to_json(const orch_subscription_t *sub)
{
    static const orch_sub_model_sink_t sink = {
        .begin_object = j_begin_object,
        .end_object = j_end,
        .begin_array = j_begin_array,
        .end_array = j_end,
        .key = j_key,
        .string = j_string,
        .integer = j_integer,
        .boolean = j_boolean,
        .null = j_null,
        .json = j_json,
    };
    jsink_t s = {.top = -1};
    orch_sub_model_walk(sub, &sink, &s);
    return s.root;
}

/* ---- From JSON --------------------------------------------------------------------------- */

typedef struct reader {
    const orch_catalog_t *cat;
    orch_sub_builder_t *b;
    const char *sub_id;
    orch_error_t *err;
} reader_t;

/* Optional string member: NULL when absent or null; INVALID_ARGUMENT when another type. */
static orch_err_t get_string(const json_t *o, const char *key, const char *where, const char **out,
                             orch_error_t *err)
{
    const json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return ORCH_OK;
    if (!json_is_string(v))
        return orch_error_invalid(err, where, "'%s' must be a string", key);
    *out = json_string_value(v);
    return ORCH_OK;
}

static orch_err_t get_time(const json_t *o, const char *key, const char *where, int64_t *out,
                           orch_error_t *err)
{
    const char *s;
    orch_err_t rc = get_string(o, key, where, &s, err);
    *out = 0;
    if (rc || !s)
        return rc;
    if (!orch__time_parse(s, out))
        return orch_error_invalid(err, where, "'%s' must be an RFC 3339 UTC time", key);
    return ORCH_OK;
}

static orch_err_t value_text(const json_t *v, char *buf, size_t len, const char **out)
{
    if (json_is_string(v))
        *out = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v)), *out = buf;
    else if (json_is_boolean(v))
        *out = json_is_true(v) ? "true" : "false";
    else
        return ORCH_INVALID_ARGUMENT;
    return ORCH_OK;
}

static orch_err_t read_inst(reader_t *r, const json_t *o, char *path, size_t plen, int depth);

static orch_err_t read_child(reader_t *r, const char *parent_id, const char *attr, int pos,
                             const json_t *c, char *path, size_t plen, int depth)
{
    const char *id, *owner;
    if (!json_is_object(c))
        return orch_error_invalid(r->err, path, "must be a block object");
    id = json_string_value(json_object_get(c, "subscription_instance_id"));
    owner = json_string_value(json_object_get(c, "owner_subscription_id"));
    orch_sub_builder_relation(r->b, parent_id, attr, pos, id, owner);
    return read_inst(r, c, path, plen, depth + 1);
}

static orch_err_t read_inst(reader_t *r, const json_t *o, char *path, size_t plen, int depth)
{
    const char *id, *owner, *name, *label, *key;
    const orch_block_t *blk;
    const json_t *v;
    bool loaded = false;
    orch_err_t rc;

    if (depth > ORCH_SUB_DEPTH_MAX)
        return orch_error_invalid(r->err, path, "nested deeper than %d", ORCH_SUB_DEPTH_MAX);
    if ((rc = get_string(o, "subscription_instance_id", path, &id, r->err)) ||
        (rc = get_string(o, "owner_subscription_id", path, &owner, r->err)) ||
        (rc = get_string(o, "name", path, &name, r->err)) ||
        (rc = get_string(o, "label", path, &label, r->err)))
        return rc;
    if (!id || !owner || !name)
        return orch_error_invalid(r->err, path,
                                  "a block needs subscription_instance_id, "
                                  "owner_subscription_id and name");
    blk = orch_catalog_find_block(r->cat, name);
    if (!blk)
        return orch_error_invalid(r->err, path, "unknown product block '%.60s'", name);
    json_object_foreach((json_t *)o, key, v) loaded = loaded || !is_meta_key(key);
    /* A reference to another subscription's block carries its content only when loaded. */
    if (strcmp(owner, r->sub_id) == 0 || loaded)
        orch_sub_builder_instance(r->b, id, owner, blk->id[0] ? blk->id : name, label);
    json_object_foreach((json_t *)o, key, v)
    {
        size_t klen = plen + (size_t)snprintf(path + plen, 512 - plen, ".%s", key);
        bool is_field = orch__field_index(blk, key, strlen(key)) >= 0;
        if (klen >= 512)
            return orch_error_invalid(r->err, "block", "nested too deeply");
        if (is_meta_key(key) || json_is_null(v)) {
            path[plen] = '\0';
            continue;
        }
        if (is_field) {
            char buf[32];
            const char *text;
            const json_t *e;
            size_t j;
            if (!json_is_array(v)) {
                if (value_text(v, buf, sizeof(buf), &text))
                    return orch_error_invalid(r->err, path,
                                              "must be a string, integer or "
                                              "boolean");
                orch_sub_builder_value(r->b, id, key, 0, text);
            } else {
                json_array_foreach(v, j, e)
                {
                    if (value_text(e, buf, sizeof(buf), &text))
                        return orch_error_invalid(r->err, path,
                                                  "must hold strings, integers "
                                                  "or booleans");
                    orch_sub_builder_value(r->b, id, key, (int)j, text);
                }
            }
        } else {
            if (orch__child_index(blk, key, strlen(key)) < 0)
                return orch_error_invalid(r->err, path, "%s has no field or child '%s'",
                                          blk->def->name, key);
            if (json_is_array(v)) {
                const json_t *e;
                size_t j;
                json_array_foreach(v, j, e)
                {
                    size_t elen = klen + (size_t)snprintf(path + klen, 512 - klen, "[%zu]", j);
                    if (elen >= 512)
                        return orch_error_invalid(r->err, "block", "nested too deeply");
                    rc = read_child(r, id, key, (int)j, e, path, elen, depth);
                    if (rc)
                        return rc;
                }
            } else {
                rc = read_child(r, id, key, 0, v, path, klen, depth);
                if (rc)
                    return rc;
            }
        }
        path[plen] = '\0';
    }
    return ORCH_OK;
}

orch_err_t orch_sub_from_json(const orch_catalog_t *cat, const json_t *json,
                              orch_subscription_t **out, orch_error_t *err)
{
    orch_sub_builder_t *b = NULL;
    orch_sub_row_t row;
    const json_t *product, *v, *e, *block;
    const char *product_name;
    char path[512] = "block";
    reader_t r;
    size_t i;
    orch_err_t rc;

    *out = NULL;
    memset(&row, 0, sizeof(row));
    if (!json_is_object(json))
        return orch_error_invalid(err, "subscription", "must be a JSON object");
    product = json_object_get(json, "product");
    block = json_object_get(json, "block");
    if (!json_is_object(product))
        return orch_error_invalid(err, "product", "must be an object");
    if (!json_is_object(block))
        return orch_error_invalid(err, "block", "must be an object");
    if ((rc = get_string(json, "subscription_id", "subscription_id", &row.subscription_id, err)) ||
        (rc = get_string(product, "product_id", "product.product_id", &row.product_id, err)) ||
        (rc = get_string(product, "name", "product.name", &product_name, err)) ||
        (rc = get_string(json, "customer_id", "customer_id", &row.customer_id, err)) ||
        (rc = get_string(json, "description", "description", &row.description, err)) ||
        (rc = get_string(json, "note", "note", &row.note, err)) ||
        (rc = get_string(json, "status", "status", &row.status, err)) ||
        (rc = get_time(json, "start_time", "start_time", &row.start_time_us, err)) ||
        (rc = get_time(json, "end_time", "end_time", &row.end_time_us, err)) ||
        (rc = get_time(json, "create_time", "create_time", &row.create_time_us, err)) ||
        (rc = get_time(json, "update_time", "update_time", &row.update_time_us, err)))
        return rc;
    if (!row.product_id || !*row.product_id)
        row.product_id = product_name;
    if (!orch_uuid_valid(row.subscription_id))
        return orch_uuid_check(row.subscription_id, "subscription_id", err);
    if (!row.product_id || !row.customer_id || !row.status)
        return orch_error_invalid(err, "subscription",
                                  "product, customer_id and status are "
                                  "required");
    row.in_sync = json_is_true(json_object_get(json, "in_sync"));
    row.version = json_integer_value(json_object_get(json, "version"));

    b = orch_sub_builder_new(cat);
    orch_sub_builder_subscription(b, &row);
    v = json_object_get(json, "metadata");
    if (v && !json_is_object(v)) {
        rc = orch_error_invalid(err, "metadata", "must be an object");
        goto out;
    }
    orch_sub_builder_metadata(b, v, json_integer_value(json_object_get(json, "metadata_version")));
    json_array_foreach(json_object_get(json, "customer_descriptions"), i, e)
    {
        orch_customer_description_t cd;
        const char *id, *cust, *text;
        memset(&cd, 0, sizeof(cd));
        if ((rc = get_string(e, "customer_description_id", "customer_descriptions", &id, err)) ||
            (rc = get_string(e, "customer_id", "customer_descriptions", &cust, err)) ||
            (rc = get_string(e, "description", "customer_descriptions", &text, err)) ||
            (rc = get_time(e, "create_time", "customer_descriptions", &cd.create_time_us, err)) ||
            (rc = get_time(e, "update_time", "customer_descriptions", &cd.update_time_us, err)))
            goto out;
        snprintf(cd.id, sizeof(cd.id), "%s", id ? id : "");
        cd.customer_id = (char *)cust;
        cd.description = (char *)text;
        cd.version = json_integer_value(json_object_get(e, "version"));
        orch_sub_builder_customer_description(b, &cd);
    }
    json_array_foreach(json_object_get(json, "in_use_by_ids"), i, e)
        orch_sub_builder_in_use_by(b, json_string_value(e), NULL);
    r.cat = cat;
    r.b = b;
    r.sub_id = row.subscription_id;
    r.err = err;
    rc = read_inst(&r, block, path, strlen(path), 1);
    if (rc)
        goto out;
    rc = orch_sub_builder_finish(b, out, err);
out:
    orch_sub_builder_free(b);
    return rc;
}
