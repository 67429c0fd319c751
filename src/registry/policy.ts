/**
 * A service's traffic policy (issue 18; the document format is a contract in
 * DESIGN.md, "Traffic policy"): subsets of its instances chosen by metadata,
 * and routes, first match wins, each sending its calls to subsets by weight,
 * with an optional timeout, retry policy and injected faults. A final
 * catch-all route to the whole service is implied.
 *
 * The policy is kept on the service's record (`Service.policy`), so it is
 * versioned with the registry in every store and each change is one registry
 * revision. Values here are already valid (see policy-validate.ts): every
 * route's subsets exist, weights add up to 100, regexes compile.
 */

/** gRPC status code names, uppercase as in the protos: fault aborts use these. */
export const GRPC_CODE_NAMES = [
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;
export type GrpcCodeName = (typeof GRPC_CODE_NAMES)[number];

/**
 * The codes a retry policy may name: lowercase and hyphenated, as Envoy's
 * `retry_on` spells them. Stock gRPC clients (gRFC A44) retry on exactly
 * these five and ignore any other `retry_on` entry.
 */
export const RETRY_CODES = ["cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"] as const;
export type RetryCode = (typeof RETRY_CODES)[number];

/** Stock gRPC clients cap attempts (the first call included) at 5 (gRFC A44). */
export const MAX_ATTEMPTS = 5;

/** A named group of a service's instances: those whose metadata holds every pair of `match`. */
export interface Subset {
  /** A DNS label (it names a Cluster `{service}/{subset}` and a DNS name `{subset}.{service}.service.{domain}`). */
  readonly name: string;
  /** At least one pair. */
  readonly match: Readonly<Record<string, string>>;
}

/** How one request header is matched. Exactly one of exact, prefix, regex, present. */
export interface HeaderMatch {
  readonly exact?: string;
  readonly prefix?: string;
  /** RE2 syntax, as stock clients accept it (safe_regex_match). */
  readonly regex?: string;
  readonly present?: true;
  /** Matches when the rule above does not. */
  readonly invert?: boolean;
}

/**
 * Which calls a route takes: at most one of `method` (exact,
 * `/package.Service/Method`) and `prefix` (a path prefix starting with `/`;
 * neither means every path), and every header of `headers`.
 */
export interface RouteMatch {
  readonly method?: string;
  readonly prefix?: string;
  readonly headers?: Readonly<Record<string, HeaderMatch>>;
}

/** Where a share of a route's calls go. */
export interface RouteTarget {
  readonly subset: string;
  /** An integer 0–100; the weights of one route add up to 100. Given as absent for a single target (100). */
  readonly weight: number;
}

export interface RetryPolicy {
  /** At least one. */
  readonly on: readonly RetryCode[];
  /** Attempts in all, the first call included: 2–MAX_ATTEMPTS. */
  readonly attempts: number;
  /** Absent: gRFC A44's defaults, 25 ms and 250 ms. */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
}

/** Faults the client injects itself (gRFC A33); `percent` is 0–100, in steps of 0.0001. */
export interface FaultPolicy {
  readonly delay?: { readonly ms: number; readonly percent: number };
  readonly abort?: { readonly code: GrpcCodeName; readonly percent: number };
}

export interface PolicyRoute {
  readonly match: RouteMatch;
  /** At least one target; each subset at most once. */
  readonly to: readonly RouteTarget[];
  /** The longest a call may take (max_stream_duration, gRFC A31); absent: the client's own deadline. */
  readonly timeoutMs?: number;
  readonly retry?: RetryPolicy;
  readonly fault?: FaultPolicy;
}

/**
 * Outlier detection (gRFC A50), per client and Cluster: endpoints that fail
 * are ejected for a while. At least one of the two detectors is given.
 */
export interface OutlierDetectionPolicy {
  /** Ejects an endpoint after this many consecutive failed calls (success_rate off); 1–1000. Absent: this detector is off. */
  readonly consecutiveErrors?: number;
  /** How often the client looks at its endpoints; 1–3600000 ms. Default 10000. */
  readonly intervalMs?: number;
  /** An ejection lasts baseEjectionMs × the number of times the endpoint was ejected; 1–3600000. Default 30000. */
  readonly baseEjectionMs?: number;
  /** At most this share of a Cluster's endpoints is ejected at once; 0–100. Default 10. */
  readonly maxEjectionPercent?: number;
  /** Ejects endpoints whose failure share over an interval is at least `threshold` percent. */
  readonly failurePercentage?: { readonly threshold: number; readonly minimumHosts: number; readonly requestVolume: number };
}

/** Load balancing over a Cluster's endpoints (gRFC A42 for ring_hash). */
export interface LoadBalancingPolicy {
  readonly policy: "round_robin" | "ring_hash";
  /** ring_hash only: the request header whose value picks the endpoint (route hash_policy). Absent: a random hash per call. */
  readonly hashOn?: { readonly header: string };
  /** ring_hash only: the ring's size bounds; 1–8388608 each, min ≤ max. Default 1024 and 8388608. */
  readonly ringSize?: { readonly min: number; readonly max: number };
}

/**
 * DNS fallback (gRFC A37): the service's Cluster becomes an aggregate of
 * its EDS Cluster, then a LOGICAL_DNS Cluster for `name:port`; a client
 * uses DNS only while EDS has no usable endpoint.
 */
export interface DnsFallbackPolicy {
  /** Absent: the service's own DNS name, `{service}.service.{domain}` (steadymesh's DNS view). */
  readonly name?: string;
  /** 1–65535. */
  readonly port: number;
}

/**
 * Locality failover: EDS priorities in this order (priority 0 first); a
 * client uses the first priority with a healthy endpoint. Localities not
 * listed come last, in one priority. Exactly one of zones and regions.
 */
export interface FailoverPolicy {
  readonly zones?: readonly string[];
  readonly regions?: readonly string[];
}

/** A service's whole policy, without the document's `service` key. */
export interface TrafficPolicy {
  readonly subsets: readonly Subset[];
  readonly routes: readonly PolicyRoute[];
  /** Issue 19 (each absent: off). */
  readonly outlierDetection?: OutlierDetectionPolicy;
  /** Circuit breaking (gRFC A32): the most calls one client may have in flight to one Cluster; 1–4294967295. */
  readonly maxRequests?: number;
  readonly loadBalancing?: LoadBalancingPolicy;
  readonly dnsFallback?: DnsFallbackPolicy;
  readonly failover?: FailoverPolicy;
}

/** One document of a policy file: the service it is for, and its policy. */
export interface PolicyDocument {
  readonly service: string;
  readonly policy: TrafficPolicy;
}

/** True when `metadata` holds every pair of the subset's `match`. */
export function inSubset(subset: Subset, metadata: Readonly<Record<string, string>>): boolean {
  return Object.entries(subset.match).every(([key, value]) => metadata[key] === value);
}

/** The name of a subset's Cluster and ClusterLoadAssignment: `{service}/{subset}` (a `/` never occurs in a service name). */
export function subsetResourceName(service: string, subset: string): string {
  return `${service}/${subset}`;
}
