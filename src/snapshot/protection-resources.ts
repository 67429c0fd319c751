/**
 * A policy's cluster-level protections (issue 19) as xDS, pure: outlier
 * detection (gRFC A50), circuit breaking (A32) and ring hash (A42) on the
 * service's Cluster and on each subset's Cluster alike, and ring hash's
 * hash_policy on every route of the service's RouteConfiguration. A policy
 * without these fields leaves the Cluster and routes exactly as before.
 */
import type { Cluster, Duration, OutlierDetection, RouteHashPolicy } from "../proto/index.js";
import type { OutlierDetectionPolicy, TrafficPolicy } from "../registry/index.js";

/** An Envoy enforcing_* percentage: the detector ejects (100) or only counts (0). */
const ON = { value: 100 } as const;
const OFF = { value: 0 } as const;

/**
 * `cluster` with `policy`'s protections: outlier_detection, circuit_breakers
 * with one DEFAULT threshold, and the policy's loadBalancing in place of the
 * service's lbPolicy (RING_HASH with XX_HASH, the only hash gRPC clients
 * accept, and the ring sizes when given). The same object when the policy
 * sets none of them.
 */
export function withTrafficProtection(cluster: Cluster, policy: TrafficPolicy | undefined): Cluster {
  if (!policy || !hasProtection(policy)) return cluster;
  const result: Cluster = { ...cluster };
  if (policy.outlierDetection) result.outlier_detection = outlierDetectionOf(policy.outlierDetection);
  if (policy.maxRequests !== undefined) result.circuit_breakers = { thresholds: [{ priority: "DEFAULT", max_requests: { value: policy.maxRequests } }] };
  const balancing = policy.loadBalancing;
  if (balancing?.policy === "round_robin") {
    result.lb_policy = "ROUND_ROBIN";
    delete result.ring_hash_lb_config;
  } else if (balancing?.policy === "ring_hash") {
    result.lb_policy = "RING_HASH";
    const sizes = balancing.ringSize;
    result.ring_hash_lb_config = sizes
      ? { minimum_ring_size: { value: sizes.min }, maximum_ring_size: { value: sizes.max }, hash_function: "XX_HASH" }
      : { hash_function: "XX_HASH" };
  }
  return result;
}

/**
 * Envoy's fields for the policy's detectors: those it configures enforce at
 * 100 %, the others at 0, so that neither a client's defaults (success rate
 * is on by default in gRPC and Envoy, consecutive 5xx in Envoy) nor a
 * detector the policy did not ask for ejects anything. gRPC clients (A50)
 * have no consecutive-errors detector: they ignore consecutive_5xx.
 */
export function outlierDetectionOf(policy: OutlierDetectionPolicy): OutlierDetection {
  const result: OutlierDetection = { enforcing_consecutive_5xx: OFF, enforcing_success_rate: OFF, enforcing_failure_percentage: OFF };
  if (policy.intervalMs !== undefined) result.interval = durationOf(policy.intervalMs);
  if (policy.baseEjectionMs !== undefined) result.base_ejection_time = durationOf(policy.baseEjectionMs);
  if (policy.maxEjectionPercent !== undefined) result.max_ejection_percent = { value: policy.maxEjectionPercent };
  if (policy.consecutiveErrors !== undefined) {
    result.consecutive_5xx = { value: policy.consecutiveErrors };
    result.enforcing_consecutive_5xx = ON;
  }
  const failure = policy.failurePercentage;
  if (failure) {
    result.failure_percentage_threshold = { value: failure.threshold };
    result.failure_percentage_minimum_hosts = { value: failure.minimumHosts };
    result.failure_percentage_request_volume = { value: failure.requestVolume };
    result.enforcing_failure_percentage = ON;
  }
  return result;
}

/** The hash_policy every route of the service carries: the hashOn header, for a ring_hash policy; none otherwise. */
export function routeHashPolicy(policy: TrafficPolicy | undefined): RouteHashPolicy[] | undefined {
  const balancing = policy?.loadBalancing;
  if (balancing?.policy !== "ring_hash" || !balancing.hashOn) return undefined;
  return [{ header: { header_name: balancing.hashOn.header } }];
}

/** Equal for policies whose protections encode alike (the Clusters' memoization key). */
export function protectionKey(policy: TrafficPolicy | undefined): string {
  if (!policy || !hasProtection(policy)) return "";
  return JSON.stringify([policy.outlierDetection ?? null, policy.maxRequests ?? null, policy.loadBalancing ?? null]);
}

function hasProtection(policy: TrafficPolicy): boolean {
  return policy.outlierDetection !== undefined || policy.maxRequests !== undefined || policy.loadBalancing !== undefined;
}

function durationOf(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1e6;
  return nanos === 0 ? { seconds } : { seconds, nanos };
}
