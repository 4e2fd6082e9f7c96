/* grpc.health.v1.Health: service "" is readiness (NOT_SERVING while the database is
 * unreachable or the server drains); "liveness" reflects only the process, so a database
 * blip does not restart every pod; the name of a served orchestrator service answers like
 * "". Check on anything else is NOT_FOUND and Watch on it streams SERVICE_UNKNOWN, per the
 * health-checking protocol. Watch streams push every change; main.c and the database
 * watchdog call srv_health_publish when readiness may have changed. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "grpc/health/v1/health.pb-c.h"
#include "server/app.h"
#include "server/services/services.h"

#define ST(x) GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__##x

typedef struct watcher {
    srv_call_t *call;
    char *service;
    int last; /* last status sent */
    struct watcher *next;
} watcher_t;

struct srv_health {
    pthread_mutex_t mu;
    watcher_t *watchers;
};

struct srv_health *srv_health_new(void)
{
    struct srv_health *h = orch_calloc(1, sizeof(*h));
    pthread_mutex_init(&h->mu, NULL);
    return h;
}

void srv_health_free(struct srv_health *h)
{
    if (!h)
        return;
    orch_assert(h->watchers == NULL); /* every stream closed before the server stopped */
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* -1 for a service we keep no status for. */
static int status_of(const srv_app_t *app, const char *svc)
{
    bool ready = !atomic_load(&app->draining) && atomic_load(&app->db_ok);
    if (strcmp(svc, "liveness") == 0)
        return ST(SERVING);
    if (strcmp(svc, "") == 0 || strncmp(svc, "orchestrator.v1.", 16) == 0)
        return ready ? ST(SERVING) : ST(NOT_SERVING);
    return -1;
}

SRV_UNARY_HANDLER(health_check, Grpc__Health__V1__HealthCheckRequest)
{
    Grpc__Health__V1__HealthCheckResponse *resp;
    const char *svc = req->service ? req->service : "";
    int st = status_of(srv_call_app(call), svc);

    if (st < 0)
        return orch_error_set(err, ORCH_NOT_FOUND, "SERVICE_NOT_FOUND",
                              "no health status is kept for service '%.100s'", svc);
    resp = orch_arena_alloc(srv_call_arena(call), sizeof(*resp));
    grpc__health__v1__health_check_response__init(resp);
    resp->status = st;
    *respm = &resp->base;
    return ORCH_OK;
}

static void send_status(srv_call_t *call, int st)
{
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = st < 0 ? ST(SERVICE_UNKNOWN) : st;
    srv_stream_send(call, &resp.base);
}

static orch_err_t watch_start(srv_call_t *call, const ProtobufCMessage *reqm, orch_error_t *err)
{
    const Grpc__Health__V1__HealthCheckRequest *req = (const void *)reqm;
    srv_app_t *app = srv_call_app(call);
    watcher_t *w = orch_calloc(1, sizeof(*w));
    (void)err;

    w->call = call;
    w->service = orch_strdup(req->service);
    srv_call_ref(call);
    srv_call_set_data(call, w);
    pthread_mutex_lock(&app->health->mu);
    w->last = status_of(app, w->service);
    send_status(call, w->last);
    w->next = app->health->watchers;
    app->health->watchers = w;
    pthread_mutex_unlock(&app->health->mu);
    return ORCH_OK;
}

static void watch_closed(srv_call_t *call)
{
    srv_app_t *app = srv_call_app(call);
    watcher_t *w = srv_call_data(call), **pp;

    pthread_mutex_lock(&app->health->mu);
    for (pp = &app->health->watchers; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&app->health->mu);
    free(w->service);
    free(w);
    srv_call_unref(call);
}

void srv_health_publish(srv_app_t *app)
{
    pthread_mutex_lock(&app->health->mu);
    for (watcher_t *w = app->health->watchers; w; w = w->next) {
        int st = status_of(app, w->service);
        if (st != w->last) {
            w->last = st;
            send_status(w->call, st);
        }
    }
    pthread_mutex_unlock(&app->health->mu);
}

static const srv_stream_ops_t watch_ops = {
    .start = watch_start,
    .closed = watch_closed,
};

const srv_method_t srv_health_methods[] = {
    {&grpc__health__v1__health__descriptor, "Check", health_check, SRV_METHOD_PUBLIC, NULL},
    {&grpc__health__v1__health__descriptor, "Watch", NULL, SRV_METHOD_PUBLIC, &watch_ops},
    {0},
};
