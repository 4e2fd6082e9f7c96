-- The engine's shared state across replicas: the global pause switch, replica heartbeats,
-- the workflow versions each replica can run, and idempotency keys for mutating calls.
-- Everything a replica knows about the others comes from these rows; nothing else is shared.
-- Every time is PostgreSQL's (now() in the writing statement), never a replica's clock.

-- The global pause switch (the reference's engine_settings "global lock"). Exactly one row.
-- While paused: starts/resumes are refused (UNAVAILABLE ENGINE_PAUSED), the claim query
-- claims nothing, and workers stop before their next step. PAUSING vs PAUSED is derived:
-- paused AND some process still holds a live lease = PAUSING.
CREATE TABLE engine_settings (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    paused      boolean NOT NULL DEFAULT false,
    -- Who flipped the switch last, and when (EngineStatus.updated_by / update_time).
    updated_by  text CHECK (length(updated_by) <= 255),
    update_time timestamptz NOT NULL DEFAULT now()
);
INSERT INTO engine_settings DEFAULT VALUES;
COMMENT ON TABLE engine_settings IS
    'Single row: the global engine pause switch, read by every replica''s claim query.';

-- One row per running server process. replica_id is new at every start (a pod name
-- repeats across restarts; a replica's leases must not survive its restart). The replica
-- updates heartbeat_time every few seconds; a row whose heartbeat is older than the
-- takeover threshold is dead: any replica may then expire its leases (processes
-- .next_run_time = now(), lease_token + 1) so they are claimed again without waiting for
-- lease_expires_time, and later delete the row. ListReplicas derives the state: stop_time
-- set = STOPPED, draining = DRAINING, heartbeat too old = LOST, else SERVING; its
-- running_step_count = count(*) FROM processes WHERE lease_owner = replica_id.
CREATE TABLE replicas (
    replica_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hostname         text NOT NULL CHECK (length(hostname) <= 255),
    pid              integer,
    build_version    text NOT NULL DEFAULT '' CHECK (length(build_version) <= 255),
    listen_address   text CHECK (length(listen_address) <= 255),
    worker_threads   integer NOT NULL DEFAULT 0 CHECK (worker_threads >= 0),
    start_time       timestamptz NOT NULL DEFAULT now(),
    heartbeat_time   timestamptz NOT NULL DEFAULT now(),
    -- Set on SIGTERM: the replica claims nothing more and releases what it holds.
    draining         boolean NOT NULL DEFAULT false,
    -- Set on a clean exit; the row is kept a while so ListReplicas can show it.
    stop_time        timestamptz
);
CREATE INDEX replicas_heartbeat ON replicas (heartbeat_time);

-- Workflow versions and their steps with stable keys. A binary may register several
-- versions of one workflow; a process records the version it started on and is matched to
-- its steps by key, never by position. Registered (INSERT ... ON CONFLICT DO NOTHING) by
-- every replica at start; a replica finding the same (workflow, version) with another
-- steps_digest refuses to start, so one version means one step list everywhere.
--
-- steps: a JSON array, in order, of
--   {"key": "allocate_loopback", "name": "Allocate loopback", "kind": "step"|"retry_step"|
--    "input_step"|"callback_step"|"conditional"|"step_group"|"parallel"|"done"|"abort",
--    "timeout_ms": 30000?, "children": [...]? (step_group), "branches": {"k": [...]}? (parallel)}
-- Keys are unique within a version (children are keyed "group.child").
CREATE TABLE workflow_versions (
    workflow_id      uuid NOT NULL REFERENCES workflows ON DELETE RESTRICT,
    version          integer NOT NULL CHECK (version >= 1),
    steps            jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array'),
    steps_digest     text NOT NULL CHECK (length(steps_digest) BETWEEN 1 AND 128),
    -- Progress denominator for watchers (steps done / top-level steps of the version).
    top_level_steps  integer GENERATED ALWAYS AS (jsonb_array_length(steps)) STORED,
    registered_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, version)
);
COMMENT ON TABLE workflow_versions IS
    'Step lists (with stable keys and kinds) of every registered workflow version.';

-- Which versions each live replica can run. The claim query joins it so a replica claims
-- only processes it can continue; a due process whose version no live replica has is failed
-- with a clear reason by whichever replica notices. Cascades away with the replica row.
CREATE TABLE replica_workflow_versions (
    replica_id  uuid NOT NULL REFERENCES replicas ON DELETE CASCADE,
    workflow_id uuid NOT NULL,
    version     integer NOT NULL,
    PRIMARY KEY (replica_id, workflow_id, version),
    FOREIGN KEY (workflow_id, version) REFERENCES workflow_versions ON DELETE CASCADE
);
CREATE INDEX replica_workflow_versions_version
    ON replica_workflow_versions (workflow_id, version);

-- Idempotency keys of mutating calls. Protocol: the handler's transaction first does
--   INSERT INTO request_ids (request_id, method, request_hash, ...) ON CONFLICT DO NOTHING
-- then the work, then UPDATEs response/grpc_code, then commits. A concurrent duplicate
-- (another thread or replica) blocks on the primary key until the first commits, then sees
-- the conflict and answers from the stored row (same method and hash) or FAILED_PRECONDITION
-- (different body); if the first rolls back, the duplicate's insert simply succeeds and it
-- does the work itself. So "two replicas at once" yields exactly one effect, with no
-- unique-violation error ever reaching a client.
CREATE TABLE request_ids (
    request_id   uuid PRIMARY KEY,
    method       text NOT NULL CHECK (length(method) BETWEEN 1 AND 255),
    -- SHA-256 of the canonical request without request_id.
    request_hash bytea NOT NULL CHECK (octet_length(request_hash) = 32),
    created_by   text CHECK (length(created_by) <= 255),
    -- The first answer: a gRPC status code and, for OK, the serialised response message.
    grpc_code    integer NOT NULL DEFAULT 0 CHECK (grpc_code BETWEEN 0 AND 16),
    response     bytea,
    create_time  timestamptz NOT NULL DEFAULT now(),
    expire_time  timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    CONSTRAINT request_ids_expire_check CHECK (expire_time > create_time)
);
-- The clean-up task: DELETE FROM request_ids WHERE expire_time < now().
CREATE INDEX request_ids_expire ON request_ids (expire_time);
