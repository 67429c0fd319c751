import { monitorEventLoopDelay } from "node:perf_hooks";
import { Gauge, type Registry } from "prom-client";

/** The histogram of every delay since start. */
export const EVENT_LOOP_DELAY_METRIC = "steadymesh_event_loop_delay_seconds";
/** The gauge of the longest delay since the previous scrape. */
export const EVENT_LOOP_DELAY_MAX_METRIC = "steadymesh_event_loop_delay_max_seconds";

/** Upper bounds, in seconds of delay. The goal for a loaded server is at most 50 ms (README, "Scale"). */
export const EVENT_LOOP_DELAY_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** How often the loop is sampled: a timer of this period, each firing recording how late it ran. */
export const EVENT_LOOP_DELAY_RESOLUTION_MS = 10;

/**
 * The read side of perf_hooks' IntervalHistogram (nanoseconds), so tests can
 * pass samples of their own. Each sample is the time between two firings of
 * a `resolution` timer: the resolution itself plus the delay.
 */
export interface DelaySamples {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** The smallest recorded value that `p` percent of the samples do not exceed (0 < p ≤ 100). */
  percentile(p: number): number;
  reset(): void;
}

/** Where the samples come from and their timer's period; by default a perf_hooks monitor of EVENT_LOOP_DELAY_RESOLUTION_MS. */
export interface EventLoopDelayOptions {
  readonly samples?: DelaySamples;
  readonly resolutionMs?: number;
}

/**
 * Registers, in `registry`, `steadymesh_event_loop_delay_seconds`: a
 * Prometheus histogram (buckets, `_sum`, `_count`) of how late the event loop
 * ran a `resolutionMs` timer, every sample since start; and
 * `steadymesh_event_loop_delay_max_seconds`: the longest delay since the
 * previous scrape (a stall shorter than the scrape interval still shows).
 *
 * The monitor's samples move into the histogram at each scrape: each bucket's
 * count is read off the monitor's percentiles (a bisection, a few hundred
 * calls whatever the number of samples), then the monitor starts afresh. So a
 * scrape costs the same after a second or a day without one, and the loop is
 * not sampled by a timer of ours.
 */
export function registerEventLoopDelay(registry: Registry, options: EventLoopDelayOptions = {}): void {
  const resolutionMs = options.resolutionMs ?? EVENT_LOOP_DELAY_RESOLUTION_MS;
  const samples = options.samples ?? startMonitor(resolutionMs);
  const delays = new DelayTotals(samples, resolutionMs * 1e6);
  registry.registerMetric(histogramMetric(delays, resolutionMs) as unknown as Gauge);
  new Gauge({
    name: EVENT_LOOP_DELAY_MAX_METRIC,
    help: "The longest event-loop delay since the previous scrape, in seconds.",
    registers: [registry],
    collect() {
      delays.drain();
      this.set(delays.takeMax());
    },
  });
}

function startMonitor(resolutionMs: number): DelaySamples {
  // The monitor's timer is unref'd: it does not keep the process alive.
  const monitor = monitorEventLoopDelay({ resolution: resolutionMs });
  monitor.enable();
  return monitor;
}

/** Cumulative bucket counts of every sample drained so far, and the max since it was last taken. */
class DelayTotals {
  /** Samples at most each bound, same order as EVENT_LOOP_DELAY_BUCKETS. */
  readonly atMost = EVENT_LOOP_DELAY_BUCKETS.map(() => 0);
  count = 0;
  sumSeconds = 0;
  private maxSeconds = 0;

  constructor(
    private readonly samples: DelaySamples,
    private readonly resolutionNs: number,
  ) {}

  /** Moves the monitor's samples into the totals and starts it afresh. */
  drain(): void {
    const { count } = this.samples;
    if (count === 0) return;
    EVENT_LOOP_DELAY_BUCKETS.forEach((bound, i) => {
      this.atMost[i]! += this.countAtMost(bound * 1e9 + this.resolutionNs, count);
    });
    this.count += count;
    this.sumSeconds += (count * Math.max(0, this.samples.mean - this.resolutionNs)) / 1e9;
    this.maxSeconds = Math.max(this.maxSeconds, (this.samples.max - this.resolutionNs) / 1e9);
    this.samples.reset();
  }

  /** Forgets every sample so far, drained or not. */
  reset(): void {
    this.atMost.fill(0);
    this.count = 0;
    this.sumSeconds = 0;
    this.maxSeconds = 0;
    this.samples.reset();
  }

  /** The max since the last call; 0 when no sample came in between. */
  takeMax(): number {
    const max = this.maxSeconds;
    this.maxSeconds = 0;
    return max;
  }

  /** Samples of at most `valueNs`: the largest percentile whose value does not pass it, found by bisection. */
  private countAtMost(valueNs: number, count: number): number {
    if (valueNs >= this.samples.max) return count;
    if (valueNs < this.samples.min) return 0;
    let low = 0;
    let high = 100;
    for (let step = 0; step < 40; step++) {
      const middle = (low + high) / 2;
      if (this.samples.percentile(middle) <= valueNs) low = middle;
      else high = middle;
    }
    return Math.round((count * low) / 100);
  }
}

/**
 * A histogram as prom-client's registry reads one (`get()` with bucket,
 * `_sum` and `_count` values): prom-client's own Histogram takes samples
 * only one `observe` at a time, and the monitor gives counts.
 */
function histogramMetric(delays: DelayTotals, resolutionMs: number) {
  const name = EVENT_LOOP_DELAY_METRIC;
  const help = `How late the event loop ran a ${resolutionMs} ms timer (perf_hooks.monitorEventLoopDelay), in seconds.`;
  return {
    name,
    help,
    type: "histogram",
    aggregator: "sum",
    async get() {
      delays.drain();
      const buckets = EVENT_LOOP_DELAY_BUCKETS.map((le, i) => ({ labels: { le }, value: delays.atMost[i]!, metricName: `${name}_bucket` }));
      return {
        name,
        help,
        type: "histogram",
        aggregator: "sum",
        values: [
          ...buckets,
          { labels: { le: "+Inf" }, value: delays.count, metricName: `${name}_bucket` },
          { labels: {}, value: delays.sumSeconds, metricName: `${name}_sum` },
          { labels: {}, value: delays.count, metricName: `${name}_count` },
        ],
      };
    },
    /** Registry.resetMetrics: back to no samples, as prom-client's own histograms do. */
    reset() {
      delays.reset();
    },
  };
}
