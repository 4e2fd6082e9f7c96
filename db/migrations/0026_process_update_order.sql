-- orch:no-transaction
-- ListProcesses by order_by "update_time desc" (recent activity: what an operator's process
-- page sorts by) at a million processes: 1.7 s a page, a top-N sort over every match, and
-- 7-15 ms with this index (docs/SCHEMA.md, "Processes").
--
-- Outside a transaction, one idempotent statement (see 0019 and db/migrate.c): CREATE INDEX
-- CONCURRENTLY builds without blocking the engine's writes.
--
-- The cost: a step's update of its process row is never HOT (the claim index's
-- next_run_time changes at each step), so every index of processes gets an entry at every
-- step, and this is one more. Interleaved runs with and without it, ten no-op steps, 16
-- processes alive, four pairs: 443.1 / 451.4 processes/s, 2% less, inside this machine's
-- noise but lower in three of the four pairs. The other orders (end_time, status, workflow:
-- 1.5-4.4 s a page at a million) would cost as much each and are left without one.
CREATE INDEX CONCURRENTLY IF NOT EXISTS processes_update_order
    ON processes (update_time, process_id);
