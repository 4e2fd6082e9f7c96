/* orch-loadgen: the load generator of the benchmark suite (bench/run.sh).
 *
 * Unary mode: N connections (one channel, one completion queue and one thread each) keep M
 * calls in flight each, closed loop, or at a fixed total rate (--rate, open loop, up to M in
 * flight per connection). One request, built once and sent as the same bytes on every
 * call:
 *
 *   orch-loadgen --server ADDR (--get-product NAME | --get-subscription ID |
 *                               --start-process WORKFLOW)
 *                [--connections N] [--inflight M] [--warmup S] [--duration S]
 *                [--total K] [--rate R] [--save-response FILE] [--strong]
 *
 * --strong: GetSubscription with consistency = STRONG.
 * With --total, the run ends after K calls (no warm-up) and the time is the whole run.
 * Responses are not decoded (the echo server of bench/ returns the same bytes without any
 * message behind them); a call counts when its status is OK. --save-response writes the
 * raw bytes of the first OK response (bench/echo_server serves them back).
 *
 * Process mode (closed loop over whole processes): C processes of WORKFLOW are alive at any
 * time. One WatchProcesses stream (filter on the workflow) sees each completion, and the
 * starter thread starts the next process:
 *
 *   orch-loadgen --server ADDR --processes C --workflow W [--warmup S] [--duration S]
 *
 * Prints one line, keys and values separated by spaces:
 *   RESULT mode=unary n=.. errors=.. seconds=.. rps=.. p50_us=.. p99_us=.. mean_us=..
 *          max_us=.. resp_bytes=.. first_error=...
 *   RESULT mode=processes started=.. completed=.. t0_us=.. t1_us=.. start_p50_us=.. ...
 * t0_us / t1_us (CLOCK_REALTIME, µs since the epoch) bound the measured window, so the
 * caller can count what PostgreSQL committed in it (same machine, same clock).
 * Latencies by nearest rank over the sorted samples. Exit 0, or 2 with a message. */
#include <errno.h>
#include <getopt.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channel.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "orchestrator/v1/products.pb-c.h"
#include "orchestrator/v1/subscriptions.pb-c.h"

#define LG_MAX_CONNECTIONS 256
#define LG_MAX_INFLIGHT 4096

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "orch-loadgen: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        die("out of memory");
    return p;
}

/* ---- samples ------------------------------------------------------------------------ */

/* Latencies in µs; owned by one thread until merged. */
typedef struct samples {
    int64_t *v;
    size_t n, cap;
} samples_t;

static void samples_add(samples_t *s, int64_t x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = x;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank on sorted samples (the same definition as bench/subscriptions_tool.py). */
static int64_t samples_pct(const samples_t *s, double p)
{
    size_t rank;
    if (!s->n)
        return -1;
    rank = (size_t)ceil(p / 100.0 * (double)s->n - 1e-9);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return s->v[rank - 1];
}

static double samples_mean(const samples_t *s)
{
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += (double)s->v[i];
    return s->n ? sum / (double)s->n : -1;
}

/* ---- options ------------------------------------------------------------------------ */

static struct {
    const char *server;
    const char *method;
    const char *save_response;
    const char *workflow; /* process mode */
    int processes;        /* process mode: concurrent processes */
    int connections, inflight;
    double warmup_s, duration_s, rate;
    long total;
    bool strong; /* GetSubscription with consistency = STRONG */
} O = {.connections = 4, .inflight = 16, .warmup_s = 1, .duration_s = 5};

static grpc_slice req_bytes; /* the packed request, shared read-only by all threads */

/* ---- unary mode --------------------------------------------------------------------- */

typedef struct conn conn_t;

/* One call in flight; everything its batch points to lives here until it completes. */
typedef struct lg_call {
    conn_t *conn;
    grpc_call *call;
    grpc_metadata_array initial_md, trailing_md;
    grpc_byte_buffer *resp;
    grpc_status_code code;
    grpc_slice details;
    int64_t t_start;
} lg_call_t;

struct conn {
    int index;
    grpc_channel *channel;
    grpc_completion_queue *cq;
    pthread_t thread;
    lg_call_t *calls; /* inflight of them */
    samples_t lat;
    long ok, errors, resp_bytes;
    char first_error[160];
};

static grpc_slice method_slice;
static int64_t t_warm_end, t_end; /* monotonic µs; t_end 0 = until --total */
static atomic_long issued;
static atomic_bool saved_response;

static void save_response(grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader rd;
    grpc_slice s;
    FILE *f;
    bool expected = false;

    if (!O.save_response || !atomic_compare_exchange_strong(&saved_response, &expected, true))
        return;
    if (!grpc_byte_buffer_reader_init(&rd, bb))
        die("cannot read a response");
    s = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    f = fopen(O.save_response, "wb");
    if (!f || fwrite(GRPC_SLICE_START_PTR(s), 1, GRPC_SLICE_LENGTH(s), f) != GRPC_SLICE_LENGTH(s))
        die("cannot write %s: %s", O.save_response, strerror(errno));
    fclose(f);
    grpc_slice_unref(s);
}

static void call_start(lg_call_t *c)
{
    grpc_op ops[6];
    grpc_byte_buffer *req = grpc_raw_byte_buffer_create(&req_bytes, 1);
    grpc_call_error e;

    c->call =
        grpc_channel_create_call(c->conn->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->conn->cq,
                                 method_slice, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_metadata_array_init(&c->initial_md);
    grpc_metadata_array_init(&c->trailing_md);
    c->resp = NULL;
    c->code = GRPC_STATUS_UNKNOWN;
    c->details = grpc_empty_slice();
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &c->resp;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &c->trailing_md;
    ops[5].data.recv_status_on_client.status = &c->code;
    ops[5].data.recv_status_on_client.status_details = &c->details;
    c->t_start = mono_us();
    e = grpc_call_start_batch(c->call, ops, 6, c, NULL);
    grpc_byte_buffer_destroy(req); /* the batch holds its own reference */
    if (e != GRPC_CALL_OK)
        die("grpc_call_start_batch failed (%d)", (int)e);
}

/* The call completed: count it (if inside the window), free it. */
static void call_done(lg_call_t *c, bool success)
{
    conn_t *k = c->conn;
    int64_t now = mono_us();
    bool counted = t_end ? (c->t_start >= t_warm_end && now <= t_end) : true;

    if (success && c->code == GRPC_STATUS_OK) {
        if (counted) {
            k->ok++;
            samples_add(&k->lat, now - c->t_start);
            if (c->resp)
                k->resp_bytes += (long)grpc_byte_buffer_length(c->resp);
        }
        if (c->resp)
            save_response(c->resp);
    } else {
        if (counted)
            k->errors++;
        if (!k->first_error[0]) {
            char *d = grpc_slice_to_c_string(c->details);
            snprintf(k->first_error, sizeof(k->first_error), "code %d: %s", (int)c->code, d);
            for (char *p = k->first_error; *p; p++)
                if (*p == ' ')
                    *p = '_'; /* one token on the RESULT line */
            gpr_free(d);
        }
    }
    if (c->resp)
        grpc_byte_buffer_destroy(c->resp);
    grpc_metadata_array_destroy(&c->initial_md);
    grpc_metadata_array_destroy(&c->trailing_md);
    grpc_slice_unref(c->details);
    grpc_call_unref(c->call);
    c->call = NULL;
}

static void *conn_main(void *arg)
{
    conn_t *k = arg;
    int inflight = 0;
    bool issuing = true;
    /* Open loop: this connection's share of the rate. */
    double interval_us = O.rate > 0 ? 1e6 * O.connections / O.rate : 0;
    double next_due =
        (double)mono_us() + (interval_us > 0 ? interval_us * k->index / O.connections : 0);
    lg_call_t **free_calls = calloc((size_t)O.inflight, sizeof(*free_calls));
    int nfree = O.inflight;

    if (!free_calls)
        die("out of memory");
    for (int i = 0; i < O.inflight; i++)
        free_calls[i] = &k->calls[i];
    for (;;) {
        int64_t now = mono_us();
        gpr_timespec wait;
        grpc_event ev;

        if (t_end && now >= t_end)
            issuing = false;
        while (issuing && nfree > 0) {
            if (interval_us > 0 && (double)now < next_due)
                break;
            if (O.total > 0 && atomic_fetch_add(&issued, 1) >= O.total) {
                issuing = false;
                break;
            }
            if (interval_us > 0)
                next_due += interval_us;
            call_start(free_calls[--nfree]);
            inflight++;
        }
        if (!issuing && inflight == 0)
            break;
        if (issuing && interval_us > 0 && nfree > 0)
            wait = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                gpr_time_from_micros((int64_t)(next_due - (double)now) > 0
                                                         ? (int64_t)(next_due - (double)now)
                                                         : 0,
                                                     GPR_TIMESPAN));
        else
            wait =
                gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(50, GPR_TIMESPAN));
        ev = grpc_completion_queue_next(k->cq, wait, NULL);
        if (ev.type == GRPC_OP_COMPLETE) {
            lg_call_t *c = ev.tag;
            call_done(c, ev.success != 0);
            free_calls[nfree++] = c;
            inflight--;
        } else if (ev.type == GRPC_QUEUE_SHUTDOWN) {
            die("a completion queue shut down early");
        }
    }
    free(free_calls);
    return NULL;
}

static void pack_request(void)
{
    ProtobufCMessage *m = NULL;
    Orchestrator__V1__GetProductRequest gp = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__INIT;
    Orchestrator__V1__GetSubscriptionRequest gs = ORCHESTRATOR__V1__GET_SUBSCRIPTION_REQUEST__INIT;
    Orchestrator__V1__StartProcessRequest sp = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    size_t len;
    uint8_t *buf;

    if (strcmp(O.method, "GetProduct") == 0) {
        gp.key_case = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_NAME;
        gp.name = (char *)O.workflow;
        m = &gp.base;
        method_slice = grpc_slice_from_static_string("/orchestrator.v1.ProductService/GetProduct");
    } else if (strcmp(O.method, "GetSubscription") == 0) {
        gs.subscription_id = (char *)O.workflow;
        if (O.strong)
            gs.consistency = ORCHESTRATOR__V1__READ_CONSISTENCY__READ_CONSISTENCY_STRONG;
        m = &gs.base;
        method_slice =
            grpc_slice_from_static_string("/orchestrator.v1.SubscriptionService/GetSubscription");
    } else {
        sp.workflow_name = (char *)O.workflow;
        m = &sp.base;
        method_slice =
            grpc_slice_from_static_string("/orchestrator.v1.ProcessService/StartProcess");
    }
    len = protobuf_c_message_get_packed_size(m);
    buf = malloc(len ? len : 1);
    if (!buf)
        die("out of memory");
    protobuf_c_message_pack(m, buf);
    req_bytes = grpc_slice_from_copied_buffer((const char *)buf, len);
    free(buf);
}

static int run_unary(void)
{
    conn_t *conns = calloc((size_t)O.connections, sizeof(*conns));
    samples_t all = {0};
    long ok = 0, errors = 0, resp_bytes = 0;
    const char *first_error = "";
    int64_t t0, t1;
    double seconds;

    if (!conns)
        die("out of memory");
    grpc_init();
    pack_request();
    for (int i = 0; i < O.connections; i++) {
        /* A channel argument of its own per channel: the core would otherwise share one
         * subchannel (one TCP connection) between equal channels. */
        grpc_arg a[2];
        grpc_channel_args args = {2, a};
        grpc_channel_credentials *creds = grpc_insecure_credentials_create();
        a[0].type = GRPC_ARG_INTEGER;
        a[0].key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
        a[0].value.integer = 1;
        a[1].type = GRPC_ARG_INTEGER;
        a[1].key = "orch.loadgen.connection";
        a[1].value.integer = i;
        conns[i].index = i;
        conns[i].channel = grpc_channel_create(O.server, creds, &args);
        grpc_channel_credentials_release(creds);
        conns[i].cq = grpc_completion_queue_create_for_next(NULL);
        conns[i].calls = calloc((size_t)O.inflight, sizeof(lg_call_t));
        if (!conns[i].calls)
            die("out of memory");
        for (int j = 0; j < O.inflight; j++)
            conns[i].calls[j].conn = &conns[i];
        /* Connect before the clock starts; watching the state on the connection's queue is
         * what drives the connection forward. */
        {
            gpr_timespec until =
                gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(20, GPR_TIMESPAN));
            grpc_connectivity_state st = grpc_channel_check_connectivity_state(conns[i].channel, 1);
            while (st != GRPC_CHANNEL_READY) {
                grpc_event ev;
                grpc_channel_watch_connectivity_state(conns[i].channel, st, until, conns[i].cq,
                                                      &conns[i]);
                ev = grpc_completion_queue_next(conns[i].cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                                NULL);
                if (ev.type != GRPC_OP_COMPLETE || !ev.success)
                    die("cannot connect to %s within 20 s", O.server);
                st = grpc_channel_check_connectivity_state(conns[i].channel, 1);
            }
        }
    }
    t0 = mono_us();
    if (O.total > 0) {
        t_warm_end = t0;
        t_end = 0;
    } else {
        t_warm_end = t0 + (int64_t)(O.warmup_s * 1e6);
        t_end = t_warm_end + (int64_t)(O.duration_s * 1e6);
    }
    for (int i = 0; i < O.connections; i++) {
        int e = pthread_create(&conns[i].thread, NULL, conn_main, &conns[i]);
        /* A run with fewer connections than asked would measure something else; exiting
         * ends the threads already started, none of which is joined. */
        if (e)
            die("cannot start the thread of connection %d: %s", i, strerror(e));
    }
    for (int i = 0; i < O.connections; i++)
        pthread_join(conns[i].thread, NULL);
    t1 = mono_us();
    for (int i = 0; i < O.connections; i++) {
        conn_t *k = &conns[i];
        grpc_event ev;
        ok += k->ok;
        errors += k->errors;
        resp_bytes += k->resp_bytes;
        if (!first_error[0] && k->first_error[0])
            first_error = k->first_error;
        for (size_t j = 0; j < k->lat.n; j++)
            samples_add(&all, k->lat.v[j]);
        free(k->lat.v);
        grpc_completion_queue_shutdown(k->cq);
        do
            ev = grpc_completion_queue_next(k->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        while (ev.type != GRPC_QUEUE_SHUTDOWN);
        grpc_completion_queue_destroy(k->cq);
        grpc_channel_destroy(k->channel);
        free(k->calls);
    }
    seconds = O.total > 0 ? (double)(t1 - t0) / 1e6 : O.duration_s;
    qsort(all.v, all.n, sizeof(*all.v), cmp64);
    printf("RESULT mode=unary method=%s connections=%d inflight=%d rate=%.1f n=%ld errors=%ld "
           "seconds=%.3f rps=%.1f p50_us=%lld p90_us=%lld p99_us=%lld mean_us=%.1f max_us=%lld "
           "resp_bytes=%.0f first_error=%s\n",
           O.method, O.connections, O.inflight, O.rate, ok, errors, seconds, (double)ok / seconds,
           (long long)samples_pct(&all, 50), (long long)samples_pct(&all, 90),
           (long long)samples_pct(&all, 99), samples_mean(&all),
           (long long)(all.n ? all.v[all.n - 1] : -1), ok ? (double)resp_bytes / (double)ok : 0.0,
           first_error[0] ? first_error : "-");
    free(all.v);
    free(conns);
    grpc_slice_unref(req_bytes);
    grpc_slice_unref(method_slice);
    grpc_shutdown();
    return ok > 0 ? 0 : 2;
}

/* ---- process mode ------------------------------------------------------------------- */

static pthread_mutex_t pm_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pm_cond = PTHREAD_COND_INITIALIZER;
static int pm_alive;      /* started and not yet seen completed (guarded by pm_mu) */
static long pm_completed; /* guarded by pm_mu */
static atomic_bool pm_stop;
static cli_stream_t *pm_stream;

static void *watch_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&pm_stop)) {
        ProtobufCMessage *m = NULL;
        int r = cli_stream_next(pm_stream, &orchestrator__v1__process_event__descriptor, 100, &m);
        if (r == 0) {
            if (!atomic_load(&pm_stop))
                die("the WatchProcesses stream ended");
            break;
        }
        if (r < 0)
            continue;
        Orchestrator__V1__ProcessEvent *e = (Orchestrator__V1__ProcessEvent *)m;
        if (e->kind == ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_STATUS_CHANGED &&
            e->status_change) {
            int s = (int)e->status_change->new_status;
            if (s == ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_FAILED ||
                s == ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_ABORTED)
                die("process %s of %s did not complete (status %d)", e->process_id, O.workflow, s);
            if (s == ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED) {
                pthread_mutex_lock(&pm_mu);
                pm_alive--;
                pm_completed++;
                pthread_cond_signal(&pm_cond);
                pthread_mutex_unlock(&pm_mu);
            }
        }
        protobuf_c_message_free_unpacked(m, NULL);
    }
    return NULL;
}

/* With pm_mu held: waits for pm_cond (a process ended), but 50 ms at most, so that a loop
 * waiting for a count to change also sees its deadline pass. */
static void pm_wait_a_while(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 50 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&pm_cond, &pm_mu, &until);
}

static int run_processes(void)
{
    cli_channel_t *ch = cli_channel_new(O.server, NULL);
    Orchestrator__V1__WatchProcessesRequest wreq = ORCHESTRATOR__V1__WATCH_PROCESSES_REQUEST__INIT;
    Orchestrator__V1__StartProcessRequest sreq = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    char filter[300];
    samples_t lat = {0};
    pthread_t wth;
    int64_t t0, real0, t_warm, t_stop, t0_real = 0, t1_real;
    long started = 0, completed_at_warm = 0, completed_at_end;
    ProtobufCMessage *m = NULL;

    if (!ch)
        die("cannot open a channel to %s", O.server);
    snprintf(filter, sizeof(filter), "workflow = \"%s\"", O.workflow);
    wreq.filter = filter;
    pm_stream =
        cli_stream_open(ch, "/orchestrator.v1.ProcessService/WatchProcesses", &wreq.base, 0);
    if (cli_stream_next(pm_stream, &orchestrator__v1__process_event__descriptor, 0, &m) == 0) {
        cli_status_t st;
        cli_stream_close(pm_stream, &st);
        die("WatchProcesses: %s", st.message ? st.message : "the stream ended");
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL); /* an old event: not ours */
    {
        int e = pthread_create(&wth, NULL, watch_main, NULL);
        if (e)
            die("cannot start the watch thread: %s", strerror(e));
    }
    sreq.workflow_name = (char *)O.workflow;
    t0 = mono_us();
    real0 = real_us();
    t_warm = t0 + (int64_t)(O.warmup_s * 1e6);
    t_stop = t_warm + (int64_t)(O.duration_s * 1e6);
    for (;;) {
        ProtobufCMessage *resp = NULL;
        cli_status_t st = {0};
        int64_t now = mono_us(), ts;

        if (!t0_real && now >= t_warm) {
            t0_real = real0 + (t_warm - t0);
            pthread_mutex_lock(&pm_mu);
            completed_at_warm = pm_completed;
            pthread_mutex_unlock(&pm_mu);
        }
        if (now >= t_stop)
            break;
        pthread_mutex_lock(&pm_mu);
        while (pm_alive >= O.processes && mono_us() < t_stop) {
            pm_wait_a_while();
        }
        if (pm_alive >= O.processes) {
            pthread_mutex_unlock(&pm_mu);
            continue;
        }
        pm_alive++;
        pthread_mutex_unlock(&pm_mu);
        ts = mono_us();
        cli_call_unary(ch, "/orchestrator.v1.ProcessService/StartProcess", &sreq.base,
                       &orchestrator__v1__start_process_response__descriptor, 20000, &resp, &st);
        if (st.code != 0)
            die("StartProcess %s: %s", O.workflow, st.message ? st.message : "");
        if (ts >= t_warm)
            samples_add(&lat, mono_us() - ts);
        protobuf_c_message_free_unpacked(resp, NULL);
        cli_status_cleanup(&st);
        started++;
    }
    t1_real = real0 + (t_stop - t0);
    pthread_mutex_lock(&pm_mu);
    completed_at_end = pm_completed;
    pthread_mutex_unlock(&pm_mu);
    /* Let the processes still alive finish, so every process started in the window has an
     * end (the caller's latency query needs it); at most 60 s. */
    {
        int64_t until = mono_us() + 60 * 1000000;
        pthread_mutex_lock(&pm_mu);
        while (pm_alive > 0 && mono_us() < until) {
            pm_wait_a_while();
        }
        if (pm_alive > 0)
            fprintf(stderr, "orch-loadgen: %d processes still running after 60 s\n", pm_alive);
        pthread_mutex_unlock(&pm_mu);
    }
    atomic_store(&pm_stop, true);
    pthread_join(wth, NULL);
    {
        cli_status_t st;
        cli_stream_close(pm_stream, &st);
        cli_status_cleanup(&st);
    }
    qsort(lat.v, lat.n, sizeof(*lat.v), cmp64);
    printf("RESULT mode=processes workflow=%s concurrency=%d started=%ld completed=%ld "
           "seconds=%.3f processes_per_s=%.2f t0_us=%lld t1_us=%lld start_rpc_p50_us=%lld "
           "start_rpc_p99_us=%lld\n",
           O.workflow, O.processes, started, completed_at_end - completed_at_warm,
           (double)(t1_real - t0_real) / 1e6,
           (double)(completed_at_end - completed_at_warm) * 1e6 / (double)(t1_real - t0_real),
           (long long)t0_real, (long long)t1_real, (long long)samples_pct(&lat, 50),
           (long long)samples_pct(&lat, 99));
    free(lat.v);
    cli_channel_free(ch);
    return 0;
}

/* ---- main --------------------------------------------------------------------------- */

/* The command line, one row an option: its long name, the kind of value it takes and where
 * that goes, so that the getopt table and what each option does are written once. A method
 * option (--get-product NAME ...) picks the RPC and gives its argument in O.workflow. */
typedef enum { LG_STR, LG_INT, LG_LONG, LG_DOUBLE, LG_FLAG, LG_METHOD } lg_opt_kind_t;

typedef struct {
    const char *name;
    lg_opt_kind_t kind;
    void *to;
    const char *method; /* LG_METHOD: the RPC */
} lg_opt_t;

static const lg_opt_t lg_opts[] = {
    {"server", LG_STR, &O.server, NULL},
    {"get-product", LG_METHOD, &O.workflow, "GetProduct"},
    {"get-subscription", LG_METHOD, &O.workflow, "GetSubscription"},
    {"start-process", LG_METHOD, &O.workflow, "StartProcess"},
    {"processes", LG_INT, &O.processes, NULL},
    {"workflow", LG_STR, &O.workflow, NULL},
    {"connections", LG_INT, &O.connections, NULL},
    {"inflight", LG_INT, &O.inflight, NULL},
    {"warmup", LG_DOUBLE, &O.warmup_s, NULL},
    {"duration", LG_DOUBLE, &O.duration_s, NULL},
    {"total", LG_LONG, &O.total, NULL},
    {"rate", LG_DOUBLE, &O.rate, NULL},
    {"save-response", LG_STR, &O.save_response, NULL},
    {"strong", LG_FLAG, &O.strong, NULL},
};
#define LG_NOPTS (sizeof(lg_opts) / sizeof(lg_opts[0]))

static void lg_opt_set(const lg_opt_t *o, const char *arg)
{
    switch (o->kind) {
    case LG_METHOD: /* the argument is the method's subject */
        O.method = o->method;
        *(const char **)o->to = arg;
        break;
    case LG_STR:
        *(const char **)o->to = arg;
        break;
    case LG_INT:
        *(int *)o->to = atoi(arg);
        break;
    case LG_LONG:
        *(long *)o->to = atol(arg);
        break;
    case LG_DOUBLE:
        *(double *)o->to = atof(arg);
        break;
    case LG_FLAG:
        *(bool *)o->to = true;
        break;
    }
}

/* Reads argv into O. Returns -1 to go on, else the exit code (--help: 0, a bad option: 2). */
static int lg_parse_options(int argc, char **argv)
{
    struct option lo[LG_NOPTS + 2];
    int c;

    for (size_t i = 0; i < LG_NOPTS; i++)
        lo[i] = (struct option){lg_opts[i].name,
                                lg_opts[i].kind == LG_FLAG ? no_argument : required_argument, NULL,
                                256 + (int)i};
    lo[LG_NOPTS] = (struct option){"help", no_argument, NULL, 'h'};
    lo[LG_NOPTS + 1] = (struct option){NULL, 0, NULL, 0};
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c < 256 || c >= 256 + (int)LG_NOPTS) {
            fprintf(stderr, "usage: see the comment at the top of client/loadgen.c\n");
            return c == 'h' ? 0 : 2;
        }
        lg_opt_set(&lg_opts[c - 256], optarg);
    }
    return -1;
}

int main(int argc, char **argv)
{
    int rc;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if ((rc = lg_parse_options(argc, argv)) >= 0)
        return rc;
    if (!O.server)
        die("--server is required");
    if (O.connections < 1 || O.connections > LG_MAX_CONNECTIONS)
        die("--connections must be 1..%d", LG_MAX_CONNECTIONS);
    if (O.inflight < 1 || O.inflight > LG_MAX_INFLIGHT)
        die("--inflight must be 1..%d", LG_MAX_INFLIGHT);
    if (O.warmup_s < 0 || O.duration_s <= 0 || O.rate < 0 || O.total < 0)
        die("--warmup, --duration, --rate and --total must not be negative");
    if (O.processes > 0) {
        if (!O.workflow || O.method)
            die("--processes needs --workflow (and no unary method)");
        return run_processes();
    }
    if (!O.method)
        die("one of --get-product, --get-subscription, --start-process or --processes is needed");
    return run_unary();
}
