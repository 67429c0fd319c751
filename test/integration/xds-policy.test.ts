/**
 * Issue 18, the xDS mapping: a stock @grpc/grpc-js-xds client, configured
 * only by steadymesh's xDS server (its real snapshot cache and ADS server,
 * fed buildSnapshot's output for a service with a traffic policy), routes
 * real RPCs over loopback to two real backends by the policy: a header
 * match, a whole-route subset, and an injected abort. Every snapshot passes
 * the push guard's validation first. In-process: the client takes its
 * bootstrap through grpc-js-xds's per-channel option.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { validateSnapshot } from "../../src/guard/validate.js";
import { createSilentLogger } from "../../src/log/index.js";
import { loadCodec } from "../../src/proto/index.js";
import type { ServiceEntry, TrafficPolicy } from "../../src/registry/index.js";
import { buildSnapshot, createBuildCache, type Snapshot } from "../../src/snapshot/index.js";
import { buildBootstrap, createSnapshotCache, createXdsServer, DEFAULT_GROUP, type XdsServer } from "../../src/xds/index.js";
import { startBackend, type Backend } from "../helpers/greeter.js";
import { entry } from "../helpers/registry-view.js";
import { greeterClient, type GreeterClient } from "../helpers/xds-greeter.js";

type Outcome = { ok: true; backend: string } | { ok: false; code: number };

const SUBSETS = [
  { name: "v1", match: { version: "1" } },
  { name: "v2", match: { version: "2" } },
];
const SAY_HELLO = "/steadymesh.test.Greeter/SayHello";

describe("xds policy", () => {
  const codec = loadCodec();
  const cache = createSnapshotCache();
  const buildCache = createBuildCache();
  const clients: grpc.Client[] = [];
  let previous: Snapshot | undefined;
  let revision = 0;
  let xds: XdsServer;
  let v1: Backend;
  let v2: Backend;
  let client: GreeterClient;

  function greeter(policy: TrafficPolicy): ServiceEntry {
    const base = entry("greeter", [
      { id: "v1", address: "127.0.0.1", port: v1.port, metadata: { version: "1" } },
      { id: "v2", address: "127.0.0.1", port: v2.port, metadata: { version: "2" } },
    ]);
    return { ...base, service: { ...base.service, policy } };
  }

  function publish(policy: TrafficPolicy): void {
    revision++;
    const built = buildSnapshot({ revision, services: new Map([["greeter", greeter(policy)]]) }, codec, buildCache, previous);
    assert.ok(built.ok, JSON.stringify(!built.ok && built.errors));
    assert.deepEqual(validateSnapshot(codec, built.snapshot), [], "the push guard's validation passes the policy's resources");
    previous = built.snapshot;
    cache.setSnapshot(DEFAULT_GROUP, built.snapshot, revision);
  }

  function call(canary: boolean): Promise<Outcome> {
    const metadata = new grpc.Metadata();
    if (canary) metadata.set("x-canary", "yes");
    return new Promise((resolve) => {
      (client as unknown as { SayHello: (r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply: { backend: string }) => void) => void }).SayHello(
        { name: "t" },
        metadata,
        { deadline: Date.now() + 1500 },
        (err, reply) => resolve(err ? { ok: false, code: err.code } : { ok: true, backend: reply.backend }),
      );
    });
  }

  async function callUntil(canary: boolean, done: (o: Outcome) => boolean): Promise<Outcome> {
    const end = Date.now() + 20_000;
    for (;;) {
      const last = await call(canary);
      if (done(last) || Date.now() > end) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const calls = (canary: boolean, count: number) => Promise.all(Array.from({ length: count }, () => call(canary)));
  const backends = (outcomes: Outcome[]) => [...new Set(outcomes.map((o) => (o.ok ? o.backend : `code ${o.code}`)))].sort();

  before(async () => {
    const xdsModule = await import("@grpc/grpc-js-xds");
    xdsModule.register();
    [v1, v2] = await Promise.all([startBackend("v1"), startBackend("v2")]);
    xds = createXdsServer({ watcher: cache, codec, logger: createSilentLogger() });
    const address = `127.0.0.1:${(await xds.listen("127.0.0.1", 0)).port}`;
    publish({ subsets: SUBSETS, routes: [{ match: { headers: { "x-canary": { exact: "yes" } } }, to: [{ subset: "v2", weight: 100 }] }] });
    client = greeterClient(clients, "xds:///greeter", grpc.credentials.createInsecure(), buildBootstrap({ nodeId: "policy-1", xds: [address] }));
  });

  after(async () => {
    for (const made of clients) made.close();
    await xds?.close();
    await Promise.all([v1?.stop(), v2?.stop()]);
  });

  test("xds policy - a header match sends only the marked calls to v2; the others reach both through the catch-all", async () => {
    await callUntil(false, (o) => o.ok);
    assert.deepEqual(backends(await calls(true, 20)), ["v2"]);
    const unmarked = await calls(false, 20);
    assert.deepEqual(backends(unmarked), ["v1", "v2"], "round robin over the whole service");
  });

  test("xds policy - a route taking every call of the method to one subset moves them all", async () => {
    publish({ subsets: SUBSETS, routes: [{ match: { method: SAY_HELLO }, to: [{ subset: "v1", weight: 0 }, { subset: "v2", weight: 100 }] }] });
    await callUntil(false, (o) => o.ok && o.backend === "v2");
    // The push reaches the client between calls: wait until a run of calls is all v2.
    const end = Date.now() + 10_000;
    let seen = await calls(false, 20);
    while (backends(seen).join() !== "v2" && Date.now() < end) seen = await calls(false, 20);
    assert.deepEqual(backends(seen), ["v2"]);
  });

  test("xds policy - a fault abort at 100% gives the configured code, without reaching a backend", async () => {
    const before = v1.calls() + v2.calls();
    publish({ subsets: SUBSETS, routes: [{ match: { prefix: "/steadymesh.test." }, to: [{ subset: "v1", weight: 100 }], fault: { abort: { code: "RESOURCE_EXHAUSTED", percent: 100 } } }] });
    const aborted = await callUntil(false, (o) => !o.ok && o.code === grpc.status.RESOURCE_EXHAUSTED);
    assert.deepEqual(aborted, { ok: false, code: grpc.status.RESOURCE_EXHAUSTED });
    const counted = v1.calls() + v2.calls();
    assert.deepEqual(backends(await calls(false, 10)), [`code ${grpc.status.RESOURCE_EXHAUSTED}`]);
    assert.equal(v1.calls() + v2.calls(), counted, "aborted calls never reach a backend");
    assert.ok(counted >= before);
  });
});
