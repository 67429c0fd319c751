import type { Issue } from "../errors/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, type Codec, type ResourceTypeUrl } from "../proto/index.js";
import { routeFacts, type RouteFacts } from "./black-holes.js";
import { endpointsOfResource } from "./endpoints.js";
import type { Snapshot } from "../snapshot/index.js";
import type { EndpointDiff, GenerationDiff, GuardPolicy } from "./model.js";

/** The blast-radius rules, each the metric label of the holds it causes. */
export type BlastRadiusRule = "resource-removal" | "endpoint-removal" | "zero-endpoints";

/** One blast-radius violation: the Issue the generation records, and the rule that found it. */
export interface Violation extends Issue {
  readonly rule: BlastRadiusRule;
}

/** Names shown in a removal message before it says "and N more", to keep it one readable line. */
const MAX_NAMES_SHOWN = 10;

/** The whole-resource rules: a share of these types removed at once holds the generation. */
const RESOURCE_RULES = [
  { type: LISTENER_TYPE, short: "LDS", noun: "Listener" },
  { type: CLUSTER_TYPE, short: "CDS", noun: "Cluster" },
] as const satisfies readonly { type: ResourceTypeUrl; short: "LDS" | "CDS"; noun: string }[];

/**
 * The blast-radius violations of pushing `after` where `before` is served;
 * `diff` must be diffSnapshots(codec, before, after). One Issue per
 * violation, LDS then CDS then EDS by service; [] when there is none or
 * when `policy.enabled` is false:
 * - `LDS` / `CDS`: more than `maxResourceRemoval` of the Listeners (Clusters)
 *   `before` had are removed (`removes 2 of 3 Listeners (67% > 50%): a, b`);
 *   a subset Cluster removed while its service stays is left out (policyConsequence);
 * - `EDS/<service>`, for a service whose CLA `after` still has: it had
 *   endpoints and has none left (`leaves greeter with no endpoints (it had
 *   3)`), or else its net loss (before − after count, so a replacement is
 *   no loss) is more than `maxEndpointRemoval` of what it had
 *   (`removes 9 of 10 endpoints of greeter (90% > 50%)`);
 * - `RDS/<service>`, for a service whose policy changed (`diff.policies`):
 *   a route whose reachable endpoints shrink like that (policyViolations).
 * A service removed entirely is the LDS/CDS rules' business, not EDS's.
 * `codec` decodes the RouteConfigurations of services whose policy changed
 * (the diff carries the endpoint counts).
 */
export function assessBlastRadius(codec: Codec, before: Snapshot, after: Snapshot, diff: GenerationDiff, policy: GuardPolicy): Issue[] {
  return blastRadiusViolations(codec, before, after, diff, policy).map(({ path, message }) => ({ path, message }));
}

/** assessBlastRadius's violations, each with the rule that found it (`LDS`/`CDS`: resource-removal). */
export function blastRadiusViolations(codec: Codec, before: Snapshot, after: Snapshot, diff: GenerationDiff, policy: GuardPolicy): Violation[] {
  if (!policy.enabled) return [];
  const issues: Violation[] = [];
  for (const rule of RESOURCE_RULES) {
    const had = before.resources[rule.type].size;
    const removed = diff.types[rule.short].removed.filter((name) => !policyConsequence(name, after, rule.type));
    if (had > 0 && removed.length / had > policy.maxResourceRemoval) {
      const share = `${percent(removed.length / had)} > ${percent(policy.maxResourceRemoval)}`;
      const message = `removes ${removed.length} of ${had} ${plural(rule.noun, had)} (${share}): ${listNames(removed)}`;
      issues.push({ path: rule.short, message, rule: "resource-removal" });
    }
  }
  for (const service of Object.keys(diff.endpoints).sort()) {
    const change = diff.endpoints[service] as EndpointDiff;
    if (!after.resources[ENDPOINT_TYPE].has(service)) continue;
    const found = endpointRule(service, change, policy);
    if (found) issues.push({ path: `EDS/${service}`, ...found });
  }
  for (const service of diff.policies ?? []) issues.push(...policyViolations(codec, before, after, service, policy));
  return issues;
}

/**
 * A policy change counts like an endpoint change: for each route of
 * `service` in `after` that takes calls (a route whose match `before` had
 * too, or else the catch-all, which took its calls before), the endpoints
 * its calls can reach (of every Cluster it weights above 0) before and
 * after, judged by the EDS rule (net loss: moving calls to as many other
 * endpoints is no loss): `removes 9 of 10 endpoints of route 1 (method
 * /shop.Checkout/Pay) of checkout (90% > 50%)`. A route left with no
 * endpoint is a black hole (black-holes.ts), not a violation here.
 */
function policyViolations(codec: Codec, before: Snapshot, after: Snapshot, service: string, policy: GuardPolicy): Violation[] {
  const routesBefore = routesOf(codec, before, service);
  const catchAll = routesBefore[routesBefore.length - 1];
  const found: Violation[] = [];
  for (const route of routesOf(codec, after, service)) {
    const was = routesBefore.find((candidate) => candidate.match === route.match) ?? catchAll;
    if (!was) continue;
    const has = reachable(codec, after, route.clusters);
    if (has.size === 0) continue;
    const rule = endpointRule(`route ${route.index} (${route.match}) of ${service}`, { before: reachable(codec, before, was.clusters).size, after: has.size }, policy);
    if (rule) found.push({ path: `RDS/${service}`, ...rule });
  }
  return found;
}

/**
 * A subset Cluster (`{service}/{subset}`) removed while its service's own
 * Cluster stays: the service's policy changed (or went), which the policy
 * rule judges by the endpoints its routes reach. Counting it as a Cluster
 * removal would hold every `policy delete` in a small registry. A subset
 * Cluster removed with its service still counts.
 */
function policyConsequence(name: string, after: Snapshot, type: ResourceTypeUrl): boolean {
  const slash = name.indexOf("/");
  return type === CLUSTER_TYPE && slash > 0 && after.resources[CLUSTER_TYPE].has(name.slice(0, slash));
}

function routesOf(codec: Codec, snapshot: Snapshot, service: string): readonly RouteFacts[] {
  const resource = snapshot.resources[ROUTE_TYPE].get(service);
  return resource ? routeFacts(codec, resource) : [];
}

/** Every endpoint (`host:port`) of the ClusterLoadAssignments named `clusters` (each Cluster's EDS name is its own). */
function reachable(codec: Codec, snapshot: Snapshot, clusters: readonly string[]): Set<string> {
  const endpoints = new Set<string>();
  for (const cluster of clusters) {
    const resource = snapshot.resources[ENDPOINT_TYPE].get(cluster);
    if (resource) for (const endpoint of endpointsOfResource(codec, resource)) endpoints.add(endpoint);
  }
  return endpoints;
}

/**
 * The EDS rule for one service whose CLA is still present: the message of
 * its violation, or undefined when the change is within the policy.
 */
export function endpointViolation(service: string, change: Pick<EndpointDiff, "before" | "after">, policy: GuardPolicy): string | undefined {
  return endpointRule(service, change, policy)?.message;
}

/** endpointViolation with its rule: `zero-endpoints` when the service is left empty, else `endpoint-removal`. */
function endpointRule(service: string, change: Pick<EndpointDiff, "before" | "after">, policy: GuardPolicy): Omit<Violation, "path"> | undefined {
  if (change.before === 0) return undefined;
  if (change.after === 0) return { rule: "zero-endpoints", message: `leaves ${service} with no endpoints (it had ${change.before})` };
  const loss = change.before - change.after;
  if (loss / change.before <= policy.maxEndpointRemoval) return undefined;
  const share = `${percent(loss / change.before)} > ${percent(policy.maxEndpointRemoval)}`;
  return { rule: "endpoint-removal", message: `removes ${loss} of ${change.before} ${plural("endpoint", change.before)} of ${service} (${share})` };
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function plural(noun: string, count: number): string {
  return count === 1 ? noun : `${noun}s`;
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, MAX_NAMES_SHOWN).join(", ");
  return names.length > MAX_NAMES_SHOWN ? `${shown} and ${names.length - MAX_NAMES_SHOWN} more` : shown;
}
