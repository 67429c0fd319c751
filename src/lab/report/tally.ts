import type { CohortStats, ColdStarts, Counts, FaultWindow, PhaseWindow, SeriesPoint } from "./model.js";

/**
 * Counts one cohort's attempts during a run and turns them into CohortStats
 * once the fault windows are known. Keeping every attempt (a time, an
 * outcome, and when the gateway that served it was started) is cheap at lab
 * rates, and lets "during fault" and cold starts use the windows as they
 * really happened.
 */
export interface Tally {
  /**
   * One attempt that started `tMs` after time 0. `code` names a failure
   * (gRPC status name or HTTP status); failures without one count as
   * `UNKNOWN`. `gatewayUpMs` is when the gateway that served it was started
   * (negative: before time 0; absent: no gateway took it). Throws RangeError
   * for a negative or non-finite time.
   */
  record(tMs: number, ok: boolean, code?: string, gatewayUpMs?: number): void;
  /**
   * The stats so far, for a run of `durationMs` with these fault windows.
   * `gatewayUps` lists when each of the cohort's gateway processes was started (spawned)
   * (for the count of cold starts). With `phases`, the attempts of each are counted apart.
   */
  stats(faultWindows: readonly FaultWindow[], durationMs: number, gatewayUps?: readonly number[], phases?: readonly PhaseWindow[]): CohortStats;
}

/** `bucketMs` is the width of one point of the time series (e.g. a run's length / 120). */
export function createTally(options: { bucketMs: number }): Tally {
  const { bucketMs } = options;
  if (!(bucketMs > 0) || !Number.isFinite(bucketMs)) throw new RangeError(`bucketMs must be a positive number, got ${bucketMs}`);
  const times: number[] = [];
  const outcomes: boolean[] = [];
  const ups: Array<number | undefined> = [];
  const errors: Record<string, number> = {};
  return {
    record(tMs, ok, code, gatewayUpMs) {
      if (!(tMs >= 0) || !Number.isFinite(tMs)) throw new RangeError(`tMs must be a finite time at or after 0, got ${tMs}`);
      times.push(tMs);
      outcomes.push(ok);
      ups.push(gatewayUpMs);
      if (!ok) errors[code ?? "UNKNOWN"] = (errors[code ?? "UNKNOWN"] ?? 0) + 1;
    },
    stats(faultWindows, durationMs, gatewayUps = [], phases = []) {
      const lastEnd = faultWindows.length === 0 ? Infinity : Math.max(...faultWindows.map((w) => w.endMs));
      const inFault = (t: number): boolean => faultWindows.some((w) => inside(w, t));
      const cold = coldAttempt(faultWindows, ups);
      return {
        ...count(times, outcomes, () => true),
        duringFault: count(times, outcomes, inFault),
        afterFault: count(times, outcomes, (t) => t >= lastEnd),
        ...(phases.length > 0 && { phases: Object.fromEntries(phases.map((p) => [p.name, count(times, outcomes, (t) => t >= p.startMs && t < p.endMs)])) }),
        errors: { ...errors },
        series: buckets(times, outcomes, bucketMs, durationMs, () => true),
        coldStarts: coldStarts(faultWindows, gatewayUps, times, outcomes, cold),
        coldSeries: buckets(times, outcomes, bucketMs, durationMs, cold),
      };
    },
  };
}

function inside(window: FaultWindow, tMs: number): boolean {
  return tMs >= window.startMs && tMs < window.endMs;
}

/** Whether attempt `i`, started at `t`, was served by a gateway started inside a window, while that window lasted. */
function coldAttempt(windows: readonly FaultWindow[], ups: ReadonlyArray<number | undefined>): (t: number, i: number) => boolean {
  return (t, i) => {
    const up = ups[i];
    return up !== undefined && windows.some((w) => inside(w, up) && inside(w, t));
  };
}

/** The cold starts: gateways started inside a window, and the attempts `cold` picks out. */
function coldStarts(windows: readonly FaultWindow[], gatewayUps: readonly number[], times: readonly number[], outcomes: readonly boolean[], cold: (t: number, i: number) => boolean): ColdStarts {
  const during: string[] = [];
  let gateways = 0;
  for (const up of gatewayUps) {
    const open = windows.filter((w) => inside(w, up));
    if (open.length === 0) continue;
    gateways += 1;
    for (const w of open) if (!during.includes(w.kind)) during.push(w.kind);
  }
  return { gateways, during, ...count(times, outcomes, cold) };
}

function count(times: readonly number[], outcomes: readonly boolean[], include: (tMs: number, index: number) => boolean): Counts {
  let attempts = 0;
  let successes = 0;
  times.forEach((t, i) => {
    if (!include(t, i)) return;
    attempts += 1;
    if (outcomes[i]) successes += 1;
  });
  return { attempts, successes };
}

/** Every bucket from 0 to the run's end (or the last attempt), empty ones included, counting the attempts `include` picks. */
function buckets(times: readonly number[], outcomes: readonly boolean[], bucketMs: number, durationMs: number, include: (tMs: number, index: number) => boolean): SeriesPoint[] {
  const last = Math.max(durationMs, ...times);
  const n = Math.max(1, Math.ceil(last / bucketMs));
  const attempts = new Array<number>(n).fill(0);
  const successes = new Array<number>(n).fill(0);
  times.forEach((t, i) => {
    if (!include(t, i)) return;
    const b = Math.min(n - 1, Math.floor(t / bucketMs));
    attempts[b] = (attempts[b] ?? 0) + 1;
    if (outcomes[i]) successes[b] = (successes[b] ?? 0) + 1;
  });
  return attempts.map((a, b) => ({ tMs: b * bucketMs, attempts: a, successes: successes[b] ?? 0 }));
}
