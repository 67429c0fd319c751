import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { ConflictError, UnavailableError, ValidationError } from "../../src/errors/index.js";
import type { ChangeEvent, Instance, Mutation, Service, Store, TrafficPolicy } from "../../src/registry/index.js";

/**
 * The Store contract (src/registry/store.ts), run against every backend.
 * The push guard's generation log has its own: generation-log-contract.ts.
 * `open` gives a fresh, empty store; `reopen`, when given, closes nothing
 * itself and opens the same data again (the caller closes `store` first).
 */
export interface StoreFixture {
  readonly store: Store;
  readonly reopen?: () => Promise<Store>;
  cleanup(): Promise<void>;
}

export function service(name: string, extra: Partial<Service> = {}): Service {
  return { name, protocol: "grpc", lbPolicy: "round_robin", metadata: {}, ...extra };
}

export function instance(serviceName: string, id: string, extra: Partial<Instance> = {}): Instance {
  return { service: serviceName, id, address: "10.0.0.1", port: 8080, zone: "", region: "", weight: 1, health: "healthy", metadata: {}, ...extra };
}

export function putInstance(serviceName: string, id: string, extra: Partial<Instance> = {}): Mutation {
  return { kind: "put-instance", instance: instance(serviceName, id, extra), serviceDefaults: service(serviceName) };
}

/** putInstance as the registry sends it: refused when another instance of the service has the address and port. */
export function putUniqueInstance(serviceName: string, id: string, extra: Partial<Instance> = {}): Mutation {
  return { kind: "put-instance", instance: instance(serviceName, id, extra), serviceDefaults: service(serviceName), uniqueEndpoint: true };
}

/** A policy using every field, in canonical form (what the validator hands the store). */
const POLICY: TrafficPolicy = {
  subsets: [
    { name: "v1", match: { version: "1" } },
    { name: "v2", match: { version: "2", track: "canary" } },
  ],
  routes: [
    {
      match: { method: "/shop.Checkout/Pay", headers: { "x-canary": { regex: "^y", invert: true }, "x-user": { present: true } } },
      to: [{ subset: "v1", weight: 95 }, { subset: "v2", weight: 5 }],
      timeoutMs: 2000,
      retry: { on: ["unavailable", "resource-exhausted"], attempts: 3, backoff: { baseMs: 25, maxMs: 250 } },
      fault: { delay: { ms: 200, percent: 10 }, abort: { code: "UNAVAILABLE", percent: 0.5 } },
    },
    { match: { prefix: "/shop." }, to: [{ subset: "v2", weight: 100 }] },
  ],
};

/** Records every batch a watcher receives. */
function record(store: Store): { batches: (readonly ChangeEvent[])[]; stop: () => void } {
  const batches: (readonly ChangeEvent[])[] = [];
  const stop = store.watch((events) => batches.push(events));
  return { batches, stop };
}

function summary(events: readonly ChangeEvent[]): string[] {
  return events.map((e) => {
    switch (e.kind) {
      case "service-put":
        return `${e.revision} service-put ${e.service.name}`;
      case "service-deleted":
        return `${e.revision} service-deleted ${e.name}`;
      case "instance-put":
        return `${e.revision} instance-put ${e.instance.service}/${e.instance.id}`;
      case "instance-deleted":
        return `${e.revision} instance-deleted ${e.service}/${e.id}`;
    }
  });
}

type StoreTest = (behaviour: string, body: (store: Store, fixture: StoreFixture, t: TestContext) => Promise<void>) => void;

export function runStoreContract(name: string, open: () => Promise<StoreFixture>): void {
  const it: StoreTest = (behaviour, body) =>
    test(`${name} store - ${behaviour}`, async (t) => {
      const fixture = await open();
      try {
        await body(fixture.store, fixture, t);
      } finally {
        await fixture.store.close();
        await fixture.cleanup();
      }
    });

  it("starts empty at revision 0", async (store) => {
    assert.deepEqual(await store.load(), { revision: 0, services: [], instances: [] });
  });

  it("raises the revision by one per changing commit and stamps every event of a commit with it", async (store) => {
    const first = await store.commit([{ kind: "put-service", service: service("a") }, putInstance("a", "i1")]);
    assert.equal(first.revision, 1);
    assert.deepEqual(summary(first.events), ["1 service-put a", "1 instance-put a/i1"]);
    const second = await store.commit([{ kind: "put-service", service: service("b") }]);
    assert.equal(second.revision, 2);
    assert.equal((await store.load()).revision, 2);
  });

  it("counts a put of an identical value as a change", async (store) => {
    await store.commit([{ kind: "put-service", service: service("a") }]);
    const again = await store.commit([{ kind: "put-service", service: service("a") }]);
    assert.equal(again.revision, 2);
    assert.deepEqual(summary(again.events), ["2 service-put a"]);
  });

  it("treats deletes of absent things and empty commits as no change", async (store) => {
    await store.commit([{ kind: "put-service", service: service("a") }]);
    const feed = record(store);
    const results = [
      await store.commit([{ kind: "delete-service", name: "ghost" }]),
      await store.commit([{ kind: "delete-instance", service: "a", id: "ghost" }]),
      await store.commit([{ kind: "delete-instance", service: "ghost", id: "x" }]),
      await store.commit([]),
    ];
    assert.deepEqual(results, Array(4).fill({ revision: 1, events: [] }));
    assert.deepEqual(feed.batches, []);
    assert.equal((await store.load()).revision, 1);
  });

  it("creates a missing service from serviceDefaults on put-instance, and leaves an existing one alone", async (store) => {
    const created = await store.commit([putInstance("a", "i1")]);
    assert.deepEqual(summary(created.events), ["1 service-put a", "1 instance-put a/i1"]);
    await store.commit([{ kind: "put-service", service: service("b", { protocol: "http" }) }]);
    const existing = await store.commit([putInstance("b", "i1")]);
    assert.deepEqual(summary(existing.events), ["3 instance-put b/i1"]);
    const state = await store.load();
    assert.deepEqual(state.services, [service("a"), service("b", { protocol: "http" })]);
    assert.deepEqual(state.instances, [instance("a", "i1"), instance("b", "i1")]);
  });

  it("set-intention sets and removes one intention on the destination's record (created from serviceDefaults), and put-service keeps them with keepIntentions", async (store) => {
    const set = (source: string, action?: "allow" | "deny"): Mutation => ({ kind: "set-intention", destination: "orders", source, ...(action && { action }), serviceDefaults: service("orders") });
    const created = await store.commit([set("web", "deny")]);
    assert.deepEqual(summary(created.events), ["1 service-put orders"]);
    await store.commit([set("*", "deny"), set("billing", "allow")]);
    assert.deepEqual((await store.load()).services, [service("orders", { intentions: { "*": "deny", billing: "allow", web: "deny" } })]);
    await store.commit([{ kind: "put-service", service: service("orders", { mtls: "strict" }), keepIntentions: true }]);
    assert.deepEqual((await store.load()).services, [service("orders", { mtls: "strict", intentions: { "*": "deny", billing: "allow", web: "deny" } })]);
    const removed = await store.commit([set("web"), set("nobody")]);
    assert.deepEqual(summary(removed.events), ["4 service-put orders"], "removing an absent intention changes nothing");
    assert.deepEqual(await store.commit([set("nobody")]), { revision: 4, events: [] });
    await store.commit([{ kind: "put-service", service: service("orders") }]);
    assert.deepEqual((await store.load()).services, [service("orders")], "put-service without keepIntentions replaces them");
  });

  it("set-policy sets, replaces and removes a service's policy (created from serviceDefaults), and put-service keeps it with keepPolicy", async (store) => {
    const set = (policy?: TrafficPolicy): Mutation => ({ kind: "set-policy", service: "checkout", ...(policy && { policy }), serviceDefaults: service("checkout") });
    const created = await store.commit([set(POLICY)]);
    assert.deepEqual(summary(created.events), ["1 service-put checkout"]);
    const [stored] = (await store.load()).services;
    assert.deepEqual(stored, service("checkout", { policy: POLICY }));
    assert.ok(Object.isFrozen(stored?.policy?.routes[0]?.to[1]) && Object.isFrozen(stored?.policy?.routes[0]?.match.headers?.["x-canary"]), "the policy is deep-frozen");
    await store.commit([{ kind: "put-service", service: service("checkout", { mtls: "strict" }), keepPolicy: true, keepIntentions: true }]);
    assert.deepEqual((await store.load()).services, [service("checkout", { mtls: "strict", policy: POLICY })]);
    const other: TrafficPolicy = { subsets: POLICY.subsets, routes: [{ match: {}, to: [{ subset: "v1", weight: 100 }] }] };
    await store.commit([set(other), { kind: "set-policy", service: "web", policy: { subsets: [], routes: [] }, serviceDefaults: service("web") }]);
    assert.deepEqual((await store.load()).services, [service("checkout", { mtls: "strict", policy: other }), service("web", { policy: { subsets: [], routes: [] } })]);
    const removed = await store.commit([set()]);
    assert.deepEqual(summary(removed.events), ["4 service-put checkout"]);
    assert.deepEqual(await store.commit([set(), { kind: "set-policy", service: "absent", serviceDefaults: service("absent") }]), { revision: 4, events: [] }, "removing an absent policy changes nothing");
    await store.commit([set(POLICY)]);
    await store.commit([{ kind: "put-service", service: service("checkout") }]);
    assert.deepEqual((await store.load()).services[0], service("checkout"), "put-service without keepPolicy replaces it");
    await assert.rejects(store.commit([{ kind: "set-policy", service: "checkout", policy: POLICY, serviceDefaults: service("web") }]), ValidationError);
  });

  it("cascades a service delete: instance-deleted for each instance, then service-deleted", async (store) => {
    await store.commit([putInstance("a", "i2"), putInstance("a", "i1"), putInstance("b", "i1")]);
    const result = await store.commit([{ kind: "delete-service", name: "a" }]);
    assert.deepEqual(summary(result.events), ["2 instance-deleted a/i1", "2 instance-deleted a/i2", "2 service-deleted a"]);
    const state = await store.load();
    assert.deepEqual(state.services.map((s) => s.name), ["b"]);
    assert.deepEqual(state.instances, [instance("b", "i1")]);
  });

  it("deletes a single instance and keeps its service", async (store) => {
    await store.commit([putInstance("a", "i1"), putInstance("a", "i2")]);
    const result = await store.commit([{ kind: "delete-instance", service: "a", id: "i1" }]);
    assert.deepEqual(summary(result.events), ["2 instance-deleted a/i1"]);
    const state = await store.load();
    assert.deepEqual(state.services, [service("a")]);
    assert.deepEqual(state.instances, [instance("a", "i2")]);
  });

  it("applies nothing when a mutation fails part-way through a commit", async (store) => {
    await store.commit([{ kind: "put-service", service: service("keep") }]);
    const before = await store.load();
    const feed = record(store);
    const mismatched: Mutation = { kind: "put-instance", instance: instance("a", "i1"), serviceDefaults: service("other") };
    await assert.rejects(
      store.commit([{ kind: "put-service", service: service("new") }, { kind: "delete-service", name: "keep" }, mismatched]),
      (err: unknown) => err instanceof ValidationError && err.issues[0]?.path === "mutations.2.serviceDefaults.name",
    );
    assert.deepEqual(await store.load(), before);
    assert.deepEqual(feed.batches, []);
    const next = await store.commit([{ kind: "put-service", service: service("later") }]);
    assert.equal(next.revision, 2, "a failed commit must not use up a revision");
  });

  it("rejects malformed mutations: bad names and unknown kinds", async (store) => {
    const bad = [
      { kind: "put-service", service: service("Bad_Name") },
      { kind: "delete-instance", service: "a", id: "-x" },
      { kind: "rename-service", name: "a" },
    ] as unknown as Mutation[];
    for (const mutation of bad) {
      await assert.rejects(store.commit([mutation]), ValidationError, JSON.stringify(mutation));
    }
    assert.equal((await store.load()).revision, 0);
  });

  it("refuses a uniqueEndpoint put onto another instance's address and port, applying nothing of the commit", async (store) => {
    const unique = (id: string, extra: Partial<Instance> = {}): Mutation => putUniqueInstance("a", id, extra);
    // Without the flag the store takes anything (data from before the check, or another writer); with it, only a free address and port.
    await store.commit([putInstance("a", "i1"), putInstance("a", "old", { health: "unhealthy" }), unique("i2", { port: 8081 })]);
    const before = await store.load();
    const feed = record(store);
    await assert.rejects(
      store.commit([{ kind: "put-service", service: service("new") }, unique("i3")]),
      (err: unknown) => err instanceof ConflictError && /^instance i3 of a: address 10\.0\.0\.1 port 8080 is already used by instance (i1|old);/.test(err.message),
    );
    await assert.rejects(store.commit([unique("i2")]), ConflictError, "moving onto a used address and port");
    assert.deepEqual(await store.load(), before);
    assert.deepEqual(feed.batches, []);
    // In place (same address and port) is allowed, even beside a duplicate; so is a free address, and a moved-away one is free again.
    await store.commit([unique("old", { health: "healthy" })]);
    await store.commit([unique("i2", { port: 8082 }), unique("i4", { port: 8081 })]);
    const racing = await Promise.allSettled(["r1", "r2"].map((id) => store.commit([unique(id, { port: 9000 })])));
    assert.deepEqual(racing.map((r) => r.status).sort(), ["fulfilled", "rejected"], "two writers racing for one address and port: one lands");
    assert.equal((await store.load()).instances.filter((i) => i.port === 9000).length, 1);
  });

  it("frees an address and port when its instance or service is deleted; other services may use it all along", async (store) => {
    await store.commit([putUniqueInstance("a", "i1"), putUniqueInstance("b", "i1")]);
    await assert.rejects(store.commit([putUniqueInstance("a", "i2")]), ConflictError);
    await store.commit([{ kind: "delete-instance", service: "a", id: "i1" }]);
    await store.commit([putUniqueInstance("a", "i2")]);
    await store.commit([{ kind: "delete-service", name: "a" }]);
    await store.commit([putUniqueInstance("a", "i3")]);
    // One commit that moves i3 away and puts i4 where it was: the check sees the commit's own earlier mutations.
    await store.commit([putUniqueInstance("a", "i3", { port: 9001 }), putUniqueInstance("a", "i4")]);
    await assert.rejects(store.commit([putUniqueInstance("a", "i5", { port: 9001 })]), ConflictError);
    assert.deepEqual((await store.load()).instances.map((i) => `${i.service}/${i.id}:${i.port}`), ["a/i3:9001", "a/i4:8080", "b/i1:8080"]);
  });

  it("delivers every commit to a watcher exactly once, in revision order, even for concurrent commits", async (store) => {
    const feed = record(store);
    const results = await Promise.all(["a", "b", "c", "d"].map((n) => store.commit([putInstance(n, "i1")])));
    const revisions = feed.batches.map((batch) => batch[0]?.revision);
    assert.deepEqual(revisions, [1, 2, 3, 4]);
    assert.deepEqual(results.map((r) => r.revision).sort(), [1, 2, 3, 4]);
    for (const batch of feed.batches) assert.ok(batch.every((e) => e.revision === batch[0]?.revision), "a batch is one commit");
    assert.deepEqual(feed.batches.flat(), results.flatMap((r) => r.events));
  });

  it("sends a watcher only commits made after it subscribed, and nothing after it unsubscribed", async (store) => {
    await store.commit([{ kind: "put-service", service: service("before") }]);
    const feed = record(store);
    await store.commit([{ kind: "put-service", service: service("during") }]);
    feed.stop();
    await store.commit([{ kind: "put-service", service: service("after") }]);
    assert.deepEqual(feed.batches.map(summary), [["2 service-put during"]]);
  });

  it("keeps revision order for other watchers when a watcher commits from its callback", async (store) => {
    const seen: number[] = [];
    let nested: Promise<unknown> | undefined;
    store.watch(() => {
      // Once only: a store that reused revisions must fail this test, not loop forever.
      nested ??= store.commit([{ kind: "put-service", service: service("nested") }]);
    });
    store.watch((events) => seen.push(events[0]!.revision));
    await store.commit([{ kind: "put-service", service: service("outer") }]);
    await nested;
    assert.deepEqual(seen, [1, 2]);
  });

  it("survives a watcher that throws: the commit stands and other watchers still get it", async (store) => {
    store.watch(() => {
      throw new Error("watcher bug");
    });
    const feed = record(store);
    const result = await store.commit([{ kind: "put-service", service: service("a") }]);
    assert.equal(result.revision, 1);
    assert.equal(feed.batches.length, 1);
    assert.equal((await store.load()).services.length, 1);
  });

  it("keeps its own copies: changing the caller's objects after commit changes nothing", async (store) => {
    const value = { ...service("a"), metadata: { team: "core" } };
    await store.commit([{ kind: "put-service", service: value }]);
    value.metadata.team = "changed";
    (value as { protocol: string }).protocol = "tcp";
    const [loaded] = (await store.load()).services;
    assert.deepEqual(loaded, service("a", { metadata: { team: "core" } }));
    assert.ok(Object.isFrozen(loaded) && Object.isFrozen(loaded?.metadata), "values handed out are frozen");
  });

  it("refuses load and commit with UnavailableError once closed, and closes twice quietly", async (store) => {
    await store.close();
    await store.close();
    await assert.rejects(store.load(), UnavailableError);
    await assert.rejects(store.commit([{ kind: "put-service", service: service("a") }]), UnavailableError);
  });

  it("keeps its state and its revision across reopen, and keeps raising the revision", async (store, fixture, t) => {
    if (!fixture.reopen) {
      t.skip("not a persistent backend");
      return;
    }
    await store.commit([putInstance("a", "i1", { metadata: { team: "core" } }), putInstance("b", "i1")]);
    await store.commit([{ kind: "delete-service", name: "b" }, { kind: "set-policy", service: "a", policy: POLICY, serviceDefaults: service("a") }]);
    const before = await store.load();
    assert.deepEqual(before.services[0]?.policy, POLICY);
    await store.close();
    const reopened = await fixture.reopen();
    try {
      assert.deepEqual(await reopened.load(), before);
      const next = await reopened.commit([{ kind: "put-service", service: service("c") }]);
      // "Rises by at least 1": etcd's revision also counts writes outside the registry (a replica's claim on reopen).
      assert.ok(next.revision > before.revision, `revision ${next.revision} after ${before.revision}`);
    } finally {
      await reopened.close();
    }
  });
}
