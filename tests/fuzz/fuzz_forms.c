/* libFuzzer target: form answers (the user_inputs of StartProcess and ResumeProcess, after
 * the Struct -> JSON conversion) validated by orch_form_run against a two-page form that uses
 * every field type and option: patterns, bounds, defaults, read-only and secret fields,
 * static and computed choices, nested objects and lists. The input is JSON text: an array is
 * one object per page, anything else is the first page's answers.
 *
 * Invariants beyond "no crash, no leak, no UB": the result is OK or INVALID_ARGUMENT with a
 * violation under "user_inputs"; a complete result's answers are an object whose secret is
 * masked in `masked`; an incomplete one names the next page with its schema. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/forms/forms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const modes[] = {"tagged", "untagged", "link_member", NULL};

/* Choices computed from earlier answers, as a port page computes the free ports of the node
 * chosen on the page before. */
static json_t *ports_of_node(const orch_form_env_t *env, const json_t *answers)
{
    const char *node = json_string_value(json_object_get(answers, "node_name"));
    (void)env;
    if (!node)
        return NULL;
    return json_pack("[s, s, {s:i, s:s}]", "xe-0/0/0", "xe-0/0/1", "value", 3, "label",
                     "port three");
}

static const orch_form_field_t address_fields[] = {
    {.name = "street", .type = ORCH_FORM_STRING, .required = true, .has_max = true, .max = 40},
    {.name = "floor", .type = ORCH_FORM_INTEGER, .has_min = true, .min = -5, .default_json = "0"},
    {0},
};

static const orch_form_field_t vlan_item[] = {
    {.name = "vlan",
     .type = ORCH_FORM_INTEGER,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 4094},
    {0},
};

static const orch_form_field_t node_page[] = {
    {.name = "intro", .type = ORCH_FORM_LABEL, .title = "Choose the node"},
    {.name = "node_name",
     .title = "Node",
     .type = ORCH_FORM_STRING,
     .required = true,
     .has_min = true,
     .min = 3,
     .has_max = true,
     .max = 63,
     .pattern = "[a-z][a-z0-9-]*"},
    {.name = "role_id",
     .type = ORCH_FORM_INTEGER,
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 1000,
     .default_json = "3"},
    {.name = "enabled", .type = ORCH_FORM_BOOLEAN, .default_json = "true"},
    {.name = "site_id", .type = ORCH_FORM_UUID},
    {.name = "password", .type = ORCH_FORM_STRING, .secret = true},
    {.name = "version", .type = ORCH_FORM_STRING, .read_only = true, .default_json = "\"v1\""},
    {.name = "address", .type = ORCH_FORM_OBJECT, .fields = address_fields},
    {0},
};

static const orch_form_field_t port_page[] = {
    {.name = "port", .type = ORCH_FORM_CHOICE, .required = true, .choices_fn = ports_of_node},
    {.name = "mode", .type = ORCH_FORM_CHOICE, .choices = modes, .default_json = "\"tagged\""},
    {.name = "features",
     .type = ORCH_FORM_MULTI_CHOICE,
     .choices = modes,
     .has_max = true,
     .max = 2},
    {.name = "vlans", .type = ORCH_FORM_LIST, .fields = vlan_item, .has_max = true, .max = 16},
    {.name = "comment", .type = ORCH_FORM_STRING, .widget = "textarea"},
    {0},
};

static const orch_form_page_t pages[] = {
    {"Choose the node", node_page}, {"Choose the port", port_page}, {0}};
static const orch_form_t form = {.pages = pages};

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_forms: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
    const json_t *inputs[8];
    orch_form_env_t env = {0};
    orch_form_result_t res;
    orch_error_t err;
    orch_err_t rc;
    size_t n = 0;

    if (!doc)
        return 0;
    if (json_is_array(doc)) {
        for (size_t i = 0; i < json_array_size(doc) && n < 8; i++)
            inputs[n++] = json_array_get(doc, i);
    } else {
        inputs[n++] = doc;
    }
    orch_error_init(&err);
    rc = orch_form_run(&form, &env, inputs, n, "user_inputs", &res, &err);
    if (rc == ORCH_OK) {
        if (!json_is_object(res.answers) || !json_is_object(res.masked))
            fail("answers or masked is not an object");
        if (res.complete) {
            const json_t *pw = json_object_get(res.masked, "password");
            if (json_object_get(res.answers, "password") &&
                (!json_is_string(pw) || strcmp(json_string_value(pw), "***") != 0))
                fail("a secret answer is not masked");
        } else if (!res.next_page || !json_is_object(res.next_page)) {
            fail("an incomplete form names no next page");
        }
    } else if (rc != ORCH_INVALID_ARGUMENT || err.nviolations < 1 ||
               strncmp(err.violations[0].field, "user_inputs", 11) != 0) {
        fprintf(stderr, "fuzz_forms: refused with %d (%s)\n", rc, err.message);
        abort();
    }
    orch_form_result_cleanup(&res);
    json_decref(doc);
    return 0;
}
