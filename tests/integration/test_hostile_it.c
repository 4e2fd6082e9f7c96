/* A hostile client against a running server: random bytes on the gRPC port, truncated and
 * oversized HTTP/2 frames, a gRPC message declaring 4 GiB, deeply nested Structs, and
 * thousands of streams on one connection (pipelined, rapidly reset, and held open). All the
 * while a well-behaved client keeps calling and must get every answer right; afterwards the
 * server still serves the same data and exits 0 on SIGTERM.
 *
 * Raw HTTP/2 is written by hand (frames of RFC 9113, header blocks as HPACK literals without
 * indexing or Huffman), so that the test can send what no gRPC library would. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "grpc/health/v1/health.pb-c.h"
#include "harness.h"
#include "orchestrator/v1/products.pb-c.h"
#include "orchestrator/v1/subscriptions.pb-c.h"

#define CHECK "/grpc.health.v1.Health/Check"
#define WATCH "/grpc.health.v1.Health/Watch"
#define LIST "/orchestrator.v1.ProductService/ListProducts"
#define UPDATE_METADATA "/orchestrator.v1.SubscriptionService/UpdateSubscriptionMetadata"

/* grpc_status_code values the test expects. */
#define ST_OK 0
#define ST_INVALID_ARGUMENT 3
#define ST_NOT_FOUND 5
#define ST_RESOURCE_EXHAUSTED 8

static harness_server_t srv;

/* ---- the well-behaved client ------------------------------------------------------------ */

/* The ListProducts answer before any hostility, packed: every later answer must equal it. */
static uint8_t *golden;
static size_t golden_len;

static pthread_t good_thread;
static bool good_running;
static atomic_bool good_stop;
static atomic_int good_calls, good_failures;
static char good_first_failure[256];

static int list_products(cli_channel_t *ch, uint8_t **out, size_t *len, cli_status_t *st)
{
    Orchestrator__V1__ListProductsRequest req = ORCHESTRATOR__V1__LIST_PRODUCTS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int code;

    req.page_size = 100;
    code = cli_call_unary(ch, LIST, &req.base,
                          &orchestrator__v1__list_products_response__descriptor, 10000, &resp, st);
    if (code == ST_OK) {
        *len = protobuf_c_message_get_packed_size(resp);
        *out = malloc(*len + 1);
        protobuf_c_message_pack(resp, *out);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return code;
}

static int health_check(cli_channel_t *ch, cli_status_t *st)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int code =
        cli_call_unary(ch, CHECK, &req.base, &grpc__health__v1__health_check_response__descriptor,
                       10000, &resp, st);
    int status = -1;
    if (resp) {
        status = ((Grpc__Health__V1__HealthCheckResponse *)resp)->status;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return code == ST_OK &&
                   status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
               ? 0
               : -1;
}

static void good_failed(const char *what, const cli_status_t *st)
{
    if (atomic_fetch_add(&good_failures, 1) == 0)
        snprintf(good_first_failure, sizeof(good_first_failure), "%s: %s (%s)", what,
                 cli_status_code_name(st->code), st->message ? st->message : "");
}

/* Its own channel (its own connection), a call every 20 ms until told to stop. */
static void *good_client(void *arg)
{
    cli_channel_t *ch = cli_channel_new(srv.addr, NULL);
    (void)arg;
    while (!atomic_load(&good_stop)) {
        cli_status_t st = {0};
        uint8_t *bytes = NULL;
        size_t len = 0;
        if (list_products(ch, &bytes, &len, &st) != ST_OK)
            good_failed("ListProducts", &st);
        else if (len != golden_len || memcmp(bytes, golden, len) != 0)
            good_failed("ListProducts answered different products", &st);
        free(bytes);
        cli_status_cleanup(&st);
        if (health_check(ch, &st) != 0)
            good_failed("Health/Check", &st);
        cli_status_cleanup(&st);
        atomic_fetch_add(&good_calls, 1);
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    cli_channel_free(ch);
    return NULL;
}

/* The well-behaved client has had no failure so far, and is still being answered. */
static void assert_good_client_fine(void)
{
    int before = atomic_load(&good_calls);
    for (int i = 0; i < 200 && atomic_load(&good_calls) < before + 2; i++)
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    if (atomic_load(&good_failures))
        fail_msg("the well-behaved client failed %d time(s); first: %s",
                 atomic_load(&good_failures), good_first_failure);
    assert_true(atomic_load(&good_calls) >= before + 2);
}

/* ---- raw TCP and HTTP/2 ------------------------------------------------------------------- */

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum { F_DATA = 0, F_HEADERS = 1, F_RST_STREAM = 3, F_SETTINGS = 4, F_GOAWAY = 7 };
enum { FL_END_STREAM = 1, FL_ACK = 1, FL_END_HEADERS = 4 };

static int tcp_connect(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct timeval tv = {5, 0};
    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Writes everything; false when the server closed the connection (which it may do to a
 * hostile peer at any point). */
static bool send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static size_t frame_header(uint8_t *h, size_t len, int type, int flags, uint32_t stream)
{
    h[0] = (uint8_t)(len >> 16);
    h[1] = (uint8_t)(len >> 8);
    h[2] = (uint8_t)len;
    h[3] = (uint8_t)type;
    h[4] = (uint8_t)flags;
    h[5] = (uint8_t)(stream >> 24 & 0x7f);
    h[6] = (uint8_t)(stream >> 16);
    h[7] = (uint8_t)(stream >> 8);
    h[8] = (uint8_t)stream;
    return 9;
}

static bool send_frame(int fd, int type, int flags, uint32_t stream, const void *payload,
                       size_t len)
{
    uint8_t h[9];
    frame_header(h, len, type, flags, stream);
    return send_all(fd, h, 9) && (len == 0 || send_all(fd, payload, len));
}

/* HPACK "literal header field without indexing, new name", no Huffman (RFC 7541 6.2.2);
 * names and values here are shorter than 127 bytes. */
static size_t hpack_literal(uint8_t *out, const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value), o = 0;
    out[o++] = 0x00;
    out[o++] = (uint8_t)n;
    memcpy(out + o, name, n);
    o += n;
    out[o++] = (uint8_t)v;
    memcpy(out + o, value, v);
    return o + v;
}

static size_t grpc_headers(uint8_t *out, const char *path)
{
    size_t o = 0;
    o += hpack_literal(out + o, ":method", "POST");
    o += hpack_literal(out + o, ":scheme", "http");
    o += hpack_literal(out + o, ":path", path);
    o += hpack_literal(out + o, ":authority", "127.0.0.1");
    o += hpack_literal(out + o, "content-type", "application/grpc");
    o += hpack_literal(out + o, "te", "trailers");
    return o;
}

/* Connects and sends the client preface and an empty SETTINGS frame. */
static int h2_connect(void)
{
    int fd = tcp_connect();
    assert_true(send_all(fd, preface, sizeof(preface) - 1));
    assert_true(send_frame(fd, F_SETTINGS, 0, 0, NULL, 0));
    return fd;
}

/* Reads frames until stream `stream` ends (RST_STREAM, or HEADERS with END_STREAM: the
 * trailers), the server sends GOAWAY, or it closes the connection; acknowledges the server's
 * SETTINGS on the way. Returns the frame type that ended it (-1 for a closed connection), or
 * -2 if nothing definitive came within wait_ms. */
static int h2_wait_end(int fd, uint32_t stream, int wait_ms)
{
    static uint8_t buf[1 << 16];
    size_t have = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long elapsed;
        ssize_t n;
        /* Whole frames in the buffer first. */
        while (have >= 9) {
            size_t len = (size_t)buf[0] << 16 | (size_t)buf[1] << 8 | buf[2];
            int type = buf[3], flags = buf[4];
            uint32_t sid = ((uint32_t)buf[5] & 0x7f) << 24 | (uint32_t)buf[6] << 16 |
                           (uint32_t)buf[7] << 8 | buf[8];
            if (len > sizeof(buf) - 9)
                return -1; /* larger than we allowed: not a conforming server */
            if (have < 9 + len)
                break;
            if (type == F_SETTINGS && !(flags & FL_ACK))
                send_frame(fd, F_SETTINGS, FL_ACK, 0, NULL, 0);
            if (type == F_GOAWAY)
                return F_GOAWAY;
            if (sid == stream &&
                (type == F_RST_STREAM || (type == F_HEADERS && (flags & FL_END_STREAM))))
                return type;
            memmove(buf, buf + 9 + len, have - 9 - len);
            have -= 9 + len;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        elapsed = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (elapsed >= wait_ms)
            return -2;
        if (poll(&p, 1, (int)(wait_ms - elapsed)) <= 0)
            continue;
        n = recv(fd, buf + have, sizeof(buf) - have, 0);
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
}

/* Reads until the server closes the connection or wait_ms pass; true if it closed. */
static bool wait_closed(int fd, int wait_ms)
{
    char buf[4096];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, wait_ms) > 0) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return true;
    }
    return false;
}

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
    /* xorshift32: reproducible bytes without libc's global state. */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void random_fill(uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)rng();
}

/* ---- setup -------------------------------------------------------------------------------- */

static int setup(void **state)
{
    cli_status_t st = {0};
    (void)state;
    harness_server_start(&srv, NULL, NULL);
    assert_int_equal(list_products(srv.ch, &golden, &golden_len, &st), ST_OK);
    cli_status_cleanup(&st);
    assert_true(golden_len > 0);
    atomic_store(&good_stop, false);
    assert_int_equal(pthread_create(&good_thread, NULL, good_client, NULL), 0);
    good_running = true;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    atomic_store(&good_stop, true);
    if (good_running)
        pthread_join(good_thread, NULL);
    good_running = false;
    free(golden);
    return 0;
}

/* ---- the tests ---------------------------------------------------------------------------- */

/* Random bytes, also after a valid preface: the server drops each connection, quickly. */
static void random_bytes(void **state)
{
    static uint8_t junk[16384];
    (void)state;
    for (int i = 0; i < 40; i++) {
        int fd = tcp_connect();
        random_fill(junk, sizeof(junk));
        if (i % 2)
            send_all(fd, preface, sizeof(preface) - 1);
        send_all(fd, junk, (size_t)(rng() % sizeof(junk)) + 1);
        assert_true(wait_closed(fd, 10000));
        close(fd);
    }
    assert_good_client_fine();
}

/* Frames cut short, a frame header declaring 16 MiB, a HEADERS frame whose header block
 * never ends, and connections that stop mid-frame and stay open (held until the end of
 * the test while the good client keeps calling). */
static void truncated_frames(void **state)
{
    uint8_t h[9], block[512];
    int held[20];
    (void)state;

    for (int i = 0; i < 20; i++) {
        int fd = tcp_connect();
        size_t hl;
        send_all(fd, preface, sizeof(preface) - 1);
        switch (i % 4) {
        case 0: /* SETTINGS declaring 60 bytes, 6 sent */
            frame_header(h, 60, F_SETTINGS, 0, 0);
            send_all(fd, h, 9);
            send_all(fd, "\x00\x03\x00\x00\x00", 6);
            break;
        case 1: /* a frame header cut after 5 bytes */
            send_frame(fd, F_SETTINGS, 0, 0, NULL, 0);
            frame_header(h, 0, F_HEADERS, FL_END_HEADERS, 1);
            send_all(fd, h, 5);
            break;
        case 2: /* a HEADERS frame declaring 16 MiB - 1 */
            send_frame(fd, F_SETTINGS, 0, 0, NULL, 0);
            frame_header(h, (1u << 24) - 1, F_HEADERS, FL_END_HEADERS, 1);
            send_all(fd, h, 9);
            hl = grpc_headers(block, LIST);
            send_all(fd, block, hl);
            break;
        case 3: /* a header block without END_HEADERS and no CONTINUATION */
            send_frame(fd, F_SETTINGS, 0, 0, NULL, 0);
            hl = grpc_headers(block, LIST);
            send_frame(fd, F_HEADERS, 0, 1, block, hl / 2);
            break;
        }
        held[i] = fd;
    }
    /* Half of them are closed at once, mid-frame; the rest stay open a while. */
    for (int i = 0; i < 20; i += 2)
        close(held[i]);
    assert_good_client_fine();
    nanosleep(&(struct timespec){1, 0}, NULL);
    assert_good_client_fine();
    for (int i = 1; i < 20; i += 2)
        close(held[i]);
}

/* A gRPC message whose 5-byte prefix declares 4 GiB - 1: nothing of that size is allocated;
 * when the stream ends short of it, the call is ended at once. Then a real 5 MiB message over
 * the 4 MiB limit: RESOURCE_EXHAUSTED. */
static void huge_declared_length(void **state)
{
    uint8_t block[512], msg[5 + 64];
    cli_status_t st = {0};
    ProtobufCMessage *resp = NULL;
    uint8_t *big;
    size_t big_len = 5u << 20;
    int fd, end;
    (void)state;

    fd = h2_connect();
    assert_true(send_frame(fd, F_HEADERS, FL_END_HEADERS, 1, block, grpc_headers(block, LIST)));
    msg[0] = 0;
    msg[1] = msg[2] = msg[3] = msg[4] = 0xff;
    random_fill(msg + 5, 64);
    send_frame(fd, F_DATA, 0, 1, msg, sizeof(msg));
    /* gRPC 1.51 checks the limit once the whole message is in, so the server may wait for
     * the rest, holding no more than HTTP/2 flow control lets us send. It must neither crash
     * nor stall others meanwhile; then the stream is cancelled. */
    end = h2_wait_end(fd, 1, 2000);
    assert_true(end == -2 || end == F_RST_STREAM || end == F_HEADERS || end == F_GOAWAY ||
                end == -1);
    assert_good_client_fine();
    send_frame(fd, F_RST_STREAM, 0, 1, (uint8_t[]){0, 0, 0, 8}, 4);
    close(fd);

    /* The same declared length, but the stream then ends (END_STREAM) after 64 bytes. */
    fd = h2_connect();
    assert_true(send_frame(fd, F_HEADERS, FL_END_HEADERS, 1, block, grpc_headers(block, LIST)));
    send_frame(fd, F_DATA, FL_END_STREAM, 1, msg, sizeof(msg));
    end = h2_wait_end(fd, 1, 10000);
    assert_true(end == F_RST_STREAM || end == F_HEADERS || end == F_GOAWAY || end == -1);
    close(fd);

    big = malloc(big_len);
    memset(big, 0, big_len);
    /* ListProductsRequest.page_token (2): one string of 5 MiB - 5, its length a 4-byte varint. */
    big[0] = 0x12;
    big[1] = 0x80 | ((big_len - 5) & 0x7f);
    big[2] = 0x80 | (((big_len - 5) >> 7) & 0x7f);
    big[3] = 0x80 | (((big_len - 5) >> 14) & 0x7f);
    big[4] = ((big_len - 5) >> 21) & 0x7f;
    memset(big + 5, 'a', big_len - 5);
    assert_int_equal(cli_call_unary_raw(srv.ch, LIST, big, big_len,
                                        &orchestrator__v1__list_products_response__descriptor,
                                        10000, &resp, &st),
                     ST_RESOURCE_EXHAUSTED);
    cli_status_cleanup(&st);
    free(big);
    assert_good_client_fine();
}

/* Builds a message back to front: prepending is cheap, so a message nested 20,000 levels deep
 * takes linear time and no recursion on this side either. */
typedef struct rbuf {
    uint8_t *buf;
    size_t cap, pos; /* content is buf[pos..cap) */
} rbuf_t;

static void rb_prepend(rbuf_t *b, const void *p, size_t n)
{
    assert_true(n <= b->pos);
    b->pos -= n;
    memcpy(b->buf + b->pos, p, n);
}

/* Prepends field tag (a one-byte key) and the current content's length: the content becomes
 * that field of an enclosing message. */
static void rb_wrap(rbuf_t *b, uint8_t tag)
{
    uint8_t v[11];
    size_t l = b->cap - b->pos, o = 0;
    v[o++] = tag;
    do {
        v[o++] = (uint8_t)((l & 0x7f) | (l > 0x7f ? 0x80 : 0));
        l >>= 7;
    } while (l);
    rb_prepend(b, v, o);
}

/* UpdateSubscriptionMetadata with metadata nested `levels` deep ({"a": {"a": ... "x"}}).
 * *out_buf: caller frees; the message is (*out_buf)[returned offset .. +len). */
static uint8_t *nested_metadata_request(int levels, size_t *len, uint8_t **out_buf)
{
    static const char *sub_id = "0b3f8a52-6c0e-4c8e-9d1f-3a2b1c0d9e8f";
    rbuf_t b;
    b.cap = b.pos = 64 + (size_t)levels * 24;
    b.buf = malloc(b.cap);

    rb_prepend(&b, "x", 1);
    rb_wrap(&b, 0x1a); /* the innermost Value: string_value (3) */
    for (int i = 0; i < levels; i++) {
        rb_wrap(&b, 0x12); /* FieldsEntry.value (2) */
        rb_prepend(&b,
                   "\x0a\x01"
                   "a",
                   3);     /* FieldsEntry.key (1) = "a" */
        rb_wrap(&b, 0x0a); /* Struct.fields (1) */
        if (i + 1 < levels)
            rb_wrap(&b, 0x2a); /* Value.struct_value (5) */
    }
    rb_wrap(&b, 0x12);             /* UpdateSubscriptionMetadataRequest.metadata (2) */
    rb_prepend(&b, "\x18\x01", 2); /* version (3) = 1 */
    rb_prepend(&b, sub_id, strlen(sub_id));
    rb_prepend(&b, (uint8_t[]){0x0a, (uint8_t)strlen(sub_id)}, 2); /* subscription_id (1) */
    *len = b.cap - b.pos;
    *out_buf = b.buf;
    return b.buf + b.pos;
}

static int update_metadata_raw(int levels, cli_status_t *st)
{
    size_t len;
    uint8_t *mem;
    uint8_t *req = nested_metadata_request(levels, &len, &mem);
    ProtobufCMessage *resp = NULL;
    int code = cli_call_unary_raw(srv.ch, UPDATE_METADATA, req, len,
                                  &orchestrator__v1__subscription__descriptor, 10000, &resp, st);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    free(mem);
    return code;
}

/* Nesting within the limit reaches the handler (the subscription does not exist); deeper
 * nesting, up to 20,000 levels (60,000 messages, 300 KB), is INVALID_ARGUMENT before any
 * decoding recursion. */
static void deeply_nested_structs(void **state)
{
    static const int deep[] = {25, 100, 1000, 20000};
    cli_status_t st = {0};
    (void)state;

    assert_int_equal(update_metadata_raw(10, &st), ST_NOT_FOUND);
    cli_status_cleanup(&st);
    for (size_t i = 0; i < sizeof(deep) / sizeof(deep[0]); i++) {
        assert_int_equal(update_metadata_raw(deep[i], &st), ST_INVALID_ARGUMENT);
        assert_non_null(st.reason);
        assert_string_equal(st.reason, "MALFORMED_REQUEST");
        cli_status_cleanup(&st);
    }
    assert_good_client_fine();
}

/* Thousands of streams on one connection: unary calls pipelined without reading a byte of
 * the answers, streams opened and reset at once (HTTP/2 "rapid reset"), streams opened and
 * never finished, and health Watch streams held open through one client channel. */
static void thousands_of_streams(void **state)
{
    uint8_t block[512], empty[5] = {0};
    size_t hl;
    int fd;
    enum { N = 3000, WATCHES = 1000 };
    cli_stream_t **watches;
    int answered = 0;
    (void)state;

    /* Pipelined health checks, answers never read. */
    fd = h2_connect();
    hl = grpc_headers(block, CHECK);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t sid = 1 + 2 * i;
        if (!send_frame(fd, F_HEADERS, FL_END_HEADERS, sid, block, hl) ||
            !send_frame(fd, F_DATA, FL_END_STREAM, sid, empty, sizeof(empty)))
            break; /* the server may refuse a peer this greedy */
    }
    assert_good_client_fine();
    close(fd);

    /* Rapid reset: HEADERS then RST_STREAM (CANCEL), thousands of times. */
    fd = h2_connect();
    hl = grpc_headers(block, LIST);
    for (uint32_t i = 0; i < N; i++) {
        uint32_t sid = 1 + 2 * i;
        uint8_t cancel[4] = {0, 0, 0, 8};
        if (!send_frame(fd, F_HEADERS, FL_END_HEADERS, sid, block, hl) ||
            !send_frame(fd, F_RST_STREAM, 0, sid, cancel, sizeof(cancel)))
            break;
    }
    assert_good_client_fine();
    close(fd);

    /* Streams opened and never finished (no DATA, no END_STREAM), left to the server. */
    fd = h2_connect();
    for (uint32_t i = 0; i < N; i++)
        if (!send_frame(fd, F_HEADERS, FL_END_HEADERS, 1 + 2 * i, block, hl))
            break;
    assert_good_client_fine();

    /* Health Watch streams through one channel: each is answered (SERVING) or refused. */
    watches = calloc(WATCHES, sizeof(*watches));
    {
        Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        cli_channel_t *ch = cli_channel_new(srv.addr, NULL);
        req.service = "";
        for (int i = 0; i < WATCHES; i++)
            watches[i] = cli_stream_open(ch, WATCH, &req.base, 20000);
        for (int i = 0; i < WATCHES; i++) {
            ProtobufCMessage *m = NULL;
            if (cli_stream_next(watches[i], &grpc__health__v1__health_check_response__descriptor,
                                5000, &m) == 1) {
                answered++;
                protobuf_c_message_free_unpacked(m, NULL);
            }
        }
        assert_good_client_fine();
        for (int i = 0; i < WATCHES; i++) {
            cli_status_t st = {0};
            cli_stream_close(watches[i], &st);
            cli_status_cleanup(&st);
        }
        cli_channel_free(ch);
    }
    free(watches);
    close(fd);
    /* Every watch was at least answered or refused; most were answered. */
    print_message("%d of %d health watches answered\n", answered, WATCHES);
    assert_true(answered > 0);
    assert_good_client_fine();
}

/* After all that: the same products, health SERVING, and a clean exit on SIGTERM. */
static void still_serving_then_clean_exit(void **state)
{
    cli_status_t st = {0};
    uint8_t *bytes = NULL;
    size_t len = 0;
    (void)state;

    assert_good_client_fine();
    atomic_store(&good_stop, true);
    pthread_join(good_thread, NULL);
    good_running = false;
    print_message("the well-behaved client made %d rounds without a failure\n",
                  atomic_load(&good_calls));
    assert_int_equal(list_products(srv.ch, &bytes, &len, &st), ST_OK);
    cli_status_cleanup(&st);
    assert_int_equal(len, golden_len);
    assert_memory_equal(bytes, golden, len);
    free(bytes);
    assert_int_equal(health_check(srv.ch, &st), 0);
    cli_status_cleanup(&st);
    assert_int_equal(harness_server_stop(&srv), 0);
    harness_db_drop(srv.dbname);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_bytes),         cmocka_unit_test(truncated_frames),
        cmocka_unit_test(huge_declared_length), cmocka_unit_test(deeply_nested_structs),
        cmocka_unit_test(thousands_of_streams), cmocka_unit_test(still_serving_then_clean_exit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
