import { z } from "zod";
import { ValidationError, type Issue } from "../../errors/index.js";
import { parsePolicyBody, type TrafficPolicy } from "../../registry/index.js";
import { show } from "./issues.js";

/**
 * The `policy` of a timeline entry: a traffic policy written inline, with
 * the field names of DESIGN.md's "Traffic policy" contract. The document is
 * checked by the registry's own parser (parsePolicyBody), the one the
 * control plane runs when the lab applies it, so a mistake is found when the
 * scenario loads, in the same words, not minutes into a run. The lab owns
 * only the envelope: an object of the policy's fields (FIELDS), whose service is the
 * entry's `service` field. Lab-only rules (subsets that match an instance
 * the topology starts) are in policy-checks.ts.
 */

const FIELDS = ["subsets", "routes", "outlierDetection", "maxRequests", "loadBalancing", "dnsFallback", "failover"] as const;

/**
 * The registry's parser needs a service name; the envelope never carries
 * one (a `service` key is refused below), so this name only labels a result
 * the lab throws away, keeping the policy.
 */
const UNNAMED = "inline";

/** Problems of the envelope; issue paths are below the policy ("" for the policy itself). */
function envelopeIssues(value: unknown): Issue[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return [{ path: "", message: `must be an object {${FIELDS.join(", ")}}, got ${value === undefined ? "nothing" : show(value)}` }];
  }
  return Object.keys(value)
    .filter((key) => !(FIELDS as readonly string[]).includes(key))
    .map((key) => ({ path: key, message: `unknown field; allowed fields are ${FIELDS.join(", ")}${key === "service" ? " (the entry's own service field names the service)" : ""}` }));
}

/** The registry's issues, or rethrows what is not a validation problem (a bug, not bad input). */
function registryIssues(value: object): { policy?: TrafficPolicy; issues: readonly Issue[] } {
  const body = Object.fromEntries(FIELDS.filter((key) => Object.hasOwn(value, key)).map((key) => [key, (value as Record<string, unknown>)[key]]));
  try {
    return { policy: parsePolicyBody(UNNAMED, body).policy, issues: [] };
  } catch (err) {
    if (err instanceof ValidationError) return { issues: err.issues };
    throw err;
  }
}

/** Parses to the canonical TrafficPolicy (a lone target weighs 100); each issue's path continues the entry's (`timeline[i].policy.` + the registry's path). */
export const inlinePolicySchema = z.unknown().transform((value, ctx): TrafficPolicy => {
  const envelope = envelopeIssues(value);
  const { policy, issues } = typeof value === "object" && value !== null && !Array.isArray(value) ? registryIssues(value) : { issues: [] };
  const all = [...envelope, ...issues];
  for (const issue of all) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path === "" ? [] : [issue.path] });
  return all.length === 0 && policy ? policy : z.NEVER;
});
