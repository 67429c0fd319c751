/** The discovery protocol's own messages (SotW and Delta ADS), apart from the resources they carry (types.ts). */
import type { Any, Status, Duration, Locality, JsonObject, Empty } from "./types.js";

// ---- Discovery (State of the World) ---------------------------------------

/** envoy.config.core.v3.Node: who the client is. Sent in a stream's first request only. */
export interface Node {
  id: string;
  cluster: string;
  /** google.protobuf.Struct, as plain JSON. */
  metadata?: JsonObject;
  locality?: Locality;
  user_agent_name: string;
  user_agent_version?: string;
}

export interface ControlPlane {
  identifier: string;
}

export interface DiscoveryRequest {
  /** The last version the client accepted ("" before the first). */
  version_info: string;
  node?: Node;
  resource_names: string[];
  type_url: string;
  /** Nonce of the response this request ACKs or NACKs; "" on a first request. */
  response_nonce: string;
  /** Set on a NACK. */
  error_detail?: Status;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: Any[];
  type_url: string;
  nonce: string;
  control_plane?: ControlPlane;
}

// ---- Discovery (Delta / incremental): every field of the v3 messages -------

export interface ResourceLocator {
  name: string;
  dynamic_parameters: Record<string, string>;
}

export interface DynamicParameterConstraints {
  constraint?: { key: string; value?: string; exists?: Empty };
  or_constraints?: { constraints: DynamicParameterConstraints[] };
  and_constraints?: { constraints: DynamicParameterConstraints[] };
  not_constraints?: DynamicParameterConstraints;
}

export interface ResourceName {
  name: string;
  dynamic_parameter_constraints?: DynamicParameterConstraints;
}

/** envoy.config.core.v3.Metadata; the Struct values are plain JSON. */
export interface Metadata {
  filter_metadata: Record<string, JsonObject>;
  typed_filter_metadata: Record<string, Any>;
}

/** envoy.service.discovery.v3.Resource: one resource of a Delta response. */
export interface DeltaResource {
  name: string;
  resource_name?: ResourceName;
  aliases: string[];
  version: string;
  resource?: Any;
  ttl?: Duration;
  cache_control?: { do_not_cache: boolean };
  metadata?: Metadata;
}

export interface DeltaDiscoveryRequest {
  node?: Node;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  resource_locators_subscribe: ResourceLocator[];
  resource_locators_unsubscribe: ResourceLocator[];
  /** Resources the client already has (after a reconnect), name → version. */
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail?: Status;
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: DeltaResource[];
  type_url: string;
  removed_resources: string[];
  removed_resource_names: ResourceName[];
  nonce: string;
  control_plane?: ControlPlane;
}
