import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { EventEmitter } from "node:events";
import { lstat, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { main, type CliIo, type SignalSource, type StopSignal } from "../../src/cli/index.js";
import { createRootCa, loadCertificateAuthority } from "../../src/identity/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Registry } from "../../src/registry/index.js";
import { createFakeClock, type FakeClock } from "../helpers/fake-clock.js";
import { capture } from "../helpers/io.js";
import { createFakeGenerations } from "./generation-fixtures.js";

const START = Date.parse("2030-01-01T00:00:00.000Z");
const TTL_MS = 120_000;

/** A fake clock that tells when the command schedules its next attempt (it does so only once the current one is over). */
function schedulingClock(): FakeClock & { nextSchedule(): Promise<number> } {
  const clock = createFakeClock(START);
  const waiting: Array<(ms: number) => void> = [];
  return {
    now: () => clock.now(),
    advance: (ms) => clock.advance(ms),
    pending: () => clock.pending(),
    setTimeout(fn, ms) {
      const cancel = clock.setTimeout(fn, ms);
      for (const resolve of waiting.splice(0)) resolve(ms);
      return cancel;
    },
    nextSchedule: () => new Promise((resolve) => waiting.push(resolve)),
  };
}

function fakeSignals(): SignalSource & { emit(signal: StopSignal): void } {
  const emitter = new EventEmitter();
  return {
    once: (signal, listener) => void emitter.once(signal, listener),
    off: (signal, listener) => void emitter.off(signal, listener),
    exit: () => assert.fail("cert never forces an exit"),
    emit: (signal) => void emitter.emit(signal),
  };
}

async function run(args: readonly string[], extra: Partial<CliIo> = {}) {
  const stdout = capture();
  const stderr = capture();
  const code = await main(["node", "steadymesh", ...args], { stdout: stdout.stream, stderr: stderr.stream, ...extra });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe("cli - cert against a live admin API", () => {
  const clock = schedulingClock();
  let registry: Registry;
  let admin: AdminServer;
  let front: Server;
  let url: string;
  let dir: string;
  let caPem: string;
  /** While true the front server drops every connection: the CA is unreachable. */
  let down = false;
  /** While set, the front server answers every request 400 with this error, as a CA that refuses the request. */
  let refusal: string | undefined;

  before(async () => {
    registry = await createRegistry(createMemoryStore());
    const ca = await loadCertificateAuthority(await createRootCa("mesh.test", clock), { trustDomain: "mesh.test", certTtlMs: TTL_MS, clock });
    caPem = ca.certificatePem;
    admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations([]), certificates: ca });
    // In front of the admin API (in-process, through inject), so the test can make it unreachable and back.
    front = createServer((request, response) => {
      if (down) return void request.socket.destroy();
      if (refusal !== undefined) return void response.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: refusal }));
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", async () => {
        const answer = await admin.inject({ method: request.method as "POST", url: request.url!, payload: Buffer.concat(chunks), headers: { "content-type": request.headers["content-type"] ?? "" } });
        response.writeHead(answer.statusCode, { "content-type": "application/json" }).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(front.address() as { port: number }).port}`;
    dir = await mkdtemp(join(tmpdir(), "steadymesh-cert-"));
  });
  after(async () => {
    await new Promise((resolve) => front.close(resolve));
    await admin.close();
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("cli cert - writes certificate.pem, private_key.pem (0600) and ca.pem; the chain verifies and names the service", async () => {
    const out = join(dir, "once");
    const result = await run(["cert", "checkout", "--dir", out, "--admin", url], { clock });
    assert.deepEqual(result, { code: 0, stdout: `wrote the certificate of checkout to ${out}: valid until ${new Date(START + TTL_MS).toISOString()}\n`, stderr: "" });
    const certificate = new X509Certificate(await readFile(join(out, "certificate.pem")));
    assert.equal(certificate.subjectAltName, "URI:spiffe://mesh.test/service/checkout");
    assert.equal(await readFile(join(out, "ca.pem"), "utf8"), caPem);
    assert.ok(certificate.verify(new X509Certificate(caPem).publicKey));
    assert.ok(certificate.checkPrivateKey((await import("node:crypto")).createPrivateKey(await readFile(join(out, "private_key.pem")))));
    assert.equal((await stat(join(out, "private_key.pem"))).mode & 0o777, 0o600);
    // Each name is a link through ..data, so all three change in one rename.
    assert.ok((await lstat(join(out, "certificate.pem"))).isSymbolicLink());
  });

  it("cli cert - a refused request is the server's one-line error, exit 1, also with --watch (no retry)", async () => {
    refusal = "csr: asks for CN \"admin\"; allowed: CN checkout";
    try {
      for (const watch of [[], ["--watch"]]) {
        const result = await run(["cert", "checkout", "--dir", join(dir, "refused"), ...watch, "--admin", url], { clock, signals: fakeSignals() });
        assert.deepEqual(result, { code: 1, stdout: "", stderr: `steadymesh: error: ${refusal}\n` }, watch.join(" "));
      }
    } finally {
      refusal = undefined;
    }
    assert.equal(clock.pending(), 0);
    const badName = await run(["cert", "Bad_Name", "--dir", join(dir, "bad"), "--admin", url], { clock });
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /^steadymesh: error: .*Bad_Name.*\n$/);
    const missingDir = await run(["cert", "checkout", "--admin", url], { clock });
    assert.match(missingDir.stderr, /^steadymesh: error: required option '--dir <dir>' not specified/);
  });

  it("cli cert --watch - renews at half life with a new key, retries while the CA is down, stops on SIGTERM", async () => {
    const out = join(dir, "watch");
    const signals = fakeSignals();
    const stdout = capture();
    const stderr = capture();
    let scheduled = clock.nextSchedule();
    const running = main(["node", "steadymesh", "cert", "checkout", "--dir", out, "--watch", "--admin", url], { stdout: stdout.stream, stderr: stderr.stream, clock, signals });
    assert.equal(await scheduled, TTL_MS / 2);
    const first = await readFile(join(out, "certificate.pem"), "utf8");
    const firstKey = await readFile(join(out, "private_key.pem"), "utf8");

    scheduled = clock.nextSchedule();
    clock.advance(TTL_MS / 2);
    assert.equal(await scheduled, TTL_MS / 2);
    const second = await readFile(join(out, "certificate.pem"), "utf8");
    assert.notEqual(second, first);
    assert.notEqual(await readFile(join(out, "private_key.pem"), "utf8"), firstKey);
    assert.equal(Date.parse(new X509Certificate(second).validTo), START + TTL_MS / 2 + TTL_MS);

    down = true;
    scheduled = clock.nextSchedule();
    clock.advance(TTL_MS / 2);
    const retryMs = await scheduled;
    assert.ok(retryMs >= 800 && retryMs <= 1200, `first retry after ${retryMs} ms`);
    scheduled = clock.nextSchedule();
    clock.advance(retryMs);
    const secondRetryMs = await scheduled;
    assert.ok(secondRetryMs >= 1600 && secondRetryMs <= 2400, `second retry after ${secondRetryMs} ms`);
    assert.equal(await readFile(join(out, "certificate.pem"), "utf8"), second);

    down = false;
    scheduled = clock.nextSchedule();
    clock.advance(secondRetryMs);
    await scheduled;
    assert.notEqual(await readFile(join(out, "certificate.pem"), "utf8"), second);
    // Old versions are removed: the ..data link and one version directory are left.
    assert.equal((await readdir(out)).filter((name) => name.startsWith("..") && name !== "..data").length, 1);

    signals.emit("SIGTERM");
    assert.equal(await running, 0);
    const lines = stdout.text().trim().split("\n");
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /^wrote the certificate of checkout to .*: valid until 2030-01-01T00:02:00\.000Z; next renewal in 60 s$/);
    assert.match(lines[1]!, /^renewed the certificate of checkout in .*: valid until 2030-01-01T00:03:00\.000Z; next renewal in 60 s$/);
    assert.equal(lines[3], "stopped renewing the certificate of checkout: 3 issued, 2 failed");
    const errors = stderr.text().trim().split("\n");
    assert.equal(errors.length, 2);
    assert.match(errors[0]!, /^steadymesh: cert checkout: getting a certificate failed: cannot reach the admin API at .*; retrying in (0\.[89]|1(\.[0-2])?) s$/);
  });

  it("cli cert --watch - a CA that is down at start is retried until it answers", async () => {
    const out = join(dir, "late");
    const signals = fakeSignals();
    const stdout = capture();
    const stderr = capture();
    down = true;
    let scheduled = clock.nextSchedule();
    const running = main(["node", "steadymesh", "cert", "checkout", "--dir", out, "--watch", "--admin", url], { stdout: stdout.stream, stderr: stderr.stream, clock, signals });
    const retryMs = await scheduled;
    assert.ok(retryMs >= 800 && retryMs <= 1200, `first retry after ${retryMs} ms`);
    await assert.rejects(stat(join(out, "certificate.pem")), { code: "ENOENT" });
    down = false;
    scheduled = clock.nextSchedule();
    clock.advance(retryMs);
    // Half of what is left: the expiry is in whole seconds, so up to half a second less than half the TTL.
    const renewal = await scheduled;
    assert.ok(renewal > TTL_MS / 2 - 1000 && renewal <= TTL_MS / 2, `renewal after ${renewal} ms`);
    assert.ok(new X509Certificate(await readFile(join(out, "certificate.pem"))).verify(new X509Certificate(caPem).publicKey));
    signals.emit("SIGINT");
    assert.equal(await running, 0);
    assert.match(stdout.text(), /stopped renewing the certificate of checkout: 1 issued, 1 failed\n$/);
    assert.equal(stderr.text().split("\n").filter(Boolean).length, 1);
  });
});
