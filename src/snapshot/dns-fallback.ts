/**
 * DNS fallback (gRFC A37, issue 19): with `dnsFallback` in its policy, a
 * service's Cluster `{service}` (the name its Route points to, a contract)
 * becomes an aggregate cluster of two children, in priority order:
 * - `{service}/~eds`: the EDS Cluster the service had, still asking for the
 *   ClusterLoadAssignment `{service}` (eds_cluster_config.service_name), so
 *   EDS is unchanged;
 * - `{service}/~dns`: a LOGICAL_DNS Cluster for `name:port`, which the client
 *   resolves itself (grpc-js: its `dns:` resolver, i.e. the system resolver).
 * A client uses the DNS child only while the EDS child has no usable
 * endpoint. `~` never occurs in a subset name (a DNS label), so the children
 * cannot collide with subset Clusters `{service}/{subset}`; like those, they
 * are named `{service}/…` and go with the service's other resources.
 */
import { AGGREGATE_CLUSTER_TYPE, CLUSTER_CONFIG_TYPE_NAME, type Cluster, type Codec, type TransportSocket } from "../proto/index.js";
import type { DnsFallbackPolicy } from "../registry/index.js";

/** The suffix of the EDS child's name: `{service}/~eds`. */
export const EDS_CHILD_SUFFIX = "/~eds";
/** The suffix of the LOGICAL_DNS child's name: `{service}/~dns`. */
export const DNS_CHILD_SUFFIX = "/~dns";

/** The DNS domain when none is given (serve's `--dns-domain` default). */
export const DEFAULT_DNS_DOMAIN = "mesh";

/** The host name a fallback resolves: its own `name`, else the service's name in steadymesh's DNS view. */
export function dnsFallbackHost(service: string, fallback: DnsFallbackPolicy, dnsDomain: string = DEFAULT_DNS_DOMAIN): string {
  return fallback.name ?? `${service}.service.${dnsDomain}`;
}

/** The three Clusters of a service with DNS fallback. */
export interface DnsFallbackClusters {
  /** `{service}`: the aggregate. */
  readonly aggregate: Cluster;
  /** `{service}/~eds` then `{service}/~dns`, in name order. */
  readonly children: readonly [Cluster, Cluster];
}

/**
 * The aggregate and its children for `service`, whose own EDS Cluster would
 * be `eds` (its lb policy is kept on every one of them; `transport`, the
 * service's upstream TLS when mTLS is on, goes on the two children, which
 * are the ones that connect).
 */
export function dnsFallbackClusters(
  service: string,
  eds: Cluster,
  fallback: DnsFallbackPolicy,
  dnsDomain: string,
  codec: Codec,
  transport?: TransportSocket,
): DnsFallbackClusters {
  const edsName = `${service}${EDS_CHILD_SUFFIX}`;
  const dnsName = `${service}${DNS_CHILD_SUFFIX}`;
  const { type: _type, eds_cluster_config: _eds, transport_socket: _socket, ...balancing } = eds;
  const aggregate: Cluster = {
    ...balancing,
    name: service,
    cluster_type: { name: AGGREGATE_CLUSTER_TYPE, typed_config: codec.packAny(CLUSTER_CONFIG_TYPE_NAME, { clusters: [edsName, dnsName] }) },
  };
  const withTransport = (cluster: Cluster): Cluster => (transport ? { ...cluster, transport_socket: transport } : cluster);
  const edsChild = withTransport({ ...eds, name: edsName, eds_cluster_config: { ...eds.eds_cluster_config, service_name: service } });
  const host = dnsFallbackHost(service, fallback, dnsDomain);
  const dnsChild = withTransport({
    ...balancing,
    name: dnsName,
    type: "LOGICAL_DNS",
    load_assignment: {
      cluster_name: dnsName,
      endpoints: [{ locality: { region: "", zone: "" }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: fallback.port } } }, health_status: "UNKNOWN" }] }],
    },
  });
  return { aggregate, children: [dnsChild, edsChild].sort((a, b) => (a.name < b.name ? -1 : 1)) as unknown as [Cluster, Cluster] };
}
