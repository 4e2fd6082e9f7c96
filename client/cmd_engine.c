/* orchctl engine ... and schedule ...: orchestrator.v1.EngineService (the pause switch, the
 * replicas, the schedules). */
#include "cmd.h"
#include "output.h"

#include "base/alloc.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "orchestrator/v1/engine.pb-c.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SVC "/orchestrator.v1.EngineService/"

/* ---- engine ---- */

static void print_status(const ProtobufCMessage *m)
{
    const Orchestrator__V1__EngineStatus *s = (const Orchestrator__V1__EngineStatus *)m;
    char state[64], when[64];
    printf(
        "State:          %s\nRunning steps:  %d\nReplicas:       %d\nChanged:        %s%s%s\n",
        cli_enum_name(&orchestrator__v1__engine_state__descriptor, s->state, state, sizeof(state)),
        s->running_step_count, s->replica_count, cli_ts(s->update_time, when, sizeof(when)),
        s->updated_by && *s->updated_by->name ? " by " : "",
        s->updated_by ? s->updated_by->name : "");
}

static int engine_call(cli_ctx_t *ctx, const char *method, const ProtobufCMessage *req)
{
    return cli_call_print(ctx, method, req, &orchestrator__v1__engine_status__descriptor,
                          print_status);
}

int cli_cmd_engine_status(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__GetEngineStatusRequest req =
        ORCHESTRATOR__V1__GET_ENGINE_STATUS_REQUEST__INIT;
    (void)args;
    return engine_call(ctx, SVC "GetEngineStatus", &req.base);
}

int cli_cmd_engine_pause(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__PauseEngineRequest req = ORCHESTRATOR__V1__PAUSE_ENGINE_REQUEST__INIT;
    req.request_id = cli_request_id(args);
    return engine_call(ctx, SVC "PauseEngine", &req.base);
}

int cli_cmd_engine_resume(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__ResumeEngineRequest req = ORCHESTRATOR__V1__RESUME_ENGINE_REQUEST__INIT;
    req.request_id = cli_request_id(args);
    return engine_call(ctx, SVC "ResumeEngine", &req.base);
}

static const char *const engine_audit_headers[] = {"ID", "TIME", "ACTOR", "METHOD", "TARGET"};

/* A row of the engine audit table. */
static void engine_audit_row(cli_table_t *t, const ProtobufCMessage *item)
{
    const Orchestrator__V1__AdminAction *a = (const Orchestrator__V1__AdminAction *)item;
    char id[24], when[64];
    snprintf(id, sizeof(id), "%lld", (long long)a->action_id);
    const char *row[] = {id, cli_ts(a->action_time, when, sizeof(when)),
                         a->actor ? a->actor->name : "", a->method, a->target};
    cli_table_add_row(t, row);
}

/* The audit log of admin actions, newest first. */
int cli_cmd_engine_audit(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__ListAdminActionsRequest req =
        ORCHESTRATOR__V1__LIST_ADMIN_ACTIONS_REQUEST__INIT;
    req.method = (char *)(cli_args_get(args, "method") ? cli_args_get(args, "method") : "");
    req.target = (char *)(cli_args_get(args, "target") ? cli_args_get(args, "target") : "");
    return cli_list_run(ctx, args, &req.base, SVC "ListAdminActions",
                        &orchestrator__v1__list_admin_actions_response__descriptor, "actions", 5,
                        engine_audit_headers, engine_audit_row);
}

static const char *const engine_replicas_headers[] = {"ID",      "HOST",    "ADDRESS",   "STATE",
                                                      "WORKERS", "RUNNING", "HEARTBEAT", "VERSION"};

/* A row of the engine replicas table. */
static void engine_replicas_row(cli_table_t *t, const ProtobufCMessage *item)
{
    const Orchestrator__V1__Replica *r = (const Orchestrator__V1__Replica *)item;
    char st[64], w[24], run[24], hb[64];
    snprintf(w, sizeof(w), "%d", r->worker_count);
    snprintf(run, sizeof(run), "%d", r->running_step_count);
    const char *row[] = {
        r->replica_id,
        r->hostname,
        r->address,
        cli_enum_name(&orchestrator__v1__replica_state__descriptor, r->state, st, sizeof(st)),
        w,
        run,
        cli_ts(r->heartbeat_time, hb, sizeof(hb)),
        r->build_version};
    cli_table_add_row(t, row);
}

int cli_cmd_engine_replicas(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__ListReplicasRequest req = ORCHESTRATOR__V1__LIST_REPLICAS_REQUEST__INIT;
    return cli_list_run(ctx, args, &req.base, SVC "ListReplicas",
                        &orchestrator__v1__list_replicas_response__descriptor, "replicas", 8,
                        engine_replicas_headers, engine_replicas_row);
}

/* ---- schedules ---- */

static char *trigger_text(const Orchestrator__V1__Schedule *s)
{
    char buf[64];
    switch (s->trigger_case) {
    case ORCHESTRATOR__V1__SCHEDULE__TRIGGER_INTERVAL: {
        long long sec = s->interval && s->interval->interval ? s->interval->interval->seconds : 0;
        if (sec % 86400 == 0 && sec)
            return orch_asprintf("every %lldd", sec / 86400);
        if (sec % 3600 == 0 && sec)
            return orch_asprintf("every %lldh", sec / 3600);
        if (sec % 60 == 0 && sec)
            return orch_asprintf("every %lldm", sec / 60);
        return orch_asprintf("every %llds", sec);
    }
    case ORCHESTRATOR__V1__SCHEDULE__TRIGGER_CRON:
        return orch_asprintf("cron %s", s->cron ? s->cron->expression : "");
    case ORCHESTRATOR__V1__SCHEDULE__TRIGGER_ONCE:
        return orch_asprintf("once at %s",
                             cli_ts(s->once ? s->once->run_time : NULL, buf, sizeof(buf)));
    default:
        return orch_strdup("-");
    }
}

static const char *const schedule_list_headers[] = {"NAME",     "WORKFLOW", "TRIGGER", "ENABLED",
                                                    "NEXT RUN", "LAST RUN", "ID"};

/* A row of the schedule list table. */
static void schedule_list_row(cli_table_t *t, const ProtobufCMessage *item)
{
    const Orchestrator__V1__Schedule *s = (const Orchestrator__V1__Schedule *)item;
    char next[64], last[64];
    char *trig = trigger_text(s);
    const char *row[] = {s->name,
                         s->workflow_name,
                         trig,
                         s->enabled ? "yes" : "no",
                         cli_ts(s->next_run_time, next, sizeof(next)),
                         cli_ts(s->last_run_time, last, sizeof(last)),
                         s->schedule_id};
    cli_table_add_row(t, row);
    free(trig);
}

int cli_cmd_schedule_list(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__ListSchedulesRequest req = ORCHESTRATOR__V1__LIST_SCHEDULES_REQUEST__INIT;
    return cli_list_run(ctx, args, &req.base, SVC "ListSchedules",
                        &orchestrator__v1__list_schedules_response__descriptor, "schedules", 7,
                        schedule_list_headers, schedule_list_row);
}

static void print_schedule(const ProtobufCMessage *m)
{
    const Orchestrator__V1__Schedule *s = (const Orchestrator__V1__Schedule *)m;
    char next[64], last[64];
    char *trig = trigger_text(s);
    printf("Name:      %s\nID:        %s\nWorkflow:  %s\nTrigger:   %s\nEnabled:   %s\n"
           "Next run:  %s\nLast run:  %s\nVersion:   %lld\n",
           s->name, s->schedule_id, s->workflow_name, trig, s->enabled ? "yes" : "no",
           cli_ts(s->next_run_time, next, sizeof(next)),
           cli_ts(s->last_run_time, last, sizeof(last)), (long long)s->version);
    free(trig);
}

/* "90", "90s", "15m", "2h", "1d" -> seconds. */
static int parse_duration(const char *opt, const char *s, long long *sec)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    long long mul = 1;
    if (!errno && end != s) {
        if (*end == 'm')
            mul = 60, end++;
        else if (*end == 'h')
            mul = 3600, end++;
        else if (*end == 'd')
            mul = 86400, end++;
        else if (*end == 's')
            end++;
    }
    if (errno || end == s || *end || v < 1 || v > INT64_MAX / 86400)
        return cli_usage_error("%s wants a duration such as 90s, 15m, 2h or 1d, not '%s'", opt, s);
    *sec = v * mul;
    return 0;
}

/* RFC 3339 in UTC or with an offset: "2024-06-01T03:00:00Z", "...+02:00". */
static int parse_time(const char *opt, const char *s, long long *sec)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    long long off = 0;
    if (p && *p == '.') /* fractions are dropped */
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    if (p && (*p == 'Z' || *p == 'z') && p[1] == '\0') {
        off = 0;
    } else if (p && (*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int h = (p[1] - '0') * 10 + (p[2] - '0'), m = (p[4] - '0') * 10 + (p[5] - '0');
        off = (h * 3600 + m * 60) * (*p == '-' ? -1 : 1);
    } else {
        return cli_usage_error("%s wants an RFC 3339 time such as 2024-06-01T03:00:00Z, not '%s'",
                               opt, s);
    }
    *sec = (long long)timegm(&tm) - off;
    return 0;
}

/* The parts of a Schedule the create and update commands set, with their storage. */
typedef struct sched_parts {
    Orchestrator__V1__Schedule s;
    Orchestrator__V1__IntervalTrigger interval;
    Orchestrator__V1__CronTrigger cron;
    Orchestrator__V1__OneOffTrigger once;
    Google__Protobuf__Duration every;
    Google__Protobuf__Timestamp start, at;
    Google__Protobuf__Struct *inputs;
    char *workflow;      /* the workflow's name (cli_workflow_arg); owned */
    const char *trigger; /* "interval", "cron", "once" or NULL */
} sched_parts_t;

static int sched_trigger(const cli_args_t *args, sched_parts_t *p)
{
    const char *every = cli_args_get(args, "every");
    const char *cron = cli_args_get(args, "cron");
    const char *at = cli_args_get(args, "at");
    const char *start = cli_args_get(args, "start");
    const char *input = cli_args_get(args, "input");
    long long v = 0;
    int err;

    if ((every != NULL) + (cron != NULL) + (at != NULL) > 1)
        return cli_usage_error("give one trigger: --every, --cron or --at");
    if (start && !every)
        return cli_usage_error("--start goes with --every");
    if (every) {
        if ((err = parse_duration("--every", every, &v)))
            return err;
        p->every.seconds = v;
        p->interval.interval = &p->every;
        if (start) {
            if ((err = parse_time("--start", start, &v)))
                return err;
            p->start.seconds = v;
            p->interval.start_time = &p->start;
        }
        p->s.trigger_case = ORCHESTRATOR__V1__SCHEDULE__TRIGGER_INTERVAL;
        p->s.interval = &p->interval;
        p->trigger = "interval";
    } else if (cron) {
        p->cron.expression = (char *)cron;
        p->s.trigger_case = ORCHESTRATOR__V1__SCHEDULE__TRIGGER_CRON;
        p->s.cron = &p->cron;
        p->trigger = "cron";
    } else if (at) {
        if ((err = parse_time("--at", at, &v)))
            return err;
        p->at.seconds = v;
        p->once.run_time = &p->at;
        p->s.trigger_case = ORCHESTRATOR__V1__SCHEDULE__TRIGGER_ONCE;
        p->s.once = &p->once;
        p->trigger = "once";
    }
    if (input && (err = cli_read_struct("--input", input, &p->inputs)))
        return err;
    p->s.user_inputs = p->inputs;
    return 0;
}

static void sched_init(sched_parts_t *p)
{
    memset(p, 0, sizeof(*p));
    orchestrator__v1__schedule__init(&p->s);
    orchestrator__v1__interval_trigger__init(&p->interval);
    orchestrator__v1__cron_trigger__init(&p->cron);
    orchestrator__v1__one_off_trigger__init(&p->once);
    google__protobuf__duration__init(&p->every);
    google__protobuf__timestamp__init(&p->start);
    google__protobuf__timestamp__init(&p->at);
}

static void sched_cleanup(sched_parts_t *p)
{
    if (p->inputs)
        protobuf_c_message_free_unpacked(&p->inputs->base, NULL);
    free(p->workflow);
}

int cli_cmd_schedule_create(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__CreateScheduleRequest req = ORCHESTRATOR__V1__CREATE_SCHEDULE_REQUEST__INIT;
    sched_parts_t p;
    int err;

    sched_init(&p);
    if ((err = sched_trigger(args, &p)))
        goto out;
    if (!p.trigger) {
        err = cli_usage_error("schedule create wants a trigger: --every, --cron or --at");
        goto out;
    }
    if ((err = cli_workflow_arg(ctx, args->pos[1], &p.workflow)))
        goto out;
    p.s.name = (char *)args->pos[0];
    p.s.workflow_name = p.workflow;
    p.s.enabled = cli_args_get(args, "disabled") == NULL;
    req.schedule = &p.s;
    req.request_id = cli_request_id(args);
    err = cli_call_print(ctx, SVC "CreateSchedule", &req.base,
                         &orchestrator__v1__schedule__descriptor, print_schedule);
out:
    sched_cleanup(&p);
    return err;
}

int cli_cmd_schedule_update(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__UpdateScheduleRequest req = ORCHESTRATOR__V1__UPDATE_SCHEDULE_REQUEST__INIT;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    const char *name = cli_args_get(args, "name");
    const char *workflow = cli_args_get(args, "workflow");
    bool enable = cli_args_get(args, "enable") != NULL;
    bool disable = cli_args_get(args, "disable") != NULL;
    char *paths[8];
    char id[37];
    long long v = 0;
    sched_parts_t p;
    int err;

    sched_init(&p);
    if ((err = cli_args_version(args, &v)))
        goto out;
    if (!v) {
        err = cli_usage_error("schedule update wants --version N (see 'orchctl --json schedule "
                              "list')");
        goto out;
    }
    if ((err = sched_trigger(args, &p)))
        goto out;
    if (enable && disable) {
        err = cli_usage_error("--enable and --disable exclude each other");
        goto out;
    }
    p.s.schedule_id = (char *)cli_id(args->pos[0], id);
    p.s.version = v;
    if (name) {
        p.s.name = (char *)name;
        paths[mask.n_paths++] = "name";
    }
    if (workflow) {
        if ((err = cli_workflow_arg(ctx, workflow, &p.workflow)))
            goto out;
        p.s.workflow_name = p.workflow;
        paths[mask.n_paths++] = "workflow_name";
    }
    if (p.inputs)
        paths[mask.n_paths++] = "user_inputs";
    if (p.trigger)
        paths[mask.n_paths++] = (char *)p.trigger;
    if (enable || disable) {
        p.s.enabled = enable;
        paths[mask.n_paths++] = "enabled";
    }
    if (!mask.n_paths) {
        err = cli_usage_error("nothing to change: give --name, --workflow, a trigger, --input, "
                              "--enable or --disable");
        goto out;
    }
    mask.paths = paths;
    req.schedule = &p.s;
    req.update_mask = &mask;
    req.request_id = cli_request_id(args);
    err = cli_call_print(ctx, SVC "UpdateSchedule", &req.base,
                         &orchestrator__v1__schedule__descriptor, print_schedule);
out:
    sched_cleanup(&p);
    return err;
}

int cli_cmd_schedule_delete(cli_ctx_t *ctx, const cli_args_t *args)
{
    Orchestrator__V1__DeleteScheduleRequest req = ORCHESTRATOR__V1__DELETE_SCHEDULE_REQUEST__INIT;
    char id[37];
    long long v;
    int err;
    if ((err = cli_args_version(args, &v)))
        return err;
    req.schedule_id = (char *)cli_id(args->pos[0], id);
    req.version = v;
    req.request_id = cli_request_id(args);
    return cli_call_confirm(ctx, SVC "DeleteSchedule", &req.base,
                            &orchestrator__v1__delete_schedule_response__descriptor,
                            "Schedule %s deleted", req.schedule_id);
}
