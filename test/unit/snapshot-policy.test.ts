/**
 * Traffic policies as xDS (issue 18): the builder's subset Clusters and
 * ClusterLoadAssignments, the policy's RouteConfiguration and the Listener's
 * fault filter; that a service without a policy builds exactly as before;
 * memoization and incremental builds; and, on the same bytes, that our
 * validators and grpc-js-xds's own agree on good and bad policy resources.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { validateSnapshot } from "../../src/guard/validate.js";
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  HTTP_CONNECTION_MANAGER_TYPE_NAME,
  HTTP_FAULT_TYPE_NAME,
  LISTENER_TYPE,
  RESOURCE_TYPES,
  ROUTE_TYPE,
  loadCodec,
  type ResourceTypeUrl,
} from "../../src/proto/index.js";
import type { ServiceEntry, TrafficPolicy } from "../../src/registry/index.js";
import { buildSnapshot, createBuildCache, createResource, createSnapshot, type BuildCache, type Snapshot } from "../../src/snapshot/index.js";
import { decodeResource } from "../../src/client/xds-resources.js";
import { blackHoles, describeRoute } from "../../src/snapshot/policy-resources.js";
import { entry, view, type InstanceSpec } from "../helpers/registry-view.js";
import { stockAccepts } from "../helpers/stock-xds-validators.js";

const codec = loadCodec();

/** The example policy. */
const POLICY: TrafficPolicy = {
  subsets: [
    { name: "v1", match: { version: "1" } },
    { name: "v2", match: { version: "2" } },
  ],
  routes: [
    { match: { headers: { "x-canary": { exact: "yes" } } }, to: [{ subset: "v2", weight: 100 }] },
    {
      match: { method: "/shop.Checkout/Pay" },
      timeoutMs: 2000,
      retry: { on: ["unavailable", "resource-exhausted"], attempts: 3, backoff: { baseMs: 25, maxMs: 250 } },
      to: [{ subset: "v1", weight: 95 }, { subset: "v2", weight: 5 }],
      fault: { delay: { ms: 200, percent: 10 }, abort: { code: "UNAVAILABLE", percent: 1 } },
    },
  ],
};

const INSTANCES: InstanceSpec[] = [
  { id: "a", metadata: { version: "1" } },
  { id: "b", metadata: { version: "1" } },
  { id: "c", metadata: { version: "2" } },
  { id: "d", metadata: { version: "2" }, health: "unhealthy" },
];

function checkout(policy: TrafficPolicy | null = POLICY, specs: InstanceSpec[] = INSTANCES): ServiceEntry {
  const base = entry("checkout", specs);
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

test("snapshot policy - a service without a policy builds byte for byte as before, with no subset resources", () => {
  const without = build([checkout(null), entry("login", [{ id: "x" }])]);
  for (const type of RESOURCE_TYPES) assert.deepEqual([...without.resources[type].keys()], ["checkout", "login"]);
  // The same entry built alongside a service with a policy: its bytes do not change.
  const mixed = build([checkout(), entry("login", [{ id: "x" }])]);
  for (const type of RESOURCE_TYPES) assert.deepEqual(body(mixed, type, "login"), body(without, type, "login"));
  assert.deepEqual(body(mixed, CLUSTER_TYPE, "checkout"), body(without, CLUSTER_TYPE, "checkout"));
  assert.deepEqual(body(mixed, ENDPOINT_TYPE, "checkout"), body(without, ENDPOINT_TYPE, "checkout"));
  const route = codec.decodeResource(ROUTE_TYPE, body(without, ROUTE_TYPE, "checkout"));
  assert.deepEqual(route.virtual_hosts[0]?.routes.map((r) => r.route?.cluster), ["checkout"]);
});

test("snapshot policy - each subset gets a Cluster and a ClusterLoadAssignment with only its sendable instances", () => {
  const snapshot = build([checkout()]);
  assert.deepEqual([...snapshot.resources[CLUSTER_TYPE].keys()], ["checkout", "checkout/v1", "checkout/v2"]);
  assert.deepEqual([...snapshot.resources[ENDPOINT_TYPE].keys()], ["checkout", "checkout/v1", "checkout/v2"]);
  const cluster = codec.decodeResource(CLUSTER_TYPE, body(snapshot, CLUSTER_TYPE, "checkout/v2"));
  assert.equal(cluster.type, "EDS");
  assert.equal(cluster.eds_cluster_config?.service_name, "checkout/v2");
  const addresses = (name: string) =>
    codec.decodeResource(ENDPOINT_TYPE, body(snapshot, ENDPOINT_TYPE, name)).endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint?.address?.socket_address?.address));
  assert.deepEqual(addresses("checkout/v1"), ["10.0.0.1", "10.0.0.2"]);
  // d is unhealthy: EDS leaves it out, as for the service's own assignment.
  assert.deepEqual(addresses("checkout/v2"), ["10.0.0.3"]);
  assert.deepEqual(addresses("checkout"), ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
});

test("snapshot policy - routes map to matchers, weighted clusters, max_stream_duration, retry_policy and fault overrides, then the catch-all", () => {
  const snapshot = build([checkout()]);
  const config = codec.decodeResource(ROUTE_TYPE, body(snapshot, ROUTE_TYPE, "checkout"));
  const routes = config.virtual_hosts[0]?.routes ?? [];
  assert.equal(routes.length, 3);
  const [canary, pay, rest] = routes;
  assert.equal(canary?.match?.prefix, "");
  assert.deepEqual(canary?.match?.headers?.map((h) => [h.name, h.exact_match]), [["x-canary", "yes"]]);
  assert.equal(canary?.route?.cluster, "checkout/v2");
  assert.equal(pay?.match?.path, "/shop.Checkout/Pay");
  assert.deepEqual(pay?.route?.weighted_clusters?.clusters.map((c) => [c.name, c.weight.value]), [["checkout/v1", 95], ["checkout/v2", 5]]);
  assert.equal(pay?.route?.max_stream_duration?.max_stream_duration.seconds, 2);
  assert.equal(pay?.route?.retry_policy?.retry_on, "unavailable,resource-exhausted");
  assert.equal(pay?.route?.retry_policy?.num_retries.value, 2);
  assert.equal(pay?.route?.retry_policy?.retry_back_off?.base_interval.nanos, 25_000_000);
  const fault = codec.unpackAny(HTTP_FAULT_TYPE_NAME, pay?.typed_per_filter_config?.["envoy.filters.http.fault"] ?? { type_url: "", value: new Uint8Array() });
  assert.equal(fault.delay?.fixed_delay.nanos, 200_000_000);
  assert.deepEqual(fault.delay?.percentage, { numerator: 100_000, denominator: "MILLION" });
  assert.equal(fault.abort?.grpc_status, 14);
  assert.deepEqual(fault.abort?.percentage, { numerator: 10_000, denominator: "MILLION" });
  assert.deepEqual([rest?.match?.prefix, rest?.route?.cluster], ["", "checkout"]);
  // The Listener lists the fault filter before the router.
  const listener = codec.decodeResource(LISTENER_TYPE, body(snapshot, LISTENER_TYPE, "checkout"));
  const hcm = codec.unpackAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, listener.api_listener?.api_listener ?? { type_url: "", value: new Uint8Array() });
  assert.deepEqual(hcm.http_filters.map((f) => f.name), ["envoy.filters.http.fault", "envoy.filters.http.router"]);
  assert.deepEqual(validateSnapshot(codec, snapshot), []);
});

test("snapshot policy - a weight-0 target is left out; one target left is a plain cluster", () => {
  const policy: TrafficPolicy = { subsets: POLICY.subsets, routes: [{ match: { prefix: "/shop." }, to: [{ subset: "v1", weight: 0 }, { subset: "v2", weight: 100 }] }] };
  const snapshot = build([checkout(policy)]);
  const route = codec.decodeResource(ROUTE_TYPE, body(snapshot, ROUTE_TYPE, "checkout")).virtual_hosts[0]?.routes[0];
  assert.equal(route?.route?.cluster, "checkout/v2");
  assert.equal(route?.match?.prefix, "/shop.");
  // No fault anywhere: the Listener is the plain one.
  assert.deepEqual(body(snapshot, LISTENER_TYPE, "checkout"), body(build([checkout(null)]), LISTENER_TYPE, "checkout"));
});

test("snapshot policy - memoized on the policy object and the instances; an incremental build drops the subsets of a removed policy", () => {
  const cache = createBuildCache();
  const first = build([checkout()], cache, undefined, 1);
  // New instances, same policy object: the Route and subset Clusters are the same objects, the v2 CLA is new.
  const more = build([checkout(POLICY, [...INSTANCES, { id: "e", metadata: { version: "2" } }])], cache, first, 2);
  assert.equal(more.resources[ROUTE_TYPE].get("checkout"), first.resources[ROUTE_TYPE].get("checkout"));
  assert.equal(more.resources[CLUSTER_TYPE].get("checkout/v2"), first.resources[CLUSTER_TYPE].get("checkout/v2"));
  assert.notEqual(more.resources[ENDPOINT_TYPE].get("checkout/v2")?.version, first.resources[ENDPOINT_TYPE].get("checkout/v2")?.version);
  assert.equal(more.resources[ENDPOINT_TYPE].get("checkout/v1"), first.resources[ENDPOINT_TYPE].get("checkout/v1"), "an unchanged subset keeps its CLA object");
  // An equal policy in a new object is encoded again, to the same bytes.
  const copy = build([checkout(structuredClone(POLICY) as TrafficPolicy, [...INSTANCES, { id: "e", metadata: { version: "2" } }])], cache, more, 3);
  assert.equal(copy.resources[ROUTE_TYPE].get("checkout")?.version, more.resources[ROUTE_TYPE].get("checkout")?.version);
  // Policy removed: the subset resources go, and the result equals a build from nothing.
  const removed = build([checkout(null)], cache, copy, 4);
  const fresh = build([checkout(null)], undefined, undefined, 4);
  for (const type of RESOURCE_TYPES) assert.deepEqual([...removed.resources[type].keys()], [...fresh.resources[type].keys()]);
  assert.equal(removed.version, fresh.version);
});

test("snapshot policy - a failing policy service keeps its previous subset resources", () => {
  const first = build([checkout()]);
  // Bad instance port: the service fails its checks and falls back to what `first` had of it, subsets included.
  const broken = buildSnapshot(view(2, [checkout(POLICY, [...INSTANCES, { id: "z", port: 0, metadata: { version: "1" } }])]), codec, undefined, first);
  assert.equal(broken.ok, false);
  for (const type of RESOURCE_TYPES) assert.deepEqual([...broken.snapshot.resources[type].keys()], [...first.resources[type].keys()]);
});

test("snapshot policy - blackHoles lists routes that weight a subset with no sendable instance", () => {
  const onlyV1: InstanceSpec[] = [{ id: "a", metadata: { version: "1" } }, { id: "d", metadata: { version: "2" }, health: "unhealthy" }];
  assert.deepEqual(blackHoles("checkout", checkout(POLICY, onlyV1)), [{ route: 0, subset: "v2" }, { route: 1, subset: "v2" }]);
  assert.deepEqual(blackHoles("checkout", checkout()), []);
  assert.deepEqual(blackHoles("checkout", checkout(null, onlyV1)), []);
  assert.equal(describeRoute(1, POLICY.routes[1]!), "route 1 (method /shop.Checkout/Pay)");
});

// ---- Cross-check: our validators and grpc-js-xds's, on the same bytes ------

const fault = (message: object) => codec.packAny(HTTP_FAULT_TYPE_NAME, message as never);
const FAULT_FILTER = "envoy.filters.http.fault";
const MILLION = (numerator: number) => ({ numerator, denominator: "MILLION" });

/** A RouteConfiguration `checkout` whose first route is `route`, then the catch-all. */
function routeBytes(route: object): Uint8Array {
  return codec.encodeResource(ROUTE_TYPE, {
    name: "checkout",
    virtual_hosts: [{ name: "checkout", domains: ["*"], routes: [route as never, { match: { prefix: "" }, route: { cluster: "checkout" } }] }],
  });
}

const weighted = (clusters: [string, number][]) => ({ weighted_clusters: { clusters: clusters.map(([name, value]) => ({ name, weight: { value } })) } });
const route = (action: object, extra: object = {}) => ({ match: { prefix: "" }, route: { cluster: "checkout/v1", ...action }, ...extra });

const ROUTE_CORPUS: readonly { name: string; route: object; valid: boolean }[] = [
  { name: "weighted clusters", route: { match: { path: "/a.B/C" }, route: weighted([["checkout/v1", 95], ["checkout/v2", 5]]) }, valid: true },
  { name: "weights adding up to 0", route: { match: { prefix: "" }, route: weighted([["checkout/v1", 0], ["checkout/v2", 0]]) }, valid: false },
  { name: "header matchers", route: { match: { prefix: "", headers: [{ name: "x-a", exact_match: "y", invert_match: true }, { name: "x-b", present_match: true }, { name: "x-c", safe_regex_match: { google_re2: {}, regex: "v[0-9]+" } }] }, route: { cluster: "checkout/v1" } }, valid: true },
  { name: "a contains_match header", route: { match: { prefix: "", headers: [{ name: "x-a", contains_match: "y" }] }, route: { cluster: "checkout/v1" } }, valid: false },
  { name: "max_stream_duration and a retry policy", route: route({ max_stream_duration: { max_stream_duration: { seconds: 2 } }, retry_policy: { retry_on: "unavailable", num_retries: { value: 2 }, retry_back_off: { base_interval: { nanos: 25_000_000 }, max_interval: { nanos: 250_000_000 } } } }), valid: true },
  { name: "a retry back-off without base_interval", route: route({ retry_policy: { retry_on: "unavailable", num_retries: { value: 2 }, retry_back_off: { max_interval: { seconds: 1 } } } }), valid: false },
  { name: "a retry back-off whose max is under its base", route: route({ retry_policy: { retry_on: "unavailable", num_retries: { value: 2 }, retry_back_off: { base_interval: { seconds: 1 }, max_interval: { nanos: 1_000_000 } } } }), valid: false },
  { name: "num_retries 0", route: route({ retry_policy: { retry_on: "unavailable", num_retries: { value: 0 } } }), valid: false },
  { name: "a fault override", route: route({}, { typed_per_filter_config: { [FAULT_FILTER]: fault({ delay: { fixed_delay: { seconds: 1 }, percentage: MILLION(10) }, abort: { grpc_status: 14, percentage: MILLION(1) } }) } }), valid: true },
  { name: "a fault delay without percentage", route: route({}, { typed_per_filter_config: { [FAULT_FILTER]: fault({ delay: { fixed_delay: { seconds: 1 } } }) } }), valid: false },
  { name: "a fault abort without percentage", route: route({}, { typed_per_filter_config: { [FAULT_FILTER]: fault({ abort: { grpc_status: 14 } }) } }), valid: false },
  { name: "a fault abort without an error type", route: route({}, { typed_per_filter_config: { [FAULT_FILTER]: fault({ abort: { percentage: MILLION(1) } }) } }), valid: false },
  { name: "an http_status abort", route: route({}, { typed_per_filter_config: { [FAULT_FILTER]: fault({ abort: { http_status: 503, percentage: MILLION(1) } }) } }), valid: true },
];

/** Our verdict on `bytes` as the Route of an otherwise valid snapshot with subsets v1 and v2. */
function oursAccepts(type: ResourceTypeUrl, bytes: Uint8Array): boolean {
  const snapshot = build([checkout()]);
  const maps = Object.fromEntries(RESOURCE_TYPES.map((t) => [t, new Map(snapshot.resources[t])]));
  maps[type]?.set("checkout", createResource(type, "checkout", bytes));
  return validateSnapshot(codec, createSnapshot(2, maps)).length === 0;
}

for (const item of ROUTE_CORPUS) {
  test(`snapshot policy - RDS corpus: ${item.name} is ${item.valid ? "accepted" : "rejected"} by both our validator and grpc-js-xds's`, async () => {
    const bytes = routeBytes(item.route);
    assert.equal(await stockAccepts(ROUTE_TYPE, bytes), item.valid, "grpc-js-xds");
    assert.equal(oursAccepts(ROUTE_TYPE, bytes), item.valid, "ours");
  });
}

test("snapshot policy - every resource the builder makes for a policy is accepted by grpc-js-xds, byte for byte", async () => {
  const snapshot = build([checkout()]);
  for (const type of RESOURCE_TYPES) for (const [name, resource] of snapshot.resources[type]) assert.ok(await stockAccepts(type, resource.body), `${type} ${name}`);
});

test("snapshot policy - LDS corpus: the fault filter's top-level config, checked alike", async () => {
  const listenerWith = (config: object) =>
    codec.encodeResource(LISTENER_TYPE, {
      name: "checkout",
      api_listener: {
        api_listener: codec.packAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, {
          stat_prefix: "checkout",
          rds: { config_source: { ads: {}, resource_api_version: "V3" }, route_config_name: "checkout" },
          http_filters: [{ name: FAULT_FILTER, typed_config: fault(config) }, { name: "envoy.filters.http.router", typed_config: codec.packAny("envoy.extensions.filters.http.router.v3.Router", {}) }],
        }),
      },
    });
  for (const [config, valid] of [[{}, true], [{ delay: { fixed_delay: { seconds: 1 }, percentage: MILLION(5) } }, true], [{ delay: { fixed_delay: { seconds: 1 } } }, false]] as const) {
    const bytes = listenerWith(config);
    assert.equal(await stockAccepts(LISTENER_TYPE, bytes), valid, `grpc-js-xds on ${JSON.stringify(config)}`);
    assert.equal(oursAccepts(LISTENER_TYPE, bytes), valid, `ours on ${JSON.stringify(config)}`);
  }
});

test("snapshot policy - the steady: resolver reads a policy's Route as its catch-all, not a header route's subset", () => {
  const snapshot = build([checkout()]);
  const route = decodeResource(codec, ROUTE_TYPE, body(snapshot, ROUTE_TYPE, "checkout"));
  assert.ok(route.ok && route.model.kind === "route");
  assert.deepEqual([...route.model.clusters], [["*", "checkout"]]);
  for (const type of RESOURCE_TYPES) for (const [name, resource] of snapshot.resources[type]) assert.ok(decodeResource(codec, type, resource.body).ok, `${type} ${name}`);
  // A policy whose first route takes every call to one subset: the resolver follows it.
  const all: TrafficPolicy = { subsets: POLICY.subsets, routes: [{ match: {}, to: [{ subset: "v2", weight: 100 }] }] };
  const allV2 = decodeResource(codec, ROUTE_TYPE, body(build([checkout(all)]), ROUTE_TYPE, "checkout"));
  assert.ok(allV2.ok && allV2.model.kind === "route");
  assert.deepEqual([...allV2.model.clusters], [["*", "checkout/v2"]]);
  // A split of every call: the resolver stays with the largest share (a canary's 5 % goes to stock xDS clients only).
  for (const [v1, v2, expected] of [[95, 5, "checkout/v1"], [5, 95, "checkout/v2"], [50, 50, "checkout/v1"]] as const) {
    const split: TrafficPolicy = { subsets: POLICY.subsets, routes: [{ match: { prefix: "/" }, to: [{ subset: "v1", weight: v1 }, { subset: "v2", weight: v2 }] }] };
    const decoded = decodeResource(codec, ROUTE_TYPE, body(build([checkout(split)]), ROUTE_TYPE, "checkout"));
    assert.ok(decoded.ok && decoded.model.kind === "route");
    assert.deepEqual([...decoded.model.clusters], [["*", expected]], `${v1}/${v2}`);
  }
});
