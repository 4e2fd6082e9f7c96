#!/usr/bin/env bash
# docs/WORKFLOWS-AS-DATA.md as a test (ctest wfdata_guide): runs the guide's "sh guide" blocks, as
# tests/authoring/extract_guide.py turns them into a script, in a scratch directory holding
# the parts of the tree the guide uses (client/, proto, scripts) and the build under test as
# build/ (the guide's build block is for people: this build is the one tested). A definition
# is registered with orchctl, its task steps done by Python and Node workers, changed and
# registered again while a process of its first version runs. The Node library's npm
# packages come from client/node/node_modules or, with the same versions, from
# tests/interop/node/node_modules (which scripts/test.sh installs).
#
#   run_guide.sh SOURCE_DIR BUILD_DIR
# Needs the test cluster (ORCH_TEST_PGHOST/PGPORT/PGUSER, from scripts/test.sh).
set -euo pipefail

SRC=$(cd "$1" && pwd -P)
BUILD=$(cd "$2" && pwd -P)
T0=$SECONDS
say() { printf 'wfdata_guide [%3ds]: %s\n' $((SECONDS - T0)) "$*"; }
die() { say "FAILED: $*"; exit 1; }

for v in ORCH_TEST_PGHOST ORCH_TEST_PGPORT ORCH_TEST_PGUSER; do
    [[ -n "${!v:-}" ]] || die "$v is not set: run the integration tests through scripts/test.sh"
done

SCRATCH=$(mktemp -d /tmp/orch-wfdata-guide.XXXXXX)
GROUP=""
cleanup() {
    if [[ -n "$GROUP" ]]; then kill -TERM -- "-$GROUP" 2>/dev/null || true; fi
    if [[ "${ORCH_GUIDE_KEEP:-}" == 1 ]]; then say "kept $SCRATCH"; else rm -rf -- "$SCRATCH"; fi
}
trap cleanup EXIT

cp -r "$SRC/client" "$SRC/proto" "$SRC/scripts" "$SCRATCH/"
ln -s "$BUILD" "$SCRATCH/build"
export XDG_CACHE_HOME=$SCRATCH/.cache # the library's generated code, fresh
export NODE_PATH=$SRC/client/node/node_modules:$SRC/tests/interop/node/node_modules
[[ -d $SRC/client/node/node_modules/@grpc/grpc-js || -d $SRC/tests/interop/node/node_modules/@grpc/grpc-js ]] ||
    die "@grpc/grpc-js is not installed: run npm ci in client/node (or tests/interop/node)"
export ORCH_SERVER=127.0.0.1:$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

python3 "$SRC/tests/authoring/extract_guide.py" "$SRC/docs/WORKFLOWS-AS-DATA.md" > "$SCRATCH/guide.sh"
say "running docs/WORKFLOWS-AS-DATA.md ($(grep -c '^echo .--- ' "$SCRATCH/guide.sh") blocks)"
cd "$SCRATCH"
setsid bash guide.sh &
GROUP=$!
rc=0
wait "$GROUP" || rc=$?
if ((rc != 0)); then
    for f in server.log py_worker.log js_worker.log; do
        [[ -f $f ]] && { echo "---- $f (tail) ----"; tail -n 30 "$f"; }
    done
    die "the guide stopped with exit $rc at the block named last above"
fi
GROUP=""
say "passed"
