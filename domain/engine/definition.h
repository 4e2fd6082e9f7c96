/* Workflows as data: a definition written as JSON (RegisterWorkflow, `orchctl workflow
 * register`, docs/WORKFLOWS-AS-DATA.md) compiled into the engine's in-memory workflow, the
 * same orch_workflow_def_t a C author writes, so the registry, the runner and the start-up
 * checks treat both alike:
 *
 *     {"name": "modify_node_note", "target": "modify", "products": ["Node"],
 *      "form": {"type": "object", "properties": {"note": {"type": "string"}}},
 *      "steps": [
 *        {"key": "push", "name": "Push the note", "kind": "task", "task_type": "net.push",
 *         "retry": {"max_attempts": 3, "backoff_ms": 500}, "reads": ["note"]},
 *        {"key": "save", "kind": "set_fields", "fields": {"note": "note"}}]}
 *
 * Step kinds: "task" (a step worker of task_type does it: a remote step), "input" (suspends
 * with "form", a JSON Schema), "callback" (waits for DeliverCallback), "parallel"
 * ("branches": [{"name", "steps"}]), "done", "abort", and the built-in steps "set" (merges
 * "values" into the state), "create_subscription" (of the product in state.product_id,
 * "fields" set from the state), "set_fields" ("fields": {"<subscription path>": "<state
 * key>"}), "set_status" ("status": "active"...), "unsync", "resync". "when": {"field",
 * "equals"?} makes a built-in step conditional on a state field, "retry" gives it a retry
 * policy. The target's standard steps (unsync ... resync, done) are wrapped around the list as
 * for a C workflow unless "standard_steps" is false.
 *
 * Pure domain: jansson and the engine, no store. */
#ifndef ORCH_ENGINE_DEFINITION_H
#define ORCH_ENGINE_DEFINITION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "domain/catalog/catalog.h"
#include "domain/engine/engine.h"

/* A compiled definition: owns the workflow it holds and everything that points into. */
typedef struct orch_definition orch_definition_t;

/* Compiles def as version of its workflow. cat: products are looked up in it (NULL = not
 * checked). Every mistake found, the start-up checks' (domain/engine/lint.h) included, is one
 * violation of an INVALID_ARGUMENT WORKFLOW_DEFINITION_INVALID error, named by its path under
 * field_prefix ("definition" gives "definition.steps[2].task_type"). *out: caller frees with
 * orch_definition_free; NULL on error. */
orch_err_t orch_definition_compile(const json_t *def, int version, orch_catalog_t *cat,
                                   const char *field_prefix, orch_definition_t **out,
                                   orch_error_t *err);
void orch_definition_free(orch_definition_t *d); /* NULL ok */

/* Borrowed for d's life. */
const orch_workflow_def_t *orch_definition_workflow(const orch_definition_t *d);
/* The definition as stored: canonical JSON text (keys sorted, compact) and its digest
 * (64-bit FNV-1a, hex). Equal texts = identical definitions. Borrowed for d's life. */
const char *orch_definition_text(const orch_definition_t *d);
const char *orch_definition_digest(const orch_definition_t *d);
/* Names of the products that offer it (borrowed for d's life); n: how many. */
const char *const *orch_definition_products(const orch_definition_t *d, size_t *n);

/* The canonical text of a definition (caller frees) and its digest (17 bytes). */
char *orch_definition_canonical(const json_t *def, char digest[17]);

/* Adds a violation for every step key of next whose kind differs from its kind in prev (a
 * stored definition of the same workflow): a key names one step for ever, as in C
 * workflows. Returns how many. */
size_t orch_definition_check_kinds(const json_t *prev, const json_t *next, const char *field_prefix,
                                   orch_error_t *err);

/* Makes the products of d offer its workflow (in memory: what StartProcess and
 * GetSubscription read), once per workflow name. The product records that this changes are
 * owned by d from then on: keep d until the catalogue is freed. */
void orch_definition_offer(orch_definition_t *d, orch_catalog_t *cat);

#endif
