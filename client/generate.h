/* `orchctl generate product SPEC.json`: writes a product module from a JSON design
 * (docs/AUTHORING.md, "The generator"): the catalogue (blocks, fields, fixed inputs,
 * products), the four lifecycle workflows with their forms, a test through the test kit, and
 * a migration only when the design has its own tables.
 *
 * Files and who owns them (re-running never overwrites hand-written code):
 *   domain/products/NAME/catalog.c   generated: rewritten on every run while its first line
 *                                    says GENERATED; delete that line to own it
 *   domain/products/NAME/workflows.c yours: written once, when absent
 *   tests/products/test_NAME_it.c    yours: written once, when absent
 *   db/migrations/NNNN_NAME.sql      yours: written once, when the spec has "migration" and
 *                                    no *_NAME.sql exists
 * No shared file is edited: the build finds domain/products/NAME/ and tests/products/. */
#ifndef CLI_GENERATE_H
#define CLI_GENERATE_H

#include <stdbool.h>
#include <stdio.h>

/* Generates from the spec file into the repository at root. Reports each file on out
 * ("created", "regenerated", "unchanged", "kept") and problems on err, each naming the spec
 * member ("blocks[0].fields[2].type: ..."). dry_run: report only. Returns 0, 2 for a bad
 * spec or root, 1 for a write error. */
int cli_generate_product(const char *spec_path, const char *root, bool dry_run, FILE *out,
                         FILE *err);

#endif
