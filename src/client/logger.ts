/**
 * The logging the client needs, and no more: pino's Logger satisfies it, and
 * an application can adapt any other logger in a few lines.
 */
export interface ClientLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

function drop(): void {
  // Deliberately empty: this logger exists to discard.
}

/** Discards everything; the default when the application passes no logger. */
export const silentClientLogger: ClientLogger = Object.freeze({ debug: drop, info: drop, warn: drop, error: drop });
