import { SortedMap } from "../collections/index.js";
import { SteadyError, type Issue } from "../errors/index.js";
import { LISTENER_TYPE, RESOURCE_TYPES, type Codec, type ResourceTypeUrl } from "../proto/index.js";
import type { RegistryView, ServiceEntry } from "../registry/index.js";
import { compareStrings, createSnapshot } from "./assemble.js";
import { inconsistenciesByName, readFacts, type ResourceFacts } from "./consistency.js";
import { checkServiceEntry } from "./input-checks.js";
import { encodeServiceResources, type EncodedService, type ServiceResources } from "./service-resources.js";
import type { SecurityOptions } from "./security-resources.js";
import { NOTHING, previousOf, resolveClaims, sameNames, SUBSET_TYPES, subsetOwner, subsetResourcesOf, type Chosen, type Claims } from "./server-claims.js";
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
  /** The trust domain and DNS domain of the first build (domainsOf): the resources held are for them only. */
  trustDomain?: string;
}

interface LastBuild {
  readonly services: SortedMap<ServiceEntry>;
  readonly snapshot: Snapshot;
  /** The issues of every service that did not build. */
  readonly issues: ReadonlyMap<string, readonly Issue[]>;
  /** The server Listener names of each service that has any in `snapshot`. */
  readonly claims: Claims;
  /** Who owns each server Listener name in `snapshot`. */
  readonly owners: ReadonlyMap<string, string>;
}

export function createBuildCache(): BuildCache {
  const state: CacheState = { kind: "snapshot-build-cache", services: new WeakMap(), failed: new WeakMap(), latest: new Map(), facts: new WeakMap() };
  return state;
}

/** What a build cache is keyed by: the resources depend on the trust domain and the DNS domain (DNS fallback's default host). */
function domainsOf(options: SecurityOptions): string {
  return `${options.trustDomain} ${options.dnsDomain ?? ""}`;
}

/** The trust domain when none is given (serve's `--trust-domain` default). */
export const DEFAULT_SECURITY_OPTIONS: SecurityOptions = Object.freeze({ trustDomain: "steadymesh.local" });

/**
 * Builds the Listener, RouteConfiguration, Cluster and ClusterLoadAssignment
 * of every service in `view` (all named after the service), and the server
 * Listeners of those with mTLS or intentions (named after their instances'
 * addresses; `options` gives the trust domain), and checks that they are
 * consistent. One service's failure never holds back the others: a
 * service whose entry breaks a rule a client would NACK on, whose server
 * Listener another service already owns (the first in name order keeps it),
 * or whose resources are inconsistent, keeps the resources `previous` (the
 * last snapshot built) has of it (see server-claims.ts), or has none when
 * `previous` has none, and is listed in `failures`. Consistency is checked on
 * the final snapshot, so it holds whatever failed. Pure: the same view,
 * `previous` and `options` give the same result, with or without `cache` (a
 * cache serves one trust domain: given another, it is not used). Each
 * type's map iterates in name order. Issue paths look like
 * `services[login].instances[i-1].port` or `RDS[login]…route.cluster`.
 */
export function buildSnapshot(view: RegistryView, codec: Codec, cache?: BuildCache, previous?: Snapshot, options: SecurityOptions = DEFAULT_SECURITY_OPTIONS): BuildResult {
  const given = cache as CacheState | undefined;
  if (given) given.trustDomain ??= domainsOf(options);
  const state = given?.trustDomain === domainsOf(options) ? given : undefined;
  const last = state?.last;
  if (state && last && previous && last.snapshot === previous && view.services instanceof SortedMap) {
    // Incremental: only the services that changed since the last build, and those that did not build then, are decided again.
    const result = decide({ view, codec, state, previous, options }, changedNames(last, view.services as SortedMap<ServiceEntry>), last);
    if (result) return result;
  }
  return decide({ view, codec, state, previous, options }, [...view.services.keys()].sort(compareStrings), undefined) as BuildResult;
}

interface BuildInput {
  readonly view: RegistryView;
  readonly codec: Codec;
  readonly state: CacheState | undefined;
  readonly previous: Snapshot | undefined;
  readonly options: SecurityOptions;
}

/**
 * Decides `names` and assembles the snapshot: from `last` (incremental,
 * every other service as it was), or from nothing (every name). An
 * incremental build gives up (undefined) when a service's server Listener
 * names differ from last time, since who owns a name may then change for
 * services it did not decide: the caller builds in full instead.
 */
function decide(input: BuildInput, names: readonly string[], last: LastBuild | undefined): BuildResult | undefined {
  const { view, codec, state, previous, options } = input;
  const chosen = new Map<string, Chosen>();
  const issues = new Map<string, Issue[]>();
  const fallback = (name: string): Chosen => previousOf(previous, name, view.services.get(name), options, codec);
  for (const name of names) {
    const entry = view.services.get(name);
    if (!entry) {
      chosen.set(name, NOTHING);
      state?.latest.delete(name);
      continue;
    }
    const outcome = resourcesOf(name, entry, codec, state, options);
    if (outcome.ok) {
      chosen.set(name, outcome.resources);
    } else {
      issues.set(name, [...outcome.issues]);
      chosen.set(name, fallback(name));
    }
  }
  if (state && !last) for (const name of [...state.latest.keys()]) if (!view.services.has(name)) state.latest.delete(name);
  const owners = resolveClaims(chosen, issues, fallback, last && { claims: last.claims, owners: last.owners });
  if (!owners) return undefined;
  const check = (snapshot: Snapshot) => byOwner(inconsistenciesByName(snapshot, codec, (resource) => factsOf(resource, codec, state)), owners);
  const assembleNow = last && previous
    ? (c: ReadonlyMap<string, Chosen>) => assembleFrom(previous, view.revision, c, last.claims)
    : (c: ReadonlyMap<string, Chosen>) => assemble(view.revision, c);
  const snapshot = settle(chosen, issues, fallback, assembleNow, check);
  if (state) state.last = view.services instanceof SortedMap ? { services: view.services as SortedMap<ServiceEntry>, snapshot, issues, ...ownership(chosen, last) } : undefined;
  if (issues.size === 0) return { ok: true, snapshot, failures: [] };
  const failures = [...issues.keys()].sort(compareStrings).map((service): ServiceFailure => {
    const kept = chosen.get(service) ?? NOTHING;
    // Every failing service was decided in this build (a service failing last time is decided again), so `chosen` has it.
    return { service, issues: [...(issues.get(service) ?? [])], kept: Object.keys(kept.byType).length > 0 || kept.servers.length > 0 || kept.subsets.length > 0 };
  });
  return { ok: false, snapshot, failures, errors: failures.flatMap((failure) => failure.issues) };
}

/** Issues by service: those found in a server Listener go to the service that owns it, those in a subset resource to its service. */
function byOwner(found: Map<string, Issue[]>, owners: ReadonlyMap<string, string>): Map<string, Issue[]> {
  if (![...found.keys()].some((name) => owners.has(name) || subsetOwner(name) !== undefined)) return found;
  const byService = new Map<string, Issue[]>();
  for (const [name, issues] of found) {
    const owner = owners.get(name) ?? subsetOwner(name) ?? name;
    byService.set(owner, [...(byService.get(owner) ?? []), ...issues]);
  }
  return byService;
}

/** The claims and owners of the snapshot settled on (settle may have dropped some), from `last`'s when given: costs what changed. */
function ownership(chosen: ReadonlyMap<string, Chosen>, last: LastBuild | undefined): Pick<LastBuild, "claims" | "owners"> {
  const changed = [...chosen].filter(([name, resources]) => !sameNames(resources.servers, last?.claims.get(name)));
  if (last && changed.length === 0) return { claims: last.claims, owners: last.owners };
  const claims = new Map(last?.claims ?? []);
  const owners = new Map(last?.owners ?? []);
  // Every release before any claim: a name can pass from one decided service to another.
  for (const [name] of changed) for (const server of last?.claims.get(name) ?? []) owners.delete(server);
  for (const [name, resources] of changed) {
    claims.delete(name);
    if (resources.servers.length > 0) claims.set(name, resources.servers.map((server) => server.name));
    for (const server of resources.servers) owners.set(server.name, name);
  }
  return { claims, owners };
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
export function* buildInSteps(
  view: RegistryView,
  codec: Codec,
  cache: BuildCache,
  previous: Snapshot | undefined,
  step: number,
  options: SecurityOptions = DEFAULT_SECURITY_OPTIONS,
): Generator<Snapshot, BuildResult, undefined> {
  const state = cache as CacheState;
  const last = state.last;
  const sameDomain = state.trustDomain === undefined || state.trustDomain === domainsOf(options);
  if (!last || !previous || last.snapshot !== previous || !sameDomain || !(view.services instanceof SortedMap)) return buildSnapshot(view, codec, cache, previous, options);
  const target = view.services as SortedMap<ServiceEntry>;
  const names = changedNames(last, target);
  let services = last.services;
  let from = previous;
  for (let start = 0; start + step < names.length; start += step) {
    services = services.with(names.slice(start, start + step).map((name): [string, ServiceEntry | undefined] => [name, target.get(name)]));
    from = buildSnapshot({ revision: view.revision, services }, codec, cache, from, options).snapshot;
    yield from;
  }
  return buildSnapshot(view, codec, cache, from, options);
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
 * issue was found in falls back one step, from its new resources to
 * `fallback`'s (what `previous` had of it), and from those to none (its
 * issues gathered in `issues`). Every resource is a service's (its server
 * Listeners map to it through `check`), so a service with no resources has
 * no issues of its own; each falls at most twice, so this ends.
 */
function settle(
  chosen: Map<string, Chosen>,
  issues: Map<string, Issue[]>,
  fallback: (name: string) => Chosen,
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
      chosen.set(name, onPrevious ? NOTHING : fallback(name));
    }
  }
}

/**
 * `previous` with the resources of the services in `chosen` replaced (a type
 * a service lacks is removed, and so are the server Listeners `claims` says
 * it had and no longer has, and the subset resources it had and no longer
 * has): costs what changed.
 */
function assembleFrom(previous: Snapshot, revision: number, chosen: ReadonlyMap<string, Chosen>, claims: Claims): Snapshot {
  const byType = {} as Record<ResourceTypeUrl, SortedMap<Resource>>;
  for (const type of RESOURCE_TYPES) {
    const changes = [...chosen].map(([name, resources]): [string, Resource | undefined] => [name, resources.byType[type]]);
    if (type === LISTENER_TYPE) {
      // Every removal before any addition: a name can pass from one decided service to another.
      for (const name of chosen.keys()) for (const server of claims.get(name) ?? []) changes.push([server, undefined]);
      for (const resources of chosen.values()) for (const server of resources.servers) changes.push([server.name, server]);
    }
    if (SUBSET_TYPES.includes(type)) {
      for (const name of chosen.keys()) for (const resource of subsetResourcesOf(previous, type, name)) changes.push([resource.name, undefined]);
      for (const resources of chosen.values()) for (const resource of resources.subsets) if (resource.typeUrl === type) changes.push([resource.name, resource]);
    }
    byType[type] = previous.resources[type].with(changes);
  }
  return createSnapshot(revision, byType, previous);
}

/** A snapshot of exactly the resources in `chosen`. */
function assemble(revision: number, chosen: ReadonlyMap<string, Chosen>): Snapshot {
  const byType = {} as Record<ResourceTypeUrl, SortedMap<Resource>>;
  for (const type of RESOURCE_TYPES) {
    const entries = [...chosen].flatMap(([name, resources]): [string, Resource][] => (resources.byType[type] ? [[name, resources.byType[type]]] : []));
    if (type === LISTENER_TYPE) for (const resources of chosen.values()) for (const server of resources.servers) entries.push([server.name, server]);
    for (const resources of chosen.values()) for (const resource of resources.subsets) if (resource.typeUrl === type) entries.push([resource.name, resource]);
    byType[type] = SortedMap.of(entries);
  }
  return createSnapshot(revision, byType);
}

type Outcome = { readonly ok: true; readonly resources: ServiceResources } | { readonly ok: false; readonly issues: readonly Issue[] };

/** The service's resources, or its problems; from the cache when `entry` was seen before. */
function resourcesOf(name: string, entry: ServiceEntry, codec: Codec, state: CacheState | undefined, options: SecurityOptions): Outcome {
  const cached = state?.services.get(entry);
  if (cached) return { ok: true, resources: cached };
  const failed = state?.failed.get(entry) ?? checkServiceEntry(name, entry);
  if (failed.length > 0) {
    state?.failed.set(entry, failed);
    return { ok: false, issues: failed };
  }
  try {
    const resources = encodeServiceResources(entry, codec, options, state?.latest.get(name));
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
