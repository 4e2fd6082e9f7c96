-- The engine's hot path (issue 17): a process carries its current state on its row, so a
-- worker loads it in O(1) whatever its history, and a step commits in one round trip through
-- orch_commit_steps(), which also commits the steps of several processes as one transaction
-- (group commit), each in its own subtransaction. docs/SCHEMA.md has the protocol.

-- The state after the last audit row (else the initial input), the keys of the steps done
-- (success, skipped, complete) and the sequence of the last audit row. The hot path writes
-- them with the step; every other writer of process_steps (resume with input, callbacks,
-- abort, the time-out sweep, the parallel join) keeps them current through the trigger below.
ALTER TABLE processes
    ADD COLUMN state jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(state) = 'object'),
    ADD COLUMN done_keys text[] NOT NULL DEFAULT '{}',
    ADD COLUMN step_seq integer NOT NULL DEFAULT 0 CHECK (step_seq >= 0),
    -- The step a claim shows running at once (key, name, time-out), as the engine last
    -- knew it; NULL = unknown (every writer but the engine's commit clears it through the
    -- triggers below), and the worker then shows its step in a round trip of its own.
    ADD COLUMN next_step_key text CHECK (length(next_step_key) <= 255),
    ADD COLUMN next_step_name text CHECK (length(next_step_name) <= 255),
    ADD COLUMN next_step_timeout_ms integer CHECK (next_step_timeout_ms > 0);

UPDATE processes p SET
    state = coalesce((SELECT s.state FROM process_steps s WHERE s.process_id = p.process_id
                      ORDER BY s.sequence DESC LIMIT 1),
                     (SELECT i.inputs FROM input_states i WHERE i.process_id = p.process_id
                        AND i.input_type = 'initial_state' AND jsonb_typeof(i.inputs) = 'object'
                      ORDER BY i.input_time LIMIT 1), '{}'),
    done_keys = coalesce((SELECT array_agg(s.step_key ORDER BY s.sequence) FROM process_steps s
                          WHERE s.process_id = p.process_id
                            AND s.status IN ('success', 'skipped', 'complete')), '{}'),
    step_seq = coalesce((SELECT max(s.sequence) FROM process_steps s
                         WHERE s.process_id = p.process_id), 0);

COMMENT ON COLUMN processes.state IS
    'State after the last audit row (else the initial input); the engine''s O(1) load.';
COMMENT ON COLUMN processes.done_keys IS
    'Keys of the steps done (success, skipped, complete), in commit order.';
COMMENT ON COLUMN processes.step_seq IS 'Sequence of the last process_steps row (0 = none).';

-- Writers other than orch_commit_steps append audit rows with max(sequence) + 1; the row
-- follows them. orch_commit_steps sets the columns itself, so for its rows the WHERE finds
-- step_seq already at the row's sequence and changes nothing.
CREATE FUNCTION processes_follow_steps() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE processes SET state = NEW.state, step_seq = NEW.sequence, next_step_key = NULL,
        next_step_name = NULL, next_step_timeout_ms = NULL,
        done_keys = CASE WHEN NEW.status IN ('success', 'skipped', 'complete')
                         THEN array_append(done_keys, NEW.step_key) ELSE done_keys END
     WHERE process_id = NEW.process_id AND step_seq < NEW.sequence;
    RETURN NULL;
END
$$;

CREATE TRIGGER processes_follow_steps AFTER INSERT ON process_steps
    FOR EACH ROW EXECUTE FUNCTION processes_follow_steps();

-- Audit rows are append-only for the server; one removed by hand (an operator's repair, or
-- a cascade from its process) leaves the row consistent with what remains.
CREATE FUNCTION processes_forget_steps() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE processes p SET
        state = coalesce((SELECT s.state FROM process_steps s WHERE s.process_id = p.process_id
                          ORDER BY s.sequence DESC LIMIT 1),
                         (SELECT i.inputs FROM input_states i WHERE i.process_id = p.process_id
                            AND i.input_type = 'initial_state'
                            AND jsonb_typeof(i.inputs) = 'object'
                          ORDER BY i.input_time LIMIT 1), '{}'),
        done_keys = coalesce((SELECT array_agg(s.step_key ORDER BY s.sequence)
                              FROM process_steps s WHERE s.process_id = p.process_id
                                AND s.status IN ('success', 'skipped', 'complete')), '{}'),
        step_seq = coalesce((SELECT max(s.sequence) FROM process_steps s
                             WHERE s.process_id = p.process_id), 0),
        next_step_key = NULL, next_step_name = NULL, next_step_timeout_ms = NULL
     WHERE p.process_id = OLD.process_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER processes_forget_steps AFTER DELETE ON process_steps
    FOR EACH ROW EXECUTE FUNCTION processes_forget_steps();

-- The pause switch travels to every replica's memory through NOTIFY (payload 'paused' or
-- 'running'), whoever flips it.
CREATE FUNCTION engine_settings_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orch_engine', CASE WHEN NEW.paused THEN 'paused' ELSE 'running' END);
    RETURN NULL;
END
$$;

CREATE TRIGGER engine_settings_notify AFTER UPDATE OF paused ON engine_settings
    FOR EACH ROW EXECUTE FUNCTION engine_settings_notify();

-- Commits the steps of one or more processes in one statement (one round trip, one
-- transaction when sent alone, one WAL flush). parts: a JSON array of objects:
--   pid, tok          the process and the lease token its worker holds (the fence)
--   old_status        the status the worker saw; status: the process's new last_status
--   key, name, step_status, state, delta, error (null = none), start (timestamptz text)
--   runnable, finished, delay_ms, retry, by, subs (array of subscription ids to link)
--   next_key, next_name, next_timeout_ms: the step that comes next, when the worker knows
--                     it and it is not a parallel step (else absent): shown running at once
--                     in mode 'next', else kept for the claim that takes the process
--   mode              'release': the stretch ends here (the lease is given up);
--                     'keep': the worker keeps its lease without a step running (it yields
--                     or runs a parallel step next);
--                     'next': the worker runs the next step at once: next_key, next_name,
--                     next_timeout_ms, and lease_ms say what the row shows meanwhile
-- Each part runs in its own subtransaction: a lost fence (reason LEASE_LOST) or an SQL
-- error rolls back that part only. When the engine is paused, 'next' and 'keep' release
-- instead, and paused comes back true: the worker stops its stretch.
-- One row per part, in order: ok, reason, event_sequence (the last event written),
-- paused, lease_token, step_started (the next step's start, when mode is 'next').
CREATE FUNCTION orch_commit_steps(parts jsonb)
RETURNS TABLE (ok boolean, reason text, event_sequence bigint, paused boolean,
               lease_token bigint, step_started text)
LANGUAGE plpgsql AS $$
DECLARE
    p jsonb;
    v_paused boolean;
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
    SELECT es.paused INTO v_paused FROM engine_settings es;
    FOR p IN SELECT x FROM jsonb_array_elements(parts) AS t(x) LOOP
        ok := false;
        reason := NULL;
        event_sequence := NULL;
        paused := v_paused;
        lease_token := (p->>'tok')::bigint;
        step_started := NULL;
        BEGIN
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
                RAISE EXCEPTION 'LEASE_LOST' USING ERRCODE = 'P0001';
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
        EXCEPTION WHEN OTHERS THEN
            ok := false;
            reason := CASE WHEN SQLERRM = 'LEASE_LOST' THEN 'LEASE_LOST'
                           ELSE SQLSTATE || ': ' || SQLERRM END;
        END;
        RETURN NEXT;
    END LOOP;
END
$$;
