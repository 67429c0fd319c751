import assert from "node:assert/strict";
import { test } from "node:test";
import type { DemoProcess, DemoSpawnOptions } from "../../src/demo/index.js";
import type { Cohort } from "../../src/lab/scenario/index.js";
import { startFleet } from "../../src/lab/runner/fleet.js";
import { createStartGate } from "../../src/lab/runner/start-gate.js";

/** A gateway "process" that becomes ready `readyAfterMs` after it is spawned, as a loaded machine makes it. */
function slowSpawn(readyAfterMs: number): (kind: "gateway", options: DemoSpawnOptions) => Promise<DemoProcess> {
  let pid = 1000;
  return async (kind, options) => {
    await new Promise((resolve) => setTimeout(resolve, readyAfterMs));
    const exited = Promise.resolve({ code: 0, signal: null });
    return { kind, id: options.id, pid: ++pid, port: 1, exited, stop: () => exited, kill: () => exited, stderr: () => "" };
  };
}

const cohort: Cohort = { name: "xds-default-guarded", discovery: "xds-default", gateways: 1, controlPlane: "guarded", scheduledRestarts: false };
const env = { xdsPort: 1, dnsPort: 2, adminUrl: "http://127.0.0.1:3", workDir: "/nonexistent", gate: createStartGate(2) };

test("lab fleet - a restarted gateway counts as started when its process was spawned, not when a slow machine let it become ready", async () => {
  const fleet = await startFleet(cohort, { ...env, spawn: slowSpawn(300) });
  const restartedAt = Date.now();
  await fleet.restart(0);
  const [first, second] = fleet.ups();
  assert.equal(fleet.ups().length, 2);
  // The restart drains for 500 ms, then spawns; the fake takes 300 ms to be ready.
  assert.ok(second! - restartedAt >= 450 && second! - restartedAt < 700, `restart spawned ${second! - restartedAt} ms after it was asked for`);
  assert.equal(fleet.upAt(fleet.ready()[0]!), second);
  assert.ok(second! > first!);
  await fleet.stop();
});
