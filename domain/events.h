/* Process events as the store reads them for streams: per process, contiguous sequences;
 * across processes, an opaque cursor that never skips an event committed late (see
 * docs/SCHEMA.md, "events"). */
#ifndef ORCH_EVENTS_H
#define ORCH_EVENTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct orch_event {
    char process_id[37];
    int64_t sequence;
    char kind[64];   /* process_created, step_committed, status_changed, callback_progress */
    int64_t time_us; /* commit time, PostgreSQL's clock */
    json_t *payload; /* an object, owned */
    char cursor[64]; /* "<tx>:<event_id>" */
    /* events_global only: the process's filterable fields as strings (JSON null when SQL
     * NULL), for the in-memory filter of WatchProcesses (event_filter.h); owned, else NULL. */
    json_t *fields;
} orch_event_t;

void orch_events_free(orch_event_t *ev, size_t n); /* frees payloads and the array */

#endif
