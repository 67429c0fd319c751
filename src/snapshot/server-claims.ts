/**
 * The build's bookkeeping for resources a service owns that are not named
 * after it: its instances' server Listeners (gRFC A36), named after their
 * address and port. Two services cannot own one name: the first, in name
 * order, keeps it, and the later one fails its build (it falls back to what
 * `previous` had of it, less what others own).
 */
import type { Issue } from "../errors/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, RESOURCE_TYPES, type Codec, type ResourceTypeUrl } from "../proto/index.js";
import type { ServiceEntry } from "../registry/index.js";
import { serverListenerName, type SecurityOptions } from "./security-resources.js";
import type { Resource, Snapshot } from "./snapshot.js";

/** A service's resources as they go into the snapshot: all when built now; those `previous` has when carried over. */
export interface Chosen {
  readonly byType: Partial<Record<ResourceTypeUrl, Resource>>;
  /** Its server Listeners (LDS), in name order. */
  readonly servers: readonly Resource[];
  /** Its policy's subset Clusters and ClusterLoadAssignments, `{service}/{subset}` (see ServiceResources). */
  readonly subsets: readonly Resource[];
}

/** A service with nothing in the snapshot. */
export const NOTHING: Chosen = Object.freeze({ byType: Object.freeze({}), servers: Object.freeze([]), subsets: Object.freeze([]) });

/** The types a service's subset resources have. */
export const SUBSET_TYPES: readonly ResourceTypeUrl[] = [CLUSTER_TYPE, ENDPOINT_TYPE];

/** The resources of `snapshot`'s `type` named `{name}/…`: service `name`'s subset resources (a `/` never occurs in a service name). */
export function subsetResourcesOf(snapshot: Snapshot, type: ResourceTypeUrl, name: string): Resource[] {
  const prefix = `${name}/`;
  const found: Resource[] = [];
  for (const [key, resource] of snapshot.resources[type].entriesFrom(prefix)) {
    if (!key.startsWith(prefix)) break;
    found.push(resource);
  }
  return found;
}

/** The service a resource named `{service}/{subset}` belongs to; undefined for other names. */
export function subsetOwner(resourceName: string): string | undefined {
  const slash = resourceName.indexOf("/");
  return slash > 0 ? resourceName.slice(0, slash) : undefined;
}

/** The server Listener names a service owns in a snapshot (services without any are absent). */
export type Claims = ReadonlyMap<string, readonly string[]>;

/**
 * What `previous` has of service `name`: each of its four resources, its
 * subset resources, and the
 * server Listeners at the addresses of its instances in `entry` whose filter
 * chain is its own (another service may have had that address before).
 */
export function previousOf(previous: Snapshot | undefined, name: string, entry: ServiceEntry | undefined, options: SecurityOptions, codec: Codec): Chosen {
  if (!previous) return NOTHING;
  const byType: Partial<Record<ResourceTypeUrl, Resource>> = {};
  for (const type of RESOURCE_TYPES) {
    const resource = previous.resources[type].get(name);
    if (resource) byType[type] = resource;
  }
  const servers = new Map<string, Resource>();
  for (const instance of entry?.instances.values() ?? []) {
    const listenerName = serverListenerName(instance.address, instance.port, options.listenerTemplate);
    const resource = previous.resources[LISTENER_TYPE].get(listenerName);
    if (resource && !servers.has(listenerName) && ownerOfServerListener(resource, codec) === name) servers.set(listenerName, resource);
  }
  const subsets = SUBSET_TYPES.flatMap((type) => subsetResourcesOf(previous, type, name));
  return { byType, servers: [...servers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), subsets };
}

/** The service a server Listener serves: security-resources.ts names its filter chain `<service>-inbound`. */
function ownerOfServerListener(resource: Resource, codec: Codec): string | undefined {
  const chain = codec.decodeResource(LISTENER_TYPE, resource.body).filter_chains?.[0]?.name;
  return chain?.endsWith("-inbound") ? chain.slice(0, -"-inbound".length) : undefined;
}

/** Who owned which server Listener names in the snapshot an incremental build starts from. */
export interface Ownership {
  readonly claims: Claims;
  readonly owners: ReadonlyMap<string, string>;
}

/**
 * Gives each server Listener name the services in `chosen` want to one of
 * them, in name order: a built service whose Listener another already owns
 * gets an issue and falls back to `fallback(name)`; a carried-over one
 * (already in `issues`) just loses the Listeners others own. Changes
 * `chosen` and `issues`; returns who owns what.
 *
 * Given `last` (an incremental build: `chosen` holds only the services
 * decided again), the services not in `chosen` keep what they owned. When a
 * service in `chosen` wants a name one of those owns, a full build might
 * give it the name and fail the owner, which this build does not decide:
 * then it returns undefined, and the caller builds in full.
 */
export function resolveClaims(chosen: Map<string, Chosen>, issues: Map<string, Issue[]>, fallback: (name: string) => Chosen, last?: Ownership): ReadonlyMap<string, string> | undefined {
  if (last && [...chosen].every(([name, resources]) => sameNames(resources.servers, last.claims.get(name)))) return last.owners;
  const owners = new Map(last?.owners ?? []);
  for (const name of chosen.keys()) for (const server of last?.claims.get(name) ?? []) owners.delete(server);
  if ([...chosen.values()].some((resources) => resources.servers.some((server) => owners.has(server.name)))) return undefined;
  for (const name of [...chosen.keys()].sort(compare)) {
    let current = chosen.get(name) ?? NOTHING;
    const taken = current.servers.filter((server) => owners.has(server.name));
    if (taken.length > 0 && !issues.has(name)) {
      issues.set(name, taken.map((server) => collision(name, server.name, owners.get(server.name) ?? "")));
      current = fallback(name);
    }
    if (current.servers.some((server) => owners.has(server.name))) current = { ...current, servers: current.servers.filter((server) => !owners.has(server.name)) };
    chosen.set(name, current);
    for (const server of current.servers) owners.set(server.name, name);
  }
  return owners;
}

function collision(service: string, listener: string, owner: string): Issue {
  return {
    path: `services[${service}].instances`,
    message: `server Listener ${listener} is already service ${owner}'s: two services cannot serve one address and port; move one of them`,
  };
}

/** True when `servers` are exactly the Listeners `names` lists (both in name order). */
export function sameNames(servers: readonly Resource[], names: readonly string[] | undefined): boolean {
  const list = names ?? [];
  return servers.length === list.length && servers.every((server, i) => server.name === list[i]);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
