#!/usr/bin/env bash
# The benchmark suite: every figure beside a baseline measured in the same run, and their ratio.
#
#   bench/run.sh [--quick] [--only SECTIONS] [--build-dir DIR] [--no-build]
#                [--pg-dir DIR] [--pg-port PORT] [--samples N]
#
#   --quick        short runs (about 4 minutes): a smoke test that the suite still works; its
#                  figures are noisy and section 4 takes 100 samples, not 1,000
#   --only LIST    sections to run, e.g. "1 2 6" or "9" (default: 1 2 3 4 5 6 7 8 9; 4 uses
#                  the durable maximum measured by 3 (or measures it), 6 uses the runs of 1
#                  and 2)
#   --samples N    processes per start-latency load in section 4 (default 1000, --quick 100)
#   --no-build     use the binaries already in --build-dir (default build/)
#
# Sections: 1 gRPC transport ceiling (orch-echo vs GetProduct and GetSubscription from
# memory and with STRONG, by orch-loadgen and by h2load; the miss path vs pgbench on its
# one statement), 2 commit ceiling (pgbench on the statements of one
# step vs the engine, 1/2/3 replicas; round trips per step from /metrics), 3 graphile-worker
# (1 replica x 2 workers vs concurrency 2, with fsync off and with production durability),
# 4 start latency (production durability, >= 1,000 samples a load), 5 streaming
# (bench/watch_delay.sh), 6 footprint, 7 scaling curve, 8 long processes (bench_noop_100 and
# bench_grow_100 vs bench_noop_10), 9 perf profile of the 1-replica run (installs Debian's
# linux-perf when perf is missing), 10 step workers (bench/workers.sh: a remote no-op step vs
# an in-process one, steps/s with 1 and 4 Python workers). See bench/README.md.
#
# Starts (or reuses) a private PostgreSQL 15 cluster in --pg-dir (default
# /tmp/orchestrator-bench-suite-pg, port 55434, fsync off), recreates its databases
# orch_suite, orch_suite_pgb and orch_suite_gw, prints the table and writes
# bench/results/suite.json (work files in bench/results/suite/). Sections 3 and 4 switch the
# cluster to fsync=on, synchronous_commit=on, full_page_writes=on (ALTER SYSTEM, reload) for
# their durable runs and back (ALTER SYSTEM RESET) afterwards. The cluster is left running.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH=$ROOT/bench
BUILD=$ROOT/build
NOBUILD=0
QUICK=0
ONLY="1 2 3 4 5 6 7 8 9 10"
SAMPLES=""
PGDIR=/tmp/orchestrator-bench-suite-pg
PGPORT=55434
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
T_START=$(date +%s)

die() { echo "run.sh: $*" >&2; exit 1; }
say() { echo "== [$(($(date +%s) - T_START))s] $*" >&2; }
usage() { sed -n '2,32p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while (($#)); do
    case "$1" in
    --quick) QUICK=1; shift ;;
    --only) ONLY=${2:?}; shift 2 ;;
    --build-dir) BUILD=${2:?}; shift 2 ;;
    --no-build) NOBUILD=1; shift ;;
    --samples) SAMPLES=${2:?}; shift 2 ;;
    --pg-dir) PGDIR=${2:?}; shift 2 ;;
    --pg-port) PGPORT=${2:?}; shift 2 ;;
    -h | --help) usage ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
want() { [[ " $ONLY " == *" $1 "* ]]; }
command -v python3 >/dev/null || die "python3 is needed"
[[ -x "$PG_BIN/pgbench" ]] || PG_BIN=$(dirname "$(command -v pgbench)")

# Durations (seconds) and sizes: default | --quick.
if ((QUICK)); then
    RPC_WARM=0.5 RPC_DUR=2 ENG_WARM=1 ENG_DUR=3 PGB_DUR=3 GW_JOBS=2000
    LAT_DUR=3 SCALE_DUR=2 WATCHERS="1 100" WATCH_PROCS=2 PGB_POOL=300
    SAMPLES=${SAMPLES:-100} PERF_DUR=2
else
    RPC_WARM=1 RPC_DUR=5 ENG_WARM=2 ENG_DUR=10 PGB_DUR=8 GW_JOBS=20000
    LAT_DUR=10 SCALE_DUR=6 WATCHERS="1 100 1000" WATCH_PROCS=5 PGB_POOL=2000
    SAMPLES=${SAMPLES:-1000} PERF_DUR=5
fi
[[ "$SAMPLES" =~ ^[1-9][0-9]*$ ]] || die "--samples must be a positive whole number"
LIGHT_RATE=20 # section 4's light load, processes/s (capped at a quarter of the maximum)
CONNS=4      # load generator connections
INFLIGHT=8   # calls in flight per connection
THREADS=8    # orchestratord's --threads default, and orch-echo's
WORKERS=2    # orchestratord's --workers default (engine worker threads per replica)

# ---- build ----------------------------------------------------------------------------------
if ((NOBUILD == 0)); then
    say "build ($BUILD)"
    [[ -f "$BUILD/CMakeCache.txt" ]] || cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD" -j"$(nproc)" --target orchestratord orchestratord-test orchctl \
        orch-loadgen orch-echo \
        watch_delay >/dev/null
fi
# The server runs the benchmark tasks (bench_noop_*), which only the test binary registers
# (tests/testbin/); the production binary is measured for its size.
SERVER=$BUILD/server/orchestratord-test
PROD_SERVER=$BUILD/server/orchestratord
ORCHCTL=$BUILD/client/orchctl
LOADGEN=$BUILD/client/orch-loadgen
ECHO=$BUILD/bench/orch-echo
for b in "$SERVER" "$PROD_SERVER" "$ORCHCTL" "$LOADGEN" "$ECHO"; do
    [[ -x "$b" ]] || die "missing $b (build it, or drop --no-build)"
done

RESULTS=$BENCH/results
WORK=$RESULTS/suite
rm -rf "$WORK"
mkdir -p "$WORK"
RAW=$WORK/raw.txt
: >"$RAW"
record() { echo "$*" >>"$RAW"; } # NAME key=value ...
# The key=value part of a RESULT line, for record.
kv() { sed -n 's/^RESULT //p' "$1" | tail -n 1; }

# ---- PostgreSQL -----------------------------------------------------------------------------
say "PostgreSQL cluster in $PGDIR (port $PGPORT)"
"$ROOT/scripts/pg.sh" start "$PGDIR" "$PGPORT" --fsync-off >/dev/null
PGPORT=$(sed -n 4p "$PGDIR/data/postmaster.pid")
PGLOG=$PGDIR/postgres.log
ADMIN="host=$PGDIR port=$PGPORT user=postgres dbname=postgres"
DB="host=$PGDIR port=$PGPORT user=postgres dbname=orch_suite"
DB_PGB="host=$PGDIR port=$PGPORT user=postgres dbname=orch_suite_pgb"
# Section 8's own database: processes of bench_grow_100 still unfinished after its window
# (orch-loadgen stops waiting for them after 60 s) must not load the servers that follow.
DB_LONG="host=$PGDIR port=$PGPORT user=postgres dbname=orch_suite_long"
for d in orch_suite orch_suite_pgb orch_suite_gw orch_suite_long; do
    psql "$ADMIN" -X -q -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" -c "CREATE DATABASE $d"
done
q() { psql "$1" -X -q -At -v ON_ERROR_STOP=1 -c "$2"; }
# durability off|on: the cluster's durability for the runs that follow, for every side (our
# server, pgbench, graphile-worker). "off" is what scripts/pg.sh --fsync-off configured
# (fsync, synchronous_commit and full_page_writes off); "on" is production durability. All
# three are reloadable settings: ALTER SYSTEM and a reload, no restart; a CHECKPOINT after
# switching on flushes what was written without fsync, outside any measured window.
durability() {
    local v
    if [[ $1 == on ]]; then
        q "$ADMIN" "ALTER SYSTEM SET fsync = on" >/dev/null
        q "$ADMIN" "ALTER SYSTEM SET synchronous_commit = on" >/dev/null
        q "$ADMIN" "ALTER SYSTEM SET full_page_writes = on" >/dev/null
    else
        q "$ADMIN" "ALTER SYSTEM RESET fsync" >/dev/null
        q "$ADMIN" "ALTER SYSTEM RESET synchronous_commit" >/dev/null
        q "$ADMIN" "ALTER SYSTEM RESET full_page_writes" >/dev/null
    fi
    q "$ADMIN" "SELECT pg_reload_conf()" >/dev/null
    for ((i = 0; i < 50; i++)); do
        v=$(q "$ADMIN" "SELECT current_setting('fsync') || ',' || current_setting('synchronous_commit')")
        [[ $v == "$1,$1" ]] && break
        sleep 0.1
    done
    [[ $v == "$1,$1" ]] || die "the cluster did not switch to fsync=$1, synchronous_commit=$1 (it says $v)"
    [[ $1 == on ]] && q "$ADMIN" "CHECKPOINT" >/dev/null
    DURABLE=$1
}
durability off # also undoes a durable setting an interrupted run left behind
SYNC_COMMIT=$(q "$ADMIN" "SHOW synchronous_commit")
FSYNC=$(q "$ADMIN" "SHOW fsync")

# ---- servers --------------------------------------------------------------------------------
# Every process this script starts is in PIDS and stopped on exit.
PIDS=()
# Section 1's split-cores runs pin the cluster (bench/pg_pin.sh); cleanup frees it again.
. "$BENCH/pg_pin.sh"
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    pg_unpin
    q "$ADMIN" "ALTER DATABASE orch_suite_pgb RESET log_statement" >/dev/null 2>&1 || true
    q "$ADMIN" "ALTER DATABASE orch_suite RESET log_statement" >/dev/null 2>&1 || true
    if [[ ${DURABLE:-off} == on ]]; then
        durability off >/dev/null 2>&1 || echo "run.sh: could not reset the cluster's durability" >&2
    fi
}
trap cleanup EXIT
free_port() {
    local p
    for ((p = 53600 + RANDOM % 800; p < 55000; p++)); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    die "no free port"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# server_start DBCONN WORKERS [FLAG...]: starts orchestratord-test (test workflows registered,
# /metrics on a port of its own), waits for SERVING; sets SPID, SADDR, SMETRICS (the /metrics
# URL) and STARTUP_MS (spawn to the first SERVING health answer).
# PIN: a command prefix for the server, the load generators and pgbench's client (empty, or
# taskset for the miss path's split-cores runs in section 1).
PIN=()
server_start() {
    local db=$1 workers=$2 t0 i mport
    SADDR=127.0.0.1:$(free_port)
    mport=$(free_port)
    while [[ "127.0.0.1:$mport" == "$SADDR" ]]; do mport=$(free_port); done
    SMETRICS=http://127.0.0.1:$mport/metrics
    t0=$(now_ms)
    ORCH_TEST_WORKFLOWS=1 "${PIN[@]}" "$SERVER" --listen "$SADDR" --database-url "$db" --log-level warn \
        --workers "$workers" --threads "$THREADS" --metrics-listen "127.0.0.1:$mport" "${@:3}" \
        >>"$WORK/orchestratord.log" 2>&1 &
    SPID=$!
    PIDS+=("$SPID")
    for ((i = 0; i < 3000; i++)); do
        kill -0 "$SPID" 2>/dev/null || { tail -n 20 "$WORK/orchestratord.log" >&2; die "orchestratord exited"; }
        if "$ORCHCTL" --server "$SADDR" --timeout 1 health >/dev/null 2>&1; then
            STARTUP_MS=$(($(now_ms) - t0))
            return 0
        fi
        sleep 0.01
    done
    die "orchestratord did not become ready in 30 s (see $WORK/orchestratord.log)"
}
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# echo_start: orch-echo serving $WORK/getproduct.bin; sets EPID, EADDR, ECHO_STARTUP_MS.
echo_start() {
    local t0 i
    EADDR=127.0.0.1:$(free_port)
    t0=$(now_ms)
    "$ECHO" --listen "$EADDR" --threads "$THREADS" --reply-file "$WORK/getproduct.bin" \
        >"$WORK/echo.out" 2>&1 &
    EPID=$!
    PIDS+=("$EPID")
    for ((i = 0; i < 3000; i++)); do
        grep -q SERVING "$WORK/echo.out" 2>/dev/null && break
        sleep 0.005
    done
    ECHO_STARTUP_MS=$(($(now_ms) - t0))
}

# A background sampler of a process's peak VmRSS: rss_watch PID FILE; stop with kill.
rss_watch() {
    local pid=$1 out=$2 max=0 v
    while kill -0 "$pid" 2>/dev/null; do
        v=$(rss_kb "$pid" 2>/dev/null || echo 0)
        ((v > max)) && max=$v && echo "$max" >"$out"
        sleep 0.2
    done
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- 1. transport ceiling -------------------------------------------------------------------
# The seed (small: it only has to hold the subscription GetSubscription reads) needs the
# catalogue, which the first server start synchronises.
server_start "$DB" 0
FOOT_STARTUP_MS=$STARTUP_MS # the first start also migrates: measured again below
SEED_SIZE=2000
NODES=$((SEED_SIZE / 10)) L2VPNS=$((SEED_SIZE * 15 / 100))
PORTS=$((SEED_SIZE - NODES - L2VPNS))
psql "$DB" -X -q -v ON_ERROR_STOP=1 -v size="$SEED_SIZE" -v nodes="$NODES" -v ports="$PORTS" \
    -v l2vpns="$L2VPNS" -f "$BENCH/seed.sql" >/dev/null
# The tables the seed wrote, not the whole database: a VACUUM of the engine's tables while
# they are empty leaves statistics that say "empty", and the plans the server's sessions then
# cache (foreign-key checks, generic plans) scan those tables sequentially as sections 3, 4,
# 7 and 9 fill them: steps/s fell from ~2,400 to ~900 within a 10 s window (bench/README.md,
# issue 17 sixth pass). graphile-worker's database is never vacuumed empty either.
q "$DB" "VACUUM (ANALYZE) subscriptions, subscription_instances, subscription_instance_values,
         subscription_instance_relations, subscription_metadata,
         subscription_customer_descriptions" >/dev/null
SUB_ID=$(q "$DB" "SELECT md5('bench-sub-' || $((NODES + 1)))::uuid") # a port, on a node, used by an l2vpn
stop_pid "$SPID"
server_start "$DB" 0 # a fresh server on a migrated database: start-up time for section 6
FOOT_STARTUP_MS=$STARTUP_MS
RSS_IDLE=$(rss_kb "$SPID")
LG_RPC=(--connections "$CONNS" --inflight "$INFLIGHT" --warmup "$RPC_WARM" --duration "$RPC_DUR")
"$LOADGEN" --server "$SADDR" --get-product "node Cisco" --total 1 --connections 1 --inflight 1 \
    --save-response "$WORK/getproduct.bin" >/dev/null
# Both servers stay up and the GetProduct runs alternate (ours, echo, ours, echo), so a
# change in the machine's load hits both sides; the report averages the two rounds.
echo_start
ECHO_RSS_IDLE=$(rss_kb "$EPID")
rss_watch "$EPID" "$WORK/echo.rss" &
# h2load (nghttp2-client), the independent load generator: raw HTTP/2 frames with a gRPC
# body, CONNS connections x INFLIGHT streams like orch-loadgen. It sees HTTP status only (a
# gRPC error is a 200 too), so each run also reports the bytes per answer: a full tree, not
# an error. Installed here when missing (Debian: nghttp2-client).
H2LOAD=$(command -v h2load || true)
if want 1 && [[ -z "$H2LOAD" ]]; then
    say "1. transport: installing h2load (apt-get install nghttp2-client)"
    { apt-get install -y nghttp2-client || sudo -n apt-get install -y nghttp2-client; } \
        >"$WORK/apt-h2load.log" 2>&1 || true
    H2LOAD=$(command -v h2load || true)
    [[ -n "$H2LOAD" ]] || say "1. transport: no h2load (see $WORK/apt-h2load.log): its rows are left out"
fi
# grpc_body FILE FIELD=... : a length-prefixed gRPC message of string fields (1:text) and
# varint fields (3=2), enough for GetProduct and GetSubscription requests.
grpc_body() {
    python3 - "$@" <<'PY'
import struct, sys
out, msg = sys.argv[1], b""
for f in sys.argv[2:]:
    if ":" in f:
        n, v = f.split(":", 1); v = v.encode()
        msg += bytes([int(n) << 3 | 2, len(v)]) + v
    else:
        n, v = f.split("="); msg += bytes([int(n) << 3, int(v)])
open(out, "wb").write(b"\0" + struct.pack(">I", len(msg)) + msg)
PY
}
# h2run NAME ADDR PATH BODY: one h2load run, recorded as NAME.
h2run() {
    [[ -n "$H2LOAD" ]] || return 0
    "${PIN[@]}" "$H2LOAD" -c "$CONNS" -m "$INFLIGHT" -t 1 -D "$RPC_DUR" \
        --warm-up-time="$(awk "BEGIN {print int($RPC_WARM * 1000)}")ms" \
        -H "content-type: application/grpc" -H "te: trailers" -d "$4" \
        "http://$2$3" >"$WORK/$1.h2load" 2>&1 || { cat "$WORK/$1.h2load" >&2; die "h2load failed ($1)"; }
    record "$1" "$(python3 - "$WORK/$1.h2load" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = re.search(r"finished in [0-9.]+s, ([0-9.]+) req/s", t).group(1)
done, ok = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", t).groups()
mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", t).group(1)
unit = {"us": 1, "ms": 1000, "s": 1000000}[re.match(r"[0-9.]+(\D+)", mean).group(1)]
data = re.search(r"\((\d+)\) data", t)
per = int(data.group(1)) / max(int(done), 1) if data else 0
print("rps=%s n=%s ok=%s mean_us=%.1f bytes_per_answer=%.0f"
      % (rps, done, ok, float(re.match(r"[0-9.]+", mean).group(0)) * unit, per))
PY
)"
}
GP_PATH=/orchestrator.v1.ProductService/GetProduct
GS_PATH=/orchestrator.v1.SubscriptionService/GetSubscription
grpc_body "$WORK/h2_getproduct.bin" "2:node Cisco"
grpc_body "$WORK/h2_getsub.bin" "1:$SUB_ID"
grpc_body "$WORK/h2_getsub_strong.bin" "1:$SUB_ID" "3=2"
if want 1; then
    # One call fills the replica's cache; GetSubscription then runs from memory (issue 20).
    "$LOADGEN" --server "$SADDR" --get-subscription "$SUB_ID" --total 1 --connections 1 \
        --inflight 1 >/dev/null
    for round in 1 2; do
        say "1. transport: GetProduct on orchestratord (${CONNS} connections x ${INFLIGHT} in flight, ${RPC_DUR}s), round $round"
        "$LOADGEN" --server "$SADDR" --get-product "node Cisco" "${LG_RPC[@]}" >"$WORK/gp_$round.out"
        record "get_product_$round" "$(kv "$WORK/gp_$round.out")"
        say "1. transport: the same request on orch-echo ($THREADS threads, the same response bytes), round $round"
        "$LOADGEN" --server "$EADDR" --get-product "node Cisco" "${LG_RPC[@]}" >"$WORK/echo_$round.out"
        record "echo_$round" "$(kv "$WORK/echo_$round.out")"
        say "1. transport: GetSubscription from memory (the same load), round $round"
        "$LOADGEN" --server "$SADDR" --get-subscription "$SUB_ID" "${LG_RPC[@]}" >"$WORK/gs_$round.out"
        record "get_subscription_$round" "$(kv "$WORK/gs_$round.out")"
    done
    say "1. transport: GetSubscription with consistency = STRONG (the same load)"
    "$LOADGEN" --server "$SADDR" --get-subscription "$SUB_ID" --strong "${LG_RPC[@]}" \
        >"$WORK/gs_strong.out"
    record get_subscription_strong "$(kv "$WORK/gs_strong.out")"
    if [[ -n "$H2LOAD" ]]; then
        say "1. transport: h2load on the same four (GetProduct, orch-echo, GetSubscription, STRONG)"
        h2run h2_get_product "$SADDR" "$GP_PATH" "$WORK/h2_getproduct.bin"
        h2run h2_echo "$EADDR" "$GP_PATH" "$WORK/h2_getproduct.bin"
        h2run h2_get_subscription "$SADDR" "$GS_PATH" "$WORK/h2_getsub.bin"
        h2run h2_get_subscription_strong "$SADDR" "$GS_PATH" "$WORK/h2_getsub_strong.bin"
    fi
fi
stop_pid "$SPID"
ECHO_RSS_LOAD=$(cat "$WORK/echo.rss" 2>/dev/null || echo "$ECHO_RSS_IDLE")
stop_pid "$EPID"
if want 1; then
    # The miss path: a replica without the cache reads the tree on every call, in one
    # statement; pgbench runs that statement (captured) with as many sessions as the pool.
    say "1. transport: the miss path (--subscription-cache-mb 0: every call reads PostgreSQL)"
    server_start "$DB" 0 --subscription-cache-mb 0
    "$LOADGEN" --server "$SADDR" --get-subscription "$SUB_ID" --connections "$CONNS" \
        --inflight $((8 / CONNS)) --warmup "$RPC_WARM" --duration "$RPC_DUR" >"$WORK/gs_miss.out"
    record get_subscription_miss "$(kv "$WORK/gs_miss.out")"
    h2run h2_get_subscription_miss "$SADDR" "$GS_PATH" "$WORK/h2_getsub.bin"
    stop_pid "$SPID"
    say "1. transport: capture the miss path's statements; pgbench on them"
    q "$ADMIN" "ALTER DATABASE orch_suite SET log_statement = 'all'"
    server_start "$DB" 0 --subscription-cache-mb 0
    off=$(stat -c %s "$PGLOG")
    "$LOADGEN" --server "$SADDR" --get-subscription "$SUB_ID" --total 1 --connections 1 --inflight 1 >/dev/null
    sleep 0.3
    stop_pid "$SPID"
    q "$ADMIN" "ALTER DATABASE orch_suite RESET log_statement"
    NSTMT=$(python3 "$BENCH/subscriptions_tool.py" capture "$PGLOG" "$off" getsub "$WORK")
    mapfile -d '' DEFS <"$WORK/getsub.args"
    # The same number of sessions as orchestratord's pool (8) and its threads; prepared,
    # as orchestratord prepares a statement it runs again (--db-prepare on).
    "$PG_BIN/pgbench" -n -M prepared -c 8 -j 2 -T "$RPC_DUR" -h "$PGDIR" -p "$PGPORT" -U postgres \
        "${DEFS[@]}" -f "$WORK/getsub.sql" orch_suite >"$WORK/pgbench_getsub.out" 2>&1 ||
        { cat "$WORK/pgbench_getsub.out" >&2; die "pgbench failed on GetSubscription's statements"; }
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench_getsub.out" | head -1)
    lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$WORK/pgbench_getsub.out")
    record pgbench_getsub "tps=$tps latency_ms=$lat statements=$NSTMT clients=8"
    # The same pair with PostgreSQL on CPU 0 and everything else (the server, orch-loadgen,
    # h2load, pgbench's client) on the other CPUs. Above, the server's CPU per miss is taken
    # from the database's cores while pgbench's client costs almost nothing; here the
    # database has the same CPU on both sides, as where replicas run on machines of their
    # own. Reported beside the goal's figure, not instead of it.
    if split_ok; then
        say "1. transport: the miss path and pgbench again, PostgreSQL on CPU 0, the rest on CPUs $OTHER_CPUS"
        pg_pin "$PGDIR"
        PIN=(taskset -c "$OTHER_CPUS")
        server_start "$DB" 0 --subscription-cache-mb 0
        "${PIN[@]}" "$LOADGEN" --server "$SADDR" --get-subscription "$SUB_ID" --connections "$CONNS" \
            --inflight $((8 / CONNS)) --warmup "$RPC_WARM" --duration "$RPC_DUR" >"$WORK/gs_miss_split.out"
        record get_subscription_miss_split "$(kv "$WORK/gs_miss_split.out")"
        h2run h2_get_subscription_miss_split "$SADDR" "$GS_PATH" "$WORK/h2_getsub.bin"
        stop_pid "$SPID"
        "${PIN[@]}" "$PG_BIN/pgbench" -n -M prepared -c 8 -j 2 -T "$RPC_DUR" -h "$PGDIR" -p "$PGPORT" \
            -U postgres "${DEFS[@]}" -f "$WORK/getsub.sql" orch_suite >"$WORK/pgbench_getsub_split.out" 2>&1 ||
            { cat "$WORK/pgbench_getsub_split.out" >&2; die "pgbench failed (split cores)"; }
        record pgbench_getsub_split "tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench_getsub_split.out" | head -1)"
        PIN=()
        pg_unpin
    fi
fi

# ---- 2. commit ceiling ----------------------------------------------------------------------
# engine_run NAME WORKFLOW CONCURRENCY DURATION ADDR [METRICS_URL...]: the closed loop of
# orch-loadgen, then the database's own account of the window: committed steps/s, start ->
# first step, -> completed. With metrics URLs (the replicas' /metrics), their counters are
# scraped during the run and their increase over the same window recorded: round trips per
# committed step, group commits, claims (bench/suite_tool.py metrics-window); a counter the
# server does not export is recorded as missing, never as a figure.
engine_run() {
    local name=$1 wf=$2 conc=$3 dur=$4 addr=$5 t0 t1 mpid=""
    shift 5
    if (($#)); then
        : >"$WORK/$name.metrics"
        python3 "$BENCH/suite_tool.py" metrics-sample "$WORK/$name.metrics" "$@" &
        mpid=$!
        PIDS+=("$mpid")
        # The window needs a scrape before it starts: wait for the first (at most 5 s).
        for ((i = 0; i < 100; i++)); do
            [[ -s "$WORK/$name.metrics" ]] && break
            sleep 0.05
        done
    fi
    "$LOADGEN" --server "$addr" --processes "$conc" --workflow "$wf" --warmup "$ENG_WARM" \
        --duration "$dur" >"$WORK/$name.out" || die "orch-loadgen failed ($name)"
    if [[ -n "$mpid" ]]; then
        sleep 0.3
        stop_pid "$mpid"
    fi
    t0=$(sed -n 's/.* t0_us=\([0-9]*\).*/\1/p' "$WORK/$name.out")
    t1=$(sed -n 's/.* t1_us=\([0-9]*\).*/\1/p' "$WORK/$name.out")
    record "$name" "$(kv "$WORK/$name.out")"
    record "$name" "$(engine_sql "$wf" "$t0" "$t1")"
    if [[ -n "$mpid" ]]; then
        record "$name" "$(python3 "$BENCH/suite_tool.py" metrics-window "$WORK/$name.metrics" "$t0" "$t1")"
    fi
}
# engine_sql WORKFLOW T0_US T1_US -> key=value: steps committed in the window per second, and
# for the processes started in it, start -> first committed step and start -> completed. On
# $EDB when set (section 8's database), else $DB.
engine_sql() {
    q "${EDB:-$DB}" "
    WITH w AS (SELECT to_timestamp($2 / 1e6) AS t0, to_timestamp($3 / 1e6) AS t1),
    s AS (SELECT count(*) AS n FROM process_steps s JOIN processes p USING (process_id)
          JOIN workflows f USING (workflow_id), w
          WHERE f.name = '$1' AND s.end_time >= w.t0 AND s.end_time < w.t1),
    l AS (SELECT extract(epoch FROM (SELECT min(end_time) FROM process_steps x
                                     WHERE x.process_id = p.process_id) - p.start_time) * 1000 AS first_ms,
                 extract(epoch FROM p.end_time - p.start_time) * 1000 AS done_ms
          FROM processes p JOIN workflows f USING (workflow_id), w
          WHERE f.name = '$1' AND p.start_time >= w.t0 AND p.start_time < w.t1)
    SELECT format('steps=%s steps_per_s=%s processes=%s completed=%s first_n=%s done_n=%s first_p50_ms=%s first_p99_ms=%s done_p50_ms=%s done_p99_ms=%s',
        s.n, round(s.n / (($3 - $2) / 1e6), 1), (SELECT count(*) FROM l),
        (SELECT count(done_ms) FROM l), (SELECT count(first_ms) FROM l),
        (SELECT count(done_ms) FROM l),
        (SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY first_ms)::numeric, 2) FROM l),
        (SELECT round(percentile_disc(0.99) WITHIN GROUP (ORDER BY first_ms)::numeric, 2) FROM l),
        (SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY done_ms)::numeric, 2) FROM l),
        (SELECT round(percentile_disc(0.99) WITHIN GROUP (ORDER BY done_ms)::numeric, 2) FROM l))
    FROM s"
}

NSTEP=""
if want 2; then
    say "2. commit: capture the statements of one step (bench_noop_10, 1 worker, log_statement=all)"
    server_start "$DB_PGB" 0 # migrates orch_suite_pgb
    stop_pid "$SPID"
    q "$ADMIN" "ALTER DATABASE orch_suite_pgb SET log_statement = 'all'"
    server_start "$DB_PGB" 1
    off=$(stat -c %s "$PGLOG")
    "$LOADGEN" --server "$SADDR" --start-process bench_noop_10 --total 1 --connections 1 --inflight 1 >/dev/null
    for ((i = 0; i < 100; i++)); do
        [[ $(q "$DB_PGB" "SELECT count(*) FROM processes WHERE last_status = 'completed'") == 1 ]] && break
        sleep 0.1
    done
    stop_pid "$SPID"
    q "$ADMIN" "ALTER DATABASE orch_suite_pgb RESET log_statement"
    # Whatever the engine's statements look like: every statement its sessions sent while
    # the process ran (from the start to the last commit, timers included), per step.
    record capture "$(python3 "$BENCH/suite_tool.py" statement-count "$PGLOG" "$off" 10)"
    # The pgbench replay needs the statements of today's engine (claim, reads, step start,
    # commit transaction); when the capture does not recognise them (a rewritten engine),
    # section 2 goes on without the pgbench baseline and says so.
    if CAP=$(python3 "$BENCH/suite_tool.py" step-script "$PGLOG" "$off" "$WORK" 2>"$WORK/capture.err"); then
        read -r _ REPLICA _ NSTEP <<<"$CAP"
        record capture "replay=yes statements=$NSTEP"
    else
        say "2. commit: the capture did not recognise the statements of one step: $(tail -n 1 "$WORK/capture.err"); no pgbench baseline"
        record capture "replay=no"
        NSTEP=""
    fi
fi
if want 2 && [[ -n "$NSTEP" ]]; then
    # A pool of runnable processes for the script to claim, round robin (the claim takes the
    # oldest next_run_time), so each keeps a realistic handful of steps; and the captured
    # replica's workflow versions, which its stop removed.
    server_start "$DB_PGB" 0
    "$LOADGEN" --server "$SADDR" --start-process bench_noop_10 --total "$PGB_POOL" --connections 2 \
        --inflight 8 >"$WORK/pgb_pool.out"
    stop_pid "$SPID"
    q "$DB_PGB" "INSERT INTO replica_workflow_versions (replica_id, workflow_id, version)
                 SELECT '$REPLICA', workflow_id, version FROM workflow_versions ON CONFLICT DO NOTHING"
    q "$DB_PGB" "VACUUM ANALYZE" >/dev/null
    mapfile -d '' CDEFS <"$WORK/commit.args"
fi
if want 2; then
    for r in 1 2 3; do
        c=$((WORKERS * r))
        # pgbench runs half its time before and half after ours, so a change in the
        # machine's load during the pair hits both sides; tps is the mean of the halves.
        pgb_commit() { # HALF
            say "2. commit: pgbench, the $NSTEP statements of one step, $c clients, $(python3 -c "print($PGB_DUR / 2)")s ($1 half)"
            "$PG_BIN/pgbench" -n -M extended -c "$c" -j 2 -T "$(( (PGB_DUR + 1) / 2 ))" -h "$PGDIR" -p "$PGPORT" \
                -U postgres "${CDEFS[@]}" -f "$WORK/commit.sql" orch_suite_pgb >"$WORK/pgbench_commit_${r}_$1.out" 2>&1 || {
                # A capture that took the wrong statements (an engine it does not know):
                # the section goes on without the baseline rather than stopping the suite.
                say "2. commit: pgbench failed on the captured statements ($WORK/pgbench_commit_${r}_$1.out); no pgbench baseline from here on"
                record capture "replay=no"
                NSTEP=""
                return 0
            }
            record "pgbench_commit_r${r}_$1" "tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench_commit_${r}_$1.out" | head -1)" \
                "latency_ms=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$WORK/pgbench_commit_${r}_$1.out")" \
                "clients=$c statements=$NSTEP"
        }
        if [[ -n "$NSTEP" ]]; then pgb_commit first; fi
        if ((r == 1)) && [[ -n "$NSTEP" ]]; then
            # Not a goal: the same statements prepared, i.e. what that lever alone would give.
            say "2. commit: pgbench -M prepared, the same statements, $c clients, ${PGB_DUR}s"
            if "$PG_BIN/pgbench" -n -M prepared -c "$c" -j 2 -T "$PGB_DUR" -h "$PGDIR" -p "$PGPORT" \
                -U postgres "${CDEFS[@]}" -f "$WORK/commit.sql" orch_suite_pgb >"$WORK/pgbench_commit_prepared.out" 2>&1; then
                tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench_commit_prepared.out" | head -1)
                record pgbench_commit_prepared "tps=$tps clients=$c"
            else
                say "2. commit: pgbench -M prepared failed ($WORK/pgbench_commit_prepared.out)"
            fi
        fi

        say "2. commit: orchestratord, $r replica(s) x $WORKERS workers, $((8 * c)) bench_noop_10 processes alive, ${ENG_DUR}s"
        ADDRS=()
        RPIDS=()
        MURLS=()
        for ((k = 0; k < r; k++)); do
            server_start "$DB" "$WORKERS"
            ADDRS+=("$SADDR")
            RPIDS+=("$SPID")
            MURLS+=("$SMETRICS")
        done
        if ((r == 1)); then
            rss_watch "${RPIDS[0]}" "$WORK/orch.rss" &
        fi
        engine_run "commit_r$r" bench_noop_10 $((8 * c)) "$ENG_DUR" "${ADDRS[0]}" "${MURLS[@]}"
        record "commit_r$r" "workers=$c concurrency=$((8 * c)) replicas=$r"
        for p in "${RPIDS[@]}"; do stop_pid "$p"; done
        if [[ -n "$NSTEP" ]]; then pgb_commit second; fi
    done
fi
RSS_LOAD=$(cat "$WORK/orch.rss" 2>/dev/null || echo 0)

# ---- 3. graphile-worker, in two durability settings -----------------------------------------
# peer_queue off|on: the pinned comparison of issue 17 on the cluster as it is set now: one
# replica with --workers 2 running bench_noop_10 (8 processes per worker alive, as in
# section 2), its round trips per step from /metrics; then graphile-worker at concurrency 2,
# with its defaults and batched. Records peer_<setting>_ours and graphile_<setting>_<mode>.
peer_queue() {
    local set=$1 mode
    say "3. peer queue ($set): orchestratord, 1 replica x $WORKERS workers, $((8 * WORKERS)) bench_noop_10 processes alive, ${ENG_DUR}s"
    server_start "$DB" "$WORKERS"
    engine_run "peer_${set}_ours" bench_noop_10 $((8 * WORKERS)) "$ENG_DUR" "$SADDR" "$SMETRICS"
    record "peer_${set}_ours" "workers=$WORKERS concurrency=$((8 * WORKERS)) fsync=$set"
    stop_pid "$SPID"
    # The same with each worker holding one process at a time (--stretches-per-worker 1, the
    # engine before several stretches per worker): shown beside, not a goal.
    say "3. peer queue ($set): the same with --stretches-per-worker 1"
    server_start "$DB" "$WORKERS" --stretches-per-worker 1
    engine_run "peer_${set}_ours_one" bench_noop_10 $((8 * WORKERS)) "$ENG_DUR" "$SADDR" "$SMETRICS"
    record "peer_${set}_ours_one" "workers=$WORKERS concurrency=$((8 * WORKERS)) fsync=$set"
    stop_pid "$SPID"
    command -v node >/dev/null || die "node is needed for section 3"
    if [[ ! -d "$BENCH/graphile/node_modules/graphile-worker" ]]; then
        say "3. graphile-worker: npm ci (the versions in bench/graphile/package-lock.json)"
        (cd "$BENCH/graphile" && npm ci --no-audit --no-fund >/dev/null)
    fi
    for mode in defaults batched; do
        say "3. peer queue ($set): graphile-worker $mode, $GW_JOBS no-op jobs, concurrency $WORKERS"
        # Over the Unix socket, as orchestratord reaches PostgreSQL.
        node "$BENCH/graphile/bench.mjs" "postgresql://postgres@localhost/orch_suite_gw?host=$PGDIR&port=$PGPORT" \
            "$WORKERS" "$GW_JOBS" "$mode" >"$WORK/graphile_${set}_$mode.out" 2>"$WORK/graphile_${set}_$mode.err" ||
            { cat "$WORK/graphile_${set}_$mode.err" >&2; die "graphile-worker failed ($mode, fsync=$set)"; }
        record "graphile_${set}_$mode" "$(kv "$WORK/graphile_${set}_$mode.out")"
    done
}
if want 3; then
    peer_queue off
fi

# ---- 7. scaling curve -----------------------------------------------------------------------
if want 7; then
    server_start "$DB" "$WORKERS"
    for m in 1 2 4 8; do
        say "7. scaling: $((m * WORKERS)) concurrent bench_noop_10 processes (${m}x the workers), ${SCALE_DUR}s"
        engine_run "scale_$m" bench_noop_10 $((m * WORKERS)) "$SCALE_DUR" "$SADDR"
        record "scale_$m" "concurrency=$((m * WORKERS))"
    done
    stop_pid "$SPID"
fi

# ---- 8. long processes ----------------------------------------------------------------------
# bench_noop_100 (state {}) and bench_grow_100 (about 1 KiB more state per step) against
# bench_noop_10 on the same server, same concurrency: if a step's cost does not grow with the
# process's length, their steps/s match. bench_noop_10 runs before and after bench_noop_100
# (its steps/s is the mean of the two), so a change in the machine's load hits both sides.
if want 8; then
    EDB=$DB_LONG
    server_start "$DB_LONG" "$WORKERS"
    # bench_grow_100 last: on an engine whose step cost grows with the state, its processes
    # take long to drain after the window (orch-loadgen waits up to 60 s for them; what is left
    # stays in orch_suite_long, which no later section uses).
    for run in long_noop10_first:bench_noop_10 long_noop100:bench_noop_100 \
        long_noop10_second:bench_noop_10 long_grow100:bench_grow_100; do
        say "8. long processes: ${run#*:}, $((8 * WORKERS)) processes alive, ${ENG_DUR}s"
        engine_run "${run%%:*}" "${run#*:}" $((8 * WORKERS)) "$ENG_DUR" "$SADDR" "$SMETRICS"
    done
    stop_pid "$SPID"
    EDB=""
fi

# ---- 9. perf profile ------------------------------------------------------------------------
# perf record -e cpu-clock --call-graph dwarf (hardware events are not available on these
# virtual machines) of orchestratord and its PostgreSQL backends for PERF_DUR seconds in the
# middle of a 1-replica bench_noop_10 run (the section 3 load); summarised by
# bench/suite_tool.py perf-summary into $WORK/perf_summary.txt. Installs Debian's
# linux-perf when perf is missing; the section is skipped, and says so, when that fails.
if want 9; then
    if ! command -v perf >/dev/null; then
        say "9. perf: installing linux-perf (apt-get)"
        if ((EUID == 0)); then
            apt-get install -y --no-install-recommends linux-perf >"$WORK/apt-perf.log" 2>&1 || true
        else
            sudo -n apt-get install -y --no-install-recommends linux-perf >"$WORK/apt-perf.log" 2>&1 || true
        fi
    fi
    if ! command -v perf >/dev/null || ! perf record -e cpu-clock -o "$WORK/perf-probe.data" -- true >/dev/null 2>&1; then
        say "9. perf: not available here (see $WORK/apt-perf.log; kernel.perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null)); section skipped"
        record perf "available=no"
    else
        server_start "$DB" "$WORKERS"
        say "9. perf: bench_noop_10, $((8 * WORKERS)) processes alive; perf record of orchestratord and its backends for ${PERF_DUR}s"
        "$LOADGEN" --server "$SADDR" --processes $((8 * WORKERS)) --workflow bench_noop_10 --warmup 1 \
            --duration $((PERF_DUR + 2)) >"$WORK/perf_load.out" &
        LPID=$!
        PIDS+=("$LPID")
        sleep 1.5
        BPIDS=$(q "$DB" "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        perf record -e cpu-clock -F 499 --call-graph dwarf,16384 -p "$SPID${BPIDS:+,$BPIDS}" \
            -o "$WORK/perf.data" -- sleep "$PERF_DUR" >"$WORK/perf_record.log" 2>&1 || true
        wait "$LPID" || true
        stop_pid "$SPID"
        record perf "available=yes seconds=$PERF_DUR $(python3 "$BENCH/suite_tool.py" perf-summary "$WORK/perf.data" "$SPID" "$WORK")"
        record perf "$(kv "$WORK/perf_load.out" | sed 's/^mode=processes //')"
    fi
fi

# ---- 5. streaming ---------------------------------------------------------------------------
if want 5; then
    # The issue's rows (bench/watch_delay.sh): $WATCHERS WatchProcesses watchers, plus 10,000
    # over 10 connections, 1,000 WatchProcess watchers of one process, the mixed case and
    # orch-echo's floor for idle streams in the full run (when $WATCHERS holds 1000).
    W5=$WATCHERS
    X5=()
    if [[ " $WATCHERS " == *" 1000 "* ]]; then
        W5="$WATCHERS 10000"
    else
        X5=(--no-process --no-mixed --no-echo)
    fi
    say "5. streaming: bench/watch_delay.sh --watchers \"$W5\" --processes $WATCH_PROCS ${X5[*]}"
    "$BENCH/watch_delay.sh" --build-dir "$BUILD" --no-build --pg-dir "$PGDIR" --pg-port "$PGPORT" \
        --watchers "$W5" --processes "$WATCH_PROCS" "${X5[@]}" >"$WORK/watch.out" \
        2>"$WORK/watch.err" || { tail -n 20 "$WORK/watch.err" >&2; die "bench/watch_delay.sh failed"; }
    while read -r line; do
        row=$(sed -n 's/.* row=\([a-z_0-9]*\).*/\1/p' <<<"$line")
        # processes_N keeps its old name, watch_N.
        record "watch_${row#processes_}" "${line#RESULT }"
    done < <(grep '^RESULT ' "$RESULTS/watch_delay.lines")
fi

# ---- 6. footprint ---------------------------------------------------------------------------
if want 6; then
    # Start-up measured the way orch-echo's is: spawn to the line saying it serves (polled
    # every 5 ms), on the migrated database; the health-check figure above includes orchctl.
    say "6. footprint: start-up to 'serving on'"
    SADDR=127.0.0.1:$(free_port)
    t0=$(now_ms)
    ORCH_TEST_WORKFLOWS=1 "$SERVER" --listen "$SADDR" --database-url "$DB" --log-level info \
        --workers "$WORKERS" --threads "$THREADS" >"$WORK/startup.log" 2>&1 &
    SPID=$!
    PIDS+=("$SPID")
    for ((i = 0; i < 6000; i++)); do
        grep -q "serving on" "$WORK/startup.log" 2>/dev/null && break
        kill -0 "$SPID" 2>/dev/null || die "orchestratord exited (see $WORK/startup.log)"
        sleep 0.005
    done
    SERVING_MS=$(($(now_ms) - t0))
    stop_pid "$SPID"
    record footprint "serving_line_ms=$SERVING_MS"
    record footprint "rss_idle_kb=$RSS_IDLE rss_load_kb=$RSS_LOAD startup_ms=$FOOT_STARTUP_MS" \
        "binary_bytes=$(stat -c %s "$PROD_SERVER") echo_rss_idle_kb=$ECHO_RSS_IDLE" \
        "echo_rss_load_kb=$ECHO_RSS_LOAD echo_startup_ms=$ECHO_STARTUP_MS echo_binary_bytes=$(stat -c %s "$ECHO")"
fi

# ---- production durability: 3 (second setting) and 4 ----------------------------------------
MAX_ON=""
if want 3 || want 4; then
    say "durability: fsync=on, synchronous_commit=on, full_page_writes=on (ALTER SYSTEM, reload)"
    durability on
    if want 3; then
        peer_queue on
        MAX_ON=$(sed -n 's/^peer_on_ours .*steps_per_s=\([0-9.]*\).*/\1/p' "$RAW" | tail -1)
    fi
fi

# ---- 4. start latency (production durability) ------------------------------------------------
# bench_noop_3 started open loop at a light load (LIGHT_RATE processes/s, at most a quarter
# of the durable maximum) and at half the durable maximum, each for as long as SAMPLES
# processes take: StartProcess -> first step committed -> completed, from PostgreSQL's
# timestamps, with the number of samples behind each percentile.
if want 4; then
    if [[ -z "$MAX_ON" ]]; then
        say "4. start latency: the durable maximum first (bench_noop_10, 1 replica x $WORKERS workers, ${ENG_DUR}s)"
        server_start "$DB" "$WORKERS"
        engine_run max_on bench_noop_10 $((8 * WORKERS)) "$ENG_DUR" "$SADDR"
        stop_pid "$SPID"
        MAX_ON=$(sed -n 's/^max_on .*steps_per_s=\([0-9.]*\).*/\1/p' "$RAW" | tail -1)
    fi
    server_start "$DB" "$WORKERS"
    HALF=$(python3 -c "print(round(max(1.0, 0.5 * $MAX_ON / 3), 1))") # bench_noop_3: 3 steps
    # At least 5/s (the light load before issue 17), so that a maximum measured during a
    # stall cannot stretch the 1,000 samples over an hour; half load at least that.
    LIGHT=$(python3 -c "print(round(max(5.0, min($LIGHT_RATE, 0.25 * $MAX_ON / 3)), 1))")
    HALF=$(python3 -c "print(max($HALF, $LIGHT))")
    for load in light half; do
        rate=$([[ $load == light ]] && echo "$LIGHT" || echo "$HALF")
        dur=$(python3 -c "import math; print(math.ceil($SAMPLES / $rate) + 1)")
        say "4. start latency (fsync on): bench_noop_3 at $rate processes/s (open loop), ${dur}s for $SAMPLES samples"
        t0=$(($(date +%s%N) / 1000))
        "$LOADGEN" --server "$SADDR" --start-process bench_noop_3 --rate "$rate" --warmup 0 \
            --duration "$dur" --connections 1 --inflight 64 >"$WORK/start_$load.out"
        t1=$(($(date +%s%N) / 1000))
        for ((i = 0; i < 600; i++)); do # until every process of the window completed
            [[ $(q "$DB" "SELECT count(*) FROM processes p JOIN workflows w USING (workflow_id)
                   WHERE w.name = 'bench_noop_3' AND p.end_time IS NULL") == 0 ]] && break
            sleep 0.1
        done
        record "start_$load" "rate=$rate max_on=$MAX_ON $(kv "$WORK/start_$load.out" | sed 's/p50_us=\([0-9]*\)/rpc_p50_us=\1/; s/p99_us=\([0-9]*\)/rpc_p99_us=\1/')"
        record "start_$load" "$(engine_sql bench_noop_3 "$t0" "$t1")"
    done
    stop_pid "$SPID"
fi
if [[ $DURABLE == on ]]; then
    say "durability: back to the cluster's own settings (ALTER SYSTEM RESET)"
    durability off
fi

# ---- 10. step workers (bench/workers.sh): remote vs in-process steps ------------------------
if want 10; then
    say "10. step workers: a remote no-op step vs an in-process one; steps/s with 1 and 4 Python workers"
    if [[ $QUICK == 1 ]]; then W_ARGS=(30 100); else W_ARGS=(100 400); fi
    "$BENCH/workers.sh" "$BUILD" "$PGDIR" "$PGPORT" "${W_ARGS[@]}" | tee "$WORK/workers.out"
    while read -r key rest; do record "workers_$key" "$rest"; done <"$WORK/workers.out"
fi

# ---- report ---------------------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
CPU=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
record meta "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# Values are single words in the raw file: "~" stands for a space.
PGV=$("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL) /PostgreSQL /')
MACHINE="$(nproc) cores, ${CPU}, shared with other work; ${PGV}, fsync=${FSYNC}, synchronous_commit=${SYNC_COMMIT}"
echo "meta machine=${MACHINE// /\~}" >>"$RAW"
echo "meta git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo +dirty)" >>"$RAW"
echo "meta settings=$([[ $QUICK == 1 ]] && echo quick || echo default)~run,~$(($(date +%s) - T_START))~s" >>"$RAW"
echo "meta load_start=${LOAD_START// /\/} load_end=${LOAD_END// /\/}" >>"$RAW"
python3 "$BENCH/suite_tool.py" report "$RAW" "$RESULTS/suite.json"
echo "Work files (captured SQL as pgbench scripts, raw results): $WORK"
echo "The cluster keeps running: scripts/pg.sh stop $PGDIR"
