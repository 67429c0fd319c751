import assert from "node:assert/strict";
import { test } from "node:test";
import { ConflictError, NotFoundError, ValidationError } from "../../src/errors/index.js";
import { createHealthMonitor } from "../../src/health/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { CHECK, metricValue, setupHealth } from "./health-fixtures.js";

const TTL_INSTANCE = { address: "10.0.0.1", port: 1, ttlMs: 2000 };

test("health ttl - no heartbeat for ttlMs: unhealthy; then removed once the grace period has passed", async () => {
  const h = await setupHealth({ ttlGraceMs: 5000 });
  await h.registry.putInstance("svc", "t1", TTL_INSTANCE);
  await h.advance(1900);
  assert.equal(h.instance("svc", "t1")?.health, "healthy");
  await h.advance(200);
  assert.equal(h.instance("svc", "t1")?.health, "unhealthy");
  await h.advance(4800);
  assert.ok(h.instance("svc", "t1"), "still registered during the grace period");
  await h.advance(200);
  assert.equal(h.instance("svc", "t1"), undefined);
  const lines = h.logLines();
  assert.equal(lines.find((l) => l.to === "unhealthy")?.why, "no heartbeat for 2000 ms (ttlMs 2000)");
  assert.equal(lines.find((l) => l.msg === "instance svc/t1 removed")?.why, "no heartbeat for 7000 ms (ttlMs 2000), and the 5000 ms grace period has passed");
  assert.equal(await metricValue(h.metrics, "steadymesh_ttl_removals_total"), 1);
  assert.equal(h.clock.pending(), 0, "nothing left running for the removed instance");
  await h.close();
});

test("health ttl - heartbeats keep an instance healthy without changing the revision", async () => {
  const h = await setupHealth();
  await h.registry.putInstance("svc", "t1", TTL_INSTANCE);
  const revision = h.registry.view().revision;
  for (let i = 0; i < 10; i++) {
    await h.advance(1500);
    const answer = h.monitor.heartbeat("svc", "t1");
    assert.deepEqual(answer, { service: "svc", id: "t1", ttlMs: 2000, expiresAt: new Date(h.clock.now() + 2000).toISOString() });
  }
  assert.equal(h.instance("svc", "t1")?.health, "healthy");
  assert.equal(h.registry.view().revision, revision, "heartbeats write nothing");
  assert.equal(await metricValue(h.metrics, "steadymesh_heartbeats_total"), 10);
  await h.close();
});

test("health ttl - a heartbeat while unhealthy makes the instance healthy again and restarts its TTL", async () => {
  const h = await setupHealth({ ttlGraceMs: 5000 });
  await h.registry.putInstance("svc", "t1", TTL_INSTANCE);
  await h.advance(6000);
  assert.equal(h.instance("svc", "t1")?.health, "unhealthy");
  h.monitor.heartbeat("svc", "t1");
  await h.advance(100);
  assert.equal(h.instance("svc", "t1")?.health, "healthy");
  assert.equal(h.logLines().find((l) => l.to === "healthy")?.why, "heartbeat received");
  await h.advance(2000);
  assert.equal(h.instance("svc", "t1")?.health, "unhealthy", "a fresh TTL, not a permanent pass");
  await h.advance(4000);
  assert.ok(h.instance("svc", "t1"), "the grace period counts from the last heartbeat's TTL");
  await h.close();
});

test("health ttl - heartbeat errors: bad name, unknown service or instance, instance without ttlMs", async () => {
  const h = await setupHealth();
  await h.registry.putInstance("svc", "plain", { address: "10.0.0.1", port: 1 });
  assert.throws(() => h.monitor.heartbeat("Bad_Name", "x"), ValidationError);
  assert.throws(() => h.monitor.heartbeat("nope", "x"), (err) => err instanceof NotFoundError && err.message === `service "nope" not found`);
  assert.throws(() => h.monitor.heartbeat("svc", "x"), (err) => err instanceof NotFoundError && err.message === `instance "x" not found in service "svc"`);
  assert.throws(
    () => h.monitor.heartbeat("svc", "plain"),
    (err) => err instanceof ConflictError && /^instance "plain" of service "svc" has no ttlMs, so it takes no heartbeats; register it with "ttlMs" \(1000–86400000\)/.test(err.message),
  );
  await h.close();
});

test("health ttl - re-registering does not renew the TTL; a new ttlMs counts from the last heartbeat", async () => {
  const h = await setupHealth();
  await h.registry.putInstance("svc", "t1", TTL_INSTANCE);
  await h.advance(1500);
  await h.registry.putInstance("svc", "t1", TTL_INSTANCE);
  await h.advance(600);
  assert.equal(h.instance("svc", "t1")?.health, "unhealthy");
  h.monitor.heartbeat("svc", "t1");
  await h.advance(1000);
  await h.registry.putInstance("svc", "t1", { ...TTL_INSTANCE, ttlMs: 3000 });
  await h.advance(1900);
  assert.equal(h.instance("svc", "t1")?.health, "healthy", "2900 ms after the heartbeat, within the new 3000 ms TTL");
  await h.advance(200);
  assert.equal(h.instance("svc", "t1")?.health, "unhealthy");
  await h.close();
});

test("health ttl - dropping ttlMs stops the TTL and undoes the unhealthy it caused", async () => {
  const h = await setupHealth();
  await h.registry.putInstance("svc", "t1", TTL_INSTANCE);
  await h.advance(2100);
  assert.equal(h.instance("svc", "t1")?.health, "unhealthy");
  await h.registry.putInstance("svc", "t1", { address: "10.0.0.1", port: 1, health: "unhealthy" });
  await h.advance(100);
  assert.equal(h.instance("svc", "t1")?.health, "healthy");
  assert.equal(h.clock.pending(), 0);
  await h.close();
});

test("health ttl - with active checks too, the instance is unhealthy when either says so", async () => {
  const h = await setupHealth();
  await h.registry.putService("svc", { healthCheck: CHECK });
  await h.registry.putInstance("svc", "t1", TTL_INSTANCE);
  h.prober.answer(1, "fail");
  for (let i = 0; i < 4; i++) {
    await h.advance(1000);
    h.monitor.heartbeat("svc", "t1");
  }
  assert.equal(h.instance("svc", "t1")?.health, "unhealthy", "failing checks win over heartbeats");
  await h.advance(2500); // no more heartbeats: the TTL runs out too
  h.prober.answer(1, "pass");
  await h.advance(2000);
  assert.equal(h.instance("svc", "t1")?.health, "unhealthy", "passing checks do not outvote a missed TTL");
  h.monitor.heartbeat("svc", "t1");
  await h.advance(100);
  assert.equal(h.instance("svc", "t1")?.health, "healthy");
  await h.close();
});

test("health ttl - after a restart every TTL instance gets a full TTL, and one stored unhealthy stays so until a heartbeat", async () => {
  const h = await setupHealth({ ttlGraceMs: 60_000 });
  await h.registry.putInstance("svc", "alive", TTL_INSTANCE);
  await h.registry.putInstance("svc", "dead", { ...TTL_INSTANCE, port: TTL_INSTANCE.port + 1 });
  await h.advance(1500);
  h.monitor.heartbeat("svc", "alive");
  await h.advance(1500);
  assert.deepEqual([h.instance("svc", "alive")?.health, h.instance("svc", "dead")?.health], ["healthy", "unhealthy"]);
  await h.monitor.stop();
  await h.advance(10_000); // the control plane is down; nobody counts
  const restarted = createHealthMonitor({ registry: h.registry, clock: h.clock, prober: h.prober, logger: createSilentLogger(), random: () => 0.5 });
  await h.advance(1900);
  assert.deepEqual([h.instance("svc", "alive")?.health, h.instance("svc", "dead")?.health], ["healthy", "unhealthy"]);
  restarted.heartbeat("svc", "dead");
  await h.advance(200);
  assert.deepEqual([h.instance("svc", "alive")?.health, h.instance("svc", "dead")?.health], ["unhealthy", "healthy"]);
  await restarted.stop();
  await h.registry.close();
});

/** A fake shared heartbeat store: beats recorded, and whether the key is alive decided by the test. */
function fakeLiveness(alive: () => boolean | Promise<boolean>) {
  const beats: string[] = [];
  return {
    beats,
    liveness: {
      beat: async (service: string, id: string, ttlMs: number) => void beats.push(`${service}/${id}/${ttlMs}`),
      alive: async () => alive(),
    },
  };
}

test("health ttl - shared heartbeats: a first sighting is written; a live shared key counts as a heartbeat, a lapsed one lets the TTL expire", async () => {
  let sharedAlive = true;
  const shared = fakeLiveness(() => sharedAlive);
  const h = await setupHealth({ ttlGraceMs: 3000, liveness: shared.liveness });
  await h.registry.putInstance("svc", "t1", TTL_INSTANCE);
  await h.advance(100);
  assert.deepEqual(shared.beats, ["svc/t1/2000"], "registration counts as the first beat, shared");
  await h.advance(7000);
  assert.equal(h.instance("svc", "t1")?.health, "healthy", "another replica's heartbeats keep it healthy");
  sharedAlive = false;
  await h.advance(2100);
  assert.equal(h.instance("svc", "t1")?.health, "unhealthy");
  sharedAlive = true;
  await h.advance(2100);
  assert.equal(h.instance("svc", "t1")?.health, "healthy", "a shared heartbeat during the grace period revives it");
  sharedAlive = false;
  await h.advance(2100 + 3100);
  assert.equal(h.instance("svc", "t1"), undefined, "removed once neither memory nor the shared key saw a heartbeat");
  await h.close();
});

test("health ttl - a shared heartbeat store that fails leaves the decision to the local TTL", async () => {
  const shared = fakeLiveness(() => Promise.reject(new Error("etcd down")));
  const h = await setupHealth({ ttlGraceMs: 1000, liveness: shared.liveness });
  await h.registry.putInstance("svc", "t1", TTL_INSTANCE);
  await h.advance(2100);
  assert.equal(h.instance("svc", "t1")?.health, "unhealthy");
  assert.ok(h.logLines().some((l) => l.msg === "could not read the shared heartbeat; the local TTL decides"));
  await h.advance(1100);
  assert.equal(h.instance("svc", "t1"), undefined);
  await h.close();
});
