/* TLS for the gRPC port: server credentials from PEM files, optionally requiring and
 * verifying a client certificate (mutual TLS). The files are checked with OpenSSL first so
 * that a wrong path, a key that does not match its certificate or an expired certificate
 * stops the server at start-up with a sentence, not at the first handshake. */
#ifndef SRV_TLS_H
#define SRV_TLS_H

#include "base/errors.h"

struct grpc_server_credentials;

typedef struct srv_tls_config {
    const char *cert_file;      /* PEM certificate chain, server first (required) */
    const char *key_file;       /* PEM private key of that certificate (required) */
    const char *client_ca_file; /* PEM CA bundle; set = mutual TLS, "" or NULL = off */
} srv_tls_config_t;

/* Reads and checks the files without making credentials (no grpc_init needed): for
 * start-up, before anything slow. Same errors as srv_tls_credentials_new. */
orch_err_t srv_tls_check(const srv_tls_config_t *cfg, orch_error_t *err);

/* Reads and checks the files and makes the credentials. On success *out is the credentials
 * (caller releases with grpc_server_credentials_release, after srv_server_start); on failure
 * *out is NULL and err (INVALID_ARGUMENT) names the file and what is wrong. grpc_init must
 * have been called. */
orch_err_t srv_tls_credentials_new(const srv_tls_config_t *cfg,
                                   struct grpc_server_credentials **out, orch_error_t *err);

#endif
