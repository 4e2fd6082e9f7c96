#!/usr/bin/env bash
# Run the service: install dependencies, build into build/, start the private PostgreSQL
# cluster (scripts/pg.sh), create the "orchestrator" database if missing and run
# build/server/orchestratord in the foreground. Extra arguments go to the server, e.g.
#   scripts/run.sh --log-level debug --log-format json
# Environment: ORCH_PG_PORT (default 55432), ORCH_LISTEN (default 127.0.0.1:50051),
# ORCH_BUILD_TYPE (default RelWithDebInfo).
# PostgreSQL keeps running after the server exits; stop it with: scripts/pg.sh stop
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

PG_PORT=${ORCH_PG_PORT:-55432}
LISTEN=${ORCH_LISTEN:-127.0.0.1:50051}
BUILD_TYPE=${ORCH_BUILD_TYPE:-RelWithDebInfo}
PG_BIN=/usr/lib/postgresql/15/bin

scripts/deps.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
cmake --build build -j"$(nproc)"

PG_DIR=$(scripts/pg.sh dir)
CONNINFO=$(scripts/pg.sh start "$PG_DIR" "$PG_PORT")
# An already running cluster keeps the port it was started with.
PG_PORT=$(sed -nE 's/.*port=([0-9]+).*/\1/p' <<<"$CONNINFO")

if [[ "$("$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -XAtq \
    -c "SELECT 1 FROM pg_database WHERE datname = 'orchestrator'")" != 1 ]]; then
    echo "run.sh: creating database orchestrator" >&2
    "$PG_BIN/createdb" -h "$PG_DIR" -p "$PG_PORT" -U postgres orchestrator
fi

echo "run.sh: PostgreSQL stays up after the server exits; stop it with: scripts/pg.sh stop" >&2
exec build/server/orchestratord --listen "$LISTEN" \
    --database-url "host=$PG_DIR port=$PG_PORT user=postgres dbname=orchestrator" "$@"
