import { ENDPOINT_TYPE, type Codec, type LbEndpoint } from "../proto/index.js";
import type { Resource, Snapshot } from "../snapshot/index.js";

/**
 * Decoded endpoint lists, per codec and then per Resource object. Resources
 * are immutable and shared between snapshots, so one decode serves every
 * generation that holds the same resource; entries go when the resource does.
 */
const decoded = new WeakMap<Codec, WeakMap<Resource, readonly string[]>>();

/**
 * The endpoints of service `service` in `snapshot`: the sorted, unique
 * `host:port` of every lb_endpoint of the ClusterLoadAssignment named
 * `service` (IPv6 hosts in brackets: `[::1]:80`); an empty list for a CLA
 * without endpoints, undefined when the snapshot has no such CLA. The result
 * is frozen and shared between calls. Throws ProtoDecodeError when the
 * resource does not decode.
 */
export function endpointsOf(codec: Codec, snapshot: Snapshot, service: string): readonly string[] | undefined {
  const resource = snapshot.resources[ENDPOINT_TYPE].get(service);
  if (!resource) return undefined;
  let byResource = decoded.get(codec);
  if (!byResource) {
    byResource = new WeakMap();
    decoded.set(codec, byResource);
  }
  let endpoints = byResource.get(resource);
  if (!endpoints) {
    const assignment = codec.decodeResource(ENDPOINT_TYPE, resource.body);
    const keys = assignment.endpoints.flatMap((locality) => locality.lb_endpoints.map(endpointKey));
    endpoints = Object.freeze([...new Set(keys)].sort());
    byResource.set(resource, endpoints);
  }
  return endpoints;
}

/**
 * `host:port` of one lb_endpoint, `[host]:port` for IPv6. A missing address
 * or port reads as its proto3 default ("" and 0), as a client would see it.
 */
export function endpointKey(lbEndpoint: LbEndpoint): string {
  const socket = lbEndpoint.endpoint?.address?.socket_address;
  const host = socket?.address ?? "";
  const port = socket?.port_value ?? 0;
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
