/* Server TLS credentials from PEM files, checked with OpenSSL before they reach gRPC (the
 * core only discovers a broken key at the first handshake, and then says little). */
#include "server/rpc/tls.h"

#include <errno.h>
#include <grpc/grpc_security.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"

#define TLS_FILE_MAX (1024 * 1024)

/* The whole file as a NUL-terminated string (PEM is text); caller frees. */
static orch_err_t slurp(const char *path, const char *what, char **out, orch_error_t *err)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n = 0, got;

    *out = NULL;
    if (!f)
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL, "%s %s cannot be read: %s", what,
                              path, strerror(errno));
    buf = orch_malloc(TLS_FILE_MAX + 1);
    while (n <= TLS_FILE_MAX && (got = fread(buf + n, 1, TLS_FILE_MAX + 1 - n, f)) > 0)
        n += got;
    if (ferror(f) || n > TLS_FILE_MAX || memchr(buf, '\0', n)) {
        fclose(f);
        free(buf);
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                              "%s %s is not a PEM file of at most %d bytes", what, path,
                              TLS_FILE_MAX);
    }
    fclose(f);
    buf[n] = '\0';
    *out = buf;
    return ORCH_OK;
}

/* Checks that cert parses, that key is its private key, and warns when it is expired or
 * about to be. */
static orch_err_t check_pair(const srv_tls_config_t *cfg, const char *cert, const char *key,
                             orch_error_t *err)
{
    BIO *cb = BIO_new_mem_buf(cert, -1), *kb = BIO_new_mem_buf(key, -1);
    X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *pk = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    orch_err_t rc = ORCH_OK;
    int days = 0, secs = 0;

    if (!x) {
        rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                            "--tls-cert %s holds no PEM certificate", cfg->cert_file);
        goto out;
    }
    if (!pk) {
        rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                            "--tls-key %s holds no unencrypted PEM private key", cfg->key_file);
        goto out;
    }
    if (X509_check_private_key(x, pk) != 1) {
        rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                            "--tls-key %s is not the private key of --tls-cert %s", cfg->key_file,
                            cfg->cert_file);
        goto out;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
        orch_warn("tls", "the certificate in %s has expired: clients will refuse it",
                  cfg->cert_file);
    else if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)) && days < 14)
        orch_warn("tls", "the certificate in %s expires in %d days", cfg->cert_file, days);
out:
    EVP_PKEY_free(pk);
    X509_free(x);
    BIO_free(cb);
    BIO_free(kb);
    return rc;
}

static orch_err_t check_ca(const char *path, const char *pem, orch_error_t *err)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    orch_err_t rc = ORCH_OK;
    if (!x)
        rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                            "--tls-client-ca %s holds no PEM certificate", path);
    X509_free(x);
    BIO_free(b);
    return rc;
}

/* Both entry points: with out NULL only checks. */
static orch_err_t tls_load(const srv_tls_config_t *cfg, struct grpc_server_credentials **out,
                           orch_error_t *err)
{
    char *cert = NULL, *key = NULL, *ca = NULL;
    grpc_ssl_pem_key_cert_pair pair;
    bool mtls = cfg->client_ca_file && *cfg->client_ca_file;
    orch_err_t rc;

    if (out)
        *out = NULL;
    if (!cfg->cert_file || !*cfg->cert_file || !cfg->key_file || !*cfg->key_file) {
        rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                            "TLS needs both --tls-cert and --tls-key");
        goto out;
    }
    if ((rc = slurp(cfg->cert_file, "--tls-cert", &cert, err)) ||
        (rc = slurp(cfg->key_file, "--tls-key", &key, err)) ||
        (mtls && (rc = slurp(cfg->client_ca_file, "--tls-client-ca", &ca, err))))
        goto out;
    if ((rc = check_pair(cfg, cert, key, err)) ||
        (mtls && (rc = check_ca(cfg->client_ca_file, ca, err))))
        goto out;
    if (!out)
        goto out;
    pair.private_key = key;
    pair.cert_chain = cert;
    /* The core copies the PEM strings. */
    *out = grpc_ssl_server_credentials_create_ex(
        ca, &pair, 1,
        mtls ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
             : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
        NULL);
    if (!*out)
        rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                            "gRPC refused the TLS certificate or key");
out:
    if (key) {
        OPENSSL_cleanse(key, strlen(key));
        free(key);
    }
    free(cert);
    free(ca);
    return rc;
}

orch_err_t srv_tls_check(const srv_tls_config_t *cfg, orch_error_t *err)
{
    return tls_load(cfg, NULL, err);
}

orch_err_t srv_tls_credentials_new(const srv_tls_config_t *cfg,
                                   struct grpc_server_credentials **out, orch_error_t *err)
{
    return tls_load(cfg, out, err);
}
