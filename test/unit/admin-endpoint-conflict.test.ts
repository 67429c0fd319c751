/**
 * One address and port per instance of a service: the admin API refuses a
 * second instance on an address and port another instance has (409, naming
 * it), writes nothing, and still takes in-place updates.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { ConflictError } from "../../src/errors/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Registry, type Store } from "../../src/registry/index.js";
import type { FailingService } from "../../src/snapshot/index.js";
import { createFakeGenerations } from "./generation-fixtures.js";
import { putInstance } from "./store-contract.js";

async function setup(builds?: { failure(service: string): FailingService | undefined }): Promise<{ store: Store; registry: Registry; admin: AdminServer; close(): Promise<void> }> {
  const store = createMemoryStore();
  const registry = await createRegistry(store);
  const admin = createAdminServer({ auth: { required: false },
    registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations([]), builds,
  });
  return { store, registry, admin, close: async () => (await admin.close(), await registry.close()) };
}

async function put(admin: AdminServer, url: string, body: unknown): Promise<{ status: number; json: any }> {
  const response = await admin.inject({ method: "PUT", url, payload: JSON.stringify(body), headers: { "content-type": "application/json" } });
  return { status: response.statusCode, json: response.json() };
}

const AT_50051 = { address: "127.0.0.1", port: 50051 };

test("admin - a second instance on another instance's address and port gets 409 naming it, and nothing is written", async () => {
  const { registry, admin, close } = await setup();
  assert.equal((await put(admin, "/v1/services/greeter/instances/i-1", AT_50051)).status, 201);
  const revision = registry.view().revision;
  const entry = registry.view().services.get("greeter");

  const duplicate = await put(admin, "/v1/services/greeter/instances/i-2", { ...AT_50051, zone: "z9" });
  assert.equal(duplicate.status, 409);
  assert.deepEqual(duplicate.json, {
    error: "instance i-2 of greeter: address 127.0.0.1 port 50051 is already used by instance i-1; each instance of a service needs its own address and port",
  });
  assert.equal(registry.view().revision, revision, "the registry revision is unchanged");
  assert.equal(registry.view().services.get("greeter"), entry, "the service is untouched");

  // Another service may use the same address and port; so may i-2 on another port.
  assert.equal((await put(admin, "/v1/services/other/instances/i-2", AT_50051)).status, 201);
  assert.equal((await put(admin, "/v1/services/greeter/instances/i-2", { ...AT_50051, port: 50052 })).status, 201);
  await close();
});

test("admin - an instance updated in place keeps its own address and port; moving onto another's is refused", async () => {
  const { registry, admin, close } = await setup();
  await put(admin, "/v1/services/greeter/instances/i-1", AT_50051);
  await put(admin, "/v1/services/greeter/instances/i-2", { ...AT_50051, port: 50052 });
  const inPlace = await put(admin, "/v1/services/greeter/instances/i-1", { ...AT_50051, weight: 5, health: "unhealthy" });
  assert.equal(inPlace.status, 200);
  assert.equal(inPlace.json.instance.weight, 5);

  const revision = registry.view().revision;
  const move = await put(admin, "/v1/services/greeter/instances/i-2", AT_50051);
  assert.equal(move.status, 409);
  assert.match(move.json.error, /^instance i-2 of greeter: address 127\.0\.0\.1 port 50051 is already used by instance i-1;/);
  assert.equal(registry.view().revision, revision);
  assert.equal(registry.view().services.get("greeter")?.instances.get("i-2")?.port, 50052);
  // Health writes go through the same check and pass: they keep the address and port.
  await registry.setHealth("greeter", "i-2", "unhealthy");
  await close();
});

test("admin - an instance stored beside a duplicate before the check existed can still be updated in place", async () => {
  const { store, registry, admin, close } = await setup();
  // Written straight to the store, as an older steadymesh could have.
  await store.commit([putInstance("greeter", "i-1", AT_50051), putInstance("greeter", "i-2", { ...AT_50051, health: "unhealthy" })]);
  const revision = registry.view().revision;
  const update = await put(admin, "/v1/services/greeter/instances/i-2", { ...AT_50051, health: "healthy" });
  assert.equal(update.status, 200);
  assert.ok(registry.view().revision > revision);
  assert.equal((await put(admin, "/v1/services/greeter/instances/i-3", AT_50051)).status, 409);
  await close();
});

test("registry - racing puts of two instances onto one address and port: exactly one lands", async () => {
  const registry = await createRegistry(createMemoryStore());
  const results = await Promise.allSettled(["i-1", "i-2", "i-3"].map((id) => registry.putInstance("greeter", id, AT_50051)));
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  for (const result of results) if (result.status === "rejected") assert.ok(result.reason instanceof ConflictError);
  assert.equal(registry.view().services.get("greeter")?.instances.size, 1);
  await registry.close();
});

test("admin - a service whose configuration does not build shows a build field, in GET one and GET all", async () => {
  const failing: FailingService = {
    service: "greeter", status: "failing", since: "2024-01-01T00:00:00.000Z", sinceRevision: 3, servedRevision: 2,
    problems: [{ path: "services[greeter].instances[i-2].address", message: "127.0.0.1:50051 is also used by instance i-1; gRPC clients reject duplicate endpoints" }],
  };
  const { admin, close } = await setup({ failure: (service) => (service === "greeter" ? failing : undefined) });
  await put(admin, "/v1/services/greeter/instances/i-1", AT_50051);
  await put(admin, "/v1/services/login/instances/a", AT_50051);
  const one = (await admin.inject("/v1/services/greeter")).json();
  const { service: _name, ...build } = failing;
  assert.deepEqual(one.service.build, build);
  const all = (await admin.inject("/v1/services")).json();
  assert.deepEqual(all.services.map((s: { name: string; build?: unknown }) => [s.name, s.build !== undefined]), [["greeter", true], ["login", false]]);
  assert.equal("build" in (await admin.inject("/v1/services/login")).json().service, false, "a service that builds has no build field");
  await close();
});
