import { SteadyError } from "../../errors/index.js";
import { demoCredentials } from "../../demo/index.js";
import { createTally, evaluateSlos, storyFromScenario, writeReport, type LabResult, type ReportFiles, type Tally } from "../report/index.js";
import { formatClock, type Scenario } from "../scenario/index.js";
import { createRng, startUserPool, type Outcome, type UserPool } from "../workload/index.js";
import type { GatewayFleet } from "./fleet.js";
import { setUp, tearDown, type Lab } from "./lab-setup.js";
import { gatewayCall } from "./net.js";
import { CPU_WAIT_LIMIT, startCpuWaitMonitor } from "./cpu-wait.js";
import { controlPlaneNotes } from "./plane-notes.js";
import { createTimelineActor } from "./timeline.js";

export interface RunOptions {
  readonly scenario: Scenario;
  readonly outDir: string;
  /** Scenario seconds per real second; the scenario's own speed by default. */
  readonly speed?: number;
  readonly seed?: number;
  /** One line per cohort, about once a second, while it runs. */
  readonly onProgress?: (lines: readonly string[]) => void;
  readonly onNote?: (text: string) => void;
  /** Aborting ends the run early: every process is stopped and the run rejects. */
  readonly signal?: AbortSignal;
}

export interface RunOutcome {
  readonly result: LabResult;
  readonly files: ReportFiles;
}

/** Runs a scenario end to end with real processes on loopback, then writes its report. */
export async function runScenario(options: RunOptions): Promise<RunOutcome> {
  const { scenario } = options;
  const speed = options.speed ?? scenario.speed;
  const seed = options.seed ?? scenario.seed;
  const lab = await setUp(scenario);
  try {
    options.signal?.throwIfAborted();
    const { t0, durationMs, faultWindows, phases, tallies, restarts, ups, cpuWait } = await play(scenario, lab, speed, seed, options);
    if (options.signal?.aborted) throw new SteadyError("unavailable", "the lab run was interrupted; every process it started was stopped");
    const planeNotes = await controlPlaneNotes(lab.controlPlanes, t0, scenarioClock(scenario, speed, t0, durationMs));
    const cohorts = Object.fromEntries([...tallies].map(([name, tally]) => [name, tally.stats(faultWindows, durationMs, ups.get(name), phases)]));
    const slos = evaluateSlos(scenario, cohorts, faultWindows, phases);
    const observations = Object.fromEntries([...restarts].map(([name, n]) => [name, restartObservation(n)]));
    const result: LabResult = {
      scenario: scenario.name, speed, seed, durationMs, faultWindows, ...(phases.length > 0 && { phases }), cohorts, slos,
      ok: slos.every((s) => s.ok),
      story: storyFromScenario(scenario, speed, observations, planeNotes),
      machine: { ...cpuWait, limit: CPU_WAIT_LIMIT },
    };
    return { result, files: await writeReport(options.outDir, result) };
  } finally {
    await tearDown(lab);
  }
}

/** Epoch ms → the scenario clock: HH:MM for runs over an hour of scenario time (as the report shows them), else HH:MM:SS. */
function scenarioClock(scenario: Scenario, speed: number, t0: number, durationMs: number): (epochMs: number) => string {
  const minutes = (durationMs / 1000) * speed > 3600;
  return (epochMs) => {
    const sec = scenario.startOfDaySec + ((epochMs - t0) / 1000) * speed;
    return minutes ? formatClock(Math.round(sec / 60) * 60).slice(0, 5) : formatClock(Math.round(sec));
  };
}

function restartObservation(restarts: number): string {
  if (restarts === 0) return "";
  return `Its gateways were restarted ${restarts === 1 ? "once" : `${restarts} times`} (each a cold start of its discovery).`;
}

async function play(scenario: Scenario, lab: Lab, speed: number, seed: number, options: RunOptions) {
  const durationMs = Math.round((scenario.durationSec * 1000) / speed);
  const t0 = Date.now();
  const cpu = startCpuWaitMonitor();
  const now = () => Date.now() - t0;
  const sinceStart = (epochMs: number | undefined) => (epochMs === undefined ? undefined : epochMs - t0);
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => (timers.delete(t), fn()), Math.max(0, ms));
    timers.add(t);
  };
  const actor = createTimelineActor({ controlPlanes: lab.controlPlanes, dns: lab.dns!, fleets: lab.fleets, speed, now, later, onNote: (n) => options.onNote?.(n) });
  const tallies = new Map<string, Tally>();
  const pools: UserPool[] = [];
  const rng = createRng(seed);
  for (const cohort of scenario.cohorts) {
    const tally = createTally({ bucketMs: Math.max(250, durationMs / 60) });
    tallies.set(cohort.name, tally);
    pools.push(cohortUsers(scenario, lab.fleets.get(cohort.name)!, tally, { now, sinceStart }, createRng(Math.floor(rng() * 2 ** 31))));
  }
  for (const entry of scenario.timeline) {
    later((entry.atSec * 1000) / speed, () => void actor.apply(entry).catch((err: Error) => options.onNote?.(`timeline ${entry.clock} ${entry.action} failed: ${err.message}`)));
  }
  scheduleRestarts(scenario, lab, later, durationMs, (n) => options.onNote?.(n));
  const progress = setInterval(() => options.onProgress?.(progressLines(scenario, speed, tallies, actor.active(), now())), 1000);
  await new Promise<void>((resolve) => {
    const end = setTimeout(resolve, durationMs);
    options.signal?.addEventListener("abort", () => (clearTimeout(end), resolve()), { once: true });
  });
  clearInterval(progress);
  for (const t of timers) clearTimeout(t);
  for (const pool of pools) pool.stop();
  const restarts = new Map([...lab.fleets].map(([name, fleet]) => [name, fleet.restarts()]));
  const ups = new Map([...lab.fleets].map(([name, fleet]) => [name, fleet.ups().map((up) => up - t0)]));
  return { t0, durationMs, faultWindows: actor.windows(durationMs), phases: actor.phases(durationMs), tallies, restarts, ups, cpuWait: cpu.stop() };
}

interface RunClock {
  /** Real ms since time 0. */
  readonly now: () => number;
  /** An epoch time as real ms since time 0. */
  readonly sinceStart: (epochMs: number | undefined) => number | undefined;
}

/**
 * Virtual users of one cohort, sending their logins and plays to the
 * cohort's ready gateways. Each login is tallied with when the gateway that
 * served it was started, so cold starts can be told apart.
 */
function cohortUsers(scenario: Scenario, fleet: GatewayFleet, tally: Tally, { now, sinceStart }: RunClock, rng: () => number): UserPool {
  const tokens = new Map<number, string>();
  const pick = () => {
    const ready = fleet.ready();
    return ready.length === 0 ? undefined : ready[Math.floor(rng() * ready.length)];
  };
  const { workload } = scenario;
  return startUserPool({
    users: workload.users,
    loggedInShare: workload.loggedInShare,
    loginRatePerSec: workload.loginRatePerSec,
    meRatePerSec: 0.2,
    retry: workload.retry,
    rng,
    clock: { now: Date.now, setTimeout: (fn, ms) => { const t = setTimeout(fn, ms); return () => clearTimeout(t); } },
    async login(user) {
      const gateway = pick();
      const startedAt = now();
      const { user: name, password } = demoCredentials(user);
      const outcome: Outcome & { token?: string } = gateway ? await gatewayCall(gateway.port, "POST", "/login", { user: name, password }) : { ok: false, code: "NO_GATEWAY" };
      if (outcome.token) tokens.set(user, outcome.token);
      tally.record(startedAt, outcome.ok, outcome.code, gateway && sinceStart(fleet.upAt(gateway)));
      return outcome;
    },
    async me(user) {
      const gateway = pick();
      const token = tokens.get(user);
      if (!gateway || !token) return { ok: false, code: "NO_GATEWAY" };
      return gatewayCall(gateway.port, "GET", "/me", undefined, token);
    },
    record: () => undefined,
  });
}

/** Rolling deploys and autoscaling: every `everySec`, restart `share` of each cohort's gateways. */
function scheduleRestarts(scenario: Scenario, lab: Lab, later: (ms: number, fn: () => void) => void, durationMs: number, onNote: (text: string) => void): void {
  const plan = scenario.workload.restarts;
  if (!plan) return;
  let round = 0;
  for (let at = plan.everySec * 1000; at < durationMs; at += plan.everySec * 1000) {
    const r = round++;
    later(at, () => {
      for (const cohort of scenario.cohorts.filter((c) => c.scheduledRestarts)) {
        const fleet = lab.fleets.get(cohort.name)!;
        const n = Math.max(1, Math.round(fleet.size() * plan.share));
        for (let k = 0; k < n; k++) {
          const slot = (r * n + k) % fleet.size();
          void fleet.restart(slot).catch((err: Error) => onNote(`scheduled restart of ${fleet.cohort} gateway ${slot} failed: ${err.message}`));
        }
      }
    });
  }
}

function progressLines(scenario: Scenario, speed: number, tallies: ReadonlyMap<string, Tally>, active: readonly string[], tMs: number): string[] {
  const clock = formatClock(Math.floor(scenario.startOfDaySec + (tMs / 1000) * speed) % 86400);
  return scenario.cohorts.map((c) => {
    const s = tallies.get(c.name)!.stats([], Math.max(tMs, 1));
    const recent = s.series.slice(-2);
    const a = recent.reduce((n, p) => n + p.attempts, 0);
    const ok = recent.reduce((n, p) => n + p.successes, 0);
    const pct = a === 0 ? "   -  " : `${((100 * ok) / a).toFixed(1).padStart(5)}%`;
    return `${clock}  ${c.name.padEnd(20)} login ${pct} now, ${s.successes}/${s.attempts} total  fault: ${active.join(" ") || "none"}`;
  });
}
