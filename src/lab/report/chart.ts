import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { clockLabel, minutesOnly, percent, rate } from "./format.js";
import type { LabResult } from "./model.js";

/**
 * The success-rate-over-time chart: one small panel per cohort, stacked,
 * sharing one x axis in scenario clock time, y 0–100%, fault windows shaded
 * in every panel. The events (fault windows, remediation, gateway restarts)
 * are labelled once, in a band above the panels where no data line can cross
 * them. vega-lite compiles it, vega renders it to SVG headless (no canvas, no
 * browser), and resvg turns the SVG into a PNG CHART_WIDTH wide; the height
 * grows with the number of cohorts.
 */

export const CHART_WIDTH = 1200;
/** Height of one cohort's plot area, in px (its title comes on top). */
export const PANEL_HEIGHT = 92;
/** Width of the plot area: the chart's width less the y axis and padding. */
const PLOT_WIDTH = 1090;
/** Fonts in preference order; resvg finds the first installed one (Debian's fonts-dejavu-core in CI). */
const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";
/** Colour-blind-safe (Okabe–Ito), dark enough on white; cohort i gets colour i. */
export const COHORT_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
const FAULT_COLOUR = "#E31A1C";
const FAULT_OPACITY = 0.13;
/** Headroom above 100% and below 0%, so lines at 100% or 0% are not drawn on the panel's frame. */
const Y_DOMAIN = [-6, 106];
/** The event band: one lane of labels per LANE_HEIGHT px. */
const LANE_HEIGHT = 20;
const LABEL_FONT_SIZE = 13;
/** DejaVu Sans averages about 0.62 em per character (bold a little more); used to keep labels apart. */
const CHAR_WIDTH = 0.62 * LABEL_FONT_SIZE;
const BOLD_CHAR_WIDTH = 0.68 * LABEL_FONT_SIZE;
const LABEL_GAP = 14;

interface LinePoint {
  t: number;
  rate: number;
}

/** The chart as SVG text and PNG bytes (CHART_WIDTH wide). */
export async function renderChart(result: LabResult): Promise<{ svg: string; png: Buffer }> {
  const { spec } = compile(chartSpec(result));
  const view = new vega.View(vega.parse(spec), { renderer: "none" });
  try {
    const svg = await view.toSVG();
    return { svg, png: svgToPng(svg) };
  } finally {
    view.finalize();
  }
}

/**
 * Renders SVG to PNG at the chart's width, with the system's fonts. Text in
 * a family that is not installed is drawn in DejaVu Sans; if no font at all
 * is installed, text is silently left out (CI installs fonts-dejavu-core).
 */
export function svgToPng(svg: string): Buffer {
  return new Resvg(svg, {
    background: "white",
    fitTo: { mode: "width", value: CHART_WIDTH },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  })
    .render()
    .asPng();
}

/** Scenario clock at real time `tMs`, as epoch ms on 1 January 1970 UTC (vega formats it as HH:MM). */
function clockMs(result: LabResult, tMs: number): number {
  return result.story.startOfDaySec * 1000 + tMs * result.speed;
}

type XDef = Record<string, unknown>;

export function chartSpec(result: LabResult): TopLevelSpec {
  const cohorts = Object.keys(result.cohorts);
  const hhmm = minutesOnly(result);
  const domain = [clockMs(result, 0), clockMs(result, result.durationMs)];
  // Every panel uses the same x scale, shared across the concat; only one encoding states its domain (repeating it makes vega-lite warn).
  const x: XDef = { type: "temporal" };
  const xScale = { type: "utc", domain };
  const band = eventBand(result, x);
  const panels = cohorts.map((cohort, i) => cohortPanel(result, cohort, i, i === cohorts.length - 1 ? { ...x, scale: xScale } : x, band.rules, i === cohorts.length - 1, hhmm));
  return {
    padding: { left: 16, right: 24, top: 12, bottom: 12 },
    background: "white",
    title: {
      text: `${result.scenario}: login success rate per cohort`,
      // Two short lines: vega sizes the chart by its own (generous) estimate of text width.
      subtitle: [`One panel per cohort, same time axis. y: share of login attempts that succeeded, 0.0% to 100.0%.`, `Shaded: fault windows. Dashed: the events labelled above. Replayed at ${result.speed}× speed.`],
      anchor: "start",
      fontSize: 22,
      subtitleFontSize: 14,
      subtitleColor: "#444",
      offset: 10,
    },
    config: {
      font: FONT,
      axis: { labelFontSize: 13, titleFontSize: 13, titleColor: "#333", labelColor: "#333" },
      view: { stroke: "#bbb" },
      concat: { spacing: 10 },
    },
    resolve: { scale: { x: "shared" }, axis: { x: "independent" } },
    vconcat: [band.spec, ...panels],
  } as TopLevelSpec;
}

/**
 * Windows that start and end within 1% of the run of each other look like one
 * on the chart (the runner applies a timeline entry's faults a few ms apart),
 * so they get one shaded area and one label; otherwise the labels overprint.
 */
const SAME_WINDOW_SHARE = 0.01;

interface Window {
  start: number;
  end: number;
}

function mergedWindows(result: LabResult): Array<Window & { label: string }> {
  const near = (a: number, b: number): boolean => Math.abs(a - b) <= result.durationMs * SAME_WINDOW_SHARE;
  const merged: Array<{ startMs: number; endMs: number; labels: string[] }> = [];
  for (const w of result.faultWindows) {
    let entry = merged.find((m) => near(m.startMs, w.startMs) && near(m.endMs, w.endMs));
    if (!entry) merged.push((entry = { startMs: w.startMs, endMs: w.endMs, labels: [] }));
    const kind = w.layer === "pipeline" ? `pipeline ${w.kind}` : w.kind;
    entry.labels.push(w.services.length > 0 ? `${kind} (${w.services.join(", ")})` : kind);
  }
  return merged.map((w) => ({
    start: clockMs(result, w.startMs),
    end: clockMs(result, w.endMs),
    label: `${w.labels.join(" + ")}, ${clockLabel(result, w.startMs)}–${clockLabel(result, w.endMs)}`,
  }));
}

/** Remediation and gateway restarts, as points in time to mark in every panel. */
function events(result: LabResult): Array<{ t: number; label: string }> {
  const values: Array<{ t: number; label: string }> = [];
  for (const event of result.story.timeline) {
    if (event.action === "remediate") {
      values.push({ t: event.atMs, label: `${clockLabel(result, event.atMs)} remediation starts` });
      if (event.untilMs !== undefined && event.untilMs > event.atMs) values.push({ t: event.untilMs, label: `${clockLabel(result, event.untilMs)} remediation complete` });
    } else if (event.action === "restart" && !event.what.startsWith("control plane")) {
      values.push({ t: event.atMs, label: `${clockLabel(result, event.atMs)} ${event.what}` });
    }
  }
  return values.map((v) => ({ t: clockMs(result, v.t), label: v.label }));
}

interface Placed {
  lane: number;
  /** Pixel extent of the label, and where its rule (or window start) is. */
  lo: number;
  hi: number;
  at: number;
  /** Only event labels hang from a rule that runs down to the panels. */
  rule: boolean;
}

/**
 * The band above the panels: each label once, in lanes, so that no label
 * overprints another and no event's rule (which runs from its label down
 * through the band) crosses another label.
 */
function eventBand(result: LabResult, x: XDef): { spec: object; rules: Array<{ t: number }> } {
  const [t0, t1] = [clockMs(result, 0), clockMs(result, result.durationMs)];
  const px = (t: number): number => ((t - t0) / Math.max(1, t1 - t0)) * PLOT_WIDTH;
  const windows = mergedWindows(result);
  const marks = [
    ...windows.map((w) => ({ t: w.start, label: w.label, bold: true, rule: false })),
    ...events(result).map((e) => ({ t: e.t, label: e.label, bold: false, rule: true })),
  ].sort((a, b) => a.t - b.t);
  const placed: Placed[] = [];
  const labels: Array<{ t: number; label: string; lane: number; right: boolean; bold: boolean }> = [];
  for (const mark of marks) {
    const at = px(mark.t);
    const width = mark.label.length * (mark.bold ? BOLD_CHAR_WIDTH : CHAR_WIDTH);
    // Written to the right of its time if it fits, else to the left; the first lane where it clashes with nothing.
    const fitsRight = at + 6 + width <= PLOT_WIDTH;
    const extent = (right: boolean): [number, number] => (right ? [at - 6 - width, at] : [at, at + 6 + width]);
    const clashes = (l: number, right: boolean): boolean => {
      const [lo, hi] = extent(right);
      return placed.some(
        (p) =>
          (p.lane === l && lo < p.hi + LABEL_GAP && p.lo < hi + LABEL_GAP) ||
          (mark.rule && p.lane > l && p.lo <= at && at <= p.hi) ||
          (p.rule && p.lane < l && lo <= p.at && p.at <= hi),
      );
    };
    const lanesSoFar = Math.max(0, ...placed.map((p) => p.lane + 1));
    const sides = fitsRight ? [false, true] : [true];
    let lane = lanesSoFar;
    let right = !fitsRight;
    search: for (let l = 0; l <= lanesSoFar; l++) {
      for (const side of sides) {
        if (!clashes(l, side)) {
          [lane, right] = [l, side];
          break search;
        }
      }
    }
    // Nothing fits without a rule crossing it: a new lane at the bottom, where only rules above may cross it.
    const [lo, hi] = extent(right);
    placed.push({ lane, lo, hi, at, rule: mark.rule });
    labels.push({ t: mark.t, label: mark.label, lane, right, bold: mark.bold });
  }
  const lanes = Math.max(1, ...placed.map((p) => p.lane + 1));
  const height = lanes * LANE_HEIGHT + 6;
  const rules = events(result).map((e) => ({ t: e.t }));
  const ruleTop = new Map(labels.map((l) => [l.t, l.lane * LANE_HEIGHT + 3]));
  const text = (bold: boolean, right: boolean): object => ({
    transform: [{ filter: `datum.bold === ${bold} && datum.right === ${right}` }],
    mark: {
      type: "text",
      align: right ? "right" : "left",
      baseline: "middle",
      dx: right ? -6 : 6,
      fontSize: LABEL_FONT_SIZE,
      fontWeight: bold ? "bold" : "normal",
      color: bold ? "#A50F15" : "#222",
      clip: false,
    },
    encoding: { x: { field: "t", ...x, axis: null }, y: { field: "y", type: "quantitative", scale: null }, text: { field: "label" } },
  });
  const labelValues = labels.map((l) => ({ ...l, y: l.lane * LANE_HEIGHT + LANE_HEIGHT / 2 + 2 }));
  const layers: object[] = [
    { data: { values: windows }, mark: { type: "rect", color: FAULT_COLOUR, opacity: FAULT_OPACITY }, encoding: { x: { field: "start", ...x, axis: null }, x2: { field: "end" } } },
  ];
  if (rules.length > 0) {
    layers.push({
      data: { values: rules.map((r) => ({ t: r.t, y: ruleTop.get(r.t) ?? 0, y2: height })) },
      mark: { type: "rule", strokeDash: [6, 4], color: "#333", strokeWidth: 1.5 },
      encoding: { x: { field: "t", ...x, axis: null }, y: { field: "y", type: "quantitative", scale: null }, y2: { field: "y2" } },
    });
  }
  if (labelValues.length > 0) {
    layers.push({ data: { values: labelValues }, layer: [text(true, false), text(true, true), text(false, false), text(false, true)] });
  }
  return {
    spec: {
      width: PLOT_WIDTH,
      height,
      view: { stroke: null },
      layer: layers,
    },
    rules,
  };
}

function cohortPanel(result: LabResult, cohort: string, index: number, x: XDef, rules: Array<{ t: number }>, bottom: boolean, hhmm: boolean): object {
  const stats = result.cohorts[cohort]!;
  const values: LinePoint[] = [];
  const width = stats.series.length > 1 ? (stats.series[1]?.tMs ?? 0) - (stats.series[0]?.tMs ?? 0) : 0;
  for (const point of stats.series) {
    if (point.attempts > 0) values.push({ t: clockMs(result, point.tMs + width / 2), rate: (100 * point.successes) / point.attempts });
  }
  const colour = COHORT_COLOURS[index % COHORT_COLOURS.length]!;
  const story = result.story.cohorts[cohort];
  const cold = stats.coldStarts;
  const facts = [
    story && story.discovery !== cohort ? `${story.discovery} discovery` : "",
    story?.controlPlane === "guarded" ? "guarded plane" : "",
    `whole run ${percent(rate(stats))}`,
    result.faultWindows.length > 0 ? `during fault ${percent(rate(stats.duringFault))}` : "",
    cold.attempts > 0 ? `cold starts ${cold.successes}/${cold.attempts} ok` : "",
    stats.afterFault.attempts > 0 ? `after fault ${percent(rate(stats.afterFault))}` : "",
  ].filter((f) => f.length > 0);
  const xAxis = bottom
    ? { format: hhmm ? "%H:%M" : "%H:%M:%S", title: `scenario clock (${hhmm ? "HH:MM" : "HH:MM:SS"})`, grid: true, gridColor: "#eee", labelFontSize: 14, titleFontSize: 14 }
    : { labels: false, ticks: false, domain: false, title: null, grid: true, gridColor: "#eee" };
  const layers: object[] = [
    { data: { values: mergedWindows(result) }, mark: { type: "rect", color: FAULT_COLOUR, opacity: FAULT_OPACITY }, encoding: { x: { field: "start", type: "temporal" }, x2: { field: "end" } } },
  ];
  if (rules.length > 0) {
    layers.push({ data: { values: rules }, mark: { type: "rule", strokeDash: [6, 4], color: "#777", strokeWidth: 1.25 }, encoding: { x: { field: "t", type: "temporal" } } });
  }
  layers.push({
    data: { values },
    mark: { type: "line", color: colour, strokeWidth: 2.75, strokeCap: "round", strokeJoin: "round" },
    encoding: {
      x: { field: "t", ...x, axis: xAxis },
      y: {
        field: "rate",
        type: "quantitative",
        scale: { domain: Y_DOMAIN, nice: false },
        axis: { title: "success (%)", values: [0, 50, 100], grid: true, gridColor: "#e5e5e5", titleFontSize: 12 },
      },
    },
  });
  return {
    width: PLOT_WIDTH,
    height: PANEL_HEIGHT,
    title: { text: cohort, subtitle: facts.join(" · "), anchor: "start", fontSize: 16, fontWeight: "bold", color: "#111", subtitleFontSize: 13, subtitleColor: "#444", offset: 6, subtitlePadding: 2 },
    layer: layers,
  };
}
