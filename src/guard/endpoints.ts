import { ENDPOINT_TYPE, type Codec } from "../proto/index.js";
import { RESOURCE_KINDS, endpointKeys } from "../resources/index.js";
import type { Resource, Snapshot } from "../snapshot/index.js";

/**
 * Endpoint lists, per codec and then per Resource object. Resources are
 * immutable and shared between snapshots, so one list serves every
 * generation that holds the same resource; entries go when the resource does.
 */
const listed = new WeakMap<Codec, WeakMap<Resource, readonly string[]>>();

/**
 * The endpoints of service `service` in `snapshot`: the sorted, unique
 * `host:port` of every lb_endpoint of the ClusterLoadAssignment named
 * `service` (IPv6 hosts in brackets: `[::1]:80`; see endpointKey); an empty
 * list for a CLA without endpoints, undefined when the snapshot has no such
 * CLA. The result is frozen and shared between calls. Throws
 * ProtoDecodeError when the resource does not decode.
 */
export function endpointsOf(codec: Codec, snapshot: Snapshot, service: string): readonly string[] | undefined {
  const resource = snapshot.resources[ENDPOINT_TYPE].get(service);
  return resource && endpointsOfResource(codec, resource);
}

/** endpointsOf for one ClusterLoadAssignment resource (remembered per Resource object). */
export function endpointsOfResource(codec: Codec, resource: Resource): readonly string[] {
  let byResource = listed.get(codec);
  if (!byResource) listed.set(codec, (byResource = new WeakMap()));
  let endpoints = byResource.get(resource);
  if (!endpoints) {
    endpoints = Object.freeze(endpointKeys(RESOURCE_KINDS[ENDPOINT_TYPE].decode(codec, resource.body)));
    byResource.set(resource, endpoints);
  }
  return endpoints;
}
