#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/seed-*: real
# requests encoded with protoc from text form, valid filters, Structs and JSON documents, and
# fresh subscriptions of every example product. Needs a fuzz build (tests/fuzz/run.sh makes
# build-fuzz/): the request target tells the RPC numbers, the subscription target prints the
# example documents. Re-run it when RPCs are added (the first byte of a request seed is the
# RPC's position in the dispatch tables). Crash inputs (regress-*) are never touched.
#
# Usage: tests/fuzz/seeds.sh [BUILD-DIR]   (default: build-fuzz)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
BUILD=${1:-$ROOT/build-fuzz}
FUZZ=$BUILD/tests/fuzz
CORPUS=$ROOT/tests/fuzz/corpus
PROTOC=(protoc -I"$ROOT/proto" -I/usr/include -I/usr/share/grpc-proto)

TARGETS=(fuzz_request fuzz_filter fuzz_struct fuzz_subscription_json)
[[ -x $FUZZ/fuzz_forms ]] && TARGETS+=(fuzz_forms)
[[ -x $FUZZ/fuzz_cron ]] && TARGETS+=(fuzz_cron)
for t in "${TARGETS[@]}"; do
    [[ -x $FUZZ/$t ]] || { echo "seeds.sh: $FUZZ/$t is not built" >&2; exit 1; }
    mkdir -p "$CORPUS/$t"
    rm -f "$CORPUS/$t"/seed-*
done

# ---- fuzz_request: <RPC number byte><request in wire form> -------------------------------------
methods=$(FUZZ_LIST_METHODS=1 "$FUZZ/fuzz_request")

# request NAME METHOD-PATH PROTO-FILE TEXT
request() {
    local name=$1 path=$2 file=$3 text=$4 line idx type
    line=$(grep -F " $path " <<<"$methods") || { echo "seeds.sh: no RPC $path" >&2; exit 1; }
    idx=${line%% *}
    type=${line##* }
    {
        printf "\\x$(printf %02x "$idx")"
        printf '%s' "$text" | "${PROTOC[@]}" --encode="$type" "$file"
    } >"$CORPUS/fuzz_request/seed-$name"
}

P=orchestrator/v1
request health /grpc.health.v1.Health/Check grpc/health/v1/health.proto 'service: "orchestrator.v1.ProductService"'
request list-products /orchestrator.v1.ProductService/ListProducts $P/products.proto \
    'page_size: 50 filter: "status = active AND tag:NODE"'
request get-product /orchestrator.v1.ProductService/GetProduct $P/products.proto \
    'product_id: "00000000-0000-4000-8000-000000000001"'
request update-product /orchestrator.v1.ProductService/UpdateProduct $P/products.proto \
    'product { product_id: "00000000-0000-4000-8000-000000000001" description: "Node v2" status: PRODUCT_STATUS_ACTIVE fixed_inputs { } }
     update_mask { paths: "description" paths: "status" } request_id: "6f1c3a52-0b1e-4c8e-9d1f-3a2b1c0d9e8f"'
request list-subscriptions /orchestrator.v1.SubscriptionService/ListSubscriptions $P/subscriptions.proto \
    'page_size: 10 page_token: "eyJrIjoxfQ" filter: "status = active OR status = provisioning customer_id:acme"'
request get-subscription /orchestrator.v1.SubscriptionService/GetSubscription $P/subscriptions.proto \
    'subscription_id: "0b3f8a52-6c0e-4c8e-9d1f-3a2b1c0d9e8f"'
request update-metadata /orchestrator.v1.SubscriptionService/UpdateSubscriptionMetadata $P/subscriptions.proto \
    'subscription_id: "0b3f8a52-6c0e-4c8e-9d1f-3a2b1c0d9e8f" version: 3
     metadata { fields { key: "owner" value { string_value: "noc" } }
                fields { key: "tags" value { list_value { values { string_value: "a" } values { number_value: 2.5 } values { bool_value: true } values { null_value: NULL_VALUE } } } }
                fields { key: "nested" value { struct_value { fields { key: "n" value { number_value: 1e300 } } } } } }'
request create-cd /orchestrator.v1.SubscriptionService/CreateCustomerDescription $P/subscriptions.proto \
    'subscription_id: "0b3f8a52-6c0e-4c8e-9d1f-3a2b1c0d9e8f" customer_id: "acme" description: "Amsterdam node ✓"'
request start-process /orchestrator.v1.ProcessService/StartProcess $P/processes.proto \
    'workflow_name: "create_node" product_id: "00000000-0000-4000-8000-000000000001"
     user_inputs { fields { key: "product" value { string_value: "00000000-0000-4000-8000-000000000001" } } }
     user_inputs { fields { key: "node_name" value { string_value: "ams-01" } } fields { key: "role_id" value { number_value: 3 } } }
     request_id: "6f1c3a52-0b1e-4c8e-9d1f-3a2b1c0d9e8f" note: "ticket 42"'
request list-processes /orchestrator.v1.ProcessService/ListProcesses $P/processes.proto \
    'page_size: 100 filter: "NOT (status = failed) AND start_time >= \"2026-01-01T00:00:00Z\"" order_by: "start_time desc"'
request retry /orchestrator.v1.ProcessService/RetryProcess $P/processes.proto \
    'process_id: "0b3f8a52-6c0e-4c8e-9d1f-3a2b1c0d9e8f" branches: "a" branches: "b"'
request note /orchestrator.v1.ProcessService/UpdateProcessNote $P/processes.proto \
    'process_id: "0b3f8a52-6c0e-4c8e-9d1f-3a2b1c0d9e8f" note: "looked at it"'
request bulk-resume /orchestrator.v1.ProcessService/BulkResume $P/processes.proto \
    'filter: "status = failed workflow:create"'
request watch-processes /orchestrator.v1.ProcessService/WatchProcesses $P/processes.proto \
    'filter: "is_task = false" after_cursor: "12345"'
request list-workflows /orchestrator.v1.WorkflowService/ListWorkflows $P/workflows.proto \
    'page_size: 5 filter: "target = CREATE"'
request stream-tasks /orchestrator.v1.StepWorkerService/StreamTasks $P/workers.proto \
    'worker_name: "netbot-1" task_types: "network.push_config" task_types: "bench.noop" capacity: 4'
request complete-task /orchestrator.v1.StepWorkerService/CompleteTask $P/workers.proto \
    'task_id: "0b3f8a52-6c0e-4c8e-9d1f-3a2b1c0d9e8f" attempt_token: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
     state_delta { fields { key: "config_pushed" value { bool_value: true } } }'
request fail-task /orchestrator.v1.StepWorkerService/FailTask $P/workers.proto \
    'task_id: "0b3f8a52-6c0e-4c8e-9d1f-3a2b1c0d9e8f" attempt_token: "abc" retryable: true reason: "DEVICE_UNREACHABLE"
     message: "ams-01 did not answer" details { fields { key: "tries" value { number_value: 3 } } }'

# ---- fuzz_filter: filter text --------------------------------------------------------------------
i=0
while IFS= read -r f; do
    printf '%s' "$f" >"$CORPUS/fuzz_filter/seed-$((i++))"
done <<'EOF'
status = running
status = running OR status = failed
workflow:create AND NOT is_task = true
-(workflow_version > 2) start_time >= "2026-01-31T12:00:00Z"
process_id = 0b3f8a52-6c0e-4c8e-9d1f-3a2b1c0d9e8f
(status = completed OR status = failed) AND customer_id:"acme \"corp\""
workflow_version <= 10 AND workflow_version != 3
customer_id:* AND workflow:'50%_off\\'
start_time < 2026-01-31T12:00:00.250+02:00
EOF

# ---- fuzz_struct: 0x00 + Struct wire form, or 0x01 + JSON text -----------------------------------
struct_seed() { # NAME TEXT
    { printf '\x00'; printf '%s' "$2" | "${PROTOC[@]}" --encode=google.protobuf.Struct google/protobuf/struct.proto; } \
        >"$CORPUS/fuzz_struct/seed-$1"
}
struct_seed wire-flat 'fields { key: "a" value { number_value: 1 } } fields { key: "b" value { string_value: "x" } }'
struct_seed wire-nested 'fields { key: "l" value { list_value { values { struct_value { fields { key: "t" value { bool_value: true } } } } values { null_value: NULL_VALUE } } } }'
struct_seed wire-numbers 'fields { key: "big" value { number_value: 9007199254740993 } } fields { key: "frac" value { number_value: -0.5 } } fields { key: "neg" value { number_value: -42 } }'
i=0
while IFS= read -r j; do
    { printf '\x01'; printf '%s' "$j"; } >"$CORPUS/fuzz_struct/seed-json-$((i++))"
done <<'EOF'
{"owner": "noc", "tags": ["a", 2.5, true, null], "nested": {"n": 1e300, "i": 9007199254740993}}
[1, -0.0, 1.5e-300, "\u00e9\u2713", {"": {}}]
{"a": {"b": {"c": {"d": {"e": [[[[{}]]]]}}}}}
"just a string"
EOF

# ---- fuzz_subscription_json: fresh subscriptions of the example products -------------------------
i=0
while IFS= read -r j; do
    printf '%s' "$j" >"$CORPUS/fuzz_subscription_json/seed-$((i++))"
done < <(FUZZ_PRINT_EXAMPLES=1 "$FUZZ/fuzz_subscription_json")

# ---- fuzz_forms: JSON answers, one object per page ----------------------------------------------
if [[ -x $FUZZ/fuzz_forms ]]; then
    i=0
    while IFS= read -r j; do
        printf '%s' "$j" >"$CORPUS/fuzz_forms/seed-$((i++))"
    done <<'EOF'
{"node_name": "ams-01", "role_id": 3, "site_id": "0b3f8a52-6c0e-4c8e-9d1f-3a2b1c0d9e8f", "password": "s3cret", "address": {"street": "Main 1", "floor": 2}}
[{"node_name": "ams-01", "enabled": false, "version": "v1"}, {"port": 3, "mode": "untagged", "features": ["tagged", "link_member"], "vlans": [{"vlan": 10}, {"vlan": 4094}], "comment": "x"}]
[{"node_name": "AMS 01", "role_id": 1.5, "site_id": "nope"}, {"port": "xe-9/9/9", "features": ["tagged", "tagged"]}]
[{"node_name": "ams-02", "role_id": 9007199254740993}, {}, {}]
EOF
fi

# ---- fuzz_cron: cron expressions -----------------------------------------------------------------
if [[ -x $FUZZ/fuzz_cron ]]; then
    i=0
    while IFS= read -r j; do
        printf '%s' "$j" >"$CORPUS/fuzz_cron/seed-$((i++))"
    done <<'EOF'
*/15 * * * *
0 3 * * MON-FRI
30 2 1,15 * *
0 0 29 2 *
5 4 * JAN-mar/2 sun
0 12 13 * 5
0-59/7 1-23/3 */2 * 0,7
0 0 31 2 *
EOF
fi

for t in "${TARGETS[@]}"; do
    echo "seeds.sh: $t: $(ls "$CORPUS/$t" | wc -l) inputs"
done
