/**
 * `/v1/faults` on the admin API, in-process (fastify inject), over the real
 * fault layer with a fake clock. Covers every route, bad input with its exact
 * one-line message, and the 404 when serve runs without --enable-faults.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { createFakeClock } from "../helpers/fake-clock.js";
import { createFaultInjector, createLabFaults, createPipelineFaults } from "../../src/faults/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { loadCodec } from "../../src/proto/index.js";
import { createMemoryStore, createRegistry } from "../../src/registry/index.js";
import { createSnapshotCache } from "../../src/xds/index.js";
import { createFakeGenerations } from "./generation-fixtures.js";

const codec = loadCodec();
const START = Date.parse("2022-03-08T18:07:00.000Z");
const OFF = "fault injection is off; start serve with --enable-faults";

async function setup(options: { enableFaults?: boolean } = {}) {
  const clock = createFakeClock(START);
  const registry = await createRegistry(createMemoryStore());
  const injector = createFaultInjector(createSnapshotCache());
  const metrics = createMetrics({ processMetrics: false });
  const pipeline = createPipelineFaults({ codec, logger: createSilentLogger(), next: () => undefined });
  const faults = options.enableFaults === false ? undefined : createLabFaults({ injector, pipeline, codec, clock, metrics, logger: createSilentLogger() });
  const admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => [] }, metrics, logger: createSilentLogger(), generations: createFakeGenerations([]), faults });
  return { admin, clock, injector, pipeline, close: async () => (await admin.close(), await registry.close()) };
}

/** Sends JSON (or a raw string as is) and returns status and parsed body. */
async function call(admin: AdminServer, method: string, url: string, body?: unknown) {
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const response = await admin.inject({ method: method as "GET", url, ...(payload !== undefined && { payload, headers: { "content-type": "application/json" } }) });
  // any: tests poke into arbitrary answers.
  const json: any = response.body.startsWith("{") ? JSON.parse(response.body) : undefined;
  return { status: response.statusCode, json, text: response.body };
}

describe("faults - admin API", () => {
  it("faults - POST /v1/faults answers 201 with the fault, GET lists it, DELETE /v1/faults/{id} removes it", async () => {
    const { admin, injector, close } = await setup();
    const created = await call(admin, "POST", "/v1/faults", { kind: "config-loss", services: ["login", "search"] });
    assert.equal(created.status, 201);
    const fault = { id: created.json.fault.id, kind: "config-loss", layer: "server", services: ["login", "search"], createdAt: "2022-03-08T18:07:00.000Z" };
    assert.deepEqual(created.json, { fault });
    assert.equal(injector.active().length, 4, "one drop per resource type");
    assert.deepEqual(await call(admin, "GET", "/v1/faults").then((r) => [r.status, r.json]), [200, { faults: [fault] }]);
    assert.deepEqual(await call(admin, "DELETE", `/v1/faults/${fault.id}`).then((r) => [r.status, r.json]), [200, { fault }]);
    assert.deepEqual((await call(admin, "GET", "/v1/faults")).json, { faults: [] });
    assert.deepEqual(injector.active(), []);
    await close();
  });

  it("faults - stream-error takes any gRPC status name and defaults to UNAVAILABLE; durationMs sets expiresAt and expires on the clock", async () => {
    const { admin, clock, close } = await setup();
    const notFound = await call(admin, "POST", "/v1/faults", { kind: "stream-error", services: ["login"], status: "NOT_FOUND", durationMs: 60_000 });
    assert.equal(notFound.status, 201);
    assert.deepEqual(notFound.json.fault, {
      id: notFound.json.fault.id, kind: "stream-error", layer: "server", services: ["login"], status: "NOT_FOUND", durationMs: 60_000,
      createdAt: "2022-03-08T18:07:00.000Z", expiresAt: "2022-03-08T18:08:00.000Z",
    });
    const unavailable = await call(admin, "POST", "/v1/faults", { kind: "stream-error", services: [] });
    assert.equal(unavailable.json.fault.status, "UNAVAILABLE");
    for (const status of ["OK", "DEADLINE_EXCEEDED", "UNAUTHENTICATED"]) {
      assert.equal((await call(admin, "POST", "/v1/faults", { kind: "stream-error", services: [], status })).status, 201, status);
    }
    clock.advance(60_000);
    const left = (await call(admin, "GET", "/v1/faults")).json.faults;
    assert.deepEqual(left.map((f: { status: string }) => f.status), ["UNAVAILABLE", "OK", "DEADLINE_EXCEEDED", "UNAUTHENTICATED"]);
    await close();
  });

  it("faults - layer pipeline: POST answers 201 with the layer, GET shows it, and nothing acts below the guard", async () => {
    const { admin, injector, pipeline, close } = await setup();
    const created = await call(admin, "POST", "/v1/faults", { kind: "invalid-config", layer: "pipeline", services: ["login"] });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.fault.layer, "pipeline");
    assert.deepEqual((await call(admin, "GET", "/v1/faults")).json.faults.map((f: { kind: string; layer: string }) => [f.kind, f.layer]), [["invalid-config", "pipeline"]]);
    assert.deepEqual(injector.active(), []);
    assert.deepEqual(pipeline.active().map((a) => a.fault), [{ kind: "invalid-config", services: ["login"] }]);
    await call(admin, "DELETE", "/v1/faults");
    assert.deepEqual(pipeline.active(), []);
    await close();
  });

  it("faults - stall and stream-error may name no services, since they act on whole streams", async () => {
    const { admin, close } = await setup();
    const stall = await call(admin, "POST", "/v1/faults", { kind: "stall", services: [] });
    assert.equal(stall.status, 201);
    assert.deepEqual(stall.json.fault.services, []);
    assert.equal(stall.json.fault.status, undefined, "status is only shown for stream-error");
    await close();
  });

  it("faults - DELETE /v1/faults removes every fault and returns them; an unknown id is 404", async () => {
    const { admin, injector, close } = await setup();
    await call(admin, "POST", "/v1/faults", { kind: "empty-endpoints", services: ["login"] });
    await call(admin, "POST", "/v1/faults", { kind: "stall", services: [] });
    const cleared = await call(admin, "DELETE", "/v1/faults");
    assert.equal(cleared.status, 200);
    assert.deepEqual(cleared.json.faults.map((f: { kind: string }) => f.kind), ["empty-endpoints", "stall"]);
    assert.deepEqual(injector.active(), []);
    assert.deepEqual(await call(admin, "DELETE", "/v1/faults").then((r) => [r.status, r.json]), [200, { faults: [] }]);
    const missing = await call(admin, "DELETE", "/v1/faults/fault-42");
    assert.deepEqual([missing.status, missing.json], [404, { error: 'fault "fault-42" not found; GET /v1/faults lists the active faults' }]);
    await close();
  });

  const KINDS = "one of config-loss, stream-error, empty-endpoints, stall, invalid-config";
  const LABEL = "a service name: a DNS label ([a-z0-9-], 1–63 characters, not starting or ending with '-')";
  const DURATION = "an integer number of milliseconds from 1 to 86400000 (omit it to keep the fault until it is deleted)";
  const badInput: Array<{ name: string; body: unknown; status?: number; error: string | RegExp }> = [
    { name: "unknown kind", body: { kind: "meltdown", services: ["login"] }, error: `kind: must be ${KINDS}, got "meltdown"` },
    { name: "missing kind", body: { services: ["login"] }, error: `kind: is required; must be ${KINDS}` },
    { name: "bad service name", body: { kind: "config-loss", services: ["login", "Bad_Name"] }, error: `services[1]: must be ${LABEL}, got "Bad_Name"` },
    { name: "service that is not a string", body: { kind: "config-loss", services: [7] }, error: `services[0]: must be ${LABEL}, got 7` },
    { name: "missing services", body: { kind: "stall" }, error: "services: is required; must be an array of at most 100 service names" },
    { name: "no services for config-loss", body: { kind: "config-loss", services: [] }, error: 'services: must name 1 to 100 services for kind "config-loss", got []' },
    { name: "too many services", body: { kind: "empty-endpoints", services: Array.from({ length: 101 }, (_, i) => `s${i}`) }, error: "services: must list at most 100 services, got 101" },
    { name: "a service twice", body: { kind: "config-loss", services: ["login", "login"] }, error: 'services[1]: "login" is listed twice; list each service once' },
    { name: "bad status name", body: { kind: "stream-error", services: [], status: "NOTFOUND" }, error: /^status: must be a gRPC status name \(OK, CANCELLED, .*, UNAUTHENTICATED\), got "NOTFOUND"$/ },
    { name: "status as a number", body: { kind: "stream-error", services: [], status: 5 }, error: /^status: must be a gRPC status name \(.*\), got 5$/ },
    { name: "status with another kind", body: { kind: "stall", services: [], status: "NOT_FOUND" }, error: 'status: is only allowed with kind "stream-error", got kind "stall"' },
    { name: "durationMs 0", body: { kind: "stall", services: [], durationMs: 0 }, error: `durationMs: must be ${DURATION}, got 0` },
    { name: "durationMs over a day", body: { kind: "stall", services: [], durationMs: 86_400_001 }, error: `durationMs: must be ${DURATION}, got 86400001` },
    { name: "durationMs not an integer", body: { kind: "stall", services: [], durationMs: 1.5 }, error: `durationMs: must be ${DURATION}, got 1.5` },
    { name: "unknown field", body: { kind: "stall", services: [], sevrices: [] }, error: "sevrices: unknown field; allowed fields are kind, layer, services, status, durationMs" },
    { name: "unknown layer", body: { kind: "config-loss", layer: "guard", services: ["login"] }, error: 'layer: must be one of server, pipeline (default server), got "guard"' },
    { name: "stream-error on the pipeline layer", body: { kind: "stream-error", layer: "pipeline", services: [] }, error: 'layer: must be "server" for kind "stream-error", which acts on ADS streams; "pipeline" is allowed for config-loss, empty-endpoints, invalid-config' },
    { name: "no services for invalid-config", body: { kind: "invalid-config", layer: "pipeline", services: [] }, error: 'services: must name 1 to 100 services for kind "invalid-config", got []' },
    { name: "every problem at once", body: { kind: "nope", services: ["A"], durationMs: -1 }, error: `kind: must be ${KINDS}, got "nope"; services[0]: must be ${LABEL}, got "A"; durationMs: must be ${DURATION}, got -1` },
    { name: "a body that is not an object", body: "[1]", error: "body: must be a JSON object, got [1]" },
    { name: "no body", body: undefined, error: "body: must be a JSON object, got no body" },
    { name: "malformed JSON", body: '{"kind": "stall",', error: "request body is not valid JSON; it must be a valid JSON object" },
  ];
  for (const bad of badInput) {
    it(`faults - POST /v1/faults rejects ${bad.name} with 400 and one line, and applies nothing`, async () => {
      const { admin, injector, pipeline, close } = await setup();
      const result = await call(admin, "POST", "/v1/faults", bad.body);
      assert.equal(result.status, bad.status ?? 400, result.text);
      assert.deepEqual(Object.keys(result.json), ["error"]);
      if (typeof bad.error === "string") assert.equal(result.json.error, bad.error);
      else assert.match(result.json.error, bad.error);
      assert.doesNotMatch(result.json.error, /\n/);
      assert.deepEqual(injector.active(), []);
      assert.deepEqual(pipeline.active(), []);
      assert.deepEqual((await call(admin, "GET", "/v1/faults")).json, { faults: [] });
      await close();
    });
  }

  it("faults - without --enable-faults every /v1/faults route answers 404 and says how to turn faults on", async () => {
    const { admin, close } = await setup({ enableFaults: false });
    for (const [method, url, body] of [["POST", "/v1/faults", { kind: "stall", services: [] }], ["GET", "/v1/faults"], ["DELETE", "/v1/faults"], ["DELETE", "/v1/faults/fault-1"]] as const) {
      const result = await call(admin, method, url, body);
      assert.deepEqual([result.status, result.json], [404, { error: OFF }], `${method} ${url}`);
    }
    await close();
  });

  it("faults - /v1/faults refuses other methods with 405 and Allow", async () => {
    const { admin, close } = await setup();
    const response = await admin.inject({ method: "PUT", url: "/v1/faults" });
    assert.equal(response.statusCode, 405);
    assert.equal(response.headers.allow, "POST, GET, HEAD, DELETE");
    await close();
  });

  it("faults - /metrics shows steadymesh_faults_active and steadymesh_faults_injected_total by kind", async () => {
    const { admin, close } = await setup();
    await call(admin, "POST", "/v1/faults", { kind: "config-loss", services: ["login"] });
    await call(admin, "POST", "/v1/faults", { kind: "stall", services: [] });
    await call(admin, "DELETE", "/v1/faults/fault-2");
    const text = (await admin.inject("/metrics")).body;
    assert.match(text, /^steadymesh_faults_active 1$/m);
    assert.match(text, /^steadymesh_faults_injected_total\{kind="config-loss"\} 1$/m);
    assert.match(text, /^steadymesh_faults_injected_total\{kind="stall"\} 1$/m);
    await close();
  });
});
