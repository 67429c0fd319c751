/**
 * The web console's data routes and live events (console contract A and B)
 * over the real admin server: JSON routes through inject, /v1/events over a
 * real loopback socket.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createAdminServer, type AdminDeps, type AdminServer } from "../../src/admin/admin-server.js";
import { MAX_UNSENT_BYTES, NACKS_PER_SECOND, PING_EVERY_MS } from "../../src/admin/event-routes.js";
import { createTokenAuthority } from "../../src/auth/index.js";
import { SortedMap } from "../../src/collections/index.js";
import { createZone, serviceNames } from "../../src/dns/index.js";
import { locate } from "../../src/dns/zone.js";
import { createEventHub, type EventHub } from "../../src/events/index.js";
import type { LastCheck } from "../../src/health/index.js";
import { createLogger } from "../../src/log/index.js";
import { createMetrics, type Metrics } from "../../src/metrics/index.js";
import { ENDPOINT_TYPE } from "../../src/proto/index.js";
import { createMemoryStore, createRegistry, type Registry, type RegistryView, type ServiceEntry } from "../../src/registry/index.js";
import type { ClientReply, ClientStatus } from "../../src/xds/index.js";
import { tempDir } from "../helpers/control-plane.js";
import { openEvents } from "../helpers/event-stream.js";
import { createFakeClock, type FakeClock } from "../helpers/fake-clock.js";
import { entry } from "../helpers/registry-view.js";
import { createFakeGenerations, sampleGenerations } from "./generation-fixtures.js";

const logger = createLogger({ level: "silent" });

interface Setup {
  readonly admin: AdminServer;
  readonly registry: Registry;
  readonly hub: EventHub;
  readonly clock: FakeClock;
  readonly metrics: Metrics;
  get(url: string): Promise<{ status: number; json: any; body: string }>;
  close(): Promise<void>;
}

function client(streamId: string, subscribed: Record<string, string[]>, protocol: "sotw" | "delta" = "sotw"): ClientStatus {
  const types: ClientStatus["types"] = Object.fromEntries(
    Object.entries(subscribed).map(([type, names]) => [type, { typeUrl: type, subscribed: names, sentVersion: "v2", sentNonce: "1", ackedVersion: "v2", ackedGeneration: 2 }]),
  );
  return { streamId, nodeId: `node-${streamId}`, cluster: "", metadata: {}, userAgent: "grpc-node-js 1.14.7", peer: "127.0.0.1:1", connectedAt: "2026-01-01T00:00:00.000Z", protocol, types };
}

async function setup(extra: Partial<AdminDeps> = {}): Promise<Setup> {
  const backend = createMemoryStore();
  const registry = await createRegistry(backend);
  const clock = createFakeClock(Date.parse("2026-01-01T00:00:00.000Z"));
  const clients = [client("s1", { LDS: ["greeter"], EDS: ["greeter/v2"] }), client("s2", { CDS: ["*"] }, "delta"), client("s3", { LDS: ["orders"] })];
  const hub = createEventHub({ registry, clock, logger, clientCounts: () => ({ connected: 3, sotw: 2, delta: 1 }) });
  const metrics = createMetrics({ processMetrics: false });
  const checks = new Map<string, LastCheck>([["a", { at: clock.now(), ok: true, detail: "grpc SERVING", kind: "grpc" }]]);
  const admin = createAdminServer({
    auth: { required: false, authority: createTokenAuthority({ tokens: backend.tokens, clock }) },
    registry,
    clients: { list: () => clients },
    metrics,
    generations: createFakeGenerations(sampleGenerations()),
    builds: { failure: () => undefined, failures: () => [] },
    logger,
    events: hub,
    clock,
    checks: { lastChecks: (service) => (service === "greeter" ? checks : new Map()) },
    dnsDomain: "mesh",
    ...extra,
  });
  return {
    admin, registry, hub, clock, metrics,
    async get(url) {
      const response = await admin.inject({ method: "GET", url });
      return { status: response.statusCode, json: response.body.startsWith("{") ? JSON.parse(response.body) : undefined, body: response.body };
    },
    async close() {
      await admin.close();
      hub.stop();
      await registry.close();
    },
  };
}

describe("admin console routes", () => {
  it("console - GET /v1/overview: counts, clients, NACKs of the hour, newest generation and what is held", async () => {
    const s = await setup();
    try {
      await s.registry.putInstance("greeter", "a", { address: "127.0.0.1", port: 1 });
      await s.registry.putInstance("greeter", "b", { address: "127.0.0.1", port: 2, health: "draining" });
      await s.registry.putService("orders", {});
      s.hub.onReply({ streamId: "s1", node: { id: "n1" } as ClientReply["node"], typeUrl: ENDPOINT_TYPE, nack: { code: 3, message: "bad port" } });
      const { status, json } = await s.get("/v1/overview");
      assert.equal(status, 200);
      assert.deepEqual(json, {
        revision: s.registry.view().revision,
        services: 2,
        instances: { healthy: 1, unhealthy: 0, unknown: 0, draining: 1, total: 2 },
        clients: { connected: 3, sotw: 2, delta: 1 },
        nacksLastHour: 1,
        newestGeneration: { id: 6, status: "canary", createdAt: "2024-01-01T00:06:00.000Z", reason: "canary: baking on 1 client until 2024-01-01T00:06:30.000Z" },
        held: [{ id: 3, reason: "held: removes 9 of 10 endpoints of greeter (90% > 50%)" }, { id: 5, reason: "held: canary canary-1 NACKed EDS" }],
        buildFailures: 0,
      });
      const bad = await s.get("/v1/overview?x=1");
      assert.deepEqual([bad.status, bad.json], [400, { error: "x: unknown query parameter; this route takes none" }]);
    } finally {
      await s.close();
    }
  });

  it("console - GET /v1/services?view=summary&q=: counts, policy and mtls per service, matched, paging by after", async () => {
    const s = await setup();
    try {
      for (const name of ["alpha-api", "beta-api", "gamma", "delta-api"]) await s.registry.putService(name, {});
      await s.registry.putInstance("beta-api", "b1", { address: "127.0.0.1", port: 1 });
      await s.registry.putInstance("beta-api", "b2", { address: "127.0.0.1", port: 2, health: "unhealthy" });
      const first = await s.get("/v1/services?view=summary&q=api&limit=2");
      assert.equal(first.status, 200);
      assert.deepEqual(first.json.services.map((x: { name: string }) => x.name), ["alpha-api", "beta-api"]);
      assert.deepEqual(first.json.services[1], { name: "beta-api", instances: { healthy: 1, unhealthy: 1, unknown: 0, draining: 0, total: 2 }, policy: false, mtls: "off" });
      assert.equal(first.json.matched, 3);
      assert.equal(first.json.next, "beta-api");
      const second = await s.get(`/v1/services?view=summary&q=api&limit=2&after=${first.json.next}`);
      assert.deepEqual(second.json.services.map((x: { name: string }) => x.name), ["delta-api"]);
      assert.equal(second.json.next, undefined);
      // Without view=summary the answer is as before, q filtering it.
      const full = await s.get("/v1/services?q=gam");
      assert.deepEqual(Object.keys(full.json).sort(), ["revision", "services"]);
      assert.deepEqual(full.json.services.map((x: { name: string; lbPolicy: string }) => [x.name, x.lbPolicy]), [["gamma", "round_robin"]]);
      const bad = await s.get("/v1/services?view=table&q=Not%20A%20Name");
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error, 'q: must be part of a service name: up to 63 of a-z, 0-9 and -, got "Not A Name"; view: must be one of full, summary, got "table"');
    } finally {
      await s.close();
    }
  });

  it("console - service history, clients, DNS names and checks; 400 for a bad name, 404 for an unknown service", async () => {
    const s = await setup();
    try {
      await s.registry.putInstance("greeter", "a", { address: "127.0.0.1", port: 1 });
      s.clock.advance(2000);
      await s.registry.putInstance("greeter", "b", { address: "127.0.0.1", port: 2 });
      const history = await s.get("/v1/services/greeter/history");
      assert.deepEqual(history.json, {
        service: "greeter",
        samples: [
          { at: "2026-01-01T00:00:00.000Z", healthy: 1, unhealthy: 0, unknown: 0, draining: 0 },
          { at: "2026-01-01T00:00:02.000Z", healthy: 2, unhealthy: 0, unknown: 0, draining: 0 },
        ],
      });
      const clients = await s.get("/v1/services/greeter/clients");
      assert.deepEqual(clients.json.clients.map((c: { streamId: string }) => c.streamId), ["s1", "s2"], "s1 names it, s2 watches every cluster, s3 does not");
      assert.equal(clients.json.total, 2);
      assert.deepEqual(clients.json.clients[0], { streamId: "s1", nodeId: "node-s1", protocol: "sotw", userAgent: "grpc-node-js 1.14.7", types: { LDS: { ackedVersion: "v2", ackedGeneration: 2 }, EDS: { ackedVersion: "v2", ackedGeneration: 2 } } });
      const dns = await s.get("/v1/services/greeter/dns");
      assert.deepEqual(dns.json, { service: "greeter", domain: "mesh", names: [{ name: "greeter.service.mesh.", type: "A" }, { name: "_greeter._tcp.service.mesh.", type: "SRV" }] });
      const checks = await s.get("/v1/services/greeter/checks");
      assert.deepEqual(checks.json, { service: "greeter", checks: { a: { at: "2026-01-01T00:00:00.000Z", ok: true, detail: "grpc SERVING", kind: "grpc" } } });
      for (const route of ["history", "clients", "dns", "checks"]) {
        const missing = await s.get(`/v1/services/nothing/${route}`);
        assert.deepEqual([missing.status, missing.json], [404, { error: 'service "nothing" not found' }], route);
        const bad = await s.get(`/v1/services/Bad_Name/${route}`);
        assert.equal(bad.status, 400, route);
        assert.match(bad.json.error, /^service: must be a service name \(a DNS label/, route);
        assert.equal(bad.body.split("\n").length, 1);
      }
    } finally {
      await s.close();
    }
  });

  it("console - DNS names come from the zone's naming: subsets included, each one located back to the service", () => {
    const zone = createZone({ domain: "svc.example", ttlSeconds: 5 });
    const login: ServiceEntry = { ...entry("login", [{ id: "a" }, { id: "v3" }]) };
    const withPolicy: ServiceEntry = { ...login, service: { ...login.service, policy: { subsets: [{ name: "v1", match: { version: "1" } }, { name: "v3", match: { version: "3" } }], routes: [] } } };
    const names = serviceNames(withPolicy, zone);
    // v3 is shadowed by the instance of that id (the instance wins), so it is not listed.
    assert.deepEqual(names.map((n) => `${n.type} ${n.name}`), [
      "A login.service.svc.example.",
      "SRV _login._tcp.service.svc.example.",
      "A v1.login.service.svc.example.",
      "SRV _v1._tcp.login.service.svc.example.",
    ]);
    const view: RegistryView = { revision: 1, services: new Map([["login", withPolicy]]) };
    for (const { name } of names) {
      const node = locate(name, zone, view);
      assert.ok(node.kind === "service" || node.kind === "srv" || node.kind === "subset" || node.kind === "subset-srv", `${name}: ${node.kind}`);
    }
  });

  it("console - GET /v1/generations/{id}/acks: per-stream first ACKs with ms since the push; 400, 404 and expired", async () => {
    const s = await setup();
    try {
      const pushedAt = s.clock.now();
      s.hub.onGeneration({ ...sampleGenerations()[1]!, history: [{ at: new Date(pushedAt).toISOString(), status: "pushed", detail: "passed" }] });
      s.clock.advance(35);
      s.hub.onReply({ streamId: "s1", node: { id: "n1" } as ClientReply["node"], typeUrl: ENDPOINT_TYPE, tag: 2 });
      const acks = await s.get("/v1/generations/2/acks");
      assert.deepEqual(acks.json, { generation: 2, pushedAt: "2026-01-01T00:00:00.000Z", acked: 1, clients: 3, acks: [{ streamId: "s1", nodeId: "n1", at: "2026-01-01T00:00:00.035Z", ms: 35, initial: false }] });
      const none = await s.get("/v1/generations/1/acks");
      assert.deepEqual(none.json, { generation: 1, pushedAt: null, acked: 0, clients: 3, acks: [] });
      for (let id = 3; id <= 70; id++) s.hub.onGeneration({ ...sampleGenerations()[1]!, id });
      const expired = await s.get("/v1/generations/2/acks");
      assert.deepEqual(expired.json, { generation: 2, pushedAt: null, acked: 0, clients: 3, acks: [], expired: true });
      assert.deepEqual((await s.get("/v1/generations/99/acks")).json, { error: "generation 99 not found" });
      const bad = await s.get("/v1/generations/x/acks");
      assert.deepEqual([bad.status, bad.json], [400, { error: 'id: must be a positive integer generation id, got "x"' }]);
    } finally {
      await s.close();
    }
  });

  it("console - GET /v1/lab-reports: report directories with their verdicts; bad report.json listed as unreadable; missing dir is empty", async () => {
    const dir = await tempDir("steadymesh-lab-reports-");
    const s = await setup({ labReportsDir: dir.path });
    const none = await setup({ labReportsDir: join(dir.path, "not-there") });
    try {
      await mkdir(join(dir.path, "spotify-2022-03-08"));
      await writeFile(join(dir.path, "spotify-2022-03-08", "report.json"), JSON.stringify({ scenario: "spotify-2022-03-08", verdict: "pass" }));
      await writeFile(join(dir.path, "spotify-2022-03-08", "report.html"), "<html></html>");
      await mkdir(join(dir.path, "broken"));
      await writeFile(join(dir.path, "broken", "report.json"), "{ not json");
      await mkdir(join(dir.path, "empty"));
      await writeFile(join(dir.path, "stray.txt"), "x");
      const { json } = await s.get("/v1/lab-reports");
      assert.equal(json.dir, dir.path);
      const byName = Object.fromEntries(json.reports.map((r: { name: string }) => [r.name, r]));
      assert.deepEqual(Object.keys(byName).sort(), ["broken", "spotify-2022-03-08"]);
      assert.deepEqual({ ...byName["spotify-2022-03-08"], finishedAt: undefined }, { name: "spotify-2022-03-08", scenario: "spotify-2022-03-08", verdict: "pass", finishedAt: undefined, files: ["report.html", "report.json"] });
      assert.match(byName["spotify-2022-03-08"].finishedAt, /^\d{4}-\d\d-\d\dT/);
      assert.equal(byName.broken.verdict, "unreadable");
      assert.deepEqual((await none.get("/v1/lab-reports")).json, { dir: join(dir.path, "not-there"), reports: [] });
    } finally {
      await s.close();
      await none.close();
      await dir.cleanup();
    }
  });

  it("console - without an event hub the console routes answer 404 and say why", async () => {
    const s = await setup({ events: undefined });
    try {
      const { status, json } = await s.get("/v1/overview");
      assert.equal(status, 404);
      assert.match(json.error, /keeps no console data/);
      // The summary still counts, from the page's own instances.
      await s.registry.putInstance("greeter", "a", { address: "127.0.0.1", port: 1 });
      assert.equal((await s.get("/v1/services?view=summary")).json.services[0].instances.healthy, 1);
    } finally {
      await s.close();
    }
  });

  it("console - with 10,000 services, /v1/overview and a summary page answer fast (reported, not asserted tightly)", async () => {
    const services = SortedMap.of(Array.from({ length: 10_000 }, (_, i) => {
      const name = `svc-${String(i).padStart(5, "0")}`;
      return [name, entry(name, [{ id: "a" }, { id: "b", health: "unhealthy" }, { id: "c" }])] as const;
    }));
    const view: RegistryView = { revision: 10_000, services };
    const registry = { view: () => view, subscribe: () => () => undefined } as unknown as Registry;
    const clock = createFakeClock(0);
    const hub = createEventHub({ registry, clock, logger, clientCounts: () => ({ connected: 0, sotw: 0, delta: 0 }) });
    const backend = createMemoryStore();
    const admin = createAdminServer({
      auth: { required: false, authority: createTokenAuthority({ tokens: backend.tokens, clock }) },
      registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), generations: createFakeGenerations(sampleGenerations()), logger, events: hub,
    });
    try {
      const time = async (url: string) => {
        await admin.inject(url);
        const started = performance.now();
        const response = await admin.inject(url);
        return { ms: performance.now() - started, json: response.json() };
      };
      const overview = await time("/v1/overview");
      assert.equal(overview.json.services, 10_000);
      assert.equal(overview.json.instances.total, 30_000);
      const page = await time("/v1/services?view=summary&q=svc-09&limit=50");
      assert.equal(page.json.services.length, 50);
      assert.equal(page.json.matched, 1000);
      console.log(`# 10,000 services: GET /v1/overview ${overview.ms.toFixed(1)} ms; GET /v1/services?view=summary&q=svc-09&limit=50 ${page.ms.toFixed(1)} ms`);
      assert.ok(overview.ms < 1000 && page.ms < 1000, "well under a second each");
    } finally {
      await admin.close();
      hub.stop();
    }
  });
});

describe("admin console events", () => {
  it("console - /v1/events over a socket: retry and hello, registry events with increasing ids, pings, and close() ends the stream", async () => {
    const s = await setup();
    const { port } = await s.admin.listen("127.0.0.1", 0);
    const stream = await openEvents(port);
    try {
      assert.equal(stream.response.statusCode, 200);
      assert.match(String(stream.response.headers["content-type"]), /^text\/event-stream/);
      const hello = await stream.next("hello");
      assert.deepEqual(hello, { revision: s.registry.view().revision, generation: null, at: "2026-01-01T00:00:00.000Z" });
      assert.match(stream.raw(), /^retry: 2000\n\n/);
      await s.registry.putInstance("greeter", "a", { address: "127.0.0.1", port: 1 });
      const registry = await stream.next("registry");
      assert.deepEqual(registry.changes.at(-1), { kind: "instance-put", service: "greeter", id: "a", health: "healthy" });
      assert.equal(registry.revision, s.registry.view().revision);
      s.clock.advance(PING_EVERY_MS);
      await waitUntil(() => stream.raw().includes(": ping\n\n"));
      const ids = stream.events().map((e) => e.id);
      assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!), `ids increase: ${ids.join(",")}`);
      assert.match(await s.metrics.registry.getSingleMetricAsString("steadymesh_event_streams"), /^steadymesh_event_streams 1$/m);
      const started = Date.now();
      await s.admin.close();
      await stream.ended;
      assert.ok(Date.now() - started < 2000, `close took ${Date.now() - started} ms`);
      assert.match(await s.metrics.registry.getSingleMetricAsString("steadymesh_event_streams"), /^steadymesh_event_streams 0$/m);
    } finally {
      stream.response.destroy();
      await s.close();
    }
  });

  it("console - /v1/events: past the open-stream limit one more gets 503 with Retry-After; once one closes, a new one opens", async () => {
    const s = await setup({ maxEventStreams: 2 });
    const { port } = await s.admin.listen("127.0.0.1", 0);
    const first = await openEvents(port);
    const second = await openEvents(port);
    let third: Awaited<ReturnType<typeof openEvents>> | undefined;
    let fourth: Awaited<ReturnType<typeof openEvents>> | undefined;
    try {
      await first.next("hello");
      await second.next("hello");
      third = await openEvents(port);
      assert.equal(third.response.statusCode, 503);
      assert.equal(third.response.headers["retry-after"], "5");
      await third.ended;
      assert.deepEqual(JSON.parse(third.raw()), { error: "too many open event streams (2): close one, or retry later" });
      first.response.destroy();
      await first.ended;
      await waitUntil(async () => /^steadymesh_event_streams 1$/m.test(await s.metrics.registry.getSingleMetricAsString("steadymesh_event_streams")));
      fourth = await openEvents(port);
      assert.equal(fourth.response.statusCode, 200);
      await fourth.next("hello");
    } finally {
      for (const stream of [first, second, third, fourth]) stream?.response.destroy();
      await s.close();
    }
  });

  it("console - /v1/events: at most 20 NACK events per second per connection, the rest counted in the next one's dropped", async () => {
    const s = await setup();
    const { port } = await s.admin.listen("127.0.0.1", 0);
    const stream = await openEvents(port);
    try {
      await stream.next("hello");
      const nack = (i: number) => s.hub.onReply({ streamId: `s${i}`, node: { id: `n${i}` } as ClientReply["node"], typeUrl: ENDPOINT_TYPE, nack: { code: 3, message: `bad ${i}` } });
      for (let i = 0; i < NACKS_PER_SECOND + 5; i++) nack(i);
      s.clock.advance(1000);
      nack(99);
      const last = await stream.next("nack");
      await waitUntil(() => stream.events().filter((e) => e.event === "nack").length === NACKS_PER_SECOND + 1);
      const nacks = stream.events().filter((e) => e.event === "nack").map((e) => e.data);
      assert.equal(nacks.length, NACKS_PER_SECOND + 1);
      assert.equal(nacks[0].errorDetail.message, "bad 0");
      assert.deepEqual(nacks.at(-1), { streamId: "s99", nodeId: "n99", type: "EDS", errorDetail: { code: 3, message: "bad 99" }, dropped: 5 });
      assert.ok(last);
    } finally {
      stream.response.destroy();
      await s.close();
    }
  });

  it("console - /v1/events: a reader that stops reading is cut off once 1 MiB waits for it", async () => {
    const s = await setup();
    const { port } = await s.admin.listen("127.0.0.1", 0);
    const stream = await openEvents(port);
    try {
      await stream.next("hello");
      stream.response.pause();
      const big = "x".repeat(1000);
      // Each NACK event carries ~1 KB; spread over seconds so the NACK limit passes them all.
      let sent = 0;
      for (let second = 0; second < 1000 && sent * 1000 < 20 * MAX_UNSENT_BYTES; second++) {
        for (let i = 0; i < NACKS_PER_SECOND; i++, sent++) s.hub.onReply({ streamId: "s1", node: { id: "n" } as ClientReply["node"], typeUrl: ENDPOINT_TYPE, nack: { code: 3, message: big } });
        s.clock.advance(1000);
        await new Promise((r) => setImmediate(r));
      }
      stream.response.resume();
      await stream.ended;
      const received = stream.events().filter((e) => e.event === "nack").length;
      assert.ok(received < sent, `the slow reader got ${received} of ${sent} events before the cut`);
    } finally {
      stream.response.destroy();
      await s.close();
    }
  });
});

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
