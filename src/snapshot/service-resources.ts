/**
 * The four xDS resources of one service, named so that `xds:///S` works with
 * a stock gRPC client: Listener S → (RDS) RouteConfiguration S → Cluster S
 * (EDS) → ClusterLoadAssignment S; and, when the service turns on mTLS or
 * has intentions, its instances' server Listeners (security-resources.ts).
 */
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  HTTP_CONNECTION_MANAGER_TYPE_NAME,
  LISTENER_TYPE,
  ROUTE_TYPE,
  ROUTER_TYPE_NAME,
  type Cluster,
  type ClusterLoadAssignment,
  type Codec,
  type ConfigSource,
  type HealthStatus,
  type HttpFilter,
  type LbEndpoint,
  type Listener,
  type LocalityLbEndpoints,
  type ResourceTypeUrl,
  type RouteConfiguration,
} from "../proto/index.js";
import { subsetResourceName, type Health, type Instance, type LbPolicy, type MtlsMode, type Service, type Subset, type TrafficPolicy } from "../registry/index.js";
import type { ServiceEntry } from "../registry/index.js";
import { compareStrings, createResource } from "./assemble.js";
import { DEFAULT_DNS_DOMAIN, dnsFallbackClusters } from "./dns-fallback.js";
import { withFailoverPriorities } from "./failover.js";
import { policyHttpFilters, policyRouteConfiguration, subsetEntry } from "./policy-resources.js";
import { encodeServerListeners, serviceSecurityOf, upstreamTransportSocket, withClusterSecurity, type Intention, type SecurityOptions, type ServiceSecurity } from "./security-resources.js";
import type { Resource } from "./snapshot.js";

/** Name of the HTTP router filter; gRPC clients require it as the last filter. */
export const ROUTER_FILTER_NAME = "envoy.filters.http.router";

/** "Fetch it over the same ADS stream", for RDS and EDS. */
const ADS_CONFIG_SOURCE: ConfigSource = { ads: {}, resource_api_version: "V3" };

/** Instance health → the EDS health_status sent; health states missing here are left out of EDS. */
const SENT_HEALTH: Partial<Record<Health, HealthStatus>> = { healthy: "HEALTHY", unknown: "UNKNOWN" };

/** What one service contributes to a snapshot. */
export interface ServiceResources {
  /** The four resources named after the service. */
  readonly byType: Readonly<Record<ResourceTypeUrl, Resource>>;
  /**
   * Its server Listeners (LDS), named after their address and port, in name
   * order: none unless its mtls is not `off` or it has intentions, so that
   * services that use neither build as they did before issue 16.
   */
  readonly servers: readonly Resource[];
  /**
   * The Clusters, then the ClusterLoadAssignments, of its policy's subsets
   * (`{service}/{subset}`, policy-resources.ts), each in name order: none
   * without a policy.
   */
  readonly subsets: readonly Resource[];
}

/** A service's entry and the resources encoded from it. */
export interface EncodedService {
  readonly entry: ServiceEntry;
  readonly resources: ServiceResources;
}

/**
 * Encodes the resources of `entry`; throws what the codec throws. Given what
 * was encoded for the same service before (with the same `options`: a build
 * cache serves one trust domain), it encodes only the resources whose inputs
 * changed and reuses the others (same objects, so nothing downstream encodes
 * them again): the Listener depends on the name and whether the policy
 * injects faults, the RouteConfiguration on the name and the policy (by
 * identity: stored records are frozen, so a new policy is a new object),
 * the Cluster on the lb policy, mtls mode and DNS fallback too, the
 * ClusterLoadAssignment on the instances and failover, the server Listeners on the instances' addresses and the
 * mode and intentions, the subsets' Clusters on the policy, lb policy and
 * mode, and their ClusterLoadAssignments on those and the instances.
 */
export function encodeServiceResources(entry: ServiceEntry, codec: Codec, options: SecurityOptions, previous?: EncodedService): ServiceResources {
  const name = entry.service.name;
  const before = previous && previous.entry.service.name === name ? previous : undefined;
  const mode = mtlsOf(entry.service);
  const sameSecurity = before !== undefined && securityKey(before.entry.service) === securityKey(entry.service);
  const policy = entry.service.policy;
  const samePolicy = before !== undefined && before.entry.service.policy === policy;
  const sameCluster =
    before !== undefined &&
    before.entry.service.lbPolicy === entry.service.lbPolicy &&
    mtlsOf(before.entry.service) === mode &&
    sameDnsFallback(before.entry.service.policy, policy);
  const byType = {
    [LISTENER_TYPE]:
      (before && hasFault(before.entry.service) === hasFault(entry.service) ? before.resources.byType[LISTENER_TYPE] : undefined) ??
      createResource(LISTENER_TYPE, name, codec.encodeResource(LISTENER_TYPE, listenerFor(name, codec, policyHttpFilters(policy, codec)))),
    [ROUTE_TYPE]:
      (samePolicy ? before.resources.byType[ROUTE_TYPE] : undefined) ??
      createResource(ROUTE_TYPE, name, codec.encodeResource(ROUTE_TYPE, policy ? policyRouteConfiguration(name, policy, codec) : routeConfigurationFor(name))),
    [CLUSTER_TYPE]:
      (sameCluster ? before.resources.byType[CLUSTER_TYPE] : undefined) ??
      createResource(CLUSTER_TYPE, name, codec.encodeResource(CLUSTER_TYPE, serviceCluster(entry, mode, options, codec))),
    [ENDPOINT_TYPE]:
      (before?.entry.instances === entry.instances && sameFailover(before.entry.service.policy, policy) ? before.resources.byType[ENDPOINT_TYPE] : undefined) ??
      createResource(ENDPOINT_TYPE, name, encodeLoadAssignment(name, entry, codec)),
  };
  const servers = !hasServerListeners(entry.service)
    ? NO_SERVERS
    : sameSecurity && (before.entry.instances === entry.instances || sameEndpoints(before.entry, entry))
      ? before.resources.servers
      : encodeServerListeners(entry, securityOf(entry.service), options, codec);
  const subsets = !policy
    ? NO_SERVERS
    : samePolicy && sameCluster && before.entry.instances === entry.instances
      ? before.resources.subsets
      : encodeSubsets(entry, policy, codec, options, samePolicy && sameCluster ? before.resources.subsets : NO_SERVERS);
  return { byType, servers, subsets };
}

const NO_SERVERS: readonly Resource[] = Object.freeze([]);

/** The service's own Cluster: EDS, or with DNS fallback the aggregate of dns-fallback.ts. */
function serviceCluster(entry: ServiceEntry, mode: MtlsMode, options: SecurityOptions, codec: Codec): Cluster {
  const name = entry.service.name;
  const eds = clusterFor(name, entry.service.lbPolicy);
  const fallback = entry.service.policy?.dnsFallback;
  if (!fallback) return withClusterSecurity(eds, mode, options, codec);
  return dnsFallbackClusters(name, eds, fallback, options.dnsDomain ?? DEFAULT_DNS_DOMAIN, codec).aggregate;
}

function sameDnsFallback(a: TrafficPolicy | undefined, b: TrafficPolicy | undefined): boolean {
  return a === b || JSON.stringify(a?.dnsFallback) === JSON.stringify(b?.dnsFallback);
}

function sameFailover(a: TrafficPolicy | undefined, b: TrafficPolicy | undefined): boolean {
  return a === b || JSON.stringify(a?.failover) === JSON.stringify(b?.failover);
}

/** True when the service's policy injects faults on some route: its Listener then lists the fault filter. */
function hasFault(service: Service): boolean {
  return service.policy?.routes.some((route) => route.fault !== undefined) ?? false;
}

/**
 * Each subset's Cluster (the service's lb policy and mTLS treatment; its
 * SPIFFE ID is the service's) and ClusterLoadAssignment (only its
 * instances). `clustersBefore`: resources encoded for the same policy, lb
 * policy and mode, whose Clusters are reused, and whose ClusterLoadAssignments
 * are when their bytes come out the same.
 */
function encodeSubsets(entry: ServiceEntry, policy: TrafficPolicy, codec: Codec, options: SecurityOptions, clustersBefore: readonly Resource[]): Resource[] {
  const service = entry.service.name;
  const names = policy.subsets.map((subset) => subsetResourceName(service, subset.name)).sort(compareStrings);
  const reused = new Map(clustersBefore.filter((resource) => resource.typeUrl === CLUSTER_TYPE).map((resource) => [resource.name, resource]));
  const transport = upstreamTransportSocket(service, mtlsOf(entry.service), options, codec);
  const clusters = names.map((name) => {
    const cluster = clusterFor(name, entry.service.lbPolicy);
    return reused.get(name) ?? createResource(CLUSTER_TYPE, name, codec.encodeResource(CLUSTER_TYPE, transport ? { ...cluster, transport_socket: transport } : cluster));
  });
  if (policy.dnsFallback) {
    const { children } = dnsFallbackClusters(service, clusterFor(service, entry.service.lbPolicy), policy.dnsFallback, options.dnsDomain ?? DEFAULT_DNS_DOMAIN, codec, transport);
    clusters.push(...children.map((child) => reused.get(child.name) ?? createResource(CLUSTER_TYPE, child.name, codec.encodeResource(CLUSTER_TYPE, child))));
  }
  const bySubsetName = new Map(policy.subsets.map((subset) => [subsetResourceName(service, subset.name), subset]));
  const assignmentsBefore = new Map(clustersBefore.filter((resource) => resource.typeUrl === ENDPOINT_TYPE).map((resource) => [resource.name, resource]));
  const assignments = names.map((name) => {
    const subset = bySubsetName.get(name) as Subset;
    const bytes = encodeLoadAssignment(name, subsetEntry(entry, subset), codec);
    // A subset whose instances did not change keeps its Resource object, so nothing downstream decodes or encodes it again.
    const before = assignmentsBefore.get(name);
    return before && Buffer.compare(before.body, bytes) === 0 ? before : createResource(ENDPOINT_TYPE, name, bytes);
  });
  return [...clusters, ...assignments];
}

/** `off` for records written before issue 16. */
export function mtlsOf(service: Service): MtlsMode {
  return service.mtls ?? "off";
}

/** True when the service's instances get server Listeners: its mtls is not `off`, or it has intentions. */
export function hasServerListeners(service: Service): boolean {
  return mtlsOf(service) !== "off" || Object.keys(service.intentions ?? {}).length > 0;
}

/** The service's mode and intentions, as security-resources.ts takes them. */
export function securityOf(service: Service): ServiceSecurity {
  const intentions = Object.entries(service.intentions ?? {}).map(([source, action]): Intention => ({ source, destination: service.name, action }));
  return serviceSecurityOf(service.name, mtlsOf(service), intentions);
}

/** Equal for services whose server Listeners encode alike, given equal instance addresses. */
function securityKey(service: Service): string {
  const intentions = Object.entries(service.intentions ?? {}).sort(([a], [b]) => compareStrings(a, b));
  return JSON.stringify([mtlsOf(service), intentions]);
}

/** True when both entries have the same instance ids at the same addresses and ports (health and weights aside). */
function sameEndpoints(a: ServiceEntry, b: ServiceEntry): boolean {
  if (a.instances.size !== b.instances.size) return false;
  for (const [id, instance] of b.instances) {
    const other = a.instances.get(id);
    if (!other || other.address !== instance.address || other.port !== instance.port) return false;
  }
  return true;
}

/** An API listener whose HttpConnectionManager fetches route config `name` over ADS; `filtersBefore` go before the router. */
export function listenerFor(name: string, codec: Codec, filtersBefore: readonly HttpFilter[] = []): Listener {
  const connectionManager = codec.packAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, {
    // Envoy requires a non-empty stat_prefix; gRPC ignores it.
    stat_prefix: name,
    rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: name },
    http_filters: [...filtersBefore, { name: ROUTER_FILTER_NAME, typed_config: codec.packAny(ROUTER_TYPE_NAME, {}) }],
  });
  return { name, api_listener: { api_listener: connectionManager } };
}

/** Every request, whatever its authority and path, goes to cluster `name`. */
export function routeConfigurationFor(name: string): RouteConfiguration {
  return {
    name,
    virtual_hosts: [{ name, domains: ["*"], routes: [{ match: { prefix: "" }, route: { cluster: name } }] }],
  };
}

export function clusterFor(name: string, lbPolicy: LbPolicy): Cluster {
  const cluster: Cluster = {
    name,
    type: "EDS",
    eds_cluster_config: { eds_config: ADS_CONFIG_SOURCE, service_name: name },
    lb_policy: "ROUND_ROBIN",
  };
  switch (lbPolicy) {
    case "round_robin":
      return cluster;
    case "ring_hash":
      // gRPC clients accept only XX_HASH for ring hash.
      return { ...cluster, lb_policy: "RING_HASH", ring_hash_lb_config: { hash_function: "XX_HASH" } };
  }
}

/** Instances whose health is sent to clients (see SENT_HEALTH). */
export function usableInstances(entry: ServiceEntry): Instance[] {
  return [...entry.instances.values()].filter((instance) => SENT_HEALTH[instance.health] !== undefined);
}

/**
 * Usable instances grouped by (region, zone), localities sorted by region then
 * zone and endpoints by instance id, so equal registry content gives equal
 * bytes. A locality's weight is the sum of its instances' weights (gRPC
 * clients drop localities without one). No usable instance: zero localities.
 */
export function loadAssignmentFor(name: string, entry: ServiceEntry): ClusterLoadAssignment {
  const groups = new Map<string, Instance[]>();
  for (const instance of usableInstances(entry)) {
    const key = JSON.stringify([instance.region, instance.zone]);
    const group = groups.get(key);
    if (group) group.push(instance);
    else groups.set(key, [instance]);
  }
  const localities = [...groups.values()].map(localityFor);
  localities.sort(
    (a, b) => compareStrings(a.locality?.region ?? "", b.locality?.region ?? "") || compareStrings(a.locality?.zone ?? "", b.locality?.zone ?? ""),
  );
  return { cluster_name: name, endpoints: localities };
}

/** Each instance's encoded LbEndpoint, per codec: instances are immutable and shared between views, so a change re-encodes only itself. */
const encodedEndpoints = new WeakMap<Codec, WeakMap<Instance, Uint8Array>>();

/**
 * The bytes of loadAssignmentFor(name, entry), byte for byte (the unit tests
 * compare them with the codec's own encoding of it), assembled from each
 * usable instance's LbEndpoint encoded once: a change to one instance of a
 * 20,000-instance service encodes one endpoint and copies the others' bytes.
 * The view keeps instances in id order, so each locality's run is in id
 * order as loadAssignmentFor sorts it. With a policy's `failover`, its
 * localities get priorities (failover.ts).
 */
export function encodeLoadAssignment(name: string, entry: ServiceEntry, codec: Codec): Uint8Array {
  const failover = entry.service.policy?.failover;
  // Priorities (failover.ts) take the reference path: the assembler writes priority 0 only.
  if (failover) return codec.encodeResource(ENDPOINT_TYPE, withFailoverPriorities(loadAssignmentFor(name, entry), failover));
  let memo = encodedEndpoints.get(codec);
  if (!memo) encodedEndpoints.set(codec, (memo = new WeakMap()));
  const groups = new Map<string, { locality: { region: string; zone: string }; weight: number; endpoints: Uint8Array[]; lastId: string }>();
  let ordered = true;
  for (const instance of entry.instances.values()) {
    const health = SENT_HEALTH[instance.health];
    if (health === undefined) continue;
    let bytes = memo.get(instance);
    if (!bytes) memo.set(instance, (bytes = codec.encodeLbEndpoint(lbEndpointFor(instance, health))));
    const key = `${instance.region}\u0000${instance.zone}`;
    const group = groups.get(key);
    if (!group) {
      groups.set(key, { locality: { region: instance.region, zone: instance.zone }, weight: instance.weight, endpoints: [bytes], lastId: instance.id });
      continue;
    }
    ordered &&= compareStrings(group.lastId, instance.id) < 0;
    group.lastId = instance.id;
    group.weight += instance.weight;
    group.endpoints.push(bytes);
  }
  // A hand-made view may hold its instances in another order: then the reference path sorts them.
  if (!ordered) return codec.encodeResource(ENDPOINT_TYPE, loadAssignmentFor(name, entry));
  const localities = [...groups.values()].sort((a, b) => compareStrings(a.locality.region, b.locality.region) || compareStrings(a.locality.zone, b.locality.zone));
  return codec.assembleLoadAssignment(name, localities);
}

function lbEndpointFor(instance: Instance, health: HealthStatus): LbEndpoint {
  return {
    endpoint: { address: { socket_address: { address: instance.address, port_value: instance.port } } },
    health_status: health,
    load_balancing_weight: { value: instance.weight },
  };
}

/** `instances` share one (region, zone) and are not empty. */
function localityFor(instances: Instance[]): LocalityLbEndpoints {
  const sorted = [...instances].sort((a, b) => compareStrings(a.id, b.id));
  const first = sorted[0] as Instance;
  return {
    locality: { region: first.region, zone: first.zone },
    load_balancing_weight: { value: sorted.reduce((sum, instance) => sum + instance.weight, 0) },
    lb_endpoints: sorted.map((instance) => lbEndpointFor(instance, SENT_HEALTH[instance.health] ?? "UNKNOWN")),
  };
}
