#!/usr/bin/env bash
# Builds the libFuzzer targets (their own tree, build-fuzz/: clang-14, -DORCH_FUZZ=ON, every
# library under ASan + UBSan with coverage) and runs each one after the other for SECONDS
# (default 30) from its corpus: the committed seeds and regression inputs in
# tests/fuzz/corpus/<target>/ plus what earlier runs found (build-fuzz/fuzz-corpus/<target>/,
# not committed). Any crash, leak, undefined behaviour, timeout or out-of-memory fails the run,
# and its input is copied to tests/fuzz/corpus/<target>/regress-<kind>-<sha1> so that it stays
# a regression input (ctest -L fuzz in build-fuzz/ replays every corpus; commit the file with
# the fix). Prints a table and exits non-zero if any target failed.
#
# Usage: tests/fuzz/run.sh [SECONDS]
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_TARGETS (space-separated subset),
#              FUZZ_RSS_MB (default 2048), CC (default clang-14).
# Longer runs: tests/fuzz/run.sh 3600 (one target at a time, so hours for the whole set).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT" || exit 1

SECONDS_EACH=${1:-30}
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
RSS_MB=${FUZZ_RSS_MB:-2048}
NPROC=$(nproc 2>/dev/null || echo 2)
CORPUS=$ROOT/tests/fuzz/corpus

if ! [[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || ((SECONDS_EACH < 1)); then
    echo "usage: tests/fuzz/run.sh [SECONDS]" >&2
    exit 2
fi
export CC=${CC:-clang-14}
command -v "$CC" >/dev/null || { echo "run.sh: $CC not found (scripts/deps.sh installs it)" >&2; exit 1; }

# ---- build ---------------------------------------------------------------------------------
echo "run.sh: building the fuzz targets in $BUILD"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORCH_FUZZ=ON >"$BUILD.configure.log" 2>&1 || {
    cat "$BUILD.configure.log" >&2
    echo "run.sh: cmake configure failed" >&2
    exit 1
}
rm -f "$BUILD.configure.log"
if [[ ! -f "$BUILD/tests/fuzz/targets.txt" ]]; then
    echo "run.sh: no fuzz targets configured: tests/CMakeLists.txt must add the fuzz folder" \
        "(foreach(dir interop compat helm fuzz))" >&2
    exit 1
fi
cmake --build "$BUILD" -j"$NPROC" --target fuzz_all || { echo "run.sh: build failed" >&2; exit 1; }

read -r -a ALL <"$BUILD/tests/fuzz/targets.txt"
TARGETS=("${ALL[@]}")
if [[ -n "${FUZZ_TARGETS:-}" ]]; then
    read -r -a TARGETS <<<"$FUZZ_TARGETS"
fi

# ---- run -----------------------------------------------------------------------------------
# libFuzzer sets its own ASan options (leak detection on); UBSan already stops at the first
# report (-fno-sanitize-recover=all), this adds the stack.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
declare -A RES
FAILED=0
for t in "${TARGETS[@]}"; do
    bin=$BUILD/tests/fuzz/$t
    work=$BUILD/fuzz-corpus/$t
    art=$BUILD/fuzz-artifacts/$t
    log=$BUILD/fuzz-logs/$t.log
    if [[ ! -x "$bin" ]]; then
        echo "run.sh: no target $t" >&2
        RES[$t]="FAIL (not built)"
        FAILED=1
        continue
    fi
    mkdir -p "$work" "$art" "$CORPUS/$t" "$(dirname "$log")"
    rm -f "$art"/*
    printf '\n==== %s (%ss) ====\n' "$t" "$SECONDS_EACH"
    # New inputs go to the first directory (the work corpus), never into the source tree.
    "$bin" -max_total_time="$SECONDS_EACH" -rss_limit_mb="$RSS_MB" -timeout=25 \
        -print_final_stats=1 -artifact_prefix="$art/" \
        "$work" "$CORPUS/$t" >"$log" 2>&1
    rc=$?
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
    found=("$art"/*)
    if ((rc != 0)) || [[ -e "${found[0]}" ]]; then
        FAILED=1
        RES[$t]="FAIL (exit $rc)"
        # The report: the sanitizer's or libFuzzer's first lines.
        grep -E -m1 -A30 'ERROR: |runtime error:|^fuzz_[a-z_]+: ' "$log" | head -n 40
        for f in "${found[@]}"; do
            [[ -e "$f" ]] || continue
            kind=$(basename "$f")
            kind=${kind%%-*} # crash, leak, timeout, oom, slow-unit
            sum=$(sha1sum "$f" | cut -c1-12)
            cp "$f" "$CORPUS/$t/regress-$kind-$sum"
            echo "run.sh: $t: input kept as tests/fuzz/corpus/$t/regress-$kind-$sum"
            echo "run.sh: reproduce with: $bin $CORPUS/$t/regress-$kind-$sum"
        done
        echo "run.sh: full log in $log"
    else
        RES[$t]=ok
    fi
done

printf '\n%-26s %s\n' target result
for t in "${TARGETS[@]}"; do
    printf '%-26s %s\n' "$t" "${RES[$t]}"
done
exit "$FAILED"
