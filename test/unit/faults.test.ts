/**
 * The lab's fault layer over the fault injector, with a fake inner watcher
 * and a fake clock: what each kind does to WatchResponses and to streams,
 * expiry, and that removing a fault restores what it hid.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { createFakeClock } from "../helpers/fake-clock.js";
import { NotFoundError, ValidationError } from "../../src/errors/index.js";
import { createFaultInjector, createLabFaults, createPipelineFaults, GRPC_STATUS_CODES, type FaultInjector, type LabFaultSpec } from "../../src/faults/index.js";
import { createLogger } from "../../src/log/index.js";
import { createMetrics, type Metrics } from "../../src/metrics/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, RESOURCE_TYPES, ROUTE_TYPE, loadCodec, shortTypeName, type ResourceTypeUrl } from "../../src/proto/index.js";
import { createResource, createSnapshot, type Resource, type Snapshot } from "../../src/snapshot/index.js";
import type { ResourceWatcher, WatchResponse } from "../../src/xds/index.js";
import { capture } from "../helpers/io.js";

const codec = loadCodec();
const START = Date.parse("2022-03-08T18:07:00.000Z");
const SERVICES = ["login", "search"];

function endpointsOf(name: string, port: number): Resource {
  const endpoint = { endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } }, health_status: "HEALTHY" as const };
  const body = codec.encodeResource(ENDPOINT_TYPE, {
    cluster_name: name,
    endpoints: [{ locality: { region: "", zone: "" }, load_balancing_weight: { value: 1 }, lb_endpoints: [endpoint] }],
  });
  return createResource(ENDPOINT_TYPE, name, body);
}

/** Every type holds "login" and "search"; only EDS bodies are real messages (the others are never decoded here). */
function initialResources(): Map<ResourceTypeUrl, Resource[]> {
  const state = new Map<ResourceTypeUrl, Resource[]>();
  for (const type of RESOURCE_TYPES) {
    state.set(type, SERVICES.map((name, i) => (type === ENDPOINT_TYPE ? endpointsOf(name, 7001 + i) : createResource(type, name, Buffer.from(`${type}/${name}`)))));
  }
  return state;
}

/** A ResourceWatcher over a mutable map: wildcard watches only, a response on every `set`. */
function fakeWatcher(): ResourceWatcher & { set(type: ResourceTypeUrl, resources: Resource[]): void } {
  const state = initialResources();
  const watches = new Set<{ typeUrl: ResourceTypeUrl; onResponse: (r: WatchResponse) => void }>();
  const respond = (typeUrl: ResourceTypeUrl): WatchResponse => {
    const resources = state.get(typeUrl) ?? [];
    return { typeUrl, version: resources.map((r) => r.version).join("."), resources };
  };
  return {
    watch(request, onResponse) {
      const watch = { typeUrl: request.typeUrl, onResponse };
      watches.add(watch);
      onResponse(respond(request.typeUrl));
      return () => watches.delete(watch);
    },
    set(type, resources) {
      state.set(type, resources);
      for (const watch of watches) if (watch.typeUrl === type) watch.onResponse(respond(type));
    },
  };
}

function setup() {
  const clock = createFakeClock(START);
  const inner = fakeWatcher();
  const injector = createFaultInjector(inner);
  const metrics = createMetrics({ processMetrics: false });
  const logs = capture();
  const logger = createLogger({ level: "warn", destination: logs.stream });
  /** What the pipeline hands to the guard. */
  const guarded: Snapshot[] = [];
  const pipeline = createPipelineFaults({ codec, logger, next: (snapshot) => guarded.push(snapshot) });
  const lab = createLabFaults({ injector, pipeline, codec, clock, metrics, logger });
  /** Every response delivered, in order, as "LDS:login,search". */
  const delivered: string[] = [];
  const latest = new Map<ResourceTypeUrl, WatchResponse>();
  for (const typeUrl of RESOURCE_TYPES) {
    injector.watcher.watch({ typeUrl, subscription: { wildcard: true }, nodeId: "test", node: { id: "test", cluster: "", metadata: {} } }, (response) => {
      latest.set(typeUrl, response);
      delivered.push(`${shortTypeName(typeUrl)}:${response.resources.map((r) => r.name).join(",")}`);
    });
  }
  const names = (typeUrl: ResourceTypeUrl) => latest.get(typeUrl)!.resources.map((r) => r.name);
  const logLines = () => logs.text().trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { clock, inner, injector, pipeline, guarded, metrics, lab, delivered, latest, names, logLines };
}

async function metricValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  return metric.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

/** An ADS stream as the xDS server attaches it: records how it was ended. */
function attach(injector: FaultInjector) {
  const ended: Array<[number, string]> = [];
  const admission = injector.attachStream({ end: (code, details) => void ended.push([code, details]) });
  return { admission, ended };
}

describe("faults - lab faults over the injector", () => {
  it("faults - config-loss drops the services' Listener, RouteConfiguration, Cluster and ClusterLoadAssignment; remove restores them bottom-up", () => {
    const { lab, delivered, names } = setup();
    delivered.length = 0;
    const fault = lab.add({ kind: "config-loss", services: ["login"] });
    assert.deepEqual(fault, { id: fault.id, kind: "config-loss", layer: "server", services: ["login"], createdAt: "2022-03-08T18:07:00.000Z" });
    for (const type of RESOURCE_TYPES) assert.deepEqual(names(type), ["search"], shortTypeName(type));
    // Top-down: no client sees a Listener whose RouteConfiguration is already gone.
    assert.deepEqual(delivered.splice(0), ["LDS:search", "RDS:search", "CDS:search", "EDS:search"]);
    assert.deepEqual(lab.remove(fault.id), fault);
    for (const type of RESOURCE_TYPES) assert.deepEqual(names(type), SERVICES, shortTypeName(type));
    // Bottom-up: every name a restored resource references is already back.
    assert.deepEqual(delivered, ["EDS:login,search", "CDS:login,search", "RDS:login,search", "LDS:login,search"]);
    assert.deepEqual(lab.list(), []);
  });

  it("faults - config-loss keeps hiding a service across later updates from the inner watcher", () => {
    const { lab, inner, names } = setup();
    lab.add({ kind: "config-loss", services: ["login", "search"] });
    inner.set(CLUSTER_TYPE, [createResource(CLUSTER_TYPE, "login", Buffer.from("v2")), createResource(CLUSTER_TYPE, "play", Buffer.from("p"))]);
    assert.deepEqual(names(CLUSTER_TYPE), ["play"]);
    assert.deepEqual(names(LISTENER_TYPE), []);
  });

  it("faults - empty-endpoints replaces each ClusterLoadAssignment by a valid one with zero endpoints; other types are untouched", () => {
    const { lab, latest } = setup();
    const before = new Map(RESOURCE_TYPES.map((t) => [t, latest.get(t)!.version]));
    const fault = lab.add({ kind: "empty-endpoints", services: ["login"] });
    const eds = latest.get(ENDPOINT_TYPE)!;
    assert.notEqual(eds.version, before.get(ENDPOINT_TYPE));
    const [login, search] = eds.resources.map((r) => codec.decodeResource(ENDPOINT_TYPE, r.body));
    assert.deepEqual([login!.cluster_name, login!.endpoints], ["login", []]);
    assert.equal(search!.endpoints.length, 1, "a service not named keeps its endpoints");
    for (const type of [LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE]) assert.equal(latest.get(type)!.version, before.get(type));
    lab.remove(fault.id);
    assert.equal(latest.get(ENDPOINT_TYPE)!.version, before.get(ENDPOINT_TYPE));
  });

  it("faults - invalid-config at the server layer replaces each Cluster by one with lb_policy MAGLEV; remove restores it", () => {
    const { lab, latest } = setup();
    const before = latest.get(CLUSTER_TYPE)!.version;
    const fault = lab.add({ kind: "invalid-config", services: ["login"] });
    const [login, search] = latest.get(CLUSTER_TYPE)!.resources;
    const cluster = codec.decodeResource(CLUSTER_TYPE, login!.body);
    assert.deepEqual([cluster.name, cluster.lb_policy, cluster.eds_cluster_config?.service_name], ["login", "MAGLEV", "login"]);
    assert.equal(search!.body.toString(), `${CLUSTER_TYPE}/search`, "a service not named keeps its Cluster");
    lab.remove(fault.id);
    assert.equal(latest.get(CLUSTER_TYPE)!.version, before);
  });

  it("faults - layer pipeline goes to the pipeline faults, not to the injector; the view and the log show the layer", () => {
    const { lab, injector, pipeline, guarded, names, logLines } = setup();
    const snapshot = createSnapshot(7, { [LISTENER_TYPE]: new Map(SERVICES.map((name) => [name, createResource(LISTENER_TYPE, name, Buffer.from(name))])) });
    pipeline.offer(snapshot);
    const fault = lab.add({ kind: "config-loss", layer: "pipeline", services: ["login"] });
    assert.equal(fault.layer, "pipeline");
    assert.deepEqual(injector.active(), [], "nothing acts below the guard");
    assert.deepEqual(names(LISTENER_TYPE), SERVICES, "clients see no change from the pipeline layer itself");
    assert.deepEqual(pipeline.active().map((a) => a.fault), [{ kind: "config-loss", services: ["login"] }]);
    assert.deepEqual([...guarded.at(-1)!.resources[LISTENER_TYPE].keys()], ["search"], "the guard got the faulted snapshot at once");
    assert.equal(guarded.at(-1)!.revision, 7);
    assert.deepEqual(lab.list(), [fault]);
    lab.remove(fault.id);
    assert.deepEqual(pipeline.active(), []);
    assert.equal(guarded.at(-1)!.version, snapshot.version, "removing it re-sends the snapshot as built");
    assert.deepEqual(logLines().map((l) => [l.msg, l.layer]), [["fault injected", "pipeline"], ["fault removed", "pipeline"]]);
  });

  it("faults - stream-error ends every open stream at once and refuses new ones with the status, until removed", () => {
    const { lab, injector } = setup();
    const open = attach(injector);
    const fault = lab.add({ kind: "stream-error", services: [], status: "NOT_FOUND" });
    assert.equal(fault.status, "NOT_FOUND");
    assert.deepEqual(open.ended, [[5, `ADS stream ended by injected fault ${fault.id} (stream-error NOT_FOUND)`]]);
    const refused = attach(injector).admission;
    assert.ok("refuse" in refused);
    assert.equal(refused.refuse.code, grpc.status.NOT_FOUND);
    lab.remove(fault.id);
    assert.ok("detach" in attach(injector).admission, "new streams are accepted again");
  });

  it("faults - stream-error without a status ends streams with UNAVAILABLE", () => {
    const { lab, injector } = setup();
    const fault = lab.add({ kind: "stream-error", services: ["login"] });
    assert.equal(fault.status, "UNAVAILABLE");
    const { admission } = attach(injector);
    assert.ok("refuse" in admission && admission.refuse.code === grpc.status.UNAVAILABLE);
  });

  it("faults - stall withholds every response while active; removing it delivers the latest state", () => {
    const { lab, inner, injector, delivered, names } = setup();
    delivered.length = 0;
    const fault = lab.add({ kind: "stall", services: [] });
    inner.set(LISTENER_TYPE, [createResource(LISTENER_TYPE, "login", Buffer.from("l2"))]);
    assert.deepEqual(delivered, [], "nothing is answered during a stall");
    assert.ok("detach" in attach(injector).admission, "streams are still accepted");
    lab.remove(fault.id);
    assert.deepEqual(delivered, ["LDS:login"]);
    assert.deepEqual(names(LISTENER_TYPE), ["login"]);
  });

  it("faults - durationMs removes the fault when it expires, on the injected clock", () => {
    const { lab, clock, names, logLines } = setup();
    const fault = lab.add({ kind: "config-loss", services: ["login"], durationMs: 30_000 });
    assert.equal(fault.expiresAt, "2022-03-08T18:07:30.000Z");
    clock.advance(29_999);
    assert.deepEqual(names(LISTENER_TYPE), ["search"]);
    assert.equal(lab.list().length, 1);
    clock.advance(1);
    assert.deepEqual(names(LISTENER_TYPE), SERVICES);
    assert.deepEqual(lab.list(), []);
    assert.equal(clock.pending(), 0);
    assert.equal(logLines().at(-1)!.reason, "expired");
  });

  it("faults - remove and clear cancel expiry timers; clear restores everything and returns what it removed", () => {
    const { lab, clock, names, injector } = setup();
    const a = lab.add({ kind: "config-loss", services: ["login"], durationMs: 1000 });
    const b = lab.add({ kind: "empty-endpoints", services: ["search"], durationMs: 2000 });
    const c = lab.add({ kind: "stall", services: [] });
    lab.remove(a.id);
    assert.equal(clock.pending(), 1);
    assert.deepEqual(lab.clear(), [b, c]);
    assert.equal(clock.pending(), 0);
    assert.deepEqual(injector.active(), []);
    assert.deepEqual(names(LISTENER_TYPE), SERVICES);
    clock.advance(5000);
    assert.deepEqual(lab.list(), []);
  });

  it("faults - removing an unknown id throws NotFoundError and changes nothing", () => {
    const { lab } = setup();
    const fault = lab.add({ kind: "stall", services: [] });
    assert.throws(() => lab.remove("fault-99"), (err) => err instanceof NotFoundError && err.message === 'fault "fault-99" not found; GET /v1/faults lists the active faults');
    assert.deepEqual(lab.list(), [fault]);
  });

  it("faults - a bad spec throws one ValidationError naming every problem, and applies nothing", () => {
    const { lab, injector, pipeline, clock } = setup();
    const bad = { kind: "config-loss", services: ["login", "Bad_Name", "login"], status: "NOT_FOUND", durationMs: 0 } as unknown as LabFaultSpec;
    assert.throws(() => lab.add(bad), (err) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual(err.issues.map((i) => i.path), ["services[1]", "durationMs", "status", "services[2]"]);
      return true;
    });
    assert.throws(() => lab.add({ kind: "stall", layer: "pipeline", services: [] }), (err) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.message, 'layer: must be "server" for kind "stall", which acts on ADS streams; "pipeline" is allowed for config-loss, empty-endpoints, invalid-config');
      return true;
    });
    assert.deepEqual(injector.active(), []);
    assert.deepEqual(pipeline.active(), []);
    assert.deepEqual(lab.list(), []);
    assert.equal(clock.pending(), 0);
  });

  it("faults - metrics count active faults and injections by kind; every add and remove is logged at warn with id, kind and services", async () => {
    const { lab, metrics, logLines } = setup();
    const a = lab.add({ kind: "config-loss", services: ["login"] });
    lab.add({ kind: "config-loss", services: ["search"] });
    lab.add({ kind: "stall", services: [] });
    assert.equal(await metricValue(metrics, "steadymesh_faults_active"), 3);
    assert.equal(await metricValue(metrics, "steadymesh_faults_injected_total", { kind: "config-loss" }), 2);
    assert.equal(await metricValue(metrics, "steadymesh_faults_injected_total", { kind: "stall" }), 1);
    lab.remove(a.id);
    assert.equal(await metricValue(metrics, "steadymesh_faults_active"), 2);
    lab.clear();
    assert.equal(await metricValue(metrics, "steadymesh_faults_active"), 0);
    const lines = logLines();
    assert.equal(lines.length, 6);
    assert.ok(lines.every((l) => l.level === 40 && l.component === "faults" && l.layer === "server"));
    assert.deepEqual(
      lines.map((l) => [l.msg, l.fault, l.kind, l.services]),
      [
        ["fault injected", a.id, "config-loss", ["login"]],
        ["fault injected", "fault-2", "config-loss", ["search"]],
        ["fault injected", "fault-3", "stall", []],
        ["fault removed", a.id, "config-loss", ["login"]],
        ["fault removed", "fault-2", "config-loss", ["search"]],
        ["fault removed", "fault-3", "stall", []],
      ],
    );
  });

  it("faults - the gRPC status table matches @grpc/grpc-js", () => {
    for (const [name, code] of Object.entries(GRPC_STATUS_CODES)) assert.equal(grpc.status[name as keyof typeof grpc.status], code, name);
    assert.equal(Object.keys(GRPC_STATUS_CODES).length, Object.keys(grpc.status).filter((k) => Number.isNaN(Number(k))).length);
  });
});
