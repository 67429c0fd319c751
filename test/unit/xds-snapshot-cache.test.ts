import assert from "node:assert/strict";
import { test } from "node:test";
import { CLUSTER_TYPE } from "../../src/proto/index.js";
import { createResource, createSnapshot, type Snapshot } from "../../src/snapshot/index.js";
import { createSnapshotCache, DEFAULT_GROUP, type NodeInfo, type SnapshotCache, type WatchResponse } from "../../src/xds/index.js";

/** The snapshot cache maps node group → snapshot (as go-control-plane's does); a canary is one more group. */

const node = (id: string): NodeInfo => ({ id, cluster: "", metadata: {} });

function snapshotOf(revision: number, clusters: Record<string, string>): Snapshot {
  const map = new Map(Object.entries(clusters).map(([name, body]) => [name, createResource(CLUSTER_TYPE, name, Buffer.from(body))]));
  return createSnapshot(revision, { [CLUSTER_TYPE]: map });
}

/** A wildcard CDS watch for `id` that records every response. */
function watchFor(cache: SnapshotCache, id: string): { seen: WatchResponse[]; bodies: () => string[]; cancel: () => void } {
  const seen: WatchResponse[] = [];
  const cancel = cache.watch({ typeUrl: CLUSTER_TYPE, subscription: { wildcard: true }, nodeId: id, node: node(id) }, (r) => seen.push(r));
  const bodies = () => (seen.at(-1)?.resources ?? []).map((r) => Buffer.from(r.body).toString());
  return { seen, bodies, cancel };
}

const groupOf = (n: NodeInfo) => (n.id.startsWith("canary-") ? "canary" : DEFAULT_GROUP);

test("snapshot cache - a node in a group gets that group's snapshot and tag; the others get the default group's", () => {
  const cache = createSnapshotCache({ groupOf });
  cache.setSnapshot(DEFAULT_GROUP, snapshotOf(1, { a: "a1" }), 1);
  cache.setSnapshot("canary", snapshotOf(2, { a: "a2" }), 2);
  const plain = watchFor(cache, "web-1");
  const canary = watchFor(cache, "canary-1");
  assert.deepEqual(plain.bodies(), ["a1"]);
  assert.equal(plain.seen.at(-1)?.tag, 1);
  assert.deepEqual(canary.bodies(), ["a2"]);
  assert.equal(canary.seen.at(-1)?.tag, 2);
  assert.equal(cache.current()?.revision, 1);
  assert.equal(cache.current("canary")?.revision, 2);
  assert.equal(cache.current("other"), undefined);
});

test("snapshot cache - a group without a snapshot is served the default group's; clearing a group moves its clients back to it", () => {
  const cache = createSnapshotCache({ groupOf });
  const canary = watchFor(cache, "canary-1");
  assert.equal(canary.seen.length, 0, "no snapshot anywhere: no answer");
  cache.setSnapshot(DEFAULT_GROUP, snapshotOf(1, { a: "a1" }), 1);
  assert.deepEqual(canary.bodies(), ["a1"], "its group has none: the default group's");
  cache.setSnapshot("canary", snapshotOf(2, { a: "a2" }), 2);
  assert.deepEqual(canary.bodies(), ["a2"]);
  cache.clearSnapshot("canary");
  assert.deepEqual(canary.bodies(), ["a1"]);
  assert.equal(canary.seen.at(-1)?.tag, 1);
  assert.equal(canary.seen.length, 3);
  cache.clearSnapshot("canary");
  assert.equal(canary.seen.length, 3, "clearing a group without a snapshot changes nothing");
});

test("snapshot cache - a group's change reaches only its clients; the default group's reaches everyone whose answer changed", () => {
  const cache = createSnapshotCache({ groupOf });
  cache.setSnapshot(DEFAULT_GROUP, snapshotOf(1, { a: "a1" }));
  const plain = watchFor(cache, "web-1");
  const canary = watchFor(cache, "canary-1");
  cache.setSnapshot("canary", snapshotOf(2, { a: "a2" }));
  assert.equal(plain.seen.length, 1, "a canary snapshot is not sent to the default group");
  assert.equal(canary.seen.length, 2);
  cache.setSnapshot(DEFAULT_GROUP, snapshotOf(3, { a: "a3" }));
  assert.equal(plain.seen.length, 2);
  assert.deepEqual(plain.bodies(), ["a3"]);
  assert.equal(canary.seen.length, 2, "the canary group keeps its own snapshot");
  assert.equal(plain.seen.at(-1)?.tag, undefined, "no tag given: none in the response");
});

test("snapshot cache - one answer per (snapshot, type, subscription), shared by every watch of any group that is served that snapshot", () => {
  const cache = createSnapshotCache({ groupOf });
  cache.setSnapshot(DEFAULT_GROUP, snapshotOf(1, { a: "a1", b: "b1" }));
  const one = watchFor(cache, "web-1");
  const two = watchFor(cache, "web-2");
  const canary = watchFor(cache, "canary-1");
  assert.equal(one.seen[0], two.seen[0]);
  assert.equal(one.seen[0], canary.seen[0], "a group without its own snapshot shares the default group's answer");
});

test("snapshot cache - two groups served the same snapshot share its answers' resource lists, each with its own tag", () => {
  const cache = createSnapshotCache({ groupOf });
  const shared = snapshotOf(1, { a: "a1", b: "b1" });
  cache.setSnapshot(DEFAULT_GROUP, shared, 1);
  cache.setSnapshot("canary", shared, 2);
  const plain = watchFor(cache, "web-1");
  const canary = watchFor(cache, "canary-1");
  assert.equal(plain.seen[0]!.resources, canary.seen[0]!.resources, "one resource list, so the wire encodes it once");
  assert.deepEqual([plain.seen[0]!.tag, canary.seen[0]!.tag], [1, 2]);
  cache.setSnapshot("canary", snapshotOf(2, { a: "a2", b: "b1" }), 3);
  assert.notEqual(canary.seen.at(-1)!.resources, plain.seen[0]!.resources, "another snapshot is another answer");
});

test("snapshot cache - without groupOf every node is in the default group", () => {
  const cache = createSnapshotCache();
  cache.setSnapshot("canary", snapshotOf(2, { a: "a2" }));
  const canary = watchFor(cache, "canary-1");
  assert.equal(canary.seen.length, 0);
  cache.setSnapshot(DEFAULT_GROUP, snapshotOf(1, { a: "a1" }));
  assert.deepEqual(canary.bodies(), ["a1"]);
});

test("snapshot cache - watches are found by the names that changed: 300 seeded random steps of snapshots, groups, watches and cancels give every watch exactly the responses a cache that asks every watch would", async () => {
  const { createRng } = await import("../../src/lab/workload/rng.js");
  const { respond } = await import("../../src/xds/snapshot-cache.js");
  const random = createRng(42);
  const names = Array.from({ length: 12 }, (_, i) => `s${i}`);
  const cache = createSnapshotCache({ groupOf });
  const groups = new Map<string, { snapshot: Snapshot; tag: number }>();
  const sourceOf = (group: string) => groups.get(group) ?? groups.get(DEFAULT_GROUP);
  let snapshot = snapshotOf(0, {});
  interface Probe { id: string; group: string; request: Parameters<SnapshotCache["watch"]>[0]; got: string[]; want: string[]; last?: string; cancel: () => void }
  const probes = new Set<Probe>();
  /** The reference: every watch is asked after every change; it is told when its answer's version moved. */
  const expectAll = () => {
    for (const probe of probes) {
      const source = sourceOf(probe.group);
      if (!source) continue;
      const response = respond(source.snapshot, probe.request);
      if (response.version === probe.last) continue;
      probe.last = response.version;
      probe.want.push(`${response.version}/${source.tag}`);
    }
  };
  let revision = 0;
  for (let step = 0; step < 300; step++) {
    const roll = random();
    if (roll < 0.25) {
      const id = `${random() < 0.3 ? "canary-" : "web-"}${step}`;
      const wildcard = random() < 0.2;
      const subscription = wildcard ? { wildcard: true as const } : { wildcard: false as const, names: new Set(names.filter(() => random() < 0.3)) };
      const request = { typeUrl: CLUSTER_TYPE, subscription, nodeId: id, node: node(id) };
      const probe: Probe = { id, group: groupOf(node(id)), request, got: [], want: [], cancel: () => {} };
      // The reference's first answer, as the cache's watch() gives one at once.
      const source = sourceOf(probe.group);
      if (source) {
        const response = respond(source.snapshot, request);
        probe.last = response.version;
        probe.want.push(`${response.version}/${source.tag}`);
      }
      probe.cancel = cache.watch(request, (r) => probe.got.push(`${r.version}/${r.tag}`));
      probes.add(probe);
    } else if (roll < 0.32 && probes.size > 0) {
      const probe = [...probes][Math.floor(random() * probes.size)]!;
      probe.cancel();
      probes.delete(probe);
    } else if (roll < 0.4) {
      groups.delete("canary");
      cache.clearSnapshot("canary");
      expectAll();
    } else {
      // Change 0–3 clusters of the current snapshot, and set it to a group.
      revision++;
      const changes: [string, ReturnType<typeof createResource> | undefined][] = [];
      for (let k = Math.floor(random() * 4); k > 0; k--) {
        const name = names[Math.floor(random() * names.length)]!;
        changes.push([name, random() < 0.2 ? undefined : createResource(CLUSTER_TYPE, name, Buffer.from(`${name}@${revision}`))]);
      }
      const next = createSnapshot(revision, { [CLUSTER_TYPE]: snapshot.resources[CLUSTER_TYPE].with(changes) }, snapshot);
      const group = random() < 0.25 ? "canary" : DEFAULT_GROUP;
      if (group === DEFAULT_GROUP) snapshot = next;
      groups.set(group, { snapshot: next, tag: revision });
      cache.setSnapshot(group, next, revision);
      expectAll();
    }
  }
  let responses = 0;
  for (const probe of probes) {
    assert.deepEqual(probe.got, probe.want, `watch ${probe.id}`);
    responses += probe.got.length;
  }
  assert.ok(responses > 100, `only ${responses} responses: the steps changed too little to prove anything`);
});
