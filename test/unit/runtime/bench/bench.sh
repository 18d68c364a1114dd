#!/usr/bin/env bash
# Requests/s of a hello handler: the shipit runtime vs a minimal hand-written node:cluster server, same worker
# count, measured side by side with wrk (apt-get install wrk). Not part of the test suite.
#   bash test/unit/runtime/bench/bench.sh [workers=2] [seconds=10] [connections=50]
# RUNTIME_ENTRY=dist/src/runtime/main.js (after npm run build) to bench the compiled runtime, else the TS source via tsx.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
workers=${1:-2}; seconds=${2:-10}; connections=${3:-50}
here=test/unit/runtime/bench
if [[ -n "${RUNTIME_ENTRY:-}" ]]; then runtime=(node "$RUNTIME_ENTRY"); else runtime=(node --import ./node_modules/tsx/dist/loader.mjs src/runtime/main.ts); fi

run() { # name, port, command...
  local name=$1 port=$2; shift 2
  "$@" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.2; done
  wrk -t1 -c10 -d2s "http://127.0.0.1:$port/" >/dev/null # warm-up
  for mode in keep-alive close; do
    local header=(); [[ $mode == close ]] && header=(-H 'Connection: close')
    local rps
    rps=$(wrk -t1 -c"$connections" -d"${seconds}s" "${header[@]}" "http://127.0.0.1:$port/" | awk '/Requests\/sec/ {print $2}')
    printf '%-34s %-10s %10s req/s\n' "$name" "$mode" "$rps"
  done
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
}

echo "workers=$workers, wrk -t1 -c$connections -d${seconds}s, $(nproc) CPUs, node $(node -v)"
run "plain node:cluster"                 18201 env WORKERS="$workers" PORT=18201 node "$here/plain-cluster.mjs"
run "shipit runtime (round-robin)"       18202 env SHIPIT_APP="$here/hello.mjs" WORKERS="$workers" PORT=18202 HOST=127.0.0.1 "${runtime[@]}"
run "shipit runtime (shared)"            18203 env SHIPIT_APP="$here/hello.mjs" WORKERS="$workers" PORT=18203 HOST=127.0.0.1 SHIPIT_SCHEDULING=shared "${runtime[@]}"
run "shipit runtime (rr, access log)"    18204 env SHIPIT_APP="$here/hello.mjs" WORKERS="$workers" PORT=18204 HOST=127.0.0.1 SHIPIT_ACCESS_LOG=1 "${runtime[@]}"
