/* Scale-out and crash safety with several real replicas on one database:
 *  - three replicas started together migrate once, load the default schedule once, all
 *    serve and list each other (ListReplicas); the schedule API and its validation;
 *  - SIGKILL of a replica holding leases (30 s lease): another replica takes its processes
 *    over within seconds and finishes them, exactly one committed row per step key;
 *  - fencing: a replica SIGSTOPped in a step past the takeover has its commit refused after
 *    SIGCONT (asserted from its log); a replica cut from PostgreSQL by a proxy commits
 *    nothing after its lease moved on and serves again once reconnected;
 *  - a 1-second schedule with three replicas, one killed midway: each due time ran once;
 *  - pause reports PAUSING on every replica while a step runs anywhere, then PAUSED;
 *  - duplicate retry / abort sent concurrently to two replicas act once.
 * Invariants are read from the database. */
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"
#include "orchestrator/v1/engine.pb-c.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "proxy.h"

#define PS "/orchestrator.v1.ProcessService/"
#define ES "/orchestrator.v1.EngineService/"
#define FLAKY_KEYS 7 /* prepare, flaky, waiting, finish.a, finish.b, maybe, done */

static void msleep(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void env_reset(void)
{
    setenv("ORCH_TEST_WORKFLOWS", "1", 1);
    unsetenv("ORCH_TEST_HOLD_STEP");
    unsetenv("ORCH_TEST_HOLD_MS");
    unsetenv("ORCH_TEST_HOLD_HANDOFF_MS");
    unsetenv("ORCH_TEST_WORKFLOW_VERSIONS");
}

/* One value from a query, as an integer (text results: strtoll of the text). */
static long long scalar(const char *dbname, const char *fmt, ...)
{
    char q[2048], ci[512];
    va_list ap;
    PGconn *c;
    PGresult *r;
    long long v;
    harness_conninfo(dbname, ci);
    c = PQconnectdb(ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    va_start(ap, fmt);
    vsnprintf(q, sizeof(q), fmt, ap);
    va_end(ap);
    r = PQexec(c, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", q, PQerrorMessage(c));
    v = PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

static int call(harness_server_t *s, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *d, ProtobufCMessage **out, cli_status_t *st)
{
    ProtobufCMessage *resp = NULL;
    cli_status_cleanup(st); /* what an earlier call left in it */
    cli_call_unary(s->ch, method, req, d, 15000, &resp, st);
    if (out)
        *out = resp;
    else if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return st->code;
}

/* StartProcess of test_flaky with fail_times; *id (64 bytes). */
static void start_flaky(harness_server_t *s, int fail_times, char *id)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    Google__Protobuf__Struct page = GOOGLE__PROTOBUF__STRUCT__INIT, *pages[1] = {&page};
    Google__Protobuf__Struct__FieldsEntry e = GOOGLE__PROTOBUF__STRUCT__FIELDS_ENTRY__INIT,
                                          *es[1] = {&e};
    Google__Protobuf__Value v = GOOGLE__PROTOBUF__VALUE__INIT;
    Orchestrator__V1__StartProcessResponse *r = NULL;
    cli_status_t st = {0};
    v.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
    v.number_value = fail_times;
    e.key = "fail_times";
    e.value = &v;
    page.n_fields = 1;
    page.fields = es;
    req.workflow_name = "test_flaky";
    req.n_user_inputs = 1;
    req.user_inputs = pages;
    if (call(s, PS "StartProcess", &req.base, &orchestrator__v1__start_process_response__descriptor,
             (ProtobufCMessage **)&r, &st) != 0)
        fail_msg("StartProcess: %d %s", st.code, st.message);
    snprintf(id, 64, "%s", r->process->process_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);
}

/* Waits until the SQL condition (one boolean) holds; fails after ms. Returns the ms taken. */
static int wait_sql(const char *db, int ms, const char *what, const char *fmt, ...)
{
    char q[2048];
    va_list ap;
    int64_t start = now_ms();
    va_start(ap, fmt);
    vsnprintf(q, sizeof(q), fmt, ap);
    va_end(ap);
    for (;;) {
        if (scalar(db, "SELECT (%s)::int", q) == 1)
            return (int)(now_ms() - start);
        if (now_ms() - start > ms)
            fail_msg("waited %d ms for %s", ms, what);
        msleep(100);
    }
}

/* No step key committed twice for any process. */
static void assert_steps_once(const char *db)
{
    assert_int_equal(scalar(db, "SELECT count(*) FROM (SELECT process_id, step_key FROM "
                                "process_steps WHERE status IN ('success', 'skipped', "
                                "'complete') GROUP BY 1, 2 HAVING count(*) > 1) d"),
                     0);
}

static char *replica_id_of(harness_server_t *s, char *out)
{
    char q[256];
    long long pid = s->pid;
    (void)q;
    snprintf(out, 64, "%s", "");
    {
        char ci[512];
        PGconn *c;
        PGresult *r;
        harness_conninfo(s->dbname, ci);
        c = PQconnectdb(ci);
        snprintf(q, sizeof(q),
                 "SELECT replica_id FROM replicas WHERE pid = %lld ORDER BY start_time DESC "
                 "LIMIT 1",
                 pid);
        r = PQexec(c, q);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            snprintf(out, 64, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        PQfinish(c);
    }
    assert_true(out[0] != '\0');
    return out;
}

/* ---- start-up, replicas, schedule API ---------------------------------------------------- */

typedef struct starter {
    harness_server_t *s;
    const char *db;
    const char *const *args;
} starter_t;

static void *start_thread(void *arg)
{
    starter_t *t = arg;
    harness_server_start(t->s, t->db, t->args);
    return NULL;
}

static void start_together(harness_server_t *s, int n, const char *db, const char *const *args)
{
    pthread_t th[4];
    starter_t st[4];
    for (int i = 0; i < n; i++) {
        st[i] = (starter_t){&s[i], db, args};
        pthread_create(&th[i], NULL, start_thread, &st[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}

static Orchestrator__V1__ListReplicasResponse *list_replicas(harness_server_t *s,
                                                             const char *filter)
{
    Orchestrator__V1__ListReplicasRequest req = ORCHESTRATOR__V1__LIST_REPLICAS_REQUEST__INIT;
    Orchestrator__V1__ListReplicasResponse *r = NULL;
    cli_status_t st = {0};
    req.filter = (char *)filter;
    if (call(s, ES "ListReplicas", &req.base, &orchestrator__v1__list_replicas_response__descriptor,
             (ProtobufCMessage **)&r, &st) != 0)
        fail_msg("ListReplicas: %d %s", st.code, st.message);
    cli_status_cleanup(&st);
    return r;
}

static int create_schedule(harness_server_t *s, Orchestrator__V1__Schedule *sc,
                           Orchestrator__V1__Schedule **out, cli_status_t *st)
{
    Orchestrator__V1__CreateScheduleRequest req = ORCHESTRATOR__V1__CREATE_SCHEDULE_REQUEST__INIT;
    req.schedule = sc;
    return call(s, ES "CreateSchedule", &req.base, &orchestrator__v1__schedule__descriptor,
                (ProtobufCMessage **)out, st);
}

static void three_replicas_start_together(void **state)
{
    harness_server_t s[3];
    char db[64];
    Orchestrator__V1__ListReplicasResponse *r;
    Orchestrator__V1__Schedule sc = ORCHESTRATOR__V1__SCHEDULE__INIT, *got = NULL;
    Orchestrator__V1__CronTrigger cron = ORCHESTRATOR__V1__CRON_TRIGGER__INIT;
    Orchestrator__V1__IntervalTrigger iv = ORCHESTRATOR__V1__INTERVAL_TRIGGER__INIT;
    Google__Protobuf__Duration d = GOOGLE__PROTOBUF__DURATION__INIT;
    cli_status_t st = {0};
    (void)state;

    env_reset();
    harness_db_create(db);
    start_together(s, 3, db, NULL);
    /* Migrations ran once; the default schedule was loaded once, disabled or not. */
    assert_int_equal(scalar(db, "SELECT count(*) FROM schema_migrations"),
                     scalar(db, "SELECT count(DISTINCT version) FROM schema_migrations"));
    assert_int_equal(scalar(db, "SELECT count(*) FROM replicas"), 3);
    assert_int_equal(scalar(db, "SELECT count(*) FROM schedules WHERE created_by = 'system'"), 3);
    assert_int_equal(scalar(db, "SELECT count(*) FROM schedules s JOIN workflows w USING "
                                "(workflow_id) WHERE w.name IN ('task_resume_workflows', "
                                "'task_clean_up_tasks', 'task_validate_products')"),
                     3);
    /* Every replica serves and sees the three. */
    for (int i = 0; i < 3; i++) {
        r = list_replicas(&s[i], "state = \"serving\"");
        assert_int_equal(r->n_replicas, 3);
        assert_int_equal(r->total_size, 3);
        assert_int_equal(r->replicas[0]->state,
                         ORCHESTRATOR__V1__REPLICA_STATE__REPLICA_STATE_SERVING);
        assert_true(r->replicas[0]->worker_count >= 1);
        assert_non_null(r->replicas[0]->heartbeat_time);
        assert_true(r->replicas[0]->n_workflow_versions >= 4);
        assert_true(r->replicas[0]->start_time->seconds <= r->replicas[2]->start_time->seconds);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    {
        /* Paging and a filter error. */
        Orchestrator__V1__ListReplicasRequest req = ORCHESTRATOR__V1__LIST_REPLICAS_REQUEST__INIT;
        Orchestrator__V1__ListReplicasResponse *p1 = NULL, *p2 = NULL;
        req.page_size = 2;
        assert_int_equal(call(&s[0], ES "ListReplicas", &req.base,
                              &orchestrator__v1__list_replicas_response__descriptor,
                              (ProtobufCMessage **)&p1, &st),
                         0);
        assert_int_equal(p1->n_replicas, 2);
        req.page_token = p1->next_page_token;
        assert_int_equal(call(&s[0], ES "ListReplicas", &req.base,
                              &orchestrator__v1__list_replicas_response__descriptor,
                              (ProtobufCMessage **)&p2, &st),
                         0);
        assert_int_equal(p2->n_replicas, 1);
        assert_string_equal(p2->next_page_token, "");
        assert_string_not_equal(p2->replicas[0]->replica_id, p1->replicas[0]->replica_id);
        assert_string_not_equal(p2->replicas[0]->replica_id, p1->replicas[1]->replica_id);
        protobuf_c_message_free_unpacked(&p1->base, NULL);
        protobuf_c_message_free_unpacked(&p2->base, NULL);
        req.page_token = "";
        req.filter = "state = \"asleep\"";
        assert_int_equal(call(&s[0], ES "ListReplicas", &req.base,
                              &orchestrator__v1__list_replicas_response__descriptor, NULL, &st),
                         3);
        assert_string_equal(st.violations[0].field, "filter");
        cli_status_cleanup(&st);
    }

    /* Schedule API: a bad cron expression names the field and the cron field. */
    sc.name = "nightly";
    sc.workflow_name = "task_validate_products";
    sc.enabled = true;
    sc.trigger_case = ORCHESTRATOR__V1__SCHEDULE__TRIGGER_CRON;
    sc.cron = &cron;
    cron.expression = "0 25 * * *";
    assert_int_equal(create_schedule(&s[0], &sc, NULL, &st), 3);
    assert_string_equal(st.reason, "INVALID_CRON_EXPRESSION");
    assert_string_equal(st.violations[0].field, "schedule.cron.expression");
    assert_non_null(strstr(st.violations[0].description, "hour field"));
    cli_status_cleanup(&st);
    /* Several wrong fields at once: one violation each. */
    sc.name = "";
    sc.workflow_name = "no_such_task";
    assert_int_equal(create_schedule(&s[0], &sc, NULL, &st), 3);
    assert_int_equal(st.nviolations, 3);
    assert_string_equal(st.violations[0].field, "schedule.name");
    assert_string_equal(st.violations[1].field, "schedule.workflow_name");
    assert_string_equal(st.violations[2].field, "schedule.cron.expression");
    cli_status_cleanup(&st);
    sc.name = "every minute";
    sc.workflow_name = "task_validate_products";
    sc.trigger_case = ORCHESTRATOR__V1__SCHEDULE__TRIGGER_INTERVAL;
    sc.interval = &iv;
    iv.interval = &d;
    d.seconds = 0;
    assert_int_equal(create_schedule(&s[1], &sc, NULL, &st), 3);
    assert_string_equal(st.violations[0].field, "schedule.interval.interval");
    cli_status_cleanup(&st);
    d.seconds = 60;
    assert_int_equal(create_schedule(&s[1], &sc, &got, &st), 0);
    cli_status_cleanup(&st);
    assert_int_equal(got->version, 1);
    assert_non_null(got->next_run_time);
    assert_int_equal(got->interval->interval->seconds, 60);
    /* The same name again is refused. */
    assert_int_equal(create_schedule(&s[2], &sc, NULL, &st), 6);
    assert_string_equal(st.reason, "SCHEDULE_NAME_TAKEN");
    cli_status_cleanup(&st);
    {
        /* Update to a cron expression (version checked), list, delete. */
        Orchestrator__V1__UpdateScheduleRequest ur =
            ORCHESTRATOR__V1__UPDATE_SCHEDULE_REQUEST__INIT;
        Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
        char *paths[] = {"cron"};
        Orchestrator__V1__Schedule up = ORCHESTRATOR__V1__SCHEDULE__INIT, *u = NULL;
        Orchestrator__V1__ListSchedulesRequest lr = ORCHESTRATOR__V1__LIST_SCHEDULES_REQUEST__INIT;
        Orchestrator__V1__ListSchedulesResponse *l = NULL;
        Orchestrator__V1__DeleteScheduleRequest dr =
            ORCHESTRATOR__V1__DELETE_SCHEDULE_REQUEST__INIT;
        mask.n_paths = 1;
        mask.paths = paths;
        up.schedule_id = got->schedule_id;
        up.version = 1;
        up.trigger_case = ORCHESTRATOR__V1__SCHEDULE__TRIGGER_CRON;
        up.cron = &cron;
        cron.expression = "*/5 * * * MON-FRI";
        ur.schedule = &up;
        ur.update_mask = &mask;
        assert_int_equal(call(&s[2], ES "UpdateSchedule", &ur.base,
                              &orchestrator__v1__schedule__descriptor, (ProtobufCMessage **)&u,
                              &st),
                         0);
        assert_int_equal(u->version, 2);
        assert_int_equal(u->trigger_case, ORCHESTRATOR__V1__SCHEDULE__TRIGGER_CRON);
        assert_int_equal(u->next_run_time->seconds % 300, 0);
        protobuf_c_message_free_unpacked(&u->base, NULL);
        assert_int_equal(call(&s[2], ES "UpdateSchedule", &ur.base,
                              &orchestrator__v1__schedule__descriptor, NULL, &st),
                         10);
        assert_string_equal(st.reason, "VERSION_CONFLICT");
        cli_status_cleanup(&st);
        lr.filter = "kind = \"cron\"";
        assert_int_equal(call(&s[0], ES "ListSchedules", &lr.base,
                              &orchestrator__v1__list_schedules_response__descriptor,
                              (ProtobufCMessage **)&l, &st),
                         0);
        assert_int_equal(l->n_schedules, 2); /* validate products (default), every minute */
        protobuf_c_message_free_unpacked(&l->base, NULL);
        lr.filter = "";
        assert_int_equal(call(&s[0], ES "ListSchedules", &lr.base,
                              &orchestrator__v1__list_schedules_response__descriptor,
                              (ProtobufCMessage **)&l, &st),
                         0);
        assert_int_equal(l->total_size, 4);
        protobuf_c_message_free_unpacked(&l->base, NULL);
        dr.schedule_id = got->schedule_id;
        dr.version = 1;
        assert_int_equal(call(&s[0], ES "DeleteSchedule", &dr.base,
                              &orchestrator__v1__delete_schedule_response__descriptor, NULL, &st),
                         10);
        cli_status_cleanup(&st);
        dr.version = 2;
        assert_int_equal(call(&s[0], ES "DeleteSchedule", &dr.base,
                              &orchestrator__v1__delete_schedule_response__descriptor, NULL, &st),
                         0);
        assert_int_equal(call(&s[1], ES "DeleteSchedule", &dr.base,
                              &orchestrator__v1__delete_schedule_response__descriptor, NULL, &st),
                         5);
        assert_string_equal(st.reason, "SCHEDULE_NOT_FOUND");
        cli_status_cleanup(&st);
    }
    protobuf_c_message_free_unpacked(&got->base, NULL);
    cli_status_cleanup(&st);
    for (int i = 0; i < 3; i++)
        assert_int_equal(harness_server_stop(&s[i]), 0);
    /* A restart does not bring back a deleted default. */
    assert_int_equal(scalar(db, "WITH d AS (DELETE FROM schedules WHERE created_by = 'system' "
                                "RETURNING 1) SELECT count(*) FROM d"),
                     3);
    harness_server_start(&s[0], db, NULL);
    assert_int_equal(scalar(db, "SELECT count(*) FROM schedules"), 0);
    r = list_replicas(&s[0], "state = \"stopped\"");
    assert_int_equal(r->n_replicas, 3);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    assert_int_equal(harness_server_stop(&s[0]), 0);
    harness_db_drop(db);
}

/* ---- SIGKILL while holding leases -------------------------------------------------------- */

static void sigkill_replica_holding_leases(void **state)
{
    harness_server_t a, b;
    char ids[4][64], rid_a[64], db[64];
    const char *const args[] = {"--lease-ms=30000", NULL};
    Orchestrator__V1__ListReplicasResponse *r;
    int took;
    (void)state;

    env_reset();
    setenv("ORCH_TEST_HOLD_STEP", "prepare", 1);
    harness_server_start(&a, NULL, args);
    snprintf(db, sizeof(db), "%s", a.dbname);
    replica_id_of(&a, rid_a);
    for (int i = 0; i < 4; i++)
        start_flaky(&a, 0, ids[i]);
    /* A's two workers hold a step each, under 30-second leases it keeps renewing. */
    wait_sql(db, 10000, "A to hold two steps",
             "SELECT count(*) = 2 FROM processes WHERE lease_owner = '%s' AND "
             "running_step_key = 'prepare'",
             rid_a);
    env_reset();
    harness_server_start(&b, db, args);
    wait_sql(db, 15000, "B to finish the two free processes",
             "SELECT count(*) = 2 FROM processes WHERE last_status = 'completed'");
    kill(a.pid, SIGKILL);
    harness_server_stop(&a); /* reaps it */
    /* Taken over well before the 30-second leases would expire. */
    took = wait_sql(db, 15000, "B to take over and finish A's processes",
                    "SELECT count(*) = 4 FROM processes WHERE last_status = 'completed'");
    print_message("A's processes finished %d ms after its SIGKILL\n", took);
    assert_true(took < 15000);
    assert_steps_once(db);
    assert_int_equal(scalar(db, "SELECT count(*) FROM process_steps WHERE status IN ('success', "
                                "'skipped', 'complete')"),
                     4 * FLAKY_KEYS);
    assert_int_equal(
        scalar(db, "SELECT count(*) FROM process_steps WHERE executed_by = '%s'", rid_a), 0);
    assert_int_equal(scalar(db, "SELECT count(*) FROM processes WHERE lease_owner = '%s'", rid_a),
                     0);
    r = list_replicas(&b, "state = \"lost\"");
    assert_int_equal(r->n_replicas, 1);
    assert_string_equal(r->replicas[0]->replica_id, rid_a);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    assert_int_equal(harness_server_stop(&b), 0);
    harness_db_drop(db);
}

/* ---- the hand-off of a new process ------------------------------------------------------- */

typedef struct flaky_starter {
    harness_server_t *s;
    char id[64];
} flaky_starter_t;

static void *start_flaky_thread(void *arg)
{
    flaky_starter_t *t = arg;
    start_flaky(t->s, 0, t->id);
    return NULL;
}

/* StartProcess promised P1 the one idle worker; between P1's commit and its hand-off, P2 is
 * created unleased (no worker left to promise) and its NOTIFY wakes that worker. The worker
 * must wait for P1, not claim P2: else the replica holds P1 leased with no worker free to
 * run it, while another replica could. The hold forces the order; no timing decides. */
static void promised_worker_waits_for_handoff(void **state)
{
    harness_server_t a;
    flaky_starter_t p1;
    pthread_t th;
    char p2[64], db[64], held[128];
    const char *const args[] = {"--workers=1", "--poll-ms=600000", NULL};
    (void)state;

    env_reset();
    setenv("ORCH_TEST_HOLD_STEP", "prepare", 1);
    setenv("ORCH_TEST_HOLD_HANDOFF_MS", "1500", 1);
    harness_server_start(&a, NULL, args);
    snprintf(db, sizeof(db), "%s", a.dbname);
    /* The worker's first claim finds nothing, then it idles: give it that moment, and check
     * below that P1 was promised to it (else this test would prove nothing). */
    msleep(300);
    p1.s = &a;
    pthread_create(&th, NULL, start_flaky_thread, &p1);
    assert_true(harness_wait_log(&a, "holding the hand-off", 10000));
    start_flaky(&a, 0, p2); /* while P1's hand-off is held */
    pthread_join(th, NULL);
    assert_true(harness_wait_log(&a, "holding step prepare", 10000));
    snprintf(held, sizeof(held), "holding step prepare of process %s", p1.id);
    assert_true(harness_log_has(&a, held)); /* the worker ran P1, the process promised it */
    assert_int_equal(
        scalar(db, "SELECT count(*) FROM processes WHERE process_id = '%s' AND lease_owner IS NULL",
               p2),
        1); /* and left P2 for anyone */
    assert_int_equal(harness_server_stop(&a), 0);
    harness_db_drop(db);
}

/* ---- fencing ----------------------------------------------------------------------------- */

static void stale_commit_refused_after_sigstop(void **state)
{
    harness_server_t a, b;
    char id[64], rid_a[64], rid_b[64], db[64];
    const char *const args[] = {"--lease-ms=30000", NULL};
    (void)state;

    env_reset();
    setenv("ORCH_TEST_HOLD_STEP", "prepare", 1);
    setenv("ORCH_TEST_HOLD_MS", "6000", 1);
    harness_server_start(&a, NULL, args);
    snprintf(db, sizeof(db), "%s", a.dbname);
    replica_id_of(&a, rid_a);
    start_flaky(&a, 0, id);
    wait_sql(db, 10000, "A to run the step",
             "SELECT running_step_key = 'prepare' AND "
             "lease_owner = '%s' FROM processes WHERE process_id = '%s'",
             rid_a, id);
    env_reset();
    harness_server_start(&b, db, args);
    replica_id_of(&b, rid_b);
    kill(a.pid, SIGSTOP); /* mid-step: no heartbeats, its transaction stays open */
    wait_sql(db, 15000, "B to take over and finish",
             "SELECT last_status = 'completed' FROM processes WHERE process_id = '%s'", id);
    kill(a.pid, SIGCONT);
    /* A wakes up past its hold and tries to commit the step under its old token. */
    assert_true(harness_wait_log(&a, "step prepare not committed", 8000));
    assert_true(harness_log_has(&a, "was taken over"));
    assert_steps_once(db);
    assert_int_equal(scalar(db,
                            "SELECT count(*) FROM process_steps WHERE process_id = '%s' AND "
                            "step_key = 'prepare'",
                            id),
                     1);
    assert_int_equal(scalar(db,
                            "SELECT count(*) FROM process_steps WHERE process_id = '%s' AND "
                            "step_key = 'prepare' AND executed_by = '%s'",
                            id, rid_b),
                     1);
    assert_int_equal(harness_server_stop(&a), 0);
    assert_int_equal(harness_server_stop(&b), 0);
    harness_db_drop(db);
}

static void replica_cut_from_postgres_cannot_commit(void **state)
{
    harness_server_t a, b;
    char sock[256], url[512], id[64], rid_a[64], db[64];
    const char *const args_b[] = {"--lease-ms=30000", NULL};
    Orchestrator__V1__ListReplicasResponse *r;
    test_proxy_t *px;
    (void)state;

    env_reset();
    snprintf(sock, sizeof(sock), "%s/.s.PGSQL.%s", getenv("ORCH_TEST_PGHOST"),
             getenv("ORCH_TEST_PGPORT"));
    px = test_proxy_start(sock);
    harness_db_create(db);
    snprintf(url, sizeof(url), "host=127.0.0.1 port=%d user=%s dbname=%s", test_proxy_port(px),
             getenv("ORCH_TEST_PGUSER"), db);
    setenv("ORCH_TEST_HOLD_STEP", "prepare", 1);
    setenv("ORCH_TEST_HOLD_MS", "4000", 1);
    harness_server_start(&a, db,
                         (const char *const[]){"--database-url", url, "--lease-ms=30000", NULL});
    replica_id_of(&a, rid_a);
    start_flaky(&a, 0, id);
    wait_sql(db, 10000, "A to run the step",
             "SELECT running_step_key = 'prepare' AND "
             "lease_owner = '%s' FROM processes WHERE process_id = '%s'",
             rid_a, id);
    env_reset();
    harness_server_start(&b, db, args_b);
    test_proxy_set_up(px, false);
    wait_sql(db, 15000, "B to take over and finish",
             "SELECT last_status = 'completed' FROM processes WHERE process_id = '%s'", id);
    test_proxy_set_up(px, true);
    /* A reconnects and heartbeats again; nothing it ran landed. */
    wait_sql(db, 15000, "A to heartbeat again",
             "SELECT heartbeat_time > now() - interval '2 seconds' FROM replicas WHERE "
             "replica_id = '%s'",
             rid_a);
    msleep(1000);
    r = list_replicas(&b, "state = \"serving\"");
    assert_int_equal(r->n_replicas, 2);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    assert_steps_once(db);
    assert_int_equal(
        scalar(db, "SELECT count(*) FROM process_steps WHERE executed_by = '%s'", rid_a), 0);
    assert_int_equal(scalar(db,
                            "SELECT count(*) FROM process_steps WHERE process_id = '%s' AND "
                            "status IN ('success', 'skipped', 'complete')",
                            id),
                     FLAKY_KEYS);
    /* A serves again: it runs new work to the end. */
    {
        char id2[64];
        start_flaky(&a, 0, id2);
        wait_sql(db, 15000, "the new process to complete",
                 "SELECT last_status = 'completed' FROM processes WHERE process_id = '%s'", id2);
    }
    assert_int_equal(harness_server_stop(&a), 0);
    assert_int_equal(harness_server_stop(&b), 0);
    test_proxy_stop(px);
    harness_db_drop(db);
}

/* ---- schedules with three replicas ------------------------------------------------------- */

static void schedule_fires_once_per_due_time(void **state)
{
    harness_server_t s[3];
    char db[64];
    Orchestrator__V1__Schedule sc = ORCHESTRATOR__V1__SCHEDULE__INIT, *got = NULL;
    Orchestrator__V1__IntervalTrigger iv = ORCHESTRATOR__V1__INTERVAL_TRIGGER__INIT;
    Google__Protobuf__Duration d = GOOGLE__PROTOBUF__DURATION__INIT;
    Google__Protobuf__Timestamp start = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    cli_status_t st = {0};
    long long runs, first, last;
    (void)state;

    env_reset();
    harness_db_create(db);
    start_together(s, 3, db, NULL);
    start.seconds = (int64_t)time(NULL) + 2;
    sc.name = "every second";
    sc.workflow_name = "task_validate_products";
    sc.enabled = true;
    sc.trigger_case = ORCHESTRATOR__V1__SCHEDULE__TRIGGER_INTERVAL;
    sc.interval = &iv;
    iv.interval = &d;
    iv.start_time = &start;
    d.seconds = 1;
    assert_int_equal(create_schedule(&s[0], &sc, &got, &st), 0);
    cli_status_cleanup(&st);
    assert_int_equal(got->next_run_time->seconds, start.seconds);
    msleep(6000);
    kill(s[2].pid, SIGKILL); /* mid-way, possibly inside a firing */
    harness_server_stop(&s[2]);
    msleep(6000);
    {
        Orchestrator__V1__UpdateScheduleRequest ur =
            ORCHESTRATOR__V1__UPDATE_SCHEDULE_REQUEST__INIT;
        Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
        char *paths[] = {"enabled"};
        Orchestrator__V1__Schedule up = ORCHESTRATOR__V1__SCHEDULE__INIT;
        mask.n_paths = 1;
        mask.paths = paths;
        up.schedule_id = got->schedule_id;
        up.version = 1;
        up.enabled = false;
        ur.schedule = &up;
        ur.update_mask = &mask;
        assert_int_equal(call(&s[1], ES "UpdateSchedule", &ur.base,
                              &orchestrator__v1__schedule__descriptor, NULL, &st),
                         0);
        cli_status_cleanup(&st);
    }
    runs = scalar(db, "SELECT count(*) FROM schedule_runs");
    first = scalar(db, "SELECT extract(epoch FROM min(due_time))::bigint FROM schedule_runs");
    last = scalar(db, "SELECT extract(epoch FROM max(due_time))::bigint FROM schedule_runs");
    print_message("%lld runs fired by %lld replicas\n", runs,
                  scalar(db, "SELECT count(DISTINCT fired_by) FROM schedule_runs"));
    /* Every due time from the first to the last ran, each exactly once, each with its task. */
    assert_int_equal(first, start.seconds);
    assert_true(runs >= 9);
    assert_int_equal(runs, last - first + 1);
    assert_int_equal(scalar(db, "SELECT count(DISTINCT due_time) FROM schedule_runs"), runs);
    assert_int_equal(scalar(db, "SELECT count(*) FROM schedule_runs WHERE due_time <> "
                                "date_trunc('second', due_time)"),
                     0);
    assert_int_equal(scalar(db, "SELECT count(*) FROM processes WHERE created_by = "
                                "'schedule every second'"),
                     runs);
    assert_int_equal(scalar(db, "SELECT count(*) FROM schedule_runs WHERE process_id IS NULL"), 0);
    assert_true(last >= (long long)time(NULL) - 3);
    wait_sql(db, 15000, "the scheduled tasks to complete",
             "SELECT bool_and(last_status = 'completed') FROM processes");
    assert_steps_once(db);
    protobuf_c_message_free_unpacked(&got->base, NULL);
    assert_int_equal(harness_server_stop(&s[0]), 0);
    assert_int_equal(harness_server_stop(&s[1]), 0);
    harness_db_drop(db);
}

/* ---- pause across replicas ------------------------------------------------------------------ */

static Orchestrator__V1__EngineStatus *engine(harness_server_t *s, const char *method)
{
    Orchestrator__V1__GetEngineStatusRequest req =
        ORCHESTRATOR__V1__GET_ENGINE_STATUS_REQUEST__INIT;
    Orchestrator__V1__EngineStatus *r = NULL;
    cli_status_t st = {0};
    if (call(s, method, &req.base, &orchestrator__v1__engine_status__descriptor,
             (ProtobufCMessage **)&r, &st) != 0)
        fail_msg("%s: %d %s", method, st.code, st.message);
    cli_status_cleanup(&st);
    return r;
}

static void pause_is_global(void **state)
{
    harness_server_t a, b;
    char id[64], db[64];
    Orchestrator__V1__EngineStatus *e;
    int64_t start;
    (void)state;

    env_reset();
    setenv("ORCH_TEST_HOLD_STEP", "prepare", 1);
    setenv("ORCH_TEST_HOLD_MS", "3000", 1);
    harness_server_start(&a, NULL, NULL);
    snprintf(db, sizeof(db), "%s", a.dbname);
    env_reset();
    harness_server_start(&b, db, (const char *const[]){"--workers=0", NULL});
    start_flaky(&b, 0, id);
    wait_sql(db, 10000, "A to run the step",
             "SELECT running_step_key = 'prepare' FROM processes WHERE process_id = '%s'", id);
    /* Paused through B while A runs a step: PAUSING everywhere. */
    e = engine(&b, ES "PauseEngine");
    assert_int_equal(e->state, ORCHESTRATOR__V1__ENGINE_STATE__ENGINE_STATE_PAUSING);
    assert_int_equal(e->running_step_count, 1);
    assert_int_equal(e->replica_count, 2);
    protobuf_c_message_free_unpacked(&e->base, NULL);
    e = engine(&a, ES "GetEngineStatus");
    assert_int_equal(e->state, ORCHESTRATOR__V1__ENGINE_STATE__ENGINE_STATE_PAUSING);
    protobuf_c_message_free_unpacked(&e->base, NULL);
    start = now_ms();
    for (;;) {
        e = engine(&a, ES "GetEngineStatus");
        if (e->state == ORCHESTRATOR__V1__ENGINE_STATE__ENGINE_STATE_PAUSED)
            break;
        assert_int_equal(e->state, ORCHESTRATOR__V1__ENGINE_STATE__ENGINE_STATE_PAUSING);
        protobuf_c_message_free_unpacked(&e->base, NULL);
        if (now_ms() - start > 10000)
            fail_msg("still PAUSING after 10 s");
        msleep(100);
    }
    protobuf_c_message_free_unpacked(&e->base, NULL);
    e = engine(&b, ES "GetEngineStatus");
    assert_int_equal(e->state, ORCHESTRATOR__V1__ENGINE_STATE__ENGINE_STATE_PAUSED);
    assert_int_equal(e->running_step_count, 0);
    protobuf_c_message_free_unpacked(&e->base, NULL);
    /* The held step committed; nothing runs after it while paused. */
    assert_int_equal(scalar(db, "SELECT count(*) FROM process_steps WHERE process_id = '%s'", id),
                     1);
    msleep(800);
    assert_int_equal(scalar(db, "SELECT count(*) FROM process_steps WHERE process_id = '%s'", id),
                     1);
    e = engine(&a, ES "ResumeEngine");
    assert_int_equal(e->state, ORCHESTRATOR__V1__ENGINE_STATE__ENGINE_STATE_RUNNING);
    protobuf_c_message_free_unpacked(&e->base, NULL);
    wait_sql(db, 15000, "the process to complete after resume",
             "SELECT last_status = 'completed' FROM processes WHERE process_id = '%s'", id);
    assert_steps_once(db);
    assert_int_equal(harness_server_stop(&a), 0);
    assert_int_equal(harness_server_stop(&b), 0);
    harness_db_drop(db);
}

/* ---- duplicate actions at two replicas ------------------------------------------------------ */

typedef struct dup {
    harness_server_t *s;
    const char *method, *id;
    int code, outcome;
} dup_t;

static void *dup_thread(void *arg)
{
    dup_t *t = arg;
    cli_status_t st = {0};
    if (strstr(t->method, "Retry")) {
        Orchestrator__V1__RetryProcessRequest req = ORCHESTRATOR__V1__RETRY_PROCESS_REQUEST__INIT;
        Orchestrator__V1__RetryProcessResponse *r = NULL;
        req.process_id = (char *)t->id;
        t->code =
            call(t->s, t->method, &req.base, &orchestrator__v1__retry_process_response__descriptor,
                 (ProtobufCMessage **)&r, &st);
        if (r) {
            t->outcome = r->outcome;
            protobuf_c_message_free_unpacked(&r->base, NULL);
        }
    } else {
        Orchestrator__V1__AbortProcessRequest req = ORCHESTRATOR__V1__ABORT_PROCESS_REQUEST__INIT;
        Orchestrator__V1__AbortProcessResponse *r = NULL;
        req.process_id = (char *)t->id;
        req.reason = "duplicate test";
        t->code =
            call(t->s, t->method, &req.base, &orchestrator__v1__abort_process_response__descriptor,
                 (ProtobufCMessage **)&r, &st);
        if (r) {
            t->outcome = r->outcome;
            protobuf_c_message_free_unpacked(&r->base, NULL);
        }
    }
    cli_status_cleanup(&st);
    return NULL;
}

static void both(harness_server_t *a, harness_server_t *b, const char *method, const char *id,
                 dup_t out[2])
{
    pthread_t t[2];
    out[0] = (dup_t){a, method, id, -1, 0};
    out[1] = (dup_t){b, method, id, -1, 0};
    pthread_create(&t[0], NULL, dup_thread, &out[0]);
    pthread_create(&t[1], NULL, dup_thread, &out[1]);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
}

static void duplicate_actions_at_two_replicas(void **state)
{
    harness_server_t a, b;
    char id[64], id2[64], db[64];
    dup_t r[2];
    (void)state;

    env_reset();
    harness_server_start(&a, NULL, NULL);
    snprintf(db, sizeof(db), "%s", a.dbname);
    harness_server_start(&b, db, NULL);
    /* Retry: one APPLIED, one ALREADY_APPLIED; the step runs again once. */
    start_flaky(&a, 1, id);
    wait_sql(db, 10000, "the process to fail",
             "SELECT last_status = 'failed' FROM processes WHERE process_id = '%s'", id);
    both(&a, &b, PS "RetryProcess", id, r);
    assert_int_equal(r[0].code, 0);
    assert_int_equal(r[1].code, 0);
    assert_int_equal(r[0].outcome + r[1].outcome, 3);
    assert_int_equal(scalar(db,
                            "SELECT count(*) FROM process_events WHERE process_id = '%s' AND "
                            "payload->>'new_status' = 'resumed'",
                            id),
                     1);
    wait_sql(db, 15000, "the retried process to complete",
             "SELECT last_status = 'completed' FROM processes WHERE process_id = '%s'", id);
    /* Retried again after it completed: it says the retry already happened. */
    both(&a, &b, PS "RetryProcess", id, r);
    assert_int_equal(r[0].outcome, 2);
    assert_int_equal(r[1].outcome, 2);
    assert_steps_once(db);
    /* Abort: one APPLIED, one ALREADY_APPLIED, one "aborted by" row. */
    start_flaky(&b, 5, id2);
    wait_sql(db, 10000, "the second process to fail",
             "SELECT last_status = 'failed' FROM processes WHERE process_id = '%s'", id2);
    both(&a, &b, PS "AbortProcess", id2, r);
    assert_int_equal(r[0].code, 0);
    assert_int_equal(r[1].code, 0);
    assert_int_equal(r[0].outcome + r[1].outcome, 3);
    assert_int_equal(scalar(db,
                            "SELECT count(*) FROM process_steps WHERE process_id = '%s' AND "
                            "step_key = 'aborted_by'",
                            id2),
                     1);
    assert_int_equal(harness_server_stop(&a), 0);
    assert_int_equal(harness_server_stop(&b), 0);
    harness_db_drop(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_replicas_start_together),
        cmocka_unit_test(sigkill_replica_holding_leases),
        cmocka_unit_test(promised_worker_waits_for_handoff),
        cmocka_unit_test(stale_commit_refused_after_sigstop),
        cmocka_unit_test(replica_cut_from_postgres_cannot_commit),
        cmocka_unit_test(schedule_fires_once_per_due_time),
        cmocka_unit_test(pause_is_global),
        cmocka_unit_test(duplicate_actions_at_two_replicas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
