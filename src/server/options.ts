import type { FaultInjector, LabFaults } from "../faults/index.js";
import type { PushGuard } from "../guard/index.js";
import { GUARD_DEFAULTS, RETENTION_DEFAULTS, ROLLOUT_DEFAULTS, type GuardPolicy, type RetentionPolicy, type RolloutPolicy } from "../guard/model.js";
import { DAMPING_DEFAULTS, TTL_GRACE_DEFAULT_MS, type DampingPolicy } from "../health/model.js";
import type { Logger } from "../log/index.js";
import type { StreamGate, XdsServer } from "../xds/index.js";

/** Everything `steadymesh serve` needs; the CLI parses flags into this. */
export interface ServeOptions {
  /** Where the sqlite store keeps its file (`--data-dir`, default `./.steadymesh`). */
  readonly dataDir: string;
  /**
   * With the etcd store: this replica's id (`--replica-id`, a DNS label,
   * default the host name). Replicas share the registry; each keeps its own
   * push-guard generations, and two live processes cannot use one id.
   */
  readonly replicaId?: string;
  /** `sqlite` (default), `memory`, or `etcd://h:p[,h:p…]`. */
  readonly store: string;
  /** Address every listener binds to (`--bind`, default 127.0.0.1) unless its own bind below says otherwise. */
  readonly bind: string;
  /** Address the xDS server binds to (`--xds-bind`); `bind` when absent. */
  readonly xdsBind?: string;
  /** Address the admin API binds to (`--admin-bind`); `bind` when absent. */
  readonly adminBind?: string;
  /** Address the DNS server binds to, UDP and TCP (`--dns-bind`); `bind` when absent. */
  readonly dnsBind?: string;
  /**
   * Names the admin API accepts in Host and Origin besides the bound address
   * and `localhost` (`--admin-host`, repeatable; DNS rebinding protection).
   * Absent means none.
   */
  readonly adminHosts?: readonly string[];
  /** 0 picks a free port. */
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly dnsPort: number;
  /** Names are `<service>.service.<dnsDomain>.` (`--dns-domain`, default `mesh`). */
  readonly dnsDomain: string;
  /** TTL of every DNS record and of negative answers, in seconds (`--dns-ttl`, default 5). */
  readonly dnsTtlSeconds: number;
  /**
   * UDP DNS responses per second per source prefix (`--dns-rate-limit`); 0
   * turns rate limiting off. Not given: on with the DNS server's defaults
   * when `bind` is not loopback, off on loopback.
   */
  readonly dnsRateLimit?: number;
  /**
   * Push coalescing: a burst of registry changes becomes one generation, built
   * once no change has come for `pushMinDelayMs` (`--push-min-delay-ms`,
   * default 100), and never later than `pushMaxDelayMs` after the first change
   * of the burst (`--push-max-delay-ms`, default 10000); Istio's debounce uses
   * the same 100 ms and 10 s.
   */
  readonly pushMinDelayMs: number;
  readonly pushMaxDelayMs: number;
  /** The push guard's blast-radius rules (`--no-guard`, `--guard-*`). */
  readonly guard: GuardPolicy;
  /** Staged rollout (`--canary`, `--canary-bake-ms`). */
  readonly rollout: RolloutPolicy;
  /** What the generation log keeps (`--keep-generations`, `--keep-generations-max-age-ms`); RETENTION_DEFAULTS when absent. */
  readonly retention?: RetentionPolicy;
  /**
   * Puts the fault injector between the snapshot cache and the xDS server and
   * serves `/v1/faults` (`--enable-faults`, for the outage lab). Off by default:
   * without it the fault routes answer 404.
   */
  readonly enableFaults?: boolean;
  /**
   * Sees every new ADS stream (no flag: for a program that embeds the server,
   * such as the bench). Cannot be combined with `enableFaults`, whose fault
   * injector is the stream gate then.
   */
  readonly streamGate?: StreamGate;
  /**
   * How long an instance that missed its TTL stays registered, unhealthy,
   * before it is removed (`--ttl-grace-ms`, default 30000).
   */
  readonly ttlGraceMs: number;
  /** Flap damping of health checks (no flags; DAMPING_DEFAULTS in src/health/model.ts explains the numbers). */
  readonly healthDamping: DampingPolicy;
  /**
   * The built-in CA's trust domain (`--trust-domain`, default
   * `steadymesh.local`): workload certificates carry
   * `spiffe://<trustDomain>/service/<service>`.
   */
  readonly trustDomain: string;
  /** Lifetime of workload certificates (`--cert-ttl`, default 24 h). */
  readonly certTtlMs: number;
  /** `--ca-cert/--ca-key`: PEM files of an existing CA to sign with instead of the built-in one. */
  readonly caFiles?: { readonly certificate: string; readonly key: string };
  /**
   * `--tls`: the admin API over HTTPS and xDS over TLS. The serving
   * certificate comes from `files` (`--tls-cert/--tls-key`) or else from the
   * CA, for `sans` (`--tls-san`). The CA certificate is written to
   * `<dataDir>/ca.pem`. Absent: plain text.
   */
  readonly tls?: TlsOptions;
  /** `--insecure-bind`: listen on a non-loopback address without TLS and authentication, with a warning at every start. */
  readonly insecureBind: boolean;
  /** `--lab-reports`: the lab's report directory the console lists and serves, absolute; `./lab-reports` of the cwd when absent. */
  readonly labReportsDir?: string;
  /** Largest admin API request body, in bytes (default 64 KiB). */
  readonly bodyLimit: number;
  /**
   * Admin API tokens (`--auth on|off`, default on): every route but
   * `/healthz` needs a token, and the first start of a data dir writes an
   * operator token to `<dataDir>/admin-token` once every listener is up. Off
   * is refused unless the admin API's bind (`adminBind`, else `bind`) is a
   * loopback address.
   */
  readonly auth: boolean;
  readonly logger: Logger;
}

/** The TLS listeners' serving certificate: from files, or made by the CA for these names. */
export interface TlsOptions {
  /** DNS names and IP addresses the certificate is for (`--tls-san`); ignored with `files`. */
  readonly sans: readonly string[];
  /** `--tls-cert/--tls-key`: PEM files of the serving certificate (chain) and its key. */
  readonly files?: { readonly certificate: string; readonly key: string };
}

/** A listener that is up, with the real port when 0 was asked for. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface RunningServer {
  readonly xds: ListenAddress;
  /** Only with `tls`: where the CA certificate was written (`<dataDir>/ca.pem`). */
  readonly caFile?: string;
  readonly admin: ListenAddress;
  /** UDP and TCP, on the same port. */
  readonly dns: ListenAddress;
  /** The xDS server itself: its clients, and the raw broadcast bench/ measures the transport with. */
  readonly xdsServer: XdsServer;
  /** The push guard: generations, approve, rollback (what `/v1/generations` serves). */
  readonly guard: PushGuard;
  /** Only with `enableFaults`: injects control-plane failures into what xDS clients see. */
  readonly faults?: FaultInjector;
  /** Only with `enableFaults`: the lab's faults (what `/v1/faults` drives), on top of `faults`. */
  readonly labFaults?: LabFaults;
  /** Graceful: stops accepting, ends ADS streams and DNS connections, flushes and closes the store. Idempotent. */
  close(): Promise<void>;
}

/**
 * Default values of every ServeOptions field but the logger. This file imports
 * nothing heavy at run time (guard/model.ts and health/model.ts hold only constants), so the CLI
 * reads these without loading the server.
 */
export const SERVE_DEFAULTS = {
  dataDir: "./.steadymesh",
  store: "sqlite",
  bind: "127.0.0.1",
  adminHosts: [] as readonly string[],
  xdsPort: 18000,
  adminPort: 18080,
  dnsPort: 18053,
  dnsDomain: "mesh",
  dnsTtlSeconds: 5,
  pushMinDelayMs: 100,
  pushMaxDelayMs: 10_000,
  guard: GUARD_DEFAULTS,
  rollout: ROLLOUT_DEFAULTS,
  retention: RETENTION_DEFAULTS,
  enableFaults: false,
  ttlGraceMs: TTL_GRACE_DEFAULT_MS,
  healthDamping: DAMPING_DEFAULTS,
  bodyLimit: 64 * 1024,
  auth: true,
  trustDomain: "steadymesh.local",
  certTtlMs: 24 * 3600 * 1000,
  insecureBind: false,
  labReportsDir: "./lab-reports",
} as const;

/** The three listeners of `serve`, by the name their start-up errors and log lines use. */
export type ListenerName = "xds" | "admin" | "dns";

/** Where one listener binds, and the flag that said so (`--xds-bind`, or `--bind` when that one was not given). */
export interface ListenerBind {
  readonly address: string;
  readonly flag: string;
}

/** Each listener's address: its own `--<listener>-bind`, else `--bind`. */
export function listenerBinds(options: Pick<ServeOptions, "bind" | "xdsBind" | "adminBind" | "dnsBind">): Record<ListenerName, ListenerBind> {
  const of = (own: string | undefined, flag: string): ListenerBind => (own === undefined ? { address: options.bind, flag: "--bind" } : { address: own, flag });
  return { xds: of(options.xdsBind, "--xds-bind"), admin: of(options.adminBind, "--admin-bind"), dns: of(options.dnsBind, "--dns-bind") };
}

/** Whether `address` (an IP address, or `localhost`) can be reached from this machine only. */
export function isLoopback(address: string): boolean {
  return address === "localhost" || address === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || /^::ffff:127\./i.test(address);
}
