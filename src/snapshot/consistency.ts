import { SortedMap } from "../collections/index.js";
import { SteadyError, type Issue } from "../errors/index.js";
import { RESOURCE_TYPES, shortTypeName, type Codec, type ResourceTypeUrl } from "../proto/index.js";
import { RESOURCE_KINDS, referencesOf, type Reference } from "../resources/index.js";
import type { Resource, Snapshot } from "./snapshot.js";

/** What the checker needs to know about one resource, read from its bytes. */
export interface ResourceFacts {
  /** The name inside the message (Listener.name, ClusterLoadAssignment.cluster_name, …). */
  readonly name: string;
  readonly references: readonly Reference[];
}

/**
 * Issues that would leave a client waiting for a resource that never comes:
 * every RDS name an LDS listener uses, every cluster a route uses and every
 * EDS name a CDS cluster uses (eds service_name, else its name) must be in
 * the snapshot; every resource must be stored under the name its message
 * carries, in the map of its own type, and must decode. Resources nobody
 * references are allowed. Paths look like
 * `RDS[login].virtual_hosts[0].routes[0].route.cluster`.
 */
export function checkConsistency(snapshot: Snapshot, codec: Codec): Issue[] {
  return inconsistenciesOf(snapshot, codec, (resource) => readFacts(resource, codec));
}

/**
 * checkConsistency for a caller that checks many successive snapshots sharing
 * most of their resources (the push guard): each Resource's facts are read
 * once and remembered, weakly, across calls.
 */
export function createConsistencyChecker(codec: Codec): (snapshot: Snapshot) => Issue[] {
  const facts = new WeakMap<Resource, ResourceFacts>();
  return (snapshot) =>
    inconsistenciesOf(snapshot, codec, (resource) => {
      let known = facts.get(resource);
      if (!known) facts.set(resource, (known = readFacts(resource, codec)));
      return known;
    });
}

/** One issue, with the name of the resource it was found in (its map key). */
interface Finding {
  readonly name: string;
  readonly issue: Issue;
}

/**
 * A snapshot's findings, kept so that the next snapshot's can be derived from
 * them: per type, the findings of each resource that has any (by key), and
 * who refers to what, so a resource that appears or goes gets the resources
 * pointing at it checked again. Persistent maps: a derived verdict shares
 * all but what changed.
 */
interface Verdict {
  readonly findings: Readonly<Record<ResourceTypeUrl, SortedMap<readonly Finding[]>>>;
  /** `type\0name` of a referenced resource → `type\0key` of each resource referring to it. */
  readonly referrers: SortedMap<readonly string[]>;
  /** Every finding, by type, then key, then as found. */
  readonly list: readonly Finding[];
}

/** Per codec, the verdict on each snapshot (snapshots are frozen, so it holds as long as the snapshot lives), and the last one made, to derive the next from. */
interface VerdictBook {
  readonly bySnapshot: WeakMap<Snapshot, Verdict>;
  last?: { readonly snapshot: Snapshot; readonly verdict: Verdict };
}

const books = new WeakMap<Codec, VerdictBook>();

/**
 * checkConsistency with the decoding step supplied, so a caller can memoize
 * facts per Resource. Each snapshot object is checked once per codec: the
 * builder's check and the push guard's on the same snapshot share one pass.
 */
export function inconsistenciesOf(snapshot: Snapshot, codec: Codec, factsOf: (resource: Resource) => ResourceFacts): Issue[] {
  return verdictOf(snapshot, codec, factsOf).list.map((finding) => finding.issue);
}

/**
 * inconsistenciesOf grouped by the name of the resource each issue was found
 * in (the resource that refers to a missing one, or the malformed one), in
 * the order found. Every resource the builder makes is named after its
 * service, so this says which services are inconsistent. Shares the verdict
 * cache with inconsistenciesOf.
 */
export function inconsistenciesByName(snapshot: Snapshot, codec: Codec, factsOf: (resource: Resource) => ResourceFacts): Map<string, Issue[]> {
  const byName = new Map<string, Issue[]>();
  for (const { name, issue } of verdictOf(snapshot, codec, factsOf).list) {
    const issues = byName.get(name);
    if (issues) issues.push(issue);
    else byName.set(name, [issue]);
  }
  return byName;
}

/**
 * The snapshot's verdict: remembered, or derived from the last verdict made
 * with this codec by looking only at what differs between the two snapshots
 * (SortedMap.diffFrom: for a snapshot built from the last one, the cost
 * follows the change), or, for the first, made by looking at everything.
 * Derived and full verdicts are equal; the unit tests check it.
 */
function verdictOf(snapshot: Snapshot, codec: Codec, factsOf: (resource: Resource) => ResourceFacts): Verdict {
  let book = books.get(codec);
  if (!book) books.set(codec, (book = { bySnapshot: new WeakMap() }));
  let verdict = book.bySnapshot.get(snapshot);
  if (!verdict) {
    verdict = book.last ? deriveVerdict(book.last.snapshot, book.last.verdict, snapshot, factsOf) : fullVerdict(snapshot, factsOf);
    book.bySnapshot.set(snapshot, verdict);
  }
  book.last = { snapshot, verdict };
  return verdict;
}

/** What one resource contributes: its findings, and the (type, name) keys it refers to. */
interface Examined {
  readonly findings: readonly Finding[];
  readonly refs: readonly string[];
}

function refKey(type: ResourceTypeUrl, name: string): string {
  return `${type}\u0000${name}`;
}

function splitKey(key: string): [ResourceTypeUrl, string] {
  const at = key.indexOf("\u0000");
  return [key.slice(0, at) as ResourceTypeUrl, key.slice(at + 1)];
}

const NO_FINDINGS: readonly Finding[] = [];

function examine(snapshot: Snapshot, type: ResourceTypeUrl, key: string, resource: Resource, factsOf: (resource: Resource) => ResourceFacts): Examined {
  // Paths are built only for an issue: most resources have none, and this runs for every resource that changes.
  if (resource.typeUrl !== type) return { findings: [finding(key, where(type, key), `holds a resource of type ${resource.typeUrl}`)], refs: [] };
  const findings: Finding[] = [];
  if (resource.name !== key) findings.push(finding(key, where(type, key), `holds resource ${JSON.stringify(resource.name)}`));
  let facts: ResourceFacts;
  try {
    facts = factsOf(resource);
  } catch (error) {
    if (!(error instanceof SteadyError)) throw error;
    findings.push(finding(key, where(type, key), error.message));
    return { findings, refs: [] };
  }
  if (facts.name !== key) {
    findings.push(finding(key, `${where(type, key)}.name`, `is ${JSON.stringify(facts.name)}, but the resource is stored under ${JSON.stringify(key)}`));
  }
  for (const ref of facts.references) {
    if (!snapshot.resources[ref.type].has(ref.name)) {
      findings.push(finding(key, `${where(type, key)}.${ref.path}`, `refers to ${shortTypeName(ref.type)} ${JSON.stringify(ref.name)}, which the snapshot does not contain`));
    }
  }
  return { findings: findings.length === 0 ? NO_FINDINGS : findings, refs: facts.references.map((ref) => refKey(ref.type, ref.name)) };
}

function fullVerdict(snapshot: Snapshot, factsOf: (resource: Resource) => ResourceFacts): Verdict {
  const findings = {} as Record<ResourceTypeUrl, SortedMap<readonly Finding[]>>;
  const referrers = new Map<string, string[]>();
  for (const type of RESOURCE_TYPES) {
    const found: [string, readonly Finding[]][] = [];
    for (const [key, resource] of snapshot.resources[type]) {
      const examined = examine(snapshot, type, key, resource, factsOf);
      if (examined.findings.length > 0) found.push([key, examined.findings]);
      const self = refKey(type, key);
      for (const ref of new Set(examined.refs)) {
        const list = referrers.get(ref);
        if (list) list.push(self);
        else referrers.set(ref, [self]);
      }
    }
    findings[type] = SortedMap.of(found);
  }
  return withList(findings, SortedMap.of(referrers));
}

/**
 * The verdict on `snapshot` from `base`'s: only the resources that were
 * added or changed, and those referring to a resource that came or went,
 * are examined again.
 */
function deriveVerdict(baseSnapshot: Snapshot, base: Verdict, snapshot: Snapshot, factsOf: (resource: Resource) => ResourceFacts): Verdict {
  const recheck = new Set<string>();
  const referrerChanges = new Map<string, string[]>();
  const referrersOf = (target: string): string[] => {
    let list = referrerChanges.get(target);
    if (!list) referrerChanges.set(target, (list = [...(base.referrers.get(target) ?? [])]));
    return list;
  };
  const refsOf = (type: ResourceTypeUrl, key: string, resource: Resource): Set<string> => {
    if (resource.typeUrl !== type) return new Set();
    try {
      return new Set(factsOf(resource).references.map((ref) => refKey(ref.type, ref.name)));
    } catch (error) {
      if (!(error instanceof SteadyError)) throw error;
      return new Set();
    }
  };
  const link = (self: string, refs: Set<string>, add: boolean): void => {
    for (const target of refs) {
      const list = referrersOf(target);
      const at = list.indexOf(self);
      if (add && at < 0) list.push(self);
      if (!add && at >= 0) list.splice(at, 1);
    }
  };
  const cameOrWent = (self: string): void => {
    for (const referrer of base.referrers.get(self) ?? []) recheck.add(referrer);
  };
  const dropped = new Set<string>();
  for (const type of RESOURCE_TYPES) {
    snapshot.resources[type].diffFrom(baseSnapshot.resources[type], {
      added: (key, resource) => {
        const self = refKey(type, key);
        recheck.add(self);
        link(self, refsOf(type, key, resource), true);
        cameOrWent(self);
      },
      removed: (key, resource) => {
        const self = refKey(type, key);
        dropped.add(self);
        link(self, refsOf(type, key, resource), false);
        cameOrWent(self);
      },
      changed: (key, before, after) => {
        const self = refKey(type, key);
        recheck.add(self);
        link(self, refsOf(type, key, before), false);
        link(self, refsOf(type, key, after), true);
      },
    });
  }
  const changes = Object.fromEntries(RESOURCE_TYPES.map((type) => [type, [] as [string, readonly Finding[] | undefined][]])) as Record<ResourceTypeUrl, [string, readonly Finding[] | undefined][]>;
  for (const self of dropped) {
    const [type, key] = splitKey(self);
    changes[type].push([key, undefined]);
  }
  for (const self of recheck) {
    const [type, key] = splitKey(self);
    const resource = snapshot.resources[type].get(key);
    const found = resource ? examine(snapshot, type, key, resource, factsOf).findings : NO_FINDINGS;
    changes[type].push([key, found.length > 0 ? found : undefined]);
  }
  const findings = Object.fromEntries(RESOURCE_TYPES.map((type) => [type, base.findings[type].with(changes[type])])) as Record<ResourceTypeUrl, SortedMap<readonly Finding[]>>;
  const referrers = base.referrers.with([...referrerChanges].map(([target, list]): [string, readonly string[] | undefined] => [target, list.length > 0 ? list : undefined]));
  return withList(findings, referrers);
}

function withList(findings: Record<ResourceTypeUrl, SortedMap<readonly Finding[]>>, referrers: SortedMap<readonly string[]>): Verdict {
  const list = RESOURCE_TYPES.flatMap((type) => [...findings[type].values()].flat());
  return { findings: Object.freeze(findings), referrers, list };
}

function finding(name: string, path: string, message: string): Finding {
  return { name, issue: { path, message } };
}

function where(type: ResourceTypeUrl, key: string): string {
  return `${shortTypeName(type)}[${key}]`;
}

/**
 * The name `resource`'s message carries and the names it refers to, read
 * through src/resources (decoded once per bytes, shared with the push guard).
 * Throws the codec's typed errors.
 */
export function readFacts(resource: Resource, codec: Codec): ResourceFacts {
  const decoded = RESOURCE_KINDS[resource.typeUrl].decode(codec, resource.body);
  return { name: decoded.name, references: referencesOf(codec, decoded) };
}
