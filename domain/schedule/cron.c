/* The five-field cron parser and next-fire computation (see cron.h). Pure: no clock, no
 * locale, no time zone (calendar arithmetic in UTC by hand). */
#include "domain/schedule/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

typedef struct field_spec {
    const char *name; /* for people: "minute", ... */
    int lo, hi;
    const char *const *names; /* names for lo.., or NULL */
} field_spec_t;

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL",
                                          "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const wday_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

static const field_spec_t specs[5] = {
    {"minute", 0, 59, NULL},           {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},     {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, wday_names},
};

/* A wrong expression: INVALID_ARGUMENT naming the field, with the reason of its own that
 * docs/API.md gives cron expressions. */
#define bad(err, field, ...)                                                                       \
    orch_error_invalid_as((err), "INVALID_CRON_EXPRESSION", (field), __VA_ARGS__)

/* One value (number or name) at *p; advances *p. -1 = not a value. */
static int value(const field_spec_t *fs, const char **p)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        int digits = 0;
        while (isdigit((unsigned char)*s)) {
            if (++digits > 3)
                return -2; /* far out of range; reported as such */
            v = v * 10 + (*s++ - '0');
        }
        *p = s;
        return (int)v;
    }
    if (fs->names && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) &&
        isalpha((unsigned char)s[2]) && !isalpha((unsigned char)s[3])) {
        for (int i = 0; fs->names[i]; i++) {
            if (toupper((unsigned char)s[0]) == fs->names[i][0] &&
                toupper((unsigned char)s[1]) == fs->names[i][1] &&
                toupper((unsigned char)s[2]) == fs->names[i][2]) {
                *p = s + 3;
                return fs->lo + i;
            }
        }
    }
    return -1;
}

/* Parses one field's text into a bit set. */
static orch_err_t parse_field(const field_spec_t *fs, const char *text, const char *field,
                              uint64_t *bits, orch_error_t *err)
{
    char item[64];
    const char *s = text;
    *bits = 0;
    for (;;) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        const char *p;
        int a, b, step = 1;
        char label[96];

        snprintf(label, sizeof(label), "the %s field", fs->name);
        if (len == 0)
            return bad(err, field, "%s '%s' has an empty list item", label, text);
        if (len >= sizeof(item))
            return bad(err, field, "%s '%s' has a list item that is too long", label, text);
        memcpy(item, s, len);
        item[len] = '\0';
        p = item;
        if (*p == '*') {
            a = fs->lo;
            b = fs->hi;
            p++;
        } else {
            a = value(fs, &p);
            if (a == -1)
                return bad(err, field, "%s has '%s', which is not a number or name", label, item);
            b = a;
            if (*p == '-') {
                p++;
                b = value(fs, &p);
                if (b == -1)
                    return bad(err, field, "%s has '%s', a range without a valid end", label, item);
            } else if (*p == '/') {
                b = fs->hi; /* "a/step": from a to the end of the field */
            }
            if (a < fs->lo || a > fs->hi || b < fs->lo || b > fs->hi) {
                char msg[224];
                snprintf(msg, sizeof(msg), "%s has '%s', out of range %d-%d", label, item, fs->lo,
                         fs->hi);
                return bad(err, field, "%s", msg);
            }
            if (a > b)
                return bad(err, field, "%s has the reversed range '%s'", label, item);
        }
        if (*p == '/') {
            const char *q = ++p;
            int v = 0, digits = 0;
            while (isdigit((unsigned char)*q) && digits < 4) {
                v = v * 10 + (*q++ - '0');
                digits++;
            }
            if (digits == 0 || *q || v < 1 || v > fs->hi - fs->lo + 1 - (fs->hi == 7))
                return bad(err, field, "%s has '%s', whose step is not a number in range", label,
                           item);
            step = v;
            p = q;
        }
        if (*p)
            return bad(err, field, "%s has '%s', with unexpected text after the value", label,
                       item);
        for (int v = a; v <= b; v += step)
            *bits |= 1ULL << v;
        if (!end)
            break;
        s = end + 1;
    }
    return ORCH_OK;
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

orch_err_t orch_cron_parse(const char *expr, const char *field, orch_cron_t *out, orch_error_t *err)
{
    char buf[256], *parts[6];
    int n = 0;
    uint64_t bits[5];

    memset(out, 0, sizeof(*out));
    if (!expr || !*expr)
        return bad(err, field,
                   "a cron expression is required (five fields: minute hour "
                   "day-of-month month day-of-week)");
    if (strlen(expr) >= sizeof(buf))
        return bad(err, field, "the cron expression is longer than 255 characters");
    snprintf(buf, sizeof(buf), "%s", expr);
    for (char *s = buf; *s;) {
        while (*s == ' ' || *s == '\t')
            *s++ = '\0';
        if (!*s)
            break;
        if (n == 6)
            break;
        parts[n++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
    }
    if (n != 5) {
        char got[16];
        snprintf(got, sizeof(got), "%s%d", n == 6 ? "more than " : "", n == 6 ? 5 : n);
        return bad(err, field,
                   "a cron expression has five fields (minute hour day-of-month "
                   "month day-of-week); this one has %s",
                   got);
    }
    for (int i = 0; i < 5; i++) {
        orch_err_t rc = parse_field(&specs[i], parts[i], field, &bits[i], err);
        if (rc)
            return rc;
    }
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->mdays = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->wdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 = Sunday */
    out->mday_star = parts[2][0] == '*';
    out->wday_star = parts[4][0] == '*';
    /* Refuse what can never fire: a day of month that none of the months has, when the day of
     * the week does not rescue it. */
    if (out->wday_star || out->mday_star) {
        bool possible = false;
        for (int m = 1; m <= 12 && !possible; m++)
            if (out->months & (1u << m))
                for (int d = 1; d <= month_days(2000, m) && !possible; d++)
                    possible = (out->mdays >> d) & 1u;
        if (!possible)
            return bad(err, field,
                       "the day-of-month field '%s' never occurs in the months of "
                       "the month field '%s'",
                       parts[2], parts[3]);
    }
    return ORCH_OK;
}

/* Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool day_matches(const orch_cron_t *c, int64_t days, int d)
{
    int wd = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    bool md = (c->mdays >> d) & 1u, w = (c->wdays >> wd) & 1u;
    if (c->mday_star || c->wday_star)
        return md && w;
    return md || w;
}

/* Midnight of the day after y-m-d (the next month's first day past the month's end). */
static void next_day(int64_t *y, int *m, int *d, int *hh, int *mm)
{
    if (++*d > month_days(*y, *m)) {
        *d = 1;
        if (++*m > 12) {
            *m = 1;
            ++*y;
        }
    }
    *hh = *mm = 0;
}

int64_t orch_cron_next(const orch_cron_t *c, int64_t after)
{
    /* Start at the next whole minute after `after`. */
    int64_t t = (after >= 0 ? after / 60 : (after - 59) / 60) * 60 + 60;
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t y, limit;
    int m, d, hh = (int)((t - days * 86400) / 3600), mm = (int)((t - days * 86400) % 3600 / 60);

    civil_from_days(days, &y, &m, &d);
    limit = y + 50;
    while (y <= limit) {
        if (!((c->months >> m) & 1u)) {
            if (++m > 12) {
                m = 1;
                y++;
            }
            d = 1;
            hh = mm = 0;
            continue;
        }
        days = days_from_civil(y, m, d);
        if (!day_matches(c, days, d)) {
            next_day(&y, &m, &d, &hh, &mm);
            continue;
        }
        while (hh < 24 && !((c->hours >> hh) & 1u)) {
            hh++;
            mm = 0;
        }
        while (hh < 24) {
            while (mm < 60 && !((c->minutes >> mm) & 1ULL))
                mm++;
            if (mm < 60)
                return days * 86400 + hh * 3600 + mm * 60;
            mm = 0;
            do
                hh++;
            while (hh < 24 && !((c->hours >> hh) & 1u));
        }
        /* No time left today: the next day. */
        next_day(&y, &m, &d, &hh, &mm);
    }
    return -1;
}
