import assert from "node:assert/strict";
import { test } from "node:test";
import { createFakeClock } from "../helpers/fake-clock.js";
import { createLimitedLog, createLogRateLimiter, createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, type DeltaDiscoveryRequest, type DiscoveryRequest } from "../../src/proto/index.js";
import { createSnapshotCache, XDS_LIMITS, type XdsLimits } from "../../src/xds/index.js";
import { DeltaStream } from "../../src/xds/delta-stream.js";
import { SotwStream } from "../../src/xds/sotw-stream.js";

const SMALL: XdsLimits = { ...XDS_LIMITS, maxTypeUrlChars: 80, maxVersionChars: 8, maxResourceNameChars: 10, maxSubscribedNames: 5, maxSubscribedNameChars: 30, maxUnknownTypes: 2, maxErrorDetailChars: 20 };

function harness(limits: XdsLimits = SMALL) {
  const sent: Uint8Array[] = [];
  let ended: { code: number; details: string } | undefined;
  const metrics = createMetrics({ processMetrics: false });
  const clock = createFakeClock();
  const deps = {
    id: "s1",
    watcher: createSnapshotCache(), // no snapshot: known types get no answer, which these tests do not need
    transport: { peer: "test", send: (b: Uint8Array) => void sent.push(b), end: (code: number, details: string) => void (ended ??= { code, details }) },
    wire: { sotw: () => new Uint8Array([1]), delta: () => new Uint8Array([2]), counts: () => ({ sotwEntries: 0, deltaEntries: 0, sotwBlocks: 0 }) },
    logger: createSilentLogger(),
    warn: createLimitedLog(createSilentLogger(), createLogRateLimiter({ now: clock.now })),
    metrics,
    now: clock.now,
    limits,
  };
  return { deps, sent, ended: () => ended, limited: async () => (await metrics.xdsStreamsLimited.get()).values.map((v) => [v.labels.limit, v.value]) };
}

function sotw(request: Partial<DiscoveryRequest>): DiscoveryRequest {
  return { version_info: "", resource_names: [], type_url: "", response_nonce: "", ...request } as DiscoveryRequest;
}

function delta(request: Partial<DeltaDiscoveryRequest>): DeltaDiscoveryRequest {
  return { type_url: "", resource_names_subscribe: [], resource_names_unsubscribe: [], resource_locators_subscribe: [], resource_locators_unsubscribe: [], initial_resource_versions: {}, response_nonce: "", ...request } as DeltaDiscoveryRequest;
}

test("xds limits - the defaults are generous: thousands of EDS names and xdstp:// names fit", () => {
  assert.ok(XDS_LIMITS.maxSubscribedNames >= 100_000);
  assert.ok(XDS_LIMITS.maxResourceNameChars >= 1024);
  assert.ok(XDS_LIMITS.maxTypeUrlChars >= 256);
  assert.equal(XDS_LIMITS.maxRequestBytes, 4 * 1024 * 1024);
});

test("xds limits - SotW header fields past their limit end the stream with INVALID_ARGUMENT, naming the field and the limit", async () => {
  const cases: Array<[Partial<DiscoveryRequest>, string]> = [
    [{ type_url: `type.googleapis.com/${"x".repeat(61)}` }, "type_url: must be at most 80 characters, got 81"],
    [{ type_url: CLUSTER_TYPE, version_info: "123456789" }, "version_info: must be at most 8 characters, got 9"],
    [{ type_url: CLUSTER_TYPE, response_nonce: "123456789" }, "response_nonce: must be at most 8 characters, got 9"],
    [{ type_url: CLUSTER_TYPE, resource_names: ["a", "b".repeat(11)] }, "resource_names[1]: must be at most 10 characters, got 11"],
  ];
  for (const [request, message] of cases) {
    const h = harness();
    const stream = new SotwStream(h.deps);
    stream.onRequest(sotw(request));
    assert.deepEqual(h.ended(), { code: 3, details: message });
    assert.deepEqual(stream.status().types, {}, "nothing half-applied");
  }
});

test("xds limits - SotW names count across types; replacing a type's names frees what they took", async () => {
  const h = harness();
  const stream = new SotwStream(h.deps);
  stream.onRequest(sotw({ type_url: CLUSTER_TYPE, resource_names: ["a", "b", "c"] }));
  stream.onRequest(sotw({ type_url: CLUSTER_TYPE, resource_names: ["d", "e", "f"] })); // a reconnect-style request: replaces
  stream.onRequest(sotw({ type_url: ENDPOINT_TYPE, resource_names: ["d", "e"] }));
  assert.equal(h.ended(), undefined);
  stream.onRequest(sotw({ type_url: ENDPOINT_TYPE, resource_names: ["d", "e", "f"] }));
  assert.deepEqual(h.ended(), { code: 8, details: "resource_names: this stream would subscribe 6 resource names (all types together); at most 5" });
  assert.deepEqual(stream.status().types.EDS?.subscribed, ["d", "e"], "the refused request changed nothing");
  assert.deepEqual(await h.limited(), [["maxSubscribedNames", 1]]);
});

test("xds limits - SotW: more names in one request than the limit, or too many characters, is RESOURCE_EXHAUSTED", () => {
  const many = harness();
  new SotwStream(many.deps).onRequest(sotw({ type_url: CLUSTER_TYPE, resource_names: ["1", "2", "3", "4", "5", "6"] }));
  assert.deepEqual(many.ended(), { code: 8, details: "resource_names: at most 5 resource names per request, got 6" });
  const long = harness();
  new SotwStream(long.deps).onRequest(sotw({ type_url: CLUSTER_TYPE, resource_names: ["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc", "d"] }));
  assert.deepEqual(long.ended(), { code: 8, details: "resource_names: this stream's subscribed resource names would hold 31 characters (all types together); at most 30" });
});

test("xds limits - distinct unknown type URLs per stream: the same one again is fine, one past the limit ends the stream", () => {
  const h = harness();
  const stream = new SotwStream(h.deps);
  for (const t of ["type.googleapis.com/x.A", "type.googleapis.com/x.B", "type.googleapis.com/x.A"]) stream.onRequest(sotw({ type_url: t }));
  assert.equal(h.sent.length, 3, "each answered with an empty response");
  assert.equal(h.ended(), undefined);
  stream.onRequest(sotw({ type_url: "type.googleapis.com/x.C" }));
  assert.deepEqual(h.ended(), { code: 8, details: "type_url: at most 2 distinct type URLs this server does not serve per stream; this request would make 3" });
  assert.equal(h.sent.length, 3);
});

test("xds limits - a NACK's error_detail is kept cut to maxErrorDetailChars with a marker", () => {
  const h = harness();
  const stream = new SotwStream(h.deps);
  stream.onRequest(sotw({ type_url: "type.googleapis.com/x.A" }));
  stream.onRequest(sotw({ type_url: "type.googleapis.com/x.A", response_nonce: "1", error_detail: { code: 3, message: "e".repeat(1000), details: [] } }));
  assert.deepEqual(stream.status().types["type.googleapis.com/x.A"]?.lastNack?.errorDetail, { code: 3, message: `${"e".repeat(20)}…[+980 chars]` });
});

test("xds limits - Delta subscriptions accumulate against the budget; unsubscribing frees it; initial_resource_versions counts", () => {
  const h = harness();
  const stream = new DeltaStream(h.deps);
  stream.onRequest(delta({ type_url: CLUSTER_TYPE, resource_names_subscribe: ["a", "b", "c"] }));
  stream.onRequest(delta({ type_url: CLUSTER_TYPE, resource_names_subscribe: ["d", "a"], resource_names_unsubscribe: ["b", "c", "d"] }));
  stream.onRequest(delta({ type_url: ENDPOINT_TYPE, resource_names_subscribe: ["x", "y"], initial_resource_versions: { x: "1", z: "1" } }));
  assert.equal(h.ended(), undefined, "1 CDS name + 2 EDS names + 2 seeded versions = 5");
  assert.deepEqual(stream.status().types.CDS?.subscribed, ["a"]);
  stream.onRequest(delta({ type_url: CLUSTER_TYPE, resource_names_subscribe: ["b"] }));
  assert.deepEqual(h.ended(), { code: 8, details: "resource_names_subscribe: this stream would subscribe 6 resource names (all types together); at most 5" });
  assert.deepEqual(stream.status().types.CDS?.subscribed, ["a"], "the refused request changed nothing");
  const seeded = harness();
  new DeltaStream(seeded.deps).onRequest(delta({ type_url: CLUSTER_TYPE, resource_names_subscribe: ["a", "b", "c"], initial_resource_versions: { x: "1", y: "1", z: "1" } }));
  assert.deepEqual(seeded.ended(), { code: 8, details: "resource_names_subscribe and initial_resource_versions: this stream would subscribe 6 resource names (all types together); at most 5" });
});

test("xds limits - Delta: long names anywhere, and long initial versions, end the stream with INVALID_ARGUMENT", () => {
  const cases: Array<[Partial<DeltaDiscoveryRequest>, string]> = [
    [{ type_url: CLUSTER_TYPE, resource_names_subscribe: ["b".repeat(11)] }, "resource_names_subscribe[0]: must be at most 10 characters, got 11"],
    [{ type_url: CLUSTER_TYPE, resource_names_unsubscribe: ["b".repeat(11)] }, "resource_names_unsubscribe[0]: must be at most 10 characters, got 11"],
    [{ type_url: CLUSTER_TYPE, initial_resource_versions: { ["k".repeat(11)]: "1" } }, "initial_resource_versions[0]: must be at most 10 characters, got 11"],
    [{ type_url: CLUSTER_TYPE, initial_resource_versions: { k: "123456789" } }, 'initial_resource_versions["k"]: must be at most 8 characters, got 9'],
  ];
  for (const [request, message] of cases) {
    const h = harness();
    const stream = new DeltaStream(h.deps);
    stream.onRequest(delta(request));
    assert.deepEqual(h.ended(), { code: 3, details: message });
    assert.deepEqual(stream.status().types, {});
  }
});

test("xds limits - status lists the first names in order and counts them all", () => {
  const h = harness(XDS_LIMITS);
  const stream = new SotwStream(h.deps);
  const names = Array.from({ length: 5000 }, (_, i) => `svc-${String(4999 - i).padStart(4, "0")}`);
  stream.onRequest(sotw({ type_url: ENDPOINT_TYPE, resource_names: names }));
  const eds = stream.status().types.EDS!;
  assert.equal(eds.subscribedCount, 5000);
  assert.equal(eds.subscribed.length, 100);
  assert.deepEqual(eds.subscribed.slice(0, 3), ["svc-0000", "svc-0001", "svc-0002"]);
  assert.equal(eds.subscribed[99], "svc-0099");
});
