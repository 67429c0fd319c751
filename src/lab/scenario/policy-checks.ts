import type { Issue } from "../../errors/index.js";
import { inSubset, type TrafficPolicy } from "../../registry/index.js";
import { show } from "./issues.js";
import { LOGIN_BALANCER, type DemoService } from "./model.js";
import type { RawEntry, RawTopology } from "./schema.js";

/**
 * Lab-only rules of traffic policies, the canary and phases (see checks.ts
 * for how cross-field rules are run). The policy document itself is checked
 * by the registry's parser (inline-policy.ts); here each subset must pick out
 * some instance the topology starts: a route to an empty subset is a black
 * hole, which the control plane's push guard would hold.
 */

type PolicyEntry = Extract<RawEntry, { action: "policy" }>;

/** The metadata of every kind of instance the topology starts for `service`: its own, and the canary's if it is of that service. */
function instanceMetadata(topology: RawTopology, service: DemoService): Array<Readonly<Record<string, string>>> {
  const own = topology.metadata[service] ?? {};
  return topology.canary?.service === service ? [own, topology.canary.metadata] : [own];
}

/** Issues of one valid `policy` entry at `base` (e.g. `timeline[2]`); none when `topology` is undefined (its own shape is wrong). */
export function policyEntryIssues(base: string, e: PolicyEntry, topology: RawTopology | undefined): Issue[] {
  if (!topology) return [];
  return [...emptySubsetIssues(`${base}.policy`, e.policy, instanceMetadata(topology, e.service), e.service), ...dnsFallbackIssues(`${base}.policy.dnsFallback`, e)];
}

/**
 * The lab can answer one DNS fallback: login's, at its login load balancer
 * (runner/login-balancer.ts), whose name and port are fixed; any other name
 * would resolve nowhere in the lab, a black hole the scenario did not mean.
 */
function dnsFallbackIssues(path: string, e: PolicyEntry): Issue[] {
  const fallback = e.policy.dnsFallback;
  if (!fallback) return [];
  const want = `${LOGIN_BALANCER.dnsName}:${LOGIN_BALANCER.port}`;
  if (e.service !== "login") return [{ path, message: `is only allowed on service "login" in the lab (its login load balancer, ${want}, is the one DNS fallback it serves), got service ${show(e.service)}` }];
  const got = `${fallback.name ?? "login.service.mesh"}:${fallback.port}`;
  if (got !== want) return [{ path, message: `must be { name: ${LOGIN_BALANCER.dnsName}, port: ${LOGIN_BALANCER.port} }, the lab's login load balancer, got ${got}` }];
  return [];
}

function emptySubsetIssues(path: string, policy: TrafficPolicy, instances: Array<Readonly<Record<string, string>>>, service: string): Issue[] {
  return policy.subsets.flatMap((subset, i) => {
    if (instances.some((metadata) => inSubset(subset, metadata))) return [];
    const started = instances.map((metadata) => show(metadata)).join(" and ");
    return [{ path: `${path}.subsets[${i}].match`, message: `matches no instance of ${service} this topology starts (their metadata: ${started}); a route to it would be a black hole` }];
  });
}

/** The canary: `fails` only for login (only its demo process can fail on purpose), and metadata that tells it apart. */
export function canaryIssues(topology: RawTopology): Issue[] {
  const canary = topology.canary;
  if (!canary) return [];
  const issues: Issue[] = [];
  if (canary.fails !== undefined && canary.service !== "login") issues.push({ path: "topology.canary.fails", message: `is only allowed for service "login", got service ${show(canary.service)}` });
  if (canary.fails === "OK") issues.push({ path: "topology.canary.fails", message: 'must be a failing gRPC status, not "OK"; leave it out for a canary that works' });
  const own = topology.metadata[canary.service] ?? {};
  const keys = Object.keys(canary.metadata);
  if (keys.length === 0) issues.push({ path: "topology.canary.metadata", message: 'must hold at least one pair, e.g. { version: "2" }, so a policy subset can pick out the canary' });
  else if (keys.every((key) => own[key] === canary.metadata[key])) {
    issues.push({ path: "topology.canary.metadata", message: `must differ from topology.metadata.${canary.service} (${show(own)}) in some pair, so a policy subset can tell the canary apart, got ${show(canary.metadata)}` });
  }
  return issues;
}

/** Each phase name starts once in the timeline. */
export function phaseIssues(timeline: ReadonlyArray<{ index: number; value: RawEntry }>): Issue[] {
  const first = new Map<string, number>();
  return timeline.flatMap(({ index, value }) => {
    if (value.phase === undefined) return [];
    const earlier = first.get(value.phase);
    if (earlier === undefined) {
      first.set(value.phase, index);
      return [];
    }
    return [{ path: `timeline[${index}].phase`, message: `${show(value.phase)} already starts at timeline[${earlier}]; each phase starts once` }];
  });
}
