/* Security end to end: the real orchestratord with authentication on (RS256, ES256 and HS256
 * JWTs, API tokens) and with TLS and mutual TLS, against clients holding good, bad and no
 * credentials. Keys and certificates are made at test time with the openssl CLI into a
 * temporary directory; JWTs are made here with libjwt. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jwt.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/arena.h"
#include "grpc/health/v1/health.pb-c.h"
#include "harness.h"
#include "orchestrator/v1/engine.pb-c.h"
#include "orchestrator/v1/processes.pb-c.h"
#include "orchestrator/v1/products.pb-c.h"
#include "orchestrator/v1/subscriptions.pb-c.h"
#include "orchestrator/v1/workflows.pb-c.h"
#include "server/rpc/codec.h"

#define CHECK "/grpc.health.v1.Health/Check"
#define LIST "/orchestrator.v1.ProductService/ListProducts"
#define UPDATE "/orchestrator.v1.ProductService/UpdateProduct"
#define GETSUB "/orchestrator.v1.SubscriptionService/GetSubscription"
#define PAUSE "/orchestrator.v1.EngineService/PauseEngine"
#define RESUME "/orchestrator.v1.EngineService/ResumeEngine"
#define ENGINE_STATUS "/orchestrator.v1.EngineService/GetEngineStatus"

#define ISSUER "https://idp.example.test"
#define AUDIENCE "orchestrator"

/* gRPC status codes used here. */
enum {
    OK = 0,
    INVALID_ARGUMENT = 3,
    NOT_FOUND = 5,
    PERMISSION_DENIED = 7,
    UNAVAILABLE = 14,
    UNAUTHENTICATED = 16,
};

static char dir[256];

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static char *read_all(const char *name, size_t *len)
{
    char p[512];
    FILE *f;
    char *buf = malloc(1 << 20);
    size_t n;
    path_of(p, sizeof(p), name);
    f = fopen(p, "rb");
    if (!f)
        fail_msg("cannot read %s: %s", p, strerror(errno));
    n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void write_file(const char *name, const char *content)
{
    char p[512];
    FILE *f;
    path_of(p, sizeof(p), name);
    f = fopen(p, "wb");
    if (!f)
        fail_msg("cannot write %s: %s", p, strerror(errno));
    fputs(content, f);
    fclose(f);
    chmod(p, 0600);
}

static void sh(const char *script)
{
    char out[8192];
    int rc = harness_run((const char *const[]){"/bin/sh", "-ec", script, NULL}, out, sizeof(out));
    if (rc != 0)
        fail_msg("setup script failed (%d): %s\n%s", rc, script, out);
}

/* A CA, a server certificate for localhost and 127.0.0.1, a client certificate from the CA,
 * a self-signed "rogue" client certificate, JWT key pairs (RSA, EC P-256, and a second RSA
 * key nobody configured), an HS256 secret and an API token file. */
static int setup(void **state)
{
    char script[4096];
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/orch-sec-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(script, sizeof(script),
             "cd %s\n"
             "exec 2>openssl.log\n"
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
             "-subj /CN=orch-test-ca\n"
             "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
             "-subj /CN=localhost\n"
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext\n"
             "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out server.pem -days 2 -extfile server.ext\n"
             "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
             "-subj /CN=orch-test-client\n"
             "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out client.pem -days 2\n"
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.pem "
             "-days 2 -subj /CN=orch-test-client\n"
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out jwt-rsa.key\n"
             "openssl pkey -in jwt-rsa.key -pubout -out jwt-rsa.pub\n"
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other-rsa.key\n"
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out jwt-ec.key\n"
             "openssl pkey -in jwt-ec.key -pubout -out jwt-ec.pub\n"
             "head -c 48 /dev/urandom | base64 | tr -d '\\n' > hs.secret\n"
             "printf 'short' > short.secret\n"
             "chmod 600 *.key hs.secret\n"
             "r=$(printf %%s reader-token-1234567890 | sha256sum | cut -d' ' -f1)\n"
             "a=$(printf %%s admin-token-0987654321 | sha256sum | cut -d' ' -f1)\n"
             "printf '# API tokens\\n\\n%%s reader metrics-bot\\n%%s admin deploy-bot\\n' "
             "\"$r\" \"$a\" > tokens.txt\n"
             /* Roles of the organisation's own, after a built-in one. */
             "o=$(printf %%s operator-token-1111111111 | sha256sum | cut -d' ' -f1)\n"
             "c=$(printf %%s cm-token-2222222222 | sha256sum | cut -d' ' -f1)\n"
             "p=$(printf %%s approver-token-3333333333 | sha256sum | cut -d' ' -f1)\n"
             "printf '%%s operator ops-bot\\n%%s operator,change_manager cm-bot\\n"
             "%%s operator,change_manager,approver approver-bot\\n' \"$o\" \"$c\" \"$p\" "
             ">> tokens.txt\n",
             dir);
    sh(script);
    return 0;
}

static int teardown(void **state)
{
    char script[512];
    (void)state;
    snprintf(script, sizeof(script), "rm -rf -- '%s'", dir);
    sh(script);
    return 0;
}

/* ---- tokens ---------------------------------------------------------------------------- */

typedef struct claims {
    const char *iss, *aud_json, *sub, *roles_json;
    long exp_in, nbf_in; /* seconds from now; exp_in 0 = no exp; nbf_in 0 = no nbf */
} claims_t;

static claims_t good(const char *roles_json)
{
    return (claims_t){.iss = ISSUER,
                      .aud_json = "\"" AUDIENCE "\"",
                      .sub = "alice@example.test",
                      .roles_json = roles_json,
                      .exp_in = 600};
}

/* A JWT signed with alg and the key in file keyfile (for HS256: the file's bytes as the
 * secret). Caller frees. */
static char *make_jwt(jwt_alg_t alg, const char *keyfile, claims_t c)
{
    jwt_t *jwt = NULL;
    size_t klen = 0;
    char *key = keyfile ? read_all(keyfile, &klen) : NULL;
    char json[512], *tok, *copy;
    long now = (long)time(NULL);

    assert_int_equal(jwt_new(&jwt), 0);
    if (c.iss)
        assert_int_equal(jwt_add_grant(jwt, "iss", c.iss), 0);
    if (c.sub)
        assert_int_equal(jwt_add_grant(jwt, "sub", c.sub), 0);
    if (c.exp_in)
        assert_int_equal(jwt_add_grant_int(jwt, "exp", now + c.exp_in), 0);
    if (c.nbf_in)
        assert_int_equal(jwt_add_grant_int(jwt, "nbf", now + c.nbf_in), 0);
    assert_int_equal(jwt_add_grant_int(jwt, "iat", now), 0);
    snprintf(json, sizeof(json), "{\"aud\": %s, \"roles\": %s}", c.aud_json ? c.aud_json : "null",
             c.roles_json ? c.roles_json : "[]");
    assert_int_equal(jwt_add_grants_json(jwt, json), 0);
    assert_int_equal(jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)klen), 0);
    tok = jwt_encode_str(jwt);
    assert_non_null(tok);
    copy = strdup(tok);
    free(tok);
    jwt_free(jwt);
    free(key);
    return copy;
}

/* base64url without padding. */
static void b64url(const char *in, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = a[(v >> 18) & 63];
        out[o++] = a[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = a[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = a[v & 63];
    }
    out[o] = '\0';
}

/* ---- calls ----------------------------------------------------------------------------- */

static cli_channel_t *channel(const char *addr, const char *token)
{
    cli_channel_opts_t o = {.token = token};
    cli_channel_t *ch = cli_channel_new(addr, &o);
    assert_non_null(ch);
    return ch;
}

static int list_products(cli_channel_t *ch, cli_status_t *st)
{
    Orchestrator__V1__ListProductsRequest req = ORCHESTRATOR__V1__LIST_PRODUCTS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int code =
        cli_call_unary(ch, LIST, &req.base, &orchestrator__v1__list_products_response__descriptor,
                       10000, &resp, st);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

/* ListProducts with token on s; checks the code and, when given, reason and a piece of the
 * message. */
static void expect_list(harness_server_t *s, const char *token, int code, const char *reason,
                        const char *msg_part)
{
    cli_channel_t *ch = channel(s->addr, token);
    cli_status_t st;
    int got = list_products(ch, &st);
    if (got != code || (reason && (!st.reason || strcmp(st.reason, reason) != 0)) ||
        (msg_part && !strstr(st.message, msg_part)))
        fail_msg("ListProducts: want %d %s '%s', got %d %s '%s'", code, reason ? reason : "-",
                 msg_part ? msg_part : "", got, st.reason ? st.reason : "-", st.message);
    cli_status_cleanup(&st);
    cli_channel_free(ch);
}

static int health(cli_channel_t *ch)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    cli_status_t st;
    int code =
        cli_call_unary(ch, CHECK, &req.base, &grpc__health__v1__health_check_response__descriptor,
                       5000, &resp, &st);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    cli_status_cleanup(&st);
    return code;
}

/* UpdateProduct of the first product's description: reaches the handler only with admin. */
static int update_product(cli_channel_t *ch, cli_channel_t *reader, cli_status_t *st)
{
    Orchestrator__V1__ListProductsRequest lreq = ORCHESTRATOR__V1__LIST_PRODUCTS_REQUEST__INIT;
    Orchestrator__V1__ListProductsResponse *l = NULL;
    Orchestrator__V1__UpdateProductRequest req = ORCHESTRATOR__V1__UPDATE_PRODUCT_REQUEST__INIT;
    Orchestrator__V1__Product p = ORCHESTRATOR__V1__PRODUCT__INIT;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *paths[] = {"description"};
    ProtobufCMessage *resp = NULL;
    int code;

    lreq.page_size = 1;
    assert_int_equal(cli_call_unary(reader, LIST, &lreq.base,
                                    &orchestrator__v1__list_products_response__descriptor, 10000,
                                    (ProtobufCMessage **)&l, st),
                     OK);
    cli_status_cleanup(st);
    p.product_id = l->products[0]->product_id;
    p.description = "changed by the security test";
    mask.n_paths = 1;
    mask.paths = paths;
    req.product = &p;
    req.update_mask = &mask;
    code = cli_call_unary(ch, UPDATE, &req.base, &orchestrator__v1__product__descriptor, 10000,
                          &resp, st);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    protobuf_c_message_free_unpacked(&l->base, NULL);
    return code;
}

static int get_subscription(cli_channel_t *ch, cli_status_t *st)
{
    Orchestrator__V1__GetSubscriptionRequest req = ORCHESTRATOR__V1__GET_SUBSCRIPTION_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int code;
    req.subscription_id = "0b0e8ab5-1d0f-4c57-9d57-2f4e5d6a7b8c";
    code = cli_call_unary(ch, GETSUB, &req.base, &orchestrator__v1__subscription__descriptor, 10000,
                          &resp, st);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

/* PauseEngine or ResumeEngine; returns the code and the status' updated_by name into who. */
static int engine_switch(cli_channel_t *ch, bool pause, char *who, size_t cap)
{
    Orchestrator__V1__PauseEngineRequest preq = ORCHESTRATOR__V1__PAUSE_ENGINE_REQUEST__INIT;
    Orchestrator__V1__ResumeEngineRequest rreq = ORCHESTRATOR__V1__RESUME_ENGINE_REQUEST__INIT;
    Orchestrator__V1__EngineStatus *es = NULL;
    cli_status_t st;
    int code = cli_call_unary(ch, pause ? PAUSE : RESUME, pause ? &preq.base : &rreq.base,
                              &orchestrator__v1__engine_status__descriptor, 10000,
                              (ProtobufCMessage **)&es, &st);
    who[0] = '\0';
    if (es && es->updated_by)
        snprintf(who, cap, "%s", es->updated_by->name);
    if (es)
        protobuf_c_message_free_unpacked(&es->base, NULL);
    cli_status_cleanup(&st);
    return code;
}

static void start_jwt_server(harness_server_t *s, const char *keyfile)
{
    char key[512], tokens[512];
    path_of(key, sizeof(key), keyfile);
    path_of(tokens, sizeof(tokens), "tokens.txt");
    harness_server_start(s, NULL,
                         (const char *const[]){"--auth=on", "--jwt-public-key-file", key,
                                               "--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE,
                                               "--api-tokens-file", tokens, NULL});
}

static void stop(harness_server_t *s)
{
    assert_int_equal(harness_server_stop(s), 0);
    harness_db_drop(s->dbname);
}

/* ---- authentication -------------------------------------------------------------------- */

/* RS256: every way a token can be wrong gives UNAUTHENTICATED with its own reason. */
static void rs256_tokens(void **state)
{
    harness_server_t s;
    char *t, bad[4096], h[256], b[512];
    (void)state;

    start_jwt_server(&s, "jwt-rsa.pub");

    /* Health answers without a token; a real call does not. */
    assert_int_equal(health(s.ch), OK);
    expect_list(&s, NULL, UNAUTHENTICATED, "TOKEN_MISSING", "authorization");

    /* Malformed. */
    expect_list(&s, "not-a-token", UNAUTHENTICATED, "TOKEN_INVALID", NULL);
    expect_list(&s, "a.b.c", UNAUTHENTICATED, "TOKEN_INVALID", NULL);

    /* The right token: reader may list. */
    t = make_jwt(JWT_ALG_RS256, "jwt-rsa.key", good("[\"reader\"]"));
    expect_list(&s, t, OK, NULL, NULL);
    /* One byte of the signature changed: refused. */
    snprintf(bad, sizeof(bad), "%s", t);
    bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
    expect_list(&s, bad, UNAUTHENTICATED, "TOKEN_INVALID", NULL);
    free(t);

    /* Expired (beyond the 30 s skew), and not yet valid. */
    claims_t c = good("[\"reader\"]");
    c.exp_in = -120;
    t = make_jwt(JWT_ALG_RS256, "jwt-rsa.key", c);
    expect_list(&s, t, UNAUTHENTICATED, "TOKEN_EXPIRED", "the token expired at ");
    free(t);
    /* Within the skew it still passes. */
    c.exp_in = -5;
    t = make_jwt(JWT_ALG_RS256, "jwt-rsa.key", c);
    expect_list(&s, t, OK, NULL, NULL);
    free(t);
    c = good("[\"reader\"]");
    c.nbf_in = 300;
    t = make_jwt(JWT_ALG_RS256, "jwt-rsa.key", c);
    expect_list(&s, t, UNAUTHENTICATED, "TOKEN_NOT_YET_VALID", "not valid before");
    free(t);
    /* No expiry at all. */
    c = good("[\"reader\"]");
    c.exp_in = 0;
    t = make_jwt(JWT_ALG_RS256, "jwt-rsa.key", c);
    expect_list(&s, t, UNAUTHENTICATED, "TOKEN_INVALID", "expiry");
    free(t);

    /* Wrong issuer, wrong audience; an audience list that contains ours is fine. */
    c = good("[\"reader\"]");
    c.iss = "https://evil.example.test";
    t = make_jwt(JWT_ALG_RS256, "jwt-rsa.key", c);
    expect_list(&s, t, UNAUTHENTICATED, "TOKEN_WRONG_ISSUER", "wrong issuer");
    free(t);
    c = good("[\"reader\"]");
    c.aud_json = "\"another-service\"";
    t = make_jwt(JWT_ALG_RS256, "jwt-rsa.key", c);
    expect_list(&s, t, UNAUTHENTICATED, "TOKEN_WRONG_AUDIENCE", "wrong audience");
    free(t);
    c.aud_json = "[\"another-service\", \"" AUDIENCE "\"]";
    t = make_jwt(JWT_ALG_RS256, "jwt-rsa.key", c);
    expect_list(&s, t, OK, NULL, NULL);
    free(t);

    /* Signed by a key the server does not know. */
    t = make_jwt(JWT_ALG_RS256, "other-rsa.key", good("[\"admin\"]"));
    expect_list(&s, t, UNAUTHENTICATED, "TOKEN_INVALID", NULL);
    free(t);

    /* Algorithm confusion: HS256 with the server's RSA *public* key as the HMAC secret. The
     * signature is right for that "secret"; only the algorithm pin refuses it. */
    t = make_jwt(JWT_ALG_HS256, "jwt-rsa.pub", good("[\"admin\"]"));
    expect_list(&s, t, UNAUTHENTICATED, "TOKEN_INVALID", "HS256");
    free(t);

    /* alg "none", unsigned. */
    b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}", h);
    snprintf(bad, sizeof(bad),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"mallory\","
             "\"roles\":[\"admin\"],\"exp\":%ld}",
             ISSUER, AUDIENCE, (long)time(NULL) + 600);
    b64url(bad, b);
    snprintf(bad, sizeof(bad), "%s.%s.", h, b);
    expect_list(&s, bad, UNAUTHENTICATED, "TOKEN_INVALID", NULL);

    /* Some other scheme's credentials in the token's place. */
    expect_list(&s, "Basic dXNlcjpwYXNz", UNAUTHENTICATED, "TOKEN_INVALID", NULL);
    stop(&s);
}

/* ES256 and HS256 configured together: each key accepts only its own algorithm. */
static void es256_and_hs256(void **state)
{
    harness_server_t s;
    char ec[512], secret[512], *t;
    (void)state;

    path_of(ec, sizeof(ec), "jwt-ec.pub");
    path_of(secret, sizeof(secret), "hs.secret");
    harness_server_start(&s, NULL,
                         (const char *const[]){"--auth=on", "--jwt-public-key-file", ec,
                                               "--jwt-secret-file", secret, "--jwt-audience",
                                               AUDIENCE, NULL});
    t = make_jwt(JWT_ALG_ES256, "jwt-ec.key", good("[\"reader\"]"));
    expect_list(&s, t, OK, NULL, NULL);
    free(t);
    t = make_jwt(JWT_ALG_HS256, "hs.secret", good("[\"reader\"]"));
    expect_list(&s, t, OK, NULL, NULL);
    free(t);
    /* HS256 keyed with the EC public key, RS256 with a key nobody configured. */
    t = make_jwt(JWT_ALG_HS256, "jwt-ec.pub", good("[\"admin\"]"));
    expect_list(&s, t, UNAUTHENTICATED, "TOKEN_INVALID", NULL);
    free(t);
    t = make_jwt(JWT_ALG_RS256, "jwt-rsa.key", good("[\"admin\"]"));
    expect_list(&s, t, UNAUTHENTICATED, "TOKEN_INVALID", NULL);
    free(t);
    /* An API token is not accepted here: no token file. */
    expect_list(&s, "reader-token-1234567890", UNAUTHENTICATED, "TOKEN_INVALID", NULL);
    stop(&s);
}

/* ---- authorisation --------------------------------------------------------------------- */

static void roles_and_actor(void **state)
{
    harness_server_t s;
    cli_channel_t *reader, *admin, *operator, * norole, *bot, *botadmin;
    cli_status_t st;
    char *t, who[256];
    (void)state;

    start_jwt_server(&s, "jwt-rsa.pub");
    t = make_jwt(JWT_ALG_RS256, "jwt-rsa.key", good("[\"reader\"]"));
    reader = channel(s.addr, t);
    free(t);
    t = make_jwt(JWT_ALG_RS256, "jwt-rsa.key", good("[\"operator\"]"));
    operator= channel(s.addr, t);
    free(t);
    t = make_jwt(JWT_ALG_RS256, "jwt-rsa.key", good("[\"admin\"]"));
    admin = channel(s.addr, t);
    free(t);
    t = make_jwt(JWT_ALG_RS256, "jwt-rsa.key", good("[\"superuser\"]"));
    norole = channel(s.addr, t);
    free(t);
    bot = channel(s.addr, "reader-token-1234567890");
    botadmin = channel(s.addr, "admin-token-0987654321");

    /* Too small a role: PERMISSION_DENIED naming the role needed and the roles held. */
    assert_int_equal(update_product(reader, reader, &st), PERMISSION_DENIED);
    assert_string_equal(st.reason, "MISSING_ROLE");
    assert_string_equal(st.message, "UpdateProduct needs the admin role; the token has: reader");
    cli_status_cleanup(&st);
    assert_int_equal(update_product(operator, reader, &st), PERMISSION_DENIED);
    assert_string_equal(st.message,
                        "UpdateProduct needs the admin role; the token has: operator, reader");
    cli_status_cleanup(&st);
    /* Unknown role names give nothing. */
    assert_int_equal(get_subscription(norole, &st), PERMISSION_DENIED);
    assert_string_equal(st.message, "GetSubscription needs the reader role; the token has: "
                                    "no role");
    cli_status_cleanup(&st);

    /* The right role gets through to the handler. */
    assert_int_equal(get_subscription(reader, &st), NOT_FOUND);
    cli_status_cleanup(&st);
    assert_int_equal(update_product(admin, reader, &st), OK);
    cli_status_cleanup(&st);

    /* API tokens: reader may read, not write; admin may write; a wrong token is refused. */
    assert_int_equal(list_products(bot, &st), OK);
    cli_status_cleanup(&st);
    assert_int_equal(update_product(bot, reader, &st), PERMISSION_DENIED);
    assert_string_equal(st.reason, "MISSING_ROLE");
    cli_status_cleanup(&st);
    assert_int_equal(update_product(botadmin, reader, &st), OK);
    cli_status_cleanup(&st);
    expect_list(&s, "reader-token-123456789", UNAUTHENTICATED, "TOKEN_INVALID", NULL);
    expect_list(&s, "reader-token-1234567890x", UNAUTHENTICATED, "TOKEN_INVALID", NULL);

    /* Who did it is recorded: the JWT subject, the API token's name. */
    assert_int_equal(engine_switch(admin, true, who, sizeof(who)), OK);
    assert_string_equal(who, "alice@example.test");
    assert_int_equal(engine_switch(botadmin, false, who, sizeof(who)), OK);
    assert_string_equal(who, "deploy-bot");
    assert_int_equal(engine_switch(reader, true, who, sizeof(who)), PERMISSION_DENIED);

    /* The audit log of admin actions: every admin call that committed, newest first, with
     * who made it and what it acted on; refused calls left nothing. Readers cannot see it. */
    {
        Orchestrator__V1__ListAdminActionsRequest req =
            ORCHESTRATOR__V1__LIST_ADMIN_ACTIONS_REQUEST__INIT;
        Orchestrator__V1__ListAdminActionsResponse *r = NULL;
        const char *path = "/orchestrator.v1.EngineService/ListAdminActions";
        assert_int_equal(cli_call_unary(reader, path, &req.base,
                                        &orchestrator__v1__list_admin_actions_response__descriptor,
                                        10000, (ProtobufCMessage **)&r, &st),
                         PERMISSION_DENIED);
        cli_status_cleanup(&st);
        assert_int_equal(cli_call_unary(admin, path, &req.base,
                                        &orchestrator__v1__list_admin_actions_response__descriptor,
                                        10000, (ProtobufCMessage **)&r, &st),
                         OK);
        cli_status_cleanup(&st);
        /* UpdateProduct by alice, UpdateProduct by deploy-bot, PauseEngine by alice,
         * ResumeEngine by deploy-bot; newest first. */
        assert_int_equal(r->n_actions, 4);
        assert_string_equal(r->actions[0]->method, "ResumeEngine");
        assert_string_equal(r->actions[0]->actor->name, "deploy-bot");
        assert_int_equal(r->actions[0]->actor->kind, ORCHESTRATOR__V1__ACTOR__KIND__KIND_API_TOKEN);
        assert_string_equal(r->actions[1]->method, "PauseEngine");
        assert_string_equal(r->actions[1]->actor->name, "alice@example.test");
        assert_int_equal(r->actions[1]->actor->kind, ORCHESTRATOR__V1__ACTOR__KIND__KIND_USER);
        assert_string_equal(r->actions[3]->method, "UpdateProduct");
        assert_int_equal(strlen(r->actions[3]->target), 36); /* the product's id */
        assert_true(r->actions[0]->action_id > r->actions[1]->action_id);
        assert_non_null(r->actions[0]->action_time);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        /* Pages of one, bound to the query; filtered by method. */
        req.page_size = 1;
        req.method = "UpdateProduct";
        assert_int_equal(cli_call_unary(admin, path, &req.base,
                                        &orchestrator__v1__list_admin_actions_response__descriptor,
                                        10000, (ProtobufCMessage **)&r, &st),
                         OK);
        cli_status_cleanup(&st);
        assert_int_equal(r->n_actions, 1);
        assert_string_equal(r->actions[0]->actor->name, "deploy-bot");
        assert_string_not_equal(r->next_page_token, "");
        {
            char tok[512];
            snprintf(tok, sizeof(tok), "%s", r->next_page_token);
            protobuf_c_message_free_unpacked(&r->base, NULL);
            req.page_token = tok;
            assert_int_equal(
                cli_call_unary(admin, path, &req.base,
                               &orchestrator__v1__list_admin_actions_response__descriptor, 10000,
                               (ProtobufCMessage **)&r, &st),
                OK);
            cli_status_cleanup(&st);
            assert_int_equal(r->n_actions, 1);
            assert_string_equal(r->actions[0]->actor->name, "alice@example.test");
            assert_string_equal(r->next_page_token, "");
            protobuf_c_message_free_unpacked(&r->base, NULL);
            /* The token does not fit another query. */
            req.method = "PauseEngine";
            assert_int_equal(
                cli_call_unary(admin, path, &req.base,
                               &orchestrator__v1__list_admin_actions_response__descriptor, 10000,
                               (ProtobufCMessage **)&r, &st),
                INVALID_ARGUMENT);
            cli_status_cleanup(&st);
        }
    }

    /* orchctl: --token reaches the server; without one the call is refused (exit 4). */
    {
        char out[8192];
        assert_int_equal(
            harness_run((const char *const[]){harness_orchctl_bin(), "--server", s.addr, "--token",
                                              "reader-token-1234567890", "product", "list", NULL},
                        out, sizeof(out)),
            0);
        assert_int_equal(harness_run((const char *const[]){harness_orchctl_bin(), "--server",
                                                           s.addr, "product", "list", NULL},
                                     out, sizeof(out)),
                         4);
        assert_non_null(strstr(out, "UNAUTHENTICATED"));
        assert_non_null(strstr(out, "TOKEN_MISSING"));
    }

    cli_channel_free(reader);
    cli_channel_free(operator);
    cli_channel_free(admin);
    cli_channel_free(norole);
    cli_channel_free(bot);
    cli_channel_free(botadmin);
    stop(&s);
}

/* ---- roles of workflows and input steps ------------------------------------------------ */

#define PS "/orchestrator.v1.ProcessService/"

/* StartProcess test_guarded; the process id into id (64 bytes) when it is started. */
static int start_guarded(cli_channel_t *ch, char *id, cli_status_t *st)
{
    Orchestrator__V1__StartProcessRequest req = ORCHESTRATOR__V1__START_PROCESS_REQUEST__INIT;
    Orchestrator__V1__StartProcessResponse *r = NULL;
    int code;
    req.workflow_name = "test_guarded";
    code = cli_call_unary(ch, PS "StartProcess", &req.base,
                          &orchestrator__v1__start_process_response__descriptor, 10000,
                          (ProtobufCMessage **)&r, st);
    if (r) {
        snprintf(id, 64, "%s", r->process->process_id);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    return code;
}

static int resume_guarded(cli_channel_t *ch, const char *id, cli_status_t *st)
{
    Orchestrator__V1__ResumeProcessRequest req = ORCHESTRATOR__V1__RESUME_PROCESS_REQUEST__INIT;
    orch_arena_t *a = orch_arena_new();
    json_t *answer = json_pack("{s:b}", "approved", 1);
    Google__Protobuf__Struct *page = srv_codec_struct_from_json(a, answer);
    ProtobufCMessage *resp = NULL;
    int code;
    req.process_id = (char *)id;
    req.n_user_inputs = 1;
    req.user_inputs = &page;
    code = cli_call_unary(ch, PS "ResumeProcess", &req.base,
                          &orchestrator__v1__resume_process_response__descriptor, 10000, &resp, st);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    json_decref(answer);
    orch_arena_free(a);
    return code;
}

static int abort_guarded(cli_channel_t *ch, const char *id, cli_status_t *st)
{
    Orchestrator__V1__AbortProcessRequest req = ORCHESTRATOR__V1__ABORT_PROCESS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int code;
    req.process_id = (char *)id;
    code = cli_call_unary(ch, PS "AbortProcess", &req.base,
                          &orchestrator__v1__abort_process_response__descriptor, 10000, &resp, st);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

/* Waits until the process has status; fails after 10 s. */
static void wait_process(cli_channel_t *ch, const char *id, Orchestrator__V1__ProcessStatus want)
{
    for (int i = 0; i < 100; i++) {
        Orchestrator__V1__GetProcessRequest req = ORCHESTRATOR__V1__GET_PROCESS_REQUEST__INIT;
        Orchestrator__V1__Process *p = NULL;
        cli_status_t st;
        int status = -1;
        req.process_id = (char *)id;
        cli_call_unary(ch, PS "GetProcess", &req.base, &orchestrator__v1__process__descriptor, 5000,
                       (ProtobufCMessage **)&p, &st);
        cli_status_cleanup(&st);
        if (p) {
            status = p->status;
            protobuf_c_message_free_unpacked(&p->base, NULL);
        }
        if (status == (int)want)
            return;
        usleep(100 * 1000);
    }
    fail_msg("process %s never reached status %d", id, want);
}

/* A workflow that requires change_manager and an input step that requires approver: the
 * operator role is not enough, each refusal names the role, an admin holds every role, and
 * GetWorkflow shows what is required. Own roles come from API tokens and JWT claims. */
static void workflow_and_step_roles(void **state)
{
    harness_server_t s;
    cli_channel_t *op, *cm, *approver, *admin, *jwt_cm;
    cli_status_t st;
    char id[64], id2[64], *t;
    (void)state;

    setenv("ORCH_TEST_WORKFLOWS", "1", 1);
    start_jwt_server(&s, "jwt-rsa.pub");
    unsetenv("ORCH_TEST_WORKFLOWS");
    op = channel(s.addr, "operator-token-1111111111");
    cm = channel(s.addr, "cm-token-2222222222");
    approver = channel(s.addr, "approver-token-3333333333");
    admin = channel(s.addr, "admin-token-0987654321");
    t = make_jwt(JWT_ALG_RS256, "jwt-rsa.key", good("[\"operator\", \"change_manager\"]"));
    jwt_cm = channel(s.addr, t);
    free(t);

    /* Starting needs the workflow's role. */
    assert_int_equal(start_guarded(op, id, &st), PERMISSION_DENIED);
    assert_string_equal(st.reason, "MISSING_ROLE");
    assert_non_null(strstr(st.message, "workflow test_guarded needs the role 'change_manager'"));
    cli_status_cleanup(&st);
    assert_int_equal(start_guarded(cm, id, &st), OK);
    cli_status_cleanup(&st);
    wait_process(cm, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_SUSPENDED);

    /* Answering the input step needs the step's role; aborting needs the workflow's. */
    assert_int_equal(resume_guarded(cm, id, &st), PERMISSION_DENIED);
    assert_string_equal(st.reason, "MISSING_ROLE");
    assert_non_null(
        strstr(st.message, "step approve of workflow test_guarded needs the role 'approver'"));
    cli_status_cleanup(&st);
    assert_int_equal(abort_guarded(op, id, &st), PERMISSION_DENIED);
    assert_non_null(strstr(st.message, "'change_manager'"));
    cli_status_cleanup(&st);
    wait_process(cm, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_SUSPENDED);
    assert_int_equal(resume_guarded(approver, id, &st), OK);
    cli_status_cleanup(&st);
    wait_process(cm, id, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED);

    /* The roles claim of a JWT carries own roles too; an admin holds every role. */
    assert_int_equal(start_guarded(jwt_cm, id2, &st), OK);
    cli_status_cleanup(&st);
    wait_process(admin, id2, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_SUSPENDED);
    assert_int_equal(resume_guarded(admin, id2, &st), OK);
    cli_status_cleanup(&st);
    wait_process(admin, id2, ORCHESTRATOR__V1__PROCESS_STATUS__PROCESS_STATUS_COMPLETED);

    /* What is required is part of the workflow's description. */
    {
        Orchestrator__V1__GetWorkflowRequest req = ORCHESTRATOR__V1__GET_WORKFLOW_REQUEST__INIT;
        Orchestrator__V1__Workflow *w = NULL;
        req.key_case = ORCHESTRATOR__V1__GET_WORKFLOW_REQUEST__KEY_NAME;
        req.name = "test_guarded";
        assert_int_equal(cli_call_unary(op, "/orchestrator.v1.WorkflowService/GetWorkflow",
                                        &req.base, &orchestrator__v1__workflow__descriptor, 10000,
                                        (ProtobufCMessage **)&w, &st),
                         OK);
        cli_status_cleanup(&st);
        assert_string_equal(w->required_role, "change_manager");
        assert_string_equal(w->versions[0]->steps[1]->key, "approve");
        assert_string_equal(w->versions[0]->steps[1]->required_role, "approver");
        assert_string_equal(w->versions[0]->steps[0]->required_role, "");
        protobuf_c_message_free_unpacked(&w->base, NULL);
    }

    cli_channel_free(op);
    cli_channel_free(cm);
    cli_channel_free(approver);
    cli_channel_free(admin);
    cli_channel_free(jwt_cm);
    stop(&s);
}

/* Polls ListProducts with token until it answers want (5 s). */
static void wait_list(harness_server_t *s, const char *token, int want)
{
    for (int i = 0; i < 50; i++) {
        cli_channel_t *ch = channel(s->addr, token);
        cli_status_t st;
        int got = list_products(ch, &st);
        cli_status_cleanup(&st);
        cli_channel_free(ch);
        if (got == want)
            return;
        usleep(100 * 1000);
    }
    fail_msg("ListProducts with %s never answered %d", token, want);
}

/* Rotating API tokens without a restart: SIGHUP re-reads the file; a broken file leaves the
 * running tokens in place. */
static void keys_reload_on_sighup(void **state)
{
    harness_server_t s;
    char script[2048], tokens[512];
    (void)state;
    snprintf(script, sizeof(script),
             "cd %s\n"
             "r=$(printf %%s reader-token-1234567890 | sha256sum | cut -d' ' -f1)\n"
             "printf '%%s reader metrics-bot\\n' \"$r\" > rotating.txt\n",
             dir);
    sh(script);
    path_of(tokens, sizeof(tokens), "rotating.txt");
    harness_server_start(&s, NULL,
                         (const char *const[]){"--auth=on", "--api-tokens-file", tokens, NULL});
    expect_list(&s, "new-token-4444444444", UNAUTHENTICATED, "TOKEN_INVALID", NULL);
    expect_list(&s, "reader-token-1234567890", OK, NULL, NULL);

    /* A new token is added: it works after SIGHUP. */
    snprintf(script, sizeof(script),
             "cd %s\n"
             "n=$(printf %%s new-token-4444444444 | sha256sum | cut -d' ' -f1)\n"
             "printf '%%s reader new-bot\\n' \"$n\" >> rotating.txt\n",
             dir);
    sh(script);
    assert_int_equal(kill(s.pid, SIGHUP), 0);
    wait_list(&s, "new-token-4444444444", OK);

    /* A broken file: refused, the running tokens stay. */
    write_file("rotating.txt", "not a token line\n");
    assert_int_equal(kill(s.pid, SIGHUP), 0);
    usleep(500 * 1000);
    expect_list(&s, "new-token-4444444444", OK, NULL, NULL);
    expect_list(&s, "reader-token-1234567890", OK, NULL, NULL);

    /* The old token is revoked: refused after SIGHUP. */
    snprintf(script, sizeof(script),
             "cd %s\n"
             "n=$(printf %%s new-token-4444444444 | sha256sum | cut -d' ' -f1)\n"
             "printf '%%s reader new-bot\\n' \"$n\" > rotating.txt\n",
             dir);
    sh(script);
    assert_int_equal(kill(s.pid, SIGHUP), 0);
    wait_list(&s, "reader-token-1234567890", UNAUTHENTICATED);
    expect_list(&s, "new-token-4444444444", OK, NULL, NULL);
    stop(&s);
}

/* Misconfiguration stops the server at start, with a sentence. */
static void refuses_bad_configuration(void **state)
{
    char out[8192], p[512], q[512];
    (void)state;

    assert_int_equal(harness_run((const char *const[]){harness_server_bin(), "--auth=on", NULL},
                                 out, sizeof(out)),
                     2);
    assert_non_null(strstr(out, "--auth=on needs a way to verify tokens"));
    assert_int_equal(harness_run((const char *const[]){harness_server_bin(), "--auth=maybe", NULL},
                                 out, sizeof(out)),
                     2);
    path_of(p, sizeof(p), "server.pem");
    assert_int_equal(harness_run((const char *const[]){harness_server_bin(), "--tls-cert", p, NULL},
                                 out, sizeof(out)),
                     2);
    assert_non_null(strstr(out, "both --tls-cert and --tls-key"));
    /* A private key where the public key belongs; a too-short HS256 secret; a broken token
     * file. These fail before the database is touched. */
    path_of(p, sizeof(p), "jwt-rsa.key");
    assert_int_equal(harness_run((const char *const[]){harness_server_bin(), "--auth=on",
                                                       "--jwt-public-key-file", p, NULL},
                                 out, sizeof(out)),
                     1);
    assert_non_null(strstr(out, "holds no PEM public key"));
    path_of(p, sizeof(p), "short.secret");
    assert_int_equal(harness_run((const char *const[]){harness_server_bin(), "--auth=on",
                                                       "--jwt-secret-file", p, NULL},
                                 out, sizeof(out)),
                     1);
    assert_non_null(strstr(out, "at least 32"));
    write_file("bad-tokens.txt", "abcd admin someone\n");
    path_of(p, sizeof(p), "bad-tokens.txt");
    assert_int_equal(harness_run((const char *const[]){harness_server_bin(), "--auth=on",
                                                       "--api-tokens-file", p, NULL},
                                 out, sizeof(out)),
                     1);
    assert_non_null(strstr(out, "line 1"));
    /* Own roles come after a built-in one (a typo in the only role is not an own role), and
     * are well-formed names. */
    write_file("bad-roles.txt", "0000000000000000000000000000000000000000000000000000000000000000"
                                " change_manager someone\n");
    path_of(p, sizeof(p), "bad-roles.txt");
    assert_int_equal(harness_run((const char *const[]){harness_server_bin(), "--auth=on",
                                                       "--api-tokens-file", p, NULL},
                                 out, sizeof(out)),
                     1);
    assert_non_null(strstr(out, "hold none of admin, operator, reader or worker"));
    write_file("bad-roles.txt", "0000000000000000000000000000000000000000000000000000000000000000"
                                " operator,Change-Manager someone\n");
    assert_int_equal(harness_run((const char *const[]){harness_server_bin(), "--auth=on",
                                                       "--api-tokens-file", p, NULL},
                                 out, sizeof(out)),
                     1);
    assert_non_null(strstr(out, "'Change-Manager' is not a role name"));
    /* A TLS key that is not the certificate's. */
    path_of(p, sizeof(p), "server.pem");
    path_of(q, sizeof(q), "client.key");
    assert_int_equal(
        harness_run((const char *const[]){harness_server_bin(), "--tls-cert", p, "--tls-key", q,
                                          "--database-url", "host=/nonexistent", NULL},
                    out, sizeof(out)),
        1);
    assert_non_null(strstr(out, "is not the private key of"));
}

/* ---- TLS ------------------------------------------------------------------------------- */

typedef struct tls_server {
    pid_t pid;
    int port;
    char addr[64], dbname[64], conninfo[512], log[512];
} tls_server_t;

static cli_channel_t *tls_channel(const char *addr, const char *ca, const char *cert,
                                  const char *key)
{
    char pca[512], pcert[512], pkey[512];
    cli_channel_opts_t o = {.tls = true, .tls_server_name = NULL};
    cli_channel_t *ch;
    char why[256];
    if (ca) {
        path_of(pca, sizeof(pca), ca);
        o.tls_ca_file = pca;
    }
    if (cert) {
        path_of(pcert, sizeof(pcert), cert);
        path_of(pkey, sizeof(pkey), key);
        o.tls_cert_file = pcert;
        o.tls_key_file = pkey;
    }
    ch = cli_channel_new_ex(addr, &o, why, sizeof(why));
    if (!ch)
        fail_msg("TLS channel: %s", why);
    return ch;
}

static bool port_open(int port)
{
    struct sockaddr_in a = {0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* The harness polls health over plaintext; a TLS server is started and polled here. */
static void tls_server_start(tls_server_t *s, bool mtls)
{
    extern char **environ;
    const char *logdir = getenv("ORCH_TEST_LOG_DIR");
    char cert[512], key[512], ca[512];
    const char *argv[20];
    int n = 0, status;
    posix_spawn_file_actions_t fa;
    cli_channel_t *ch = NULL;

    memset(s, 0, sizeof(*s));
    harness_db_create(s->dbname);
    harness_conninfo(s->dbname, s->conninfo);
    s->port = harness_free_port();
    snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%d", s->port);
    snprintf(s->log, sizeof(s->log), "%s/orchestratord-%s-tls.log",
             logdir && *logdir ? logdir : "/tmp", s->dbname);
    path_of(cert, sizeof(cert), "server.pem");
    path_of(key, sizeof(key), "server.key");
    path_of(ca, sizeof(ca), "ca.pem");
    argv[n++] = harness_server_bin();
    argv[n++] = "--listen";
    argv[n++] = s->addr;
    argv[n++] = "--database-url";
    argv[n++] = s->conninfo;
    argv[n++] = "--threads";
    argv[n++] = "2";
    argv[n++] = "--log-level";
    argv[n++] = "debug";
    argv[n++] = "--tls-cert";
    argv[n++] = cert;
    argv[n++] = "--tls-key";
    argv[n++] = key;
    if (mtls) {
        argv[n++] = "--tls-client-ca";
        argv[n++] = ca;
    }
    argv[n] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&s->pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0)
        fail_msg("cannot start %s", argv[0]);
    posix_spawn_file_actions_destroy(&fa);
    /* The channel is made once the port accepts: a channel whose first connection fails
     * backs off for seconds. */
    for (int i = 0; i < 1500 && !port_open(s->port); i++) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            fail_msg("orchestratord with TLS exited during start-up; log in %s", s->log);
        }
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    ch = mtls ? tls_channel(s->addr, "ca.pem", "client.pem", "client.key")
              : tls_channel(s->addr, "ca.pem", NULL, NULL);
    for (int i = 0; i < 1500; i++) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            fail_msg("orchestratord with TLS exited during start-up; log in %s", s->log);
        }
        if (health(ch) == OK) {
            cli_channel_free(ch);
            return;
        }
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    cli_channel_free(ch);
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    fail_msg("orchestratord with TLS did not answer within 30 s; log in %s", s->log);
}

static void tls_server_stop(tls_server_t *s)
{
    int status = 0;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 1000 && waitpid(s->pid, &status, WNOHANG) != s->pid; i++)
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    if (!WIFEXITED(status)) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    harness_db_drop(s->dbname);
}

static void tls_handshake(void **state)
{
    tls_server_t s;
    cli_channel_t *ch;
    cli_status_t st;
    (void)state;

    tls_server_start(&s, false);
    /* With the CA: a real call works (auth is off on this server). */
    ch = tls_channel(s.addr, "ca.pem", NULL, NULL);
    assert_int_equal(list_products(ch, &st), OK);
    cli_status_cleanup(&st);
    cli_channel_free(ch);
    /* The CA that did not sign the server certificate: refused by the client. */
    ch = tls_channel(s.addr, "rogue.pem", NULL, NULL);
    assert_int_equal(list_products(ch, &st), UNAVAILABLE);
    cli_status_cleanup(&st);
    cli_channel_free(ch);
    /* Plaintext to a TLS port gets nowhere. */
    ch = channel(s.addr, NULL);
    assert_int_equal(list_products(ch, &st), UNAVAILABLE);
    cli_status_cleanup(&st);
    cli_channel_free(ch);
    tls_server_stop(&s);
}

static void mutual_tls(void **state)
{
    tls_server_t s;
    cli_channel_t *ch;
    cli_status_t st;
    (void)state;

    tls_server_start(&s, true);
    ch = tls_channel(s.addr, "ca.pem", "client.pem", "client.key");
    assert_int_equal(list_products(ch, &st), OK);
    cli_status_cleanup(&st);
    cli_channel_free(ch);
    /* A self-signed client certificate with the same subject: refused in the handshake. */
    ch = tls_channel(s.addr, "ca.pem", "rogue.pem", "rogue.key");
    assert_int_equal(list_products(ch, &st), UNAVAILABLE);
    cli_status_cleanup(&st);
    cli_channel_free(ch);
    /* No client certificate at all. */
    ch = tls_channel(s.addr, "ca.pem", NULL, NULL);
    assert_int_equal(list_products(ch, &st), UNAVAILABLE);
    cli_status_cleanup(&st);
    cli_channel_free(ch);
    tls_server_stop(&s);
}

/* orchctl's --tls-ca, --tls-cert and --tls-key. */
static void orchctl_tls(void **state)
{
    tls_server_t s;
    char out[8192], ca[512], cert[512], key[512];
    (void)state;

    tls_server_start(&s, true);
    path_of(ca, sizeof(ca), "ca.pem");
    path_of(cert, sizeof(cert), "client.pem");
    path_of(key, sizeof(key), "client.key");
    assert_int_equal(
        harness_run((const char *const[]){harness_orchctl_bin(), "--server", s.addr, "--tls-ca", ca,
                                          "--tls-cert", cert, "--tls-key", key, "health", NULL},
                    out, sizeof(out)),
        0);
    assert_int_equal(harness_run((const char *const[]){harness_orchctl_bin(), "--server", s.addr,
                                                       "--tls-ca", ca, "health", NULL},
                                 out, sizeof(out)),
                     5);
    assert_int_equal(
        harness_run((const char *const[]){harness_orchctl_bin(), "--server", s.addr, "--tls-ca",
                                          "/nonexistent.pem", "health", NULL},
                    out, sizeof(out)),
        2);
    tls_server_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rs256_tokens),
        cmocka_unit_test(es256_and_hs256),
        cmocka_unit_test(roles_and_actor),
        cmocka_unit_test(refuses_bad_configuration),
        cmocka_unit_test(workflow_and_step_roles),
        cmocka_unit_test(keys_reload_on_sighup),
        cmocka_unit_test(tls_handshake),
        cmocka_unit_test(mutual_tls),
        cmocka_unit_test(orchctl_tls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
