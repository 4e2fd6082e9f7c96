/* The SubscriptionService load driver of bench/subscriptions.sh: one client, one call at a
 * time, against a server on the seeded bench database. For each case it makes warm-up calls,
 * then N timed calls (CLOCK_MONOTONIC around the whole unary call, response decoding
 * included), and prints the percentiles computed by sorting the N latencies:
 *
 *   RESULT case=<name> n=<N> p50_us=<..> p90_us=<..> p99_us=<..> mean_us=<..> min_us=<..>
 *          max_us=<..> items=<subscriptions in the last response>
 *
 * Before timing anything it checks the seed through the server (every --check id loads with
 * its tree, the l2vpn has its two SAPs on foreign ports, the search finds exactly one
 * subscription, the filtered list is not empty) and exits 2 with a message if not.
 * --once CASE makes exactly one call of CASE and nothing else (the script captures the SQL
 * that call sends, for the pgbench side).
 *
 * The listing cases of issue 20 (ListSubscriptions at a million, default order "start_time
 * desc", page size 50): list_first (no filter), list_deep (the page after --deep-pages pages,
 * walked once before timing with the page tokens), list_status_product, search_default (the
 * node's name, full text), list_field (field_value = the port's name), list_cd
 * (customer_description = --alias); and the orders a client may ask for (migration 0025):
 * list_product_default (product alone), list_status_product_created (order_by "create_time
 * desc"), list_order_status, list_order_end ("end_time desc"), list_order_update ("update_time
 * desc") and list_order_description, the last two without an index of their own. They run
 * when their arguments are given. --once walk
 * only walks and prints list_deep's page token; --deep-token TOKEN gives it instead.
 *
 * Two more modes, each instead of the cases:
 *   --fill FILE       GetSubscription of every id in FILE (one per line), one at a time: fills
 *                     the server's cache (bench/subscriptions.sh then reads its memory);
 *                     prints RESULT case=fill n=.. seconds=..
 *   --staleness ADDR  with --server B and --check ID: N times (--calls), changes ID's
 *                     customer description through the replica at ADDR (A), then reads it
 *                     from B (CACHED) until B shows the change; the delay from A's answer to
 *                     B's first fresh answer is how far B's cache is behind (one NOTIFY):
 *                     RESULT case=staleness n=.. p50_us=.. p99_us=.. max_us=.. */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channel.h"
#include "orchestrator/v1/subscriptions.pb-c.h"

#define LIST_METHOD "/orchestrator.v1.SubscriptionService/ListSubscriptions"
#define GET_METHOD "/orchestrator.v1.SubscriptionService/GetSubscription"

typedef enum { KIND_LIST, KIND_GET } kind_t;

typedef struct bench_case {
    const char *name;
    kind_t kind;
    const char *filter, *query, *order_by; /* KIND_LIST */
    const char *page_token;                /* KIND_LIST: NULL = the first page */
    const char *id;                        /* KIND_GET */
    size_t last_items;
} bench_case_t;

typedef struct opts {
    const char *server;
    int calls, warmup, timeout_ms;
    const char *only, *once;
    const char *customer, *product, *node_name, *l2vpn_id, *port_id;
    const char *port_name, *alias; /* the issue-20 listing cases */
    const char *fill, *staleness;
    const char *deep_token; /* --deep-token: list_deep's page without walking */
    int deep_pages;
    const char *checks[16];
    int nchecks;
} opts_t;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sub_bench: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* One call of c. Returns the response (caller frees) or dies with the status. */
static ProtobufCMessage *call_once(cli_channel_t *ch, bench_case_t *c, int timeout_ms)
{
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    int code;

    if (c->kind == KIND_LIST) {
        Orchestrator__V1__ListSubscriptionsRequest req =
            ORCHESTRATOR__V1__LIST_SUBSCRIPTIONS_REQUEST__INIT;
        req.page_size = 50;
        req.filter = (char *)(c->filter ? c->filter : "");
        req.query = (char *)(c->query ? c->query : "");
        req.order_by = (char *)(c->order_by ? c->order_by : "");
        req.page_token = (char *)(c->page_token ? c->page_token : "");
        code = cli_call_unary(ch, LIST_METHOD, &req.base,
                              &orchestrator__v1__list_subscriptions_response__descriptor,
                              timeout_ms, &resp, &st);
    } else {
        Orchestrator__V1__GetSubscriptionRequest req =
            ORCHESTRATOR__V1__GET_SUBSCRIPTION_REQUEST__INIT;
        req.subscription_id = (char *)c->id;
        code = cli_call_unary(ch, GET_METHOD, &req.base,
                              &orchestrator__v1__subscription__descriptor, timeout_ms, &resp, &st);
    }
    if (code != 0) {
        fprintf(stderr, "sub_bench: %s failed: %s: %s%s%s\n", c->name, cli_status_code_name(code),
                st.message, st.reason ? " reason " : "", st.reason ? st.reason : "");
        cli_status_cleanup(&st);
        exit(2);
    }
    cli_status_cleanup(&st);
    if (c->kind == KIND_LIST)
        c->last_items = ((Orchestrator__V1__ListSubscriptionsResponse *)resp)->n_subscriptions;
    else
        c->last_items = 1;
    return resp;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The nearest-rank percentile of sorted v[0..n-1]. */
static double pct(const int64_t *v, int n, double p)
{
    int rank = (int)((p / 100.0) * n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1] / 1000.0;
}

static void run_case(cli_channel_t *ch, bench_case_t *c, const opts_t *o)
{
    int64_t *lat = calloc((size_t)o->calls, sizeof(*lat)), sum = 0;

    if (!lat)
        die("out of memory");
    for (int i = 0; i < o->warmup; i++)
        protobuf_c_message_free_unpacked(call_once(ch, c, o->timeout_ms), NULL);
    for (int i = 0; i < o->calls; i++) {
        int64_t t0 = now_ns();
        ProtobufCMessage *r = call_once(ch, c, o->timeout_ms);
        lat[i] = now_ns() - t0;
        sum += lat[i];
        protobuf_c_message_free_unpacked(r, NULL);
    }
    qsort(lat, (size_t)o->calls, sizeof(*lat), cmp_i64);
    printf("RESULT case=%s n=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f mean_us=%.1f min_us=%.1f "
           "max_us=%.1f items=%zu\n",
           c->name, o->calls, pct(lat, o->calls, 50), pct(lat, o->calls, 90),
           pct(lat, o->calls, 99), (double)sum / o->calls / 1000.0, (double)lat[0] / 1000.0,
           (double)lat[o->calls - 1] / 1000.0, c->last_items);
    fflush(stdout);
    free(lat);
}

static size_t count_instances(const Orchestrator__V1__SubscriptionInstance *in)
{
    size_t n = 1;
    for (size_t i = 0; in && i < in->n_children; i++)
        if (in->children[i]->instance)
            n += count_instances(in->children[i]->instance);
    return n;
}

/* A listing case of issue 20 runs only when its arguments were given. */
static bool case_ready(const bench_case_t *c, const opts_t *o)
{
    if (strcmp(c->name, "list_deep") == 0)
        return c->page_token != NULL;
    if (strcmp(c->name, "list_field") == 0)
        return o->port_name != NULL;
    if (strcmp(c->name, "list_cd") == 0)
        return o->alias != NULL;
    return true;
}

/* The seed, as the server's loader sees it. */
static void check_seed(cli_channel_t *ch, bench_case_t *cases, size_t ncases, const opts_t *o)
{
    for (int i = 0; i < o->nchecks; i++) {
        bench_case_t g = {.name = "check", .kind = KIND_GET, .id = o->checks[i]};
        Orchestrator__V1__Subscription *s =
            (Orchestrator__V1__Subscription *)call_once(ch, &g, o->timeout_ms);
        if (!s->root_instance || s->root_instance->n_values == 0)
            die("seeded subscription %s came back without its root block or values", o->checks[i]);
        protobuf_c_message_free_unpacked(&s->base, NULL);
    }
    for (size_t i = 0; i < ncases; i++) {
        bench_case_t *c = &cases[i];
        ProtobufCMessage *r;
        if (!case_ready(c, o))
            continue;
        r = call_once(ch, c, o->timeout_ms);
        if (c->kind == KIND_GET) {
            Orchestrator__V1__Subscription *s = (Orchestrator__V1__Subscription *)r;
            size_t n = count_instances(s->root_instance);
            /* l2vpn: VC + 2 SAPs + their 2 foreign ports; port: port + its foreign node. */
            size_t want = strcmp(c->id, o->l2vpn_id ? o->l2vpn_id : "") == 0 ? 5 : 2;
            if (n != want)
                die("%s: the tree has %zu instances, expected %zu; is the seed broken?", c->name, n,
                    want);
        } else {
            Orchestrator__V1__ListSubscriptionsResponse *l =
                (Orchestrator__V1__ListSubscriptionsResponse *)r;
            if (c->query && *c->query && l->total_size != 1)
                die("%s: searching '%s' found %d subscriptions, expected exactly one", c->name,
                    c->query, (int)l->total_size);
            if (l->n_subscriptions == 0)
                die("%s: the filtered list '%s' is empty; is the seed broken?", c->name,
                    c->filter ? c->filter : "");
        }
        protobuf_c_message_free_unpacked(r, NULL);
    }
}

/* --fill: GetSubscription of every id of the file, one at a time. */
static int fill(const opts_t *o)
{
    cli_channel_t *ch = cli_channel_new(o->server, NULL);
    FILE *f = fopen(o->fill, "r");
    char line[128];
    int64_t t0 = now_ns();
    long n = 0;
    if (!ch || !f)
        die("cannot open %s or a channel to %s", o->fill, o->server);
    while (fgets(line, sizeof(line), f)) {
        bench_case_t g = {.name = "fill", .kind = KIND_GET, .id = line};
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line)
            continue;
        protobuf_c_message_free_unpacked(call_once(ch, &g, o->timeout_ms), NULL);
        n++;
    }
    fclose(f);
    printf("RESULT case=fill n=%ld seconds=%.1f\n", n, (double)(now_ns() - t0) / 1e9);
    cli_channel_free(ch);
    return 0;
}

/* Does server ch answer (CACHED) id with customer "bench-staleness"'s description want? */
static bool shows(cli_channel_t *ch, const char *id, const char *want, int timeout_ms)
{
    bench_case_t g = {.name = "staleness", .kind = KIND_GET, .id = id};
    Orchestrator__V1__Subscription *s =
        (Orchestrator__V1__Subscription *)call_once(ch, &g, timeout_ms);
    bool yes = false;
    for (size_t i = 0; i < s->n_customer_descriptions; i++)
        yes = yes || (strcmp(s->customer_descriptions[i]->customer_id, "bench-staleness") == 0 &&
                      strcmp(s->customer_descriptions[i]->description, want) == 0);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    return yes;
}

/* One change of the description through a (create when i < 0, else update). */
static void change(cli_channel_t *a, const opts_t *o, int i, const char *text)
{
    ProtobufCMessage *resp = NULL;
    cli_status_t st = {0};
    int code;
    if (i < 0) {
        Orchestrator__V1__CreateCustomerDescriptionRequest r =
            ORCHESTRATOR__V1__CREATE_CUSTOMER_DESCRIPTION_REQUEST__INIT;
        r.subscription_id = (char *)o->checks[0];
        r.customer_id = "bench-staleness";
        r.description = (char *)text;
        code = cli_call_unary(a, "/orchestrator.v1.SubscriptionService/CreateCustomerDescription",
                              &r.base, &orchestrator__v1__customer_description__descriptor,
                              o->timeout_ms, &resp, &st);
        if (code == 6) { /* ALREADY_EXISTS: from an earlier run; update it instead */
            cli_status_cleanup(&st);
            change(a, o, 0, text);
            return;
        }
    } else {
        Orchestrator__V1__UpdateCustomerDescriptionRequest r =
            ORCHESTRATOR__V1__UPDATE_CUSTOMER_DESCRIPTION_REQUEST__INIT;
        r.subscription_id = (char *)o->checks[0];
        r.customer_id = "bench-staleness";
        r.description = (char *)text;
        code = cli_call_unary(a, "/orchestrator.v1.SubscriptionService/UpdateCustomerDescription",
                              &r.base, &orchestrator__v1__customer_description__descriptor,
                              o->timeout_ms, &resp, &st);
    }
    if (code != 0)
        die("changing the description through %s: %s", o->staleness, st.message);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
}

/* --staleness: see the top of the file. */
static int staleness(const opts_t *o)
{
    cli_channel_t *a = cli_channel_new(o->staleness, NULL), *b = cli_channel_new(o->server, NULL);
    int64_t *lat = calloc((size_t)o->calls, sizeof(*lat));
    const char *id = o->checks[0];
    char text[64];
    if (!a || !b || !lat)
        die("cannot open the channels");
    snprintf(text, sizeof(text), "start %lld", (long long)now_ns());
    change(a, o, -1, text);
    while (!shows(b, id, text, o->timeout_ms)) /* B hears of it, then keeps it in memory */
        ;
    for (int i = 0; i < o->calls; i++) {
        int64_t t0;
        snprintf(text, sizeof(text), "version %d", i);
        (void)shows(b, id, "", o->timeout_ms); /* B answers from memory before the change */
        change(a, o, i, text);
        t0 = now_ns();
        while (!shows(b, id, text, o->timeout_ms))
            if (now_ns() - t0 > 10000000000LL)
                die("B still answers the old description after 10 s");
        lat[i] = now_ns() - t0;
    }
    qsort(lat, (size_t)o->calls, sizeof(*lat), cmp_i64);
    printf("RESULT case=staleness n=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f\n", o->calls,
           pct(lat, o->calls, 50), pct(lat, o->calls, 90), pct(lat, o->calls, 99),
           (double)lat[o->calls - 1] / 1000.0);
    free(lat);
    cli_channel_free(a);
    cli_channel_free(b);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: sub_bench --server ADDR --customer ID --product NAME --node-name NAME\n"
                    "                 --l2vpn-id ID --port-id ID [--check ID]... [--calls N]\n"
                    "                 [--warmup N] [--only CASE] [--once CASE] [--timeout-ms N]\n"
                    "                 [--port-name NAME] [--alias TEXT] [--deep-pages N]\n"
                    "cases: list_customer list_product get_l2vpn get_port search list_first\n"
                    "       list_deep list_status_product search_default list_field list_cd\n"
                    "       list_product_default list_status_product_created list_order_status\n"
                    "       list_order_end list_order_update list_order_description\n");
    exit(2);
}

static void parse_args(int argc, char **argv, opts_t *o)
{
    static const struct option lo[] = {{"server", required_argument, NULL, 's'},
                                       {"calls", required_argument, NULL, 'n'},
                                       {"warmup", required_argument, NULL, 'w'},
                                       {"only", required_argument, NULL, 'o'},
                                       {"once", required_argument, NULL, '1'},
                                       {"customer", required_argument, NULL, 'c'},
                                       {"product", required_argument, NULL, 'p'},
                                       {"node-name", required_argument, NULL, 'q'},
                                       {"l2vpn-id", required_argument, NULL, 'l'},
                                       {"port-id", required_argument, NULL, 'P'},
                                       {"check", required_argument, NULL, 'k'},
                                       {"timeout-ms", required_argument, NULL, 't'},
                                       {"port-name", required_argument, NULL, 'N'},
                                       {"alias", required_argument, NULL, 'A'},
                                       {"deep-pages", required_argument, NULL, 'D'},
                                       {"fill", required_argument, NULL, 'F'},
                                       {"deep-token", required_argument, NULL, 'T'},
                                       {"staleness", required_argument, NULL, 'S'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    int opt;

    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (opt) {
        case 's':
            o->server = optarg;
            break;
        case 'n':
            o->calls = atoi(optarg);
            break;
        case 'w':
            o->warmup = atoi(optarg);
            break;
        case 'o':
            o->only = optarg;
            break;
        case '1':
            o->once = optarg;
            break;
        case 'c':
            o->customer = optarg;
            break;
        case 'p':
            o->product = optarg;
            break;
        case 'q':
            o->node_name = optarg;
            break;
        case 'l':
            o->l2vpn_id = optarg;
            break;
        case 'P':
            o->port_id = optarg;
            break;
        case 't':
            o->timeout_ms = atoi(optarg);
            break;
        case 'N':
            o->port_name = optarg;
            break;
        case 'A':
            o->alias = optarg;
            break;
        case 'D':
            o->deep_pages = atoi(optarg);
            break;
        case 'F':
            o->fill = optarg;
            break;
        case 'T':
            o->deep_token = optarg;
            break;
        case 'S':
            o->staleness = optarg;
            break;
        case 'k':
            if (o->nchecks < (int)(sizeof(o->checks) / sizeof(o->checks[0])))
                o->checks[o->nchecks++] = optarg;
            break;
        default:
            usage();
        }
    }
}

/* The filters of the cases, built from the options (owned by whoever holds the cases). */
typedef struct case_filters {
    char customer[256], product[256], status_product[256], product_only[256], field[256], cd[256];
} case_filters_t;

enum { NCASES = 17, CASE_LIST_DEEP = 6 };

static void make_cases(const opts_t *o, case_filters_t *f, bench_case_t cases[NCASES])
{
    snprintf(f->customer, sizeof(f->customer), "status = \"active\" AND customer_id = \"%s\"",
             o->customer);
    snprintf(f->product, sizeof(f->product), "product = \"%s\" AND status = \"active\"",
             o->product);
    snprintf(f->status_product, sizeof(f->status_product),
             "status = \"active\" AND product = \"%s\"", o->product);
    snprintf(f->product_only, sizeof(f->product_only), "product = \"%s\"", o->product);
    snprintf(f->field, sizeof(f->field), "field_value = \"%s\"", o->port_name ? o->port_name : "");
    snprintf(f->cd, sizeof(f->cd), "customer_description = \"%s\"", o->alias ? o->alias : "");
    const bench_case_t all[NCASES] = {
        {.name = "list_customer",
         .kind = KIND_LIST,
         .filter = f->customer,
         .order_by = "create_time"},
        {.name = "list_product",
         .kind = KIND_LIST,
         .filter = f->product,
         .order_by = "create_time"},
        {.name = "get_l2vpn", .kind = KIND_GET, .id = o->l2vpn_id},
        {.name = "get_port", .kind = KIND_GET, .id = o->port_id},
        {.name = "search", .kind = KIND_LIST, .query = o->node_name, .order_by = "create_time"},
        {.name = "list_first", .kind = KIND_LIST},
        [CASE_LIST_DEEP] = {.name = "list_deep", .kind = KIND_LIST},
        {.name = "list_status_product", .kind = KIND_LIST, .filter = f->status_product},
        {.name = "search_default", .kind = KIND_LIST, .query = o->node_name},
        {.name = "list_field", .kind = KIND_LIST, .filter = f->field},
        {.name = "list_cd", .kind = KIND_LIST, .filter = f->cd},
        /* The orders a client may ask for, and a product alone (migration 0025). */
        {.name = "list_product_default", .kind = KIND_LIST, .filter = f->product_only},
        {.name = "list_status_product_created",
         .kind = KIND_LIST,
         .filter = f->status_product,
         .order_by = "create_time desc"},
        {.name = "list_order_status", .kind = KIND_LIST, .order_by = "status"},
        {.name = "list_order_end", .kind = KIND_LIST, .order_by = "end_time desc"},
        {.name = "list_order_update", .kind = KIND_LIST, .order_by = "update_time desc"},
        {.name = "list_order_description", .kind = KIND_LIST, .order_by = "description"},
    };
    memcpy(cases, all, sizeof(all));
}

/* Whether list_deep's page is needed: by --once list_deep or walk, or by the cases run. */
static bool deep_page_needed(const opts_t *o)
{
    if (o->deep_token || o->deep_pages <= 0)
        return false;
    if (o->once)
        return strcmp(o->once, "list_deep") == 0 || strcmp(o->once, "walk") == 0;
    return !o->only || strcmp(o->only, "list_deep") == 0;
}

/* The deep page's token: walks the default listing --deep-pages pages once (not timed).
 * Caller frees. */
static char *walk_deep(cli_channel_t *ch, const opts_t *o)
{
    bench_case_t walk = {.name = "walk", .kind = KIND_LIST};
    char *token = NULL;

    for (int i = 0; i < o->deep_pages; i++) {
        Orchestrator__V1__ListSubscriptionsResponse *l =
            (Orchestrator__V1__ListSubscriptionsResponse *)call_once(ch, &walk, o->timeout_ms);
        free(token);
        token = strdup(l->next_page_token);
        protobuf_c_message_free_unpacked(&l->base, NULL);
        if (!token || !*token)
            die("the listing ended after %d pages: fewer than --deep-pages", i + 1);
        walk.page_token = token;
    }
    return token;
}

/* --once CASE: one call of that case, nothing else. */
static void run_once(cli_channel_t *ch, bench_case_t *cases, const opts_t *o)
{
    bool any = false;

    for (size_t i = 0; i < NCASES; i++)
        if (strcmp(cases[i].name, o->once) == 0) {
            protobuf_c_message_free_unpacked(call_once(ch, &cases[i], o->timeout_ms), NULL);
            any = true;
        }
    if (!any)
        die("no case named '%s'", o->once);
}

/* Checks the seed, then times every case (or --only's) whose arguments were given. */
static void run_all(cli_channel_t *ch, bench_case_t *cases, const opts_t *o)
{
    bool any = false;

    check_seed(ch, cases, NCASES, o);
    for (size_t i = 0; i < NCASES; i++) {
        if ((o->only && strcmp(o->only, cases[i].name) != 0) || !case_ready(&cases[i], o))
            continue;
        run_case(ch, &cases[i], o);
        any = true;
    }
    if (!any)
        die("no case named '%s'", o->only);
}

int main(int argc, char **argv)
{
    opts_t o = {.server = "127.0.0.1:50051", .calls = 2000, .warmup = -1, .timeout_ms = 30000};
    case_filters_t filters;
    bench_case_t cases[NCASES];
    char *deep_token = NULL;
    cli_channel_t *ch;

    parse_args(argc, argv, &o);
    if (optind == argc && o.fill)
        return fill(&o);
    if (optind == argc && o.staleness && o.nchecks == 1 && o.calls >= 1)
        return staleness(&o);
    if (optind != argc || !o.customer || !o.product || !o.node_name || !o.l2vpn_id || !o.port_id ||
        o.calls < 1)
        usage();
    if (o.warmup < 0)
        o.warmup = o.calls / 10 < 20 ? 20 : o.calls / 10;
    make_cases(&o, &filters, cases);
    ch = cli_channel_new(o.server, NULL);
    if (!ch)
        die("cannot open a channel to %s", o.server);
    if (o.deep_token)
        cases[CASE_LIST_DEEP].page_token = o.deep_token;
    else if (deep_page_needed(&o))
        cases[CASE_LIST_DEEP].page_token = deep_token = walk_deep(ch, &o);
    if (o.once && strcmp(o.once, "walk") == 0 && deep_token) /* print the token only */
        printf("%s\n", deep_token);
    else if (o.once)
        run_once(ch, cases, &o);
    else
        run_all(ch, cases, &o);
    cli_channel_free(ch);
    free(deep_token);
    return 0;
}
