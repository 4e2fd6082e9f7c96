-- Processes (running or finished workflows and tasks), their append-only audit log, the
-- subscriptions they touch, every validated input, and callback tokens. The engine columns
-- (lease, fencing token, next run time, deadline) make execution crash-safe across replicas
-- sharing nothing but this database; docs/SCHEMA.md gives the protocols in prose.

CREATE TABLE processes (
    process_id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_id         uuid NOT NULL REFERENCES workflows ON DELETE RESTRICT,
    -- The version the process started on; it finishes on that version's steps, by key.
    workflow_version    integer NOT NULL,
    -- A branch of a 'parallel' step runs as its own process row (claimed, leased and fenced
    -- like any other, on any replica), pointing at the process that owns the join.
    -- Top-level processes have both NULL; listings filter on parent_process_id IS NULL.
    parent_process_id   uuid REFERENCES processes ON DELETE CASCADE,
    branch_key          text CHECK (length(branch_key) BETWEEN 1 AND 255),
    -- The product a create workflow was started for (Process.product_id); NULL otherwise.
    -- The subscriptions a process touches are in processes_subscriptions.
    product_id          uuid REFERENCES products ON DELETE RESTRICT,
    last_status         text NOT NULL DEFAULT 'created'
                        CHECK (last_status IN ('created', 'running', 'suspended', 'waiting',
                                               'awaiting_callback', 'aborted', 'failed',
                                               'api_unavailable', 'inconsistent_data',
                                               'completed', 'resumed')),
    last_step           text CHECK (length(last_step) <= 255),     -- step name, for people
    last_step_key       text CHECK (length(last_step_key) <= 255), -- stable key, for the engine
    assignee            text NOT NULL DEFAULT 'SYSTEM'
                        CHECK (length(assignee) BETWEEN 1 AND 255),
    is_task             boolean NOT NULL DEFAULT false,
    created_by          text CHECK (length(created_by) <= 255),
    note                text CHECK (length(note) <= 5000),
    failed_reason       text CHECK (length(failed_reason) <= 10000),
    traceback           text CHECK (length(traceback) <= 50000),
    -- The error chain as structured JSON (reason, details, cause...), beside the text.
    failed_details      jsonb,
    start_time          timestamptz NOT NULL DEFAULT now(),
    update_time         timestamptz NOT NULL DEFAULT now(),
    end_time            timestamptz,                             -- completed or aborted

    -- Engine columns. See the claim protocol in docs/SCHEMA.md.
    -- runnable: a worker should pick this process up once next_run_time has passed
    -- (created, resumed, running, or waiting for a retry). Suspended, awaiting_callback and
    -- final processes are not runnable.
    runnable            boolean NOT NULL DEFAULT true,
    -- When a worker should next look at it, by PostgreSQL's clock. While leased it equals
    -- lease_expires_time, so an expired lease makes the process claimable again through the
    -- same partial index, with no second predicate and no sweeper.
    next_run_time       timestamptz DEFAULT now(),
    -- The replica holding the lease. Deliberately no foreign key to replicas: every claim
    -- would take a KEY SHARE lock on that replica's row, and concurrent claims by one
    -- replica's workers would turn it into MultiXacts (a known PostgreSQL contention trap).
    lease_owner         uuid,
    -- Fencing token: +1 at every claim and at every out-of-band transition that must stop a
    -- worker (abort, takeover). A worker's commits carry "WHERE lease_token = $claimed";
    -- 0 rows = the lease was lost, roll back.
    lease_token         bigint NOT NULL DEFAULT 0 CHECK (lease_token >= 0),
    lease_expires_time  timestamptz,
    -- Step time-out while running, or callback time-out while awaiting_callback. A process
    -- past its deadline is failed by any replica (bumping lease_token), so a hung step
    -- cannot keep its lease by renewing it.
    deadline_time       timestamptz,
    -- Consecutive failed/waiting attempts of the current step (the back-off exponent);
    -- reset when a step succeeds.
    retry_count         integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    -- Claims in total: a process claimed again and again without progress is crash-looping.
    claim_count         integer NOT NULL DEFAULT 0 CHECK (claim_count >= 0),
    -- Per-process event sequence (process_events.sequence), +1 under this row's lock.
    last_event_sequence bigint NOT NULL DEFAULT 0 CHECK (last_event_sequence >= 0),

    FOREIGN KEY (workflow_id, workflow_version) REFERENCES workflow_versions ON DELETE RESTRICT,
    CONSTRAINT processes_branch_check CHECK ((parent_process_id IS NULL) = (branch_key IS NULL)),
    CONSTRAINT processes_runnable_time_check CHECK (NOT runnable OR next_run_time IS NOT NULL),
    CONSTRAINT processes_runnable_status_check
        CHECK (NOT runnable OR last_status IN ('created', 'running', 'resumed', 'waiting')),
    CONSTRAINT processes_lease_check CHECK ((lease_owner IS NULL) = (lease_expires_time IS NULL)),
    CONSTRAINT processes_time_check CHECK (end_time IS NULL OR end_time >= start_time)
);
COMMENT ON TABLE processes IS
    'One row per workflow or task run (and per parallel branch); engine columns hold the lease.';
COMMENT ON COLUMN processes.lease_token IS
    'Fencing token, +1 at each claim/abort/takeover; '
    'commits are fenced with WHERE lease_token = $n.';
COMMENT ON COLUMN processes.next_run_time IS
    'Ready-by time (PostgreSQL clock). While leased = lease_expires_time, '
    'so expiry needs no sweeper.';

-- The claim query (one statement, autocommit; the lease and batch size are parameters):
--
--   UPDATE processes p
--      SET lease_owner = $1, lease_token = p.lease_token + 1,
--          lease_expires_time = now() + $2::interval, next_run_time = now() + $2::interval,
--          claim_count = p.claim_count + 1, update_time = now()
--     FROM (SELECT process_id FROM processes
--            WHERE runnable AND next_run_time <= now()
--              AND (workflow_id, workflow_version) IN
--                  (SELECT workflow_id, version FROM replica_workflow_versions
--                    WHERE replica_id = $1)
--              AND NOT (SELECT paused FROM engine_settings)
--            ORDER BY next_run_time
--            LIMIT $3
--            FOR UPDATE SKIP LOCKED) c
--    WHERE p.process_id = c.process_id
--   RETURNING p.process_id, p.lease_token, p.workflow_id, p.workflow_version, p.last_status;
--
-- It walks this partial index in next_run_time order and stops after $3 rows; processes
-- that are suspended, awaiting a callback or finished are not in the index at all.
CREATE INDEX processes_claim ON processes (next_run_time) WHERE runnable;
-- Deadlines: step time-outs and callback time-outs ("fail timed-out callbacks").
CREATE INDEX processes_deadline ON processes (deadline_time) WHERE deadline_time IS NOT NULL;
-- Takeover of a dead replica's processes: WHERE lease_owner = $dead.
CREATE INDEX processes_lease_owner ON processes (lease_owner) WHERE lease_owner IS NOT NULL;
-- Listing (keyset on (start_time, process_id)) by status / workflow / time; status counts.
CREATE INDEX processes_start_time ON processes (start_time, process_id);
CREATE INDEX processes_status ON processes (last_status, start_time, process_id);
CREATE INDEX processes_workflow ON processes (workflow_id, start_time, process_id);
-- "Clean up old tasks": finished tasks by end time.
CREATE INDEX processes_task_end ON processes (end_time) WHERE is_task AND end_time IS NOT NULL;
-- Branches of a parallel step (the join) and takeover of the parent's branches.
CREATE INDEX processes_parent ON processes (parent_process_id, branch_key)
    WHERE parent_process_id IS NOT NULL;

-- The audit log: one row per executed step, appended in the same transaction as the step's
-- effects (subscription changes, process status, events), fenced on processes.lease_token.
-- Append-only with one exception: an identical repeated failure of the last step updates
-- that row's retry_count and end_time instead of adding a row.
CREATE TABLE process_steps (
    step_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    process_id   uuid NOT NULL REFERENCES processes ON DELETE CASCADE,
    -- 1, 2, 3... within the process, assigned under the process row lock.
    sequence     integer NOT NULL CHECK (sequence >= 1),
    step_key     text NOT NULL CHECK (length(step_key) BETWEEN 1 AND 255),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    status       text NOT NULL
                 CHECK (status IN ('success', 'skipped', 'suspend', 'waiting',
                                   'awaiting_callback', 'failed', 'abort', 'complete')),
    -- Full state after the step (for a failed step: the state it started from).
    state        jsonb NOT NULL CHECK (jsonb_typeof(state) = 'object'),
    -- What this step changed (the merged result), for streams and GetProcess.
    state_delta  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(state_delta) = 'object'),
    -- For failed/waiting steps: reason and details; NULL otherwise.
    error        jsonb,
    start_time   timestamptz NOT NULL DEFAULT now(),
    end_time     timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Replica id of the worker, or the user for input/abort steps.
    executed_by  text CHECK (length(executed_by) <= 255),
    -- The fencing token the row was committed under (fault tests assert on it).
    lease_token  bigint,
    -- Identical failures collapsed into this row (0 = happened once).
    retry_count  integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    UNIQUE (process_id, sequence),
    CONSTRAINT process_steps_time_check CHECK (end_time >= start_time)
);
-- The database's own guarantee that no committed step runs twice: at most one successful
-- (or skipped) row per step key per process. A stale worker that slipped past the fence
-- would fail here with a unique violation instead of duplicating the step.
CREATE UNIQUE INDEX process_steps_once ON process_steps (process_id, step_key)
    WHERE status IN ('success', 'skipped');
COMMENT ON TABLE process_steps IS
    'Append-only audit log: one row per step outcome, with the full state after it.';

-- Which subscriptions a process touched (created, modified, locked). Also the way to find
-- "unfinished non-task processes of subscription S" for SetSubscriptionInSync and the lock.
CREATE TABLE processes_subscriptions (
    process_id      uuid NOT NULL REFERENCES processes ON DELETE CASCADE,
    subscription_id uuid NOT NULL REFERENCES subscriptions ON DELETE CASCADE,
    create_time     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (process_id, subscription_id)
);
CREATE INDEX processes_subscriptions_subscription
    ON processes_subscriptions (subscription_id, process_id);

-- Every validated input: the initial form answers at Start and each resume's answers,
-- with who gave them. Secret fields are replaced by the engine ("***") before the insert.
CREATE TABLE input_states (
    input_state_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    process_id     uuid NOT NULL REFERENCES processes ON DELETE CASCADE,
    input_type     text NOT NULL CHECK (input_type IN ('initial_state', 'user_input')),
    step_key       text CHECK (length(step_key) <= 255),   -- NULL for the initial input
    inputs         jsonb NOT NULL,
    given_by       text CHECK (length(given_by) <= 255),
    input_time     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT input_states_step_check CHECK ((input_type = 'initial_state') = (step_key IS NULL))
);
CREATE INDEX input_states_process ON input_states (process_id, input_time);

-- Callback tokens of callback steps. Only a hash of the token is stored (the token is a
-- bearer secret given to the external system). Delivery is once:
--   UPDATE callbacks SET delivered_time = now(), result = $3, delivered_by = $4
--    WHERE process_id = $1 AND token_hash = $2 AND delivered_time IS NULL RETURNING ...
-- 0 rows = wrong token or already delivered (a second SELECT tells which).
CREATE TABLE callbacks (
    callback_id    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    process_id     uuid NOT NULL REFERENCES processes ON DELETE CASCADE,
    step_key       text NOT NULL CHECK (length(step_key) BETWEEN 1 AND 255),
    token_hash     bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32), -- SHA-256
    create_time    timestamptz NOT NULL DEFAULT now(),
    expire_time    timestamptz,                            -- NULL = no time-out
    delivered_time timestamptz,
    delivered_by   text CHECK (length(delivered_by) <= 255),
    result         jsonb,
    -- Latest ReportCallbackProgress payload (each report is also a process event).
    progress       jsonb,
    progress_message text CHECK (length(progress_message) <= 2000),
    progress_time  timestamptz,
    CONSTRAINT callbacks_expire_check CHECK (expire_time IS NULL OR expire_time > create_time)
);
CREATE INDEX callbacks_process ON callbacks (process_id, step_key);
-- "Fail timed-out callbacks": undelivered callbacks by expiry.
CREATE INDEX callbacks_expire ON callbacks (expire_time)
    WHERE delivered_time IS NULL AND expire_time IS NOT NULL;
