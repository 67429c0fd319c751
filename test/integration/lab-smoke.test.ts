import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { teeChildOutput } from "../helpers/test-logs.js";

/**
 * `steadymesh lab` end to end, as a user's CI would run it: the CLI in its
 * own process, the ci-smoke scenario with real control plane, services and
 * gateways, then report.json checked against the schema of issue 4. Two
 * runs of ci-smoke side by side take about 50 s; `steadymesh demo` (the
 * Spotify replay, two control planes, fourteen gateways) about 110 s more.
 */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "src/cli/bin.ts");
const SHIPPED = ["bad-canary-release", "ci-smoke", "cold-start-during-outage", "control-plane-crash", "dns-outage", "empty-endpoints-push", "recovery-login-storm", "spotify-2022-03-08"];
const COHORTS = ["xds-default", "steady", "dns"];

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "steadymesh-lab-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Runs `steadymesh ARGS` from the sources with the repository as working
 * directory. It leads its own process group, so that on a timeout the lab's
 * children (control plane, services, gateways) are killed with it.
 */
function cli(args: readonly string[], timeoutMs: number): Promise<CliRun> {
  const child = spawn(process.execPath, ["--import", "tsx", BIN, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
  teeChildOutput(child, `lab-${args[0] ?? ""}`);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(-child.pid!, "SIGKILL");
      reject(new Error(`steadymesh ${args.join(" ")} took over ${timeoutMs / 1000} s; stdout: ${stdout.slice(-1500)} stderr: ${stderr.slice(-1500)}`));
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The failure contract of every command: exit 1, nothing on stdout, exactly one `steadymesh: error:` line. */
function assertOneLineError(run: CliRun, pattern: RegExp): void {
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, /^steadymesh: error: [^\n]+\n$/, run.stderr);
  assert.match(run.stderr, pattern);
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function assertCounts(where: string, v: unknown): asserts v is { attempts: number; successes: number } {
  assert.ok(isObject(v), `${where}: must be an object`);
  assert.ok(Number.isInteger(v.attempts) && (v.attempts as number) >= 0, `${where}.attempts: ${v.attempts}`);
  assert.ok(Number.isInteger(v.successes) && (v.successes as number) >= 0 && (v.successes as number) <= (v.attempts as number), `${where}.successes: ${v.successes}`);
}

/** Every field of issue 4's report.json schema, with its type (more fields are allowed). */
function assertReportSchema(report: Record<string, unknown>): void {
  assert.equal(typeof report.scenario, "string");
  for (const key of ["speed", "seed", "durationMs"]) assert.ok(isNumber(report[key]), `${key}: ${report[key]}`);
  assert.equal(typeof report.ok, "boolean");

  assert.ok(Array.isArray(report.faultWindows), "faultWindows: must be an array");
  report.faultWindows.forEach((w: unknown, i: number) => {
    assert.ok(isObject(w), `faultWindows[${i}]`);
    assert.equal(typeof w.kind, "string", `faultWindows[${i}].kind`);
    assert.ok(Array.isArray(w.services) && w.services.every((s) => typeof s === "string"), `faultWindows[${i}].services`);
    assert.ok(isNumber(w.startMs) && isNumber(w.endMs) && w.startMs <= w.endMs, `faultWindows[${i}]: ${JSON.stringify(w)}`);
  });

  assert.ok(isObject(report.cohorts), "cohorts: must be an object");
  for (const [name, c] of Object.entries(report.cohorts)) {
    assertCounts(`cohorts.${name}`, c);
    const cohort = c as Record<string, unknown>;
    assertCounts(`cohorts.${name}.duringFault`, cohort.duringFault);
    assert.ok(isObject(cohort.errors), `cohorts.${name}.errors`);
    for (const [code, n] of Object.entries(cohort.errors)) assert.ok(Number.isInteger(n) && (n as number) > 0, `cohorts.${name}.errors.${code}: ${n}`);
    const failures = Object.values(cohort.errors).reduce((sum: number, n) => sum + (n as number), 0);
    assert.equal(failures, c.attempts - c.successes, `cohorts.${name}: errors must count every failed attempt`);
    assert.ok(Array.isArray(cohort.series) && cohort.series.length > 0, `cohorts.${name}.series`);
    cohort.series.forEach((p: unknown, i: number) => {
      assert.ok(isObject(p) && isNumber(p.tMs), `cohorts.${name}.series[${i}].tMs`);
      assertCounts(`cohorts.${name}.series[${i}]`, p);
    });
    const summed = (cohort.series as Array<{ attempts: number }>).reduce((sum, p) => sum + p.attempts, 0);
    assert.equal(summed, c.attempts, `cohorts.${name}: the series must add up to attempts`);
  }

  assert.ok(Array.isArray(report.slos) && report.slos.length > 0, "slos: must be a non-empty array");
  report.slos.forEach((s: unknown, i: number) => {
    assert.ok(isObject(s), `slos[${i}]`);
    assert.equal(typeof s.cohort, "string", `slos[${i}].cohort`);
    assert.equal(typeof s.window, "string", `slos[${i}].window`);
    assert.ok(isNumber(s.min) && isNumber(s.actual), `slos[${i}]: ${JSON.stringify(s)}`);
    assert.equal(typeof s.ok, "boolean", `slos[${i}].ok`);
  });
  assert.equal(report.ok, (report.slos as Array<{ ok: boolean }>).every((s) => s.ok), "ok: must be true exactly when every SLO is met");
}

type Verdict = { cohort: string; window: string; ok: boolean };
type Machine = { ratio: number | null; limit: number };

/**
 * A run that missed SLOs while its processes waited for a CPU more than the
 * lab's limit is inconclusive: the lab says so (exit 1, `inconclusive:` and
 * the measured wait), and its timings are the machine's, not steadymesh's.
 * Then only what does not depend on timing is checked, and the test says
 * which way it went. On an idle machine the wait stays far below the limit.
 */
function inconclusive(run: CliRun, report: Record<string, unknown>, t: { diagnostic(message: string): void }): boolean {
  const machine = report.machine as Machine | null;
  assert.ok(machine && "ratio" in machine && machine.limit > 0, `report.machine: ${JSON.stringify(machine)}`);
  t.diagnostic(`machine: processes waited ${machine.ratio?.toFixed(1) ?? "n/a"} s for a CPU per second they ran (limit ${machine.limit}); verdict ${report.verdict}`);
  if (report.verdict !== "inconclusive") {
    assert.equal(report.verdict, report.ok ? "pass" : "fail");
    return false;
  }
  assert.equal(report.ok, false, "an inconclusive run is one that missed an SLO");
  assert.ok(machine.ratio !== null && machine.ratio > machine.limit, JSON.stringify(machine));
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /^steadymesh: error: inconclusive: \d+ SLO\(s\) failed .* while the machine could not keep time .*; run it again on a quieter machine; see .*report\.html\n$/, run.stderr);
  t.diagnostic("MEASURED FACT: this machine could not keep time; the SLO verdicts were not judged, only what does not depend on timing");
  return true;
}

/** One `lab run ci-smoke --seed 7` into `out`, with every check of a single run; resolves with its SLO verdicts, or undefined when the run was inconclusive. */
async function smokeRun(out: string, t: { diagnostic(message: string): void }): Promise<Verdict[] | undefined> {
  const run = await cli(["lab", "run", "ci-smoke", "--out", out, "--seed", "7"], 80_000);
  const log = `stdout:\n${run.stdout.slice(-3000)}\nstderr:\n${run.stderr.slice(-3000)}`;
  assert.match(run.stdout, /^COHORT +LOGIN OK +DURING FAULT +ATTEMPTS +COLD STARTS IN FAULT +ERRORS$/m, log);
  for (const cohort of COHORTS) assert.match(run.stdout, new RegExp(`^${cohort} +\\d+\\.\\d%`, "m"), log);
  assert.match(run.stdout, /^SLO (ok {2}|FAIL) steady during-fault: /m, log);
  assert.match(run.stdout, /^machine: its processes waited [\d.]+ s for a CPU per second they ran \(limit 2; /m, log);
  const reported = /^report: (.+)$/m.exec(run.stdout)?.[1];
  assert.equal(reported, join(out, "report.html"), log);
  for (const file of ["report.json", "report.html", "report.png"]) {
    assert.ok(existsSync(join(out, file)) && (await stat(join(out, file))).size > 0, `${file} was not written`);
  }

  const report = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as Record<string, unknown>;
  assertReportSchema(report);
  assert.deepEqual([report.scenario, report.speed, report.seed], ["ci-smoke", 1, 7]);
  const windows = report.faultWindows as Array<{ kind: string; services: string[]; startMs: number; endMs: number }>;
  assert.deepEqual(windows.map((w) => [w.kind, w.services]), [["config-loss", ["login"]]]);
  assert.ok(windows[0]!.startMs >= 10_000 && windows[0]!.endMs <= (report.durationMs as number), JSON.stringify(windows));
  const cohorts = report.cohorts as Record<string, { attempts: number; successes: number; duringFault: { attempts: number; successes: number } }>;
  assert.deepEqual(Object.keys(cohorts), COHORTS);
  if (inconclusive(run, report, t)) return undefined;

  assert.equal(run.code, 0, `lab run exited with ${run.code}\n${log}`);
  assert.equal(report.ok, true, JSON.stringify(report.slos));
  const { steady, dns } = cohorts;
  const stock = cohorts["xds-default"]!;
  assert.ok(steady!.duringFault.attempts > 0, "steady: no attempts during the fault");
  assert.equal(steady!.duringFault.successes, steady!.duringFault.attempts, "steady: a login failed during the fault");
  assert.ok(stock.duringFault.attempts > 0, "xds-default: no attempts during the fault");
  assert.ok(stock.duringFault.successes <= stock.duringFault.attempts * 0.5, `xds-default: ${stock.duringFault.successes} of ${stock.duringFault.attempts} succeeded during the fault; it must not ride it out`);
  assert.ok(dns!.attempts > 0 && dns!.successes >= dns!.attempts * 0.99, `dns: ${dns!.successes} of ${dns!.attempts}`);

  return (report.slos as Verdict[]).map(({ cohort, window, ok }) => ({ cohort, window, ok }));
}

test("lab - `lab list` lists the eight shipped scenarios, one row each with its description indented under it (80 columns: not a terminal)", async () => {
  const run = await cli(["lab", "list"], 30_000);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trimEnd().split("\n");
  assert.match(lines[0]!, /^SCENARIO +DURATION +REAL TIME$/);
  assert.ok(lines.every((line) => line.length <= 80), run.stdout);
  assert.deepEqual(lines.slice(1).filter((line) => !line.startsWith(" ")).map((line) => line.split(/\s+/)[0]), SHIPPED);
});

test("lab - `lab run --speed 0` fails with one line and runs nothing", async () => {
  assertOneLineError(await cli(["lab", "run", "--speed", "0", "ci-smoke"], 30_000), /--speed must be a positive number, got "0"/);
});

test("lab - a bad scenario file fails with one line naming every bad field's path, and writes nothing", async () => {
  const smoke = await readFile(join(ROOT, "scenarios/ci-smoke.yaml"), "utf8");
  const bad = smoke
    .replace('at: "+0s"', 'at: "25:00"')
    .replace("{ cohort: steady, window: during-fault", "{ cohort: stedy, window: during-fault");
  assert.notEqual(bad, smoke);
  const file = join(dir, "ci-smoke.yaml");
  await writeFile(file, bad);
  const out = join(dir, "bad-out");
  const run = await cli(["lab", "run", file, "--out", out], 30_000);
  assertOneLineError(run, /timeline\[0\]\.at: must be "HH:MM" or "\+<seconds>s", got "25:00"/);
  assert.match(run.stderr, /slos\[0\]\.cohort: must name a cohort of this scenario \(xds-default, steady, dns\), got "stedy"/);
  assert.ok(run.stderr.startsWith(`steadymesh: error: ${file}: `), run.stderr);
  assert.equal(existsSync(out), false);
});

test("lab - ci-smoke end to end, twice side by side with seed 7: each exits 0 with a summary and a report.json per the schema, steady rides out the fault, and both reach the same SLO verdicts", { timeout: 120_000 }, async (t) => {
  // Side by side, not one after the other: each run is its own process tree with its own ports, and the
  // comparison needs nothing kept between tests.
  const [first, second] = await Promise.all([smokeRun(join(dir, "run-1"), t), smokeRun(join(dir, "run-2"), t)]);
  if (first && second) assert.deepEqual(second, first);
});

type ReplayCohort = { duringFault: { attempts: number; successes: number }; controlPlane: string; coldStarts: { gateways: number; attempts: number; successes: number } };

test("lab - `steadymesh demo`: the stock client fails on the unguarded control plane, and rides the pipeline bug out on the guarded one", { timeout: 240_000 }, async (t) => {
  const out = join(dir, "demo");
  const run = await cli(["demo", "--out", out], 220_000);
  const log = `stdout:\n${run.stdout.slice(-3000)}\nstderr:\n${run.stderr.slice(-3000)}`;
  assert.ok(existsSync(join(out, "report.json")), `demo wrote no report (exit ${run.code})\n${log}`);
  const report = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as Record<string, unknown>;
  assertReportSchema(report);
  const windows = report.faultWindows as Array<{ kind: string; layer?: string }>;
  assert.deepEqual(windows.map((w) => [w.kind, w.layer]), [["config-loss", "pipeline"], ["stream-error", "server"]]);
  // The guard's own record does not depend on timing: the guarded plane held the generation the pipeline bug produced.
  const planes = report.controlPlanes as Record<string, string>;
  assert.match(planes.guarded ?? "", /held \(removes 2 of 3 Listeners/, JSON.stringify(planes));
  assert.match(planes.primary ?? "", /pushed, removing/, JSON.stringify(planes));
  const cohorts = report.cohorts as Record<string, ReplayCohort>;
  assert.equal(cohorts["xds-default-guarded"]!.controlPlane, "guarded");
  assert.equal(cohorts["xds-default"]!.controlPlane, "primary");
  if (inconclusive(run, report, t)) return;

  assert.equal(run.code, 0, `demo exited with ${run.code}: an SLO failed\n${log}`);

  const slos = report.slos as Array<{ cohort: string; window: string; gateways?: string; actual: number; ok: boolean }>;
  const guardedSlo = slos.find((s) => s.cohort === "xds-default-guarded" && s.window === "during-fault");
  assert.ok(guardedSlo?.ok && guardedSlo.gateways === "warm" && guardedSlo.actual >= 0.999, JSON.stringify(guardedSlo));
  const stockSlo = slos.find((s) => s.cohort === "xds-default" && s.window === "during-fault");
  assert.ok(stockSlo?.ok && stockSlo.actual <= 0.05, JSON.stringify(stockSlo));

  const guarded = cohorts["xds-default-guarded"]!;
  // The deliberate cold start during the stream errors is measured, not hidden: a stock client that starts then gets no configuration.
  assert.equal(guarded.coldStarts.gateways, 1, JSON.stringify(guarded.coldStarts));
  assert.ok(guarded.coldStarts.attempts > 0, JSON.stringify(guarded.coldStarts));
  assert.ok(guarded.coldStarts.successes <= guarded.coldStarts.attempts * 0.05, `a stock client cold-started during stream-error: ${JSON.stringify(guarded.coldStarts)}`);
  const html = await readFile(join(out, "report.html"), "utf8");
  assert.match(html, /Cold starts during config-loss \+ stream-error: 1 gateway came up while the fault lasted/);
});
