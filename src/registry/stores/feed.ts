import type { Logger } from "../../log/index.js";
import type { ChangeEvent } from "../store.js";

type Watcher = (events: readonly ChangeEvent[]) => void;

/** Delivers each commit's events to a store's watchers. */
export interface Feed {
  watch(onEvents: Watcher): () => void;
  /** Call once per commit that changed something, in revision order. */
  publish(events: readonly ChangeEvent[]): void;
  /** Drops every watcher; for close(). */
  clear(): void;
}

/**
 * Delivery is synchronous but never re-entrant: a watcher that commits from
 * its callback gets its commit queued behind the one being delivered, so every
 * watcher still sees revisions in order. Each commit goes to the watchers
 * subscribed when it was published and still subscribed when it is delivered.
 * A watcher that throws is logged and does not stop the others.
 */
export function createFeed(logger: Logger): Feed {
  const watchers = new Set<Watcher>();
  const queue: { events: readonly ChangeEvent[]; to: readonly Watcher[] }[] = [];
  let delivering = false;

  function deliver(events: readonly ChangeEvent[], to: readonly Watcher[]): void {
    for (const watcher of to) {
      if (!watchers.has(watcher)) continue;
      try {
        watcher(events);
      } catch (err) {
        logger.error({ err, revision: events[0]?.revision }, "store watcher threw; the commit stands and other watchers still get it");
      }
    }
  }

  return {
    watch(onEvents) {
      // Wrapped so the same function subscribed twice gets two independent subscriptions.
      const watcher: Watcher = (events) => onEvents(events);
      watchers.add(watcher);
      return () => {
        watchers.delete(watcher);
      };
    },
    publish(events) {
      if (events.length === 0) return;
      queue.push({ events, to: [...watchers] });
      if (delivering) return;
      delivering = true;
      try {
        for (let next = queue.shift(); next; next = queue.shift()) deliver(next.events, next.to);
      } finally {
        delivering = false;
      }
    },
    clear() {
      watchers.clear();
    },
  };
}
