/**
 * Issue 16, deliverables 4 and 5: a stock @grpc/grpc-js-xds client with
 * XdsChannelCredentials calls a stock XdsServer with XdsServerCredentials,
 * both configured only by steadymesh's xDS server (its real snapshot cache
 * and ADS server, fed a snapshot from buildSnapshot plus the resources of
 * src/snapshot/security-resources.ts), over mTLS with certificates from a
 * test CA in file_watcher layout.
 *
 * Everything runs in this process: the server and the clients each get
 * their bootstrap through grpc-js-xds's per-channel/per-server bootstrap
 * option, so each has its own xDS client and certificate providers.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { validateSnapshot } from "../../src/guard/validate.js";
import { createSilentLogger } from "../../src/log/index.js";
import { CLUSTER_TYPE, LISTENER_TYPE, RESOURCE_TYPES, loadCodec, type ResourceTypeUrl } from "../../src/proto/index.js";
import { buildSnapshot, createResource, createSnapshot, type Resource } from "../../src/snapshot/index.js";
import { encodeServerListeners, withClusterSecurity, type ServiceSecurity } from "../../src/snapshot/security-resources.js";
import { clusterFor } from "../../src/snapshot/service-resources.js";
import { buildBootstrap, createSnapshotCache, createXdsServer, DEFAULT_GROUP, type XdsServer } from "../../src/xds/index.js";
import { freePort } from "../helpers/free-ports.js";
import { entry } from "../helpers/registry-view.js";
import { createTestCa } from "../helpers/test-certificates.js";
import { call, callUntil, greeterClient, startSpiffeEchoServer, type GreeterClient } from "../helpers/xds-greeter.js";

// grpc-js-xds registers the RBAC filter only when this is set as it loads (environment.js); it is loaded below, after this line.
process.env.GRPC_XDS_EXPERIMENTAL_RBAC = "true";

const TRUST_DOMAIN = "mesh.test";
const OPTIONS = { trustDomain: TRUST_DOMAIN };
const WEB_ID = `URI:spiffe://${TRUST_DOMAIN}/service/web`;

describe("xds mtls", () => {
  const codec = loadCodec();
  const cache = createSnapshotCache();
  const served: string[] = [];
  let dir: string;
  let xds: XdsServer;
  let xdsAddress: string;
  let serverPort: number;
  let server: grpc.Server;
  let revision = 0;
  const clients: grpc.Client[] = [];

  /** Publishes service `orders` (one instance: the XdsServer) with `security`, after the push guard's validation passes it. */
  function publish(security: ServiceSecurity): void {
    revision++;
    const orders = entry("orders", [{ id: "orders-1", address: "127.0.0.1", port: serverPort }]);
    const built = buildSnapshot({ revision, services: new Map([["orders", orders]]) }, codec);
    assert.ok(built.ok);
    const maps = Object.fromEntries(RESOURCE_TYPES.map((type) => [type, new Map(built.snapshot.resources[type])])) as Record<ResourceTypeUrl, Map<string, Resource>>;
    const cluster = withClusterSecurity(clusterFor("orders", "round_robin"), security.mode, OPTIONS, codec);
    maps[CLUSTER_TYPE].set("orders", createResource(CLUSTER_TYPE, "orders", codec.encodeResource(CLUSTER_TYPE, cluster)));
    for (const listener of encodeServerListeners(orders, security, OPTIONS, codec)) maps[LISTENER_TYPE].set(listener.name, listener);
    const snapshot = createSnapshot(revision, maps);
    assert.deepEqual(validateSnapshot(codec, snapshot), [], "the push guard's validation passes the security resources");
    cache.setSnapshot(DEFAULT_GROUP, snapshot, revision);
  }

  const client = (target: string, credentials: grpc.ChannelCredentials, bootstrap?: object): GreeterClient => greeterClient(clients, target, credentials, bootstrap);

  let xdsModule: typeof import("@grpc/grpc-js-xds");
  let ca: Awaited<ReturnType<typeof createTestCa>>;
  let webDir: string;

  before(async () => {
    xdsModule = await import("@grpc/grpc-js-xds");
    const require = createRequire(import.meta.url);
    assert.equal(require("@grpc/grpc-js-xds/build/src/environment.js").EXPERIMENTAL_RBAC, true, "grpc-js-xds was loaded before GRPC_XDS_EXPERIMENTAL_RBAC was set");
    xdsModule.register();
    dir = await mkdtemp(join(tmpdir(), "steadymesh-mtls-"));
    ca = await createTestCa(TRUST_DOMAIN);
    const ordersDir = await ca.issue("orders", join(dir, "orders"));
    webDir = await ca.issue("web", join(dir, "web"));
    xds = createXdsServer({ watcher: cache, codec, logger: createSilentLogger() });
    xdsAddress = `127.0.0.1:${(await xds.listen("127.0.0.1", 0)).port}`;
    // An XdsServer needs a real port: the Listener it asks for is named after it.
    serverPort = await freePort();
    publish({ mode: "strict", defaultAction: "allow", intentions: [] });

    const bootstrap = buildBootstrap({ nodeId: "orders-1", xds: [xdsAddress], certs: ordersDir });
    server = await startSpiffeEchoServer(xdsModule, bootstrap, serverPort, served);
  });

  after(async () => {
    for (const made of clients) made.close();
    server?.forceShutdown();
    await xds?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const withCertificates = () => client("xds:///orders", new xdsModule.XdsChannelCredentials(grpc.credentials.createInsecure()), buildBootstrap({ nodeId: "web-1", xds: [xdsAddress], certs: webDir }));
  let web: GreeterClient;
  let legacy: GreeterClient;
  let plain: GreeterClient;
  let tlsWithoutCertificate: GreeterClient;

  test("xds mtls - strict: a stock client calls over mTLS and the server sees its SPIFFE ID", async () => {
    web = withCertificates();
    const { last } = await callUntil(web, (r) => r.ok);
    assert.deepEqual(last, { ok: true, message: WEB_ID });
    const results = await Promise.all(Array.from({ length: 5 }, () => call(web)));
    assert.deepEqual(results, Array(5).fill({ ok: true, message: WEB_ID }));
  });

  test("xds mtls - strict: a client without a certificate is refused", async () => {
    // Bootstrapped without --certs, on insecure credentials: the client cannot use the mTLS Cluster.
    legacy = client("xds:///orders", grpc.credentials.createInsecure(), buildBootstrap({ nodeId: "legacy-1", xds: [xdsAddress] }));
    // The server's side of it: plain text, and TLS without a client certificate, straight to its port.
    plain = client(`127.0.0.1:${serverPort}`, grpc.credentials.createInsecure());
    tlsWithoutCertificate = client(`127.0.0.1:${serverPort}`, grpc.credentials.createSsl(Buffer.from(ca.certificatePem), null, null, { checkServerIdentity: () => undefined }));
    const before = served.length;
    for (const [name, caller] of [["legacy", legacy], ["plain", plain], ["tls without certificate", tlsWithoutCertificate]] as const) {
      const results = await Promise.all(Array.from({ length: 3 }, () => call(caller)));
      assert.ok(results.every((r) => !r.ok && r.code === grpc.status.UNAVAILABLE), `${name}: ${JSON.stringify(results)}`);
    }
    assert.equal(served.length, before, "the server's handler ran for none of them");
  });

  test("xds mtls - permissive: the client without a certificate is served, and so is the one with", async () => {
    publish({ mode: "permissive", defaultAction: "allow", intentions: [] });
    const { last } = await callUntil(legacy, (r) => r.ok);
    assert.deepEqual(last, { ok: true, message: "" }, "served, unauthenticated");
    // This channel failed its handshakes under strict, so it may still be in reconnect backoff.
    assert.deepEqual((await callUntil(plain, (r) => r.ok)).last, { ok: true, message: "" });
    // The Cluster has no UpstreamTlsContext now: the client with certificates talks plain text too.
    assert.deepEqual((await callUntil(web, (r) => r.ok && r.message === "")).last, { ok: true, message: "" });
  });

  test("xds mtls - strict with a deny intention: PERMISSION_DENIED; allowing it again serves the next call, no restart", async () => {
    publish({ mode: "strict", defaultAction: "allow", intentions: [{ source: "web", destination: "orders", action: "deny" }] });
    const denied = await callUntil(web, (r) => !r.ok && r.code === grpc.status.PERMISSION_DENIED);
    assert.equal(denied.last.ok, false, JSON.stringify(denied.last));
    assert.equal(!denied.last.ok && denied.last.code, grpc.status.PERMISSION_DENIED, JSON.stringify(denied.last));
    const results = await Promise.all(Array.from({ length: 3 }, () => call(web)));
    assert.ok(results.every((r) => !r.ok && r.code === grpc.status.PERMISSION_DENIED), JSON.stringify(results));

    const servedBefore = served.length;
    publish({ mode: "strict", defaultAction: "allow", intentions: [] });
    const allowed = await callUntil(web, (r) => r.ok);
    assert.deepEqual(allowed.last, { ok: true, message: WEB_ID });
    assert.ok(served.length > servedBefore);
  });

  test("xds mtls - default deny: only the callers an allow intention names are served", async () => {
    publish({ mode: "strict", defaultAction: "deny", intentions: [] });
    const denied = await callUntil(web, (r) => !r.ok && r.code === grpc.status.PERMISSION_DENIED);
    assert.equal(!denied.last.ok && denied.last.code, grpc.status.PERMISSION_DENIED, JSON.stringify(denied.last));
    publish({ mode: "strict", defaultAction: "deny", intentions: [{ source: "web", destination: "orders", action: "allow" }] });
    assert.deepEqual((await callUntil(web, (r) => r.ok)).last, { ok: true, message: WEB_ID });
  });
});
