/**
 * The push guard's validation and diff work from what changed since the
 * snapshot they saw last (SortedMap diffs). Here they are checked against
 * references that look at everything: validation with a fresh codec object
 * (nothing remembered) and a diff computed by walking both snapshots whole.
 * Seeded random registry changes go through the builder; now and then a
 * hand-made defect is laid over the built snapshot (an undecodable body, an
 * extra undecodable resource, a resource under another name, a route to a
 * missing cluster), and taken
 * away again, so the guard's findings come and go. Services turn mTLS on
 * and off and gain intentions, so server Listeners and Clusters with TLS
 * come and go too, and the services a candidate turns strict (read from
 * what changed) are checked against a walk over every Cluster.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SortedMap } from "../../src/collections/index.js";
import { prepareDecision } from "../../src/guard/decide.js";
import { diffSnapshots } from "../../src/guard/diff.js";
import { endpointsOf } from "../../src/guard/endpoints.js";
import { servicesTurningStrict } from "../../src/guard/strict-turn.js";
import type { EndpointDiff, GenerationDiff, ShortType, TypeDiff } from "../../src/guard/model.js";
import { validateSnapshot } from "../../src/guard/validate.js";
import { createRng } from "../../src/lab/workload/rng.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, RESOURCE_TYPES, ROUTE_TYPE, TYPE_SHORT_NAMES, loadCodec, type Codec } from "../../src/proto/index.js";
import type { ChangeEvent, Instance, RegistryView } from "../../src/registry/index.js";
import { nextView } from "../../src/registry/next-view.js";
import { buildSnapshot, createBuildCache, createResource, createSnapshot, type Snapshot } from "../../src/snapshot/index.js";

const codec = loadCodec();

function fullDiff(c: Codec, before: Snapshot | undefined, after: Snapshot): GenerationDiff {
  const types = {} as Record<ShortType, TypeDiff>;
  for (const type of RESOURCE_TYPES) {
    const was = before?.resources[type] ?? new Map();
    const is = after.resources[type];
    types[TYPE_SHORT_NAMES[type]] = {
      added: [...is.keys()].filter((n) => !was.has(n)).sort(),
      removed: [...was.keys()].filter((n) => !is.has(n)).sort(),
      changed: [...is.keys()].filter((n) => was.has(n) && was.get(n)!.version !== is.get(n)!.version).sort(),
    };
  }
  const endpoints: Record<string, EndpointDiff> = {};
  const services = new Set([...(before?.resources[ENDPOINT_TYPE].keys() ?? []), ...after.resources[ENDPOINT_TYPE].keys()]);
  for (const service of [...services].sort()) {
    const was = (before && endpointsOf(c, before, service)) ?? [];
    const is = endpointsOf(c, after, service) ?? [];
    const added = is.filter((e) => !was.includes(e));
    const removed = was.filter((e) => !is.includes(e));
    if (added.length > 0 || removed.length > 0) endpoints[service] = { before: was.length, after: is.length, added, removed };
  }
  // Services whose policy resources differ: a changed RouteConfiguration, or any change to a `{service}/{subset}` Cluster.
  const policies = new Set(before ? types.RDS.changed : []);
  if (before) for (const name of [...types.CDS.added, ...types.CDS.removed, ...types.CDS.changed]) if (name.includes("/")) policies.add(name.split("/")[0]!);
  return policies.size > 0 ? { types, endpoints, policies: [...policies].sort() } : { types, endpoints };
}

for (const seed of [5, 6]) {
  test(`guard incremental - seed ${seed}: over 300 random steps, validation and the diff (with or without their work done ahead) equal references that look at every resource`, () => {
    const random = createRng(seed);
    const names = ["a", "b", "c", "d", "e"];
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const cache = createBuildCache();
    let view: RegistryView = { revision: 0, services: SortedMap.empty() };
    let built: Snapshot | undefined;
    let served: Snapshot | undefined;
    let problems = 0;
    let strictTurns = 0;
    const ahead = createRng(seed + 100);
    let previous: Snapshot | undefined;
    for (let step = 1; step <= 300; step++) {
      const events: ChangeEvent[] = [];
      const name = pick(names);
      const security = random();
      if (!view.services.has(name) || security < 0.15) {
        const mtls = security < 0.05 ? "strict" : security < 0.1 ? "permissive" : "off";
        events.push({ revision: step, kind: "service-put", service: { name, protocol: "grpc", lbPolicy: "round_robin", metadata: {}, mtls, ...(random() < 0.3 && { intentions: { a: "deny" as const } }) } });
      }
      const roll = random();
      if (roll < 0.05 && view.services.has(name)) events.push({ revision: step, kind: "service-deleted", name });
      else if (roll < 0.2) events.push({ revision: step, kind: "instance-deleted", service: name, id: `i${Math.floor(random() * 4)}` });
      else {
        const instance: Instance = { service: name, id: `i${Math.floor(random() * 4)}`, address: `10.0.${Math.floor(random() * 3)}.1`, port: 9000 + Math.floor(random() * 2), zone: "z", region: "r", weight: 1, health: pick(["healthy", "unhealthy"]), metadata: {} };
        events.push({ revision: step, kind: "instance-put", instance });
      }
      view = nextView(view, step, events);
      built = buildSnapshot(view, codec, cache, built).snapshot;
      // The candidate: the build, with a defect laid over it now and then.
      let candidate = built;
      const defect = random();
      const target = pick(names);
      if (defect < 0.1 && built.resources[ENDPOINT_TYPE].has(target)) {
        candidate = createSnapshot(step, { ...built.resources, [ENDPOINT_TYPE]: built.resources[ENDPOINT_TYPE].set(target, createResource(ENDPOINT_TYPE, target, Uint8Array.of(0x0a, 0xff))) }, built);
      } else if (defect < 0.2 && built.resources[ROUTE_TYPE].has(target)) {
        const ghost = createResource(ROUTE_TYPE, target, codec.encodeResource(ROUTE_TYPE, { name: target, virtual_hosts: [{ name: "v", domains: ["*"], routes: [{ match: { prefix: "" }, route: { cluster: "ghost" } }] }] }));
        candidate = createSnapshot(step, { ...built.resources, [ROUTE_TYPE]: built.resources[ROUTE_TYPE].set(target, ghost) }, built);
      } else if (defect < 0.3) {
        // An extra, undecodable CLA: a finding of its own that must go when the resource goes.
        candidate = createSnapshot(step, { ...built.resources, [ENDPOINT_TYPE]: built.resources[ENDPOINT_TYPE].set(`${target}-junk`, createResource(ENDPOINT_TYPE, `${target}-junk`, Uint8Array.of(0x0a, 0xff))) }, built);
      } else if (defect < 0.35 && built.resources[CLUSTER_TYPE].has(target)) {
        candidate = createSnapshot(step, { ...built.resources, [CLUSTER_TYPE]: built.resources[CLUSTER_TYPE].set(`${target}-moved`, built.resources[CLUSTER_TYPE].get(target)!) }, built);
      }
      // Work done ahead (as the spine's stepped builds do) must change nothing: half the time, it comes first.
      if (ahead() < 0.5) prepareDecision(codec, served, previous, candidate);
      previous = candidate;
      const found = validateSnapshot(codec, candidate);
      assert.deepEqual(found, validateSnapshot({ ...codec }, candidate), `step ${step}: validation`);
      problems += found.length > 0 ? 1 : 0;
      // An undecodable CLA makes both throw (decide documents it); the outcome, value or error, must be the same.
      const outcome = (run: () => GenerationDiff) => {
        try {
          return run();
        } catch (error) {
          return { threw: (error as Error).message };
        }
      };
      assert.deepEqual(outcome(() => diffSnapshots(codec, served, candidate)), outcome(() => fullDiff(codec, served, candidate)), `step ${step}: diff`);
      if (found.length === 0) {
        const turning = servicesTurningStrict(codec, served, candidate).map((c) => c.service);
        const tls = (snapshot: Snapshot | undefined, service: string) => {
          const resource = snapshot?.resources[CLUSTER_TYPE].get(service);
          return resource !== undefined && codec.decodeResource(CLUSTER_TYPE, resource.body).transport_socket !== undefined;
        };
        assert.deepEqual(turning, [...candidate.resources[CLUSTER_TYPE].keys()].filter((service) => tls(candidate, service) && !tls(served, service)), `step ${step}: turning strict`);
        strictTurns += turning.length;
      }
      // The guard's baseline moves on only with clean candidates, as a push would.
      if (found.length === 0 && random() < 0.7) served = candidate;
    }
    assert.ok(problems > 20, `only ${problems} steps with findings`);
    assert.ok(strictTurns > 5, `only ${strictTurns} services turned strict`);
  });
}
