import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { EVENT_LOOP_DELAY_BUCKETS, createMetrics, registerEventLoopDelay, type DelaySamples } from "../../src/metrics/index.js";

const MS = 1e6;
const RESOLUTION_MS = 10;

/** Samples as perf_hooks records them (nanoseconds: the timer's period plus the delay), with HDR-like percentiles. */
function fakeSamples(): DelaySamples & { record(delayMs: number): void; resets: number } {
  let values: number[] = [];
  return {
    resets: 0,
    record(delayMs) {
      values.push((RESOLUTION_MS + delayMs) * MS);
      values.sort((a, b) => a - b);
    },
    get count() {
      return values.length;
    },
    get min() {
      return values.length === 0 ? 9.2e18 : values[0]!;
    },
    get max() {
      return values.length === 0 ? 0 : values[values.length - 1]!;
    },
    get mean() {
      return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
    },
    percentile(p) {
      const rank = Math.max(1, Math.ceil((p / 100) * values.length));
      return values[rank - 1] ?? 0;
    },
    reset() {
      values = [];
      this.resets++;
    },
  };
}

/** `name{labels}` → value, from the Prometheus text. */
async function scrape(registry: Registry): Promise<Map<string, number>> {
  const lines = (await registry.metrics()).split("\n").filter((line) => line !== "" && !line.startsWith("#"));
  return new Map(lines.map((line) => {
    const space = line.lastIndexOf(" ");
    return [line.slice(0, space), Number(line.slice(space + 1))];
  }));
}

const bucket = (le: number | string) => `steadymesh_event_loop_delay_seconds_bucket{le="${le}"}`;

describe("metrics event loop delay", () => {
  it("metrics - event-loop delay: every sample lands in its buckets, with sum and count, across scrapes", async () => {
    const registry = new Registry();
    const samples = fakeSamples();
    registerEventLoopDelay(registry, { samples, resolutionMs: RESOLUTION_MS });
    for (const delayMs of [0.2, 0.4, 3, 30, 30, 700]) samples.record(delayMs);
    const first = await scrape(registry);
    const expected = (delaysMs: number[]) => EVENT_LOOP_DELAY_BUCKETS.map((le) => delaysMs.filter((d) => d <= le * 1000).length);
    assert.deepEqual(EVENT_LOOP_DELAY_BUCKETS.map((le) => first.get(bucket(le))), expected([0.2, 0.4, 3, 30, 30, 700]));
    assert.equal(first.get(bucket("+Inf")), 6);
    assert.equal(first.get("steadymesh_event_loop_delay_seconds_count"), 6);
    assert.ok(Math.abs(first.get("steadymesh_event_loop_delay_seconds_sum")! - 0.7636) < 1e-9);
    assert.ok(samples.resets >= 1, "the monitor starts afresh once drained");

    // The histogram is cumulative: a second scrape adds what came since, and counts nothing twice.
    samples.record(8);
    const second = await scrape(registry);
    assert.deepEqual(EVENT_LOOP_DELAY_BUCKETS.map((le) => second.get(bucket(le))), expected([0.2, 0.4, 3, 30, 30, 700, 8]));
    assert.equal(second.get("steadymesh_event_loop_delay_seconds_count"), 7);
  });

  it("metrics - event-loop delay: the max gauge is the longest delay since the previous scrape", async () => {
    const registry = new Registry();
    const samples = fakeSamples();
    registerEventLoopDelay(registry, { samples, resolutionMs: RESOLUTION_MS });
    samples.record(1400);
    samples.record(2);
    assert.ok(Math.abs((await scrape(registry)).get("steadymesh_event_loop_delay_max_seconds")! - 1.4) < 1e-9);
    samples.record(5);
    assert.ok(Math.abs((await scrape(registry)).get("steadymesh_event_loop_delay_max_seconds")! - 0.005) < 1e-9);
    assert.equal((await scrape(registry)).get("steadymesh_event_loop_delay_max_seconds"), 0, "no sample since the last scrape");
  });

  it("metrics - event-loop delay: a scrape asks the monitor a bounded number of questions, however many samples", async () => {
    const registry = new Registry();
    const samples = fakeSamples();
    let asked = 0;
    const counting: DelaySamples = Object.assign(Object.create(samples) as DelaySamples, {
      percentile(p: number) {
        asked++;
        return samples.percentile(p);
      },
    });
    registerEventLoopDelay(registry, { samples: counting, resolutionMs: RESOLUTION_MS });
    for (let i = 0; i < 20_000; i++) samples.record((i % 100) / 10);
    const scraped = await scrape(registry);
    assert.equal(scraped.get("steadymesh_event_loop_delay_seconds_count"), 20_000);
    assert.equal(scraped.get(bucket(0.005)), 10_200, "delays 0.0–5.0 ms: 51 of every 100");
    assert.ok(asked <= EVENT_LOOP_DELAY_BUCKETS.length * 40, `${asked} percentile questions`);
  });

  it("metrics - the default metrics include the event-loop delay histogram and max", async () => {
    const text = await createMetrics().registry.metrics();
    assert.match(text, /^# TYPE steadymesh_event_loop_delay_seconds histogram$/m);
    assert.match(text, /^steadymesh_event_loop_delay_seconds_bucket\{le="\+Inf"\} \d+$/m);
    assert.match(text, /^steadymesh_event_loop_delay_max_seconds \d/m);
    assert.doesNotMatch(await createMetrics({ processMetrics: false }).registry.metrics(), /event_loop_delay/);
  });
});
