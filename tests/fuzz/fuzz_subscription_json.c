/* libFuzzer target: a subscription document (the JSON that process state holds and workflows
 * hand back) read with orch_sub_from_json against the example catalogue, through the same
 * builder as the store's load.
 *
 * Invariants beyond "no crash, no leak, no UB": refusals are INVALID_ARGUMENT or INTERNAL
 * with a sentence; an accepted document written back with orch_sub_to_json reads again, and
 * writes the same document a second time. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/catalog/catalog.h"
#include "domain/subscription/subscription.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static orch_catalog_t *cat;

/* The example catalogue with the ids the store's st->catalog->sync would give it (as
 * tests/unit/test_subscription.c does); the same ids as the seed documents. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    orch_error_t err;
    (void)argc;
    (void)argv;
    cat = orch_catalog_new();
    orch_catalog_load_example(cat);
    orch_error_init(&err);
    if (orch_catalog_validate(cat, &err) != ORCH_OK)
        abort();
    for (size_t i = 0; i < orch_catalog_nproducts(cat); i++)
        snprintf(orch_catalog_product_at(cat, i)->id, 37, "00000000-0000-4000-8000-%012u",
                 (unsigned)(i + 1) % 1000u);
    for (size_t i = 0; i < orch_catalog_nblocks(cat); i++)
        snprintf(orch_catalog_block_at(cat, i)->id, 37, "00000000-0000-4000-9000-%012u",
                 (unsigned)(i + 1) % 1000u);
    /* FUZZ_PRINT_EXAMPLES=1: print a fresh subscription of each product, one per line (the
     * seed documents of the corpus, tests/fuzz/seeds.sh). */
    if (getenv("FUZZ_PRINT_EXAMPLES")) {
        for (size_t i = 0; i < orch_catalog_nproducts(cat); i++) {
            orch_subscription_t *sub = NULL;
            if (orch_subscription_new_from_product(orch_catalog_product_at(cat, i), "customer-1",
                                                   &sub, &err) != ORCH_OK)
                abort();
            json_t *j = orch_sub_to_json(sub);
            char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
            puts(text);
            free(text);
            json_decref(j);
            orch_subscription_free(sub);
        }
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, size, 0, &jerr);
    orch_subscription_t *sub = NULL, *again = NULL;
    json_t *a = NULL, *b = NULL;
    orch_error_t err;
    orch_err_t rc;

    if (!doc)
        return 0;
    orch_error_init(&err);
    rc = orch_sub_from_json(cat, doc, &sub, &err);
    if (rc) {
        if ((rc != ORCH_INVALID_ARGUMENT && rc != ORCH_INTERNAL) || sub || !err.message[0]) {
            fprintf(stderr, "fuzz_subscription_json: refused with %d (%s)\n", rc, err.message);
            abort();
        }
        goto out;
    }
    a = orch_sub_to_json(sub);
    orch_error_init(&err);
    rc = orch_sub_from_json(cat, a, &again, &err);
    if (rc) {
        fprintf(stderr, "fuzz_subscription_json: its own output refused: %s\n", err.message);
        abort();
    }
    b = orch_sub_to_json(again);
    if (!json_equal(a, b)) {
        fprintf(stderr, "fuzz_subscription_json: to_json(from_json(to_json(x))) differs\n");
        abort();
    }
out:
    json_decref(a);
    json_decref(b);
    orch_subscription_free(sub);
    orch_subscription_free(again);
    json_decref(doc);
    return 0;
}
