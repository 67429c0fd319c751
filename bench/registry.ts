/**
 * `registry`: instance registrations per second through the admin API
 * (`PUT /v1/services/{s}/instances/{id}`, each a new instance spread over
 * 100 services) against a real `steadymesh serve` child process, with 16
 * requests in flight on keep-alive connections for a fixed time. Measured
 * with the sqlite store (the default), and with etcd (one member on
 * loopback) when /usr/bin/etcd exists; the baseline is the memory store,
 * which has no persistence cost. The load generator runs in the bench's own
 * process, so on a small machine it shares the cores with the server.
 */
import { access, constants } from "node:fs/promises";
import { Agent } from "node:http";
import { join } from "node:path";
import { ETCD_BINARY, startEtcd, type EtcdCluster } from "../test/helpers/etcd.js";
import { startServeProcess, type ServeProcess } from "../test/helpers/serve-process.js";
import { put } from "./admin-http.js";
import { closedLoop, type LoadResult } from "./load.js";
import type { BenchContext, BenchRow, BenchSection } from "./section.js";

const CONCURRENCY = 16;
const SERVICES = 100;

/** Where the warm-up's addresses start, so that none is the address of a measured instance (that would be a 409). */
const WARM_UP_ADDRESSES = 1 << 23;

/** Instance `seq` of a phase: a unique id and address (`first` + seq), in one of SERVICES services. */
function registration(seq: number, prefix: string, first = 0): { path: string; body: unknown } {
  const service = `svc-${seq % SERVICES}`;
  const id = `${prefix}-${seq}`;
  const n = first + seq;
  const address = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  return { path: `/v1/services/${service}/instances/${id}`, body: { address, port: 8080, zone: "z1", region: "r1", weight: 1, health: "healthy" } };
}

/** Registrations per second against `serve` (fresh, started with one store), after a short warm-up; stops it afterwards. */
async function measureStore(context: BenchContext, label: string, serve: ServeProcess): Promise<LoadResult> {
  const durationMs = context.quick ? 1000 : 10_000;
  const warmupMs = context.quick ? 200 : 1000;
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const warm = await closedLoop(CONCURRENCY, warmupMs, (seq) => {
      const r = registration(seq, "warm", WARM_UP_ADDRESSES);
      return put(agent, serve, r.path, r.body);
    });
    if (warm.ok === 0) throw new Error(`${label}: no registration succeeded in the warm-up: ${warm.firstError}`);
    const result = await closedLoop(CONCURRENCY, durationMs, (seq) => {
      const r = registration(seq, "i");
      return put(agent, serve, r.path, r.body);
    });
    context.log(`${label}: ${result.ok} registrations in ${(result.elapsedMs / 1000).toFixed(1)} s = ${result.rate.toFixed(0)} reg/s (${result.failed} failed)`);
    if (result.failed > 0) throw new Error(`${label}: ${result.failed} registrations failed, first: ${result.firstError}`);
    return result;
  } finally {
    agent.destroy();
    await serve.stop();
  }
}

async function etcdPresent(): Promise<boolean> {
  try {
    await access(ETCD_BINARY, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const registry: BenchSection = async (context) => {
  const notes: string[] = [
    `${CONCURRENCY} PUTs in flight on keep-alive connections, ${context.quick ? "1" : "10"} s per store after a warm-up; new instances over ${SERVICES} services; one store measured at a time`,
  ];
  const withEtcd = await etcdPresent();
  if (!withEtcd) notes.push(`etcd skipped: ${ETCD_BINARY} is missing (apt-get install etcd-server)`);
  const serves: Promise<ServeProcess>[] = [];
  let etcd: EtcdCluster | undefined;
  try {
    // Every server starts at once (starting takes seconds); each is measured alone and stopped before the next.
    const start = (label: string, storeArgs: readonly string[]) => {
      const serve = startServeProcess(["--data-dir", join(context.tmpDir, label), ...storeArgs]);
      serves.push(serve);
      return serve;
    };
    const memoryServe = start("memory", ["--store", "memory"]);
    const sqliteServe = start("sqlite", ["--store", "sqlite"]);
    const etcdServe = withEtcd ? startEtcd({ members: 1 }).then((cluster) => ((etcd = cluster), start("etcd", ["--store", cluster.spec]))) : undefined;
    await Promise.allSettled([memoryServe, sqliteServe, etcdServe]);
    const memory = await measureStore(context, "memory", await memoryServe);
    const sqlite = await measureStore(context, "sqlite", await sqliteServe);
    const baseline = { name: "memory", value: memory.rate };
    const rows: BenchRow[] = [
      { metric: "registrations, memory store", value: memory.rate, unit: "reg/s" },
      { metric: "registrations, sqlite store", value: sqlite.rate, unit: "reg/s", baseline },
    ];
    const details: Record<string, unknown> = { concurrency: CONCURRENCY, services: SERVICES, memory, sqlite };
    if (etcdServe) {
      const result = await measureStore(context, "etcd", await etcdServe);
      rows.push({ metric: "registrations, etcd store (1 member)", value: result.rate, unit: "reg/s", baseline });
      details.etcd = result;
    } else {
      rows.push({ metric: "registrations, etcd store", value: "n/a", unit: "reg/s", baseline });
    }
    return { name: "registry", rows, details, notes };
  } finally {
    const started = await Promise.allSettled(serves);
    await Promise.all(started.map((s) => (s.status === "fulfilled" ? s.value.stop() : undefined)));
    await etcd?.stop();
  }
};
