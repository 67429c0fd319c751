/**
 * The pipeline faults (a faulty snapshot source between the builder and the
 * push guard), with a fake `next` that captures what the guard would get:
 * each transform, that the result stays consistent and keeps the revision,
 * and when the last snapshot is re-sent.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createPipelineFaults, type PipelineFault } from "../../src/faults/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, RESOURCE_TYPES, ROUTE_TYPE, loadCodec, shortTypeName, type ResourceTypeUrl } from "../../src/proto/index.js";
import { checkConsistency, createResource, createSnapshot, type Resource, type Snapshot } from "../../src/snapshot/index.js";
import { clusterFor, listenerFor, routeConfigurationFor } from "../../src/snapshot/service-resources.js";

const codec = loadCodec();

/** The four real resources of each service, one endpoint each. */
function snapshotOf(revision: number, services: readonly string[]): Snapshot {
  const byType = new Map<ResourceTypeUrl, Map<string, Resource>>(RESOURCE_TYPES.map((type) => [type, new Map()]));
  services.forEach((name, i) => {
    const assignment = {
      cluster_name: name,
      endpoints: [{ locality: { region: "r1", zone: "z1" }, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 7001 + i } } }, health_status: "HEALTHY" as const }] }],
    };
    byType.get(LISTENER_TYPE)!.set(name, createResource(LISTENER_TYPE, name, codec.encodeResource(LISTENER_TYPE, listenerFor(name, codec))));
    byType.get(ROUTE_TYPE)!.set(name, createResource(ROUTE_TYPE, name, codec.encodeResource(ROUTE_TYPE, routeConfigurationFor(name))));
    byType.get(CLUSTER_TYPE)!.set(name, createResource(CLUSTER_TYPE, name, codec.encodeResource(CLUSTER_TYPE, clusterFor(name, "round_robin"))));
    byType.get(ENDPOINT_TYPE)!.set(name, createResource(ENDPOINT_TYPE, name, codec.encodeResource(ENDPOINT_TYPE, assignment)));
  });
  return createSnapshot(revision, Object.fromEntries(byType));
}

function setup() {
  const sent: Snapshot[] = [];
  const pipeline = createPipelineFaults({ codec, logger: createSilentLogger(), next: (snapshot) => sent.push(snapshot) });
  return { pipeline, sent };
}

const names = (snapshot: Snapshot, type: ResourceTypeUrl) => [...snapshot.resources[type].keys()].sort();

describe("faults - pipeline faults above the guard", () => {
  it("faults - pipeline: without faults every offer goes to next as it is", () => {
    const { pipeline, sent } = setup();
    const snapshot = snapshotOf(3, ["login", "search"]);
    pipeline.offer(snapshot);
    assert.equal(sent.length, 1);
    assert.equal(sent[0], snapshot);
  });

  it("faults - pipeline config-loss drops all four resources of the services in one consistent snapshot with the same revision, sent at once", () => {
    const { pipeline, sent } = setup();
    const snapshot = snapshotOf(3, ["accounts", "login", "search"]);
    pipeline.offer(snapshot);
    pipeline.add({ kind: "config-loss", services: ["login", "accounts"] });
    assert.equal(sent.length, 2, "one re-send for the whole fault, not one per resource type");
    const lost = sent[1]!;
    for (const type of RESOURCE_TYPES) assert.deepEqual(names(lost, type), ["search"], shortTypeName(type));
    assert.equal(lost.revision, 3);
    assert.deepEqual(checkConsistency(lost, codec), []);
  });

  it("faults - pipeline empty-endpoints replaces the services' ClusterLoadAssignments with empty ones; nothing else changes", () => {
    const { pipeline, sent } = setup();
    const snapshot = snapshotOf(4, ["login", "search"]);
    pipeline.offer(snapshot);
    pipeline.add({ kind: "empty-endpoints", services: ["login"] });
    const out = sent.at(-1)!;
    const login = codec.decodeResource(ENDPOINT_TYPE, out.resources[ENDPOINT_TYPE].get("login")!.body);
    assert.deepEqual([login.cluster_name, login.endpoints], ["login", []]);
    assert.equal(out.resources[ENDPOINT_TYPE].get("search"), snapshot.resources[ENDPOINT_TYPE].get("search"));
    for (const type of [LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE]) assert.equal(out.typeVersions[type], snapshot.typeVersions[type], shortTypeName(type));
  });

  it("faults - pipeline invalid-config gives the services' Clusters lb_policy MAGLEV", () => {
    const { pipeline, sent } = setup();
    pipeline.offer(snapshotOf(5, ["login", "search"]));
    pipeline.add({ kind: "invalid-config", services: ["login"] });
    const clusters = sent.at(-1)!.resources[CLUSTER_TYPE];
    assert.equal(codec.decodeResource(CLUSTER_TYPE, clusters.get("login")!.body).lb_policy, "MAGLEV");
    assert.equal(codec.decodeResource(CLUSTER_TYPE, clusters.get("search")!.body).lb_policy, "ROUND_ROBIN");
  });

  it("faults - pipeline: a replacement never adds a service the snapshot lacks, and a fault that changes nothing sends nothing", () => {
    const { pipeline, sent } = setup();
    const snapshot = snapshotOf(6, ["search"]);
    pipeline.offer(snapshot);
    for (const kind of ["config-loss", "empty-endpoints", "invalid-config"] as const) pipeline.add({ kind, services: ["login"] });
    assert.deepEqual(sent, [snapshot]);
  });

  it("faults - pipeline: later offers come out with the active faults; remove and clear re-send the last offer as built", () => {
    const { pipeline, sent } = setup();
    const loss: PipelineFault = { kind: "config-loss", services: ["login"] };
    const id = pipeline.add(loss);
    assert.equal(sent.length, 0, "nothing to re-send before the first offer");
    pipeline.add({ kind: "empty-endpoints", services: ["search"] });
    const next = snapshotOf(8, ["login", "search"]);
    pipeline.offer(next);
    assert.deepEqual(names(sent.at(-1)!, LISTENER_TYPE), ["search"]);
    assert.equal(codec.decodeResource(ENDPOINT_TYPE, sent.at(-1)!.resources[ENDPOINT_TYPE].get("search")!.body).endpoints.length, 0);
    assert.deepEqual(pipeline.active().map((a) => a.fault), [loss, { kind: "empty-endpoints", services: ["search"] }]);
    assert.equal(pipeline.remove(id), true);
    assert.deepEqual(names(sent.at(-1)!, LISTENER_TYPE), ["login", "search"]);
    assert.equal(pipeline.remove(id), false, "an unknown id");
    pipeline.clear();
    assert.equal(sent.at(-1)!.version, next.version, "with no fault left, the guard has the snapshot as built");
    const count = sent.length;
    pipeline.clear();
    assert.equal(sent.length, count, "clearing nothing sends nothing");
  });
});
