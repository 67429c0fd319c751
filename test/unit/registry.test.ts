import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { NotFoundError, UnavailableError, ValidationError } from "../../src/errors/index.js";
import { createMemoryStore, createRegistry, type ChangeEvent, type Registry, type RegistryView, type Store } from "../../src/registry/index.js";
import { putInstance, service } from "./store-contract.js";

const ADDRESS = { address: "10.0.0.1", port: 8080 };
/** A second instance of a service needs its own address and port. */
const ADDRESS_2 = { address: "10.0.0.2", port: 8080 };

/** A store whose change feed is held until `flush`, as if the feed lagged behind commits. */
function laggingStore(inner: Store): Store & { flush(): void } {
  const held: (readonly ChangeEvent[])[] = [];
  const watchers = new Set<(events: readonly ChangeEvent[]) => void>();
  inner.watch((events) => held.push(events));
  return {
    kind: "lagging",
    load: () => inner.load(),
    commit: (mutations) => inner.commit(mutations),
    watch(onEvents) {
      watchers.add(onEvents);
      return () => void watchers.delete(onEvents);
    },
    close: () => inner.close(),
    flush() {
      for (const events of held.splice(0)) for (const watcher of watchers) watcher(events);
    },
  };
}

/** Records every subscriber call as [revision, event kinds]. */
function recordChanges(registry: Registry): [number, string[]][] {
  const calls: [number, string[]][] = [];
  registry.subscribe((view, events) => calls.push([view.revision, events.map((e) => e.kind)]));
  return calls;
}

test("registry - starts from what the store already holds", async () => {
  const store = createMemoryStore();
  await store.commit([putInstance("a", "i1"), putInstance("b", "i1")]);
  await store.commit([{ kind: "delete-instance", service: "b", id: "i1" }]);
  const registry = await createRegistry(store);
  const view = registry.view();
  assert.equal(view.revision, 2);
  assert.deepEqual([...view.services.keys()], ["a", "b"]);
  assert.deepEqual([...view.services.get("a")!.instances.keys()], ["i1"]);
  assert.equal(view.services.get("b")!.instances.size, 0);
  await registry.close();
});

test("registry - putService fills defaults, reports created, and raises the revision", async () => {
  const registry = await createRegistry(createMemoryStore());
  const first = await registry.putService("login", {});
  assert.deepEqual(first, { revision: 1, created: true, value: { ...service("login"), mtls: "off" } });
  const second = await registry.putService("login", { protocol: "http" });
  assert.equal(second.created, false);
  assert.equal(second.revision, 2);
  assert.equal(registry.getService("login")?.service.protocol, "http");
  await registry.close();
});

test("registry - putInstance creates the service with defaults and keeps instances when the service is updated", async () => {
  const registry = await createRegistry(createMemoryStore());
  const put = await registry.putInstance("login", "i1", { ...ADDRESS, zone: "z1" });
  assert.equal(put.created, true);
  assert.equal(put.value.zone, "z1");
  assert.deepEqual(registry.getService("login")?.service, { ...service("login"), mtls: "off" });
  assert.equal((await registry.putInstance("login", "i1", ADDRESS)).created, false);
  await registry.putService("login", { lbPolicy: "ring_hash" });
  assert.deepEqual([...registry.getService("login")!.instances.keys()], ["i1"]);
  await registry.close();
});

test("registry - reads its own writes as soon as the write resolves, even when the feed lags", async () => {
  const store = laggingStore(createMemoryStore());
  const registry = await createRegistry(store);
  const calls = recordChanges(registry);
  await registry.putInstance("login", "i1", ADDRESS);
  assert.equal(registry.view().revision, 1);
  assert.ok(registry.getService("login")?.instances.has("i1"));
  const viewBefore = registry.view();
  store.flush();
  assert.equal(registry.view(), viewBefore, "a revision already applied must be skipped");
  assert.deepEqual(calls, [[1, ["service-put", "instance-put"]]]);
  await registry.close();
});

test("registry - follows commits made on the store by another writer", async () => {
  const store = createMemoryStore();
  const registry = await createRegistry(store);
  const calls = recordChanges(registry);
  await store.commit([putInstance("a", "i1")]);
  await store.commit([{ kind: "delete-service", name: "a" }]);
  assert.deepEqual(calls, [
    [1, ["service-put", "instance-put"]],
    [2, ["instance-deleted", "service-deleted"]],
  ]);
  assert.equal(registry.view().services.size, 0);
  await registry.close();
});

test("registry - does not miss a commit made between watching the feed and loading", async () => {
  const inner = createMemoryStore();
  const store: Store = {
    ...inner,
    kind: inner.kind,
    async load() {
      const state = await inner.load();
      await inner.commit([putInstance("late", "i1")]);
      return state;
    },
  };
  const registry = await createRegistry(store);
  assert.equal(registry.view().revision, 1);
  assert.ok(registry.getService("late")?.instances.has("i1"));
  await registry.close();
});

test("registry - views are immutable: old views never change, and a write through a cast map changes nothing", async () => {
  const registry = await createRegistry(createMemoryStore());
  await registry.putInstance("a", "i1", ADDRESS);
  const old = registry.view();
  await registry.putInstance("a", "i2", ADDRESS_2);
  await registry.putService("b", {});
  assert.notEqual(registry.view(), old);
  assert.equal(old.revision, 1);
  assert.deepEqual([...old.services.keys()], ["a"]);
  assert.deepEqual([...old.services.get("a")!.instances.keys()], ["i1"]);
  // The maps are immutable SortedMaps: a cast to Map and a `set` makes a new map and leaves the view's alone.
  (old.services as Map<string, unknown>).set("x", {});
  (old.services.get("a")!.instances as Map<string, unknown>).delete("i1");
  assert.deepEqual([...old.services.keys()], ["a"]);
  assert.deepEqual([...old.services.get("a")!.instances.keys()], ["i1"]);
  assert.ok(Object.isFrozen(old) && Object.isFrozen(old.services.get("a")));
  assert.ok(Object.isFrozen(old.services.get("a")!.instances.get("i1")));
  await registry.close();
});

test("registry - shares unchanged service entries between views and replaces changed ones", async () => {
  const registry = await createRegistry(createMemoryStore());
  await registry.putInstance("a", "i1", ADDRESS);
  await registry.putInstance("b", "i1", ADDRESS);
  const before = registry.view();
  await registry.putInstance("b", "i2", ADDRESS_2);
  const after = registry.view();
  assert.equal(after.services.get("a"), before.services.get("a"));
  assert.notEqual(after.services.get("b"), before.services.get("b"));
  assert.equal(after.services.get("b")!.instances.get("i1"), before.services.get("b")!.instances.get("i1"));
  await registry.close();
});

test("registry - iterates services by name and instances by id", async () => {
  const registry = await createRegistry(createMemoryStore());
  for (const [svc, id] of [["c", "i2"], ["a", "i9"], ["c", "i1"], ["b", "i1"]] as const) await registry.putInstance(svc, id, id === "i2" ? ADDRESS_2 : ADDRESS);
  assert.deepEqual([...registry.view().services.keys()], ["a", "b", "c"]);
  assert.deepEqual([...registry.getService("c")!.instances.keys()], ["i1", "i2"]);
  await registry.close();
});

test("registry - calls subscribers once per revision until they unsubscribe", async () => {
  const registry = await createRegistry(createMemoryStore());
  const views: RegistryView[] = [];
  const stop = registry.subscribe((view) => views.push(view));
  await registry.putService("a", {});
  await registry.putService("b", {});
  stop();
  await registry.putService("c", {});
  assert.deepEqual(views.map((v) => v.revision), [1, 2]);
  assert.equal(views[1]!.services.size, 2);
  await registry.close();
});

test("registry - a subscriber that writes from its callback does not reorder what later subscribers see", async () => {
  const registry = await createRegistry(createMemoryStore());
  let nested: Promise<unknown> | undefined;
  registry.subscribe(() => {
    nested ??= registry.putService("nested", {});
  });
  const seen: number[] = [];
  registry.subscribe((view) => seen.push(view.revision));
  await registry.putService("outer", {});
  await nested;
  assert.deepEqual(seen, [1, 2]);
  await registry.close();
});

test("registry - a throwing subscriber is logged at error level and breaks nothing", async () => {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: "error" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const registry = await createRegistry(createMemoryStore(), { logger });
  registry.subscribe(() => {
    throw new Error("subscriber bug");
  });
  const calls = recordChanges(registry);
  await registry.putService("a", {});
  await registry.putService("b", {});
  assert.equal(calls.length, 2);
  assert.equal(registry.view().revision, 2);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.level, 50);
  await registry.close();
});

test("registry - invalid input throws ValidationError and writes nothing", async () => {
  const store = createMemoryStore();
  const registry = await createRegistry(store);
  const calls = recordChanges(registry);
  await assert.rejects(registry.putService("Bad_Name", {}), ValidationError);
  await assert.rejects(registry.putService("ok", { protocol: "udp" }), ValidationError);
  await assert.rejects(registry.putInstance("new-svc", "i1", { address: "foo", port: 0 }), (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.deepEqual(err.issues.map((i) => i.path), ["address", "port"]);
    return true;
  });
  await assert.rejects(registry.deleteService("Bad"), ValidationError);
  await assert.rejects(registry.deleteInstance("svc", "-"), ValidationError);
  assert.deepEqual(await store.load(), { revision: 0, services: [], instances: [] });
  assert.deepEqual(calls, []);
  await registry.close();
});

test("registry - deleteService removes the service and its instances, NotFoundError when absent", async () => {
  const registry = await createRegistry(createMemoryStore());
  await registry.putInstance("a", "i1", ADDRESS);
  assert.deepEqual(await registry.deleteService("a"), { revision: 2 });
  assert.equal(registry.getService("a"), undefined);
  await assert.rejects(registry.deleteService("a"), (err: unknown) => err instanceof NotFoundError && err.message === `service "a" not found`);
  assert.equal(registry.view().revision, 2);
  await registry.close();
});

test("registry - deleteInstance removes one instance, NotFoundError naming what is missing", async () => {
  const registry = await createRegistry(createMemoryStore());
  await registry.putInstance("a", "i1", ADDRESS);
  await registry.putInstance("a", "i2", ADDRESS_2);
  assert.deepEqual(await registry.deleteInstance("a", "i1"), { revision: 3 });
  assert.deepEqual([...registry.getService("a")!.instances.keys()], ["i2"]);
  await assert.rejects(registry.deleteInstance("a", "i1"), (err: unknown) => err instanceof NotFoundError && err.message === `instance "i1" not found in service "a"`);
  await assert.rejects(registry.deleteInstance("zz", "i1"), (err: unknown) => err instanceof NotFoundError && err.message === `service "zz" not found`);
  await registry.close();
});

test("registry - close stops following the feed, closes the store, and refuses writes", async () => {
  const store = createMemoryStore();
  const registry = await createRegistry(store);
  const calls = recordChanges(registry);
  await registry.close();
  await assert.rejects(store.load(), UnavailableError, "the store must be closed");
  await assert.rejects(registry.putService("a", {}), UnavailableError);
  assert.deepEqual(calls, []);
  await registry.close();
});

test("registry - intentions are applied inside the commit: two writers of different sources both land", async () => {
  const store = createMemoryStore();
  const one = await createRegistry(store);
  const two = await createRegistry(store);
  await Promise.all([one.putIntention("orders", "web", { action: "deny" }), two.putIntention("orders", "*", { action: "deny" }), one.putIntention("orders", "billing", { action: "allow" })]);
  assert.deepEqual(one.getService("orders")?.service.intentions, { "*": "deny", billing: "allow", web: "deny" });
  assert.deepEqual(two.getService("orders")?.service.intentions, { "*": "deny", billing: "allow", web: "deny" });
  await one.putService("orders", { lbPolicy: "ring_hash" });
  assert.deepEqual(one.getService("orders")?.service.intentions, { "*": "deny", billing: "allow", web: "deny" }, "a PUT without intentions keeps them");
  const removed = await two.deleteIntention("orders", "web");
  assert.deepEqual(removed.value.intentions, { "*": "deny", billing: "allow" });
  await assert.rejects(two.deleteIntention("orders", "web"), NotFoundError);
  await assert.rejects(two.deleteIntention("nowhere", "web"), NotFoundError);
  await assert.rejects(one.putIntention("orders", "web", { action: "block" }), ValidationError);
  await assert.rejects(one.putIntention("Orders", "web", { action: "deny" }), ValidationError);
  await one.close();
  await two.close();
});
