import assert from "node:assert/strict";
import { test } from "node:test";
import { nodesWithoutCertificates, strictHoldReason, type ConnectedNode } from "../../src/guard/mtls-readiness.js";
import { serverListenerName } from "../../src/snapshot/security-resources.js";
import { buildBootstrap } from "../../src/xds/index.js";

const ORDERS_LISTENER = serverListenerName("10.0.0.1", 7000);
const candidates = [{ service: "orders", serverListeners: [ORDERS_LISTENER] }];

/** A connected node whose metadata is what `steadymesh bootstrap` wrote, with or without --certs. */
function node(nodeId: string, certs: boolean, subscribed: { CDS?: string[]; LDS?: string[] }): ConnectedNode {
  const bootstrap = buildBootstrap({ nodeId, xds: ["127.0.0.1:18000"], ...(certs ? { certs: "/certs" } : {}) });
  return {
    nodeId,
    metadata: bootstrap.node.metadata ?? {},
    types: Object.fromEntries(Object.entries(subscribed).map(([type, names]) => [type, { subscribed: names }])),
  };
}

test("guard mtls readiness - callers and servers bootstrapped with --certs are ready", () => {
  const nodes = [node("web-1", true, { CDS: ["orders"] }), node("orders-1", true, { LDS: [ORDERS_LISTENER] })];
  assert.deepEqual(nodesWithoutCertificates(candidates, nodes), []);
  assert.equal(strictHoldReason(candidates, nodes), undefined);
});

test("guard mtls readiness - a caller or a server of the service without certificates holds strict, and the reason names them", () => {
  const nodes = [
    node("web-1", false, { CDS: ["orders", "payments"] }),
    node("envoy-1", false, { CDS: ["*"] }),
    node("orders-1", false, { LDS: [ORDERS_LISTENER] }),
    node("batch-1", false, { CDS: ["payments"] }),
    node("web-2", true, { CDS: ["orders"] }),
  ];
  assert.deepEqual(nodesWithoutCertificates(candidates, nodes), [
    { service: "orders", nodeId: "web-1", role: "caller" },
    { service: "orders", nodeId: "envoy-1", role: "caller" },
    { service: "orders", nodeId: "orders-1", role: "server" },
  ]);
  assert.equal(
    strictHoldReason(candidates, nodes),
    "mtls strict for orders would cut off 3 connected nodes without certificates (caller web-1, caller envoy-1, server orders-1); " +
      "bootstrap them with --certs DIR (steadymesh cert SERVICE --dir DIR), or use permissive until they are",
  );
});

test("guard mtls readiness - the reason names five nodes and counts the rest", () => {
  const nodes = Array.from({ length: 7 }, (_, i) => node(`web-${i}`, false, { CDS: ["orders"] }));
  assert.match(strictHoldReason(candidates, nodes) ?? "", /^mtls strict for orders would cut off 7 connected nodes without certificates \(caller web-0, .*caller web-4 and 2 more\);/);
});
