/* The worker's side of a parallel step: one unit of work under the parent's fenced row lock
 * (so that it sees every branch that settled before it, and every branch settling after it
 * sees the parent parked: see db/migrations/0008_parallel.sql). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/metrics.h"
#include "domain/engine/join.h"

void orch_parallel_run(orch_store_t *st, const char *replica_id, orch_claim_t *c,
                       const orch_workflow_t *wf, const orch_leaf_t *leaf, const orch_process_t *p)
{
    orch_tx_t *tx = NULL;
    orch_branch_row_t *rows = NULL;
    orch_branch_run_t *runs = NULL;
    const char **create = NULL, **failed = NULL;
    size_t nrows = 0, ncreate = 0, nfailed = 0, nbranches = 0;
    bool settled = true;
    const json_t *state = orch_process_current_state(p);
    orch_outcome_t out = {0};
    orch_error_t err;
    orch_err_t rc;

    (void)wf;
    orch_error_init(&err);
    rc = st->uow->begin(st, NULL, &tx, &err);
    if (!rc)
        rc = st->engine->branch_list(st, tx, NULL, c->process_id, c->lease_token, leaf->key, &rows,
                                     &nrows, &err);
    if (rc)
        goto out;
    for (const orch_branch_def_t *b = leaf->def->branches; b->name; b++)
        nbranches++;
    create = orch_calloc(nbranches + 1, sizeof(*create));
    failed = orch_calloc(nrows + 1, sizeof(*failed));
    runs = orch_calloc(nrows + 1, sizeof(*runs));
    for (const orch_branch_def_t *b = leaf->def->branches; b->name; b++) {
        bool found = false;
        for (size_t i = 0; i < nrows && !found; i++)
            found = strcmp(rows[i].name, b->name) == 0;
        if (!found)
            create[ncreate++] = b->name;
    }
    for (size_t i = 0; i < nrows; i++) {
        if (!orch_branch_settled(rows[i].status))
            settled = false;
        else if (strcmp(rows[i].status, "completed") != 0)
            failed[nfailed++] = rows[i].name;
        runs[i] = (orch_branch_run_t){rows[i].name,  rows[i].status,        rows[i].initial,
                                      rows[i].final, rows[i].failed_reason, rows[i].failed_details};
    }
    if (ncreate || !settled || (nfailed && strcmp(c->status, "resumed") == 0)) {
        /* Start what is missing; a resumed process (bulk resume) re-runs its failed
         * branches; then wait for the join. */
        bool rerun = settled && nfailed && strcmp(c->status, "resumed") == 0;
        rc = st->engine->branch_start(st, tx, NULL, c->process_id, c->lease_token, leaf->key,
                                      create, ncreate, state, rerun ? failed : NULL,
                                      rerun ? nfailed : 0, replica_id, &err);
        if (!rc)
            rc = st->uow->commit(tx, &err);
        tx = NULL;
        if (!rc)
            orch_info("engine",
                      "process %s (%s): parallel step %s: %zu branch%s started, %zu "
                      "re-run; waiting for the join",
                      c->process_id, c->workflow, leaf->key, ncreate, ncreate == 1 ? "" : "es",
                      rerun ? nfailed : 0);
        goto out;
    }
    /* Every branch settled: the join. */
    orch_parallel_join(leaf, runs, nrows, state, p->retry_count, &out);
    {
        orch_step_commit_t cm = {
            .process_id = c->process_id,
            .lease_token = c->lease_token,
            .old_status = c->status,
            .step_key = leaf->key,
            .step_name = leaf->def->name,
            .step_status = out.step_status,
            .state = out.state,
            .delta = out.delta,
            .error = out.error,
            .start_time = c->step_started[0] ? c->step_started : NULL,
            .process_status = out.process_status,
            .runnable = out.runnable,
            .finished = out.finished,
            .next_run_delay_ms = out.next_run_delay_ms,
            .retry_count = out.retry_count,
            .executed_by = replica_id,
        };
        rc = st->engine->commit_step(st, tx, NULL, &cm, &err);
    }
    if (!rc)
        rc = st->uow->commit(tx, &err);
    tx = NULL;
    if (!rc) {
        char ml[300];
        snprintf(ml, sizeof(ml), "workflow=\"%s\",status=\"%s\"", c->workflow, out.step_status);
        orch_metrics_add("orch_steps_total", ml, 1);
        orch_info("engine", "process %s (%s): parallel step %s joined: %s -> %s", c->process_id,
                  c->workflow, leaf->key, out.step_status, out.process_status);
    }
out:
    if (rc)
        orch_info("engine", "process %s: parallel step %s not committed: %s", c->process_id,
                  leaf->key, err.message);
    st->uow->rollback(tx);
    orch_outcome_cleanup(&out);
    orch_branch_rows_free(rows, nrows);
    free(runs);
    free(create);
    free(failed);
}
