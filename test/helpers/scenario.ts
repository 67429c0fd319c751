import assert from "node:assert/strict";
import { createRequire } from "node:module";
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

export function assertNoFailures(label: string, result: LoadResult): void {
  assert.ok(result.sent >= (RPS * WINDOW_MS) / 1000 - 5, `${label}: only ${result.sent} RPCs were sent`);
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

export { freePort, freePorts } from "./free-ports.js";
