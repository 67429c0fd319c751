/**
 * The push guard and traffic policies (issue 18), on snapshots the builder
 * encodes: a route that newly sends traffic to a subset without endpoints is
 * held (black hole) and never drained; one already served does not hold
 * again; a policy change is listed in the diff and counts in the blast
 * radius like an endpoint change.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { addresses, build, codec, entry } from "./guard-fixtures.js";
import { blackHolesOf } from "../../src/guard/black-holes.js";
import { decide, type DecideSettings } from "../../src/guard/decide.js";
import { diffSnapshots } from "../../src/guard/diff.js";
import { drainStep } from "../../src/guard/drain.js";
import { GUARD_DEFAULTS } from "../../src/guard/model.js";
import type { ServiceEntry, TrafficPolicy } from "../../src/registry/index.js";

const settings: DecideSettings = { codec, policy: GUARD_DEFAULTS };

const SUBSETS = [
  { name: "v1", match: { version: "1" } },
  { name: "v2", match: { version: "2" } },
];

/** Pay goes to v1 and v2 by `weights`; everything else to the whole service. */
function split(v1: number, v2: number): TrafficPolicy {
  const to = [{ subset: "v1", weight: v1 }, { subset: "v2", weight: v2 }].filter((target) => target.weight > 0);
  return { subsets: SUBSETS, routes: [{ match: { method: "/shop.Checkout/Pay" }, to }] };
}

/** checkout with `v1` instances of version 1 and `v2` of version 2 (10.0.1.x and 10.0.2.x), under `policy`. */
function checkout(policy: TrafficPolicy | null, v1: number, v2: number): ServiceEntry {
  const specs = [
    ...addresses(1, v1).map((address) => ({ address, metadata: { version: "1" } })),
    ...addresses(2, v2).map((address) => ({ address, metadata: { version: "2" } })),
  ];
  const base = entry("checkout", specs);
  return policy ? { ...base, service: { ...base.service, policy } } : base;
}

const served = (revision: number, service: ServiceEntry) => ({ id: 7, snapshot: build(revision, [service, entry("login", addresses(9, 2))]) });
const candidate = (revision: number, service: ServiceEntry) => build(revision, [service, entry("login", addresses(9, 2))]);

test("guard policy - a route sending traffic to a subset with no endpoints is held, naming the service, the route and the subset", () => {
  const baseline = served(1, checkout(split(100, 0), 2, 0));
  const next = candidate(2, checkout(split(90, 10), 2, 0));
  const decision = decide(baseline, next, settings);
  assert.equal(decision.kind, "hold");
  assert.equal(decision.rule, "black-hole");
  assert.deepEqual(decision.problems.map((p) => p.path), ["RDS/checkout"]);
  assert.match(decision.problems[0]!.message, /^route 0 \(method \/shop\.Checkout\/Pay\) of checkout sends traffic to subset v2, which has no endpoints/);
  // Never released by the drain: only an approval lets it through.
  assert.equal(drainStep(codec, baseline.snapshot, next, GUARD_DEFAULTS), undefined);
});

test("guard policy - the same split with a v2 endpoint is pushed; emptying v2 later holds too", () => {
  const baseline = served(1, checkout(split(100, 0), 2, 1));
  const withV2 = candidate(2, checkout(split(90, 10), 2, 1));
  assert.equal(decide(baseline, withV2, settings).kind, "push");
  const emptied = candidate(3, checkout(split(90, 10), 2, 0));
  const decision = decide({ id: 8, snapshot: withV2 }, emptied, settings);
  assert.equal(decision.kind, "hold");
  assert.ok(decision.problems.some((p) => p.rule === "black-hole" && /subset v2/.test(p.message)), JSON.stringify(decision.problems));
});

test("guard policy - a black hole already served does not hold again; an unrelated change is pushed", () => {
  const holed = checkout(split(90, 10), 2, 0);
  const baseline = served(1, holed);
  assert.equal(blackHolesOf(codec, baseline.snapshot, "checkout").length, 1);
  // One more v1 instance: the route and its hole are unchanged.
  const decision = decide(baseline, candidate(2, checkout(split(90, 10), 3, 0)), settings);
  assert.equal(decision.kind, "push", JSON.stringify(decision.problems));
  // A policy that moves its traffic to another route match is a new hole.
  const moved: TrafficPolicy = { subsets: SUBSETS, routes: [{ match: { prefix: "/shop." }, to: [{ subset: "v2", weight: 100 }] }] };
  const again = decide(baseline, candidate(2, checkout(moved, 2, 0)), settings);
  assert.equal(again.rule, "black-hole");
  assert.match(again.problems[0]!.message, /route 0 \(prefix \/shop\.\) of checkout/);
});

test("guard policy - the diff lists services whose policy changed; none for endpoint-only changes", () => {
  const before = candidate(1, checkout(split(100, 0), 2, 1));
  assert.deepEqual(diffSnapshots(codec, before, candidate(2, checkout(split(90, 10), 2, 1))).policies, ["checkout"]);
  assert.equal(diffSnapshots(codec, before, candidate(2, checkout(split(100, 0), 3, 1))).policies, undefined);
  // Adding a policy (new subset Clusters and CLAs, a new Route) and removing it are policy changes too.
  const plain = candidate(1, checkout(null, 2, 1));
  assert.deepEqual(diffSnapshots(codec, plain, before).policies, ["checkout"]);
  assert.deepEqual(diffSnapshots(codec, before, plain).policies, ["checkout"]);
});

test("guard policy - a policy change counts in the blast radius: moving a route onto far fewer endpoints is held", () => {
  // Pay reaches the 10 v1 endpoints; moving it all to v2's single endpoint loses 9 of 10 (net).
  const baseline = served(1, checkout(split(100, 0), 10, 1));
  const decision = decide(baseline, candidate(2, checkout(split(0, 100), 10, 1)), settings);
  assert.equal(decision.kind, "hold");
  assert.equal(decision.rule, "endpoint-removal");
  assert.deepEqual(decision.problems.map((p) => p.path), ["RDS/checkout"]);
  assert.match(decision.problems[0]!.message, /removes 9 of 10 endpoints of route 0 \(method \/shop\.Checkout\/Pay\) of checkout \(90% > 50%\)/);
  // Half to each side of a 1/1 service is within the share, as the 90/10 → 0/100 switch is.
  const even = served(1, checkout(split(90, 10), 1, 1));
  assert.equal(decide(even, candidate(2, checkout(split(0, 100), 1, 1)), settings).kind, "push");
  // With the guard off, nothing is held.
  assert.equal(decide(baseline, candidate(2, checkout(split(0, 100), 10, 1)), { codec, policy: { ...GUARD_DEFAULTS, enabled: false } }).kind, "push");
});

test("guard policy - deleting a policy is pushed even when its subset Clusters are most of the Clusters; deleting the service with them still holds", () => {
  // checkout alone: Clusters checkout, checkout/v1, checkout/v2; the policy's removal drops 2 of 3.
  const withPolicy = build(1, [checkout(split(50, 50), 2, 2)]);
  const withoutPolicy = build(2, [checkout(null, 2, 2)]);
  const decision = decide({ id: 7, snapshot: withPolicy }, withoutPolicy, settings);
  assert.equal(decision.kind, "push", JSON.stringify(decision.problems));
  // The same three Clusters removed with their service are a Cluster removal (with login kept so the snapshot is not empty).
  const before = build(3, [checkout(split(50, 50), 2, 2), entry("login", addresses(9, 2))]);
  const gone = build(4, [entry("login", addresses(9, 2))]);
  const held = decide({ id: 8, snapshot: before }, gone, settings);
  assert.equal(held.kind, "hold");
  assert.ok(held.problems.some((p) => p.path === "CDS" && /removes 3 of 4 Clusters/.test(p.message)), JSON.stringify(held.problems));
});
