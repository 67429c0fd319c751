/**
 * Encode once: a push to N clients encodes each changed resource exactly once
 * (in the snapshot builder, and once more per protocol as a response entry),
 * then writes N responses. Counted with a codec that counts its calls and with
 * the server's own metric, over real gRPC streams from raw SotW and Delta clients.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { ENDPOINT_TYPE, loadCodec, type Codec, type ResourceTypeUrl } from "../../src/proto/index.js";
import type { RegistryView, ServiceEntry } from "../../src/registry/index.js";
import { buildSnapshot, createBuildCache, type Snapshot } from "../../src/snapshot/index.js";
import { createSnapshotCache, createXdsServer, DEFAULT_GROUP, type XdsServer } from "../../src/xds/index.js";
import { entry } from "../helpers/registry-view.js";
import { openRawAds, type RawAdsStream } from "../helpers/raw-ads.js";
import { openRawDeltaAds, type RawDeltaAdsStream } from "../helpers/raw-delta-ads.js";

const real = loadCodec();

/** The codec, counting the calls that encode resources or response entries. */
function countingCodec() {
  const counts = { resources: new Map<ResourceTypeUrl, number>(), sotwEntries: 0, deltaEntries: 0 };
  const codec: Codec = {
    ...real,
    encodeResource(typeUrl, message) {
      counts.resources.set(typeUrl, (counts.resources.get(typeUrl) ?? 0) + 1);
      return real.encodeResource(typeUrl, message);
    },
    // A ClusterLoadAssignment is assembled from its endpoints' bytes: that is its encoding.
    assembleLoadAssignment(name, parts) {
      counts.resources.set(ENDPOINT_TYPE, (counts.resources.get(ENDPOINT_TYPE) ?? 0) + 1);
      return real.assembleLoadAssignment(name, parts);
    },
    encodeDiscoveryResponse(message) {
      counts.sotwEntries += message.resources.length;
      return real.encodeDiscoveryResponse(message);
    },
    encodeDeltaDiscoveryResponse(message) {
      counts.deltaEntries += message.resources.length;
      return real.encodeDeltaDiscoveryResponse(message);
    },
  };
  const snapshot = () => ({ resources: new Map(counts.resources), sotwEntries: counts.sotwEntries, deltaEntries: counts.deltaEntries });
  return { codec, snapshot };
}

/** A service whose instances i-0, i-1, … listen on `ports`. */
function service(name: string, ports: readonly number[]): ServiceEntry {
  return entry(name, ports.map((port, i) => ({ id: `i-${i}`, port })));
}

function portsOf(codec: Codec, body: Uint8Array): number[] {
  const cla = codec.decodeResource(ENDPOINT_TYPE, body);
  return cla.endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint?.address?.socket_address?.port_value ?? -1));
}

async function metricValue(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string>): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name}`);
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

describe("encode once", () => {
  const { codec, snapshot: counted } = countingCodec();
  const metrics = createMetrics();
  const cache = createSnapshotCache();
  const buildCache = createBuildCache();
  let server: XdsServer;
  let port: number;
  const sotw: Array<{ stream: RawAdsStream; names: string[] }> = [];
  const delta: Array<{ stream: RawDeltaAdsStream; wildcard: boolean }> = [];
  const services = new Map(Array.from({ length: 5 }, (_, i) => [`svc-${i}`, service(`svc-${i}`, [8000, 8001, 8002])]));

  function publish(revision: number): Snapshot {
    const result = buildSnapshot({ revision, services: new Map(services) } satisfies RegistryView, codec, buildCache);
    assert.ok(result.ok);
    cache.setSnapshot(DEFAULT_GROUP, result.snapshot, revision);
    return result.snapshot;
  }

  before(async () => {
    publish(1);
    server = createXdsServer({ watcher: cache, codec, logger: createSilentLogger(), metrics });
    ({ port } = await server.listen("127.0.0.1", 0));
    for (let i = 0; i < 16; i++) sotw.push({ stream: openRawAds(port, real), names: i < 12 ? ["svc-0", "svc-1", "svc-2"] : ["svc-0"] });
    for (let i = 0; i < 12; i++) delta.push({ stream: openRawDeltaAds(port, real), wildcard: i >= 8 });
    for (const { stream, names } of sotw) stream.send({ type_url: ENDPOINT_TYPE, resource_names: names, node: { id: "sotw", cluster: "", user_agent_name: "test", client_features: [] } as never });
    for (const { stream, wildcard } of delta) stream.send({ type_url: ENDPOINT_TYPE, resource_names_subscribe: wildcard ? ["*"] : ["svc-0", "svc-1", "svc-2"] });
    for (const { stream } of sotw) stream.send({ ...(await ack(stream)) });
    for (const { stream } of delta) {
      const first = await stream.next();
      stream.send({ type_url: ENDPOINT_TYPE, response_nonce: first.nonce });
    }
  });

  async function ack(stream: RawAdsStream) {
    const response = await stream.next();
    return { type_url: ENDPOINT_TYPE, version_info: response.version_info, response_nonce: response.nonce, resource_names: sotw.find((s) => s.stream === stream)!.names };
  }

  after(async () => {
    for (const { stream } of [...sotw, ...delta]) stream.close();
    await server.close();
  });

  it("encode once - one changed endpoint reaches 28 clients with one resource encoding and one response entry per protocol", async () => {
    const before = counted();
    const encodingsBefore = { sotw: await metricValue(metrics, "steadymesh_xds_resource_encodings_total", { protocol: "sotw" }), delta: await metricValue(metrics, "steadymesh_xds_resource_encodings_total", { protocol: "delta" }) };
    const pushesBefore = await metricValue(metrics, "steadymesh_xds_pushes_total", {});

    services.set("svc-0", service("svc-0", [8000, 8001, 9999]));
    publish(2);

    for (const { stream, names } of sotw) {
      const response = await stream.next();
      assert.equal(response.resources.length, names.length, "SotW sends every subscribed resource");
      const svc0 = response.resources[0]!;
      assert.deepEqual(portsOf(real, svc0.value), [8000, 8001, 9999]);
    }
    for (const { stream } of delta) {
      const response = await stream.next();
      assert.deepEqual(response.resources.map((r) => r.name), ["svc-0"], "Delta sends only the changed resource");
      assert.deepEqual(portsOf(real, response.resources[0]!.resource!.value), [8000, 8001, 9999]);
    }

    const afterChange = counted();
    assert.deepEqual(Object.fromEntries(afterChange.resources), { ...Object.fromEntries(before.resources), [ENDPOINT_TYPE]: (before.resources.get(ENDPOINT_TYPE) ?? 0) + 1 }, "the builder encoded one resource: svc-0's ClusterLoadAssignment");
    assert.equal(afterChange.sotwEntries - before.sotwEntries, 1, "one SotW entry encoded for 16 SotW clients");
    assert.equal(afterChange.deltaEntries - before.deltaEntries, 1, "one Delta entry encoded for 12 Delta clients");
    assert.equal(await metricValue(metrics, "steadymesh_xds_resource_encodings_total", { protocol: "sotw" }) - encodingsBefore.sotw, 1);
    assert.equal(await metricValue(metrics, "steadymesh_xds_resource_encodings_total", { protocol: "delta" }) - encodingsBefore.delta, 1);
    assert.equal(await metricValue(metrics, "steadymesh_xds_pushes_total", {}) - pushesBefore, 28, "28 responses written");
  });
});
