import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Etcd3 } from "etcd3";
import { rendezvousOwner } from "../../src/health/index.js";
import { buildBootstrap } from "../../src/xds/index.js";
import { startEtcd, type EtcdCluster } from "../helpers/etcd.js";
import { startBackend, type Backend } from "../helpers/greeter.js";
import { startClientProcess, type ClientProcess } from "../helpers/grpc-client.js";
import { assertMeasuredStock, assertNoFailures, watchMachine, RPS, timeline, WINDOW_MS } from "../helpers/scenario.js";
import { startServeProcess, type ServeProcess } from "../helpers/serve-process.js";

/** steadymesh as several stateless `serve` replicas on one real etcd (issue 6). */
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function track<T extends { stop(): Promise<unknown> }>(thing: T): T {
  cleanups.push(() => thing.stop());
  return thing;
}

/** Whose admin token requests carry: the serve process that wrote it (on a shared store, every replica takes it). */
type TokenHolder = Pick<ServeProcess, "headers">;
async function http(base: string, auth: TokenHolder, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const headers = auth.headers(body === undefined ? {} : { "content-type": "application/json" });
  const res = await fetch(base + path, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function register(serve: ServeProcess, backend: Backend): Promise<void> {
  const res = await http(serve.adminUrl, serve, "PUT", `/v1/services/greeter/instances/${backend.id}`, { address: "127.0.0.1", port: backend.port });
  assert.ok(res.status < 300, JSON.stringify(res));
}

/** Calls until a call reaches `backend`; resolves with the milliseconds that took, or fails after `timeoutMs`. */
async function reach(client: ClientProcess, backend: string, timeoutMs: number): Promise<number> {
  const start = Date.now();
  const last = await client.callUntil("xds:///greeter", (r) => r.ok && r.backend === backend, timeoutMs);
  assert.ok(last.ok && last.backend === backend, `not reached within ${timeoutMs} ms: ${JSON.stringify(last)}`);
  return Date.now() - start;
}

async function backends(n: number): Promise<Backend[]> {
  const list: Backend[] = [];
  for (let i = 1; i <= n; i++) list.push(track(await startBackend(`r${i}`)));
  return list;
}

test("replicas - a registration through replica A reaches a stock client of replica B within 1 s; A SIGKILLed: a steady client of both fails no RPC", async (t) => {
  const machine = watchMachine();
  const etcd: EtcdCluster = track(await startEtcd());
  const a = await startServeProcess(["--store", etcd.spec, "--replica-id", "a"]);
  cleanups.push(() => a.stop());
  const b = await startServeProcess(["--store", etcd.spec, "--replica-id", "b"]);
  cleanups.push(() => b.stop());
  const [b1, b2] = await backends(2);
  await register(a, b1!);
  const stock = track(startClientProcess({ bootstrap: buildBootstrap({ nodeId: "stock-on-b", xds: [`127.0.0.1:${b.xdsPort}`] }) }));
  await reach(stock, "r1", 10_000);

  const sent = Date.now();
  await register(a, b2!);
  const ms = await reach(stock, "r2", 5000);
  const total = Date.now() - sent;
  t.diagnostic(`registered through replica A, first RPC to it through replica B after ${total} ms`);
  assert.ok(total <= 1000, `registered through A, reached through B after ${total} ms (first call to r2 after ${ms} ms); wanted ≤ 1000 ms`);

  const steady = track(startClientProcess({
    steady: { xdsServers: [`127.0.0.1:${a.xdsPort}`, `127.0.0.1:${b.xdsPort}`], nodeId: "steady-both", dns: false, startupTimeoutMs: 1000, streamTimeoutMs: 2000, backoff: { initialMs: 200, maxMs: 2000 } },
  }));
  assert.ok((await steady.callUntil("steady:///greeter", (r) => r.ok, 10_000)).ok);
  const [result] = await Promise.all([steady.load("steady:///greeter", RPS, WINDOW_MS), timeline([[1000, () => a.stop("SIGKILL")]])]);
  assertNoFailures("steady client of replicas A and B, A SIGKILLed", result, { machine, t });
  assert.deepEqual(Object.keys(result.backends).sort(), ["r1", "r2"]);

  // The stock client reads only xds_servers[0] (@grpc/grpc-js-xds 1.14.1, build/src/xds-client.js: `bootstrapInfo.xdsServers[0]`).
  const coldStock = track(startClientProcess({ bootstrap: buildBootstrap({ nodeId: "stock-a-then-b", xds: [`127.0.0.1:${a.xdsPort}`, `127.0.0.1:${b.xdsPort}`] }) }));
  const cold = await coldStock.load("xds:///greeter", RPS, 3000);
  assertMeasuredStock("a new stock client listing A then B, started after A died, gets no configuration from B", cold, (r) => r.sent > 0 && r.failed === r.sent);
});

test("replicas - etcd stopped: clients keep their endpoints and writes get 503; etcd back: writes work again and reach clients", async () => {
  const etcd: EtcdCluster = track(await startEtcd());
  const serve = await startServeProcess(["--store", etcd.spec]);
  cleanups.push(() => serve.stop());
  const [b1, b2, b3] = await backends(3);
  await register(serve, b1!);
  await register(serve, b2!);
  const stock = track(startClientProcess({ bootstrap: buildBootstrap({ nodeId: "stock-etcd-down", xds: [`127.0.0.1:${serve.xdsPort}`] }) }));
  await reach(stock, "r2", 10_000);

  await etcd.kill(0);
  const write = await http(serve.adminUrl, serve, "PUT", `/v1/services/greeter/instances/${b3!.id}`, { address: "127.0.0.1", port: b3!.port });
  assert.equal(write.status, 503, JSON.stringify(write));
  assert.match(write.body.error, /etcd/);
  const during = await stock.load("xds:///greeter", RPS, 3000);
  assert.ok(during.sent >= 70, `only ${during.sent} RPCs were sent`);
  assert.equal(during.failed, 0, `stock client while etcd is down: ${during.failed} of ${during.sent} failed: ${JSON.stringify(during.errors)}`);
  assert.deepEqual(Object.keys(during.backends).sort(), ["r1", "r2"]);

  await etcd.restart(0);
  let status = 0;
  for (let i = 0; i < 50; i++) {
    status = (await http(serve.adminUrl, serve, "PUT", `/v1/services/greeter/instances/${b3!.id}`, { address: "127.0.0.1", port: b3!.port })).status;
    if (status < 300) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(status < 300, `writes work again once etcd is back (last status ${status})`);
  await reach(stock, "r3", 10_000);
});

/** The health of `id` in service greeter as `serve` reports it; undefined once it is gone. */
async function healthOn(serve: ServeProcess, id: string, auth: TokenHolder = serve): Promise<string | undefined> {
  const res = await http(serve.adminUrl, auth, "GET", "/v1/services/greeter");
  assert.equal(res.status, 200, JSON.stringify(res));
  return res.body.service.instances.find((i: { id: string }) => i.id === id)?.health;
}

/** Polls until `ok(health)`; resolves with the milliseconds that took, or fails after `timeoutMs`. */
async function healthUntil(serve: ServeProcess, id: string, ok: (health: string | undefined) => boolean, what: string, timeoutMs: number, auth: TokenHolder = serve): Promise<number> {
  const start = Date.now();
  let last: string | undefined;
  while (Date.now() - start < timeoutMs) {
    last = await healthOn(serve, id, auth);
    if (ok(last)) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: not within ${timeoutMs} ms (last health ${JSON.stringify(last)})`);
}

test("replicas - a TTL instance owned by A, heartbeated through B, stays healthy; A SIGKILLed and heartbeats stopped: B marks it unhealthy, then removes it", async (t) => {
  // A grace longer than A's lease (10 s), so that B, taking over once that lease expires, shows the unhealthy state before the removal.
  const graceMs = 14_000;
  const etcd: EtcdCluster = track(await startEtcd());
  const a = await startServeProcess(["--store", etcd.spec, "--replica-id", "a", "--ttl-grace-ms", String(graceMs)]);
  cleanups.push(() => a.stop());
  const b = await startServeProcess(["--store", etcd.spec, "--replica-id", "b", "--ttl-grace-ms", String(graceMs)]);
  cleanups.push(() => b.stop());
  // An id whose TTL replica A owns while both live: B's heartbeats must reach A through etcd.
  const id = Array.from({ length: 50 }, (_, i) => `ttl${i}`).find((candidate) => rendezvousOwner(`greeter/${candidate}`, ["a", "b"]) === "a")!;
  const put = await http(a.adminUrl, a, "PUT", `/v1/services/greeter/instances/${id}`, { address: "127.0.0.1", port: 9, ttlMs: 2000 });
  assert.ok(put.status < 300, JSON.stringify(put));

  // 3.6 s of heartbeats through B only: longer than the TTL, so A would expire it without them.
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 600));
    const beat = await http(b.adminUrl, a, "PUT", `/v1/services/greeter/instances/${id}/heartbeat`);
    assert.equal(beat.status, 200, JSON.stringify(beat));
  }
  assert.equal(await healthOn(a, id), "healthy", "seen through A");
  // B found tokens in etcd and wrote no token file: A's token (stored in etcd) is every replica's.
  assert.equal(await healthOn(b, id, a), "healthy", "seen through B");

  await a.stop("SIGKILL");
  // While A's claim (under its 10 s lease) lives, the TTL stays A's: B, whose own TTL of it has run out, must not act.
  const etcdClient = new Etcd3({ hosts: etcd.endpoints.map((endpoint) => `http://${endpoint}`) });
  cleanups.push(async () => etcdClient.close());
  const killedAt = Date.now();
  let heldMs = 0;
  for (; ; heldMs = Date.now() - killedAt) {
    const health = await healthOn(b, id, a);
    if ((await etcdClient.get("/steadymesh/replicas/a/owner").string()) === null) break;
    assert.equal(health, "healthy", `B acted on A's instance ${heldMs} ms after A was killed, while A's claim still lived`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(heldMs > 2000, `A's claim lived ${heldMs} ms after the kill, not past the TTL: the check above proved nothing`);
  const limitMs = 2000 + 10_000 + graceMs + 5000;
  await healthUntil(b, id, (h) => h === "unhealthy", "unhealthy through B after A was killed", limitMs - (Date.now() - killedAt), a);
  const unhealthyAfter = Date.now() - killedAt;
  await healthUntil(b, id, (h) => h === undefined, "removed through B", limitMs - unhealthyAfter, a);
  t.diagnostic(`A killed, heartbeats stopped: its claim lived ${heldMs} ms; unhealthy through B after ${unhealthyAfter} ms, removed after ${Date.now() - killedAt} ms (ttl 2000, lease 10000, grace ${graceMs})`);
});
