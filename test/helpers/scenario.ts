import assert from "node:assert/strict";
import { createRequire } from "node:module";
import type { TestContext } from "node:test";
import { CPU_WAIT_LIMIT, startCpuWaitMonitor, type CpuWaitMonitor } from "../../src/lab/runner/cpu-wait.js";
import type { LoadResult } from "./grpc-client.js";

/** RPC load used by every resolver fault test: at least 20 RPC/s over at least 10 s. */
export const RPS = 25;
export const WINDOW_MS = 10_000;

const XDS_VERSION = (createRequire(import.meta.url)("@grpc/grpc-js-xds/package.json") as { version: string }).version;

/** Runs `steps` at their offsets (ms) from now; resolves when the last has run. */
export async function timeline(steps: ReadonlyArray<readonly [number, () => unknown]>): Promise<void> {
  const start = Date.now();
  for (const [at, step] of steps) {
    await new Promise((r) => setTimeout(r, Math.max(0, start + at - Date.now())));
    await step();
  }
}

/**
 * Starts measuring how long this process and its children wait for a CPU
 * (the lab's measure, src/lab/runner/cpu-wait.ts), for assertNoFailures.
 */
export function watchMachine(): CpuWaitMonitor {
  return startCpuWaitMonitor({ everyMs: 500 });
}

/**
 * Every RPC succeeded. One exception, reported as a measured fact: RPCs that
 * reached a live backend (gRPC names its remote_addr) and were answered after
 * their 1 s deadline, while the processes waited more than CPU_WAIT_LIMIT
 * seconds for a CPU per second they ran. That is the machine (beside a bench
 * on 2 cores a reply took over a second), not the resolver: an RPC the
 * resolver could not place fails UNAVAILABLE, or DEADLINE_EXCEEDED with no
 * remote address, and still fails the test; so does any late RPC on a
 * machine that kept time.
 */
export function assertNoFailures(label: string, result: LoadResult, watch?: { machine: CpuWaitMonitor; t: TestContext }): void {
  assert.ok(result.sent >= (RPS * WINDOW_MS) / 1000 - 5, `${label}: only ${result.sent} RPCs were sent`);
  const wait = watch?.machine.stop();
  if (result.failed > 0 && watch && wait) {
    const late = Object.entries(result.errors)
      .filter(([error]) => error.startsWith("DEADLINE_EXCEEDED") && /remote_addr=/.test(error))
      .reduce((sum, [, count]) => sum + count, 0);
    if (late === result.failed && wait.ratio !== null && wait.ratio > CPU_WAIT_LIMIT) {
      watch.t.diagnostic(
        `MEASURED FACT (machine, not resolver): ${label}: ${late} of ${result.sent} RPCs reached a live backend and were answered after their deadline, ` +
          `while this test's processes waited ${wait.ratio.toFixed(1)} s for a CPU per second they ran (limit ${CPU_WAIT_LIMIT})`,
      );
      return;
    }
  }
  assert.equal(result.failed, 0, `${label}: ${result.failed} of ${result.sent} RPCs failed: ${JSON.stringify(result.errors)}`);
}

/**
 * Asserts how the STOCK @grpc/grpc-js-xds client behaved, as a measured fact.
 * If a future version behaves differently, the failure says so plainly.
 */
export function assertMeasuredStock(fact: string, result: LoadResult, holds: (r: LoadResult) => boolean): void {
  if (!holds(result)) {
    assert.fail(
      `MEASURED FACT CHANGED for stock @grpc/grpc-js-xds ${XDS_VERSION}: expected "${fact}", observed ${result.failed} of ${result.sent} RPCs failed ` +
        `(${JSON.stringify(result.errors)}). If the stock client improved, update README "Using steadymesh with stock gRPC clients" and this test.`,
    );
  }
}

export { freePort, freePorts, quietPort } from "./free-ports.js";
