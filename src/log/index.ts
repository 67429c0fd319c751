import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger };
export { clip, LOG_DETAIL_CHARS, LOG_FIELD_CHARS } from "./clip.js";
export {
  createLimitedLog,
  createLogRateLimiter,
  LOG_RATE_LIMIT_DEFAULTS,
  OVERFLOW_KEY,
  type LimitedLog,
  type LogAdmission,
  type LogRateLimiter,
  type LogRateLimitOptions,
} from "./rate-limit.js";

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where log lines go; standard error by default, so standard output stays for results. */
  destination?: NodeJS.WritableStream;
}

/** Structured JSON logs (pino) on standard error. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env.STEADYMESH_LOG_LEVEL as LevelWithSilent | undefined) ?? "info";
  return pino({ level, base: { name: "steadymesh" } }, options.destination ?? pino.destination(2));
}

/** A logger that drops everything; for tests and library callers that pass none. */
export function createSilentLogger(): Logger {
  return pino({ level: "silent" });
}
