import { SteadyError } from "../errors/index.js";

/** A cache target name that could escape the cache directory or collide with temp files. */
export class InvalidCacheTargetError extends SteadyError {
  readonly target: string;
  constructor(target: string) {
    super(
      "invalid-argument",
      `cache target ${JSON.stringify(target)} is not allowed; use 1–200 characters of [a-z0-9._-] starting with a letter or digit`,
    );
    this.target = target;
  }
}

/** An attempt to persist an empty endpoint list; an empty list is never last-known-good. */
export class EmptyEndpointsError extends SteadyError {
  readonly target: string;
  constructor(target: string) {
    super("invalid-argument", `refusing to cache an empty endpoint list for ${JSON.stringify(target)}; an empty list is never last-known-good`);
    this.target = target;
  }
}

/** The cache file could not be written (the previous file stays in place), or its rename could not be made durable. */
export class CacheWriteError extends SteadyError {
  readonly path: string;
  constructor(path: string, cause: unknown) {
    super("unavailable", `cannot write endpoint cache ${path}: ${describeCause(cause)}`, { cause });
    this.path = path;
  }
}

/** `ENOSPC: no space left on device, write` for a Node system error, the message otherwise. */
export function describeCause(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
