/**
 * The admin API's token check, over the real route table (adminRoutes): a
 * route added without a scope does not compile, and one added with a scope
 * is walked here like every other.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Fastify from "fastify";
import { adminRoutes, createAdminServer, type AdminDeps, type AdminServer } from "../../src/admin/admin-server.js";
import { createAuthHooks, type RouteScope } from "../../src/admin/auth-check.js";
import { createTokenAuthority, type Scope, type TokenAuthority } from "../../src/auth/index.js";
import { SteadyError } from "../../src/errors/index.js";
import { createLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry } from "../../src/registry/index.js";
import { createFakeClock, type FakeClock } from "../helpers/fake-clock.js";
import { capture } from "../helpers/io.js";
import { createFakeGenerations } from "./generation-fixtures.js";

interface Setup {
  readonly admin: AdminServer;
  readonly authority: TokenAuthority;
  readonly clock: FakeClock;
  readonly deps: Omit<AdminDeps, "logger">;
  /** Every log line the server wrote, at debug and up. */
  logs(): string;
  close(): Promise<void>;
}

async function setup(): Promise<Setup> {
  const backend = createMemoryStore();
  const registry = await createRegistry(backend);
  const clock = createFakeClock(Date.parse("2026-01-01T00:00:00Z"));
  const authority = createTokenAuthority({ tokens: backend.tokens, clock });
  const out = capture();
  // A built console of its own, so the open shell routes answer 200 (an asset named `1`: the walk's path for `:file`).
  const uiDir = mkdtempSync(join(tmpdir(), "admin-auth-ui-"));
  mkdirSync(join(uiDir, "assets"));
  writeFileSync(join(uiDir, "index.html"), "<!doctype html><title>steadymesh</title>");
  writeFileSync(join(uiDir, "assets", "1"), "asset");
  const deps = {
    uiDir,
    auth: { required: true as const, authority },
    registry,
    clients: { list: () => [] },
    metrics: createMetrics({ processMetrics: false }),
    generations: createFakeGenerations([]),
  };
  const admin = createAdminServer({ ...deps, logger: createLogger({ level: "debug", destination: out.stream }) });
  return { admin, authority, clock, deps, logs: out.text, close: async () => (await admin.close(), await registry.close(), rmSync(uiDir, { recursive: true, force: true })) };
}

async function call(admin: AdminServer, method: string, url: string, token?: string, body?: unknown) {
  const response = await admin.inject({
    method: method as "GET",
    url,
    headers: { ...(token !== undefined && { authorization: `Bearer ${token}` }), ...(body !== undefined && { "content-type": "application/json" }) },
    ...(body !== undefined && { payload: JSON.stringify(body) }),
  });
  // any: tests poke into arbitrary answers.
  const json: any = response.body.startsWith("{") ? JSON.parse(response.body) : undefined;
  return { status: response.statusCode, headers: response.headers, body: response.body, json };
}

/** A concrete path for a route pattern: every parameter is `1` (a DNS label and a generation id). */
const pathOf = (url: string): string => url.replace(/:[a-z]+/g, "1");

/** A token that the route needs, and one whose scope does not allow it. */
function scopesFor(scope: Exclude<RouteScope, "open">): { right: Scope; wrong: Scope } {
  if (typeof scope === "object") return { right: "operator", wrong: "write" };
  if (scope === "read") return { right: "read", wrong: "identity:checkout" };
  if (scope === "write") return { right: "write", wrong: "read" };
  return { right: "operator", wrong: "write" };
}

describe("admin auth", () => {
  it("admin auth - every route of the table: 401 without a token, 403 with a token lacking its scope, served with it", async () => {
    const { admin, authority, deps, close } = await setup();
    try {
      const tokens = new Map<Scope, string>();
      for (const scope of ["read", "write", "operator", "identity:checkout"] as const) tokens.set(scope, (await authority.issue({ scope, name: scope.replace(":", "-") })).token);
      const routes = adminRoutes(deps);
      assert.ok(routes.length >= 20, `the table has ${routes.length} routes`);
      // Open: /healthz, and the console's pieces that hold no data: the app shell and its assets (a page
      // with no data; it asks /ui/session and the API, which need a token), login (it checks the token
      // itself) and logout (it only forgets a session). Everything else, /ui/session and lab reports too, needs a scope.
      const open = ["GET /healthz", "GET /ui", "GET /ui/*", "GET /ui/assets/:file", "POST /ui/login", "POST /ui/logout"];
      assert.deepEqual(routes.filter((r) => r.scope === "open").map((r) => `${r.method} ${r.url}`), open);
      for (const route of routes) {
        const path = pathOf(route.url);
        const name = `${route.method} ${route.url}`;
        if (route.scope === "open") {
          // Login without a body is a 400 (no token given); logout without a session is a 204; the rest are 200.
          const expected = route.url === "/ui/login" ? 400 : route.url === "/ui/logout" ? 204 : 200;
          assert.equal((await call(admin, route.method, path)).status, expected, name);
          continue;
        }
        const { right, wrong } = scopesFor(route.scope);
        const missing = await call(admin, route.method, path);
        assert.equal(missing.status, 401, name);
        assert.match(missing.json.error, /missing token/, name);
        assert.match(missing.json.error, new RegExp(`needs scope ${typeof route.scope === "object" ? "identity" : route.scope}`), name);
        assert.equal(missing.headers["www-authenticate"], 'Bearer realm="steadymesh"');
        assert.equal(missing.body.split("\n").length, 1, name);
        if (route.method === "GET") assert.equal((await call(admin, "HEAD", path)).status, 401, `HEAD ${route.url}`);
        const denied = await call(admin, route.method, path, tokens.get(wrong));
        assert.equal(denied.status, 403, name);
        assert.match(denied.json.error, new RegExp(`has scope ${wrong}; ${route.method} \\S+ needs scope ${typeof route.scope === "object" ? "identity" : route.scope}`), name);
        const allowed = await call(admin, route.method, path, tokens.get(right));
        assert.ok(allowed.status !== 401 && allowed.status !== 403, `${name} with scope ${right}: ${allowed.status} ${allowed.body}`);
      }
    } finally {
      await close();
    }
  });

  it("admin auth - write includes read, operator includes everything, identity:<service> gets no route of the table", async () => {
    const { admin, authority, close } = await setup();
    try {
      const write = (await authority.issue({ scope: "write" })).token;
      const operator = (await authority.issue({ scope: "operator" })).token;
      const identity = (await authority.issue({ scope: "identity:checkout" })).token;
      assert.equal((await call(admin, "GET", "/v1/services", write)).status, 200);
      assert.equal((await call(admin, "PUT", "/v1/services/checkout", operator, {})).status, 201);
      assert.equal((await call(admin, "GET", "/v1/tokens", operator)).status, 200);
      assert.equal((await call(admin, "GET", "/metrics", identity)).status, 403);
      assert.equal((await call(admin, "PUT", "/v1/services/checkout", identity, {})).status, 403);
    } finally {
      await close();
    }
  });

  it("admin auth - an unknown, malformed, revoked or expired token is 401; a route that does not exist is 401 before 404", async () => {
    const { admin, authority, clock, close } = await setup();
    try {
      const issued = await authority.issue({ scope: "read", name: "ci", ttlMs: 60_000 });
      const operator = (await authority.issue({ scope: "operator", name: "root" })).token;
      assert.equal((await call(admin, "GET", "/v1/services", issued.token)).status, 200);
      assert.equal((await call(admin, "GET", "/v1/services", `smt_${"A".repeat(43)}`)).status, 401);
      assert.equal((await call(admin, "GET", "/v1/services", "nonsense")).status, 401);
      const basic = await admin.inject({ method: "GET", url: "/v1/services", headers: { authorization: "Basic dXNlcjpwYXNz" } });
      assert.equal(basic.statusCode, 401);
      assert.equal((await call(admin, "GET", "/v1/nothing-here")).status, 401);
      assert.equal((await call(admin, "GET", "/v1/nothing-here", issued.token)).status, 404);
      clock.advance(60_000);
      const expired = await call(admin, "GET", "/v1/services", issued.token);
      assert.equal(expired.status, 401);
      assert.match(expired.json.error, /token "ci" expired at 2026-01-01T00:01:00.000Z/);
      const listed = await call(admin, "GET", "/v1/tokens", operator);
      assert.deepEqual(listed.json.tokens.map((t: { name: string; expired: boolean }) => [t.name, t.expired]), [["ci", true], ["root", false]]);
      assert.equal((await call(admin, "DELETE", "/v1/tokens/root", operator)).status, 200);
      assert.equal((await call(admin, "GET", "/v1/tokens", operator)).status, 401);
    } finally {
      await close();
    }
  });

  it("admin auth - POST /v1/tokens shows the secret once; GET never shows secrets or hashes; bad bodies name every bad field", async () => {
    const { admin, authority, close } = await setup();
    try {
      const operator = (await authority.issue({ scope: "operator", name: "root" })).token;
      const created = await call(admin, "POST", "/v1/tokens", operator, { scope: "write", name: "deployer", ttlMs: 3_600_000 });
      assert.equal(created.status, 201);
      assert.deepEqual(Object.keys(created.json).sort(), ["expiresAt", "name", "scope", "token"]);
      assert.equal(created.json.expiresAt, "2026-01-01T01:00:00.000Z");
      assert.equal((await call(admin, "PUT", "/v1/services/web", created.json.token, {})).status, 201);
      const listed = await call(admin, "GET", "/v1/tokens", operator);
      assert.ok(!listed.body.includes(created.json.token));
      assert.ok(!/hash|token"/.test(listed.body.replace(/"tokens"/, "")), listed.body);
      const bad = await call(admin, "POST", "/v1/tokens", operator, { scope: "admin", name: "Bad_Name", ttlMs: 5, extra: 1 });
      assert.equal(bad.status, 400);
      for (const field of ["extra", "scope", "name", "ttlMs"]) assert.match(bad.json.error, new RegExp(`${field}: `));
      assert.equal((await call(admin, "POST", "/v1/tokens", operator, { scope: "read", name: "deployer" })).status, 409);
      assert.equal((await call(admin, "DELETE", "/v1/tokens/nobody", operator)).status, 404);
    } finally {
      await close();
    }
  });

  it("admin auth - no log line carries a token, whether issued, used, refused or revoked", async () => {
    const { admin, authority, logs, close } = await setup();
    try {
      const operator = (await authority.issue({ scope: "operator", name: "root" })).token;
      const created = await call(admin, "POST", "/v1/tokens", operator, { scope: "read", name: "ci" });
      const secret: string = created.json.token;
      await call(admin, "GET", "/v1/services", secret);
      await call(admin, "PUT", "/v1/services/web", secret, {});
      await call(admin, "DELETE", "/v1/tokens/ci", operator);
      await call(admin, "GET", "/v1/services", secret);
      await call(admin, "GET", "/v1/services", `${secret}x`);
      const text = logs();
      assert.ok(text.includes("admin request"), "the capture saw the request log");
      assert.ok(text.includes("invalid token"), "the capture saw the refusals");
      for (const token of [operator, secret]) assert.ok(!text.includes(token) && !text.includes(token.slice(4, 20)), "a token reached the log");
    } finally {
      await close();
    }
  });
});

describe("admin auth - identity scopes", () => {
  it("admin auth - a route needing identity:<service> takes the service from the parsed body: that identity or operator pass, others get 403 naming it", async () => {
    const backend = createMemoryStore();
    const authority = createTokenAuthority({ tokens: backend.tokens, clock: createFakeClock(0) });
    const hooks = createAuthHooks(authority);
    const app = Fastify();
    app.setErrorHandler((err: unknown, _request, reply) => {
      const status = err instanceof SteadyError ? ({ unauthenticated: 401, "permission-denied": 403 } as Record<string, number>)[err.code] ?? 500 : 500;
      return reply.code(status).send({ error: err instanceof Error ? err.message : String(err) });
    });
    app.addHook("onRequest", hooks.onRequest);
    app.addHook("preHandler", hooks.preHandler);
    const scope: RouteScope = { identity: (request) => String((request.body as { service?: unknown }).service) };
    app.route({ method: "POST", url: "/v1/certificates", config: { scope }, handler: async (request) => ({ signedFor: (request.body as { service: string }).service }) });
    const tokenOf = async (s: Scope) => (await authority.issue({ scope: s })).token;
    const post = (token: string | undefined, service: string) =>
      app.inject({ method: "POST", url: "/v1/certificates", headers: token ? { authorization: `Bearer ${token}` } : {}, payload: { service } });
    try {
      const checkout = await tokenOf("identity:checkout");
      assert.equal((await post(checkout, "checkout")).statusCode, 200);
      const other = await post(checkout, "web");
      assert.equal(other.statusCode, 403);
      assert.match(other.json().error, /has scope identity:checkout; POST \/v1\/certificates needs scope identity:web \(or operator\)/);
      assert.equal((await post(await tokenOf("operator"), "web")).statusCode, 200);
      const write = await post(await tokenOf("write"), "checkout");
      assert.equal(write.statusCode, 403);
      assert.match(write.json().error, /needs scope identity:<service> \(or operator\)/);
      assert.equal((await post(undefined, "checkout")).statusCode, 401);
    } finally {
      await app.close();
      await backend.close();
    }
  });
});
