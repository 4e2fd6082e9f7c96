/* db/json_out.c writes json_dumps(JSON_COMPACT | JSON_ENCODE_ANY)'s text byte for byte:
 * every kind of value, every character JSON escapes, long strings, reals in every range,
 * nesting, and a few thousand random documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/json_out.h"

/* Fails unless v writes as json_dumps writes it. */
static void same(const json_t *v)
{
    db_json_out_t o = {0};
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), *got;
    db_json_out_value(&o, v);
    got = db_json_out_take(&o);
    assert_non_null(want);
    assert_string_equal(got, want);
    free(want);
    free(got);
}

static void every_kind(void **state)
{
    (void)state;
    json_t *v =
        json_pack("{s:s, s:i, s:f, s:b, s:b, s:n, s:[], s:{}, s:[i, s, {s:[n]}]}", "s", "text", "i",
                  42, "f", 1.5, "t", 1, "f2", 0, "n", "a", "o", "arr", -7, "x", "k", "kk");
    same(v);
    json_decref(v);
    v = json_string("");
    same(v);
    json_decref(v);
    v = json_integer(INT64_MIN);
    same(v);
    json_decref(v);
}

static void escapes(void **state)
{
    (void)state;
    char all[128];
    for (int i = 1; i < 128; i++)
        all[i - 1] = (char)i;
    all[127] = '\0';
    json_t *v = json_pack("{s:s, s:s, s:s}", "ascii", all, "quote\"back\\slash", "\"\\/\b\f\n\r\t",
                          "utf8", "Grüße, 東京, \xF0\x9F\x98\x80 \xE2\x80\xA8");
    same(v);
    json_decref(v);
    v = json_stringn("nul\0inside", 10);
    same(v);
    json_decref(v);
}

static void long_strings(void **state)
{
    (void)state;
    size_t n = 100000;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = i % 97 == 0 ? '"' : i % 89 == 0 ? '\n' : (char)('a' + i % 26);
    s[n] = '\0';
    json_t *v = json_pack("{s:s}", "big", s);
    same(v);
    json_decref(v);
    free(s);
}

static void reals(void **state)
{
    (void)state;
    const double r[] = {0.0,
                        -0.0,
                        1.0,
                        -1.0,
                        0.1,
                        1e20,
                        1e21,
                        1e-5,
                        1e-7,
                        1e300,
                        -1e-300,
                        3.14159265358979,
                        123456789012345678.0,
                        2.5e-10,
                        1e100,
                        5e-324,
                        1.7976931348623157e308};
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        json_t *v = json_real(r[i]);
        same(v);
        json_decref(v);
    }
}

/* A random document of depth at most d from seed *x (xorshift). */
static uint32_t next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static json_t *random_json(uint32_t *x, int d)
{
    char s[24];
    switch (next(x) % (d > 0 ? 8 : 6)) {
    case 0:
        return json_integer((json_int_t)next(x) - (json_int_t)(next(x) % 1000000));
    case 1:
        return json_real((double)(int32_t)next(x) / (double)(next(x) % 1000 + 1) *
                         (next(x) % 2 ? 1e-9 : 1e12));
    case 2:
        for (int i = 0; i < 23; i++)
            s[i] = (char)(next(x) % 127 + 1);
        s[23] = '\0';
        return json_string(s);
    case 3:
        return json_true();
    case 4:
        return json_null();
    case 5:
        return json_false();
    case 6: {
        json_t *a = json_array();
        for (uint32_t i = next(x) % 5; i > 0; i--)
            json_array_append_new(a, random_json(x, d - 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint32_t i = next(x) % 5; i > 0; i--) {
            snprintf(s, sizeof(s), "k%u\"\t", next(x) % 100);
            json_object_set_new(o, s, random_json(x, d - 1));
        }
        return o;
    }
    }
}

static void random_documents(void **state)
{
    (void)state;
    uint32_t x = 2463534242u;
    for (int i = 0; i < 3000; i++) {
        json_t *v = random_json(&x, 4);
        same(v);
        json_decref(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind),       cmocka_unit_test(escapes),
        cmocka_unit_test(long_strings),     cmocka_unit_test(reals),
        cmocka_unit_test(random_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
