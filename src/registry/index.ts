/**
 * The registry: services and their instances, validated on the way in, kept
 * in a Store, and read as a revisioned immutable view plus a change feed.
 */
export {
  PROTOCOLS,
  LB_POLICIES,
  HEALTH_STATES,
  HEALTH_CHECK_KINDS,
  MTLS_MODES,
  INTENTION_ACTIONS,
  ANY_SOURCE,
  type MtlsMode,
  type IntentionAction,
  type Protocol,
  type LbPolicy,
  type Health,
  type HealthCheck,
  type HealthCheckKind,
  type Service,
  type Instance,
} from "./model.js";
export {
  GRPC_CODE_NAMES,
  RETRY_CODES,
  MAX_ATTEMPTS,
  inSubset,
  subsetResourceName,
  type GrpcCodeName,
  type RetryCode,
  type Subset,
  type HeaderMatch,
  type RouteMatch,
  type RouteTarget,
  type RetryPolicy,
  type FaultPolicy,
  type PolicyRoute,
  type TrafficPolicy,
  type OutlierDetectionPolicy,
  type LoadBalancingPolicy,
  type DnsFallbackPolicy,
  type FailoverPolicy,
  type PolicyDocument,
} from "./policy.js";
export type { Store, Backend, Secrets, Liveness, Members, StoreState, Mutation, ChangeEvent, CommitResult } from "./store.js";
export type { TokenRecord, TokenStore } from "./token-store.js";
export type { GenerationLog, ResourceChanges, ResourceKey, StoredGeneration, StoredResource } from "./generation-log.js";
export type { RegistryView, ServiceEntry } from "./view.js";
export { createRegistry, type Registry, type RegistryOptions, type PutResult } from "./registry.js";
export { openStore, createMemoryStore, type OpenStoreOptions } from "./stores/index.js";
export { parseServiceBody, parseInstanceBody, checkNames } from "./validate.js";
export { parsePolicyDocuments, parsePolicyBody, parsePolicyList, canonicalPolicy } from "./policy-validate.js";
export { policyYaml, diffPolicy, type PolicyDiff } from "./policy-diff.js";
export { policyWire, documentFromWire, type PolicyWire } from "./policy-wire.js";
