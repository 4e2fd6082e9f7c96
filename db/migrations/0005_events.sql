-- Events for the watch streams (WatchProcess, WatchProcesses, WatchSubscription). Events are
-- inserted in the same transaction as the change they describe (step commit, status change,
-- callback progress, subscription save), so an event exists if and only if its change
-- committed. LISTEN/NOTIFY is only a wake-up hint; watchers always read these tables.
--
-- THE TRAP. event_id comes from a sequence, and sequence values are handed out at insert
-- time, not at commit time: transaction A takes event_id 41, B takes 42, B commits first.
-- A reader that saw 42 and remembers "last = 42" would skip 41 for ever once A commits. So:
--
-- 1. Per-process order (WatchProcess): `sequence` is contiguous per process (1, 2, 3, ...)
--    and is assigned from processes.last_event_sequence, incremented in the same
--    transaction *after* taking that process's row lock (the fenced UPDATE of the step
--    commit does both). A second writer of the same process blocks on the row lock until
--    the first commits, then reads the new last_event_sequence (READ COMMITTED re-check).
--    So sequence k+1 of a process can only commit after k did: a reader that sees k+1
--    already sees k. Readers resume with
--        SELECT ... FROM process_events WHERE process_id = $1 AND sequence > $k ORDER BY sequence
--    and never miss or repeat an event.
--
-- 2. Global order (WatchProcesses): readers order by (tx_id, event_id), where tx_id is the
--    writing transaction's id, and read only transactions that have finished:
--        SELECT ... FROM process_events
--         WHERE (tx_id, event_id) > ($last_tx, $last_event_id)
--           AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
--         ORDER BY tx_id, event_id LIMIT $n
--    (READ COMMITTED, one statement, so the snapshot and the watermark are the same).
--    Every transaction with an id below the snapshot's xmin has committed or aborted, and
--    every transaction that gets an id later gets one above it, so the set of rows below
--    the watermark never grows behind the reader: no gap, no duplicate. The price: a
--    long-running transaction anywhere in the cluster holds the watermark back (events are
--    delayed, never lost); keep transactions short, and alert on old xmin.
--    The cursor handed to clients (WatchProcesses.after_cursor, ProcessEvent.cursor) is
--    the pair (tx_id, event_id) encoded as an opaque string; resuming needs no lookup and
--    works even after the row itself was pruned (a cursor older than the retention is
--    OUT_OF_RANGE all the same, so clients know they missed something). To start live
--    (empty cursor) use (pg_snapshot_xmin(pg_current_snapshot()), 0) read in the same
--    snapshot as the processes' snapshot, and drop live events whose per-process sequence
--    is not above the snapshot's last_event_sequence (they are already in the snapshot).

CREATE TABLE process_events (
    event_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The writing (top-level) transaction; see the global-order protocol above.
    tx_id       xid8 NOT NULL DEFAULT pg_current_xact_id(),
    -- Events of a parallel branch are written under the top-level process (with the branch
    -- key in the payload), so one stream shows the whole process.
    process_id  uuid NOT NULL REFERENCES processes ON DELETE CASCADE,
    sequence    bigint NOT NULL CHECK (sequence >= 1),
    -- lower_snake_case, e.g. process_created, step_committed, status_changed,
    -- callback_progress. A pattern, not a list, so a new kind needs no migration.
    kind        text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
    event_time  timestamptz NOT NULL DEFAULT clock_timestamp(),
    payload     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    UNIQUE (process_id, sequence)
);
-- The global cursor order.
CREATE INDEX process_events_cursor ON process_events (tx_id, event_id);
-- Retention (DELETE ... WHERE event_time < $cutoff): BRIN is nearly free on append-only rows.
CREATE INDEX process_events_time ON process_events USING brin (event_time);
COMMENT ON TABLE process_events IS
    'Stream events. Per-process order: sequence (contiguous, row-locked). '
    'Global order: (tx_id, event_id) below pg_snapshot_xmin.';
COMMENT ON COLUMN process_events.tx_id IS
    'Writing transaction; global readers only read '
    'tx_id < pg_snapshot_xmin(pg_current_snapshot()).';

-- The same design for WatchSubscription: sequence from subscriptions.last_event_sequence
-- under the subscription row lock (which the save holds anyway for its version bump).
CREATE TABLE subscription_events (
    event_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx_id           xid8 NOT NULL DEFAULT pg_current_xact_id(),
    subscription_id uuid NOT NULL REFERENCES subscriptions ON DELETE CASCADE,
    sequence        bigint NOT NULL CHECK (sequence >= 1),
    kind            text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
    -- The process whose step made the change, if any (no FK: tasks are deleted, history stays).
    process_id      uuid,
    event_time      timestamptz NOT NULL DEFAULT clock_timestamp(),
    payload         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    UNIQUE (subscription_id, sequence)
);
CREATE INDEX subscription_events_cursor ON subscription_events (tx_id, event_id);
CREATE INDEX subscription_events_time ON subscription_events USING brin (event_time);

-- Wake-ups. One NOTIFY per inserting statement with a constant, empty payload: PostgreSQL
-- folds identical notifications of one transaction into one, the payload limit never
-- matters, and no code path that writes events can forget to wake the watchers. Listeners
-- then read the tables with the protocols above.
CREATE FUNCTION process_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orch_process_events', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER process_events_notify AFTER INSERT ON process_events
    FOR EACH STATEMENT EXECUTE FUNCTION process_events_notify();

CREATE FUNCTION subscription_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orch_subscription_events', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER subscription_events_notify AFTER INSERT ON subscription_events
    FOR EACH STATEMENT EXECUTE FUNCTION subscription_events_notify();
