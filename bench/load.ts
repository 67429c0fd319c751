/**
 * A closed-loop load generator: `concurrency` workers, each starting its
 * next call as soon as the previous one settles, until `durationMs` has
 * passed. Used by the registry and resolver sections; the rate is the calls
 * that succeeded over the time the loop ran (including the last in-flight
 * calls, which are awaited).
 */

export interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly elapsedMs: number;
  /** Successful calls per second. */
  readonly rate: number;
  /** The first failure's message, if any. */
  readonly firstError?: string;
}

export async function closedLoop(concurrency: number, durationMs: number, call: (seq: number) => Promise<void>): Promise<LoadResult> {
  let seq = 0;
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const deadline = start + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      try {
        await call(seq++);
        ok++;
      } catch (err) {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - start;
  return { ok, failed, elapsedMs, rate: (ok * 1000) / elapsedMs, ...(firstError !== undefined && { firstError }) };
}
