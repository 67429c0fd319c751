/**
 * The policy routes of the admin API in-process (fastify inject) over a real
 * registry on the memory store: every route, its response shape, and bad
 * bodies answering 400 with every problem while nothing is applied.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Registry } from "../../src/registry/index.js";
import { createFakeGenerations } from "./generation-fixtures.js";

const SUBSETS = [
  { name: "v1", match: { version: "1" } },
  { name: "v2", match: { version: "2" } },
];
const CHECKOUT = { service: "checkout", subsets: SUBSETS, routes: [{ match: { method: "/shop.Checkout/Pay" }, to: [{ subset: "v1", weight: 95 }, { subset: "v2", weight: 5 }], timeoutMs: 2000 }] };
const WEB = { service: "web", subsets: SUBSETS.slice(0, 1), routes: [{ to: [{ subset: "v1" }] }] };

async function withAdmin(body: (admin: AdminServer, registry: Registry) => Promise<void>): Promise<void> {
  const registry = await createRegistry(createMemoryStore());
  const admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations([]) });
  try {
    await body(admin, registry);
  } finally {
    await admin.close();
    await registry.close();
  }
}

async function call(admin: AdminServer, method: string, url: string, body?: unknown) {
  const response = await admin.inject({ method: method as "GET", url, ...(body !== undefined && { payload: JSON.stringify(body), headers: { "content-type": "application/json" } }) });
  // any: tests poke into arbitrary answers.
  const json: any = JSON.parse(response.body);
  return { status: response.statusCode, json };
}

describe("admin policy - one service", () => {
  it("admin policy - PUT creates (201) then replaces (200), GET returns the document, DELETE removes it", () =>
    withAdmin(async (admin) => {
      const { service: _service, ...body } = CHECKOUT;
      const created = await call(admin, "PUT", "/v1/services/checkout/policy", body);
      assert.equal(created.status, 201, JSON.stringify(created.json));
      assert.deepEqual(created.json, { revision: 1, policy: CHECKOUT });
      const replaced = await call(admin, "PUT", "/v1/services/checkout/policy", WEB.routes && { ...CHECKOUT, routes: WEB.routes });
      assert.equal(replaced.status, 200);
      assert.deepEqual(replaced.json.policy.routes, [{ match: {}, to: [{ subset: "v1", weight: 100 }] }], "a lone target's weight is filled in");
      assert.deepEqual(await call(admin, "GET", "/v1/services/checkout/policy"), { status: 200, json: { ...CHECKOUT, routes: replaced.json.policy.routes } });
      assert.deepEqual(await call(admin, "DELETE", "/v1/services/checkout/policy"), { status: 200, json: { revision: 3 } });
      const gone = await call(admin, "GET", "/v1/services/checkout/policy");
      assert.deepEqual(gone, { status: 404, json: { error: 'service "checkout" has no policy' } });
      assert.equal((await call(admin, "DELETE", "/v1/services/checkout/policy")).status, 404);
      assert.equal((await call(admin, "GET", "/v1/services/nobody/policy")).json.error, 'service "nobody" not found');
    }));

  it("admin policy - PUT of the service keeps its policy, and a service body with policy is refused", () =>
    withAdmin(async (admin, registry) => {
      await call(admin, "PUT", "/v1/services/checkout/policy", CHECKOUT);
      assert.equal((await call(admin, "PUT", "/v1/services/checkout", { mtls: "strict" })).status, 200);
      assert.equal(registry.getPolicy("checkout").policy.routes.length, 1);
      const refused = await call(admin, "PUT", "/v1/services/checkout", { policy: CHECKOUT });
      assert.equal(refused.status, 400);
      assert.match(refused.json.error, /^policy: unknown field/);
    }));

  it("admin policy - a bad PUT body answers 400 naming every problem, and nothing is written", () =>
    withAdmin(async (admin, registry) => {
      const bad = await call(admin, "PUT", "/v1/services/checkout/policy", {
        service: "web",
        subsets: SUBSETS,
        routes: [{ match: { headers: { "x-a": { regex: "(?=a)" } } }, to: [{ subset: "v3", weight: 50 }, { subset: "v1", weight: 45 }], retry: { on: ["flaky"], attempts: 2 }, colour: "red" }],
      });
      assert.equal(bad.status, 400);
      for (const path of ["service: must equal the service in the URL", "routes[0].match.headers.x-a.regex: RE2 has no lookahead", "routes[0].to[0].subset: unknown subset \"v3\"; subsets are v1, v2", "routes[0].to: weights add up to 95", "routes[0].retry.on[0]: must be one of", "routes[0].colour: unknown field"]) {
        assert.ok(bad.json.error.startsWith(path) || bad.json.error.includes(`; ${path}`), `${path} in ${bad.json.error}`);
      }
      assert.equal(registry.view().revision, 0);
      const mismatch = await call(admin, "PUT", "/v1/services/checkout/policy", { service: "web" });
      assert.match(mismatch.json.error, /^service: must equal the service in the URL \("checkout"\)/);
    }));
});

describe("admin policy - many services", () => {
  it("admin policy - POST /v1/policies applies every document in one revision", () =>
    withAdmin(async (admin, registry) => {
      const applied = await call(admin, "POST", "/v1/policies", { documents: [CHECKOUT, WEB] });
      assert.equal(applied.status, 200);
      assert.equal(applied.json.revision, 1);
      assert.deepEqual(applied.json.documents.map((d: { service: string }) => d.service), ["checkout", "web"]);
      assert.deepEqual(applied.json.documents[1].routes[0].to, [{ subset: "v1", weight: 100 }]);
      assert.equal(registry.getPolicy("web").policy.subsets[0]?.name, "v1");
    }));

  it("admin policy - POST /v1/policies with one bad document answers 400 with its problems and applies none", () =>
    withAdmin(async (admin, registry) => {
      const bad = await call(admin, "POST", "/v1/policies", { documents: [WEB, { ...CHECKOUT, routes: [{ to: [{ subset: "v1", weight: 90 }, { subset: "v2", weight: 5 }] }] }, { service: "Bad" }] });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error, 'documents[1].routes[0].to: weights add up to 95; they must add up to 100; documents[2].service: must be a DNS label ([a-z0-9-], 1–63 characters, not starting or ending with \'-\'), got "Bad"');
      assert.equal(registry.view().revision, 0);
      assert.equal((await call(admin, "POST", "/v1/policies", { documents: [WEB, WEB] })).status, 400);
      assert.equal((await call(admin, "POST", "/v1/policies", [WEB])).status, 400);
      assert.equal(registry.view().revision, 0);
    }));

  it("admin policy - POST /v1/policies/diff shows create, update and unchanged without applying", () =>
    withAdmin(async (admin, registry) => {
      await call(admin, "POST", "/v1/policies", { documents: [CHECKOUT, WEB] });
      const moved = { ...CHECKOUT, routes: [{ ...CHECKOUT.routes[0], to: [{ subset: "v1", weight: 0 }, { subset: "v2", weight: 100 }] }] };
      const diff = await call(admin, "POST", "/v1/policies/diff", { documents: [moved, WEB, { service: "new" }] });
      assert.equal(diff.status, 200);
      assert.equal(diff.json.revision, 1);
      assert.deepEqual(diff.json.diffs.map((d: { change: string }) => d.change), ["update", "unchanged", "create"]);
      assert.deepEqual(diff.json.diffs[0].lines.filter((l: string) => !l.startsWith("  ")), ["-         weight: 95", "+         weight: 0", "-         weight: 5", "+         weight: 100"]);
      assert.deepEqual(diff.json.diffs[2].lines, ["+ service: new", "+ subsets: []", "+ routes: []"]);
      assert.equal(registry.view().revision, 1, "a diff applies nothing");
    }));
});
