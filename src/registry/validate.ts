import { isIP } from "node:net";
import { z } from "zod";
import { ValidationError, formatPath, oneOf, rule, show, type Issue } from "../errors/index.js";
import { unusableAddress, USABLE_ADDRESS_RULE } from "./address.js";
import {
  ANY_SOURCE,
  HEALTH_CHECK_KINDS,
  HEALTH_STATES,
  INTENTION_ACTIONS,
  LB_POLICIES,
  MTLS_MODES,
  PROTOCOLS,
  type HealthCheck,
  type Instance,
  type IntentionAction,
  type Service,
} from "./model.js";

/**
 * Turns untrusted request bodies (admin API, CLI) into Service and Instance
 * values. Every problem is reported at once, each with its path, and every
 * message says what was wrong, what is allowed, and shows the bad value.
 */

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const LOCALITY = /^[A-Za-z0-9._-]{0,63}$/;
const MAX_METADATA_ENTRIES = 64;
const MAX_METADATA_VALUE = 1024;
/** Longest rendering of a bad value inside a message. */

/** True when `value` is a DNS label, the rule for service names and instance ids. */
export function isDnsLabel(value: string): boolean {
  return DNS_LABEL.test(value);
}

const DNS_LABEL_RULE = "a DNS label ([a-z0-9-], 1–63 characters, not starting or ending with '-')";
const PORT_RULE = "an integer from 1 to 65535";
const WEIGHT_RULE = "an integer from 1 to 10000";
const LOCALITY_RULE = "at most 63 characters of [A-Za-z0-9._-]";
const TTL_RULE = "an integer from 1000 to 86400000 (milliseconds)";
const HTTP_PATH_RULE = "an absolute path such as /healthz: '/' then at most 1023 printable ASCII characters, no spaces";
const ADDRESS_RULE = "an IPv4 or IPv6 address";
/** Key problems are reported on the `metadata` path: a bad key can be too long to serve as a path itself. */
const KEY_RULE = {
  error: (issue: { input?: unknown }) => `key ${show(issue.input)} is not allowed; keys must be 1–63 characters, other than "__proto__"`,
};

const dnsLabel = z.string(rule(DNS_LABEL_RULE)).regex(DNS_LABEL, rule(DNS_LABEL_RULE));
const locality = z.string(rule(LOCALITY_RULE)).regex(LOCALITY, rule(LOCALITY_RULE)).default("");

const metadataKey = z.string(KEY_RULE).min(1, KEY_RULE).max(63, KEY_RULE);
const metadataValue = z
  .string(rule(`a string of at most ${MAX_METADATA_VALUE} characters`))
  .max(MAX_METADATA_VALUE, rule(`a string of at most ${MAX_METADATA_VALUE} characters`));
const metadataRecord = z
  .record(metadataKey, metadataValue, rule("an object of string keys to string values"))
  .refine((entries) => Object.keys(entries).length <= MAX_METADATA_ENTRIES, {
    error: (issue) => `must have at most ${MAX_METADATA_ENTRIES} entries, got ${Object.keys(issue.input as object).length}`,
  });
const metadata = z
  .unknown()
  // zod's record skips a "__proto__" key without a word, and a silently dropped entry is what this module exists to prevent.
  .superRefine((value, ctx) => {
    if (typeof value === "object" && value !== null && Object.hasOwn(value, "__proto__")) {
      ctx.addIssue({ code: "custom", input: "__proto__", message: KEY_RULE.error({ input: "__proto__" }) });
    }
  })
  .pipe(metadataRecord)
  .default(() => ({}));

/** An integer field of a health check with its range and default. */
function checkInteger(min: number, max: number, fallback: number) {
  const allowed = `an integer from ${min} to ${max}`;
  return z.int(rule(allowed)).min(min, rule(allowed)).max(max, rule(allowed)).default(fallback);
}

const HEALTH_CHECK_RULE = {
  error: (issue: { input?: unknown }) => `must be an object such as {"kind": "grpc"}, got ${show(issue.input)}`,
};

/**
 * Defaults: interval 5000 ms, timeout 1000 ms, healthy after 2 passes,
 * unhealthy after 3 failures, path `/` for http. Rules that span two fields
 * (timeout below the interval, path only for http) are checked once every
 * field is valid on its own.
 */
const healthCheckShape = {
  kind: z.enum(HEALTH_CHECK_KINDS, rule(oneOf(HEALTH_CHECK_KINDS))),
  path: z.string(rule(HTTP_PATH_RULE)).regex(/^\/[\x21-\x7e]{0,1023}$/, rule(HTTP_PATH_RULE)).optional(),
  intervalMs: checkInteger(1000, 3_600_000, 5000),
  timeoutMs: checkInteger(100, 60_000, 1000),
  healthyThreshold: checkInteger(1, 10, 2),
  unhealthyThreshold: checkInteger(1, 10, 3),
};
const healthCheck = z
  .strictObject(healthCheckShape, HEALTH_CHECK_RULE)
  .superRefine((check, ctx) => {
    if (check.timeoutMs >= check.intervalMs) {
      ctx.addIssue({ code: "custom", path: ["timeoutMs"], message: `must be less than intervalMs (${check.intervalMs}), got ${check.timeoutMs}` });
    }
    if (check.path !== undefined && check.kind !== "http") {
      ctx.addIssue({ code: "custom", path: ["path"], message: `is only for kind "http"; leave it out for kind "${check.kind}"` });
    }
  })
  .transform((check): HealthCheck => (check.kind === "http" ? { ...check, path: check.path ?? "/" } : check));

const MAX_INTENTIONS = 1024;
const INTENTION_SOURCE_RULE = `a service name (${DNS_LABEL_RULE}) or "*" (the default for sources not named)`;
const INTENTION_KEY_RULE = { error: (issue: { input?: unknown }) => `source ${show(issue.input)} is not allowed; a source is ${INTENTION_SOURCE_RULE}` };
const intentionSource = z.string(INTENTION_KEY_RULE).refine((source) => source === ANY_SOURCE || DNS_LABEL.test(source), INTENTION_KEY_RULE);
const intentionAction = z.enum(INTENTION_ACTIONS, rule(oneOf(INTENTION_ACTIONS)));
const intentions = z
  .unknown()
  .superRefine((value, ctx) => {
    if (typeof value === "object" && value !== null && Object.hasOwn(value, "__proto__")) {
      ctx.addIssue({ code: "custom", input: "__proto__", message: INTENTION_KEY_RULE.error({ input: "__proto__" }) });
    }
  })
  .pipe(
    z.record(intentionSource, intentionAction, rule('an object of source service (or "*") to "allow" or "deny"')).refine((entries) => Object.keys(entries).length <= MAX_INTENTIONS, {
      error: (issue) => `must have at most ${MAX_INTENTIONS} entries, got ${Object.keys(issue.input as object).length}`,
    }),
  );

const BODY_RULE = { error: (issue: { input?: unknown }) => `body: must be a JSON object, got ${issue.input === undefined ? "no body" : show(issue.input)}` };

const serviceBody = z.strictObject(
  {
    protocol: z.enum(PROTOCOLS, rule(oneOf(PROTOCOLS))).default("grpc"),
    lbPolicy: z.enum(LB_POLICIES, rule(oneOf(LB_POLICIES))).default("round_robin"),
    metadata,
    healthCheck: healthCheck.optional(),
    mtls: z.enum(MTLS_MODES, rule(oneOf(MTLS_MODES))).default("off"),
    intentions: intentions.optional(),
  },
  BODY_RULE,
);

const intentionBody = z.strictObject({ action: intentionAction }, BODY_RULE);

const instanceBody = z.strictObject(
  {
    address: z
      .string(rule(ADDRESS_RULE))
      .refine((address) => isIP(address) !== 0, rule(ADDRESS_RULE))
      .superRefine((address, ctx) => {
        const why = unusableAddress(address);
        if (why !== undefined) ctx.addIssue({ code: "custom", message: `${show(address)} ${why}; allowed: ${USABLE_ADDRESS_RULE}` });
      }),
    port: z.int(rule(PORT_RULE)).min(1, rule(PORT_RULE)).max(65535, rule(PORT_RULE)),
    zone: locality,
    region: locality,
    weight: z.int(rule(WEIGHT_RULE)).min(1, rule(WEIGHT_RULE)).max(10000, rule(WEIGHT_RULE)).default(1),
    health: z.enum(HEALTH_STATES, rule(oneOf(HEALTH_STATES))).default("healthy"),
    metadata,
    ttlMs: z.int(rule(TTL_RULE)).min(1000, rule(TTL_RULE)).max(86_400_000, rule(TTL_RULE)).optional(),
  },
  BODY_RULE,
);

/** The fields each strict object of a body allows, by the object's path (`""` for the body itself). */
type AllowedFields = Readonly<Record<string, readonly string[]>>;

const SERVICE_FIELDS: AllowedFields = { "": Object.keys(serviceBody.shape), healthCheck: Object.keys(healthCheckShape) };
const INSTANCE_FIELDS: AllowedFields = { "": Object.keys(instanceBody.shape) };
const INTENTION_FIELDS: AllowedFields = { "": Object.keys(intentionBody.shape) };

/** Flattens zod issues into ours: one per unknown field or bad key, without repeats. */
function toIssues(error: z.ZodError, allowedFields: AllowedFields): Issue[] {
  const issues: Issue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedFields[formatPath(issue.path)] ?? [];
      for (const key of issue.keys) {
        issues.push({ path: formatPath([...issue.path, key]), message: `unknown field; allowed fields are ${allowed.join(", ")}` });
      }
    } else if (issue.code === "invalid_key") {
      issues.push({ path: formatPath(issue.path.slice(0, -1)), message: issue.issues[0]?.message ?? issue.message });
    } else {
      issues.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\n${issue.message}`;
    return !seen.has(key) && seen.add(key);
  });
}

function nameIssues(names: Readonly<Record<"service" | "id", string | undefined>>): Issue[] {
  const issues: Issue[] = [];
  for (const [path, value] of Object.entries(names)) {
    if (value === undefined) continue;
    const result = dnsLabel.safeParse(value);
    if (!result.success) issues.push({ path, message: result.error.issues[0]?.message ?? DNS_LABEL_RULE });
  }
  return issues;
}

/**
 * Checks a service name and, when given, an instance id. Throws a
 * ValidationError (paths `service` and `id`) when either is not a DNS label.
 */
export function checkNames(service: string, id?: string): void {
  const issues = nameIssues({ service, id });
  if (issues.length > 0) throw new ValidationError(issues);
}

/**
 * Validates the body of `PUT /v1/services/{name}` and fills in defaults
 * (protocol `grpc`, lbPolicy `round_robin`, metadata `{}`, no healthCheck,
 * mtls `off`; a healthCheck's own defaults are listed above). `intentions`
 * is in the result only when the body has it (the registry keeps the stored
 * ones otherwise). Throws one ValidationError listing every problem; the
 * name's path is `service`.
 */
export function parseServiceBody(name: string, body: unknown): Service {
  const issues = nameIssues({ service: name, id: undefined });
  const result = serviceBody.safeParse(body);
  if (!result.success) issues.push(...toIssues(result.error, SERVICE_FIELDS));
  if (issues.length > 0 || !result.success) throw new ValidationError(issues);
  const { protocol, lbPolicy, metadata: entries, healthCheck: check, mtls, intentions: given } = result.data;
  return { name, protocol, lbPolicy, metadata: entries, ...(check !== undefined && { healthCheck: check }), mtls, ...(given !== undefined && { intentions: given }) };
}

/**
 * Checks the names of `PUT|DELETE /v1/services/{destination}/intentions/{source}`
 * (paths `destination` and `source`; the source may be "*") and, when given,
 * the PUT body `{"action": "allow"|"deny"}`. Throws one ValidationError
 * listing every problem; returns the action (undefined without a body).
 */
export function parseIntention(destination: string, source: string, body?: unknown): IntentionAction | undefined {
  const issues: Issue[] = [];
  const destinationCheck = dnsLabel.safeParse(destination);
  if (!destinationCheck.success) issues.push({ path: "destination", message: destinationCheck.error.issues[0]?.message ?? DNS_LABEL_RULE });
  if (!intentionSource.safeParse(source).success) issues.push({ path: "source", message: `must be ${INTENTION_SOURCE_RULE}, got ${show(source)}` });
  if (body === undefined) {
    if (issues.length > 0) throw new ValidationError(issues);
    return undefined;
  }
  const result = intentionBody.safeParse(body);
  if (!result.success) issues.push(...toIssues(result.error, INTENTION_FIELDS));
  if (issues.length > 0 || !result.success) throw new ValidationError(issues);
  return result.data.action;
}

/**
 * Validates the body of `PUT /v1/services/{service}/instances/{id}` and
 * fills in defaults (zone and region `""`, weight 1, health `healthy`,
 * metadata `{}`, no ttlMs). Throws one ValidationError listing every problem.
 */
export function parseInstanceBody(service: string, id: string, body: unknown): Instance {
  const issues = nameIssues({ service, id });
  const result = instanceBody.safeParse(body);
  if (!result.success) issues.push(...toIssues(result.error, INSTANCE_FIELDS));
  if (issues.length > 0 || !result.success) throw new ValidationError(issues);
  const { address, port, zone, region, weight, health, metadata: entries, ttlMs } = result.data;
  return { service, id, address, port, zone, region, weight, health, metadata: entries, ...(ttlMs !== undefined && { ttlMs }) };
}
