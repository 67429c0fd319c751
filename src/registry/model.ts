/** The registry's data model: services and the instances that serve them. */

export const PROTOCOLS = ["grpc", "http", "tcp"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** Load-balancing policies that stock gRPC xDS clients accept (others are NACKed). */
export const LB_POLICIES = ["round_robin", "ring_hash"] as const;
export type LbPolicy = (typeof LB_POLICIES)[number];

/**
 * An instance's health. Only `healthy` and `unknown` instances are sent to
 * clients (EDS); `unhealthy` and `draining` ones are left out.
 */
export const HEALTH_STATES = ["healthy", "unhealthy", "unknown", "draining"] as const;
export type Health = (typeof HEALTH_STATES)[number];

export interface Service {
  /** DNS label: `[a-z0-9-]`, 1–63 characters, no leading or trailing hyphen. */
  readonly name: string;
  readonly protocol: Protocol;
  readonly lbPolicy: LbPolicy;
  readonly metadata: Readonly<Record<string, string>>;
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
}
