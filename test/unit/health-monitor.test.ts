import assert from "node:assert/strict";
import { test } from "node:test";
import { CHECK_JITTER } from "../../src/health/index.js";
import { CHECK, createFakeOwnership, metricValue, putChecked, setupHealth } from "./health-fixtures.js";

test("health - unhealthy after unhealthyThreshold failures in a row, healthy after healthyThreshold passes", async () => {
  const h = await setupHealth();
  await putChecked(h.registry, "svc", CHECK, [1]);
  h.prober.answer(1, "fail");
  await h.advance(1600); // checks at 500 and 1500
  assert.equal(h.instance("svc", "i1")?.health, "healthy");
  const before = h.registry.view().revision;
  await h.advance(1000); // the third failure
  assert.equal(h.instance("svc", "i1")?.health, "unhealthy");
  assert.equal(h.registry.view().revision, before + 1, "a health change is a new revision");
  h.prober.answer(1, "pass");
  await h.advance(1000);
  assert.equal(h.instance("svc", "i1")?.health, "unhealthy", "one pass is not enough");
  await h.advance(1000);
  assert.equal(h.instance("svc", "i1")?.health, "healthy");
  assert.deepEqual(h.prober.checks(1).map((t) => t - 1_000_000), [500, 1500, 2500, 3500, 4500]);
  await h.close();
});

test("health - a pass in between resets the failure count", async () => {
  const h = await setupHealth();
  await putChecked(h.registry, "svc", CHECK, [1]);
  for (const answer of ["fail", "fail", "pass", "fail", "fail"] as const) {
    h.prober.answer(1, answer);
    await h.advance(1000);
  }
  assert.equal(h.instance("svc", "i1")?.health, "healthy");
  await h.close();
});

test("health - one log line and one metric per transition, with service, id, from, to and why", async () => {
  const h = await setupHealth();
  await putChecked(h.registry, "svc", CHECK, [1]);
  h.prober.answer(1, "fail");
  await h.advance(3000);
  h.prober.answer(1, "pass");
  await h.advance(2000);
  const transitions = h.logLines().filter((line) => "to" in line);
  assert.deepEqual(transitions.map(({ service, id, from, to, why }) => ({ service, id, from, to, why })), [
    { service: "svc", id: "i1", from: "healthy", to: "unhealthy", why: "3 grpc check(s) failed in a row (last: connection refused)" },
    { service: "svc", id: "i1", from: "unhealthy", to: "healthy", why: "2 grpc check(s) passed in a row" },
  ]);
  assert.equal(await metricValue(h.metrics, "steadymesh_health_checks_total", { kind: "grpc", result: "fail" }), 3);
  assert.equal(await metricValue(h.metrics, "steadymesh_health_checks_total", { kind: "grpc", result: "pass" }), 2);
  assert.equal(await metricValue(h.metrics, "steadymesh_health_transitions_total", { to: "unhealthy" }), 1);
  assert.equal(await metricValue(h.metrics, "steadymesh_health_transitions_total", { to: "healthy" }), 1);
  await h.close();
});

test("health - probes get the kind, address, service name and http path", async () => {
  const h = await setupHealth();
  await putChecked(h.registry, "web", { kind: "http", path: "/healthz", intervalMs: 1000, timeoutMs: 500 }, [80]);
  await putChecked(h.registry, "login", { kind: "grpc", intervalMs: 1000, timeoutMs: 500 }, [50051]);
  assert.deepEqual(h.prober.opened, [
    { kind: "http", address: "10.0.0.1", port: 80, service: "web", path: "/healthz" },
    { kind: "grpc", address: "10.0.0.1", port: 50051, service: "login", path: "/" },
  ]);
  await h.close();
});

test("health - a check with no answer fails after timeoutMs on the clock and is aborted", async () => {
  const h = await setupHealth();
  await putChecked(h.registry, "svc", { ...CHECK, unhealthyThreshold: 1 }, [1]);
  h.prober.answer(1, "hang");
  await h.advance(999, 1); // the check starts at 500 and times out at 1000
  assert.equal(h.instance("svc", "i1")?.health, "healthy");
  await h.advance(1, 1);
  assert.equal(h.instance("svc", "i1")?.health, "unhealthy");
  assert.equal(h.prober.aborted(), 1);
  const line = h.logLines().find((l) => l.to === "unhealthy");
  assert.equal(line?.why, "1 grpc check(s) failed in a row (last: no answer within 500 ms)");
  await h.close();
});

/** A deterministic source of numbers in [0, 1) (a linear congruential generator). */
function seeded(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

test("health - jitter: first check within one interval, then every interval ±10%, and instances never in lockstep", async () => {
  const h = await setupHealth({ random: seeded(42) });
  const ports = Array.from({ length: 20 }, (_, i) => i + 1);
  const start = h.clock.now();
  await putChecked(h.registry, "svc", CHECK, ports);
  await h.advance(20_000, 10);
  const low = CHECK.intervalMs * (1 - CHECK_JITTER);
  const high = CHECK.intervalMs * (1 + CHECK_JITTER);
  for (const port of ports) {
    const times = h.prober.checks(port);
    assert.ok(times[0]! - start < CHECK.intervalMs, `first check of ${port} after ${times[0]! - start} ms`);
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      assert.ok(gap >= low - 10 && gap <= high + 10, `gap ${gap} ms between checks of ${port}`);
    }
  }
  // Lockstep would put every instance's n-th check at the same moment; with jitter they spread out and drift apart.
  const firsts = ports.map((p) => h.prober.checks(p)[0]!);
  assert.equal(new Set(firsts).size, ports.length, "first checks at distinct times");
  const offsets = ports.map((p) => h.prober.checks(p)[15]! - h.prober.checks(p)[0]!);
  assert.ok(Math.max(...offsets) - Math.min(...offsets) >= 200, `16th checks drift apart: ${offsets.join(", ")}`);
  await h.close();
});

test("health - removing an instance stops its checks at once, even one in flight", async () => {
  const h = await setupHealth();
  await putChecked(h.registry, "svc", CHECK, [1, 2]);
  h.prober.answer(1, "hang");
  await h.advance(600); // the check of i1 started at 500 and hangs
  await h.registry.deleteInstance("svc", "i1");
  assert.equal(h.prober.aborted(), 1);
  assert.equal(h.prober.closed(1), 1);
  const checks = h.prober.checks(1).length;
  await h.advance(5000);
  assert.equal(h.prober.checks(1).length, checks, "no check after the removal");
  assert.ok(h.prober.checks(2).length >= 5, "the other instance is still checked");
  await h.registry.deleteService("svc");
  assert.equal(h.clock.pending(), 0, "no timer left behind");
  await h.close();
});

test("health - re-registering an instance keeps its checks, counts and verdict", async () => {
  const h = await setupHealth();
  await putChecked(h.registry, "svc", CHECK, [1]);
  h.prober.answer(1, "fail");
  await h.advance(2000); // two failures
  await h.registry.putInstance("svc", "i1", { address: "10.0.0.1", port: 1, weight: 5 });
  await h.advance(1000);
  assert.equal(h.instance("svc", "i1")?.health, "unhealthy", "the third failure counts on from before the re-registration");
  assert.equal(h.instance("svc", "i1")?.weight, 5, "the health write keeps every other field");
  assert.equal(h.prober.opened.length, 1, "the same probe session throughout");
  // Registering it again as healthy does not outvote the checks: the next failure puts it back.
  await h.registry.putInstance("svc", "i1", { address: "10.0.0.1", port: 1, weight: 5 });
  assert.equal(h.instance("svc", "i1")?.health, "healthy");
  await h.advance(1000);
  assert.equal(h.instance("svc", "i1")?.health, "unhealthy");
  await h.close();
});

test("health - a new address or new check settings restart the checks with a fresh session", async () => {
  const h = await setupHealth();
  await putChecked(h.registry, "svc", CHECK, [1]);
  await h.advance(1000);
  await h.registry.putInstance("svc", "i1", { address: "10.0.0.1", port: 2 });
  assert.equal(h.prober.closed(1), 1);
  await h.registry.putService("svc", { healthCheck: { ...CHECK, intervalMs: 2000 } });
  assert.deepEqual(h.prober.opened.map((t) => t.port), [1, 2, 2]);
  await h.advance(4000);
  assert.deepEqual(h.prober.checks(2).map((t) => t - h.prober.checks(2)[0]!), [0, 2000]);
  await h.close();
});

test("health - removing the service's healthCheck stops the checks and makes healthy what the checks made unhealthy", async () => {
  const h = await setupHealth();
  await putChecked(h.registry, "svc", CHECK, [1, 2]);
  await h.registry.setHealth("svc", "i2", "unhealthy"); // set by someone else, not the checks
  h.prober.answer(1, "fail");
  h.prober.answer(2, "hang");
  await h.advance(3000);
  assert.equal(h.instance("svc", "i1")?.health, "unhealthy");
  await h.registry.putService("svc", {});
  await h.advance(100);
  assert.equal(h.instance("svc", "i1")?.health, "healthy");
  assert.equal(h.instance("svc", "i2")?.health, "unhealthy", "a health the monitor did not decide is left alone");
  assert.equal(h.clock.pending(), 0);
  await h.close();
});

test("health - a draining instance is checked but its health is never overwritten", async () => {
  const h = await setupHealth();
  await putChecked(h.registry, "svc", CHECK, [1]);
  await h.registry.putInstance("svc", "i1", { address: "10.0.0.1", port: 1, health: "draining" });
  h.prober.answer(1, "fail");
  await h.advance(5000);
  assert.equal(h.instance("svc", "i1")?.health, "draining");
  assert.ok(h.prober.checks(1).length >= 4);
  await h.close();
});

test("health - only owned instances are checked; an ownership change starts and stops checks", async () => {
  const ownership = createFakeOwnership((_service, id) => id === "i1");
  const h = await setupHealth({ ownership });
  await putChecked(h.registry, "svc", CHECK, [1, 2]);
  await h.advance(2000);
  assert.equal(h.prober.checks(1).length, 2);
  assert.equal(h.prober.checks(2).length, 0);
  ownership.set((_service, id) => id === "i2");
  await h.advance(2000);
  assert.equal(h.prober.checks(1).length, 2, "i1 is no longer checked here");
  assert.equal(h.prober.checks(2).length, 2);
  assert.equal(h.prober.closed(1), 1);
  await h.close();
});

test("health - stop ends every check and timer and writes nothing more", async () => {
  const h = await setupHealth();
  await putChecked(h.registry, "svc", CHECK, [1, 2, 3]);
  h.prober.answer(1, "fail");
  await h.advance(2000);
  const revision = h.registry.view().revision;
  await h.monitor.stop();
  assert.equal(h.clock.pending(), 0);
  await h.advance(5000);
  assert.equal(h.registry.view().revision, revision);
  await h.registry.close();
});

test("health - lastChecks: each tracked instance's last check with its detail; TTL instances by their last heartbeat; forgotten with the instance", async () => {
  const h = await setupHealth();
  await putChecked(h.registry, "svc", CHECK, [1, 2]);
  h.prober.answer(2, "fail");
  assert.deepEqual([...h.monitor.lastChecks("svc")], [], "no check has run yet");
  await h.advance(600); // first checks at 500
  assert.deepEqual(Object.fromEntries(h.monitor.lastChecks("svc")), {
    i1: { kind: "grpc", ok: true, detail: "grpc SERVING", at: 1_000_500 },
    i2: { kind: "grpc", ok: false, detail: "connection refused", at: 1_000_500 },
  });
  await h.registry.deleteInstance("svc", "i2");
  assert.deepEqual([...h.monitor.lastChecks("svc").keys()], ["i1"]);
  await h.registry.putInstance("ttl", "t1", { address: "10.0.0.2", port: 3, ttlMs: 10_000 });
  await h.advance(1000);
  h.monitor.heartbeat("ttl", "t1");
  assert.deepEqual(Object.fromEntries(h.monitor.lastChecks("ttl")), { t1: { at: h.clock.now(), ok: true, detail: "heartbeat", kind: "ttl" } });
  assert.deepEqual([...h.monitor.lastChecks("nothing")], []);
  await h.close();
});
