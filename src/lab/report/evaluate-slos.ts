import type { Scenario } from "../scenario/index.js";
import type { CohortStats, Counts, FaultWindow, SloResult } from "./model.js";

/**
 * Checks a scenario's SLOs against what a run measured. An SLO that cannot
 * be measured (no such cohort, no attempts in its window, a fault window
 * that never happened) fails with a `reason`: a check that cannot fail
 * proves nothing.
 */
export function evaluateSlos(
  scenario: Pick<Scenario, "slos">,
  cohorts: Readonly<Record<string, CohortStats>>,
  faultWindows: readonly FaultWindow[],
): SloResult[] {
  return scenario.slos.map((slo) => {
    const base = { cohort: slo.cohort, window: slo.window, min: slo.minSuccess, ...(slo.maxSuccess !== undefined && { max: slo.maxSuccess }) };
    const stats = Object.hasOwn(cohorts, slo.cohort) ? cohorts[slo.cohort] : undefined;
    if (!stats) return { ...base, actual: 0, attempts: 0, ok: false, reason: `no measurements for cohort "${slo.cohort}"` };
    if (slo.window !== "whole" && faultWindows.length === 0) return { ...base, actual: 0, attempts: 0, ok: false, reason: "no fault window was recorded" };
    const counts: Counts = slo.window === "whole" ? stats : slo.window === "during-fault" ? stats.duringFault : stats.afterFault;
    if (counts.attempts === 0) return { ...base, actual: 0, attempts: 0, ok: false, reason: `no attempts ${slo.window === "whole" ? "in the run" : slo.window}` };
    const actual = counts.successes / counts.attempts;
    const ok = actual >= slo.minSuccess && (slo.maxSuccess === undefined || actual <= slo.maxSuccess);
    return { ...base, actual, attempts: counts.attempts, ok };
  });
}
