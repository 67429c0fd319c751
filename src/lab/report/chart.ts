import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { cohortPanel, FAULT_COLOUR, FAULT_OPACITY, PLOT_WIDTH, WARM_UP_COLOUR, WARM_UP_OPACITY, type PanelFrame } from "./chart-panel.js";
import { clockLabel, minutesOnly } from "./format.js";
import type { LabResult } from "./model.js";

/**
 * The success-rate-over-time chart: one small panel per cohort (see
 * chart-panel.ts), stacked, sharing one x axis in scenario clock time, y
 * 0–100%, the warm-up before the first fault and the fault windows shaded in
 * every panel, and the timeline's phases tinted and named in each. The
 * events (warm-up, fault windows, remediation, deliberate and scheduled
 * gateway restarts, traffic policy changes) are labelled once, in a band
 * above the panels where no data line can cross them. Each dot carries its attempts as
 * an SVG <title> (a tooltip in report.html, with no script). vega-lite compiles it, vega renders it to SVG headless (no canvas, no
 * browser), and resvg turns the SVG into a PNG CHART_WIDTH wide; the height
 * grows with the number of cohorts.
 */

export const CHART_WIDTH = 1200;
export { PANEL_HEIGHT } from "./chart-panel.js";
/** Fonts in preference order; resvg finds the first installed one (Debian's fonts-dejavu-core in CI). */
const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";
/** The event band: one lane of labels per LANE_HEIGHT px. */
const LANE_HEIGHT = 20;
const LABEL_FONT_SIZE = 13;
/** DejaVu Sans averages about 0.62 em per character (bold a little more); used to keep labels apart. */
const CHAR_WIDTH = 0.62 * LABEL_FONT_SIZE;
const BOLD_CHAR_WIDTH = 0.68 * LABEL_FONT_SIZE;
const LABEL_GAP = 14;
/** vega's estimate of a character's width without a canvas (0.8 em): text that reaches past the plot by it widens the SVG. */
const VEGA_CHAR_WIDTH = 0.8 * LABEL_FONT_SIZE;

/** The chart as SVG text and PNG bytes (CHART_WIDTH wide). */
export async function renderChart(result: LabResult): Promise<{ svg: string; png: Buffer }> {
  const { spec } = compile(chartSpec(result));
  const view = new vega.View(vega.parse(spec), { renderer: "none" });
  try {
    const svg = withTooltips(await view.toSVG());
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

/** Into every dot (a <path> vega describes as a point, with an aria-label), that label as a <title>: a tooltip in browsers, with no script. */
function withTooltips(svg: string): string {
  return svg.replace(/<path\b([^>]*?)\saria-label="([^"]*)"([^>]*?)(\/>|><\/path>)/g, (whole: string, before: string, label: string, after: string) =>
    `${before}${after}`.includes('aria-roledescription="point"') ? `<path${before} aria-label="${label}"${after}><title>${label}</title></path>` : whole,
  );
}

export function chartSpec(result: LabResult): TopLevelSpec {
  const cohorts = Object.keys(result.cohorts);
  const domain = [clockMs(result, 0), clockMs(result, result.durationMs)];
  const x: XDef = { type: "temporal" };
  const band = eventBand(result, x);
  const restarts = result.story.scheduledRestarts;
  const warmUp = warmUpWindow(result);
  const frame: PanelFrame = {
    x,
    xScale: { type: "utc", domain },
    hhmm: minutesOnly(result),
    faults: mergedWindows(result),
    ...(warmUp && { warmUp: { start: clockMs(result, warmUp.start), end: clockMs(result, warmUp.end) } }),
    events: events(result).map((e) => ({ t: e.t })),
    restarts: (restarts?.atMs ?? []).map((t) => ({ t: clockMs(result, t) })),
    restartCohorts: restarts?.cohorts ?? [],
    phases: (result.phases ?? []).map((p) => ({ name: p.name, start: clockMs(result, p.startMs), end: clockMs(result, p.endMs) })),
    maxAttempts: Math.max(1, ...Object.values(result.cohorts).flatMap((stats) => stats.series.map((p) => p.attempts))),
    clock: (tMs) => clockMs(result, tMs),
  };
  const panels = cohorts.map((cohort, i) => cohortPanel(result, cohort, frame, i === cohorts.length - 1));
  return {
    padding: { left: 16, right: 24, top: 12, bottom: 12 },
    background: "white",
    title: {
      text: `${result.scenario}: login success rate per cohort`,
      // Short lines: vega sizes the chart by its own (generous) estimate of text width.
      subtitle: [
        `One panel per cohort, one colour per cohort in every report. y: login attempts that succeeded.`,
        `A dot per time bucket: its area is the attempts it counts (at most ${frame.maxAttempts}); hover for the numbers.`,
        `Hollow dots on a dashed line: gateways started cold inside a fault. Replayed at ${result.speed}× speed.`,
        `Shaded grey: warm-up; red: fault windows. Dashed: the events labelled above; dotted: scheduled restarts.`,
        ...(frame.phases.length > 0 ? ["Blue, light and dark by turns: the timeline's phases, each named in every panel with its success."] : []),
      ],
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

/** From time 0 to the first fault window, if that starts later. */
function warmUpWindow(result: LabResult): Window | undefined {
  if (result.faultWindows.length === 0) return undefined;
  const first = Math.min(...result.faultWindows.map((w) => w.startMs));
  return first > 0 ? { start: 0, end: first } : undefined;
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

/** Remediation, gateway restarts and traffic policy changes, as points in time to mark in every panel. */
function events(result: LabResult): Array<{ t: number; label: string }> {
  const values: Array<{ t: number; label: string }> = [];
  for (const event of result.story.timeline) {
    if (event.action === "remediate") {
      values.push({ t: event.atMs, label: `${clockLabel(result, event.atMs)} remediation starts` });
      if (event.untilMs !== undefined && event.untilMs > event.atMs) values.push({ t: event.untilMs, label: `${clockLabel(result, event.untilMs)} remediation complete` });
    } else if (event.action === "restart" && !event.what.startsWith("control plane")) {
      values.push({ t: event.atMs, label: `${clockLabel(result, event.atMs)} ${event.what}` });
    } else if ((event.action === "policy" || event.action === "clear-policy") && event.label !== undefined) {
      values.push({ t: event.atMs, label: `${clockLabel(result, event.atMs)} ${event.label}` });
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
  /** Event and restart labels hang from a rule that runs down to the panels. */
  rule: boolean;
}

/** How a label in the band looks: fault windows bold red, warm-up grey, events dark, scheduled restarts small grey. */
type LabelStyle = "fault" | "warm-up" | "event" | "restart";
const LABEL_STYLES: Readonly<Record<LabelStyle, { weight: string; colour: string; rule?: object }>> = {
  fault: { weight: "bold", colour: "#A50F15" },
  "warm-up": { weight: "bold", colour: "#595959" },
  event: { weight: "normal", colour: "#222", rule: { strokeDash: [6, 4], color: "#333", strokeWidth: 1.5 } },
  restart: { weight: "normal", colour: "#666", rule: { strokeDash: [2, 3], color: "#888", strokeWidth: 1.5 } },
};

interface BandMark {
  t: number;
  label: string;
  style: LabelStyle;
}

/** Everything the band labels, in time order. */
function bandMarks(result: LabResult): BandMark[] {
  const warmUp = warmUpWindow(result);
  const restarts = result.story.scheduledRestarts;
  return [
    ...(warmUp ? [{ t: clockMs(result, warmUp.start), label: `warm-up, ${clockLabel(result, warmUp.start)}–${clockLabel(result, warmUp.end)}`, style: "warm-up" as const }] : []),
    ...mergedWindows(result).map((w) => ({ t: w.start, label: w.label, style: "fault" as const })),
    ...events(result).map((e) => ({ ...e, style: "event" as const })),
    ...(restarts?.atMs ?? []).map((t) => ({ t: clockMs(result, t), label: `${clockLabel(result, t)} restarts`, style: "restart" as const })),
  ].sort((a, b) => a.t - b.t);
}

/**
 * The band above the panels: each label once, in lanes, so that no label
 * overprints another and no rule (which runs from its label down through
 * the band) crosses another label.
 */
function eventBand(result: LabResult, x: XDef): { spec: object } {
  const [t0, t1] = [clockMs(result, 0), clockMs(result, result.durationMs)];
  const px = (t: number): number => ((t - t0) / Math.max(1, t1 - t0)) * PLOT_WIDTH;
  const placed: Placed[] = [];
  const labels: Array<BandMark & { lane: number; right: boolean }> = [];
  for (const mark of bandMarks(result)) {
    const at = px(mark.t);
    const rule = LABEL_STYLES[mark.style].rule !== undefined;
    const width = mark.label.length * (LABEL_STYLES[mark.style].weight === "bold" ? BOLD_CHAR_WIDTH : CHAR_WIDTH);
    // Written to the right of its time if it fits (by vega's own estimate of its width, which sizes the chart), else to the left; the first lane where it clashes with nothing.
    const fitsRight = at + 6 + mark.label.length * VEGA_CHAR_WIDTH <= PLOT_WIDTH;
    const extent = (right: boolean): [number, number] => (right ? [at - 6 - width, at] : [at, at + 6 + width]);
    const clashes = (l: number, right: boolean): boolean => {
      const [lo, hi] = extent(right);
      return placed.some(
        (p) =>
          (p.lane === l && lo < p.hi + LABEL_GAP && p.lo < hi + LABEL_GAP) ||
          (rule && p.lane > l && p.lo <= at && at <= p.hi) ||
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
    placed.push({ lane, lo, hi, at, rule });
    labels.push({ ...mark, lane, right });
  }
  const lanes = Math.max(1, ...placed.map((p) => p.lane + 1));
  const height = lanes * LANE_HEIGHT + 6;
  const text = (style: LabelStyle, right: boolean): object => ({
    transform: [{ filter: `datum.style === '${style}' && datum.right === ${right}` }],
    mark: {
      type: "text",
      align: right ? "right" : "left",
      baseline: "middle",
      dx: right ? -6 : 6,
      fontSize: LABEL_FONT_SIZE,
      fontWeight: LABEL_STYLES[style].weight,
      color: LABEL_STYLES[style].colour,
      clip: false,
    },
    encoding: { x: { field: "t", ...x, axis: null }, y: { field: "y", type: "quantitative", scale: null }, text: { field: "label" } },
  });
  const span = (values: Window[], color: string, opacity: number): object => ({ data: { values }, mark: { type: "rect", color, opacity }, encoding: { x: { field: "start", ...x, axis: null }, x2: { field: "end" } } });
  const warmUp = warmUpWindow(result);
  const layers: object[] = [span(mergedWindows(result), FAULT_COLOUR, FAULT_OPACITY)];
  if (warmUp) layers.push(span([{ start: clockMs(result, warmUp.start), end: clockMs(result, warmUp.end) }], WARM_UP_COLOUR, WARM_UP_OPACITY));
  for (const style of ["event", "restart"] as const) {
    const rules = labels.filter((l) => l.style === style).map((l) => ({ t: l.t, y: l.lane * LANE_HEIGHT + 3, y2: height }));
    if (rules.length === 0) continue;
    layers.push({
      data: { values: rules },
      mark: { type: "rule", ...LABEL_STYLES[style].rule },
      encoding: { x: { field: "t", ...x, axis: null }, y: { field: "y", type: "quantitative", scale: null }, y2: { field: "y2" } },
    });
  }
  if (labels.length > 0) {
    const values = labels.map((l) => ({ ...l, y: l.lane * LANE_HEIGHT + LANE_HEIGHT / 2 + 2 }));
    const styles = [...new Set(labels.map((l) => l.style))];
    layers.push({ data: { values }, layer: styles.flatMap((style) => [text(style, false), text(style, true)]) });
  }
  return { spec: { width: PLOT_WIDTH, height, view: { stroke: null }, layer: layers } };
}
