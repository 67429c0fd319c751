import { HTTP_CONNECTION_MANAGER_TYPE_NAME, LISTENER_TYPE, ROUTE_TYPE, type Codec } from "../proto/index.js";
import { unpackConnectionManager, validateConnectionManager } from "./connection-manager.js";
import { decodeResource, equalDecoded, unpackAny, type Decoded } from "./decode.js";
import { anyOf, isSet, messages, sub, wrapped, type Findings, type Message } from "./fields.js";
import { validateFilterChains } from "./filter-chain.js";
import type { Reference, ResourceType } from "./resource-type.js";

/** envoy.config.listener.v3.Listener: what gRPC clients ask for first, by the target's name. */
export const listenerResource: ResourceType<typeof LISTENER_TYPE> = {
  typeUrl: LISTENER_TYPE,
  decode: (codec, body) => decodeResource(codec, LISTENER_TYPE, body),
  validate: (codec, decoded, findings) => validateListener(codec, decoded.message as unknown as Message, findings),
  equal: equalDecoded,
  references: listenerReferences,
};

/**
 * Reports what grpc-js-xds (ListenerResourceType.validateResource) NACKs in
 * a Listener:
 * - an api_listener (what gRPC clients read) holds an HttpConnectionManager
 *   Any, valid per validateConnectionManager;
 * - no listener_filters and no `use_original_dst: true`;
 * - filter chains and default_filter_chain (server side) per validateFilterChains;
 * - at least one of api_listener, filter_chains and default_filter_chain.
 * A server Listener (gRFC A36) without an address.socket_address equal to
 * the address its XdsServer binds is not NACKed, but that server serves
 * nothing: security-resources.ts always sets it.
 */
export function validateListener(codec: Codec, listener: Message, findings: Findings): void {
  const api = sub(listener, "api_listener");
  if (api) {
    const at = findings.at("api_listener.api_listener");
    const any = anyOf(api, "api_listener");
    const manager = any ? unpackConnectionManager(codec, any, at) : undefined;
    if (!any) at.add("", "is required; it must hold an HttpConnectionManager");
    if (manager) validateConnectionManager(codec, manager, at);
  }
  if (messages(listener["listener_filters"]).length > 0) {
    findings.add("listener_filters", "must be empty; gRPC does not run listener filters");
  }
  if (wrapped(listener, "use_original_dst") === true) {
    findings.add("use_original_dst.value", "must not be true; gRPC does not support original-destination listeners");
  }
  validateFilterChains(codec, listener, findings);
  if (!api && messages(listener["filter_chains"]).length === 0 && !isSet(listener, "default_filter_chain")) {
    findings.add("", "has no api_listener, filter_chains or default_filter_chain; gRPC clients need an api_listener");
  }
}

/**
 * The RouteConfiguration an api_listener's HttpConnectionManager fetches over
 * RDS; none for an inline route_config or a server-side Listener.
 */
function listenerReferences(codec: Codec, decoded: Decoded<typeof LISTENER_TYPE>): Reference[] {
  const packed = decoded.message.api_listener?.api_listener;
  const rds = packed ? unpackAny(codec, HTTP_CONNECTION_MANAGER_TYPE_NAME, packed).rds : undefined;
  return rds ? [{ path: "api_listener.api_listener.rds.route_config_name", type: ROUTE_TYPE, name: rds.route_config_name }] : [];
}
