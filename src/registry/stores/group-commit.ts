/** What one item of a batch came to: a value, or the error that item alone failed with. */
export type ItemOutcome<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown };

export interface GroupCommit<T, R> {
  /** Queues `item` for the next batch; resolves (or rejects) once that batch is durable. */
  submit(item: T): Promise<R>;
  /** Writes whatever is queued now (close calls it before the backend goes). */
  flush(): void;
  /** Batches written and items in them since the start: for logs, metrics and the durability test. */
  stats(): { readonly batches: number; readonly items: number };
}

/**
 * Group commit: items submitted while the event loop is busy (the requests of
 * one turn, and all that arrive while a batch is written) are written
 * together, so one fsync (one etcd txn) serves many writers. `write` gets the
 * queued items, at most `maxBatch` of them, in submission order and makes
 * them durable in one go; it returns one outcome per item, an item's error
 * leaving the others standing, or throws, failing the whole batch. A batch
 * is written on the next setImmediate after its first item, so a lone write
 * waits no timer.
 */
export function createGroupCommit<T, R>(write: (items: readonly T[]) => readonly ItemOutcome<R>[], maxBatch: number): GroupCommit<T, R> {
  let queue: { item: T; resolve: (value: R) => void; reject: (error: unknown) => void }[] = [];
  let scheduled = false;
  let batches = 0;
  let items = 0;

  function flush(): void {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      let outcomes: readonly ItemOutcome<R>[];
      try {
        outcomes = write(batch.map((entry) => entry.item));
      } catch (error) {
        for (const entry of batch) entry.reject(error);
        continue;
      }
      batches++;
      items += batch.length;
      batch.forEach((entry, i) => {
        const outcome = outcomes[i];
        if (outcome?.ok) entry.resolve(outcome.value);
        else entry.reject(outcome ? outcome.error : new Error("group commit: no outcome for an item"));
      });
      // A long queue is written a batch per turn, so other work (DNS, xDS) runs between batches.
      if (queue.length > 0) {
        schedule();
        return;
      }
    }
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  }

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
    flush,
    stats: () => ({ batches, items }),
  };
}

/** A group commit whose batches are written by an asynchronous call (etcd). */
export interface AsyncGroupCommit<T, R> {
  /** Queues `item` for the next batch; resolves (or rejects) once that batch is durable. */
  submit(item: T): Promise<R>;
  /** Batches written and items in them since the start. */
  stats(): { readonly batches: number; readonly items: number };
}

/**
 * Group commit over an asynchronous `write`, one batch in flight at a time:
 * items submitted in one turn of the event loop, or while a batch is being
 * written, make the next batch. `write` gets at most `maxBatch` queued items
 * in submission order and returns one outcome for each of a leading part of
 * them, at least one (a batch it cannot fit whole, say an etcd txn's limit on
 * operations); the rest go back to the front of the queue for the next
 * batch. If `write` rejects, every item it was given fails with that error.
 */
export function createAsyncGroupCommit<T, R>(write: (items: readonly T[]) => Promise<readonly ItemOutcome<R>[]>, maxBatch: number): AsyncGroupCommit<T, R> {
  type Entry = { item: T; resolve: (value: R) => void; reject: (error: unknown) => void };
  let queue: Entry[] = [];
  let running = false;
  let batches = 0;
  let items = 0;

  async function writeBatch(batch: readonly Entry[]): Promise<number> {
    let outcomes: readonly ItemOutcome<R>[];
    try {
      outcomes = await write(batch.map((entry) => entry.item));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
      return batch.length;
    }
    const done = Math.max(1, Math.min(outcomes.length, batch.length));
    batches++;
    items += done;
    batch.slice(0, done).forEach((entry, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) entry.resolve(outcome.value);
      else entry.reject(outcome ? outcome.error : new Error("group commit: no outcome for an item"));
    });
    return done;
  }

  async function run(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      const done = await writeBatch(batch);
      queue = [...batch.slice(done), ...queue];
    }
    running = false;
  }

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (running) return;
        running = true;
        // The next turn, so the other requests of this one join the batch.
        setImmediate(() => void run());
      });
    },
    stats: () => ({ batches, items }),
  };
}
