import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import { Etcd3 } from "etcd3";
import { UnavailableError, ValidationError } from "../../src/errors/index.js";
import { openStore, type ChangeEvent, type Store } from "../../src/registry/index.js";
import { openEtcdStore } from "../../src/registry/stores/index.js";
import { startEtcd, type EtcdCluster } from "../helpers/etcd.js";
import { waitFor } from "../helpers/wait-for.js";
// The contract suite stays beside the unit store tests that run it too (memory, sqlite); this file is its etcd run.
import { bodiesAsHex, CDS, EDS, resource, runGenerationLogContract } from "../unit/generation-log-contract.js";
import { runSecretsContract } from "../unit/secrets-contract.js";
import { putInstance, putUniqueInstance, runStoreContract, service } from "../unit/store-contract.js";
import { runTokenStoreContract } from "../unit/token-store-contract.js";

/** One single-member etcd for the contract suite and the tests that do not kill it; each test gets its own prefix. */
let shared: EtcdCluster | undefined;
before(async () => {
  shared = await startEtcd();
});
after(async () => {
  await shared?.stop();
});

function etcd(): EtcdCluster {
  assert.ok(shared, "etcd did not start");
  return shared;
}

let prefixes = 0;
const freshPrefix = (): string => `/steadymesh-test-${process.pid}-${++prefixes}/`;

runStoreContract("etcd", async () => {
  const prefix = freshPrefix();
  const open = (): Promise<Store> => openEtcdStore({ endpoints: etcd().endpoints, prefix });
  return { store: await open(), reopen: open, cleanup: async () => {} };
});

runSecretsContract("etcd", async () => ({ backend: await openEtcdStore({ endpoints: etcd().endpoints, prefix: freshPrefix() }), cleanup: async () => {} }));

test("etcd store - two replicas starting together agree on one secret (the built-in CA), and it survives both", async () => {
  const prefix = freshPrefix();
  const [a, b] = await Promise.all([openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "a" }), openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "b" })]);
  try {
    const [fromA, fromB] = await Promise.all([a.secrets.putIfAbsent("ca/mesh", "root-a"), b.secrets.putIfAbsent("ca/mesh", "root-b")]);
    assert.equal(fromA, fromB);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
  const c = await openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "c" });
  try {
    assert.ok(["root-a", "root-b"].includes((await c.secrets.get("ca/mesh"))!));
  } finally {
    await c.close();
  }
});

runGenerationLogContract("etcd", async () => {
  const prefix = freshPrefix();
  const open = async () => {
    const backend = await openEtcdStore({ endpoints: etcd().endpoints, prefix });
    return { log: backend.generations, close: () => backend.close() };
  };
  return { ...(await open()), reopen: open, cleanup: async () => {} };
});

runTokenStoreContract("etcd", async () => {
  const prefix = freshPrefix();
  const backend = await openEtcdStore({ endpoints: etcd().endpoints, prefix });
  return { backend, reopen: async () => (await backend.close(), openEtcdStore({ endpoints: etcd().endpoints, prefix })), cleanup: async () => {} };
});

/** Every batch a store's watch delivers, and a way to wait for more. */
function recorder(store: Store) {
  const batches: (readonly ChangeEvent[])[] = [];
  store.watch((events) => void batches.push(events));
  const revisions = (): number[] => batches.map((batch) => batch[0]!.revision);
  return {
    batches,
    revisions,
    /** Resolves once a batch of `revision` has arrived; fails after `ms`, with the revisions seen. */
    async until(revision: number, ms = 10_000): Promise<void> {
      await waitFor(`a watch batch of revision ${revision}`, revisions, { until: (seen) => seen.includes(revision), timeoutMs: ms, intervalMs: 20 });
    },
  };
}

/** Commits are retried while etcd elects a leader or comes back. */
const RETRY = { timeoutMs: 15_000, intervalMs: 250 };

test("etcd store - two stores on one prefix see each other's commits in watch and load, at the store's own revision", async () => {
  const prefix = freshPrefix();
  const [a, b] = await Promise.all([openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "a" }), openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "b" })]);
  const raw = new Etcd3({ hosts: etcd().endpoints.map((e) => `http://${e}`) });
  try {
    const seenByA = recorder(a);
    const seenByB = recorder(b);
    const first = await a.commit([putInstance("web", "i1")]);
    assert.equal(first.revision, 1);
    await seenByB.until(1);
    assert.deepEqual(seenByB.batches, [first.events]);
    assert.deepEqual(await b.load(), await a.load());

    // Other etcd writes move etcd's revision, not the store's: it counts commits, and the commit key states it.
    await raw.put("/elsewhere/key").value("x");
    const second = await b.commit([{ kind: "delete-service", name: "web" }]);
    assert.equal(second.revision, 2);
    const record = JSON.parse((await raw.get(`${prefix}commit`).string()) ?? "{}") as { revision?: number };
    assert.equal(record.revision, 2);
    await seenByA.until(2);
    assert.deepEqual(seenByA.batches, [first.events, second.events]);
    assert.deepEqual(await a.load(), { revision: 2, services: [], instances: [] });
  } finally {
    raw.close();
    await Promise.all([a.close(), b.close()]);
  }
});

test("etcd store - group commit: 64 concurrent commits share few txns, each with its own revision; a bad one fails alone; the other replica sees each", async () => {
  const prefix = freshPrefix();
  const [a, b] = await Promise.all([openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "a" }), openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "b" })]);
  try {
    const seenByB = recorder(b);
    const writes = Array.from({ length: 64 }, (_, i) => [putUniqueInstance(`s${i % 4}`, `i${i}`, { port: 8000 + i })]);
    // Commit 10 takes commit 3's address and port (same service): a ConflictError for it alone. Commit 20 is malformed.
    writes[10] = [putUniqueInstance("s2", "clash", { port: 8000 + 2 })];
    writes[20] = [{ kind: "delete-instance", service: "Not A Label", id: "x" }];
    const results = await Promise.allSettled(writes.map((mutations) => a.commit(mutations)));
    assert.match(String(results[10]?.status === "rejected" && results[10].reason), /already used by instance i2/);
    assert.ok(results[20]?.status === "rejected" && results[20].reason instanceof ValidationError);
    const landed = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    assert.equal(landed.length, 62);
    assert.deepEqual(landed.map((r) => r.revision).sort((x, y) => x - y), Array.from({ length: 62 }, (_, i) => i + 1), "one revision per commit");
    const stats = a.commitStats?.();
    assert.ok(stats && stats.items === 64 && stats.batches < 16, `64 commits in ${stats?.batches} batches`);
    await seenByB.until(62);
    assert.deepEqual(seenByB.revisions(), Array.from({ length: 62 }, (_, i) => i + 1), "the other replica gets each commit once, in order");
    assert.deepEqual(seenByB.batches.flat(), [...landed].sort((x, y) => x.revision - y.revision).flatMap((r) => r.events));
    const state = await b.load();
    assert.equal(state.revision, 62);
    assert.equal(state.instances.length, 62);
    assert.ok(!state.instances.some((i) => i.id === "clash"));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test("etcd store - a registry written before group commit and the endpoint index: indexed on open, its revision goes on rising, its duplicates are refused", async () => {
  const prefix = freshPrefix();
  const raw = new Etcd3({ hosts: etcd().endpoints.map((e) => `http://${e}`) });
  try {
    // What the previous format left: instances without index entries, and a format-1 commit record (revision from etcd's).
    const old = (id: string, port: number) => ({ service: "web", id, address: "10.0.0.1", port, zone: "", region: "", weight: 1, health: "healthy", metadata: {} });
    await raw.put(`${prefix}services/web`).value(JSON.stringify(service("web")));
    await raw.put(`${prefix}instances/web/o1`).value(JSON.stringify(old("o1", 8080)));
    await raw.put(`${prefix}instances/web/o2`).value(JSON.stringify(old("o2", 8081)));
    await raw.put(`${prefix}commit`).value(JSON.stringify({ id: "old", events: [] }));
    await raw.put(`${prefix}commit`).value(JSON.stringify({ id: "old2", events: [] }));
    const kv = (await raw.get(`${prefix}commit`).exec()).kvs[0]!;
    const derived = Number(kv.mod_revision) - Number(kv.create_revision) + 1;
    assert.ok(derived >= 2);
    const store = await openEtcdStore({ endpoints: etcd().endpoints, prefix });
    try {
      const { revision } = await store.load();
      assert.equal(revision, derived, "a format-1 record's revision is derived from etcd's");
      assert.equal(await raw.get(`${prefix}endpoints/web/8080/10.0.0.1/o1`).string(), "o1");
      await assert.rejects(store.commit([putUniqueInstance("web", "n1", { address: "10.0.0.1", port: 8081 })]), /already used by instance o2/);
      const next = await store.commit([putUniqueInstance("web", "n1", { address: "10.0.0.1", port: 8082 })]);
      assert.equal(next.revision, derived + 1);
    } finally {
      await store.close();
    }
  } finally {
    raw.close();
  }
});

test("etcd store - deletes a service with more instances than one etcd txn may hold operations, and says when a commit is too big", async () => {
  const store = await openEtcdStore({ endpoints: etcd().endpoints, prefix: freshPrefix() });
  try {
    const ids = Array.from({ length: 150 }, (_, i) => `i${String(i).padStart(3, "0")}`);
    // etcd refuses a txn of more than 128 operations (its --max-txn-ops default).
    await assert.rejects(store.commit(ids.map((id) => putInstance("big", id))), (err: unknown) => {
      assert.ok(err instanceof UnavailableError);
      assert.match(err.message, /^etcd at 127\.0\.0\.1:\d+ refused commit: .*too many operations in txn request/);
      return true;
    });
    // A new instance is two writes (its key and its endpoint index entry): 50 per commit fit.
    for (let i = 0; i < ids.length; i += 50) await store.commit(ids.slice(i, i + 50).map((id) => putInstance("big", id)));
    const seen = recorder(store);
    const result = await store.commit([{ kind: "delete-service", name: "big" }]);
    assert.deepEqual(
      result.events.map((e) => (e.kind === "instance-deleted" ? e.id : e.kind)),
      [...ids, "service-deleted"],
    );
    assert.deepEqual(seen.batches, [result.events]);
    assert.deepEqual(await store.load(), { revision: result.revision, services: [], instances: [] });
  } finally {
    await store.close();
  }
});

test("etcd store - generations: a snapshot larger than one etcd request (bytes and operations) is written, read back and pruned", async () => {
  const prefix = freshPrefix();
  const store = await openEtcdStore({ endpoints: etcd().endpoints, prefix });
  const raw = new Etcd3({ hosts: etcd().endpoints.map((e) => `http://${e}`) });
  const bodyCount = (): Promise<number> => raw.getAll().prefix(`${prefix}replicas/default/bodies/`).count();
  try {
    // 250 distinct 8 KiB bodies: 2 MiB in all, over etcd's 1.5 MiB request limit and its 128 operations per txn.
    const resources = Array.from({ length: 250 }, (_, i) => ({ typeUrl: CDS, name: `c${String(i).padStart(3, "0")}`, body: new Uint8Array(8192).fill(i % 256).map((b, j) => (j === 0 ? i >> 8 : b)) }));
    await store.generations.put({ id: 1, record: { status: "pushed" } }, resources);
    await store.generations.put({ id: 2, record: { status: "pushed" } }, resources);
    assert.deepEqual(bodiesAsHex(await store.generations.resources(2)), bodiesAsHex(resources));
    assert.equal(await bodyCount(), 250, "each body once, however many generations list it");
    await store.generations.retain(new Set([2]));
    assert.equal(await bodyCount(), 250);
    await store.generations.retain(new Set());
    assert.deepEqual(await store.generations.list(), []);
    assert.equal(await store.generations.resources(2), undefined);
    assert.equal(await bodyCount(), 0);
  } finally {
    raw.close();
    await store.close();
  }
});

test("etcd store - generations of 12,000 resources: stored whole once (over one etcd request), then a one-resource change writes a few hundred bytes; retain folds dropped bases", async () => {
  const prefix = freshPrefix();
  const store = await openEtcdStore({ endpoints: etcd().endpoints, prefix });
  const raw = new Etcd3({ hosts: etcd().endpoints.map((e) => `http://${e}`) });
  const stored = async (): Promise<number> => {
    const all = await raw.getAll().prefix(`${prefix}replicas/default/`).buffers();
    return Object.entries(all).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + value.byteLength, 0);
  };
  try {
    const cla = (n: number, v: number) => resource(EDS, `service-${String(n).padStart(5, "0")}`, [n >> 8, n & 255, v]);
    const whole = Array.from({ length: 12_000 }, (_, n) => cla(n, 0));
    await store.generations.put({ id: 1, record: { status: "pushed" } }, whole);
    const before = await stored();
    for (let id = 2; id <= 11; id++) await store.generations.put({ id, record: { status: "pushed" } }, { base: id - 1, upserts: [cla(id, id)], removals: [] });
    const perGeneration = ((await stored()) - before) / 10;
    console.log(`# etcd keys grew ${Math.round(perGeneration)} bytes per one-resource generation (12,000 resources)`);
    // The whole list of references is about 1 MB; a generation that copied it would add that much.
    assert.ok(perGeneration < 2_000, `${perGeneration} bytes per generation`);
    const eleventh = whole.map((r, n) => (n >= 2 && n <= 11 ? cla(n, n) : r));
    assert.deepEqual(bodiesAsHex(await store.generations.resources(11)), bodiesAsHex(eleventh));
    await store.generations.retain(new Set([4, 11]));
    assert.equal(await store.generations.resources(1), undefined);
    assert.deepEqual(bodiesAsHex(await store.generations.resources(4)), bodiesAsHex(whole.map((r, n) => (n >= 2 && n <= 4 ? cla(n, n) : r))));
    assert.deepEqual(bodiesAsHex(await store.generations.resources(11)), bodiesAsHex(eleventh));
    const keys = await raw.getAll().prefix(`${prefix}replicas/default/generation-heads/`).keys();
    assert.equal(keys.length, 2, "a head for each kept generation, none for the dropped ones");
    const bodies = await raw.getAll().prefix(`${prefix}replicas/default/bodies/`).count();
    assert.equal(bodies, 12_000 + 7, "the first versions of services 2-4, which only generation 1 used, are gone");
  } finally {
    raw.close();
    await store.close();
  }
});

test("etcd store - generations stored as whole lists by an earlier version read back, take changes and are pruned", async () => {
  const prefix = freshPrefix();
  const raw = new Etcd3({ hosts: etcd().endpoints.map((e) => `http://${e}`) });
  const at = `${prefix}replicas/default/`;
  const hash = createHash("sha256").update(Buffer.from([7, 7])).digest("hex");
  await raw.put(`${at}generations/${"1".padStart(16, "0")}`).value(JSON.stringify({ status: "pushed" }));
  await raw.put(`${at}generation-resources/${"1".padStart(16, "0")}`).value(JSON.stringify([[CDS, "a", hash]]));
  await raw.put(`${at}bodies/${hash}`).value(Buffer.from([7, 7]));
  const store = await openEtcdStore({ endpoints: etcd().endpoints, prefix });
  try {
    assert.deepEqual(bodiesAsHex(await store.generations.resources(1)), [{ typeUrl: CDS, name: "a", body: "0707" }]);
    await store.generations.put({ id: 2, record: {} }, { base: 1, upserts: [resource(CDS, "b", [1])], removals: [] });
    assert.deepEqual(bodiesAsHex(await store.generations.resources(2)), [{ typeUrl: CDS, name: "a", body: "0707" }, { typeUrl: CDS, name: "b", body: "01" }]);
    await store.generations.retain(new Set([2]));
    assert.equal(await store.generations.resources(1), undefined);
    assert.deepEqual(bodiesAsHex(await store.generations.resources(2)), [{ typeUrl: CDS, name: "a", body: "0707" }, { typeUrl: CDS, name: "b", body: "01" }]);
    assert.equal(await raw.getAll().prefix(`${at}generation-resources/`).count(), 0);
  } finally {
    raw.close();
    await store.close();
  }
});

test("etcd store - refuses commit and load with UnavailableError while etcd is down; after a restart commits work and the watch resumes", async () => {
  const own = await startEtcd();
  const writer = await openEtcdStore({ endpoints: own.endpoints, replica: "writer" });
  const reader = await openEtcdStore({ endpoints: own.endpoints, replica: "reader" });
  try {
    const seen = recorder(reader);
    const first = await writer.commit([putInstance("web", "i1")]);
    await seen.until(first.revision);
    await own.kill(0);
    const started = Date.now();
    const down = new RegExp(`^etcd unavailable at ${own.endpoints[0]!.replace(/\./g, "\\.")}: `);
    await assert.rejects(writer.commit([putInstance("web", "i2")]), (err: unknown) => err instanceof UnavailableError && down.test(err.message));
    await assert.rejects(writer.load(), (err: unknown) => err instanceof UnavailableError && down.test(err.message));
    assert.ok(Date.now() - started < 10_000, `refusals took ${Date.now() - started} ms; they must come within a few seconds`);

    await own.restart(0);
    const second = await waitFor("a commit once etcd is back", () => writer.commit([putInstance("web", "i2")]), RETRY);
    const third = await writer.commit([putInstance("web", "i3")]);
    await seen.until(third.revision);
    assert.deepEqual(seen.revisions(), [first.revision, second.revision, third.revision], "each commit exactly once, in order");
    assert.deepEqual((await reader.load()).instances.map((i) => i.id), ["i1", "i2", "i3"]);
  } finally {
    await Promise.all([writer.close(), reader.close()]);
    await own.stop();
  }
});

test("etcd store - a 3-member cluster keeps committing and watching with any one member killed", async () => {
  const cluster = await startEtcd({ members: 3 });
  const writer = await openEtcdStore({ endpoints: cluster.endpoints, replica: "writer" });
  const reader = await openEtcdStore({ endpoints: cluster.endpoints, replica: "reader" });
  try {
    const seen = recorder(reader);
    const revisions: number[] = [];
    // Each member in turn, so the one that holds the reader's watch stream is killed at some point.
    for (const member of [0, 1, 2]) {
      await cluster.kill(member);
      const result = await waitFor(`a commit with member ${member} down`, () => writer.commit([putInstance("web", `while-m${member}-down`)]), RETRY);
      revisions.push(result.revision);
      await seen.until(result.revision);
      await cluster.restart(member);
    }
    assert.deepEqual(seen.revisions(), revisions, "each commit exactly once, in order");
    assert.deepEqual((await reader.load()).instances.map((i) => i.id), ["while-m0-down", "while-m1-down", "while-m2-down"]);
  } finally {
    await Promise.all([writer.close(), reader.close()]);
    await cluster.stop();
  }
});

test("etcd store - openStore opens etcd://host:port[,host:port…] under the default prefix", async () => {
  const store = await openStore(etcd().spec, { dataDir: "unused" });
  try {
    assert.equal(store.kind, "etcd");
    const result = await store.commit([{ kind: "put-service", service: service("default-prefix") }]);
    assert.deepEqual((await store.load()).services, [service("default-prefix")]);
    assert.ok(result.revision >= 1);
  } finally {
    await store.close();
  }
});

test("etcd store - two live processes cannot share a replica id; each replica keeps its own generation log", async () => {
  const prefix = freshPrefix();
  const first = await openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "r1" });
  await assert.rejects(
    openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "r1", replicaWaitMs: 1500 }),
    (err) => err instanceof UnavailableError && /replica id "r1" is in use by another steadymesh serve on this etcd; give each replica its own --replica-id/.test(err.message),
  );
  const second = await openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "r2" });
  await first.generations.put({ id: 1, record: { from: "r1" } });
  await second.generations.put({ id: 1, record: { from: "r2" } });
  assert.deepEqual(await first.generations.list(), [{ id: 1, record: { from: "r1" } }]);
  assert.deepEqual(await second.generations.list(), [{ id: 1, record: { from: "r2" } }]);
  await first.close();
  // Closing releases the claim at once: the id can be taken again.
  const again = await openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "r1", replicaWaitMs: 1500 });
  assert.deepEqual(await again.generations.list(), [{ id: 1, record: { from: "r1" } }]);
  await Promise.all([again.close(), second.close()]);
});

test("etcd store - liveness: a beat is a leased key that lapses with its TTL and makes no registry revision", async () => {
  const store = await openEtcdStore({ endpoints: etcd().endpoints, prefix: freshPrefix() });
  try {
    const { liveness } = store;
    assert.ok(liveness);
    const { revision } = await store.load();
    assert.equal(await liveness.alive("svc", "t1"), false);
    await liveness.beat("svc", "t1", 1500);
    assert.equal(await liveness.alive("svc", "t1"), true);
    assert.equal(await liveness.alive("svc", "t2"), false);
    assert.equal((await store.load()).revision, revision, "a beat makes no commit");
    // A second beat renews the key's lease (kept in etcd's memory, not its raft log): the key is not written again.
    const raw = new Etcd3({ hosts: etcd().endpoints.map((e) => `http://${e}`) });
    try {
      const heartbeatKey = (await raw.getAll().prefix("/").keys()).find((k) => k.endsWith("heartbeats/svc/t1"))!;
      const before = (await raw.get(heartbeatKey).exec()).kvs[0]!;
      await new Promise((resolve) => setTimeout(resolve, 600));
      await liveness.beat("svc", "t1", 1500);
      const after = (await raw.get(heartbeatKey).exec()).kvs[0]!;
      assert.equal(after.mod_revision, before.mod_revision, "the renewing beat did not put the key");
      assert.equal(after.lease, before.lease);
    } finally {
      raw.close();
    }
    await waitFor("the beat to lapse", async () => !(await liveness.alive("svc", "t1")), { timeoutMs: 10_000, intervalMs: 100 });
  } finally {
    await store.close();
  }
});

test("etcd store - members: the live replicas on one prefix, with a change event when one leaves", async () => {
  const prefix = freshPrefix();
  const a = await openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "a" });
  let changes = 0;
  a.members?.onChange(() => changes++);
  try {
    const b = await openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "b" });
    assert.equal(b.members?.self, "b");
    assert.deepEqual(b.members?.list(), ["a", "b"]);
    await waitFor("a to see b join", () => a.members?.list().join() === "a,b", { timeoutMs: 10_000, intervalMs: 100 });
    await b.close();
    await waitFor("a to see b leave", () => a.members?.list().join() === "a", { timeoutMs: 10_000, intervalMs: 100 });
    assert.equal(changes, 2);
  } finally {
    await a.close();
  }
});

test("etcd store - two replicas racing to put instances on one address and port: exactly one lands each time", async () => {
  const prefix = freshPrefix();
  const [a, b] = await Promise.all([openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "a" }), openEtcdStore({ endpoints: etcd().endpoints, prefix, replica: "b" })]);
  try {
    for (let round = 0; round < 5; round++) {
      const port = 9000 + round;
      const results = await Promise.allSettled([
        a.commit([putUniqueInstance("web", `a${round}`, { port })]),
        b.commit([putUniqueInstance("web", `b${round}`, { port })]),
      ]);
      assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"], `round ${round}`);
      const rejected = results.find((r) => r.status === "rejected");
      assert.match(String(rejected?.status === "rejected" && rejected.reason), /is already used by instance [ab]\d/);
    }
    const state = await a.load();
    assert.deepEqual(state.instances.map((i) => i.port).sort(), [9000, 9001, 9002, 9003, 9004], "one instance per address and port");
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
