import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { NotFoundError, ValidationError } from "../../src/errors/index.js";
import { createMemoryStore, createRegistry, openStore, parsePolicyDocuments, type Registry } from "../../src/registry/index.js";

const FILE = `service: checkout
subsets: [{ name: v1, match: { version: "1" } }, { name: v2, match: { version: "2" } }]
routes:
  - match: { method: "/shop.Checkout/Pay" }
    to: [{ subset: v1, weight: 90 }, { subset: v2, weight: 10 }]
---
service: web
subsets: [{ name: v1, match: { version: "1" } }]
routes: [{ to: [{ subset: v1 }] }]
`;

async function withRegistry(body: (registry: Registry) => Promise<void>): Promise<void> {
  const registry = await createRegistry(createMemoryStore());
  try {
    await body(registry);
  } finally {
    await registry.close();
  }
}

test("registry policy - applyPolicies sets every document in one revision, creating services; getPolicy reads it back", () =>
  withRegistry(async (registry) => {
    const documents = parsePolicyDocuments(FILE, "p.yaml");
    const result = await registry.applyPolicies(documents);
    assert.equal(result.revision, 1, "one commit for both documents");
    assert.deepEqual(registry.getPolicy("checkout"), documents[0]);
    assert.deepEqual(registry.getPolicy("web"), documents[1]);
    assert.equal(registry.getService("web")?.service.protocol, "grpc", "created with defaults");
  }));

test("registry policy - applyPolicies refuses a service twice and writes nothing", () =>
  withRegistry(async (registry) => {
    const [checkout] = parsePolicyDocuments(FILE, "p.yaml");
    assert.ok(checkout);
    await assert.rejects(registry.applyPolicies([checkout, checkout]), (err: unknown) => err instanceof ValidationError && err.issues[0]?.path === "documents[1].service");
    assert.equal(registry.view().revision, 0);
  }));

test("registry policy - PUT of the service keeps its policy; a service body cannot carry one", () =>
  withRegistry(async (registry) => {
    await registry.putPolicy("checkout", { subsets: [{ name: "v1", match: { version: "1" } }], routes: [] });
    await registry.putService("checkout", { mtls: "strict" });
    assert.deepEqual(registry.getPolicy("checkout").policy.subsets.map((s) => s.name), ["v1"]);
    await assert.rejects(registry.putService("checkout", { policy: { subsets: [], routes: [] } }), (err: unknown) => err instanceof ValidationError && err.issues[0]?.path === "policy");
  }));

test("registry policy - putPolicy validates, deletePolicy removes, and both say when nothing is there", () =>
  withRegistry(async (registry) => {
    await assert.rejects(registry.putPolicy("checkout", { routes: [{ to: [{ subset: "v9" }] }] }), (err: unknown) => err instanceof ValidationError && /unknown subset "v9"/.test(err.message));
    assert.throws(() => registry.getPolicy("checkout"), NotFoundError);
    await assert.rejects(registry.deletePolicy("checkout"), /service "checkout" not found/);
    const put = await registry.putPolicy("checkout", { service: "checkout", subsets: [], routes: [] });
    assert.equal(put.created, true);
    await registry.deletePolicy("checkout");
    assert.throws(() => registry.getPolicy("checkout"), /has no policy/);
    await assert.rejects(registry.deletePolicy("checkout"), /service "checkout" has no policy/);
    assert.ok(registry.getService("checkout"), "the service stays");
  }));

test("registry policy - diffPolicies says create, unchanged or update with a line diff, and applies nothing", () =>
  withRegistry(async (registry) => {
    const documents = parsePolicyDocuments(FILE, "p.yaml");
    const first = registry.diffPolicies(documents);
    assert.deepEqual(first.map((d) => d.change), ["create", "create"]);
    assert.ok(first[0]?.lines.every((line) => line.startsWith("+ ")));
    assert.ok(first[0]?.lines.includes("+ service: checkout"));
    assert.equal(registry.view().revision, 0);
    await registry.applyPolicies(documents);
    const changed = parsePolicyDocuments(FILE.replace("weight: 90", "weight: 80").replace("weight: 10", "weight: 20"), "p.yaml");
    const [update, unchanged] = registry.diffPolicies(changed);
    assert.deepEqual([update?.change, unchanged?.change], ["update", "unchanged"]);
    assert.deepEqual(unchanged?.lines, []);
    assert.deepEqual(
      update?.lines.filter((line) => !line.startsWith("  ")),
      ["-         weight: 90", "+         weight: 80", "-         weight: 10", "+         weight: 20"],
    );
  }));

test("registry policy - the issue-19 fields survive an sqlite store closed and opened again, in canonical order", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "steadymesh-policy-19-"));
  try {
    const [document] = parsePolicyDocuments(
      `service: checkout
failover: { regions: [r2, r1] }
dnsFallback: { port: 8443 }
loadBalancing: { policy: ring_hash, hashOn: { header: x-user } }
maxRequests: 7
outlierDetection: { failurePercentage: { threshold: 50, minimumHosts: 2, requestVolume: 10 }, baseEjectionMs: 5000 }
`,
      "p.yaml",
    );
    assert.ok(document);
    const first = await createRegistry(await openStore("sqlite", { dataDir }));
    await first.applyPolicies([document]);
    await first.close();
    const second = await createRegistry(await openStore("sqlite", { dataDir }));
    try {
      const stored = second.getPolicy("checkout").policy;
      assert.deepEqual(stored, document.policy);
      assert.deepEqual(Object.keys(stored), ["subsets", "routes", "outlierDetection", "maxRequests", "loadBalancing", "dnsFallback", "failover"]);
      assert.deepEqual(stored.failover, { regions: ["r2", "r1"] }, "the order is the failover order");
    } finally {
      await second.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
