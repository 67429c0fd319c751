import type { Scenario, Slo } from "../scenario/index.js";
import type { CohortStats, Counts, FaultWindow, PhaseWindow, SloResult } from "./model.js";

/**
 * Checks a scenario's SLOs against what a run measured. An SLO that cannot
 * be measured (no such cohort, no attempts in its window, a fault window
 * that never happened) fails with a `reason`: a check that cannot fail
 * proves nothing. An SLO on `warm` gateways leaves out the cohort's cold
 * starts (all of which fall inside fault windows, so never after them).
 * An SLO on a phase counts the attempts of that phase (`phases`: as the run
 * recorded them); one that never started fails with a reason.
 */
export function evaluateSlos(
  scenario: Pick<Scenario, "slos">,
  cohorts: Readonly<Record<string, CohortStats>>,
  faultWindows: readonly FaultWindow[],
  phases: readonly PhaseWindow[] = [],
): SloResult[] {
  return scenario.slos.map((slo) => {
    const base: SloBase = {
      cohort: slo.cohort,
      window: slo.window === "phase" ? `phase ${slo.phase ?? ""}` : slo.window,
      min: slo.minSuccess,
      ...(slo.maxSuccess !== undefined && { max: slo.maxSuccess }),
      ...(slo.gateways === "warm" && { gateways: "warm" as const }),
    };
    const stats = Object.hasOwn(cohorts, slo.cohort) ? cohorts[slo.cohort] : undefined;
    if (!stats) return { ...base, actual: 0, attempts: 0, ok: false, reason: `no measurements for cohort "${slo.cohort}"` };
    if (slo.window === "phase") {
      if (!phases.some((p) => p.name === slo.phase)) return { ...base, actual: 0, attempts: 0, ok: false, reason: `phase "${slo.phase ?? ""}" never started (its timeline entry failed or was not reached)` };
      return measured(base, stats.phases?.[slo.phase ?? ""] ?? { attempts: 0, successes: 0 }, slo, `in phase "${slo.phase ?? ""}"`);
    }
    if (slo.window !== "whole" && faultWindows.length === 0) return { ...base, actual: 0, attempts: 0, ok: false, reason: "no fault window was recorded" };
    const inWindow: Counts = slo.window === "whole" ? stats : slo.window === "during-fault" ? stats.duringFault : stats.afterFault;
    const counts = slo.gateways === "warm" && slo.window !== "after-fault" ? minus(inWindow, stats.coldStarts) : inWindow;
    return measured(base, counts, slo, `${slo.window === "whole" ? "in the run" : slo.window}${slo.gateways === "warm" ? " on warm gateways" : ""}`);
  });
}

/** What an SLO's result says before anything is measured. */
type SloBase = Omit<SloResult, "actual" | "attempts" | "ok" | "reason">;

/** The SLO's verdict on `counts`; `where` completes "no attempts …" when there are none. */
function measured(base: SloBase, counts: Counts, slo: Pick<Slo, "minSuccess" | "maxSuccess">, where: string): SloResult {
  if (counts.attempts === 0) return { ...base, actual: 0, attempts: 0, ok: false, reason: `no attempts ${where}` };
  const actual = counts.successes / counts.attempts;
  const ok = actual >= slo.minSuccess && (slo.maxSuccess === undefined || actual <= slo.maxSuccess);
  return { ...base, actual, attempts: counts.attempts, ok };
}

function minus(a: Counts, b: Counts): Counts {
  return { attempts: a.attempts - b.attempts, successes: a.successes - b.successes };
}
