-- Subscriptions: what a customer holds. A subscription is an instance of a product, made of
-- a tree of product-block instances (subscription_instances) with scalar field values and
-- parent -> child relations that may cross subscriptions (an L2VPN's SAP points at another
-- subscription's Port block). Written by the domain's subscription save (inside a workflow
-- step's transaction) and by the few operator calls of SubscriptionService.
--
-- Additive only: nothing released in 0001 is changed, so the previous release keeps working
-- while this one rolls out.

CREATE TABLE subscriptions (
    subscription_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- RESTRICT: a product with subscriptions is never deleted, only set to 'end of life'.
    product_id          uuid NOT NULL REFERENCES products ON DELETE RESTRICT,
    customer_id         text NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 255),
    description         text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    status              text NOT NULL DEFAULT 'initial'
                        CHECK (status IN ('initial', 'provisioning', 'active', 'migrating',
                                          'disabled', 'terminated')),
    -- false = locked by a workflow (unsync) or left locked by a failed one.
    in_sync             boolean NOT NULL DEFAULT false,
    start_time          timestamptz,        -- set when it first becomes active
    end_time            timestamptz,        -- set when terminated
    note                text CHECK (length(note) <= 5000),
    -- Optimistic locking: every change is "UPDATE ... SET version = version + 1 WHERE
    -- subscription_id = $1 AND version = $2"; 0 rows = ABORTED VERSION_CONFLICT.
    version             bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    create_time         timestamptz NOT NULL DEFAULT now(),
    update_time         timestamptz NOT NULL DEFAULT now(),
    -- Per-subscription event sequence for WatchSubscription, incremented under this row's
    -- lock in the transaction that inserts into subscription_events (see 0005).
    last_event_sequence bigint NOT NULL DEFAULT 0 CHECK (last_event_sequence >= 0),
    -- Full-text search document beyond the row's own columns: product name / tag / type and
    -- every field value of the subscription's own blocks. A generated column cannot read
    -- other tables, so the store refreshes it in the same transaction as the save with
    --   UPDATE subscriptions SET search_text = subscription_search_text(subscription_id)
    -- (the function below), and search_vector follows by itself.
    search_text         text NOT NULL DEFAULT '',
    -- 'simple' configuration: the searched words are mostly identifiers (node names,
    -- interface names, VLANs, customer ids) that stemming would only mangle. Queries must
    -- use the same configuration: websearch_to_tsquery('simple', $q).
    search_vector       tsvector GENERATED ALWAYS AS (
                            setweight(to_tsvector('simple', description), 'A')
                            || setweight(to_tsvector('simple', customer_id), 'B')
                            || setweight(to_tsvector('simple', coalesce(note, '')), 'C')
                            || setweight(to_tsvector('simple', search_text), 'D')) STORED,
    CONSTRAINT subscriptions_time_check
        CHECK (end_time IS NULL OR start_time IS NULL OR end_time >= start_time)
);
COMMENT ON TABLE subscriptions IS
    'What a customer holds: one product instance with a lifecycle; '
    'its block tree lives in subscription_instances.';
COMMENT ON COLUMN subscriptions.version IS
    'Optimistic-locking counter, +1 on every change (including tree saves).';
COMMENT ON COLUMN subscriptions.search_text IS
    'Product name/tag/type and field values, refreshed by the store with '
    'subscription_search_text() on every save.';

-- Keyset pagination: the default order is (create_time, subscription_id) and every filter
-- index ends in that pair, so "filter X, order by create, page after (t, id)" is one index
-- range scan whatever the table size. B-trees scan backwards just as well (DESC orders).
CREATE INDEX subscriptions_create_time ON subscriptions (create_time, subscription_id);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id, create_time, subscription_id);
CREATE INDEX subscriptions_product ON subscriptions (product_id, create_time, subscription_id);
CREATE INDEX subscriptions_status ON subscriptions (status, create_time, subscription_id);
CREATE INDEX subscriptions_start_time ON subscriptions (start_time, subscription_id);
CREATE INDEX subscriptions_end_time ON subscriptions (end_time, subscription_id)
    WHERE end_time IS NOT NULL;
-- Locked subscriptions are few; operators list them to unlock them.
CREATE INDEX subscriptions_not_in_sync ON subscriptions (subscription_id) WHERE NOT in_sync;
CREATE INDEX subscriptions_search ON subscriptions USING gin (search_vector);

-- Free JSON per subscription, replaced as a whole with its own version (so a metadata edit
-- does not conflict with a running workflow's save of the subscription itself).
CREATE TABLE subscription_metadata (
    subscription_id uuid PRIMARY KEY REFERENCES subscriptions ON DELETE CASCADE,
    metadata        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    version         bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    create_time     timestamptz NOT NULL DEFAULT now(),
    update_time     timestamptz NOT NULL DEFAULT now()
);

-- A customer's own name for a subscription (one per customer per subscription).
CREATE TABLE subscription_customer_descriptions (
    customer_description_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    subscription_id         uuid NOT NULL REFERENCES subscriptions ON DELETE CASCADE,
    customer_id             text NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 255),
    description             text NOT NULL CHECK (length(description) <= 2000),
    version                 bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    create_time             timestamptz NOT NULL DEFAULT now(),
    update_time             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscription_customer_descriptions_unique UNIQUE (subscription_id, customer_id)
);
CREATE INDEX subscription_customer_descriptions_customer
    ON subscription_customer_descriptions (customer_id);

-- One row per product-block instance. Owned by exactly one subscription; other
-- subscriptions may point at it through subscription_instance_relations but never modify it.
CREATE TABLE subscription_instances (
    subscription_instance_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    subscription_id          uuid NOT NULL REFERENCES subscriptions ON DELETE CASCADE,
    -- RESTRICT: the catalogue cannot drop a block that live data still uses (drift check).
    product_block_id         uuid NOT NULL REFERENCES product_blocks ON DELETE RESTRICT,
    label                    text CHECK (length(label) <= 255),
    create_time              timestamptz NOT NULL DEFAULT now(),
    update_time              timestamptz NOT NULL DEFAULT now()
);
-- Loading a whole tree: "WHERE subscription_id = $1" (one statement per table, no N+1).
CREATE INDEX subscription_instances_subscription ON subscription_instances (subscription_id);
-- Catalogue drift: "is block X used by any subscription?".
CREATE INDEX subscription_instances_block ON subscription_instances (product_block_id);

-- Scalar field values. A list field is several rows ordered by list_order; a single field
-- has list_order 0. Values are text (the domain converts by the field's type).
CREATE TABLE subscription_instance_values (
    subscription_instance_value_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    subscription_instance_id       uuid NOT NULL
                                   REFERENCES subscription_instances ON DELETE CASCADE,
    resource_type_id               uuid NOT NULL REFERENCES resource_types ON DELETE RESTRICT,
    value                          text NOT NULL CHECK (length(value) <= 10000),
    list_order                     integer NOT NULL DEFAULT 0 CHECK (list_order >= 0),
    UNIQUE (subscription_instance_id, resource_type_id, list_order)
);
-- Catalogue drift: "is field X in use?". (No index on value itself: a value may be 10,000
-- characters, beyond a B-tree entry's limit; value search goes through search_vector.)
CREATE INDEX subscription_instance_values_resource_type
    ON subscription_instance_values (resource_type_id);

-- Parent block instance -> child block instance, under the parent's attribute name, in list
-- order. The child may belong to another subscription: that is how in_use_by / depends_on
-- are derived (see the view below).
CREATE TABLE subscription_instance_relations (
    in_use_by_id  uuid NOT NULL REFERENCES subscription_instances ON DELETE CASCADE,
    -- NO ACTION (not RESTRICT) on purpose: it is checked at the end of the statement, after
    -- cascades, so deleting a whole subscription whose tree references itself works, while a
    -- reference from *another* subscription still stops the delete (no stranded user).
    depends_on_id uuid NOT NULL REFERENCES subscription_instances ON DELETE NO ACTION,
    attribute     text NOT NULL CHECK (length(attribute) BETWEEN 1 AND 255),
    order_id      integer NOT NULL DEFAULT 0 CHECK (order_id >= 0),
    PRIMARY KEY (in_use_by_id, attribute, order_id),
    CONSTRAINT subscription_instance_relations_self_check CHECK (in_use_by_id <> depends_on_id)
);
-- in_use_by lookups: "which parents point at these instances?".
CREATE INDEX subscription_instance_relations_depends_on
    ON subscription_instance_relations (depends_on_id);

-- Subscription-level dependencies derived from block relations that cross subscriptions.
--   depends_on(S) = SELECT depends_on_id   FROM subscription_dependencies WHERE subscription_id = S
--   in_use_by(S)  = SELECT subscription_id FROM subscription_dependencies WHERE depends_on_id = S
-- Both predicates are pushed below the DISTINCT and served by the indexes above.
CREATE VIEW subscription_dependencies AS
SELECT DISTINCT p.subscription_id AS subscription_id, c.subscription_id AS depends_on_id
  FROM subscription_instance_relations r
  JOIN subscription_instances p ON p.subscription_instance_id = r.in_use_by_id
  JOIN subscription_instances c ON c.subscription_instance_id = r.depends_on_id
 WHERE p.subscription_id <> c.subscription_id;
COMMENT ON VIEW subscription_dependencies IS
    'subscription_id uses (depends on) depends_on_id through a block relation.';

-- The text that search_text should hold for one subscription: product name, tag and type,
-- then the values of the subscription's own blocks. Called by the store at every save:
--   UPDATE subscriptions SET search_text = subscription_search_text($1) WHERE subscription_id = $1
CREATE FUNCTION subscription_search_text(sub uuid) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT concat_ws(' ', p.name, p.tag, p.product_type,
                     (SELECT string_agg(v.value, ' ' ORDER BY i.subscription_instance_id,
                                        v.resource_type_id, v.list_order)
                        FROM subscription_instances i
                        JOIN subscription_instance_values v USING (subscription_instance_id)
                       WHERE i.subscription_id = s.subscription_id))
      FROM subscriptions s JOIN products p USING (product_id)
     WHERE s.subscription_id = sub
$$;
