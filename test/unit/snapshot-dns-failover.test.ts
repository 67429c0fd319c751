/**
 * DNS fallback and locality failover as xDS (issue 19): the aggregate Cluster
 * and its two children, checked by the guard, the steady: resolver and
 * grpc-js-xds's own validator on the same bytes; bad aggregate and
 * LOGICAL_DNS Clusters rejected by all three at the same field; EDS
 * priorities from `failover`; and the resolver's first usable priority.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { validateSnapshot } from "../../src/guard/validate.js";
import { AGGREGATE_CLUSTER_TYPE, CLUSTER_CONFIG_TYPE_NAME, CLUSTER_TYPE, ENDPOINT_TYPE, loadCodec, type Cluster, type ClusterLoadAssignment } from "../../src/proto/index.js";
import type { ServiceEntry, TrafficPolicy } from "../../src/registry/index.js";
import { buildSnapshot, checkConsistency, createSnapshot, type Snapshot } from "../../src/snapshot/index.js";
import { decodeResource } from "../../src/client/xds-resources.js";
import { entry, view, type InstanceSpec } from "../helpers/registry-view.js";

const codec = loadCodec();
const require = createRequire(import.meta.url);

function withPolicy(policy: TrafficPolicy, specs: InstanceSpec[] = [{ id: "a" }]): ServiceEntry {
  const base = entry("checkout", specs);
  return { ...base, service: { ...base.service, policy } };
}

function build(entries: ServiceEntry[], dnsDomain?: string): Snapshot {
  const result = buildSnapshot(view(1, entries), codec, undefined, undefined, { trustDomain: "steadymesh.local", ...(dnsDomain && { dnsDomain }) });
  assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.errors));
  return result.snapshot;
}

const cluster = (snapshot: Snapshot, name: string): Cluster => {
  const found = snapshot.resources[CLUSTER_TYPE].get(name);
  assert.ok(found, `CDS ${name} missing`);
  return codec.decodeResource(CLUSTER_TYPE, found.body);
};

let stockValidator: { decode(context: object, resource: { type_url: string; value: Buffer }): { error?: string } } | undefined;
async function stockError(body: Uint8Array): Promise<string | undefined> {
  if (!stockValidator) {
    (await import("@grpc/grpc-js-xds")).register();
    stockValidator = require("@grpc/grpc-js-xds/build/src/xds-resource-type/cluster-resource-type.js").ClusterResourceType.get();
  }
  return stockValidator!.decode({ bootstrap: { certificateProviders: {} } }, { type_url: CLUSTER_TYPE, value: Buffer.from(body) }).error;
}

const POLICY: TrafficPolicy = { subsets: [{ name: "v1", match: { version: "1" } }], routes: [], dnsFallback: { port: 443 } };

test("snapshot dns fallback - the service's Cluster becomes an aggregate of its EDS child, then its LOGICAL_DNS child", async () => {
  const snapshot = build([withPolicy(POLICY, [{ id: "a", metadata: { version: "1" } }])], "corp");
  assert.deepEqual([...snapshot.resources[CLUSTER_TYPE].keys()], ["checkout", "checkout/v1", "checkout/~dns", "checkout/~eds"]);
  assert.deepEqual([...snapshot.resources[ENDPOINT_TYPE].keys()], ["checkout", "checkout/v1"]);
  const aggregate = cluster(snapshot, "checkout");
  assert.equal(aggregate.cluster_type?.name, AGGREGATE_CLUSTER_TYPE);
  assert.deepEqual(codec.unpackAny(CLUSTER_CONFIG_TYPE_NAME, aggregate.cluster_type!.typed_config).clusters, ["checkout/~eds", "checkout/~dns"]);
  assert.equal(cluster(snapshot, "checkout/~eds").eds_cluster_config?.service_name, "checkout", "the ClusterLoadAssignment keeps its name");
  const dns = cluster(snapshot, "checkout/~dns");
  assert.equal(dns.type, "LOGICAL_DNS");
  const target = dns.load_assignment?.endpoints[0]?.lb_endpoints[0]?.endpoint?.address?.socket_address;
  assert.deepEqual([target?.address, target?.port_value], ["checkout.service.corp", 443]);
  assert.deepEqual(validateSnapshot(codec, snapshot), []);
  assert.deepEqual(checkConsistency(snapshot, codec), []);
  for (const name of ["checkout", "checkout/~eds", "checkout/~dns"]) {
    const body = snapshot.resources[CLUSTER_TYPE].get(name)!.body;
    assert.equal(await stockError(body), undefined, `grpc-js-xds accepts ${name}`);
    assert.equal(decodeResource(codec, CLUSTER_TYPE, body).ok, true, `the resolver accepts ${name}`);
  }
});

test("snapshot dns fallback - a given name, and the Cluster goes back to EDS without dnsFallback", () => {
  const named = build([withPolicy({ ...POLICY, dnsFallback: { name: "localhost", port: 7000 } })]);
  assert.equal(cluster(named, "checkout/~dns").load_assignment?.endpoints[0]?.lb_endpoints[0]?.endpoint?.address?.socket_address?.address, "localhost");
  const plain = build([withPolicy({ subsets: POLICY.subsets, routes: [] })]);
  assert.equal(cluster(plain, "checkout").type, "EDS");
  assert.deepEqual([...plain.resources[CLUSTER_TYPE].keys()], ["checkout", "checkout/v1"]);
});

test("snapshot dns fallback - the consistency check follows an aggregate's children", () => {
  const snapshot = build([withPolicy(POLICY)]);
  const clusters = snapshot.resources[CLUSTER_TYPE].with([["checkout/~dns", undefined]]);
  const broken = createSnapshot(2, { ...snapshot.resources, [CLUSTER_TYPE]: clusters });
  const issues = checkConsistency(broken, codec);
  assert.equal(issues.length, 1, JSON.stringify(issues));
  assert.match(issues[0]!.path, /CDS\[checkout\]\.cluster_type\.typed_config\.clusters\[1\]/);
});

const socket = (address: string, port = 443) => ({ endpoint: { address: { socket_address: { address, port_value: port } } } });
const dnsCluster = (load_assignment?: object): object => ({ name: "checkout", type: "LOGICAL_DNS", lb_policy: "ROUND_ROBIN", ...(load_assignment && { load_assignment }) });
const BAD: readonly { name: string; message: object; at: string }[] = [
  { name: "an aggregate with no child", at: "cluster_type.typed_config.clusters",
    message: { name: "checkout", lb_policy: "ROUND_ROBIN", cluster_type: { name: AGGREGATE_CLUSTER_TYPE, typed_config: codec.packAny(CLUSTER_CONFIG_TYPE_NAME, { clusters: [] }) } } },
  { name: "an aggregate whose typed_config is another type", at: "cluster_type.typed_config.type_url",
    message: { name: "checkout", lb_policy: "ROUND_ROBIN", cluster_type: { name: AGGREGATE_CLUSTER_TYPE, typed_config: codec.packAny("envoy.extensions.filters.http.router.v3.Router", {}) } } },
  { name: "a LOGICAL_DNS cluster without load_assignment", at: "load_assignment", message: dnsCluster() },
  { name: "a LOGICAL_DNS cluster with two endpoints", at: "load_assignment.endpoints[0].lb_endpoints",
    message: dnsCluster({ cluster_name: "checkout", endpoints: [{ locality: {}, lb_endpoints: [socket("a"), socket("b")] }] }) },
  { name: "a LOGICAL_DNS cluster with two localities", at: "load_assignment.endpoints",
    message: dnsCluster({ cluster_name: "checkout", endpoints: [{ locality: {}, lb_endpoints: [socket("a")] }, { locality: { zone: "z" }, lb_endpoints: [socket("b")] }] }) },
  { name: "a LOGICAL_DNS cluster with an empty host", at: "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address",
    message: dnsCluster({ cluster_name: "checkout", endpoints: [{ locality: {}, lb_endpoints: [socket("")] }] }) },
];

for (const c of BAD) {
  test(`snapshot dns fallback - the guard, the resolver and grpc-js-xds reject ${c.name}`, async () => {
    const body = codec.encodeResource(CLUSTER_TYPE, c.message as never);
    const decoded = decodeResource(codec, CLUSTER_TYPE, body);
    assert.equal(decoded.ok, false);
    if (!decoded.ok) assert.ok(decoded.errors[0]!.startsWith(`${c.at}: `), decoded.errors.join(" | "));
    assert.notEqual(await stockError(body), undefined, "grpc-js-xds rejects it too");
  });
}

test("snapshot failover - localities get priorities in the list's order, unlisted last, without gaps", () => {
  const specs: InstanceSpec[] = [
    { id: "a", zone: "z1" },
    { id: "b", zone: "z2" },
    { id: "c", zone: "z3" },
    { id: "d", zone: "z4", health: "unhealthy" },
    { id: "e", zone: "z9" },
  ];
  const snapshot = build([withPolicy({ subsets: [], routes: [], failover: { zones: ["z2", "z4", "z1"] } }, specs)]);
  const assignment: ClusterLoadAssignment = codec.decodeResource(ENDPOINT_TYPE, snapshot.resources[ENDPOINT_TYPE].get("checkout")!.body);
  assert.deepEqual(assignment.endpoints.map((group) => [group.locality?.zone, group.priority ?? 0]), [["z2", 0], ["z1", 1], ["z3", 2], ["z9", 2]]);
  assert.deepEqual(validateSnapshot(codec, snapshot), []);
  const model = decodeResource(codec, ENDPOINT_TYPE, snapshot.resources[ENDPOINT_TYPE].get("checkout")!.body);
  assert.ok(model.ok && model.model.kind === "endpoints");
  assert.deepEqual(model.model.endpoints.map((endpoint) => endpoint.zone), ["z2"], "the resolver uses the first priority");
  // z2 gone: z1 becomes priority 0, and the resolver follows.
  const spilled = build([withPolicy({ subsets: [], routes: [], failover: { zones: ["z2", "z4", "z1"] } }, specs.map((s) => (s.zone === "z2" ? { ...s, health: "unhealthy" as const } : s)))]);
  const next = decodeResource(codec, ENDPOINT_TYPE, spilled.resources[ENDPOINT_TYPE].get("checkout")!.body);
  assert.ok(next.ok && next.model.kind === "endpoints");
  assert.deepEqual(next.model.endpoints.map((endpoint) => endpoint.zone), ["z1"]);
});

test("snapshot failover - by region, and without failover the assignment has priority 0 only", () => {
  const specs: InstanceSpec[] = [{ id: "a", region: "eu", zone: "a" }, { id: "b", region: "us", zone: "b" }];
  const byRegion = build([withPolicy({ subsets: [], routes: [], failover: { regions: ["us", "eu"] } }, specs)]);
  const assignment = codec.decodeResource(ENDPOINT_TYPE, byRegion.resources[ENDPOINT_TYPE].get("checkout")!.body);
  assert.deepEqual(assignment.endpoints.map((group) => [group.locality?.region, group.priority ?? 0]), [["us", 0], ["eu", 1]]);
  const plain = build([withPolicy({ subsets: [], routes: [] }, specs)]);
  assert.ok(codec.decodeResource(ENDPOINT_TYPE, plain.resources[ENDPOINT_TYPE].get("checkout")!.body).endpoints.every((group) => (group.priority ?? 0) === 0));
});
