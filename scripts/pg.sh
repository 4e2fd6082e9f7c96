#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for development and tests (never the system cluster).
#
#   scripts/pg.sh start [DIR] [PORT] [--fsync-off] [--tcp]
#       Create the cluster in DIR if needed (initdb, trust auth, superuser "postgres") and
#       start it; a no-op when it already runs. The Unix socket lives in DIR itself; by
#       default there is no TCP listener (--tcp adds 127.0.0.1:PORT). --fsync-off (or
#       ORCH_PG_FSYNC=off) trades durability for speed: for throwaway test clusters only.
#       Prints the libpq conninfo "host=DIR port=PORT user=postgres" on stdout.
#   scripts/pg.sh stop [DIR]      Stop the cluster (fast shutdown); a no-op if not running.
#   scripts/pg.sh destroy DIR     Stop the cluster and delete DIR.
#   scripts/pg.sh status [DIR]    Exit 0 if the cluster runs.
#   scripts/pg.sh dir             Print the default DIR for this checkout.
#
# DIR defaults to /tmp/orchestrator-pg-<hash of the repository path> and PORT to
# $ORCH_PG_PORT or 55432. Layout: DIR/data (PGDATA), DIR/postgres.log, DIR/.s.PGSQL.PORT.
# When run as root, the server runs as the "postgres" OS user (initdb refuses root).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

default_dir() {
    local h
    h=$(printf '%s' "$REPO" | sha1sum | cut -c1-12)
    printf '/tmp/orchestrator-pg-%s\n' "$h"
}

die() { echo "pg.sh: $*" >&2; exit 1; }
log() { echo "pg.sh: $*" >&2; }

# Run a command as the cluster's owner: "postgres" when we are root, ourselves otherwise.
as_owner() {
    if ((EUID == 0)); then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

usage() {
    sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

is_running() { # DIR
    [[ -f "$1/data/PG_VERSION" ]] || return 1
    as_owner "$PG_BIN/pg_ctl" status -D "$1/data" >/dev/null 2>&1
}

running_port() { # DIR: the port of a running cluster, from postmaster.pid line 4
    sed -n 4p "$1/data/postmaster.pid" 2>/dev/null
}

cmd_start() {
    local dir="" port="" fsync=${ORCH_PG_FSYNC:-on} tcp=0 arg
    for arg in "$@"; do
        case "$arg" in
        --fsync-off) fsync=off ;;
        --tcp) tcp=1 ;;
        -*) die "unknown option $arg" ;;
        *) if [[ -z "$dir" ]]; then dir=$arg; elif [[ -z "$port" ]]; then port=$arg; else usage; fi ;;
        esac
    done
    dir=${dir:-$(default_dir)}
    port=${port:-${ORCH_PG_PORT:-55432}}
    [[ "$port" =~ ^[0-9]+$ ]] || die "bad port '$port'"
    [[ -x "$PG_BIN/initdb" ]] || die "$PG_BIN/initdb not found (run scripts/deps.sh)"
    [[ "$dir" == /* ]] || dir="$(pwd -P)/$dir"
    # A Unix socket path is limited to 107 bytes.
    ((${#dir} + 20 < 107)) || die "DIR too long for a Unix socket path: $dir"

    mkdir -p "$dir"
    if ((EUID == 0)); then
        chown postgres:postgres "$dir"
    fi
    chmod 0700 "$dir"
    as_owner test -w "$dir" -a -x "$dir" ||
        die "$dir is not reachable by the postgres user (use a directory under /tmp)"

    # Serialise concurrent start/stop calls on the same DIR.
    exec 9<"$dir"
    flock 9

    if is_running "$dir"; then
        local rp
        rp=$(running_port "$dir")
        [[ "$rp" == "$port" ]] || log "already running on port $rp (not $port)"
        log "already running in $dir"
        echo "host=$dir port=$rp user=postgres"
        return 0
    fi

    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        log "initdb $dir/data"
        as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale \
            >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
        echo "include_if_exists = 'orchestrator.conf'" | as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
    fi

    local listen="''"
    ((tcp)) && listen="'127.0.0.1'"
    # Rewritten on every start, so the port, socket and fsync options follow the arguments.
    as_owner tee "$dir/data/orchestrator.conf" >/dev/null <<EOF
# Written by scripts/pg.sh start; rewritten on every start.
port = $port
listen_addresses = $listen
unix_socket_directories = '$dir'
unix_socket_permissions = 0777
max_connections = 200
fsync = $fsync
synchronous_commit = $fsync
full_page_writes = $fsync
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %d '
EOF

    log "starting on port $port (socket in $dir, fsync=$fsync)"
    if ! as_owner "$PG_BIN/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -w -t 60 >/dev/null 9<&-; then
        tail -n 30 "$dir/postgres.log" >&2 || true
        die "PostgreSQL did not start (port $port in use?)"
    fi
    local i
    for ((i = 0; i < 300; i++)); do
        "$PG_BIN/pg_isready" -q -h "$dir" -p "$port" -U postgres && break
        sleep 0.1
    done
    "$PG_BIN/pg_isready" -q -h "$dir" -p "$port" -U postgres || die "not ready after 30 s"
    log "ready"
    echo "host=$dir port=$port user=postgres"
}

cmd_stop() {
    local dir=${1:-$(default_dir)}
    [[ -d "$dir" ]] || { log "$dir does not exist"; return 0; }
    exec 9<"$dir"
    flock 9
    if is_running "$dir"; then
        as_owner "$PG_BIN/pg_ctl" stop -D "$dir/data" -m fast -w -t 60 >/dev/null ||
            as_owner "$PG_BIN/pg_ctl" stop -D "$dir/data" -m immediate -w >/dev/null
        log "stopped $dir"
    else
        log "not running in $dir"
    fi
}

cmd_destroy() {
    local dir=${1:-}
    [[ -n "$dir" ]] || die "destroy needs an explicit DIR"
    [[ -d "$dir" ]] || return 0
    # Refuse to delete anything that does not look like one of our clusters.
    [[ -f "$dir/data/PG_VERSION" || -z "$(ls -A "$dir")" ]] ||
        die "$dir does not look like a cluster made by pg.sh; not deleting it"
    cmd_stop "$dir"
    exec 9<&-
    rm -rf -- "$dir"
}

case "${1:-}" in
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
destroy) shift; cmd_destroy "$@" ;;
status) shift; d=${1:-$(default_dir)}; if is_running "$d"; then echo "running in $d, port $(running_port "$d")"; else echo "not running in $d"; exit 1; fi ;;
dir) default_dir ;;
*) usage ;;
esac
