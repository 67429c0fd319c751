/**
 * Issue 18: "A generation in which a route sends traffic to a subset with no
 * endpoints is a black hole; it is held, and the reason names the route and
 * the subset." Read from the resources: a policy's routes are the
 * RouteConfiguration `{service}`'s, and each forwards to subset Clusters
 * `{service}/{subset}` whose ClusterLoadAssignment has the same name
 * (src/snapshot's policy-resources.ts). A stock client sends those calls to
 * a cluster without endpoints: each fails with UNAVAILABLE.
 */
import { ENDPOINT_TYPE, ROUTE_TYPE, type Codec, type Route } from "../proto/index.js";
import type { Resource, Snapshot } from "../snapshot/index.js";
import { endpointsOfResource } from "./endpoints.js";
import type { GenerationDiff } from "./model.js";

/** A route of a service that sends traffic to a subset without endpoints. */
export interface BlackHole {
  readonly service: string;
  /** The route's index in the RouteConfiguration (the policy's route index). */
  readonly route: number;
  /** `method /shop.Checkout/Pay`, `prefix /shop.`, `every path`, with `; headers x-canary` when it matches headers. */
  readonly match: string;
  readonly subset: string;
}

/** One route's forwarding, as the guard's policy rules need it. */
export interface RouteFacts {
  readonly index: number;
  readonly match: string;
  /** The Clusters it gives a weight above 0 (subsets' are `{service}/{subset}`; the EDS name is the Cluster's name). */
  readonly clusters: readonly string[];
}

const factsByCodec = new WeakMap<Codec, WeakMap<Resource, readonly RouteFacts[]>>();

/** The routes of a RouteConfiguration (remembered per Resource object). Throws what the codec throws. */
export function routeFacts(codec: Codec, resource: Resource): readonly RouteFacts[] {
  let memo = factsByCodec.get(codec);
  if (!memo) factsByCodec.set(codec, (memo = new WeakMap()));
  let facts = memo.get(resource);
  if (!facts) {
    const config = codec.decodeResource(ROUTE_TYPE, resource.body);
    const routes = config.virtual_hosts.flatMap((host) => host.routes);
    facts = Object.freeze(routes.map((route, index): RouteFacts => ({ index, match: describeMatch(route), clusters: clustersOf(route) })));
    memo.set(resource, facts);
  }
  return facts;
}

function clustersOf(route: Route): string[] {
  const action = route.route;
  if (!action) return [];
  if (action.cluster) return [action.cluster];
  return (action.weighted_clusters?.clusters ?? []).filter((cluster) => (cluster.weight?.value ?? 0) > 0).map((cluster) => cluster.name);
}

function describeMatch(route: Route): string {
  const match = route.match ?? {};
  const path = match.path ? `method ${match.path}` : match.prefix ? `prefix ${match.prefix}` : "every path";
  const headers = (match.headers ?? []).map((header) => header.name);
  return headers.length > 0 ? `${path}; headers ${headers.join(", ")}` : path;
}

/** The black holes of RouteConfiguration `service` in `snapshot`, in route order. */
export function blackHolesOf(codec: Codec, snapshot: Snapshot, service: string): BlackHole[] {
  const resource = snapshot.resources[ROUTE_TYPE].get(service);
  if (!resource) return [];
  const found: BlackHole[] = [];
  for (const route of routeFacts(codec, resource)) {
    for (const cluster of route.clusters.filter((name) => name.includes("/"))) {
      const assignment = snapshot.resources[ENDPOINT_TYPE].get(cluster);
      if (assignment && endpointsOfResource(codec, assignment).length > 0) continue;
      found.push({ service, route: route.index, match: route.match, subset: cluster.slice(cluster.indexOf("/") + 1) });
    }
  }
  return found;
}

/**
 * The black holes `candidate` has that `baseline` (what clients have) does
 * not: only RouteConfigurations that `diff` shows added or changed, and
 * those of services whose subset ClusterLoadAssignments changed, are read.
 * A hole counts as the same when its service, route match and subset are.
 * Without a baseline every hole is new. Throws what the codec throws.
 */
export function newBlackHoles(codec: Codec, baseline: Snapshot | undefined, candidate: Snapshot, diff: GenerationDiff): BlackHole[] {
  const services = new Set<string>(baseline ? [...diff.types.RDS.added, ...diff.types.RDS.changed] : candidate.resources[ROUTE_TYPE].keys());
  if (baseline) {
    const eds = diff.types.EDS;
    for (const name of [...eds.added, ...eds.changed, ...eds.removed]) {
      const slash = name.indexOf("/");
      if (slash > 0) services.add(name.slice(0, slash));
    }
  }
  const found: BlackHole[] = [];
  for (const service of [...services].sort()) {
    const holes = blackHolesOf(codec, candidate, service);
    if (holes.length === 0) continue;
    const known = new Set(baseline ? blackHolesOf(codec, baseline, service).map(keyOf) : []);
    found.push(...holes.filter((hole) => !known.has(keyOf(hole))));
  }
  return found;
}

function keyOf(hole: BlackHole): string {
  return `${hole.match}\u0000${hole.subset}`;
}

/** `route 1 (method /shop.Checkout/Pay) of checkout sends traffic to subset v2, which has no endpoints; …` */
export function blackHoleReason(hole: BlackHole): string {
  return `route ${hole.route} (${hole.match}) of ${hole.service} sends traffic to subset ${hole.subset}, which has no endpoints: its calls would fail with UNAVAILABLE; register instances of the subset or change the policy, or approve the generation`;
}
