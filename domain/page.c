/* Page tokens: base64url("1|<binding hash>|<position>|<check>"). */
#include "page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

/* A fixed key: every replica must accept every other replica's tokens, and the check only
 * has to catch edits, not forgeries (a forged position reveals nothing the caller could not
 * list anyway). */
static const char token_key[] = "orchestrator.v1/page-token";

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t hash_str(const char *prefix, const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv1a(h, prefix, strlen(prefix));
    h = fnv1a(h, "\0", 1);
    return fnv1a(h, s, n);
}

orch_err_t orch_page_size(int requested, int *out, orch_error_t *err)
{
    *out = ORCH_PAGE_SIZE_DEFAULT;
    if (requested < 0)
        return orch_error_invalid(err, "page_size", "must not be negative (got %d)", requested);
    if (requested > 0)
        *out = requested > ORCH_PAGE_SIZE_MAX ? ORCH_PAGE_SIZE_MAX : requested;
    return ORCH_OK;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64url_encode(const char *in, size_t n)
{
    char *out = orch_malloc(n * 4 / 3 + 4), *o = out;
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned v =
            (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = b64[v >> 6 & 63];
        *o++ = b64[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)in[i + 1] << 8;
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        if (i + 1 < n)
            *o++ = b64[v >> 6 & 63];
    }
    *o = '\0';
    return out;
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

/* Returns NULL on any character outside the alphabet or an impossible length. */
static char *b64url_decode(const char *in, size_t *outlen)
{
    size_t n = strlen(in), o = 0;
    char *out;
    unsigned acc = 0;
    int bits = 0;

    if (n % 4 == 1)
        return NULL;
    out = orch_malloc(n * 3 / 4 + 1);
    for (size_t i = 0; i < n; i++) {
        int v = b64val(in[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)(acc >> bits & 0xff);
        }
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

char *orch_page_token_make(const char *binding, const char *position)
{
    char *payload, *raw, *token;

    payload = orch_asprintf("1|%016llx|%s",
                            (unsigned long long)hash_str("binding", binding ? binding : "",
                                                         binding ? strlen(binding) : 0),
                            position);
    raw = orch_asprintf("%s|%016llx", payload,
                        (unsigned long long)hash_str(token_key, payload, strlen(payload)));
    token = b64url_encode(raw, strlen(raw));
    free(payload);
    free(raw);
    return token;
}

orch_err_t orch_page_token_parse(const char *token, const char *binding, char **position,
                                 orch_error_t *err)
{
    orch_err_t rc = ORCH_OK;
    char *raw = NULL, *end;
    size_t len = 0;
    unsigned long long check, bhash;

    *position = NULL;
    if (!token || !*token)
        return ORCH_OK;
    /* A position may hold a few sort values, a description of 2,000 characters among them
     * (up to 8,000 bytes of UTF-8): room for that, and a bound all the same. */
    if (strlen(token) > 65536)
        return orch_error_invalid(err, "page_token", "is too long to be a page token");
    raw = b64url_decode(token, &len);
    /* Layout: "1|" 16 hex "|" position "|" 16 hex. */
    if (!raw || len < 2 + 16 + 1 + 1 + 16 || memchr(raw, '\0', len) || strncmp(raw, "1|", 2) != 0 ||
        raw[18] != '|' || raw[len - 17] != '|')
        goto bad;
    check = strtoull(raw + len - 16, &end, 16);
    if (*end)
        goto bad;
    if (check != hash_str(token_key, raw, len - 17))
        goto bad;
    raw[18] = '\0';
    bhash = strtoull(raw + 2, &end, 16);
    if (*end)
        goto bad;
    if (bhash != hash_str("binding", binding ? binding : "", binding ? strlen(binding) : 0)) {
        rc = orch_error_invalid(err, "page_token",
                                "was issued for a different filter or order: repeat the request "
                                "with the filter it was made for, or start again without a token");
        goto out;
    }
    raw[len - 17] = '\0';
    *position = orch_strdup(raw + 19);
    goto out;
bad:
    rc = orch_error_invalid(err, "page_token",
                            "is not a token this service issued (malformed or modified): use the "
                            "next_page_token of a previous response unchanged");
out:
    free(raw);
    return rc;
}
