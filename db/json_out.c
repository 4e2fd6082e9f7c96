/* JSON text in one pass (json_out.h): the same bytes as json_dumps(JSON_COMPACT |
 * JSON_ENCODE_ANY), strings copied in runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "db/json_out.h"

static void reserve(db_json_out_t *o, size_t more)
{
    if (o->len + more + 1 <= o->cap)
        return;
    o->cap = (o->len + more + 1) * 2;
    o->s = orch_realloc(o->s, o->cap);
}

void db_json_out_raw(db_json_out_t *o, const char *s, size_t n)
{
    reserve(o, n);
    memcpy(o->s + o->len, s, n);
    o->len += n;
    o->s[o->len] = '\0';
}

/* What json_dumps writes for a byte JSON must escape; NULL for a byte it copies. */
static const char *escape_of(unsigned char c, char buf[8])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        if (c >= 0x20)
            return NULL;
        snprintf(buf, 8, "\\u%04X", c);
        return buf;
    }
}

void db_json_out_str(db_json_out_t *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
    char buf[8];

    reserve(o, n + 2);
    o->s[o->len++] = '"';
    for (; p < end; p++) {
        const char *e = *p >= 0x20 && *p != '"' && *p != '\\' ? NULL : escape_of(*p, buf);
        if (!e)
            continue;
        db_json_out_raw(o, (const char *)run, (size_t)(p - run));
        db_json_out_raw(o, e, strlen(e));
        run = p + 1;
    }
    db_json_out_raw(o, (const char *)run, (size_t)(end - run));
    db_json_out_raw(o, "\"", 1);
}

/* A real as jansson writes it: %.17g, a ".0" when that reads as an integer, and the
 * exponent without its '+' and leading zeros. */
static void out_real(db_json_out_t *o, double v)
{
    char buf[64], *e;
    int n = snprintf(buf, sizeof(buf), "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return;
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        db_json_out_raw(o, buf, (size_t)n);
        db_json_out_raw(o, ".0", 2);
        return;
    }
    e = strchr(buf, 'e');
    if (e) {
        char *from = e + 1, *to = e + 1;
        if (*from == '+')
            from++;
        else if (*from == '-')
            *to++ = *from++;
        while (*from == '0' && from[1])
            from++;
        memmove(to, from, strlen(from) + 1);
    }
    db_json_out_raw(o, buf, strlen(buf));
}

void db_json_out_value(db_json_out_t *o, const json_t *v)
{
    char buf[32];
    const char *k;
    json_t *x;
    size_t i;
    int n;

    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT:
        db_json_out_raw(o, "{", 1);
        i = 0;
        json_object_foreach((json_t *)v, k, x)
        {
            if (i++)
                db_json_out_raw(o, ",", 1);
            db_json_out_str(o, k, strlen(k));
            db_json_out_raw(o, ":", 1);
            db_json_out_value(o, x);
        }
        db_json_out_raw(o, "}", 1);
        break;
    case JSON_ARRAY:
        db_json_out_raw(o, "[", 1);
        json_array_foreach(v, i, x)
        {
            if (i)
                db_json_out_raw(o, ",", 1);
            db_json_out_value(o, x);
        }
        db_json_out_raw(o, "]", 1);
        break;
    case JSON_STRING:
        db_json_out_str(o, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        n = snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        db_json_out_raw(o, buf, (size_t)n);
        break;
    case JSON_REAL:
        out_real(o, json_real_value(v));
        break;
    case JSON_TRUE:
        db_json_out_raw(o, "true", 4);
        break;
    case JSON_FALSE:
        db_json_out_raw(o, "false", 5);
        break;
    default:
        db_json_out_raw(o, "null", 4);
        break;
    }
}

char *db_json_out_take(db_json_out_t *o)
{
    char *s = o->s ? o->s : orch_strdup("");
    o->s = NULL;
    o->len = o->cap = 0;
    return s;
}
