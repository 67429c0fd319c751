import * as grpc from "@grpc/grpc-js";
import { createBackoff, createSystemClock, type Clock } from "../clock/index.js";
import { loadCodec } from "../proto/index.js";
import { createGrpcAdsTransport } from "./ads-transport.js";
import { createDnsSource } from "./dns-source.js";
import { createEndpointCache } from "./endpoint-cache.js";
import type { IgnoredUpdateKind, SourceName, SteadyEvent } from "./events.js";
import type { NormalizedResolverOptions } from "./options.js";
import { createResolverClass } from "./resolver.js";
import { TargetState } from "./target-state.js";
import { createXdsClient } from "./xds-client.js";

/** Counters of what the resolver rode out; also visible as events. */
export interface SteadyStats {
  readonly updatesIgnored: Readonly<Record<IgnoredUpdateKind, number>>;
  readonly nacks: number;
  readonly sourceChanges: Readonly<Record<SourceName | "none", number>>;
  readonly xdsFailovers: number;
  readonly xdsDisconnects: number;
}

/** What `registerSteadyResolver` returns. */
export interface SteadyResolverHandle {
  /** Where each known target's endpoints come from now. */
  sources(): Record<string, SourceName | "none">;
  stats(): SteadyStats;
  /**
   * Closes the xDS stream and every target (channels using `steady:` stop
   * getting updates); resolves once cache writes in progress are on disk.
   */
  close(): Promise<void>;
}

const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Builds the process-wide resolver runtime and registers the `steady` scheme with grpc-js. */
export function startRuntime(options: NormalizedResolverOptions, clock: Clock = createSystemClock()): SteadyResolverHandle {
  const { logger } = options;
  const stats = {
    updatesIgnored: { "listener-deleted": 0, "cluster-deleted": 0, "endpoints-empty": 0, "invalid-resource": 0 },
    nacks: 0,
    sourceChanges: { xds: 0, cache: 0, dns: 0, none: 0 },
    xdsFailovers: 0,
    xdsDisconnects: 0,
  };
  const emit = (input: Omit<SteadyEvent, "at">) => {
    const event = { ...input, at: clock.now() } as SteadyEvent;
    count(stats, event);
    try {
      options.onEvent(event);
    } catch (err) {
      logger.error({ err: err instanceof Error ? err.message : String(err), event: event.type }, "onEvent hook threw; ignored");
    }
  };
  const codec = loadCodec();
  const xds = createXdsClient({
    servers: options.xdsServers,
    node: {
      id: options.nodeId,
      cluster: options.nodeCluster,
      locality: { region: options.locality.region, zone: options.locality.zone, sub_zone: "" },
      user_agent_name: "steadymesh-resolver",
      user_agent_version: "0.1.0",
    },
    codec,
    transport: createGrpcAdsTransport(codec, logger, options.tls),
    clock,
    backoff: createBackoff(options.backoff),
    streamTimeoutMs: options.streamTimeoutMs,
    strict: options.strict,
    logger,
    emit,
  });
  const cache = options.cacheDir ? createEndpointCache({ dir: options.cacheDir, logger, clock }) : undefined;
  const dns = options.dns ? createDnsSource({ domain: options.dns.domain, logger, ...(options.dns.server && { server: options.dns.server }) }) : undefined;
  const targets = new Map<string, TargetState>();

  function targetFor(service: string): TargetState | string {
    if (!SERVICE_NAME.test(service)) {
      return `steady:///${service}: the target must name one service, a DNS label ([a-z0-9-], 1-63 characters)`;
    }
    let state = targets.get(service);
    if (!state) {
      state = new TargetState(service, {
        xds, clock, logger, emit,
        startupTimeoutMs: options.startupTimeoutMs,
        dnsRefreshMs: options.dnsRefreshMs,
        strict: options.strict,
        ...(cache && { cache }),
        ...(dns && { dns }),
      });
      targets.set(service, state);
      state.start();
    }
    return state;
  }

  grpc.experimental.registerResolver("steady", createResolverClass(targetFor));
  return {
    sources: () => Object.fromEntries([...targets].map(([name, state]) => [name, state.source()])),
    stats: () => structuredClone(stats),
    async close() {
      const closing = [...targets.values()].map((state) => state.close());
      targets.clear();
      dns?.close();
      xds.close();
      await Promise.all(closing);
    },
  };
}

function count(stats: { updatesIgnored: Record<IgnoredUpdateKind, number>; nacks: number; sourceChanges: Record<string, number>; xdsFailovers: number; xdsDisconnects: number }, event: SteadyEvent): void {
  switch (event.type) {
    case "update-ignored":
      stats.updatesIgnored[event.kind]++;
      break;
    case "nack":
      stats.nacks++;
      break;
    case "source-changed":
      stats.sourceChanges[event.to] = (stats.sourceChanges[event.to] ?? 0) + 1;
      break;
    case "xds-failover":
      stats.xdsFailovers++;
      break;
    case "xds-disconnected":
      stats.xdsDisconnects++;
      break;
    default:
      break;
  }
}
