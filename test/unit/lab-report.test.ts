import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createTally, evaluateSlos, loadScenario, parseScenario, renderChart, svgToPng, writeReport, type LabResult } from "../../src/lab/index.js";
import { PANEL_HEIGHT } from "../../src/lab/report/chart.js";
import { percent } from "../../src/lab/report/format.js";
import { spotifyLike, syntheticResult } from "./lab-fixtures.js";

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "steadymesh-report-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("lab - a tally counts attempts during and after the fault windows, by the time they started", () => {
  const tally = createTally({ bucketMs: 1000 });
  tally.record(500, true);
  tally.record(1500, false, "UNAVAILABLE");
  tally.record(1999, false, "UNAVAILABLE");
  tally.record(2000, true);
  tally.record(3500, false);
  tally.record(4200, true);
  const stats = tally.stats([{ kind: "config-loss", services: ["login"], startMs: 1000, endMs: 2000 }, { kind: "stall", services: [], startMs: 3000, endMs: 4000 }], 5000);
  assert.deepEqual({ attempts: stats.attempts, successes: stats.successes }, { attempts: 6, successes: 3 });
  assert.deepEqual(stats.duringFault, { attempts: 3, successes: 0 });
  assert.deepEqual(stats.afterFault, { attempts: 1, successes: 1 });
  assert.deepEqual(stats.errors, { UNAVAILABLE: 2, UNKNOWN: 1 });
  assert.deepEqual(stats.series.map((p) => [p.tMs, p.attempts, p.successes]), [[0, 1, 1], [1000, 2, 0], [2000, 1, 1], [3000, 1, 0], [4000, 1, 1]]);
  assert.deepEqual(tally.stats([], 5000).afterFault, { attempts: 0, successes: 0 });
  assert.throws(() => tally.record(-1, true), RangeError);
  assert.throws(() => createTally({ bucketMs: 0 }), RangeError);
});

test("lab - SLOs pass and fail on the measured share, and fail when nothing was measured", () => {
  const scenario = parseScenario(`name: slo
description: SLO check.
speed: 1
end: "+10s"
cohorts: [{ name: a, discovery: steady }, { name: b, discovery: xds-default }, { name: c, discovery: dns }]
workload: { users: 1, loggedInShare: 0, loginRatePerSec: 1, retry: { baseMs: 1, maxMs: 1, jitter: 0 } }
timeline: [{ at: "+2s", action: fault, kind: stall }, { at: "+5s", action: clear-fault }]
slos:
  - { cohort: a, window: whole, minSuccess: 0.9 }
  - { cohort: a, window: during-fault, minSuccess: 0.999 }
  - { cohort: b, window: during-fault, minSuccess: 0, maxSuccess: 0.05 }
  - { cohort: b, window: after-fault, minSuccess: 0.5 }
  - { cohort: c, window: whole, minSuccess: 0.5 }
`);
  const windows = [{ kind: "stall", services: [], startMs: 2000, endMs: 5000 }];
  const a = createTally({ bucketMs: 1000 });
  const b = createTally({ bucketMs: 1000 });
  for (let t = 0; t < 10_000; t += 100) {
    const inFault = t >= 2000 && t < 5000;
    a.record(t, !(inFault && t === 2500));
    b.record(t, !inFault);
  }
  const results = evaluateSlos(scenario, { a: a.stats(windows, 10_000), b: b.stats(windows, 10_000) }, windows);
  assert.deepEqual(results.map((r) => [r.cohort, r.window, r.ok]), [["a", "whole", true], ["a", "during-fault", false], ["b", "during-fault", true], ["b", "after-fault", true], ["c", "whole", false]]);
  assert.equal(results[1]?.actual, 29 / 30);
  assert.equal(results[1]?.attempts, 30);
  assert.equal(results[2]?.max, 0.05);
  assert.match(results[4]?.reason ?? "", /no measurements for cohort "c"/);
  const noWindows = evaluateSlos(scenario, { a: a.stats([], 10_000), b: b.stats([], 10_000) }, []);
  assert.equal(noWindows[1]?.ok, false);
  assert.equal(noWindows[1]?.reason, "no fault window was recorded");
});

test("lab - a tally tells cold starts apart: attempts on a gateway that came up inside a window, while that window lasts", () => {
  const tally = createTally({ bucketMs: 1000 });
  const windows = [{ kind: "stream-error", services: [], startMs: 1000, endMs: 3000 }];
  tally.record(500, true, undefined, -100);
  tally.record(1200, true, undefined, -100);
  tally.record(1600, false, "NOT_FOUND", 1500);
  tally.record(2900, false, "NOT_FOUND", 1500);
  tally.record(3100, true, undefined, 1500);
  tally.record(3200, false, "NO_GATEWAY");
  const stats = tally.stats(windows, 4000, [-100, -100, 1500, 3050]);
  assert.deepEqual(stats.coldStarts, { gateways: 1, during: ["stream-error"], attempts: 2, successes: 0 });
  assert.deepEqual(stats.duringFault, { attempts: 3, successes: 1 });
  assert.deepEqual(tally.stats([], 4000, [1500]).coldStarts, { gateways: 0, during: [], attempts: 0, successes: 0 });
});

test("lab - an SLO on warm gateways leaves the cold starts out; one with none left fails with a reason", () => {
  const scenario = parseScenario(`name: warm
description: Warm SLO check.
speed: 1
end: "+10s"
cohorts: [{ name: a, discovery: xds-default }]
workload: { users: 1, loggedInShare: 0, loginRatePerSec: 1, retry: { baseMs: 1, maxMs: 1, jitter: 0 } }
timeline: [{ at: "+2s", action: fault, kind: stream-error }, { at: "+5s", action: clear-fault }]
slos:
  - { cohort: a, window: during-fault, minSuccess: 0.999, gateways: warm }
  - { cohort: a, window: during-fault, minSuccess: 0.999 }
  - { cohort: a, window: whole, minSuccess: 0.9, gateways: warm }
`);
  const windows = [{ kind: "stream-error", services: [], startMs: 2000, endMs: 5000 }];
  const a = createTally({ bucketMs: 1000 });
  for (let t = 0; t < 10_000; t += 100) {
    const coldGateway = t >= 3000 && t < 5000 && t % 200 === 0;
    a.record(t, !coldGateway, coldGateway ? "NOT_FOUND" : undefined, coldGateway ? 3000 : -1);
  }
  const stats = a.stats(windows, 10_000, [-1, 3000]);
  const results = evaluateSlos(scenario, { a: stats }, windows);
  assert.deepEqual(results.map((r) => [r.window, r.gateways, r.ok, r.attempts]), [["during-fault", "warm", true, 20], ["during-fault", undefined, false, 30], ["whole", "warm", true, 90]]);
  const allCold = evaluateSlos(scenario, { a: { ...stats, coldStarts: { ...stats.coldStarts, ...stats.duringFault } } }, windows);
  assert.deepEqual([allCold[0]?.ok, allCold[0]?.reason], [false, "no attempts during-fault on warm gateways"]);
});

/** Checks one value against a type description: "string", "number", "boolean", [item], or { field: type }. */
function assertShape(value: unknown, shape: unknown, path: string): void {
  if (typeof shape === "string") {
    assert.equal(typeof value, shape, `${path}: expected a ${shape}, got ${JSON.stringify(value)}`);
    if (shape === "number") assert.ok(Number.isFinite(value), `${path}: not finite`);
  } else if (Array.isArray(shape)) {
    assert.ok(Array.isArray(value), `${path}: expected an array`);
    value.forEach((item, i) => assertShape(item, shape[0], `${path}[${i}]`));
  } else {
    assert.ok(typeof value === "object" && value !== null && !Array.isArray(value), `${path}: expected an object`);
    for (const [key, inner] of Object.entries(shape as object)) assertShape((value as Record<string, unknown>)[key], inner, `${path}.${key}`);
  }
}

const COUNTS = { attempts: "number", successes: "number" };
const REPORT_SCHEMA = {
  scenario: "string",
  speed: "number",
  seed: "number",
  durationMs: "number",
  faultWindows: [{ kind: "string", services: ["string"], startMs: "number", endMs: "number" }],
  slos: [{ cohort: "string", window: "string", min: "number", actual: "number", ok: "boolean" }],
  ok: "boolean",
};

test("lab - writeReport writes report.json with the schema's fields, report.png and report.html", async () => {
  const result = syntheticResult(loadScenario("spotify-2022-03-08"), spotifyLike);
  const out = join(dir, "spotify");
  const files = await writeReport(out, result);
  assert.deepEqual(files, { json: join(out, "report.json"), html: join(out, "report.html"), png: join(out, "report.png") });

  const json = JSON.parse(await readFile(files.json, "utf8")) as Record<string, unknown>;
  assertShape(json, REPORT_SCHEMA, "report");
  const cohorts = json["cohorts"] as Record<string, unknown>;
  assert.deepEqual(Object.keys(cohorts), ["xds-default", "xds-remediated", "xds-ignore-deletion", "steady", "dns", "xds-default-guarded", "xds-dns-fallback"]);
  for (const [name, stats] of Object.entries(cohorts)) {
    const coldStarts = { ...COUNTS, gateways: "number", during: ["string"] };
    assertShape(stats, { ...COUNTS, duringFault: COUNTS, series: [{ tMs: "number", ...COUNTS }], coldStarts, controlPlane: "string" }, `cohorts.${name}`);
    for (const [code, n] of Object.entries((stats as { errors: Record<string, unknown> }).errors)) assert.equal(typeof n, "number", `${name}.errors.${code}`);
  }
  assert.equal(json["scenario"], "spotify-2022-03-08");
  assert.equal(json["ok"], result.slos.every((slo) => slo.ok));
  assert.deepEqual(json["faultWindows"], result.faultWindows.map((w) => ({ ...w, startClock: "18:07", endClock: "20:42" })));
  assert.deepEqual((json["faultWindows"] as Array<{ layer: string }>).map((w) => w.layer), ["pipeline", "server"]);
  const guarded = cohorts["xds-default-guarded"] as { controlPlane: string; coldStarts: { gateways: number; attempts: number; successes: number; during: string[] } };
  assert.equal(guarded.controlPlane, "guarded");
  assert.deepEqual([guarded.coldStarts.gateways, guarded.coldStarts.successes, guarded.coldStarts.during], [1, 0, ["config-loss", "stream-error"]]);
  assert.ok(guarded.coldStarts.attempts > 0);
  assert.equal((cohorts["steady"] as typeof guarded).coldStarts.gateways, 0);
});

test("lab - report.png is a real PNG 1200 px wide, one readable panel per cohort", async () => {
  const out = join(dir, "png");
  const files = await writeReport(out, syntheticResult(loadScenario("spotify-2022-03-08"), spotifyLike));
  const png = await readFile(files.png);
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
  assert.equal(png.subarray(12, 16).toString("ascii"), "IHDR");
  const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
  assert.equal(width, 1200);
  // Seven cohorts: a title and a plot of PANEL_HEIGHT px each, plus the header, the event band and the x axis.
  assert.ok(height >= 7 * (PANEL_HEIGHT + 40) && height <= 1600, `report.png is ${width}×${height}`);
  // A blank or text-less PNG of this size compresses to a few kB; lines, shading and labels take far more.
  assert.ok((await stat(files.png)).size > 30_000, `report.png is only ${png.length} bytes`);
});

test("lab - the chart grows with the number of cohorts: each panel keeps its height", async () => {
  const base = syntheticResult(loadScenario("spotify-2022-03-08"), spotifyLike);
  const two: LabResult = { ...base, cohorts: Object.fromEntries(Object.entries(base.cohorts).slice(0, 2)) };
  const heightOf = (png: Buffer): number => png.readUInt32BE(20);
  const [small, full] = await Promise.all([renderChart(two), renderChart(base)]);
  assert.equal(small.png.readUInt32BE(16), 1200);
  const perPanel = (heightOf(full.png) - heightOf(small.png)) / (Object.keys(base.cohorts).length - 2);
  assert.ok(perPanel >= PANEL_HEIGHT + 30, `a panel adds only ${perPanel} px`);
});

/** The SVG's text marks, with their x, y position and anchor. */
function svgTexts(svg: string): Array<{ text: string; x: number; y: number; anchor: string }> {
  return [...svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)].map((m) => {
    const at = /translate\(([-\d.]+),([-\d.]+)\)/.exec(m[1]!);
    return { text: m[2]!, x: Number(at?.[1] ?? 0), y: Number(at?.[2] ?? 0), anchor: /text-anchor="(\w+)"/.exec(m[1]!)?.[1] ?? "start" };
  });
}

test("lab - the chart's SVG has real text: title, clock times on the axis, a titled panel per cohort", async () => {
  const result = syntheticResult(loadScenario("spotify-2022-03-08"), spotifyLike);
  const { svg } = await renderChart(result);
  const texts = svgTexts(svg).map((t) => t.text);
  for (const expected of ["spotify-2022-03-08: login success rate per cohort", "18:00", "20:40", "scenario clock (HH:MM)", "18:39 remediation starts", "20:35 remediation complete"]) {
    assert.ok(texts.includes(expected), `the chart has no text "${expected}"`);
  }
  for (const cohort of Object.keys(result.cohorts)) assert.ok(texts.includes(cohort), `no panel titled "${cohort}"`);
  assert.ok(texts.includes("pipeline config-loss (login, accounts) + stream-error, 18:07–20:42"), "the fault window is not labelled");
  // Over an hour of scenario time: HH:MM everywhere, no seconds.
  assert.ok(!texts.some((t) => /\d\d:\d\d:\d\d/.test(t)), `times with seconds: ${texts.filter((t) => /\d\d:\d\d:\d\d/.test(t)).join(" | ")}`);
  // Every percentage has 1 decimal.
  const percents = texts.flatMap((t) => t.match(/[\d.]+%/g) ?? []);
  assert.ok(percents.length >= 10);
  for (const p of percents) assert.match(p, /^\d{1,3}\.\d%$/);
  // Each label once: the remediation is not repeated per panel.
  assert.equal(texts.filter((t) => t === "18:39 remediation starts").length, 1);
});

test("lab - event labels are drawn once, in the band above the panels, before any data line", async () => {
  const result = syntheticResult(loadScenario("spotify-2022-03-08"), spotifyLike);
  const { svg } = await renderChart(result);
  // vega writes the concat's views in order: the event band first, then one panel per cohort with its line.
  const firstLine = svg.indexOf('aria-roledescription="line mark"');
  assert.ok(firstLine > 0);
  // One line per panel, and a second (dashed) one in each panel with gateways started cold in a fault.
  const cold = Object.values(result.cohorts).filter((stats) => stats.coldStarts.attempts > 0).length;
  assert.ok(cold > 0);
  assert.equal(svg.split('aria-roledescription="line mark"').length - 1, Object.keys(result.cohorts).length + cold, "one line per panel, plus one per panel with cold starts");
  for (const label of ["18:39 remediation starts", "20:35 remediation complete", "pipeline config-loss (login, accounts) + stream-error, 18:07–20:42"]) {
    const at = svg.indexOf(`>${label}</text>`);
    assert.ok(at > 0 && at < firstLine, `"${label}" is not in the band above the panels`);
    assert.equal(svg.indexOf(`>${label}</text>`, at + 1), -1, `"${label}" is drawn more than once`);
  }
});

test("lab - fault windows that start a few ms apart get one label, not two printed over each other", async () => {
  // The runner applies the replay's config-loss and stream-error one after the other, ms apart.
  const base = syntheticResult(loadScenario("spotify-2022-03-08"), spotifyLike);
  const [loss, streams] = base.faultWindows;
  assert.ok(loss && streams);
  const result: LabResult = { ...base, faultWindows: [loss, { ...streams, startMs: streams.startMs + 19 }] };
  const { svg } = await renderChart(result);
  const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.ok(texts.includes("pipeline config-loss (login, accounts) + stream-error, 18:07–20:42"), `fault labels: ${texts.filter((t) => /loss|error/.test(t ?? "")).join(" | ")}`);
  assert.ok(!texts.some((t) => t?.startsWith("stream-error")));
});

test("lab - the PNG renderer finds a font, so text is really drawn", () => {
  // resvg leaves out text it has no font for, without an error: then both images would be the same.
  const frame = (text: string) => `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="60"><text x="10" y="40" font-family="sans-serif" font-size="24">${text}</text></svg>`;
  assert.notDeepEqual(svgToPng(frame("18:07 login")), svgToPng(frame("")), "no font was found; install fonts-dejavu-core");
});

test("lab - report.html is self-contained: no scripts, no external resources, only source links leave the page", async () => {
  const scenario = loadScenario("spotify-2022-03-08");
  const base = syntheticResult(scenario, spotifyLike);
  const result: LabResult = { ...base, story: { ...base.story, description: `${base.story.description}\n\n<script>alert(1)</script> & "quotes"` } };
  const files = await writeReport(join(dir, "html"), result);
  const html = await readFile(files.html, "utf8");
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<link\b|@import|url\(/i);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;quotes&quot;/);
  const sources = new Set(scenario.sources.map((s) => s.url));
  assert.ok(sources.size > 0);
  for (const match of html.matchAll(/https?:\/\/[^\s"'<>]+/g)) {
    const before = html.slice(0, match.index);
    const linkOrText = before.endsWith('<a href="') || before.endsWith('<span class="url">');
    assert.ok(sources.has(match[0]) && linkOrText, `unexpected external reference ${match[0]}`);
  }
  assert.match(html, /<svg role="img"[^>]*>/);
  for (const section of ["The story", "Login success over time", "SLOs", "Cohorts", "Timeline", "Sources"]) assert.match(html, new RegExp(`<h2>${section}</h2>`));
  for (const slo of result.slos) {
    const window = slo.gateways === "warm" ? `${slo.window} \\(warm gateways: cold starts left out\\)` : slo.window;
    assert.match(html, new RegExp(`<td>${slo.cohort}</td><td>${window}</td>`));
  }
  // The guarded cohort's cold start is told apart, with its measured logins.
  assert.match(html, /Cold starts during config-loss \+ stream-error: 1 gateway came up while the fault lasted; 0 of \d+ logins through it succeeded \(0\.0%\) before it ended\./);
  assert.match(html, /xds-default <span class="muted">\(guarded control plane\)<\/span>/);
  assert.match(html, /<td class="(pass|fail)">(PASS|FAIL)<\/td>/);
  assert.match(html, /UNAVAILABLE \d+/);
  // The lab's own error codes are explained, as not discovery failures.
  for (const code of ["GATEWAY_UNREACHABLE", "GATEWAY_TIMEOUT", "NO_GATEWAY"]) assert.match(html, new RegExp(`<code>${code}</code>`));
  assert.match(html, /not<\/strong> discovery failures/);
  // One percent format: 1 decimal everywhere.
  const page = html.replace(/<svg[\s\S]*<\/svg>/, "").replace(/<style>[\s\S]*<\/style>/, "");
  const percents = page.match(/[\d.]+%/g) ?? [];
  assert.ok(percents.length >= 10);
  for (const p of percents) assert.match(p, /^\d{1,3}\.\d%$/, `percent "${p}"`);
  assert.doesNotMatch(page, /\b\d\d:\d\d:\d\d\b/, "times with seconds in a run over an hour");
});

test("lab - percent: 1 decimal, never rounded to 100.0% or 0.0% unless exact", () => {
  assert.deepEqual([1, 0, 0.998, 0.99949, 0.9996, 0.0004, 0.05, undefined].map((share) => percent(share)), ["100.0%", "0.0%", "99.8%", "99.9%", "99.9%", "0.1%", "5.0%", "–"]);
});
