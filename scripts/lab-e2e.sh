#!/usr/bin/env bash
# Runs the lab end to end on a REAL cluster (minikube by default): deploys Falco with helm, runs this
# service on the host with triggers enabled, calls both triggers, and prints the verdicts.
#
# Needs: a running cluster in the current kubectl context that can pull images (minikube start),
# helm, kubectl, node/npm, curl, jq. Falco needs a kernel driver: on minikube use the docker or kvm2
# driver and the modern eBPF probe (a kernel with BTF), which chart 9.x's default driver.kind `auto`
# picks; with a 3.x chart (FALCO_CHART_VERSION=3.1.4, the lab's) the script asks for it, as 3.x
# defaults to `module`, a kernel module built for the node's kernel.
#
#   scripts/lab-e2e.sh                  # everything
#   SKIP_FALCO=1 scripts/lab-e2e.sh     # Falco already installed and posting to this host
#
# Settings (environment): PORT (18080), NAMESPACE for triggers (falco-canary), FALCO_CHART_VERSION,
# RECEIVER_URL_FROM_CLUSTER (http://host.minikube.internal:$PORT/alerts), ACTIONS (^syscall),
# WINDOW_MS (180000).
# This script is for a lab machine; the test suite never runs it (no cluster exists in CI).
set -euo pipefail

cd "$(dirname "$0")/.."
PORT="${PORT:-18080}"
NAMESPACE="${NAMESPACE:-falco-canary}"
ACTIONS="${ACTIONS:-^syscall}"
WINDOW_MS="${WINDOW_MS:-180000}"
RECEIVER_URL_FROM_CLUSTER="${RECEIVER_URL_FROM_CLUSTER:-http://host.minikube.internal:${PORT}/alerts}"
TOKEN="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
BASE="http://127.0.0.1:${PORT}"

for tool in helm kubectl node npm curl jq; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done
kubectl version --request-timeout=5s >/dev/null || { echo "no reachable cluster in the current kubectl context" >&2; exit 1; }

if [ -z "${SKIP_FALCO:-}" ]; then
  echo "==> Falco (helm) posting to ${RECEIVER_URL_FROM_CLUSTER}"
  values=()
  if [ -f helm-values/falco.yaml ]; then values=(-f helm-values/falco.yaml); fi
  # Chart 3.x spells the modern eBPF probe modern-bpf (9.x: modern_ebpf, which `auto` picks).
  case "${FALCO_CHART_VERSION:-}" in 3.*) values+=(--set driver.kind=modern-bpf) ;; esac
  helm upgrade --install falco falco --repo https://falcosecurity.github.io/charts \
    ${FALCO_CHART_VERSION:+--version "$FALCO_CHART_VERSION"} \
    --namespace falco --create-namespace "${values[@]}" \
    --set falco.json_output=true --set falco.json_include_output_property=true \
    --set falco.http_output.enabled=true --set-string falco.http_output.url="${RECEIVER_URL_FROM_CLUSTER}" \
    --wait --timeout 10m
fi
kubectl get namespace "$NAMESPACE" >/dev/null 2>&1 || kubectl create namespace "$NAMESPACE"

echo "==> receiver on 0.0.0.0:${PORT} (Falco in the cluster must reach it)"
npm run build >/dev/null
LOG="$(mktemp)"
HOST=0.0.0.0 PORT="$PORT" TRIGGERS_ENABLED=true TRIGGER_TOKEN="$TOKEN" \
  TRIGGER_ALLOWED_NAMESPACES="$NAMESPACE" TRIGGER_VERIFY_WINDOW_MS="$WINDOW_MS" \
  node dist/main.js >"$LOG" 2>&1 &
RECEIVER_PID=$!
cleanup() {
  if kill -0 "$RECEIVER_PID" 2>/dev/null; then kill -TERM "$RECEIVER_PID"; wait "$RECEIVER_PID" || true; fi
  echo "receiver log: $LOG"
}
trap cleanup EXIT
for _ in $(seq 1 50); do curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.2; done

call() { curl -fsS -X POST "$BASE/triggers/$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$2"; }
wait_verdict() {
  local id="$1" run deadline=$((SECONDS + WINDOW_MS / 1000 + 600))
  while [ "$SECONDS" -lt "$deadline" ]; do
    run="$(curl -fsS "$BASE/triggers/$id" -H "Authorization: Bearer $TOKEN")"
    if jq -e '(.status == "succeeded" or .status == "failed") and all(.verification.expectations[]; .status != "pending")' <<<"$run" >/dev/null; then
      echo "$run"; return
    fi
    sleep 5
  done
  echo "run $id did not finish in time" >&2
  curl -fsS "$BASE/triggers/$id" -H "Authorization: Bearer $TOKEN"
}

echo "==> shell trigger (kubernetes, short-lived busybox pod in $NAMESPACE)"
shell_id="$(call shell "{\"backend\":\"kubernetes\",\"namespace\":\"$NAMESPACE\"}" | jq -r .id)"
echo "==> event-generator trigger (actions $ACTIONS)"
eg_id="$(call event-generator "{\"namespace\":\"$NAMESPACE\",\"actions\":\"$ACTIONS\"}" | jq -r .id)"

status=0
for id in "$shell_id" "$eg_id"; do
  run="$(wait_verdict "$id")"
  jq -r '"\(.kind): run \(.status)\(if .error then " (\(.error))" else "" end)",
    (.verification.expectations[] | "  \(.status | ascii_upcase)\t\(.rule)\(if .latencyMs then "\t\(.latencyMs) ms" else "" end)")' <<<"$run"
  if jq -e '.status == "failed" or any(.verification.expectations[]; .status == "missed")' <<<"$run" >/dev/null; then status=1; fi
done
curl -fsS "$BASE/metrics" | grep '^falco_trigger_' || true
exit "$status"
