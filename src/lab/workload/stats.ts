import type { Outcome } from "./users.js";

/** A span of lab time (ms since the run started) when a fault was active. */
export interface TimeWindow {
  readonly startMs: number;
  readonly endMs: number;
}

/** Login outcomes of one cohort, in the shape report.json needs. */
export interface CohortStats {
  readonly attempts: number;
  readonly successes: number;
  readonly duringFault: { readonly attempts: number; readonly successes: number };
  readonly errors: Readonly<Record<string, number>>;
  readonly series: ReadonlyArray<{ readonly tMs: number; readonly attempts: number; readonly successes: number }>;
}

export interface StatsRecorder {
  record(tMs: number, outcome: Outcome): void;
  /** The totals, with `duringFault` counted over `faults` (which may end after recording). */
  result(faults: readonly TimeWindow[]): CohortStats;
}

/** Counts outcomes in buckets of `bucketMs` of lab time. */
export function createStatsRecorder(bucketMs: number): StatsRecorder {
  const buckets = new Map<number, { attempts: number; successes: number }>();
  const samples: Array<{ tMs: number; ok: boolean }> = [];
  const errors: Record<string, number> = {};
  return {
    record(tMs, outcome) {
      const key = Math.floor(tMs / bucketMs) * bucketMs;
      const bucket = buckets.get(key) ?? { attempts: 0, successes: 0 };
      bucket.attempts++;
      if (outcome.ok) bucket.successes++;
      else errors[outcome.code ?? "unknown"] = (errors[outcome.code ?? "unknown"] ?? 0) + 1;
      buckets.set(key, bucket);
      samples.push({ tMs, ok: outcome.ok });
    },
    result(faults) {
      const series = [...buckets].sort((a, b) => a[0] - b[0]).map(([tMs, b]) => ({ tMs, ...b }));
      const inFault = samples.filter((s) => faults.some((w) => s.tMs >= w.startMs && s.tMs < w.endMs));
      return {
        attempts: samples.length,
        successes: samples.filter((s) => s.ok).length,
        duringFault: { attempts: inFault.length, successes: inFault.filter((s) => s.ok).length },
        errors: { ...errors },
        series,
      };
    },
  };
}
