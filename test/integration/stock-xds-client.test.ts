import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startBackend, type Backend } from "../helpers/greeter.js";
import { GUARD_DEFAULTS } from "../../src/guard/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { buildBootstrap } from "../../src/xds/index.js";
import { startClientProcess, type ClientProcess, type CallResult } from "../helpers/grpc-client.js";

const TARGET = "xds:///greeter";
const ok = (r: CallResult) => r.ok;

let cp: TestControlPlane;
let b1: Backend;
let b2: Backend;
let client: ClientProcess;

before(async () => {
  // The push guard off: these tests follow the registry all the way to zero endpoints (test/integration/guard.test.ts covers the guard).
  cp = await startControlPlane({ guard: { ...GUARD_DEFAULTS, enabled: false } });
  [b1, b2] = await Promise.all([startBackend("b1"), startBackend("b2")]);
  // The bootstrap `steadymesh bootstrap` prints, unmodified.
  client = startClientProcess({ bootstrap: buildBootstrap({ nodeId: "stock-test-1", xds: [`127.0.0.1:${cp.xds.port}`] }) });
});

after(async () => {
  await client?.stop();
  await Promise.all([b1?.stop(), b2?.stop()]);
  await cp?.close();
});

test("xds interop - one instance registered: a stock grpc-js-xds client's RPCs succeed", async () => {
  await cp.register("greeter", "b1", b1.port);
  const first = await client.callUntil(TARGET, ok);
  assert.deepEqual(first, { ok: true, backend: "b1" }, client.stderr());
  const results = await client.call(TARGET, 10);
  assert.deepEqual(results.map((r) => r.ok && r.backend), Array(10).fill("b1"));
});

test("xds interop - two instances: round robin reaches both", async () => {
  await cp.register("greeter", "b2", b2.port);
  await client.callUntil(TARGET, (r) => r.ok && r.backend === "b2");
  const results = await client.call(TARGET, 20);
  assert.ok(results.every(ok), JSON.stringify(results));
  const counts = { b1: 0, b2: 0 } as Record<string, number>;
  for (const r of results) if (r.ok) counts[r.backend]!++;
  // Round robin over two endpoints alternates, so 20 calls split 10/10.
  assert.equal(counts.b1, 10, JSON.stringify(counts));
  assert.equal(counts.b2, 10, JSON.stringify(counts));
});

test("xds interop - every instance deregistered: RPCs fail with UNAVAILABLE", async () => {
  await cp.deregister("greeter", "b1");
  await cp.deregister("greeter", "b2");
  const failed = await client.callUntil(TARGET, (r) => !r.ok);
  assert.equal(failed.ok, false);
  assert.equal(!failed.ok && failed.code, 14, JSON.stringify(failed)); // UNAVAILABLE
  const results = await client.call(TARGET, 5);
  assert.ok(results.every((r) => !r.ok && r.code === 14), JSON.stringify(results));
  assert.equal(b1.calls() + b2.calls() > 0, true);
});

test("xds interop - instances registered again: RPCs succeed again", async () => {
  await cp.register("greeter", "b1", b1.port);
  await cp.register("greeter", "b2", b2.port);
  await client.callUntil(TARGET, ok);
  await client.callUntil(TARGET, (r) => r.ok && r.backend === "b2");
  const results = await client.call(TARGET, 10);
  assert.ok(results.every(ok), JSON.stringify(results));
  assert.equal(new Set(results.map((r) => r.ok && r.backend)).size, 2);
});
