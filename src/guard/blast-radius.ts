import type { Issue } from "../errors/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, type Codec, type ResourceTypeUrl } from "../proto/index.js";
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
 * - `EDS/<service>`, for a service whose CLA `after` still has: it had
 *   endpoints and has none left (`leaves greeter with no endpoints (it had
 *   3)`), or else its net loss (before − after count, so a replacement is
 *   no loss) is more than `maxEndpointRemoval` of what it had
 *   (`removes 9 of 10 endpoints of greeter (90% > 50%)`).
 * A service removed entirely is the LDS/CDS rules' business, not EDS's.
 * `codec` is unused (the diff carries the endpoint counts); it keeps the
 * signature in line with the guard's other functions.
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
    const removed = diff.types[rule.short].removed;
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
  return issues;
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
