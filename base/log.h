/* Logging: one line per event to stderr, as text or JSON lines, level checked before
 * any formatting. Thread-safe: each line is written with one fwrite. */
#ifndef ORCH_LOG_H
#define ORCH_LOG_H

typedef enum { ORCH_LOG_DEBUG, ORCH_LOG_INFO, ORCH_LOG_WARN, ORCH_LOG_ERROR } orch_log_level_t;

extern orch_log_level_t orch__log_level;

/* name: "debug" | "info" | "warn" | "error"; returns -1 on an unknown name. */
int orch_log_set_level(const char *name);
/* format: "text" | "json"; returns -1 on an unknown name. */
int orch_log_set_format(const char *format);

void orch__log(orch_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define orch_log(level, module, ...)                                                               \
    do {                                                                                           \
        if ((level) >= orch__log_level)                                                            \
            orch__log((level), (module), __VA_ARGS__);                                             \
    } while (0)
#define orch_debug(module, ...) orch_log(ORCH_LOG_DEBUG, module, __VA_ARGS__)
#define orch_info(module, ...) orch_log(ORCH_LOG_INFO, module, __VA_ARGS__)
#define orch_warn(module, ...) orch_log(ORCH_LOG_WARN, module, __VA_ARGS__)
#define orch_err(module, ...) orch_log(ORCH_LOG_ERROR, module, __VA_ARGS__)

#endif
