/* sub_seed: seeds the benchmark inventory through the store's own save path (the domain
 * model and the store's st->subs->save, exactly what a workflow's step runs), so the rows, the
 * search text, the events and the notifications are what production writes:
 *
 *   sub_seed --database-url URL --size N [--threads T] [--batch B] [--resume]
 *
 * Layout (the one bench/seed.sql documents): size/10 nodes (4 node products in turn), 15%
 * l2vpns (two SAPs each, on ports 2j and 2j+1), the rest ports (port k on node k % nodes).
 * Customers cust-0 .. cust-999; description "<kind> <i>"; one in 20 has a customer
 * description "alias <i>" by customer cust-<i % 1000>; ports without an l2vpn: one in ten
 * terminated. B subscriptions per transaction, T threads. Migrates the database and syncs
 * the example catalogue first. --resume keeps the subscriptions of the layout already in the
 * database (found by description; an interrupted seed lost at most its open transactions)
 * and writes the rest. Prints progress and one line at the end:
 *   RESULT size=.. seconds=.. per_s=.. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/migrate.h"
#include "db/pool.h"
#include "db/sql.h"
#include "db/store.h"
#include "domain/catalog/catalog.h"
#include "domain/store.h"

typedef struct seed {
    orch_store_t *store;
    orch_catalog_t *cat;
    long size, nodes, ports, l2vpns;
    int threads, batch;
    char (*id)[37];   /* by index 0 .. size-1 */
    char (*root)[37]; /* its root instance */
    bool *have;       /* --resume: already in the database */
    atomic_long done;
} seed_t;

static void die(const char *what, const orch_error_t *err)
{
    fprintf(stderr, "sub_seed: %s: %s\n", what, err ? err->message : "");
    exit(2);
}

#define OK(x)                                                                                      \
    do {                                                                                           \
        if (x)                                                                                     \
            die(#x, &err);                                                                         \
    } while (0)

/* Builds subscription i (0-based) of the layout. */
static orch_subscription_t *build(seed_t *S, long i)
{
    static const char *const node_products[4] = {"node Cisco", "node Nokia", "node FRR",
                                                 "node Cumulus"};
    orch_subscription_t *s = NULL;
    orch_error_t err;
    char cust[32], text[96], path[64];
    bool terminate = false;

    orch_error_init(&err);
    snprintf(cust, sizeof(cust), "cust-%ld", i % 1000);
    if (i < S->nodes) {
        OK(orch_subscription_new_from_product(
            orch_catalog_find_product(S->cat, node_products[i % 4]), cust, &s, &err));
        snprintf(text, sizeof(text), "node-%ld", i);
        OK(orch_sub_set_int(s, "role_id", 1, &err));
        OK(orch_sub_set_int(s, "type_id", 2, &err));
        OK(orch_sub_set_int(s, "site_id", i % 500, &err));
        OK(orch_sub_set_str(s, "node_status", "active", &err));
        OK(orch_sub_set_str(s, "node_name", text, &err));
        OK(orch_sub_set_int(s, "ims_id", i, &err));
        OK(orch_sub_set_int(s, "nrm_id", i, &err));
        OK(orch_sub_set_int(s, "ipv4_ipam_id", i, &err));
        OK(orch_sub_set_int(s, "ipv6_ipam_id", i, &err));
        snprintf(text, sizeof(text), "node %ld", i);
    } else if (i < S->nodes + S->ports) {
        long k = i - S->nodes, node = k % S->nodes;
        OK(orch_subscription_new_from_product(
            orch_catalog_find_product(S->cat, k % 3 ? "port 10G" : "port 100G"), cust, &s, &err));
        snprintf(text, sizeof(text), "xe-%ld/0/%ld", k / 1000, k % 1000);
        OK(orch_sub_set_str(s, "port_name", text, &err));
        OK(orch_sub_set_str(s, "port_type", "10GBASE-LR", &err));
        OK(orch_sub_set_str(s, "port_mode", "tagged", &err));
        OK(orch_sub_set_bool(s, "auto_negotiation", false, &err));
        OK(orch_sub_set_bool(s, "lldp", true, &err));
        OK(orch_sub_set_bool(s, "enabled", true, &err));
        OK(orch_sub_set_int(s, "ims_id", i, &err));
        OK(orch_sub_set_int(s, "nrm_id", i, &err));
        OK(orch_sub_set_reference(s, "node", S->id[node], S->root[node], &err));
        snprintf(text, sizeof(text), "port %ld", k);
        terminate = k >= 2 * S->l2vpns && k % 10 == 0;
    } else {
        long j = i - S->nodes - S->ports;
        OK(orch_subscription_new_from_product(orch_catalog_find_product(S->cat, "l2vpn"), cust, &s,
                                              &err));
        OK(orch_sub_set_int(s, "speed", 1000, &err));
        OK(orch_sub_set_bool(s, "speed_policer", true, &err));
        OK(orch_sub_set_int(s, "ims_id", i, &err));
        OK(orch_sub_set_int(s, "nrm_id", i, &err));
        for (int k = 0; k < 2; k++) {
            long port = S->nodes + (2 * j + k) % S->ports;
            snprintf(path, sizeof(path), "saps[%d].vlan", k);
            OK(orch_sub_set_int(s, path, 100 + (int)(j % 3000), &err));
            snprintf(path, sizeof(path), "saps[%d].port", k);
            OK(orch_sub_set_reference(s, path, S->id[port], S->root[port], &err));
        }
        snprintf(text, sizeof(text), "l2vpn %ld", j);
    }
    OK(orch_sub_set_description(s, text, &err));
    OK(orch_sub_set_status(s, ORCH_SUB_ACTIVE, &err));
    if (terminate)
        OK(orch_sub_set_status(s, ORCH_SUB_TERMINATED, &err));
    s->in_sync = true;
    return s;
}

typedef struct job {
    seed_t *S;
    long from, to; /* indices [from, to) of one phase */
    int t;
} job_t;

static void *worker(void *arg)
{
    job_t *j = arg;
    seed_t *S = j->S;
    orch_error_t err;

    orch_error_init(&err);
    /* Thread t takes batches t, t + threads, ... so the phases' order holds. */
    for (long b = j->from + (long)j->t * S->batch; b < j->to; b += (long)S->threads * S->batch) {
        orch_tx_t *tx = NULL;
        long end = b + S->batch < j->to ? b + S->batch : j->to, wrote = 0;
        OK(S->store->uow->begin(S->store, NULL, &tx, &err));
        for (long i = b; i < end; i++) {
            orch_subscription_t *s;
            if (S->have[i])
                continue;
            s = build(S, i);
            OK(S->store->subs->save(S->store, tx, NULL, s, &err));
            if (i % 20 == 0) {
                orch_customer_description_t cd;
                char cust[32], text[64];
                snprintf(cust, sizeof(cust), "cust-%ld", i % 1000);
                snprintf(text, sizeof(text), "alias %ld", i);
                OK(S->store->subs->cd_create(S->store, tx, NULL, s->id, cust, text, &cd, &err));
                orch_customer_description_cleanup(&cd);
            }
            memcpy(S->id[i], s->id, 37);
            memcpy(S->root[i], s->root->id, 37);
            orch_subscription_free(s);
            wrote++;
        }
        OK(S->store->uow->commit(tx, &err));
        atomic_fetch_add(&S->done, wrote); /* with the resumed ones: what is there */
    }
    return NULL;
}

/* --resume: the ids and root instances of what is there, by description. */
static void resume(seed_t *S, db_pool_t *pool)
{
    db_conn_t *c = NULL;
    PGresult *res = NULL;
    orch_error_t err;
    long n = 0;
    orch_error_init(&err);
    OK(db_pool_acquire(pool, NULL, 10000, &c, &err));
    /* Nodes and ports own one instance (their root); an l2vpn is only ever a whole one. */
    OK(db_exec(c,
               "SELECT s.description, s.subscription_id, min(i.subscription_instance_id::text) "
               "FROM subscriptions s JOIN subscription_instances i USING (subscription_id) "
               "GROUP BY 1, 2",
               &res, &err));
    for (int r = 0; r < PQntuples(res); r++) {
        const char *d = PQgetvalue(res, r, 0);
        long i = -1, k;
        if (sscanf(d, "node %ld", &k) == 1 && k < S->nodes)
            i = k;
        else if (sscanf(d, "port %ld", &k) == 1 && k < S->ports)
            i = S->nodes + k;
        else if (sscanf(d, "l2vpn %ld", &k) == 1 && k < S->l2vpns)
            i = S->nodes + S->ports + k;
        if (i < 0 || S->have[i])
            continue;
        S->have[i] = true;
        memcpy(S->id[i], PQgetvalue(res, r, 1), 37);
        memcpy(S->root[i], PQgetvalue(res, r, 2), 37);
        n++;
    }
    PQclear(res);
    db_pool_release(pool, c);
    atomic_store(&S->done, n);
    fprintf(stderr, "sub_seed: resuming: %ld subscriptions of the layout are there\n", n);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void phase(seed_t *S, long from, long to, const char *what)
{
    pthread_t th[64];
    job_t jobs[64];
    double t0 = now_s();
    for (int t = 0; t < S->threads; t++) {
        int e;
        jobs[t] = (job_t){S, from, to, t};
        e = pthread_create(&th[t], NULL, worker, &jobs[t]);
        if (e) {
            /* Thread t's share would be missing: stop (the threads already started are not
             * joined; their open transactions roll back) and let --resume finish. */
            fprintf(stderr, "sub_seed: cannot start thread %d: %s; run again with --resume\n", t,
                    strerror(e));
            exit(2);
        }
    }
    bool joined[64] = {0};
    for (;;) {
        struct timespec ts = {5, 0};
        long d = atomic_load(&S->done);
        bool over = true;
        nanosleep(&ts, NULL);
        for (int t = 0; t < S->threads; t++) {
            if (!joined[t])
                joined[t] = pthread_tryjoin_np(th[t], NULL) == 0;
            over = over && joined[t];
        }
        fprintf(stderr, "sub_seed: %s: %ld of %ld subscriptions (%.0f/s)\n", what,
                atomic_load(&S->done), S->size, (double)(atomic_load(&S->done) - d) / 5);
        if (over)
            break;
    }
    fprintf(stderr, "sub_seed: %s done in %.0f s\n", what, now_s() - t0);
}

int main(int argc, char **argv)
{
    seed_t S = {.threads = 2, .batch = 50};
    const char *url = NULL;
    db_pool_t *pool;
    orch_error_t err;
    int applied = 0;
    bool resuming = false;
    long resumed;
    double t0;

    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--resume") == 0) {
            resuming = true;
            memmove(&argv[i], &argv[i + 1], (size_t)(argc - i - 1) * sizeof(char *));
            argc--;
            break;
        }
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--database-url") == 0)
            url = argv[i + 1];
        else if (strcmp(argv[i], "--size") == 0)
            S.size = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0)
            S.threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--batch") == 0)
            S.batch = atoi(argv[i + 1]);
    }
    if (!url || S.size < 100 || S.threads < 1 || S.threads > 64 || S.batch < 1) {
        fprintf(stderr, "usage: sub_seed --database-url URL --size N (>= 100) [--threads T "
                        "(1-64)] [--batch B]\n");
        return 2;
    }
    S.nodes = S.size / 10;
    S.l2vpns = S.size * 15 / 100;
    S.ports = S.size - S.nodes - S.l2vpns;
    S.id = calloc((size_t)S.size, 37);
    S.root = calloc((size_t)S.size, 37);
    S.have = calloc((size_t)S.size, sizeof(bool));
    pool = db_pool_new(url, S.threads + 1);
    S.store = db_store_new(pool);
    S.cat = orch_catalog_new();
    orch_catalog_load_example(S.cat);
    orch_error_init(&err);
    OK(db_migrate(pool, DB_MIGRATE_AUTO, &applied, &err));
    OK(orch_catalog_validate(S.cat, &err));
    OK(S.store->catalog->sync(S.store, NULL, NULL, S.cat, &err));
    if (resuming)
        resume(&S, pool);
    resumed = atomic_load(&S.done);
    t0 = now_s();
    phase(&S, 0, S.nodes, "nodes");
    phase(&S, S.nodes, S.nodes + S.ports, "ports");
    phase(&S, S.nodes + S.ports, S.size, "l2vpns");
    printf("RESULT size=%ld written=%ld seconds=%.0f per_s=%.0f\n", S.size,
           atomic_load(&S.done) - resumed, now_s() - t0,
           (double)(atomic_load(&S.done) - resumed) / (now_s() - t0));
    orch_store_free(S.store);
    db_pool_free(pool);
    orch_catalog_free(S.cat);
    free(S.id);
    free(S.root);
    free(S.have);
    return 0;
}
