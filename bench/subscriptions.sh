#!/usr/bin/env bash
# SubscriptionService benchmark: our gRPC latency against pgbench running the same SQL.
#
#   bench/subscriptions.sh [--size N | --million] [--calls N] [--warmup N] [--reseed]
#                          [--goal RATIO] [--listings-only] [--build-dir DIR] [--pg-dir DIR]
#                          [--pg-port PORT]
#
#   --size N       subscriptions to seed (default 100000); --million is --size 1000000
#   --calls N      timed calls per case, on each side (default 2000)
#   --warmup N     untimed calls per case first, on each side (default calls/10, at least 20)
#   --reseed       seed again even if the cluster already holds a seed of this size
#   --goal RATIO   the p50 ratio ours/pgbench the table marks as met (default 2.0)
#   --listings-only  only the listings of issue 20 (their p50/p99 and plans): no pgbench
#                  cases, no cache memory, no staleness (a quick re-measure after an index)
#
# Builds what it needs, starts (or reuses) a private PostgreSQL cluster in --pg-dir (default
# /tmp/orchestrator-bench-pg, port 55433), seeds it once through the store's own save path
# (build/bench/sub_seed: the domain model and the store's sub_save, as a workflow step
# writes; the bench_seed table records the size; a rerun with the same size skips seeding),
# captures the SQL each case sends (one call through a server connected with
# log_statement=all), then for each case runs the driver (build/bench/sub_bench) against
# orchestratord and pgbench on the captured statements, prints the table and writes
# bench/results/subscriptions.json.
#
# Then the read path of issue 20 on the same seed: p50/p99 of the listings (first page,
# a deep keyset page, status and product, full text, a block field's value, a customer
# description; default order; the first and deep page again without the read cache) with EXPLAIN (ANALYZE, BUFFERS) of each statement each one
# sends (bench/results/plans/<case>.txt) and the load average around them, the memory of 100,000 subscriptions in the read cache, and how
# far a second replica's cache is behind a change (one NOTIFY): bench/results/readpath.json.
# The cluster is left running for reruns; the script prints how to stop it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH=$ROOT/bench
SIZE=100000
CALLS=2000
WARMUP=""
RESEED=0
GOAL=2.0
LISTINGS_ONLY=0
BUILD=$ROOT/build
PGDIR=/tmp/orchestrator-bench-pg
PGPORT=55433
DBNAME=${BENCH_DBNAME:-orchestrator_bench} # another name keeps another seed beside it
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

die() { echo "subscriptions.sh: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }
usage() { sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while (($#)); do
    case "$1" in
    --size) SIZE=${2:?}; shift 2 ;;
    --million) SIZE=1000000; shift ;;
    --calls) CALLS=${2:?}; shift 2 ;;
    --warmup) WARMUP=${2:?}; shift 2 ;;
    --reseed) RESEED=1; shift ;;
    --goal) GOAL=${2:?}; shift 2 ;;
    --listings-only) LISTINGS_ONLY=1; shift ;;
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
SUB_SEED=$BUILD/bench/sub_seed
# (The target list is read whole first: grep -q would close the pipe early, and with
# pipefail cmake's broken pipe would read as "no such target".)
if grep -q '\bsub_bench\b' <<<"$(cmake --build "$BUILD" --target help 2>/dev/null)"; then
    cmake --build "$BUILD" -j"$(nproc)" --target orchestratord orchctl sub_bench sub_seed >/dev/null
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
        --threads 4 --db-check-ms 60000 "${@:2}" >>"$SERVER_LOG" 2>&1 &
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
# (The capture server keeps nothing in memory: a GetSubscription sends its statement.)
server_start "-c log_statement=all" --subscription-cache-mb 0

# ---- seed -----------------------------------------------------------------------------------
SEEDED=""
if [[ $(psql_q -c "SELECT to_regclass('bench_seed') IS NOT NULL") == t ]]; then
    SEEDED=$(psql_q -c "SELECT coalesce(max(size)::text, '') FROM bench_seed")
fi
if [[ "$SEEDED" == "$SIZE" && $RESEED -eq 0 ]]; then
    say "seed: the cluster already holds $SIZE subscriptions (bench_seed); not seeding"
else
    NODES=$((SIZE / 10))
    L2VPNS=$((SIZE * 15 / 100))
    PORTS=$((SIZE - NODES - L2VPNS))
    say "seed: $SIZE subscriptions ($NODES nodes, $PORTS ports, $L2VPNS l2vpns) through the store's save path${SEEDED:+, replacing a seed of $SEEDED}"
    server_stop
    psql_q -c "DROP TABLE IF EXISTS bench_seed" -c "TRUNCATE subscriptions CASCADE"
    t0=$(date +%s)
    "$SUB_SEED" --database-url "$DB" --size "$SIZE" --threads 4 --batch 200 \
        2> >(grep -v ' info ' >&2) | tee "$RESULTS/seed.out"
    t1=$(date +%s)
    psql_q -c "CREATE TABLE bench_seed (size integer NOT NULL, nodes integer NOT NULL,
                 ports integer NOT NULL, l2vpns integer NOT NULL, seeded_by text NOT NULL,
                 seeded_at timestamptz NOT NULL DEFAULT now())" \
        -c "INSERT INTO bench_seed VALUES ($SIZE, $NODES, $PORTS, $L2VPNS, 'sub_seed')"
    psql_q -c "VACUUM (ANALYZE) subscriptions, subscription_instances, subscription_instance_values,
               subscription_instance_relations, subscription_metadata,
               subscription_customer_descriptions, subscription_events"
    psql_q -c "CHECKPOINT"
    say "seed: $((t1 - t0)) s, vacuum/analyze $(($(date +%s) - t1)) s"
    server_start "-c log_statement=all" --subscription-cache-mb 0
fi
read -r NODES PORTS L2VPNS <<<"$(psql_q -F ' ' -c "SELECT nodes, ports, l2vpns FROM bench_seed")"

# The subjects (see the layout in bench/sub_seed.c), by description: the first l2vpn (its
# SAPs use ports 0 and 1), the first port, a terminated port, another l2vpn, node 42 by name
# for the search, customer cust-42; a port's name and a customer's alias for the listings.
sub_id() { psql_q -c "SELECT subscription_id FROM subscriptions WHERE description = '$1'"; }
L2VPN_ID=$(sub_id "l2vpn 0")
PORT_ID=$(sub_id "port 0")
TERM_PORT_ID=$(sub_id "port $(((2 * L2VPNS + 9) / 10 * 10))")
TERM_L2VPN_ID=$(sub_id "l2vpn 10")
NODE_ID=$(sub_id "node 42")
NODE_NAME=node-42
CUSTOMER=cust-42
PRODUCT="port 10G"
PORT_NAME="xe-0/0/7"
ALIAS="alias 420"
DEEP_PAGES=$((SIZE / 50 / 5)) # a fifth of the way down the default listing
((DEEP_PAGES <= 2000)) || DEEP_PAGES=2000
DRIVER_ARGS=(--customer "$CUSTOMER" --product "$PRODUCT" --node-name "$NODE_NAME"
    --l2vpn-id "$L2VPN_ID" --port-id "$PORT_ID" --port-name "$PORT_NAME" --alias "$ALIAS"
    --deep-pages "$DEEP_PAGES")
CASES=(list_customer list_product get_l2vpn get_port search)
((LISTINGS_ONLY == 0)) || CASES=()

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
# The listings of issue 20: their statements, for EXPLAIN ANALYZE below (list_deep's page
# token is walked to once, before).
LIST_CASES=(list_first list_deep list_status_product search_default list_field list_cd
    list_product_default list_status_product_created list_order_status list_order_end
    list_order_update list_order_description)
DEEP_TOKEN=$("$SUB_BENCH" --server "$ADDR" "${DRIVER_ARGS[@]}" --once walk)
for c in "${LIST_CASES[@]}"; do
    off=$(stat -c %s "$PGLOG")
    "$SUB_BENCH" --server "$ADDR" "${DRIVER_ARGS[@]}" --deep-token "$DEEP_TOKEN" --once "$c"
    sleep 0.2
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
# ---- the read path of issue 20 ---------------------------------------------------------------
LIST_CALLS=$((CALLS < 500 ? CALLS : 500))
LISTING=$WORK/listing.txt
: >"$LISTING"
LIST_LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for c in "${LIST_CASES[@]}"; do
    say "$c: orchestratord, $((LIST_CALLS / 10)) warm-up + $LIST_CALLS calls"
    "$SUB_BENCH" --server "$ADDR" "${DRIVER_ARGS[@]}" --deep-token "$DEEP_TOKEN" --only "$c" \
        --calls "$LIST_CALLS" \
        --warmup $((LIST_CALLS / 10)) | tee -a "$LISTING" >&2
done
# The first and the deep page again from a server without the read cache: every page read
# from the database (the ids, the count and the one-statement load of the 50), as on a
# replica that has not served these subscriptions yet ("<case>_nocache").
server_stop
server_start "" --subscription-cache-mb 0
for c in list_first list_deep; do
    say "$c without the read cache: orchestratord, $((LIST_CALLS / 10)) warm-up + $LIST_CALLS calls"
    "$SUB_BENCH" --server "$ADDR" "${DRIVER_ARGS[@]}" --deep-token "$DEEP_TOKEN" --only "$c" \
        --calls "$LIST_CALLS" --warmup $((LIST_CALLS / 10)) |
        sed "s/case=$c /case=${c}_nocache /" | tee -a "$LISTING" >&2
done
LIST_LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
server_stop
say "plans: EXPLAIN (ANALYZE, BUFFERS) of each listing's statements -> $RESULTS/plans/"
mkdir -p "$RESULTS/plans"
for c in "${LIST_CASES[@]}"; do
    python3 - "$WORK/$c.sql" "$WORK/$c.args" >"$WORK/$c.explain.sql" <<'PY'
import re, sys
sql = open(sys.argv[1]).read().split("\n")
args = open(sys.argv[2], "rb").read().decode().split("\0")
vals = {}
for a in args:
    if a.startswith("s") and "=" in a:
        k, v = a.split("=", 1)
        vals[k] = v
n = 0
sql_raw = [l for l in sql if l.strip() and not l.startswith("--") and not l.startswith("\\")]
for line in sql:
    if not line.strip() or line.startswith("--") or line.startswith("\\"):
        continue
    line = re.sub(r":(s\d+p\d+)", lambda m: "'" + vals[m.group(1)].replace("'", "''") + "'", line)
    n += 1
    print("\\echo '==== statement %d:'" % n)
    print("\\echo " + "'" + line.replace("\\", "\\\\").replace("'", "\\'") + "'")
    if line.startswith("/* generic plan */ "):
        # The server runs it under plan_cache_mode force_generic_plan (db_execp_generic):
        # prepared with its parameters, then executed, so the plan shown is the one it runs.
        line = line[len("/* generic plan */ "):]
        order = []
        def param(m):
            if m.group(1) not in order:
                order.append(m.group(1))
            return "$%d" % (order.index(m.group(1)) + 1)
        prepared = re.sub(r":(s\d+p\d+)", param, sql_raw[n - 1])
        print("SET plan_cache_mode = force_generic_plan;")
        print("PREPARE bench_generic AS " + prepared.rstrip().rstrip(";") + ";")
        print("EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_generic(%s);" % ", ".join(
            "'" + vals[v].replace("'", "''") + "'" for v in order))
        print("DEALLOCATE bench_generic;")
        print("RESET plan_cache_mode;")
    elif line.startswith("EXPLAIN "):
        # The estimate past 10,000 matches: the server only plans it; so does this.
        line = re.sub(r"^EXPLAIN \([^)]*\) ", "", line)
        print("EXPLAIN (SUMMARY ON) " + line)
    else:
        print("EXPLAIN (ANALYZE, BUFFERS) " + line)
PY
    psql_q -f "$WORK/$c.explain.sql" >"$RESULTS/plans/$c.txt" 2>&1 || true
done
# Memory of 100,000 subscriptions kept encoded (FULL view), and the staleness bound.
: >"$WORK/fill.out"
: >"$WORK/cache.metrics"
: >"$WORK/staleness.out"
RSS0=0 RSS1=0
if ((LISTINGS_ONLY == 0)); then
    FILL=$((SIZE < 100000 ? SIZE : 100000))
    psql_q -c "SELECT subscription_id FROM subscriptions ORDER BY create_time LIMIT $FILL" >"$WORK/fill.ids"
    MPORT=$(free_port)
    server_start "" --subscription-cache-mb 4096 --metrics-listen "127.0.0.1:$MPORT"
    RSS0=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")
    say "memory: GetSubscription of $FILL subscriptions, 4 clients (fills the cache)"
    split -n l/4 -d "$WORK/fill.ids" "$WORK/fill.part."
    FPIDS=()
    for f in "$WORK"/fill.part.??; do
        "$SUB_BENCH" --server "$ADDR" --fill "$f" >"$f.out" &
        FPIDS+=($!)
    done
    wait "${FPIDS[@]}" # (not a bare wait: the servers are children too)
    cat "$WORK"/fill.part.??.out | tee "$WORK/fill.out" >&2
    RSS1=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status")
    curl -s "http://127.0.0.1:$MPORT/metrics" | grep '^orch_subscription_cache' >"$WORK/cache.metrics"
    B_ADDR=$ADDR B_PID=$SERVER_PID
    SERVER_PID="" # keep B running; A is a second replica
    server_start ""
    say "staleness: 200 changes through replica A, read back from replica B's cache"
    "$SUB_BENCH" --server "$B_ADDR" --staleness "$ADDR" --check "$NODE_ID" --calls 200 \
        | tee "$WORK/staleness.out" >&2
    server_stop
    kill -TERM "$B_PID" 2>/dev/null || true
    wait "$B_PID" 2>/dev/null || true
fi
python3 - "$RESULTS/readpath.json" "$LISTING" "$WORK/fill.out" "$WORK/cache.metrics" \
    "$WORK/staleness.out" "$RSS0" "$RSS1" "$SIZE" "$LIST_LOAD_START" "$LIST_LOAD_END" <<'PY'
import json, re, sys, time
out, listing, fill, metrics, stale, rss0, rss1, size, load0, load1 = sys.argv[1:11]
kv = lambda line: dict(re.findall(r"(\w+)=(\S+)", line))
fills = [kv(l) for l in open(fill) if l.startswith("RESULT")]
cases = [kv(l) for l in open(listing) if l.startswith("RESULT")]
m = dict(l.split() for l in open(metrics) if l.strip())
st = kv(open(stale).read())
res = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "size": int(size),
       "loadavg_listings_start": load0, "loadavg_listings_end": load1,
       "listings": [{"case": c["case"], "p50_ms": float(c["p50_us"]) / 1000,
                     "p99_ms": float(c["p99_us"]) / 1000, "items": int(c["items"]),
                     "goal_p99_ms": 50, "met": float(c["p99_us"]) / 1000 <= 50} for c in cases],
}
if fills: # not with --listings-only
    res["cache"] = {"entries": int(float(m.get("orch_subscription_cache_entries", 0))),
                    "bytes": int(float(m.get("orch_subscription_cache_bytes", 0))),
                    "rss_before_kb": int(rss0), "rss_after_kb": int(rss1),
                    "filled": sum(int(f["n"]) for f in fills),
                    "fill_seconds": max(float(f["seconds"]) for f in fills)}
    res["staleness"] = {k: float(v) for k, v in st.items() if k.endswith("_us")}
json.dump(res, open(out, "w"), indent=2)
print("\nThe read path (issue 20), %s subscriptions (load average %s before the listings, "
      "%s after):" % (size, load0, load1))
for c in res["listings"]:
    print("  %-22s p50 %8.2f ms  p99 %8.2f ms  %s" % (c["case"], c["p50_ms"], c["p99_ms"],
                                                   "met" if c["met"] else "MISS (goal p99 <= 50 ms)"))
if not fills:
    sys.exit(0)
e = res["cache"]
print("  cache: %d entries, %.1f MiB counted, RSS +%.1f MiB" % (e["entries"], e["bytes"] / 1048576,
                                                               (e["rss_after_kb"] - e["rss_before_kb"]) / 1024))
print("  staleness (a change on A until B's cache answers it): p50 %.2f ms, p99 %.2f ms, max %.2f ms"
      % (res["staleness"].get("p50_us", 0) / 1000, res["staleness"].get("p99_us", 0) / 1000,
         res["staleness"].get("max_us", 0) / 1000))
PY
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ---------------------------------------------------------------------------------
if ((LISTINGS_ONLY)); then
    echo
    echo "Plans: $RESULTS/plans/<case>.txt; JSON: $RESULTS/readpath.json (--listings-only:"
    echo "the pgbench cases, memory and staleness were not run)"
    exit 0
fi
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
              "with the same parameters; percentiles by nearest rank over the sorted latencies. "
              "GetSubscription: ours answers from its read cache (the default; issue 20), the "
              "captured statements are those of a miss (captured with the cache off): one",
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
