#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build, run and test the orchestrator.
# Idempotent: when everything is installed it only runs dpkg-query and returns quickly.
# Never starts, stops or uses the system PostgreSQL cluster (scripts/pg.sh runs a private one).
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config
    libgrpc-dev protobuf-compiler protobuf-compiler-grpc grpc-proto
    protobuf-c-compiler libprotobuf-c-dev
    libpq-dev uuid-dev libcmocka-dev libjansson-dev libssl-dev libmicrohttpd-dev libjwt-dev openssl
    postgresql-15 postgresql-client-15
    python3 python3-grpcio python3-protobuf python3-yaml
    procps util-linux jq
    clang-14 libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$status" == installed ]] || missing+=("$p")
done
# The Node interop test needs node and npm. A machine that already has them (e.g. from
# NodeSource) keeps its own; only a machine without node gets Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi

if ((${#missing[@]} == 0)); then
    echo "deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi

echo "deps: installing: ${missing[*]}"
SUDO=()
if ((EUID != 0)); then
    command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install packages" >&2; exit 1; }
    SUDO=(sudo)
fi

# When postgresql-15 is installed for the first time, Debian creates (and tries to start) a
# "main" cluster we never use. Ask postgresql-common not to create it. This drop-in only
# affects clusters created by Debian's pg_createcluster, never our private ones.
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && [[ ! -d /var/lib/postgresql/15/main ]]; then
    "${SUDO[@]}" mkdir -p /etc/postgresql-common/createcluster.d
    if [[ ! -e /etc/postgresql-common/createcluster.d/orchestrator-no-main.conf ]]; then
        echo "create_main_cluster = false" |
            "${SUDO[@]}" tee /etc/postgresql-common/createcluster.d/orchestrator-no-main.conf >/dev/null
    fi
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "deps: done"
