import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { inspect } from "node:util";

/**
 * How `waitFor` polls. Real time throughout: this is for integration tests,
 * which wait on servers, processes and sockets. A unit test advances its fake
 * clock instead and has nothing to wait for.
 */
export interface WaitForOptions<T> {
  /** Whether a probed value is the awaited one; by default, whether it is truthy. */
  readonly until?: (value: T) => boolean;
  /** How long to keep probing before failing; 5000 ms by default. */
  readonly timeoutMs?: number;
  /** The pause between the end of one probe and the start of the next; 50 ms by default. */
  readonly intervalMs?: number;
  /** Stops the wait at once, rejecting with the signal's reason (e.g. when the awaited process exits). */
  readonly signal?: AbortSignal;
  /** More for the failure message, on a line of its own: e.g. the tail of a child process's stderr. */
  readonly detail?: () => string;
}

/** A probe is given the time left before the deadline, and never less than this, so a last look near the deadline can finish. */
const MIN_PROBE_MS = 1000;

/** The failure of a wait: names what was awaited and what the last probe saw (its error is the `cause`). */
export class WaitForTimeoutError extends Error {
  override readonly name = "WaitForTimeoutError";
}

type Outcome<T> = { readonly value: T } | { readonly error: unknown } | { readonly running: true };

/**
 * Calls `probe` until it gives a value `until` accepts, and resolves with that
 * value. A probe that throws or rejects is called again, as one that gives an
 * unaccepted value is. After `timeoutMs` it rejects with a WaitForTimeoutError:
 * "timed out after 5000 ms waiting for <what>; last value: …" (or "last
 * error: …", or that the last probe had not finished). It never returns
 * quietly without the awaited value.
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, options: WaitForOptions<T> = {}): Promise<T> {
  const { until = Boolean, timeoutMs = 5000, intervalMs = 50, signal, detail } = options;
  const deadline = performance.now() + timeoutMs;
  let last: Outcome<T> | undefined;
  for (;;) {
    signal?.throwIfAborted();
    const outcome = await settle(probe, Math.max(deadline - performance.now(), MIN_PROBE_MS), signal);
    signal?.throwIfAborted();
    if ("value" in outcome && until(outcome.value)) return outcome.value;
    last = "running" in outcome ? last : outcome;
    const left = deadline - performance.now();
    if ("running" in outcome || left <= 0) throw timedOut(what, timeoutMs, last, "running" in outcome, detail);
    await sleep(Math.min(intervalMs, left), undefined, { signal }).catch((err: unknown) => {
      signal?.throwIfAborted();
      throw err;
    });
  }
}

/** Runs one probe; gives up on it after `budgetMs`, leaving it to finish unobserved. */
async function settle<T>(probe: () => T | Promise<T>, budgetMs: number, signal: AbortSignal | undefined): Promise<Outcome<T>> {
  const stopTimer = new AbortController();
  const onAbort = () => stopTimer.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  const result = Promise.resolve()
    .then(probe)
    .then((value): Outcome<T> => ({ value }), (error: unknown): Outcome<T> => ({ error }));
  const expiry = sleep(budgetMs, undefined, { signal: stopTimer.signal }).then(
    (): Outcome<T> => ({ running: true }),
    // Aborted because the probe settled (its outcome wins the race) or because the caller's signal fired (checked next round).
    (): Outcome<T> => ({ running: true }),
  );
  try {
    return await Promise.race([result, expiry]);
  } finally {
    stopTimer.abort();
    signal?.removeEventListener("abort", onAbort);
  }
}

function timedOut<T>(what: string, timeoutMs: number, last: Outcome<T> | undefined, stillRunning: boolean, detail: (() => string) | undefined): WaitForTimeoutError {
  const parts = [`timed out after ${timeoutMs} ms waiting for ${what}`];
  if (stillRunning) parts.push("the last probe had not finished");
  if (last && "value" in last) parts.push(`last value: ${show(last.value)}`);
  if (last && "error" in last) parts.push(`last error: ${last.error instanceof Error ? last.error.message : show(last.error)}`);
  if (!last) parts.push("no probe finished");
  const message = detail ? `${parts.join("; ")}\n${detail()}` : parts.join("; ");
  return new WaitForTimeoutError(message, last && "error" in last ? { cause: last.error } : undefined);
}

/** Bounded, and readable in a test report: enough to see why the value was not the awaited one. */
function show(value: unknown): string {
  const text = inspect(value, { depth: 6, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 300 });
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}
