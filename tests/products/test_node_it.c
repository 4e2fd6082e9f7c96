/* The Node example product (domain/products/node/) through the test kit: move_node, the
 * model modify workflow of docs/AUTHORING.md, answered page by page and in one go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "orch_kit.h"

#define NODE_PAGE                                                                                  \
    "{\"customer_id\": \"acme\", \"node_name\": \"ams-r1\", \"role_id\": 1, \"type_id\": 2, "      \
    "\"site_id\": 3}"

static void create(kit_t *k)
{
    kit_create(k, "create_node", "node Cisco", NODE_PAGE);
    kit_callback(k, NULL); /* the configuration push answers */
    kit_wait(k, "completed");
}

static void move_node_page_by_page(void **state)
{
    kit_t *k = *state;
    create(k);
    kit_start(k, "move_node", "{\"site_id\": 7}");
    kit_answer_page(k, "{\"role_id\": 4}"); /* page 2: the role there */
    kit_callback(k, NULL);
    kit_wait(k, "completed");
    kit_assert_step(k, "keep_old_site", "success");
    kit_assert_step(k, "save_site", "success");
    kit_assert_step(k, "push_config", "success");
    kit_assert_state(k, "old_site_id", "3");
    kit_assert_state(k, "old_role_id", "1");
    kit_assert_sub(k, "site_id", "7");
    kit_assert_sub(k, "role_id", "4");
    kit_assert_sub(k, "node_name", "\"ams-r1\""); /* not on the form: unchanged */
    kit_assert_sub(k, "in_sync", "true");
}

static void move_node_keeps_an_unanswered_role(void **state)
{
    kit_t *k = *state;
    create(k);
    kit_start(k, "move_node", "[{\"site_id\": 9}, {}]");
    kit_callback(k, NULL);
    kit_wait(k, "completed");
    kit_assert_sub(k, "site_id", "9");
    kit_assert_sub(k, "role_id", "1");
    assert_int_not_equal(kit_try_start(k, "move_node", "[{}, {}]"), 0); /* site is required */
    assert_true(kit_has_violation(k, "user_inputs[0].site_id"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(move_node_page_by_page, kit_setup, kit_teardown),
        cmocka_unit_test_setup_teardown(move_node_keeps_an_unanswered_role, kit_setup,
                                        kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
