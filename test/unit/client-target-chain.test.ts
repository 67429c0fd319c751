/**
 * The steady: resolver's chain with DNS fallback (issue 19): an aggregate
 * Cluster is followed to its first EDS child, LOGICAL_DNS children are
 * skipped, and the chain reports what that child's ClusterLoadAssignment holds.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, type ResourceTypeUrl } from "../../src/proto/index.js";
import { watchTargetChain, type ChainUpdate } from "../../src/client/target-chain.js";
import type { ResourceUpdate, XdsClient } from "../../src/client/xds-client.js";
import type { ResourceModel } from "../../src/client/xds-resources.js";

/** A fake xDS client whose resources the test sets; watchers get the current value at once and every change. */
function fakeXds(): { xds: XdsClient; set(type: ResourceTypeUrl, name: string, model: ResourceModel): void; watched(): string[] } {
  const values = new Map<string, ResourceUpdate>();
  const watchers = new Map<string, Set<(update: ResourceUpdate) => void>>();
  const key = (type: ResourceTypeUrl, name: string) => `${type} ${name}`;
  const xds = {
    watch(type: ResourceTypeUrl, name: string, onUpdate: (update: ResourceUpdate) => void) {
      const k = key(type, name);
      if (!watchers.has(k)) watchers.set(k, new Set());
      watchers.get(k)!.add(onUpdate);
      const value = values.get(k);
      if (value) queueMicrotask(() => onUpdate(value));
      return () => watchers.get(k)?.delete(onUpdate);
    },
  } as unknown as XdsClient;
  return {
    xds,
    set(type, name, model) {
      const update: ResourceUpdate = { status: "ok", model };
      values.set(key(type, name), update);
      for (const watcher of watchers.get(key(type, name)) ?? []) watcher(update);
    },
    watched: () => [...watchers].filter(([, set]) => set.size > 0).map(([k]) => k.slice(k.lastIndexOf(".") + 1)),
  };
}

const endpoint = (address: string) => ({ address, port: 8080, weight: 1 });
const tick = () => new Promise((resolve) => setImmediate(resolve));

test("client target chain - an aggregate Cluster is followed to its first EDS child, skipping LOGICAL_DNS", async () => {
  const fake = fakeXds();
  fake.set(LISTENER_TYPE, "checkout", { kind: "listener", name: "checkout", routeConfigName: "checkout" });
  fake.set(ROUTE_TYPE, "checkout", { kind: "route", name: "checkout", clusters: new Map([["*", "checkout"]]) });
  fake.set(CLUSTER_TYPE, "checkout", { kind: "cluster", name: "checkout", edsName: undefined, children: ["checkout/~dns", "checkout/~eds"] });
  fake.set(CLUSTER_TYPE, "checkout/~dns", { kind: "cluster", name: "checkout/~dns", edsName: undefined, children: [] });
  fake.set(CLUSTER_TYPE, "checkout/~eds", { kind: "cluster", name: "checkout/~eds", edsName: "checkout", children: [] });
  fake.set(ENDPOINT_TYPE, "checkout", { kind: "endpoints", name: "checkout", endpoints: [endpoint("10.0.0.1")] });
  const updates: ChainUpdate[] = [];
  const cancel = watchTargetChain("checkout", { xds: fake.xds, strict: false, onEmptyIgnored: () => undefined }, (update) => updates.push(update));
  for (let i = 0; i < 10; i++) await tick();
  assert.deepEqual(updates.at(-1), { status: "ok", endpoints: [endpoint("10.0.0.1")] });
  // EDS empties: the resolver holds its last endpoints (its own fallback), as for any EDS Cluster.
  fake.set(ENDPOINT_TYPE, "checkout", { kind: "endpoints", name: "checkout", endpoints: [] });
  assert.equal(updates.at(-1)?.status, "held");
  cancel();
  assert.deepEqual(fake.watched(), [], "cancel ends every watch, the children's too");
});

test("client target chain - an aggregate with only a LOGICAL_DNS child leaves the target missing, with a reason", async () => {
  const fake = fakeXds();
  fake.set(LISTENER_TYPE, "checkout", { kind: "listener", name: "checkout", routeConfigName: "checkout" });
  fake.set(ROUTE_TYPE, "checkout", { kind: "route", name: "checkout", clusters: new Map([["*", "checkout"]]) });
  fake.set(CLUSTER_TYPE, "checkout", { kind: "cluster", name: "checkout", edsName: undefined, children: ["checkout/~dns"] });
  fake.set(CLUSTER_TYPE, "checkout/~dns", { kind: "cluster", name: "checkout/~dns", edsName: undefined, children: [] });
  const updates: ChainUpdate[] = [];
  const cancel = watchTargetChain("checkout", { xds: fake.xds, strict: false, onEmptyIgnored: () => undefined }, (update) => updates.push(update));
  for (let i = 0; i < 10; i++) await tick();
  const last = updates.at(-1);
  assert.equal(last?.status, "missing");
  assert.match(last?.status === "missing" ? last.reason : "", /cluster checkout has no EDS cluster to follow/);
  cancel();
});
