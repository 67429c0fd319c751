import { SteadyError, type Issue } from "../errors/index.js";
import { RESOURCE_TYPES, type Codec, type ResourceTypeUrl } from "../proto/index.js";
import type { RegistryView, ServiceEntry } from "../registry/index.js";
import { compareStrings, createSnapshot } from "./assemble.js";
import { inconsistenciesOf, readFacts, type ResourceFacts } from "./consistency.js";
import { checkServiceEntry } from "./input-checks.js";
import { encodeServiceResources, type EncodedService, type ServiceResources } from "./service-resources.js";
import type { Resource, Snapshot } from "./snapshot.js";

/** Either a consistent snapshot, or every problem found (nothing is half-built). */
export type BuildResult = { ok: true; snapshot: Snapshot } | { ok: false; errors: Issue[] };

/**
 * Memo shared by successive buildSnapshot calls: treat it as opaque. It holds
 * each service's encoded resources keyed by ServiceEntry identity (the
 * registry reuses unchanged entries across views), so a rebuild re-encodes
 * only the services that changed, and within one of those only the resources
 * whose inputs changed. Entries are weakly held; the last per name strongly,
 * until the name leaves the registry.
 */
export interface BuildCache {
  readonly kind: "snapshot-build-cache";
}

interface CacheState extends BuildCache {
  readonly services: WeakMap<ServiceEntry, ServiceResources>;
  /** The last resources encoded per service name, so a changed service re-encodes only what changed in it. */
  readonly latest: Map<string, EncodedService>;
  readonly facts: WeakMap<Resource, ResourceFacts>;
}

export function createBuildCache(): BuildCache {
  const state: CacheState = { kind: "snapshot-build-cache", services: new WeakMap(), latest: new Map(), facts: new WeakMap() };
  return state;
}

/**
 * Builds the Listener, RouteConfiguration, Cluster and ClusterLoadAssignment
 * of every service in `view` (all named after the service) and checks that
 * they are consistent. Pure: the same view gives the same snapshot, with or
 * without `cache`. Each type's map iterates in name order. Errors are returned, not thrown, with paths such as
 * `services[login].instances[i-1].port` or `RDS[login]…route.cluster`.
 */
export function buildSnapshot(view: RegistryView, codec: Codec, cache?: BuildCache): BuildResult {
  const state = cache as CacheState | undefined;
  const errors: Issue[] = [];
  const byType = new Map<ResourceTypeUrl, Map<string, Resource>>(RESOURCE_TYPES.map((type) => [type, new Map()]));
  for (const name of [...view.services.keys()].sort(compareStrings)) {
    const entry = view.services.get(name) as ServiceEntry;
    const resources = resourcesOf(name, entry, codec, state, errors);
    if (!resources) continue;
    for (const type of RESOURCE_TYPES) byType.get(type)?.set(name, resources[type]);
  }
  if (errors.length > 0) return { ok: false, errors };
  if (state) for (const name of [...state.latest.keys()]) if (!view.services.has(name)) state.latest.delete(name);
  const snapshot = createSnapshot(view.revision, Object.fromEntries(byType));
  const inconsistencies = inconsistenciesOf(snapshot, codec, (resource) => factsOf(resource, codec, state));
  return inconsistencies.length > 0 ? { ok: false, errors: inconsistencies } : { ok: true, snapshot };
}

/** The service's resources, from the cache when `entry` was seen before; undefined after adding to `errors`. */
function resourcesOf(name: string, entry: ServiceEntry, codec: Codec, state: CacheState | undefined, errors: Issue[]): ServiceResources | undefined {
  const cached = state?.services.get(entry);
  if (cached) return cached;
  const issues = checkServiceEntry(name, entry);
  if (issues.length > 0) {
    errors.push(...issues);
    return undefined;
  }
  try {
    const resources = encodeServiceResources(entry, codec, state?.latest.get(name));
    state?.services.set(entry, resources);
    state?.latest.set(name, { entry, resources });
    return resources;
  } catch (error) {
    // Typed errors (e.g. MessageShapeError) become issues like any other; anything else is a bug.
    if (!(error instanceof SteadyError)) throw error;
    errors.push({ path: `services[${name}]`, message: error.message });
    return undefined;
  }
}

function factsOf(resource: Resource, codec: Codec, state: CacheState | undefined): ResourceFacts {
  const cached = state?.facts.get(resource);
  if (cached) return cached;
  const facts = readFacts(resource, codec);
  state?.facts.set(resource, facts);
  return facts;
}
