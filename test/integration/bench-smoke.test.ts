import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { teeChildOutput } from "../helpers/test-logs.js";

/**
 * `npm run bench -- --quick` still works: the runner in its own process
 * exits 0, writes JSON with every section and at least one numeric figure
 * in each, and prints the table. A smoke test only: no figure is checked
 * against anything (the bench asserts nothing about speed, nor does this).
 */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const RUNNER = join(ROOT, "bench/run.ts");
const SECTIONS = ["propagation", "memory", "bytes", "registry", "dns", "resolver", "build", "scale"];

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runBench(args: readonly string[]): Promise<Run> {
  const child = spawn(process.execPath, ["--import", "tsx", RUNNER, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  teeChildOutput(child, "bench");
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, stdout, stderr })));
}

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "steadymesh-bench-smoke-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("bench --quick runs every section, writes the JSON and prints the table", { timeout: 360_000 }, async () => {
  const out = join(dir, "bench.json");
  const run = await runBench(["--quick", "--out", out]);
  assert.equal(run.code, 0, `bench exited with ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr.slice(-4000)}`);
  const report = JSON.parse(await readFile(out, "utf8")) as {
    quick: boolean;
    machine: { cores: number; node: string };
    sections: { name: string; status: string; rows?: { metric: string; value: unknown }[] }[];
  };
  assert.equal(report.quick, true);
  assert.equal(report.machine.node, process.version);
  assert.deepEqual(report.sections.map((s) => s.name), SECTIONS);
  for (const section of report.sections) {
    assert.equal(section.status, "ok", `${section.name} failed`);
    assert.ok(section.rows?.some((row) => typeof row.value === "number"), `${section.name} has no numeric figure: ${JSON.stringify(section.rows)}`);
  }
  assert.match(run.stdout, /^section\s+metric\s+value\s+baseline\s+ratio\s+goal\s+met$/m);
  for (const name of SECTIONS) assert.match(run.stdout, new RegExp(`^${name}\\s`, "m"), `no table row for ${name}`);
});

test("bench rejects an unknown flag with a one-line error naming it", { timeout: 30_000 }, async () => {
  const run = await runBench(["--frobnicate"]);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr.trim(), /^error: unknown option '--frobnicate'$/);
});
