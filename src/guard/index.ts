/**
 * The push guard: between the snapshot builder and the xDS server, it turns
 * each snapshot into a numbered generation, rejects what clients would NACK,
 * holds what would delete too much at once, rolls out through a canary group,
 * and keeps the audit trail in its generation log.
 */
export {
  GENERATION_STATUSES,
  GUARD_DEFAULTS,
  RETENTION_DEFAULTS,
  ROLLOUT_DEFAULTS,
  type Generation,
  type GenerationControl,
  type GenerationDiff,
  type GenerationStatus,
  type GuardPolicy,
  type NodeSelector,
  type RetentionPolicy,
  type RolloutPolicy,
} from "./model.js";
export { createPushGuard, type ClientStatusSource, type PushGuard, type PushGuardDeps } from "./controller.js";
export { describeSelector, selectsNode } from "./selectors.js";
export { canaryGroupOf, CANARY_GROUP } from "./canary.js";
