import assert from "node:assert/strict";
import { test } from "node:test";
import { addresses, build, codec, entry, type InstanceSpec } from "./guard-fixtures.js";
import { assessBlastRadius } from "../../src/guard/blast-radius.js";
import { diffSnapshots } from "../../src/guard/diff.js";
import { drainStep } from "../../src/guard/drain.js";
import { endpointsOf } from "../../src/guard/endpoints.js";
import { GUARD_DEFAULTS, type GuardPolicy } from "../../src/guard/model.js";
import { ENDPOINT_TYPE, RESOURCE_TYPES } from "../../src/proto/index.js";
import { endpointKey } from "../../src/resources/index.js";
import { checkConsistency, type Snapshot } from "../../src/snapshot/index.js";

function count(snapshot: Snapshot, service: string): number | undefined {
  return endpointsOf(codec, snapshot, service)?.length;
}

/** Every step the guard would push, each checked; `end` tells how the drain stopped. */
function drainAll(baseline: Snapshot, candidate: Snapshot, policy: GuardPolicy = GUARD_DEFAULTS) {
  const steps: Snapshot[] = [];
  let current = baseline;
  for (;;) {
    assert.ok(steps.length < 50, "the drain does not converge");
    const step = drainStep(codec, current, candidate, policy);
    if (step === undefined || step === candidate) return { steps, end: step === candidate ? "candidate" : "stopped" };
    assert.deepEqual(checkConsistency(step, codec), []);
    assert.deepEqual(assessBlastRadius(codec, current, step, diffSnapshots(codec, current, step), policy), []);
    steps.push(step);
    current = step;
  }
}

test("guard drain - a candidate that passes is returned as it is", () => {
  const baseline = build(1, [entry("greeter", addresses(1, 10))]);
  const candidate = build(2, [entry("greeter", addresses(1, 5))]);
  assert.equal(drainStep(codec, baseline, candidate, GUARD_DEFAULTS), candidate);
  const emptied = build(3, [entry("greeter", [])]);
  assert.equal(drainStep(codec, baseline, emptied, { ...GUARD_DEFAULTS, enabled: false }), emptied);
});

test("guard drain - 10 to 1 endpoints releases one a step, in sorted order, then the candidate", () => {
  const baseline = build(1, [entry("greeter", addresses(1, 10)), entry("login", addresses(2, 2))]);
  const candidate = build(7, [entry("greeter", addresses(1, 1)), entry("login", addresses(2, 2))]);
  const { steps, end } = drainAll(baseline, candidate);
  assert.deepEqual(steps.map((step) => count(step, "greeter")), [9, 8, 7, 6, 5, 4, 3, 2]);
  assert.equal(end, "candidate");
  // Sorted host:port order: 10.0.1.10 comes before 10.0.1.2.
  const first = steps[0] as Snapshot;
  assert.deepEqual(endpointsOf(codec, first, "greeter"), addresses(1, 9).map((a) => `${a}:8080`).sort());
  assert.equal(first.revision, 7);
  assert.equal(drainStep(codec, baseline, candidate, GUARD_DEFAULTS, 42)?.revision, 42);
  // Untouched services keep the candidate's very resources.
  for (const type of RESOURCE_TYPES) assert.equal(first.resources[type].get("login"), candidate.resources[type].get("login"));
});

test("guard drain - a candidate that empties a service stops at its last endpoint", () => {
  const baseline = build(1, [entry("greeter", addresses(1, 10))]);
  const candidate = build(2, [entry("greeter", [])]);
  const { steps, end } = drainAll(baseline, candidate);
  assert.deepEqual(steps.map((step) => count(step, "greeter")), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
  assert.equal(end, "stopped");
});

test("guard drain - endpoints put back keep their baseline locality, priority, weight and health", () => {
  const zone = (z: string, spec: Partial<InstanceSpec>, i: number): InstanceSpec => ({ address: `10.1.${z === "z1" ? 1 : 2}.${i + 1}`, region: "eu", zone: z, ...spec });
  const specs = [
    ...[1, 2, 3, 4, 5].map((weight, i) => zone("z1", { weight, health: i % 2 ? "unknown" : "healthy" }, i)),
    ...[6, 7, 8, 9, 10].map((weight, i) => zone("z2", { weight, health: i % 2 ? "healthy" : "unknown" }, i)),
  ];
  const baseline = build(1, [entry("greeter", specs)]);
  const candidate = build(2, [entry("greeter", [{ ...(specs[0] as InstanceSpec), weight: 50 }])]);
  const step = drainStep(codec, baseline, candidate, GUARD_DEFAULTS);
  assert.ok(step && step !== candidate);
  const shape = (snapshot: Snapshot) => {
    const assignment = codec.decodeResource(ENDPOINT_TYPE, snapshot.resources[ENDPOINT_TYPE].get("greeter")?.body ?? new Uint8Array());
    return assignment.endpoints.map((group) => ({
      locality: [group.locality?.region, group.locality?.zone, group.priority ?? 0, group.load_balancing_weight?.value],
      endpoints: new Map(group.lb_endpoints.map((lb) => [endpointKey(lb), [lb.load_balancing_weight?.value, lb.health_status]])),
    }));
  };
  const [z1, z2] = shape(baseline);
  const [stepZ1, stepZ2, ...others] = shape(step);
  assert.deepEqual(others, []);
  // z1 is the candidate's group (its weight and its one endpoint as changed), plus what came
  // back from the baseline, less the one endpoint released (10.1.1.2, first in sorted order).
  assert.deepEqual(stepZ1?.locality, ["eu", "z1", 0, 50]);
  const expectedZ1 = new Map(z1?.endpoints);
  expectedZ1.delete("10.1.1.2:8080");
  expectedZ1.set("10.1.1.1:8080", [50, "HEALTHY"]);
  assert.deepEqual(stepZ1?.endpoints, expectedZ1);
  // z2 is gone from the candidate: it comes back as the baseline had it, locality weight included.
  assert.deepEqual(stepZ2?.locality, z2?.locality);
  assert.deepEqual(stepZ2?.endpoints, z2?.endpoints);
});

test("guard drain - whole services removed are restored in full, and new ones held, while the drain goes on", () => {
  const baseline = build(1, [entry("accounts", addresses(1, 5)), entry("login", addresses(2, 5)), entry("greeter", addresses(3, 10))]);
  const candidate = build(2, [entry("greeter", addresses(3, 1)), entry("fresh", addresses(4, 2))]);
  const { steps, end } = drainAll(baseline, candidate);
  for (const step of steps) {
    for (const type of RESOURCE_TYPES) {
      for (const name of ["accounts", "login"]) assert.equal(step.resources[type].get(name), baseline.resources[type].get(name), `${type} ${name}`);
      // A new service would make the removal a smaller share of the next step: it waits too.
      assert.equal(step.resources[type].has("fresh"), false);
    }
  }
  assert.deepEqual(steps.map((step) => count(step, "greeter")), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
  // What remains is swapping two of three services for a new one: it waits for a person.
  assert.equal(end, "stopped");
  assert.equal(drainStep(codec, steps.at(-1) as Snapshot, candidate, GUARD_DEFAULTS), undefined);
});

test("guard drain - nothing to release gives undefined", () => {
  const baseline = build(1, [entry("greeter", addresses(1, 3))]);
  // No loss at all is allowed: no endpoint can ever be released.
  const strict = { ...GUARD_DEFAULTS, maxEndpointRemoval: 0 };
  assert.equal(drainStep(codec, baseline, build(2, [entry("greeter", addresses(1, 2))]), strict), undefined);
  // Removing two of three services is never drained.
  const services = build(5, [entry("accounts", addresses(2, 5)), entry("login", addresses(3, 5)), entry("greeter", addresses(1, 3))]);
  assert.equal(drainStep(codec, services, baseline, GUARD_DEFAULTS), undefined);
  // The last endpoint is never released.
  const one = build(3, [entry("greeter", addresses(1, 1))]);
  assert.equal(drainStep(codec, one, build(4, [entry("greeter", [])]), GUARD_DEFAULTS), undefined);
});

test("guard drain - a release share above maxEndpointRemoval is cut so each step passes", () => {
  const baseline = build(1, [entry("greeter", addresses(1, 10))]);
  const candidate = build(2, [entry("greeter", addresses(1, 1))]);
  const { steps, end } = drainAll(baseline, candidate, { ...GUARD_DEFAULTS, drainStep: 0.9 });
  assert.deepEqual(steps.map((step) => count(step, "greeter")), [5, 3, 2]);
  assert.equal(end, "candidate");
});

test("guard drain - new endpoints are released at once while the old ones drain", () => {
  const baseline = build(1, [entry("greeter", addresses(1, 10))]);
  const candidate = build(2, [entry("greeter", addresses(2, 2))]);
  const { steps, end } = drainAll(baseline, candidate);
  assert.deepEqual(steps.map((step) => count(step, "greeter")), [11, 10, 9, 8, 7, 6, 5, 4]);
  for (const step of steps) assert.ok(addresses(2, 2).every((a) => endpointsOf(codec, step, "greeter")?.includes(`${a}:8080`)));
  assert.equal(end, "candidate");
});
