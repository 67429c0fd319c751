/**
 * A service's traffic policy (issue 18, registry/policy.ts) as xDS messages,
 * pure: its routes as the RouteConfiguration's routes (gRFC A28 matching and
 * weighted clusters, A31 max_stream_duration, A44 retry_policy, A33 fault
 * overrides), the fault filter its Listener lists when a route injects
 * faults, and its subsets as instance filters, whose Clusters and
 * ClusterLoadAssignments `{service}/{subset}` service-resources.ts encodes
 * like the service's own.
 */
import { GRPC_CODE_NAMES, inSubset, subsetResourceName, type Health, type PolicyRoute, type ServiceEntry, type Subset, type TrafficPolicy } from "../registry/index.js";
import {
  HTTP_FAULT_TYPE_NAME,
  type Codec,
  type Duration,
  type FractionalPercent,
  type HeaderMatcher,
  type HttpFault,
  type HttpFilter,
  type Route,
  type RouteAction,
  type RouteConfiguration,
  type RouteMatch,
} from "../proto/index.js";
import { routeHashPolicy } from "./protection-resources.js";

/** Name of the fault injection HTTP filter: the Listener lists it, and routes key their HTTPFault overrides by it. */
export const FAULT_FILTER_NAME = "envoy.filters.http.fault";

/** gRFC A44's defaults, sent when a retry policy gives no backoff. */
const DEFAULT_BACKOFF = { baseMs: 25, maxMs: 250 } as const;

/** The health states whose instances are sent in EDS (service-resources.ts, SENT_HEALTH): only these carry traffic. */
const SERVING: ReadonlySet<Health> = new Set<Health>(["healthy", "unknown"]);

/**
 * The RouteConfiguration `name` for `policy`: one virtual host for every
 * authority, the policy's routes in order, then the implied catch-all to
 * the service's own Cluster; every route hashes on the ring_hash policy's
 * header, if any (protection-resources.ts). `codec` packs the fault overrides.
 */
export function policyRouteConfiguration(name: string, policy: TrafficPolicy, codec: Codec): RouteConfiguration {
  const routes = policy.routes.map((route) => routeFor(name, route, codec));
  routes.push({ match: { prefix: "" }, route: { cluster: name } });
  const hashPolicy = routeHashPolicy(policy);
  if (hashPolicy) for (const route of routes) if (route.route) route.route.hash_policy = hashPolicy;
  return { name, virtual_hosts: [{ name, domains: ["*"], routes }] };
}

function routeFor(service: string, route: PolicyRoute, codec: Codec): Route {
  const result: Route = { match: matchFor(route), route: actionFor(service, route) };
  if (route.fault) result.typed_per_filter_config = { [FAULT_FILTER_NAME]: codec.packAny(HTTP_FAULT_TYPE_NAME, httpFaultOf(route)) };
  return result;
}

/** `method` → path, `prefix` → prefix, neither → prefix "" (every path); headers in name order so equal policies give equal bytes. */
function matchFor(route: PolicyRoute): RouteMatch {
  const { method, prefix, headers } = route.match;
  const match: RouteMatch = method !== undefined ? { path: method } : { prefix: prefix ?? "" };
  const names = Object.keys(headers ?? {}).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (names.length > 0) match.headers = names.map((header) => headerMatcherFor(header, headers?.[header] ?? {}));
  return match;
}

function headerMatcherFor(name: string, rule: NonNullable<PolicyRoute["match"]["headers"]>[string]): HeaderMatcher {
  const matcher: HeaderMatcher = { name };
  if (rule.exact !== undefined) matcher.exact_match = rule.exact;
  else if (rule.prefix !== undefined) matcher.prefix_match = rule.prefix;
  else if (rule.regex !== undefined) matcher.safe_regex_match = { google_re2: {}, regex: rule.regex };
  else matcher.present_match = true;
  if (rule.invert) matcher.invert_match = true;
  return matcher;
}

/** One target left with weight → `cluster`; several → `weighted_clusters` (weight-0 targets left out). */
function actionFor(service: string, route: PolicyRoute): RouteAction {
  const targets = route.to.filter((target) => target.weight > 0);
  const action: RouteAction =
    targets.length === 1 && targets[0]
      ? { cluster: subsetResourceName(service, targets[0].subset) }
      : { weighted_clusters: { clusters: targets.map((target) => ({ name: subsetResourceName(service, target.subset), weight: { value: target.weight } })) } };
  if (route.timeoutMs !== undefined) action.max_stream_duration = { max_stream_duration: durationOf(route.timeoutMs) };
  if (route.retry) {
    const backoff = route.retry.backoff ?? DEFAULT_BACKOFF;
    action.retry_policy = {
      retry_on: route.retry.on.join(","),
      num_retries: { value: route.retry.attempts - 1 },
      retry_back_off: { base_interval: durationOf(backoff.baseMs), max_interval: durationOf(backoff.maxMs) },
    };
  }
  return action;
}

/** The route's HTTPFault (gRFC A33): a fixed delay and a gRPC abort, each for `percent` of calls, per million. */
export function httpFaultOf(route: PolicyRoute): HttpFault {
  const fault: HttpFault = {};
  const { delay, abort } = route.fault ?? {};
  if (delay) fault.delay = { fixed_delay: durationOf(delay.ms), percentage: perMillion(delay.percent) };
  if (abort) fault.abort = { grpc_status: GRPC_CODE_NAMES.indexOf(abort.code) + 1, percentage: perMillion(abort.percent) };
  return fault;
}

/** The HTTP filters a policy's Listener lists before the router: the fault filter (an empty HTTPFault) when any route injects faults. */
export function policyHttpFilters(policy: TrafficPolicy | undefined, codec: Codec): HttpFilter[] {
  if (!policy?.routes.some((route) => route.fault)) return [];
  return [{ name: FAULT_FILTER_NAME, typed_config: codec.packAny(HTTP_FAULT_TYPE_NAME, {}) }];
}

/** `entry` with only the instances in `subset` (all of them, whatever their health: EDS applies its own health rules). */
export function subsetEntry(entry: ServiceEntry, subset: Subset): ServiceEntry {
  const instances = new Map([...entry.instances].filter(([, instance]) => inSubset(subset, instance.metadata)));
  return { service: entry.service, instances };
}

/** A route that sends traffic to a subset no endpoint would be sent for. */
export interface BlackHole {
  /** The route's index in the policy's routes (0-based). */
  readonly route: number;
  readonly subset: string;
}

/**
 * Each (route, subset) of `entry`'s policy where the route gives the subset a
 * weight above 0 and no instance of the subset is healthy or of unknown
 * health (none is sent in its ClusterLoadAssignment): its calls would fail.
 * None without a policy.
 */
export function blackHoles(service: string, entry: ServiceEntry): BlackHole[] {
  const policy = entry.service.policy;
  if (!policy || entry.service.name !== service) return [];
  const empty = new Set(
    policy.subsets.filter((subset) => ![...entry.instances.values()].some((instance) => SERVING.has(instance.health) && inSubset(subset, instance.metadata))).map((subset) => subset.name),
  );
  const found: BlackHole[] = [];
  policy.routes.forEach((route, index) => {
    for (const target of route.to) if (target.weight > 0 && empty.has(target.subset)) found.push({ route: index, subset: target.subset });
  });
  return found;
}

/** `route 1 (method /shop.Checkout/Pay)`: how reasons name a route. */
export function describeRoute(index: number, route: PolicyRoute): string {
  const { method, prefix, headers } = route.match;
  const parts = [method !== undefined ? `method ${method}` : prefix !== undefined ? `prefix ${prefix}` : "every path"];
  const names = Object.keys(headers ?? {});
  if (names.length > 0) parts.push(`headers ${names.join(", ")}`);
  return `route ${index} (${parts.join("; ")})`;
}

function durationOf(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1e6;
  return nanos === 0 ? { seconds } : { seconds, nanos };
}

/** 0–100 in steps of 0.0001 → parts per million. */
function perMillion(percent: number): FractionalPercent {
  return { numerator: Math.round(percent * 10_000), denominator: "MILLION" };
}
