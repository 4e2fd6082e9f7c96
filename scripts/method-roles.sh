#!/usr/bin/env bash
# Prints the role each RPC needs, as a Markdown table, from the method tables in
# server/services/*.c (the srv_method_t rows: service, name, handler, flags, stream).
# A row with no SRV_ROLE_* flag needs admin (fail closed). Used for docs/SECURITY.md:
#   scripts/method-roles.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "| Service | Method | Needs |"
echo "|---------|--------|-------|"
for f in server/services/*.c; do
    awk '/^const srv_method_t srv_[a-z_]*_methods\[\] = \{/ { on = 1; next }
         on && /^\};/ { on = 0 }
         on { printf "%s ", $0 }' "$f" |
        sed 's/},/}\n/g' |
        sed -nE 's/.*\{ *(&orchestrator__v1__([a-z_]+)_service__descriptor|&grpc__health__v1__(health)__descriptor|SUB_SVC), *"([A-Za-z]+)", *[A-Za-z_]+, *([^,]*),.*/\2\3|\4|\5/p' |
        while IFS='|' read -r svc name flags; do
            case "$svc" in
            "") svc=SubscriptionService ;;
            health) svc=grpc.health.v1.Health ;;
            *) svc=$(sed -E 's/(^|_)([a-z])/\U\2/g' <<<"$svc")Service ;;
            esac
            case "$flags" in
            *PUBLIC*) need="nobody (no token)" ;;
            *CALLBACK*) need="the step's callback token" ;;
            *WORKER*) need=worker ;;
            *ADMIN*) need=admin ;;
            *OPERATOR*) need=operator ;;
            *READER*) need=reader ;;
            *) need="admin (no role flag yet)" ;;
            esac
            echo "| $svc | $name | $need |"
        done
done
