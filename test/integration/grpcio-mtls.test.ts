/**
 * Issue 16, deliverable 5: Debian's python3-grpcio (the C-core) as an mTLS
 * client "where its xDS credentials allow". Measured on grpcio 1.51.1
 * (Debian 12): `grpc.xds_channel_credentials` exists, and with it the client
 * takes the UpstreamTlsContext steadymesh puts on a `strict` service's
 * Cluster and the bootstrap's `file_watcher` provider (`steadymesh bootstrap
 * --certs`), presents its SPIFFE certificate and checks the server's.
 *
 * The control plane here is steadymesh's xDS server in this process (its
 * snapshot cache, fed buildSnapshot's resources plus the Cluster security of
 * src/snapshot/security-resources.ts, as test/integration/xds-mtls.test.ts
 * does); the server is a stock grpc-js server with mTLS from the same test
 * CA, requiring a client certificate. Only the client side is grpcio's.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { createSilentLogger } from "../../src/log/index.js";
import { CLUSTER_TYPE, RESOURCE_TYPES, loadCodec, type ResourceTypeUrl } from "../../src/proto/index.js";
import { buildSnapshot, createResource, createSnapshot, type Resource } from "../../src/snapshot/index.js";
import { withClusterSecurity } from "../../src/snapshot/security-resources.js";
import { clusterFor } from "../../src/snapshot/service-resources.js";
import { buildBootstrap, createSnapshotCache, createXdsServer, DEFAULT_GROUP, type XdsServer } from "../../src/xds/index.js";
import { loadGreeter, type HelloReply } from "../helpers/greeter.js";
import type { CallResult } from "../helpers/grpc-client.js";
import { grpcioMissing, startGrpcioProcess, type GrpcioProcess } from "../helpers/grpcio-client.js";
import { entry } from "../helpers/registry-view.js";
import { createTestCa } from "../helpers/test-certificates.js";

const TRUST_DOMAIN = "grpcio.test";
const TARGET = "xds:///orders";
const PUSH_DEADLINE_MS = 20_000;
const MISSING = grpcioMissing();

const describeResults = (results: readonly CallResult[]) => JSON.stringify(results.map((r) => (r.ok ? `ok ${r.backend}` : `${r.code}: ${r.details}`)));

describe("grpcio mtls", { skip: MISSING && `skipped: ${MISSING}` }, () => {
  const codec = loadCodec();
  const cache = createSnapshotCache();
  const callers: string[] = [];
  let dir: string;
  let xds: XdsServer;
  let server: grpc.Server;
  let withCertificates: GrpcioProcess;
  let withoutCertificates: GrpcioProcess;

  /** `orders`, one instance (the mTLS server) on `port`, its Cluster `strict`: an UpstreamTlsContext naming the provider and orders' SPIFFE ID. */
  function publish(port: number): void {
    const orders = entry("orders", [{ id: "orders-1", address: "127.0.0.1", port }]);
    const built = buildSnapshot({ revision: 1, services: new Map([["orders", orders]]) }, codec);
    assert.ok(built.ok);
    const maps = Object.fromEntries(RESOURCE_TYPES.map((type) => [type, new Map(built.snapshot.resources[type])])) as Record<ResourceTypeUrl, Map<string, Resource>>;
    const cluster = withClusterSecurity(clusterFor("orders", "round_robin"), "strict", { trustDomain: TRUST_DOMAIN }, codec);
    maps[CLUSTER_TYPE].set("orders", createResource(CLUSTER_TYPE, "orders", codec.encodeResource(CLUSTER_TYPE, cluster)));
    cache.setSnapshot(DEFAULT_GROUP, createSnapshot(1, maps), 1);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "steadymesh-grpcio-mtls-"));
    const ca = await createTestCa(TRUST_DOMAIN);
    const ordersDir = await ca.issue("orders", join(dir, "orders"));
    const webDir = await ca.issue("web", join(dir, "web"));
    const pem = (d: string, f: string) => readFile(join(d, f));

    server = new grpc.Server();
    server.addService(loadGreeter().service, {
      SayHello(c: grpc.ServerUnaryCall<{ name: string }, HelloReply>, callback: grpc.sendUnaryData<HelloReply>) {
        callers.push(c.getAuthContext().sslPeerCertificate?.subjectaltname ?? "");
        callback(null, { message: "hello", backend: "orders-1" });
      },
    });
    const credentials = grpc.ServerCredentials.createSsl(await pem(ordersDir, "ca.pem"), [{ private_key: await pem(ordersDir, "private_key.pem"), cert_chain: await pem(ordersDir, "certificate.pem") }], true);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", credentials, (err, p) => (err ? reject(err) : resolve(p))));

    xds = createXdsServer({ watcher: cache, codec, logger: createSilentLogger() });
    const xdsAddress = `127.0.0.1:${(await xds.listen("127.0.0.1", 0)).port}`;
    publish(port);
    [withCertificates, withoutCertificates] = await Promise.all([
      startGrpcioProcess(buildBootstrap({ nodeId: "web-grpcio", xds: [xdsAddress], certs: webDir })),
      startGrpcioProcess(buildBootstrap({ nodeId: "legacy-grpcio", xds: [xdsAddress] })),
    ]);
  });

  after(async () => {
    await Promise.all([withCertificates?.stop(), withoutCertificates?.stop()]);
    server?.forceShutdown();
    await xds?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("grpcio mtls - MEASURED: Debian's grpcio has grpc.xds_channel_credentials", () => {
    assert.ok(withCertificates.xdsChannelCredentials, `MEASURED FACT CHANGED: grpcio ${withCertificates.version} has no grpc.xds_channel_credentials (1.51.1 has it); update the README's Security section`);
  });

  test("grpcio mtls - strict: a stock grpcio client with xds_channel_credentials calls over mTLS and the server sees its SPIFFE ID", async () => {
    const first = await withCertificates.callUntil(TARGET, (r) => r.ok, PUSH_DEADLINE_MS, "xds");
    assert.ok(first.ok, `${JSON.stringify(first)} ${withCertificates.stderr().slice(-2000)}`);
    callers.length = 0;
    const results = await withCertificates.call(TARGET, 5, 2000, "xds");
    assert.ok(results.every((r) => r.ok && r.backend === "orders-1"), describeResults(results));
    assert.deepEqual(callers, Array(5).fill(`URI:spiffe://${TRUST_DOMAIN}/service/web`));
  });

  test("grpcio mtls - strict: without xds credentials, or without a certificate provider in its bootstrap, grpcio is not served", async () => {
    callers.length = 0;
    // Insecure channel credentials: plain text to a TLS port.
    const insecure = await withCertificates.call(TARGET, 3, 2000, "insecure");
    // xDS credentials, but a bootstrap without `certificate_providers`: the Cluster's provider instance is unknown.
    const noProvider = await withoutCertificates.call(TARGET, 3, 2000, "xds");
    assert.ok([...insecure, ...noProvider].every((r) => !r.ok), `insecure ${describeResults(insecure)}; no provider ${describeResults(noProvider)}`);
    assert.deepEqual(callers, [], "the server's handler ran for none of them");
  });
});
