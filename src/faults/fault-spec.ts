import { z } from "zod";
import { ValidationError, formatPath, rule, show, type Issue } from "../errors/index.js";
import { GRPC_STATUS_NAMES, type GrpcStatusName } from "./grpc-status.js";

/**
 * The faults the lab's HTTP API (`POST /v1/faults`) offers, in the words of
 * an outage rather than of the injector's low-level decorators:
 * - `config-loss`: the services' Listener, RouteConfiguration, Cluster and
 *   ClusterLoadAssignment vanish (8 March 2022);
 * - `empty-endpoints`: each service's ClusterLoadAssignment has no endpoints;
 * - `invalid-config`: each service's Cluster asks for lb_policy MAGLEV, which
 *   stock gRPC clients NACK;
 * - `stream-error`: ADS streams end with a gRPC status;
 * - `stall`: ADS streams are accepted and never answered.
 */
export const LAB_FAULT_KINDS = ["config-loss", "stream-error", "empty-endpoints", "stall", "invalid-config"] as const;
export type LabFaultKind = (typeof LAB_FAULT_KINDS)[number];

/** Kinds that act on whole ADS streams: their `services` may be empty (all) and only describe intent. */
export const STREAM_FAULT_KINDS: readonly LabFaultKind[] = ["stream-error", "stall"];

/**
 * Where a fault acts:
 * - `server`: on what the xDS server sends, below the push guard, which
 *   cannot see it (what clients receive);
 * - `pipeline`: on the snapshots the builder hands to the push guard, as a
 *   config-pipeline bug would; the guard judges the result like any other
 *   generation. Only kinds that change resources can act there.
 */
export const FAULT_LAYERS = ["server", "pipeline"] as const;
export type FaultLayer = (typeof FAULT_LAYERS)[number];

export const MAX_FAULT_SERVICES = 100;
export const MAX_FAULT_DURATION_MS = 86_400_000;

/** A validated fault request, defaults filled in. */
export interface LabFaultSpec {
  readonly kind: LabFaultKind;
  /** Default `server`; stream-error and stall are server-only. */
  readonly layer: FaultLayer;
  /** DNS labels, no repeats; 1–100 of them, or 0–100 for stream-error and stall (which hit every stream anyway). */
  readonly services: readonly string[];
  /** Only for stream-error, where it defaults to UNAVAILABLE. */
  readonly status?: GrpcStatusName;
  /** 1–86,400,000 ms; absent means "until deleted". */
  readonly durationMs?: number;
}

/** What a caller may send: `layer` is optional. */
export type LabFaultRequest = Omit<LabFaultSpec, "layer"> & { readonly layer?: FaultLayer };

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_LABEL_RULE = "a service name: a DNS label ([a-z0-9-], 1–63 characters, not starting or ending with '-')";
const DURATION_RULE = `an integer number of milliseconds from 1 to ${MAX_FAULT_DURATION_MS} (omit it to keep the fault until it is deleted)`;
const SERVICES_RULE = `an array of at most ${MAX_FAULT_SERVICES} service names`;

const specBody = z.strictObject(
  {
    kind: z.enum(LAB_FAULT_KINDS, rule(`one of ${LAB_FAULT_KINDS.join(", ")}`)),
    layer: z.enum(FAULT_LAYERS, rule(`one of ${FAULT_LAYERS.join(", ")} (default server)`)).optional(),
    services: z
      .array(z.string(rule(DNS_LABEL_RULE)).regex(DNS_LABEL, rule(DNS_LABEL_RULE)), rule(SERVICES_RULE))
      .max(MAX_FAULT_SERVICES, { error: (issue) => `must list at most ${MAX_FAULT_SERVICES} services, got ${(issue.input as unknown[]).length}` }),
    status: z.enum(GRPC_STATUS_NAMES, rule(`a gRPC status name (${GRPC_STATUS_NAMES.join(", ")})`)).optional(),
    durationMs: z.int(rule(DURATION_RULE)).min(1, rule(DURATION_RULE)).max(MAX_FAULT_DURATION_MS, rule(DURATION_RULE)).optional(),
  },
  { error: (issue) => `body: must be a JSON object, got ${issue.input === undefined ? "no body" : show(issue.input)}` },
);
const ALLOWED_FIELDS = Object.keys(specBody.shape).join(", ");

/**
 * Validates a fault request (the body of `POST /v1/faults`, or a lab
 * scenario's step) and fills in defaults. Throws one ValidationError that
 * lists every problem at once, each with its path (`services[2]`,
 * `durationMs`, …).
 */
export function parseFaultSpec(input: unknown): LabFaultSpec {
  const result = specBody.safeParse(input);
  const issues = result.success ? [] : zodIssues(result.error);
  issues.push(...crossFieldIssues(input));
  if (issues.length > 0 || !result.success) throw new ValidationError(dedupe(issues));
  const { kind, layer, services, status, durationMs } = result.data;
  return {
    kind,
    layer: layer ?? "server",
    services,
    ...(kind === "stream-error" && { status: status ?? "UNAVAILABLE" }),
    ...(durationMs !== undefined && { durationMs }),
  };
}

function zodIssues(error: z.ZodError): Issue[] {
  return error.issues.flatMap((issue): Issue[] =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: `unknown field; allowed fields are ${ALLOWED_FIELDS}` }))
      : [{ path: formatPath(issue.path), message: issue.message }],
  );
}

/**
 * Rules that join two fields. They read the raw input, so they are reported
 * together with any zod issue instead of only once the shape is right.
 */
function crossFieldIssues(input: unknown): Issue[] {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return [];
  const { kind, layer, services, status } = input as Record<string, unknown>;
  const known = (LAB_FAULT_KINDS as readonly unknown[]).includes(kind) ? (kind as LabFaultKind) : undefined;
  const issues: Issue[] = [];
  if (known && !STREAM_FAULT_KINDS.includes(known) && Array.isArray(services) && services.length === 0) {
    issues.push({ path: "services", message: `must name 1 to ${MAX_FAULT_SERVICES} services for kind "${known}", got []` });
  }
  if (known && known !== "stream-error" && status !== undefined) {
    issues.push({ path: "status", message: `is only allowed with kind "stream-error", got kind "${known}"` });
  }
  if (known && STREAM_FAULT_KINDS.includes(known) && layer === "pipeline") {
    issues.push({ path: "layer", message: `must be "server" for kind "${known}", which acts on ADS streams; "pipeline" is allowed for ${pipelineKinds()}` });
  }
  if (Array.isArray(services)) {
    const seen = new Set<unknown>();
    services.forEach((name, i) => {
      if (seen.has(name)) issues.push({ path: `services[${i}]`, message: `${show(name)} is listed twice; list each service once` });
      seen.add(name);
    });
  }
  return issues;
}

function pipelineKinds(): string {
  return LAB_FAULT_KINDS.filter((kind) => !STREAM_FAULT_KINDS.includes(kind)).join(", ");
}

function dedupe(issues: readonly Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\n${issue.message}`;
    return !seen.has(key) && seen.add(key);
  });
}
