/* The workflow engine as a workflow author sees it: the one header to include.
 *
 * A workflow is declared in one place, as static data: a name, a target, a description, a
 * version and an ordered list of steps with stable keys. A step is a C function that gets
 * the process state (a JSON object) and a context, and returns an outcome:
 *
 *     static orch_step_result_t allocate_loopback(orch_step_ctx_t *ctx, json_t *state)
 *     {
 *         ...
 *         return orch_step_ok(json_pack("{s:s}", "loopback", "10.0.0.1/32"));
 *     }
 *
 *     static const orch_step_def_t create_node_v1[] = {
 *         ORCH_STEP("check_input", "Check the input", check_input),
 *         ORCH_RETRY_STEP("allocate_loopback", "Allocate a loopback", allocate_loopback),
 *         ORCH_CONDITIONAL("allocate_ipv6", "Allocate IPv6", wants_ipv6, "state.ipv6", alloc6),
 *         ORCH_DONE,
 *         ORCH_STEPS_END,
 *     };
 *     const orch_workflow_def_t wf_create_node = {
 *         .name = "create_node", .target = ORCH_TARGET_CREATE, .version = 1,
 *         .description = "Create node", .steps = create_node_v1,
 *     };
 *
 * Parallel branches: ORCH_PARALLEL runs its branches concurrently, each as a branch process
 * of its own (claimed, leased and fenced like any process, on any replica), and joins when
 * every branch is done. A branch starts from the state before the parallel step; what it
 * changed (its result) is merged into the state under the branch's name:
 *
 *     static const orch_step_def_t ipv4_steps[] = {
 *         ORCH_RETRY_STEP("reserve", "Reserve IPv4", reserve4, 5, 500, 8000),
 *         ORCH_STEP("announce", "Announce IPv4", announce4),
 *         ORCH_STEPS_END,
 *     };
 *     static const orch_step_def_t ipv6_steps[] = {
 *         ORCH_STEP("reserve", "Reserve IPv6", reserve6),
 *         ORCH_STEPS_END,
 *     };
 *     static const orch_branch_def_t addressing[] = {
 *         {"ipv4", ipv4_steps},
 *         {"ipv6", ipv6_steps},
 *         ORCH_BRANCHES_END,
 *     };
 *     ... ORCH_PARALLEL("addressing", "Allocate addresses", addressing), ...
 *
 * gives the audit rows "addressing/ipv4/reserve", "addressing/ipv4/announce" and
 * "addressing/ipv6/reserve", then the join row "addressing" whose delta is
 * {"ipv4": {...what ipv4 changed}, "ipv6": {...}}. A branch that fails fails the join (the
 * process fails at "addressing", the other branches' committed steps are kept); RetryProcess
 * re-runs only the failed branches. Branches hold plain, retry and conditional steps (no
 * groups, input or callback steps, and parallel steps do not nest: the registry refuses).
 *
 * The engine records every step's outcome in the process's audit log, in one transaction
 * with whatever the step changed through ctx->tx. A step interrupted before its commit (a
 * crash, a lost lease, an abort) runs again: steps must be idempotent within their unit of
 * work, which is rolled back with them. Committed steps never run again: a process resumes
 * at the first step (by key, in its own workflow version) that has not succeeded. */
#ifndef ORCH_ENGINE_H
#define ORCH_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../catalog/catalog.h"
#include "../store.h"
#include "base/ctx.h"
#include "base/errors.h"
#include "base/log.h"

/* ---- Step outcomes ------------------------------------------------------------------------ */

typedef enum {
    ORCH_STEP_SUCCESS = 0, /* changes are merged (shallowly) into the state */
    ORCH_STEP_SKIP,        /* nothing done; logged as skipped */
    ORCH_STEP_WAIT,        /* try again later (back-off); the process is "waiting" */
    ORCH_STEP_FAIL,        /* the process fails here; Retry runs the step again */
    ORCH_STEP_ABORT,       /* the process ends aborted */
} orch_step_outcome_t;

/* What a step returns. Build it with the helpers below; the engine takes ownership of the
 * JSON values and the message. */
typedef struct orch_step_result {
    orch_step_outcome_t outcome;
    json_t *changes; /* SUCCESS: a JSON object (owned; NULL = no changes) */
    char reason[64]; /* FAIL / WAIT / ABORT: UPPER_SNAKE reason */
    char *message;   /* FAIL / WAIT / ABORT: a sentence for people (owned, may be NULL) */
    json_t *details; /* FAIL / WAIT: structured details (owned, may be NULL) */
} orch_step_result_t;

/* changes: a JSON object, stolen (NULL = none). */
orch_step_result_t orch_step_ok(json_t *changes);
orch_step_result_t orch_step_skip(void);
/* A WAIT, FAIL or ABORT result: reason (NULL or "": STEP_FAILED), details (stolen, may be
 * NULL) and a printf message. Authors call it through the three short-hands below, which
 * differ only in the outcome they name (abort: reason ABORTED, no details). */
orch_step_result_t orch_step_result(orch_step_outcome_t outcome, const char *reason,
                                    json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define orch_step_wait(reason, details, ...)                                                       \
    orch_step_result(ORCH_STEP_WAIT, (reason), (details), __VA_ARGS__)
#define orch_step_fail(reason, details, ...)                                                       \
    orch_step_result(ORCH_STEP_FAIL, (reason), (details), __VA_ARGS__)
#define orch_step_abort(...) orch_step_result(ORCH_STEP_ABORT, "ABORTED", NULL, __VA_ARGS__)
/* A domain error as a failure (reason and message from err). */
orch_step_result_t orch_step_fail_error(const orch_error_t *err);
/* Frees what a result owns (the engine does this; authors need it only in tests). */
void orch_step_result_cleanup(orch_step_result_t *r);

/* ---- The step context ----------------------------------------------------------------------- */

/* What a step may use. Borrowed for the duration of the call. */
typedef struct orch_step_ctx {
    const char *process_id; /* lower-case UUID */
    const char *step_key;   /* the running step's stable key */
    const char *step_name;
    const char *workflow; /* workflow name */
    int workflow_version;
    /* Earlier failed or waiting attempts of this step (0 on the first run). */
    int attempt;
    /* Deadline (the step's time-out) and cancellation (the server is stopping). A step that
     * waits should check orch_step_ctx_expired() and return. */
    orch_ctx_t ctx;
    /* The unit of work the step's commit will use: subscription saves and other store calls
     * made through it commit with the step's audit row, or not at all. NULL in unit tests. */
    orch_store_t *store;
    orch_tx_t *tx;
    const orch_catalog_t *catalog; /* may be NULL in unit tests */
    /* Subscriptions the step created or changed: the engine links them to the process. */
    char linked_subscriptions[8][37];
    size_t nlinked;
    /* CALLBACK steps: the token to hand to the external system (only its hash is stored). */
    char callback_token[65];
    /* Remote steps (ORCH_REMOTE_STEP): set by the engine when a step worker does this run;
     * the step's fall-back action is not called then. */
    bool remote;
    /* The running step's definition (set by orch_runner_run): the built-in steps of a
     * workflow registered as data find their parameters from it (definition.h). */
    const struct orch_step_def *def;
} orch_step_ctx_t;

/* True once the step's time-out passed or the server is stopping. */
bool orch_step_ctx_expired(const orch_step_ctx_t *ctx);
/* Records that the process touched this subscription (linked in the same transaction). */
void orch_step_ctx_link_subscription(orch_step_ctx_t *ctx, const char *subscription_id);

/* Logs one line with the process and step in front of the message. */
void orch_step_log(orch_log_level_t level, const orch_step_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* State accessors: borrowed values, or a default when absent or of another type. */
const char *orch_state_str(const json_t *state, const char *key, const char *dflt);
long long orch_state_int(const json_t *state, const char *key, long long dflt);
bool orch_state_bool(const json_t *state, const char *key, bool dflt);

/* ---- Declaring steps ----------------------------------------------------------------------- */

typedef enum {
    ORCH_KIND_STEP = 1, /* values equal to the proto StepKind */
    ORCH_KIND_RETRY = 2,
    ORCH_KIND_CONDITIONAL = 3,
    ORCH_KIND_GROUP = 4,
    ORCH_KIND_INPUT = 5,    /* suspends with a form until ResumeProcess */
    ORCH_KIND_CALLBACK = 6, /* runs its action, then waits for DeliverCallback */
    ORCH_KIND_PARALLEL = 7, /* concurrent branches, joined when all are done */
    ORCH_KIND_DONE = 8,
    ORCH_KIND_ABORT = 9,
} orch_step_kind_t;

typedef orch_step_result_t (*orch_step_fn)(orch_step_ctx_t *ctx, json_t *state);
typedef bool (*orch_step_pred_fn)(const json_t *state);
struct orch_step_def;
/* A step's run condition with the step at hand, for steps whose condition is data (a
 * definition's "when", domain/engine/definition.c): false = the step is skipped. */
typedef bool (*orch_step_when_fn)(const struct orch_step_def *def, const json_t *state);

typedef struct orch_step_def {
    const char *key;  /* stable key: [a-z0-9_]+, unique in the workflow version */
    const char *name; /* for people */
    orch_step_kind_t kind;
    orch_step_fn fn;                      /* STEP, RETRY, CONDITIONAL */
    orch_step_pred_fn pred;               /* CONDITIONAL: false = skipped */
    const char *condition;                /* CONDITIONAL: the predicate in words */
    const struct orch_step_def *children; /* GROUP: terminated by {0} */
    int timeout_ms;                       /* one run's time-out; 0 = the engine default */
    int max_attempts;                     /* RETRY: attempts before failing; 0 = unlimited */
    int backoff_ms;                       /* RETRY (and WAIT of any step): first delay; 0 = 1000 */
    int backoff_max_ms;                   /* cap of the exponential back-off; 0 = 300000 */
    const char *description;
    const struct orch_form *form; /* INPUT: the form the step asks (domain/forms/forms.h) */
    int callback_timeout_ms;      /* CALLBACK: fail the process when no callback came in
                                     time; 0 = wait for ever */
    /* INPUT: the role a caller must hold to answer it (ResumeProcess), beyond operator:
     * "admin", or a role of the organisation's own such as "change_manager" (an admin holds
     * every role). NULL = operator is enough. Set it with ORCH_INPUT_STEP_ROLE. */
    const char *required_role;
    const struct orch_branch_def *branches; /* PARALLEL: terminated by ORCH_BRANCHES_END */
    /* A remote step (ORCH_REMOTE_STEP): a CALLBACK step whose work a step worker of this task
     * type does ("network.push_config"; docs/WORKERS.md). fn is the in-process fall-back
     * action run when no worker serves the type (NULL: the process waits for one, visibly). */
    const char *task_type;
    bool needs_secrets; /* the task carries the process's secret answers */
    /* Any kind but parallel, done and abort: the step runs only when this holds of the
     * state, else it is skipped (a remote step writes no task). Set by the definition
     * compiler; C workflows use ORCH_CONDITIONAL_STEP. NULL = always. */
    orch_step_when_fn when;
} orch_step_def_t;

/* One branch of a parallel step: a name ([a-z0-9_]+, unique in the step; the key its result
 * is merged under) and its steps, terminated by ORCH_STEPS_END. Static data. */
typedef struct orch_branch_def {
    const char *name;
    const orch_step_def_t *steps;
} orch_branch_def_t;
#define ORCH_BRANCHES_END                                                                          \
    {                                                                                              \
        0                                                                                          \
    }

/* The step macros name every field they set (designated initializers): a new field of
 * orch_step_def_t is zero in every existing step, and no macro needs editing for it. */
#define ORCH_STEP(key_, name_, fn_)                                                                \
    {                                                                                              \
        .key = (key_), .name = (name_), .kind = ORCH_KIND_STEP, .fn = (fn_)                        \
    }
#define ORCH_RETRY_STEP(key_, name_, fn_, max_attempts_, backoff_ms_, backoff_max_ms_)             \
    {                                                                                              \
        .key = (key_), .name = (name_), .kind = ORCH_KIND_RETRY, .fn = (fn_),                      \
        .max_attempts = (max_attempts_), .backoff_ms = (backoff_ms_),                              \
        .backoff_max_ms = (backoff_max_ms_)                                                        \
    }
#define ORCH_CONDITIONAL(key_, name_, pred_, condition_, fn_)                                      \
    {                                                                                              \
        .key = (key_), .name = (name_), .kind = ORCH_KIND_CONDITIONAL, .fn = (fn_),                \
        .pred = (pred_), .condition = (condition_)                                                 \
    }
#define ORCH_GROUP(key_, name_, children_)                                                         \
    {                                                                                              \
        .key = (key_), .name = (name_), .kind = ORCH_KIND_GROUP, .children = (children_)           \
    }
/* An input step: the process suspends with form; ResumeProcess validates the answers,
 * stores them with who gave them and deep-merges them into the state. */
#define ORCH_INPUT_STEP(key_, name_, form_)                                                        \
    {                                                                                              \
        .key = (key_), .name = (name_), .kind = ORCH_KIND_INPUT, .form = (form_)                   \
    }
/* A callback step: action gets ctx->callback_token (hand it to the external system) and
 * returns ok (its changes merged; the process then waits in awaiting_callback until
 * DeliverCallback merges the result), skip (answered at once: no wait) or a failure. */
#define ORCH_CALLBACK_STEP(key_, name_, action_, timeout_ms_)                                      \
    {                                                                                              \
        .key = (key_), .name = (name_), .kind = ORCH_KIND_CALLBACK, .fn = (action_),               \
        .callback_timeout_ms = (timeout_ms_)                                                       \
    }
/* Parallel branches (see the top of this header). */
#define ORCH_PARALLEL(key_, name_, branches_)                                                      \
    {                                                                                              \
        .key = (key_), .name = (name_), .kind = ORCH_KIND_PARALLEL, .branches = (branches_)        \
    }
#define ORCH_DONE                                                                                  \
    {                                                                                              \
        .key = "done", .name = "Done", .kind = ORCH_KIND_DONE                                      \
    }
#define ORCH_ABORT_STEP                                                                            \
    {                                                                                              \
        .key = "abort", .name = "Abort", .kind = ORCH_KIND_ABORT                                   \
    }
#define ORCH_STEPS_END                                                                             \
    {                                                                                              \
        0                                                                                          \
    }
/* An input step that only holders of role may answer (ResumeProcess), e.g.
 *     ORCH_INPUT_STEP_ROLE("approve", "Approve the change", &approval_form, "change_manager"), */
#define ORCH_INPUT_STEP_ROLE(key_, name_, form_, role_)                                            \
    {                                                                                              \
        .key = (key_), .name = (name_), .kind = ORCH_KIND_INPUT, .form = (form_),                  \
        .required_role = (role_)                                                                   \
    }

/* A remote step: a step worker serving task_type does the work (docs/WORKERS.md). The
 * process waits in awaiting_callback, released, while a worker has the task; with no
 * worker connected it waits visibly (GetProcess shows the task and that no worker serves
 * its type) and goes on when one connects. Delivered at most 5 times (a worker that dies
 * loses its task when its lease runs out), back-off 1 s doubling to 5 min after a
 * retryable failure, 10 minutes for an answer. */
#define ORCH_REMOTE_STEP_(key_, name_, task_type_, fallback_, timeout_ms_, secrets_)               \
    {                                                                                              \
        .key = (key_), .name = (name_), .kind = ORCH_KIND_CALLBACK, .fn = (fallback_),             \
        .max_attempts = 5, .backoff_ms = 1000, .backoff_max_ms = 300000,                           \
        .callback_timeout_ms = (timeout_ms_), .task_type = (task_type_),                           \
        .needs_secrets = (secrets_)                                                                \
    }
#define ORCH_REMOTE_STEP(key, name, task_type)                                                     \
    ORCH_REMOTE_STEP_(key, name, task_type, NULL, 600000, false)
/* The same with an in-process fall-back: when no live worker serves task_type as the step
 * starts, fallback runs as a CALLBACK step's action (authoring.h orch_step_sim_callback,
 * say) and the step is an ordinary callback step for that run. timeout_ms: the answer's
 * (and the callback's) time-out. */
#define ORCH_REMOTE_STEP_FALLBACK(key, name, task_type, fallback, timeout_ms)                      \
    ORCH_REMOTE_STEP_(key, name, task_type, fallback, timeout_ms, false)
/* A remote step whose task carries the process's secret form answers (unmasked); others get
 * them masked ("***"). */
#define ORCH_REMOTE_STEP_SECRETS(key, name, task_type)                                             \
    ORCH_REMOTE_STEP_(key, name, task_type, NULL, 600000, true)

/* The standard steps the registry wraps around the author's (ORCHESTRATOR-CORE §2):
 *   CREATE:    author steps (they create the subscription and put "subscription_id" in the
 *              state) -> set_status_active -> resync -> done
 *   MODIFY, VALIDATE, RECONCILE: unsync (link the process and lock the subscription of
 *              state.subscription_id; fails SUBSCRIPTION_NOT_IN_SYNC when it is locked
 *              already) -> author steps -> resync -> done
 *   TERMINATE: unsync -> author steps -> set_status_terminated -> resync -> done
 *   TASK:      author steps -> done
 * With a lifecycle the author's step list has no done step of its own. */
typedef enum {
    ORCH_LC_NONE = 0, /* the steps are the whole workflow */
    ORCH_LC_CREATE,
    ORCH_LC_MODIFY,
    ORCH_LC_TERMINATE,
    ORCH_LC_VALIDATE,
    ORCH_LC_RECONCILE,
    ORCH_LC_TASK,
} orch_lifecycle_t;

/* What a step reads from and writes to the process state, declared for the start-up checks
 * (domain/engine/lint.h) next to the workflow:
 *
 *     static const orch_step_io_t create_node_io[] = {
 *         {"check_input", ORCH_KEYS("product_id", "node_name"), ORCH_KEYS("node_status")},
 *         {"allocate.ipv6", ORCH_KEYS("ipv6"), ORCH_KEYS("ipv6_ipam_id")},
 *         {0},
 *     };
 *
 * Optional: a workflow without it is not checked for state keys, and a check that needs a
 * step that declares nothing is skipped ("where it can be known"). */
typedef struct orch_step_io {
    const char *key;           /* the step's key ("group.child" inside a group) */
    const char *const *reads;  /* NULL-terminated state keys; NULL = not declared */
    const char *const *writes; /* NULL-terminated state keys; NULL = not declared */
} orch_step_io_t;
#define ORCH_KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define ORCH_NO_KEYS ((const char *const[]){NULL})

/* A workflow version. Static data; must outlive the registry. */
typedef struct orch_workflow_def {
    const char *name;
    const char *description;
    orch_workflow_target_t target;
    bool is_task;
    int version;                  /* >= 1 */
    const orch_step_def_t *steps; /* terminated by {0}; the last top-level step is DONE/ABORT */
    /* The start form (StartProcess user_inputs), or NULL: the first page of user_inputs is
     * the initial state as given. */
    const struct orch_form *form;
    orch_lifecycle_t lifecycle; /* standard steps wrapped around steps */
    /* The role a caller must hold, beyond operator, to start, resume, retry or abort its
     * processes ("admin" or a role of the organisation's own; an admin holds every role).
     * NULL = operator is enough. */
    const char *required_role;
    /* Optional declarations, checked at start-up (lint.h): the steps' state keys ({0}-
     * terminated), the product type the workflow works on, the product blocks its steps
     * change (NULL-terminated). */
    const orch_step_io_t *io;
    const char *product_type;
    const char *const *blocks;
} orch_workflow_def_t;

/* A workflow definition with the C symbol and file that define it, so that the start-up
 * checks can name it: ORCH_WF_ENTRY(orch_wf_create_node) in a static table. */
typedef struct orch_wf_entry {
    const orch_workflow_def_t *def;
    const char *symbol; /* "orch_wf_create_node" */
    const char *file;   /* __FILE__ where the entry is written */
} orch_wf_entry_t;
#define ORCH_WF_ENTRY(sym)                                                                         \
    {                                                                                              \
        &(sym), #sym, __FILE__                                                                     \
    }

/* ---- The registry --------------------------------------------------------------------------- */

/* One step as the engine runs it: groups are flattened into their children, keyed
 * "group.child". A parallel step is one leaf of the main line, followed by the leaves of its
 * branches, keyed "parallel/branch/step", which only branch processes run. Borrowed from
 * the registry. */
typedef struct orch_leaf {
    char *key;                     /* "allocate", "group.child" or "parallel/branch/step" */
    const orch_step_def_t *def;    /* the leaf's definition */
    const orch_step_def_t *parent; /* the enclosing group or parallel step, or NULL */
    size_t top_index;              /* index of its top-level step */
    const char *branch;            /* the branch name for a branch's leaf; NULL on the main line */
    char *branch_key;              /* "parallel/branch" for a branch's leaf; NULL otherwise */
} orch_leaf_t;

/* A registered workflow version. Borrowed from the registry for its life. */
typedef struct orch_workflow {
    const orch_workflow_def_t *def;
    orch_leaf_t *leaves;
    size_t nleaves, ntop;
    char *steps_json;          /* the step list as stored in workflow_versions.steps */
    char digest[17];           /* 64-bit FNV-1a of steps_json, hex */
    void *owned;               /* the expanded definition of a lifecycle workflow (freed with it) */
    const char *symbol, *file; /* from orch_registry_add_entry; NULL otherwise (static) */
} orch_workflow_t;

typedef struct orch_registry orch_registry_t;

/* True for a well-formed workflow name, step key or branch name: 1-100 of [a-z0-9_]. The
 * registry checks compiled workflows with it and the definition compiler (definition.h)
 * workflows given as data, so both accept the same names. */
bool orch_key_valid(const char *k);

orch_registry_t *orch_registry_new(void);
void orch_registry_free(orch_registry_t *r); /* NULL ok */
/* Adds a workflow version after checking it: name, version >= 1, keys present, well formed
 * and unique (children too), a step function where needed, a predicate for conditionals,
 * children for groups, the last top-level step DONE or ABORT, no duplicate (name, version).
 * FAILED_PRECONDITION naming the workflow and step otherwise (reason WORKFLOW_INVALID; for
 * parallel steps PARALLEL_NESTED (inside a group or a branch), PARALLEL_BRANCHES_MISSING,
 * PARALLEL_BRANCH_NAME (malformed or repeated), PARALLEL_BRANCH_EMPTY and
 * PARALLEL_BRANCH_STEP (a kind a branch cannot hold)). def: static data. */
orch_err_t orch_registry_add(orch_registry_t *r, const orch_workflow_def_t *def, orch_error_t *err);
/* The same, remembering where def is defined (e.symbol, e.file: static strings); the error
 * message starts with the symbol. */
orch_err_t orch_registry_add_entry(orch_registry_t *r, orch_wf_entry_t e, orch_error_t *err);
/* The exact version, or NULL. */
/* Lookups are thread-safe against orch_registry_add (workflows registered as data are
 * added while the server runs); a workflow once added stays until orch_registry_free. */
const orch_workflow_t *orch_registry_find(const orch_registry_t *r, const char *name, int version);
/* The highest version of name, or NULL. */
const orch_workflow_t *orch_registry_latest(const orch_registry_t *r, const char *name);
size_t orch_registry_count(const orch_registry_t *r);
const orch_workflow_t *orch_registry_at(const orch_registry_t *r, size_t i);

/* Registers the example workflows (domain/workflows/) and the product modules' and then
 * extra ({0}-terminated, may be NULL: what the embedding program adds, e.g. the test
 * workflows of orchestratord-test). The list: orch_workflows_list in
 * domain/workflows/workflows.h; the start-up checks read the same list. */
orch_err_t orch_workflows_register_all(orch_registry_t *r, const orch_wf_entry_t *extra,
                                       orch_error_t *err);

/* ---- The runner (pure: no store) ------------------------------------------------------------ */

/* The first leaf whose key is not in done (keys of committed success/skipped steps), or
 * NULL when every leaf is done. Matching is by key, never by position. */
const orch_leaf_t *orch_runner_next(const orch_workflow_t *wf, const char *const *done,
                                    size_t ndone);

/* The same for a branch process: the first leaf of the branch branch_key ("parallel/branch")
 * whose key is not in done, or NULL when the branch is done. */
const orch_leaf_t *orch_runner_next_in_branch(const orch_workflow_t *wf, const char *branch_key,
                                              const char *const *done, size_t ndone);
/* The leaf (step) with this key, or NULL when there is none or wf is NULL (a process whose
 * workflow version is not loaded here). Borrowed from wf. */
const orch_leaf_t *orch_workflow_leaf(const orch_workflow_t *wf, const char *key);
/* The main-line leaf of the parallel step key, or NULL. */
const orch_leaf_t *orch_parallel_leaf(const orch_workflow_t *wf, const char *key);

/* Exponential back-off: base * 2^attempt, capped at max (defaults when 0). */
int64_t orch_backoff_ms(int base_ms, int max_ms, int attempt);

/* Shallow merge: a new state = state + changes (changes win). Caller owns the result. */
json_t *orch_state_merge(const json_t *state, const json_t *changes);

/* The recorded outcome of running one leaf. Caller cleans up with orch_outcome_cleanup. */
typedef struct orch_outcome {
    const char *step_status;    /* "success", "skipped", "waiting", "failed", "abort",
                                   "complete" (static) */
    const char *process_status; /* "running", "waiting", "failed", "aborted", "completed" */
    bool runnable;              /* the process needs a worker again */
    int64_t next_run_delay_ms;  /* runnable: when (0 = at once) */
    bool finished;              /* completed or aborted: end time */
    int retry_count;            /* the process's attempt counter after this step */
    json_t *state;              /* full state after the step (owned) */
    json_t *delta;              /* what the step changed (owned; {} when nothing) */
    json_t *error;              /* failed / waiting / abort: {reason, message, details} */
} orch_outcome_t;
void orch_outcome_cleanup(orch_outcome_t *o);

/* Runs one leaf on state (not changed): a conditional's predicate, the step function
 * (ctx->attempt = attempt), the time-out check, then turns the result into an outcome.
 * Never fails: errors of the step become a failed outcome. */
void orch_runner_run(const orch_workflow_t *wf, const orch_leaf_t *leaf, orch_step_ctx_t *ctx,
                     const json_t *state, int attempt, orch_outcome_t *out);

/* ---- Parallel branches: the join (pure; domain/engine/parallel.c) -------------------------- */

/* One branch run as the store reports it at the join. Borrowed. */
typedef struct orch_branch_run {
    const char *name;          /* the branch name */
    const char *status;        /* the branch process's last_status */
    const json_t *initial;     /* the state it started from */
    const json_t *final;       /* its state now (its last audit row, else initial) */
    const char *failed_reason; /* NULL unless failed */
    const json_t *failed_details;
} orch_branch_run_t;

/* True when a branch process will not move on by itself: completed, failed (or
 * api_unavailable / inconsistent_data), aborted. */
bool orch_branch_settled(const char *status);
/* What a branch changed: the keys of final whose value differs from initial (a new object). */
json_t *orch_branch_result(const json_t *initial, const json_t *final);
/* The join of a parallel step once every branch is settled (caller checks): success with
 * each branch's result merged under its name, or failed PARALLEL_BRANCH_FAILED naming the
 * failed branches (details {"failed": [names], "errors": {name: {reason, message}}}) when
 * any branch did not complete. Same contract as orch_runner_run. */
void orch_parallel_join(const orch_leaf_t *leaf, const orch_branch_run_t *runs, size_t n,
                        const json_t *state, int attempt, orch_outcome_t *out);

/* The standard steps of the lifecycle wrappers (domain/engine/lifecycle.c). */
orch_step_result_t orch_lc_unsync(orch_step_ctx_t *ctx, json_t *state);
/* The same for reconcile: takes the lock also when the subscription is already out of sync. */
orch_step_result_t orch_lc_unsync_reconcile(orch_step_ctx_t *ctx, json_t *state);
orch_step_result_t orch_lc_resync(orch_step_ctx_t *ctx, json_t *state);
orch_step_result_t orch_lc_set_status_active(orch_step_ctx_t *ctx, json_t *state);
orch_step_result_t orch_lc_set_status_terminated(orch_step_ctx_t *ctx, json_t *state);

/* The default time-out of one step run when the step declares none. */
#define ORCH_STEP_TIMEOUT_DEFAULT_MS 300000

#endif
