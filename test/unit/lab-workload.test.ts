import assert from "node:assert/strict";
import { test } from "node:test";
import { createFakeClock } from "../helpers/fake-clock.js";
import { createRng, startUserPool, type Outcome } from "../../src/lab/workload/index.js";

const settle = () => new Promise((r) => setImmediate(r));

test("lab - the seeded RNG repeats for a seed and differs across seeds", () => {
  const a = createRng(42);
  const b = createRng(42);
  const c = createRng(43);
  const seqA = Array.from({ length: 5 }, a);
  assert.deepEqual(seqA, Array.from({ length: 5 }, b));
  assert.notDeepEqual(seqA, Array.from({ length: 5 }, c));
  assert.ok(seqA.every((x) => x >= 0 && x < 1));
});

test("lab - logged-out users log in at the configured rate and then stay logged in", async () => {
  const clock = createFakeClock();
  const logins: number[] = [];
  const pool = startUserPool({
    users: 10, loggedInShare: 0, loginRatePerSec: 2, meRatePerSec: 0,
    retry: { baseMs: 1000, maxMs: 8000, jitter: 0.2 }, clock, rng: createRng(1),
    login: async (u) => (logins.push(u), { ok: true }), me: async () => ({ ok: true }), record: () => undefined,
  });
  for (let i = 0; i < 10; i++) {
    clock.advance(500);
    await settle();
  }
  assert.equal(logins.length, 10, "2 per second for 5 s");
  assert.equal(new Set(logins).size, 10, "each user logs in once");
  assert.equal(pool.loggedIn(), 10);
  pool.stop();
});

test("lab - a failed login is retried by the same user with growing backoff (the retry herd)", async () => {
  const clock = createFakeClock();
  const attemptsAt: number[] = [];
  let fail = true;
  const recorded: Outcome[] = [];
  const pool = startUserPool({
    users: 1, loggedInShare: 0, loginRatePerSec: 1, meRatePerSec: 0,
    retry: { baseMs: 1000, maxMs: 4000, jitter: 0 }, clock, rng: createRng(7),
    login: async () => (attemptsAt.push(clock.now()), fail ? { ok: false, code: "UNAVAILABLE" } : { ok: true }),
    me: async () => ({ ok: true }), record: (_kind, o) => recorded.push(o),
  });
  for (let i = 0; i < 200; i++) {
    clock.advance(100);
    await settle();
  }
  const gaps = attemptsAt.slice(1).map((t, i) => t - attemptsAt[i]!);
  // Each retry waits its backoff after the failure is seen; the fake clock moves in 100 ms steps.
  [1000, 2000, 4000, 4000].forEach((want, i) => assert.ok(gaps[i]! >= want && gaps[i]! < want + 100, `gap ${i}: ${gaps[i]} for ${want} (doubling, capped at maxMs)`));
  fail = false;
  for (let i = 0; i < 50; i++) {
    clock.advance(100);
    await settle();
  }
  assert.equal(pool.loggedIn(), 1);
  assert.ok(recorded.some((o) => o.code === "UNAVAILABLE") && recorded.at(-1)!.ok);
  pool.stop();
});

test("lab - a retry's jitter is symmetric around the capped delay, so it may wait longer than maxMs", async () => {
  const clock = createFakeClock();
  const attemptsAt: number[] = [];
  const pool = startUserPool({
    users: 1, loggedInShare: 0, loginRatePerSec: 1, meRatePerSec: 0,
    retry: { baseMs: 1000, maxMs: 1000, jitter: 0.5 }, clock, rng: () => 0.9,
    login: async () => (attemptsAt.push(clock.now()), { ok: false, code: "UNAVAILABLE" }),
    me: async () => ({ ok: true }), record: () => undefined,
  });
  for (let i = 0; i < 60; i++) {
    clock.advance(100);
    await settle();
  }
  const gaps = attemptsAt.slice(1).map((t, i) => t - attemptsAt[i]!);
  assert.ok(gaps.length >= 3, `${gaps.length} retries`);
  // min(1000, 1000·2^n) · (1 + 0.5·(2·0.9 - 1)) = 1400 ms; the fake clock moves in 100 ms steps.
  assert.ok(gaps.every((gap) => gap >= 1400 && gap < 1500), String(gaps));
  pool.stop();
});

test("lab - logged-in users call me; with nobody logged out, sessions end so logins go on at the rate", async () => {
  const clock = createFakeClock();
  let me = 0;
  let logins = 0;
  const pool = startUserPool({
    users: 4, loggedInShare: 1, loginRatePerSec: 4, meRatePerSec: 1,
    retry: { baseMs: 1000, maxMs: 4000, jitter: 0.2 }, clock, rng: createRng(3),
    login: async () => (logins++, { ok: true }), me: async () => (me++, { ok: true }), record: () => undefined,
  });
  for (let i = 0; i < 20; i++) {
    clock.advance(100);
    await settle();
  }
  assert.ok(me >= 6, `me calls: ${me}`);
  assert.equal(logins, 8, "4 logins a second for 2 s, from users whose sessions ended");
  pool.logOutAll();
  assert.equal(pool.loggedIn(), 0);
  for (let i = 0; i < 10; i++) {
    clock.advance(100);
    await settle();
  }
  assert.equal(pool.loggedIn(), 4, "logged-out users log in first");
  pool.stop();
  assert.equal(clock.pending(), 0, "stop cancels every timer");
});
