#!/usr/bin/env bash
# `npm test`: the whole suite, arranged so that 2 cores stay busy without
# putting timing-sensitive tests on a shared core:
#   1. the checks (tsc's typecheck, ESLint, and dependency-cruiser's layer
#      rules: .dependency-cruiser.cjs), one after another on one core, beside
#      the unit tests, which all run in one node process (test/unit-suite.ts):
#      one start-up, not one per file;
#   2. then the integration tests, one file at a time: they start real
#      servers, child processes and clocks that measure time. The checks may
#      still be finishing during the first, light files.
# Every part runs even if an earlier one fails; the exit status is 1 if any
# failed. Extra arguments go to node's test runner (e.g. --test-name-pattern).
set -uo pipefail
cd "$(dirname "$0")/.."
node_test=(node --import tsx --test --test-force-exit --test-reporter=spec "$@")
started=$SECONDS

checks() {
  local failed=0
  node_modules/.bin/tsc -p tsconfig.json --noEmit || failed=1
  node_modules/.bin/eslint . || failed=1
  node_modules/.bin/depcruise src --config .dependency-cruiser.cjs --output-type err || failed=1
  return $failed
}
checks &
checks_pid=$!
"${node_test[@]}" test/unit-suite.ts
unit=$?
# The checks outlast the unit tests by ~20 s; the first integration files (raw ADS streams) are light.
"${node_test[@]}" test/integration/*.test.ts
integration=$?
wait "$checks_pid"
checked=$?

verdict() { if [ "$1" -eq 0 ]; then echo ok; else echo "FAILED (exit $1)"; fi; }
echo "npm test: typecheck and lint $(verdict $checked), unit $(verdict $unit), integration $(verdict $integration); $((SECONDS - started)) s"
[ $checked -eq 0 ] && [ $unit -eq 0 ] && [ $integration -eq 0 ]
