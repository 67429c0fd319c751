import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { main } from "../../src/cli/index.js";
import { GUARD_DEFAULTS } from "../../src/guard/index.js";
import { buildBootstrap } from "../../src/xds/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { startBackend, type Backend } from "../helpers/greeter.js";
import { startClientProcess, type ClientProcess } from "../helpers/grpc-client.js";
import { captureIo } from "../helpers/io.js";
import { RPS } from "../helpers/scenario.js";

/**
 * The push guard against a stock @grpc/grpc-js-xds client (issue 5's
 * acceptance). The drain interval is long so that nothing is released
 * while a test looks at a hold.
 */
const TARGET = "xds:///greeter";
let cp: TestControlPlane;
let client: ClientProcess;
const backends: Backend[] = [];

before(async () => {
  // The production push quiet period (100 ms), so that a burst of deregistrations is one generation.
  cp = await startControlPlane({ enableFaults: true, pushMinDelayMs: 100, guard: { ...GUARD_DEFAULTS, drainIntervalMs: 600_000 } });
  for (let i = 1; i <= 20; i++) backends.push(await startBackend(`b${i}`));
  client = startClientProcess({ bootstrap: buildBootstrap({ nodeId: "guarded-client", xds: [`127.0.0.1:${cp.xds.port}`] }) });
});

after(async () => {
  await client?.stop();
  await Promise.all(backends.map((b) => b.stop()));
  await cp?.close();
});

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(["node", "steadymesh", ...args, ...cp.cliArgs], io);
  return { code, out: io.out(), err: io.err() };
}

async function generations(): Promise<Array<{ id: number; status: string; reason: string; problems: Array<{ path: string; message: string }> }>> {
  await cp.guard.settled();
  return (await cp.api("GET", "/v1/generations")).body.generations;
}

/** Waits until the client's round robin has reached exactly `ids` (and nothing else) in one sweep of calls. */
async function converge(ids: string[], timeoutMs = 15_000): Promise<void> {
  const want = [...ids].sort().join(",");
  const end = Date.now() + timeoutMs;
  let seen = "";
  while (Date.now() < end) {
    const results = await client.call(TARGET, ids.length * 3);
    seen = [...new Set(results.map((r) => (r.ok ? r.backend : `error ${r.code}`)))].sort().join(",");
    if (seen === want) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the client did not converge on ${want}; last saw ${seen}`);
}

const ids = (from: number, to: number) => backends.slice(from - 1, to).map((b) => b.id);

test("guard - 9 of 10 instances deregistered in one burst: held, the stock client keeps 100% on all 10; approved, it converges on 1", async () => {
  for (const b of backends.slice(0, 10)) await cp.register("greeter", b.id, b.port);
  await converge(ids(1, 10));
  const before = (await generations()).length;

  await Promise.all(backends.slice(1, 10).map((b) => cp.deregister("greeter", b.id)));
  let gens = await generations();
  for (let i = 0; i < 50 && gens.length === before; i++) {
    await new Promise((r) => setTimeout(r, 50));
    gens = await generations();
  }
  assert.equal(gens.length, before + 1, `one burst, one generation: ${JSON.stringify(gens.slice(before))}`);
  const held = gens.at(-1)!;
  assert.equal(held.status, "held");
  assert.match(held.reason, /removes 9 of 10 endpoints of greeter \(90% > 50%\)/);

  const load = await client.load(TARGET, RPS, 4000);
  assert.equal(load.failed, 0, JSON.stringify(load.errors));
  assert.deepEqual(Object.keys(load.backends).sort(), ids(1, 10).sort(), "all 10 endpoints are still in the client's list");

  const shown = await cli("generations");
  assert.equal(shown.code, 0, shown.err);
  assert.match(shown.out, new RegExp(`^\\s*${held.id}\\s+held\\b`, "m"));
  assert.match(shown.out, /removes 9 of 10 endpoints of greeter/);
  const metrics = await (await fetch(`${cp.adminUrl}/metrics`, { headers: cp.headers() })).text();
  assert.match(metrics, /steadymesh_guard_holds_total\{rule="endpoint-removal"\} 1/);

  const approved = await cli("approve", String(held.id));
  assert.equal(approved.code, 0, approved.err);
  await converge(ids(1, 1));
  assert.equal((await generations()).find((g) => g.id === held.id)?.status, "pushed");
});

test("guard - a rolling replacement (10 new in, 10 old out) is never held", async () => {
  const before = (await generations()).length;
  // One at a time, as a deployment replaces pods: a new instance in, an old one out.
  for (let i = 1; i <= 10; i++) await cp.register("greeter", backends[i - 1]!.id, backends[i - 1]!.port);
  await converge(ids(1, 10));
  for (let i = 1; i <= 10; i++) {
    await cp.register("greeter", backends[9 + i]!.id, backends[9 + i]!.port);
    await cp.deregister("greeter", backends[i - 1]!.id);
  }
  await converge(ids(11, 20));
  // And blue/green: all 10 back, then all of the new 10 out in one burst (20 → 10).
  for (const b of backends.slice(0, 10)) await cp.register("greeter", b.id, b.port);
  await converge(ids(1, 20));
  await Promise.all(backends.slice(10, 20).map((b) => cp.deregister("greeter", b.id)));
  await converge(ids(1, 10));
  const changes = (await generations()).slice(before);
  assert.ok(changes.length >= 3, JSON.stringify(changes));
  assert.deepEqual(changes.filter((g) => g.status !== "pushed"), [], "nothing held or rejected");
});

test("guard - an invalid resource from the pipeline is rejected, never reaches the client, and steadymesh generations says why", async () => {
  const clientsBefore = (await cp.api("GET", "/v1/clients")).body.clients.find((c: { nodeId: string }) => c.nodeId === "guarded-client");
  const fault = await cp.api("POST", "/v1/faults", { kind: "invalid-config", services: ["greeter"], layer: "pipeline" });
  assert.equal(fault.status, 201, JSON.stringify(fault.body));
  let rejected: Awaited<ReturnType<typeof generations>>[number] | undefined;
  for (let i = 0; i < 50 && !rejected; i++) {
    rejected = (await generations()).find((g) => g.status === "rejected");
    if (!rejected) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(rejected, "a rejected generation");
  assert.ok(rejected.problems.some((p) => p.path.startsWith("CDS/greeter") && /MAGLEV/.test(p.message)), JSON.stringify(rejected.problems));

  const load = await client.load(TARGET, RPS, 2000);
  assert.equal(load.failed, 0, JSON.stringify(load.errors));
  const now = (await cp.api("GET", "/v1/clients")).body.clients.find((c: { nodeId: string }) => c.nodeId === "guarded-client");
  assert.equal(now.types.CDS.sentVersion, clientsBefore.types.CDS.sentVersion, "no new Cluster was sent");
  assert.equal(now.types.CDS.lastNack, undefined, "and so nothing was NACKed");

  const shown = await cli("generations", "--status", "rejected");
  assert.equal(shown.code, 0, shown.err);
  assert.match(shown.out, new RegExp(`^\\s*${rejected.id}\\s+rejected\\b`, "m"));
  assert.match(shown.out, /CDS\/greeter.*MAGLEV/);
  await cp.api("DELETE", "/v1/faults");
});
