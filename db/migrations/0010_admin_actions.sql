-- The audit log of administrative actions: every call that needs the admin role (engine
-- pause and resume, product updates, set-in-sync, schedule changes, process deletions)
-- appends one row in the unit of work that makes the change, so an action is recorded if
-- and only if it committed. Processes keep their own audit log (process_steps,
-- input_states, process_events); this is the log of the rest. Append-only: nothing in the
-- server updates or deletes these rows.
CREATE TABLE admin_actions (
    action_id   bigserial PRIMARY KEY,
    action_time timestamptz NOT NULL DEFAULT now(),
    actor_kind  text NOT NULL CHECK (length(actor_kind) <= 32),
    actor_name  text NOT NULL CHECK (length(actor_name) <= 255),
    method      text NOT NULL CHECK (length(method) <= 255),
    target      text NOT NULL DEFAULT '' CHECK (length(target) <= 255),
    request_id  text NOT NULL DEFAULT '' CHECK (length(request_id) <= 64)
);
-- "What happened to X", newest first.
CREATE INDEX admin_actions_target ON admin_actions (target, action_id DESC);
COMMENT ON TABLE admin_actions IS
    'Append-only audit log of admin calls, written in the transaction of the change.';
