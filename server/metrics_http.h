/* The Prometheus endpoint: GET /metrics on its own plain HTTP port, served by libmicrohttpd
 * (Debian's, well kept) from the domain's metrics registry. */
#ifndef SRV_METRICS_HTTP_H
#define SRV_METRICS_HTTP_H

#include "base/errors.h"

typedef struct srv_metrics_http srv_metrics_http_t;

/* listen: "host:port" (IPv4 literal or "localhost"; port 0 = any). UNAVAILABLE if it cannot
 * bind. */
orch_err_t srv_metrics_http_start(const char *listen, srv_metrics_http_t **out, orch_error_t *err);
int srv_metrics_http_port(const srv_metrics_http_t *m);
void srv_metrics_http_stop(srv_metrics_http_t *m); /* NULL ok */

#endif
