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
  /** Looked up since eviction last passed it (see evictFor). */
  used: boolean;
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
 * least recently used entries go first (approximately: see evictFor). An answer larger than a quarter of
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
  /**
   * Drops entries, oldest first, until `cost` more bytes fit. An entry used
   * since it was last looked at here goes to the back instead, unmarked (the
   * "second chance" approximation of least recently used). Each entry moves
   * at most once per call, so this ends.
   */
  const evictFor = (cost: number): void => {
    // The iterator also visits entries moved to the back, by then unmarked.
    for (const [key, entry] of entries) {
      if (bytes + cost <= maxBytes) return;
      entries.delete(key);
      if (entry.used) {
        entry.used = false;
        entries.set(key, entry);
      } else {
        bytes -= entry.bytes;
      }
    }
  };
  return {
    get(key, generation) {
      startOver(generation);
      const hit = entries.get(key);
      // Marked, not moved: eviction gives marked entries a second chance, which costs far less per hit than re-inserting.
      if (hit) hit.used = true;
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
      evictFor(cost);
      const kept: CachedAnswer = { answer, rotation: 0, bytes: cost, used: false };
      entries.set(key, kept);
      bytes += cost;
      return kept;
    },
    usage: () => ({ entries: entries.size, bytes, maxBytes }),
  };
}
