/** The registry's data model: services and the instances that serve them. */
import type { TrafficPolicy } from "./policy.js";

export const PROTOCOLS = ["grpc", "http", "tcp"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Load-balancing policies that stock gRPC xDS clients accept (others are NACKed). */
export const LB_POLICIES = ["round_robin", "ring_hash"] as const;
export type LbPolicy = (typeof LB_POLICIES)[number];

/**
 * A service's mTLS mode (issue 16): `off` (the default) changes nothing;
 * `permissive` and `strict` give its instances server Listeners, and
 * `strict` makes callers dial it over mTLS (src/snapshot/security-resources.ts).
 */
export const MTLS_MODES = ["off", "permissive", "strict"] as const;
export type MtlsMode = (typeof MTLS_MODES)[number];

/** What an intention does to the calls of its source. */
export const INTENTION_ACTIONS = ["allow", "deny"] as const;
export type IntentionAction = (typeof INTENTION_ACTIONS)[number];

/** The source of the intention that sets a destination's default, as in Consul. */
export const ANY_SOURCE = "*";

/**
 * An instance's health. Only `healthy` and `unknown` instances are sent to
 * clients (EDS); `unhealthy` and `draining` ones are left out.
 */
export const HEALTH_STATES = ["healthy", "unhealthy", "unknown", "draining"] as const;
export type Health = (typeof HEALTH_STATES)[number];

/** How an active health check reaches an instance. */
export const HEALTH_CHECK_KINDS = ["grpc", "http", "tcp"] as const;
export type HealthCheckKind = (typeof HEALTH_CHECK_KINDS)[number];

/**
 * An active health check, run against every instance of the service (see
 * src/health). `grpc` calls `grpc.health.v1.Health/Check` with the service's
 * name and passes on SERVING; `http` GETs `path` and passes on 2xx; `tcp`
 * passes when a connection opens. A check that takes longer than `timeoutMs`
 * fails. An instance turns unhealthy after `unhealthyThreshold` failures in a
 * row and healthy again after `healthyThreshold` passes in a row.
 */
export interface HealthCheck {
  readonly kind: HealthCheckKind;
  /** Only for `http`: an absolute path, `/` by default. */
  readonly path?: string;
  /** Time between checks of one instance, before jitter; 1000–3600000. */
  readonly intervalMs: number;
  /** 100–60000 and less than intervalMs. */
  readonly timeoutMs: number;
  /** 1–10. */
  readonly healthyThreshold: number;
  /** 1–10. */
  readonly unhealthyThreshold: number;
}

export interface Service {
  /** DNS label: `[a-z0-9-]`, 1–63 characters, no leading or trailing hyphen. */
  readonly name: string;
  readonly protocol: Protocol;
  readonly lbPolicy: LbPolicy;
  readonly metadata: Readonly<Record<string, string>>;
  /** Absent: instances keep the health they were registered with (and TTLs still apply). */
  readonly healthCheck?: HealthCheck;
  /** Absent (records written before issue 16): `off`. */
  readonly mtls?: MtlsMode;
  /**
   * The intentions whose destination is this service, by source service
   * name, or ANY_SOURCE for the default of sources not named; a source
   * absent here (and without a default) is allowed. Absent: none.
   */
  readonly intentions?: Readonly<Record<string, IntentionAction>>;
  /**
   * The service's traffic policy (issue 18, policy.ts): subsets and routes.
   * Absent: served as one Listener, Route and Cluster, as without policies.
   */
  readonly policy?: TrafficPolicy;
}

export interface Instance {
  readonly service: string;
  /** DNS label, unique within its service. */
  readonly id: string;
  /** An IPv4 or IPv6 literal. */
  readonly address: string;
  /** 1–65535. */
  readonly port: number;
  /** Locality; empty string when not given. */
  readonly zone: string;
  readonly region: string;
  /** 1–10000; the locality's weight is the sum of its instances' weights. */
  readonly weight: number;
  readonly health: Health;
  readonly metadata: Readonly<Record<string, string>>;
  /**
   * Passive liveness: when set (1000–86400000), the instance must renew
   * with a heartbeat at least this often, or it turns unhealthy and, after
   * the server's grace period, is removed (see src/health).
   */
  readonly ttlMs?: number;
}
