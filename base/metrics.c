/* The metrics registry: a fixed hash table of series, each with its family's type; histograms
 * use one set of buckets suited to RPC and step latencies in seconds. */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define NBUCKETS 12
static const double buckets[NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1,    5};

typedef struct family {
    char *name, *help;
    orch_metric_type_t type;
    struct family *next;
} family_t;

typedef struct series {
    family_t *fam;
    char *labels;
    double value; /* counter or gauge; histogram: sum */
    unsigned long count, bucket[NBUCKETS];
    struct series *next, *order_next;
} series_t;

#define TABLE 512
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static family_t *families;
static series_t *table[TABLE], *order_head, **order_tail = &order_head;
static struct {
    orch_metrics_collector_fn fn;
    void *arg;
} collectors[16];
static int ncollectors;

static unsigned hash2(const char *a, const char *b)
{
    unsigned h = 2166136261u;
    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
    for (; *b; b++)
        h = (h ^ (unsigned char)*b) * 16777619u;
    return h;
}

static family_t *family_get(const char *name, orch_metric_type_t type)
{
    family_t *f;
    for (f = families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    f = orch_calloc(1, sizeof(*f));
    f->name = orch_strdup(name);
    f->help = orch_strdup("");
    f->type = type;
    f->next = families;
    families = f;
    return f;
}

void orch_metrics_describe(const char *family, orch_metric_type_t type, const char *help)
{
    family_t *f;
    pthread_mutex_lock(&mu);
    f = family_get(family, type);
    if (!f->help[0]) {
        free(f->help);
        f->help = orch_strdup(help);
    }
    pthread_mutex_unlock(&mu);
}

/* With mu held. */
static series_t *series_get(const char *family, const char *labels, orch_metric_type_t type)
{
    unsigned h = hash2(family, labels) % TABLE;
    series_t *s;
    for (s = table[h]; s; s = s->next)
        if (strcmp(s->fam->name, family) == 0 && strcmp(s->labels, labels) == 0)
            return s;
    s = orch_calloc(1, sizeof(*s));
    s->fam = family_get(family, type);
    s->labels = orch_strdup(labels);
    s->next = table[h];
    table[h] = s;
    *order_tail = s;
    order_tail = &s->order_next;
    return s;
}

void orch_metrics_add(const char *family, const char *labels, double v)
{
    pthread_mutex_lock(&mu);
    series_get(family, labels ? labels : "", ORCH_METRIC_COUNTER)->value += v;
    pthread_mutex_unlock(&mu);
}

void orch_metrics_set(const char *family, const char *labels, double v)
{
    pthread_mutex_lock(&mu);
    series_get(family, labels ? labels : "", ORCH_METRIC_GAUGE)->value = v;
    pthread_mutex_unlock(&mu);
}

void orch_metrics_observe(const char *family, const char *labels, double v)
{
    series_t *s;
    pthread_mutex_lock(&mu);
    s = series_get(family, labels ? labels : "", ORCH_METRIC_HISTOGRAM);
    s->value += v;
    s->count++;
    for (int i = 0; i < NBUCKETS; i++)
        if (v <= buckets[i])
            s->bucket[i]++;
    pthread_mutex_unlock(&mu);
}

void orch_metrics_add_collector(orch_metrics_collector_fn fn, void *arg)
{
    pthread_mutex_lock(&mu);
    if (ncollectors < 16) {
        collectors[ncollectors].fn = fn;
        collectors[ncollectors].arg = arg;
        ncollectors++;
    }
    pthread_mutex_unlock(&mu);
}

static const char *type_name(orch_metric_type_t t)
{
    return t == ORCH_METRIC_COUNTER ? "counter" : t == ORCH_METRIC_GAUGE ? "gauge" : "histogram";
}

char *orch_metrics_render(void)
{
    orch_buf_t b = {0};
    int n;

    /* Collectors set gauges, taking the lock themselves. */
    pthread_mutex_lock(&mu);
    n = ncollectors;
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < n; i++)
        collectors[i].fn(collectors[i].arg);

    pthread_mutex_lock(&mu);
    for (family_t *f = families; f; f = f->next) {
        orch_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                        type_name(f->type));
        for (series_t *s = order_head; s; s = s->order_next) {
            const char *l = s->labels, *sep = *l ? "," : "";
            if (s->fam != f)
                continue;
            if (f->type != ORCH_METRIC_HISTOGRAM) {
                orch_buf_printf(&b, "%s%s%s%s %.17g\n", f->name, *l ? "{" : "", l, *l ? "}" : "",
                                s->value);
                continue;
            }
            for (int i = 0; i < NBUCKETS; i++)
                orch_buf_printf(&b, "%s_bucket{%s%sle=\"%g\"} %lu\n", f->name, l, sep, buckets[i],
                                s->bucket[i]);
            orch_buf_printf(&b, "%s_bucket{%s%sle=\"+Inf\"} %lu\n", f->name, l, sep, s->count);
            orch_buf_printf(&b, "%s_sum%s%s%s %.17g\n", f->name, *l ? "{" : "", l, *l ? "}" : "",
                            s->value);
            orch_buf_printf(&b, "%s_count%s%s%s %lu\n", f->name, *l ? "{" : "", l, *l ? "}" : "",
                            s->count);
        }
    }
    pthread_mutex_unlock(&mu);
    if (!b.s)
        orch_buf_printf(&b, "%s", "");
    return b.s;
}

void orch_metrics_escape(const char *in, char *out, unsigned cap)
{
    unsigned o = 0;
    for (; in && *in && o + 3 < cap; in++) {
        if (*in == '\\' || *in == '"') {
            out[o++] = '\\';
            out[o++] = *in;
        } else if (*in == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
}

void orch_metrics_reset(void)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < TABLE; i++) {
        for (series_t *s = table[i], *next; s; s = next) {
            next = s->next;
            free(s->labels);
            free(s);
        }
        table[i] = NULL;
    }
    order_head = NULL;
    order_tail = &order_head;
    for (family_t *f = families, *next; f; f = next) {
        next = f->next;
        free(f->name);
        free(f->help);
        free(f);
    }
    families = NULL;
    ncollectors = 0;
    pthread_mutex_unlock(&mu);
}
