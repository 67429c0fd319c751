import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { request } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { toServeOptions } from "../../src/cli/commands/serve-flags.js";
import { parseServe } from "../helpers/serve-flags.js";
import { SteadyError } from "../../src/errors/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { checkListenerBinds, startServer, SERVE_DEFAULTS } from "../../src/server/index.js";
import { listenError } from "../../src/server/listen-error.js";

const logger = createSilentLogger();
const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function refusedWith(message: string): (err: unknown) => boolean {
  return (err) => err instanceof SteadyError && err.code === "invalid-argument" && err.message === message;
}

test("serve listeners - --xds-bind, --admin-bind and --dns-bind default to --bind and become ServeOptions", () => {
  const plain = toServeOptions(parseServe(["--bind", "127.0.0.2"]), logger);
  assert.deepEqual([plain.bind, plain.xdsBind, plain.adminBind, plain.dnsBind], ["127.0.0.2", undefined, undefined, undefined]);
  const own = toServeOptions(parseServe(["--xds-bind", "0.0.0.0", "--admin-bind", "::1", "--dns-bind", "127.0.0.3", "--tls"]), logger);
  assert.deepEqual([own.bind, own.xdsBind, own.adminBind, own.dnsBind], ["127.0.0.1", "0.0.0.0", "::1", "127.0.0.3"]);
  assert.throws(() => parseServe(["--xds-bind", "example.com"]), /--xds-bind <ip>.*IPv4 or IPv6 address/);
});

test("serve listeners - the bind rules hold per listener: admin needs TLS and auth, xDS TLS, DNS nothing", () => {
  const base = { bind: "127.0.0.1", tls: undefined, auth: true, insecureBind: false };
  const tls = { sans: [] };
  // xDS on the network with TLS, the admin API on loopback with --auth off: allowed.
  checkListenerBinds({ ...base, xdsBind: "0.0.0.0", tls, auth: false }, logger);
  // DNS is plain by design.
  checkListenerBinds({ ...base, dnsBind: "0.0.0.0" }, logger);
  assert.throws(
    () => checkListenerBinds({ ...base, xdsBind: "0.0.0.0" }, logger),
    refusedWith("--xds-bind 0.0.0.0 is not a loopback address and TLS is off; turn on --tls, or pass --insecure-bind to listen anyway"),
  );
  checkListenerBinds({ ...base, adminBind: "10.0.0.5", tls }, logger);
  assert.throws(
    () => checkListenerBinds({ ...base, adminBind: "10.0.0.5", tls, auth: false }, logger),
    refusedWith("--auth off is allowed only with a loopback --admin-bind (127.0.0.1 or ::1), not 10.0.0.5; drop --auth off to require admin API tokens"),
  );
  assert.throws(
    () => checkListenerBinds({ ...base, bind: "0.0.0.0", adminBind: "127.0.0.1" }, logger),
    refusedWith("--bind 0.0.0.0 is not a loopback address and TLS is off; turn on --tls, or pass --insecure-bind to listen anyway"),
  );
  assert.throws(
    () => checkListenerBinds({ ...base, adminBind: "0.0.0.0" }, logger),
    refusedWith("--admin-bind 0.0.0.0 is not a loopback address and TLS is off; turn on --tls and authentication (--auth on, the default), or pass --insecure-bind to listen anyway"),
  );
  // Both on --bind: checked once, as before issue 17.
  assert.throws(
    () => checkListenerBinds({ ...base, bind: "0.0.0.0", tls, auth: false }, logger),
    refusedWith("--auth off is allowed only with a loopback --bind (127.0.0.1 or ::1), not 0.0.0.0; drop --auth off to require admin API tokens"),
  );
  checkListenerBinds({ ...base, bind: "0.0.0.0", adminBind: "127.0.0.1", xdsBind: "0.0.0.0", insecureBind: true }, logger);
});

/** GET `path` on the admin API with this Host header; resolves with the status. */
function getWithHost(port: number, address: string, host: string, path = "/v1/services"): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once("error", reject);
    req.end();
  });
}

test("serve listeners - each listener binds its own address, and the admin Host guard follows --admin-bind", async () => {
  const server = await startServer({ ...SERVE_DEFAULTS, store: "memory", auth: false, xdsPort: 0, adminPort: 0, dnsPort: 0, bind: "127.0.0.1", adminBind: "127.0.0.2", dnsBind: "127.0.0.3", logger });
  try {
    assert.deepEqual([server.xds.host, server.admin.host, server.dns.host], ["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
    assert.equal(await getWithHost(server.admin.port, "127.0.0.2", `127.0.0.2:${server.admin.port}`), 200);
    assert.equal(await getWithHost(server.admin.port, "127.0.0.2", `localhost:${server.admin.port}`), 200);
    // The --bind address is not the admin API's any more.
    assert.equal(await getWithHost(server.admin.port, "127.0.0.2", `127.0.0.1:${server.admin.port}`), 403);
  } finally {
    await server.close();
  }
});

async function takeTcp(): Promise<{ port: number; release(): Promise<void> }> {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen({ host: "127.0.0.1", port: 0 }, resolve));
  return { port: (holder.address() as AddressInfo).port, release: () => new Promise((resolve) => holder.close(() => resolve())) };
}

async function takeUdp(): Promise<{ port: number; release(): Promise<void> }> {
  const holder = createSocket("udp4");
  await new Promise<void>((resolve) => holder.bind({ address: "127.0.0.1", port: 0 }, resolve));
  return { port: holder.address().port, release: () => new Promise((resolve) => holder.close(() => resolve())) };
}

for (const [listener, take] of [["xds", takeTcp], ["admin", takeTcp], ["dns", takeTcp], ["dns", takeUdp]] as const) {
  test(`serve listeners - a ${listener} port in use (${take === takeUdp ? "UDP" : "TCP"}) fails with one line, and the data dir stays empty`, async () => {
    const taken = await take();
    const dataDir = mkdtempSync(join(tmpdir(), "steadymesh-listeners-"));
    dirs.push(dataDir);
    const ports = { xdsPort: 0, adminPort: 0, dnsPort: 0, [`${listener}Port`]: taken.port };
    try {
      await assert.rejects(
        startServer({ ...SERVE_DEFAULTS, dataDir, ...ports, logger }),
        (err: unknown) => err instanceof SteadyError && err.message === `cannot listen for ${listener} on 127.0.0.1:${taken.port}: address in use (another process has it; pick another --${listener}-port)`,
      );
      assert.deepEqual(readdirSync(dataDir), []);
      assert.equal(existsSync(join(dataDir, "registry.db")), false);
    } finally {
      await taken.release();
    }
  });
}

test("serve listeners - listenError reads the socket error from a gRPC message, a cause, or names the --X-bind", () => {
  const bind = { address: "::1", flag: "--xds-bind" };
  const grpc = new Error("No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use ::1:18000]");
  assert.equal(listenError("xds", bind, 18000, grpc).message, "cannot listen for xds on [::1]:18000: address in use (another process has it; pick another --xds-port)");
  const wrapped = new SteadyError("unavailable", "dns: cannot listen on UDP", { cause: Object.assign(new Error("bind failed"), { code: "EADDRNOTAVAIL" }) });
  assert.equal(listenError("dns", { address: "10.9.9.9", flag: "--dns-bind" }, 53, wrapped).message, "cannot listen for dns on 10.9.9.9:53: address not available (no network interface of this machine has 10.9.9.9; pick another --dns-bind)");
  assert.equal(listenError("admin", { address: "127.0.0.1", flag: "--bind" }, 80, Object.assign(new Error("x"), { code: "EACCES" })).message, "cannot listen for admin on 127.0.0.1:80: permission denied (ports below 1024 need privileges; pick another --admin-port)");
  assert.equal(listenError("admin", { address: "127.0.0.1", flag: "--bind" }, 8080, new Error("something else")).message, "cannot listen for admin on 127.0.0.1:8080: something else");
});
