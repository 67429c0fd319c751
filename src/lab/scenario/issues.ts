import type { z } from "zod";
import type { Issue } from "../../errors/index.js";

export { show, rule, oneOf, formatPath } from "../../errors/index.js";
import { formatPath } from "../../errors/index.js";

/**
 * Flattens zod issues into ours: one per unknown field, without repeats.
 * `allowedFields` names the fields allowed at a path, for the message.
 */
export function issuesFrom(error: z.ZodError, allowedFields: (path: readonly PropertyKey[], input: unknown) => readonly string[], input: unknown): Issue[] {
  const issues: Issue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedFields(issue.path, valueAt(input, issue.path)).join(", ");
      for (const key of issue.keys) issues.push({ path: formatPath([...issue.path, key]), message: `unknown field; allowed fields are ${allowed}` });
    } else {
      issues.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return dedupe(issues);
}

export function dedupe(issues: readonly Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\n${issue.message}`;
    return !seen.has(key) && seen.add(key);
  });
}

/** The raw value at a zod path, or undefined. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
