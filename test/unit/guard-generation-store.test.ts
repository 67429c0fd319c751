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
  const { log, puts } = recording(backend.generations);
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

/** `count` snapshots, each from the one before: 50 services, then one instance's port changed per snapshot. */
/** The log, with every put's resources recorded in `puts`. */
function recording(inner: GenerationLog): { log: GenerationLog; puts: (readonly StoredResource[] | ResourceChanges | undefined)[] } {
  const puts: (readonly StoredResource[] | ResourceChanges | undefined)[] = [];
  return { log: { ...inner, put: (g, resources) => (puts.push(resources), inner.put(g, resources)) }, puts };
}

/** Four snapshots, the first three saved by one store; `after` is a new store on the same log (a restart), its puts recorded. */
async function restarted() {
  const backend = createMemoryStore();
  const snapshots = snapshotsOf(4);
  const before = createGenerationStore(backend.generations, createSilentLogger());
  for (const [i, snapshot] of snapshots.slice(0, 3).entries()) await before.save(generation(i + 1, snapshot), snapshot);
  const { log, puts } = recording(backend.generations);
  return { backend, snapshots, puts, after: createGenerationStore(log, createSilentLogger()) };
}

function snapshotsOf(count: number): Snapshot[] {
  const cache = createBuildCache();
  let view: RegistryView = { revision: 0, services: SortedMap.empty() };
  let built: Snapshot | undefined;
  const out: Snapshot[] = [];
  const instance = (service: string, port: number): Instance => ({ service, id: "i0", address: "10.0.0.1", port, zone: "", region: "", weight: 1, health: "healthy", metadata: {} });
  for (let id = 1; id <= count; id++) {
    const events = id === 1
      ? Array.from({ length: 50 }, (_, k) => [
          { revision: 1, kind: "service-put" as const, service: { name: `svc-${k}`, protocol: "grpc" as const, lbPolicy: "round_robin" as const, metadata: {} } },
          { revision: 1, kind: "instance-put" as const, instance: instance(`svc-${k}`, 8000) },
        ]).flat()
      : [{ revision: id, kind: "instance-put" as const, instance: instance(`svc-${id}`, 8000 + id) }];
    view = nextView(view, id, events);
    built = buildSnapshot(view, codec, cache, built).snapshot;
    out.push(built);
  }
  return out;
}

test("generation store - after a restart, the generation read back from the log is the base of the next one: it is stored as changes, not whole", async () => {
  const { backend, snapshots, puts, after } = await restarted();
  assert.equal((await after.snapshot(generation(3, snapshots[2]!)))?.version, snapshots[2]!.version);
  await after.save(generation(3, snapshots[2]!), snapshots[2]!);
  assert.deepEqual(puts, [undefined], "the generation read back is not written again");
  await after.save(generation(4, snapshots[3]!), snapshots[3]!);
  const changes = puts[1];
  assert.ok(changes !== undefined && !Array.isArray(changes), "written as changes");
  assert.equal((changes as ResourceChanges).base, 3);
  assert.deepEqual((changes as ResourceChanges).upserts.map((r) => r.name), ["svc-4"]);
  assert.equal((await createGenerationStore(backend.generations, createSilentLogger()).snapshot(generation(4, snapshots[3]!)))?.version, snapshots[3]!.version);
});

test("generation store - after a restart that read back an older generation than the log's newest, the next one is stored whole (the log refuses the changes) and reads back", async () => {
  const { backend, snapshots, puts, after } = await restarted();
  assert.equal((await after.snapshot(generation(2, snapshots[1]!)))?.version, snapshots[1]!.version);
  await after.save(generation(4, snapshots[3]!), snapshots[3]!);
  assert.equal(puts.length, 2);
  assert.equal((puts[0] as ResourceChanges).base, 2, "tried as changes against the generation read back");
  assert.ok(Array.isArray(puts[1]) && puts[1].length === 200, "then whole");
  assert.equal((await createGenerationStore(backend.generations, createSilentLogger()).snapshot(generation(4, snapshots[3]!)))?.version, snapshots[3]!.version);
});
