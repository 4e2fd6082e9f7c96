/* Process records as the store hands them to the domain and the services: a process with its
 * audit log, a claim, a step commit, workflow versions and the engine switch. Plain structs;
 * every pointer is owned by the record and freed by its _cleanup/_free function. */
#ifndef ORCH_PROCESS_H
#define ORCH_PROCESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errors.h"

/* One row of the audit log. */
typedef struct orch_process_step {
    char step_id[37];
    int sequence;
    char *key, *name, *status; /* status: "success", "failed", ... */
    json_t *state, *delta;     /* objects, never NULL */
    json_t *error;             /* NULL when none */
    int64_t start_us, end_us;
    char *executed_by;
    int retry_count;
    char *branch; /* a parallel branch's step (in branch_steps): the branch name; else NULL */
} orch_process_step_t;

typedef struct orch_process {
    char id[37];
    char workflow_id[37];
    char *workflow_name;
    char *target; /* "CREATE" ... */
    int version;
    bool is_task;
    char *status;                                                   /* last_status */
    char *last_step, *last_step_key, *assignee, *created_by, *note; /* NULL = none */
    char *failed_reason;
    json_t *failed_details;                           /* NULL = none */
    int64_t start_us, update_us, end_us, next_run_us; /* 0 = unset */
    char product_id[37];                              /* "" = none */
    char **subscription_ids;
    size_t nsubscriptions;
    char *customer_id; /* NULL = none */
    int retry_count;
    int steps_total, steps_done;
    bool runnable;
    int64_t lease_token;
    /* Full view only. */
    json_t *initial_state; /* an object, {} when none (never NULL once loaded) */
    orch_process_step_t *steps;
    size_t nsteps;
    /* Parallel branches. A branch process has its parent's id and branch_key
     * "parallel/branch"; "" / NULL for a top-level process. The full view of a top-level
     * process also has its branches' audit rows (in commit order), apart from its own. */
    char parent_id[37];
    char *branch_key;
    orch_process_step_t *branch_steps;
    size_t nbranch_steps;
} orch_process_t;

void orch_process_free(orch_process_t *p); /* NULL ok */

/* INVALID_ARGUMENT on process_id unless id is given and a valid id: the first rule of every
 * use case that acts on or reads one process, so each refuses in the same words. */
orch_err_t orch_process_id_check(const char *id, orch_error_t *err);

/* The state the process continues from: the last audit row's state, else the initial
 * input. Borrowed from p. */
const json_t *orch_process_current_state(const orch_process_t *p);

/* A process claimed by a worker, with everything its steps need (the claim reads it from
 * the process row in the same round trip): the worker keeps it in memory for the whole
 * stretch and never reads it back. Owned fields are freed by orch_claim_cleanup. */
typedef struct orch_claim {
    char process_id[37];
    int64_t lease_token;
    char workflow[256];
    int version;
    char status[32];
    char step_started[64]; /* set by st->engine->step_begin: the database's clock */
    json_t *state;         /* owned: the current state (processes.state) */
    char **done;           /* owned: keys of the steps done, in commit order */
    size_t ndone;
    int retry_count;
    char parent_id[37];  /* "" = a top-level process */
    char *branch_key;    /* owned; NULL = not a parallel branch */
    char announced[256]; /* the step the claim showed running ("" = none: show it first) */
} orch_claim_t;

void orch_claim_cleanup(orch_claim_t *c); /* frees the owned fields; NULL ok */

/* After a step's commit, the lease is: */
typedef enum orch_commit_mode {
    ORCH_COMMIT_RELEASE, /* given up (the process waits, ends, or anyone may take it) */
    ORCH_COMMIT_KEEP,    /* kept with no step running (the stretch yields) */
    ORCH_COMMIT_NEXT,    /* kept, and the next step is shown running with its deadline */
} orch_commit_mode_t;

/* One step's outcome, committed with st->engine->commit_step or commit_steps. Borrowed. */
typedef struct orch_step_commit {
    const char *process_id;
    int64_t lease_token;
    const char *old_status; /* the status the claim saw */
    const char *step_key, *step_name, *step_status;
    /* state: the full state after the step; NULL (commit_steps, mode NEXT only) to write
     * the delta alone, the state being the one before merged with it (the database reads
     * it so, 0022). error may be NULL. */
    const json_t *state, *delta, *error;
    const char *start_time;     /* when the step began, as the database wrote it */
    const char *process_status; /* the process's new last_status */
    bool runnable, finished;
    int64_t next_run_delay_ms;
    int retry_count;
    const char *executed_by;
    const char (*subscriptions)[37]; /* linked to the process */
    size_t nsubscriptions;
    /* What happens to the lease (st->engine->commit_steps only; the older
     * commit_step always releases it). */
    orch_commit_mode_t mode;
    const char *next_key, *next_name; /* ORCH_COMMIT_NEXT: the step that runs next */
    int next_timeout_ms, lease_ms;    /* NEXT: its time-out; NEXT, KEEP: the lease length */
} orch_step_commit_t;

/* The answer to one part of st->engine->commit_steps. */
typedef struct orch_commit_result {
    bool ok;
    bool lease_lost;        /* the fence failed: the lease moved on */
    bool paused;            /* the engine is paused: a NEXT or KEEP part was released */
    int64_t event_sequence; /* the last event written */
    char step_started[64];  /* NEXT: the next step's start, by the database's clock */
    char reason[256];       /* !ok: why */
} orch_commit_result_t;

/* A branch process of a parallel step, as the join reads it. Owned by the record; free an
 * array of them with orch_branch_rows_free. */
typedef struct orch_branch_row {
    char process_id[37];
    char *name;          /* the branch name */
    char *status;        /* last_status */
    json_t *initial;     /* its initial state (an object) */
    json_t *final;       /* its last audit row's state, else initial (an object) */
    char *failed_reason; /* NULL = none */
    json_t *failed_details;
} orch_branch_row_t;
void orch_branch_rows_free(orch_branch_row_t *rows, size_t n); /* NULL ok */

/* A workflow version as registered by a replica. Borrowed. */
typedef struct orch_wf_reg {
    const char *name, *description, *target; /* target: "CREATE" ... */
    bool is_task;
    int version;
    const char *steps_json, *digest;
} orch_wf_reg_t;

/* A new process. Borrowed. */
typedef struct orch_process_new {
    const char *workflow;
    int version;
    const char *product_id;        /* NULL = none */
    const char *created_by, *note; /* NULL = none */
    const json_t *initial_state;
    /* Non-NULL: the process is created leased to this replica with its first step shown
     * running (the creator hands it to a local worker at commit: no claim, no poll). */
    struct orch_process_lease *lease;
    /* Unleased: the first step (step_key, step_name, timeout_ms), so that the claim that
     * takes the process shows it running at once. NULL = unknown. */
    const struct orch_process_lease *first;
    /* UNAVAILABLE ENGINE_PAUSED when the engine is paused, checked in the same statement. */
    bool refuse_if_paused;
    /* Non-NULL: *out gets the new process as get (full = false) reads it, from the create's
     * own statement, so a start costs no read of its own (the caller frees it). It has no
     * subscription yet: a caller that links one reads the process after the link. */
    struct orch_process **out;
} orch_process_new_t;

/* The lease a new process is created with (orch_process_new_t.lease). */
typedef struct orch_process_lease {
    const char *owner;                /* replica id */
    const char *step_key, *step_name; /* the first step */
    int timeout_ms, lease_ms;
    int64_t token;         /* out: the lease token */
    char step_started[64]; /* out: the first step's start, by the database's clock */
} orch_process_lease_t;

/* A page request of ListProcesses. */
typedef struct orch_process_query {
    const char *filter, *order_by, *page_token;
    int page_size; /* already clamped */
} orch_process_query_t;

typedef struct orch_process_page {
    orch_process_t **items;
    size_t n;
    char *next_token; /* NULL on the last page */
    long total;
    bool total_is_estimate; /* total is the planner's estimate (past 10,000 matches) */
} orch_process_page_t;
void orch_process_page_cleanup(orch_process_page_t *p);

/* Process counts per status. */
typedef struct orch_status_count {
    char status[32];
    bool is_task;
    long count;
} orch_status_count_t;

/* One administrative action (the audit log of admin calls). Strings owned by the record;
 * free an array with orch_admin_actions_free. */
typedef struct orch_admin_action {
    int64_t id;
    int64_t time_us;
    char *actor_kind, *actor_name, *method, *target, *request_id;
} orch_admin_action_t;
void orch_admin_actions_free(orch_admin_action_t *a, size_t n);

/* The engine switch. */
typedef struct orch_engine_status {
    bool paused;
    int running;  /* processes holding a live lease */
    int replicas; /* replicas heartbeating */
    int64_t update_us;
    char updated_by[256];
} orch_engine_status_t;

/* A workflow with its registered versions. */
typedef struct orch_wf_version_info {
    int version;
    char *steps_json;
    int64_t create_us;
    int replica_count;
} orch_wf_version_info_t;

typedef struct orch_wf_product {
    char id[37];
    char *name, *product_type, *tag;
} orch_wf_product_t;

typedef struct orch_wf_info {
    char id[37];
    char *name, *description, *target;
    bool is_task;
    int64_t create_us;
    orch_wf_version_info_t *versions; /* newest first */
    size_t nversions;
    orch_wf_product_t *products;
    size_t nproducts;
} orch_wf_info_t;
void orch_wf_info_free(orch_wf_info_t *w); /* NULL ok */

#endif
