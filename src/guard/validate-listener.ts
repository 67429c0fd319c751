import type { Codec } from "../proto/index.js";
import { unpackConnectionManager, validateConnectionManager } from "./validate-connection-manager.js";
import { anyOf, isSet, messages, sub, wrapped, type Findings, type Message } from "./validate-fields.js";
import { validateFilterChains } from "./validate-filter-chain.js";

/**
 * Reports what grpc-js-xds (ListenerResourceType.validateResource) NACKs in
 * a Listener:
 * - an api_listener (what gRPC clients read) holds an HttpConnectionManager
 *   Any, valid per validateConnectionManager;
 * - no listener_filters and no `use_original_dst: true`;
 * - filter chains and default_filter_chain (server side) per validateFilterChains;
 * - at least one of api_listener, filter_chains and default_filter_chain.
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
