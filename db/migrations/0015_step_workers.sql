-- Step workers (issue 22): steps run by programs outside the server, in any language, over
-- the StepWorkerService. A remote step is a wait like a callback step: the engine writes a
-- task row and releases the process (awaiting_callback); the replica that holds a worker's
-- stream claims tasks for it (FOR UPDATE SKIP LOCKED) under a lease, whichever replica runs
-- the process; the worker's answer, fenced by the attempt's token, commits the step.

-- A connected worker: one row per open StreamTasks call, gone when the stream ends.
CREATE TABLE step_workers (
    worker_id      uuid PRIMARY KEY,
    -- The authenticated caller that opened the stream (a token's name), and the name the
    -- worker gave itself.
    identity       text NOT NULL CHECK (length(identity) <= 255),
    name           text NOT NULL CHECK (length(name) <= 255),
    replica_id     uuid NOT NULL,
    task_types     text[] NOT NULL,
    capacity       integer NOT NULL CHECK (capacity > 0),
    connect_time   timestamptz NOT NULL DEFAULT now(),
    heartbeat_time timestamptz NOT NULL DEFAULT now(),
    -- Heartbeat plus the replica's heartbeat time-out: a worker is live until then (a step
    -- with a fall-back runs it in process when no live worker serves its task type).
    expire_time    timestamptz NOT NULL
);
CREATE INDEX step_workers_types ON step_workers USING gin (task_types);

-- One task per run of a remote step. pending: waits for a worker (available_time says from
-- when); delivered: a worker holds it under lease_expires_time with the attempt's token
-- (only its SHA-256 is kept); done: answered; failed: the process failed at it; cancelled:
-- the step was run again (a retry) or the process moved on.
CREATE TABLE worker_tasks (
    task_id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    process_id         uuid NOT NULL REFERENCES processes ON DELETE CASCADE,
    step_key           text NOT NULL CHECK (length(step_key) <= 255),
    step_name          text NOT NULL CHECK (length(step_name) <= 255),
    task_type          text NOT NULL CHECK (length(task_type) <= 255),
    -- The step declared that it needs the process's secret answers.
    needs_secrets      boolean NOT NULL DEFAULT false,
    status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'delivered', 'done', 'failed', 'cancelled')),
    -- Deliveries so far; the step's retry policy: at most max_attempts, a retryable failure
    -- backs off backoff_ms * 2^(attempt - 1), capped at backoff_max_ms.
    attempt            integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts       integer NOT NULL CHECK (max_attempts > 0),
    backoff_ms         integer NOT NULL CHECK (backoff_ms > 0),
    backoff_max_ms     integer NOT NULL CHECK (backoff_max_ms > 0),
    token_hash         bytea,
    worker_id          uuid,
    worker_name        text CHECK (length(worker_name) <= 255),
    available_time     timestamptz NOT NULL DEFAULT now(),
    lease_expires_time timestamptz,
    -- The step's time-out: the process fails when no answer came by then.
    deadline_time      timestamptz NOT NULL,
    create_time        timestamptz NOT NULL DEFAULT now(),
    end_time           timestamptz,
    executed_by        text,
    last_error         jsonb,
    progress           jsonb,
    progress_message   text CHECK (length(progress_message) <= 2000),
    progress_time      timestamptz,
    CHECK ((status = 'delivered') = (token_hash IS NOT NULL AND lease_expires_time IS NOT NULL))
);
-- The claim reads open tasks of a type by age; the sweep reads them by deadline.
CREATE INDEX worker_tasks_open ON worker_tasks (task_type, available_time)
    WHERE status IN ('pending', 'delivered');
CREATE INDEX worker_tasks_process ON worker_tasks (process_id, step_key);
CREATE INDEX worker_tasks_worker ON worker_tasks (worker_id) WHERE status = 'delivered';
