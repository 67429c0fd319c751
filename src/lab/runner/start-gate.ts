import { availableParallelism } from "node:os";

/**
 * Lets process starts through at most `limit` at a time. A demo process is
 * ready after about a second of CPU; twenty of them started at once on two
 * cores share that CPU, so each takes twenty times longer and the ready
 * timeout (and a gateway's "came up" time) measures the crowd, not the
 * process. Through the gate, each start takes about as long as it would
 * alone, and the whole set no longer than before.
 */
export interface StartGate {
  /** Runs `start` once fewer than `limit` starts are running; its result or error is passed through. */
  run<T>(start: () => Promise<T>): Promise<T>;
}

/** `limit` defaults to the machine's parallelism (at least 2). */
export function createStartGate(limit = Math.max(2, availableParallelism())): StartGate {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  let running = 0;
  const waiting: Array<() => void> = [];
  // A finished start hands its slot straight to the next waiter, so no newcomer can slip in between.
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  };
  return {
    async run(start) {
      if (running < limit) running += 1;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await start();
      } finally {
        release();
      }
    },
  };
}
