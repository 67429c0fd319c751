import { show } from "../errors/index.js";
import { AGGREGATE_CLUSTER_TYPE, CLUSTER_CONFIG_TYPE_NAME, CLUSTER_TYPE, ENDPOINT_TYPE, ProtoDecodeError, typeUrlOf, type Any, type Codec } from "../proto/index.js";
import { decodeResource, equalDecoded, type Decoded } from "./decode.js";
import { anyOf, enumName, isSet, messages, num, sub, text, whichOf, wrapped, type Findings, type Message } from "./fields.js";
import type { Reference, ResourceType } from "./resource-type.js";
import { validateTransportSocket } from "./tls-context.js";

/** gRPC's (and Envoy's) ceiling for ring_hash_lb_config ring sizes. */
const MAX_RING_SIZE = 8_388_608;
/** The ring sizes a client assumes when the config leaves them unset. */
const DEFAULT_MIN_RING_SIZE = 1024;
const DEFAULT_MAX_RING_SIZE = MAX_RING_SIZE;

const DISCOVERY_TYPES = "EDS, LOGICAL_DNS, or cluster_type envoy.clusters.aggregate";

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
  references: (codec, decoded) => clusterReferences(codec, decoded),
};

/**
 * Reports what grpc-js-xds (ClusterResourceType.validateResource) NACKs in a
 * Cluster, narrowed to what steadymesh serves, plus Envoy's field rules:
 * - type EDS with eds_cluster_config whose eds_config is `ads` (or `self`,
 *   which the client also accepts; an `xdstp:` name needs a service_name);
 *   or type LOGICAL_DNS with a load_assignment of exactly one locality of
 *   exactly one endpoint with a socket_address host and port_value; or a
 *   cluster_type `envoy.clusters.aggregate` whose ClusterConfig names at
 *   least one Cluster (gRFC A37: DNS fallback);
 * - lb_policy ROUND_ROBIN or RING_HASH; for RING_HASH, hash_function XX_HASH
 *   and ring sizes at most 8,388,608 with minimum ≤ maximum (Envoy); when
 *   load_balancing_policy is set the client ignores lb_policy and uses the
 *   first entry it knows, which must be RoundRobin for the guard to pass it;
 * - lrs_server, when set, is `self`; outlier_detection durations and
 *   percentages in range; a transport_socket, when set, holds an
 *   UpstreamTlsContext gRPC accepts (validateTransportSocket);
 * - a non-empty name and a connect_timeout, when set, above zero (Envoy).
 */
export function validateCluster(codec: Codec, cluster: Message, findings: Findings): void {
  if (text(cluster["name"]) === "") findings.add("name", "must not be empty");
  checkDiscoveryType(codec, cluster, findings);
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

function checkDiscoveryType(codec: Codec, cluster: Message, findings: Findings): void {
  if (isSet(cluster, "cluster_type")) {
    checkAggregate(codec, sub(cluster, "cluster_type"), findings.at("cluster_type"));
    return;
  }
  const type = cluster["type"];
  if (type === undefined) {
    findings.add("type", `is required; allowed: ${DISCOVERY_TYPES}`);
    return;
  }
  if (type === "LOGICAL_DNS") {
    checkLogicalDns(cluster, findings);
    return;
  }
  if (type !== "EDS") {
    findings.add("type", `${enumName(type)} is not supported by gRPC clients; allowed: ${DISCOVERY_TYPES}`);
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

/** An aggregate cluster (gRFC A37): typed_config a ClusterConfig with at least one child (grpc-js), named envoy.clusters.aggregate (Envoy). */
function checkAggregate(codec: Codec, clusterType: Message | undefined, findings: Findings): void {
  if (text(clusterType?.["name"]) !== AGGREGATE_CLUSTER_TYPE) {
    findings.add("name", `must be ${AGGREGATE_CLUSTER_TYPE} (the only custom cluster gRPC clients support), got ${show(clusterType?.["name"])}`);
  }
  const any = anyOf(clusterType, "typed_config");
  if (!any) {
    findings.add("typed_config", `is required; allowed: a ${CLUSTER_CONFIG_TYPE_NAME}`);
    return;
  }
  if (any.type_url !== typeUrlOf(CLUSTER_CONFIG_TYPE_NAME)) {
    findings.add("typed_config.type_url", `${show(any.type_url)} is not supported by gRPC clients; allowed: ${typeUrlOf(CLUSTER_CONFIG_TYPE_NAME)}`);
    return;
  }
  const children = aggregateChildren(codec, any, findings);
  if (children && children.length === 0) findings.add("typed_config.clusters", "must name at least one Cluster");
  children?.forEach((child, i) => {
    if (child === "") findings.add(`typed_config.clusters[${i}]`, "must not be empty");
  });
}

/** The children of an aggregate's ClusterConfig, or undefined (reported) when it does not decode. */
function aggregateChildren(codec: Codec, any: Any, findings?: Findings): string[] | undefined {
  try {
    return codec.unpackAny(CLUSTER_CONFIG_TYPE_NAME, any).clusters;
  } catch (error) {
    if (!(error instanceof ProtoDecodeError)) throw error;
    findings?.add("typed_config", `does not decode as ${CLUSTER_CONFIG_TYPE_NAME}: ${error.message}`);
    return undefined;
  }
}

/** A LOGICAL_DNS cluster, as grpc-js-xds reads it: load_assignment with exactly one locality of exactly one endpoint, a host name (or address) and a port_value. */
function checkLogicalDns(cluster: Message, findings: Findings): void {
  const assignment = sub(cluster, "load_assignment");
  if (!assignment) {
    findings.add("load_assignment", "is required for type LOGICAL_DNS: one locality with one endpoint, the host name and port to resolve");
    return;
  }
  const localities = messages(assignment["endpoints"]);
  if (localities.length !== 1) {
    findings.add("load_assignment.endpoints", `must hold exactly one locality for type LOGICAL_DNS, got ${localities.length}`);
    return;
  }
  const endpoints = messages(localities[0]?.["lb_endpoints"]);
  if (endpoints.length !== 1) {
    findings.add("load_assignment.endpoints[0].lb_endpoints", `must hold exactly one endpoint for type LOGICAL_DNS, got ${endpoints.length}`);
    return;
  }
  const path = "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address";
  const socket = sub(sub(sub(endpoints[0], "endpoint"), "address"), "socket_address");
  if (!socket) {
    findings.add(path, "is required for type LOGICAL_DNS: the host name and port to resolve");
    return;
  }
  if (text(socket["address"]) === "") findings.add(`${path}.address`, "must not be empty: the host name to resolve");
  const port = socket["port_value"];
  if (whichOf(socket, ["port_value", "named_port"]) !== "port_value") findings.add(`${path}.port_value`, "is required; named_port is not supported by gRPC clients");
  else if (typeof port !== "number" || port < 1 || port > 65535) findings.add(`${path}.port_value`, `must be 1-65535, got ${show(port)}`);
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

/**
 * An EDS cluster's ClusterLoadAssignment (eds_cluster_config.service_name,
 * else the cluster's own name); an aggregate cluster's children (Clusters).
 * Throws ProtoDecodeError for a ClusterConfig that does not decode.
 */
function clusterReferences(codec: Codec, decoded: Decoded<typeof CLUSTER_TYPE>): Reference[] {
  const cluster = decoded.message;
  if (cluster.cluster_type) {
    const children = codec.unpackAny(CLUSTER_CONFIG_TYPE_NAME, cluster.cluster_type.typed_config).clusters;
    return children.map((name, i) => ({ path: `cluster_type.typed_config.clusters[${i}]`, type: CLUSTER_TYPE, name }));
  }
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
