#!/usr/bin/env bash
# Run every test: install dependencies, build build/ (RelWithDebInfo) and build-asan/
# (AddressSanitizer + UndefinedBehaviorSanitizer), start a throwaway PostgreSQL cluster, then
# check the formatting (the format-check target), run the unit and integration suites of both
# builds with ctest, then the libFuzzer targets (tests/fuzz/run.sh). Prints a timing table and
# a final "N passed, N failed" line; exits non-zero if any phase failed.
#
# Environment: ORCH_TEST_JOBS (ctest -j, default 2). Server and test logs are kept in
# .test-logs/<phase>/ (cleared at the start of each run).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT" || exit 1

JOBS=${ORCH_TEST_JOBS:-2}
NPROC=$(nproc 2>/dev/null || echo 2)
BUILD_TYPE=RelWithDebInfo
LOGS=$ROOT/.test-logs
SAN_PATTERN='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:'

rm -rf "$LOGS"
mkdir -p "$LOGS"

# ---- throwaway PostgreSQL ------------------------------------------------------------------
PG_DIR=""
cleanup() {
    if [[ -n "$PG_DIR" ]]; then
        scripts/pg.sh destroy "$PG_DIR" >/dev/null 2>&1 || true
        rm -rf -- "$PG_DIR"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

PG_STARTED=0
start_pg() {
    ((PG_STARTED)) && return 0
    local port
    PG_DIR=$(mktemp -d /tmp/orch-test-pg.XXXXXX) || return 1
    port=$(free_port) || return 1
    scripts/pg.sh start "$PG_DIR" "$port" --fsync-off >"$LOGS/pg-start.log" 2>&1 || {
        cat "$LOGS/pg-start.log" >&2
        return 1
    }
    export ORCH_TEST_PGHOST=$PG_DIR ORCH_TEST_PGPORT=$port ORCH_TEST_PGUSER=postgres
    PG_STARTED=1
    echo "test.sh: throwaway PostgreSQL on $PG_DIR port $port"
}

# ---- phases ----------------------------------------------------------------------------------
PHASES=()
declare -A SECS RESULT
TOTAL_PASSED=0
TOTAL_FAILED=0
ANY_FAILED=0

record() { # NAME RESULT SECONDS
    PHASES+=("$1")
    RESULT[$1]=$2
    SECS[$1]=$3
    [[ "$2" == ok ]] || ANY_FAILED=1
}

now() { echo "${EPOCHREALTIME:-$(date +%s.%N)}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

banner() { printf '\n==== %s ====\n' "$1"; }

# run_phase NAME CMD...: runs CMD, output to the terminal and .test-logs/NAME.log.
run_phase() {
    local name=$1 t0 rc
    shift
    banner "$name"
    t0=$(now)
    "$@" 2>&1 | tee "$LOGS/$name.log"
    rc=${PIPESTATUS[0]}
    record "$name" "$([[ $rc == 0 ]] && echo ok || echo "FAIL (exit $rc)")" "$(elapsed "$t0")"
    return "$rc"
}

skip_phase() { # NAME REASON
    banner "$1"
    echo "skipped: $2"
    record "$1" "skipped ($2)" 0.0
}

build() { # DIR CMAKE-ARGS...
    local dir=$1
    shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "$@" &&
        cmake --build "$dir" -j"$NPROC"
}

# ctest_phase NAME BUILD-DIR LABEL [sanitizer]: runs one label of one build tree.
ctest_phase() {
    local name=$1 dir=$2 label=$3 san=${4:-} t0 rc out counts passed failed res
    banner "$name"
    t0=$(now)
    out=$LOGS/$name.log
    mkdir -p "$LOGS/$name"
    rc=0
    if [[ "$label" == integration ]] && ! start_pg; then
        echo "could not start the throwaway PostgreSQL" | tee "$out"
        record "$name" "FAIL (PostgreSQL)" "$(elapsed "$t0")"
        return 1
    fi
    (
        export ORCH_TEST_LOG_DIR=$LOGS/$name
        if [[ -n "$san" ]]; then
            export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
            export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        fi
        ctest --test-dir "$dir" -L "$label" --output-on-failure --no-tests=error -j"$JOBS"
    ) 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    # --output-on-failure shows only failing tests; the full output of every test (sanitizer
    # reports of passing tests too) is in ctest's LastTest.log.
    cp "$dir/Testing/Temporary/LastTest.log" "$LOGS/$name/ctest-LastTest.log" 2>/dev/null || true

    # "100% tests passed, 0 tests failed out of 5" / "80% tests passed, 1 tests failed out of 5"
    counts=$(sed -nE 's/.*tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/p' "$out" | tail -n 1)
    if [[ -n "$counts" ]]; then
        failed=${counts% *}
        passed=$((${counts#* } - failed))
        TOTAL_PASSED=$((TOTAL_PASSED + passed))
        TOTAL_FAILED=$((TOTAL_FAILED + failed))
    fi

    res=ok
    ((rc == 0)) || res="FAIL (exit $rc)"
    if [[ -n "$san" ]]; then
        local hits
        hits=$(grep -rEl "$SAN_PATTERN" "$out" "$LOGS/$name" 2>/dev/null)
        if [[ -n "$hits" ]]; then
            echo "test.sh: sanitizer reports found in:"
            echo "$hits" | sed 's/^/  /'
            grep -rEh -A3 "$SAN_PATTERN" "$LOGS/$name" 2>/dev/null | head -n 40
            res="FAIL (sanitizer report)"
        fi
    fi
    record "$name" "$res" "$(elapsed "$t0")"
}

# npm packages of the Node interop client (tests/interop/node) and of the Node worker
# library (client/node, docs/WORKFLOWS-AS-DATA.md): `npm ci` from each package-lock.json when
# node_modules is missing or older than the lock file.
npm_deps() {
    local dir
    command -v npm >/dev/null || {
        echo "deps: npm not found: the Node tests (interop_node_scenario, the Node worker) need node and npm" >&2
        return 1
    }
    for dir in tests/interop/node client/node; do
        if [[ -f $dir/node_modules/.package-lock.json && ! $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
            echo "deps: npm packages of $dir present"
            continue
        fi
        echo "deps: npm ci in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts) || return 1
    done
}

# ---- the run ---------------------------------------------------------------------------------
T_START=$(now)

deps_phase() { scripts/deps.sh && npm_deps; }

run_phase deps deps_phase

if run_phase build build build; then
    # The house style (.clang-format, clang-format-14): CI fails on an unformatted file.
    run_phase format-check cmake --build build --target format-check
    ctest_phase unit build unit
    ctest_phase integration build integration
else
    skip_phase unit "build failed"
    skip_phase integration "build failed"
fi

if run_phase build-asan build build-asan -DORCH_SANITIZE=address,undefined; then
    ctest_phase unit-asan build-asan unit san
    ctest_phase integration-asan build-asan integration san
else
    skip_phase unit-asan "build-asan failed"
    skip_phase integration-asan "build-asan failed"
fi

# libFuzzer targets, ORCH_FUZZ_SECONDS each (default 20), under ASan + UBSan in their own
# tree (tests/fuzz/run.sh, build-fuzz/); a crash input is kept in tests/fuzz/corpus/.
if grep -Eq '^foreach\(dir [^)]*\bfuzz\b' tests/CMakeLists.txt; then
    run_phase fuzz tests/fuzz/run.sh "${ORCH_FUZZ_SECONDS:-20}"
else
    skip_phase fuzz "tests/CMakeLists.txt does not add tests/fuzz yet"
fi

# ---- summary ---------------------------------------------------------------------------------
printf '\n%-18s %8s  %s\n' phase seconds result
for p in "${PHASES[@]}"; do
    printf '%-18s %8s  %s\n' "$p" "${SECS[$p]}" "${RESULT[$p]}"
done
printf '%-18s %8s\n' total "$(elapsed "$T_START")"
echo "logs: $LOGS"
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
if ((ANY_FAILED)); then
    exit 1
fi
exit 0
