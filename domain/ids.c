/* UUID checks and generation (libuuid). */
#include "ids.h"

#include <string.h>
#include <uuid/uuid.h>

bool orch_uuid_valid(const char *s)
{
    if (!s || strlen(s) != ORCH_UUID_LEN)
        return false;
    for (int i = 0; i < ORCH_UUID_LEN; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

void orch_uuid_new(char out[ORCH_UUID_LEN + 1])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

orch_err_t orch_uuid_check(const char *s, const char *field, orch_error_t *err)
{
    if (orch_uuid_valid(s))
        return ORCH_OK;
    if (!s || !*s)
        return orch_error_invalid(err, field, "an id is required");
    return orch_error_invalid(err, field,
                              "'%.40s' is not a valid id: expected a lower-case UUID such as "
                              "0b4e6d7c-3f1a-4c2e-9d8b-5a6f7e8d9c0b",
                              s);
}
