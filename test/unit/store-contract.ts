import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { ConflictError, UnavailableError, ValidationError } from "../../src/errors/index.js";
import type { ChangeEvent, Instance, Mutation, Service, Store, StoredResource } from "../../src/registry/index.js";

/**
 * The Store contract (src/registry/store.ts), run against every backend.
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

export const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
export const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

export function resource(typeUrl: string, name: string, bytes: readonly number[]): StoredResource {
  return { typeUrl, name, body: Uint8Array.from(bytes) };
}

/** Resources with bodies as hex, so a backend may hand out Buffers or plain Uint8Arrays. */
export function bodiesAsHex(resources: readonly StoredResource[] | undefined): { typeUrl: string; name: string; body: string }[] | undefined {
  return resources?.map(({ typeUrl, name, body }) => {
    assert.ok(body instanceof Uint8Array, `${typeUrl} ${name}: body must be a Uint8Array`);
    return { typeUrl, name, body: Buffer.from(body).toString("hex") };
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
    await store.commit([{ kind: "delete-service", name: "b" }]);
    const before = await store.load();
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
  runGenerationLogContract(it);
}

/** The GenerationLog part of the contract (`store.generations`). */
function runGenerationLogContract(it: StoreTest): void {
  it("generations: list returns every record put, deep-equal, in ascending id order", async (store) => {
    const log = store.generations;
    assert.deepEqual(await log.list(), []);
    await log.put({ id: 12, record: { status: "canary", diff: { cds: { added: ["a"], removed: [] } }, at: "2022-03-08T18:07:00.000Z" } });
    await log.put({ id: 3, record: { status: "held", errors: [{ path: "endpoints[0].port", message: "must be 1-65535" }], note: null } });
    await log.put({ id: 1, record: { status: "pushed", count: 0, ratio: 0.25, ok: true } });
    assert.deepEqual(await log.list(), [
      { id: 1, record: { status: "pushed", count: 0, ratio: 0.25, ok: true } },
      { id: 3, record: { status: "held", errors: [{ path: "endpoints[0].port", message: "must be 1-65535" }], note: null } },
      { id: 12, record: { status: "canary", diff: { cds: { added: ["a"], removed: [] } }, at: "2022-03-08T18:07:00.000Z" } },
    ]);
  });

  it("generations: keeps its own copies of records: changing the caller's or a returned record changes nothing", async (store) => {
    const log = store.generations;
    const record = { status: "held", diff: { added: ["a"] } };
    await log.put({ id: 1, record });
    record.status = "pushed";
    record.diff.added.push("b");
    const [first] = await log.list();
    assert.deepEqual(first, { id: 1, record: { status: "held", diff: { added: ["a"] } } });
    assert.notEqual(first!.record, record);
    (first!.record.diff as { added: string[] }).added.push("c");
    assert.deepEqual(await log.list(), [{ id: 1, record: { status: "held", diff: { added: ["a"] } } }]);
  });

  it("generations: a put with a stored id replaces the record and keeps its resources unless new ones are given", async (store) => {
    const log = store.generations;
    await log.put({ id: 1, record: { status: "canary" } }, [resource(CDS, "a", [1])]);
    await log.put({ id: 1, record: { status: "pushed" } });
    assert.deepEqual(await log.list(), [{ id: 1, record: { status: "pushed" } }]);
    assert.deepEqual(bodiesAsHex(await log.resources(1)), [{ typeUrl: CDS, name: "a", body: "01" }]);
    await log.put({ id: 1, record: { status: "rolled-back" } }, [resource(EDS, "b", [2])]);
    assert.deepEqual(bodiesAsHex(await log.resources(1)), [{ typeUrl: EDS, name: "b", body: "02" }]);
    await log.put({ id: 1, record: { status: "rejected" } }, []);
    assert.equal(await log.resources(1), undefined, "an empty list replaces the resources with none");
    assert.deepEqual(await log.list(), [{ id: 1, record: { status: "rejected" } }]);
  });

  it("generations: resources come back byte for byte, in (typeUrl, name) order", async (store) => {
    const everyByte = Array.from({ length: 256 }, (_, i) => i);
    // A view into a larger buffer: only its own bytes may be stored.
    const view = Buffer.from([9, 9, 1, 2, 3, 9]).subarray(2, 5);
    await store.generations.put({ id: 1, record: {} }, [
      resource(EDS, "b", [0, 0]),
      resource(CDS, "b", everyByte),
      { typeUrl: EDS, name: "a", body: view },
      resource(CDS, "a", []),
      resource(CDS, "a2", [255]),
      // JavaScript order (UTF-16 code units) puts U+1F600 before U+FF61; UTF-8 byte order would not.
      resource(EDS, "\uff61", [4]),
      resource(EDS, "\u{1f600}", [5]),
    ]);
    assert.deepEqual(bodiesAsHex(await store.generations.resources(1)), [
      { typeUrl: CDS, name: "a", body: "" },
      { typeUrl: CDS, name: "a2", body: "ff" },
      { typeUrl: CDS, name: "b", body: Buffer.from(everyByte).toString("hex") },
      { typeUrl: EDS, name: "a", body: "010203" },
      { typeUrl: EDS, name: "b", body: "0000" },
      { typeUrl: EDS, name: "\u{1f600}", body: "05" },
      { typeUrl: EDS, name: "\uff61", body: "04" },
    ]);
  });

  it("generations: resources are copies: changing a passed or returned body or list changes nothing", async (store) => {
    const log = store.generations;
    const passed = [resource(CDS, "a", [1, 2, 3])];
    await log.put({ id: 1, record: {} }, passed);
    passed[0]!.body[0] = 9;
    passed.push(resource(CDS, "b", [4]));
    const first = (await log.resources(1))!;
    first[0]!.body[1] = 9;
    first.push(resource(EDS, "c", [5]));
    const second = await log.resources(1);
    assert.deepEqual(bodiesAsHex(second), [{ typeUrl: CDS, name: "a", body: "010203" }]);
    assert.notEqual(second![0]!.body, first[0]!.body);
  });

  it("generations: resources are undefined for a generation put without any and for an unknown id", async (store) => {
    await store.generations.put({ id: 1, record: {} });
    assert.equal(await store.generations.resources(1), undefined);
    assert.equal(await store.generations.resources(2), undefined);
  });

  it("generations: retain drops every record not kept, with its resources", async (store) => {
    const log = store.generations;
    for (const id of [1, 2, 3]) await log.put({ id, record: { id } }, [resource(CDS, `c${id}`, [id])]);
    await log.retain(new Set([1, 3, 99]));
    assert.deepEqual(await log.list(), [{ id: 1, record: { id: 1 } }, { id: 3, record: { id: 3 } }]);
    assert.equal(await log.resources(2), undefined);
    assert.deepEqual(bodiesAsHex(await log.resources(1)), [{ typeUrl: CDS, name: "c1", body: "01" }]);
    assert.deepEqual(bodiesAsHex(await log.resources(3)), [{ typeUrl: CDS, name: "c3", body: "03" }]);
    await log.retain(new Set());
    assert.deepEqual(await log.list(), []);
    assert.equal(await log.resources(1), undefined);
  });

  it("generations: a body shared by generations survives retaining only one of them", async (store) => {
    const log = store.generations;
    const shared = [7, 7, 7];
    const first = [resource(CDS, "a", shared), resource(EDS, "a", [1])];
    const second = [resource(CDS, "a", shared), resource(CDS, "b", shared)];
    await log.put({ id: 1, record: {} }, first);
    await log.put({ id: 2, record: {} }, second);
    await log.retain(new Set([1]));
    assert.deepEqual(bodiesAsHex(await log.resources(1)), bodiesAsHex(first));
    await log.put({ id: 2, record: {} }, second);
    await log.retain(new Set([2]));
    assert.deepEqual(bodiesAsHex(await log.resources(2)), bodiesAsHex(second));
    await log.retain(new Set());
    await log.put({ id: 3, record: {} }, [resource(CDS, "a", shared)]);
    assert.deepEqual(bodiesAsHex(await log.resources(3)), [{ typeUrl: CDS, name: "a", body: "070707" }]);
  });

  it("generations: a put that fails validation reports every problem and stores nothing", async (store) => {
    const log = store.generations;
    await log.put({ id: 1, record: { status: "pushed" } }, [resource(CDS, "a", [1])]);
    await assert.rejects(log.put({ id: 1, record: { status: "held" } }, [resource(CDS, "b", [2]), resource(CDS, "b", [3])]), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual(err.issues.map((i) => i.path), ["resources[1]"]);
      return true;
    });
    const bad = { id: 0, record: [] as unknown, resources: [{ typeUrl: "", name: "x", body: "bytes" }] };
    await assert.rejects(log.put({ id: bad.id, record: bad.record as Record<string, unknown> }, bad.resources as unknown as StoredResource[]), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual(err.issues.map((i) => i.path), ["id", "record", "resources[0].typeUrl", "resources[0].body"]);
      assert.ok(!err.message.includes("\n"), "one line");
      return true;
    });
    for (const id of [-1, 1.5, Number.NaN]) await assert.rejects(log.put({ id, record: {} }), ValidationError, String(id));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await assert.rejects(log.put({ id: 2, record: cyclic }), (err: unknown) => err instanceof ValidationError && !err.message.includes("\n"));
    assert.deepEqual(await log.list(), [{ id: 1, record: { status: "pushed" } }]);
    assert.deepEqual(bodiesAsHex(await log.resources(1)), [{ typeUrl: CDS, name: "a", body: "01" }]);
  });

  it("generations: records and resources are all back after reopen", async (store, fixture, t) => {
    if (!fixture.reopen) {
      t.skip("not a persistent backend");
      return;
    }
    await store.generations.put({ id: 1, record: { status: "pushed", nested: { list: [1, "two", null] } } }, [resource(CDS, "a", [1, 2]), resource(EDS, "a", [3])]);
    await store.generations.put({ id: 2, record: { status: "held" } }, [resource(CDS, "a", [1, 2])]);
    await store.generations.put({ id: 3, record: { status: "rejected" } });
    await store.generations.retain(new Set([1, 3]));
    const records = await store.generations.list();
    const resources = await store.generations.resources(1);
    await store.close();
    const reopened = await fixture.reopen();
    try {
      assert.deepEqual(await reopened.generations.list(), records);
      assert.deepEqual(bodiesAsHex(await reopened.generations.resources(1)), bodiesAsHex(resources));
      assert.equal(await reopened.generations.resources(2), undefined);
      assert.equal(await reopened.generations.resources(3), undefined);
      await reopened.generations.put({ id: 4, record: {} }, [resource(CDS, "a", [1, 2])]);
      assert.deepEqual(bodiesAsHex(await reopened.generations.resources(4)), [{ typeUrl: CDS, name: "a", body: "0102" }]);
    } finally {
      await reopened.close();
    }
  });

  it("generations: every method refuses with UnavailableError once closed", async (store) => {
    await store.generations.put({ id: 1, record: {} }, [resource(CDS, "a", [1])]);
    await store.close();
    await assert.rejects(store.generations.put({ id: 2, record: {} }), UnavailableError);
    await assert.rejects(store.generations.list(), UnavailableError);
    await assert.rejects(store.generations.resources(1), UnavailableError);
    await assert.rejects(store.generations.retain(new Set()), UnavailableError);
  });
}
