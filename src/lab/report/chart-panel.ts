import { cohortColour } from "./cohort-colours.js";
import { clockLabel, percent, rate } from "./format.js";
import type { CohortStats, Counts, LabResult } from "./model.js";

/**
 * One cohort's panel of the report chart: its success rate per time bucket
 * as a line with a dot per bucket, the dot's area standing for the attempts
 * it counts (its tooltip says how many). Attempts on gateways started cold
 * inside a fault are drawn apart, as hollow dots on a dashed line, so a
 * deliberate cold start does not pass for the warm gateways' trouble.
 * The timeline's phases, if any, are tinted and named with the cohort's
 * success in each.
 */

/** What every panel shares: the x encoding, the shaded spans and the rules, all in vega-lite's time (epoch ms). */
export interface PanelFrame {
  readonly x: Record<string, unknown>;
  /** The shared x scale; stated once, in the bottom panel (repeating it makes vega-lite warn). */
  readonly xScale: Record<string, unknown>;
  readonly hhmm: boolean;
  readonly faults: ReadonlyArray<{ start: number; end: number }>;
  /** Before the first fault; absent when a fault starts at once or there is none. */
  readonly warmUp?: { start: number; end: number };
  /** Timeline events (remediation, deliberate restarts). */
  readonly events: ReadonlyArray<{ t: number }>;
  /** Rounds of the workload's scheduled restarts, drawn only in the panels of the cohorts they restart. */
  readonly restarts: ReadonlyArray<{ t: number }>;
  readonly restartCohorts: readonly string[];
  /** The timeline's phases as they happened, in order; empty when it names none. */
  readonly phases: ReadonlyArray<{ name: string; start: number; end: number }>;
  /** The most attempts any dot stands for, over every panel: the size scale's top. */
  readonly maxAttempts: number;
  /** Real ms → vega-lite time. */
  readonly clock: (tMs: number) => number;
}

export const PLOT_WIDTH = 1090;
/** Height of one cohort's plot area, in px (its title comes on top). */
export const PANEL_HEIGHT = 92;
/** Headroom above 100% and below 0%, so lines at 100% or 0% are not drawn on the panel's frame. */
const Y_DOMAIN = [-6, 106];
/** Dot areas in px², from 0 attempts (still visible, about 3 px across) to maxAttempts (about 13 px across). */
const DOT_AREA = [8, 130];
export const FAULT_COLOUR = "#E31A1C";
export const FAULT_OPACITY = 0.13;
export const WARM_UP_COLOUR = "#8C8C8C";
export const WARM_UP_OPACITY = 0.16;
/** Phases are tinted light and darker by turns (the first light), under the fault and warm-up shades; each is named at the panel's foot. */
export const PHASE_COLOUR = "#3182BD";
export const PHASE_OPACITIES = [0.06, 0.14] as const;
const PHASE_TEXT_COLOUR = "#08519C";

/** A dot: one time bucket's attempts on warm or on cold-started gateways. */
export interface Dot {
  t: number;
  rate: number;
  attempts: number;
  successes: number;
  gateways: "warm" | "cold";
  tip: string;
}

/** A bucket without attempts of one kind: its line breaks there rather than join the dots around it. */
interface Gap {
  t: number;
  gateways: "warm" | "cold";
}

/** The dots of a cohort, warm and cold apart, at the middle of their buckets, and the buckets where a kind has none. */
export function dotsOf(result: LabResult, cohort: string, frame: Pick<PanelFrame, "clock">): { dots: Dot[]; gaps: Gap[] } {
  const stats = result.cohorts[cohort]!;
  const width = stats.series.length > 1 ? (stats.series[1]?.tMs ?? 0) - (stats.series[0]?.tMs ?? 0) : result.durationMs;
  const dots: Dot[] = [];
  const gaps: Gap[] = [];
  stats.series.forEach((point, i) => {
    const cold = stats.coldSeries[i] ?? { attempts: 0, successes: 0 };
    const warm = { attempts: point.attempts - cold.attempts, successes: point.successes - cold.successes };
    const when = `${clockLabel(result, point.tMs)}–${clockLabel(result, point.tMs + width)}`;
    const t = frame.clock(point.tMs + width / 2);
    for (const [gateways, counts] of [["warm", warm], ["cold", cold]] as const) {
      if (counts.attempts === 0) {
        gaps.push({ t, gateways });
        continue;
      }
      const who = gateways === "warm" ? "warm gateways (or none reached)" : "gateways started cold in the fault";
      const tip = `${cohort}, ${when}: ${counts.successes} of ${counts.attempts} login attempt${counts.attempts === 1 ? "" : "s"} ok (${percent(rate(counts))}), ${who}`;
      dots.push({ t, rate: (100 * counts.successes) / counts.attempts, attempts: counts.attempts, successes: counts.successes, gateways, tip });
    }
  });
  return { dots, gaps };
}

/**
 * The panel's subtitle: `whole run 90.9% · during fault 91.4% · after fault 99.9%`,
 * and when gateways started cold in a fault, a second line with the warm and cold numbers side by side.
 */
function facts(result: LabResult, cohort: string, stats: CohortStats): string[] {
  const story = result.story.cohorts[cohort];
  const cold = stats.coldStarts;
  const first = [
    story && story.discovery !== cohort ? `${story.discovery} discovery` : "",
    story && story.controlPlane !== "primary" ? `${story.controlPlane} plane` : "",
    `whole run ${percent(rate(stats))}`,
    result.faultWindows.length > 0 ? `during fault ${percent(rate(stats.duringFault))}` : "",
    stats.afterFault.attempts > 0 ? `after fault ${percent(rate(stats.afterFault))}` : "",
  ]
    .filter((f) => f.length > 0)
    .join(" · ");
  if (cold.gateways === 0) return [first];
  const warm: Counts = { attempts: stats.duringFault.attempts - cold.attempts, successes: stats.duringFault.successes - cold.successes };
  const gateways = `${cold.gateways} gateway${cold.gateways === 1 ? "" : "s"}`;
  return [first, `in the fault: warm gateways ${percent(rate(warm))} of ${warm.attempts} · ${gateways} started cold: ${cold.successes} of ${cold.attempts} ok (hollow)`];
}

export function cohortPanel(result: LabResult, cohort: string, frame: PanelFrame, bottom: boolean): object {
  const stats = result.cohorts[cohort]!;
  const colour = cohortColour(cohort);
  const x = frame.x;
  const xAxis = bottom
    ? { format: frame.hhmm ? "%H:%M" : "%H:%M:%S", title: `scenario clock (${frame.hhmm ? "HH:MM" : "HH:MM:SS"})`, grid: true, gridColor: "#eee", labelFontSize: 14, titleFontSize: 14 }
    : { labels: false, ticks: false, domain: false, title: null, grid: true, gridColor: "#eee" };
  const layers: object[] = [...phaseLayers(stats, frame)];
  layers.push(span(frame.faults, FAULT_COLOUR, FAULT_OPACITY));
  if (frame.warmUp) layers.push(span([frame.warmUp], WARM_UP_COLOUR, WARM_UP_OPACITY));
  if (frame.events.length > 0) layers.push(rule(frame.events, { strokeDash: [6, 4], color: "#777", strokeWidth: 1.25 }));
  if (frame.restarts.length > 0 && frame.restartCohorts.includes(cohort)) layers.push(rule(frame.restarts, { strokeDash: [2, 3], color: "#999", strokeWidth: 1.25 }));
  const { dots, gaps } = dotsOf(result, cohort, frame);
  const y = {
    field: "rate",
    type: "quantitative",
    scale: { domain: Y_DOMAIN, nice: false },
    axis: { title: "success (%)", values: [0, 50, 100], grid: true, gridColor: "#e5e5e5", titleFontSize: 12 },
  };
  const size = { field: "attempts", type: "quantitative", scale: { domain: [0, frame.maxAttempts], range: DOT_AREA, zero: true }, legend: null };
  // The bottom panel states the shared x scale, once: on its first line (even an empty one).
  let scaled = !bottom;
  for (const gateways of ["warm", "cold"] as const) {
    const values = dots.filter((d) => d.gateways === gateways);
    if (values.length === 0 && (gateways === "cold" || scaled)) continue;
    const warm = gateways === "warm";
    const lineX = scaled ? x : { ...x, scale: frame.xScale };
    scaled = true;
    layers.push({
      data: { values },
      layer: [
        {
          // Null rates at the gaps, and `invalid` set to break there: a line never bridges buckets without attempts.
          data: { values: [...values.map((d) => ({ t: d.t, rate: d.rate })), ...gaps.filter((g) => g.gateways === gateways).map((g) => ({ t: g.t, rate: null }))].sort((a, b) => a.t - b.t) },
          mark: { type: "line", color: colour, strokeWidth: warm ? 2.5 : 2, strokeDash: warm ? [] : [5, 3], strokeCap: "round", strokeJoin: "round", invalid: "break-paths-show-domains" },
          encoding: { x: { field: "t", ...lineX, axis: xAxis }, y },
        },
        {
          mark: { type: "point", shape: "circle", filled: warm, color: colour, opacity: warm ? 0.85 : 1, strokeWidth: 1.5 },
          encoding: { x: { field: "t", ...x, axis: xAxis }, y, size, tooltip: { field: "tip" }, description: { field: "tip" } },
        },
      ],
    });
  }
  return {
    width: PLOT_WIDTH,
    height: PANEL_HEIGHT,
    title: { text: cohort, subtitle: facts(result, cohort, stats), anchor: "start", fontSize: 16, fontWeight: "bold", color: colour, subtitleFontSize: 13, subtitleColor: "#444", offset: 6, subtitlePadding: 2 },
    layer: layers,
  };
}

/**
 * The phases in one panel: tinted light and darker by turns, and at the foot of
 * each (where a login success rate seldom is) its name and the cohort's
 * success in it, `canary 95.1%`, as the phase SLOs count it.
 */
function phaseLayers(stats: CohortStats, frame: PanelFrame): object[] {
  if (frame.phases.length === 0) return [];
  const named = frame.phases.map((p) => ({ ...p, label: `${p.name} ${percent(rate(stats.phases?.[p.name] ?? { attempts: 0, successes: 0 }))}` }));
  return [
    ...PHASE_OPACITIES.map((opacity, turn) => span(named.filter((_, i) => i % 2 === turn), PHASE_COLOUR, opacity)),
    {
      data: { values: named },
      mark: { type: "text", align: "left", baseline: "bottom", dx: 4, y: PANEL_HEIGHT - 3, fontSize: 12, fontWeight: "bold", color: PHASE_TEXT_COLOUR, aria: false },
      encoding: { x: { field: "start", type: "temporal" }, text: { field: "label" } },
    },
  ];
}

function span(values: ReadonlyArray<{ start: number; end: number }>, color: string, opacity: number): object {
  return { data: { values }, mark: { type: "rect", color, opacity, aria: false }, encoding: { x: { field: "start", type: "temporal" }, x2: { field: "end" } } };
}

function rule(values: ReadonlyArray<{ t: number }>, style: object): object {
  return { data: { values }, mark: { type: "rule", ...style, aria: false }, encoding: { x: { field: "t", type: "temporal" } } };
}
