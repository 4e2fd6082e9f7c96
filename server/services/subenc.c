/* The Subscription message of a domain subscription written straight into protobuf bytes:
 * GetSubscription's miss path. It writes what packing srv_subscription_to_pb's message gives,
 * byte for byte (tests/unit/test_subenc.c holds the two equal), without the message tree, the
 * domain model's jansson tree and its Struct copy in between: on a miss these were most of
 * the server's own CPU per call.
 *
 * protobuf-c's rules, which this follows: fields in number order; a proto3 string, number,
 * bool or enum only when it is not empty or zero; a sub-message whenever it is there (even
 * empty); a repeated string every element; a oneof member (google.protobuf.Value's kind)
 * always, zero or not; varints minimal, int32 negatives sign-extended to 10 bytes. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "server/services/subpb.h"

/* The output buffer (arena memory: a grown buffer leaves its old copy to the arena) and the
 * places of the length bytes of the messages open in it. */
typedef struct enc {
    orch_arena_t *a;
    uint8_t *p;
    size_t len, cap;
    size_t *open; /* offsets of the open messages' one reserved length byte */
    size_t nopen, capopen;
    /* The domain model's containers while it is walked: true = an object (its values sit in
     * map entries), false = an array (a ListValue). */
    bool *obj;
    size_t nobj, capobj;
} enc_t;

static void grow(enc_t *e, size_t more)
{
    if (e->len + more > e->cap) /* checked here too: every byte written passes by */
        e->p = orch_arena_grow(e->a, e->p, e->len, &e->cap, e->len + more, 1, 4096);
}

size_t srv_pb_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static void put_varint(enc_t *e, uint64_t v)
{
    grow(e, 10);
    e->len += srv_pb_varint(e->p + e->len, v);
}

static void put_bytes(enc_t *e, const void *b, size_t n)
{
    grow(e, n);
    if (n)
        memcpy(e->p + e->len, b, n);
    e->len += n;
}

static void put_tag(enc_t *e, unsigned field, unsigned wire)
{
    put_varint(e, (uint64_t)field << 3 | wire);
}

/* A string as a oneof member or repeated element: always written. */
static void str_always(enc_t *e, unsigned field, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    put_tag(e, field, 2);
    put_varint(e, n);
    put_bytes(e, s, n);
}

/* A proto3 string field: only when not empty. */
static void str_field(enc_t *e, unsigned field, const char *s)
{
    if (s && *s)
        str_always(e, field, s);
}

static void int64_field(enc_t *e, unsigned field, int64_t v)
{
    if (!v)
        return;
    put_tag(e, field, 0);
    put_varint(e, (uint64_t)v);
}

/* int32 and enums: a negative one is sign-extended to 64 bits, as protobuf-c does. */
static void int32_field(enc_t *e, unsigned field, int32_t v)
{
    if (!v)
        return;
    put_tag(e, field, 0);
    put_varint(e, (uint64_t)(int64_t)v);
}

static void bool_field(enc_t *e, unsigned field, bool v)
{
    if (!v)
        return;
    put_tag(e, field, 0);
    put_varint(e, 1);
}

/* Opens a length-delimited sub-message: its tag and one byte for its length, which close
 * fixes (moving the body when the length needs more than one byte). */
static void open_msg(enc_t *e, unsigned field)
{
    put_tag(e, field, 2);
    grow(e, 1);
    e->open =
        orch_arena_grow(e->a, e->open, e->nopen, &e->capopen, e->nopen + 1, sizeof(*e->open), 64);
    e->open[e->nopen++] = e->len;
    e->p[e->len++] = 0;
}

static void close_msg(enc_t *e)
{
    size_t at = e->open[--e->nopen], body = e->len - at - 1, n = 1;
    uint8_t v[10];
    for (uint64_t x = body; x >= 0x80; x >>= 7)
        n++;
    if (n > 1) {
        grow(e, n - 1);
        memmove(e->p + at + n, e->p + at + 1, body);
        e->len += n - 1;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (uint8_t)((body >> (7 * i)) & 0x7f) | (i + 1 < n ? 0x80 : 0);
    memcpy(e->p + at, v, n);
}

static void timestamp_field(enc_t *e, unsigned field, int64_t us)
{
    int64_t seconds = us / 1000000;
    int32_t nanos = (int32_t)(us % 1000000) * 1000;
    if (!us)
        return;
    /* srv_codec_timestamp's arithmetic. */
    if (nanos < 0) {
        seconds--;
        nanos += 1000000000;
    }
    open_msg(e, field);
    int64_field(e, 1, seconds);
    int32_field(e, 2, nanos);
    close_msg(e);
}

/* ---- google.protobuf.Struct from the domain model's events --------------------------------- *
 * Inside an object a value is a map entry {1: key, 2: Value}; inside an array a ListValue
 * element {1: Value}. The document's root object is the Struct itself. */

static void push_container(enc_t *e, bool obj)
{
    e->obj = orch_arena_grow(e->a, e->obj, e->nobj, &e->capobj, e->nobj + 1, sizeof(*e->obj), 64);
    e->obj[e->nobj++] = obj;
}

/* Before a value: in an array, its element; in an object the key opened entry and Value. */
static void v_begin(enc_t *e)
{
    if (e->nobj && !e->obj[e->nobj - 1])
        open_msg(e, 1);
}

static void v_end(enc_t *e)
{
    close_msg(e); /* the Value */
    if (e->nobj && e->obj[e->nobj - 1])
        close_msg(e); /* its map entry */
}

static void s_key(void *ud, const char *key)
{
    enc_t *e = ud;
    open_msg(e, 1);
    str_field(e, 1, key);
    open_msg(e, 2);
}

static void s_begin_object(void *ud)
{
    enc_t *e = ud;
    if (e->nobj) {
        v_begin(e);
        open_msg(e, 5); /* struct_value */
    }
    push_container(e, true);
}

static void s_end_object(void *ud)
{
    enc_t *e = ud;
    e->nobj--;
    if (e->nobj) {
        close_msg(e);
        v_end(e);
    }
}

static void s_begin_array(void *ud)
{
    enc_t *e = ud;
    v_begin(e);
    open_msg(e, 6); /* list_value */
    push_container(e, false);
}

static void s_end_array(void *ud)
{
    enc_t *e = ud;
    e->nobj--;
    close_msg(e);
    v_end(e);
}

static void s_string(void *ud, const char *s)
{
    enc_t *e = ud;
    v_begin(e);
    str_always(e, 3, s);
    v_end(e);
}

static void number(enc_t *e, double d)
{
    uint64_t bits;
    uint8_t le[8];
    v_begin(e);
    memcpy(&bits, &d, sizeof(bits));
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(bits >> (8 * i));
    put_tag(e, 2, 1);
    put_bytes(e, le, 8);
    v_end(e);
}

static void s_integer(void *ud, int64_t v)
{
    number(ud, (double)v);
}

static void s_boolean(void *ud, bool v)
{
    enc_t *e = ud;
    v_begin(e);
    put_tag(e, 4, 0);
    put_varint(e, v ? 1 : 0);
    v_end(e);
}

static void s_null(void *ud)
{
    enc_t *e = ud;
    v_begin(e);
    put_tag(e, 1, 0);
    put_varint(e, 0);
    v_end(e);
}

/* Any JSON value, as srv_codec_value_from_json makes it: integers become numbers, a string is
 * cut at its first NUL (the codec copies it as a C string). */
static void s_json(void *ud, const json_t *v)
{
    enc_t *e = ud;
    const char *key;
    json_t *val;
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT:
        s_begin_object(e);
        json_object_foreach((json_t *)v, key, val)
        {
            s_key(e, key);
            s_json(e, val);
        }
        s_end_object(e);
        break;
    case JSON_ARRAY:
        s_begin_array(e);
        for (size_t i = 0; i < json_array_size(v); i++)
            s_json(e, json_array_get(v, i));
        s_end_array(e);
        break;
    case JSON_STRING:
        s_string(e, json_string_value(v));
        break;
    case JSON_INTEGER:
        number(e, (double)json_integer_value(v));
        break;
    case JSON_REAL:
        number(e, json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        s_boolean(e, json_is_true(v));
        break;
    case JSON_NULL:
        s_null(e);
        break;
    }
}

static const orch_sub_model_sink_t struct_sink = {
    .begin_object = s_begin_object,
    .end_object = s_end_object,
    .begin_array = s_begin_array,
    .end_array = s_end_array,
    .key = s_key,
    .string = s_string,
    .integer = s_integer,
    .boolean = s_boolean,
    .null = s_null,
    .json = s_json,
};

/* A Struct field from a JSON object (anything else: an empty Struct), as
 * srv_codec_struct_from_json. */
static void struct_field_json(enc_t *e, unsigned field, const json_t *obj)
{
    const char *key;
    json_t *val;
    open_msg(e, field);
    if (obj && json_is_object(obj)) {
        push_container(e, true);
        json_object_foreach((json_t *)obj, key, val)
        {
            s_key(e, key);
            s_json(e, val);
        }
        e->nobj--;
    }
    close_msg(e);
}

/* The domain model (Subscription.domain_model). A document whose instance objects repeat a
 * key goes through the jansson tree, which alone settles the repeat as before. */
static void domain_model_field(enc_t *e, unsigned field, const orch_subscription_t *sub)
{
    if (!orch_sub_model_keys_unique(sub)) {
        json_t *model = orch_sub_to_json(sub);
        struct_field_json(e, field, model);
        json_decref(model);
        return;
    }
    open_msg(e, field);
    orch_sub_model_walk(sub, &struct_sink, e);
    close_msg(e);
}

/* ---- The Subscription ------------------------------------------------------------------ */

static void instance_msg(enc_t *e, unsigned field, const orch_instance_t *in)
{
    const orch_block_t *b = in->block;
    open_msg(e, field);
    str_field(e, 1, in->id);
    str_field(e, 2, b->def->name);
    str_field(e, 3, in->label);
    str_field(e, 4, in->subscription_id);
    if (in->foreign && !in->loaded) {
        close_msg(e);
        return;
    }
    for (size_t i = 0; i < b->nfields; i++) {
        const orch_field_def_t *f = &b->def->fields[i];
        open_msg(e, 5);
        str_field(e, 1, f->name);
        int32_field(e, 2, (int32_t)f->type);
        bool_field(e, 3, f->is_list);
        for (size_t j = 0; j < in->values[i].n; j++)
            str_always(e, 4, in->values[i].items[j]);
        close_msg(e);
    }
    for (size_t i = 0; i < b->nchildren; i++)
        for (size_t j = 0; j < in->children[i].n; j++) {
            open_msg(e, 6);
            str_field(e, 1, b->def->children[i].name);
            int32_field(e, 2, (int32_t)j);
            bool_field(e, 3, in->children[i].items[j]->foreign);
            instance_msg(e, 4, in->children[i].items[j]);
            close_msg(e);
        }
    close_msg(e);
}

void *srv_subscription_encode(orch_arena_t *a, const orch_subscription_t *sub, bool full,
                              size_t *len)
{
    enc_t e = {.a = a};
    orch_sub_link_t *deps;
    size_t ndeps = 0;

    grow(&e, 4096);
    str_field(&e, 1, sub->id);
    open_msg(&e, 2);
    str_field(&e, 1, sub->product->id);
    str_field(&e, 2, sub->product->def->name);
    str_field(&e, 3, sub->product->def->product_type);
    str_field(&e, 4, sub->product->def->tag);
    close_msg(&e);
    str_field(&e, 3, sub->customer_id);
    str_field(&e, 4, sub->description);
    int32_field(&e, 5, (int32_t)sub->status);
    bool_field(&e, 6, sub->in_sync);
    timestamp_field(&e, 7, sub->start_time_us);
    timestamp_field(&e, 8, sub->end_time_us);
    str_field(&e, 9, sub->note);
    int64_field(&e, 10, sub->version);
    if (full)
        struct_field_json(&e, 11, sub->metadata);
    for (size_t i = 0; i < sub->ncustomer_descriptions; i++) {
        const orch_customer_description_t *cd = &sub->customer_descriptions[i];
        open_msg(&e, 12);
        str_field(&e, 1, cd->id);
        str_field(&e, 2, sub->id);
        str_field(&e, 3, cd->customer_id);
        str_field(&e, 4, cd->description);
        int64_field(&e, 5, cd->version);
        timestamp_field(&e, 6, cd->create_time_us);
        timestamp_field(&e, 7, cd->update_time_us);
        close_msg(&e);
    }
    if (full) {
        instance_msg(&e, 13, sub->root);
        domain_model_field(&e, 14, sub);
    }
    for (size_t i = 0; i < sub->nin_use_by; i++)
        str_always(&e, 15, sub->in_use_by[i].subscription_id);
    deps = orch_sub_depends_on(sub, &ndeps);
    for (size_t i = 0; i < ndeps; i++)
        str_always(&e, 16, deps[i].subscription_id);
    free(deps);
    timestamp_field(&e, 17, sub->create_time_us);
    timestamp_field(&e, 18, sub->update_time_us);
    *len = e.len;
    return e.p;
}
