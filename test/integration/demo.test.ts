import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { buildBootstrap } from "../../src/xds/index.js";
import { DemoStartError, spawnDemo, type DemoProcess, type DemoSpawnOptions, type DiscoveryMode } from "../../src/demo/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

/**
 * The demo backend as real processes against an in-process steadymesh:
 * accounts, two logins (one finds accounts through steady:, one through
 * DNS), playback, and one gateway per discovery mode.
 */
const MODES: readonly DiscoveryMode[] = ["xds", "steady", "dns"];
const GRPC_CODES = new Set(Object.keys(grpc.status).filter((k) => Number.isNaN(Number(k))));

let cp: TestControlPlane;
let common: Omit<DemoSpawnOptions, "id">;
const procs = new Map<string, DemoProcess>();
const gateways = new Map<DiscoveryMode, DemoProcess>();

async function start(kind: Parameters<typeof spawnDemo>[0], options: DemoSpawnOptions): Promise<DemoProcess> {
  const proc = await spawnDemo(kind, { ...common, ...options });
  procs.set(options.id, proc);
  return proc;
}

before(async () => {
  cp = await startControlPlane();
  common = {
    admin: cp.adminUrl,
    adminTokenFiles: [cp.adminTokenFile],
    xds: [`127.0.0.1:${cp.xds.port}`],
    dnsServer: `127.0.0.1:${cp.dns.port}`,
    dnsRefreshMs: 500,
    env: { ...process.env, STEADYMESH_LOG_LEVEL: "warn" },
  };
  await Promise.all([
    start("accounts", { id: "accounts-1", users: 20 }),
    start("playback", { id: "playback-1" }),
    start("login", { id: "login-a" }),
    start("login", { id: "login-b", discovery: "dns" }),
  ]);
  const bootstrap = buildBootstrap({ nodeId: "gw-xds", xds: [`127.0.0.1:${cp.xds.port}`] });
  await Promise.all(
    MODES.map(async (mode) => gateways.set(mode, await start("gateway", { id: `gw-${mode}`, discovery: mode, ...(mode === "xds" && { bootstrap }) }))),
  );
});

after(async () => {
  await Promise.all([...procs.values()].map((p) => p.kill()));
  await cp?.close();
});

async function http(gateway: DemoProcess, method: string, path: string, init: { body?: unknown; token?: string } = {}) {
  const res = await fetch(`http://127.0.0.1:${gateway.port}${path}`, {
    method,
    headers: { ...(init.body !== undefined && { "content-type": "application/json" }), ...(init.token && { authorization: `Bearer ${init.token}` }) },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const login = (gateway: DemoProcess, password = "pw-3") => http(gateway, "POST", "/login", { body: { user: "user3", password } });

/** Repeats `fn` until `done` holds (or 15 s pass); returns the last answer. */
async function until<T>(fn: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (done(value) || Date.now() > end) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function instanceIds(service: string): Promise<string[]> {
  const res = await cp.api("GET", `/v1/services/${service}`);
  return (res.body?.service?.instances ?? []).map((i: { id: string }) => i.id).sort();
}

test("demo - services register themselves with their real ports; gateways do not", async () => {
  assert.deepEqual(await instanceIds("accounts"), ["accounts-1"]);
  assert.deepEqual(await instanceIds("login"), ["login-a", "login-b"]);
  assert.deepEqual(await instanceIds("playback"), ["playback-1"]);
  const login = await cp.api("GET", "/v1/services/login");
  const ports = login.body.service.instances.map((i: { port: number }) => i.port).sort();
  assert.deepEqual(ports, [procs.get("login-a")!.port, procs.get("login-b")!.port].sort());
  const all = await cp.api("GET", "/v1/services");
  assert.deepEqual(all.body.services.map((s: { name: string }) => s.name).sort(), ["accounts", "login", "playback"]);
});

for (const mode of MODES) {
  test(`demo - ${mode} gateway: login, wrong password 401, /me plays through playback`, async () => {
    const gateway = gateways.get(mode)!;
    const ok = await until(() => login(gateway), (r) => r.status === 200);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.userId, "uid-3");
    assert.match(ok.body.token, /^v1\.uid-3\.\d+\.[A-Za-z0-9_-]+$/);

    const wrong = await login(gateway, "pw-4");
    assert.deepEqual([wrong.status, wrong.body.code], [401, "UNAUTHENTICATED"], JSON.stringify(wrong.body));

    const me = await http(gateway, "GET", "/me?track=t-42", { token: ok.body.token });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.deepEqual([me.body.userId, me.body.servedBy], ["uid-3", "playback-1"]);
    assert.match(me.body.streamUrl, /t-42/);
    assert.equal((await http(gateway, "GET", "/me", { token: `${ok.body.token}x` })).status, 401);
    assert.equal((await http(gateway, "GET", "/healthz")).body.id, `gw-${mode}`);
  });
}

test("demo - round robin reaches both logins, whichever way each finds accounts", async () => {
  const served = new Set<string>();
  await until(async () => served.add((await login(gateways.get("dns")!)).body.servedBy), (s) => s.size === 2);
  assert.deepEqual([...served].sort(), ["login-a", "login-b"]);
});

test("demo - SIGTERM deregisters the instance and exits 0", async () => {
  const exit = await procs.get("login-b")!.stop("SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null }, procs.get("login-b")!.stderr());
  assert.deepEqual(await instanceIds("login"), ["login-a"]);
});

test("demo - with every login process gone, each gateway answers 503 naming the gRPC code; /me still works", async () => {
  const token = (await login(gateways.get("dns")!)).body.token as string;
  await procs.get("login-a")!.kill();
  for (const mode of MODES) {
    const gateway = gateways.get(mode)!;
    const failed = await until(() => login(gateway), (r) => r.status !== 200);
    assert.equal(failed.status, 503, `${mode}: ${JSON.stringify(failed.body)}`);
    assert.ok(GRPC_CODES.has(failed.body.code), `${mode}: code ${failed.body.code} is a gRPC status name`);
    assert.notEqual(failed.body.code, "OK");
    assert.match(failed.body.details, /^login: ./, mode);
    assert.match(failed.body.error, new RegExp(`^${failed.body.code}: login: `), mode);
    assert.equal((await http(gateway, "GET", "/me", { token })).status, 200, `${mode}: playback does not depend on login`);
  }
});

test("demo - a service given two --admin URLs registers in both control planes, and SIGTERM deregisters it from both", async () => {
  const second = await startControlPlane();
  try {
    const proc = await start("playback", { id: "playback-2", admin: [cp.adminUrl, second.adminUrl], adminTokenFiles: [cp.adminTokenFile, second.adminTokenFile] });
    const listed = async (plane: TestControlPlane) => ((await plane.api("GET", "/v1/services/playback")).body?.service?.instances ?? []).map((i: { id: string; port: number }) => `${i.id}:${i.port}`);
    assert.ok((await listed(cp)).includes(`playback-2:${proc.port}`));
    assert.deepEqual(await listed(second), [`playback-2:${proc.port}`]);
    assert.deepEqual(await proc.stop("SIGTERM"), { code: 0, signal: null }, proc.stderr());
    assert.ok(!(await listed(cp)).some((entry: string) => entry.startsWith("playback-2:")));
    assert.deepEqual(await listed(second), []);
  } finally {
    await second.close();
  }
});

test("demo - a process given a bad flag fails to start with its one-line error", async () => {
  await assert.rejects(spawnDemo("accounts", { id: "bad-1", extraArgs: ["--bogus"] }), (err: Error) => {
    assert.ok(err instanceof DemoStartError);
    assert.match(err.message, /exited \(code 1\) before it was ready: demo: error: unknown option '--bogus'/);
    return true;
  });
});

test("demo - a login started with --metadata and --fail registers its metadata and fails every login with that code", async () => {
  const canary = await start("login", { id: "login-canary-0", metadata: { version: "2" }, fail: "UNAVAILABLE" });
  const listed = (await cp.api("GET", "/v1/services/login")).body?.service?.instances ?? [];
  assert.deepEqual(listed.find((i: { id: string }) => i.id === "login-canary-0")?.metadata, { version: "2" });
  assert.ok(listed.filter((i: { id: string }) => i.id !== "login-canary-0").every((i: { metadata: object }) => Object.keys(i.metadata).length === 0), "others have none");
  const failed = await until(() => login(gateways.get("dns")!), (r) => /fails every call/.test(String(r.body.details)));
  assert.deepEqual([failed.status, failed.body.code], [503, "UNAVAILABLE"], JSON.stringify(failed.body));
  assert.match(failed.body.details, /login-canary-0 fails every call/);
  assert.ok(canary.port > 0);
});
