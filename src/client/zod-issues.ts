import type { z } from "zod";
import type { Issue } from "../errors/index.js";

export { show, rule, formatPath } from "../errors/index.js";
import { formatPath } from "../errors/index.js";

/** Flattens zod issues into ours, one per unknown key, without repeats. */
export function issuesFrom(error: z.ZodError, allowedKeys: (path: readonly PropertyKey[]) => readonly string[]): Issue[] {
  const issues: Issue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeys(issue.path).join(", ");
      for (const key of issue.keys) issues.push({ path: formatPath([...issue.path, key]), message: `unknown option; allowed are ${allowed}` });
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
