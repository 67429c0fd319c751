/** Public face of src/snapshot: registry view → consistent, versioned xDS snapshot. */
export type { FailingService, Resource, ServiceFailure, Snapshot } from "./snapshot.js";
export { buildSnapshot, createBuildCache, buildInSteps, DEFAULT_SECURITY_OPTIONS, type BuildCache, type BuildResult } from "./build.js";
export { serverListenerName, type MtlsMode, type Intention, type ServiceSecurity, type SecurityOptions } from "./security-resources.js";
export { checkConsistency, createConsistencyChecker } from "./consistency.js";
export { createResource, createSnapshot } from "./assemble.js";
export { blackHoles, describeRoute, FAULT_FILTER_NAME, type BlackHole } from "./policy-resources.js";
