/**
 * Hand-written shapes of the protobuf messages steadymesh reads or writes, as
 * plain objects with the proto field names (snake_case). Only the fields we
 * use are declared; decoded objects carry the message's other fields too.
 *
 * Contract shared by encoder and decoder (see codec.ts):
 * - A field without `?` must be given when encoding and is always present
 *   after decoding (protobuf defaults filled in: "", 0, false, [], {}).
 * - A field with `?` is a sub-message or a oneof member: absent (never null)
 *   when unset.
 * - Enums are their names as strings. The unions below list the names we
 *   produce; a decoded message from elsewhere may hold any name of the enum.
 * - int64 values are numbers; bytes are Uint8Array (Buffer after decoding).
 * - google.protobuf.Struct fields are plain JSON objects.
 */
import type {
  CLUSTER_TYPE,
  DOWNSTREAM_TLS_CONTEXT_TYPE_NAME,
  ENDPOINT_TYPE,
  HTTP_CONNECTION_MANAGER_TYPE_NAME,
  HTTP_FAULT_TYPE_NAME,
  CLUSTER_CONFIG_TYPE_NAME,
  LISTENER_TYPE,
  RBAC_TYPE_NAME,
  ROUTE_TYPE,
  ROUTER_TYPE_NAME,
  UPSTREAM_TLS_CONTEXT_TYPE_NAME,
} from "./type-urls.js";

/** The JSON a google.protobuf.Struct / Value holds. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** google.protobuf.Any. */
export interface Any {
  /** `type.googleapis.com/<fully qualified message name>`. */
  type_url: string;
  /** The encoded inner message. */
  value: Uint8Array;
}

/** A message without fields, e.g. AggregatedConfigSource. */
export type Empty = Record<string, never>;

/** google.protobuf.UInt32Value. */
export interface UInt32Value {
  value: number;
}

/** google.protobuf.Duration. */
export interface Duration {
  seconds: number;
  nanos?: number;
}

/** google.rpc.Status, as carried in `error_detail`. */
export interface Status {
  code: number;
  message: string;
  details?: Any[];
}

// ---- Resources ------------------------------------------------------------

/** envoy.config.core.v3.ConfigSource: always "over the same ADS stream". */
export interface ConfigSource {
  ads: Empty;
  resource_api_version: "V3";
}

/**
 * envoy.config.listener.v3.Listener: an API listener (gRPC clients), or a
 * server Listener (gRFC A36: an XdsServer's own, with an address and filter
 * chains). `filter_chains` is optional here only so that API listeners can
 * leave it out; decoding always fills it in.
 */
export interface Listener {
  name: string;
  api_listener?: { api_listener?: Any };
  address?: { socket_address?: SocketAddress };
  filter_chains?: FilterChain[];
  default_filter_chain?: FilterChain;
}

/** envoy.config.listener.v3.FilterChain, as gRPC servers read it: one HttpConnectionManager filter. */
export interface FilterChain {
  name: string;
  filters: NetworkFilter[];
  transport_socket?: TransportSocket;
}

/** envoy.config.listener.v3.Filter. */
export interface NetworkFilter {
  name: string;
  typed_config?: Any;
}

/** envoy.config.core.v3.TransportSocket: `envoy.transport_sockets.tls` holding a Downstream/UpstreamTlsContext. */
export interface TransportSocket {
  name: string;
  typed_config?: Any;
}

/** envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager. */
export interface HttpConnectionManager {
  stat_prefix?: string;
  rds?: { config_source: ConfigSource; route_config_name: string };
  /** Inline routes, instead of rds: what a server Listener's filter chain carries. */
  route_config?: RouteConfiguration;
  /** The router must be the last filter, or gRPC clients NACK the Listener. */
  http_filters: HttpFilter[];
}

export interface HttpFilter {
  name: string;
  typed_config?: Any;
}

/** envoy.extensions.filters.http.router.v3.Router: we set none of its fields. */
export type Router = Empty;

/** envoy.config.route.v3.RouteConfiguration. */
export interface RouteConfiguration {
  name: string;
  virtual_hosts: VirtualHost[];
}

export interface VirtualHost {
  name: string;
  domains: string[];
  routes: Route[];
}

export interface Route {
  match?: RouteMatch;
  route?: RouteAction;
  /** The action of a server Listener's routes (gRFC A36); a client NACKs it. */
  non_forwarding_action?: Empty;
  /** Filter name → its per-route config (the fault filter's HTTPFault, gRFC A33). */
  typed_per_filter_config?: Record<string, Any>;
}

/** envoy.config.route.v3.RouteMatch: one path specifier, and headers that must all match (gRFC A28). */
export interface RouteMatch {
  prefix?: string;
  path?: string;
  headers?: HeaderMatcher[];
}

/** envoy.config.route.v3.HeaderMatcher (the specifiers gRPC clients support that a policy uses). */
export interface HeaderMatcher {
  name: string;
  exact_match?: string;
  prefix_match?: string;
  safe_regex_match?: { google_re2: Empty; regex: string };
  present_match?: boolean;
  invert_match?: boolean;
}

/** envoy.config.route.v3.RouteAction: one cluster, or weighted clusters (gRFC A28), with a timeout (A31) and retries (A44). */
export interface RouteAction {
  cluster?: string;
  weighted_clusters?: { clusters: { name: string; weight: UInt32Value }[] };
  max_stream_duration?: { max_stream_duration: Duration };
  retry_policy?: RouteRetryPolicy;
  /** gRFC A42: what a ring_hash Cluster hashes a call on. */
  hash_policy?: RouteHashPolicy[];
}

/** envoy.config.route.v3.RouteAction.HashPolicy, the header form (the one steadymesh sends). */
export interface RouteHashPolicy {
  header: { header_name: string };
}

/** envoy.config.route.v3.RetryPolicy as gRFC A44 reads it. */
export interface RouteRetryPolicy {
  /** gRPC status names, lowercase and hyphenated, comma-separated. */
  retry_on: string;
  num_retries: UInt32Value;
  retry_back_off?: { base_interval: Duration; max_interval: Duration };
}

/** envoy.type.v3.FractionalPercent. */
export interface FractionalPercent {
  numerator: number;
  denominator: "HUNDRED" | "TEN_THOUSAND" | "MILLION";
}

/** envoy.extensions.filters.http.fault.v3.HTTPFault: a fixed delay and a gRPC abort, each for a share of calls (gRFC A33). */
export interface HttpFault {
  delay?: { fixed_delay: Duration; percentage: FractionalPercent };
  abort?: { grpc_status: number; percentage: FractionalPercent };
}

export type LbPolicyName = "ROUND_ROBIN" | "RING_HASH";

/** envoy.config.cluster.v3.Cluster, always of type EDS. */
export interface Cluster {
  name: string;
  /** EDS, or LOGICAL_DNS (a DNS fallback's child, gRFC A37); unset for an aggregate cluster, which sets cluster_type. */
  type?: "EDS" | "LOGICAL_DNS";
  eds_cluster_config?: { eds_config?: ConfigSource; service_name: string };
  /** An aggregate cluster: name `envoy.clusters.aggregate`, typed_config a packed ClusterConfig. */
  cluster_type?: { name: string; typed_config: Any };
  /** LOGICAL_DNS only: one locality with one endpoint whose socket_address holds the host name and port. */
  load_assignment?: ClusterLoadAssignment;
  lb_policy: LbPolicyName;
  ring_hash_lb_config?: { hash_function: "XX_HASH"; minimum_ring_size?: UInt64Value; maximum_ring_size?: UInt64Value };
  connect_timeout?: Duration;
  /** gRFC A50. */
  outlier_detection?: OutlierDetection;
  /** gRFC A32: gRPC clients read max_requests of the DEFAULT priority's threshold. */
  circuit_breakers?: { thresholds: { priority: "DEFAULT"; max_requests: UInt32Value }[] };
  /** `envoy.transport_sockets.tls` with an UpstreamTlsContext: mTLS to the cluster's endpoints (gRFC A29). */
  transport_socket?: TransportSocket;
}

/** google.protobuf.UInt64Value (as a number: ring sizes stay far below 2^53). */
export interface UInt64Value {
  value: number;
}

/**
 * envoy.config.cluster.v3.OutlierDetection, the fields steadymesh sends.
 * gRPC clients (gRFC A50) read interval, base_ejection_time,
 * max_ejection_time, max_ejection_percent and the success_rate_* and
 * failure_percentage_* fields; Envoy also reads consecutive_5xx.
 */
export interface OutlierDetection {
  interval?: Duration;
  base_ejection_time?: Duration;
  max_ejection_percent?: UInt32Value;
  consecutive_5xx?: UInt32Value;
  enforcing_consecutive_5xx: UInt32Value;
  enforcing_success_rate: UInt32Value;
  failure_percentage_threshold?: UInt32Value;
  failure_percentage_minimum_hosts?: UInt32Value;
  failure_percentage_request_volume?: UInt32Value;
  enforcing_failure_percentage: UInt32Value;
}

// ---- Security (gRFC A29, A41) ---------------------------------------------

/** google.protobuf.BoolValue. */
export interface BoolValue {
  value: boolean;
}

/** envoy.extensions.transport_sockets.tls.v3.CertificateProviderPluginInstance: a `certificate_providers` entry of the bootstrap, by name. */
export interface CertificateProviderPluginInstance {
  instance_name: string;
  certificate_name?: string;
}

/** envoy.type.matcher.v3.StringMatcher (one member of match_pattern). */
export interface StringMatcher {
  exact?: string;
  prefix?: string;
  suffix?: string;
  ignore_case?: boolean;
}

/** envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext. */
export interface CertificateValidationContext {
  ca_certificate_provider_instance?: CertificateProviderPluginInstance;
  /** On a client: the peer's certificate must carry one of these SANs. gRPC servers ignore it. */
  match_subject_alt_names?: StringMatcher[];
}

/** envoy.extensions.transport_sockets.tls.v3.CommonTlsContext, with certificates from bootstrap providers only. */
export interface CommonTlsContext {
  tls_certificate_provider_instance?: CertificateProviderPluginInstance;
  validation_context?: CertificateValidationContext;
}

export interface DownstreamTlsContext {
  common_tls_context?: CommonTlsContext;
  require_client_certificate?: BoolValue;
}

export interface UpstreamTlsContext {
  common_tls_context?: CommonTlsContext;
}

/** envoy.config.rbac.v3.Principal (the members steadymesh writes). */
export interface RbacPrincipal {
  any?: boolean;
  authenticated?: { principal_name?: StringMatcher };
  or_ids?: { ids: RbacPrincipal[] };
}

/** envoy.config.rbac.v3.Permission (the members steadymesh writes). */
export interface RbacPermission {
  any?: boolean;
}

export interface RbacPolicy {
  permissions: RbacPermission[];
  principals: RbacPrincipal[];
}

/** envoy.extensions.filters.http.rbac.v3.RBAC, the HTTP filter (gRFC A41). */
export interface Rbac {
  /** Absent: Envoy does not filter; gRPC servers NACK the Listener. */
  rules?: { action: "ALLOW" | "DENY"; policies: Record<string, RbacPolicy> };
}

/** envoy.config.core.v3.Locality. */
export interface Locality {
  region: string;
  zone: string;
  sub_zone?: string;
}

export type HealthStatus = "UNKNOWN" | "HEALTHY" | "UNHEALTHY" | "DRAINING" | "TIMEOUT" | "DEGRADED";

export interface SocketAddress {
  address: string;
  port_value?: number;
}

export interface LbEndpoint {
  endpoint?: { address?: { socket_address?: SocketAddress } };
  health_status: HealthStatus;
  load_balancing_weight?: UInt32Value;
}

export interface LocalityLbEndpoints {
  /** Required by gRPC clients: a missing locality NACKs the whole resource. */
  locality?: Locality;
  /** gRPC clients silently drop a locality without a weight. */
  load_balancing_weight?: UInt32Value;
  priority?: number;
  lb_endpoints: LbEndpoint[];
}

/** envoy.config.endpoint.v3.ClusterLoadAssignment. */
export interface ClusterLoadAssignment {
  cluster_name: string;
  endpoints: LocalityLbEndpoints[];
}

/** The message each resource type URL carries. */
export interface ResourceMessage {
  [LISTENER_TYPE]: Listener;
  [ROUTE_TYPE]: RouteConfiguration;
  [CLUSTER_TYPE]: Cluster;
  [ENDPOINT_TYPE]: ClusterLoadAssignment;
}

/** The messages packed into nested Anys inside resources. */
export interface PackableMessage {
  [HTTP_CONNECTION_MANAGER_TYPE_NAME]: HttpConnectionManager;
  [ROUTER_TYPE_NAME]: Router;
  [RBAC_TYPE_NAME]: Rbac;
  [HTTP_FAULT_TYPE_NAME]: HttpFault;
  [DOWNSTREAM_TLS_CONTEXT_TYPE_NAME]: DownstreamTlsContext;
  [UPSTREAM_TLS_CONTEXT_TYPE_NAME]: UpstreamTlsContext;
  [CLUSTER_CONFIG_TYPE_NAME]: ClusterConfig;
}

/** envoy.extensions.clusters.aggregate.v3.ClusterConfig: the child Clusters, in priority order (gRFC A37). */
export interface ClusterConfig {
  clusters: string[];
}
export type PackableTypeName = keyof PackableMessage;

