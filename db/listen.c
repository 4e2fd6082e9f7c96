/* The listener thread: LISTEN on every subscribed channel, wait on the socket with a short
 * timeout (so that stop is prompt), dispatch notifications, reconnect with back-off. */
#include "db/listen.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/log.h"
#include "db/pool.h"

#define MAX_SUBS 16

struct db_listener {
    char *conninfo;
    struct {
        char *channel;
        db_listen_fn fn;
        db_listen_payload_fn pfn; /* instead of fn: db_listener_subscribe_payload */
        void *arg;
    } subs[MAX_SUBS];
    int nsubs;
    pthread_t thread;
    bool started;
    atomic_bool stop;
};

db_listener_t *db_listener_new(const char *conninfo)
{
    db_listener_t *l = orch_calloc(1, sizeof(*l));
    l->conninfo = orch_strdup(conninfo);
    return l;
}

void db_listener_subscribe(db_listener_t *l, const char *channel, db_listen_fn fn, void *arg)
{
    orch_assert(!l->started && l->nsubs < MAX_SUBS);
    l->subs[l->nsubs].channel = orch_strdup(channel);
    l->subs[l->nsubs].fn = fn;
    l->subs[l->nsubs].arg = arg;
    l->nsubs++;
}

void db_listener_subscribe_payload(db_listener_t *l, const char *channel, db_listen_payload_fn fn,
                                   void *arg)
{
    orch_assert(!l->started && l->nsubs < MAX_SUBS);
    l->subs[l->nsubs].channel = orch_strdup(channel);
    l->subs[l->nsubs].pfn = fn;
    l->subs[l->nsubs].arg = arg;
    l->nsubs++;
}

/* channel NULL: (re)connected, tell everyone. */
static void dispatch(db_listener_t *l, const char *channel, const char *payload)
{
    for (int i = 0; i < l->nsubs; i++) {
        if (channel && strcmp(l->subs[i].channel, channel) != 0)
            continue;
        if (l->subs[i].pfn)
            l->subs[i].pfn(l->subs[i].arg, channel ? DB_LISTEN_NOTIFY : DB_LISTEN_CONNECTED,
                           channel ? payload : NULL);
        else
            l->subs[i].fn(l->subs[i].arg, l->subs[i].channel, channel ? payload : NULL);
    }
}

static void dispatch_lost(db_listener_t *l)
{
    for (int i = 0; i < l->nsubs; i++)
        if (l->subs[i].pfn)
            l->subs[i].pfn(l->subs[i].arg, DB_LISTEN_LOST, NULL);
}

static PGconn *listen_connect(db_listener_t *l)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {l->conninfo, "5", "orchestratord-listen", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return NULL;
    }
    for (int i = 0; i < l->nsubs; i++) {
        char *sql = orch_asprintf("LISTEN %s", l->subs[i].channel);
        PGresult *r = PQexec(c, sql);
        db_round_trip_count();
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        free(sql);
        if (!ok) {
            PQfinish(c);
            return NULL;
        }
    }
    return c;
}

static void *listen_main(void *arg)
{
    db_listener_t *l = arg;
    PGconn *c = NULL;
    int backoff_ms = 100;

    while (!atomic_load(&l->stop)) {
        struct pollfd pfd;
        PGnotify *n;

        if (!c) {
            c = listen_connect(l);
            if (!c) {
                nanosleep(&(struct timespec){backoff_ms / 1000, (backoff_ms % 1000) * 1000000L},
                          NULL);
                backoff_ms = backoff_ms < 2000 ? backoff_ms * 2 : 2000;
                continue;
            }
            backoff_ms = 100;
            dispatch(l, NULL, NULL); /* anything may have happened while we were away */
        }
        pfd.fd = PQsocket(c);
        pfd.events = POLLIN;
        if (poll(&pfd, 1, 200) < 0)
            continue;
        if (!PQconsumeInput(c)) {
            orch_warn("listen", "lost the notification connection: %s", PQerrorMessage(c));
            PQfinish(c);
            c = NULL;
            dispatch_lost(l);
            continue;
        }
        while ((n = PQnotifies(c)) != NULL) {
            dispatch(l, n->relname, n->extra);
            PQfreemem(n);
        }
    }
    if (c)
        PQfinish(c);
    return NULL;
}

orch_err_t db_listener_start(db_listener_t *l)
{
    int e = pthread_create(&l->thread, NULL, listen_main, l);
    if (e) {
        /* No thread, nothing to join: db_listener_free only frees. */
        orch_err("listen", "cannot start the notification thread: %s", strerror(e));
        return ORCH_INTERNAL;
    }
    l->started = true;
    return ORCH_OK;
}

void db_listener_free(db_listener_t *l)
{
    if (!l)
        return;
    if (l->started) {
        atomic_store(&l->stop, true);
        pthread_join(l->thread, NULL);
    }
    for (int i = 0; i < l->nsubs; i++)
        free(l->subs[i].channel);
    free(l->conninfo);
    free(l);
}
