#!/usr/bin/env bash
# Bench section 10: step workers (issue 22). A remote no-op step (bench_remote_noop's n2, done
# by a Python worker of client/python) against an in-process one (bench_noop_3's n2): p50 and
# p99 per step, processes run one at a time; then steps/s of a burst of processes with no
# worker (in process), 1 and 4 Python worker processes, all in one run on one server.
#
#   bench/workers.sh BUILD_DIR PG_HOST PG_PORT [SEQ N]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
BUILD=${1:?build dir}
exec /usr/bin/python3 "$ROOT/bench/workers_bench.py" --server-bin "$BUILD/server/orchestratord-test" \
    --proto-dir "$ROOT/proto" --pg-host "${2:?pg host}" --pg-port "${3:?pg port}" \
    --pg-user "${PGUSER:-postgres}" --seq "${4:-100}" --n "${5:-400}"
