/** Stable machine-readable error codes; each edge (HTTP, gRPC, DNS, CLI) maps them to its own status. */
export type ErrorCode =
  | "invalid-argument"
  | "not-found"
  | "conflict"
  | "unavailable"
  | "unauthenticated"
  | "permission-denied"
  | "internal";

/** One problem found while validating input, with the path of the offending field. */
export interface Issue {
  /** Dotted path such as `port` or `metadata.team`; empty for the whole value. */
  path: string;
  message: string;
}

/** Base class of every error steadymesh raises on purpose. */
export class SteadyError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Input that breaks one or more rules; `issues` lists every problem at once. */
export class ValidationError extends SteadyError {
  readonly issues: readonly Issue[];
  constructor(issues: readonly Issue[], options?: { cause?: unknown }) {
    super("invalid-argument", formatIssues(issues), options);
    this.issues = issues;
  }
}

/** The named thing does not exist. */
export class NotFoundError extends SteadyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("not-found", message, options);
  }
}

/** The request is well-formed but the thing is not in a state that allows it (approving a generation that is not held). */
export class ConflictError extends SteadyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("conflict", message, options);
  }
}

/** The backing store cannot be reached or refused the operation. */
export class UnavailableError extends SteadyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unavailable", message, options);
  }
}

/** No credentials, or credentials that are not valid (unknown, expired). */
export class UnauthenticatedError extends SteadyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unauthenticated", message, options);
  }
}

/** Valid credentials that do not allow the operation. */
export class PermissionDeniedError extends SteadyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("permission-denied", message, options);
  }
}

/** `port: must be an integer from 1 to 65535, got 0; address: …` */
export function formatIssues(issues: readonly Issue[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
}
export { show, rule, oneOf, formatPath } from "./show.js";
