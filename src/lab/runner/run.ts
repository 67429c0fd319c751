import { mkdtemp, rm } from "node:fs/promises";
import { SteadyError } from "../../errors/index.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { demoCredentials, spawnDemo, type DemoProcess } from "../../demo/index.js";
import { createTally, evaluateSlos, storyFromScenario, writeReport, type LabResult, type ReportFiles, type Tally } from "../report/index.js";
import { DEMO_SERVICES, formatClock, type Scenario } from "../scenario/index.js";
import { createRng, startUserPool, type Outcome, type UserPool } from "../workload/index.js";
import { startControlPlaneProcess, type ControlPlaneProcess } from "./control-plane.js";
import { startDnsRelay, type DnsRelay } from "./dns-relay.js";
import { startFleet, type GatewayFleet } from "./fleet.js";
import { freePort, gatewayCall } from "./net.js";
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

interface Lab {
  readonly workDir: string;
  readonly controlPlane: ControlPlaneProcess;
  /** What every lab client uses as its DNS server. */
  readonly dns: DnsRelay;
  readonly services: DemoProcess[];
  readonly fleets: Map<string, GatewayFleet>;
}

/** Runs a scenario end to end with real processes on loopback, then writes its report. */
export async function runScenario(options: RunOptions): Promise<RunOutcome> {
  const { scenario } = options;
  const speed = options.speed ?? scenario.speed;
  const seed = options.seed ?? scenario.seed;
  const lab = await setUp(scenario);
  try {
    options.signal?.throwIfAborted();
    const { durationMs, faultWindows, tallies, restarts } = await play(scenario, lab, speed, seed, options);
    if (options.signal?.aborted) throw new SteadyError("unavailable", "the lab run was interrupted; every process it started was stopped");
    const cohorts = Object.fromEntries([...tallies].map(([name, tally]) => [name, tally.stats(faultWindows, durationMs)]));
    const slos = evaluateSlos(scenario, cohorts, faultWindows);
    const observations = Object.fromEntries([...restarts].map(([name, n]) => [name, n > 0 ? `Its gateways were restarted ${n} times (each a cold start of its discovery, during faults too).` : ""]));
    const result: LabResult = {
      scenario: scenario.name, speed, seed, durationMs, faultWindows, cohorts, slos,
      ok: slos.every((s) => s.ok),
      story: storyFromScenario(scenario, speed, observations),
    };
    return { result, files: await writeReport(options.outDir, result) };
  } finally {
    await tearDown(lab);
  }
}

async function setUp(scenario: Scenario): Promise<Lab> {
  const workDir = await mkdtemp(join(tmpdir(), "steadymesh-lab-"));
  const [xdsPort, adminPort, dnsPort] = [await freePort(), await freePort(), await freePort()];
  const controlPlane = await startControlPlaneProcess({ dataDir: join(workDir, "control-plane"), xdsPort, adminPort, dnsPort });
  const dns = await startDnsRelay(await freePort(), dnsPort);
  const lab: Lab = { workDir, controlPlane, dns, services: [], fleets: new Map() };
  try {
    const env = { xdsPort, dnsPort: dns.port, adminUrl: controlPlane.adminUrl, workDir };
    // The services start together; gateways start once the services are registered,
    // so no cohort's first lookup finds an empty registry.
    const services = DEMO_SERVICES.flatMap((service) =>
      Array.from({ length: scenario.topology.instances[service] }, (_, i) =>
        spawnDemo(service, { id: `${service}-${i}`, admin: env.adminUrl, xds: [`127.0.0.1:${xdsPort}`], nodeId: `${service}-${i}`, dnsServer: `127.0.0.1:${dns.port}`, dnsDomain: "mesh", cacheDir: join(workDir, `cache-${service}-${i}`) }).then((p) => {
          lab.services.push(p);
        }),
      ),
    );
    await settleAll(services);
    await settleAll(scenario.cohorts.map((cohort) => startFleet(cohort, env).then((f) => void lab.fleets.set(cohort.name, f))));
    return lab;
  } catch (err) {
    await tearDown(lab);
    throw err;
  }
}

/** Waits for every start; throws the first failure once all have settled (so tearDown sees every process). */
async function settleAll(starts: readonly Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(starts);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

async function tearDown(lab: Lab): Promise<void> {
  await Promise.allSettled([...lab.fleets.values()].map((f) => f.stop()));
  await Promise.allSettled(lab.services.map((s) => s.stop()));
  await lab.controlPlane.stop();
  await lab.dns.stop();
  await rm(lab.workDir, { recursive: true, force: true });
}

async function play(scenario: Scenario, lab: Lab, speed: number, seed: number, options: RunOptions) {
  const durationMs = Math.round((scenario.durationSec * 1000) / speed);
  const t0 = Date.now();
  const now = () => Date.now() - t0;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => (timers.delete(t), fn()), Math.max(0, ms));
    timers.add(t);
  };
  const actor = createTimelineActor({ controlPlane: lab.controlPlane, dns: lab.dns, fleets: lab.fleets, speed, now, later, onNote: (n) => options.onNote?.(n) });
  const tallies = new Map<string, Tally>();
  const pools: UserPool[] = [];
  const rng = createRng(seed);
  for (const cohort of scenario.cohorts) {
    const tally = createTally({ bucketMs: Math.max(250, durationMs / 60) });
    tallies.set(cohort.name, tally);
    pools.push(cohortUsers(scenario, lab.fleets.get(cohort.name)!, tally, now, createRng(Math.floor(rng() * 2 ** 31))));
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
  return { durationMs, faultWindows: actor.windows(durationMs), tallies, restarts };
}

/** Virtual users of one cohort, sending their logins and plays to the cohort's ready gateways. */
function cohortUsers(scenario: Scenario, fleet: GatewayFleet, tally: Tally, now: () => number, rng: () => number): UserPool {
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
      tally.record(startedAt, outcome.ok, outcome.code);
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
      for (const fleet of lab.fleets.values()) {
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
