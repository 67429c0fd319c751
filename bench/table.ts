/**
 * The bench's results table, as plain text: one line per row of every
 * section (section, metric, value, baseline, ratio, goal, met), a line per
 * failed section, and each section's notes below the table.
 */
import type { BenchRow, SectionResult } from "./section.js";

/** What became of one section in a run. */
export type SectionOutcome =
  | { readonly name: string; readonly status: "ok"; readonly durationMs: number; readonly result: SectionResult }
  | { readonly name: string; readonly status: "failed"; readonly durationMs: number; readonly error: string };

const HEADERS = ["section", "metric", "value", "baseline", "ratio", "goal", "met"];

/** A figure with at most 3 significant decimals, and thousands separated for big ones. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function withUnit(value: number | "n/a", unit: string): string {
  return value === "n/a" ? "n/a" : `${formatNumber(value)}${unit ? ` ${unit}` : ""}`;
}

function rowCells(section: string, row: BenchRow): string[] {
  const base = row.baseline;
  const ratio = base && typeof base.value === "number" && typeof row.value === "number" && base.value !== 0 ? `${formatNumber(row.value / base.value)}×` : "";
  return [
    section,
    row.metric,
    withUnit(row.value, row.unit),
    base ? `${base.name} ${withUnit(base.value, row.unit)}` : "",
    ratio,
    row.goal ?? "",
    row.met === undefined ? "" : row.met ? "✓" : "✗",
  ];
}

/** The whole table plus notes, ending in a newline. */
export function renderTable(outcomes: readonly SectionOutcome[]): string {
  const lines: string[][] = [HEADERS];
  for (const outcome of outcomes) {
    if (outcome.status === "failed") lines.push([outcome.name, "FAILED", outcome.error.split("\n")[0]!.slice(0, 120), "", "", "", "✗"]);
    else for (const row of outcome.result.rows) lines.push(rowCells(outcome.name, row));
  }
  const widths = HEADERS.map((_, col) => Math.max(...lines.map((cells) => [...cells[col]!].length)));
  const render = (cells: string[]) => cells.map((cell, col) => cell + " ".repeat(widths[col]! - [...cell].length)).join("  ").trimEnd();
  const out = [render(lines[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...lines.slice(1).map(render)];
  const notes = outcomes.flatMap((o) => (o.status === "ok" ? o.result.notes.map((note) => `[${o.name}] ${note}`) : []));
  if (notes.length > 0) out.push("", "notes:", ...notes.map((n) => `  ${n}`));
  return `${out.join("\n")}\n`;
}
