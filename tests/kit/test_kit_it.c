/* The test kit (orch_kit.h) on the example catalogue's workflows: a one-page create, a
 * refused answer naming its field, a two-page create answered page by page, a callback
 * delivered, an input step answered, and assertions on the audit log and the subscription
 * -- including that the kit's assertions fail when they should (expect_failure). */
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

static void create_and_modify_node(void **state)
{
    kit_t *k = *state;
    char node[64];

    kit_create(k, "create_node", "node Nokia", NODE_PAGE);
    kit_callback(k, NULL); /* the configuration push answers */
    kit_wait(k, "completed");
    kit_assert_step(k, "create_subscription", "success");
    kit_assert_step(k, "push_config", "success");
    kit_assert_step(k, "allocate.ipv4", "success");
    kit_assert_step(k, "done", "complete");
    kit_assert_sub(k, "status", "\"active\"");
    kit_assert_sub(k, "node_name", "\"ams-r1\"");
    assert_non_null(kit_state(k, "ipv4_ipam_id"));
    kit_assert_state(k, "node_name", "\"ams-r1\"");
    kit_assert_state(k, "role_id", "1");
    snprintf(node, sizeof(node), "%s", kit_subscription_id(k));

    /* modify_node runs on the kit's subscription; its push_config waits for a callback. */
    kit_start(k, "modify_node", "{\"node_name\": \"ams-r2\"}");
    kit_callback(k, "{\"pushed\": true}");
    kit_wait(k, "completed");
    kit_assert_step(k, "unsync", "success");
    kit_assert_step(k, "push_config", "success");
    kit_assert_sub(k, "node_name", "\"ams-r2\"");
    kit_assert_sub(k, "in_sync", "true");
    assert_string_equal(kit_subscription_id(k), node);
    assert_non_null(strstr(kit_steps(k), "update_node:success"));
}

static void refused_answers_name_the_field(void **state)
{
    kit_t *k = *state;
    assert_int_equal(kit_try_create(k, "create_node", "node Nokia",
                                    "{\"customer_id\": \"acme\", \"node_name\": \"x\", "
                                    "\"role_id\": \"one\", \"type_id\": 2, \"site_id\": 3}"),
                     3 /* INVALID_ARGUMENT */);
    assert_true(kit_has_violation(k, "user_inputs[0].role_id"));
    assert_non_null(strstr(kit_error(k), "INVALID_ARGUMENT"));
    assert_string_equal(kit_process_id(k), "");
}

static void two_pages_callback_and_input_step(void **state)
{
    kit_t *k = *state;
    char node[64];
    const json_t *page;

    kit_create(k, "create_node", "node Nokia", NODE_PAGE);
    kit_callback(k, NULL);
    kit_wait(k, "completed");
    snprintf(node, sizeof(node), "%s", kit_subscription_id(k));

    /* Page one only: no process yet, page two offers the node's free interfaces. */
    {
        char p1[200];
        snprintf(p1, sizeof(p1), "{\"customer_id\": \"acme\", \"node_subscription_id\": \"%s\"}",
                 node);
        kit_create(k, "create_port", "port 10G", p1);
    }
    page = kit_page(k);
    assert_non_null(page);
    assert_non_null(json_object_get(json_object_get(page, "properties"), "port_name"));
    assert_string_equal(kit_process_id(k), "");
    assert_int_not_equal(kit_try_answer_page(k, "{\"port_name\": \"9/9/9\"}"), 0);
    assert_true(kit_has_violation(k, "user_inputs[1].port_name"));
    kit_answer_page(k, "{\"port_name\": \"1/1/3\"}");
    assert_string_not_equal(kit_process_id(k), "");
    kit_callback(k, NULL);
    kit_wait(k, "completed");
    kit_assert_sub(k, "port_name", "\"1/1/3\"");
    kit_assert_sub(k, "node.node_name", "\"ams-r1\"");

    /* terminate_port suspends on its input step until a person confirms. */
    kit_start(k, "terminate_port", NULL);
    kit_wait(k, "suspended");
    kit_assert_step(k, "confirm_removal", "suspend");
    assert_non_null(json_object_get(json_object_get(kit_page(k), "properties"), "ticket"));
    assert_int_not_equal(kit_try_answer_page(k, "{\"cable_removed\": \"yes\", \"ticket\": \"x\"}"),
                         0);
    kit_answer_page(k, "{\"cable_removed\": \"yes\", \"ticket\": \"CHG-1\"}");
    kit_wait(k, "completed");
    kit_assert_step(k, "confirm_removal", "success");
    kit_assert_sub(k, "status", "\"terminated\"");
}

/* The kit's assertions are not empty: each one fails on a wrong expectation. */
static kit_t *shared;
static void wrong_step_status(void **state)
{
    (void)state;
    kit_assert_step(shared, "create_subscription", "failed");
}
static void wrong_field(void **state)
{
    (void)state;
    kit_assert_sub(shared, "node_name", "\"other\"");
}
static void wrong_wait(void **state)
{
    (void)state;
    kit_wait(shared, "suspended");
}
static void unknown_step(void **state)
{
    (void)state;
    kit_assert_step(shared, "no_such_step", "success");
}
static void wrong_state(void **state)
{
    (void)state;
    kit_assert_state(shared, "role_id", "2");
}

static void assertions_fail(void **state)
{
    const struct CMUnitTest inner[] = {
        cmocka_unit_test(wrong_step_status), cmocka_unit_test(wrong_field),
        cmocka_unit_test(wrong_wait),        cmocka_unit_test(unknown_step),
        cmocka_unit_test(wrong_state),
    };
    shared = *state;
    kit_create(shared, "create_node", "node Nokia", NODE_PAGE);
    kit_callback(shared, NULL);
    kit_wait(shared, "completed");
    /* Every inner test must fail: the group's result is the number of failures. */
    assert_int_equal(
        _cmocka_run_group_tests("kit assertions (each is expected to fail)", inner, 5, NULL, NULL),
        5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_and_modify_node, kit_setup, kit_teardown),
        cmocka_unit_test_setup_teardown(refused_answers_name_the_field, kit_setup, kit_teardown),
        cmocka_unit_test_setup_teardown(two_pages_callback_and_input_step, kit_setup, kit_teardown),
        cmocka_unit_test_setup_teardown(assertions_fail, kit_setup, kit_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
