/** Public face of src/proto: xDS type URLs, message shapes, the codec and the ADS service definition. */
export {
  AGGREGATE_CLUSTER_TYPE,
  CLUSTER_CONFIG_TYPE_NAME,
  CLUSTER_TYPE,
  DOWNSTREAM_TLS_CONTEXT_TYPE_NAME,
  ENDPOINT_TYPE,
  HTTP_CONNECTION_MANAGER_TYPE_NAME,
  HTTP_FAULT_TYPE_NAME,
  LISTENER_TYPE,
  RBAC_TYPE_NAME,
  RESOURCE_TYPES,
  ROUTE_TYPE,
  ROUTER_TYPE_NAME,
  TYPE_SHORT_NAMES,
  TYPE_URL_PREFIX,
  isResourceTypeUrl,
  shortTypeName,
  UPSTREAM_TLS_CONTEXT_TYPE_NAME,
  typeUrlOf,
  type ResourceTypeUrl,
} from "./type-urls.js";
export type * from "./types.js";
export type * from "./discovery-types.js";
export { loadCodec, type Codec, type LoadAssignmentPart, type ResponseHeader, type DeltaResponseHeader } from "./codec.js";
export { ADS_SERVICE_NAME, createAdsServiceDefinition } from "./ads-service.js";
export { MessageShapeError, ProtoDecodeError, ProtoLoadError } from "./errors.js";
