import assert from "node:assert/strict";
import { test } from "node:test";
import { createFakeClock } from "../helpers/fake-clock.js";
import { ConflictError, NotFoundError } from "../../src/errors/index.js";
import { canaryGroupOf, createPushGuard, GUARD_DEFAULTS, ROLLOUT_DEFAULTS, type Generation, type GuardPolicy, type RetentionPolicy, type RolloutPolicy } from "../../src/guard/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, loadCodec, type Cluster } from "../../src/proto/index.js";
import { createMemoryStore, createRegistry, type Registry, type Backend } from "../../src/registry/index.js";
import { buildSnapshot, createResource, createSnapshot, type Snapshot } from "../../src/snapshot/index.js";
import { createSnapshotCache, type ClientStatus, type NodeInfo, type SnapshotCache, type WatchResponse } from "../../src/xds/index.js";

const codec = loadCodec();

interface Setup {
  readonly clock: ReturnType<typeof createFakeClock>;
  readonly store: Backend;
  readonly cache: SnapshotCache;
  readonly registry: Registry;
  readonly clients: ClientStatus[];
  readonly metrics: ReturnType<typeof createMetrics>;
  guard: Awaited<ReturnType<typeof createPushGuard>>;
  snap(): Snapshot;
  restart(): Promise<void>;
}

async function setup(policy: Partial<GuardPolicy> = {}, rollout: Partial<RolloutPolicy> = {}, retention?: RetentionPolicy, onGeneration?: (g: Generation) => void): Promise<Setup> {
  const clock = createFakeClock(1_000_000);
  const store = createMemoryStore();
  const cache = createSnapshotCache({ groupOf: canaryGroupOf({ ...ROLLOUT_DEFAULTS, ...rollout }) });
  const registry = await createRegistry(createMemoryStore());
  const clients: ClientStatus[] = [];
  const metrics = createMetrics({ processMetrics: false });
  const make = () =>
    createPushGuard({
      log: store.generations, cache, codec, clock, metrics, logger: createSilentLogger(), clientStatus: { clients: () => clients },
      policy: { ...GUARD_DEFAULTS, ...policy }, rollout: { ...ROLLOUT_DEFAULTS, ...rollout }, ...(retention && { retention }), ...(onGeneration && { onGeneration }),
    });
  const s: Setup = {
    clock, store, cache, registry, clients, metrics,
    guard: await make(),
    snap() {
      const result = buildSnapshot(registry.view(), codec);
      assert.ok(result.ok);
      return result.snapshot;
    },
    async restart() {
      await s.guard.close();
      s.guard = await make();
    },
  };
  return s;
}

async function put(registry: Registry, service: string, ids: number[]): Promise<void> {
  for (const i of ids) await registry.putInstance(service, `i${i}`, { address: "127.0.0.1", port: 9000 + i });
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, k) => from + k);
}

/** Endpoints `host:port` that a watch for `service`'s ClusterLoadAssignment sees now. */
function watchEndpoints(cache: SnapshotCache, service: string, node: NodeInfo = { id: "n", cluster: "", metadata: {} }): { ports: number[]; generation?: number } {
  let seen: WatchResponse | undefined;
  const cancel = cache.watch({ typeUrl: ENDPOINT_TYPE, subscription: { wildcard: false, names: new Set([service]) }, nodeId: node.id, node }, (r) => (seen = r));
  cancel();
  if (!seen || seen.resources.length === 0) return { ports: [] };
  const cla = codec.decodeResource(ENDPOINT_TYPE, seen.resources[0]!.body);
  const ports = cla.endpoints.flatMap((g) => g.lb_endpoints.map((e) => e.endpoint?.address?.socket_address?.port_value ?? 0));
  return { ports: ports.sort((a, b) => a - b), ...(seen.tag !== undefined && { generation: seen.tag }) };
}

test("guard - the first generation is pushed; a small change is pushed; an unchanged snapshot makes no generation", async () => {
  const s = await setup();
  await put(s.registry, "greeter", range(1, 10));
  await s.guard.offer(s.snap());
  await put(s.registry, "greeter", [11]);
  await s.guard.offer(s.snap());
  await s.guard.offer(s.snap());
  const gens = s.guard.list();
  assert.deepEqual(gens.map((g) => [g.id, g.status]), [[1, "pushed"], [2, "pushed"]]);
  assert.deepEqual(gens[1]!.diff.endpoints["greeter"], { before: 10, after: 11, added: ["127.0.0.1:9011"], removed: [] });
  assert.deepEqual(watchEndpoints(s.cache, "greeter"), { ports: range(9001, 9011), generation: 2 });
});

test("guard - removing 9 of 10 endpoints is held; clients keep all 10 until it is approved", async () => {
  const s = await setup();
  await put(s.registry, "greeter", range(1, 10));
  await s.guard.offer(s.snap());
  for (const i of range(2, 10)) await s.registry.deleteInstance("greeter", `i${i}`);
  await s.guard.offer(s.snap());
  const held = s.guard.get(2)!;
  assert.equal(held.status, "held");
  assert.match(held.reason, /removes 9 of 10 endpoints of greeter \(90% > 50%\)/);
  assert.deepEqual(held.problems.map((p) => p.path), ["EDS/greeter"]);
  assert.deepEqual(watchEndpoints(s.cache, "greeter").ports, range(9001, 9010));
  assert.match(await s.metrics.registry.getSingleMetricAsString("steadymesh_guard_holds_total"), /rule="endpoint-removal"} 1/);
  assert.match(await s.metrics.registry.getSingleMetricAsString("steadymesh_guard_holding"), /steadymesh_guard_holding 1/);
  const approved = await s.guard.approve(2);
  assert.equal(approved.status, "pushed");
  assert.deepEqual(watchEndpoints(s.cache, "greeter"), { ports: [9001], generation: 2 });
  assert.match(await s.metrics.registry.getSingleMetricAsString("steadymesh_guard_holding"), /steadymesh_guard_holding 0/);
  await assert.rejects(s.guard.approve(2), (e) => e instanceof ConflictError && /generation 2 is pushed; only a held generation/.test(e.message));
  await assert.rejects(s.guard.approve(99), NotFoundError);
});

test("guard - a rolling replacement (10 new instances, the 10 old removed) is never held", async () => {
  const s = await setup();
  await put(s.registry, "greeter", range(1, 10));
  await s.guard.offer(s.snap());
  await put(s.registry, "greeter", range(11, 20));
  await s.guard.offer(s.snap());
  for (const i of range(1, 10)) await s.registry.deleteInstance("greeter", `i${i}`);
  await s.guard.offer(s.snap());
  assert.deepEqual(s.guard.list().map((g) => g.status), ["pushed", "pushed", "pushed"]);
  assert.deepEqual(watchEndpoints(s.cache, "greeter").ports, range(9011, 9020));
});

test("guard - a generation a stock client would NACK is rejected, never reaches the cache, and says why per resource", async () => {
  const s = await setup();
  await put(s.registry, "greeter", [1, 2]);
  const good = s.snap();
  await s.guard.offer(good);
  const cluster = codec.decodeResource(CLUSTER_TYPE, good.resources[CLUSTER_TYPE].get("greeter")!.body);
  const maglev = createResource(CLUSTER_TYPE, "greeter", codec.encodeResource(CLUSTER_TYPE, { ...cluster, lb_policy: "MAGLEV" } as unknown as Cluster));
  const bad = createSnapshot(good.revision + 1, { ...good.resources, [CLUSTER_TYPE]: new Map([["greeter", maglev]]) });
  await s.guard.offer(bad);
  const rejected = s.guard.get(2)!;
  assert.equal(rejected.status, "rejected");
  assert.ok(rejected.problems.some((p) => p.path.startsWith("CDS/greeter") && /MAGLEV/.test(p.message)), JSON.stringify(rejected.problems));
  assert.equal(s.cache.current()!.version, good.version);
  await s.guard.offer(bad);
  assert.equal(s.guard.list().length, 2, "offering the same rejected snapshot again makes no new generation");
});

test("guard - a held drain is released step by step at the configured rate, never below one endpoint without approval", async () => {
  const s = await setup({ drainIntervalMs: 1000, drainStep: 0.1 });
  await put(s.registry, "greeter", range(1, 10));
  await s.guard.offer(s.snap());
  for (const i of range(2, 10)) await s.registry.deleteInstance("greeter", `i${i}`);
  await s.guard.offer(s.snap());
  const counts: number[] = [];
  for (let k = 0; k < 12; k++) {
    s.clock.advance(1000);
    await s.guard.settled();
    counts.push(watchEndpoints(s.cache, "greeter").ports.length);
  }
  assert.deepEqual(counts.slice(0, 5), [9, 8, 7, 6, 5], "one endpoint (10%) per interval");
  assert.equal(counts.at(-1), 1, "the drain reaches the held generation");
  assert.equal(s.guard.get(2)!.status, "pushed");
  assert.ok(s.guard.list().some((g) => g.source === "drain" && g.from === 2));
});

test("guard - a generation that deletes most services is held and never drained; whole-service removals wait for approval", async () => {
  const s = await setup({ drainIntervalMs: 1000 });
  for (const svc of ["accounts", "login", "playback"]) await put(s.registry, svc, [1, 2]);
  await s.guard.offer(s.snap());
  await s.registry.deleteService("login");
  await s.registry.deleteService("accounts");
  await s.guard.offer(s.snap());
  assert.equal(s.guard.get(2)!.status, "held");
  assert.match(s.guard.get(2)!.reason, /removes 2 of 3 Listeners/);
  s.clock.advance(10_000);
  await s.guard.settled();
  assert.equal(s.cache.current()!.resources[LISTENER_TYPE].size, 3);
  assert.equal(s.guard.list().length, 2);
});

test("guard - a service left with no endpoints is held", async () => {
  const s = await setup();
  await put(s.registry, "greeter", [1, 2, 3]);
  await s.guard.offer(s.snap());
  for (const i of [1, 2, 3]) await s.registry.putInstance("greeter", `i${i}`, { address: "127.0.0.1", port: 9000 + i, health: "unhealthy" });
  await s.guard.offer(s.snap());
  assert.equal(s.guard.get(2)!.status, "held");
  assert.match(s.guard.get(2)!.reason, /leaves greeter with no endpoints \(it had 3\)/);
});

test("guard - rollback pushes an earlier generation again, marks the replaced one rolled-back, and pins until an approval", async () => {
  const s = await setup();
  await put(s.registry, "greeter", [1, 2]);
  await s.guard.offer(s.snap());
  await put(s.registry, "greeter", [3]);
  await s.guard.offer(s.snap());
  const back = await s.guard.rollback(1);
  assert.deepEqual([back.id, back.status, back.source, back.from], [3, "pushed", "rollback", 1]);
  assert.equal(s.guard.get(2)!.status, "rolled-back");
  assert.deepEqual(watchEndpoints(s.cache, "greeter").ports, [9001, 9002]);
  await put(s.registry, "greeter", [4]);
  await s.guard.offer(s.snap());
  assert.equal(s.guard.get(4)!.status, "held");
  assert.match(s.guard.get(4)!.reason, /pinned to generation 3/);
  await s.guard.approve(4);
  assert.deepEqual(watchEndpoints(s.cache, "greeter").ports, [9001, 9002, 9003, 9004]);
  await assert.rejects(s.guard.rollback(4), (e) => e instanceof ConflictError && /already has/.test(e.message));
});

test("guard - generations, statuses and the pushed snapshot survive a restart; a held generation stays held", async () => {
  const s = await setup();
  await put(s.registry, "greeter", range(1, 10));
  await s.guard.offer(s.snap());
  for (const i of range(2, 10)) await s.registry.deleteInstance("greeter", `i${i}`);
  await s.guard.offer(s.snap());
  const before = s.guard.list();
  const fresh = createSnapshotCache();
  await s.guard.close();
  s.guard = await createPushGuard({
    log: s.store.generations, cache: fresh, codec, clock: s.clock, logger: createSilentLogger(), clientStatus: { clients: () => [] },
    policy: GUARD_DEFAULTS, rollout: ROLLOUT_DEFAULTS,
  });
  assert.deepEqual(s.guard.list(), before);
  assert.deepEqual(watchEndpoints(fresh, "greeter"), { ports: range(9001, 9010), generation: 1 }, "the last pushed generation is served before the registry is read");
  await s.guard.offer(s.snap());
  assert.equal(s.guard.list().length, 2, "the same held snapshot makes no new generation");
  assert.deepEqual(watchEndpoints(fresh, "greeter").ports, range(9001, 9010));
});

function client(nodeId: string, generation: { sent: number; acked?: number }): ClientStatus {
  return {
    streamId: `s-${nodeId}`, nodeId, cluster: "", metadata: {}, userAgent: "test", peer: "local", connectedAt: "", protocol: "sotw",
    types: { EDS: { typeUrl: ENDPOINT_TYPE, subscribed: ["greeter"], sentVersion: "v", sentNonce: "1", ackedVersion: "v", sentGeneration: generation.sent, ...(generation.acked !== undefined && { ackedGeneration: generation.acked }) } },
  };
}

test("guard - canary: the canary group gets the generation first; promoted once every canary client ACKed and the bake time passed", async () => {
  const s = await setup({}, { canary: [{ kind: "node-id", glob: "canary-*" }], bakeMs: 5000 });
  const canaryNode = { id: "canary-1", cluster: "", metadata: {} };
  const stableNode = { id: "stable-1", cluster: "", metadata: {} };
  await put(s.registry, "greeter", [1, 2]);
  await s.guard.offer(s.snap());
  await put(s.registry, "greeter", [3]);
  await s.guard.offer(s.snap());
  assert.equal(s.guard.get(2)!.status, "canary");
  assert.deepEqual(watchEndpoints(s.cache, "greeter", canaryNode), { ports: [9001, 9002, 9003], generation: 2 });
  assert.deepEqual(watchEndpoints(s.cache, "greeter", stableNode), { ports: [9001, 9002], generation: 1 });
  s.clients.push(client("canary-1", { sent: 2, acked: 1 }), client("stable-1", { sent: 1, acked: 1 }));
  s.clock.advance(5000);
  await s.guard.settled();
  assert.equal(s.guard.get(2)!.status, "canary", "not promoted while a canary client has not ACKed");
  s.clients[0] = client("canary-1", { sent: 2, acked: 2 });
  s.guard.onReply({ streamId: "s-canary-1", node: canaryNode, typeUrl: ENDPOINT_TYPE, tag: 2 });
  await s.guard.settled();
  assert.equal(s.guard.get(2)!.status, "pushed");
  assert.deepEqual(watchEndpoints(s.cache, "greeter", stableNode), { ports: [9001, 9002, 9003], generation: 2 });
});

test("guard - canary NACK: the canary is rolled back, the generation held with the client's error_detail, other groups never see it", async () => {
  const s = await setup({}, { canary: [{ kind: "metadata", key: "group", value: "canary" }], bakeMs: 5000 });
  const canaryNode = { id: "c1", cluster: "", metadata: { group: "canary" } };
  const stableNode = { id: "s1", cluster: "", metadata: { group: "main" } };
  await put(s.registry, "greeter", [1, 2]);
  await s.guard.offer(s.snap());
  await put(s.registry, "greeter", [3]);
  await s.guard.offer(s.snap());
  assert.equal(watchEndpoints(s.cache, "greeter", canaryNode).generation, 2);
  s.guard.onReply({ streamId: "s9", node: canaryNode, typeUrl: ENDPOINT_TYPE, tag: 2, nack: { code: 3, message: "locality weight too large" } });
  await s.guard.settled();
  const held = s.guard.get(2)!;
  assert.equal(held.status, "held");
  assert.equal(held.nack?.nodeId, "c1");
  assert.equal(held.nack?.errorDetail.message, "locality weight too large");
  assert.match(held.reason, /canary NACK from c1 \(EDS\): locality weight too large/);
  assert.deepEqual(watchEndpoints(s.cache, "greeter", canaryNode), { ports: [9001, 9002], generation: 1 });
  assert.deepEqual(watchEndpoints(s.cache, "greeter", stableNode), { ports: [9001, 9002], generation: 1 });
  s.clock.advance(60_000);
  await s.guard.settled();
  assert.equal(s.guard.get(2)!.status, "held", "the bake timer does not promote a NACKed canary");
});

test("guard - with the guard off, mass deletions are pushed but invalid generations are still rejected", async () => {
  const s = await setup({ enabled: false });
  await put(s.registry, "greeter", range(1, 10));
  await s.guard.offer(s.snap());
  for (const i of range(2, 10)) await s.registry.deleteInstance("greeter", `i${i}`);
  await s.guard.offer(s.snap());
  assert.equal(s.guard.get(2)!.status, "pushed");
  assert.deepEqual(watchEndpoints(s.cache, "greeter").ports, [9001]);
});

test("guard - a push's record is written before clients get it and its resources after; a crash in between restarts on the generation before", async () => {
  const s = await setup();
  await put(s.registry, "greeter", range(1, 3));
  await s.guard.offer(s.snap());
  // Watch what the log holds at the moment the cache is handed generation 2.
  const logged: Array<{ record: boolean; resources: boolean }> = [];
  const cancel = s.cache.watch({ typeUrl: ENDPOINT_TYPE, subscription: { wildcard: true }, nodeId: "n", node: { id: "n", cluster: "", metadata: {} } }, (r) => {
    if (r.tag !== 2) return;
    void Promise.all([s.store.generations.list(), s.store.generations.resources(2)]).then(([records, resources]) =>
      logged.push({ record: records.some((g) => g.id === 2 && g.record["status"] === "pushed"), resources: resources !== undefined }),
    );
  });
  await put(s.registry, "greeter", [4]);
  await s.guard.offer(s.snap());
  cancel();
  assert.deepEqual(logged, [{ record: true, resources: false }], "the record was durable when clients got it; the resources followed");
  assert.ok(await s.store.generations.resources(2), "then the resources");

  // Simulate a crash in that window: generation 3's record without its resources.
  await put(s.registry, "greeter", [5]);
  await s.guard.offer(s.snap());
  const records = await s.store.generations.list();
  await s.store.generations.retain(new Set([1, 2]));
  for (const r of records) await s.store.generations.put(r);
  assert.equal(await s.store.generations.resources(3), undefined);
  const fresh = createSnapshotCache();
  await s.guard.close();
  s.guard = await createPushGuard({
    log: s.store.generations, cache: fresh, codec, clock: s.clock, logger: createSilentLogger(), clientStatus: { clients: () => [] },
    policy: GUARD_DEFAULTS, rollout: ROLLOUT_DEFAULTS,
  });
  assert.deepEqual(watchEndpoints(fresh, "greeter"), { ports: range(9001, 9004), generation: 2 }, "the newest pushed generation with resources");
  await s.guard.offer(s.snap());
  assert.deepEqual(watchEndpoints(fresh, "greeter").ports, range(9001, 9005), "the registry's state is pushed again as a new generation");
  assert.equal(s.guard.list().at(-1)!.status, "pushed");
});

test("guard - when a pushed generation's resources cannot be stored, the push stands and the guard goes on from it", async () => {
  const s = await setup();
  let failBodies = false;
  const log = { ...s.store.generations, put: async (g: Parameters<typeof s.store.generations.put>[0], r?: Parameters<typeof s.store.generations.put>[1]) => {
    if (r && failBodies) throw new Error("disk full");
    return s.store.generations.put(g, r);
  } };
  await s.guard.close();
  s.guard = await createPushGuard({ log, cache: s.cache, codec, clock: s.clock, logger: createSilentLogger(), clientStatus: { clients: () => [] }, policy: GUARD_DEFAULTS, rollout: ROLLOUT_DEFAULTS });
  await put(s.registry, "greeter", range(1, 3));
  await s.guard.offer(s.snap());
  failBodies = true;
  await put(s.registry, "greeter", [4]);
  await s.guard.offer(s.snap());
  assert.deepEqual(watchEndpoints(s.cache, "greeter"), { ports: range(9001, 9004), generation: 2 });
  assert.equal(s.guard.get(2)?.status, "pushed");
  assert.equal(await s.store.generations.resources(2), undefined, "its resources are not stored");
  failBodies = false;
  await put(s.registry, "greeter", [5]);
  await s.guard.offer(s.snap());
  assert.equal(s.guard.get(3)?.diff.against, 2, "the next generation is compared with what clients have");
  assert.deepEqual(s.guard.get(3)?.diff.endpoints["greeter"]?.added, ["127.0.0.1:9005"]);
});

test("guard - after a promoted canary, a rollback reaches the canary group too", async () => {
  const s = await setup({}, { canary: [{ kind: "node-id", glob: "canary-*" }], bakeMs: 5000 });
  const canaryNode = { id: "canary-1", cluster: "", metadata: {} };
  await put(s.registry, "greeter", [1, 2]);
  await s.guard.offer(s.snap());
  await put(s.registry, "greeter", [3]);
  await s.guard.offer(s.snap());
  s.clock.advance(5000);
  await s.guard.settled();
  assert.equal(s.guard.get(2)!.status, "pushed");
  const back = await s.guard.rollback(1);
  assert.equal(back.status, "pushed");
  assert.deepEqual(watchEndpoints(s.cache, "greeter", canaryNode), { ports: [9001, 9002], generation: back.id });
});

test("guard - replies reach the canary through the client-status source it was built with; close stops watching", async () => {
  const s = await setup();
  const listeners = new Set<(reply: Parameters<typeof s.guard.onReply>[0]) => void>();
  await s.guard.close();
  s.guard = await createPushGuard({
    log: s.store.generations, cache: s.cache, codec, clock: s.clock, metrics: s.metrics, logger: createSilentLogger(),
    clientStatus: { clients: () => s.clients, watchReplies: (l) => (listeners.add(l), () => void listeners.delete(l)) },
    policy: GUARD_DEFAULTS, rollout: { canary: [{ kind: "node-id", glob: "canary-*" }], bakeMs: 5000 },
  });
  assert.equal(listeners.size, 1);
  await put(s.registry, "greeter", [1, 2]);
  await s.guard.offer(s.snap());
  await put(s.registry, "greeter", [3]);
  await s.guard.offer(s.snap());
  assert.equal(s.guard.get(2)!.status, "canary");
  for (const l of listeners) l({ streamId: "s1", node: { id: "canary-1", cluster: "", metadata: {} }, typeUrl: ENDPOINT_TYPE, tag: 2, nack: { code: 3, message: "bad" } });
  await s.guard.settled();
  assert.equal(s.guard.get(2)!.status, "held");
  assert.match(await s.metrics.registry.getSingleMetricAsString("steadymesh_guard_holds_total"), /rule="canary-nack"} 1/);
  await s.guard.close();
  assert.equal(listeners.size, 0);
});

test("guard - retention: the log keeps the newest --keep-generations, and with an age limit only younger ones; the served generation always stays and reads back", async () => {
  const s = await setup({}, {}, { keep: 5, maxAgeMs: 0 });
  for (let i = 1; i <= 60; i++) {
    await put(s.registry, "web", [i]);
    await s.guard.offer(s.snap());
  }
  await s.guard.settled();
  const kept = (await s.store.generations.list()).map((g) => g.id);
  // Generation 56 made 56 > 5 + 50: pruned to the newest 5 (52–56); 57–60 came after.
  assert.deepEqual(kept, range(52, 60));
  assert.ok(await s.store.generations.resources(52), "the oldest kept still reads back");

  const aged = await setup({}, {}, { keep: 100, maxAgeMs: 10_000 });
  for (let i = 1; i <= 3; i++) {
    await put(aged.registry, "web", [i]);
    await aged.guard.offer(aged.snap());
  }
  aged.clock.advance(20_000);
  await put(aged.registry, "web", [4]);
  await aged.guard.offer(aged.snap());
  await aged.guard.settled();
  assert.deepEqual((await aged.store.generations.list()).map((g) => g.id), [4], "generations older than 10 s are gone; the new one stays");
  assert.deepEqual(watchEndpoints(aged.cache, "web").ports, [9001, 9002, 9003, 9004]);
});

test("guard - onGeneration hears each record made or changed, after it is stored; a throwing listener changes no decision", async () => {
  const heard: string[] = [];
  const s = await setup({}, {}, undefined, (g) => {
    heard.push(`${g.id} ${g.status}${g.supersededBy === undefined ? "" : ` superseded by ${g.supersededBy}`}`);
    assert.equal(s.guard.get(g.id)?.status, g.status, "the book already holds it");
    throw new Error("a listener bug");
  });
  await put(s.registry, "greeter", range(1, 10));
  await s.guard.offer(s.snap());
  for (const i of range(2, 10)) await s.registry.deleteInstance("greeter", `i${i}`);
  await s.guard.offer(s.snap());
  await s.guard.approve(2);
  assert.deepEqual(heard, ["1 pushed", "2 held", "2 pushed"]);
  assert.deepEqual(watchEndpoints(s.cache, "greeter"), { ports: [9001], generation: 2 });
});
