import assert from "node:assert/strict";
import { test } from "node:test";
import { addresses, build, codec, entry } from "./guard-fixtures.js";
import { decide, type Baseline, type DecideSettings, type Decision } from "../../src/guard/decide.js";
import { GUARD_DEFAULTS, type GuardPolicy } from "../../src/guard/model.js";
import { CLUSTER_TYPE, LISTENER_TYPE, RESOURCE_TYPES, type Cluster } from "../../src/proto/index.js";
import { createResource, createSnapshot, type Snapshot } from "../../src/snapshot/index.js";

/** Settings with the default policy, changed by `policy`. */
function settings(policy: Partial<GuardPolicy> = {}): DecideSettings {
  return { codec, policy: { ...GUARD_DEFAULTS, ...policy } };
}

/** Generation 7 serving `snapshot`; `rollbackOf` makes it a rollback (the guard is pinned). */
function served(snapshot: Snapshot, rollbackOf?: number): Baseline {
  return { id: 7, snapshot, ...(rollbackOf !== undefined && { rollbackOf }) };
}

/** `snapshot` with resource `name` of `type` replaced by one with `body`. */
function replaced(snapshot: Snapshot, type: typeof CLUSTER_TYPE | typeof LISTENER_TYPE, name: string, body: Uint8Array): Snapshot {
  const maps = Object.fromEntries(RESOURCE_TYPES.map((t) => [t, new Map(snapshot.resources[t])]));
  maps[type]!.set(name, createResource(type, name, body));
  return createSnapshot(snapshot.revision, maps);
}

/** `snapshot` with Cluster `name` set to MAGLEV, which stock gRPC clients NACK. */
function maglev(snapshot: Snapshot, name = "greeter"): Snapshot {
  const cluster = codec.decodeResource(CLUSTER_TYPE, snapshot.resources[CLUSTER_TYPE].get(name)!.body);
  return replaced(snapshot, CLUSTER_TYPE, name, codec.encodeResource(CLUSTER_TYPE, { ...cluster, lb_policy: "MAGLEV" } as unknown as Cluster));
}

// ---- Registry states -------------------------------------------------------

const greeter10 = build(1, [entry("greeter", addresses(1, 10))]);
const greeter11 = build(2, [entry("greeter", addresses(1, 11))]);
const greeter1 = build(2, [entry("greeter", addresses(1, 1))]);
const greeter6 = build(2, [entry("greeter", addresses(1, 6))]);
const greeter7 = build(2, [entry("greeter", addresses(1, 7))]);
const greeterReplaced = build(2, [entry("greeter", addresses(2, 10))]);
const greeterNetLoss6 = build(2, [entry("greeter", [...addresses(1, 1), ...addresses(3, 3)])]);
const greeterEmpty = build(2, [entry("greeter", [])]);
const pair2 = build(1, [entry("greeter", addresses(1, 2))]);
const pair1 = build(2, [entry("greeter", addresses(1, 1))]);
const three = build(1, ["accounts", "login", "playback"].map((name, i) => entry(name, addresses(i + 1, 2))));
const threeMinusOne = build(2, ["accounts", "playback"].map((name, i) => entry(name, addresses(i + 1, 2))));
const threeMinusTwo = build(2, [entry("playback", addresses(3, 2))]);
const threePlusOne = build(2, ["accounts", "login", "playback", "search"].map((name, i) => entry(name, addresses(i + 1, 2))));
const nothing = build(2, []);
const idleBefore = build(1, [entry("greeter", addresses(1, 10)), entry("idle", [])]);
const idleAfter = build(2, [entry("greeter", addresses(1, 10)), entry("idle", addresses(4, 2))]);
const twoServices = build(1, [entry("alpha", addresses(1, 10)), entry("beta", addresses(2, 10))]);
const bothLose = build(2, [entry("alpha", addresses(1, 2)), entry("beta", addresses(2, 3))]);
const alphaEmptyBetaLoses = build(2, [entry("alpha", []), entry("beta", addresses(2, 1))]);
const threeLosing = build(1, ["accounts", "login", "playback"].map((name, i) => entry(name, addresses(i + 1, 10))));
const oneLeftLosing = build(2, [entry("playback", addresses(3, 1))]);
const garbageListener = replaced(greeter11, LISTENER_TYPE, "greeter", new Uint8Array([0xff, 0xff, 0xff]));

interface Row {
  readonly name: string;
  readonly baseline: Baseline | undefined;
  readonly candidate: Snapshot;
  readonly settings: DecideSettings;
  readonly kind: Decision["kind"];
  readonly rule: Decision["rule"];
  /** The problems' paths, in order (default: none for a push, not checked otherwise). */
  readonly paths?: readonly string[];
  /** For a hold: each problem's rule, in order. */
  readonly rules?: readonly string[];
}

const rows: readonly Row[] = [
  // push: first
  { name: "the first generation is pushed", baseline: undefined, candidate: greeter10, settings: settings(), kind: "push", rule: "first" },
  { name: "an empty first generation is pushed", baseline: undefined, candidate: nothing, settings: settings(), kind: "push", rule: "first" },
  { name: "the first generation is pushed with the holds off", baseline: undefined, candidate: greeter10, settings: settings({ enabled: false }), kind: "push", rule: "first" },
  { name: "a first generation with an empty service is pushed (nothing to compare)", baseline: undefined, candidate: greeterEmpty, settings: settings(), kind: "push", rule: "first" },
  // push: passed
  { name: "the same content again passes (deduplication is the executor's)", baseline: served(greeter10), candidate: greeter10, settings: settings(), kind: "push", rule: "passed" },
  { name: "one endpoint added passes", baseline: served(greeter10), candidate: greeter11, settings: settings(), kind: "push", rule: "passed" },
  { name: "a rolling replacement of every endpoint is no loss", baseline: served(greeter10), candidate: greeterReplaced, settings: settings(), kind: "push", rule: "passed" },
  { name: "exactly the allowed share (1 of 2 at 50%) passes", baseline: served(pair2), candidate: pair1, settings: settings(), kind: "push", rule: "passed" },
  { name: "4 of 10 endpoints removed passes", baseline: served(greeter10), candidate: greeter6, settings: settings(), kind: "push", rule: "passed" },
  { name: "1 of 3 services removed (33%) passes", baseline: served(three), candidate: threeMinusOne, settings: settings(), kind: "push", rule: "passed" },
  { name: "a service added passes", baseline: served(three), candidate: threePlusOne, settings: settings(), kind: "push", rule: "passed" },
  { name: "a service that had no endpoints gets some", baseline: served(idleBefore), candidate: idleAfter, settings: settings(), kind: "push", rule: "passed" },
  { name: "9 of 10 removed passes when the policy allows removing all", baseline: served(greeter10), candidate: greeter1, settings: settings({ maxEndpointRemoval: 1 }), kind: "push", rule: "passed" },
  { name: "2 of 3 services removed passes at maxResourceRemoval 0.7", baseline: served(three), candidate: threeMinusTwo, settings: settings({ maxResourceRemoval: 0.7 }), kind: "push", rule: "passed" },
  // push: guard-off
  { name: "holds off: 9 of 10 endpoints removed is pushed", baseline: served(greeter10), candidate: greeter1, settings: settings({ enabled: false }), kind: "push", rule: "guard-off" },
  { name: "holds off: 2 of 3 services removed is pushed", baseline: served(three), candidate: threeMinusTwo, settings: settings({ enabled: false }), kind: "push", rule: "guard-off" },
  { name: "holds off: a service left empty is pushed", baseline: served(greeter10), candidate: greeterEmpty, settings: settings({ enabled: false }), kind: "push", rule: "guard-off" },
  { name: "holds off: a small change says guard-off too", baseline: served(greeter10), candidate: greeter11, settings: settings({ enabled: false }), kind: "push", rule: "guard-off" },
  // hold: pinned
  { name: "pinned: a small change is held", baseline: served(greeter10, 3), candidate: greeter11, settings: settings(), kind: "hold", rule: "pinned", paths: ["guard"], rules: ["pinned"] },
  { name: "pinned: a mass removal is held for the pin alone", baseline: served(greeter10, 3), candidate: greeter1, settings: settings(), kind: "hold", rule: "pinned", paths: ["guard"], rules: ["pinned"] },
  { name: "pinned: held even with the holds off", baseline: served(greeter10, 3), candidate: greeter11, settings: settings({ enabled: false }), kind: "hold", rule: "pinned", paths: ["guard"] },
  { name: "pinned: the same content is held too", baseline: served(greeter10, 3), candidate: greeter10, settings: settings(), kind: "hold", rule: "pinned", paths: ["guard"] },
  // hold: resource-removal
  { name: "2 of 3 services removed: Listeners and Clusters", baseline: served(three), candidate: threeMinusTwo, settings: settings(), kind: "hold", rule: "resource-removal", paths: ["LDS", "CDS"], rules: ["resource-removal", "resource-removal"] },
  { name: "every service removed", baseline: served(greeter10), candidate: nothing, settings: settings(), kind: "hold", rule: "resource-removal", paths: ["LDS", "CDS"] },
  { name: "1 of 3 services removed at maxResourceRemoval 0.3", baseline: served(three), candidate: threeMinusOne, settings: settings({ maxResourceRemoval: 0.3 }), kind: "hold", rule: "resource-removal", paths: ["LDS", "CDS"] },
  { name: "services removed and the last one losing endpoints: LDS first", baseline: served(threeLosing), candidate: oneLeftLosing, settings: settings(), kind: "hold", rule: "resource-removal", paths: ["LDS", "CDS", "EDS/playback"], rules: ["resource-removal", "resource-removal", "endpoint-removal"] },
  // hold: endpoint-removal
  { name: "9 of 10 endpoints removed", baseline: served(greeter10), candidate: greeter1, settings: settings(), kind: "hold", rule: "endpoint-removal", paths: ["EDS/greeter"], rules: ["endpoint-removal"] },
  { name: "a net loss of 6 of 10 (9 removed, 3 added)", baseline: served(greeter10), candidate: greeterNetLoss6, settings: settings(), kind: "hold", rule: "endpoint-removal", paths: ["EDS/greeter"] },
  { name: "3 of 10 removed at maxEndpointRemoval 0.25", baseline: served(greeter10), candidate: greeter7, settings: settings({ maxEndpointRemoval: 0.25 }), kind: "hold", rule: "endpoint-removal", paths: ["EDS/greeter"] },
  { name: "1 of 2 removed at maxEndpointRemoval 0.49", baseline: served(pair2), candidate: pair1, settings: settings({ maxEndpointRemoval: 0.49 }), kind: "hold", rule: "endpoint-removal", paths: ["EDS/greeter"] },
  { name: "two services losing too much: one problem each, by name", baseline: served(twoServices), candidate: bothLose, settings: settings(), kind: "hold", rule: "endpoint-removal", paths: ["EDS/alpha", "EDS/beta"], rules: ["endpoint-removal", "endpoint-removal"] },
  // hold: zero-endpoints
  { name: "a service left with no endpoints", baseline: served(greeter10), candidate: greeterEmpty, settings: settings(), kind: "hold", rule: "zero-endpoints", paths: ["EDS/greeter"], rules: ["zero-endpoints"] },
  { name: "a service left empty is held even when the policy allows removing all", baseline: served(greeter10), candidate: greeterEmpty, settings: settings({ maxEndpointRemoval: 1 }), kind: "hold", rule: "zero-endpoints", paths: ["EDS/greeter"] },
  { name: "one service emptied, another losing 9 of 10: the first is the rule", baseline: served(twoServices), candidate: alphaEmptyBetaLoses, settings: settings(), kind: "hold", rule: "zero-endpoints", paths: ["EDS/alpha", "EDS/beta"], rules: ["zero-endpoints", "endpoint-removal"] },
  // reject: invalid
  { name: "a MAGLEV Cluster is rejected", baseline: served(greeter10), candidate: maglev(greeter11), settings: settings(), kind: "reject", rule: "invalid", paths: ["CDS/greeter: lb_policy"] },
  { name: "an invalid first generation is rejected, not pushed", baseline: undefined, candidate: maglev(greeter10), settings: settings(), kind: "reject", rule: "invalid" },
  { name: "invalid with the holds off is still rejected", baseline: served(greeter10), candidate: maglev(greeter11), settings: settings({ enabled: false }), kind: "reject", rule: "invalid" },
  { name: "invalid while pinned is rejected, not held", baseline: served(greeter10, 3), candidate: maglev(greeter11), settings: settings(), kind: "reject", rule: "invalid" },
  { name: "an undecodable Listener is rejected", baseline: served(greeter10), candidate: garbageListener, settings: settings(), kind: "reject", rule: "invalid", paths: ["LDS/greeter"] },
  { name: "invalid and a mass removal: rejected, validation comes first", baseline: served(greeter10), candidate: maglev(greeter1), settings: settings(), kind: "reject", rule: "invalid" },
];

test("guard decide - the table has at least 30 rows and every kind and rule", () => {
  assert.ok(rows.length >= 30, `${rows.length} rows`);
  const seen = new Set(rows.map((r) => `${r.kind}/${r.rule}`));
  const expected = ["push/first", "push/passed", "push/guard-off", "hold/pinned", "hold/resource-removal", "hold/endpoint-removal", "hold/zero-endpoints", "reject/invalid"];
  assert.deepEqual([...seen].sort(), expected.sort());
});

for (const row of rows) {
  test(`guard decide - ${row.kind} ${row.rule}: ${row.name}`, () => {
    const decision = decide(row.baseline, row.candidate, row.settings);
    assert.deepEqual({ kind: decision.kind, rule: decision.rule }, { kind: row.kind, rule: row.rule }, JSON.stringify(decision.problems));
    assert.equal(decision.diff.against, row.baseline?.id);
    if (row.kind === "push") assert.deepEqual(decision.problems, []);
    else assert.ok(decision.problems.length > 0);
    if (row.paths) {
      const paths = decision.problems.map((p) => p.path);
      // A validation path goes down to the field; the row names its start.
      if (row.kind === "reject") assert.ok(row.paths.every((p, i) => paths[i]?.startsWith(p)), JSON.stringify(decision.problems));
      else assert.deepEqual(paths, row.paths);
    }
    if (row.rules) assert.deepEqual(decision.problems.map((p) => ("rule" in p ? p.rule : undefined)), row.rules);
  });
}

test("guard decide - the messages are the ones the generation records", () => {
  const pinned = decide(served(greeter10, 3), greeter11, settings());
  assert.deepEqual(pinned.problems, [{ path: "guard", rule: "pinned", message: "pinned to generation 7 (a rollback to generation 3); approve a generation to resume pushes" }]);
  const held = decide(served(greeter10), greeter1, settings());
  assert.deepEqual(held.problems, [{ path: "EDS/greeter", rule: "endpoint-removal", message: "removes 9 of 10 endpoints of greeter (90% > 50%)" }]);
  const added = decide(served(greeter10), greeter11, settings()).diff.endpoints["greeter"];
  assert.deepEqual(added, { before: 10, after: 11, added: ["10.0.1.11:8080"], removed: [] });
});

test("guard decide - pure: the same inputs give the same decision, and the inputs are not changed", () => {
  const before = JSON.stringify([...greeter10.resources[CLUSTER_TYPE].keys()]);
  const a = decide(served(greeter10), greeter1, settings());
  const b = decide(served(greeter10), greeter1, settings());
  assert.deepEqual(a, b);
  assert.equal(JSON.stringify([...greeter10.resources[CLUSTER_TYPE].keys()]), before);
});

// ---- mtls readiness (issue 16) ---------------------------------------------

test("guard decide - mtls-readiness: turning a service strict while a connected caller has no certificates holds, naming it; with certificates it pushes", () => {
  const plain = entry("greeter", addresses(1, 2));
  const strict = { ...plain, service: { ...plain.service, mtls: "strict" as const } };
  const before = build(1, [plain]);
  const after = build(2, [strict]);
  const caller = (metadata: Record<string, unknown>) => ({ nodeId: "web-1", metadata, types: { CDS: { subscribed: ["greeter"] } } });
  const server = { nodeId: "greeter-0", metadata: {}, types: { LDS: { subscribed: ["grpc/server?xds.resource.listening_address=10.0.1.1:8080"] } } };
  const held = decide(served(before), after, { ...settings(), connected: () => [caller({}), server] });
  assert.equal(held.kind, "hold");
  assert.equal(held.rule, "mtls-readiness");
  assert.match(held.problems[0]!.message, /^mtls strict for greeter would cut off 2 connected nodes without certificates \(caller web-1, server greeter-0\)/);
  const ready = decide(served(before), after, { ...settings(), connected: () => [caller({ "steadymesh.certificate_provider": "steadymesh" })] });
  assert.equal(ready.kind, "push");
  const unrelated = decide(served(before), after, { ...settings(), connected: () => [{ nodeId: "x", metadata: {}, types: { CDS: { subscribed: ["other"] } } }] });
  assert.equal(unrelated.kind, "push", "a node that does not call greeter is not in the way");
  const already = decide(served(after), build(3, [{ ...strict, instances: new Map([...strict.instances].slice(0, 1)) }]), { ...settings({ maxEndpointRemoval: 1 }), connected: () => [caller({})] });
  assert.notEqual(already.rule, "mtls-readiness", "a service already strict does not turn strict again");
});
