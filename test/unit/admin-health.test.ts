import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { createFakeClock } from "../helpers/fake-clock.js";
import { createHealthMonitor, type HealthMonitor } from "../../src/health/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { UnavailableError } from "../../src/errors/index.js";
import { createMemoryStore, createRegistry, type Liveness, type Registry } from "../../src/registry/index.js";
import { createFakeGenerations } from "./generation-fixtures.js";
import { createFakeProber } from "./health-fixtures.js";

interface Setup {
  readonly registry: Registry;
  readonly admin: AdminServer;
  close(): Promise<void>;
}

/** The admin API over a memory registry, with a health monitor on a fake clock unless `monitor` is false. */
async function setup(options: { monitor?: boolean; liveness?: Liveness } = {}): Promise<Setup> {
  const registry = await createRegistry(createMemoryStore());
  const clock = createFakeClock(Date.parse("2030-01-01T00:00:00.000Z"));
  const monitor: HealthMonitor | undefined = options.monitor === false ? undefined : createHealthMonitor({ registry, clock, prober: createFakeProber(clock), logger: createSilentLogger() });
  const admin = createAdminServer({ auth: { required: false },
    registry,
    clients: { list: () => [] },
    metrics: createMetrics({ processMetrics: false }),
    logger: createSilentLogger(),
    generations: createFakeGenerations([]),
    heartbeats: monitor,
    liveness: options.liveness,
  });
  return { registry, admin, close: async () => (await admin.close(), await monitor?.stop(), await registry.close()) };
}

async function call(admin: AdminServer, method: string, url: string, body?: string, contentType = "application/json") {
  const response = await admin.inject({ method: method as "PUT", url, ...(body !== undefined && { payload: body, headers: { "content-type": contentType } }) });
  // any: tests poke into arbitrary answers.
  return { status: response.statusCode, headers: response.headers, json: response.json() as any };
}

const HEARTBEAT = "/v1/services/svc/instances/t1/heartbeat";

describe("admin - health checks and heartbeats", () => {
  it("admin health - PUT service stores a healthCheck with its defaults, and GET shows it", async () => {
    const { admin, close } = await setup();
    const put = await call(admin, "PUT", "/v1/services/svc", JSON.stringify({ healthCheck: { kind: "http", path: "/healthz" } }));
    assert.equal(put.status, 201);
    const healthCheck = { kind: "http", path: "/healthz", intervalMs: 5000, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 3 };
    assert.deepEqual(put.json.service.healthCheck, healthCheck);
    const got = await call(admin, "GET", "/v1/services/svc");
    assert.deepEqual(Object.keys(got.json.service), ["name", "protocol", "lbPolicy", "metadata", "healthCheck", "mtls", "instances"]);
    assert.deepEqual(got.json.service.healthCheck, healthCheck);
    await close();
  });

  it("admin health - bad healthCheck and ttlMs bodies are 400 with one line naming every problem, and write nothing", async () => {
    const { admin, registry, close } = await setup();
    const bad: [string, object, string][] = [
      ["/v1/services/svc", { healthCheck: { kind: "icmp", intervalMs: 500 } }, `healthCheck.kind: must be one of grpc, http, tcp, got "icmp"; healthCheck.intervalMs: must be an integer from 1000 to 3600000, got 500`],
      ["/v1/services/svc", { healthCheck: { kind: "grpc", intervalMs: 2000, timeoutMs: 3000 } }, "healthCheck.timeoutMs: must be less than intervalMs (2000), got 3000"],
      ["/v1/services/svc", { healthCheck: { kind: "tcp", path: "/" } }, `healthCheck.path: is only for kind "http"; leave it out for kind "tcp"`],
      ["/v1/services/svc/instances/t1", { address: "10.0.0.1", port: 1, ttlMs: 100 }, "ttlMs: must be an integer from 1000 to 86400000 (milliseconds), got 100"],
    ];
    for (const [url, body, error] of bad) {
      const response = await call(admin, "PUT", url, JSON.stringify(body));
      assert.equal(response.status, 400, url);
      assert.deepEqual(response.json, { error });
    }
    assert.equal(registry.view().revision, 0);
    await close();
  });

  it("admin health - a heartbeat renews the TTL: 200 with the new expiry, no body or {} accepted, the revision unchanged", async () => {
    const { admin, registry, close } = await setup();
    const put = await call(admin, "PUT", "/v1/services/svc/instances/t1", JSON.stringify({ address: "10.0.0.1", port: 1, ttlMs: 1500 }));
    assert.equal(put.json.instance.ttlMs, 1500);
    const revision = registry.view().revision;
    const expected = { service: "svc", id: "t1", ttlMs: 1500, expiresAt: "2030-01-01T00:00:01.500Z" };
    const renewed = await call(admin, "PUT", HEARTBEAT);
    assert.deepEqual([renewed.status, renewed.json], [200, expected]);
    for (const [body, type] of [["", "application/json"], ["{}", "application/json"], ["", "text/plain"]] as const) {
      const response = await call(admin, "PUT", HEARTBEAT, body, type);
      assert.equal(response.status, 200, `${JSON.stringify(body)} as ${type}`);
    }
    assert.equal(registry.view().revision, revision);
    await close();
  });

  it("admin health - heartbeat errors: 404 unknown, 409 without ttlMs, 400 bad name or body, 405 other methods", async () => {
    const { admin, close } = await setup();
    await call(admin, "PUT", "/v1/services/svc/instances/plain", JSON.stringify({ address: "10.0.0.1", port: 1 }));
    const cases: [string, string, string | undefined, number, RegExp][] = [
      ["PUT", "/v1/services/svc/instances/nope/heartbeat", undefined, 404, /^instance "nope" not found in service "svc"$/],
      ["PUT", "/v1/services/other/instances/nope/heartbeat", undefined, 404, /^service "other" not found$/],
      ["PUT", "/v1/services/svc/instances/plain/heartbeat", undefined, 409, /^instance "plain" of service "svc" has no ttlMs, so it takes no heartbeats; register it with "ttlMs" \(1000–86400000\) to use them$/],
      ["PUT", "/v1/services/Bad/instances/x/heartbeat", undefined, 400, /^service: must be a DNS label/],
      ["PUT", "/v1/services/svc/instances/plain/heartbeat", JSON.stringify({ ttlMs: 5 }), 400, /^body: a heartbeat takes no fields; send no body or \{\}, got \{"ttlMs":5\}$/],
      ["GET", "/v1/services/svc/instances/plain/heartbeat", undefined, 405, /^method GET is not allowed on .*; allowed: PUT$/],
    ];
    for (const [method, url, body, status, error] of cases) {
      const response = await call(admin, method, url, body);
      assert.equal(response.status, status, `${method} ${url}: ${JSON.stringify(response.json)}`);
      assert.match(response.json.error, error);
    }
    await close();
  });

  it("admin health - without a health monitor the heartbeat route says so", async () => {
    const { admin, close } = await setup({ monitor: false });
    await call(admin, "PUT", "/v1/services/svc/instances/t1", JSON.stringify({ address: "10.0.0.1", port: 1, ttlMs: 1500 }));
    const response = await call(admin, "PUT", HEARTBEAT);
    assert.deepEqual([response.status, response.json], [404, { error: "this server runs no health monitor, so it takes no heartbeats" }]);
    await close();
  });

  it("admin health - with shared liveness (etcd) a heartbeat is written through, and 503 when it cannot be", async () => {
    const beats: string[] = [];
    let down = false;
    const liveness: Liveness = {
      beat: async (service, id, ttlMs) => {
        if (down) throw new UnavailableError("etcd unavailable at 127.0.0.1:1: heartbeat failed: connection refused");
        beats.push(`${service}/${id}/${ttlMs}`);
      },
      alive: async () => true,
    };
    const { registry, admin, close } = await setup({ liveness });
    await registry.putInstance("svc", "t1", { address: "10.0.0.1", port: 1, ttlMs: 2000 });
    const ok = await call(admin, "PUT", HEARTBEAT);
    assert.equal(ok.status, 200);
    down = true;
    const failed = await call(admin, "PUT", HEARTBEAT);
    assert.equal(failed.status, 503);
    assert.match(failed.json.error, /^etcd unavailable at 127\.0\.0\.1:1: heartbeat failed/);
    assert.deepEqual(beats, ["svc/t1/2000"]);
    await close();
  });
});
