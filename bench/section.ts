/**
 * What every benchmark section is: an async function that measures one thing
 * with its baseline beside it, in one run, and returns figures. Sections
 * assert nothing; the runner (bench/run.ts) prints the table and writes JSON.
 */

export interface BenchContext {
  /** `--quick`: the smoke-test size (the whole run under 60 s); figures are not the ones to quote. */
  readonly quick: boolean;
  /** A progress line on stderr, prefixed with the section's name. */
  log(line: string): void;
  /** A fresh directory for this section's files (data dirs, zone files); removed after the run. */
  readonly tmpDir: string;
}

/** One line of the results table. */
export interface BenchRow {
  /** What was measured, e.g. "p99 @ 1000 clients". */
  readonly metric: string;
  /** The figure (a number) or "n/a" with a note saying why. */
  readonly value: number | "n/a";
  /** Unit of `value` and `baseline.value`: "ms", "KB", "B", "qps", "rps", "reg/s". */
  readonly unit: string;
  /** The figure it is compared with, measured in the same run. */
  readonly baseline?: { readonly name: string; readonly value: number | "n/a" };
  /** The goal in words, e.g. "≤ 100 ms" or "≥ 50% of bind9". */
  readonly goal?: string;
  /** Whether the goal holds for this run; absent when the row has no goal or a figure is n/a. */
  readonly met?: boolean;
}

export interface SectionResult {
  readonly name: string;
  readonly rows: readonly BenchRow[];
  /** Everything else worth keeping in the JSON (samples, sizes, settings). */
  readonly details: Readonly<Record<string, unknown>>;
  /** Caveats a reader needs: what was skipped and why, what the figures include. */
  readonly notes: readonly string[];
}

export type BenchSection = (context: BenchContext) => Promise<SectionResult>;
