import assert from "node:assert/strict";
import { test } from "node:test";
import { createBackoff } from "../../src/clock/index.js";
import { ValidationError } from "../../src/errors/index.js";
import { WATCH_BACKOFF, watchBackoff, type WatchBackoff } from "../../src/registry/stores/etcd-kv.js";

/** Returns the given values in turn, then repeats the last one. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}

const middle = () => 0.5;

test("backoff - grows by the multiplier from initialMs", () => {
  const backoff = createBackoff({ random: middle });
  assert.deepEqual(
    Array.from({ length: 5 }, () => backoff.next()),
    [500, 800, 1280, 2048, 3277],
  );
});

test("backoff - never exceeds maxMs, with or without jitter", () => {
  const high = createBackoff({ initialMs: 1000, maxMs: 5000, multiplier: 2, random: () => 0.999999 });
  const delays = Array.from({ length: 10 }, () => high.next());
  assert.ok(delays.every((d) => d <= 5000), String(delays));
  assert.equal(delays.at(-1), 5000);
  const low = createBackoff({ initialMs: 1000, maxMs: 5000, multiplier: 2, random: () => 0 });
  assert.deepEqual(Array.from({ length: 5 }, () => low.next()), [800, 1600, 3200, 4000, 4000]);
});

test("backoff - applies jitter of ±jitter around the base", () => {
  const backoff = createBackoff({ initialMs: 1000, multiplier: 1, jitter: 0.2, random: sequence(0, 1 - Number.EPSILON, 0.25) });
  assert.equal(backoff.next(), 800);
  assert.equal(backoff.next(), 1200);
  assert.equal(backoff.next(), 900);
});

test("backoff - without jitter is exact", () => {
  const backoff = createBackoff({ initialMs: 100, multiplier: 3, jitter: 0, random: sequence(0, 0.9) });
  assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [100, 300, 900]);
});

test("backoff - reset starts over from initialMs", () => {
  const backoff = createBackoff({ random: middle });
  backoff.next();
  backoff.next();
  backoff.next();
  backoff.reset();
  assert.equal(backoff.next(), 500);
  assert.equal(backoff.next(), 800);
});

test("backoff - is deterministic with an injected random source", () => {
  const run = () => {
    const backoff = createBackoff({ random: sequence(0.1, 0.7, 0.3, 0.9, 0.5) });
    return Array.from({ length: 5 }, () => backoff.next());
  };
  assert.deepEqual(run(), run());
});

test("backoff - clamps a random source that leaves [0, 1)", () => {
  const backoff = createBackoff({ initialMs: 1000, multiplier: 1, random: sequence(-5, 7) });
  assert.equal(backoff.next(), 800);
  assert.equal(backoff.next(), 1200);
});

test("backoff - rejects bad options with every problem", () => {
  assert.throws(
    () => createBackoff({ initialMs: 0, maxMs: -1, multiplier: 0.5, jitter: 1.5, jitterAboveMax: "no" as unknown as boolean, random: 3 as unknown as () => number }),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual(err.issues.map((i) => i.path), ["initialMs", "maxMs", "multiplier", "jitter", "jitterAboveMax", "random"]);
      return true;
    },
  );
  assert.throws(() => createBackoff({ initialMs: 2000, maxMs: 1000 }), /maxMs: must be a number ≥ initialMs \(2000\), got 1000/);
});

test("backoff - with jitterAboveMax, jitter stays symmetric around a capped base", () => {
  const high = createBackoff({ initialMs: 1000, maxMs: 4000, multiplier: 2, jitter: 0.5, jitterAboveMax: true, random: () => 1 - Number.EPSILON });
  assert.deepEqual(Array.from({ length: 5 }, () => high.next()), [1500, 3000, 6000, 6000, 6000]);
  const low = createBackoff({ initialMs: 1000, maxMs: 4000, multiplier: 2, jitter: 0.5, jitterAboveMax: true, random: () => 0 });
  assert.deepEqual(Array.from({ length: 4 }, () => low.next()), [500, 1000, 2000, 2000]);
});

test("backoff - a jitter of 1 spans zero to twice the base", () => {
  const backoff = createBackoff({ initialMs: 1000, multiplier: 1, jitter: 1, random: sequence(0, 0.75) });
  assert.deepEqual([backoff.next(), backoff.next()], [0, 1500]);
});

test("backoff - etcd's watch backoff, as etcd3 walks it: 100–200 ms doubling, under 2 s, each series fresh", () => {
  const series = (first: WatchBackoff, n: number) => {
    const out: number[] = [];
    for (let step = first.next(); out.length < n; step = step.next()) out.push(step.duration);
    return out;
  };
  assert.deepEqual(series(watchBackoff({ ...WATCH_BACKOFF, random: () => 0 }), 7), [100, 200, 400, 800, 1000, 1000, 1000]);
  assert.deepEqual(series(watchBackoff({ ...WATCH_BACKOFF, random: () => 1 - Number.EPSILON }), 7), [200, 400, 800, 1600, 2000, 2000, 2000]);
  const first = watchBackoff({ ...WATCH_BACKOFF, random: sequence(0.1, 0.2, 0.3, 0.4) });
  const step = first.next();
  assert.equal(step.next(), step.next(), "a step is immutable: asking twice gives the same next step");
  assert.deepEqual([step.duration, step.next().duration], [110, 240]);
  assert.equal(first.next().duration, 130, "a new series starts from the first delay again");
});
