/* The five-field cron parser: ranges, lists, steps, names, the day-of-month / day-of-week OR
 * rule, next-fire computation (checked against a brute-force minute walk with gmtime_r), the
 * refusal of bad expressions naming the offending field, and a small fuzz. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "domain/schedule/cron.h"

#define FIELD "schedule.cron.expression"

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t)timegm(&tm);
}

static orch_cron_t parse_ok(const char *expr)
{
    orch_cron_t c;
    orch_error_t err;
    orch_error_init(&err);
    if (orch_cron_parse(expr, FIELD, &c, &err) != ORCH_OK)
        fail_msg("'%s' refused: %s", expr, err.message);
    return c;
}

static int64_t next(const char *expr, int64_t after)
{
    orch_cron_t c = parse_ok(expr);
    return orch_cron_next(&c, after);
}

static void every_minute_and_daily(void **state)
{
    int64_t t = utc(2024, 1, 1, 0, 0);
    (void)state;
    assert_int_equal(next("* * * * *", t), t + 60);
    assert_int_equal(next("* * * * *", t + 1), t + 60);
    assert_int_equal(next("* * * * *", t - 1), t);
    assert_int_equal(next("0 3 * * *", t), utc(2024, 1, 1, 3, 0));
    assert_int_equal(next("0 3 * * *", utc(2024, 1, 1, 3, 0)), utc(2024, 1, 2, 3, 0));
    /* Across a year end, with tabs and extra blanks. */
    assert_int_equal(next("  59\t23 31 12 *  ", utc(2024, 6, 1, 0, 0)), utc(2024, 12, 31, 23, 59));
    assert_int_equal(next("0 0 1 1 *", utc(2024, 12, 31, 23, 59)), utc(2025, 1, 1, 0, 0));
}

static void ranges_lists_steps(void **state)
{
    orch_cron_t c = parse_ok("5,10-14/2,*/20 * * * *");
    (void)state;
    /* 0, 5, 10, 12, 14, 20, 40 */
    assert_int_equal(c.minutes, (1ULL << 0) | (1ULL << 5) | (1ULL << 10) | (1ULL << 12) |
                                    (1ULL << 14) | (1ULL << 20) | (1ULL << 40));
    c = parse_ok("0 9-17/4 * * *");
    assert_int_equal(c.hours, (1u << 9) | (1u << 13) | (1u << 17));
    /* "a/step" runs from a to the end of the field. */
    c = parse_ok("50/3 * * * *");
    assert_int_equal(c.minutes, (1ULL << 50) | (1ULL << 53) | (1ULL << 56) | (1ULL << 59));
    /* Business hours every quarter, on weekdays. Sat 2024-06-01 -> Mon 09:00. */
    assert_int_equal(next("*/15 9-17 * * MON-FRI", utc(2024, 6, 1, 12, 0)), utc(2024, 6, 3, 9, 0));
    assert_int_equal(next("*/15 9-17 * * MON-FRI", utc(2024, 6, 3, 17, 45)), utc(2024, 6, 4, 9, 0));
    assert_int_equal(next("*/15 9-17 * * MON-FRI", utc(2024, 6, 3, 9, 7)), utc(2024, 6, 3, 9, 15));
}

static void names(void **state)
{
    orch_cron_t c = parse_ok("0 0 1 jan,Jul *");
    (void)state;
    assert_int_equal(c.months, (1u << 1) | (1u << 7));
    c = parse_ok("0 0 * * sun,7,Sat");
    assert_int_equal(c.wdays, (1u << 0) | (1u << 6));
    c = parse_ok("0 0 * * 5-7");
    assert_int_equal(c.wdays, (1u << 5) | (1u << 6) | (1u << 0));
    assert_int_equal(next("0 0 1 jan,Jul *", utc(2024, 2, 1, 0, 0)), utc(2024, 7, 1, 0, 0));
    /* Sunday as 0 and as 7: 2024-06-02 was a Sunday. */
    assert_int_equal(next("30 6 * * 7", utc(2024, 6, 1, 0, 0)), utc(2024, 6, 2, 6, 30));
    assert_int_equal(next("30 6 * * 0", utc(2024, 6, 1, 0, 0)), utc(2024, 6, 2, 6, 30));
}

static void day_of_month_or_day_of_week(void **state)
{
    int64_t t = utc(2024, 10, 1, 0, 0); /* a Tuesday */
    (void)state;
    /* Both restricted: the 13th OR any Friday. */
    assert_int_equal(next("0 0 13 * FRI", t), utc(2024, 10, 4, 0, 0));
    assert_int_equal(next("0 0 13 * FRI", utc(2024, 10, 4, 0, 0)), utc(2024, 10, 11, 0, 0));
    assert_int_equal(next("0 0 13 * FRI", utc(2024, 10, 11, 0, 0)), utc(2024, 10, 13, 0, 0));
    /* One field starts with "*": both must match (odd days that are Mondays), where the OR
     * rule would give Thursday the 3rd. */
    assert_int_equal(next("0 0 */2 * MON", t), utc(2024, 10, 7, 0, 0));
    assert_int_equal(next("0 0 */2 * MON", utc(2024, 10, 7, 0, 0)), utc(2024, 10, 21, 0, 0));
    /* Day of week alone. */
    assert_int_equal(next("0 12 * * 3", t), utc(2024, 10, 2, 12, 0));
}

static void leap_days_and_long_gaps(void **state)
{
    (void)state;
    assert_int_equal(next("0 0 29 2 *", utc(2024, 3, 1, 0, 0)), utc(2028, 2, 29, 0, 0));
    assert_int_equal(next("0 0 29 2 *", utc(2100, 1, 1, 0, 0)), utc(2104, 2, 29, 0, 0));
    /* Feb 29 that is a Monday as well (both restricted: OR); and only 31-day months. */
    assert_int_equal(next("0 0 31 * *", utc(2024, 4, 1, 0, 0)), utc(2024, 5, 31, 0, 0));
}

static void refuse(const char *expr, const char *needle)
{
    orch_cron_t c;
    orch_error_t err;
    orch_error_init(&err);
    if (orch_cron_parse(expr, FIELD, &c, &err) != ORCH_INVALID_ARGUMENT)
        fail_msg("'%s' was accepted", expr);
    assert_string_equal(err.reason, "INVALID_CRON_EXPRESSION");
    assert_true(err.nviolations >= 1);
    assert_string_equal(err.violations[0].field, FIELD);
    if (!strstr(err.violations[0].description, needle))
        fail_msg("'%s': '%s' does not mention '%s'", expr, err.violations[0].description, needle);
}

static void bad_expressions_name_their_field(void **state)
{
    (void)state;
    refuse("60 * * * *", "minute field");
    refuse("* 24 * * *", "hour field");
    refuse("* * 0 * *", "day-of-month field");
    refuse("* * 32 * *", "day-of-month field");
    refuse("* * * 13 *", "month field");
    refuse("* * * FOO *", "month field");
    refuse("* * * * 8", "day-of-week field");
    refuse("* * * * MONDAY", "day-of-week field");
    refuse("* * * * JAN", "day-of-week field");
    refuse("5-1 * * * *", "reversed range");
    refuse("*/0 * * * *", "step");
    refuse("*/61 * * * *", "step");
    refuse("1,,2 * * * *", "empty list item");
    refuse("1, * * * *", "empty list item");
    refuse("1-x * * * *", "minute field");
    refuse("5x * * * *", "unexpected text");
    refuse("99999 * * * *", "out of range");
    refuse("* * * *", "five fields");
    refuse("* * * * * *", "five fields");
    refuse("", "required");
    refuse("   ", "five fields");
    refuse("0 0 30 2 *", "never occurs");
    refuse("0 0 31 4,6,9,11 *", "never occurs");
    /* With a restricted day of week the 30th of February is fine: Mondays in February. */
    assert_int_equal(next("0 0 30 2 MON", utc(2024, 1, 1, 0, 0)), utc(2024, 2, 5, 0, 0));
}

/* Brute force: walk minute by minute with gmtime_r. */
static bool matches(const orch_cron_t *c, int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    bool md, wd;
    gmtime_r(&tt, &tm);
    if (!((c->minutes >> tm.tm_min) & 1ULL) || !((c->hours >> tm.tm_hour) & 1u) ||
        !((c->months >> (tm.tm_mon + 1)) & 1u))
        return false;
    md = (c->mdays >> tm.tm_mday) & 1u;
    wd = (c->wdays >> tm.tm_wday) & 1u;
    return c->mday_star || c->wday_star ? md && wd : md || wd;
}

static const char *const junk[] = {
    "*",   "*/2",     "*/7", "0",  "1",  "5",   "7",     "12",      "13",  "15",  "23",
    "29",  "30",      "31",  "59", "60", "1-5", "3-9/2", "10-20",   "MON", "fri", "JAN",
    "Dec", "SUN-SAT", ",",   "-",  "/",  "x",   "",      "MON-FRI", "0-7", "2/5", "6,7"};
/* Mostly valid pieces per field, so that many expressions parse. */
static const char *const valid[5][8] = {
    {"*", "*/5", "0", "30", "15-45/10", "59", "1,2,3", "7/13"},
    {"*", "*/6", "0", "23", "9-17", "3", "1,13", "12/5"},
    {"*", "1", "13", "29", "31", "*/2", "10-20", "1,15"},
    {"*", "FEB", "1-6", "dec", "*/3", "2", "jan-mar,oct", "12"},
    {"*", "MON", "0", "7", "MON-FRI", "6,0", "*/2", "tue-thu"},
};

static unsigned rnd(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 16;
}

static void fuzz_against_brute_force(void **state)
{
    unsigned seed = 12345;
    int parsed = 0, compared = 0;
    (void)state;
    for (int i = 0; i < 20000; i++) {
        char expr[160] = "";
        orch_cron_t c;
        orch_error_t err;
        unsigned r0 = rnd(&seed);
        bool wild = r0 % 4 == 0;
        int nf = r0 % 16 == 1 ? 4 : r0 % 16 == 2 ? 6 : 5;
        for (int f = 0; f < nf; f++) {
            int np = 1 + (int)(rnd(&seed) % 2);
            if (f)
                strcat(expr, " ");
            for (int k = 0; k < np; k++) {
                unsigned r = rnd(&seed);
                if (k)
                    strcat(expr, ",");
                if (wild || f >= 5 || r % 20 == 0)
                    strcat(expr, junk[r % (sizeof(junk) / sizeof(junk[0]))]);
                else
                    strcat(expr, valid[f][r % 8]);
            }
        }
        orch_error_init(&err);
        if (orch_cron_parse(expr, FIELD, &c, &err) != ORCH_OK) {
            assert_int_equal(err.code, ORCH_INVALID_ARGUMENT);
            assert_true(err.nviolations >= 1);
            continue;
        }
        parsed++;
        {
            int64_t after = utc(2024, 1, 1, 0, 0) + (int64_t)(seed % 5000000u);
            int64_t n = orch_cron_next(&c, after);
            assert_true(n > after);
            assert_int_equal(n % 60, 0);
            assert_true(matches(&c, n));
            if (compared < 150) {
                /* Nothing matches between after and n (walk at most 40 days). */
                int64_t t = (after / 60) * 60 + 60;
                for (; t < n && t < after + 40 * 86400; t += 60)
                    if (matches(&c, t))
                        fail_msg("'%s' after %lld: next says %lld, but %lld matches", expr,
                                 (long long)after, (long long)n, (long long)t);
                compared++;
            }
        }
    }
    print_message("%d of 20000 random expressions parsed\n", parsed);
    assert_true(parsed > 500);
    assert_true(compared >= 150);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_minute_and_daily),
        cmocka_unit_test(ranges_lists_steps),
        cmocka_unit_test(names),
        cmocka_unit_test(day_of_month_or_day_of_week),
        cmocka_unit_test(leap_days_and_long_gaps),
        cmocka_unit_test(bad_expressions_name_their_field),
        cmocka_unit_test(fuzz_against_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
