/* Freeing the process records the store fills (domain/process.h). */
#include <stdlib.h>
#include <string.h>

#include "domain/ids.h"
#include "domain/process.h"

static void step_cleanup(orch_process_step_t *s)
{
    free(s->key);
    free(s->name);
    free(s->status);
    free(s->executed_by);
    free(s->branch);
    json_decref(s->state);
    json_decref(s->delta);
    json_decref(s->error);
}

void orch_process_free(orch_process_t *p)
{
    if (!p)
        return;
    free(p->workflow_name);
    free(p->target);
    free(p->status);
    free(p->last_step);
    free(p->last_step_key);
    free(p->assignee);
    free(p->created_by);
    free(p->note);
    free(p->failed_reason);
    free(p->customer_id);
    json_decref(p->failed_details);
    json_decref(p->initial_state);
    for (size_t i = 0; i < p->nsubscriptions; i++)
        free(p->subscription_ids[i]);
    free(p->subscription_ids);
    for (size_t i = 0; i < p->nsteps; i++)
        step_cleanup(&p->steps[i]);
    free(p->steps);
    for (size_t i = 0; i < p->nbranch_steps; i++)
        step_cleanup(&p->branch_steps[i]);
    free(p->branch_steps);
    free(p->branch_key);
    free(p);
}

void orch_branch_rows_free(orch_branch_row_t *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].name);
        free(rows[i].status);
        json_decref(rows[i].initial);
        json_decref(rows[i].final);
        free(rows[i].failed_reason);
        json_decref(rows[i].failed_details);
    }
    free(rows);
}

orch_err_t orch_process_id_check(const char *id, orch_error_t *err)
{
    if (!id || !*id)
        return orch_error_invalid(err, "process_id", "a process id is required");
    return orch_uuid_check(id, "process_id", err);
}

const json_t *orch_process_current_state(const orch_process_t *p)
{
    if (p->nsteps)
        return p->steps[p->nsteps - 1].state;
    return p->initial_state;
}

void orch_process_page_cleanup(orch_process_page_t *pg)
{
    for (size_t i = 0; i < pg->n; i++)
        orch_process_free(pg->items[i]);
    free(pg->items);
    free(pg->next_token);
    memset(pg, 0, sizeof(*pg));
}

void orch_wf_info_free(orch_wf_info_t *w)
{
    if (!w)
        return;
    free(w->name);
    free(w->description);
    free(w->target);
    for (size_t i = 0; i < w->nversions; i++)
        free(w->versions[i].steps_json);
    free(w->versions);
    for (size_t i = 0; i < w->nproducts; i++) {
        free(w->products[i].name);
        free(w->products[i].product_type);
        free(w->products[i].tag);
    }
    free(w->products);
    free(w);
}

void orch_admin_actions_free(orch_admin_action_t *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].actor_kind);
        free(a[i].actor_name);
        free(a[i].method);
        free(a[i].target);
        free(a[i].request_id);
    }
    free(a);
}

void orch_claim_cleanup(orch_claim_t *c)
{
    if (!c)
        return;
    json_decref(c->state);
    for (size_t i = 0; i < c->ndone; i++)
        free(c->done[i]);
    free(c->done);
    free(c->branch_key);
    c->state = NULL;
    c->done = NULL;
    c->ndone = 0;
    c->branch_key = NULL;
}
