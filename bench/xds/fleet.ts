/**
 * The parent side of the xDS benches: starts the server child and client
 * worker processes, connects N Delta clients, measures the server's memory
 * idle with 0 and N clients, then times rounds of "one endpoint changes"
 * (the real path, through the admin API) against the lower bound (the same
 * update's bytes written once per stream by broadcast.ts's broadcastEncoded), on
 * the same sockets. `fleetResults` is memoised per size set, so the
 * `propagation` and `memory` sections share one run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { summarise, type Percentiles } from "../percentiles.js";
import { authHeader, type AdminTarget } from "../admin-http.js";
import type { BenchContext } from "../section.js";
import { forkChild, instanceBody, wallNow, type BenchChild } from "./ipc.js";
import type { StreamSpec, WaitResult } from "./client-worker.js";

export const EDS_TYPE = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
const SERVER_CHILD = fileURLToPath(new URL("./server-child.ts", import.meta.url));
const CLIENT_WORKER = fileURLToPath(new URL("./client-worker.ts", import.meta.url));

export interface ServerChild extends BenchChild {
  readonly dataDir: string;
  readonly xdsPort: number;
  readonly adminPort: number;
  /** The operator token the child's serve wrote; undefined when its store already had tokens. */
  readonly adminToken?: string;
  readonly seedMs: number;
  readonly startMs: number;
}

export interface ServerChildExtra {
  /** One more service with this many instances. */
  readonly big?: number;
  /** `sqlite` (default) or an `etcd://…` spec. */
  readonly store?: string;
  /** The push quiet period; 0 by default here (production: 100 ms). */
  readonly pushMinDelayMs?: number;
  /** Start on this data dir (the caller removes it): as it is, a restart, unless `seed`. */
  readonly dataDir?: string;
  /** With `dataDir`: seed it first. */
  readonly seed?: boolean;
}

export async function startServerChild(services: number, perService: number, execArgv: string[] = [], extra: ServerChildExtra = {}): Promise<ServerChild> {
  // The parent owns the data dir, so it is removed even when a child is killed.
  const reuse = extra.dataDir !== undefined;
  const dataDir = extra.dataDir ?? mkdtempSync(join(tmpdir(), "steadymesh-bench-xds-"));
  const { dataDir: _given, seed, ...rest } = extra;
  const config = { services, perService, dataDir, ...rest };
  let seeder: BenchChild | undefined;
  let child: BenchChild | undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("server child did not start in 600 s")), 600_000)));
  deadline.catch(() => undefined);
  try {
    let seedMs = 0;
    if (!reuse || seed) {
      seeder = forkChild(SERVER_CHILD, [JSON.stringify({ ...config, seedOnly: true })]);
      seedMs = ((await Promise.race([seeder.ready, deadline])) as { seedMs: number }).seedMs;
      await Promise.race([seeder.exited, deadline]);
    }
    child = forkChild(SERVER_CHILD, [JSON.stringify(config)], ["--expose-gc", ...execArgv]);
    if (!reuse) void child.exited.then(() => rmSync(dataDir, { recursive: true, force: true }));
    const ready = (await Promise.race([child.ready, deadline])) as { xdsPort: number; adminPort: number; adminToken?: string; startMs: number };
    return { ...child, ...ready, dataDir, seedMs };
  } catch (err) {
    seeder?.kill();
    child?.kill();
    if (!child && !reuse) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Stops the server child gracefully, or kills it. */
export async function stopServerChild(server: BenchChild): Promise<void> {
  try {
    await server.call("stop", undefined, 10_000);
    await Promise.race([server.exited, new Promise((r) => setTimeout(r, 3000).unref())]);
  } catch {
    /* killed below */
  } finally {
    server.kill();
  }
}

export async function startWorkers(count: number): Promise<BenchChild[]> {
  const workers: BenchChild[] = [];
  try {
    for (let i = 0; i < count; i++) workers.push(forkChild(CLIENT_WORKER, []));
    await Promise.all(workers.map((w) => w.ready));
    return workers;
  } catch (err) {
    for (const w of workers) w.kill();
    throw err;
  }
}

export async function closeWorkers(workers: readonly BenchChild[]): Promise<void> {
  await Promise.allSettled(workers.map((w) => w.call("close", undefined, 5000)));
  await Promise.race([Promise.allSettled(workers.map((w) => w.exited)), new Promise((r) => setTimeout(r, 3000).unref())]);
  for (const w of workers) w.kill();
}

/** Changes one endpoint of svc-0 (instance i-0's weight) through the admin API; returns t0 (wall ms) and the PUT's round trip. */
export async function changeEndpoint(target: AdminTarget, weight: number): Promise<{ t0: number; putMs: number }> {
  const t0 = wallNow();
  const res = await fetch(`http://127.0.0.1:${target.adminPort}/v1/services/svc-0/instances/i-0`, {
    method: "PUT",
    body: JSON.stringify(instanceBody(0, 0, weight)),
    headers: { ...authHeader(target), "content-type": "application/json" },
  });
  const putMs = wallNow() - t0;
  if (res.status >= 300) throw new Error(`admin PUT failed: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  return { t0, putMs };
}

export interface FleetRun {
  readonly clients: number;
  readonly workers: number;
  readonly services: number;
  readonly endpoints: number;
  readonly rounds: number;
  readonly seedMs: number;
  readonly connectMs: number;
  readonly memory: { readonly idle0: NodeJS.MemoryUsage; readonly idleN: NodeJS.MemoryUsage };
  /** Pooled over every round. */
  readonly change: Percentiles;
  readonly bound: Percentiles;
  readonly perRound: readonly { readonly change: Percentiles; readonly bound: Percentiles; readonly putMs: number }[];
  readonly updateBytes: number;
  readonly boundBytes: number;
  readonly error?: string;
  /** What `during` measured. */
  readonly extra?: Record<string, unknown>;
  /** The server child's start: registry loaded, first snapshot built, guard settled, listeners up. */
  readonly startMs: number;
  readonly idleAfter: NodeJS.MemoryUsage;
}

export interface FleetSettings {
  readonly sizes: readonly number[];
  /** One more service with this many instances (the scale bench). */
  readonly big?: number;
  readonly services: number;
  readonly perService: number;
  readonly rounds: number;
  /** Names each client subscribes to (svc-0 and others). */
  readonly namesPerClient: number;
}

export function fleetSettings(quick: boolean): FleetSettings {
  return quick
    ? { sizes: [100], services: 100, perService: 10, rounds: 3, namesPerClient: 10 }
    : { sizes: [100, 1000, 5000], services: 1000, perService: 10, rounds: 3, namesPerClient: 10 };
}

/** Client i's subscription: svc-0 and namesPerClient-1 others spread over the services. */
function namesOf(i: number, settings: FleetSettings): string[] {
  const others = settings.services - 1;
  const names = ["svc-0"];
  for (let k = 0; k < settings.namesPerClient - 1; k++) names.push(`svc-${1 + ((i * (settings.namesPerClient - 1) + k) % others)}`);
  return names;
}

function workersFor(n: number): number {
  return n >= 1000 ? Math.min(5, Math.max(2, Math.ceil(n / 1000))) : 1;
}

async function timeRound(workers: readonly BenchChild[], trigger: () => Promise<number>, timeoutMs: number): Promise<{ latencies: number[]; missing: number; sizes: number[] }> {
  await Promise.all(workers.map((w) => w.call("arm")));
  const t0 = await trigger();
  const results = await Promise.all(workers.map((w) => w.call<WaitResult>("wait", { timeoutMs }, timeoutMs + 30_000)));
  const arrivals = results.flatMap((r) => r.arrivals);
  const latencies = arrivals.filter((a) => !Number.isNaN(a)).map((a) => a - t0);
  return { latencies, missing: arrivals.length - latencies.length, sizes: results.flatMap((r) => r.sizes) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One server child, N clients: memory idle with 0 and N clients, then `rounds` × (change, bound). */
export async function runFleet(n: number, settings: FleetSettings, log: (line: string) => void, during?: (server: ServerChild) => Promise<Record<string, unknown>>): Promise<FleetRun> {
  const server = await startServerChild(settings.services, settings.perService, [], settings.big ? { big: settings.big } : {});
  const workerCount = workersFor(n);
  let workers: BenchChild[] = [];
  try {
    log(`N=${n}: server up (${settings.services} services × ${settings.perService} endpoints, seeded in ${Math.round(server.seedMs)} ms)`);
    await sleep(500);
    const idle0 = await server.call<NodeJS.MemoryUsage>("memory");
    workers = await startWorkers(workerCount);
    const connectStart = performance.now();
    const perWorker = Math.ceil(n / workerCount);
    const opened = await Promise.all(
      workers.map((w, wi) => {
        const specs: StreamSpec[] = [];
        for (let i = wi * perWorker; i < Math.min(n, (wi + 1) * perWorker); i++) {
          specs.push({ port: server.xdsPort, protocol: "delta", typeUrl: EDS_TYPE, names: namesOf(i, settings), nodeId: `bench-${i}` });
        }
        return w.call<{ synced: number; errorCount: number; errors: string[] }>("open", { streams: specs, timeoutMs: 240_000 }, 300_000);
      }),
    );
    const synced = opened.reduce((s, o) => s + o.synced, 0);
    const connectMs = performance.now() - connectStart;
    if (synced < n) throw new Error(`only ${synced}/${n} clients synced: ${opened.flatMap((o) => o.errors).join("; ")}`);
    log(`N=${n}: ${n} clients in ${workerCount} processes connected and synced in ${Math.round(connectMs)} ms`);
    await sleep(n >= 1000 ? 3000 : 1000);
    const idleN = await server.call<NodeJS.MemoryUsage>("memory");

    // BENCH_SERVER_CPU_PROF=DIR: a V8 CPU profile of the server child over the timed rounds only (not seeding or connecting).
    const profileDir = process.env.BENCH_SERVER_CPU_PROF;
    if (profileDir) await server.call("profileStart");
    const pooledChange: number[] = [];
    const pooledBound: number[] = [];
    let missingChange = 0;
    let missingBound = 0;
    const perRound: { change: Percentiles; bound: Percentiles; putMs: number }[] = [];
    let updateBytes = 0;
    let boundBytes = 0;
    const timeoutMs = 30_000;
    // Round 0 is a warm-up (JIT, first generation writes) and is not recorded.
    for (let r = -1; r < settings.rounds; r++) {
      let putMs = 0;
      const change = await timeRound(
        workers,
        async () => {
          const c = await changeEndpoint(server, r + 3);
          putMs = c.putMs;
          return c.t0;
        },
        timeoutMs,
      );
      updateBytes = Math.max(...change.sizes);
      const sample = await workers[0]!.call<Uint8Array | null>("sample", { index: 0 });
      if (!sample) throw new Error("no update to replay for the lower bound");
      await sleep(500);
      let streams = 0;
      const bound = await timeRound(
        workers,
        async () => {
          const b = await server.call<{ t0: number; streams: number; bytes: number }>("broadcast", { response: sample, nonce: `bound-${r + 2}` });
          streams = b.streams;
          boundBytes = b.bytes;
          return b.t0;
        },
        timeoutMs,
      );
      if (streams !== n) log(`N=${n}: broadcast reached ${streams} streams, not ${n}`);
      if (r < 0) {
        log(`N=${n}: warm-up round done (change p99 ${summarise(change.latencies).p99} ms, bound p99 ${summarise(bound.latencies).p99} ms)`);
        await sleep(500);
        continue;
      }
      pooledChange.push(...change.latencies);
      pooledBound.push(...bound.latencies);
      missingChange += change.missing;
      missingBound += bound.missing;
      const row = { change: summarise(change.latencies, change.missing), bound: summarise(bound.latencies, bound.missing), putMs: Math.round(putMs * 100) / 100 };
      perRound.push(row);
      log(`N=${n} round ${r + 1}: change p50 ${row.change.p50} p99 ${row.change.p99} max ${row.change.max} ms; bound p50 ${row.bound.p50} p99 ${row.bound.p99} max ${row.bound.max} ms`);
      await sleep(500);
    }
    if (profileDir) log(`N=${n}: server CPU profile of the rounds: ${await server.call<string>("profileStop", { file: `${profileDir}/server-${n}-clients.cpuprofile` })}`);
    // More measurements on the same server and connected clients (the scale bench).
    const extra = during ? await during(server) : undefined;
    const idleAfter = await server.call<NodeJS.MemoryUsage>("memory");
    return {
      ...(extra && { extra }),
      startMs: Math.round(server.startMs),
      idleAfter,
      clients: n,
      workers: workerCount,
      services: settings.services,
      endpoints: settings.services * settings.perService,
      rounds: settings.rounds,
      seedMs: Math.round(server.seedMs),
      connectMs: Math.round(connectMs),
      memory: { idle0, idleN },
      change: summarise(pooledChange, missingChange),
      bound: summarise(pooledBound, missingBound),
      perRound,
      updateBytes,
      boundBytes,
    };
  } finally {
    await closeWorkers(workers);
    await stopServerChild(server);
  }
}

export interface FleetResults {
  readonly settings: FleetSettings;
  readonly runs: readonly FleetRun[];
  /** Sizes that failed, with why. */
  readonly failures: readonly { readonly clients: number; readonly error: string }[];
}

const memo = new Map<string, Promise<FleetResults>>();

/** Runs every size once per process (memoised on `quick`); propagation and memory read the same results. */
export function fleetResults(context: BenchContext): Promise<FleetResults> {
  const key = context.quick ? "quick" : "full";
  let p = memo.get(key);
  if (!p) {
    p = (async () => {
      const settings = fleetSettings(context.quick);
      const runs: FleetRun[] = [];
      const failures: { clients: number; error: string }[] = [];
      for (const n of settings.sizes) {
        try {
          runs.push(await runFleet(n, settings, context.log));
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          context.log(`N=${n}: failed: ${error}`);
          failures.push({ clients: n, error });
        }
      }
      return { settings, runs, failures };
    })();
    memo.set(key, p);
  }
  return p;
}
