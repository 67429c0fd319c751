import { promises as dns, type RecordWithTtl, type SrvRecord } from "node:dns";
import { isIP } from "node:net";
import { ValidationError, type Issue } from "../errors/index.js";
import { compareEndpoints, endpointKey, type ResolvedEndpoint } from "./endpoint.js";
import { describeCause } from "./errors.js";
import { silentClientLogger, type ClientLogger } from "./logger.js";
import { show } from "./zod-issues.js";

/**
 * The second discovery path: DNS SRV, as steadymesh's DNS interface (or any
 * DNS server) publishes it. It shares nothing with xDS, so it keeps working
 * when the control plane's xDS side is what failed.
 */

/** The outcome of one lookup; a failure is data, never an exception. */
export type DnsResult =
  | { readonly ok: true; readonly endpoints: ResolvedEndpoint[]; readonly ttlSeconds?: number }
  | { readonly ok: false; readonly reason: string };

export interface DnsSourceOptions {
  /** `IP:PORT` of the DNS server (IPv6 as `[::1]:53`); the system resolver's servers when absent. */
  readonly server?: string;
  /** The zone under which services are published: `_<service>._tcp.service.<domain>`. */
  readonly domain: string;
  /** Timeout of each try, in milliseconds (default 1000). Enforced by c-ares, not by a Clock. */
  readonly timeoutMs?: number;
  /** Tries per server before giving up (default 2). */
  readonly tries?: number;
  readonly logger?: ClientLogger;
}

export interface DnsSource {
  /** The SRV name queried for a service, e.g. `_login._tcp.service.mesh`. */
  srvName(service: string): string;
  /** Never rejects. Endpoints are deduplicated by address:port and sorted by address, then port. */
  lookup(service: string): Promise<DnsResult>;
  /** Ends every outstanding query; each pending lookup resolves with a "cancelled" reason. */
  cancel(): void;
  /** Cancels, and makes later lookups fail at once with a "closed" reason. Idempotent. */
  close(): void;
}

/** A service name as it can appear in an SRV owner name: one DNS label. */
const SERVICE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Record types whose absence for a name is an answer, not a failure. */
const ABSENT = new Set(["ENODATA", "ENOTFOUND"]);

interface HostAddresses {
  readonly addresses: readonly string[];
  /** Smallest TTL among the addresses; undefined for an IP-literal target. */
  readonly ttl?: number;
  /** Set when no address was found because a query failed (not because there were no records). */
  readonly error?: string;
}

/** Creates a source; throws ValidationError for a bad server, domain, timeout or tries. */
export function createDnsSource(options: DnsSourceOptions): DnsSource {
  const timeoutMs = options.timeoutMs ?? 1000;
  const tries = options.tries ?? 2;
  checkOptions(options, timeoutMs, tries);
  const logger = options.logger ?? silentClientLogger;
  const resolver = new dns.Resolver({ timeout: timeoutMs, tries });
  if (options.server !== undefined) setServer(resolver, options.server);
  const serverLabel = options.server ?? "the system resolver";
  let closed = false;

  const srvName = (service: string): string => `_${service}._tcp.service.${options.domain}`;

  async function lookup(service: string): Promise<DnsResult> {
    if (closed) return { ok: false, reason: "DNS source is closed" };
    if (!SERVICE.test(service)) return { ok: false, reason: `invalid service name ${show(service)}; must be a DNS label` };
    const name = srvName(service);
    let records: SrvRecord[];
    try {
      records = await resolver.resolveSrv(name);
    } catch (err) {
      return { ok: false, reason: describeDnsError(err, name, "SRV", serverLabel) };
    }
    // RFC 2782: a target of "." means the service is decidedly not available at this name.
    const usable = records.filter((r) => r.name !== "" && r.name !== ".");
    if (usable.length === 0) return { ok: false, reason: `no SRV records for ${name}` };
    const hosts = [...new Set(usable.map((r) => r.name))];
    const resolved = new Map(await Promise.all(hosts.map(async (h) => [h, await resolveHost(resolver, h, serverLabel)] as const)));
    const endpoints = toEndpoints(usable, resolved);
    const errors = [...resolved.values()].flatMap((h) => (h.error ? [h.error] : []));
    if (endpoints.length === 0) return { ok: false, reason: errors[0] ?? `no A/AAAA records for the SRV targets of ${name}` };
    if (errors.length > 0) logger.debug({ name, errors }, "some SRV targets did not resolve; using the rest");
    const ttls = [...resolved.values()].flatMap((h) => (h.ttl === undefined ? [] : [h.ttl]));
    return { ok: true, endpoints, ...(ttls.length > 0 && { ttlSeconds: Math.min(...ttls) }) };
  }

  return {
    srvName,
    lookup,
    cancel: () => resolver.cancel(),
    close() {
      closed = true;
      resolver.cancel();
    },
  };
}

type DnsResolver = InstanceType<typeof dns.Resolver>;

/** Both address families of one SRV target; a family without records is not an error. */
async function resolveHost(resolver: DnsResolver, host: string, serverLabel: string): Promise<HostAddresses> {
  if (isIP(host) !== 0) return { addresses: [host] };
  const families = await Promise.all([
    settle(resolver.resolve4(host, { ttl: true })),
    settle(resolver.resolve6(host, { ttl: true })),
  ]);
  const records = families.flatMap((f) => f.records);
  const failure = families.find((f) => f.error !== undefined && !ABSENT.has(errorCode(f.error)));
  if (records.length === 0 && failure) return { addresses: [], error: describeDnsError(failure.error, host, "A/AAAA", serverLabel) };
  return { addresses: records.map((r) => r.address), ...(records.length > 0 && { ttl: Math.min(...records.map((r) => r.ttl)) }) };
}

/**
 * One endpoint per address:port. SRV priority is ignored (every record is
 * used); duplicates keep the largest weight; SRV weight 0 counts as 1,
 * because gRPC treats weight 0 as "no traffic" and RFC 2782 does not.
 */
function toEndpoints(records: readonly SrvRecord[], hosts: ReadonlyMap<string, HostAddresses>): ResolvedEndpoint[] {
  const byKey = new Map<string, ResolvedEndpoint>();
  for (const record of records) {
    for (const address of hosts.get(record.name)?.addresses ?? []) {
      const endpoint = { address, port: record.port, weight: Math.max(1, record.weight) };
      const key = endpointKey(endpoint);
      const seen = byKey.get(key);
      if (!seen || seen.weight < endpoint.weight) byKey.set(key, endpoint);
    }
  }
  return [...byKey.values()].sort(compareEndpoints);
}

type Settled = { records: RecordWithTtl[]; error?: undefined } | { records: []; error: unknown };

async function settle(query: Promise<RecordWithTtl[]>): Promise<Settled> {
  try {
    return { records: await query };
  } catch (error) {
    return { records: [], error };
  }
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? "";
}

/** A short reason naming what failed: `NXDOMAIN for _login._tcp.service.mesh`, `timeout querying 127.0.0.1:18053`. */
export function describeDnsError(err: unknown, name: string, type: string, server: string): string {
  const code = errorCode(err);
  switch (code) {
    case "ENOTFOUND":
      return `NXDOMAIN for ${name}`;
    case "ENODATA":
      return `no ${type} records for ${name}`;
    case "ETIMEOUT":
      return `timeout querying ${server} for ${name}`;
    case "ECONNREFUSED":
      return `connection refused by ${server}`;
    case "ESERVFAIL":
      return `SERVFAIL from ${server} for ${name}`;
    case "EREFUSED":
      return `${server} refused the query for ${name}`;
    case "EBADRESP":
    case "EFORMERR":
      return `malformed answer from ${server} for ${name}`;
    case "ECANCELLED":
      return `lookup of ${name} cancelled`;
    default:
      return `${code || "error"} querying ${server} for ${name}: ${describeCause(err)}`;
  }
}

function checkOptions(options: DnsSourceOptions, timeoutMs: number, tries: number): void {
  const issues: Issue[] = [];
  if (typeof options.domain !== "string" || !/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(options.domain)) {
    issues.push({ path: "domain", message: `must be a lowercase domain name such as "mesh", got ${show(options.domain)}` });
  }
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) issues.push({ path: "timeoutMs", message: `must be a positive integer, got ${show(timeoutMs)}` });
  if (!Number.isInteger(tries) || tries < 1) issues.push({ path: "tries", message: `must be a positive integer, got ${show(tries)}` });
  if (issues.length > 0) throw new ValidationError(issues);
}

function setServer(resolver: DnsResolver, server: string): void {
  try {
    resolver.setServers([server]);
  } catch (err) {
    throw new ValidationError([{ path: "server", message: `must be IP:PORT (IPv6 as [::1]:53), got ${show(server)}` }], { cause: err });
  }
}
