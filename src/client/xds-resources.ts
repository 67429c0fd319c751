import { isIP } from "node:net";
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  HTTP_CONNECTION_MANAGER_TYPE_NAME,
  LISTENER_TYPE,
  ROUTE_TYPE,
  ROUTER_TYPE_NAME,
  typeUrlOf,
  type Codec,
  type ResourceTypeUrl,
} from "../proto/index.js";
import type { ResolvedEndpoint } from "./endpoint.js";

/** What the resolver needs from each xDS resource type, after validation. */
export interface ListenerModel {
  readonly kind: "listener";
  readonly name: string;
  readonly routeConfigName: string;
}
export interface RouteModel {
  readonly kind: "route";
  readonly name: string;
  /** Cluster of the first route matching every path, per virtual-host domain ("*" included). */
  readonly clusters: ReadonlyMap<string, string>;
}
export interface ClusterModel {
  readonly kind: "cluster";
  readonly name: string;
  readonly edsName: string;
}
export interface EndpointsModel {
  readonly kind: "endpoints";
  readonly name: string;
  /** Healthy and unknown endpoints only, as gRPC clients use them. */
  readonly endpoints: readonly ResolvedEndpoint[];
}
export type ResourceModel = ListenerModel | RouteModel | ClusterModel | EndpointsModel;

export type Decoded = { ok: true; model: ResourceModel } | { ok: false; name: string; errors: string[] };

const USABLE_HEALTH = new Set(["HEALTHY", "UNKNOWN"]);

/**
 * Decodes and validates one resource the way a stock gRPC client would, so
 * the resolver NACKs what they NACK. Errors carry the resource's field path.
 */
export function decodeResource(codec: Codec, typeUrl: ResourceTypeUrl, body: Uint8Array): Decoded {
  let message: unknown;
  try {
    message = codec.decodeResource(typeUrl, body);
  } catch (err) {
    return { ok: false, name: "?", errors: [`cannot decode: ${err instanceof Error ? err.message : String(err)}`] };
  }
  switch (typeUrl) {
    case LISTENER_TYPE:
      return listenerModel(codec, message as ListenerMessage);
    case ROUTE_TYPE:
      return routeModel(message as RouteMessage);
    case CLUSTER_TYPE:
      return clusterModel(message as ClusterMessage);
    case ENDPOINT_TYPE:
      return endpointsModel(message as EndpointsMessage);
  }
}

type ListenerMessage = { name: string; api_listener?: { api_listener?: { type_url: string; value: Uint8Array } } };
type RouteMessage = { name: string; virtual_hosts: { domains: string[]; routes: { match?: { prefix?: string; path?: string }; route?: { cluster?: string } }[] }[] };
type ClusterMessage = { name: string; type?: string; eds_cluster_config?: { eds_config?: { ads?: object }; service_name: string }; lb_policy: string };
type EndpointsMessage = {
  cluster_name: string;
  endpoints: {
    locality?: { region: string; zone: string };
    load_balancing_weight?: { value: number };
    priority?: number;
    lb_endpoints: { endpoint?: { address?: { socket_address?: { address: string; port_value?: number } } }; health_status: string; load_balancing_weight?: { value: number } }[];
  }[];
};

function listenerModel(codec: Codec, message: ListenerMessage): Decoded {
  const errors: string[] = [];
  const any = message.api_listener?.api_listener;
  if (!any) return { ok: false, name: message.name, errors: ["api_listener.api_listener: missing"] };
  if (any.type_url !== typeUrlOf(HTTP_CONNECTION_MANAGER_TYPE_NAME)) {
    return { ok: false, name: message.name, errors: [`api_listener.api_listener: unexpected type ${any.type_url}`] };
  }
  let hcm;
  try {
    hcm = codec.unpackAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, any);
  } catch (err) {
    return { ok: false, name: message.name, errors: [`api_listener.api_listener: ${err instanceof Error ? err.message : String(err)}`] };
  }
  const filters = hcm.http_filters ?? [];
  filters.forEach((f, i) => {
    const isRouter = f.typed_config?.type_url === typeUrlOf(ROUTER_TYPE_NAME);
    if (isRouter && i !== filters.length - 1) errors.push(`http_filters[${i}]: the router filter must be last`);
  });
  if (filters.length > 0 && filters[filters.length - 1]?.typed_config?.type_url !== typeUrlOf(ROUTER_TYPE_NAME)) {
    errors.push(`http_filters[${filters.length - 1}]: the last filter must be the router`);
  }
  if (!hcm.rds?.config_source?.ads) errors.push("rds.config_source.ads: missing (only RDS over ADS is supported)");
  if (!hcm.rds?.route_config_name) errors.push("rds.route_config_name: missing");
  if (errors.length > 0) return { ok: false, name: message.name, errors };
  return { ok: true, model: { kind: "listener", name: message.name, routeConfigName: hcm.rds!.route_config_name } };
}

function routeModel(message: RouteMessage): Decoded {
  const clusters = new Map<string, string>();
  const errors: string[] = [];
  message.virtual_hosts.forEach((vhost, v) => {
    if (vhost.domains.length === 0) errors.push(`virtual_hosts[${v}].domains: empty`);
    const catchAll = vhost.routes.find((r) => r.match?.prefix === "" || r.match?.prefix === "/");
    if (!catchAll?.route?.cluster) return;
    for (const domain of vhost.domains) if (!clusters.has(domain)) clusters.set(domain, catchAll.route.cluster);
  });
  if (errors.length > 0) return { ok: false, name: message.name, errors };
  return { ok: true, model: { kind: "route", name: message.name, clusters } };
}

function clusterModel(message: ClusterMessage): Decoded {
  const errors: string[] = [];
  if (message.type !== "EDS") errors.push(`type: must be EDS, got ${message.type ?? "unset"}`);
  if (!message.eds_cluster_config?.eds_config?.ads) errors.push("eds_cluster_config.eds_config.ads: missing (only EDS over ADS is supported)");
  if (message.lb_policy !== "ROUND_ROBIN" && message.lb_policy !== "RING_HASH") errors.push(`lb_policy: unsupported ${message.lb_policy}`);
  if (errors.length > 0) return { ok: false, name: message.name, errors };
  const edsName = message.eds_cluster_config?.service_name || message.name;
  return { ok: true, model: { kind: "cluster", name: message.name, edsName } };
}

function endpointsModel(message: EndpointsMessage): Decoded {
  const errors: string[] = [];
  const endpoints: ResolvedEndpoint[] = [];
  message.endpoints.forEach((group, g) => {
    const path = `endpoints[${g}]`;
    if (!group.locality) errors.push(`${path}.locality: missing`);
    if (!group.load_balancing_weight?.value) return; // gRPC clients drop a locality without a weight
    if ((group.priority ?? 0) !== 0) return; // only the top priority is used while it has endpoints
    group.lb_endpoints.forEach((lb, e) => {
      const socket = lb.endpoint?.address?.socket_address;
      const where = `${path}.lb_endpoints[${e}]`;
      if (!socket) return errors.push(`${where}.endpoint.address.socket_address: missing`);
      if (isIP(socket.address) === 0) errors.push(`${where}: address is not an IP literal: ${socket.address}`);
      const port = socket.port_value ?? 0;
      if (port < 1 || port > 65535) errors.push(`${where}: port must be 1-65535, got ${port}`);
      if (!USABLE_HEALTH.has(lb.health_status)) return;
      endpoints.push({
        address: socket.address,
        port,
        weight: lb.load_balancing_weight?.value || 1,
        ...(group.locality?.zone && { zone: group.locality.zone }),
        ...(group.locality?.region && { region: group.locality.region }),
      });
    });
  });
  if (errors.length > 0) return { ok: false, name: message.cluster_name, errors };
  return { ok: true, model: { kind: "endpoints", name: message.cluster_name, endpoints } };
}
