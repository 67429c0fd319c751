/** The four xDS resource types steadymesh serves, with their exact type URLs. */
export const LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener" as const;
export const ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration" as const;
export const CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster" as const;
export const ENDPOINT_TYPE = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment" as const;

export type ResourceTypeUrl = typeof LISTENER_TYPE | typeof ROUTE_TYPE | typeof CLUSTER_TYPE | typeof ENDPOINT_TYPE;

/** In dependency order: LDS → RDS → CDS → EDS. */
export const RESOURCE_TYPES: readonly ResourceTypeUrl[] = [LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE];

/** Short names for logs, metrics and the admin API. */
export const TYPE_SHORT_NAMES: Readonly<Record<ResourceTypeUrl, "LDS" | "RDS" | "CDS" | "EDS">> = {
  [LISTENER_TYPE]: "LDS",
  [ROUTE_TYPE]: "RDS",
  [CLUSTER_TYPE]: "CDS",
  [ENDPOINT_TYPE]: "EDS",
};

export function isResourceTypeUrl(value: string): value is ResourceTypeUrl {
  return (RESOURCE_TYPES as readonly string[]).includes(value);
}

/** `LDS` for a known type URL, the URL itself otherwise. */
export function shortTypeName(typeUrl: string): string {
  return isResourceTypeUrl(typeUrl) ? TYPE_SHORT_NAMES[typeUrl] : typeUrl;
}

/**
 * Messages packed into nested `Any`s inside resources: the
 * HttpConnectionManager in `api_listener.api_listener` and the Router in
 * `http_filters[].typed_config`. Fully qualified names, without the URL prefix.
 */
export const HTTP_CONNECTION_MANAGER_TYPE_NAME =
  "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager" as const;
export const ROUTER_TYPE_NAME = "envoy.extensions.filters.http.router.v3.Router" as const;
/**
 * Security messages packed into nested Anys: the RBAC HTTP filter in
 * `http_filters[].typed_config` of a server Listener, and the TLS contexts in
 * `transport_socket.typed_config` of a server filter chain (Downstream) or a
 * Cluster (Upstream).
 */
export const RBAC_TYPE_NAME = "envoy.extensions.filters.http.rbac.v3.RBAC" as const;
export const DOWNSTREAM_TLS_CONTEXT_TYPE_NAME = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext" as const;
export const UPSTREAM_TLS_CONTEXT_TYPE_NAME = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext" as const;

/** The fault injection HTTP filter (gRFC A33): in `http_filters[].typed_config` and a route's `typed_per_filter_config`. */
export const HTTP_FAULT_TYPE_NAME = "envoy.extensions.filters.http.fault.v3.HTTPFault" as const;

/** The aggregate cluster's config (gRFC A37), in a Cluster's `cluster_type.typed_config`. */
export const CLUSTER_CONFIG_TYPE_NAME = "envoy.extensions.clusters.aggregate.v3.ClusterConfig" as const;
/** The `cluster_type` name of an aggregate cluster. */
export const AGGREGATE_CLUSTER_TYPE = "envoy.clusters.aggregate" as const;

/** The prefix of every type URL we send and accept. */
export const TYPE_URL_PREFIX = "type.googleapis.com/" as const;

/** `envoy.config.cluster.v3.Cluster` → `type.googleapis.com/envoy.config.cluster.v3.Cluster`. */
export function typeUrlOf<N extends string>(typeName: N): `${typeof TYPE_URL_PREFIX}${N}` {
  return `${TYPE_URL_PREFIX}${typeName}`;
}
