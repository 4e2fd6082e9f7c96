/* orchestrator.v1.StepWorkerService: step workers in any language (docs/WORKERS.md). A
 * worker's StreamTasks call is a session in this replica's hub; the hub thread claims tasks
 * for each open session within its free capacity (domain/usecase/worker.c over
 * db/store_workers.c, FOR UPDATE SKIP LOCKED, whichever replica runs the process) and sends
 * them down its stream. It wakes on
 * NOTIFY orch_worker_tasks (a task written, an answer that freed capacity) and polls for
 * leases that ran out. Answers are unary calls fenced by the attempt token. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/metrics.h"
#include "domain/ids.h"
#include "orchestrator/v1/workers.pb-c.h"
#include "server/app.h"
#include "server/rpc/codec.h"
#include "server/services/services.h"
#include "server/services/ucall.h"

#define MAX_TYPES 32
#define MAX_CAPACITY 1000
#define TOKEN_MAX 128

/* One open StreamTasks call. */
typedef struct wsess {
    srv_call_t *call; /* referenced until the hub (or stop) forgets the session */
    char worker_id[37];
    int capacity;
    bool closed;       /* the call is over: the hub disconnects it and frees it (under mu) */
    bool disconnected; /* its step_workers row is gone */
    struct wsess *next;
} wsess_t;

struct srv_workers {
    srv_app_t *app;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    wsess_t *list; /* under mu */
    unsigned wakeups;
    bool stopping;
    pthread_t thread;
    bool started;
    bool hub_gone; /* the hub thread has exited (under mu) */
    int lease_ms, heartbeat_ms, poll_ms, max_result_bytes;
    char replica_id[37];
};

static int expire_ms(const srv_workers_t *w)
{
    return 3 * w->heartbeat_ms;
}

void srv_workers_notify(void *arg, const char *channel, const char *payload)
{
    srv_workers_t *w = arg;
    (void)channel;
    (void)payload;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->wakeups++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void sess_free(srv_workers_t *w, wsess_t *s)
{
    orch_error_t err;
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 5000};
    if (!s->disconnected) {
        orch_error_init(&err);
        orch_uc_t uc = srv_app_uc(w->app);
        if (orch_uc_worker_disconnect(&uc, &ctx, s->worker_id, &err))
            orch_warn("workers", "worker %s: cannot record that it left: %s", s->worker_id,
                      err.message);
    }
    orch_info("workers", "worker %s disconnected", s->worker_id);
    srv_call_unref(s->call);
    free(s);
}

/* Sends one claimed task down s's stream. */
static void send_task(wsess_t *s, const orch_worker_task_t *t)
{
    orch_arena_t *a = orch_arena_new();
    Orchestrator__V1__StreamTasksResponse m;
    Orchestrator__V1__StepTask *pt = orch_arena_alloc(a, sizeof(*pt));
    orchestrator__v1__stream_tasks_response__init(&m);
    orchestrator__v1__step_task__init(pt);
    pt->task_id = orch_arena_strdup(a, t->task_id);
    pt->process_id = orch_arena_strdup(a, t->process_id);
    pt->step_key = orch_arena_strdup(a, t->step_key);
    pt->step_name = orch_arena_strdup(a, t->step_name);
    pt->task_type = orch_arena_strdup(a, t->task_type);
    pt->workflow_name = orch_arena_strdup(a, t->workflow);
    pt->attempt = t->attempt;
    pt->attempt_token = orch_arena_strdup(a, t->token);
    pt->state = srv_codec_struct_from_json(a, t->state);
    pt->secrets_included = t->secrets_included;
    pt->deadline_time = srv_codec_timestamp(a, t->deadline_us);
    pt->lease_expire_time = srv_codec_timestamp(a, t->lease_expires_us);
    m.event_case = ORCHESTRATOR__V1__STREAM_TASKS_RESPONSE__EVENT_TASK;
    m.task = pt;
    /* A stream that ended meanwhile: the task stays with this worker until its lease runs
     * out, then goes to another one (at least once). */
    if (srv_stream_send(s->call, &m.base) < 0)
        orch_info("workers", "worker %s: stream over; task %s goes back after its lease",
                  s->worker_id, t->task_id);
    else
        orch_metrics_add("orch_worker_tasks_delivered_total", "", 1);
    orch_arena_free(a);
}

/* Claims and sends tasks for one open session (hub thread). */
static void serve(srv_workers_t *w, wsess_t *s)
{
    orch_uc_t uc = srv_app_uc(w->app);
    orch_worker_task_t *tasks = orch_calloc((size_t)s->capacity, sizeof(*tasks));
    orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 5000};
    orch_error_t err;
    size_t n = 0;
    bool alive = true;

    orch_error_init(&err);
    if (orch_uc_worker_claim(&uc, &ctx, s->worker_id, w->lease_ms, s->capacity, tasks, &n, &alive,
                             &err)) {
        orch_warn("workers", "worker %s: claim failed: %s", s->worker_id, err.message);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        orch_debug("workers", "task %s (%s, process %s, attempt %d) to worker %s", tasks[i].task_id,
                   tasks[i].task_type, tasks[i].process_id, tasks[i].attempt, s->worker_id);
        send_task(s, &tasks[i]);
    }
    if (!alive) {
        orch_error_t e2;
        orch_error_init(&e2);
        orch_error_set(&e2, ORCH_UNAVAILABLE, "WORKER_HEARTBEAT_MISSED",
                       "worker %s missed its heartbeats; its tasks go to other workers when "
                       "their leases run out; connect again",
                       s->worker_id);
        orch_info("workers", "%s", e2.message);
        srv_call_cancel(s->call, &e2);
    }
out:
    for (size_t i = 0; i < n; i++)
        orch_worker_task_cleanup(&tasks[i]);
    free(tasks);
}

static void *hub_main(void *arg)
{
    srv_workers_t *w = arg;
    unsigned seen = 0;
    size_t turn = 0;

    pthread_mutex_lock(&w->mu);
    while (!w->stopping) {
        wsess_t **snap = NULL, **pp, *gone = NULL;
        size_t n = 0, cap = 0;
        struct timespec until;

        if (seen == w->wakeups) {
            orch_clock_after_us(&until, CLOCK_MONOTONIC, (int64_t)w->poll_ms * 1000);
            while (!w->stopping && seen == w->wakeups)
                if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT)
                    break;
            if (w->stopping)
                break;
        }
        seen = w->wakeups;
        /* Detach the closed sessions and take the open ones (referenced), in one pass under
         * mu: only this thread frees sessions, so those taken stay until the next turn. */
        for (pp = &w->list; *pp;) {
            wsess_t *s = *pp;
            if (s->closed) {
                *pp = s->next;
                s->next = gone;
                gone = s;
                continue;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                snap = orch_realloc(snap, cap * sizeof(*snap));
            }
            srv_call_ref(s->call);
            snap[n++] = s;
            pp = &s->next;
        }
        pthread_mutex_unlock(&w->mu);
        while (gone) {
            wsess_t *s = gone;
            gone = s->next;
            sess_free(w, s);
        }
        /* Sessions take turns going first, so that workers of one type share the load. */
        for (size_t i = 0; i < n; i++) {
            wsess_t *s = snap[(i + turn) % n];
            if (!srv_call_is_over(s->call))
                serve(w, s);
        }
        turn++;
        pthread_mutex_lock(&w->mu);
        for (size_t i = 0; i < n; i++)
            srv_call_unref(snap[i]->call);
        free(snap);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

srv_workers_t *srv_workers_new(srv_app_t *app, const char *replica_id, int lease_ms,
                               int heartbeat_ms, int poll_ms, int max_result_bytes)
{
    srv_workers_t *w = orch_calloc(1, sizeof(*w));
    pthread_condattr_t ca;
    w->app = app;
    w->lease_ms = lease_ms;
    w->heartbeat_ms = heartbeat_ms;
    w->poll_ms = poll_ms;
    w->max_result_bytes = max_result_bytes;
    if (replica_id && orch_uuid_valid(replica_id))
        snprintf(w->replica_id, sizeof(w->replica_id), "%s", replica_id);
    else
        orch_uuid_new(w->replica_id);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, hub_main, w) == 0)
        w->started = true;
    else
        orch_err("workers", "cannot start the step workers' hub thread: no task is sent");
    return w;
}

void srv_workers_stop(srv_workers_t *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->started)
        pthread_join(w->thread, NULL);
    pthread_mutex_lock(&w->mu);
    w->hub_gone = true; /* stream_closed frees sessions itself from now on */
    pthread_mutex_unlock(&w->mu);
    w->started = false;
    /* Sessions that closed after the hub's last turn: forgotten now, while the server (and
     * so their calls) still exist. */
    pthread_mutex_lock(&w->mu);
    for (wsess_t **pp = &w->list; *pp;) {
        wsess_t *s = *pp;
        if (!s->closed) {
            pp = &s->next;
            continue;
        }
        *pp = s->next;
        pthread_mutex_unlock(&w->mu);
        sess_free(w, s);
        pthread_mutex_lock(&w->mu);
        pp = &w->list;
    }
    /* The drain ends the streams next: other replicas stop counting these workers now (a
     * step with a fall-back runs it in process rather than wait for a worker that left). */
    for (wsess_t *s = w->list; s; s = s->next)
        if (!s->disconnected) {
            orch_error_t err;
            orch_ctx_t ctx = {.deadline_ms = orch_now_ms() + 2000};
            orch_uc_t uc = srv_app_uc(w->app);
            orch_error_init(&err);
            (void)orch_uc_worker_disconnect(&uc, &ctx, s->worker_id, &err);
            s->disconnected = true;
        }
    pthread_mutex_unlock(&w->mu);
}

void srv_workers_free(srv_workers_t *w)
{
    if (!w)
        return;
    srv_workers_stop(w);
    /* Every stream ended with the server's drain (stream_closed freed its session after
     * stop); one left here would be a call the server no longer has: only its memory goes. */
    while (w->list) {
        wsess_t *s = w->list;
        w->list = s->next;
        free(s);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

int srv_workers_count(srv_workers_t *w)
{
    int n = 0;
    if (!w)
        return 0;
    pthread_mutex_lock(&w->mu);
    for (wsess_t *s = w->list; s; s = s->next)
        n += !s->closed;
    pthread_mutex_unlock(&w->mu);
    return n;
}

/* ---- handlers ------------------------------------------------------------------------- */

/* The caller as the audit log names it: the authenticated identity, "anonymous" when
 * authentication is off. */
static const char *identity_of(srv_call_t *call)
{
    const char *kind = srv_call_actor_kind(call), *name = srv_call_actor_name(call);
    if (!kind || strcmp(kind, "peer") == 0 || !name || !*name)
        return "anonymous";
    return name;
}

static bool name_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return false;
    return true;
}

/* Every worker call on a replica started without step workers. */
static orch_err_t no_workers(orch_error_t *err)
{
    return orch_error_set(err, ORCH_UNAVAILABLE, "WORKERS_UNAVAILABLE",
                          "this replica serves no step workers");
}

static orch_err_t stream_start(srv_call_t *call, const ProtobufCMessage *reqm, orch_error_t *err)
{
    const Orchestrator__V1__StreamTasksRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    orch_uc_t uc = srv_uc(call);
    srv_workers_t *w = app->workers;
    orch_arena_t *a = srv_call_arena(call);
    Orchestrator__V1__StreamTasksResponse m;
    Orchestrator__V1__WorkerSession ses;
    Google__Protobuf__Duration hb, lease;
    wsess_t *s;
    orch_err_t rc;

    if (!w)
        return no_workers(err);
    if (!name_ok(req->worker_name, 255))
        orch_error_add_violation(err, "worker_name",
                                 "give the worker a name of 1 to 255 "
                                 "printable characters");
    if (req->n_task_types == 0 || req->n_task_types > MAX_TYPES)
        orch_error_add_violation(err, "task_types", "name 1 to %d task types", MAX_TYPES);
    for (size_t i = 0; i < req->n_task_types && i < MAX_TYPES; i++)
        if (!name_ok(req->task_types[i], 255))
            orch_error_add_violation(err, "task_types",
                                     "task type %zu is empty, longer than 255 characters or "
                                     "holds control characters",
                                     i);
    if (req->capacity < 1 || req->capacity > MAX_CAPACITY)
        orch_error_add_violation(err, "capacity", "capacity must be 1 to %d tasks at once",
                                 MAX_CAPACITY);
    if (err->nviolations)
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL, "%s",
                              err->violations[0].description);
    s = orch_calloc(1, sizeof(*s));
    orch_uuid_new(s->worker_id);
    s->capacity = req->capacity;
    s->call = call;
    rc = orch_uc_worker_connect(
        &uc, srv_call_ctx(call), s->worker_id, identity_of(call), req->worker_name, w->replica_id,
        (const char *const *)req->task_types, req->n_task_types, req->capacity, expire_ms(w), err);
    if (rc) {
        free(s);
        return rc;
    }
    orchestrator__v1__stream_tasks_response__init(&m);
    orchestrator__v1__worker_session__init(&ses);
    google__protobuf__duration__init(&hb);
    google__protobuf__duration__init(&lease);
    hb.seconds = w->heartbeat_ms / 1000;
    hb.nanos = (w->heartbeat_ms % 1000) * 1000000;
    lease.seconds = w->lease_ms / 1000;
    lease.nanos = (w->lease_ms % 1000) * 1000000;
    ses.worker_id = orch_arena_strdup(a, s->worker_id);
    ses.heartbeat_interval = &hb;
    ses.task_lease = &lease;
    ses.replica_id = orch_arena_strdup(a, w->replica_id);
    m.event_case = ORCHESTRATOR__V1__STREAM_TASKS_RESPONSE__EVENT_SESSION;
    m.session = &ses;
    srv_stream_send(call, &m.base);
    orch_info("workers", "worker %s (%s, %s) connected: %zu task type%s, capacity %d", s->worker_id,
              req->worker_name, identity_of(call), req->n_task_types,
              req->n_task_types == 1 ? "" : "s", req->capacity);
    srv_call_ref(call);
    srv_call_set_data(call, s);
    pthread_mutex_lock(&w->mu);
    s->next = w->list;
    w->list = s;
    w->wakeups++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return ORCH_OK;
}

static void stream_closed(srv_call_t *call)
{
    srv_app_t *app = srv_call_app(call);
    srv_workers_t *w = app->workers;
    wsess_t *s = srv_call_data(call);
    if (!s)
        return;
    pthread_mutex_lock(&w->mu);
    s->closed = true;
    if (w->hub_gone) {
        /* No hub to forget it: do it here (its row went at stop). */
        for (wsess_t **pp = &w->list; *pp; pp = &(*pp)->next)
            if (*pp == s) {
                *pp = s->next;
                break;
            }
        pthread_mutex_unlock(&w->mu);
        srv_call_unref(s->call);
        free(s);
        return;
    }
    w->wakeups++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* What every unary StepWorkerService call starts from: the replica's worker hub, the use
 * cases and the call's arena. */
typedef struct wcall {
    srv_workers_t *w;
    orch_uc_t uc;
    orch_arena_t *a;
} wcall_t;

/* Fills c for call; UNAVAILABLE when this replica serves no step workers. */
static orch_err_t wcall_begin(srv_call_t *call, wcall_t *c, orch_error_t *err)
{
    srv_app_t *app = srv_call_app(call);
    c->w = app->workers;
    c->uc = srv_uc(call);
    c->a = srv_call_arena(call);
    return c->w ? ORCH_OK : no_workers(err);
}

/* Checks an answer's task id and token, and fails with the first violation gathered so far
 * (the caller's own checks come before it); else ans is the answer of that delivery by the
 * caller, the rest of it for the caller to fill. */
static orch_err_t answer_begin(srv_call_t *call, const char *task_id, const char *token,
                               orch_task_answer_t *ans, orch_error_t *err)
{
    memset(ans, 0, sizeof(*ans));
    if (!orch_uuid_valid(task_id))
        orch_error_add_violation(err, "task_id", "task_id must be a lower-case UUID");
    if (!token || !*token || strlen(token) > TOKEN_MAX)
        orch_error_add_violation(err, "attempt_token",
                                 "attempt_token must be the token of the task's delivery");
    if (err->nviolations)
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL, "%s",
                              err->violations[0].description);
    ans->task_id = task_id;
    ans->token = token;
    ans->executed_by = identity_of(call);
    return ORCH_OK;
}

SRV_UNARY_HANDLER(heartbeat, Orchestrator__V1__HeartbeatRequest)
{
    Orchestrator__V1__HeartbeatResponse *resp;
    bool connected = false;
    int renewed = 0;
    int64_t lease_us = 0;
    wcall_t c;
    orch_err_t rc = wcall_begin(call, &c, err);

    if (rc)
        return rc;
    if (!orch_uuid_valid(req->worker_id))
        return orch_error_invalid(err, "worker_id",
                                  "worker_id must be the lower-case UUID StreamTasks gave");
    rc = orch_uc_worker_heartbeat(&c.uc, srv_call_ctx(call), req->worker_id, c.w->lease_ms,
                                  expire_ms(c.w), &connected, &renewed, &lease_us, err);
    if (rc)
        return rc;
    resp = orch_arena_alloc(c.a, sizeof(*resp));
    orchestrator__v1__heartbeat_response__init(resp);
    resp->connected = connected;
    resp->tasks_renewed = renewed;
    resp->lease_expire_time = srv_codec_timestamp(c.a, lease_us);
    *respm = &resp->base;
    return ORCH_OK;
}

/* The answer's executed_by: "<identity>/<worker name>" is filled in by the store from the
 * task's worker; here the caller's identity. */
SRV_UNARY_HANDLER(complete_task, Orchestrator__V1__CompleteTaskRequest)
{
    Orchestrator__V1__CompleteTaskResponse *resp;
    orch_task_answer_t ans;
    json_t *delta = NULL;
    char *text = NULL, status[32];
    wcall_t c;
    orch_err_t rc = wcall_begin(call, &c, err);

    if (!rc)
        rc = answer_begin(call, req->task_id, req->attempt_token, &ans, err);
    if (rc)
        return rc;
    delta = req->state_delta ? srv_codec_json_from_struct(req->state_delta) : json_object();
    if (!json_is_object(delta)) {
        json_decref(delta);
        return orch_error_invalid(err, "state_delta", "state_delta must be a JSON object");
    }
    text = json_dumps(delta, JSON_COMPACT);
    if (!text || strlen(text) > (size_t)c.w->max_result_bytes) {
        rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, "RESULT_TOO_LARGE",
                            "state_delta is %zu bytes as JSON; the limit is %d "
                            "(--worker-max-result-bytes): keep large data outside the state",
                            text ? strlen(text) : 0, c.w->max_result_bytes);
        orch_error_add_violation(err, "state_delta", "at most %d bytes as JSON",
                                 c.w->max_result_bytes);
        goto out;
    }
    ans.delta = delta;
    rc = orch_uc_task_complete(&c.uc, srv_call_ctx(call), &ans, status, err);
    if (rc)
        goto out;
    orch_metrics_add("orch_worker_answers_total", "result=\"complete\"", 1);
    resp = orch_arena_alloc(c.a, sizeof(*resp));
    orchestrator__v1__complete_task_response__init(resp);
    resp->process_status = ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_RESUMED;
    *respm = &resp->base;
    srv_workers_notify(c.w, NULL, NULL); /* capacity freed */
out:
    free(text);
    json_decref(delta);
    return rc;
}

static bool reason_ok(const char *r)
{
    size_t n = r ? strlen(r) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'A' && r[i] <= 'Z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '_'))
            return false;
    return true;
}

SRV_UNARY_HANDLER(fail_task, Orchestrator__V1__FailTaskRequest)
{
    Orchestrator__V1__FailTaskResponse *resp;
    orch_task_answer_t ans;
    json_t *details = NULL;
    bool will_retry = false;
    int64_t next_us = 0;
    char status[32];
    wcall_t c;
    orch_err_t rc = wcall_begin(call, &c, err);

    if (rc)
        return rc;
    if (!reason_ok(req->reason))
        orch_error_add_violation(err, "reason", "reason must be UPPER_SNAKE, 1 to 64 characters");
    if (!req->message || strlen(req->message) > 2000)
        orch_error_add_violation(err, "message", "message must be at most 2,000 characters");
    rc = answer_begin(call, req->task_id, req->attempt_token, &ans, err);
    if (rc)
        return rc;
    details = req->details ? srv_codec_json_from_struct(req->details) : NULL;
    ans.retryable = req->retryable;
    ans.reason = req->reason;
    ans.message = *req->message ? req->message : req->reason;
    ans.details = details;
    rc = orch_uc_task_fail(&c.uc, srv_call_ctx(call), &ans, &will_retry, &next_us, status, err);
    json_decref(details);
    if (rc)
        return rc;
    orch_metrics_add("orch_worker_answers_total",
                     will_retry ? "result=\"retry\"" : "result=\"failed\"", 1);
    resp = orch_arena_alloc(c.a, sizeof(*resp));
    orchestrator__v1__fail_task_response__init(resp);
    resp->will_retry = will_retry;
    resp->next_attempt_time = srv_codec_timestamp(c.a, next_us);
    resp->process_status = will_retry
                               ? ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_AWAITING_CALLBACK
                               : ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_FAILED;
    *respm = &resp->base;
    srv_workers_notify(c.w, NULL, NULL);
    return ORCH_OK;
}

SRV_UNARY_HANDLER(report_progress, Orchestrator__V1__ReportTaskProgressRequest)
{
    Orchestrator__V1__ReportTaskProgressResponse *resp;
    orch_task_answer_t ans;
    json_t *progress = NULL;
    int64_t lease_us = 0;
    wcall_t c;
    orch_err_t rc = wcall_begin(call, &c, err);

    if (rc)
        return rc;
    if (req->message && strlen(req->message) > 2000)
        orch_error_add_violation(err, "message", "message must be at most 2,000 characters");
    rc = answer_begin(call, req->task_id, req->attempt_token, &ans, err);
    if (rc)
        return rc;
    progress = req->progress ? srv_codec_json_from_struct(req->progress) : json_object();
    rc = orch_uc_task_progress(&c.uc, srv_call_ctx(call), &ans, req->message, progress,
                               c.w->lease_ms, &lease_us, err);
    json_decref(progress);
    if (rc)
        return rc;
    resp = orch_arena_alloc(c.a, sizeof(*resp));
    orchestrator__v1__report_task_progress_response__init(resp);
    resp->lease_expire_time = srv_codec_timestamp(c.a, lease_us);
    *respm = &resp->base;
    return ORCH_OK;
}

static const srv_stream_ops_t stream_tasks_ops = {
    .start = stream_start,
    .closed = stream_closed,
};

const srv_method_t srv_worker_methods[] = {
    {&orchestrator__v1__step_worker_service__descriptor, "StreamTasks", NULL, SRV_ROLE_WORKER,
     &stream_tasks_ops},
    {&orchestrator__v1__step_worker_service__descriptor, "Heartbeat", heartbeat, SRV_ROLE_WORKER,
     NULL},
    {&orchestrator__v1__step_worker_service__descriptor, "CompleteTask", complete_task,
     SRV_ROLE_WORKER, NULL},
    {&orchestrator__v1__step_worker_service__descriptor, "FailTask", fail_task, SRV_ROLE_WORKER,
     NULL},
    {&orchestrator__v1__step_worker_service__descriptor, "ReportTaskProgress", report_progress,
     SRV_ROLE_WORKER, NULL},
    {0},
};
