#!/usr/bin/env bash
# `npm test`: the whole suite, arranged so that 2 cores stay busy without
# putting timing-sensitive tests on a shared core:
#   1. the typecheck (tsc, one core) beside the unit tests, which all run in
#      one node process (test/unit-suite.ts): one start-up, not one per file;
#   2. then the integration tests, one file at a time: they start real
#      servers, child processes and clocks that measure time.
# Every part runs even if an earlier one fails; the exit status is 1 if any
# failed. Extra arguments go to node's test runner (e.g. --test-name-pattern).
set -uo pipefail
cd "$(dirname "$0")/.."
node_test=(node --import tsx --test --test-force-exit --test-reporter=spec "$@")
started=$SECONDS

node_modules/.bin/tsc -p tsconfig.json --noEmit &
typecheck_pid=$!
"${node_test[@]}" test/unit-suite.ts
unit=$?
wait "$typecheck_pid"
typecheck=$?
"${node_test[@]}" test/integration/*.test.ts
integration=$?

verdict() { if [ "$1" -eq 0 ]; then echo ok; else echo "FAILED (exit $1)"; fi; }
echo "npm test: typecheck $(verdict $typecheck), unit $(verdict $unit), integration $(verdict $integration); $((SECONDS - started)) s"
[ $typecheck -eq 0 ] && [ $unit -eq 0 ] && [ $integration -eq 0 ]
