#!/usr/bin/env bash
# Instructions per `Connection: close` connection, counted (callgrind), where req/s and CPU time on a shared
# 2-core machine are too noisy to see 1%. Hold the bench lock: two valgrind processes take both cores.
#   flock /tmp/shipit-bench.lock bench/runtime/callgrind/count.sh VARIANT [WARM] [N]
# VARIANT: see server.mjs. Compiles this tree's src/runtime as the bench does, starts server.mjs under callgrind
# (Node --single-threaded: no compiler or GC threads whose timing varies), sends WARM connections, zeroes the
# counters, sends N more, dumps, and prints total / GC / the rest per connection (split.py). ~3 minutes at the
# defaults. Compare variants by two runs each: the rest still varies by a few hundred between runs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
VARIANT=$1; WARM=${2:-8000}; N=${3:-16000}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/shipit-callgrind.XXXX")
RT=$OUT/runtime
node "$ROOT/node_modules/typescript/bin/tsc" --outDir "$RT" --rootDir "$ROOT/src/runtime" --target ES2022 --module NodeNext \
  --moduleResolution NodeNext --lib ES2023 --types node --strict --skipLibCheck --esModuleInterop "$ROOT"/src/runtime/*.ts
echo '{"type":"module"}' > "$RT/package.json"
PORT=$((20000 + RANDOM % 20000))
echo "$VARIANT at $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet -- src/runtime || echo '+changes')" > "$OUT/meta"
VARIANT=$VARIANT RT=$RT PORT=$PORT valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.out" --dump-instr=no \
  node --single-threaded "$HERE/server.mjs" > "$OUT/server.log" 2> "$OUT/valgrind.log" &
VG=$!
for _ in $(seq 1 600); do grep -q listening "$OUT/server.log" 2>/dev/null && break; sleep 0.2; done
node "$HERE/client.mjs" "$PORT" "$WARM" 1
callgrind_control -z "$VG" > /dev/null 2>&1
node "$HERE/client.mjs" "$PORT" "$N" 1
callgrind_control -d "$VG" > /dev/null 2>&1
kill -TERM "$VG"; wait "$VG" || true
python3 "$HERE/split.py" "$N" "$OUT"
