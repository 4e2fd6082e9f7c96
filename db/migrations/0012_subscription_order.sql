-- The default order of ListSubscriptions, "start_time desc" (a subscription not started
-- yet sorts as if it started in the future: first), served by an index: the store orders
-- and pages by (coalesce(start_time, 'infinity'), subscription_id), see
-- db/store_subscription.c sub_orders. Additive only.
CREATE INDEX subscriptions_start_order
    ON subscriptions ((coalesce(start_time, 'infinity'::timestamptz)), subscription_id);
