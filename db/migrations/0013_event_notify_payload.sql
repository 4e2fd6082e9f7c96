-- What a NOTIFY on orch_process_events / orch_subscription_events carries (docs/ARCHITECTURE.md,
-- "What a NOTIFY carries"). 0005 sent a constant empty payload, so every listener had to
-- look at every watched process after any event. Now the statement trigger names what the
-- statement inserted, one entry per process (or subscription):
--
--     <uuid>:<first sequence>-<last sequence>[,<uuid>:<first>-<last>]...
--
-- e.g. '1b4e28ba-2fa1-11d2-883f-0016d3cca427:7-9'. A watch hub reads only the feeds named,
-- and only if it has not read up to <last> already. When a statement inserts events of
-- more than 100 processes (or the list would pass 7,900 bytes, PostgreSQL's payload limit
-- being 8,000), the payload is empty, which keeps its old meaning: "read everything new".
-- Still one NOTIFY per inserting statement (the engine's step commit inserts its events in
-- one statement), still only a wake-up hint: readers always read the tables. A statement
-- that inserted no row (the trigger is per statement, so it fires for those too) sends
-- nothing: an empty payload there would make every hub read every feed for nothing.

CREATE OR REPLACE FUNCTION process_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    payload text;
    n int;
BEGIN
    SELECT count(*), string_agg(process_id::text || ':' || lo || '-' || hi, ',')
      INTO n, payload
      FROM (SELECT process_id, min(sequence) AS lo, max(sequence) AS hi
              FROM new_rows GROUP BY process_id LIMIT 101) s;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    IF n > 100 OR payload IS NULL OR length(payload) > 7900 THEN
        payload := '';
    END IF;
    PERFORM pg_notify('orch_process_events', payload);
    RETURN NULL;
END
$$;
DROP TRIGGER process_events_notify ON process_events;
CREATE TRIGGER process_events_notify AFTER INSERT ON process_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION process_events_notify();

CREATE OR REPLACE FUNCTION subscription_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    payload text;
    n int;
BEGIN
    SELECT count(*), string_agg(subscription_id::text || ':' || lo || '-' || hi, ',')
      INTO n, payload
      FROM (SELECT subscription_id, min(sequence) AS lo, max(sequence) AS hi
              FROM new_rows GROUP BY subscription_id LIMIT 101) s;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    IF n > 100 OR payload IS NULL OR length(payload) > 7900 THEN
        payload := '';
    END IF;
    PERFORM pg_notify('orch_subscription_events', payload);
    RETURN NULL;
END
$$;
DROP TRIGGER subscription_events_notify ON subscription_events;
CREATE TRIGGER subscription_events_notify AFTER INSERT ON subscription_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION subscription_events_notify();
