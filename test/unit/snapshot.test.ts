import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { isIP } from "node:net";
import { test } from "node:test";
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  HTTP_CONNECTION_MANAGER_TYPE_NAME,
  LISTENER_TYPE,
  RESOURCE_TYPES,
  ROUTE_TYPE,
  ROUTER_TYPE_NAME,
  loadCodec,
  type Codec,
  type ResourceTypeUrl,
} from "../../src/proto/index.js";
import type { Health } from "../../src/registry/model.js";
import type { RegistryView } from "../../src/registry/view.js";
import {
  buildSnapshot,
  createConsistencyChecker,
  checkConsistency,
  createBuildCache,
  createResource,
  createSnapshot,
  type BuildCache,
  type Resource,
  type Snapshot,
} from "../../src/snapshot/index.js";

import { entry, view, type InstanceSpec } from "../helpers/registry-view.js";

const codec = loadCodec();


function build(registry: RegistryView, withCodec: Codec = codec, cache?: BuildCache): Snapshot {
  const result = buildSnapshot(registry, withCodec, cache);
  assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.errors));
  return result.snapshot;
}

function resource(snapshot: Snapshot, type: ResourceTypeUrl, name: string): Resource {
  const found = snapshot.resources[type].get(name);
  assert.ok(found, `${type} ${name} missing`);
  return found;
}

const loadAssignment = (snapshot: Snapshot, name: string) => codec.decodeResource(ENDPOINT_TYPE, resource(snapshot, ENDPOINT_TYPE, name).body);

test("snapshot - names all four resources after the service, chained LDS → RDS → CDS → EDS", () => {
  const snapshot = build(view(1, [entry("search", []), entry("login", [{ id: "a" }])]));
  // Maps iterate in name order, whatever the view's order.
  for (const type of RESOURCE_TYPES) assert.deepEqual([...snapshot.resources[type].keys()], ["login", "search"]);
  const listener = codec.decodeResource(LISTENER_TYPE, resource(snapshot, LISTENER_TYPE, "login").body);
  assert.equal(listener.name, "login");
  const hcm = codec.unpackAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, listener.api_listener?.api_listener ?? { type_url: "", value: new Uint8Array() });
  assert.equal(hcm.rds?.route_config_name, "login");
  const route = codec.decodeResource(ROUTE_TYPE, resource(snapshot, ROUTE_TYPE, "login").body);
  assert.equal(route.name, "login");
  assert.equal(route.virtual_hosts[0]?.routes[0]?.route?.cluster, "login");
  const cluster = codec.decodeResource(CLUSTER_TYPE, resource(snapshot, CLUSTER_TYPE, "login").body);
  assert.equal(cluster.name, "login");
  assert.equal(cluster.eds_cluster_config?.service_name, "login");
  assert.equal(loadAssignment(snapshot, "login").cluster_name, "login");
  assert.equal(snapshot.revision, 1);
});

test("snapshot - groups endpoints by locality in a stable order, with summed locality weights", () => {
  const specs: InstanceSpec[] = [
    { id: "d", region: "us", zone: "us-1", weight: 5, address: "10.0.1.4" },
    { id: "c", region: "eu", zone: "eu-2", weight: 1, address: "10.0.1.3" },
    { id: "b", region: "eu", zone: "eu-1", weight: 2, address: "10.0.1.2", health: "unknown" },
    { id: "a", region: "eu", zone: "eu-1", weight: 3, address: "10.0.1.1" },
    { id: "e", weight: 7, address: "::1" },
  ];
  const snapshot = build(view(1, [entry("login", specs)]));
  const cla = loadAssignment(snapshot, "login");
  const summary = cla.endpoints.map((locality) => ({
    locality: [locality.locality?.region, locality.locality?.zone],
    weight: locality.load_balancing_weight?.value,
    endpoints: locality.lb_endpoints.map((lb) => [
      lb.endpoint?.address?.socket_address?.address,
      lb.load_balancing_weight?.value,
      lb.health_status,
    ]),
  }));
  assert.deepEqual(summary, [
    { locality: ["", ""], weight: 7, endpoints: [["::1", 7, "HEALTHY"]] },
    { locality: ["eu", "eu-1"], weight: 5, endpoints: [["10.0.1.1", 3, "HEALTHY"], ["10.0.1.2", 2, "UNKNOWN"]] },
    { locality: ["eu", "eu-2"], weight: 1, endpoints: [["10.0.1.3", 1, "HEALTHY"]] },
    { locality: ["us", "us-1"], weight: 5, endpoints: [["10.0.1.4", 5, "HEALTHY"]] },
  ]);
  // Insertion order of instances does not matter.
  const reversed = build(view(1, [entry("login", [...specs].reverse())]));
  assert.equal(resource(reversed, ENDPOINT_TYPE, "login").version, resource(snapshot, ENDPOINT_TYPE, "login").version);
});

test("snapshot - leaves unhealthy and draining instances out of EDS", () => {
  const healths: Health[] = ["healthy", "unhealthy", "unknown", "draining"];
  const snapshot = build(view(1, [entry("login", healths.map((health) => ({ id: health, health })))]));
  const endpoints = loadAssignment(snapshot, "login").endpoints.flatMap((locality) => locality.lb_endpoints);
  assert.deepEqual(
    endpoints.map((lb) => [lb.endpoint?.address?.socket_address?.address, lb.health_status]),
    [["10.0.0.1", "HEALTHY"], ["10.0.0.3", "UNKNOWN"]],
  );
});

test("snapshot - a service without usable instances still gets all four resources", () => {
  const snapshot = build(view(1, [entry("empty", []), entry("down", [{ id: "x", health: "unhealthy" }])]));
  for (const name of ["empty", "down"]) {
    for (const type of RESOURCE_TYPES) resource(snapshot, type, name);
    assert.deepEqual(loadAssignment(snapshot, name).endpoints, []);
  }
});

test("snapshot - ring_hash services get RING_HASH with XX_HASH, round_robin ones ROUND_ROBIN", () => {
  const snapshot = build(view(1, [entry("rr", []), entry("rh", [], "ring_hash")]));
  const rr = codec.decodeResource(CLUSTER_TYPE, resource(snapshot, CLUSTER_TYPE, "rr").body);
  const rh = codec.decodeResource(CLUSTER_TYPE, resource(snapshot, CLUSTER_TYPE, "rh").body);
  assert.equal(rr.lb_policy, "ROUND_ROBIN");
  assert.equal(rr.ring_hash_lb_config, undefined);
  assert.equal(rh.lb_policy, "RING_HASH");
  assert.equal(rh.ring_hash_lb_config?.hash_function, "XX_HASH");
});

test("snapshot - versions change when content changes, and only then", () => {
  const specs = [{ id: "a" }, { id: "b", zone: "z" }];
  const first = build(view(1, [entry("login", specs), entry("search", specs)]));
  const same = build(view(2, [entry("login", specs), entry("search", specs)]));
  assert.equal(same.version, first.version);
  assert.deepEqual(same.typeVersions, first.typeVersions);

  const changed = build(view(3, [entry("login", [specs[0]!, { ...specs[1]!, weight: 2 }]), entry("search", specs)]));
  assert.notEqual(changed.version, first.version);
  assert.notEqual(resource(changed, ENDPOINT_TYPE, "login").version, resource(first, ENDPOINT_TYPE, "login").version);
  assert.equal(resource(changed, ENDPOINT_TYPE, "search").version, resource(first, ENDPOINT_TYPE, "search").version);
  assert.notEqual(changed.typeVersions[ENDPOINT_TYPE], first.typeVersions[ENDPOINT_TYPE]);
  for (const type of [LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE]) assert.equal(changed.typeVersions[type], first.typeVersions[type]);

  // Type versions depend on content, not on the order of a hand-made snapshot's maps (which come back in name order).
  const reordered = createSnapshot(9, Object.fromEntries(RESOURCE_TYPES.map((type) => [type, new Map([...first.resources[type]].reverse())])));
  assert.deepEqual([...reordered.resources[ENDPOINT_TYPE].keys()], ["login", "search"]);
  assert.deepEqual(reordered.typeVersions, first.typeVersions);
  assert.equal(reordered.version, first.version);

  const fewer = build(view(4, [entry("login", specs)]));
  for (const type of RESOURCE_TYPES) assert.notEqual(fewer.typeVersions[type], first.typeVersions[type]);
});

test("snapshot - the cache gives identical results and re-encodes only what changed in the changed service", () => {
  let encodes: string[] = [];
  const counting: Codec = {
    ...codec,
    encodeResource: (typeUrl, message) => {
      encodes.push(`${typeUrl.split(".").pop()}:${"name" in message ? message.name : message.cluster_name}`);
      return codec.encodeResource(typeUrl, message);
    },
    // A ClusterLoadAssignment is assembled from its endpoints' bytes: that is its encoding.
    assembleLoadAssignment: (name, parts) => {
      encodes.push(`ClusterLoadAssignment:${name}`);
      return codec.assembleLoadAssignment(name, parts);
    },
  };
  const login = entry("login", [{ id: "a" }]);
  const search = entry("search", [{ id: "a" }, { id: "b" }]);
  const cache = createBuildCache();
  const first = build(view(1, [login, search, entry("cart", [])]), counting, cache);
  assert.equal(encodes.length, 12);

  encodes = [];
  const second = view(2, [login, search, entry("cart", [{ id: "c" }])]);
  const cached = build(second, counting, cache);
  assert.deepEqual(encodes, ["ClusterLoadAssignment:cart"], "new instances: only the service's ClusterLoadAssignment");
  assert.equal(resource(cached, ENDPOINT_TYPE, "login"), resource(first, ENDPOINT_TYPE, "login"), "unchanged resources are reused");
  assert.equal(resource(cached, LISTENER_TYPE, "cart"), resource(first, LISTENER_TYPE, "cart"), "a changed service's unchanged Listener is reused");

  encodes = [];
  build(view(3, [login, entry("search", [{ id: "a" }, { id: "b" }], "ring_hash"), entry("cart", [{ id: "c" }])]), counting, cache);
  assert.deepEqual(encodes.sort(), ["Cluster:search", "ClusterLoadAssignment:search", "ClusterLoadAssignment:cart"].sort(), "new lb policy: the Cluster (and EDS, as the entries are new objects)");

  const uncached = build(second, codec);
  assert.equal(cached.version, uncached.version);
  assert.deepEqual(cached.typeVersions, uncached.typeVersions);
  for (const type of RESOURCE_TYPES) {
    assert.deepEqual([...cached.resources[type]].map(([n, r]) => [n, r.version, Buffer.from(r.body).toString("hex")]),
      [...uncached.resources[type]].map(([n, r]) => [n, r.version, Buffer.from(r.body).toString("hex")]));
  }
});

/** `base` with one resource replaced (body given) or removed (body null). */
function altered(base: Snapshot, type: ResourceTypeUrl, name: string, body: Uint8Array | null, storeAs = name): Snapshot {
  const maps = Object.fromEntries(RESOURCE_TYPES.map((t) => [t, new Map(base.resources[t])])) as Record<ResourceTypeUrl, Map<string, Resource>>;
  maps[type].delete(name);
  if (body) maps[type].set(storeAs, createResource(type, storeAs, body));
  return createSnapshot(base.revision, maps);
}

test("snapshot - the consistency checker catches every kind of dangling reference", () => {
  const good = build(view(1, [entry("login", [{ id: "a" }])]));
  assert.deepEqual(checkConsistency(good, codec), []);
  const paths = (snapshot: Snapshot) => checkConsistency(snapshot, codec).map((issue) => issue.path);

  assert.deepEqual(paths(altered(good, ROUTE_TYPE, "login", null)), ["LDS[login].api_listener.api_listener.rds.route_config_name"]);
  assert.deepEqual(paths(altered(good, CLUSTER_TYPE, "login", null)), ["RDS[login].virtual_hosts[0].routes[0].route.cluster"]);
  assert.deepEqual(paths(altered(good, ENDPOINT_TYPE, "login", null)), ["CDS[login].eds_cluster_config.service_name"]);

  // Without service_name, the EDS name is the cluster's own name.
  const bareCluster = codec.encodeResource(CLUSTER_TYPE, { name: "login", type: "EDS", eds_cluster_config: { service_name: "" }, lb_policy: "ROUND_ROBIN" });
  assert.deepEqual(paths(altered(altered(good, CLUSTER_TYPE, "login", bareCluster), ENDPOINT_TYPE, "login", null)), ["CDS[login].name"]);

  // A resource stored under a name other than its own, and bytes that do not decode.
  const moved = altered(good, ENDPOINT_TYPE, "login", resource(good, ENDPOINT_TYPE, "login").body, "other");
  assert.deepEqual(paths(moved), ["CDS[login].eds_cluster_config.service_name", "EDS[other].name"]);
  const garbage = checkConsistency(altered(good, ROUTE_TYPE, "login", new Uint8Array([0x0a, 0x10])), codec);
  assert.deepEqual(garbage.map((issue) => issue.path), ["RDS[login]"]);
  assert.match(garbage[0]?.message ?? "", /cannot decode/);
});

test("snapshot - buildSnapshot reports an inconsistent service and leaves it out of the snapshot", () => {
  // A codec decorator that sends every route to a cluster that does not exist.
  const misrouting: Codec = {
    ...codec,
    encodeResource: (typeUrl, message) =>
      typeUrl === ROUTE_TYPE
        ? codec.encodeResource(ROUTE_TYPE, { name: "login", virtual_hosts: [{ name: "x", domains: ["*"], routes: [{ match: { prefix: "" }, route: { cluster: "ghost" } }] }] })
        : codec.encodeResource(typeUrl, message),
  };
  const result = buildSnapshot(view(1, [entry("login", [])]), misrouting);
  assert.equal(result.ok, false);
  assert.deepEqual(!result.ok && result.errors.map((issue) => issue.path), ["RDS[login].virtual_hosts[0].routes[0].route.cluster"]);
  assert.deepEqual(result.failures.map((f) => [f.service, f.kept]), [["login", false]]);
  for (const type of RESOURCE_TYPES) assert.equal(result.snapshot.resources[type].size, 0, "no previous snapshot: the service has no resources");
});

test("snapshot - registry data a client would NACK is reported with its path, and only that service is left out", () => {
  const result = buildSnapshot(
    view(1, [
      entry("login", [{ id: "a", address: "not-an-ip" }, { id: "b", port: 0 }, { id: "c", address: "10.0.0.9" }, { id: "d", address: "10.0.0.9" }]),
      entry("search", [{ id: "z", address: "bad", health: "unhealthy" }]),
    ]),
    codec,
  );
  assert.equal(result.ok, false);
  assert.deepEqual(!result.ok && result.errors.map((issue) => issue.path), [
    "services[login].instances[a].address",
    "services[login].instances[b].port",
    "services[login].instances[d].address",
  ]);
  assert.deepEqual([...result.snapshot.resources[ENDPOINT_TYPE].keys()], ["search"], "search (its bad instance is unhealthy, so not sent) is built");
});

test("snapshot - decoded resources carry everything a stock grpc-js-xds client requires", () => {
  const snapshot = build(view(1, [entry("login", [{ id: "a", zone: "z1" }, { id: "b", zone: "z2", address: "::1" }]), entry("empty", [])]));
  for (const name of ["login", "empty"]) {
    const listener = codec.decodeResource(LISTENER_TYPE, resource(snapshot, LISTENER_TYPE, name).body);
    const any = listener.api_listener?.api_listener;
    assert.ok(any, "api_listener.api_listener set");
    const hcm = codec.unpackAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, any);
    assert.deepEqual(hcm.rds?.config_source.ads, {}, "RDS over ADS");
    assert.equal(hcm.rds?.config_source.resource_api_version, "V3");
    const last = hcm.http_filters.at(-1);
    assert.equal(hcm.http_filters.length, 1);
    assert.equal(last?.name, "envoy.filters.http.router");
    assert.deepEqual(codec.unpackAny(ROUTER_TYPE_NAME, last?.typed_config ?? { type_url: "", value: new Uint8Array() }), codec.unpackAny(ROUTER_TYPE_NAME, codec.packAny(ROUTER_TYPE_NAME, {})));

    const route = codec.decodeResource(ROUTE_TYPE, resource(snapshot, ROUTE_TYPE, name).body);
    assert.deepEqual(route.virtual_hosts.map((host) => host.domains), [["*"]]);
    const match = route.virtual_hosts[0]?.routes[0]?.match;
    assert.ok(match && "prefix" in match, "match.prefix is set (a path specifier is required)");

    const cluster = codec.decodeResource(CLUSTER_TYPE, resource(snapshot, CLUSTER_TYPE, name).body);
    assert.equal(cluster.type, "EDS");
    assert.deepEqual(cluster.eds_cluster_config?.eds_config?.ads, {}, "EDS over ADS");

    for (const locality of loadAssignment(snapshot, name).endpoints) {
      assert.ok(locality.locality, "locality set");
      assert.ok((locality.load_balancing_weight?.value ?? 0) > 0, "locality weight set");
      for (const lb of locality.lb_endpoints) {
        const socket = lb.endpoint?.address?.socket_address;
        assert.ok(socket && isIP(socket.address) !== 0 && "port_value" in socket);
      }
    }
  }
});

test("snapshot - the stock grpc-js-xds resource validators accept every built resource", async () => {
  // The client's own decode + validate step (internal modules of the pinned
  // @grpc/grpc-js-xds), so a rule we did not know about still fails here.
  const xds = await import("@grpc/grpc-js-xds");
  xds.register(); // registers the router filter the Listener validator looks up
  const require = createRequire(import.meta.url);
  const dir = "@grpc/grpc-js-xds/build/src/xds-resource-type";
  const validators: Record<ResourceTypeUrl, StockResourceType> = {
    [LISTENER_TYPE]: require(`${dir}/listener-resource-type.js`).ListenerResourceType.get(),
    [ROUTE_TYPE]: require(`${dir}/route-config-resource-type.js`).RouteConfigurationResourceType.get(),
    [CLUSTER_TYPE]: require(`${dir}/cluster-resource-type.js`).ClusterResourceType.get(),
    [ENDPOINT_TYPE]: require(`${dir}/endpoint-resource-type.js`).EndpointResourceType.get(),
  };
  const snapshot = build(view(1, [entry("login", [{ id: "a", zone: "z1" }, { id: "b", zone: "z2", address: "::1", health: "unknown" }]), entry("rh", [], "ring_hash")]));
  for (const type of RESOURCE_TYPES) {
    for (const [name, built] of snapshot.resources[type]) {
      const result = validators[type].decode({}, { type_url: type, value: Buffer.from(built.body) });
      assert.equal(result.error, undefined, `${type} ${name}: ${result.error}`);
      assert.equal(result.name, name);
    }
  }
  // And the validator does reject a broken resource, so the check above can fail.
  const noLocality = codec.encodeResource(ENDPOINT_TYPE, { cluster_name: "x", endpoints: [{ lb_endpoints: [] }] });
  assert.match(validators[ENDPOINT_TYPE].decode({}, { type_url: ENDPOINT_TYPE, value: Buffer.from(noLocality) }).error ?? "", /locality unset/);
});

interface StockResourceType {
  decode(context: object, resource: { type_url: string; value: Buffer }): { name: string; error?: string };
}

test("snapshot - each snapshot object is checked for consistency once per codec: the builder's pass serves later checks", () => {
  let decodes = 0;
  const counting: Codec = { ...codec, decodeResource: (typeUrl, bytes) => (decodes++, codec.decodeResource(typeUrl, bytes)) };
  const built = build(view(1, [entry("login", [{ id: "a" }]), entry("cart", [])]), counting);
  assert.ok(decodes > 0, "the builder decoded the resources once");
  decodes = 0;
  assert.deepEqual(createConsistencyChecker(counting)(built), []);
  assert.deepEqual(checkConsistency(built, counting), []);
  assert.equal(decodes, 0, "later checks of the same object reuse the verdict");
  const copy = createSnapshot(built.revision, built.resources);
  assert.deepEqual(checkConsistency(copy, counting), []);
  assert.equal(decodes, 0, "the same resources in another snapshot object are checked afresh, but each body is decoded once (src/resources)");
  const copiedBodies = Object.fromEntries(RESOURCE_TYPES.map((type) => [type, new Map([...built.resources[type]].map(([name, resource]) =>
    [name, createResource(type, name, new Uint8Array(resource.body))]))]));
  assert.deepEqual(checkConsistency(createSnapshot(built.revision, copiedBodies), counting), []);
  assert.equal(decodes, 8, "bytes not seen before are decoded");
  const broken = createSnapshot(2, { ...built.resources, [CLUSTER_TYPE]: new Map() });
  assert.equal(checkConsistency(broken, counting).length, 2, "and a broken one is found broken");
});
