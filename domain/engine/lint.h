/* Start-up checks of the workflows and products this build ships: mistakes an author makes
 * are found before the server serves anything, each named by the C symbol that holds it.
 *
 *     orch_lint_report_t rep;
 *     orch_lint(entries, n, catalog, &rep);
 *     for (size_t i = 0; i < rep.n; i++)
 *         log one line: orch_lint_format(&rep.items[i]) ...
 *     refuse to start when rep.nerrors > 0;
 *     orch_lint_report_cleanup(&rep);
 *
 * Pure: no store, no logging, no globals; the catalogue is only read. What is checked (the
 * check ids, documented in docs/CHECKS.md):
 *   step-key-missing, step-key-duplicate   a step without a key; a key used twice (also with
 *                                          the standard steps of a lifecycle)
 *   workflow-invalid                       anything else orch_registry_add refuses (no step
 *                                          function, no final done step, registered twice...)
 *   io-unknown-step                        reads/writes declared for a step that is not there
 *   state-key-unwritten                    a step reads a state key that no earlier step, form
 *                                          or start input writes (only where every earlier
 *                                          step declares its writes)
 *   form-field-unread                      a form field that no later step reads (only where
 *                                          every later step declares its reads)
 *   workflow-unknown-product               .product_type names no product type of the catalogue
 *   workflow-unknown-block                 .blocks names a block the catalogue lacks
 *   product-missing-workflow               a product without a create, modify, terminate or
 *                                          validate workflow
 *   product-unknown-workflow               a product lists a workflow that is not registered
 *   product-workflow-mismatch              ... whose target or product type is another
 *   workflow-unoffered (warning)           a lifecycle workflow no product lists
 * Catalogue drift against the database is checked by the store's st->catalog->sync, whose message
 * names the block's symbol the same way. */
#ifndef ORCH_LINT_H
#define ORCH_LINT_H

#include <stddef.h>

#include "domain/catalog/catalog.h"
#include "domain/engine/engine.h"

typedef enum {
    ORCH_LINT_WARNING = 1, /* logged; the server starts */
    ORCH_LINT_ERROR = 2,   /* the server refuses to start */
} orch_lint_severity_t;

typedef struct orch_lint_problem {
    orch_lint_severity_t severity;
    const char *check; /* the check's id, e.g. "step-key-duplicate" (static) */
    char *symbol;      /* the C symbol, e.g. "orch_wf_create_node", "products[4]" (owned) */
    char *file;        /* source path relative to the repository, or "" (owned) */
    char *message;     /* one sentence for the author (owned) */
} orch_lint_problem_t;

typedef struct orch_lint_report {
    orch_lint_problem_t *items; /* owned; in the order found */
    size_t n, nerrors, nwarnings;
} orch_lint_report_t;

/* Checks the workflow definitions wfs[0..n) and, when cat is not NULL, the catalogue's
 * products against them. cat must be validated (orch_catalog_validate). Fills *out (caller
 * cleans up with orch_lint_report_cleanup); never fails. */
void orch_lint(const orch_wf_entry_t *wfs, size_t n, orch_catalog_t *cat, orch_lint_report_t *out);
void orch_lint_report_cleanup(orch_lint_report_t *r);

/* One log line: "<symbol> (<file>): <message> [<check>]". Caller frees. */
char *orch_lint_format(const orch_lint_problem_t *p);

/* __FILE__ relative to the repository ("domain/products/node/workflows.c"); other paths unchanged.
 * Borrowed from file. */
const char *orch_lint_source_path(const char *file);

#endif
