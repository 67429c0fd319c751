import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, test } from "node:test";
import { loadScenario, writeReport, type ReportFiles } from "../../src/lab/index.js";
import { COHORT_COLOURS as CHART_COLOURS } from "../../src/lab/report/cohort-colours.js";
import { decodePng, pngSize, type DecodedPng } from "../helpers/png.js";
import { spotifyLike, syntheticResult } from "../unit/lab-fixtures.js";

/**
 * The report as a person sees it: report.html opened in Debian's headless
 * Chromium, one screenshot of the top of the page (story, chart, SLO table).
 * CI installs the `chromium` package (.ci/run), so a missing browser fails.
 */
const CHROMIUM = "/usr/bin/chromium";
const WIDTH = 1280;
const HEIGHT = 2400;
/** Each cohort's fixed colour in the chart (src/lab/report/cohort-colours.ts), as hex without "#". */
const COHORT_COLOURS: Record<string, string> = Object.fromEntries(Object.entries(CHART_COLOURS).map(([cohort, colour]) => [cohort, colour.slice(1).toLowerCase()]));
/** #E31A1C at 13% opacity on white: the fault window's shading. */
const FAULT_SHADE: [number, number, number] = [251, 225, 226];

let dir = "";
let files: ReportFiles;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "steadymesh-screenshot-"));
  const result = syntheticResult(loadScenario("spotify-2022-03-08"), spotifyLike);
  // Every cohort of the replay has a fixed colour of its own.
  assert.deepEqual(Object.keys(result.cohorts).sort(), Object.keys(COHORT_COLOURS).sort());
  files = await writeReport(join(dir, "report"), result);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs headless Chromium on `url` and resolves with its exit code and stderr; kills its whole process group after 60 s. */
function screenshot(url: string, png: string, profile: string): Promise<{ code: number | null; stderr: string }> {
  const args = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    `--user-data-dir=${profile}`, `--window-size=${WIDTH},${HEIGHT}`, `--screenshot=${png}`, url,
  ];
  const child = spawn(CHROMIUM, args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(-child.pid!, "SIGKILL");
      reject(new Error(`chromium took over 60 s: ${stderr.slice(-2000)}`));
    }, 60_000);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** How many pixels are within `tolerance` of each colour (hex `rrggbb`, or an RGB triple). */
function countColours(png: DecodedPng, colours: Record<string, string | [number, number, number]>, tolerance = 0): Record<string, number> {
  const targets = Object.entries(colours).map(([name, c]) => [name, typeof c === "string" ? [0, 2, 4].map((i) => parseInt(c.slice(i, i + 2), 16)) : c] as const);
  const counts: Record<string, number> = Object.fromEntries(targets.map(([name]) => [name, 0]));
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const [r, g, b] = png.rgb(x, y);
      for (const [name, [tr, tg, tb]] of targets) {
        if (Math.abs(r - tr!) <= tolerance && Math.abs(g - tg!) <= tolerance && Math.abs(b - tb!) <= tolerance) counts[name]!++;
      }
    }
  }
  return counts;
}

test("lab - report.html in headless Chromium: the chart, fault shading and text are drawn", { timeout: 90_000 }, async () => {
  if (!existsSync(CHROMIUM)) {
    assert.fail(`${CHROMIUM} is missing: this test needs Debian's headless Chromium (apt-get install chromium; .ci/run installs it)`);
  }
  const shot = join(dir, "screenshot.png");
  const { code, stderr } = await screenshot(pathToFileURL(files.html).href, shot, join(dir, "chromium-profile"));
  assert.equal(code, 0, `chromium exited with ${code}: ${stderr.slice(-2000)}`);
  assert.ok(existsSync(shot), `chromium exited 0 but wrote no ${shot}: ${stderr.slice(-2000)}`);

  const bytes = await readFile(shot);
  assert.deepEqual(pngSize(bytes), { width: WIDTH, height: HEIGHT });
  // A blank page, or Chromium's "file not found" page, is a few kB at this size.
  assert.ok(bytes.length > 20_000, `the screenshot is only ${bytes.length} bytes: is the page blank?`);

  const png = decodePng(bytes);
  const counts = countColours(png, { ...COHORT_COLOURS, text: "1f2328" });
  const shade = countColours(png, { shade: FAULT_SHADE }, 3).shade!;
  // Each cohort's colour is at least in its legend entry; the inline SVG really rendered.
  for (const cohort of Object.keys(COHORT_COLOURS)) {
    assert.ok(counts[cohort]! >= 30, `cohort ${cohort} (#${COHORT_COLOURS[cohort]}) has ${counts[cohort]} pixels in the screenshot: ${JSON.stringify(counts)}`);
  }
  // The fault window spans most of the Spotify replay: a large shaded area.
  assert.ok(shade > 100_000, `only ${shade} pixels of fault shading`);
  // Body text (the story, tables) in the page's text colour.
  assert.ok(counts.text! > 10_000, `only ${counts.text} pixels of body text`);
});

test("lab - report.png is the 1200 px wide chart, a panel per cohort, every cohort and the fault shaded", async () => {
  const bytes = await readFile(files.png);
  const size = pngSize(bytes);
  // Six stacked cohort panels: taller than the old single 600 px chart, still one screen-ish.
  assert.ok(size.width === 1200 && size.height >= 700 && size.height <= 1600, `report.png is ${size.width}×${size.height}`);
  assert.ok((await stat(files.png)).size > 20_000);
  const png = decodePng(bytes);
  const counts = countColours(png, COHORT_COLOURS);
  for (const cohort of Object.keys(COHORT_COLOURS)) assert.ok(counts[cohort]! >= 30, `cohort ${cohort}: ${JSON.stringify(counts)}`);
  // Each cohort's line is in its own panel, not hidden behind another: plenty of pixels of every colour.
  // A flat 2.75 px line across the plot has one or two rows of exactly its colour, depending on where its centre falls.
  for (const cohort of Object.keys(COHORT_COLOURS)) assert.ok(counts[cohort]! >= 1000, `cohort ${cohort} is barely drawn: ${JSON.stringify(counts)}`);
  // Fault shading in every panel.
  assert.ok(countColours(png, { shade: FAULT_SHADE }, 3).shade! > 300_000);
});
