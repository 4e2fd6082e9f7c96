/* Schedules and replicas as the store hands them to the domain and the services, and the
 * due-time arithmetic of schedules (pure). docs/SCHEMA.md has the firing protocol. */
#ifndef ORCH_SCHEDULE_H
#define ORCH_SCHEDULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errors.h"

typedef enum {
    ORCH_SCHEDULE_INTERVAL = 1,
    ORCH_SCHEDULE_CRON = 2,
    ORCH_SCHEDULE_ONCE = 3,
} orch_schedule_kind_t;

/* One schedule row. Strings and JSON owned; orch_schedule_cleanup frees them. */
typedef struct orch_schedule {
    char id[37];
    char *name;
    char *workflow;      /* workflow name */
    json_t *user_inputs; /* an object (NULL = {}) */
    orch_schedule_kind_t kind;
    int interval_s;    /* INTERVAL */
    int64_t start_us;  /* INTERVAL anchor; 0 = the creation time */
    char *cron;        /* CRON */
    int64_t run_at_us; /* ONCE */
    bool enabled;
    int64_t next_run_us, last_run_us; /* 0 = none */
    char last_process_id[37];         /* "" = none */
    char *last_error;                 /* why the last run's start was refused; NULL = none */
    int64_t version;
    char *created_by;
    int64_t create_us, update_us;
} orch_schedule_t;

void orch_schedule_cleanup(orch_schedule_t *s); /* NULL ok; zeroes it */

/* The first due time of s strictly after after_us (µs since the epoch), or 0 when there is
 * none (a ONCE schedule, a cron expression that never fires again). anchor_us is the
 * interval grid's origin (start_us, else the creation time). The cron expression must
 * already be valid. */
int64_t orch_schedule_due_after(const orch_schedule_t *s, int64_t anchor_us, int64_t after_us);

/* The next due time after the fired one: orch_schedule_due_after(fired), except that due
 * times that were already more than ORCH_SCHEDULE_CATCH_UP_US old at now_us are skipped
 * (after a long outage a 1-second schedule fires once, not thousands of times); 0 = none. */
#define ORCH_SCHEDULE_CATCH_UP_US (60LL * 1000000LL)
int64_t orch_schedule_next_after_fire(const orch_schedule_t *s, int64_t anchor_us, int64_t fired_us,
                                      int64_t now_us);

/* A page request of ListSchedules. */
typedef struct orch_schedule_query {
    const char *filter, *page_token;
    int page_size; /* already clamped */
} orch_schedule_query_t;

typedef struct orch_schedule_page {
    orch_schedule_t *items;
    size_t n;
    char *next_token; /* NULL on the last page */
    long total;
} orch_schedule_page_t;
void orch_schedule_page_cleanup(orch_schedule_page_t *p);

/* One replica row, with its state derived from its heartbeats. */
typedef struct orch_replica {
    char id[37];
    char *hostname, *address, *build;
    char state[16]; /* "serving", "draining", "lost", "stopped" */
    int64_t start_us, heartbeat_us;
    int workers, running;
    char **versions; /* "name@version" */
    size_t nversions;
} orch_replica_t;

typedef struct orch_replica_page {
    orch_replica_t *items;
    size_t n;
    char *next_token;
    long total;
} orch_replica_page_t;
void orch_replica_page_cleanup(orch_replica_page_t *p);

/* A replica whose heartbeat is older than this is dead (LOST): any live replica takes its
 * processes over. Heartbeats come every second at most (every lease / 3 when shorter), so
 * this is at least four missed heartbeats of any replica. */
#define ORCH_REPLICA_DEAD_AFTER_MS 4500

#endif
