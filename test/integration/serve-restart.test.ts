import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { after, test } from "node:test";
import { main } from "../../src/cli/index.js";
import { startBackend } from "../helpers/greeter.js";
import { tempDir } from "../helpers/control-plane.js";
import { captureIo } from "../helpers/io.js";
import { startServeProcess } from "../helpers/serve-process.js";
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
  const reg = await cli("register", "greeter", "--address", "127.0.0.1", "--port", String(backend.port), "--id", "p1", "--admin", first.adminUrl);
  assert.equal(reg.code, 0, reg.err);
  assert.equal(await first.stop("SIGINT"), 0, first.stderr());

  const second = await startServeProcess(["--data-dir", dir.path]);
  cleanups.push(() => second.stop());
  const list = await cli("list", "greeter", "--admin", second.adminUrl);
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
