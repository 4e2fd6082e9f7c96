/* Registration of the workflows this build ships (see workflows.h), and of those the
 * embedding program adds (orchestratord-test adds the test workflows, tests/testbin/). */
#include <stdlib.h>

#include "base/alloc.h"
#include "domain/engine/engine.h"
#include "domain/products/products.h"
#include "domain/workflows/tasks.h"
#include "domain/workflows/workflows.h"

static void append(orch_wf_entry_t **out, size_t *n, const orch_wf_entry_t *e)
{
    *out = orch_realloc(*out, (*n + 1) * sizeof(**out));
    (*out)[(*n)++] = *e;
}

size_t orch_workflows_list(const orch_wf_entry_t *extra, orch_wf_entry_t **out)
{
    const orch_wf_entry_t *const shipped[] = {orch_wf_tasks_all, orch_wf_note_all};
    size_t n = 0;

    *out = NULL;
    for (size_t t = 0; t < sizeof(shipped) / sizeof(shipped[0]); t++)
        for (const orch_wf_entry_t *e = shipped[t]; e->def; e++)
            append(out, &n, e);
    /* The product modules of domain/products/ (products.h): named by their module. */
    for (const orch_product_module_t *const *m = orch_product_modules; *m; m++) {
        for (const orch_workflow_def_t *const *w = (*m)->workflows; w && *w; w++)
            append(out, &n, &(orch_wf_entry_t){*w, (*m)->name, "domain/products"});
        for (const orch_wf_entry_t *e = (*m)->entries; e && e->def; e++)
            append(out, &n, e);
    }
    for (const orch_wf_entry_t *e = extra; e && e->def; e++)
        append(out, &n, e);
    return n;
}

orch_err_t orch_workflows_register_all(orch_registry_t *r, const orch_wf_entry_t *extra,
                                       orch_error_t *err)
{
    orch_wf_entry_t *all = NULL;
    size_t n = orch_workflows_list(extra, &all);
    orch_err_t rc = ORCH_OK;
    for (size_t i = 0; !rc && i < n; i++)
        rc = orch_registry_add_entry(r, all[i], err);
    free(all);
    return rc;
}
