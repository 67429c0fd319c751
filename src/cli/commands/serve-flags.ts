import { resolve } from "node:path";
import type { Command } from "commander";
import { SteadyError } from "../../errors/index.js";
import type { NodeSelector } from "../../guard/model.js";
import type { Logger } from "../../log/index.js";
// options.ts, not the server index: it imports only constants at run time, so other commands start
// without loading gRPC, protobuf and sqlite.
import { isLoopback, SERVE_DEFAULTS, type ServeOptions } from "../../server/options.js";
// The module itself, not the DNS index: it imports nothing heavy.
import { RATE_LIMIT_DEFAULTS } from "../../dns/rate-limit.js";
import { duration } from "../duration.js";
import { adminHostName, canarySelector, defaultReplicaId, dnsDomain, dnsLabel, integerIn, ipAddress, nonEmpty, oneOfValues, share, storeSpec } from "../parse.js";

/** What commander parses `serve`'s flags into; `toServeOptions` turns it into ServeOptions. */
export interface ServeFlags {
  readonly dataDir: string;
  readonly replicaId?: string;
  readonly store: string;
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly dnsPort: number;
  readonly dnsDomain: string;
  readonly dnsTtl: number;
  /** Absent when no `--dns-rate-limit` was given: on beyond loopback, off on it. */
  readonly dnsRateLimit?: number;
  readonly bind: string;
  /** Absent when not given: `--bind`. */
  readonly xdsBind?: string;
  readonly adminBind?: string;
  readonly dnsBind?: string;
  /** Absent when no `--admin-host` was given. */
  readonly adminHost?: readonly string[];
  readonly pushMinDelayMs: number;
  readonly pushMaxDelayMs: number;
  /** false with `--no-guard`. */
  readonly guard: boolean;
  readonly guardMaxResourceRemoval: number;
  readonly guardMaxEndpointRemoval: number;
  readonly guardDrainStep: number;
  readonly guardDrainIntervalMs: number;
  /** Absent when no `--canary` was given. */
  readonly canary?: readonly NodeSelector[];
  readonly canaryBakeMs: number;
  readonly keepGenerations: number;
  readonly keepGenerationsMaxAgeMs: number;
  readonly ttlGraceMs: number;
  readonly enableFaults: boolean;
  readonly auth: "on" | "off";
  readonly tls: boolean;
  /** Absent when no `--tls-san` was given: loopback and the host name. */
  readonly tlsSan?: readonly string[];
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly trustDomain: string;
  readonly certTtl: number;
  readonly caCert?: string;
  readonly caKey?: string;
  readonly insecureBind: boolean;
  readonly labReports: string;
}

const port = integerIn(0, 65535);

/** The flags that may be given more than once; in a `--config` file they are lists. */
export const REPEATABLE_SERVE_FLAGS: readonly string[] = ["admin-host", "canary", "tls-san"];

/** Adds every `serve` flag, each with its range in the help text and its default from SERVE_DEFAULTS. */
export function addServeFlags(command: Command): Command {
  const d = SERVE_DEFAULTS;
  return command
    .option("--data-dir <dir>", "where the sqlite store keeps its data", nonEmpty, d.dataDir)
    .option("--replica-id <id>", "with --store etcd://…: this replica's id, a DNS label unique among the replicas (default: the host name)", dnsLabel)
    .option("--store <store>", "sqlite, memory or etcd://HOST:PORT[,HOST:PORT...]", storeSpec, d.store)
    .option("--xds-port <port>", "xDS (ADS) gRPC port, 0-65535; 0 picks a free port", port, d.xdsPort)
    .option("--admin-port <port>", "admin HTTP API port, 0-65535; 0 picks a free port", port, d.adminPort)
    .option("--dns-port <port>", "DNS port (UDP and TCP), 0-65535; 0 picks a free port", port, d.dnsPort)
    .option("--dns-domain <domain>", "DNS domain: names are <service>.service.<domain>", dnsDomain, d.dnsDomain)
    .option("--dns-ttl <seconds>", "TTL of DNS answers, 0-86400", integerIn(0, 86_400), d.dnsTtlSeconds)
    .option("--dns-rate-limit <per-second>", `UDP DNS responses per second per source /24 (IPv4) or /56 (IPv6), 0-1000000; 0 turns it off (default: ${RATE_LIMIT_DEFAULTS.responsesPerSecond} when --dns-bind (else --bind) is not loopback, off on loopback)`, integerIn(0, 1_000_000))
    .option("--bind <ip>", "IP address every listener binds to unless its own --xds-bind, --admin-bind or --dns-bind is given", ipAddress, d.bind)
    .option("--xds-bind <ip>", "IP address the xDS server binds to; beyond loopback it needs --tls (default: --bind)", ipAddress)
    .option("--admin-bind <ip>", "IP address the admin API binds to; beyond loopback it needs --tls and --auth on (default: --bind)", ipAddress)
    .option("--dns-bind <ip>", "IP address the DNS server binds to, UDP and TCP; plain DNS, rate-limited beyond loopback (default: --bind)", ipAddress)
    .option(
      "--admin-host <name>",
      "a host name or IP address the admin API also accepts in Host and Origin headers (DNS rebinding protection; the --bind address, or with 0.0.0.0 every address of this machine, and localhost always are); repeat for more",
      collectAdminHost,
    )
    .option("--push-min-delay-ms <ms>", "build a generation once registry changes have been quiet this long, 0-60000", integerIn(0, 60_000), d.pushMinDelayMs)
    .option("--push-max-delay-ms <ms>", "...but at most this long after the first change of a burst, 1-600000", integerIn(1, 600_000), d.pushMaxDelayMs)
    .option("--no-guard", "never hold a generation back (generations that clients would NACK are still rejected)")
    .option("--guard-max-resource-removal <share>", "hold a generation that removes more than this share of the Listeners, or of the Clusters, 0-1", share(), d.guard.maxResourceRemoval)
    .option("--guard-max-endpoint-removal <share>", "hold a generation that removes more than this share of one service's endpoints, 0-1", share(), d.guard.maxEndpointRemoval)
    .option("--guard-drain-step <share>", "release a held endpoint drain in steps of this share of each service's endpoints (at least one), more than 0 and at most 1", share({ aboveZero: true }), d.guard.drainStep)
    .option("--guard-drain-interval-ms <ms>", "one drain step every this many ms, 1000-86400000", integerIn(1000, 86_400_000), d.guard.drainIntervalMs)
    .option("--canary <selector>", "clients that get each generation first: node-id=GLOB or metadata.KEY=VALUE; repeat for more", collectSelector)
    .option("--canary-bake-ms <ms>", "how long a canary must run with no NACK before every client gets it, 0-3600000", integerIn(0, 3_600_000), d.rollout.bakeMs)
    .option("--keep-generations <n>", "generations the log keeps for audit and rollback (plus the one clients have, held ones and a canary), 1-100000", integerIn(1, 100_000), d.retention.keep)
    .option("--keep-generations-max-age-ms <ms>", "and of those, only the ones younger than this, 0-31536000000; 0: no age limit", integerIn(0, 31_536_000_000), d.retention.maxAgeMs)
    .option("--ttl-grace-ms <ms>", "how long an instance that missed its TTL stays, unhealthy, before it is removed, 0-86400000", integerIn(0, 86_400_000), d.ttlGraceMs)
    .option("--enable-faults", "serve /v1/faults, which injects control-plane failures into what xDS clients see (outage lab; never in production)", d.enableFaults)
    .option("--auth <on|off>", "admin API tokens: on, or off (today's open API; only with a loopback --admin-bind or --bind)", oneOfValues(["on", "off"] as const), d.auth ? "on" : "off")
    .option("--tls", "serve the admin API over HTTPS and xDS over TLS, with a certificate from the built-in CA (its certificate goes to <data-dir>/ca.pem)", false)
    .option("--tls-san <name>", "a DNS name or IP address the TLS serving certificate is for; repeat for more (default: localhost, 127.0.0.1, ::1 and the host name)", collectTlsSan)
    .option("--tls-cert <file>", "PEM serving certificate (chain) for the TLS listeners instead of one from the built-in CA; needs --tls-key, implies --tls", nonEmpty)
    .option("--tls-key <file>", "PEM private key of --tls-cert", nonEmpty)
    .option("--trust-domain <domain>", "trust domain of the built-in CA: workload certificates carry spiffe://<domain>/service/<service>", dnsDomain, d.trustDomain)
    .option("--cert-ttl <duration>", "lifetime of workload certificates, 1s to 365d, e.g. 2m or 24h (default: 24h)", duration(1000, 365 * 86_400_000), d.certTtlMs)
    .option("--ca-cert <file>", "PEM certificate of an existing CA to sign with instead of the built-in one; needs --ca-key", nonEmpty)
    .option("--ca-key <file>", "PEM private key (ECDSA P-256) of --ca-cert", nonEmpty)
    .option("--insecure-bind", "allow a non-loopback --bind without TLS and authentication (logs a warning at every start)", d.insecureBind)
    .option("--lab-reports <dir>", "the outage lab's report directory the web console lists and opens (/ui/lab), relative to the working directory", nonEmpty, d.labReportsDir);
}

function collectAdminHost(value: string, previous: readonly string[] | undefined): readonly string[] {
  return [...(previous ?? []), adminHostName(value)];
}

/** A certificate names hosts without brackets or a trailing dot: `[::1]` is `::1`, `cp.example.` is `cp.example`. */
function collectTlsSan(value: string, previous: readonly string[] | undefined): readonly string[] {
  const name = adminHostName(value).replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
  return [...(previous ?? []), name.toLowerCase()];
}

function collectSelector(value: string, previous: readonly NodeSelector[] | undefined): readonly NodeSelector[] {
  return [...(previous ?? []), canarySelector(value)];
}

/**
 * Checks what no single flag can: distinct fixed ports (the listeners share
 * one address, and the DNS port is TCP too) and a push delay window whose
 * maximum is not below its minimum. Throws an invalid-argument SteadyError
 * naming both flags.
 */
export function checkServeFlags(flags: ServeFlags): void {
  const ports: [string, number][] = [["--xds-port", flags.xdsPort], ["--admin-port", flags.adminPort], ["--dns-port", flags.dnsPort]];
  for (const [i, [name, value]] of ports.entries()) {
    const clash = ports.slice(i + 1).find(([, other]) => value !== 0 && other === value);
    if (clash) throw new SteadyError("invalid-argument", `${name} and ${clash[0]} are both ${value}; they must differ (0 picks a free port)`);
  }
  const admin = flags.adminBind === undefined ? { flag: "--bind", address: flags.bind } : { flag: "--admin-bind", address: flags.adminBind };
  if (flags.auth === "off" && !isLoopback(admin.address)) {
    throw new SteadyError("invalid-argument", `--auth off is allowed only with a loopback ${admin.flag} (127.0.0.1 or ::1), not ${admin.address}; drop --auth off to require admin API tokens`);
  }
  for (const [a, b] of [["tlsCert", "tlsKey"], ["caCert", "caKey"]] as const) {
    if ((flags[a] === undefined) !== (flags[b] === undefined)) {
      const [given, missing] = flags[a] === undefined ? [b, a] : [a, b];
      throw new SteadyError("invalid-argument", `${flagName(given)} needs ${flagName(missing)}: give both files or neither`);
    }
  }
  if (flags.pushMaxDelayMs < flags.pushMinDelayMs) {
    throw new SteadyError(
      "invalid-argument",
      `--push-max-delay-ms (${flags.pushMaxDelayMs}) must be at least --push-min-delay-ms (${flags.pushMinDelayMs})`,
    );
  }
}

function flagName(field: string): string {
  return `--${field.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

/** The TLS options the flags stand for: absent without --tls or --tls-cert. */
function tlsOptions(flags: ServeFlags): ServeOptions["tls"] {
  const files = flags.tlsCert !== undefined && flags.tlsKey !== undefined ? { certificate: flags.tlsCert, key: flags.tlsKey } : undefined;
  if (!flags.tls && !files) return undefined;
  return { sans: flags.tlsSan ?? [], ...(files && { files }) };
}

/** The ServeOptions the flags stand for; every field not given a flag comes from SERVE_DEFAULTS. */
export function toServeOptions(flags: ServeFlags, logger: Logger): ServeOptions {
  const tls = tlsOptions(flags);
  return {
    dataDir: flags.dataDir,
    ...(flags.store.startsWith("etcd://") && { replicaId: flags.replicaId ?? defaultReplicaId() }),
    store: flags.store,
    xdsPort: flags.xdsPort,
    adminPort: flags.adminPort,
    dnsPort: flags.dnsPort,
    dnsDomain: flags.dnsDomain,
    dnsTtlSeconds: flags.dnsTtl,
    ...(flags.dnsRateLimit !== undefined && { dnsRateLimit: flags.dnsRateLimit }),
    bind: flags.bind,
    ...(flags.xdsBind !== undefined && { xdsBind: flags.xdsBind }),
    ...(flags.adminBind !== undefined && { adminBind: flags.adminBind }),
    ...(flags.dnsBind !== undefined && { dnsBind: flags.dnsBind }),
    adminHosts: flags.adminHost ?? SERVE_DEFAULTS.adminHosts,
    pushMinDelayMs: flags.pushMinDelayMs,
    pushMaxDelayMs: flags.pushMaxDelayMs,
    guard: {
      enabled: flags.guard,
      maxResourceRemoval: flags.guardMaxResourceRemoval,
      maxEndpointRemoval: flags.guardMaxEndpointRemoval,
      drainStep: flags.guardDrainStep,
      drainIntervalMs: flags.guardDrainIntervalMs,
    },
    rollout: { canary: flags.canary ?? SERVE_DEFAULTS.rollout.canary, bakeMs: flags.canaryBakeMs },
    retention: { keep: flags.keepGenerations, maxAgeMs: flags.keepGenerationsMaxAgeMs },
    enableFaults: flags.enableFaults,
    ttlGraceMs: flags.ttlGraceMs,
    healthDamping: SERVE_DEFAULTS.healthDamping,
    bodyLimit: SERVE_DEFAULTS.bodyLimit,
    auth: flags.auth === "on",
    trustDomain: flags.trustDomain,
    certTtlMs: flags.certTtl,
    ...(flags.caCert !== undefined && flags.caKey !== undefined && { caFiles: { certificate: flags.caCert, key: flags.caKey } }),
    ...(tls && { tls }),
    insecureBind: flags.insecureBind,
    labReportsDir: resolve(flags.labReports),
    logger,
  };
}
