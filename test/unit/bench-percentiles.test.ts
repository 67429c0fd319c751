import assert from "node:assert/strict";
import { test } from "node:test";
import { median, summarise } from "../../bench/percentiles.js";

/** 1.25, 2.25, … n + 0.25 ms, shuffled. */
function samples(n: number): number[] {
  const values = Array.from({ length: n }, (_, i) => i + 1.25);
  for (let i = n - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}

test("bench percentiles - nearest rank: the sample of rank ⌈p·n/100⌉, to the hundredth of a ms", () => {
  assert.deepEqual(summarise(samples(100), 1), { p50: 50.25, p99: 99.25, max: 100.25, samples: 100, missing: 1 });
  // 0.99 × 170 = 168.3: rank 169 (HDR's own rounding would pick 168).
  assert.deepEqual(summarise(samples(170)), { p50: 85.25, p99: 169.25, max: 170.25, samples: 170, missing: 0 });
  assert.deepEqual(summarise([2345.678, 0.004, 12.345]), { p50: 12.35, p99: 2345.68, max: 2345.68, samples: 3, missing: 0 });
});

test("bench percentiles - no samples give NaN figures", () => {
  const none = summarise([], 3);
  assert.ok([none.p50, none.p99, none.max].every(Number.isNaN));
  assert.deepEqual([none.samples, none.missing], [0, 3]);
});

test("bench percentiles - the median of rounds is the middle one, the upper middle for an even count", () => {
  assert.equal(median([30, 10, 20]), 20);
  assert.equal(median([40, 10, 30, 20]), 30);
  assert.equal(median([123_456_789, 5]), 123_456_789);
});
