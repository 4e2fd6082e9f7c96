/* The subscription read cache alone (domain/subcache.h): hits and misses, the memory
 * bound (least recently used out first), drops of an id and of what names it, the ticket
 * that refuses a fill read before a drop, the changing window of this replica's units of
 * work, liveness, and the NOTIFY payloads it understands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "domain/subcache.h"

#define ID(n) ids[n]
static char ids[8][37];

static void *heap_alloc(void *arg, size_t len)
{
    (void)arg;
    return malloc(len);
}

static int setup_ids(void **state)
{
    (void)state;
    for (int i = 0; i < 8; i++)
        snprintf(ids[i], sizeof(ids[i]), "%08d-0000-4000-8000-000000000000", i);
    return 0;
}

/* Puts id with "<id>:full" / "<id>:basic" as its views, related to rel (n of them). */
static bool put(orch_subcache_t *c, uint64_t ticket, const char *id, const char *stamp,
                const char *const *rel, size_t n)
{
    char full[64], basic[64];
    const void *bytes[ORCH_SUBCACHE_VIEWS] = {full, basic};
    size_t len[ORCH_SUBCACHE_VIEWS];
    len[0] = (size_t)snprintf(full, sizeof(full), "%s:full", id);
    len[1] = (size_t)snprintf(basic, sizeof(basic), "%s:basic", id);
    return orch_subcache_put(c, ticket, id, stamp, rel, n, bytes, len);
}

static bool has(orch_subcache_t *c, const char *id)
{
    void *b = NULL;
    size_t len = 0;
    bool hit = orch_subcache_get(c, id, ORCH_SUBCACHE_FULL, heap_alloc, NULL, &b, &len, NULL);
    free(b);
    return hit;
}

static void hit_miss_and_views(void **state)
{
    orch_subcache_t *c = orch_subcache_new(1 << 20);
    void *b = NULL;
    size_t len = 0;
    char stamp[33], want[64];
    (void)state;

    /* Not live yet: nothing stored. */
    assert_false(put(c, orch_subcache_ticket(c), ID(0), "s0", NULL, 0));
    orch_subcache_set_live(c, true);
    assert_false(has(c, ID(0)));
    assert_true(put(c, orch_subcache_ticket(c), ID(0), "s0", NULL, 0));
    assert_true(
        orch_subcache_get(c, ID(0), ORCH_SUBCACHE_BASIC, heap_alloc, NULL, &b, &len, stamp));
    snprintf(want, sizeof(want), "%s:basic", ID(0));
    assert_int_equal(len, strlen(want));
    assert_memory_equal(b, want, len);
    assert_string_equal(stamp, "s0");
    free(b);
    /* Replacing keeps one entry. */
    assert_true(put(c, orch_subcache_ticket(c), ID(0), "s1", NULL, 0));
    {
        orch_subcache_stats_t st;
        orch_subcache_stats(c, &st);
        assert_int_equal(st.entries, 1);
        assert_true(st.bytes > 0);
    }
    /* Going down drops everything and serves nothing. */
    orch_subcache_set_live(c, false);
    assert_false(has(c, ID(0)));
    orch_subcache_set_live(c, true);
    assert_false(has(c, ID(0)));
    orch_subcache_free(c);
}

static void views_merge_at_one_stamp(void **state)
{
    orch_subcache_t *c = orch_subcache_new(1 << 20);
    const void *full[ORCH_SUBCACHE_VIEWS] = {"F", NULL}, *basic[ORCH_SUBCACHE_VIEWS] = {NULL, "B"};
    size_t len[ORCH_SUBCACHE_VIEWS] = {1, 1};
    void *b = NULL;
    size_t n = 0;
    (void)state;

    orch_subcache_set_live(c, true);
    assert_true(orch_subcache_put(c, orch_subcache_ticket(c), ID(0), "s1", NULL, 0, full, len));
    assert_false(orch_subcache_get(c, ID(0), ORCH_SUBCACHE_BASIC, heap_alloc, NULL, &b, &n, NULL));
    /* The other view at the same stamp: both kept. */
    assert_true(orch_subcache_put(c, orch_subcache_ticket(c), ID(0), "s1", NULL, 0, basic, len));
    assert_true(orch_subcache_get(c, ID(0), ORCH_SUBCACHE_FULL, heap_alloc, NULL, &b, &n, NULL));
    assert_memory_equal(b, "F", 1);
    free(b);
    assert_true(orch_subcache_get(c, ID(0), ORCH_SUBCACHE_BASIC, heap_alloc, NULL, &b, &n, NULL));
    assert_memory_equal(b, "B", 1);
    free(b);
    /* Another stamp: only what came with it. */
    assert_true(orch_subcache_put(c, orch_subcache_ticket(c), ID(0), "s2", NULL, 0, basic, len));
    assert_false(orch_subcache_get(c, ID(0), ORCH_SUBCACHE_FULL, heap_alloc, NULL, &b, &n, NULL));
    orch_subcache_free(c);
}

static void bounded_lru(void **state)
{
    orch_subcache_t *c;
    orch_subcache_stats_t st;
    size_t one;
    (void)state;

    c = orch_subcache_new(1 << 20);
    orch_subcache_set_live(c, true);
    put(c, orch_subcache_ticket(c), ID(0), "s", NULL, 0);
    orch_subcache_stats(c, &st);
    one = st.bytes;
    orch_subcache_free(c);

    /* Room for three entries. */
    c = orch_subcache_new(one * 3 + one / 2);
    orch_subcache_set_live(c, true);
    for (int i = 0; i < 3; i++)
        assert_true(put(c, orch_subcache_ticket(c), ID(i), "s", NULL, 0));
    assert_true(has(c, ID(0))); /* 0 is now the most recent: 1 goes first */
    assert_true(put(c, orch_subcache_ticket(c), ID(3), "s", NULL, 0));
    assert_false(has(c, ID(1)));
    assert_true(has(c, ID(0)));
    assert_true(has(c, ID(2)));
    assert_true(has(c, ID(3)));
    orch_subcache_stats(c, &st);
    assert_int_equal(st.entries, 3);
    assert_true(st.bytes <= st.max_bytes);
    orch_subcache_free(c);
}

static void drops_follow_relations(void **state)
{
    orch_subcache_t *c = orch_subcache_new(1 << 20);
    const char *port_rel[1] = {ids[0]};         /* the port uses the node */
    const char *node_rel[2] = {ids[1], ids[2]}; /* the node is used by two ports */
    const char *drop[1];
    (void)state;

    orch_subcache_set_live(c, true);
    put(c, orch_subcache_ticket(c), ID(0), "n", node_rel, 2);
    put(c, orch_subcache_ticket(c), ID(1), "p", port_rel, 1);
    put(c, orch_subcache_ticket(c), ID(2), "p", port_rel, 1);
    put(c, orch_subcache_ticket(c), ID(3), "x", NULL, 0);
    /* A port changes: it goes, and the node that lists it as a user. */
    drop[0] = ID(1);
    orch_subcache_drop(c, drop, 1);
    assert_false(has(c, ID(1)));
    assert_false(has(c, ID(0)));
    assert_true(has(c, ID(2)));
    assert_true(has(c, ID(3)));
    /* The node changes (not cached now): the other port, which shows it, goes. */
    drop[0] = ID(0);
    orch_subcache_drop(c, drop, 1);
    assert_false(has(c, ID(2)));
    assert_true(has(c, ID(3)));
    orch_subcache_free(c);
}

static void ticket_refuses_a_fill_read_before_a_drop(void **state)
{
    orch_subcache_t *c = orch_subcache_new(1 << 20);
    const char *drop[1] = {ids[5]};
    uint64_t t;
    (void)state;

    orch_subcache_set_live(c, true);
    t = orch_subcache_ticket(c);
    orch_subcache_drop(c, drop, 1); /* the change lands while the tree is being read */
    assert_false(put(c, t, ID(0), "old", NULL, 0));
    assert_false(has(c, ID(0)));
    t = orch_subcache_ticket(c);
    orch_subcache_drop_payload(c, ids[6]);
    assert_false(put(c, t, ID(0), "old", NULL, 0));
    t = orch_subcache_ticket(c);
    orch_subcache_set_live(c, false);
    orch_subcache_set_live(c, true);
    assert_false(put(c, t, ID(0), "old", NULL, 0));
    assert_true(put(c, orch_subcache_ticket(c), ID(0), "new", NULL, 0));
    orch_subcache_free(c);
}

static void changing_window(void **state)
{
    orch_subcache_t *c = orch_subcache_new(1 << 20);
    const char *one[1] = {ids[0]};
    const char *rel[1] = {ids[0]};
    (void)state;

    orch_subcache_set_live(c, true);
    put(c, orch_subcache_ticket(c), ID(0), "s", NULL, 0);
    orch_subcache_changing(c, one, 1, true);
    orch_subcache_changing(c, one, 1, true); /* a second unit of work on it */
    assert_false(has(c, ID(0)));
    assert_false(put(c, orch_subcache_ticket(c), ID(0), "s", NULL, 0));
    /* Nor anything that shows it. */
    assert_false(put(c, orch_subcache_ticket(c), ID(1), "s", rel, 1));
    orch_subcache_changing(c, one, 1, false);
    assert_false(put(c, orch_subcache_ticket(c), ID(0), "s", NULL, 0)); /* one still open */
    orch_subcache_changing(c, one, 1, false);
    assert_true(put(c, orch_subcache_ticket(c), ID(0), "s", NULL, 0));
    assert_true(has(c, ID(0)));
    orch_subcache_free(c);
}

static void payloads(void **state)
{
    orch_subcache_t *c = orch_subcache_new(1 << 20);
    char payload[256];
    (void)state;

    orch_subcache_set_live(c, true);
    for (int i = 0; i < 5; i++)
        put(c, orch_subcache_ticket(c), ID(i), "s", NULL, 0);
    /* One id (orch_subscription_changes). */
    orch_subcache_drop_payload(c, ids[0]);
    assert_false(has(c, ID(0)));
    assert_true(has(c, ID(1)));
    /* The stream format: "<id>:<lo>-<hi>,<id>:<lo>-<hi>". */
    snprintf(payload, sizeof(payload), "%s:3-5,%s:1-1", ids[1], ids[2]);
    orch_subcache_drop_payload(c, payload);
    assert_false(has(c, ID(1)));
    assert_false(has(c, ID(2)));
    assert_true(has(c, ID(3)));
    /* Upper-case hex is the same id. */
    put(c, orch_subcache_ticket(c), "0000000a-0000-4000-8000-000000000000", "s", NULL, 0);
    orch_subcache_drop_payload(c, "0000000A-0000-4000-8000-000000000000");
    assert_false(has(c, "0000000a-0000-4000-8000-000000000000"));
    assert_true(has(c, ID(3)));
    /* Empty, or nothing understood: everything goes. */
    put(c, orch_subcache_ticket(c), ID(0), "s", NULL, 0);
    orch_subcache_drop_payload(c, "");
    assert_false(has(c, ID(0)));
    assert_false(has(c, ID(4)));
    put(c, orch_subcache_ticket(c), ID(0), "s", NULL, 0);
    orch_subcache_drop_payload(c, "garbage");
    assert_false(has(c, ID(0)));
    orch_subcache_free(c);
}

static void disabled(void **state)
{
    orch_subcache_t *c = orch_subcache_new(0);
    (void)state;
    orch_subcache_set_live(c, true);
    assert_false(put(c, orch_subcache_ticket(c), ID(0), "s", NULL, 0));
    assert_false(has(c, ID(0)));
    orch_subcache_free(c);
    orch_subcache_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hit_miss_and_views),
        cmocka_unit_test(views_merge_at_one_stamp),
        cmocka_unit_test(bounded_lru),
        cmocka_unit_test(drops_follow_relations),
        cmocka_unit_test(ticket_refuses_a_fill_read_before_a_drop),
        cmocka_unit_test(changing_window),
        cmocka_unit_test(payloads),
        cmocka_unit_test(disabled),
    };
    return cmocka_run_group_tests(tests, setup_ids, NULL);
}
