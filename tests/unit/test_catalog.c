/* Unit tests of the product catalogue: the example validates, look-ups, listing with
 * filters and pages, and the errors a user sees for bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "domain/catalog/catalog.h"

static int setup(void **state)
{
    orch_catalog_t *cat = orch_catalog_new();
    orch_error_t err;
    orch_catalog_load_example(cat);
    orch_error_init(&err);
    assert_int_equal(orch_catalog_validate(cat, &err), ORCH_OK);
    /* Give each product an id as the store would. */
    for (size_t i = 0; i < orch_catalog_nproducts(cat); i++)
        snprintf(orch_catalog_product_at(cat, i)->id, 37, "00000000-0000-4000-8000-%012u",
                 (unsigned)(i + 1) % 1000u);
    *state = cat;
    return 0;
}

static int teardown(void **state)
{
    orch_catalog_free(*state);
    return 0;
}

static void example_has_every_product(void **state)
{
    orch_catalog_t *cat = *state;
    const char *names[] = {"node Cisco", "node Nokia",    "node Cumulus",   "node FRR", "port 10G",
                           "port 100G",  "core link 10G", "core link 100G", "l2vpn"};
    assert_int_equal(orch_catalog_nproducts(cat), 9);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_non_null(orch_catalog_find_product(cat, names[i]));
}

static void product_blocks_are_resolved(void **state)
{
    orch_catalog_t *cat = *state;
    const orch_product_t *l2 = orch_catalog_find_product(cat, "l2vpn");
    const orch_product_t *cl = orch_catalog_find_product(cat, "core link 10G");
    assert_string_equal(l2->root->def->name, "VirtualCircuitBlock");
    /* VC -> SAP -> Port -> Node: each once. */
    assert_int_equal(l2->nblocks, 4);
    assert_int_equal(l2->root->def->children[0].min_count, 2);
    assert_int_equal(l2->root->def->children[0].max_count, 8);
    assert_string_equal(cl->def->fixed_inputs[0].name, "speed");
    assert_string_equal(cl->def->fixed_inputs[0].value, "10000");
    assert_int_equal(cl->nblocks, 3);
}

static void list_pages_return_each_once(void **state)
{
    orch_catalog_t *cat = *state;
    for (int size = 1; size <= 4; size++) {
        char *token = NULL;
        size_t seen = 0;
        char names[16][64];
        do {
            const orch_product_t **page;
            size_t n, total;
            char *next;
            orch_error_t err;
            orch_error_init(&err);
            assert_int_equal(
                orch_catalog_list_products(cat, NULL, size, token, &page, &n, &total, &next, &err),
                ORCH_OK);
            assert_int_equal(total, 9);
            for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < seen; j++)
                    assert_string_not_equal(names[j], page[i]->def->name);
                snprintf(names[seen++], 64, "%s", page[i]->def->name);
            }
            free(page);
            free(token);
            token = next;
        } while (token);
        assert_int_equal(seen, 9);
    }
}

static void list_filters(void **state)
{
    orch_catalog_t *cat = *state;
    const orch_product_t **page;
    size_t n, total;
    char *next;
    orch_error_t err;

    orch_error_init(&err);
    assert_int_equal(orch_catalog_list_products(cat, "tag = \"NODE\" AND name : cisco", 0, NULL,
                                                &page, &n, &total, &next, &err),
                     ORCH_OK);
    assert_int_equal(n, 1);
    assert_string_equal(page[0]->def->name, "node Cisco");
    assert_null(next);
    free(page);
    assert_int_equal(orch_catalog_list_products(cat, "product_type = Port OR tag = L2VPN", 0, NULL,
                                                &page, &n, &total, &next, &err),
                     ORCH_OK);
    assert_int_equal(n, 3);
    free(page);
    assert_int_equal(orch_catalog_list_products(cat, "status = \"active\"", 0, NULL, &page, &n,
                                                &total, &next, &err),
                     ORCH_OK);
    assert_int_equal(n, 9);
    free(page);
}

static void bad_list_input_names_the_field(void **state)
{
    orch_catalog_t *cat = *state;
    const orch_product_t **page;
    size_t n, total;
    char *next, *token;
    orch_error_t err;

    orch_error_init(&err);
    assert_int_equal(
        orch_catalog_list_products(cat, "colour = red", 0, NULL, &page, &n, &total, &next, &err),
        ORCH_INVALID_ARGUMENT);
    assert_string_equal(err.violations[0].field, "filter");
    assert_non_null(strstr(err.violations[0].description, "offset 0"));

    orch_error_init(&err);
    assert_int_equal(
        orch_catalog_list_products(cat, NULL, -1, NULL, &page, &n, &total, &next, &err),
        ORCH_INVALID_ARGUMENT);
    assert_string_equal(err.violations[0].field, "page_size");

    /* A token made for one filter is refused with another. */
    assert_int_equal(
        orch_catalog_list_products(cat, "tag = NODE", 1, NULL, &page, &n, &total, &token, &err),
        ORCH_OK);
    free(page);
    assert_non_null(token);
    orch_error_init(&err);
    assert_int_equal(
        orch_catalog_list_products(cat, "tag = PORT", 1, token, &page, &n, &total, &next, &err),
        ORCH_INVALID_ARGUMENT);
    assert_string_equal(err.violations[0].field, "page_token");
    /* A tampered token is refused. */
    token[3] = token[3] == 'A' ? 'B' : 'A';
    orch_error_init(&err);
    assert_int_equal(
        orch_catalog_list_products(cat, "tag = NODE", 1, token, &page, &n, &total, &next, &err),
        ORCH_INVALID_ARGUMENT);
    assert_string_equal(err.violations[0].field, "page_token");
    free(token);
}

static void get_by_id_and_name(void **state)
{
    orch_catalog_t *cat = *state;
    const orch_product_t *p;
    orch_error_t err;

    orch_error_init(&err);
    assert_int_equal(orch_catalog_get_product(cat, NULL, "node Cisco", "product_id", &p, &err),
                     ORCH_OK);
    assert_int_equal(orch_catalog_get_product(cat, p->id, NULL, "product_id", &p, &err), ORCH_OK);
    assert_string_equal(p->def->name, "node Cisco");
    assert_int_equal(orch_catalog_get_product(cat, "00000000-0000-4000-8000-999999999999", NULL,
                                              "product_id", &p, &err),
                     ORCH_NOT_FOUND);
    orch_error_init(&err);
    assert_int_equal(orch_catalog_get_product(cat, "NOT-A-UUID", NULL, "product_id", &p, &err),
                     ORCH_INVALID_ARGUMENT);
    assert_string_equal(err.violations[0].field, "product_id");
    orch_error_init(&err);
    assert_int_equal(orch_catalog_get_product(cat, "00000000-0000-4000-8000-00000000000A", NULL,
                                              "product_id", &p, &err),
                     ORCH_INVALID_ARGUMENT);
    assert_int_equal(orch_catalog_get_product(cat, NULL, "node Juniper", "product_id", &p, &err),
                     ORCH_NOT_FOUND);
}

static const orch_field_def_t f_a[] = {{"a", ORCH_FIELD_STRING, false, false, "", NULL}, {0}};
static const orch_child_def_t c_missing[] = {{"x", "NoSuchBlock", 1, 1, false}, {0}};
static const orch_child_def_t c_self[] = {{"x", "Loop", 1, 1, false}, {0}};
static const orch_child_def_t c_counts[] = {{"x", "A", 3, 2, false}, {0}};

static void invalid_definitions_are_named(void **state)
{
    struct {
        orch_block_def_t block;
        const char *expect;
    } cases[] = {
        {{"B", "", "", f_a, c_missing}, "NoSuchBlock"},
        {{"Loop", "", "", f_a, c_self}, "contains itself"},
        {{"C", "", "", f_a, c_counts}, "min_count"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        orch_catalog_t *cat = orch_catalog_new();
        orch_block_def_t a = {"A", "", "", f_a, NULL};
        orch_product_def_t p = {"p",  "",  "T", "T", ORCH_PRODUCT_ACTIVE, cases[i].block.name,
                                NULL, NULL};
        orch_error_t err;
        orch_error_init(&err);
        orch_catalog_add_block(cat, &a);
        orch_catalog_add_block(cat, &cases[i].block);
        orch_catalog_add_product(cat, &p);
        assert_int_equal(orch_catalog_validate(cat, &err), ORCH_FAILED_PRECONDITION);
        assert_non_null(strstr(err.message, cases[i].expect));
        orch_catalog_free(cat);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(example_has_every_product),
        cmocka_unit_test(product_blocks_are_resolved),
        cmocka_unit_test(list_pages_return_each_once),
        cmocka_unit_test(list_filters),
        cmocka_unit_test(bad_list_input_names_the_field),
        cmocka_unit_test(get_by_id_and_name),
        cmocka_unit_test(invalid_definitions_are_named),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
