/* srv_auth without a server: header parsing, HS256 claims at fixed clock values (skew
 * boundaries), audience lists, roles, API tokens, and the role check's sentences. */
#include <jwt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/rpc/auth.h"

#define SECRET "0123456789abcdef0123456789abcdef-unit-test"
#define NOW 1700000000L

static char secret_path[64], tokens_path[64];

static int setup(void **state)
{
    FILE *f;
    int fd;
    (void)state;
    snprintf(secret_path, sizeof(secret_path), "/tmp/orch-auth-secret-XXXXXX");
    fd = mkstemp(secret_path);
    f = fdopen(fd, "w");
    fputs(SECRET "\n", f);
    fclose(f);
    snprintf(tokens_path, sizeof(tokens_path), "/tmp/orch-auth-tokens-XXXXXX");
    fd = mkstemp(tokens_path);
    f = fdopen(fd, "w");
    /* sha256("machine-token") */
    fputs("# comment\n\n"
          "ccc999356d1a6e0bfac7d4741f6216017b779f7e9eaa1f1fdc7341d32948b52c reader  cron job  \n",
          f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(secret_path);
    unlink(tokens_path);
    return 0;
}

static srv_auth_t *make_auth(void)
{
    srv_auth_t *a = NULL;
    orch_error_t err;
    orch_error_init(&err);
    assert_int_equal(srv_auth_new(&(srv_auth_config_t){.jwt_secret_file = secret_path,
                                                       .jwt_audience = "orch",
                                                       .clock_skew_s = 30},
                                  &a, &err),
                     ORCH_OK);
    return a;
}

/* "Bearer " + an HS256 token with the given claims JSON. Caller frees. */
static char *bearer(const char *claims)
{
    jwt_t *j = NULL;
    char *t, *h;
    assert_int_equal(jwt_new(&j), 0);
    assert_int_equal(jwt_add_grants_json(j, claims), 0);
    assert_int_equal(
        jwt_set_alg(j, JWT_ALG_HS256, (const unsigned char *)SECRET, (int)strlen(SECRET)), 0);
    t = jwt_encode_str(j);
    h = malloc(strlen(t) + 8);
    sprintf(h, "Bearer %s", t);
    free(t);
    jwt_free(j);
    return h;
}

static orch_err_t verify(srv_auth_t *a, const char *claims, int64_t now, srv_identity_t *id,
                         orch_error_t *err)
{
    char *h = bearer(claims);
    orch_err_t rc;
    orch_error_init(err);
    rc = srv_auth_verify(a, h, now, id, err);
    free(h);
    return rc;
}

static void claims_at_fixed_times(void **state)
{
    srv_auth_t *a = make_auth();
    srv_identity_t id;
    orch_error_t err;
    (void)state;

    /* exp = NOW: accepted up to NOW + 29, refused from NOW + 30. */
    const char *c = "{\"sub\":\"u\",\"aud\":\"orch\",\"exp\":1700000000,\"roles\":[\"operator\"]}";
    assert_int_equal(verify(a, c, NOW + 29, &id, &err), ORCH_OK);
    assert_string_equal(id.kind, "user");
    assert_string_equal(id.name, "u");
    assert_int_equal(id.roles, SRV_ROLE_OPERATOR | SRV_ROLE_READER);
    assert_int_equal(verify(a, c, NOW + 30, &id, &err), ORCH_UNAUTHENTICATED);
    assert_string_equal(err.reason, "TOKEN_EXPIRED");
    assert_string_equal(err.message, "the token expired at 2023-11-14T22:13:20Z");
    assert_string_equal(id.name, "");

    /* nbf = NOW + 100: refused before NOW + 70. */
    c = "{\"sub\":\"u\",\"aud\":[\"x\",\"orch\"],\"exp\":1800000000,\"nbf\":1700000100}";
    assert_int_equal(verify(a, c, NOW + 69, &id, &err), ORCH_UNAUTHENTICATED);
    assert_string_equal(err.reason, "TOKEN_NOT_YET_VALID");
    assert_int_equal(verify(a, c, NOW + 70, &id, &err), ORCH_OK);
    assert_int_equal(id.roles, 0);

    /* A real-valued exp counts; a string exp does not. */
    assert_int_equal(
        verify(a, "{\"sub\":\"u\",\"aud\":\"orch\",\"exp\":1800000000.5}", NOW, &id, &err),
        ORCH_OK);
    assert_int_equal(
        verify(a, "{\"sub\":\"u\",\"aud\":\"orch\",\"exp\":\"1800000000\"}", NOW, &id, &err),
        ORCH_UNAUTHENTICATED);
    assert_string_equal(err.reason, "TOKEN_INVALID");

    /* Audience missing or wrong; subject missing or not a string. */
    assert_int_equal(verify(a, "{\"sub\":\"u\",\"exp\":1800000000}", NOW, &id, &err),
                     ORCH_UNAUTHENTICATED);
    assert_string_equal(err.reason, "TOKEN_WRONG_AUDIENCE");
    assert_int_equal(
        verify(a, "{\"sub\":\"u\",\"aud\":[\"orchx\"],\"exp\":1800000000}", NOW, &id, &err),
        ORCH_UNAUTHENTICATED);
    assert_int_equal(verify(a, "{\"sub\":7,\"aud\":\"orch\",\"exp\":1800000000}", NOW, &id, &err),
                     ORCH_UNAUTHENTICATED);
    assert_string_equal(err.reason, "TOKEN_INVALID");

    /* Roles: a list, unknown names ignored, a single string accepted. */
    assert_int_equal(verify(a,
                            "{\"sub\":\"u\",\"aud\":\"orch\",\"exp\":1800000000,"
                            "\"roles\":[\"root\",\"admin\",3]}",
                            NOW, &id, &err),
                     ORCH_OK);
    /* An admin holds every role, the step workers' too. */
    assert_int_equal(id.roles,
                     SRV_ROLE_ADMIN | SRV_ROLE_OPERATOR | SRV_ROLE_READER | SRV_ROLE_WORKER);
    assert_int_equal(verify(a,
                            "{\"sub\":\"u\",\"aud\":\"orch\",\"exp\":1800000000,"
                            "\"roles\":\"reader\"}",
                            NOW, &id, &err),
                     ORCH_OK);
    assert_int_equal(id.roles, SRV_ROLE_READER);
    /* A worker holds its own role only: it reads nothing else. */
    assert_int_equal(verify(a,
                            "{\"sub\":\"bot\",\"aud\":\"orch\",\"exp\":1800000000,"
                            "\"roles\":\"worker\"}",
                            NOW, &id, &err),
                     ORCH_OK);
    assert_int_equal(id.roles, SRV_ROLE_WORKER);
    srv_auth_free(a);
}

static void headers(void **state)
{
    srv_auth_t *a = make_auth();
    srv_identity_t id;
    orch_error_t err;
    char *h = bearer("{\"sub\":\"u\",\"aud\":\"orch\",\"exp\":1800000000}");
    char buf[2048];
    (void)state;

    const char *missing[] = {NULL, "", "Bearer", "Bearer ", "Bearer    ", "Basic abc"};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        orch_error_init(&err);
        assert_int_equal(srv_auth_verify(a, missing[i], NOW, &id, &err), ORCH_UNAUTHENTICATED);
        assert_string_equal(err.reason, "TOKEN_MISSING");
    }
    /* Scheme in any case, extra spaces around the token. */
    snprintf(buf, sizeof(buf), "bEaReR   %s  ", h + 7);
    orch_error_init(&err);
    assert_int_equal(srv_auth_verify(a, buf, NOW, &id, &err), ORCH_OK);
    /* Control characters and over-long tokens. */
    snprintf(buf, sizeof(buf), "Bearer %s\tx", h + 7);
    assert_int_equal(srv_auth_verify(a, buf, NOW, &id, &err), ORCH_UNAUTHENTICATED);
    {
        char *big = malloc(9000);
        memcpy(big, "Bearer ", 7);
        memset(big + 7, 'a', 8990);
        big[8997] = '\0';
        orch_error_init(&err);
        assert_int_equal(srv_auth_verify(a, big, NOW, &id, &err), ORCH_UNAUTHENTICATED);
        assert_string_equal(err.reason, "TOKEN_INVALID");
        free(big);
    }
    free(h);
    srv_auth_free(a);
}

static void roles_sentences(void **state)
{
    orch_error_t err;
    (void)state;
    orch_error_init(&err);
    assert_int_equal(srv_auth_authorize(SRV_ROLE_READER, SRV_ROLE_READER, "ListProducts", &err),
                     ORCH_OK);
    assert_int_equal(srv_auth_authorize(SRV_METHOD_CALLBACK, 0, "DeliverCallback", &err), ORCH_OK);
    assert_int_equal(srv_auth_authorize(SRV_METHOD_PUBLIC, 0, "Check", &err), ORCH_OK);
    /* No role flag: admin. */
    assert_int_equal(srv_auth_authorize(0, srv_auth_role_bits("operator"), "PauseEngine", &err),
                     ORCH_PERMISSION_DENIED);
    assert_string_equal(err.reason, "MISSING_ROLE");
    assert_string_equal(err.message,
                        "PauseEngine needs the admin role; the token has: operator, reader");
    orch_error_init(&err);
    assert_int_equal(srv_auth_authorize(SRV_ROLE_OPERATOR, 0, "StartProcess", &err),
                     ORCH_PERMISSION_DENIED);
    assert_string_equal(err.message, "StartProcess needs the operator role; the token has: no "
                                     "role");
    assert_int_equal(srv_auth_role_bits("Admin"), 0);
}

/* Roles a workflow or input step requires: built-in ones by bits, own ones by name, admin
 * holds every role, and names are matched whole (no prefixes). */
static void required_roles(void **state)
{
    unsigned op = srv_auth_role_bits("operator"), admin = srv_auth_role_bits("admin");
    (void)state;
    assert_true(srv_auth_has_role(op, "", NULL));
    assert_true(srv_auth_has_role(op, "", ""));
    assert_true(srv_auth_has_role(op, "", "operator"));
    assert_true(srv_auth_has_role(op, "", "reader"));
    assert_false(srv_auth_has_role(op, "", "admin"));
    assert_false(srv_auth_has_role(op, "", "change_manager"));
    assert_true(srv_auth_has_role(op, "noc,change_manager", "change_manager"));
    assert_true(srv_auth_has_role(op, "noc,change_manager", "noc"));
    assert_false(srv_auth_has_role(op, "noc,change_manager", "change"));
    assert_false(srv_auth_has_role(op, "noc,change_manager", "manager"));
    assert_false(srv_auth_has_role(op, "noc2", "noc"));
    assert_true(srv_auth_has_role(admin, "", "change_manager"));
    assert_true(srv_auth_role_name_ok("change_manager"));
    assert_true(srv_auth_role_name_ok("team.noc-1"));
    assert_false(srv_auth_role_name_ok("Change Manager"));
    assert_false(srv_auth_role_name_ok(""));
}

static void bad_configuration(void **state)
{
    srv_auth_t *a = (void *)1;
    orch_error_t err;
    (void)state;
    orch_error_init(&err);
    assert_int_equal(srv_auth_new(&(srv_auth_config_t){.clock_skew_s = -1}, &a, &err),
                     ORCH_INVALID_ARGUMENT);
    assert_null(a);
    orch_error_init(&err);
    /* The secret as a public key: not PEM. */
    assert_int_equal(
        srv_auth_new(&(srv_auth_config_t){.jwt_public_key_file = secret_path}, &a, &err),
        ORCH_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "holds no PEM public key"));
    orch_error_init(&err);
    assert_int_equal(
        srv_auth_new(&(srv_auth_config_t){.api_tokens_file = "/nonexistent"}, &a, &err),
        ORCH_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "cannot be read"));
    /* A well-formed token file, and a token that is not in it. */
    orch_error_init(&err);
    assert_int_equal(srv_auth_new(&(srv_auth_config_t){.api_tokens_file = tokens_path}, &a, &err),
                     ORCH_OK);
    assert_string_equal(srv_auth_describe(a), "1 API token");
    {
        srv_identity_t id;
        assert_int_equal(srv_auth_verify(a, "Bearer machine-token-not", NOW, &id, &err),
                         ORCH_UNAUTHENTICATED);
        assert_string_equal(err.message, "the token is not a known API token");
        assert_int_equal(srv_auth_verify(a, "Bearer machine-token", NOW, &id, &err), ORCH_OK);
        assert_string_equal(id.kind, "api_token");
        assert_string_equal(id.name, "cron job");
        assert_int_equal(id.roles, SRV_ROLE_READER);
    }
    srv_auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(claims_at_fixed_times), cmocka_unit_test(headers),
        cmocka_unit_test(roles_sentences),       cmocka_unit_test(bad_configuration),
        cmocka_unit_test(required_roles),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
