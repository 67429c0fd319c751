/**
 * Cold start as a client sees it: `steadymesh serve` (the built CLI,
 * bin/steadymesh.js, when dist/ is newer than every source file, as after
 * `npm ci`; else from source through tsx) spawned on a data dir that already holds a registry, timed
 * from the spawn until one Delta client, connected as soon as the xDS port
 * is printed, has every ClusterLoadAssignment of its wildcard subscription
 * (one per service with instances).
 */
import * as grpc from "@grpc/grpc-js";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createSilentLogger } from "../../src/log/index.js";
import { createAdsServiceDefinition, loadCodec } from "../../src/proto/index.js";
import { openStore } from "../../src/registry/index.js";
import { spawnCli } from "../../test/helpers/serve-process.js";
import { EDS_TYPE } from "../xds/fleet.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The newest modification time of any file under `dir`. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** The built CLI when dist/ is at least as new as src/ (the compiled code is the code under test), else the sources through tsx. */
function spawnServe(args: readonly string[]): { child: ChildProcess; runner: "dist" | "tsx" } {
  const built = join(ROOT, "dist/cli/bin.js");
  if (existsSync(built) && newest(join(ROOT, "dist")) >= newest(join(ROOT, "src"))) {
    return { child: spawn(process.execPath, [join(ROOT, "bin/steadymesh.js"), ...args], { stdio: ["ignore", "pipe", "pipe"] }), runner: "dist" };
  }
  return { child: spawnCli(args), runner: "tsx" };
}

export interface ColdStart {
  /** Spawn until all three listener lines were printed. */
  readonly listeningMs: number;
  /** How serve ran: the built CLI, or the sources through tsx (whose module loading is in every figure). */
  readonly runner: "dist" | "tsx";
  /** Spawn until the client had every resource. */
  readonly fullAnswerMs: number;
  readonly resources: number;
  readonly responses: number;
  readonly bytes: number;
  /** The server's RSS right after the full answer. */
  readonly rssBytes: number;
}

/** Spawns serve on `dataDir` and times it until a wildcard Delta EDS client holds `expected` resources; stops serve. */
export async function coldStart(dataDir: string, expected: number, timeoutMs: number): Promise<ColdStart> {
  const codec = loadCodec();
  const t0 = performance.now();
  const { child, runner } = spawnServe(["serve", "--data-dir", dataDir, "--xds-port", "0", "--admin-port", "0", "--dns-port", "0"]);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let client: grpc.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no full answer within ${timeoutMs} ms; serve's stderr: ${stderr.slice(-500)}`)), timeoutMs);
      void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr.slice(-500)}`)));
    });
    failed.catch(() => undefined);
    const ports = new Map<string, number>();
    const listening = new Promise<number>((resolve) => {
      createInterface({ input: child.stdout! }).on("line", (line) => {
        const m = /^steadymesh: (xds|admin|dns) listening on .+:(\d+)$/.exec(line);
        if (m) ports.set(m[1]!, Number(m[2]));
        if (ports.size === 3) resolve(performance.now() - t0);
      });
    });
    const listeningMs = await Promise.race([listening, failed]);
    const base = createAdsServiceDefinition(codec);
    // Raw bytes in, so the answer's size is counted as sent; decoding is part of the client's time.
    const Client = grpc.makeGenericClientConstructor({ DeltaAggregatedResources: { ...base.DeltaAggregatedResources!, responseDeserialize: (b: Buffer) => b } }, "AggregatedDiscoveryService");
    client = new Client(`127.0.0.1:${ports.get("xds")}`, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": 512 * 1024 * 1024 });
    const call = (client as unknown as { DeltaAggregatedResources(): grpc.ClientDuplexStream<unknown, Buffer> }).DeltaAggregatedResources();
    const names = new Set<string>();
    let responses = 0;
    let bytes = 0;
    const full = new Promise<number>((resolve, reject) => {
      call.on("data", (raw: Buffer) => {
        responses++;
        bytes += raw.length;
        const response = codec.decodeDeltaDiscoveryResponse(raw);
        for (const r of response.resources) names.add(r.name);
        call.write({ type_url: EDS_TYPE, response_nonce: response.nonce });
        if (names.size >= expected) resolve(performance.now() - t0);
      });
      call.on("error", (err) => reject(err));
    });
    call.write({ node: { id: "bench-cold-start", cluster: "bench" }, type_url: EDS_TYPE, resource_names_subscribe: [] });
    const fullAnswerMs = await Promise.race([full, failed]);
    const rss = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? Number.NaN) * 1024;
    call.cancel();
    return { listeningMs, runner, fullAnswerMs, resources: names.size, responses, bytes, rssBytes: rss };
  } finally {
    clearTimeout(timer);
    client?.close();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    }
  }
}

/** Services with at least one instance in the sqlite store in `dataDir` (closed): the EDS resources a wildcard client gets. */
export async function servicesWithInstances(dataDir: string): Promise<number> {
  const store = await openStore("sqlite", { dataDir, logger: createSilentLogger() });
  try {
    return new Set((await store.load()).instances.map((i) => i.service)).size;
  } finally {
    await store.close();
  }
}
