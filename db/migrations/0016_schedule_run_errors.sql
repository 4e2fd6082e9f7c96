-- Scheduled starts go through the StartProcess use case (issue 18), so the same rules hold
-- (the form, the subscription's lock and in-sync state, the pause switch). A start those
-- rules refuse is a run without a process: it records why, and the schedule moves on to its
-- next due time instead of retrying the refused start on every tick.

-- Why the run's start was refused (the error's reason and sentence); NULL for a run that
-- started its process.
ALTER TABLE schedule_runs ADD COLUMN error text;

-- The refusal of the schedule's last run, shown by ListSchedules as last_error; cleared by
-- the next run that starts its process.
ALTER TABLE schedules ADD COLUMN last_error text;
COMMENT ON COLUMN schedules.last_error IS
    'Why the last run''s start was refused (NULL when it started its process).';
