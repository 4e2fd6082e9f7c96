/* A fingerprint of a text: 64-bit FNV-1a. Fast and stable across builds and machines, not
 * cryptographic: it names a version of a workflow's steps (digests), never guards a secret. */
#ifndef ORCH_HASH_H
#define ORCH_HASH_H

#include <stdint.h>

static inline uint64_t orch_fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

#endif
