/**
 * A policy's cluster-level protections as xDS (issue 19): outlier detection
 * (gRFC A50), circuit breaking (A32) and ring hash (A42) on the service's
 * Cluster and every subset's, hash_policy on every route; that a policy
 * without them builds byte for byte as before; memoization; and, on the same
 * bytes, that our validators and grpc-js-xds's agree on good and bad cases.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { validateSnapshot } from "../../src/guard/validate.js";
import { CLUSTER_TYPE, RESOURCE_TYPES, ROUTE_TYPE, loadCodec, type ResourceTypeUrl } from "../../src/proto/index.js";
import type { LbPolicy, ServiceEntry, TrafficPolicy } from "../../src/registry/index.js";
import { buildSnapshot, createBuildCache, createResource, createSnapshot, type BuildCache, type Snapshot } from "../../src/snapshot/index.js";
import { entry, view, type InstanceSpec } from "../helpers/registry-view.js";
import { stockError } from "../helpers/stock-xds-validators.js";

const codec = loadCodec();

const BASE: TrafficPolicy = {
  subsets: [
    { name: "v1", match: { version: "1" } },
    { name: "v2", match: { version: "2" } },
  ],
  routes: [{ match: { headers: { "x-canary": { exact: "yes" } } }, to: [{ subset: "v2", weight: 100 }] }],
};

/** The example protections. */
const PROTECTED: TrafficPolicy = {
  ...BASE,
  outlierDetection: { consecutiveErrors: 5, intervalMs: 1000, baseEjectionMs: 30000, maxEjectionPercent: 50, failurePercentage: { threshold: 85, minimumHosts: 3, requestVolume: 20 } },
  maxRequests: 10,
  loadBalancing: { policy: "ring_hash", hashOn: { header: "x-user" }, ringSize: { min: 1024, max: 8388608 } },
};

const INSTANCES: InstanceSpec[] = [
  { id: "a", metadata: { version: "1" } },
  { id: "b", metadata: { version: "2" } },
];

function checkout(policy: TrafficPolicy | null, lbPolicy: LbPolicy = "round_robin"): ServiceEntry {
  const base = entry("checkout", INSTANCES, lbPolicy);
  return policy ? { ...base, service: { ...base.service, policy } } : base;
}

function build(entries: ServiceEntry[], cache?: BuildCache, previous?: Snapshot, revision = 1): Snapshot {
  const result = buildSnapshot(view(revision, entries), codec, cache, previous);
  assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.errors));
  return result.snapshot;
}

const body = (snapshot: Snapshot, type: ResourceTypeUrl, name: string): Uint8Array => {
  const found = snapshot.resources[type].get(name);
  assert.ok(found, `${type} ${name} missing`);
  return found.body;
};

const CLUSTERS = ["checkout", "checkout/v1", "checkout/v2"];

/** Fields a decoded OutlierDetection carries at their proto defaults. */
const OUTLIER_DEFAULTS = { monitors: [], split_external_local_origin_errors: false };

test("snapshot protection - a policy without outlierDetection, maxRequests or loadBalancing builds its Clusters byte for byte as before", () => {
  const plain = build([checkout(BASE)]);
  const protectedOff = build([checkout({ ...BASE, routes: [...BASE.routes] })]);
  for (const name of CLUSTERS) assert.deepEqual(body(protectedOff, CLUSTER_TYPE, name), body(plain, CLUSTER_TYPE, name));
  const cluster = codec.decodeResource(CLUSTER_TYPE, body(plain, CLUSTER_TYPE, "checkout")) as unknown as Record<string, unknown>;
  assert.equal(cluster["outlier_detection"], undefined);
  assert.equal(cluster["circuit_breakers"], undefined);
  assert.equal(cluster["lb_policy"], "ROUND_ROBIN");
  const routes = codec.decodeResource(ROUTE_TYPE, body(plain, ROUTE_TYPE, "checkout")).virtual_hosts[0]?.routes ?? [];
  assert.deepEqual(routes.map((r) => (r.route as unknown as Record<string, unknown[]>)["hash_policy"]), [[], []]);
});

test("snapshot protection - outlier detection, circuit breaking and ring hash on the service's Cluster and every subset's", () => {
  const snapshot = build([checkout(PROTECTED)]);
  for (const name of CLUSTERS) {
    const cluster = codec.decodeResource(CLUSTER_TYPE, body(snapshot, CLUSTER_TYPE, name));
    assert.deepEqual(cluster.outlier_detection, {
      interval: { seconds: 1, nanos: 0 },
      base_ejection_time: { seconds: 30, nanos: 0 },
      max_ejection_percent: { value: 50 },
      consecutive_5xx: { value: 5 },
      enforcing_consecutive_5xx: { value: 100 },
      enforcing_success_rate: { value: 0 },
      failure_percentage_threshold: { value: 85 },
      failure_percentage_minimum_hosts: { value: 3 },
      failure_percentage_request_volume: { value: 20 },
      enforcing_failure_percentage: { value: 100 },
      ...OUTLIER_DEFAULTS,
    }, name);
    assert.deepEqual(cluster.circuit_breakers, { thresholds: [{ priority: "DEFAULT", max_requests: { value: 10 }, track_remaining: false }], per_host_thresholds: [] }, name);
    assert.equal(cluster.lb_policy, "RING_HASH", name);
    assert.deepEqual(cluster.ring_hash_lb_config, { minimum_ring_size: { value: 1024 }, maximum_ring_size: { value: 8388608 }, hash_function: "XX_HASH" }, name);
  }
  const routes = codec.decodeResource(ROUTE_TYPE, body(snapshot, ROUTE_TYPE, "checkout")).virtual_hosts[0]?.routes ?? [];
  assert.equal(routes.length, 2);
  for (const route of routes) assert.deepEqual(route.route?.hash_policy, [{ header: { header_name: "x-user" }, terminal: false }]);
  assert.deepEqual(validateSnapshot(codec, snapshot), []);
});

test("snapshot protection - only the configured detectors enforce: failurePercentage alone leaves consecutive_5xx and success rate at 0", () => {
  const policy: TrafficPolicy = { ...BASE, outlierDetection: { failurePercentage: { threshold: 50, minimumHosts: 2, requestVolume: 10 } } };
  const cluster = codec.decodeResource(CLUSTER_TYPE, body(build([checkout(policy)]), CLUSTER_TYPE, "checkout/v1"));
  assert.deepEqual(cluster.outlier_detection, {
    enforcing_consecutive_5xx: { value: 0 },
    enforcing_success_rate: { value: 0 },
    failure_percentage_threshold: { value: 50 },
    failure_percentage_minimum_hosts: { value: 2 },
    failure_percentage_request_volume: { value: 10 },
    enforcing_failure_percentage: { value: 100 },
    ...OUTLIER_DEFAULTS,
  });
});

test("snapshot protection - the policy's loadBalancing overrides the service's lbPolicy; ring_hash without hashOn sends no hash_policy", () => {
  const roundRobin = build([checkout({ ...BASE, loadBalancing: { policy: "round_robin" } }, "ring_hash")]);
  const plainRoundRobin = build([checkout(BASE)]);
  for (const name of CLUSTERS) assert.deepEqual(body(roundRobin, CLUSTER_TYPE, name), body(plainRoundRobin, CLUSTER_TYPE, name), name);
  const ring = build([checkout({ ...BASE, loadBalancing: { policy: "ring_hash" } })]);
  const plainRing = build([checkout(BASE, "ring_hash")]);
  for (const name of CLUSTERS) assert.deepEqual(body(ring, CLUSTER_TYPE, name), body(plainRing, CLUSTER_TYPE, name), name);
  const routes = codec.decodeResource(ROUTE_TYPE, body(ring, ROUTE_TYPE, "checkout")).virtual_hosts[0]?.routes ?? [];
  assert.deepEqual(routes.map((r) => r.route?.hash_policy?.length ?? 0), [0, 0]);
});

test("snapshot protection - the Clusters are memoized on the protections: a new maxRequests re-encodes them, new routes alone do not", () => {
  const cache = createBuildCache();
  const first = build([checkout(PROTECTED)], cache, undefined, 1);
  const newRoutes = build([checkout({ ...PROTECTED, routes: [] })], cache, first, 2);
  assert.equal(newRoutes.resources[CLUSTER_TYPE].get("checkout"), first.resources[CLUSTER_TYPE].get("checkout"));
  assert.notEqual(newRoutes.resources[ROUTE_TYPE].get("checkout"), first.resources[ROUTE_TYPE].get("checkout"));
  const newLimit = build([checkout({ ...PROTECTED, maxRequests: 11 })], cache, newRoutes, 3);
  for (const name of CLUSTERS) {
    assert.notDeepEqual(body(newLimit, CLUSTER_TYPE, name), body(first, CLUSTER_TYPE, name), name);
    assert.equal(codec.decodeResource(CLUSTER_TYPE, body(newLimit, CLUSTER_TYPE, name)).circuit_breakers?.thresholds[0]?.max_requests.value, 11, name);
  }
  // Protections removed: every resource equals a build from nothing.
  const removed = build([checkout(BASE)], cache, newLimit, 4);
  const fresh = build([checkout(BASE)], undefined, undefined, 4);
  for (const type of RESOURCE_TYPES) for (const [name, resource] of fresh.resources[type]) assert.deepEqual(body(removed, type, name), resource.body, `${type} ${name}`);
});

test("snapshot protection - every resource the builder makes for the protections is accepted by grpc-js-xds, byte for byte", async () => {
  const snapshot = build([checkout(PROTECTED)]);
  for (const type of RESOURCE_TYPES) for (const [name, resource] of snapshot.resources[type]) assert.equal(await stockError(type, resource.body), undefined, `${type} ${name}`);
});

// ---- Cross-check: our validators and grpc-js-xds's, on the same bytes ------

/** Our verdict on `bytes` as resource `name` of type `type` in an otherwise valid snapshot. */
function oursAccepts(type: ResourceTypeUrl, bytes: Uint8Array): boolean {
  const snapshot = build([checkout(BASE)]);
  const maps = Object.fromEntries(RESOURCE_TYPES.map((t) => [t, new Map(snapshot.resources[t])]));
  maps[type]?.set("checkout", createResource(type, "checkout", bytes));
  return validateSnapshot(codec, createSnapshot(2, maps)).length === 0;
}

function clusterBytes(extra: object): Uint8Array {
  return codec.encodeResource(CLUSTER_TYPE, {
    name: "checkout",
    type: "EDS",
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: "V3" }, service_name: "checkout" },
    lb_policy: "ROUND_ROBIN",
    ...extra,
  } as never);
}

const OFF = { value: 0 };
const outlier = (fields: object) => ({ outlier_detection: { enforcing_success_rate: OFF, enforcing_consecutive_5xx: OFF, enforcing_failure_percentage: OFF, ...fields } });

const CLUSTER_CORPUS: readonly { name: string; cluster: object; valid: boolean }[] = [
  { name: "outlier detection, every field steadymesh sends", cluster: outlier({ interval: { seconds: 1 }, base_ejection_time: { nanos: 500_000_000 }, max_ejection_percent: { value: 100 }, consecutive_5xx: { value: 5 }, enforcing_consecutive_5xx: { value: 100 }, failure_percentage_threshold: { value: 0 }, failure_percentage_minimum_hosts: { value: 3 }, failure_percentage_request_volume: { value: 20 }, enforcing_failure_percentage: { value: 100 } }), valid: true },
  { name: "an empty outlier detection", cluster: { outlier_detection: {} }, valid: true },
  { name: "max_ejection_percent 101", cluster: outlier({ max_ejection_percent: { value: 101 } }), valid: false },
  { name: "failure_percentage_threshold 101", cluster: outlier({ failure_percentage_threshold: { value: 101 } }), valid: false },
  { name: "enforcing_failure_percentage 101", cluster: outlier({ enforcing_failure_percentage: { value: 101 } }), valid: false },
  { name: "enforcing_success_rate 101", cluster: outlier({ enforcing_success_rate: { value: 101 } }), valid: false },
  { name: "a negative interval", cluster: outlier({ interval: { seconds: -1 } }), valid: false },
  { name: "a negative base_ejection_time", cluster: outlier({ base_ejection_time: { seconds: 0, nanos: -1 } }), valid: false },
  { name: "a max_ejection_time beyond Duration's range", cluster: outlier({ max_ejection_time: { seconds: 315_576_000_001 } }), valid: false },
  { name: "consecutive_5xx and enforcing_consecutive_5xx above 100 (not read by gRPC clients)", cluster: outlier({ consecutive_5xx: { value: 100_000 }, enforcing_consecutive_5xx: { value: 1000 } }), valid: true },
  { name: "a DEFAULT circuit breaker", cluster: { circuit_breakers: { thresholds: [{ priority: "DEFAULT", max_requests: { value: 10 } }] } }, valid: true },
  { name: "a HIGH circuit breaker, and one with max_requests 0", cluster: { circuit_breakers: { thresholds: [{ priority: "HIGH", max_requests: { value: 1 } }, { priority: "DEFAULT", max_requests: { value: 0 } }] } }, valid: true },
  { name: "ring hash with both ring sizes", cluster: { lb_policy: "RING_HASH", ring_hash_lb_config: { hash_function: "XX_HASH", minimum_ring_size: { value: 1 }, maximum_ring_size: { value: 8_388_608 } } }, valid: true },
  { name: "ring hash without ring_hash_lb_config", cluster: { lb_policy: "RING_HASH" }, valid: true },
  { name: "ring hash with MURMUR_HASH_2", cluster: { lb_policy: "RING_HASH", ring_hash_lb_config: { hash_function: "MURMUR_HASH_2" } }, valid: false },
  { name: "ring hash with minimum_ring_size 8388609", cluster: { lb_policy: "RING_HASH", ring_hash_lb_config: { hash_function: "XX_HASH", minimum_ring_size: { value: 8_388_609 } } }, valid: false },
  { name: "ring hash with maximum_ring_size 8388609", cluster: { lb_policy: "RING_HASH", ring_hash_lb_config: { hash_function: "XX_HASH", maximum_ring_size: { value: 8_388_609 } } }, valid: false },
  { name: "lb_policy LEAST_REQUEST", cluster: { lb_policy: "LEAST_REQUEST" }, valid: false },
];

for (const item of CLUSTER_CORPUS) {
  test(`snapshot protection - CDS corpus: ${item.name} is ${item.valid ? "accepted" : "rejected"} by both our validator and grpc-js-xds's`, async () => {
    const bytes = clusterBytes(item.cluster);
    assert.equal((await stockError(CLUSTER_TYPE, bytes)) === undefined, item.valid, "grpc-js-xds");
    assert.equal(oursAccepts(CLUSTER_TYPE, bytes), item.valid, "ours");
  });
}

test("snapshot protection - CDS: minimum_ring_size above maximum_ring_size passes grpc-js-xds but not the guard (Envoy rejects it)", async () => {
  const bytes = clusterBytes({ lb_policy: "RING_HASH", ring_hash_lb_config: { hash_function: "XX_HASH", minimum_ring_size: { value: 2048 }, maximum_ring_size: { value: 1024 } } });
  assert.equal(await stockError(CLUSTER_TYPE, bytes), undefined);
  assert.equal(oursAccepts(CLUSTER_TYPE, bytes), false);
});

/** A RouteConfiguration `checkout` with one catch-all route to the service's Cluster, with `hashPolicy`. */
function routeBytes(hashPolicy: object[]): Uint8Array {
  return codec.encodeResource(ROUTE_TYPE, {
    name: "checkout",
    virtual_hosts: [{ name: "checkout", domains: ["*"], routes: [{ match: { prefix: "" }, route: { cluster: "checkout", hash_policy: hashPolicy as never } }] }],
  });
}

const ROUTE_CORPUS: readonly { name: string; hashPolicy: object[]; valid: boolean }[] = [
  { name: "a header hash policy", hashPolicy: [{ header: { header_name: "x-user" } }], valid: true },
  { name: "a header and a channel id hash policy, terminal", hashPolicy: [{ header: { header_name: "x-user" }, terminal: true }, { filter_state: { key: "io.grpc.channel_id" } }], valid: true },
  { name: "a cookie hash policy (ignored by gRPC clients)", hashPolicy: [{ cookie: { name: "c" } }], valid: true },
  { name: "a header hash policy with a regex_rewrite", hashPolicy: [{ header: { header_name: "x-user", regex_rewrite: { pattern: { google_re2: {}, regex: "^(\\w+)-.*$" }, substitution: "\\1" } } }], valid: true },
];

for (const item of ROUTE_CORPUS) {
  test(`snapshot protection - RDS corpus: ${item.name} is ${item.valid ? "accepted" : "rejected"} by both our validator and grpc-js-xds's`, async () => {
    const bytes = routeBytes(item.hashPolicy);
    assert.equal((await stockError(ROUTE_TYPE, bytes)) === undefined, item.valid, "grpc-js-xds");
    assert.equal(oursAccepts(ROUTE_TYPE, bytes), item.valid, "ours");
  });
}

test("snapshot protection - RDS: a regex_rewrite RE2 cannot compile passes grpc-js-xds's validator, so the guard rejects it (the client's resolver throws on it)", async () => {
  const bytes = routeBytes([{ header: { header_name: "x-user", regex_rewrite: { pattern: { google_re2: {}, regex: "(" }, substitution: "a" } } }]);
  assert.equal(await stockError(ROUTE_TYPE, bytes), undefined);
  assert.equal(oursAccepts(ROUTE_TYPE, bytes), false);
});
