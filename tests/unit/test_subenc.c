/* GetSubscription's miss-path encoder (server/services/subenc.c) against the reference: its
 * bytes equal packing srv_subscription_to_pb's message, FULL and BASIC, for trees of every
 * shape the example catalogue and a test block give (loaded and unloaded references, lists,
 * metadata of every JSON kind, long texts, old times, repeated keys); the domain model's walk
 * (orch_sub_model_walk) gives the document the former orch_sub_to_json gave, key order
 * included (its code is kept here as the reference); and the answer holds the expected
 * fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "domain/catalog/catalog.h"
#include "domain/subscription/subscription.h"
#include "server/services/subpb.h"

/* A test-only block with lists, every field type, and a product around it; and a block whose
 * field and child names repeat the instance object's fixed keys. */
static const char *const colour_choices[] = {"red", "green", NULL};
static const orch_field_def_t misc_fields[] = {
    {"addresses", ORCH_FIELD_IP_PREFIX, true, true, "Prefixes", NULL},
    {"peer_id", ORCH_FIELD_UUID, false, false, "Some id", NULL},
    {"colour", ORCH_FIELD_STRING, false, false, "A colour", colour_choices},
    {"count", ORCH_FIELD_INTEGER, false, false, "A number", NULL},
    {"counts", ORCH_FIELD_INTEGER, false, true, "Numbers", NULL},
    {"flags", ORCH_FIELD_BOOLEAN, false, true, "Flags", NULL},
    {0},
};
static const orch_block_def_t misc_block = {"MiscBlock", "Test block", "MISC", misc_fields, NULL};
static const orch_product_def_t misc_product = {
    "misc", "Test product", "Misc", "MISC", ORCH_PRODUCT_ACTIVE, "MiscBlock", NULL, NULL};
static const orch_field_def_t clash_fields[] = {
    {"name", ORCH_FIELD_STRING, false, false, "Clashes with the block name key", NULL},
    {"other", ORCH_FIELD_STRING, false, false, "A field", NULL},
    {0},
};
static const orch_child_def_t clash_children[] = {
    {"other", "MiscBlock", 0, 1, false},
    {0},
};
static const orch_block_def_t clash_block = {"ClashBlock", "Test block", "CLASH", clash_fields,
                                             clash_children};
static const orch_product_def_t clash_product = {
    "clash", "Test product", "Clash", "CLASH", ORCH_PRODUCT_ACTIVE, "ClashBlock", NULL, NULL};

static orch_catalog_t *cat;
static orch_error_t err;

#define OK(call)                                                                                   \
    do {                                                                                           \
        orch_err_t rc_ = (call);                                                                   \
        if (rc_)                                                                                   \
            print_error("%s\n", err.message);                                                      \
        assert_int_equal(rc_, ORCH_OK);                                                            \
    } while (0)

static int setup(void **state)
{
    (void)state;
    cat = orch_catalog_new();
    orch_catalog_load_example(cat);
    orch_catalog_add_block(cat, &misc_block);
    orch_catalog_add_product(cat, &misc_product);
    orch_catalog_add_block(cat, &clash_block);
    orch_catalog_add_product(cat, &clash_product);
    orch_error_init(&err);
    OK(orch_catalog_validate(cat, &err));
    for (size_t i = 0; i < orch_catalog_nproducts(cat); i++)
        snprintf(orch_catalog_product_at(cat, i)->id, 37, "00000000-0000-4000-8000-%012u",
                 (unsigned)(i + 1) % 1000u);
    for (size_t i = 0; i < orch_catalog_nblocks(cat); i++)
        snprintf(orch_catalog_block_at(cat, i)->id, 37, "00000000-0000-4000-9000-%012u",
                 (unsigned)(i + 1) % 1000u);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    orch_catalog_free(cat);
    return 0;
}

/* ---- The reference: orch_sub_to_json as it was before the walk (git 1b620fe) ------------- */

static void put(json_t *o, const char *key, json_t *v)
{
    orch_assert(v && json_object_set_new(o, key, v) == 0);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *time_json(int64_t us)
{
    char buf[48];
    time_t t = (time_t)(us / 1000000);
    long frac = (long)(us % 1000000);
    struct tm tm;
    if (!us)
        return json_null();
    if (frac < 0) {
        frac += 1000000;
        t -= 1;
    }
    gmtime_r(&t, &tm);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return json_string(buf);
}

static json_t *value_json(const orch_field_def_t *f, const char *text)
{
    switch (f->type) {
    case ORCH_FIELD_INTEGER:
        return json_integer(strtoll(text, NULL, 10));
    case ORCH_FIELD_BOOLEAN:
        return json_boolean(strcmp(text, "true") == 0);
    default:
        return json_string(text);
    }
}

static json_t *inst_json(const orch_instance_t *in)
{
    const orch_block_def_t *d = in->block->def;
    json_t *o = json_object();

    orch_assert(o);
    put(o, "subscription_instance_id", json_string(in->id));
    put(o, "owner_subscription_id", json_string(in->subscription_id));
    put(o, "name", json_string(d->name));
    if (in->foreign && !in->loaded)
        return o;
    put(o, "label", str_or_null(in->label));
    for (size_t i = 0; i < in->block->nfields; i++) {
        const orch_values_t *v = &in->values[i];
        if (d->fields[i].is_list) {
            json_t *a = json_array();
            orch_assert(a);
            for (size_t j = 0; j < v->n; j++)
                orch_assert(json_array_append_new(a, value_json(&d->fields[i], v->items[j])) == 0);
            put(o, d->fields[i].name, a);
        } else {
            put(o, d->fields[i].name, v->n ? value_json(&d->fields[i], v->items[0]) : json_null());
        }
    }
    for (size_t i = 0; i < in->block->nchildren; i++) {
        const orch_children_t *c = &in->children[i];
        if (d->children[i].max_count > 1) {
            json_t *a = json_array();
            orch_assert(a);
            for (size_t j = 0; j < c->n; j++)
                orch_assert(json_array_append_new(a, inst_json(c->items[j])) == 0);
            put(o, d->children[i].name, a);
        } else {
            put(o, d->children[i].name, c->n ? inst_json(c->items[0]) : json_null());
        }
    }
    return o;
}

static json_t *reference_to_json(const orch_subscription_t *sub)
{
    json_t *o = json_object(), *product = json_object(), *cds = json_array();
    json_t *users = json_array(), *deps = json_array();
    orch_sub_link_t *links;
    size_t n;

    orch_assert(o && product && cds && users && deps);
    put(o, "subscription_id", json_string(sub->id));
    put(product, "product_id", json_string(sub->product->id));
    put(product, "name", json_string(sub->product->def->name));
    put(product, "product_type", str_or_null(sub->product->def->product_type));
    put(product, "tag", str_or_null(sub->product->def->tag));
    put(o, "product", product);
    put(o, "customer_id", json_string(sub->customer_id));
    put(o, "description", json_string(sub->description));
    put(o, "note", str_or_null(sub->note));
    put(o, "status", json_string(orch_sub_status_name(sub->status)));
    put(o, "in_sync", json_boolean(sub->in_sync));
    put(o, "start_time", time_json(sub->start_time_us));
    put(o, "end_time", time_json(sub->end_time_us));
    put(o, "create_time", time_json(sub->create_time_us));
    put(o, "update_time", time_json(sub->update_time_us));
    put(o, "version", json_integer(sub->version));
    put(o, "metadata", json_deep_copy(sub->metadata));
    put(o, "metadata_version", json_integer(sub->metadata_version));
    for (size_t i = 0; i < sub->ncustomer_descriptions; i++) {
        const orch_customer_description_t *cd = &sub->customer_descriptions[i];
        json_t *c = json_object();
        orch_assert(c);
        put(c, "customer_description_id", json_string(cd->id));
        put(c, "customer_id", json_string(cd->customer_id));
        put(c, "description", json_string(cd->description));
        put(c, "version", json_integer(cd->version));
        put(c, "create_time", time_json(cd->create_time_us));
        put(c, "update_time", time_json(cd->update_time_us));
        orch_assert(json_array_append_new(cds, c) == 0);
    }
    put(o, "customer_descriptions", cds);
    for (size_t i = 0; i < sub->nin_use_by; i++)
        orch_assert(json_array_append_new(users, json_string(sub->in_use_by[i].subscription_id)) ==
                    0);
    put(o, "in_use_by_ids", users);
    links = orch_sub_depends_on(sub, &n);
    for (size_t i = 0; i < n; i++)
        orch_assert(json_array_append_new(deps, json_string(links[i].subscription_id)) == 0);
    free(links);
    put(o, "depends_on_ids", deps);
    put(o, "block", inst_json(sub->root));
    return o;
}

/* ---- Subscriptions to encode -------------------------------------------------------------- */

static orch_subscription_t *new_sub(const char *product)
{
    orch_subscription_t *sub = NULL;
    const orch_product_t *p = orch_catalog_find_product(cat, product);
    assert_non_null(p);
    OK(orch_subscription_new_from_product(p, "customer-1", &sub, &err));
    return sub;
}

static void fill_node(orch_subscription_t *n, const char *name)
{
    OK(orch_sub_set_int(n, "role_id", 1, &err));
    OK(orch_sub_set_int(n, "type_id", 2, &err));
    OK(orch_sub_set_int(n, "site_id", -3, &err));
    OK(orch_sub_set_str(n, "node_status", "active", &err));
    OK(orch_sub_set_str(n, "node_name", name, &err));
    OK(orch_sub_set_int(n, "ims_id", 4, &err));
    OK(orch_sub_set_int(n, "nrm_id", 5, &err));
    OK(orch_sub_set_int(n, "ipv4_ipam_id", 6, &err));
    OK(orch_sub_set_int(n, "ipv6_ipam_id", 7, &err));
}

static void fill_port(orch_subscription_t *p, const orch_subscription_t *node, const char *name)
{
    OK(orch_sub_set_str(p, "port_name", name, &err));
    OK(orch_sub_set_str(p, "port_type", "10GBASE-LR", &err));
    OK(orch_sub_set_str(p, "port_mode", "tagged", &err));
    OK(orch_sub_set_bool(p, "auto_negotiation", false, &err));
    OK(orch_sub_set_bool(p, "lldp", true, &err));
    OK(orch_sub_set_bool(p, "enabled", true, &err));
    OK(orch_sub_set_int(p, "ims_id", 10, &err));
    OK(orch_sub_set_int(p, "nrm_id", 11, &err));
    OK(orch_sub_set_reference(p, "node", node->id, node->root->id, &err));
}

/* Feeds the builder with sub's rows, and with the rows of the instances of `loaded` (other
 * subscriptions) so that its references to them come back loaded, as the store loads them. */
static orch_subscription_t *assemble(const orch_subscription_t *sub,
                                     const orch_subscription_t *const *loaded, size_t nloaded)
{
    orch_sub_builder_t *b = orch_sub_builder_new(cat);
    orch_subscription_t *out = NULL;
    orch_sub_flat_t f;
    orch_sub_row_t row = {sub->id,          sub->product->id,    sub->customer_id,
                          sub->description, sub->note,           orch_sub_status_name(sub->status),
                          sub->in_sync,     sub->version,        sub->start_time_us,
                          sub->end_time_us, sub->create_time_us, sub->update_time_us};

    orch_sub_builder_subscription(b, &row);
    orch_sub_builder_metadata(b, sub->metadata, sub->metadata_version);
    orch_sub_flatten(sub, &f);
    for (size_t k = 0; k < f.ninstances; k++)
        orch_sub_builder_instance(b, f.instances[k].id, sub->id, f.instances[k].block->id,
                                  f.instances[k].label);
    for (size_t k = 0; k < f.nvalues; k++)
        orch_sub_builder_value(b, f.values[k].instance_id, f.values[k].resource_type,
                               f.values[k].position, f.values[k].value);
    for (size_t k = 0; k < f.nrelations; k++)
        orch_sub_builder_relation(b, f.relations[k].parent_id, f.relations[k].attribute,
                                  f.relations[k].position, f.relations[k].child_id,
                                  f.relations[k].child_subscription_id);
    orch_sub_flat_cleanup(&f);
    for (size_t i = 0; i < nloaded; i++) {
        /* Only the root block of each: what the tree points at. */
        orch_sub_flatten(loaded[i], &f);
        orch_sub_builder_instance(b, f.instances[0].id, loaded[i]->id, f.instances[0].block->id,
                                  f.instances[0].label);
        for (size_t k = 0; k < f.nvalues; k++)
            if (strcmp(f.values[k].instance_id, f.instances[0].id) == 0)
                orch_sub_builder_value(b, f.values[k].instance_id, f.values[k].resource_type,
                                       f.values[k].position, f.values[k].value);
        orch_sub_flat_cleanup(&f);
    }
    for (size_t k = 0; k < sub->ncustomer_descriptions; k++)
        orch_sub_builder_customer_description(b, &sub->customer_descriptions[k]);
    for (size_t k = 0; k < sub->nin_use_by; k++)
        orch_sub_builder_in_use_by(b, sub->in_use_by[k].subscription_id,
                                   orch_sub_status_name(sub->in_use_by[k].status));
    OK(orch_sub_builder_finish(b, &out, &err));
    orch_sub_builder_free(b);
    return out;
}

/* ---- The checks --------------------------------------------------------------------------- */

static void assert_same_document(const orch_subscription_t *sub)
{
    json_t *now = orch_sub_to_json(sub), *ref = reference_to_json(sub);
    /* No JSON_SORT_KEYS: the order is part of what is compared. */
    char *a = json_dumps(now, JSON_COMPACT), *b = json_dumps(ref, JSON_COMPACT);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_decref(now);
    json_decref(ref);
}

static void assert_same_bytes(const orch_subscription_t *sub)
{
    assert_same_document(sub);
    for (int full = 0; full <= 1; full++) {
        orch_arena_t *a = orch_arena_new();
        const ProtobufCMessage *m = &srv_subscription_to_pb(a, sub, full)->base;
        size_t n = protobuf_c_message_get_packed_size(m), len = 0;
        uint8_t *want = orch_arena_alloc(a, n ? n : 1);
        const uint8_t *got;
        assert_int_equal(protobuf_c_message_pack(m, want), n);
        got = srv_subscription_encode(a, sub, full, &len);
        if (len != n || memcmp(got, want, n) != 0) {
            size_t i = 0;
            while (i < n && i < len && got[i] == want[i])
                i++;
            print_error("%s view: %zu bytes, want %zu; first difference at byte %zu\n",
                        full ? "FULL" : "BASIC", len, n, i);
            fail();
        }
        orch_arena_free(a);
    }
}

static void node_port_l2vpn(void **state)
{
    orch_subscription_t *node = new_sub("node Cisco"), *p1 = new_sub("port 10G");
    orch_subscription_t *p2 = new_sub("port 10G"), *l2 = new_sub("l2vpn"), *back;
    const orch_subscription_t *ports[2] = {p1, p2};
    orch_sub_link_t user;
    (void)state;

    fill_node(node, "rt1");
    fill_port(p1, node, "xe-0/0/1");
    fill_port(p2, node, "xe-0/0/2");
    OK(orch_sub_set_int(l2, "speed", 1000, &err));
    OK(orch_sub_set_bool(l2, "speed_policer", true, &err));
    OK(orch_sub_set_int(l2, "ims_id", 20, &err));
    OK(orch_sub_set_int(l2, "nrm_id", 21, &err));
    OK(orch_sub_set_int(l2, "saps[0].vlan", 100, &err));
    OK(orch_sub_set_int(l2, "saps[1].vlan", 4000, &err));
    OK(orch_sub_set_reference(l2, "saps[0].port", p1->id, p1->root->id, &err));
    OK(orch_sub_set_reference(l2, "saps[1].port", p2->id, p2->root->id, &err));
    OK(orch_sub_set_status(node, ORCH_SUB_ACTIVE, &err));
    OK(orch_sub_set_status(p1, ORCH_SUB_ACTIVE, &err));
    OK(orch_sub_set_status(l2, ORCH_SUB_ACTIVE, &err));
    p1->version = 3;
    l2->version = 300;
    memset(&user, 0, sizeof(user));
    snprintf(user.subscription_id, sizeof(user.subscription_id), "%s", l2->id);
    user.status = ORCH_SUB_ACTIVE;
    orch_sub_set_in_use_by(p1, &user, 1);

    /* As built in memory: references not loaded. */
    assert_same_bytes(node);
    assert_same_bytes(p1);
    assert_same_bytes(p2);
    assert_same_bytes(l2);
    /* As the store loads them: the port's node, the L2VPN's ports loaded. */
    back = assemble(p1, (const orch_subscription_t *const[]){node}, 1);
    assert_true(back->root->children[0].items[0]->loaded);
    assert_same_bytes(back);
    orch_subscription_free(back);
    back = assemble(l2, ports, 2);
    assert_same_bytes(back);
    orch_subscription_free(back);
    back = assemble(node, NULL, 0);
    assert_same_bytes(back);
    orch_subscription_free(back);

    orch_subscription_free(l2);
    orch_subscription_free(p2);
    orch_subscription_free(p1);
    orch_subscription_free(node);
}

/* Texts long enough for two- and three-byte lengths, metadata of every JSON kind, customer
 * descriptions, old and zero times, a note, lists with and without values. */
static void every_kind_of_value(void **state)
{
    orch_subscription_t *m = new_sub("misc");
    char *big = orch_malloc(20000);
    json_t *meta;
    (void)state;

    memset(big, 'x', 19999);
    big[19999] = '\0';
    OK(orch_sub_set_str(m, "addresses[0]", "10.0.0.0/8", &err));
    OK(orch_sub_set_str(m, "addresses[1]", "2001:db8::/32", &err));
    OK(orch_sub_set_str(m, "colour", "green", &err));
    OK(orch_sub_set_int(m, "count", -9007199254740992LL, &err));
    OK(orch_sub_set_int(m, "counts[0]", 0, &err));
    OK(orch_sub_set_int(m, "counts[1]", 123456789, &err));
    OK(orch_sub_set_bool(m, "flags[0]", false, &err));
    OK(orch_sub_set_bool(m, "flags[1]", true, &err));
    OK(orch_sub_set_note(m, "a note with ünïcode and \"quotes\"", &err));
    OK(orch_sub_set_description(m, big + 19999 - 1500, &err));
    assert_same_bytes(m);

    meta =
        json_pack("{s:s, s:i, s:f, s:b, s:b, s:n, s:[i, f, s, [], {}], s:{s:{s:[n]}}, s:s, "
                  "s:s, s:i}",
                  "ticket", "T-1", "count", 42, "ratio", 0.25, "yes", 1, "no", 0, "none", "list",
                  -1, -0.0, "", "nested", "a", "b", "", "empty key", "big", big + 10000, "zero", 0);
    assert_non_null(meta);
    json_decref(m->metadata);
    m->metadata = meta;
    m->metadata_version = 9;
    m->version = 1LL << 40;
    m->start_time_us = -86400000001LL; /* before 1970: a negative timestamp */
    m->end_time_us = 0;
    m->create_time_us = 1;
    m->update_time_us = 1733000000123456LL;
    m->in_sync = true;
    m->customer_descriptions = orch_calloc(2, sizeof(*m->customer_descriptions));
    m->ncustomer_descriptions = 2;
    for (int i = 0; i < 2; i++) {
        orch_customer_description_t *cd = &m->customer_descriptions[i];
        snprintf(cd->id, sizeof(cd->id), "00000000-0000-4000-a000-00000000000%d", i);
        cd->customer_id = orch_strdup(i ? "cust-2" : "cust-1");
        cd->description = orch_strdup(i ? big + 19000 : "alias");
        cd->version = i;
        cd->create_time_us = i ? 0 : 1000000;
        cd->update_time_us = 1733000000000001LL;
    }
    assert_same_bytes(m);
    OK(orch_sub_set_status(m, ORCH_SUB_TERMINATED, &err));
    assert_same_bytes(m);

    /* Times at the edges of the four-digit years, and one past them. */
    {
        static const int64_t times[] = {-62167219200000000LL,
                                        -62167219199999999LL,
                                        253402300799999999LL,
                                        253402300800000000LL,
                                        951782400000000LL /* 2000-02-29 */,
                                        -1};
        for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
            m->create_time_us = times[i];
            m->customer_descriptions[1].create_time_us = times[i];
            assert_same_bytes(m);
        }
    }

    /* Metadata that is not an object: an empty Struct at the top, its value in the model. */
    json_decref(m->metadata);
    m->metadata = json_pack("[i]", 1);
    assert_same_bytes(m);

    orch_subscription_free(m);
    free(big);
}

/* A block whose field is named like the block-name key and whose child is named like a
 * field: the document settles the repeats as a JSON object does, and the encoder agrees. */
static void repeated_keys(void **state)
{
    orch_subscription_t *c = new_sub("clash");
    (void)state;
    assert_false(orch_sub_model_keys_unique(c));
    OK(orch_sub_set_str(c, "name", "shadow", &err));
    OK(orch_sub_set_str(c, "other", "field", &err));
    assert_same_bytes(c);
    orch_subscription_free(c);
    c = new_sub("node Cisco");
    assert_true(orch_sub_model_keys_unique(c));
    orch_subscription_free(c);
}

/* What a client decodes from the answer: the expected fields, FULL and BASIC. */
static void answer_fields(void **state)
{
    orch_subscription_t *node = new_sub("node Cisco"), *port = new_sub("port 10G"), *back;
    (void)state;
    fill_node(node, "rt9");
    fill_port(port, node, "xe-9/9/9");
    OK(orch_sub_set_status(port, ORCH_SUB_ACTIVE, &err));
    back = assemble(port, (const orch_subscription_t *const[]){node}, 1);
    for (int full = 0; full <= 1; full++) {
        orch_arena_t *a = orch_arena_new();
        size_t len = 0;
        const uint8_t *bytes = srv_subscription_encode(a, back, full, &len);
        Orchestrator__V1__Subscription *s =
            orchestrator__v1__subscription__unpack(NULL, len, bytes);
        assert_non_null(s);
        assert_string_equal(s->subscription_id, port->id);
        assert_string_equal(s->product->name, "port 10G");
        assert_string_equal(s->customer_id, "customer-1");
        assert_int_equal(s->status,
                         ORCHESTRATOR__V1__SUBSCRIPTION_STATUS__SUBSCRIPTION_STATUS_ACTIVE);
        assert_non_null(s->start_time);
        assert_null(s->end_time);
        assert_int_equal(s->n_depends_on_subscription_ids, 1);
        assert_string_equal(s->depends_on_subscription_ids[0], node->id);
        if (!full) {
            assert_null(s->root_instance);
            assert_null(s->domain_model);
            assert_null(s->metadata);
        } else {
            Orchestrator__V1__SubscriptionInstance *r = s->root_instance;
            Orchestrator__V1__SubscriptionInstance *n;
            assert_non_null(r);
            assert_string_equal(r->product_block, "PortBlock");
            assert_string_equal(r->values[0]->name, "port_name");
            assert_string_equal(r->values[0]->values[0], "xe-9/9/9");
            assert_int_equal(r->n_children, 1);
            assert_true(r->children[0]->foreign);
            n = r->children[0]->instance;
            assert_string_equal(n->owner_subscription_id, node->id);
            assert_string_equal(n->product_block, "NodeBlock");
            assert_true(n->n_values > 0);
            assert_non_null(s->domain_model);
            assert_string_equal(s->domain_model->fields[0]->key, "subscription_id");
            assert_string_equal(s->domain_model->fields[0]->value->string_value, port->id);
            assert_string_equal(s->domain_model->fields[s->domain_model->n_fields - 1]->key,
                                "block");
        }
        orchestrator__v1__subscription__free_unpacked(s, NULL);
        orch_arena_free(a);
    }
    orch_subscription_free(back);
    orch_subscription_free(port);
    orch_subscription_free(node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(node_port_l2vpn),
        cmocka_unit_test(every_kind_of_value),
        cmocka_unit_test(repeated_keys),
        cmocka_unit_test(answer_fields),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
