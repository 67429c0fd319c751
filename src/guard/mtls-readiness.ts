/**
 * Issue 16: "A generation that would turn on `strict` for a service whose
 * callers have no certificates yet is held, and the reason says so."
 *
 * Under `strict` a service's Cluster names the certificate provider
 * `steadymesh`. A client whose bootstrap lacks it NACKs that Cluster
 * (grpc-js-xds: "Unmatched ... instance_name") and, having no usable copy,
 * fails every call; its own XdsServer NACKs the server Listener and stops
 * serving new connections. `steadymesh bootstrap --certs` marks a node's
 * metadata (CERTIFICATE_METADATA_KEY), so the connected clients say which of
 * them can follow.
 */
import { CERTIFICATE_METADATA_KEY, CERTIFICATE_PROVIDER_INSTANCE } from "../resources/index.js";

/** What readiness needs of a connected client: a structural subset of the xDS server's ClientStatus. */
export interface ConnectedNode {
  readonly nodeId: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** By short type name (`LDS`, `CDS`…): the names the client subscribes to, `*` for a wildcard. */
  readonly types: Readonly<Record<string, { readonly subscribed: readonly string[] }>>;
}

/** A service about to turn strict, with the names of its server Listeners (one per instance address). */
export interface StrictCandidate {
  readonly service: string;
  readonly serverListeners: readonly string[];
}

/** A connected node that `strict` for `service` would cut off. */
export interface UnreadyNode {
  readonly service: string;
  readonly nodeId: string;
  /** `caller`: it watches the service's Cluster; `server`: it is one of the service's XdsServers. */
  readonly role: "caller" | "server";
}

/** Whether the node's bootstrap has the certificate provider mTLS resources name. */
export function hasCertificates(node: ConnectedNode): boolean {
  return node.metadata[CERTIFICATE_METADATA_KEY] === CERTIFICATE_PROVIDER_INSTANCE;
}

/**
 * Every connected node that watches a candidate's Cluster (or every Cluster)
 * or one of its server Listeners, and has no certificates, in candidate and
 * node order. Nodes that are not connected now cannot be seen: a caller that
 * starts later without `--certs` still fails, and its NACK shows in
 * `GET /v1/clients`.
 */
export function nodesWithoutCertificates(candidates: readonly StrictCandidate[], nodes: readonly ConnectedNode[]): UnreadyNode[] {
  const found: UnreadyNode[] = [];
  for (const { service, serverListeners } of candidates) {
    const listeners = new Set(serverListeners);
    for (const node of nodes) {
      if (hasCertificates(node)) continue;
      const clusters = node.types["CDS"]?.subscribed ?? [];
      const ldsNames = node.types["LDS"]?.subscribed ?? [];
      if (ldsNames.some((name) => listeners.has(name))) found.push({ service, nodeId: node.nodeId, role: "server" });
      else if (clusters.includes(service) || clusters.includes("*")) found.push({ service, nodeId: node.nodeId, role: "caller" });
    }
  }
  return found;
}

/** The most node ids a hold reason names per service. */
const NAMED_NODES = 5;

/**
 * The reason to hold a generation that turns these candidates strict, or
 * undefined when every connected caller and server has certificates. One
 * sentence per service, e.g. `mtls strict for orders would cut off 2
 * connected nodes without certificates (caller web-1, server orders-1);
 * bootstrap them with --certs DIR (steadymesh cert SERVICE --dir DIR), or
 * use permissive until they are`.
 */
export function strictHoldReason(candidates: readonly StrictCandidate[], nodes: readonly ConnectedNode[]): string | undefined {
  const unready = nodesWithoutCertificates(candidates, nodes);
  if (unready.length === 0) return undefined;
  const byService = new Map<string, UnreadyNode[]>();
  for (const node of unready) byService.set(node.service, [...(byService.get(node.service) ?? []), node]);
  return [...byService].map(([service, list]) => {
    const named = list.slice(0, NAMED_NODES).map((n) => `${n.role} ${n.nodeId}`).join(", ");
    const more = list.length > NAMED_NODES ? ` and ${list.length - NAMED_NODES} more` : "";
    const count = list.length === 1 ? "1 connected node" : `${list.length} connected nodes`;
    return `mtls strict for ${service} would cut off ${count} without certificates (${named}${more}); bootstrap them with --certs DIR (steadymesh cert SERVICE --dir DIR), or use permissive until they are`;
  }).join("; ");
}
