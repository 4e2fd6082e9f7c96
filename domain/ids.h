/* Identifiers: lower-case UUID strings on the wire and in the database. */
#ifndef ORCH_IDS_H
#define ORCH_IDS_H

#include <stdbool.h>

#include "base/errors.h"

#define ORCH_UUID_LEN 36

/* True for exactly 8-4-4-4-12 lower-case hex digits. */
bool orch_uuid_valid(const char *s);

/* Writes a new random UUID (37 bytes with the NUL) into out. */
void orch_uuid_new(char out[ORCH_UUID_LEN + 1]);

/* INVALID_ARGUMENT naming field unless s is a valid id. */
orch_err_t orch_uuid_check(const char *s, const char *field, orch_error_t *err);

#endif
