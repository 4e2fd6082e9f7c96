/* WatchProcesses filters compiled once to an in-memory matcher, so the watch hub matches
 * each event against every stream's filter without a query per stream. The semantics are
 * the SQL compiler's (db/filter_sql.c over the event columns of db/store_events.c): SQL's
 * three-valued logic for fields that are NULL, byte order for text (COLLATE "C"), ':' as a
 * case-insensitive substring ("*": any value). A test runs both over the same events. */
#ifndef ORCH_EVENT_FILTER_H
#define ORCH_EVENT_FILTER_H

#include <jansson.h>
#include <stdbool.h>

#include "base/errors.h"

typedef struct orch_event_filter orch_event_filter_t;

/* The fields a WatchProcesses filter may name, NULL-terminated. */
extern const char *const orch_event_filter_fields[];

/* Compiles text (NULL or blank: every event). *out: caller frees with
 * orch_event_filter_free. INVALID_ARGUMENT on a filter that does not parse. */
orch_err_t orch_event_filter_new(const char *text, orch_event_filter_t **out, orch_error_t *err);
void orch_event_filter_free(orch_event_filter_t *f); /* NULL ok */

/* fields: an object of the event's process fields as strings, JSON null (or absent) for
 * SQL NULL (orch_event_t.fields). NULL fields match only the empty filter. */
bool orch_event_filter_match(const orch_event_filter_t *f, const json_t *fields);

#endif
