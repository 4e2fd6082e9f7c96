/* The fault suite: three replicas run a real workload (chains of create_node -> modify_node ->
 * terminate_node on one node subscription each, every step held a few milliseconds before
 * its commit) while a fault is injected round after round:
 *  - sigkill: SIGKILL one of the three replicas, restart it, next round another one;
 *  - pg_restart: stop and start PostgreSQL itself (a private cluster of this test, since the
 *    shared test cluster serves other tests at the same time); in-flight RPCs fail with
 *    UNAVAILABLE, and the replicas back off and resume;
 *  - terminate_backends: pg_terminate_backend on every connection of the replicas.
 * After the last round the load drains and the invariants are read from the database: every
 * process reached a final state (none left in created / running / resumed), every committed
 * step appears once, no subscription is locked without an unfinished process, no lease is
 * held by a dead replica. Each case prints a row of the results table (fault, processes run,
 * completed, lost, duplicated steps, time to recover) and asserts lost == 0 and duplicated ==
 * 0. Two smaller cases pin what the rounds found, deterministically: a claim whose answer
 * was lost (the process must not stay leased to a live replica that never runs it) and a
 * start repeated after its first answer was lost (it must get that answer).
 * Two more rounds strike the engine of issue 17 where it is most fragile:
 *  - group_commit_kill: SIGKILL a replica while it holds a group commit of several processes
 *    open (ORCH_TEST_HOLD_GROUP_COMMIT_MS; the engine logs "holding group commit"). A build
 *    without group commit never logs it, and the case fails saying so;
 *  - stale_stretch: SIGSTOP a replica in the middle of a step, past its lease (--lease-ms),
 *    until another replica took the process over, then SIGCONT: its stale commit must be
 *    refused (its log says so) and nothing is committed twice.
 * Rounds: ORCH_FAULT_ROUNDS (bench/faults.sh --rounds N), a few by default; one case only:
 * ORCH_FAULT_CASE (a cmocka test name pattern). */
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/arena.h"
#include "harness.h"
#include "orchestrator/v1/engine.pb-c.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "server/rpc/codec.h"

#define PS "/orchestrator.v1.ProcessService/"
#define NREPLICAS 3
#define NCHAINS 6       /* chains in flight at once */
#define MAX_CHAINS 4096 /* chains one case may start in all */
#define DEAD_MS "3000"  /* --replica-dead-ms of the replicas (the default is 4500) */
#define DRAIN_MS 90000  /* how long the load may take to finish after the last fault */

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

static int rounds_wanted(int short_form)
{
    const char *v = getenv("ORCH_FAULT_ROUNDS");
    int n = v ? atoi(v) : 0;
    return n > 0 ? n : short_form;
}

/* ---- the database, read by the test ---------------------------------------------------- */

/* One integer from a query; -2 when the database cannot be reached or the query fails (the
 * callers poll through outages). */
static long long vscalar(const char *db, const char *fmt, va_list ap)
{
    char q[4096], ci[512];
    PGconn *c;
    PGresult *r;
    long long v = -2;
    harness_conninfo(db, ci);
    c = PQconnectdb(ci);
    if (PQstatus(c) == CONNECTION_OK) {
        vsnprintf(q, sizeof(q), fmt, ap);
        r = PQexec(c, q);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            v = PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    PQfinish(c);
    return v;
}

static long long try_scalar(const char *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static long long try_scalar(const char *db, const char *fmt, ...)
{
    va_list ap;
    long long v;
    va_start(ap, fmt);
    v = vscalar(db, fmt, ap);
    va_end(ap);
    return v;
}

/* The same, failing the test when the database does not answer. */
static long long scalar(const char *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long long scalar(const char *db, const char *fmt, ...)
{
    va_list ap;
    long long v;
    va_start(ap, fmt);
    v = vscalar(db, fmt, ap);
    va_end(ap);
    if (v == -2)
        fail_msg("query failed: %s", fmt);
    return v;
}

/* PostgreSQL's clock now, in ms since the epoch (the times in the tables are its own). */
static long long db_now_ms(const char *db)
{
    for (int i = 0; i < 100; i++) {
        long long v = try_scalar(db, "SELECT (extract(epoch FROM clock_timestamp()) * 1000)"
                                     "::bigint");
        if (v > 0)
            return v;
        msleep(100);
    }
    fail_msg("the database did not come back within 10 s");
    return -1;
}

/* Processes that were unfinished at t0 (ms since the epoch, database clock) and have not
 * committed a step since: the work a fault interrupted and nobody took up yet. */
static long long interrupted_since(const char *db, long long t0)
{
    return try_scalar(db,
                      "SELECT count(*) FROM processes p WHERE p.start_time < to_timestamp(%lld "
                      "/ 1000.0) AND p.last_status IN ('created', 'running', 'resumed') AND NOT "
                      "EXISTS (SELECT 1 FROM process_steps s WHERE s.process_id = p.process_id "
                      "AND s.end_time >= to_timestamp(%lld / 1000.0))",
                      t0, t0);
}

/* ms from t0 (database clock) until the interrupted work moved on again, or -1 after 60 s. */
static int time_to_recover(const char *db, long long t0)
{
    int64_t start = now_ms();
    while (now_ms() - start < 60000) {
        if (interrupted_since(db, t0) == 0)
            return (int)(db_now_ms(db) - t0);
        msleep(50);
    }
    return -1;
}

/* ---- three replicas whose addresses the load reads ------------------------------------- */

typedef struct fleet {
    harness_server_t s[NREPLICAS];
    const char *const *args; /* the replicas' flags (NULL: replica_args) */
    pthread_mutex_t mu;
    char addr[NREPLICAS][64]; /* "" while a replica is down; under mu */
    char db[64];
} fleet_t;

static const char *const replica_args[] = {"--replica-dead-ms=" DEAD_MS, "--log-level=info", NULL};

static void fleet_set_addr(fleet_t *f, int i, bool up)
{
    char a[64];
    snprintf(a, sizeof(a), "%s", up ? f->s[i].addr : "");
    pthread_mutex_lock(&f->mu);
    memcpy(f->addr[i], a, sizeof(a));
    pthread_mutex_unlock(&f->mu);
}

static void fleet_start(fleet_t *f)
{
    for (int i = 0; i < NREPLICAS; i++) {
        harness_server_start(&f->s[i], f->db, f->args ? f->args : replica_args);
        fleet_set_addr(f, i, true);
    }
}

/* The size of a replica's log now: where to look for what it logs next. */
static long log_size(const harness_server_t *s)
{
    struct stat sb;
    return stat(s->log_path, &sb) == 0 ? (long)sb.st_size : 0;
}

/* Whether the replica logged, after byte off, a line holding needle (and also one of the
 * words in any, case-insensitively, when any is not NULL). */
static bool log_has(const harness_server_t *s, long off, const char *needle, const char *const *any)
{
    FILE *f = fopen(s->log_path, "r");
    char line[4096];
    bool found = false;
    if (!f)
        return false;
    fseek(f, off, SEEK_SET);
    while (!found && fgets(line, sizeof(line), f)) {
        if (!strstr(line, needle))
            continue;
        if (!any)
            found = true;
        for (int i = 0; any && any[i] && !found; i++)
            found = strcasestr(line, any[i]) != NULL;
    }
    fclose(f);
    return found;
}

/* ---- the load: chains of create -> modify -> terminate -------------------------------- */

typedef struct chain {
    int stage;           /* 0 create_node, 1 modify_node, 2 terminate_node, 3 done */
    char pid[64];        /* the process of this stage ("" = not started yet) */
    char sub[64];        /* the node subscription, after the create */
    char request_id[40]; /* of this stage's start: a retry elsewhere starts nothing twice */
} chain_t;

typedef struct load {
    fleet_t *f;
    char product[64];
    atomic_int stop; /* 1: start no new chains; 2: give up */
    pthread_t thread;
    bool running;
    chain_t chains[MAX_CHAINS];
    int nchains;
    /* Results, read after the join. */
    int processes, chains_done, broken, start_retries;
    char last_error[256];
} load_t;

/* A random (v4) UUID: the request id of one stage's start. */
static void new_request_id(char out[40])
{
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(b, 1, sizeof(b), f) != sizeof(b))
        abort();
    fclose(f);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static const char *const stage_workflow[] = {"create_node", "modify_node", "terminate_node"};

/* StartProcess at one replica; the process id into id, the outcome (APPLIED, ALREADY_APPLIED)
 * into *outcome when not NULL. Returns the gRPC code. */
static int rpc_start(cli_channel_t *ch, const load_t *l, int n, const chain_t *c, char *id,
                     int *outcome, cli_status_t *st)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    orch_arena_t *a = orch_arena_new();
    char pages[512];
    json_t *arr;
    ProtobufCMessage *resp = NULL;

    if (c->stage == 0)
        snprintf(pages, sizeof(pages),
                 "[{\"customer_id\": \"fault-suite\", \"node_name\": \"node-%d\", "
                 "\"role_id\": 1, \"type_id\": 2, \"site_id\": %d}]",
                 n, n % 100);
    else if (c->stage == 1)
        snprintf(pages, sizeof(pages), "[{\"node_description\": \"modified under faults\"}]");
    else
        snprintf(pages, sizeof(pages), "[]");
    arr = json_loads(pages, 0, NULL);
    req.workflow_name = (char *)stage_workflow[c->stage];
    req.product_id = (char *)(c->stage == 0 ? l->product : "");
    req.subscription_id = (char *)(c->stage == 0 ? "" : c->sub);
    req.request_id = (char *)c->request_id;
    req.n_user_inputs = json_array_size(arr);
    req.user_inputs = orch_arena_alloc(a, (req.n_user_inputs + 1) * sizeof(void *));
    for (size_t i = 0; i < req.n_user_inputs; i++)
        req.user_inputs[i] = srv_codec_struct_from_json(a, json_array_get(arr, i));
    cli_status_cleanup(st);
    cli_call_unary(ch, PS "StartProcess", &req.base,
                   &orchestrator__v1__start_process_response__descriptor, 5000, &resp, st);
    if (resp) {
        Orchestrator__V1__StartProcessResponse *r = (void *)resp;
        if (r->result_case == ORCHESTRATOR__V1__START_PROCESS_RESPONSE__RESULT_PROCESS)
            snprintf(id, 64, "%s", r->process->process_id);
        if (outcome)
            *outcome = r->outcome;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    json_decref(arr);
    orch_arena_free(a);
    return st->code;
}

/* The process status and (for a create) the subscription it made. false: no answer. */
static bool poll_process(PGconn *pg, const char *pid, char *status, char *sub)
{
    const char *p[1] = {pid};
    PGresult *r = PQexecParams(pg,
                               "SELECT p.last_status, (SELECT ps.subscription_id::text FROM "
                               "processes_subscriptions ps WHERE ps.process_id = p.process_id "
                               "LIMIT 1) FROM processes p WHERE p.process_id = $1",
                               1, NULL, p, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (ok) {
        snprintf(status, 32, "%s", PQgetvalue(r, 0, 0));
        snprintf(sub, 64, "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return ok;
}

/* The load thread: keeps NCHAINS chains in flight, each stage started at the next replica
 * (a failed start is retried elsewhere with the same request id), its progress read from the
 * database. Uses its own channels (the replicas' addresses change when one restarts). */
static void *load_main(void *arg)
{
    load_t *l = arg;
    cli_channel_t *ch[NREPLICAS] = {0};
    char chaddr[NREPLICAS][64] = {{0}}, ci[512];
    PGconn *pg = NULL;
    int active[NCHAINS], next_replica = 0;
    cli_status_t st = {0};

    harness_conninfo(l->f->db, ci);
    for (int i = 0; i < NCHAINS; i++)
        active[i] = -1;
    while (atomic_load(&l->stop) < 2) {
        bool any = false;
        if (!pg || PQstatus(pg) != CONNECTION_OK) {
            PQfinish(pg);
            pg = PQconnectdb(ci);
            if (PQstatus(pg) != CONNECTION_OK) {
                msleep(100);
                continue;
            }
        }
        for (int k = 0; k < NCHAINS; k++) {
            chain_t *c;
            char status[32], sub[64];
            if (active[k] < 0) {
                if (atomic_load(&l->stop) || l->nchains >= MAX_CHAINS)
                    continue;
                active[k] = l->nchains++;
                memset(&l->chains[active[k]], 0, sizeof(chain_t));
            }
            any = true;
            c = &l->chains[active[k]];
            if (!c->pid[0]) {
                int r = next_replica++ % NREPLICAS, code;
                if (!c->request_id[0])
                    new_request_id(c->request_id);
                pthread_mutex_lock(&l->f->mu);
                if (strcmp(chaddr[r], l->f->addr[r]) != 0) {
                    cli_channel_free(ch[r]);
                    ch[r] = NULL;
                    snprintf(chaddr[r], sizeof(chaddr[r]), "%s", l->f->addr[r]);
                    if (chaddr[r][0])
                        ch[r] = cli_channel_new(chaddr[r], NULL);
                }
                pthread_mutex_unlock(&l->f->mu);
                if (!ch[r])
                    continue;
                code = rpc_start(ch[r], l, active[k], c, c->pid, NULL, &st);
                if (code != 0 || !c->pid[0]) {
                    c->pid[0] = '\0';
                    l->start_retries++;
                    snprintf(l->last_error, sizeof(l->last_error), "%s: %s %s",
                             stage_workflow[c->stage], cli_status_code_name(code),
                             st.message ? st.message : "");
                    continue;
                }
                l->processes++;
                continue;
            }
            if (!poll_process(pg, c->pid, status, sub))
                continue;
            if (strcmp(status, "completed") == 0) {
                if (c->stage == 0)
                    snprintf(c->sub, sizeof(c->sub), "%s", sub);
                c->stage++;
                c->pid[0] = '\0';
                c->request_id[0] = '\0';
                if (c->stage == 3) {
                    l->chains_done++;
                    active[k] = -1;
                }
            } else if (strcmp(status, "failed") == 0 || strcmp(status, "aborted") == 0 ||
                       strcmp(status, "inconsistent_data") == 0 ||
                       strcmp(status, "api_unavailable") == 0) {
                l->broken++; /* and lost, in the database's count */
                snprintf(l->last_error, sizeof(l->last_error), "process %s (%s) ended %s", c->pid,
                         stage_workflow[c->stage], status);
                active[k] = -1;
            }
        }
        if (!any && atomic_load(&l->stop))
            break;
        msleep(30);
    }
    cli_status_cleanup(&st);
    for (int i = 0; i < NREPLICAS; i++)
        cli_channel_free(ch[i]);
    PQfinish(pg);
    return NULL;
}

static void load_start(load_t *l, fleet_t *f)
{
    char ci[512];
    PGconn *c;
    PGresult *r;
    l->f = f;
    harness_conninfo(f->db, ci);
    c = PQconnectdb(ci);
    r = PQexec(c, "SELECT product_id FROM products WHERE name = 'node Cisco'");
    assert_int_equal(PQntuples(r), 1);
    snprintf(l->product, sizeof(l->product), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    assert_int_equal(pthread_create(&l->thread, NULL, load_main, l), 0);
    l->running = true;
}

/* Lets the chains in flight finish (no new ones), giving up after DRAIN_MS. Returns the ms
 * the drain took. */
static int load_drain(load_t *l)
{
    int64_t start = now_ms();
    if (!l->running)
        return 0;
    atomic_store(&l->stop, 1);
    for (;;) {
        /* The thread ends by itself once every chain is done or broken. */
        if (pthread_tryjoin_np(l->thread, NULL) == 0)
            break;
        if (now_ms() - start > DRAIN_MS) {
            atomic_store(&l->stop, 2);
            pthread_join(l->thread, NULL);
            break;
        }
        msleep(50);
    }
    l->running = false;
    return (int)(now_ms() - start);
}

/* ---- one case's resources, released by its teardown even when an assertion jumped out -- */

typedef struct fault_case {
    fleet_t f;
    load_t l;
    bool fleet_up, db_made;
    char pg_dir[64]; /* the private cluster of pg_restart ("" = none) */
    char *old_host, *old_port;
    int *recover;           /* ms each round took to recover */
    struct noop_feed *noop; /* group_commit_kill's no-op tasks (NULL in the other cases) */
} fault_case_t;

static int case_setup(void **state)
{
    fault_case_t *fc = calloc(1, sizeof(*fc));
    if (!fc)
        return -1;
    pthread_mutex_init(&fc->f.mu, NULL);
    setenv("ORCH_TEST_WORKFLOWS", "1", 1);
    setenv("ORCH_TEST_HOLD_STEP", "*", 1); /* every step takes a few milliseconds */
    setenv("ORCH_TEST_HOLD_MS", "5", 1);
    unsetenv("ORCH_TEST_WORKFLOW_VERSIONS");
    unsetenv("ORCH_SIM_CALLBACK_DIR");
    *state = fc;
    return 0;
}

static int pg_script(const char *verb, const char *dir, const char *port)
{
    char out[4096];
    const char *argv[] = {"/bin/bash", ORCH_SOURCE_DIR "/scripts/pg.sh", verb, dir,
                          port,        port ? "--fsync-off" : NULL,      NULL};
    int rc = harness_run(argv, out, sizeof(out));
    if (rc != 0)
        print_message("scripts/pg.sh %s %s: exit %d: %s\n", verb, dir, rc, out);
    return rc;
}

static void noop_stop(struct noop_feed *nf);

static int case_teardown(void **state)
{
    fault_case_t *fc = *state;
    if (fc->l.running) {
        atomic_store(&fc->l.stop, 2);
        pthread_join(fc->l.thread, NULL);
        fc->l.running = false;
    }
    if (fc->noop)
        noop_stop(fc->noop);
    for (int i = 0; i < NREPLICAS; i++)
        if (fc->f.s[i].pid > 0)
            harness_server_kill(&fc->f.s[i]);
    if (fc->db_made)
        harness_db_drop(fc->f.db);
    if (fc->old_host) {
        setenv("ORCH_TEST_PGHOST", fc->old_host, 1);
        setenv("ORCH_TEST_PGPORT", fc->old_port, 1);
    }
    if (fc->pg_dir[0])
        pg_script("destroy", fc->pg_dir, NULL);
    free(fc->old_host);
    free(fc->old_port);
    free(fc->recover);
    pthread_mutex_destroy(&fc->f.mu);
    free(fc);
    unsetenv("ORCH_TEST_HOLD_STEP");
    unsetenv("ORCH_TEST_HOLD_MS");
    unsetenv("ORCH_TEST_HOLD_GROUP_COMMIT_MS");
    return 0;
}

static void case_begin(fault_case_t *fc)
{
    harness_db_create(fc->f.db);
    fc->db_made = true;
    fleet_start(&fc->f);
    load_start(&fc->l, &fc->f);
}

/* Stops every replica with SIGTERM and asserts a clean exit (a fault that crashed a replica
 * shows here), then drops the database. */
static void case_end(fault_case_t *fc)
{
    for (int i = 0; i < NREPLICAS; i++) {
        fleet_set_addr(&fc->f, i, false);
        assert_int_equal(harness_server_stop(&fc->f.s[i]), 0);
    }
    harness_db_drop(fc->f.db);
    fc->db_made = false;
}

/* ---- invariants and the results table --------------------------------------------------- */

typedef struct result {
    const char *fault;
    int rounds;
    long long run, completed, lost, duplicated;
    int recover_max_ms, recover_avg_ms;
    bool done;
} result_t;

#define NRESULTS 5
static result_t results[NRESULTS];

static void print_header(void)
{
    print_message("%-20s %6s %9s %9s %5s %10s %20s\n", "fault", "rounds", "processes", "completed",
                  "lost", "duplicated", "recover avg/max (ms)");
}

static void print_row(const result_t *r)
{
    print_message("%-20s %6d %9lld %9lld %5lld %10lld %13d/%-6d\n", r->fault, r->rounds, r->run,
                  r->completed, r->lost, r->duplicated, r->recover_avg_ms, r->recover_max_ms);
}

/* Drains the load, waits for the engine to settle, checks every invariant from the
 * database and fills the result row (printed, then asserted). */
static void finish_case(result_t *res, load_t *l, const char *db, const int *recover, int nrounds)
{
    long long stuck, locked, dead_leases, total_rec = 0;
    int drain_ms = load_drain(l);

    res->rounds = nrounds;
    res->recover_max_ms = 0;
    for (int i = 0; i < nrounds; i++) {
        int r = recover[i] < 0 ? 999999 : recover[i];
        if (r > res->recover_max_ms)
            res->recover_max_ms = r;
        total_rec += r;
    }
    res->recover_avg_ms = nrounds ? (int)(total_rec / nrounds) : 0;
    /* Nothing may stay in a state that nothing moves on from: every process, tasks of the
     * default schedule included, leaves created / running / resumed. */
    for (int64_t until = now_ms() + 30000; now_ms() < until;) {
        if (scalar(db, "SELECT count(*) FROM processes WHERE last_status IN ('created', "
                       "'running', 'resumed')") == 0)
            break;
        msleep(100);
    }
    stuck = scalar(db, "SELECT count(*) FROM processes p WHERE last_status IN ('created', "
                       "'running', 'resumed') AND NOT EXISTS (SELECT 1 FROM replicas r WHERE "
                       "r.replica_id = p.lease_owner AND r.stop_time IS NULL AND "
                       "r.heartbeat_time > now() - interval '" DEAD_MS " milliseconds')");
    locked = scalar(db, "SELECT count(*) FROM subscriptions s WHERE NOT s.in_sync AND NOT EXISTS "
                        "(SELECT 1 FROM processes_subscriptions ps JOIN processes p USING "
                        "(process_id) WHERE ps.subscription_id = s.subscription_id AND "
                        "p.last_status NOT IN ('completed', 'aborted'))");
    dead_leases = scalar(db, "SELECT count(*) FROM processes p WHERE p.lease_owner IS NOT NULL "
                             "AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.replica_id = "
                             "p.lease_owner AND r.stop_time IS NULL AND r.heartbeat_time > "
                             "now() - interval '" DEAD_MS " milliseconds')");
    res->run = scalar(db, "SELECT count(*) FROM processes WHERE NOT is_task");
    res->completed = scalar(db, "SELECT count(*) FROM processes WHERE NOT is_task AND "
                                "last_status = 'completed'");
    res->lost = res->run - res->completed;
    res->duplicated = scalar(db, "SELECT count(*) FROM (SELECT process_id, step_key FROM "
                                 "process_steps WHERE status IN ('success', 'skipped', "
                                 "'complete') GROUP BY 1, 2 HAVING count(*) > 1) d");
    res->done = true;
    print_message("%s: %d chains started, %d finished, %d broken, %d start retries, drain %d ms; "
                  "%lld stuck, %lld locked without a process, %lld leases of dead replicas%s%s\n",
                  res->fault, l->nchains, l->chains_done, l->broken, l->start_retries, drain_ms,
                  stuck, locked, dead_leases, l->last_error[0] ? "; last error: " : "",
                  l->last_error);
    print_header();
    print_row(res);
    if (res->lost)
        print_message("not completed: %lld created, %lld running, %lld failed, %lld waiting\n",
                      scalar(db, "SELECT count(*) FROM processes WHERE NOT is_task AND "
                                 "last_status = 'created'"),
                      scalar(db, "SELECT count(*) FROM processes WHERE NOT is_task AND "
                                 "last_status = 'running'"),
                      scalar(db, "SELECT count(*) FROM processes WHERE NOT is_task AND "
                                 "last_status = 'failed'"),
                      scalar(db, "SELECT count(*) FROM processes WHERE NOT is_task AND "
                                 "last_status = 'waiting'"));
    assert_int_equal(stuck, 0);
    assert_int_equal(locked, 0);
    assert_int_equal(dead_leases, 0);
    assert_int_equal(res->lost, 0);
    assert_int_equal(res->duplicated, 0);
    /* Every process the load started is one row (a start retried after a fault carried its
     * request id), every chain ran to its end, and the load really ran through the faults. */
    assert_int_equal(res->run, l->processes);
    assert_int_equal(l->broken, 0);
    assert_int_equal(l->chains_done, l->nchains);
    assert_true(res->completed >= (long long)nrounds * 3);
    for (int i = 0; i < nrounds; i++)
        assert_true(recover[i] >= 0);
}

/* ---- (a) SIGKILL one of three replicas, round after round -------------------------------- */

static void sigkill_rounds(void **state)
{
    fault_case_t *fc = *state;
    int n = rounds_wanted(4), *recover = fc->recover = calloc((size_t)n, sizeof(int));
    result_t *res = &results[0];

    res->fault = "sigkill";
    case_begin(fc);
    for (int round = 0; round < n; round++) {
        int victim = round % NREPLICAS;
        long long t0;
        msleep(1500);
        fleet_set_addr(&fc->f, victim, false);
        t0 = db_now_ms(fc->f.db);
        harness_server_kill(&fc->f.s[victim]);
        harness_server_start(&fc->f.s[victim], fc->f.db, fc->f.args ? fc->f.args : replica_args);
        fleet_set_addr(&fc->f, victim, true);
        recover[round] = time_to_recover(fc->f.db, t0);
        print_message("round %d: replica %d killed and restarted; interrupted work moved on "
                      "after %d ms\n",
                      round + 1, victim, recover[round]);
    }
    finish_case(res, &fc->l, fc->f.db, recover, n);
    /* Each killed replica is LOST (past --replica-dead-ms) in ListReplicas, and (above)
     * holds nothing. */
    {
        Orchestrator__V1__ListReplicasRequest req = ORCHESTRATOR__V1__LIST_REPLICAS_REQUEST__INIT;
        Orchestrator__V1__ListReplicasResponse *lr = NULL;
        cli_status_t st = {0};
        req.filter = "state = \"lost\"";
        req.page_size = 500;
        /* The last one killed may be younger than the threshold still. */
        for (int64_t until = now_ms() + 5000; now_ms() < until;) {
            if (scalar(fc->f.db,
                       "SELECT count(*) FROM replicas WHERE stop_time IS NULL AND "
                       "heartbeat_time < now() - interval '" DEAD_MS " milliseconds'") == n)
                break;
            msleep(100);
        }
        assert_int_equal(cli_call_unary(fc->f.s[0].ch,
                                        "/orchestrator.v1.EngineService/"
                                        "ListReplicas",
                                        &req.base,
                                        &orchestrator__v1__list_replicas_response__descriptor,
                                        10000, (ProtobufCMessage **)&lr, &st),
                         0);
        assert_int_equal(lr->total_size, n);
        assert_int_equal(scalar(fc->f.db, "SELECT count(*) FROM replicas WHERE stop_time IS "
                                          "NULL AND heartbeat_time < now() - interval '" DEAD_MS
                                          " milliseconds'"),
                         n);
        protobuf_c_message_free_unpacked(&lr->base, NULL);
        cli_status_cleanup(&st);
    }
    case_end(fc);
}

/* ---- (b) restart PostgreSQL mid-workload (a private cluster) ------------------------------ */

static int list_processes_code(harness_server_t *s, char *msg, size_t cap)
{
    Orchestrator__V1__ListProcessesRequest req = ORCHESTRATOR__V1__LIST_PROCESSES_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    int code =
        cli_call_unary(s->ch, PS "ListProcesses", &req.base,
                       &orchestrator__v1__list_processes_response__descriptor, 10000, &resp, &st);
    snprintf(msg, cap, "%s", st.message ? st.message : "");
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    return code;
}

static void pg_restart_rounds(void **state)
{
    fault_case_t *fc = *state;
    int n = rounds_wanted(2), *recover = fc->recover = calloc((size_t)n, sizeof(int));
    result_t *res = &results[1];
    char port[16], msg[512];

    res->fault = "pg_restart";
    snprintf(fc->pg_dir, sizeof(fc->pg_dir), "/tmp/orchf-XXXXXX");
    assert_non_null(mkdtemp(fc->pg_dir));
    snprintf(port, sizeof(port), "%d", harness_free_port());
    assert_int_equal(pg_script("start", fc->pg_dir, port), 0);
    /* The harness reads the cluster from the environment: point it at the private one. */
    fc->old_host = strdup(getenv("ORCH_TEST_PGHOST"));
    fc->old_port = strdup(getenv("ORCH_TEST_PGPORT"));
    setenv("ORCH_TEST_PGHOST", fc->pg_dir, 1);
    setenv("ORCH_TEST_PGPORT", port, 1);
    case_begin(fc);
    for (int round = 0; round < n; round++) {
        long long t0;
        int code;
        msleep(2000);
        assert_int_equal(pg_script("stop", fc->pg_dir, NULL), 0);
        /* A call that needs the database fails with UNAVAILABLE while it is away. */
        code = list_processes_code(&fc->f.s[round % NREPLICAS], msg, sizeof(msg));
        print_message("round %d: PostgreSQL stopped; ListProcesses: %s (%s)\n", round + 1,
                      cli_status_code_name(code), msg);
        assert_int_equal(code, 14);
        msleep(1000);
        assert_int_equal(pg_script("start", fc->pg_dir, port), 0);
        t0 = db_now_ms(fc->f.db);
        recover[round] = time_to_recover(fc->f.db, t0);
        print_message("round %d: PostgreSQL back; interrupted work moved on after %d ms\n",
                      round + 1, recover[round]);
    }
    finish_case(res, &fc->l, fc->f.db, recover, n);
    /* Every replica serves again. */
    for (int i = 0; i < NREPLICAS; i++)
        assert_int_equal(list_processes_code(&fc->f.s[i], msg, sizeof(msg)), 0);
    case_end(fc);
}

/* ---- (c) pg_terminate_backend on the replicas' connections ------------------------------- */

static void terminate_backends_rounds(void **state)
{
    fault_case_t *fc = *state;
    int n = rounds_wanted(4), *recover = fc->recover = calloc((size_t)n, sizeof(int));
    result_t *res = &results[2];

    res->fault = "terminate_backends";
    case_begin(fc);
    for (int round = 0; round < n; round++) {
        long long t0, killed;
        msleep(1500);
        t0 = db_now_ms(fc->f.db);
        /* Only this test's database: other tests share the cluster. */
        killed = scalar(fc->f.db, "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM "
                                  "pg_stat_activity WHERE datname = current_database() AND "
                                  "pid <> pg_backend_pid()) t");
        recover[round] = time_to_recover(fc->f.db, t0);
        print_message("round %d: %lld backends terminated; interrupted work moved on after %d "
                      "ms\n",
                      round + 1, killed, recover[round]);
        assert_true(killed >= NREPLICAS);
    }
    finish_case(res, &fc->l, fc->f.db, recover, n);
    case_end(fc);
}

/* ---- (d) SIGKILL a replica in the middle of a group commit ------------------------------- */

#define GROUP_HOLD_MS "300" /* ORCH_TEST_HOLD_GROUP_COMMIT_MS of the replicas */
#define GROUP_WAIT_MS 20000 /* how long a round waits for a group commit to strike in */

/* Two workers per replica (said, not left to the default): a group commit needs two
 * stretches on one replica whose steps are ready at the same moment. */
static const char *const group_args[] = {"--replica-dead-ms=" DEAD_MS, "--log-level=info",
                                         "--workers=2", NULL};

#define NOOP_MAX 8192 /* no-op tasks the feeder may start in one case */

/* The feeder of group commits: the chains' steps nearly all write through the store (the
 * subscription, the inventory pools), and such a step commits in its own transaction, never
 * in a group commit; only check_input, push_config and done are group-committed, and two of
 * those on one replica at the same moment are rare. So beside the chains this case keeps
 * pairs of bench_noop_10 tasks (ten steps without writes) starting on every replica that is
 * up: the two of a pair are handed to the replica's two idle workers together, and their
 * steps reach the committer together, as issue 17 describes the group commit's load. A
 * replica gets its next pair once the last one finished. */
typedef struct noop_feed {
    fleet_t *f;
    atomic_int stop;
    pthread_t thread;
    bool running;
    char (*ids)[64]; /* the tasks started (NOOP_MAX), read after the join */
    int n, failed_starts;
} noop_feed_t;

/* Whether the pair last started on a replica is still unfinished (a new pair waits: each
 * held group commit costs GROUP_HOLD_MS, so more would only pile up). */
static bool pair_unfinished(PGconn *pg, char pair[2][64])
{
    const char *p[2] = {pair[0], pair[1]};
    PGresult *r;
    bool busy;
    if (!pair[0][0] || !pair[1][0])
        return false;
    r = PQexecParams(pg,
                     "SELECT count(*) FROM processes WHERE process_id IN ($1::uuid, $2::uuid) "
                     "AND last_status IN ('created', 'running', 'resumed')",
                     2, NULL, p, NULL, NULL, 0);
    /* No answer: assume busy, and look again next time. */
    busy = PQresultStatus(r) != PGRES_TUPLES_OK || atoi(PQgetvalue(r, 0, 0)) > 0;
    PQclear(r);
    return busy;
}

static void *noop_main(void *arg)
{
    noop_feed_t *nf = arg;
    cli_channel_t *ch[NREPLICAS] = {0};
    char chaddr[NREPLICAS][64] = {{0}}, pair[NREPLICAS][2][64] = {{{0}}}, ci[512];
    cli_status_t st = {0};
    PGconn *pg = NULL;

    harness_conninfo(nf->f->db, ci);
    while (!atomic_load(&nf->stop)) {
        if (!pg || PQstatus(pg) != CONNECTION_OK) {
            PQfinish(pg);
            pg = PQconnectdb(ci);
        }
        for (int r = 0; r < NREPLICAS && !atomic_load(&nf->stop); r++) {
            if (pair_unfinished(pg, pair[r]))
                continue;
            pair[r][0][0] = pair[r][1][0] = '\0';
            pthread_mutex_lock(&nf->f->mu);
            if (strcmp(chaddr[r], nf->f->addr[r]) != 0) {
                cli_channel_free(ch[r]);
                ch[r] = NULL;
                snprintf(chaddr[r], sizeof(chaddr[r]), "%s", nf->f->addr[r]);
                if (chaddr[r][0])
                    ch[r] = cli_channel_new(chaddr[r], NULL);
            }
            pthread_mutex_unlock(&nf->f->mu);
            for (int k = 0; k < 2 && ch[r] && nf->n < NOOP_MAX; k++) {
                Orchestrator__V1__StartProcessRequest req =
                    ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
                ProtobufCMessage *resp = NULL;
                req.workflow_name = "bench_noop_10";
                cli_status_cleanup(&st);
                cli_call_unary(ch[r], PS "StartProcess", &req.base,
                               &orchestrator__v1__start_process_response__descriptor, 2000, &resp,
                               &st);
                if (resp && ((Orchestrator__V1__StartProcessResponse *)resp)->result_case ==
                                ORCHESTRATOR__V1__START_PROCESS_RESPONSE__RESULT_PROCESS) {
                    snprintf(nf->ids[nf->n], 64, "%s",
                             ((Orchestrator__V1__StartProcessResponse *)resp)->process->process_id);
                    snprintf(pair[r][k], 64, "%s", nf->ids[nf->n++]);
                } else
                    nf->failed_starts++; /* a replica killed under it: not ours to count */
                if (resp)
                    protobuf_c_message_free_unpacked(resp, NULL);
            }
        }
        msleep(40);
    }
    cli_status_cleanup(&st);
    for (int i = 0; i < NREPLICAS; i++)
        cli_channel_free(ch[i]);
    PQfinish(pg);
    return NULL;
}

/* Stops the feeder (when it still runs) and frees it: the case's teardown. */
static void noop_stop(noop_feed_t *nf)
{
    if (nf->running) {
        atomic_store(&nf->stop, 1);
        pthread_join(nf->thread, NULL);
        nf->running = false;
    }
    free(nf->ids);
    free(nf);
}

/* The engine holds every group commit of two processes or more GROUP_HOLD_MS before its
 * commit round trip and logs "holding group commit" (the hook of issue 17): each round waits
 * for that line from its victim, then SIGKILLs it there. The steps of the batch must not be
 * lost (they run again elsewhere) nor committed twice: the chains are checked as in every
 * case, and every no-op task the feeder started must complete, each step once.
 * The steps are not held before their commit in this case (ORCH_TEST_HOLD_STEP, which the
 * other cases set): that hook sleeps in 20 ms slices, which puts two stretches of a replica
 * out of phase by whole slices, so their commits would not meet (the committer gathers for
 * 300 us). */
static void group_commit_kill_rounds(void **state)
{
    fault_case_t *fc = *state;
    int n = rounds_wanted(2), *recover = fc->recover = calloc((size_t)n, sizeof(int));
    result_t *res = &results[3];
    noop_feed_t *nf = calloc(1, sizeof(*nf));

    assert_non_null(nf);
    nf->ids = calloc(NOOP_MAX, sizeof(*nf->ids));
    assert_non_null(nf->ids);
    fc->noop = nf;
    res->fault = "group_commit_kill";
    unsetenv("ORCH_TEST_HOLD_STEP");
    unsetenv("ORCH_TEST_HOLD_MS");
    setenv("ORCH_TEST_HOLD_GROUP_COMMIT_MS", GROUP_HOLD_MS, 1);
    fc->f.args = group_args;
    case_begin(fc);
    nf->f = &fc->f;
    assert_int_equal(pthread_create(&nf->thread, NULL, noop_main, nf), 0);
    nf->running = true;
    for (int round = 0; round < n; round++) {
        int victim = round % NREPLICAS;
        harness_server_t *v = &fc->f.s[victim];
        long off = log_size(v);
        int64_t until = now_ms() + GROUP_WAIT_MS;
        long long t0;
        while (!log_has(v, off, "holding group commit", NULL)) {
            if (now_ms() > until)
                fail_msg("round %d: replica %d (log %s) never logged \"holding group commit\" "
                         "within %d s under load with ORCH_TEST_HOLD_GROUP_COMMIT_MS=" GROUP_HOLD_MS
                         ": no group commit of two steps or more formed on it, so no round "
                         "can strike in the middle of one. FAILED, not skipped.",
                         round + 1, victim, v->log_path, GROUP_WAIT_MS / 1000);
            msleep(10);
        }
        fleet_set_addr(&fc->f, victim, false);
        t0 = db_now_ms(fc->f.db);
        harness_server_kill(v);
        harness_server_start(v, fc->f.db, group_args);
        fleet_set_addr(&fc->f, victim, true);
        recover[round] = time_to_recover(fc->f.db, t0);
        print_message("round %d: replica %d killed while holding a group commit, restarted; "
                      "interrupted work moved on after %d ms\n",
                      round + 1, victim, recover[round]);
    }
    atomic_store(&nf->stop, 1);
    pthread_join(nf->thread, NULL);
    nf->running = false;
    /* finish_case waits until nothing is left created / running / resumed, tasks included,
     * and counts steps committed twice over every process. */
    finish_case(res, &fc->l, fc->f.db, recover, n);
    {
        long long done = 0;
        for (int i = 0; i < nf->n; i++)
            done += scalar(fc->f.db,
                           "SELECT count(*) FROM processes WHERE process_id = '%s' AND "
                           "last_status = 'completed'",
                           nf->ids[i]);
        print_message("group_commit_kill: %d no-op tasks started (%d starts failed under a "
                      "kill), %lld of them completed\n",
                      nf->n, nf->failed_starts, done);
        assert_true(nf->n > 0);
        assert_int_equal(done, nf->n);
    }
    case_end(fc);
}

/* ---- (e) SIGSTOP a replica in the middle of a stretch, past its lease -------------------- */

#define STALE_LEASE_MS 1000 /* --lease-ms of the replicas in this case */

static const char *const stale_args[] = {"--replica-dead-ms=" DEAD_MS, "--log-level=info",
                                         "--lease-ms=1000", NULL};

/* The replica's id, from the replicas table (the live row of its pid). */
static void replica_id_of(const char *db, const harness_server_t *s, char out[64])
{
    char ci[512], q[256];
    PGconn *c;
    PGresult *r;
    harness_conninfo(db, ci);
    c = PQconnectdb(ci);
    snprintf(q, sizeof(q),
             "SELECT replica_id FROM replicas WHERE pid = %d AND stop_time IS NULL "
             "ORDER BY start_time DESC LIMIT 1",
             (int)s->pid);
    r = PQexec(c, q);
    out[0] = '\0';
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        snprintf(out, 64, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
}

/* The processes the replica holds with a step running: ids and lease tokens (up to max). */
static int held_steps(const char *db, const char *rid, char ids[][64], long long *tokens, int max)
{
    char ci[512], q[512];
    PGconn *c;
    PGresult *r;
    int n = 0;
    harness_conninfo(db, ci);
    c = PQconnectdb(ci);
    snprintf(q, sizeof(q),
             "SELECT process_id, lease_token FROM processes WHERE lease_owner = '%s' AND "
             "running_step_key IS NOT NULL AND lease_expires_time > now()",
             rid);
    r = PQexec(c, q);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        for (int i = 0; i < PQntuples(r) && n < max; i++, n++) {
            snprintf(ids[n], 64, "%s", PQgetvalue(r, i, 0));
            tokens[n] = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        }
    PQclear(r);
    PQfinish(c);
    return n;
}

/* Each round: SIGSTOP a replica while it holds a process with a step running (the step held
 * 5 ms before its commit; a stretch holds its lease from step to step), keep it stopped past
 * its lease until another replica took the process over (the lease token moved on), then
 * SIGCONT. Its commit of the step it was running is stale: it must be refused, and its log
 * must say so for that process. At the end, as in every case: nothing lost, nothing
 * committed twice. */
static void stale_stretch_rounds(void **state)
{
    fault_case_t *fc = *state;
    int n = rounds_wanted(2), *recover = fc->recover = calloc((size_t)n, sizeof(int));
    result_t *res = &results[4];
    static const char *const refused[] = {"not committed", "lease", "fence", "refused", NULL};

    res->fault = "stale_stretch";
    fc->f.args = stale_args;
    case_begin(fc);
    for (int round = 0; round < n; round++) {
        int victim = round % NREPLICAS, nheld = 0, taken = -1;
        harness_server_t *v = &fc->f.s[victim];
        char rid[64], ids[16][64];
        long long tokens[16], t0;
        long off;
        int64_t until;

        msleep(1000);
        replica_id_of(fc->f.db, v, rid);
        assert_true(rid[0] != '\0');
        /* Stop it; if it holds no step at that instant, let it go on a moment and try again. */
        for (until = now_ms() + 20000; nheld == 0;) {
            if (now_ms() > until)
                fail_msg("round %d: replica %d never held a process with a step running", round + 1,
                         victim);
            assert_int_equal(kill(v->pid, SIGSTOP), 0);
            msleep(30); /* what it had sent lands */
            nheld = held_steps(fc->f.db, rid, ids, tokens, 16);
            if (nheld == 0) {
                assert_int_equal(kill(v->pid, SIGCONT), 0);
                msleep(7);
            }
        }
        fleet_set_addr(&fc->f, victim, false); /* the load starts nothing there meanwhile */
        t0 = db_now_ms(fc->f.db);
        /* Past its lease: another replica claims the process (a new lease token). */
        for (until = now_ms() + STALE_LEASE_MS + 15000; taken < 0;) {
            for (int i = 0; i < nheld && taken < 0; i++)
                if (scalar(fc->f.db,
                           "SELECT count(*) FROM processes WHERE process_id = '%s' AND "
                           "lease_token > %lld",
                           ids[i], tokens[i]) == 1)
                    taken = i;
            if (taken < 0 && now_ms() > until)
                fail_msg("round %d: no other replica took over any of the %d processes of the "
                         "stopped replica %d within %d s (lease %d ms)",
                         round + 1, nheld, victim, (STALE_LEASE_MS + 15000) / 1000, STALE_LEASE_MS);
            if (taken < 0)
                msleep(50);
        }
        off = log_size(v);
        assert_int_equal(kill(v->pid, SIGCONT), 0);
        fleet_set_addr(&fc->f, victim, true);
        /* Its stale commit of the taken-over process is refused, and it says so. */
        for (until = now_ms() + 15000; !log_has(v, off, ids[taken], refused);) {
            if (now_ms() > until)
                fail_msg("round %d: replica %d, resumed after process %s was taken over, never "
                         "logged that its commit for it was refused (see %s)",
                         round + 1, victim, ids[taken], v->log_path);
            msleep(50);
        }
        recover[round] = time_to_recover(fc->f.db, t0);
        print_message("round %d: replica %d stopped holding %d process(es) with a step running; "
                      "process %s taken over after %lld ms; its stale commit refused after "
                      "SIGCONT; interrupted work moved on after %d ms\n",
                      round + 1, victim, nheld, ids[taken], db_now_ms(fc->f.db) - t0,
                      recover[round]);
    }
    finish_case(res, &fc->l, fc->f.db, recover, n);
    case_end(fc);
}

/* ---- a claim that committed but whose answer was lost ----------------------------------- */

/* The connection dies after the claim's UPDATE committed but before its answer arrived: the
 * process is leased to a live replica none of whose workers knows it. Made here by doing
 * what the claim does, in SQL, for replica A (which runs no steps, so nothing claims the
 * process before B starts): the process must still run, on B, once A's claim lease ends,
 * not be held for as long as A heartbeats. */
static void lost_claim_answer(void **state)
{
    fault_case_t *fc = *state;
    harness_server_t *a = &fc->f.s[0], *b = &fc->f.s[1];
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    Orchestrator__V1__StartProcessResponse *r = NULL;
    cli_status_t st = {0};
    char sql[1024], id[64], rid_a[64];
    int64_t t0;

    harness_db_create(fc->f.db);
    fc->db_made = true;
    harness_server_start(a, fc->f.db,
                         (const char *const[]){"--workers=0", "--lease-ms=2000", NULL});
    {
        char ci[512];
        PGconn *c;
        PGresult *res;
        harness_conninfo(fc->f.db, ci);
        c = PQconnectdb(ci);
        snprintf(sql, sizeof(sql), "SELECT replica_id FROM replicas WHERE pid = %d", (int)a->pid);
        res = PQexec(c, sql);
        assert_int_equal(PQntuples(res), 1);
        snprintf(rid_a, sizeof(rid_a), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        PQfinish(c);
    }
    req.workflow_name = "test_flaky";
    assert_int_equal(cli_call_unary(a->ch, PS "StartProcess", &req.base,
                                    &orchestrator__v1__start_process_response__descriptor, 10000,
                                    (ProtobufCMessage **)&r, &st),
                     0);
    snprintf(id, sizeof(id), "%s", r->process->process_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    cli_status_cleanup(&st);
    snprintf(sql, sizeof(sql),
             "UPDATE processes SET lease_owner = '%s', lease_token = lease_token + 1, "
             "lease_expires_time = now() + interval '2 seconds', next_run_time = now() + "
             "interval '2 seconds', claim_count = claim_count + 1 WHERE process_id = '%s'",
             rid_a, id);
    harness_scalar(fc->f.db, "%s", sql);
    t0 = now_ms();
    harness_server_start(b, fc->f.db, NULL);
    for (;;) {
        if (scalar(fc->f.db,
                   "SELECT count(*) FROM processes WHERE process_id = '%s' AND "
                   "last_status = 'completed'",
                   id) == 1)
            break;
        if (now_ms() - t0 > 20000)
            fail_msg(
                "the process leased to replica A (which never ran it) did not complete "
                "within 20 s (leased to A: %lld, still created: %lld)",
                scalar(fc->f.db, "SELECT count(*) FROM processes WHERE lease_owner = '%s'", rid_a),
                scalar(fc->f.db,
                       "SELECT count(*) FROM processes WHERE process_id = '%s' "
                       "AND last_status = 'created'",
                       id));
        msleep(100);
    }
    print_message("the orphaned claim ran on B %d ms after it was made\n", (int)(now_ms() - t0));
    assert_int_equal(scalar(fc->f.db,
                            "SELECT count(*) FROM process_steps WHERE executed_by = "
                            "'%s'",
                            rid_a),
                     0);
    assert_int_equal(harness_server_stop(a), 0);
    assert_int_equal(harness_server_stop(b), 0);
    harness_db_drop(fc->f.db);
    fc->db_made = false;
}

/* ---- a start repeated after its answer was lost ------------------------------------------ */

/* The load retries a start whose answer died with a replica, with the same request id. When
 * the first start already ran to its end (a terminate: the subscription is terminated now),
 * the repeat must still get the first answer (ALREADY_APPLIED, the same process), not be
 * judged anew against the world the first one changed. */
static void start_repeated_after_its_effect(void **state)
{
    fault_case_t *fc = *state;
    harness_server_t *s = &fc->f.s[0];
    load_t *l = &fc->l;
    chain_t c = {0};
    cli_status_t st = {0};
    char first[64] = "", again[64] = "";
    int outcome = 0;

    harness_db_create(fc->f.db);
    fc->db_made = true;
    harness_server_start(s, fc->f.db, NULL);
    l->f = &fc->f;
    {
        char ci[512];
        PGconn *pc;
        PGresult *r;
        harness_conninfo(fc->f.db, ci);
        pc = PQconnectdb(ci);
        r = PQexec(pc, "SELECT product_id FROM products WHERE name = 'node Cisco'");
        assert_int_equal(PQntuples(r), 1);
        snprintf(l->product, sizeof(l->product), "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        PQfinish(pc);
    }
    for (c.stage = 0; c.stage < 3; c.stage++) {
        new_request_id(c.request_id);
        assert_int_equal(rpc_start(s->ch, l, 0, &c, first, &outcome, &st), 0);
        assert_int_equal(outcome, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_APPLIED);
        for (int64_t until = now_ms() + 15000;;) {
            if (scalar(fc->f.db,
                       "SELECT count(*) FROM processes WHERE process_id = '%s' AND "
                       "last_status = 'completed'",
                       first) == 1)
                break;
            if (now_ms() > until)
                fail_msg("%s did not complete", stage_workflow[c.stage]);
            msleep(50);
        }
        if (c.stage == 0) {
            char ci[512];
            PGconn *pc;
            PGresult *r;
            char q[256];
            harness_conninfo(fc->f.db, ci);
            pc = PQconnectdb(ci);
            snprintf(q, sizeof(q),
                     "SELECT subscription_id FROM processes_subscriptions WHERE "
                     "process_id = '%s'",
                     first);
            r = PQexec(pc, q);
            assert_int_equal(PQntuples(r), 1);
            snprintf(c.sub, sizeof(c.sub), "%s", PQgetvalue(r, 0, 0));
            PQclear(r);
            PQfinish(pc);
        }
        /* The same request again, after the first one's effect. */
        if (rpc_start(s->ch, l, 0, &c, again, &outcome, &st) != 0)
            fail_msg("%s repeated: %s %s", stage_workflow[c.stage], cli_status_code_name(st.code),
                     st.message);
        assert_int_equal(outcome, ORCHESTRATOR__V1__ACTION_OUTCOME__ACTION_OUTCOME_ALREADY_APPLIED);
        assert_string_equal(again, first);
    }
    assert_int_equal(scalar(fc->f.db, "SELECT count(*) FROM processes WHERE NOT is_task"), 3);
    cli_status_cleanup(&st);
    assert_int_equal(harness_server_stop(s), 0);
    harness_db_drop(fc->f.db);
    fc->db_made = false;
}

static int print_table(void **state)
{
    (void)state;
    print_message("\nfault suite results (lost and duplicated must be 0)\n");
    print_header();
    for (int i = 0; i < NRESULTS; i++)
        if (results[i].done)
            print_row(&results[i]);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sigkill_rounds, case_setup, case_teardown),
        cmocka_unit_test_setup_teardown(pg_restart_rounds, case_setup, case_teardown),
        cmocka_unit_test_setup_teardown(terminate_backends_rounds, case_setup, case_teardown),
        cmocka_unit_test_setup_teardown(group_commit_kill_rounds, case_setup, case_teardown),
        cmocka_unit_test_setup_teardown(stale_stretch_rounds, case_setup, case_teardown),
        cmocka_unit_test_setup_teardown(lost_claim_answer, case_setup, case_teardown),
        cmocka_unit_test_setup_teardown(start_repeated_after_its_effect, case_setup, case_teardown),
    };
    if (getenv("ORCH_FAULT_CASE") && *getenv("ORCH_FAULT_CASE"))
        cmocka_set_test_filter(getenv("ORCH_FAULT_CASE"));
    return cmocka_run_group_tests(tests, NULL, print_table);
}
