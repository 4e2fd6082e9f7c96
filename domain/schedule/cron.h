/* Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in
 * UTC. Our own small parser: Debian ships no C library for it.
 *
 * Each field is a comma-separated list of items; an item is "*", a value, or a range
 * "a-b", optionally followed by "/step" ("*" with a step walks the whole range, a single
 * value with a step walks from it to the field's end, as in Vixie cron). Months and days of
 * the week may be written as names (JAN-DEC, SUN-SAT, any case, also inside ranges);
 * day-of-week 7 is Sunday like 0. When both day-of-month and day-of-week are restricted
 * (neither field starts with "*"), a day matches if EITHER matches (Vixie cron's OR rule);
 * when one of them starts with "*", only the other one restricts. An expression that can
 * never fire (e.g. "0 0 30 2 *") is refused. */
#ifndef ORCH_SCHEDULE_CRON_H
#define ORCH_SCHEDULE_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errors.h"

typedef struct orch_cron {
    uint64_t minutes;          /* bit m: minute m (0-59) */
    uint32_t hours;            /* bit h: hour h (0-23) */
    uint32_t mdays;            /* bit d: day of month d (1-31) */
    uint16_t months;           /* bit m: month m (1-12) */
    uint8_t wdays;             /* bit w: day of week w (0 = Sunday .. 6) */
    bool mday_star, wday_star; /* the field starts with "*" */
} orch_cron_t;

/* Parses expr into *out. INVALID_ARGUMENT, reason INVALID_CRON_EXPRESSION, with one
 * violation on `field` (the request field, e.g. "schedule.cron.expression") whose sentence
 * names the offending cron field (minute, hour, day-of-month, month, day-of-week) and text. */
orch_err_t orch_cron_parse(const char *expr, const char *field, orch_cron_t *out,
                           orch_error_t *err);

/* The first time the expression matches strictly after `after` (seconds since the epoch,
 * UTC), at a whole minute; -1 when there is none within the next 50 years. */
int64_t orch_cron_next(const orch_cron_t *c, int64_t after);

#endif
