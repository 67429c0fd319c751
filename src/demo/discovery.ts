import * as grpc from "@grpc/grpc-js";
// Not exported by steadymesh/client's public face; a plain module (no grpc-js state), reused rather than copied.
import { createDnsSource, type DnsSource } from "../client/dns-source.js";
import { registerSteadyResolver, type SteadyResolverHandle } from "../client/index.js";
import type { Clock } from "../clock/index.js";
import { SteadyError } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import { createDnsChannel } from "./dns-channel.js";
import type { DiscoveryMode } from "./kinds.js";
import { fixedUpstream, type Upstream } from "./upstream.js";

/** Where the control plane is, for each mode. */
export interface DiscoverySettings {
  /** The xDS node id (steady mode; the stock client takes it from the bootstrap). */
  readonly nodeId: string;
  /** `HOST:PORT` of each xDS server, in priority order (steady mode). */
  readonly xdsServers: readonly string[];
  /** `IP:PORT` of the DNS server (steady's fallback, and dns mode). */
  readonly dnsServer: string;
  readonly dnsDomain: string;
  /** How often dns mode asks again. */
  readonly dnsRefreshMs: number;
  /** steady's last-known-good cache; none when absent. */
  readonly cacheDir?: string;
  /**
   * Bootstrap JSON for the stock xDS client. When absent, the client reads
   * GRPC_XDS_BOOTSTRAP or GRPC_XDS_BOOTSTRAP_CONFIG as usual.
   */
  readonly bootstrapJson?: string;
}

export interface Discovery {
  /** A way to call `service` found through `mode`; `Client` is the service's generated client. */
  upstream(service: string, mode: DiscoveryMode, Client: grpc.ServiceClientConstructor): Upstream;
  /** Closes every upstream and the steady resolver. */
  close(): Promise<void>;
}

/** dns mode spreads calls over every answer. */
const ROUND_ROBIN = { "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) };

export interface DiscoveryDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * @grpc/grpc-js-xds's register(), needed for xds mode only. Injected, so
   * that processes in other modes never load that package (it takes over a
   * second to import).
   */
  readonly registerXds?: () => void;
}

/**
 * Each mode is set up on first use: the stock xDS client registers its
 * `xds:` scheme (with the bootstrap put where it looks), the steady resolver
 * its `steady:` scheme, and dns mode shares one DNS source.
 */
export function createDiscovery(settings: DiscoverySettings, deps: DiscoveryDeps): Discovery {
  const { logger } = deps;
  const upstreams: Upstream[] = [];
  let xdsReady = false;
  let steady: SteadyResolverHandle | undefined;
  let dns: DnsSource | undefined;
  const creds = grpc.credentials.createInsecure();

  function setUpXds(): void {
    if (xdsReady) return;
    if (settings.bootstrapJson !== undefined) {
      // grpc-js-xds reads GRPC_XDS_BOOTSTRAP first, so drop it for the given bootstrap to win.
      delete process.env.GRPC_XDS_BOOTSTRAP;
      process.env.GRPC_XDS_BOOTSTRAP_CONFIG = settings.bootstrapJson;
    }
    if (!deps.registerXds) throw new SteadyError("internal", "xds mode needs @grpc/grpc-js-xds's register(), and none was given");
    deps.registerXds();
    xdsReady = true;
  }

  function setUpSteady(): void {
    steady ??= registerSteadyResolver({
      xdsServers: [...settings.xdsServers],
      nodeId: settings.nodeId,
      dns: { server: settings.dnsServer, domain: settings.dnsDomain },
      ...(settings.cacheDir !== undefined && { cacheDir: settings.cacheDir }),
      logger: logger.child({ component: "steady-resolver" }),
    });
  }

  function create(service: string, mode: DiscoveryMode, Client: grpc.ServiceClientConstructor): Upstream {
    switch (mode) {
      case "xds":
        setUpXds();
        return fixedUpstream(`xds:///${service}`, new Client(`xds:///${service}`, creds));
      case "steady":
        setUpSteady();
        return fixedUpstream(`steady:///${service}`, new Client(`steady:///${service}`, creds));
      case "dns":
        dns ??= createDnsSource({ server: settings.dnsServer, domain: settings.dnsDomain, timeoutMs: 500, tries: 2, logger });
        return createDnsChannel({
          service,
          source: dns,
          refreshMs: settings.dnsRefreshMs,
          createClient: (target) => new Client(target, creds, ROUND_ROBIN),
          clock: deps.clock,
          logger,
        });
    }
  }

  return {
    upstream(service, mode, Client) {
      const upstream = create(service, mode, Client);
      upstreams.push(upstream);
      logger.info({ service, mode, target: upstream.target }, "upstream configured");
      return upstream;
    },
    async close() {
      for (const upstream of upstreams.splice(0)) upstream.close();
      dns?.close();
      await steady?.close();
    },
  };
}
