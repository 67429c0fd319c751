import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { GUARD_DEFAULTS } from "../../src/guard/index.js";
import { buildBootstrap } from "../../src/xds/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { startBackend, type Backend } from "../helpers/greeter.js";
import type { CallResult } from "../helpers/grpc-client.js";
import { grpcioMissing, startGrpcioProcess, type GrpcioProcess } from "../helpers/grpcio-client.js";
import { quietPort } from "../helpers/scenario.js";

/**
 * A stock Python client, Debian's python3-grpcio (the C-core), through
 * `xds:///` with the bootstrap `steadymesh bootstrap` prints, against a
 * control plane with the push guard on (as shipped; the drain interval is
 * long so that nothing is released while a test looks at a hold).
 *
 * grpcio reads its ADS stream only while an RPC is in flight or a
 * connectivity watch is held; a client whose RPCs fail at once reads it from
 * its backup poller, every 5 s. So each step polls with RPCs, and with the
 * control plane's view of the client (GET /v1/clients), up to a deadline.
 */
const TARGET = "xds:///greeter";
const PUSH_DEADLINE_MS = 20_000;
const MISSING = grpcioMissing();

let cp: TestControlPlane;
let b1: Backend;
let b2: Backend;
/** Default bootstrap. */
let plain: GrpcioProcess;
/** `steadymesh bootstrap --ignore-resource-deletion`. */
let ignoring: GrpcioProcess;
/** grpcio-plain's ADS state before the service was deleted. */
let beforeDeletion: Awaited<ReturnType<typeof adsState>>;

const bootstrap = (nodeId: string, ignoreResourceDeletion = false) =>
  buildBootstrap({ nodeId, xds: [`127.0.0.1:${cp.xds.port}`], ignoreResourceDeletion });
const ok = (r: CallResult) => r.ok;
const describeResults = (results: readonly CallResult[]) => {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const key = r.ok ? `ok from ${r.backend}` : `code ${r.code}: ${r.details}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return JSON.stringify(counts);
};

/** RPCs per backend, failures under "failed". */
const backendCounts = (results: readonly CallResult[]) => {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.ok ? r.backend : "failed"] = (counts[r.ok ? r.backend : "failed"] ?? 0) + 1;
  return counts;
};

/**
 * Asserts how the STOCK grpcio client behaved, as a measured fact. If a
 * later grpcio (or a change on our side) behaves differently, the failure
 * says so plainly instead of a bare assertion error.
 */
function assertMeasuredGrpcio(fact: string, holds: boolean, observed: string): void {
  if (!holds) {
    assert.fail(
      `MEASURED FACT CHANGED for stock grpcio ${plain.version} (the facts are from 1.51.1): expected "${fact}", observed ${observed}. ` +
        `If the client or the server improved, update docs/stock-grpc-clients.md and this test.`,
    );
  }
}

/** The per-type ADS state of `nodeId`'s stream, as GET /v1/clients shows it. */
async function adsState(nodeId: string): Promise<Record<string, { subscribed: string[]; ackedVersion?: string; ackedGeneration?: number }>> {
  const { clients } = (await cp.api("GET", "/v1/clients")).body as { clients: Array<{ nodeId: string; types: Record<string, any> }> };
  const stream = clients.filter((c) => c.nodeId === nodeId).at(-1);
  assert.ok(stream, `no ADS stream from ${nodeId}: ${JSON.stringify(clients)}`);
  return stream.types;
}

/**
 * Polls with RPCs (which keep grpcio reading its stream) until `nodeId` has
 * ACKed generation `id` for `type` (one the generation changed); returns those RPCs' results.
 */
async function untilAcked(client: GrpcioProcess, nodeId: string, type: "LDS" | "EDS", id: number): Promise<CallResult[]> {
  const results: CallResult[] = [];
  const end = Date.now() + PUSH_DEADLINE_MS;
  while (((await adsState(nodeId))[type]?.ackedGeneration ?? 0) < id) {
    assert.ok(Date.now() < end, `${nodeId} did not ACK generation ${id} for ${type} within ${PUSH_DEADLINE_MS} ms: ${JSON.stringify(await adsState(nodeId))}`);
    results.push(...(await client.call(TARGET, 1)));
    await new Promise((r) => setTimeout(r, 100));
  }
  return results;
}

/** One RPC every 100 ms for `ms`. */
async function callFor(client: GrpcioProcess, ms: number): Promise<CallResult[]> {
  const results: CallResult[] = [];
  for (const end = Date.now() + ms; Date.now() < end; ) {
    results.push(...(await client.call(TARGET, 1)));
    await new Promise((r) => setTimeout(r, 100));
  }
  return results;
}

/** The newest generation after `afterId`, once the guard has decided on it. */
async function nextGeneration(afterId: number): Promise<{ id: number; status: string; reason: string }> {
  const end = Date.now() + 5000;
  for (;;) {
    await cp.guard.settled();
    const [newest] = (await cp.api("GET", "/v1/generations?limit=1")).body.generations;
    if (newest && newest.id > afterId) return newest;
    assert.ok(Date.now() < end, `no generation after ${afterId} within 5 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function newestGenerationId(): Promise<number> {
  await cp.guard.settled();
  return (await cp.api("GET", "/v1/generations?limit=1")).body.generations[0]?.id ?? 0;
}

/**
 * Expects the change `write` makes to be held, runs `whileHeld`, then
 * approves the generation through the admin API as a person would.
 */
async function approveHeld(write: () => Promise<unknown>, reason: RegExp, whileHeld: () => Promise<void> = async () => {}): Promise<number> {
  const before = await newestGenerationId();
  await write();
  const held = await nextGeneration(before);
  assert.equal(held.status, "held", JSON.stringify(held));
  assert.match(held.reason, reason);
  await whileHeld();
  const approved = await cp.api("POST", `/v1/generations/${held.id}/approve`);
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  return held.id;
}

describe("stock grpcio client", { skip: MISSING && `skipped: ${MISSING}` }, () => {
  before(async () => {
    cp = await startControlPlane({ guard: { ...GUARD_DEFAULTS, drainIntervalMs: 600_000 } });
    [b1, b2] = await Promise.all([startBackend("b1"), startBackend("b2")]);
    [plain, ignoring] = await Promise.all([
      startGrpcioProcess(bootstrap("grpcio-plain")),
      startGrpcioProcess(bootstrap("grpcio-ignoring", true)),
    ]);
  });

  after(async () => {
    await Promise.all([plain?.stop(), ignoring?.stop()]);
    await Promise.all([b1?.stop(), b2?.stop()]);
    await cp?.close();
  });

  test("grpcio interop - one instance registered: a stock grpcio client's RPCs succeed", async () => {
    await cp.register("greeter", "b1", b1.port);
    const first = await plain.callUntil(TARGET, ok, PUSH_DEADLINE_MS);
    assert.deepEqual(first, { ok: true, backend: "b1" }, plain.stderr());
    const results = await plain.call(TARGET, 10);
    assert.deepEqual(results.map((r) => r.ok && r.backend), Array(10).fill("b1"), describeResults(results));
  });

  test("grpcio interop - two instances: round robin reaches both", async () => {
    await cp.register("greeter", "b2", b2.port);
    await plain.callUntil(TARGET, (r) => r.ok && r.backend === "b2", PUSH_DEADLINE_MS);
    const results = await plain.call(TARGET, 20);
    assert.ok(results.every(ok), describeResults(results));
    // The C-core's round robin alternates over the two ready endpoints.
    assert.deepEqual(backendCounts(results), { b1: 10, b2: 10 }, describeResults(results));
  });

  test("grpcio interop - every instance deregistered: held, RPCs keep succeeding; approved, they fail with UNAVAILABLE", async () => {
    const id = await approveHeld(
      () => Promise.all([cp.deregister("greeter", "b1"), cp.deregister("greeter", "b2")]),
      /leaves greeter with no endpoints \(it had 2\)/,
      async () => {
        // While the guard holds the removal, the client keeps both endpoints.
        const results = await plain.call(TARGET, 10);
        assert.deepEqual(backendCounts(results), { b1: 5, b2: 5 }, describeResults(results));
      },
    );
    await untilAcked(plain, "grpcio-plain", "EDS", id);
    const results = await plain.call(TARGET, 5);
    assertMeasuredGrpcio(
      "every RPC fails with UNAVAILABLE: no children in weighted_target policy: EDS resource greeter contains no localities",
      results.every((r) => !r.ok && r.code === 14 && /no children in weighted_target policy: EDS resource greeter contains no localities/.test(r.details)),
      describeResults(results),
    );
  });

  test("grpcio interop - instances registered again: RPCs succeed again", async () => {
    await Promise.all([cp.register("greeter", "b1", b1.port), cp.register("greeter", "b2", b2.port)]);
    // Its RPCs fail at once, so the push may wait for the client's 5 s backup poller.
    await plain.callUntil(TARGET, ok, PUSH_DEADLINE_MS);
    await plain.callUntil(TARGET, (r) => r.ok && r.backend === "b2", PUSH_DEADLINE_MS);
    const results = await plain.call(TARGET, 10);
    assert.ok(results.every(ok), describeResults(results));
    assert.equal(new Set(results.map((r) => r.ok && r.backend)).size, 2, describeResults(results));
  });

  test("grpcio interop - service deleted (held, approved): RPCs fail with UNAVAILABLE; with ignore_resource_deletion none fail", async () => {
    await ignoring.callUntil(TARGET, ok, PUSH_DEADLINE_MS);
    beforeDeletion = await adsState("grpcio-plain");
    const deletion = await approveHeld(() => cp.api("DELETE", "/v1/services/greeter"), /removes 1 of 1 Listener/);
    const [beforeAck, ignoringResults] = await Promise.all([
      untilAcked(plain, "grpcio-plain", "LDS", deletion),
      untilAcked(ignoring, "grpcio-ignoring", "LDS", deletion),
    ]);
    const deleted = await plain.call(TARGET, 3);
    assertMeasuredGrpcio(
      "once its Listener is deleted, RPCs fail with UNAVAILABLE: … xDS listener resource does not exist",
      deleted.every((r) => !r.ok && r.code === 14 && /xDS listener resource does not exist/.test(r.details)),
      `${describeResults(deleted)} (before its ACK: ${describeResults(beforeAck)})`,
    );
    ignoringResults.push(...(await ignoring.call(TARGET, 5)));
    assertMeasuredGrpcio("with ignore_resource_deletion, no RPC fails after the deletion", ignoringResults.every(ok), describeResults(ignoringResults));
  });

  test("grpcio interop - service re-created identical: MEASURED, grpcio 1.51.1 stays stuck until a new channel; with ignore_resource_deletion none fail", async () => {
    const from = await newestGenerationId();
    await Promise.all([cp.register("greeter", "b1", b1.port), cp.register("greeter", "b2", b2.port)]);
    const recreated = await nextGeneration(from);
    assert.equal(recreated.status, "pushed", JSON.stringify(recreated));
    const [, ignoringResults] = await Promise.all([
      untilAcked(plain, "grpcio-plain", "LDS", recreated.id),
      untilAcked(ignoring, "grpcio-ignoring", "LDS", recreated.id),
    ]);
    // Identical: the same content has the same version, and the client has ACKed it.
    const acked = await adsState("grpcio-plain");
    assert.equal(acked.LDS?.ackedVersion, beforeDeletion.LDS?.ackedVersion, "the re-created Listener is identical");
    assert.equal(acked.RDS?.ackedVersion, beforeDeletion.RDS?.ackedVersion, "the re-created RouteConfiguration is identical");

    // grpcio 1.51.1 logs "RouteConfiguration resource greeter identical to current, ignoring", so its resolver, which
    // dropped the route with the Listener, is never told it is back and never subscribes to the Cluster again.
    // The window is more than one backup-poll interval: a client that recovers re-subscribes and its RPCs succeed.
    const window = await callFor(plain, 6000);
    const state = await adsState("grpcio-plain");
    const subscriptions = Object.fromEntries(Object.entries(state).map(([type, s]) => [type, s.subscribed]));
    assertMeasuredGrpcio(
      "stays stuck after the identical re-create: every RPC fails (listener resource does not exist) and it never re-subscribes to the Cluster",
      window.every((r) => !r.ok && /xDS listener resource does not exist/.test(r.details)) && state.CDS?.subscribed.length === 0,
      `${describeResults(window)}; subscriptions ${JSON.stringify(subscriptions)}`,
    );
    ignoringResults.push(...(await ignoring.call(TARGET, 5)));
    assertMeasuredGrpcio("with ignore_resource_deletion, no RPC fails through the re-create", ignoringResults.every(ok), describeResults(ignoringResults));

    await plain.reset();
    const fresh = await plain.call(TARGET, 4);
    assertMeasuredGrpcio("a new channel in the same process works at once (from the cached resources)", fresh.every(ok), describeResults(fresh));
  });

  test("grpcio interop - a new process while the control plane is unreachable: RPCs fail fast with UNAVAILABLE naming the xDS server", async () => {
    const deadPort = await quietPort();
    const cold = await startGrpcioProcess(buildBootstrap({ nodeId: "grpcio-cold", xds: [`127.0.0.1:${deadPort}`] }));
    try {
      const results = await cold.call(TARGET, 3);
      assertMeasuredGrpcio(
        "every RPC fails at once with UNAVAILABLE: xDS channel for server 127.0.0.1:PORT: … Connection refused",
        results.every((r) => !r.ok && r.code === 14 && r.details.includes(`xDS channel for server 127.0.0.1:${deadPort}`)),
        describeResults(results),
      );
    } finally {
      await cold.stop();
    }
  });
});
