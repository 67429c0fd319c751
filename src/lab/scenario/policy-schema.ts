import { z } from "zod";
import { GRPC_CODE_NAMES, MAX_ATTEMPTS, RETRY_CODES } from "../../registry/index.js";
import { oneOf, rule } from "./issues.js";
import { intIn, label, list, numberIn, object } from "./schema-parts.js";

/**
 * The shape of a traffic policy written inline in a scenario (a `policy`
 * timeline entry), with the field names of DESIGN.md's "Traffic policy"
 * contract. The control plane validates the policy again when the lab
 * applies it; checking here as well means a mistake is found when the
 * scenario loads, not minutes into a run. Rules that join fields (subsets
 * that exist, weights that add up) are in policy-checks.ts.
 */

const KEY_RULE = "a metadata key: 1–63 characters";
const metadataKey = z.string(rule(KEY_RULE)).min(1, rule(KEY_RULE)).max(63, rule(KEY_RULE));
/** Values are strings: a YAML `version: 2` must be quoted, as instance metadata is text. */
export const metadataSchema = z.record(metadataKey, z.string(rule('a string (quote numbers: version: "2")')), rule("an object of string keys to string values"));

const METHOD_RULE = 'a method path, "/package.Service/Method"';
const PREFIX_RULE = 'a path prefix starting with "/"';
const HEADER_RULE = "a header name: lower case [a-z0-9-_.], not starting with ':'";
const headerName = z.string(rule(HEADER_RULE)).regex(/^[a-z0-9_.][a-z0-9_.-]*$/, rule(HEADER_RULE));

export const headerMatchSchema = object({
  exact: z.string(rule("a string")).optional(),
  prefix: z.string(rule("a string")).min(1, rule("a non-empty string")).optional(),
  regex: z.string(rule("an RE2 regular expression")).optional(),
  present: z.literal(true, rule("true")).optional(),
  invert: z.boolean(rule("true or false")).optional(),
});

export const routeMatchSchema = object({
  method: z.string(rule(METHOD_RULE)).regex(/^\/[^/\s]+\/[^/\s]+$/, rule(METHOD_RULE)).optional(),
  prefix: z.string(rule(PREFIX_RULE)).startsWith("/", rule(PREFIX_RULE)).optional(),
  headers: z.record(headerName, headerMatchSchema, rule("an object of header names to matches")).optional(),
});

export const targetSchema = object({ subset: label, weight: intIn(0, 100).optional() });

export const retrySchema = object({
  on: list(z.enum(RETRY_CODES, rule(`a retry code, ${oneOf(RETRY_CODES)}`)), "retry codes").min(1, { error: "must list at least one retry code" }),
  attempts: intIn(2, MAX_ATTEMPTS),
  backoff: object({ baseMs: intIn(1, 60_000), maxMs: intIn(1, 600_000) }).optional(),
});

const percent = numberIn(0, 100);
export const faultSchema = object({
  delay: object({ ms: intIn(0, 600_000), percent }).optional(),
  abort: object({ code: z.enum(GRPC_CODE_NAMES, rule(`a gRPC status name other than OK (${GRPC_CODE_NAMES.join(", ")})`)), percent }).optional(),
});

export const subsetSchema = object({ name: label, match: metadataSchema });

export const routeSchema = object({
  match: routeMatchSchema.default({}),
  to: list(targetSchema, "{subset, weight} targets").min(1, { error: "must list at least one target" }),
  timeoutMs: intIn(1, 3_600_000).optional(),
  retry: retrySchema.optional(),
  fault: faultSchema.optional(),
});

export const policySchema = object({
  subsets: list(subsetSchema, "{name, match} subsets").default([]),
  routes: list(routeSchema, "routes").default([]),
});

export type RawPolicy = z.output<typeof policySchema>;

/** The objects of a policy by their path below the policy, for "unknown field" messages (`[]` for list items). */
export const POLICY_OBJECTS: Readonly<Record<string, z.ZodObject>> = {
  "": policySchema,
  "subsets[]": subsetSchema,
  "routes[]": routeSchema,
  "routes[].match": routeMatchSchema,
  "routes[].to[]": targetSchema,
  "routes[].retry": retrySchema,
  "routes[].retry.backoff": retrySchema.shape.backoff.unwrap(),
  "routes[].fault": faultSchema,
  "routes[].fault.delay": faultSchema.shape.delay.unwrap(),
  "routes[].fault.abort": faultSchema.shape.abort.unwrap(),
};
