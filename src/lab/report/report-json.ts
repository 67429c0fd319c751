import { verdictOf, type LabResult } from "./model.js";
import { clockAt, rate } from "./format.js";

/**
 * report.json: the fields of the lab's report schema (issue 4), plus the
 * scenario clock and layer of each window, each cohort's discovery mode,
 * control plane, success rate and cold starts, what each control plane's
 * push guard did, and the story, so the file stands on its own.
 */
export function toReportJson(result: LabResult): Record<string, unknown> {
  const cohorts: Record<string, unknown> = {};
  for (const [name, stats] of Object.entries(result.cohorts)) {
    cohorts[name] = {
      attempts: stats.attempts,
      successes: stats.successes,
      duringFault: { attempts: stats.duringFault.attempts, successes: stats.duringFault.successes },
      afterFault: { attempts: stats.afterFault.attempts, successes: stats.afterFault.successes },
      ...(stats.phases && { phases: Object.fromEntries(Object.entries(stats.phases).map(([phase, c]) => [phase, { attempts: c.attempts, successes: c.successes }])) }),
      errors: { ...stats.errors },
      series: stats.series.map((p) => ({ tMs: p.tMs, attempts: p.attempts, successes: p.successes })),
      coldStarts: { ...stats.coldStarts, during: [...stats.coldStarts.during] },
      discovery: result.story.cohorts[name]?.discovery ?? null,
      controlPlane: result.story.cohorts[name]?.controlPlane ?? null,
      explanation: result.story.cohorts[name]?.explanation ?? "",
      observed: result.story.cohorts[name]?.observed ?? "",
      successRate: rate(stats) ?? null,
    };
  }
  return {
    scenario: result.scenario,
    speed: result.speed,
    seed: result.seed,
    durationMs: result.durationMs,
    faultWindows: result.faultWindows.map((w) => ({
      kind: w.kind,
      services: [...w.services],
      ...(w.layer !== undefined && { layer: w.layer }),
      startMs: w.startMs,
      endMs: w.endMs,
      startClock: clockAt(result, w.startMs),
      endClock: clockAt(result, w.endMs),
    })),
    ...(result.phases && result.phases.length > 0 && {
      phases: result.phases.map((p) => ({ name: p.name, startMs: p.startMs, endMs: p.endMs, startClock: clockAt(result, p.startMs), endClock: clockAt(result, p.endMs) })),
    }),
    cohorts,
    slos: result.slos.map((slo) => ({ ...slo })),
    ok: result.ok,
    verdict: verdictOf(result),
    machine: result.machine ? { ...result.machine } : null,
    startClock: clockAt(result, 0),
    endClock: clockAt(result, result.durationMs),
    description: result.story.description,
    timeline: result.story.timeline.map((e) => ({ ...e })),
    sources: result.story.sources.map((s) => ({ title: s.title, url: s.url })),
    controlPlanes: { ...result.story.controlPlanes },
  };
}
