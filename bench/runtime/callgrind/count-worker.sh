#!/usr/bin/env bash
# Instructions per `Connection: close` connection in a whole worker process: the runtime as it runs on a host
# (dist/runtime/main.js, the bundle that ships: master, one worker, heartbeat, balancing, the app loaded by the app loader), or the
# hand-written node:cluster server (bench/runtime/plain-cluster.mjs, shared accept), each with WORKERS=1. count.sh
# counts pieces (buildServer, the tracker) in one process without cluster; this counts everything a worker runs.
#   npm run build && flock /tmp/shipit-bench.lock bench/runtime/callgrind/count-worker.sh shipit|plain [WARM] [N] [VAR=value ...]
# Extra VAR=value pairs go to the server's environment (e.g. SHIPIT_BALANCE=0 SHIPIT_TIMEOUT=0: no balancing
# reports, no heartbeat). Master and worker run under callgrind (--trace-children); the worker's counters are
# zeroed after WARM connections and dumped after N more; split.py prints total / GC / the rest per connection.
# Timers (heartbeat, balancing reports every 100 ms) run in wall-clock time, which callgrind stretches ~50×:
# their share here is ~50× what it is at full speed; SHIPIT_BALANCE=0 SHIPIT_TIMEOUT=0 leaves the request path.
# ~2 minutes at the defaults. The rest varies between runs of the same code by ~±300 per keep-alive request, ~±600 per close connection.
# WARM is 9000 (it was 3000): with --single-threaded, TurboFan compiles on the main thread, and after 3,000
# `Connection: close` connections it was still compiling ~10 of Node's request functions (12 in the runtime:
# also its request listener, onRequest and events' arrayClone) within the next 6,000 (--trace-opt): 11,700
# (hand-written) and 13,300 (runtime) of the ~183,000 counted per connection were in v8::internal::compiler, and
# WARM 9000 took 15,000 and 17,000 off the count. From 9,000 on no more compiles: what a warm worker spends.
# KEEPALIVE=1 (in this script's environment, before it): N requests on one keep-alive connection
# (client-keepalive.mjs), after WARM on two others (half each), and the figures are per request. Two: on the
# connection after the first long one, Node's request path deoptimizes ("wrong map" in ~29 functions,
# --trace-deopt, the same in both servers) and TurboFan recompiles ~57 functions, on the main thread under
# --single-threaded; with one warm-up connection that fell in the counted window, ~37,000 of ~99,000 per request.
# SHIPIT_ENTRY=FILE / PLAIN_ENTRY=FILE (also before it): another runtime entry (e.g. tsc's dist/src/runtime/main.js,
# the runtime as separate modules) or another hand-written server to count.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
VARIANT=$1; WARM=${2:-9000}; N=${3:-6000}
shift $(( $# < 3 ? $# : 3 ))
OUT=$(mktemp -d "${TMPDIR:-/tmp}/shipit-callgrind-worker.XXXX")
PORT=$((20000 + RANDOM % 20000))
# valgrind names its gdbserver pipes after $HOST, which the runtime also reads (the address to bind): callgrind_control
# must be given the same.
export HOST=127.0.0.1
# Relative entries are taken from where the script was called: the server runs from bench/runtime.
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
case $VARIANT in
  shipit)
    ENTRY=$(abs "${SHIPIT_ENTRY:-$ROOT/dist/runtime/main.js}")
    [ -f "$ENTRY" ] || { echo "no $ENTRY: run npm run build first" >&2; exit 2; }
    SERVER_ENV=(SHIPIT_APP=hello.mjs WORKERS=1 PORT=$PORT) ;;
  plain)
    ENTRY=$(abs "${PLAIN_ENTRY:-$HERE/../plain-cluster.mjs}")
    SERVER_ENV=(NODE_CLUSTER_SCHED_POLICY=none WORKERS=1 PORT=$PORT) ;;
  *) echo "usage: count-worker.sh shipit|plain [WARM] [N] [VAR=value ...]" >&2; exit 2 ;;
esac
echo "$VARIANT $* at $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet -- src/runtime || echo '+changes')" > "$OUT/meta"
(cd "$HERE/.." && exec env -u NODE_OPTIONS "${SERVER_ENV[@]}" "$@" valgrind --tool=callgrind --trace-children=yes \
  --callgrind-out-file="$OUT/cg.%p" --dump-instr=no node --single-threaded "$ENTRY") > "$OUT/server.log" 2> "$OUT/valgrind.log" &
VG=$!
# Whatever stops this script (set -e, Ctrl-C), the server under valgrind goes with it.
trap 'kill -TERM "$VG" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$PORT/" > /dev/null 2>&1 && break; sleep 0.3; done
WORKER=$(pgrep -P "$VG" | head -1 || true)
[ -n "$WORKER" ] || { echo "no worker process under $VG; see $OUT/server.log" >&2; exit 1; }
# KEEPALIVE=1 in this script's environment: N requests on one keep-alive connection instead of N connections.
client() { if [ "${KEEPALIVE:-0}" = 1 ]; then node "$HERE/client-keepalive.mjs" "$PORT" "$1"; else node "$HERE/client.mjs" "$PORT" "$1" 1; fi; }
if [ "${KEEPALIVE:-0}" = 1 ]; then client $((WARM / 2)); client $((WARM - WARM / 2)); else client "$WARM"; fi
callgrind_control -z "$WORKER" > /dev/null
client "$N"
callgrind_control -d "$WORKER" > /dev/null
sleep 1
kill -TERM "$VG"; wait "$VG" || true
trap - EXIT
mv "$OUT/cg.$WORKER.1" "$OUT/cg.out.1"
python3 "$HERE/split.py" "$N" "$OUT"
