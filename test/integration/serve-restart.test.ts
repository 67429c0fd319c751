import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { once } from "node:events";
import { stat } from "node:fs/promises";
import { after, test } from "node:test";
import { main } from "../../src/cli/index.js";
import { startBackend } from "../helpers/greeter.js";
import { tempDir } from "../helpers/control-plane.js";
import { captureIo } from "../helpers/io.js";
import { spawnCli, startServeProcess } from "../helpers/serve-process.js";
import { startClientProcess } from "../helpers/grpc-client.js";

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await main(["node", "steadymesh", ...args], io);
  return { code, out: io.out(), err: io.err() };
}

test("serve - prints one line per listener and exits 0 on SIGTERM", async () => {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const serve = await startServeProcess(["--data-dir", dir.path]);
  assert.deepEqual(serve.lines, [
    `steadymesh: xds listening on 127.0.0.1:${serve.xdsPort}`,
    `steadymesh: admin listening on 127.0.0.1:${serve.adminPort}`,
    `steadymesh: dns listening on 127.0.0.1:${serve.dnsPort}`,
  ]);
  assert.notEqual(serve.xdsPort, 0);
  assert.notEqual(serve.dnsPort, 0);
  assert.equal(await serve.stop("SIGTERM"), 0);
});

test("serve - after a restart on the same data dir, a stock client works with no new registration", async () => {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const backend = await startBackend("persisted");
  cleanups.push(backend.stop);

  const first = await startServeProcess(["--data-dir", dir.path]);
  const reg = await cli("register", "greeter", "--address", "127.0.0.1", "--port", String(backend.port), "--id", "p1", "--admin", first.adminUrl, "--token-file", `${dir.path}/admin-token`);
  assert.equal(reg.code, 0, reg.err);
  assert.equal(await first.stop("SIGINT"), 0, first.stderr());

  const second = await startServeProcess(["--data-dir", dir.path]);
  cleanups.push(() => second.stop());
  const list = await cli("list", "greeter", "--admin", second.adminUrl, "--token-file", `${dir.path}/admin-token`);
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, new RegExp(`p1 .*127\\.0\\.0\\.1:${backend.port}`));
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${second.dnsPort}`]);
  assert.deepEqual(await resolver.resolveSrv("_greeter._tcp.service.mesh"), [{ name: "p1.greeter.service.mesh", port: backend.port, priority: 0, weight: 1 }]);

  const boot = await cli("bootstrap", "--node-id", "restart-test", "--xds", `127.0.0.1:${second.xdsPort}`);
  assert.equal(boot.code, 0, boot.err);
  const client = startClientProcess({ bootstrap: JSON.parse(boot.out) });
  cleanups.push(client.stop);
  const result = await client.callUntil("xds:///greeter", (r) => r.ok);
  assert.deepEqual(result, { ok: true, backend: "persisted" }, client.stderr());
});

test("serve - authentication: the first start writes an operator token (0600) and says where in one log line, never the token; a restart reuses it", async () => {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const first = await startServeProcess(["--data-dir", dir.path]);
  const token = first.adminToken!;
  assert.match(token, /^smt_/);
  assert.equal((await stat(`${dir.path}/admin-token`)).mode & 0o777, 0o600);
  assert.equal((await fetch(`${first.adminUrl}/healthz`)).status, 200, "/healthz stays open");
  const missing = await fetch(`${first.adminUrl}/v1/services`);
  assert.equal(missing.status, 401);
  assert.match(((await missing.json()) as { error: string }).error, /needs scope read/);
  assert.equal((await fetch(`${first.adminUrl}/v1/services`, { headers: first.headers() })).status, 200);
  const reader = await cli("token", "create", "--scope", "read", "--name", "reader", "--admin", first.adminUrl, "--token-file", `${dir.path}/admin-token`);
  assert.equal(reader.code, 0, reader.err);
  const denied = await fetch(`${first.adminUrl}/v1/services/web`, { method: "PUT", headers: { authorization: `Bearer ${reader.out.trim()}` } });
  assert.equal(denied.status, 403);
  assert.equal(await first.stop("SIGTERM"), 0);
  const where = first.stderr().split("\n").filter((line) => line.includes("admin-token"));
  assert.equal(where.length, 1, first.stderr());

  const second = await startServeProcess(["--data-dir", dir.path]);
  cleanups.push(() => second.stop());
  assert.equal(second.adminToken, token, "the same token after a restart");
  assert.equal((await fetch(`${second.adminUrl}/v1/services`, { headers: { authorization: `Bearer ${reader.out.trim()}` } })).status, 200, "tokens survive a restart");
  for (const text of [first.stderr(), second.stderr()]) {
    assert.ok(!text.includes(token) && !text.includes(reader.out.trim()), "a token reached the log");
  }
});

test("serve - --auth off is refused beyond loopback: exit 1 with one line saying how to fix it", async () => {
  const child = spawnCli(["serve", "--auth", "off", "--bind", "0.0.0.0", "--xds-port", "0", "--admin-port", "0", "--dns-port", "0", "--store", "memory"]);
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  assert.equal(code, 1);
  assert.match(err, /^steadymesh: error: --auth off is allowed only with a loopback --bind .*\n$/);
});
