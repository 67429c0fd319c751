import { SortedMap } from "../collections/index.js";
import { SteadyError, type Issue } from "../errors/index.js";
import { RESOURCE_TYPES, type Codec, type ResourceTypeUrl } from "../proto/index.js";
import type { RegistryView, ServiceEntry } from "../registry/index.js";
import { compareStrings, createSnapshot } from "./assemble.js";
import { inconsistenciesByName, readFacts, type ResourceFacts } from "./consistency.js";
import { checkServiceEntry } from "./input-checks.js";
import { encodeServiceResources, type EncodedService, type ServiceResources } from "./service-resources.js";
import type { Resource, ServiceFailure, Snapshot } from "./snapshot.js";

/**
 * Always a consistent snapshot. `ok` is true when every service built;
 * otherwise `failures` lists, in name order, each service that did not (with
 * every problem found), and `errors` is all of their issues in one list.
 */
export type BuildResult =
  | { readonly ok: true; readonly snapshot: Snapshot; readonly failures: readonly [] }
  | { readonly ok: false; readonly snapshot: Snapshot; readonly failures: readonly ServiceFailure[]; readonly errors: Issue[] };

/**
 * Memo shared by successive buildSnapshot calls: treat it as opaque. It holds
 * each service's encoded resources keyed by ServiceEntry identity (the
 * registry reuses unchanged entries across views), so a rebuild re-encodes
 * only the services that changed, and within one of those only the resources
 * whose inputs changed; an entry that failed its checks is remembered too, so
 * it is not checked again on every build while it stays. Entries are weakly
 * held; the last encoded per name strongly, until the name leaves the registry.
 */
export interface BuildCache {
  readonly kind: "snapshot-build-cache";
}

interface CacheState extends BuildCache {
  readonly services: WeakMap<ServiceEntry, ServiceResources>;
  readonly failed: WeakMap<ServiceEntry, readonly Issue[]>;
  /** The last resources encoded per service name, so a changed service re-encodes only what changed in it. */
  readonly latest: Map<string, EncodedService>;
  readonly facts: WeakMap<Resource, ResourceFacts>;
  /** The last build, which the next one starts from when it is given that build's snapshot as `previous`. */
  last?: LastBuild;
}

interface LastBuild {
  readonly services: SortedMap<ServiceEntry>;
  readonly snapshot: Snapshot;
  /** The issues of every service that did not build. */
  readonly issues: ReadonlyMap<string, readonly Issue[]>;
}

export function createBuildCache(): BuildCache {
  const state: CacheState = { kind: "snapshot-build-cache", services: new WeakMap(), failed: new WeakMap(), latest: new Map(), facts: new WeakMap() };
  return state;
}

/** A service's resources as they go into the snapshot: all four when built now; those `previous` has when carried over. */
type Chosen = Partial<Record<ResourceTypeUrl, Resource>>;

/**
 * Builds the Listener, RouteConfiguration, Cluster and ClusterLoadAssignment
 * of every service in `view` (all named after the service) and checks that
 * they are consistent. One service's failure never holds back the others: a
 * service whose entry breaks a rule a client would NACK on, or whose
 * resources are inconsistent, keeps the resources `previous` (the last
 * snapshot built) has under its name, or has none when `previous` has none,
 * and is listed in `failures`. Consistency is checked on the final snapshot,
 * so it holds whatever failed. Pure: the same view and `previous` give the
 * same result, with or without `cache`. Each type's map iterates in name
 * order. Issue paths look like `services[login].instances[i-1].port` or
 * `RDS[login]…route.cluster`.
 */
export function buildSnapshot(view: RegistryView, codec: Codec, cache?: BuildCache, previous?: Snapshot): BuildResult {
  const state = cache as CacheState | undefined;
  const last = state?.last;
  const incremental = state !== undefined && last !== undefined && previous !== undefined && last.snapshot === previous && view.services instanceof SortedMap;
  const chosen = new Map<string, Chosen>();
  const issues = new Map<string, Issue[]>();
  // Incremental: only the services that changed since the last build, and those that did not build then, are decided again.
  const names = incremental ? changedNames(last, view.services as SortedMap<ServiceEntry>) : [...view.services.keys()].sort(compareStrings);
  for (const name of names) {
    const entry = view.services.get(name);
    if (!entry) {
      chosen.set(name, {});
      state?.latest.delete(name);
      continue;
    }
    const outcome = resourcesOf(name, entry, codec, state);
    if (outcome.ok) {
      chosen.set(name, outcome.resources);
    } else {
      issues.set(name, [...outcome.issues]);
      chosen.set(name, previousOf(previous, name));
    }
  }
  if (state && !incremental) for (const name of [...state.latest.keys()]) if (!view.services.has(name)) state.latest.delete(name);
  const check = (snapshot: Snapshot) => inconsistenciesByName(snapshot, codec, (resource) => factsOf(resource, codec, state));
  const assembleNow = incremental ? (c: ReadonlyMap<string, Chosen>) => assembleFrom(previous, view.revision, c) : (c: ReadonlyMap<string, Chosen>) => assemble(view.revision, c);
  const snapshot = settle(chosen, issues, previous, assembleNow, check);
  // Every service that failed last time was decided again (changedNames), so this build's issues are all there are.
  if (state) state.last = view.services instanceof SortedMap ? { services: view.services as SortedMap<ServiceEntry>, snapshot, issues } : undefined;
  if (issues.size === 0) return { ok: true, snapshot, failures: [] };
  const failures = [...issues.keys()].sort(compareStrings).map((service): ServiceFailure => ({
    service,
    issues: [...(issues.get(service) ?? [])],
    // Every failing service was decided in this build (a service failing last time is decided again), so `chosen` has it.
    kept: Object.keys(chosen.get(service) ?? {}).length > 0,
  }));
  return { ok: false, snapshot, failures, errors: failures.flatMap((failure) => failure.issues) };
}

/**
 * buildSnapshot of `view` from `previous`, in steps that a caller can spread
 * over event-loop turns: when more than `step` services changed since the
 * last build (of `cache`), each step is an incremental build of a view with
 * `step` more of those changes applied (in name order), yielded and never
 * meant for clients; the return value is the build of `view` itself, from
 * the last step. Every step costs what its `step` services changed. The
 * result is buildSnapshot(view, codec, cache, previous), byte for byte, with
 * the same failures (test/unit/snapshot-incremental.test.ts checks it over
 * random bursts with failing services), with one exception: a service whose
 * new resources refer to a resource that a later step removes falls back to
 * what the step before had, its new resources, which refer to it too, and so
 * to none, where one build would fall back to its resources of `previous`.
 */
export function* buildInSteps(view: RegistryView, codec: Codec, cache: BuildCache, previous: Snapshot | undefined, step: number): Generator<Snapshot, BuildResult, undefined> {
  const state = cache as CacheState;
  const last = state.last;
  if (!last || !previous || last.snapshot !== previous || !(view.services instanceof SortedMap)) return buildSnapshot(view, codec, cache, previous);
  const target = view.services as SortedMap<ServiceEntry>;
  const names = changedNames(last, target);
  let services = last.services;
  let from = previous;
  for (let start = 0; start + step < names.length; start += step) {
    services = services.with(names.slice(start, start + step).map((name): [string, ServiceEntry | undefined] => [name, target.get(name)]));
    from = buildSnapshot({ revision: view.revision, services }, codec, cache, from).snapshot;
    yield from;
  }
  return buildSnapshot(view, codec, cache, from);
}

/** The services added, removed or changed since the last build, and those that did not build then, in name order. */
function changedNames(last: LastBuild, services: SortedMap<ServiceEntry>): string[] {
  const names = new Set(last.issues.keys());
  const add = (name: string): void => void names.add(name);
  services.diffFrom(last.services, { added: add, removed: add, changed: add });
  return [...names].sort(compareStrings);
}

/**
 * The snapshot of `chosen`, made consistent: while it is not, each service an
 * issue was found in falls back one step, from its new resources to those of
 * `previous`, and from those to none (its issues gathered in `issues`).
 * Every resource sits under its service's name, so a service with no
 * resources has no issues of its own; each falls at most twice, so this ends.
 */
function settle(
  chosen: Map<string, Chosen>,
  issues: Map<string, Issue[]>,
  previous: Snapshot | undefined,
  assembleNow: (chosen: ReadonlyMap<string, Chosen>) => Snapshot,
  check: (snapshot: Snapshot) => Map<string, Issue[]>,
): Snapshot {
  for (;;) {
    const snapshot = assembleNow(chosen);
    const inconsistent = check(snapshot);
    if (inconsistent.size === 0) return snapshot;
    for (const [name, found] of inconsistent) {
      const onPrevious = issues.has(name);
      issues.set(name, [...(issues.get(name) ?? []), ...found]);
      chosen.set(name, onPrevious ? {} : previousOf(previous, name));
    }
  }
}

/** `previous` with the resources of the services in `chosen` replaced (a type a service lacks is removed): costs what changed. */
function assembleFrom(previous: Snapshot, revision: number, chosen: ReadonlyMap<string, Chosen>): Snapshot {
  const byType = {} as Record<ResourceTypeUrl, SortedMap<Resource>>;
  for (const type of RESOURCE_TYPES) {
    byType[type] = previous.resources[type].with([...chosen].map(([name, resources]): [string, Resource | undefined] => [name, resources[type]]));
  }
  return createSnapshot(revision, byType, previous);
}

/** A snapshot of exactly the resources in `chosen`. */
function assemble(revision: number, chosen: ReadonlyMap<string, Chosen>): Snapshot {
  const byType = {} as Record<ResourceTypeUrl, SortedMap<Resource>>;
  for (const type of RESOURCE_TYPES) {
    byType[type] = SortedMap.of([...chosen].flatMap(([name, resources]): [string, Resource][] => (resources[type] ? [[name, resources[type]]] : [])));
  }
  return createSnapshot(revision, byType);
}

/** What `previous` has under `name`, of each type. */
function previousOf(previous: Snapshot | undefined, name: string): Chosen {
  const kept: Chosen = {};
  if (!previous) return kept;
  for (const type of RESOURCE_TYPES) {
    const resource = previous.resources[type].get(name);
    if (resource) kept[type] = resource;
  }
  return kept;
}

type Outcome = { readonly ok: true; readonly resources: ServiceResources } | { readonly ok: false; readonly issues: readonly Issue[] };

/** The service's resources, or its problems; from the cache when `entry` was seen before. */
function resourcesOf(name: string, entry: ServiceEntry, codec: Codec, state: CacheState | undefined): Outcome {
  const cached = state?.services.get(entry);
  if (cached) return { ok: true, resources: cached };
  const failed = state?.failed.get(entry) ?? checkServiceEntry(name, entry);
  if (failed.length > 0) {
    state?.failed.set(entry, failed);
    return { ok: false, issues: failed };
  }
  try {
    const resources = encodeServiceResources(entry, codec, state?.latest.get(name));
    state?.services.set(entry, resources);
    state?.latest.set(name, { entry, resources });
    return { ok: true, resources };
  } catch (error) {
    // Typed errors (e.g. MessageShapeError) become issues like any other; anything else is a bug.
    if (!(error instanceof SteadyError)) throw error;
    const issues = [{ path: `services[${name}]`, message: error.message }];
    state?.failed.set(entry, issues);
    return { ok: false, issues };
  }
}

function factsOf(resource: Resource, codec: Codec, state: CacheState | undefined): ResourceFacts {
  const cached = state?.facts.get(resource);
  if (cached) return cached;
  const facts = readFacts(resource, codec);
  state?.facts.set(resource, facts);
  return facts;
}
