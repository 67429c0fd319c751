import { formatTable } from "./table.js";

/** What `steadymesh lab list` shows of one scenario. */
export interface ScenarioRow {
  readonly name: string;
  readonly summary: string;
  /** Scenario seconds from start to end. */
  readonly durationSec: number;
  /** Default speed: scenario seconds per real second. */
  readonly speed: number;
}

/** Terminal width when stdout is not a terminal (a pipe, a file). */
export const DEFAULT_COLUMNS = 80;
/** Narrower than this, a description goes on its own lines under its scenario rather than in a column. */
const MIN_DESCRIPTION_WIDTH = 40;
const HEADER = ["SCENARIO", "DURATION", "REAL TIME", "DESCRIPTION"];

/**
 * The lines of `lab list`: name, scenario duration, wall-clock time at the
 * scenario's own speed (start-up not counted), and the description's first
 * sentence, word-wrapped so that no line is longer than `columns` (unless a
 * single word or the fixed columns are).
 */
export function formatScenarioList(scenarios: readonly ScenarioRow[], columns: number = DEFAULT_COLUMNS): string[] {
  const fixed = scenarios.map((s) => [s.name, formatSpan(s.durationSec), `${formatSpan(s.durationSec / s.speed)} at ${s.speed}×`]);
  const [header = "", ...rows] = formatTable(HEADER.slice(0, 3), fixed);
  const indent = Math.max(header.length, ...rows.map((row) => row.length)) + 2;
  const width = columns - indent;
  if (width < MIN_DESCRIPTION_WIDTH) {
    // Too narrow for a column: each description under its row, indented.
    return [header, ...rows.flatMap((row, i) => [row, ...wrap(firstSentence(scenarios[i]!.summary), columns - 4).map((text) => `    ${text}`)])];
  }
  const lines = [`${header.padEnd(indent)}${HEADER[3]}`];
  rows.forEach((row, i) => {
    const [first = "", ...rest] = wrap(firstSentence(scenarios[i]!.summary), width);
    lines.push(`${row.padEnd(indent)}${first}`.trimEnd(), ...rest.map((text) => `${" ".repeat(indent)}${text}`));
  });
  return lines;
}

/** `30 s`, `7 min`, `2 h 50 min`: a span of seconds, rounded to what a reader needs. */
export function formatSpan(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 120) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 120) return `${minutes} min`;
  const rest = minutes % 60;
  return `${Math.floor(minutes / 60)} h${rest === 0 ? "" : ` ${rest} min`}`;
}

function firstSentence(text: string): string {
  const end = /[.!?](\s|$)/.exec(text);
  return end ? text.slice(0, end.index + 1) : text;
}

/** Greedy word wrap; a word longer than `width` gets a line of its own. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}
