import assert from "node:assert/strict";
import { test } from "node:test";
import { addresses, build, codec, entry } from "./guard-fixtures.js";
import { assessBlastRadius } from "../../src/guard/blast-radius.js";
import { diffSnapshots } from "../../src/guard/diff.js";
import { GUARD_DEFAULTS, type GuardPolicy } from "../../src/guard/model.js";
import type { Snapshot } from "../../src/snapshot/index.js";

function assess(before: Snapshot, after: Snapshot, policy: GuardPolicy = GUARD_DEFAULTS) {
  return assessBlastRadius(codec, before, after, diffSnapshots(codec, before, after), policy);
}

test("guard blast radius - replacing every endpoint at once is no loss", () => {
  const before = build(1, [entry("greeter", addresses(1, 10))]);
  const after = build(2, [entry("greeter", addresses(2, 10))]);
  assert.equal(diffSnapshots(codec, before, after).endpoints["greeter"]?.removed.length, 10);
  assert.deepEqual(assess(before, after), []);
});

test("guard blast radius - holds a net loss of 9 of 10 endpoints", () => {
  const before = build(1, [entry("greeter", addresses(1, 10)), entry("login", addresses(2, 2))]);
  const after = build(2, [entry("greeter", addresses(1, 1)), entry("login", addresses(2, 2))]);
  assert.deepEqual(assess(before, after), [{ path: "EDS/greeter", message: "removes 9 of 10 endpoints of greeter (90% > 50%)" }]);
  // Net: 9 removed and 3 added is a loss of 6 of 10, still more than half.
  const partly = build(3, [entry("greeter", [...addresses(1, 1), ...addresses(3, 3)]), entry("login", addresses(2, 2))]);
  assert.deepEqual(assess(before, partly), [{ path: "EDS/greeter", message: "removes 6 of 10 endpoints of greeter (60% > 50%)" }]);
  // A stricter policy flags a smaller loss, with its own threshold in the message.
  const small = build(4, [entry("greeter", addresses(1, 7)), entry("login", addresses(2, 2))]);
  assert.deepEqual(assess(before, small), []);
  assert.deepEqual(assess(before, small, { ...GUARD_DEFAULTS, maxEndpointRemoval: 0.25 }), [
    { path: "EDS/greeter", message: "removes 3 of 10 endpoints of greeter (30% > 25%)" },
  ]);
});

test("guard blast radius - exactly the allowed share is fine: 1 of 2 endpoints at 0.5", () => {
  const before = build(1, [entry("greeter", addresses(1, 2))]);
  const after = build(2, [entry("greeter", addresses(1, 1))]);
  assert.deepEqual(assess(before, after), []);
  assert.equal(assess(before, after, { ...GUARD_DEFAULTS, maxEndpointRemoval: 0.49 }).length, 1);
});

test("guard blast radius - a service left with no endpoints gets its own message, even within the share", () => {
  const before = build(1, [entry("greeter", addresses(1, 3)), entry("idle", [])]);
  const after = build(2, [entry("greeter", []), entry("idle", [])]);
  const expected = [{ path: "EDS/greeter", message: "leaves greeter with no endpoints (it had 3)" }];
  assert.deepEqual(assess(before, after), expected);
  // A policy that allows removing everything still refuses to empty a service.
  assert.deepEqual(assess(before, after, { ...GUARD_DEFAULTS, maxEndpointRemoval: 1 }), expected);
});

test("guard blast radius - holds removing more than half of the Listeners and Clusters, listing them", () => {
  const three = build(1, [entry("accounts", addresses(1, 5)), entry("login", addresses(2, 5)), entry("search", addresses(3, 1))]);
  const one = build(2, [entry("search", addresses(3, 1))]);
  assert.deepEqual(assess(three, one), [
    { path: "LDS", message: "removes 2 of 3 Listeners (67% > 50%): accounts, login" },
    { path: "CDS", message: "removes 2 of 3 Clusters (67% > 50%): accounts, login" },
  ]);
  // Half is allowed, and a service removed entirely is not an endpoint loss.
  const two = build(3, [entry("login", addresses(2, 5)), entry("search", addresses(3, 1))]);
  assert.deepEqual(assess(three, two), []);
  const pair = build(4, [entry("accounts", addresses(1, 5)), entry("login", addresses(2, 5))]);
  assert.deepEqual(assess(pair, build(5, [entry("login", addresses(2, 5))])), []);
  assert.deepEqual(assess(build(6, [entry("login", addresses(2, 5))]), build(7, [])), [
    { path: "LDS", message: "removes 1 of 1 Listener (100% > 50%): login" },
    { path: "CDS", message: "removes 1 of 1 Cluster (100% > 50%): login" },
  ]);
  // Nothing before: nothing to remove.
  assert.deepEqual(assess(build(8, []), build(9, [])), []);
});

test("guard blast radius - a long removal list stays one line", () => {
  const names = Array.from({ length: 12 }, (_, i) => `svc-${String(i).padStart(2, "0")}`);
  const before = build(1, names.map((name, i) => entry(name, addresses(i, 1))));
  const [issue] = assess(before, build(2, []));
  assert.equal(issue?.message, "removes 12 of 12 Listeners (100% > 50%): svc-00, svc-01, svc-02, svc-03, svc-04, svc-05, svc-06, svc-07, svc-08, svc-09 and 2 more");
});

test("guard blast radius - a disabled policy never holds", () => {
  const before = build(1, [entry("accounts", addresses(1, 5)), entry("login", addresses(2, 5)), entry("greeter", addresses(3, 10))]);
  const after = build(2, [entry("greeter", [])]);
  assert.equal(assess(before, after).length, 3);
  assert.deepEqual(assess(before, after, { ...GUARD_DEFAULTS, enabled: false }), []);
});
