import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnDemo, type DemoProcess, type DemoSpawnOptions } from "../../demo/index.js";
import type { Cohort, DiscoveryMode } from "../scenario/index.js";
import { buildBootstrap } from "../../xds/index.js";
import { MESH_LOOKUP_ENV } from "./mesh-lookup.js";
import type { StartGate } from "./start-gate.js";

/** How long a gateway is out of rotation before it is stopped. */
const DRAIN_MS = 500;

/** Where a gateway finds the control plane and DNS. */
export interface FleetEnvironment {
  readonly xdsPort: number;
  readonly dnsPort: number;
  readonly adminUrl: string;
  /** Per-run scratch folder (steady caches live here and survive gateway restarts). */
  readonly workDir: string;
  /** The fleet's first starts go through it, with the lab's other starts, so each is timed alone, not in a crowd. */
  readonly gate: StartGate;
  /** Starts a gateway process (default: spawnDemo); tests give a fake. */
  readonly spawn?: (kind: "gateway", options: DemoSpawnOptions) => Promise<DemoProcess>;
}

/** The gateways of one cohort. A gateway being restarted is not in `ready()`. */
export interface GatewayFleet {
  readonly cohort: string;
  /** The gateways' discovery modes, comma-separated, for logs. */
  discovery(): string;
  ready(): readonly DemoProcess[];
  /** Restarts gateway `slot` (cold start), in `to` discovery mode when given. */
  restart(slot: number, to?: DiscoveryMode): Promise<void>;
  size(): number;
  /** Restarts so far (each is a cold start of its resolver). */
  restarts(): number;
  /**
   * When `gateway` (one of this fleet's) was started, epoch ms: the moment its
   * process was spawned, which the scenario's timeline decides, not the moment
   * it became ready, which the machine's load decides. Undefined for a gateway
   * it does not know.
   */
  upAt(gateway: DemoProcess): number | undefined;
  /** When each gateway process this fleet started was started, epoch ms, in order. */
  ups(): readonly number[];
  stop(): Promise<void>;
}

/** The flags a gateway of `mode` is started with: the only place a cohort's discovery becomes a process. */
export function gatewayOptions(mode: DiscoveryMode, id: string, env: FleetEnvironment): DemoSpawnOptions {
  const xds = [`127.0.0.1:${env.xdsPort}`];
  const dns = { dnsServer: `127.0.0.1:${env.dnsPort}`, dnsDomain: "mesh" };
  const base = { id, admin: env.adminUrl, deadlineMs: 1000 };
  switch (mode) {
    case "xds-default":
    case "xds-remediated":
      return { ...base, discovery: "xds", bootstrap: buildBootstrap({ nodeId: id, xds }) };
    case "xds-ignore-deletion":
      return { ...base, discovery: "xds", bootstrap: buildBootstrap({ nodeId: id, xds, ignoreResourceDeletion: true }) };
    case "steady":
      return { ...base, discovery: "steady", xds, nodeId: id, cacheDir: join(env.workDir, `cache-${id}`), ...dns };
    case "dns":
      return { ...base, discovery: "dns", ...dns };
    case "xds-dns-fallback":
      // The stock client with the default bootstrap; only its host resolver differs (mesh-lookup.ts).
      return { ...base, discovery: "xds", bootstrap: buildBootstrap({ nodeId: id, xds }), env: meshLookupEnv(dns.dnsServer, dns.dnsDomain) };
  }
}

/**
 * The environment of a gateway whose host resolver forwards `domain` to
 * `server` (this process's, plus the preload in NODE_OPTIONS): node loads
 * NODE_OPTIONS' imports before the command line's, so from src/ tsx comes
 * first there too.
 */
export function meshLookupEnv(server: string, domain: string): NodeJS.ProcessEnv {
  const preload = new URL(import.meta.url.endsWith(".ts") ? "./mesh-lookup-preload.ts" : "./mesh-lookup-preload.js", import.meta.url);
  const imports = [...(import.meta.url.endsWith(".ts") ? [import.meta.resolve("tsx")] : []), preload.href];
  const own = process.env["NODE_OPTIONS"];
  return {
    ...process.env,
    NODE_OPTIONS: [own, ...imports.map((specifier) => `--import=${specifier}`)].filter(Boolean).join(" "),
    [MESH_LOOKUP_ENV.server]: server,
    [MESH_LOOKUP_ENV.domain]: domain,
  };
}

/** The preload's file, for tests. */
export const MESH_LOOKUP_PRELOAD = fileURLToPath(new URL(import.meta.url.endsWith(".ts") ? "./mesh-lookup-preload.ts" : "./mesh-lookup-preload.js", import.meta.url));

/** Starts one gateway and notes when its process was spawned (epoch ms). */
async function launchGateway(spawn: NonNullable<FleetEnvironment["spawn"]>, options: DemoSpawnOptions, upTimes: Map<DemoProcess, number>): Promise<DemoProcess> {
  const startedAt = Date.now();
  const gateway = await spawn("gateway", options);
  upTimes.set(gateway, startedAt);
  return gateway;
}

export async function startFleet(cohort: Cohort, env: FleetEnvironment): Promise<GatewayFleet> {
  // Each gateway keeps its own mode: a remediation moves the gateways it restarts, one by one,
  // while scheduled restarts of the others keep theirs (as in a rolling configuration change).
  const modes: DiscoveryMode[] = Array.from({ length: cohort.gateways }, () => cohort.discovery);
  let restarts = 0;
  let stopped = false;
  const slots: Array<DemoProcess | undefined> = [];
  const upTimes = new Map<DemoProcess, number>();
  const launch = (slot: number) => launchGateway(env.spawn ?? spawnDemo, gatewayOptions(modes[slot]!, `${cohort.name}-gw${slot}`, env), upTimes);
  const pending: Array<Promise<void> | undefined> = [];

  async function restartNow(slot: number, to: DiscoveryMode | undefined): Promise<void> {
    if (stopped) return;
    const old = slots[slot];
    slots[slot] = undefined;
    if (to) modes[slot] = to;
    // Drain, as a rolling deploy does: no new requests reach it, and those in flight finish.
    await new Promise((r) => setTimeout(r, DRAIN_MS));
    await old?.stop();
    if (stopped) return;
    restarts++;
    const fresh = await launch(slot);
    // The fleet may have been stopped while this one started: it must not outlive the run.
    if (stopped) await fresh.stop();
    else slots[slot] = fresh;
  }
  // The first starts go through the lab's gate; a restart during the run starts at once, when the timeline says.
  const launches = await Promise.allSettled(Array.from({ length: cohort.gateways }, (_, slot) => env.gate.run(() => launch(slot))));
  const failed = launches.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    // The gateways that did start must not outlive a fleet that failed to start (they would keep the lab's process alive).
    await Promise.allSettled(launches.map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    throw failed.reason;
  }
  slots.push(...launches.map((r) => (r as PromiseFulfilledResult<DemoProcess>).value));
  return {
    cohort: cohort.name,
    discovery: () => modes.join(","),
    ready: () => slots.filter((p): p is DemoProcess => p !== undefined),
    restart(slot, to) {
      // One restart per gateway at a time: a scheduled restart and a remediation may overlap.
      const next = (pending[slot] ?? Promise.resolve()).then(() => restartNow(slot, to));
      // The queue only orders restarts; the caller of `next` gets (and reports) its failure.
      pending[slot] = next.catch(() => undefined);
      return next;
    },
    size: () => slots.length,
    restarts: () => restarts,
    upAt: (gateway) => upTimes.get(gateway),
    ups: () => [...upTimes.values()],
    async stop() {
      stopped = true;
      const all = slots.splice(0);
      await Promise.all([...all.map((p) => p?.stop()), ...pending]);
    },
  };
}
