-- The engine's hot path, third pass (issue 17): its plans do not depend on how fresh the
-- statistics are. docs/SCHEMA.md has the why, bench/README.md (sixth pass) the figures.
--
-- A session caches the plans of the foreign-key checks, of the statements inside PL/pgSQL
-- functions and of generic plans, and plans them again only when the table is analysed. A
-- table analysed while nearly empty (a new deployment's first minute under load, a VACUUM
-- after a purge) and filling faster than autovacuum analyses it gets plans that read it
-- sequentially: every step then read the whole processes table two or three times, and
-- steps/s fell as the table grew, by 2.5x within a 10 s bench window.
--
-- 1. The audit rows, events and inputs no longer carry a foreign key to their process. The
--    engine writes them only in the statement that also writes the process row under its
--    lease fence (orch_commit_part, the create, a resume), so the process exists by
--    construction; the check cost a lookup and a row lock for each row, 2.4 a step. What the
--    keys did on delete, a statement trigger does: a deleted process takes its history with
--    it, as ON DELETE CASCADE did.
-- 2. orch_commit_steps plans its statements (and the checks of the foreign keys that stay)
--    with enable_seqscan off: every statement it runs finds its rows by key. The server's
--    generic plans get the same setting (db/pool.c).

DO $$
DECLARE
    c record;
BEGIN
    -- Named by what they check, not by name: PostgreSQL named them.
    FOR c IN SELECT conrelid::regclass AS t, conname FROM pg_constraint
              WHERE contype = 'f' AND confrelid = 'processes'::regclass
                AND conrelid IN ('process_steps'::regclass, 'process_events'::regclass,
                                 'input_states'::regclass) LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.t, c.conname);
    END LOOP;
END
$$;

CREATE FUNCTION processes_delete_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM process_steps s USING gone g WHERE s.process_id = g.process_id;
    DELETE FROM process_events e USING gone g WHERE e.process_id = g.process_id;
    DELETE FROM input_states i USING gone g WHERE i.process_id = g.process_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER processes_delete_history AFTER DELETE ON processes
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION processes_delete_history();

ALTER FUNCTION orch_commit_steps(jsonb, boolean) SET enable_seqscan = off;
