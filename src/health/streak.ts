import type { HealthCheck } from "../registry/index.js";
import type { Verdict } from "./model.js";

/** Consecutive check results of one instance, and what they add up to. */
export interface Streak {
  readonly passes: number;
  readonly failures: number;
  /** Undefined until a threshold is first reached; then the last threshold reached. */
  readonly opinion?: Verdict;
}

export const NO_STREAK: Streak = { passes: 0, failures: 0 };

/**
 * Adds one result: `unhealthyThreshold` failures in a row make the opinion
 * unhealthy, `healthyThreshold` passes in a row make it healthy, and
 * anything in between keeps the previous opinion.
 */
export function recordResult(streak: Streak, passed: boolean, check: Pick<HealthCheck, "healthyThreshold" | "unhealthyThreshold">): Streak {
  const passes = passed ? streak.passes + 1 : 0;
  const failures = passed ? 0 : streak.failures + 1;
  let opinion = streak.opinion;
  if (passes >= check.healthyThreshold) opinion = "healthy";
  if (failures >= check.unhealthyThreshold) opinion = "unhealthy";
  return opinion === undefined ? { passes, failures } : { passes, failures, opinion };
}
