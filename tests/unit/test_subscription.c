/* Unit tests of the subscription model: creation from each example product, fields and
 * children by path, lifecycle rules and required fields, references to other subscriptions'
 * blocks, and the store's flat view and builder (a round trip keeps the JSON identical). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "domain/catalog/catalog.h"
#include "domain/subscription/subscription.h"

/* A test-only block with the field types and list fields the example does not use. */
static const char *const colour_choices[] = {"red", "green", NULL};
static const orch_field_def_t misc_fields[] = {
    {"addresses", ORCH_FIELD_IP_PREFIX, true, true, "Prefixes", NULL},
    {"peer_id", ORCH_FIELD_UUID, false, false, "Some id", NULL},
    {"colour", ORCH_FIELD_STRING, false, false, "A colour", colour_choices},
    {"count", ORCH_FIELD_INTEGER, false, false, "A number", NULL},
    {0},
};
static const orch_block_def_t misc_block = {"MiscBlock", "Test block", "MISC", misc_fields, NULL};
static const orch_product_def_t misc_product = {
    "misc", "Test product", "Misc", "MISC", ORCH_PRODUCT_ACTIVE, "MiscBlock", NULL, NULL};

static orch_catalog_t *cat;
static orch_error_t err;

static int setup(void **state)
{
    (void)state;
    cat = orch_catalog_new();
    orch_catalog_load_example(cat);
    orch_catalog_add_block(cat, &misc_block);
    orch_catalog_add_product(cat, &misc_product);
    orch_error_init(&err);
    assert_int_equal(orch_catalog_validate(cat, &err), ORCH_OK);
    /* Ids as the store's st->catalog->sync would give them. */
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

static int reset_err(void **state)
{
    (void)state;
    orch_error_init(&err);
    return 0;
}

static orch_subscription_t *new_sub(const char *product)
{
    orch_subscription_t *sub = NULL;
    const orch_product_t *p = orch_catalog_find_product(cat, product);
    assert_non_null(p);
    assert_int_equal(orch_subscription_new_from_product(p, "customer-1", &sub, &err), ORCH_OK);
    return sub;
}

#define OK(call) assert_int_equal((call), ORCH_OK)
#define FAILS(call, code) (orch_error_init(&err), assert_int_equal((call), (code)))
#define MSG_HAS(s) assert_non_null(strstr(err.message, (s)))

static void fill_node(orch_subscription_t *n, const char *name)
{
    OK(orch_sub_set_int(n, "role_id", 1, &err));
    OK(orch_sub_set_int(n, "type_id", 2, &err));
    OK(orch_sub_set_int(n, "site_id", 3, &err));
    OK(orch_sub_set_str(n, "node_status", "active", &err));
    OK(orch_sub_set_str(n, "node_name", name, &err));
    OK(orch_sub_set_int(n, "ims_id", 4, &err));
    OK(orch_sub_set_int(n, "nrm_id", 5, &err));
    OK(orch_sub_set_int(n, "ipv4_ipam_id", 6, &err));
    OK(orch_sub_set_int(n, "ipv6_ipam_id", 7, &err));
}

static void fill_port(orch_subscription_t *p, const orch_subscription_t *node)
{
    OK(orch_sub_set_str(p, "port_name", "xe-0/0/1", &err));
    OK(orch_sub_set_str(p, "port_type", "10GBASE-LR", &err));
    OK(orch_sub_set_str(p, "port_mode", "tagged", &err));
    OK(orch_sub_set_bool(p, "auto_negotiation", false, &err));
    OK(orch_sub_set_bool(p, "lldp", true, &err));
    OK(orch_sub_set_bool(p, "enabled", true, &err));
    OK(orch_sub_set_int(p, "ims_id", 10, &err));
    OK(orch_sub_set_int(p, "nrm_id", 11, &err));
    OK(orch_sub_set_reference(p, "node", node->id, node->root->id, &err));
}

/* An l2vpn with two SAPs on the given ports, all fields set. */
static orch_subscription_t *l2vpn_on(const orch_subscription_t *p1, const orch_subscription_t *p2)
{
    orch_subscription_t *l = new_sub("l2vpn");
    OK(orch_sub_set_int(l, "speed", 1000, &err));
    OK(orch_sub_set_bool(l, "speed_policer", true, &err));
    OK(orch_sub_set_int(l, "ims_id", 20, &err));
    OK(orch_sub_set_int(l, "nrm_id", 21, &err));
    OK(orch_sub_set_int(l, "saps[0].vlan", 100, &err));
    OK(orch_sub_set_int(l, "saps[1].vlan", 200, &err));
    OK(orch_sub_set_reference(l, "saps[0].port", p1->id, p1->root->id, &err));
    OK(orch_sub_set_reference(l, "saps[1].port", p2->id, p2->root->id, &err));
    return l;
}

/* ---- Creation ---------------------------------------------------------------------------- */

static void new_from_each_example_product(void **state)
{
    const char *names[] = {"node Cisco", "node Nokia",    "node Cumulus",   "node FRR", "port 10G",
                           "port 100G",  "core link 10G", "core link 100G", "l2vpn"};
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        orch_subscription_t *sub = new_sub(names[i]);
        assert_true(orch_uuid_valid(sub->id));
        assert_true(orch_uuid_valid(sub->root->id));
        assert_string_equal(sub->root->subscription_id, sub->id);
        assert_ptr_equal(sub->root->block, sub->product->root);
        assert_int_equal(sub->status, ORCH_SUB_INITIAL);
        assert_int_equal(sub->version, 0);
        assert_false(sub->in_sync);
        assert_int_equal(sub->start_time_us, 0);
        assert_int_equal(sub->end_time_us, 0);
        assert_true(sub->create_time_us > 0);
        assert_string_equal(sub->customer_id, "customer-1");
        assert_true(json_is_object(sub->metadata));
        OK(orch_sub_validate(sub, &err)); /* initial: everything optional */
        orch_subscription_free(sub);
    }
}

static void new_creates_required_children(void **state)
{
    orch_subscription_t *cl = new_sub("core link 10G"), *l2 = new_sub("l2vpn"),
                        *port = new_sub("port 10G");
    size_t n;
    const orch_instance_t *in;
    (void)state;
    OK(orch_sub_count(cl, "ports", &n, &err));
    assert_int_equal(n, 2);
    OK(orch_sub_get_instance(cl, "ports[1]", &in, &err));
    assert_string_equal(in->block->def->name, "CorePortBlock");
    assert_string_not_equal(in->id, cl->root->id);
    OK(orch_sub_count(cl, "ports[0].node", &n, &err)); /* foreign: a reference, set later */
    assert_int_equal(n, 0);
    OK(orch_sub_count(l2, "saps", &n, &err));
    assert_int_equal(n, 2);
    OK(orch_sub_count(port, "node", &n, &err));
    assert_int_equal(n, 0);
    orch_subscription_free(cl);
    orch_subscription_free(l2);
    orch_subscription_free(port);
}

static void new_refuses_bad_input(void **state)
{
    orch_subscription_t *sub = (void *)1;
    (void)state;
    FAILS(
        orch_subscription_new_from_product(orch_catalog_find_product(cat, "l2vpn"), "", &sub, &err),
        ORCH_INVALID_ARGUMENT);
    assert_null(sub);
    assert_string_equal(err.violations[0].field, "customer_id");
    FAILS(orch_subscription_new_from_product(NULL, "c", &sub, &err), ORCH_INVALID_ARGUMENT);
    orch_subscription_free(NULL);
}

/* ---- Fields by path ---------------------------------------------------------------------- */

static void fields_by_path(void **state)
{
    orch_subscription_t *node = new_sub("node Cisco"), *cl = new_sub("core link 10G");
    const char *s;
    int64_t i;
    bool b;
    (void)state;

    OK(orch_sub_set_int(node, "ims_id", 42, &err));
    OK(orch_sub_get_int(node, "ims_id", &i, &err));
    assert_int_equal(i, 42);
    OK(orch_sub_set_str(node, "node_name", "rt1.ams", &err));
    OK(orch_sub_get_str(node, "node_name", &s, &err));
    assert_string_equal(s, "rt1.ams");
    OK(orch_sub_set_str(node, "node_name", "rt2.ams", &err)); /* replaces */
    OK(orch_sub_get_str(node, "node_name", &s, &err));
    assert_string_equal(s, "rt2.ams");
    OK(orch_sub_is_set(node, "node_description", &b, &err));
    assert_false(b);

    FAILS(orch_sub_set_str(node, "ims_id", "42", &err), ORCH_INVALID_ARGUMENT);
    // clang-format off
    MSG_HAS("ims_id");
    MSG_HAS("integer");
    // clang-format on
    assert_string_equal(err.violations[0].field, "ims_id");
    FAILS(orch_sub_set_int(node, "no_such_field", 1, &err), ORCH_INVALID_ARGUMENT);
    // clang-format off
    MSG_HAS("no_such_field");
    // clang-format on
    assert_string_equal(err.violations[0].field, "no_such_field");
    FAILS(orch_sub_set_str(node, "node_status", "broken", &err), ORCH_INVALID_ARGUMENT);
    // clang-format off
    MSG_HAS("node_status");
    MSG_HAS("decommissioned");
    // clang-format on
    FAILS(orch_sub_get_int(node, "nrm_id", &i, &err), ORCH_NOT_FOUND);
    // clang-format off
    MSG_HAS("nrm_id");
    // clang-format on
    FAILS(orch_sub_get_bool(node, "ims_id", &b, &err), ORCH_INVALID_ARGUMENT);
    FAILS(orch_sub_set_int(node, "ims_id", INT64_MAX, &err), ORCH_INVALID_ARGUMENT);
    FAILS(orch_sub_set_str(node, "node_name", "bad \xff utf-8", &err), ORCH_INVALID_ARGUMENT);

    OK(orch_sub_set_str(cl, "ports[1].port_name", "et-0/0/1", &err));
    OK(orch_sub_get_str(cl, "ports[1].port_name", &s, &err));
    assert_string_equal(s, "et-0/0/1");
    OK(orch_sub_set_bool(cl, "ports[0].enabled", true, &err));
    OK(orch_sub_get_bool(cl, "ports[0].enabled", &b, &err));
    assert_true(b);
    FAILS(orch_sub_set_str(cl, "ports[2].port_name", "x", &err), ORCH_INVALID_ARGUMENT);
    // clang-format off
    MSG_HAS("ports[2]");
    MSG_HAS("out of range");
    // clang-format on
    FAILS(orch_sub_set_str(cl, "ports.port_name", "x", &err), ORCH_INVALID_ARGUMENT);
    // clang-format off
    MSG_HAS("ports[0]");
    // clang-format on
    FAILS(orch_sub_set_str(cl, "ports[x].port_name", "x", &err), ORCH_INVALID_ARGUMENT);
    // clang-format off
    MSG_HAS("malformed");
    // clang-format on
    FAILS(orch_sub_set_str(cl, "ims_id.x", "x", &err), ORCH_INVALID_ARGUMENT);
    // clang-format off
    MSG_HAS("is a field");
    // clang-format on
    FAILS(orch_sub_set_str(cl, "ports", "x", &err), ORCH_INVALID_ARGUMENT);
    // clang-format off
    MSG_HAS("child block");
    // clang-format on
    FAILS(orch_sub_get_str(cl, "", &s, &err), ORCH_INVALID_ARGUMENT);
    orch_subscription_free(node);
    orch_subscription_free(cl);
}

static void wrong_type_names_nested_path(void **state)
{
    orch_subscription_t *l2 = new_sub("l2vpn");
    (void)state;
    FAILS(orch_sub_set_str(l2, "saps[1].vlan", "100", &err), ORCH_INVALID_ARGUMENT);
    // clang-format off
    MSG_HAS("saps[1].vlan");
    // clang-format on
    assert_string_equal(err.violations[0].field, "saps[1].vlan");
    OK(orch_sub_set_int(l2, "saps[1].vlan", 100, &err));
    orch_subscription_free(l2);
}

static void list_fields_and_types(void **state)
{
    orch_subscription_t *m = new_sub("misc");
    const char *s;
    size_t n;
    (void)state;
    OK(orch_sub_set_str(m, "addresses[0]", "10.0.0.0/31", &err));
    OK(orch_sub_set_str(m, "addresses[1]", "2001:db8::/64", &err));
    OK(orch_sub_set_str(m, "addresses[1]", "2001:db8:1::/48", &err)); /* replaces */
    OK(orch_sub_count(m, "addresses", &n, &err));
    assert_int_equal(n, 2);
    OK(orch_sub_get_str(m, "addresses[1]", &s, &err));
    assert_string_equal(s, "2001:db8:1::/48");
    FAILS(orch_sub_set_str(m, "addresses[5]", "10.0.0.0/8", &err), ORCH_INVALID_ARGUMENT);
    FAILS(orch_sub_set_str(m, "addresses", "10.0.0.0/8", &err), ORCH_INVALID_ARGUMENT);
    // clang-format off
    MSG_HAS("addresses[0]");
    // clang-format on
    FAILS(orch_sub_set_str(m, "addresses[2]", "10.0.0.0/33", &err), ORCH_INVALID_ARGUMENT);
    FAILS(orch_sub_set_str(m, "addresses[2]", "10.0.0.0", &err), ORCH_INVALID_ARGUMENT);
    FAILS(orch_sub_set_str(m, "count[0]", "1", &err), ORCH_INVALID_ARGUMENT);
    OK(orch_sub_clear(m, "addresses[0]", &err));
    OK(orch_sub_get_str(m, "addresses[0]", &s, &err));
    assert_string_equal(s, "2001:db8:1::/48");
    OK(orch_sub_set_str(m, "peer_id", "0b4e6d7c-3f1a-4c2e-9d8b-5a6f7e8d9c0b", &err));
    FAILS(orch_sub_set_str(m, "peer_id", "0B4E6D7C-3F1A-4C2E-9D8B-5A6F7E8D9C0B", &err),
          ORCH_INVALID_ARGUMENT);
    OK(orch_sub_set_str(m, "colour", "green", &err));
    OK(orch_sub_clear(m, "colour", &err));
    FAILS(orch_sub_get_str(m, "colour", &s, &err), ORCH_NOT_FOUND);
    OK(orch_sub_clear(m, "addresses", &err));
    OK(orch_sub_count(m, "addresses", &n, &err));
    assert_int_equal(n, 0);
    /* A required list field with no value blocks activation. */
    FAILS(orch_sub_set_status(m, ORCH_SUB_ACTIVE, &err), ORCH_FAILED_PRECONDITION);
    // clang-format off
    MSG_HAS("addresses is required");
    // clang-format on
    orch_subscription_free(m);
}

static void top_level_attributes(void **state)
{
    orch_subscription_t *s = new_sub("node FRR");
    char big[ORCH_SUB_NOTE_MAX + 2];
    (void)state;
    OK(orch_sub_set_description(s, "Core router Amsterdam", &err));
    assert_string_equal(s->description, "Core router Amsterdam");
    OK(orch_sub_set_note(s, "installed 2024", &err));
    assert_string_equal(s->note, "installed 2024");
    OK(orch_sub_set_note(s, NULL, &err));
    assert_null(s->note);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    FAILS(orch_sub_set_note(s, big, &err), ORCH_INVALID_ARGUMENT);
    assert_string_equal(err.violations[0].field, "note");
    FAILS(orch_sub_set_customer_id(s, "", &err), ORCH_INVALID_ARGUMENT);
    assert_string_equal(s->customer_id, "customer-1");
    orch_subscription_free(s);
}

/* ---- Children ---------------------------------------------------------------------------- */

static void list_children_min_max(void **state)
{
    orch_subscription_t *node = new_sub("node Nokia"), *port = new_sub("port 10G"), *l2;
    size_t idx, n;
    (void)state;
    fill_node(node, "rt1");
    fill_port(port, node);
    l2 = l2vpn_on(port, port);
    for (size_t want = 2; want < 8; want++) {
        OK(orch_sub_add_child(l2, "saps", &idx, &err));
        assert_int_equal(idx, want);
    }
    FAILS(orch_sub_add_child(l2, "saps", &idx, &err), ORCH_INVALID_ARGUMENT);
    // clang-format off
    MSG_HAS("saps");
    MSG_HAS("at most 8");
    // clang-format on
    OK(orch_sub_count(l2, "saps", &n, &err));
    assert_int_equal(n, 8);
    /* Removing is allowed in initial, even below min_count. */
    for (size_t i = 0; i < 7; i++)
        OK(orch_sub_remove_child(l2, "saps[1]", &err));
    OK(orch_sub_count(l2, "saps", &n, &err));
    assert_int_equal(n, 1);
    OK(orch_sub_validate(l2, &err));
    FAILS(orch_sub_set_status(l2, ORCH_SUB_ACTIVE, &err), ORCH_FAILED_PRECONDITION);
    assert_string_equal(err.reason, "INVALID_LIFECYCLE_TRANSITION");
    // clang-format off
    MSG_HAS("saps has 1 block, at least 2 required when active");
    // clang-format on
    assert_int_equal(l2->status, ORCH_SUB_INITIAL);
    FAILS(orch_sub_remove_child(l2, "saps[1]", &err), ORCH_INVALID_ARGUMENT);
    FAILS(orch_sub_remove_child(l2, "saps", &err), ORCH_INVALID_ARGUMENT); /* needs an index */
    OK(orch_sub_add_child(l2, "saps", &idx, &err));
    assert_int_equal(idx, 1);
    /* The new SAP's vlan and port are missing: named by path. */
    FAILS(orch_sub_set_status(l2, ORCH_SUB_ACTIVE, &err), ORCH_FAILED_PRECONDITION);
    // clang-format off
    MSG_HAS("saps[1].vlan is required");
    // clang-format on
    assert_int_equal(err.nviolations, 2);
    assert_string_equal(err.violations[1].field, "saps[1].port");
    OK(orch_sub_set_int(l2, "saps[1].vlan", 300, &err));
    OK(orch_sub_set_reference(l2, "saps[1].port", port->id, port->root->id, &err));
    OK(orch_sub_set_status(l2, ORCH_SUB_ACTIVE, &err));
    /* Core link ports are exactly two. */
    {
        orch_subscription_t *cl = new_sub("core link 100G");
        FAILS(orch_sub_add_child(cl, "ports", NULL, &err), ORCH_INVALID_ARGUMENT);
        // clang-format off
        MSG_HAS("at most 2");
        // clang-format on
        FAILS(orch_sub_add_child(cl, "ports[0].node", NULL, &err), ORCH_INVALID_ARGUMENT);
        // clang-format off
        MSG_HAS("orch_sub_set_reference");
        // clang-format on
        orch_subscription_free(cl);
    }
    orch_subscription_free(l2);
    orch_subscription_free(port);
    orch_subscription_free(node);
}

/* ---- Lifecycle --------------------------------------------------------------------------- */

static void required_fields_per_lifecycle(void **state)
{
    orch_subscription_t *node = new_sub("node Cisco");
    (void)state;
    OK(orch_sub_validate(node, &err));
    FAILS(orch_sub_set_status(node, ORCH_SUB_ACTIVE, &err), ORCH_FAILED_PRECONDITION);
    assert_string_equal(err.reason, "INVALID_LIFECYCLE_TRANSITION");
    // clang-format off
    MSG_HAS("role_id is required when active");
    MSG_HAS("8 more");
    // clang-format on
    assert_int_equal(err.nviolations, 9);
    assert_string_equal(err.violations[0].field, "role_id");
    assert_string_equal(err.violations[8].field, "ipv6_ipam_id");
    assert_int_equal(node->status, ORCH_SUB_INITIAL);
    assert_int_equal(node->start_time_us, 0);
    /* Provisioning does not need them yet. */
    OK(orch_sub_set_status(node, ORCH_SUB_PROVISIONING, &err));
    fill_node(node, "rt9");
    OK(orch_sub_clear(node, "site_id", &err));
    FAILS(orch_sub_set_status(node, ORCH_SUB_ACTIVE, &err), ORCH_FAILED_PRECONDITION);
    // clang-format off
    MSG_HAS("site_id is required");
    // clang-format on
    assert_int_equal(err.nviolations, 1);
    OK(orch_sub_set_int(node, "site_id", 3, &err));
    OK(orch_sub_set_status(node, ORCH_SUB_ACTIVE, &err));
    OK(orch_sub_validate(node, &err));
    /* Optional fields stay optional. */
    OK(orch_sub_clear(node, "node_description", &err));
    OK(orch_sub_validate(node, &err));
    /* Leaving an active subscription incomplete is caught by validate. */
    OK(orch_sub_clear(node, "ims_id", &err));
    FAILS(orch_sub_validate(node, &err), ORCH_FAILED_PRECONDITION);
    // clang-format off
    MSG_HAS("ims_id");
    // clang-format on
    orch_subscription_free(node);
}

static void every_transition(void **state)
{
    static const orch_sub_status_t all[] = {ORCH_SUB_INITIAL,  ORCH_SUB_PROVISIONING,
                                            ORCH_SUB_ACTIVE,   ORCH_SUB_MIGRATING,
                                            ORCH_SUB_DISABLED, ORCH_SUB_TERMINATED};
    /* expected[from][to], indexes as in all[]. */
    static const bool expected[6][6] = {
        /* initial */ {0, 1, 1, 0, 0, 1},
        /* provisioning */ {0, 0, 1, 0, 0, 1},
        /* active */ {0, 0, 0, 1, 1, 1},
        /* migrating */ {0, 0, 1, 0, 0, 1},
        /* disabled */ {0, 0, 1, 0, 0, 1},
        /* terminated */ {0, 0, 0, 0, 0, 0},
    };
    (void)state;
    for (size_t f = 0; f < 6; f++) {
        assert_int_equal(orch_sub_status_parse(orch_sub_status_name(all[f])), all[f]);
        for (size_t t = 0; t < 6; t++) {
            orch_subscription_t *s = new_sub("node Cumulus");
            orch_err_t rc;
            fill_node(s, "n");
            s->status = all[f]; /* as loaded from the store */
            assert_int_equal(orch_sub_transition_allowed(all[f], all[t]), expected[f][t]);
            orch_error_init(&err);
            rc = orch_sub_set_status(s, all[t], &err);
            if (expected[f][t] || f == t) {
                assert_int_equal(rc, ORCH_OK);
                assert_int_equal(s->status, all[t]);
            } else {
                assert_int_equal(rc, ORCH_FAILED_PRECONDITION);
                assert_string_equal(err.reason, "INVALID_LIFECYCLE_TRANSITION");
                MSG_HAS(orch_sub_status_name(all[f]));
                MSG_HAS(orch_sub_status_name(all[t]));
                assert_int_equal(s->status, all[f]);
            }
            orch_subscription_free(s);
        }
    }
    assert_int_equal(orch_sub_status_parse("Active"), ORCH_SUB_STATUS_UNSPECIFIED);
    assert_int_equal(orch_sub_status_parse(NULL), ORCH_SUB_STATUS_UNSPECIFIED);
    assert_string_equal(orch_sub_status_name((orch_sub_status_t)99), "unspecified");
}

static void start_and_end_times(void **state)
{
    orch_subscription_t *s = new_sub("node Cisco");
    int64_t start;
    (void)state;
    fill_node(s, "rt1");
    OK(orch_sub_set_status(s, ORCH_SUB_ACTIVE, &err));
    start = s->start_time_us;
    assert_true(start > 0);
    assert_int_equal(s->end_time_us, 0);
    OK(orch_sub_set_status(s, ORCH_SUB_DISABLED, &err));
    OK(orch_sub_set_status(s, ORCH_SUB_ACTIVE, &err));
    assert_int_equal(s->start_time_us, start); /* only the first time */
    OK(orch_sub_set_status(s, ORCH_SUB_TERMINATED, &err));
    assert_true(s->end_time_us >= start);
    FAILS(orch_sub_set_status(s, ORCH_SUB_ACTIVE, &err), ORCH_FAILED_PRECONDITION);
    orch_subscription_free(s);
    /* Terminated straight from initial: an end time, no start time. */
    s = new_sub("node Cisco");
    OK(orch_sub_set_status(s, ORCH_SUB_TERMINATED, &err));
    assert_int_equal(s->start_time_us, 0);
    assert_true(s->end_time_us > 0);
    orch_subscription_free(s);
}

static void terminate_refused_while_in_use(void **state)
{
    orch_subscription_t *node = new_sub("node Nokia"), *port = new_sub("port 10G"), *l2;
    orch_sub_link_t user;
    (void)state;
    fill_node(node, "rt1");
    fill_port(port, node);
    OK(orch_sub_set_status(port, ORCH_SUB_ACTIVE, &err));
    l2 = l2vpn_on(port, port);
    OK(orch_sub_set_status(l2, ORCH_SUB_ACTIVE, &err));
    /* What the store reports for the port: the l2vpn uses it. */
    memset(&user, 0, sizeof(user));
    snprintf(user.subscription_id, sizeof(user.subscription_id), "%s", l2->id);
    user.status = l2->status;
    orch_sub_set_in_use_by(port, &user, 1);
    FAILS(orch_sub_set_status(port, ORCH_SUB_TERMINATED, &err), ORCH_FAILED_PRECONDITION);
    assert_string_equal(err.reason, "IN_USE_BY_OTHER_SUBSCRIPTIONS");
    MSG_HAS(l2->id);
    assert_int_equal(port->status, ORCH_SUB_ACTIVE);
    assert_int_equal(port->end_time_us, 0);
    /* Other changes are not blocked. */
    OK(orch_sub_set_status(port, ORCH_SUB_DISABLED, &err));
    /* Once the user is terminated, the port may go. */
    OK(orch_sub_set_status(l2, ORCH_SUB_TERMINATED, &err));
    user.status = l2->status;
    orch_sub_set_in_use_by(port, &user, 1);
    OK(orch_sub_set_status(port, ORCH_SUB_TERMINATED, &err));
    assert_true(port->end_time_us > 0);
    /* A user of unknown status counts as live. */
    user.status = ORCH_SUB_STATUS_UNSPECIFIED;
    orch_sub_set_in_use_by(node, &user, 1);
    FAILS(orch_sub_set_status(node, ORCH_SUB_TERMINATED, &err), ORCH_FAILED_PRECONDITION);
    assert_string_equal(err.reason, "IN_USE_BY_OTHER_SUBSCRIPTIONS");
    orch_subscription_free(l2);
    orch_subscription_free(port);
    orch_subscription_free(node);
}

/* ---- References -------------------------------------------------------------------------- */

static void foreign_reference_is_read_only(void **state)
{
    orch_subscription_t *node = new_sub("node Cisco"), *port = new_sub("port 10G"), *loaded;
    orch_sub_builder_t *b;
    orch_sub_flat_t flat;
    const orch_instance_t *ref;
    const char *s;
    int64_t i;
    size_t n;
    orch_sub_link_t *deps;
    (void)state;
    fill_node(node, "rt1.ams");
    fill_port(port, node);

    OK(orch_sub_get_instance(port, "node", &ref, &err));
    assert_true(ref->foreign);
    assert_false(ref->loaded);
    assert_string_equal(ref->subscription_id, node->id);
    assert_string_equal(ref->id, node->root->id);
    FAILS(orch_sub_set_int(port, "node.ims_id", 1, &err), ORCH_FAILED_PRECONDITION);
    assert_string_equal(err.reason, "BLOCK_OWNED_BY_OTHER_SUBSCRIPTION");
    MSG_HAS(node->id);
    assert_string_equal(err.violations[0].field, "node.ims_id");
    FAILS(orch_sub_get_int(port, "node.ims_id", &i, &err), ORCH_FAILED_PRECONDITION);
    // clang-format off
    MSG_HAS("not loaded");
    // clang-format on
    FAILS(orch_sub_add_child(port, "node", NULL, &err), ORCH_INVALID_ARGUMENT);
    FAILS(orch_sub_set_reference(port, "node", port->id, port->root->id, &err),
          ORCH_INVALID_ARGUMENT);
    // clang-format off
    MSG_HAS("another subscription");
    // clang-format on
    FAILS(orch_sub_set_reference(port, "port_name", node->id, node->root->id, &err),
          ORCH_INVALID_ARGUMENT);
    FAILS(orch_sub_set_reference(port, "node", "not-an-id", node->root->id, &err),
          ORCH_INVALID_ARGUMENT);
    deps = orch_sub_depends_on(port, &n);
    assert_int_equal(n, 1);
    assert_string_equal(deps[0].subscription_id, node->id);
    free(deps);

    /* Loaded with the node's own rows (as the store may), the reference can be read but
     * still not changed. */
    b = orch_sub_builder_new(cat);
    orch_sub_flatten(port, &flat);
    {
        orch_sub_row_t row = {
            port->id, port->product->id, "customer-1", "", NULL, "initial", false, 3, 0, 0, 1, 1};
        orch_sub_builder_subscription(b, &row);
    }
    for (size_t k = 0; k < flat.ninstances; k++)
        orch_sub_builder_instance(b, flat.instances[k].id, port->id, flat.instances[k].block->id,
                                  flat.instances[k].label);
    for (size_t k = 0; k < flat.nvalues; k++)
        orch_sub_builder_value(b, flat.values[k].instance_id, flat.values[k].resource_type,
                               flat.values[k].position, flat.values[k].value);
    for (size_t k = 0; k < flat.nrelations; k++)
        orch_sub_builder_relation(b, flat.relations[k].parent_id, flat.relations[k].attribute,
                                  flat.relations[k].position, flat.relations[k].child_id,
                                  flat.relations[k].child_subscription_id);
    orch_sub_flat_cleanup(&flat);
    orch_sub_builder_instance(b, node->root->id, node->id, "NodeBlock", NULL);
    orch_sub_builder_value(b, node->root->id, "node_name", 0, "rt1.ams");
    OK(orch_sub_builder_finish(b, &loaded, &err));
    orch_sub_builder_free(b);
    assert_int_equal(loaded->version, 3);
    OK(orch_sub_get_str(loaded, "node.node_name", &s, &err));
    assert_string_equal(s, "rt1.ams");
    FAILS(orch_sub_set_str(loaded, "node.node_name", "x", &err), ORCH_FAILED_PRECONDITION);
    assert_string_equal(err.reason, "BLOCK_OWNED_BY_OTHER_SUBSCRIPTION");
    /* Only the port's own instance is saved; the node appears as a relation target. */
    orch_sub_flatten(loaded, &flat);
    assert_int_equal(flat.ninstances, 1);
    assert_int_equal(flat.nrelations, 1);
    assert_string_equal(flat.relations[0].child_subscription_id, node->id);
    assert_ptr_equal(flat.relations[0].child_block, orch_catalog_find_block(cat, "NodeBlock"));
    for (size_t k = 0; k < flat.nvalues; k++)
        assert_string_equal(flat.values[k].instance_id, loaded->root->id);
    orch_sub_flat_cleanup(&flat);
    /* Dropping the reference is a change of the port's own relation: allowed. */
    OK(orch_sub_remove_child(loaded, "node", &err));
    orch_subscription_free(loaded);
    orch_subscription_free(port);
    orch_subscription_free(node);
}

/* ---- Store views ------------------------------------------------------------------------- */

/* Feeds a builder from a flat view in reverse order (the store gives no order). */
static orch_err_t assemble(const orch_subscription_t *sub, orch_subscription_t **out)
{
    orch_sub_builder_t *b = orch_sub_builder_new(cat);
    orch_sub_flat_t f;
    orch_sub_row_t row = {sub->id,          sub->product->id,    sub->customer_id,
                          sub->description, sub->note,           orch_sub_status_name(sub->status),
                          sub->in_sync,     sub->version,        sub->start_time_us,
                          sub->end_time_us, sub->create_time_us, sub->update_time_us};
    orch_err_t rc;

    orch_sub_flatten(sub, &f);
    for (size_t k = f.nrelations; k-- > 0;)
        orch_sub_builder_relation(b, f.relations[k].parent_id, f.relations[k].attribute,
                                  f.relations[k].position, f.relations[k].child_id,
                                  f.relations[k].child_subscription_id);
    for (size_t k = f.nvalues; k-- > 0;)
        orch_sub_builder_value(b, f.values[k].instance_id, f.values[k].resource_type,
                               f.values[k].position, f.values[k].value);
    for (size_t k = f.ninstances; k-- > 0;)
        orch_sub_builder_instance(b, f.instances[k].id, sub->id, f.instances[k].block->id,
                                  f.instances[k].label);
    orch_sub_builder_subscription(b, &row);
    orch_sub_builder_metadata(b, sub->metadata, sub->metadata_version);
    for (size_t k = 0; k < sub->ncustomer_descriptions; k++)
        orch_sub_builder_customer_description(b, &sub->customer_descriptions[k]);
    for (size_t k = 0; k < sub->nin_use_by; k++)
        orch_sub_builder_in_use_by(b, sub->in_use_by[k].subscription_id,
                                   orch_sub_status_name(sub->in_use_by[k].status));
    orch_sub_flat_cleanup(&f);
    rc = orch_sub_builder_finish(b, out, &err);
    orch_sub_builder_free(b);
    return rc;
}

static void assert_same_json(const orch_subscription_t *a, const orch_subscription_t *b)
{
    json_t *ja = orch_sub_to_json(a), *jb = orch_sub_to_json(b);
    if (!json_equal(ja, jb)) {
        char *sa = json_dumps(ja, JSON_INDENT(1) | JSON_SORT_KEYS);
        char *sb = json_dumps(jb, JSON_INDENT(1) | JSON_SORT_KEYS);
        print_error("%s\n---\n%s\n", sa, sb);
        free(sa);
        free(sb);
        fail();
    }
    json_decref(ja);
    json_decref(jb);
}

static void flatten_assemble_round_trip(void **state)
{
    orch_subscription_t *node = new_sub("node Cisco"), *port = new_sub("port 10G"), *l2, *cl, *back;
    orch_sub_flat_t f;
    orch_sub_link_t user;
    (void)state;
    fill_node(node, "rt1");
    fill_port(port, node);
    l2 = l2vpn_on(port, port);
    OK(orch_sub_add_child(l2, "saps", NULL, &err));
    OK(orch_sub_set_int(l2, "saps[2].vlan", 0, &err));
    OK(orch_sub_set_int(l2, "saps[2].ims_id", -5, &err));
    OK(orch_sub_set_status(l2, ORCH_SUB_PROVISIONING, &err));
    OK(orch_sub_set_note(l2, "note", &err));
    assert_int_equal(json_object_set_new(l2->metadata, "ticket", json_string("T-1")), 0);
    l2->version = 7;
    memset(&user, 0, sizeof(user));
    snprintf(user.subscription_id, sizeof(user.subscription_id), "%s", node->id);
    user.status = ORCH_SUB_ACTIVE;
    orch_sub_set_in_use_by(l2, &user, 1);

    orch_sub_flatten(l2, &f);
    assert_int_equal(f.ninstances, 4);  /* the VC and three SAPs; ports are references */
    assert_int_equal(f.nrelations, 5);  /* VC->SAP x3, SAP->port x2 */
    assert_int_equal(f.nvalues, 4 + 4); /* VC fields, vlans x3, one ims_id */
    assert_ptr_equal(f.instances[0].block, l2->product->root);
    orch_sub_flat_cleanup(&f);

    OK(assemble(l2, &back));
    assert_same_json(l2, back);
    assert_int_equal(back->in_use_by[0].status, ORCH_SUB_ACTIVE);
    orch_subscription_free(back);

    cl = new_sub("core link 10G");
    OK(orch_sub_set_str(cl, "ports[0].port_name", "a", &err));
    OK(orch_sub_set_str(cl, "ports[1].port_name", "b", &err));
    OK(orch_sub_set_reference(cl, "ports[1].node", node->id, node->root->id, &err));
    OK(assemble(cl, &back));
    assert_same_json(cl, back);
    orch_subscription_free(back);

    /* JSON round trip through the same builder. */
    {
        json_t *j = orch_sub_to_json(l2);
        OK(orch_sub_from_json(cat, j, &back, &err));
        json_decref(j);
        assert_same_json(l2, back);
        orch_subscription_free(back);
    }
    orch_subscription_free(cl);
    orch_subscription_free(l2);
    orch_subscription_free(port);
    orch_subscription_free(node);
}

static void builder_refuses_what_the_catalogue_does_not_describe(void **state)
{
    orch_subscription_t *node = new_sub("node Cisco"), *out = NULL;
    orch_sub_row_t row = {node->id, "node Cisco", "c", "", NULL, "active", true, 1, 0, 0, 0, 0};
    const char *other = "11111111-1111-4111-8111-111111111111";
    struct {
        const char *block, *field, *value, *status, *extra_inst, *message;
    } cases[] = {
        {"NoSuchBlock", NULL, NULL, "active", NULL, "NoSuchBlock"},
        {"PortBlock", NULL, NULL, "active", NULL, "root block NodeBlock"},
        {"NodeBlock", "no_field", "1", "active", NULL, "no_field"},
        {"NodeBlock", "ims_id", "12x", "active", NULL, "ims_id"},
        {"NodeBlock", NULL, NULL, "gone", NULL, "unknown status"},
        {"NodeBlock", NULL, NULL, "active", other, "two root"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        orch_sub_builder_t *b = orch_sub_builder_new(cat);
        row.status = cases[i].status;
        orch_sub_builder_subscription(b, &row);
        orch_sub_builder_instance(b, node->root->id, node->id, cases[i].block, NULL);
        if (cases[i].field)
            orch_sub_builder_value(b, node->root->id, cases[i].field, 0, cases[i].value);
        if (cases[i].extra_inst)
            orch_sub_builder_instance(b, cases[i].extra_inst, node->id, "NodeBlock", NULL);
        FAILS(orch_sub_builder_finish(b, &out, &err), ORCH_INTERNAL);
        assert_null(out);
        if (!strstr(err.message, cases[i].message))
            fail_msg("case %zu: %s", i, err.message);
        orch_sub_builder_free(b);
    }
    /* A value for an instance that is not there. */
    {
        orch_sub_builder_t *b = orch_sub_builder_new(cat);
        row.status = "active";
        orch_sub_builder_subscription(b, &row);
        orch_sub_builder_instance(b, node->root->id, node->id, "NodeBlock", NULL);
        orch_sub_builder_value(b, other, "ims_id", 0, "1");
        FAILS(orch_sub_builder_finish(b, &out, &err), ORCH_INTERNAL);
        MSG_HAS(other);
        orch_sub_builder_free(b);
    }
    orch_sub_builder_free(NULL);
    orch_subscription_free(node);
}

static void json_shape(void **state)
{
    orch_subscription_t *node = new_sub("node Cisco"), *port = new_sub("port 10G"), *l2;
    json_t *j, *block, *saps, *ref, *deps;
    (void)state;
    fill_node(node, "rt1");
    fill_port(port, node);
    l2 = l2vpn_on(port, port);
    OK(orch_sub_set_status(l2, ORCH_SUB_ACTIVE, &err));
    j = orch_sub_to_json(l2);
    assert_string_equal(json_string_value(json_object_get(j, "subscription_id")), l2->id);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "active");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "product"), "name")),
                        "l2vpn");
    assert_true(json_is_null(json_object_get(j, "end_time")));
    assert_true(json_is_string(json_object_get(j, "start_time")));
    assert_true(json_is_null(json_object_get(j, "note")));
    assert_true(json_is_object(json_object_get(j, "metadata")));
    deps = json_object_get(j, "depends_on_ids");
    assert_int_equal(json_array_size(deps), 1); /* both SAPs on one port: once */
    assert_string_equal(json_string_value(json_array_get(deps, 0)), port->id);
    block = json_object_get(j, "block");
    assert_string_equal(json_string_value(json_object_get(block, "name")), "VirtualCircuitBlock");
    assert_string_equal(json_string_value(json_object_get(block, "owner_subscription_id")), l2->id);
    assert_int_equal(json_integer_value(json_object_get(block, "speed")), 1000);
    assert_true(json_is_true(json_object_get(block, "speed_policer")));
    saps = json_object_get(block, "saps");
    assert_int_equal(json_array_size(saps), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(saps, 1), "vlan")), 200);
    assert_true(json_is_null(json_object_get(json_array_get(saps, 1), "ims_id")));
    ref = json_object_get(json_array_get(saps, 0), "port");
    assert_int_equal(json_object_size(ref), 3);
    assert_string_equal(json_string_value(json_object_get(ref, "owner_subscription_id")), port->id);
    assert_string_equal(json_string_value(json_object_get(ref, "subscription_instance_id")),
                        port->root->id);
    assert_string_equal(json_string_value(json_object_get(ref, "name")), "PortBlock");
    json_decref(j);
    /* A single child is an object, not an array. */
    j = orch_sub_to_json(port);
    assert_true(json_is_object(json_object_get(json_object_get(j, "block"), "node")));
    json_decref(j);
    orch_subscription_free(l2);
    orch_subscription_free(port);
    orch_subscription_free(node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(new_from_each_example_product, reset_err),
        cmocka_unit_test_setup(new_creates_required_children, reset_err),
        cmocka_unit_test_setup(new_refuses_bad_input, reset_err),
        cmocka_unit_test_setup(fields_by_path, reset_err),
        cmocka_unit_test_setup(wrong_type_names_nested_path, reset_err),
        cmocka_unit_test_setup(list_fields_and_types, reset_err),
        cmocka_unit_test_setup(top_level_attributes, reset_err),
        cmocka_unit_test_setup(list_children_min_max, reset_err),
        cmocka_unit_test_setup(required_fields_per_lifecycle, reset_err),
        cmocka_unit_test_setup(every_transition, reset_err),
        cmocka_unit_test_setup(start_and_end_times, reset_err),
        cmocka_unit_test_setup(terminate_refused_while_in_use, reset_err),
        cmocka_unit_test_setup(foreign_reference_is_read_only, reset_err),
        cmocka_unit_test_setup(flatten_assemble_round_trip, reset_err),
        cmocka_unit_test_setup(builder_refuses_what_the_catalogue_does_not_describe, reset_err),
        cmocka_unit_test_setup(json_shape, reset_err),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
