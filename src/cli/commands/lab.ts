import type { Command } from "commander";
import { resolve } from "node:path";
import { SteadyError } from "../../errors/index.js";
import type { CliContext } from "../context.js";
import { DEFAULT_COLUMNS, formatScenarioList } from "../scenario-list.js";
import { formatTable } from "../table.js";

interface RunFlags {
  readonly out?: string;
  readonly speed?: string;
  readonly seed?: string;
}

const REPLAY = "spotify-2022-03-08";

/** `steadymesh lab list|run` and `steadymesh demo`: the outage lab. */
export function addLabCommands(program: Command, context: CliContext): void {
  const lab = program.command("lab").description("the outage lab: replay control-plane failures against real clients");
  lab
    .command("list")
    .description("list the scenarios that ship with steadymesh")
    .action(async () => {
      const { listScenarios } = await import("../../lab/index.js");
      // A terminal's width; a pipe or a file gets the default.
      const columns = (context.io.stdout as Partial<NodeJS.WriteStream>).columns || DEFAULT_COLUMNS;
      for (const line of formatScenarioList(listScenarios(), columns)) context.print(line);
    });
  lab
    .command("run")
    .description("run a scenario (a shipped name or a YAML file) and write its report; exits 1 if an SLO fails")
    .argument("<scenario>", "scenario name (see 'steadymesh lab list') or path to a .yaml file")
    .option("--out <dir>", "where report.json, report.html and report.png go (default: ./lab-reports/<scenario>)")
    .option("--speed <x>", "scenario seconds per real second (default: the scenario's own)")
    .option("--seed <n>", "seed of the virtual users' randomness (default: the scenario's own)")
    .action((scenario: string, flags: RunFlags) => runLab(scenario, flags, context));
  program
    .command("demo")
    .description(`replay Spotify's 8 March 2022 outage (${REPLAY}) and write its report`)
    .option("--out <dir>", `where the report goes (default: ./lab-reports/${REPLAY})`)
    .option("--speed <x>", "scenario seconds per real second (default: the scenario's own)")
    .option("--seed <n>", "seed of the virtual users' randomness")
    .action((flags: RunFlags) => runLab(REPLAY, flags, context));
}

function positive(name: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  const good = Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value));
  if (!good) throw new SteadyError("invalid-argument", `${name} must be a ${integer ? "positive integer" : "positive number"}, got "${text}"`);
  return value;
}

async function runLab(name: string, flags: RunFlags, context: CliContext): Promise<void> {
  const speed = positive("--speed", flags.speed, false);
  const seed = positive("--seed", flags.seed, true);
  const { loadScenario, machineLine, verdictOf } = await import("../../lab/index.js");
  const { runScenario } = await import("../../lab/runner/index.js");
  const scenario = loadScenario(name);
  const outDir = resolve(flags.out ?? `lab-reports/${scenario.name}`);
  const live = createLiveLines(context);
  context.print(`lab: running ${scenario.name} at ${speed ?? scenario.speed}× (${scenario.cohorts.length} cohorts); starting control plane, services and gateways…`);
  // Ctrl-C stops every process the lab started before the command exits.
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  let run;
  try {
    run = await runScenario({
      scenario, outDir, signal: abort.signal, ...(speed !== undefined && { speed }), ...(seed !== undefined && { seed }),
      onProgress: live.update,
      onNote: (note) => live.note(`lab: ${note}`),
    });
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
  }
  const { result, files } = run;
  live.done();
  const rows = Object.entries(result.cohorts).map(([cohort, s]) => [
    cohort,
    pct(s.successes, s.attempts),
    pct(s.duringFault.successes, s.duringFault.attempts),
    String(s.attempts),
    s.coldStarts.gateways === 0 ? "-" : `${s.coldStarts.gateways} (${pct(s.coldStarts.successes, s.coldStarts.attempts)} of ${s.coldStarts.attempts})`,
    Object.entries(s.errors).map(([code, n]) => `${code}×${n}`).join(" ") || "-",
  ]);
  for (const line of formatTable(["COHORT", "LOGIN OK", "DURING FAULT", "ATTEMPTS", "COLD STARTS IN FAULT", "ERRORS"], rows)) context.print(line);
  for (const slo of result.slos) {
    const bound = slo.max !== undefined ? `${pct(slo.min, 1)}–${pct(slo.max, 1)}` : `≥ ${pct(slo.min, 1)}`;
    const whose = slo.gateways === "warm" ? " (warm gateways: cold starts left out)" : "";
    context.print(`SLO ${slo.ok ? "ok  " : "FAIL"} ${slo.cohort} ${slo.window}${whose}: ${pct(slo.actual, 1)} (wanted ${bound})${slo.reason ? ` — ${slo.reason}` : ""}`);
  }
  if (result.machine) context.print(`machine: ${machineLine(result.machine)}`);
  context.print(`report: ${files.html}`);
  const verdict = verdictOf(result);
  if (verdict !== "pass") {
    const failed = result.slos.filter((s) => !s.ok).map((s) => `${s.cohort} ${s.window}`);
    const missed = `${failed.length} SLO(s) failed (${failed.join(", ")})`;
    // Still exit 1: a run that proves nothing must not pass a pipeline; the message says to run it again.
    const text = verdict === "inconclusive" ? `inconclusive: ${missed} while the machine could not keep time (${machineLine(result.machine!)}); run it again on a quieter machine` : missed;
    throw new SteadyError("unavailable", `${text}; see ${files.html}`);
  }
}

function pct(n: number, of: number): string {
  return of === 0 ? "-" : `${((100 * n) / of).toFixed(1)}%`;
}

/** On a terminal, one line per cohort redrawn in place; otherwise a block every 5 s. */
function createLiveLines(context: CliContext) {
  const tty = (context.io.stdout as NodeJS.WriteStream).isTTY === true;
  let drawn = 0;
  let last = 0;
  return {
    update(lines: readonly string[]) {
      if (tty) {
        if (drawn > 0) context.io.stdout.write(`\x1b[${drawn}A`);
        for (const line of lines) context.io.stdout.write(`\x1b[2K${line}\n`);
        drawn = lines.length;
      } else if (Date.now() - last >= 5000) {
        last = Date.now();
        for (const line of lines) context.print(line);
      }
    },
    note(text: string) {
      if (tty && drawn > 0) context.io.stdout.write(`\x1b[${drawn}A\x1b[0J`);
      drawn = 0;
      context.print(text);
    },
    done() {
      drawn = 0;
    },
  };
}
