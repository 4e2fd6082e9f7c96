-- The engine's hot path, fifth pass (issue 17): a step in the middle of a stretch writes its
-- delta, not the whole state. docs/SCHEMA.md ("The state tail") has the why, bench/README.md
-- (eighth pass) the figures.
--
-- Every step wrote the process's whole state twice: on the process row and on its audit
-- row. A workflow whose state grows by a key a step (bench_grow_100: 1 KiB a step, 100 KiB
-- at the end) paid for that state, parsed, compressed and logged twice, on every step, so
-- its cost per step grew with its length (0.20x the 10-step workflow's steps/s).
--
-- Now a step committed in mode 'next' (the worker holds the lease and runs the next step
-- from memory) may come without its state: its audit row keeps state NULL and only its
-- state_delta, and the process row keeps the state it had, marked state_lag. Every other
-- commit (the stretch ends or yields, a failure, a branch, a subscription link, a form, a
-- remote step) writes the state in full, as before. So:
--   * processes.state is the state after the last audit row that holds its state in full
--     (or the process's initial input, before any): the writers below keep that so;
--   * the current state is processes.state merged with the deltas of the audit rows after
--     that one (at most a stretch: 32 steps), which orch_state_of reads only when
--     state_lag is set: after a crash in the middle of a stretch, or while one runs;
--   * an audit row's full state is the one before it merged with its delta (merges are
--     shallow, key by key, as the engine's: orch_state_merge).

ALTER TABLE processes ADD COLUMN state_lag boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN processes.state_lag IS
    'Audit rows after the last full one hold deltas only: the current state is '
    'orch_state_of(process_id, state, state_lag), not state.';
ALTER TABLE process_steps ALTER COLUMN state DROP NOT NULL;
COMMENT ON COLUMN process_steps.state IS
    'Full state after the step; NULL for a step committed in the middle of a stretch (0022): '
    'then the state before it merged with state_delta.';

-- The full states still written (at a stretch's end, about 100 KiB at bench_grow_100's)
-- are compressed with lz4 where PostgreSQL was built with it (Debian's is): pglz_compress
-- was 7.6% of the backends' CPU in that workflow. New values only; old ones stay as they
-- are, and both read alike.
DO $$
BEGIN
    ALTER TABLE processes ALTER COLUMN state SET COMPRESSION lz4;
    ALTER TABLE process_steps ALTER COLUMN state SET COMPRESSION lz4,
        ALTER COLUMN state_delta SET COMPRESSION lz4;
    ALTER TABLE process_events ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available here: states stay compressed with pglz';
END
$$;

-- The deltas of a process's audit rows after its last full one, merged in order ('{}' when
-- the last row is full). Merging the deltas first and the state once is the same as
-- merging each delta into the state in turn: a shallow merge is associative.
CREATE FUNCTION orch_state_tail(pid uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET enable_seqscan = off
AS $$
DECLARE
    acc jsonb := '{}';
    r record;
BEGIN
    FOR r IN SELECT s.state IS NULL AS tail, s.state_delta FROM process_steps s
              WHERE s.process_id = pid ORDER BY s.sequence DESC LOOP
        EXIT WHEN NOT r.tail;
        acc := r.state_delta || acc;
    END LOOP;
    RETURN acc;
END
$$;

-- A process's current state from its row's state and state_lag.
CREATE FUNCTION orch_state_of(pid uuid, base jsonb, lag boolean) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN lag THEN base || orch_state_tail(pid) ELSE base END
$$;

-- The same by id (NULL for no such process).
CREATE FUNCTION orch_process_state(pid uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT orch_state_of(p.process_id, p.state, p.state_lag) FROM processes p
     WHERE p.process_id = pid
$$;

-- An audit row written outside orch_commit_steps (a form, a remote step, a sweep, the join)
-- holds its state in full (one without would be folded): the process row follows it and no
-- longer lags. (orch_commit_part, which orch_commit_steps calls, writes the state in full
-- too but leaves state_lag as it was: a lag over no delta row reads the row's state.)
CREATE OR REPLACE FUNCTION processes_follow_steps() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE processes SET state = coalesce(NEW.state, orch_state_of(process_id, state, state_lag)
                                          || NEW.state_delta),
        state_lag = false, step_seq = NEW.sequence, next_step_key = NULL,
        next_step_name = NULL, next_step_timeout_ms = NULL,
        done_keys = CASE WHEN NEW.status IN ('success', 'skipped', 'complete')
                         THEN array_append(done_keys, NEW.step_key) ELSE done_keys END
     WHERE process_id = NEW.process_id AND step_seq < NEW.sequence;
    RETURN NULL;
END
$$;

-- An audit row removed by hand: the state is that of what remains, folded.
CREATE OR REPLACE FUNCTION processes_forget_steps() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE processes p SET
        state = coalesce((SELECT s.state FROM process_steps s WHERE s.process_id = p.process_id
                            AND s.state IS NOT NULL ORDER BY s.sequence DESC LIMIT 1),
                         (SELECT i.inputs FROM input_states i WHERE i.process_id = p.process_id
                            AND i.input_type = 'initial_state'
                            AND jsonb_typeof(i.inputs) = 'object'
                          ORDER BY i.input_time LIMIT 1), '{}') || orch_state_tail(p.process_id),
        state_lag = false,
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

-- orch_commit_steps as 0021 defined it, but for the state: a plain part in mode 'next'
-- without 'state' leaves the process row's state and sets state_lag, and its audit row
-- holds its delta only. A part without 'state' that is not written so (the engine paused
-- turned 'next' into 'release'; or it goes part by part) gets its state from the row,
-- folded, merged with its delta: what the engine holds in memory.
CREATE OR REPLACE FUNCTION orch_commit_steps(parts jsonb, isolate boolean)
RETURNS TABLE (ok boolean, reason text, event_sequence bigint, paused boolean,
               lease_token bigint, step_started text)
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    p jsonb;
    o bigint;
    v_paused boolean;
    v_now timestamptz;
    v_done jsonb := '{}';
    v_wake boolean := false;
BEGIN
    SELECT es.paused INTO v_paused FROM engine_settings es;
    PERFORM set_config('orch.commit_steps', 'on', true);
    IF NOT isolate THEN
        v_now := clock_timestamp();
        WITH q AS (
            SELECT t.ord, t.x,
                   CASE WHEN v_paused THEN 'release'
                        ELSE coalesce(t.x->>'mode', 'release') END AS mode,
                   (t.x->>'old_status') IS DISTINCT FROM (t.x->>'status') AS changed,
                   (t.x->>'step_status') IN ('success', 'skipped', 'complete') AS done,
                   t.x ? 'state' AS full
              FROM jsonb_array_elements(parts) WITH ORDINALITY AS t(x, ord)
             WHERE jsonb_typeof(t.x->'error') IS DISTINCT FROM 'object'
               AND coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(t.x->'subs') = 'array'
                                                    THEN t.x->'subs' END), 0) = 0
        ), u AS (
            UPDATE processes x SET
                last_status = q.x->>'status', last_step = q.x->>'name',
                last_step_key = q.x->>'key',
                runnable = (q.x->>'runnable')::boolean,
                next_run_time = CASE
                    WHEN q.mode = 'next' THEN least(now() + ((q.x->>'lease_ms') || ' ms')::interval,
                        v_now + ((q.x->>'next_timeout_ms') || ' ms')::interval)
                    WHEN q.mode = 'keep' THEN now() + ((q.x->>'lease_ms') || ' ms')::interval
                    WHEN (q.x->>'runnable')::boolean
                        THEN now() + ((q.x->>'delay_ms') || ' ms')::interval END,
                lease_owner = CASE WHEN q.mode = 'release' THEN NULL ELSE x.lease_owner END,
                lease_expires_time = CASE
                    WHEN q.mode = 'next' THEN least(now() + ((q.x->>'lease_ms') || ' ms')::interval,
                        v_now + ((q.x->>'next_timeout_ms') || ' ms')::interval)
                    WHEN q.mode = 'keep' THEN now() + ((q.x->>'lease_ms') || ' ms')::interval END,
                deadline_time = CASE WHEN q.mode = 'next'
                    THEN v_now + ((q.x->>'next_timeout_ms') || ' ms')::interval END,
                running_step_key = CASE WHEN q.mode = 'next' THEN q.x->>'next_key' END,
                next_step_key = q.x->>'next_key', next_step_name = q.x->>'next_name',
                next_step_timeout_ms = (q.x->>'next_timeout_ms')::int,
                running_step_name = CASE WHEN q.mode = 'next' THEN q.x->>'next_name' END,
                retry_count = (q.x->>'retry')::int,
                end_time = CASE WHEN (q.x->>'finished')::boolean THEN now() END,
                failed_reason = NULL,
                failed_details = NULL,
                update_time = now(),
                state = CASE WHEN q.full THEN q.x->'state'
                             WHEN q.mode = 'next' THEN x.state
                             ELSE orch_state_of(x.process_id, x.state, x.state_lag)
                                  || coalesce(q.x->'delta', '{}') END,
                state_lag = NOT q.full AND q.mode = 'next',
                done_keys = CASE WHEN q.done THEN array_append(x.done_keys, q.x->>'key')
                                 ELSE x.done_keys END,
                step_seq = x.step_seq + 1,
                last_event_sequence = x.last_event_sequence
                    + CASE WHEN q.changed THEN 2 ELSE 1 END
              FROM q
             WHERE x.process_id = (q.x->>'pid')::uuid AND x.lease_token = (q.x->>'tok')::bigint
               AND x.parent_process_id IS NULL
            RETURNING q.ord, q.x, q.mode, q.changed, x.last_event_sequence AS seq, x.step_seq,
                      CASE WHEN NOT x.state_lag THEN x.state END AS state
        ), s AS (
            INSERT INTO process_steps (process_id, sequence, step_key, name, status, state,
                state_delta, error, start_time, executed_by, lease_token)
            SELECT (u.x->>'pid')::uuid, u.step_seq, u.x->>'key', u.x->>'name',
                   u.x->>'step_status', u.state, coalesce(u.x->'delta', '{}'), NULL,
                   least(coalesce((u.x->>'start')::timestamptz, now()), clock_timestamp()),
                   u.x->>'by', (u.x->>'tok')::bigint
              FROM u
        ), e AS (
            INSERT INTO process_events (process_id, sequence, kind, payload)
            SELECT (u.x->>'pid')::uuid, u.seq - CASE WHEN u.changed THEN 1 ELSE 0 END,
                   'step_committed',
                   jsonb_build_object('step_key', u.x->>'key', 'name', u.x->>'name',
                       'status', u.x->>'step_status',
                       'state_delta', coalesce(u.x->'delta', '{}'))
              FROM u
            UNION ALL
            SELECT (u.x->>'pid')::uuid, u.seq, 'status_changed', jsonb_build_object(
                       'old_status', u.x->>'old_status', 'new_status', u.x->>'status',
                       'step_key', u.x->>'key', 'name', u.x->>'name',
                       'step_status', u.x->>'step_status',
                       'delta', coalesce(u.x->'delta', '{}'))
              FROM u WHERE u.changed
        )
        SELECT coalesce(jsonb_object_agg(u.ord::text,
                   jsonb_build_object('seq', u.seq, 'next', u.mode = 'next')), '{}'),
               coalesce(bool_or(u.mode = 'release' AND (u.x->>'runnable')::boolean), false)
          INTO v_done, v_wake
          FROM u;
        IF v_wake THEN
            PERFORM pg_notify('orch_engine', '');
        END IF;
    END IF;
    FOR p, o IN SELECT t.x, t.ord FROM jsonb_array_elements(parts) WITH ORDINALITY AS t(x, ord)
    LOOP
        IF v_done ? o::text THEN
            ok := true;
            reason := NULL;
            event_sequence := (v_done->o::text->>'seq')::bigint;
            paused := v_paused;
            lease_token := (p->>'tok')::bigint;
            step_started := CASE WHEN (v_done->o::text->>'next')::boolean
                                 THEN v_now::text END;
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF NOT p ? 'state' THEN
            p := p || jsonb_build_object('state', orch_process_state((p->>'pid')::uuid)
                                                  || coalesce(p->'delta', '{}'));
        END IF;
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
