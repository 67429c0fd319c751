/**
 * Issue 16, acceptance: "0 failed RPCs while cert --watch renews a 2-minute
 * certificate three times (set the TTL low for the test)".
 *
 * A real `steadymesh serve --cert-ttl 6s` (spawned), and a spawned
 * `steadymesh cert SERVICE --dir D --watch` for a server (`orders`) and a
 * client (`web`), each with its own `identity:<service>` token: each renews
 * at half the certificate's life, about every 3 s. A stock grpc-js server and
 * client talk mTLS with those files while 20 RPCs stay in flight.
 *
 * How the stock peers read the files: through grpc-js's own `file_watcher`
 * certificate provider (`experimental.FileWatcherCertificateProvider`, the
 * class grpc-js-xds instantiates for a bootstrap's `file_watcher` plugin,
 * xds-client.js), fed to `createCertificateProviderServerCredentials` /
 * `createCertificateProviderChannelCredentials`, which is what
 * XdsServerCredentials / XdsChannelCredentials do once the xDS resources
 * name the provider. The xDS part is left out: renewal does not depend on it,
 * and per-service mTLS through the registry is not on main yet
 * (test/integration/xds-mtls.test.ts covers the xDS side with the same
 * provider).
 *
 * The server closes each connection after 1 s (`grpc.max_connection_age_ms`),
 * so the client keeps making new TLS handshakes, each with whatever the
 * providers last read: without that, one connection made at the start would
 * carry every RPC and no renewed certificate would ever be presented. Both
 * ends record the serial of each certificate their peer presents.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createPublicKey, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { loadGreeter, type HelloReply } from "../helpers/greeter.js";
import { spawnCli, startServeProcess, type ServeProcess } from "../helpers/serve-process.js";

const TRUST_DOMAIN = "renewal.test";
const CERT_TTL = "6s";
/** Renewals of each certificate to see, after the first issue. */
const RENEWALS = 3;
const IN_FLIGHT = 20;
const RUN_DEADLINE_MS = 60_000;
/** How often the file_watcher providers re-read the files. */
const REFRESH_MS = 500;
/** How often this test reads the files itself, as file_watcher does, to check that they pair. */
const PAIRING_READ_MS = 40;
const spiffe = (service: string) => `URI:spiffe://${TRUST_DOMAIN}/service/${service}`;

type GreeterClient = grpc.Client & {
  SayHello(request: { name: string }, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, reply: HelloReply) => void): void;
};

interface Watcher {
  readonly child: ChildProcess;
  readonly lines: string[];
  stderr(): string;
}

let serve: ServeProcess;
let work: string;
const watchers: Watcher[] = [];
let server: grpc.Server | undefined;
let client: GreeterClient | undefined;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "steadymesh-renewal-"));
  serve = await startServeProcess(["--cert-ttl", CERT_TTL, "--trust-domain", TRUST_DOMAIN]);
});

after(async () => {
  client?.close();
  if (server) await new Promise<void>((resolve) => server!.tryShutdown(() => resolve()));
  await Promise.all(watchers.map((w) => stopProcess(w.child)));
  await serve?.stop();
  await rm(work, { recursive: true, force: true });
});

/** SIGTERM, then the exit code once its output is read to the end ("close", not "exit"). */
function stopProcess(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once("close", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

/** An `identity:<service>` token from the admin API, as an operator would make for a workload. */
async function identityToken(service: string): Promise<string> {
  const res = await fetch(`${serve.adminUrl}/v1/tokens`, {
    method: "POST",
    headers: serve.headers({ "content-type": "application/json" }),
    body: JSON.stringify({ scope: `identity:${service}`, name: `${service}-workload` }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { token: string }).token;
}

/** Spawns `steadymesh cert SERVICE --dir DIR --watch` (its token in STEADYMESH_TOKEN, not on the command line) and waits for the first files. */
async function startWatch(service: string, dir: string): Promise<Watcher> {
  const child = spawnCli(["cert", service, "--dir", dir, "--watch", "--admin", serve.adminUrl], { STEADYMESH_TOKEN: await identityToken(service) });
  let errText = "";
  child.stderr!.on("data", (d: Buffer) => (errText += d.toString()));
  const lines: string[] = [];
  const watcher = { child, lines, stderr: () => errText };
  watchers.push(watcher);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cert ${service} wrote nothing in 20 s: ${errText}`)), 20_000);
    child.once("exit", (code) => reject(new Error(`cert ${service} exited with ${code}: ${errText}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      lines.push(line);
      if (line.startsWith(`wrote the certificate of ${service} to ${dir}`)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return watcher;
}

function fileWatcher(dir: string): grpc.experimental.FileWatcherCertificateProvider {
  return new grpc.experimental.FileWatcherCertificateProvider({
    certificateFile: join(dir, "certificate.pem"),
    privateKeyFile: join(dir, "private_key.pem"),
    caCertificateFile: join(dir, "ca.pem"),
    refreshIntervalMs: REFRESH_MS,
  });
}

/** What one read of a certificate directory found, read the way file_watcher reads it: three files at once. */
interface PairingRead {
  readonly serial: string;
  /** Empty when the three files belong together. */
  readonly problem: string;
}

async function readPairing(dir: string): Promise<PairingRead> {
  const linkBefore = await readlink(join(dir, "..data"));
  const [certificate, privateKey, ca] = await Promise.all(["certificate.pem", "private_key.pem", "ca.pem"].map((f) => readFile(join(dir, f))));
  const linkAfter = await readlink(join(dir, "..data"));
  const leaf = new X509Certificate(certificate!);
  const problems: string[] = [];
  const keyOfCertificate = leaf.publicKey.export({ type: "spki", format: "der" });
  const keyOfPrivateKey = createPublicKey(privateKey!).export({ type: "spki", format: "der" });
  if (!keyOfCertificate.equals(keyOfPrivateKey)) problems.push("private_key.pem does not belong to certificate.pem");
  if (!leaf.verify(new X509Certificate(ca!).publicKey)) problems.push("certificate.pem is not signed by ca.pem");
  if (problems.length > 0 && linkBefore !== linkAfter) problems.push(`(..data moved from ${linkBefore} to ${linkAfter} during the read)`);
  return { serial: leaf.serialNumber, problem: problems.join("; ") };
}

function call(c: GreeterClient): Promise<grpc.ServiceError | undefined> {
  return new Promise((resolve) => c.SayHello({ name: "renewal" }, { deadline: Date.now() + 10_000 }, (err) => resolve(err ?? undefined)));
}

test("cert renewal under load - cert --watch renews both peers' certificates 3 times; 20 RPCs in flight all along, 0 fail; the files always pair", async (t) => {
  const serverDir = join(work, "orders");
  const clientDir = join(work, "web");
  const [orders, web] = await Promise.all([startWatch("orders", serverDir), startWatch("web", clientDir)]);

  // The server: stock grpc-js, mTLS required, its certificate and CA from file_watcher.
  const clientSerialsSeenByServer = new Set<string>();
  const callerIds = new Set<string>();
  server = new grpc.Server({ "grpc.max_connection_age_ms": 1000, "grpc.max_connection_age_grace_ms": 20_000 });
  server.addService(loadGreeter().service, {
    SayHello(c: grpc.ServerUnaryCall<{ name: string }, HelloReply>, callback: grpc.sendUnaryData<HelloReply>) {
      const peer = c.getAuthContext().sslPeerCertificate;
      if (peer) {
        clientSerialsSeenByServer.add(peer.serialNumber);
        callerIds.add(peer.subjectaltname ?? "");
      }
      callback(null, { message: `hello ${c.request.name}`, backend: "orders" });
    },
  });
  // One provider for both roles, as grpc-js-xds does when one bootstrap instance names both. (With two, mind that
  // grpc-js 1.14.7's createCertificateProviderServerCredentials(ca, identity) passes them to a constructor taking (identity, ca).)
  const serverProvider = fileWatcher(serverDir);
  const port = await new Promise<number>((resolve, reject) =>
    server!.bindAsync("127.0.0.1:0", grpc.experimental.createCertificateProviderServerCredentials(serverProvider, serverProvider, true), (err, p) => (err ? reject(err) : resolve(p))),
  );

  // The client: stock grpc-js, its certificate from file_watcher; the server must present the SPIFFE ID of orders.
  const serverSerialsSeenByClient = new Set<string>();
  const clientProvider = fileWatcher(clientDir);
  const credentials = grpc.experimental.createCertificateProviderChannelCredentials(clientProvider, clientProvider, {
    checkServerIdentity: (_host, certificate) => {
      serverSerialsSeenByClient.add(certificate.serialNumber);
      return certificate.subjectaltname === spiffe("orders") ? undefined : new Error(`server presented ${certificate.subjectaltname}, wanted ${spiffe("orders")}`);
    },
  });
  const Greeter = loadGreeter();
  // The TLS server name is the service (checked by checkServerIdentity above), not the IP address, which SNI may not carry.
  client = new Greeter(`127.0.0.1:${port}`, credentials, { "grpc.ssl_target_name_override": "orders" }) as unknown as GreeterClient;
  // The providers read the files on first use; the first call may wait for that.
  assert.equal(await call(client), undefined, "the first call over mTLS");

  let stopped = false;
  // Each peer's files as file_watcher reads them, checked at every read.
  const pairing = { reads: 0, problems: [] as string[], serials: { orders: new Set<string>(), web: new Set<string>() } };
  const readerDone = (async () => {
    while (!stopped) {
      for (const [service, dir] of [["orders", serverDir], ["web", clientDir]] as const) {
        const read = await readPairing(dir);
        pairing.reads++;
        pairing.serials[service].add(read.serial);
        if (read.problem) pairing.problems.push(`${service} read ${pairing.reads}: ${read.problem}`);
      }
      await new Promise((r) => setTimeout(r, PAIRING_READ_MS));
    }
  })();

  // 20 callers, each with one RPC in flight at a time, until both ends have presented RENEWALS renewed certificates.
  let ok = 0;
  const failures: string[] = [];
  const callers = Array.from({ length: IN_FLIGHT }, async () => {
    while (!stopped) {
      const err = await call(client!);
      if (err) failures.push(`${grpc.status[err.code]}: ${err.details}`);
      else ok++;
    }
  });
  const end = Date.now() + RUN_DEADLINE_MS;
  while (Math.min(clientSerialsSeenByServer.size, serverSerialsSeenByClient.size) < RENEWALS + 1 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 200));
  }
  stopped = true;
  await Promise.all([...callers, readerDone]);

  const renewedLines = (w: Watcher) => w.lines.filter((l) => l.startsWith("renewed the certificate of")).length;
  const summary =
    `ok ${ok}, failed ${failures.length}; server saw ${clientSerialsSeenByServer.size} client certificates, client saw ${serverSerialsSeenByClient.size} server certificates; ` +
    `renewals printed: orders ${renewedLines(orders)}, web ${renewedLines(web)}; stderr: ${orders.stderr()}${web.stderr()}`;
  t.diagnostic(`${summary.split("; stderr:")[0]}; ${pairing.reads} pairing reads`);
  assert.deepEqual(failures.slice(0, 5), [], summary);
  assert.ok(ok > 100, summary);
  // The initial certificate and RENEWALS renewed ones, each presented in a handshake by each end.
  assert.ok(clientSerialsSeenByServer.size >= RENEWALS + 1, summary);
  assert.ok(serverSerialsSeenByClient.size >= RENEWALS + 1, summary);
  assert.ok(renewedLines(orders) >= RENEWALS && renewedLines(web) >= RENEWALS, summary);
  assert.deepEqual([...callerIds], [spiffe("web")], "the server saw only web's SPIFFE ID");
  // Every serial a peer presented is one this test read from that peer's files.
  for (const serial of clientSerialsSeenByServer) assert.ok(pairing.serials.web.has(serial), `client certificate ${serial} was never in ${clientDir}`);
  for (const serial of serverSerialsSeenByClient) assert.ok(pairing.serials.orders.has(serial), `server certificate ${serial} was never in ${serverDir}`);
  assert.deepEqual(pairing.problems, [], `${pairing.reads} reads`);
  assert.ok(pairing.reads > 100, `${pairing.reads} pairing reads`);

  // Stopped, each watcher sums up: every renewal issued, none failed.
  for (const [service, w] of [["orders", orders], ["web", web]] as const) {
    assert.equal(await stopProcess(w.child), 0, w.stderr());
    assert.match(w.lines.at(-1) ?? "", new RegExp(`^stopped renewing the certificate of ${service}: \\d+ issued, 0 failed$`));
  }
});
