import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLimitedLog, createLogRateLimiter, createSilentLogger, type Logger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { CLUSTER_TYPE, type DeltaDiscoveryRequest, type DiscoveryRequest } from "../../src/proto/index.js";
import { createResource, createSnapshot, type Snapshot } from "../../src/snapshot/index.js";
import { createSnapshotCache, DEFAULT_GROUP } from "../../src/xds/index.js";
import { DeltaStream } from "../../src/xds/delta-stream.js";
import { SotwStream } from "../../src/xds/sotw-stream.js";
import { createFakeClock } from "../helpers/fake-clock.js";

function snapshotOf(revision: number, clusters: string[]): Snapshot {
  return createSnapshot(revision, { [CLUSTER_TYPE]: new Map(clusters.map((name) => [name, createResource(CLUSTER_TYPE, name, Buffer.from(`${name}@${revision}`))])) });
}

/** A stream's deps over a snapshot cache serving `clusters`, recording warn lines and responses sent. */
function harness(clusters: string[]) {
  const cache = createSnapshotCache();
  cache.setSnapshot(DEFAULT_GROUP, snapshotOf(1, clusters), 1);
  const metrics = createMetrics({ processMetrics: false });
  const clock = createFakeClock();
  const warned: unknown[] = [];
  const silent = createSilentLogger();
  const logger = { ...silent, warn: (fields: unknown) => void warned.push(fields) } as unknown as Logger;
  const sent: Uint8Array[] = [];
  const deps = {
    id: "s1",
    watcher: cache,
    transport: { peer: "test", send: (b: Uint8Array) => void sent.push(b), end: () => undefined },
    wire: { sotw: () => new Uint8Array([1]), delta: () => new Uint8Array([2]), counts: () => ({ sotwEntries: 0, deltaEntries: 0, sotwBlocks: 0 }) },
    logger: silent,
    warn: createLimitedLog(logger, createLogRateLimiter({ now: clock.now })),
    metrics,
    now: clock.now,
  };
  const counted = async () => (await metrics.xdsUnknownNames.get()).values.map((v) => [v.labels.type, v.value]);
  return { cache, deps, sent, warned, counted };
}

const node = { id: "web-1", cluster: "", user_agent_name: "test" };

function sotw(request: Partial<DiscoveryRequest>): DiscoveryRequest {
  return { version_info: "", resource_names: [], type_url: CLUSTER_TYPE, response_nonce: "", ...request } as DiscoveryRequest;
}

function delta(request: Partial<DeltaDiscoveryRequest>): DeltaDiscoveryRequest {
  return { type_url: CLUSTER_TYPE, resource_names_subscribe: [], resource_names_unsubscribe: [], resource_locators_subscribe: [], resource_locators_unsubscribe: [], initial_resource_versions: {}, response_nonce: "", ...request } as DeltaDiscoveryRequest;
}

describe("xds unknown names", () => {
  it("xds unknown names - SotW: subscribed names the served snapshot lacks show in the status, are logged and counted once, and leave when they exist", async () => {
    const h = harness(["greeter"]);
    const stream = new SotwStream(h.deps);
    stream.onRequest(sotw({ node, resource_names: ["greeter", "gretter"] }));
    assert.deepEqual([stream.status().types.CDS?.unknown, stream.status().types.CDS?.unknownCount], [["gretter"], 1]);
    // A new subscription still naming it: a new answer, the name still unknown, not counted or logged again.
    stream.onRequest(sotw({ resource_names: ["gretter", "other"], response_nonce: "1", version_info: "x" }));
    assert.deepEqual(stream.status().types.CDS?.unknown, ["gretter", "other"]);
    assert.deepEqual(await h.counted(), [["CDS", 2]]);
    assert.equal(h.warned.length, 2, "one line per response that named new unknown names");
    h.cache.setSnapshot(DEFAULT_GROUP, snapshotOf(2, ["greeter", "gretter", "other"]), 2);
    assert.equal(stream.status().types.CDS?.unknown, undefined);
    stream.close();
  });

  it("xds unknown names - a wildcard subscription has no unknown names", () => {
    const h = harness(["greeter"]);
    const stream = new SotwStream(h.deps);
    stream.onRequest(sotw({ node }));
    assert.equal(h.sent.length, 1);
    assert.equal(stream.status().types.CDS?.unknown, undefined);
    stream.close();
  });

  it("xds unknown names - Delta: a named subscription flags its names the snapshot lacks, also beside a wildcard", async () => {
    const h = harness(["greeter"]);
    const stream = new DeltaStream(h.deps);
    stream.onRequest(delta({ node, resource_names_subscribe: ["greeter", "gretter"] }));
    assert.deepEqual(stream.status().types.CDS?.unknown, ["gretter"]);
    stream.onRequest(delta({ resource_names_subscribe: ["*", "nope"] }));
    assert.deepEqual(stream.status().types.CDS?.unknown, ["gretter", "nope"]);
    assert.deepEqual(await h.counted(), [["CDS", 2]]);
    stream.close();
  });
});
