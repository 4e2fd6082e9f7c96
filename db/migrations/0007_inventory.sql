-- The simulated inventory (IMS / NRM ids) and IP address manager of the example workflows,
-- and the step a worker is running (so that a step that overruns its time-out can be failed
-- by any replica with its key in the audit log). Allocations are rows inserted inside a
-- workflow step's unit of work: a step rolled back (crash, lost lease, abort) leaks nothing.

-- One counter per pool ("ims_node", "nrm_node", "ipv4_loopback", "ipv6_loopback"). The
-- allocating statement holds the pool's row lock until its transaction ends, so values
-- are handed out once and in order.
CREATE TABLE inventory_pools (
    pool        text PRIMARY KEY CHECK (length(pool) BETWEEN 1 AND 64),
    next_value  bigint NOT NULL CHECK (next_value >= 1)
);

CREATE TABLE inventory_allocations (
    pool        text NOT NULL REFERENCES inventory_pools ON DELETE CASCADE,
    value       bigint NOT NULL,
    -- Who holds it: the process (and later the subscription) it was allocated for.
    owner       text NOT NULL CHECK (length(owner) BETWEEN 1 AND 255),
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pool, value)
);
CREATE INDEX inventory_allocations_owner ON inventory_allocations (owner);

-- The step running under the lease (set before it runs, cleared by its commit). NULL
-- whenever no step runs. Nullable columns: the previous release ignores them.
ALTER TABLE processes
    ADD COLUMN running_step_key text CHECK (length(running_step_key) <= 255),
    ADD COLUMN running_step_name text CHECK (length(running_step_name) <= 255);
