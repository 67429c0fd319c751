import assert from "node:assert/strict";
import { test } from "node:test";
import { createFakeClock } from "../helpers/fake-clock.js";
import { isLoopback, rateLimitFor } from "../../src/dns/dns-server.js";
import { createRateLimiter, RATE_LIMIT_DEFAULTS, sourcePrefix } from "../../src/dns/rate-limit.js";

test("dns rate limit - a prefix gets its rate as a burst, then one response per 1/rate s; slip sends every Nth over the rate", () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter({ responsesPerSecond: 10, slip: 3 }, clock);
  const decide = (n: number, address = "203.0.113.9") => Array.from({ length: n }, () => limiter.decide(address));
  assert.deepEqual(decide(10), Array<string>(10).fill("send"));
  assert.deepEqual(decide(6), ["drop", "drop", "slip", "drop", "drop", "slip"]);
  clock.advance(100);
  assert.deepEqual(decide(2), ["send", "drop"], "100 ms at 10/s is one token");
  assert.deepEqual(decide(1, "203.0.114.9"), ["send"]);
  const never = createRateLimiter({ responsesPerSecond: 1, slip: 0 }, clock);
  assert.deepEqual([never.decide("::1"), never.decide("::1"), never.decide("::1")], ["send", "drop", "drop"]);
});

test("dns rate limit - at most maxPrefixes are tracked; the least recently seen is forgotten first", () => {
  const clock = createFakeClock(0);
  const limiter = createRateLimiter({ responsesPerSecond: 1, slip: 0, maxPrefixes: 3 }, clock);
  for (let i = 0; i < 100; i++) limiter.decide(`10.0.${i}.1`);
  assert.equal(limiter.size(), 3);
  assert.equal(limiter.decide("10.0.99.1"), "drop", "still tracked");
  assert.equal(limiter.decide("10.0.0.1"), "send", "forgotten, so its bucket is full again");
});

test("dns rate limit - sources group by /24 and /56; IPv4-mapped addresses count as IPv4", () => {
  assert.equal(sourcePrefix("192.0.2.77", 24, 56), "192.0.2.0/24");
  assert.equal(sourcePrefix("::ffff:192.0.2.77", 24, 56), "192.0.2.0/24");
  assert.equal(sourcePrefix("2001:db8:1:2ff:aaaa::1", 24, 56), "2001:db8:1:200:0:0:0:0/56");
  assert.equal(sourcePrefix("2001:db8:1:2ff::1", 24, 64), "2001:db8:1:2ff:0:0:0:0/64");
  assert.equal(sourcePrefix("::1", 24, 128), "0:0:0:0:0:0:0:1/128");
  assert.equal(sourcePrefix("fe80::1%eth0", 24, 56), "fe80:0:0:0:0:0:0:0/56");
  assert.equal(sourcePrefix("10.1.2.3", 32, 64), "10.1.2.3/32");
});

test("dns rate limit - bad options are refused with the field and range; loopback is 127/8 and ::1", () => {
  const clock = createFakeClock(0);
  assert.throws(() => createRateLimiter({ responsesPerSecond: 0, slip: 2 }, clock), /^SteadyError: dns rate limit responsesPerSecond: must be an integer from 1 to 1000000, got 0$/);
  assert.throws(() => createRateLimiter({ responsesPerSecond: 5, slip: -1 }, clock), /slip: must be an integer from 0 to 10/);
  assert.deepEqual(["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"].map(isLoopback), [true, true, true, true]);
  assert.deepEqual(["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "fe80::1"].map(isLoopback), [false, false, false, false, false]);
});

test("dns rate limit - on by default when bound beyond loopback, off on loopback, and as configured when given", () => {
  assert.deepEqual(rateLimitFor("0.0.0.0", undefined), RATE_LIMIT_DEFAULTS);
  assert.deepEqual(rateLimitFor("10.0.0.5", undefined), RATE_LIMIT_DEFAULTS);
  assert.deepEqual(rateLimitFor("::", undefined), RATE_LIMIT_DEFAULTS);
  assert.equal(rateLimitFor("127.0.0.1", undefined), undefined);
  assert.equal(rateLimitFor("::1", undefined), undefined);
  assert.equal(rateLimitFor("0.0.0.0", false), undefined);
  assert.deepEqual(rateLimitFor("127.0.0.1", { responsesPerSecond: 7, slip: 1 }), { responsesPerSecond: 7, slip: 1 });
});
