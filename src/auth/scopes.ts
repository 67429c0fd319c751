import { ValidationError, show } from "../errors/index.js";

/**
 * What a token may do (README, "Security → admin API tokens"):
 * - `read`: every GET route and `/metrics`;
 * - `write`: registering and deleting services and instances, heartbeats,
 *   policies, and everything `read` may (an operator who may change the
 *   registry expects to see it: write ⊇ read);
 * - `operator`: approve, rollback, faults, tokens, and everything else
 *   (operator ⊇ write ⊇ read, and it may obtain any service's certificate);
 * - `identity:<service>`: obtaining that one service's certificate, nothing
 *   else; a workload holds it, not an operator.
 */
export type Scope = "read" | "write" | "operator" | `identity:${string}`;

/** What one route needs: a level, or the identity of the service the request is for. */
export type Need = "read" | "write" | "operator" | { readonly identity: string };

/** For messages: the scopes a token may have. */
export const SCOPE_FORMS = "read, write, operator or identity:<service> (service: a DNS label)";

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Parses a scope; ValidationError on `path` (default `scope`) naming the allowed forms. */
export function parseScope(value: unknown, path = "scope"): Scope {
  if (value === "read" || value === "write" || value === "operator") return value;
  if (typeof value === "string" && value.startsWith("identity:") && DNS_LABEL.test(value.slice("identity:".length))) return value as Scope;
  throw new ValidationError([{ path, message: `must be ${SCOPE_FORMS}, got ${show(value)}` }]);
}

const LEVEL: Record<"read" | "write" | "operator", number> = { read: 1, write: 2, operator: 3 };

/** Whether a token of scope `granted` may do what needs `need`. */
export function allows(granted: Scope, need: Need): boolean {
  if (granted === "operator") return true;
  if (typeof need === "object") return granted === `identity:${need.identity}`;
  if (granted === "read" || granted === "write") return LEVEL[granted] >= LEVEL[need];
  return false;
}

/** The scope a Need names, for messages: `write`, `identity:checkout`. */
export function describeNeed(need: Need): string {
  return typeof need === "object" ? `identity:${need.identity}` : need;
}
