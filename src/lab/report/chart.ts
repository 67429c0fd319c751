import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { formatClock } from "../scenario/index.js";
import type { LabResult } from "./model.js";

/**
 * The success-rate-over-time chart: one line per cohort, fault windows
 * shaded, the x axis in scenario clock time. vega-lite compiles it, vega
 * renders it to SVG headless (no canvas, no browser), and resvg turns the
 * SVG into a PNG.
 */

export const CHART_WIDTH = 1200;
export const CHART_HEIGHT = 600;
/** Fonts in preference order; resvg finds the first installed one (Debian's fonts-dejavu-core in CI). */
const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";
/** Colour-blind-safe (Okabe–Ito), dark enough on white. */
const COHORT_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
/** A little headroom, so lines at 100% are not drawn on the frame. */
const Y_MAX = 104;
const DASHES = [[1, 0], [10, 4], [4, 3], [12, 3, 3, 3], [2, 2], [8, 8], [6, 2]];

interface LinePoint {
  cohort: string;
  t: number;
  rate: number;
}

/** The chart as SVG text and PNG bytes (about 1200×600). */
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

export function chartSpec(result: LabResult): TopLevelSpec {
  const cohorts = Object.keys(result.cohorts);
  const scenarioMinutes = (result.durationMs * result.speed) / 60_000;
  // Only the line layer carries the scale and axis: vega-lite merges the layers' x scales, and repeating the domain makes it warn.
  const x = { type: "temporal" as const };
  const xAxis = {
    ...x,
    scale: { type: "utc" as const, domain: [clockMs(result, 0), clockMs(result, result.durationMs)] },
    axis: { format: scenarioMinutes > 20 ? "%H:%M" : "%H:%M:%S", title: `scenario clock (${scenarioMinutes > 20 ? "HH:MM" : "HH:MM:SS"})`, grid: false },
  };
  return {
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    autosize: { type: "fit", contains: "padding" },
    padding: { left: 16, right: 24, top: 12, bottom: 12 },
    background: "white",
    title: {
      text: `${result.scenario}: login success rate per cohort`,
      subtitle: `Shaded: fault windows. Each point: share of login attempts that succeeded. Replayed at ${result.speed}× speed.`,
      anchor: "start",
      fontSize: 22,
      subtitleFontSize: 14,
      subtitleColor: "#444",
      offset: 12,
    },
    config: {
      font: FONT,
      axis: { labelFontSize: 14, titleFontSize: 14, titleColor: "#333", labelColor: "#333" },
      legend: { labelFontSize: 15, titleFontSize: 15, labelLimit: 400, symbolStrokeWidth: 3.5, symbolSize: 700, orient: "bottom", direction: "horizontal", columnPadding: 28, offset: 14 },
      view: { stroke: "#bbb" },
    },
    layer: [faultLayer(result, x), ...eventLayers(result, x), lineLayer(result, cohorts, xAxis)],
  } as TopLevelSpec;
}

type XDef = Record<string, unknown>;

/**
 * Windows that start and end within 1% of the run of each other look like one
 * on the chart (the runner applies a timeline entry's faults a few ms apart),
 * so they get one shaded area and one label; otherwise the labels overprint.
 */
const SAME_WINDOW_SHARE = 0.01;

function faultLayer(result: LabResult, x: XDef): object {
  const near = (a: number, b: number): boolean => Math.abs(a - b) <= result.durationMs * SAME_WINDOW_SHARE;
  const merged: Array<{ startMs: number; endMs: number; labels: string[] }> = [];
  for (const w of result.faultWindows) {
    let entry = merged.find((m) => near(m.startMs, w.startMs) && near(m.endMs, w.endMs));
    if (!entry) merged.push((entry = { startMs: w.startMs, endMs: w.endMs, labels: [] }));
    entry.labels.push(w.services.length > 0 ? `${w.kind} (${w.services.join(", ")})` : w.kind);
  }
  const values = merged.map((w) => ({ start: clockMs(result, w.startMs), end: clockMs(result, w.endMs), label: w.labels.join(" + ") }));
  return {
    data: { values },
    layer: [
      { mark: { type: "rect", color: "#E31A1C", opacity: 0.13 }, encoding: { x: { field: "start", ...x }, x2: { field: "end" } } },
      {
        // Above the plot, where no line can cover it.
        mark: { type: "text", align: "left", baseline: "bottom", dx: 2, dy: -4, fontSize: 14, fontWeight: "bold", color: "#A50F15", clip: false },
        encoding: { x: { field: "start", ...x }, y: { value: 0 }, text: { field: "label" } },
      },
    ],
  };
}

/** Dashed rules for remediation and gateway restarts, labelled along the rule. */
function eventLayers(result: LabResult, x: XDef): object[] {
  const values: Array<{ t: number; label: string }> = [];
  const at = (tMs: number): string => formatClock(result.story.startOfDaySec + (tMs / 1000) * result.speed);
  for (const event of result.story.timeline) {
    if (event.action === "remediate") {
      values.push({ t: clockMs(result, event.atMs), label: `${event.clock} remediation starts` });
      if (event.untilMs !== undefined && event.untilMs > event.atMs) values.push({ t: clockMs(result, event.untilMs), label: `${at(event.untilMs)} remediation complete` });
    } else if (event.action === "restart" && !event.what.startsWith("control plane")) {
      values.push({ t: clockMs(result, event.atMs), label: `${event.clock} gateways restart` });
    }
  }
  if (values.length === 0) return [];
  return [
    {
      data: { values },
      layer: [
        { mark: { type: "rule", strokeDash: [6, 4], color: "#333", strokeWidth: 1.5 }, encoding: { x: { field: "t", ...x } } },
        {
          // Written up along the rule from just above the x axis.
          mark: { type: "text", angle: 270, align: "left", baseline: "bottom", dx: 6, dy: -3, fontSize: 13, color: "#222" },
          encoding: { x: { field: "t", ...x }, y: { datum: Y_MAX * 0.03, type: "quantitative" }, text: { field: "label" } },
        },
      ],
    },
  ];
}

function lineLayer(result: LabResult, cohorts: readonly string[], x: XDef): object {
  const values: LinePoint[] = [];
  for (const [cohort, stats] of Object.entries(result.cohorts)) {
    const width = stats.series.length > 1 ? (stats.series[1]?.tMs ?? 0) - (stats.series[0]?.tMs ?? 0) : 0;
    for (const point of stats.series) {
      if (point.attempts > 0) values.push({ cohort, t: clockMs(result, point.tMs + width / 2), rate: (100 * point.successes) / point.attempts });
    }
  }
  const legend = { title: null, labelExpr: "datum.label" };
  return {
    data: { values },
    mark: { type: "line", strokeWidth: 2.75, strokeCap: "round", strokeJoin: "round" },
    encoding: {
      x: { field: "t", ...x },
      y: {
        field: "rate",
        type: "quantitative",
        scale: { domain: [0, Y_MAX], nice: false },
        axis: { title: "login success (%)", values: [0, 20, 40, 60, 80, 100], grid: true, gridColor: "#e5e5e5" },
      },
      color: { field: "cohort", type: "nominal", scale: { domain: cohorts, range: COHORT_COLOURS }, legend },
      strokeDash: { field: "cohort", type: "nominal", scale: { domain: cohorts, range: DASHES }, legend },
    },
  };
}
