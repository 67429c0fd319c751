/**
 * The bench's summary figures. Latency percentiles come from perf_hooks'
 * HDR histogram; the median of a few rounds is a plain pick of the middle
 * round (see `median`).
 */
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly samples: number;
  /** Streams that did not get the update within the wait. */
  readonly missing: number;
}

/**
 * Latencies are recorded in hundredths of a millisecond, the precision the
 * figures are reported in. The histogram takes integers from 1 up; with 5
 * significant figures it keeps every value exact up to 2.6 s (2^18
 * hundredths) and within 0.001 % above.
 */
const UNITS_PER_MS = 100;

/**
 * p50, p99 and max of `latencies` (ms), nearest-rank: the sample of rank
 * ⌈p·n/100⌉. NaN for no samples. A latency under 0.005 ms counts as 0.01 ms.
 */
export function summarise(latencies: readonly number[], missing = 0): Percentiles {
  if (latencies.length === 0) return { p50: Number.NaN, p99: Number.NaN, max: Number.NaN, samples: 0, missing };
  const histogram = createHistogram({ figures: 5 });
  for (const ms of latencies) histogram.record(Math.max(1, Math.round(ms * UNITS_PER_MS)));
  const at = (p: number) => nearestRank(histogram, p) / UNITS_PER_MS;
  return { p50: at(50), p99: at(99), max: histogram.max / UNITS_PER_MS, samples: histogram.count, missing };
}

/**
 * HDR's `percentile(q)` is the sample of rank round(q·n/100); asking for
 * q = 100·k/n gets rank k exactly, so these figures keep the nearest-rank
 * definition they were always reported with.
 */
function nearestRank(histogram: RecordableHistogram, p: number): number {
  const n = histogram.count;
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return histogram.percentile((100 * rank) / n);
}

/**
 * The middle value (the upper one of the two middles for an even count) of
 * a few rounds' figures. A pick, not a histogram: the values are rates and
 * byte counts reported to the unit, which the histogram would round above
 * 2^18, and there are only 2 to 5 of them.
 */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
