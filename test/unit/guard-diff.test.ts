import assert from "node:assert/strict";
import { test } from "node:test";
import { addresses, build, codec, entry } from "./guard-fixtures.js";
import { diffSnapshots } from "../../src/guard/diff.js";
import { endpointsOf } from "../../src/guard/endpoints.js";
import { ENDPOINT_TYPE, type ClusterLoadAssignment, type Codec } from "../../src/proto/index.js";
import { createResource, createSnapshot, type Snapshot } from "../../src/snapshot/index.js";

/** A snapshot holding only one hand-written ClusterLoadAssignment. */
function withAssignment(assignment: ClusterLoadAssignment): Snapshot {
  const resource = createResource(ENDPOINT_TYPE, assignment.cluster_name, codec.encodeResource(ENDPOINT_TYPE, assignment));
  return createSnapshot(1, { [ENDPOINT_TYPE]: new Map([[resource.name, resource]]) });
}

test("guard diff - lists added, removed and changed names per type, each sorted", () => {
  const before = build(1, [entry("zeta", addresses(1, 1)), entry("alpha", addresses(2, 1)), entry("keep", addresses(3, 2)), entry("moved", addresses(4, 1))]);
  const after = build(2, [
    entry("keep", addresses(3, 2), { lbPolicy: "ring_hash" }),
    entry("moved", addresses(5, 1)),
    entry("new-b", addresses(6, 1)),
    entry("new-a", addresses(7, 1)),
  ]);
  const diff = diffSnapshots(codec, before, after);
  assert.deepEqual(diff.types, {
    LDS: { added: ["new-a", "new-b"], removed: ["alpha", "zeta"], changed: [] },
    RDS: { added: ["new-a", "new-b"], removed: ["alpha", "zeta"], changed: [] },
    CDS: { added: ["new-a", "new-b"], removed: ["alpha", "zeta"], changed: ["keep"] },
    EDS: { added: ["new-a", "new-b"], removed: ["alpha", "zeta"], changed: ["moved"] },
  });
  assert.equal("against" in diff, false);
});

test("guard diff - endpoints lists services whose endpoint set differs, a missing CLA counting as zero", () => {
  const before = build(1, [
    entry("greeter", ["10.0.0.3", "10.0.0.1", "10.0.0.2"]),
    entry("weights", addresses(1, 2)),
    entry("gone", addresses(2, 2)),
    entry("same", addresses(3, 1)),
  ]);
  const after = build(2, [
    entry("greeter", ["10.0.0.2", "10.0.0.9", "10.0.0.4", "10.0.0.5"]),
    entry("weights", addresses(1, 2), { weight: 7 }),
    entry("fresh", addresses(4, 1)),
    entry("same", addresses(3, 1)),
  ]);
  const diff = diffSnapshots(codec, before, after, 4);
  assert.equal(diff.against, 4);
  // weights: the CLA changed (EDS changed) but its endpoint set did not.
  assert.deepEqual(diff.types.EDS.changed, ["greeter", "weights"]);
  assert.deepEqual(diff.endpoints, {
    fresh: { before: 0, after: 1, added: ["10.0.4.1:8080"], removed: [] },
    gone: { before: 2, after: 0, added: [], removed: ["10.0.2.1:8080", "10.0.2.2:8080"] },
    greeter: {
      before: 3,
      after: 4,
      added: ["10.0.0.4:8080", "10.0.0.5:8080", "10.0.0.9:8080"],
      removed: ["10.0.0.1:8080", "10.0.0.3:8080"],
    },
  });
});

test("guard diff - against no previous generation every resource and endpoint is added", () => {
  const after = build(1, [entry("login", addresses(1, 2)), entry("empty", [])]);
  const diff = diffSnapshots(codec, undefined, after, 0);
  assert.equal(diff.against, 0);
  for (const type of ["LDS", "RDS", "CDS", "EDS"] as const) {
    assert.deepEqual(diff.types[type], { added: ["empty", "login"], removed: [], changed: [] });
  }
  // An empty CLA has the same (empty) endpoint set as a missing one.
  assert.deepEqual(diff.endpoints, { login: { before: 0, after: 2, added: ["10.0.1.1:8080", "10.0.1.2:8080"], removed: [] } });
});

test("guard endpoints - sorted unique host:port, IPv6 in brackets, undefined without the CLA", () => {
  const socket = (address: string, port: number) => ({ endpoint: { address: { socket_address: { address, port_value: port } } }, health_status: "HEALTHY" as const });
  const snapshot = withAssignment({
    cluster_name: "greeter",
    endpoints: [
      { locality: { region: "b", zone: "" }, lb_endpoints: [socket("::1", 80), socket("10.0.0.2", 443)] },
      { locality: { region: "a", zone: "" }, lb_endpoints: [socket("10.0.0.2", 443), socket("2001:db8::5", 9090), socket("10.0.0.10", 80)] },
    ],
  });
  assert.deepEqual(endpointsOf(codec, snapshot, "greeter"), ["10.0.0.10:80", "10.0.0.2:443", "[2001:db8::5]:9090", "[::1]:80"]);
  assert.equal(endpointsOf(codec, snapshot, "other"), undefined);
  assert.deepEqual(endpointsOf(codec, withAssignment({ cluster_name: "idle", endpoints: [] }), "idle"), []);
});

test("guard endpoints - decodes each Resource object once", () => {
  let decodes = 0;
  const counting: Codec = {
    ...codec,
    decodeResource: (type, bytes) => {
      decodes += 1;
      return codec.decodeResource(type, bytes);
    },
  };
  const first = build(1, [entry("login", addresses(1, 3))]);
  // Same registry content, rebuilt: equal bytes but new Resource objects.
  const rebuilt = build(2, [entry("login", addresses(1, 3))]);
  const once = endpointsOf(counting, first, "login");
  assert.equal(endpointsOf(counting, first, "login"), once);
  assert.equal(decodes, 1);
  assert.deepEqual(endpointsOf(counting, rebuilt, "login"), once);
  assert.equal(decodes, 2);
});
