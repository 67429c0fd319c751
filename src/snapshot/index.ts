/** Public face of src/snapshot: registry view → consistent, versioned xDS snapshot. */
export type { FailingService, Resource, ServiceFailure, Snapshot } from "./snapshot.js";
export { buildSnapshot, createBuildCache, buildInSteps, type BuildCache, type BuildResult } from "./build.js";
export { checkConsistency, createConsistencyChecker } from "./consistency.js";
export { createResource, createSnapshot } from "./assemble.js";
