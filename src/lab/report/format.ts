import { formatClock } from "../scenario/index.js";
import type { Counts, LabResult } from "./model.js";

/**
 * The report's one percent format, with 1 decimal: `99.8%`, `100.0%`, `0.0%`;
 * `–` when nothing was measured. A share that is not exactly 1 (or 0) never
 * prints as `100.0%` (or `0.0%`): 0.9996 is `99.9%`, so a missed 99.9% SLO does
 * not read as a perfect run.
 */
export function percent(share: number | undefined): string {
  if (share === undefined || !Number.isFinite(share)) return "–";
  let tenths = Math.round(share * 1000);
  if (tenths === 1000 && share < 1) tenths = 999;
  if (tenths === 0 && share > 0) tenths = 1;
  return `${(tenths / 10).toFixed(1)}%`;
}

export function rate(counts: Counts): number | undefined {
  return counts.attempts === 0 ? undefined : counts.successes / counts.attempts;
}

/** The scenario clock at real time `tMs` of the run, to the second (for report.json). */
export function clockAt(result: LabResult, tMs: number): string {
  return formatClock(result.story.startOfDaySec + (tMs / 1000) * result.speed);
}

/** A run that spans more than this much scenario time shows times as HH:MM, without seconds. */
const MINUTES_ONLY_OVER_SEC = 3600;

/** Whether the report shows times as HH:MM (the run spans more than an hour of scenario time). */
export function minutesOnly(result: LabResult): boolean {
  return (result.durationMs / 1000) * result.speed > MINUTES_ONLY_OVER_SEC;
}

/**
 * The scenario clock at real time `tMs` as the report shows it, like the
 * chart's x axis: HH:MM (to the nearest minute) for runs over an hour, else
 * HH:MM:SS.
 */
export function clockLabel(result: LabResult, tMs: number): string {
  const sec = result.story.startOfDaySec + (tMs / 1000) * result.speed;
  if (minutesOnly(result)) return formatClock(Math.round(sec / 60) * 60).slice(0, 5);
  const clock = formatClock(sec);
  return clock.length === 5 ? `${clock}:00` : clock;
}

/** `UNAVAILABLE 120, DEADLINE_EXCEEDED 3`, most frequent first; `none` when empty. */
export function errorList(errors: Readonly<Record<string, number>>): string {
  const entries = Object.entries(errors).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length === 0 ? "none" : entries.map(([code, n]) => `${code} ${n}`).join(", ");
}

/** Text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}
