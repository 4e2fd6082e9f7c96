-- The engine's hot path, second pass (issue 17): what PostgreSQL does per committed step
-- beyond writing its three rows. docs/SCHEMA.md has the why, bench/README.md the profile.
--
-- 1. The single-column CHECK constraints of the three tables a step writes become domains.
--    PostgreSQL re-reads a table's CHECK constraints from their stored text and plans them
--    again each time a statement that writes the table starts (ExecConstraints: 13-16% of
--    the backends' time in the engine bench, processes alone had 25); a domain's
--    constraints are kept planned in the type cache. The guarantee is the same: a value is
--    checked whenever it is written. The constraints that relate two columns stay on the
--    tables.
-- 2. processes_follow_steps no longer fires for the audit rows orch_commit_steps writes
--    (it sets the transaction-local orch.commit_steps around its writes); for every other
--    writer it follows as before.

CREATE DOMAIN orch_short_text AS text CHECK (length(VALUE) <= 255);
CREATE DOMAIN orch_key_text AS text CHECK (length(VALUE) BETWEEN 1 AND 255);
CREATE DOMAIN orch_note_text AS text CHECK (length(VALUE) <= 5000);
CREATE DOMAIN orch_reason_text AS text CHECK (length(VALUE) <= 10000);
CREATE DOMAIN orch_traceback_text AS text CHECK (length(VALUE) <= 50000);
CREATE DOMAIN orch_count AS integer CHECK (VALUE >= 0);
CREATE DOMAIN orch_count64 AS bigint CHECK (VALUE >= 0);
CREATE DOMAIN orch_positive AS integer CHECK (VALUE > 0);
CREATE DOMAIN orch_sequence AS integer CHECK (VALUE >= 1);
CREATE DOMAIN orch_sequence64 AS bigint CHECK (VALUE >= 1);
CREATE DOMAIN orch_json_object AS jsonb CHECK (jsonb_typeof(VALUE) = 'object');
CREATE DOMAIN orch_event_kind AS text CHECK (VALUE ~ '^[a-z][a-z0-9_]{0,62}$');
CREATE DOMAIN orch_process_status AS text CHECK (VALUE IN ('created', 'running', 'suspended',
    'waiting', 'awaiting_callback', 'aborted', 'failed', 'api_unavailable', 'inconsistent_data',
    'completed', 'resumed'));
CREATE DOMAIN orch_step_status AS text CHECK (VALUE IN ('success', 'skipped', 'suspend',
    'waiting', 'awaiting_callback', 'failed', 'abort', 'complete'));

-- Two triggers name last_status in their definition; a column's type changes only without
-- them. They come back unchanged (0008, 0009).
DROP TRIGGER processes_branch_settled ON processes;
DROP TRIGGER process_secrets_forget ON processes;

-- Drops every single-column CHECK of a table (the ones a domain now holds). Named by what
-- they check, not by name: PostgreSQL named them, and a database may have renamed them.
CREATE FUNCTION pg_temp.drop_column_checks(t regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
              WHERE conrelid = t AND contype = 'c' AND cardinality(conkey) = 1 LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', t, c.conname);
    END LOOP;
END
$$;
SELECT pg_temp.drop_column_checks('processes');
SELECT pg_temp.drop_column_checks('process_steps');
SELECT pg_temp.drop_column_checks('process_events');

ALTER TABLE processes
    ALTER COLUMN branch_key TYPE orch_key_text,
    ALTER COLUMN last_status TYPE orch_process_status,
    ALTER COLUMN last_step TYPE orch_short_text,
    ALTER COLUMN last_step_key TYPE orch_short_text,
    ALTER COLUMN assignee TYPE orch_key_text,
    ALTER COLUMN created_by TYPE orch_short_text,
    ALTER COLUMN note TYPE orch_note_text,
    ALTER COLUMN failed_reason TYPE orch_reason_text,
    ALTER COLUMN traceback TYPE orch_traceback_text,
    ALTER COLUMN lease_token TYPE orch_count64,
    ALTER COLUMN retry_count TYPE orch_count,
    ALTER COLUMN claim_count TYPE orch_count,
    ALTER COLUMN last_event_sequence TYPE orch_count64,
    ALTER COLUMN running_step_key TYPE orch_short_text,
    ALTER COLUMN running_step_name TYPE orch_short_text,
    ALTER COLUMN state TYPE orch_json_object,
    ALTER COLUMN step_seq TYPE orch_count,
    ALTER COLUMN next_step_key TYPE orch_short_text,
    ALTER COLUMN next_step_name TYPE orch_short_text,
    ALTER COLUMN next_step_timeout_ms TYPE orch_positive;

ALTER TABLE process_steps
    ALTER COLUMN sequence TYPE orch_sequence,
    ALTER COLUMN step_key TYPE orch_key_text,
    ALTER COLUMN name TYPE orch_key_text,
    ALTER COLUMN status TYPE orch_step_status,
    ALTER COLUMN state TYPE orch_json_object,
    ALTER COLUMN state_delta TYPE orch_json_object,
    ALTER COLUMN executed_by TYPE orch_short_text,
    ALTER COLUMN retry_count TYPE orch_count;

ALTER TABLE process_events
    ALTER COLUMN sequence TYPE orch_sequence64,
    ALTER COLUMN kind TYPE orch_event_kind,
    ALTER COLUMN payload TYPE orch_json_object;

CREATE TRIGGER processes_branch_settled
    AFTER UPDATE OF last_status ON processes
    FOR EACH ROW
    WHEN (NEW.parent_process_id IS NOT NULL AND OLD.last_status IS DISTINCT FROM NEW.last_status
          AND NEW.last_status IN ('completed', 'failed', 'api_unavailable', 'inconsistent_data',
                                  'aborted'))
    EXECUTE FUNCTION processes_branch_settled();

CREATE TRIGGER process_secrets_forget
    AFTER UPDATE OF last_status ON processes
    FOR EACH ROW
    WHEN (NEW.last_status IN ('completed', 'aborted') AND
          OLD.last_status IS DISTINCT FROM NEW.last_status)
    EXECUTE FUNCTION process_secrets_forget();

-- The WHEN is decided as the row is written, before any trigger body runs: the rows of
-- orch_commit_steps cost no trigger call at all, and a writer after it in the same
-- transaction is followed again (orch_commit_steps switches it off when it is done).
DROP TRIGGER processes_follow_steps ON process_steps;
CREATE TRIGGER processes_follow_steps AFTER INSERT ON process_steps
    FOR EACH ROW WHEN (current_setting('orch.commit_steps', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION processes_follow_steps();

-- One part of a step commit (see orch_commit_steps below): the fence, the process row, the
-- audit row, the events. A lost fence is an answer (ok false, reason LEASE_LOST) with
-- nothing written; an SQL error is an error, which the caller contains.
CREATE FUNCTION orch_commit_part(p jsonb, v_paused boolean, OUT ok boolean, OUT reason text,
                                 OUT event_sequence bigint, OUT paused boolean,
                                 OUT lease_token bigint, OUT step_started text)
LANGUAGE plpgsql AS $$
DECLARE
    v_mode text;
    v_changed boolean;
    v_nev int;
    v_collapse uuid;
    v_seq bigint;
    v_parent uuid;
    v_branch text;
    v_stepseq int;
    v_now timestamptz;
    v_done boolean;
BEGIN
    ok := false;
    paused := v_paused;
    lease_token := (p->>'tok')::bigint;
    v_mode := coalesce(p->>'mode', 'release');
    IF v_paused AND v_mode <> 'release' THEN
        v_mode := 'release';
    END IF;
    v_changed := (p->>'old_status') IS DISTINCT FROM (p->>'status');
    v_nev := CASE WHEN v_changed THEN 2 ELSE 1 END;
    v_done := (p->>'step_status') IN ('success', 'skipped', 'complete');
    v_now := clock_timestamp();
    -- An identical repeat of the last failure collapses into its row.
    v_collapse := NULL;
    IF jsonb_typeof(p->'error') = 'object' THEN
        SELECT s.step_id INTO v_collapse FROM process_steps s
         WHERE s.step_id = (SELECT y.step_id FROM process_steps y
                             WHERE y.process_id = (p->>'pid')::uuid
                             ORDER BY y.sequence DESC LIMIT 1)
           AND s.step_key = p->>'key' AND s.status = p->>'step_status'
           AND s.status IN ('failed', 'waiting') AND s.error = p->'error';
    END IF;
    -- The fence: no row = the lease moved on (abort, takeover, time-out). It also
    -- takes the row lock that orders this process's events.
    UPDATE processes x SET
        last_status = p->>'status', last_step = p->>'name', last_step_key = p->>'key',
        runnable = (p->>'runnable')::boolean,
        next_run_time = CASE
            WHEN v_mode = 'next' THEN least(now() + ((p->>'lease_ms') || ' ms')::interval,
                v_now + ((p->>'next_timeout_ms') || ' ms')::interval)
            WHEN v_mode = 'keep' THEN now() + ((p->>'lease_ms') || ' ms')::interval
            WHEN (p->>'runnable')::boolean
                THEN now() + ((p->>'delay_ms') || ' ms')::interval END,
        lease_owner = CASE WHEN v_mode = 'release' THEN NULL ELSE x.lease_owner END,
        lease_expires_time = CASE
            WHEN v_mode = 'next' THEN least(now() + ((p->>'lease_ms') || ' ms')::interval,
                v_now + ((p->>'next_timeout_ms') || ' ms')::interval)
            WHEN v_mode = 'keep' THEN now() + ((p->>'lease_ms') || ' ms')::interval END,
        deadline_time = CASE WHEN v_mode = 'next'
            THEN v_now + ((p->>'next_timeout_ms') || ' ms')::interval END,
        running_step_key = CASE WHEN v_mode = 'next' THEN p->>'next_key' END,
        next_step_key = p->>'next_key', next_step_name = p->>'next_name',
        next_step_timeout_ms = (p->>'next_timeout_ms')::int,
        running_step_name = CASE WHEN v_mode = 'next' THEN p->>'next_name' END,
        retry_count = (p->>'retry')::int,
        end_time = CASE WHEN (p->>'finished')::boolean THEN now() END,
        failed_reason = CASE WHEN p->>'status' = 'failed'
            THEN left(p->'error'->>'message', 10000) END,
        failed_details = CASE WHEN p->>'status' = 'failed'
            AND jsonb_typeof(p->'error') = 'object' THEN p->'error' END,
        update_time = now(),
        state = p->'state',
        done_keys = CASE WHEN v_done THEN array_append(x.done_keys, p->>'key')
                         ELSE x.done_keys END,
        step_seq = x.step_seq + CASE WHEN v_collapse IS NULL THEN 1 ELSE 0 END,
        last_event_sequence = x.last_event_sequence
            + CASE WHEN x.parent_process_id IS NULL THEN v_nev ELSE 0 END
     WHERE x.process_id = (p->>'pid')::uuid AND x.lease_token = (p->>'tok')::bigint
    RETURNING x.last_event_sequence, x.parent_process_id, split_part(x.branch_key, '/', 2),
              x.step_seq
         INTO v_seq, v_parent, v_branch, v_stepseq;
    IF NOT FOUND THEN
        reason := 'LEASE_LOST'; -- nothing written yet: nothing to roll back
        RETURN;
    END IF;
    IF v_parent IS NOT NULL THEN
        -- A branch: its step event goes to the top-level process's stream (branch
        -- named in the payload); its status changes are the join's business. Lock
        -- order branch row, then parent row, as in migration 0008.
        v_changed := false;
        UPDATE processes SET last_event_sequence = last_event_sequence + 1
         WHERE process_id = v_parent RETURNING last_event_sequence INTO v_seq;
    ELSE
        v_branch := '';
    END IF;
    IF v_collapse IS NOT NULL THEN
        UPDATE process_steps SET retry_count = retry_count + 1,
            end_time = clock_timestamp(), lease_token = (p->>'tok')::bigint
         WHERE step_id = v_collapse;
    ELSE
        INSERT INTO process_steps (process_id, sequence, step_key, name, status, state,
            state_delta, error, start_time, executed_by, lease_token)
        VALUES ((p->>'pid')::uuid, v_stepseq, p->>'key', p->>'name', p->>'step_status',
            p->'state', coalesce(p->'delta', '{}'),
            CASE WHEN jsonb_typeof(p->'error') = 'object' THEN p->'error' END,
            least(coalesce((p->>'start')::timestamptz, now()), clock_timestamp()),
            p->>'by', (p->>'tok')::bigint);
    END IF;
    IF jsonb_typeof(p->'subs') = 'array' AND jsonb_array_length(p->'subs') > 0 THEN
        INSERT INTO processes_subscriptions (process_id, subscription_id)
        SELECT (p->>'pid')::uuid, s::uuid FROM jsonb_array_elements_text(p->'subs') s
        ON CONFLICT DO NOTHING;
    END IF;
    INSERT INTO process_events (process_id, sequence, kind, payload)
    VALUES (coalesce(v_parent, (p->>'pid')::uuid),
            v_seq - CASE WHEN v_changed THEN 1 ELSE 0 END, 'step_committed',
            jsonb_build_object('step_key', p->>'key', 'name', p->>'name',
                'status', p->>'step_status', 'state_delta', coalesce(p->'delta', '{}'))
            || CASE WHEN v_branch = '' THEN '{}'::jsonb
                    ELSE jsonb_build_object('branch', v_branch) END);
    IF v_changed THEN
        INSERT INTO process_events (process_id, sequence, kind, payload)
        VALUES ((p->>'pid')::uuid, v_seq, 'status_changed', jsonb_build_object(
            'old_status', p->>'old_status', 'new_status', p->>'status',
            'step_key', p->>'key', 'name', p->>'name',
            'step_status', p->>'step_status', 'delta', coalesce(p->'delta', '{}')));
    END IF;
    IF v_mode = 'release' AND (p->>'runnable')::boolean THEN
        PERFORM pg_notify('orch_engine', '');
    END IF;
    ok := true;
    event_sequence := v_seq;
    IF v_mode = 'next' THEN
        step_started := v_now::text;
    END IF;
END
$$;

-- Commits the steps of one or more processes in one statement (one round trip, one
-- transaction when sent alone, one WAL flush). parts: as orch_commit_steps(jsonb) of 0011
-- took them. One row per part, in order: ok, reason, event_sequence, paused, lease_token,
-- step_started. When the engine is paused, 'next' and 'keep' release instead, and paused
-- comes back true: the worker stops its stretch.
--
-- isolate false (what the engine sends first): no subtransaction. A lost fence is still an
-- answer for its part alone (nothing of that part is written); an SQL error fails the whole
-- statement, and the engine sends the batch again with isolate true. isolate true: each part
-- in its own subtransaction, so an SQL error rolls back that part only (ok false, reason
-- "SQLSTATE: message") and the rest of the batch commits. A subtransaction per part cost
-- about a sixth of the statement's time, for the rare batch that needs it.
DROP FUNCTION orch_commit_steps(jsonb);
CREATE FUNCTION orch_commit_steps(parts jsonb, isolate boolean)
RETURNS TABLE (ok boolean, reason text, event_sequence bigint, paused boolean,
               lease_token bigint, step_started text)
LANGUAGE plpgsql AS $$
DECLARE
    p jsonb;
    v_paused boolean;
BEGIN
    SELECT es.paused INTO v_paused FROM engine_settings es;
    -- Its audit rows carry the process row's columns already: processes_follow_steps
    -- (0011) would only run an UPDATE that matches nothing for each of them.
    PERFORM set_config('orch.commit_steps', 'on', true);
    FOR p IN SELECT x FROM jsonb_array_elements(parts) AS t(x) LOOP
        IF isolate THEN
            BEGIN
                SELECT * INTO ok, reason, event_sequence, paused, lease_token, step_started
                  FROM orch_commit_part(p, v_paused);
            EXCEPTION WHEN OTHERS THEN
                ok := false;
                reason := SQLSTATE || ': ' || SQLERRM;
                event_sequence := NULL;
                paused := v_paused;
                lease_token := (p->>'tok')::bigint;
                step_started := NULL;
            END;
        ELSE
            SELECT * INTO ok, reason, event_sequence, paused, lease_token, step_started
              FROM orch_commit_part(p, v_paused);
        END IF;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('orch.commit_steps', 'off', true);
END
$$;
