import type { CohortStats, Counts, FaultWindow, SeriesPoint } from "./model.js";

/**
 * Counts one cohort's attempts during a run and turns them into CohortStats
 * once the fault windows are known. Keeping every attempt (a time and an
 * outcome) is cheap at lab rates, and lets "during fault" use the windows
 * as they really happened.
 */
export interface Tally {
  /**
   * One attempt that started `tMs` after time 0. `code` names a failure
   * (gRPC status name or HTTP status); failures without one count as
   * `UNKNOWN`. Throws RangeError for a negative or non-finite time.
   */
  record(tMs: number, ok: boolean, code?: string): void;
  /** The stats so far, for a run of `durationMs` with these fault windows. */
  stats(faultWindows: readonly FaultWindow[], durationMs: number): CohortStats;
}

/** `bucketMs` is the width of one point of the time series (e.g. a run's length / 120). */
export function createTally(options: { bucketMs: number }): Tally {
  const { bucketMs } = options;
  if (!(bucketMs > 0) || !Number.isFinite(bucketMs)) throw new RangeError(`bucketMs must be a positive number, got ${bucketMs}`);
  const times: number[] = [];
  const outcomes: boolean[] = [];
  const errors: Record<string, number> = {};
  return {
    record(tMs, ok, code) {
      if (!(tMs >= 0) || !Number.isFinite(tMs)) throw new RangeError(`tMs must be a finite time at or after 0, got ${tMs}`);
      times.push(tMs);
      outcomes.push(ok);
      if (!ok) errors[code ?? "UNKNOWN"] = (errors[code ?? "UNKNOWN"] ?? 0) + 1;
    },
    stats(faultWindows, durationMs) {
      const lastEnd = faultWindows.length === 0 ? Infinity : Math.max(...faultWindows.map((w) => w.endMs));
      const inFault = (t: number): boolean => faultWindows.some((w) => t >= w.startMs && t < w.endMs);
      return {
        ...count(times, outcomes, () => true),
        duringFault: count(times, outcomes, inFault),
        afterFault: count(times, outcomes, (t) => t >= lastEnd),
        errors: { ...errors },
        series: buckets(times, outcomes, bucketMs, durationMs),
      };
    },
  };
}

function count(times: readonly number[], outcomes: readonly boolean[], include: (tMs: number) => boolean): Counts {
  let attempts = 0;
  let successes = 0;
  times.forEach((t, i) => {
    if (!include(t)) return;
    attempts += 1;
    if (outcomes[i]) successes += 1;
  });
  return { attempts, successes };
}

/** Every bucket from 0 to the run's end (or the last attempt), empty ones included. */
function buckets(times: readonly number[], outcomes: readonly boolean[], bucketMs: number, durationMs: number): SeriesPoint[] {
  const last = Math.max(durationMs, ...times);
  const n = Math.max(1, Math.ceil(last / bucketMs));
  const attempts = new Array<number>(n).fill(0);
  const successes = new Array<number>(n).fill(0);
  times.forEach((t, i) => {
    const b = Math.min(n - 1, Math.floor(t / bucketMs));
    attempts[b] = (attempts[b] ?? 0) + 1;
    if (outcomes[i]) successes[b] = (successes[b] ?? 0) + 1;
  });
  return attempts.map((a, b) => ({ tMs: b * bucketMs, attempts: a, successes: successes[b] ?? 0 }));
}
