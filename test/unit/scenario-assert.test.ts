import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import type { CpuWait } from "../../src/lab/runner/cpu-wait.js";
import { assertNoFailures } from "../helpers/scenario.js";

/**
 * The resolver tests' "zero failed RPCs" excuses only RPCs a live backend
 * answered late on a machine that could not keep time; everything else fails.
 */
const LATE = "DEADLINE_EXCEEDED: Deadline exceeded after 1.283s,name resolution: 0.008s,LB pick: 0.046s,remote_addr=127.0.0.1:42449";
const UNPLACED = "DEADLINE_EXCEEDED: Deadline exceeded after 1.001s,name resolution: 1.000s";
const result = (errors: Record<string, number>) => {
  const failed = Object.values(errors).reduce((a, b) => a + b, 0);
  return { sent: 250, ok: 250 - failed, failed, errors, backends: {} };
};
const machine = (ratio: number | null) => ({ stop: (): CpuWait => ({ cpuMs: 1000, waitMs: (ratio ?? 0) * 1000, processes: 3, ratio }) });
const ctx = (seen: string[]) => ({ diagnostic: (m: string) => seen.push(m) }) as unknown as TestContext;

test("assertNoFailures - late RPCs at a live backend on a busy machine are a measured fact, not a failure", () => {
  const seen: string[] = [];
  assertNoFailures("steady", result({ [LATE]: 2 }), { machine: machine(15.1), t: ctx(seen) });
  assert.match(seen[0] ?? "", /MEASURED FACT \(machine, not resolver\): steady: 2 of 250 .* waited 15\.1 s/);
});

test("assertNoFailures - the same late RPCs on a machine that kept time fail", () => {
  assert.throws(() => assertNoFailures("steady", result({ [LATE]: 2 }), { machine: machine(0.4), t: ctx([]) }), /2 of 250 RPCs failed/);
  assert.throws(() => assertNoFailures("steady", result({ [LATE]: 2 }), { machine: machine(null), t: ctx([]) }), /2 of 250 RPCs failed/);
});

test("assertNoFailures - on a busy machine, an RPC the resolver did not place, or an UNAVAILABLE, still fails", () => {
  assert.throws(() => assertNoFailures("steady", result({ [LATE]: 1, [UNPLACED]: 1 }), { machine: machine(15), t: ctx([]) }), /2 of 250/);
  assert.throws(() => assertNoFailures("steady", result({ "UNAVAILABLE: no endpoints": 1 }), { machine: machine(15), t: ctx([]) }), /1 of 250/);
  assert.throws(() => assertNoFailures("steady", result({ [LATE]: 1 })), /1 of 250/);
});
