#!/usr/bin/env bash
# Watch streams benchmark: delay from an event's insert (its step's commit transaction) to its
# delivery to 1, 100 and 1,000 watchers on one replica, beside the raw PostgreSQL
# LISTEN/NOTIFY round trip measured in the same run, and the server's memory per watcher.
#
#   bench/watch_delay.sh [--watchers "1 100 1000"] [--processes N] [--gap-ms MS]
#                        [--build-dir DIR] [--no-build] [--pg-dir DIR] [--pg-port PORT]
#
#   --watchers LIST  watcher counts, one run each on a fresh server (default "1 100 1000")
#   --processes N    create_node processes per run (default 10), one every --gap-ms (200)
#   --no-build       use the binaries already in --build-dir
#
# Builds what it needs (orchestratord, watch_delay), starts (or reuses) the private cluster
# in --pg-dir (default /tmp/orchestrator-bench-pg, port 55433, shared with
# bench/subscriptions.sh) with its own database orchestrator_watch_bench (dropped and created
# again each run), then for each watcher count starts orchestratord (2 workers), runs the
# driver (bench/watch_delay.c), stops the server; prints a table and writes
# bench/results/watch_delay.json. The cluster is left running.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH=$ROOT/bench
WATCHERS="1 100 1000"
PROCESSES=10
GAP_MS=200
BUILD=$ROOT/build
NOBUILD=0
PGDIR=/tmp/orchestrator-bench-pg
PGPORT=55433
DBNAME=orchestrator_watch_bench

die() { echo "watch_delay.sh: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }
usage() { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while (($#)); do
    case "$1" in
    --watchers) WATCHERS=${2:?}; shift 2 ;;
    --processes) PROCESSES=${2:?}; shift 2 ;;
    --gap-ms) GAP_MS=${2:?}; shift 2 ;;
    --build-dir) BUILD=${2:?}; shift 2 ;;
    --no-build) NOBUILD=1; shift ;;
    --pg-dir) PGDIR=${2:?}; shift 2 ;;
    --pg-port) PGPORT=${2:?}; shift 2 ;;
    -h | --help) usage ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
command -v python3 >/dev/null || die "python3 is needed"

# ---- build ----------------------------------------------------------------------------------
if ((NOBUILD == 0)); then
    say "build ($BUILD)"
    [[ -f "$BUILD/CMakeCache.txt" ]] || cmake -S "$ROOT" -B "$BUILD" >/dev/null
    cmake --build "$BUILD" -j"$(nproc)" --target orchestratord orchctl watch_delay >/dev/null
fi
SERVER=$BUILD/server/orchestratord
ORCHCTL=$BUILD/client/orchctl
DRIVER=$BUILD/bench/watch_delay
[[ -x "$SERVER" && -x "$ORCHCTL" && -x "$DRIVER" ]] || die "build did not produce the binaries"

# ---- PostgreSQL -----------------------------------------------------------------------------
say "PostgreSQL cluster in $PGDIR (port $PGPORT), database $DBNAME"
"$ROOT/scripts/pg.sh" start "$PGDIR" "$PGPORT" --fsync-off >/dev/null
PGPORT=$(sed -n 4p "$PGDIR/data/postmaster.pid")
ADMIN="host=$PGDIR port=$PGPORT user=postgres dbname=postgres"
DB="host=$PGDIR port=$PGPORT user=postgres dbname=$DBNAME"
psql "$ADMIN" -X -q -c "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)"
psql "$ADMIN" -X -q -c "CREATE DATABASE $DBNAME"

RESULTS=$BENCH/results
mkdir -p "$RESULTS"
SERVER_LOG=$RESULTS/watch_delay.orchestratord.log
: >"$SERVER_LOG"

# ---- orchestratord --------------------------------------------------------------------------
SERVER_PID=""
free_port() {
    local p
    for ((p = 52000 + RANDOM % 500; p < 53500; p++)); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    die "no free port"
}
server_start() {
    local i
    ADDR=127.0.0.1:$(free_port)
    "$SERVER" --listen "$ADDR" --database-url "$DB" --log-level warn >>"$SERVER_LOG" 2>&1 &
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

# ---- runs -----------------------------------------------------------------------------------
LINES=$RESULTS/watch_delay.lines
: >"$LINES"
for n in $WATCHERS; do
    say "$n watcher(s), $PROCESSES create_node processes"
    server_start
    "$DRIVER" --server "$ADDR" --conninfo "$DB" --server-pid "$SERVER_PID" --watchers "$n" \
        --processes "$PROCESSES" --gap-ms "$GAP_MS" | tee -a "$LINES" >&2 ||
        die "the driver failed for $n watchers (see above and $SERVER_LOG)"
    server_stop
done

python3 - "$LINES" "$RESULTS/watch_delay.json" "$(nproc)" <<'EOF'
import json, sys, time
lines, out, cores = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = []
for line in open(lines):
    if not line.startswith("RESULT "):
        continue
    r = {}
    for kv in line.split()[1:]:
        k, v = kv.split("=", 1)
        r[k] = int(v)
    runs.append(r)
ms = lambda us: f"{us / 1000:.1f}"
print()
print("| watchers | events/watcher | delivered | watch p50 ms | watch p99 ms | NOTIFY p50 ms | NOTIFY p99 ms | RSS/watcher |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in runs:
    print(f"| {r['watchers']} | {r['events_per_watcher']} | {r['delivered']} | "
          f"{ms(r['watch_p50_us'])} | {ms(r['watch_p99_us'])} | {ms(r['notify_p50_us'])} | "
          f"{ms(r['notify_p99_us'])} | {r['rss_per_watcher_bytes'] / 1024:.1f} KiB |")
json.dump({"benchmark": "watch_delay", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "cores": cores, "runs": runs}, open(out, "w"), indent=2)
print(f"\nwrote {out}")
EOF
