import { z } from "zod";
import { CLOCK_RULE, TIME_RULE, isTime, parseClock } from "./clock-time.js";
import { oneOf, rule, show } from "./issues.js";
import { inlinePolicySchema } from "./inline-policy.js";
import { flag, intIn, label, list, numberIn, object, text } from "./schema-parts.js";
import {
  ACTIONS, CONTROL_PLANES, DEMO_SERVICES, DISCOVERY_MODES, FAULT_KINDS, FAULT_LAYERS, GRPC_STATUS_NAMES, SLO_GATEWAYS, SLO_WINDOWS,
} from "./model.js";

/**
 * The zod schema of a scenario file as written (YAML parsed to plain data).
 * Shape only: rules that join fields (cohorts that exist, a sorted timeline)
 * live in checks.ts. Every message says what is allowed and shows the value.
 */

const URL_RULE = "an http(s) URL";
const time = z.string(rule(TIME_RULE)).refine(isTime, rule(TIME_RULE));
const clock = z.string(rule(CLOCK_RULE)).refine((value) => parseClock(value) !== undefined, rule(CLOCK_RULE));
const share = numberIn(0, 1);
const url = z.string(rule(URL_RULE)).refine((value) => /^https?:\/\/\S+$/.test(value) && URL.canParse(value), rule(URL_RULE));
const service = z.enum(DEMO_SERVICES, rule(`a demo service, ${oneOf(DEMO_SERVICES)}`));
const controlPlane = z.enum(CONTROL_PLANES, rule(`a control plane, ${oneOf(CONTROL_PLANES)}`));
const discovery = z.enum(DISCOVERY_MODES, rule(oneOf(DISCOVERY_MODES)));
const faultKind = z.enum(FAULT_KINDS, rule(`a fault kind, ${oneOf(FAULT_KINDS)}`));
const faultLayer = z.enum(FAULT_LAYERS, rule(`a fault layer, ${oneOf(FAULT_LAYERS)}`));
const note = text("a non-empty text").optional();
const KEY_RULE = "a metadata key: 1–63 characters";
const metadataKey = z.string(rule(KEY_RULE)).min(1, rule(KEY_RULE)).max(63, rule(KEY_RULE));
/** Instance metadata; values are strings: a YAML `version: 2` must be quoted, as instance metadata is text. */
const metadataSchema = z.record(metadataKey, z.string(rule('a string (quote numbers: version: "2")')), rule("an object of string keys to string values"));
/** A phase of the timeline starts at this entry (see EntryBase.phase). */
const phase = label.optional();

const source = object({ title: text("a non-empty title"), url });

const canary = object({
  service,
  instances: intIn(1, 20).default(1),
  metadata: metadataSchema,
  fails: z.enum(GRPC_STATUS_NAMES, rule(`a gRPC status name (${GRPC_STATUS_NAMES.join(", ")})`)).optional(),
});

const topology = object({
  instances: object({ accounts: intIn(1, 20).default(2), login: intIn(1, 20).default(2), playback: intIn(1, 20).default(2) }).default({
    accounts: 2,
    login: 2,
    playback: 2,
  }),
  metadata: object({ accounts: metadataSchema.optional(), login: metadataSchema.optional(), playback: metadataSchema.optional() }).default({}),
  canary: canary.optional(),
  controlPlanes: list(controlPlane, `control planes (${oneOf(CONTROL_PLANES)})`).default(["primary"]),
});

const cohort = object({
  name: label,
  discovery,
  gateways: intIn(1, 10).default(2),
  controlPlane: controlPlane.default("primary"),
  scheduledRestarts: flag.default(true),
  explain: text("a non-empty text").optional(),
});

const workload = object({
  users: intIn(1, 100_000),
  loggedInShare: share,
  loginRatePerSec: numberIn(0, 1000, true),
  retry: object({ baseMs: intIn(1, 600_000), maxMs: intIn(1, 3_600_000), jitter: share }),
  restarts: object({ everySec: numberIn(0, 86_400, true), share: numberIn(0, 1, true) }).optional(),
});

/** One schema per action; `at` and `note` are allowed on each. */
export const ENTRY_SCHEMAS = {
  fault: object({
    at: time,
    action: z.literal("fault"),
    kind: faultKind,
    layer: faultLayer.default("server"),
    services: list(service, "demo services").default([]),
    status: z.enum(GRPC_STATUS_NAMES, rule(`a gRPC status name (${GRPC_STATUS_NAMES.join(", ")})`)).optional(),
    note,
    phase,
  }),
  "clear-fault": object({ at: time, action: z.literal("clear-fault"), kind: faultKind.optional(), note, phase }),
  remediate: object({ at: time, action: z.literal("remediate"), cohort: label, to: discovery.default("dns"), until: time.optional(), note, phase }),
  kill: object({ at: time, action: z.literal("kill"), controlPlane, note, phase }),
  restart: object({
    at: time,
    action: z.literal("restart"),
    controlPlane: controlPlane.optional(),
    cohorts: list(label, "cohort names").optional(),
    gateways: intIn(1, 10).optional(),
    note,
    phase,
  }),
  "stop-dns": object({ at: time, action: z.literal("stop-dns"), note, phase }),
  "start-dns": object({ at: time, action: z.literal("start-dns"), note, phase }),
  policy: object({ at: time, action: z.literal("policy"), service, policy: inlinePolicySchema, controlPlanes: list(controlPlane, "control plane names").optional(), note, phase }),
  "clear-policy": object({ at: time, action: z.literal("clear-policy"), service, note, phase }),
  note: object({ at: time, action: z.literal("note"), note: text("a non-empty text"), phase }),
} as const;

const ACTION_RULE = `an action, ${oneOf(ACTIONS)}`;
const entry = z.discriminatedUnion("action", Object.values(ENTRY_SCHEMAS) as unknown as [typeof ENTRY_SCHEMAS.fault, ...Array<(typeof ENTRY_SCHEMAS)[keyof typeof ENTRY_SCHEMAS]>], {
  error: (issue) => {
    if (typeof issue.input !== "object" || issue.input === null) return `must be an object with "at" and "action", got ${show(issue.input)}`;
    const action = (issue.input as Record<string, unknown>)["action"];
    return action === undefined ? `is required; must be ${ACTION_RULE}` : `must be ${ACTION_RULE}, got ${show(action)}`;
  },
});

const slo = object({
  cohort: label,
  window: z.enum(SLO_WINDOWS, rule(oneOf(SLO_WINDOWS))),
  minSuccess: share,
  maxSuccess: share.optional(),
  gateways: z.enum(SLO_GATEWAYS, rule(oneOf(SLO_GATEWAYS))).default("all"),
  phase: label.optional(),
});

export const scenarioSchema = z.strictObject(
  {
    name: label,
    description: text("a non-empty text"),
    sources: list(source, "{title, url} objects").default([]),
    speed: numberIn(0, 100_000, true),
    seed: intIn(0, 2 ** 31 - 1).default(1),
    start: clock.default("00:00"),
    end: time,
    topology: topology.default({ instances: { accounts: 2, login: 2, playback: 2 }, metadata: {}, controlPlanes: ["primary"] }),
    cohorts: list(cohort, "cohorts").min(1, { error: "must list at least one cohort" }),
    workload,
    timeline: list(entry, "timeline entries").min(1, { error: "must list at least one entry" }),
    slos: list(slo, "SLOs").default([]),
  },
  { error: (issue) => `a scenario must be a YAML mapping with the fields name, description, speed, end, cohorts, workload, timeline…, got ${show(issue.input)}` },
);

export type RawScenario = z.output<typeof scenarioSchema>;
export type RawEntry = z.output<typeof entry>;
export type RawCohort = z.output<typeof cohort>;
export type RawSlo = z.output<typeof slo>;
export type RawTopology = z.output<typeof topology>;
export { entry as entrySchema, cohort as cohortSchema, slo as sloSchema, topology as topologySchema };

const NESTED: Record<string, z.ZodObject> = {
  "": scenarioSchema,
  "sources[]": source,
  topology,
  "topology.instances": topology.shape.instances.unwrap(),
  "topology.metadata": topology.shape.metadata.unwrap(),
  "topology.canary": canary,
  "cohorts[]": cohort,
  workload,
  "workload.retry": workload.shape.retry,
  "workload.restarts": workload.shape.restarts.unwrap(),
  "slos[]": slo,
};

/** The fields allowed at a path, for "unknown field" messages; a timeline entry's depend on its action. */
export function allowedFields(path: readonly PropertyKey[], value: unknown): readonly string[] {
  const key = path.map((part) => (typeof part === "number" ? "[]" : String(part))).join(".").replaceAll(".[]", "[]");
  if (key === "timeline[]") {
    const action = typeof value === "object" && value !== null ? (value as Record<string, unknown>)["action"] : undefined;
    const schema = Object.hasOwn(ENTRY_SCHEMAS, String(action)) ? ENTRY_SCHEMAS[action as keyof typeof ENTRY_SCHEMAS] : undefined;
    return schema ? Object.keys(schema.shape) : ["at", "action", "note", "phase"];
  }
  return Object.keys(NESTED[key]?.shape ?? {});
}
