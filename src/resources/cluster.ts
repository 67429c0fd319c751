import { show } from "../errors/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, type Codec } from "../proto/index.js";
import { decodeResource, equalDecoded, type Decoded } from "./decode.js";
import { anyOf, enumName, isSet, messages, num, sub, text, whichOf, wrapped, type Findings, type Message } from "./fields.js";
import type { Reference, ResourceType } from "./resource-type.js";
import { validateTransportSocket } from "./tls-context.js";

/** gRPC's (and Envoy's) ceiling for ring_hash_lb_config ring sizes. */
const MAX_RING_SIZE = 8_388_608;
/** The ring sizes a client assumes when the config leaves them unset. */
const DEFAULT_MIN_RING_SIZE = 1024;
const DEFAULT_MAX_RING_SIZE = MAX_RING_SIZE;

const SUPPORTED_LB_POLICIES = ["ROUND_ROBIN", "RING_HASH"] as const;

const POLICY_PREFIX = "type.googleapis.com/envoy.extensions.load_balancing_policies";
const ROUND_ROBIN_POLICY = `${POLICY_PREFIX}.round_robin.v3.RoundRobin`;
/**
 * load_balancing_policy entries grpc-js-xds would parse (lb-policy-registry.js)
 * but whose config the codec cannot read, so the guard cannot tell whether
 * the client accepts them (RingHash, for one, needs an explicit XX_HASH).
 */
const UNVERIFIABLE_POLICIES = new Set([
  `${POLICY_PREFIX}.ring_hash.v3.RingHash`,
  `${POLICY_PREFIX}.wrr_locality.v3.WrrLocality`,
  "type.googleapis.com/xds.type.v3.TypedStruct",
  "type.googleapis.com/udpa.type.v1.TypedStruct",
]);

/** google.protobuf.Duration's largest seconds value. */
const MAX_DURATION_SECONDS = 315_576_000_000;
const OUTLIER_DURATIONS = ["interval", "base_ejection_time", "max_ejection_time"] as const;
const OUTLIER_PERCENTAGES = ["max_ejection_percent", "enforcing_success_rate", "failure_percentage_threshold", "enforcing_failure_percentage"] as const;

/** envoy.config.cluster.v3.Cluster: how to balance a route's traffic, and where its endpoints come from. */
export const clusterResource: ResourceType<typeof CLUSTER_TYPE> = {
  typeUrl: CLUSTER_TYPE,
  decode: (codec, body) => decodeResource(codec, CLUSTER_TYPE, body),
  validate: (codec, decoded, findings) => validateCluster(codec, decoded.message as unknown as Message, findings),
  equal: equalDecoded,
  references: (_codec, decoded) => clusterReferences(decoded),
};

/**
 * Reports what grpc-js-xds (ClusterResourceType.validateResource) NACKs in a
 * Cluster, narrowed to what steadymesh serves, plus Envoy's field rules:
 * - type EDS (not LOGICAL_DNS or a custom/aggregate cluster_type, which
 *   steadymesh never serves) with eds_cluster_config whose eds_config is
 *   `ads` (or `self`, which the client also accepts); an `xdstp:` name needs
 *   a service_name;
 * - lb_policy ROUND_ROBIN or RING_HASH; for RING_HASH, hash_function XX_HASH
 *   and ring sizes at most 8,388,608 with minimum ≤ maximum (Envoy); when
 *   load_balancing_policy is set the client ignores lb_policy and uses the
 *   first entry it knows, which must be RoundRobin for the guard to pass it;
 * - lrs_server, when set, is `self`; outlier_detection (gRFC A50)
 *   durations non-negative and max_ejection_percent, enforcing_success_rate,
 *   failure_percentage_threshold and enforcing_failure_percentage 0-100 (the
 *   client checks no other outlier field, and reads no consecutive_* one);
 *   circuit_breakers (A32) is accepted as is: the client takes max_requests
 *   of the last DEFAULT-priority threshold; a transport_socket, when set, holds an
 *   UpstreamTlsContext gRPC accepts (validateTransportSocket);
 * - a non-empty name and a connect_timeout, when set, above zero (Envoy).
 */
export function validateCluster(codec: Codec, cluster: Message, findings: Findings): void {
  if (text(cluster["name"]) === "") findings.add("name", "must not be empty");
  checkDiscoveryType(cluster, findings);
  const policy = sub(cluster, "load_balancing_policy");
  if (policy) checkLoadBalancingPolicy(policy, findings.at("load_balancing_policy"));
  else checkLbPolicy(cluster, findings);
  const lrs = sub(cluster, "lrs_server");
  if (lrs && !isSet(lrs, "self")) findings.add("lrs_server", "must be `self` when set; gRPC clients report load only to the server that sent the Cluster");
  const outlier = sub(cluster, "outlier_detection");
  if (outlier) checkOutlierDetection(outlier, findings.at("outlier_detection"));
  const socket = sub(cluster, "transport_socket");
  if (socket) validateTransportSocket(codec, socket, "upstream", findings.at("transport_socket"));
  const timeout = sub(cluster, "connect_timeout");
  if (timeout && durationNanos(timeout) <= 0) findings.add("connect_timeout", `must be greater than 0 (Envoy), got ${show(timeout)}`);
}

function checkDiscoveryType(cluster: Message, findings: Findings): void {
  if (isSet(cluster, "cluster_type")) {
    findings.add("cluster_type", "custom (aggregate) clusters are not supported by steadymesh; allowed: type EDS");
    return;
  }
  const type = cluster["type"];
  if (type === undefined) {
    findings.add("type", "is required; allowed: EDS");
    return;
  }
  if (type !== "EDS") {
    findings.add("type", `${enumName(type)} is not supported by steadymesh; allowed: EDS`);
    return;
  }
  const eds = sub(cluster, "eds_cluster_config");
  if (!eds) {
    findings.add("eds_cluster_config", "is required for type EDS");
    return;
  }
  const source = sub(eds, "eds_config");
  const specifier = whichOf(source, ["ads", "self", "path", "path_config_source", "api_config_source"]);
  if (specifier !== "ads" && specifier !== "self") {
    findings.add("eds_cluster_config.eds_config", `must fetch endpoints over ADS, got ${specifier ?? "no config source"}; allowed: ads (or self)`);
  }
  if (text(cluster["name"]).startsWith("xdstp:") && text(eds["service_name"]) === "") {
    findings.add("eds_cluster_config.service_name", "is required when the name starts with xdstp:");
  }
}

/** lb_policy, as grpc-js-xds reads it when load_balancing_policy is unset. */
function checkLbPolicy(cluster: Message, findings: Findings): void {
  const policy = cluster["lb_policy"] ?? "ROUND_ROBIN";
  if (policy === "ROUND_ROBIN") return;
  if (policy !== "RING_HASH") {
    findings.add("lb_policy", `${enumName(policy)} is not supported by gRPC clients; allowed: ${SUPPORTED_LB_POLICIES.join(", ")}`);
    return;
  }
  const config = sub(cluster, "ring_hash_lb_config");
  if (!config) return;
  const hash = config["hash_function"] ?? "XX_HASH";
  if (hash !== "XX_HASH") {
    findings.add("ring_hash_lb_config.hash_function", `${enumName(hash)} is not supported by gRPC clients; allowed: XX_HASH`);
  }
  const min = num(wrapped(config, "minimum_ring_size")) ?? DEFAULT_MIN_RING_SIZE;
  const max = num(wrapped(config, "maximum_ring_size")) ?? DEFAULT_MAX_RING_SIZE;
  if (min > MAX_RING_SIZE) findings.add("ring_hash_lb_config.minimum_ring_size", `must be at most ${MAX_RING_SIZE}, got ${min}`);
  if (max > MAX_RING_SIZE) findings.add("ring_hash_lb_config.maximum_ring_size", `must be at most ${MAX_RING_SIZE}, got ${max}`);
  if (min > max) findings.add("ring_hash_lb_config", `minimum_ring_size (${min}) must not exceed maximum_ring_size (${max})`);
}

/** Mirrors convertToLoadBalancingConfig: the first entry of a registered type wins; entries of other types are skipped. */
function checkLoadBalancingPolicy(policy: Message, findings: Findings): void {
  for (const [i, candidate] of messages(policy["policies"]).entries()) {
    const typeUrl = anyOf(sub(candidate, "typed_extension_config"), "typed_config")?.type_url;
    if (typeUrl === ROUND_ROBIN_POLICY) return;
    if (typeUrl !== undefined && UNVERIFIABLE_POLICIES.has(typeUrl)) {
      findings.add(`policies[${i}]`, `${typeUrl} cannot be verified by the guard; allowed: ${ROUND_ROBIN_POLICY}, or lb_policy instead`);
      return;
    }
  }
  findings.add("", `has no policy gRPC clients support; allowed: ${ROUND_ROBIN_POLICY}, or lb_policy instead`);
}

function checkOutlierDetection(outlier: Message, findings: Findings): void {
  for (const name of OUTLIER_DURATIONS) {
    const duration = sub(outlier, name);
    if (!duration) continue;
    const seconds = num(duration["seconds"]) ?? 0;
    const nanos = num(duration["nanos"]) ?? 0;
    if (seconds < 0 || seconds > MAX_DURATION_SECONDS || nanos < 0 || nanos > 999_999_999) {
      findings.add(name, `must be a non-negative duration of at most ${MAX_DURATION_SECONDS}s, got ${show(duration)}`);
    }
  }
  for (const name of OUTLIER_PERCENTAGES) {
    const value = wrapped(outlier, name);
    if (typeof value === "number" && value > 100) findings.add(`${name}.value`, `must be 0-100, got ${value}`);
  }
}

function durationNanos(duration: Message): number {
  return (num(duration["seconds"]) ?? 0) * 1e9 + (num(duration["nanos"]) ?? 0);
}

/** An EDS cluster's ClusterLoadAssignment: eds_cluster_config.service_name, else the cluster's own name. */
function clusterReferences(decoded: Decoded<typeof CLUSTER_TYPE>): Reference[] {
  const cluster = decoded.message;
  if (cluster.type !== "EDS") return [];
  const serviceName = cluster.eds_cluster_config?.service_name ?? "";
  return [serviceName
    ? { path: "eds_cluster_config.service_name", type: ENDPOINT_TYPE, name: serviceName }
    : { path: "name", type: ENDPOINT_TYPE, name: cluster.name }];
}

/** The name of the ClusterLoadAssignment an EDS cluster asks for: its eds service_name, else its own name. */
export function edsServiceName(cluster: Decoded<typeof CLUSTER_TYPE>): string {
  return cluster.message.eds_cluster_config?.service_name || cluster.message.name;
}
