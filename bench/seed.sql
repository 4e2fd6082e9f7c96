-- Seeds the benchmark inventory with set-based SQL (INSERT ... SELECT generate_series), in
-- one transaction, after orchestratord has migrated the database and synchronised the
-- example catalogue. Run by bench/subscriptions.sh as
--   psql -v size=N -v nodes=NN -v ports=NP -v l2vpns=NL -f bench/seed.sql
-- with size = nodes + ports + l2vpns. Everything references the catalogue by name.
--
-- Layout (i = 1..size, one subscription each; ids are md5-derived so reruns and the pgbench
-- scripts can name them):
--   i in 1..nodes                      a node (NodeBlock): 4 node products in turn
--   i = nodes + 1 + k, k in 0..ports-1 a port (PortBlock) on node (k % nodes) + 1, through
--                                      relation 'node' to that node's NodeBlock instance
--   i = nodes + ports + 1 + j          an l2vpn (VirtualCircuitBlock) with 2 owned SAPBlock
--                                      instances ('saps' 0 and 1), each pointing ('port') at
--                                      the PortBlock of ports k = 2j and 2j + 1
-- Customers: cust-0 .. cust-999. Status: active, except 10% of the l2vpns and 10% of the
-- ports no l2vpn uses (terminated, with end_time). Every subscription has its metadata row;
-- one in 20 has a customer description. search_text is what subscription_search_text()
-- computes, built from the same staged values before the rows are written (no UPDATE pass).
\set ON_ERROR_STOP on
\timing off
SET client_min_messages = warning;
SET synchronous_commit = off;
SET work_mem = '256MB';
SET maintenance_work_mem = '512MB';

BEGIN;

CREATE TABLE IF NOT EXISTS bench_seed (
    size      integer NOT NULL,
    nodes     integer NOT NULL,
    ports     integer NOT NULL,
    l2vpns    integer NOT NULL,
    seeded_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE bench_seed IS
    'Written by bench/seed.sql: the size of the seeded benchmark inventory (reruns skip seeding).';
TRUNCATE bench_seed;
TRUNCATE subscriptions CASCADE;

-- Catalogue lookups by name.
CREATE TEMP TABLE b_rt ON COMMIT DROP AS
SELECT pb.name AS block, rt.resource_type AS field, rt.resource_type_id AS rt_id
  FROM product_block_resource_types pbrt
  JOIN product_blocks pb USING (product_block_id)
  JOIN resource_types rt USING (resource_type_id);
CREATE TEMP TABLE b_pb ON COMMIT DROP AS SELECT name, product_block_id FROM product_blocks;
CREATE TEMP TABLE b_prod ON COMMIT DROP AS SELECT name, product_id FROM products;

DO $$
BEGIN
    IF (SELECT count(*) FROM b_prod WHERE name IN ('node Cisco', 'node Nokia', 'node Cumulus',
                                                   'node FRR', 'port 10G', 'port 100G', 'l2vpn')) <> 7
       OR (SELECT count(*) FROM b_pb WHERE name IN ('NodeBlock', 'PortBlock', 'SAPBlock',
                                                    'VirtualCircuitBlock')) <> 4 THEN
        RAISE EXCEPTION 'the example catalogue is missing: start orchestratord on this database once first';
    END IF;
END $$;

-- One row per subscription: its kind, product, customer, status and times.
CREATE TEMP TABLE b_sub ON COMMIT DROP AS
WITH l AS (SELECT :nodes AS nn, :ports AS np, :l2vpns AS nl, :size AS n),
g AS (
    SELECT i,
           CASE WHEN i <= nn THEN 'node' WHEN i <= nn + np THEN 'port' ELSE 'l2vpn' END AS kind,
           i - nn - 1 AS k,          -- port number (0-based) for ports
           i - nn - np - 1 AS j,     -- l2vpn number (0-based) for l2vpns
           nn, np, nl, n
      FROM l, generate_series(1, (SELECT n FROM l)) AS i
)
SELECT i, kind, k, j,
       md5('bench-sub-' || i)::uuid AS sub,
       md5('bench-inst-' || i)::uuid AS root,
       CASE kind
           WHEN 'node' THEN (ARRAY['node Cisco', 'node Nokia', 'node Cumulus', 'node FRR'])[1 + i % 4]
           WHEN 'port' THEN CASE WHEN k % 4 = 3 THEN 'port 100G' ELSE 'port 10G' END
           ELSE 'l2vpn' END AS product,
       'cust-' || CASE kind
           WHEN 'node' THEN i % 1000
           WHEN 'port' THEN (k * 37) % 1000
           ELSE ((2 * j) * 37) % 1000 END AS customer,   -- an l2vpn's customer owns its first port
       CASE WHEN (kind = 'l2vpn' AND j % 10 = 9) OR (kind = 'port' AND k >= 2 * nl AND k % 10 = 9)
            THEN 'terminated' ELSE 'active' END AS status,
       -- Creation spread over three years, kinds interleaved (7919 is prime).
       timestamptz '2022-01-01 00:00:00+00'
           + make_interval(secs => ((i::bigint * 7919) % n) * (94608000.0 / n))
           + make_interval(secs => i / 1000000.0) AS created,
       'rtr-' || (ARRAY['ams', 'fra', 'lon', 'par', 'mad', 'mil', 'vie', 'zrh', 'cph', 'waw'])[1 + i % 10]
           || '-' || lpad(i::text, 7, '0') AS node_name,
       nn, np, nl
  FROM g;

-- Every field value of every owned instance, staged once: written to
-- subscription_instance_values and aggregated into search_text.
CREATE TEMP TABLE b_val (sub uuid, inst uuid, block text, field text, value text) ON COMMIT DROP;

INSERT INTO b_val
SELECT s.sub, s.root, 'NodeBlock', f.field, f.value
  FROM b_sub s
 CROSS JOIN LATERAL (VALUES
       ('role_id', (1 + s.i % 3)::text),
       ('type_id', (10 + s.i % 7)::text),
       ('site_id', (100 + s.i % 50)::text),
       ('node_status', 'active'),
       ('node_name', s.node_name),
       ('node_description', 'Router ' || s.node_name || ' in rack ' || (s.i % 40)),
       ('ims_id', (1000000 + s.i)::text),
       ('nrm_id', (2000000 + s.i)::text),
       ('ipv4_ipam_id', (3000000 + s.i)::text),
       ('ipv6_ipam_id', (4000000 + s.i)::text)) AS f(field, value)
 WHERE s.kind = 'node';

INSERT INTO b_val
SELECT s.sub, s.root, 'PortBlock', f.field, f.value
  FROM b_sub s
 CROSS JOIN LATERAL (VALUES
       ('port_name', CASE WHEN s.product = 'port 100G' THEN 'HundredGigE0/0/0/' ELSE 'TenGigE0/0/1/' END
                     || (s.k / s.nn)),
       ('port_type', CASE WHEN s.product = 'port 100G' THEN '100GBASE-LR4' ELSE '10GBASE-LR' END),
       ('port_description', 'customer port of ' || s.customer),
       ('port_mode', CASE WHEN s.k < 2 * s.nl THEN 'tagged' ELSE 'untagged' END),
       ('auto_negotiation', CASE WHEN s.k % 2 = 0 THEN 'true' ELSE 'false' END),
       ('lldp', 'true'),
       ('enabled', CASE WHEN s.status = 'active' THEN 'true' ELSE 'false' END),
       ('ims_id', (1000000 + s.i)::text),
       ('nrm_id', (2000000 + s.i)::text)) AS f(field, value)
 WHERE s.kind = 'port';

INSERT INTO b_val
SELECT s.sub, s.root, 'VirtualCircuitBlock', f.field, f.value
  FROM b_sub s
 CROSS JOIN LATERAL (VALUES
       ('speed', (1000 * (1 + s.j % 10))::text),
       ('speed_policer', CASE WHEN s.j % 3 = 0 THEN 'true' ELSE 'false' END),
       ('ims_id', (1000000 + s.i)::text),
       ('nrm_id', (2000000 + s.i)::text)) AS f(field, value)
 WHERE s.kind = 'l2vpn';

INSERT INTO b_val
SELECT s.sub, md5('bench-sap-' || s.i || '-' || sap)::uuid, 'SAPBlock', f.field, f.value
  FROM b_sub s
 CROSS JOIN generate_series(0, 1) AS sap
 CROSS JOIN LATERAL (VALUES
       ('vlan', (100 + (2 * s.j + sap) % 3900)::text),
       ('ims_id', (5000000 + 2 * s.j + sap)::text)) AS f(field, value)
 WHERE s.kind = 'l2vpn';

CREATE TEMP TABLE b_val2 ON COMMIT DROP AS
SELECT v.sub, v.inst, r.rt_id, v.value
  FROM b_val v JOIN b_rt r ON r.block = v.block AND r.field = v.field;
DO $$
BEGIN
    IF (SELECT count(*) FROM b_val2) <> (SELECT count(*) FROM b_val) THEN
        RAISE EXCEPTION 'a seeded field is not in the catalogue';
    END IF;
END $$;

-- The subscriptions, search_text as subscription_search_text() would compute it.
INSERT INTO subscriptions (subscription_id, product_id, customer_id, description, status,
                           in_sync, start_time, end_time, note, version, create_time,
                           update_time, search_text)
SELECT s.sub, p.product_id, s.customer,
       CASE s.kind
           WHEN 'node' THEN 'Node ' || s.node_name
           WHEN 'port' THEN 'Port ' || (s.k / s.nn) || ' on node ' || ((s.k % s.nn) + 1)
                            || ' for ' || s.customer
           ELSE 'L2VPN ' || s.j || ' for ' || s.customer END,
       s.status, true, s.created + interval '1 day',
       CASE WHEN s.status = 'terminated' THEN s.created + interval '200 days' END,
       CASE WHEN s.i % 50 = 0 THEN 'seeded by bench/seed.sql' END,
       1, s.created, s.created + interval '1 day',
       concat_ws(' ', p.name, p.tag, p.product_type, agg.text)
  FROM b_sub s
  JOIN products p ON p.name = s.product
  JOIN (SELECT sub, string_agg(value, ' ' ORDER BY inst, rt_id) AS text
          FROM b_val2 GROUP BY sub) agg ON agg.sub = s.sub;

INSERT INTO subscription_metadata (subscription_id, metadata, create_time, update_time)
SELECT sub, jsonb_build_object('seed', 'bench', 'n', i), created, created FROM b_sub;

INSERT INTO subscription_customer_descriptions (subscription_id, customer_id, description,
                                                create_time, update_time)
SELECT sub, customer, 'alias ' || i || ' of ' || customer, created, created
  FROM b_sub WHERE i % 20 = 0;

-- Instances: one root per subscription, plus two SAPs per l2vpn.
INSERT INTO subscription_instances (subscription_instance_id, subscription_id,
                                    product_block_id, create_time, update_time)
SELECT s.root, s.sub, b.product_block_id, s.created, s.created
  FROM b_sub s
  JOIN b_pb b ON b.name = CASE s.kind WHEN 'node' THEN 'NodeBlock' WHEN 'port' THEN 'PortBlock'
                                      ELSE 'VirtualCircuitBlock' END;
INSERT INTO subscription_instances (subscription_instance_id, subscription_id,
                                    product_block_id, create_time, update_time)
SELECT md5('bench-sap-' || s.i || '-' || sap)::uuid, s.sub,
       (SELECT product_block_id FROM b_pb WHERE name = 'SAPBlock'), s.created, s.created
  FROM b_sub s CROSS JOIN generate_series(0, 1) AS sap
 WHERE s.kind = 'l2vpn';

INSERT INTO subscription_instance_values (subscription_instance_id, resource_type_id, value,
                                          list_order)
SELECT inst, rt_id, value, 0 FROM b_val2;

-- Relations: port -> its node; l2vpn -> its SAPs; SAP -> a port of another subscription.
INSERT INTO subscription_instance_relations (in_use_by_id, depends_on_id, attribute, order_id)
SELECT s.root, md5('bench-inst-' || ((s.k % s.nn) + 1))::uuid, 'node', 0
  FROM b_sub s WHERE s.kind = 'port';
INSERT INTO subscription_instance_relations (in_use_by_id, depends_on_id, attribute, order_id)
SELECT s.root, md5('bench-sap-' || s.i || '-' || sap)::uuid, 'saps', sap
  FROM b_sub s CROSS JOIN generate_series(0, 1) AS sap WHERE s.kind = 'l2vpn';
INSERT INTO subscription_instance_relations (in_use_by_id, depends_on_id, attribute, order_id)
SELECT md5('bench-sap-' || s.i || '-' || sap)::uuid,
       md5('bench-inst-' || (s.nn + 1 + 2 * s.j + sap))::uuid, 'port', 0
  FROM b_sub s CROSS JOIN generate_series(0, 1) AS sap WHERE s.kind = 'l2vpn';

INSERT INTO bench_seed (size, nodes, ports, l2vpns) VALUES (:size, :nodes, :ports, :l2vpns);

COMMIT;
