-- Parallel branches (step kind "parallel"). Each branch of a parallel step runs as a process
-- row of its own (processes.parent_process_id / branch_key = '<parallel key>/<branch>', from
-- 0004): claimed, leased, fenced, taken over and timed out like any process, on any replica.
-- Its audit rows are its own (step keys '<parallel key>/<branch>/<step>'); its step events are
-- written under the top-level process with the branch in the payload.
--
-- The parent, having started its branches, is parked: last_status 'running', not runnable,
-- no lease. THE JOIN: when the last branch settles (completed, failed, aborted...), the
-- parent becomes runnable, and the worker that claims it reads the branches under the
-- parent's row lock and commits the join (each branch's result merged under its name) or
-- the failure naming the failed branches. Whatever settles a branch (its last step's commit,
-- a failure, the time-out sweep, an abort) goes through this trigger, so no path can leave a
-- parent waiting for ever.
--
-- The race: two branches settling at once must not both miss each other. The trigger locks
-- the parent row first, in a statement of its own; the second branch waits there until the
-- first commits, and the next statement (a new snapshot: the function is VOLATILE and the
-- isolation READ COMMITTED) sees the first branch settled. A worker parking the parent
-- holds the same lock while it reads the branches, so it either sees the settled branch or
-- is seen by its trigger (which then finds the parent parked and wakes it).
-- Lock order everywhere: a branch row, then its parent row (step commits, this trigger),
-- so branch commits and the join never deadlock; AbortProcess locks a parent's branches
-- before the parent for the same reason.

CREATE FUNCTION processes_branch_settled() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM processes WHERE process_id = NEW.parent_process_id FOR UPDATE;
    UPDATE processes p SET runnable = true, next_run_time = now(), update_time = now()
     WHERE p.process_id = NEW.parent_process_id
       AND p.last_status = 'running' AND NOT p.runnable AND p.lease_owner IS NULL
       AND NOT EXISTS (SELECT 1 FROM processes b
                        WHERE b.parent_process_id = NEW.parent_process_id
                          AND split_part(b.branch_key, '/', 1) = split_part(NEW.branch_key, '/', 1)
                          AND b.last_status NOT IN ('completed', 'failed', 'api_unavailable',
                                                    'inconsistent_data', 'aborted'));
    IF FOUND THEN
        PERFORM pg_notify('orch_engine', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER processes_branch_settled
    AFTER UPDATE OF last_status ON processes
    FOR EACH ROW
    WHEN (NEW.parent_process_id IS NOT NULL AND OLD.last_status IS DISTINCT FROM NEW.last_status
          AND NEW.last_status IN ('completed', 'failed', 'api_unavailable', 'inconsistent_data',
                                  'aborted'))
    EXECUTE FUNCTION processes_branch_settled();

-- One branch process per (parent, parallel step, branch): a fork repeated after a crash
-- cannot start a branch twice.
CREATE UNIQUE INDEX processes_branch_once ON processes (parent_process_id, branch_key)
    WHERE parent_process_id IS NOT NULL;
