/**
 * Issue 16, TLS and the built-in CA end to end: `serve --tls` on port 0 with
 * its CA in the data dir, `steadymesh cert` over HTTPS, real curl with and
 * without `--cacert`, ADS over TLS through the steady: resolver's transport,
 * and `cert --watch` renewing a 3 s certificate.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { EventEmitter } from "node:events";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { createGrpcAdsTransport } from "../../src/client/ads-transport.js";
import { silentClientLogger } from "../../src/client/logger.js";
import { main, type SignalSource, type StopSignal } from "../../src/cli/index.js";
import { CLUSTER_TYPE, loadCodec, type DiscoveryResponse } from "../../src/proto/index.js";
import { startControlPlane, tempDir, type TestControlPlane } from "../helpers/control-plane.js";
import { capture } from "../helpers/io.js";

const run = promisify(execFile);
const CERT_TTL_MS = 3000;

let plane: TestControlPlane;
let data: { path: string; cleanup(): Promise<void> };
let https: string;
let caFile: string;

before(async () => {
  data = await tempDir("steadymesh-tls-");
  plane = await startControlPlane({ dataDir: data.path, tls: { sans: [] }, trustDomain: "tls.test", certTtlMs: CERT_TTL_MS });
  https = `https://127.0.0.1:${plane.admin.port}`;
  caFile = join(data.path, "ca.pem");
});
after(async () => {
  await plane.close();
  await data.cleanup();
});

async function cli(args: readonly string[], extra: { signals?: SignalSource } = {}) {
  const stdout = capture();
  const stderr = capture();
  const code = await main(["node", "steadymesh", ...args], { stdout: stdout.stream, stderr: stderr.stream, ...extra });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

async function curl(args: readonly string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run("curl", ["--silent", "--show-error", "--max-time", "10", ...args]);
    return { code: 0, out: stdout };
  } catch (err) {
    const failed = err as { code?: number; stderr?: string };
    return { code: failed.code ?? -1, out: failed.stderr ?? "" };
  }
}

test("tls - serve --tls writes <data-dir>/ca.pem; curl needs --cacert for the admin API", async () => {
  assert.equal(plane.caFile, caFile);
  const ca = new X509Certificate(await readFile(caFile));
  assert.ok(ca.ca);
  const trusted = await curl(["--cacert", caFile, `${https}/healthz`]);
  assert.equal(trusted.code, 0, trusted.out);
  const untrusted = await curl([`${https}/healthz`]);
  // 60: the peer's certificate cannot be verified with the system's CAs.
  assert.equal(untrusted.code, 60, untrusted.out);
  // Plain HTTP to the HTTPS port gets no API answer.
  const plain = await curl([`http://127.0.0.1:${plane.admin.port}/healthz`]);
  assert.notEqual(plain.code, 0);
});

test("tls - steadymesh cert over HTTPS with --ca writes the three files", async () => {
  const dir = join(data.path, "certs-once");
  const result = await cli(["cert", "checkout", "--dir", dir, "--admin", https, "--ca", caFile, "--token", plane.adminToken]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^wrote the certificate of checkout to .*: valid until \S+Z\n$/);
  const leaf = new X509Certificate(await readFile(join(dir, "certificate.pem")));
  assert.equal(leaf.subjectAltName, "URI:spiffe://tls.test/service/checkout");
  assert.ok(leaf.verify(new X509Certificate(await readFile(join(dir, "ca.pem"))).publicKey));
  assert.equal(await readFile(join(dir, "ca.pem"), "utf8"), await readFile(caFile, "utf8"));
  assert.equal((await stat(join(dir, "private_key.pem"))).mode & 0o777, 0o600);
  // Without --ca (and no ./.steadymesh/ca.pem) the CLI refuses the unknown issuer, in one line.
  const unverified = await cli(["cert", "checkout", "--dir", join(data.path, "certs-refused"), "--admin", https, "--token", plane.adminToken]);
  assert.equal(unverified.code, 1);
  assert.match(unverified.stderr, /^steadymesh: error: cannot reach the admin API at https:.*certificate.*\n$/i);
});

test("tls - xDS over TLS: the resolver's ADS transport with tls.ca gets the cluster; plain text does not connect", async () => {
  const registered = await curl(["--fail", "--cacert", caFile, "-H", `authorization: Bearer ${plane.adminToken}`, "-X", "PUT", "-H", "content-type: application/json", "-d", '{"address":"127.0.0.1","port":50051}', `${https}/v1/services/checkout/instances/a`]);
  assert.equal(registered.code, 0, registered.out);
  const codec = loadCodec();
  const transport = createGrpcAdsTransport(codec, silentClientLogger, { ca: await readFile(caFile) });
  try {
    const response = await new Promise<DiscoveryResponse>((resolve, reject) => {
      const stream = transport.open(`localhost:${plane.xds.port}`, {
        onResponse: (answer) => {
          if (answer.resources.length > 0) resolve(answer);
        },
        onEnd: (reason) => reject(new Error(reason)),
      });
      stream.write({ type_url: CLUSTER_TYPE, resource_names: ["checkout"], node: { id: "tls-test" } } as never);
    });
    assert.equal(response.type_url, CLUSTER_TYPE);
  } finally {
    transport.close();
  }
  const plain = new grpc.Client(`127.0.0.1:${plane.xds.port}`, grpc.credentials.createInsecure());
  try {
    await assert.rejects(new Promise<void>((resolve, reject) => plain.waitForReady(Date.now() + 1500, (err) => (err ? reject(err) : resolve()))));
  } finally {
    plain.close();
  }
});

function fakeSignals(): SignalSource & { emit(signal: StopSignal): void } {
  const emitter = new EventEmitter();
  return {
    once: (signal, listener) => void emitter.once(signal, listener),
    off: (signal, listener) => void emitter.off(signal, listener),
    exit: () => assert.fail("cert --watch never forces an exit"),
    emit: (signal) => void emitter.emit(signal),
  };
}

test("tls - cert --watch renews a 3 s certificate at least twice, then stops on SIGTERM", async () => {
  const dir = join(data.path, "certs-watch");
  const signals = fakeSignals();
  const running = cli(["cert", "checkout", "--dir", dir, "--watch", "--admin", https, "--ca", caFile, "--token", plane.adminToken], { signals });
  const seen = new Set<string>();
  const deadline = Date.now() + 15_000;
  while (seen.size < 3 && Date.now() < deadline) {
    const pem = await readFile(join(dir, "certificate.pem"), "utf8").catch(() => undefined);
    if (pem !== undefined) seen.add(pem);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  signals.emit("SIGTERM");
  const result = await running;
  assert.equal(result.code, 0, result.stderr);
  assert.ok(seen.size >= 3, `saw ${seen.size} certificates, wanted the first and two renewals`);
  const lines = result.stdout.trim().split("\n");
  assert.ok(lines.filter((line) => line.startsWith("renewed the certificate of checkout")).length >= 2, result.stdout);
  assert.match(lines.at(-1)!, /^stopped renewing the certificate of checkout: \d+ issued, 0 failed$/);
  // Every certificate written verified against the CA and was for the service.
  const ca = new X509Certificate(await readFile(caFile));
  for (const pem of seen) assert.ok(new X509Certificate(pem).verify(ca.publicKey));
});
