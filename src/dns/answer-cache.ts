import type { PreparedAnswer } from "./answer.js";
import { preparedBytes } from "./prepared-reply.js";

/**
 * What one kept answer is charged beyond its key and record bytes: the Map
 * entry, the objects around the buffers and their headers. An estimate on the
 * high side, so the budget bounds real memory, not only payload bytes.
 */
export const ENTRY_OVERHEAD_BYTES = 512;

/** A kept answer and its own rotation counter, so each name's answers rotate one step per query. */
export interface CachedAnswer {
  readonly answer: PreparedAnswer;
  /** The rotation of the next response made from it. */
  rotation: number;
  readonly bytes: number;
}

/** How full the cache is. */
export interface AnswerCacheUsage {
  readonly entries: number;
  /** Charged bytes: keys, encoded records and ENTRY_OVERHEAD_BYTES per entry. */
  readonly bytes: number;
  readonly maxBytes: number;
}

/**
 * Prepared answers by plain-query key, within a byte budget: past it the
 * least recently used entries go first. An answer larger than a quarter of
 * the budget is not kept (it would push out everything else for one name).
 * `generation` is what the answers were made from (registry revision and
 * zone); a new one empties the cache.
 */
export interface AnswerCache {
  get(key: string, generation: unknown): CachedAnswer | undefined;
  /** Keeps `answer` under `key` unless it is over the per-entry share; returns what is kept, or undefined. */
  set(key: string, generation: unknown, answer: PreparedAnswer): CachedAnswer | undefined;
  usage(): AnswerCacheUsage;
}

export function createAnswerCache(maxBytes: number): AnswerCache {
  const entries = new Map<string, CachedAnswer>();
  let bytes = 0;
  let current: unknown;
  const startOver = (generation: unknown): void => {
    if (generation === current) return;
    entries.clear();
    bytes = 0;
    current = generation;
  };
  return {
    get(key, generation) {
      startOver(generation);
      const hit = entries.get(key);
      if (hit) {
        // Map order is insertion order: moving a hit to the end keeps the oldest unused entry first.
        entries.delete(key);
        entries.set(key, hit);
      }
      return hit;
    },
    set(key, generation, answer) {
      startOver(generation);
      const cost = key.length + (answer.reply ? preparedBytes(answer.reply) : 0) + ENTRY_OVERHEAD_BYTES;
      if (cost > maxBytes / 4) return undefined;
      const previous = entries.get(key);
      if (previous) {
        entries.delete(key);
        bytes -= previous.bytes;
      }
      for (const [oldKey, old] of entries) {
        if (bytes + cost <= maxBytes) break;
        entries.delete(oldKey);
        bytes -= old.bytes;
      }
      const kept: CachedAnswer = { answer, rotation: 0, bytes: cost };
      entries.set(key, kept);
      bytes += cost;
      return kept;
    },
    usage: () => ({ entries: entries.size, bytes, maxBytes }),
  };
}
