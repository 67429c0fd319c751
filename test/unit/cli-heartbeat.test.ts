import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { after, before, describe, it } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { main, type CliIo, type SignalSource, type StopSignal } from "../../src/cli/index.js";
import { createFakeClock, type FakeClock } from "../helpers/fake-clock.js";
import { createHealthMonitor, type HealthMonitor } from "../../src/health/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Registry } from "../../src/registry/index.js";
import { capture } from "../helpers/io.js";
import { createFakeGenerations } from "./generation-fixtures.js";
import { createFakeProber } from "./health-fixtures.js";

async function run(args: readonly string[], extra: Partial<CliIo> = {}) {
  const stdout = capture();
  const stderr = capture();
  const code = await main(["node", "steadymesh", ...args], { stdout: stdout.stream, stderr: stderr.stream, ...extra });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/**
 * A fake clock that also tells when the command schedules a timer. `heartbeat
 * --every` schedules its next renewal only once the current one is over (its
 * HTTP round trip and its line), so the test awaits that instead of polling.
 */
function schedulingClock(): FakeClock & { nextSchedule(): Promise<void> } {
  const clock = createFakeClock();
  const waiting: Array<() => void> = [];
  return {
    now: () => clock.now(),
    advance: (ms) => clock.advance(ms),
    pending: () => clock.pending(),
    setTimeout(fn, ms) {
      const cancel = clock.setTimeout(fn, ms);
      for (const resolve of waiting.splice(0)) resolve();
      return cancel;
    },
    nextSchedule: () => new Promise((resolve) => waiting.push(resolve)),
  };
}

/** Resolves when `scheduled` does; fails at once if the command ends first. */
async function renewalOver(scheduled: Promise<void>, running: Promise<number>, what: string): Promise<void> {
  const ended = running.then((code) => assert.fail(`heartbeat ended (exit ${code}) before ${what}`));
  await Promise.race([scheduled, ended]);
}

function fakeSignals(): SignalSource & { emit(signal: StopSignal): void; listeners(): number } {
  const emitter = new EventEmitter();
  return {
    once: (signal, listener) => void emitter.once(signal, listener),
    off: (signal, listener) => void emitter.off(signal, listener),
    exit: () => assert.fail("heartbeat never forces an exit"),
    emit: (signal) => void emitter.emit(signal),
    listeners: () => emitter.listenerCount("SIGINT") + emitter.listenerCount("SIGTERM"),
  };
}

describe("cli - heartbeat against a live admin API", () => {
  const monitorClock = createFakeClock(Date.parse("2030-01-01T00:00:00.000Z"));
  let registry: Registry;
  let monitor: HealthMonitor;
  let admin: AdminServer;
  let url: string;
  let heartbeats = 0;

  before(async () => {
    registry = await createRegistry(createMemoryStore());
    monitor = createHealthMonitor({ registry, clock: monitorClock, prober: createFakeProber(monitorClock), logger: createSilentLogger() });
    const counting = { heartbeat: (service: string, id: string) => (heartbeats++, monitor.heartbeat(service, id)) };
    admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations([]), heartbeats: counting });
    url = `http://127.0.0.1:${(await admin.listen("127.0.0.1", 0)).port}`;
  });
  after(async () => {
    await admin.close();
    await monitor.stop();
    await registry.close();
  });

  it("cli heartbeat - register --ttl-ms stores the TTL", async () => {
    const result = await run(["register", "svc", "--address", "127.0.0.1", "--port", "5000", "--id", "t1", "--ttl-ms", "1500", "--admin", url]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(registry.view().services.get("svc")?.instances.get("t1")?.ttlMs, 1500);
  });

  it("cli register - --metadata KEY=VALUE, repeatable, is the instance's metadata; a pair without '=' or a key given twice is a one-line error", async () => {
    const result = await run(["register", "svc", "--address", "127.0.0.1", "--port", "5009", "--id", "m1", "--metadata", "version=2", "--metadata", "track=canary=yes", "--admin", url]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(registry.view().services.get("svc")?.instances.get("m1")?.metadata, { version: "2", track: "canary=yes" });
    const bad = await run(["register", "svc", "--address", "127.0.0.1", "--port", "5009", "--id", "m1", "--metadata", "version", "--admin", url]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^steadymesh: error: .*--metadata.*KEY=VALUE.*\n$/);
    const twice = await run(["register", "svc", "--address", "127.0.0.1", "--port", "5009", "--id", "m1", "--metadata", "v=1", "--metadata", "v=2", "--admin", url]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /given twice/);
    assert.deepEqual(registry.view().services.get("svc")?.instances.get("m1")?.metadata, { version: "2", track: "canary=yes" });
  });

  it("cli heartbeat - one renewal prints the new expiry", async () => {
    const result = await run(["heartbeat", "svc", "t1", "--admin", url]);
    assert.deepEqual(result, { code: 0, stdout: "renewed svc/t1: healthy until 2030-01-01T00:00:01.500Z unless renewed (ttl 1500 ms)\n", stderr: "" });
  });

  it("cli heartbeat - an instance without a TTL, or an unknown one, is a one-line error naming the command to run next", async () => {
    await run(["register", "svc", "--address", "127.0.0.1", "--port", "5001", "--id", "plain", "--admin", url]);
    const plain = await run(["heartbeat", "svc", "plain", "--admin", url]);
    assert.equal(plain.code, 1);
    assert.equal(
      plain.stderr,
      "steadymesh: error: svc/plain was registered without --ttl-ms, so it takes no heartbeats; register it again with 'steadymesh register svc --address A --port P --id plain --ttl-ms MS' (1000-86400000)\n",
    );
    assert.doesNotMatch(plain.stderr, /ttlMs/);
    const unknown = await run(["heartbeat", "svc", "nope", "--admin", url]);
    assert.equal(unknown.stderr, `steadymesh: error: instance "nope" not found in service "svc"; 'steadymesh list svc' shows its instances\n`);
  });

  // The timeout only turns a hang (a renewal never scheduled) into a failure; the test waits on events, not on time.
  it("cli heartbeat - --every renews at that period until Ctrl-C, one stderr line per failure, then a summary", { timeout: 10_000 }, async () => {
    const clock = schedulingClock();
    const signals = fakeSignals();
    const stdout = capture();
    const stderr = capture();
    heartbeats = 0;
    const first = clock.nextSchedule();
    const running = main(["node", "steadymesh", "heartbeat", "svc", "t1", "--every", "500", "--admin", url], { stdout: stdout.stream, stderr: stderr.stream, clock, signals });
    await renewalOver(first, running, "the first renewal");
    assert.equal(heartbeats, 1);
    assert.equal(clock.pending(), 1);
    assert.match(stdout.text(), /^renewed svc\/t1: healthy until .* \(ttl 1500 ms\); renewing every 500 ms until Ctrl-C\n$/);
    clock.advance(499);
    assert.equal(clock.pending(), 1, "the second renewal is not due before 500 ms");
    const second = clock.nextSchedule();
    clock.advance(1);
    await renewalOver(second, running, "the second renewal");
    assert.equal(heartbeats, 2);
    assert.equal(clock.pending(), 1);
    await registry.deleteInstance("svc", "t1");
    const third = clock.nextSchedule();
    clock.advance(500);
    await renewalOver(third, running, "a failed renewal");
    assert.equal(clock.pending(), 1, "a failed renewal is retried at the next period");
    assert.equal(stderr.text(), `steadymesh: heartbeat svc/t1 failed: instance "t1" not found in service "svc"; 'steadymesh list svc' shows its instances\n`);
    signals.emit("SIGINT");
    assert.equal(await running, 0);
    assert.match(stdout.text(), /\nstopped renewing svc\/t1: 2 renewed, 1 failed\n$/);
    assert.equal(signals.listeners(), 0);
    assert.equal(clock.pending(), 0, "no renewal scheduled after the stop");
  });
});

describe("cli - heartbeat usage", () => {
  it("cli heartbeat - --help prints usage", async () => {
    const result = await run(["heartbeat", "--help"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage: steadymesh heartbeat \[options\] <service> <id>/);
    assert.match(result.stdout, /--every <ms> +keep renewing at this period until Ctrl-C, 100-3600000/);
  });

  for (const [args, error] of [
    [["heartbeat", "svc"], /^missing required argument 'id' \(see 'steadymesh heartbeat --help'\)$/],
    [["heartbeat", "svc", "t1", "--every", "50"], /^option '--every <ms>' argument '50' is invalid\. It must be an integer from 100 to 3600000 \(see 'steadymesh heartbeat --help'\)$/],
    [["register", "svc", "--address", "127.0.0.1", "--port", "1", "--ttl-ms", "999"], /^option '--ttl-ms <ms>' argument '999' is invalid\. It must be an integer from 1000 to 86400000/],
    [["serve", "--ttl-grace-ms", "-1"], /^option '--ttl-grace-ms <ms>' argument '-1' is invalid\. It must be an integer from 0 to 86400000/],
  ] as const) {
    it(`cli heartbeat - rejects "${args.join(" ")}" with one line`, async () => {
      const result = await run(args);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
      assert.match(result.stderr.replace(/^steadymesh: error: /, "").trimEnd(), error);
    });
  }
});
