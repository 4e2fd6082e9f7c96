/* Unit tests of the AIP-160 filter subset: grammar, precedence, comparisons, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/filter.h"

static const char *const fields[] = {"name", "tag", "speed", "start_time", NULL};

typedef struct {
    const char *name, *tag, *speed, *start_time;
} obj_t;

static const char *get(const void *o, const char *field)
{
    const obj_t *x = o;
    if (!strcmp(field, "name"))
        return x->name;
    if (!strcmp(field, "tag"))
        return x->tag;
    if (!strcmp(field, "speed"))
        return x->speed;
    if (!strcmp(field, "start_time"))
        return x->start_time;
    return NULL;
}

static bool m(const char *text, const obj_t *o)
{
    orch_filter_t *f;
    orch_error_t err;
    bool r;
    orch_error_init(&err);
    assert_int_equal(orch_filter_parse(text, fields, &f, &err), ORCH_OK);
    r = orch_filter_match(f, get, o);
    orch_filter_free(f);
    return r;
}

static void matches(void **state)
{
    obj_t o = {"node Cisco", "NODE", "10000", "2026-01-02T03:04:05Z"};
    (void)state;
    assert_true(m(NULL, &o));
    assert_true(m("  ", &o));
    assert_true(m("tag = NODE", &o));
    assert_true(m("tag=\"NODE\"", &o));
    assert_false(m("tag != NODE", &o));
    assert_true(m("name : cisco", &o));
    assert_false(m("name : nokia", &o));
    assert_true(m("speed > 9000", &o)); /* numeric, not lexical */
    assert_false(m("speed < 9000", &o));
    assert_true(m("speed >= 10000 AND speed <= 10000", &o));
    assert_true(m("NOT tag = PORT", &o));
    assert_true(m("-tag = PORT", &o));
    assert_true(m("tag = PORT OR tag = NODE", &o));
    /* OR binds tighter than AND. */
    assert_true(m("name : cisco tag = PORT OR tag = NODE", &o));
    assert_false(m("(name : cisco AND tag = PORT) OR name : x", &o));
    assert_true(m("start_time > 2026-01-01T00:00:00Z", &o));
    assert_true(m("start_time < 2026-01-02T05:00:00+01:00", &o));
    assert_false(m("start_time < 2026-01-02T04:00:00+01:00", &o));
}

static void errors_name_filter_and_offset(void **state)
{
    const struct {
        const char *text, *expect;
    } cases[] = {
        {"colour = red", "unknown field 'colour' at offset 0"},
        {"tag = ", "expected a value at offset 6"},
        {"tag ~ x", "offset 4"},
        {"(tag = x", "expected ')'"},
        {"tag = \"x", "unterminated quoted string at offset 6"},
        {"tag = x )", "unexpected text at offset 8"},
        {"tag = x AND", "unexpected end of filter"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        orch_filter_t *f = NULL;
        orch_error_t err;
        orch_error_init(&err);
        assert_int_equal(orch_filter_parse(cases[i].text, fields, &f, &err), ORCH_INVALID_ARGUMENT);
        assert_null(f);
        assert_int_equal(err.nviolations, 1);
        assert_string_equal(err.violations[0].field, "filter");
        if (!strstr(err.violations[0].description, cases[i].expect))
            fail_msg("'%s': got '%s'", cases[i].text, err.violations[0].description);
    }
}

static void deep_nesting_is_refused(void **state)
{
    char text[400];
    orch_filter_t *f = NULL;
    orch_error_t err;
    (void)state;
    memset(text, '(', 200);
    strcpy(text + 200, "tag = x");
    orch_error_init(&err);
    assert_int_equal(orch_filter_parse(text, fields, &f, &err), ORCH_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "nested too deeply"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches),
        cmocka_unit_test(errors_name_filter_and_offset),
        cmocka_unit_test(deep_nesting_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
