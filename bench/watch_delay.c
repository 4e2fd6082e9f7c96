/* The driver of bench/watch_delay.sh: delivery delay of process events to N watchers on one
 * replica, beside the raw PostgreSQL LISTEN/NOTIFY round trip measured at the same time, the
 * server's memory per watcher, its CPU time per delivered event and the hub's queries per
 * event.
 *
 *   watch_delay --server ADDR --conninfo CONNINFO --server-pid PID --watchers N
 *               [--mode processes|process|mixed] [--processes P] [--gap-ms MS]
 *               [--multi M] [--held] [--channels C] [--threads T] [--metrics HOST:PORT]
 *               [--timeout-s S]
 *   watch_delay --server ADDR --server-pid PID --watchers N --idle-only [--channels C]
 *
 * Streams are spread over C connections (channels, stream i on channel i % C) and T poller
 * threads, each with one completion queue that every batch of its streams completes on.
 *
 * 1. --mode processes (default): reads the server's VmRSS (/proc/PID/status), opens N
 *    WatchProcesses streams (filter workflow = "create_node", live from now), waits until
 *    the server counts them (orch_watchers on --metrics, else 2 s) and 1 s more, and reads
 *    VmRSS again: (after - before) / N is the memory per idle watcher. --idle-only stops
 *    there (any server: orch-echo --hold-method gives gRPC's own floor).
 * 2. Starts P create_node processes (product "node Cisco"), one every MS milliseconds, and
 *    records, for every event delivered, receive time (CLOCK_REALTIME) minus
 *    ProcessEvent.event_time (PostgreSQL's clock_timestamp() when the event row was
 *    inserted, i.e. before its commit; same machine, same clock). Snapshots are not events.
 *    --mode process: N WatchProcess streams, stream i on process i % P, opened right after
 *    StartProcess with after_sequence 1 (every event after the creation); with --held (the
 *    server started with ORCH_TEST_HOLD_STEP, see watch_delay.sh) all of them 1 s after the
 *    last start, from the snapshot, and the memory is read once they are registered.
 *    --mode mixed: the same plus M WatchProcesses streams with various filters that all
 *    select every create_node event, opened (and registered) before the first process.
 *    A WatchProcess stream is complete when it ends by itself (OK, its process completed),
 *    a WatchProcesses stream when it saw P completions. Every stream of one process (every
 *    WatchProcesses stream) must get the same number of events, in order, without a gap.
 * 3. Meanwhile a libpq connection LISTENs on a private channel and another sends NOTIFY
 *    every 5 ms with pg's clock_timestamp() in microseconds as payload; the listener records
 *    receive time minus payload: the raw NOTIFY round trip under the same load.
 * Around step 2 (with --held: from when every stream is registered) it reads the server's
 * utime+stime (/proc/PID/stat) and the hub's orch_watch_queries_total and
 * orch_watch_event_rows_total (--metrics).
 *
 * Prints one line, RESULT followed by key=value pairs (mode, watchers, multi, channels,
 * processes, distinct_events, delivered, missing, watch_p50_us, watch_p99_us, watch_max_us,
 * notify_n, notify_p50_us, notify_p99_us, rss_before_kb, rss_after_kb, rss_per_watcher_bytes,
 * server_cpu_us, cpu_ns_per_delivery, driver_cpu_us, driver_cpu_ns_per_delivery (this
 * process's own CPU over the same span: the client's share of a delivery, on the same
 * cores), hub_queries, hub_rows, queries_per_event_x100,
 * wall_ms, ok), or "RESULT idle ..." with --idle-only; exits 0, or 2 with a message. */
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

#include <arpa/inet.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>

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

enum { MODE_PROCESSES, MODE_PROCESS, MODE_MIXED };

typedef struct opts {
    const char *server, *conninfo, *metrics;
    int server_pid, watchers, processes, gap_ms, threads, timeout_s, mode, channels, multi;
    bool held, idle_only;
} opts_t;

static opts_t O = {.processes = 10, .gap_ms = 200, .threads = 2, .timeout_s = 180, .channels = 1};

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

/* ---- server CPU and /metrics ----------------------------------------------------------- */

/* utime + stime of PID in microseconds (/proc/PID/stat fields 14 and 15). */
static int64_t cpu_us(int pid)
{
    char path[64], buf[4096], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;
    size_t n;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (!f)
        die("cannot read %s: %s", path, strerror(errno));
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command may hold spaces */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        die("cannot parse %s", path);
    return (int64_t)(ut + st) * 1000000 / sysconf(_SC_CLK_TCK);
}

/* The sum of every series of `name` on the server's /metrics (--metrics ADDR), or -1. */
static double metric_sum(const char *name)
{
    char host[64], req[256], *buf = NULL, *p;
    size_t len = 0, cap = 0;
    int port, fd;
    double sum = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (!O.metrics || sscanf(O.metrics, "%63[^:]:%d", host, &port) != 2)
        return -1;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        die("--metrics wants an IPv4 host:port");
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        die("cannot reach the metrics listener %s: %s", O.metrics, strerror(errno));
    snprintf(req, sizeof(req), "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n", O.metrics);
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
        die("cannot send to %s", O.metrics);
    for (;;) {
        ssize_t r;
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            if (!buf)
                die("out of memory");
        }
        r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    for (p = buf; (p = strstr(p, name)) != NULL; p++) {
        const char *v;
        if ((p != buf && p[-1] != '\n') || (p[strlen(name)] != '{' && p[strlen(name)] != ' '))
            continue;
        v = strchr(p, ' ');
        if (v && (!strchr(p, '\n') || v < strchr(p, '\n')))
            sum += strtod(v + 1, NULL);
    }
    free(buf);
    return sum;
}

/* ---- watchers ------------------------------------------------------------------------- */

/* Every stream lives on one poller's completion queue; its batches complete there, so a
 * poller thread sleeps in grpc_completion_queue_next until some stream has something,
 * instead of polling each stream in turn. */
typedef struct wstream wstream_t;
typedef struct tag {
    int kind; /* 0 open, 1 message, 2 status */
    wstream_t *s;
} tag_t;

struct wstream {
    grpc_call *call;
    int group; /* process mode: the index of its process; -1: a WatchProcesses stream */
    tag_t t_open, t_recv, t_status;
    grpc_byte_buffer *bb;
    grpc_metadata_array imd, tmd;
    grpc_status_code code;
    grpc_slice details;
    int completions; /* WatchProcesses: completions seen */
    int64_t *seen;   /* WatchProcesses: the last sequence of each started process */
    int *count;      /* WatchProcesses: events of each started process */
    long received;   /* events (not snapshots) */
    int64_t last_seq;
    bool first_recv, done;
};

typedef struct poller {
    grpc_completion_queue *cq;
    pthread_t th;
    samples_t delay;
    long events;
    bool failed;
} poller_t;

static char (*process_ids)[64]; /* the processes started, in order */
static wstream_t *streams;
static int nstreams;
static poller_t *pollers;
static atomic_int opened, watchers_done;
static atomic_bool stop_all;

static void stream_done(wstream_t *s)
{
    if (!s->done) {
        s->done = true;
        atomic_fetch_add(&watchers_done, 1);
    }
}

static void post_recv(wstream_t *s)
{
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    if (s->first_recv) {
        ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[n++].data.recv_initial_metadata.recv_initial_metadata = &s->imd;
        s->first_recv = false;
    }
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n++].data.recv_message.recv_message = &s->bb;
    if (grpc_call_start_batch(s->call, ops, n, &s->t_recv, NULL) != GRPC_CALL_OK)
        die("recv batch refused");
}

static void on_message(poller_t *p, wstream_t *s)
{
    grpc_byte_buffer_reader rd;
    grpc_slice sl;
    Orchestrator__V1__ProcessEvent *e;
    int64_t now = real_us();

    grpc_byte_buffer_reader_init(&rd, s->bb);
    sl = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    grpc_byte_buffer_destroy(s->bb);
    s->bb = NULL;
    e = orchestrator__v1__process_event__unpack(NULL, GRPC_SLICE_LENGTH(sl),
                                                GRPC_SLICE_START_PTR(sl));
    grpc_slice_unref(sl);
    if (!e)
        die("a message that is not a ProcessEvent");
    if (e->kind != ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_SNAPSHOT) {
        if (s->group >= 0 && s->last_seq && e->sequence != s->last_seq + 1) {
            fprintf(stderr, "watch_delay: sequence %lld after %lld\n", (long long)e->sequence,
                    (long long)s->last_seq);
            p->failed = true;
        }
        if (s->group < 0 && s->seen) {
            /* A WatchProcesses stream: each process's events in order, without a gap. */
            for (int k = 0; k < O.processes; k++) {
                if (strcmp(process_ids[k], e->process_id) != 0)
                    continue;
                /* (The first events of a process may arrive before StartProcess returned
                 * its id here: the check starts with the first one seen.) */
                if (s->seen[k] && s->seen[k] + 1 != e->sequence) {
                    fprintf(stderr, "watch_delay: WatchProcesses: %s sequence %lld after %lld\n",
                            e->process_id, (long long)e->sequence, (long long)s->seen[k]);
                    p->failed = true;
                }
                s->seen[k] = e->sequence;
                s->count[k]++;
                break;
            }
        }
        p->events++;
        s->received++;
        if (e->event_time)
            add(&p->delay,
                now - ((int64_t)e->event_time->seconds * 1000000 + e->event_time->nanos / 1000));
        if (s->group < 0 &&
            e->kind == ORCHESTRATOR__V1__PROCESS_EVENT_KIND__PROCESS_EVENT_KIND_STATUS_CHANGED &&
            e->status_change &&
            e->status_change->new_status ==
                ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED &&
            ++s->completions == O.processes)
            stream_done(s);
    }
    s->last_seq = e->sequence;
    protobuf_c_message_free_unpacked(&e->base, NULL);
}

static void *poll_main(void *arg)
{
    poller_t *p = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(p->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        tag_t *t;
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        t = ev.tag;
        if (t->kind == 0) {
            atomic_fetch_add(&opened, 1);
        } else if (t->kind == 1) {
            if (ev.success && t->s->bb) {
                on_message(p, t->s);
                post_recv(t->s);
            }
        } else {
            wstream_t *s = t->s;
            /* WatchProcess streams end by themselves (OK) when their process completed. */
            if ((s->code != GRPC_STATUS_OK || s->group < 0) && !atomic_load(&stop_all)) {
                char *d = grpc_slice_to_c_string(s->details);
                fprintf(stderr, "watch_delay: a watcher ended early: %d %s\n", s->code, d);
                gpr_free(d);
                p->failed = true;
            }
            stream_done(s);
        }
    }
    return NULL;
}

static grpc_channel **channels;

static void stream_open(wstream_t *s, int i, const char *method, const ProtobufCMessage *req)
{
    poller_t *p = &pollers[i % O.threads];
    grpc_slice m = grpc_slice_from_static_string(method);
    grpc_slice body = grpc_slice_malloc(protobuf_c_message_get_packed_size(req));
    grpc_byte_buffer *bb;
    grpc_op ops[3];

    protobuf_c_message_pack(req, GRPC_SLICE_START_PTR(body));
    bb = grpc_raw_byte_buffer_create(&body, 1);
    grpc_slice_unref(body);
    s->t_open = (tag_t){0, s};
    s->t_recv = (tag_t){1, s};
    s->t_status = (tag_t){2, s};
    s->first_recv = true;
    grpc_metadata_array_init(&s->imd);
    grpc_metadata_array_init(&s->tmd);
    s->call = grpc_channel_create_call(channels[i % O.channels], NULL, GRPC_PROPAGATE_DEFAULTS,
                                       p->cq, m, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    if (grpc_call_start_batch(s->call, ops, 3, &s->t_open, NULL) != GRPC_CALL_OK)
        die("open batch refused");
    grpc_byte_buffer_destroy(bb); /* the call holds what it needs */
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &s->tmd;
    ops[0].data.recv_status_on_client.status = &s->code;
    ops[0].data.recv_status_on_client.status_details = &s->details;
    if (grpc_call_start_batch(s->call, ops, 1, &s->t_status, NULL) != GRPC_CALL_OK)
        die("status batch refused");
    post_recv(s);
}

static void open_watch_processes(wstream_t *s, int i, const char *filter)
{
    Orchestrator__V1__WatchProcessesRequest req = ORCHESTRATOR__V1__WATCH_PROCESSES_REQUEST__INIT;
    req.filter = (char *)filter;
    s->group = -1;
    s->seen = calloc((size_t)O.processes, sizeof(*s->seen));
    s->count = calloc((size_t)O.processes, sizeof(*s->count));
    stream_open(s, i, PS "WatchProcesses", &req.base);
}

static void open_watch_process(wstream_t *s, int i, int group, const char *process_id,
                               int64_t after)
{
    Orchestrator__V1__WatchProcessRequest req = ORCHESTRATOR__V1__WATCH_PROCESS_REQUEST__INIT;
    req.process_id = (char *)process_id;
    req.after_sequence = after;
    s->group = group;
    s->last_seq = after;
    stream_open(s, i, PS "WatchProcess", &req.base);
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

static void start_node(cli_channel_t *ch, const char *pid, const char *name, char *id)
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
    if (!((Orchestrator__V1__StartProcessResponse *)resp)->process)
        die("StartProcess asked for another form page");
    snprintf(id, 64, "%s", ((Orchestrator__V1__StartProcessResponse *)resp)->process->process_id);
    protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
}

static const char *const mixed_filters[] = {
    "workflow = \"create_node\"",
    "target = \"CREATE\"",
    "workflow = \"create_node\" OR is_task = true",
    "NOT workflow = \"terminate_node\"",
    "workflow = \"create_node\" AND is_task = false",
};

static void wait_opened(int n)
{
    int64_t deadline = real_us() + 60 * 1000000LL;
    while (atomic_load(&opened) < n && real_us() < deadline)
        sleep_us(10000);
    if (atomic_load(&opened) < n)
        die("only %d of %d streams opened in 60 s", atomic_load(&opened), n);
}

/* Waits until the server counts n watchers (/metrics orch_watchers), else 2 s, then 1 s more
 * for the memory to settle. */
static void wait_registered(int n)
{
    int64_t deadline = real_us() + 60 * 1000000LL;
    if (O.metrics)
        while (metric_sum("orch_watchers") < n && real_us() < deadline)
            sleep_us(50000);
    else
        sleep(2);
    sleep(1);
}

static void parse_args(int argc, char **argv)
{
    static const struct option lo[] = {{"server", required_argument, NULL, 's'},
                                       {"conninfo", required_argument, NULL, 'c'},
                                       {"server-pid", required_argument, NULL, 'p'},
                                       {"watchers", required_argument, NULL, 'n'},
                                       {"processes", required_argument, NULL, 'P'},
                                       {"gap-ms", required_argument, NULL, 'g'},
                                       {"threads", required_argument, NULL, 't'},
                                       {"timeout-s", required_argument, NULL, 'T'},
                                       {"mode", required_argument, NULL, 'm'},
                                       {"channels", required_argument, NULL, 'C'},
                                       {"multi", required_argument, NULL, 'M'},
                                       {"metrics", required_argument, NULL, 'x'},
                                       {"held", no_argument, NULL, 'h'},
                                       {"idle-only", no_argument, NULL, 'i'},
                                       {NULL, 0, NULL, 0}};
    int c;

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
        case 'm':
            O.mode = strcmp(optarg, "processes") == 0 ? MODE_PROCESSES
                     : strcmp(optarg, "process") == 0 ? MODE_PROCESS
                     : strcmp(optarg, "mixed") == 0
                         ? MODE_MIXED
                         : (die("--mode: processes, process or mixed"), 0);
            break;
        case 'C':
            O.channels = atoi(optarg);
            break;
        case 'M':
            O.multi = atoi(optarg);
            break;
        case 'x':
            O.metrics = optarg;
            break;
        case 'h':
            O.held = true;
            break;
        case 'i':
            O.idle_only = true;
            break;
        default:
            die("usage: see the comment at the top of bench/watch_delay.c");
        }
    }
    if (!O.server || (!O.idle_only && !O.conninfo) || O.server_pid <= 0 || O.watchers <= 0 ||
        O.processes <= 0 || O.threads <= 0 || O.channels <= 0 || O.multi < 0)
        die("--server, --conninfo, --server-pid and --watchers are required");
    if (O.mode != MODE_MIXED)
        O.multi = 0;
}

/* What a run measured, for its RESULT line. */
typedef struct result {
    long rss0, rss1;            /* server VmRSS before and after the watchers; rss1 -1 = not read */
    int64_t cpu0, cpu1, t0, t1; /* server CPU time and wall clock around step 2 */
    int64_t dcpu0, dcpu1;       /* this driver's CPU time (the client's share of each delivery) */
    double q0, q1, rows0, rows1; /* the hub's queries and event rows around step 2 */
    samples_t all;               /* every delivery delay */
    long events;                 /* events delivered */
    bool failed;
} result_t;

/* Creates the C channels, the stream and process tables, and the T poller threads with
 * their completion queues. */
static void setup_watchers(void)
{
    grpc_channel_credentials *creds;
    grpc_arg arg = {GRPC_ARG_INTEGER, (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, {.integer = 1}};
    grpc_channel_args chargs = {1, &arg};

    grpc_init();
    creds = grpc_insecure_credentials_create();
    channels = calloc((size_t)O.channels, sizeof(*channels));
    for (int i = 0; channels && i < O.channels; i++)
        channels[i] = grpc_channel_create(O.server, creds, &chargs);
    grpc_channel_credentials_release(creds);
    nstreams = O.watchers + O.multi;
    streams = calloc((size_t)nstreams, sizeof(*streams));
    pollers = calloc((size_t)O.threads, sizeof(*pollers));
    process_ids = calloc((size_t)O.processes, sizeof(*process_ids));
    if (!channels || !streams || !pollers || !process_ids)
        die("out of memory");
    for (int t = 0; t < O.threads; t++) {
        int e;
        pollers[t].cq = grpc_completion_queue_create_for_next(NULL);
        e = pthread_create(&pollers[t].th, NULL, poll_main, &pollers[t]);
        if (e) /* exits: the pollers already started are not joined */
            die("cannot start poller thread %d: %s", t, strerror(e));
    }
}

/* Step 1: memory per idle watcher (WatchProcesses streams, or any streams with --idle-only:
 * orch-echo holds them open without a word). --idle-only prints its RESULT and exits.
 * Returns the number of streams opened. */
static int measure_idle(result_t *r)
{
    int nopen = 0;

    r->rss0 = rss_kb(O.server_pid);
    r->rss1 = -1;
    if (O.mode == MODE_PROCESSES || O.idle_only) {
        for (; nopen < O.watchers; nopen++)
            open_watch_processes(&streams[nopen], nopen, "workflow = \"create_node\"");
        wait_opened(nopen);
        if (!O.idle_only)
            wait_registered(nopen);
        else
            sleep(3);
        r->rss1 = rss_kb(O.server_pid);
        if (atomic_load(&watchers_done) > 0)
            die("a watcher ended while idle");
    }
    if (O.idle_only) {
        printf("RESULT idle watchers=%d channels=%d rss_before_kb=%ld rss_after_kb=%ld "
               "rss_per_watcher_bytes=%ld\n",
               O.watchers, O.channels, r->rss0, r->rss1, (r->rss1 - r->rss0) * 1024 / O.watchers);
        fflush(stdout);
        _exit(0); /* the streams end with the connection */
    }
    return nopen;
}

/* --mode mixed: the M WatchProcesses streams, live from now, so that every one counts from
 * before the first process. */
static void open_mixed(int nopen)
{
    for (int m = 0; m < O.multi; m++, nopen++)
        open_watch_processes(&streams[nopen], nopen,
                             mixed_filters[m % (sizeof(mixed_filters) / sizeof(*mixed_filters))]);
    if (O.multi) {
        wait_opened(O.multi);
        wait_registered(O.multi);
    }
}

/* Step 3: the raw NOTIFY round trip, a listener and a notifier thread on connections of
 * their own. */
static void start_notify_probe(PGconn **listener, PGconn **notifier, pthread_t *lth, pthread_t *nth)
{
    int e;

    *listener = pg_connect();
    *notifier = pg_connect();
    pg_exec(*listener, "LISTEN watch_delay_bench");
    e = pthread_create(lth, NULL, listen_main, *listener);
    if (e)
        die("cannot start the listener thread: %s", strerror(e));
    e = pthread_create(nth, NULL, notify_main, *notifier);
    if (e) /* exits: the listener thread is not joined */
        die("cannot start the notifier thread: %s", strerror(e));
}

/* Step 2: starts the P processes, one every gap, opening the WatchProcess streams of each;
 * held, every stream from one snapshot once every process holds its step, and the memory
 * and counters read then. */
static void start_processes(cli_channel_t *ch, const char *pid, result_t *r)
{
    char tag[64];

    r->cpu0 = cpu_us(O.server_pid);
    r->dcpu0 = cpu_us((int)getpid());
    r->q0 = metric_sum("orch_watch_queries_total");
    r->rows0 = metric_sum("orch_watch_event_rows_total");
    r->t0 = real_us();
    snprintf(tag, sizeof(tag), "%x", (unsigned)real_us());
    for (int k = 0; k < O.processes; k++) {
        char name[96];
        snprintf(name, sizeof(name), "wd-%s-%d-%d", tag, O.watchers, k);
        start_node(ch, pid, name, process_ids[k]);
        /* WatchProcess streams of a running process: every event after its creation
         * (sequence 1), opened at once; held (the server holds a step, see watch_delay.sh):
         * all of them from one snapshot, opened below. */
        if (O.mode != MODE_PROCESSES && !O.held)
            for (int i = k; i < O.watchers; i += O.processes)
                open_watch_process(&streams[O.multi + i], O.multi + i, k, process_ids[k], 1);
        sleep_us((long)O.gap_ms * 1000);
    }
    if (O.mode != MODE_PROCESSES && O.held) {
        sleep(1); /* every process reached its held step */
        for (int i = 0; i < O.watchers; i++)
            open_watch_process(&streams[O.multi + i], O.multi + i, i % O.processes,
                               process_ids[i % O.processes], 0);
        wait_opened(nstreams);
        wait_registered(nstreams);
        r->rss1 = rss_kb(O.server_pid);
        /* Per event: the reads the events cost, not the opening of the streams. */
        r->q0 = metric_sum("orch_watch_queries_total");
        r->rows0 = metric_sum("orch_watch_event_rows_total");
    }
}

/* Waits (up to --timeout-s) for every stream to be complete, and reads the counters. */
static void wait_complete(result_t *r)
{
    int64_t deadline = real_us() + (int64_t)O.timeout_s * 1000000;

    while (atomic_load(&watchers_done) < nstreams && real_us() < deadline)
        sleep_us(20000);
    r->t1 = real_us();
    r->cpu1 = cpu_us(O.server_pid);
    r->dcpu1 = cpu_us((int)getpid());
    r->q1 = metric_sum("orch_watch_queries_total");
    r->rows1 = metric_sum("orch_watch_event_rows_total");
    if (atomic_load(&watchers_done) < nstreams) {
        fprintf(stderr, "watch_delay: only %d of %d watchers were complete in %d s\n",
                atomic_load(&watchers_done), nstreams, O.timeout_s);
        r->failed = true;
    }
}

/* Cancels every stream, stops the pollers and gathers their delays, then the probe. */
static void stop_all_threads(result_t *r, PGconn *listener, PGconn *notifier, pthread_t lth,
                             pthread_t nth)
{
    atomic_store(&stop_all, true);
    for (int i = 0; i < nstreams; i++)
        if (streams[i].call)
            grpc_call_cancel(streams[i].call, NULL);
    for (int t = 0; t < O.threads; t++) {
        grpc_completion_queue_shutdown(pollers[t].cq);
        pthread_join(pollers[t].th, NULL);
        for (size_t i = 0; i < pollers[t].delay.n; i++)
            add(&r->all, pollers[t].delay.v[i]);
        r->events += pollers[t].events;
        r->failed = r->failed || pollers[t].failed;
        free(pollers[t].delay.v);
    }
    pthread_join(lth, NULL);
    pthread_join(nth, NULL);
    PQfinish(listener);
    PQfinish(notifier);
    qsort(r->all.v, r->all.n, sizeof(*r->all.v), cmp64);
    qsort(notify_rt.v, notify_rt.n, sizeof(*notify_rt.v), cmp64);
}

/* Every watcher of a process (every WatchProcesses stream) must have received the same
 * events: *missing = what each one lacks against the one of its group that received most
 * (each lack reported on stderr); returns the distinct events there were to deliver. */
static long count_missing(long *missing)
{
    long *per = calloc((size_t)O.processes + 1, sizeof(*per)), distinct = 0;

    if (!per)
        die("out of memory");
    *missing = 0;
    for (int i = 0; i < nstreams; i++) {
        long *m = &per[streams[i].group + 1];
        *m = streams[i].received > *m ? streams[i].received : *m;
    }
    for (int i = 0; i < nstreams; i++) {
        long lack = per[streams[i].group + 1] - streams[i].received;
        if (lack)
            fprintf(stderr,
                    "watch_delay: watcher %d (%s %d) got %ld events, its group's best %ld "
                    "(last sequence %lld)\n",
                    i, streams[i].group < 0 ? "WatchProcesses" : "process", streams[i].group,
                    streams[i].received, per[streams[i].group + 1], (long long)streams[i].last_seq);
        for (int k = 0; lack && streams[i].count && k < O.processes; k++)
            if (streams[i].count[k] != streams[0].count[k] || k < 2)
                fprintf(stderr, "watch_delay:   process %d %s: %d events (watcher 0: %d)\n", k,
                        process_ids[k], streams[i].count[k], streams[0].count[k]);
        *missing += lack;
    }
    if (O.mode == MODE_PROCESSES)
        distinct = per[0];
    else
        for (int k = 0; k < O.processes; k++)
            distinct += per[k + 1];
    free(per);
    return distinct;
}

static void print_result(result_t *r, long distinct, long missing)
{
    samples_t *all = &r->all;
    long long cpu = (long long)(r->cpu1 - r->cpu0), dcpu = (long long)(r->dcpu1 - r->dcpu0);

    printf("RESULT mode=%s watchers=%d multi=%d channels=%d processes=%d distinct_events=%ld "
           "delivered=%ld missing=%ld watch_p50_us=%lld watch_p99_us=%lld watch_max_us=%lld "
           "notify_n=%zu notify_p50_us=%lld notify_p99_us=%lld rss_before_kb=%ld "
           "rss_after_kb=%ld rss_per_watcher_bytes=%ld server_cpu_us=%lld "
           "cpu_ns_per_delivery=%lld driver_cpu_us=%lld driver_cpu_ns_per_delivery=%lld "
           "hub_queries=%.0f hub_rows=%.0f "
           "queries_per_event_x100=%lld wall_ms=%lld ok=%d\n",
           O.mode == MODE_PROCESSES ? "processes"
           : O.mode == MODE_PROCESS ? "process"
                                    : "mixed",
           O.watchers, O.multi, O.channels, O.processes, distinct, r->events, missing,
           (long long)pct(all, 50), (long long)pct(all, 99),
           (long long)(all->n ? all->v[all->n - 1] : -1), notify_rt.n,
           (long long)pct(&notify_rt, 50), (long long)pct(&notify_rt, 99), r->rss0, r->rss1,
           r->rss1 >= 0 ? (r->rss1 - r->rss0) * 1024 / O.watchers : -1, cpu,
           r->events ? cpu * 1000 / r->events : -1, dcpu, r->events ? dcpu * 1000 / r->events : -1,
           r->q0 >= 0 ? r->q1 - r->q0 : -1, r->rows0 >= 0 ? r->rows1 - r->rows0 : -1,
           r->q0 >= 0 && distinct ? (long long)((r->q1 - r->q0) * 100 / (double)distinct) : -1,
           (long long)((r->t1 - r->t0) / 1000), r->failed ? 0 : 1);
}

int main(int argc, char **argv)
{
    cli_channel_t *ch = NULL;
    char pid[64] = "";
    pthread_t lth, nth;
    PGconn *listener, *notifier;
    result_t r = {0};
    long distinct, missing;
    int nopen;

    parse_args(argc, argv);
    setup_watchers();
    if (!O.idle_only) {
        ch = cli_channel_new(O.server, NULL);
        if (!ch)
            die("cannot open a channel to %s", O.server);
        product_id(ch, "node Cisco", pid);
    }
    nopen = measure_idle(&r);
    open_mixed(nopen);
    start_notify_probe(&listener, &notifier, &lth, &nth);
    start_processes(ch, pid, &r);
    wait_complete(&r);
    stop_all_threads(&r, listener, notifier, lth, nth);
    distinct = count_missing(&missing);
    if (missing)
        r.failed = true;
    print_result(&r, distinct, missing);
    free(r.all.v);
    free(notify_rt.v);
    cli_channel_free(ch);
    fflush(stdout);
    _exit(r.failed ? 2 : 0); /* the streams were cancelled; the channels end with the process */
}
