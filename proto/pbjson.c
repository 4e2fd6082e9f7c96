/* google.protobuf.Struct and Value <-> JSON, following the proto3 JSON mapping of the
 * well-known types; memory comes from the caller's protobuf-c allocator. */
#include "pbjson.h"

#include <string.h>

static void *pb_alloc(ProtobufCAllocator *al, size_t size)
{
    return al->alloc(al->allocator_data, size);
}

static char *pb_strndup(ProtobufCAllocator *al, const char *s, size_t len)
{
    char *p = pb_alloc(al, len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static Google__Protobuf__ListValue *list_from_json(ProtobufCAllocator *al, const json_t *arr)
{
    Google__Protobuf__ListValue *l = pb_alloc(al, sizeof(*l));
    google__protobuf__list_value__init(l);
    l->n_values = json_array_size(arr);
    l->values = l->n_values ? pb_alloc(al, l->n_values * sizeof(*l->values)) : NULL;
    for (size_t i = 0; i < l->n_values; i++)
        l->values[i] = pbjson_value_from_json(al, json_array_get(arr, i));
    return l;
}

Google__Protobuf__Value *pbjson_value_from_json(ProtobufCAllocator *al, const json_t *v)
{
    Google__Protobuf__Value *pv = pb_alloc(al, sizeof(*pv));
    google__protobuf__value__init(pv);
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT:
        pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
        pv->struct_value = pbjson_struct_from_json(al, v);
        break;
    case JSON_ARRAY:
        pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
        pv->list_value = list_from_json(al, v);
        break;
    case JSON_STRING:
        pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
        pv->string_value = pb_strndup(al, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
    case JSON_REAL:
        pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
        pv->number_value = json_number_value(v);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
        pv->bool_value = json_is_true(v);
        break;
    case JSON_NULL:
        pv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
        pv->null_value = GOOGLE__PROTOBUF__NULL_VALUE__NULL_VALUE;
        break;
    }
    return pv;
}

Google__Protobuf__Struct *pbjson_struct_from_json(ProtobufCAllocator *al, const json_t *obj)
{
    Google__Protobuf__Struct *st = pb_alloc(al, sizeof(*st));
    const char *key;
    json_t *val;
    size_t i = 0;

    google__protobuf__struct__init(st);
    if (!obj || !json_is_object(obj))
        return st;
    st->n_fields = json_object_size(obj);
    st->fields = st->n_fields ? pb_alloc(al, st->n_fields * sizeof(*st->fields)) : NULL;
    json_object_foreach((json_t *)obj, key, val)
    {
        Google__Protobuf__Struct__FieldsEntry *e = pb_alloc(al, sizeof(*e));
        google__protobuf__struct__fields_entry__init(e);
        e->key = pb_strndup(al, key, strlen(key));
        e->value = pbjson_value_from_json(al, val);
        st->fields[i++] = e;
    }
    return st;
}

json_t *pbjson_json_from_value(const Google__Protobuf__Value *v)
{
    if (!v)
        return json_null();
    switch (v->kind_case) {
    case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
        return pbjson_json_from_struct(v->struct_value);
    case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE: {
        json_t *arr = json_array();
        for (size_t i = 0; v->list_value && i < v->list_value->n_values; i++)
            json_array_append_new(arr, pbjson_json_from_value(v->list_value->values[i]));
        return arr;
    }
    case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE:
        return json_string(v->string_value ? v->string_value : "");
    case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE: {
        double d = v->number_value;
        /* Whole numbers within the exactly-representable range stay integers. The range
         * test comes first: converting a double outside json_int_t's range (1e300, inf,
         * NaN, all of which a client may send) to an integer is undefined behaviour. */
        if (d <= 9007199254740992.0 && d >= -9007199254740992.0 && d == (double)(json_int_t)d)
            return json_integer((json_int_t)d);
        return json_real(d);
    }
    case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE:
        return json_boolean(v->bool_value);
    default:
        return json_null();
    }
}

json_t *pbjson_json_from_struct(const Google__Protobuf__Struct *s)
{
    json_t *obj = json_object();
    for (size_t i = 0; s && i < s->n_fields; i++)
        if (s->fields[i]->key)
            json_object_set_new(obj, s->fields[i]->key,
                                pbjson_json_from_value(s->fields[i]->value));
    return obj;
}
