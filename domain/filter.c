/* A recursive-descent parser and evaluator for the AIP-160 filter subset of filter.h.
 * Input is bounded (length and nesting) so that no filter can exhaust the stack. */
#include "filter.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/alloc.h"

#define FILTER_MAX_LEN 4096
#define FILTER_MAX_DEPTH 32

typedef enum { N_AND, N_OR, N_NOT, N_CMP } node_kind_t;
typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_HAS } op_t;

typedef struct orch_filter_node {
    node_kind_t kind;
    struct orch_filter_node *a, *b; /* AND/OR: a, b; NOT: a */
    op_t op;
    char *field, *value;
} node_t;

/* The enums of filter.h mirror these one to one. */
_Static_assert((int)ORCH_FILTER_HAS == (int)OP_HAS, "op enums differ");
_Static_assert((int)ORCH_FILTER_CMP == (int)N_CMP, "kind enums differ");

struct orch_filter {
    node_t *root; /* NULL: match everything */
};

typedef struct parser {
    const char *s;
    size_t pos;
    int depth;
    const char *const *fields;
    orch_error_t *err;
    orch_err_t rc;
} parser_t;

static void node_free(node_t *n)
{
    if (!n)
        return;
    node_free(n->a);
    node_free(n->b);
    free(n->field);
    free(n->value);
    free(n);
}

static node_t *node_new(node_kind_t kind, node_t *a, node_t *b)
{
    node_t *n = orch_calloc(1, sizeof(*n));
    n->kind = kind;
    n->a = a;
    n->b = b;
    return n;
}

static void fail(parser_t *p, size_t at, const char *what)
{
    if (p->rc)
        return;
    p->rc = orch_error_invalid(p->err, "filter", "%s at offset %zu", what, at);
}

static void skip_ws(parser_t *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
           p->s[p->pos] == '\r')
        p->pos++;
}

/* Is the keyword kw at the current position, followed by a delimiter? */
static bool at_keyword(parser_t *p, const char *kw)
{
    size_t n = strlen(kw);
    char c;
    if (strncmp(p->s + p->pos, kw, n) != 0)
        return false;
    c = p->s[p->pos + n];
    return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(';
}

static bool is_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-' || c == '+' || c == '*' ||
           (unsigned char)c >= 0x80;
}

static bool is_value_char(char c)
{
    return is_word_char(c) || c == ':';
}

static node_t *parse_expr(parser_t *p);

static char *parse_value(parser_t *p)
{
    size_t start;

    skip_ws(p);
    start = p->pos;
    if (p->s[p->pos] == '"' || p->s[p->pos] == '\'') {
        char q = p->s[p->pos++];
        char *out = orch_malloc(strlen(p->s + p->pos) + 1);
        size_t o = 0;
        while (p->s[p->pos] && p->s[p->pos] != q) {
            if (p->s[p->pos] == '\\' && p->s[p->pos + 1])
                p->pos++;
            out[o++] = p->s[p->pos++];
        }
        if (p->s[p->pos] != q) {
            free(out);
            fail(p, start, "unterminated quoted string");
            return NULL;
        }
        p->pos++;
        out[o] = '\0';
        return out;
    }
    while (is_value_char(p->s[p->pos]))
        p->pos++;
    if (p->pos == start) {
        fail(p, start, "expected a value");
        return NULL;
    }
    return orch_strndup(p->s + start, p->pos - start);
}

static node_t *parse_comparison(parser_t *p)
{
    size_t start, fstart;
    char *field;
    node_t *n;
    op_t op;
    bool known = false;

    skip_ws(p);
    fstart = start = p->pos;
    while (is_word_char(p->s[p->pos]))
        p->pos++;
    if (p->pos == start) {
        fail(p, start, p->s[start] ? "expected a field name" : "unexpected end of filter");
        return NULL;
    }
    field = orch_strndup(p->s + start, p->pos - start);
    for (const char *const *f = p->fields; *f; f++)
        known = known || strcmp(*f, field) == 0;
    if (!known) {
        char list[512] = "";
        for (const char *const *f = p->fields; *f; f++) {
            if (strlen(list) + strlen(*f) + 3 < sizeof(list)) {
                if (*list)
                    strcat(list, ", ");
                strcat(list, *f);
            }
        }
        if (!p->rc)
            p->rc = orch_error_invalid(p->err, "filter",
                                       "unknown field '%.64s' at offset %zu; filterable fields: %s",
                                       field, fstart, list);
        free(field);
        return NULL;
    }
    skip_ws(p);
    start = p->pos;
    switch (p->s[p->pos]) {
    case '=':
        op = OP_EQ;
        p->pos++;
        break;
    case ':':
        op = OP_HAS;
        p->pos++;
        break;
    case '!':
        if (p->s[p->pos + 1] != '=')
            goto badop;
        op = OP_NE;
        p->pos += 2;
        break;
    case '<':
        op = p->s[p->pos + 1] == '=' ? OP_LE : OP_LT;
        p->pos += op == OP_LE ? 2 : 1;
        break;
    case '>':
        op = p->s[p->pos + 1] == '=' ? OP_GE : OP_GT;
        p->pos += op == OP_GE ? 2 : 1;
        break;
    default:
        goto badop;
    }
    n = node_new(N_CMP, NULL, NULL);
    n->op = op;
    n->field = field;
    n->value = parse_value(p);
    if (!n->value) {
        node_free(n);
        return NULL;
    }
    return n;
badop:
    free(field);
    fail(p, start, "expected one of = != < <= > >= : after the field name");
    return NULL;
}

static node_t *parse_unary(parser_t *p)
{
    node_t *n;
    size_t start;

    skip_ws(p);
    start = p->pos;
    if (++p->depth > FILTER_MAX_DEPTH) {
        fail(p, start, "filter nested too deeply");
        return NULL;
    }
    if (at_keyword(p, "NOT") || p->s[p->pos] == '-') {
        p->pos += p->s[p->pos] == '-' ? 1 : 3;
        n = parse_unary(p);
        n = n ? node_new(N_NOT, n, NULL) : NULL;
    } else if (p->s[p->pos] == '(') {
        p->pos++;
        n = parse_expr(p);
        skip_ws(p);
        if (n && p->s[p->pos] != ')') {
            fail(p, p->pos, "expected ')'");
            node_free(n);
            n = NULL;
        } else if (n) {
            p->pos++;
        }
    } else {
        n = parse_comparison(p);
    }
    p->depth--;
    return n;
}

/* OR binds tighter than AND in AIP-160: `a AND b OR c` is `a AND (b OR c)`. */
static node_t *parse_or_term(parser_t *p)
{
    node_t *left = parse_unary(p);
    while (left) {
        skip_ws(p);
        if (!at_keyword(p, "OR"))
            break;
        p->pos += 2;
        node_t *right = parse_unary(p);
        if (!right) {
            node_free(left);
            return NULL;
        }
        left = node_new(N_OR, left, right);
    }
    return left;
}

static node_t *parse_expr(parser_t *p)
{
    node_t *left = parse_or_term(p);
    while (left) {
        skip_ws(p);
        if (at_keyword(p, "AND"))
            p->pos += 3;
        else if (!p->s[p->pos] || p->s[p->pos] == ')')
            break;
        node_t *right = parse_or_term(p);
        if (!right) {
            node_free(left);
            return NULL;
        }
        left = node_new(N_AND, left, right);
    }
    return left;
}

orch_err_t orch_filter_parse(const char *text, const char *const *fields, orch_filter_t **out,
                             orch_error_t *err)
{
    parser_t p = {.s = text, .fields = fields, .err = err};
    orch_filter_t *f;
    node_t *root = NULL;
    size_t i;

    *out = NULL;
    if (text && strlen(text) > FILTER_MAX_LEN)
        return orch_error_invalid(err, "filter", "is longer than %d characters", FILTER_MAX_LEN);
    for (i = 0; text && text[i]; i++) {
        if (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')
            continue;
        break;
    }
    if (text && text[i]) {
        root = parse_expr(&p);
        skip_ws(&p);
        if (root && p.s[p.pos]) {
            fail(&p, p.pos, "unexpected text");
            node_free(root);
            root = NULL;
        }
        if (!root)
            return p.rc ? p.rc : orch_error_invalid(err, "filter", "invalid filter");
    }
    f = orch_calloc(1, sizeof(*f));
    f->root = root;
    *out = f;
    return ORCH_OK;
}

void orch_filter_free(orch_filter_t *f)
{
    if (!f)
        return;
    node_free(f->root);
    free(f);
}

static bool parse_number(const char *s, double *out)
{
    char *end;
    if (!*s)
        return false;
    *out = strtod(s, &end);
    return *end == '\0';
}

/* RFC 3339 in UTC or with an offset, to seconds since the epoch. */
static bool parse_time(const char *s, double *out)
{
    struct tm tm = {0};
    const char *r = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    double frac = 0;
    long off = 0;
    if (!r)
        return false;
    if (*r == '.') {
        char *end;
        frac = strtod(r, &end);
        r = end;
    }
    if (*r == 'Z' || *r == 'z') {
        r++;
    } else if (*r == '+' || *r == '-') {
        int hh, mm;
        if (strlen(r) != 6 || r[3] != ':' || sscanf(r + 1, "%2d:%2d", &hh, &mm) != 2)
            return false;
        off = (hh * 3600L + mm * 60L) * (*r == '-' ? -1 : 1);
        r += 6;
    } else {
        return false;
    }
    if (*r)
        return false;
    *out = (double)timegm(&tm) - (double)off + frac;
    return true;
}

static int compare(const char *a, const char *b)
{
    double x, y;
    if ((parse_number(a, &x) && parse_number(b, &y)) || (parse_time(a, &x) && parse_time(b, &y)))
        return x < y ? -1 : x > y;
    return strcmp(a, b);
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (strcmp(needle, "*") == 0)
        return true;
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return n == 0;
}

static bool eval(const node_t *n, orch_filter_get_fn get, const void *obj)
{
    const char *v;
    switch (n->kind) {
    case N_AND:
        return eval(n->a, get, obj) && eval(n->b, get, obj);
    case N_OR:
        return eval(n->a, get, obj) || eval(n->b, get, obj);
    case N_NOT:
        return !eval(n->a, get, obj);
    case N_CMP:
        break;
    }
    v = get(obj, n->field);
    if (!v)
        return n->op == OP_NE;
    switch (n->op) {
    case OP_EQ:
        return compare(v, n->value) == 0;
    case OP_NE:
        return compare(v, n->value) != 0;
    case OP_LT:
        return compare(v, n->value) < 0;
    case OP_LE:
        return compare(v, n->value) <= 0;
    case OP_GT:
        return compare(v, n->value) > 0;
    case OP_GE:
        return compare(v, n->value) >= 0;
    case OP_HAS:
        return contains_ci(v, n->value);
    }
    return false;
}

const orch_filter_node_t *orch_filter_root(const orch_filter_t *f)
{
    return f ? f->root : NULL;
}

orch_filter_kind_t orch_filter_node_kind(const orch_filter_node_t *n)
{
    return (orch_filter_kind_t)n->kind;
}

const orch_filter_node_t *orch_filter_node_left(const orch_filter_node_t *n)
{
    return n->a;
}

const orch_filter_node_t *orch_filter_node_right(const orch_filter_node_t *n)
{
    return n->b;
}

orch_filter_op_t orch_filter_node_op(const orch_filter_node_t *n)
{
    return (orch_filter_op_t)n->op;
}

const char *orch_filter_node_field(const orch_filter_node_t *n)
{
    return n->field;
}

const char *orch_filter_node_value(const orch_filter_node_t *n)
{
    return n->value;
}

bool orch_filter_match(const orch_filter_t *f, orch_filter_get_fn get, const void *obj)
{
    return !f || !f->root || eval(f->root, get, obj);
}
