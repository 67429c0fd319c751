import { createTally, evaluateSlos, plannedFaultWindows, storyFromScenario, type CohortStats, type LabResult, type PhaseWindow } from "../../src/lab/index.js";
import type { Scenario } from "../../src/lab/index.js";

/** A deterministic pseudo-random source in [0, 1), so synthetic runs are the same every time. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * A run of `scenario` as it might have gone, without running anything:
 * `successShare(cohort, tMs)` says how likely an attempt is to succeed.
 */
export function syntheticResult(scenario: Scenario, successShare: (cohort: string, tMs: number, windows: LabResult["faultWindows"]) => number): LabResult {
  const speed = scenario.speed;
  const durationMs = Math.round((scenario.durationSec * 1000) / speed);
  const faultWindows = plannedFaultWindows(scenario, speed);
  const phases = plannedPhases(scenario, speed, durationMs);
  const next = random(scenario.seed);
  const cohorts: Record<string, CohortStats> = {};
  for (const cohort of scenario.cohorts) {
    const tally = createTally({ bucketMs: Math.max(250, durationMs / 80) });
    const coldUp = coldStartAt(scenario, cohort.name, speed);
    const cold = (t: number, i: number): boolean => coldUp !== undefined && i % 2 === 1 && faultWindows.some((w) => coldUp >= w.startMs && t >= coldUp && t < w.endMs);
    for (let t = 0, i = 0; t < durationMs; t += 100, i++) {
      // A cold-started gateway takes every other attempt, and fails each one while the fault lasts.
      if (cold(t, i)) {
        tally.record(t, false, "UNAVAILABLE", coldUp);
        continue;
      }
      const ok = next() < successShare(cohort.name, t, faultWindows);
      tally.record(t, ok, ok ? undefined : next() < 0.8 ? "UNAVAILABLE" : "DEADLINE_EXCEEDED", -1);
    }
    cohorts[cohort.name] = tally.stats(faultWindows, durationMs, coldUp === undefined ? [-1] : [-1, coldUp], phases);
  }
  const slos = evaluateSlos(scenario, cohorts, faultWindows, phases);
  return {
    scenario: scenario.name,
    speed,
    seed: scenario.seed,
    durationMs,
    faultWindows,
    ...(phases.length > 0 && { phases }),
    cohorts,
    slos,
    ok: slos.every((slo) => slo.ok),
    story: storyFromScenario(scenario, speed, { "xds-ignore-deletion": "Synthetic data: no gateway really ran." }),
  };
}

/** The timeline's phases as planned, in real ms: each from its entry to the next phase's, the last to the end. */
function plannedPhases(scenario: Scenario, speed: number, durationMs: number): PhaseWindow[] {
  const starts = scenario.timeline.flatMap((e) => (e.phase === undefined ? [] : [{ name: e.phase, startMs: Math.round((e.atSec * 1000) / speed) }]));
  return starts.map((p, i) => ({ ...p, endMs: starts[i + 1]?.startMs ?? durationMs }));
}

/** When the timeline's first `restart` of `cohort`'s gateways happens, in real ms; undefined if it has none. */
function coldStartAt(scenario: Scenario, cohort: string, speed: number): number | undefined {
  const entry = scenario.timeline.find((e) => e.action === "restart" && e.cohorts?.includes(cohort));
  return entry && Math.round((entry.atSec * 1000) / speed);
}

/** Shapes like the acceptance criteria of the Spotify replay. */
export function spotifyLike(cohort: string, tMs: number, windows: LabResult["faultWindows"]): number {
  const fault = windows[0];
  if (!fault || tMs < fault.startMs) return 0.999;
  if (tMs >= fault.endMs) return 0.99;
  const progress = (tMs - fault.startMs) / (fault.endMs - fault.startMs);
  switch (cohort) {
    case "xds-default":
      return 0.01;
    case "xds-remediated":
      return progress < 0.2 ? 0.01 : Math.min(1, Math.floor(((progress - 0.2) / 0.75) * 4 + 1) / 4);
    case "xds-ignore-deletion":
      return 0.6;
    default:
      return 0.9995;
  }
}
