/**
 * `scale` (issue 15): what one change costs as the registry grows. For each
 * registry size (10,000 and 100,000 endpoints: 1,000 and 10,000 services ×
 * 10, plus one service `big` with 20,000 instances; quick: 20 and 50
 * services, big 1,000, 20 clients, shorter runs) a server child runs the real control plane on sqlite,
 * seeded before it starts (through the Store API in batches of 5,000
 * instances, the mutations the admin API would commit: bench/xds/seed.ts), and
 * 1,000 Delta clients each watch 10 services' endpoints
 * (fleet.ts). On that server, each beside its baseline from the same run:
 * - propagation p50/p99 of one endpoint change to every client, against
 *   writing the same bytes to every stream (the floor), as `propagation`;
 * - server CPU per change: the child's CPU time over 20 one-instance
 *   changes (each through the admin API, waited out), divided by 20;
 * - disk per generation: growth of registry.db and its WAL over those 20;
 * - the longest event-loop stall during mixed writes (30 s: 16
 *   writers registering, deregistering and flipping health over the admin
 *   API), from the child's own monitorEventLoopDelay (10 ms resolution) and,
 *   independently, the slowest GET /healthz answer of a probe every 10 ms;
 * - registrations per second: 64 writers PUTting new instances for 5 s, against the same on an empty registry;
 * - heartbeats per second: 64 writers renewing 64 TTL instances;
 * - RSS with the registry and the clients; cold start (the child's start:
 *   registry loaded, first snapshot built, guard settled, listening), and
 *   as a client sees it (scale/cold-start.ts: serve spawned until a wildcard
 *   Delta client has every EDS resource).
 * etcd registrations per second run on a real etcd (Debian's etcd-server at
 * /usr/bin/etcd) against an empty registry and one of the larger size (with
 * the big service), seeded through the Store API in txns of 40 instances.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEtcd } from "../test/helpers/etcd.js";
import { authHeader, type AdminTarget } from "./admin-http.js";
import type { BenchRow, BenchSection } from "./section.js";
import { changeEndpoint, runFleet, startServerChild, stopServerChild, type FleetRun, type ServerChild } from "./xds/fleet.js";
import { instanceBody } from "./xds/ipc.js";
import { coldStart, servicesWithInstances, type ColdStart } from "./scale/cold-start.js";

interface Usage {
  readonly cpu: NodeJS.CpuUsage;
  readonly memory: NodeJS.MemoryUsage;
  readonly loopMaxMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

/**
 * Keep-alive HTTP/1.1 connections, one per writer: the global fetch (undici)
 * managed about 800 requests/s from one process on this machine against
 * 6,000 with node:http, and would have measured itself, not the server.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 128 });

function admin(target: AdminTarget, method: string, path: string, body?: unknown): Promise<number> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: target.adminPort, method, path, agent, headers: payload === undefined ? authHeader(target) : { ...authHeader(target), "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(payload);
  });
}

/** `writers` loops calling `write(w, k)` until `ms` pass; the count of 2xx answers per second. */
async function rate(writers: number, ms: number, write: (w: number, k: number) => Promise<number>): Promise<number> {
  let ok = 0;
  const end = performance.now() + ms;
  const start = performance.now();
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let k = 0; performance.now() < end; k++) if ((await write(w, k)) < 300) ok++;
  }));
  return ok / ((performance.now() - start) / 1000);
}

/** Registrations per second: 64 writers PUT new instances of 64 services (`tag` keeps them apart between runs). */
function registrations(target: AdminTarget, ms: number, tag: string): Promise<number> {
  return rate(64, ms, (w, k) => admin(target, "PUT", `/v1/services/reg-${tag}-${w}/instances/i-${k}`, { address: `12.${w}.${(k >> 8) & 255}.${k & 255}`, port: 7000 }));
}

async function heartbeats(target: AdminTarget, ms: number): Promise<number> {
  for (let w = 0; w < 64; w++) await admin(target, "PUT", `/v1/services/ttl-${w}/instances/t-0`, { address: `13.0.0.${w + 1}`, port: 7000, ttlMs: 60_000 });
  return rate(64, ms, (w) => admin(target, "PUT", `/v1/services/ttl-${w}/instances/t-0/heartbeat`));
}

/** 16 writers mixing registrations, deregistrations and health flips, and a /healthz probe every 10 ms; the slowest answer and the child's longest stall. */
async function stall(server: ServerChild, ms: number, services: number): Promise<{ loopMaxMs: number; probeMaxMs: number; writes: number }> {
  await server.call("usageReset");
  let stop = false;
  let probeMaxMs = 0;
  const probe = (async () => {
    while (!stop) {
      const t = performance.now();
      await admin(server, "GET", "/healthz");
      probeMaxMs = Math.max(probeMaxMs, performance.now() - t);
      await sleep(10);
    }
  })();
  const writes = await rate(16, ms, async (w, k) => {
    const s = (w * 7919 + k * 104_729) % services;
    const service = `svc-${s}`;
    switch (k % 3) {
      case 0:
        return admin(server, "PUT", `/v1/services/${service}/instances/mix-${w}-${k}`, { address: `14.${w}.${(k >> 8) & 255}.${k & 255}`, port: 7100 });
      case 1:
        return admin(server, "DELETE", `/v1/services/${service}/instances/mix-${w}-${k - 1}`);
      default:
        return admin(server, "PUT", `/v1/services/${service}/instances/i-${k % 10}`, { ...instanceBody(s, k % 10), health: k % 2 === 0 ? "unhealthy" : "healthy" });
    }
  });
  stop = true;
  await probe;
  const usage = await server.call<Usage>("usage");
  return { loopMaxMs: usage.loopMaxMs, probeMaxMs, writes: writes * (ms / 1000) };
}

/** CPU ms and disk bytes per one-instance change, over `count` changes each waited out. */
async function perChange(server: ServerChild, count: number, gapMs = 20): Promise<{ cpuMs: number; diskBytes: number }> {
  await server.call("settled");
  const before = await server.call<Usage>("usage");
  const diskBefore = dirBytes(server.dataDir);
  for (let k = 0; k < count; k++) {
    await changeEndpoint(server, 100 + k);
    // Past the quiet period, so each change is its own generation.
    await sleep(gapMs);
    await server.call("settled");
  }
  await sleep(200);
  await server.call("settled");
  const after = await server.call<Usage>("usage");
  const cpuMs = (after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system) / 1000 / count;
  return { cpuMs, diskBytes: (dirBytes(server.dataDir) - diskBefore) / count };
}

interface SizeResult {
  readonly services: number;
  readonly endpoints: number;
  readonly fleet: FleetRun;
  readonly cpuMs: number;
  readonly diskBytes: number;
  readonly stall: { loopMaxMs: number; probeMaxMs: number; writes: number };
  readonly registrationsPerSecond: number;
  readonly heartbeatsPerSecond: number;
  readonly bigChange: { cpuMs: number };
  readonly coldStartMs: number;
  /** serve spawned on the data dir until a wildcard Delta client has every EDS resource; undefined when it failed (see notes). */
  readonly clientColdStart?: ColdStart;
}

/** One-instance generations whose disk growth is averaged (quick: 10). */
const DISK_CHANGES = 50;

/** registry.db with its WAL; measured after a graceful stop, which checkpoints the WAL into the file. */
function dbBytes(dir: string): number {
  return ["registry.db", "registry.db-wal"].reduce((sum, name) => sum + (existsSync(join(dir, name)) ? statSync(join(dir, name)).size : 0), 0);
}

/** CPU ms per change to the big service's instances, over `count` changes each waited out. */
async function bigChanges(server: ServerChild, count: number): Promise<{ cpuMs: number }> {
  await server.call("settled");
  const before = await server.call<Usage>("usage");
  for (let k = 0; k < count; k++) {
    await admin(server, "PUT", `/v1/services/big/instances/b-${k}`, { address: `11.0.${(k >> 8) & 255}.${k & 255}`, port: 9090, weight: 2 + k });
    await sleep(20);
    await server.call("settled");
  }
  const after = await server.call<Usage>("usage");
  return { cpuMs: (after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system) / 1000 / count };
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

export const scale: BenchSection = async ({ quick, log }) => {
  // Quick is a smoke test of every step (npm test runs it): two small sizes, short windows.
  const sizes = quick ? [20, 50] : [1000, 10_000];
  const big = quick ? 1000 : 20_000;
  const clients = quick ? 20 : 1000;
  const mixMs = quick ? 1000 : 30_000;
  const rateMs = quick ? 500 : 5000;
  const diskChanges = quick ? 10 : DISK_CHANGES;
  const notes: string[] = [];
  const results: SizeResult[] = [];
  for (const services of sizes) {
    const endpoints = services * 10;
    const tag = `${endpoints} endpoints`;
    let onFleet: { cpuMs: number; bigChange: { cpuMs: number } } | undefined;
    // 1. Propagation, CPU per change, RSS: 0 ms quiet period, so each change is timed alone.
    const fleet = await runFleet(clients, { sizes: [clients], services, perService: 10, rounds: quick ? 1 : 3, namesPerClient: 10, big }, (line) => log(`${tag}: ${line}`), async (server) => {
      const change = await perChange(server, quick ? 5 : 20);
      const bigChange = await bigChanges(server, quick ? 2 : 5);
      log(`${tag}: ${round(change.cpuMs)} ms CPU per one-instance change; ${round(bigChange.cpuMs)} ms per change to the ${big}-instance service`);
      onFleet = { cpuMs: change.cpuMs, bigChange };
      return onFleet;
    });
    if (!onFleet) throw new Error("the measurements on the fleet's server did not run");
    // 2. Production settings (100 ms quiet period): mixed writes, registrations, heartbeats; then a restart and 50 changes for the disk.
    const dir = mkdtempSync(join(tmpdir(), "steadymesh-bench-scale-"));
    try {
      const prod = await startServerChild(services, 10, [], { big, pushMinDelayMs: 100, dataDir: dir, seed: true });
      let mixed: SizeResult["stall"];
      let registrationsPerSecond = 0;
      let heartbeatsPerSecond = 0;
      try {
        mixed = await stall(prod, mixMs, services);
        log(`${tag}: ${Math.round(mixed.writes)} mixed writes in ${mixMs / 1000} s: longest event-loop stall ${round(mixed.loopMaxMs)} ms, slowest /healthz ${round(mixed.probeMaxMs)} ms`);
        registrationsPerSecond = await registrations(prod, rateMs, "large");
        heartbeatsPerSecond = await heartbeats(prod, rateMs);
        log(`${tag}: ${Math.round(registrationsPerSecond)} registrations/s, ${Math.round(heartbeatsPerSecond)} heartbeats/s (64 writers)`);
      } finally {
        await stopServerChild(prod);
      }
      const before = dbBytes(dir);
      const restarted = await startServerChild(services, 10, [], { pushMinDelayMs: 100, dataDir: dir });
      const coldStartMs = restarted.startMs;
      try {
        await perChange(restarted, diskChanges, 120);
      } finally {
        await stopServerChild(restarted);
      }
      const diskBytes = (dbBytes(dir) - before) / diskChanges;
      log(`${tag}: cold start ${Math.round(coldStartMs)} ms; registry.db grew ${Math.round(diskBytes)} B per one-instance generation over ${diskChanges}`);
      // 3. As a client sees it: the CLI spawned on the same data dir (the registry, the writes above, the generations) until a wildcard Delta EDS client has everything.
      let clientColdStart: ColdStart | undefined;
      try {
        clientColdStart = await coldStart(dir, await servicesWithInstances(dir), quick ? 60_000 : 300_000);
        log(`${tag}: serve spawned (${clientColdStart.runner}): listening after ${Math.round(clientColdStart.listeningMs)} ms, a wildcard Delta client had all ${clientColdStart.resources} EDS resources (${clientColdStart.bytes} B) after ${Math.round(clientColdStart.fullAnswerMs)} ms`);
      } catch (err) {
        notes.push(`${tag}: cold start with a client failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      results.push({ services, endpoints, fleet, cpuMs: onFleet.cpuMs, bigChange: onFleet.bigChange, stall: mixed, registrationsPerSecond, heartbeatsPerSecond, diskBytes, coldStartMs, ...(clientColdStart && { clientColdStart }) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  // Baselines on an empty registry: registrations and heartbeats per second, sqlite; then etcd, empty and the larger size.
  const empty = await startServerChild(0, 0, [], { pushMinDelayMs: 100 });
  const { emptyRegistrations, emptyHeartbeats } = await (async () => {
    try {
      const found = { emptyRegistrations: await registrations(empty, rateMs, "empty"), emptyHeartbeats: await heartbeats(empty, rateMs) };
      log(`empty registry: ${Math.round(found.emptyRegistrations)} registrations/s, ${Math.round(found.emptyHeartbeats)} heartbeats/s`);
      return found;
    } finally {
      await stopServerChild(empty);
    }
  })();
  const etcdRates: { empty?: number; loaded?: number } = {};
  if (existsSync("/usr/bin/etcd")) {
    const etcd = await startEtcd();
    // The first child on this etcd makes the operator token; the next one finds tokens and writes none, so it takes the first's.
    let etcdToken: string | undefined;
    try {
      for (const [label, services] of [["empty", 0], ["loaded", sizes.at(-1)!]] as const) {
        const server = await startServerChild(services, 10, [], { store: etcd.spec, pushMinDelayMs: 100, ...(services > 0 && { big }) });
        try {
          if (services > 0) log(`etcd, ${services * 10} endpoints + big: seeded in ${Math.round(server.seedMs)} ms, started in ${Math.round(server.startMs)} ms`);
          etcdRates[label] = await registrations({ adminPort: server.adminPort, adminToken: (etcdToken ??= server.adminToken) }, rateMs, `etcd-${label}`);
          log(`etcd, ${services * 10} endpoints: ${Math.round(etcdRates[label]!)} registrations/s`);
        } finally {
          await stopServerChild(server);
        }
      }
    } catch (err) {
      notes.push(`etcd registrations not measured: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await etcd.stop();
    }
  } else {
    notes.push("etcd registrations not measured: /usr/bin/etcd is missing (apt-get install etcd-server)");
  }

  const [small, large] = results as [SizeResult, SizeResult];
  const rows: BenchRow[] = [];
  for (const r of results) {
    const label = `${r.endpoints.toLocaleString("en")} endpoints`;
    const p99 = r.fleet.change.p99;
    const floor = r.fleet.bound.p99;
    rows.push({ metric: `propagation p50 @ ${clients} Delta clients, ${label}`, value: r.fleet.change.p50, unit: "ms", baseline: { name: "floor (same bytes, N writes)", value: r.fleet.bound.p50 } });
    rows.push({ metric: `propagation p99 @ ${clients} Delta clients, ${label}`, value: p99, unit: "ms", baseline: { name: "floor (same bytes, N writes)", value: floor }, goal: "≤ 2× floor", met: r.fleet.change.missing === 0 && p99 <= 2 * floor });
  }
  rows.push({ metric: `propagation p99, ${large.endpoints.toLocaleString("en")} vs ${small.endpoints.toLocaleString("en")} endpoints`, value: round(large.fleet.change.p99 / small.fleet.change.p99, 2), unit: "×", goal: "≤ 1.2×", met: large.fleet.change.p99 <= 1.2 * small.fleet.change.p99 });
  rows.push({ metric: `server CPU per one-instance change, ${large.endpoints.toLocaleString("en")} endpoints`, value: round(large.cpuMs, 2), unit: "ms", baseline: { name: `${small.endpoints.toLocaleString("en")} endpoints`, value: round(small.cpuMs, 2) } });
  rows.push({ metric: `server CPU per change to the ${big.toLocaleString("en")}-instance service`, value: round(large.bigChange.cpuMs, 1), unit: "ms", baseline: { name: "one-instance change elsewhere", value: round(large.cpuMs, 2) } });
  rows.push({ metric: `longest event-loop stall, ${mixMs / 1000} s of mixed writes, ${large.endpoints.toLocaleString("en")} endpoints`, value: round(large.stall.loopMaxMs), unit: "ms", baseline: { name: `${small.endpoints.toLocaleString("en")} endpoints`, value: round(small.stall.loopMaxMs) }, goal: "≤ 50 ms", met: large.stall.loopMaxMs <= 50 });
  rows.push({ metric: `slowest GET /healthz during the mixed writes, ${large.endpoints.toLocaleString("en")} endpoints`, value: round(large.stall.probeMaxMs), unit: "ms", baseline: { name: `${small.endpoints.toLocaleString("en")} endpoints`, value: round(small.stall.probeMaxMs) } });
  rows.push({ metric: `sqlite registrations/s (64 writers), ${large.endpoints.toLocaleString("en")} endpoints`, value: Math.round(large.registrationsPerSecond), unit: "reg/s", baseline: { name: "empty registry", value: Math.round(emptyRegistrations) }, goal: "≥ 10,000/s and ≥ 90% of empty", met: large.registrationsPerSecond >= 10_000 && large.registrationsPerSecond >= 0.9 * emptyRegistrations });
  if (etcdRates.empty !== undefined && etcdRates.loaded !== undefined) {
    rows.push({ metric: `etcd registrations/s (64 writers), ${large.endpoints.toLocaleString("en")} endpoints`, value: Math.round(etcdRates.loaded), unit: "reg/s", baseline: { name: "empty registry", value: Math.round(etcdRates.empty) }, goal: "≥ 3,000/s and ≥ 90% of empty", met: etcdRates.loaded >= 3000 && etcdRates.loaded >= 0.9 * etcdRates.empty });
  }
  rows.push({ metric: `heartbeats/s (64 writers), ${large.endpoints.toLocaleString("en")} endpoints`, value: Math.round(large.heartbeatsPerSecond), unit: "rps", baseline: { name: "empty registry", value: Math.round(emptyHeartbeats) } });
  rows.push({ metric: `cold start (restart on the data dir) to listening with the first generation restored, ${large.endpoints.toLocaleString("en")} endpoints`, value: Math.round(large.coldStartMs), unit: "ms", baseline: { name: `${small.endpoints.toLocaleString("en")} endpoints`, value: Math.round(small.coldStartMs) }, goal: "≤ 5,000 ms", met: large.coldStartMs <= 5000 });
  const clientCold = (r: SizeResult) => (r.clientColdStart ? Math.round(r.clientColdStart.fullAnswerMs) : "n/a");
  const largeCold = clientCold(large);
  rows.push({
    metric: `cold start (serve spawned on the data dir) to a wildcard Delta client's full EDS answer, ${large.endpoints.toLocaleString("en")} endpoints`,
    value: largeCold,
    unit: "ms",
    baseline: { name: `${small.endpoints.toLocaleString("en")} endpoints`, value: clientCold(small) },
    goal: "≤ 5,000 ms",
    ...(largeCold !== "n/a" && { met: largeCold <= 5000 }),
  });
  rows.push({ metric: `RSS with ${large.endpoints.toLocaleString("en")} endpoints and ${clients} clients`, value: Math.round(large.fleet.memory.idleN.rss / 1024 / 1024), unit: "MB", baseline: { name: "same server, no clients", value: Math.round(large.fleet.memory.idle0.rss / 1024 / 1024) }, goal: "≤ 1,024 MB", met: large.fleet.memory.idleN.rss <= 1024 ** 3 });
  rows.push({ metric: `disk per one-instance generation, ${large.endpoints.toLocaleString("en")} endpoints`, value: Math.round(large.diskBytes), unit: "B", baseline: { name: `${small.endpoints.toLocaleString("en")} endpoints`, value: Math.round(small.diskBytes) }, goal: "≤ 10 KB", met: large.diskBytes <= 10_240 });
  notes.push(`each registry also holds one service with ${big.toLocaleString("en")} instances; propagation and CPU per change run with a 0 ms push quiet period (each change timed alone), the mixed writes, registrations, heartbeats and disk with the production 100 ms; cold start is a restart on the seeded data dir until the server listens with the first generation built and restored (the first xDS answer is served from the cache from then on), and, as a client sees it, \`steadymesh serve\` spawned (the built CLI when dist/ is newer than src/, else the sources through tsx, whose module loading is then in the figure: see details.results[].clientColdStart.runner) on the same data dir after all the writes until a wildcard Delta EDS client has every service's endpoints; disk growth is registry.db and its WAL after graceful stops (which checkpoint), over ${diskChanges} one-instance generations`);
  return {
    name: "scale",
    rows,
    details: { results, emptyRegistrations, emptyHeartbeats, etcdRates, clients, big, mixMs, rateMs },
    notes,
  };
};
