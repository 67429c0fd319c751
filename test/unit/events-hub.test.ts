import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ACK_BOOKS, ACKS_EVERY_MS, CLIENTS_EVERY_MS, HISTORY_SAMPLES, NACK_WINDOW_MS, REGISTRY_CHANGES_SHOWN, HEALTH_CHANGES_SHOWN, createEventHub, type ClientCounts, type HubEvent } from "../../src/events/index.js";
import type { Generation } from "../../src/guard/index.js";
import { createLogger } from "../../src/log/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE } from "../../src/proto/index.js";
import { createMemoryStore, createRegistry, type ChangeEvent, type Instance, type Registry, type RegistryView } from "../../src/registry/index.js";
import type { ClientReply } from "../../src/xds/index.js";
import { createFakeClock, type FakeClock } from "../helpers/fake-clock.js";

const logger = createLogger({ level: "silent" });

/** A registry feed the test drives by hand: `commit` hands subscribers a batch of events. */
function fakeFeed(initial: RegistryView = { revision: 0, services: new Map() }) {
  let view = initial;
  const subscribers = new Set<(view: RegistryView, events: readonly ChangeEvent[]) => void>();
  return {
    view: () => view,
    subscribe(fn: (view: RegistryView, events: readonly ChangeEvent[]) => void) {
      subscribers.add(fn);
      return () => void subscribers.delete(fn);
    },
    commit(events: readonly ChangeEvent[]) {
      view = { ...view, revision: view.revision + 1 };
      for (const fn of subscribers) fn(view, events);
    },
    get revision() {
      return view.revision;
    },
  };
}

function instance(service: string, id: string, health: Instance["health"] = "healthy"): Instance {
  return { service, id, address: "10.0.0.1", port: 1000, zone: "", region: "", weight: 1, health, metadata: {} };
}
const put = (i: Instance, revision = 1): ChangeEvent => ({ revision, kind: "instance-put", instance: i });

function setup(options: { clock?: FakeClock; feed?: ReturnType<typeof fakeFeed>; counts?: () => ClientCounts } = {}) {
  const clock = options.clock ?? createFakeClock(Date.parse("2026-01-01T00:00:00.000Z"));
  const feed = options.feed ?? fakeFeed();
  const hub = createEventHub({ registry: feed, clock, logger, clientCounts: options.counts ?? (() => ({ connected: 0, sotw: 0, delta: 0 })) });
  const events: HubEvent[] = [];
  hub.subscribe((event) => events.push(event));
  return { clock, feed, hub, events, of: (type: HubEvent["type"]) => events.filter((e) => e.type === type).map((e) => e.data) };
}

function reply(fields: Partial<ClientReply> & Pick<ClientReply, "streamId">): ClientReply {
  return { node: { id: `node-${fields.streamId}`, cluster: "", metadata: {} } as ClientReply["node"], typeUrl: ENDPOINT_TYPE, ...fields };
}

function generation(id: number, status: Generation["status"], at = "2026-01-01T00:00:00.000Z"): Generation {
  return {
    id, status, revision: id, createdAt: at, version: `v${id}`, reason: status === "held" ? "held: removes 9 of 10 endpoints of greeter (90% > 50%)" : "",
    problems: [], source: "registry", diff: { types: { LDS: none, RDS: none, CDS: none, EDS: none }, endpoints: {} }, history: [{ at, status, detail: status }],
  };
}
const none = { added: [], removed: [], changed: [] };

describe("event hub", () => {
  it("events - counts by health kept from change events: start walk, puts, health changes, deletes", async () => {
    const registry: Registry = await createRegistry(createMemoryStore());
    await registry.putInstance("greeter", "a", { address: "127.0.0.1", port: 1 });
    const clock = createFakeClock(1_000_000);
    const hub = createEventHub({ registry, clock, logger, clientCounts: () => ({ connected: 0, sotw: 0, delta: 0 }) });
    const events: HubEvent[] = [];
    hub.subscribe((e) => events.push(e));
    assert.deepEqual(hub.totals(), { services: 1, instances: { healthy: 1, unhealthy: 0, unknown: 0, draining: 0, total: 1 } });
    await registry.putInstance("greeter", "b", { address: "127.0.0.1", port: 2 });
    await registry.setHealth("greeter", "b", "unhealthy");
    await registry.putService("orders", {});
    assert.deepEqual(hub.serviceCounts("greeter"), { healthy: 1, unhealthy: 1, unknown: 0, draining: 0, total: 2 });
    assert.deepEqual(hub.serviceCounts("orders"), { healthy: 0, unhealthy: 0, unknown: 0, draining: 0, total: 0 });
    assert.deepEqual(events.filter((e) => e.type === "health").map((e) => e.data), [{ service: "greeter", id: "b", from: "healthy", to: "unhealthy" }]);
    const registryEvents = events.filter((e) => e.type === "registry");
    assert.deepEqual(registryEvents.at(-1)!.data, { revision: registry.view().revision, changes: [{ kind: "service-put", service: "orders" }] });
    await registry.deleteService("greeter");
    assert.equal(hub.serviceCounts("greeter"), undefined);
    assert.equal(hub.history("greeter"), undefined);
    assert.deepEqual(hub.totals(), { services: 1, instances: { healthy: 0, unhealthy: 0, unknown: 0, draining: 0, total: 0 } });
    assert.deepEqual(hub.position(), { revision: registry.view().revision, generation: null });
    assert.ok(events.every((e, i) => i === 0 || e.id > events[i - 1]!.id), "ids increase");
    hub.stop();
    await registry.close();
  });

  it("events - history: a sample at first sight, at most one per second (the last in a second wins), the newest 360 kept", () => {
    const { clock, feed, hub } = setup();
    feed.commit([put(instance("greeter", "a"))]);
    clock.advance(100);
    feed.commit([put(instance("greeter", "b"))]);
    clock.advance(100);
    feed.commit([put(instance("greeter", "c"))]);
    // First sight, then one sample for the rest of that second: c's count (3), not b's (2).
    assert.deepEqual(hub.history("greeter")!.map((s) => s.healthy), [1, 3]);
    clock.advance(1000);
    feed.commit([put(instance("greeter", "c", "draining"))]);
    assert.deepEqual(hub.history("greeter")!.map((s) => [s.healthy, s.draining]), [[1, 0], [3, 0], [2, 1]]);
    // An event that changes no count adds no sample.
    clock.advance(1000);
    feed.commit([put(instance("greeter", "c", "draining"))]);
    assert.equal(hub.history("greeter")!.length, 3);
    for (let i = 0; i < HISTORY_SAMPLES + 50; i++) {
      clock.advance(1000);
      feed.commit([put(instance("greeter", `x${i}`))]);
    }
    const samples = hub.history("greeter")!;
    assert.equal(samples.length, HISTORY_SAMPLES);
    assert.equal(samples.at(-1)!.healthy, 2 + HISTORY_SAMPLES + 50);
    assert.ok(samples.every((s, i) => i === 0 || Math.floor(s.at / 1000) > Math.floor(samples[i - 1]!.at / 1000)), "one per second at most");
    hub.stop();
  });

  it("events - a registry event lists at most 200 changes and counts the rest in truncated", () => {
    const { feed, of, hub } = setup();
    feed.commit(Array.from({ length: REGISTRY_CHANGES_SHOWN + 37 }, (_, i) => put(instance("bulk", `i${i}`))));
    const [event] = of("registry") as { changes: unknown[]; truncated?: number; revision: number }[];
    assert.equal(event!.changes.length, REGISTRY_CHANGES_SHOWN);
    assert.equal(event!.truncated, 37);
    assert.deepEqual(event!.changes[0], { kind: "instance-put", service: "bulk", id: "i0", health: "healthy" });
    assert.equal(hub.serviceCounts("bulk")!.total, REGISTRY_CHANGES_SHOWN + 37);
    feed.commit([put(instance("bulk", "one-more"))]);
    assert.equal((of("registry")[1] as { truncated?: number }).truncated, undefined);
    // A flap of every instance at once: at most 200 health events; the registry event says how many more changed.
    feed.commit(Array.from({ length: REGISTRY_CHANGES_SHOWN + 37 }, (_, i) => put(instance("bulk", `i${i}`, "unhealthy"))));
    assert.equal(of("health").length, HEALTH_CHANGES_SHOWN);
    assert.deepEqual(of("health")[0], { service: "bulk", id: "i0", from: "healthy", to: "unhealthy" });
    assert.equal((of("registry")[2] as { truncated?: number }).truncated, 37);
    hub.stop();
  });

  it("events - NACKs: each one an event with its error_detail, counted for an hour", () => {
    const { clock, hub, of } = setup();
    hub.onReply(reply({ streamId: "s1", tag: 7, nack: { code: 3, message: "endpoints[0].port: must be 1-65535" } }));
    assert.deepEqual(of("nack"), [{ streamId: "s1", nodeId: "node-s1", type: "EDS", generation: 7, errorDetail: { code: 3, message: "endpoints[0].port: must be 1-65535" } }]);
    clock.advance(30 * 60_000);
    hub.onReply(reply({ streamId: "s2", nack: { code: 3, message: "bad" } }));
    assert.equal(hub.nacksLastHour(), 2);
    clock.advance(NACK_WINDOW_MS - 30 * 60_000 + 1000);
    assert.equal(hub.nacksLastHour(), 1);
    clock.advance(30 * 60_000);
    assert.equal(hub.nacksLastHour(), 0);
    hub.stop();
  });

  it("events - ACKs: the first per stream and generation, coalesced into one acks event per 250 ms, with times from the push", () => {
    const { clock, hub, of } = setup();
    hub.onGeneration(generation(3, "pushed", new Date(clock.now()).toISOString()));
    clock.advance(35);
    hub.onReply(reply({ streamId: "s1", tag: 3, initial: false }));
    hub.onReply(reply({ streamId: "s1", tag: 3, typeUrl: CLUSTER_TYPE }));
    hub.onReply(reply({ streamId: "s2", tag: 3, initial: true }));
    hub.onReply(reply({ streamId: "s2" }));
    assert.deepEqual(of("acks"), []);
    clock.advance(ACKS_EVERY_MS);
    assert.deepEqual(of("acks"), [{ generations: { 3: 2 } }]);
    clock.advance(ACKS_EVERY_MS * 4);
    assert.equal(of("acks").length, 1, "no event without new ACKs");
    const book = hub.acks(3);
    assert.ok(book && book !== "expired");
    assert.deepEqual([...book.acks.values()].map((a) => [a.streamId, a.at - book.pushedAt!, a.initial]), [["s1", 35, false], ["s2", 35, true]]);
    hub.stop();
  });

  it("events - ACK books are kept for the newest 64 generations; older ones are expired", () => {
    const { hub } = setup();
    for (let id = 1; id <= ACK_BOOKS + 10; id++) {
      hub.onGeneration(generation(id, "pushed"));
      hub.onReply(reply({ streamId: "s1", tag: id }));
    }
    // 74 generations: the newest 64 (11-74) keep their books.
    assert.equal(hub.acks(1), "expired");
    assert.equal(hub.acks(10), "expired");
    const kept = hub.acks(11);
    assert.ok(kept && kept !== "expired" && kept.acks.size === 1);
    assert.equal(hub.acks(ACK_BOOKS + 11), undefined, "a generation not yet seen has no book");
    hub.onReply(reply({ streamId: "s9", tag: 5 }));
    assert.equal(hub.acks(5), "expired", "an ACK of an expired generation opens no book");
    hub.stop();
  });

  it("events - generation events on creation and status change; client counts checked once a second while anyone listens", () => {
    let counts: ClientCounts = { connected: 1, sotw: 1, delta: 0 };
    const { clock, hub, of } = setup({ counts: () => counts });
    hub.onGeneration(generation(12, "held"));
    hub.onGeneration({ ...generation(12, "pushed"), reason: "" });
    assert.deepEqual(of("generation").map((g) => [g.id, g.status]), [[12, "held"], [12, "pushed"]]);
    assert.equal(of("generation")[0]!.reason, "held: removes 9 of 10 endpoints of greeter (90% > 50%)");
    assert.equal(hub.position().generation, 12);
    clock.advance(CLIENTS_EVERY_MS);
    assert.deepEqual(of("clients"), [], "no change, no event");
    counts = { connected: 3, sotw: 2, delta: 1 };
    clock.advance(CLIENTS_EVERY_MS / 2);
    assert.deepEqual(of("clients"), []);
    clock.advance(CLIENTS_EVERY_MS / 2);
    assert.deepEqual(of("clients"), [{ connected: 3, sotw: 2, delta: 1 }]);
    hub.stop();
    assert.equal(clock.pending(), 0, "stop cancels every timer");
  });
});
