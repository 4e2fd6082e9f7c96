-- Rolling upgrades across the state tail (0022). docs/SCHEMA.md ("The state tail") has the
-- why; test_hotpath_it earlier_release_sees_whole_states holds both halves.
--
-- A replica of a release before 0022 reads processes.state and the newest audit row's state
-- as the current state. Beside a replica that writes steps as deltas (the row lags, the
-- audit rows of a stretch hold state NULL) it would resume, fail or abort such a process
-- from a stale state, and what it then writes in full would be taken for the truth: the
-- keys of the stretch lost. The Helm chart's roll-out (maxSurge 1) runs both releases
-- side by side for as long as it takes, so this is the ordinary upgrade, not a corner.
--
-- 1. A replica says which engine protocol it speaks: 0 (the column's default, so every
--    release that does not know the column) or 1 (reads the state tail). A replica writes
--    steps as deltas only while every live replica speaks 1; otherwise whole states, as
--    before 0022 (db__engine_register, db__engine_heartbeat).
-- 2. A lagging row whose lease changes hands (a claim, a takeover, a time-out sweep: every
--    release's) is folded first, so whoever takes it reads the whole state from the row,
--    and the newest audit row gets the state it stands for (it held its delta only): an
--    earlier release reads the current state there when it fails or aborts a process.
--    That covers the rows that lag when a replica of an earlier release appears (a roll-
--    back, a restarted old pod) before the others' next heartbeat sees it, and a process
--    whose replica died in the middle of a stretch before a roll-back.

ALTER TABLE replicas ADD COLUMN engine_protocol integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN replicas.engine_protocol IS
    '0: a release that does not know this column (before 0023; those before 0022 read '
    'processes.state as the current state); 1: reads orch_state_of (0022). Steps are '
    'written as deltas only while every live replica speaks 1.';

-- The fold. Only a row that would still lag after the update: an update that writes the
-- state (a commit that ends the stretch clears state_lag; orch_commit_part writes it whole)
-- is left alone. (NEW.state || tail over a row that already holds the tail gives the same
-- state: the merges are shallow, key by key, and the tail is merged last either way.)
CREATE FUNCTION processes_fold_on_handover() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state THEN
        RETURN NEW;
    END IF;
    NEW.state := NEW.state || orch_state_tail(NEW.process_id);
    NEW.state_lag := false;
    -- The newest audit row's state is derived (NULL: the one before merged with its
    -- delta); written out, it is this one, and the tail ends there as the row's state.
    UPDATE process_steps s SET state = NEW.state
     WHERE s.process_id = NEW.process_id AND s.state IS NULL
       AND s.sequence = (SELECT max(x.sequence) FROM process_steps x
                          WHERE x.process_id = NEW.process_id);
    RETURN NEW;
END
$$;

-- WHEN keeps it off the hot path: a stretch's own commits keep their lease_owner, and a
-- row that does not lag never calls the function.
CREATE TRIGGER processes_fold_on_handover
    BEFORE UPDATE OF lease_owner ON processes
    FOR EACH ROW
    WHEN (OLD.state_lag AND NEW.state_lag AND NEW.lease_owner IS DISTINCT FROM OLD.lease_owner)
    EXECUTE FUNCTION processes_fold_on_handover();
