/**
 * The guard's generation store writes each generation's resources as what
 * changed against the last one it wrote (issue 15: the log grows with the
 * change, not the snapshot), and reads every generation back whole, even
 * once it has left the store's memory.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SortedMap } from "../../src/collections/index.js";
import { createGenerationStore } from "../../src/guard/generation-store.js";
import type { Generation } from "../../src/guard/model.js";
import { createSilentLogger } from "../../src/log/index.js";
import { loadCodec } from "../../src/proto/index.js";
import { createMemoryStore, type GenerationLog, type ResourceChanges, type StoredResource } from "../../src/registry/index.js";
import { nextView } from "../../src/registry/next-view.js";
import type { Instance, RegistryView } from "../../src/registry/index.js";
import { buildSnapshot, createBuildCache, type Snapshot } from "../../src/snapshot/index.js";

const codec = loadCodec();

function generation(id: number, snapshot: Snapshot): Generation {
  return { id, revision: snapshot.revision, version: snapshot.version, createdAt: new Date(0).toISOString(), status: "pushed", source: "registry", diff: { types: { LDS: { added: [], removed: [], changed: [] }, RDS: { added: [], removed: [], changed: [] }, CDS: { added: [], removed: [], changed: [] }, EDS: { added: [], removed: [], changed: [] } }, endpoints: {} }, history: [] } as unknown as Generation;
}

test("generation store - after the first, each generation is written as changes (here one resource each), and all 12 read back whole after leaving memory", async () => {
  const backend = createMemoryStore();
  const puts: (readonly StoredResource[] | ResourceChanges | undefined)[] = [];
  const log: GenerationLog = { ...backend.generations, put: (g, resources) => (puts.push(resources), backend.generations.put(g, resources)) };
  const store = createGenerationStore(log, createSilentLogger());
  const cache = createBuildCache();
  let view: RegistryView = { revision: 0, services: SortedMap.empty() };
  let built: Snapshot | undefined;
  const snapshots: Snapshot[] = [];
  const instance = (service: string, id: string, port: number): Instance => ({ service, id, address: "10.0.0.1", port, zone: "", region: "", weight: 1, health: "healthy", metadata: {} });
  for (let id = 1; id <= 12; id++) {
    const events = id === 1
      ? Array.from({ length: 50 }, (_, k) => [
          { revision: 1, kind: "service-put" as const, service: { name: `svc-${k}`, protocol: "grpc" as const, lbPolicy: "round_robin" as const, metadata: {} } },
          { revision: 1, kind: "instance-put" as const, instance: instance(`svc-${k}`, "i0", 8000) },
        ]).flat()
      : [{ revision: id, kind: "instance-put" as const, instance: instance(`svc-${id}`, "i0", 8000 + id) }];
    view = nextView(view, id, events);
    built = buildSnapshot(view, codec, cache, built).snapshot;
    snapshots.push(built);
    await store.save(generation(id, built), built);
  }
  assert.ok(Array.isArray(puts[0]) && puts[0].length === 200, "the first generation is written whole (50 services × 4 resources)");
  for (const [i, put] of puts.slice(1).entries()) {
    assert.ok(put && !Array.isArray(put), `generation ${i + 2} written as changes`);
    const changes = put as ResourceChanges;
    assert.equal(changes.base, i + 1);
    assert.deepEqual(changes.upserts.map((r) => r.name), [`svc-${i + 2}`], "only the changed ClusterLoadAssignment");
    assert.deepEqual(changes.removals, []);
  }
  // A fresh store (as after a restart) reads them from the log: nothing in its memory.
  const fresh = createGenerationStore(backend.generations, createSilentLogger());
  for (const [i, snapshot] of snapshots.entries()) {
    const read = await fresh.snapshot(generation(i + 1, snapshot));
    assert.equal(read?.version, snapshot.version, `generation ${i + 1}`);
  }
});
