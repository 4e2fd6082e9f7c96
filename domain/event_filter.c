/* The in-memory WatchProcesses matcher: the parsed filter tree evaluated with SQL's
 * semantics, so that a live event and a catch-up read agree on what a stream receives. */
#include "event_filter.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "filter.h"

const char *const orch_event_filter_fields[] = {"process_id",      "status",      "workflow",
                                                "target",          "is_task",     "product_id",
                                                "subscription_id", "customer_id", NULL};

struct orch_event_filter {
    orch_filter_t *tree;
};

orch_err_t orch_event_filter_new(const char *text, orch_event_filter_t **out, orch_error_t *err)
{
    orch_filter_t *tree = NULL;
    orch_err_t rc;

    *out = NULL;
    rc = orch_filter_parse(text, orch_event_filter_fields, &tree, err);
    if (rc)
        return rc;
    *out = orch_calloc(1, sizeof(**out));
    (*out)->tree = tree;
    return ORCH_OK;
}

void orch_event_filter_free(orch_event_filter_t *f)
{
    if (!f)
        return;
    orch_filter_free(f->tree);
    free(f);
}

/* SQL's three values. */
typedef enum { T_FALSE, T_TRUE, T_NULL } tri_t;

/* ILIKE '%needle%' in the C collation: ASCII case folding only. */
static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay || n == 0; hay++) {
        size_t i = 0;
        while (i < n && hay[i]) {
            char a = hay[i], b = needle[i];
            if (a >= 'A' && a <= 'Z')
                a = (char)(a + 32);
            if (b >= 'A' && b <= 'Z')
                b = (char)(b + 32);
            if (a != b)
                break;
            i++;
        }
        if (i == n)
            return true;
        if (!*hay)
            break;
    }
    return false;
}

static tri_t cmp(const orch_filter_node_t *n, const json_t *fields)
{
    const char *v = json_string_value(json_object_get(fields, orch_filter_node_field(n)));
    const char *want = orch_filter_node_value(n);
    int c;
    if (!v)
        return T_NULL; /* a NULL column compares to NULL */
    if (orch_filter_node_op(n) == ORCH_FILTER_HAS)
        return strcmp(want, "*") == 0 || contains_ci(v, want) ? T_TRUE : T_FALSE;
    c = strcmp(v, want);
    switch (orch_filter_node_op(n)) {
    case ORCH_FILTER_EQ:
        return c == 0 ? T_TRUE : T_FALSE;
    case ORCH_FILTER_NE:
        return c != 0 ? T_TRUE : T_FALSE;
    case ORCH_FILTER_LT:
        return c < 0 ? T_TRUE : T_FALSE;
    case ORCH_FILTER_LE:
        return c <= 0 ? T_TRUE : T_FALSE;
    case ORCH_FILTER_GT:
        return c > 0 ? T_TRUE : T_FALSE;
    case ORCH_FILTER_GE:
        return c >= 0 ? T_TRUE : T_FALSE;
    case ORCH_FILTER_HAS:
        break;
    }
    return T_FALSE;
}

static tri_t eval(const orch_filter_node_t *n, const json_t *fields)
{
    tri_t a, b;
    switch (orch_filter_node_kind(n)) {
    case ORCH_FILTER_AND:
        a = eval(orch_filter_node_left(n), fields);
        b = eval(orch_filter_node_right(n), fields);
        return a == T_FALSE || b == T_FALSE ? T_FALSE
               : a == T_NULL || b == T_NULL ? T_NULL
                                            : T_TRUE;
    case ORCH_FILTER_OR:
        a = eval(orch_filter_node_left(n), fields);
        b = eval(orch_filter_node_right(n), fields);
        return a == T_TRUE || b == T_TRUE ? T_TRUE : a == T_NULL || b == T_NULL ? T_NULL : T_FALSE;
    case ORCH_FILTER_NOT:
        /* The compiler writes NOT coalesce(x, false): unknown counts as false, then negated. */
        return eval(orch_filter_node_left(n), fields) == T_TRUE ? T_FALSE : T_TRUE;
    case ORCH_FILTER_CMP:
        break;
    }
    return cmp(n, fields);
}

bool orch_event_filter_match(const orch_event_filter_t *f, const json_t *fields)
{
    const orch_filter_node_t *root = f ? orch_filter_root(f->tree) : NULL;
    if (!root)
        return true;
    return fields && eval(root, fields) == T_TRUE;
}
