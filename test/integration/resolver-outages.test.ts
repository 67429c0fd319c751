/**
 * The steady: resolver when the control plane is gone: killed, down at a
 * client's start, unreachable with only DNS left, or one of two replicas
 * dead. Under load, side by side with the stock @grpc/grpc-js-xds client.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { buildBootstrap } from "../../src/xds/index.js";
import { startBackend, type Backend } from "../helpers/greeter.js";
import { startControlPlane, tempDir } from "../helpers/control-plane.js";
import { startClientProcess } from "../helpers/grpc-client.js";
import { RPS, WINDOW_MS, assertMeasuredStock, assertNoFailures, watchMachine, quietPort, timeline } from "../helpers/scenario.js";
import { startServeProcess, type ServeProcess } from "../helpers/serve-process.js";

const STEADY = "steady:///greeter";
const STOCK = "xds:///greeter";
const cleanups: Array<() => Promise<unknown>> = [];
let backends: Backend[];

before(async () => {
  backends = await Promise.all([startBackend("b1"), startBackend("b2")]);
});
after(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await Promise.all(backends.map((b) => b.stop()));
});

function track<T extends { stop(): Promise<unknown> } | { close(): Promise<unknown> }>(thing: T): T {
  cleanups.push(() => ("stop" in thing ? thing.stop() : thing.close()));
  return thing;
}

async function registerAll(api: (method: string, path: string, body?: unknown) => Promise<{ status: number }>): Promise<void> {
  for (const b of backends) {
    const res = await api("PUT", `/v1/services/greeter/instances/${b.id}`, { address: "127.0.0.1", port: b.port });
    assert.ok(res.status < 300);
  }
}

async function http(base: string, auth: Pick<ServeProcess, "headers">, method: string, path: string, body?: unknown): Promise<{ status: number }> {
  const headers = auth.headers(body === undefined ? {} : { "content-type": "application/json" });
  const res = await fetch(base + path, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
  await res.arrayBuffer();
  return { status: res.status };
}

const steadyOptions = (xdsPorts: number[], extra: object = {}) => ({
  xdsServers: xdsPorts.map((p) => `127.0.0.1:${p}`),
  nodeId: "steady-outage",
  dns: false as const,
  startupTimeoutMs: 1000,
  streamTimeoutMs: 2000,
  backoff: { initialMs: 200, maxMs: 2000 },
  ...extra,
});
const stockBootstrap = (xdsPorts: number[]) => buildBootstrap({ nodeId: "stock-outage", xds: xdsPorts.map((p) => `127.0.0.1:${p}`) });

describe("resolver - the control plane is gone", { concurrency: 2 }, () => {
  test("resolver - serve SIGKILLed, then restarted: zero failed RPCs", async (t) => {
    const machine = watchMachine();
    const dir = await tempDir();
    cleanups.push(dir.cleanup);
    // Killed and restarted on this port: one the kernel never gives to a concurrent test meanwhile.
    const xdsPort = await quietPort();
    const args = ["--data-dir", dir.path, "--xds-port", String(xdsPort)];
    let serve = await startServeProcess(args);
    await registerAll((m, p, b) => http(serve.adminUrl, serve, m, p, b));
    const steady = track(startClientProcess({ steady: steadyOptions([xdsPort]) }));
    const stock = track(startClientProcess({ bootstrap: stockBootstrap([xdsPort]) }));
    assert.ok((await steady.callUntil(STEADY, (r) => r.ok)).ok);
    assert.ok((await stock.callUntil(STOCK, (r) => r.ok)).ok);
    const [steadyResult, stockResult] = await Promise.all([
      steady.load(STEADY, RPS, WINDOW_MS),
      stock.load(STOCK, RPS, WINDOW_MS),
      timeline([
        [1000, () => serve.stop("SIGKILL")],
        [5000, async () => (serve = await startServeProcess(args))],
      ]),
    ]);
    cleanups.push(() => serve.stop());
    assertNoFailures("steady", steadyResult, { machine, t });
    // It rode out the outage on its last good endpoints, then went back to live xDS (reconnect backoff may run past the window).
    let kinds: string[] = [];
    for (let i = 0; i < 100; i++) {
      kinds = (await steady.events()).events.map((e) => (e.type === "source-changed" ? `${e.type}:${e.to}` : e.type));
      if (kinds.lastIndexOf("source-changed:xds") > kinds.indexOf("source-changed:cache")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(kinds.includes("source-changed:cache") && kinds.lastIndexOf("source-changed:xds") > kinds.indexOf("source-changed:cache"), `xds → cache → xds: ${kinds.join(", ")}`);
    assertMeasuredStock("keeps serving from its cache while the control plane is down", stockResult, (r) => r.failed === 0);
  });

  test("resolver - a new process while the control plane is down, with a disk cache: zero failed RPCs", async (t) => {
    const machine = watchMachine();
    const cacheDir = await tempDir();
    cleanups.push(cacheDir.cleanup);
    const cp = await startControlPlane();
    await registerAll(cp.api);
    const first = startClientProcess({ steady: steadyOptions([cp.xds.port], { cacheDir: cacheDir.path }) });
    assert.ok((await first.callUntil(STEADY, (r) => r.ok)).ok);
    // The cache is written just after the first live update; wait for the write to finish.
    let written = false;
    for (let i = 0; i < 100 && !written; i++) {
      written = (await first.events()).events.some((e) => e.type === "cache-written");
      if (!written) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(written, "the first process wrote its cache");
    await first.stop();
    await cp.close();

    const steady = track(startClientProcess({ steady: steadyOptions([cp.xds.port], { cacheDir: cacheDir.path }) }));
    const stock = track(startClientProcess({ bootstrap: stockBootstrap([cp.xds.port]) }));
    const [steadyResult, stockResult] = await Promise.all([steady.load(STEADY, RPS, WINDOW_MS), stock.load(STOCK, RPS, WINDOW_MS)]);
    assertNoFailures("steady", steadyResult, { machine, t });
    assert.equal((await steady.events()).sources?.greeter, "cache");
    assertMeasuredStock("a new process cannot resolve while the control plane is down", stockResult, (r) => r.failed === r.sent && Object.keys(r.errors).some((e) => /DEADLINE_EXCEEDED|UNAVAILABLE/.test(e)));
  });

  test("resolver - a new process with no cache, xDS unreachable and DNS alive: zero failed RPCs", async (t) => {
    const machine = watchMachine();
    const cp = track(await startControlPlane());
    await registerAll(cp.api);
    const deadPort = await quietPort();
    const steady = track(startClientProcess({ steady: steadyOptions([deadPort], { dns: { server: `127.0.0.1:${cp.dns.port}`, domain: "mesh" } }) }));
    const stock = track(startClientProcess({ bootstrap: stockBootstrap([deadPort]) }));
    const [steadyResult, stockResult] = await Promise.all([steady.load(STEADY, RPS, WINDOW_MS), stock.load(STOCK, RPS, WINDOW_MS)]);
    assertNoFailures("steady", steadyResult, { machine, t });
    assert.deepEqual(Object.keys(steadyResult.backends).sort(), ["b1", "b2"], "DNS SRV gave both instances");
    assert.equal((await steady.events()).sources?.greeter, "dns");
    assertMeasuredStock("a new process cannot resolve when its only xDS server is unreachable", stockResult, (r) => r.failed === r.sent);
  });

  test("resolver - two xDS servers and the first dies: zero failed RPCs (gRFC A71 failover)", async (t) => {
    const machine = watchMachine();
    const cp1 = await startControlPlane();
    const cp2 = track(await startControlPlane());
    await registerAll(cp1.api);
    await registerAll(cp2.api);
    const steady = track(startClientProcess({ steady: steadyOptions([cp1.xds.port, cp2.xds.port]) }));
    const stock = track(startClientProcess({ bootstrap: stockBootstrap([cp1.xds.port, cp2.xds.port]) }));
    assert.ok((await steady.callUntil(STEADY, (r) => r.ok)).ok);
    assert.ok((await stock.callUntil(STOCK, (r) => r.ok)).ok);
    const [steadyResult, stockResult] = await Promise.all([
      steady.load(STEADY, RPS, WINDOW_MS),
      stock.load(STOCK, RPS, WINDOW_MS),
      timeline([[1000, () => cp1.close()]]),
    ]);
    assertNoFailures("steady", steadyResult, { machine, t });
    const { events, sources } = await steady.events();
    assert.ok(events.some((e) => e.type === "xds-failover" && e.to === `127.0.0.1:${cp2.xds.port}`), "failed over to the second server");
    assert.equal(sources?.greeter, "xds", "back on live xDS from the second server");
    const clients = (await cp2.api("GET", "/v1/clients")).body.clients as Array<{ nodeId: string }>;
    assert.ok(clients.some((c) => c.nodeId === "steady-outage"), "the resolver is connected to the second server");
    assertMeasuredStock("keeps serving from its cache after its first xDS server dies", stockResult, (r) => r.failed === 0);
  });

  test("resolver - when every source is empty, RPCs fail with UNAVAILABLE naming the target and each source", async () => {
    const [deadPort, deadDns] = [await quietPort(), await quietPort()];
    const cacheDir = await tempDir();
    cleanups.push(cacheDir.cleanup);
    const steady = track(startClientProcess({ steady: steadyOptions([deadPort], { cacheDir: cacheDir.path, dns: { server: `127.0.0.1:${deadDns}`, domain: "mesh" } }) }));
    const [result] = await steady.call(STEADY, 1, 5000);
    assert.equal(result!.ok, false);
    if (result!.ok) return;
    assert.equal(result!.code, grpc.status.UNAVAILABLE, JSON.stringify(result));
    assert.match(result!.details, /^steady:\/\/\/greeter: no endpoints from any source \(xds: .*127\.0\.0\.1:\d+.*; cache: no cache file at .*; dns: .+\)$/);
    assert.doesNotMatch(result!.details, /NOT_FOUND/);
  });
});
