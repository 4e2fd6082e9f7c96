/* Schedules: their create / update / delete, and their firing, which starts each due
 * schedule's process through the StartProcess use case, so a scheduled start obeys the
 * rules of any other (a subscription out of sync, a form, the pause switch). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "domain/usecase/usecase.h"

orch_err_t orch_uc_schedule_create(const orch_uc_t *uc, orch_caller_t *caller, orch_schedule_t *s,
                                   orch_error_t *err)
{
    orch_uow_t u = {0};
    orch_err_t rc = orch_uow_begin(uc, caller, &u, err);
    if (rc || caller->replayed)
        return rc;
    rc = uc->store->schedules->insert(uc->store, u.tx, NULL, s, err);
    if (!rc)
        rc = orch_uow_commit(&u, err);
    orch_uow_abort(&u);
    return rc;
}

static void take_str(char **to, char **from)
{
    free(*to);
    *to = *from;
    *from = NULL;
}

/* The fields patch names, from s into the stored cur; the next due time is computed again
 * when the trigger changed or the schedule is enabled again. */
static bool apply_patch(const orch_schedule_patch_t *patch, orch_schedule_t *s,
                        orch_schedule_t *cur)
{
    bool retime = patch->trigger || (patch->enabled && s->enabled && !cur->enabled);
    if (patch->name)
        take_str(&cur->name, &s->name);
    if (patch->workflow)
        take_str(&cur->workflow, &s->workflow);
    if (patch->inputs) {
        json_decref(cur->user_inputs);
        cur->user_inputs = s->user_inputs;
        s->user_inputs = NULL;
    }
    if (patch->trigger) {
        cur->kind = s->kind;
        cur->interval_s = s->interval_s;
        cur->start_us = s->start_us;
        cur->run_at_us = s->run_at_us;
        take_str(&cur->cron, &s->cron);
    }
    if (patch->enabled)
        cur->enabled = s->enabled;
    return retime;
}

orch_err_t orch_uc_schedule_update(const orch_uc_t *uc, orch_caller_t *caller,
                                   const orch_schedule_patch_t *patch, orch_schedule_t *s,
                                   orch_error_t *err)
{
    orch_store_t *st = uc->store;
    orch_schedule_t cur = {0};
    orch_uow_t u = {0};
    bool retime;
    orch_err_t rc = orch_uow_begin(uc, caller, &u, err);
    if (rc || caller->replayed)
        return rc;
    rc = st->schedules->get(st, u.tx, caller->ctx, s->id, true, &cur, err);
    if (!rc && cur.version != patch->version)
        rc = orch_error_set(err, ORCH_ABORTED, "VERSION_CONFLICT",
                            "schedule %s is at version %lld, not %lld; read it again", cur.id,
                            (long long)cur.version, (long long)patch->version);
    if (!rc) {
        retime = apply_patch(patch, s, &cur);
        rc = st->schedules->update(st, u.tx, NULL, &cur, retime, err);
    }
    if (!rc) {
        orch_schedule_cleanup(s);
        *s = cur; /* the answer is encoded from it at commit */
        memset(&cur, 0, sizeof(cur));
        rc = orch_uow_commit(&u, err);
    }
    orch_uow_abort(&u);
    orch_schedule_cleanup(&cur);
    return rc;
}

orch_err_t orch_uc_schedule_delete(const orch_uc_t *uc, orch_caller_t *caller,
                                   const char *schedule_id, int64_t version, orch_error_t *err)
{
    orch_uow_t u = {0};
    orch_err_t rc = orch_uow_begin(uc, caller, &u, err);
    if (rc || caller->replayed)
        return rc;
    rc = uc->store->schedules->remove(uc->store, u.tx, NULL, schedule_id, version, err);
    if (!rc)
        rc = orch_uow_commit(&u, err);
    orch_uow_abort(&u);
    return rc;
}

static const char *input_str(const json_t *inputs, const char *key)
{
    const char *v = json_string_value(json_object_get(inputs, key));
    return v && *v ? v : NULL;
}

/* The start a schedule asks for: its workflow on the product and subscription its
 * user_inputs name (product_id, subscription_id: StartProcess's own fields), with the rest
 * of user_inputs as the one page of input, as StartProcess would take them. */
static orch_err_t start_scheduled(orch_uow_t *u, const orch_schedule_t *s, orch_start_res_t *res,
                                  orch_error_t *err)
{
    json_t *page = json_is_object(s->user_inputs) ? json_copy(s->user_inputs) : json_object();
    const json_t *inputs[1] = {page};
    orch_start_req_t req = {
        .workflow_name = s->workflow,
        .product_id = input_str(s->user_inputs, "product_id"),
        .subscription_id = input_str(s->user_inputs, "subscription_id"),
        .inputs = inputs,
    };
    orch_err_t rc;
    json_object_del(page, "product_id");
    json_object_del(page, "subscription_id");
    req.ninputs = json_object_size(page) ? 1 : 0;
    rc = orch_uc_process_start_in(u, &req, res, err);
    json_decref(page);
    return rc;
}

/* Fires one due schedule in its own unit of work; *fired = false when none was due. */
static orch_err_t fire_one(const orch_uc_t *uc, const orch_ctx_t *ctx, const char *replica_id,
                           bool *fired, orch_error_t *err)
{
    orch_store_t *st = uc->store;
    orch_schedule_t s = {0};
    orch_start_res_t res = {0};
    orch_caller_t caller = {.ctx = ctx, .admin = true};
    orch_uow_t u = {0};
    int64_t now = 0;
    bool fresh = false;
    char *actor = NULL, *refusal = NULL;
    orch_err_t rc;

    *fired = false;
    rc = orch_uow_begin(uc, &caller, &u, err);
    if (!rc)
        rc = st->schedules->claim_due(st, u.tx, NULL, replica_id, &s, &now, fired, &fresh, err);
    if (rc || !*fired)
        goto out;
    if (fresh) {
        /* Schedules are an admin's: the start runs with every role, as "schedule <name>". */
        actor = orch_asprintf("schedule %s", s.name);
        caller.actor = actor;
        rc = start_scheduled(&u, &s, &res, err);
        if (rc && orch_uc_start_refusal(rc)) {
            refusal = orch_asprintf("%s%s%s", err->reason[0] ? err->reason : "",
                                    err->reason[0] ? ": " : "", err->message);
            orch_warn("schedule", "'%s': the start of %s was refused: %s", s.name, s.workflow,
                      refusal);
            orch_error_init(err);
            rc = ORCH_OK;
        }
    }
    if (!rc)
        rc = st->schedules->record_run(st, u.tx, NULL, &s, now,
                                       res.process ? res.process->id : NULL, refusal, err);
    if (!rc)
        rc = orch_uow_commit(&u, err);
out:
    orch_uow_abort(&u);
    orch_start_res_cleanup(&res);
    orch_schedule_cleanup(&s);
    free(actor);
    free(refusal);
    return rc;
}

orch_err_t orch_uc_schedule_fire_due(const orch_uc_t *uc, const orch_ctx_t *ctx,
                                     const char *replica_id, int max, int *fired, orch_error_t *err)
{
    bool due = false, one = false;
    orch_err_t rc = uc->store->schedules->any_due(uc->store, NULL, ctx, &due, err);
    *fired = 0;
    for (int i = 0; !rc && due && i < max; i++) {
        rc = fire_one(uc, ctx, replica_id, &one, err);
        if (rc || !one)
            break;
        (*fired)++;
    }
    return rc;
}
