/**
 * One bad service never blocks the others: the builder builds every service
 * that can be built, and a service that cannot keeps the resources the
 * previous snapshot has for it (none when it has none). Bad entries are made
 * directly in a view, bypassing the registry's own validation.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ENDPOINT_TYPE, RESOURCE_TYPES, ROUTE_TYPE, loadCodec, type Codec } from "../../src/proto/index.js";
import { buildSnapshot, checkConsistency, createBuildCache, createResource, createSnapshot, type BuildCache, type BuildResult, type Snapshot } from "../../src/snapshot/index.js";
import { entry, view } from "../helpers/registry-view.js";

const codec = loadCodec();

const good = (ports: number[]) => entry("login", ports.map((port, i) => ({ id: `l${i}`, port })));
/** Two instances on 10.0.0.9:8080: a stock gRPC client would NACK the whole ClusterLoadAssignment. */
const duplicated = entry("greeter", [{ id: "g1", address: "10.0.0.9" }, { id: "g2", address: "10.0.0.9" }]);
const healthy = entry("greeter", [{ id: "g1", address: "10.0.0.9" }]);

function ports(snapshot: Snapshot, name: string): number[] {
  const found = snapshot.resources[ENDPOINT_TYPE].get(name);
  assert.ok(found, `EDS ${name} missing`);
  return codec.decodeResource(ENDPOINT_TYPE, found.body).endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint?.address?.socket_address?.port_value ?? -1));
}

function built(result: BuildResult): Snapshot {
  assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.errors));
  return result.snapshot;
}

for (const cached of [false, true]) {
  const label = cached ? "with a build cache" : "without a cache";
  const cacheOf = (): BuildCache | undefined => (cached ? createBuildCache() : undefined);

  test(`snapshot isolation - a bad service beside a good one: the good one's change is built, the bad one keeps its previous resources (${label})`, () => {
    const cache = cacheOf();
    const first = built(buildSnapshot(view(1, [healthy, good([7001])]), codec, cache));
    const result = buildSnapshot(view(2, [duplicated, good([7001, 7002])]), codec, cache, first);

    assert.equal(result.ok, false);
    assert.deepEqual(result.failures, [{
      service: "greeter",
      issues: [{ path: "services[greeter].instances[g2].address", message: "10.0.0.9:8080 is also used by instance g1; gRPC clients reject duplicate endpoints" }],
      kept: true,
    }]);
    assert.equal(result.snapshot.revision, 2);
    assert.deepEqual(ports(result.snapshot, "login"), [7001, 7002], "the good service's change is in the snapshot");
    for (const type of RESOURCE_TYPES) {
      assert.equal(result.snapshot.resources[type].get("greeter"), first.resources[type].get("greeter"), `${type}: greeter keeps its previous resource`);
    }
    assert.deepEqual(checkConsistency(result.snapshot, codec), []);

    // Still bad a build later: it keeps the same resources; fixed: it gets new ones.
    const later = buildSnapshot(view(3, [duplicated, good([7003])]), codec, cache, result.snapshot);
    assert.equal(later.snapshot.resources[ENDPOINT_TYPE].get("greeter"), first.resources[ENDPOINT_TYPE].get("greeter"));
    assert.deepEqual(ports(later.snapshot, "login"), [7003]);
    const fixed = built(buildSnapshot(view(4, [entry("greeter", [{ id: "g1", address: "10.0.0.9" }, { id: "g2", address: "10.0.0.9", port: 8081 }]), good([7003])]), codec, cache, later.snapshot));
    assert.deepEqual(ports(fixed, "greeter"), [8080, 8081]);
  });

  test(`snapshot isolation - a bad service that never built has no resources; the others are built (${label})`, () => {
    const result = buildSnapshot(view(1, [duplicated, good([7001])]), codec, cacheOf());
    assert.deepEqual(result.failures.map((f) => [f.service, f.kept]), [["greeter", false]]);
    for (const type of RESOURCE_TYPES) assert.deepEqual([...result.snapshot.resources[type].keys()], ["login"], type);
    assert.deepEqual(checkConsistency(result.snapshot, codec), []);
  });
}

test("snapshot isolation - the same view and previous snapshot give the same snapshot with and without a cache", () => {
  const cache = createBuildCache();
  const first = built(buildSnapshot(view(1, [healthy, good([7001])]), codec, cache));
  const bad = view(2, [duplicated, good([7002])]);
  const withCache = buildSnapshot(bad, codec, cache, first);
  const again = buildSnapshot(bad, codec, cache, first);
  const without = buildSnapshot(bad, codec, undefined, first);
  for (const other of [again, without]) {
    assert.equal(other.snapshot.version, withCache.snapshot.version);
    assert.deepEqual(other.failures, withCache.failures);
  }
});

test("snapshot isolation - an inconsistent service falls back to its previous resources, then to none; the others are built", () => {
  // A codec decorator that, once switched on, sends greeter's routes to a cluster that does not exist.
  let broken = false;
  const misrouting: Codec = {
    ...codec,
    encodeResource: (typeUrl, message) =>
      broken && typeUrl === ROUTE_TYPE && "name" in message && message.name === "greeter"
        ? codec.encodeResource(ROUTE_TYPE, { name: "greeter", virtual_hosts: [{ name: "x", domains: ["*"], routes: [{ match: { prefix: "" }, route: { cluster: "ghost" } }] }] })
        : codec.encodeResource(typeUrl, message),
  };
  const first = built(buildSnapshot(view(1, [healthy, good([7001])]), misrouting));
  broken = true;
  const result = buildSnapshot(view(2, [healthy, good([7002])]), misrouting, undefined, first);
  assert.deepEqual(result.failures.map((f) => [f.service, f.kept, f.issues.map((i) => i.path)]), [["greeter", true, ["RDS[greeter].virtual_hosts[0].routes[0].route.cluster"]]]);
  assert.equal(result.snapshot.resources[ROUTE_TYPE].get("greeter"), first.resources[ROUTE_TYPE].get("greeter"), "greeter keeps its good route");
  assert.deepEqual(ports(result.snapshot, "login"), [7002]);
  assert.deepEqual(checkConsistency(result.snapshot, codec), []);

  // A previous snapshot whose greeter route is itself inconsistent: greeter ends with none, login still builds.
  const ghostRoute = createResource(ROUTE_TYPE, "greeter", codec.encodeResource(ROUTE_TYPE, {
    name: "greeter", virtual_hosts: [{ name: "x", domains: ["*"], routes: [{ match: { prefix: "" }, route: { cluster: "ghost" } }] }],
  }));
  const poisoned = createSnapshot(1, { ...first.resources, [ROUTE_TYPE]: new Map([...first.resources[ROUTE_TYPE], ["greeter", ghostRoute]]) });
  const fallen = buildSnapshot(view(3, [healthy, good([7003])]), misrouting, undefined, poisoned);
  assert.deepEqual(fallen.failures.map((f) => [f.service, f.kept, f.issues.length]), [["greeter", false, 2]], "the new and the previous route's issues");
  for (const type of RESOURCE_TYPES) assert.equal(fallen.snapshot.resources[type].has("greeter"), false, type);
  assert.deepEqual(ports(fallen.snapshot, "login"), [7003]);
  assert.deepEqual(checkConsistency(fallen.snapshot, codec), []);
});

test("snapshot isolation - beside a failing service, a change to a good one encodes only that change", () => {
  const encodes: string[] = [];
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
  const cache = createBuildCache();
  const first = built(buildSnapshot(view(1, [healthy, good([7001])]), counting, cache));
  const second = buildSnapshot(view(2, [duplicated, good([7001])]), counting, cache, first);
  encodes.length = 0;
  const third = buildSnapshot(view(3, [duplicated, good([7001, 7002])]), counting, cache, second.snapshot);
  assert.deepEqual(encodes, ["ClusterLoadAssignment:login"]);
  assert.deepEqual(third.failures.map((f) => f.service), ["greeter"]);
  assert.equal(third.snapshot.resources[ENDPOINT_TYPE].get("greeter"), first.resources[ENDPOINT_TYPE].get("greeter"));
});
