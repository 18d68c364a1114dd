#!/usr/bin/env bash
# What `npm test` and CI (.ci/run) run: setup → typecheck → unit tests → lab up 3 (+1 isolated) → e2e tests → lab down.
# Every stage after setup runs even if an earlier one failed, so one CI run reports everything; the exit status
# is non-zero if any stage failed. The lab is always torn down (trap), unless SHIPIT_LAB_KEEP=1.
# Note: `lab up` replaces any lab already running on this machine (there is one lab per machine).
set -uo pipefail
cd "$(dirname "$0")/.."

logs=$(mktemp -d)
declare -a results=()
failed=0
lab_started=0

record() { # name status (0 = ok; anything else is printed as the reason)
  results+=("$(printf '%-10s %s' "$1" "$([[ $2 == 0 ]] && echo ok || echo "FAILED ($2)")")")
  [[ $2 == 0 ]] || failed=1
}

stage() { # name command...: runs it, keeps its output in $logs/name.log as well
  local name=$1
  shift
  echo
  echo "==> $name: $*"
  "$@" 2>&1 | tee "$logs/$name.log"
  local status=${PIPESTATUS[0]}
  record "$name" "$([[ $status == 0 ]] && echo 0 || echo "exit $status")"
  return "$status"
}

finish() {
  local status=$?
  trap - EXIT INT TERM
  if [[ $lab_started == 1 ]]; then
    if [[ ${SHIPIT_LAB_KEEP:-} == 1 ]]; then
      echo "==> lab down skipped (SHIPIT_LAB_KEEP=1); \`npm run lab -- down\` removes it"
    else
      stage lab-down npm run lab -- down
    fi
  fi
  echo
  echo "==> summary"
  for name in unit e2e; do
    if [[ -f $logs/$name.log ]]; then
      grep -E '^(Test Suites|Tests|Snapshots|Time):' "$logs/$name.log" | sed "s/^/$name  /"
    fi
  done
  printf '%s\n' "${results[@]}"
  # One plain closing line over both jest projects ("N passed, N failed"), for readers that do not parse jest.
  local passed=0 failed_tests=0 p f
  for name in unit e2e; do
    [[ -f $logs/$name.log ]] || continue
    p=$(grep -E '^Tests:' "$logs/$name.log" | tail -1 | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || true)
    f=$(grep -E '^Tests:' "$logs/$name.log" | tail -1 | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || true)
    passed=$((passed + ${p:-0}))
    failed_tests=$((failed_tests + ${f:-0}))
  done
  echo "tests: $passed passed, $failed_tests failed"
  rm -rf "$logs"
  if [[ $failed != 0 || $status != 0 ]]; then
    echo "==> FAILED"
    exit 1
  fi
  echo "==> all passed"
  exit 0
}
trap finish EXIT
trap 'echo "==> interrupted"; failed=1; exit 130' INT TERM

stage setup bash scripts/setup.sh || exit 1
stage typecheck npm run typecheck
stage unit npm run test:unit
lab_started=1
# web1..web3 for every suite, plus web4 reachable only through web1 (ProxyJump and connection-loss suites).
if stage lab-up npm run lab -- up 3 --isolated 1; then
  stage e2e npm run test:e2e
else
  record e2e "not run: the lab did not come up"
fi
