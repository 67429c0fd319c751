import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, type Codec, type ResourceTypeUrl } from "../proto/index.js";
import { checkResource, edsServiceName, referencesOf, type AnyDecoded, type Decoded as DecodedResource } from "../resources/index.js";
import type { ResolvedEndpoint } from "./endpoint.js";

/** What the resolver needs from each xDS resource type, after validation. */
export interface ListenerModel {
  readonly kind: "listener";
  readonly name: string;
  /**
   * The RouteConfiguration its api_listener fetches over RDS; undefined for a
   * valid Listener the resolver cannot follow (an inline route_config, or a
   * server-side Listener), which leaves the target without routes.
   */
  readonly routeConfigName: string | undefined;
}
export interface RouteModel {
  readonly kind: "route";
  readonly name: string;
  /**
   * Cluster of the first route matching every path with no header matcher,
   * per virtual-host domain ("*" included): for a service with a traffic
   * policy, the catch-all unless a policy route takes every call, and then
   * its cluster or the largest of its weighted clusters (clusterOfRoute).
   * The resolver follows neither header matches nor splits.
   */
  readonly clusters: ReadonlyMap<string, string>;
}
export interface ClusterModel {
  readonly kind: "cluster";
  readonly name: string;
  /** The ClusterLoadAssignment an EDS Cluster asks for; undefined for a LOGICAL_DNS or aggregate Cluster. */
  readonly edsName: string | undefined;
  /** An aggregate Cluster's children in priority order (gRFC A37); empty otherwise. */
  readonly children: readonly string[];
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
 * Decodes and validates one resource through src/resources, the rules the
 * push guard applies too, so the resolver NACKs what a stock gRPC client
 * NACKs and nothing else. Errors are `<field path>: <problem>`.
 */
export function decodeResource(codec: Codec, typeUrl: ResourceTypeUrl, body: Uint8Array): Decoded {
  const checked = checkResource(codec, typeUrl, body);
  if (!checked.ok) {
    const errors = checked.issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message));
    return { ok: false, name: checked.name ?? "?", errors };
  }
  return { ok: true, model: modelOf(codec, checked.decoded as AnyDecoded) };
}

function modelOf(codec: Codec, decoded: AnyDecoded): ResourceModel {
  switch (decoded.typeUrl) {
    case LISTENER_TYPE: {
      const route = referencesOf(codec, decoded).find((reference) => reference.type === ROUTE_TYPE);
      return { kind: "listener", name: decoded.name, routeConfigName: route?.name };
    }
    case ROUTE_TYPE:
      return routeModel(decoded);
    case CLUSTER_TYPE:
      return clusterModel(codec, decoded);
    case ENDPOINT_TYPE:
      return endpointsModel(decoded);
  }
}

function clusterModel(codec: Codec, decoded: DecodedResource<typeof CLUSTER_TYPE>): ClusterModel {
  if (decoded.message.cluster_type) {
    const children = referencesOf(codec, decoded).filter((reference) => reference.type === CLUSTER_TYPE).map((reference) => reference.name);
    return { kind: "cluster", name: decoded.name, edsName: undefined, children };
  }
  const edsName = decoded.message.type === "EDS" ? edsServiceName(decoded) : undefined;
  return { kind: "cluster", name: decoded.name, edsName, children: [] };
}

function routeModel(decoded: DecodedResource<typeof ROUTE_TYPE>): RouteModel {
  const clusters = new Map<string, string>();
  for (const vhost of decoded.message.virtual_hosts) {
    // A traffic policy (issue 18) puts routes before the catch-all; one matching on headers does not take every call.
    const cluster = vhost.routes.filter((r) => (r.match?.prefix === "" || r.match?.prefix === "/") && (r.match.headers ?? []).length === 0).map(clusterOfRoute).find((c) => c !== undefined);
    if (!cluster) continue;
    for (const domain of vhost.domains) if (!clusters.has(domain)) clusters.set(domain, cluster);
  }
  return { kind: "route", name: decoded.name, clusters };
}

/**
 * The Cluster a route sends its calls to, for a resolver that gives one list
 * of addresses: its `cluster`, or of its `weighted_clusters` the one with the
 * largest weight (the first of equals). A canary's small share goes to
 * stock xDS clients only; the steady: resolver stays with the majority.
 */
function clusterOfRoute(route: DecodedResource<typeof ROUTE_TYPE>["message"]["virtual_hosts"][number]["routes"][number]): string | undefined {
  if (route.route?.cluster) return route.route.cluster;
  let best: { name: string; weight: number } | undefined;
  for (const weighted of route.route?.weighted_clusters?.clusters ?? []) {
    const weight = weighted.weight?.value ?? 0;
    if (weighted.name && weight > 0 && (!best || weight > best.weight)) best = { name: weighted.name, weight };
  }
  return best?.name;
}

/**
 * Validation guarantees every lb_endpoint a socket address with an IP and a
 * port. Like gRPC's priority LB policy, the endpoints of the first priority
 * that has a usable one (locality failover, issue 19); none when no priority has.
 */
function endpointsModel(decoded: DecodedResource<typeof ENDPOINT_TYPE>): EndpointsModel {
  const byPriority = new Map<number, ResolvedEndpoint[]>();
  for (const group of decoded.message.endpoints) {
    if (!group.load_balancing_weight?.value) continue; // gRPC clients drop a locality without a weight
    const priority = group.priority ?? 0;
    for (const lb of group.lb_endpoints) {
      const socket = lb.endpoint?.address?.socket_address;
      if (!socket || !USABLE_HEALTH.has(lb.health_status)) continue;
      let list = byPriority.get(priority);
      if (!list) byPriority.set(priority, (list = []));
      list.push({
        address: socket.address,
        port: socket.port_value ?? 0,
        weight: lb.load_balancing_weight?.value || 1,
        ...(group.locality?.zone && { zone: group.locality.zone }),
        ...(group.locality?.region && { region: group.locality.region }),
      });
    }
  }
  const first = Math.min(...byPriority.keys());
  return { kind: "endpoints", name: decoded.name, endpoints: byPriority.get(first) ?? [] };
}
