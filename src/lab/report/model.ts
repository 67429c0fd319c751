import type { Source } from "../scenario/index.js";

/**
 * What a lab run hands to the report writer. Times (`tMs`, `startMs`,
 * `endMs`, `durationMs`) are real milliseconds since the scenario's time 0,
 * the moment its timeline started (set-up before it is not counted); the
 * scenario clock at `tMs` is `story.startOfDaySec + tMs / 1000 * speed`.
 */

/** A disruption as it happened: a fault, a killed control plane (`control-plane-down`) or a stopped DNS server (`dns-down`). */
export interface FaultWindow {
  readonly kind: string;
  /** Empty when it is not per service (every ADS stream, a whole process). */
  readonly services: readonly string[];
  /** For a fault: `server` (below the push guard) or `pipeline` (above it). */
  readonly layer?: string;
  readonly startMs: number;
  /** The run's end if it was never cleared. */
  readonly endMs: number;
}

/** A phase of the timeline as it happened (see the scenario's EntryBase.phase): from its entry taking effect to the next phase's. */
export interface PhaseWindow {
  readonly name: string;
  readonly startMs: number;
  readonly endMs: number;
}

export interface Counts {
  readonly attempts: number;
  readonly successes: number;
}

/** One time bucket: attempts that started in [tMs, tMs + bucket). */
export interface SeriesPoint extends Counts {
  readonly tMs: number;
}

/**
 * A cohort's cold starts inside disruptions: gateways started while a
 * disruption window was open, and the attempts they served before that
 * window closed. A client that starts then has no configuration to keep.
 */
export interface ColdStarts extends Counts {
  /** Gateway processes started inside a disruption window. */
  readonly gateways: number;
  /** The kinds of the windows they were started in (`stream-error`, …), in order of first appearance. */
  readonly during: readonly string[];
}

/** A cohort's login attempts; an attempt counts at the time it started. */
export interface CohortStats extends Counts {
  /** Attempts that started inside any fault window. */
  readonly duringFault: Counts;
  /** Attempts that started after the last fault window ended; zero when there was none. */
  readonly afterFault: Counts;
  /** Attempts by the phase they started in; absent in runs without phases. */
  readonly phases?: Readonly<Record<string, Counts>>;
  /** Failed attempts by gRPC status name or HTTP status, e.g. `UNAVAILABLE` or `503`. */
  readonly errors: Readonly<Record<string, number>>;
  readonly series: readonly SeriesPoint[];
  /** Part of the attempts above (all inside fault windows), tallied apart. */
  readonly coldStarts: ColdStarts;
  /** The cold starts' attempts (part of `series`), in the same buckets; every bucket of `series`, empty ones included. */
  readonly coldSeries: readonly SeriesPoint[];
}

export interface SloResult {
  readonly cohort: string;
  readonly window: string;
  readonly min: number;
  /** Only for SLOs that check a failure is reproduced. */
  readonly max?: number;
  /** Only for SLOs that leave out cold starts (they count warm gateways). */
  readonly gateways?: "warm";
  /** Success share in the window, 0–1; 0 when nothing was measured. */
  readonly actual: number;
  readonly attempts: number;
  readonly ok: boolean;
  /** Why it failed without a measurement (no attempts, no fault window, no such cohort). */
  readonly reason?: string;
}

/** One timeline entry as the report tells it. */
export interface StoryEvent {
  readonly atMs: number;
  /** Scenario clock, `HH:MM[:SS]`. */
  readonly clock: string;
  readonly action: string;
  /** What the lab did, e.g. `config-loss on login, accounts`; empty for a note. */
  readonly what: string;
  readonly note: string;
  /** For a rolling remediation: when it completes. */
  readonly untilMs?: number;
  /** A few words the chart marks the entry with (policy and clear-policy entries), e.g. `policy login: v1 95 / v2 5`. */
  readonly label?: string;
}

export interface CohortStory {
  readonly discovery: string;
  /** The lab control plane its gateways use: `primary` (no push guard) or `guarded`. */
  readonly controlPlane: string;
  /** What that discovery mode is, in a sentence. */
  readonly discoveryText: string;
  /** Why the cohort behaves as it does (the scenario's words); may be empty. */
  readonly explanation: string;
  /** What this run observed, if the runner says (e.g. cold starts during the fault); may be empty. */
  readonly observed: string;
}

/** The workload's rolling restarts (deploys, autoscaling), as planned: not timeline entries. */
export interface ScheduledRestarts {
  /** Real ms since time 0 of each round. */
  readonly atMs: readonly number[];
  /** The share (0–1] of each cohort's gateways restarted per round. */
  readonly share: number;
  /** The cohorts whose gateways take part, in scenario order. */
  readonly cohorts: readonly string[];
}

/** The words around the numbers: from the scenario, plus what the run observed. */
export interface ReportStory {
  readonly description: string;
  /** The scenario clock at time 0, in seconds since midnight. */
  readonly startOfDaySec: number;
  readonly timeline: readonly StoryEvent[];
  /** Absent or with no rounds when the workload restarts nothing. */
  readonly scheduledRestarts?: ScheduledRestarts;
  readonly sources: readonly Source[];
  /** Per cohort: its discovery mode and why it behaves as it does. */
  readonly cohorts: Readonly<Record<string, CohortStory>>;
  /**
   * Per control plane (`primary`, `guarded`): what its push guard did with
   * the generations of the run, in a line; empty when the runner did not say.
   */
  readonly controlPlanes: Readonly<Record<string, string>>;
}

export interface LabResult {
  readonly scenario: string;
  readonly speed: number;
  readonly seed: number;
  readonly durationMs: number;
  readonly faultWindows: readonly FaultWindow[];
  /** The timeline's phases as they happened; absent or empty when it names none. */
  readonly phases?: readonly PhaseWindow[];
  readonly cohorts: Readonly<Record<string, CohortStats>>;
  readonly slos: readonly SloResult[];
  /** Every SLO met. */
  readonly ok: boolean;
  readonly story: ReportStory;
  /** Whether the machine gave the run's processes the CPU they were ready to use; absent when not measured. */
  readonly machine?: MachineTime;
}

/**
 * How long the run's processes (the lab and its children) waited for a CPU
 * while ready to run, per second they ran. A run that missed an SLO while
 * this was over `limit` measured the machine, not steadymesh: its verdict is
 * inconclusive.
 */
export interface MachineTime {
  readonly cpuMs: number;
  readonly waitMs: number;
  readonly processes: number;
  /** waitMs / cpuMs; null where it cannot be measured (not Linux). */
  readonly ratio: number | null;
  readonly limit: number;
}

export type Verdict = "pass" | "fail" | "inconclusive";

/** pass: every SLO met; inconclusive: one missed while the machine could not keep time; fail: otherwise. */
export function verdictOf(result: Pick<LabResult, "ok" | "machine">): Verdict {
  if (result.ok) return "pass";
  const ratio = result.machine?.ratio;
  return ratio !== undefined && ratio !== null && ratio > result.machine!.limit ? "inconclusive" : "fail";
}

/** One line on the machine's time, e.g. `its processes waited 0.4 s for a CPU per second they ran (limit 2)`. */
export function machineLine(machine: MachineTime): string {
  if (machine.ratio === null) return "CPU waits not measured on this system";
  return `its processes waited ${machine.ratio.toFixed(1)} s for a CPU per second they ran (limit ${machine.limit}; ${machine.processes} processes, ${(machine.cpuMs / 1000).toFixed(0)} s of CPU)`;
}

/** Paths of the files writeReport wrote. */
export interface ReportFiles {
  readonly json: string;
  readonly html: string;
  readonly png: string;
}
