import assert from "node:assert/strict";
import { test } from "node:test";
import { createTally, loadScenario, renderChart, type LabResult, type SloResult } from "../../src/lab/index.js";
import { chartSpec } from "../../src/lab/report/chart.js";
import { COHORT_COLOURS, cohortColour, OTHER_COLOURS } from "../../src/lab/report/cohort-colours.js";
import { percent } from "../../src/lab/report/format.js";
import { renderHtml } from "../../src/lab/report/html.js";
import { spotifyLike, syntheticResult } from "./lab-fixtures.js";

/** The report chart's spec as plain data, to look into. */
type Node = Record<string, unknown>;

function spotify(): LabResult {
  return syntheticResult(loadScenario("spotify-2022-03-08"), spotifyLike);
}

/** The band (first) and the panels (one per cohort) of the chart's vconcat. */
function views(result: LabResult): { band: Node; panels: Map<string, Node> } {
  const spec = chartSpec(result) as unknown as { vconcat: Node[] };
  const [band, ...panels] = spec.vconcat;
  return { band: band!, panels: new Map(panels.map((p) => [(p["title"] as { text: string }).text, p])) };
}

/** Every leaf layer under `node`, with the data of its nearest ancestor that has some. */
function leaves(node: Node, data?: unknown): Array<Node & { values: Node[] }> {
  const own = (node["data"] as { values?: Node[] } | undefined)?.values ?? data;
  const layers = node["layer"] as Node[] | undefined;
  if (!layers) return [{ ...node, values: (own as Node[] | undefined) ?? [] }];
  return layers.flatMap((l) => leaves(l, own));
}

const markOf = (leaf: Node): Node => leaf["mark"] as Node;

/** The point layers of a panel: the warm one (filled) and, if any, the cold one (hollow). */
function points(panel: Node): { warm?: Node & { values: Node[] }; cold?: Node & { values: Node[] } } {
  const dots = leaves(panel).filter((l) => markOf(l)["type"] === "point");
  return { warm: dots.find((d) => markOf(d)["filled"] === true), cold: dots.find((d) => markOf(d)["filled"] === false) };
}

test("lab chart - a cohort has the same colour whatever the order of the cohorts, and each lab cohort its own", () => {
  const result = spotify();
  const reversed: LabResult = { ...result, cohorts: Object.fromEntries(Object.entries(result.cohorts).reverse()) };
  const colours = (r: LabResult): Map<string, string> =>
    new Map([...views(r).panels].map(([cohort, panel]) => [cohort, String(markOf(points(panel).warm!)["color"])]));
  const [a, b] = [colours(result), colours(reversed)];
  assert.deepEqual([...b.keys()], [...a.keys()].reverse(), "the second report really has the cohorts in another order");
  for (const [cohort, colour] of a) {
    assert.equal(b.get(cohort), colour, `${cohort} changed colour with the order`);
    assert.equal((views(result).panels.get(cohort)!["title"] as Node)["color"], colour, `${cohort}'s title is not in its colour`);
  }
  assert.equal(new Set(a.values()).size, a.size, `two cohorts share a colour: ${[...a].join(" ")}`);
  // Two cohorts alone get the colours they have among six.
  const two: LabResult = { ...result, cohorts: { dns: result.cohorts["dns"]!, steady: result.cohorts["steady"]! } };
  assert.deepEqual(colours(two), new Map([["dns", a.get("dns")], ["steady", a.get("steady")]]));
});

test("lab chart - a cohort name the lab does not know gets a colour from its name alone, not one of the lab's", () => {
  const first = cohortColour("canary-east");
  assert.equal(cohortColour("canary-east"), first);
  assert.ok(OTHER_COLOURS.includes(first));
  assert.ok(!Object.values(COHORT_COLOURS).includes(first));
  // Not every name lands on one colour.
  assert.ok(new Set(["a", "b", "c", "d", "e", "f", "g", "h"].map(cohortColour)).size > 2);
});

test("lab chart - the warm-up before the first fault is shaded grey and labelled in every view", async () => {
  const result = spotify();
  const { band, panels } = views(result);
  const start = result.story.startOfDaySec * 1000;
  const firstFault = start + Math.min(...result.faultWindows.map((w) => w.startMs)) * result.speed;
  for (const view of [band, ...panels.values()]) {
    const grey = leaves(view).filter((l) => markOf(l)["type"] === "rect" && markOf(l)["color"] === "#8C8C8C");
    assert.equal(grey.length, 1, "one warm-up band per view");
    assert.deepEqual(grey[0]!.values, [{ start, end: firstFault }]);
  }
  const { svg } = await renderChart(result);
  assert.match(svg, />warm-up, 18:00–18:07<\/text>/);

  // A run whose first fault starts at once has no warm-up.
  const atOnce: LabResult = { ...result, faultWindows: result.faultWindows.map((w) => ({ ...w, startMs: 0 })) };
  assert.doesNotMatch((await renderChart(atOnce)).svg, />warm-up/);
  assert.ok(leaves(views(atOnce).band).every((l) => markOf(l)["color"] !== "#8C8C8C"));
});

test("lab chart - scheduled restarts are dotted rules, labelled once above, only in the panels of the cohorts they restart", async () => {
  const result = spotify();
  const restarts = result.story.scheduledRestarts!;
  // Every 15 real s of an 85 s run: 18:30, 19:00, … on the scenario clock at 120×.
  assert.deepEqual(restarts.atMs, [15_000, 30_000, 45_000, 60_000, 75_000]);
  assert.ok(!restarts.cohorts.includes("xds-default-guarded") && restarts.cohorts.includes("xds-default"));
  const dotted = (view: Node): Array<Node & { values: Node[] }> => leaves(view).filter((l) => markOf(l)["type"] === "rule" && JSON.stringify(markOf(l)["strokeDash"]) === "[2,3]");
  const { band, panels } = views(result);
  const times = restarts.atMs.map((t) => result.story.startOfDaySec * 1000 + t * result.speed);
  assert.deepEqual(dotted(band)[0]!.values.map((v) => v["t"]), times);
  for (const [cohort, panel] of panels) {
    const rules = dotted(panel);
    if (restarts.cohorts.includes(cohort)) assert.deepEqual(rules[0]?.values.map((v) => v["t"]), times, cohort);
    else assert.equal(rules.length, 0, `${cohort} is not restarted on a schedule, yet its panel marks restarts`);
  }
  const { svg } = await renderChart(result);
  for (const label of ["18:30 restarts", "19:00 restarts", "19:30 restarts", "20:00 restarts", "20:30 restarts"]) {
    assert.equal(svg.split(`>${label}</text>`).length - 1, 1, `"${label}" is not drawn exactly once`);
  }
});

test("lab chart - each dot says in its tooltip how many attempts it stands for, and its area grows with them", async () => {
  const result = spotify();
  const { panels } = views(result);
  const steady = points(panels.get("steady")!).warm!;
  const encoding = steady["encoding"] as Record<string, Node>;
  assert.equal(encoding["size"]!["field"], "attempts");
  const most = Math.max(...Object.values(result.cohorts).flatMap((s) => s.series.map((p) => p.attempts)));
  assert.deepEqual((encoding["size"]!["scale"] as Node)["domain"], [0, most], "one size scale for every panel");
  assert.equal(encoding["tooltip"]!["field"], "tip");

  const series = result.cohorts["steady"]!.series;
  const first = series[0]!;
  assert.equal(steady.values[0]!["attempts"], first.attempts);
  const { svg } = await renderChart(result);
  const titles = [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]!);
  const tip = `steady, 18:00–18:02: ${first.successes} of ${first.attempts} login attempts ok`;
  assert.ok(titles.some((t) => t.startsWith(tip)), `no tooltip "${tip}…" among ${titles.slice(0, 3).join(" | ")}`);
  // One titled dot per bucket with attempts, warm and cold apart.
  const dots = Object.values(result.cohorts).reduce(
    (n, s) => n + s.series.filter((p, i) => p.attempts - (s.coldSeries[i]?.attempts ?? 0) > 0).length + s.coldSeries.filter((p) => p.attempts > 0).length,
    0,
  );
  assert.equal(titles.length, dots);
});

test("lab chart - a gateway started cold in the fault is drawn apart, with its numbers beside the warm ones", async () => {
  const result = spotify();
  const guarded = result.cohorts["xds-default-guarded"]!;
  assert.equal(guarded.coldSeries.reduce((n, p) => n + p.attempts, 0), guarded.coldStarts.attempts, "coldSeries counts the cold starts' attempts");
  const { cold, warm } = points(views(result).panels.get("xds-default-guarded")!);
  assert.ok(cold && warm);
  assert.equal(cold.values.reduce((n, v) => n + Number(v["attempts"]), 0), guarded.coldStarts.attempts);
  assert.ok(cold.values.every((v) => v["rate"] === 0), "the fixture's cold gateway fails every attempt");
  assert.ok(warm.values.every((v) => v["gateways"] === "warm"));
  // The warm line does not dip for the cold gateway's failures.
  const inFault = warm.values.filter((v) => Number(v["t"]) > result.story.startOfDaySec * 1000 + 120 * 60_000 + 60_000 && Number(v["t"]) < result.story.startOfDaySec * 1000 + 160 * 60_000);
  assert.ok(inFault.length > 5 && inFault.every((v) => Number(v["rate"]) > 90), "the warm dots after 20:00 stay high");
  // Its dashed line breaks where the cold gateway had no attempts, instead of joining distant dots.
  const coldLine = leaves(views(result).panels.get("xds-default-guarded")!).find((l) => markOf(l)["type"] === "line" && JSON.stringify(markOf(l)["strokeDash"]) === "[5,3]")!;
  assert.equal(markOf(coldLine)["invalid"], "break-paths-show-domains");
  assert.equal(coldLine.values.filter((v) => v["rate"] === null).length, guarded.series.length - cold.values.length);
  const { panels } = views({ ...result, cohorts: { steady: result.cohorts["steady"]! } });
  assert.equal(points(panels.get("steady")!).cold, undefined, "no cold layer without cold starts");

  const { svg } = await renderChart(result);
  const warmShare = (guarded.duringFault.successes - guarded.coldStarts.successes) / (guarded.duringFault.attempts - guarded.coldStarts.attempts);
  assert.match(svg, new RegExp(`in the fault: warm gateways ${(warmShare * 100).toFixed(1)}% of \\d+ · 1 gateway started cold: 0 of ${guarded.coldStarts.attempts} ok`));
  const html = renderHtml(result, svg);
  assert.match(html, /<th>warm gateways in a fault<\/th><th>cold starts in a fault<\/th>/);
  assert.match(html, new RegExp(`${(warmShare * 100).toFixed(1)}% <span class="muted">of \\d+</span></span></td><td><span class="num">1 gateway: 0 of ${guarded.coldStarts.attempts} ok`));
});

test("lab chart - a tally's cold series holds exactly the attempts of gateways started inside a window", () => {
  const tally = createTally({ bucketMs: 100 });
  const window = { kind: "stream-error", services: [], startMs: 100, endMs: 300 };
  tally.record(50, true, undefined, -1);
  tally.record(150, false, "UNAVAILABLE", 120); // cold: started in the window, attempt in it
  tally.record(160, true, undefined, -1);
  tally.record(350, true, undefined, 120); // after the window: warm again
  const stats = tally.stats([window], 400, [-1, 120]);
  assert.deepEqual(stats.coldSeries.map((p) => p.attempts), [0, 1, 0, 0]);
  assert.deepEqual(stats.series.map((p) => p.attempts), [1, 2, 0, 1]);
});

const slo = (cohort: string, fields: Partial<SloResult>): SloResult => ({ cohort, window: "during-fault", min: 0, actual: 0.01, attempts: 100, ok: true, ...fields });

test("lab chart - the HTML says 'stock client failed, as expected' where an SLO checks a reproduced failure, not PASS", () => {
  const base = spotify();
  const slos = [slo("steady", { min: 0.999, actual: 1 }), slo("xds-default", { max: 0.05 })];
  const html = renderHtml({ ...base, slos, ok: true }, "<svg></svg>");
  assert.match(html, /<td>xds-default<\/td><td>during-fault<\/td><td class="num">0\.0% – 5\.0% \(a reproduced failure\)<\/td><td class="num">1\.0% of 100<\/td><td class="expected">stock client failed, as expected<\/td>/);
  assert.match(html, /<td>steady<\/td>.*<td class="pass">PASS<\/td>/);
  assert.match(html, /<p class="verdict pass">PASS: the 1 SLO met · <span class="expected">stock client failed, as expected<\/span>/);
  assert.doesNotMatch(html, /all 2 SLOs met/);

  // The stock client that did not fail: the replay did not reproduce the outage.
  const missed = [slos[0]!, slo("xds-default", { max: 0.05, actual: 0.4, ok: false })];
  const failed = renderHtml({ ...base, slos: missed, ok: false }, "<svg></svg>");
  assert.match(failed, /<td class="fail">FAIL: it did not fail as expected: the outage was not reproduced<\/td>/);
  assert.match(failed, /<p class="verdict fail">FAIL: 1 of 2 SLOs not met<\/p>/);
  assert.doesNotMatch(failed, /failed, as expected/);

  // Without such an SLO the verdict is the plain PASS.
  assert.match(renderHtml({ ...base, slos: [slos[0]!], ok: true }, "<svg></svg>"), /<p class="verdict pass">PASS: all 1 SLOs met<\/p>/);
});

/** bad-canary-release as it might have gone: the stock client fails 5% of logins while the canary runs (+120s to +240s: 30–60 s real at 4×). */
function badCanary(): LabResult {
  return syntheticResult(loadScenario("bad-canary-release"), (cohort, tMs) => (cohort === "xds-default" && tMs >= 30_000 && tMs < 60_000 ? 0.95 : 0.9995));
}

const dashed = (view: Node): Array<Node & { values: Node[] }> => leaves(view).filter((l) => markOf(l)["type"] === "rule" && JSON.stringify(markOf(l)["strokeDash"]) === "[6,4]");

test("lab chart - each traffic policy change is a dashed rule in every view, labelled once above with its split", async () => {
  const result = badCanary();
  const { band, panels } = views(result);
  const times = [0, 30_000, 60_000].map((t) => result.story.startOfDaySec * 1000 + t * result.speed);
  assert.deepEqual(dashed(band).flatMap((l) => l.values.map((v) => v["t"])), times);
  for (const [cohort, panel] of panels) assert.deepEqual(dashed(panel).flatMap((l) => l.values.map((v) => v["t"])), times, cohort);
  const { svg } = await renderChart(result);
  for (const label of ["00:00:00 policy login: v1 100", "00:02:00 policy login: v1 95 / v2 5", "00:04:00 policy login: v1 100"]) {
    assert.equal(svg.split(`>${label}</text>`).length - 1, 1, `"${label}" is not drawn exactly once`);
  }
  // A note entry (the baseline phase's start) is no event on the chart.
  assert.doesNotMatch(svg, /Steady state before the canary/);
});

test("lab chart - phases are tinted by turns under the fault shades and named in every panel with the cohort's success in each", async () => {
  const result = badCanary();
  const phases = result.phases!;
  assert.deepEqual(phases.map((p) => p.name), ["baseline", "canary", "rolled-back"]);
  const at = (t: number): number => result.story.startOfDaySec * 1000 + t * result.speed;
  const { band, panels } = views(result);
  for (const [cohort, panel] of panels) {
    const rects = leaves(panel).filter((l) => markOf(l)["type"] === "rect");
    const blue = rects.filter((l) => markOf(l)["color"] === "#3182BD");
    assert.deepEqual(blue.map((l) => l.values.map((v) => v["name"])), [["baseline", "rolled-back"], ["canary"]], `${cohort}: light and dark by turns`);
    assert.ok(Number(markOf(blue[1]!)["opacity"]) > Number(markOf(blue[0]!)["opacity"]));
    assert.deepEqual(blue[1]!.values.map((v) => [v["start"], v["end"]]), [[at(phases[1]!.startMs), at(phases[1]!.endMs)]]);
    assert.ok(rects.indexOf(blue[1]!) < rects.findIndex((l) => markOf(l)["color"] === "#E31A1C"), "phases are drawn under the fault windows");
    const counts = result.cohorts[cohort]!.phases!;
    const named = leaves(panel).filter((l) => markOf(l)["type"] === "text").flatMap((l) => l.values.map((v) => v["label"]));
    const expected = phases.map((p) => `${p.name} ${percent(counts[p.name]!.successes / counts[p.name]!.attempts)}`);
    assert.deepEqual(named, expected, cohort);
  }
  assert.ok(leaves(band).every((l) => markOf(l)["color"] !== "#3182BD"), "the band above has no phase tint");
  const canary = result.cohorts["xds-default"]!.phases!["canary"]!;
  assert.ok(canary.successes < canary.attempts * 0.99, "the synthetic canary really fails some logins");
  const { svg } = await renderChart(result);
  assert.match(svg, />Blue, light and dark by turns: the timeline's phases/);

  // A run without phases has no phase layer and no phase line in its subtitle.
  const plain = views(spotify());
  for (const view of [plain.band, ...plain.panels.values()]) assert.ok(leaves(view).every((l) => markOf(l)["color"] !== "#3182BD"));
  assert.doesNotMatch((await renderChart(spotify())).svg, /the timeline's phases/);
});
