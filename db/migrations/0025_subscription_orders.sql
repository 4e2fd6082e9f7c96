-- orch:no-transaction
-- ListSubscriptions at a million in the orders a client may ask for, and a product alone in
-- the default order. bench/README.md ("Orders and filters at a million") has the figures:
-- each case below took 75-430 ms a page at a million subscriptions (a top-N sort over every
-- match, or a walk of another index that filtered away 150,000 rows), and takes 2-3 ms with
-- its index.
--
-- This file runs OUTSIDE a transaction, one idempotent statement at a time (see 0019 and
-- db/migrate.c): CREATE INDEX CONCURRENTLY builds without blocking writes.
--
-- Each index is on columns a save already changes rarely (status, start_time, end_time) or
-- never (product_id, create_time), so it costs a save an index entry only where the save
-- already had to write one. Two orders are left without an index, and take 160-410 ms a page
-- at a million:
-- * update_time: every save changes it, so an index on it would make every save write a new
--   entry in each of the table's indexes (no HOT update: 43% of the seed's updates and 9 of
--   a create_node's 14 were HOT).
-- * description: up to 2,000 characters, 8,000 bytes in UTF-8, past a B-tree entry's
--   limit: a long description would make its save fail.

-- `product_id = "…"` (or `product = "…"`, compiled to the same id) in the default order:
-- subscriptions_product_status_start_cover (0019) has status between the product and the
-- order, so PostgreSQL walked subscriptions_start_order and filtered. INCLUDE (start_time):
-- index-only, as 0019 explains.
CREATE INDEX CONCURRENTLY IF NOT EXISTS subscriptions_product_start
    ON subscriptions (product_id, (coalesce(start_time, 'infinity'::timestamptz)), subscription_id)
    INCLUDE (start_time);

-- order_by "end_time" (an unset end time sorts as still to come, as start_time does; 0002's
-- subscriptions_end_time holds only the set ones, for range filters).
CREATE INDEX CONCURRENTLY IF NOT EXISTS subscriptions_end_order
    ON subscriptions ((coalesce(end_time, 'infinity'::timestamptz)), subscription_id);

-- order_by "status": the lifecycle order, the expression db/store_subscription.c sorts by.
CREATE INDEX CONCURRENTLY IF NOT EXISTS subscriptions_status_order
    ON subscriptions ((array_position('{initial,provisioning,active,migrating,disabled,terminated}'::text[],
                                      status)), subscription_id);

-- Product and status in the order of creation (subscriptions_product and _status serve one
-- of the two each).
CREATE INDEX CONCURRENTLY IF NOT EXISTS subscriptions_product_status_create
    ON subscriptions (product_id, status, create_time, subscription_id);

-- 0019's subscriptions_product_status_start_cover has the same keys and more: this one
-- only cost every write an entry.
DROP INDEX CONCURRENTLY IF EXISTS subscriptions_product_status_start;
