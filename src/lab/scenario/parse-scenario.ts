import { parseDocument } from "yaml";
import { ValidationError, type Issue } from "../../errors/index.js";
import { crossFieldIssues } from "./checks.js";
import { formatClock, parseClock, toScenarioSec } from "./clock-time.js";
import { dedupe, issuesFrom } from "./issues.js";
import type { Scenario, TimelineEntry } from "./model.js";
import { allowedFields, scenarioSchema, type RawEntry, type RawScenario } from "./schema.js";

/** A scenario file that is not valid YAML or breaks the schema; `issues` lists every problem, each with its path. */
export class ScenarioError extends ValidationError {
  /** The file (or label) the scenario came from; the message starts with it. */
  readonly file: string;
  constructor(file: string, issues: readonly Issue[], options?: { cause?: unknown }) {
    super(issues, options);
    this.file = file;
    this.message = `${file}: ${this.message}`;
  }
}

/** Aliases a YAML file may expand, so a small file cannot blow up into a huge value. */
const MAX_ALIASES = 100;

/**
 * Parses and validates a scenario from YAML text. Throws one ScenarioError
 * that lists every problem at once, e.g.
 * `timeline[3].at: must be "HH:MM" or "+<seconds>s", got "25:00"`.
 * `file` names the source in messages and in `Scenario.file`.
 */
export function parseScenario(text: string, file = "<scenario>"): Scenario {
  const data = parseYaml(text, file);
  const result = scenarioSchema.safeParse(data);
  const issues = dedupe([...(result.success ? [] : issuesFrom(result.error, allowedFields, data)), ...crossFieldIssues(data)]);
  if (issues.length > 0 || !result.success) throw new ScenarioError(file, issues);
  return resolve(result.data, file);
}

function parseYaml(text: string, file: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The library's messages end with a multi-line excerpt of the file; the first line has the problem and its position.
    const issues = doc.errors.map((error) => ({ path: "", message: `YAML: ${error.message.split("\n")[0]?.replace(/:$/, "") ?? error.code}` }));
    throw new ScenarioError(file, issues, { cause: doc.errors[0] });
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    throw new ScenarioError(file, [{ path: "", message: `YAML: ${error instanceof Error ? error.message : String(error)}` }], { cause: error });
  }
}

/** Turns a valid raw scenario into the loaded shape: times in scenario seconds since the start. */
function resolve(raw: RawScenario, file: string): Scenario {
  // Both parse: the schema checked the formats, and crossFieldIssues that end > start.
  const startOfDaySec = parseClock(raw.start) ?? 0;
  const durationSec = toScenarioSec(raw.end, startOfDaySec) ?? 0;
  return {
    name: raw.name,
    description: raw.description,
    sources: raw.sources,
    speed: raw.speed,
    seed: raw.seed,
    startOfDaySec,
    durationSec,
    topology: raw.topology,
    cohorts: raw.cohorts.map((cohort) => ({ ...cohort })),
    workload: raw.workload,
    timeline: raw.timeline.map((entry) => resolveEntry(entry, startOfDaySec)),
    slos: raw.slos,
    file,
  };
}

function resolveEntry(raw: RawEntry, startOfDaySec: number): TimelineEntry {
  const atSec = toScenarioSec(raw.at, startOfDaySec) ?? 0;
  const base = { atSec, clock: formatClock(startOfDaySec + atSec), ...(raw.note !== undefined && { note: raw.note }), ...(raw.phase !== undefined && { phase: raw.phase }) };
  switch (raw.action) {
    case "fault":
      return { ...base, action: raw.action, kind: raw.kind, layer: raw.layer, services: raw.services, ...(raw.status !== undefined && { status: raw.status }) };
    case "clear-fault":
      return { ...base, action: raw.action, ...(raw.kind !== undefined && { kind: raw.kind }) };
    case "remediate": {
      const untilSec = raw.until === undefined ? undefined : toScenarioSec(raw.until, startOfDaySec);
      return { ...base, action: raw.action, cohort: raw.cohort, to: raw.to, ...(untilSec !== undefined && { untilSec }) };
    }
    case "kill":
      return { ...base, action: raw.action, controlPlane: raw.controlPlane };
    case "restart":
      return raw.controlPlane !== undefined
        ? { ...base, action: raw.action, controlPlane: raw.controlPlane }
        : { ...base, action: raw.action, cohorts: raw.cohorts ?? [], ...(raw.gateways !== undefined && { gateways: raw.gateways }) };
    case "note":
      return { ...base, action: raw.action, note: raw.note };
    case "policy":
      return { ...base, action: raw.action, service: raw.service, policy: raw.policy, ...(raw.controlPlanes && { controlPlanes: raw.controlPlanes }) };
    case "clear-policy":
      return { ...base, action: raw.action, service: raw.service };
    default:
      return { ...base, action: raw.action };
  }
}
