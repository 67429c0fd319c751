import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createMemoryStore, createRegistry, parseInstanceBody, parseServiceBody, type Store } from "../../src/registry/index.js";
import { openSqliteStore } from "../../src/registry/stores/sqlite.js";

const service = parseServiceBody("svc", { healthCheck: { kind: "http", path: "/healthz", intervalMs: 2000 } });
const ttl = parseInstanceBody("svc", "t1", { address: "10.0.0.1", port: 1, ttlMs: 1500 });
const plain = parseInstanceBody("svc", "p1", { address: "10.0.0.1", port: 2 });

/** Writes a service with a healthCheck and instances with and without ttlMs, and reads them back through a registry on `reopen()`. */
async function roundTrip(store: Store, reopen: () => Promise<Store>): Promise<void> {
  await store.commit([{ kind: "put-service", service }]);
  await store.commit([{ kind: "put-instance", instance: ttl, serviceDefaults: service }, { kind: "put-instance", instance: plain, serviceDefaults: service }]);
  const registry = await createRegistry(await reopen());
  const entry = registry.view().services.get("svc");
  assert.deepEqual(entry?.service, service);
  assert.deepEqual(entry?.instances.get("t1"), ttl);
  assert.deepEqual(entry?.instances.get("p1"), plain);
  assert.equal("ttlMs" in entry!.instances.get("p1")!, false, "no ttlMs key on an instance without one");
  assert.ok(Object.isFrozen(entry?.service.healthCheck), "values handed out are frozen, nested ones too");
  await registry.close();
}

test("health store - healthCheck and ttlMs are kept by the memory store and survive a sqlite reopen", async () => {
  const memory = createMemoryStore();
  await roundTrip(memory, async () => memory);
  const dir = await mkdtemp(join(tmpdir(), "steadymesh-health-"));
  try {
    const first = await openSqliteStore({ dataDir: dir });
    await roundTrip(first, async () => (await first.close(), openSqliteStore({ dataDir: dir })));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
