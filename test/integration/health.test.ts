import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { main } from "../../src/cli/index.js";
import { buildBootstrap } from "../../src/xds/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { dig } from "../helpers/dig.js";
import { spawnBackend, type BackendProcess } from "../helpers/greeter.js";
import { startClientProcess, type ClientProcess } from "../helpers/grpc-client.js";
import { captureIo } from "../helpers/io.js";
import { spawnCli } from "../helpers/serve-process.js";

/**
 * Issue 6's health acceptance with real processes and sockets: gRPC, HTTP
 * and TCP checks, TTL heartbeats through the CLI, a stock grpc-js-xds client
 * and dig. The push guard runs with its defaults: the gRPC service has three
 * instances, so one going unhealthy (a third of its endpoints) is pushed, not
 * held; the other services are watched through the admin API and DNS, which
 * the guard does not touch.
 */
const TARGET = "xds:///greeter";
const INTERVAL_MS = 1000;
const TIMEOUT_MS = 500;
const CHECK = { kind: "grpc", intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS, unhealthyThreshold: 2, healthyThreshold: 2 };
/** Two failed checks (each at most interval + 10% jitter after the last, plus its timeout), the push, and room for a busy machine. */
const DETECT_MS = 2 * (INTERVAL_MS * 1.1 + TIMEOUT_MS) + 1500;
const TTL_GRACE_MS = 2000;

let cp: TestControlPlane;
let client: ClientProcess;
const backends = new Map<string, BackendProcess>();

before(async () => {
  cp = await startControlPlane({ ttlGraceMs: TTL_GRACE_MS });
  const started = await Promise.all(["b1", "b2", "b3"].map((id) => spawnBackend(id, { healthServices: ["greeter"] })));
  for (const backend of started) backends.set(backend.id, backend);
  await api("PUT", "/v1/services/greeter", { healthCheck: CHECK });
  for (const backend of started) await cp.register("greeter", backend.id, backend.port);
  client = startClientProcess({ bootstrap: buildBootstrap({ nodeId: "health-test", xds: [`127.0.0.1:${cp.xds.port}`] }) });
});

after(async () => {
  await client?.stop();
  await Promise.all([...backends.values()].map((b) => b.kill()));
  await cp?.close();
});

async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await cp.api(method, path, body);
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const healthOf = async (service: string, id: string): Promise<string | undefined> =>
  (await cp.api("GET", `/v1/services/${service}`)).body?.service?.instances.find((i: { id: string }) => i.id === id)?.health;

/** Polls (every 50 ms) until `done` holds; fails after `ms`. Returns how long it took. */
async function waitFor(what: string, done: () => Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now();
  while (!(await done())) {
    assert.ok(Date.now() - start < ms, `${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - start;
}

/** Ports of the SRV records DNS serves for a service: its healthy instances. */
async function srvPorts(service: string): Promise<number[]> {
  const answer = await dig(cp.dns.port, [`_${service}._tcp.service.mesh`, "SRV"]);
  return answer.answer.map((r) => Number(r.data.split(" ")[2])).sort((a, b) => a - b);
}

const portOf = (id: string) => backends.get(id)!.port;
const allPorts = () => ["b1", "b2", "b3"].map(portOf).sort((a, b) => a - b);

/** Backends that answered `count` RPCs in a row, all of which must succeed. */
async function servedBy(count: number): Promise<Set<string>> {
  const results = await client.call(TARGET, count);
  assert.ok(results.every((r) => r.ok), JSON.stringify(results));
  return new Set(results.map((r) => (r.ok ? r.backend : "")));
}

test("health - a SIGKILLed backend leaves EDS and DNS within the thresholds, and returns when started again", async (t) => {
  for (const id of ["b1", "b2", "b3"]) await client.callUntil(TARGET, (r) => r.ok && r.backend === id);
  assert.deepEqual(await srvPorts("greeter"), allPorts());
  const port = portOf("b2");
  await backends.get("b2")!.kill();
  const detected = await waitFor("b2 unhealthy", async () => (await healthOf("greeter", "b2")) === "unhealthy", DETECT_MS);
  t.diagnostic(`unhealthy ${detected} ms after SIGKILL (limit ${DETECT_MS} ms)`);
  await waitFor("b2 out of DNS", async () => !(await srvPorts("greeter")).includes(port), 1000);
  // Left out of EDS: every RPC succeeds, on the two live backends.
  await client.callUntil(TARGET, (r) => r.ok);
  assert.deepEqual([...(await servedBy(30))].sort(), ["b1", "b3"]);

  backends.set("b2", await spawnBackend("b2", { port, healthServices: ["greeter"] }));
  const returned = await waitFor("b2 healthy", async () => (await healthOf("greeter", "b2")) === "healthy", DETECT_MS);
  t.diagnostic(`healthy ${returned} ms after its restart`);
  assert.deepEqual(await srvPorts("greeter"), allPorts());
  const back = await client.callUntil(TARGET, (r) => r.ok && r.backend === "b2", 5000);
  assert.deepEqual(back, { ok: true, backend: "b2" });
});

test("health - a backend whose gRPC health says NOT_SERVING leaves EDS although it still answers, and comes back on SERVING", async () => {
  await backends.get("b1")!.setServing("NOT_SERVING");
  await waitFor("b1 unhealthy", async () => (await healthOf("greeter", "b1")) === "unhealthy", DETECT_MS);
  // Only EDS keeps the client away from b1: its Greeter is still up.
  await client.callUntil(TARGET, (r) => r.ok && r.backend !== "b1");
  await waitFor("b1 out of the client's picks", async () => !(await servedBy(6)).has("b1"), 3000);
  assert.deepEqual([...(await servedBy(30))].sort(), ["b2", "b3"]);
  await backends.get("b1")!.setServing("SERVING");
  await waitFor("b1 healthy", async () => (await healthOf("greeter", "b1")) === "healthy", DETECT_MS);
  await client.callUntil(TARGET, (r) => r.ok && r.backend === "b1", 5000);
  const metrics = await (await fetch(`${cp.adminUrl}/metrics`, { headers: cp.headers() })).text();
  assert.match(metrics, /^steadymesh_health_transitions_total\{to="unhealthy"\} 2$/m);
  assert.match(metrics, /^steadymesh_health_checks_total\{kind="grpc",result="fail"\} \d+$/m);
});

/** An HTTP server whose /healthz answers 200 or 503, as the test says. */
async function startHttpBackend(): Promise<{ server: HttpServer; port: number; setStatus(code: number): void }> {
  let status = 200;
  const server = createHttpServer((req, res) => res.writeHead(req.url === "/healthz" ? status : 404).end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port, setStatus: (code) => void (status = code) };
}

test("health - an http check: non-2xx from the path makes an instance unhealthy, 2xx healthy again", async () => {
  const [good, flaky] = await Promise.all([startHttpBackend(), startHttpBackend()]);
  try {
    await api("PUT", "/v1/services/web", { protocol: "http", healthCheck: { ...CHECK, kind: "http", path: "/healthz" } });
    await cp.register("web", "good", good.port);
    await cp.register("web", "flaky", flaky.port);
    flaky.setStatus(503);
    await waitFor("flaky unhealthy", async () => (await healthOf("web", "flaky")) === "unhealthy", DETECT_MS);
    assert.deepEqual(await srvPorts("web"), [good.port]);
    flaky.setStatus(204);
    await waitFor("flaky healthy", async () => (await healthOf("web", "flaky")) === "healthy", DETECT_MS);
    assert.equal(await healthOf("web", "good"), "healthy");
  } finally {
    await api("DELETE", "/v1/services/web");
    good.server.close();
    flaky.server.close();
  }
});

test("health - a tcp check: a closed port makes an instance unhealthy, listening again healthy", async () => {
  const listen = (server: TcpServer, port: number) => new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  let server = createTcpServer((socket) => socket.end());
  await listen(server, 0);
  const port = (server.address() as { port: number }).port;
  try {
    await api("PUT", "/v1/services/db", { protocol: "tcp", healthCheck: { ...CHECK, kind: "tcp" } });
    await cp.register("db", "d1", port);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await waitFor("d1 unhealthy", async () => (await healthOf("db", "d1")) === "unhealthy", DETECT_MS);
    server = createTcpServer((socket) => socket.end());
    await listen(server, port);
    await waitFor("d1 healthy", async () => (await healthOf("db", "d1")) === "healthy", DETECT_MS);
  } finally {
    await api("DELETE", "/v1/services/db");
    server.close();
  }
});

test("health - a TTL instance renewed by `steadymesh heartbeat --every` stays healthy; once stopped it turns unhealthy, then is removed", async () => {
  const io = captureIo();
  const registered = await main(["node", "steadymesh", "register", "batch", "--address", "127.0.0.1", "--port", "7000", "--id", "t1", "--ttl-ms", "1500", ...cp.cliArgs], io);
  assert.equal(registered, 0, io.err());
  const heartbeat = spawnCli(["heartbeat", "batch", "t1", "--every", "400", "--admin", cp.adminUrl, "--token-file", cp.adminTokenFile]);
  const exited = new Promise<number | null>((resolve) => heartbeat.once("exit", resolve));
  const out: string[] = [];
  createInterface({ input: heartbeat.stdout! }).on("line", (line) => out.push(line));
  try {
    // The baseline is taken once the CLI renews: on a loaded machine its process may start after the first TTL ran out,
    // and the expiry and the renewal that heals it are real revisions. From then on, renewals must not add any.
    await waitFor("the first renewal", async () => out.length > 0 && (await healthOf("batch", "t1")) === "healthy", 10_000);
    const revision = (await api("GET", "/v1/services")).revision;
    await new Promise((resolve) => setTimeout(resolve, 3000)); // two TTLs, renewed all along
    assert.equal(await healthOf("batch", "t1"), "healthy");
    assert.equal((await api("GET", "/v1/services")).revision, revision, "heartbeats do not change the revision");
    assert.deepEqual((await dig(cp.dns.port, ["batch.service.mesh", "A"])).answer.map((r) => r.data), ["127.0.0.1"]);
  } finally {
    // On a failure too: a heartbeat process left running would keep renewing and keep this file's process alive.
    heartbeat.kill("SIGINT");
  }
  assert.equal(await exited, 0);
  assert.match(out.at(-1) ?? "", /^stopped renewing batch\/t1: \d+ renewed, 0 failed$/);
  const renewals = Number(/: (\d+) renewed/.exec(out.at(-1)!)![1]);
  assert.ok(renewals >= 7, `${renewals} renewals in about 3 s at 400 ms`);

  await waitFor("t1 unhealthy", async () => (await healthOf("batch", "t1")) === "unhealthy", 1500 + 1500);
  assert.deepEqual((await dig(cp.dns.port, ["batch.service.mesh", "A"])).answer, []);
  await waitFor("t1 removed", async () => (await healthOf("batch", "t1")) === undefined, TTL_GRACE_MS + 1500);
  const gone = await cp.api("PUT", "/v1/services/batch/instances/t1/heartbeat");
  assert.deepEqual([gone.status, gone.body], [404, { error: `instance "t1" not found in service "batch"` }]);
});
