#!/usr/bin/env bash
# `npm test`: the whole suite, arranged so that 2 cores stay busy without
# putting timing-sensitive tests on a shared core:
#   1. the checks (tsc's typecheck of the server and of the console (ui/), ESLint, and dependency-cruiser's layer
#      rules: .dependency-cruiser.cjs), one after another on one core, beside
#      the unit tests, which all run in one node process (test/unit-suite.ts):
#      one start-up, not one per file;
#   2. then the integration tests, one file at a time: they start real
#      servers, child processes and clocks that measure time. The checks may
#      still be finishing during the first, light files.
#   3. the token log check: every log the suite produced (the runner's output,
#      spawned `serve` and CLI processes, in-process control planes; see
#      test/helpers/test-logs.ts) is grepped for admin tokens
#      (test/check-logs.ts), which are reported masked.
# Every part runs even if an earlier one fails; the exit status is 1 if any
# failed. Extra arguments go to node's test runner (e.g. --test-name-pattern).
set -uo pipefail
cd "$(dirname "$0")/.."
node_test=(node --import tsx --test --test-force-exit --test-reporter=spec "$@")
started=$SECONDS
# A fresh log dir per run; removed when the suite passes, kept for reading when not.
logs=$(mktemp -d "${TMPDIR:-/tmp}/steadymesh-test-logs.XXXXXX")
export STEADYMESH_TEST_LOG_DIR="$logs"

checks() {
  local failed=0
  node_modules/.bin/tsc -p tsconfig.json --noEmit || failed=1
  node_modules/.bin/tsc -p ui/tsconfig.json --noEmit || failed=1
  node_modules/.bin/eslint . || failed=1
  node_modules/.bin/depcruise src --config .dependency-cruiser.cjs --output-type err || failed=1
  return $failed
}
checks &
checks_pid=$!
"${node_test[@]}" test/unit-suite.ts 2>&1 | tee "$logs/runner-unit.log"
unit=${PIPESTATUS[0]}
# The checks outlast the unit tests by ~20 s; the first integration files (raw ADS streams) are light.
"${node_test[@]}" test/integration/*.test.ts 2>&1 | tee "$logs/runner-integration.log"
integration=${PIPESTATUS[0]}
wait "$checks_pid"
checked=$?
node --import tsx test/check-logs.ts "$logs"
tokens=$?

verdict() { if [ "$1" -eq 0 ]; then echo ok; else echo "FAILED (exit $1)"; fi; }
echo "npm test: typecheck and lint $(verdict $checked), unit $(verdict $unit), integration $(verdict $integration), no token in logs $(verdict $tokens); $((SECONDS - started)) s"
if [ $checked -eq 0 ] && [ $unit -eq 0 ] && [ $integration -eq 0 ] && [ $tokens -eq 0 ]; then
  rm -rf "$logs"
else
  echo "npm test: the suite's logs are in $logs"
  exit 1
fi
