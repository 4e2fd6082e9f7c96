#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build, run and test the orchestrator.
# Idempotent: when everything is installed it only runs dpkg-query and returns quickly.
# Never starts, stops or uses the system PostgreSQL cluster (scripts/pg.sh runs a private one).
set -euo pipefail

# Each package with what needs it. A package missing here fails CI's fresh-machine step
# (.ci/run), not the next new user.
PACKAGES=(
    build-essential          # gcc, make: the build
    cmake                    # the build
    pkg-config               # CMake finds the libraries through it
    libgrpc-dev              # gRPC C core: server and orchctl
    protobuf-compiler        # protoc: the descriptor set, Python stubs
    libprotobuf-dev          # google/protobuf/*.proto that proto/ imports
    protobuf-compiler-grpc   # grpc_python_plugin: the Python interop client
    grpc-proto               # grpc/health/v1 and reflection .proto files
    protobuf-c-compiler      # protoc-c: the C message code
    libprotobuf-c-dev        # protobuf-c runtime
    libpq-dev                # db/: libpq
    uuid-dev                 # ids
    libcmocka-dev            # unit and integration tests
    libjansson-dev           # JSON state and forms
    libyaml-dev              # orchctl workflow register FILE.yaml (workflows as data)
    libssl-dev               # TLS, JWT signatures
    libmicrohttpd-dev        # /metrics and health over HTTP
    libjwt-dev               # JWT authentication
    openssl                  # test certificates
    postgresql-15            # the private and the test clusters
    postgresql-client-15     # psql, createdb in scripts/
    python3                  # interop tests, proto compat check, helm manifest check
    python3-grpcio           # Python interop client
    python3-protobuf         # Python interop client, proto compat check
    python3-yaml             # helm manifest check
    util-linux               # runuser: the test cluster runs as postgres
    jq                       # scripts and the authoring guide's shell steps
    git                      # the authoring guide test copies the tree with git ls-files
    clang-14                 # libFuzzer targets (tests/fuzz)
    libclang-rt-14-dev       # sanitizer and fuzzer runtimes for clang
    clang-format-14          # the format-check target
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
