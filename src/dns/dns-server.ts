import { isIP } from "node:net";
import { createSystemClock, type Clock } from "../clock/index.js";
import { SteadyError } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { RegistryView } from "../registry/index.js";
import type { AnswerCacheUsage } from "./answer-cache.js";
import { createQueryHandler } from "./query-handler.js";
import { createRateLimiter, RATE_LIMIT_DEFAULTS, type RateLimiter, type RateLimitOptions } from "./rate-limit.js";
import { createTcpListener, type TcpListener } from "./tcp-listener.js";
import { createUdpListener, type UdpListener } from "./udp-listener.js";
import { createZone, type Zone } from "./zone.js";

/** Options of createDnsServer; only `registry` and `logger` are required. */
export interface DnsServerOptions {
  /** Where answers come from: a Registry, or anything with its `view()`. Read once per query, so answers never lag it. */
  readonly registry: { view(): RegistryView };
  /** Default `mesh`: names are `<service>.service.mesh.` and so on. */
  readonly domain?: string;
  /** TTL of every record, and the SOA minimum (negative-caching time); default 5. */
  readonly ttlSeconds?: number;
  /**
   * What `ns.<domain>.` resolves to. By default the address `listen` binds,
   * or none when that is 0.0.0.0 or ::, which says nothing about how clients reach us.
   */
  readonly nameserverAddresses?: readonly string[];
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Drives the TCP idle timeout, the close grace period and the warning rate limit. */
  readonly clock?: Clock;
  /** A TCP connection with no complete query for this long is closed; default 10 s. */
  readonly tcpIdleTimeoutMs?: number;
  /** Default 256. */
  readonly maxTcpConnections?: number;
  /** Open TCP connections per client (an IPv4 address or an IPv6 /64); default 16. */
  readonly maxTcpConnectionsPerClient?: number;
  /** Byte budget of the answer cache (least recently used answers go first); default 8 MiB. */
  readonly answerCacheBytes?: number;
  /**
   * UDP response rate limiting per source prefix. Not given: on, with
   * RATE_LIMIT_DEFAULTS, when `listen` binds an address other than loopback
   * (127.0.0.0/8, ::1), off on loopback. `false`: off wherever it binds.
   */
  readonly rateLimit?: RateLimitOptions | false;
}

/** The DNS view of the registry, over UDP and TCP on one port. */
export interface DnsServer {
  /**
   * Binds UDP and TCP to the same `host:port`; port 0 picks one free for
   * both. Resolves with the real address; rejects with a SteadyError
   * (`unavailable`) naming the protocol and port that failed, with nothing left bound.
   */
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Stops answering: UDP closes, TCP clients get what is queued and are hung up on. Idempotent. */
  close(): Promise<void>;
  /** How full the answer cache is (for tests and diagnostics). */
  cacheUsage(): AnswerCacheUsage;
  /** Whether UDP responses are rate-limited; known once `listen` has resolved. */
  rateLimited(): boolean;
}

/** The values used for options that are not given. */
export const DNS_DEFAULTS = { domain: "mesh", ttlSeconds: 5, tcpIdleTimeoutMs: 10_000, maxTcpConnections: 256, maxTcpConnectionsPerClient: 16, answerCacheBytes: 8 * 1024 * 1024 } as const;

/** The largest query accepted over TCP; real queries are a few hundred bytes at most. */
const MAX_TCP_QUERY_BYTES = 4096;
const CLOSE_GRACE_MS = 2000;
/** With port 0, how many times to pick a new UDP port when TCP finds the same port taken. */
const PORT_ATTEMPTS = 5;

/** Builds the server; throws SteadyError `invalid-argument` for a bad domain, TTL, cache budget or rate limit. */
export function createDnsServer(options: DnsServerOptions): DnsServer {
  const logger = options.logger.child({ component: "dns" });
  const clock = options.clock ?? createSystemClock();
  let zone: Zone = createZone({ domain: options.domain ?? DNS_DEFAULTS.domain, ttlSeconds: options.ttlSeconds ?? DNS_DEFAULTS.ttlSeconds, nameserverAddresses: options.nameserverAddresses ?? [] });
  // Built now, so a bad option fails here rather than at listen.
  const limiter = options.rateLimit ? createRateLimiter(options.rateLimit, clock) : undefined;
  let rateLimiter: RateLimiter | undefined;
  const queries = createQueryHandler({ zone: () => zone, view: () => options.registry.view(), logger, metrics: options.metrics, clock, cacheBytes: cacheBudget(options), rateLimiter: () => rateLimiter });
  const handle = queries.handle;
  const newUdp = (): UdpListener => createUdpListener(handle, logger);
  const newTcp = (): TcpListener =>
    createTcpListener({
      handle,
      clock,
      logger,
      idleTimeoutMs: options.tcpIdleTimeoutMs ?? DNS_DEFAULTS.tcpIdleTimeoutMs,
      maxQueryBytes: MAX_TCP_QUERY_BYTES,
      maxConnections: options.maxTcpConnections ?? DNS_DEFAULTS.maxTcpConnections,
      maxConnectionsPerClient: options.maxTcpConnectionsPerClient ?? DNS_DEFAULTS.maxTcpConnectionsPerClient,
      closeGraceMs: CLOSE_GRACE_MS,
    });

  let starting: Promise<Bound> | undefined;
  let closing: Promise<void> | undefined;
  return {
    async listen(host, port) {
      if (starting || closing) throw new SteadyError("internal", "dns: listen may be called once, before close");
      // Decided before binding, so no query is answered unlimited in between.
      const rateLimit = rateLimitFor(host, options.rateLimit);
      rateLimiter = rateLimit && (limiter ?? createRateLimiter(rateLimit, clock));
      starting = bindBoth(host, port, newUdp, newTcp, logger);
      const bound = await starting;
      if (!options.nameserverAddresses && !isUnspecified(host)) zone = { ...zone, nameserverAddresses: [host] };
      logger.info({ host: bound.address.host, port: bound.address.port, domain: zone.domain, ttlSeconds: zone.ttlSeconds, rateLimit: rateLimit ?? "off" }, "dns listening on UDP and TCP");
      return bound.address;
    },
    close() {
      closing ??= (async () => {
        // A failed listen has already released its sockets, and its caller got the error.
        const bound = await starting?.catch((err: unknown) => logger.debug({ err }, "dns: closing after a failed listen"));
        if (bound) await Promise.all([bound.udp.close(), bound.tcp.close()]);
      })();
      return closing;
    },
    cacheUsage: () => queries.cacheUsage(),
    rateLimited: () => rateLimiter !== undefined,
  };
}

function cacheBudget(options: DnsServerOptions): number {
  const bytes = options.answerCacheBytes ?? DNS_DEFAULTS.answerCacheBytes;
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new SteadyError("invalid-argument", `dns answerCacheBytes: must be a whole number of bytes, 0 or more, got ${bytes}`);
  return bytes;
}

interface Bound {
  readonly udp: UdpListener;
  readonly tcp: TcpListener;
  readonly address: { host: string; port: number };
}

/**
 * UDP first, then TCP on the port UDP got. With port 0, another process may
 * hold that TCP port; then both are released and a new UDP port is tried.
 */
async function bindBoth(host: string, port: number, newUdp: () => UdpListener, newTcp: () => TcpListener, logger: Logger): Promise<Bound> {
  for (let attempt = 1; ; attempt++) {
    const udp = newUdp();
    let udpPort: number;
    try {
      udpPort = await udp.bind(host, port);
    } catch (err) {
      await udp.close();
      throw listenError("UDP", host, port, err);
    }
    const tcp = newTcp();
    try {
      return { udp, tcp, address: await tcp.listen(host, udpPort) };
    } catch (err) {
      await Promise.all([udp.close(), tcp.close()]);
      const retry = port === 0 && errorCode(err) === "EADDRINUSE" && attempt < PORT_ATTEMPTS;
      if (!retry) throw listenError("TCP", host, udpPort, err);
      logger.debug({ port: udpPort, attempt }, "dns: TCP port taken; picking another UDP port");
    }
  }
}

function listenError(protocol: string, host: string, port: number, cause: unknown): SteadyError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new SteadyError("unavailable", `dns: cannot listen on ${protocol} ${host}:${port}: ${why}`, { cause });
}

function errorCode(err: unknown): unknown {
  return typeof err === "object" && err !== null && "code" in err ? err.code : undefined;
}

/**
 * The rate limit for a server bound to `host`: the one given; none when
 * `false`; when not given, RATE_LIMIT_DEFAULTS unless `host` is loopback,
 * where no source can be spoofed from elsewhere.
 */
export function rateLimitFor(host: string, option: RateLimitOptions | false | undefined): RateLimitOptions | undefined {
  if (option === false) return undefined;
  return option ?? (isLoopback(host) ? undefined : RATE_LIMIT_DEFAULTS);
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms: only this machine can send from them. */
export function isLoopback(host: string): boolean {
  const ip = host.replace(/^::ffff:/i, "");
  return ip === "::1" || (isIP(ip) === 4 && ip.startsWith("127."));
}

function isUnspecified(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "::0";
}
