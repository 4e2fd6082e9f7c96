/* The store object: wires the tables of domain/store/ to the store_*.c implementations. */
#include "db/store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "db/store_internal.h"

static void store_free(orch_store_t *st)
{
    db__start_group_destroy(&((db_store_t *)st)->starts);
    free(st);
}

static orch_err_t store_ping(orch_store_t *st, const orch_ctx_t *ctx, orch_error_t *err)
{
    db_rt_kind(DB_RT_HEALTH);
    return db__query(st, NULL, ctx, "SELECT 1", 0, NULL, NULL, err);
}

static const orch_uow_store_t db_uow_store = {
    .ping = store_ping,
    .begin = db__tx_begin,
    .begin_lazy = db__tx_begin_lazy,
    .commit = db__tx_commit,
    .commit_with_next = db__tx_commit_with_next,
    .rollback = db__tx_rollback,
    .used = db__tx_used,
    .snapshot = db__tx_snapshot,
    .idem_claim = db__idem_claim,
    .idem_record = db__idem_record,
};

static const orch_audit_store_t db_audit_store = {
    .record = db__admin_action_record,
    .list = db__admin_action_list,
};

static const orch_schedule_store_t db_schedules_store = {
    .get = db__schedule_get,
    .insert = db__schedule_insert,
    .update = db__schedule_update,
    .remove = db__schedule_delete,
    .list = db__schedule_list,
    .any_due = db__schedule_any_due,
    .claim_due = db__schedule_claim_due,
    .record_run = db__schedule_record_run,
    .load_defaults = db__schedule_load_defaults,
};

static const orch_worker_store_t db_workers_store = {
    .task_create = db__worker_task_create,
    .connect = db__worker_connect,
    .disconnect = db__worker_disconnect,
    .heartbeat = db__worker_heartbeat,
    .claim = db__worker_claim,
    .task_complete = db__worker_task_complete,
    .task_fail = db__worker_task_fail,
    .task_progress = db__worker_task_progress,
    .task_sweep = db__worker_task_sweep,
    .task_pending = db__worker_task_pending,
};

static const orch_catalog_store_t db_catalog_store = {
    .sync = db__catalog_sync,
    .refresh = db__catalog_refresh,
    .product_lock = db__product_lock,
    .product_count_live = db__product_count_live,
    .product_set = db__product_set,
    .workflow_list = db__workflow_list,
    .workflow_get = db__workflow_get,
    .wfdef_lock = db__wfdef_lock,
    .wfdef_insert = db__wfdef_insert,
    .wfdef_list = db__wfdef_list,
    .wfdef_replica_add = db__wfdef_replica_add,
    .wfdef_replicas_missing = db__wfdef_replicas_missing,
    .inventory_allocate = db__inventory_allocate,
};

static const orch_sub_store_t db_subs_store = {
    .load = db__sub_load,
    .get = db__sub_get,
    .stamp = db__sub_stamp,
    .save = db__sub_save,
    .get_many = db__sub_get_many,
    .list_ids = db__sub_list_ids,
    .list = db__sub_list,
    .count_unfinished = db__sub_count_unfinished,
    .set_metadata = db__sub_set_metadata,
    .cd_create = db__cd_create,
    .cd_get = db__cd_get,
    .cd_update = db__cd_update,
    .cd_delete = db__cd_delete,
    .events_seq = db__sub_events_seq,
    .events_after = db__sub_events_after,
};

static const orch_process_store_t db_procs_store = {
    .create = db__process_create,
    .create_grouped = db__process_create_grouped,
    .get = db__process_get,
    .list = db__process_list,
    .status_counts = db__process_status_counts,
    .retry = db__process_retry,
    .retry_once = db__process_retry_once,
    .retry_branches = db__process_retry_branches,
    .abort = db__process_abort,
    .remove = db__process_delete,
    .set_note = db__process_set_note,
    .bulk_resume = db__process_bulk_resume,
    .lock = db__process_lock,
    .link_subscription = db__process_link_subscription,
    .resume_input = db__process_resume_input,
    .secrets_put = db__process_secrets_put,
    .secrets_get = db__process_secrets_get,
    .callback_create = db__callback_create,
    .callback_deliver = db__callback_deliver,
    .callback_progress = db__callback_progress,
    .callback_fail_expired = db__callback_fail_expired,
    .callback_pending = db__callback_pending,
    .events_seq = db__events_seq,
    .events_after = db__events_after,
    .events_global = db__events_global,
    .tasks_clean_up = db__tasks_clean_up,
};

static const orch_engine_store_t db_engine_store = {
    .register_replica = db__engine_register,
    .heartbeat = db__engine_heartbeat,
    .stop = db__engine_stop,
    .takeover = db__engine_takeover,
    .replica_list = db__replica_list,
    .status = db__engine_status,
    .set_paused = db__engine_set_paused,
    .claim = db__process_claim,
    .step_begin = db__process_step_begin,
    .commit_step = db__process_commit_step,
    .commit_steps = db__process_commit_steps,
    .commit_steps_claim = db__process_commit_steps_claim,
    .release = db__process_release,
    .branch_list = db__branch_list,
    .branch_start = db__branch_start,
};

orch_store_t *db_store_new(db_pool_t *pool)
{
    db_store_t *s = orch_calloc(1, sizeof(*s));
    s->base.free = store_free;
    s->base.uow = &db_uow_store;
    s->base.audit = &db_audit_store;
    s->base.schedules = &db_schedules_store;
    s->base.workers = &db_workers_store;
    s->base.catalog = &db_catalog_store;
    s->base.subs = &db_subs_store;
    s->base.procs = &db_procs_store;
    s->base.engine = &db_engine_store;
    s->pool = pool;
    db__start_group_init(&s->starts);
    s->replica_dead_ms = ORCH_REPLICA_DEAD_AFTER_MS;
    return &s->base;
}

void db_store_on_sub_changed(orch_store_t *st, db_sub_changed_fn fn, void *arg)
{
    ((db_store_t *)st)->sub_changed = fn;
    ((db_store_t *)st)->sub_changed_arg = arg;
}

void db_store_set_replica_dead_ms(orch_store_t *st, int ms)
{
    ((db_store_t *)st)->replica_dead_ms = ms;
}

int db_store_warm(orch_store_t *st)
{
    /* No part: the function compiles and its set-based statement is planned, with nothing
     * to write. */
    return db_pool_warm(((db_store_t *)st)->pool,
                        "SELECT count(*) FROM orch_commit_steps('[]'::jsonb, false)");
}

long long db__parse_time(const char *s)
{
    struct tm tm = {0};
    const char *r;
    long long us = 0, scale = 100000;
    int sign = 1, hh = 0, mm = 0;

    if (!s || !*s)
        return 0;
    r = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    if (!r)
        return 0;
    if (*r == '.') {
        for (r++; *r >= '0' && *r <= '9'; r++, scale /= 10)
            us += (*r - '0') * scale;
    }
    if (*r == '+' || *r == '-') {
        sign = *r == '-' ? -1 : 1;
        hh = (r[1] - '0') * 10 + (r[2] - '0');
        if (r[3] == ':')
            mm = (r[4] - '0') * 10 + (r[5] - '0');
    }
    return ((long long)timegm(&tm) - sign * (hh * 3600LL + mm * 60LL)) * 1000000LL + us;
}
