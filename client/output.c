/* Text tables and descriptor-driven JSON for orchctl. The JSON walk reads message memory
 * through protobuf-c's field descriptors, so one function serves every message type. */
#include "output.h"

#include "base/alloc.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- tables ---- */

struct cli_table {
    size_t ncols;
    size_t nrows; /* including the header row */
    size_t cap;   /* rows allocated */
    char **cells; /* nrows * ncols */
};

cli_table_t *cli_table_new(size_t ncols, const char *const *headers)
{
    orch_assert(ncols > 0);
    cli_table_t *t = orch_calloc(1, sizeof(*t));
    t->ncols = ncols;
    cli_table_add_row(t, headers);
    return t;
}

void cli_table_add_row(cli_table_t *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = orch_realloc(t->cells, t->cap * t->ncols * sizeof(*t->cells));
    }
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = orch_strdup(cells[c]);
    t->nrows++;
}

size_t cli_table_rows(const cli_table_t *t)
{
    return t->nrows - 1;
}

/* Characters, not bytes, so that names with accents line up. */
static size_t utf8_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

void cli_table_print(const cli_table_t *t, FILE *out, int indent)
{
    size_t *width = orch_calloc(t->ncols, sizeof(*width));
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = utf8_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        char *const *row = &t->cells[r * t->ncols];
        /* Pad up to the last non-empty cell only, so no line ends in blanks. */
        size_t last = t->ncols;
        while (last > 1 && row[last - 1][0] == '\0')
            last--;
        fprintf(out, "%*s", indent, "");
        for (size_t c = 0; c < last; c++) {
            fputs(row[c], out);
            if (c + 1 < last)
                fprintf(out, "%*s", (int)(width[c] - utf8_width(row[c]) + 2), "");
        }
        fputc('\n', out);
    }
    free(width);
}

void cli_table_free(cli_table_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

void cli_print_fields(const char *rows[][2], size_t n, FILE *out)
{
    cli_table_t *t = cli_table_new(2, rows[0]);
    for (size_t i = 1; i < n; i++)
        cli_table_add_row(t, rows[i]);
    cli_table_print(t, out, 0);
    cli_table_free(t);
}

/* ---- enum names and times ---- */

char *cli_enum_name(const ProtobufCEnumDescriptor *desc, int value, char *buf, size_t size)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    if (!v) {
        snprintf(buf, size, "%d", value);
        return buf;
    }
    /* The value prefix protobuf style asks for: ProductStatus -> "PRODUCT_STATUS_". */
    char prefix[256];
    size_t n = 0;
    const char *sn = desc->short_name;
    for (size_t i = 0; sn[i] && n + 3 < sizeof(prefix); i++) {
        unsigned char ch = (unsigned char)sn[i];
        if (i > 0 && isupper(ch) &&
            (islower((unsigned char)sn[i - 1]) || isdigit((unsigned char)sn[i - 1])))
            prefix[n++] = '_';
        prefix[n++] = (char)toupper(ch);
    }
    prefix[n++] = '_';
    prefix[n] = '\0';
    const char *name = v->name;
    if (strncmp(name, prefix, n) == 0 && name[n] != '\0')
        name += n;
    size_t i = 0;
    for (; name[i] && i + 1 < size; i++)
        buf[i] = (char)tolower((unsigned char)name[i]);
    if (size)
        buf[i] = '\0';
    return buf;
}

/* Fractional seconds the way the proto3 JSON mapping writes them: 0, 3, 6 or 9 digits. */
static void format_nanos(int nanos, char *buf, size_t size)
{
    if (nanos <= 0 || nanos >= 1000000000)
        snprintf(buf, size, "%s", "");
    else if (nanos % 1000000 == 0)
        snprintf(buf, size, ".%03d", nanos / 1000000);
    else if (nanos % 1000 == 0)
        snprintf(buf, size, ".%06d", nanos / 1000);
    else
        snprintf(buf, size, ".%09d", nanos);
}

char *cli_format_timestamp(long long seconds, int nanos, char *buf, size_t size)
{
    time_t t = (time_t)seconds;
    struct tm tm;
    char frac[16];
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, size, "%lld", seconds);
        return buf;
    }
    format_nanos(nanos, frac, sizeof(frac));
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return buf;
}

/* ---- JSON ---- */

/* Copies s with each byte that does not start a well-formed UTF-8 sequence replaced by
 * U+FFFD. Overlong forms and surrogates count as malformed. */
static char *utf8_sanitize(const char *s, size_t len)
{
    char *out = orch_malloc(len * 3 + 1);
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        size_t n = 0;
        uint32_t cp = 0, min = 0;
        if (c < 0x80)
            n = 1, cp = c;
        else if ((c & 0xE0) == 0xC0)
            n = 2, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0)
            n = 3, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0)
            n = 4, cp = c & 0x07, min = 0x10000;
        bool ok = n > 0 && i + n <= len && c != 0;
        for (size_t k = 1; ok && k < n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                ok = false;
            else
                cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
            ok = false;
        if (ok) {
            memcpy(out + o, p + i, n);
            o += n;
            i += n;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

static json_t *json_text(const char *s)
{
    if (!s)
        s = "";
    json_t *j = json_string(s);
    if (j)
        return j;
    char *clean = utf8_sanitize(s, strlen(s));
    j = json_string(clean);
    free(clean);
    orch_assert(j != NULL);
    return j;
}

static json_t *json_base64(const ProtobufCBinaryData *b)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t olen = (b->len + 2) / 3 * 4;
    char *out = orch_malloc(olen + 1);
    size_t o = 0;
    for (size_t i = 0; i < b->len; i += 3) {
        uint32_t v = (uint32_t)b->data[i] << 16;
        if (i + 1 < b->len)
            v |= (uint32_t)b->data[i + 1] << 8;
        if (i + 2 < b->len)
            v |= b->data[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < b->len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < b->len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    json_t *j = json_string(out);
    free(out);
    return j;
}

/* Reads the int64/int32 field `name` of a well-known message (Timestamp, Duration). */
static long long wkt_field(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    if (!f)
        return 0;
    const char *p = (const char *)m + f->offset;
    if (f->type == PROTOBUF_C_TYPE_INT64) {
        int64_t v;
        memcpy(&v, p, sizeof(v));
        return v;
    }
    int32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static json_t *json_value(const ProtobufCFieldDescriptor *f, const void *p);

/* google.protobuf.Value: the JSON value of its set kind (null when none is set). */
static json_t *json_struct_value(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        uint32_t which;
        if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        memcpy(&which, (const char *)m + f->quantifier_offset, sizeof(which));
        if (which != f->id)
            continue;
        if (f->type == PROTOBUF_C_TYPE_ENUM) /* null_value */
            return json_null();
        return json_value(f, (const char *)m + f->offset);
    }
    return json_null();
}

/* The first (only) field of a well-known wrapper message, unwrapped: Struct's map becomes
 * an object, ListValue's values an array. */
static json_t *json_wkt_first_field(const ProtobufCMessage *m)
{
    json_t *obj = cli_json_from_message(m);
    const char *name = m->descriptor->fields[0].name;
    json_t *v = json_incref(json_object_get(obj, name));
    json_decref(obj);
    return v ? v : json_null();
}

static json_t *json_message_value(const ProtobufCMessage *m)
{
    if (!m)
        return json_null();
    const char *name = m->descriptor->name;
    char buf[64];
    if (strcmp(name, "google.protobuf.Value") == 0)
        return json_struct_value(m);
    if (strcmp(name, "google.protobuf.Struct") == 0 ||
        strcmp(name, "google.protobuf.ListValue") == 0)
        return json_wkt_first_field(m);
    if (strcmp(name, "google.protobuf.FieldMask") == 0) {
        json_t *paths = json_wkt_first_field(m);
        size_t i, len = 0;
        json_t *p;
        json_array_foreach(paths, i, p) len += strlen(json_string_value(p)) + 1;
        char *joined = orch_calloc(1, len + 1);
        json_array_foreach(paths, i, p)
        {
            if (i)
                strcat(joined, ",");
            strcat(joined, json_string_value(p));
        }
        json_decref(paths);
        json_t *j = json_text(joined);
        free(joined);
        return j;
    }
    if (strcmp(name, "google.protobuf.Timestamp") == 0) {
        cli_format_timestamp(wkt_field(m, "seconds"), (int)wkt_field(m, "nanos"), buf, sizeof(buf));
        return json_string(buf);
    }
    if (strcmp(name, "google.protobuf.Duration") == 0) {
        long long s = wkt_field(m, "seconds");
        long long ns = wkt_field(m, "nanos");
        char frac[16];
        format_nanos((int)(ns < 0 ? -ns : ns), frac, sizeof(frac));
        snprintf(buf, sizeof(buf), "%s%lld%ss", (s < 0 || ns < 0) ? "-" : "", s < 0 ? -s : s, frac);
        return json_string(buf);
    }
    return cli_json_from_message(m);
}

/* The JSON value of one element of field f stored at p. */
static json_t *json_value(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
        int32_t v;
        memcpy(&v, p, sizeof(v));
        return json_integer(v);
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: {
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        return json_integer(v);
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t v;
        memcpy(&v, p, sizeof(v));
        return json_integer(v);
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        if (v > INT64_MAX) {
            char buf[32];
            snprintf(buf, sizeof(buf), "%" PRIu64, v);
            return json_string(buf);
        }
        return json_integer((json_int_t)v);
    }
    case PROTOBUF_C_TYPE_FLOAT: {
        float v;
        memcpy(&v, p, sizeof(v));
        return json_real(v);
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double v;
        memcpy(&v, p, sizeof(v));
        return json_real(v);
    }
    case PROTOBUF_C_TYPE_BOOL: {
        protobuf_c_boolean v;
        memcpy(&v, p, sizeof(v));
        return json_boolean(v);
    }
    case PROTOBUF_C_TYPE_ENUM: {
        int v;
        memcpy(&v, p, sizeof(v));
        char buf[128];
        return json_string(cli_enum_name(f->descriptor, v, buf, sizeof(buf)));
    }
    case PROTOBUF_C_TYPE_STRING:
        return json_text(*(char *const *)p);
    case PROTOBUF_C_TYPE_BYTES:
        return json_base64((const ProtobufCBinaryData *)p);
    case PROTOBUF_C_TYPE_MESSAGE:
        return json_message_value(*(ProtobufCMessage *const *)p);
    }
    return json_null();
}

static size_t element_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(int64_t);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default: /* 32-bit integers, float, enum */
        return sizeof(int32_t);
    }
}

/* protoc-c turns `map<K, V> x = n;` into a repeated XEntry message with key and value. */
static bool is_map_entry(const ProtobufCFieldDescriptor *f)
{
    if (f->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    size_t len = strlen(d->name);
    return d->n_fields == 2 && len > 5 && strcmp(d->name + len - 5, "Entry") == 0 &&
           strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

static json_t *json_map(const ProtobufCFieldDescriptor *f, ProtobufCMessage *const *entries,
                        size_t n)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessage *e = entries[i];
        const ProtobufCFieldDescriptor *kf = &e->descriptor->fields[0];
        const ProtobufCFieldDescriptor *vf = &e->descriptor->fields[1];
        json_t *key = json_value(kf, (const char *)e + kf->offset);
        char buf[32];
        const char *k = buf;
        if (json_is_string(key))
            k = json_string_value(key);
        else if (json_is_integer(key))
            snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(key));
        else
            snprintf(buf, sizeof(buf), "%s", json_is_true(key) ? "true" : "false");
        json_object_set_new(obj, k, json_value(vf, (const char *)e + vf->offset));
        json_decref(key);
    }
    (void)f;
    return obj;
}

json_t *cli_json_from_message(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const char *base = (const char *)msg;
    json_t *obj = json_object();
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *member = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n;
            memcpy(&n, base + f->quantifier_offset, sizeof(n));
            const char *arr = *(const char *const *)member;
            if (is_map_entry(f)) {
                json_object_set_new(obj, f->name, json_map(f, (ProtobufCMessage *const *)arr, n));
                continue;
            }
            json_t *a = json_array();
            size_t es = element_size(f);
            for (size_t k = 0; k < n; k++)
                json_array_append_new(a, json_value(f, arr + k * es));
            json_object_set_new(obj, f->name, a);
            continue;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which;
            memcpy(&which, base + f->quantifier_offset, sizeof(which));
            if (which != f->id)
                continue;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
            /* proto2 optional: a has_ flag for values, NULL for pointers. */
            bool is_ptr = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;
            if (is_ptr && *(void *const *)member == NULL)
                continue;
            if (!is_ptr && f->quantifier_offset) {
                protobuf_c_boolean has;
                memcpy(&has, base + f->quantifier_offset, sizeof(has));
                if (!has)
                    continue;
            }
        }
        json_object_set_new(obj, f->name, json_value(f, member));
    }
    return obj;
}

int cli_json_print(const json_t *json, FILE *out)
{
    if (json_dumpf(json, out, JSON_INDENT(2)) != 0)
        return -1;
    return fputc('\n', out) == EOF ? -1 : 0;
}

void cli_json_print_line(const ProtobufCMessage *msg, FILE *out)
{
    json_t *j = cli_json_from_message(msg);
    char *line = json_dumps(j, JSON_COMPACT);

    fprintf(out, "%s\n", line);
    free(line);
    json_decref(j);
}

/* ---- enum parsing and the text view ---- */

/* Lower-case with '-' and ' ' as '_'. */
static void enum_fold(const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++) {
        unsigned char c = (unsigned char)in[i];
        out[i] = (c == '-' || c == ' ') ? '_' : (char)tolower(c);
    }
    out[i] = '\0';
}

int cli_enum_parse(const ProtobufCEnumDescriptor *desc, const char *text, int *value)
{
    char want[128], have[128], full[128];
    enum_fold(text, want, sizeof(want));
    for (unsigned i = 0; i < desc->n_values; i++) {
        const ProtobufCEnumValue *v = &desc->values[i];
        cli_enum_name(desc, v->value, have, sizeof(have));
        enum_fold(v->name, full, sizeof(full));
        if (strcmp(want, have) == 0 || strcmp(want, full) == 0) {
            *value = v->value;
            return 0;
        }
    }
    return -1;
}

char *cli_enum_choices(const ProtobufCEnumDescriptor *desc)
{
    size_t cap = 1;
    char name[128];
    for (unsigned i = 0; i < desc->n_values; i++)
        cap += strlen(desc->values[i].name) + 2;
    char *out = orch_calloc(1, cap);
    for (unsigned i = 0; i < desc->n_values; i++) {
        if (desc->values[i].value == 0)
            continue; /* UNSPECIFIED */
        cli_enum_name(desc, desc->values[i].value, name, sizeof(name));
        if (*out)
            strcat(out, ", ");
        strcat(out, name);
    }
    return out;
}

static bool json_is_empty(const json_t *v)
{
    return json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
           (json_is_object(v) && json_object_size(v) == 0) ||
           (json_is_string(v) && json_string_length(v) == 0);
}

static void print_scalar(const json_t *v, FILE *out)
{
    if (json_is_string(v))
        fputs(json_string_value(v), out);
    else {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        fputs(s ? s : "?", out);
        free(s);
    }
}

static bool array_of_scalars(const json_t *v)
{
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) if (json_is_object(e) || json_is_array(e)) return false;
    return true;
}

void cli_print_json_text(const json_t *v, FILE *out, int indent)
{
    const char *key;
    json_t *val;
    if (!json_is_object(v)) {
        fprintf(out, "%*s", indent, "");
        print_scalar(v, out);
        fputc('\n', out);
        return;
    }
    json_object_foreach((json_t *)v, key, val)
    {
        if (json_is_empty(val))
            continue;
        fprintf(out, "%*s%s:", indent, "", key);
        if (json_is_object(val)) {
            fputc('\n', out);
            cli_print_json_text(val, out, indent + 2);
        } else if (json_is_array(val) && array_of_scalars(val)) {
            size_t i;
            json_t *e;
            json_array_foreach(val, i, e)
            {
                fputs(i ? ", " : " ", out);
                print_scalar(e, out);
            }
            fputc('\n', out);
        } else if (json_is_array(val)) {
            size_t i;
            json_t *e;
            fputc('\n', out);
            json_array_foreach(val, i, e)
            {
                fprintf(out, "%*s- [%zu]\n", indent + 2, "", i);
                cli_print_json_text(e, out, indent + 4);
            }
        } else {
            fputc(' ', out);
            print_scalar(val, out);
            fputc('\n', out);
        }
    }
}
