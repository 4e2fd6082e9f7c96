#!/usr/bin/env bash
# Watch streams benchmark: delay from an event's insert (its step's commit transaction) to its
# delivery to 1, 100, 1,000 and 10,000 watchers on one replica, beside the raw PostgreSQL
# LISTEN/NOTIFY round trip measured in the same run; the server's memory per idle watcher
# beside gRPC's own floor (orch-echo holding as many idle streams), its CPU time per
# delivered event and the watch hub's queries per event.
#
#   bench/watch_delay.sh [--watchers "1 100 1000 10000"] [--processes N] [--gap-ms MS]
#                        [--no-process] [--no-mixed] [--no-echo] [--no-split] [--driver-threads T]
#                        [--build-dir DIR] [--no-build] [--pg-dir DIR] [--pg-port PORT]
#
#   --watchers LIST  WatchProcesses rows: watcher counts, one run each on a fresh server
#                    (default "1 100 1000 10000"); a row of more than 1,000 spreads its
#                    streams over one connection per 1,000 (at least 5) and raises
#                    --max-watchers-per-client to its count, for that row only
#   --processes N    create_node processes per WatchProcesses row (default 10), one every
#                    --gap-ms (200)
#   --no-process     skip the row of 1,000 WatchProcess streams of one process (its steps
#                    held with ORCH_TEST_HOLD_STEP while the streams open, all from one
#                    snapshot): the hub's queries per event
#   --no-mixed       skip the mixed row: 1,000 WatchProcess streams over 100 processes (one
#                    every 20 ms) plus 10 WatchProcesses streams with filters (per-client
#                    limit raised to 1,010 for that row)
#   --no-echo        skip orch-echo holding as many idle streams as each WatchProcesses row
#                    (headers sent, request and metadata let go: gRPC's floor)
#   --no-split       skip each WatchProcesses row of 100 or more run again with the driver
#                    on CPUs of its own (PostgreSQL and the server on CPU 0, the driver on
#                    the others: as where watchers run on other machines), reported beside
#                    the row (row name processes_N_split)
#   --driver-threads T  the driver's poller threads (default 2); its CPU per delivery is
#                    reported beside the server's: both share the same cores
#   --no-build       use the binaries already in --build-dir
#
# Builds what it needs (orchestratord, orchctl, watch_delay, orch-echo), starts (or reuses)
# the private cluster in --pg-dir (default /tmp/orchestrator-bench-pg, port 55433, shared
# with bench/subscriptions.sh) with its own database orchestrator_watch_bench (dropped and
# created again each run), then for each row starts orchestratord (2 workers, /metrics on),
# runs the driver (bench/watch_delay.c), stops the server; prints a table and writes
# bench/results/watch_delay.json. Each RESULT line carries the 1-minute load average when
# its row started (the machine may be shared). The cluster is left running.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH=$ROOT/bench
WATCHERS="1 100 1000 10000"
DO_PROCESS=1
DO_MIXED=1
DO_ECHO=1
DO_SPLIT=1
PROCESSES=10
GAP_MS=200
DRIVER_THREADS=2
BUILD=$ROOT/build
NOBUILD=0
PGDIR=/tmp/orchestrator-bench-pg
PGPORT=55433
DBNAME=orchestrator_watch_bench

die() { echo "watch_delay.sh: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }
usage() { sed -n '2,40p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while (($#)); do
    case "$1" in
    --watchers) WATCHERS=${2:?}; shift 2 ;;
    --processes) PROCESSES=${2:?}; shift 2 ;;
    --gap-ms) GAP_MS=${2:?}; shift 2 ;;
    --no-process) DO_PROCESS=0; shift ;;
    --no-mixed) DO_MIXED=0; shift ;;
    --no-echo) DO_ECHO=0; shift ;;
    --no-split) DO_SPLIT=0; shift ;;
    --driver-threads) DRIVER_THREADS=${2:?}; shift 2 ;;
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
    cmake --build "$BUILD" -j"$(nproc)" --target orchestratord-test orchctl watch_delay orch-echo >/dev/null
fi
# The test binary (tests/testbin/): one row holds a step with its ORCH_TEST_HOLD_STEP hook.
SERVER=$BUILD/server/orchestratord-test
ORCHCTL=$BUILD/client/orchctl
DRIVER=$BUILD/bench/watch_delay
ECHO=$BUILD/bench/orch-echo
[[ -x "$SERVER" && -x "$ORCHCTL" && -x "$DRIVER" && -x "$ECHO" ]] || die "build did not produce the binaries"

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
# server_start [orchestratord flags...]: a fresh server with /metrics on $METRICS.
server_start() {
    local i
    ADDR=127.0.0.1:$(free_port)
    METRICS=127.0.0.1:$(free_port)
    "${SRV_PIN[@]}" "$SERVER" --listen "$ADDR" --metrics-listen "$METRICS" --database-url "$DB" \
        --log-level warn "$@" >>"$SERVER_LOG" 2>&1 &
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
# SRV_PIN, DRV_PIN: command prefixes (taskset) for the server and the driver in split rows,
# with the cluster pinned (bench/pg_pin.sh).
SRV_PIN=()
DRV_PIN=()
. "$BENCH/pg_pin.sh"
on_exit() {
    server_stop
    pg_unpin
}
trap on_exit EXIT

# ---- runs -----------------------------------------------------------------------------------
LINES=$RESULTS/watch_delay.lines
: >"$LINES"
load1() { cut -d' ' -f1 /proc/loadavg; }
# run ROW_LABEL [server flags...] -- [driver flags...]
run() {
    local label=$1 load out
    shift
    local sflags=()
    while (($#)) && [[ "$1" != -- ]]; do sflags+=("$1"); shift; done
    shift
    load=$(load1)
    server_start "${sflags[@]}"
    out=$("${DRV_PIN[@]}" "$DRIVER" --server "$ADDR" --conninfo "$DB" --server-pid "$SERVER_PID" \
        --metrics "$METRICS" --threads "$DRIVER_THREADS" "$@") ||
        { echo "$out" >&2; die "the driver failed for $label (see above and $SERVER_LOG)"; }
    echo "$out row=$label load=$load" | tee -a "$LINES" >&2
    server_stop
}
# Connections for n streams: one per 1,000 above 1,000, at least 5 (the per-connection limit
# is 2,000 streams).
channels_for() {
    local n=$1 c
    ((n <= 1000)) && { echo 1; return; }
    c=$(((n + 999) / 1000))
    echo $((c < 5 ? 5 : c))
}
echo_idle() {
    local n=$1 ch=$2 eaddr epid out i
    eaddr=127.0.0.1:$(free_port)
    # Each held call sends its headers at once, as a watch stream does, and lets go of its
    # request and metadata at once: the least an idle stream can cost in the core.
    "$ECHO" --listen "$eaddr" --threads 8 --hold-headers --hold-release \
        --hold-method /orchestrator.v1.ProcessService/WatchProcesses >/dev/null 2>&1 &
    epid=$!
    for ((i = 0; i < 100; i++)); do
        (exec 3<>"/dev/tcp/${eaddr%:*}/${eaddr#*:}") 2>/dev/null && break
        sleep 0.05
    done
    out=$("$DRIVER" --server "$eaddr" --server-pid "$epid" --watchers "$n" --channels "$ch" \
        --idle-only) || die "the driver failed against orch-echo"
    echo "$out row=echo_$n load=$(load1)" | tee -a "$LINES" >&2
    kill -TERM "$epid" 2>/dev/null || true
    wait "$epid" 2>/dev/null || true
}
for n in $WATCHERS; do
    ch=$(channels_for "$n")
    limit=()
    ((n > 1000)) && limit=(--max-watchers-per-client "$n")
    say "$n WatchProcesses watcher(s) over $ch connection(s), $PROCESSES create_node processes"
    run "processes_$n" "${limit[@]}" -- --watchers "$n" --channels "$ch" \
        --processes "$PROCESSES" --gap-ms "$GAP_MS"
    if ((DO_SPLIT)) && ((n >= 100)) && split_ok; then
        say "the same, PostgreSQL and the server on CPU 0, the driver on CPUs $OTHER_CPUS"
        pg_pin "$PGDIR"
        SRV_PIN=(taskset -c 0)
        DRV_PIN=(taskset -c "$OTHER_CPUS")
        run "processes_${n}_split" "${limit[@]}" -- --watchers "$n" --channels "$ch" \
            --processes "$PROCESSES" --gap-ms "$GAP_MS"
        SRV_PIN=()
        DRV_PIN=()
        pg_unpin
    fi
    if ((DO_ECHO)) && ((n >= 100)); then
        say "orch-echo holding $n idle streams over $ch connection(s)"
        echo_idle "$n" "$ch"
    fi
done
if ((DO_PROCESS)); then
    say "1000 WatchProcess watchers of one process (a step held while they open)"
    ORCH_TEST_HOLD_STEP=allocate.ipv4 ORCH_TEST_HOLD_MS=5000 \
        run process_1000 -- --mode process --watchers 1000 --processes 1 --held
fi
if ((DO_MIXED)); then
    say "mixed: 1000 WatchProcess watchers over 100 processes + 10 filtered WatchProcesses"
    # 1,010 streams from one client (one address): the per-client limit (1,000) raised to
    # that for this row, as slow processes keep earlier streams open.
    run mixed_1000 --max-watchers-per-client 1010 -- --mode mixed --watchers 1000 \
        --processes 100 --gap-ms 20 --multi 10
fi

python3 - "$LINES" "$RESULTS/watch_delay.json" "$(nproc)" <<'EOF'
import json, sys, time
lines, out, cores = sys.argv[1], sys.argv[2], int(sys.argv[3])
def val(v):
    for t in (int, float):
        try:
            return t(v)
        except ValueError:
            pass
    return v
runs, echo = [], {}
for line in open(lines):
    if not line.startswith("RESULT "):
        continue
    r = {}
    for kv in line.split()[1:]:
        if "=" in kv:
            k, v = kv.split("=", 1)
            r[k] = val(v)
    if r["row"].startswith("echo_"):
        echo[r["watchers"]] = r
    runs.append(r)
ms = lambda us: f"{us / 1000:.1f}"
kib = lambda b: f"{b / 1024:.1f} KiB" if b >= 0 else "-"
print()
print("| row | watchers | conns | events | delivered | p50 ms | p99 ms | NOTIFY p50 ms | NOTIFY p99 ms "
      "| RSS/idle watcher | orch-echo/idle stream | server CPU/delivery | driver CPU/delivery "
      "| hub queries/event | load |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in runs:
    if r["row"].startswith("echo_"):
        continue
    e = echo.get(r["watchers"]) if r["mode"] == "processes" else None
    print(f"| {r['row']} | {r['watchers']}{' + ' + str(r['multi']) if r['multi'] else ''} | "
          f"{r['channels']} | {r['distinct_events']} | {r['delivered']} | {ms(r['watch_p50_us'])} | "
          f"{ms(r['watch_p99_us'])} | {ms(r['notify_p50_us'])} | {ms(r['notify_p99_us'])} | "
          f"{kib(r['rss_per_watcher_bytes'])} | {kib(e['rss_per_watcher_bytes']) if e else '-'} | "
          f"{r['cpu_ns_per_delivery'] / 1000:.1f} us | "
          f"{r.get('driver_cpu_ns_per_delivery', -1000) / 1000:.1f} us | "
          f"{r['queries_per_event_x100'] / 100:.2f} | "
          f"{r['load']} |")
json.dump({"benchmark": "watch_delay", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "cores": cores, "runs": runs}, open(out, "w"), indent=2)
print(f"\nwrote {out}")
EOF
