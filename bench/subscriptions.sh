#!/usr/bin/env bash
# SubscriptionService benchmark: our gRPC latency against pgbench running the same SQL.
#
#   bench/subscriptions.sh [--size N | --million] [--calls N] [--warmup N] [--reseed]
#                          [--goal RATIO] [--build-dir DIR] [--pg-dir DIR] [--pg-port PORT]
#
#   --size N       subscriptions to seed (default 100000); --million is --size 1000000
#   --calls N      timed calls per case, on each side (default 2000)
#   --warmup N     untimed calls per case first, on each side (default calls/10, at least 20)
#   --reseed       seed again even if the cluster already holds a seed of this size
#   --goal RATIO   the p50 ratio ours/pgbench the table marks as met (default 2.0)
#
# Builds what it needs, starts (or reuses) a private PostgreSQL cluster in --pg-dir (default
# /tmp/orchestrator-bench-pg, port 55433), seeds it once with bench/seed.sql (the bench_seed
# table records the size; a rerun with the same size skips seeding), captures the SQL each
# case sends (one call through a server connected with log_statement=all), then for each
# case runs the driver (build/bench/sub_bench) against orchestratord and pgbench on the
# captured statements, prints the table and writes bench/results/subscriptions.json.
# The cluster is left running for reruns; the script prints how to stop it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH=$ROOT/bench
SIZE=100000
CALLS=2000
WARMUP=""
RESEED=0
GOAL=2.0
BUILD=$ROOT/build
PGDIR=/tmp/orchestrator-bench-pg
PGPORT=55433
DBNAME=orchestrator_bench
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

die() { echo "subscriptions.sh: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }
usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while (($#)); do
    case "$1" in
    --size) SIZE=${2:?}; shift 2 ;;
    --million) SIZE=1000000; shift ;;
    --calls) CALLS=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --reseed) RESEED=1; shift ;;
    --goal) GOAL=${2:?}; shift 2 ;;
    --build-dir) BUILD=${2:?}; shift 2 ;;
    --pg-dir) PGDIR=${2:?}; shift 2 ;;
    --pg-port) PGPORT=${2:?}; shift 2 ;;
    -h | --help) usage ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ "$SIZE" =~ ^[0-9]+$ ]] && ((SIZE >= 1000)) || die "--size must be a number >= 1000"
[[ "$CALLS" =~ ^[0-9]+$ ]] && ((CALLS >= 1)) || die "--calls must be a positive number"
if [[ -z "$WARMUP" ]]; then
    WARMUP=$((CALLS / 10))
    ((WARMUP >= 20)) || WARMUP=20
fi
command -v python3 >/dev/null || die "python3 is needed"

# ---- build ----------------------------------------------------------------------------------
say "build ($BUILD)"
if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
    cmake -S "$ROOT" -B "$BUILD" >/dev/null
fi
SUB_BENCH=$BUILD/bench/sub_bench
if cmake --build "$BUILD" --target help 2>/dev/null | grep -q '\bsub_bench\b'; then
    cmake --build "$BUILD" -j"$(nproc)" --target orchestratord orchctl sub_bench >/dev/null
else
    # The top-level CMakeLists.txt does not have add_subdirectory(bench) yet: build the
    # driver by hand against the libraries of the build tree.
    echo "subscriptions.sh: note: the top-level CMakeLists.txt lacks add_subdirectory(bench);" \
        "compiling sub_bench directly" >&2
    cmake --build "$BUILD" -j"$(nproc)" --target orchestratord orchctl orch_client >/dev/null
    mkdir -p "$BUILD/bench"
    # shellcheck disable=SC2046
    cc -std=c17 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Werror -I"$ROOT/client" -I"$BUILD/gen" \
        "$BENCH/sub_bench.c" -o "$SUB_BENCH" "$BUILD/client/liborch_client.a" \
        "$BUILD/liborch_proto.a" "$BUILD/domain/liborch_domain.a" \
        $(pkg-config --cflags --libs grpc gpr libprotobuf-c jansson uuid) -lpthread
fi
SERVER=$BUILD/server/orchestratord
ORCHCTL=$BUILD/client/orchctl
[[ -x "$SERVER" && -x "$ORCHCTL" && -x "$SUB_BENCH" ]] || die "build did not produce the binaries"

# ---- PostgreSQL -----------------------------------------------------------------------------
say "PostgreSQL cluster in $PGDIR (port $PGPORT)"
"$ROOT/scripts/pg.sh" start "$PGDIR" "$PGPORT" --fsync-off >/dev/null
PGPORT=$(sed -n 4p "$PGDIR/data/postmaster.pid")
PGLOG=$PGDIR/postgres.log
ADMIN="host=$PGDIR port=$PGPORT user=postgres dbname=postgres"
DB="host=$PGDIR port=$PGPORT user=postgres dbname=$DBNAME"
psql_q() { psql "$DB" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
if [[ -z "$(psql "$ADMIN" -X -At -c "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'")" ]]; then
    psql "$ADMIN" -X -q -c "CREATE DATABASE $DBNAME"
fi

# ---- orchestratord --------------------------------------------------------------------------
SERVER_PID=""
SERVER_LOG=""
free_port() {
    local p
    for ((p = 50700 + RANDOM % 500; p < 52000; p++)); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    die "no free port"
}
server_start() { # "-c log_statement=all" or empty
    local opts=$1 url=$DB i
    # The pool sets its own libpq options, so statement logging is a database setting,
    # which new sessions pick up.
    if [[ -n "$opts" ]]; then
        psql "$ADMIN" -X -q -c "ALTER DATABASE $DBNAME SET log_statement = 'all'"
    else
        psql "$ADMIN" -X -q -c "ALTER DATABASE $DBNAME RESET log_statement"
    fi
    ADDR=127.0.0.1:$(free_port)
    SERVER_LOG=$RESULTS/orchestratord.log
    "$SERVER" --listen "$ADDR" --database-url "$url" --log-level warn --workers 0 \
        --threads 4 --db-check-ms 60000 >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    for ((i = 0; i < 300; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$SERVER_LOG" >&2; die "orchestratord exited"; }
        "$ORCHCTL" --server "$ADDR" --timeout 1 health >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "orchestratord did not become ready in 30 s (see $SERVER_LOG)"
}
server_stop() {
    [[ -n "$SERVER_PID" ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
trap server_stop EXIT

RESULTS=$BENCH/results
WORK=$RESULTS/work
rm -rf "$WORK"
mkdir -p "$WORK"
: >"$RESULTS/orchestratord.log"

# The first server start migrates the database and synchronises the catalogue; this one logs
# every statement of its sessions, for the capture below.
say "orchestratord (migrate, catalogue; log_statement=all for the capture)"
server_start "-c log_statement=all"

# ---- seed -----------------------------------------------------------------------------------
SEEDED=$(psql_q -c "SELECT CASE WHEN to_regclass('bench_seed') IS NULL THEN '' ELSE
                      (SELECT coalesce(max(size)::text, '') FROM bench_seed) END")
if [[ "$SEEDED" == "$SIZE" && $RESEED -eq 0 ]]; then
    say "seed: the cluster already holds $SIZE subscriptions (bench_seed); not seeding"
else
    NODES=$((SIZE / 10))
    L2VPNS=$((SIZE * 15 / 100))
    PORTS=$((SIZE - NODES - L2VPNS))
    say "seed: $SIZE subscriptions ($NODES nodes, $PORTS ports, $L2VPNS l2vpns)${SEEDED:+, replacing a seed of $SEEDED}"
    t0=$(date +%s)
    psql_q -v size="$SIZE" -v nodes="$NODES" -v ports="$PORTS" -v l2vpns="$L2VPNS" \
        -f "$BENCH/seed.sql"
    t1=$(date +%s)
    psql_q -c "VACUUM (ANALYZE) subscriptions, subscription_instances, subscription_instance_values,
               subscription_instance_relations, subscription_metadata,
               subscription_customer_descriptions"
    psql_q -c "CHECKPOINT"
    say "seed: $((t1 - t0)) s, vacuum/analyze $(($(date +%s) - t1)) s"
fi
read -r NODES PORTS L2VPNS <<<"$(psql_q -F ' ' -c "SELECT nodes, ports, l2vpns FROM bench_seed")"

# The subjects (see the layout in seed.sql): the first l2vpn (its SAPs use ports 0 and 1), the
# first port, a terminated port, node 42 by name for the search, customer cust-42.
sub_id() { psql_q -c "SELECT md5('bench-sub-' || $1)::uuid"; }
L2VPN_ID=$(sub_id $((NODES + PORTS + 1)))
PORT_ID=$(sub_id $((NODES + 1)))
TERM_PORT_ID=$(sub_id $((NODES + 2 * L2VPNS + 10)))
TERM_L2VPN_ID=$(sub_id $((NODES + PORTS + 10)))
NODE_ID=$(sub_id 42)
NODE_NAME=$(psql_q -c "SELECT v.value FROM subscription_instance_values v
    JOIN resource_types rt USING (resource_type_id)
    WHERE v.subscription_instance_id = md5('bench-inst-42')::uuid AND rt.resource_type = 'node_name'")
CUSTOMER=cust-42
PRODUCT="port 10G"
DRIVER_ARGS=(--customer "$CUSTOMER" --product "$PRODUCT" --node-name "$NODE_NAME"
    --l2vpn-id "$L2VPN_ID" --port-id "$PORT_ID")
CASES=(list_customer list_product get_l2vpn get_port search)

# ---- capture the SQL of each case -----------------------------------------------------------
say "capture: one call per case through orchestratord with log_statement=all"
"$SUB_BENCH" --server "$ADDR" "${DRIVER_ARGS[@]}" --check "$NODE_ID" --check "$PORT_ID" \
    --check "$L2VPN_ID" --check "$TERM_PORT_ID" --check "$TERM_L2VPN_ID" --calls 1 --warmup 0 \
    >/dev/null || die "the seed does not load through the server (see above)"
declare -A NSTMT
for c in "${CASES[@]}"; do
    off=$(stat -c %s "$PGLOG")
    "$SUB_BENCH" --server "$ADDR" "${DRIVER_ARGS[@]}" --once "$c"
    sleep 0.2 # the backend writes its log lines before replying; this is only a margin
    NSTMT[$c]=$(python3 "$BENCH/subscriptions_tool.py" capture "$PGLOG" "$off" "$c" "$WORK")
done
server_stop

# ---- run ------------------------------------------------------------------------------------
say "orchestratord (benchmark: no statement logging)"
server_start ""
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
OURS=$WORK/ours.txt
PGB=$WORK/pgbench.txt
: >"$OURS"
: >"$PGB"
for c in "${CASES[@]}"; do
    say "$c: orchestratord, $WARMUP warm-up + $CALLS calls"
    "$SUB_BENCH" --server "$ADDR" "${DRIVER_ARGS[@]}" --only "$c" --calls "$CALLS" \
        --warmup "$WARMUP" | tee -a "$OURS" >&2
    mapfile -d '' DEFS <"$WORK/$c.args"
    say "$c: pgbench -M extended, ${NSTMT[$c]} statements, $WARMUP warm-up + $CALLS transactions"
    pgb=("$PG_BIN/pgbench" -n -M extended -c 1 -j 1 -h "$PGDIR" -p "$PGPORT" -U postgres
        "${DEFS[@]}" -f "$WORK/$c.sql")
    "${pgb[@]}" -t "$WARMUP" "$DBNAME" >"$WORK/$c.pgbench-warmup.out" 2>&1 ||
        { cat "$WORK/$c.pgbench-warmup.out" >&2; die "pgbench failed on $c"; }
    (cd "$WORK" && "${pgb[@]}" -t "$CALLS" --log --log-prefix="pgbench_$c" "$DBNAME") \
        >"$WORK/$c.pgbench.out" 2>&1 || { cat "$WORK/$c.pgbench.out" >&2; die "pgbench failed on $c"; }
    line=$(python3 "$BENCH/subscriptions_tool.py" pgbench-latencies "$WORK"/pgbench_"$c".*)
    echo "$line" >&2
    echo "$c $line statements=${NSTMT[$c]}" >>"$PGB"
done
server_stop
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ---------------------------------------------------------------------------------
META=$WORK/meta.json
python3 - "$META" <<EOF
import json, sys
json.dump({
    "benchmark": "bench/subscriptions.sh",
    "size": $SIZE, "nodes": $NODES, "ports": $PORTS, "l2vpns": $L2VPNS,
    "calls": $CALLS, "warmup": $WARMUP,
    "goal_ratio_p50": float("$GOAL"),
    "goal_source": "--goal; issue 4 asks for the ratio to pgbench but sets no number",
    "machine": "$(nproc) cores, $("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) /PostgreSQL /')",
    "git_commit": "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo '+dirty')",
    "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
    "loadavg_start": "$LOAD_START", "loadavg_end": "$LOAD_END",
    "method": "one client, sequential calls; ours = CLOCK_MONOTONIC around each unary gRPC call "
              "(sub_bench, orchestratord --threads 4 --workers 0 on a Unix socket to PostgreSQL); "
              "pgbench = per-transaction latency (--log) of -M extended -c 1 running the "
              "statements orchestratord sent for one call (captured with log_statement=all), "
              "with the same parameters; percentiles by nearest rank over the sorted latencies",
    "cases": [
        {"case": "list_customer", "what": "ListSubscriptions filter 'status = \"active\" AND customer_id = \"$CUSTOMER\"', order_by create_time, page_size 50"},
        {"case": "list_product", "what": "ListSubscriptions filter 'product = \"$PRODUCT\" AND status = \"active\"', order_by create_time, page_size 50"},
        {"case": "get_l2vpn", "what": "GetSubscription of an l2vpn (VC, 2 SAPs, their 2 foreign ports) $L2VPN_ID"},
        {"case": "get_port", "what": "GetSubscription of a port (port, its foreign node; in use by an l2vpn) $PORT_ID"},
        {"case": "search", "what": "ListSubscriptions query '$NODE_NAME' (full-text, one match), order_by create_time"},
    ],
}, open(sys.argv[1], "w"), indent=2)
EOF
python3 "$BENCH/subscriptions_tool.py" report "$RESULTS/subscriptions.json" "$META" "$OURS" "$PGB"
echo
echo "pgbench scripts (the captured SQL): $WORK/*.sql"
echo "The cluster keeps running for reruns (seeded with $SIZE). Stop it with:"
echo "  $ROOT/scripts/pg.sh stop $PGDIR      (or: scripts/pg.sh destroy $PGDIR to delete it)"
