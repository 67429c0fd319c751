/**
 * The steady: resolver against control-plane failures, under load, side by
 * side with the stock @grpc/grpc-js-xds client. Every steady window must show
 * zero failed RPCs; the stock client's results are asserted as measured facts.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { buildBootstrap } from "../../src/xds/index.js";
import { CLUSTER_TYPE, LISTENER_TYPE, loadCodec } from "../../src/proto/index.js";
import { createResource } from "../../src/snapshot/index.js";
import { startBackend, type Backend } from "../helpers/greeter.js";
import { GUARD_DEFAULTS } from "../../src/guard/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { startClientProcess, type ClientProcess } from "../helpers/grpc-client.js";
import { RPS, WINDOW_MS, assertMeasuredStock, assertNoFailures, watchMachine, timeline } from "../helpers/scenario.js";

const STEADY = "steady:///greeter";
const STOCK = "xds:///greeter";
const codec = loadCodec();
const cleanups: Array<() => Promise<unknown>> = [];
let backends: Backend[];

before(async () => {
  backends = await Promise.all([startBackend("b1"), startBackend("b2")]);
});
after(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await Promise.all(backends.map((b) => b.stop()));
});

async function controlPlane(): Promise<TestControlPlane> {
  // The push guard off: these tests measure clients under a control plane that does send deletions and wipe-outs.
  const cp = await startControlPlane({ enableFaults: true, guard: { ...GUARD_DEFAULTS, enabled: false } });
  cleanups.push(() => cp.close());
  for (const b of backends) await cp.register("greeter", b.id, b.port);
  return cp;
}

function steadyClient(xdsPorts: number[], extra: object = {}): ClientProcess {
  const client = startClientProcess({
    steady: { xdsServers: xdsPorts.map((p) => `127.0.0.1:${p}`), nodeId: "steady-test", dns: false, startupTimeoutMs: 1000, streamTimeoutMs: 2000, backoff: { initialMs: 200, maxMs: 2000 }, ...extra },
  });
  cleanups.push(() => client.stop());
  return client;
}

function stockClient(xdsPorts: number[], ignoreResourceDeletion = false): ClientProcess {
  const client = startClientProcess({ bootstrap: buildBootstrap({ nodeId: "stock-test", xds: xdsPorts.map((p) => `127.0.0.1:${p}`), ignoreResourceDeletion }) });
  cleanups.push(() => client.stop());
  return client;
}

async function warm(steady: ClientProcess, stock?: ClientProcess): Promise<void> {
  assert.equal((await steady.callUntil(STEADY, (r) => r.ok)).ok, true, steady.stderr());
  if (stock) assert.equal((await stock.callUntil(STOCK, (r) => r.ok)).ok, true, stock.stderr());
}

/** Runs the load on both clients while `faults` play out; resolves with both results. */
async function underLoad(steady: ClientProcess, stock: ClientProcess | undefined, faults: ReadonlyArray<readonly [number, () => unknown]>) {
  const [steadyResult, stockResult] = await Promise.all([steady.load(STEADY, RPS, WINDOW_MS), stock?.load(STOCK, RPS, WINDOW_MS), timeline(faults)]);
  return { steadyResult, stockResult: stockResult! };
}

describe("resolver - faults the control plane can have", { concurrency: 2 }, () => {
  test("resolver - every new ADS stream ends with NOT_FOUND: zero failed RPCs", async (t) => {
    const machine = watchMachine();
    const cp = await controlPlane();
    const steady = steadyClient([cp.xds.port]);
    const stock = stockClient([cp.xds.port]);
    await warm(steady, stock);
    let id = "";
    const { steadyResult, stockResult } = await underLoad(steady, stock, [
      [1000, () => (id = cp.faults!.add({ kind: "stream-error", code: grpc.status.NOT_FOUND, details: "Requested entity was not found." }))],
      [8000, () => cp.faults!.remove(id)],
    ]);
    assertNoFailures("steady", steadyResult, { machine, t });
    const { events } = await steady.events();
    assert.ok(events.some((e) => e.type === "xds-disconnected" && /NOT_FOUND/.test(e.reason)), "the resolver saw the NOT_FOUND stream errors");
    assertMeasuredStock("keeps serving from its cache when streams end with NOT_FOUND", stockResult, (r) => r.failed === 0);
  });

  test("resolver - a Listener deletion: zero failed RPCs (stock client fails unless ignore_resource_deletion)", async (t) => {
    const machine = watchMachine();
    const cp = await controlPlane();
    const steady = steadyClient([cp.xds.port]);
    const stock = stockClient([cp.xds.port]);
    const stockIgnoring = stockClient([cp.xds.port], true);
    await warm(steady, stock);
    await warm(steady, stockIgnoring);
    const [{ steadyResult, stockResult }, ignoringResult] = await Promise.all([
      underLoad(steady, stock, [[1000, () => cp.faults!.add({ kind: "drop-resources", typeUrl: LISTENER_TYPE, names: ["greeter"] })]]),
      stockIgnoring.load(STOCK, RPS, WINDOW_MS),
    ]);
    cp.faults!.clear();
    assertMeasuredStock("with ignore_resource_deletion, keeps serving after a Listener deletion", ignoringResult, (r) => r.failed === 0);
    assertNoFailures("steady", steadyResult, { machine, t });
    const { stats } = await steady.events();
    assert.equal(stats!.updatesIgnored["listener-deleted"], 1);
    assertMeasuredStock("fails RPCs with UNAVAILABLE once its Listener is deleted", stockResult, (r) => r.failed > 0 && Object.keys(r.errors).every((e) => e.startsWith("UNAVAILABLE")));
  });

  test("resolver - a Cluster deletion: zero failed RPCs (stock client fails)", async (t) => {
    const machine = watchMachine();
    const cp = await controlPlane();
    const steady = steadyClient([cp.xds.port]);
    const stock = stockClient([cp.xds.port]);
    await warm(steady, stock);
    const { steadyResult, stockResult } = await underLoad(steady, stock, [[1000, () => cp.faults!.add({ kind: "drop-resources", typeUrl: CLUSTER_TYPE, names: ["greeter"] })]]);
    cp.faults!.clear();
    assertNoFailures("steady", steadyResult, { machine, t });
    assert.equal((await steady.events()).stats!.updatesIgnored["cluster-deleted"], 1);
    assertMeasuredStock("fails RPCs with UNAVAILABLE once its Cluster is deleted", stockResult, (r) => r.failed > 0 && Object.keys(r.errors).some((e) => /UNAVAILABLE: .*Cluster resource greeter does not exist/.test(e)));
  });

  test("resolver - an EDS update with zero endpoints: zero failed RPCs (stock client fails)", async (t) => {
    const machine = watchMachine();
    const cp = await controlPlane();
    const steady = steadyClient([cp.xds.port]);
    const stock = stockClient([cp.xds.port], true);
    await warm(steady, stock);
    // A real wipe-out: every instance deregistered while the backends still run.
    const { steadyResult, stockResult } = await underLoad(steady, stock, [[1000, async () => {
      for (const b of backends) await cp.deregister("greeter", b.id);
    }]]);
    assertNoFailures("steady", steadyResult, { machine, t });
    assert.ok((await steady.events()).stats!.updatesIgnored["endpoints-empty"] >= 1);
    assertMeasuredStock("fails RPCs on zero endpoints even with ignore_resource_deletion", stockResult, (r) => r.failed > 0 && Object.keys(r.errors).some((e) => /empty priority list/.test(e)));
  });

  test("resolver - an invalid resource is NACKed: zero failed RPCs", async (t) => {
    const machine = watchMachine();
    const cp = await controlPlane();
    const steady = steadyClient([cp.xds.port]);
    const stock = stockClient([cp.xds.port]);
    await warm(steady, stock);
    const maglev = codec.encodeResource(CLUSTER_TYPE, {
      name: "greeter",
      type: "EDS",
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: "V3" }, service_name: "greeter" },
      lb_policy: "MAGLEV" as "ROUND_ROBIN",
    });
    const { steadyResult, stockResult } = await underLoad(steady, stock, [[1000, () => cp.faults!.add({ kind: "replace-resource", resource: createResource(CLUSTER_TYPE, "greeter", maglev) })]]);
    cp.faults!.clear();
    assertNoFailures("steady", steadyResult, { machine, t });
    const { events } = await steady.events();
    assert.ok(events.some((e) => e.type === "nack" && /CDS greeter: lb_policy: MAGLEV is not supported by gRPC clients/.test(e.detail)), JSON.stringify(events.filter((e) => e.type === "nack")));
    assertMeasuredStock("NACKs the invalid Cluster and keeps serving", stockResult, (r) => r.failed === 0);
    const clients = (await cp.api("GET", "/v1/clients")).body.clients as Array<{ nodeId: string; types: Record<string, { lastNack?: unknown }> }>;
    assert.ok(clients.find((c) => c.nodeId === "steady-test")?.types.CDS?.lastNack, "the server recorded the resolver's NACK");
  });

  test("resolver - a deletion followed by an identical re-add: zero failed RPCs (stock client never recovers)", async (t) => {
    const machine = watchMachine();
    const cp = await controlPlane();
    const steady = steadyClient([cp.xds.port]);
    const stock = stockClient([cp.xds.port]);
    await warm(steady, stock);
    let id = "";
    const { steadyResult, stockResult } = await underLoad(steady, stock, [
      [1000, () => (id = cp.faults!.add({ kind: "drop-resources", typeUrl: LISTENER_TYPE, names: ["greeter"] }))],
      [4000, () => cp.faults!.remove(id)],
    ]);
    assertNoFailures("steady", steadyResult, { machine, t });
    const { events } = await steady.events();
    const backToXds = events.filter((e) => e.type === "source-changed" && e.to === "xds");
    assert.ok(backToXds.length >= 2, `the resolver went back to live xDS after the identical re-add: ${JSON.stringify(backToXds)}`);
    assertMeasuredStock("fails once the Listener is deleted", stockResult, (r) => r.failed > 0);
    const afterReAdd = await stock.load(STOCK, RPS, 2000);
    assertMeasuredStock("never recovers when the identical Listener comes back", afterReAdd, (r) => r.failed === r.sent);
  });

  test("resolver - a control plane that accepts streams and never answers: zero failed RPCs, then failover", async (t) => {
    const machine = watchMachine();
    const stalled = await controlPlane();
    const healthy = await controlPlane();
    const steady = steadyClient([stalled.xds.port, healthy.xds.port]);
    const stock = stockClient([stalled.xds.port, healthy.xds.port]);
    await warm(steady, stock);
    const { steadyResult, stockResult } = await underLoad(steady, stock, [
      [1000, () => {
        // End the open streams, then stall every new one: clients reconnect into the stall.
        const kick = stalled.faults!.add({ kind: "stream-error", code: grpc.status.UNAVAILABLE, details: "restarting" });
        stalled.faults!.add({ kind: "stall" });
        stalled.faults!.remove(kick);
      }],
    ]);
    assertNoFailures("steady", steadyResult, { machine, t });
    const { events, sources } = await steady.events();
    assert.ok(events.some((e) => e.type === "xds-failover" && /stalled/.test(e.reason) && e.to === `127.0.0.1:${healthy.xds.port}`), JSON.stringify(events.filter((e) => e.type.startsWith("xds"))));
    assert.equal(sources?.greeter, "xds");
    assertMeasuredStock("keeps serving from its cache while its only used server stalls", stockResult, (r) => r.failed === 0);
  });
});
