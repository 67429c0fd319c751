/**
 * The benchmark runner (issue 7): `npm run bench -- [--quick] [--out FILE] [--only a,b]`.
 * Runs each section in order, each in a fresh temp dir (removed afterwards),
 * with progress lines on stderr as `[section] …`. A section that throws is
 * reported as failed and the run goes on. At the end it prints the results
 * table on stdout and writes the JSON (machine, date, per-section rows,
 * details, notes and durations) to `--out` (default `bench.json` in the
 * current directory). Exit code 1 when any section failed, else 0.
 */
import { Command, CommanderError } from "commander";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, platform, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { build } from "./build.js";
import { bytes } from "./bytes.js";
import { dns } from "./dns.js";
import { memory } from "./memory.js";
import { propagation } from "./propagation.js";
import { registry } from "./registry.js";
import { resolver } from "./resolver.js";
import { scale } from "./scale.js";
import type { BenchSection, SectionResult } from "./section.js";
import { renderTable, type SectionOutcome } from "./table.js";

/** Every section, in the order they run. */
const SECTIONS: ReadonlyArray<readonly [string, BenchSection]> = [
  ["propagation", propagation],
  ["memory", memory],
  ["bytes", bytes],
  ["registry", registry],
  ["dns", dns],
  ["resolver", resolver],
  ["build", build],
  ["scale", scale],
];

interface Options {
  readonly quick: boolean;
  readonly out: string;
  readonly only: readonly string[] | undefined;
}

function parseArgs(argv: readonly string[]): Options {
  const names = SECTIONS.map(([name]) => name);
  const program = new Command("bench")
    .description(`run the steadymesh benchmarks (sections: ${names.join(", ")}); prints a table and writes JSON`)
    .option("--quick", "smoke-test sizes: the whole run in under 60 s; figures are not the ones to quote", false)
    .option("--out <file>", "where to write the JSON results", "bench.json")
    .option("--only <sections>", "comma-separated sections to run, e.g. dns,registry")
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.split("\n")[0] + "\n") });
  try {
    program.parse(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    throw err;
  }
  const raw = program.opts<{ quick: boolean; out: string; only?: string }>();
  let only: string[] | undefined;
  if (raw.only !== undefined) {
    only = raw.only.split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = only.filter((name) => !names.includes(name));
    if (unknown.length > 0 || only.length === 0) {
      process.stderr.write(`error: --only: unknown section ${JSON.stringify(unknown.join(",") || raw.only)}; sections are ${names.join(", ")}\n`);
      process.exit(1);
    }
  }
  return { quick: raw.quick, out: resolve(raw.out), only };
}

function machine() {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    totalMemoryBytes: totalmem(),
    node: process.version,
    platform: `${platform()} ${release()}`,
  };
}

async function runSection(name: string, section: BenchSection, quick: boolean): Promise<SectionOutcome> {
  const log = (line: string) => process.stderr.write(`[${name}] ${line}\n`);
  const tmpDir = await mkdtemp(join(tmpdir(), `steadymesh-bench-${name}-`));
  const start = performance.now();
  log(`start${quick ? " (quick)" : ""}`);
  try {
    const result: SectionResult = await section({ quick, log, tmpDir });
    const durationMs = Math.round(performance.now() - start);
    log(`done in ${(durationMs / 1000).toFixed(1)} s`);
    return { name, status: "ok", durationMs, result };
  } catch (err) {
    const durationMs = Math.round(performance.now() - start);
    const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`FAILED after ${(durationMs / 1000).toFixed(1)} s: ${error}`);
    return { name, status: "failed", durationMs, error: err instanceof Error ? err.message : String(err) };
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

const options = parseArgs(process.argv.slice(2));
const started = new Date();
const runStart = performance.now();
const outcomes: SectionOutcome[] = [];
for (const [name, section] of SECTIONS) {
  if (options.only && !options.only.includes(name)) continue;
  outcomes.push(await runSection(name, section, options.quick));
}
const totalMs = Math.round(performance.now() - runStart);

const report = {
  machine: machine(),
  date: started.toISOString(),
  quick: options.quick,
  totalDurationMs: totalMs,
  sections: outcomes.map((o) =>
    o.status === "ok"
      ? { name: o.name, status: o.status, durationMs: o.durationMs, rows: o.result.rows, details: o.result.details, notes: o.result.notes }
      : { name: o.name, status: o.status, durationMs: o.durationMs, error: o.error },
  ),
};
await mkdir(dirname(options.out), { recursive: true });
await writeFile(options.out, `${JSON.stringify(report, null, 2)}\n`);

const m = report.machine;
process.stdout.write(`steadymesh bench${options.quick ? " --quick" : ""}: ${m.cpuModel}, ${m.cores} cores, ${(m.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, node ${m.node}, ${m.platform}\n\n`);
process.stdout.write(renderTable(outcomes));
process.stdout.write(`\ntotal ${(totalMs / 1000).toFixed(1)} s; JSON in ${options.out}\n`);
process.exitCode = outcomes.some((o) => o.status === "failed") ? 1 : 0;

// Every section cleans up after itself; should something still hold the event loop open, say what and exit anyway.
setTimeout(() => {
  const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles().map((h) => h.constructor.name);
  process.stderr.write(`[bench] still running 5 s after the report (open handles: ${handles.join(", ")}); exiting\n`);
  process.exit();
}, 5000).unref();
