/* Hashes of texts, not cryptographic: never to guard a secret.
 * - orch_fnv1a: a fingerprint, 64-bit FNV-1a, stable across builds and machines: it names a
 *   version of a workflow's steps (digests, stored).
 * - orch_hash_text: a key for in-memory tables of long texts, eight bytes a step, several
 *   times faster than FNV's byte loop (the prepared-statement cache hashes kilobytes of SQL on
 *   every call); its values are never stored, and never 0 (a table's empty slot). */
#ifndef ORCH_HASH_H
#define ORCH_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t orch_fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static inline uint64_t orch_hash_text(const char *s)
{
    size_t n = strlen(s);
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    return h ? h : 1;
}

#endif
