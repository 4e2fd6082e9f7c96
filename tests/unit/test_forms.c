/* Unit tests of domain/forms: every field type and bound, defaults, read-only and secret
 * fields, violations with their paths, page dependencies, schema rendering, deep merge, a
 * form's check across the fields of a page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/forms/forms.h"

static const char *const colours[] = {"red", "green", "blue", NULL};

static json_t *ports_of(const orch_form_env_t *env, const json_t *answers)
{
    (void)env;
    const char *node = json_string_value(json_object_get(answers, "node"));
    if (node && strcmp(node, "a") == 0)
        return json_pack("[s, {s:s, s:s}]", "1/1/1", "value", "1/1/2", "label", "second");
    return json_pack("[s]", "9/9/9");
}

static const orch_form_field_t item_fields[] = {
    {.name = "vlan",
     .type = ORCH_FORM_INTEGER,
     .required = true,
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 4095},
    {0},
};
static const orch_form_field_t vlan_item[] = {
    {.name = "item", .type = ORCH_FORM_OBJECT, .fields = item_fields},
    {0},
};
static const orch_form_field_t page1[] = {
    {.name = "name",
     .title = "Name",
     .type = ORCH_FORM_STRING,
     .required = true,
     .has_min = true,
     .min = 2,
     .has_max = true,
     .max = 5,
     .pattern = "[a-z]+"},
    {.name = "count",
     .type = ORCH_FORM_INTEGER,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 10,
     .default_json = "3"},
    {.name = "flag", .type = ORCH_FORM_BOOLEAN},
    {.name = "id", .type = ORCH_FORM_UUID},
    {.name = "colour", .type = ORCH_FORM_CHOICE, .choices = colours},
    {.name = "colours",
     .type = ORCH_FORM_MULTI_CHOICE,
     .choices = colours,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 2},
    {.name = "saps", .type = ORCH_FORM_LIST, .fields = vlan_item, .has_max = true, .max = 2},
    {.name = "fixed", .type = ORCH_FORM_STRING, .read_only = true, .default_json = "\"x\""},
    {.name = "password", .type = ORCH_FORM_STRING, .secret = true},
    {.name = "hint", .title = "Read this", .type = ORCH_FORM_LABEL},
    {.name = "node", .type = ORCH_FORM_STRING},
    {0},
};
static const orch_form_field_t page2[] = {
    {.name = "port", .type = ORCH_FORM_CHOICE, .required = true, .choices_fn = ports_of},
    {0},
};
static const orch_form_page_t pages[] = {{"One", page1}, {"Two", page2}, {0}};
static const orch_form_t form = {.pages = pages};

static orch_err_t run(const char *inputs, orch_form_result_t *r, orch_error_t *err)
{
    json_t *arr = json_loads(inputs, 0, NULL);
    const json_t *in[8];
    size_t n = json_array_size(arr);
    orch_err_t rc;
    for (size_t i = 0; i < n; i++)
        in[i] = json_array_get(arr, i);
    orch_error_init(err);
    rc = orch_form_run(&form, NULL, in, n, "user_inputs", r, err);
    json_decref(arr);
    return rc;
}

static bool has(const orch_error_t *e, const char *field)
{
    for (size_t i = 0; i < e->nviolations; i++)
        if (strcmp(e->violations[i].field, field) == 0)
            return true;
    return false;
}

static void pages_and_defaults(void **state)
{
    orch_form_result_t r;
    orch_error_t err;
    (void)state;
    assert_int_equal(run("[]", &r, &err), ORCH_OK);
    assert_false(r.complete);
    assert_int_equal(r.page_index, 0);
    orch_form_result_cleanup(&r);

    assert_int_equal(run("[{\"name\": \"abc\", \"node\": \"a\", \"password\": \"s3\"}]", &r, &err),
                     ORCH_OK);
    assert_false(r.complete);
    assert_int_equal(r.page_index, 1);
    /* Page 2's choices depend on page 1's answer. */
    {
        json_t *en = json_object_get(
            json_object_get(json_object_get(r.next_page, "properties"), "port"), "enum");
        assert_int_equal(json_array_size(en), 2);
        assert_string_equal(json_string_value(json_array_get(en, 1)), "1/1/2");
    }
    orch_form_result_cleanup(&r);

    assert_int_equal(run("[{\"name\": \"abc\", \"node\": \"a\", \"password\": \"s3\"}, "
                         "{\"port\": \"1/1/2\"}]",
                         &r, &err),
                     ORCH_OK);
    assert_true(r.complete);
    assert_int_equal(json_integer_value(json_object_get(r.answers, "count")), 3);
    assert_string_equal(json_string_value(json_object_get(r.answers, "fixed")), "x");
    assert_string_equal(json_string_value(json_object_get(r.answers, "password")), "s3");
    assert_string_equal(json_string_value(json_object_get(r.masked, "password")), "***");
    assert_null(json_object_get(r.answers, "hint"));
    orch_form_result_cleanup(&r);

    /* Page 2's choices for another node refuse 1/1/2. */
    assert_int_equal(run("[{\"name\": \"abc\", \"node\": \"b\"}, {\"port\": \"1/1/2\"}]", &r, &err),
                     ORCH_INVALID_ARGUMENT);
    assert_true(has(&err, "user_inputs[1].port"));
    orch_form_result_cleanup(&r);

    /* Too many pages. */
    assert_int_equal(run("[{\"name\": \"abc\"}, {\"port\": \"9/9/9\"}, {}]", &r, &err),
                     ORCH_INVALID_ARGUMENT);
    assert_true(has(&err, "user_inputs[2]"));
    orch_form_result_cleanup(&r);
}

static void violations(void **state)
{
    orch_form_result_t r;
    orch_error_t err;
    (void)state;
    assert_int_equal(
        run("[{\"name\": \"A\", \"count\": 11, \"flag\": \"yes\", \"id\": \"nope\", "
            "\"colour\": \"pink\", \"colours\": [\"red\", \"red\"], \"saps\": [{\"vlan\": "
            "5000}], \"fixed\": \"y\", \"extra\": 1}]",
            &r, &err),
        ORCH_INVALID_ARGUMENT);
    assert_true(has(&err, "user_inputs[0].name"));
    assert_true(has(&err, "user_inputs[0].count"));
    assert_true(has(&err, "user_inputs[0].flag"));
    assert_true(has(&err, "user_inputs[0].id"));
    assert_true(has(&err, "user_inputs[0].colour"));
    assert_true(has(&err, "user_inputs[0].colours[1]"));
    assert_true(has(&err, "user_inputs[0].saps[0].vlan"));
    assert_true(has(&err, "user_inputs[0].fixed"));
    assert_true(has(&err, "user_inputs[0].extra"));
    assert_int_equal(err.nviolations, 9);
    orch_form_result_cleanup(&r);

    /* Integers: fractions and numbers beyond 2^53 are refused. */
    assert_int_equal(run("[{\"name\": \"abc\", \"count\": 2.5}]", &r, &err), ORCH_INVALID_ARGUMENT);
    assert_non_null(strstr(err.violations[0].description, "whole number"));
    orch_form_result_cleanup(&r);
    assert_int_equal(run("[{\"name\": \"abc\", \"count\": 9007199254740993}]", &r, &err),
                     ORCH_INVALID_ARGUMENT);
    orch_form_result_cleanup(&r);
    assert_int_equal(run("[{\"name\": \"abc\", \"count\": 1e300}]", &r, &err),
                     ORCH_INVALID_ARGUMENT);
    assert_non_null(strstr(err.violations[0].description, "2^53"));
    orch_form_result_cleanup(&r);
    /* Required, pattern, lengths, list and multi-choice bounds. */
    assert_int_equal(run("[{}]", &r, &err), ORCH_INVALID_ARGUMENT);
    assert_true(has(&err, "user_inputs[0].name"));
    assert_non_null(strstr(err.violations[0].description, "required"));
    orch_form_result_cleanup(&r);
    assert_int_equal(run("[{\"name\": \"ab1\"}]", &r, &err), ORCH_INVALID_ARGUMENT);
    orch_form_result_cleanup(&r);
    assert_int_equal(run("[{\"name\": \"abcdef\"}]", &r, &err), ORCH_INVALID_ARGUMENT);
    orch_form_result_cleanup(&r);
    assert_int_equal(run("[{\"name\": \"abc\", \"colours\": []}]", &r, &err),
                     ORCH_INVALID_ARGUMENT);
    orch_form_result_cleanup(&r);
    assert_int_equal(run("[{\"name\": \"abc\", \"saps\": [{}, {}, {}]}]", &r, &err),
                     ORCH_INVALID_ARGUMENT);
    orch_form_result_cleanup(&r);
    assert_int_equal(run("[\"text\"]", &r, &err), ORCH_INVALID_ARGUMENT);
    assert_true(has(&err, "user_inputs[0]"));
    orch_form_result_cleanup(&r);
}

static void schema(void **state)
{
    json_t *s = orch_form_page_schema(&pages[0], NULL, 0, NULL), *p;
    (void)state;
    assert_string_equal(json_string_value(json_object_get(s, "type")), "object");
    assert_string_equal(json_string_value(json_object_get(s, "title")), "One");
    assert_true(json_is_false(json_object_get(s, "additionalProperties")));
    assert_int_equal(json_array_size(json_object_get(s, "required")), 1);
    p = json_object_get(s, "properties");
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "name"), "pattern")),
                        "^([a-z]+)$");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "count"), "maximum")),
                     10);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "count"), "default")),
                     3);
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "id"), "format")),
                        "uuid");
    assert_int_equal(json_array_size(json_object_get(json_object_get(p, "colour"), "enum")), 3);
    assert_true(json_is_true(json_object_get(json_object_get(p, "colours"), "uniqueItems")));
    assert_true(json_is_true(json_object_get(json_object_get(p, "fixed"), "readOnly")));
    assert_true(json_is_true(json_object_get(json_object_get(p, "password"), "writeOnly")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(p, "hint"), "x-orch-widget")), "label");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(p, "saps"), "items"), "type")),
                        "object");
    json_decref(s);
}

static void deep_merge(void **state)
{
    json_t *a = json_pack("{s:{s:i, s:i}, s:i}", "o", "x", 1, "y", 2, "k", 1);
    json_t *b = json_pack("{s:{s:i}, s:i}", "o", "y", 3, "k", 2);
    json_t *m = orch_json_deep_merge(a, b);
    (void)state;
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "o"), "x")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "o"), "y")), 3);
    assert_int_equal(json_integer_value(json_object_get(m, "k")), 2);
    json_decref(a);
    json_decref(b);
    json_decref(m);
}

/* A form's check across the fields of a page: runs once the page's fields are valid, sees
 * the earlier answers merged with the page's, names the wrong field. */
static const orch_form_field_t pair_page[] = {
    {.name = "a", .type = ORCH_FORM_STRING, .required = true},
    {.name = "b", .type = ORCH_FORM_STRING, .required = true},
    {0},
};
static const orch_form_field_t last_page[] = {
    {.name = "c", .type = ORCH_FORM_STRING, .required = true},
    {0},
};
static const orch_form_page_t pair_pages[] = {{"Pair", pair_page}, {"Last", last_page}, {0}};

static size_t checks_run;

static size_t distinct(const orch_form_env_t *env, size_t index, const json_t *answers,
                       const char *path, orch_error_t *err)
{
    const char *a = json_string_value(json_object_get(answers, "a"));
    const char *b = json_string_value(json_object_get(answers, "b"));
    const char *c = json_string_value(json_object_get(answers, "c"));
    char field[96];
    (void)env;
    checks_run++;
    assert_non_null(a);
    assert_non_null(b);
    if (index == 0 && strcmp(a, b) == 0) {
        snprintf(field, sizeof(field), "%s.b", path);
        orch_error_add_violation(err, field, "b must differ from a");
        return 1;
    }
    if (index == 1 && strcmp(c, a) == 0) {
        snprintf(field, sizeof(field), "%s.c", path);
        orch_error_add_violation(err, field, "c must differ from a");
        return 1;
    }
    return 0;
}
static const orch_form_t pair_form = {.pages = pair_pages, .check = distinct};

static orch_err_t run_pair(const char *inputs, orch_form_result_t *r, orch_error_t *err)
{
    json_t *arr = json_loads(inputs, 0, NULL);
    const json_t *in[4];
    size_t n = json_array_size(arr);
    orch_err_t rc;
    for (size_t i = 0; i < n; i++)
        in[i] = json_array_get(arr, i);
    orch_error_init(err);
    rc = orch_form_run(&pair_form, NULL, in, n, "user_inputs", r, err);
    json_decref(arr);
    return rc;
}

/* The secret overlay of a form result, the mask test and masking what a step returns. */
static void secret_overlay(void **state)
{
    orch_form_result_t r;
    orch_error_t err;
    json_t *ov, *back, *delta, *nested, *nmask, *nov;
    (void)state;
    assert_int_equal(run("[{\"name\": \"abc\", \"node\": \"a\", \"password\": \"s3\"}, "
                         "{\"port\": \"1/1/2\"}]",
                         &r, &err),
                     ORCH_OK);
    ov = orch_form_secrets(r.answers, r.masked);
    assert_non_null(ov);
    assert_int_equal(json_object_size(ov), 1);
    assert_string_equal(json_string_value(json_object_get(ov, "password")), "s3");
    assert_true(orch_json_has_mask(r.masked));
    assert_false(orch_json_has_mask(r.answers));
    /* Masked state + overlay = the answers. */
    back = orch_json_deep_merge(r.masked, ov);
    assert_true(json_equal(back, r.answers));
    /* A step echoing the secret (or nesting something under its name) has it masked. */
    delta = json_pack("{s:s, s:i}", "password", "s3", "other", 1);
    orch_json_mask_like(delta, ov);
    assert_string_equal(json_string_value(json_object_get(delta, "password")), "***");
    assert_int_equal(json_integer_value(json_object_get(delta, "other")), 1);
    json_decref(delta);
    json_decref(back);
    json_decref(ov);
    orch_form_result_cleanup(&r);

    /* No secret answered: no overlay. */
    assert_int_equal(run("[{\"name\": \"abc\", \"node\": \"a\"}, {\"port\": \"1/1/2\"}]", &r, &err),
                     ORCH_OK);
    assert_null(orch_form_secrets(r.answers, r.masked));
    orch_form_result_cleanup(&r);

    /* Nested objects recurse; a list holding a mask is taken whole. */
    nested = json_pack("{s:{s:s, s:s}, s:[s, s], s:s}", "dev", "user", "u", "pw", "p1", "keys",
                       "k1", "k2", "plain", "x");
    nmask = json_pack("{s:{s:s, s:s}, s:[s, s], s:s}", "dev", "user", "u", "pw", "***", "keys",
                      "***", "***", "plain", "x");
    nov = orch_form_secrets(nested, nmask);
    assert_non_null(nov);
    assert_int_equal(json_object_size(nov), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(nov, "dev"), "pw")),
                        "p1");
    assert_null(json_object_get(json_object_get(nov, "dev"), "user"));
    assert_int_equal(json_array_size(json_object_get(nov, "keys")), 2);
    back = orch_json_deep_merge(nmask, nov);
    assert_true(json_equal(back, nested));
    json_decref(back);
    json_decref(nov);
    json_decref(nmask);
    json_decref(nested);
}

static void form_check(void **state)
{
    orch_form_result_t r;
    orch_error_t err;
    (void)state;
    /* A field wrong: the check does not run. */
    checks_run = 0;
    assert_int_equal(run_pair("[{\"a\": \"x\"}]", &r, &err), ORCH_INVALID_ARGUMENT);
    assert_int_equal(checks_run, 0);
    assert_true(has(&err, "user_inputs[0].b"));
    orch_form_result_cleanup(&r);
    /* The same value twice: one violation, naming b; the next page is not offered. */
    assert_int_equal(run_pair("[{\"a\": \"x\", \"b\": \"x\"}]", &r, &err), ORCH_INVALID_ARGUMENT);
    assert_int_equal(err.nviolations, 1);
    assert_true(has(&err, "user_inputs[0].b"));
    assert_null(r.next_page);
    orch_form_result_cleanup(&r);
    /* Distinct: page 2 comes; on page 2 the check sees page 1's answers. */
    assert_int_equal(run_pair("[{\"a\": \"x\", \"b\": \"y\"}]", &r, &err), ORCH_OK);
    assert_false(r.complete);
    assert_int_equal(r.page_index, 1);
    orch_form_result_cleanup(&r);
    assert_int_equal(run_pair("[{\"a\": \"x\", \"b\": \"y\"}, {\"c\": \"x\"}]", &r, &err),
                     ORCH_INVALID_ARGUMENT);
    assert_true(has(&err, "user_inputs[1].c"));
    orch_form_result_cleanup(&r);
    assert_int_equal(run_pair("[{\"a\": \"x\", \"b\": \"y\"}, {\"c\": \"z\"}]", &r, &err), ORCH_OK);
    assert_true(r.complete);
    orch_form_result_cleanup(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pages_and_defaults),
        cmocka_unit_test(violations),
        cmocka_unit_test(schema),
        cmocka_unit_test(deep_merge),
        cmocka_unit_test(form_check),
        cmocka_unit_test(secret_overlay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
