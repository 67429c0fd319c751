import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UnavailableError } from "../../src/errors/index.js";
import { createEventHub } from "../../src/events/index.js";
import { createLogger } from "../../src/log/index.js";
import { createMetrics, type Metrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Store } from "../../src/registry/index.js";
import { createPropagationTracker, trackServiceEndpoints, watchStoreHealth } from "../../src/server/observers.js";
import { createFakeClock } from "../helpers/fake-clock.js";

/** The gauge's series as `service/health=count`, sorted. */
async function endpoints(metrics: Metrics): Promise<string[]> {
  const { values } = await metrics.serviceEndpoints.get();
  return values.map((v) => `${v.labels.service}/${v.labels.health}=${v.value}`).sort();
}

async function single(metrics: Metrics, name: "storeUp" | "storeLastCommit"): Promise<number | undefined> {
  return (await metrics[name].get()).values[0]?.value;
}

describe("server observers", () => {
  it("observers - service endpoints count each service's instances by health (the event hub's counts) from the start and from each change, and drop empty series", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const registry = await createRegistry(createMemoryStore());
    await registry.putInstance("greeter", "a", { address: "127.0.0.1", port: 1 });
    const hub = createEventHub({ registry, clock: createFakeClock(0), logger: createLogger({ level: "silent" }), clientCounts: () => ({ connected: 0, sotw: 0, delta: 0 }) });
    const stop = trackServiceEndpoints(hub, metrics);
    assert.deepEqual(await endpoints(metrics), ["greeter/healthy=1"]);
    await registry.putInstance("greeter", "b", { address: "127.0.0.1", port: 2 });
    await registry.putInstance("orders", "o1", { address: "127.0.0.1", port: 3 });
    await registry.setHealth("greeter", "b", "unhealthy");
    assert.deepEqual(await endpoints(metrics), ["greeter/healthy=1", "greeter/unhealthy=1", "orders/healthy=1"]);
    await registry.deleteInstance("greeter", "a");
    await registry.deleteService("orders");
    assert.deepEqual(await endpoints(metrics), ["greeter/unhealthy=1"]);
    stop();
    await registry.putInstance("greeter", "c", { address: "127.0.0.1", port: 4 });
    assert.deepEqual(await endpoints(metrics), ["greeter/unhealthy=1"], "nothing counted after unsubscribe");
    hub.stop();
    await registry.close();
  });

  it("observers - push propagation is observed once per stream and generation, from the change time, skipping NACKs, initial loads and unknown generations", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const clock = createFakeClock(10_000);
    const revisions = new Map([[7, 3]]);
    const tracker = createPropagationTracker({ metrics, clock, revisionOf: (id) => revisions.get(id) });
    tracker.changeBuilt(3, 9_750);
    const node = { id: "n", cluster: "", metadata: {} };
    const reply = { streamId: "s1", node, typeUrl: "t", tag: 7 };
    tracker.onReply({ ...reply, nack: { code: 3, message: "bad" } });
    tracker.onReply({ ...reply, initial: true });
    tracker.onReply({ ...reply, tag: 8 });
    tracker.onReply(reply);
    tracker.onReply({ ...reply, typeUrl: "u" });
    clock.advance(500);
    tracker.onReply({ ...reply, streamId: "s2" });
    const values = (await metrics.pushPropagation.get()).values;
    assert.equal(values.find((v) => v.metricName === "steadymesh_push_propagation_seconds_count")?.value, 2);
    assert.equal(values.find((v) => v.metricName === "steadymesh_push_propagation_seconds_sum")?.value, 0.25 + 0.75);
  });

  it("observers - store up follows commits: 1 from the start and after a success (with its time), 0 after an unavailable failure, unchanged by a validation error", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const clock = createFakeClock(5_000);
    const inner = createMemoryStore();
    let fail: Error | undefined;
    const flaky: Store = { ...inner, kind: inner.kind, load: () => inner.load(), watch: (f) => inner.watch(f), close: () => inner.close(), commit: (m) => (fail ? Promise.reject(fail) : inner.commit(m)) };
    const registry = await createRegistry(watchStoreHealth(flaky, metrics, clock));
    assert.equal(await single(metrics, "storeUp"), 1);
    await registry.putInstance("greeter", "a", { address: "127.0.0.1", port: 1 });
    assert.equal(await single(metrics, "storeLastCommit"), 5);
    fail = new UnavailableError("etcd unreachable");
    clock.advance(1000);
    await assert.rejects(registry.putInstance("greeter", "b", { address: "127.0.0.1", port: 2 }), UnavailableError);
    assert.equal(await single(metrics, "storeUp"), 0);
    fail = new Error("not about health");
    await assert.rejects(registry.putInstance("greeter", "b", { address: "127.0.0.1", port: 2 }));
    assert.equal(await single(metrics, "storeUp"), 0);
    fail = undefined;
    await registry.putInstance("greeter", "b", { address: "127.0.0.1", port: 2 });
    assert.deepEqual([await single(metrics, "storeUp"), await single(metrics, "storeLastCommit")], [1, 6]);
    await registry.close();
  });
});
