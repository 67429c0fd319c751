import { ValidationError, type Issue } from "../errors/index.js";
import { show } from "./zod-issues.js";

/**
 * Jittered exponential backoff for reconnects. Jitter spreads the retries of
 * many clients that lost the control plane at the same moment, so its
 * recovery is not met by a synchronized stampede (INCIDENT.md, lesson 6).
 * Pure: it computes delays; the caller schedules them on its Clock.
 */

export interface BackoffOptions {
  /** Base delay of the first attempt (default 500 ms). */
  readonly initialMs?: number;
  /** No delay is ever longer than this (default 30 000 ms). */
  readonly maxMs?: number;
  /** Growth of the base delay per attempt (default 1.6). */
  readonly multiplier?: number;
  /** Each delay is the base times a factor drawn uniformly from [1 - jitter, 1 + jitter) (default 0.2). */
  readonly jitter?: number;
  /** A source of numbers in [0, 1); inject a fixed one for deterministic tests. */
  readonly random?: () => number;
}

export interface Backoff {
  /**
   * The delay before the next attempt, in whole milliseconds: the base
   * (initialMs · multiplier^n, at most maxMs) with jitter applied, then capped
   * at maxMs. Each call advances n.
   */
  next(): number;
  /** Starts over from initialMs; call it once a connection proved healthy. */
  reset(): void;
}

/** Throws ValidationError listing every bad option. */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initialMs = options.initialMs ?? 500;
  const maxMs = options.maxMs ?? 30_000;
  const multiplier = options.multiplier ?? 1.6;
  const jitter = options.jitter ?? 0.2;
  const random = options.random ?? Math.random;
  checkOptions({ initialMs, maxMs, multiplier, jitter, random });
  let base = initialMs;
  return {
    next() {
      // Clamped so a faulty random source cannot produce a negative or unbounded delay.
      const r = Math.min(Math.max(random(), 0), 1);
      const delay = Math.round(Math.min(base, maxMs) * (1 + jitter * (2 * r - 1)));
      base = Math.min(base * multiplier, maxMs);
      return Math.max(0, Math.min(delay, maxMs));
    },
    reset() {
      base = initialMs;
    },
  };
}

function checkOptions(o: Required<BackoffOptions>): void {
  const issues: Issue[] = [];
  const finite = (v: number): boolean => typeof v === "number" && Number.isFinite(v);
  if (!finite(o.initialMs) || o.initialMs <= 0) issues.push({ path: "initialMs", message: `must be a positive number, got ${show(o.initialMs)}` });
  if (!finite(o.maxMs) || o.maxMs < o.initialMs) issues.push({ path: "maxMs", message: `must be a number ≥ initialMs (${show(o.initialMs)}), got ${show(o.maxMs)}` });
  if (!finite(o.multiplier) || o.multiplier < 1) issues.push({ path: "multiplier", message: `must be a number ≥ 1, got ${show(o.multiplier)}` });
  if (!finite(o.jitter) || o.jitter < 0 || o.jitter >= 1) issues.push({ path: "jitter", message: `must be a number from 0 up to (not including) 1, got ${show(o.jitter)}` });
  if (typeof o.random !== "function") issues.push({ path: "random", message: `must be a function, got ${show(o.random)}` });
  if (issues.length > 0) throw new ValidationError(issues);
}
