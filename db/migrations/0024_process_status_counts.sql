-- Process counts per status without reading the processes table. /metrics (orch_processes,
-- every scrape of every replica) and an unfiltered GetProcessStatusCounts (a dashboard's
-- poll) counted them with a sequential scan: 170 ms at a million processes here, and the
-- table only grows (finished processes are the record). docs/SCHEMA.md ("Process counts")
-- has the why of the shape; test_engine_it status_counts_kept_by_triggers holds it.
--
-- 1. Triggers write a change of a top-level process's status (and its creation and
--    deletion) as a row of process_status_deltas, in the transaction that makes the change:
--    the counts are exact, on every release's writes, and roll back with them. The deltas
--    are only ever inserted, so committing transactions never wait for each other here;
--    counters updated in place would have serialised every status change of every replica
--    on a few rows (and deadlocked group commits that take them in other orders).
-- 2. orch_process_status_fold() moves the deltas into process_status_counts, one session at
--    a time (an advisory lock; the others skip). Each replica's heartbeat calls it, so the
--    deltas hold about a second of changes. A read sums both tables (process_status_totals):
--    a fold commits its delete and its update together, so a read sees either side whole.
-- 3. The status changes a few times in a process's life, not at each step: the update
--    trigger's WHEN keeps the hot path's commits from calling it otherwise.

CREATE TABLE process_status_counts (
    is_task boolean NOT NULL,
    status  text NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (is_task, status)
);

-- n processes went from old_status to new_status; old_status NULL: created, new_status NULL:
-- deleted.
CREATE TABLE process_status_deltas (
    is_task    boolean NOT NULL,
    old_status text,
    new_status text,
    n          integer NOT NULL DEFAULT 1,
    CHECK (old_status IS NOT NULL OR new_status IS NOT NULL)
);

CREATE FUNCTION processes_count_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.parent_process_id IS NULL AND NEW.parent_process_id IS NULL
       AND OLD.is_task = NEW.is_task THEN
        INSERT INTO process_status_deltas (is_task, old_status, new_status)
        VALUES (NEW.is_task, OLD.last_status, NEW.last_status);
        RETURN NULL;
    END IF;
    -- A row that changes task-ness or parent (nothing does today) counts as a delete and a
    -- create.
    IF OLD.parent_process_id IS NULL THEN
        INSERT INTO process_status_deltas (is_task, old_status) VALUES (OLD.is_task, OLD.last_status);
    END IF;
    IF NEW.parent_process_id IS NULL THEN
        INSERT INTO process_status_deltas (is_task, new_status) VALUES (NEW.is_task, NEW.last_status);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER processes_count_status
    AFTER UPDATE OF last_status, is_task, parent_process_id ON processes
    FOR EACH ROW
    WHEN ((OLD.last_status, OLD.is_task, OLD.parent_process_id)
          IS DISTINCT FROM (NEW.last_status, NEW.is_task, NEW.parent_process_id))
    EXECUTE FUNCTION processes_count_status();

-- Creates and deletes come in sets (a batch of starts, a clean-up of tasks): one row per
-- status and statement. changed_rows is the statement's new rows for an INSERT, its old
-- ones for a DELETE.
CREATE FUNCTION processes_count_set() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO process_status_deltas (is_task, old_status, new_status, n)
    SELECT r.is_task, CASE WHEN TG_OP = 'DELETE' THEN r.last_status END,
           CASE WHEN TG_OP = 'INSERT' THEN r.last_status END, count(*)
      FROM changed_rows r
     WHERE r.parent_process_id IS NULL
     GROUP BY 1, 2, 3;
    RETURN NULL;
END
$$;

CREATE TRIGGER processes_count_created
    AFTER INSERT ON processes REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION processes_count_set();
CREATE TRIGGER processes_count_deleted
    AFTER DELETE ON processes REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION processes_count_set();

-- What a read sums. Statuses with no process are left out, as GetProcessStatusCounts says.
CREATE VIEW process_status_totals AS
SELECT x.is_task, x.status, sum(x.n)::bigint AS n
  FROM (SELECT c.is_task, c.status, c.n FROM process_status_counts c
        UNION ALL
        SELECT d.is_task, d.new_status, d.n FROM process_status_deltas d
         WHERE d.new_status IS NOT NULL
        UNION ALL
        SELECT d.is_task, d.old_status, -d.n FROM process_status_deltas d
         WHERE d.old_status IS NOT NULL) x
 GROUP BY x.is_task, x.status
HAVING sum(x.n) <> 0;

-- Moves the deltas into the counts; returns how many rows it moved (0 when another session
-- folds right now). Rows inserted by transactions still open are not visible to the DELETE
-- and wait for the next fold.
CREATE FUNCTION orch_process_status_fold() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    moved bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(7318004190024) THEN
        RETURN 0;
    END IF;
    WITH d AS (DELETE FROM process_status_deltas RETURNING is_task, old_status, new_status, n),
    s AS (SELECT d.is_task, d.new_status AS status, d.n FROM d WHERE d.new_status IS NOT NULL
          UNION ALL
          SELECT d.is_task, d.old_status, -d.n FROM d WHERE d.old_status IS NOT NULL),
    a AS (SELECT s.is_task, s.status, sum(s.n) AS n FROM s GROUP BY 1, 2),
    u AS (INSERT INTO process_status_counts AS c (is_task, status, n)
          SELECT a.is_task, a.status, a.n FROM a
          ON CONFLICT (is_task, status) DO UPDATE SET n = c.n + EXCLUDED.n)
    SELECT count(*) INTO moved FROM d;
    RETURN moved;
END
$$;

-- The processes there already. Writers wait from the first CREATE TRIGGER above (it locks
-- the table against them) to this file's commit, so no change falls between this count and
-- the triggers; the LOCK says so where the count is. 0.4 s at a million processes here.
LOCK TABLE processes IN SHARE MODE;
INSERT INTO process_status_counts (is_task, status, n)
SELECT p.is_task, p.last_status, count(*) FROM processes p
 WHERE p.parent_process_id IS NULL
 GROUP BY 1, 2;
