#!/usr/bin/env bash
# The fault suite in its long form: the same test binary as the test command
# (tests/integration/test_faults_it.c), with many rounds of each fault.
#
#   bench/faults.sh [--rounds N] [--case PATTERN] [--build-dir DIR] [--no-build]
#                   [--pg-dir DIR] [--pg-port PORT]
#
#   --rounds N       rounds of each fault (default 50; the test command runs 4 / 2 / 4 / 2 / 2)
#   --case PATTERN   only the cases matching (sigkill_rounds, pg_restart_rounds,
#                    terminate_backends_rounds, group_commit_kill_rounds,
#                    stale_stretch_rounds, lost_claim_answer,
#                    start_repeated_after_its_effect; cmocka's * and ? work)
#   --no-build       use the binaries already in --build-dir (default build/)
#
# group_commit_kill_rounds SIGKILLs a replica while it holds a group commit open (the
# engine's ORCH_TEST_HOLD_GROUP_COMMIT_MS hook, its "holding group commit" log line): on a
# build without group commit it FAILS, saying so. stale_stretch_rounds SIGSTOPs a replica in
# the middle of a step past its --lease-ms (1000 there) until another replica took the
# process over, then SIGCONTs it: its stale commit must be refused.
#
# Starts (or reuses) the private cluster in --pg-dir (default /tmp/orchestrator-bench-pg,
# port 55433, shared with the other benchmarks); the pg_restart case makes a throwaway
# cluster of its own, as in the test. Prints each round, then the results table (fault,
# rounds, processes, completed, lost, duplicated steps, time to recover); exits non-zero
# when any case lost a process or ran a step twice. Server logs go to
# bench/results/faults-logs/. The cluster is left running.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
ROUNDS=50
CASE=""
BUILD=$ROOT/build
NOBUILD=0
PGDIR=/tmp/orchestrator-bench-pg
PGPORT=55433

die() { echo "faults.sh: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }
usage() { sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while (($#)); do
    case "$1" in
    --rounds) ROUNDS=${2:?}; shift 2 ;;
    --case) CASE=${2:?}; shift 2 ;;
    --build-dir) BUILD=${2:?}; shift 2 ;;
    --no-build) NOBUILD=1; shift ;;
    --pg-dir) PGDIR=${2:?}; shift 2 ;;
    --pg-port) PGPORT=${2:?}; shift 2 ;;
    -h | --help) usage ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive whole number"

if ((!NOBUILD)); then
    say "building test_faults_it in $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD" -j2 --target test_faults_it orchestratord-test orchctl >/dev/null
fi
BIN=$BUILD/tests/test_faults_it
[[ -x "$BIN" ]] || die "$BIN not found (build it or drop --no-build)"

say "PostgreSQL in $PGDIR (port $PGPORT)"
"$ROOT/scripts/pg.sh" start "$PGDIR" "$PGPORT" --fsync-off >/dev/null

LOGS=$ROOT/bench/results/faults-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
say "$ROUNDS rounds of each fault${CASE:+ (cases: $CASE)}"
ORCH_FAULT_ROUNDS=$ROUNDS ORCH_FAULT_CASE=$CASE ORCH_TEST_LOG_DIR=$LOGS \
    ORCH_TEST_PGHOST=$PGDIR ORCH_TEST_PGPORT=$PGPORT ORCH_TEST_PGUSER=postgres \
    "$BIN"
