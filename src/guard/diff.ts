import { SortedMap } from "../collections/index.js";
import { ENDPOINT_TYPE, RESOURCE_TYPES, TYPE_SHORT_NAMES, type Codec } from "../proto/index.js";
import type { Resource, Snapshot } from "../snapshot/index.js";
import { endpointsOfResource } from "./endpoints.js";
import type { EndpointDiff, GenerationDiff, ShortType, TypeDiff } from "./model.js";

const NO_RESOURCES = SortedMap.empty<Resource>();

/**
 * What `after` changes against `before` (undefined: the first generation, so
 * every resource is added). Per short type, the names added, removed and
 * changed (same name, another version), each sorted. `endpoints` lists only
 * the services (ClusterLoadAssignment names) whose endpoint set differs, a
 * missing CLA counting as zero endpoints; a CLA that changes in other ways
 * (weights, health, localities) is not listed there. `against` is copied in
 * when given. Throws ProtoDecodeError when a CLA does not decode.
 */
export function diffSnapshots(codec: Codec, before: Snapshot | undefined, after: Snapshot, against?: number): GenerationDiff {
  const types = {} as Record<ShortType, TypeDiff>;
  for (const type of RESOURCE_TYPES) {
    types[TYPE_SHORT_NAMES[type]] = diffNames(before?.resources[type] ?? NO_RESOURCES, after.resources[type]);
  }
  const endpoints: Record<string, EndpointDiff> = {};
  // Only a CLA that came, went or changed can change a service's endpoint set.
  const eds = types[TYPE_SHORT_NAMES[ENDPOINT_TYPE]];
  const services = new Set([...eds.added, ...eds.removed, ...eds.changed]);
  for (const service of [...services].sort()) {
    const change = diffEndpoints(codec, before, after, service);
    if (change) endpoints[service] = change;
  }
  const policies = policyChanges(before, types);
  const diff = against === undefined ? { types, endpoints } : { against, types, endpoints };
  return policies.length > 0 ? { ...diff, policies } : diff;
}

/**
 * The services whose policy resources differ: a changed RouteConfiguration
 * (one added or removed goes with its service's Listener), or a subset
 * Cluster added, removed or changed. A subset ClusterLoadAssignment's
 * change is an endpoint change (`endpoints`). None for the first
 * generation: everything is new then.
 */
function policyChanges(before: Snapshot | undefined, types: Readonly<Record<ShortType, TypeDiff>>): string[] {
  if (!before) return [];
  const services = new Set(types.RDS.changed);
  const { added, removed, changed } = types.CDS;
  for (const name of [...added, ...removed, ...changed]) {
    const slash = name.indexOf("/");
    if (slash > 0) services.add(name.slice(0, slash));
  }
  return [...services].sort();
}

/** The names added, removed and changed: for snapshots built one from another, the cost follows the change (SortedMap.diffFrom). */
function diffNames(before: SortedMap<Resource>, after: SortedMap<Resource>): TypeDiff {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  after.diffFrom(before, {
    added: (name) => added.push(name),
    removed: (name) => removed.push(name),
    changed: (name, was, is) => {
      if (was.version !== is.version) changed.push(name);
    },
  });
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort() };
}

/** The endpoint change of one service, or undefined when its endpoint set is the same on both sides. */
function diffEndpoints(codec: Codec, before: Snapshot | undefined, after: Snapshot, service: string): EndpointDiff | undefined {
  return endpointChange(codec, before?.resources[ENDPOINT_TYPE].get(service), after.resources[ENDPOINT_TYPE].get(service));
}

/** Endpoint changes by codec, then by the ClusterLoadAssignment before and after (null: the same endpoints). */
const changes = new WeakMap<Codec, WeakMap<Resource, WeakMap<Resource, EndpointDiff | null>>>();

/**
 * The change in endpoints from one ClusterLoadAssignment to another (none:
 * no endpoints), or undefined when the sets are the same; remembered per pair
 * of Resource objects, so work done ahead (prepareDecision) is not repeated.
 * Throws ProtoDecodeError when a CLA does not decode.
 */
export function endpointChange(codec: Codec, previous: Resource | undefined, next: Resource | undefined): EndpointDiff | undefined {
  // Equal versions mean equal bytes: no need to decode.
  if (previous && next && previous.version === next.version) return undefined;
  if (!previous || !next) return compareEndpoints(previous ? endpointsOfResource(codec, previous) : [], next ? endpointsOfResource(codec, next) : []);
  let byPrevious = changes.get(codec);
  if (!byPrevious) changes.set(codec, (byPrevious = new WeakMap()));
  let byNext = byPrevious.get(previous);
  if (!byNext) byPrevious.set(previous, (byNext = new WeakMap()));
  const known = byNext.get(next);
  if (known !== undefined) return known ?? undefined;
  const change = compareEndpoints(endpointsOfResource(codec, previous), endpointsOfResource(codec, next));
  byNext.set(next, change ?? null);
  return change;
}

function compareEndpoints(was: readonly string[], is: readonly string[]): EndpointDiff | undefined {
  const wasSet = new Set(was);
  const isSet = new Set(is);
  const added = is.filter((endpoint) => !wasSet.has(endpoint));
  const removed = was.filter((endpoint) => !isSet.has(endpoint));
  if (added.length === 0 && removed.length === 0) return undefined;
  return { before: was.length, after: is.length, added, removed };
}
