import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UnavailableError } from "../../src/errors/index.js";
import { createMemoryStore } from "../../src/registry/index.js";
import type { Etcd3 } from "etcd3";
import { createEtcdSecrets } from "../../src/registry/stores/etcd-secrets.js";
import { openSqliteStore } from "../../src/registry/stores/sqlite.js";
import { runSecretsContract } from "./secrets-contract.js";

runSecretsContract("memory", async () => ({ backend: createMemoryStore(), cleanup: async () => {} }));

runSecretsContract("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "steadymesh-secrets-"));
  return { backend: await openSqliteStore({ dataDir: dir }), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

test("sqlite secrets - a stored secret survives a reopen and is still not replaced", async () => {
  const dir = await mkdtemp(join(tmpdir(), "steadymesh-secrets-"));
  try {
    const first = await openSqliteStore({ dataDir: dir });
    await first.secrets.putIfAbsent("ca/keep", "kept");
    await first.close();
    const second = await openSqliteStore({ dataDir: dir });
    try {
      assert.equal(await second.secrets.get("ca/keep"), "kept");
      assert.equal(await second.secrets.putIfAbsent("ca/keep", "other"), "kept");
    } finally {
      await second.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

interface FakeTxn {
  compare: { key: Buffer; mod_revision: number }[];
  success: { request_range?: { key: Buffer }; request_put?: { key: Buffer; value: Buffer } }[];
}

/** One etcd keyspace: a txn is atomic (it runs in one turn of the event loop), its compare is `mod_revision == 0` (absent) as etcd-secrets.ts sends. */
function fakeEtcd(): Etcd3 {
  const kv = new Map<string, Buffer>();
  const txn = async (request: FakeTxn) => {
    await new Promise((resolve) => setImmediate(resolve));
    const succeeded = request.compare.every((guard) => guard.mod_revision === 0 && !kv.has(guard.key.toString()));
    if (!succeeded) return { succeeded, responses: [], header: { revision: "1" } };
    const responses = request.success.map((op) => {
      if (op.request_put) {
        kv.set(op.request_put.key.toString(), Buffer.from(op.request_put.value));
        return { response_put: {} };
      }
      const value = kv.get(op.request_range!.key.toString());
      return { response_range: { kvs: value === undefined ? [] : [{ value }] } };
    });
    return { succeeded, responses, header: { revision: "1" } };
  };
  return { kv: { txn } } as unknown as Etcd3;
}

test("etcd secrets - two replicas racing on one name over one etcd both get the first writer's value", async () => {
  const etcd = fakeEtcd();
  const failure = (what: string, err: unknown) => new UnavailableError(`${what}: ${String(err)}`);
  const replicaA = createEtcdSecrets(etcd, "/steadymesh/", () => undefined, failure);
  const replicaB = createEtcdSecrets(etcd, "/steadymesh/", () => undefined, failure);
  assert.equal(await replicaA.get("ca/x"), undefined);
  const [a, b] = await Promise.all([replicaA.putIfAbsent("ca/x", "from-a"), replicaB.putIfAbsent("ca/x", "from-b")]);
  assert.equal(a, b);
  assert.ok(a === "from-a" || a === "from-b");
  assert.equal(await replicaB.get("ca/x"), a);
  assert.equal(await replicaB.putIfAbsent("ca/x", "later"), a);
});
