import { show } from "../errors/index.js";
import { CLUSTER_TYPE, ROUTE_TYPE, ROUTER_TYPE_NAME, typeUrlOf, type Codec } from "../proto/index.js";
import { FAULT_URL, validateFaultFilter } from "./fault-filter.js";
import { re2Problem } from "./re2.js";
import { decodeResource, equalDecoded, type Decoded } from "./decode.js";
import { anyOf, asMessage, messages, strings, sub, text, whichOf, wrapped, type Findings, type Message } from "./fields.js";
import type { Reference, ResourceType } from "./resource-type.js";

const UINT32_MAX = 0xffff_ffff;
const ROUTER_URL = typeUrlOf(ROUTER_TYPE_NAME);

/** Every member of RouteMatch.path_specifier, and those gRPC clients accept (A28). */
const PATH_SPECIFIERS = ["prefix", "path", "safe_regex", "connect_matcher", "path_separated_prefix", "path_match_policy"] as const;
const SUPPORTED_PATH_SPECIFIERS = ["prefix", "path", "safe_regex"];
/** Every member of HeaderMatcher.header_match_specifier, and those gRPC clients accept. */
const HEADER_SPECIFIERS = ["exact_match", "safe_regex_match", "range_match", "present_match", "prefix_match", "suffix_match", "contains_match", "string_match"] as const;
const SUPPORTED_HEADER_SPECIFIERS = HEADER_SPECIFIERS.filter((name) => name !== "contains_match");
/** Every member of Route.action. */
const ACTIONS = ["route", "redirect", "direct_response", "filter_action", "non_forwarding_action"] as const;
/** Every member of RouteAction.cluster_specifier, and those gRPC clients accept. */
const CLUSTER_SPECIFIERS = ["cluster", "cluster_header", "weighted_clusters", "cluster_specifier_plugin", "inline_cluster_specifier_plugin"] as const;
const SUPPORTED_CLUSTER_SPECIFIERS = ["cluster", "weighted_clusters", "cluster_header"];

/**
 * Whose routes: a client's (RDS, or an api_listener's inline route_config),
 * which must forward (`route`), or a server Listener's inline route_config
 * (gRFC A36), whose routes must be `non_forwarding_action`: a gRPC server
 * rejects every request that matches any other.
 */
export type RouteSide = "client" | "server";

/** envoy.config.route.v3.RouteConfiguration: a Listener's routes, fetched over RDS. */
export const routeResource: ResourceType<typeof ROUTE_TYPE> = {
  typeUrl: ROUTE_TYPE,
  decode: (codec, body) => decodeResource(codec, ROUTE_TYPE, body),
  validate: (codec, decoded, findings) => validateRouteConfiguration(codec, decoded.message as unknown as Message, findings),
  equal: equalDecoded,
  references: (_codec, decoded) => routeReferences(decoded),
};

/**
 * Reports what grpc-js-xds (RouteConfigurationResourceType.validateResource,
 * after gRPC proposal A28) NACKs in a RouteConfiguration, what Envoy's rules
 * forbid, and what would leave a client without a route:
 * - at least one virtual host; each has domains, none empty, each with at
 *   most one `*` at its start or end, and no domain (case-insensitively) in
 *   two virtual hosts (Envoy);
 * - every route has a match with a prefix, path or safe_regex path specifier
 *   and no contains_match header matcher, and a `route` action naming a
 *   non-empty cluster, a cluster_header, or weighted clusters whose weights
 *   add up to 1..2^32-1;
 * - retry policies (virtual host and route): num_retries ≥ 1 when set, a
 *   retry_back_off with a positive base_interval and max_interval ≥ it;
 * - typed_per_filter_config overrides must be Router configs or HTTPFaults
 *   that grpc-js-xds parses (validateFaultFilter): the client rejects
 *   unregistered filter types and the guard cannot read the others;
 * - a safe_regex header matcher's regex, and a hash_policy header's
 *   regex_rewrite pattern, compile as RE2 (re2.ts).
 * Also used for an HttpConnectionManager's inline route_config; on the
 * server side (`side`), routes need non_forwarding_action instead of route.
 */
export function validateRouteConfiguration(codec: Codec, config: Message, findings: Findings, side: RouteSide = "client"): void {
  const hosts = messages(config["virtual_hosts"]);
  if (hosts.length === 0) findings.add("virtual_hosts", "must have at least one virtual host; a client finds no route for its target without one");
  const domains = new Map<string, string>();
  hosts.forEach((host, i) => checkVirtualHost(codec, host, `virtual_hosts[${i}]`, domains, side, findings));
}

/** `domains` maps each lower-cased domain seen so far to the path where it first appears. */
function checkVirtualHost(codec: Codec, host: Message, path: string, domains: Map<string, string>, side: RouteSide, findings: Findings): void {
  const at = findings.at(path);
  const list = strings(host["domains"]);
  if (list.length === 0) at.add("domains", "must not be empty; use \"*\" to match every authority");
  list.forEach((domain, j) => {
    const problem = domainProblem(domain);
    if (problem) at.add(`domains[${j}]`, problem);
    // Envoy lower-cases domains before it checks them for duplicates.
    const key = domain.toLowerCase();
    const first = domains.get(key);
    if (first === undefined) domains.set(key, `${path}.domains[${j}]`);
    else at.add(`domains[${j}]`, `${show(domain)} repeats ${first}; each domain may appear once per RouteConfiguration, ignoring case`);
  });
  checkRetryPolicy(sub(host, "retry_policy"), at.at("retry_policy"));
  checkFilterOverrides(codec, host["typed_per_filter_config"], at.at("typed_per_filter_config"));
  messages(host["routes"]).forEach((route, k) => checkRoute(codec, route, side, at.at(`routes[${k}]`)));
}

function domainProblem(domain: string): string | undefined {
  if (domain === "") return "must not be empty";
  const star = domain.indexOf("*");
  if (star !== domain.lastIndexOf("*")) return `${show(domain)} has more than one wildcard; allowed: one * at the start or the end`;
  if (star > 0 && star < domain.length - 1) return `${show(domain)} has a wildcard in the middle; allowed: one * at the start or the end`;
  return undefined;
}

function checkRoute(codec: Codec, route: Message, side: RouteSide, findings: Findings): void {
  const match = sub(route, "match");
  if (!match) findings.add("match", "is required");
  else checkMatch(match, findings.at("match"));
  const action = whichOf(route, ACTIONS);
  if (side === "server") {
    if (action !== "non_forwarding_action") findings.add(action ?? "non_forwarding_action", "a gRPC server rejects every request on this route; allowed: non_forwarding_action");
  } else if (action === undefined) findings.add("route", "is required; a route must forward to a cluster");
  else if (action !== "route") findings.add(action, "is not supported for gRPC clients; allowed: route");
  else checkRouteAction(codec, sub(route, "route") ?? {}, findings.at("route"));
  checkFilterOverrides(codec, route["typed_per_filter_config"], findings.at("typed_per_filter_config"));
}

function checkMatch(match: Message, findings: Findings): void {
  const specifier = whichOf(match, PATH_SPECIFIERS);
  if (specifier === undefined) {
    findings.add("", `has no path specifier; allowed: ${SUPPORTED_PATH_SPECIFIERS.join(", ")}`);
  } else if (!SUPPORTED_PATH_SPECIFIERS.includes(specifier)) {
    findings.add(specifier, `is not supported by gRPC clients; allowed: ${SUPPORTED_PATH_SPECIFIERS.join(", ")}`);
  }
  messages(match["headers"]).forEach((header, h) => {
    const which = whichOf(header, HEADER_SPECIFIERS);
    if (which !== undefined && !(SUPPORTED_HEADER_SPECIFIERS as readonly string[]).includes(which)) {
      findings.add(`headers[${h}].${which}`, `is not supported by gRPC clients; allowed: ${SUPPORTED_HEADER_SPECIFIERS.join(", ")}`);
    }
    const problem = which === "safe_regex_match" ? re2Problem(text(sub(header, which)?.["regex"])) : undefined;
    if (problem) findings.add(`headers[${h}].safe_regex_match.regex`, `${problem}; stock clients compile it with RE2 and fail`);
  });
}

function checkRouteAction(codec: Codec, action: Message, findings: Findings): void {
  const specifier = whichOf(action, CLUSTER_SPECIFIERS);
  switch (specifier) {
    case "cluster":
    case "cluster_header":
      if (text(action[specifier]) === "") findings.add(specifier, "must not be empty");
      break;
    case "weighted_clusters":
      checkWeightedClusters(codec, sub(action, specifier) ?? {}, findings.at(specifier));
      break;
    case undefined:
      findings.add("", `must name a cluster; allowed: ${SUPPORTED_CLUSTER_SPECIFIERS.join(", ")}`);
      break;
    default:
      findings.add(specifier, `is not supported by gRPC clients; allowed: ${SUPPORTED_CLUSTER_SPECIFIERS.join(", ")}`);
  }
  checkRetryPolicy(sub(action, "retry_policy"), findings.at("retry_policy"));
  messages(action["hash_policy"]).forEach((policy, i) => checkHashPolicy(policy, findings.at(`hash_policy[${i}]`)));
}

/**
 * grpc-js-xds's validator accepts every hash_policy (gRFC A42: the client
 * uses `header` and `filter_state` io.grpc.channel_id and skips the others),
 * but its resolver compiles a header's regex_rewrite pattern with RE2 and
 * throws when it does not compile: the guard rejects that here.
 */
function checkHashPolicy(policy: Message, findings: Findings): void {
  const pattern = sub(sub(sub(policy, "header"), "regex_rewrite"), "pattern");
  const problem = pattern ? re2Problem(text(pattern["regex"])) : undefined;
  if (problem) findings.add("header.regex_rewrite.pattern.regex", `${problem}; stock clients compile it with RE2 when they read the route and fail`);
}

function checkWeightedClusters(codec: Codec, weighted: Message, findings: Findings): void {
  let sum = 0;
  messages(weighted["clusters"]).forEach((cluster, i) => {
    if (text(cluster["name"]) === "" && text(cluster["cluster_header"]) === "") {
      findings.add(`clusters[${i}].name`, "must not be empty");
    }
    const weight = wrapped(cluster, "weight");
    sum += typeof weight === "number" ? weight : 0;
    checkFilterOverrides(codec, cluster["typed_per_filter_config"], findings.at(`clusters[${i}].typed_per_filter_config`));
  });
  if (sum === 0 || sum > UINT32_MAX) findings.add("clusters", `weights add up to ${sum}; the sum must be 1-${UINT32_MAX}`);
}

/** Mirrors validateRetryPolicy, which grpc-js-xds applies by default (retry support is on). */
function checkRetryPolicy(policy: Message | undefined, findings: Findings): void {
  if (!policy) return;
  const retries = wrapped(policy, "num_retries");
  if (typeof retries === "number" && retries < 1) findings.add("num_retries.value", `must be at least 1 when set, got ${retries}`);
  const backOff = sub(policy, "retry_back_off");
  if (!backOff) return;
  const base = sub(backOff, "base_interval");
  if (!base) {
    findings.add("retry_back_off.base_interval", "is required when retry_back_off is set");
    return;
  }
  const baseMs = durationMs(base);
  if (baseMs <= 0) findings.add("retry_back_off.base_interval", `must be at least 1ms, got ${show(base)}`);
  const max = sub(backOff, "max_interval");
  if (max && durationMs(max) < baseMs) findings.add("retry_back_off.max_interval", `must not be less than base_interval, got ${show(max)}`);
}

/** Whole milliseconds, truncated, as grpc-js-xds's durationToMs counts them. */
function durationMs(duration: Message): number {
  const seconds = typeof duration["seconds"] === "number" ? duration["seconds"] : 0;
  const nanos = typeof duration["nanos"] === "number" ? duration["nanos"] : 0;
  return Math.trunc(seconds * 1000 + nanos / 1e6);
}

/** typed_per_filter_config: a map of filter name → Any (validateOverrideFilter): Router configs, or HTTPFaults checked as grpc-js-xds parses them. */
function checkFilterOverrides(codec: Codec, overrides: unknown, findings: Findings): void {
  for (const [name, value] of Object.entries(asMessage(overrides) ?? {})) {
    const any = anyOf(asMessage(overrides), name);
    const typeUrl = text(asMessage(value)?.["type_url"]);
    if (any && typeUrl === FAULT_URL) validateFaultFilter(codec, any, findings.at(`[${JSON.stringify(name)}]`));
    else if (typeUrl !== ROUTER_URL) {
      findings.add(`[${JSON.stringify(name)}]`, `${JSON.stringify(typeUrl)} cannot be verified by the guard; allowed: ${ROUTER_URL}, ${FAULT_URL}`);
    }
  }
}

/** Every cluster a route forwards to by name (`route.cluster`, or each of `route.weighted_clusters`). */
function routeReferences(decoded: Decoded<typeof ROUTE_TYPE>): Reference[] {
  return decoded.message.virtual_hosts.flatMap((host, i) =>
    host.routes.flatMap((route, j): Reference[] => {
      const cluster = route.route?.cluster;
      const path = `virtual_hosts[${i}].routes[${j}].route`;
      if (cluster !== undefined) return [{ path: `${path}.cluster`, type: CLUSTER_TYPE, name: cluster }];
      return (route.route?.weighted_clusters?.clusters ?? []).map((weighted, k) => ({ path: `${path}.weighted_clusters.clusters[${k}].name`, type: CLUSTER_TYPE, name: weighted.name }));
    }),
  );
}
