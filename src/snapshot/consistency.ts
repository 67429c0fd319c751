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

/** The verdict on each snapshot object, per codec: snapshots are frozen, so it holds for as long as the snapshot lives. */
const verdicts = new WeakMap<Codec, WeakMap<Snapshot, readonly Finding[]>>();

/**
 * checkConsistency with the decoding step supplied, so a caller can memoize
 * facts per Resource. Each snapshot object is checked once per codec: the
 * builder's check and the push guard's on the same snapshot share one pass.
 */
export function inconsistenciesOf(snapshot: Snapshot, codec: Codec, factsOf: (resource: Resource) => ResourceFacts): Issue[] {
  return verdictOf(snapshot, codec, factsOf).map((finding) => finding.issue);
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
  for (const { name, issue } of verdictOf(snapshot, codec, factsOf)) {
    const issues = byName.get(name);
    if (issues) issues.push(issue);
    else byName.set(name, [issue]);
  }
  return byName;
}

function verdictOf(snapshot: Snapshot, codec: Codec, factsOf: (resource: Resource) => ResourceFacts): readonly Finding[] {
  let byCodec = verdicts.get(codec);
  if (!byCodec) verdicts.set(codec, (byCodec = new WeakMap()));
  let verdict = byCodec.get(snapshot);
  if (!verdict) byCodec.set(snapshot, (verdict = findInconsistencies(snapshot, factsOf)));
  return verdict;
}

function findInconsistencies(snapshot: Snapshot, factsOf: (resource: Resource) => ResourceFacts): Finding[] {
  const findings: Finding[] = [];
  for (const type of RESOURCE_TYPES) {
    for (const [key, resource] of snapshot.resources[type]) {
      // Paths are built only for an issue: most resources have none, and this loop runs over every resource on every push.
      if (resource.typeUrl !== type) {
        findings.push(finding(key, where(type, key), `holds a resource of type ${resource.typeUrl}`));
        continue;
      }
      if (resource.name !== key) findings.push(finding(key, where(type, key), `holds resource ${JSON.stringify(resource.name)}`));
      let facts: ResourceFacts;
      try {
        facts = factsOf(resource);
      } catch (error) {
        if (!(error instanceof SteadyError)) throw error;
        findings.push(finding(key, where(type, key), error.message));
        continue;
      }
      if (facts.name !== key) {
        findings.push(finding(key, `${where(type, key)}.name`, `is ${JSON.stringify(facts.name)}, but the resource is stored under ${JSON.stringify(key)}`));
      }
      for (const ref of facts.references) {
        if (!snapshot.resources[ref.type].has(ref.name)) {
          findings.push(finding(key, `${where(type, key)}.${ref.path}`, `refers to ${shortTypeName(ref.type)} ${JSON.stringify(ref.name)}, which the snapshot does not contain`));
        }
      }
    }
  }
  return findings;
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
