/**
 * Every timer in steadymesh goes through a Clock, so unit tests can advance
 * time by hand instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms`; the returned function cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
}

export { createBackoff, type Backoff, type BackoffOptions } from "./backoff.js";

/** The real clock, backed by Date.now and timers that do not keep the process alive. */
export function createSystemClock(): Clock {
  return {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const timer = setTimeout(fn, ms);
      return () => clearTimeout(timer);
    },
  };
}
