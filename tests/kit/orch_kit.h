/* The test kit for workflow authors (docs/AUTHORING.md): run a workflow of this build
 * against a throwaway database, answer its form pages, deliver its callbacks and assert on
 * the process's audit log and the subscription, a few lines per test:
 *
 *     static void create_then_modify(void **state)
 *     {
 *         kit_t *k = *state;
 *         kit_create(k, "create_firewall", "firewall 10G", "{\"customer_id\": \"acme\"}");
 *         kit_answer_page(k, "{\"rule_set\": \"strict\"}");   // the form's second page
 *         kit_wait(k, "completed");
 *         kit_assert_step(k, "create_subscription", "success");
 *         kit_assert_sub(k, "status", "\"active\"");
 *         kit_assert_sub(k, "rule_set", "\"strict\"");
 *
 *         kit_start(k, "modify_firewall", "[{...}, {...}]");  // on the subscription above
 *         kit_wait(k, "suspended");                            // its input step
 *         kit_answer_page(k, "{\"confirmed\": true}");
 *         kit_wait(k, "completed");
 *     }
 *     int main(void)
 *     {
 *         const struct CMUnitTest tests[] = {
 *             cmocka_unit_test_setup_teardown(create_then_modify, kit_setup, kit_teardown),
 *         };
 *         return cmocka_run_group_tests(tests, NULL, NULL);
 *     }
 *
 * How: kit_setup creates a database on the test command's PostgreSQL cluster
 * (ORCH_TEST_PGHOST / ORCH_TEST_PGPORT / ORCH_TEST_PGUSER), starts the real orchestratord
 * of this build on it (posix_spawn; tests/integration/harness.h) with the simulated external
 * systems writing callback tokens into a private directory, and talks to it over gRPC like
 * any client. So a test sees exactly what production does: the catalogue sync, the forms,
 * the lifecycle wrappers, the commits of every step. kit_teardown stops the server (a
 * non-zero exit fails the test) and drops the database.
 *
 * Every kit_* call that goes wrong fails the test with a sentence naming the workflow, the
 * process, its last step and its error; nothing here skips. JSON arguments are text: a page
 * is an object, several pages an array of objects. Returned strings and JSON values are
 * borrowed from the kit and valid until the next kit call. */
#ifndef ORCH_KIT_H
#define ORCH_KIT_H

#include <jansson.h>
#include <stdbool.h>

#include "harness.h"

typedef struct kit kit_t;

/* A server on a fresh database. extra_args: NULL-terminated server flags, or NULL. */
kit_t *kit_new(const char *const *extra_args);
/* Stops the server (fails the test unless it exits 0), drops the database, frees k. */
void kit_free(kit_t *k);
/* cmocka setup / teardown: *state = kit_new(NULL) / kit_free(*state). */
int kit_setup(void **state);
int kit_teardown(void **state);
/* The server (its channel, address, database) for calls the kit does not wrap. */
harness_server_t *kit_server(kit_t *k);

/* ---- starting ------------------------------------------------------------------------------ */

/* Starts a create workflow for the product named product with the answers given so far.
 * Fewer pages than the form has: no process yet; kit_page() is the next page and
 * kit_answer_page() answers it. Refused answers fail the test (see kit_try_create). */
void kit_create(kit_t *k, const char *workflow, const char *product, const char *pages);
/* Starts a workflow on the kit's subscription (the one the last create made, or the one set
 * with kit_use_subscription), or a task when there is none. */
void kit_start(kit_t *k, const char *workflow, const char *pages);
/* Starts a task (or any workflow) with neither product nor subscription. */
void kit_start_task(kit_t *k, const char *workflow, const char *pages);
/* The same, but a refusal is returned (the gRPC status code, 0 = OK) instead of failing:
 * kit_error() / kit_has_violation() tell what was wrong. product NULL = kit_start. */
int kit_try_create(kit_t *k, const char *workflow, const char *product, const char *pages);
int kit_try_start(kit_t *k, const char *workflow, const char *pages);
/* The last refusal: "INVALID_ARGUMENT: user_inputs[1].rule_set: ...". */
const char *kit_error(const kit_t *k);
/* Did the last refusal name this field ("user_inputs[0].name")? */
bool kit_has_violation(const kit_t *k, const char *field);

/* The form page the kit waits to have answered (a start's next page, or the page of the
 * input step the process is suspended on), as JSON Schema; NULL when none. */
const json_t *kit_page(kit_t *k);
/* Answers it: a start sends every page so far again with this one; a suspended process is
 * resumed with it (several pages of an input step: one call per page). */
void kit_answer_page(kit_t *k, const char *page);
/* The same, expecting a refusal; returns its status code (0 = accepted). */
int kit_try_answer_page(kit_t *k, const char *page);

/* ---- running ------------------------------------------------------------------------------- */

/* Waits (30 s) for the process to reach status: "completed", "suspended",
 * "awaiting_callback", "failed", "aborted", "waiting", ... A process that stops in another
 * status fails the test at once, naming its last step and error. */
void kit_wait(kit_t *k, const char *status);
/* Waits for the process to await a callback and delivers result (a JSON object, NULL = {})
 * with the token the simulated external system got (authoring.h orch_step_sim_callback). */
void kit_callback(kit_t *k, const char *result);
/* The directory the simulated external systems write callback tokens to
 * (<dir>/<process_id>.<step_key>), for tests that deliver callbacks themselves. */
const char *kit_callback_dir(const kit_t *k);
/* The process's id ("" before one started). */
const char *kit_process_id(const kit_t *k);
/* Adopts a process started elsewhere (orchctl, another client). */
void kit_use_process(kit_t *k, const char *process_id);

/* ---- asserting ----------------------------------------------------------------------------- */

/* The process as GetProcess (FULL view) returns it, as JSON: "status", "steps" (the audit
 * log, then pending steps: "key", "status", "state_delta", "error"...), "current_state". */
const json_t *kit_process(kit_t *k);
/* A step's last status in the audit log ("success", "skipped", "suspend", "failed",
 * "complete", "pending", ...), or NULL when the workflow has no such step. */
const char *kit_step_status(kit_t *k, const char *key);
void kit_assert_step(kit_t *k, const char *key, const char *status);
/* The audit log in one line, "key:status key:status ...", for messages and exact checks. */
const char *kit_steps(kit_t *k);
/* The process state's value at key (NULL when absent), and its string form. */
const json_t *kit_state(kit_t *k, const char *key);
const char *kit_state_str(kit_t *k, const char *key);
/* Asserts the state's value at key equals expected (JSON text; numbers compare as numbers:
 * they cross the wire as doubles). */
void kit_assert_state(kit_t *k, const char *key, const char *expected);

/* The subscription (GetSubscription FULL view) as JSON; its id. */
const json_t *kit_subscription(kit_t *k);
const char *kit_subscription_id(const kit_t *k);
void kit_use_subscription(kit_t *k, const char *subscription_id);
/* A subscription value by path: a top-level member ("status", "in_sync", "customer_id",
 * "description", "note") or a field of its tree ("rule_set", "ports[1].port_name"). NULL
 * when there is none. */
const json_t *kit_sub_get(kit_t *k, const char *path);
/* Asserts kit_sub_get(path) equals expected (JSON text: "\"active\"", "5000", "true"). */
void kit_assert_sub(kit_t *k, const char *path, const char *expected);

#endif
