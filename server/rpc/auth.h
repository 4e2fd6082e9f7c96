/* Authentication and authorisation of gRPC calls: bearer tokens that are JWTs (HS256 with a
 * shared secret, RS256 or ES256 with a public key; algorithm pinned per key, issuer,
 * audience, expiry and not-before checked here because libjwt 1.10 does not) or static API
 * tokens from a file of SHA-256 hashes, and the roles they carry (admin > operator > reader)
 * compared with a method's SRV_ROLE_* flag. srv_auth_check plugs into srv_config_t.auth. */
#ifndef SRV_AUTH_H
#define SRV_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errors.h"
#include "server/rpc/server.h"

typedef struct srv_auth srv_auth_t;

/* Where the verifiers come from. Every member may be NULL or "" (not configured), but at
 * least one of the three files must be given. Strings are borrowed during srv_auth_new. */
typedef struct srv_auth_config {
    const char *jwt_secret_file;     /* HS256 shared secret (the file's bytes, one trailing
                                        newline dropped; at least 32 bytes) */
    const char *jwt_public_key_file; /* PEM public key: RSA -> RS256, EC P-256 -> ES256 */
    const char *jwt_issuer;          /* if set, the "iss" claim must equal it */
    const char *jwt_audience;        /* if set, "aud" (string or array) must contain it */
    const char *api_tokens_file;     /* lines "sha256-hex role name"; '#' starts a comment */
    int clock_skew_s;                /* leeway for exp and nbf; < 0 means the default, 30 */
} srv_auth_config_t;

/* Reads and checks every configured file. On success *out is the verifier (caller frees
 * with srv_auth_free); otherwise *out is NULL and err says which file is wrong and why
 * (INVALID_ARGUMENT). Thread-safe to use from any number of threads once made. */
orch_err_t srv_auth_new(const srv_auth_config_t *cfg, srv_auth_t **out, orch_error_t *err);
void srv_auth_free(srv_auth_t *auth); /* NULL ok */

/* One line for the start-up log: which verifiers are on ("JWT HS256, JWT RS256 (issuer
 * ...), 3 API tokens"). Static storage inside auth; valid until srv_auth_free. */
const char *srv_auth_describe(const srv_auth_t *auth);

/* Room for a caller's own role names, comma-separated (at most 16 names of 63 bytes). */
#define SRV_AUTH_EXTRA_ROLES_MAX 1024

/* Who a verified token belongs to. */
typedef struct srv_identity {
    char kind[16];  /* "user" (JWT) or "api_token" */
    char name[256]; /* JWT "sub", or the token file's name column */
    unsigned roles; /* SRV_ROLE_* bits, already expanded (admin holds operator and reader) */
    /* Roles of the organisation's own beyond the three ("noc,change_manager"): what a
     * workflow or an input step may require (srv_auth_has_role). "" when none. */
    char extra_roles[SRV_AUTH_EXTRA_ROLES_MAX];
} srv_identity_t;

/* Verifies the value of an "authorization" metadata entry (NULL = absent) at time now_s
 * (Unix seconds). On success fills *id. Otherwise UNAUTHENTICATED with a reason among
 * TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED, TOKEN_NOT_YET_VALID, TOKEN_WRONG_ISSUER,
 * TOKEN_WRONG_AUDIENCE and a sentence for the caller. Never logs the token. */
orch_err_t srv_auth_verify(const srv_auth_t *auth, const char *authorization, int64_t now_s,
                           srv_identity_t *id, orch_error_t *err);

/* Is a caller holding `roles` allowed to call a method with `method_flags`? PUBLIC and
 * CALLBACK methods always are (the callback handler checks its own token); a method without
 * a role flag needs admin. On refusal: PERMISSION_DENIED, reason MISSING_ROLE, naming
 * method (e.g. "UpdateProduct"), the role it needs and the roles held. */
orch_err_t srv_auth_authorize(unsigned method_flags, unsigned roles, const char *method,
                              orch_error_t *err);

/* The srv_auth_fn of srv_config_t: auth_data is a srv_auth_t. Verifies the call's bearer
 * token, records the actor and roles on the call, then authorises the method. */
orch_err_t srv_auth_check(void *auth_data, srv_call_t *call, unsigned method_flags,
                          orch_error_t *err);

/* Keys that can be rotated without a restart: the hook's auth_data is a live holder whose
 * srv_auth_t is replaced by srv_auth_live_reload (SIGHUP re-reads the same files). Calls
 * being checked finish with the keys they started with; a reload that fails (a file
 * missing or wrong) changes nothing and says why. */
typedef struct srv_auth_live srv_auth_live_t;
/* Takes ownership of auth. */
srv_auth_live_t *srv_auth_live_new(srv_auth_t *auth);
void srv_auth_live_free(srv_auth_live_t *l); /* NULL ok */
orch_err_t srv_auth_live_reload(srv_auth_live_t *l, const srv_auth_config_t *cfg,
                                orch_error_t *err);
/* The srv_auth_fn for a live holder (auth_data = the srv_auth_live_t). */
orch_err_t srv_auth_live_check(void *live, srv_call_t *call, unsigned method_flags,
                               orch_error_t *err);

/* The role bits a role name grants ("admin" -> all three), or 0 for an unknown name. */
unsigned srv_auth_role_bits(const char *name);

/* Does a caller with role bits `roles` and own roles `extra` ("a,b") hold role `name`? An
 * admin holds every role; "operator" and "reader" by their bits; any other name only when
 * it is among extra. An empty or NULL name is held by everybody. */
bool srv_auth_has_role(unsigned roles, const char *extra, const char *name);

/* A role name of the organisation's own is 1-63 of [a-z0-9_.-]. */
bool srv_auth_role_name_ok(const char *name);

#endif
