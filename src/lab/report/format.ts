import { formatClock } from "../scenario/index.js";
import type { Counts, LabResult } from "./model.js";

/** `99.95%`; `–` when nothing was measured. Shares exactly 0 or 1 print without decimals. */
export function percent(share: number | undefined, digits = 2): string {
  if (share === undefined || !Number.isFinite(share)) return "–";
  if (share === 0 || share === 1) return `${share * 100}%`;
  return `${(share * 100).toFixed(digits)}%`;
}

export function rate(counts: Counts): number | undefined {
  return counts.attempts === 0 ? undefined : counts.successes / counts.attempts;
}

/** The scenario clock at real time `tMs` of the run. */
export function clockAt(result: LabResult, tMs: number): string {
  return formatClock(result.story.startOfDaySec + (tMs / 1000) * result.speed);
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
