/* Log lines to stderr. The JSON form escapes the message so collectors can parse it. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

orch_log_level_t orch__log_level = ORCH_LOG_INFO;
static int log_json;

static const char *level_names[] = {"debug", "info", "warn", "error"};

int orch_log_set_level(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            orch__log_level = (orch_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

int orch_log_set_format(const char *format)
{
    if (strcmp(format, "text") == 0)
        log_json = 0;
    else if (strcmp(format, "json") == 0)
        log_json = 1;
    else
        return -1;
    return 0;
}

static size_t json_escape(char *out, size_t cap, const char *in)
{
    size_t o = 0;
    for (; *in && o + 7 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return o;
}

void orch__log(orch_log_level_t level, const char *module, const char *fmt, ...)
{
    char msg[2048], line[4608], ts[40];
    struct timespec now;
    struct tm tm;
    va_list ap;
    int n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = (int)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - (size_t)n, ".%03ldZ", now.tv_nsec / 1000000);
    if (log_json) {
        char esc[4096];
        json_escape(esc, sizeof(esc), msg);
        n = snprintf(line, sizeof(line),
                     "{\"time\":\"%s\",\"level\":\"%s\",\"module\":\"%s\",\"msg\":\"%s\"}\n", ts,
                     level_names[level], module, esc);
    } else {
        n = snprintf(line, sizeof(line), "%s %-5s %s: %s\n", ts, level_names[level], module, msg);
    }
    if (n > (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 1;
    fwrite(line, 1, (size_t)n, stderr);
}
