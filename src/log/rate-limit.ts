import type { Logger } from "pino";
import { clip, LOG_FIELD_CHARS } from "./clip.js";

export interface LogRateLimitOptions {
  /** Milliseconds since the epoch; the component's Clock. */
  readonly now: () => number;
  /** Length of one window. */
  readonly windowMs?: number;
  /** Lines one key may write per window. */
  readonly linesPerWindow?: number;
  /** Keys tracked at once; past it, new keys share one overflow key. */
  readonly maxKeys?: number;
}

export const LOG_RATE_LIMIT_DEFAULTS = { windowMs: 10_000, linesPerWindow: 5, maxKeys: 1000 } as const;

/** The key keys share once `maxKeys` are tracked. */
export const OVERFLOW_KEY = "(other)";

export interface LogAdmission {
  /** Write this line. */
  readonly write: boolean;
  /** When written: lines of this key held back since the last one written (to put in the line). When not: held back so far. */
  readonly suppressed: number;
}

/**
 * A limit on repeated log lines: each key (say, a client and a kind of line)
 * writes at most `linesPerWindow` lines per window; the rest are counted, and
 * the next line written reports how many were held back. Memory is bounded by
 * `maxKeys` (plus the overflow key).
 */
export interface LogRateLimiter {
  admit(key: string): LogAdmission;
  /** Keys tracked now. */
  size(): number;
}

interface Entry {
  windowStart: number;
  written: number;
  suppressed: number;
}

export function createLogRateLimiter(options: LogRateLimitOptions): LogRateLimiter {
  const windowMs = options.windowMs ?? LOG_RATE_LIMIT_DEFAULTS.windowMs;
  const linesPerWindow = options.linesPerWindow ?? LOG_RATE_LIMIT_DEFAULTS.linesPerWindow;
  const maxKeys = options.maxKeys ?? LOG_RATE_LIMIT_DEFAULTS.maxKeys;
  const entries = new Map<string, Entry>();

  /** Drops keys whose window is over and that have nothing held back to report: they would start afresh anyway. */
  function prune(now: number): void {
    for (const [key, e] of entries) if (now - e.windowStart >= windowMs && e.suppressed === 0) entries.delete(key);
  }

  function entryOf(key: string, now: number): Entry {
    const known = entries.get(key);
    if (known) return known;
    if (entries.size >= maxKeys) prune(now);
    const slot = entries.size >= maxKeys ? OVERFLOW_KEY : key;
    let entry = entries.get(slot);
    if (!entry) entries.set(slot, (entry = { windowStart: now, written: 0, suppressed: 0 }));
    return entry;
  }

  return {
    admit(key) {
      const now = options.now();
      const entry = entryOf(key, now);
      if (now - entry.windowStart >= windowMs) {
        entry.windowStart = now;
        entry.written = 0;
      }
      if (entry.written < linesPerWindow) {
        entry.written++;
        const suppressed = entry.suppressed;
        entry.suppressed = 0;
        return { write: true, suppressed };
      }
      entry.suppressed++;
      return { write: false, suppressed: entry.suppressed };
    },
    size: () => entries.size,
  };
}

/** Warn lines through a LogRateLimiter, keyed by client and kind. */
export interface LimitedLog {
  /**
   * Writes `message` at warn level unless `client` wrote too many `kind`
   * lines lately; a line written carries `suppressed` (held back since the
   * last one of its key) when that is not 0. `onSuppressed` sees each line
   * held back.
   */
  warn(client: string, kind: string, fields: Record<string, unknown>, message: string): void;
}

export function createLimitedLog(logger: Logger, limiter: LogRateLimiter, onSuppressed?: (kind: string) => void): LimitedLog {
  return {
    warn(client, kind, fields, message) {
      // The client's name is clipped: a key must not be as long as whatever a client calls itself.
      const admission = limiter.admit(`${kind}\u0000${clip(client, LOG_FIELD_CHARS)}`);
      if (!admission.write) {
        onSuppressed?.(kind);
        return;
      }
      logger.warn(admission.suppressed > 0 ? { ...fields, suppressed: admission.suppressed } : fields, message);
    },
  };
}
