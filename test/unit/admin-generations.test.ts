/**
 * `/v1/generations` on the admin API, in-process (fastify inject), over a
 * fake push guard: listing and its filters, approve and rollback, and every
 * way a request can be refused (400, 404, 409, 415, 503).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry } from "../../src/registry/index.js";
import { createFakeGenerations, sampleGenerations, STORE_DOWN } from "./generation-fixtures.js";

async function setup() {
  const registry = await createRegistry(createMemoryStore());
  const generations = createFakeGenerations();
  const admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations });
  return { admin, generations, close: async () => (await admin.close(), await registry.close()) };
}

/** Sends a request with an optional raw body and content-type; returns status and parsed body. */
async function call(admin: AdminServer, method: string, url: string, body?: { payload: string; contentType?: string }) {
  const headers = body?.contentType === undefined ? {} : { "content-type": body.contentType };
  const response = await admin.inject({ method: method as "GET", url, headers, ...(body && { payload: body.payload }) });
  // any: tests poke into arbitrary answers.
  const json: any = response.body.startsWith("{") ? JSON.parse(response.body) : undefined;
  return { status: response.statusCode, json, text: response.body };
}

const ids = (answer: { generations: { id: number }[] }): number[] => answer.generations.map((g) => g.id);

describe("admin - generations", () => {
  it("admin - GET /v1/generations lists every generation ascending by id, as the guard has it", async () => {
    const { admin, close } = await setup();
    const answer = await call(admin, "GET", "/v1/generations");
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json, { generations: sampleGenerations() });
    const keys = Object.keys(answer.json.generations[2] ?? {});
    for (const field of ["id", "revision", "createdAt", "status", "diff", "reason"]) assert.ok(keys.includes(field), field);
    await close();
  });

  it("admin - GET /v1/generations filters by status and keeps the newest N with limit", async () => {
    const { admin, close } = await setup();
    assert.deepEqual(ids((await call(admin, "GET", "/v1/generations?status=held")).json), [3, 5]);
    assert.deepEqual(ids((await call(admin, "GET", "/v1/generations?limit=2")).json), [5, 6]);
    assert.deepEqual(ids((await call(admin, "GET", "/v1/generations?status=pushed&limit=1")).json), [2]);
    assert.deepEqual(ids((await call(admin, "GET", "/v1/generations?limit=1000")).json), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual((await call(admin, "GET", "/v1/generations?status=rolled-back")).json, { generations: [] });
    await close();
  });

  it("admin - GET /v1/generations?after= pages oldest first: following next visits every generation once, with the status filter too", async () => {
    const { admin, close } = await setup();
    const all = ids((await call(admin, "GET", "/v1/generations")).json);
    const seen: number[] = [];
    let pages = 0;
    for (let after: number | undefined = 0; after !== undefined; pages++) {
      const page = (await call(admin, "GET", `/v1/generations?after=${after}&limit=2`)).json as { generations: { id: number }[]; next?: number };
      seen.push(...ids(page));
      after = page.next;
      assert.ok(pages < 10, "paging ends");
    }
    assert.deepEqual(seen, all);
    assert.equal(pages, Math.ceil(all.length / 2));
    assert.deepEqual((await call(admin, "GET", "/v1/generations?after=3&status=held")).json, { generations: [{ ...sampleGenerations().find((g) => g.id === 5) }] });
    const bad = await call(admin, "GET", "/v1/generations?after=-1");
    assert.deepEqual([bad.status, bad.json], [400, { error: 'after: must be a generation id, 0 or more (the next of the previous page), got "-1"' }]);
    await close();
  });

  it("admin - GET /v1/generations/{id} answers the generation, 404 when unknown", async () => {
    const { admin, close } = await setup();
    const found = await call(admin, "GET", "/v1/generations/3");
    assert.equal(found.status, 200);
    assert.deepEqual(found.json, sampleGenerations()[2]);
    const missing = await call(admin, "GET", "/v1/generations/42");
    assert.deepEqual([missing.status, missing.json], [404, { error: "generation 42 not found" }]);
    await close();
  });

  it("admin - POST approve answers the approved generation; a second approve is 409", async () => {
    const { admin, generations, close } = await setup();
    const approved = await call(admin, "POST", "/v1/generations/3/approve");
    assert.equal(approved.status, 200, approved.text);
    assert.deepEqual([approved.json.id, approved.json.status, approved.json.reason], [3, "pushed", "approved"]);
    const again = await call(admin, "POST", "/v1/generations/3/approve");
    assert.deepEqual([again.status, again.json], [409, { error: "generation 3 is pushed; only a held generation can be approved" }]);
    assert.deepEqual(generations.calls, ["approve 3", "approve 3"]);
    await close();
  });

  it("admin - POST rollback answers the new rollback generation and the replaced one turns rolled-back", async () => {
    const { admin, close } = await setup();
    const rollback = await call(admin, "POST", "/v1/generations/1/rollback");
    assert.equal(rollback.status, 200, rollback.text);
    assert.deepEqual([rollback.json.id, rollback.json.status, rollback.json.source, rollback.json.from], [7, "pushed", "rollback", 1]);
    assert.equal((await call(admin, "GET", "/v1/generations/2")).json.status, "rolled-back");
    const conflict = await call(admin, "POST", "/v1/generations/4/rollback");
    assert.deepEqual([conflict.status, conflict.json], [409, { error: "generation 4 is rejected; only a pushed or rolled-back generation can be rolled back to" }]);
    const missing = await call(admin, "POST", "/v1/generations/99/rollback");
    assert.deepEqual([missing.status, missing.json], [404, { error: "generation 99 not found" }]);
    await close();
  });

  it("admin - approve and rollback take no body, an empty one whatever its content-type, or {}", async () => {
    const bodies: ({ payload: string; contentType?: string } | undefined)[] = [
      undefined,
      { payload: "", contentType: "application/json" },
      { payload: "", contentType: "application/x-www-form-urlencoded" },
      { payload: "{}", contentType: "application/json" },
      { payload: "{ }", contentType: "application/json; charset=utf-8" },
    ];
    for (const body of bodies) {
      const { admin, close } = await setup();
      const response = await call(admin, "POST", "/v1/generations/5/approve", body);
      assert.equal(response.status, 200, `${JSON.stringify(body)}: ${response.text}`);
      assert.equal(response.json.status, "pushed");
      await close();
    }
  });

  it("admin - the guard being unable to write its audit trail is 503 with its message", async () => {
    const { admin, generations, close } = await setup();
    generations.failWith = STORE_DOWN;
    for (const action of ["approve", "rollback"]) {
      const response = await call(admin, "POST", `/v1/generations/3/${action}`);
      assert.deepEqual([response.status, response.json], [503, { error: "audit trail cannot be written: disk full" }]);
    }
    await close();
  });

  const badRequests: { name: string; method: string; url: string; body?: { payload: string; contentType?: string }; status: number; error: string | RegExp }[] = [
    { name: "id not a number", method: "POST", url: "/v1/generations/x/approve", status: 400, error: 'id: must be a positive integer generation id, got "x"' },
    { name: "id zero", method: "POST", url: "/v1/generations/0/rollback", status: 400, error: 'id: must be a positive integer generation id, got "0"' },
    { name: "id negative", method: "GET", url: "/v1/generations/-3", status: 400, error: 'id: must be a positive integer generation id, got "-3"' },
    { name: "id fractional", method: "GET", url: "/v1/generations/1.5", status: 400, error: 'id: must be a positive integer generation id, got "1.5"' },
    { name: "id with leading zero", method: "POST", url: "/v1/generations/07/approve", status: 400, error: 'id: must be a positive integer generation id, got "07"' },
    { name: "id too big", method: "POST", url: "/v1/generations/99999999999999999999/approve", status: 400, error: /^id: must be a positive integer generation id, got "9+"$/ },
    { name: "unknown status", method: "GET", url: "/v1/generations?status=live", status: 400, error: 'status: must be one of pushed, held, rejected, canary, rolled-back, got "live"' },
    { name: "limit zero", method: "GET", url: "/v1/generations?limit=0", status: 400, error: 'limit: must be an integer from 1 to 1000, got "0"' },
    { name: "limit too big", method: "GET", url: "/v1/generations?limit=1001", status: 400, error: 'limit: must be an integer from 1 to 1000, got "1001"' },
    { name: "limit not a number", method: "GET", url: "/v1/generations?limit=ten", status: 400, error: 'limit: must be an integer from 1 to 1000, got "ten"' },
    { name: "every query problem at once", method: "GET", url: "/v1/generations?status=x&limit=-1&colour=red", status: 400, error: 'colour: unknown query parameter; allowed are status, limit, after; status: must be one of pushed, held, rejected, canary, rolled-back, got "x"; limit: must be an integer from 1 to 1000, got "-1"' },
    { name: "repeated status", method: "GET", url: "/v1/generations?status=held&status=pushed", status: 400, error: "status: must be given at most once, got 2 values" },
    { name: "body with fields", method: "POST", url: "/v1/generations/3/approve", body: { payload: '{"force":true}', contentType: "application/json" }, status: 400, error: 'body: approve takes no fields; send no body or {}, got {"force":true}' },
    { name: "body not an object", method: "POST", url: "/v1/generations/3/rollback", body: { payload: "[]", contentType: "application/json" }, status: 400, error: "body: rollback takes no fields; send no body or {}, got []" },
    { name: "malformed JSON", method: "POST", url: "/v1/generations/3/approve", body: { payload: "{", contentType: "application/json" }, status: 400, error: "request body is not valid JSON; it must be a valid JSON object" },
    { name: "body that is not JSON", method: "POST", url: "/v1/generations/3/approve", body: { payload: "yes", contentType: "text/plain" }, status: 415, error: 'content-type "text/plain" is not supported; application/json is required' },
    { name: "wrong method", method: "GET", url: "/v1/generations/3/approve", status: 405, error: "method GET is not allowed on /v1/generations/3/approve; allowed: POST" },
    { name: "unknown action", method: "POST", url: "/v1/generations/3/promote", status: 404, error: /^no route for POST \/v1\/generations\/3\/promote; the API serves .*\/v1\/generations\/\{id\}\/approve, / },
  ];

  it("admin - refuses bad ids, queries and bodies with a one-line error and never reaches the guard", async () => {
    const { admin, generations, close } = await setup();
    for (const bad of badRequests) {
      const response = await call(admin, bad.method, bad.url, bad.body);
      assert.equal(response.status, bad.status, `${bad.name}: ${response.text}`);
      assert.deepEqual(Object.keys(response.json ?? {}), ["error"], `${bad.name}: ${response.text}`);
      if (typeof bad.error === "string") assert.equal(response.json.error, bad.error, bad.name);
      else assert.match(response.json.error, bad.error, bad.name);
    }
    assert.deepEqual(generations.calls, []);
    assert.deepEqual(generations.list(), sampleGenerations());
    await close();
  });
});
