-- Scheduled tasks: rows managed through EngineService (create / update / delete / list),
-- fired by whichever replica's scheduler gets there first, exactly once per due time.
--
-- Firing protocol (one transaction; every replica's scheduler runs it):
--   SELECT ... FROM schedules WHERE enabled AND next_run_time <= now()
--    ORDER BY next_run_time LIMIT $n FOR UPDATE SKIP LOCKED;
--   -- per row:
--   INSERT INTO schedule_runs (schedule_id, due_time, fired_by, process_id) VALUES (...);
--   INSERT INTO processes ...;   -- the task, with its input_states row
--   UPDATE schedules SET last_run_time = <due time>, next_run_time = <next due time after
--          the due time, computed by the scheduler from interval / cron (UTC)>, or NULL and
--          enabled = false for a fired 'once' ... WHERE schedule_id = $1;
--   COMMIT;
-- The row lock makes concurrent schedulers skip each other; the primary key of
-- schedule_runs makes a second firing of the same (schedule, due time) impossible even if
-- the lock were bypassed; and because all of it commits together, a replica dying midway
-- leaves the due time unfired for another replica, never half-fired. Each due time is fired
-- once (missed due times after a full outage are fired in order; the scheduler may instead
-- skip ahead, recording nothing, if that is the chosen policy).

CREATE TABLE schedules (
    schedule_id      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name             text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 255),
    workflow_id      uuid NOT NULL REFERENCES workflows ON DELETE RESTRICT,
    kind             text NOT NULL CHECK (kind IN ('interval', 'cron', 'once')),
    interval_seconds integer CHECK (interval_seconds >= 1),
    -- Anchor of an interval schedule (due times are start_time + k * interval); NULL = the
    -- creation time.
    start_time       timestamptz,
    -- Five-field cron expression, evaluated in UTC by our own parser.
    cron_expression  text CHECK (length(cron_expression) BETWEEN 1 AND 255),
    run_at           timestamptz,                          -- for 'once'
    -- Initial state given to the task it starts.
    user_inputs      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(user_inputs) = 'object'),
    enabled          boolean NOT NULL DEFAULT true,
    -- The next due time (PostgreSQL's clock); NULL once a 'once' schedule has fired.
    next_run_time    timestamptz,
    last_run_time    timestamptz,
    -- Optional claim for a firing that must span more than one transaction; the default
    -- protocol above fires in one transaction and leaves these NULL.
    claimed_by       uuid,
    lease_expires_time timestamptz,
    version          bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_by       text CHECK (length(created_by) <= 255),
    create_time      timestamptz NOT NULL DEFAULT now(),
    update_time      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schedules_interval_check
        CHECK ((kind = 'interval') = (interval_seconds IS NOT NULL)),
    CONSTRAINT schedules_cron_check CHECK ((kind = 'cron') = (cron_expression IS NOT NULL)),
    CONSTRAINT schedules_once_check CHECK ((kind = 'once') = (run_at IS NOT NULL)),
    CONSTRAINT schedules_start_check CHECK (kind = 'interval' OR start_time IS NULL),
    CONSTRAINT schedules_enabled_check CHECK (NOT enabled OR next_run_time IS NOT NULL),
    CONSTRAINT schedules_claim_check CHECK ((claimed_by IS NULL) = (lease_expires_time IS NULL))
);
-- The scheduler's due query.
CREATE INDEX schedules_due ON schedules (next_run_time) WHERE enabled;
COMMENT ON TABLE schedules IS
    'Scheduled tasks (interval / cron / once); fired exactly once per due time via schedule_runs.';

-- One row per fired due time: the exactly-once record, and the history ListSchedules shows.
CREATE TABLE schedule_runs (
    schedule_id uuid NOT NULL REFERENCES schedules ON DELETE CASCADE,
    due_time    timestamptz NOT NULL,
    fired_time  timestamptz NOT NULL DEFAULT now(),
    fired_by    uuid,                                      -- replica id
    -- SET NULL: cleaning up old tasks must not erase the firing history.
    process_id  uuid REFERENCES processes ON DELETE SET NULL,
    PRIMARY KEY (schedule_id, due_time)
);
CREATE INDEX schedule_runs_process ON schedule_runs (process_id) WHERE process_id IS NOT NULL;
CREATE INDEX schedule_runs_fired ON schedule_runs USING brin (fired_time);
