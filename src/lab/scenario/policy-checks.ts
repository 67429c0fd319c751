import type { Issue } from "../../errors/index.js";
import { show } from "./issues.js";
import type { DemoService } from "./model.js";
import type { RawPolicy } from "./policy-schema.js";
import type { RawEntry, RawTopology } from "./schema.js";

/**
 * Rules that join the fields of traffic policies, the canary and phases
 * (see checks.ts for how cross-field rules are run). A policy's subsets must
 * each pick out some instance the topology starts: a route to an empty
 * subset is a black hole, which the control plane's push guard would hold.
 */

type PolicyEntry = Extract<RawEntry, { action: "policy" }>;

/** The metadata of every kind of instance the topology starts for `service`: its own, and the canary's if it is of that service. */
function instanceMetadata(topology: RawTopology, service: DemoService): Array<Readonly<Record<string, string>>> {
  const own = topology.metadata[service] ?? {};
  return topology.canary?.service === service ? [own, topology.canary.metadata] : [own];
}

/** Issues of one `policy` entry at `base` (e.g. `timeline[2]`); `topology` is undefined when its own shape is wrong. */
export function policyEntryIssues(base: string, e: PolicyEntry, topology: RawTopology | undefined): Issue[] {
  const path = `${base}.policy`;
  return [...subsetIssues(path, e.policy, topology && instanceMetadata(topology, e.service), e.service), ...e.policy.routes.flatMap((route, i) => routeIssues(`${path}.routes[${i}]`, route, e.policy))];
}

function subsetIssues(path: string, policy: RawPolicy, instances: Array<Readonly<Record<string, string>>> | undefined, service: string): Issue[] {
  const issues: Issue[] = [];
  const first = new Map<string, number>();
  policy.subsets.forEach((subset, i) => {
    const earlier = first.get(subset.name);
    if (earlier !== undefined) issues.push({ path: `${path}.subsets[${i}].name`, message: `${show(subset.name)} is already the name of subsets[${earlier}]; names must be unique` });
    else first.set(subset.name, i);
    const pairs = Object.entries(subset.match);
    if (pairs.length === 0) {
      issues.push({ path: `${path}.subsets[${i}].match`, message: "must hold at least one metadata pair, e.g. { version: \"2\" }" });
    } else if (instances && !instances.some((metadata) => pairs.every(([key, value]) => metadata[key] === value))) {
      const started = instances.map((metadata) => show(metadata)).join(" and ");
      issues.push({ path: `${path}.subsets[${i}].match`, message: `matches no instance of ${service} this topology starts (their metadata: ${started}); a route to it would be a black hole` });
    }
  });
  return issues;
}

function routeIssues(path: string, route: RawPolicy["routes"][number], policy: RawPolicy): Issue[] {
  const issues: Issue[] = [];
  const names = policy.subsets.map((s) => s.name);
  if (route.match.method !== undefined && route.match.prefix !== undefined) issues.push({ path: `${path}.match`, message: "must have at most one of method and prefix, got both" });
  for (const [header, match] of Object.entries(route.match.headers ?? {})) {
    const rules = (["exact", "prefix", "regex", "present"] as const).filter((key) => match[key] !== undefined);
    if (rules.length !== 1) issues.push({ path: `${path}.match.headers.${header}`, message: `must have exactly one of exact, prefix, regex, present, got ${rules.length === 0 ? "none" : rules.join(", ")}` });
    if (match.regex !== undefined && !compiles(match.regex)) issues.push({ path: `${path}.match.headers.${header}.regex`, message: `must be a valid regular expression, got ${show(match.regex)}` });
  }
  route.to.forEach((target, i) => {
    if (!names.includes(target.subset)) issues.push({ path: `${path}.to[${i}].subset`, message: `must name a subset of this policy (${names.join(", ") || "none defined"}), got ${show(target.subset)}` });
    if (route.to.findIndex((t) => t.subset === target.subset) !== i) issues.push({ path: `${path}.to[${i}].subset`, message: `${show(target.subset)} is listed twice; list each subset once per route` });
  });
  if (route.to.length > 1 && route.to.some((t) => t.weight === undefined)) {
    issues.push({ path: `${path}.to`, message: "must give every target a weight when there are several (integers adding up to 100)" });
  } else {
    const total = route.to.reduce((sum, t) => sum + (t.weight ?? 100), 0);
    if (route.to.length > 0 && total !== 100) issues.push({ path: `${path}.to`, message: `weights must add up to 100, got ${total}` });
  }
  const backoff = route.retry?.backoff;
  if (backoff && backoff.maxMs < backoff.baseMs) issues.push({ path: `${path}.retry.backoff.maxMs`, message: `must be at least baseMs (${backoff.baseMs}), got ${backoff.maxMs}` });
  return issues;
}

/** JavaScript's syntax stands in for RE2's here; the control plane checks RE2 itself when the policy is applied. */
function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, "u");
    return true;
  } catch {
    // new RegExp throws only a SyntaxError: the pattern is the problem, and the issue says so.
    return false;
  }
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
