/**
 * `serve --enable-faults` end to end: faults posted to the admin API change
 * what a real ADS stream on loopback receives, and deleting them restores it.
 * Faults on the pipeline layer reach the push guard, which judges them.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { createLogger } from "../../src/log/index.js";
import { GUARD_DEFAULTS } from "../../src/guard/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, loadCodec, type DiscoveryResponse } from "../../src/proto/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { capture } from "../helpers/io.js";
import { openRawAds, type RawAdsStream } from "../helpers/raw-ads.js";

const codec = loadCodec();
const node = { id: "faults-1", cluster: "test", user_agent_name: "raw-test" };
let cp: TestControlPlane;
const serveLog = capture();
const open: RawAdsStream[] = [];

function stream(): RawAdsStream {
  const s = openRawAds(cp.xds.port, codec);
  open.push(s);
  return s;
}

function names(response: DiscoveryResponse): string[] {
  return response.resources.map((r) => codec.decodeResource(LISTENER_TYPE, r.value).name).sort();
}

/**
 * ACKs `r` as a stock client does: repeating the names it is subscribed to
 * (none for a wildcard). In SotW an ACK's resource_names are the
 * subscription, so an ACK without them unsubscribes a named stream.
 */
function ack(s: RawAdsStream, r: DiscoveryResponse, names: string[] = []): void {
  s.send({ type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce, resource_names: names });
}

/** Reads (and ACKs) LDS responses until one holds exactly `want`; the first snapshot trails registration by the coalescing delay. */
async function untilNames(s: RawAdsStream, want: string[]): Promise<DiscoveryResponse> {
  for (;;) {
    const r = await s.next();
    ack(s, r);
    if (JSON.stringify(names(r)) === JSON.stringify(want)) return r;
  }
}

before(async () => {
  cp = await startControlPlane({ enableFaults: true, logger: createLogger({ level: "warn", destination: serveLog.stream }) });
  await cp.register("login", "l1", 7001);
  await cp.register("search", "s1", 7002);
});

after(async () => {
  for (const s of open) s.close();
  await cp?.close();
});

describe("faults - admin API against real ADS streams", () => {
  it("faults - serve with faults enabled says so at warn", () => {
    assert.match(serveLog.text(), /"level":40,.*"msg":"fault injection is ON/);
  });

  it("faults - config-loss for a service removes it from the next LDS response; DELETE brings it back", async () => {
    const s = stream();
    s.send({ node, type_url: LISTENER_TYPE });
    const whole = await untilNames(s, ["login", "search"]);
    const created = await cp.api("POST", "/v1/faults", { kind: "config-loss", services: ["login"] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const lost = await s.next();
    assert.deepEqual(names(lost), ["search"]);
    ack(s, lost);
    const deleted = await cp.api("DELETE", `/v1/faults/${created.body.fault.id}`);
    assert.equal(deleted.status, 200);
    const back = await s.next();
    assert.deepEqual(names(back), ["login", "search"]);
    assert.equal(back.version_info, whole.version_info, "the restored LDS answer is the one from before the fault");
    assert.equal(s.buffered(), 0);
  });

  it("faults - empty-endpoints gives a subscribed service a ClusterLoadAssignment with no endpoints", async () => {
    const s = stream();
    s.send({ node, type_url: ENDPOINT_TYPE, resource_names: ["login"] });
    const first = await s.next();
    ack(s, first, ["login"]);
    assert.equal(codec.decodeResource(ENDPOINT_TYPE, first.resources[0]!.value).endpoints.length, 1);
    const created = await cp.api("POST", "/v1/faults", { kind: "empty-endpoints", services: ["login"] });
    const empty = await s.next();
    ack(s, empty, ["login"]);
    const assignment = codec.decodeResource(ENDPOINT_TYPE, empty.resources[0]!.value);
    assert.deepEqual([assignment.cluster_name, assignment.endpoints], ["login", []]);
    await cp.api("DELETE", `/v1/faults/${created.body.fault.id}`);
    assert.equal((await s.next()).version_info, first.version_info);
  });

  it("faults - stream-error NOT_FOUND ends open ADS streams and every new one with NOT_FOUND, until deleted", async () => {
    const before = stream();
    before.send({ node, type_url: LISTENER_TYPE });
    await before.next();
    const created = await cp.api("POST", "/v1/faults", { kind: "stream-error", services: [], status: "NOT_FOUND" });
    assert.equal(created.status, 201);
    assert.equal((await before.status()).code, grpc.status.NOT_FOUND);
    const fresh = stream();
    fresh.send({ node, type_url: LISTENER_TYPE });
    const status = await fresh.status();
    assert.equal(status.code, grpc.status.NOT_FOUND);
    assert.match(status.details, new RegExp(`injected fault ${created.body.fault.id}`));
    assert.equal((await cp.api("DELETE", "/v1/faults")).status, 200);
    const after = stream();
    after.send({ node, type_url: LISTENER_TYPE });
    assert.deepEqual(names(await after.next()), ["login", "search"]);
  });
});

/** The generations the guard made after generation `after`, as [status, reason] pairs, once there are `count` of them. */
async function generationsAfter(plane: TestControlPlane, after: number, count: number): Promise<Array<[string, string]>> {
  for (const end = Date.now() + 5000; ; ) {
    const generations = (await plane.api("GET", "/v1/generations")).body.generations as Array<{ id: number; status: string; reason: string }>;
    const fresh = generations.filter((g) => g.id > after).map((g): [string, string] => [g.status, g.reason]);
    if (fresh.length >= count || Date.now() > end) return fresh;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function lastGenerationId(plane: TestControlPlane): Promise<number> {
  const generations = (await plane.api("GET", "/v1/generations")).body.generations as Array<{ id: number }>;
  return generations.at(-1)?.id ?? 0;
}

describe("faults - the pipeline layer, above the push guard", () => {
  it("faults - a pipeline config-loss is held by the guard: the stream keeps every Listener; without the guard's holds it is pushed", async () => {
    const s = stream();
    s.send({ node, type_url: LISTENER_TYPE });
    await untilNames(s, ["login", "search"]);
    const before = await lastGenerationId(cp);
    // Every Listener and Cluster at once: more than the guard's default share (half).
    const created = await cp.api("POST", "/v1/faults", { kind: "config-loss", layer: "pipeline", services: ["login", "search"] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.fault.layer, "pipeline");
    const [held] = await generationsAfter(cp, before, 1);
    assert.equal(held?.[0], "held", JSON.stringify(held));
    await assert.rejects(s.next(500), "no response: the held generation never reaches the client");
    await cp.api("DELETE", "/v1/faults");

    const unguarded = await startControlPlane({ enableFaults: true, guard: { ...GUARD_DEFAULTS, enabled: false } });
    try {
      await unguarded.register("login", "l1", 7001);
      await unguarded.register("search", "s1", 7002);
      const u = openRawAds(unguarded.xds.port, codec);
      open.push(u);
      u.send({ node, type_url: LISTENER_TYPE });
      await untilNames(u, ["login", "search"]);
      await unguarded.api("POST", "/v1/faults", { kind: "config-loss", layer: "pipeline", services: ["login", "search"] });
      await untilNames(u, []);
    } finally {
      await unguarded.close();
    }
  });

  it("faults - invalid-config: on the server layer the client gets the MAGLEV Cluster; on the pipeline layer the guard rejects it and sends nothing", async () => {
    assert.equal((await cp.api("DELETE", "/v1/faults")).status, 200);
    const named = stream();
    // A named subscription's ACK repeats its names: an ACK without them would unsubscribe.
    const ackNamed = (r: DiscoveryResponse) => named.send({ type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce, resource_names: ["login"] });
    named.send({ node, type_url: CLUSTER_TYPE, resource_names: ["login"] });
    const first = await named.next();
    ackNamed(first);
    await cp.api("POST", "/v1/faults", { kind: "invalid-config", services: ["login"] });
    const bad = await named.next();
    ackNamed(bad);
    assert.equal(codec.decodeResource(CLUSTER_TYPE, bad.resources[0]!.value).lb_policy, "MAGLEV");
    await cp.api("DELETE", "/v1/faults");
    assert.equal((await named.next()).version_info, first.version_info);

    const wildcard = stream();
    wildcard.send({ node, type_url: CLUSTER_TYPE });
    ack(wildcard, await wildcard.next());
    const before = await lastGenerationId(cp);
    await cp.api("POST", "/v1/faults", { kind: "invalid-config", layer: "pipeline", services: ["login"] });
    const [rejected] = await generationsAfter(cp, before, 1);
    assert.equal(rejected?.[0], "rejected", JSON.stringify(rejected));
    assert.match(rejected?.[1] ?? "", /CDS\/login: lb_policy: MAGLEV/);
    await assert.rejects(wildcard.next(500), "a rejected generation is never sent");
    await cp.api("DELETE", "/v1/faults");
  });
});
