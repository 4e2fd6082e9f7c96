/* The subscription model: the block tree, fields and children by path, and the lifecycle.
 * Paths are parsed afresh on every call: trees are small and a workflow step touches a few
 * fields, so clarity wins over caching. */
#include "subscription.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "internal.h"

#define REASON_FOREIGN "BLOCK_OWNED_BY_OTHER_SUBSCRIPTION"
#define REASON_LIFECYCLE "INVALID_LIFECYCLE_TRANSITION"
#define REASON_IN_USE "IN_USE_BY_OTHER_SUBSCRIPTIONS"
#define PATH_MAX_LEN 512
#define INT_ABS_MAX 9007199254740992LL /* 2^53: exact in a JSON number */

/* ---- Names and the transition table ------------------------------------------------------ */

static const char *const status_names[] = {"unspecified", "initial",  "provisioning", "active",
                                           "migrating",   "disabled", "terminated"};
#define NSTATUS (sizeof(status_names) / sizeof(status_names[0]))

const char *orch_sub_status_name(orch_sub_status_t s)
{
    return (unsigned)s < NSTATUS ? status_names[s] : "unspecified";
}

orch_sub_status_t orch_sub_status_parse(const char *s)
{
    for (size_t i = 1; s && i < NSTATUS; i++)
        if (strcmp(s, status_names[i]) == 0)
            return (orch_sub_status_t)i;
    return ORCH_SUB_STATUS_UNSPECIFIED;
}

bool orch_sub_transition_allowed(orch_sub_status_t from, orch_sub_status_t to)
{
#define B(s) (1u << (s))
    static const unsigned allowed[NSTATUS] = {
        [ORCH_SUB_INITIAL] = B(ORCH_SUB_PROVISIONING) | B(ORCH_SUB_ACTIVE) | B(ORCH_SUB_TERMINATED),
        [ORCH_SUB_PROVISIONING] = B(ORCH_SUB_ACTIVE) | B(ORCH_SUB_TERMINATED),
        [ORCH_SUB_ACTIVE] = B(ORCH_SUB_MIGRATING) | B(ORCH_SUB_DISABLED) | B(ORCH_SUB_TERMINATED),
        [ORCH_SUB_MIGRATING] = B(ORCH_SUB_ACTIVE) | B(ORCH_SUB_TERMINATED),
        [ORCH_SUB_DISABLED] = B(ORCH_SUB_ACTIVE) | B(ORCH_SUB_TERMINATED),
    };
#undef B
    if ((unsigned)from >= NSTATUS || (unsigned)to >= NSTATUS || to == ORCH_SUB_STATUS_UNSPECIFIED)
        return false;
    return (allowed[from] >> to) & 1u;
}

/* Statuses in which the tree must be complete (required fields, min counts). Migrating and
 * provisioning are the states in which workflows are still changing the blocks. */
static bool status_is_strict(orch_sub_status_t s)
{
    return s == ORCH_SUB_ACTIVE || s == ORCH_SUB_DISABLED;
}

/* ---- Times ------------------------------------------------------------------------------- */

int64_t orch__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void orch__time_format(int64_t us, char *buf, size_t len)
{
    time_t t = (time_t)(us / 1000000);
    long frac = (long)(us % 1000000);
    struct tm tm;
    if (frac < 0) {
        frac += 1000000;
        t -= 1;
    }
    gmtime_r(&t, &tm);
    /* Digits by hand for the years 0-9999 (what "%04d" writes the same way): every answer
     * with a tree formats several times, and snprintf was a visible part of a read. */
    if (len >= 28 && tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999) {
        int parts[6] = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour,        tm.tm_min,     tm.tm_sec};
        char *o = buf;
        for (int d = 1000; d; d /= 10)
            *o++ = (char)('0' + parts[0] / d % 10);
        for (int i = 1; i < 6; i++) {
            *o++ = "--T::"[i - 1];
            *o++ = (char)('0' + parts[i] / 10 % 10);
            *o++ = (char)('0' + parts[i] % 10);
        }
        *o++ = '.';
        for (long d = 100000; d; d /= 10)
            *o++ = (char)('0' + frac / d % 10);
        *o++ = 'Z';
        *o = '\0';
        return;
    }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

bool orch__time_parse(const char *s, int64_t *us)
{
    struct tm tm;
    long frac = 0;
    int digits = 0;
    const char *p;

    memset(&tm, 0, sizeof(tm));
    p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!p)
        return false;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 6)
                frac = frac * 10 + (*p - '0');
        if (digits == 0)
            return false;
        for (; digits < 6; digits++)
            frac *= 10;
    }
    if (*p == 'Z')
        p++;
    if (*p)
        return false;
    *us = (int64_t)timegm(&tm) * 1000000 + frac;
    return true;
}

/* ---- Values ------------------------------------------------------------------------------ */

static bool ip_prefix_valid(const char *s)
{
    char addr[64];
    unsigned char buf[16];
    const char *slash = strchr(s, '/');
    char *end;
    long len;
    int family;

    if (!slash || (size_t)(slash - s) >= sizeof(addr) || !slash[1])
        return false;
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(family, addr, buf) != 1)
        return false;
    if (slash[1] < '0' || slash[1] > '9')
        return false;
    errno = 0;
    len = strtol(slash + 1, &end, 10);
    return errno == 0 && !*end && len >= 0 && len <= (family == AF_INET6 ? 128 : 32);
}

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF (what PostgreSQL
 * and protobuf strings accept). */
static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++;
        int more;
        unsigned cp, min;
        if (c < 0x80)
            continue;
        if ((c & 0xE0) == 0xC0)
            more = 1, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0)
            more = 2, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0)
            more = 3, cp = c & 0x07, min = 0x10000;
        else
            return false;
        while (more--) {
            if ((*p & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (*p++ & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
    }
    return true;
}

/* Whether text is what "%lld" prints for its value: an optional '-', then "0" alone or digits
 * not starting with 0 ("-0" is not: it prints as "0"). */
static bool integer_canonical(const char *text)
{
    const char *p = text + (*text == '-');
    if (*p == '0')
        return p[1] == '\0' && p == text;
    if (*p < '1' || *p > '9')
        return false;
    while (*++p)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

bool orch__value_canon(const orch_field_def_t *f, const char *text, char **out, char *why,
                       size_t whylen)
{
    *out = NULL;
    if (!text) {
        snprintf(why, whylen, "a value is required");
        return false;
    }
    if (strlen(text) > ORCH_SUB_VALUE_MAX) {
        snprintf(why, whylen, "longer than %d characters", ORCH_SUB_VALUE_MAX);
        return false;
    }
    switch (f->type) {
    case ORCH_FIELD_STRING:
        if (!utf8_valid(text)) {
            snprintf(why, whylen, "not valid UTF-8");
            return false;
        }
        if (f->choices) {
            const char *const *c;
            size_t used = 0;
            for (c = f->choices; *c; c++)
                if (strcmp(*c, text) == 0)
                    break;
            if (!*c) {
                used = (size_t)snprintf(why, whylen, "'%.40s' is not one of:", text);
                for (c = f->choices; *c && used < whylen; c++)
                    used += (size_t)snprintf(why + used, whylen - used, "%s %s",
                                             c == f->choices ? "" : ",", *c);
                return false;
            }
        }
        break;
    case ORCH_FIELD_INTEGER: {
        char *end;
        long long v;
        errno = 0;
        v = strtoll(text, &end, 10);
        if (!*text || *end || errno || v > INT_ABS_MAX || v < -INT_ABS_MAX) {
            snprintf(why, whylen, "'%.40s' is not an integer within +-2^53", text);
            return false;
        }
        /* Stored values are canonical already: copy those instead of printing them again. */
        *out = integer_canonical(text) ? orch_strdup(text) : orch_asprintf("%lld", v);
        return true;
    }
    case ORCH_FIELD_BOOLEAN:
        if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0) {
            snprintf(why, whylen, "'%.40s' is not a boolean (true or false)", text);
            return false;
        }
        break;
    case ORCH_FIELD_UUID:
        if (!orch_uuid_valid(text)) {
            snprintf(why, whylen, "'%.40s' is not a lower-case UUID", text);
            return false;
        }
        break;
    case ORCH_FIELD_IP_PREFIX:
        if (!ip_prefix_valid(text)) {
            snprintf(why, whylen, "'%.60s' is not an IP prefix such as 10.0.0.0/31", text);
            return false;
        }
        break;
    default:
        snprintf(why, whylen, "the field has no type");
        return false;
    }
    *out = orch_strdup(text);
    return true;
}

/* ---- Instances --------------------------------------------------------------------------- */

/* Copies at most an id's length of id into dst. */
static void id_copy(char dst[ORCH_UUID_LEN + 1], const char *id)
{
    size_t n = strnlen(id, ORCH_UUID_LEN);
    memcpy(dst, id, n);
    dst[n] = '\0';
}

orch_instance_t *orch__inst_new(const orch_block_t *block, const char *owner_id, const char *id,
                                bool foreign)
{
    orch_instance_t *in = orch_calloc(1, sizeof(*in));
    in->block = block;
    if (id)
        id_copy(in->id, id);
    else
        orch_uuid_new(in->id);
    id_copy(in->subscription_id, owner_id);
    in->foreign = foreign;
    in->loaded = !foreign;
    in->values = orch_calloc(block->nfields, sizeof(*in->values));
    in->children = orch_calloc(block->nchildren, sizeof(*in->children));
    return in;
}

static void values_clear(orch_values_t *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->items[i]);
    free(v->items);
    v->items = NULL;
    v->n = 0;
}

void orch__inst_free(orch_instance_t *in)
{
    if (!in)
        return;
    for (size_t i = 0; i < in->block->nfields; i++)
        values_clear(&in->values[i]);
    for (size_t i = 0; i < in->block->nchildren; i++) {
        for (size_t j = 0; j < in->children[i].n; j++)
            orch__inst_free(in->children[i].items[j]);
        free(in->children[i].items);
    }
    free(in->values);
    free(in->children);
    free(in->label);
    free(in);
}

orch_instance_t *orch__inst_clone(const orch_instance_t *in)
{
    orch_instance_t *c = orch__inst_new(in->block, in->subscription_id, in->id, in->foreign);
    c->loaded = in->loaded;
    c->label = in->label ? orch_strdup(in->label) : NULL;
    for (size_t i = 0; i < in->block->nfields; i++)
        for (size_t j = 0; j < in->values[i].n; j++)
            orch__values_push(&c->values[i], orch_strdup(in->values[i].items[j]));
    for (size_t i = 0; i < in->block->nchildren; i++)
        for (size_t j = 0; j < in->children[i].n; j++)
            orch__children_push(&c->children[i], orch__inst_clone(in->children[i].items[j]));
    return c;
}

void orch__children_push(orch_children_t *c, orch_instance_t *in)
{
    c->items = orch_realloc(c->items, (c->n + 1) * sizeof(*c->items));
    c->items[c->n++] = in;
}

void orch__values_push(orch_values_t *v, char *text)
{
    v->items = orch_realloc(v->items, (v->n + 1) * sizeof(*v->items));
    v->items[v->n++] = text;
}

void orch__inst_fill_required(orch_instance_t *in, int depth)
{
    orch_assert(depth <= ORCH_SUB_DEPTH_MAX); /* the catalogue refuses deeper nesting */
    for (size_t i = 0; i < in->block->nchildren; i++) {
        const orch_child_def_t *c = &in->block->def->children[i];
        if (c->foreign)
            continue;
        while (in->children[i].n < (size_t)c->min_count) {
            orch_instance_t *child =
                orch__inst_new(in->block->child_blocks[i], in->subscription_id, NULL, false);
            orch__inst_fill_required(child, depth + 1);
            orch__children_push(&in->children[i], child);
        }
    }
}

/* ---- Creating and freeing ---------------------------------------------------------------- */

orch_subscription_t *orch__sub_alloc(const orch_product_t *product)
{
    orch_subscription_t *sub = orch_calloc(1, sizeof(*sub));
    sub->product = product;
    sub->customer_id = orch_strdup("");
    sub->description = orch_strdup("");
    sub->status = ORCH_SUB_INITIAL;
    sub->metadata = json_object();
    orch_assert(sub->metadata);
    return sub;
}

static orch_err_t check_text(const char *field, const char *s, size_t max, bool required,
                             orch_error_t *err)
{
    if (required && (!s || !*s))
        return orch_error_invalid(err, field, "a value is required");
    if (s && strlen(s) > max)
        return orch_error_invalid(err, field, "longer than %zu characters", max);
    if (s && !utf8_valid(s))
        return orch_error_invalid(err, field, "not valid UTF-8");
    return ORCH_OK;
}

orch_err_t orch_subscription_new_from_product(const orch_product_t *product,
                                              const char *customer_id, orch_subscription_t **out,
                                              orch_error_t *err)
{
    orch_subscription_t *sub = NULL;
    orch_err_t rc;

    *out = NULL;
    if (!product || !product->root)
        return orch_error_invalid(err, "product",
                                  "a product from a validated catalogue is "
                                  "required");
    rc = check_text("customer_id", customer_id, ORCH_SUB_CUSTOMER_ID_MAX, true, err);
    if (rc)
        goto out;
    sub = orch__sub_alloc(product);
    orch_uuid_new(sub->id);
    free(sub->customer_id);
    sub->customer_id = orch_strdup(customer_id);
    sub->create_time_us = sub->update_time_us = orch__now_us();
    sub->root = orch__inst_new(product->root, sub->id, NULL, false);
    orch__inst_fill_required(sub->root, 1);
    *out = sub;
    sub = NULL;
out:
    orch_subscription_free(sub);
    return rc;
}

void orch_customer_description_cleanup(orch_customer_description_t *cd)
{
    if (!cd)
        return;
    free(cd->customer_id);
    free(cd->description);
    memset(cd, 0, sizeof(*cd));
}

void orch_subscription_free(orch_subscription_t *sub)
{
    if (!sub)
        return;
    orch__inst_free(sub->root);
    for (size_t i = 0; i < sub->ncustomer_descriptions; i++)
        orch_customer_description_cleanup(&sub->customer_descriptions[i]);
    free(sub->customer_descriptions);
    free(sub->in_use_by);
    json_decref(sub->metadata);
    free(sub->customer_id);
    free(sub->description);
    free(sub->note);
    free(sub);
}

/* ---- Paths ------------------------------------------------------------------------------- */

typedef struct seg {
    const char *name;
    size_t len;
    long idx;        /* -1: no index given */
    const char *end; /* just past this segment in the path: the prefix names its block */
} seg_t;

static orch_err_t parse_path(const char *path, seg_t *segs, size_t *n, orch_error_t *err)
{
    const char *p = path;

    *n = 0;
    if (!path)
        return orch_error_invalid(err, "path", "a path is required");
    if (strlen(path) > PATH_MAX_LEN)
        return orch_error_invalid(err, "path", "longer than %d characters", PATH_MAX_LEN);
    if (!*p)
        return ORCH_OK;
    for (;;) {
        seg_t *s = &segs[*n];
        if (*n == ORCH_SUB_DEPTH_MAX)
            return orch_error_invalid(err, path, "nested deeper than %d", ORCH_SUB_DEPTH_MAX);
        s->name = p;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               *p == '_')
            p++;
        s->len = (size_t)(p - s->name);
        s->idx = -1;
        if (s->len == 0)
            goto malformed;
        if (*p == '[') {
            const char *d = ++p;
            s->idx = 0;
            while (*p >= '0' && *p <= '9' && p - d < 6)
                s->idx = s->idx * 10 + (*p++ - '0');
            if (p == d || *p != ']')
                goto malformed;
            p++;
        }
        s->end = p;
        (*n)++;
        if (!*p)
            return ORCH_OK;
        if (*p++ != '.')
            goto malformed;
    }
malformed:
    return orch_error_invalid(err, path,
                              "malformed path: expected names with optional indexes joined by "
                              "dots, such as saps[0].vlan");
}

/* Whether the declared name decl is the len bytes at name, all of it: a path segment is not
 * NUL-terminated, and "vl" must not find the field "vlan". */
static bool name_is(const char *decl, const char *name, size_t len)
{
    return strlen(decl) == len && strncmp(decl, name, len) == 0;
}

int orch__field_index(const orch_block_t *b, const char *name, size_t len)
{
    for (size_t i = 0; i < b->nfields; i++)
        if (name_is(b->def->fields[i].name, name, len))
            return (int)i;
    return -1;
}

int orch__child_index(const orch_block_t *b, const char *name, size_t len)
{
    for (size_t i = 0; i < b->nchildren; i++)
        if (name_is(b->def->children[i].name, name, len))
            return (int)i;
    return -1;
}

static orch_err_t foreign_error(const orch_instance_t *in, const char *path, const char *upto,
                                bool write, orch_error_t *err)
{
    int plen = (int)(upto - path);
    if (write) {
        orch_error_add_violation(err, path, "owned by subscription %s", in->subscription_id);
        return orch_error_set(err, ORCH_FAILED_PRECONDITION, REASON_FOREIGN,
                              "%s: %.*s is a %s owned by subscription %s; change it through "
                              "that subscription",
                              path, plen, path, in->block->def->name, in->subscription_id);
    }
    orch_error_add_violation(err, path, "not loaded");
    return orch_error_set(err, ORCH_FAILED_PRECONDITION, REASON_FOREIGN,
                          "%s: %.*s refers to a %s of subscription %s, which was not loaded "
                          "with this one",
                          path, plen, path, in->block->def->name, in->subscription_id);
}

/* Where a path leads: the block holding the last segment, and that segment resolved as a
 * field (field >= 0) or a child attribute (child >= 0). */
typedef struct target {
    orch_instance_t *inst;
    seg_t last;
    int field, child;
} target_t;

/* Resolves the index of s under child attribute ci of in, for navigation. */
static orch_err_t child_index(const orch_instance_t *in, int ci, const seg_t *s, const char *path,
                              size_t *out, orch_error_t *err)
{
    const orch_child_def_t *c = &in->block->def->children[ci];
    size_t n = in->children[ci].n;
    int plen = (int)(s->end - path);

    if (s->idx < 0 && c->max_count > 1)
        return orch_error_invalid(err, path,
                                  "%.*s holds up to %d blocks: give an index such as %.*s[0]", plen,
                                  path, c->max_count, plen, path);
    *out = s->idx < 0 ? 0 : (size_t)s->idx;
    if (*out >= n) {
        if (n == 0)
            return orch_error_invalid(err, path, "%.*s is not set", plen, path);
        return orch_error_invalid(err, path, "%.*s is out of range (%zu present)", plen, path, n);
    }
    return ORCH_OK;
}

/* Walks path from the root. With all, every segment is navigated and t->inst is the block
 * the path names; otherwise the last segment is left for the caller in t->last. write:
 * refuse blocks owned by other subscriptions; read: refuse ones not loaded. */
static orch_err_t walk(const orch_subscription_t *sub, const char *path, bool write, bool all,
                       target_t *t, orch_error_t *err)
{
    seg_t segs[ORCH_SUB_DEPTH_MAX];
    size_t n, nav;
    orch_instance_t *in = sub->root;
    orch_err_t rc;

    memset(t, 0, sizeof(*t));
    t->field = t->child = -1;
    rc = parse_path(path, segs, &n, err);
    if (rc)
        return rc;
    if (n == 0 && !all)
        return orch_error_invalid(err, "path", "a path is required");
    nav = all ? n : n - 1;
    for (size_t i = 0; i < nav; i++) {
        int ci = orch__child_index(in->block, segs[i].name, segs[i].len);
        size_t idx;
        if (ci < 0) {
            int plen = (int)(segs[i].end - path);
            if (orch__field_index(in->block, segs[i].name, segs[i].len) >= 0)
                return orch_error_invalid(err, path, "%.*s is a field, not a block", plen, path);
            return orch_error_invalid(err, path, "%s has no child block '%.*s'",
                                      in->block->def->name, (int)segs[i].len, segs[i].name);
        }
        rc = child_index(in, ci, &segs[i], path, &idx, err);
        if (rc)
            return rc;
        in = in->children[ci].items[idx];
        /* A reference itself may be read (its ids); going into it needs it loaded. */
        if (in->foreign && (write || (!in->loaded && i + 1 < n)))
            return foreign_error(in, path, segs[i].end, write, err);
    }
    t->inst = in;
    if (!all) {
        t->last = segs[n - 1];
        t->field = orch__field_index(in->block, t->last.name, t->last.len);
        t->child = orch__child_index(in->block, t->last.name, t->last.len);
    }
    return ORCH_OK;
}

/* walk() to a name that must be of one kind, a field or a child block: the other kind and an
 * unknown name are refused with a sentence that says which it was. */
static orch_err_t walk_kind(const orch_subscription_t *sub, const char *path, bool write,
                            bool child, target_t *t, orch_error_t *err)
{
    const char *want = child ? "child block" : "field";
    const char *other = child ? "field" : "child block";
    orch_err_t rc = walk(sub, path, write, false, t, err);

    if (rc)
        return rc;
    if ((child ? t->child : t->field) >= 0)
        return ORCH_OK;
    if ((child ? t->field : t->child) >= 0)
        return orch_error_invalid(err, path, "'%.*s' is a %s, not a %s", (int)t->last.len,
                                  t->last.name, other, want);
    return orch_error_invalid(err, path, "%s has no %s '%.*s'", t->inst->block->def->name, want,
                              (int)t->last.len, t->last.name);
}

static orch_err_t walk_field(const orch_subscription_t *sub, const char *path, bool write,
                             target_t *t, orch_error_t *err)
{
    return walk_kind(sub, path, write, false, t, err);
}

static orch_err_t walk_child(const orch_subscription_t *sub, const char *path, bool write,
                             target_t *t, orch_error_t *err)
{
    return walk_kind(sub, path, write, true, t, err);
}

/* End of the prefix of path that names t's holder block ("saps[0]" of "saps[0].vlan"). */
static const char *holder_end(const target_t *t, const char *path)
{
    return t->last.name > path ? t->last.name - 1 : path;
}

/* Reading a value held by a referenced subscription needs that subscription loaded; the three
 * readers (a value, is-set, a count) refuse the same way, naming the holder's path. */
static orch_err_t require_loaded(const target_t *t, const char *path, orch_error_t *err)
{
    if (t->inst->foreign && !t->inst->loaded)
        return foreign_error(t->inst, path, holder_end(t, path), false, err);
    return ORCH_OK;
}

/* ---- Fields ------------------------------------------------------------------------------ */

typedef enum { KIND_TEXT, KIND_INT, KIND_BOOL } kind_t;

static bool kind_fits(kind_t k, orch_field_type_t t)
{
    switch (k) {
    case KIND_INT:
        return t == ORCH_FIELD_INTEGER;
    case KIND_BOOL:
        return t == ORCH_FIELD_BOOLEAN;
    default:
        return t == ORCH_FIELD_STRING || t == ORCH_FIELD_UUID || t == ORCH_FIELD_IP_PREFIX;
    }
}

static const char *type_phrase(orch_field_type_t t)
{
    switch (t) {
    case ORCH_FIELD_INTEGER:
        return "an integer";
    case ORCH_FIELD_BOOLEAN:
        return "a boolean";
    case ORCH_FIELD_UUID:
        return "a UUID";
    case ORCH_FIELD_IP_PREFIX:
        return "an IP prefix";
    default:
        return "a string";
    }
}

static orch_err_t type_error(const orch_field_def_t *f, kind_t k, const char *path,
                             orch_error_t *err)
{
    static const char *const kind_names[] = {"a string", "an integer", "a boolean"};
    return orch_error_invalid(err, path, "holds %s, not %s", type_phrase(f->type), kind_names[k]);
}

/* walk_field() to one value of the given kind, for a read or a write: the field must hold that
 * kind, a list is addressed with an index and a single value without one, and a read needs a
 * referenced holder loaded. put_value and get_text share these refusals word for word. */
static orch_err_t walk_value(const orch_subscription_t *sub, const char *path, bool write,
                             kind_t kind, target_t *t, orch_error_t *err)
{
    const orch_field_def_t *f;
    orch_err_t rc = walk_field(sub, path, write, t, err);

    if (rc)
        return rc;
    if (!write) {
        rc = require_loaded(t, path, err);
        if (rc)
            return rc;
    }
    f = &t->inst->block->def->fields[t->field];
    if (!kind_fits(kind, f->type))
        return type_error(f, kind, path, err);
    if (f->is_list && t->last.idx < 0)
        return orch_error_invalid(err, path, "is a list: give an index such as %s[0]", f->name);
    if (!f->is_list && t->last.idx >= 0)
        return orch_error_invalid(err, path, "%s is not a list", f->name);
    return ORCH_OK;
}

static orch_err_t put_value(orch_subscription_t *sub, const char *path, kind_t kind,
                            const char *text, orch_error_t *err)
{
    target_t t;
    const orch_field_def_t *f;
    orch_values_t *v;
    char *canon = NULL, why[256];
    orch_err_t rc = walk_value(sub, path, true, kind, &t, err);

    if (rc)
        return rc;
    f = &t.inst->block->def->fields[t.field];
    v = &t.inst->values[t.field];
    if (f->is_list && (size_t)t.last.idx > v->n)
        return orch_error_invalid(err, path, "index out of range (%zu values)", v->n);
    if (f->is_list && (size_t)t.last.idx == v->n && v->n >= ORCH_SUB_LIST_VALUES_MAX)
        return orch_error_invalid(err, path, "at most %d values", ORCH_SUB_LIST_VALUES_MAX);
    if (!orch__value_canon(f, text, &canon, why, sizeof(why)))
        return orch_error_invalid(err, path, "%s", why);
    if (!f->is_list) {
        values_clear(v);
        orch__values_push(v, canon);
    } else if ((size_t)t.last.idx == v->n) {
        orch__values_push(v, canon);
    } else {
        free(v->items[t.last.idx]);
        v->items[t.last.idx] = canon;
    }
    return ORCH_OK;
}

orch_err_t orch_sub_set_str(orch_subscription_t *sub, const char *path, const char *value,
                            orch_error_t *err)
{
    return put_value(sub, path, KIND_TEXT, value, err);
}

orch_err_t orch_sub_set_int(orch_subscription_t *sub, const char *path, int64_t value,
                            orch_error_t *err)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", (long long)value);
    return put_value(sub, path, KIND_INT, buf, err);
}

orch_err_t orch_sub_set_bool(orch_subscription_t *sub, const char *path, bool value,
                             orch_error_t *err)
{
    return put_value(sub, path, KIND_BOOL, value ? "true" : "false", err);
}

orch_err_t orch_sub_clear(orch_subscription_t *sub, const char *path, orch_error_t *err)
{
    target_t t;
    orch_values_t *v;
    orch_err_t rc = walk_field(sub, path, true, &t, err);

    if (rc)
        return rc;
    v = &t.inst->values[t.field];
    if (t.last.idx < 0) {
        values_clear(v);
        return ORCH_OK;
    }
    if (!t.inst->block->def->fields[t.field].is_list)
        return orch_error_invalid(err, path, "%.*s is not a list", (int)t.last.len, t.last.name);
    if ((size_t)t.last.idx >= v->n)
        return orch_error_invalid(err, path, "index out of range (%zu values)", v->n);
    free(v->items[t.last.idx]);
    memmove(&v->items[t.last.idx], &v->items[t.last.idx + 1],
            (v->n - (size_t)t.last.idx - 1) * sizeof(*v->items));
    v->n--;
    return ORCH_OK;
}

/* The text of one value; NOT_FOUND when unset. */
static orch_err_t get_text(const orch_subscription_t *sub, const char *path, kind_t kind,
                           const char **out, orch_error_t *err)
{
    target_t t;
    const orch_values_t *v;
    size_t i;
    orch_err_t rc = walk_value(sub, path, false, kind, &t, err);

    if (rc)
        return rc;
    v = &t.inst->values[t.field];
    i = t.last.idx < 0 ? 0 : (size_t)t.last.idx;
    if (i >= v->n) {
        orch_error_add_violation(err, path, "not set");
        return orch_error_set(err, ORCH_NOT_FOUND, "FIELD_NOT_SET", "%s is not set", path);
    }
    *out = v->items[i];
    return ORCH_OK;
}

orch_err_t orch_sub_get_str(const orch_subscription_t *sub, const char *path, const char **out,
                            orch_error_t *err)
{
    *out = NULL;
    return get_text(sub, path, KIND_TEXT, out, err);
}

orch_err_t orch_sub_get_int(const orch_subscription_t *sub, const char *path, int64_t *out,
                            orch_error_t *err)
{
    const char *s = NULL;
    orch_err_t rc = get_text(sub, path, KIND_INT, &s, err);

    *out = rc ? 0 : strtoll(s, NULL, 10); /* canonical decimal, checked when set */
    return rc;
}

orch_err_t orch_sub_get_bool(const orch_subscription_t *sub, const char *path, bool *out,
                             orch_error_t *err)
{
    const char *s = NULL;
    orch_err_t rc = get_text(sub, path, KIND_BOOL, &s, err);

    *out = !rc && strcmp(s, "true") == 0;
    return rc;
}

orch_err_t orch_sub_is_set(const orch_subscription_t *sub, const char *path, bool *out,
                           orch_error_t *err)
{
    target_t t;
    size_t n;
    orch_err_t rc;

    *out = false;
    rc = walk_field(sub, path, false, &t, err);
    if (rc)
        return rc;
    rc = require_loaded(&t, path, err);
    if (rc)
        return rc;
    n = t.inst->values[t.field].n;
    *out = t.last.idx < 0 ? n > 0 : (size_t)t.last.idx < n;
    return ORCH_OK;
}

orch_err_t orch_sub_count(const orch_subscription_t *sub, const char *path, size_t *out,
                          orch_error_t *err)
{
    target_t t;
    orch_err_t rc;

    *out = 0;
    rc = walk(sub, path, false, false, &t, err);
    if (rc)
        return rc;
    if (t.last.idx >= 0)
        return orch_error_invalid(err, path, "give the name without an index to count");
    rc = require_loaded(&t, path, err);
    if (rc)
        return rc;
    if (t.child >= 0)
        *out = t.inst->children[t.child].n;
    else if (t.field >= 0)
        *out = t.inst->values[t.field].n;
    else
        return orch_error_invalid(err, path, "%s has no field or child block '%.*s'",
                                  t.inst->block->def->name, (int)t.last.len, t.last.name);
    return ORCH_OK;
}

orch_err_t orch_sub_get_instance(const orch_subscription_t *sub, const char *path,
                                 const orch_instance_t **out, orch_error_t *err)
{
    target_t t;
    orch_err_t rc;

    *out = NULL;
    rc = walk(sub, path, false, true, &t, err);
    if (!rc)
        *out = t.inst;
    return rc;
}

/* ---- Children ---------------------------------------------------------------------------- */

orch_err_t orch_sub_add_child(orch_subscription_t *sub, const char *path, size_t *index,
                              orch_error_t *err)
{
    target_t t;
    const orch_child_def_t *c;
    orch_children_t *ch;
    orch_instance_t *in;
    orch_err_t rc;

    if (index)
        *index = 0;
    rc = walk_child(sub, path, true, &t, err);
    if (rc)
        return rc;
    c = &t.inst->block->def->children[t.child];
    ch = &t.inst->children[t.child];
    if (t.last.idx >= 0)
        return orch_error_invalid(err, path, "name the child attribute without an index");
    if (c->foreign)
        return orch_error_invalid(err, path,
                                  "refers to a %s of another subscription: use "
                                  "orch_sub_set_reference",
                                  c->block);
    if (ch->n >= (size_t)c->max_count)
        return orch_error_invalid(err, path, "at most %d %s allowed, %zu present", c->max_count,
                                  c->max_count == 1 ? "block" : "blocks", ch->n);
    in = orch__inst_new(t.inst->block->child_blocks[t.child], sub->id, NULL, false);
    orch__inst_fill_required(in, 1);
    orch__children_push(ch, in);
    if (index)
        *index = ch->n - 1;
    return ORCH_OK;
}

orch_err_t orch_sub_remove_child(orch_subscription_t *sub, const char *path, orch_error_t *err)
{
    target_t t;
    orch_children_t *ch;
    size_t i;
    orch_err_t rc = walk_child(sub, path, true, &t, err);

    if (rc)
        return rc;
    rc = child_index(t.inst, t.child, &t.last, path, &i, err);
    if (rc)
        return rc;
    ch = &t.inst->children[t.child];
    orch__inst_free(ch->items[i]);
    memmove(&ch->items[i], &ch->items[i + 1], (ch->n - i - 1) * sizeof(*ch->items));
    ch->n--;
    return ORCH_OK;
}

orch_err_t orch_sub_set_reference(orch_subscription_t *sub, const char *path,
                                  const char *owner_subscription_id, const char *instance_id,
                                  orch_error_t *err)
{
    target_t t;
    const orch_child_def_t *c;
    orch_children_t *ch;
    size_t i;
    orch_instance_t *ref;
    orch_err_t rc = walk_child(sub, path, true, &t, err);

    if (rc)
        return rc;
    c = &t.inst->block->def->children[t.child];
    ch = &t.inst->children[t.child];
    if (!c->foreign)
        return orch_error_invalid(err, path,
                                  "holds this subscription's own %s blocks: use "
                                  "orch_sub_add_child",
                                  c->block);
    if (!orch_uuid_valid(owner_subscription_id) || !orch_uuid_valid(instance_id))
        return orch_error_invalid(err, path,
                                  "owner subscription id and instance id must be lower-case "
                                  "UUIDs");
    if (strcmp(owner_subscription_id, sub->id) == 0)
        return orch_error_invalid(err, path,
                                  "must refer to a block of another subscription, not of this "
                                  "one");
    if (t.last.idx < 0 && c->max_count > 1)
        return orch_error_invalid(err, path, "give an index such as %s[0]", c->name);
    i = t.last.idx < 0 ? 0 : (size_t)t.last.idx;
    if (i > ch->n || (i == ch->n && ch->n >= (size_t)c->max_count))
        return orch_error_invalid(err, path, "index out of range (%zu present, at most %d)", ch->n,
                                  c->max_count);
    ref = orch__inst_new(t.inst->block->child_blocks[t.child], owner_subscription_id, instance_id,
                         true);
    if (i == ch->n) {
        orch__children_push(ch, ref);
    } else {
        orch__inst_free(ch->items[i]);
        ch->items[i] = ref;
    }
    return ORCH_OK;
}

/* ---- Top-level attributes ---------------------------------------------------------------- */

static orch_err_t replace_text(char **dst, const char *field, const char *s, size_t max,
                               bool required, orch_error_t *err)
{
    orch_err_t rc = check_text(field, s, max, required, err);
    if (rc)
        return rc;
    free(*dst);
    *dst = s ? orch_strdup(s) : NULL;
    return ORCH_OK;
}

orch_err_t orch_sub_set_customer_id(orch_subscription_t *sub, const char *customer_id,
                                    orch_error_t *err)
{
    return replace_text(&sub->customer_id, "customer_id", customer_id, ORCH_SUB_CUSTOMER_ID_MAX,
                        true, err);
}

orch_err_t orch_sub_set_description(orch_subscription_t *sub, const char *description,
                                    orch_error_t *err)
{
    return replace_text(&sub->description, "description", description ? description : "",
                        ORCH_SUB_DESCRIPTION_MAX, false, err);
}

orch_err_t orch_sub_set_note(orch_subscription_t *sub, const char *note, orch_error_t *err)
{
    return replace_text(&sub->note, "note", note, ORCH_SUB_NOTE_MAX, false, err);
}

void orch_sub_set_in_use_by(orch_subscription_t *sub, const orch_sub_link_t *links, size_t n)
{
    free(sub->in_use_by);
    sub->in_use_by = NULL;
    sub->nin_use_by = n;
    if (n) {
        sub->in_use_by = orch_malloc(n * sizeof(*links));
        memcpy(sub->in_use_by, links, n * sizeof(*links));
    }
}

static void collect_depends(const orch_instance_t *in, orch_sub_link_t **out, size_t *n)
{
    for (size_t i = 0; i < in->block->nchildren; i++) {
        for (size_t j = 0; j < in->children[i].n; j++) {
            const orch_instance_t *c = in->children[i].items[j];
            size_t k;
            if (!c->foreign) {
                collect_depends(c, out, n);
                continue;
            }
            for (k = 0; k < *n; k++)
                if (strcmp((*out)[k].subscription_id, c->subscription_id) == 0)
                    break;
            if (k < *n)
                continue;
            *out = orch_realloc(*out, (*n + 1) * sizeof(**out));
            memset(&(*out)[*n], 0, sizeof(**out));
            id_copy((*out)[*n].subscription_id, c->subscription_id);
            (*n)++;
        }
    }
}

orch_sub_link_t *orch_sub_depends_on(const orch_subscription_t *sub, size_t *n)
{
    orch_sub_link_t *out = NULL;
    *n = 0;
    collect_depends(sub->root, &out, n);
    return out;
}

/* ---- Lifecycle --------------------------------------------------------------------------- */

typedef struct problems {
    orch_error_t *err;
    orch_sub_status_t status;
    size_t n;
    char first[320];
} problems_t;

static void problem(problems_t *pr, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(problems_t *pr, const char *path, const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (pr->n++ == 0)
        snprintf(pr->first, sizeof(pr->first), "%s %s", path, buf);
    orch_error_add_violation(pr->err, path, "%s", buf);
}

/* Depth first, fields before children, in declaration order, so that the first problem
 * reported is the first a reader of the product definition would meet. */
static void check_inst(const orch_instance_t *in, char *path, size_t plen, bool strict,
                       problems_t *pr)
{
    const char *sname = orch_sub_status_name(pr->status);
    for (size_t i = 0; strict && i < in->block->nfields; i++) {
        const orch_field_def_t *f = &in->block->def->fields[i];
        if (f->required && in->values[i].n == 0) {
            snprintf(path + plen, PATH_MAX_LEN + 1 - plen, "%s%s", plen ? "." : "", f->name);
            problem(pr, path, "is required when %s", sname);
        }
    }
    for (size_t i = 0; i < in->block->nchildren; i++) {
        const orch_child_def_t *c = &in->block->def->children[i];
        size_t n = in->children[i].n;
        size_t clen = plen + (size_t)snprintf(path + plen, PATH_MAX_LEN + 1 - plen, "%s%s",
                                              plen ? "." : "", c->name);
        if (clen > PATH_MAX_LEN)
            clen = PATH_MAX_LEN;
        if (n > (size_t)c->max_count)
            problem(pr, path, "has %zu blocks, at most %d allowed", n, c->max_count);
        else if (strict && n < (size_t)c->min_count && c->max_count == 1)
            problem(pr, path, "is required when %s", sname);
        else if (strict && n < (size_t)c->min_count)
            problem(pr, path, "has %zu %s, at least %d required when %s", n,
                    n == 1 ? "block" : "blocks", c->min_count, sname);
        for (size_t j = 0; j < n; j++) {
            const orch_instance_t *child = in->children[i].items[j];
            size_t len = clen;
            if (child->foreign)
                continue;
            if (c->max_count > 1)
                len += (size_t)snprintf(path + clen, PATH_MAX_LEN + 1 - clen, "[%zu]", j);
            check_inst(child, path, len > PATH_MAX_LEN ? PATH_MAX_LEN : len, strict, pr);
        }
        path[plen] = '\0';
    }
    path[plen] = '\0';
}

static orch_err_t validate_for(const orch_subscription_t *sub, orch_sub_status_t status,
                               orch_error_t *err)
{
    char path[PATH_MAX_LEN + 1] = "";
    problems_t pr = {.err = err, .status = status};

    check_inst(sub->root, path, 0, status_is_strict(status), &pr);
    if (pr.n == 0)
        return ORCH_OK;
    if (pr.n == 1)
        return orch_error_set(err, ORCH_FAILED_PRECONDITION, REASON_LIFECYCLE,
                              "subscription %s cannot be %s: %s", sub->id,
                              orch_sub_status_name(status), pr.first);
    return orch_error_set(err, ORCH_FAILED_PRECONDITION, REASON_LIFECYCLE,
                          "subscription %s cannot be %s: %s (and %zu more problems)", sub->id,
                          orch_sub_status_name(status), pr.first, pr.n - 1);
}

orch_err_t orch_sub_validate(const orch_subscription_t *sub, orch_error_t *err)
{
    return validate_for(sub, sub->status, err);
}

orch_err_t orch_sub_set_status(orch_subscription_t *sub, orch_sub_status_t to, orch_error_t *err)
{
    orch_err_t rc;

    if (to <= ORCH_SUB_STATUS_UNSPECIFIED || (unsigned)to >= NSTATUS)
        return orch_error_invalid(err, "status", "not a subscription status");
    if (to != sub->status && !orch_sub_transition_allowed(sub->status, to)) {
        char next[96] = "";
        size_t used = 0;
        for (unsigned s = 1; s < NSTATUS && used < sizeof(next); s++)
            if (orch_sub_transition_allowed(sub->status, (orch_sub_status_t)s))
                used += (size_t)snprintf(next + used, sizeof(next) - used, "%s%s", used ? ", " : "",
                                         status_names[s]);
        return orch_error_set(err, ORCH_FAILED_PRECONDITION, REASON_LIFECYCLE,
                              "subscription %s cannot go from %s to %s (allowed: %s)", sub->id,
                              orch_sub_status_name(sub->status), orch_sub_status_name(to),
                              used ? next : "none");
    }
    if (to == ORCH_SUB_TERMINATED && sub->status != ORCH_SUB_TERMINATED) {
        char ids[160] = "";
        size_t live = 0, used = 0;
        for (size_t i = 0; i < sub->nin_use_by; i++) {
            if (sub->in_use_by[i].status == ORCH_SUB_TERMINATED)
                continue;
            if (live++ < 3 && used < sizeof(ids))
                used += (size_t)snprintf(ids + used, sizeof(ids) - used, "%s%s",
                                         live > 1 ? ", " : "", sub->in_use_by[i].subscription_id);
        }
        if (live)
            return orch_error_set(err, ORCH_FAILED_PRECONDITION, REASON_IN_USE,
                                  "subscription %s is used by %zu live subscription%s (%s%s); "
                                  "terminate %s first",
                                  sub->id, live, live == 1 ? "" : "s", ids, live > 3 ? ", ..." : "",
                                  live == 1 ? "it" : "them");
    }
    rc = validate_for(sub, to, err);
    if (rc)
        return rc;
    if (to == ORCH_SUB_ACTIVE && sub->start_time_us == 0)
        sub->start_time_us = orch__now_us();
    if (to == ORCH_SUB_TERMINATED && sub->end_time_us == 0)
        sub->end_time_us = orch__now_us();
    sub->status = to;
    return ORCH_OK;
}
