import { SteadyError, show } from "../errors/index.js";
import { HTTP_CONNECTION_MANAGER_TYPE_NAME, ROUTER_TYPE_NAME, typeUrlOf, type Any, type Codec } from "../proto/index.js";
import { unpackAny } from "./decode.js";
import { anyOf, asMessage, messages, sub, text, whichOf, type Findings, type Message } from "./fields.js";
import { FAULT_URL, validateFaultFilter } from "./fault-filter.js";
import { RBAC_URL, validateRbacFilter } from "./rbac-filter.js";
import { validateRouteConfiguration, type RouteSide } from "./route.js";

const CONNECTION_MANAGER_URL = typeUrlOf(HTTP_CONNECTION_MANAGER_TYPE_NAME);
const ROUTER_URL = typeUrlOf(ROUTER_TYPE_NAME);

/**
 * HTTP filter types grpc-js-xds registers or unwraps (http-filter.js), whose
 * config the codec cannot read: the client may accept them or not, and the
 * guard cannot tell. Any other type the client skips when it `is_optional`.
 */
const UNVERIFIABLE_FILTERS = new Set([
  "type.googleapis.com/xds.type.v3.TypedStruct",
  "type.googleapis.com/udpa.type.v1.TypedStruct",
]);

/** Every member of ConfigSource.config_source_specifier. */
const CONFIG_SOURCES = ["ads", "self", "path", "path_config_source", "api_config_source"] as const;

/**
 * The HttpConnectionManager inside `any`, or undefined after reporting why
 * it cannot be read: `type_url` names another type, or the bytes do not
 * decode. Codec errors are noted (Findings.noteDecodeError); other errors propagate.
 */
export function unpackConnectionManager(codec: Codec, any: Any, findings: Findings): Message | undefined {
  if (any.type_url !== CONNECTION_MANAGER_URL) {
    findings.add("type_url", `must be ${CONNECTION_MANAGER_URL}, got ${JSON.stringify(any.type_url)}`);
  }
  try {
    return asMessage(unpackAny(codec, HTTP_CONNECTION_MANAGER_TYPE_NAME, any));
  } catch (error) {
    if (!(error instanceof SteadyError)) throw error;
    findings.noteDecodeError(error.message);
    // A wrong type_url is reported above; the codec's refusal of it says nothing more.
    if (any.type_url === CONNECTION_MANAGER_URL) findings.add("", error.message);
    return undefined;
  }
}

/**
 * Reports what grpc-js-xds (validateHttpConnectionManager, listener-resource-type.js)
 * NACKs in an HttpConnectionManager, on the client (api_listener) and server
 * (filter chain) side alike:
 * - http_filters is not empty (Envoy; gRPC proposal A39 wants the router
 *   last), names are non-empty and unique, every filter has a typed_config,
 *   the last filter is the Router and no other is, and every other filter
 *   is the fault filter (checked by validateFaultFilter), or is either
 *   optional and of a type the client does not know, or rejected because
 *   the guard cannot verify its config (see UNVERIFIABLE_FILTERS);
 * - routes come from `rds` over ADS (or `self`) with a route_config_name, or
 *   from an inline `route_config`, which is checked like an RDS resource;
 * - the RBAC filter (gRFC A41) only on the server side, valid per
 *   validateRbacFilter; a client NACKs it.
 * `side` is "server" for a server Listener's filter chain (gRFC A36).
 */
export function validateConnectionManager(codec: Codec, manager: Message, findings: Findings, side: RouteSide = "client"): void {
  checkHttpFilters(codec, messages(manager["http_filters"]), side, findings);
  const specifier = whichOf(manager, ["rds", "route_config", "scoped_routes"]);
  switch (specifier) {
    case "rds": {
      const rds = sub(manager, "rds");
      const source = whichOf(sub(rds, "config_source"), CONFIG_SOURCES);
      if (source !== "ads" && source !== "self") {
        findings.add("rds.config_source", `must fetch routes over ADS, got ${source ?? "no config source"}; allowed: ads (or self)`);
      }
      if (text(rds?.["route_config_name"]) === "") findings.add("rds.route_config_name", "must not be empty");
      break;
    }
    case "route_config":
      validateRouteConfiguration(codec, sub(manager, specifier) ?? {}, findings.at(specifier), side);
      break;
    case "scoped_routes":
      findings.add(specifier, "is not supported by gRPC; allowed: rds, route_config");
      break;
    case undefined:
      findings.add("", "must set rds or route_config");
  }
}

function checkHttpFilters(codec: Codec, filters: Message[], side: RouteSide, findings: Findings): void {
  if (filters.length === 0) {
    findings.add("http_filters", `must not be empty; the last filter must be the router (${ROUTER_URL})`);
    return;
  }
  const names = new Map<string, number>();
  filters.forEach((filter, i) => {
    const at = findings.at(`http_filters[${i}]`);
    const name = text(filter["name"]);
    const first = names.get(name);
    if (name === "") at.add("name", "must not be empty");
    else if (first !== undefined) at.add("name", `${show(name)} is also the name of http_filters[${first}]; filter names must be unique`);
    else names.set(name, i);
    checkHttpFilter(codec, filter, i === filters.length - 1, side, at);
  });
}

/** Mirrors validateTopLevelFilter and the router-position rule; `isLast` is the filter's place in the list. */
function checkHttpFilter(codec: Codec, filter: Message, isLast: boolean, side: RouteSide, findings: Findings): void {
  const config = anyOf(filter, "typed_config");
  const isRouter = config?.type_url === ROUTER_URL;
  if (isLast && !isRouter) {
    findings.add("typed_config", `the last filter must be the router (${ROUTER_URL}), got ${config ? JSON.stringify(config.type_url) : "no typed_config"}`);
  } else if (!isLast && isRouter) {
    findings.add("typed_config", "is the router, which must be the last filter and only the last");
  }
  if (!config) {
    if (!isLast) findings.add("typed_config", "is required; gRPC does not support config_discovery");
  } else if (isRouter) {
    checkRouterConfig(codec, config, findings);
  } else if (config.type_url === FAULT_URL) {
    // gRPC registers the fault filter for clients only (gRFC A33): a server NACKs it unless it is optional; either parses it.
    if (side === "server" && filter["is_optional"] !== true) findings.add("typed_config", "the fault filter runs only on clients; gRPC servers NACK it unless it is marked is_optional");
    validateFaultFilter(codec, config, findings.at("typed_config"));
  } else if (config.type_url === RBAC_URL) {
    if (side === "server") validateRbacFilter(codec, config, findings.at("typed_config"));
    else if (filter["is_optional"] !== true) findings.add("typed_config", "the RBAC filter runs only on servers; gRPC clients NACK it unless it is marked is_optional");
  } else if (filter["is_optional"] !== true || UNVERIFIABLE_FILTERS.has(config.type_url)) {
    const why = UNVERIFIABLE_FILTERS.has(config.type_url) ? "cannot be verified by the guard" : "is not a filter gRPC supports";
    findings.add("typed_config", `${JSON.stringify(config.type_url)} ${why}; allowed: ${ROUTER_URL}, or an unknown filter marked is_optional`);
  }
}

/** gRPC ignores the Router's fields, but Envoy decodes them. */
function checkRouterConfig(codec: Codec, config: Any, findings: Findings): void {
  try {
    unpackAny(codec, ROUTER_TYPE_NAME, config);
  } catch (error) {
    if (!(error instanceof SteadyError)) throw error;
    findings.add("typed_config", error.message);
  }
}
