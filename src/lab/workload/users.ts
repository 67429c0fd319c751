import { createBackoff, type Backoff, type Clock } from "../../clock/index.js";

/** What one request to a gateway came back with. */
export interface Outcome {
  readonly ok: boolean;
  /** gRPC status name (e.g. `UNAVAILABLE`) or HTTP status (`401`), for failures. */
  readonly code?: string;
}

export interface UserPoolOptions {
  readonly users: number;
  /** Share of users that start logged in (they stream music with `me`). */
  readonly loggedInShare: number;
  /** New login attempts per real second, from logged-out users (retries come on top). */
  readonly loginRatePerSec: number;
  /** Each logged-in user's `me` calls per real second. */
  readonly meRatePerSec: number;
  readonly retry: { readonly baseMs: number; readonly maxMs: number; readonly jitter: number };
  readonly clock: Clock;
  readonly rng: () => number;
  readonly login: (user: number) => Promise<Outcome>;
  readonly me: (user: number) => Promise<Outcome>;
  /** Called for every finished request. */
  readonly record: (kind: "login" | "me", outcome: Outcome) => void;
}

export interface UserPool {
  /** Logs every logged-in user out (a gateway restart loses sessions, as on the day). */
  logOutAll(): void;
  loggedIn(): number;
  stop(): void;
}

/**
 * Virtual users of one cohort. Users log in at `loginRatePerSec` (logged-out
 * users first; when there are none, a logged-in user's session ends); a failed login is retried by the same user after a
 * jittered exponential backoff, so an outage builds a retry herd that hits
 * the system when login comes back. Logged-in users call `me` steadily.
 */
export function startUserPool(options: UserPoolOptions): UserPool {
  const { clock, rng } = options;
  const loggedIn = new Set<number>();
  const waiting = new Set<number>(); // logged out, waiting for their turn or a retry
  const retrying = new Map<number, Backoff>(); // users whose last login failed
  // A retry waits min(maxMs, baseMs·2^n) ± jitter of that, as scenarios define it.
  const retryOptions = { initialMs: options.retry.baseMs, maxMs: options.retry.maxMs, multiplier: 2, jitter: options.retry.jitter, jitterAboveMax: true, random: rng };
  // Checked here, so bad options throw from startUserPool rather than later inside a login's promise.
  createBackoff(retryOptions);
  const timers = new Set<() => void>();
  let stopped = false;

  for (let u = 0; u < options.users; u++) (rng() < options.loggedInShare ? loggedIn : waiting).add(u);

  function later(ms: number, fn: () => void): void {
    const cancel = clock.setTimeout(() => {
      timers.delete(cancel);
      if (!stopped) fn();
    }, ms);
    timers.add(cancel);
  }

  function attempt(user: number): void {
    waiting.delete(user);
    void options.login(user).then((outcome) => {
      if (stopped) return;
      options.record("login", outcome);
      if (outcome.ok) {
        retrying.delete(user);
        loggedIn.add(user);
        return;
      }
      const backoff = retrying.get(user) ?? createBackoff(retryOptions);
      retrying.set(user, backoff);
      later(backoff.next(), () => attempt(user));
    });
  }

  function pickWaiting(): number | undefined {
    const fresh = [...waiting].filter((u) => !retrying.has(u));
    return fresh.length > 0 ? fresh[Math.floor(rng() * fresh.length)] : undefined;
  }

  const loginEveryMs = 1000 / Math.max(options.loginRatePerSec, 1e-9);
  function loginTick(): void {
    // With nobody waiting, a logged-in user's session ends and they log in again:
    // the stream of logins never dries up.
    let user = pickWaiting();
    if (user === undefined && loggedIn.size > 0) {
      const users = [...loggedIn];
      user = users[Math.floor(rng() * users.length)]!;
      loggedIn.delete(user);
    }
    if (user !== undefined) attempt(user);
    later(loginEveryMs, loginTick);
  }

  // The whole pool calls `me` at meRatePerSec per logged-in user (one user when none is).
  const meEveryMs = () => 1000 / Math.max(options.meRatePerSec * Math.max(loggedIn.size, 1), 1e-9);
  function meTick(): void {
    const users = [...loggedIn];
    if (users.length > 0) {
      const user = users[Math.floor(rng() * users.length)]!;
      void options.me(user).then((outcome) => !stopped && options.record("me", outcome));
    }
    later(meEveryMs(), meTick);
  }

  if (options.loginRatePerSec > 0) later(rng() * loginEveryMs, loginTick);
  if (options.meRatePerSec > 0) later(rng() * meEveryMs(), meTick);

  return {
    logOutAll() {
      for (const u of loggedIn) waiting.add(u);
      loggedIn.clear();
    },
    loggedIn: () => loggedIn.size,
    stop() {
      stopped = true;
      for (const cancel of timers) cancel();
      timers.clear();
    },
  };
}
