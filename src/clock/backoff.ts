import { show, ValidationError, type Issue } from "../errors/index.js";

/**
 * The one jittered exponential backoff of steadymesh: the resolver's
 * reconnects, etcd's watch stream (through etcd3's IBackoff shape) and the
 * lab's retrying users. Jitter spreads the retries of many clients that lost
 * the same server at the same moment, so its recovery is not met by a
 * synchronized stampede. Pure: it computes delays; the caller schedules them
 * on its Clock.
 */

export interface BackoffOptions {
  /** Base delay of the first attempt (default 500 ms). */
  readonly initialMs?: number;
  /** The base delay never grows past this (default 30 000 ms). */
  readonly maxMs?: number;
  /** Growth of the base delay per attempt (default 1.6). */
  readonly multiplier?: number;
  /** Each delay is the base times a factor drawn uniformly from [1 - jitter, 1 + jitter) (0–1, default 0.2). */
  readonly jitter?: number;
  /**
   * Whether jitter may take a delay above maxMs, up to maxMs · (1 + jitter)
   * (default false: no delay is ever longer than maxMs). The lab's users
   * retry that way: jitter stays symmetric around the capped base.
   */
  readonly jitterAboveMax?: boolean;
  /** A source of numbers in [0, 1); inject a fixed one for deterministic tests. */
  readonly random?: () => number;
}

export interface Backoff {
  /**
   * The delay before the next attempt, in whole milliseconds: the base
   * (initialMs · multiplier^n, at most maxMs) with jitter applied, then
   * capped at maxMs unless `jitterAboveMax`. Each call advances n and draws
   * one number from `random`.
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
  const jitterAboveMax = options.jitterAboveMax ?? false;
  const random = options.random ?? Math.random;
  checkOptions({ initialMs, maxMs, multiplier, jitter, jitterAboveMax, random });
  const ceiling = jitterAboveMax ? Number.POSITIVE_INFINITY : maxMs;
  let base = initialMs;
  return {
    next() {
      // Clamped so a faulty random source cannot produce a negative or unbounded delay.
      const r = Math.min(Math.max(random(), 0), 1);
      const delay = Math.round(Math.min(base, maxMs) * (1 + jitter * (2 * r - 1)));
      base = Math.min(base * multiplier, maxMs);
      return Math.max(0, Math.min(delay, ceiling));
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
  if (!finite(o.jitter) || o.jitter < 0 || o.jitter > 1) issues.push({ path: "jitter", message: `must be a number from 0 to 1, got ${show(o.jitter)}` });
  if (typeof o.jitterAboveMax !== "boolean") issues.push({ path: "jitterAboveMax", message: `must be true or false, got ${show(o.jitterAboveMax)}` });
  if (typeof o.random !== "function") issues.push({ path: "random", message: `must be a function, got ${show(o.random)}` });
  if (issues.length > 0) throw new ValidationError(issues);
}
