-- Secret form answers (fields declared secret), kept apart from the audit log. The audit log
-- (input_states, process_steps), the events and every RPC see "***" in their place; the
-- engine merges these values back into the state a step gets, and masks them again in what
-- the step commits. They live only while the process can still run a step: the trigger below
-- forgets them when the process completes or is aborted, and they go with the process.
CREATE TABLE process_secrets (
    process_id  uuid NOT NULL REFERENCES processes ON DELETE CASCADE,
    -- '' for the start form, else the input step whose answers they are.
    step_key    text NOT NULL CHECK (length(step_key) <= 255),
    -- The answers' secret values at their paths: deep-merged over the masked state.
    secrets     jsonb NOT NULL CHECK (jsonb_typeof(secrets) = 'object'),
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (process_id, step_key)
);

CREATE FUNCTION process_secrets_forget() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM process_secrets WHERE process_id = NEW.process_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER process_secrets_forget
    AFTER UPDATE OF last_status ON processes
    FOR EACH ROW
    WHEN (NEW.last_status IN ('completed', 'aborted') AND
          OLD.last_status IS DISTINCT FROM NEW.last_status)
    EXECUTE FUNCTION process_secrets_forget();
