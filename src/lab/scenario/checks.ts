import type { z } from "zod";
import type { Issue } from "../../errors/index.js";
import { formatClock, parseClock, toScenarioSec } from "./clock-time.js";
import { show } from "./issues.js";
import { CONTROL_PLANES, FAULT_KINDS, STREAM_FAULT_KINDS, type ControlPlaneName } from "./model.js";
import { canaryIssues, phaseIssues, policyEntryIssues } from "./policy-checks.js";
import { cohortSchema, entrySchema, sloSchema, topologySchema, type RawCohort, type RawEntry, type RawSlo, type RawTopology } from "./schema.js";

/**
 * Rules that join fields: SLOs and remediations name cohorts that exist, the
 * timeline is in order and inside the scenario, faults are cleared only
 * while active, and so on. They read the raw input item by item, so they are
 * reported together with any shape problem rather than only once the whole
 * file is right; an item whose shape is wrong is skipped here.
 */

interface Indexed<T> {
  readonly index: number;
  readonly value: T;
}

/** A timeline entry whose shape is valid, with its time resolved. */
interface TimedEntry extends Indexed<RawEntry> {
  readonly atSec: number | undefined;
}

interface Context {
  readonly startOfDaySec: number | undefined;
  readonly endSec: number | undefined;
  readonly endIssue: boolean;
  readonly cohorts: readonly Indexed<RawCohort>[];
  readonly controlPlanes: readonly ControlPlaneName[] | undefined;
  readonly timeline: readonly TimedEntry[];
  /** False when some timeline entry is malformed: then what is active when is unknown, and those rules are skipped. */
  readonly timelineComplete: boolean;
  readonly slos: readonly Indexed<RawSlo>[];
  /** Undefined when the topology's own shape is wrong (reported by the schema). */
  readonly topology: RawTopology | undefined;
}

export function crossFieldIssues(input: unknown): Issue[] {
  if (!isRecord(input)) return [];
  const context = readContext(input);
  const state = timelineStateIssues(context);
  return [
    ...scenarioClockIssues(input, context),
    ...cohortIssues(context),
    ...cohortPlaneIssues(context),
    ...topologyIssues(input),
    ...(context.topology ? canaryIssues(context.topology) : []),
    ...phaseIssues(context.timeline),
    ...retryIssues(input),
    ...timelineOrderIssues(context),
    ...timelineEntryIssues(context),
    ...state.issues,
    ...sloIssues(context, state),
  ];
}

function readContext(input: Record<string, unknown>): Context {
  const start = input["start"] === undefined ? "00:00" : input["start"];
  const startOfDaySec = typeof start === "string" ? parseClock(start) : undefined;
  const endSec = typeof input["end"] === "string" && startOfDaySec !== undefined ? toScenarioSec(input["end"], startOfDaySec) : undefined;
  const topology = isRecord(input["topology"]) ? input["topology"] : {};
  const planes = topology["controlPlanes"] === undefined ? ["primary"] : topology["controlPlanes"];
  return {
    startOfDaySec,
    endSec: endSec !== undefined && endSec > 0 ? endSec : undefined,
    endIssue: endSec !== undefined && endSec <= 0,
    cohorts: validItems(input["cohorts"], cohortSchema),
    controlPlanes: Array.isArray(planes) ? (planes.filter((p) => (CONTROL_PLANES as readonly unknown[]).includes(p)) as ControlPlaneName[]) : undefined,
    timeline: validItems(input["timeline"], entrySchema).map((item) => ({
      ...item,
      atSec: startOfDaySec === undefined ? undefined : toScenarioSec(item.value.at, startOfDaySec),
    })),
    timelineComplete: Array.isArray(input["timeline"]) && validItems(input["timeline"], entrySchema).length === input["timeline"].length,
    slos: validItems(input["slos"], sloSchema),
    topology: topologyOf(input["topology"]),
  };
}

function topologyOf(raw: unknown): RawTopology | undefined {
  const result = topologySchema.safeParse(raw);
  return result.success ? result.data : undefined;
}

function scenarioClockIssues(input: Record<string, unknown>, context: Context): Issue[] {
  if (!context.endIssue) return [];
  return [{ path: "end", message: `must be after start (${formatClock(context.startOfDaySec ?? 0)}), got ${show(input["end"])}` }];
}

function cohortIssues(context: Context): Issue[] {
  const issues: Issue[] = [];
  const first = new Map<string, number>();
  for (const { index, value } of context.cohorts) {
    const earlier = first.get(value.name);
    if (earlier !== undefined) issues.push({ path: `cohorts[${index}].name`, message: `${show(value.name)} is already the name of cohorts[${earlier}]; names must be unique` });
    else first.set(value.name, index);
  }
  return issues;
}

function cohortPlaneIssues(context: Context): Issue[] {
  const planes = context.controlPlanes;
  if (!planes) return [];
  return context.cohorts.flatMap(({ index, value }) =>
    planes.includes(value.controlPlane)
      ? []
      : [{ path: `cohorts[${index}].controlPlane`, message: `must be a control plane in topology.controlPlanes (${planes.join(", ")}), got ${show(value.controlPlane)}` }],
  );
}

function topologyIssues(input: Record<string, unknown>): Issue[] {
  const planes = isRecord(input["topology"]) ? input["topology"]["controlPlanes"] : undefined;
  if (!Array.isArray(planes)) return [];
  const issues: Issue[] = [];
  if (!planes.includes("primary")) issues.push({ path: "topology.controlPlanes", message: `must include "primary", got ${show(planes)}` });
  planes.forEach((plane, i) => {
    if (planes.indexOf(plane) !== i) issues.push({ path: `topology.controlPlanes[${i}]`, message: `${show(plane)} is listed twice; list each control plane once` });
  });
  return issues;
}

function retryIssues(input: Record<string, unknown>): Issue[] {
  const workload = isRecord(input["workload"]) ? input["workload"] : {};
  const retry = isRecord(workload["retry"]) ? workload["retry"] : {};
  const { baseMs, maxMs } = retry;
  if (typeof baseMs !== "number" || typeof maxMs !== "number" || maxMs >= baseMs) return [];
  return [{ path: "workload.retry.maxMs", message: `must be at least baseMs (${baseMs}), got ${maxMs}` }];
}

function timelineOrderIssues(context: Context): Issue[] {
  const issues: Issue[] = [];
  const start = context.startOfDaySec ?? 0;
  const span = `from start ${formatClock(start)}${context.endSec === undefined ? "" : ` to end ${formatClock(start + context.endSec)}`}`;
  let previous: TimedEntry | undefined;
  for (const entry of context.timeline) {
    if (entry.atSec === undefined) continue;
    const path = `timeline[${entry.index}].at`;
    // With an end at or before the start there is no valid span (reported once, on `end`); only the order is checked.
    const outside = !context.endIssue && (entry.atSec < 0 || (context.endSec !== undefined && entry.atSec > context.endSec));
    if (outside) {
      issues.push({ path, message: `must be inside the scenario, ${span}, got ${show(entry.value.at)}` });
    } else if (previous?.atSec !== undefined && entry.atSec < previous.atSec) {
      issues.push({ path, message: `must not be earlier than timeline[${previous.index}] (${show(previous.value.at)}); keep the timeline in time order, got ${show(entry.value.at)}` });
    }
    previous = entry;
  }
  return issues;
}

function timelineEntryIssues(context: Context): Issue[] {
  const cohorts = new Map(context.cohorts.map(({ value }) => [value.name, value]));
  return context.timeline.flatMap((entry) => {
    const base = `timeline[${entry.index}]`;
    const e = entry.value;
    switch (e.action) {
      case "fault":
        return faultEntryIssues(base, e);
      case "remediate":
        return remediateIssues(base, entry, e, cohorts, context);
      case "kill":
        return controlPlaneIssues(base, e.controlPlane, context);
      case "restart":
        return restartIssues(base, e, cohorts, context);
      case "policy":
        return [...policyEntryIssues(base, e, context.topology), ...policyPlaneIssues(base, e.controlPlanes, context)];
      default:
        return [];
    }
  });
}

function faultEntryIssues(base: string, e: Extract<RawEntry, { action: "fault" }>): Issue[] {
  const issues: Issue[] = [];
  if (e.services.length === 0 && !STREAM_FAULT_KINDS.includes(e.kind)) {
    issues.push({ path: `${base}.services`, message: `must name at least one demo service for kind "${e.kind}" (only stream-error and stall may omit it)` });
  }
  if (e.status !== undefined && e.kind !== "stream-error") issues.push({ path: `${base}.status`, message: `is only allowed with kind "stream-error", got kind "${e.kind}"` });
  if (e.layer === "pipeline" && STREAM_FAULT_KINDS.includes(e.kind)) {
    issues.push({ path: `${base}.layer`, message: `must be "server" for kind "${e.kind}", which acts on ADS streams; "pipeline" is allowed for ${FAULT_KINDS.filter((k) => !STREAM_FAULT_KINDS.includes(k)).join(", ")}` });
  }
  e.services.forEach((name, i) => {
    if (e.services.indexOf(name) !== i) issues.push({ path: `${base}.services[${i}]`, message: `${show(name)} is listed twice; list each service once` });
  });
  return issues;
}

function remediateIssues(
  base: string,
  entry: TimedEntry,
  e: Extract<RawEntry, { action: "remediate" }>,
  cohorts: ReadonlyMap<string, RawCohort>,
  context: Context,
): Issue[] {
  const cohort = cohorts.get(e.cohort);
  if (!cohort) return [unknownCohort(`${base}.cohort`, e.cohort, cohorts)];
  const issues: Issue[] = [];
  if (cohort.discovery === e.to) issues.push({ path: `${base}.to`, message: `must differ from the cohort's discovery, got ${show(e.to)}` });
  const untilSec = e.until === undefined || context.startOfDaySec === undefined ? undefined : toScenarioSec(e.until, context.startOfDaySec);
  if (untilSec !== undefined && entry.atSec !== undefined && (untilSec < entry.atSec || (context.endSec !== undefined && untilSec > context.endSec))) {
    issues.push({ path: `${base}.until`, message: `must be from the entry's own time (${show(e.at)}) to the scenario's end, got ${show(e.until)}` });
  }
  return issues;
}

function restartIssues(base: string, e: Extract<RawEntry, { action: "restart" }>, cohorts: ReadonlyMap<string, RawCohort>, context: Context): Issue[] {
  if ((e.controlPlane === undefined) === (e.cohorts === undefined)) {
    return [{ path: base, message: `must name either a controlPlane (start a killed one again) or cohorts (restart their gateways), not ${e.controlPlane === undefined ? "neither" : "both"}` }];
  }
  if (e.controlPlane !== undefined) {
    const gateways = e.gateways === undefined ? [] : [{ path: `${base}.gateways`, message: `is only allowed with cohorts (how many of each cohort's gateways restart), got ${e.gateways} with a controlPlane` }];
    return [...gateways, ...controlPlaneIssues(base, e.controlPlane, context)];
  }
  const names = e.cohorts ?? [];
  if (names.length === 0) return [{ path: `${base}.cohorts`, message: "must name at least one cohort" }];
  return names.flatMap((name, i) => {
    const cohort = cohorts.get(name);
    if (!cohort) return [unknownCohort(`${base}.cohorts[${i}]`, name, cohorts)];
    if (e.gateways !== undefined && e.gateways > cohort.gateways) {
      return [{ path: `${base}.gateways`, message: `must be at most the gateways of cohort "${name}" (${cohort.gateways}), got ${e.gateways}` }];
    }
    return [];
  });
}

function controlPlaneIssues(base: string, plane: ControlPlaneName, context: Context): Issue[] {
  if (!context.controlPlanes || context.controlPlanes.includes(plane)) return [];
  return [{ path: `${base}.controlPlane`, message: `must be a control plane in topology.controlPlanes (${context.controlPlanes.join(", ")}), got ${show(plane)}` }];
}

/** A policy entry's `controlPlanes`: at least one, each in the topology, each once. */
function policyPlaneIssues(base: string, planes: readonly ControlPlaneName[] | undefined, context: Context): Issue[] {
  if (planes === undefined) return [];
  if (planes.length === 0) return [{ path: `${base}.controlPlanes`, message: "must name at least one control plane; leave it out for every one" }];
  return planes.flatMap((plane, i) => {
    if (planes.indexOf(plane) !== i) return [{ path: `${base}.controlPlanes[${i}]`, message: `names ${show(plane)} twice` }];
    return controlPlaneIssues(`${base}.controlPlanes[${i}]`, plane, context).map((issue) => ({ ...issue, path: `${base}.controlPlanes[${i}]` }));
  });
}

/** What is broken at the end of the timeline, and the entries that act on a state they cannot. */
function timelineStateIssues(context: Context): { issues: Issue[]; disrupted: boolean; openAtEnd: string[] } {
  const issues: Issue[] = [];
  if (!context.timelineComplete) return { issues, disrupted: true, openAtEnd: [] };
  const faults: string[] = [];
  const down = new Set<string>();
  let dnsStopped = false;
  let disrupted = false;
  const policies = new Set<string>();
  for (const { index, value: e } of context.timeline) {
    const path = `timeline[${index}]`;
    // A control plane outside the topology is reported by timelineEntryIssues; its state is not tracked.
    if ((e.action === "kill" || e.action === "restart") && e.controlPlane !== undefined && !context.controlPlanes?.includes(e.controlPlane)) continue;
    if (e.action === "fault") faults.push(e.kind);
    if (e.action === "clear-fault") {
      const matching = faults.filter((kind) => e.kind === undefined || kind === e.kind);
      if (matching.length === 0) issues.push({ path, message: `clear-fault${e.kind ? ` of kind "${e.kind}"` : ""} at ${show(e.at)} has no active fault to clear` });
      faults.splice(0, faults.length, ...faults.filter((kind) => e.kind !== undefined && kind !== e.kind));
    }
    if (e.action === "kill" && down.has(e.controlPlane)) issues.push({ path, message: `kill at ${show(e.at)}: control plane "${e.controlPlane}" is already down` });
    if (e.action === "kill") down.add(e.controlPlane);
    if (e.action === "restart" && e.controlPlane !== undefined && !down.delete(e.controlPlane)) {
      issues.push({ path, message: `restart at ${show(e.at)}: control plane "${e.controlPlane}" is not down; kill it first` });
    }
    if ((e.action === "stop-dns" && dnsStopped) || (e.action === "start-dns" && !dnsStopped)) {
      issues.push({ path, message: `${e.action} at ${show(e.at)}: the DNS server is already ${dnsStopped ? "stopped" : "running"}` });
    }
    if (e.action === "stop-dns" || e.action === "start-dns") dnsStopped = e.action === "stop-dns";
    if (e.action === "policy") policies.add(e.service);
    if (e.action === "clear-policy" && !policies.delete(e.service)) {
      issues.push({ path, message: `clear-policy at ${show(e.at)}: service "${e.service}" has no policy set by an earlier policy entry` });
    }
    disrupted ||= e.action === "fault" || e.action === "kill" || e.action === "stop-dns";
  }
  const openAtEnd = [...new Set(faults)].concat([...down].map((plane) => `control plane "${plane}" down`), dnsStopped ? ["DNS stopped"] : []);
  return { issues, disrupted, openAtEnd };
}

function sloIssues(context: Context, { disrupted, openAtEnd }: { disrupted: boolean; openAtEnd: readonly string[] }): Issue[] {
  const cohorts = new Map(context.cohorts.map(({ value }) => [value.name, value]));
  const issues: Issue[] = [];
  for (const { index, value } of context.slos) {
    const base = `slos[${index}]`;
    if (context.cohorts.length > 0 && !cohorts.has(value.cohort)) issues.push(unknownCohort(`${base}.cohort`, value.cohort, cohorts));
    if (value.maxSuccess !== undefined && value.maxSuccess < value.minSuccess) {
      issues.push({ path: `${base}.maxSuccess`, message: `must be at least minSuccess (${value.minSuccess}), got ${value.maxSuccess}` });
    }
    issues.push(...sloPhaseIssues(base, value, context));
    if ((value.window === "during-fault" || value.window === "after-fault") && context.timeline.length > 0 && !disrupted) {
      issues.push({ path: `${base}.window`, message: `"${value.window}" needs a fault, kill or stop-dns in the timeline; use "whole"` });
    }
    if (value.window === "after-fault" && openAtEnd.length > 0) {
      issues.push({ path: `${base}.window`, message: `"after-fault" needs every disruption to end before the scenario's end; still open: ${openAtEnd.join(", ")}` });
    }
  }
  return issues;
}

/** `phase` comes with window "phase" and only with it, names a phase the timeline starts, and counts all gateways. */
function sloPhaseIssues(base: string, value: RawSlo, context: Context): Issue[] {
  if (value.window !== "phase") {
    return value.phase === undefined ? [] : [{ path: `${base}.phase`, message: `is only allowed with window "phase", got window ${show(value.window)}` }];
  }
  const phases = context.timeline.flatMap(({ value: e }) => (e.phase === undefined ? [] : [e.phase]));
  if (value.phase === undefined) return [{ path: `${base}.phase`, message: `is required with window "phase"; must name a phase of the timeline (${phases.join(", ") || "none: give timeline entries a phase"})` }];
  const issues: Issue[] = [];
  if (context.timelineComplete && !phases.includes(value.phase)) {
    issues.push({ path: `${base}.phase`, message: `must name a phase a timeline entry starts (${phases.join(", ") || "none: give timeline entries a phase"}), got ${show(value.phase)}` });
  }
  if (value.gateways === "warm") issues.push({ path: `${base}.gateways`, message: 'must be "all" with window "phase" (cold starts are told apart only inside disruption windows)' });
  return issues;
}

function unknownCohort(path: string, name: string, cohorts: ReadonlyMap<string, unknown>): Issue {
  return { path, message: `must name a cohort of this scenario (${[...cohorts.keys()].join(", ")}), got ${show(name)}` };
}

function validItems<T>(raw: unknown, schema: z.ZodType<T>): Indexed<T>[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((item, index) => {
    const result = schema.safeParse(item);
    return result.success ? [{ index, value: result.data }] : [];
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
