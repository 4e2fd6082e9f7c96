/* Metrics: a process-wide registry of counters, gauges and histograms, keyed by family and
 * label set, rendered in the Prometheus text format. Thread-safe; cheap enough for every
 * RPC (one hash look-up under a mutex). The server exposes the rendering over HTTP. */
#ifndef ORCH_METRICS_H
#define ORCH_METRICS_H

typedef enum { ORCH_METRIC_COUNTER, ORCH_METRIC_GAUGE, ORCH_METRIC_HISTOGRAM } orch_metric_type_t;

/* Declares a family (name, type, help) once; later calls are ignored. */
void orch_metrics_describe(const char *family, orch_metric_type_t type, const char *help);

/* labels: the Prometheus label text without braces, e.g. `method="Get",code="OK"`, or "".
 * The caller escapes label values (orch_metrics_escape). */
void orch_metrics_add(const char *family, const char *labels, double v);     /* counter */
void orch_metrics_set(const char *family, const char *labels, double v);     /* gauge */
void orch_metrics_observe(const char *family, const char *labels, double v); /* histogram */

/* A collector runs at each render to set gauges from live state (pool use, processes by
 * status). Up to 16. */
typedef void (*orch_metrics_collector_fn)(void *arg);
void orch_metrics_add_collector(orch_metrics_collector_fn fn, void *arg);

/* The whole registry as Prometheus text; caller frees. */
char *orch_metrics_render(void);

/* Escapes a label value (\, ", newline) into out (cap bytes). */
void orch_metrics_escape(const char *in, char *out, unsigned cap);

/* Forgets everything (tests). */
void orch_metrics_reset(void);

#endif
