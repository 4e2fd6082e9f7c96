#!/usr/bin/env bash
# The authoring guide as a test (ctest authoring_guide): copies the working tree (tracked
# and new files, so uncommitted changes are tested too) into a scratch directory, runs
# docs/AUTHORING.md there as extract_guide.py turns it into a script (build, generate the
# firewall product, write its workflows and test, run them, start the server, drive it with
# orchctl), then checks the generator on tests/generate/loadbalancer.json in the same tree:
# its output compiles, registers and passes its own test; re-running it keeps hand-written
# code; writing a step that the generated test asserts "skipped" makes that test fail.
#
#   run_guide.sh SOURCE_DIR BUILD_DIR
# BUILD_DIR is the build running the test: the scratch build uses its compiler and
# sanitizers. Needs the test cluster (ORCH_TEST_PGHOST/PGPORT/PGUSER, from scripts/test.sh).
# ORCH_GUIDE_KEEP=1 keeps the scratch directory. Exits 77 (ctest: skipped) in a sanitizer
# build unless ORCH_GUIDE_SANITIZE=1.
set -euo pipefail

SRC=$(cd "$1" && pwd -P)
BUILD=$(cd "$2" && pwd -P)
T0=$SECONDS
say() { printf 'authoring_guide [%3ds]: %s\n' $((SECONDS - T0)) "$*"; }
die() { say "FAILED: $*"; exit 1; }

for v in ORCH_TEST_PGHOST ORCH_TEST_PGPORT ORCH_TEST_PGUSER; do
    [[ -n "${!v:-}" ]] || die "$v is not set: run the integration tests through scripts/test.sh, which starts a throwaway PostgreSQL"
done

# ---- the build's configuration --------------------------------------------------------------
cache() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"; }
SAN=$(cache ORCH_SANITIZE)
if [[ -n "$SAN" && "${ORCH_GUIDE_SANITIZE:-}" != 1 ]]; then
    # A sanitized build of the whole server in the scratch tree would double the phase's
    # time; the kit, the generator and the authoring helpers run under sanitizers in their
    # own tests. ORCH_GUIDE_SANITIZE=1 runs the guide here too.
    say "skipped in a sanitizer build (ORCH_SANITIZE=$SAN); ORCH_GUIDE_SANITIZE=1 runs it"
    exit 77
fi

SCRATCH=$(mktemp -d /tmp/orch-guide.XXXXXX)
GROUP=""
cleanup() {
    # The guide's own processes (the server it starts) run in their own process group.
    if [[ -n "$GROUP" ]]; then kill -TERM -- "-$GROUP" 2>/dev/null || true; fi
    if [[ "${ORCH_GUIDE_KEEP:-}" == 1 ]]; then say "kept $SCRATCH"; else rm -rf -- "$SCRATCH"; fi
}
trap cleanup EXIT

# ---- the tree, as a fresh clone would have it plus uncommitted work ----------------------
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard) |
    (cd "$SRC" && while IFS= read -r -d '' f; do
        if [[ -f "$f" ]]; then printf '%s\0' "$f"; fi
    done) | (cd "$SRC" && xargs -0 cp --parents -t "$SCRATCH")
# A module or test of the author's own in the working tree is not part of the guide; the
# example products' modules (those domain/catalog/example.c loads) are part of the server.
for d in "$SCRATCH"/domain/products/*/; do
    [[ -d "$d" ]] || continue
    grep -q "&orch_product_module_$(basename "$d")\b" "$SRC/domain/catalog/example.c" ||
        rm -rf -- "$d"
done
rm -rf "$SCRATCH"/tests/products
say "copied the tree to $SCRATCH"

export CC
CC=$(cache CMAKE_C_COMPILER)
if [[ -n "$SAN" ]]; then
    # The guide's plain `cmake -S . -B build` picks these up on its first configure.
    export CFLAGS="-fsanitize=$SAN -fno-omit-frame-pointer -fno-sanitize-recover=all"
    export LDFLAGS="-fsanitize=$SAN"
fi
free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
export ORCH_SERVER=127.0.0.1:$(free_port)

# ---- the guide ------------------------------------------------------------------------------
python3 "$SRC/tests/authoring/extract_guide.py" "$SRC/docs/AUTHORING.md" > "$SCRATCH/guide.sh"
say "running docs/AUTHORING.md ($(grep -c '^echo .--- ' "$SCRATCH/guide.sh") blocks)"
cd "$SCRATCH"
setsid bash guide.sh &
GROUP=$!
rc=0
wait "$GROUP" || rc=$?
if ((rc != 0)); then
    [[ -f server.log ]] && { echo "---- server.log (tail) ----"; tail -n 40 server.log; }
    die "the guide stopped with exit $rc at the block named last above"
fi
kill -0 -- "-$GROUP" 2>/dev/null && die "the guide left processes running"
GROUP=""
say "the guide ran to its end"

# ---- the generator on its sample --------------------------------------------------------------
ORCHCTL=build/client/orchctl
$ORCHCTL generate product "$SRC/tests/generate/loadbalancer.json" | tee gen1.out
for f in domain/products/loadbalancer/catalog.c domain/products/loadbalancer/workflows.c \
    tests/products/test_loadbalancer_it.c; do
    grep -q "^created .*$f" gen1.out || die "the generator did not create $f"
done
ls db/migrations/*_loadbalancer.sql > /dev/null || die "no migration for the sample's table"
cmake -S . -B build > /dev/null
cmake --build build -j2 --target orchestratord orchestratord-test test_loadbalancer_it > build-lb.log 2>&1 ||
    { tail -n 40 build-lb.log; die "the generated loadbalancer module does not compile"; }
ctest --test-dir build -R '^test_loadbalancer_it$' --output-on-failure > lb1.log 2>&1 ||
    { cat lb1.log; die "the generated loadbalancer test fails"; }
grep -q "100% tests passed, 0 tests failed out of 1" lb1.log || { cat lb1.log; die "test_loadbalancer_it did not run"; }
say "the generated module compiles, registers and passes its test (steps asserted skipped)"

echo '/* hand-written */' >> domain/products/loadbalancer/workflows.c
$ORCHCTL generate product "$SRC/tests/generate/loadbalancer.json" | tee gen2.out
grep -q '^kept .*domain/products/loadbalancer/workflows.c' gen2.out || die "re-running touched workflows.c"
grep -q '^unchanged .*domain/products/loadbalancer/catalog.c' gen2.out || die "catalog.c changed on a re-run"
tail -n 1 domain/products/loadbalancer/workflows.c | grep -q 'hand-written' || die "hand-written code lost"

# Write the stub allocate_vip: the generated test, which asserts it skipped, must now fail.
sed -i '/^static orch_step_result_t create_allocate_vip/,/^}/ s/return orch_step_todo(ctx, state);/(void)state; return orch_step_allocate(ctx, "lb_vip", "vip_id");/' \
    domain/products/loadbalancer/workflows.c
grep -q '"lb_vip"' domain/products/loadbalancer/workflows.c || die "could not write the step"
cmake --build build -j2 --target orchestratord orchestratord-test > build-lb2.log 2>&1 || { tail -n 40 build-lb2.log; die "build"; }
if ctest --test-dir build -R '^test_loadbalancer_it$' --output-on-failure > lb2.log 2>&1; then
    cat lb2.log
    die "the generated test still passes although allocate_vip is written: it asserts nothing"
fi
grep -q 'step allocate_vip of create_loadbalancer is success, expected skipped' lb2.log ||
    { cat lb2.log; die "the generated test failed for another reason than the written step"; }
say "a written step fails the generated test at that step, as it should"
say "passed"
