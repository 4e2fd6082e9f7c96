-- orch:no-transaction
-- ListSubscriptions at a million (issue 20, bench/README.md "The million (issue 20)"): a filter
-- on status and a product attribute in the default order.
--
-- This file runs OUTSIDE a transaction (the marker on its first line, see db/migrate.c):
-- CREATE INDEX CONCURRENTLY builds an index without blocking writes, and cannot run inside
-- one. Every statement is idempotent (IF NOT EXISTS), so a crash half-way is finished by the
-- next start; the runner drops an index that a failed concurrent build left INVALID before it
-- runs the file again. Additive only.

-- `status = "active" AND product = "port 10G"` compiles to s.status = $1 AND p.name = $2 on
-- subscriptions JOIN products: the product is known only through the join, so
-- subscriptions_product_status_start (0014) cannot give the order, and PostgreSQL walks
-- subscriptions_status_start backwards, fetching each row from the heap for its product_id,
-- until 50 match. At a million (bench/sub_seed.c's layout) the newest 150,000 are L2VPNs:
-- 150,000 heap fetches for a page of ports, 220-360 ms. The same index with product_id and
-- start_time in it makes that walk index-only (no heap fetch: ~30 ms for the 150,000); the
-- same holds for tag and product_type, which are product columns too. It does not make the
-- walk shorter: that needs the store to compare s.product_id (see the README).
CREATE INDEX CONCURRENTLY IF NOT EXISTS subscriptions_status_start_product
    ON subscriptions (status, (coalesce(start_time, 'infinity'::timestamptz)), subscription_id)
    INCLUDE (product_id, start_time);

-- That shorter walk: the store compiles `product = "port 10G"` to s.product_id = (SELECT
-- product_id FROM products WHERE name = $n) (db/store_subscription.c), a constant PostgreSQL
-- computes once (an InitPlan), so "product AND status" is one range scan in the default order
-- (coalesce(start_time, 'infinity') desc, subscription_id desc) read backwards, first page or
-- keyset page. subscriptions_product_status_start (0014) has those keys, but the page selects
-- coalesce(start_time, 'infinity') for its token and PostgreSQL computes that in an index-only
-- scan only from start_time itself: with start_time in INCLUDE the scan is index-only. Measured
-- by hand at a million: 0.27 ms a page for status and product, where neither the subquery
-- alone (0014's index, a heap fetch a row) nor this index alone (the join) met 50 ms.
CREATE INDEX CONCURRENTLY IF NOT EXISTS subscriptions_product_status_start_cover
    ON subscriptions (product_id, status, (coalesce(start_time, 'infinity'::timestamptz)),
                      subscription_id)
    INCLUDE (start_time);
