/** Runs async operations one at a time, in call order. */
export interface SerialQueue {
  /** Runs `fn` after every operation queued before it; its failure rejects this call only. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Resolves once every operation queued so far has ended, whatever its outcome. */
  idle(): Promise<void>;
}

/** A SerialQueue whose operations are refused (rejected, not run) once `closed()` is true when their turn comes. */
export function createSerialQueue(closed: () => boolean): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run(fn) {
      const run = tail.then(() => (closed() ? Promise.reject(new Error("push guard is closed")) : fn()));
      // The caller gets the failure through `run`; the queue only needs to move on.
      tail = run.catch(() => undefined);
      return run;
    },
    async idle() {
      await tail;
    },
  };
}
