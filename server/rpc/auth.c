/* Bearer-token verification and role checks for every non-public RPC.
 *
 * libjwt 1.10 verifies signatures and nothing else: it takes the algorithm from the token's
 * own header, so with an RSA public key as the "key" an HS256 token HMAC'd with that public
 * key (which is public) verifies. Each configured key therefore carries the one algorithm it
 * is for, and a token is accepted only if jwt_get_alg() equals it. Issuer, audience, expiry
 * and not-before are read from the claims with jansson and checked here. API tokens are
 * kept only as SHA-256 hashes and compared in constant time against every entry. */
#include "server/rpc/auth.h"

#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "base/alloc.h"
#include "base/log.h"

#define AUTH_FILE_MAX (1024 * 1024) /* no key or token file is larger */
#define AUTH_TOKEN_MAX 8192         /* longest bearer token looked at */
#define AUTH_MIN_SECRET 32          /* HS256 secret: at least the hash size (RFC 7518 3.2) */
#define AUTH_DEFAULT_SKEW 30
#define AUTH_MAX_KEYS 2

typedef struct jwt_key {
    jwt_alg_t alg; /* the only algorithm this key verifies */
    unsigned char *key;
    int len;
} jwt_key_t;

typedef struct api_token {
    unsigned char hash[32];
    unsigned roles;
    char extra_roles[SRV_AUTH_EXTRA_ROLES_MAX]; /* own roles, "a,b" */
    char name[256];
} api_token_t;

struct srv_auth {
    jwt_key_t keys[AUTH_MAX_KEYS];
    size_t nkeys;
    char *issuer, *audience; /* NULL: not checked */
    api_token_t *tokens;
    size_t ntokens;
    int skew;
    char desc[512];
};

/* ---- roles ---------------------------------------------------------------------------- */

unsigned srv_auth_role_bits(const char *name)
{
    if (!name)
        return 0;
    /* An admin holds every role, the worker role too (tasks carry state and secrets that
     * an admin may read anyway). A worker holds only its own: it reads nothing else. */
    if (strcmp(name, "admin") == 0)
        return SRV_ROLE_ADMIN | SRV_ROLE_OPERATOR | SRV_ROLE_READER | SRV_ROLE_WORKER;
    if (strcmp(name, "worker") == 0)
        return SRV_ROLE_WORKER;
    if (strcmp(name, "operator") == 0)
        return SRV_ROLE_OPERATOR | SRV_ROLE_READER;
    if (strcmp(name, "reader") == 0)
        return SRV_ROLE_READER;
    return 0;
}

bool srv_auth_role_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_' || name[i] == '.' || name[i] == '-'))
            return false;
    return true;
}

bool srv_auth_has_role(unsigned roles, const char *extra, const char *name)
{
    size_t n;
    if (!name || !*name || (roles & SRV_ROLE_ADMIN))
        return true;
    if (srv_auth_role_bits(name))
        return (roles & srv_auth_role_bits(name)) == srv_auth_role_bits(name);
    n = strlen(name);
    for (const char *p = extra; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p = end ? end + 1 : p + len;
    }
    return false;
}

/* Adds one role name to bits or (an own role) to extra; false when it is neither a built-in
 * role nor a well-formed name, or extra is full. */
static bool add_role(const char *name, unsigned *bits, char *extra)
{
    size_t have = strlen(extra);
    if (srv_auth_role_bits(name)) {
        *bits |= srv_auth_role_bits(name);
        return true;
    }
    if (!srv_auth_role_name_ok(name) || srv_auth_has_role(0, extra, name))
        return srv_auth_role_name_ok(name);
    if (have + strlen(name) + 2 > SRV_AUTH_EXTRA_ROLES_MAX)
        return false;
    snprintf(extra + have, SRV_AUTH_EXTRA_ROLES_MAX - have, "%s%s", have ? "," : "", name);
    return true;
}

/* The role a method needs: the highest of its flags, admin when it has none (fail closed). */
static unsigned needed_role(unsigned flags)
{
    if (flags & SRV_ROLE_WORKER)
        return SRV_ROLE_WORKER;
    if (flags & SRV_ROLE_ADMIN)
        return SRV_ROLE_ADMIN;
    if (flags & SRV_ROLE_OPERATOR)
        return SRV_ROLE_OPERATOR;
    if (flags & SRV_ROLE_READER)
        return SRV_ROLE_READER;
    return SRV_ROLE_ADMIN;
}

static const char *role_name(unsigned bit)
{
    return bit == SRV_ROLE_WORKER     ? "worker"
           : bit == SRV_ROLE_ADMIN    ? "admin"
           : bit == SRV_ROLE_OPERATOR ? "operator"
                                      : "reader";
}

orch_err_t srv_auth_authorize(unsigned method_flags, unsigned roles, const char *method,
                              orch_error_t *err)
{
    unsigned need;
    char held[64] = "";

    if (method_flags & (SRV_METHOD_PUBLIC | SRV_METHOD_CALLBACK))
        return ORCH_OK;
    need = needed_role(method_flags);
    if (roles & need)
        return ORCH_OK;
    for (unsigned bit = SRV_ROLE_ADMIN; bit >= SRV_ROLE_READER; bit >>= 1)
        if (roles & bit)
            snprintf(held + strlen(held), sizeof(held) - strlen(held), "%s%s", held[0] ? ", " : "",
                     role_name(bit));
    if ((roles & SRV_ROLE_WORKER) && !(roles & SRV_ROLE_ADMIN))
        snprintf(held + strlen(held), sizeof(held) - strlen(held), "%s%s", held[0] ? ", " : "",
                 "worker");
    return orch_error_set(err, ORCH_PERMISSION_DENIED, "MISSING_ROLE",
                          "%s needs the %s role; the token has: %s", method ? method : "this call",
                          role_name(need), held[0] ? held : "no role");
}

/* ---- files ---------------------------------------------------------------------------- */

/* Reads a whole file (at most AUTH_FILE_MAX bytes) into a NUL-terminated buffer the caller
 * frees. what names the option for the error sentence. */
static orch_err_t read_file(const char *path, const char *what, unsigned char **out, size_t *len,
                            orch_error_t *err)
{
    FILE *f = NULL;
    unsigned char *buf = NULL;
    size_t n = 0, got;
    orch_err_t rc = ORCH_OK;

    *out = NULL;
    *len = 0;
    f = fopen(path, "rb");
    if (!f) {
        rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL, "%s %s cannot be read: %s", what,
                            path, strerror(errno));
        goto out;
    }
    buf = orch_malloc(AUTH_FILE_MAX + 1);
    while ((got = fread(buf + n, 1, AUTH_FILE_MAX + 1 - n, f)) > 0 && n < AUTH_FILE_MAX + 1)
        n += got;
    if (ferror(f) || n > AUTH_FILE_MAX) {
        rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                            "%s %s is unreadable or larger "
                            "than %d bytes",
                            what, path, AUTH_FILE_MAX);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    if (f)
        fclose(f);
    if (buf) {
        OPENSSL_cleanse(buf, AUTH_FILE_MAX + 1);
        free(buf);
    }
    return rc;
}

/* A secret readable by group or others deserves a warning, not a refusal (containers often
 * mount secrets 0644). */
static void warn_if_shared(const char *path, const char *what)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        orch_warn("auth", "%s %s is readable by group or others (mode %03o): make it 0600", what,
                  path, (unsigned)(st.st_mode & 0777));
}

static orch_err_t load_secret(srv_auth_t *a, const char *path, orch_error_t *err)
{
    unsigned char *buf;
    size_t len;
    orch_err_t rc = read_file(path, "--jwt-secret-file", &buf, &len, err);
    if (rc)
        return rc;
    /* One trailing newline is an editor's, not part of the secret. */
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    if (len < AUTH_MIN_SECRET) {
        OPENSSL_cleanse(buf, len);
        free(buf);
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                              "--jwt-secret-file %s holds %zu bytes; an HS256 secret needs at "
                              "least %d",
                              path, len, AUTH_MIN_SECRET);
    }
    warn_if_shared(path, "--jwt-secret-file");
    a->keys[a->nkeys].alg = JWT_ALG_HS256;
    a->keys[a->nkeys].key = buf;
    a->keys[a->nkeys].len = (int)len;
    a->nkeys++;
    return ORCH_OK;
}

/* The algorithm a public key is for follows from the key itself: RSA (2048 bits or more)
 * is RS256, EC on P-256 is ES256. Anything else is refused at start-up. */
static orch_err_t load_public_key(srv_auth_t *a, const char *path, orch_error_t *err)
{
    unsigned char *buf;
    size_t len;
    BIO *bio = NULL;
    EVP_PKEY *pk = NULL;
    jwt_alg_t alg = JWT_ALG_INVAL;
    orch_err_t rc = read_file(path, "--jwt-public-key-file", &buf, &len, err);
    char group[64] = "";

    if (rc)
        return rc;
    bio = BIO_new_mem_buf(buf, (int)len);
    pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    if (!pk) {
        rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                            "--jwt-public-key-file %s holds no PEM public key (\"-----BEGIN "
                            "PUBLIC KEY-----\")",
                            path);
        goto out;
    }
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_RSA:
        if (EVP_PKEY_get_bits(pk) < 2048) {
            rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                                "--jwt-public-key-file %s: an RSA key of %d bits is too weak "
                                "(2048 at least)",
                                path, EVP_PKEY_get_bits(pk));
            goto out;
        }
        alg = JWT_ALG_RS256;
        break;
    case EVP_PKEY_EC:
        EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL);
        if (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0) {
            rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                                "--jwt-public-key-file %s: EC curve %s is not P-256 (ES256)", path,
                                group[0] ? group : "unknown");
            goto out;
        }
        alg = JWT_ALG_ES256;
        break;
    default:
        rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                            "--jwt-public-key-file %s: only RSA (RS256) and EC P-256 (ES256) "
                            "keys are supported",
                            path);
        goto out;
    }
    a->keys[a->nkeys].alg = alg;
    a->keys[a->nkeys].key = buf;
    a->keys[a->nkeys].len = (int)len;
    a->nkeys++;
    buf = NULL;
out:
    EVP_PKEY_free(pk);
    BIO_free(bio);
    free(buf);
    return rc;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One line of the API token file: "sha256-hex role name". */
static orch_err_t parse_token_line(char *line, const char *path, int lineno, api_token_t *t,
                                   orch_error_t *err)
{
    char *hex, *role, *name, *save = NULL, *end;

    hex = strtok_r(line, " \t", &save);
    role = strtok_r(NULL, " \t", &save);
    name = strtok_r(NULL, "", &save);
    while (name && (*name == ' ' || *name == '\t'))
        name++;
    if (name) {
        end = name + strlen(name);
        while (end > name && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
    }
    if (!hex || !role || !name || !*name)
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                              "--api-tokens-file %s line %d: expected \"sha256-hex role name\"",
                              path, lineno);
    if (strlen(hex) != 64)
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                              "--api-tokens-file %s line %d: the hash must be 64 hex digits "
                              "(sha256sum of the token)",
                              path, lineno);
    for (int i = 0; i < 32; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                                  "--api-tokens-file %s line %d: the hash is not hexadecimal", path,
                                  lineno);
        t->hash[i] = (unsigned char)(hi << 4 | lo);
    }
    /* The role column: one built-in role at least, then any own roles, comma-separated
     * ("operator,change_manager"). Requiring a built-in one keeps a typo in the only role
     * from passing as an own role. */
    t->roles = 0;
    t->extra_roles[0] = '\0';
    {
        char *rsave = NULL;
        for (char *r = strtok_r(role, ",", &rsave); r; r = strtok_r(NULL, ",", &rsave))
            if (!add_role(r, &t->roles, t->extra_roles))
                return orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                                      "--api-tokens-file %s line %d: role '%s' is not a role "
                                      "name (1-63 of a-z 0-9 _ . -)",
                                      path, lineno, r);
    }
    if (!t->roles)
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                              "--api-tokens-file %s line %d: the roles '%s' hold none of admin, "
                              "operator, reader or worker",
                              path, lineno, role);
    if (strlen(name) >= sizeof(t->name))
        return orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                              "--api-tokens-file %s line %d: the name is longer than %zu bytes",
                              path, lineno, sizeof(t->name) - 1);
    snprintf(t->name, sizeof(t->name), "%s", name);
    return ORCH_OK;
}

static orch_err_t load_api_tokens(srv_auth_t *a, const char *path, orch_error_t *err)
{
    unsigned char *buf;
    size_t len, cap = 0;
    char *line, *save = NULL;
    int lineno = 0;
    orch_err_t rc = read_file(path, "--api-tokens-file", &buf, &len, err);

    if (rc)
        return rc;
    /* strtok_r would skip empty lines and so miscount: split by hand. */
    for (line = (char *)buf; line && *line; line = save) {
        char *nl = strchr(line, '\n'), *p;
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        lineno++;
        if ((p = strchr(line, '\r')) != NULL)
            *p = '\0';
        if ((p = strchr(line, '#')) != NULL)
            *p = '\0';
        p = line + strspn(line, " \t");
        if (!*p)
            continue;
        if (a->ntokens == cap) {
            cap = cap ? cap * 2 : 8;
            a->tokens = orch_realloc(a->tokens, cap * sizeof(*a->tokens));
        }
        rc = parse_token_line(p, path, lineno, &a->tokens[a->ntokens], err);
        if (rc)
            goto out;
        a->ntokens++;
    }
    if (a->ntokens == 0)
        rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL, "--api-tokens-file %s holds no token",
                            path);
out:
    free(buf);
    return rc;
}

static bool set(const char *s)
{
    return s && *s;
}

orch_err_t srv_auth_new(const srv_auth_config_t *cfg, srv_auth_t **out, orch_error_t *err)
{
    srv_auth_t *a = orch_calloc(1, sizeof(*a));
    orch_err_t rc = ORCH_OK;
    size_t n;

    *out = NULL;
    a->skew = cfg->clock_skew_s < 0 ? AUTH_DEFAULT_SKEW : cfg->clock_skew_s;
    if (!set(cfg->jwt_secret_file) && !set(cfg->jwt_public_key_file) &&
        !set(cfg->api_tokens_file)) {
        rc = orch_error_set(err, ORCH_INVALID_ARGUMENT, NULL,
                            "authentication needs --jwt-secret-file, --jwt-public-key-file or "
                            "--api-tokens-file");
        goto out;
    }
    if (set(cfg->jwt_secret_file) && (rc = load_secret(a, cfg->jwt_secret_file, err)))
        goto out;
    if (set(cfg->jwt_public_key_file) && (rc = load_public_key(a, cfg->jwt_public_key_file, err)))
        goto out;
    if (set(cfg->api_tokens_file) && (rc = load_api_tokens(a, cfg->api_tokens_file, err)))
        goto out;
    a->issuer = set(cfg->jwt_issuer) ? orch_strdup(cfg->jwt_issuer) : NULL;
    a->audience = set(cfg->jwt_audience) ? orch_strdup(cfg->jwt_audience) : NULL;

    for (size_t i = 0; i < a->nkeys; i++) {
        n = strlen(a->desc);
        snprintf(a->desc + n, sizeof(a->desc) - n, "%sJWT %s", n ? ", " : "",
                 jwt_alg_str(a->keys[i].alg));
    }
    if (a->nkeys) {
        n = strlen(a->desc);
        snprintf(a->desc + n, sizeof(a->desc) - n, " (issuer %s, audience %s, skew %d s)",
                 a->issuer ? a->issuer : "any", a->audience ? a->audience : "any", a->skew);
    }
    if (a->ntokens) {
        n = strlen(a->desc);
        snprintf(a->desc + n, sizeof(a->desc) - n, "%s%zu API token%s", n ? ", " : "", a->ntokens,
                 a->ntokens == 1 ? "" : "s");
    }
    *out = a;
    a = NULL;
out:
    srv_auth_free(a);
    return rc;
}

void srv_auth_free(srv_auth_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nkeys; i++) {
        OPENSSL_cleanse(a->keys[i].key, (size_t)a->keys[i].len);
        free(a->keys[i].key);
    }
    free(a->tokens);
    free(a->issuer);
    free(a->audience);
    free(a);
}

const char *srv_auth_describe(const srv_auth_t *a)
{
    return a->desc;
}

/* ---- verification --------------------------------------------------------------------- */

static void fmt_time(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, cap, "%lld", (long long)t);
}

static orch_err_t unauthenticated(orch_error_t *err, const char *reason, const char *msg)
{
    return orch_error_set(err, ORCH_UNAUTHENTICATED, reason, "%s", msg);
}

/* A JSON NumericDate: integer or real seconds. false if absent or not a number. */
static bool claim_time(json_t *claims, const char *name, int64_t *out)
{
    json_t *v = json_object_get(claims, name);
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v) && json_real_value(v) > -9e15 && json_real_value(v) < 9e15) {
        *out = (int64_t)json_real_value(v);
        return true;
    }
    return false;
}

static bool audience_matches(json_t *aud, const char *want)
{
    size_t i;
    json_t *v;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return true;
    }
    return false;
}

/* The "roles" claim (a string or a list of strings): built-in roles as bits, well-formed
 * other names as own roles; anything else is ignored (grants nothing). */
static unsigned claim_roles(json_t *claims, char *extra)
{
    json_t *roles = json_object_get(claims, "roles"), *v;
    unsigned bits = 0;
    size_t i;
    extra[0] = '\0';
    if (json_is_string(roles))
        add_role(json_string_value(roles), &bits, extra);
    json_array_foreach(roles, i, v)
    {
        if (json_is_string(v))
            add_role(json_string_value(v), &bits, extra);
    }
    return bits;
}

/* The claims every accepted JWT must satisfy, then the identity they name. */
static orch_err_t check_claims(const srv_auth_t *a, json_t *claims, int64_t now, srv_identity_t *id,
                               orch_error_t *err)
{
    int64_t exp, nbf;
    char when[64];
    json_t *sub = json_object_get(claims, "sub"), *iss = json_object_get(claims, "iss");

    /* A token that never expires is a password that cannot be rotated: refuse it. */
    if (!claim_time(claims, "exp", &exp))
        return unauthenticated(err, "TOKEN_INVALID", "the token has no expiry (\"exp\" claim)");
    if (now >= exp + a->skew) {
        fmt_time(exp, when, sizeof(when));
        return orch_error_set(err, ORCH_UNAUTHENTICATED, "TOKEN_EXPIRED", "the token expired at %s",
                              when);
    }
    if (claim_time(claims, "nbf", &nbf) && now + a->skew < nbf) {
        fmt_time(nbf, when, sizeof(when));
        return orch_error_set(err, ORCH_UNAUTHENTICATED, "TOKEN_NOT_YET_VALID",
                              "the token is not valid before %s", when);
    }
    if (a->issuer && (!json_is_string(iss) || strcmp(json_string_value(iss), a->issuer) != 0))
        return orch_error_set(err, ORCH_UNAUTHENTICATED, "TOKEN_WRONG_ISSUER",
                              "wrong issuer: this server accepts tokens issued by %s", a->issuer);
    if (a->audience && !audience_matches(json_object_get(claims, "aud"), a->audience))
        return orch_error_set(err, ORCH_UNAUTHENTICATED, "TOKEN_WRONG_AUDIENCE",
                              "wrong audience: the token is not meant for %s", a->audience);
    if (!json_is_string(sub) || !*json_string_value(sub) ||
        strlen(json_string_value(sub)) >= sizeof(id->name))
        return unauthenticated(err, "TOKEN_INVALID",
                               "the token names no subject (\"sub\" claim, 1 to 255 bytes)");
    snprintf(id->kind, sizeof(id->kind), "user");
    snprintf(id->name, sizeof(id->name), "%s", json_string_value(sub));
    id->roles = claim_roles(claims, id->extra_roles);
    return ORCH_OK;
}

static orch_err_t verify_jwt(const srv_auth_t *a, const char *token, int64_t now,
                             srv_identity_t *id, orch_error_t *err)
{
    jwt_t *jwt = NULL;
    jwt_alg_t mismatch = JWT_ALG_NONE;
    const jwt_key_t *used = NULL;
    char *claims_json = NULL;
    json_t *claims = NULL;
    orch_err_t rc;

    for (size_t i = 0; i < a->nkeys && !used; i++) {
        jwt_t *j = NULL;
        if (jwt_decode(&j, token, a->keys[i].key, a->keys[i].len) != 0 || !j) {
            jwt_free(j);
            continue;
        }
        /* The pin: the signature verified, but with the algorithm the token chose. */
        if (jwt_get_alg(j) == a->keys[i].alg) {
            jwt = j;
            used = &a->keys[i];
        } else {
            mismatch = jwt_get_alg(j);
            jwt_free(j);
        }
    }
    if (!used) {
        if (mismatch != JWT_ALG_NONE) {
            char accepted[64] = "";
            for (size_t i = 0; i < a->nkeys; i++)
                snprintf(accepted + strlen(accepted), sizeof(accepted) - strlen(accepted), "%s%s",
                         i ? ", " : "", jwt_alg_str(a->keys[i].alg));
            rc = orch_error_set(err, ORCH_UNAUTHENTICATED, "TOKEN_INVALID",
                                "the token is signed with %s; this server accepts %s",
                                jwt_alg_str(mismatch), accepted);
        } else {
            rc = unauthenticated(err, "TOKEN_INVALID",
                                 "the token is not a JWT whose signature this server can "
                                 "verify");
        }
        goto out;
    }
    claims_json = jwt_get_grants_json(jwt, NULL);
    claims = claims_json ? json_loads(claims_json, 0, NULL) : NULL;
    if (!json_is_object(claims)) {
        rc = unauthenticated(err, "TOKEN_INVALID", "the token's claims are not a JSON object");
        goto out;
    }
    rc = check_claims(a, claims, now, id, err);
out:
    json_decref(claims);
    free(claims_json);
    jwt_free(jwt);
    return rc;
}

/* Compares the token's hash with every entry, never stopping early, so that the time taken
 * says nothing about which entry (or how much of one) matched. */
static const api_token_t *find_api_token(const srv_auth_t *a, const char *token)
{
    unsigned char hash[32];
    unsigned int hlen = 0;
    const api_token_t *found = NULL;

    EVP_Digest(token, strlen(token), hash, &hlen, EVP_sha256(), NULL);
    for (size_t i = 0; i < a->ntokens; i++) {
        bool eq = CRYPTO_memcmp(hash, a->tokens[i].hash, sizeof(hash)) == 0;
        if (eq && !found)
            found = &a->tokens[i];
    }
    return found;
}

orch_err_t srv_auth_verify(const srv_auth_t *a, const char *authorization, int64_t now_s,
                           srv_identity_t *id, orch_error_t *err)
{
    const char *token;
    const api_token_t *t;
    size_t len, dots = 0;

    memset(id, 0, sizeof(*id));
    if (!authorization || !*authorization)
        return unauthenticated(err, "TOKEN_MISSING",
                               "this call needs an \"authorization: Bearer <token>\" header");
    /* RFC 6750: the scheme is case-insensitive, then one or more spaces. */
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return unauthenticated(err, "TOKEN_MISSING",
                               "the authorization header must read \"Bearer <token>\"");
    token = authorization + 7;
    while (*token == ' ')
        token++;
    len = strlen(token);
    while (len > 0 && token[len - 1] == ' ')
        len--;
    if (len == 0)
        return unauthenticated(err, "TOKEN_MISSING", "the authorization header has no token");
    if (len > AUTH_TOKEN_MAX)
        return unauthenticated(err, "TOKEN_INVALID", "the token is longer than 8192 bytes");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)token[i];
        if (c <= ' ' || c >= 0x7f)
            return unauthenticated(err, "TOKEN_INVALID",
                                   "the token holds a character a token cannot hold");
        dots += c == '.';
    }
    {
        char tok[AUTH_TOKEN_MAX + 1];
        orch_err_t rc;
        memcpy(tok, token, len);
        tok[len] = '\0';
        if (a->ntokens && (t = find_api_token(a, tok)) != NULL) {
            snprintf(id->kind, sizeof(id->kind), "api_token");
            snprintf(id->name, sizeof(id->name), "%s", t->name);
            id->roles = t->roles;
            snprintf(id->extra_roles, sizeof(id->extra_roles), "%s", t->extra_roles);
            OPENSSL_cleanse(tok, len);
            return ORCH_OK;
        }
        if (a->nkeys && dots == 2)
            rc = verify_jwt(a, tok, now_s, id, err);
        else
            rc = unauthenticated(err, "TOKEN_INVALID",
                                 a->nkeys ? "the token is neither a JWT nor a known API token"
                                          : "the token is not a known API token");
        OPENSSL_cleanse(tok, len);
        if (rc)
            memset(id, 0, sizeof(*id));
        return rc;
    }
}

orch_err_t srv_auth_check(void *auth_data, srv_call_t *call, unsigned method_flags,
                          orch_error_t *err)
{
    const srv_auth_t *a = auth_data;
    const ProtobufCMethodDescriptor *md = srv_call_method(call);
    srv_identity_t id;
    orch_err_t rc;

    rc =
        srv_auth_verify(a, srv_call_metadata(call, "authorization"), (int64_t)time(NULL), &id, err);
    if (rc) {
        orch_info("auth", "%s from %s: %s (%s)", srv_call_path(call), srv_call_actor_name(call),
                  err->reason, err->message);
        return rc;
    }
    srv_call_set_actor(call, id.kind, id.name);
    srv_call_set_roles(call, id.roles);
    srv_call_set_extra_roles(call, id.extra_roles);
    rc = srv_auth_authorize(method_flags, id.roles, md ? md->name : srv_call_path(call), err);
    if (rc)
        orch_info("auth", "%s by %s %s: %s", srv_call_path(call), id.kind, id.name, err->message);
    return rc;
}

/* ---- rotation -------------------------------------------------------------------------- */

struct srv_auth_live {
    pthread_rwlock_t lock; /* readers: calls being checked; writer: a reload's swap */
    srv_auth_t *cur;       /* owned */
};

srv_auth_live_t *srv_auth_live_new(srv_auth_t *auth)
{
    srv_auth_live_t *l = orch_calloc(1, sizeof(*l));
    pthread_rwlock_init(&l->lock, NULL);
    l->cur = auth;
    return l;
}

void srv_auth_live_free(srv_auth_live_t *l)
{
    if (!l)
        return;
    srv_auth_free(l->cur);
    pthread_rwlock_destroy(&l->lock);
    free(l);
}

orch_err_t srv_auth_live_reload(srv_auth_live_t *l, const srv_auth_config_t *cfg, orch_error_t *err)
{
    srv_auth_t *fresh = NULL, *old;
    /* Read and check everything first: a bad file leaves the running keys alone. */
    orch_err_t rc = srv_auth_new(cfg, &fresh, err);
    if (rc)
        return rc;
    pthread_rwlock_wrlock(&l->lock);
    old = l->cur;
    l->cur = fresh;
    pthread_rwlock_unlock(&l->lock);
    orch_info("auth", "keys reloaded: %s", srv_auth_describe(fresh));
    srv_auth_free(old); /* no reader holds it: they hold the lock while they use it */
    return ORCH_OK;
}

orch_err_t srv_auth_live_check(void *live, srv_call_t *call, unsigned method_flags,
                               orch_error_t *err)
{
    srv_auth_live_t *l = live;
    orch_err_t rc;
    pthread_rwlock_rdlock(&l->lock);
    rc = srv_auth_check(l->cur, call, method_flags, err);
    pthread_rwlock_unlock(&l->lock);
    return rc;
}
