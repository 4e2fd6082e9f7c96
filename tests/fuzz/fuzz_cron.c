/* libFuzzer target: cron expressions of schedules (the client's text) through
 * orch_cron_parse and, when accepted, orch_cron_next from a few instants.
 *
 * Invariants beyond "no crash, no leak, no UB": refusals are INVALID_ARGUMENT with one
 * violation on the request field; an accepted expression fires within 50 years (the parser
 * refuses what never fires) at a whole minute strictly after the instant, on a minute that
 * matches every field, and no minute in between matches (checked when the gap is short). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/schedule/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELD "schedule.cron.expression"

/* Does minute t (seconds since the epoch, UTC) match c? Written from cron.h, independently
 * of cron.c. */
static bool matches(const orch_cron_t *c, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    bool md, wd;
    gmtime_r(&tt, &tm);
    if (!(c->minutes >> tm.tm_min & 1) || !(c->hours >> tm.tm_hour & 1) ||
        !(c->months >> (tm.tm_mon + 1) & 1))
        return false;
    md = c->mdays >> tm.tm_mday & 1;
    wd = c->wdays >> tm.tm_wday & 1;
    if (c->mday_star || c->wday_star)
        return md && wd;
    return md || wd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 2026-01-01 00:00:00, 2028-02-28 23:59:30 (a leap day next), and 2099-12-31 23:59:59. */
    static const int64_t afters[] = {1767225600, 1835395170, 4102444799};
    char *text = malloc(size + 1);
    orch_cron_t c;
    orch_error_t err;
    orch_err_t rc;

    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    orch_error_init(&err);
    rc = orch_cron_parse(text, FIELD, &c, &err);
    if (rc) {
        if (rc != ORCH_INVALID_ARGUMENT || err.nviolations != 1 ||
            strcmp(err.violations[0].field, FIELD) != 0 || !err.message[0]) {
            fprintf(stderr, "fuzz_cron: refused with %d (%s)\n", rc, err.message);
            abort();
        }
        goto out;
    }
    for (size_t i = 0; i < sizeof(afters) / sizeof(afters[0]); i++) {
        int64_t after = afters[i], next = orch_cron_next(&c, after);
        if (next == -1) {
            fprintf(stderr, "fuzz_cron: '%s' was accepted but never fires after %lld\n", text,
                    (long long)after);
            abort();
        }
        if (next <= after || next % 60 != 0 || !matches(&c, next)) {
            fprintf(stderr, "fuzz_cron: '%s' after %lld gives %lld\n", text, (long long)after,
                    (long long)next);
            abort();
        }
        for (int64_t t = (after / 60 + 1) * 60; t < next && next - after <= 6 * 3600; t += 60)
            if (matches(&c, t)) {
                fprintf(stderr, "fuzz_cron: '%s' after %lld skips %lld\n", text, (long long)after,
                        (long long)t);
                abort();
            }
    }
out:
    free(text);
    return 0;
}
