import type { Issue } from "../errors/index.js";
import {
  ENDPOINT_TYPE,
  RESOURCE_TYPES,
  type ClusterLoadAssignment,
  type Codec,
  type LocalityLbEndpoints,
  type ResourceTypeUrl,
} from "../proto/index.js";
import { RESOURCE_KINDS, endpointKey } from "../resources/index.js";
import { createResource, createSnapshot, type Resource, type Snapshot } from "../snapshot/index.js";
import { newBlackHoles } from "./black-holes.js";
import { assessBlastRadius, endpointViolation } from "./blast-radius.js";
import { diffSnapshots } from "./diff.js";
import type { EndpointDiff, GenerationDiff, GuardPolicy } from "./model.js";

/**
 * Absorbs float error in `drainStep × count` (0.29 × 100 = 28.999…), so a
 * share that is a whole number of endpoints releases that many.
 */
const SHARE_EPSILON = 1e-9;

/**
 * One step of a held endpoint drain: `candidate` (a generation that fails
 * assessBlastRadius against `baseline`, the generation served now) with part
 * of its removals put back, so that the step passes assessBlastRadius against
 * `baseline` and is consistent whenever both inputs are.
 * - While the LDS or CDS rule is violated, services removed are restored
 *   from `baseline` in full (all four resources of that name) and services
 *   added are held back (left out): removing services wholesale is never
 *   drained, it waits for a person to approve.
 * - A service that is still present but loses too many endpoints releases at
 *   most max(1, floor(drainStep × its endpoints in `baseline`)) of its removed
 *   endpoints (the first in sorted `host:port` order), fewer if more would
 *   break maxEndpointRemoval, and never its last endpoint. The other removed
 *   endpoints go back into the candidate's CLA with their baseline locality,
 *   priority, weight and health; a locality the candidate lacks comes back
 *   with its baseline weight, one it has keeps the candidate's weight. A
 *   service that can release nothing keeps its baseline CLA as it is.
 * - Everything else is the candidate's.
 * Returns `candidate` itself when it passes already, and undefined when the
 * step would equal `baseline` (nothing can be released: only whole-service
 * changes or last-endpoint holds remain) or when the candidate has a new
 * black hole (black-holes.ts), which only an approval releases. The step has revision
 * `revision ?? candidate.revision`. Repeating the step from the previous one
 * reaches the candidate, or stops at one endpoint for a candidate that
 * empties a service. Throws what the codec throws.
 */
export function drainStep(codec: Codec, baseline: Snapshot, candidate: Snapshot, policy: GuardPolicy, revision?: number): Snapshot | undefined {
  const diff = diffSnapshots(codec, baseline, candidate);
  // A route newly sending traffic to an empty subset is never released step by step: it waits for approval.
  if (newBlackHoles(codec, baseline, candidate, diff).length > 0) return undefined;
  const issues = assessBlastRadius(codec, baseline, candidate, diff, policy);
  if (issues.length === 0) return candidate;
  // What the step changes in the candidate, per type (undefined: removed); the step's maps derive from the candidate's, so this costs what it changes.
  const maps = new Map(RESOURCE_TYPES.map((type) => [type, new Map<string, Resource | undefined>()] as const));
  const held = holdServiceChanges(baseline, diff, issues, maps);
  const assignments = maps.get(ENDPOINT_TYPE)!;
  for (const [service, change] of Object.entries(diff.endpoints)) {
    if (held.has(service) || !candidate.resources[ENDPOINT_TYPE].has(service)) continue;
    if (endpointViolation(service, change, policy) === undefined) continue;
    assignments.set(service, drainedAssignment(codec, baseline, candidate, service, change, policy));
  }
  const stepMaps: Partial<Record<ResourceTypeUrl, ReadonlyMap<string, Resource>>> = {};
  for (const [type, changes] of maps) stepMaps[type] = candidate.resources[type].with(changes);
  const step = createSnapshot(revision ?? candidate.revision, stepMaps, candidate);
  return step.version === baseline.version ? undefined : step;
}

/**
 * When the LDS or CDS rule is violated, keeps the step's services those of
 * `baseline`: each service whose Listener or Cluster the candidate removes
 * gets all its resources back as `baseline` has them, and each one it adds
 * is left out. Added services are held too because they would dilute the
 * share: against a step that has them, the next step's removals could fall
 * within maxResourceRemoval and go out without approval. Returns the names
 * held.
 */
function holdServiceChanges(
  baseline: Snapshot,
  diff: GenerationDiff,
  issues: readonly Issue[],
  maps: ReadonlyMap<ResourceTypeUrl, Map<string, Resource | undefined>>,
): Set<string> {
  if (!issues.some((issue) => issue.path === "LDS" || issue.path === "CDS")) return new Set();
  const { LDS, CDS } = diff.types;
  const names = new Set([...LDS.removed, ...CDS.removed, ...LDS.added, ...CDS.added]);
  for (const name of names) {
    for (const type of RESOURCE_TYPES) {
      const resource = baseline.resources[type].get(name);
      maps.get(type)?.set(name, resource);
    }
  }
  return names;
}

/** The CLA of `service` in the step: the candidate's, with the removed endpoints not released put back. */
function drainedAssignment(
  codec: Codec,
  baseline: Snapshot,
  candidate: Snapshot,
  service: string,
  change: EndpointDiff,
  policy: GuardPolicy,
): Resource {
  const was = baseline.resources[ENDPOINT_TYPE].get(service) as Resource;
  const is = candidate.resources[ENDPOINT_TYPE].get(service) as Resource;
  const released = releasable(service, change, policy);
  if (released === 0) return was;
  const keep = new Set(change.removed.slice(released));
  const assignments = RESOURCE_KINDS[ENDPOINT_TYPE];
  // Both sides were decoded already (by the diff), and are read here, not changed: putBack copies what it extends.
  const merged = putBack(assignments.decode(codec, was.body).message, assignments.decode(codec, is.body).message, keep);
  // The step is a new resource, so it is encoded: the bytes are what the xDS server sends.
  return createResource(ENDPOINT_TYPE, service, codec.encodeResource(ENDPOINT_TYPE, merged));
}

/**
 * How many of the removed endpoints this step releases: the drain share of
 * what the service had (at least one), cut down until the step passes the EDS
 * rule, whose no-endpoints check keeps the last endpoint. A step that
 * releases `n` has before + added − n endpoints.
 */
function releasable(service: string, change: EndpointDiff, policy: GuardPolicy): number {
  const share = Math.max(1, Math.floor(policy.drainStep * change.before + SHARE_EPSILON));
  let count = Math.min(share, change.removed.length);
  while (count > 0 && endpointViolation(service, { before: change.before, after: change.before + change.added.length - count }, policy)) {
    count--;
  }
  return count;
}

/**
 * `candidate` with the endpoints in `keep` copied back from `baseline`: into
 * the candidate's locality group with the same locality and priority, or into
 * a copy of the baseline group (locality weight included) when it has none.
 */
function putBack(baseline: ClusterLoadAssignment, candidate: ClusterLoadAssignment, keep: ReadonlySet<string>): ClusterLoadAssignment {
  const groups = candidate.endpoints.map((group) => ({ ...group, lb_endpoints: [...group.lb_endpoints] }));
  const byKey = new Map(groups.map((group) => [groupKey(group), group]));
  const pending = new Set(keep);
  for (const group of baseline.endpoints) {
    // delete() is true once per host:port, so one listed twice comes back once.
    const back = group.lb_endpoints.filter((lbEndpoint) => pending.delete(endpointKey(lbEndpoint)));
    if (back.length === 0) continue;
    const target = byKey.get(groupKey(group));
    if (target) {
      target.lb_endpoints.push(...back);
    } else {
      const copy = { ...group, lb_endpoints: back };
      groups.push(copy);
      byKey.set(groupKey(copy), copy);
    }
  }
  return { ...candidate, endpoints: groups };
}

function groupKey(group: LocalityLbEndpoints): string {
  const locality = group.locality;
  return JSON.stringify([locality?.region ?? "", locality?.zone ?? "", locality?.sub_zone ?? "", group.priority ?? 0]);
}
