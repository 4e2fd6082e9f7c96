-- The engine's hot path, fourth pass (issue 17): a group commit writes its parts set-based.
-- docs/SCHEMA.md has the why, bench/README.md (seventh pass) the figures.
--
-- orch_commit_steps ran orch_commit_part once per part: per step, a function call and four
-- or five statements (the fenced UPDATE, the audit row, one or two events), each with its
-- executor start, its constraint expressions read back from text (the two-column CHECKs of
-- processes), and the events' statement trigger (one NOTIFY pass per INSERT). With a worker
-- holding several processes, a batch carries 8 to 16 parts, and those per-statement costs
-- were most of PostgreSQL's CPU per step (perf: executor start 19%, statement ends and
-- their triggers 12%, constraint parsing 6%).
--
-- Now the parts that need nothing else (no error to record or collapse, no subscription to
-- link, not a parallel branch) are written by one statement for the whole batch: one UPDATE
-- of their process rows under their fences, one INSERT of their audit rows, one INSERT of
-- their events, every column computed as orch_commit_part computes it. A part the UPDATE
-- did not match (a lost fence, or a branch, which the UPDATE leaves out) goes through
-- orch_commit_part as before, which writes the branch or answers LEASE_LOST; so do the
-- other parts, and every part when isolate is set (the retry of a batch an SQL error
-- failed). The answers come back in the parts' order, as before.

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
    -- Its audit rows carry the process row's columns already: processes_follow_steps
    -- (0011) would only run an UPDATE that matches nothing for each of them.
    PERFORM set_config('orch.commit_steps', 'on', true);
    IF NOT isolate THEN
        v_now := clock_timestamp();
        WITH q AS (
            SELECT t.ord, t.x,
                   CASE WHEN v_paused THEN 'release'
                        ELSE coalesce(t.x->>'mode', 'release') END AS mode,
                   (t.x->>'old_status') IS DISTINCT FROM (t.x->>'status') AS changed,
                   (t.x->>'step_status') IN ('success', 'skipped', 'complete') AS done
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
                state = q.x->'state',
                done_keys = CASE WHEN q.done THEN array_append(x.done_keys, q.x->>'key')
                                 ELSE x.done_keys END,
                step_seq = x.step_seq + 1,
                last_event_sequence = x.last_event_sequence
                    + CASE WHEN q.changed THEN 2 ELSE 1 END
              FROM q
             WHERE x.process_id = (q.x->>'pid')::uuid AND x.lease_token = (q.x->>'tok')::bigint
               AND x.parent_process_id IS NULL
            RETURNING q.ord, q.x, q.mode, q.changed, x.last_event_sequence AS seq, x.step_seq
        ), s AS (
            INSERT INTO process_steps (process_id, sequence, step_key, name, status, state,
                state_delta, error, start_time, executed_by, lease_token)
            SELECT (u.x->>'pid')::uuid, u.step_seq, u.x->>'key', u.x->>'name',
                   u.x->>'step_status', u.x->'state', coalesce(u.x->'delta', '{}'), NULL,
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
        ELSIF isolate THEN
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
