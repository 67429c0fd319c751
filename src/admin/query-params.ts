import { ValidationError, show, type Issue } from "../errors/index.js";
import { clip } from "../log/index.js";

/** A query parameter given at most once; a repeated one is added to `issues` (and read as absent). */
export function single(raw: Record<string, unknown>, name: string, issues: Issue[]): string | undefined {
  const value = raw[name];
  if (Array.isArray(value)) {
    issues.push({ path: name, message: `must be given at most once, got ${value.length} values` });
    return undefined;
  }
  return typeof value === "string" ? value : undefined;
}

/** What a paged route accepts: how many per page, and the cursor's form. */
export interface PageQueryRules {
  readonly defaultLimit: number;
  readonly maxLimit: number;
  /** A valid `after` (the `next` of the previous page). */
  readonly after: RegExp;
  /** What `after` must be, for the error: "a stream id such as s42". */
  readonly afterIs: string;
  /** Other parameters the route reads itself (not checked here, only allowed). */
  readonly extra?: readonly string[];
}

/**
 * `?limit=&after=` of a paged route, the whole query string checked at once:
 * ValidationError names every bad or unknown parameter and what is allowed.
 */
export function parsePageQuery(query: unknown, rules: PageQueryRules): { limit: number; after?: string } {
  const raw = (typeof query === "object" && query !== null ? query : {}) as Record<string, unknown>;
  const issues: Issue[] = [];
  const allowed = ["limit", "after", ...(rules.extra ?? [])];
  const allowedText = `${allowed.slice(0, -1).join(", ")} and ${allowed.at(-1)}`;
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) issues.push({ path: clip(key, 64), message: `unknown query parameter; allowed are ${allowedText}` });
  }
  const limit = single(raw, "limit", issues);
  const after = single(raw, "after", issues);
  let n = rules.defaultLimit;
  if (limit !== undefined) {
    n = /^\d{1,7}$/.test(limit) ? Number(limit) : Number.NaN;
    if (!(n >= 1 && n <= rules.maxLimit)) issues.push({ path: "limit", message: `must be an integer from 1 to ${rules.maxLimit}, got ${show(limit)}` });
  }
  if (after !== undefined && !rules.after.test(after)) issues.push({ path: "after", message: `must be ${rules.afterIs} (the next of the previous page), got ${show(after)}` });
  if (issues.length > 0) throw new ValidationError(issues);
  return { limit: n, ...(after !== undefined && { after }) };
}
