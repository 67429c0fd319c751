import type { z } from "zod";
import type { Issue } from "../../errors/index.js";

/** Longest rendering of a bad value inside a message. */
const MAX_SHOWN = 40;

/** A bad value as a message shows it: JSON, cut to a readable length. */
export function show(value: unknown): string {
  // Strings are cut inside the quotes, so the message still shows where the value ends.
  if (typeof value === "string") return JSON.stringify(value.length > MAX_SHOWN - 2 ? `${value.slice(0, MAX_SHOWN - 3)}…` : value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // YAML can hold values JSON cannot (a cycle through an alias); String() still gives a readable message.
    text = String(value);
  }
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text;
}

/** A zod `error` option whose message names the rule and shows the value that broke it. */
export function rule(allowed: string): { error: (issue: { input?: unknown }) => string } {
  return {
    error: (issue) => (issue.input === undefined ? `is required; must be ${allowed}` : `must be ${allowed}, got ${show(issue.input)}`),
  };
}

export function oneOf(values: readonly string[]): string {
  return `one of ${values.join(", ")}`;
}

/** `timeline[3].at`, `workload.retry.baseMs`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`;
  return out;
}

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
