/* orch-echo: the gRPC transport ceiling of bench/run.sh. A minimal server on the same gRPC C
 * core as orchestratord, with its layout (server/rpc/server.c): --threads worker threads,
 * one completion queue each, every method registered with its request read into the call
 * (GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER), --slots request slots per method and queue,
 * re-posted as soon as one fires. It does no work: each call gets back a fixed response
 * (the raw bytes of --reply-file, e.g. a real GetProduct response saved by orch-loadgen
 * --save-response, so the same bytes cross the wire) with status OK.
 *
 *   orch-echo --listen 127.0.0.1:PORT [--threads 8] [--slots 8] [--reply-file FILE]
 *             [--method PATH]... [--hold-method PATH] [--hold-headers] [--hold-release]
 *             [--channel-arg KEY=INT]...
 *
 * The method defaults to orchestrator.v1.ProductService/GetProduct, so the load generator
 * sends the same request to both servers. --hold-method PATH registers a method whose calls
 * are held open without a word until the client goes: gRPC's own memory floor for idle
 * server streams, beside orchestratord's idle watch streams (bench/watch_delay.sh). With
 * --hold-headers a held call sends its initial metadata at once (as orchestratord's watch
 * streams do); with --hold-release it lets go of its request message and metadata array at
 * once (about 0.8 KiB a call, kept by the core's call otherwise), the least a held call can
 * cost. --channel-arg adds an integer channel argument (for measuring the core's settings).
 * Runs until SIGTERM/SIGINT. Prints "SERVING" on stdout once it listens. */
#include <errno.h>
#include <getopt.h>
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ECHO_MAX_METHODS 8
#define ECHO_MAX_ARGS 8

typedef enum { TAG_SLOT, TAG_CLOSE, TAG_SEND } tag_kind_t;

typedef struct tag {
    tag_kind_t kind;
    void *owner;
} tag_t;

typedef struct worker {
    grpc_completion_queue *cq;
    pthread_t thread;
} worker_t;

/* A posted request of one method on one queue (reused after each call). */
typedef struct slot {
    tag_t tag;
    worker_t *w;
    void *method;
    bool hold; /* a --hold-method: held open, never answered */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
} slot_t;

/* One call: freed when both its close and its send batch completed. */
typedef struct echo_call {
    tag_t close_tag, send_tag;
    grpc_call *call;
    grpc_metadata_array md;
    grpc_byte_buffer *payload, *reply;
    int cancelled;
    int pending;
} echo_call_t;

static grpc_server *server;
static grpc_slice reply; /* the response bytes, read-only */
static atomic_bool stopping;
static bool hold_headers, hold_release; /* --hold-headers, --hold-release */

static void die(const char *msg)
{
    fprintf(stderr, "orch-echo: %s\n", msg);
    exit(2);
}

static void slot_post(slot_t *s)
{
    grpc_metadata_array_init(&s->md);
    s->call = NULL;
    s->payload = NULL;
    if (grpc_server_request_registered_call(server, s->method, &s->call, &s->deadline, &s->md,
                                            &s->payload, s->w->cq, s->w->cq,
                                            &s->tag) != GRPC_CALL_OK &&
        !atomic_load(&stopping))
        die("cannot post a request slot");
}

static void call_unref(echo_call_t *c)
{
    if (--c->pending > 0)
        return;
    grpc_metadata_array_destroy(&c->md);
    if (c->payload)
        grpc_byte_buffer_destroy(c->payload);
    if (c->reply)
        grpc_byte_buffer_destroy(c->reply);
    grpc_call_unref(c->call);
    free(c);
}

static void slot_fired(slot_t *s, bool ok)
{
    echo_call_t *c;
    grpc_op close_op, ops[3];

    if (!ok) {
        grpc_metadata_array_destroy(&s->md);
        if (s->call)
            grpc_call_unref(s->call);
        free(s);
        return;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        die("out of memory");
    c->call = s->call;
    c->md = s->md;
    c->payload = s->payload;
    c->close_tag = (tag_t){TAG_CLOSE, c};
    c->send_tag = (tag_t){TAG_SEND, c};
    c->pending = s->hold && !hold_headers ? 1 : 2;
    if (s->hold) {
        if (!atomic_load(&stopping))
            slot_post(s);
        else
            free(s);
        if (hold_release) {
            grpc_metadata_array_destroy(&c->md);
            grpc_metadata_array_init(&c->md);
            if (c->payload)
                grpc_byte_buffer_destroy(c->payload);
            c->payload = NULL;
        }
        /* The close (and the headers): the call stays open, idle, until the client
         * cancels it. No reply buffer: it is never answered. */
        memset(&close_op, 0, sizeof(close_op));
        close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
        close_op.data.recv_close_on_server.cancelled = &c->cancelled;
        if (grpc_call_start_batch(c->call, &close_op, 1, &c->close_tag, NULL) != GRPC_CALL_OK)
            die("RECV_CLOSE_ON_SERVER batch refused");
        if (hold_headers) {
            memset(ops, 0, sizeof(ops));
            ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
            if (grpc_call_start_batch(c->call, ops, 1, &c->send_tag, NULL) != GRPC_CALL_OK)
                die("SEND_INITIAL_METADATA batch refused");
        }
        return;
    }
    if (!atomic_load(&stopping))
        slot_post(s);
    else
        free(s);

    memset(&close_op, 0, sizeof(close_op));
    close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    close_op.data.recv_close_on_server.cancelled = &c->cancelled;
    if (grpc_call_start_batch(c->call, &close_op, 1, &c->close_tag, NULL) != GRPC_CALL_OK)
        die("RECV_CLOSE_ON_SERVER batch refused");
    c->reply = grpc_raw_byte_buffer_create(&reply, 1);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c->reply;
    ops[2].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[2].data.send_status_from_server.status = GRPC_STATUS_OK;
    if (grpc_call_start_batch(c->call, ops, 3, &c->send_tag, NULL) != GRPC_CALL_OK)
        die("send batch refused");
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        tag_t *t;
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        t = ev.tag;
        if (t->kind == TAG_SLOT)
            slot_fired(t->owner, ev.success != 0);
        else
            call_unref(t->owner);
    }
    return NULL;
}

static grpc_slice read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    grpc_slice s;

    if (!f) {
        fprintf(stderr, "orch-echo: cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0 || n > 4 * 1024 * 1024)
        die("the reply file is larger than 4 MiB");
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        die("cannot read the reply file");
    fclose(f);
    s = grpc_slice_from_copied_buffer(buf, (size_t)n);
    free(buf);
    return s;
}

/* The command line. */
typedef struct echo_opts {
    const char *listen, *methods[ECHO_MAX_METHODS];
    bool hold[ECHO_MAX_METHODS]; /* --hold-method: held open without a word */
    int nmethods, threads, slots;
    char *arg_keys[ECHO_MAX_ARGS]; /* --channel-arg KEY=INT */
    int arg_values[ECHO_MAX_ARGS], nargs;
} echo_opts_t;

static void parse_args(int argc, char **argv, echo_opts_t *o)
{
    static const struct option lo[] = {{"listen", required_argument, NULL, 'l'},
                                       {"threads", required_argument, NULL, 't'},
                                       {"slots", required_argument, NULL, 's'},
                                       {"reply-file", required_argument, NULL, 'r'},
                                       {"method", required_argument, NULL, 'm'},
                                       {"hold-method", required_argument, NULL, 'H'},
                                       {"hold-headers", no_argument, NULL, 'h'},
                                       {"hold-release", no_argument, NULL, 'R'},
                                       {"channel-arg", required_argument, NULL, 'a'},
                                       {NULL, 0, NULL, 0}};
    int c;

    memset(o, 0, sizeof(*o));
    o->threads = 8;
    o->slots = 8;
    reply = grpc_empty_slice();
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'l':
            o->listen = optarg;
            break;
        case 't':
            o->threads = atoi(optarg);
            break;
        case 's':
            o->slots = atoi(optarg);
            break;
        case 'r':
            reply = read_file(optarg);
            break;
        case 'm':
        case 'H':
            if (o->nmethods == ECHO_MAX_METHODS)
                die("too many --method");
            o->hold[o->nmethods] = c == 'H';
            o->methods[o->nmethods++] = optarg;
            break;
        case 'h':
            hold_headers = true;
            break;
        case 'R':
            hold_release = true;
            break;
        case 'a': {
            char *eq = strchr(optarg, '=');
            if (!eq || o->nargs == ECHO_MAX_ARGS)
                die("--channel-arg KEY=INT, at most 8");
            *eq = '\0';
            o->arg_keys[o->nargs] = optarg;
            o->arg_values[o->nargs++] = atoi(eq + 1);
            break;
        }
        default:
            die("usage: see the comment at the top of bench/echo_server.c");
        }
    }
    if (!o->listen || o->threads < 1 || o->threads > 256 || o->slots < 1 || o->slots > 1024)
        die("--listen is required; --threads 1..256, --slots 1..1024");
    if (!o->nmethods)
        o->methods[o->nmethods++] = "/orchestrator.v1.ProductService/GetProduct";
}

/* Creates and starts the server: one completion queue per worker, every method registered
 * (handles[j] for methods[j]), listening on --listen. Returns the workers (threads not yet
 * started). */
static worker_t *start_server(const echo_opts_t *o, void **handles)
{
    grpc_arg args[2 + ECHO_MAX_ARGS];
    grpc_channel_args chargs = {2, args};
    grpc_server_credentials *creds;
    worker_t *workers;

    /* The same channel arguments as orchestratord's defaults. */
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = 4 * 1024 * 1024;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_ALLOW_REUSEPORT;
    args[1].value.integer = 0;
    for (int i = 0; i < o->nargs; i++) {
        grpc_arg *a = &args[chargs.num_args++];
        a->type = GRPC_ARG_INTEGER;
        a->key = o->arg_keys[i];
        a->value.integer = o->arg_values[i];
    }
    server = grpc_server_create(&chargs, NULL);
    workers = calloc((size_t)o->threads, sizeof(*workers));
    if (!workers)
        die("out of memory");
    for (int i = 0; i < o->threads; i++) {
        workers[i].cq = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(server, workers[i].cq, NULL);
    }
    for (int j = 0; j < o->nmethods; j++) {
        handles[j] = grpc_server_register_method(server, o->methods[j], NULL,
                                                 GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
        if (!handles[j])
            die("cannot register the method");
    }
    creds = grpc_insecure_server_credentials_create();
    if (grpc_server_add_http2_port(server, o->listen, creds) <= 0)
        die("cannot listen (address in use or invalid)");
    grpc_server_credentials_release(creds);
    grpc_server_start(server);
    return workers;
}

/* Posts --slots request slots per method on each worker's queue, then starts its thread. */
static void start_workers(const echo_opts_t *o, void *const *handles, worker_t *workers)
{
    for (int i = 0; i < o->threads; i++) {
        int e;
        for (int j = 0; j < o->nmethods; j++) {
            for (int k = 0; k < o->slots; k++) {
                slot_t *s = calloc(1, sizeof(*s));
                if (!s)
                    die("out of memory");
                s->tag = (tag_t){TAG_SLOT, s};
                s->w = &workers[i];
                s->method = handles[j];
                s->hold = o->hold[j];
                slot_post(s);
            }
        }
        e = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
        if (e) { /* exits: the workers already started are not joined */
            fprintf(stderr, "orch-echo: cannot start worker thread %d: %s\n", i, strerror(e));
            exit(2);
        }
    }
}

/* Shuts the server down (cancelling the held calls), then drains and joins every worker. */
static void stop_server(worker_t *workers, int threads)
{
    grpc_completion_queue *pluck;

    atomic_store(&stopping, true);
    pluck = grpc_completion_queue_create_for_pluck(NULL);
    grpc_server_shutdown_and_notify(server, pluck, &stopping);
    grpc_server_cancel_all_calls(server);
    grpc_completion_queue_pluck(pluck, &stopping, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_completion_queue_shutdown(pluck);
    grpc_completion_queue_destroy(pluck);
    grpc_server_destroy(server);
    for (int i = 0; i < threads; i++) {
        grpc_completion_queue_shutdown(workers[i].cq);
        pthread_join(workers[i].thread, NULL);
        grpc_completion_queue_destroy(workers[i].cq);
    }
}

int main(int argc, char **argv)
{
    echo_opts_t o;
    void *handles[ECHO_MAX_METHODS];
    worker_t *workers;
    sigset_t set;
    int sig;

    parse_args(argc, argv, &o);
    /* Signals are taken by sigwait below, not by the gRPC threads. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    grpc_init();
    workers = start_server(&o, handles);
    start_workers(&o, handles, workers);
    printf("SERVING %s\n", o.listen);
    fflush(stdout);
    sigwait(&set, &sig);
    stop_server(workers, o.threads);
    free(workers);
    grpc_slice_unref(reply);
    grpc_shutdown();
    return 0;
}
