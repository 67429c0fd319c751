import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { UnavailableError } from "../../src/errors/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Registry } from "../../src/registry/index.js";
import type { ClientStatus } from "../../src/xds/index.js";
import { createFakeGenerations } from "./generation-fixtures.js";

const FAKE_CLIENT: ClientStatus = {
  streamId: "s1",
  nodeId: "web-1",
  cluster: "web",
  metadata: {},
  userAgent: "grpc-node-js 1.14.7",
  peer: "127.0.0.1:40000",
  connectedAt: "2024-01-01T00:00:00.000Z",
  protocol: "sotw",
  types: {
    EDS: {
      typeUrl: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
      subscribed: ["greeter"],
      sentVersion: "3",
      sentNonce: "7",
      ackedVersion: "2",
      ackedAt: "2024-01-01T00:00:01.000Z",
      lastNack: {
        at: "2024-01-01T00:00:02.000Z",
        nonce: "7",
        version: "2",
        errorDetail: { code: 3, message: "endpoints[0].port: must be 1-65535, got 0" },
      },
    },
  },
};

interface Setup {
  readonly registry: Registry;
  readonly admin: AdminServer;
  close(): Promise<void>;
}

async function setup(options: { registry?: (real: Registry) => Registry; bodyLimit?: number } = {}): Promise<Setup> {
  const real = await createRegistry(createMemoryStore());
  const registry = options.registry ? options.registry(real) : real;
  const admin = createAdminServer({ auth: { required: false },
    registry,
    clients: { list: () => [FAKE_CLIENT] },
    metrics: createMetrics({ processMetrics: false }),
    logger: createSilentLogger(),
    generations: createFakeGenerations([]),
    bodyLimit: options.bodyLimit,
  });
  return { registry: real, admin, close: async () => (await admin.close(), await real.close()) };
}

/** Sends JSON (or a raw string as is) and returns status and parsed body. */
async function call(admin: AdminServer, method: string, url: string, body?: unknown, contentType = "application/json") {
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const response = await admin.inject({
    method: method as "GET",
    url,
    ...(payload !== undefined && { payload, headers: { "content-type": contentType } }),
  });
  const text = response.body;
  // any: tests poke into arbitrary answers.
  const json: any = text.startsWith("{") ? JSON.parse(text) : undefined;
  return { status: response.statusCode, headers: response.headers, text, json };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const GREETER_1 = { address: "127.0.0.1", port: 50051, zone: "z1", region: "r1" };

describe("admin", () => {
  it("admin - PUT instance returns 201 on create and 200 on update, with the stored value and revision", async () => {
    const { admin, registry, close } = await setup();
    const created = await call(admin, "PUT", "/v1/services/greeter/instances/a1", GREETER_1);
    assert.equal(created.status, 201);
    assert.equal(created.json.revision, registry.view().revision);
    assert.deepEqual(created.json.instance, {
      service: "greeter", id: "a1", address: "127.0.0.1", port: 50051, zone: "z1", region: "r1",
      weight: 1, health: "healthy", metadata: {},
    });
    const updated = await call(admin, "PUT", "/v1/services/greeter/instances/a1", { ...GREETER_1, weight: 5 });
    assert.equal(updated.status, 200);
    assert.equal(updated.json.instance.weight, 5);
    assert.ok(updated.json.revision > created.json.revision);
    // The service was created with defaults.
    assert.equal(registry.view().services.get("greeter")?.service.protocol, "grpc");
    await close();
  });

  it("admin - PUT service creates (201) and updates (200); no body means all defaults", async () => {
    const { admin, close } = await setup();
    const created = await call(admin, "PUT", "/v1/services/login");
    assert.equal(created.status, 201);
    assert.deepEqual(created.json.service, { name: "login", protocol: "grpc", lbPolicy: "round_robin", metadata: {}, mtls: "off" });
    const updated = await call(admin, "PUT", "/v1/services/login", { lbPolicy: "ring_hash", metadata: { team: "auth" } });
    assert.equal(updated.status, 200);
    assert.deepEqual(updated.json, {
      revision: updated.json.revision,
      service: { name: "login", protocol: "grpc", lbPolicy: "ring_hash", metadata: { team: "auth" }, mtls: "off" },
    });
    await close();
  });

  it("admin - GET /v1/services lists services by name with instances by id; GET one service; 404 when absent", async () => {
    const { admin, registry, close } = await setup();
    await call(admin, "PUT", "/v1/services/zeta");
    await call(admin, "PUT", "/v1/services/greeter/instances/b2", { address: "::1", port: 50052 });
    await call(admin, "PUT", "/v1/services/greeter/instances/a1", GREETER_1);
    const all = await call(admin, "GET", "/v1/services");
    assert.equal(all.status, 200);
    assert.equal(all.json.revision, registry.view().revision);
    assert.deepEqual(all.json.services.map((s: { name: string }) => s.name), ["greeter", "zeta"]);
    const greeter = all.json.services[0];
    assert.deepEqual(Object.keys(greeter), ["name", "protocol", "lbPolicy", "metadata", "mtls", "instances"]);
    assert.deepEqual(greeter.instances.map((i: { id: string }) => i.id), ["a1", "b2"]);
    assert.deepEqual(all.json.services[1].instances, []);

    const one = await call(admin, "GET", "/v1/services/greeter");
    assert.equal(one.status, 200);
    assert.deepEqual(one.json, { revision: registry.view().revision, service: greeter });

    const missing = await call(admin, "GET", "/v1/services/nope");
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { error: 'service "nope" not found' });
    await close();
  });

  it("admin - DELETE instance and service return 200 with the revision, then 404", async () => {
    const { admin, registry, close } = await setup();
    await call(admin, "PUT", "/v1/services/greeter/instances/a1", GREETER_1);
    const deleted = await call(admin, "DELETE", "/v1/services/greeter/instances/a1");
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.json, { revision: registry.view().revision });
    const again = await call(admin, "DELETE", "/v1/services/greeter/instances/a1");
    assert.equal(again.status, 404);
    assert.deepEqual(again.json, { error: 'instance "a1" not found in service "greeter"' });

    const service = await call(admin, "DELETE", "/v1/services/greeter");
    assert.equal(service.status, 200);
    assert.deepEqual(service.json, { revision: registry.view().revision });
    assert.equal(registry.view().services.size, 0);
    const gone = await call(admin, "DELETE", "/v1/services/greeter");
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.json, { error: 'service "greeter" not found' });
    await close();
  });

  it("admin - GET /healthz reports ok and the registry revision", async () => {
    const { admin, registry, close } = await setup();
    await call(admin, "PUT", "/v1/services/greeter");
    const health = await call(admin, "GET", "/healthz");
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, { status: "ok", revision: registry.view().revision });
    await close();
  });

  it("admin - GET /metrics is Prometheus text with the current registry revision", async () => {
    const { admin, registry, close } = await setup();
    await call(admin, "PUT", "/v1/services/greeter");
    await call(admin, "PUT", "/v1/services/login");
    const metrics = await call(admin, "GET", "/metrics");
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.headers["content-type"]), /^text\/plain/);
    assert.match(metrics.text, new RegExp(`^steadymesh_registry_revision ${registry.view().revision}$`, "m"));
    await close();
  });

  it("admin - GET /v1/clients returns the xDS clients with their ACK and NACK state", async () => {
    const { admin, close } = await setup();
    const clients = await call(admin, "GET", "/v1/clients");
    assert.equal(clients.status, 200);
    assert.deepEqual(clients.json, { clients: [FAKE_CLIENT], total: 1 });
    assert.equal(clients.json.clients[0]?.types.EDS?.lastNack?.errorDetail.message, "endpoints[0].port: must be 1-65535, got 0");
    await close();
  });

  const big = JSON.stringify({ ...GREETER_1, metadata: { pad: "x".repeat(1000) }, padding: "y".repeat(70_000) });
  const badRequests: { name: string; method: string; url: string; body?: unknown; contentType?: string; status: number; error: RegExp }[] = [
    { name: "port 0", method: "PUT", url: "/v1/services/greeter/instances/a2", body: { ...GREETER_1, port: 0 }, status: 400, error: /^port: must be an integer from 1 to 65535, got 0$/ },
    { name: "port 65536", method: "PUT", url: "/v1/services/greeter/instances/a2", body: { ...GREETER_1, port: 65536 }, status: 400, error: /^port: must be an integer from 1 to 65535, got 65536$/ },
    { name: "service name not a DNS label", method: "PUT", url: "/v1/services/Bad_Name/instances/a2", body: GREETER_1, status: 400, error: /^service: must be a DNS label \(\[a-z0-9-\], 1–63 characters.*got "Bad_Name"$/ },
    { name: "instance id not a DNS label", method: "PUT", url: "/v1/services/greeter/instances/-a2", body: GREETER_1, status: 400, error: /^id: must be a DNS label .*got "-a2"$/ },
    { name: "service PUT with a bad name", method: "PUT", url: "/v1/services/a.b", body: {}, status: 400, error: /^service: must be a DNS label .*got "a\.b"$/ },
    { name: "DELETE with a bad name", method: "DELETE", url: "/v1/services/UPPER", status: 400, error: /^service: must be a DNS label/ },
    { name: "bad address", method: "PUT", url: "/v1/services/greeter/instances/a2", body: { ...GREETER_1, address: "300.1.1.1" }, status: 400, error: /^address: must be an IPv4 or IPv6 address, got "300\.1\.1\.1"$/ },
    ...["0.0.0.0", "::", "255.255.255.255", "fe80::1%eth0", "::ffff:1.2.3.4", "::ffff:102:304"].map((address) => ({
      name: `unusable address ${address}`, method: "PUT", url: "/v1/services/greeter/instances/a2", body: { ...GREETER_1, address }, status: 400,
      error: new RegExp(`^address: ${escape(JSON.stringify(address))} (is|has) .*; allowed: a unicast IPv4 or IPv6 address clients can connect to \\(not 0\\.0\\.0\\.0, ::, 255\\.255\\.255\\.255 or multicast; no %zone; IPv4 as a\\.b\\.c\\.d, not ::ffff:a\\.b\\.c\\.d\\)$`),
    })),
    ...[["/v1/services/greeter/instances/a2", "PUT"], ["/v1/services/greeter", "PUT"], ["/v1/generations/1/approve", "POST"]].map(([url, method]) => ({
      name: `30,000 nested brackets on ${method} ${url}`, method: method!, url: url!, body: `${"[".repeat(30_000)}${"]".repeat(30_000)}`, status: 400,
      error: /^body: JSON nested too deeply; at most 32 levels of objects and arrays are allowed$/,
    })),
    { name: "nesting inside a field, with a charset", method: "PUT", url: "/v1/services/greeter/instances/a2", body: `{"metadata":${"{\"a\":".repeat(40)}1${"}".repeat(40)}}`, contentType: "application/json; charset=utf-8", status: 400, error: /^body: JSON nested too deeply/ },
    { name: "every problem at once", method: "PUT", url: "/v1/services/greeter/instances/a2", body: { address: "x", port: "80" }, status: 400, error: /^address: .*; port: must be an integer/ },
    { name: "unknown field", method: "PUT", url: "/v1/services/greeter/instances/a2", body: { ...GREETER_1, colour: "red" }, status: 400, error: /^colour: unknown field; allowed fields are address, port/ },
    { name: "body not an object", method: "PUT", url: "/v1/services/greeter", body: "[1,2]", status: 400, error: /^body: must be a JSON object, got \[1,2\]$/ },
    { name: "malformed JSON", method: "PUT", url: "/v1/services/greeter/instances/a2", body: '{"port":', status: 400, error: /^request body is not valid JSON; it must be a valid JSON object$/ },
    { name: "prototype poisoning", method: "PUT", url: "/v1/services/greeter", body: '{"__proto__":{"x":1}}', status: 400, error: /^request body is not valid JSON/ },
    { name: "empty JSON body", method: "PUT", url: "/v1/services/greeter", body: "", status: 400, error: /^request body is empty but content-type is application\/json; send a JSON object$/ },
    { name: "body too large", method: "PUT", url: "/v1/services/greeter/instances/a2", body: big, status: 413, error: /^request body is too large; the limit is 65536 bytes \(64 KiB\)$/ },
    { name: "wrong content type", method: "PUT", url: "/v1/services/greeter/instances/a2", body: "port=1", contentType: "text/plain", status: 415, error: /^content-type "text\/plain" is not supported; application\/json is required$/ },
    { name: "form content type", method: "PUT", url: "/v1/services/greeter", body: "a=1", contentType: "application/x-www-form-urlencoded", status: 415, error: /application\/json is required$/ },
    { name: "unknown route", method: "GET", url: "/v2/services", status: 404, error: /^no route for GET \/v2\/services; the API serves \/v1\/services, / },
    { name: "wrong method", method: "POST", url: "/v1/services/greeter", body: {}, status: 405, error: /^method POST is not allowed on \/v1\/services\/greeter; allowed: GET, HEAD, PUT, DELETE$/ },
    { name: "bad percent-encoding", method: "GET", url: "/v1/services/%E0%A4%A", status: 400, error: /^URL is not valid: bad percent-encoding/ },
    { name: "bad mtls", method: "PUT", url: "/v1/services/greeter", body: { mtls: "on" }, status: 400, error: /^mtls: must be one of off, permissive, strict, got "on"$/ },
    { name: "bad intentions source", method: "PUT", url: "/v1/services/greeter", body: { intentions: { "Web!": "allow" } }, status: 400, error: /^intentions: source "Web!" is not allowed; a source is a service name/ },
    { name: "bad intentions action", method: "PUT", url: "/v1/services/greeter", body: { intentions: { web: "permit" } }, status: 400, error: /^intentions\.web: must be one of allow, deny, got "permit"$/ },
    { name: "bad intention action", method: "PUT", url: "/v1/services/greeter/intentions/web", body: { action: "maybe" }, status: 400, error: /^action: must be one of allow, deny, got "maybe"$/ },
    { name: "intention without action", method: "PUT", url: "/v1/services/greeter/intentions/web", body: {}, status: 400, error: /^action: is required; must be one of allow, deny$/ },
    { name: "bad intention source", method: "PUT", url: "/v1/services/greeter/intentions/Web_1", body: { action: "deny" }, status: 400, error: /^source: must be a service name .* or "\*" .*, got "Web_1"$/ },
    { name: "absent intention", method: "DELETE", url: "/v1/services/greeter/intentions/web", status: 404, error: /^no intention from "web" to "greeter"$/ },
    { name: "overlong name", method: "PUT", url: `/v1/services/${"a".repeat(200)}`, body: {}, status: 414, error: /path segment is too long; names are DNS labels/ },
  ];

  it("admin - rejects bad input with the right status, a one-line message, and writes nothing", async () => {
    const { admin, registry, close } = await setup();
    await call(admin, "PUT", "/v1/services/greeter/instances/a1", GREETER_1);
    const before = registry.view();
    for (const bad of badRequests) {
      const response = await call(admin, bad.method, bad.url, bad.body, bad.contentType);
      assert.equal(response.status, bad.status, `${bad.name}: ${response.text}`);
      assert.deepEqual(Object.keys(response.json ?? {}), ["error"], `${bad.name}: ${response.text}`);
      assert.match(response.json.error, bad.error, bad.name);
      assert.doesNotMatch(response.json.error, /\n/, bad.name);
      assert.equal(registry.view().revision, before.revision, `${bad.name} changed the registry`);
    }
    assert.equal(registry.view(), before);
    await close();
  });

  it("admin - intentions are set and removed on the destination's record, kept by a PUT service without them, and shown by GET", async () => {
    const { admin, close } = await setup();
    const set = await call(admin, "PUT", "/v1/services/orders/intentions/web", { action: "deny" });
    assert.equal(set.status, 201, set.text);
    assert.deepEqual(set.json.service.intentions, { web: "deny" });
    assert.equal((await call(admin, "PUT", "/v1/services/orders/intentions/*", { action: "allow" })).status, 200);
    assert.equal((await call(admin, "PUT", "/v1/services/orders", { mtls: "strict" })).status, 200);
    const shown = await call(admin, "GET", "/v1/services/orders");
    assert.equal(shown.json.service.mtls, "strict");
    assert.deepEqual(shown.json.service.intentions, { "*": "allow", web: "deny" });
    const removed = await call(admin, "DELETE", "/v1/services/orders/intentions/web");
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(removed.json.service.intentions, { "*": "allow" });
    assert.equal((await call(admin, "PUT", "/v1/services/orders", { intentions: {} })).status, 200);
    const cleared = await call(admin, "GET", "/v1/services/orders");
    assert.equal(cleared.json.service.intentions, undefined);
    assert.equal(cleared.json.service.mtls, "off", "a PUT without mtls sets the default");
    await close();
  });

  it("admin - answers 405 with an Allow header when the path exists under other methods", async () => {
    const { admin, close } = await setup();
    const response = await call(admin, "DELETE", "/v1/clients");
    assert.equal(response.status, 405);
    assert.equal(response.headers.allow, "GET, HEAD");
    assert.deepEqual(response.json, { error: "method DELETE is not allowed on /v1/clients; allowed: GET, HEAD" });
    await close();
  });

  it("admin - honours a custom body limit in the 413 message", async () => {
    const { admin, close } = await setup({ bodyLimit: 100 });
    const response = await call(admin, "PUT", "/v1/services/greeter", { metadata: { pad: "x".repeat(200) } });
    assert.equal(response.status, 413);
    assert.deepEqual(response.json, { error: "request body is too large; the limit is 100 bytes" });
    await close();
  });

  it("admin - maps an unavailable store to 503 and hides unexpected errors behind a generic 500", async () => {
    let failure: Error = new UnavailableError("store is unavailable: etcd cluster has no leader");
    const { admin, registry, close } = await setup({
      registry: (real) => ({ ...real, putInstance: async () => Promise.reject(failure) }),
    });
    const unavailable = await call(admin, "PUT", "/v1/services/greeter/instances/a1", GREETER_1);
    assert.equal(unavailable.status, 503);
    assert.deepEqual(unavailable.json, { error: "store is unavailable: etcd cluster has no leader" });
    failure = new Error("SQLITE_CORRUPT: database disk image is malformed at /secret/path");
    const internal = await call(admin, "PUT", "/v1/services/greeter/instances/a1", GREETER_1);
    assert.equal(internal.status, 500);
    assert.deepEqual(internal.json, { error: "internal error while handling the request; see the server log" });
    assert.equal(registry.view().revision, 0);
    await close();
  });

  it("admin - listens on a real port when 0 is asked for, serves HTTP, and closes idempotently", async () => {
    const { admin, close } = await setup();
    const address = await admin.listen("127.0.0.1", 0);
    assert.equal(address.host, "127.0.0.1");
    assert.ok(address.port > 0);
    const response = await fetch(`http://127.0.0.1:${address.port}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ok", revision: 0 });
    await admin.close();
    await close();
  });
});
