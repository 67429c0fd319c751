/**
 * The incremental build against the reference: a full rebuild. Seeded random
 * sequences of registry changes go through nextView as the registry applies
 * them; one chain builds each view incrementally (one build cache, each
 * build from the one before, as the spine does), another rebuilds every view
 * in full with no cache. After every step the two snapshots must be equal
 * resource for resource and byte for byte, with the same versions and the
 * same failures. The mix includes services that fail their checks (duplicate
 * endpoints, port 0), health changes, deletes and re-creates, and services
 * whose route points at another service's cluster (x-k → y-k, through a codec
 * decorator), so that removing or adding y-k changes whether x-k is
 * consistent without x-k itself changing. Services turn mTLS on and off and
 * gain and lose intentions, so their instances' server Listeners (LDS
 * resources not named after them) come and go, and two services on one
 * address and port collide over one.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SortedMap } from "../../src/collections/index.js";
import { createRng } from "../../src/lab/workload/rng.js";
import { ENDPOINT_TYPE, LISTENER_TYPE, RESOURCE_TYPES, ROUTE_TYPE, loadCodec, type Codec } from "../../src/proto/index.js";
import { HEALTH_STATES, type ChangeEvent, type Instance, type RegistryView, type Service } from "../../src/registry/index.js";
import { nextView } from "../../src/registry/next-view.js";
import { buildInSteps, buildSnapshot, createBuildCache, type BuildResult, type Snapshot } from "../../src/snapshot/index.js";
import { encodeLoadAssignment, loadAssignmentFor } from "../../src/snapshot/service-resources.js";

const base = loadCodec();
/** Routes of service x-k go to cluster y-k: x-k is consistent only while y-k exists. */
const crossRouting: Codec = {
  ...base,
  encodeResource: (typeUrl, message) => {
    if (typeUrl === ROUTE_TYPE && "name" in message && typeof message.name === "string" && message.name.startsWith("x-")) {
      const target = `y-${message.name.slice(2)}`;
      return base.encodeResource(ROUTE_TYPE, { name: message.name, virtual_hosts: [{ name: message.name, domains: ["*"], routes: [{ match: { prefix: "" }, route: { cluster: target } }] }] });
    }
    return base.encodeResource(typeUrl, message);
  },
};

const NAMES = ["a", "b", "c", "d", "e", "f", "x-1", "x-2", "y-1", "y-2"];

/** Mostly nothing (as before issue 16); otherwise an mtls mode and intentions from a few sources. */
function security(random: () => number): Pick<Service, "mtls" | "intentions"> {
  const roll = random();
  if (roll < 0.5) return {};
  const mtls = roll < 0.65 ? "off" : roll < 0.8 ? "permissive" : "strict";
  const intentions: Record<string, "allow" | "deny"> = {};
  for (const source of ["*", "a", "b"]) if (random() < 0.3) intentions[source] = random() < 0.5 ? "allow" : "deny";
  return { mtls, ...(Object.keys(intentions).length > 0 && { intentions }) };
}

function assertSameSnapshot(incremental: Snapshot, full: Snapshot, step: number): void {
  for (const type of RESOURCE_TYPES) {
    const a = [...incremental.resources[type]];
    const b = [...full.resources[type]];
    assert.deepEqual(a.map(([name]) => name), b.map(([name]) => name), `step ${step}: ${type} names`);
    for (let i = 0; i < a.length; i++) {
      const [name, got] = a[i]!;
      const want = b[i]![1];
      assert.equal(got.version, want.version, `step ${step}: ${type} ${name} version`);
      assert.ok(Buffer.from(got.body).equals(Buffer.from(want.body)), `step ${step}: ${type} ${name} bytes`);
    }
  }
  assert.deepEqual(incremental.typeVersions, full.typeVersions, `step ${step}: type versions`);
  assert.equal(incremental.version, full.version, `step ${step}: version`);
  assert.equal(incremental.revision, full.revision);
}

/**
 * A random instance of `name` at one of four addresses in `subnet` (so
 * duplicate endpoints, a failing service, happen), with port 0, which no
 * client takes, at the chance `zeroPort`.
 */
function randomInstance(random: () => number, name: string, subnet: string, zeroPort: number): Instance {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  return {
    service: name,
    id: `i${Math.floor(random() * 5)}`,
    address: `${subnet}.${Math.floor(random() * 4) + 1}`,
    port: random() < zeroPort ? 0 : 8000 + Math.floor(random() * 3),
    zone: pick(["z1", "z2"]),
    region: "r1",
    weight: 1 + Math.floor(random() * 3),
    health: pick(HEALTH_STATES),
    metadata: {},
  };
}

for (const seed of [1, 2, 3]) {
  test(`snapshot incremental - seed ${seed}: 400 random change steps, the incremental build equals a full rebuild after every step`, () => {
    const random = createRng(seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const service = (name: string): Service => ({ name, protocol: "grpc", lbPolicy: random() < 0.8 ? "round_robin" : "ring_hash", metadata: {}, ...security(random) });
    // A few addresses only, so duplicate endpoints (a failing service) happen; port 0 now and then.
    const instance = (name: string): Instance => randomInstance(random, name, "10.0.0", 0.03);
    let view: RegistryView = { revision: 0, services: SortedMap.empty() };
    const cache = createBuildCache();
    let incremental: BuildResult | undefined;
    let full: BuildResult | undefined;
    const kinds = { failing: 0, changes: 0, servers: 0, collisions: 0 };
    for (let step = 1; step <= 400; step++) {
      const events: ChangeEvent[] = [];
      for (let k = 0, n = 1 + Math.floor(random() * 3); k < n; k++) {
        const name = pick(NAMES);
        const roll = random();
        const exists = view.services.has(name) || events.some((e) => e.kind === "service-put" && e.service.name === name);
        if (!exists || roll < 0.1) events.push({ revision: step, kind: "service-put", service: service(name) });
        if (roll < 0.06) events.push({ revision: step, kind: "service-deleted", name });
        else if (roll < 0.25) events.push({ revision: step, kind: "instance-deleted", service: name, id: `i${Math.floor(random() * 5)}` });
        else events.push({ revision: step, kind: "instance-put", instance: instance(name) });
      }
      view = nextView(view, step, events);
      incremental = buildSnapshot(view, crossRouting, cache, incremental?.snapshot);
      full = buildSnapshot(view, crossRouting, undefined, full?.snapshot);
      assertSameSnapshot(incremental.snapshot, full.snapshot, step);
      assert.deepEqual(incremental.failures, full.failures, `step ${step}: failures`);
      if (!full.ok) kinds.failing++;
      if (full.failures.some((f) => f.issues.some((i) => i.message.includes("server Listener")))) kinds.collisions++;
      if ([...full.snapshot.resources[LISTENER_TYPE].keys()].some((name) => name.startsWith("grpc/server"))) kinds.servers++;
      kinds.changes += events.length;
    }
    assert.ok(kinds.servers > 100, `only ${kinds.servers} of 400 steps had server Listeners`);
    assert.ok(kinds.collisions > 5, `only ${kinds.collisions} of 400 steps had two services on one server Listener`);
    // The mix must have exercised the failure paths, or the test proves less than it says.
    assert.ok(kinds.failing > 20, `only ${kinds.failing} of 400 steps had a failing service`);
  });
}

for (const seed of [4, 5]) {
  test(`snapshot incremental - seed ${seed}: 200 random bursts built in steps of 1-4 services (buildInSteps) equal a full rebuild, byte for byte, with the same failing services`, () => {
    const random = createRng(seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const names = [...NAMES, ...Array.from({ length: 30 }, (_, k) => `s-${k}`)];
    const instance = (name: string): Instance => randomInstance(random, name, `10.0.${names.indexOf(name)}`, 0.01);
    let view: RegistryView = { revision: 0, services: SortedMap.empty() };
    const cache = createBuildCache();
    let stepped: BuildResult | undefined;
    let full: BuildResult | undefined;
    const seen = { steps: 0, failing: 0 };
    for (let burst = 1; burst <= 200; burst++) {
      const events: ChangeEvent[] = [];
      for (let k = 0, n = 1 + Math.floor(random() * 25); k < n; k++) {
        const name = pick(names);
        const exists = view.services.has(name) || events.some((e) => e.kind === "service-put" && e.service.name === name);
        const roll = random();
        if (!exists || roll > 0.95) events.push({ revision: burst, kind: "service-put", service: { name, protocol: "grpc", lbPolicy: "round_robin", metadata: {}, ...security(random) } });
        if (roll < 0.04) events.push({ revision: burst, kind: "service-deleted", name });
        else if (roll < 0.2) events.push({ revision: burst, kind: "instance-deleted", service: name, id: `i${Math.floor(random() * 5)}` });
        else events.push({ revision: burst, kind: "instance-put", instance: instance(name) });
      }
      view = nextView(view, burst, events);
      const steps = buildInSteps(view, crossRouting, cache, stepped?.snapshot, 1 + Math.floor(random() * 4));
      for (let next = steps.next(); ; next = steps.next()) {
        if (next.done) {
          stepped = next.value;
          break;
        }
        seen.steps++;
      }
      full = buildSnapshot(view, crossRouting, undefined, full?.snapshot);
      assert.deepEqual(stepped.failures.map((f) => f.service), full.failures.map((f) => f.service), `burst ${burst}: failing services`);
      assertSameSnapshot(stepped.snapshot, full.snapshot, burst);
      if (!full.ok) seen.failing++;
    }
    assert.ok(seen.steps > 200, `only ${seen.steps} intermediate steps: the bursts were too small to test stepping`);
    assert.ok(seen.failing > 20, `only ${seen.failing} of 200 bursts had a failing service`);
  });
}

test("snapshot incremental - a cross-service reference: removing y-1 takes x-1 down with it, re-adding y-1 brings x-1 back, both ways equal to a full rebuild", () => {
  const svc = (name: string): Service => ({ name, protocol: "grpc", lbPolicy: "round_robin", metadata: {} });
  const inst = (name: string): Instance => ({ service: name, id: "i0", address: "10.0.0.1", port: 8000, zone: "", region: "", weight: 1, health: "healthy", metadata: {} });
  const cache = createBuildCache();
  let view: RegistryView = { revision: 0, services: SortedMap.empty() };
  const step = (revision: number, events: ChangeEvent[]) => {
    view = nextView(view, revision, events);
    return view;
  };
  const first = buildSnapshot(step(1, ["x-1", "y-1"].flatMap((n): ChangeEvent[] => [{ revision: 1, kind: "service-put", service: svc(n) }, { revision: 1, kind: "instance-put", instance: inst(n) }])), crossRouting, cache);
  assert.equal(first.ok, true);
  const gone = buildSnapshot(step(2, [{ revision: 2, kind: "instance-deleted", service: "y-1", id: "i0" }, { revision: 2, kind: "service-deleted", name: "y-1" }]), crossRouting, cache, first.snapshot);
  assert.deepEqual(gone.failures.map((f) => [f.service, f.kept]), [["x-1", false]]);
  assert.equal(gone.snapshot.resources[ROUTE_TYPE].has("x-1"), false);
  assert.deepEqual(gone.failures, buildSnapshot(view, crossRouting, undefined, first.snapshot).failures);
  const back = buildSnapshot(step(3, [{ revision: 3, kind: "service-put", service: svc("y-1") }, { revision: 3, kind: "instance-put", instance: inst("y-1") }]), crossRouting, cache, gone.snapshot);
  assert.equal(back.ok, true);
  assert.equal(back.snapshot.version, first.snapshot.version);
  assertSameSnapshot(back.snapshot, buildSnapshot(view, crossRouting, undefined, gone.snapshot).snapshot, 3);
});

test("snapshot incremental - a ClusterLoadAssignment assembled from endpoints encoded one by one is byte for byte the codec's encoding of the whole message (300 seeded random services)", () => {
  const random = createRng(11);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  let localities = 0;
  for (let k = 0; k < 300; k++) {
    const name = `svc-${k}`;
    const instances = Array.from({ length: Math.floor(random() * 40) }, (_, i): [string, Instance] => {
      const id = `i-${String(Math.floor(random() * 1000)).padStart(3, "0")}-${i}`;
      return [id, {
        service: name, id,
        address: random() < 0.2 ? `fd00::${i + 1}` : `10.${k % 250}.${i % 250}.${1 + Math.floor(random() * 250)}`,
        port: 1 + Math.floor(random() * 65535),
        region: pick(["", "r1", "r2", "ü-west"]), zone: pick(["", "z1", "z2"]),
        weight: random() < 0.1 ? 4_000_000_000 / 40 : 1 + Math.floor(random() * 100),
        health: pick(HEALTH_STATES), metadata: {},
      }];
    });
    const entry = { service: { name, protocol: "grpc", lbPolicy: "round_robin", metadata: {} } as Service, instances: SortedMap.of(instances) };
    const reference = base.encodeResource(ENDPOINT_TYPE, loadAssignmentFor(name, entry));
    const assembled = encodeLoadAssignment(name, entry, base);
    assert.ok(Buffer.from(assembled).equals(Buffer.from(reference)), `${name}: assembled bytes differ from the codec's`);
    localities += loadAssignmentFor(name, entry).endpoints.length;
  }
  assert.ok(localities > 600, `only ${localities} localities: the mix is too thin`);
});
