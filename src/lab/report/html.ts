import { machineLine, verdictOf, type CohortStats, type Counts, type LabResult, type SloResult } from "./model.js";
import { clockLabel, errorList, escapeHtml as esc, percent, rate } from "./format.js";

/**
 * report.html: one self-contained page, readable offline. The chart is
 * inlined SVG, the style is inline CSS, and there is no script; the only
 * links that leave the page are the scenario's sources.
 */
export function renderHtml(result: LabResult, svg: string): string {
  const failed = result.slos.filter((slo) => !slo.ok).length;
  const verdict = {
    pass: passVerdict(result),
    fail: `<p class="verdict fail">FAIL: ${failed} of ${result.slos.length} SLOs not met</p>`,
    inconclusive: `<p class="verdict fail">INCONCLUSIVE: ${failed} of ${result.slos.length} SLOs not met while the machine could not keep time; run it again on a quieter machine</p>`,
  }[verdictOf(result)];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(result.scenario)}: steadymesh outage lab report</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<p class="kicker">steadymesh outage lab</p>
<h1>${esc(result.scenario)}</h1>
${verdict}
<p class="meta">${esc(runFacts(result))}</p>
</header>
<main>
<section id="story"><h2>The story</h2>${paragraphs(result.story.description)}</section>
<section id="chart"><h2>Login success over time</h2><figure>${inlineSvg(svg, result)}<figcaption>One panel per cohort, all on the same time axis: the line is that cohort's share of login attempts that succeeded, per time bucket. Shaded: ${esc(windowList(result))}.</figcaption></figure></section>
<section id="slos"><h2>SLOs</h2>${sloTable(result)}</section>
<section id="cohorts"><h2>Cohorts</h2>${cohortTable(result)}${errorNotes(result)}${cohortNotes(result)}</section>
<section id="timeline"><h2>Timeline</h2>${timelineTable(result)}${planeNotes(result)}</section>
<section id="sources"><h2>Sources</h2>${sourceList(result)}</section>
</main>
<footer>Written by steadymesh's outage lab. Times on the scenario clock; real time is scenario time divided by the speed.</footer>
</body>
</html>
`;
}

/**
 * An SLO with a `max` checks that the replay reproduces a failure: met, it
 * means a client failed as it did on the day, which the page says in those
 * words rather than PASS.
 */
function reproducesFailure(slo: SloResult): boolean {
  return slo.max !== undefined;
}

/** `stock client failed, as expected` for the stock xDS client's cohorts, else `<cohort> failed, as expected`. */
export function expectedFailureText(slo: SloResult, result: Pick<LabResult, "story">): string {
  const discovery = result.story.cohorts[slo.cohort]?.discovery ?? "";
  return `${discovery.startsWith("xds-") ? "stock client" : slo.cohort} failed, as expected`;
}

/** `PASS: all 6 SLOs met`, or with reproduced failures: `PASS: all 5 SLOs met · stock client failed, as expected (xds-default: …)`. */
function passVerdict(result: LabResult): string {
  const reproduced = result.slos.filter(reproducesFailure);
  if (reproduced.length === 0) return `<p class="verdict pass">PASS: all ${result.slos.length} SLOs met</p>`;
  const goals = result.slos.length - reproduced.length;
  const met = goals === 0 ? "" : `PASS: ${goals === 1 ? "the 1 SLO" : `all ${goals} SLOs`} met · `;
  const texts = [...new Set(reproduced.map((slo) => expectedFailureText(slo, result)))];
  const cohorts = [...new Set(reproduced.map((slo) => slo.cohort))].join(", ");
  return `<p class="verdict pass">${esc(met)}<span class="expected">${esc(texts.join("; "))}</span> <span class="muted">(${esc(cohorts)}: the replay reproduces the outage)</span></p>`;
}

function runFacts(result: LabResult): string {
  const seconds = (result.durationMs / 1000).toFixed(1);
  const machine = result.machine ? ` The machine: ${machineLine(result.machine)}.` : "";
  return `Scenario clock ${clockLabel(result, 0)}–${clockLabel(result, result.durationMs)}, replayed at ${result.speed}× speed in ${seconds} s of real time. Seed ${result.seed}.${machine}`;
}

function paragraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => `<p>${esc(p)}</p>`)
    .join("\n");
}

/** The SVG as an element of the page: sized by CSS, labelled for screen readers, without namespace URLs. */
function inlineSvg(svg: string, result: LabResult): string {
  const label = `Line charts, one per cohort: login success rate over the scenario clock for ${result.scenario}, fault windows shaded.`;
  return svg
    .replace(/\s+xmlns(:xlink)?="[^"]*"/g, "")
    .replace(/^<svg\b/, `<svg role="img" aria-label="${esc(label)}"`);
}

function windowList(result: LabResult): string {
  if (result.faultWindows.length === 0) return "no fault windows in this run";
  return result.faultWindows
    .map((w) => `${w.kind}${w.layer === "pipeline" ? " (in the config pipeline, above the push guard)" : ""}${w.services.length > 0 ? ` on ${w.services.join(", ")}` : ""} from ${clockLabel(result, w.startMs)} to ${clockLabel(result, w.endMs)}`)
    .join("; ");
}

/** The SLO table's result cell: PASS, FAIL, or for a check that a failure is reproduced, what happened in words. */
function sloResultCell(slo: SloResult, result: LabResult): string {
  if (!reproducesFailure(slo)) return slo.ok ? `<td class="pass">PASS</td>` : `<td class="fail">FAIL</td>`;
  if (slo.ok) return `<td class="expected">${esc(expectedFailureText(slo, result))}</td>`;
  const why = slo.reason ? "not measured" : slo.actual > slo.max! ? "it did not fail as expected: the outage was not reproduced" : "below the expected range";
  return `<td class="fail">FAIL: ${esc(why)}</td>`;
}

function sloTable(result: LabResult): string {
  const slos = result.slos;
  if (slos.length === 0) return "<p>This scenario declares no SLOs.</p>";
  const rows = slos.map((slo) => {
    const target = slo.max === undefined ? `≥ ${percent(slo.min)}` : `${percent(slo.min)} – ${percent(slo.max)} (a reproduced failure)`;
    const actual = slo.reason ? esc(slo.reason) : `${percent(slo.actual)} of ${slo.attempts}`;
    const cell = sloResultCell(slo, result);
    const window = slo.gateways === "warm" ? `${slo.window} (warm gateways: cold starts left out)` : slo.window;
    return `<tr><td>${esc(slo.cohort)}</td><td>${esc(window)}</td><td class="num">${esc(target)}</td><td class="num">${actual}</td>${cell}</tr>`;
  });
  return table(["cohort", "window", "target (login success)", "measured", "result"], rows);
}

function cohortTable(result: LabResult): string {
  const rows = Object.entries(result.cohorts).map(([name, stats]) => cohortRow(name, stats, result));
  return table(["cohort", "discovery", "attempts", "successes", "success", "during fault", "warm gateways in a fault", "cold starts in a fault", "after fault", "errors (codes explained below)"], rows);
}

function cohortRow(name: string, stats: CohortStats, result: LabResult): string {
  const story = result.story.cohorts[name];
  const plane = story && story.controlPlane !== "primary" ? ` <span class="muted">(${esc(story.controlPlane)} control plane)</span>` : "";
  const cells = [
    esc(name),
    `${esc(story?.discovery ?? "–")}${plane}`,
    `<span class="num">${stats.attempts}</span>`,
    `<span class="num">${stats.successes}</span>`,
    `<span class="num">${percent(rate(stats))}</span>`,
    `<span class="num">${percent(rate(stats.duringFault))} <span class="muted">of ${stats.duringFault.attempts}</span></span>`,
    warmCell(stats),
    coldCell(stats),
    `<span class="num">${percent(rate(stats.afterFault))} <span class="muted">of ${stats.afterFault.attempts}</span></span>`,
    esc(errorList(stats.errors)),
  ];
  return `<tr>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`;
}

/** The attempts in fault windows on gateways that were not started cold in one, beside the cold starts' cell. */
function warmCell(stats: CohortStats): string {
  const cold = stats.coldStarts;
  const warm: Counts = { attempts: stats.duringFault.attempts - cold.attempts, successes: stats.duringFault.successes - cold.successes };
  return `<span class="num">${percent(rate(warm))} <span class="muted">of ${warm.attempts}</span></span>`;
}

/** `1 gateway: 0 of 40 ok`, or `none`. */
function coldCell(stats: CohortStats): string {
  const cold = stats.coldStarts;
  if (cold.gateways === 0) return '<span class="muted">none</span>';
  const gateways = `${cold.gateways} gateway${cold.gateways === 1 ? "" : "s"}`;
  return `<span class="num">${gateways}: ${cold.successes} of ${cold.attempts} ok</span>`;
}

/**
 * The cold-start line of a cohort's note: how many of its gateways came up
 * inside a disruption, and how their logins went until it ended.
 */
function coldStartLine(stats: CohortStats): string {
  const cold = stats.coldStarts;
  if (cold.gateways === 0) return "";
  const gateways = `${cold.gateways} gateway${cold.gateways === 1 ? "" : "s"}`;
  const them = cold.gateways === 1 ? "it" : "them";
  return `Cold starts during ${cold.during.join(" + ")}: ${gateways} came up while the fault lasted; ${cold.successes} of ${cold.attempts} logins through ${them} succeeded (${percent(rate(cold))}) before it ended.`;
}

/** Error codes the lab itself reports, when a virtual user's call never reached a login service. */
const LAB_ERRORS: Readonly<Record<string, string>> = {
  GATEWAY_UNREACHABLE: "the connection to the gateway process failed (refused or reset), for example while that gateway was restarting",
  GATEWAY_TIMEOUT: "the gateway process did not answer within the lab's request timeout, for example while it was stopping or still starting",
  NO_GATEWAY: "none of the cohort's gateway processes was ready to take the request, for example all of them restarting at once",
};

/** Explains the lab-side error codes that appear in this run (or, when none does, says what they would mean). */
function errorNotes(result: LabResult): string {
  const seen = new Set(Object.values(result.cohorts).flatMap((stats) => Object.keys(stats.errors)));
  const items = Object.entries(LAB_ERRORS).map(([code, text]) => `<li><code>${esc(code)}</code>${seen.has(code) ? "" : ' <span class="muted">(not seen in this run)</span>'}: ${esc(text)}.</li>`);
  return `<h3>What the error codes mean</h3>
<p>gRPC status names (such as <code>UNAVAILABLE</code>, <code>DEADLINE_EXCEEDED</code>) and HTTP statuses are what the gateway answered after calling the login service through its discovery path. Three codes come from the lab itself, not from a gateway: they mean the virtual user's request never reached a gateway process, so they are <strong>not</strong> discovery failures.</p>
<ul class="codes">${items.join("\n")}</ul>`;
}

function cohortNotes(result: LabResult): string {
  const notes = Object.keys(result.cohorts).flatMap((name) => {
    const story = result.story.cohorts[name];
    if (!story) return [];
    const stats = result.cohorts[name]!;
    const seen = [story.observed, coldStartLine(stats)].filter((text) => text.length > 0).join(" ");
    const observed = seen ? `<p><strong>In this run:</strong> ${esc(seen)}</p>` : "";
    const explanation = story.explanation ? `<p>${esc(story.explanation)}</p>` : "";
    const plane = story.controlPlane !== "primary" ? `, ${story.controlPlane} control plane` : "";
    return [`<dt>${esc(name)} <span class="muted">(${esc(story.discovery)}${plane})</span></dt><dd><p class="muted">${esc(story.discoveryText)}</p>${explanation}${observed}</dd>`];
  });
  return notes.length === 0 ? "" : `<h3>Why each cohort behaves as it does</h3><dl>${notes.join("\n")}</dl>`;
}

function timelineTable(result: LabResult): string {
  const rows = result.story.timeline.map((e) => `<tr><td class="num">${esc(clockLabel(result, e.atMs))}</td><td>${esc(e.what || "note")}</td><td>${esc(e.note)}</td></tr>`);
  return table(["scenario clock", "what the lab does", "what happened"], rows);
}

/** What each control plane's push guard did with the run's generations. */
function planeNotes(result: LabResult): string {
  const notes = Object.values(result.story.controlPlanes).filter((note) => note.length > 0);
  if (notes.length === 0) return "";
  return `<h3>What the control planes pushed</h3><ul class="planes">${notes.map((note) => `<li>${esc(note)}</li>`).join("\n")}</ul>`;
}

function sourceList(result: LabResult): string {
  if (result.story.sources.length === 0) return "<p>This scenario cites no sources.</p>";
  const items = result.story.sources.map((s) => `<li><a href="${esc(s.url)}" rel="noreferrer">${esc(s.title)}</a><br><span class="url">${esc(s.url)}</span></li>`);
  return `<ul class="sources">${items.join("\n")}</ul>`;
}

function table(headers: readonly string[], rows: readonly string[]): string {
  return `<div class="scroll"><table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.join("\n")}</tbody></table></div>`;
}

const STYLE = `
:root { color-scheme: light; }
body { font: 16px/1.5 "DejaVu Sans", system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; background: #fff; margin: 0 auto; max-width: 1240px; padding: 24px 28px 48px; }
h1 { font-size: 30px; margin: 0 0 8px; }
h2 { font-size: 22px; margin: 36px 0 12px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { font-size: 18px; margin: 24px 0 8px; }
.kicker { text-transform: uppercase; letter-spacing: .08em; color: #57606a; font-size: 13px; margin: 0; }
.meta, .muted, .url, footer { color: #57606a; }
.url { font-size: 13px; word-break: break-all; }
.verdict { display: inline-block; font-weight: bold; padding: 6px 14px; border-radius: 6px; margin: 4px 0 8px; }
.pass { background: #dafbe1; color: #116329; font-weight: bold; }
.fail { background: #ffebe9; color: #a40e26; font-weight: bold; }
.expected { background: #fff8c5; color: #6f4e00; font-weight: bold; }
.verdict .muted { font-weight: normal; }
figure { margin: 0; }
figure svg { display: block; max-width: 100%; height: auto; border: 1px solid #d0d7de; border-radius: 6px; }
figcaption { color: #57606a; font-size: 14px; margin-top: 6px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 15px; }
th, td { text-align: left; vertical-align: top; padding: 6px 10px; border-bottom: 1px solid #d0d7de; }
th { background: #f6f8fa; }
.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
dt { font-weight: bold; margin-top: 10px; }
dd { margin: 2px 0 0 0; }
dd p { margin: 4px 0; }
.sources li { margin-bottom: 8px; }
footer { margin-top: 48px; font-size: 13px; }
`;
