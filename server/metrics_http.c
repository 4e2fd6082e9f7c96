/* /metrics over HTTP with libmicrohttpd's own polling thread. */
#include "server/metrics_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/metrics.h"

struct srv_metrics_http {
    struct MHD_Daemon *daemon;
    int port;
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    char *body;
    unsigned status = MHD_HTTP_OK;
    (void)cls;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)req_cls;

    if (strcmp(method, "GET") != 0) {
        body = orch_strdup("only GET is served here\n");
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/metrics") != 0) {
        body = orch_strdup("not found: the metrics are at /metrics\n");
        status = MHD_HTTP_NOT_FOUND;
    } else {
        body = orch_metrics_render();
    }
    resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

orch_err_t srv_metrics_http_start(const char *listen, srv_metrics_http_t **out, orch_error_t *err)
{
    struct sockaddr_in addr = {0};
    char host[64];
    int port;
    const union MHD_DaemonInfo *info;
    srv_metrics_http_t *m;

    *out = NULL;
    if (sscanf(listen, "%63[^:]:%d", host, &port) != 2 || port < 0 || port > 65535)
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, "LISTEN_FAILED",
                              "metrics address '%s' is not host:port", listen);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, "LISTEN_FAILED",
                              "metrics host '%s' is not an IPv4 address", host);
    m = orch_calloc(1, sizeof(*m));
    m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                                 (uint16_t)port, NULL, NULL, answer, NULL, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT, 64u,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!m->daemon) {
        free(m);
        return orch_error_set(err, ORCH_UNAVAILABLE, "LISTEN_FAILED",
                              "cannot serve metrics on %s (address in use?)", listen);
    }
    info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : port;
    *out = m;
    return ORCH_OK;
}

int srv_metrics_http_port(const srv_metrics_http_t *m)
{
    return m->port;
}

void srv_metrics_http_stop(srv_metrics_http_t *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->daemon);
    free(m);
}
