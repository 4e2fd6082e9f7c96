/* The driver of bench/watch_delay.sh: delivery delay of process events to N watchers on one
 * replica, beside the raw PostgreSQL LISTEN/NOTIFY round trip measured at the same time, and
 * the server's memory per watcher.
 *
 *   watch_delay --server ADDR --conninfo CONNINFO --server-pid PID --watchers N
 *               [--processes P] [--gap-ms MS] [--threads T] [--timeout-s S]
 *
 * 1. Reads the server's VmRSS (/proc/PID/status), opens N WatchProcesses streams
 *    (filter workflow = "create_node", live from now), lets them settle idle for 2 s and
 *    reads VmRSS again: (after - before) / N is the memory per idle watcher.
 * 2. Starts P create_node processes (product "node Cisco"), one every MS milliseconds, while
 *    T threads poll the N streams (each its share, round robin, without waiting) and record,
 *    for every event delivered, receive time (CLOCK_REALTIME) minus ProcessEvent.event_time
 *    (PostgreSQL's clock_timestamp() when the event row was inserted, i.e. before its
 *    commit; same machine, same clock). It stops when every watcher saw P completions.
 * 3. Meanwhile a libpq connection LISTENs on a private channel and another sends NOTIFY
 *    every 5 ms with pg's clock_timestamp() in microseconds as payload; the listener records
 *    receive time minus payload: the raw NOTIFY round trip under the same load.
 *
 * Prints one line:
 *   RESULT watchers=N processes=P events_per_watcher=E delivered=D missing=M watch_p50_us=..
 * watch_p99_us=.. watch_max_us=.. notify_n=.. notify_p50_us=.. notify_p99_us=.. rss_before_kb=..
 *          rss_after_kb=.. rss_per_watcher_bytes=..
 * and exits 0, or 2 with a message. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "channel.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "orchestrator/v1/products.pb-c.h"

#define PS "/orchestrator.v1.ProcessService/"

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "watch_delay: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static int64_t real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* ---- samples -------------------------------------------------------------------------- */

typedef struct samples {
    int64_t *v;
    size_t n, cap;
} samples_t;

static void add(samples_t *s, int64_t x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        if (!s->v)
            die("out of memory");
    }
    s->v[s->n++] = x;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t pct(samples_t *s, double p)
{
    size_t i;
    if (!s->n)
        return -1;
    i = (size_t)(p / 100.0 * (double)(s->n - 1) + 0.5);
    return s->v[i];
}

/* ---- server memory -------------------------------------------------------------------- */

static long rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (!f)
        die("cannot read %s: %s", path, strerror(errno));
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* ---- watchers ------------------------------------------------------------------------- */

typedef struct opts {
    const char *server, *conninfo;
    int server_pid, watchers, processes, gap_ms, threads, timeout_s;
} opts_t;

static opts_t O = {.processes = 10, .gap_ms = 200, .threads = 2, .timeout_s = 180};
static cli_stream_t **streams;
static int *completed; /* per watcher */
static long *received; /* per watcher */
static atomic_int watchers_done;
static atomic_bool stop_all;

typedef struct poller {
    int from, to;
    samples_t delay;
    long events;
    bool failed;
} poller_t;

static void *poll_main(void *arg)
{
    poller_t *p = arg;
    while (!atomic_load(&stop_all)) {
        bool any = false;
        for (int i = p->from; i < p->to; i++) {
            ProtobufCMessage *m = NULL;
            int r;
            if (completed[i] >= O.processes)
                continue;
            while ((r = cli_stream_next(streams[i], &orchestrator__v1__process_event__descriptor, 0,
                                        &m)) == 1) {
                Orchestrator__V1__ProcessEvent *e = (Orchestrator__V1__ProcessEvent *)m;
                int64_t now = real_us();
                any = true;
                p->events++;
                received[i]++;
                if (e->event_time)
                    add(&p->delay, now - ((int64_t)e->event_time->seconds * 1000000 +
                                          e->event_time->nanos / 1000));
                if (e->kind ==
                        ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_STATUS_CHANGED &&
                    e->status_change &&
                    e->status_change->new_status ==
                        ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED &&
                    ++completed[i] == O.processes)
                    atomic_fetch_add(&watchers_done, 1);
                protobuf_c_message_free_unpacked(m, NULL);
                if (completed[i] >= O.processes)
                    break;
            }
            if (r == 0) {
                cli_status_t st;
                cli_stream_close(streams[i], &st);
                fprintf(stderr, "watch_delay: watcher %d ended early: %d %s\n", i, st.code,
                        st.message ? st.message : "");
                cli_status_cleanup(&st);
                streams[i] = NULL;
                completed[i] = O.processes; /* counted as done, its events as missing */
                atomic_fetch_add(&watchers_done, 1);
                p->failed = true;
            }
        }
        if (!any)
            sleep_us(100);
    }
    return NULL;
}

/* ---- raw LISTEN/NOTIFY ---------------------------------------------------------------- */

static samples_t notify_rt;

static PGconn *pg_connect(void)
{
    PGconn *c = PQconnectdb(O.conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        die("connect %s: %s", O.conninfo, PQerrorMessage(c));
    return c;
}

static void pg_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        die("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static void *listen_main(void *arg)
{
    PGconn *c = arg;
    int fd = PQsocket(c);
    while (!atomic_load(&stop_all)) {
        fd_set rd;
        struct timeval tv = {0, 50000};
        PGnotify *n;
        FD_ZERO(&rd);
        FD_SET(fd, &rd);
        if (select(fd + 1, &rd, NULL, NULL, &tv) < 0 && errno != EINTR)
            die("select: %s", strerror(errno));
        if (!PQconsumeInput(c))
            die("listener: %s", PQerrorMessage(c));
        while ((n = PQnotifies(c)) != NULL) {
            add(&notify_rt, real_us() - atoll(n->extra));
            PQfreemem(n);
        }
    }
    return NULL;
}

static void *notify_main(void *arg)
{
    PGconn *c = arg;
    while (!atomic_load(&stop_all)) {
        pg_exec(c, "SELECT pg_notify('watch_delay_bench', "
                   "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text)");
        sleep_us(5000);
    }
    return NULL;
}

/* ---- the calls ------------------------------------------------------------------------ */

static void product_id(cli_channel_t *ch, const char *name, char *out)
{
    Orchestrator__V1__GetProductRequest req = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    req.key_case = ORCHESTRATOR__V1__GET_PRODUCT_REQUEST__KEY_NAME;
    req.name = (char *)name;
    cli_call_unary(ch, "/orchestrator.v1.ProductService/GetProduct", &req.base,
                   &orchestrator__v1__product__descriptor, 5000, &resp, &st);
    if (st.code != 0)
        die("GetProduct %s: %s", name, st.message ? st.message : "");
    snprintf(out, 64, "%s", ((Orchestrator__V1__Product *)resp)->product_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
}

static void start_node(cli_channel_t *ch, const char *pid, const char *name)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    Google__Protobuf__Struct page = GOOGLE__PROTOBUF__STRUCT__INIT, *pp = &page;
    Google__Protobuf__Struct__FieldsEntry e[5], *ep[5];
    Google__Protobuf__Value v[5];
    const char *keys[5] = {"customer_id", "node_name", "role_id", "type_id", "site_id"};
    ProtobufCMessage *resp = NULL;
    cli_status_t st;

    for (int i = 0; i < 5; i++) {
        google__protobuf__value__init(&v[i]);
        if (i < 2) {
            v[i].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
            v[i].string_value = (char *)(i == 0 ? "bench" : name);
        } else {
            v[i].kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
            v[i].number_value = i - 1;
        }
        google__protobuf__struct__fields_entry__init(&e[i]);
        e[i].key = (char *)keys[i];
        e[i].value = &v[i];
        ep[i] = &e[i];
    }
    page.n_fields = 5;
    page.fields = ep;
    req.workflow_name = "create_node";
    req.product_id = (char *)pid;
    req.n_user_inputs = 1;
    req.user_inputs = &pp;
    cli_call_unary(ch, PS "StartProcess", &req.base,
                   &orchestrator__v1__start_process_response__descriptor, 20000, &resp, &st);
    if (st.code != 0)
        die("StartProcess: %s", st.message ? st.message : "");
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"server", required_argument, NULL, 's'},
                                       {"conninfo", required_argument, NULL, 'c'},
                                       {"server-pid", required_argument, NULL, 'p'},
                                       {"watchers", required_argument, NULL, 'n'},
                                       {"processes", required_argument, NULL, 'P'},
                                       {"gap-ms", required_argument, NULL, 'g'},
                                       {"threads", required_argument, NULL, 't'},
                                       {"timeout-s", required_argument, NULL, 'T'},
                                       {NULL, 0, NULL, 0}};
    int c;
    cli_channel_t *ch;
    char pid[64], tag[64];
    long rss0, rss1;
    poller_t *pollers;
    pthread_t *pth, lth, nth;
    PGconn *listener, *notifier;
    samples_t all = {0};
    long events = 0;
    bool failed = false;
    int64_t deadline;
    Orchestrator__V1__WatchProcessesRequest wreq = ORCHESTRATOR__V1__WATCH_PROCESSES_REQUEST__INIT;

    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 's':
            O.server = optarg;
            break;
        case 'c':
            O.conninfo = optarg;
            break;
        case 'p':
            O.server_pid = atoi(optarg);
            break;
        case 'n':
            O.watchers = atoi(optarg);
            break;
        case 'P':
            O.processes = atoi(optarg);
            break;
        case 'g':
            O.gap_ms = atoi(optarg);
            break;
        case 't':
            O.threads = atoi(optarg);
            break;
        case 'T':
            O.timeout_s = atoi(optarg);
            break;
        default:
            die("usage: see the comment at the top of bench/watch_delay.c");
        }
    }
    if (!O.server || !O.conninfo || O.server_pid <= 0 || O.watchers <= 0 || O.processes <= 0 ||
        O.threads <= 0)
        die("--server, --conninfo, --server-pid and --watchers are required");
    if (O.threads > O.watchers)
        O.threads = O.watchers;

    ch = cli_channel_new(O.server, NULL);
    if (!ch)
        die("cannot open a channel to %s", O.server);
    product_id(ch, "node Cisco", pid);

    /* 1. Memory per idle watcher. */
    rss0 = rss_kb(O.server_pid);
    streams = calloc((size_t)O.watchers, sizeof(*streams));
    completed = calloc((size_t)O.watchers, sizeof(*completed));
    received = calloc((size_t)O.watchers, sizeof(*received));
    wreq.filter = "workflow = \"create_node\"";
    for (int i = 0; i < O.watchers; i++) {
        ProtobufCMessage *m = NULL;
        streams[i] = cli_stream_open(ch, PS "WatchProcesses", &wreq.base, 0);
        /* Starts the receive: the call is established on the server. */
        if (cli_stream_next(streams[i], &orchestrator__v1__process_event__descriptor, 0, &m) == 1)
            die("an event before any process started");
    }
    sleep(2);
    for (int i = 0; i < O.watchers; i++) {
        ProtobufCMessage *m = NULL;
        if (cli_stream_next(streams[i], &orchestrator__v1__process_event__descriptor, 0, &m) != -1)
            die("watcher %d ended or got an event while idle", i);
    }
    rss1 = rss_kb(O.server_pid);

    /* 2 and 3. */
    listener = pg_connect();
    notifier = pg_connect();
    pg_exec(listener, "LISTEN watch_delay_bench");
    pthread_create(&lth, NULL, listen_main, listener);
    pthread_create(&nth, NULL, notify_main, notifier);
    pollers = calloc((size_t)O.threads, sizeof(*pollers));
    pth = calloc((size_t)O.threads, sizeof(*pth));
    for (int t = 0; t < O.threads; t++) {
        pollers[t].from = (int)((long)O.watchers * t / O.threads);
        pollers[t].to = (int)((long)O.watchers * (t + 1) / O.threads);
        pthread_create(&pth[t], NULL, poll_main, &pollers[t]);
    }
    snprintf(tag, sizeof(tag), "%x", (unsigned)real_us());
    for (int k = 0; k < O.processes; k++) {
        char name[96];
        snprintf(name, sizeof(name), "wd-%s-%d-%d", tag, O.watchers, k);
        start_node(ch, pid, name);
        sleep_us((long)O.gap_ms * 1000);
    }
    deadline = real_us() + (int64_t)O.timeout_s * 1000000;
    while (atomic_load(&watchers_done) < O.watchers && real_us() < deadline)
        sleep_us(20000);
    if (atomic_load(&watchers_done) < O.watchers) {
        fprintf(stderr, "watch_delay: only %d of %d watchers saw %d completions in %d s\n",
                atomic_load(&watchers_done), O.watchers, O.processes, O.timeout_s);
        failed = true;
    }
    atomic_store(&stop_all, true);
    for (int t = 0; t < O.threads; t++) {
        pthread_join(pth[t], NULL);
        for (size_t i = 0; i < pollers[t].delay.n; i++)
            add(&all, pollers[t].delay.v[i]);
        events += pollers[t].events;
        failed = failed || pollers[t].failed;
        free(pollers[t].delay.v);
    }
    pthread_join(lth, NULL);
    pthread_join(nth, NULL);
    PQfinish(listener);
    PQfinish(notifier);

    for (int i = 0; i < O.watchers; i++) {
        if (streams[i]) {
            cli_status_t st;
            cli_stream_close(streams[i], &st);
            cli_status_cleanup(&st);
        }
    }
    qsort(all.v, all.n, sizeof(*all.v), cmp64);
    qsort(notify_rt.v, notify_rt.n, sizeof(*notify_rt.v), cmp64);
    {
        /* Every watcher must have received the same events: missing = what each one lacks
         * against the one that received most. */
        long per = 0, missing = 0;
        for (int i = 0; i < O.watchers; i++)
            per = received[i] > per ? received[i] : per;
        for (int i = 0; i < O.watchers; i++)
            missing += per - received[i];
        if (missing)
            failed = true;
        printf("RESULT watchers=%d processes=%d events_per_watcher=%ld delivered=%ld missing=%ld "
               "watch_p50_us=%lld watch_p99_us=%lld watch_max_us=%lld notify_n=%zu "
               "notify_p50_us=%lld notify_p99_us=%lld rss_before_kb=%ld rss_after_kb=%ld "
               "rss_per_watcher_bytes=%ld ok=%d\n",
               O.watchers, O.processes, per, events, missing, (long long)pct(&all, 50),
               (long long)pct(&all, 99), (long long)(all.n ? all.v[all.n - 1] : -1), notify_rt.n,
               (long long)pct(&notify_rt, 50), (long long)pct(&notify_rt, 99), rss0, rss1,
               (rss1 - rss0) * 1024 / O.watchers, failed ? 0 : 1);
    }
    free(all.v);
    free(notify_rt.v);
    free(streams);
    free(completed);
    free(received);
    free(pollers);
    free(pth);
    cli_channel_free(ch);
    return failed ? 2 : 0;
}
