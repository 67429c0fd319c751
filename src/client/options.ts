import { isIP } from "node:net";
import { resolve } from "node:path";
import { z } from "zod";
import { ValidationError, type Issue } from "../errors/index.js";
import type { SteadyEvent } from "./events.js";
import { silentClientLogger, type ClientLogger } from "./logger.js";
import { formatPath, issuesFrom, rule } from "./zod-issues.js";

/** What an application passes to `registerSteadyResolver`. */
export interface SteadyResolverOptions {
  /** `HOST:PORT` of each xDS server, in priority order; at least one. IPv6 as `[::1]:18000`. */
  xdsServers: string[];
  /** The xDS node id; non-empty. */
  nodeId: string;
  nodeCluster?: string;
  locality?: { region?: string; zone?: string };
  /** DNS SRV fallback; `false` disables it. Absent: the system resolver and domain "mesh". */
  dns?: { server?: string; domain?: string } | false;
  /** Where last-known-good endpoints are persisted; no disk cache when absent. */
  cacheDir?: string;
  /** How long a new channel waits for xDS before falling back (default 1000 ms, 0–60 000). */
  startupTimeoutMs?: number;
  /** A new ADS stream that answers nothing in this long is treated as stalled (default 5000 ms). */
  streamTimeoutMs?: number;
  /** Reconnect backoff (defaults 500 ms and 30 000 ms). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** While DNS is the source, re-query this often (default 5000 ms). */
  dnsRefreshMs?: number;
  /** false (default): hold last good on deletions, wipe-outs and NACKed data (gRFC A88); true: obey the control plane. */
  strict?: boolean;
  /**
   * TLS for the ADS connection (grpc.credentials.createSsl): `ca` (PEM, a
   * string or bytes) verifies the control plane's certificate, e.g. the
   * `<data-dir>/ca.pem` of `serve --tls`; `cert` and `key` (both or neither)
   * present a client certificate. Absent: plain text.
   */
  tls?: { ca: string | Uint8Array; cert?: string | Uint8Array; key?: string | Uint8Array };
  logger?: ClientLogger;
  onEvent?: (event: SteadyEvent) => void;
}

/** The options with every default filled in; what the resolver works from. */
export interface NormalizedResolverOptions {
  readonly xdsServers: readonly string[];
  readonly nodeId: string;
  /** "" when not given, as in the xDS Node message. */
  readonly nodeCluster: string;
  /** "" for a part not given. */
  readonly locality: { readonly region: string; readonly zone: string };
  /** `server` absent means the system resolver. */
  readonly dns: { readonly server?: string; readonly domain: string } | false;
  /** Absolute (resolved against the working directory at parse time); absent means no disk cache. */
  readonly cacheDir?: string;
  readonly startupTimeoutMs: number;
  readonly streamTimeoutMs: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly dnsRefreshMs: number;
  readonly strict: boolean;
  /** Absent: plain text. */
  readonly tls?: { readonly ca: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  readonly logger: ClientLogger;
  /** A no-op when not given. The caller must still guard against it throwing. */
  readonly onEvent: (event: SteadyEvent) => void;
}

/** Default of every optional setting that has one. */
export const RESOLVER_DEFAULTS = Object.freeze({
  dnsDomain: "mesh",
  startupTimeoutMs: 1000,
  streamTimeoutMs: 5000,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
  dnsRefreshMs: 5000,
  strict: false,
});

const HOST_PORT = /^(?:\[([^\]]*)\]|([^:[\]]+)):(\d{1,5})$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const LOCALITY = /^[A-Za-z0-9._-]{0,63}$/;

/** True for `host:1`–`host:65535` where host is a hostname, an IPv4 literal or a bracketed IPv6 literal. */
function isHostPort(value: string, ipOnly: boolean): boolean {
  const match = HOST_PORT.exec(value);
  if (!match) return false;
  const [, v6, host = "", port = ""] = match;
  const portOk = Number(port) >= 1 && Number(port) <= 65535;
  if (v6 !== undefined) return portOk && isIP(v6) === 6;
  return portOk && (isIP(host) === 4 || (!ipOnly && HOSTNAME.test(host)));
}

const XDS_SERVER_RULE = "HOST:PORT with a port from 1 to 65535 (IPv6 as [::1]:18000)";
const DNS_SERVER_RULE = "IP:PORT with a port from 1 to 65535 (an address, not a name; IPv6 as [::1]:53)";

function millis(min: number, max: number): z.ZodInt {
  const allowed = rule(`an integer number of milliseconds from ${min} to ${max}`);
  return z.int(allowed).min(min, allowed).max(max, allowed);
}

const xdsServer = z.string(rule(XDS_SERVER_RULE)).refine((s) => isHostPort(s, false), rule(XDS_SERVER_RULE));
const xdsServers = z
  .array(xdsServer, rule("an array of HOST:PORT strings"))
  .min(1, { error: "must list at least one xDS server" })
  .superRefine((servers, ctx) => {
    servers.forEach((server, i) => {
      const first = servers.indexOf(server);
      if (first !== i) ctx.addIssue({ code: "custom", path: [i], input: server, message: `duplicates xdsServers[${first}]` });
    });
  });

const localityPart = z.string(rule("a string of at most 63 characters of [A-Za-z0-9._-]")).regex(LOCALITY, rule("at most 63 characters of [A-Za-z0-9._-]"));

const backoffSchema = z
  .strictObject(
    {
      initialMs: millis(1, 600_000).default(RESOLVER_DEFAULTS.backoffInitialMs),
      maxMs: millis(1, 3_600_000).default(RESOLVER_DEFAULTS.backoffMaxMs),
    },
    rule("an object { initialMs?, maxMs? }"),
  )
  .superRefine((b, ctx) => {
    if (b.maxMs < b.initialMs) ctx.addIssue({ code: "custom", path: ["maxMs"], input: b.maxMs, message: `must be at least backoff.initialMs (${b.initialMs}), got ${b.maxMs}` });
  });

const dnsSchema = z.strictObject(
  {
    server: z.string(rule(DNS_SERVER_RULE)).refine((s) => isHostPort(s, true), rule(DNS_SERVER_RULE)).optional(),
    domain: z.string(rule("a lowercase domain name such as \"mesh\"")).regex(DOMAIN, rule("a lowercase domain name such as \"mesh\"")).default(RESOLVER_DEFAULTS.dnsDomain),
  },
  rule("false or an object { server?, domain? }"),
);

const PEM_RULE = rule("PEM text, as a string or bytes");
const pem = z.union([z.string(), z.instanceof(Uint8Array)], PEM_RULE).refine((value) => value.length > 0, PEM_RULE);
const tlsSchema = z
  .strictObject({ ca: pem, cert: pem.optional(), key: pem.optional() }, rule("an object { ca, cert?, key? }"))
  .superRefine((tls, ctx) => {
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      const missing = tls.cert === undefined ? "cert" : "key";
      ctx.addIssue({ code: "custom", path: [missing], input: undefined, message: "must be given with tls.cert and tls.key both, or neither" });
    }
  });

const LOGGER_RULE = rule("an object with debug, info, warn and error methods");
const isLogger = (value: unknown): value is ClientLogger =>
  typeof value === "object" && value !== null && (["debug", "info", "warn", "error"] as const).every((m) => typeof (value as Record<string, unknown>)[m] === "function");

const optionsSchema = z.strictObject(
  {
    xdsServers,
    nodeId: z.string(rule("a non-empty string")).min(1, rule("a non-empty string")),
    nodeCluster: z.string(rule("a string")).default(""),
    locality: z.strictObject({ region: localityPart.default(""), zone: localityPart.default("") }, rule("an object { region?, zone? }")).default({ region: "", zone: "" }),
    // Checked by dnsSchema in a second pass, so its problems keep their own paths instead of becoming one union error.
    dns: z.unknown().optional(),
    cacheDir: z.string(rule("a non-empty path")).min(1, rule("a non-empty path")).optional(),
    startupTimeoutMs: millis(0, 60_000).default(RESOLVER_DEFAULTS.startupTimeoutMs),
    streamTimeoutMs: millis(1, 600_000).default(RESOLVER_DEFAULTS.streamTimeoutMs),
    backoff: backoffSchema.default({ initialMs: RESOLVER_DEFAULTS.backoffInitialMs, maxMs: RESOLVER_DEFAULTS.backoffMaxMs }),
    dnsRefreshMs: millis(1, 3_600_000).default(RESOLVER_DEFAULTS.dnsRefreshMs),
    strict: z.boolean(rule("true or false")).default(RESOLVER_DEFAULTS.strict),
    tls: tlsSchema.optional(),
    logger: z.custom<ClientLogger>(isLogger, LOGGER_RULE).optional(),
    onEvent: z.custom<(event: SteadyEvent) => void>((v) => typeof v === "function", rule("a function")).optional(),
  },
  { error: (issue) => (issue.input === undefined ? "options are required" : "options must be an object") },
);

const ALLOWED_KEYS: Readonly<Record<string, readonly string[]>> = {
  "": Object.keys(optionsSchema.shape),
  locality: ["region", "zone"],
  backoff: ["initialMs", "maxMs"],
  tls: ["ca", "cert", "key"],
  dns: Object.keys(dnsSchema.shape),
};
const allowedKeys = (path: readonly PropertyKey[]): readonly string[] => ALLOWED_KEYS[formatPath(path)] ?? [];

function ignoreEvent(): void {
  // The default onEvent: an application that passes none is not interested.
}

type DnsOption = NormalizedResolverOptions["dns"];

function parseDns(value: unknown, issues: Issue[]): DnsOption | undefined {
  if (value === false) return false;
  const parsed = dnsSchema.safeParse(value ?? {});
  if (parsed.success) return { domain: parsed.data.domain, ...(parsed.data.server !== undefined && { server: parsed.data.server }) };
  const nested = issuesFrom(parsed.error, (path) => allowedKeys(["dns", ...path]));
  issues.push(...nested.map((i) => ({ path: i.path ? `dns.${i.path}` : "dns", message: i.message })));
  return undefined;
}

/**
 * Validates the options of `registerSteadyResolver` and fills in defaults.
 * Throws one ValidationError listing every problem with its path, e.g.
 * `xdsServers[1]: must be HOST:PORT …, got "x"`. Accepts `unknown` because
 * JavaScript callers are not held to the types.
 */
export function parseResolverOptions(input: unknown): NormalizedResolverOptions {
  const issues: Issue[] = [];
  const parsed = optionsSchema.safeParse(input);
  if (!parsed.success) issues.push(...issuesFrom(parsed.error, allowedKeys));
  const record = typeof input === "object" && input !== null ? (input as Record<string, unknown>) : {};
  const dns = parseDns(record.dns, issues);
  if (!parsed.success || dns === undefined || issues.length > 0) throw new ValidationError(issues);
  const o = parsed.data;
  return {
    xdsServers: Object.freeze([...o.xdsServers]),
    nodeId: o.nodeId,
    nodeCluster: o.nodeCluster,
    locality: Object.freeze({ region: o.locality.region, zone: o.locality.zone }),
    dns: dns === false ? false : Object.freeze(dns),
    ...(o.cacheDir !== undefined && { cacheDir: resolve(o.cacheDir) }),
    startupTimeoutMs: o.startupTimeoutMs,
    streamTimeoutMs: o.streamTimeoutMs,
    backoff: Object.freeze({ ...o.backoff }),
    dnsRefreshMs: o.dnsRefreshMs,
    strict: o.strict,
    ...(o.tls && { tls: Object.freeze({ ca: Buffer.from(o.tls.ca), ...(o.tls.cert !== undefined && { cert: Buffer.from(o.tls.cert) }), ...(o.tls.key !== undefined && { key: Buffer.from(o.tls.key) }) }) }),
    logger: o.logger ?? silentClientLogger,
    onEvent: o.onEvent ?? ignoreEvent,
  };
}
