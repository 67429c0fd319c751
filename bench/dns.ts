/**
 * `dns`: queries per second from steadymesh's DNS server (a `serve` child
 * with 100 services × 10 instances registered through the admin API) and
 * from Debian's bind9 `named` serving the same records from a zone file,
 * both on loopback and started here. Before measuring, one A and one SRV
 * query to each must give the same answers. Both get the same load: dnsperf
 * (UDP, EDNS0, the same query file of A and SRV questions, same clients and
 * outstanding queries) for a fixed time, or the built-in UDP generator of
 * bench/dns-load.ts when dnsperf is missing. Goal: ≥ 50% of bind9's qps.
 */
import { execFile } from "node:child_process";
import { access, constants, mkdir, writeFile } from "node:fs/promises";
import { Agent } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { startServeProcess, type ServeProcess } from "../test/helpers/serve-process.js";
import { put } from "./admin-http.js";
import { queryOnce, udpLoad, type DnsQuestion } from "./dns-load.js";
import { namedPresent, startNamed, type NamedProcess, type ZoneInstance } from "./named.js";
import type { BenchContext, BenchSection } from "./section.js";

const DNSPERF = "/usr/bin/dnsperf";
const DOMAIN = "mesh";
const TTL = 5;
const SERVICES = 100;
const INSTANCES = 10;
/** Queries in flight, for dnsperf (-q) and the built-in generator alike. */
const OUTSTANDING = 100;
const GOAL_SHARE = 0.5;

const run = promisify(execFile);

function instances(): ZoneInstance[] {
  return Array.from({ length: SERVICES * INSTANCES }, (_, n) => {
    const s = Math.floor(n / INSTANCES);
    const i = n % INSTANCES;
    return { service: `svc-${s}`, id: `i-${i}`, address: `10.1.${s}.${i + 1}`, port: 9000 + i, weight: 1 };
  });
}

function questions(): DnsQuestion[] {
  return Array.from({ length: SERVICES }, (_, s) => [
    { name: `svc-${s}.service.${DOMAIN}`, type: "A" as const },
    { name: `_svc-${s}._tcp.service.${DOMAIN}`, type: "SRV" as const },
  ]).flat();
}

async function register(serve: ServeProcess, all: readonly ZoneInstance[]): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  try {
    let next = 0;
    const worker = async () => {
      while (next < all.length) {
        const i = all[next++]!;
        await put(agent, serve, `/v1/services/${i.service}/instances/${i.id}`, { address: i.address, port: i.port, weight: i.weight, zone: "z1", region: "r1", health: "healthy" });
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  } finally {
    agent.destroy();
  }
}

/** A comparable form of an answer section: sorted `name type ttl data` lines. */
function canonical(answers: readonly { name: string; type: string; ttl?: number; data?: unknown }[]): string[] {
  return answers.map((a) => `${a.name.toLowerCase()} ${a.type} ${a.ttl} ${JSON.stringify(a.data)}`).sort();
}

/** Throws unless both servers give the same A and SRV answers (and glue) for the last service. */
async function checkSameAnswers(ourPort: number, namedPort: number | undefined, log: (line: string) => void): Promise<void> {
  const probes = questions().slice(-2);
  for (const q of probes) {
    // The registry is live, but give the DNS server a moment in case the last PUT is still being applied.
    let ours = await queryOnce(ourPort, q);
    for (let tries = 0; ours.answers.length < INSTANCES && tries < 20; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ours = await queryOnce(ourPort, q);
    }
    if (ours.answers.length !== INSTANCES) throw new Error(`steadymesh answered ${q.name} ${q.type} with ${ours.answers.length} records, expected ${INSTANCES}`);
    if (namedPort === undefined) continue;
    const theirs = await queryOnce(namedPort, q);
    const [a, b] = [canonical(ours.answers), canonical(theirs.answers)];
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`answers differ for ${q.name} ${q.type}:\n steadymesh ${a.join("; ")}\n bind9 ${b.join("; ")}`);
    const [ga, gb] = [canonical(ours.additionals), canonical(theirs.additionals)];
    if (JSON.stringify(ga) !== JSON.stringify(gb)) throw new Error(`additional sections differ for ${q.name} ${q.type}:\n steadymesh ${ga.join("; ")}\n bind9 ${gb.join("; ")}`);
  }
  log(`answers checked: steadymesh${namedPort === undefined ? "" : " and bind9"} give ${INSTANCES} A and ${INSTANCES} SRV (with glue) for ${probes[0]!.name}`);
}

interface LoadFigures {
  readonly qps: number;
  readonly lost: number;
  readonly sent: number;
}

async function dnsperf(queryFile: string, port: number, seconds: number): Promise<LoadFigures> {
  const { stdout } = await run(DNSPERF, ["-s", "127.0.0.1", "-p", String(port), "-d", queryFile, "-l", String(seconds), "-c", "4", "-q", String(OUTSTANDING), "-e", "-t", "1"], { maxBuffer: 1 << 20 });
  const qps = /Queries per second:\s+([\d.]+)/.exec(stdout);
  const sent = /Queries sent:\s+(\d+)/.exec(stdout);
  const lost = /Queries lost:\s+(\d+)/.exec(stdout);
  if (!qps) throw new Error(`dnsperf printed no "Queries per second": ${stdout.slice(-1000)}`);
  return { qps: Number(qps[1]), sent: Number(sent?.[1] ?? 0), lost: Number(lost?.[1] ?? 0) };
}

async function dnsperfPresent(): Promise<boolean> {
  try {
    await access(DNSPERF, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function measure(context: BenchContext, tool: "dnsperf" | "built-in", queryFile: string, all: readonly DnsQuestion[], port: number): Promise<LoadFigures> {
  const seconds = context.quick ? 2 : 10;
  if (tool === "dnsperf") return dnsperf(queryFile, port, seconds);
  const r = await udpLoad(port, all, OUTSTANDING, seconds * 1000);
  return { qps: r.qps, sent: r.sent, lost: r.lost };
}

export const dns: BenchSection = async (context) => {
  const notes: string[] = [];
  const all = instances();
  const qs = questions();
  const tool = (await dnsperfPresent()) ? "dnsperf" : "built-in";
  const withNamed = await namedPresent();
  if (tool === "built-in") notes.push(`dnsperf is missing (apt-get install dnsperf): both servers measured with the built-in UDP generator (${OUTSTANDING} outstanding)`);
  else notes.push(`dnsperf -c 4 -q ${OUTSTANDING} -e, ${context.quick ? 2 : 10} s per server; queries: A and SRV for each of ${SERVICES} services (${INSTANCES} instances each, SRV with glue)`);
  if (withNamed) notes.push("named runs with its default worker threads (one per core); steadymesh answers on one Node event loop; the load tool shares the same cores");
  else notes.push("bind9 skipped: /usr/sbin/named is missing (apt-get install bind9)");
  const queryFile = join(context.tmpDir, "queries.txt");
  await writeFile(queryFile, qs.map((q) => `${q.name} ${q.type}`).join("\n") + "\n");
  let serve: ServeProcess | undefined;
  let named: NamedProcess | undefined;
  try {
    const namedDir = join(context.tmpDir, "named");
    await mkdir(namedDir);
    const [serveStarted, namedStarted] = await Promise.allSettled([
      startServeProcess(["--store", "memory", "--dns-domain", DOMAIN, "--dns-ttl", String(TTL), "--data-dir", join(context.tmpDir, "serve")]),
      withNamed ? startNamed(namedDir, DOMAIN, TTL, all) : Promise.resolve(undefined),
    ]);
    if (serveStarted.status === "fulfilled") serve = serveStarted.value;
    if (namedStarted.status === "fulfilled") named = namedStarted.value;
    if (serveStarted.status === "rejected") throw serveStarted.reason;
    if (namedStarted.status === "rejected") throw namedStarted.reason;
    await register(serve!, all);
    context.log(`registered ${all.length} instances; named ${named ? `on port ${named.port}` : "not started"}`);
    await checkSameAnswers(serve!.dnsPort, named?.port, context.log);
    const ours = await measure(context, tool, queryFile, qs, serve!.dnsPort);
    context.log(`steadymesh: ${ours.qps.toFixed(0)} qps (${ours.lost} lost of ${ours.sent})`);
    const theirs = named ? await measure(context, tool, queryFile, qs, named.port) : undefined;
    if (theirs) context.log(`bind9: ${theirs.qps.toFixed(0)} qps (${theirs.lost} lost of ${theirs.sent})`);
    const met = theirs ? ours.qps >= GOAL_SHARE * theirs.qps : undefined;
    return {
      name: "dns",
      rows: [
        {
          metric: `queries/s, A+SRV, ${SERVICES}×${INSTANCES} instances`,
          value: ours.qps,
          unit: "qps",
          baseline: { name: "bind9", value: theirs?.qps ?? "n/a" },
          goal: "≥ 50% of bind9",
          ...(met !== undefined && { met }),
        },
      ],
      details: { tool, outstanding: OUTSTANDING, services: SERVICES, instancesPerService: INSTANCES, ttl: TTL, steadymesh: ours, bind9: theirs ?? "n/a" },
      notes,
    };
  } finally {
    await Promise.all([serve?.stop(), named?.stop()]);
  }
};
