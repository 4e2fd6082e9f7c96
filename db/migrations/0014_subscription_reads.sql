-- orch:no-transaction
-- The subscription read path (issue 20): the notifications that keep each replica's read
-- cache current, and the indexes ListSubscriptions needs at a million subscriptions.
--
-- This file runs OUTSIDE a transaction (the marker on its first line, see db/migrate.c):
-- CREATE INDEX CONCURRENTLY builds an index without blocking writes, and cannot run inside
-- one. Every statement is run on its own and is idempotent (OR REPLACE, IF NOT EXISTS), so a
-- crash half-way is finished by the next start; the runner drops an index that a failed
-- concurrent build left INVALID before it runs the file again. Additive only.

-- ---- orch_subscription_changes ---------------------------------------------------------
-- NOTIFY orch_subscription_changes, payload: one subscription id, for every change of what
-- GetSubscription shows: the subscription row (every save bumps its version), its metadata,
-- its customer descriptions, and the subscriptions whose in_use_by a relation row adds or
-- removes. PostgreSQL folds identical notifications of one transaction into one, and sends
-- them only at commit. Subscription events (0005) do not cover metadata, customer
-- descriptions or in_use_by, hence a channel of its own.
CREATE OR REPLACE FUNCTION subscription_changes_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('orch_subscription_changes', OLD.subscription_id::text);
    ELSE
        PERFORM pg_notify('orch_subscription_changes', NEW.subscription_id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER subscriptions_changes_notify
    AFTER INSERT OR UPDATE OR DELETE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION subscription_changes_notify();
CREATE OR REPLACE TRIGGER subscription_metadata_changes_notify
    AFTER INSERT OR UPDATE OR DELETE ON subscription_metadata
    FOR EACH ROW EXECUTE FUNCTION subscription_changes_notify();
CREATE OR REPLACE TRIGGER subscription_customer_descriptions_changes_notify
    AFTER INSERT OR UPDATE OR DELETE ON subscription_customer_descriptions
    FOR EACH ROW EXECUTE FUNCTION subscription_changes_notify();

-- A relation row names the instance it uses; that instance's subscription gains or loses a
-- user. Once per statement (the save writes all relations of a tree in one).
CREATE OR REPLACE FUNCTION subscription_relations_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('orch_subscription_changes', u.subscription_id::text)
       FROM (SELECT DISTINCT i.subscription_id
               FROM changed_rows r
               JOIN subscription_instances i ON i.subscription_instance_id = r.depends_on_id) u;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER subscription_relations_insert_notify
    AFTER INSERT ON subscription_instance_relations REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION subscription_relations_notify();
CREATE OR REPLACE TRIGGER subscription_relations_delete_notify
    AFTER DELETE ON subscription_instance_relations REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION subscription_relations_notify();

-- ---- ListSubscriptions at a million (bench/README.md has the plans) ----------------------
-- The default order is (coalesce(start_time, 'infinity'), subscription_id) desc, served by
-- subscriptions_start_order (0012) for the unfiltered list and its keyset pages.

-- status and product, in the default order: one range scan for "product = X AND status =
-- Y", first page or deep keyset page.
CREATE INDEX CONCURRENTLY IF NOT EXISTS subscriptions_product_status_start
    ON subscriptions (product_id, status, (coalesce(start_time, 'infinity'::timestamptz)),
                      subscription_id);
-- status alone in the default order (the most common dashboard filter).
CREATE INDEX CONCURRENTLY IF NOT EXISTS subscriptions_status_start
    ON subscriptions (status, (coalesce(start_time, 'infinity'::timestamptz)), subscription_id);
-- A customer's description (customer_description = "..."): equality and prefix.
CREATE INDEX CONCURRENTLY IF NOT EXISTS subscription_customer_descriptions_description
    ON subscription_customer_descriptions (description text_pattern_ops);
-- A block field's value (field_value = "..."), whichever field holds it. Values up to
-- 10,000 characters exceed a B-tree entry, so the index holds a 200-character prefix; the
-- query compares the prefix through the index and the whole value after it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS subscription_instance_values_field_value
    ON subscription_instance_values ((left(value, 200)));
