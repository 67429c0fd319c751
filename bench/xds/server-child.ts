/**
 * The bench's control plane, in its own process (spawned by fleet.ts with
 * --expose-gc): the real steadymesh server (startServer: registry → snapshot
 * builder → push guard → snapshot cache → xDS server), on a sqlite store (the
 * production default) seeded before start with `services` × `perService`
 * instances and `big` more in one service (by an earlier run of this file with `seedOnly`, through the
 * Store API in batches, see seed.ts, so the server process starts clean, as after a restart), loopback ports picked by the OS, silent logger, and a push quiet
 * period of 0 ms (production: 100 ms). argv[2] is a JSON config.
 *
 * Commands from the parent (ipc.ts):
 * - memory    → process.memoryUsage() after two full GCs;
 * - broadcast → the lower bound: re-encodes a Delta response the parent
 *               captured (the real update, a new nonce) once, then, from t0,
 *               writes those bytes to every open Delta stream
 *               (broadcastEncoded of broadcast.ts, the server's stream gate); returns t0 and the count;
 * - profileStart / profileStop {file} → a V8 CPU profile of a window (inspector);
 * - usage     → CPU time used so far, memory (no GC), and the longest event-loop stall since usageReset;
 * - stop      → closes the server and exits.
 * The change itself is made by the parent through the admin API (the real
 * write path), so nothing else runs in this event loop while it propagates.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createSilentLogger } from "../../src/log/index.js";
import { loadCodec } from "../../src/proto/index.js";
import { startServer, SERVE_DEFAULTS } from "../../src/server/index.js";
import { createDeltaBroadcast } from "./broadcast.js";
import { serveParent, tellParent, wallNow } from "./ipc.js";
import { seedStore } from "./seed.js";

export interface ServerChildConfig {
  readonly services: number;
  readonly perService: number;
  /** An empty directory for the sqlite store; the parent removes it. */
  readonly dataDir: string;
  /** Only seed the store and exit (so the server process starts clean, as after a restart). */
  readonly seedOnly?: boolean;
  /** One more service, `big`, with this many instances (the scale bench). */
  readonly big?: number;
  /** `sqlite` (default) or an `etcd://…` spec. */
  readonly store?: string;
  /** The push quiet period; 0 by default (production: 100 ms). */
  readonly pushMinDelayMs?: number;
}

/** Writes the registry into a fresh store through the Store API in batches (seed.ts), then tells the parent. */
async function seed(config: ServerChildConfig): Promise<void> {
  const { seedMs, commits } = await seedStore(config.store ?? "sqlite", config.dataDir, config);
  tellParent({ seeded: true, seedMs, commits });
  process.disconnect();
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as ServerChildConfig;
  const logger = createSilentLogger();
  const { dataDir } = config;
  if (config.seedOnly) {
    await seed(config);
    return;
  }
  const startMs = performance.now();
  const broadcast = createDeltaBroadcast();
  const server = await startServer({
    ...SERVE_DEFAULTS,
    store: config.store ?? "sqlite",
    dataDir,
    xdsPort: 0,
    adminPort: 0,
    dnsPort: 0,
    pushMinDelayMs: config.pushMinDelayMs ?? 0,
    streamGate: broadcast,
    logger,
  });
  await server.guard.settled();
  const codec = loadCodec();
  // The longest event-loop stall since the last `usageReset`, sampled every 10 ms (as prom-client's lag metrics are).
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let profiler: Session | undefined;
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => profiler!.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))));
  serveParent(async (cmd, args) => {
    switch (cmd) {
      case "memory": {
        const gc = (globalThis as { gc?: () => void }).gc;
        gc?.();
        gc?.();
        return process.memoryUsage();
      }
      case "broadcast": {
        const { response, nonce } = args as { response: Uint8Array; nonce: string };
        const decoded = codec.decodeDeltaDiscoveryResponse(Buffer.from(response));
        const bytes = codec.encodeDeltaDiscoveryResponse({ ...decoded, nonce });
        const t0 = wallNow();
        const streams = broadcast.broadcastEncoded(bytes);
        return { t0, streams, bytes: bytes.length };
      }
      case "profileStart":
        profiler ??= new Session();
        profiler.connect();
        await post("Profiler.enable");
        await post("Profiler.setSamplingInterval", { interval: 200 });
        await post("Profiler.start");
        return true;
      case "profileStop": {
        const { profile } = (await post("Profiler.stop")) as { profile: unknown };
        profiler?.disconnect();
        writeFileSync((args as { file: string }).file, JSON.stringify(profile));
        return (args as { file: string }).file;
      }
      case "usage":
        return { cpu: process.cpuUsage(), memory: process.memoryUsage(), loopMaxMs: loop.max / 1e6 };
      case "usageReset":
        loop.reset();
        return true;
      case "settled":
        await server.guard.settled();
        return true;
      case "stop":
        await server.close();
        setImmediate(() => process.exit(0));
        return true;
      default:
        throw new Error(`unknown command ${cmd}`);
    }
  });
  // Absent when the store already had tokens (a second child on one etcd): the parent keeps the first one's.
  const tokenFile = join(dataDir, "admin-token");
  const adminToken = existsSync(tokenFile) ? readFileSync(tokenFile, "utf8").trim() : undefined;
  tellParent({ ready: true, xdsPort: server.xds.port, adminPort: server.admin.port, adminToken, startMs: performance.now() - startMs, pid: process.pid });
}

await main();
