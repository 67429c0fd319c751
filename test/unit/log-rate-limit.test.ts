import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { createFakeClock } from "../helpers/fake-clock.js";
import { clip, createLimitedLog, createLogRateLimiter, OVERFLOW_KEY } from "../../src/log/index.js";
import { capture } from "../helpers/io.js";

test("log rate limit - a key writes linesPerWindow lines per window; the next window's first line reports what was held back", () => {
  const clock = createFakeClock(1_000);
  const limiter = createLogRateLimiter({ now: clock.now, windowMs: 10_000, linesPerWindow: 3 });
  const first = Array.from({ length: 10 }, () => limiter.admit("nack/node-1"));
  assert.deepEqual(first.map((a) => a.write), [true, true, true, false, false, false, false, false, false, false]);
  assert.deepEqual(first.map((a) => a.suppressed), [0, 0, 0, 1, 2, 3, 4, 5, 6, 7]);
  clock.advance(9_999);
  assert.deepEqual(limiter.admit("nack/node-1"), { write: false, suppressed: 8 });
  clock.advance(1);
  assert.deepEqual(limiter.admit("nack/node-1"), { write: true, suppressed: 8 });
  assert.deepEqual(limiter.admit("nack/node-1"), { write: true, suppressed: 0 });
});

test("log rate limit - keys are limited independently", () => {
  const clock = createFakeClock();
  const limiter = createLogRateLimiter({ now: clock.now, linesPerWindow: 1 });
  assert.equal(limiter.admit("a").write, true);
  assert.equal(limiter.admit("a").write, false);
  assert.equal(limiter.admit("b").write, true);
  assert.equal(limiter.size(), 2);
});

test("log rate limit - past maxKeys, new keys share the overflow key; quiet expired keys make room again", () => {
  const clock = createFakeClock();
  const limiter = createLogRateLimiter({ now: clock.now, windowMs: 1_000, linesPerWindow: 1, maxKeys: 3 });
  for (const key of ["a", "b", "c"]) assert.equal(limiter.admit(key).write, true);
  assert.equal(limiter.admit("c").write, false); // c now has something to report
  assert.equal(limiter.admit("d").write, true, "the overflow key's first line");
  assert.equal(limiter.admit("e").write, false, "e shares the overflow key's budget");
  assert.equal(limiter.size(), 4, "three keys and the overflow key");
  clock.advance(1_000);
  // a and b are quiet and expired: pruned to make room; c is kept for the count it still has to report.
  assert.equal(limiter.admit("f").write, true);
  assert.equal(limiter.size(), 3);
  assert.deepEqual(limiter.admit("c"), { write: true, suppressed: 1 });
  for (let i = 0; i < 10_000; i++) limiter.admit(`flood-${i}`);
  assert.ok(limiter.size() <= 4, `never more than maxKeys + 1 keys, got ${limiter.size()}`);
  assert.notEqual(OVERFLOW_KEY, "");
});

test("log rate limit - the limited log writes warn lines with the suppressed count and reports each line held back", () => {
  const clock = createFakeClock();
  const out = capture();
  const logger = pino({ level: "info" }, out.stream);
  const held: string[] = [];
  const log = createLimitedLog(logger, createLogRateLimiter({ now: clock.now, windowMs: 1_000, linesPerWindow: 2 }), (kind) => held.push(kind));
  for (let i = 0; i < 50; i++) log.warn("node-1", "nack", { i }, "client NACKed a response");
  log.warn("node-2", "nack", { i: 0 }, "client NACKed a response");
  log.warn("node-1", "unknown-type", { i: 0 }, "unknown type");
  clock.advance(1_000);
  log.warn("node-1", "nack", { i: 50 }, "client NACKed a response");
  const lines = out.text().trim().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(lines.map((l) => [l.level, l.i, l.suppressed, l.msg]), [
    [40, 0, undefined, "client NACKed a response"],
    [40, 1, undefined, "client NACKed a response"],
    [40, 0, undefined, "client NACKed a response"],
    [40, 0, undefined, "unknown type"],
    [40, 50, 48, "client NACKed a response"],
  ]);
  assert.equal(held.length, 48);
  assert.ok(held.every((kind) => kind === "nack"));
});

test("log rate limit - a client's name is clipped in its key: two megabyte names with one prefix share a budget; clip marks what it cut", () => {
  const clock = createFakeClock();
  const limiter = createLogRateLimiter({ now: clock.now, linesPerWindow: 1 });
  const out = capture();
  const log = createLimitedLog(pino({ level: "info" }, out.stream), limiter);
  const prefix = "x".repeat(1_000_000);
  log.warn(`${prefix}-a`, "nack", {}, "m");
  log.warn(`${prefix}-b`, "nack", {}, "m");
  assert.equal(out.text().trim().split("\n").length, 1);
  assert.equal(limiter.size(), 1);
  assert.equal(clip("abcdef", 10), "abcdef");
  assert.equal(clip("abcdef", 3), "abc…[+3 chars]");
});
