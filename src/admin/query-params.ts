import type { Issue } from "../errors/index.js";

/** A query parameter given at most once; a repeated one is added to `issues` (and read as absent). */
export function single(raw: Record<string, unknown>, name: string, issues: Issue[]): string | undefined {
  const value = raw[name];
  if (Array.isArray(value)) {
    issues.push({ path: name, message: `must be given at most once, got ${value.length} values` });
    return undefined;
  }
  return typeof value === "string" ? value : undefined;
}
