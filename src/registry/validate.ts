import { isIP } from "node:net";
import { z } from "zod";
import { ValidationError, formatPath, oneOf, rule, show, type Issue } from "../errors/index.js";
import { HEALTH_STATES, LB_POLICIES, PROTOCOLS, type Instance, type Service } from "./model.js";

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

const BODY_RULE = { error: (issue: { input?: unknown }) => `body: must be a JSON object, got ${issue.input === undefined ? "no body" : show(issue.input)}` };

const serviceBody = z.strictObject(
  {
    protocol: z.enum(PROTOCOLS, rule(oneOf(PROTOCOLS))).default("grpc"),
    lbPolicy: z.enum(LB_POLICIES, rule(oneOf(LB_POLICIES))).default("round_robin"),
    metadata,
  },
  BODY_RULE,
);

const instanceBody = z.strictObject(
  {
    address: z.string(rule(ADDRESS_RULE)).refine((address) => isIP(address) !== 0, rule(ADDRESS_RULE)),
    port: z.int(rule(PORT_RULE)).min(1, rule(PORT_RULE)).max(65535, rule(PORT_RULE)),
    zone: locality,
    region: locality,
    weight: z.int(rule(WEIGHT_RULE)).min(1, rule(WEIGHT_RULE)).max(10000, rule(WEIGHT_RULE)).default(1),
    health: z.enum(HEALTH_STATES, rule(oneOf(HEALTH_STATES))).default("healthy"),
    metadata,
  },
  BODY_RULE,
);

/** Flattens zod issues into ours: one per unknown field or bad key, without repeats. */
function toIssues(error: z.ZodError, allowedFields: readonly string[]): Issue[] {
  const issues: Issue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        issues.push({ path: formatPath([...issue.path, key]), message: `unknown field; allowed fields are ${allowedFields.join(", ")}` });
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
 * (protocol `grpc`, lbPolicy `round_robin`, metadata `{}`). Throws one
 * ValidationError listing every problem; the name's path is `service`.
 */
export function parseServiceBody(name: string, body: unknown): Service {
  const issues = nameIssues({ service: name, id: undefined });
  const result = serviceBody.safeParse(body);
  if (!result.success) issues.push(...toIssues(result.error, Object.keys(serviceBody.shape)));
  if (issues.length > 0 || !result.success) throw new ValidationError(issues);
  const { protocol, lbPolicy, metadata: entries } = result.data;
  return { name, protocol, lbPolicy, metadata: entries };
}

/**
 * Validates the body of `PUT /v1/services/{service}/instances/{id}` and
 * fills in defaults (zone and region `""`, weight 1, health `healthy`,
 * metadata `{}`). Throws one ValidationError listing every problem.
 */
export function parseInstanceBody(service: string, id: string, body: unknown): Instance {
  const issues = nameIssues({ service, id });
  const result = instanceBody.safeParse(body);
  if (!result.success) issues.push(...toIssues(result.error, Object.keys(instanceBody.shape)));
  if (issues.length > 0 || !result.success) throw new ValidationError(issues);
  const { address, port, zone, region, weight, health, metadata: entries } = result.data;
  return { service, id, address, port, zone, region, weight, health, metadata: entries };
}
