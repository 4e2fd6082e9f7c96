/* orchctl end to end: the real binary against the real orchestratord on a fresh database.
 * Tables and JSON, exit codes (0 ok, 2 usage, 3 not found, 4 refused), --help at every level,
 * and docs/ORCHCTL.md holding exactly the reference that 'orchctl help --markdown' prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static harness_server_t srv;
static char out[1 << 18];

static int setup(void **state)
{
    (void)state;
    setenv("ORCH_TEST_WORKFLOWS", "1", 1); /* test_remote */
    harness_server_start(&srv, NULL, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(harness_server_stop(&srv), 0);
    harness_db_drop(srv.dbname);
    return 0;
}

/* Runs orchctl --server ADDR --timeout 20 ARGS... (NULL-terminated); output in out. */
static int run(const char *first, ...)
{
    const char *argv[32];
    size_t n = 0;
    va_list ap;
    argv[n++] = harness_orchctl_bin();
    argv[n++] = "--server";
    argv[n++] = srv.addr[0] ? srv.addr : "127.0.0.1:1"; /* tests without a server */
    argv[n++] = "--timeout";
    argv[n++] = "20";
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        assert_true(n < 31);
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    return harness_run(argv, out, sizeof(out));
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (*s == '\n')
            n++;
    return n;
}

static void products_list_get_update(void **state)
{
    (void)state;
    assert_int_equal(run("product", "list", NULL), 0);
    assert_true(strncmp(out, "NAME", 4) == 0);
    assert_non_null(strstr(out, "node Cisco"));

    assert_int_equal(run("--json", "product", "get", "node Cisco", NULL), 0);
    assert_int_equal(out[0], '{');
    assert_non_null(strstr(out, "\"root_product_block\": \"NodeBlock\""));

    assert_int_equal(
        run("product", "update", "node Cisco", "--description", "Cisco, as updated", NULL), 0);
    assert_non_null(strstr(out, "Cisco, as updated"));
    assert_int_equal(
        run("--json", "product", "update", "node Cisco", "--status", "phase-out", NULL), 0);
    assert_non_null(strstr(out, "\"status\": \"phase_out\""));
    assert_int_equal(run("product", "get", "node Cisco", NULL), 0);
    assert_non_null(strstr(out, "phase_out"));
    assert_non_null(strstr(out, "Cisco, as updated"));

    /* Exit codes: usage 2 (nothing to change, bad status), not found 3, refused 4. */
    assert_int_equal(run("product", "update", "node Cisco", NULL), 2);
    assert_int_equal(run("product", "update", "node Cisco", "--status", "retired", NULL), 2);
    assert_non_null(strstr(out, "end_of_life"));
    assert_int_equal(run("product", "update", "node Juniper", "--status", "active", NULL), 3);
    assert_non_null(strstr(out, "NOT_FOUND"));
    assert_int_equal(run("product", "update", "node Cisco", "--status", "active", "--request-id",
                         "not-a-uuid", NULL),
                     4);
    assert_non_null(strstr(out, "request_id"));

    assert_int_equal(run("product-block", "get", "NodeBlock", NULL), 0);
    assert_non_null(strstr(out, "NodeBlock"));
    assert_int_equal(run("resource-type", "list", NULL), 0);
    assert_true(strncmp(out, "RESOURCE TYPE", 13) == 0);
}

static void subscriptions_on_an_empty_database(void **state)
{
    (void)state;
    assert_int_equal(run("subscription", "list", NULL), 0);
    assert_true(strncmp(out, "ID  PRODUCT", 11) == 0);
    assert_int_equal(count_lines(out), 1); /* the header only */

    assert_int_equal(run("--json", "subscription", "list", "--filter", "in_sync = false", NULL), 0);
    assert_string_equal(out, "[]\n");

    assert_int_equal(run("subscription", "get", "00000000-0000-4000-8000-000000000000", NULL), 3);
    assert_non_null(strstr(out, "NOT_FOUND"));
    assert_non_null(strstr(out, "SUBSCRIPTION_NOT_FOUND"));

    /* A malformed id: refused, with the field named. */
    assert_int_equal(run("subscription", "get", "not-an-id", NULL), 4);
    assert_non_null(strstr(out, "INVALID_ARGUMENT"));
    assert_non_null(strstr(out, "subscription_id"));

    assert_int_equal(run("subscription", "get", "00000000-0000-4000-8000-000000000000", "--view",
                         "sideways", NULL),
                     2);
    assert_int_equal(run("subscription", "metadata", "00000000-0000-4000-8000-000000000000",
                         "--set", "{not json", NULL),
                     2);
    assert_int_equal(run("subscription", "description", "get",
                         "00000000-0000-4000-8000-000000000000", "acme", NULL),
                     3);
}

static void help_at_every_level_and_usage_errors(void **state)
{
    (void)state;
    assert_int_equal(run("--help", NULL), 0);
    assert_non_null(strstr(out, "subscription workflows"));
    assert_non_null(strstr(out, "Exit codes"));
    assert_int_equal(run("subscription", "--help", NULL), 0);
    assert_non_null(strstr(out, "set-in-sync"));
    assert_int_equal(run("subscription", "get", "--help", NULL), 0);
    assert_non_null(strstr(out, "--view"));
    assert_int_equal(run("subscription", "description", "set", "--help", NULL), 0);
    assert_non_null(strstr(out, "CUSTOMER TEXT"));
    assert_int_equal(run("process", "start", "-h", NULL), 0);
    assert_non_null(strstr(out, "--input PAGE.json..."));
    assert_int_equal(run("help", "engine", "pause", NULL), 0);
    assert_non_null(strstr(out, "Usage: orchctl engine pause"));

    assert_int_equal(run("subscription", "frobnicate", NULL), 2);
    assert_non_null(strstr(out, "unknown verb"));
    assert_int_equal(run("process", NULL), 2);
    assert_int_equal(run("subscription", "get", NULL), 2);
    assert_int_equal(run("process", "list", "--bogus", NULL), 2);
    assert_int_equal(run("process", "note", "a", "b", "c", NULL), 2);
}

/* docs/ORCHCTL.md holds the generated reference verbatim, so it cannot drift from --help. */
static void docs_match_the_generated_reference(void **state)
{
    static char doc[1 << 18];
    char path[1024];
    (void)state;
    assert_int_equal(run("help", "--markdown", NULL), 0);
    assert_non_null(strstr(out, "<!-- BEGIN GENERATED"));
    assert_non_null(strstr(out, "### orchctl process watch"));

    snprintf(path, sizeof(path), "%s", __FILE__);
    char *slash = strrchr(path, '/');
    assert_non_null(slash);
    snprintf(slash, sizeof(path) - (size_t)(slash - path), "/../../docs/ORCHCTL.md");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[n] = '\0';
    if (!strstr(doc, out))
        fail_msg("docs/ORCHCTL.md does not hold the output of 'orchctl help --markdown'; "
                 "regenerate it with: cmake --build build --target orchctl-docs");
}

static void processes_and_unimplemented(void **state)
{
    (void)state;
    /* ProcessService is registered: an empty list is a header. */
    int rc = run("process", "list", "--filter", "status = \"failed\"", NULL);
    assert_int_equal(rc, 0);
    assert_true(strncmp(out, "ID  WORKFLOW  STATUS", 20) == 0);
    assert_int_equal(run("--json", "process", "list", NULL), 0);
    assert_string_equal(out, "[]\n");
    assert_int_equal(run("process", "get", "00000000-0000-4000-8000-000000000000", NULL), 3);
    assert_int_equal(run("process", "start", "create_node", "--input", "/nonexistent.json", NULL),
                     2);

    /* Admin actions are audited: the pause and the resume, newest first. */
    assert_int_equal(run("engine", "pause", NULL), 0);
    assert_int_equal(run("engine", "resume", NULL), 0);
    assert_int_equal(run("engine", "audit", NULL), 0);
    assert_true(strncmp(out, "ID  TIME", 8) == 0);
    assert_non_null(strstr(out, "ResumeEngine"));
    assert_true(strstr(out, "ResumeEngine") < strstr(out, "PauseEngine"));
    assert_int_equal(run("--json", "engine", "audit", "--method", "PauseEngine", NULL), 0);
    assert_non_null(strstr(out, "\"method\": \"PauseEngine\""));
    assert_null(strstr(out, "ResumeEngine"));

    /* test_remote waits for a step worker there is none of; abort answers {process, outcome}. */
    assert_int_equal(run("process", "start", "test_remote", NULL), 0);
    char id[37] = "";
    assert_int_equal(sscanf(out, "Process %36s started", id), 1);
    assert_int_equal(run("process", "abort", id, NULL), 0);
    char want[128];
    snprintf(want, sizeof(want), "Process %s aborted: aborted\n", id);
    assert_string_equal(out, want);

    /* An RPC the server may not implement yet is a refusal in words, or works. */
    rc = run("schedule", "list", NULL);
    if (rc != 0) {
        assert_int_equal(rc, 4);
        assert_non_null(
            strstr(out, "does not implement orchestrator.v1.EngineService/ListSchedules"));
    }
}

/* Writes an executable shell script (a stand-in for Graphviz dot) into dir/name. */
static void write_script(const char *dir, const char *name, const char *body, char *path,
                         size_t cap)
{
    FILE *f;
    snprintf(path, cap, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s", body);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
}

/* True when a program named name is on the PATH. */
static bool on_path(const char *name)
{
    const char *path = getenv("PATH");
    char dir[1024], file[1200];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(dir, sizeof(dir), "%.*s", (int)n, path);
        snprintf(file, sizeof(file), "%s/%s", *dir ? dir : ".", name);
        if (access(file, X_OK) == 0)
            return true;
        path += n + (path[n] == ':');
    }
    return false;
}

/* The picture of a workflow: DOT with the input and callback points, the conditional's
 * skip and the group as a cluster; SVG through Graphviz dot (or a clear error without it). */
static void workflow_graph_dot_and_svg(void **state)
{
    static char file[1 << 16];
    char dir[] = "/tmp/orch-graph-XXXXXX", svg[256], fake[512], failing[512];
    FILE *f;
    size_t n;
    (void)state;
    assert_non_null(mkdtemp(dir));
    unsetenv("ORCH_DOT");

    assert_int_equal(run("workflow", "graph", "create_node", "--dot", NULL), 0);
    assert_true(strncmp(out, "digraph \"create_node\" {", 22) == 0);
    assert_non_null(strstr(out, "label=\"create_node v2\""));
    /* The conditional: a diamond with its condition, entered when it holds, skipped (dashed)
     * when it does not. */
    assert_non_null(strstr(out, "\"allocate.ipv6\" [shape=diamond, label=\"Allocate the IPv6 "
                                "loopback\\n(conditional)\\nif state.ipv6 != false\"];"));
    assert_non_null(strstr(out, "\"allocate.ipv4\" -> \"allocate.ipv6\" [label=\"condition "
                                "true\"];"));
    assert_non_null(strstr(out, "\"allocate.ipv4\" -> \"save_ids\" [label="
                                "\"condition false: skipped\", style=dashed];"));
    /* The group: a cluster, left from its last step. */
    assert_non_null(strstr(out, "subgraph cluster_0 {\n    style=dashed; label=\"group Allocate "
                                "inventory and addresses\";"));
    assert_non_null(strstr(out, "\"allocate.ipv6\" -> \"save_ids\";"));
    assert_null(strstr(out, "\"allocate\" -> \"save_ids\""));
    /* The configuration push of version 2 waits for an external system. */
    assert_non_null(strstr(out, "\"push_config\" [shape=hexagon"));
    assert_non_null(strstr(out, "\"done\" [shape=doublecircle"));

    /* An input point and a callback point stand out. */
    assert_int_equal(run("workflow", "graph", "terminate_port", "--dot", NULL), 0);
    assert_non_null(strstr(out, "\"confirm_removal\" [shape=parallelogram, style=filled, "
                                "fillcolor=\"#fff2a8\", label=\"Confirm the cable is removed\\n"
                                "(INPUT: waits for a person to answer a form)\"];"));
    assert_non_null(strstr(out, "\"shut_port\" -> \"confirm_removal\";"));
    assert_int_equal(run("workflow", "graph", "modify_node", "--dot", NULL), 0);
    assert_non_null(strstr(out, "\"push_config\" [shape=hexagon, style=filled, "
                                "fillcolor=\"#cfe2ff\", label=\"Push the node configuration\\n"
                                "(CALLBACK: waits for an external system)\"];"));
    assert_non_null(strstr(out, "\"push_config\" -> \"resync\";"));

    /* SVG: the DOT text goes through a pipe into dot -Tsvg -o FILE. A stand-in dot checks
     * its arguments and wraps what it read. */
    write_script(dir, "fake-dot",
                 "[ \"$1\" = -Tsvg ] || exit 9\n"
                 "if [ \"$2\" = -o ]; then exec > \"$3\"; fi\n"
                 "echo '<svg>'; cat; echo '</svg>'\n",
                 fake, sizeof(fake));
    write_script(dir, "failing-dot", "cat > /dev/null; echo 'dot: syntax error' >&2; exit 3\n",
                 failing, sizeof(failing));
    snprintf(svg, sizeof(svg), "%s/create_node.svg", dir);
    setenv("ORCH_DOT", fake, 1);
    assert_int_equal(run("workflow", "graph", "create_node", "--svg", svg, NULL), 0);
    f = fopen(svg, "r");
    assert_non_null(f);
    n = fread(file, 1, sizeof(file) - 1, f);
    fclose(f);
    file[n] = '\0';
    assert_true(strncmp(file, "<svg>\ndigraph \"create_node\" {", 28) == 0);
    assert_non_null(strstr(file, "shape=diamond"));
    assert_non_null(strstr(file, "}\n</svg>\n"));
    assert_int_equal(run("workflow", "graph", "create_node", "--svg", "-", NULL), 0);
    assert_true(strncmp(out, "<svg>\ndigraph", 13) == 0);
    /* dot fails: said so, exit 1. */
    setenv("ORCH_DOT", failing, 1);
    assert_int_equal(run("workflow", "graph", "create_node", "--svg", svg, NULL), 1);
    assert_non_null(strstr(out, "error: cannot draw the SVG: '"));
    assert_non_null(strstr(out, "failed (exit status 3)"));
    /* dot missing: a clear error, nothing written. */
    unlink(svg);
    setenv("ORCH_DOT", "orch-no-such-dot-program", 1);
    assert_int_equal(run("workflow", "graph", "create_node", "--svg", svg, NULL), 1);
    assert_non_null(strstr(out, "error: cannot draw the SVG: Graphviz is not installed "
                                "('orch-no-such-dot-program' is not on the PATH)"));
    assert_non_null(strstr(out, "apt-get install graphviz"));
    assert_int_equal(access(svg, F_OK), -1);
    unsetenv("ORCH_DOT");

    /* The real dot, when this machine has Graphviz; its absence said in words otherwise. */
    if (on_path("dot")) {
        assert_int_equal(run("workflow", "graph", "create_node", "--svg", svg, NULL), 0);
        f = fopen(svg, "r");
        assert_non_null(f);
        n = fread(file, 1, sizeof(file) - 1, f);
        fclose(f);
        file[n] = '\0';
        assert_non_null(strstr(file, "<svg"));
        assert_non_null(strstr(file, "Allocate the IPv6 loopback"));
    } else {
        print_message("Graphviz dot is not installed: checking its absence is reported\n");
        assert_int_equal(run("workflow", "graph", "create_node", "--svg", svg, NULL), 1);
        assert_non_null(strstr(out, "Graphviz is not installed ('dot' is not on the PATH)"));
    }

    /* Usage: --svg needs a name; an unknown workflow is NOT_FOUND (3). */
    assert_int_equal(run("workflow", "graph", "create_node", "--svg", "", NULL), 2);
    assert_int_equal(run("workflow", "graph", "no_such_workflow", "--dot", NULL), 3);
    unlink(svg);
    unlink(fake);
    unlink(failing);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(products_list_get_update, setup, teardown),
        cmocka_unit_test_setup_teardown(subscriptions_on_an_empty_database, setup, teardown),
        cmocka_unit_test_setup_teardown(processes_and_unimplemented, setup, teardown),
        cmocka_unit_test_setup_teardown(workflow_graph_dot_and_svg, setup, teardown),
        cmocka_unit_test(help_at_every_level_and_usage_errors),
        cmocka_unit_test(docs_match_the_generated_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
