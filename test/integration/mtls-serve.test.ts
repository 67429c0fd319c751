/**
 * Issue 16, deliverable 4, end to end through a real `steadymesh serve`
 * (spawned, with its operator token): the registry's `mtls` field and
 * intentions go through the builder and the push guard to a stock
 * XdsServer (XdsServerCredentials) and stock clients (XdsChannelCredentials),
 * whose certificates come from `steadymesh cert` and whose bootstraps from
 * `steadymesh bootstrap --certs`. Nothing but steadymesh configures them.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { main } from "../../src/cli/index.js";
import { freePort } from "../helpers/free-ports.js";
import { captureIo } from "../helpers/io.js";
import { startServeProcess, type ServeProcess } from "../helpers/serve-process.js";
import { call, callUntil, greeterClient, startSpiffeEchoServer, type GreeterClient } from "../helpers/xds-greeter.js";

// grpc-js-xds registers the RBAC filter only when this is set as it loads (environment.js); it is imported in before().
process.env.GRPC_XDS_EXPERIMENTAL_RBAC = "true";

const TRUST_DOMAIN = "mesh.test";
const WEB_ID = `URI:spiffe://${TRUST_DOMAIN}/service/web`;

describe("mtls through serve", () => {
  const clients: grpc.Client[] = [];
  const seen: string[] = [];
  let serve: ServeProcess;
  let dir: string;
  let xdsModule: typeof import("@grpc/grpc-js-xds");
  let server: grpc.Server;
  let serverPort: number;
  let webDir: string;

  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const io = captureIo();
    const code = await main(["node", "steadymesh", ...args, ...(["cert", "intention", "approve"].includes(args[0]!) ? ["--admin", serve.adminUrl, "--token-file", join(serve.dataDir, "admin-token")] : [])], io);
    return { code, out: io.out(), err: io.err() };
  }

  async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${serve.adminUrl}${path}`, { method, headers: serve.headers({ "content-type": "application/json" }), ...(body !== undefined && { body: JSON.stringify(body) }) });
    const json: unknown = await response.json();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  }

  async function bootstrap(nodeId: string, certs?: string): Promise<object> {
    const made = await cli("bootstrap", "--node-id", nodeId, "--xds", `127.0.0.1:${serve.xdsPort}`, ...(certs ? ["--certs", certs] : []));
    assert.equal(made.code, 0, made.err);
    return JSON.parse(made.out) as object;
  }

  const client = (target: string, credentials: grpc.ChannelCredentials, config: object): GreeterClient => greeterClient(clients, target, credentials, config);

  before(async () => {
    xdsModule = await import("@grpc/grpc-js-xds");
    xdsModule.register();
    dir = await mkdtemp(join(tmpdir(), "steadymesh-mtls-serve-"));
    serve = await startServeProcess(["--trust-domain", TRUST_DOMAIN]);
    for (const service of ["orders", "web"]) {
      const written = await cli("cert", service, "--dir", join(dir, service));
      assert.equal(written.code, 0, written.err);
    }
    webDir = join(dir, "web");
    serverPort = await freePort();
    // Strict before the server starts, so that its server Listener (named after its address) is there when it asks.
    await admin("PUT", "/v1/services/orders", { mtls: "strict" });
    await admin("PUT", "/v1/services/orders/instances/orders-1", { address: "127.0.0.1", port: serverPort });
    server = await startSpiffeEchoServer(xdsModule, await bootstrap("orders-1", join(dir, "orders")), serverPort, seen);
  });

  after(async () => {
    for (const made of clients) made.close();
    server?.forceShutdown();
    // serve closes its xDS streams and waits a bounded time for them; a second signal forces the exit if it must.
    const stopped = serve?.stop();
    const timer = setTimeout(() => void serve?.stop("SIGKILL"), 10_000);
    await stopped;
    clearTimeout(timer);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let web: GreeterClient;
  let legacy: GreeterClient;

  test("mtls serve - strict: a stock client with certificates calls over mTLS and the server sees its SPIFFE ID; one without is refused", async () => {
    web = client("xds:///orders", new xdsModule.XdsChannelCredentials(grpc.credentials.createInsecure()), await bootstrap("web-1", webDir));
    assert.deepEqual((await callUntil(web, (r) => r.ok)).last, { ok: true, message: WEB_ID }, serve.stderr().slice(-2000));
    legacy = client("xds:///orders", grpc.credentials.createInsecure(), await bootstrap("legacy-1"));
    const before = seen.length;
    const refused = await Promise.all(Array.from({ length: 3 }, () => call(legacy)));
    assert.ok(refused.every((r) => !r.ok && r.code === grpc.status.UNAVAILABLE), JSON.stringify(refused));
    assert.equal(seen.length, before, "the server's handler ran for none of them");
  });

  test("mtls serve - permissive: the client without a certificate is served", async () => {
    await admin("PUT", "/v1/services/orders", { mtls: "permissive" });
    assert.deepEqual((await callUntil(legacy, (r) => r.ok)).last, { ok: true, message: "" }, "served, unauthenticated");
  });

  test("mtls serve - strict while a connected caller has no certificates is held by the guard, and the reason says so", async () => {
    await admin("PUT", "/v1/services/orders", { mtls: "strict" });
    let held: { id: number; reason: string } | undefined;
    const end = Date.now() + 15_000;
    while (!held && Date.now() < end) {
      const { generations } = (await admin("GET", "/v1/generations")) as { generations: { id: number; status: string; reason: string }[] };
      held = generations.find((g) => g.status === "held");
      if (!held) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(held, "no generation was held");
    assert.match(held.reason, /mtls strict for orders would cut off 1 connected node without certificates \(caller legacy-1\)/);
    assert.deepEqual(await call(legacy), { ok: true, message: "" }, "the held generation did not reach the caller");
    const approved = await cli("approve", String(held.id));
    assert.equal(approved.code, 0, approved.err);
    assert.deepEqual((await callUntil(web, (r) => r.ok && r.message === WEB_ID)).last, { ok: true, message: WEB_ID });
  });

  test("mtls serve - intention deny gives PERMISSION_DENIED; intention allow serves the next call, with no restart", async () => {
    const denied = await cli("intention", "deny", "web", "orders");
    assert.equal(denied.code, 0, denied.err);
    const refused = (await callUntil(web, (r) => !r.ok && r.code === grpc.status.PERMISSION_DENIED)).last;
    assert.equal(!refused.ok && refused.code, grpc.status.PERMISSION_DENIED, JSON.stringify(refused));
    const listed = await cli("intention", "list", "orders");
    assert.match(listed.out, /^orders: mtls strict, default allow \(no '\*' intention\)\nSOURCE +ACTION\nweb +deny\n$/);
    const allowed = await cli("intention", "allow", "web", "orders");
    assert.equal(allowed.code, 0, allowed.err);
    assert.deepEqual((await callUntil(web, (r) => r.ok)).last, { ok: true, message: WEB_ID });
  });
});
