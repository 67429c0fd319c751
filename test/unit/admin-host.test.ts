/**
 * DNS rebinding and cross-site protection of the admin API: Host and Origin
 * must name the bound address, localhost or an `--admin-host` name.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { createHostGuard } from "../../src/admin/host-guard.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Registry } from "../../src/registry/index.js";
import { startControlPlane } from "../helpers/control-plane.js";
import { createFakeGenerations } from "./generation-fixtures.js";

const refusedHost = (host: string, name: string, allowed: string) =>
  `host ${JSON.stringify(host)} is not allowed to use the admin API (DNS rebinding and cross-site protection); allowed hosts: ${allowed}; to allow it, start serve with --admin-host ${name}`;
const refusedOrigin = (origin: string, name: string, allowed: string) =>
  `origin ${JSON.stringify(origin)} is not allowed to use the admin API (DNS rebinding and cross-site protection); allowed hosts: ${allowed}; to allow it, start serve with --admin-host ${name}`;

async function newAdmin(adminHosts: readonly string[] = []): Promise<{ admin: AdminServer; registry: Registry }> {
  const registry = await createRegistry(createMemoryStore());
  const admin = createAdminServer({ auth: { required: false },
    registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations([]), adminHosts,
  });
  return { admin, registry };
}

/** One request over a real socket with node:http, which sends the Host and Origin given (fetch does not let a caller set Host). */
function send(port: number, options: { method?: string; path: string; host?: string; origin?: string; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.host !== undefined) headers.host = options.host;
    if (options.origin !== undefined) headers.origin = options.origin;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    const req = httpRequest({ host: "127.0.0.1", port, method: options.method ?? "GET", path: options.path, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("admin host check over a real socket", () => {
  let admin: AdminServer;
  let registry: Registry;
  let port: number;

  before(async () => {
    ({ admin, registry } = await newAdmin(["steadymesh.internal", "10.9.8.7"]));
    port = (await admin.listen("127.0.0.1", 0)).port;
  });
  after(async () => {
    await admin.close();
    await registry.close();
  });

  it("admin host - a foreign Host (DNS rebinding) is a 403 naming it and --admin-host, on every route, /healthz and unknown paths included", async () => {
    const allowed = "127.0.0.1, steadymesh.internal, 10.9.8.7, localhost";
    for (const path of ["/healthz", "/v1/services", "/metrics", "/no/such/route"]) {
      const answer = await send(port, { path, host: `rebind.attacker.example:${port}` });
      assert.equal(answer.status, 403, path);
      assert.deepEqual(JSON.parse(answer.body), { error: refusedHost(`rebind.attacker.example:${port}`, "rebind.attacker.example", allowed) }, path);
    }
    const write = await send(port, { method: "PUT", path: "/v1/services/greeter/instances/a", host: "rebind.attacker.example", body: '{"address":"127.0.0.1","port":1}' });
    assert.equal(write.status, 403);
    assert.equal(registry.view().revision, 0);
    // An address the server is not bound to is foreign too.
    assert.equal((await send(port, { path: "/healthz", host: `[::1]:${port}` })).status, 403);
  });

  it("admin host - the bound address, localhost and --admin-host names are served, with or without a port, in any case", async () => {
    for (const host of [`127.0.0.1:${port}`, "127.0.0.1", `localhost:${port}`, "LOCALHOST", "localhost.", "steadymesh.internal:443", "SteadyMesh.Internal", "10.9.8.7"]) {
      const answer = await send(port, { path: "/healthz", host });
      assert.equal(answer.status, 200, `${host}: ${answer.body}`);
    }
  });

  it("admin host - a cross-site Origin is a 403 and writes nothing; a same-site Origin and no Origin are served", async () => {
    const body = '{"address":"127.0.0.1","port":50051}';
    const foreign = await send(port, { method: "PUT", path: "/v1/services/greeter/instances/a", host: `127.0.0.1:${port}`, origin: "https://evil.example", body });
    assert.equal(foreign.status, 403);
    assert.deepEqual(JSON.parse(foreign.body), { error: refusedOrigin("https://evil.example", "evil.example", "127.0.0.1, steadymesh.internal, 10.9.8.7, localhost") });
    const sandboxed = await send(port, { method: "POST", path: "/v1/generations/1/approve", host: `127.0.0.1:${port}`, origin: "null" });
    assert.equal(sandboxed.status, 403);
    assert.match(JSON.parse(sandboxed.body).error, /^origin "null" is not an http\(s\) origin with a host .*, so it is not allowed to use the admin API; allowed hosts: /);
    assert.equal(registry.view().revision, 0);
    for (const origin of [`http://127.0.0.1:${port}`, "http://localhost:3000", "https://steadymesh.internal"]) {
      const answer = await send(port, { method: "PUT", path: "/v1/services/greeter/instances/a", host: `127.0.0.1:${port}`, origin, body });
      assert.ok(answer.status === 200 || answer.status === 201, `${origin}: ${answer.body}`);
    }
    assert.equal((await send(port, { path: "/v1/services", host: `127.0.0.1:${port}` })).status, 200);
  });

  it("admin host - a Host that is not a host name or IP address is a 403 too", async () => {
    for (const host of ["a b", "user@127.0.0.1", "127.0.0.1:99999", "[fe80::1%25eth0]"]) {
      const answer = await send(port, { path: "/healthz", host });
      assert.equal(answer.status, 403, `${host}: ${answer.body}`);
      assert.match(JSON.parse(answer.body).error, /^host ".*" is not a host name or IP address with an optional port, so it is not allowed to use the admin API; allowed hosts: /, host);
    }
  });
});

/** A raw HTTP/1.0 request without a Host header, as some load balancers' health checks send it; resolves with the status line. */
function http10WithoutHost(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(`GET ${path} HTTP/1.0\r\n\r\n`));
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (text += chunk));
    socket.on("end", () => resolve(text.split("\r\n")[0] ?? ""));
    socket.on("error", reject);
  });
}

describe("admin host check of a running server", () => {
  it("admin host - serve's adminHosts reach the admin API; HTTP/1.0 without Host is served", async () => {
    const plane = await startControlPlane({ adminHosts: ["mesh-admin.internal"] });
    try {
      assert.equal((await send(plane.admin.port, { path: "/healthz", host: "mesh-admin.internal:18080" })).status, 200);
      const foreign = await send(plane.admin.port, { path: "/v1/generations", host: "other.internal" });
      assert.equal(foreign.status, 403);
      assert.match(JSON.parse(foreign.body).error, /allowed hosts: 127\.0\.0\.1, mesh-admin\.internal, localhost; to allow it, start serve with --admin-host other\.internal$/);
      assert.equal(await http10WithoutHost(plane.admin.port, "/healthz"), "HTTP/1.1 200 OK");
    } finally {
      await plane.close();
    }
  });
});

describe("admin host check in-process", () => {
  it("admin host - inject() (Host localhost:80) is served before and after listen; a foreign Host is refused before the body is parsed", async () => {
    const { admin, registry } = await newAdmin();
    assert.equal((await admin.inject("/healthz")).statusCode, 200);
    const refused = await admin.inject({ method: "PUT", url: "/v1/services/greeter", headers: { host: "evil.example", "content-type": "application/json" }, payload: "{not json" });
    assert.equal(refused.statusCode, 403);
    assert.deepEqual(refused.json(), { error: refusedHost("evil.example", "evil.example", "localhost") });
    const badUrl = await admin.inject({ method: "GET", url: "/v1/services/%E0%A4%A", headers: { host: "evil.example" } });
    assert.equal(badUrl.statusCode, 403);
    await admin.listen("127.0.0.1", 0);
    assert.equal((await admin.inject("/healthz")).statusCode, 200);
    await admin.close();
    await registry.close();
  });

  it("admin host - bound to a wildcard, every interface address is allowed, asked at request time", () => {
    let addresses = ["127.0.0.1", "192.168.1.20", "fe80::a00:27ff:fe4e:66a1"];
    const guard = createHostGuard({ interfaceAddresses: () => addresses });
    guard.allowBound("0.0.0.0");
    assert.equal(guard.refusal({ host: "192.168.1.20:18080" }), undefined);
    assert.equal(guard.refusal({ host: "[FE80:0::a00:27ff:fe4e:66a1]:18080" }), undefined);
    assert.equal(guard.refusal({ host: "localhost" }), undefined);
    assert.equal(
      guard.refusal({ host: "10.0.0.9:18080" }),
      refusedHost("10.0.0.9:18080", "10.0.0.9", "any address of this machine (bound to 0.0.0.0), localhost"),
    );
    addresses = [...addresses, "10.0.0.9"];
    assert.equal(guard.refusal({ host: "10.0.0.9:18080" }), undefined);
    assert.equal(guard.refusal({ host: "10.0.0.9", origin: "http://attacker.example" }), refusedOrigin("http://attacker.example", "attacker.example", "any address of this machine (bound to 0.0.0.0), localhost"));
  });

  it("admin host - IPv6 binds are matched in brackets and in any spelling; no Host at all (HTTP/1.0) is served", () => {
    const guard = createHostGuard({ names: ["Admin.Example."] });
    guard.allowBound("::1");
    for (const host of ["[::1]", "[::1]:18080", "[0:0:0:0:0:0:0:1]:1", "admin.example", "ADMIN.example.:80"]) assert.equal(guard.refusal({ host }), undefined, host);
    assert.equal(guard.refusal({}), undefined);
    for (const host of ["::1", ""]) assert.match(guard.refusal({ host }) ?? "", /is not a host name or IP address with an optional port/, host);
    assert.throws(() => createHostGuard({ names: ["admin.example:80"] }), /admin host "admin\.example:80": must be a host name or IP address, without a port/);
  });
});
