import type { Clock } from "../clock/index.js";

/** Failed logins allowed per remote address per window before 429. */
export const LOGIN_FAILURES_ALLOWED = 10;
export const LOGIN_WINDOW_MS = 60_000;
/** Addresses remembered at once; the oldest is forgotten first. */
const MAX_ADDRESSES = 10_000;

/**
 * Slows down token guessing through the login form: after 10 failed logins
 * from one address in a minute, further attempts get 429 until the minute
 * that began with the first failure is over. A token is 256 random bits, so
 * this is about log noise and load, not about the odds.
 */
export interface LoginLimiter {
  /** Milliseconds until `address` may try again; 0 when it may now. */
  retryAfterMs(address: string): number;
  recordFailure(address: string): void;
}

export function createLoginLimiter(options: { readonly clock?: Pick<Clock, "now">; readonly allowed?: number; readonly windowMs?: number } = {}): LoginLimiter {
  const now = options.clock ? () => options.clock!.now() : () => Date.now();
  const allowed = options.allowed ?? LOGIN_FAILURES_ALLOWED;
  const windowMs = options.windowMs ?? LOGIN_WINDOW_MS;
  const windows = new Map<string, { start: number; failures: number }>();

  function current(address: string): { start: number; failures: number } | undefined {
    const window = windows.get(address);
    if (window && now() - window.start >= windowMs) {
      windows.delete(address);
      return undefined;
    }
    return window;
  }

  return {
    retryAfterMs(address) {
      const window = current(address);
      return window && window.failures >= allowed ? window.start + windowMs - now() : 0;
    },
    recordFailure(address) {
      const window = current(address);
      if (window) {
        window.failures += 1;
        return;
      }
      if (windows.size >= MAX_ADDRESSES) {
        const oldest = windows.keys().next().value;
        if (oldest !== undefined) windows.delete(oldest);
      }
      windows.set(address, { start: now(), failures: 1 });
    },
  };
}
